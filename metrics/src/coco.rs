//! COCO mAP with the pycocotools protocol, through the `hotcoco` crate (a pycocotools-exact
//! COCOeval in Rust): the 12 standard summary statistics for bbox or segm results.
//!
//! Statistics, in pycocotools' order: AP@[.5:.95], AP@.5, AP@.75, AP small, AP medium,
//! AP large (maxDets 100), AR@1, AR@10, AR@100, AR small, AR medium, AR large; −1 where a
//! statistic has no ground truth (as pycocotools). Their names ([`STAT_NAMES`]) are derived
//! from hotcoco's own metric definitions. Results are evaluated from files
//! ([`evaluate_files`]) or from a detector's output in memory ([`evaluate_detections`]).
//!
//! **Inputs are validated** ([`evaluate_files`]), so that a wrong file is an error and not
//! a plausible number: the ground truth is a COCO instances object with at least one
//! category, at most [`DATA_JSON_CAP`] (1 GiB), a regular file; the results are a JSON
//! *list* of detections, each with `image_id` and `category_id` known to the ground
//! truth, a `score`, and a `bbox` (`segmentation` for `segm`). Errors name the file and
//! the first offending detection by its index in the list (`detection [i]`, from 0).
//! Where hotcoco would silently differ from pycocotools' `loadRes`/`COCOeval`, the
//! evaluation carries a warning ([`FileEvaluation::warnings`]): an empty results list
//! (pycocotools fails on it), ground-truth annotations without `area` (derived here;
//! pycocotools fails), boxes of zero or negative size, mask results that are not
//! compressed RLE. A detection's own `area` and `iscrowd` are ignored, as pycocotools
//! ignores them (box area, or mask area, and `iscrowd = 0`).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::LazyLock;

pub use hotcoco::COCO;
use hotcoco::COCOeval;
pub use hotcoco::params::IouType;
use hotcoco::types::Segmentation;
pub use icmbench_models::textfile::DATA_JSON_CAP;
use icmbench_models::textfile::{TextFileError, check_file_capped};

/// Names of the 12 statistics, in order (`AP@[.5:.95]`, `AP@.5`, ..., `AR small`,
/// `AR medium`, `AR large`): hotcoco's summary-metric catalogue for COCO bbox/segm
/// ([`hotcoco::MetricDef`], the list its `summarize` and `stats` follow), each labelled from
/// its definition by [`stat_label`].
pub static STAT_NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let empty = || COCO::from_dataset(hotcoco::types::Dataset::default());
    COCOeval::new(empty(), empty(), IouType::Bbox)
        .metric_defs()
        .iter()
        .map(stat_label)
        .collect()
});

/// The label of one of hotcoco's summary metrics: `AP` or `AR`, then its area range when
/// not `all` (`AP small`), else its IoU threshold (`AP@.5`), else the IoU sweep for AP
/// (`AP@[.5:.95]`) and the detections per image for AR (`AR@100`).
pub fn stat_label(def: &hotcoco::MetricDef) -> String {
    let kind = if def.ap { "AP" } else { "AR" };
    match (def.area_lbl, def.iou_thr) {
        ("all", Some(iou)) => format!("{kind}@{}", iou.to_string().trim_start_matches('0')),
        ("all", None) if def.ap => format!("{kind}@[.5:.95]"),
        ("all", None) => format!("{kind}@{}", def.max_det),
        (area, _) => format!("{kind} {area}"),
    }
}

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
    /// A file is too large, not a regular file, or cannot be opened.
    #[error(transparent)]
    Input(#[from] TextFileError),
}

/// The 12 statistics of [`evaluate_files`] and what it noticed about the inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEvaluation {
    /// pycocotools' 12 statistics, in [`STAT_NAMES`] order.
    pub stats: [f64; 12],
    /// Where the result may differ from what pycocotools would do or say, one line each.
    pub warnings: Vec<String>,
}

/// Parses `bbox` or `segm`.
pub fn parse_iou_type(s: &str) -> Result<IouType, MapError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "bbox" => Ok(IouType::Bbox),
        "segm" => Ok(IouType::Segm),
        _ => Err(MapError::IouType(s.to_string())),
    }
}

