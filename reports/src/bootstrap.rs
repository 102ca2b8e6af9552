//! How far to trust a BD cell: percentile bootstrap intervals over images, the paired
//! comparison of codecs across resamples, and each image's own BD.
//!
//! A resample draws as many images as the dataset has, with replacement ([`draw`]: each
//! image gets a multiplicity), the same draw for every codec and quality (the comparison
//! is paired by image). Every point is then recomputed from its images' rows with those
//! multiplicities as weights ([`ImageTable::points`]: the mean of per-image values, the
//! mean bpp or pooled bits over pooled pixels), dataset-level metrics (mAP) by the caller
//! from stored detections, and every BD cell is recomputed on the resampled curves. The
//! interval is the middle `confidence` of the resampled values, with numpy's default
//! (linear) quantiles ([`quantile`]).
//!
//! hotcoco's `bootstrap_ci` deduplicates each draw into a set (an m-of-n subsample of about
//! 63 % of the images, see its documentation): for a mean that gives intervals about 0.76
//! times too narrow, which would miss the 95 % coverage this module is tested for, so the
//! draw here keeps multiplicities. Draws come from ChaCha8 seeded with the seed and the
//! resample's index, so a seed gives the same intervals on every machine and thread count.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::Serialize;

use rayon::prelude::*;

use crate::aggregate::{Point, Stats};
use crate::bd::bd;
use crate::report::{DatasetReport, PerImageBd, ReportOptions, curve};
use crate::store::ResultRow;

/// How intervals are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Resampling {
    /// Number of resamples (0: no intervals).
    pub resamples: usize,
    /// Confidence level, a fraction in (0, 1).
    pub confidence: f64,
    /// Seed of the draws.
    pub seed: u64,
}

/// Default number of resamples.
pub const DEFAULT_RESAMPLES: usize = 1000;
/// Default confidence level.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;
/// Default seed.
pub const DEFAULT_SEED: u64 = 2024;

impl Default for Resampling {
    fn default() -> Self {
        Self {
            resamples: DEFAULT_RESAMPLES,
            confidence: DEFAULT_CONFIDENCE,
            seed: DEFAULT_SEED,
        }
    }
}

impl Resampling {
    /// How the intervals were made, for table captions.
    pub fn describe(&self) -> String {
        format!(
            "{:.0} % percentile bootstrap interval over images ({} resamples, seed {})",
            self.confidence * 100.0,
            self.resamples,
            self.seed
        )
    }
}

/// A confidence level that is not a fraction strictly between 0 and 1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the confidence level must be a fraction strictly between 0 and 1 (0.95, not 95), got {0}")]
pub struct ConfidenceError(pub f64);

/// Checks a confidence level.
pub fn check_confidence(c: f64) -> Result<f64, ConfidenceError> {
    if c > 0.0 && c < 1.0 { Ok(c) } else { Err(ConfidenceError(c)) }
}

/// The multiplicity of each of `n` units in resample `index`: `n` draws with replacement.
pub fn draw(n: usize, seed: u64, index: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    let mut weights = vec![0u32; n];
    if n == 0 {
        return weights;
    }
    // Unbiased draws from 0..n: reject the top of the u64 range that n does not divide.
    let zone = u64::MAX - (u64::MAX % n as u64 + 1) % n as u64;
    for _ in 0..n {
        let v = loop {
            let v = rng.next_u64();
            if v <= zone {
                break v;
            }
        };
        weights[(v % n as u64) as usize] += 1;
    }
    weights
}

/// The `q`-quantile of sorted values as numpy's default `quantile(..., method="linear")`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let last = sorted.len() - 1;
    let pos = last as f64 * q;
    let i = (pos.floor() as usize).min(last);
    if i == last {
        return sorted[last];
    }
    let g = pos - i as f64;
    sorted[i] + (sorted[i + 1] - sorted[i]) * g
}

