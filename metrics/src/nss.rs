//! Natural-scene-statistics building blocks shared by NIQE and BRISQUE, each as in the
//! MATLAB releases of LIVE (Mittal et al.): the Gaussian-window filter with its edge rule,
//! MSCN coefficients, the GGD and AGGD fits by grid search over the shape (0.2:0.001:10),
//! circular pairwise products, and MATLAB's `imresize(·, 0.5)` (from icmbench-datasets).

use std::sync::OnceLock;

pub use icmbench_datasets::planes::{Edge, Kernel};
use icmbench_datasets::planes::{correlate, gaussian_kernel};

/// The shape grid of the MATLAB fits: 0.2, 0.201, …, 10 with Γ evaluated once.
struct Grid {
    shape: Vec<f64>,
    /// `Γ(1/γ) Γ(3/γ) / Γ(2/γ)²` (GGD ratio).
    ggd: Vec<f64>,
    /// `Γ(2/γ)² / (Γ(1/γ) Γ(3/γ))` (AGGD ratio).
    aggd: Vec<f64>,
}

fn grid() -> &'static Grid {
    static GRID: OnceLock<Grid> = OnceLock::new();
    GRID.get_or_init(|| {
        let shape: Vec<f64> = (0..9801).map(|i| 0.2 + i as f64 * 0.001).collect();
        let ratio = |g: f64| {
            let r = 1.0 / g;
            libm::tgamma(2.0 * r).powi(2) / (libm::tgamma(r) * libm::tgamma(3.0 * r))
        };
        let aggd: Vec<f64> = shape.iter().map(|&g| ratio(g)).collect();
        let ggd = aggd.iter().map(|r| 1.0 / r).collect();
        Grid { shape, ggd, aggd }
    })
}

/// Index of the first minimum of `f` over the grid (MATLAB `min` returns the first).
fn argmin(values: &[f64], f: impl Fn(f64) -> f64) -> usize {
    let mut best = 0;
    let mut best_err = f64::INFINITY;
    for (i, &v) in values.iter().enumerate() {
        let e = f(v);
        if e < best_err {
            best_err = e;
            best = i;
        }
    }
    best
}

/// Fits a generalised Gaussian (MATLAB `estimateggdparam`): (shape α, variance σ²).
pub fn ggd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let sigma_sq = values.iter().map(|v| v * v).sum::<f64>() / n;
    let e = values.iter().map(|v| v.abs()).sum::<f64>() / n;
    let rho = sigma_sq / (e * e);
    let g = grid();
    (g.shape[argmin(&g.ggd, |r| (rho - r).abs())], sigma_sq)
}

/// An asymmetric generalised Gaussian fit: shape and the standard deviations of the
/// negative and positive sides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggd {
    /// Shape α.
    pub alpha: f64,
    /// `sqrt(mean(v²))` over `v < 0`.
    pub left_std: f64,
    /// `sqrt(mean(v²))` over `v > 0`.
    pub right_std: f64,
}

impl Aggd {
    /// `sqrt(Γ(1/α) / Γ(3/α))`, turning a standard deviation into the scale β.
    pub fn beta_factor(&self) -> f64 {
        (libm::tgamma(1.0 / self.alpha) / libm::tgamma(3.0 / self.alpha)).sqrt()
    }

    /// The distribution's mean, `(β_r − β_l) Γ(2/α) / Γ(1/α)`.
    pub fn mean(&self) -> f64 {
        (self.right_std - self.left_std) * self.beta_factor() * libm::tgamma(2.0 / self.alpha) / libm::tgamma(1.0 / self.alpha)
    }
}

/// Fits an asymmetric generalised Gaussian (MATLAB `estimateaggdparam`, BasicSR
/// `estimate_aggd_param`): grid search of α on the normalised `r̂`.
pub fn aggd(values: &[f64]) -> Aggd {
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
    let left_std = (ls / ln as f64).sqrt();
    let right_std = (rs / rn as f64).sqrt();
    let gh = left_std / right_std;
    let rhat = (abs / n).powi(2) / (sq / n);
    let rnorm = rhat * (gh.powi(3) + 1.0) * (gh + 1.0) / (gh * gh + 1.0).powi(2);
    let g = grid();
    Aggd {
        alpha: g.shape[argmin(&g.aggd, |r| (r - rnorm).powi(2))],
        left_std,
        right_std,
    }
}

