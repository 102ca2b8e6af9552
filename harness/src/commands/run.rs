//! `icmbench run CONFIG`: runs the plan, prints the per-point summary (or JSON), and exits
//! with 2 when rows, or some task on some row, failed.

use std::process::ExitCode;

use anyhow::Result;
use icmbench::print::{failure_lines, run_json, stages_table, summary_table};
use icmbench::run::{RunOptions, run as run_plan, summarise};
use icmbench::{cluster, config};
use icmbench_reports::store;

use super::{exit_code, print_json, warn_all};
use crate::cli::RunArgs;

/// Runs the command.
pub fn run(a: RunArgs) -> Result<ExitCode> {
    let plan = config::load_with(&a.config, &config::Overrides { device: a.device })?;
    let shard = a.shard.map(|s| cluster::resolve_shard(s, cluster::process_env)).transpose()?;
    let opts = RunOptions {
        jobs: a.jobs.map(|n| n.get()),
        save_reconstructions: a.save_reconstructions,
        progress: !a.quiet && !a.json,
        shard,
    };
    let outcome = run_plan(&plan, &opts)?;
    let summary = summarise(&plan, &outcome)?;
    warn_all(&summary.warnings);
    let failures = outcome.failures();
    let task_failures = outcome.task_failures();
    if a.json {
        print_json(&run_json(&outcome.store, &outcome, &summary.lines))?;
    } else {
        print!("{}", summary_table(&summary.lines, &summary.metrics));
        println!(
            "\n{} rows ({} computed, {} reused from earlier runs), {} failed. Results: {}",
            outcome.rows.len(),
            outcome.computed,
            outcome.reused,
            failures.len(),
            outcome.store.join(store::PARQUET).display()
        );
        if let Some(s) = outcome.shard {
            let map = if !plan.tasks.is_empty() {
                "; the dataset-level metrics (mAP) come then"
            } else {
                ""
            };
            println!("Shard {s}: merge the shards with `icmbench merge {}`{map}.", plan.output.display());
        }
        eprint!("{}", failure_lines(&failures));
        if a.stages {
            print!("\nWhere the time went (thread-seconds per stage):\n{}", stages_table(&outcome));
        }
    }
    for (r, e) in &task_failures {
        eprintln!("{}/{} {} q={}: {e}", r.dataset, r.image, r.codec, r.quality);
    }
    Ok(exit_code(failures.is_empty() && task_failures.is_empty()))
}
