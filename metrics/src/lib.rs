//! Metrics for icmbench, with the conventions of the reference implementations they are
//! tested against: full-reference image quality (PSNR, SSIM, MS-SSIM, GMSD, VIF, FSIM,
//! LPIPS, DISTS, TOPIQ-FR), no-reference image quality (NIQE, BRISQUE, MUSIQ, CLIP-IQA,
//! TOPIQ-NR, MANIQA) and, over a dataset, COCO mAP. Every metric is
//! declared once, in the [`catalogue`].
//!
//! | module | what lives there |
//! |---|---|
//! | [`colour`] | RGB → grey / luma conversions (MATLAB `rgb2gray`, BT.601 and BT.709 luma) |
//! | [`psnr`] | mean squared error and PSNR over planes |
//! | [`ssim`] | the Gaussian-window SSIM map and its statistics, SSIM and MS-SSIM |
//! | [`gmsd`] | GMSD, as the authors' `GMSD.m` |
//! | [`vif`] | VIF in the pixel domain (`vifp_mscale.m`, as piq's `vif_p`) |
//! | [`vifvec`] | VIF in the wavelet domain (`vifvec.m`, as pyiqa's `vif`): steerable pyramid, Gaussian scale mixture |
//! | [`fsim`] | FSIMc: log-Gabor phase congruency through the FFT (`rustfft`), Scharr gradients, YIQ chroma |
//! | [`lpips`] | LPIPS and DISTS: pair networks through an ONNX model (icmbench-models) |
//! | [`nss`] | natural-scene statistics shared by NIQE and BRISQUE: MSCN, GGD/AGGD fits, MATLAB `imresize` |
//! | [`niqe`] | NIQE (no-reference) with BasicSR's pristine model |
//! | [`brisque`] | BRISQUE (no-reference) with the LIVE release's SVR |
//! | [`coco`] | COCO mAP (the 12 pycocotools statistics) through the `hotcoco` crate |
//! | [`musiq`] | MUSIQ (no-reference): pyiqa's multi-scale patches in Rust, the transformer in ONNX |
//! | [`clipiqa`] | CLIP-IQA / CLIP-IQA+ (no-reference): the image tensor in Rust, CLIP RN50 and the prompt pairs in ONNX |
//! | [`topiq`] | TOPIQ (NR and FR): the size-dependent pooling and positional-embedding matrices in Rust, CFANet in ONNX |
//! | [`maniqa`] | MANIQA (no-reference): pyiqa's 20 uniform crops (and upscale) in Rust, the network in ONNX |
//! | [`catalogue`] | the one list of metric definitions ([`catalogue::CATALOGUE`]): names, aliases, direction, level, unit, axis label, convention, builder; the mAP entries included |
//! | this file | the [`Metric`] trait, [`MetricError`], look-ups over the catalogue ([`info`], [`canonical_name`], [`by_name`], which builds a metric with the caller's runtime options) |
//!
//! Every computation is a free function over plain `f64` planes (the learned metrics run an
//! ONNX model on inputs prepared in Rust; those users export, MUSIQ, CLIP-IQA, TOPIQ and
//! MANIQA, load through one helper that names the export command when the file is
//! missing); the metric objects the catalogue builds only pick
//! the colour conversion and the function. All per-image metrics take 8-bit RGB images
//! ([`image::RgbImage`]) with sample values in 0–255 and a peak value of 255.

pub mod brisque;
pub mod catalogue;
pub mod clipiqa;
pub mod coco;
pub mod colour;
pub mod fsim;
pub mod gmsd;
pub mod lpips;
pub mod maniqa;
pub mod musiq;
pub mod niqe;
pub mod nss;
pub mod psnr;
pub mod ssim;
pub mod topiq;
pub mod vif;
pub mod vifvec;

use image::RgbImage;

pub use catalogue::{MetricDef, lower_is_better};

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

/// Loads manifest entry `entry` for the metric `metric`, a model users export themselves
/// (MUSIQ, CLIP-IQA, TOPIQ, MANIQA): without the exported file the error names the export
/// command, and the model family (the metric's name up to its first `-` or `+`, in capitals).
pub(crate) fn load_exported(
    metric: &str,
    entry: &str,
    opts: &icmbench_models::RuntimeOptions,
) -> Result<icmbench_models::Model, MetricError> {
    use icmbench_models::{Manifest, ModelError, models_dir};
    let unavailable = |reason: String| MetricError::Unavailable {
        metric: metric.to_string(),
        reason,
    };
    let family = metric.split(['-', '+']).next().unwrap_or(metric).to_uppercase();
    let manifest = Manifest::shipped().map_err(|e| unavailable(e.to_string()))?;
    manifest.load(entry, &models_dir(), opts).map_err(|e| match e {
        ModelError::NotExported { path, build, .. } => unavailable(format!(
            "no {family} model at {path}. No {family} weights are published in a package registry, so export one where there is internet: {build}"
        )),
        e => unavailable(e.to_string()),
    })
}

