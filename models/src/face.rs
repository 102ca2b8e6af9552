//! Face embeddings for the privacy measurement: the face crop of `@vladmandic/human`'s face
//! description model (FaceRes, the `faceres-embedding` model of the manifest), its
//! 1024-value descriptor, and Human's similarity of two descriptors. Plain functions over
//! pixels and arrays, and [`FaceEmbedder`], one session.
//!
//! | step | rule (`@vladmandic/human` 3.0.4) |
//! |---|---|
//! | [`face_box`] | the detector's box enlarged 1.4× about its centre, made square (the larger side), corners rounded as JS `Math.round` (`blazeface.ts`, `squarifyBox`) |
//! | [`crop_and_resize`] | TensorFlow's `crop_and_resize` to 192 × 192 (bilinear, 0 outside the image), then `resize_bilinear` to 224 × 224 (no half-pixel centres): `cutAndResize`, `faceres.ts enhance`; RGB 0–255, NCHW |
//! | [`similarity`] | `match.ts` with its defaults: d = 25·Σ(a − b)², 1 when d = 0, else clamp((1 − √d / 100 − 0.2) / 0.6, 0, 1) |

use image::RgbImage;

use crate::{Model, ModelError};

/// Side of the first crop (the face mesh input).
const CUT: usize = 192;
/// Side of the embedding model's input.
pub const INPUT: usize = 224;

/// JavaScript's `Math.round` (halves towards +∞).
fn js_round(v: f64) -> f64 {
    (v + 0.5).floor()
}

/// The face crop box (x1, y1, x2, y2) in pixels of a detector box `[x, y, w, h]`.
pub fn face_box(bbox: [f64; 4]) -> [f64; 4] {
    let (cx, cy) = (bbox[0] + bbox[2] / 2.0, bbox[1] + bbox[3] / 2.0);
    let half = (bbox[2] * 1.4).max(bbox[3] * 1.4) / 2.0;
    [js_round(cx - half), js_round(cy - half), js_round(cx + half), js_round(cy + half)]
}

/// TensorFlow's bilinear step: `top + (bottom − top)·ly` of the two rows' `a + (b − a)·lx`,
/// from `at(x, y)` at the neighbours (x0, x1, lx) and (y0, y1, ly).
fn lerp2d(at: impl Fn(usize, usize) -> f32, (x0, x1, lx): (usize, usize, f32), (y0, y1, ly): (usize, usize, f32)) -> f32 {
    let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * lx;
    let bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * lx;
    top + (bottom - top) * ly
}

/// The model input of a face: the box cut from `img` as TensorFlow's `crop_and_resize` does
/// (bilinear, 0 outside the image) at 192 × 192, resized bilinearly to 224 × 224 (align
/// corners and half-pixel centres off); RGB 0–255, NCHW.
pub fn crop_and_resize(img: &RgbImage, xyxy: [f64; 4]) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px = |x: usize, y: usize, c: usize| f32::from(img.get_pixel(x as u32, y as u32)[c]);
    // TensorFlow's crop_and_resize over the box normalised by the image size.
    let axis = |a: f64, b: f64, n: usize, i: usize| {
        let (an, bn) = ((a / n as f64) as f32, (b / n as f64) as f32);
        let last = (n - 1) as f32;
        an * last + i as f32 * ((bn - an) * last / (CUT - 1) as f32)
    };
    let mut cut = vec![0.0f32; 3 * CUT * CUT];
    for i in 0..CUT {
        let sy = axis(xyxy[1], xyxy[3], h, i);
        if sy < 0.0 || sy > (h - 1) as f32 {
            continue;
        }
        let (y0, y1) = (sy.floor() as usize, sy.ceil() as usize);
        let ly = sy - y0 as f32;
        for j in 0..CUT {
            let sx = axis(xyxy[0], xyxy[2], w, j);
            if sx < 0.0 || sx > (w - 1) as f32 {
                continue;
            }
            let (x0, x1) = (sx.floor() as usize, sx.ceil() as usize);
            let lx = sx - x0 as f32;
            for c in 0..3 {
                let at = |x: usize, y: usize| px(x, y, c);
                cut[(c * CUT + i) * CUT + j] = lerp2d(at, (x0, x1, lx), (y0, y1, ly));
            }
        }
    }
    // resize_bilinear 192 -> 224: source = destination × 192 / 224.
    let scale = CUT as f32 / INPUT as f32;
    let mut out = vec![0.0f32; 3 * INPUT * INPUT];
    for i in 0..INPUT {
        let sy = i as f32 * scale;
        let (y0, ly) = (sy.floor() as usize, sy - sy.floor());
        let y1 = (y0 + 1).min(CUT - 1);
        for j in 0..INPUT {
            let sx = j as f32 * scale;
            let (x0, lx) = (sx.floor() as usize, sx - sx.floor());
            let x1 = (x0 + 1).min(CUT - 1);
            for c in 0..3 {
                let at = |x: usize, y: usize| cut[(c * CUT + y) * CUT + x];
                out[(c * INPUT + i) * INPUT + j] = lerp2d(at, (x0, x1, lx), (y0, y1, ly));
            }
        }
    }
    out
}

