//! The SA-ICM task report, from each task's evaluation per point (dataset, codec, quality):
//! the table of task models against rate points with each task's BD-rate (SA-ICM-v2's
//! table), the classes that lose most AP as the rate falls, TIDE's error types per point,
//! AP by object size, their CSV files, and the TIDE figure (cumulative ΔAP per error type
//! against rate). The evaluations themselves (hotcoco's per-class AP, TIDE, recall) are
//! made by the harness from the stored task outputs; nothing here runs a model.

use std::collections::BTreeMap;
use std::fmt::Write;

use icmbench_metrics::coco::{Analysis, TIDE_TYPES};

use crate::aggregate::{BppConvention, Point};
use crate::plot::{Chart, Series, SeriesKind};
use crate::report::{Report, fmt_quality, fmt_value, unique};

/// One task's evaluation at one point, for one IoU type.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPoint {
    /// Task name.
    pub task: String,
    /// Training regime label (`frozen`, `fine-tuned-on-decoded`, …).
    pub regime: String,
    /// The model's identity (name, weights hash, contract hash, regime).
    pub model: String,
    /// A privacy task (faces): its value is recall, lower is more private.
    pub privacy: bool,
    /// Dataset.
    pub dataset: String,
    /// Codec id.
    pub codec: String,
    /// Quality.
    pub quality: f64,
    /// `bbox` or `segm`.
    pub iou: String,
    /// The point's columns from this evaluation, main one first (`map@NAME` then
    /// `map50@NAME`; `segm_map@NAME`, …; `face_recall@NAME`): the main one is the metric of
    /// the task's curve and BD-rate in these tables.
    pub columns: Vec<(String, f64)>,
    /// hotcoco's analysis.
    pub analysis: Analysis,
}

impl TaskPoint {
    /// The main column's name.
    pub fn metric(&self) -> &str {
        self.columns.first().map_or("", |c| c.0.as_str())
    }

    /// The main column's value (AP@[.5:.95], or recall@.5 for faces).
    pub fn value(&self) -> f64 {
        self.columns.first().map_or(f64::NAN, |c| c.1)
    }

    /// The task's row label in tables: name, regime and what is measured.
    pub fn label(&self) -> String {
        let what = if self.privacy { "face recall" } else { self.iou.as_str() };
        format!("{} ({}, {what})", self.task, self.regime)
    }
}

/// The rate of a point in the report's convention.
fn rate(points: &[Point], t: &TaskPoint, bpp: BppConvention) -> Option<f64> {
    points
        .iter()
        .find(|p| p.dataset == t.dataset && p.codec == t.codec && p.quality == t.quality)
        .and_then(|p| bpp.pick(p))
}

/// The task points of one (dataset, codec, metric) in rate order (highest rate first).
fn by_rate<'a>(tasks: &'a [TaskPoint], points: &[Point], bpp: BppConvention, key: (&str, &str, &str)) -> Vec<(Option<f64>, &'a TaskPoint)> {
    let mut v: Vec<(Option<f64>, &TaskPoint)> = tasks
        .iter()
        .filter(|t| (t.dataset.as_str(), t.codec.as_str(), t.metric()) == key)
        .map(|t| (rate(points, t, bpp), t))
        .collect();
    v.sort_by(|a, b| b.0.unwrap_or(f64::NAN).total_cmp(&a.0.unwrap_or(f64::NAN)));
    v
}

/// A statistic in a table: pycocotools' −1 (no ground-truth object of that kind) as `—`.
fn stat(v: f64) -> String {
    if v < 0.0 { "—".into() } else { fmt_value(v) }
}

fn rate_text(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".into(), |r| format!("{r:.3}"))
}

