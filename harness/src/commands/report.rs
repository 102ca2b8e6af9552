//! `icmbench report`: BD and per-quality tables, figures and the HTML report.

use std::process::ExitCode;

use anyhow::Result;
use icmbench::reporting::{Written, canonical_metrics, write_report};
use icmbench_reports::plot::PlotOptions;
use icmbench_reports::report::ReportOptions;

use super::{default_out, print_json, warn_all};
use crate::cli::ReportArgs;

/// Runs the command.
pub fn run(a: ReportArgs) -> Result<ExitCode> {
    let mut inputs = icmbench::inputs::load(&a.results)?;
    if let Some(dir) = a.reconstructions {
        anyhow::ensure!(dir.is_dir(), "--reconstructions {}: not a folder", dir.display());
        inputs.reconstructions = Some(dir);
    }
    let c = &a.curves;
    let opts = ReportOptions {
        anchor: a.anchor,
        method: c.method,
        bpp: c.bpp,
        monotone_fit: c.monotone_fit,
        min_overlap: c.min_overlap,
        metrics: c.metrics.as_deref().map(canonical_metrics),
        resampling: icmbench_reports::bootstrap::Resampling {
            resamples: c.bootstrap,
            confidence: c.confidence,
            seed: c.seed,
        },
    };
    let plot = PlotOptions {
        bpp: c.bpp,
        msssim_db: c.msssim_db,
    };
    let dir = a.out.unwrap_or_else(|| default_out(&a.results, "report"));
    let Written { report, files, warnings } = write_report(&inputs, &opts, &plot, &a.format, &dir)?;
    warn_all(&warnings);
    if a.json {
        print_json(&report)?;
    } else {
        print!(
            "{}",
            report.marked("report.md", &icmbench_reports::lowlevel::report_markdown(&report))
        );
        eprintln!("wrote {} files to {}", files.len(), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