/// The first byte of a JSON file that is not whitespace (a UTF-8 byte-order mark is
/// skipped), or `None` for an empty file.
fn first_json_byte(path: &Path) -> Result<Option<u8>, MapError> {
    let io = |source| TextFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut r = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut start = true;
    loop {
        let buf = r.fill_buf().map_err(io)?;
        if buf.is_empty() {
            return Ok(None);
        }
        let mut skip = 0;
        if start && buf.starts_with(b"\xEF\xBB\xBF") {
            skip = 3;
        }
        start = false;
        match buf[skip..].iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => return Ok(Some(buf[skip + i])),
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

fn file_err(path: &Path, message: impl Into<String>) -> MapError {
    MapError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Checks that a JSON file starts with `want` (`{` or `[`): the other bracket is `wrong`, an
/// empty file is `empty`; anything else is left for the JSON parser to locate.
fn expect_json_start(path: &Path, want: u8, wrong: &str, empty: &str) -> Result<(), MapError> {
    match first_json_byte(path)? {
        Some(b) if b == want => Ok(()),
        Some(b'{' | b'[') => Err(file_err(path, wrong)),
        None => Err(file_err(path, empty)),
        Some(_) => Ok(()),
    }
}

/// Loads a COCO ground-truth file: a regular file of at most [`DATA_JSON_CAP`] bytes
/// holding a COCO instances object with at least one category.
pub fn load_ground_truth(path: &Path) -> Result<COCO, MapError> {
    check_file_capped(path, DATA_JSON_CAP)?;
    expect_json_start(
        path,
        b'{',
        "a JSON list, not a ground truth: a COCO instances file is an object with `images`, `annotations` and `categories` (is this a results file given as the ground truth?)",
        "empty file; expected a COCO instances object",
    )?;
    let coco = COCO::new(path).map_err(|e| file_err(path, e.to_string()))?;
    if coco.dataset.categories.is_empty() {
        return Err(file_err(
            path,
            "the ground truth has no `categories`; COCO evaluation needs at least one",
        ));
    }
    Ok(coco)
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
/// against a ground-truth file, as `pycocotools` `COCOeval(gt, gt.loadRes(dt), iou)`, after
/// validating both (see the module documentation); with the warnings.
pub fn evaluate_files(gt: &Path, dt: &Path, iou: IouType) -> Result<FileEvaluation, MapError> {
    let coco_gt = load_ground_truth(gt)?;
    check_file_capped(dt, DATA_JSON_CAP)?;
    expect_json_start(
        dt,
        b'[',
        "a JSON object, not a list of detections: results are `[{image_id, category_id, bbox|segmentation, score}, ...]`, as pycocotools' loadRes reads them (a ground-truth file is an object: was it given as --dt?)",
        "empty file; expected a JSON list of detections",
    )?;
    let coco_dt = match coco_gt.load_res(dt) {
        Ok(c) => c,
        Err(e) => {
            // Name the first detection that is not one, when that is the cause.
            let message = match first_bad_entry(dt) {
                Some((i, problem)) => format!("detection [{i}] {problem}"),
                None => e.to_string(),
            };
            return Err(file_err(dt, message));
        }
    };
    let mut warnings = check_results(&coco_gt, &coco_dt, iou, gt, dt)?;
    let no_area = coco_gt.dataset.annotations.iter().filter(|a| a.area.is_none()).count();
    if no_area > 0 {
        warnings.insert(
            0,
            format!(
                "{}: {no_area} annotation(s) without `area`; derived from the mask or box here, where pycocotools fails (KeyError 'area')",
                gt.display()
            ),
        );
    }
    let stats = evaluate(coco_gt, coco_dt, iou, &dt.display().to_string())?;
    Ok(FileEvaluation { stats, warnings })
}

/// Checks loaded results against the ground truth: every detection has a score, the
/// geometry `iou` needs, and an image and category of the ground truth (errors, naming the
/// first offender); returns warnings where pycocotools would differ.
fn check_results(gt: &COCO, dt: &COCO, iou: IouType, gt_path: &Path, dt_path: &Path) -> Result<Vec<String>, MapError> {
    let images: HashSet<u64> = gt.dataset.images.iter().map(|i| i.id).collect();
    let categories: HashSet<u64> = gt.dataset.categories.iter().map(|c| c.id).collect();
    let anns = &dt.dataset.annotations;
    let mut warnings = Vec::new();
    if anns.is_empty() {
        warnings.push(format!(
            "{}: no detections: every AP is 0 (pycocotools' loadRes fails on an empty list)",
            dt_path.display()
        ));
    }
    let (mut bad_boxes, mut first_bad_box) = (0usize, None);
    let (mut not_rle, mut first_not_rle) = (0usize, None);
    for (i, a) in anns.iter().enumerate() {
        let bad = |what: String| file_err(dt_path, format!("detection [{i}] {what}"));
        if a.score.is_none() {
            return Err(bad("has no `score`".into()));
        }
        match iou {
            IouType::Segm => match &a.segmentation {
                None | Some(Segmentation::Rect(_)) => {
                    return Err(bad(
                        "has no `segmentation`; --iou-type segm scores masks (pycocotools would score its box as a rectangle)".into(),
                    ));
                }
                Some(Segmentation::CompressedRle { .. }) => {}
                Some(_) => {
                    not_rle += 1;
                    first_not_rle.get_or_insert(i);
                }
            },
            _ => {
                if a.bbox.is_none() {
                    return Err(bad("has no `bbox` (results are `{image_id, category_id, bbox, score}`)".into()));
                }
            }
        }
        if !images.contains(&a.image_id) {
            return Err(bad(format!(
                "has image_id {}, which is not an image of the ground truth {} (pycocotools' loadRes refuses it: \"Results do not correspond to current coco set\")",
                a.image_id,
                gt_path.display()
            )));
        }
        if !categories.contains(&a.category_id) {
            return Err(bad(format!(
                "has category_id {}, which is not a category of the ground truth {} (such detections never match)",
                a.category_id,
                gt_path.display()
            )));
        }
        if let Some(b) = a.bbox
            && !(b[2] > 0.0 && b[3] > 0.0)
        {
            bad_boxes += 1;
            first_bad_box.get_or_insert(i);
        }
    }
    if let Some(i) = first_bad_box {
        warnings.push(format!(
            "{}: {bad_boxes} detection(s) with a box of zero or negative width or height (first: detection [{i}]); they never match",
            dt_path.display()
        ));
    }
    if let Some(i) = first_not_rle {
        warnings.push(format!(
            "{}: {not_rle} mask(s) are polygons or uncompressed RLE (first: detection [{i}]); pycocotools' loadRes takes only compressed RLE results and fails on these",
            dt_path.display()
        ));
    }
    Ok(warnings)
}

/// What a results entry holds, read without its geometry (for naming the first bad one).
#[derive(serde::Deserialize)]
struct Probe {
    image_id: Option<serde_json::Value>,
    category_id: Option<serde_json::Value>,
    score: Option<serde_json::Value>,
    bbox: Option<serde::de::IgnoredAny>,
    segmentation: Option<serde::de::IgnoredAny>,
}

impl Probe {
    fn problem(&self) -> Option<String> {
        let id = |name: &str, v: &Option<serde_json::Value>| match v {
            None => Some(format!("has no `{name}`")),
            Some(v) if v.as_u64().is_some() || v.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0) => None,
            Some(v) => Some(format!("has `{name}` {v}, which is not a non-negative integer")),
        };
        id("image_id", &self.image_id)
            .or_else(|| id("category_id", &self.category_id))
            .or_else(|| match &self.score {
                None => Some("has no `score`".into()),
                Some(v) if v.is_number() => None,
                Some(v) => Some(format!("has `score` {v}, which is not a number")),
            })
            .or_else(|| (self.bbox.is_none() && self.segmentation.is_none()).then(|| "has neither `bbox` nor `segmentation`".into()))
    }
}

/// Streams a results list and returns the first entry that is not a detection: its index
/// and what is wrong. `None` when every entry looks right (the problem is elsewhere).
fn first_bad_entry(path: &Path) -> Option<(usize, String)> {
    use serde::Deserializer as _;
    use serde::de::{Error as _, SeqAccess, Visitor};

    struct Entries<'a>(&'a mut Option<(usize, String)>);
    impl<'de> Visitor<'de> for Entries<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of detections")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0usize;
            loop {
                match seq.next_element::<Probe>() {
                    Ok(None) => return Ok(()),
                    Ok(Some(p)) => {
                        if let Some(problem) = p.problem() {
                            *self.0 = Some((i, problem));
                            return Err(A::Error::custom("stop"));
                        }
                    }
                    Err(e) => {
                        *self.0 = Some((i, format!("is not a detection object: {e}")));
                        return Err(e);
                    }
                }
                i += 1;
            }
        }
    }
    let file = std::fs::File::open(path).ok()?;
    let mut de = serde_json::Deserializer::from_reader(BufReader::new(file.take(DATA_JSON_CAP)));
    let mut found = None;
    let _ = (&mut de).deserialize_seq(Entries(&mut found));
    found
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

/// One detection of a model's output for [`analyse`]: its image, the detection, and its
/// mask as COCO compressed RLE counts over a `height × width` image (segm).
#[derive(Debug, Clone, Copy)]
pub struct Instance<'a> {
    /// Image id in the ground truth.
    pub image_id: u64,
    /// The detection (category in the ground truth's numbering).
    pub detection: icmbench_models::detect::Detection,
    /// RLE counts and the image's (height, width), for segm.
    pub mask: Option<(&'a str, u32, u32)>,
}

/// hotcoco's TIDE decomposition of one evaluation ([`hotcoco::detection::tide::TideErrors`]
/// at IoU .5 / background .1, tidecv's defaults): ΔAP@.5 and count per error type.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Tide {
    /// ΔAP per type: `Cls`, `Loc`, `Both`, `Dupe`, `Bkg`, `Miss` (and the `FP`, `FN` oracles).
    pub delta_ap: std::collections::BTreeMap<String, f64>,
    /// Errors per type.
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// TIDE's six error types, in its report order.
pub const TIDE_TYPES: [&str; 6] = ["Cls", "Loc", "Both", "Dupe", "Bkg", "Miss"];

/// An evaluation with its analysis, all from one hotcoco `COCOeval`.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// pycocotools' 12 statistics ([`STAT_NAMES`]).
    pub stats: [f64; 12],
    /// AP@[.5:.95] per category name (categories with ground truth), hotcoco's per-class AP.
    pub per_class: std::collections::BTreeMap<String, f64>,
    /// TIDE error types (`None` where hotcoco cannot decompose, e.g. no ground truth).
    pub tide: Option<Tide>,
    /// Recall at IoU .5 (all areas, 100 detections per image), mean over categories with
    /// ground truth: hotcoco's accumulated recall.
    pub recall50: f64,
}

