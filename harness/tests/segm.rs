//! Instance segmentation parity: three ONNX graphs built by `scripts/make-segm-fixture.py`
//! (a YOLOv8-seg export's layout, mmdeploy's Mask R-CNN `end2end` layout with RoI masks,
//! torchvision's layout with full-frame masks), with known outputs, on two images. The
//! reference decodes them in numpy by the rules of `models/src/segment.rs` (checked there
//! against torch's `grid_sample`, `F.interpolate`, mmdet's `_do_paste_mask` and ultralytics'
//! `process_mask_native`), encodes the masks with pycocotools and evaluates them with
//! pycocotools' COCOeval (bbox and segm) against `gt.json`; recipe and versions in
//! `tests/fixtures/segm/reference.json`.
//!
//! Checked: icmbench's boxes, scores and categories equal the reference's to 1e-9 and its
//! RLE masks equal pycocotools' byte for byte; hotcoco's 12 statistics on icmbench's own
//! output equal pycocotools' on the reference result file within 1e-12, for bbox and segm.

use std::path::{Path, PathBuf};

use icmbench_metrics::coco::{Instance, IouType, analyse, load_ground_truth};
use icmbench_models::detect::{Detector, DetectorSpec};
use icmbench_models::{Model, RuntimeOptions};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/segm")
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
}

/// The contract of a fixture graph, from its entry in `reference.json`.
fn spec(g: &Value) -> DetectorSpec {
    let mut s = json!({
        "input": g["input"], "width": g["size"][0], "height": g["size"][1], "resize": g["resize"],
        "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "family": g["family"], "category_ids": g["category_ids"],
        "score_threshold": g["score_threshold"], "max_detections": g["max_detections"],
    });
    for key in ["iou_threshold", "pre_nms_top_k"] {
        if !g[key].is_null() {
            s[key] = g[key].clone();
        }
    }
    serde_json::from_value(s).unwrap()
}

