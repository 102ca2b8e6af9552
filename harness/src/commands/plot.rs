//! `icmbench plot`: rate–quality figures only.

use std::process::ExitCode;

use anyhow::{Result, bail};
use icmbench::reporting::{FIGURE_FORMATS, Format, build_report, canonical_metrics, write_figures};
use icmbench_reports::plot::PlotOptions;
use icmbench_reports::report::ReportOptions;

use super::{default_out, warn_all};
use crate::cli::PlotArgs;

/// Runs the command.
pub fn run(a: PlotArgs) -> Result<ExitCode> {
    if let Some(f) = a.format.iter().find(|f| !FIGURE_FORMATS.contains(f)) {
        bail!("unknown format `{}`; formats: {}", f.name(), Format::names(FIGURE_FORMATS));
    }
    let inputs = icmbench::inputs::load(&a.results)?;
    // Figures need no BD values: no anchor, and no overlap requirement.
    let opts = ReportOptions {
        bpp: a.bpp,
        metrics: a.metrics.as_deref().map(canonical_metrics),
        monotone_fit: icmbench_reports::bd::MonotoneFit::Isotonic,
        min_overlap: 0.0,
        resampling: icmbench_reports::bootstrap::Resampling {
            resamples: 0,
            ..Default::default()
        },
        ..Default::default()
    };
    let report = build_report(&inputs, &opts)?;
    let dir = a.out.unwrap_or_else(|| default_out(&a.results, "figures"));
    let plot = PlotOptions {
        bpp: a.bpp,
        msssim_db: a.msssim_db,
    };
    let figures = write_figures(&report, &dir, &plot, &a.format, false)?;
    warn_all(&figures.warnings);
    for f in &figures.files {
        println!("{}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
