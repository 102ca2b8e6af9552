//! The LL-ICM summary: a dataset whose rows include reference rows is a low-level task
//! (its name is the task's name). The summary table has rows = codecs and columns =
//! task × metric, cells = BD-rate against each task's anchor, best per column in bold,
//! abnormal (non-monotone) curves flagged with † and listed under the table; a second table
//! gives the reference values per task × metric.

use std::fmt::Write;

use crate::report::{DatasetReport, Report, fmt_value};

pub use crate::store::{REFERENCE_KIND, Reference, is_reference};

/// Reference row: the task model on the uncompressed degraded input.
pub const REF_UNCOMPRESSED: &str = Reference::TaskOnUncompressed.name();
/// Reference row: the degraded input without any task (bicubic-resized to the target's
/// size when they differ).
pub const REF_DEGRADED: &str = Reference::DegradedInput.name();

/// The low-level tasks of a report (datasets with reference rows), in report order.
pub fn tasks(r: &Report) -> Vec<&DatasetReport> {
    r.datasets.iter().filter(|d| is_task(d)).collect()
}

/// Whether a dataset of a report is a low-level task (it has reference rows).
pub fn is_task(d: &DatasetReport) -> bool {
    !d.references.is_empty()
}

/// (task, metric) columns of the summary.
pub(crate) fn columns<'a>(tasks: &[&'a DatasetReport]) -> Vec<(&'a DatasetReport, usize)> {
    tasks.iter().flat_map(|d| (0..d.metrics.len()).map(move |i| (*d, i))).collect()
}

/// Codecs of the summary rows: every task's codecs but its anchor, in order of appearance.
pub(crate) fn codec_rows(tasks: &[&DatasetReport]) -> Vec<String> {
    crate::report::unique(
        tasks
            .iter()
            .flat_map(|d| d.codecs.iter().filter(move |c| **c != d.anchor).map(String::as_str)),
    )
}

/// The header of a summary column: `task metric ↑|↓`.
pub(crate) fn header(d: &DatasetReport, i: usize) -> String {
    format!("{} {} {}", d.dataset, d.metrics[i], if d.lower_is_better[i] { "↓" } else { "↑" })
}

/// One summary cell without markup: the BD-rate (`*` for a warning) or why there is none,
/// whether it is the best of its column, and the abnormal flag (` †` or empty).
pub(crate) fn cell_parts(d: &DatasetReport, codec: &str, metric: &str) -> (String, bool, &'static str) {
    let flag = if d.flagged(codec, metric) { " †" } else { "" };
    let entry = d.cell(codec, metric);
    let warn = if entry.is_some_and(|c| !c.warnings.is_empty()) { "*" } else { "" };
    match entry.and_then(|c| c.bd_rate) {
        Some(rate) => (format!("{rate:+.2} %{warn}"), d.best(metric) == Some(codec), flag),
        None if !d.codecs.iter().any(|c| c == codec) => ("-".into(), false, ""),
        None => (d.missing_text(codec, metric).into(), false, flag),
    }
}

/// The BD-rate text of one summary cell (Markdown: the best in bold).
pub fn cell(d: &DatasetReport, codec: &str, metric: &str) -> String {
    match cell_parts(d, codec, metric) {
        (text, true, flag) => format!("**{text}**{flag}"),
        (text, false, flag) => format!("{text}{flag}"),
    }
}

/// The summary as Markdown (`None` without low-level tasks).
pub fn markdown(r: &Report) -> Option<String> {
    let tasks = tasks(r);
    if tasks.is_empty() {
        return None;
    }
    let cols = columns(&tasks);
    let anchors = crate::report::unique(tasks.iter().map(|d| d.anchor.as_str()));
    let head: Vec<String> = cols.iter().map(|(d, i)| header(d, *i)).collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## LL-ICM summary: BD-rate per task vs `{}`\n\nRows: codecs; columns: task × metric on the task model's output (full-reference metrics against the ideal image). Cells: BD-rate in % over the rate–perception curve (negative = fewer bits for the same quality). {} interpolation; bpp = {} of the degraded input. Best per column in bold; * = value with a warning (see the task's notes); † = abnormal (non-monotone) curve of the codec or the anchor, kept and listed below; n/a = no value (see the task's notes).\n",
        anchors.join("`, `"),
        r.method.name(),
        r.bpp.describe()
    );
    let _ = writeln!(s, "| codec | {} |", head.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(cols.len()));
    for codec in codec_rows(&tasks) {
        let cells: Vec<String> = cols.iter().map(|(d, i)| cell(d, &codec, &d.metrics[*i])).collect();
        let _ = writeln!(s, "| {codec} | {} |", cells.join(" | "));
    }
    let notes: Vec<String> = tasks
        .iter()
        .flat_map(|d| {
            d.abnormal_notes(r.monotone_fit, r.method)
                .into_iter()
                .map(move |n| format!("{}: {n}", d.dataset))
        })
        .collect();
    if !notes.is_empty() {
        s.push('\n');
        for n in notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    let _ = writeln!(
        s,
        "\n### Reference values (means over images, no compression)\n\n`{REF_UNCOMPRESSED}`: the task model on the uncompressed degraded input; `{REF_DEGRADED}`: the degraded input without any task (bicubic-resized to the ideal image's size where they differ).\n"
    );
    let _ = writeln!(s, "| reference | {} |", head.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(cols.len()));
    for reference in [REF_UNCOMPRESSED, REF_DEGRADED] {
        let cells: Vec<String> = cols
            .iter()
            .map(|(d, i)| reference_value(d, reference, &d.metrics[*i]).map_or_else(|| "-".into(), fmt_value))
            .collect();
        let _ = writeln!(s, "| {reference} | {} |", cells.join(" | "));
    }
    s.push('\n');
    Some(s)
}