/// The task report in Markdown: per dataset and codec, the task × rate table with each
/// task's BD-rate against the report's anchor; then the classes that lose most, TIDE and AP
/// by size per task. Empty without task points.
pub fn markdown(r: &Report, tasks: &[TaskPoint]) -> String {
    let mut out = String::new();
    if tasks.is_empty() {
        return out;
    }
    let bpp = r.bpp;
    let _ = writeln!(out, "## Machine tasks\n");
    for d in &r.datasets {
        let mine: Vec<TaskPoint> = tasks.iter().filter(|t| t.dataset == d.dataset).cloned().collect();
        if mine.is_empty() {
            continue;
        }
        let metrics = unique(mine.iter().map(|t| t.metric()));
        for codec in unique(mine.iter().map(|t| t.codec.as_str())) {
            let rows: Vec<Vec<(Option<f64>, &TaskPoint)>> = metrics
                .iter()
                .map(|m| by_rate(&mine, &d.points, bpp, (&d.dataset, &codec, m)))
                .filter(|v| !v.is_empty())
                .collect();
            let Some(first) = rows.first() else { continue };
            let _ = writeln!(
                out,
                "### {} / {codec}: task models × rate points\n\nCells: AP@[.5:.95] (bbox, segm) or face recall (lower = more private), — where the ground truth has no object; columns: quality (bpp, {}); BD-rate against `{}` on each task's curve.\n",
                d.dataset,
                bpp_name(bpp),
                d.anchor
            );
            let header: Vec<String> = first
                .iter()
                .map(|(r, t)| format!("q{} ({})", fmt_quality(t.quality), rate_text(*r)))
                .collect();
            let _ = writeln!(out, "| task | {} | BD-rate |", header.join(" | "));
            let _ = writeln!(out, "|---|{}---|", "---|".repeat(header.len()));
            for row in &rows {
                let t = row[0].1;
                let cells: Vec<String> = row.iter().map(|(_, t)| stat(t.value())).collect();
                let bd = if codec == d.anchor {
                    "anchor".to_string()
                } else {
                    d.cell_markdown(&codec, t.metric())
                };
                let _ = writeln!(out, "| {} | {} | {bd} |", t.label(), cells.join(" | "));
            }
            out.push('\n');
            analysis_tables(&mut out, &rows);
        }
    }
    out
}

fn bpp_name(bpp: BppConvention) -> &'static str {
    match bpp {
        BppConvention::Mean => "mean of per-image bpp",
        BppConvention::Total => "total bits / total pixels",
    }
}

/// How many of the classes that lose most are listed.
pub const LOSERS: usize = 5;

/// The classes that lose most, TIDE and AP by size of each task curve (detection tasks).
fn analysis_tables(out: &mut String, rows: &[Vec<(Option<f64>, &TaskPoint)>]) {
    for row in rows.iter().filter(|r| !r[0].1.privacy && r.len() > 1) {
        let (top, bottom) = (row[0].1, row[row.len() - 1].1);
        let _ = writeln!(
            out,
            "**{}**: classes that lose most AP from q{} to q{} (per-class AP@[.5:.95], hotcoco)\n",
            top.label(),
            fmt_quality(top.quality),
            fmt_quality(bottom.quality)
        );
        let _ = writeln!(
            out,
            "| class | AP at q{} | AP at q{} | change |\n|---|---|---|---|",
            fmt_quality(top.quality),
            fmt_quality(bottom.quality)
        );
        for (class, hi, lo) in losers(top, bottom) {
            let _ = writeln!(out, "| {class} | {} | {} | {} |", fmt_value(hi), fmt_value(lo), fmt_value(lo - hi));
        }
        let _ = writeln!(
            out,
            "\nTIDE error types (ΔAP@.5 if fixed; hotcoco, IoU .5 / background .1) and AP by object size:\n\n| point | {} | AP small | AP medium | AP large |\n|---|{}---|---|---|",
            TIDE_TYPES.join(" | "),
            "---|".repeat(TIDE_TYPES.len())
        );
        for (r, t) in row {
            let tide: Vec<String> = TIDE_TYPES
                .iter()
                .map(|k| {
                    t.analysis
                        .tide
                        .as_ref()
                        .and_then(|x| x.delta_ap.get(*k))
                        .map_or_else(|| "n/a".into(), |v| fmt_value(*v))
                })
                .collect();
            let sizes: Vec<String> = t.analysis.stats[3..6].iter().map(|v| stat(*v)).collect();
            let _ = writeln!(
                out,
                "| q{} ({}) | {} | {} |",
                fmt_quality(t.quality),
                rate_text(*r),
                tide.join(" | "),
                sizes.join(" | ")
            );
        }
        out.push('\n');
    }
}

/// The classes whose AP falls most from `top` (highest rate) to `bottom` (lowest): (class,
/// AP at top, AP at bottom), at most [`LOSERS`], largest loss first.
pub fn losers(top: &TaskPoint, bottom: &TaskPoint) -> Vec<(String, f64, f64)> {
    let mut v: Vec<(String, f64, f64)> = top
        .analysis
        .per_class
        .iter()
        .map(|(c, &hi)| (c.clone(), hi, bottom.analysis.per_class.get(c).copied().unwrap_or(0.0)))
        .collect();
    v.sort_by(|a, b| (a.2 - a.1).total_cmp(&(b.2 - b.1)).then(a.0.cmp(&b.0)));
    v.truncate(LOSERS);
    v
}

