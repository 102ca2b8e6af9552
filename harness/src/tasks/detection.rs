//! Machine tasks in a run (the SA-ICM protocol): several task models — detectors, instance
//! segmenters, a face detector — run on every decoded image (decoded once, given to each);
//! each task's output (boxes, masks as COCO RLE, or its error) is stored in the row under
//! the task's name with the model's identity, and the dataset-level metrics per (task,
//! dataset, codec, quality) are computed from the stored outputs against a ground truth
//! kept in the output folder (`ground_truth/<task>/<dataset>.json`): the dataset's own COCO
//! annotations, or a pseudo ground truth made of the task model's confident outputs on the
//! uncompressed images (metrics then named `…_vs_uncompressed`).
//!
//! | task kind | metrics per point (`NAME` is the task's name) |
//! |---|---|
//! | `detection` | `map@NAME`, `map50@NAME`; with a mask family (YOLOv8-seg, Mask R-CNN, SOLO) also `segm_map@NAME`, `segm_map50@NAME` |
//! | `faces` | `face_recall@NAME`: the share of the faces found on the uncompressed images that are still found (IoU ≥ .5, same score threshold) on the decoded ones; `face_similarity@NAME`: the mean similarity of each such face's description (FaceRes) to that of the same box on the decoded image |
//!
//! Beside each ground truth, `ground_truth/<task>/task.json` records what the task was
//! (kind, model identity, regime, threshold), for reports.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use icmbench_datasets::{ImageEntry, Preprocess, load_image};
use icmbench_metrics::catalogue;
use icmbench_metrics::coco::{Analysis, Instance, IouType};
use icmbench_models::detect::{COCO80_NAMES, COCO80_TO_91, Detection, Detector, DetectorSpec, Instances};
use icmbench_models::face::FaceEmbedder;
use icmbench_models::textfile::{DATA_JSON_CAP, read_text_capped};
use icmbench_reports::ReportError;
use icmbench_reports::aggregate::{Point, Stats};
use icmbench_reports::store::{LEGACY_TASK, ResultRow, TaskOutput, write_json, write_text};
use icmbench_reports::tasks::TaskPoint;
use image::RgbImage;
use serde::{Deserialize, Serialize};
use serde_json::json;

use icmbench_reports::store::GT_DIR;

/// Where the ground truth comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroundTruth {
    /// The dataset's `annotations` (COCO instances JSON).
    Coco,
    /// The task model's outputs with score ≥ `pseudo_threshold` on the uncompressed images.
    Pseudo,
    /// Each dataset's `annotations` where it has them, a pseudo ground truth for the others.
    Auto,
}

impl GroundTruth {
    /// Whether this choice needs the outputs on the uncompressed images.
    fn may_be_pseudo(self) -> bool {
        self != GroundTruth::Coco
    }
}

/// What a task measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Object detection, and instance segmentation when the contract's family has masks
    /// (`segmentation` in a config is this kind, checked to have masks).
    Detection,
    /// Faces (privacy): recall of the faces found on the uncompressed images.
    Faces,
}

/// One `[[tasks]]` table of a config (or the single `[task]` of earlier configs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// Name in results and reports (`map@NAME`); default: the model's name.
    pub name: Option<String>,
    /// `detection`, `segmentation` (a detection whose contract has masks) or `faces`.
    pub kind: String,
    /// A model of the manifest with a built-in contract (default `nanodet` for detection,
    /// `blazeface` for faces).
    pub model: Option<String>,
    /// Your own ONNX export (with `spec`), relative to the config.
    pub onnx: Option<PathBuf>,
    /// Its contract (TOML), relative to the config.
    pub spec: Option<PathBuf>,
    /// `coco` (datasets need `annotations`), `pseudo` (the only choice for faces), or
    /// `auto` (each dataset's annotations where it has them, else pseudo).
    pub ground_truth: Option<GroundTruth>,
    /// Score threshold of pseudo ground-truth boxes (default 0.3; faces 0.5, which is also
    /// the score a face needs on a decoded image to count as found).
    pub pseudo_threshold: Option<f64>,
    /// How the model was trained, shown beside its name in every table: `frozen`
    /// (off-the-shelf, the default), `fine-tuned-on-decoded`, or your own label.
    pub regime: Option<String>,
}

/// A task as the run uses it: the config's table checked, defaults filled, paths resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPlan {
    /// Name in results.
    pub name: String,
    /// What it measures.
    pub kind: TaskKind,
    /// Whether the config asked for masks (`segmentation`).
    pub needs_masks: bool,
    /// Manifest model (when no `onnx`).
    pub model: String,
    /// Your ONNX export and its contract.
    pub export: Option<(PathBuf, PathBuf)>,
    /// Ground-truth source.
    pub ground_truth: GroundTruth,
    /// Pseudo ground-truth threshold.
    pub pseudo_threshold: f64,
    /// Training regime label.
    pub regime: String,
}

