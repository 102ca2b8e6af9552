//! The result store's promises under duplicates, concurrent writers, torn journals, full
//! disks and hostile names (issue 12): no row is ever dropped or counted twice, one writer
//! holds an output folder, an interrupted run always resumes, and names never become paths
//! outside the output folder.

mod common;
use common::{icmbench, icmbench_ok};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use icmbench::config;
use icmbench::run::{RunOptions, run};
use icmbench_reports::store::{CONFIG_COPY, JOURNAL, LOCK, PARQUET, Store};
use icmbench_reports::store::{Journal, ResultRow, read_parquet};
use serde_json::Value;

fn samples() -> PathBuf {
    icmbench_datasets::samples_dir()
}

/// chelsea.png, an RGBA copy of it (same pixels once converted to RGB), and coffee.png,
/// cropped small so the tests are quick.
fn duplicate_photos(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let chelsea = image::open(samples().join("chelsea.png")).unwrap().to_rgb8();
    let chelsea = image::imageops::crop_imm(&chelsea, 0, 0, 96, 64).to_image();
    chelsea.save(data.join("chelsea.png")).unwrap();
    image::DynamicImage::ImageRgb8(chelsea.clone())
        .to_rgba8()
        .save(data.join("chelsea-rgba.png"))
        .unwrap();
    let coffee = image::open(samples().join("coffee.png")).unwrap().to_rgb8();
    image::imageops::crop_imm(&coffee, 40, 40, 80, 72)
        .to_image()
        .save(data.join("coffee.png"))
        .unwrap();
    data
}

fn config_at(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("run.toml");
    std::fs::write(&path, body).unwrap();
    path
}

const TWO_DATASETS_ONE_FOLDER: &str = "output = \"out\"\nmetrics = [\"psnr\"]\n\n\
[[datasets]]\nname = \"a\"\npath = \"data\"\n\n[[datasets]]\nname = \"b\"\npath = \"data\"\n\n\
[[codecs]]\nkind = \"jpeg\"\nqualities = [20, 80]\n";

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// (dataset, codec, quality) -> (ok rows, mean PSNR) from a list of points or summary lines.
fn by_point(lines: &[Value]) -> BTreeMap<(String, String, String), (u64, f64)> {
    lines
        .iter()
        .map(|l| {
            let psnr = &l["metrics"]["psnr-rgb"];
            let mean = psnr.get("mean").unwrap_or(psnr).as_f64().unwrap();
            (
                (
                    l["dataset"].as_str().unwrap().to_string(),
                    l["codec"].as_str().unwrap().to_string(),
                    l["quality"].to_string(),
                ),
                (l["ok"].as_u64().unwrap(), mean),
            )
        })
        .collect()
}

