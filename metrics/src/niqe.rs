//! NIQE (Mittal, Soundararajan, Bovik 2013), no-reference, lower is better.
//!
//! Follows BasicSR's `calculate_niqe` (which reproduces the official MATLAB release) with
//! its pristine-model parameters from the PyPI sdist `basicsr==1.4.2`
//! (`niqe_pris_params.npz`, extracted to JSON by `tools/models/extract_niqe.py`):
//! grey image by MATLAB `rgb2gray` rounded to 8 bit; crop to multiples of 96; at two scales
//! (the second by MATLAB `imresize(·, 0.5)`, bicubic with antialiasing) the MSCN image
//! `(I − μ) / (σ + 1)` with the 7×7 Gaussian window and edge replication; per 96×96 block
//! (48×48 at the second scale) 18 AGGD features; then the distance of the multivariate
//! Gaussian fitted to the blocks to the pristine one, with a pseudo-inverse.

use std::sync::OnceLock;

use image::RgbImage;

use crate::{Metric, MetricError};

/// Convention of `niqe`.
pub const NIQE_CONVENTION: &str = "NIQE (no-reference, lower is better) as BasicSR calculate_niqe with its pristine parameters (basicsr 1.4.2): MATLAB rgb2gray rounded, 96x96 blocks, two scales (MATLAB imresize 0.5, antialiased)";

/// The NIQE metric with its parameters loaded.
pub struct Niqe {
    params: NiqeParams,
}

impl Niqe {
    /// Loads the parameters (`niqe-basicsr` in the model manifest) from the models folder.
    pub fn load() -> Result<Self, MetricError> {
        let unavailable = |reason: String| MetricError::Unavailable {
            metric: "niqe".into(),
            reason,
        };
        let manifest = icmbench_models::Manifest::shipped().map_err(|e| unavailable(e.to_string()))?;
        let entry = manifest
            .get("niqe-basicsr")
            .ok_or_else(|| unavailable("no `niqe-basicsr` in models/manifest.toml".into()))?;
        let path = icmbench_models::models_dir().join(&entry.file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            unavailable(format!(
                "{}: {e}; build it with `make models` (or: {})",
                path.display(),
                entry.build
            ))
        })?;
        let params: NiqeParams = serde_json::from_str(&text).map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
        if params.mu_pris_param.len() != 36 || params.cov_pris_param.len() != 36 || params.gaussian_window.len() != 7 {
            return Err(unavailable(format!("{}: expected mu 36, cov 36x36, window 7x7", path.display())));
        }
        Ok(Self { params })
    }
}

impl Metric for Niqe {
    fn name(&self) -> &'static str {
        "niqe"
    }

    fn higher_is_better(&self) -> bool {
        false
    }

    fn needs_reference(&self) -> bool {
        false
    }

    fn convention(&self) -> &'static str {
        NIQE_CONVENTION
    }

    fn compute(&self, _reference: &RgbImage, distorted: &RgbImage) -> Result<f64, MetricError> {
        niqe(distorted, &self.params)
    }
}

/// BasicSR's NIQE parameters.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NiqeParams {
    /// Mean of the pristine model (36).
    pub mu_pris_param: Vec<f64>,
    /// Covariance of the pristine model (36×36).
    pub cov_pris_param: Vec<Vec<f64>>,
    /// 7×7 Gaussian window.
    pub gaussian_window: Vec<Vec<f64>>,
}

const BLOCK: usize = 96;

/// The Γ-ratio table of the AGGD fit: `Γ(2/γ)² / (Γ(1/γ) Γ(3/γ))` for γ = 0.2, 0.201, …, 10.
fn r_gam() -> &'static [(f64, f64)] {
    static TABLE: OnceLock<Vec<(f64, f64)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..9801)
            .map(|i| {
                let g = 0.2 + i as f64 * 0.001;
                let r = 1.0 / g;
                (g, libm::tgamma(2.0 * r).powi(2) / (libm::tgamma(r) * libm::tgamma(3.0 * r)))
            })
            .collect()
    })
}

