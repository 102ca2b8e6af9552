//! Machine tasks in a run (the SA-ICM protocol): a detector runs on every decoded image,
//! its detections are stored in the row, and mAP per (codec, quality) is computed over the
//! dataset from the stored detections against a ground truth kept in the output folder
//! (`ground_truth/<dataset>.json`): the dataset's own COCO annotations, or a pseudo ground
//! truth made of the detector's confident boxes on the uncompressed images, in which case
//! the metrics are named `map_vs_uncompressed` and `map50_vs_uncompressed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use icmbench_models::detect::{COCO80_NAMES, COCO80_TO_91, Detection, Detector, DetectorSpec};
use icmbench_reports::aggregate::{Point, Stats};
use icmbench_reports::results::ResultRow;
use serde::Deserialize;
use serde_json::json;

/// Folder of ground-truth files in an output folder.
pub const GT_DIR: &str = "ground_truth";

/// Where the ground truth comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroundTruth {
    /// The dataset's `annotations` (COCO instances JSON).
    Coco,
    /// The detector's boxes with score ≥ `pseudo_threshold` on the uncompressed images.
    Pseudo,
}

/// The `[task]` table of a config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// `detection`.
    pub kind: String,
    /// Detector from the model manifest (default `nanodet`).
    #[serde(default = "default_model")]
    pub model: String,
    /// Your own ONNX detector (with `spec`), relative to the config.
    pub onnx: Option<PathBuf>,
    /// Its contract (TOML), relative to the config.
    pub spec: Option<PathBuf>,
    /// `coco` (datasets need `annotations`) or `pseudo`.
    pub ground_truth: GroundTruth,
    /// Score threshold of pseudo ground-truth boxes.
    #[serde(default = "default_pseudo")]
    pub pseudo_threshold: f64,
}

fn default_model() -> String {
    "nanodet".into()
}
fn default_pseudo() -> f64 {
    0.3
}

/// A prepared task.
pub struct TaskPlan {
    /// The detector, shared by all workers.
    pub detector: Arc<Detector>,
    /// Ground-truth source.
    pub ground_truth: GroundTruth,
    /// Pseudo ground-truth threshold.
    pub pseudo_threshold: f64,
    /// Text identifying the detector and its settings (part of the resume key).
    pub version: String,
}

impl TaskPlan {
    /// Builds the detector (session created here, on `opts`' device).
    pub fn new(c: &TaskConfig, base: &Path, opts: &icmbench_models::RuntimeOptions) -> Result<Self, String> {
        if c.kind != "detection" {
            return Err(format!("task kind `{}` is not supported; use `detection`", c.kind));
        }
        let (detector, version) = match (&c.onnx, &c.spec) {
            (Some(onnx), Some(spec)) => {
                let (onnx, spec) = (base.join(onnx), base.join(spec));
                let text = std::fs::read_to_string(&spec).map_err(|e| format!("{}: {e}", spec.display()))?;
                let s: DetectorSpec = toml::from_str(&text).map_err(|e| format!("{}: {}", spec.display(), e.message()))?;
                let model = icmbench_models::Model::load(&onnx.display().to_string(), &onnx, opts).map_err(|e| e.to_string())?;
                let bytes = std::fs::read(&onnx).map_err(|e| format!("{}: {e}", onnx.display()))?;
                let v = format!("{} sha256 {} {s:?}", onnx.display(), &icmbench_models::sha256_hex(&bytes)[..16]);
                (Detector::new(model, s), v)
            }
            (None, None) => {
                let manifest = icmbench_models::Manifest::shipped().map_err(|e| e.to_string())?;
                let entry = manifest
                    .get(&c.model)
                    .ok_or_else(|| format!("no detector `{}` in the model manifest", c.model))?;
                if c.model != "nanodet" {
                    return Err(format!("`{}` has no built-in contract; give `onnx` and `spec`", c.model));
                }
                let model = manifest
                    .load(&c.model, &icmbench_models::models_dir(), opts)
                    .map_err(|e| e.to_string())?;
                let s = DetectorSpec::nanodet();
                (
                    Detector::new(model, s.clone()),
                    format!("{} sha256 {} {s:?}", c.model, &entry.sha256[..16]),
                )
            }
            _ => return Err("give both `onnx` and `spec`, or neither (a manifest `model`)".into()),
        };
        Ok(Self {
            detector: Arc::new(detector),
            ground_truth: c.ground_truth,
            pseudo_threshold: c.pseudo_threshold,
            version,
        })
    }
}

/// Names of the two dataset-level metrics for a ground-truth kind.
pub fn metric_names(gt: GroundTruth) -> [&'static str; 2] {
    match gt {
        GroundTruth::Coco => ["map", "map50"],
        GroundTruth::Pseudo => ["map_vs_uncompressed", "map50_vs_uncompressed"],
    }
}

/// Detections as the JSON stored in a row.
pub fn detections_json(d: &[Detection]) -> String {
    serde_json::to_string(d).unwrap_or_else(|_| "[]".into())
}

