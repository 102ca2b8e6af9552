//! `icmbench report`, `plot`, `bd` and `export-compressai` end to end.

mod common;
use common::{icmbench, icmbench_ok, root};

use std::path::{Path, PathBuf};

/// A small real run: two photos, JPEG and WebP at four qualities.
fn small_run(dir: &Path) -> PathBuf {
    let cfg = dir.join("run.toml");
    std::fs::write(
        &cfg,
        format!(
            "output = \"out\"\nmetrics = [\"psnr\", \"ms-ssim\"]\n[[datasets]]\nname = \"photos\"\npath = \"{}\"\nlimit = 2\nmax_side = 256\n\
             [[codecs]]\nkind = \"jpeg\"\nqualities = [10, 30, 60, 90]\n[[codecs]]\nkind = \"webp\"\nqualities = [5, 25, 55, 85]\n",
            icmbench_datasets::samples_dir().display()
        ),
    )
    .unwrap();
    icmbench_ok(&["run", cfg.to_str().unwrap(), "--quiet"]);
    dir.join("out")
}

#[test]
fn report_writes_tables_figures_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let results = small_run(dir.path());
    let out = icmbench_ok(&["report", results.to_str().unwrap(), "--anchor", "jpeg"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("## photos: BD-rate vs `jpeg`") && md.contains("| webp |") && md.contains("psnr-rgb ↑"),
        "{md}"
    );
    let report = results.join("report");
    for f in [
        "report.md",
        "bd.csv",
        "points.csv",
        "report.tex",
        "report.json",
        "report.html",
        "figures/photos.svg",
        "figures/photos.png",
        "figures/photos-psnr-rgb.png",
        "per_image_bd.csv",
        "figures/photos-rcd-psnr-rgb.svg",
        "figures/photos-per-image-bd-psnr-rgb.png",
    ] {
        assert!(report.join(f).is_file(), "missing {f}");
    }
    // Intervals in the cells, the reliability note, per-image BD and codec times.
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        md.contains("95 % percentile bootstrap interval over images (1000 resamples, seed 2024)")
            && md.contains("reliability of each BD cell")
            && md.contains("per-image BD-rate vs `jpeg`")
            && md.contains("## Complexity"),
        "{md}"
    );
    let webp = md
        .lines()
        .find(|l| l.starts_with("| webp | ") && l.contains("] ("))
        .expect("a cell with an interval");
    assert!(webp.contains(" [-"), "{webp}");
    let csv = std::fs::read_to_string(report.join("bd.csv")).unwrap();
    assert!(csv.starts_with(
        "dataset,anchor,codec,metric,lower_is_better,method,bpp,monotone_fit,bd_rate_percent,bd_metric,bd_rate_low,bd_rate_high"
    ));
    let per_image = std::fs::read_to_string(report.join("per_image_bd.csv")).unwrap();
    assert_eq!(per_image.lines().count(), 1 + 2 * 2, "2 images x 2 metrics: {per_image}");
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("libjpeg-turbo") && html.contains("[[codecs]]"),
        "html lacks figures, versions or config"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&icmbench(&["report", results.to_str().unwrap(), "--json", "--format", "json"]).stdout).unwrap();
    let cell = &json["datasets"][0]["bd"][0];
    assert_eq!(cell["codec"], "webp");
    assert!(cell["bd_rate"].as_f64().unwrap() < 0.0, "WebP beats JPEG on PSNR: {cell}");
    let png = image::open(report.join("figures/photos.png")).unwrap();
    assert_eq!((png.width(), png.height()), (1280, 480));
}