/// The percentile interval of resampled values at `confidence` (non-finite values left
/// out); `None` when no value is finite.
pub fn percentile_interval(values: &[f64], confidence: f64) -> Option<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let a = (1.0 - confidence) / 2.0;
    Some((quantile(&v, a), quantile(&v, 1.0 - a)))
}

/// The interval of one BD cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    /// BD-rate bounds, percent.
    pub bd_rate: (f64, f64),
    /// BD-metric bounds, metric units.
    pub bd_metric: (f64, f64),
    /// Share of the resamples with a value where the codec beats the anchor (BD-rate < 0).
    pub p_better: f64,
    /// Resamples that gave a value (the others: a resampled curve without a BD value).
    pub used: usize,
}

impl Interval {
    /// The interval of paired resampled (BD-rate, BD-metric) values; `None` when none.
    pub fn of(samples: &[Option<(f64, f64)>], confidence: f64) -> Option<Self> {
        let ok: Vec<(f64, f64)> = samples.iter().flatten().copied().collect();
        let rates: Vec<f64> = ok.iter().map(|s| s.0).collect();
        let metrics: Vec<f64> = ok.iter().map(|s| s.1).collect();
        Some(Self {
            bd_rate: percentile_interval(&rates, confidence)?,
            bd_metric: percentile_interval(&metrics, confidence)?,
            p_better: rates.iter().filter(|r| **r < 0.0).count() as f64 / ok.len() as f64,
            used: ok.len(),
        })
    }
}

/// How often codec `a` beats codec `b` (lower BD-rate against the same anchor) across the
/// resamples where both have a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pairwise {
    /// Metric.
    pub metric: String,
    /// First codec.
    pub a: String,
    /// Second codec.
    pub b: String,
    /// Share of the resamples where `a`'s BD-rate is below `b`'s.
    pub p_a_better: f64,
    /// Resamples where both have a value.
    pub used: usize,
}

/// The share of paired samples where the first is below the second, and how many pairs.
pub fn share_below(a: &[Option<(f64, f64)>], b: &[Option<(f64, f64)>]) -> (f64, usize) {
    let pairs: Vec<(f64, f64)> = a.iter().zip(b).filter_map(|(x, y)| Some((x.as_ref()?.0, y.as_ref()?.0))).collect();
    let below = pairs.iter().filter(|(x, y)| x < y).count();
    (
        if pairs.is_empty() {
            f64::NAN
        } else {
            below as f64 / pairs.len() as f64
        },
        pairs.len(),
    )
}

/// One finished row as the resampler needs it.
#[derive(Debug, Clone, PartialEq)]
struct ImageRow {
    /// Index of its image in [`ImageTable::images`].
    image: usize,
    bpp: Option<f64>,
    bits: Option<f64>,
    pixels: f64,
    /// Values in the order of [`ImageTable::metrics`].
    values: Vec<Option<f64>>,
}

/// The finished rows of one dataset, per point, ready to be re-aggregated with weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageTable {
    /// Dataset.
    pub dataset: String,
    /// Images, the units of a resample.
    pub images: Vec<String>,
    /// Per-image metrics, in the order of each row's values.
    pub metrics: Vec<String>,
    /// (codec, quality) of each point, in order of first appearance.
    pub points: Vec<(String, f64)>,
    rows: Vec<Vec<ImageRow>>,
}

