//! Paper-style tables from aggregated points: per dataset, rows = codecs, columns =
//! metrics, cells = BD-rate against the anchor codec with the BD-metric beside it, the best
//! BD-rate of each column marked; plus per-quality tables. Rendered as Markdown, LaTeX
//! (booktabs, best in bold), CSV and JSON from one [`Report`] value.

use std::fmt::Write;

use serde::Serialize;

use crate::ReportError;
use crate::aggregate::{BppConvention, Point};
use crate::bd::{BdError, BdOptions, Curve, MONOTONE_FITS, Method, MonotoneFit, bd, violations};
use crate::bootstrap::{Interval, Pairwise, Resampling};

/// Options for building a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Anchor codec id (default: the first codec of each dataset).
    pub anchor: Option<String>,
    /// BD interpolation method.
    pub method: Method,
    /// Which bpp the tables and BD computations use.
    pub bpp: BppConvention,
    /// What replaces the points of non-monotone curves (flag only: reported as abnormal).
    pub monotone_fit: MonotoneFit,
    /// Minimum range overlap for BD values.
    pub min_overlap: f64,
    /// Metrics to report (default: all present).
    pub metrics: Option<Vec<String>>,
    /// Bootstrap intervals over images (0 resamples: none). [`build`] does not draw them:
    /// [`crate::bootstrap::add_intervals`] does, from the rows.
    pub resampling: Resampling,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            anchor: None,
            method: Method::Pchip,
            bpp: BppConvention::Mean,
            monotone_fit: MonotoneFit::Flag,
            min_overlap: crate::bd::DEFAULT_MIN_OVERLAP,
            metrics: None,
            resampling: Resampling::default(),
        }
    }
}

/// One BD cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BdEntry {
    /// Test codec.
    pub codec: String,
    /// Metric.
    pub metric: String,
    /// BD-rate, percent.
    pub bd_rate: Option<f64>,
    /// BD-metric, metric units (test minus anchor).
    pub bd_metric: Option<f64>,
    /// Why there is no value (abnormal curve, too little overlap...).
    pub error: Option<String>,
    /// Warnings (small overlap, monotone fit).
    pub warnings: Vec<String>,
    /// Whether there is no value because a curve is not monotone (shown as `abnormal`).
    #[serde(skip)]
    pub not_monotone: bool,
    /// When there is no value because the curves overlap too little: the axis (`metric`
    /// or `log-rate`), the overlap and the minimum asked for (fractions).
    #[serde(skip)]
    pub refused_overlap: Option<(&'static str, f64, f64)>,
    /// Its bootstrap interval, when intervals were asked for and a resample gave a value.
    pub interval: Option<Interval>,
    /// How far the value depends on the points and the choices of the computation.
    pub reliability: Reliability,
}

/// A BD cell's reliability note: points used, overlaps, the spread between interpolation
/// methods, the abnormal points, and the value under each monotone-fit policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reliability {
    /// Points of the anchor's and the codec's curves.
    pub points: (usize, usize),
    /// Overlap of the metric ranges and of the log-rate ranges (0–1), when computed.
    pub overlap: Option<(f64, f64)>,
    /// BD-rate with each method (pchip, akima, cubic), under the report's monotone fit.
    pub by_method: Vec<(Method, Option<f64>)>,
    /// Largest minus smallest of those BD-rates, percentage points (`None` below two).
    pub spread: Option<f64>,
    /// Points where the anchor's or the codec's curve breaks monotonicity.
    pub abnormal_points: usize,
    /// BD-rate under each monotone-fit policy (flag, isotonic, mpeg-cubic), with the
    /// report's method.
    pub by_fit: Vec<(MonotoneFit, Option<f64>)>,
}

impl Reliability {
    /// The note of the cell (anchor curve `a`, codec curve `t`) under `opts`, whose own
    /// result gave `overlap` (metric, log-rate) when it had a value.
    pub fn of(a: &Curve, t: &Curve, opts: &BdOptions, overlap: Option<(f64, f64)>) -> Self {
        let rate = |o: BdOptions| bd(a, t, &o).ok().map(|r| r.bd_rate);
        let by_method: Vec<(Method, Option<f64>)> = [Method::Pchip, Method::Akima, Method::Cubic]
            .into_iter()
            .map(|method| (method, rate(BdOptions { method, ..*opts })))
            .collect();
        let values: Vec<f64> = by_method.iter().filter_map(|m| m.1).collect();
        let spread = (values.len() >= 2)
            .then(|| values.iter().copied().fold(f64::NEG_INFINITY, f64::max) - values.iter().copied().fold(f64::INFINITY, f64::min));
        let abnormal = |c: &Curve| violations(&c.sorted_points(), !opts.lower_is_better).len();
        Self {
            points: (a.rate.len(), t.rate.len()),
            overlap,
            by_method,
            spread,
            abnormal_points: abnormal(a) + abnormal(t),
            by_fit: MONOTONE_FITS
                .into_iter()
                .map(|monotone_fit| (monotone_fit, rate(BdOptions { monotone_fit, ..*opts })))
                .collect(),
        }
    }
}

/// One image's own BD against the anchor on the same image (its own curves).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerImageBd {
    /// Codec.
    pub codec: String,
    /// Metric.
    pub metric: String,
    /// Image.
    pub image: String,
    /// BD-rate, percent.
    pub bd_rate: Option<f64>,
    /// BD-metric, metric units.
    pub bd_metric: Option<f64>,
    /// Why there is no value.
    pub error: Option<String>,
}

/// The options of one BD cell: the report's, with the metric's direction and range.
pub fn cell_options(opts: &ReportOptions, lower_is_better: bool, metric: &str) -> BdOptions {
    BdOptions {
        method: opts.method,
        lower_is_better,
        monotone_fit: opts.monotone_fit,
        min_overlap: opts.min_overlap,
        range: icmbench_metrics::catalogue::range(metric),
    }
}