/// `p · shift(p)` where `shift` is MATLAB `circshift(p, [dy dx])` (equivalently
/// `numpy.roll(p, (dy, dx))`): `shifted[y][x] = p[y − dy][x − dx]`, wrapping around.
pub fn circular_product(p: &[f64], w: usize, h: usize, dy: isize, dx: isize) -> Vec<f64> {
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let sy = (y as isize - dy).rem_euclid(h as isize) as usize;
        for x in 0..w {
            let sx = (x as isize - dx).rem_euclid(w as isize) as usize;
            out.push(p[y * w + x] * p[sy * w + sx]);
        }
    }
    out
}

/// The normalised 7×7 Gaussian window with σ = 7/6 (MATLAB `fspecial('gaussian', 7, 7/6)`).
pub fn gaussian_window_7() -> Kernel {
    gaussian_kernel(3, 7.0 / 6.0)
}

/// What MSCN does where `I − μ` is zero in exact arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flat {
    /// Whatever the floating-point formula gives (rounding noise of either sign).
    AsComputed,
    /// Exactly 0: `|I − μ|` below [`SNAP`] is taken as the 0 it is mathematically.
    Exact,
}

/// Below this `|I − μ|` (images in 0–255) is rounding noise: the floating-point error of a
/// 49-tap window on values up to 255 is about 1e-12, while a genuine difference on 8-bit
/// data (or its MATLAB `imresize`) is many orders of magnitude larger.
pub const SNAP: f64 = 1e-8;

/// Mean-subtracted contrast-normalised coefficients `(I − μ) / (σ + 1)` with μ and σ from
/// the Gaussian window (`σ = sqrt(|E[I²] − μ²|)`), for images in 0–255.
///
/// Where `I = μ` mathematically (a constant window, a linear ramp: common in skies and
/// flat backgrounds) `I − μ` is rounding noise in floating point, and its sign decides on
/// which side of an AGGD fit the pixel counts: BRISQUE on images with flat areas moves by
/// several points with the summation order. [`Flat::Exact`] makes those coefficients 0.
pub fn mscn(p: &[f64], w: usize, h: usize, win: &Kernel, edge: Edge, flat: Flat) -> Vec<f64> {
    let mu = correlate(p, w, h, win, edge);
    let sq: Vec<f64> = p.iter().map(|v| v * v).collect();
    let ex2 = correlate(&sq, w, h, win, edge);
    (0..w * h)
        .map(|i| {
            let diff = p[i] - mu[i];
            if flat == Flat::Exact && diff.abs() < SNAP {
                0.0
            } else {
                diff / ((ex2[i] - mu[i] * mu[i]).abs().sqrt() + 1.0)
            }
        })
        .collect()
}

/// MATLAB `imresize(plane, 0.5)` with antialiasing (rows, then columns).
pub fn imresize_half(p: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    icmbench_datasets::planes::imresize_down(p, w, h, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Symmetric samples shaped like a logistic distribution (α between 1 and 2).
    fn logistic_sample() -> Vec<f64> {
        (1..2000).map(|i| f64::from(i) / 2000.0).map(|p| (p / (1.0 - p)).ln()).collect()
    }

    #[test]
    fn aggd_of_a_symmetric_sample_has_equal_sides_and_zero_mean() {
        let a = aggd(&logistic_sample());
        assert!(a.alpha > 1.0 && a.alpha < 3.0, "{a:?}");
        assert!((a.left_std - a.right_std).abs() < 1e-9);
        assert!(a.mean().abs() < 1e-9);
    }

    #[test]
    fn ggd_of_a_laplacian_grid_is_near_one() {
        // Inverse CDF of a Laplace distribution on a fine grid: the GGD shape is 1.
        let v: Vec<f64> = (1..20000)
            .map(|i| f64::from(i) / 20000.0)
            .map(|p| if p < 0.5 { (2.0 * p).ln() } else { -(2.0 * (1.0 - p)).ln() })
            .collect();
        let (alpha, var) = ggd(&v);
        assert!((alpha - 1.0).abs() < 0.02, "{alpha}");
        assert!((var - 2.0).abs() < 0.02, "{var}");
    }

    #[test]
    fn circular_product_wraps() {
        // 3x1 row [1, 2, 3] shifted right by one: [3, 1, 2].
        assert_eq!(circular_product(&[1.0, 2.0, 3.0], 3, 1, 0, 1), vec![3.0, 2.0, 6.0]);
    }
}
