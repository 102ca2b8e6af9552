//! FSIM, the feature similarity index (Zhang, Zhang, Mou and Zhang 2011), in its chromatic
//! form FSIMc, as pyiqa 0.1.16's `fsim` (piq's port of the authors' `FeatureSIM.m`, which
//! reproduces the authors' MATLAB values on pyiqa's calibration pairs to their four
//! decimals). Each step is a free function over planes:
//!
//! - [`pool_size`] and [`average_pool`]: `k = max(1, round(min(H, W) / 256))` (Python's
//!   rounding, half to even), then the mean of each `k`×`k` block (`avg_pool2d`, the
//!   remainder dropped);
//! - [`yiq`]: YIQ with pyiqa's matrix on the 0–255 scale;
//! - [`FilterBank`]: Kovesi's log-Gabor filters in the frequency plane (4 scales of
//!   wavelength 6·2^s, σ_f = 0.55; 4 orientations, angular σ = π / (4 · 1.2)), each times a
//!   Butterworth low-pass (cutoff 0.45, order 15), and the filter sums the noise model needs;
//! - [`phase_congruency`]: the filter responses through the FFT, the energy along the mean
//!   phase per orientation, minus a noise threshold estimated from the median response at
//!   the smallest scale (`k` = 2 standard deviations, divided by 1.7), over the summed
//!   amplitude;
//! - [`scharr_magnitude`]: the gradient magnitude with Scharr's kernels / 16, zero padding;
//! - [`fsim`]: the phase-congruency (T1 = 0.85), gradient (T2 = 160) and chromatic
//!   (T3 = T4 = 200, λ = 0.03) similarities, pooled with the larger phase congruency as
//!   weight.
//!
//! Everything is computed in float64 (pyiqa with torch's default dtype set to float64 gives
//! the same values to about 1e-12). Higher is better; identical images score 1.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

/// Number of log-Gabor scales.
pub const SCALES: usize = 4;
/// Number of filter orientations.
pub const ORIENTATIONS: usize = 4;
/// Wavelength of the smallest scale's filter, in samples.
pub const MIN_WAVELENGTH: f64 = 6.0;
/// Ratio of successive scales' wavelengths.
pub const MULT: f64 = 2.0;
/// Ratio of the log-Gabor Gaussian's standard deviation to its centre frequency.
pub const SIGMA_F: f64 = 0.55;
/// Ratio of the orientations' spacing to the angular Gaussian's standard deviation.
pub const DELTA_THETA: f64 = 1.2;
/// Standard deviations of the noise energy above its mean at which the noise is cut.
pub const NOISE_K: f64 = 2.0;
/// The phase-congruency similarity's constant.
pub const T1: f64 = 0.85;
/// The gradient similarity's constant.
pub const T2: f64 = 160.0;
/// The I and Q similarities' constant (T3 = T4).
pub const T3: f64 = 200.0;
/// The exponent of the chromatic similarity.
pub const LAMBDA: f64 = 0.03;
/// pyiqa's `similarity_map` adds float32's epsilon to the denominator whatever the dtype.
const SIM_EPS: f64 = f32::EPSILON as f64;

/// The side of pyiqa's average pooling: `max(1, round(min(h, w) / 256))`, rounding halves
/// to even as Python does.
pub fn pool_size(w: usize, h: usize) -> usize {
    let r = (w.min(h) as f64 / 256.0).round_ties_even();
    (r as usize).max(1)
}

/// The mean of each `k`×`k` block of a `w`×`h` plane, from the top left; a remainder of
/// fewer than `k` rows or columns is dropped. Returns the plane and its size.
pub fn average_pool(plane: &[f64], w: usize, h: usize, k: usize) -> (Vec<f64>, usize, usize) {
    let (ow, oh) = (w / k, h / k);
    if k == 1 {
        return (plane.to_vec(), w, h);
    }
    let div = (k * k) as f64;
    let mut out = vec![0.0; ow * oh];
    for (r, orow) in out.chunks_exact_mut(ow).enumerate() {
        for (c, o) in orow.iter_mut().enumerate() {
            let mut s = 0.0;
            for i in 0..k {
                s += plane[(r * k + i) * w + c * k..][..k].iter().sum::<f64>();
            }
            *o = s / div;
        }
    }
    (out, ow, oh)
}

/// pyiqa's RGB → YIQ matrix (rows Y, I, Q).
pub const YIQ: [[f64; 3]; 3] = [[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]];