/// A curve that is not monotone in rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbnormalCurve {
    /// Codec.
    pub codec: String,
    /// Metric.
    pub metric: String,
    /// (rate, metric) points where the order breaks.
    pub points: Vec<(f64, f64)>,
}

/// The report of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetReport {
    /// Dataset name.
    pub dataset: String,
    /// Anchor codec.
    pub anchor: String,
    /// Codecs in order (anchor included).
    pub codecs: Vec<String>,
    /// Metrics in order.
    pub metrics: Vec<String>,
    /// Whether each metric is lower-is-better.
    pub lower_is_better: Vec<bool>,
    /// BD cells, codec-major.
    pub bd: Vec<BdEntry>,
    /// Reference rows present, which are not codecs (LL-ICM: the task on the uncompressed
    /// input, the degraded input without a task); see [`crate::lowlevel`].
    pub references: Vec<String>,
    /// Abnormal curves: not monotone in rate in the metric's direction. Flagged with † in
    /// tables and "(abnormal)" in figures, never dropped.
    pub abnormal: Vec<AbnormalCurve>,
    /// The aggregated points of this dataset.
    pub points: Vec<Point>,
    /// How the intervals were drawn, when they were.
    pub resampling: Option<Resampling>,
    /// How often each codec beats each other one across resamples.
    pub pairwise: Vec<Pairwise>,
    /// Each image's own BD (per-image metrics).
    pub per_image: Vec<PerImageBd>,
}

/// The notes under a BD table ([`DatasetReport::table_notes`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notes {
    /// What to read: one line per abnormal curve, per codec's overlaps, per other cell
    /// without a value.
    pub short: Vec<String>,
    /// Every cell's notes in full (errors and warnings), shown folded.
    pub details: Vec<String>,
}

impl Notes {
    /// The notes in Markdown: the short lines as a list, the details folded in a
    /// `<details>` block (which GitHub and most viewers fold).
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        if !self.short.is_empty() {
            let _ = writeln!(s, "\nNotes († = abnormal curve, * = value with a warning):\n");
            for n in &self.short {
                let _ = writeln!(s, "- {n}");
            }
        }
        if !self.details.is_empty() {
            let _ = writeln!(
                s,
                "\n<details><summary>Every note on the BD cells ({})</summary>\n",
                self.details.len()
            );
            for n in &self.details {
                let _ = writeln!(s, "- {n}");
            }
            let _ = writeln!(s, "\n</details>");
        }
        s
    }
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// BD method.
    pub method: Method,
    /// bpp convention of every table.
    pub bpp: BppConvention,
    /// What replaced the points of non-monotone curves.
    pub monotone_fit: MonotoneFit,
    /// Per dataset.
    pub datasets: Vec<DatasetReport>,
    /// Why the results are partial (a merge of unfinished shards), said above every table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<String>,
}

impl Report {
    /// A table file of this report as written: marked as partial ([`mark_partial`]) when
    /// the results are, else unchanged.
    pub fn marked(&self, name: &str, text: &str) -> String {
        match &self.partial {
            Some(note) => mark_partial(name, text, note),
            None => text.to_string(),
        }
    }
}

/// Distinct strings in order of first appearance.
pub fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.iter().any(|o| o == i) {
            out.push(i.to_string());
        }
    }
    out
}

/// The (bpp, metric mean) curve of one codec, in quality order, skipping points without
/// finished rows or with non-finite values.
pub fn curve(points: &[Point], dataset: &str, codec: &str, metric: &str, bpp: BppConvention) -> Curve {
    curve_by(points, dataset, codec, metric, |p| bpp.pick(p))
}

/// The same with the rate each point gives `rate` (e.g. a learned codec's estimated bpp).
pub fn curve_by(points: &[Point], dataset: &str, codec: &str, metric: &str, rate_of: impl Fn(&Point) -> Option<f64>) -> Curve {
    let (mut rate, mut value) = (Vec::new(), Vec::new());
    for p in points.iter().filter(|p| p.dataset == dataset && p.codec == codec) {
        if let (Some(r), Some(s)) = (rate_of(p), p.metrics.get(metric))
            && r.is_finite()
            && s.mean.is_finite()
        {
            rate.push(r);
            value.push(s.mean);
        }
    }
    Curve::new(codec, rate, value)
}

/// Builds the report. `lower_is_better` tells each metric's direction.
pub fn build(points: &[Point], opts: &ReportOptions, lower_is_better: &dyn Fn(&str) -> bool) -> Result<Report, ReportError> {
    let mut datasets = Vec::new();
    for dataset in unique(points.iter().map(|p| p.dataset.as_str())) {
        let pts: Vec<Point> = points.iter().filter(|p| p.dataset == dataset).cloned().collect();
        let (references, codecs): (Vec<String>, Vec<String>) = unique(pts.iter().map(|p| p.codec.as_str()))
            .into_iter()
            .partition(|c| crate::store::is_reference(c));
        if codecs.is_empty() {
            // Only reference rows (every codec row of a low-level task failed): no curves.
            continue;
        }
        let present = unique(pts.iter().flat_map(|p| p.metrics.keys().map(String::as_str)));
        let metrics: Vec<String> = match &opts.metrics {
            Some(wanted) => wanted.iter().filter(|m| present.contains(m)).cloned().collect(),
            None => present,
        };
        let anchor = match &opts.anchor {
            Some(a) if codecs.contains(a) => a.clone(),
            Some(a) => {
                return Err(ReportError::Schema {
                    path: format!("dataset `{dataset}`"),
                    message: format!("anchor codec `{a}` not found; codecs: {}", codecs.join(", ")),
                });
            }
            None => codecs[0].clone(),
        };
        let directions: Vec<bool> = metrics.iter().map(|m| lower_is_better(m)).collect();
        // Every (codec, metric) curve, built once for the abnormal check and the BD cells.
        let curves: std::collections::BTreeMap<(&str, &str), Curve> = codecs
            .iter()
            .flat_map(|c| metrics.iter().map(move |m| (c.as_str(), m.as_str())))
            .map(|(c, m)| ((c, m), curve(&pts, &dataset, c, m, opts.bpp)))
            .collect();
        let mut abnormal = Vec::new();
        for codec in &codecs {
            for (metric, &lower) in metrics.iter().zip(&directions) {
                let points = crate::bd::violations(&curves[&(codec.as_str(), metric.as_str())].sorted_points(), !lower);
                if !points.is_empty() {
                    abnormal.push(AbnormalCurve {
                        codec: codec.clone(),
                        metric: metric.clone(),
                        points,
                    });
                }
            }
        }
        let mut cells = Vec::new();
        for codec in codecs.iter().filter(|c| **c != anchor) {
            for (metric, &lower) in metrics.iter().zip(&directions) {
                let a = &curves[&(anchor.as_str(), metric.as_str())];
                let t = &curves[&(codec.as_str(), metric.as_str())];
                cells.push(cell(codec, metric, a, t, &cell_options(opts, lower, metric)));
            }
        }
        datasets.push(DatasetReport {
            dataset,
            anchor,
            codecs,
            metrics,
            lower_is_better: directions,
            bd: cells,
            references,
            abnormal,
            points: pts,
            resampling: None,
            pairwise: Vec::new(),
            per_image: Vec::new(),
        });
    }
    Ok(Report {
        method: opts.method,
        bpp: opts.bpp,
        monotone_fit: opts.monotone_fit,
        datasets,
        partial: None,
    })
}