/// Duplicate images (an RGBA copy of an RGB image) and two datasets on one folder: every
/// row is stored once, and the stored table, the run's summary and the report agree.
#[test]
fn identical_pixels_never_drop_rows() {
    let dir = tempfile::tempdir().unwrap();
    duplicate_photos(dir.path());
    let cfg = config_at(dir.path(), TWO_DATASETS_ONE_FOLDER);
    let cfg = cfg.to_str().unwrap();
    let first = json(&icmbench_ok(&["run", cfg, "--json", "--jobs", "2"]));
    assert_eq!(first["rows"], 12, "{first}");
    let out = dir.path().join("out");
    let stored = read_parquet(&out.join(PARQUET)).unwrap();
    assert_eq!(stored.len(), 12, "2 datasets x 3 images x 2 qualities");
    let ids: std::collections::BTreeSet<_> = stored.iter().map(ResultRow::id).collect();
    assert_eq!(ids.len(), 12, "each slot once");
    let a = |image: &str| {
        stored
            .iter()
            .find(|r| r.dataset == "a" && r.image == image && r.quality == 20.0)
            .unwrap()
    };
    assert_eq!(
        a("chelsea.png").image_hash,
        a("chelsea-rgba.png").image_hash,
        "the copy has the same pixels"
    );

    let summary = by_point(first["summary"].as_array().unwrap());
    let report = json(&icmbench_ok(&[
        "report",
        out.to_str().unwrap(),
        "--anchor",
        "jpeg",
        "--json",
        "--format",
        "json",
    ]));
    let points: Vec<Value> = report["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["points"].as_array().unwrap().clone())
        .collect();
    let reported = by_point(&points);
    assert_eq!(summary.len(), 4);
    for (k, (ok, mean)) in &summary {
        assert_eq!(*ok, 3, "{k:?}");
        let (rok, rmean) = reported[k];
        assert_eq!(rok, *ok, "{k:?}");
        assert!((rmean - mean).abs() < 1e-9, "{k:?}: report {rmean}, run {mean}");
        let rows: Vec<f64> = stored
            .iter()
            .filter(|r| r.dataset == k.0 && r.codec == k.1 && r.quality.to_string() == k.2.trim_end_matches(".0"))
            .map(|r| r.metrics["psnr-rgb"])
            .collect();
        assert_eq!(rows.len(), 3, "{k:?}");
        assert!((rows.iter().sum::<f64>() / 3.0 - mean).abs() < 1e-9);
    }

    // A second run reuses every row and still stores all twelve.
    let again = json(&icmbench_ok(&["run", cfg, "--json"]));
    assert_eq!((again["computed"].as_u64(), again["reused"].as_u64()), (Some(0), Some(12)));
    assert_eq!(read_parquet(&out.join(PARQUET)).unwrap().len(), 12);
}

/// A quality listed twice is a config error naming the codec and the quality.
#[test]
fn duplicate_qualities_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    duplicate_photos(dir.path());
    let cfg = config_at(
        dir.path(),
        "output = \"out\"\nmetrics = [\"psnr\"]\n[[datasets]]\nname = \"a\"\npath = \"data\"\n[[codecs]]\nkind = \"jpeg\"\nqualities = [50, 50, 50]\n",
    );
    let out = icmbench(&["run", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("quality 50 is listed twice") && err.contains("run.toml:"), "{err}");
}

/// Dataset names and codec ids that would become paths outside the output folder.
#[test]
fn names_that_escape_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    duplicate_photos(dir.path());
    for (dataset, codec) in [("..", "jpeg"), ("a", ".."), ("/tmp/x", "jpeg"), ("a", "x/y"), (".hidden", "jpeg")] {
        let cfg = config_at(
            dir.path(),
            &format!(
                "output = \"out\"\nmetrics = [\"psnr\"]\n[[datasets]]\nname = \"{dataset}\"\npath = \"data\"\n[[codecs]]\nkind = \"jpeg\"\nid = \"{codec}\"\nqualities = [50]\n"
            ),
        );
        let out = icmbench(&[
            "run",
            cfg.to_str().unwrap(),
            "--save-reconstructions",
            dir.path().join("rec").to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{dataset} {codec}: {err}");
        assert!(err.contains("it becomes a folder or file name"), "{err}");
    }
    assert!(!dir.path().join("rec").exists() && !dir.path().join("out").exists());
}

/// `x.png` and `x.jpg` keep their own reconstructions.
#[test]
fn reconstructions_are_unique_per_source_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = duplicate_photos(dir.path());
    let img = image::open(data.join("coffee.png")).unwrap().to_rgb8();
    img.save(data.join("coffee.jpg")).unwrap();
    std::fs::remove_file(data.join("chelsea-rgba.png")).unwrap();
    let cfg = config_at(
        dir.path(),
        "output = \"out\"\nmetrics = [\"psnr\"]\n[[datasets]]\nname = \"a\"\npath = \"data\"\n[[codecs]]\nkind = \"jpeg\"\nqualities = [50]\n",
    );
    let rec = dir.path().join("rec");
    icmbench_ok(&[
        "run",
        cfg.to_str().unwrap(),
        "--save-reconstructions",
        rec.to_str().unwrap(),
        "--quiet",
    ]);
    let q = rec.join("a/jpeg/q50");
    let mut names: Vec<String> = std::fs::read_dir(&q)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["chelsea.png.png", "coffee.jpg.png", "coffee.png.png"]);
}

/// One writer per output folder: a held lock stops a second run with the holder's PID and
/// host; a lock file left by a dead run is taken over with a warning.
#[test]
fn one_writer_per_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    duplicate_photos(dir.path());
    let cfg = config_at(dir.path(), TWO_DATASETS_ONE_FOLDER);
    let out = dir.path().join("out");
    let held = Store::new(&out).lock().unwrap();
    let second = icmbench(&["run", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is in use by another icmbench run") && err.contains(&format!("pid {} on ", std::process::id())),
        "{err}"
    );
    assert!(!out.join(PARQUET).exists(), "the second run wrote nothing");
    drop(held);
    assert_eq!(std::fs::read_to_string(out.join(LOCK)).unwrap(), "", "released cleanly");

    // A dead run's lock file (the OS already released its lock): taken over.
    std::fs::write(out.join(LOCK), "pid 4242 on elsewhere, started at unix time 1").unwrap();
    let third = icmbench(&["run", cfg.to_str().unwrap(), "--quiet"]);
    let err = String::from_utf8_lossy(&third.stderr);
    assert!(third.status.success(), "{err}");
    assert!(err.contains("stale lock") && err.contains("pid 4242 on elsewhere"), "{err}");
    assert_eq!(read_parquet(&out.join(PARQUET)).unwrap().len(), 12);
}

