//! The NanoDet detector (models/manifest.toml `nanodet`) on bundled photos: its boxes are
//! where the objects are, and its box decoding agrees with the npm package's own decoder.

use icmbench_models::detect::{Detector, DetectorSpec, OutputFamily};
use icmbench_models::{Manifest, RuntimeOptions, models_dir};

fn detector() -> Detector {
    let model = Manifest::shipped()
        .unwrap()
        .load("nanodet", &models_dir(), &RuntimeOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    Detector::new(model, DetectorSpec::nanodet())
}

fn photo(name: &str) -> image::RgbImage {
    image::open(icmbench_datasets::samples_dir().join(name)).unwrap().to_rgb8()
}

fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let (ax2, ay2, bx2, by2) = (a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]);
    let iw = (ax2.min(bx2) - a[0].max(b[0])).max(0.0);
    let ih = (ay2.min(by2) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    inter / (a[2] * a[3] + b[2] * b[3] - inter)
}

/// The best detection of the expected class lies on the object: boxes drawn by hand
/// (x, y, w, h) around the motorcycle of motorcycle_left.png and the astronaut of
/// astronaut.png; IoU at least 0.8.
#[test]
fn boxes_are_where_the_objects_are() {
    let d = detector();
    for (file, category, hand) in [
        ("motorcycle_left.png", 4, [90.0, 75.0, 600.0, 365.0]),
        ("astronaut.png", 1, [10.0, 10.0, 360.0, 502.0]),
    ] {
        let dets = d.detect(&photo(file)).unwrap();
        assert!(dets.len() <= 100);
        let best = dets
            .iter()
            .filter(|x| x.category_id == category)
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .unwrap_or_else(|| panic!("{file}: no category {category}"));
        let top = dets.iter().map(|x| x.score).fold(0.0, f64::max);
        eprintln!(
            "{file}: category {category} score {:.3} box {:?}, IoU with hand box {:.3}",
            best.score,
            best.bbox,
            iou(best.bbox, hand)
        );
        assert!(best.score == top, "{file}: another class scores higher");
        assert!(iou(best.bbox, hand) >= 0.8, "{file}: {:?}", best.bbox);
    }
}

/// @vladmandic/human 3.3.6 `src/object/nanodet.ts` (`process`), transcribed: per stride
/// size 1/2/4 (13/26/52 cells) the cell centre is `(0.5 + i % base) / base`, each side is
/// the arg-max bin × (base / strideSize / 416) × 2.5 / strideSize, sides ordered left,
/// top, right, bottom. Its boxes for the best cells must agree with icmbench's decoding
/// (softmax expectation × stride from the same cell centre) to IoU 0.7 (the package uses
/// the arg-max bin where NanoDet's head uses the expectation).
#[test]
fn decoding_agrees_with_the_packages_javascript_decoder() {
    let d = detector();
    let img = photo("motorcycle_left.png");
    let (outs, _) = d.raw(&img).unwrap();
    let OutputFamily::Nanodet { levels, reg_max } = &d.spec().family else {
        unreachable!()
    };
    let bins = reg_max + 1;
    let mut compared = 0;
    for (k, level) in levels.iter().enumerate() {
        let (scores, boxes) = (&outs[2 * k].1, &outs[2 * k + 1].1);
        let base = (416 / level.stride) as usize;
        let stride_size = (base / 13) as f64;
        for i in 0..base * base {
            let s = &scores[i * 80..(i + 1) * 80];
            if s.iter().fold(0.0f32, |a, &v| a.max(v)) < 0.5 {
                continue;
            }
            let b = &boxes[i * 4 * bins..(i + 1) * 4 * bins];
            let argmax = |side: usize| {
                let l = &b[side * bins..(side + 1) * bins];
                (0..bins).max_by(|&x, &y| l[x].total_cmp(&l[y])).unwrap() as f64
            };
            let cx = (0.5 + (i % base) as f64) / base as f64;
            let cy = (0.5 + (i / base) as f64) / base as f64;
            let off: Vec<f64> = (0..4)
                .map(|s| argmax(s) * (base as f64 / stride_size / 416.0) * 2.5 / stride_size)
                .collect();
            let js = [cx - off[0], cy - off[1], off[0] + off[2], off[1] + off[3]];
            let ours = icmbench_models::detect::decode_nanodet_level(s, b, 80, 1, level.stride as f32, *reg_max, 0.5);
            // decode_nanodet_level with grid width 1 puts the cell at (0.5, row + 0.5) * stride:
            // shift it to this cell's column and row.
            let (col, row) = ((i % base) as f32, (i / base) as f32);
            let c = &ours[0].xyxy;
            let (x1, y1) = (c[0] + col * level.stride as f32, c[1] + row * level.stride as f32);
            let dx = (c[2] - c[0]) as f64;
            let dy = (c[3] - c[1]) as f64;
            let ours_norm = [f64::from(x1) / 416.0, f64::from(y1) / 416.0, dx / 416.0, dy / 416.0];
            let agree = iou(ours_norm, js);
            assert!(
                agree >= 0.7,
                "stride {}: cell {i}: ours {ours_norm:?} vs package {js:?}",
                level.stride
            );
            compared += 1;
        }
    }
    eprintln!("compared {compared} confident cells with the package's decoding");
    assert!(compared >= 3);
}