#[test]
fn segmentation_exports_match_pycocotools() {
    let reference = read_json("reference.json");
    let gt_path = fixtures().join("gt.json");
    let gt = load_ground_truth(&gt_path).unwrap();
    for (name, g) in reference["graphs"].as_object().unwrap() {
        let model = Model::load(name, &fixtures().join(g["onnx"].as_str().unwrap()), &RuntimeOptions::default()).unwrap();
        let detector = Detector::new(model, spec(g));
        let expected = read_json(g["results"].as_str().unwrap());
        let expected = expected.as_array().unwrap();
        let mut got = Vec::new();
        for (id, file) in [(1u64, "img1.png"), (2, "img2.png")] {
            let img = image::open(fixtures().join(file)).unwrap().to_rgb8();
            let (w, h) = img.dimensions();
            let out = detector.instances(&img).unwrap();
            let masks = out.masks.clone().unwrap();
            let areas: Vec<u64> = masks.iter().map(|m| icmbench_models::segment::rle_area(m, h, w).unwrap()).collect();
            assert_eq!(
                serde_json::to_value(&areas).unwrap(),
                g["mask_pixels"][id.to_string()],
                "{name} image {id}: mask areas"
            );
            for (d, m) in out.detections.into_iter().zip(masks) {
                got.push((id, d, m, h, w));
            }
        }
        assert_eq!(got.len(), expected.len(), "{name}: detections");
        for ((id, d, m, h, w), e) in got.iter().zip(expected) {
            assert_eq!(e["image_id"], json!(id), "{name}");
            assert_eq!(e["category_id"], json!(d.category_id), "{name}");
            assert!((e["score"].as_f64().unwrap() - d.score).abs() < 1e-9, "{name}: {e} vs {d:?}");
            for k in 0..4 {
                assert!((e["bbox"][k].as_f64().unwrap() - d.bbox[k]).abs() < 1e-9, "{name}: {e} vs {d:?}");
            }
            assert_eq!(e["segmentation"]["counts"].as_str(), Some(m.as_str()), "{name}: mask of {e}");
            assert_eq!(e["segmentation"]["size"], json!([h, w]), "{name}");
        }
        for (iou, key) in [(IouType::Bbox, "stats_bbox"), (IouType::Segm, "stats_segm")] {
            let instances: Vec<Instance> = got
                .iter()
                .map(|(id, d, m, h, w)| Instance {
                    image_id: *id,
                    detection: *d,
                    mask: Some((m.as_str(), *h, *w)),
                })
                .collect();
            let a = analyse(&gt, &instances, iou, name).unwrap();
            let want: Vec<f64> = g[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            for (k, (x, y)) in a.stats.iter().zip(&want).enumerate() {
                assert!((x - y).abs() < 1e-12, "{name} {key}[{k}]: hotcoco {x} vs pycocotools {y}");
            }
            // The same through the results file pycocotools read.
            let file = icmbench_metrics::coco::evaluate_files(&gt_path, &fixtures().join(g["results"].as_str().unwrap()), iou).unwrap();
            for (k, (x, y)) in file.stats.iter().zip(&want).enumerate() {
                assert!((x - y).abs() < 1e-12, "{name} {key}[{k}] (file): hotcoco {x} vs pycocotools {y}");
            }
            assert!(a.stats[0] > 0.2 && a.stats[0] < 0.9, "{name} {key}: {:?}", a.stats);
        }
    }
}

/// Outputs that do not fit the contract (scores or masks of the wrong size for the boxes,
/// more classes than category ids) are contract errors naming the model and the shapes, not
/// a panic, a silent empty mask or silently dropped detections.
#[test]
fn a_wrong_mask_layout_is_named() {
    let reference = read_json("reference.json");
    let g = &reference["graphs"]["maskrcnn_roi"];
    let mut s = spec(g);
    // The RoI graph read as if its boxes carried no score column.
    if let icmbench_models::detect::OutputFamily::BoxesMasks { scores, .. } = &mut s.family {
        *scores = Some("masks".into());
    }
    let model = Model::load("maskrcnn_roi", &fixtures().join("maskrcnn_roi.onnx"), &RuntimeOptions::default()).unwrap();
    let img = image::open(fixtures().join("img1.png")).unwrap().to_rgb8();
    let e = Detector::new(model, s).instances(&img).unwrap_err().to_string();
    assert!(e.contains("maskrcnn_roi") && e.contains("scores have shape"), "{e}");
    // Masks of the wrong size for the boxes (the boxes read as masks).
    let mut s = spec(g);
    if let icmbench_models::detect::OutputFamily::BoxesMasks { masks, .. } = &mut s.family {
        *masks = Some("dets".into());
    }
    let model = Model::load("maskrcnn_roi", &fixtures().join("maskrcnn_roi.onnx"), &RuntimeOptions::default()).unwrap();
    let e = Detector::new(model, s).instances(&img).unwrap_err().to_string();
    assert!(e.contains("masks have shape [1, 6, 5]"), "{e}");
    // A YOLOv8-seg output scoring more classes than `category_ids` lists.
    let y = &reference["graphs"]["yolov8seg"];
    let mut s = spec(y);
    s.category_ids.truncate(2);
    let model = Model::load("yolov8seg", &fixtures().join("yolov8seg.onnx"), &RuntimeOptions::default()).unwrap();
    let e = Detector::new(model, s).instances(&img).unwrap_err().to_string();
    assert!(e.contains("scores 3 classes but `category_ids` lists 2"), "{e}");
}

/// Without `masks`, the `boxes-masks` family is a box detector (mmdeploy's Faster R-CNN
/// layout): the same boxes as with masks, and no masks.
#[test]
fn boxes_without_masks_are_a_box_detector() {
    let reference = read_json("reference.json");
    let g = &reference["graphs"]["maskrcnn_roi"];
    let load = || Model::load("maskrcnn_roi", &fixtures().join("maskrcnn_roi.onnx"), &RuntimeOptions::default()).unwrap();
    let mut boxes_only = spec(g);
    if let icmbench_models::detect::OutputFamily::BoxesMasks { masks, .. } = &mut boxes_only.family {
        *masks = None;
    }
    assert!(!boxes_only.has_masks() && spec(g).has_masks());
    let img = image::open(fixtures().join("img2.png")).unwrap().to_rgb8();
    let with = Detector::new(load(), spec(g)).instances(&img).unwrap();
    let without = Detector::new(load(), boxes_only).instances(&img).unwrap();
    assert_eq!(without.masks, None);
    assert_eq!(without.detections, with.detections);
    assert_eq!(with.detections.len(), 5);
}
