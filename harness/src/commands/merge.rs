//! `icmbench merge OUT`: merges the shards of an output folder into its result store and
//! prints what it merged (or JSON); exits with 2 when rows failed or the merge is partial.

use std::process::ExitCode;

use anyhow::Result;
use icmbench::merge::{MergeOptions, merge};
use icmbench_reports::store;

use super::{exit_code, print_json};
use crate::cli::MergeArgs;

/// Runs the command.
pub fn run(a: MergeArgs) -> Result<ExitCode> {
    let outcome = merge(
        &a.out,
        &MergeOptions {
            allow_partial: a.allow_partial,
        },
    )?;
    if a.json {
        print_json(&outcome)?;
    } else {
        println!(
            "merged {} shard(s) ({}): {} rows, {} failed -> {}",
            outcome.shards.len(),
            outcome.shards.join(", "),
            outcome.rows,
            outcome.failed,
            a.out.join(store::PARQUET).display()
        );
        if outcome.partial {
            eprintln!(
                "warning: partial results: missing {:?}, unfinished {:?}",
                outcome.missing, outcome.unfinished
            );
        }
    }
    Ok(exit_code(outcome.failed == 0 && !outcome.partial))
}
