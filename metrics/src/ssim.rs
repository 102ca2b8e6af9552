//! SSIM and MS-SSIM over single planes: the Gaussian-window statistics, 'valid' filtering
//! and the multi-scale pyramid, each implemented once as a free function.
//!
//! SSIM follows Wang et al.'s `ssim_index.m` (Gaussian 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03,
//! only windows fully inside the image, no automatic downsampling). MS-SSIM has five scales
//! with weights 0.0448, 0.2856, 0.3001, 0.2363, 0.1333; contrast–structure terms and the
//! last scale's SSIM are clamped at 0 (ReLU); the last scale contributes the full SSIM.
//! Between scales a 2×2 average pool halves the plane; the two reference implementations
//! differ only in how they pool an odd side, so that rule is a parameter
//! ([`MsSsimPooling`]), one free function each:
//!
//! - [`avg_pool2_zero_pad`]: `pytorch_msssim` 1.x (`ms_ssim`, used by CompressAI):
//!   `F.avg_pool2d(x, kernel_size=2, padding=[s % 2 for s in x.shape[2:]])`, i.e. one zero
//!   row/column on **both** ends of an odd side, counted in the average
//!   (`count_include_pad=True`), which shifts the pooling grid by one sample;
//! - [`avg_pool2_repeat_edge`]: `tf.image.ssim_multiscale`: an odd side is padded at its
//!   end by repeating the last row/column (`SYMMETRIC` pad), then pooled 2×2 `VALID`.
//!
//! On sides that stay even through the four poolings (multiples of 16) both agree exactly.

/// Parameters of the SSIM window and constants.
#[derive(Debug, Clone, PartialEq)]
pub struct SsimParams {
    /// Side of the square Gaussian window.
    pub window: usize,
    /// Standard deviation of the Gaussian window.
    pub sigma: f64,
    /// Luminance stabiliser constant factor.
    pub k1: f64,
    /// Contrast stabiliser constant factor.
    pub k2: f64,
    /// Peak sample value (data range).
    pub peak: f64,
}

impl Default for SsimParams {
    fn default() -> Self {
        Self {
            window: 11,
            sigma: 1.5,
            k1: 0.01,
            k2: 0.03,
            peak: 255.0,
        }
    }
}

/// MS-SSIM scale weights (Wang, Simoncelli, Bovik 2003).
pub const MS_SSIM_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/// Mean SSIM and mean contrast–structure term over all valid windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SsimStats {
    /// Mean of the SSIM map.
    pub ssim: f64,
    /// Mean of the contrast–structure map.
    pub cs: f64,
}