#[test]
fn report_rejects_unknown_anchor_and_format() {
    let dir = tempfile::tempdir().unwrap();
    let results = small_run(dir.path());
    let out = icmbench(&["report", results.to_str().unwrap(), "--anchor", "vtm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("anchor codec `vtm` not found; codecs: jpeg, webp"));
    let out = icmbench(&["report", results.to_str().unwrap(), "--format", "docx"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format `docx`"));
}

#[test]
fn bd_command_reads_csv_and_compressai_json() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let t = dir.path().join("t.csv");
    // bjontegaard's example_usage.py test case 1.
    std::fs::write(&a, "rate,metric\n9487.76,40.037\n4593.60,38.615\n2486.44,36.845\n1358.24,34.851\n").unwrap();
    std::fs::write(&t, "rate,metric\n9787.80,40.121\n4469.00,38.651\n2451.52,36.970\n1356.24,34.987\n").unwrap();
    for (method, rate, metric) in [
        ("pchip", -4.4174853506, 0.1196927854),
        ("akima", -4.4252451570, 0.1194092703),
        ("cubic", -4.4204627061, 0.1204094191),
    ] {
        let out = icmbench_ok(&[
            "bd",
            "--anchor",
            a.to_str().unwrap(),
            "--test",
            t.to_str().unwrap(),
            "--method",
            method,
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!((v["bd_rate"].as_f64().unwrap() - rate).abs() < 1e-6, "{method}: {v}");
        assert!((v["bd_metric"].as_f64().unwrap() - metric).abs() < 1e-6, "{method}: {v}");
    }
    let kodak = root().join("tests/fixtures/compressai-kodak");
    let out = icmbench(&[
        "bd",
        "--anchor",
        kodak.join("vtm.json").to_str().unwrap(),
        "--test",
        kodak.join("jpeg.json").to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((v["bd_rate"].as_f64().unwrap() - 208.4910).abs() < 1e-3, "{v}");

    std::fs::write(&t, "rate,metric\n1,2\nx,3\n").unwrap();
    let out = icmbench(&["bd", "--anchor", a.to_str().unwrap(), "--test", t.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("t.csv:3: rate `x` is not a number"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&t, "rate,metric\n1000,30\n2000,29\n4000,35\n").unwrap();
    let out = icmbench(&["bd", "--anchor", a.to_str().unwrap(), "--test", t.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("curve `t` is not monotone") && err.contains("rate 1000, metric 30"),
        "{err}"
    );
}

#[test]
fn export_compressai_round_trips_through_bd_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let results = small_run(dir.path());
    let exported = dir.path().join("exported");
    icmbench_ok(&["export-compressai", results.to_str().unwrap(), "--out", exported.to_str().unwrap()]);
    let jpeg = exported.join("photos/jpeg.json");
    let webp = exported.join("photos/webp.json");
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&jpeg).unwrap()).unwrap();
    assert_eq!(file["name"], "jpeg");
    assert_eq!(file["results"]["bpp"].as_array().unwrap().len(), 4);
    assert!(file["results"]["psnr-rgb"][0].as_f64().unwrap() > 20.0);
    // BD from the exported files equals BD from the report on the original results.
    let bd: serde_json::Value =
        serde_json::from_slice(&icmbench(&["bd", "--anchor", jpeg.to_str().unwrap(), "--test", webp.to_str().unwrap(), "--json"]).stdout)
            .unwrap();
    let rep: serde_json::Value =
        serde_json::from_slice(&icmbench(&["report", results.to_str().unwrap(), "--json", "--format", "json"]).stdout).unwrap();
    let cell = rep["datasets"][0]["bd"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "psnr-rgb")
        .unwrap()
        .clone();
    assert!(
        (bd["bd_rate"].as_f64().unwrap() - cell["bd_rate"].as_f64().unwrap()).abs() < 1e-9,
        "{bd} vs {cell}"
    );
    // Imported curves join the results' dataset in a report.
    let vtm = root().join("tests/fixtures/compressai-kodak/vtm.json");
    let out = icmbench(&[
        "report",
        results.to_str().unwrap(),
        vtm.to_str().unwrap(),
        "--format",
        "md",
        "--out",
        dir.path().join("r").to_str().unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("| VTM |"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A learned codec in a run: its rows carry the estimated rate beside the real one, the
/// report shows both and their gap, and `--device` reaches the codec's sessions.
#[test]
fn learned_codec_run_reports_actual_and_estimated_rate() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("run.toml");
    let codec = root().join("tests/fixtures/learned/mean-scale-hyperprior");
    std::fs::write(
        &cfg,
        format!(
            "output = \"out\"\nmetrics = [\"psnr\"]\n[[datasets]]\nname = \"photos\"\npath = \"{}\"\nlimit = 2\nmax_side = 200\n\
             [[codecs]]\nkind = \"jpeg\"\nqualities = [10, 50]\n[[codecs]]\nkind = \"learned\"\nid = \"msh\"\npath = \"{}\"\nqualities = [1]\n",
            icmbench_datasets::samples_dir().display(),
            codec.display()
        ),
    )
    .unwrap();
    icmbench_ok(&["run", cfg.to_str().unwrap(), "--quiet", "--json"]);
    let rows = icmbench_reports::store::read_parquet(&dir.path().join("out/results.parquet")).unwrap();
    let learned: Vec<_> = rows.iter().filter(|r| r.codec == "msh").collect();
    assert_eq!(learned.len(), 2);
    for r in &learned {
        assert!(r.is_ok(), "{:?}", r.error);
        let (bpp, est) = (r.bpp.unwrap(), r.bpp_estimated.unwrap());
        assert!(est > 0.0 && bpp > est * 0.9, "{bpp} vs {est}");
        assert!(r.codec_version.contains("bitstream v2"), "{}", r.codec_version);
    }
    assert!(rows.iter().filter(|r| r.codec == "jpeg").all(|r| r.bpp_estimated.is_none()));
    let md =
        String::from_utf8_lossy(&icmbench(&["report", dir.path().join("out").to_str().unwrap(), "--anchor", "jpeg"]).stdout).to_string();
    assert!(md.contains("est. bpp | actual/est.") && md.contains("| msh | 1 |"), "{md}");
    let md = std::fs::read_to_string(dir.path().join("out/report/report.md")).unwrap();
    // Complexity: the learned codec's two sides were counted on the first image.
    let cx = icmbench_reports::complexity::ComplexityFile::read(&dir.path().join("out")).expect("complexity.json");
    use icmbench_reports::complexity::Part;
    for part in [Part::Encoder, Part::Decoder] {
        let m = cx.find("msh", part, Some(1.0)).unwrap_or_else(|| panic!("{part:?}: {cx:?}"));
        assert!(m.error.is_none() && m.macs > 0 && m.kmac_per_pixel > 0.0, "{m:?}");
    }
    assert!(cx.find("jpeg", Part::Encoder, Some(10.0)).is_none(), "JPEG runs no graph");
    let complexity = md.split("## Complexity").nth(1).expect("a complexity section");
    assert!(complexity.contains("| jpeg | 10 | — | — |"), "{complexity}");
    let msh = complexity.lines().find(|l| l.starts_with("| msh | 1 |")).expect("msh row");
    assert!(!msh.contains("| — | — |"), "{msh}");
    // CUDA is refused for the codec's sessions as for metrics (this machine has no GPU),
    // and the failure is a row error with the reason, not a crash.
    let out = icmbench(&["run", cfg.to_str().unwrap(), "--quiet", "--json", "--device", "cuda:0"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CUDA") || out.status.success(), "{text}");
}

/// A learned codec folder without codec.json is a config error naming the folder.
#[test]
fn learned_codec_without_a_contract_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("run.toml");
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    std::fs::write(
        &cfg,
        "output = \"out\"\nmetrics = [\"psnr\"]\n[[datasets]]\nname = \"x\"\npath = \".\"\n[[codecs]]\nkind = \"learned\"\npath = \"empty\"\nqualities = [1]\n",
    )
    .unwrap();
    let out = icmbench(&["check", cfg.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty") && err.contains("codec.json"), "{err}");
}
