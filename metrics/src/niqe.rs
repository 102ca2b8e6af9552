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

use image::RgbImage;

use crate::nss::{self, Edge, Flat};
use crate::{Metric, MetricError};

/// The metric's name, from the catalogue.
const NAME: &str = crate::catalogue::NIQE.name;

/// The NIQE metric with its parameters loaded.
pub struct Niqe {
    params: NiqeParams,
}

impl Niqe {
    /// Loads the parameters (`niqe-basicsr` in the model manifest) from the models folder.
    pub fn load() -> Result<Self, MetricError> {
        let params: NiqeParams = crate::load_parameters(NAME, "niqe-basicsr")?;
        if params.mu_pris_param.len() != 36 || params.cov_pris_param.len() != 36 || params.gaussian_window.len() != 7 {
            return Err(MetricError::Unavailable {
                metric: NAME.into(),
                reason: "niqe-basicsr parameters: expected mu 36, cov 36x36, window 7x7".into(),
            });
        }
        Ok(Self { params })
    }
}

impl Metric for Niqe {
    fn name(&self) -> &'static str {
        NAME
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

/// The 18 features of one MSCN block (`bw`×`bh`, row-major): the AGGD fit of the block
/// (α, mean of the two scales β) and of its four circular pairwise products (α, mean, β_l, β_r).
pub fn block_features(b: &[f64], bw: usize, bh: usize) -> [f64; 18] {
    let mut f = [0.0; 18];
    let fit = nss::aggd(b);
    let k = fit.beta_factor();
    f[0] = fit.alpha;
    f[1] = (fit.left_std + fit.right_std) * k / 2.0;
    for (i, (dy, dx)) in [(0isize, 1isize), (1, 0), (1, 1), (1, -1)].into_iter().enumerate() {
        let fit = nss::aggd_of_product(b, bw, bh, dy, dx);
        let k = fit.beta_factor();
        f[2 + 4 * i..6 + 4 * i].copy_from_slice(&[fit.alpha, fit.mean(), fit.left_std * k, fit.right_std * k]);
    }
    f
}

/// The 18 features of every block of one scale: the MSCN plane (`w`×`h`, with `nbw`×`nbh`
/// blocks), then [`block_features`] of each block (in parallel when the pool has idle
/// threads), in the order `bx · nbh + by`.
fn scale_features(plane: &[f64], w: usize, h: usize, nbw: usize, nbh: usize, window: &nss::Kernel) -> Vec<[f64; 18]> {
    use rayon::prelude::*;
    let norm = nss::mscn(plane, w, h, window, Edge::Replicate, Flat::AsComputed);
    let bs = w / nbw;
    (0..nbw * nbh)
        .into_par_iter()
        .map(|i| {
            let (bx, by) = (i / nbh, i % nbh);
            let block: Vec<f64> = (by * bs..(by + 1) * bs)
                .flat_map(|y| norm[y * w + bx * bs..y * w + (bx + 1) * bs].iter().copied())
                .collect();
            block_features(&block, bs, bs)
        })
        .collect()
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
            metric: NAME.into(),
            width: img.width(),
            height: img.height(),
            reason: "NIQE needs at least two 96x96 blocks (e.g. 192x96)".into(),
        });
    }
    let grey = crate::colour::matlab_rgb2gray(img);
    let window = nss::Kernel::from_rows(&params.gaussian_window);
    let (w, h) = (nbw * BLOCK, nbh * BLOCK);
    let plane: Vec<f64> = (0..h).flat_map(|y| grey[y * w0..y * w0 + w].to_vec()).collect();
    // The two scales are independent (the second resizes the grey image, not the first's
    // coefficients): in parallel when the pool has idle threads.
    let (first, second) = rayon::join(
        || scale_features(&plane, w, h, nbw, nbh, &window),
        || {
            let scaled: Vec<f64> = plane.iter().map(|v| v / 255.0).collect();
            let (r, rw, rh) = nss::imresize_half(&scaled, w, h);
            let resized: Vec<f64> = r.into_iter().map(|v| v * 255.0).collect();
            scale_features(&resized, rw, rh, nbw, nbh, &window)
        },
    );
    let feats: Vec<Vec<f64>> = first.iter().zip(&second).map(|(a, b)| [&a[..], &b[..]].concat()).collect();
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
}