/// The BD cell of `codec` (curve `t`) against the anchor's curve `a`, with its reliability
/// note.
fn cell(codec: &str, metric: &str, a: &Curve, t: &Curve, bd_opts: &BdOptions) -> BdEntry {
    let mut overlap = None;
    let mut refused_overlap = None;
    let (bd_rate, bd_metric, error, warnings, not_monotone) = match bd(a, t, bd_opts) {
        Ok(r) => {
            overlap = Some((r.overlap_metric, r.overlap_rate));
            (Some(r.bd_rate), Some(r.bd_metric), None, r.warnings, false)
        }
        Err(e) => {
            if let BdError::Overlap { axis, overlap, min, .. } = &e {
                refused_overlap = Some((*axis, *overlap, *min));
            }
            (
                None,
                None,
                Some(e.to_string()),
                Vec::new(),
                matches!(e, BdError::NotMonotone { .. }),
            )
        }
    };
    BdEntry {
        codec: codec.to_string(),
        metric: metric.to_string(),
        bd_rate,
        bd_metric,
        error,
        warnings,
        not_monotone,
        refused_overlap,
        interval: None,
        reliability: Reliability::of(a, t, bd_opts, overlap),
    }
}

/// Unit of a metric for labels, from the metric catalogue (dB for PSNR); empty for unitless
/// metrics and names the catalogue does not hold.
pub fn unit(metric: &str) -> &'static str {
    icmbench_metrics::catalogue::unit(metric)
}

fn fmt_metric_delta(v: f64, metric: &str) -> String {
    let digits = if v.abs() >= 0.1 { 3 } else { 4 };
    let u = unit(metric);
    let sep = if u.is_empty() { "" } else { " " };
    format!("{v:+.digits$}{sep}{u}")
}

impl DatasetReport {
    /// Whether a metric of this report is lower-is-better (false for one it does not hold).
    pub fn lower_is_better(&self, metric: &str) -> bool {
        self.metrics
            .iter()
            .position(|m| m == metric)
            .is_some_and(|i| self.lower_is_better[i])
    }

    /// The options of this report's BD cells of `metric` ([`cell_options`]).
    pub fn cell_options(&self, opts: &ReportOptions, metric: &str) -> BdOptions {
        cell_options(opts, self.lower_is_better(metric), metric)
    }

    /// The cell of (codec, metric).
    pub fn cell(&self, codec: &str, metric: &str) -> Option<&BdEntry> {
        self.bd.iter().find(|e| e.codec == codec && e.metric == metric)
    }

    /// Whether the curve of (codec, metric) is abnormal (not monotone in rate).
    pub fn is_abnormal(&self, codec: &str, metric: &str) -> bool {
        self.abnormal.iter().any(|a| a.codec == codec && a.metric == metric)
    }

    /// Whether a BD cell is flagged: the codec's or the anchor's curve is abnormal.
    pub fn flagged(&self, codec: &str, metric: &str) -> bool {
        self.is_abnormal(codec, metric) || self.is_abnormal(&self.anchor, metric)
    }

    /// The Markdown text of a BD cell: the value (bold when best), `n/a`, and `†` when the
    /// codec's or the anchor's curve is abnormal.
    pub fn cell_markdown(&self, codec: &str, metric: &str) -> String {
        let flag = if self.flagged(codec, metric) { " †" } else { "" };
        match self.cell_text(codec, metric) {
            Some((text, true)) => format!("**{text}**{flag}"),
            Some((text, false)) => format!("{text}{flag}"),
            None => format!("{}{flag}", self.missing_text(codec, metric)),
        }
    }