/// A pseudo ground truth (COCO instances JSON) from detections on uncompressed images:
/// `(image id in results, width, height, detections)`.
pub fn pseudo_ground_truth(images: &[(String, u32, u32, Vec<Detection>)], threshold: f64, detector: &str) -> serde_json::Value {
    let mut anns = Vec::new();
    let mut imgs = Vec::new();
    for (i, (file, w, h, dets)) in images.iter().enumerate() {
        imgs.push(json!({"id": i + 1, "file_name": file, "width": w, "height": h}));
        for d in dets.iter().filter(|d| d.score >= threshold) {
            anns.push(
                json!({"id": anns.len() + 1, "image_id": i + 1, "category_id": d.category_id, "bbox": d.bbox,
                "area": d.bbox[2] * d.bbox[3], "iscrowd": 0}),
            );
        }
    }
    let categories: Vec<_> = COCO80_TO_91
        .iter()
        .zip(COCO80_NAMES)
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    json!({
        "info": {"icmbench_ground_truth": "pseudo", "description": format!("{detector} detections with score >= {threshold} on the uncompressed images")},
        "images": imgs, "annotations": anns, "categories": categories,
    })
}

/// How detector category ids (COCO's 91-id numbering) map to a ground truth's ids: by
/// category name, so that a dataset numbering its own classes (sahi's terrain2: `car` = 1)
/// is evaluated correctly; classes the ground truth lacks are dropped.
pub fn category_map(gt: &serde_json::Value) -> BTreeMap<u64, u64> {
    let by_name: BTreeMap<&str, u64> = gt["categories"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| Some((c["name"].as_str()?, c["id"].as_u64()?))).collect())
        .unwrap_or_default();
    COCO80_TO_91
        .iter()
        .zip(COCO80_NAMES)
        .filter_map(|(&coco, name)| by_name.get(name).map(|&id| (coco, id)))
        .collect()
}

/// A ground truth read back: kind, file name → image id, detector category → its category.
struct GroundTruthFile {
    kind: GroundTruth,
    ids: BTreeMap<String, u64>,
    categories: BTreeMap<u64, u64>,
}

/// Reads a ground-truth file: its kind (pseudo or the dataset's) and file name → image id.
fn read_ground_truth(path: &Path) -> Result<GroundTruthFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let kind = if v["info"]["icmbench_ground_truth"] == "pseudo" {
        GroundTruth::Pseudo
    } else {
        GroundTruth::Coco
    };
    let ids = v["images"]
        .as_array()
        .ok_or_else(|| format!("{}: no `images` array", path.display()))?
        .iter()
        .filter_map(|im| Some((im["file_name"].as_str()?.to_string(), im["id"].as_u64()?)))
        .collect();
    Ok(GroundTruthFile {
        kind,
        ids,
        categories: category_map(&v),
    })
}

/// The image id of a result row's image in a ground truth (by its path in the dataset,
/// else by its file name).
fn image_id(ids: &BTreeMap<String, u64>, image: &str) -> Option<u64> {
    ids.get(image)
        .or_else(|| Path::new(image).file_name().and_then(|n| ids.get(n.to_string_lossy().as_ref())))
        .copied()
}

/// Adds mAP (AP@[.5:.95]) and mAP@.5 per (dataset, codec, quality) to `points`, from the
/// detections in `rows` and the ground truths in `output/ground_truth/`. Returns the
/// problems met (a dataset whose ground truth cannot be read, rows without detections).
pub fn add_task_metrics(points: &mut [Point], rows: &[ResultRow], output: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut groups: BTreeMap<(String, String, u64), Vec<&ResultRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.is_ok() && r.detections.is_some()) {
        groups
            .entry((r.dataset.clone(), r.codec.clone(), r.quality.to_bits()))
            .or_default()
            .push(r);
    }
    let mut gts: BTreeMap<String, Option<(PathBuf, GroundTruthFile)>> = BTreeMap::new();
    for ((dataset, codec, q), members) in groups {
        let gt = gts.entry(dataset.clone()).or_insert_with(|| {
            let path = output.join(GT_DIR).join(format!("{dataset}.json"));
            match read_ground_truth(&path) {
                Ok(gt) => Some((path, gt)),
                Err(e) => {
                    problems.push(format!("dataset `{dataset}`: no mAP: {e}"));
                    None
                }
            }
        });
        let Some((path, gt)) = gt else { continue };
        let mut dets = Vec::new();
        for r in &members {
            let Some(id) = image_id(&gt.ids, &r.image) else {
                problems.push(format!("{dataset}/{}: not in {}", r.image, path.display()));
                continue;
            };
            match serde_json::from_str::<Vec<Detection>>(r.detections.as_deref().unwrap_or("[]")) {
                Ok(d) => dets.extend(d.into_iter().filter_map(|mut d| {
                    d.category_id = *gt.categories.get(&d.category_id)?;
                    Some((id, d))
                })),
                Err(e) => problems.push(format!("{dataset}/{} {codec}: stored detections: {e}", r.image)),
            }
        }
        let quality = f64::from_bits(q);
        let label = format!("{dataset}/{codec} q{quality}");
        match icmbench_metrics::coco::evaluate_detections(path, &dets, icmbench_metrics::coco::IouType::Bbox, &label) {
            Ok(stats) => {
                if let Some(p) = points
                    .iter_mut()
                    .find(|p| p.dataset == dataset && p.codec == codec && p.quality == quality)
                {
                    for (name, v) in metric_names(gt.kind).into_iter().zip([stats[0], stats[1]]) {
                        p.metrics.insert(
                            name.to_string(),
                            Stats {
                                mean: v,
                                median: v,
                                std: f64::NAN,
                            },
                        );
                    }
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    problems
}
