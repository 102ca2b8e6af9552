//! The `icmbench` binary: parses the command line ([`cli`]), sets up logging, hands each
//! subcommand to its file under [`commands`], and prints errors. Everything else lives in
//! the `icmbench` library and the crates below it.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command};

fn main() -> ExitCode {
    // A file-size limit (`ulimit -f`) then gives write errors ("File too large") that the run
    // reports and stops on, like a full disk, instead of killing the process mid-write.
    // SAFETY: setting a signal's disposition to SIG_IGN before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_message(&e));
            ExitCode::from(1)
        }
    }
}

/// Logs to stderr: warnings by default, `-v` info, `-vv` debug; `ICMBENCH_LOG` overrides.
fn init_logging(verbose: u8) {
    let default = match verbose {
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
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(a) => commands::run::run(a),
        Command::Score(a) => commands::score::run(a),
        Command::Models { action } => commands::models::run(action),
        Command::List { json } => commands::list::run(json),
        Command::Encode(a) => commands::coding::encode(a),
        Command::Decode(a) => commands::coding::decode(a),
        Command::Check { config } => commands::check::run(&config),
        Command::Report(a) => commands::report::run(a),
        Command::Plot(a) => commands::plot::run(a),
        Command::Bd(a) => commands::bd::run(a),
        Command::ExportCompressai(a) => commands::export::run(a),
        Command::Detect(a) => commands::detect::run(a),
        Command::EvalMap(a) => commands::eval_map::run(a),
        Command::Merge(a) => commands::merge::run(a),
        Command::Slurm(a) => commands::slurm::run(a),
    }
}

/// The error and its causes, each cause once: library errors often show their source in
/// their own message already, so a cause already in the text is not repeated.
fn error_message(e: &anyhow::Error) -> String {
    e.chain()
        .skip(1)
        .map(|c| c.to_string())
        .fold(e.to_string(), |msg, c| if msg.contains(&c) { msg } else { format!("{msg}: {c}") })
}
