//! On a real Slurm (issue 15): a single-node cluster on localhost (`scripts/slurm-local.sh`,
//! started here if it is not running; `make setup-test` installs slurm-wlm and munge, and
//! `make test` / `.ci/run` stop the daemons afterwards by their PIDs). If Slurm cannot
//! start, this test fails with the daemons' logs; it is never skipped.
//!
//! 1. `icmbench slurm CONFIG --shards 3 --submit`: the 3-task array and the merge-and-report
//!    job (afterok) run; the merged results equal an unsharded run of the same config row
//!    for row (timings and provenance aside), and the report tables are identical.
//! 2. A shard killed halfway (`scancel`) is unfinished for `merge`; resubmitted alone
//!    (`sbatch --array=1`), it resumes from its journal: rows computed before the kill are
//!    kept (their provenance names the first job), none is computed twice, and the merge
//!    equals the unsharded run again.
//!
//! The waits poll Slurm and the shards' files, each bounded; on a timeout the test fails
//! with `squeue`, the job logs and the daemons' logs.

mod common;
use common::{comparable, icmbench_ok, root, without_complexity};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use icmbench_reports::store::read_parquet;
use icmbench_reports::store::shard::{ShardRecord, ShardState};

/// Longest wait for one step (jobs here take seconds).
const STEP_TIMEOUT: Duration = Duration::from_secs(240);

fn script() -> PathBuf {
    root().join("scripts/slurm-local.sh")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The running cluster's SLURM_CONF (started here when it is not running).
fn cluster() -> String {
    let start = Command::new(script()).arg("start").output().unwrap();
    assert!(
        start.status.success(),
        "the local Slurm cluster did not start (`make setup-test` installs slurm-wlm and munge):\n{}",
        text(&start)
    );
    let env = Command::new(script()).arg("env").output().unwrap();
    let line = String::from_utf8_lossy(&env.stdout).to_string();
    line.trim()
        .strip_prefix("export SLURM_CONF=")
        .map(|s| s.trim_matches(['\'', '"']).to_string())
        .unwrap_or_else(|| panic!("slurm-local.sh env printed `{line}`"))
}

/// A Slurm client command with the cluster's config.
fn slurm(conf: &str, program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).env("SLURM_CONF", conf).output().unwrap()
}

/// What to show when a wait fails: the queue, the job logs and the daemons' logs.
fn diagnostics(conf: &str, out: &Path) -> String {
    let mut s = format!("squeue:\n{}\n", text(&slurm(conf, "squeue", &[])));
    if let Ok(entries) = std::fs::read_dir(out.join("slurm/logs")) {
        for e in entries.flatten() {
            s += &format!(
                "--- {}:\n{}\n",
                e.path().display(),
                std::fs::read_to_string(e.path()).unwrap_or_default()
            );
        }
    }
    s + &text(&Command::new(script()).arg("logs").output().unwrap())
}