    /// The text of a cell without a value: `abnormal` when BD failed on a non-monotone
    /// curve, `n/a` for any other reason (the notes give it).
    pub fn missing_text(&self, codec: &str, metric: &str) -> &'static str {
        if self.cell(codec, metric).is_some_and(|c| c.not_monotone) {
            "abnormal"
        } else {
            "n/a"
        }
    }

    /// One line per abnormal curve, for the notes under a table: its points where the
    /// order breaks (4 significant digits), and what BD does with it (`fit`, `method`).
    pub fn abnormal_notes(&self, fit: MonotoneFit, method: Method) -> Vec<String> {
        let treatment = match (fit, method) {
            (MonotoneFit::Flag, Method::Cubic) => "BD (cubic) uses its raw points",
            (MonotoneFit::Flag, _) => "BD cells using it have no value (see --monotone-fit)",
            (MonotoneFit::Isotonic, _) => "BD uses its isotonic fit",
            (MonotoneFit::MpegCubic, _) => "BD uses MPEG's monotone cubic fit",
        };
        self.abnormal
            .iter()
            .map(|a| {
                let pts = crate::bd::list_points(&a.points, |(r, m)| format!("({} bpp, {})", fmt_sig(*r), fmt_sig(*m)), " → ");
                format!("† {} / {} is not monotone in rate: {pts}; {treatment}", a.codec, a.metric)
            })
            .collect()
    }

    /// The notes under the BD table: short lines (one per abnormal curve, one per codec
    /// for its overlaps with the anchor, one per other cell without a value), and every
    /// cell's notes in full for a folded list.
    pub fn table_notes(&self, fit: MonotoneFit, method: Method) -> Notes {
        let mut short = self.abnormal_notes(fit, method);
        for codec in self.codecs.iter().filter(|c| **c != self.anchor) {
            let cells: Vec<&BdEntry> = self.bd.iter().filter(|e| &e.codec == codec).collect();
            let refused: Vec<String> = cells
                .iter()
                .filter_map(|e| {
                    e.refused_overlap
                        .map(|(axis, o, _)| format!("{} ({axis} {:.0} %)", e.metric, o * 100.0))
                })
                .collect();
            let small: Vec<String> = cells
                .iter()
                .filter_map(|e| {
                    let (m, r) = e.reliability.overlap?;
                    (e.bd_rate.is_some() && (m < crate::bd::WARN_OVERLAP || r < crate::bd::WARN_OVERLAP))
                        .then(|| format!("{} ({:.0} / {:.0} %)", e.metric, m * 100.0, r * 100.0))
                })
                .collect();
            let mut parts = Vec::new();
            if let Some(min) = cells.iter().find_map(|e| e.refused_overlap.map(|o| o.2)) {
                parts.push(format!(
                    "no value, the ranges overlap less than the minimum {:.0} % (--min-overlap), in {}",
                    min * 100.0,
                    refused.join(", ")
                ));
            }
            if !small.is_empty() {
                parts.push(format!(
                    "small overlap of the metric / log-rate ranges (below {:.0} %, where the bjontegaard package warns; values marked *) in {}",
                    crate::bd::WARN_OVERLAP * 100.0,
                    small.join(", ")
                ));
            }
            if !parts.is_empty() {
                short.push(format!("{codec} vs {}: {}", self.anchor, parts.join("; ")));
            }
        }
        short.extend(
            self.bd
                .iter()
                .filter(|e| !e.not_monotone && e.refused_overlap.is_none())
                .filter_map(|e| e.error.as_ref().map(|err| format!("{} / {}: {err}", e.codec, e.metric))),
        );
        let mut details = self.abnormal_notes(fit, method);
        details.extend(self.notes());
        Notes { short, details }
    }

    /// The codec with the lowest BD-rate for a metric.
    pub fn best(&self, metric: &str) -> Option<&str> {
        self.bd
            .iter()
            .filter(|e| e.metric == metric)
            .filter_map(|e| e.bd_rate.map(|r| (e.codec.as_str(), r)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| c)
    }

    /// The text of a BD cell, `-12.34 % [-15.1, -9.8] (+0.520 dB)` (a `*` after % marks a
    /// warning), and whether it is the best of its column; `None` when there is no value.
    pub fn cell_text(&self, codec: &str, metric: &str) -> Option<(String, bool)> {
        self.cell_pieces(codec, metric).map(|c| {
            let ci = c.interval.map(|i| format!(" {i}")).unwrap_or_default();
            (format!("{}{ci} ({})", c.rate, c.delta), c.best)
        })
    }

    /// The pieces of a BD cell ([`Self::cell_text`] joins them; the HTML table puts each on
    /// a line of its own); `None` when there is no value.
    pub fn cell_pieces(&self, codec: &str, metric: &str) -> Option<CellPieces> {
        match self.cell(codec, metric) {
            Some(BdEntry {
                bd_rate: Some(rate),
                bd_metric: Some(dm),
                warnings,
                interval,
                ..
            }) => Some(CellPieces {
                rate: format!("{rate:+.2} %{}", if warnings.is_empty() { "" } else { "*" }),
                interval: interval.as_ref().map(|i| format!("[{:+.1}, {:+.1}]", i.bd_rate.0, i.bd_rate.1)),
                delta: fmt_metric_delta(*dm, metric),
                best: self.best(metric) == Some(codec),
            }),
            _ => None,
        }
    }

    /// Errors and warnings of the cells, one line each.
    pub fn notes(&self) -> Vec<String> {
        self.bd
            .iter()
            .filter_map(|e| e.error.as_ref().map(|err| format!("{} / {}: {err}", e.codec, e.metric)))
            .chain(
                self.bd
                    .iter()
                    .flat_map(|e| e.warnings.iter().map(move |w| format!("{} / {}: {w}", e.codec, e.metric))),
            )
            .collect()
    }
}

/// A BD cell's parts, formatted: `-12.34 %*`, `[-15.1, -9.8]`, `+0.520 dB`.
#[derive(Debug, Clone, PartialEq)]
pub struct CellPieces {
    /// BD-rate in %, with `*` when the cell has a warning.
    pub rate: String,
    /// The bootstrap interval of the BD-rate, when resampled.
    pub interval: Option<String>,
    /// The BD-metric (test − anchor) in the metric's units.
    pub delta: String,
    /// Whether the cell is the best BD-rate of its column.
    pub best: bool,
}

fn arrow(lower: bool) -> &'static str {
    if lower { "↓" } else { "↑" }
}

