//! Several machine tasks in one run (`[[tasks]]`): each task's output is stored in the row
//! under its name with its model's identity and gives its own columns; a task added to a
//! finished run is computed from the stored streams without coding again; a task that
//! fails on its images keeps its error in the rows, names itself, and leaves the other
//! tasks' columns and the rows standing (exit code 2).

mod common;

use std::path::Path;

use icmbench_models::models_dir;

/// A config on three bundled photos, an external copy codec that logs every encode into
/// `log`, and the given task tables.
fn config(dir: &Path, log: &Path, tasks: &str) -> std::path::PathBuf {
    let cfg = dir.join("run.toml");
    let body = format!(
        "output = \"out\"\nmetrics = [\"psnr\"]\n{tasks}\n[[datasets]]\nname = \"photos\"\npath = \"{}\"\nlimit = 3\nmax_side = 320\n\
         [[codecs]]\nkind = \"jpeg\"\nqualities = [10, 80]\n\
         [[codecs]]\nkind = \"external\"\nid = \"logged-copy\"\nencode = [\"sh\", \"-c\", \"echo x >> {}; cp \\\"$0\\\" \\\"$1\\\"\", \"{{input}}\", \"{{output}}\"]\n\
         decode = [\"cp\", \"{{input}}\", \"{{output}}\"]\nqualities = [1]\n",
        icmbench_datasets::samples_dir().display(),
        log.display()
    );
    std::fs::write(&cfg, body).unwrap();
    cfg
}

const NANODET: &str = "[[tasks]]\nname = \"nano\"\nkind = \"detection\"\nground_truth = \"pseudo\"\n";
const NANODET_TUNED: &str = "[[tasks]]\nname = \"nano-tuned\"\nkind = \"detection\"\nmodel = \"nanodet\"\nground_truth = \"pseudo\"\nregime = \"fine-tuned-on-decoded\"\n";

fn lines(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |t| t.lines().count())
}

fn summary(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// One task, then a second one added: the second run encodes nothing (the external codec's
/// log does not grow), keeps every row's rate and first task's output, and adds the second
/// task's output and columns; a third run reuses everything.
#[test]
fn adding_a_task_decodes_the_stored_streams_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("encodes.log");
    let cfg = config(dir.path(), &log, NANODET);
    let first = summary(&common::icmbench_ok(&["run", cfg.to_str().unwrap(), "--quiet", "--json"]));
    assert_eq!((first["computed"].as_u64(), lines(&log)), (Some(9), 3), "{first}");
    let out = dir.path().join("out");
    let before = icmbench_reports::store::read_parquet(&out.join("results.parquet")).unwrap();
    assert!(before.iter().all(|r| r.tasks.len() == 1 && r.tasks["nano"].is_ok()));
    assert_eq!(std::fs::read_dir(out.join("bitstreams")).unwrap().count(), 9);

    let cfg = config(dir.path(), &log, &format!("{NANODET}{NANODET_TUNED}"));
    let second = summary(&common::icmbench_ok(&["run", cfg.to_str().unwrap(), "--quiet", "--json"]));
    assert_eq!(lines(&log), 3, "the added task made the codec encode again");
    let after = icmbench_reports::store::read_parquet(&out.join("results.parquet")).unwrap();
    assert_eq!(after.len(), before.len());
    for (a, b) in after.iter().zip(&before) {
        assert_eq!((a.bytes, a.encode_ms, &a.tasks["nano"]), (b.bytes, b.encode_ms, &b.tasks["nano"]));
        let tuned = &a.tasks["nano-tuned"];
        assert!(tuned.model.ends_with(":fine-tuned-on-decoded") && tuned.model != a.tasks["nano"].model);
        // The same model on the same decoded image: the same boxes.
        assert_eq!(tuned.detections, a.tasks["nano"].detections);
    }
    let point = &second["summary"][1]["metrics"];
    assert!(
        point["map_vs_uncompressed@nano"].is_number() && point["map_vs_uncompressed@nano-tuned"].is_number(),
        "{point}"
    );
    assert_eq!(point["map_vs_uncompressed@nano"], point["map_vs_uncompressed@nano-tuned"]);
    assert!(out.join("ground_truth/nano-tuned/task.json").is_file() && out.join("ground_truth/nano/photos.json").is_file());

    let third = summary(&common::icmbench_ok(&["run", cfg.to_str().unwrap(), "--quiet", "--json"]));
    assert_eq!((third["computed"].as_u64(), lines(&log)), (Some(0), 3));
}

