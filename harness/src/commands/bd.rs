//! `icmbench bd`: the Bjøntegaard delta of two curve files.

use std::process::ExitCode;

use anyhow::Result;
use icmbench::inputs::{read_curve, stored_direction};
use icmbench::print::bd_json;
use icmbench_reports::bd::{BdOptions, bd};

use super::warn_all;
use crate::cli::BdArgs;

/// Runs the command.
pub fn run(a: BdArgs) -> Result<ExitCode> {
    let anchor = read_curve(&a.anchor, &a.metric)?;
    let test = read_curve(&a.test, &a.metric)?;
    let opts = BdOptions {
        method: a.method,
        lower_is_better: a.lower_is_better || stored_direction(&a.anchor, &a.metric),
        monotone_fit: a.monotone_fit,
        min_overlap: a.min_overlap,
        range: icmbench_metrics::catalogue::range(&a.metric),
    };
    let r = bd(&anchor, &test, &opts)?;
    warn_all(&r.warnings);
    if a.json {
        println!("{}", bd_json(&r));
    } else {
        println!("BD-rate {:+.4} % ({}; negative = test saves rate)", r.bd_rate, opts.method.name());
        println!("BD-metric {:+.6} (test - anchor, metric units)", r.bd_metric);
    }
    Ok(ExitCode::SUCCESS)
}
