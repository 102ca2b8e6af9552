//! MUSIQ (Ke et al. 2021), no-reference, higher is better: pyiqa's multi-scale patch
//! preprocessing in Rust feeding an ONNX transformer.
//!
//! Preprocessing, as pyiqa's `get_multiscale_patches` (which follows the official TF code)
//! with pyiqa's MUSIQ defaults: pixels `(v/255 − 0.5)·2` in [−1, 1] (float32); the image
//! resized with its aspect ratio kept so that the longer side is 224, then 384 (PyTorch
//! `interpolate(mode='bicubic', align_corners=False)`: A = −0.75, clamped edges, sizes
//! rounded half to even as Python's `round`), plus the original resolution; each cut into
//! 32×32 patches with TF 'same' zero padding; per patch the hashed spatial position on a
//! 10×10 grid (nearest-neighbour `interpolate` of 0..9 to the patch counts, in float32),
//! the scale id (0, 1, 2) and a mask bit; the two resized scales padded with zero tokens
//! (mask 0) to ⌈224/32⌉² = 49 and ⌈384/32⌉² = 144 tokens; all patches of the original.
//! The model (`tools/models/build_musiq.py`, contract in models/manifest.toml) takes
//! `patches` `[N, L, 3075]` and returns `score` `[N]`.

use icmbench_models::{Model, RuntimeOptions};
use image::RgbImage;

use crate::MetricError;

/// Patch side.
pub const PATCH: usize = 32;
/// Values per token: 3×32×32 pixels, then spatial position, scale id, mask.
pub const TOKEN: usize = 3 * PATCH * PATCH + 3;
/// Side of the hashed spatial-position grid.
pub const GRID: usize = 10;
/// Longer sides of the resized scales (sorted).
pub const LONGER_SIDES: [usize; 2] = [224, 384];

/// An image as float32 planes in [−1, 1], channel-major.
struct Planes {
    w: usize,
    h: usize,
    data: Vec<f32>,
}

fn to_planes(img: &RgbImage) -> Planes {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = img.as_raw();
    let mut data = Vec::with_capacity(3 * w * h);
    for c in 0..3 {
        data.extend(raw.iter().skip(c).step_by(3).map(|&v| (f32::from(v) / 255.0 - 0.5) * 2.0));
    }
    Planes { w, h, data }
}

/// PyTorch's cubic convolution coefficients (A = −0.75) for fraction `t`.
fn cubic_coefficients(t: f32) -> [f32; 4] {
    const A: f32 = -0.75;
    let conv1 = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let conv2 = |x: f32| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    [conv2(t + 1.0), conv1(t), conv1(1.0 - t), conv2(2.0 - t)]
}

/// Source indices (clamped) and weights of bicubic resizing along one axis, as PyTorch's
/// CPU kernel computes them (float32, `align_corners=False`).
pub(crate) fn bicubic_taps(input: usize, output: usize) -> Vec<([usize; 4], [f32; 4])> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|i| {
            let real = scale * (i as f32 + 0.5) - 0.5;
            let index = (real.floor() as i64).min(input as i64 - 1);
            let t = (real - index as f32).clamp(0.0, 1.0);
            let idx = [0, 1, 2, 3].map(|j| (index - 1 + j).clamp(0, input as i64 - 1) as usize);
            (idx, cubic_coefficients(t))
        })
        .collect()
}

/// `F.interpolate(x, (oh, ow), mode='bicubic', align_corners=False)`: per output pixel
/// Σ_y w_y · (Σ_x w_x · src), accumulated in float32 in PyTorch's order.
fn resize_bicubic(p: &Planes, ow: usize, oh: usize) -> Planes {
    let ty = bicubic_taps(p.h, oh);
    let tx = bicubic_taps(p.w, ow);
    let mut data = Vec::with_capacity(3 * ow * oh);
    for c in 0..3 {
        let plane = &p.data[c * p.w * p.h..(c + 1) * p.w * p.h];
        for (iy, wy) in &ty {
            for (ix, wx) in &tx {
                let mut out = 0.0f32;
                for (&sy, &wyv) in iy.iter().zip(wy) {
                    let row = &plane[sy * p.w..(sy + 1) * p.w];
                    let mut t = 0.0f32;
                    for (&sx, &wxv) in ix.iter().zip(wx) {
                        t += row[sx] * wxv;
                    }
                    out += t * wyv;
                }
                data.push(out);
            }
        }
    }
    Planes { w: ow, h: oh, data }
}

/// Python's `round` (half to even) of `x`.
fn round_half_even(x: f64) -> usize {
    x.round_ties_even().max(1.0) as usize
}

/// Hashed spatial position of each patch (row-major over the `count_h`×`count_w` patch
/// grid): `row_hash · 10 + col_hash`, each hash PyTorch's nearest `interpolate` of
/// `arange(10)` to the count (`floor(i · (10/count))` in float32, at most 9).
pub fn hashed_positions(count_h: usize, count_w: usize) -> Vec<usize> {
    let nearest = |count: usize| -> Vec<usize> {
        let scale = GRID as f32 / count as f32;
        (0..count).map(|i| ((i as f32 * scale).floor() as usize).min(GRID - 1)).collect()
    };
    let (hh, hw) = (nearest(count_h), nearest(count_w));
    hh.iter().flat_map(|&r| hw.iter().map(move |&c| r * GRID + c)).collect()
}

