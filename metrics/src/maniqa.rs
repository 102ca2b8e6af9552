//! MANIQA (Yang et al. 2022), no-reference, higher is better, as pyiqa 0.1.16's `maniqa`
//! runs it: pyiqa's `uniform_crop` in Rust feeding an ONNX graph (ViT-B/8, transposed
//! attention, Swin stages, patch-weighted score; `tools/models/build_maniqa.py`, contract
//! there and in models/manifest.toml).
//!
//! - [`upscale_bilinear`]: when the short side is at most 224, the image is first enlarged
//!   by `225 / short side` (`F.interpolate(scale_factor=…, mode='bilinear')`: output sides
//!   `floor(side · factor)`, source positions from the factor itself, not from the sizes);
//! - [`crops`]: 20 crops of 224×224 at rows `i·((H − 224) // 4)`, `i < 4`, and columns
//!   `j·((W − 224) // 4)`, `j < 5`, row-major, as RGB / 255 planes.
//!
//! pyiqa normalises before cropping and upscaling, icmbench after (in the graph): the same
//! up to float32 rounding, since both are affine per channel. Memory: the graph holds the
//! 20 crops' attention maps at once (about 2 GB of activations per call, whatever the image
//! size).

use icmbench_models::{Model, RuntimeOptions};
use image::RgbImage;

use crate::MetricError;

/// Crop side.
pub const CROP: usize = 224;
/// Crops per image (pyiqa's `test_sample`).
pub const CROPS: usize = 20;
/// Crop grid: rows and columns of crop positions (the first 20 of 5×5, row-major).
const GRID: usize = 5;
/// Steps divide the slack by `int(sqrt(20))`.
const STEPS: usize = 4;

/// An image as float32 planes, channel-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Planes {
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
    /// `3·w·h` samples.
    pub data: Vec<f32>,
}

/// The image as RGB / 255 planes.
pub fn planes(img: &RgbImage) -> Planes {
    let (w, h) = (img.width() as usize, img.height() as usize);
    Planes {
        w,
        h,
        data: crate::clipiqa::input_tensor(img),
    }
}

/// Source indices and weights of PyTorch's bilinear resize along one axis for an output of
/// `output` samples from `input`, with the coordinate scale `1 / factor` (float32, as its
/// CPU kernel: source `max(scale·(i + 0.5) − 0.5, 0)`, the index clamped to the last sample).
fn bilinear_taps(input: usize, output: usize, factor: f64) -> Vec<(usize, usize, f32)> {
    let scale = (1.0 / factor) as f32;
    (0..output)
        .map(|i| {
            let real = (scale * (i as f32 + 0.5) - 0.5).max(0.0);
            let i0 = (real.floor() as usize).min(input - 1);
            let lambda = (real - i0 as f32).clamp(0.0, 1.0);
            let i1 = if i0 < input - 1 { i0 + 1 } else { i0 };
            (i0, i1, lambda)
        })
        .collect()
}

/// `F.interpolate(x, scale_factor=factor, mode='bilinear', align_corners=False)`: sides
/// `floor(side · factor)` (in float64, as Python computes them).
pub fn upscale_bilinear(p: &Planes, factor: f64) -> Planes {
    let (ow, oh) = ((p.w as f64 * factor).floor() as usize, (p.h as f64 * factor).floor() as usize);
    let (tx, ty) = (bilinear_taps(p.w, ow, factor), bilinear_taps(p.h, oh, factor));
    let mut data = Vec::with_capacity(3 * ow * oh);
    for plane in p.data.chunks_exact(p.w * p.h) {
        for &(y0, y1, ly) in &ty {
            let (r0, r1) = (&plane[y0 * p.w..][..p.w], &plane[y1 * p.w..][..p.w]);
            data.extend(
                tx.iter()
                    .map(|&(x0, x1, lx)| (1.0 - ly) * ((1.0 - lx) * r0[x0] + lx * r0[x1]) + ly * ((1.0 - lx) * r1[x0] + lx * r1[x1])),
            );
        }
    }
    Planes { w: ow, h: oh, data }
}

/// pyiqa's `uniform_crop(x, 224, 20)`: the `[20, 3, 224, 224]` tensor, after the upscale
/// when the short side is at most 224.
pub fn crops(img: &RgbImage) -> Vec<f32> {
    let mut p = planes(img);
    let short = p.w.min(p.h);
    if short <= CROP {
        p = upscale_bilinear(&p, (CROP + 1) as f64 / short as f64);
    }
    let (step_h, step_w) = ((p.h.saturating_sub(CROP)) / STEPS, (p.w.saturating_sub(CROP)) / STEPS);
    let mut out = Vec::with_capacity(CROPS * 3 * CROP * CROP);
    for k in 0..CROPS {
        let (top, left) = ((k / GRID) * step_h, (k % GRID) * step_w);
        for plane in p.data.chunks_exact(p.w * p.h) {
            for y in top..top + CROP {
                out.extend_from_slice(&plane[y * p.w + left..][..CROP]);
            }
        }
    }
    out
}

/// The MANIQA metric with a loaded model.
pub struct Maniqa {
    model: Model,
    name: &'static str,
}

impl Maniqa {
    /// Loads the model of manifest entry `entry` as the metric `name` (the catalogue's
    /// `maniqa` is entry `maniqa-koniq`; `maniqa-random` is the tests' model). Without the
    /// exported file the error says how to export it.
    pub fn load(name: &'static str, entry: &str, opts: &RuntimeOptions) -> Result<Self, MetricError> {
        let model = crate::load_exported(name, entry, opts)?;
        Ok(Self { model, name })
    }

    /// Scores one image.
    pub fn score(&self, img: &RgbImage) -> Result<f64, MetricError> {
        crate::run_score(&self.model, self.name, &[("crops", &[CROPS, 3, CROP, CROP], &crops(img))])
    }
}

crate::no_reference_model_metric!(Maniqa);

#[cfg(test)]
mod tests {
    use super::*;

    /// A 512x384 image needs no upscale: steps 72 and 40, the last crop at (120, 288).
    #[test]
    fn crop_positions() {
        let img = RgbImage::from_fn(512, 384, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 0]));
        let c = crops(&img);
        assert_eq!(c.len(), CROPS * 3 * CROP * CROP);
        let first = |k: usize, ch: usize| c[(k * 3 + ch) * CROP * CROP];
        // Crop 19: row 3 (top 120), column 4 (left 288).
        assert_eq!((first(19, 0) * 255.0).round(), (288 % 256) as f32);
        assert_eq!((first(19, 1) * 255.0).round(), 120.0);
        assert_eq!((first(6, 0) * 255.0).round(), 72.0);
        assert_eq!((first(6, 1) * 255.0).round(), 40.0);
    }

    /// The upscale keeps a constant image constant and rounds the sizes down.
    #[test]
    fn upscale_sizes_and_constants() {
        let p = Planes {
            w: 200,
            h: 163,
            data: vec![0.25; 3 * 200 * 163],
        };
        let u = upscale_bilinear(&p, 225.0 / 163.0);
        assert_eq!(
            (u.w, u.h),
            (
                (200.0f64 * 225.0 / 163.0).floor() as usize,
                (163.0f64 * 225.0 / 163.0).floor() as usize
            )
        );
        assert!(u.data.iter().all(|&v| (v - 0.25).abs() < 1e-7));
    }
}