/// The id of copy `copy` of image (or annotation) `id` in a ground truth with repeated
/// images ([`repeated_ground_truth`]); copy 0 keeps its id.
pub fn repeated_id(id: u64, copy: u32) -> u64 {
    (u64::from(copy) << 40) | id
}

/// A ground truth with each image counted `weight(image id)` times (absent at 0): copy `c`
/// of an image and of its annotations get [`repeated_id`]s, so that COCOeval scores a
/// bootstrap resample drawn with replacement as the multiset of images it is. Ids must be
/// below 2⁴⁰.
pub fn repeated_ground_truth(gt: &COCO, weight: &dyn Fn(u64) -> u32) -> COCO {
    let d = &gt.dataset;
    let mut out = hotcoco::types::Dataset {
        info: d.info.clone(),
        images: Vec::new(),
        annotations: Vec::new(),
        categories: d.categories.clone(),
        licenses: d.licenses.clone(),
    };
    for img in &d.images {
        for c in 0..weight(img.id) {
            let mut copy = img.clone();
            copy.id = repeated_id(img.id, c);
            out.images.push(copy);
        }
    }
    for ann in &d.annotations {
        for c in 0..weight(ann.image_id) {
            let mut copy = ann.clone();
            copy.id = repeated_id(ann.id, c);
            copy.image_id = repeated_id(ann.image_id, c);
            out.annotations.push(copy);
        }
    }
    COCO::from_dataset(out)
}

