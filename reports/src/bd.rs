//! Bjøntegaard deltas: BD-rate and BD-metric between an anchor and a test curve.
//!
//! Equal to the `bjontegaard` Python package (FAU-LMS, 1.3.0) for its three methods:
//!
//! - `pchip`: piecewise cubic Hermite with SciPy's `PchipInterpolator` slopes (default);
//! - `akima`: SciPy's `Akima1DInterpolator` (original Akima); linear for two points;
//! - `cubic`: VCEG-M33, a least-squares cubic polynomial (`numpy.polyfit(x, y, 3)`).
//!
//! BD-rate interpolates log10(rate) as a function of the metric and averages the
//! difference over the overlap of the two metric ranges: `(10^avg − 1) · 100` percent
//! (negative: the test codec needs less rate). BD-metric interpolates the metric over
//! log10(rate) and averages test minus anchor over the overlap of the log-rate ranges, in
//! the metric's units. Neither formula depends on the metric's direction; the direction is
//! used to check that each curve is monotone the right way and to pick the best codec.
//!
//! A curve that is not monotone in the metric's direction has no BD value with `pchip` or
//! `akima` unless a [`MonotoneFit`] replaces its points: the isotonic fit, or MPEG's
//! constrained cubic ([`mpeg_cubic`], H. Wang et al., PCS 2024, as CompressAI-Vision's
//! `curve_fitting.py` applies it: only to non-monotone curves). VCEG-M33's `cubic` needs no
//! monotone curve: it gives a value on the raw points, with a warning, as the package does.
//!
//! Every rule is one free function over plain slices: [`pchip_slopes`], [`akima_slopes`],
//! [`polyfit3`], [`Interpolant::integrate`], [`bd_linear`], [`isotonic`], [`mpeg_cubic`],
//! [`relative_curve_difference`].

use serde::Serialize;

/// Interpolation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Piecewise cubic Hermite, SciPy PCHIP slopes.
    #[default]
    Pchip,
    /// Akima spline (SciPy).
    Akima,
    /// Cubic polynomial fit (VCEG-M33).
    Cubic,
}

impl std::str::FromStr for Method {
    type Err = BdError;

    fn from_str(s: &str) -> Result<Self, BdError> {
        Self::parse(s)
    }
}

impl Method {
    /// Parses `pchip`, `akima` or `cubic`.
    pub fn parse(s: &str) -> Result<Self, BdError> {
        match s.to_ascii_lowercase().as_str() {
            "pchip" => Ok(Method::Pchip),
            "akima" => Ok(Method::Akima),
            "cubic" => Ok(Method::Cubic),
            _ => Err(BdError::Method(s.to_string())),
        }
    }

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Pchip => "pchip",
            Method::Akima => "akima",
            Method::Cubic => "cubic",
        }
    }

    fn min_points(self) -> usize {
        match self {
            Method::Cubic => 4,
            _ => 2,
        }
    }
}

/// What replaces the points of a curve that is not monotone in the metric's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MonotoneFit {
    /// Nothing: the curve is flagged abnormal and `pchip` / `akima` give no value.
    #[default]
    Flag,
    /// Isotonic regression (pool adjacent violators) over rate order.
    Isotonic,
    /// MPEG's constrained least-squares cubic on log10 rate ([`mpeg_cubic`]).
    MpegCubic,
}

/// Every monotone-fit policy, in the order reports show them.
pub const MONOTONE_FITS: [MonotoneFit; 3] = [MonotoneFit::Flag, MonotoneFit::Isotonic, MonotoneFit::MpegCubic];

impl MonotoneFit {
    /// Parses `flag` (or `none`), `isotonic` or `mpeg-cubic`.
    pub fn parse(s: &str) -> Result<Self, BdError> {
        match s.to_ascii_lowercase().as_str() {
            "flag" | "none" => Ok(Self::Flag),
            "isotonic" => Ok(Self::Isotonic),
            "mpeg-cubic" => Ok(Self::MpegCubic),
            _ => Err(BdError::MonotoneFit(s.to_string())),
        }
    }

    /// The policy's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Isotonic => "isotonic",
            Self::MpegCubic => "mpeg-cubic",
        }
    }
}

impl std::str::FromStr for MonotoneFit {
    type Err = BdError;

    fn from_str(s: &str) -> Result<Self, BdError> {
        Self::parse(s)
    }
}

/// Errors of a Bjøntegaard computation; each names the curve and the points.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BdError {
    /// Unknown method name.
    #[error("unknown BD method `{0}`; methods: pchip, akima, cubic")]
    Method(String),
    /// Unknown monotone-fit policy.
    #[error("unknown monotone fit `{0}`; fits: flag, isotonic, mpeg-cubic")]
    MonotoneFit(String),
    /// Not enough points for the method.
    #[error("curve `{curve}` has {points} point(s); {method} needs at least {needed}")]
    TooFewPoints {
        /// Curve label.
        curve: String,
        /// Points given.
        points: usize,
        /// Method.
        method: &'static str,
        /// Points needed.
        needed: usize,
    },
    /// Rate and metric lists differ in length.
    #[error("curve `{curve}`: {rates} rates but {metrics} metric values")]
    Length {
        /// Curve label.
        curve: String,
        /// Number of rates.
        rates: usize,
        /// Number of metric values.
        metrics: usize,
    },
    /// A value is NaN, infinite, or a rate is not positive.
    #[error("curve `{curve}`: point {index} (rate {rate}, metric {metric}) is not usable: {reason}")]
    BadPoint {
        /// Curve label.
        curve: String,
        /// 1-based index in the input.
        index: usize,
        /// Its rate.
        rate: f64,
        /// Its metric value.
        metric: f64,
        /// Why.
        reason: &'static str,
    },
    /// The curve is not strictly monotone in the metric's direction.
    #[error(
        "curve `{curve}` is not monotone ({direction} metric expected to {expected} with rate) at {}; fix the points or ask for a monotone fit",
        list_points(points, |(r, m)| format!("(rate {}, metric {})", fmt_sig(*r), fmt_sig(*m)), " -> ")
    )]
    NotMonotone {
        /// Curve label.
        curve: String,
        /// "higher-is-better" or "lower-is-better".
        direction: &'static str,
        /// "increase" or "decrease".
        expected: &'static str,
        /// The offending consecutive points, in rate order.
        points: Vec<(f64, f64)>,
    },
    /// The minimum overlap is not a number from 0 to 1.
    #[error("the minimum overlap must be a number from 0 to 1 (a fraction of the union of the two ranges), got {0}")]
    MinOverlap(f64),
    /// The curves' ranges overlap too little.
    #[error("`{anchor}` and `{test}` overlap on {:.1} % of their {axis} range, below the minimum {:.1} % (--min-overlap)", overlap * 100.0, min * 100.0)]
    Overlap {
        /// Anchor label.
        anchor: String,
        /// Test label.
        test: String,
        /// "metric" (BD-rate) or "log-rate" (BD-metric).
        axis: &'static str,
        /// The overlap fraction.
        overlap: f64,
        /// The minimum required.
        min: f64,
    },
}