impl TaskConfig {
    /// The task checked and completed (`resolve` makes a path absolute against the config's
    /// folder); an error says what is wrong, for the config to locate.
    pub fn plan(&self, resolve: impl Fn(&Path) -> PathBuf) -> Result<TaskPlan, String> {
        let (kind, needs_masks) = match self.kind.as_str() {
            "detection" => (TaskKind::Detection, false),
            "segmentation" => (TaskKind::Detection, true),
            "faces" => (TaskKind::Faces, false),
            other => {
                return Err(format!(
                    "kind `{other}` is not a task kind; use `detection`, `segmentation` or `faces`"
                ));
            }
        };
        let export = match (&self.onnx, &self.spec) {
            (Some(o), Some(s)) => Some((resolve(o), resolve(s))),
            (None, None) => None,
            _ => return Err("give both `onnx` and `spec`, or neither (a manifest `model`)".into()),
        };
        if export.is_some() && self.model.is_some() {
            return Err("give `model` (a manifest model) or `onnx` + `spec` (your export), not both".into());
        }
        let model = match (&self.model, kind) {
            (Some(m), _) => m.clone(),
            (None, TaskKind::Faces) => "blazeface".into(),
            (None, TaskKind::Detection) if needs_masks && export.is_none() => {
                return Err(
                    "a segmentation task needs a `model` (the manifest's only segmenter is the synthetic `synthetic-segmenter`) or your export (`onnx` + `spec`)".into(),
                );
            }
            (None, TaskKind::Detection) => "nanodet".into(),
        };
        let ground_truth = match (kind, self.ground_truth) {
            (TaskKind::Faces, None | Some(GroundTruth::Pseudo)) => GroundTruth::Pseudo,
            (TaskKind::Faces, Some(GroundTruth::Coco | GroundTruth::Auto)) => {
                return Err("a faces task measures recall against the uncompressed images: `ground_truth` must be `pseudo`".into());
            }
            (TaskKind::Detection, Some(g)) => g,
            (TaskKind::Detection, None) => return Err("`ground_truth` is missing: `coco`, `pseudo` or `auto`".into()),
        };
        let pseudo_threshold = self.pseudo_threshold.unwrap_or(if kind == TaskKind::Faces { 0.5 } else { 0.3 });
        if !(0.0..=1.0).contains(&pseudo_threshold) {
            return Err(format!("`pseudo_threshold` must be from 0 to 1, got {pseudo_threshold}"));
        }
        let default_name = match &export {
            Some((onnx, _)) => onnx
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| model.clone()),
            None => model.clone(),
        };
        let regime = self.regime.clone().unwrap_or_else(|| "frozen".into());
        if regime.is_empty() || regime.len() > 64 || regime.chars().any(char::is_control) {
            return Err("`regime` must be a short label (1 to 64 characters, no control characters)".into());
        }
        Ok(TaskPlan {
            name: self.name.clone().unwrap_or(default_name),
            kind,
            needs_masks,
            model,
            export,
            ground_truth,
            pseudo_threshold,
            regime,
        })
    }
}

/// Why a task could not be prepared or its ground truths written.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The model or a ground truth could not be prepared.
    #[error("task `{task}`: {message}")]
    Setup {
        /// The task's name.
        task: String,
        /// What went wrong.
        message: String,
    },
    /// A ground-truth file could not be written.
    #[error(transparent)]
    Store(#[from] ReportError),
}

/// Outputs on an uncompressed image: dataset index, image id, width, height, instances.
type Uncompressed = (usize, String, u32, u32, Instances);

/// One task of a run: its model, shared by all workers, and what it saw of the
/// uncompressed images (pseudo ground truth only).
pub struct TaskStage {
    /// The task as planned.
    pub plan: TaskPlan,
    /// The model's identity, stored with every output ([`TaskOutput::model`]).
    pub identity: String,
    detector: Detector,
    uncompressed: Mutex<Vec<Uncompressed>>,
    /// A faces task's face descriptions: the model, and the faces found on each uncompressed
    /// image (dataset, image id) with their descriptors.
    faces: Option<(FaceEmbedder, FaceStore)>,
}

/// The faces of every uncompressed image seen, by (dataset, image id).
type FaceStore = Mutex<HashMap<(String, String), UncompressedFaces>>;

/// The faces found on an uncompressed image: each box and its descriptor.
type UncompressedFaces = Vec<([f64; 4], Vec<f32>)>;

/// The face description model of a faces task (manifest).
pub const FACE_EMBEDDING_MODEL: &str = "faceres-embedding";

impl TaskStage {
    /// Loads the task's model on `opts`' device and computes its identity.
    pub fn new(plan: &TaskPlan, opts: &icmbench_models::RuntimeOptions) -> Result<Self, TaskError> {
        let setup = |message: String| TaskError::Setup {
            task: plan.name.clone(),
            message,
        };
        let export = plan.export.as_ref().map(|(o, s)| (o.as_path(), s.as_path()));
        let (detector, manifest_sha, contract) = load_model(&plan.model, export, opts).map_err(setup)?;
        let weights = match (manifest_sha, &plan.export) {
            (Some(sha), _) => sha,
            (None, Some((onnx, _))) => file_hash(onnx).map_err(setup)?,
            (None, None) => String::new(),
        };
        if plan.needs_masks && !detector.spec().has_masks() {
            return Err(setup(
                "kind `segmentation` needs a contract whose family has masks (`yolov8-seg` or `boxes-masks`)".into(),
            ));
        }
        let faces = match plan.kind {
            TaskKind::Faces => {
                let (model, sha) = super::load_manifest_model(FACE_EMBEDDING_MODEL, opts).map_err(setup)?;
                Some((FaceEmbedder::new(model), sha))
            }
            TaskKind::Detection => None,
        };
        // A faces task's outputs also depend on the face description model.
        let weights = match &faces {
            Some((_, sha)) => format!("{}+{}", &weights[..weights.len().min(8)], &sha[..sha.len().min(8)]),
            None => weights[..weights.len().min(16)].to_string(),
        };
        let contract_hash = blake3::hash(contract.as_bytes()).to_hex();
        let identity = format!("{}:{weights}:{}:{}", plan.model, &contract_hash[..12], plan.regime);
        Ok(Self {
            plan: plan.clone(),
            identity,
            detector,
            uncompressed: Mutex::new(Vec::new()),
            faces: faces.map(|(e, _)| (e, Mutex::new(HashMap::new()))),
        })
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.plan.name
    }