/// Human's similarity of two descriptors (`match.ts` defaults: order 2, multiplier 25, min
/// 0.2, max 0.8), from 0 (different faces) to 1 (the same).
pub fn similarity(a: &[f32], b: &[f32]) -> f64 {
    let sum: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let distance = 25.0 * sum;
    if distance == 0.0 {
        return 1.0;
    }
    ((1.0 - distance.sqrt() / 100.0 - 0.2) / 0.6).clamp(0.0, 1.0)
}

/// The face description model: one session (input `input` `[1, 3, 224, 224]`, output
/// `embedding` `[1, 1024]`).
pub struct FaceEmbedder {
    model: Model,
}

impl FaceEmbedder {
    /// Wraps the loaded `faceres-embedding` model.
    pub fn new(model: Model) -> Self {
        Self { model }
    }

    /// The descriptor of a prepared input ([`crop_and_resize`]).
    pub fn embed_input(&self, input: &[f32]) -> Result<Vec<f32>, ModelError> {
        let out = self.model.run(&[("input", &[1, 3, INPUT, INPUT], input)], &["embedding"])?;
        Ok(out.into_iter().next().map(|(_, d)| d).unwrap_or_default())
    }

    /// The descriptor of the face in `bbox` (`[x, y, w, h]`, the detector's box) of `img`.
    pub fn embed(&self, img: &RgbImage, bbox: [f64; 4]) -> Result<Vec<f32>, ModelError> {
        self.embed_input(&crop_and_resize(img, face_box(bbox)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The astronaut's box becomes Human's crop box [150, 52, 299, 201] (the reference's).
    #[test]
    fn face_boxes_round_as_javascript() {
        assert_eq!(face_box([171.4, 73.4, 106.4, 106.4]), [150.0, 52.0, 299.0, 201.0]);
        assert_eq!(face_box([70.7, 74.4, 222.3, 147.9]), [26.0, -7.0, 337.0, 304.0]);
    }

    #[test]
    fn similarity_is_humans() {
        assert_eq!(similarity(&[1.0, 2.0], &[1.0, 2.0]), 1.0);
        // d = 25 × 64 = 1600, √d / 100 = 0.4: (1 − 0.4 − 0.2) / 0.6.
        assert!((similarity(&[0.0, 0.0], &[8.0, 0.0]) - 0.4 / 0.6).abs() < 1e-12);
        // d = 25 × 4: (1 − 0.1 − 0.2) / 0.6 > 1, clamped.
        assert_eq!(similarity(&[0.0, 0.0], &[2.0, 0.0]), 1.0);
        assert_eq!(similarity(&[0.0], &[100.0]), 0.0);
    }

    /// A crop inside the image at the crop's own size is the image (sampling on pixels).
    #[test]
    fn crops_sample_pixels_and_zero_outside() {
        let img = RgbImage::from_fn(192, 192, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 7]));
        let out = crop_and_resize(&img, [0.0, 0.0, 192.0, 192.0]);
        // Row 0 of the 224 input samples row 0 of the cut; the cut's first pixel is (0, 0).
        assert_eq!((out[0], out[INPUT * INPUT * 2]), (0.0, 7.0));
        let outside = crop_and_resize(&img, [-400.0, -400.0, -300.0, -300.0]);
        assert!(outside.iter().all(|&v| v == 0.0));
    }
}
