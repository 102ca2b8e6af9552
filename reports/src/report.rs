//! Paper-style tables from aggregated points: per dataset, rows = codecs, columns =
//! metrics, cells = BD-rate against the anchor codec with the BD-metric beside it, the best
//! BD-rate of each column marked; plus per-quality tables. Rendered as Markdown, LaTeX
//! (booktabs, best in bold), CSV and JSON from one [`Report`] value.

use std::fmt::Write;

use serde::Serialize;

use crate::ReportError;
use crate::aggregate::{BppConvention, Point};
use crate::bd::{BdError, BdOptions, Curve, Method, bd};

/// Options for building a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Anchor codec id (default: the first codec of each dataset).
    pub anchor: Option<String>,
    /// BD interpolation method.
    pub method: Method,
    /// Which bpp the tables and BD computations use.
    pub bpp: BppConvention,
    /// Fit non-monotone curves isotonically instead of reporting them as abnormal.
    pub monotone_fit: bool,
    /// Minimum range overlap for BD values.
    pub min_overlap: f64,
    /// Metrics to report (default: all present).
    pub metrics: Option<Vec<String>>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            anchor: None,
            method: Method::Pchip,
            bpp: BppConvention::Mean,
            monotone_fit: false,
            min_overlap: crate::bd::DEFAULT_MIN_OVERLAP,
            metrics: None,
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
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// BD method.
    pub method: Method,
    /// bpp convention of every table.
    pub bpp: BppConvention,
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
                let bd_opts = BdOptions {
                    method: opts.method,
                    lower_is_better: lower,
                    monotone_fit: opts.monotone_fit,
                    min_overlap: opts.min_overlap,
                };
                cells.push(match bd(a, t, &bd_opts) {
                    Ok(r) => BdEntry {
                        codec: codec.clone(),
                        metric: metric.clone(),
                        bd_rate: Some(r.bd_rate),
                        bd_metric: Some(r.bd_metric),
                        error: None,
                        warnings: r.warnings,
                        not_monotone: false,
                    },
                    Err(e) => BdEntry {
                        codec: codec.clone(),
                        metric: metric.clone(),
                        bd_rate: None,
                        bd_metric: None,
                        error: Some(e.to_string()),
                        warnings: Vec::new(),
                        not_monotone: matches!(e, BdError::NotMonotone { .. }),
                    },
                });
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
        });
    }
    Ok(Report {
        method: opts.method,
        bpp: opts.bpp,
        datasets,
        partial: None,
    })
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

    /// One line per abnormal curve, for the notes under a table.
    pub fn abnormal_notes(&self) -> Vec<String> {
        self.abnormal
            .iter()
            .map(|a| {
                let pts = crate::bd::list_points(&a.points, |(r, m)| format!("({r:.4}, {})", fmt_value(*m)), " -> ");
                format!(
                    "† abnormal curve {} / {}: not monotone in rate at (bpp, value) {pts}",
                    a.codec, a.metric
                )
            })
            .collect()
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

    /// The text of a BD cell, `-12.34 % (+0.520 dB)` (a `*` after % marks a warning), and
    /// whether it is the best of its column; `None` when there is no value.
    pub fn cell_text(&self, codec: &str, metric: &str) -> Option<(String, bool)> {
        match self.cell(codec, metric) {
            Some(BdEntry {
                bd_rate: Some(rate),
                bd_metric: Some(dm),
                warnings,
                ..
            }) => {
                let mark = if warnings.is_empty() { "" } else { "*" };
                Some((
                    format!("{rate:+.2} %{mark} ({})", fmt_metric_delta(*dm, metric)),
                    self.best(metric) == Some(codec),
                ))
            }
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

fn arrow(lower: bool) -> &'static str {
    if lower { "↓" } else { "↑" }
}

/// The report as Markdown: a BD table and a per-quality table per dataset.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    for d in &r.datasets {
        let _ = writeln!(
            s,
            "## {}: BD-rate vs `{}`\n\nCells: BD-rate in % (negative = fewer bits than the anchor for the same quality), BD-metric in parentheses (test − anchor). {} interpolation; bpp = {}. Best BD-rate per column in bold; † = abnormal (non-monotone) curve of the codec or the anchor, n/a = no value (see notes).\n",
            d.dataset,
            d.anchor,
            r.method.name(),
            r.bpp.describe()
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
        let mut notes = d.abnormal_notes();
        notes.extend(d.notes());
        if !notes.is_empty() {
            let _ = writeln!(s, "\nNotes (* = value with a warning):\n");
            for n in notes {
                let _ = writeln!(s, "- {n}");
            }
        }
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

/// A metric value for tables (`inf` for lossless PSNR).
pub fn fmt_value(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else if v.abs() >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.5}")
    }
}

pub(crate) fn fmt_quality(q: f64) -> String {
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

/// BD cells as CSV (one row per dataset, codec, metric).
pub fn bd_csv(r: &Report) -> String {
    let mut s = String::from("dataset,anchor,codec,metric,lower_is_better,method,bpp,bd_rate_percent,bd_metric,error,warnings\n");
    for d in &r.datasets {
        for e in &d.bd {
            let lower = d
                .metrics
                .iter()
                .position(|m| *m == e.metric)
                .map(|i| d.lower_is_better[i])
                .unwrap_or(false);
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&d.dataset),
                csv_field(&d.anchor),
                csv_field(&e.codec),
                csv_field(&e.metric),
                lower,
                r.method.name(),
                match r.bpp {
                    BppConvention::Mean => "mean",
                    BppConvention::Total => "total",
                },
                opt(e.bd_rate),
                opt(e.bd_metric),
                csv_field(e.error.as_deref().unwrap_or("")),
                csv_field(&e.warnings.join("; "))
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
            md.contains("† abnormal curve bumpy / psnr-rgb: not monotone in rate at (bpp, value) (0.4000, 34.500) -> (0.8000, 34.000)"),
            "{md}"
        );
        assert!(md.contains("bumpy / psnr-rgb: curve `bumpy` is not monotone"), "{md}");
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
        let notes = d.abnormal_notes();
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
            monotone_fit: true,
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
