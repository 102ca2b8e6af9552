//! Sharded runs and `icmbench merge` (issue 15) without a cluster: three shards merged
//! equal an unsharded run row for row (timings and provenance aside), with the same
//! ground truth and report; a merge of missing or unfinished shards is refused, or marked
//! partial in every table; duplicates across shard layouts are kept once when equal and
//! named when they differ; merging twice gives the same bytes.

mod common;
use common::{comparable, icmbench, icmbench_ok, without_complexity};

use std::path::{Path, PathBuf};

use icmbench_reports::store::shard::{ShardRecord, ShardState};
use icmbench_reports::store::{read_parquet, write_parquet};

/// A small run: the six bundled photos at 96 px, two codecs, PSNR and SSIM, and the NanoDet
/// detector against its own boxes on the uncompressed photos (mAP over the dataset).
fn config(dir: &Path, output: &str) -> PathBuf {
    let path = dir.join(format!("{output}.toml"));
    let body = format!(
        "output = \"{output}\"\nmetrics = [\"psnr-rgb\", \"ssim-grey\"]\njobs = 1\nintra_threads = 1\n\n\
         [task]\nkind = \"detection\"\nground_truth = \"pseudo\"\n\n\
         [[datasets]]\nname = \"samples\"\npath = \"{}\"\nmax_side = 96\nfit = \"downscale\"\n\n\
         [[codecs]]\nkind = \"jpeg\"\nqualities = [20, 60]\n\n[[codecs]]\nkind = \"webp\"\nqualities = [40]\n",
        icmbench_datasets::samples_dir().display()
    );
    std::fs::write(&path, body).unwrap();
    path
}