/// Fits an asymmetric generalised Gaussian: (α, β_left, β_right), as BasicSR's
/// `estimate_aggd_param` (grid search over α in steps of 0.001).
pub fn aggd(values: &[f64]) -> (f64, f64, f64) {
    let (mut ls, mut ln, mut rs, mut rn, mut abs, mut sq) = (0.0, 0usize, 0.0, 0usize, 0.0, 0.0);
    for &v in values {
        if v < 0.0 {
            ls += v * v;
            ln += 1;
        } else if v > 0.0 {
            rs += v * v;
            rn += 1;
        }
        abs += v.abs();
        sq += v * v;
    }
    let n = values.len() as f64;
    let left = (ls / ln as f64).sqrt();
    let right = (rs / rn as f64).sqrt();
    let gh = left / right;
    let rhat = (abs / n).powi(2) / (sq / n);
    let rnorm = rhat * (gh.powi(3) + 1.0) * (gh + 1.0) / (gh * gh + 1.0).powi(2);
    let table = r_gam();
    let mut best = 0;
    let mut best_err = f64::INFINITY;
    for (i, (_, r)) in table.iter().enumerate() {
        let e = (r - rnorm).powi(2);
        if e < best_err {
            best_err = e;
            best = i;
        }
    }
    let alpha = table[best].0;
    let k = (libm::tgamma(1.0 / alpha) / libm::tgamma(3.0 / alpha)).sqrt();
    (alpha, left * k, right * k)
}

/// The 18 features of one MSCN block (`bw`×`bh`, row-major).
pub fn block_features(b: &[f64], bw: usize, bh: usize) -> [f64; 18] {
    let mut f = [0.0; 18];
    let (a, bl, br) = aggd(b);
    f[0] = a;
    f[1] = (bl + br) / 2.0;
    // numpy.roll(block, (dy, dx)): shifted[y][x] = block[y - dy][x - dx] (circular).
    for (k, (dy, dx)) in [(0isize, 1isize), (1, 0), (1, 1), (1, -1)].into_iter().enumerate() {
        let prod: Vec<f64> = (0..bh)
            .flat_map(|y| {
                (0..bw).map(move |x| {
                    let sy = (y as isize - dy).rem_euclid(bh as isize) as usize;
                    let sx = (x as isize - dx).rem_euclid(bw as isize) as usize;
                    (y, x, sy, sx)
                })
            })
            .map(|(y, x, sy, sx)| b[y * bw + x] * b[sy * bw + sx])
            .collect();
        let (a, bl, br) = aggd(&prod);
        let mean = (br - bl) * libm::tgamma(2.0 / a) / libm::tgamma(1.0 / a);
        f[2 + 4 * k..6 + 4 * k].copy_from_slice(&[a, mean, bl, br]);
    }
    f
}

/// MATLAB's bicubic kernel.
fn cubic(x: f64) -> f64 {
    let a = x.abs();
    if a <= 1.0 {
        1.5 * a.powi(3) - 2.5 * a * a + 1.0
    } else if a <= 2.0 {
        -0.5 * a.powi(3) + 2.5 * a * a - 4.0 * a + 2.0
    } else {
        0.0
    }
}

/// MATLAB `imresize(img, 0.5)` along one axis of length `n` (bicubic, antialiasing,
/// symmetric edges): for each output index, (source indices, weights).
fn half_weights(n: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = 0.5;
    let width = 4.0 / scale;
    let out = (n as f64 * scale).ceil() as usize;
    let taps = width.ceil() as usize + 2;
    (1..=out)
        .map(|x| {
            let u = x as f64 / scale + 0.5 * (1.0 - 1.0 / scale);
            let left = (u - width / 2.0).floor();
            let raw: Vec<(isize, f64)> = (0..taps)
                .map(|t| (left as isize + t as isize, scale * cubic((u - (left + t as f64)) * scale)))
                .collect();
            let sum: f64 = raw.iter().map(|r| r.1).sum();
            raw.into_iter()
                .map(|(i, w)| {
                    let n = n as isize;
                    let j = if i < 1 {
                        1 - i
                    } else if i > n {
                        2 * n + 1 - i
                    } else {
                        i
                    };
                    ((j - 1) as usize, w / sum)
                })
                .collect()
        })
        .collect()
}