mod common;

/// The SA-ICM protocol in miniature through the command line: detections on the
/// uncompressed photos become the pseudo ground truth ("mAP vs uncompressed"); the same
/// detector on the photos themselves scores 1.0, on JPEG quality 5 copies less.
#[test]
fn pseudo_ground_truth_and_map_vs_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let samples = icmbench_datasets::samples_dir();
    let (gt, dt) = (dir.path().join("gt.json"), dir.path().join("dt.json"));
    let out = common::icmbench_ok(&[
        "detect",
        samples.to_str().unwrap(),
        "--out",
        dt.to_str().unwrap(),
        "--pseudo-gt",
        gt.to_str().unwrap(),
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["images"], 6);
    let map = |dt: &std::path::Path| -> Vec<f64> {
        let out = common::icmbench_ok(&["eval-map", "--gt", gt.to_str().unwrap(), "--dt", dt.to_str().unwrap(), "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["stats"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    };
    let same = map(&dt);
    assert!((same[0] - 1.0).abs() < 1e-9, "{same:?}");
    // JPEG quality 5 copies under the same file names.
    let jpeg_dir = dir.path().join("jpeg");
    std::fs::create_dir_all(&jpeg_dir).unwrap();
    for e in icmbench_datasets::scan_folder(&samples).unwrap() {
        let img = image::open(&e.path).unwrap().to_rgb8();
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 5)
            .encode_image(&img)
            .unwrap();
        let decoded = image::load_from_memory(&bytes).unwrap().to_rgb8();
        decoded.save(jpeg_dir.join(&e.id)).unwrap();
    }
    let dt_jpeg = dir.path().join("dt_jpeg.json");
    common::icmbench_ok(&[
        "detect",
        jpeg_dir.to_str().unwrap(),
        "--out",
        dt_jpeg.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
    ]);
    let degraded = map(&dt_jpeg);
    eprintln!(
        "mAP vs uncompressed: uncompressed {:.4}, JPEG q5 {:.4} (AP50 {:.4})",
        same[0], degraded[0], degraded[1]
    );
    assert!(degraded[0] < 0.95 && degraded[0] > 0.0, "{degraded:?}");
}

/// A detector given as `--onnx` + `--spec` (the contract in TOML) gives the same results
/// as the built-in NanoDet contract; a bad spec names its file and field.
#[test]
fn detector_from_a_toml_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("nanodet.toml");
    std::fs::write(
        &spec,
        r#"input = "input_1:0"
width = 416
height = 416
resize = "stretch"
bgr = true
mean = [103.53, 116.28, 123.675]
std = [57.375, 57.12, 58.395]

[family]
kind = "nanodet"
reg_max = 10
levels = [
  { stride = 8, scores = "Identity:0", boxes = "Identity_3:0" },
  { stride = 16, scores = "Identity_1:0", boxes = "Identity_4:0" },
  { stride = 32, scores = "Identity_2:0", boxes = "Identity_5:0" },
]
"#,
    )
    .unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::copy(icmbench_datasets::samples_dir().join("coffee.png"), images.join("coffee.png")).unwrap();
    let onnx = icmbench_models::models_dir().join("nanodet.onnx");
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let run = |extra: &[&str], out: &std::path::Path| {
        let mut args = vec!["detect", images.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        common::icmbench_ok(&args);
    };
    run(&[], &a);
    run(&["--onnx", onnx.to_str().unwrap(), "--spec", spec.to_str().unwrap()], &b);
    assert_eq!(std::fs::read_to_string(&a).unwrap(), std::fs::read_to_string(&b).unwrap());
    std::fs::write(&spec, "input = \"x\"\nwidth = 416\n").unwrap();
    let o = common::icmbench(&[
        "detect",
        images.to_str().unwrap(),
        "--out",
        "x.json",
        "--onnx",
        onnx.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("nanodet.toml") && err.contains("missing field"),
        "{err}"
    );
}

/// Detection as a task in `icmbench run`: detections stored per row, mAP per (codec,
/// quality) in the summary and the report, against the pseudo ground truth ("mAP vs
/// uncompressed") on the bundled photos and against real COCO labels on sahi's terrain2.
#[test]
fn detection_task_in_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let terrain = common::root().join("third_party/datasets/terrain2");
    for (name, body) in [
        (
            "pseudo",
            format!(
                "[[datasets]]\nname = \"photos\"\npath = \"{}\"\nlimit = 3\nmax_side = 400\n[task]\nkind = \"detection\"\nground_truth = \"pseudo\"\n",
                icmbench_datasets::samples_dir().display()
            ),
        ),
        (
            "coco",
            format!(
                "[[datasets]]\nname = \"terrain2\"\npath = \"{}\"\nannotations = \"{}\"\n[task]\nkind = \"detection\"\nground_truth = \"coco\"\n",
                terrain.join("images").display(),
                terrain.join("terrain2_coco.json").display()
            ),
        ),
    ] {
        let cfg = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &cfg,
            format!("output = \"{name}\"\nmetrics = [\"psnr\"]\n{body}[[codecs]]\nkind = \"jpeg\"\nqualities = [5, 30, 90]\n[[codecs]]\nkind = \"webp\"\nqualities = [5, 50]\n"),
        )
        .unwrap();
        let out = common::icmbench(&["run", cfg.to_str().unwrap(), "--quiet", "--json"]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // The single `[task]` of earlier configs is a task named after its model.
        let metric = if name == "pseudo" {
            "map_vs_uncompressed@nanodet"
        } else {
            "map@nanodet"
        };
        let maps: Vec<f64> = v["summary"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["metrics"][metric].as_f64().unwrap())
            .collect();
        eprintln!("{name}: {metric} per point {maps:?}");
        assert_eq!(maps.len(), 5);
        assert!(maps.iter().all(|m| (0.0..=1.0).contains(m)));
        // JPEG quality 90 keeps more of the detections than quality 5.
        assert!(maps[2] > maps[0], "{maps:?}");
        // `time.stages` counts every stage once per call: 3 JPEG and 2 WebP points per image,
        // the detector on each decoded image and once on each uncompressed one.
        let images = if name == "pseudo" { 3 } else { 1 };
        let stages = v["time"]["stages"].as_array().unwrap();
        let calls = |stage: &str| stages.iter().find(|s| s["stage"] == stage).and_then(|s| s["calls"].as_u64());
        assert_eq!(calls("encode jpeg"), Some(3 * images), "{stages:?}");
        assert_eq!(calls("decode webp"), Some(2 * images), "{stages:?}");
        assert_eq!(calls("task nanodet"), Some(5 * images), "{stages:?}");
        assert_eq!(calls("task nanodet (uncompressed)"), Some(images), "{stages:?}");
        assert_eq!(calls("load image"), Some(images), "{stages:?}");
        let busy = v["time"]["busy"].as_f64().unwrap();
        assert!(busy > 0.0, "{busy}");
        assert_eq!(v["time"]["device"], "cpu");
        let results = dir.path().join(name);
        assert!(
            results
                .join(format!(
                    "ground_truth/nanodet/{}.json",
                    if name == "pseudo" { "photos" } else { "terrain2" }
                ))
                .is_file()
        );
        let rows = icmbench_reports::store::read_parquet(&results.join("results.parquet")).unwrap();
        assert!(rows.iter().all(|r| r.tasks["nanodet"].is_ok() && r.tasks.len() == 1));
        let md = String::from_utf8_lossy(&common::icmbench(&["report", results.to_str().unwrap()]).stdout).to_string();
        assert!(md.contains(metric), "{md}");
        // A second run reuses every row (detections included).
        let again = common::icmbench(&["run", cfg.to_str().unwrap(), "--quiet", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
        assert_eq!(v["computed"], 0, "{v}");
    }
}

fn blazeface() -> Detector {
    let model = Manifest::shipped()
        .unwrap()
        .load("blazeface", &models_dir(), &RuntimeOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    Detector::new(model, DetectorSpec::blazeface())
}

fn blazeface_reference() -> serde_json::Value {
    let path = common::root().join("tests/fixtures/blazeface_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The BlazeFace model (`blazeface` in the manifest, its decoding appended to the graph by
/// `tools/models/build_blazeface.py`) on an exact 256 × 256 pattern: its `faces` output
/// equals onnxruntime's in Python (tests/fixtures/blazeface_reference.json, recipe inside)
/// column by column (sums, relative 1e-5) and in its five most confident rows (1e-3).
#[test]
fn blazeface_output_matches_the_reference_on_an_exact_input() {
    let reference = blazeface_reference();
    let img = image::RgbImage::from_fn(256, 256, |x, y| {
        image::Rgb(std::array::from_fn(|c| ((5 * x + 3 * y + 7 * c as u32) % 256) as u8))
    });
    let (outs, _) = blazeface().raw(&img).unwrap();
    let (shape, data) = &outs[0];
    assert_eq!(shape, &[1, 896, 6]);
    let sums: Vec<f64> = (0..6)
        .map(|c| data.iter().skip(c).step_by(6).map(|&v| f64::from(v)).sum())
        .collect();
    let want = reference["synthetic"]["faces_column_sums"].as_array().unwrap();
    for (got, want) in sums.iter().zip(want) {
        let want = want.as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-5 * want.abs().max(1.0) + 1e-3,
            "column sums {sums:?} vs {want}"
        );
    }
    for top in reference["synthetic"]["top5_by_objectness"].as_array().unwrap() {
        let anchor = top["anchor"].as_u64().unwrap() as usize;
        for (k, v) in top["row"].as_array().unwrap().iter().enumerate() {
            let got = f64::from(data[anchor * 6 + k]);
            assert!((got - v.as_f64().unwrap()).abs() < 1e-3, "anchor {anchor} column {k}: {got} vs {v}");
        }
    }
}

/// BlazeFace finds the astronaut's face where the Python reference (onnxruntime, Pillow's
/// bilinear resize) finds it: the same faces above score 0.2 after NMS at IoU 0.1, boxes
/// within 3 px and scores within 0.02 (the resize filters differ slightly); no confident
/// face on the coffee cup.
#[test]
fn blazeface_finds_the_astronauts_face() {
    let reference = blazeface_reference();
    let detector = blazeface();
    for name in ["astronaut.png", "coffee.png"] {
        let faces: Vec<_> = detector
            .detect(&photo(name))
            .unwrap()
            .into_iter()
            .filter(|d| d.score >= 0.2)
            .collect();
        let want = reference["images"][name].as_array().unwrap();
        assert_eq!(faces.len(), want.len(), "{name}: {faces:?}");
        for (d, w) in faces.iter().zip(want) {
            assert!((d.score - w["score"].as_f64().unwrap()).abs() < 0.02, "{name}: {d:?} vs {w}");
            for k in 0..4 {
                assert!((d.bbox[k] - w["bbox"][k].as_f64().unwrap()).abs() < 3.0, "{name}: {d:?} vs {w}");
            }
        }
    }
    let face = detector.detect(&photo("astronaut.png")).unwrap()[0];
    assert!(face.score > 0.8 && iou(face.bbox, [171.4, 73.4, 106.4, 106.4]) > 0.9, "{face:?}");
}

fn faceres() -> icmbench_models::face::FaceEmbedder {
    let model = Manifest::shipped()
        .unwrap()
        .load("faceres-embedding", &models_dir(), &RuntimeOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    icmbench_models::face::FaceEmbedder::new(model)
}

/// The face description model (`faceres-embedding`, built from npm by
/// `tools/models/build_faceembed.py`) against onnxruntime in Python
/// (tests/fixtures/faceembed_reference.json, recipe inside): on an exact 224 × 224 input,
/// the same descriptor (L2 norm and first non-zero values within 1e-4); on the astronaut's
/// face, Human's crop and similarity give the reference's values against the same face
/// through JPEG quality 10 and 90 (icmbench's JPEG is byte-identical to Pillow's) and
/// against the cat's face, within 0.01 (the crop's resampling differs by at most 0.0024).
#[test]
fn face_descriptions_match_the_reference() {
    let path = common::root().join("tests/fixtures/faceembed_reference.json");
    let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let embedder = faceres();
    let n = icmbench_models::face::INPUT;
    let input: Vec<f32> = (0..3 * n * n)
        .map(|i| {
            let (c, y, x) = (i / (n * n), (i / n) % n, i % n);
            ((5 * x + 3 * y + 7 * c) % 256) as f32
        })
        .collect();
    let e = embedder.embed_input(&input).unwrap();
    assert_eq!(e.len(), 1024);
    let l2 = e.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
    let synthetic = &reference["synthetic"];
    assert!((l2 - synthetic["l2"].as_f64().unwrap()).abs() < 1e-4, "{l2}");
    for pair in synthetic["first8_nonzero_index_value"].as_array().unwrap() {
        let (k, v) = (pair[0].as_u64().unwrap() as usize, pair[1].as_f64().unwrap());
        assert!((f64::from(e[k]) - v).abs() < 1e-4, "descriptor[{k}] = {} vs {v}", e[k]);
    }
    let astronaut = photo("astronaut.png");
    let face = [171.4, 73.4, 106.4, 106.4];
    let uncompressed = embedder.embed(&astronaut, face).unwrap();
    let jpeg = icmbench_codecs::jpeg::Jpeg::default();
    let similarities = &reference["similarities"];
    for (q, key) in [(10.0, "astronaut vs astronaut_q10"), (90.0, "astronaut vs astronaut_q90")] {
        use icmbench_codecs::Codec;
        let decoded = jpeg.decode(&jpeg.encode(&astronaut, q).unwrap(), 512, 512).unwrap();
        let s = icmbench_models::face::similarity(&uncompressed, &embedder.embed(&decoded, face).unwrap());
        let want = similarities[key]["similarity"].as_f64().unwrap();
        assert!((s - want).abs() < 0.01, "{key}: {s} vs {want}");
    }
    let cat = embedder.embed(&photo("chelsea.png"), [70.7, 74.4, 222.3, 147.9]).unwrap();
    let s = icmbench_models::face::similarity(&uncompressed, &cat);
    let want = similarities["astronaut vs chelsea_cat"]["similarity"].as_f64().unwrap();
    assert!((s - want).abs() < 0.01, "cat: {s} vs {want}");
}
