//! COCO mAP against pycocotools on cocoapi's test data (committed in tests/fixtures/coco
//! with cocoapi's BSD licence); reference statistics and how they were made:
//! tests/fixtures/coco_reference.json (scripts/make-coco-fixture.py, pycocotools 2.0).

mod common;
use common::root;

use icmbench_metrics::coco::{evaluate_files, load_ground_truth, parse_iou_type};

/// All 12 statistics equal to pycocotools' within 1e-9, −1 entries included, for bbox and
/// segm on instances_val2014_100 and bbox on the 3-image set.
#[test]
fn stats_equal_pycocotools() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/coco_reference.json")).expect("coco_reference.json");
    let fx: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    for (name, case) in fx["cases"].as_object().expect("cases") {
        let dir = root().join("tests/fixtures/coco");
        let iou = parse_iou_type(case["iou_type"].as_str().expect("iou")).unwrap();
        let got = evaluate_files(
            &dir.join(case["gt"].as_str().unwrap()),
            &dir.join(case["dt"].as_str().unwrap()),
            iou,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for w in &got.warnings {
            eprintln!("{name}: warning: {w}");
        }
        let got = got.stats;
        let want: Vec<f64> = case["stats"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
        eprintln!(
            "{name}: largest difference to pycocotools {worst:.1e}; AP {:.10} AP50 {:.10}",
            got[0], got[1]
        );
        assert!(worst <= 1e-9, "{name}: {got:?} vs {want:?}");
    }
}

/// Bad files and types are errors naming them.
#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    let gt = root().join("tests/fixtures/coco/gt_dataset.json");
    let err = evaluate_files(&gt, &bad, parse_iou_type("bbox").unwrap()).unwrap_err().to_string();
    assert!(err.contains("bad.json"), "{err}");
    let err = evaluate_files(&bad, &bad, parse_iou_type("bbox").unwrap()).unwrap_err().to_string();
    assert!(err.contains("bad.json"), "{err}");
    assert!(parse_iou_type("keypoints").unwrap_err().to_string().contains("bbox or segm"));
}

/// Writes `text` as `name` in `dir` and returns the path.
fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Evaluates `dt` (JSON text) against the 3-image ground truth with bbox; the error text.
fn bbox_error(dt: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let dt = write(dir.path(), "dt.json", dt);
    let gt = root().join("tests/fixtures/coco/gt_dataset.json");
    match evaluate_files(&gt, &dt, parse_iou_type("bbox").unwrap()) {
        Ok(r) => panic!("accepted: {r:?}"),
        Err(e) => e.to_string(),
    }
}