    /// The MACs of one run of the task's detector on `img`, for a stage loaded with
    /// profiling runtime options (a faces task's description model is not counted).
    pub fn macs_on(&self, img: &RgbImage) -> Result<icmbench_models::complexity::MacCount, String> {
        self.detector.instances(img).map_err(|e| e.to_string())?;
        self.detector.macs().map_err(|e| e.to_string())
    }

    /// Whether the task's outputs have masks.
    pub fn has_masks(&self) -> bool {
        self.detector.spec().has_masks()
    }

    /// Sees an uncompressed image before its rows: with a pseudo ground truth, its outputs
    /// become the ground truth of the image (`dataset`: the dataset's index and name); a
    /// faces task also describes each face found (score ≥ its threshold).
    pub fn see_uncompressed(&self, (index, dataset): (usize, &str), entry: &ImageEntry, img: &RgbImage) {
        if !self.plan.ground_truth.may_be_pseudo() {
            return;
        }
        match self.detector.instances(img) {
            Ok(d) => {
                if let Some((embedder, store)) = &self.faces {
                    let found = d.detections.iter().filter(|f| f.score >= self.plan.pseudo_threshold);
                    let described = found
                        .map(|f| embedder.embed(img, f.bbox).map(|e| (f.bbox, e)))
                        .collect::<Result<Vec<_>, _>>();
                    match described {
                        Ok(faces) => {
                            if let Ok(mut s) = store.lock() {
                                s.insert((dataset.to_string(), entry.id.clone()), faces);
                            }
                        }
                        Err(e) => tracing::warn!("task `{}`: {}: describing the faces: {e}", self.name(), entry.path.display()),
                    }
                }
                if let Ok(mut u) = self.uncompressed.lock() {
                    u.push((index, entry.id.clone(), img.width(), img.height(), d));
                }
            }
            Err(e) => tracing::warn!("task `{}`: {}: on the uncompressed image: {e}", self.name(), entry.path.display()),
        }
    }

    /// A faces task's similarity of each face of the uncompressed image (dataset, image id)
    /// to the same box on the scored image; `None` for other tasks.
    fn similarities(&self, at: (&str, &str), img: &RgbImage) -> Result<Option<Vec<f64>>, String> {
        let Some((embedder, store)) = &self.faces else { return Ok(None) };
        let faces = store
            .lock()
            .map_err(|_| "face store poisoned".to_string())?
            .get(&(at.0.to_string(), at.1.to_string()))
            .cloned()
            .ok_or("no face description of the uncompressed image")?;
        faces
            .iter()
            .map(|(bbox, reference)| {
                let e = embedder.embed(img, *bbox).map_err(|e| e.to_string())?;
                Ok(icmbench_models::face::similarity(reference, &e))
            })
            .collect::<Result<Vec<f64>, String>>()
            .map(Some)
    }

    /// The task's output on a scored image of (dataset, image id), as stored in its row: its
    /// error, if the model fails on this image, is kept in the output (naming the task),
    /// never raised.
    pub fn run(&self, at: (&str, &str), img: &RgbImage) -> TaskOutput {
        let found = self
            .detector
            .instances(img)
            .map_err(|e| e.to_string())
            .and_then(|i| Ok((self.similarities(at, img)?, i)));
        match found {
            Ok((similarities, i)) => TaskOutput {
                model: self.identity.clone(),
                detections: i.detections,
                masks: i.masks,
                similarities,
                error: None,
            },
            Err(e) => TaskOutput {
                model: self.identity.clone(),
                detections: Vec::new(),
                masks: None,
                similarities: None,
                error: Some(format!("task `{}`: {e}", self.name())),
            },
        }
    }

    /// Whether a stored output is this task's, finished (same model identity, no error).
    pub fn reuses(&self, output: Option<&TaskOutput>) -> bool {
        output.is_some_and(|o| o.model == self.identity && o.is_ok())
    }

    /// What reports need to know of the task (`task.json`).
    fn record(&self) -> TaskRecord {
        TaskRecord {
            kind: self.plan.kind,
            model: self.identity.clone(),
            regime: self.plan.regime.clone(),
            ground_truth: self.plan.ground_truth,
            threshold: self.plan.pseudo_threshold,
            masks: self.has_masks(),
        }
    }

