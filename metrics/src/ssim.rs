//! SSIM and MS-SSIM over single planes: the Gaussian-window statistics, 'valid' filtering
//! and the multi-scale pyramid, each implemented once as a free function.
//!
//! SSIM follows Wang et al.'s `ssim_index.m` (Gaussian 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03,
//! only windows fully inside the image, no automatic downsampling). MS-SSIM follows
//! `tf.image.ssim_multiscale` (and `pytorch_msssim` for even sizes): five scales with weights
//! 0.0448, 0.2856, 0.3001, 0.2363, 0.1333; between scales a 2×2 average pool, where an odd
//! size is first padded by repeating the last row or column (TensorFlow's `SYMMETRIC` pad);
//! contrast–structure terms clamped at 0; the last scale contributes the full SSIM.

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

/// SSIM statistics of two `w`×`h` planes. Errors (with the reason) if the plane is smaller
/// than the window.
pub fn ssim_stats(x: &[f64], y: &[f64], w: usize, h: usize, p: &SsimParams) -> Result<SsimStats, String> {
    if w < p.window || h < p.window {
        return Err(format!("SSIM needs at least {0}x{0} pixels (one full {0}x{0} window)", p.window));
    }
    let kernel = gaussian_kernel(p.window, p.sigma);
    let c1 = (p.k1 * p.peak).powi(2);
    let c2 = (p.k2 * p.peak).powi(2);
    let xx: Vec<f64> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f64> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f64> = x.iter().zip(y).map(|(a, b)| a * b).collect();
    let mu_x = filter_valid(x, w, h, &kernel);
    let mu_y = filter_valid(y, w, h, &kernel);
    let e_xx = filter_valid(&xx, w, h, &kernel);
    let e_yy = filter_valid(&yy, w, h, &kernel);
    let e_xy = filter_valid(&xy, w, h, &kernel);
    let n = mu_x.len() as f64;
    let (mut ssim_sum, mut cs_sum) = (0.0, 0.0);
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
    Ok(SsimStats {
        ssim: ssim_sum / n,
        cs: cs_sum / n,
    })
}

/// 2×2 average pooling; an odd width or height is first padded by repeating its last
/// column or row. Returns the pooled plane and its size.
pub fn avg_pool2(plane: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
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

/// Smallest width/height for which every MS-SSIM scale still holds one full window.
pub fn ms_ssim_min_side(p: &SsimParams) -> usize {
    // After 4 poolings the side is ceil(s / 16); it must be at least the window.
    (p.window - 1) * 16 + 1
}

/// MS-SSIM of two `w`×`h` planes (five scales, [`MS_SSIM_WEIGHTS`]).
pub fn ms_ssim(x: &[f64], y: &[f64], w: usize, h: usize, p: &SsimParams) -> Result<f64, String> {
    let min = ms_ssim_min_side(p);
    if w < min || h < min {
        return Err(format!(
            "MS-SSIM with {} scales needs at least {min}x{min} pixels (the coarsest scale must hold one {}x{} window)",
            MS_SSIM_WEIGHTS.len(),
            p.window,
            p.window
        ));
    }
    let (mut a, mut b) = (x.to_vec(), y.to_vec());
    let (mut cw, mut ch) = (w, h);
    let mut value = 1.0;
    for (scale, weight) in MS_SSIM_WEIGHTS.iter().enumerate() {
        if scale > 0 {
            let (pa, nw, nh) = avg_pool2(&a, cw, ch);
            let (pb, _, _) = avg_pool2(&b, cw, ch);
            (a, b, cw, ch) = (pa, pb, nw, nh);
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
        assert!((ms_ssim(&x, &x, w, w, &SsimParams::default()).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn too_small_is_an_error_not_nan() {
        let p = SsimParams::default();
        assert_eq!(ms_ssim_min_side(&p), 161);
        let x = vec![0.0; 160 * 200];
        let err = ms_ssim(&x, &x, 200, 160, &p).unwrap_err();
        assert!(err.contains("161x161"), "{err}");
        assert!(ssim_stats(&x[..100], &x[..100], 10, 10, &p).is_err());
    }

    #[test]
    fn odd_pooling_repeats_the_edge() {
        let plane = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (out, w, h) = avg_pool2(&plane, 3, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(out, vec![3.0, 4.5]);
    }
}