/// The Y, I and Q planes of R, G and B planes (same scale in and out).
pub fn yiq(rgb: &[Vec<f64>; 3]) -> [Vec<f64>; 3] {
    YIQ.map(|m| {
        rgb[0]
            .iter()
            .zip(&rgb[1])
            .zip(&rgb[2])
            .map(|((r, g), b)| r * m[0] + g * m[1] + b * m[2])
            .collect()
    })
}

/// pyiqa's centred frequency coordinates along a side of `n` samples: `(i − n/2) / n` for
/// even `n`, `(i − (n−1)/2) / (n − 1)` for odd `n`.
fn frequencies(n: usize) -> Vec<f64> {
    if n % 2 == 1 {
        let d = (n - 1) as f64;
        (0..n).map(|i| (i as f64 - d / 2.0) / d).collect()
    } else {
        (0..n).map(|i| (i as f64 - (n / 2) as f64) / n as f64).collect()
    }
}

/// `f` over the centred `h`×`w` frequency grid (`f(row frequency, column frequency)`),
/// quadrant-shifted (`ifftshift`) so that zero frequency is at the top left.
fn shifted_grid(w: usize, h: usize, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let (fy, fx) = (frequencies(h), frequencies(w));
    let mut out = Vec::with_capacity(w * h);
    for i in 0..h {
        let u = fy[(i + h / 2) % h];
        out.extend((0..w).map(|j| f(u, fx[(j + w / 2) % w])));
    }
    out
}

/// The log-Gabor filters of one image size, the FFTs of that size and the filter sums of
/// the noise model (which depend on the size only).
pub struct FilterBank {
    w: usize,
    h: usize,
    /// Filter `o · SCALES + s`: orientation `o`, scale `s`, in the shifted frequency plane.
    filters: Vec<Vec<f64>>,
    /// Per orientation: the sum of the smallest scale's squared filter (`EM_n`).
    em_n: [f64; ORIENTATIONS],
    /// Per orientation: Σ over space and scales of the squared spatial filters.
    sum_an2: [f64; ORIENTATIONS],
    /// Per orientation: Σ over space and pairs of scales `s < t` of the spatial filters' products.
    sum_ai_aj: [f64; ORIENTATIONS],
    row_fwd: Arc<dyn Fft<f64>>,
    row_inv: Arc<dyn Fft<f64>>,
    col_fwd: Arc<dyn Fft<f64>>,
    col_inv: Arc<dyn Fft<f64>>,
}

impl FilterBank {
    /// Builds the filters for `w`×`h` planes (both at least 2).
    pub fn new(w: usize, h: usize) -> Self {
        let mut planner = FftPlanner::new();
        let (row_fwd, row_inv) = (planner.plan_fft_forward(w), planner.plan_fft_inverse(w));
        let (col_fwd, col_inv) = (planner.plan_fft_forward(h), planner.plan_fft_inverse(h));
        // The low-pass and the radius and angle of every frequency (zero frequency's radius
        // set to 1 so that its logarithm is finite; its filters are set to 0 below).
        let lowpass = shifted_grid(w, h, |u, v| 1.0 / (1.0 + ((u * u + v * v).sqrt() / 0.45).powf(30.0)));
        let mut radius = shifted_grid(w, h, |u, v| (u * u + v * v).sqrt());
        radius[0] = 1.0;
        let theta = shifted_grid(w, h, |u, v| (-v).atan2(u));
        let log_gabor: Vec<Vec<f64>> = (0..SCALES)
            .map(|s| {
                let omega = 1.0 / (MIN_WAVELENGTH * MULT.powi(s as i32));
                let two_log_sigma2 = 2.0 * SIGMA_F.ln().powi(2);
                let mut g: Vec<f64> = radius
                    .iter()
                    .zip(&lowpass)
                    .map(|(r, lp)| (-(r / omega).ln().powi(2) / two_log_sigma2).exp() * lp)
                    .collect();
                g[0] = 0.0;
                g
            })
            .collect();
        let theta_sigma = std::f64::consts::PI / (ORIENTATIONS as f64 * DELTA_THETA);
        let mut filters = Vec::with_capacity(ORIENTATIONS * SCALES);
        for o in 0..ORIENTATIONS {
            let angle = o as f64 * std::f64::consts::PI / ORIENTATIONS as f64;
            let (sa, ca) = (angle.sin(), angle.cos());
            let spread: Vec<f64> = theta
                .iter()
                .map(|t| {
                    let (st, ct) = (t.sin(), t.cos());
                    let d = (st * ca - ct * sa).atan2(ct * ca + st * sa).abs();
                    (-(d * d) / (2.0 * theta_sigma * theta_sigma)).exp()
                })
                .collect();
            filters.extend(
                log_gabor
                    .iter()
                    .map(|g| spread.iter().zip(g).map(|(a, b)| a * b).collect::<Vec<f64>>()),
            );
        }
        let mut bank = FilterBank {
            w,
            h,
            filters,
            em_n: [0.0; ORIENTATIONS],
            sum_an2: [0.0; ORIENTATIONS],
            sum_ai_aj: [0.0; ORIENTATIONS],
            row_fwd,
            row_inv,
            col_fwd,
            col_inv,
        };
        bank.noise_sums();
        bank
    }

