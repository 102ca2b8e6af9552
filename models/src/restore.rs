//! Restoration task models (LL-ICM): image-to-image ONNX graphs with a contract (layout,
//! value range, scale factor, size multiple) and tiling with overlap, so that memory stays
//! bounded on large images.
//!
//! Tiling: the output is cut into cores of at most `tile − 2·overlap` pixels per side; each
//! core is restored inside a window of `tile`×`tile` input pixels around it (at least
//! `overlap` pixels of context on each side, except at the image border), and only the
//! core is written to the output. Windows at the border are shifted inwards rather than
//! clipped, so every window of an image at least `tile` pixels wide is exactly `tile`
//! pixels of real image: a `tile` that is a multiple of the size multiple (64 for MAXIM)
//! needs no padding. With an overlap at least the model's receptive-field radius the result
//! equals the untiled one. Sides shorter than `tile` are one window, edge-replicated to the
//! size multiple.

use image::RgbImage;
use serde::Deserialize;

use crate::{Model, ModelError};

/// Tensor layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// [N, C, H, W].
    Nchw,
    /// [N, H, W, C].
    Nhwc,
}

/// The restorer contract.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestorerSpec {
    /// Input tensor name.
    pub input: String,
    /// Output tensor name.
    pub output: String,
    /// Layout of both tensors.
    pub layout: Layout,
    /// Pixel value of 8-bit 255 (1.0 for [0, 1] models, 255.0 for [0, 255]).
    pub range: f32,
    /// Output size / input size (1 for denoising, 4 for ×4 super-resolution).
    pub scale: u32,
    /// Input sides must be multiples of this.
    #[serde(default = "one")]
    pub size_multiple: u32,
}

pub(crate) fn one() -> u32 {
    1
}

impl RestorerSpec {
    /// The ×4 super-resolution models `esrgan-slim-x4`, `esrgan-medium-x4` and
    /// `esrgan-thick-x4` (npm `@upscalerjs/esrgan-*`, rebuilt by
    /// `tools/models/build_esrgan.py` to one contract): `lr` NHWC in [0, 255] →
    /// `output_0` NHWC ×4.
    pub fn esrgan_x4() -> Self {
        Self {
            input: "lr".into(),
            output: "output_0".into(),
            layout: Layout::Nhwc,
            range: 255.0,
            scale: 4,
            size_multiple: 1,
        }
    }

    /// MAXIM deblurring, denoising, dehazing (outdoor, indoor), deraining or low-light
    /// enhancement (npm `@upscalerjs/maxim-*`, optional, slow on CPU): `xs_0` NHWC in
    /// [0, 1] → `output_0` NHWC, same size; sides multiples of 64.
    pub fn maxim() -> Self {
        Self {
            input: "xs_0".into(),
            output: "output_0".into(),
            layout: Layout::Nhwc,
            range: 1.0,
            scale: 1,
            size_multiple: 64,
        }
    }

    /// The contract of a restorer in the model manifest, by its name.
    pub fn builtin(name: &str) -> Option<Self> {
        match name {
            "esrgan-slim-x4" | "esrgan-medium-x4" | "esrgan-thick-x4" => Some(Self::esrgan_x4()),
            "maxim-deblurring"
            | "maxim-denoising"
            | "maxim-dehazing-outdoor"
            | "maxim-dehazing-indoor"
            | "maxim-deraining"
            | "maxim-enhancement" => Some(Self::maxim()),
            _ => None,
        }
    }
}

/// Manifest models with a built-in restorer contract.
pub const BUILTIN_RESTORERS: &[&str] = &[
    "esrgan-slim-x4",
    "esrgan-medium-x4",
    "esrgan-thick-x4",
    "maxim-deblurring",
    "maxim-denoising",
    "maxim-dehazing-outdoor",
    "maxim-dehazing-indoor",
    "maxim-deraining",
    "maxim-enhancement",
];

/// A restorer: one session and its contract.
pub struct Restorer {
    model: Model,
    spec: RestorerSpec,
}

