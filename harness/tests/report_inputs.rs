//! What `report`, `plot`, `export-compressai`, `bd` and `eval-map` do with hostile or odd
//! inputs: names from a received results table never make a path leave `--out`, the HTML
//! report embeds only the run's own config copy, inputs are size-capped, a BOM is accepted,
//! `--min-overlap` is range-checked and eval-map refuses files that are not detections.

mod common;
use common::{icmbench, icmbench_ok, root};

use std::path::{Path, PathBuf};

use icmbench_reports::store::{ResultRow, write_parquet};

/// A finished row of `dataset`/`codec` at quality `q`.
fn row(dataset: &str, codec: &str, q: f64, bpp: f64, psnr: f64) -> ResultRow {
    serde_json::from_value(serde_json::json!({
        "dataset": dataset, "image": "a.png", "image_hash": "h", "width": 8, "height": 8,
        "conversion": "rgb8", "preprocess": "none", "codec": codec, "codec_kind": "jpeg",
        "codec_version": "v1", "quality": q, "status": "ok", "error": null, "bytes": 10,
        "bpp": bpp, "encode_ms": 1.0, "decode_ms": 1.0, "metrics": {"psnr-rgb": psnr},
    }))
    .expect("a result row")
}

/// A results folder `dir` whose table has the given (dataset, codec) curves.
fn results_folder(dir: &Path, curves: &[(&str, &str)]) {
    let mut rows = Vec::new();
    for (i, (dataset, codec)) in curves.iter().enumerate() {
        for (q, (bpp, psnr)) in [(0.2, 28.0), (0.4, 31.0), (0.8, 34.0), (1.6, 37.0)].into_iter().enumerate() {
            rows.push(row(dataset, codec, q as f64, bpp * (1.0 + 0.1 * i as f64), psnr));
        }
    }
    write_parquet(&dir.join("results.parquet"), &rows).unwrap();
}