/// Runs a quality model whose output is one `score` and reads it: the last step of the
/// learned metrics (MUSIQ, CLIP-IQA, TOPIQ, MANIQA).
pub(crate) fn run_score(model: &icmbench_models::Model, metric: &str, inputs: &[(&str, &[usize], &[f32])]) -> Result<f64, MetricError> {
    let out = model.run(inputs, &["score"]).map_err(|e| MetricError::Unavailable {
        metric: metric.into(),
        reason: e.to_string(),
    })?;
    out[0].1.first().map(|&v| f64::from(v)).ok_or_else(|| MetricError::Undefined {
        metric: metric.into(),
        reason: "the model returned no score".into(),
    })
}

/// A learned metric's MACs so far ([`Metric::macs`]).
pub(crate) fn model_macs(
    model: &icmbench_models::Model,
    metric: &str,
) -> Option<Result<icmbench_models::complexity::MacCount, MetricError>> {
    Some(model.macs().map_err(|e| MetricError::Unavailable {
        metric: metric.to_string(),
        reason: e.to_string(),
    }))
}

/// [`Metric`] for a no-reference learned metric: a type with the fields `model` (its
/// [`icmbench_models::Model`]) and `name`, and a `score(&self, &RgbImage)` method (MUSIQ,
/// CLIP-IQA, MANIQA).
macro_rules! no_reference_model_metric {
    ($t:ty) => {
        impl $crate::Metric for $t {
            fn name(&self) -> &'static str {
                self.name
            }

            fn macs(&self) -> Option<Result<icmbench_models::complexity::MacCount, $crate::MetricError>> {
                $crate::model_macs(&self.model, self.name)
            }

            fn compute(&self, _reference: &image::RgbImage, distorted: &image::RgbImage) -> Result<f64, $crate::MetricError> {
                self.score(distorted)
            }
        }
    };
}
pub(crate) use no_reference_model_metric;

/// An image quality metric: full-reference (compares a distorted image with its reference)
/// or no-reference (scores the distorted image alone; the reference is ignored). What is
/// known of it without computing (direction, convention, whether it needs a reference) is
/// its [`MetricDef`] in the catalogue.
pub trait Metric: Send + Sync {
    /// Canonical name, also the result-table column name (for example `psnr-rgb`).
    fn name(&self) -> &'static str;
    /// Computes the metric. PSNR of identical images is `f64::INFINITY`. No-reference
    /// metrics score `distorted` and ignore `reference`.
    fn compute(&self, reference: &RgbImage, distorted: &RgbImage) -> Result<f64, MetricError>;
    /// For a metric built with profiling runtime options that runs an ONNX graph (LPIPS,
    /// MUSIQ): the MACs of its runs so far ([`icmbench_models::Model::macs`]). `None` for
    /// metrics that run no graph.
    fn macs(&self) -> Option<Result<icmbench_models::complexity::MacCount, MetricError>> {
        None
    }
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
    /// BasicSR's Y (`to_y_channel`, with its float32 roundings).
    BasicSrY,
    /// YIQ's Y, `0.299 R + 0.587 G + 0.114 B`, unrounded (piq).
    Yiq,
    /// YIQ's Y rounded to integers (pyiqa's `to_y_channel(x, 255)`).
    YiqRounded,
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
            Planes::BasicSrY => vec![colour::basicsr_y(img)],
            Planes::Yiq => vec![colour::yiq_luma(img)],
            Planes::YiqRounded => vec![colour::yiq_luma_rounded(img)],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Psnr,
    Ssim,
    /// MS-SSIM with the reference's rule for pooling odd sides between scales.
    MsSsim(ssim::MsSsimPooling),
    /// Gradient magnitude similarity deviation ([`gmsd`]).
    Gmsd,
    /// Visual information fidelity in the pixel domain ([`vif`]).
    Vifp,
    /// Visual information fidelity in the wavelet domain ([`vifvec`]).
    Vif,
    /// Feature similarity, chromatic ([`fsim`]); always on the R, G and B planes.
    Fsim,
}

/// A built-in metric of the catalogue: a kind, the planes it works on, and the border it
/// crops from both images first (BasicSR's `crop_border`; 0 for none).
#[derive(Debug, Clone, Copy)]
struct Builtin {
    name: &'static str,
    kind: Kind,
    planes: Planes,
    crop: u32,
}

