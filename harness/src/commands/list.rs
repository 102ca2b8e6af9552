//! `icmbench list`: codecs, external presets, metrics, restorers and degradations.

use std::process::ExitCode;

use anyhow::Result;
use icmbench::listing::{Catalogue, catalogue};

use super::print_json;

/// Runs the command.
pub fn run(json: bool) -> Result<ExitCode> {
    let c: Catalogue = catalogue();
    if json {
        print_json(&c)?;
    } else {
        print!("{}", c.text());
    }
    Ok(ExitCode::SUCCESS)
}
