//! VIF in the pixel domain (`vifp`): Sheikh and Bovik's visual information fidelity,
//! computed on the image itself over four scales, as their MATLAB `vifp_mscale.m` and its
//! port `piq.vif_p` (piq 0.8.0) do. Each step is a free function over planes:
//!
//! - [`gaussian_1d`]: the normalised Gaussian of `N = 2^(4−s) + 1` taps, σ = N/5, for scale
//!   `s` = 0..3 (the 2-D window is its outer product);
//! - [`filter_valid`]: separable correlation keeping only windows fully inside the plane;
//! - [`scale_terms`]: one scale's numerator and denominator sums from the local statistics,
//!   with the reference's guards (σ² clamped at 0, the gain `g` and the distortion
//!   variance `σv²` reset where a variance is below [`EPS`], `σv²` floored at `EPS`);
//! - [`vifp`]: the scales (from the second on, the planes are first filtered and every
//!   second row and column kept), then `(Σ num + EPS) / (Σ den + EPS)`.
//!
//! The planes are luma `0.299 R + 0.587 G + 0.114 B` on 0–255, unrounded. Higher is better;
//! 1 (to about 1e-8) for identical images, above 1 for a distorted image with more contrast.

/// piq's threshold for "zero" variances and its floor of `σv²` (MATLAB's code uses 1e-10).
pub const EPS: f64 = 1e-8;

/// The variance of the visual noise of the HVS model, `sigma_nsq`.
pub const SIGMA_N_SQ: f64 = 2.0;

/// Smallest side: the first scale's 17-tap window and three halvings must leave a window.
pub const MIN_SIDE: usize = 41;

/// The normalised 1-D Gaussian window of scale `s`: `2^(4−s) + 1` taps, σ = taps / 5.
pub fn gaussian_1d(s: u32) -> Vec<f64> {
    let n = (1usize << (4 - s)) + 1;
    crate::ssim::gaussian_kernel(n, n as f64 / 5.0)
}

/// `plane` (`w`×`h`) correlated with the window `k ⊗ k`, 'valid' (windows fully inside):
/// rows first, then columns. Returns the plane and its size `(w − n + 1)`×`(h − n + 1)`.
pub fn filter_valid(plane: &[f64], w: usize, h: usize, k: &[f64]) -> (Vec<f64>, usize, usize) {
    let n = k.len();
    let (ow, oh) = (w + 1 - n, h + 1 - n);
    let mut rows = vec![0.0; ow * h];
    for (out, src) in rows.chunks_exact_mut(ow).zip(plane.chunks_exact(w)) {
        for (i, &ki) in k.iter().enumerate() {
            for (o, s) in out.iter_mut().zip(&src[i..]) {
                *o += ki * s;
            }
        }
    }
    let mut out = vec![0.0; ow * oh];
    for (y, orow) in out.chunks_exact_mut(ow).enumerate() {
        for (j, &kj) in k.iter().enumerate() {
            for (o, s) in orow.iter_mut().zip(&rows[(y + j) * ow..][..ow]) {
                *o += kj * s;
            }
        }
    }
    (out, ow, oh)
}

/// Every second row and column of a `w`×`h` plane, from the first.
fn every_second(plane: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
    let out = plane
        .chunks_exact(w)
        .step_by(2)
        .flat_map(|row| row.iter().step_by(2).copied())
        .collect();
    (out, ow, oh)
}

/// One scale's (numerator, denominator) sums for reference `r` and distorted `d` planes
/// (`w`×`h`) under the window `k ⊗ k`.
pub fn scale_terms(r: &[f64], d: &[f64], w: usize, h: usize, k: &[f64]) -> (f64, f64) {
    use rayon::prelude::*;
    // The five local statistics, filtered in parallel (each map on its own: same bits).
    let maps: Vec<Vec<f64>> = [(r, None), (d, None), (r, Some(r)), (d, Some(d)), (r, Some(d))]
        .par_iter()
        .map(|&(a, b)| match b {
            None => filter_valid(a, w, h, k).0,
            Some(b) => filter_valid(&a.iter().zip(b).map(|(x, y)| x * y).collect::<Vec<f64>>(), w, h, k).0,
        })
        .collect();
    let [mu_r, mu_d, rr, dd, rd] = [&maps[0], &maps[1], &maps[2], &maps[3], &maps[4]];
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..mu_r.len() {
        let (mr, md) = (mu_r[i], mu_d[i]);
        let sigma_r = (rr[i] - mr * mr).max(0.0);
        let sigma_d = (dd[i] - md * md).max(0.0);
        let sigma_rd = rd[i] - mr * md;
        let (g, sv, sigma_r) = guarded(sigma_r, sigma_d, sigma_rd, EPS, 1.0);
        num += (1.0 + g * g * sigma_r / (sv + SIGMA_N_SQ)).log10();
        den += (1.0 + sigma_r / SIGMA_N_SQ).log10();
    }
    (num, den)
}

