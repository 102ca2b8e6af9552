//! COCO mAP with the pycocotools protocol, through the `hotcoco` crate (a pycocotools-exact
//! COCOeval in Rust): the 12 standard summary statistics for bbox or segm results.
//!
//! Statistics, in pycocotools' order: AP@[.5:.95], AP@.5, AP@.75, AP small, AP medium,
//! AP large (maxDets 100), AR@1, AR@10, AR@100, AR small, AR medium, AR large; −1 where a
//! statistic has no ground truth (as pycocotools).

use std::path::Path;

pub use hotcoco::COCO;
use hotcoco::COCOeval;
pub use hotcoco::params::IouType;

/// Names of the 12 statistics, in order.
pub const STAT_NAMES: [&str; 12] = [
    "AP@[.5:.95]",
    "AP@.5",
    "AP@.75",
    "AP small",
    "AP medium",
    "AP large",
    "AR@1",
    "AR@10",
    "AR@100",
    "AR small",
    "AR medium",
    "AR large",
];

/// Errors of COCO evaluation; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// A ground-truth or result file could not be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The evaluation itself failed (for example segm results without masks).
    #[error("COCO evaluation of {dt}: {message}")]
    Eval {
        /// The results file or set.
        dt: String,
        /// What went wrong.
        message: String,
    },
    /// Unknown IoU type.
    #[error("unknown IoU type `{0}`; use bbox or segm")]
    IouType(String),
}

/// Parses `bbox` or `segm`.
pub fn parse_iou_type(s: &str) -> Result<IouType, MapError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "bbox" => Ok(IouType::Bbox),
        "segm" => Ok(IouType::Segm),
        _ => Err(MapError::IouType(s.to_string())),
    }
}

/// Loads a COCO ground-truth file.
pub fn load_ground_truth(path: &Path) -> Result<COCO, MapError> {
    COCO::new(path).map_err(|e| MapError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Runs evaluate → accumulate → summarize on loaded data; returns the 12 statistics.
pub fn evaluate(gt: COCO, dt: COCO, iou: IouType, label: &str) -> Result<[f64; 12], MapError> {
    let mut ev = COCOeval::new(gt, dt, iou);
    ev.evaluate().map_err(|e| MapError::Eval {
        dt: label.to_string(),
        message: e.to_string(),
    })?;
    ev.accumulate();
    // summarize_lines computes the statistics without printing anything.
    let _ = ev.summarize_lines();
    let stats = ev.stats().ok_or_else(|| MapError::Eval {
        dt: label.to_string(),
        message: "no statistics".into(),
    })?;
    stats.try_into().map_err(|_| MapError::Eval {
        dt: label.to_string(),
        message: format!("{} statistics instead of 12", stats.len()),
    })
}

/// The 12 statistics of a results file (`[{image_id, category_id, bbox|segmentation, score}]`)
/// against a ground-truth file, as `pycocotools` `COCOeval(gt, gt.loadRes(dt), iou)`.
pub fn evaluate_files(gt: &Path, dt: &Path, iou: IouType) -> Result<[f64; 12], MapError> {
    let coco_gt = load_ground_truth(gt)?;
    let coco_dt = coco_gt.load_res(dt).map_err(|e| MapError::File {
        path: dt.display().to_string(),
        message: e.to_string(),
    })?;
    evaluate(coco_gt, coco_dt, iou, &dt.display().to_string())
}

/// The 12 statistics of in-memory detections `(image_id, detection)` against a loaded
/// ground truth (the COCO results a detector would write, without the file).
pub fn evaluate_detections(
    gt: &COCO,
    detections: &[(u64, icmbench_models::detect::Detection)],
    iou: IouType,
    label: &str,
) -> Result<[f64; 12], MapError> {
    let coco_gt = gt.clone();
    let anns = detections
        .iter()
        .map(|(image_id, d)| {
            serde_json::from_value::<hotcoco::types::Annotation>(serde_json::json!({
                "image_id": image_id, "category_id": d.category_id, "bbox": d.bbox, "score": d.score,
            }))
            .map_err(|e| MapError::Eval {
                dt: label.to_string(),
                message: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let coco_dt = coco_gt.load_res_anns(anns).map_err(|e| MapError::Eval {
        dt: label.to_string(),
        message: e.to_string(),
    })?;
    evaluate(coco_gt, coco_dt, iou, label)
}
