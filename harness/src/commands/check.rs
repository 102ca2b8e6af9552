//! `icmbench check CONFIG`: validates a config without running anything.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use icmbench::config;

/// Runs the command: loads the config (which builds every codec, loading and checking
/// learned codecs' graphs), then asks each codec for the problems it can see without
/// running (external programs are only looked up on PATH).
pub fn run(path: &Path) -> Result<ExitCode> {
    let plan = config::load(path)?;
    let problems = config::preflight(&plan);
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("error: {}: {p}", path.display());
        }
        return Ok(ExitCode::from(1));
    }
    println!("{}: ok ({})", path.display(), config::describe(&plan));
    Ok(ExitCode::SUCCESS)
}
