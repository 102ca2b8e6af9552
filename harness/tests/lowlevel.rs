//! Low-level tasks (LL-ICM) end to end: synthetic and paired datasets, the restorer on
//! decoded images, reference rows, resume, failures, and the LL-ICM summary and figures.

mod common;
use common::{icmbench, icmbench_ok};

use std::path::{Path, PathBuf};

use icmbench::config;
use icmbench::run::{RunOptions, run};
use icmbench::tasks::restoration::{REF_DEGRADED, REF_UNCOMPRESSED};
use icmbench_datasets::degrade::Degradation;
use icmbench_datasets::lowlevel::{synthetic, to_target_size};
use icmbench_datasets::{ImageEntry, Preprocess};
use icmbench_reports::store::ResultRow;

fn photos(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for name in ["chelsea.png", "coffee.png"] {
        std::fs::copy(icmbench_datasets::samples_dir().join(name), data.join(name)).unwrap();
    }
    data
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("run.toml");
    std::fs::write(&p, text).unwrap();
    p
}

const CODECS: &str = "[[codecs]]\nkind = \"jpeg\"\nqualities = [20, 80]\n\n[[codecs]]\nkind = \"png\"\nqualities = [0]\n";

fn sr_config(restorer: &str) -> String {
    format!(
        "output = \"out\"\nmetrics = [\"psnr\", \"niqe\"]\n\n[[datasets]]\nname = \"sr\"\npath = \"data\"\nmax_side = 200\ndegradation = {{ kind = \"downscale\", factor = 4 }}\nrestorer = {restorer}\n\n{CODECS}"
    )
}

fn opts() -> RunOptions {
    RunOptions {
        jobs: Some(2),
        ..Default::default()
    }
}

fn find<'a>(rows: &'a [ResultRow], codec: &str, image: &str) -> &'a ResultRow {
    rows.iter()
        .find(|r| r.codec == codec && r.image == image)
        .unwrap_or_else(|| panic!("no row {codec} {image}"))
}

