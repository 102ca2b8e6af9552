//! TOPIQ (CFANet; Chen et al. 2024) with its ResNet-50 backbone, as pyiqa 0.1.16's
//! `topiq_nr` (no reference) and `topiq_fr` (full reference) run it: the whole image at
//! native size (no resize, one crop). The ONNX graph (`tools/models/build_topiq.py`,
//! contract there and in models/manifest.toml) holds the network; icmbench computes in
//! Rust what depends on the image's size, as matrices:
//!
//! - [`adaptive_pool`]: `F.adaptive_avg_pool2d`'s bins along one axis (output `i` averages
//!   inputs `floor(i·n/m)` to `ceil((i+1)·n/m)`), pooling each finer feature level to the
//!   coarsest level's size;
//! - [`bicubic`]: `F.interpolate(mode='bicubic', align_corners=False)` along one axis (the
//!   PyTorch kernel's taps, [`crate::musiq`]), resizing the 32×32 positional embedding to
//!   the coarsest level's size.
//!
//! Both are separable, so the graph applies them as `rows · X · cols`.

use icmbench_models::{Model, RuntimeOptions};
use image::RgbImage;

use crate::{Metric, MetricError};

/// Smallest side: the backbone halves the image five times, and every finer level must be
/// larger than the coarsest for pyiqa to pool it.
pub const MIN_SIDE: u32 = 32;

/// Side of the learned positional-embedding grid.
pub const POS: usize = 32;

/// The backbone's feature sizes along a side of `n` pixels: `ceil(n / 2^(k+1))`, k = 0..4.
pub fn feature_sizes(n: usize) -> [usize; 5] {
    std::array::from_fn(|k| n.div_ceil(1 << (k + 1)))
}

/// `F.adaptive_avg_pool2d` from `n` to `m` samples along one axis, as an `m`×`n` matrix
/// (row-major).
pub fn adaptive_pool(n: usize, m: usize) -> Vec<f32> {
    let mut p = vec![0.0f32; m * n];
    for i in 0..m {
        let (start, end) = (i * n / m, ((i + 1) * n).div_ceil(m));
        for v in &mut p[i * n + start..i * n + end] {
            *v = 1.0 / (end - start) as f32;
        }
    }
    p
}

/// Bicubic resizing from `n` to `m` samples along one axis (PyTorch's taps, edge indices
/// clamped, so several taps may land on one sample), as an `m`×`n` matrix (row-major).
pub fn bicubic(n: usize, m: usize) -> Vec<f32> {
    let mut r = vec![0.0f32; m * n];
    for (i, (idx, w)) in crate::musiq::bicubic_taps(n, m).into_iter().enumerate() {
        for (j, wj) in idx.into_iter().zip(w) {
            r[i * n + j] += wj;
        }
    }
    r
}

/// `a` (`rows`×`cols`, row-major) transposed.
fn transposed(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols).flat_map(|c| (0..rows).map(move |r| a[r * cols + c])).collect()
}

/// A TOPIQ metric with a loaded model.
pub struct Topiq {
    model: Model,
    name: &'static str,
    full_reference: bool,
}

impl Topiq {
    /// Loads the model of manifest entry `entry` as the metric `name`; `full_reference`
    /// for `topiq-fr`'s graphs (which take the reference too). Without the exported file
    /// the error says how to export it.
    pub fn load(name: &'static str, entry: &str, full_reference: bool, opts: &RuntimeOptions) -> Result<Self, MetricError> {
        let model = crate::load_exported(name, entry, opts)?;
        Ok(Self {
            model,
            name,
            full_reference,
        })
    }

    /// Scores `distorted` (against `reference` for full-reference models).
    pub fn score(&self, reference: &RgbImage, distorted: &RgbImage) -> Result<f64, MetricError> {
        let (w, h) = distorted.dimensions();
        if w < MIN_SIDE || h < MIN_SIDE {
            return Err(MetricError::TooSmall {
                metric: self.name.into(),
                width: w,
                height: h,
                reason: format!("TOPIQ's ResNet-50 needs at least {MIN_SIDE}x{MIN_SIDE} pixels"),
            });
        }
        let (hs, ws) = (feature_sizes(h as usize), feature_sizes(w as usize));
        let (th, tw) = (hs[4], ws[4]);
        let image = crate::clipiqa::input_tensor(distorted);
        let reference = self.full_reference.then(|| crate::clipiqa::input_tensor(reference));
        // The size-dependent matrices: (input name, shape, values).
        let mut matrices: Vec<(String, [usize; 2], Vec<f32>)> = Vec::with_capacity(10);
        for k in 0..4 {
            matrices.push((format!("pool_rows_{k}"), [th, hs[k]], adaptive_pool(hs[k], th)));
            matrices.push((
                format!("pool_cols_{k}"),
                [ws[k], tw],
                transposed(&adaptive_pool(ws[k], tw), tw, ws[k]),
            ));
        }
        matrices.push(("pos_rows".into(), [th, POS], bicubic(POS, th)));
        matrices.push(("pos_cols".into(), [POS, tw], transposed(&bicubic(POS, tw), tw, POS)));
        let image_shape = [1, 3, h as usize, w as usize];
        let mut inputs: Vec<(&str, &[usize], &[f32])> = vec![("image", &image_shape, &image)];
        if let Some(r) = &reference {
            inputs.push(("reference", &image_shape, r));
        }
        inputs.extend(
            matrices
                .iter()
                .map(|(name, shape, values)| (name.as_str(), &shape[..], &values[..])),
        );
        crate::run_score(&self.model, self.name, &inputs)
    }
}

impl Metric for Topiq {
    fn name(&self) -> &'static str {
        self.name
    }

    fn macs(&self) -> Option<Result<icmbench_models::complexity::MacCount, MetricError>> {
        crate::model_macs(&self.model, self.name)
    }

    fn compute(&self, reference: &RgbImage, distorted: &RgbImage) -> Result<f64, MetricError> {
        if self.full_reference && reference.dimensions() != distorted.dimensions() {
            return Err(MetricError::SizeMismatch {
                metric: self.name.into(),
                ref_w: reference.width(),
                ref_h: reference.height(),
                dist_w: distorted.width(),
                dist_h: distorted.height(),
            });
        }
        self.score(reference, distorted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_sizes_round_up() {
        assert_eq!(feature_sizes(97), [49, 25, 13, 7, 4]);
        assert_eq!(feature_sizes(512), [256, 128, 64, 32, 16]);
    }

    /// Bins overlap where `n` is not a multiple of `m`, and each row averages its bin.
    #[test]
    fn adaptive_pool_bins() {
        let p = adaptive_pool(5, 3);
        assert_eq!(&p[0..5], &[0.5, 0.5, 0.0, 0.0, 0.0]);
        assert_eq!(&p[5..10], &[0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0]);
        assert_eq!(&p[10..15], &[0.0, 0.0, 0.0, 0.5, 0.5]);
    }

    /// Rows of the resize matrix sum to 1; the same size is the identity.
    #[test]
    fn bicubic_rows_sum_to_one() {
        let r = bicubic(32, 13);
        for row in r.chunks(32) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        let i = bicubic(4, 4);
        assert_eq!(
            i,
            vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
        );
    }
}
