//! `icmbench score`: one metric on one image pair (or one image, for no-reference metrics).

use std::process::ExitCode;

use anyhow::Result;
use icmbench::print::{fmt_value, score_json};
use icmbench::scoring::score_files;

use super::runtime;
use crate::cli::ScoreArgs;

/// Runs the command.
pub fn run(a: ScoreArgs) -> Result<ExitCode> {
    let score = score_files(&a.metric, a.reference.as_deref(), &a.dist, &runtime(a.device))?;
    if a.json {
        println!("{}", score_json(score.metric, score.value));
    } else {
        println!("{} {}", score.metric, fmt_value(score.value));
    }
    Ok(ExitCode::SUCCESS)
}