/// A number to 4 significant digits for messages and notes (`0.9444`, `1.245`, `31.23`,
/// `1234`), in scientific notation outside 1e-3–1e5; trailing zeros dropped.
pub fn fmt_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// How many points messages list before "… and N more".
pub const LISTED_POINTS: usize = 5;

/// The first [`LISTED_POINTS`] points, each written by `fmt` and joined by `sep`, then
/// "… and N more" when there are more: a 1000-point curve gives a one-line message, not
/// 40 KB.
pub fn list_points(points: &[(f64, f64)], fmt: impl Fn(&(f64, f64)) -> String, sep: &str) -> String {
    let mut s = points.iter().take(LISTED_POINTS).map(fmt).collect::<Vec<_>>().join(sep);
    if points.len() > LISTED_POINTS {
        s.push_str(&format!(" … and {} more", points.len() - LISTED_POINTS));
    }
    s
}

/// A rate–metric curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// Label used in messages (codec id).
    pub label: String,
    /// Rates (any positive unit: bpp, kbps).
    pub rate: Vec<f64>,
    /// Metric values, one per rate.
    pub metric: Vec<f64>,
}

impl Curve {
    /// Builds a curve.
    pub fn new(label: impl Into<String>, rate: Vec<f64>, metric: Vec<f64>) -> Self {
        Self {
            label: label.into(),
            rate,
            metric,
        }
    }

    /// The (rate, metric) points sorted by rate.
    pub fn sorted_points(&self) -> Vec<(f64, f64)> {
        let mut pts: Vec<(f64, f64)> = self.rate.iter().copied().zip(self.metric.iter().copied()).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    }
}

/// Options of a BD computation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BdOptions {
    /// Interpolation method.
    pub method: Method,
    /// Whether smaller metric values are better (LPIPS, NIQE, BRISQUE).
    pub lower_is_better: bool,
    /// What replaces the points of a non-monotone curve (flag only: no value with `pchip`
    /// or `akima`).
    pub monotone_fit: MonotoneFit,
    /// Minimum overlap fraction of the two ranges (0–1); below it is an error.
    pub min_overlap: f64,
    /// The metric's range (lowest, highest possible value; infinite where unbounded): the
    /// bounds of the MPEG cubic fit.
    pub range: (f64, f64),
}

impl Default for BdOptions {
    fn default() -> Self {
        Self {
            method: Method::Pchip,
            lower_is_better: false,
            monotone_fit: MonotoneFit::Flag,
            min_overlap: DEFAULT_MIN_OVERLAP,
            range: (f64::NEG_INFINITY, f64::INFINITY),
        }
    }
}

/// Default minimum overlap: 25 % of the union of the two ranges.
pub const DEFAULT_MIN_OVERLAP: f64 = 0.25;

/// Checks a minimum overlap: finite, from 0 to 1 (NaN and negative values are refused).
pub fn check_min_overlap(min_overlap: f64) -> Result<f64, BdError> {
    if (0.0..=1.0).contains(&min_overlap) {
        Ok(min_overlap)
    } else {
        Err(BdError::MinOverlap(min_overlap))
    }
}
/// Below this overlap the `bjontegaard` package warns; icmbench adds a warning to the result.
pub const WARN_OVERLAP: f64 = 0.75;

/// Result of comparing a test curve with an anchor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BdResult {
    /// BD-rate in percent (negative: the test saves rate).
    pub bd_rate: f64,
    /// BD-metric: mean metric difference, test minus anchor, in the metric's units.
    pub bd_metric: f64,
    /// Overlap of the metric ranges (BD-rate's integration interval), 0–1.
    pub overlap_metric: f64,
    /// Overlap of the log-rate ranges (BD-metric's integration interval), 0–1.
    pub overlap_rate: f64,
    /// Warnings (small overlap, monotone fit applied).
    pub warnings: Vec<String>,
}

/// A fitted interpolant that can be integrated exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Interpolant {
    /// Piecewise cubic Hermite: breakpoints, values, slopes.
    Hermite {
        /// Breakpoints, strictly increasing.
        x: Vec<f64>,
        /// Values at the breakpoints.
        y: Vec<f64>,
        /// Slopes at the breakpoints.
        slopes: Vec<f64>,
    },
    /// Cubic polynomial, highest power first (`numpy.polyfit` order).
    Poly([f64; 4]),
}

impl Interpolant {
    /// Fits `y(x)` with `method`; `x` must be strictly increasing.
    pub fn fit(x: &[f64], y: &[f64], method: Method) -> Self {
        match method {
            Method::Pchip => Interpolant::Hermite {
                x: x.to_vec(),
                y: y.to_vec(),
                slopes: pchip_slopes(x, y),
            },
            Method::Akima => Interpolant::Hermite {
                x: x.to_vec(),
                y: y.to_vec(),
                slopes: akima_slopes(x, y),
            },
            Method::Cubic => Interpolant::Poly(polyfit3(x, y)),
        }
    }