/// The evaluator of in-memory instances (boxes, or masks for `segm`) against a loaded
/// ground truth, evaluated and accumulated. With `gt_categories_only`, only the categories
/// with a ground-truth object are evaluated: the others are −1 in every statistic, which
/// COCO leaves out of its means, so the statistics are the same at a fraction of the
/// accumulation's memory (80 COCO classes: 8 MB per evaluation).
fn accumulated(gt: &COCO, instances: &[Instance], iou: IouType, label: &str, gt_categories_only: bool) -> Result<COCOeval, MapError> {
    let eval_err = |message: String| MapError::Eval {
        dt: label.to_string(),
        message,
    };
    // Built directly (no JSON round trip): `load_res_anns` fills ids and areas as loadRes does.
    let anns: Vec<hotcoco::types::Annotation> = instances
        .iter()
        .map(|i| {
            let d = &i.detection;
            hotcoco::types::Annotation {
                image_id: i.image_id,
                category_id: d.category_id,
                bbox: Some(d.bbox),
                score: Some(d.score),
                segmentation: i.mask.map(|(counts, h, w)| hotcoco::types::Segmentation::CompressedRle {
                    size: [h, w],
                    counts: counts.to_string(),
                }),
                ..Default::default()
            }
        })
        .collect();
    let coco_dt = gt.load_res_anns(anns).map_err(|e| eval_err(e.to_string()))?;
    let mut ev = COCOeval::new(gt.clone(), coco_dt, iou);
    if gt_categories_only {
        let mut with_objects: Vec<u64> = gt.dataset.annotations.iter().map(|a| a.category_id).collect();
        with_objects.sort_unstable();
        with_objects.dedup();
        if !with_objects.is_empty() {
            ev.params.cat_ids = with_objects;
        }
    }
    ev.evaluate().map_err(|e| eval_err(e.to_string()))?;
    ev.accumulate();
    Ok(ev)
}

