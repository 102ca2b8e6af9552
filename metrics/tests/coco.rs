//! COCO mAP against pycocotools on cocoapi's test data (third_party/coco, from
//! scripts/fetch-test-fixtures.sh); reference statistics and how they were made:
//! tests/fixtures/coco_reference.json (scripts/make-coco-fixture.py, pycocotools 2.0).

mod common;
use common::root;

use icmbench_metrics::coco::{evaluate_files, parse_iou_type};

/// All 12 statistics equal to pycocotools' within 1e-9, −1 entries included, for bbox and
/// segm on instances_val2014_100 and bbox on the 3-image set.
#[test]
fn stats_equal_pycocotools() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/coco_reference.json")).expect("coco_reference.json");
    let fx: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    for (name, case) in fx["cases"].as_object().expect("cases") {
        let dir = root().join("third_party/coco");
        let iou = parse_iou_type(case["iou_type"].as_str().expect("iou")).unwrap();
        let got = evaluate_files(
            &dir.join(case["gt"].as_str().unwrap()),
            &dir.join(case["dt"].as_str().unwrap()),
            iou,
        )
        .unwrap_or_else(|e| panic!("{e}; run scripts/fetch-test-fixtures.sh"));
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
    let gt = root().join("third_party/coco/gt_dataset.json");
    let err = evaluate_files(&gt, &bad, parse_iou_type("bbox").unwrap()).unwrap_err().to_string();
    assert!(err.contains("bad.json"), "{err}");
    let err = evaluate_files(&bad, &bad, parse_iou_type("bbox").unwrap()).unwrap_err().to_string();
    assert!(err.contains("bad.json"), "{err}");
    assert!(parse_iou_type("keypoints").unwrap_err().to_string().contains("bbox or segm"));
}
