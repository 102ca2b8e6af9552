//! One file per subcommand: each turns its typed arguments into library calls and prints
//! the outcome (text, or JSON with `--json`). No command holds a loop over images, a parser
//! or a JSON builder of its own; those live in the library.
//!
//! | file | subcommand |
//! |---|---|
//! | `run.rs` | `run` |
//! | `check.rs` | `check` |
//! | `score.rs` | `score` |
//! | `coding.rs` | `encode`, `decode` |
//! | `report.rs` | `report` |
//! | `plot.rs` | `plot` |
//! | `bd.rs` | `bd` |
//! | `export.rs` | `export-compressai` |
//! | `detect.rs` | `detect` |
//! | `eval_map.rs` | `eval-map` |
//! | `models.rs` | `models list`, `models verify` |
//! | `list.rs` | `list` |
//! | `merge.rs` | `merge` |
//! | `slurm.rs` | `slurm` |

pub mod bd;
pub mod check;
pub mod coding;
pub mod detect;
pub mod eval_map;
pub mod export;
pub mod list;
pub mod merge;
pub mod models;
pub mod plot;
pub mod report;
pub mod run;
pub mod score;
pub mod slurm;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

/// ONNX Runtime options for a `--device` value, all cores.
fn runtime(device: icmbench_models::Device) -> icmbench_models::RuntimeOptions {
    icmbench_models::RuntimeOptions {
        device,
        ..Default::default()
    }
}

/// Where `report` and `plot` write by default: `sub` inside the first results folder, else
/// `sub` in the working folder.
fn default_out(results: &[PathBuf], sub: &str) -> PathBuf {
    match results.first() {
        Some(p) if p.is_dir() => p.join(sub),
        _ => PathBuf::from(sub),
    }
}

/// Prints each warning on stderr.
fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Prints a value as pretty JSON on stdout.
fn print_json<T: Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Exit status 0 when everything succeeded, 2 when some items (rows, images, models)
/// failed.
fn exit_code(all_ok: bool) -> ExitCode {
    if all_ok { ExitCode::SUCCESS } else { ExitCode::from(2) }
}

/// A library error given as text, as an `anyhow` error.
fn text_error(e: String) -> anyhow::Error {
    anyhow::anyhow!(e)
}