    /// The filter sums of the noise model: `EM_n`, and from the spatial filters
    /// (`real(ifft2(filter)) · sqrt(HW)`) Σ A² and Σ Ai·Aj.
    fn noise_sums(&mut self) {
        let scale = ((self.w * self.h) as f64).sqrt();
        for o in 0..ORIENTATIONS {
            self.em_n[o] = self.filters[o * SCALES].iter().map(|f| f * f).sum();
            let spatial: Vec<Vec<f64>> = (0..SCALES)
                .map(|s| {
                    let mut buf: Vec<Complex64> = self.filters[o * SCALES + s].iter().map(|&f| Complex64::new(f, 0.0)).collect();
                    self.ifft2(&mut buf);
                    buf.iter().map(|c| c.re * scale).collect()
                })
                .collect();
            self.sum_an2[o] = spatial.iter().flatten().map(|a| a * a).sum();
            let mut pairs = 0.0;
            for s in 0..SCALES - 1 {
                for t in s + 1..SCALES {
                    pairs += spatial[s].iter().zip(&spatial[t]).map(|(a, b)| a * b).sum::<f64>();
                }
            }
            self.sum_ai_aj[o] = pairs;
        }
    }

    /// In-place 2-D FFT of an `h`×`w` row-major buffer (rows, then columns).
    fn fft2(&self, buf: &mut [Complex64]) {
        self.transform(buf, &self.row_fwd, &self.col_fwd);
    }

    /// In-place inverse 2-D FFT, normalised by `1 / (w·h)` as `torch.fft.ifft2`.
    fn ifft2(&self, buf: &mut [Complex64]) {
        self.transform(buf, &self.row_inv, &self.col_inv);
        let norm = 1.0 / (self.w * self.h) as f64;
        buf.iter_mut().for_each(|c| *c *= norm);
    }

    fn transform(&self, buf: &mut [Complex64], rows: &Arc<dyn Fft<f64>>, cols: &Arc<dyn Fft<f64>>) {
        let (w, h) = (self.w, self.h);
        rows.process(buf);
        let mut t = vec![Complex64::default(); w * h];
        transpose::transpose(buf, &mut t, w, h);
        cols.process(&mut t);
        transpose::transpose(&t, buf, h, w);
    }
}

/// The filter bank of the last size asked for (images of a run usually share a size).
fn bank_for(w: usize, h: usize) -> Arc<FilterBank> {
    static LAST: Mutex<Option<Arc<FilterBank>>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    match last.as_ref() {
        Some(b) if b.w == w && b.h == h => Arc::clone(b),
        _ => {
            let b = Arc::new(FilterBank::new(w, h));
            *last = Some(Arc::clone(&b));
            b
        }
    }
}

/// One orientation's thresholded energy and summed amplitude maps.
fn orientation(spectrum: &[Complex64], bank: &FilterBank, o: usize) -> (Vec<f64>, Vec<f64>) {
    let n = spectrum.len();
    let responses: Vec<Vec<Complex64>> = (0..SCALES)
        .map(|s| {
            let mut buf: Vec<Complex64> = spectrum.iter().zip(&bank.filters[o * SCALES + s]).map(|(x, &f)| x * f).collect();
            bank.ifft2(&mut buf);
            buf
        })
        .collect();
    let (mut energy, mut amplitude) = (vec![0.0; n], vec![0.0; n]);
    for i in 0..n {
        let (mut sum_e, mut sum_o) = (0.0, 0.0);
        for r in &responses {
            sum_e += r[i].re;
            sum_o += r[i].im;
        }
        let x_energy = (sum_e * sum_e + sum_o * sum_o).sqrt() + f64::EPSILON;
        let (mean_e, mean_o) = (sum_e / x_energy, sum_o / x_energy);
        let (mut e, mut a) = (0.0, 0.0);
        for r in &responses {
            let (even, odd) = (r[i].re, r[i].im);
            e += even * mean_e + odd * mean_o - (even * mean_o - odd * mean_e).abs();
            a += (even * even + odd * odd).sqrt();
        }
        energy[i] = e;
        amplitude[i] = a;
    }
    // The noise: the median squared amplitude at the smallest scale (the lower of the two
    // middle values, as torch.median) gives the mean of its Rayleigh distribution.
    let mut sq: Vec<f64> = responses[0].iter().map(|c| (c.re * c.re + c.im * c.im).sqrt().powi(2)).collect();
    let median = *sq.select_nth_unstable_by((n - 1) / 2, f64::total_cmp).1;
    let noise_power = -median / 0.5f64.ln() / bank.em_n[o];
    let energy2 = 2.0 * noise_power * bank.sum_an2[o] + 4.0 * noise_power * bank.sum_ai_aj[o];
    let tau = (energy2 / 2.0).sqrt();
    let mean = tau * (std::f64::consts::PI / 2.0).sqrt();
    let sigma = ((2.0 - std::f64::consts::PI / 2.0) * tau * tau).sqrt();
    let threshold = (mean + NOISE_K * sigma) / 1.7;
    energy.iter_mut().for_each(|e| *e = (*e - threshold).max(0.0));
    (energy, amplitude)
}

