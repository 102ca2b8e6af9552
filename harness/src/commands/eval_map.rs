//! `icmbench eval-map`: COCO mAP of a results file against a ground truth.

use std::process::ExitCode;

use anyhow::Result;
use icmbench::print::{eval_map_json, eval_map_text};
use icmbench_metrics::coco;

use super::warn_all;
use crate::cli::EvalMapArgs;

/// Runs the command.
pub fn run(a: EvalMapArgs) -> Result<ExitCode> {
    let evaluation = coco::evaluate_files(&a.gt, &a.dt, a.iou_type)?;
    warn_all(&evaluation.warnings);
    if a.json {
        println!("{}", serde_json::to_string(&eval_map_json(&evaluation, a.iou_type))?);
    } else {
        print!("{}", eval_map_text(&evaluation, a.iou_type));
    }
    Ok(ExitCode::SUCCESS)
}