#[test]
fn synthetic_super_resolution_scores_the_task_output_against_the_ideal_image() {
    let dir = tempfile::tempdir().unwrap();
    let data = photos(dir.path());
    let cfg = write(dir.path(), &sr_config("{ model = \"esrgan-slim-x4\", tile = 0 }"));
    let plan = config::load(&cfg).unwrap();
    let out = run(&plan, &opts()).unwrap();
    // 3 codec points + 2 reference rows per image.
    assert_eq!((out.rows.len(), out.computed), (10, 10));
    assert!(out.failures().is_empty(), "{:?}", out.failures());

    // The codec sees the degraded input: coffee 200x133 is cropped to 200x132, then /4.
    let jpeg = find(&out.rows, "jpeg", "coffee.png");
    assert_eq!((jpeg.width, jpeg.height), (50, 33), "{}", jpeg.preprocess);
    assert!(jpeg.preprocess.contains("mod-crop") && jpeg.preprocess.contains("Downscale"));
    assert_eq!(jpeg.bpp.unwrap(), jpeg.bytes.unwrap() as f64 * 8.0 / (50.0 * 33.0));

    // A lossless codec gives the task exactly the uncompressed input: same scores.
    for image in ["chelsea.png", "coffee.png"] {
        let png = find(&out.rows, "png", image);
        let reference = find(&out.rows, REF_UNCOMPRESSED, image);
        assert_eq!(png.metrics, reference.metrics, "{image}");
        assert!(reference.bpp.is_none() && reference.codec_kind == "reference");
        assert!(
            find(&out.rows, "jpeg", image).metrics["psnr-rgb"] < png.metrics["psnr-rgb"],
            "JPEG q20 loses to lossless"
        );
    }

    // The no-task reference: the degraded input, bicubic-resized, against the ideal image.
    let entry = ImageEntry {
        id: "coffee.png".into(),
        path: data.join("coffee.png"),
    };
    let pre = Preprocess {
        max_side: Some(200),
        ..Default::default()
    };
    let s = synthetic(&entry, &pre, &Degradation::Downscale { factor: 4 }, 0).unwrap();
    let expected = icmbench_metrics::by_name("psnr-rgb", &Default::default())
        .unwrap()
        .compute(&s.target, &to_target_size(&s.input.image, &s.target))
        .unwrap();
    assert_eq!(find(&out.rows, REF_DEGRADED, "coffee.png").metrics["psnr-rgb"], expected);

    // The restorer's complexity, counted on the dataset's first degraded input (×4 input).
    let cx = icmbench_reports::complexity::ComplexityFile::read(&out.store).expect("complexity.json");
    let m = cx
        .find("restorer@sr", icmbench_reports::complexity::Part::Restorer, None)
        .unwrap_or_else(|| panic!("{cx:?}"));
    assert!(m.error.is_none() && m.macs > 0, "{m:?}");
    assert!(m.image.as_deref().is_some_and(|i| i.starts_with("sr/") && i.contains('×')), "{m:?}");
    assert!(
        cx.measurements
            .iter()
            .all(|m| m.part == icmbench_reports::complexity::Part::Restorer),
        "PSNR and NIQE run no graph: {cx:?}"
    );

    // Resume: nothing recomputed. Another tiling is another task setting: every row that
    // depends on the restorer is recomputed, the no-task rows are reused, and the new rows
    // replace the old ones in the stored table (no stale duplicates for the report).
    let again = run(&plan, &opts()).unwrap();
    assert_eq!((again.computed, again.reused), (0, 10));
    std::fs::write(&cfg, sr_config("{ model = \"esrgan-slim-x4\", tile = 48, overlap = 12 }")).unwrap();
    let tiled = run(&config::load(&cfg).unwrap(), &opts()).unwrap();
    assert_eq!((tiled.computed, tiled.reused), (8, 2));
    let stored = icmbench_reports::store::read_parquet(&dir.path().join("out/results.parquet")).unwrap();
    assert_eq!(stored.len(), 10);

    // The report: the LL-ICM summary table and one figure per metric, panels per task.
    let report = dir.path().join("report");
    icmbench_ok(&[
        "report",
        dir.path().join("out").to_str().unwrap(),
        "--anchor",
        "jpeg",
        "--out",
        report.to_str().unwrap(),
        "--format",
        "md,csv,svg",
    ]);
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.starts_with("## LL-ICM summary"), "{md}");
    assert!(md.contains("| codec | sr psnr-rgb ↑ | sr niqe ↓ |"), "{md}");
    assert!(md.contains("| task-on-uncompressed |") && md.contains("| degraded-input |"), "{md}");
    let svg = std::fs::read_to_string(report.join("figures/ll-icm-psnr-rgb.svg")).unwrap();
    assert!(svg.contains("task-on-uncompressed") && svg.contains("sr: psnr-rgb"));
    assert!(report.join("ll-icm.csv").is_file());

    // CompressAI export: curves only, the reference rows have no rate.
    let exported = dir.path().join("exported");
    icmbench_ok(&[
        "export-compressai",
        dir.path().join("out").to_str().unwrap(),
        "--out",
        exported.to_str().unwrap(),
    ]);
    assert!(exported.join("sr/jpeg.json").is_file());
    assert!(!exported.join(format!("sr/{REF_UNCOMPRESSED}.json")).exists());
}