/// MATLAB `imresize(plane, 0.5)` with antialiasing (rows, then columns).
pub fn imresize_half(p: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    let wy = half_weights(h);
    let wx = half_weights(w);
    let oh = wy.len();
    let ow = wx.len();
    let mut tmp = vec![0.0; oh * w];
    for (oy, taps) in wy.iter().enumerate() {
        for &(sy, wt) in taps {
            for x in 0..w {
                tmp[oy * w + x] += wt * p[sy * w + x];
            }
        }
    }
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        for (ox, taps) in wx.iter().enumerate() {
            out[y * ow + ox] = taps.iter().map(|&(sx, wt)| wt * tmp[y * w + sx]).sum();
        }
    }
    (out, ow, oh)
}

/// `scipy.ndimage.convolve(p, window, mode='nearest')` for a symmetric odd window.
fn filter_nearest(p: &[f64], w: usize, h: usize, win: &[Vec<f64>]) -> Vec<f64> {
    let k = win.len() as isize;
    let r = k / 2;
    let mut out = vec![0.0; w * h];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let mut s = 0.0;
            for (i, row) in win.iter().enumerate() {
                let sy = (y + i as isize - r).clamp(0, h as isize - 1) as usize;
                for (j, &c) in row.iter().enumerate() {
                    let sx = (x + j as isize - r).clamp(0, w as isize - 1) as usize;
                    s += c * p[sy * w + sx];
                }
            }
            out[y as usize * w + x as usize] = s;
        }
    }
    out
}

/// Moore–Penrose pseudo-inverse of a symmetric matrix (Jacobi eigen-decomposition;
/// eigenvalues below 1e-15 × the largest are dropped, as `numpy.linalg.pinv`).
#[allow(clippy::needless_range_loop)] // Jacobi rotations read best with explicit indices
pub fn pinv_symmetric(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = m.len();
    let mut a: Vec<Vec<f64>> = m.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let eig: Vec<f64> = (0..n).map(|i| a[i][i]).collect();
    let max = eig.iter().fold(0.0f64, |m, e| m.max(e.abs()));
    let inv: Vec<f64> = eig.iter().map(|&e| if e.abs() > 1e-15 * max { 1.0 / e } else { 0.0 }).collect();
    (0..n)
        .map(|i| (0..n).map(|j| (0..n).map(|k| v[i][k] * inv[k] * v[j][k]).sum()).collect())
        .collect()
}