/// The report as Markdown: a BD table and a per-quality table per dataset.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    for d in &r.datasets {
        let _ = writeln!(
            s,
            "## {}: BD-rate vs `{}`\n\nCells: BD-rate in % (negative = fewer bits than the anchor for the same quality){}, BD-metric in parentheses (test − anchor). {} interpolation; bpp = {}; non-monotone curves: {}. Best BD-rate per column in bold; † = abnormal (non-monotone) curve of the codec or the anchor, n/a = no value (see notes).\n",
            d.dataset,
            d.anchor,
            d.resampling
                .map(|r| format!(" with its {} in brackets", r.describe()))
                .unwrap_or_default(),
            r.method.name(),
            r.bpp.describe(),
            fit_phrase(r.monotone_fit)
        );
        let _ = writeln!(
            s,
            "| codec | {} |",
            d.metrics
                .iter()
                .zip(&d.lower_is_better)
                .map(|(m, l)| format!("{m} {}", arrow(*l)))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(s, "|---|{}", "---:|".repeat(d.metrics.len()));
        for codec in d.codecs.iter().filter(|c| **c != d.anchor) {
            let cells: Vec<String> = d.metrics.iter().map(|m| d.cell_markdown(codec, m)).collect();
            let _ = writeln!(s, "| {codec} | {} |", cells.join(" | "));
        }
        s.push_str(&d.table_notes(r.monotone_fit, r.method).markdown());
        s.push_str(&trust_markdown(d));
        let _ = writeln!(s, "\n### {}: per quality point (means over images)\n", d.dataset);
        // Learned codecs report the estimated rate (−log2 likelihoods) beside the real one.
        let estimates = d.points.iter().any(|p| p.bpp_estimated.is_some());
        let (est_head, est_rule) = if estimates {
            (" est. bpp | actual/est. |", "---:|---:|")
        } else {
            ("", "")
        };
        let _ = writeln!(
            s,
            "| codec | quality | images | failed | bpp |{est_head} {} |",
            d.metrics.join(" | ")
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|{est_rule}{}", "---:|".repeat(d.metrics.len()));
        for p in &d.points {
            let est = if !estimates {
                String::new()
            } else {
                match (p.bpp_estimated, p.bpp_mean) {
                    (Some(e), Some(a)) if e > 0.0 => format!(" {e:.4} | {:+.2} % |", 100.0 * (a - e) / e),
                    (Some(e), _) => format!(" {e:.4} | - |"),
                    _ => " - | - |".to_string(),
                }
            };
            let vals: Vec<String> = d
                .metrics
                .iter()
                .map(|m| p.metrics.get(m).map(|st| fmt_value(st.mean)).unwrap_or_else(|| "-".into()))
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |{est} {} |",
                p.codec,
                fmt_quality(p.quality),
                p.ok,
                p.failed,
                r.bpp.pick(p).map(|b| format!("{b:.4}")).unwrap_or_else(|| "-".into()),
                vals.join(" | ")
            );
        }
        s.push('\n');
    }
    s
}

/// What a monotone-fit policy does, for captions.
pub fn fit_phrase(fit: MonotoneFit) -> &'static str {
    match fit {
        MonotoneFit::Flag => "flagged, no pchip/akima value (cubic computes on the raw points)",
        MonotoneFit::Isotonic => "replaced by their isotonic fit",
        MonotoneFit::MpegCubic => "replaced by MPEG's monotone cubic fit (CompressAI-Vision, PCS 2024)",
    }
}

fn fmt_opt_rate(v: Option<f64>) -> String {
    v.map(|x| format!("{x:+.2}")).unwrap_or_else(|| "—".into())
}

/// How far to trust each cell of a dataset: the reliability table, the paired comparisons
/// and the per-image BD summary, as Markdown.
pub fn trust_markdown(d: &DatasetReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n### {}: reliability of each BD cell\n\nPoints of the anchor / the codec; overlap of the metric / log-rate ranges; BD-rate (%) with each method and the spread between them; points where either curve breaks monotonicity; BD-rate (%) under each monotone-fit policy{}.\n",
        d.dataset,
        if d.resampling.is_some() {
            "; P(better): share of the resamples where the codec beats the anchor"
        } else {
            ""
        }
    );
    let p_head = if d.resampling.is_some() { " P(better) |" } else { "" };
    let _ = writeln!(
        s,
        "| codec | metric | points | overlap | pchip / akima / cubic | spread | abnormal points | flag / isotonic / mpeg-cubic |{p_head}"
    );
    let _ = writeln!(
        s,
        "|---|---|---:|---:|---:|---:|---:|---:|{}",
        if d.resampling.is_some() { "---:|" } else { "" }
    );
    for e in &d.bd {
        let rel = &e.reliability;
        let join = |v: &[Option<f64>]| v.iter().map(|x| fmt_opt_rate(*x)).collect::<Vec<_>>().join(" / ");
        let p = match (&d.resampling, &e.interval) {
            (Some(_), Some(i)) => format!(" {:.3} ({} resamples) |", i.p_better, i.used),
            (Some(_), None) => " — |".into(),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} / {} | {} | {} | {} | {} | {} |{p}",
            e.codec,
            e.metric,
            rel.points.0,
            rel.points.1,
            rel.overlap
                .map(|(m, r)| format!("{:.0} % / {:.0} %", m * 100.0, r * 100.0))
                .unwrap_or_else(|| "—".into()),
            join(&rel.by_method.iter().map(|m| m.1).collect::<Vec<_>>()),
            rel.spread.map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into()),
            rel.abnormal_points,
            join(&rel.by_fit.iter().map(|m| m.1).collect::<Vec<_>>()),
        );
    }
    if !d.pairwise.is_empty() {
        let _ = writeln!(
            s,
            "\n### {}: paired comparisons across resamples\n\nP(A beats B): share of the resamples (images drawn with replacement, the same draw for every codec) where A's BD-rate against `{}` is lower than B's.\n\n| metric | A | B | P(A beats B) | resamples |\n|---|---|---|---:|---:|",
            d.dataset, d.anchor
        );
        for p in d.pairwise.iter().filter(|p| p.used > 0) {
            let _ = writeln!(s, "| {} | {} | {} | {:.3} | {} |", p.metric, p.a, p.b, p.p_a_better, p.used);
        }
    }
    s.push_str(&per_image_markdown(d));
    s
}