/// The 12 statistics and recall@.5 of an accumulated evaluator.
fn stats_and_recall(ev: &mut COCOeval, label: &str) -> Result<([f64; 12], f64), MapError> {
    let eval_err = |message: String| MapError::Eval {
        dt: label.to_string(),
        message,
    };
    let _ = ev.summarize_lines();
    let stats: [f64; 12] = ev
        .stats()
        .ok_or_else(|| eval_err("no statistics".into()))?
        .try_into()
        .map_err(|_| eval_err("not 12 statistics".into()))?;
    let recall50 = ev.accumulated().map_or(-1.0, |acc| {
        let s = &acc.shape;
        let values: Vec<f64> = (0..s.k)
            .map(|k| acc.recall[acc.recall_idx(0, k, 0, s.m - 1)])
            .filter(|r| *r >= 0.0)
            .collect();
        if values.is_empty() {
            -1.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    });
    Ok((stats, recall50))
}

/// Evaluates in-memory instances (boxes, or masks for `segm`) against a loaded ground truth:
/// the 12 statistics and recall@.5 only, without per-class AP or TIDE (what a bootstrap
/// resample recomputes). [`analyse`] gives the same statistics.
pub fn summary(gt: &COCO, instances: &[Instance], iou: IouType, label: &str) -> Result<Analysis, MapError> {
    let mut ev = accumulated(gt, instances, iou, label, true)?;
    let (stats, recall50) = stats_and_recall(&mut ev, label)?;
    Ok(Analysis {
        stats,
        per_class: Default::default(),
        tide: None,
        recall50,
    })
}

/// Evaluates in-memory instances (boxes, or masks for `segm`) against a loaded ground truth
/// and analyses the result: the 12 statistics, per-class AP, TIDE errors and recall@.5.
pub fn analyse(gt: &COCO, instances: &[Instance], iou: IouType, label: &str) -> Result<Analysis, MapError> {
    let mut ev = accumulated(gt, instances, iou, label, false)?;
    let (stats, recall50) = stats_and_recall(&mut ev, label)?;
    let per_class = ev.results(true).ok().and_then(|r| r.per_class).unwrap_or_default();
    let tide = ev.tide_errors(0.5, 0.1).ok().map(|t| Tide {
        delta_ap: t.delta_ap,
        counts: t.counts,
    });
    Ok(Analysis {
        stats,
        per_class,
        tide,
        recall50,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hotcoco's definitions give the names icmbench has always printed, in pycocotools' order.
    #[test]
    fn stat_names_come_from_hotcoco_definitions() {
        let want = [
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
        assert_eq!(*STAT_NAMES, want);
    }
}
