//! End-to-end runs of the harness on small real data: results, resume, failures,
//! external codecs, and the command line.

mod common;
use common::{icmbench, icmbench_ok};

use std::path::{Path, PathBuf};
use std::process::Command;

use icmbench::config;
use icmbench::run::{RunOptions, run};
use icmbench_reports::store::{CSV, JOURNAL, PARQUET, Store};
use icmbench_reports::store::{Journal, read_parquet};

fn samples() -> PathBuf {
    icmbench_datasets::samples_dir()
}

/// A dataset folder with two bundled photos (copied, so tests can add files).
fn two_photos(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for name in ["chelsea.png", "coffee.png"] {
        std::fs::copy(samples().join(name), data.join(name)).unwrap();
    }
    data
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("run.toml");
    let text = format!(
        "output = \"out\"\nmetrics = [\"psnr\", \"ssim\", \"ms-ssim\"]\n\n[[datasets]]\nname = \"two\"\npath = \"data\"\nmax_side = 256\n\n{body}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

const CODECS: &str = "[[codecs]]\nkind = \"jpeg\"\nqualities = [20, 80]\n\n[[codecs]]\nkind = \"png\"\nqualities = [0]\n";

fn opts() -> RunOptions {
    RunOptions {
        jobs: Some(2),
        ..Default::default()
    }
}

#[test]
fn run_writes_results_and_resumes_without_recomputing() {
    let dir = tempfile::tempdir().unwrap();
    two_photos(dir.path());
    let cfg = write_config(dir.path(), CODECS);
    let plan = config::load(&cfg).unwrap();
    let first = run(&plan, &opts()).unwrap();
    assert_eq!((first.rows.len(), first.computed, first.reused), (6, 6, 0));
    assert!(first.failures().is_empty(), "{:?}", first.failures());

    let out = dir.path().join("out");
    let stored = read_parquet(&out.join(PARQUET)).unwrap();
    assert_eq!(stored, first.rows);
    assert!(out.join(CSV).is_file());
    // run.json records where the ONNX models ran (one device per run, no fallback).
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(meta["runtime"]["device"], "cpu", "{meta}");
    assert_eq!(meta["runtime"]["execution_provider"], "CPUExecutionProvider");
    assert_eq!(
        std::fs::metadata(out.join(JOURNAL)).unwrap().len(),
        0,
        "journal emptied after the table is written"
    );

    let by = |codec: &str, q: f64, image: &str| {
        stored
            .iter()
            .find(|r| r.codec == codec && r.quality == q && r.image == image)
            .unwrap()
    };
    let (low, high) = (by("jpeg", 20.0, "coffee.png"), by("jpeg", 80.0, "coffee.png"));
    assert!(low.bpp.unwrap() < high.bpp.unwrap());
    assert!(low.metrics["psnr-rgb"] < high.metrics["psnr-rgb"]);
    assert_eq!((low.width, low.height), (256, 171), "{}", low.preprocess);
    assert_eq!(low.bpp.unwrap(), low.bytes.unwrap() as f64 * 8.0 / (256.0 * 171.0));
    let png = by("png", 0.0, "chelsea.png");
    assert_eq!(png.metrics["psnr-rgb"], f64::INFINITY);
    assert_eq!(png.metrics["ssim-grey"], 1.0);
    assert!(png.codec_version.contains("png"));

    let second = run(&plan, &opts()).unwrap();
    assert_eq!((second.computed, second.reused), (0, 6));
    assert_eq!(second.rows, first.rows);
}

#[test]
fn interrupted_run_resumes_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    two_photos(dir.path());
    let cfg = write_config(dir.path(), CODECS);
    let plan = config::load(&cfg).unwrap();
    let first = run(&plan, &opts()).unwrap();
    // Simulate a run killed after three rows: only the journal holds them.
    let out = dir.path().join("out");
    std::fs::remove_file(out.join(PARQUET)).unwrap();
    std::fs::remove_file(out.join(CSV)).unwrap();
    let mut journal = Journal::open(&out.join(JOURNAL)).unwrap();
    for row in &first.rows[..3] {
        journal.append(row).unwrap();
    }
    drop(journal);
    let resumed = run(&plan, &opts()).unwrap();
    assert_eq!((resumed.computed, resumed.reused), (3, 3));
    assert_eq!(resumed.rows.len(), 6);
    assert_eq!(Store::new(&out).load().unwrap().len(), 6);
}

#[test]
fn a_new_metric_recomputes_rows() {
    let dir = tempfile::tempdir().unwrap();
    two_photos(dir.path());
    let cfg = write_config(dir.path(), CODECS);
    run(&config::load(&cfg).unwrap(), &opts()).unwrap();
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("\"ms-ssim\"]", "\"ms-ssim\", \"psnr-y601\"]");
    std::fs::write(&cfg, text).unwrap();
    let again = run(&config::load(&cfg).unwrap(), &opts()).unwrap();
    assert_eq!(again.computed, 6);
    assert!(again.rows.iter().all(|r| r.metrics.contains_key("psnr-y601")));
}

#[test]
fn corrupt_image_and_failing_codec_become_failed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = two_photos(dir.path());
    std::fs::write(data.join("broken.png"), b"\x89PNG\r\n\x1a\ntruncated").unwrap();
    let body = format!(
        "{CODECS}\n[[codecs]]\nkind = \"external\"\nid = \"broken-tool\"\nencode = [\"sh\", \"-c\", \"echo no codec here >&2; exit 4\", \"{{output}}\"]\ndecode = [\"cp\", \"{{input}}\", \"{{output}}\"]\nqualities = [1]\n"
    );
    let cfg = write_config(dir.path(), &body);
    let outcome = run(&config::load(&cfg).unwrap(), &opts()).unwrap();
    assert_eq!(outcome.rows.len(), 12);
    let failures = outcome.failures();
    // broken.png fails with every codec (4 rows), broken-tool fails on the two photos.
    assert_eq!(failures.len(), 6, "{failures:#?}");
    for f in &failures {
        let err = f.error.as_deref().unwrap();
        if f.image == "broken.png" {
            assert!(err.contains("broken.png"), "{err}");
        } else {
            assert_eq!(f.codec, "broken-tool");
            assert!(err.contains("no codec here") && err.starts_with("encode:"), "{err}");
        }
    }
    assert_eq!(outcome.rows.iter().filter(|r| r.is_ok()).count(), 6);
    // Failed rows are retried on the next run; finished ones are not.
    let again = run(&config::load(&cfg).unwrap(), &opts()).unwrap();
    assert_eq!((again.computed, again.reused), (6, 6));
}