#[test]
fn a_restorer_of_the_wrong_scale_fails_its_rows_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    photos(dir.path());
    // The x4 model on a same-size task (noise): its output cannot be compared.
    let onnx = icmbench_models::models_dir().join("esrgan_slim_x4.onnx");
    std::fs::write(
        dir.path().join("sr.toml"),
        "input = \"lr\"\noutput = \"output_0\"\nlayout = \"nhwc\"\nrange = 255.0\nscale = 4\n",
    )
    .unwrap();
    let text = format!(
        "output = \"out\"\nmetrics = [\"psnr\"]\n\n[[datasets]]\nname = \"noise\"\npath = \"data\"\nmax_side = 40\ndegradation = {{ kind = \"noise\", sigma = 25.0 }}\nseed = 3\nrestorer = {{ onnx = \"{}\", spec = \"sr.toml\" }}\n\n{CODECS}",
        onnx.display()
    );
    let plan = config::load(&write(dir.path(), &text)).unwrap();
    let out = run(&plan, &opts()).unwrap();
    assert_eq!(out.rows.len(), 10);
    let failed = out.failures();
    assert_eq!(failed.len(), 8, "all but the no-task references");
    let e = failed[0].error.as_deref().unwrap();
    assert!(e.contains("gives 160x108 from a 40x27 input, but the ideal image is 40x27"), "{e}");
    assert!(find(&out.rows, REF_DEGRADED, "coffee.png").is_ok());
}

#[test]
fn paired_folders_must_match_and_are_used_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let (lq, gt) = (dir.path().join("lq"), dir.path().join("gt"));
    std::fs::create_dir_all(&lq).unwrap();
    std::fs::create_dir_all(&gt).unwrap();
    let src = image::open(icmbench_datasets::samples_dir().join("coffee.png")).unwrap().to_rgb8();
    let clean = image::imageops::crop_imm(&src, 100, 100, 64, 48).to_image();
    let noisy = icmbench_datasets::degrade::apply(&clean, &Degradation::Noise { sigma: 15.0 }, 1).unwrap();
    clean.save(gt.join("a.png")).unwrap();
    noisy.save(lq.join("a.png")).unwrap();
    noisy.save(lq.join("b.png")).unwrap();
    let text =
        format!("output = \"out\"\nmetrics = [\"psnr\"]\n\n[[datasets]]\nname = \"pairs\"\npath = \"lq\"\ntarget = \"gt\"\n\n{CODECS}");
    let cfg = write(dir.path(), &text);
    let plan = config::load(&cfg).unwrap();
    let e = run(&plan, &opts()).err().unwrap().to_string();
    assert!(e.contains("dataset `pairs`") && e.contains("[b.png]"), "{e}");
    // The command line says it once and fails.
    let o = icmbench(&["run", cfg.to_str().unwrap(), "--quiet"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && stderr.matches("[b.png]").count() == 1, "{stderr}");
    std::fs::remove_file(lq.join("b.png")).unwrap();
    let out = run(&plan, &opts()).unwrap();
    // Without a restorer the decoded image itself is scored; no task-on-uncompressed row.
    assert_eq!(out.rows.len(), 4);
    let png = find(&out.rows, "png", "a.png");
    let no_task = find(&out.rows, REF_DEGRADED, "a.png");
    assert_eq!(png.metrics, no_task.metrics);
    let expected = icmbench_metrics::by_name("psnr-rgb", &Default::default())
        .unwrap()
        .compute(&clean, &noisy)
        .unwrap();
    assert_eq!(no_task.metrics["psnr-rgb"], expected);
}

#[test]
fn the_shipped_examples_are_valid_configs() {
    let dir = common::root().join("examples");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            config::load(&p).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 2, "{n} examples");
    let ll = config::load(&dir.join("ll-icm.toml")).unwrap();
    assert!(ll.datasets.iter().all(|d| d.is_lowlevel() && d.restorer.is_some()));
    // The LL-ICM example scores PSNR and SSIM in DA-CLIP's convention (Y, 4-pixel crop), and
    // DISTS, as restoration papers' tables do.
    for m in ["psnr-y-crop4", "ssim-y-crop4", "dists"] {
        assert!(ll.metrics.iter().any(|x| x == m), "{:?}", ll.metrics);
    }
    // The six-task config: six low-level datasets, each with its own built-in restorer, and
    // its crop variant the same tasks (degradations, seeds, restorers), codecs and metrics
    // on 192-pixel center crops.
    let six = config::load(&dir.join("ll-icm-six.toml")).unwrap();
    let crop = config::load(&dir.join("ll-icm-six-crop.toml")).unwrap();
    let models: std::collections::BTreeSet<_> = six.datasets.iter().filter_map(|d| d.restorer.as_ref()?.model.clone()).collect();
    assert_eq!((six.datasets.len(), models.len()), (6, 6), "{models:?}");
    let task = |d: &config::DatasetConfig| {
        (
            d.name.clone(),
            format!("{:?}", d.degradation),
            d.seed,
            d.restorer.as_ref().and_then(|r| r.model.clone()),
        )
    };
    assert_eq!(
        six.datasets.iter().map(task).collect::<Vec<_>>(),
        crop.datasets.iter().map(task).collect::<Vec<_>>()
    );
    assert!(crop.datasets.iter().all(|d| d.max_side == Some(192) && d.limit.is_some()));
    assert_eq!(six.metrics, crop.metrics);
    let ids = |p: &config::Plan| p.codecs.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&six), ids(&crop));
}