/// Every file under `dir`, recursively.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A received results folder whose dataset names are an absolute path and `../../x`, and
/// whose codecs are `a/b` and `../../c`: `report`, `plot` and `export-compressai` write
/// only inside their `--out` (the names are percent-encoded, with a warning).
#[test]
fn names_from_results_never_leave_the_output_folder() {
    let top = tempfile::tempdir().unwrap();
    // Deep enough that `../../` stays inside the temporary tree, where the test can see it.
    let base = top.path().join("a/b/c");
    let results = base.join("results");
    std::fs::create_dir_all(&results).unwrap();
    let evil = top.path().join("evil");
    let evil = evil.to_str().unwrap();
    results_folder(
        &results,
        &[(evil, "jpeg"), (evil, "a/b"), ("../../x", "jpeg"), ("../../x", "../../c")],
    );
    for (args, out) in [
        (vec!["report", results.to_str().unwrap(), "--anchor", "jpeg"], base.join("rep")),
        (vec!["plot", results.to_str().unwrap()], base.join("fig")),
        (vec!["export-compressai", results.to_str().unwrap()], base.join("cai")),
    ] {
        let before = tree(top.path());
        let mut args = args.clone();
        args.extend(["--out", out.to_str().unwrap()]);
        let o = icmbench_ok(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("warning: dataset name") && stderr.contains("not a safe file name"),
            "{args:?}: {stderr}"
        );
        for f in tree(top.path()) {
            assert!(
                before.contains(&f) || f.starts_with(&out),
                "{args:?} wrote {} outside {}",
                f.display(),
                out.display()
            );
        }
        assert!(!tree(&out).is_empty(), "{args:?} wrote nothing");
    }
    let figures: Vec<String> = tree(&base.join("rep/figures"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(figures.contains(&"..%2F..%2Fx.svg".to_string()), "{figures:?}");
    let exported = tree(&base.join("cai"));
    assert!(exported.contains(&base.join("cai/..%2F..%2Fx/..%2F..%2Fc.json")), "{exported:?}");
    assert!(exported.contains(&base.join("cai/..%2F..%2Fx/jpeg.json")), "{exported:?}");
}

/// `report` embeds the config copy the run keeps in its folder, never the file that
/// `run.json` names (here /etc/passwd), and does not follow a link in the folder.
#[test]
fn report_embeds_only_the_runs_config_copy() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    results_folder(&results, &[("photos", "jpeg"), ("photos", "webp")]);
    let secret = dir.path().join("secret.toml");
    std::fs::write(&secret, "token = \"do-not-embed-me\"\n").unwrap();
    std::fs::write(
        results.join("run.json"),
        serde_json::json!({"config": secret.to_str().unwrap(), "icmbench_version": "x"}).to_string(),
    )
    .unwrap();
    let html = |name: &str| {
        let out = dir.path().join(name);
        icmbench_ok(&[
            "report",
            results.to_str().unwrap(),
            "--format",
            "html",
            "--out",
            out.to_str().unwrap(),
        ]);
        std::fs::read_to_string(out.join("report.html")).unwrap()
    };
    let page = html("no-copy");
    assert!(!page.contains("do-not-embed-me"), "the file run.json names was embedded");
    assert!(page.contains("icmbench_version"), "run.json itself is embedded");
    std::fs::write(results.join("config.toml"), "# marker-of-the-copy\n[[codecs]]\n").unwrap();
    let page = html("copy");
    assert!(page.contains("marker-of-the-copy") && !page.contains("do-not-embed-me"));
    std::fs::remove_file(results.join("config.toml")).unwrap();
    std::os::unix::fs::symlink(&secret, results.join("config.toml")).unwrap();
    let page = html("link");
    assert!(!page.contains("do-not-embed-me"), "a link in the folder was followed");
    if Path::new("/etc/passwd").is_file() {
        std::fs::write(results.join("run.json"), r#"{"config": "/etc/passwd"}"#).unwrap();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        let first = passwd.lines().next().unwrap_or("root:x:0:0");
        assert!(!html("passwd").contains(first));
    }
}

/// A UTF-8 BOM before `rate,metric` (Excel writes one) is accepted; endless or huge
/// inputs stop at the cap with an error naming the file.
#[test]
fn bd_accepts_a_bom_and_caps_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let t = dir.path().join("t.csv");
    std::fs::write(&a, "\u{feff}rate,metric\n0.1,30\n0.2,32\n0.4,34\n0.8,36\n").unwrap();
    std::fs::write(&t, "\u{feff}rate,metric\n0.08,30\n0.16,32\n0.32,34\n0.64,36\n").unwrap();
    let out = icmbench_ok(&["bd", "--anchor", a.to_str().unwrap(), "--test", t.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((v["bd_rate"].as_f64().unwrap() + 20.0).abs() < 1e-6, "{v}");
    // A header that is wrong shows its invisible characters.
    std::fs::write(&t, "rate\u{200b},metric\n0.1,30\n").unwrap();
    let out = icmbench(&["bd", "--anchor", a.to_str().unwrap(), "--test", t.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("\\u{200b}"), "{e}");
    // An endless CSV, and a CompressAI JSON file that is a link to /dev/zero.
    let zero_json = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero_json).unwrap();
    for (args, name) in [
        (vec!["bd", "--anchor", "/dev/zero", "--test", t.to_str().unwrap()], "/dev/zero"),
        (
            vec!["bd", "--anchor", a.to_str().unwrap(), "--test", zero_json.to_str().unwrap()],
            "zero.json",
        ),
    ] {
        let out = icmbench(&args);
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {e}");
        assert!(e.contains(name) && e.contains("larger than 64 MiB"), "{args:?}: {e}");
    }
}

/// `--min-overlap` must be a number from 0 to 1, for `bd` and `report`.
#[test]
fn min_overlap_is_range_checked() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "rate,metric\n0.1,30\n0.2,32\n").unwrap();
    let a = a.to_str().unwrap();
    for v in [
        "--min-overlap=NaN",
        "--min-overlap=-1",
        "--min-overlap=1.5",
        "--min-overlap=inf",
        "--min-overlap=x",
    ] {
        let out = icmbench(&["bd", "--anchor", a, "--test", a, v]);
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && e.contains("--min-overlap"), "{v}: {e}");
        assert!(e.contains("from 0 to 1") || e.contains("not a number"), "{v}: {e}");
        let out = icmbench(&["report", dir.path().to_str().unwrap(), v]);
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && e.contains("--min-overlap"), "report {v}: {e}");
    }
    icmbench_ok(&["bd", "--anchor", a, "--test", a, "--min-overlap=0"]);
    icmbench_ok(&["bd", "--anchor", a, "--test", a, "--min-overlap", "1"]);
}

/// `eval-map` given the ground truth as the results (AP 1.0 before), or an object that is
/// not a list (AP 0 before), fails with the file named; `/dev/zero` is refused at once.
#[test]
fn eval_map_refuses_what_is_not_detections() {
    let gt = root().join("tests/fixtures/coco/gt_dataset.json");
    let gt = gt.to_str().unwrap();
    let out = icmbench(&["eval-map", "--gt", gt, "--dt", gt]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("gt_dataset.json: a JSON object, not a list of detections"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let foo = dir.path().join("foo.json");
    std::fs::write(&foo, r#"{"foo": 1}"#).unwrap();
    let out = icmbench(&["eval-map", "--gt", gt, "--dt", foo.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("foo.json: a JSON object"));
    let out = icmbench(&["eval-map", "--gt", "/dev/zero", "--dt", gt]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("/dev/zero: not a regular file"), "{e}");
    let dt = root().join("tests/fixtures/coco/dt_dataset.json");
    let out = icmbench_ok(&["eval-map", "--gt", gt, "--dt", dt.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"].as_array().unwrap().len(), 12);
    assert!(v["warnings"].is_array(), "{v}");
}
