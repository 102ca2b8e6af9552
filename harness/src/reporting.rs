//! Writing reports and figures: the files of `icmbench report` and `icmbench plot`.

use std::path::{Path, PathBuf};

use icmbench_reports::ReportError;
use icmbench_reports::aggregate::{Point, Stats};
use icmbench_reports::bootstrap::{ImageTable, add_intervals, add_per_image};
use icmbench_reports::html::{HtmlExtras, html};
use icmbench_reports::interactive::{MAX_IMAGE_ROWS, image_rows};
use icmbench_reports::paths::{path_part, sanitised_warnings};
use icmbench_reports::plot::{Chart, PlotOptions, charts, png, svg};
use icmbench_reports::report::{DatasetReport, Report, ReportOptions, bd_csv, build, latex, pairwise_csv, per_image_csv, points_csv};
use icmbench_reports::store::{write_json, write_text};

use crate::inputs::Inputs;
use crate::tasks::resample::TaskResampler;

/// An output format of `icmbench report` (all of them) and `icmbench plot` (the figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `report.md`.
    Md,
    /// `bd.csv`, `points.csv` and, for low-level tasks, `ll-icm.csv`.
    Csv,
    /// `report.tex`.
    Tex,
    /// `report.json`.
    Json,
    /// `report.html`.
    Html,
    /// SVG figures.
    Svg,
    /// PNG figures.
    Png,
}

/// Every format, in the order of `--format`'s default.
pub const FORMATS: &[Format] = &[
    Format::Md,
    Format::Csv,
    Format::Tex,
    Format::Json,
    Format::Html,
    Format::Svg,
    Format::Png,
];

/// The figure formats (what `icmbench plot` writes).
pub const FIGURE_FORMATS: &[Format] = &[Format::Svg, Format::Png];

impl Format {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Csv => "csv",
            Format::Tex => "tex",
            Format::Json => "json",
            Format::Html => "html",
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }

    /// The names of `formats`, comma-separated.
    pub fn names(formats: &[Format]) -> String {
        formats.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
    }
}

/// A format name that is not one of [`FORMATS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}`; formats: {formats}", formats = Format::names(FORMATS))]
pub struct FormatError(pub String);

impl std::str::FromStr for Format {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, FormatError> {
        FORMATS
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| FormatError(s.to_string()))
    }
}

/// Reads a file of an output folder that the HTML report embeds (`run.json`, the config
/// copy): a regular file in the folder (a link is not followed) of at most [`icmbench_models::textfile::CONFIG_CAP`]
/// bytes. `None` when it is absent; `None` with a warning when it is unusable.
pub fn read_embedded(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        tracing::warn!(
            "{}: not embedded in the report: not a regular file (links are not followed)",
            path.display()
        );
        return None;
    }
    match icmbench_models::textfile::read_text_capped(path, icmbench_models::textfile::CONFIG_CAP) {
        Ok(text) => Some(text),
        Err(e) => {
            tracing::warn!("not embedded in the report: {e}");
            None
        }
    }
}

/// Builds the report with each metric's direction from the metric catalogue. Without an
/// explicit metric list, metrics appear in catalogue order (PSNR, SSIM, MS-SSIM...), then
/// any others by name.
pub fn build_report(inputs: &Inputs, opts: &ReportOptions) -> Result<Report, ReportError> {
    let mut opts = opts.clone();
    if opts.metrics.is_none() {
        let mut present: Vec<String> = inputs.points.iter().flat_map(|p| p.metrics.keys().cloned()).collect();
        present.sort_by_key(|m| {
            (
                icmbench_metrics::catalogue::per_image()
                    .position(|d| d.name == m)
                    .unwrap_or(usize::MAX),
                m.clone(),
            )
        });
        present.dedup();
        opts.metrics = Some(present);
    }
    let mut report = build(&inputs.points, &opts, &icmbench_metrics::lower_is_better)?;
    report.partial = inputs.partial.clone();
    add_trust(&mut report, inputs, &opts);
    Ok(report)
}