/// The whole Markdown report: the LL-ICM summary (when there are low-level tasks), then
/// the per-dataset tables.
pub fn report_markdown(r: &Report) -> String {
    markdown(r).unwrap_or_default() + &crate::report::markdown(r)
}

/// The mean of a metric over a task's reference rows.
pub fn reference_value(d: &DatasetReport, reference: &str, metric: &str) -> Option<f64> {
    d.points
        .iter()
        .find(|p| p.codec == reference)
        .and_then(|p| p.metrics.get(metric))
        .map(|s| s.mean)
        .filter(|v| !v.is_nan())
}

/// The summary as CSV: `task,metric,codec,bd_rate,abnormal,value` (BD rows for codecs,
/// value rows for references).
pub fn csv(r: &Report) -> String {
    let mut s = String::from("task,metric,codec,bd_rate,abnormal,value\n");
    let tasks = tasks(r);
    for (d, i) in columns(&tasks) {
        let m = &d.metrics[i];
        for codec in d.codecs.iter().filter(|c| **c != d.anchor) {
            let rate = d.cell(codec, m).and_then(|c| c.bd_rate).map_or(String::new(), |v| v.to_string());
            let _ = writeln!(s, "{},{m},{codec},{rate},{},", d.dataset, d.flagged(codec, m));
        }
        for reference in [REF_UNCOMPRESSED, REF_DEGRADED] {
            if let Some(v) = reference_value(d, reference, m) {
                let _ = writeln!(s, "{},{m},{reference},,,{v}", d.dataset);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::aggregate::{Point, Stats};
    use crate::report::{ReportOptions, build};

    fn point(dataset: &str, codec: &str, q: f64, bpp: Option<f64>, psnr: f64) -> Point {
        Point {
            dataset: dataset.into(),
            codec: codec.into(),
            quality: q,
            ok: 1,
            failed: 0,
            bpp_mean: bpp,
            bpp_total: bpp,
            bpp_estimated: None,
            encode_ms: None,
            decode_ms: None,
            metrics: BTreeMap::from([(
                "psnr-rgb".to_string(),
                Stats {
                    mean: psnr,
                    median: psnr,
                    std: f64::NAN,
                },
            )]),
        }
    }

    #[test]
    fn summary_has_task_columns_references_and_flags() {
        let mut pts = Vec::new();
        for (task, bump) in [("sr-x4", 0.0), ("denoise", 2.0)] {
            for (i, bpp) in [0.2, 0.4, 0.8, 1.6].into_iter().enumerate() {
                let q = i as f64;
                pts.push(point(task, "jpeg", q, Some(bpp), 24.0 + q));
                pts.push(point(task, "webp", q, Some(bpp * 0.8), 24.0 + q + if i == 2 { bump } else { 0.0 }));
            }
            pts.push(point(task, REF_UNCOMPRESSED, 0.0, None, 29.5));
            pts.push(point(task, REF_DEGRADED, 0.0, None, 22.25));
        }
        pts.push(point("plain", "jpeg", 1.0, Some(1.0), 30.0));
        let r = build(&pts, &ReportOptions::default(), &|_| false).unwrap();
        assert_eq!(tasks(&r).len(), 2);
        assert_eq!(r.datasets[0].codecs, ["jpeg", "webp"]);
        assert_eq!(r.datasets[0].references, [REF_UNCOMPRESSED, REF_DEGRADED]);
        let md = markdown(&r).unwrap();
        assert!(md.contains("| codec | sr-x4 psnr-rgb ↑ | denoise psnr-rgb ↑ |"), "{md}");
        // webp: 20 % fewer bits everywhere on sr-x4; on denoise its third point jumps, so
        // the curve is not monotone (24, 25, 28, 27) and flagged, not dropped.
        assert!(md.contains("| webp | **-20.00 %** | abnormal † |"), "{md}");
        assert!(md.contains("denoise: † webp / psnr-rgb is not monotone in rate"), "{md}");
        assert!(md.contains("| task-on-uncompressed | 29.500 | 29.500 |"), "{md}");
        assert!(md.contains("| degraded-input | 22.250 | 22.250 |"), "{md}");
        let csv = csv(&r);
        let webp: Vec<&str> = csv
            .lines()
            .find(|l| l.starts_with("sr-x4,psnr-rgb,webp,"))
            .unwrap()
            .split(',')
            .collect();
        assert!((webp[3].parse::<f64>().unwrap() + 20.0).abs() < 1e-9 && webp[4] == "false", "{csv}");
        assert!(csv.contains("denoise,psnr-rgb,webp,,true,"), "{csv}");
        assert!(csv.contains("sr-x4,psnr-rgb,degraded-input,,,22.25"), "{csv}");
        let only_plain = build(&pts[pts.len() - 1..], &ReportOptions::default(), &|_| false).unwrap();
        assert!(markdown(&only_plain).is_none());
    }
}