/// The gain `g = σrd / σr²`, the distortion variance `σv² = (σd² − g·σrd) / norm` and the
/// reference variance after the reference implementations' guards, in their order: a
/// reference variance under `eps` gives `g = 0`, `σv² = σd²`, `σr² = 0`; a distorted one
/// gives `g = 0`, `σv² = 0`; a negative gain gives `g = 0`, `σv² = σd²`; then `σv² ≥ eps`.
/// (The pixel domain uses [`EPS`] and `norm` 1; the wavelet domain, [`crate::vifvec`],
/// works on window sums, so it uses 1e-12 and the window's area.)
pub(crate) fn guarded(sigma_r: f64, sigma_d: f64, sigma_rd: f64, eps: f64, norm: f64) -> (f64, f64, f64) {
    let mut g = sigma_rd / (sigma_r + eps);
    let mut sv = (sigma_d - g * sigma_rd) / norm;
    let mut sr = sigma_r;
    if sigma_r < eps {
        (g, sv, sr) = (0.0, sigma_d, 0.0);
    }
    if sigma_d < eps {
        (g, sv) = (0.0, 0.0);
    }
    if g < 0.0 {
        (g, sv) = (0.0, sigma_d);
    }
    (g, sv.max(eps), sr)
}

/// VIF in the pixel domain of a reference and a distorted luma plane (`w`×`h`, 0–255).
/// Errors when a side is under [`MIN_SIDE`].
pub fn vifp(reference: &[f64], distorted: &[f64], w: usize, h: usize) -> Result<f64, String> {
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(format!("VIF needs at least {MIN_SIDE}x{MIN_SIDE} pixels (four scales of windows)"));
    }
    let (mut r, mut d, mut cw, mut ch) = (reference.to_vec(), distorted.to_vec(), w, h);
    let (mut num, mut den) = (0.0, 0.0);
    for s in 0..4 {
        let k = gaussian_1d(s);
        if s > 0 {
            let (fr, fw, fh) = filter_valid(&r, cw, ch, &k);
            let (fd, _, _) = filter_valid(&d, cw, ch, &k);
            (r, _, _) = every_second(&fr, fw, fh);
            (d, cw, ch) = every_second(&fd, fw, fh);
        }
        let (n, dn) = scale_terms(&r, &d, cw, ch, &k);
        num += n;
        den += dn;
    }
    Ok((num + EPS) / (den + EPS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_normalised_and_of_the_right_size() {
        for (s, n) in [(0, 17), (1, 9), (2, 5), (3, 3)] {
            let g = gaussian_1d(s);
            assert_eq!(g.len(), n);
            assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-15);
            assert!((g[0] - g[n - 1]).abs() < 1e-18 && g[n / 2] > g[0]);
        }
    }

    /// The separable 'valid' filter equals the direct 2-D sum with the outer-product window.
    #[test]
    fn separable_filter_equals_the_direct_sum() {
        let (w, h) = (13, 11);
        let p: Vec<f64> = (0..w * h).map(|i| ((i * 37 % 23) as f64).sqrt()).collect();
        let k = gaussian_1d(2);
        let (out, ow, oh) = filter_valid(&p, w, h, &k);
        assert_eq!((ow, oh), (9, 7));
        for y in 0..oh {
            for x in 0..ow {
                let direct: f64 = (0..5)
                    .flat_map(|j| (0..5).map(move |i| (i, j)))
                    .map(|(i, j)| k[i] * k[j] * p[(y + j) * w + x + i])
                    .sum();
                assert!((out[y * ow + x] - direct).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn identical_planes_score_one_and_small_planes_are_an_error() {
        let (w, h) = (64, 48);
        let p: Vec<f64> = (0..w * h).map(|i| ((i * 37 + i / 7) % 251) as f64).collect();
        // Not exactly 1: the gain σrd/(σr + EPS) and the floor of σv² leave about 1e-8.
        assert!((vifp(&p, &p, w, h).unwrap() - 1.0).abs() < 1e-6);
        assert!(vifp(&p[..40 * 40], &p[..40 * 40], 40, 40).is_err());
    }

    /// The guards, case by case.
    #[test]
    fn guards_follow_the_reference_order() {
        assert_eq!(guarded(0.0, 5.0, 0.0, EPS, 1.0), (0.0, 5.0, 0.0));
        assert_eq!(guarded(4.0, 0.0, 1.0, EPS, 1.0), (0.0, EPS, 4.0));
        assert_eq!(guarded(4.0, 9.0, -2.0, EPS, 1.0), (0.0, 9.0, 4.0));
        let (g, sv, sr) = guarded(4.0, 9.0, 2.0, EPS, 1.0);
        assert!((g - 2.0 / (4.0 + EPS)).abs() < 1e-15 && (sv - (9.0 - g * 2.0)).abs() < 1e-15 && sr == 4.0);
    }
}
