//! Natural-scene-statistics building blocks shared by NIQE and BRISQUE, each as in the
//! MATLAB releases of LIVE (Mittal et al.): the Gaussian-window filter with its edge rule,
//! MSCN coefficients, the GGD and AGGD fits by grid search over the shape (0.2:0.001:10,
//! binary search of the monotone moment ratio), AGGD fits of circular pairwise products, and MATLAB's `imresize(·, 0.5)` (from icmbench-datasets).

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

/// Index of the first minimum of `err(grid[i])` over a strictly monotone grid (increasing
/// or decreasing), where `err` grows with the distance of `grid[i]` from `x`: the same
/// index as a scan of the whole grid keeping the first minimum (MATLAB `min`), found by
/// binary search. On either side of `x` the error only grows (even after rounding), so
/// the minimum is one of the two grid values around `x`; the first index with that same
/// error is then searched for on its left (it differs only when `x` is so far off the
/// grid that rounding makes errors equal, or not a number, where the scan gives 0).
fn first_nearest(grid: &[f64], x: f64, err: impl Fn(f64) -> f64) -> usize {
    let increasing = grid.len() > 1 && grid[0] < grid[1];
    let k = if increasing {
        grid.partition_point(|&r| r < x)
    } else {
        grid.partition_point(|&r| r > x)
    };
    let (lo, hi) = (k.saturating_sub(1), k.min(grid.len() - 1));
    let c = if err(grid[lo]) <= err(grid[hi]) { lo } else { hi };
    let best = err(grid[c]);
    if best.is_nan() {
        return 0;
    }
    grid[..c].partition_point(|&r| err(r) > best)
}

/// Lanes of the AGGD sums: per-lane partial sums added in lane order at the end, so the
/// result is the same on every vector width.
const LANES: usize = 8;

/// The sums behind GGD and AGGD fits, in [`LANES`] lanes: squares and counts of the
/// negative and of the positive values, absolute values and squares of all.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    left_sq: [f64; LANES],
    left_n: [f64; LANES],
    right_sq: [f64; LANES],
    right_n: [f64; LANES],
    abs: [f64; LANES],
    sq: [f64; LANES],
    /// Values accumulated.
    n: usize,
}

icmbench_datasets::multiversion! {
    /// Adds `values` to the sums ([`accumulate_kernel`] built for this processor).
    fn accumulate(values: &[f64], sums: &mut Sums) -> () = accumulate_kernel;
}

/// Adds `values` to the sums: value `i` goes to lane `i mod LANES`; each term is
/// selected without a branch and the lanes are local arrays, so the loop is vectorised.
#[inline(always)]
fn accumulate_kernel<const FMA: bool>(values: &[f64], s: &mut Sums) {
    let mut t = *s;
    t.n += values.len();
    let add = |t: &mut Sums, l: usize, v: f64| {
        let sq = v * v;
        let (neg, pos) = (v < 0.0, v > 0.0);
        t.left_sq[l] += if neg { sq } else { 0.0 };
        t.left_n[l] += if neg { 1.0 } else { 0.0 };
        t.right_sq[l] += if pos { sq } else { 0.0 };
        t.right_n[l] += if pos { 1.0 } else { 0.0 };
        t.abs[l] += v.abs();
        t.sq[l] += sq;
    };
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (l, &v) in chunk.iter().enumerate() {
            add(&mut t, l, v);
        }
    }
    for (l, &v) in tail.iter().enumerate() {
        add(&mut t, l, v);
    }
    *s = t;
}

/// Sum of the lanes, in lane order.
fn total(lanes: &[f64; LANES]) -> f64 {
    lanes.iter().sum()
}

/// The sums of a slice of values.
fn sums(values: &[f64]) -> Sums {
    let mut s = Sums::default();
    accumulate(values, &mut s);
    s
}

/// Fits a generalised Gaussian (MATLAB `estimateggdparam`): (shape α, variance σ²).
pub fn ggd(values: &[f64]) -> (f64, f64) {
    let s = sums(values);
    let n = s.n as f64;
    let sigma_sq = total(&s.sq) / n;
    let e = total(&s.abs) / n;
    let rho = sigma_sq / (e * e);
    let g = grid();
    (g.shape[first_nearest(&g.ggd, rho, |r| (rho - r).abs())], sigma_sq)
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
    aggd_fit(&sums(values))
}

/// The AGGD fit of the sums.
fn aggd_fit(s: &Sums) -> Aggd {
    let n = s.n as f64;
    let left_std = (total(&s.left_sq) / total(&s.left_n)).sqrt();
    let right_std = (total(&s.right_sq) / total(&s.right_n)).sqrt();
    let gh = left_std / right_std;
    let rhat = (total(&s.abs) / n).powi(2) / (total(&s.sq) / n);
    let rnorm = rhat * (gh.powi(3) + 1.0) * (gh + 1.0) / (gh * gh + 1.0).powi(2);
    let g = grid();
    Aggd {
        alpha: g.shape[first_nearest(&g.aggd, rnorm, |r| (r - rnorm).powi(2))],
        left_std,
        right_std,
    }
}

