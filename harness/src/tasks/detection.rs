//! Machine tasks in a run (the SA-ICM protocol): a detector runs on every decoded image,
//! its detections are stored in the row, and mAP per (codec, quality) is computed over the
//! dataset from the stored detections against a ground truth kept in the output folder
//! (`ground_truth/<dataset>.json`): the dataset's own COCO annotations, or a pseudo ground
//! truth made of the detector's confident boxes on the uncompressed images, in which case
//! the metrics are named `map_vs_uncompressed` and `map50_vs_uncompressed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use icmbench_datasets::{ImageEntry, Preprocess, load_image};
use icmbench_metrics::catalogue;
use icmbench_models::detect::{COCO80_NAMES, COCO80_TO_91, Detection, Detector, DetectorSpec};
use icmbench_models::textfile::{DATA_JSON_CAP, read_text_capped};
use icmbench_reports::ReportError;
use icmbench_reports::aggregate::{Point, Stats};
use icmbench_reports::store::{ResultRow, write_json, write_text};
use image::RgbImage;
use serde::{Deserialize, Serialize};
use serde_json::json;

use icmbench_reports::store::GT_DIR;

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

/// Why a detection task could not be prepared or its ground truths written.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The detector or a ground truth could not be prepared.
    #[error("task: {0}")]
    Setup(String),
    /// A ground-truth file could not be written.
    #[error(transparent)]
    Store(#[from] ReportError),
}

/// Detections on an uncompressed image: dataset index, image id, width, height, boxes.
type Uncompressed = (usize, String, u32, u32, Vec<Detection>);

/// The detection stage of a run: the detector runs on every scored image (its boxes go
/// into the row), and, for a pseudo ground truth, on every uncompressed image too.
pub struct DetectionStage {
    /// The detector, shared by all workers.
    pub detector: Arc<Detector>,
    /// Ground-truth source.
    pub ground_truth: GroundTruth,
    /// Pseudo ground-truth threshold.
    pub pseudo_threshold: f64,
    /// Detections on the uncompressed images (pseudo ground truth only).
    uncompressed: Mutex<Vec<Uncompressed>>,
}

impl DetectionStage {
    /// Builds the detector of a validated `[task]` (paths already resolved; session created
    /// here, on `opts`' device).
    pub fn new(c: &TaskConfig, opts: &icmbench_models::RuntimeOptions) -> Result<Self, TaskError> {
        Ok(Self {
            detector: Arc::new(load_detector(&c.model, c.onnx.as_deref(), c.spec.as_deref(), opts).map_err(TaskError::Setup)?),
            ground_truth: c.ground_truth,
            pseudo_threshold: c.pseudo_threshold,
            uncompressed: Mutex::new(Vec::new()),
        })
    }

    /// Sees an uncompressed image before its rows: with a pseudo ground truth, its
    /// detections become the ground truth of the image (`dataset` is the dataset's index).
    pub fn see_uncompressed(&self, dataset: usize, entry: &ImageEntry, img: &RgbImage) {
        if self.ground_truth != GroundTruth::Pseudo {
            return;
        }
        match self.detector.detect(img) {
            Ok(d) => {
                if let Ok(mut u) = self.uncompressed.lock() {
                    u.push((dataset, entry.id.clone(), img.width(), img.height(), d));
                }
            }
            Err(e) => tracing::warn!("{}: detection on the uncompressed image: {e}", entry.path.display()),
        }
    }

    /// The detections of a scored image, as stored in its row.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, String> {
        self.detector.detect(img).map_err(|e| format!("detection: {e}"))
    }

    /// Writes `ground_truth/<dataset>.json` into `output` for every dataset (name, COCO
    /// annotations): the pseudo ground truth from the uncompressed images, or a copy of the
    /// dataset's annotations.
    pub fn write_ground_truths<'a>(
        self,
        output: &Path,
        datasets: impl Iterator<Item = (&'a str, Option<&'a Path>)>,
    ) -> Result<(), TaskError> {
        let dir = output.join(GT_DIR);
        let mut uncompressed = self.uncompressed.into_inner().unwrap_or_default();
        uncompressed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (di, (name, annotations)) in datasets.enumerate() {
            let path = dir.join(format!("{name}.json"));
            match self.ground_truth {
                GroundTruth::Pseudo => {
                    let images: Vec<_> = uncompressed
                        .iter()
                        .filter(|u| u.0 == di)
                        .enumerate()
                        .map(|(i, u)| (i as u64 + 1, u.1.clone(), u.2, u.3, u.4.clone()))
                        .collect();
                    let doc = pseudo_ground_truth(&images, self.pseudo_threshold, self.detector.name());
                    write_json(&path, &doc)?;
                }
                GroundTruth::Coco => {
                    let src = annotations.ok_or_else(|| TaskError::Setup(format!("dataset `{name}` has no annotations")))?;
                    let text = read_text_capped(src, DATA_JSON_CAP).map_err(|e| TaskError::Setup(e.to_string()))?;
                    write_text(&path, &text)?;
                }
            }
        }
        Ok(())
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
            let (loaded, s, _) = super::load_export::<DetectorSpec>(onnx, spec, opts)?;
            Ok(Detector::new(loaded, s))
        }
        (None, None) if model == "nanodet" => Ok(Detector::new(super::load_manifest_model(model, opts)?.0, DetectorSpec::nanodet())),
        (None, None) => Err(format!(
            "detector `{model}` has no built-in contract; use nanodet, or give your ONNX export and its contract (onnx + spec)"
        )),
        _ => Err("give both `onnx` and `spec`, or neither (a manifest `model`)".into()),
    }
}

/// Names of the two dataset-level metrics for a ground-truth kind.
pub fn metric_names(gt: GroundTruth) -> [&'static str; 2] {
    match gt {
        GroundTruth::Coco => [catalogue::MAP.name, catalogue::MAP50.name],
        GroundTruth::Pseudo => [catalogue::MAP_VS_UNCOMPRESSED.name, catalogue::MAP50_VS_UNCOMPRESSED.name],
    }
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
            let stored = r.detections.iter().flatten();
            dets.extend(stored.filter_map(|d| Some((id, gt.map_category(*d)?))));
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
        let dets = detector.detect(&img)?;
        let mapped = dets.iter().filter_map(|d| match &truth {
            Some(t) => t.map_category(*d),
            None => Some(*d),
        });
        results.extend(mapped.map(|m| json!({"image_id": image_id, "category_id": m.category_id, "bbox": m.bbox, "score": m.score})));
        seen.push((image_id, e.id.clone(), img.width(), img.height(), dets));
    }
    let seconds = start.elapsed().as_secs_f64();
    let detections = results.len();
    write_json(r.out, &serde_json::Value::Array(results))?;
    if let Some(p) = r.pseudo_gt {
        write_json(p, &pseudo_ground_truth(&seen, r.pseudo_threshold, detector.name()))?;
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
