//! Writing reports and figures: the files of `icmbench report` and `icmbench plot`.

use std::path::{Path, PathBuf};

use icmbench_reports::ReportError;
use icmbench_reports::html::{HtmlExtras, html};
use icmbench_reports::plot::{PlotOptions, charts, png, svg};
use icmbench_reports::report::{Report, ReportOptions, bd_csv, build, latex, markdown, points_csv};
use icmbench_reports::results::{write_json, write_text};

use crate::inputs::Inputs;

/// Output formats of `icmbench report`.
pub const FORMATS: &[&str] = &["md", "csv", "tex", "json", "html", "svg", "png"];

/// Builds the report with each metric's direction from the metric registry. Without an
/// explicit metric list, metrics appear in registry order (PSNR, SSIM, MS-SSIM...), then
/// any others by name.
pub fn build_report(inputs: &Inputs, opts: &ReportOptions) -> Result<Report, ReportError> {
    let mut opts = opts.clone();
    if opts.metrics.is_none() {
        let mut present: Vec<String> = inputs.points.iter().flat_map(|p| p.metrics.keys().cloned()).collect();
        present.sort_by_key(|m| {
            (
                icmbench_metrics::METRICS.iter().position(|r| r == m).unwrap_or(usize::MAX),
                m.clone(),
            )
        });
        present.dedup();
        opts.metrics = Some(present);
    }
    build(&inputs.points, &opts, &icmbench_metrics::lower_is_better)
}

/// Writes the figures of every dataset (`<dataset>.svg|png` with one panel per metric, and
/// `<dataset>-<metric>.svg|png`) into `dir`. Returns the files written.
pub fn write_figures(report: &Report, dir: &Path, plot: &PlotOptions, formats: &[String]) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    for d in &report.datasets {
        let all = charts(d, plot);
        let mut jobs: Vec<(String, Vec<_>)> = vec![(d.dataset.clone(), all.clone())];
        jobs.extend(
            d.metrics
                .iter()
                .zip(&all)
                .map(|(m, c)| (format!("{}-{m}", d.dataset), vec![c.clone()])),
        );
        for (name, set) in jobs {
            if formats.iter().any(|f| f == "svg") {
                let p = dir.join(format!("{name}.svg"));
                write_text(&p, &svg(&set)?)?;
                written.push(p);
            }
            if formats.iter().any(|f| f == "png") {
                let p = dir.join(format!("{name}.png"));
                png(&set, &p)?;
                written.push(p);
            }
        }
    }
    Ok(written)
}

/// Writes the report files in `formats` into `dir`; returns the report and the files.
pub fn write_report(
    inputs: &Inputs,
    opts: &ReportOptions,
    plot: &PlotOptions,
    formats: &[String],
    dir: &Path,
) -> Result<(Report, Vec<PathBuf>), ReportError> {
    let report = build_report(inputs, opts)?;
    let mut written = Vec::new();
    let has = |f: &str| formats.iter().any(|x| x == f);
    if has("md") {
        let p = dir.join("report.md");
        write_text(&p, &markdown(&report))?;
        written.push(p);
    }
    if has("csv") {
        let p = dir.join("bd.csv");
        write_text(&p, &bd_csv(&report))?;
        written.push(p);
        let p = dir.join("points.csv");
        write_text(&p, &points_csv(&inputs.points))?;
        written.push(p);
    }
    if has("tex") {
        let p = dir.join("report.tex");
        write_text(&p, &latex(&report))?;
        written.push(p);
    }
    if has("json") {
        let p = dir.join("report.json");
        write_json(&p, &report)?;
        written.push(p);
    }
    written.extend(write_figures(&report, &dir.join("figures"), plot, formats)?);
    if has("html") {
        let figures = report
            .datasets
            .iter()
            .map(|d| Ok((d.dataset.clone(), svg(&charts(d, plot))?)))
            .collect::<Result<Vec<_>, ReportError>>()?;
        let failures = inputs
            .rows
            .iter()
            .filter(|r| !r.is_ok())
            .map(|r| {
                format!(
                    "{}/{} codec={} quality={}: {}",
                    r.dataset,
                    r.image,
                    r.codec,
                    r.quality,
                    r.error.as_deref().unwrap_or("")
                )
            })
            .collect();
        let extras = HtmlExtras {
            title: "icmbench report".into(),
            figures,
            run_meta: inputs.run_meta.clone(),
            config: inputs.config.clone(),
            failures,
        };
        let p = dir.join("report.html");
        write_text(&p, &html(&report, &extras))?;
        written.push(p);
    }
    Ok((report, written))
}