/// A task whose contract names an output the model lacks fails on every image: each row
/// keeps its error (naming the task and the output), the rows and the other task's
/// columns stand, the task's columns are missing with a warning, and the run exits with 2.
#[test]
fn a_failing_task_leaves_the_others_standing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("wrong.toml");
    std::fs::write(
        &spec,
        "input = \"input_1:0\"\nwidth = 416\nheight = 416\nresize = \"stretch\"\nmean = [0.0, 0.0, 0.0]\nstd = [1.0, 1.0, 1.0]\n[family]\nkind = \"yolov8\"\noutput = \"no-such-output\"\n",
    )
    .unwrap();
    let broken = format!(
        "[[tasks]]\nname = \"broken\"\nkind = \"detection\"\nonnx = \"{}\"\nspec = \"{}\"\nground_truth = \"pseudo\"\n",
        models_dir().join("nanodet.onnx").display(),
        spec.display()
    );
    let log = dir.path().join("encodes.log");
    let cfg = config(dir.path(), &log, &format!("{NANODET}{broken}"));
    let out = common::icmbench(&["run", cfg.to_str().unwrap(), "--quiet", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("task `broken`") && stderr.contains("no-such-output"), "{stderr}");
    let v = summary(&out);
    let point = &v["summary"][0]["metrics"];
    assert!(point["map_vs_uncompressed@nano"].is_number(), "{point}");
    assert!(
        point.get("map_vs_uncompressed@broken").is_none_or(serde_json::Value::is_null),
        "{point}"
    );
    let rows = icmbench_reports::store::read_parquet(&dir.path().join("out/results.parquet")).unwrap();
    assert_eq!(rows.len(), 9);
    assert!(rows.iter().all(|r| r.is_ok() && r.tasks["nano"].is_ok()));
    assert!(
        rows.iter()
            .all(|r| r.tasks["broken"].error.as_deref().is_some_and(|e| e.contains("task `broken`")))
    );
}