    /// Writes `ground_truth/<task>/<dataset>.json` into `output` for every dataset (name,
    /// COCO annotations): the pseudo ground truth from the uncompressed images, or a copy of
    /// the dataset's annotations; and `ground_truth/<task>/task.json`.
    pub fn write_ground_truths<'a>(
        self,
        output: &Path,
        datasets: impl Iterator<Item = (&'a str, Option<&'a Path>)>,
    ) -> Result<(), TaskError> {
        let dir = task_dir(output, self.name());
        write_json(&dir.join(TASK_RECORD), &self.record())?;
        let categories = category_names(self.plan.kind, &self.detector.spec().category_ids);
        let mut uncompressed = self.uncompressed.into_inner().unwrap_or_default();
        uncompressed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (di, (name, annotations)) in datasets.enumerate() {
            let path = dir.join(format!("{name}.json"));
            let pseudo = match self.plan.ground_truth {
                GroundTruth::Coco => false,
                GroundTruth::Pseudo => true,
                GroundTruth::Auto => annotations.is_none(),
            };
            match pseudo {
                true => {
                    let images: Vec<PseudoImage> = uncompressed
                        .iter()
                        .filter(|u| u.0 == di)
                        .enumerate()
                        .map(|(i, u)| (i as u64 + 1, u.1.clone(), u.2, u.3, u.4.clone()))
                        .collect();
                    let doc = pseudo_ground_truth(&images, self.plan.pseudo_threshold, &self.plan.model, &categories);
                    write_json(&path, &doc)?;
                }
                false => {
                    let setup = |message: String| TaskError::Setup {
                        task: self.plan.name.clone(),
                        message,
                    };
                    let src = annotations.ok_or_else(|| setup(format!("dataset `{name}` has no annotations")))?;
                    let text = read_text_capped(src, DATA_JSON_CAP).map_err(|e| setup(e.to_string()))?;
                    write_text(&path, &text)?;
                }
            }
        }
        Ok(())
    }
}

/// The file beside a task's ground truths that says what the task was.
pub const TASK_RECORD: &str = "task.json";

/// What reports read of a task (`ground_truth/<task>/task.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// What it measures.
    pub kind: TaskKind,
    /// The model's identity.
    pub model: String,
    /// Training regime label.
    pub regime: String,
    /// Ground-truth source.
    pub ground_truth: GroundTruth,
    /// Pseudo ground-truth threshold (faces: also the score of a found face).
    pub threshold: f64,
    /// Whether outputs have masks.
    pub masks: bool,
}

/// BLAKE3 of a file, hex.
fn file_hash(path: &Path) -> Result<String, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = blake3::Hasher::new();
    h.update_reader(f).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(h.finalize().to_hex().to_string())
}

/// The built-in contract of a manifest model.
fn builtin_contract(model: &str) -> Result<DetectorSpec, String> {
    match model {
        "nanodet" => Ok(DetectorSpec::nanodet()),
        "blazeface" => Ok(DetectorSpec::blazeface()),
        "synthetic-segmenter" => Ok(DetectorSpec::synthetic_segmenter()),
        _ => Err(format!(
            "model `{model}` has no built-in contract; use nanodet, blazeface or synthetic-segmenter, or give your ONNX export and its contract (onnx + spec)"
        )),
    }
}

/// A task model: your ONNX export with its contract (TOML), or a manifest model with its
/// built-in contract; with the SHA-256 of its manifest entry (`None` for an export) and the
/// contract's text.
fn load_model(
    model: &str,
    export: Option<(&Path, &Path)>,
    opts: &icmbench_models::RuntimeOptions,
) -> Result<(Detector, Option<String>, String), String> {
    match export {
        Some((onnx, spec)) => {
            let (loaded, s, text) = super::load_export::<DetectorSpec>(onnx, spec, opts)?;
            Ok((Detector::new(loaded, s), None, text))
        }
        None => {
            let spec = builtin_contract(model)?;
            let (loaded, sha) = super::load_manifest_model(model, opts)?;
            let contract = format!("{spec:?}");
            Ok((Detector::new(loaded, spec), Some(sha), contract))
        }
    }
}

/// A detector: your ONNX export with its contract (TOML), or a manifest model with a
/// built-in contract (`nanodet`, `blazeface`, `synthetic-segmenter`).
pub fn load_detector(
    model: &str,
    onnx: Option<&Path>,
    spec: Option<&Path>,
    opts: &icmbench_models::RuntimeOptions,
) -> Result<Detector, String> {
    let export = match (onnx, spec) {
        (Some(onnx), Some(spec)) => Some((onnx, spec)),
        (None, None) => None,
        _ => return Err("give both `onnx` and `spec`, or neither (a manifest `model`)".into()),
    };
    Ok(load_model(model, export, opts)?.0)
}

/// The category (id, name) list of a task's outputs: COCO's names for COCO ids, `face` for
/// a faces task, `class N` otherwise.
pub fn category_names(kind: TaskKind, ids: &[u64]) -> Vec<(u64, String)> {
    ids.iter()
        .map(|&id| {
            let name = match kind {
                TaskKind::Faces => "face".to_string(),
                TaskKind::Detection => COCO80_TO_91
                    .iter()
                    .position(|&c| c == id)
                    .map_or_else(|| format!("class {id}"), |i| COCO80_NAMES[i].to_string()),
            };
            (id, name)
        })
        .collect()
}

/// Names of a task's dataset-level metrics (`map@NAME`, …; see the module table).
pub fn metric_names(kind: TaskKind, gt: GroundTruth, masks: bool, task: &str) -> Vec<String> {
    let defs: Vec<&catalogue::MetricDef> = match (kind, gt) {
        (TaskKind::Faces, _) => vec![&catalogue::FACE_RECALL, &catalogue::FACE_SIMILARITY],
        (TaskKind::Detection, GroundTruth::Auto) => {
            let mut names = metric_names(kind, GroundTruth::Coco, masks, task);
            names.extend(metric_names(kind, GroundTruth::Pseudo, masks, task));
            return names;
        }
        (TaskKind::Detection, GroundTruth::Coco) => {
            let mut d = vec![&catalogue::MAP, &catalogue::MAP50];
            if masks {
                d.extend([&catalogue::SEGM_MAP, &catalogue::SEGM_MAP50]);
            }
            d
        }
        (TaskKind::Detection, GroundTruth::Pseudo) => {
            let mut d = vec![&catalogue::MAP_VS_UNCOMPRESSED, &catalogue::MAP50_VS_UNCOMPRESSED];
            if masks {
                d.extend([&catalogue::SEGM_MAP_VS_UNCOMPRESSED, &catalogue::SEGM_MAP50_VS_UNCOMPRESSED]);
            }
            d
        }
    };
    defs.into_iter().map(|d| catalogue::for_task(d.name, task)).collect()
}