impl ImageTable {
    /// The finished rows of `dataset` (codec rows only: reference rows are not curves).
    pub fn new(dataset: &str, rows: &[ResultRow]) -> Self {
        let mine: Vec<&ResultRow> = rows
            .iter()
            .filter(|r| r.dataset == dataset && r.is_ok() && !crate::store::is_reference(&r.codec))
            .collect();
        let images = crate::report::unique(mine.iter().map(|r| r.image.as_str()));
        let metrics = crate::report::unique(mine.iter().flat_map(|r| r.metrics.keys().map(String::as_str)));
        let index: BTreeMap<&str, usize> = images.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
        let mut points: Vec<(String, f64)> = Vec::new();
        let mut grouped: Vec<Vec<ImageRow>> = Vec::new();
        for r in mine {
            let at = match points.iter().position(|(c, q)| *c == r.codec && q.to_bits() == r.quality.to_bits()) {
                Some(i) => i,
                None => {
                    points.push((r.codec.clone(), r.quality));
                    grouped.push(Vec::new());
                    points.len() - 1
                }
            };
            grouped[at].push(ImageRow {
                image: index[r.image.as_str()],
                bpp: r.bpp.filter(|v| v.is_finite()),
                bits: r.bytes.map(|b| b as f64 * 8.0),
                pixels: f64::from(r.width) * f64::from(r.height),
                values: metrics.iter().map(|m| r.metrics.get(m).copied()).collect(),
            });
        }
        Self {
            dataset: dataset.to_string(),
            images,
            metrics,
            points,
            rows: grouped,
        }
    }

    /// The dataset's points with each image counted `weights[image]` times: weighted means
    /// of bpp and of every per-image metric, pooled bits over pooled pixels. A point none of
    /// whose images was drawn is left out.
    pub fn points(&self, weights: &[u32]) -> Vec<Point> {
        self.points
            .iter()
            .zip(&self.rows)
            .filter_map(|((codec, quality), rows)| {
                let drawn: Vec<(f64, &ImageRow)> = rows
                    .iter()
                    .filter(|r| weights[r.image] > 0)
                    .map(|r| (f64::from(weights[r.image]), r))
                    .collect();
                if drawn.is_empty() {
                    return None;
                }
                let mean = |get: &dyn Fn(&ImageRow) -> Option<f64>| -> Option<f64> {
                    let (mut s, mut n) = (0.0, 0.0);
                    for (w, r) in &drawn {
                        if let Some(v) = get(r) {
                            s += w * v;
                            n += w;
                        }
                    }
                    (n > 0.0).then(|| s / n)
                };
                let pooled_bits: f64 = drawn.iter().filter_map(|(w, r)| Some(w * r.bits?)).sum();
                let pooled_pixels: f64 = drawn.iter().filter(|(_, r)| r.bits.is_some()).map(|(w, r)| w * r.pixels).sum();
                Some(Point {
                    dataset: self.dataset.clone(),
                    codec: codec.clone(),
                    quality: *quality,
                    ok: drawn.iter().map(|(w, _)| *w as u32).sum(),
                    failed: 0,
                    bpp_mean: mean(&|r| r.bpp),
                    bpp_total: (pooled_pixels > 0.0).then(|| pooled_bits / pooled_pixels),
                    bpp_estimated: None,
                    encode_ms: None,
                    decode_ms: None,
                    metrics: self
                        .metrics
                        .iter()
                        .enumerate()
                        .filter_map(|(k, m)| {
                            let v = mean(&|r| r.values[k])?;
                            Some((
                                m.clone(),
                                Stats {
                                    mean: v,
                                    median: f64::NAN,
                                    std: f64::NAN,
                                },
                            ))
                        })
                        .collect(),
                })
            })
            .collect()
    }

    /// One image's own points (its rows, unweighted): the curves of per-image BD.
    pub fn image_points(&self, image: usize) -> Vec<Point> {
        let mut w = vec![0; self.images.len()];
        w[image] = 1;
        self.points(&w)
    }
}

/// Resampled points of a dataset: the points recomputed with each image counted as often
/// as the weights say (dataset-level metrics included).
pub type Resampler<'a> = dyn Fn(&[u32]) -> Vec<Point> + Sync + 'a;

/// The (BD-rate, BD-metric) of every cell of `d` on resampled points.
fn resampled_cells(d: &DatasetReport, opts: &ReportOptions, pts: &[Point]) -> Vec<Option<(f64, f64)>> {
    d.bd.iter()
        .map(|e| {
            let a = curve(pts, &d.dataset, &d.anchor, &e.metric, opts.bpp);
            let t = curve(pts, &d.dataset, &e.codec, &e.metric, opts.bpp);
            bd(&a, &t, &d.cell_options(opts, &e.metric)).ok().map(|r| (r.bd_rate, r.bd_metric))
        })
        .collect()
}