impl Restorer {
    /// The MACs of its runs so far, for a model loaded with profiling
    /// ([`Model::macs`]).
    pub fn macs(&self) -> Result<crate::complexity::MacCount, ModelError> {
        self.model.macs()
    }

    /// Wraps a loaded model with its contract.
    pub fn new(model: Model, spec: RestorerSpec) -> Self {
        Self { model, spec }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        self.model.name()
    }

    /// The contract.
    pub fn spec(&self) -> &RestorerSpec {
        &self.spec
    }

    /// Runs the model on one image whose sides are multiples of the size multiple.
    fn run(&self, img: &RgbImage) -> Result<RgbImage, ModelError> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let raw = img.as_raw();
        let k = self.spec.range / 255.0;
        let (shape, data): (Vec<usize>, Vec<f32>) = match self.spec.layout {
            Layout::Nhwc => (vec![1, h, w, 3], raw.iter().map(|&v| f32::from(v) * k).collect()),
            Layout::Nchw => (vec![1, 3, h, w], to_nchw(img, k)),
        };
        let out = self
            .model
            .run(&[(self.spec.input.as_str(), &shape, &data)], &[self.spec.output.as_str()])?;
        let (oshape, o) = &out[0];
        let s = self.spec.scale as usize;
        let (ow, oh) = (w * s, h * s);
        let expect = match self.spec.layout {
            Layout::Nhwc => vec![1, oh, ow, 3],
            Layout::Nchw => vec![1, 3, oh, ow],
        };
        if *oshape != expect {
            return Err(ModelError::Session {
                model: self.model.name().to_string(),
                message: format!("output shape {oshape:?}, expected {expect:?}"),
            });
        }
        let to8 = |v: f32| (v / k).round().clamp(0.0, 255.0) as u8;
        let pixels: Vec<u8> = match self.spec.layout {
            Layout::Nhwc => o.iter().map(|&v| to8(v)).collect(),
            Layout::Nchw => (0..oh * ow)
                .flat_map(|i| (0..3).map(move |c| (c, i)))
                .map(|(c, i)| to8(o[c * oh * ow + i]))
                .collect(),
        };
        Ok(RgbImage::from_raw(ow as u32, oh as u32, pixels).unwrap_or_else(|| RgbImage::new(ow as u32, oh as u32)))
    }

    /// Restores an image, in tiles of at most `tile` pixels per side with `overlap` pixels
    /// of context on each side (`tile = 0`: the whole image at once).
    pub fn restore(&self, img: &RgbImage, tile: u32, overlap: u32) -> Result<RgbImage, ModelError> {
        let (w, h) = img.dimensions();
        let m = self.spec.size_multiple.max(1);
        if tile == 0 || (w <= tile && h <= tile) {
            let padded = pad_replicate(img, w.div_ceil(m) * m, h.div_ceil(m) * m);
            let out = self.run(&padded)?;
            return Ok(image::imageops::crop_imm(&out, 0, 0, w * self.spec.scale, h * self.spec.scale).to_image());
        }
        if tile <= 2 * overlap {
            return Err(ModelError::Session {
                model: self.model.name().to_string(),
                message: format!("tile {tile} must be larger than twice the overlap {overlap}"),
            });
        }
        let s = self.spec.scale;
        let mut out = RgbImage::new(w * s, h * s);
        for (y0, y1, wy0, wy1) in windows(h, tile, overlap) {
            for (x0, x1, wx0, wx1) in windows(w, tile, overlap) {
                let crop = image::imageops::crop_imm(img, wx0, wy0, wx1 - wx0, wy1 - wy0).to_image();
                let (tw, th) = crop.dimensions();
                let padded = pad_replicate(&crop, tw.div_ceil(m) * m, th.div_ceil(m) * m);
                let restored = self.run(&padded)?;
                let core = image::imageops::crop_imm(&restored, (x0 - wx0) * s, (y0 - wy0) * s, (x1 - x0) * s, (y1 - y0) * s).to_image();
                image::imageops::replace(&mut out, &core, i64::from(x0 * s), i64::from(y0 * s));
            }
        }
        Ok(out)
    }
}