    /// Exact integral from `a` to `b` (`a <= b`, both inside the breakpoint range for
    /// Hermite interpolants).
    pub fn integrate(&self, a: f64, b: f64) -> f64 {
        match self {
            Interpolant::Poly(c) => {
                let anti = |t: f64| ((((c[0] / 4.0) * t + c[1] / 3.0) * t + c[2] / 2.0) * t + c[3]) * t;
                anti(b) - anti(a)
            }
            Interpolant::Hermite { x, y, slopes } => {
                let mut total = 0.0;
                for i in 0..x.len() - 1 {
                    let (x0, x1) = (x[i], x[i + 1]);
                    let lo = a.max(x0);
                    let hi = b.min(x1);
                    if hi <= lo {
                        continue;
                    }
                    let h = x1 - x0;
                    let m = (y[i + 1] - y[i]) / h;
                    let c2 = (3.0 * m - 2.0 * slopes[i] - slopes[i + 1]) / h;
                    let c3 = (slopes[i] + slopes[i + 1] - 2.0 * m) / (h * h);
                    let anti = |s: f64| (((c3 / 4.0 * s + c2 / 3.0) * s + slopes[i] / 2.0) * s + y[i]) * s;
                    total += anti(hi - x0) - anti(lo - x0);
                }
                total
            }
        }
    }

    /// Value at `t` (for plotting fitted curves).
    pub fn eval(&self, t: f64) -> f64 {
        match self {
            Interpolant::Poly(c) => ((c[0] * t + c[1]) * t + c[2]) * t + c[3],
            Interpolant::Hermite { x, y, slopes } => {
                let i = match x.iter().rposition(|&v| v <= t) {
                    Some(i) if i + 1 < x.len() => i,
                    Some(_) => x.len() - 2,
                    None => 0,
                };
                let h = x[i + 1] - x[i];
                let m = (y[i + 1] - y[i]) / h;
                let c2 = (3.0 * m - 2.0 * slopes[i] - slopes[i + 1]) / h;
                let c3 = (slopes[i] + slopes[i + 1] - 2.0 * m) / (h * h);
                let s = t - x[i];
                ((c3 * s + c2) * s + slopes[i]) * s + y[i]
            }
        }
    }
}

/// PCHIP slopes exactly as SciPy's `PchipInterpolator._find_derivatives`.
pub fn pchip_slopes(x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len();
    let h: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let m: Vec<f64> = (0..n - 1).map(|i| (y[i + 1] - y[i]) / h[i]).collect();
    if n == 2 {
        return vec![m[0], m[0]];
    }
    let mut d = vec![0.0; n];
    for k in 1..n - 1 {
        let (m0, m1) = (m[k - 1], m[k]);
        if m0.signum() != m1.signum() || m0 == 0.0 || m1 == 0.0 {
            d[k] = 0.0;
        } else {
            let w1 = 2.0 * h[k] + h[k - 1];
            let w2 = h[k] + 2.0 * h[k - 1];
            let whmean = (w1 / m0 + w2 / m1) / (w1 + w2);
            d[k] = 1.0 / whmean;
        }
    }
    d[0] = pchip_edge(h[0], h[1], m[0], m[1]);
    d[n - 1] = pchip_edge(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
    d
}

/// SciPy's one-sided, shape-preserving end slope (`PchipInterpolator._edge_case`).
fn pchip_edge(h0: f64, h1: f64, m0: f64, m1: f64) -> f64 {
    let d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    let sign = |v: f64| {
        if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        }
    };
    if sign(d) != sign(m0) {
        0.0
    } else if sign(m0) != sign(m1) && d.abs() > 3.0 * m0.abs() {
        3.0 * m0
    } else {
        d
    }
}

/// Akima slopes exactly as SciPy's `Akima1DInterpolator(method="akima")`; linear for two points.
pub fn akima_slopes(x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len();
    if n == 2 {
        let m = (y[1] - y[0]) / (x[1] - x[0]);
        return vec![m, m];
    }
    // m[2..n+1] are the segment slopes, two extrapolated slopes on each side.
    let mut m = vec![0.0; n + 3];
    for i in 0..n - 1 {
        m[i + 2] = (y[i + 1] - y[i]) / (x[i + 1] - x[i]);
    }
    m[1] = 2.0 * m[2] - m[3];
    m[0] = 2.0 * m[1] - m[2];
    m[n + 1] = 2.0 * m[n] - m[n - 1];
    m[n + 2] = 2.0 * m[n + 1] - m[n];
    let dm: Vec<f64> = m.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let f12: Vec<f64> = (0..n).map(|i| dm[i + 2] + dm[i]).collect();
    let fmax = f12.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (0..n)
        .map(|i| {
            if f12[i] > 1e-9 * fmax {
                m[i + 1] + (dm[i] / f12[i]) * (m[i + 2] - m[i + 1])
            } else {
                0.5 * (m[i + 3] + m[i])
            }
        })
        .collect()
}

/// Least-squares cubic `y ≈ c0 x³ + c1 x² + c2 x + c3` (as `numpy.polyfit(x, y, 3)`: a
/// column-scaled Vandermonde system solved by Householder QR).
#[allow(clippy::needless_range_loop)] // matrix code reads best with explicit indices
pub fn polyfit3(x: &[f64], y: &[f64]) -> [f64; 4] {
    let n = x.len();
    let mut a: Vec<[f64; 4]> = x.iter().map(|&t| [t * t * t, t * t, t, 1.0]).collect();
    let mut scale = [0.0; 4];
    for (j, s) in scale.iter_mut().enumerate() {
        *s = a.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt();
        if *s == 0.0 {
            *s = 1.0;
        }
    }
    for r in a.iter_mut() {
        for j in 0..4 {
            r[j] /= scale[j];
        }
    }
    let mut b = y.to_vec();
    // Householder QR, in place.
    for k in 0..4.min(n) {
        let norm = (k..n).map(|i| a[i][k] * a[i][k]).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        let alpha = if a[k][k] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..n).map(|i| a[i][k]).collect();
        v[0] -= alpha;
        let vnorm2: f64 = v.iter().map(|t| t * t).sum();
        if vnorm2 == 0.0 {
            continue;
        }
        for j in k..4 {
            let dot: f64 = (k..n).map(|i| v[i - k] * a[i][j]).sum();
            let f = 2.0 * dot / vnorm2;
            for i in k..n {
                a[i][j] -= f * v[i - k];
            }
        }
        let dot: f64 = (k..n).map(|i| v[i - k] * b[i]).sum();
        let f = 2.0 * dot / vnorm2;
        for i in k..n {
            b[i] -= f * v[i - k];
        }
    }
    let mut c = [0.0; 4];
    for k in (0..4).rev() {
        let s: f64 = (k + 1..4).map(|j| a[k][j] * c[j]).sum();
        c[k] = (b[k] - s) / a[k][k];
    }
    for j in 0..4 {
        c[j] /= scale[j];
    }
    c
}

