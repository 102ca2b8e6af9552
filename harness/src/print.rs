//! Printing results for people (aligned tables with the metric conventions) and for
//! programs (`--json`): the run summary, failures, `score` and `eval-map`.

use std::fmt::Write;
use std::path::Path;

use icmbench_metrics::coco::{FileEvaluation, IouType, STAT_NAMES};
use icmbench_reports::aggregate::Point;
use icmbench_reports::store::ResultRow;
use serde_json::{Value, json};

use crate::run::RunOutcome;

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

/// The `--json` output of `icmbench run`: the output folder, row counts, one summary per
/// point and every failed row.
pub fn run_json(output: &Path, outcome: &RunOutcome, lines: &[Point]) -> Value {
    let summary: Vec<_> = lines
        .iter()
        .map(|l| {
            json!({
                "dataset": l.dataset, "codec": l.codec, "quality": l.quality, "ok": l.ok, "failed": l.failed,
                "bpp_mean": l.bpp_mean, "bpp_total": l.bpp_total, "bpp_estimated": l.bpp_estimated,
                "metrics": l.metrics.iter().map(|(k, v)| (k.clone(), json_number(v.mean))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let failures: Vec<_> = outcome
        .failures()
        .iter()
        .map(|r| json!({"dataset": r.dataset, "image": r.image, "codec": r.codec, "quality": r.quality, "error": r.error}))
        .collect();
    json!({
        "output": output.display().to_string(),
        "rows": outcome.rows.len(), "computed": outcome.computed, "reused": outcome.reused,
        "summary": summary,
        "failures": failures,
        "time": {
            "wall_seconds": outcome.wall_seconds, "rows_seconds": outcome.rows_seconds,
            "threads": outcome.threads, "busy": outcome.busy, "device": outcome.device.to_string(),
            "stages": outcome.stages,
        },
    })
}

/// `run --stages`: one line per stage, the longest first, with its share of the run's
/// thread-seconds, then the wall time and how busy the threads were.
pub fn stages_table(outcome: &RunOutcome) -> String {
    let total: f64 = outcome.stages.iter().map(|s| s.seconds).sum();
    let mut out = format!(
        "{:<36} {:>10} {:>7} {:>8} {:>11}\n",
        "stage", "seconds", "share", "calls", "ms/call"
    );
    for s in &outcome.stages {
        let share = if total > 0.0 { 100.0 * s.seconds / total } else { 0.0 };
        let per_call = 1e3 * s.seconds / s.calls.max(1) as f64;
        let _ = writeln!(
            out,
            "{:<36} {:>10.3} {:>6.1}% {:>8} {:>11.2}",
            s.stage, s.seconds, share, s.calls, per_call
        );
    }
    let _ = write!(
        out,
        "wall {:.2} s (rows {:.2} s on {} threads",
        outcome.wall_seconds, outcome.rows_seconds, outcome.threads
    );
    if let Some(b) = outcome.busy {
        let _ = write!(out, ", busy {:.0}%", 100.0 * b);
    }
    let _ = writeln!(out, "; ONNX models on {})", outcome.device);
    out
}

/// The `--json` output of `icmbench score`; an infinite value (identical images) is `null`
/// with a note.
pub fn score_json(metric: &str, value: f64) -> Value {
    let mut out = json!({"metric": metric, "value": json_number(value)});
    if value.is_infinite() {
        out["note"] = json!("infinite: the images are identical");
    }
    out
}

/// The `--json` output of `icmbench bd`: the BD-rate in percent and the BD-metric.
pub fn bd_json(r: &icmbench_reports::bd::BdResult) -> Value {
    json!({"bd_rate": r.bd_rate, "bd_metric": r.bd_metric})
}

/// The `--json` output of `icmbench eval-map`: the 12 statistics with their names.
pub fn eval_map_json(e: &FileEvaluation, iou: IouType) -> Value {
    let values: Vec<Value> = e.stats.iter().map(|&v| json_number(v)).collect();
    json!({ "stats": values, "iou_type": iou_name(iou), "names": *STAT_NAMES, "warnings": e.warnings })
}

/// The text output of `icmbench eval-map`: one statistic per line, then the protocol.
pub fn eval_map_text(e: &FileEvaluation, iou: IouType) -> String {
    let mut out = String::new();
    for (name, v) in STAT_NAMES.iter().zip(e.stats) {
        let _ = writeln!(out, "{name:<12} {v:.6}");
    }
    let _ = writeln!(
        out,
        "COCO protocol (pycocotools COCOeval via hotcoco), iou type {}; -1 = no ground truth for that statistic",
        iou_name(iou)
    );
    out
}

/// `bbox` or `segm`, as given on the command line.
fn iou_name(iou: IouType) -> &'static str {
    match iou {
        IouType::Segm => "segm",
        _ => "bbox",
    }
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