/// Normalised 1-D Gaussian kernel; the 2-D window is its outer product.
pub fn gaussian_kernel(size: usize, sigma: f64) -> Vec<f64> {
    let centre = (size as f64 - 1.0) / 2.0;
    let mut k: Vec<f64> = (0..size)
        .map(|i| {
            let d = i as f64 - centre;
            (-(d * d) / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// Separable 'valid' filtering of a `w`×`h` plane: output is `(w-k+1)`×`(h-k+1)`.
pub fn filter_valid(plane: &[f64], w: usize, h: usize, kernel: &[f64]) -> Vec<f64> {
    let k = kernel.len();
    let ow = w + 1 - k;
    let oh = h + 1 - k;
    let mut rows = vec![0.0; ow * h];
    for y in 0..h {
        let src = &plane[y * w..(y + 1) * w];
        let dst = &mut rows[y * ow..(y + 1) * ow];
        for (x, out) in dst.iter_mut().enumerate() {
            *out = src[x..x + k].iter().zip(kernel).map(|(a, b)| a * b).sum();
        }
    }
    let mut out = vec![0.0; ow * oh];
    for (i, &kv) in kernel.iter().enumerate() {
        for y in 0..oh {
            let src = &rows[(y + i) * ow..(y + i + 1) * ow];
            let dst = &mut out[y * ow..(y + 1) * ow];
            for (d, s) in dst.iter_mut().zip(src) {
                *d += kv * s;
            }
        }
    }
    out
}

/// Output rows of the SSIM map computed at a time. The working memory of [`ssim_stats`] is
/// then about 620 × 8 bytes per column of width (5 MB for a 1000-pixel-wide plane),
/// whatever the height, instead of nine whole planes (72 bytes per pixel).
pub const STRIP_ROWS: usize = 64;

/// SSIM statistics of two `w`×`h` planes. Errors (with the reason) if the plane is smaller
/// than the window.
///
/// The map is computed in strips of [`STRIP_ROWS`] output rows; every value and the order
/// of the sums are those of a whole-plane computation, so the result is the same to the
/// last bit.
pub fn ssim_stats(x: &[f64], y: &[f64], w: usize, h: usize, p: &SsimParams) -> Result<SsimStats, String> {
    if w < p.window || h < p.window {
        return Err(format!("SSIM needs at least {0}x{0} pixels (one full {0}x{0} window)", p.window));
    }
    let kernel = gaussian_kernel(p.window, p.sigma);
    let c1 = (p.k1 * p.peak).powi(2);
    let c2 = (p.k2 * p.peak).powi(2);
    let (ow, oh) = (w + 1 - p.window, h + 1 - p.window);
    let (mut ssim_sum, mut cs_sum) = (0.0, 0.0);
    let (mut xx, mut yy, mut xy) = (Vec::new(), Vec::new(), Vec::new());
    for top in (0..oh).step_by(STRIP_ROWS) {
        let rows = STRIP_ROWS.min(oh - top);
        let input_rows = rows + p.window - 1;
        let span = top * w..(top + input_rows) * w;
        let (xs, ys) = (&x[span.clone()], &y[span]);
        xx.clear();
        xx.extend(xs.iter().map(|v| v * v));
        yy.clear();
        yy.extend(ys.iter().map(|v| v * v));
        xy.clear();
        xy.extend(xs.iter().zip(ys).map(|(a, b)| a * b));
        let mu_x = filter_valid(xs, w, input_rows, &kernel);
        let mu_y = filter_valid(ys, w, input_rows, &kernel);
        let e_xx = filter_valid(&xx, w, input_rows, &kernel);
        let e_yy = filter_valid(&yy, w, input_rows, &kernel);
        let e_xy = filter_valid(&xy, w, input_rows, &kernel);
        for i in 0..mu_x.len() {
            let (mx, my) = (mu_x[i], mu_y[i]);
            let var_x = e_xx[i] - mx * mx;
            let var_y = e_yy[i] - my * my;
            let cov = e_xy[i] - mx * my;
            let luminance = (2.0 * mx * my + c1) / (mx * mx + my * my + c1);
            let cs = (2.0 * cov + c2) / (var_x + var_y + c2);
            ssim_sum += luminance * cs;
            cs_sum += cs;
        }
    }
    let n = (ow * oh) as f64;
    Ok(SsimStats {
        ssim: ssim_sum / n,
        cs: cs_sum / n,
    })
}

/// How MS-SSIM's 2×2 average pool treats an odd width or height (the only point where
/// the reference implementations differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsSsimPooling {
    /// `pytorch_msssim` 1.x (CompressAI): zero padding on both ends of an odd side, counted
    /// in the average ([`avg_pool2_zero_pad`]).
    PytorchMsssim,
    /// `tf.image.ssim_multiscale`: an odd side's last row/column repeated
    /// ([`avg_pool2_repeat_edge`]).
    TensorFlow,
}

impl MsSsimPooling {
    /// Pools a `w`×`h` plane 2×2 with this convention; returns the plane and its size
    /// (`ceil(w/2)`×`ceil(h/2)` for both conventions).
    pub fn pool(self, plane: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
        match self {
            MsSsimPooling::PytorchMsssim => avg_pool2_zero_pad(plane, w, h),
            MsSsimPooling::TensorFlow => avg_pool2_repeat_edge(plane, w, h),
        }
    }
}

/// 2×2 average pooling as `tf.image.ssim_multiscale`: an odd width or height is first
/// padded at its end by repeating its last column or row. Returns the pooled plane and its
/// size.
pub fn avg_pool2_repeat_edge(plane: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    let ow = w.div_ceil(2);
    let oh = h.div_ceil(2);
    let mut out = Vec::with_capacity(ow * oh);
    for oy in 0..oh {
        let (y0, y1) = (2 * oy, (2 * oy + 1).min(h - 1));
        for ox in 0..ow {
            let (x0, x1) = (2 * ox, (2 * ox + 1).min(w - 1));
            out.push(0.25 * (plane[y0 * w + x0] + plane[y0 * w + x1] + plane[y1 * w + x0] + plane[y1 * w + x1]));
        }
    }
    (out, ow, oh)
}

/// 2×2 average pooling as `pytorch_msssim` 1.x: `avg_pool2d(kernel_size=2,
/// padding=side % 2)` with PyTorch's defaults (`count_include_pad=True`, floor mode). An
/// odd side gets one zero on each end, so output `i` averages source samples `2i-1` and
/// `2i` (sample `-1` being a zero that still counts in the divisor 4); an even side pools
/// `2i`, `2i+1`. Returns the pooled plane and its size.
pub fn avg_pool2_zero_pad(plane: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    let ow = w.div_ceil(2);
    let oh = h.div_ceil(2);
    // The two source indices of output `o` on a side of length `n`; `None` is the zero pad.
    let taps = |o: usize, n: usize| -> [Option<usize>; 2] {
        if n % 2 == 1 {
            [(2 * o).checked_sub(1), Some(2 * o)]
        } else {
            [Some(2 * o), Some(2 * o + 1)]
        }
    };
    let mut out = Vec::with_capacity(ow * oh);
    for oy in 0..oh {
        let rows = taps(oy, h);
        for ox in 0..ow {
            let cols = taps(ox, w);
            let mut sum = 0.0;
            for y in rows.iter().flatten() {
                for x in cols.iter().flatten() {
                    sum += plane[y * w + x];
                }
            }
            out.push(0.25 * sum);
        }
    }
    (out, ow, oh)
}

/// Smallest width/height for which every MS-SSIM scale still holds one full window.
pub fn ms_ssim_min_side(p: &SsimParams) -> usize {
    // After 4 poolings the side is ceil(s / 16); it must be at least the window.
    (p.window - 1) * 16 + 1
}

/// MS-SSIM of two `w`×`h` planes (five scales, [`MS_SSIM_WEIGHTS`]), pooling odd sides
/// between scales as `pooling` says.
pub fn ms_ssim(x: &[f64], y: &[f64], w: usize, h: usize, p: &SsimParams, pooling: MsSsimPooling) -> Result<f64, String> {
    let min = ms_ssim_min_side(p);
    if w < min || h < min {
        return Err(format!(
            "MS-SSIM with {} scales needs at least {min}x{min} pixels (the coarsest scale must hold one {}x{} window)",
            MS_SSIM_WEIGHTS.len(),
            p.window,
            p.window
        ));
    }
    // The first scale works on the caller's planes; only the pooled ones are owned.
    let (mut a, mut b): (std::borrow::Cow<[f64]>, std::borrow::Cow<[f64]>) = (x.into(), y.into());
    let (mut cw, mut ch) = (w, h);
    let mut value = 1.0;
    for (scale, weight) in MS_SSIM_WEIGHTS.iter().enumerate() {
        if scale > 0 {
            let (pa, nw, nh) = pooling.pool(&a, cw, ch);
            let (pb, _, _) = pooling.pool(&b, cw, ch);
            (a, b, cw, ch) = (pa.into(), pb.into(), nw, nh);
        }
        let stats = ssim_stats(&a, &b, cw, ch, p)?;
        let term = if scale + 1 == MS_SSIM_WEIGHTS.len() { stats.ssim } else { stats.cs };
        value *= term.max(0.0).powf(*weight);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strips give the whole-plane statistics: compared with a direct sum over every
    /// 11×11 window on a plane several strips tall (and a height that is not a multiple).
    #[test]
    fn strips_equal_the_whole_plane() {
        let (w, h) = (37, 2 * STRIP_ROWS + 23);
        let x: Vec<f64> = (0..w * h).map(|i| ((i * 37 + i / 7) % 251) as f64).collect();
        let y: Vec<f64> = (0..w * h).map(|i| ((i * 53 + i / 5) % 241) as f64).collect();
        let p = SsimParams::default();
        let k = gaussian_kernel(p.window, p.sigma);
        let (c1, c2) = ((p.k1 * p.peak).powi(2), (p.k2 * p.peak).powi(2));
        let (mut ssim, mut cs, mut n) = (0.0, 0.0, 0.0);
        for oy in 0..=h - p.window {
            for ox in 0..=w - p.window {
                let (mut mx, mut my, mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for j in 0..p.window {
                    for i in 0..p.window {
                        let (a, b) = (x[(oy + j) * w + ox + i], y[(oy + j) * w + ox + i]);
                        let g = k[i] * k[j];
                        (mx, my, xx, yy, xy) = (mx + g * a, my + g * b, xx + g * a * a, yy + g * b * b, xy + g * a * b);
                    }
                }
                let c = (2.0 * (xy - mx * my) + c2) / (xx - mx * mx + yy - my * my + c2);
                ssim += (2.0 * mx * my + c1) / (mx * mx + my * my + c1) * c;
                cs += c;
                n += 1.0;
            }
        }
        let s = ssim_stats(&x, &y, w, h, &p).unwrap();
        assert!(
            (s.ssim - ssim / n).abs() < 1e-12 && (s.cs - cs / n).abs() < 1e-12,
            "{s:?} vs {} {}",
            ssim / n,
            cs / n
        );
    }

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        let k = gaussian_kernel(11, 1.5);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((k[0] - k[10]).abs() < 1e-18 && k[5] > k[4]);
    }

    #[test]
    fn identical_planes_score_one() {
        let w = 170;
        let x: Vec<f64> = (0..w * w).map(|i| ((i * 37) % 251) as f64).collect();
        let s = ssim_stats(&x, &x, w, w, &SsimParams::default()).unwrap();
        assert!((s.ssim - 1.0).abs() < 1e-12 && (s.cs - 1.0).abs() < 1e-12);
        for pooling in [MsSsimPooling::PytorchMsssim, MsSsimPooling::TensorFlow] {
            assert!((ms_ssim(&x, &x, w, w, &SsimParams::default(), pooling).unwrap() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn too_small_is_an_error_not_nan() {
        let p = SsimParams::default();
        assert_eq!(ms_ssim_min_side(&p), 161);
        let x = vec![0.0; 160 * 200];
        let err = ms_ssim(&x, &x, 200, 160, &p, MsSsimPooling::PytorchMsssim).unwrap_err();
        assert!(err.contains("161x161"), "{err}");
        assert!(ssim_stats(&x[..100], &x[..100], 10, 10, &p).is_err());
    }

    #[test]
    fn tensorflow_pooling_repeats_the_last_row_and_column() {
        let plane = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (out, w, h) = avg_pool2_repeat_edge(&plane, 3, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(out, vec![3.0, 4.5]);
        assert_eq!(MsSsimPooling::TensorFlow.pool(&plane, 3, 2).0, out);
    }

    /// Worked by hand from `F.avg_pool2d(x, 2, padding=[1, 1])` semantics: the padded plane
    /// is 5×5 with a zero border, windows start at padded (0, 0), divisor always 4.
    #[test]
    fn pytorch_pooling_zero_pads_both_ends_of_odd_sides() {
        // 3×3, both sides odd.
        let plane = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let (out, w, h) = avg_pool2_zero_pad(&plane, 3, 3);
        assert_eq!((w, h), (2, 2));
        assert_eq!(
            out,
            vec![1.0 / 4.0, (2.0 + 3.0) / 4.0, (4.0 + 7.0) / 4.0, (5.0 + 6.0 + 8.0 + 9.0) / 4.0]
        );
        // 3 wide, 2 high: only the width is padded (padding = [0, 1]).
        let plane = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (out, w, h) = avg_pool2_zero_pad(&plane, 3, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(out, vec![(1.0 + 4.0) / 4.0, (2.0 + 3.0 + 5.0 + 6.0) / 4.0]);
        assert_eq!(MsSsimPooling::PytorchMsssim.pool(&plane, 3, 2).0, out);
    }

    #[test]
    fn poolings_agree_on_even_sides_and_differ_on_odd() {
        let (w, h) = (6, 4);
        let plane: Vec<f64> = (0..w * h).map(|i| ((i * 29) % 17) as f64).collect();
        assert_eq!(avg_pool2_zero_pad(&plane, w, h), avg_pool2_repeat_edge(&plane, w, h));
        let (w, h) = (5, 4);
        let plane = &plane[..w * h];
        assert_ne!(avg_pool2_zero_pad(plane, w, h).0, avg_pool2_repeat_edge(plane, w, h).0);
    }

    #[test]
    fn ms_ssim_conventions_agree_on_multiples_of_16_only() {
        let p = SsimParams::default();
        let plane = |w: usize, h: usize, salt: usize| -> Vec<f64> {
            (0..w * h)
                .map(|i| ((i / w * 7 + i % w * 3 + (i * salt) % 23) % 256) as f64)
                .collect()
        };
        let ms = |w, h, pooling| ms_ssim(&plane(w, h, 5), &plane(w, h, 11), w, h, &p, pooling).unwrap();
        let (pt, tf) = (MsSsimPooling::PytorchMsssim, MsSsimPooling::TensorFlow);
        assert_eq!(ms(176, 192, pt), ms(176, 192, tf));
        assert!((ms(177, 191, pt) - ms(177, 191, tf)).abs() > 1e-6);
    }
}
