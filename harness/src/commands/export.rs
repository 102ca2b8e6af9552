//! `icmbench export-compressai`: results as CompressAI result JSON files.

use std::process::ExitCode;

use anyhow::Result;
use icmbench::inputs::{load, write_compressai};

use super::warn_all;
use crate::cli::ExportArgs;

/// Runs the command.
pub fn run(a: ExportArgs) -> Result<ExitCode> {
    let inputs = load(&a.results)?;
    let written = write_compressai(&inputs, a.bpp, &a.out)?;
    warn_all(&written.warnings);
    for p in &written.files {
        println!("{}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}