/// Marks a pseudo ground truth: its `info.description` starts with this.
const PSEUDO_MARK: &str = "icmbench pseudo ground truth:";

/// One image of a pseudo ground truth: id, file name (as in results), width, height, and
/// the task model's outputs on the uncompressed image.
pub type PseudoImage = (u64, String, u32, u32, Instances);

/// A pseudo ground truth (COCO instances JSON) from outputs on uncompressed images: the
/// detections with score ≥ `threshold` (with their masks as RLE segmentations, and the
/// mask's area, when the model segments), in the given categories.
pub fn pseudo_ground_truth(images: &[PseudoImage], threshold: f64, model: &str, categories: &[(u64, String)]) -> serde_json::Value {
    let mut anns = Vec::new();
    let mut imgs = Vec::new();
    for (id, file, w, h, out) in images {
        imgs.push(json!({"id": id, "file_name": file, "width": w, "height": h}));
        for (k, d) in out.detections.iter().enumerate().filter(|(_, d)| d.score >= threshold) {
            let mut a = json!({"id": anns.len() + 1, "image_id": id, "category_id": d.category_id, "bbox": d.bbox,
                "area": d.bbox[2] * d.bbox[3], "iscrowd": 0});
            if let Some(counts) = out.masks.as_ref().and_then(|m| m.get(k)) {
                a["segmentation"] = json!({"size": [h, w], "counts": counts});
                a["area"] = json!(icmbench_models::segment::rle_area(counts, *h, *w).unwrap_or(0));
            }
            anns.push(a);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let categories: Vec<_> = categories
        .iter()
        .filter(|(id, _)| seen.insert(*id))
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    json!({
        "info": {"description": format!("{PSEUDO_MARK} {model} outputs with score >= {threshold} on the uncompressed images")},
        "images": imgs, "annotations": anns, "categories": categories,
    })
}

/// The pseudo ground truths of a dataset's shards as one, exactly as an unsharded run writes
/// it: images by file name, numbered from 1, each with its boxes in their order. `None`
/// when they are the dataset's own annotations (no pseudo ground truth); an error when
/// some are and some are not, or a file is not a COCO instances document.
pub fn merge_pseudo_ground_truths(texts: &[String]) -> Result<Option<serde_json::Value>, String> {
    use serde_json::Value;
    let docs = texts
        .iter()
        .map(|t| serde_json::from_str::<Value>(t).map_err(|e| e.to_string()))
        .collect::<Result<Vec<Value>, String>>()?;
    let pseudo = |d: &Value| {
        d.pointer("/info/description")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with(PSEUDO_MARK))
    };
    match docs.iter().filter(|d| pseudo(d)).count() {
        0 => return Ok(None),
        n if n < docs.len() => return Err("some shards hold a pseudo ground truth, others the dataset's annotations".into()),
        _ => {}
    }
    let list = |d: &Value, key: &str| d.get(key).and_then(Value::as_array).cloned().ok_or(format!("no `{key}` list"));
    let mut images: BTreeMap<String, (Value, Vec<Value>)> = BTreeMap::new();
    for d in &docs {
        let mut boxes: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        for a in list(d, "annotations")? {
            boxes
                .entry(a.get("image_id").and_then(Value::as_u64).ok_or("an annotation without image_id")?)
                .or_default()
                .push(a);
        }
        for im in list(d, "images")? {
            let file = im
                .get("file_name")
                .and_then(Value::as_str)
                .ok_or("an image without file_name")?
                .to_string();
            let id = im.get("id").and_then(Value::as_u64).ok_or("an image without id")?;
            images.entry(file).or_insert((im, boxes.remove(&id).unwrap_or_default()));
        }
    }
    let (mut imgs, mut anns) = (Vec::new(), Vec::new());
    for (i, (mut im, boxes)) in images.into_values().enumerate() {
        let id = i as u64 + 1;
        im["id"] = json!(id);
        for mut a in boxes {
            a["id"] = json!(anns.len() + 1);
            a["image_id"] = json!(id);
            anns.push(a);
        }
        imgs.push(im);
    }
    let mut doc = docs[0].clone();
    doc["images"] = Value::Array(imgs);
    doc["annotations"] = Value::Array(anns);
    Ok(Some(doc))
}

/// A ground truth loaded once: kind, file name → image id, detector category (COCO's
/// 91-id numbering) → its category, and the COCO object the evaluation uses.
pub struct GroundTruthFile {
    /// Pseudo or the dataset's own.
    pub kind: GroundTruth,
    /// File name → image id.
    pub ids: BTreeMap<String, u64>,
    /// Detector category id → ground-truth category id: matched by name for a dataset's
    /// annotations, so that a dataset numbering its own classes (sahi's terrain2: `car` = 1)
    /// is evaluated correctly (classes the ground truth lacks are absent); the identity for a
    /// pseudo ground truth.
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
        // A pseudo ground truth is in the model's own numbering; a dataset's annotations are
        // matched to COCO's classes by name.
        let categories = if pseudo {
            d.categories.iter().map(|c| (c.id, c.id)).collect()
        } else {
            let by_name: BTreeMap<&str, u64> = d.categories.iter().map(|c| (c.name.as_str(), c.id)).collect();
            COCO80_TO_91
                .iter()
                .zip(COCO80_NAMES)
                .filter_map(|(&coco, name)| by_name.get(name).map(|&id| (coco, id)))
                .collect()
        };
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

/// Every task's evaluations over a run's rows, and why some are missing.
#[derive(Debug, Clone, Default)]
pub struct TaskEvaluations {
    /// One per (task, point, IoU type), in (task, dataset, codec, quality) order.
    pub points: Vec<TaskPoint>,
    /// What each task is (`task.json`), by name.
    pub records: BTreeMap<String, TaskRecord>,
    /// Why an evaluation is missing (an unreadable ground truth, images without output).
    pub problems: Vec<String>,
}

/// A task's folder of ground truths in an output folder (names come from a results table:
/// never paths of their own).
fn task_dir(output: &Path, task: &str) -> PathBuf {
    output.join(GT_DIR).join(icmbench_reports::paths::path_part(task).as_ref())
}

/// The task's record (`task.json`), if it has one.
pub(super) fn task_record(output: &Path, task: &str) -> Option<TaskRecord> {
    let text = read_text_capped(&task_dir(output, task).join(TASK_RECORD), DATA_JSON_CAP).ok()?;
    serde_json::from_str(&text).ok()
}

/// The ground truth of a task's dataset in an output folder (the legacy task's at its old
/// place when it has none of its own).
pub(super) fn ground_truth_path(output: &Path, task: &str, dataset: &str) -> PathBuf {
    let file = format!("{}.json", icmbench_reports::paths::path_part(dataset));
    let path = task_dir(output, task).join(&file);
    if task == LEGACY_TASK && !path.exists() {
        return output.join(GT_DIR).join(file);
    }
    path
}

/// Evaluates every task of `rows` per (dataset, codec, quality) from the stored outputs and
/// the ground truths in `output/ground_truth/`: bbox (and segm for outputs with masks), with
/// per-class AP, TIDE and recall. A point where some image has no output of the task (its
/// model failed there) is not evaluated for that task: it is a problem, never a mean over
/// fewer images.
pub fn evaluate_tasks(rows: &[ResultRow], output: &Path) -> TaskEvaluations {
    let mut ev = TaskEvaluations::default();
    let (images, groups) = task_groups(rows);
    // Each (task, dataset) ground truth is read once, whatever the number of points.
    let mut gts: BTreeMap<(String, String), Option<(PathBuf, GroundTruthFile)>> = BTreeMap::new();
    for ((task, dataset, codec, q), members) in groups {
        let quality = f64::from_bits(q);
        let label = format!("task `{task}`: {dataset}/{codec} q{quality}");
        let expected = images.get(&(dataset.clone(), codec.clone(), q)).copied().unwrap_or(0);
        let failed: Vec<&str> = members.iter().filter_map(|(_, o)| o.error.as_deref()).collect();
        if members.len() < expected || !failed.is_empty() {
            ev.problems.push(format!(
                "{label}: {} of {expected} images have no output{}; no metrics at this point",
                expected - members.len() + failed.len(),
                failed.first().map(|e| format!(" (first: {e})")).unwrap_or_default()
            ));
            continue;
        }
        // Each task's record is read once, each ground truth once per dataset.
        if !ev.records.contains_key(&task)
            && let Some(r) = task_record(output, &task)
        {
            ev.records.insert(task.clone(), r);
        }
        let path = ground_truth_path(output, &task, &dataset);
        let gt = gts
            .entry((task.clone(), dataset.clone()))
            .or_insert_with(|| match GroundTruthFile::read(&path) {
                Ok(gt) => Some((path.clone(), gt)),
                Err(e) => {
                    ev.problems.push(format!("task `{task}`: dataset `{dataset}`: no metrics: {e}"));
                    None
                }
            });
        let Some((path, gt)) = gt else { continue };
        if gt.categories.is_empty() {
            ev.problems.push(format!(
                "{label}: none of the model's categories is in {} (matched by name): no detection can match",
                path.display()
            ));
        }
        let faces = ev.records.get(&task).filter(|r| r.kind == TaskKind::Faces).map(|r| r.threshold);
        let (instances, with_masks) = instances_of(&members, gt, faces, |image| {
            ev.problems.push(format!("{label}: {image} is not in {}", path.display()));
        });
        let mut kinds = vec![(IouType::Bbox, "bbox")];
        if with_masks && faces.is_none() {
            kinds.push((IouType::Segm, "segm"));
        }
        let record = ev.records.get(&task);
        let kind = record.map_or(TaskKind::Detection, |r| r.kind);
        let similarity = (kind == TaskKind::Faces).then(|| mean_similarity(&members, &task)).flatten();
        for (iou, name) in kinds {
            match icmbench_metrics::coco::analyse(&gt.coco, &instances, iou, &label) {
                Ok(analysis) => ev.points.push(TaskPoint {
                    columns: point_columns(&analysis, name, gt.kind, kind, &task)
                        .into_iter()
                        .chain(similarity.clone())
                        .collect(),
                    task: task.clone(),
                    regime: record.map_or_else(|| "unrecorded".into(), |r| r.regime.clone()),
                    model: members.first().map(|(_, o)| o.model.clone()).unwrap_or_default(),
                    privacy: faces.is_some(),
                    dataset: dataset.clone(),
                    codec: codec.clone(),
                    quality,
                    iou: name.into(),
                    analysis,
                }),
                Err(e) => ev.problems.push(format!("{label} ({name}): {e}")),
            }
        }
    }
    ev
}

/// A point: (dataset, codec, quality bits).
pub(super) type PointKey = (String, String, u64);
/// One task's outputs at a point, by (task, dataset, codec, quality bits).
pub(super) type TaskGroups<'a> = BTreeMap<(String, String, String, u64), Vec<(&'a ResultRow, &'a TaskOutput)>>;

/// The ok rows' task outputs grouped by (task, dataset, codec, quality bits), and the number
/// of ok rows per point.
pub(super) fn task_groups(rows: &[ResultRow]) -> (BTreeMap<PointKey, usize>, TaskGroups<'_>) {
    let mut images: BTreeMap<PointKey, usize> = BTreeMap::new();
    let mut groups = TaskGroups::new();
    for r in rows.iter().filter(|r| r.is_ok()) {
        *images.entry((r.dataset.clone(), r.codec.clone(), r.quality.to_bits())).or_default() += 1;
        for (task, out) in &r.tasks {
            groups
                .entry((task.clone(), r.dataset.clone(), r.codec.clone(), r.quality.to_bits()))
                .or_default()
                .push((r, out));
        }
    }
    (images, groups)
}

/// A faces task's `face_similarity@TASK` column at a point: the mean similarity over every
/// face of every image (`None` when no face was found on the uncompressed images).
fn mean_similarity(members: &[(&ResultRow, &TaskOutput)], task: &str) -> Option<(String, f64)> {
    weighted_similarity(members, &|_| 1.0).map(|v| (catalogue::for_task(catalogue::FACE_SIMILARITY.name, task), v))
}

/// The mean similarity over every face of every output, each output's faces counted
/// `weight(row)` times (1 for a point's column; a bootstrap resample's multiplicity);
/// `None` when no face was found.
pub(super) fn weighted_similarity(members: &[(&ResultRow, &TaskOutput)], weight: &dyn Fn(&ResultRow) -> f64) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0.0);
    for (r, o) in members {
        let w = weight(r);
        for s in o.similarities.iter().flatten() {
            sum += w * s;
            n += w;
        }
    }
    (n > 0.0).then(|| sum / n)
}

