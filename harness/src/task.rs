//! Machine tasks in a run (the SA-ICM protocol): a detector runs on every decoded image,
//! its detections are stored in the row, and mAP per (codec, quality) is computed over the
//! dataset from the stored detections against a ground truth kept in the output folder
//! (`ground_truth/<dataset>.json`): the dataset's own COCO annotations, or a pseudo ground
//! truth made of the detector's confident boxes on the uncompressed images, in which case
//! the metrics are named `map_vs_uncompressed` and `map50_vs_uncompressed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use icmbench_metrics::catalogue;
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
}

impl TaskPlan {
    /// Builds the detector of a validated `[task]` (paths already resolved; session created
    /// here, on `opts`' device).
    pub fn new(c: &TaskConfig, opts: &icmbench_models::RuntimeOptions) -> Result<Self, String> {
        Ok(Self {
            detector: Arc::new(load_detector(&c.model, c.onnx.as_deref(), c.spec.as_deref(), opts)?),
            ground_truth: c.ground_truth,
            pseudo_threshold: c.pseudo_threshold,
        })
    }
}

/// A detector: your ONNX export with its contract (TOML), or a manifest model with a
/// built-in contract (`nanodet`).
pub fn load_detector(
    model: &str,
    onnx: Option<&Path>,
    spec: Option<&Path>,
    opts: &icmbench_models::RuntimeOptions,
) -> Result<Detector, String> {
    match (onnx, spec) {
        (Some(onnx), Some(spec)) => {
            let (loaded, s, _) = load_export::<DetectorSpec>(onnx, spec, opts)?;
            Ok(Detector::new(loaded, s))
        }
        (None, None) if model == "nanodet" => Ok(Detector::new(load_manifest_model(model, opts)?.0, DetectorSpec::nanodet())),
        (None, None) => Err(format!(
            "detector `{model}` has no built-in contract; use nanodet, or give your ONNX export and its contract (onnx + spec)"
        )),
        _ => Err("give both `onnx` and `spec`, or neither (a manifest `model`)".into()),
    }
}

/// Loads your ONNX export and its contract (TOML, parsed as `S`): the model, the contract and
/// the contract's text. Errors name the file.
pub fn load_export<S: serde::de::DeserializeOwned>(
    onnx: &Path,
    contract: &Path,
    opts: &icmbench_models::RuntimeOptions,
) -> Result<(icmbench_models::Model, S, String), String> {
    let text = icmbench_models::textfile::read_text_capped(contract, icmbench_models::textfile::TEXT_CAP).map_err(|e| e.to_string())?;
    let spec: S = toml::from_str(&text).map_err(|e| format!("{}: {}", contract.display(), e.message()))?;
    let model = icmbench_models::Model::load(&onnx.display().to_string(), onnx, opts).map_err(|e| e.to_string())?;
    Ok((model, spec, text))
}

/// Loads a model of the shipped manifest from the models folder, with its SHA-256.
pub fn load_manifest_model(name: &str, opts: &icmbench_models::RuntimeOptions) -> Result<(icmbench_models::Model, String), String> {
    let manifest = icmbench_models::Manifest::shipped().map_err(|e| e.to_string())?;
    let model = manifest
        .load(name, &icmbench_models::models_dir(), opts)
        .map_err(|e| e.to_string())?;
    Ok((model, manifest.get(name).map(|m| m.sha256.clone()).unwrap_or_default()))
}

/// Names of the two dataset-level metrics for a ground-truth kind.
pub fn metric_names(gt: GroundTruth) -> [&'static str; 2] {
    match gt {
        GroundTruth::Coco => [catalogue::MAP.name, catalogue::MAP50.name],
        GroundTruth::Pseudo => [catalogue::MAP_VS_UNCOMPRESSED.name, catalogue::MAP50_VS_UNCOMPRESSED.name],
    }
}

/// Detections as the JSON stored in a row.
pub fn detections_json(d: &[Detection]) -> String {
    serde_json::to_string(d).unwrap_or_else(|_| "[]".into())
}

/// Marks a pseudo ground truth: its `info.description` starts with this.
const PSEUDO_MARK: &str = "icmbench pseudo ground truth:";

/// One image of a pseudo ground truth: id, file name (as in results), width, height, and
/// the detector's boxes on the uncompressed image.
pub type PseudoImage = (u64, String, u32, u32, Vec<Detection>);

