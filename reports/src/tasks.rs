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

/// The columns of a task point that the task × rate table shows, with their row labels: the
/// main one (AP), or, for a privacy task, each (face recall, face similarity).
fn shown(t: &TaskPoint) -> Vec<(&str, String)> {
    match t.privacy {
        false => vec![(t.metric(), t.label())],
        true => t
            .columns
            .iter()
            .zip(["face recall", "face similarity"])
            .map(|((c, _), what)| (c.as_str(), format!("{} ({}, {what})", t.task, t.regime)))
            .collect(),
    }
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
        let mine: Vec<&TaskPoint> = tasks.iter().filter(|t| t.dataset == d.dataset).collect();
        if mine.is_empty() {
            continue;
        }
        let metrics = unique(mine.iter().map(|t| t.metric()));
        for codec in unique(mine.iter().map(|t| t.codec.as_str())) {
            let rows: Vec<Vec<(Option<f64>, &TaskPoint)>> = metrics
                .iter()
                .map(|m| by_rate(tasks, &d.points, bpp, (&d.dataset, &codec, m)))
                .filter(|v| !v.is_empty())
                .collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "### {} / {codec}: task models × rate points\n\nCells: AP@[.5:.95] (bbox, segm), or face recall and face similarity (lower = more private); — where the ground truth has no object, n/a where the task has no value at that point; columns: quality (bpp, {}); BD-rate against `{}` on each task's curve.\n",
                d.dataset,
                bpp_name(bpp),
                d.anchor
            );
            // The codec's points, highest rate first: every row has a cell under each.
            let mut columns: Vec<(Option<f64>, f64)> = d
                .points
                .iter()
                .filter(|p| p.codec == codec)
                .map(|p| (bpp.pick(p), p.quality))
                .collect();
            columns.sort_by(|a, b| b.0.unwrap_or(f64::NAN).total_cmp(&a.0.unwrap_or(f64::NAN)));
            let header: Vec<String> = columns
                .iter()
                .map(|(r, q)| format!("q{} ({})", fmt_quality(*q), rate_text(*r)))
                .collect();
            let _ = writeln!(out, "| task | {} | BD-rate |", header.join(" | "));
            let _ = writeln!(out, "|---|{}---|", "---|".repeat(header.len()));
            for row in &rows {
                let t = row[0].1;
                for (k, (column, label)) in shown(t).into_iter().enumerate() {
                    let cells: Vec<String> = columns
                        .iter()
                        .map(|(_, q)| {
                            row.iter()
                                .find(|(_, p)| p.quality == *q)
                                .and_then(|(_, p)| p.columns.get(k))
                                .map_or_else(|| "n/a".into(), |c| stat(c.1))
                        })
                        .collect();
                    let bd = if codec == d.anchor {
                        "anchor".to_string()
                    } else {
                        d.cell_markdown(&codec, column)
                    };
                    let _ = writeln!(out, "| {label} | {} | {bd} |", cells.join(" | "));
                }
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
                let mut row = by_rate(tasks, &d.points, r.bpp, (&d.dataset, &codec, &metric));
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use icmbench_metrics::coco::Tide;

    use super::*;
    use crate::aggregate::Stats;
    use crate::report::{ReportOptions, build};

    fn point(codec: &str, quality: f64, bpp: f64, metric: &str, v: f64) -> Point {
        Point {
            dataset: "d".into(),
            codec: codec.into(),
            quality,
            ok: 1,
            failed: 0,
            bpp_mean: Some(bpp),
            bpp_total: Some(bpp),
            bpp_estimated: None,
            encode_ms: None,
            decode_ms: None,
            metrics: BTreeMap::from([(
                metric.to_string(),
                Stats {
                    mean: v,
                    median: v,
                    std: f64::NAN,
                },
            )]),
        }
    }

    fn task_point(quality: f64, ap: f64, per_class: &[(&str, f64)]) -> TaskPoint {
        let mut stats = [ap; 12];
        stats[3] = -1.0;
        TaskPoint {
            task: "det".into(),
            regime: "frozen".into(),
            model: "m".into(),
            privacy: false,
            dataset: "d".into(),
            codec: "b".into(),
            quality,
            iou: "bbox".into(),
            columns: vec![("map@det".into(), ap)],
            analysis: Analysis {
                stats,
                per_class: per_class.iter().map(|(c, v)| (c.to_string(), *v)).collect(),
                tide: Some(Tide {
                    delta_ap: BTreeMap::from([("Loc".to_string(), 0.25)]),
                    counts: BTreeMap::new(),
                }),
                recall50: ap,
            },
        }
    }

    /// Every row has a cell under each of the codec's points, highest rate first: a point
    /// the task has no value at is `n/a`, never a shifted cell; −1 shows as `—`; the classes
    /// that lose most come largest loss first.
    #[test]
    fn task_tables_align_cells_with_points() {
        let points = vec![
            point("a", 1.0, 0.2, "map@det", 0.3),
            point("a", 2.0, 0.8, "map@det", 0.6),
            point("b", 10.0, 0.1, "map@det", 0.4),
            point("b", 20.0, 0.5, "map@det", 0.7),
            point("b", 30.0, 0.9, "map@det", 0.8),
        ];
        let r = build(&points, &ReportOptions::default(), &|_| false).unwrap();
        let tasks = vec![
            task_point(30.0, 0.8, &[("cat", 0.9), ("dog", 0.8), ("car", 0.5)]),
            task_point(10.0, 0.4, &[("cat", 0.1), ("dog", 0.7), ("car", 0.5)]),
        ];
        let md = markdown(&r, &tasks);
        assert!(md.contains("| task | q30 (0.900) | q20 (0.500) | q10 (0.100) | BD-rate |"), "{md}");
        assert!(md.contains("| det (frozen, bbox) | 0.80000 | n/a | 0.40000 |"), "{md}");
        assert!(md.contains("| cat | 0.90000 | 0.10000 | -0.80000 |\n| dog |"), "{md}");
        assert!(
            md.contains("| q10 (0.100) | n/a | 0.25000 | n/a | n/a | n/a | n/a | — | 0.40000 | 0.40000 |"),
            "{md}"
        );
        assert_eq!(losers(&tasks[0], &tasks[1]).len(), 3);
        let csv = points_csv(&tasks, &points, BppConvention::Mean);
        assert!(
            csv.lines().nth(1).unwrap().starts_with("d,det,frozen,m,bbox,b,30,0.9,map@det,0.8,"),
            "{csv}"
        );
    }
}