fn csv_head(t: &TaskPoint, rate: Option<f64>) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{}",
        csv_field(&t.dataset),
        csv_field(&t.task),
        csv_field(&t.regime),
        csv_field(&t.model),
        t.iou,
        csv_field(&t.codec),
        t.quality,
        rate.map_or(String::new(), |r| r.to_string()),
        csv_field(t.metric())
    )
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

const CSV_KEYS: &str = "dataset,task,regime,model,iou,codec,quality,bpp,metric";

/// `task_points.csv`: one line per task point: its value, pycocotools' 12 statistics
/// (AP small/medium/large among them) and recall@.5.
pub fn points_csv(tasks: &[TaskPoint], points: &[Point], bpp: BppConvention) -> String {
    let stats = icmbench_metrics::coco::STAT_NAMES
        .iter()
        .map(|s| csv_field(s))
        .collect::<Vec<_>>()
        .join(",");
    let mut out = format!("{CSV_KEYS},value,{stats},recall@.5\n");
    for t in tasks {
        let s: Vec<String> = t.analysis.stats.iter().map(f64::to_string).collect();
        let _ = writeln!(
            out,
            "{},{},{},{}",
            csv_head(t, rate(points, t, bpp)),
            t.value(),
            s.join(","),
            t.analysis.recall50
        );
    }
    out
}

/// `per_class.csv`: AP@[.5:.95] per class per task point.
pub fn per_class_csv(tasks: &[TaskPoint], points: &[Point], bpp: BppConvention) -> String {
    let mut out = format!("{CSV_KEYS},class,ap\n");
    for t in tasks {
        for (class, ap) in &t.analysis.per_class {
            let _ = writeln!(out, "{},{},{ap}", csv_head(t, rate(points, t, bpp)), csv_field(class));
        }
    }
    out
}

/// `tide.csv`: TIDE's ΔAP@.5 and count per error type per task point.
pub fn tide_csv(tasks: &[TaskPoint], points: &[Point], bpp: BppConvention) -> String {
    let mut out = format!("{CSV_KEYS},error,delta_ap,count\n");
    for t in tasks {
        let Some(tide) = &t.analysis.tide else { continue };
        for (k, v) in &tide.delta_ap {
            let count = tide.counts.get(k).map_or(String::new(), u64::to_string);
            let _ = writeln!(out, "{},{k},{v},{count}", csv_head(t, rate(points, t, bpp)));
        }
    }
    out
}

/// The TIDE figures: per (dataset, task column) one chart per codec, x = bpp, one series per
/// error type stacked (each series is the cumulative ΔAP of the types up to it, in TIDE's
/// order), so the band between two lines is one type and its growth as the rate falls
/// shows. (name, charts).
pub fn tide_figures(r: &Report, tasks: &[TaskPoint]) -> Vec<(String, Vec<Chart>)> {
    let mut figures = Vec::new();
    for d in &r.datasets {
        let mine: Vec<&TaskPoint> = tasks.iter().filter(|t| t.dataset == d.dataset && !t.privacy).collect();
        for metric in unique(mine.iter().map(|t| t.metric())) {
            let mut charts = Vec::new();
            for codec in unique(mine.iter().filter(|t| t.metric() == metric).map(|t| t.codec.as_str())) {
                let owned: Vec<TaskPoint> = mine.iter().map(|t| (*t).clone()).collect();
                let mut row = by_rate(&owned, &d.points, r.bpp, (&d.dataset, &codec, &metric));
                row.reverse();
                let mut cumulative: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
                for (rate, t) in row.iter().filter_map(|(r, t)| Some(((*r)?, *t))) {
                    let Some(tide) = &t.analysis.tide else { continue };
                    let mut sum = 0.0;
                    for (i, k) in TIDE_TYPES.iter().enumerate() {
                        sum += tide.delta_ap.get(*k).copied().unwrap_or(0.0);
                        cumulative.entry(i).or_default().push((rate, sum));
                    }
                }
                let label = mine.iter().find(|t| t.metric() == metric).map(|t| t.label()).unwrap_or_default();
                charts.push(Chart {
                    title: format!("{}: {label}, {codec}", d.dataset),
                    x_label: format!("bpp ({})", bpp_name(r.bpp)),
                    y_label: "TIDE ΔAP@.5, stacked".into(),
                    series: cumulative
                        .into_iter()
                        .map(|(i, points)| Series {
                            label: format!("+ {}", TIDE_TYPES[i]),
                            points,
                            kind: SeriesKind::Curve,
                        })
                        .collect(),
                    lower_is_better: true,
                });
            }
            figures.push((format!("{}-tide-{metric}", d.dataset), charts));
        }
    }
    figures
}