/// NIQE of an 8-bit RGB image.
pub fn niqe(img: &RgbImage, params: &NiqeParams) -> Result<f64, MetricError> {
    let (w0, h0) = (img.width() as usize, img.height() as usize);
    let (nbw, nbh) = (w0 / BLOCK, h0 / BLOCK);
    if nbw == 0 || nbh == 0 || nbw * nbh < 2 {
        return Err(MetricError::TooSmall {
            metric: "niqe".into(),
            width: img.width(),
            height: img.height(),
            reason: "NIQE needs at least two 96x96 blocks (e.g. 192x96)".into(),
        });
    }
    let grey = crate::colour::matlab_rgb2gray(img);
    let (mut w, mut h) = (nbw * BLOCK, nbh * BLOCK);
    let mut plane: Vec<f64> = (0..h).flat_map(|y| grey[y * w0..y * w0 + w].to_vec()).collect();
    let mut feats: Vec<Vec<f64>> = vec![Vec::with_capacity(36); nbw * nbh];
    for scale in [1usize, 2] {
        let mu = filter_nearest(&plane, w, h, &params.gaussian_window);
        let sq: Vec<f64> = plane.iter().map(|v| v * v).collect();
        let ex2 = filter_nearest(&sq, w, h, &params.gaussian_window);
        let norm: Vec<f64> = (0..w * h)
            .map(|i| (plane[i] - mu[i]) / ((ex2[i] - mu[i] * mu[i]).abs().sqrt() + 1.0))
            .collect();
        let bs = BLOCK / scale;
        for bx in 0..nbw {
            for by in 0..nbh {
                let block: Vec<f64> = (by * bs..(by + 1) * bs)
                    .flat_map(|y| norm[y * w + bx * bs..y * w + (bx + 1) * bs].to_vec())
                    .collect();
                feats[bx * nbh + by].extend(block_features(&block, bs, bs));
            }
        }
        if scale == 1 {
            let scaled: Vec<f64> = plane.iter().map(|v| v / 255.0).collect();
            let (r, rw, rh) = imresize_half(&scaled, w, h);
            plane = r.into_iter().map(|v| v * 255.0).collect();
            (w, h) = (rw, rh);
        }
    }
    let d = 36;
    let rows: Vec<&Vec<f64>> = feats.iter().filter(|f| f.iter().all(|v| v.is_finite())).collect();
    let mean: Vec<f64> = (0..d)
        .map(|j| {
            let vals: Vec<f64> = feats.iter().map(|f| f[j]).filter(|v| !v.is_nan()).collect();
            vals.iter().sum::<f64>() / vals.len() as f64
        })
        .collect();
    let n = rows.len() as f64;
    let cmean: Vec<f64> = (0..d).map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n).collect();
    let cov: Vec<Vec<f64>> = (0..d)
        .map(|i| {
            (0..d)
                .map(|j| rows.iter().map(|r| (r[i] - cmean[i]) * (r[j] - cmean[j])).sum::<f64>() / (n - 1.0))
                .collect()
        })
        .collect();
    let avg: Vec<Vec<f64>> = (0..d)
        .map(|i| (0..d).map(|j| (params.cov_pris_param[i][j] + cov[i][j]) / 2.0).collect())
        .collect();
    let inv = pinv_symmetric(&avg);
    let diff: Vec<f64> = (0..d).map(|i| params.mu_pris_param[i] - mean[i]).collect();
    let q: f64 = (0..d).map(|i| (0..d).map(|j| diff[i] * inv[i][j] * diff[j]).sum::<f64>()).sum();
    Ok(q.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinv_of_a_diagonal_and_a_rank_one_matrix() {
        let m = vec![vec![2.0, 0.0], vec![0.0, 4.0]];
        let p = pinv_symmetric(&m);
        assert!((p[0][0] - 0.5).abs() < 1e-12 && (p[1][1] - 0.25).abs() < 1e-12 && p[0][1].abs() < 1e-12);
        let r = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
        let p = pinv_symmetric(&r);
        for row in &p {
            for v in row {
                assert!((v - 0.25).abs() < 1e-12, "{p:?}");
            }
        }
    }

    #[test]
    fn half_resize_of_a_constant_is_constant() {
        let p = vec![7.0; 20 * 10];
        let (r, w, h) = imresize_half(&p, 20, 10);
        assert_eq!((w, h), (10, 5));
        assert!(r.iter().all(|v| (v - 7.0).abs() < 1e-12));
    }

    #[test]
    fn aggd_of_a_gaussian_like_sample_is_near_two() {
        // Symmetric samples drawn from a Gaussian shape by inverse CDF on a grid.
        let v: Vec<f64> = (1..2000)
            .map(|i| {
                let p = i as f64 / 2000.0;
                // Acklam-free approximation: the logit is close enough in shape for alpha > 1.
                (p / (1.0 - p)).ln()
            })
            .collect();
        let (a, l, r) = aggd(&v);
        assert!(a > 1.0 && a < 3.0, "{a}");
        assert!((l - r).abs() < 1e-9);
    }
}