/// The AGGD fit of `p · shift(p)` (the pairwise product of a `w`×`h` plane with its
/// circular shift), without storing the product: `shift` is MATLAB `circshift(p, [dy dx])`
/// (equivalently `numpy.roll(p, (dy, dx))`): `shifted[y][x] = p[y − dy][x − dx]`,
/// wrapping around. The product is formed one row at a time.
pub fn aggd_of_product(p: &[f64], w: usize, h: usize, dy: isize, dx: isize) -> Aggd {
    let mut s = Sums::default();
    let mut row = vec![0.0; w];
    let k = dx.rem_euclid(w as isize) as usize;
    for y in 0..h {
        let sy = (y as isize - dy).rem_euclid(h as isize) as usize;
        let (a, b) = (&p[y * w..(y + 1) * w], &p[sy * w..(sy + 1) * w]);
        // shifted[x] = b[x − k] for x ≥ k, b[x − k + w] below.
        for ((o, &a), &b) in row[..k].iter_mut().zip(&a[..k]).zip(&b[w - k..]) {
            *o = a * b;
        }
        for ((o, &a), &b) in row[k..].iter_mut().zip(&a[k..]).zip(&b[..w - k]) {
            *o = a * b;
        }
        accumulate(&row, &mut s);
    }
    aggd_fit(&s)
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
    let (mu, ex2) = rayon::join(
        || correlate(p, w, h, win, edge),
        || {
            let sq: Vec<f64> = p.iter().map(|v| v * v).collect();
            correlate(&sq, w, h, win, edge)
        },
    );
    let mut out = vec![0.0; w * h];
    mscn_from_moments(p, &mu, &ex2, flat == Flat::Exact, &mut out);
    out
}

icmbench_datasets::multiversion! {
    /// [`mscn_kernel`] built for this processor's vector unit.
    fn mscn_from_moments(p: &[f64], mu: &[f64], ex2: &[f64], exact: bool, out: &mut [f64]) -> () = mscn_kernel;
}

/// `out[i] = (p[i] − μ[i]) / (sqrt(|E[I²][i] − μ[i]²|) + 1)`, with differences below
/// [`SNAP`] taken as 0 when `exact` ([`Flat::Exact`]).
#[inline(always)]
fn mscn_kernel<const FMA: bool>(p: &[f64], mu: &[f64], ex2: &[f64], exact: bool, out: &mut [f64]) {
    for (((o, &v), &m), &e) in out.iter_mut().zip(p).zip(mu).zip(ex2) {
        let diff = v - m;
        let coef = diff / ((e - m * m).abs().sqrt() + 1.0);
        *o = if exact && diff.abs() < SNAP { 0.0 } else { coef };
    }
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

    /// The product with the circular shift, formed directly (`numpy.roll` semantics).
    fn rolled_product(p: &[f64], w: usize, h: usize, dy: isize, dx: isize) -> Vec<f64> {
        let at = |y: isize, x: isize| p[y.rem_euclid(h as isize) as usize * w + x.rem_euclid(w as isize) as usize];
        (0..h as isize)
            .flat_map(|y| (0..w as isize).map(move |x| at(y, x) * at(y - dy, x - dx)))
            .collect()
    }

    #[test]
    fn product_fit_equals_the_fit_of_the_rolled_product() {
        // 3x1 row [1, 2, 3] shifted right by one is [3, 1, 2]: products 3, 2, 6.
        assert_eq!(rolled_product(&[1.0, 2.0, 3.0], 3, 1, 0, 1), vec![3.0, 2.0, 6.0]);
        let (w, h) = (13, 7);
        let p: Vec<f64> = (0..w * h).map(|i| ((i * 37 % 23) as f64 - 11.0) / 7.0).collect();
        for (dy, dx) in [(0, 1), (1, 0), (1, 1), (-1, 1), (1, -1)] {
            let direct = aggd(&rolled_product(&p, w, h, dy, dx));
            let fused = aggd_of_product(&p, w, h, dy, dx);
            assert_eq!(direct.alpha, fused.alpha, "{dy} {dx}");
            assert!((direct.left_std - fused.left_std).abs() < 1e-12 && (direct.right_std - fused.right_std).abs() < 1e-12);
        }
    }

    /// The first minimum by a scan of every grid value (MATLAB `min`).
    fn scan(values: &[f64], f: impl Fn(f64) -> f64) -> usize {
        let mut best = (0, f64::INFINITY);
        for (i, &v) in values.iter().enumerate() {
            if f(v) < best.1 {
                best = (i, f(v));
            }
        }
        best.0
    }

    /// The binary search picks the scan's index on both grids, for values on, between,
    /// beyond and far beyond the grid, and not a number.
    #[test]
    fn binary_search_equals_the_scan_of_the_grid() {
        let g = grid();
        assert!(g.aggd.windows(2).all(|p| p[0] < p[1]) && g.ggd.windows(2).all(|p| p[0] > p[1]));
        let mut xs = vec![f64::NAN, f64::INFINITY, -f64::INFINITY, 0.0, -1.0, 1e300, 1e-300];
        for i in (0..g.aggd.len()).step_by(97).chain([0, 1, g.aggd.len() - 1]) {
            for r in [g.aggd[i], g.ggd[i]] {
                xs.extend([r, r * (1.0 + 1e-12), r * (1.0 - 1e-12), r * 1.0001, r * 0.9999]);
            }
            if i + 1 < g.aggd.len() {
                xs.extend([(g.aggd[i] + g.aggd[i + 1]) / 2.0, (g.ggd[i] + g.ggd[i + 1]) / 2.0]);
            }
        }
        for x in xs {
            let aggd_err = |r: f64| (r - x).powi(2);
            let ggd_err = |r: f64| (x - r).abs();
            assert_eq!(first_nearest(&g.aggd, x, aggd_err), scan(&g.aggd, aggd_err), "aggd {x}");
            assert_eq!(first_nearest(&g.ggd, x, ggd_err), scan(&g.ggd, ggd_err), "ggd {x}");
        }
    }
}