impl Metric for Builtin {
    fn name(&self) -> &'static str {
        self.name
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
        if self.crop > 0 {
            let (c, (w, h)) = (self.crop, reference.dimensions());
            if w <= 2 * c || h <= 2 * c {
                return Err(MetricError::TooSmall {
                    metric: self.name.to_string(),
                    width: w,
                    height: h,
                    reason: format!("a {c}-pixel border is cropped from each side"),
                });
            }
            return Builtin { crop: 0, ..*self }.compute(&crop_border(reference, c), &crop_border(distorted, c));
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
            Kind::Gmsd => gmsd::gmsd(&self.planes.plane(reference, 0), &self.planes.plane(distorted, 0), w, h).map_err(too_small),
            Kind::Vifp => vif::vifp(&self.planes.plane(reference, 0), &self.planes.plane(distorted, 0), w, h).map_err(too_small),
            Kind::Vif => vifvec::vif(&self.planes.plane(reference, 0), &self.planes.plane(distorted, 0), w, h).map_err(too_small),
            Kind::Fsim => fsim::fsim(&colour::rgb_planes(reference), &colour::rgb_planes(distorted), w, h).map_err(too_small),
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

/// `img` without a `c`-pixel border (the caller checks that something is left): its rows'
/// middle parts copied as they are.
fn crop_border(img: &RgbImage, c: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = (w - 2 * c, h - 2 * c);
    let (row, skip, keep) = (3 * w as usize, 3 * c as usize, 3 * cw as usize);
    let raw = img.as_raw();
    let mut out = RgbImage::new(cw, ch);
    for (dst, r) in out.chunks_exact_mut(keep).zip(c as usize..) {
        dst.copy_from_slice(&raw[r * row + skip..][..keep]);
    }
    out
}

/// Resolves a per-image metric of the catalogue (any case, aliases accepted); dataset-level
/// metrics (mAP) and unknown names are [`MetricError::Unknown`], listing the valid names.
pub fn info(name: &str) -> Result<&'static MetricDef, MetricError> {
    catalogue::find(name)
        .filter(|d| d.level == catalogue::Level::PerImage)
        .ok_or_else(|| MetricError::Unknown {
            name: name.to_string(),
            valid: valid_names(),
        })
}

/// Resolves an alias (`psnr`, `ssim`, `ms-ssim`) or canonical name of a per-image metric
/// to the canonical name.
pub fn canonical_name(name: &str) -> Result<&'static str, MetricError> {
    info(name).map(|d| d.name)
}

/// Builds a per-image metric by canonical name or alias, loading its model (if any) with
/// these runtime options.
pub fn by_name(name: &str, runtime: &icmbench_models::RuntimeOptions) -> Result<Box<dyn Metric>, MetricError> {
    info(name)?.build(runtime)
}

/// The per-image metrics' canonical names, then each alias as `alias (= name)`.
fn valid_names() -> Vec<String> {
    let names = catalogue::per_image().map(|d| d.name.to_string());
    let aliases = catalogue::per_image().flat_map(|d| d.aliases.iter().map(move |a| format!("{a} (= {})", d.name)));
    names.chain(aliases).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lists_every_metric_once() {
        let names: Vec<_> = catalogue::per_image().map(|d| d.name).collect();
        // The list (and order) of `icmbench list`.
        const METRICS: &[&str] = &[
            "psnr-rgb",
            "psnr-y601",
            "psnr-y709",
            "psnr-y-crop4",
            "psnr-rgb-crop4",
            "psnr-y-crop0",
            "ssim-grey",
            "ssim-y-crop4",
            "ssim-rgb-crop4",
            "ssim-y-crop0",
            "ms-ssim-rgb",
            "ms-ssim-grey",
            "ms-ssim-rgb-tf",
            "gmsd",
            "vifp",
            "vif",
            "fsim",
            "lpips-alex",
            "lpips-vgg",
            "dists",
            "niqe",
            "brisque",
            "clipiqa",
            "clipiqa+",
            "topiq-nr",
            "topiq-fr",
            "maniqa",
            "maniqa-kadid",
            "maniqa-pipal",
            "musiq",
            "musiq-spaq",
            "musiq-paq2piq",
            "musiq-ava",
        ];
        assert_eq!(names, METRICS);
        for m in METRICS {
            assert_eq!(info(m).unwrap().name, *m);
        }
        assert!(!info("lpips").unwrap().higher_is_better());
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
    fn dataset_metrics_are_not_computed_per_image() {
        let err = canonical_name("map50").unwrap_err().to_string();
        assert!(err.contains("unknown metric `map50`") && err.contains("psnr (= psnr-rgb)"), "{err}");
        assert!(by_name("map", &icmbench_models::RuntimeOptions::default()).is_err());
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
        let err = by_name("psnr", &icmbench_models::RuntimeOptions::default())
            .unwrap()
            .compute(&a, &b)
            .unwrap_err();
        assert!(matches!(err, MetricError::SizeMismatch { .. }));
    }
}