/// The instances of a point's task outputs in a ground truth's ids and categories (for a
/// faces task, only detections scoring at least its threshold), and whether every output has
/// masks; `unknown` hears of each image the ground truth lacks.
pub(super) fn instances_of<'a>(
    members: &[(&'a ResultRow, &'a TaskOutput)],
    gt: &GroundTruthFile,
    faces: Option<f64>,
    mut unknown: impl FnMut(&str),
) -> (Vec<Instance<'a>>, bool) {
    let mut instances = Vec::new();
    let mut with_masks = true;
    for (r, out) in members {
        let Some(id) = gt.image_id(&r.image) else {
            unknown(&r.image);
            continue;
        };
        with_masks &= out.masks.as_ref().is_some_and(|m| m.len() == out.detections.len());
        for (k, d) in out.detections.iter().enumerate() {
            if faces.is_some_and(|t| d.score < t) {
                continue;
            }
            let Some(detection) = gt.map_category(*d) else { continue };
            let mask = out.masks.as_ref().and_then(|m| m.get(k)).map(|c| (c.as_str(), r.height, r.width));
            instances.push(Instance {
                image_id: id,
                detection,
                mask,
            });
        }
    }
    (instances, with_masks)
}

/// The dataset-level columns of one evaluation, main one first: (metric name, value).
pub(super) fn point_columns(a: &Analysis, iou: &str, gt: GroundTruth, kind: TaskKind, task: &str) -> Vec<(String, f64)> {
    let names = metric_names(kind, gt, iou == "segm", task);
    match (kind, iou) {
        (TaskKind::Faces, _) => vec![(names[0].clone(), a.recall50)],
        (_, "segm") => vec![(names[2].clone(), a.stats[0]), (names[3].clone(), a.stats[1])],
        _ => vec![(names[0].clone(), a.stats[0]), (names[1].clone(), a.stats[1])],
    }
}