/// Adds to a dataset's report each cell's bootstrap interval and the paired comparisons
/// (`units` images, resampled points from `resample`), drawn as `r` says; nothing when
/// `r.resamples` is 0 or there is no image. `done` hears of each finished resample (a
/// progress bar).
pub fn add_intervals(
    d: &mut DatasetReport,
    opts: &ReportOptions,
    units: usize,
    resample: &Resampler,
    r: &Resampling,
    done: &(dyn Fn() + Sync),
) {
    if r.resamples == 0 || units == 0 {
        return;
    }
    let samples: Vec<Vec<Option<(f64, f64)>>> = (0..r.resamples)
        .into_par_iter()
        .map(|i| {
            let cells = resampled_cells(d, opts, &resample(&draw(units, r.seed, i)));
            done();
            cells
        })
        .collect();
    let per_cell = |c: usize| -> Vec<Option<(f64, f64)>> { samples.iter().map(|s| s[c]).collect() };
    for c in 0..d.bd.len() {
        d.bd[c].interval = Interval::of(&per_cell(c), r.confidence);
    }
    let mut pairwise = Vec::new();
    for metric in &d.metrics {
        let cells: Vec<usize> = (0..d.bd.len()).filter(|&c| d.bd[c].metric == *metric).collect();
        for (k, &x) in cells.iter().enumerate() {
            for &y in &cells[k + 1..] {
                let (p, used) = share_below(&per_cell(x), &per_cell(y));
                pairwise.push(Pairwise {
                    metric: metric.clone(),
                    a: d.bd[x].codec.clone(),
                    b: d.bd[y].codec.clone(),
                    p_a_better: p,
                    used,
                });
            }
        }
    }
    d.pairwise = pairwise;
    d.resampling = Some(*r);
}