/// Adds to each dataset's report what its rows allow: each image's own BD, and bootstrap
/// intervals and paired comparisons over images (task metrics recomputed from the stored
/// outputs of each resample). Datasets of imported curves only have neither.
fn add_trust(report: &mut Report, inputs: &Inputs, opts: &ReportOptions) {
    for d in &mut report.datasets {
        let table = ImageTable::new(&d.dataset, &inputs.rows);
        if table.images.is_empty() {
            continue;
        }
        add_per_image(d, opts, &table);
        if opts.resampling.resamples == 0 {
            continue;
        }
        let tasks: Vec<TaskResampler> = inputs
            .folders
            .iter()
            .map(|(folder, range)| TaskResampler::new(&inputs.rows[range.clone()], folder, &d.dataset, &table.images))
            .collect();
        let resample = |w: &[u32]| -> Vec<Point> {
            let mut pts = table.points(w);
            for (codec, quality, metric, v) in tasks.iter().flat_map(|t| t.columns(w)) {
                if let Some(p) = pts
                    .iter_mut()
                    .find(|p| p.codec == codec && p.quality.to_bits() == quality.to_bits())
                {
                    let st = Stats {
                        mean: v,
                        median: v,
                        std: f64::NAN,
                    };
                    p.metrics.insert(metric, st);
                }
            }
            pts
        };
        let bar = indicatif::ProgressBar::new(opts.resampling.resamples as u64).with_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} resamples of {msg} ({eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{} ({} images)", d.dataset, table.images.len()));
        add_intervals(d, opts, table.images.len(), &resample, &opts.resampling, &|| bar.inc(1));
        bar.finish_and_clear();
    }
}

/// Figures written by [`write_figures`], and each dataset's multi-panel figure as SVG
/// (rendered once, when SVG or HTML output needs it).
#[derive(Debug, Default)]
pub struct Figures {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// (dataset, SVG document of its multi-panel figure).
    pub panels_svg: Vec<(String, String)>,
    /// Names that were not safe file names and were sanitised (see [`icmbench_reports::paths`]).
    pub warnings: Vec<String>,
}

/// Writes the figures of every dataset (`<dataset>.svg|png` with one panel per metric, and
/// `<dataset>-<metric>.svg|png`) into `dir`, and for low-level tasks `ll-icm-<metric>.svg|png`
/// with one panel per task. With `keep_panels`, the multi-panel SVGs are
/// also returned (for the HTML report), rendered whether or not `svg` is a format.
///
/// Dataset and metric names come from results tables, which may have been received from
/// anyone: each becomes a file name only through [`path_part`], so every file stays in
/// `dir` (unsafe names are percent-encoded and listed in [`Figures::warnings`]).
pub fn write_figures(
    report: &Report,
    dir: &Path,
    plot: &PlotOptions,
    formats: &[Format],
    keep_panels: bool,
) -> Result<Figures, ReportError> {
    let want_svg = formats.contains(&Format::Svg);
    let want_png = formats.contains(&Format::Png);
    let list = figure_list(report, plot);
    let mut out = Figures {
        warnings: sanitised_warnings("dataset", report.datasets.iter().map(|d| d.dataset.as_str())),
        ..Default::default()
    };
    out.warnings.extend(sanitised_warnings(
        "metric",
        report.datasets.iter().flat_map(|d| d.metrics.iter().map(String::as_str)),
    ));
    // `<dataset>-<metric>` is not one-to-one (dataset `a-b` with metric `c`, dataset `a`
    // with metric `b-c`; a received dataset named `ll-icm-psnr-rgb`): a stem already used
    // gets a numbered suffix and a warning, never overwrites another figure.
    let mut used = std::collections::HashSet::new();
    for (name, mut stem, set, panel) in list {
        if !used.insert(stem.clone()) {
            let first = stem.clone();
            let mut n = 2;
            while !used.insert(format!("{first}~{n}")) {
                n += 1;
            }
            stem = format!("{first}~{n}");
            out.warnings
                .push(format!("figure name `{first}` is used twice; the second is `{stem}`"));
        }
        if want_svg || (panel && keep_panels) {
            let text = svg(&set)?;
            if want_svg {
                let p = dir.join(format!("{stem}.svg"));
                write_text(&p, &text)?;
                out.files.push(p);
            }
            if panel && keep_panels {
                out.panels_svg.push((name.clone(), text));
            }
        }
        if want_png {
            let p = dir.join(format!("{stem}.png"));
            png(&set, &p)?;
            out.files.push(p);
        }
    }
    Ok(out)
}

/// The figures of a report: (name for the HTML report, file stem, charts, whether it is a
/// multi-panel figure the HTML report embeds). LL-ICM figures first, then each dataset's
/// multi-panel figure and its single charts.
fn figure_list(report: &Report, plot: &PlotOptions) -> Vec<(String, String, Vec<Chart>, bool)> {
    // Every dataset's charts, drawn once: one per metric.
    let all: Vec<Vec<Chart>> = report.datasets.iter().map(|d| charts(d, plot)).collect();
    let mut list: Vec<(String, String, Vec<Chart>, bool)> = Vec::new();
    // LL-ICM: one figure per metric with one rate–perception panel per task.
    let tasks: Vec<(&DatasetReport, &Vec<Chart>)> = report
        .datasets
        .iter()
        .zip(&all)
        .filter(|(d, _)| icmbench_reports::lowlevel::is_task(d))
        .collect();
    let metrics = icmbench_reports::report::unique(tasks.iter().flat_map(|(d, _)| d.metrics.iter().map(String::as_str)));
    for m in &metrics {
        let panels = tasks
            .iter()
            .filter_map(|(d, c)| d.metrics.iter().position(|x| x == m).map(|i| c[i].clone()))
            .collect();
        list.push((format!("ll-icm-{m}"), format!("ll-icm-{}", path_part(m)), panels, true));
    }
    for (d, charts) in report.datasets.iter().zip(all) {
        let stem = path_part(&d.dataset);
        list.push((d.dataset.clone(), stem.to_string(), charts.clone(), true));
        list.extend(
            d.metrics
                .iter()
                .zip(charts)
                .map(|(m, c)| (String::new(), format!("{stem}-{}", path_part(m)), vec![c], false)),
        );
        // Relative curve differences and per-image BD strips, one file per metric.
        let named = |kind: &str, charts: Vec<(String, Chart)>| -> Vec<(String, String, Vec<Chart>, bool)> {
            charts
                .into_iter()
                .map(|(m, c)| (String::new(), format!("{stem}-{kind}-{}", path_part(&m)), vec![c], false))
                .collect()
        };
        list.extend(named("rcd", icmbench_reports::plot::rcd_charts(report, d)));
        list.extend(named("per-image-bd", icmbench_reports::plot::per_image_charts(d)));
    }
    list
}

/// Writes the TIDE figures of the task points (`<dataset>-tide-<column>.svg|png`, one panel
/// per codec) into `dir`; names pass through [`path_part`].
fn write_tide_figures(
    report: &Report,
    tasks: &[icmbench_reports::tasks::TaskPoint],
    dir: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    for (name, charts) in icmbench_reports::tasks::tide_figures(report, tasks) {
        let stem = path_part(&name);
        if formats.contains(&Format::Svg) {
            let p = dir.join(format!("{stem}.svg"));
            write_text(&p, &svg(&charts)?)?;
            files.push(p);
        }
        if formats.contains(&Format::Png) {
            let p = dir.join(format!("{stem}.png"));
            png(&charts, &p)?;
            files.push(p);
        }
    }
    Ok(files)
}

/// What [`write_report`] wrote.
#[derive(Debug)]
pub struct Written {
    /// The report.
    pub report: Report,
    /// Files written, all inside the output folder.
    pub files: Vec<PathBuf>,
    /// Names that were sanitised to become file names.
    pub warnings: Vec<String>,
}

/// Writes the report files in `formats` into `dir`; returns the report, the files and the
/// warnings. Every file name is fixed or built through [`path_part`], so nothing is
/// written outside `dir`.
pub fn write_report(
    inputs: &Inputs,
    opts: &ReportOptions,
    plot: &PlotOptions,
    formats: &[Format],
    dir: &Path,
) -> Result<Written, ReportError> {
    let report = build_report(inputs, opts)?;
    let has = |f: Format| formats.contains(&f);
    let mut written = Vec::new();
    // Every table of partial results says so.
    let mark = |name: &str, text: &str| report.marked(name, text);
    let mut emit = |name: &str, text: &str| -> Result<(), ReportError> {
        let p = dir.join(name);
        write_text(&p, &mark(name, text))?;
        written.push(p);
        Ok(())
    };
    let tasks = &inputs.tasks.points;
    let complexity_md =
        icmbench_reports::complexity::markdown(inputs.complexity.as_ref(), &icmbench_reports::complexity::codec_times(&inputs.rows));
    if has(Format::Md) {
        let mut md = icmbench_reports::lowlevel::report_markdown(&report);
        md.push_str(&complexity_md);
        md.push_str(&icmbench_reports::tasks::markdown(&report, tasks));
        emit("report.md", &md)?;
    }
    if has(Format::Csv) {
        for (name, text) in csv_files(&report, inputs) {
            emit(name, &text)?;
        }
    }
    if has(Format::Tex) {
        emit("report.tex", &latex(&report))?;
    }
    if has(Format::Json) {
        let p = dir.join("report.json");
        write_json(&p, &report)?;
        written.push(p);
    }
    let mut figures = write_figures(&report, &dir.join("figures"), plot, formats, has(Format::Html))?;
    figures
        .files
        .extend(write_tide_figures(&report, tasks, &dir.join("figures"), formats)?);
    written.extend(figures.files);
    if has(Format::Html) {
        let metric_order = icmbench_reports::report::unique(report.datasets.iter().flat_map(|d| d.metrics.iter().map(String::as_str)));
        let extras = HtmlExtras {
            title: "icmbench report".into(),
            figures: figures.panels_svg,
            run_meta: inputs.run_meta.clone(),
            config: inputs.config.clone(),
            failures: inputs.rows.iter().filter(|r| !r.is_ok()).cloned().collect(),
            trust: report.datasets.iter().map(icmbench_reports::report::trust_markdown).collect(),
            sections: vec![complexity_md.clone(), icmbench_reports::tasks::markdown(&report, tasks)],
            rows: Some(image_rows(&inputs.rows, &metric_order, MAX_IMAGE_ROWS)),
            viewer: inputs
                .reconstructions
                .as_deref()
                .map(|dir| crate::viewer::collect(dir, &inputs.rows, &metric_order, &crate::viewer::RULE)),
        };
        let p = dir.join("report.html");
        write_text(&p, &mark("report.html", &html(&report, &extras)))?;
        written.push(p);
    }
    Ok(Written {
        report,
        files: written,
        warnings: figures.warnings,
    })
}

/// The CSV files of a report: (name, text). Task tables with machine tasks, the LL-ICM
/// summary with low-level datasets, per-image BD and paired comparisons when there are any.
fn csv_files(report: &Report, inputs: &Inputs) -> Vec<(&'static str, String)> {
    let tasks = &inputs.tasks.points;
    let bpp = report.bpp;
    let mut files = Vec::new();
    if !tasks.is_empty() {
        files.push(("task_points.csv", icmbench_reports::tasks::points_csv(tasks, &inputs.points, bpp)));
        files.push(("per_class.csv", icmbench_reports::tasks::per_class_csv(tasks, &inputs.points, bpp)));
        files.push(("tide.csv", icmbench_reports::tasks::tide_csv(tasks, &inputs.points, bpp)));
    }
    if !icmbench_reports::lowlevel::tasks(report).is_empty() {
        files.push(("ll-icm.csv", icmbench_reports::lowlevel::csv(report)));
    }
    files.push(("bd.csv", bd_csv(report)));
    if report.datasets.iter().any(|d| !d.per_image.is_empty()) {
        files.push(("per_image_bd.csv", per_image_csv(report)));
    }
    if report.datasets.iter().any(|d| !d.pairwise.is_empty()) {
        files.push(("pairwise.csv", pairwise_csv(report)));
    }
    files.push(("points.csv", points_csv(&inputs.points)));
    files
}

/// Canonical names for registered metrics (aliases resolved); other names (imported
/// results) are kept as given.
pub fn canonical_metrics(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|m| {
            icmbench_metrics::canonical_name(m)
                .map(str::to_string)
                .unwrap_or_else(|_| m.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every format parses from its name; an unknown one names itself and the formats.
    #[test]
    fn formats_parse_by_name() {
        for f in FORMATS {
            assert_eq!(f.name().parse::<Format>(), Ok(*f));
        }
        let e = "docx".parse::<Format>().unwrap_err().to_string();
        assert_eq!(e, "unknown format `docx`; formats: md, csv, tex, json, html, svg, png");
        assert!(FIGURE_FORMATS.iter().all(|f| FORMATS.contains(f)));
    }
}