/// A pseudo ground truth (COCO instances JSON) from detections on uncompressed images:
/// the boxes with score ≥ `threshold`.
pub fn pseudo_ground_truth(images: &[PseudoImage], threshold: f64, detector: &str) -> serde_json::Value {
    let mut anns = Vec::new();
    let mut imgs = Vec::new();
    for (id, file, w, h, dets) in images {
        imgs.push(json!({"id": id, "file_name": file, "width": w, "height": h}));
        for d in dets.iter().filter(|d| d.score >= threshold) {
            anns.push(
                json!({"id": anns.len() + 1, "image_id": id, "category_id": d.category_id, "bbox": d.bbox,
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
        "info": {"description": format!("{PSEUDO_MARK} {detector} detections with score >= {threshold} on the uncompressed images")},
        "images": imgs, "annotations": anns, "categories": categories,
    })
}

/// A ground truth loaded once: kind, file name → image id, detector category (COCO's
/// 91-id numbering) → its category, and the COCO object the evaluation uses.
pub struct GroundTruthFile {
    /// Pseudo or the dataset's own.
    pub kind: GroundTruth,
    /// File name → image id.
    pub ids: BTreeMap<String, u64>,
    /// Detector category id → ground-truth category id, matched by name, so that a dataset
    /// numbering its own classes (sahi's terrain2: `car` = 1) is evaluated correctly;
    /// classes the ground truth lacks are absent.
    pub categories: BTreeMap<u64, u64>,
    /// The parsed ground truth.
    pub coco: icmbench_metrics::coco::COCO,
}

impl GroundTruthFile {
    /// Reads a COCO instances file.
    pub fn read(path: &Path) -> Result<Self, String> {
        let coco = icmbench_metrics::coco::load_ground_truth(path).map_err(|e| e.to_string())?;
        let d = &coco.dataset;
        let pseudo = d
            .info
            .as_ref()
            .and_then(|i| i.description.as_deref())
            .is_some_and(|t| t.starts_with(PSEUDO_MARK));
        let by_name: BTreeMap<&str, u64> = d.categories.iter().map(|c| (c.name.as_str(), c.id)).collect();
        let categories = COCO80_TO_91
            .iter()
            .zip(COCO80_NAMES)
            .filter_map(|(&coco, name)| by_name.get(name).map(|&id| (coco, id)))
            .collect();
        let ids = d.images.iter().map(|im| (im.file_name.clone(), im.id)).collect();
        Ok(Self {
            kind: if pseudo { GroundTruth::Pseudo } else { GroundTruth::Coco },
            ids,
            categories,
            coco,
        })
    }

    /// The image id of an image in results (by its path in the dataset, else its file name).
    pub fn image_id(&self, image: &str) -> Option<u64> {
        self.ids
            .get(image)
            .or_else(|| {
                Path::new(image)
                    .file_name()
                    .and_then(|n| self.ids.get(n.to_string_lossy().as_ref()))
            })
            .copied()
    }

    /// A detection with its category in this ground truth's numbering (`None`: a class it lacks).
    pub fn map_category(&self, mut d: Detection) -> Option<Detection> {
        d.category_id = *self.categories.get(&d.category_id)?;
        Some(d)
    }
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
    // Each dataset's ground truth is read once, whatever the number of points.
    let mut gts: BTreeMap<String, Option<(PathBuf, GroundTruthFile)>> = BTreeMap::new();
    for ((dataset, codec, q), members) in groups {
        let gt = gts.entry(dataset.clone()).or_insert_with(|| {
            // The name comes from a results table: never a path of its own.
            let path = output
                .join(GT_DIR)
                .join(format!("{}.json", icmbench_reports::paths::path_part(&dataset)));
            match GroundTruthFile::read(&path) {
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
            let Some(id) = gt.image_id(&r.image) else {
                problems.push(format!("{dataset}/{}: not in {}", r.image, path.display()));
                continue;
            };
            match serde_json::from_str::<Vec<Detection>>(r.detections.as_deref().unwrap_or("[]")) {
                Ok(d) => dets.extend(d.into_iter().filter_map(|d| Some((id, gt.map_category(d)?)))),
                Err(e) => problems.push(format!("{dataset}/{} {codec}: stored detections: {e}", r.image)),
            }
        }
        let quality = f64::from_bits(q);
        let label = format!("{dataset}/{codec} q{quality}");
        match icmbench_metrics::coco::evaluate_detections(&gt.coco, &dets, icmbench_metrics::coco::IouType::Bbox, &label) {
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