#[test]
fn external_codec_runs_a_real_jpeg_xl_tool() {
    let found = Command::new("cjxl").arg("--version").output();
    assert!(
        found.is_ok(),
        "cjxl is not installed: `scripts/setup.sh --test` (or `make test`) installs Debian's libjxl-tools"
    );
    let dir = tempfile::tempdir().unwrap();
    two_photos(dir.path());
    let cfg = write_config(
        dir.path(),
        "[[codecs]]\nkind = \"external\"\npreset = \"cjxl\"\nqualities = [30, 90]\n",
    );
    let outcome = run(
        &config::load(&cfg).unwrap(),
        &RunOptions {
            save_reconstructions: Some(dir.path().join("recon")),
            ..opts()
        },
    )
    .unwrap();
    assert!(outcome.failures().is_empty(), "{:#?}", outcome.failures());
    let row = |q: f64| outcome.rows.iter().find(|r| r.quality == q && r.image == "coffee.png").unwrap();
    assert!(row(30.0).bytes.unwrap() < row(90.0).bytes.unwrap());
    assert!(row(90.0).metrics["psnr-rgb"] > row(30.0).metrics["psnr-rgb"]);
    assert!(row(90.0).metrics["psnr-rgb"] > 30.0);
    assert!(row(30.0).codec_version.contains("cjxl"), "{}", row(30.0).codec_version);
    let saved = dir.path().join("recon/two/cjxl/q90/coffee.png.png");
    assert_eq!(image::open(&saved).unwrap().to_rgb8().dimensions(), (256, 171));
}

#[test]
fn cli_score_prints_json_and_text() {
    let a = samples().join("coffee.png");
    let out = icmbench_ok(&[
        "score",
        "--metric",
        "psnr",
        "--ref",
        a.to_str().unwrap(),
        "--dist",
        a.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["metric"], "psnr-rgb");
    assert!(v["value"].is_null() && v["note"].as_str().unwrap().contains("infinite"));

    let out = icmbench(&[
        "score",
        "--metric",
        "nope",
        "--ref",
        a.to_str().unwrap(),
        "--dist",
        a.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("psnr-rgb"));

    let missing = icmbench(&[
        "score",
        "--metric",
        "ssim",
        "--ref",
        a.to_str().unwrap(),
        "--dist",
        "/nonexistent/x.png",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/x.png"));
}

#[test]
fn cli_run_exit_code_reports_failures_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = two_photos(dir.path());
    let cfg = write_config(dir.path(), "[[codecs]]\nkind = \"webp\"\nqualities = [50]\n");
    let out = icmbench(&["run", cfg.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"], 2);
    assert!(v["summary"][0]["bpp_mean"].as_f64().unwrap() > 0.0);
    assert!(v["summary"][0]["metrics"]["ms-ssim-rgb"].as_f64().unwrap() > 0.8);

    std::fs::write(data.join("zz-broken.jpg"), b"\xff\xd8\xff garbage").unwrap();
    let out = icmbench(&["run", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 computed, 2 reused") && stdout.contains("1 failed"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAILED two/zz-broken.jpg"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "output = 3\n").unwrap();
    let out = icmbench(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.toml:1:10"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