/// Adds each image's own BD to a dataset's report: for every codec, every per-image metric
/// of the table and every image, the BD of the image's curve against the anchor's curve on
/// the same image.
pub fn add_per_image(d: &mut DatasetReport, opts: &ReportOptions, table: &ImageTable) {
    let mut out = Vec::new();
    for (i, image) in table.images.iter().enumerate() {
        let pts = table.image_points(i);
        for e in &d.bd {
            if !table.metrics.contains(&e.metric) {
                continue;
            }
            let a = curve(&pts, &d.dataset, &d.anchor, &e.metric, opts.bpp);
            let t = curve(&pts, &d.dataset, &e.codec, &e.metric, opts.bpp);
            let r = bd(&a, &t, &d.cell_options(opts, &e.metric));
            out.push(PerImageBd {
                codec: e.codec.clone(),
                metric: e.metric.clone(),
                image: image.clone(),
                bd_rate: r.as_ref().ok().map(|r| r.bd_rate),
                bd_metric: r.as_ref().ok().map(|r| r.bd_metric),
                error: r.err().map(|e| e.to_string()),
            });
        }
    }
    // Codec-major, then metric, then image: the order of the tables and figures.
    let order = |p: &PerImageBd| {
        (
            d.bd.iter()
                .position(|e| e.codec == p.codec && e.metric == p.metric)
                .unwrap_or(usize::MAX),
            table.images.iter().position(|i| *i == p.image),
        )
    };
    out.sort_by_key(order);
    d.per_image = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws are reproducible, sum to n, and differ between resamples.
    #[test]
    fn draws_keep_multiplicities() {
        let a = draw(50, 7, 3);
        assert_eq!(a, draw(50, 7, 3));
        assert_eq!(a.iter().sum::<u32>(), 50);
        assert!(a.iter().any(|&w| w > 1), "with replacement: {a:?}");
        assert_ne!(a, draw(50, 7, 4));
        assert_ne!(a, draw(50, 8, 3));
        // Every unit is drawn about equally often.
        let mut total = vec![0u32; 5];
        for i in 0..2000 {
            for (t, w) in total.iter_mut().zip(draw(5, 1, i)) {
                *t += w;
            }
        }
        assert!(total.iter().all(|&t| (1850..=2150).contains(&t)), "{total:?}");
    }

    /// With every image once, the resampler's points are the aggregation's (Polars) means,
    /// both bpp conventions included; an image drawn twice counts twice.
    #[test]
    fn weighted_points_are_the_aggregates() {
        use crate::store::Status;
        let row = |image: &str, w: u32, q: f64, bytes: u64, psnr: f64| ResultRow {
            dataset: "d".into(),
            image: image.into(),
            image_hash: image.into(),
            width: w,
            height: 10,
            conversion: "rgb8".into(),
            preprocess: "none".into(),
            codec: "jpeg".into(),
            codec_kind: "jpeg".into(),
            codec_version: "v".into(),
            quality: q,
            status: Status::Ok,
            error: None,
            bytes: Some(bytes),
            bpp: Some(bytes as f64 * 8.0 / (f64::from(w) * 10.0)),
            bpp_estimated: None,
            encode_ms: None,
            decode_ms: None,
            metrics: [("psnr-rgb".to_string(), psnr)].into_iter().collect(),
            tasks: Default::default(),
            provenance: None,
        };
        let rows = vec![
            row("a", 10, 1.0, 10, 30.0),
            row("b", 30, 1.0, 20, 34.0),
            row("a", 10, 2.0, 20, 33.0),
            row("b", 30, 2.0, 40, 37.0),
        ];
        let table = ImageTable::new("d", &rows);
        let want = crate::aggregate::aggregate(&rows).unwrap();
        let got = table.points(&[1, 1]);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((g.quality, g.ok), (w.quality, w.ok));
            assert!((g.bpp_mean.unwrap() - w.bpp_mean.unwrap()).abs() < 1e-12);
            assert!((g.bpp_total.unwrap() - w.bpp_total.unwrap()).abs() < 1e-12);
            assert!((g.metrics["psnr-rgb"].mean - w.metrics["psnr-rgb"].mean).abs() < 1e-12);
        }
        let twice_b = table.points(&[1, 2]);
        assert!((twice_b[0].metrics["psnr-rgb"].mean - (30.0 + 2.0 * 34.0) / 3.0).abs() < 1e-12);
        assert!((twice_b[0].bpp_total.unwrap() - (80.0 + 2.0 * 160.0) / (100.0 + 2.0 * 300.0)).abs() < 1e-12);
        assert_eq!(table.points(&[0, 0]), Vec::new(), "no image drawn: no point");
        assert_eq!(table.image_points(1)[1].metrics["psnr-rgb"].mean, 37.0);
    }

    /// numpy.quantile([1, 2, 3, 4], [0.025, 0.5, 0.975]) = [1.075, 2.5, 3.925].
    #[test]
    fn quantiles_are_numpys_linear() {
        let v = [1.0, 2.0, 3.0, 4.0];
        for (q, want) in [(0.025, 1.075), (0.5, 2.5), (0.975, 3.925), (1.0, 4.0), (0.0, 1.0)] {
            assert!((quantile(&v, q) - want).abs() < 1e-12, "{q}");
        }
        assert_eq!(percentile_interval(&[f64::NAN], 0.95), None);
        assert!(check_confidence(95.0).is_err() && check_confidence(0.95).is_ok());
        let s = [Some((-2.0, 1.0)), None, Some((1.0, -1.0)), Some((-1.0, 0.5))];
        let i = Interval::of(&s, 0.5).unwrap();
        assert_eq!(i.used, 3);
        assert!((i.p_better - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            share_below(&s, &[Some((0.0, 0.0)), Some((0.0, 0.0)), None, Some((-3.0, 0.0))]),
            (0.5, 2)
        );
    }
}