/// Isotonic regression (pool adjacent violators, equal weights) of `y` in the given
/// direction; returns the fitted values.
pub fn isotonic(y: &[f64], increasing: bool) -> Vec<f64> {
    let sign = if increasing { 1.0 } else { -1.0 };
    let mut blocks: Vec<(f64, usize)> = Vec::new(); // (mean of sign*y, count)
    for &v in y {
        blocks.push((sign * v, 1));
        while blocks.len() > 1 && blocks[blocks.len() - 2].0 > blocks[blocks.len() - 1].0 {
            let (m2, n2) = blocks.pop().unwrap_or((0.0, 0));
            let (m1, n1) = blocks.pop().unwrap_or((0.0, 0));
            blocks.push(((m1 * n1 as f64 + m2 * n2 as f64) / (n1 + n2) as f64, n1 + n2));
        }
    }
    blocks.into_iter().flat_map(|(m, n)| std::iter::repeat_n(sign * m, n)).collect()
}

/// Average of `f_test − f_anchor` over the overlap of the x ranges, and the overlap as a
/// fraction of the union (the `bjontegaard` package's `bjontegaard_delta`).
pub fn bd_linear(xa: &[f64], ya: &[f64], xt: &[f64], yt: &[f64], method: Method) -> (f64, f64) {
    let min = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lo = min(xa).max(min(xt));
    let hi = max(xa).min(max(xt));
    let total = max(xa).max(max(xt)) - min(xa).min(min(xt));
    let overlap = if total > 0.0 { (hi - lo).max(0.0) / total } else { 0.0 };
    if hi <= lo {
        return (f64::NAN, overlap);
    }
    let fa = Interpolant::fit(xa, ya, method);
    let ft = Interpolant::fit(xt, yt, method);
    ((ft.integrate(lo, hi) - fa.integrate(lo, hi)) / (hi - lo), overlap)
}

/// A validated curve: points sorted by rate, log10 rates, metric values.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// log10 of the rates, strictly increasing (non-decreasing for a raw non-monotone
    /// curve kept for `cubic`).
    pub log_rate: Vec<f64>,
    /// Metric values, strictly monotone in the metric's direction unless `raw_abnormal`.
    pub metric: Vec<f64>,
    /// The fit that replaced the points of a non-monotone curve, if any.
    pub fitted: Option<MonotoneFit>,
    /// A non-monotone curve kept as it is: VCEG-M33's cubic needs no monotone curve.
    pub raw_abnormal: bool,
}

/// The points of a curve, sorted by rate, where it is not strictly monotone: both ends of
/// every step with an equal rate or a metric that does not move in the expected direction
/// (`increasing`: higher is better). Empty for a curve fit for BD.
pub fn violations(sorted: &[(f64, f64)], increasing: bool) -> Vec<(f64, f64)> {
    let ordered = |a: f64, b: f64| if increasing { b > a } else { b < a };
    let mut bad: Vec<(f64, f64)> = sorted
        .windows(2)
        .filter(|w| w[0].0 == w[1].0 || !ordered(w[0].1, w[1].1))
        .flat_map(|w| [w[0], w[1]])
        .collect();
    bad.dedup();
    bad
}

/// The finite points of a curve sorted by rate, or the error naming the first bad one.
fn checked_points(curve: &Curve, needed: usize, method: Method) -> Result<Vec<(f64, f64)>, BdError> {
    if curve.rate.len() != curve.metric.len() {
        return Err(BdError::Length {
            curve: curve.label.clone(),
            rates: curve.rate.len(),
            metrics: curve.metric.len(),
        });
    }
    if curve.rate.len() < needed {
        return Err(BdError::TooFewPoints {
            curve: curve.label.clone(),
            points: curve.rate.len(),
            method: method.name(),
            needed,
        });
    }
    let mut pts: Vec<(f64, f64)> = Vec::with_capacity(curve.rate.len());
    for (i, (&r, &m)) in curve.rate.iter().zip(&curve.metric).enumerate() {
        let reason = if !r.is_finite() || !m.is_finite() {
            Some("not a finite number")
        } else if r <= 0.0 {
            Some("rates must be positive (BD uses log rate)")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(BdError::BadPoint {
                curve: curve.label.clone(),
                index: i + 1,
                rate: r,
                metric: m,
                reason,
            });
        }
        pts.push((r, m));
    }
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(pts)
}