/// The phase congruency map of a `bank.w`×`bank.h` plane (pyiqa's `_phase_congruency`,
/// PC₂ with Kovesi's noise compensation).
pub fn phase_congruency(plane: &[f64], bank: &FilterBank) -> Vec<f64> {
    let mut spectrum: Vec<Complex64> = plane.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    bank.fft2(&mut spectrum);
    let parts: Vec<(Vec<f64>, Vec<f64>)> = (0..ORIENTATIONS).into_par_iter().map(|o| orientation(&spectrum, bank, o)).collect();
    (0..plane.len())
        .map(|i| {
            let energy: f64 = parts.iter().map(|(e, _)| e[i]).sum::<f64>() + f64::EPSILON;
            let amplitude: f64 = parts.iter().map(|(_, a)| a[i]).sum::<f64>() + f64::EPSILON;
            energy / amplitude
        })
        .collect()
}

/// The gradient magnitude `sqrt(Gx² + Gy² + ε)` with Scharr's kernels
/// `[−3 0 3; −10 0 10; −3 0 3] / 16` and their transpose, zero padding.
pub fn scharr_magnitude(plane: &[f64], w: usize, h: usize) -> Vec<f64> {
    crate::gmsd::map_3x3(plane, w, h, |up, mid, down, c| {
        let gx = (3.0 * (up[c + 2] - up[c]) + 10.0 * (mid[c + 2] - mid[c]) + 3.0 * (down[c + 2] - down[c])) / 16.0;
        let gy = (3.0 * (down[c] - up[c]) + 10.0 * (down[c + 1] - up[c + 1]) + 3.0 * (down[c + 2] - up[c + 2])) / 16.0;
        (gx * gx + gy * gy + f64::EPSILON).sqrt()
    })
}

/// pyiqa's `similarity_map`: `(2xy + c) / (x² + y² + c + ε₃₂)`.
fn similarity(x: f64, y: f64, c: f64) -> f64 {
    (2.0 * x * y + c) / (x * x + y * y + c + SIM_EPS)
}

/// FSIMc of two images given as R, G and B planes on the 0–255 scale, `w`×`h` (reference
/// `x`, distorted `y`; the score is symmetric). Errors when the pooled planes are smaller
/// than 2×2.
pub fn fsim(x: &[Vec<f64>; 3], y: &[Vec<f64>; 3], w: usize, h: usize) -> Result<f64, String> {
    let k = pool_size(w, h);
    let (pw, ph) = (w / k, h / k);
    if pw < 2 || ph < 2 {
        return Err(format!("FSIM needs at least 2x2 pixels after its {k}x{k} average pooling"));
    }
    let pool = |rgb: &[Vec<f64>; 3]| yiq(&[0, 1, 2].map(|c| average_pool(&rgb[c], w, h, k).0));
    let (a, b) = (pool(x), pool(y));
    let bank = bank_for(pw, ph);
    let (pc_a, pc_b) = rayon::join(|| phase_congruency(&a[0], &bank), || phase_congruency(&b[0], &bank));
    let (g_a, g_b) = (scharr_magnitude(&a[0], pw, ph), scharr_magnitude(&b[0], pw, ph));
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..pw * ph {
        let pc_max = if pc_a[i] > pc_b[i] { pc_a[i] } else { pc_b[i] };
        let chroma = (similarity(a[1][i], b[1][i], T3) * similarity(a[2][i], b[2][i], T3))
            .abs()
            .powf(LAMBDA);
        num += similarity(g_a[i], g_b[i], T2) * similarity(pc_a[i], pc_b[i], T1) * pc_max * chroma;
        den += pc_max;
    }
    Ok(num / den)
}