/// Task tables are checked when the config is read: unknown kinds, names used twice, a
/// faces task against labels, a segmentation task without an export, `[task]` beside
/// `[[tasks]]`.
#[test]
fn task_tables_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("encodes.log");
    for (tasks, expected) in [
        (
            "[[tasks]]\nkind = \"tracking\"\nground_truth = \"pseudo\"\n",
            "`tracking` is not a task kind",
        ),
        (&format!("{NANODET}{NANODET}")[..], "`nano` is used twice"),
        ("[[tasks]]\nkind = \"faces\"\nground_truth = \"coco\"\n", "must be `pseudo`"),
        ("[[tasks]]\nkind = \"segmentation\"\nground_truth = \"pseudo\"\n", "needs a `model`"),
        (
            &format!("{NANODET}[task]\nkind = \"detection\"\nground_truth = \"pseudo\"\n")[..],
            "not both",
        ),
        (
            "[[tasks]]\nname = \"../x\"\nkind = \"detection\"\nground_truth = \"pseudo\"\n",
            "task name",
        ),
        ("[[tasks]]\nkind = \"detection\"\n", "`ground_truth` is missing"),
    ] {
        let cfg = config(dir.path(), &log, tasks);
        let out = common::icmbench(&["run", cfg.to_str().unwrap(), "--quiet"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{tasks}: {stderr}");
        assert!(stderr.contains(expected) && stderr.contains("run.toml"), "{tasks}: {stderr}");
    }
}

/// The SA-ICM protocol in one run: NanoDet boxes, the synthetic instance segmenter and the
/// BlazeFace face task on three photos (the astronaut has a face) through JPEG. Each task
/// gives its own columns (bbox; bbox and segm; face recall); the report has the task ×
/// rate table, the classes that lose most, TIDE and AP by size, their CSV files, the TIDE
/// figures and the rate–privacy curve beside the task curves.
#[test]
fn three_tasks_give_columns_tables_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sa-icm.toml");
    std::fs::write(
        &cfg,
        format!(
            "output = \"out\"\nmetrics = [\"psnr\"]\n\
             [[tasks]]\nname = \"nanodet\"\nkind = \"detection\"\nground_truth = \"pseudo\"\n\
             [[tasks]]\nname = \"seg\"\nkind = \"segmentation\"\nmodel = \"synthetic-segmenter\"\nground_truth = \"pseudo\"\n\
             [[tasks]]\nname = \"faces\"\nkind = \"faces\"\n\
             [[datasets]]\nname = \"photos\"\npath = \"{}\"\nlimit = 3\nmax_side = 384\n\
             [[codecs]]\nkind = \"jpeg\"\nqualities = [5, 30, 90]\n\
             [[codecs]]\nkind = \"webp\"\nqualities = [0, 50]\n",
            icmbench_datasets::samples_dir().display()
        ),
    )
    .unwrap();
    let v = summary(&common::icmbench_ok(&["run", cfg.to_str().unwrap(), "--quiet", "--json"]));
    let points = v["summary"].as_array().unwrap();
    assert_eq!(points.len(), 5);
    let column = |i: usize, name: &str| {
        points[i]["metrics"][name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name} at {i}: {}", points[i]))
    };
    for i in 0..5 {
        for name in [
            "map_vs_uncompressed@nanodet",
            "map_vs_uncompressed@seg",
            "segm_map_vs_uncompressed@seg",
            "segm_map50_vs_uncompressed@seg",
            "face_recall@faces",
        ] {
            assert!((0.0..=1.0).contains(&column(i, name)), "{name}");
        }
    }
    // The masks follow the decoded image: segm AP falls as the rate does, boxes do not
    // (the synthetic segmenter's boxes are fixed).
    assert!(column(0, "segm_map_vs_uncompressed@seg") < column(2, "segm_map_vs_uncompressed@seg"));
    assert_eq!(column(0, "map_vs_uncompressed@seg"), 1.0);
    // At quality 90 the astronaut's face is still found, and described as itself; JPEG
    // quality 5 changes its description more.
    assert_eq!(column(2, "face_recall@faces"), 1.0);
    assert!((0.0..=1.0).contains(&column(0, "face_similarity@faces")));
    assert!(column(2, "face_similarity@faces") > 0.95 && column(0, "face_similarity@faces") < column(2, "face_similarity@faces"));

    let out = dir.path().join("out");
    let rows = icmbench_reports::store::read_parquet(&out.join("results.parquet")).unwrap();
    let faces = rows.iter().find(|r| r.image == "astronaut.png" && r.quality == 90.0).unwrap();
    assert!(faces.tasks["faces"].detections.iter().any(|d| d.score > 0.8));
    assert!(rows.iter().all(|r| r.tasks["faces"].is_ok()));
    assert_eq!(
        faces.tasks["faces"].similarities.as_ref().map(Vec::len),
        Some(1),
        "one face on the astronaut"
    );
    assert!(rows.iter().all(|r| {
        r.tasks["seg"]
            .masks
            .as_ref()
            .is_some_and(|m| m.len() == r.tasks["seg"].detections.len())
    }));

    let report = out.join("report");
    common::icmbench_ok(&[
        "report",
        out.to_str().unwrap(),
        "--anchor",
        "jpeg",
        "--out",
        report.to_str().unwrap(),
    ]);
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    for text in [
        "### photos / webp: task models × rate points",
        "| nanodet (frozen, bbox) |",
        "| seg (frozen, segm) |",
        "| faces (frozen, face recall) |",
        "| faces (frozen, face similarity) |",
        "classes that lose most AP",
        "| point | Cls | Loc | Both | Dupe | Bkg | Miss | AP small | AP medium | AP large |",
    ] {
        assert!(md.contains(text), "{text}\n{md}");
    }
    let csv = std::fs::read_to_string(report.join("task_points.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 5 * 4, "{csv}");
    let per_class = std::fs::read_to_string(report.join("per_class.csv")).unwrap();
    assert!(
        per_class
            .lines()
            .any(|l| l.contains(",seg,frozen,synthetic-segmenter:") && l.contains(":frozen,segm,jpeg,") && l.contains(",person,")),
        "{per_class}"
    );
    let tide = std::fs::read_to_string(report.join("tide.csv")).unwrap();
    for kind in ["Cls", "Loc", "Both", "Dupe", "Bkg", "Miss"] {
        assert!(tide.contains(&format!(",{kind},")), "{kind}: {tide}");
    }
    for figure in [
        "photos-tide-map_vs_uncompressed@nanodet.svg",
        "photos-tide-segm_map_vs_uncompressed@seg.svg",
        "photos-face_recall@faces.svg",
    ] {
        assert!(report.join("figures").join(figure).is_file(), "{figure}");
    }
    let panels = std::fs::read_to_string(report.join("figures/photos.svg")).unwrap();
    assert!(panels.contains("face recall vs uncompressed") && panels.contains("mAP@[.5:.95] vs uncompressed"));
}