/// The journal of a run cut at every byte offset (a crash or a full disk mid-write, in
/// ASCII and inside multi-byte characters): the next run never fails, reuses every
/// complete row, and the final table has every row once; a second interruption after a
/// resume heals the same way.
#[test]
fn journal_cut_at_every_offset_always_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let img = image::open(samples().join("coffee.png")).unwrap().to_rgb8();
    image::imageops::crop_imm(&img, 0, 0, 24, 16)
        .to_image()
        .save(data.join("café.png"))
        .unwrap();
    image::imageops::crop_imm(&img, 30, 30, 20, 18)
        .to_image()
        .save(data.join("naïve.png"))
        .unwrap();
    let cfg = config_at(
        dir.path(),
        "output = \"out\"\nmetrics = [\"psnr\"]\n[[datasets]]\nname = \"a\"\npath = \"data\"\n[[codecs]]\nkind = \"jpeg\"\nqualities = [30, 70]\n",
    );
    let plan = config::load(&cfg).unwrap();
    let opts = RunOptions {
        jobs: Some(1),
        ..Default::default()
    };
    let full = run(&plan, &opts).unwrap();
    assert_eq!(full.rows.len(), 4);
    let out = dir.path().join("out");
    // The journal the run would leave if killed just before writing the table.
    let mut bytes = Vec::new();
    for r in &full.rows {
        bytes.extend(serde_json::to_vec(r).unwrap());
        bytes.push(b'\n');
    }
    let line_ends: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).collect();
    assert!(String::from_utf8_lossy(&bytes).contains("café"));
    for cut in 0..=bytes.len() {
        std::fs::remove_file(out.join(PARQUET)).ok();
        std::fs::write(out.join(JOURNAL), &bytes[..cut]).unwrap();
        let complete = line_ends.iter().filter(|&&e| e <= cut).count() + usize::from(line_ends.iter().any(|&e| e == cut + 1)); // cut just before a newline
        let loaded = Store::new(&out).load().unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(loaded.len(), complete, "cut at {cut}");
        // Second interruption: the journal is healed on open, one more row appended, cut again.
        let mut j = Journal::open(&out.join(JOURNAL)).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        j.append(&full.rows[3]).unwrap();
        drop(j);
        let healed = std::fs::read(out.join(JOURNAL)).unwrap();
        let mut torn = healed.clone();
        torn.extend_from_slice(&bytes[..cut.min(bytes.len() / 2)]);
        std::fs::write(out.join(JOURNAL), &torn).unwrap();
        let again = Store::new(&out).load().unwrap_or_else(|e| panic!("cut at {cut}, second tear: {e}"));
        assert!(again.len() >= complete.max(1), "cut at {cut}");
    }
    // One full resume from a cut inside a multi-byte character.
    let inside = bytes.windows(2).position(|w| w == "é".as_bytes()).unwrap() + 1;
    std::fs::write(out.join(JOURNAL), &bytes[..inside]).unwrap();
    let resumed = run(&plan, &opts).unwrap();
    assert_eq!((resumed.computed, resumed.reused, resumed.rows.len()), (4, 0, 4));
    let cut = line_ends[1] + 5;
    std::fs::remove_file(out.join(PARQUET)).unwrap();
    std::fs::write(out.join(JOURNAL), &bytes[..cut]).unwrap();
    let resumed = run(&plan, &opts).unwrap();
    assert_eq!((resumed.computed, resumed.reused), (2, 2));
    let same = |rows: &[ResultRow]| -> Vec<_> { rows.iter().map(|r| (r.id(), r.bytes, r.metrics.clone())).collect() };
    assert_eq!(same(&read_parquet(&out.join(PARQUET)).unwrap()), same(&full.rows));
}