/// The per-image BD summary: per (codec, metric), the images with a value, the median, and
/// the images with the lowest and highest BD-rate.
fn per_image_markdown(d: &DatasetReport) -> String {
    let mut s = String::new();
    if d.per_image.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "\n### {}: per-image BD-rate vs `{}`\n\nEach image's own curves (its bpp and metric at each quality); all values in `per_image_bd.csv`, strip figures `{}-per-image-bd-<metric>`.\n\n| codec | metric | images with a value | median | lowest (image) | highest (image) |\n|---|---|---:|---:|---:|---:|",
        d.dataset, d.anchor, d.dataset
    );
    let keys = unique_pairs(d.per_image.iter().map(|p| (p.codec.as_str(), p.metric.as_str())));
    for (codec, metric) in keys {
        let mut vals: Vec<(f64, &str)> = d
            .per_image
            .iter()
            .filter(|p| p.codec == codec && p.metric == metric)
            .filter_map(|p| Some((p.bd_rate?, p.image.as_str())))
            .collect();
        let total = d.per_image.iter().filter(|p| p.codec == codec && p.metric == metric).count();
        vals.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (Some(lo), Some(hi)) = (vals.first(), vals.last()) else {
            let _ = writeln!(s, "| {codec} | {metric} | 0 of {total} | — | — | — |");
            continue;
        };
        let sorted: Vec<f64> = vals.iter().map(|v| v.0).collect();
        let _ = writeln!(
            s,
            "| {codec} | {metric} | {} of {total} | {:+.2} | {:+.2} ({}) | {:+.2} ({}) |",
            vals.len(),
            crate::bootstrap::quantile(&sorted, 0.5),
            lo.0,
            lo.1,
            hi.0,
            hi.1
        );
    }
    s
}

/// Distinct pairs in order of first appearance.
fn unique_pairs<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

pub use crate::bd::fmt_sig;

/// A metric value for tables (`inf` for lossless PSNR): 3 decimals from 1 up, 5 below.
pub fn fmt_value(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else if v.abs() >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.5}")
    }
}

/// A quality for tables: an integer without decimals, else as it is.
pub fn fmt_quality(q: f64) -> String {
    if q.fract() == 0.0 && q.abs() < 1e15 {
        format!("{}", q as i64)
    } else {
        format!("{q}")
    }
}

fn tex_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => format!("\\{c}"),
            '~' => "\\textasciitilde{}".into(),
            '^' => "\\textasciicircum{}".into(),
            '\\' => "\\textbackslash{}".into(),
            _ => c.to_string(),
        })
        .collect()
}

/// The BD tables as LaTeX (booktabs), best BD-rate per column in bold.
pub fn latex(r: &Report) -> String {
    let mut s = String::from("% Generated by icmbench. Needs \\usepackage{booktabs}.\n");
    for d in &r.datasets {
        let _ = writeln!(s, "\\begin{{table}}[t]\n\\centering");
        let _ = writeln!(
            s,
            "\\caption{{BD-rate (\\%) and, in parentheses, BD-metric versus {} on {} ({} interpolation; bpp: {}). Best in bold.}}",
            tex_escape(&d.anchor),
            tex_escape(&d.dataset),
            r.method.name(),
            tex_escape(r.bpp.describe())
        );
        let _ = writeln!(s, "\\begin{{tabular}}{{l{}}}\n\\toprule", "r".repeat(d.metrics.len()));
        let head: Vec<String> = d
            .metrics
            .iter()
            .zip(&d.lower_is_better)
            .map(|(m, l)| format!("{} {}", tex_escape(m), if *l { "$\\downarrow$" } else { "$\\uparrow$" }))
            .collect();
        let _ = writeln!(s, "Codec & {} \\\\\n\\midrule", head.join(" & "));
        for codec in d.codecs.iter().filter(|c| **c != d.anchor) {
            let cells: Vec<String> = d
                .metrics
                .iter()
                .map(|m| match d.cell(codec, m) {
                    Some(BdEntry {
                        bd_rate: Some(rate),
                        bd_metric: Some(dm),
                        ..
                    }) => {
                        let v = format!("{rate:+.2}");
                        let v = if d.best(m) == Some(codec.as_str()) {
                            format!("\\textbf{{{v}}}")
                        } else {
                            v
                        };
                        let flag = if d.flagged(codec, m) { "\\textsuperscript{\\dag}" } else { "" };
                        format!("{v}{flag} ({})", tex_escape(&fmt_metric_delta(*dm, m)))
                    }
                    _ if d.flagged(codec, m) => format!("{}\\textsuperscript{{\\dag}}", d.missing_text(codec, m)),
                    _ => "n/a".into(),
                })
                .collect();
            let _ = writeln!(s, "{} & {} \\\\", tex_escape(codec), cells.join(" & "));
        }
        let _ = writeln!(s, "\\bottomrule\n\\end{{tabular}}\n\\end{{table}}\n");
    }
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// BD cells as CSV (one row per dataset, codec, metric): the value, its interval and
/// P(better) when drawn, and the reliability note.
pub fn bd_csv(r: &Report) -> String {
    let mut s = String::from(
        "dataset,anchor,codec,metric,lower_is_better,method,bpp,monotone_fit,bd_rate_percent,bd_metric,bd_rate_low,bd_rate_high,bd_metric_low,bd_metric_high,p_better,resamples_used,confidence,points_anchor,points_codec,overlap_metric,overlap_log_rate,bd_rate_pchip,bd_rate_akima,bd_rate_cubic,method_spread,abnormal_points,bd_rate_flag,bd_rate_isotonic,bd_rate_mpeg_cubic,error,warnings\n",
    );
    for d in &r.datasets {
        for e in &d.bd {
            let lower = d.lower_is_better(&e.metric);
            let i = e.interval.as_ref();
            let rel = &e.reliability;
            let mut fields = vec![
                csv_field(&d.dataset),
                csv_field(&d.anchor),
                csv_field(&e.codec),
                csv_field(&e.metric),
                lower.to_string(),
                r.method.name().into(),
                match r.bpp {
                    BppConvention::Mean => "mean".into(),
                    BppConvention::Total => "total".into(),
                },
                r.monotone_fit.name().into(),
                opt(e.bd_rate),
                opt(e.bd_metric),
                opt(i.map(|i| i.bd_rate.0)),
                opt(i.map(|i| i.bd_rate.1)),
                opt(i.map(|i| i.bd_metric.0)),
                opt(i.map(|i| i.bd_metric.1)),
                opt(i.map(|i| i.p_better)),
                i.map(|i| i.used.to_string()).unwrap_or_default(),
                opt(d.resampling.map(|r| r.confidence)),
                rel.points.0.to_string(),
                rel.points.1.to_string(),
                opt(rel.overlap.map(|o| o.0)),
                opt(rel.overlap.map(|o| o.1)),
            ];
            fields.extend(rel.by_method.iter().map(|m| opt(m.1)));
            fields.push(opt(rel.spread));
            fields.push(rel.abnormal_points.to_string());
            fields.extend(rel.by_fit.iter().map(|m| opt(m.1)));
            fields.push(csv_field(e.error.as_deref().unwrap_or("")));
            fields.push(csv_field(&e.warnings.join("; ")));
            let _ = writeln!(s, "{}", fields.join(","));
        }
    }
    s
}

/// Each image's own BD as CSV (one row per dataset, codec, metric, image).
pub fn per_image_csv(r: &Report) -> String {
    let mut s = String::from("dataset,anchor,codec,metric,image,bd_rate_percent,bd_metric,error\n");
    for d in &r.datasets {
        for p in &d.per_image {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{}",
                csv_field(&d.dataset),
                csv_field(&d.anchor),
                csv_field(&p.codec),
                csv_field(&p.metric),
                csv_field(&p.image),
                opt(p.bd_rate),
                opt(p.bd_metric),
                csv_field(p.error.as_deref().unwrap_or(""))
            );
        }
    }
    s
}