/// The ground truth given as the results (AP 1.0 before) and an object that is not a
/// list (AP 0 before) are errors naming the file.
#[test]
fn results_must_be_a_list_of_detections() {
    let gt = root().join("tests/fixtures/coco/gt_dataset.json");
    let e = evaluate_files(&gt, &gt, parse_iou_type("bbox").unwrap()).unwrap_err().to_string();
    assert!(e.contains("gt_dataset.json: a JSON object, not a list of detections"), "{e}");
    let e = bbox_error(r#"{"foo": 1}"#);
    assert!(e.contains("dt.json: a JSON object, not a list of detections"), "{e}");
    assert!(bbox_error("  ").contains("dt.json: empty file"));
    // A results list given as the ground truth.
    let dt = root().join("tests/fixtures/coco/dt_dataset.json");
    let e = evaluate_files(&dt, &dt, parse_iou_type("bbox").unwrap()).unwrap_err().to_string();
    assert!(e.contains("dt_dataset.json: a JSON list, not a ground truth"), "{e}");
}

/// Entries that are not detections, or that name images or categories the ground truth
/// lacks, are errors naming the first offender by its index.
#[test]
fn detections_are_checked_against_the_ground_truth() {
    let gt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/fixtures/coco/gt_dataset.json")).unwrap()).unwrap();
    let image = gt["images"][0]["id"].as_u64().unwrap();
    let cat = gt["categories"][0]["id"].as_u64().unwrap();
    let ok = format!(r#"{{"image_id": {image}, "category_id": {cat}, "bbox": [1, 2, 30, 40], "score": 0.9}}"#);
    let list = |bad: &str| format!("[{ok}, {ok}, {bad}]");
    let cases = [
        (
            list(&format!(
                r#"{{"image_id": 987654, "category_id": {cat}, "bbox": [1, 2, 3, 4], "score": 0.5}}"#
            )),
            "detection [2] has image_id 987654, which is not an image of the ground truth",
        ),
        (
            list(&format!(
                r#"{{"image_id": {image}, "category_id": 424242, "bbox": [1, 2, 3, 4], "score": 0.5}}"#
            )),
            "detection [2] has category_id 424242, which is not a category of the ground truth",
        ),
        (
            list(&format!(r#"{{"image_id": {image}, "category_id": {cat}, "bbox": [1, 2, 3, 4]}}"#)),
            "detection [2] has no `score`",
        ),
        (
            list(&format!(r#"{{"image_id": {image}, "category_id": {cat}, "score": 0.5}}"#)),
            "detection [2] has no `bbox`",
        ),
        (
            list(&format!(r#"{{"category_id": {cat}, "bbox": [1, 2, 3, 4], "score": 0.5}}"#)),
            "detection [2] has no `image_id`",
        ),
        (
            list(&format!(
                r#"{{"image_id": "x", "category_id": {cat}, "bbox": [1, 2, 3, 4], "score": 0.5}}"#
            )),
            "detection [2] has `image_id` \"x\"",
        ),
        (list("7"), "detection [2] is not a detection object"),
    ];
    for (dt, want) in cases {
        let e = bbox_error(&dt);
        assert!(e.contains("dt.json") && e.contains(want), "want `{want}` in: {e}");
    }
}

/// A ground truth without categories, and inputs that are not regular files, are errors.
#[test]
fn ground_truth_needs_a_category_and_inputs_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let gt = write(
        dir.path(),
        "nocat.json",
        r#"{"images": [{"id": 1, "width": 10, "height": 10}], "annotations": [], "categories": []}"#,
    );
    let e = load_ground_truth(&gt).err().expect("refused").to_string();
    assert!(e.contains("nocat.json") && e.contains("no `categories`"), "{e}");
    let bbox = parse_iou_type("bbox").unwrap();
    let e = evaluate_files(std::path::Path::new("/dev/zero"), &gt, bbox)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/dev/zero: not a regular file"), "{e}");
    let good = root().join("tests/fixtures/coco/gt_dataset.json");
    let e = evaluate_files(&good, std::path::Path::new("/dev/zero"), bbox)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/dev/zero: not a regular file"), "{e}");
}

/// Where pycocotools would differ (it fails on an empty list and on ground-truth
/// annotations without `area`), the evaluation says so.
#[test]
fn warnings_where_pycocotools_differs() {
    let dir = tempfile::tempdir().unwrap();
    let gt = write(
        dir.path(),
        "gt.json",
        r#"{"images": [{"id": 1, "width": 100, "height": 100}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [10, 10, 20, 20], "iscrowd": 0}],
            "categories": [{"id": 3, "name": "car"}]}"#,
    );
    let bbox = parse_iou_type("bbox").unwrap();
    let empty = write(dir.path(), "empty.json", "[]");
    let r = evaluate_files(&gt, &empty, bbox).unwrap();
    assert!(r.warnings.iter().any(|w| w.contains("no detections")), "{:?}", r.warnings);
    assert!(r.warnings.iter().any(|w| w.contains("without `area`")), "{:?}", r.warnings);
    let flat = write(
        dir.path(),
        "flat.json",
        r#"[{"image_id": 1, "category_id": 3, "bbox": [10, 10, 20, 20], "score": 0.9},
            {"image_id": 1, "category_id": 3, "bbox": [50, 50, 0, 5], "score": 0.8}]"#,
    );
    let r = evaluate_files(&gt, &flat, bbox).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("1 detection(s) with a box of zero or negative") && w.contains("detection [1]")),
        "{:?}",
        r.warnings
    );
    assert!((r.stats[1] - 1.0).abs() < 1e-12, "the good box matches: {:?}", r.stats);
    // segm needs masks: boxes alone are refused.
    let e = evaluate_files(&gt, &flat, parse_iou_type("segm").unwrap()).unwrap_err().to_string();
    assert!(e.contains("detection [0] has no `segmentation`"), "{e}");
}

/// What a bootstrap resample evaluates: [`summary`] gives [`analyse`]'s statistics (and
/// pycocotools' within 1e-9) while evaluating only the categories with ground truth; a
/// ground truth with every image once ([`repeated_ground_truth`]) changes nothing; leaving
/// images out (weight 0) equals hotcoco's own evaluation restricted to the other images.
#[test]
fn resampled_evaluations_equal_direct_ones() {
    use icmbench_metrics::coco::{Instance, IouType, analyse, repeated_ground_truth, summary};
    let dir = root().join("tests/fixtures/coco");
    let gt = load_ground_truth(&dir.join("instances_val2014_100.json")).unwrap();
    let text = std::fs::read_to_string(dir.join("instances_val2014_fakebbox100_results.json")).unwrap();
    let dets: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let instances: Vec<Instance> = dets
        .iter()
        .map(|d| Instance {
            image_id: d["image_id"].as_u64().unwrap(),
            detection: icmbench_models::detect::Detection {
                bbox: serde_json::from_value(d["bbox"].clone()).unwrap(),
                score: d["score"].as_f64().unwrap(),
                category_id: d["category_id"].as_u64().unwrap(),
            },
            mask: None,
        })
        .collect();
    let full = analyse(&gt, &instances, IouType::Bbox, "full").unwrap();
    let light = summary(&gt, &instances, IouType::Bbox, "light").unwrap();
    assert_eq!(full.stats, light.stats);
    assert_eq!(full.recall50, light.recall50);
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/fixtures/coco_reference.json")).unwrap()).unwrap();
    let want: Vec<f64> = reference["cases"]["val2014_100_bbox"]["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        light.stats.iter().zip(&want).all(|(g, w)| (g - w).abs() <= 1e-9),
        "{:?}",
        light.stats
    );
    let once = repeated_ground_truth(&gt, &|_| 1);
    assert_eq!(summary(&once, &instances, IouType::Bbox, "once").unwrap().stats, light.stats);
    // Odd image ids only.
    let odd = repeated_ground_truth(&gt, &|id| (id % 2) as u32);
    let kept: Vec<Instance> = instances.iter().filter(|i| i.image_id % 2 == 1).copied().collect();
    let got = summary(&odd, &kept, IouType::Bbox, "odd").unwrap().stats;
    let dt = gt.load_res(&dir.join("instances_val2014_fakebbox100_results.json")).unwrap();
    let mut ev = hotcoco::COCOeval::new(gt.clone(), dt, IouType::Bbox);
    ev.params.img_ids = gt.dataset.images.iter().map(|i| i.id).filter(|id| id % 2 == 1).collect();
    ev.evaluate().unwrap();
    ev.accumulate();
    let _ = ev.summarize_lines();
    let direct = ev.stats().unwrap();
    assert!(got.iter().zip(direct).all(|(g, d)| (g - d).abs() <= 1e-12), "{got:?} vs {direct:?}");
    assert!((got[0] - light.stats[0]).abs() > 1e-6, "leaving half the images out changes AP");
}