/// Adds every task's dataset-level metrics (`map@NAME`, `segm_map@NAME`, `face_recall@NAME`,
/// …) per (dataset, codec, quality) to `points`, from the stored outputs in `rows` and the
/// ground truths in `output/ground_truth/`; returns the evaluations (for analysis tables)
/// with the problems met.
pub fn add_task_metrics(points: &mut [Point], rows: &[ResultRow], output: &Path) -> TaskEvaluations {
    let mut ev = evaluate_tasks(rows, output);
    let mut empty: Vec<String> = ev
        .points
        .iter()
        .filter(|p| p.columns.first().is_some_and(|c| c.1 < 0.0))
        .map(|p| {
            format!(
                "task `{}`: dataset `{}`: the ground truth has no object, so `{}` has no value",
                p.task,
                p.dataset,
                p.metric()
            )
        })
        .collect();
    empty.dedup();
    ev.problems.extend(empty);
    for p in &ev.points {
        let Some(point) = points
            .iter_mut()
            .find(|x| x.dataset == p.dataset && x.codec == p.codec && x.quality == p.quality)
        else {
            continue;
        };
        // pycocotools' −1: the ground truth has no object to find (no face in the dataset).
        for (name, v) in p.columns.iter().filter(|(_, v)| *v >= 0.0) {
            let v = *v;
            point.metrics.insert(
                name.clone(),
                Stats {
                    mean: v,
                    median: v,
                    std: f64::NAN,
                },
            );
        }
    }
    ev
}

