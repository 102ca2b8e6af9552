//! Printing results for people (aligned tables with the metric conventions) and for
//! programs (`--json`).

use std::fmt::Write;

use icmbench_reports::aggregate::Point;
use icmbench_reports::results::ResultRow;

pub use icmbench_reports::report::fmt_value;

/// A JSON number, or `null` for non-finite values (JSON has no infinity).
pub fn json_number(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// The summary as an aligned text table, followed by the metric conventions.
pub fn summary_table(lines: &[Point], metrics: &[String]) -> String {
    let mut header = vec![
        "dataset".to_string(),
        "codec".into(),
        "quality".into(),
        "ok".into(),
        "failed".into(),
        "bpp(mean)".into(),
        "bpp(total)".into(),
    ];
    let estimates = lines.iter().any(|l| l.bpp_estimated.is_some());
    if estimates {
        header.push("bpp(est.)".into());
    }
    header.extend(metrics.iter().cloned());
    let mut table: Vec<Vec<String>> = vec![header];
    for l in lines {
        let mut row = vec![
            l.dataset.clone(),
            l.codec.clone(),
            icmbench_codecs::external::format_quality(l.quality),
            l.ok.to_string(),
            l.failed.to_string(),
            l.bpp_mean.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into()),
            l.bpp_total.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into()),
        ];
        if estimates {
            row.push(l.bpp_estimated.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into()));
        }
        row.extend(
            metrics
                .iter()
                .map(|m| l.metrics.get(m).map(|v| fmt_value(v.mean)).unwrap_or_else(|| "-".into())),
        );
        table.push(row);
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|c| table.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in table.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (v, w))| if c < 2 { format!("{v:<w$}") } else { format!("{v:>w$}") })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        if i == 0 {
            let _ = writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
        }
    }
    out.push_str("bpp(mean): mean of per-image bpp (CompressAI); bpp(total): total bits / total pixels (CompressAI-Vision); bytes include the file container.\n");
    if estimates {
        out.push_str("bpp(est.): learned codecs' estimated rate, -log2 of the likelihoods of the coded latents (mean of per-image values); the actual bpp counts the real bitstream.\n");
    }
    for m in metrics {
        if let Some(metric) = icmbench_metrics::catalogue::find(m) {
            let _ = writeln!(out, "{m}: {}", metric.convention);
        }
    }
    out
}

/// One line describing a failed row: `FAILED dataset/image codec=.. quality=..: error`.
pub fn failure_line(r: &ResultRow) -> String {
    format!(
        "FAILED {}/{} codec={} quality={}: {}",
        r.dataset,
        r.image,
        r.codec,
        icmbench_codecs::external::format_quality(r.quality),
        r.error.as_deref().unwrap_or("unknown error")
    )
}

/// One line per failed row.
pub fn failure_lines(failures: &[&ResultRow]) -> String {
    failures.iter().map(|r| failure_line(r) + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinite_values_print_and_serialise() {
        assert_eq!(fmt_value(f64::INFINITY), "inf");
        assert_eq!(fmt_value(31.41592), "31.416");
        assert_eq!(json_number(f64::INFINITY), serde_json::Value::Null);
        assert_eq!(json_number(1.5), serde_json::json!(1.5));
    }
}
