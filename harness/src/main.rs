//! The `icmbench` command line: parses arguments and wires the harness crates together.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use icmbench::print::{failure_lines, fmt_value, json_number, summary_table};
use icmbench::run::{RunOptions, run};
use icmbench::{config, store};
use icmbench_datasets::{ImageEntry, Preprocess, load_image};
use icmbench_reports::summary::summarize;
use serde_json::json;

/// Benchmark and evaluation harness for Image Coding for Machines.
#[derive(Parser)]
#[command(name = "icmbench", version, about)]
struct Cli {
    /// More log output (-v info, -vv debug); ICMBENCH_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a benchmark described by a TOML config; resumes from earlier results.
    Run {
        /// The config file.
        config: PathBuf,
        /// Worker threads (default: the config's `jobs`, else all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Keep decoded images as DIR/<codec>/q<quality>/<image>.png.
        #[arg(long, value_name = "DIR")]
        save_reconstructions: Option<PathBuf>,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Score one image pair with one metric.
    Score {
        /// Metric name (see `icmbench list`).
        #[arg(long)]
        metric: String,
        /// Reference image.
        #[arg(long = "ref", value_name = "REF")]
        reference: PathBuf,
        /// Distorted image.
        #[arg(long, value_name = "DIST")]
        dist: PathBuf,
        /// Print `{"metric": NAME, "value": x}`.
        #[arg(long)]
        json: bool,
    },
    /// List codecs, external presets and metrics with their conventions.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a config without running it.
    Check {
        /// The config file.
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("ICMBENCH_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run {
            config,
            jobs,
            save_reconstructions,
            json,
            quiet,
        } => cmd_run(&config, jobs, save_reconstructions, json, quiet),
        Command::Score {
            metric,
            reference,
            dist,
            json,
        } => cmd_score(&metric, reference, dist, json),
        Command::List { json } => cmd_list(json),
        Command::Check { config } => {
            let plan = config::load(&config)?;
            let rows: usize = plan.codecs.iter().map(|c| c.qualities.len()).sum();
            println!(
                "{}: ok ({} datasets, {} codecs, {} quality points, {} metrics)",
                config.display(),
                plan.datasets.len(),
                plan.codecs.len(),
                rows,
                plan.metrics.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn cmd_run(config_path: &Path, jobs: Option<usize>, save: Option<PathBuf>, json: bool, quiet: bool) -> Result<ExitCode> {
    if jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    let plan = config::load(config_path)?;
    let opts = RunOptions {
        jobs,
        save_reconstructions: save,
        progress: !quiet && !json,
    };
    let outcome = run(&plan, &opts)?;
    let lines = summarize(&outcome.rows);
    let failures = outcome.failures();
    if json {
        let summary: Vec<_> = lines
            .iter()
            .map(|l| {
                json!({
                    "dataset": l.dataset, "codec": l.codec, "quality": l.quality, "ok": l.ok, "failed": l.failed,
                    "bpp_mean": l.bpp_mean, "bpp_total": l.bpp_total,
                    "metrics": l.metrics.iter().map(|(k, v)| (k.clone(), json_number(*v))).collect::<serde_json::Map<_, _>>(),
                })
            })
            .collect();
        let out = json!({
            "output": plan.output.display().to_string(),
            "rows": outcome.rows.len(), "computed": outcome.computed, "reused": outcome.reused,
            "summary": summary,
            "failures": failures.iter().map(|r| json!({"dataset": r.dataset, "image": r.image, "codec": r.codec, "quality": r.quality, "error": r.error})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", summary_table(&lines, &plan.metrics));
        println!(
            "\n{} rows ({} computed, {} reused from earlier runs), {} failed. Results: {}",
            outcome.rows.len(),
            outcome.computed,
            outcome.reused,
            failures.len(),
            plan.output.join(store::PARQUET).display()
        );
        if !failures.is_empty() {
            eprint!("{}", failure_lines(&failures));
        }
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn cmd_score(metric: &str, reference: PathBuf, dist: PathBuf, json: bool) -> Result<ExitCode> {
    let m = icmbench_metrics::by_name(metric)?;
    let load = |path: PathBuf| {
        let entry = ImageEntry {
            id: path.display().to_string(),
            path,
        };
        load_image(&entry, &Preprocess::default())
    };
    let a = load(reference)?;
    let b = load(dist)?;
    let value = m
        .compute(&a.image, &b.image)
        .with_context(|| format!("scoring {} against {}", b.path.display(), a.path.display()))?;
    if json {
        let mut out = json!({"metric": m.name(), "value": json_number(value)});
        if value.is_infinite() {
            out["note"] = json!("infinite: the images are identical");
        }
        println!("{out}");
    } else {
        println!("{} {}", m.name(), fmt_value(value));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_list(json: bool) -> Result<ExitCode> {
    let codecs: Vec<(String, String)> = icmbench_codecs::BUILTIN_KINDS
        .iter()
        .filter_map(|k| icmbench_codecs::builtin(k).map(|c| (k.to_string(), c.version())))
        .collect();
    let metrics: Vec<_> = icmbench_metrics::METRICS
        .iter()
        .filter_map(|m| icmbench_metrics::by_name(m).ok())
        .collect();
    let presets = icmbench_codecs::external::PRESETS;
    if json {
        let out = json!({
            "codecs": codecs.iter().map(|(k, v)| json!({"kind": k, "version": v})).collect::<Vec<_>>(),
            "external_presets": presets,
            "metrics": metrics.iter().map(|m| json!({"name": m.name(), "higher_is_better": m.higher_is_better(), "convention": m.convention()})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("codecs (kind = ...):");
        for (k, v) in &codecs {
            println!("  {k:<9} {v}");
        }
        println!("  external  presets: {}", presets.join(", "));
        println!("metrics:");
        for m in &metrics {
            println!("  {:<13} {}", m.name(), m.convention());
        }
    }
    Ok(ExitCode::SUCCESS)
}