/// The cores `[c0, c1)` of at most `tile − 2·overlap` pixels covering `0..n`, each with its
/// window `[w0, w1)`: `tile` pixels (all of `0..n` when `n ≤ tile`) around the core with at
/// least `overlap` pixels of context on each side, or all of the image up to its border,
/// shifted inwards at the border. Needs `tile > 2·overlap`.
fn windows(n: u32, tile: u32, overlap: u32) -> Vec<(u32, u32, u32, u32)> {
    if n <= tile {
        return vec![(0, n, 0, n)];
    }
    spans(n, tile - 2 * overlap)
        .into_iter()
        .map(|(c0, c1)| {
            let w0 = c0.saturating_sub(overlap).min(n - tile);
            (c0, c1, w0, w0 + tile)
        })
        .collect()
}

/// An RGB image as NCHW planes, each 8-bit value times `k`.
pub(crate) fn to_nchw(img: &RgbImage, k: f32) -> Vec<f32> {
    let raw = img.as_raw();
    (0..3)
        .flat_map(|c| raw.iter().skip(c).step_by(3).map(move |&v| f32::from(v) * k))
        .collect()
}

/// Start and end of each core span of at most `step` pixels covering `0..n`.
fn spans(n: u32, step: u32) -> Vec<(u32, u32)> {
    (0..n).step_by(step as usize).map(|a| (a, (a + step).min(n))).collect()
}

/// Pads to `w`×`h` by repeating the last row and column.
pub(crate) fn pad_replicate(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    if img.dimensions() == (w, h) {
        return img.clone();
    }
    let (iw, ih) = img.dimensions();
    RgbImage::from_fn(w, h, |x, y| *img.get_pixel(x.min(iw - 1), y.min(ih - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_restorer_has_a_contract_and_a_manifest_entry() {
        let manifest = crate::Manifest::shipped().unwrap();
        for name in BUILTIN_RESTORERS {
            assert!(RestorerSpec::builtin(name).is_some(), "{name}");
            assert!(manifest.get(name).is_some(), "{name} not in models/manifest.toml");
        }
        assert!(RestorerSpec::builtin("nanodet").is_none());
    }

    #[test]
    fn spans_cover_without_overlap() {
        assert_eq!(spans(10, 4), vec![(0, 4), (4, 8), (8, 10)]);
        assert_eq!(spans(4, 4), vec![(0, 4)]);
    }

    #[test]
    fn windows_are_whole_tiles_inside_the_image_around_their_cores() {
        for (n, tile, overlap) in [(300u32, 128u32, 32u32), (129, 128, 16), (1000, 256, 64), (50, 64, 8), (97, 40, 8)] {
            let ws = windows(n, tile, overlap);
            let mut next = 0;
            for &(c0, c1, w0, w1) in &ws {
                assert_eq!(c0, next, "cores tile 0..{n} in order");
                next = c1;
                assert!(w0 <= c0 && c1 <= w1 && w1 <= n, "{:?}", (c0, c1, w0, w1));
                assert_eq!(w1 - w0, tile.min(n), "a window is a whole tile");
                // At least `overlap` of context, or all there is up to the image border.
                assert!(w0 == 0 || c0 - w0 >= overlap, "left context of {c0}");
                assert!(w1 == n || w1 - c1 >= overlap, "right context of {c1}");
            }
            assert_eq!(next, n);
        }
        // The last window is shifted inwards instead of clipped: 300 = cores of 64.
        assert_eq!(windows(300, 128, 32).last(), Some(&(256, 300, 172, 300)));
    }

    #[test]
    fn replicate_padding() {
        let img = RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8 * 100, 0, 0]));
        let p = pad_replicate(&img, 4, 2);
        assert_eq!(p.get_pixel(3, 1)[0], 100);
        assert_eq!(p.get_pixel(0, 1)[0], 0);
    }
}