/// Polls `done` (every 200 ms, at most [`STEP_TIMEOUT`]); fails with the diagnostics.
fn wait_for(what: &str, conf: &str, out: &Path, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < STEP_TIMEOUT,
            "timed out waiting for {what}\n{}",
            diagnostics(conf, out)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Whether none of `jobs` is in the queue any more.
fn gone(conf: &str, jobs: &[&str]) -> bool {
    let out = slurm(conf, "squeue", &["-h", "-o", "%i", "-j", &jobs.join(",")]);
    // squeue fails for job ids it no longer knows at all: gone too.
    String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

fn job_state(conf: &str, job: &str) -> String {
    let out = text(&slurm(conf, "scontrol", &["show", "job", job]));
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("JobState="))
        .unwrap_or("unknown")
        .to_string()
}

fn sbatch(conf: &str, args: &[&str]) -> String {
    let out = slurm(conf, "sbatch", &[&["--parsable"], args].concat());
    assert!(out.status.success(), "sbatch {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().split(';').next().unwrap().to_string()
}

/// The config: the six bundled photos at 96 px, JPEG at two qualities and an external
/// codec that waits at a gate (`gate/open`) before copying, PSNR, and the NanoDet detector
/// against its own boxes on the uncompressed photos.
fn config(dir: &Path, output: &str) -> PathBuf {
    let gate = dir.join("gate.sh");
    std::fs::write(
        &gate,
        "#!/bin/sh\n# Waits (at most 60 s) while the gate is closed, then copies the image.\n\
         g=\"$(dirname \"$0\")/gate\"\nif [ ! -e \"$g/open\" ]; then\n  touch \"$g/waiting-${SLURM_ARRAY_TASK_ID:-none}\"\n  i=0\n\
         while [ ! -e \"$g/open\" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\nfi\ncp \"$1\" \"$2\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("gate")).unwrap();
    let path = dir.join(format!("{output}.toml"));
    let body = format!(
        "output = \"{output}\"\nmetrics = [\"psnr-rgb\"]\njobs = 1\nintra_threads = 1\n\n\
         [task]\nkind = \"detection\"\nground_truth = \"pseudo\"\n\n\
         [[datasets]]\nname = \"samples\"\npath = \"{}\"\nmax_side = 96\nfit = \"downscale\"\n\n\
         [[codecs]]\nkind = \"jpeg\"\nqualities = [20, 60]\n\n\
         [[codecs]]\nkind = \"external\"\nid = \"gated-copy\"\nencode = [\"sh\", \"{}\", \"{{input}}\", \"{{output}}\"]\n\
         decode = [\"cp\", \"{{input}}\", \"{{output}}\"]\nqualities = [1]\ntimeout_s = 120\n",
        icmbench_datasets::samples_dir().display(),
        gate.display()
    );
    std::fs::write(&path, body).unwrap();
    path
}

fn report(out: &Path) -> String {
    icmbench_ok(&["report", out.to_str().unwrap(), "--anchor", "jpeg"]);
    without_complexity(&std::fs::read_to_string(out.join("report/report.md")).unwrap())
}

fn icmbench_slurm(conf: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_icmbench"))
        .arg("slurm")
        .args(args)
        .arg("--json")
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "icmbench slurm: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sharded_slurm_arrays_equal_an_unsharded_run_even_after_a_kill() {
    let conf = cluster();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("gate")).unwrap();
    std::fs::write(d.join("gate/open"), "").unwrap();
    // The unsharded run, on this machine.
    icmbench_ok(&["run", config(d, "whole").to_str().unwrap(), "--quiet"]);
    let whole_rows = comparable(read_parquet(&d.join("whole/results.parquet")).unwrap());
    assert_eq!(whole_rows.len(), 18);
    let whole_report = report(&d.join("whole"));

    // 1. The array and the merge-and-report job, submitted by icmbench.
    let out = d.join("clean");
    let submitted = icmbench_slurm(
        &conf,
        &[
            config(d, "clean").to_str().unwrap(),
            "--shards",
            "3",
            "--anchor",
            "jpeg",
            "--submit",
        ],
    );
    let (array, merge) = (submitted["array_job"].as_str().unwrap(), submitted["merge_job"].as_str().unwrap());
    wait_for("the array and the merge job", &conf, &out, || gone(&conf, &[array, merge]));
    assert_eq!(job_state(&conf, merge), "COMPLETED", "{}", diagnostics(&conf, &out));
    let merged = read_parquet(&out.join("results.parquet")).unwrap();
    assert!(
        merged
            .iter()
            .all(|r| r.provenance.as_ref().and_then(|p| p.slurm_array_job_id.as_deref()) == Some(array))
    );
    assert_eq!(comparable(merged), whole_rows);
    assert_eq!(
        without_complexity(&std::fs::read_to_string(out.join("report/report.md")).unwrap()),
        whole_report
    );

    // 2. A shard killed halfway, then resubmitted alone.
    std::fs::remove_file(d.join("gate/open")).unwrap();
    let out = d.join("killed");
    let written = icmbench_slurm(&conf, &[config(d, "killed").to_str().unwrap(), "--shards", "3"]);
    let array = sbatch(&conf, &[written["array_script"].as_str().unwrap()]);
    // Shard 1 blocks at the gate after its first image's JPEG rows.
    wait_for("shard 1 to reach the gate", &conf, &out, || d.join("gate/waiting-1").exists());
    let task = format!("{array}_1");
    let cancel = slurm(&conf, "scancel", &[&task]);
    assert!(cancel.status.success(), "{}", text(&cancel));
    wait_for("shard 1 to be killed", &conf, &out, || gone(&conf, &[&task]));
    assert_eq!(job_state(&conf, &task), "CANCELLED");
    let shard1 = out.join("shards/1-of-3");
    let record: ShardRecord = serde_json::from_str(&std::fs::read_to_string(shard1.join("shard.json")).unwrap()).unwrap();
    assert_eq!(record.state, ShardState::Running, "a killed shard is not finished");
    let journaled = std::fs::read_to_string(shard1.join("journal.jsonl")).unwrap().lines().count();
    assert!(journaled >= 2, "the rows before the kill are in the journal ({journaled})");
    std::fs::write(d.join("gate/open"), "").unwrap();
    wait_for("the other shards", &conf, &out, || gone(&conf, &[&array]));
    let refused = Command::new(env!("CARGO_BIN_EXE_icmbench"))
        .args(["merge", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("unfinished shards: 1-of-3"), "{}", text(&refused));

    let again = sbatch(&conf, &["--array=1", written["array_script"].as_str().unwrap()]);
    wait_for("shard 1 resubmitted", &conf, &out, || gone(&conf, &[&again]));
    icmbench_ok(&["merge", out.to_str().unwrap()]);
    let merged = read_parquet(&out.join("results.parquet")).unwrap();
    // Rows of shard 1: those journaled before the kill keep the first task's job, the rest
    // were computed by the resubmitted one; nothing twice.
    let tasks_of_shard1: std::collections::BTreeSet<String> = merged
        .iter()
        .filter(|r| record.images.iter().any(|i| i.image == r.image))
        .filter_map(|r| r.provenance.as_ref()?.slurm_array_job_id.clone())
        .collect();
    assert_eq!(tasks_of_shard1, [array.clone(), again.clone()].into_iter().collect());
    assert_eq!(comparable(merged), whole_rows);
    assert_eq!(report(&out), whole_report);
}