/// An iterative (IR-SDE) restorer in a run: the tiny test step graph and its context graph
/// (tests/fixtures/irsde), seeded. Every row records the seed; a resume reuses every row; a
/// rerun in a fresh folder gives the same scores (each restoration draws from the seed
/// alone, not from the order of the rows); another seed is another restorer (its rows are
/// recomputed, the no-task rows reused); `seed` on a direct restorer is refused.
#[test]
fn an_iterative_restorer_runs_seeded_and_records_its_seed() {
    let fixtures = common::root().join("tests/fixtures/irsde");
    let config = |seed: u64| {
        format!(
            "output = \"out\"\nmetrics = [\"psnr\"]\n\n[[datasets]]\nname = \"noise\"\npath = \"data\"\nmax_side = 24\ndegradation = {{ kind = \"noise\", sigma = 25.0 }}\nseed = 3\nrestorer = {{ onnx = \"{0}/tiny_unet.onnx\", spec = \"{0}/irsde.toml\", seed = {seed} }}\n\n{CODECS}",
            fixtures.display()
        )
    };
    let scores = |dir: &Path, seed: u64| {
        photos(dir);
        let out = run(&config::load(&write(dir, &config(seed))).unwrap(), &opts()).unwrap();
        assert!(out.failures().is_empty(), "{:?}", out.failures());
        assert_eq!(out.rows.len(), 10);
        out
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = scores(a.path(), 7);
    for r in &first.rows {
        let note = "restorer ir-sde Posterior 100 steps, seed 7";
        assert_eq!(
            r.preprocess.contains(note),
            r.codec != REF_DEGRADED,
            "{}: {}",
            r.codec,
            r.preprocess
        );
    }
    let psnr = |rows: &[ResultRow]| -> Vec<(String, String, f64)> {
        rows.iter()
            .map(|r| (r.image.clone(), r.codec.clone(), r.metrics["psnr-rgb"]))
            .collect()
    };
    assert_eq!(psnr(&first.rows), psnr(&scores(b.path(), 7).rows), "same seed, same scores");
    let again = run(&config::load(&a.path().join("run.toml")).unwrap(), &opts()).unwrap();
    assert_eq!((again.computed, again.reused), (0, 10));
    let other = scores(a.path(), 8);
    assert_eq!((other.computed, other.reused), (8, 2));
    let changed = psnr(&other.rows).iter().zip(psnr(&first.rows)).filter(|(x, y)| x.2 != y.2).count();
    assert!(changed >= 6, "another seed, other samples: {changed} of 10 scores changed");

    // `seed` belongs to iterative restorers only.
    let direct = tempfile::tempdir().unwrap();
    photos(direct.path());
    let text = sr_config("{ model = \"esrgan-slim-x4\", tile = 0, seed = 1 }");
    let plan = config::load(&write(direct.path(), &text)).unwrap();
    let Err(e) = run(&plan, &opts()) else {
        panic!("seed on a direct restorer was accepted")
    };
    let e = e.to_string();
    assert!(e.contains("`seed` is for iterative restorers"), "{e}");
}