/// Appends the 32×32 patches of `p` (TF 'same' zero padding) with position, scale id and
/// mask 1, then zero tokens up to `max_len` (if given; extra patches are cut).
fn push_patches(p: &Planes, scale_id: usize, max_len: Option<usize>, out: &mut Vec<f32>) {
    let (ch, cw) = (p.h.div_ceil(PATCH), p.w.div_ceil(PATCH));
    let (top, left) = ((ch * PATCH - p.h) / 2, (cw * PATCH - p.w) / 2);
    let positions = hashed_positions(ch, cw);
    let count = max_len.map_or(ch * cw, |m| m.min(ch * cw));
    for (k, &pos) in positions.iter().enumerate().take(count) {
        let (py, px) = (k / cw, k % cw);
        for c in 0..3 {
            let plane = &p.data[c * p.w * p.h..(c + 1) * p.w * p.h];
            for dy in 0..PATCH {
                let y = (py * PATCH + dy) as isize - top as isize;
                for dx in 0..PATCH {
                    let x = (px * PATCH + dx) as isize - left as isize;
                    let inside = y >= 0 && x >= 0 && (y as usize) < p.h && (x as usize) < p.w;
                    out.push(if inside { plane[y as usize * p.w + x as usize] } else { 0.0 });
                }
            }
        }
        out.extend([pos as f32, scale_id as f32, 1.0]);
    }
    if let Some(m) = max_len {
        out.resize(out.len() + (m - count) * TOKEN, 0.0);
    }
}

/// pyiqa's multi-scale representation of an image: `(tokens, L)` with `tokens` of length
/// `L · 3075` (row-major [L, 3075]).
pub fn multiscale_patches(img: &RgbImage) -> (Vec<f32>, usize) {
    let planes = to_planes(img);
    let (h, w) = (planes.h as f64, planes.w as f64);
    let mut out = Vec::new();
    for (scale_id, &longer) in LONGER_SIDES.iter().enumerate() {
        let ratio = longer as f64 / h.max(w);
        let (rh, rw) = (round_half_even(h * ratio), round_half_even(w * ratio));
        let resized = resize_bicubic(&planes, rw, rh);
        push_patches(&resized, scale_id, Some(longer.div_ceil(PATCH).pow(2)), &mut out);
    }
    push_patches(&planes, LONGER_SIDES.len(), None, &mut out);
    let len = out.len() / TOKEN;
    (out, len)
}

/// The MUSIQ metric with a loaded model.
pub struct Musiq {
    model: Model,
    name: &'static str,
}

impl Musiq {
    /// Loads the model of manifest entry `entry` as the metric `name` (the catalogue's
    /// `musiq` is entry `musiq-koniq`; `musiq-random` is the tests' model). Without the
    /// exported file the error says how to export it.
    pub fn load(name: &'static str, entry: &str, opts: &RuntimeOptions) -> Result<Self, MetricError> {
        let model = crate::load_exported(name, entry, opts)?;
        Ok(Self { model, name })
    }

    /// Scores one image.
    pub fn score(&self, img: &RgbImage) -> Result<f64, MetricError> {
        if img.width() < 2 || img.height() < 2 {
            return Err(MetricError::TooSmall {
                metric: self.name.into(),
                width: img.width(),
                height: img.height(),
                reason: "MUSIQ needs at least 2x2 pixels".into(),
            });
        }
        let (tokens, len) = multiscale_patches(img);
        crate::run_score(&self.model, self.name, &[("patches", &[1, len, TOKEN], &tokens)])
    }
}

crate::no_reference_model_metric!(Musiq);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_coefficients_sum_to_one_and_interpolate_at_zero() {
        for t in [0.0f32, 0.25, 0.5, 0.9] {
            let c = cubic_coefficients(t);
            assert!((c.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{t}: {c:?}");
        }
        assert_eq!(cubic_coefficients(0.0), [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn hashed_positions_spread_over_the_grid() {
        assert_eq!(hashed_positions(1, 1), vec![0]);
        // 10 patches per side map one to one; 5 per side take every other grid cell.
        assert_eq!(hashed_positions(1, 10), (0..10).collect::<Vec<_>>());
        assert_eq!(hashed_positions(5, 1), vec![0, 20, 40, 60, 80]);
        assert!(hashed_positions(12, 16).iter().all(|&p| p < 100));
    }

    #[test]
    fn sequence_length_and_padding() {
        let img = RgbImage::from_pixel(100, 50, image::Rgb([255, 0, 0]));
        let (tokens, len) = multiscale_patches(&img);
        // 224x112 -> 7x4 = 28 of 49, 384x192 -> 12x6 = 72 of 144, 100x50 -> 4x2 = 8.
        assert_eq!(len, 49 + 144 + 8);
        assert_eq!(tokens.len(), len * TOKEN);
        let token = |i: usize| &tokens[i * TOKEN..(i + 1) * TOKEN];
        // Last real token of scale 0: patch row 3 of 4 (hash 7), column 6 of 7 (hash 8).
        assert_eq!(&token(27)[TOKEN - 3..], &[78.0, 0.0, 1.0]);
        assert!(token(28).iter().all(|&v| v == 0.0)); // padding
        assert_eq!(&token(49)[TOKEN - 2..], &[1.0, 1.0]);
        assert_eq!(&token(len - 1)[TOKEN - 2..], &[2.0, 1.0]);
        // The original's first patch: 7 rows and 14 columns of zero padding, then red
        // (1 in the first channel, -1 in the others).
        let t = token(len - 8);
        assert_eq!((t[0], t[1024], t[2048]), (0.0, 0.0, 0.0));
        let inside = 10 * 32 + 20;
        assert_eq!((t[inside], t[1024 + inside], t[2048 + inside]), (1.0, -1.0, -1.0));
    }
}