fn run(config: &Path, extra: &[&str]) {
    let mut args = vec!["run", config.to_str().unwrap(), "--quiet"];
    args.extend(extra);
    icmbench_ok(&args);
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn report_md(out: &Path) -> String {
    icmbench_ok(&["report", out.to_str().unwrap(), "--anchor", "jpeg", "--format", "md"]);
    without_complexity(&std::fs::read_to_string(out.join("report/report.md")).unwrap())
}

/// The unsharded run's folder (rows, ground truth and report written).
fn unsharded(dir: &Path) -> PathBuf {
    run(&config(dir, "whole"), &[]);
    dir.join("whole")
}

#[test]
fn three_shards_merge_into_the_unsharded_results() {
    let dir = tempfile::tempdir().unwrap();
    let whole = unsharded(dir.path());
    let cfg = config(dir.path(), "sharded");
    for k in 0..3 {
        run(&cfg, &["--shard", &format!("{k}/3")]);
    }
    let out = dir.path().join("sharded");
    // Every image in exactly one shard, with all its rows; the shards differ by at most one image.
    let mut sizes = Vec::new();
    for k in 0..3 {
        let record: ShardRecord =
            serde_json::from_str(&std::fs::read_to_string(out.join(format!("shards/{k}-of-3/shard.json"))).unwrap()).unwrap();
        assert_eq!(record.state, ShardState::Finished);
        assert_eq!(record.rows, record.images.len() * 3);
        sizes.push(record.images.len());
    }
    assert_eq!(sizes, vec![2, 2, 2]);
    icmbench_ok(&["merge", out.to_str().unwrap()]);
    let merged = read_parquet(&out.join("results.parquet")).unwrap();
    assert_eq!(merged.len(), 18);
    assert_eq!(
        comparable(merged.clone()),
        comparable(read_parquet(&whole.join("results.parquet")).unwrap())
    );
    for r in &merged {
        let p = r.provenance.as_ref().expect("every merged row keeps its provenance");
        assert!(!p.host.is_empty() && !p.started.is_empty() && !p.finished.is_empty() && !p.git_commit.is_empty());
        assert_eq!(p.icmbench_version, env!("CARGO_PKG_VERSION"));
    }
    let gt = |o: &Path| std::fs::read(o.join("ground_truth/nanodet/samples.json")).unwrap();
    assert_eq!(gt(&out), gt(&whole), "the merged pseudo ground truth is the unsharded one");
    // The shards' coded streams come along, so that a task added after the merge decodes them.
    let streams = |o: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(o.join("bitstreams"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    assert_eq!(streams(&out), streams(&whole));
    assert_eq!(streams(&out).len(), 18);
    let report = report_md(&out);
    assert!(report.contains("map_vs_uncompressed"), "{report}");
    assert_eq!(report, report_md(&whole));
    // Merging again gives the same bytes.
    let files = ["results.parquet", "results.csv", "run.json", "ground_truth/nanodet/samples.json"];
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
    icmbench_ok(&["merge", out.to_str().unwrap()]);
    let after: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
    assert!(before == after, "a second merge changed the files");
}

#[test]
fn missing_or_unfinished_shards_are_named_and_partial_merges_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "out");
    let out = dir.path().join("out");
    run(&cfg, &["--shard", "0/3"]);
    run(&cfg, &["--shard", "2/3"]);
    // Shard 2 as a killed run leaves it: recorded as running.
    let record_path = out.join("shards/2-of-3/shard.json");
    let mut record: ShardRecord = serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    record.state = ShardState::Running;
    std::fs::write(&record_path, serde_json::to_string(&record).unwrap()).unwrap();

    let refused = icmbench(&["merge", out.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    let text = stderr(&refused);
    assert!(
        text.contains("missing shards: 1-of-3") && text.contains("unfinished shards: 2-of-3"),
        "{text}"
    );
    assert!(!out.join("results.parquet").exists(), "a refused merge writes nothing");

    let partial = icmbench(&["merge", out.to_str().unwrap(), "--allow-partial", "--json"]);
    assert_eq!(partial.status.code(), Some(2), "{}", stderr(&partial));
    let outcome: serde_json::Value = serde_json::from_slice(&partial.stdout).unwrap();
    assert_eq!(outcome["partial"], true);
    assert_eq!(outcome["rows"], 12);
    icmbench_ok(&["report", out.to_str().unwrap(), "--anchor", "jpeg"]);
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    // Every table (BD, per quality, and the machine tasks' tables), each a run of `|` lines.
    let lines: Vec<&str> = md.lines().collect();
    let tables = (0..lines.len())
        .filter(|&i| lines[i].starts_with('|') && (i == 0 || !lines[i - 1].starts_with('|')))
        .count();
    assert!(tables >= 2 && md.contains("| codec") && md.contains("task models × rate points"));
    assert_eq!(
        md.matches("PARTIAL RESULTS").count(),
        tables + 1,
        "a note above the report and each table:\n{md}"
    );
    for csv in ["bd.csv", "points.csv"] {
        let text = std::fs::read_to_string(out.join("report").join(csv)).unwrap();
        assert!(text.lines().next().unwrap().ends_with(",partial"), "{csv}");
        assert!(text.lines().skip(1).all(|l| l.contains("PARTIAL RESULTS")), "{csv}");
    }

    // The killed shard resumes from its store (nothing computed twice), the missing one
    // runs, and the merge is whole again.
    let resumed = icmbench_ok(&["run", cfg.to_str().unwrap(), "--shard", "2/3", "--json"]);
    let resumed: serde_json::Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(resumed["computed"], 0, "{resumed}");
    run(&cfg, &["--shard", "1/3"]);
    icmbench_ok(&["merge", out.to_str().unwrap()]);
    let md = report_md(&out);
    assert!(!md.contains("PARTIAL"), "{md}");
    assert_eq!(read_parquet(&out.join("results.parquet")).unwrap().len(), 18);
}

#[test]
fn overlapping_layouts_keep_equal_rows_once_and_name_differing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "out");
    let out = dir.path().join("out");
    for shard in ["0/2", "1/2", "0/3", "1/3", "2/3"] {
        run(&cfg, &["--shard", shard]);
    }
    icmbench_ok(&["merge", out.to_str().unwrap()]);
    assert_eq!(read_parquet(&out.join("results.parquet")).unwrap().len(), 18, "each slot once");

    // One shard's stored PSNR changed: the slot is named, nothing is written.
    let table = out.join("shards/1-of-2/results.parquet");
    let mut rows = read_parquet(&table).unwrap();
    let changed = format!("{} {} q={}", rows[0].image, rows[0].codec, rows[0].quality);
    *rows[0].metrics.get_mut("psnr-rgb").unwrap() += 0.5;
    write_parquet(&table, &rows).unwrap();
    let before = std::fs::read(out.join("results.parquet")).unwrap();
    let refused = icmbench(&["merge", out.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    let text = stderr(&refused);
    assert!(
        text.contains(&changed) && text.contains("1-of-2") && text.contains("metrics"),
        "{text}"
    );
    assert_eq!(std::fs::read(out.join("results.parquet")).unwrap(), before);
}

#[test]
fn shards_of_different_configs_are_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "out");
    run(&cfg, &["--shard", "0/2"]);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("qualities = [20, 60]", "qualities = [20, 70]");
    std::fs::write(&cfg, text).unwrap();
    run(&cfg, &["--shard", "1/2"]);
    let refused = icmbench(&["merge", dir.path().join("out").to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("different configs"), "{}", stderr(&refused));
}

#[test]
fn shard_from_the_environment_and_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "out");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_icmbench"))
        .args(["run", cfg.to_str().unwrap(), "--quiet", "--shard", "env"])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "4")
        .env("SLURM_JOB_ID", "77")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let record: ShardRecord =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/shards/1-of-4/shard.json")).unwrap()).unwrap();
    assert_eq!(record.provenance.slurm_job_id.as_deref(), Some("77"));
    let rows = read_parquet(&dir.path().join("out/shards/1-of-4/results.parquet")).unwrap();
    assert!(
        rows.iter()
            .all(|r| r.provenance.as_ref().and_then(|p| p.slurm_job_id.as_deref()) == Some("77"))
    );
    for bad in ["3/3", "x", "env/0"] {
        let refused = icmbench(&["run", cfg.to_str().unwrap(), "--shard", bad]);
        assert_eq!(refused.status.code(), Some(2), "clap refuses `{bad}`");
        assert!(stderr(&refused).contains("--shard"), "{}", stderr(&refused));
    }
    let no_env = std::process::Command::new(env!("CARGO_BIN_EXE_icmbench"))
        .args(["run", cfg.to_str().unwrap(), "--shard", "env/2"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("HQ_TASK_ID")
        .output()
        .unwrap();
    assert_eq!(no_env.status.code(), Some(1));
    assert!(stderr(&no_env).contains("SLURM_ARRAY_TASK_ID"), "{}", stderr(&no_env));
}