/// Checks a curve and puts it in the form the BD integrals need: monotone as it is, or
/// replaced by the fit `opts` asks for, or (for `cubic` without a fit) kept as it is and
/// marked abnormal.
pub fn prepare(curve: &Curve, opts: &BdOptions) -> Result<Prepared, BdError> {
    let needed = opts.method.min_points();
    let pts = checked_points(curve, needed, opts.method)?;
    let increasing = !opts.lower_is_better;
    let log_rate: Vec<f64> = pts.iter().map(|p| p.0.log10()).collect();
    let metric: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let bad = violations(&pts, increasing);
    let prepared = |log_rate, metric, fitted, raw_abnormal| Prepared {
        log_rate,
        metric,
        fitted,
        raw_abnormal,
    };
    if bad.is_empty() {
        return Ok(prepared(log_rate, metric, None, false));
    }
    let too_few = |points: usize, what: &str| BdError::TooFewPoints {
        curve: format!("{} ({what})", curve.label),
        points,
        method: opts.method.name(),
        needed,
    };
    match opts.monotone_fit {
        MonotoneFit::Flag if opts.method == Method::Cubic => Ok(prepared(log_rate, metric, None, true)),
        MonotoneFit::Flag => Err(BdError::NotMonotone {
            curve: curve.label.clone(),
            direction: if increasing { "higher-is-better" } else { "lower-is-better" },
            expected: if increasing { "increase" } else { "decrease" },
            points: bad,
        }),
        MonotoneFit::Isotonic => {
            // One point per block of equal fitted values (at the block's mean log-rate) so
            // both axes are strictly monotone.
            let fitted = isotonic(&metric, increasing);
            let (mut out_r, mut out_m) = (Vec::new(), Vec::new());
            let mut i = 0;
            while i < fitted.len() {
                let mut j = i;
                while j + 1 < fitted.len() && fitted[j + 1] == fitted[i] {
                    j += 1;
                }
                out_r.push(log_rate[i..=j].iter().sum::<f64>() / (j - i + 1) as f64);
                out_m.push(fitted[i]);
                i = j + 1;
            }
            if out_r.len() < needed {
                return Err(too_few(out_r.len(), "after the isotonic fit"));
            }
            Ok(prepared(out_r, out_m, Some(MonotoneFit::Isotonic), false))
        }
        MonotoneFit::MpegCubic => {
            let distinct = 1 + log_rate.windows(2).filter(|w| w[1] > w[0]).count();
            if distinct < 4 {
                return Err(too_few(distinct, "distinct rates; the MPEG cubic fit needs 4"));
            }
            let fitted = mpeg_cubic(&log_rate, &metric, increasing, opts.range);
            let after: Vec<(f64, f64)> = pts.iter().zip(&fitted).map(|(p, &m)| (p.0, m)).collect();
            let still = violations(&after, increasing);
            if !still.is_empty() {
                return Err(BdError::NotMonotone {
                    curve: format!("{} (after the MPEG cubic fit)", curve.label),
                    direction: if increasing { "higher-is-better" } else { "lower-is-better" },
                    expected: if increasing { "increase" } else { "decrease" },
                    points: still,
                });
            }
            Ok(prepared(log_rate, fitted, Some(MonotoneFit::MpegCubic), false))
        }
    }
}

/// MPEG's monotone curve fit (H. Wang et al., "Improvements of the BD-rate metrics using
/// monotonic curve-fitting methods", PCS 2024; CompressAI-Vision's `cubic_polynomial.py`):
/// the cubic `f` in `x` (log10 rate, ascending) that minimises `Σ (f(xᵢ) − yᵢ)²` subject to
/// `f′(xᵢ) ≥ 0` and `f″(xᵢ) ≤ 0` at every point, `f(x₀) ≥ lo` and `f(xₙ) ≤ hi` (the
/// metric's range; infinite bounds are left out). For a lower-is-better metric
/// (`increasing` false) the same fit is made on `−y` with the bounds mirrored. Returns the
/// fitted values at the points.
///
/// The problem is a convex quadratic programme in four unknowns; it is solved exactly, by
/// trying active sets of at most four constraints in order of size and taking the first
/// point that is feasible with non-negative multipliers (a KKT point, hence the optimum),
/// where CompressAI-Vision runs SciPy's SLSQP from (1, 1, 1, 1). `x` needs at least four
/// distinct values.
pub fn mpeg_cubic(x: &[f64], y: &[f64], increasing: bool, range: (f64, f64)) -> Vec<f64> {
    let sign = if increasing { 1.0 } else { -1.0 };
    let (lo, hi) = if increasing { range } else { (-range.1, -range.0) };
    let ys: Vec<f64> = y.iter().map(|v| sign * v).collect();
    // Centre and scale x for conditioning: f′ and f″ keep their signs under t = (x − c) / s.
    let (xmin, xmax) = (x[0], x[x.len() - 1]);
    let c = 0.5 * (xmin + xmax);
    let s = (0.5 * (xmax - xmin)).max(f64::MIN_POSITIVE);
    let t: Vec<f64> = x.iter().map(|v| (v - c) / s).collect();
    let basis = |t: f64| [t * t * t, t * t, t, 1.0];
    // Constraints g·b ≥ h.
    let mut cons: Vec<([f64; 4], f64)> = Vec::new();
    for &ti in &t {
        cons.push(([3.0 * ti * ti, 2.0 * ti, 1.0, 0.0], 0.0));
        cons.push(([-6.0 * ti, -2.0, 0.0, 0.0], 0.0));
    }
    if lo.is_finite() {
        cons.push((basis(t[0]), lo));
    }
    if hi.is_finite() {
        let g = basis(t[t.len() - 1]);
        cons.push((g.map(|v| -v), -hi));
    }
    // Normal equations: H = AᵀA, q = Aᵀy.
    let mut h = [[0.0; 4]; 4];
    let mut q = [0.0; 4];
    for (&ti, &yi) in t.iter().zip(&ys) {
        let a = basis(ti);
        for i in 0..4 {
            q[i] += a[i] * yi;
            for j in 0..4 {
                h[i][j] += a[i] * a[j];
            }
        }
    }
    let scale = 1.0 + ys.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = 1e-9 * scale;
    let coef = qp_active_sets(&h, &q, &cons, tol);
    t.iter()
        .map(|&ti| {
            let a = basis(ti);
            sign * (0..4).map(|i| a[i] * coef[i]).sum::<f64>()
        })
        .collect()
}