/// A journal that cannot be written (the file-size limit stands in for a full disk) stops
/// the run at once with the OS error; the rows written before it are kept and reused.
#[test]
fn journal_write_errors_stop_the_run_and_keep_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    duplicate_photos(dir.path());
    let cfg = config_at(dir.path(), TWO_DATASETS_ONE_FOLDER);
    // 2 KiB: a few journal rows fit, the rest do not.
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 4 && exec \"$0\" run \"$1\" --jobs 1 --quiet")
        .arg(env!("CARGO_BIN_EXE_icmbench"))
        .arg(&cfg)
        .env("ICMBENCH_LOG", "debug")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("journal.jsonl") && err.contains("File too large"), "{err}");
    let store = Store::new(&dir.path().join("out"));
    let kept = store.load().unwrap();
    assert!(!kept.is_empty() && kept.len() < 12, "{} rows kept", kept.len());
    // It stopped at once: the rows kept, and the one whose write failed; nothing after.
    let computed = err.lines().filter(|l| l.contains("computed ")).count();
    assert_eq!(computed, kept.len() + 1, "{err}");
    assert!(!dir.path().join("out").join(PARQUET).exists());
    let resumed = json(&icmbench_ok(&["run", cfg.to_str().unwrap(), "--json"]));
    // Kept rows are reused, and so are the rows of other slots with the same pixels.
    let reused = resumed["reused"].as_u64().unwrap();
    assert!(reused >= kept.len() as u64, "{resumed}");
    assert_eq!(reused + resumed["computed"].as_u64().unwrap(), 12, "{resumed}");
    assert_eq!(read_parquet(&dir.path().join("out").join(PARQUET)).unwrap().len(), 12);
}

/// Endless or huge inputs are refused with the cap named, not read until memory runs out;
/// `--jobs` is capped at a multiple of the cores.
#[test]
fn inputs_and_jobs_are_bounded() {
    let out = icmbench(&["run", "/dev/zero"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("/dev/zero") && err.contains("1 MiB") && err.contains("a config file is a few kilobytes"),
        "{err}"
    );
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(
        icmbench::run::effective_jobs(Some(100_000)),
        cores * icmbench::run::MAX_JOBS_PER_CORE
    );
    assert_eq!(icmbench::run::effective_jobs(Some(1)), 1);
    assert_eq!(icmbench::run::effective_jobs(None), cores);
    // Models' sessions are bounded by the workers: one per worker with set intra-op
    // threads (so that workers do not queue for one session), one with ONNX Runtime's
    // default of every core per run.
    let set = icmbench_models::RuntimeOptions {
        intra_threads: 1,
        ..Default::default()
    };
    assert_eq!(icmbench::run::worker_runtime(set, 3).max_sessions(), 3);
    assert_eq!(icmbench::run::worker_runtime(Default::default(), 3).max_sessions(), 1);
}

/// The run keeps a copy of its config, which is what reports embed.
#[test]
fn the_run_keeps_a_copy_of_its_config() {
    let dir = tempfile::tempdir().unwrap();
    duplicate_photos(dir.path());
    let cfg = config_at(dir.path(), TWO_DATASETS_ONE_FOLDER);
    icmbench_ok(&["run", cfg.to_str().unwrap(), "--quiet"]);
    let copy = std::fs::read_to_string(dir.path().join("out").join(CONFIG_COPY)).unwrap();
    assert_eq!(copy, TWO_DATASETS_ONE_FOLDER);
}

/// Figure names are one-to-one: dataset `x`'s PSNR figure (`x-psnr-rgb`) and dataset
/// `x-psnr-rgb`'s panel figure would share a file; the second gets a suffix and a warning.
#[test]
fn figure_names_never_overwrite_each_other() {
    let dir = tempfile::tempdir().unwrap();
    duplicate_photos(dir.path());
    let cfg = config_at(
        dir.path(),
        "output = \"out\"\nmetrics = [\"psnr\"]\n[[datasets]]\nname = \"x\"\npath = \"data\"\n\
         [[datasets]]\nname = \"x-psnr-rgb\"\npath = \"data\"\n\
         [[codecs]]\nkind = \"jpeg\"\nqualities = [30, 70]\n[[codecs]]\nkind = \"webp\"\nqualities = [30, 70]\n",
    );
    icmbench_ok(&["run", cfg.to_str().unwrap(), "--quiet"]);
    let out = dir.path().join("out");
    let report = icmbench_ok(&[
        "report",
        out.to_str().unwrap(),
        "--anchor",
        "jpeg",
        "--format",
        "svg",
        "--out",
        dir.path().join("r").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&report.stderr);
    assert!(err.contains("figure name `x-psnr-rgb` is used twice"), "{err}");
    let figures = dir.path().join("r/figures");
    for name in ["x.svg", "x-psnr-rgb.svg", "x-psnr-rgb~2.svg", "x-psnr-rgb-psnr-rgb.svg"] {
        assert!(figures.join(name).is_file(), "{name} missing");
    }
}