/// The paired comparisons as CSV (one row per dataset, metric and ordered pair of codecs).
pub fn pairwise_csv(r: &Report) -> String {
    let mut s = String::from("dataset,anchor,metric,codec_a,codec_b,p_a_better,resamples_used\n");
    for d in &r.datasets {
        for p in &d.pairwise {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{}",
                csv_field(&d.dataset),
                csv_field(&d.anchor),
                csv_field(&p.metric),
                csv_field(&p.a),
                csv_field(&p.b),
                p.p_a_better,
                p.used
            );
        }
    }
    s
}

/// Aggregated points as CSV: counts, both bpp conventions, times, mean/median/std per metric.
pub fn points_csv(points: &[Point]) -> String {
    let metrics = unique(points.iter().flat_map(|p| p.metrics.keys().map(String::as_str)));
    let mut s = String::from("dataset,codec,quality,ok,failed,bpp_mean,bpp_total,bpp_estimated,encode_ms,decode_ms");
    for m in &metrics {
        let _ = write!(s, ",{m}_mean,{m}_median,{m}_std");
    }
    s.push('\n');
    for p in points {
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{},{}",
            csv_field(&p.dataset),
            csv_field(&p.codec),
            p.quality,
            p.ok,
            p.failed,
            opt(p.bpp_mean),
            opt(p.bpp_total),
            opt(p.bpp_estimated),
            opt(p.encode_ms),
            opt(p.decode_ms)
        );
        for m in &metrics {
            match p.metrics.get(m) {
                Some(st) => {
                    let _ = write!(s, ",{},{},{}", st.mean, st.median, st.std);
                }
                None => s.push_str(",,,"),
            }
        }
        s.push('\n');
    }
    s
}

