//! Helpers shared by the harness's integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `icmbench` binary built for these tests.
pub fn icmbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_icmbench")).args(args).output().unwrap()
}

/// Runs the `icmbench` binary and asserts that it succeeded (its stderr in the message).
pub fn icmbench_ok(args: &[&str]) -> Output {
    let out = icmbench(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo")).join("..")
}

/// One of pyiqa's calibration images (`ref_dir` or `dist_dir`), fetched by `make test`.
pub fn calib(dir: &str, name: &str) -> PathBuf {
    root().join("third_party/iqa-calib").join(dir).join(format!("{name}.bmp"))
}

/// A report as compared across runs and shards: its complexity section aside (times are
/// measured on the machine that ran the rows; kMAC/px on the run's first image, and a
/// merge of shards has none).
pub fn without_complexity(md: &str) -> String {
    match md.split_once("## Complexity\n") {
        Some((before, after)) => {
            let rest = after.find("\n## ").map_or("", |i| &after[i + 1..]);
            format!("{before}{rest}")
        }
        None => md.to_string(),
    }
}

/// Rows as compared across runs and shards: timings and provenance aside.
pub fn comparable(rows: Vec<icmbench_reports::store::ResultRow>) -> Vec<icmbench_reports::store::ResultRow> {
    rows.iter().map(icmbench_reports::store::shard::comparable).collect()
}
