//! CLIP-IQA and CLIP-IQA+ (Wang, Chan and Loy 2023), no-reference, higher is better, as
//! pyiqa 0.1.16 runs them: the whole image (no resize, no crop) as RGB / 255 in an NCHW
//! float32 tensor, fed to an ONNX graph that holds the rest (OpenAI's normalisation, CLIP's
//! RN50 image encoder, the fixed text features of the prompt pairs, the softmax per pair and
//! the mean). The graphs are exported by users (`tools/export/clipiqa.py`; builder and
//! contract in `tools/models/build_clipiqa.py` and models/manifest.toml).

use icmbench_models::{Model, RuntimeOptions};
use image::RgbImage;

use crate::MetricError;

/// Smallest side: the image encoder halves the image five times (stride-2 stem convolution,
/// then four 2×2 average pools), so a side under 32 leaves no position to pool.
pub const MIN_SIDE: u32 = 32;

/// The image as pyiqa passes it: `[1, 3, H, W]` float32, channel-major, `v / 255`
/// ([`crate::lpips::to_nchw`] in its unit range).
pub fn input_tensor(img: &RgbImage) -> Vec<f32> {
    let mut out = Vec::with_capacity(img.as_raw().len());
    crate::lpips::to_nchw(img, crate::lpips::InputRange::Unit, &mut out);
    out
}

/// The CLIP-IQA metric with a loaded model.
pub struct ClipIqa {
    model: Model,
    name: &'static str,
}

impl ClipIqa {
    /// Loads the model of manifest entry `entry` as the metric `name` (the catalogue's
    /// `clipiqa` is entry `clipiqa-rn50`, `clipiqa+` is `clipiqa-plus-rn50`;
    /// `clipiqa-random` is the tests' model). Without the exported file the error says how
    /// to export it.
    pub fn load(name: &'static str, entry: &str, opts: &RuntimeOptions) -> Result<Self, MetricError> {
        let model = crate::load_exported(name, entry, opts)?;
        Ok(Self { model, name })
    }

    /// Scores one image.
    pub fn score(&self, img: &RgbImage) -> Result<f64, MetricError> {
        if img.width() < MIN_SIDE || img.height() < MIN_SIDE {
            return Err(MetricError::TooSmall {
                metric: self.name.into(),
                width: img.width(),
                height: img.height(),
                reason: format!("CLIP-IQA's RN50 needs at least {MIN_SIDE}x{MIN_SIDE} pixels"),
            });
        }
        let (w, h) = (img.width() as usize, img.height() as usize);
        crate::run_score(&self.model, self.name, &[("image", &[1, 3, h, w], &input_tensor(img))])
    }
}

crate::no_reference_model_metric!(ClipIqa);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_is_channel_major_and_unit_range() {
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgb([255, 0, 51]));
        img.put_pixel(1, 0, image::Rgb([0, 102, 0]));
        assert_eq!(input_tensor(&img), vec![1.0, 0.0, 0.0, 0.4, 0.2, 0.0]);
    }
}