/// A table file with every table marked as holding partial results (`note` says why):
/// Markdown (a quoted line before each table), HTML (a paragraph before each `<table>`),
/// LaTeX (a line in each table's float) and CSV (a `partial` column, when no field spans
/// lines). `name` is the file's name, which says its kind; other files are returned as
/// they are.
pub fn mark_partial(name: &str, text: &str, note: &str) -> String {
    let ext = name.rsplit('.').next().unwrap_or_default();
    match ext {
        "md" => {
            let mut out = String::new();
            let mut previous_in_table = false;
            for line in text.lines() {
                let in_table = line.starts_with('|');
                if in_table && !previous_in_table {
                    let _ = writeln!(out, "> **{note}**\n");
                }
                previous_in_table = in_table;
                out.push_str(line);
                out.push('\n');
            }
            format!("> **{note}**\n\n{out}")
        }
        "html" => text.replace(
            "<table>",
            &format!("<p class=\"partial\"><strong>{}</strong></p>\n<table>", html_escape(note)),
        ),
        "tex" => text.replace("\\centering\n", &format!("\\centering\n\\textbf{{{}}}\\\\\n", tex_escape(note))),
        "csv" if text.lines().all(|l| l.matches('"').count() % 2 == 0) => {
            let mut lines = text.lines();
            let mut out = lines.next().map(|h| format!("{h},partial\n")).unwrap_or_default();
            for line in lines {
                let _ = writeln!(out, "{line},{}", csv_field(note));
            }
            out
        }
        _ => text.to_string(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// Every table of every kind says the results are partial; a CSV whose fields span
    /// lines is left as it is rather than broken.
    #[test]
    fn partial_results_are_marked_above_every_table() {
        let note = "PARTIAL: shard 1-of-3 missing";
        let md = mark_partial("report.md", "# x\n\n| a |\n|---|\n| 1 |\n\ntext\n| b |\n|---|\n", note);
        assert_eq!(md.matches(note).count(), 3, "{md}");
        assert!(md.contains(&format!("> **{note}**\n\n| a |")), "{md}");
        let html = mark_partial("report.html", "<table><tr></tr></table><p/><table></table>", note);
        assert_eq!(html.matches("class=\"partial\"").count(), 2);
        let tex = mark_partial("report.tex", "\\begin{table}[t]\n\\centering\n\\begin{tabular}", note);
        assert!(
            tex.contains("\\centering\n\\textbf{PARTIAL: shard 1-of-3 missing}\\\\\n\\begin{tabular}"),
            "{tex}"
        );
        let csv = mark_partial("bd.csv", "a,b\n1,2\n3,\"x, y\"\n", note);
        assert_eq!(csv, format!("a,b,partial\n1,2,{note}\n3,\"x, y\",{note}\n"));
        let spanning = "a,b\n1,\"two\nlines\"\n";
        assert_eq!(mark_partial("bd.csv", spanning, note), spanning);
        assert_eq!(mark_partial("figure.svg", "<svg/>", note), "<svg/>");
    }

    use super::*;
    use crate::aggregate::Stats;

    fn point(codec: &str, q: f64, bpp: f64, psnr: f64, lpips: f64) -> Point {
        let st = |v: f64| Stats {
            mean: v,
            median: v,
            std: 0.0,
        };
        Point {
            dataset: "kodak".into(),
            codec: codec.into(),
            quality: q,
            ok: 24,
            failed: 0,
            bpp_mean: Some(bpp),
            bpp_total: Some(bpp * 1.01),
            bpp_estimated: None,
            encode_ms: None,
            decode_ms: None,
            metrics: BTreeMap::from([("psnr-rgb".to_string(), st(psnr)), ("lpips".to_string(), st(lpips))]),
        }
    }

    fn points() -> Vec<Point> {
        let mut v = Vec::new();
        for (i, (bpp, psnr, lp)) in [(0.2, 28.0, 0.40), (0.4, 31.0, 0.30), (0.8, 34.0, 0.20), (1.6, 37.0, 0.10)]
            .into_iter()
            .enumerate()
        {
            v.push(point("jpeg", i as f64, bpp, psnr, lp));
            v.push(point("good", i as f64, bpp * 0.7, psnr, lp));
            v.push(point("bumpy", i as f64, bpp, psnr + [0.0, 3.5, 0.0, 0.0][i], lp));
        }
        v
    }

    #[test]
    fn tables_mark_the_best_and_flag_abnormal_curves() {
        let r = build(
            &points(),
            &ReportOptions {
                anchor: Some("jpeg".into()),
                ..Default::default()
            },
            &|m| m == "lpips",
        )
        .unwrap();
        let d = &r.datasets[0];
        assert_eq!(d.codecs, ["jpeg", "good", "bumpy"]);
        let good = d.cell("good", "lpips").unwrap();
        assert!((good.bd_rate.unwrap() + 30.0).abs() < 1e-9, "{good:?}");
        assert!(good.bd_metric.unwrap() < 0.0, "lower LPIPS is better: {good:?}");
        assert!(
            d.cell("bumpy", "psnr-rgb")
                .unwrap()
                .error
                .as_deref()
                .unwrap()
                .contains("not monotone")
        );
        assert_eq!(d.best("psnr-rgb"), Some("good"));
        let md = markdown(&r);
        assert!(
            md.contains("| good | **-30.00 %* (-0.0515)**") && md.contains("| abnormal † |") && md.contains("lpips ↓"),
            "{md}"
        );
        assert!(d.is_abnormal("bumpy", "psnr-rgb") && !d.is_abnormal("bumpy", "lpips"));
        assert!(
            md.contains("† bumpy / psnr-rgb is not monotone in rate: (0.4 bpp, 34.5) → (0.8 bpp, 34); BD cells using it have no value"),
            "{md}"
        );
        assert_eq!(
            md.matches("bumpy / psnr-rgb is not monotone").count(),
            2,
            "one short line, once in the details: {md}"
        );
        assert!(
            md.contains("<details><summary>Every note on the BD cells") && md.contains("bumpy / psnr-rgb: curve `bumpy` is not monotone"),
            "{md}"
        );
        let notes = d.table_notes(r.monotone_fit, r.method);
        assert!(
            !notes.short.iter().any(|n| n.contains("curve `bumpy`")),
            "the abnormal line says it once: {notes:?}"
        );
        let tex = latex(&r);
        assert!(
            tex.contains("\\textbf{-30.00}") && tex.contains("\\toprule") && tex.contains("lpips $\\downarrow$"),
            "{tex}"
        );
        let csv = bd_csv(&r);
        assert_eq!(csv.lines().count(), 1 + 4);
        assert!(points_csv(&d.points).starts_with("dataset,codec,quality,ok,failed,bpp_mean,bpp_total"));
    }

    #[test]
    fn notes_on_long_abnormal_curves_are_short() {
        let mut pts = points();
        // 200 points, every other one a dip.
        for i in 0..200 {
            pts.push(point(
                "zig",
                i as f64,
                0.1 + i as f64 * 0.01,
                30.0 + i as f64 - (i % 2) as f64 * 1.5,
                0.5,
            ));
        }
        let r = build(&pts, &ReportOptions::default(), &|m| m == "lpips").unwrap();
        let d = &r.datasets[0];
        let notes = d.abnormal_notes(r.monotone_fit, r.method);
        let zig = notes.iter().find(|n| n.contains("zig / psnr-rgb")).unwrap();
        assert!(zig.len() < 300 && zig.contains("… and 195 more"), "{zig}");
        assert_eq!(
            d.abnormal.iter().find(|a| a.codec == "zig").unwrap().points.len(),
            200,
            "the data keep every point"
        );
        let cell = d.cell("zig", "psnr-rgb").unwrap().error.clone().unwrap();
        assert!(cell.len() < 400 && cell.contains("… and"), "{cell}");
    }

    #[test]
    fn monotone_fit_and_unknown_anchor() {
        let opts = ReportOptions {
            monotone_fit: MonotoneFit::Isotonic,
            ..Default::default()
        };
        let r = build(&points(), &opts, &|m| m == "lpips").unwrap();
        assert_eq!(r.datasets[0].anchor, "jpeg");
        let cell = r.datasets[0].cell("bumpy", "psnr-rgb").unwrap();
        assert!(cell.bd_rate.is_some() && !cell.warnings.is_empty(), "{cell:?}");
        let err = build(
            &points(),
            &ReportOptions {
                anchor: Some("vtm".into()),
                ..Default::default()
            },
            &|_| false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`vtm` not found") && err.contains("jpeg, good, bumpy"), "{err}");
    }
}