/// Minimises `½ bᵀHb − qᵀb` subject to `gᵢ·b ≥ hᵢ` (H positive definite, four unknowns)
/// by enumerating active sets of at most four constraints, smallest first; the first
/// feasible candidate with non-negative multipliers is optimal. Falls back to the feasible
/// candidate of least objective when rounding hides every certificate.
#[allow(clippy::needless_range_loop)] // matrix code reads best with explicit indices
fn qp_active_sets(h: &[[f64; 4]; 4], q: &[f64; 4], cons: &[([f64; 4], f64)], tol: f64) -> [f64; 4] {
    let objective = |b: &[f64; 4]| {
        let mut v = 0.0;
        for i in 0..4 {
            v -= q[i] * b[i];
            for j in 0..4 {
                v += 0.5 * b[i] * h[i][j] * b[j];
            }
        }
        v
    };
    let feasible = |b: &[f64; 4]| {
        cons.iter()
            .all(|(g, rhs)| g.iter().zip(b).map(|(a, x)| a * x).sum::<f64>() >= rhs - tol)
    };
    let mut best: Option<([f64; 4], f64)> = None;
    let m = cons.len();
    for size in 0..=4.min(m) {
        let mut set: Vec<usize> = (0..size).collect();
        loop {
            // KKT system [H −Gᵀ; G 0] [b; λ] = [q; h].
            let n = 4 + size;
            let mut a = vec![vec![0.0; n + 1]; n];
            for i in 0..4 {
                a[i][..4].copy_from_slice(&h[i]);
                a[i][n] = q[i];
            }
            for (k, &c) in set.iter().enumerate() {
                for i in 0..4 {
                    a[i][4 + k] = -cons[c].0[i];
                    a[4 + k][i] = cons[c].0[i];
                }
                a[4 + k][n] = cons[c].1;
            }
            if let Some(sol) = solve(a) {
                let b = [sol[0], sol[1], sol[2], sol[3]];
                if feasible(&b) {
                    if sol[4..].iter().all(|&l| l >= -tol) {
                        return b;
                    }
                    let f = objective(&b);
                    if best.is_none_or(|(_, g)| f < g) {
                        best = Some((b, f));
                    }
                }
            }
            // Next combination of `size` out of `m`.
            let Some(i) = (0..size).rev().find(|&i| set[i] < m - size + i) else {
                break;
            };
            set[i] += 1;
            for j in i + 1..size {
                set[j] = set[j - 1] + 1;
            }
        }
    }
    best.map_or([0.0; 4], |(b, _)| b)
}

/// Solves a small dense system given as an augmented matrix (Gaussian elimination with
/// partial pivoting); `None` when it is singular.
#[allow(clippy::needless_range_loop)] // matrix code reads best with explicit indices
fn solve(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let n = a.len();
    let norm = a.iter().flat_map(|r| r[..n].iter()).fold(0.0f64, |m, v| m.max(v.abs()));
    for k in 0..n {
        let p = (k..n).max_by(|&i, &j| a[i][k].abs().total_cmp(&a[j][k].abs()))?;
        if a[p][k].abs() <= 1e-12 * norm {
            return None;
        }
        a.swap(k, p);
        for i in k + 1..n {
            let f = a[i][k] / a[k][k];
            for j in k..=n {
                a[i][j] -= f * a[k][j];
            }
        }
    }
    let mut x = vec![0.0; n];
    for k in (0..n).rev() {
        let s: f64 = (k + 1..n).map(|j| a[k][j] * x[j]).sum();
        x[k] = (a[k][n] - s) / a[k][k];
    }
    Some(x)
}

/// The relative curve difference of `test` against `anchor` (the `bjontegaard` package's
/// `plot_rcd`): over the overlap of the two metric ranges, at `samples` evenly spaced metric
/// values, `(R_test(m) / R_anchor(m) − 1) · 100` percent, each rate interpolated in log10
/// with `method` on curves prepared as `opts` says. Empty when the curves do not overlap.
pub fn relative_curve_difference(anchor: &Curve, test: &Curve, opts: &BdOptions, samples: usize) -> Result<Vec<(f64, f64)>, BdError> {
    let a = prepare(anchor, opts)?;
    let t = prepare(test, opts)?;
    let (xa, ya) = rate_of_metric(&a, opts.lower_is_better);
    let (xt, yt) = rate_of_metric(&t, opts.lower_is_better);
    let lo = xa[0].max(xt[0]);
    let hi = xa[xa.len() - 1].min(xt[xt.len() - 1]);
    if hi <= lo || samples < 2 {
        return Ok(Vec::new());
    }
    let (fa, ft) = (Interpolant::fit(&xa, &ya, opts.method), Interpolant::fit(&xt, &yt, opts.method));
    Ok((0..samples)
        .map(|i| {
            let m = lo + (hi - lo) * i as f64 / (samples - 1) as f64;
            (m, (10f64.powf(ft.eval(m) - fa.eval(m)) - 1.0) * 100.0)
        })
        .collect())
}

/// BD-rate's axes of a prepared curve: x = the metric, y = log10 rate, both reversed for a
/// lower-is-better metric so that x ascends.
fn rate_of_metric(p: &Prepared, lower_is_better: bool) -> (Vec<f64>, Vec<f64>) {
    if lower_is_better {
        (p.metric.iter().rev().copied().collect(), p.log_rate.iter().rev().copied().collect())
    } else {
        (p.metric.clone(), p.log_rate.clone())
    }
}