/// What `icmbench detect` is asked to do: the image folder, the results file, and
/// optionally a ground truth (for image ids and categories) and a pseudo ground truth to
/// write.
pub struct DetectRequest<'a> {
    /// Image folder.
    pub images: &'a Path,
    /// Results file to write.
    pub out: &'a Path,
    /// COCO ground truth whose image ids and categories the results use.
    pub gt: Option<&'a Path>,
    /// Where to write a pseudo ground truth.
    pub pseudo_gt: Option<&'a Path>,
    /// Score threshold of pseudo ground-truth boxes.
    pub pseudo_threshold: f64,
}

/// The summary of `icmbench detect` (its `--json` output).
#[derive(Debug, Clone, Serialize)]
pub struct DetectSummary {
    /// Detections written.
    pub detections: usize,
    /// Images that could not be read.
    pub failed: usize,
    /// Images detected.
    pub images: usize,
    /// Throughput.
    pub images_per_second: f64,
    /// The results file.
    pub out: String,
    /// Wall time.
    pub seconds: f64,
}

impl DetectSummary {
    /// The one-line summary printed without `--json`.
    pub fn line(&self, pseudo_gt: Option<&Path>) -> String {
        format!(
            "{} images, {} detections ({:.2} images/s) -> {}{}",
            self.images,
            self.detections,
            self.images_per_second,
            self.out,
            pseudo_gt
                .map(|p| format!(", pseudo ground truth -> {}", p.display()))
                .unwrap_or_default()
        )
    }
}

/// What [`detect_folder`] did: the summary, and one line per image skipped or unreadable.
pub struct DetectOutcome {
    /// The summary.
    pub summary: DetectSummary,
    /// Images skipped (not in the ground truth) or unreadable, one line each.
    pub problems: Vec<String>,
}

/// Runs a detector over every image of a folder (sorted order) and writes the COCO results
/// file, and the pseudo ground truth when asked. Image ids and categories are the ground
/// truth's (by file name, by category name), else 1, 2, ... in sorted order and COCO's ids.
pub fn detect_folder(detector: &Detector, r: &DetectRequest) -> Result<DetectOutcome, DetectFolderError> {
    let entries = icmbench_datasets::scan_folder(r.images)?;
    let truth =
        r.gt.map(GroundTruthFile::read)
            .transpose()
            .map_err(DetectFolderError::GroundTruth)?;
    let start = Instant::now();
    let (mut results, mut seen, mut problems, mut failures) = (Vec::new(), Vec::new(), Vec::new(), 0usize);
    for (i, e) in entries.iter().enumerate() {
        let image_id = match &truth {
            Some(t) => match t.image_id(&e.id) {
                Some(id) => id,
                None => {
                    problems.push(format!("{}: not in the ground truth's images; skipped", e.path.display()));
                    continue;
                }
            },
            None => i as u64 + 1,
        };
        let img = match load_image(e, &Preprocess::default()) {
            Ok(i) => i.image,
            Err(err) => {
                problems.push(err.to_string());
                failures += 1;
                continue;
            }
        };
        let found = detector.instances(&img)?;
        let (w, h) = img.dimensions();
        for (k, d) in found.detections.iter().enumerate() {
            let Some(m) = (match &truth {
                Some(t) => t.map_category(*d),
                None => Some(*d),
            }) else {
                continue;
            };
            let mut v = json!({"image_id": image_id, "category_id": m.category_id, "bbox": m.bbox, "score": m.score});
            if let Some(counts) = found.masks.as_ref().and_then(|c| c.get(k)) {
                v["segmentation"] = json!({"size": [h, w], "counts": counts});
            }
            results.push(v);
        }
        seen.push((image_id, e.id.clone(), img.width(), img.height(), found));
    }
    let seconds = start.elapsed().as_secs_f64();
    let detections = results.len();
    write_json(r.out, &serde_json::Value::Array(results))?;
    if let Some(p) = r.pseudo_gt {
        let categories = category_names(TaskKind::Detection, &detector.spec().category_ids);
        write_json(p, &pseudo_ground_truth(&seen, r.pseudo_threshold, detector.name(), &categories))?;
    }
    let n = entries.len() - failures;
    let summary = DetectSummary {
        images: n,
        failed: failures,
        detections,
        seconds,
        images_per_second: n as f64 / seconds,
        out: r.out.display().to_string(),
    };
    Ok(DetectOutcome { summary, problems })
}

/// Why `icmbench detect` stopped.
#[derive(Debug, thiserror::Error)]
pub enum DetectFolderError {
    /// The image folder could not be listed.
    #[error(transparent)]
    Folder(#[from] icmbench_datasets::DatasetError),
    /// The ground truth could not be read.
    #[error("{0}")]
    GroundTruth(String),
    /// The detector failed.
    #[error(transparent)]
    Model(#[from] icmbench_models::ModelError),
    /// A file could not be written.
    #[error(transparent)]
    Store(#[from] ReportError),
}