/// BD-rate and BD-metric of `test` against `anchor`.
pub fn bd(anchor: &Curve, test: &Curve, opts: &BdOptions) -> Result<BdResult, BdError> {
    check_min_overlap(opts.min_overlap)?;
    let a = prepare(anchor, opts)?;
    let t = prepare(test, opts)?;
    // BD-rate: x = metric (made increasing), y = log rate.
    let (xa, ya) = rate_of_metric(&a, opts.lower_is_better);
    let (xt, yt) = rate_of_metric(&t, opts.lower_is_better);
    let (avg_log, overlap_metric) = bd_linear(&xa, &ya, &xt, &yt, opts.method);
    let (bd_metric, overlap_rate) = bd_linear(&a.log_rate, &a.metric, &t.log_rate, &t.metric, opts.method);
    for (axis, overlap) in [("metric", overlap_metric), ("log-rate", overlap_rate)] {
        if !(overlap > 0.0 && overlap >= opts.min_overlap) {
            return Err(BdError::Overlap {
                anchor: anchor.label.clone(),
                test: test.label.clone(),
                axis,
                overlap,
                min: opts.min_overlap,
            });
        }
    }
    let mut warnings = Vec::new();
    if overlap_metric < WARN_OVERLAP || overlap_rate < WARN_OVERLAP {
        warnings.push(format!(
            "{} vs {}: small overlap (metric ranges {:.1} %, log-rate ranges {:.1} %; the bjontegaard package warns below {:.0} %)",
            test.label,
            anchor.label,
            overlap_metric * 100.0,
            overlap_rate * 100.0,
            WARN_OVERLAP * 100.0
        ));
    }
    for (c, p) in [(anchor, &a), (test, &t)] {
        match p.fitted {
            Some(MonotoneFit::Isotonic) => warnings.push(format!(
                "{}: not monotone, replaced by its isotonic fit ({} points)",
                c.label,
                p.metric.len()
            )),
            Some(MonotoneFit::MpegCubic) => warnings.push(format!("{}: not monotone, replaced by the MPEG cubic fit", c.label)),
            _ if p.raw_abnormal => warnings.push(format!(
                "{}: not monotone; the cubic fit (VCEG-M33) is computed on the raw points",
                c.label
            )),
            _ => {}
        }
    }
    Ok(BdResult {
        bd_rate: (10f64.powf(avg_log) - 1.0) * 100.0,
        bd_metric,
        overlap_metric,
        overlap_rate,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_curves_give_zero() {
        let c = Curve::new("a", vec![0.1, 0.2, 0.4, 0.8], vec![28.0, 30.0, 32.5, 35.0]);
        for method in [Method::Pchip, Method::Akima, Method::Cubic] {
            let r = bd(
                &c,
                &c,
                &BdOptions {
                    method,
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(r.bd_rate.abs() < 1e-9 && r.bd_metric.abs() < 1e-12, "{method:?} {r:?}");
        }
    }

    #[test]
    fn half_the_rate_is_minus_fifty_percent() {
        let a = Curve::new("a", vec![0.1, 0.2, 0.4, 0.8], vec![28.0, 30.0, 32.5, 35.0]);
        let t = Curve::new("t", a.rate.iter().map(|r| r / 2.0).collect(), a.metric.clone());
        for method in [Method::Pchip, Method::Akima, Method::Cubic] {
            let r = bd(
                &a,
                &t,
                &BdOptions {
                    method,
                    min_overlap: 0.0,
                    ..Default::default()
                },
            )
            .unwrap();
            assert!((r.bd_rate + 50.0).abs() < 1e-9, "{method:?} {}", r.bd_rate);
            assert!(r.bd_metric > 0.0);
        }
    }

    #[test]
    fn hermite_integral_of_a_line_is_exact() {
        let x = [0.0, 1.0, 3.0];
        let y = [1.0, 3.0, 7.0];
        for s in [pchip_slopes(&x, &y), akima_slopes(&x, &y)] {
            let f = Interpolant::Hermite {
                x: x.to_vec(),
                y: y.to_vec(),
                slopes: s,
            };
            assert!((f.integrate(0.5, 2.5) - (2.5f64.powi(2) + 2.5 - 0.25 - 0.5)).abs() < 1e-12);
            assert!((f.eval(2.0) - 5.0).abs() < 1e-12);
        }
    }

    #[test]
    fn polyfit_recovers_a_cubic() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y: Vec<f64> = x.iter().map(|t| 2.0 * t * t * t - t + 0.5).collect();
        let c = polyfit3(&x, &y);
        for (got, want) in c.iter().zip([2.0, 0.0, -1.0, 0.5]) {
            assert!((got - want).abs() < 1e-9, "{c:?}");
        }
    }

    #[test]
    fn errors_name_the_curve_and_points() {
        let good = Curve::new("anchor", vec![0.1, 0.2, 0.4], vec![30.0, 32.0, 34.0]);
        let bumpy = Curve::new("bumpy", vec![0.1, 0.2, 0.4], vec![30.0, 29.0, 34.0]);
        let e = bd(&good, &bumpy, &BdOptions::default()).unwrap_err().to_string();
        assert!(
            e.contains("bumpy") && e.contains("rate 0.1, metric 30") && e.contains("rate 0.2, metric 29"),
            "{e}"
        );
        let single = Curve::new("one", vec![0.3], vec![31.0]);
        assert!(
            bd(&good, &single, &BdOptions::default())
                .unwrap_err()
                .to_string()
                .contains("1 point")
        );
        let nan = Curve::new("nan", vec![0.1, f64::NAN], vec![1.0, 2.0]);
        assert!(bd(&good, &nan, &BdOptions::default()).unwrap_err().to_string().contains("point 2"));
        let far = Curve::new("far", vec![10.0, 20.0], vec![50.0, 60.0]);
        let e = bd(&good, &far, &BdOptions::default()).unwrap_err().to_string();
        assert!(e.contains("overlap on 0.0 %"), "{e}");
        let cubic = BdOptions {
            method: Method::Cubic,
            ..Default::default()
        };
        assert!(bd(&good, &good, &cubic).unwrap_err().to_string().contains("at least 4"));
        for bad in [f64::NAN, -1.0, 1.5, f64::INFINITY] {
            let opts = BdOptions {
                min_overlap: bad,
                ..Default::default()
            };
            let e = bd(&good, &good, &opts).unwrap_err().to_string();
            assert!(e.contains("from 0 to 1"), "{bad}: {e}");
        }
        assert_eq!(check_min_overlap(0.0), Ok(0.0));
        assert_eq!(check_min_overlap(1.0), Ok(1.0));
    }

    #[test]
    fn long_curves_give_short_errors() {
        // 1000 points, every other one a dip: 999 violations, listed as 5 and a count.
        let rate: Vec<f64> = (1..=1000).map(|i| i as f64 * 0.01).collect();
        let metric: Vec<f64> = (0..1000).map(|i| 30.0 + (i / 2) as f64 - (i % 2) as f64 * 0.5).collect();
        let bumpy = Curve::new("bumpy", rate, metric);
        let good = Curve::new("anchor", vec![0.1, 0.2, 0.4], vec![30.0, 32.0, 34.0]);
        let e = bd(&good, &bumpy, &BdOptions::default()).unwrap_err();
        let BdError::NotMonotone { points, .. } = &e else { panic!("{e}") };
        let text = e.to_string();
        assert!(text.len() < 400, "{} bytes: {text}", text.len());
        assert_eq!(text.matches("(rate ").count(), LISTED_POINTS, "{text}");
        assert!(text.contains(&format!("… and {} more", points.len() - LISTED_POINTS)), "{text}");
        assert!(text.contains("(rate 0.01, metric 30)"), "{text}");
        let e = bd(
            &good,
            &Curve::new("t", vec![0.1, 0.2, 0.3], vec![30.0, 31.123456789, 31.0]),
            &BdOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("(rate 0.2, metric 31.12) -> (rate 0.3, metric 31)"), "{e}");
        assert_eq!(list_points(&[(1.0, 2.0)], |p| format!("{p:?}"), ", "), "(1.0, 2.0)");
    }

    #[test]
    fn numbers_in_messages_have_four_significant_digits() {
        let cases = [
            (0.944444, "0.9444"),
            (1.2451018766, "1.245"),
            (31.2345, "31.23"),
            (1234.4, "1234"),
            (-0.5, "-0.5"),
            (1.0, "1"),
            (0.0, "0"),
            (1.0e-5, "1.000e-5"),
            (123456.0, "1.235e5"),
        ];
        for (v, text) in cases {
            assert_eq!(fmt_sig(v), text, "{v}");
        }
    }

    #[test]
    fn monotone_fit_pools_violators() {
        assert_eq!(isotonic(&[1.0, 3.0, 2.0, 4.0], true), vec![1.0, 2.5, 2.5, 4.0]);
        assert_eq!(isotonic(&[0.5, 0.6, 0.3], false), vec![0.55, 0.55, 0.3]);
        let a = Curve::new("a", vec![0.1, 0.2, 0.4, 0.8], vec![0.30, 0.40, 0.50, 0.60]);
        let t = Curve::new("t", vec![0.1, 0.2, 0.4, 0.8], vec![0.32, 0.45, 0.44, 0.62]);
        let opts = BdOptions {
            monotone_fit: MonotoneFit::Isotonic,
            ..Default::default()
        };
        let r = bd(&a, &t, &opts).unwrap();
        assert!(r.bd_rate < 0.0 && r.warnings.iter().any(|w| w.contains("isotonic")), "{r:?}");
    }

    /// The MPEG fit keeps a curve that already meets its constraints (the least-squares
    /// cubic of points on a concave increasing cubic is the cubic itself), makes a dipping
    /// curve monotone and concave at its points within its bounds, and mirrors for
    /// lower-is-better metrics.
    #[test]
    fn mpeg_cubic_fit_meets_its_constraints() {
        let x: Vec<f64> = [100.0f64, 200.0, 400.0, 800.0, 1600.0, 3200.0].iter().map(|r| r.log10()).collect();
        let smooth: Vec<f64> = x.iter().map(|t| -t * t * t + 6.0 * t * t + t).collect();
        let f = mpeg_cubic(&x, &smooth, true, (f64::NEG_INFINITY, f64::INFINITY));
        for (a, b) in f.iter().zip(&smooth) {
            assert!((a - b).abs() < 1e-9, "{f:?}");
        }
        let dip = [40.0, 52.0, 50.0, 58.0, 61.0, 99.5];
        let f = mpeg_cubic(&x, &dip, true, (0.0, 60.0));
        assert!(f.windows(2).all(|w| w[1] > w[0]), "{f:?}");
        assert!(f[5] <= 60.0 + 1e-9, "upper bound: {f:?}");
        let steps: Vec<f64> = f.windows(2).zip(x.windows(2)).map(|(v, t)| (v[1] - v[0]) / (t[1] - t[0])).collect();
        assert!(steps.windows(2).all(|s| s[1] <= s[0] + 1e-9), "concave: {steps:?}");
        let mirrored = mpeg_cubic(&x, &dip.map(|v| -v), false, (-60.0, 0.0));
        for (a, b) in mirrored.iter().zip(&f) {
            assert!((a + b).abs() < 1e-9);
        }
        // Too few distinct rates for a cubic: an error naming the curve.
        let c = Curve::new("flat", vec![0.1, 0.1, 0.2, 0.2, 0.4], vec![1.0, 2.0, 2.5, 2.4, 3.0]);
        let opts = BdOptions {
            monotone_fit: MonotoneFit::MpegCubic,
            ..Default::default()
        };
        assert!(prepare(&c, &opts).unwrap_err().to_string().contains("MPEG cubic fit needs 4"));
        assert_eq!(MonotoneFit::parse("MPEG-cubic").unwrap(), MonotoneFit::MpegCubic);
        assert!(
            MonotoneFit::parse("spline")
                .unwrap_err()
                .to_string()
                .contains("flag, isotonic, mpeg-cubic")
        );
    }

    /// The relative curve difference of a codec at 80 % of the anchor's rate is −20 %
    /// everywhere on the overlap.
    #[test]
    fn relative_curve_difference_of_a_rate_shift() {
        let a = Curve::new("a", vec![0.1, 0.2, 0.4, 0.8], vec![28.0, 30.0, 32.5, 35.0]);
        let t = Curve::new("t", a.rate.iter().map(|r| r * 0.8).collect(), a.metric.clone());
        let rcd = relative_curve_difference(&a, &t, &BdOptions::default(), 11).unwrap();
        assert_eq!(rcd.len(), 11);
        assert!((rcd[0].0 - 28.0).abs() < 1e-12 && (rcd[10].0 - 35.0).abs() < 1e-12);
        assert!(rcd.iter().all(|p| (p.1 + 20.0).abs() < 1e-9), "{rcd:?}");
        let far = Curve::new("far", vec![1.0, 2.0], vec![50.0, 60.0]);
        assert!(relative_curve_difference(&a, &far, &BdOptions::default(), 11).unwrap().is_empty());
    }

    #[test]
    fn lower_is_better_curves() {
        // LPIPS-like: falls with rate. Test reaches the same values at 80 % of the rate.
        let a = Curve::new("a", vec![0.1, 0.2, 0.4, 0.8], vec![0.5, 0.35, 0.2, 0.1]);
        let t = Curve::new("t", a.rate.iter().map(|r| r * 0.8).collect(), a.metric.clone());
        let opts = BdOptions {
            lower_is_better: true,
            ..Default::default()
        };
        let r = bd(&a, &t, &opts).unwrap();
        assert!((r.bd_rate + 20.0).abs() < 1e-9, "{r:?}");
        assert!(r.bd_metric < 0.0, "lower LPIPS at equal rate: {r:?}");
        assert!(bd(&a, &t, &BdOptions::default()).is_err(), "the direction is checked");
    }
}
