//! Instance masks of segmentation exports, as plain functions over arrays: each rule maps a
//! network's mask output onto the source image's pixel grid and thresholds it, and
//! [`rle_counts`] encodes the binary mask as COCO compressed RLE with hotcoco's mask module.
//!
//! | rule | network output | a source pixel (x, y) is in the mask when |
//! |---|---|---|
//! | [`prototype_mask`] (YOLOv8-seg) | coefficients · prototypes `[M, mh, mw]` over the network input | the logit sampled bilinearly at the pixel's centre is > 0 (sigmoid > ½) and the pixel lies in the box (`x1 ≤ x < x2`, `y1 ≤ y < y2`): ultralytics' `process_mask_native` |
//! | [`roi_mask`] (Mask R-CNN) | an `M × M` probability mask per box | the mask sampled bilinearly at the pixel's centre relative to the box (zeros outside the grid) is > ½, within one pixel of the box: torchvision's `paste_masks_in_image` |
//! | [`frame_mask`] (SOLO, SOLOv2, torchvision's full masks) | a probability map over the network input | the map sampled bilinearly at the pixel's centre is > ½ |
//!
//! Sampling "at the pixel's centre" maps the source pixel centre `(x + ½, y + ½)` into the
//! network input through the [`Placement`] (`u = (x + ½)·sx + px`), then into the mask grid
//! (`g = u · mw / W − ½`), as `torch.nn.functional.interpolate(…, mode="bilinear",
//! align_corners=False)` samples; indices are clamped at the border.

use crate::detect::Placement;

/// A binary mask over a `width × height` image, column-major (pixel (x, y) at `y + height·x`,
/// COCO's order), 1 inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryMask {
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// `width × height` bytes, column-major.
    pub data: Vec<u8>,
}

impl BinaryMask {
    fn empty(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize],
        }
    }

    fn set(&mut self, x: usize, y: usize) {
        self.data[y + self.height as usize * x] = 1;
    }

    /// Pixels inside.
    pub fn area(&self) -> u64 {
        self.data.iter().map(|&v| u64::from(v)).sum()
    }
}

/// Bilinear sample of a row-major `w × h` grid at grid coordinates (gx, gy), indices clamped
/// to the grid (border replicate, as `interpolate` with `align_corners=False`).
fn sample_clamped(grid: &[f32], w: usize, h: usize, gx: f32, gy: f32) -> f32 {
    let gx = gx.max(0.0);
    let gy = gy.max(0.0);
    let x0 = (gx.floor() as usize).min(w - 1);
    let y0 = (gy.floor() as usize).min(h - 1);
    let x1 = (x0 + 1).min(w - 1);
    let y1 = (y0 + 1).min(h - 1);
    let (fx, fy) = (gx - x0 as f32, gy - y0 as f32);
    let (fx, fy) = (if x0 == x1 { 0.0 } else { fx }, if y0 == y1 { 0.0 } else { fy });
    let at = |x: usize, y: usize| grid[y * w + x];
    let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
    let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Bilinear sample with zeros outside the grid (`grid_sample`, `padding_mode="zeros"`,
/// `align_corners=False`).
fn sample_zeros(grid: &[f32], w: usize, h: usize, gx: f32, gy: f32) -> f32 {
    let (x0, y0) = (gx.floor(), gy.floor());
    let (fx, fy) = (gx - x0, gy - y0);
    let at = |x: f32, y: f32| {
        if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
            0.0
        } else {
            grid[y as usize * w + x as usize]
        }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// The centre of source pixel `x` in network-input coordinates along one axis.
fn to_input(x: usize, scale: f32, pad: f32) -> f32 {
    (x as f32 + 0.5) * scale + pad
}

/// The pixel range `[floor(a), ceil(b))` of a box side, clipped to `0..n`.
fn span(a: f64, b: f64, n: u32) -> std::ops::Range<usize> {
    let lo = a.floor().max(0.0) as usize;
    let hi = (b.ceil().max(0.0) as usize).min(n as usize);
    lo.min(hi)..hi
}

/// YOLOv8-seg: the mask of one detection from its coefficients and the prototypes
/// (`[M, mh, mw]`, row-major) over a `net_w × net_h` input; `xyxy` is the detection's box in
/// source pixels. See the module table.
#[allow(clippy::too_many_arguments)]
pub fn prototype_mask(
    coefficients: &[f32],
    prototypes: &[f32],
    (mh, mw): (usize, usize),
    (net_w, net_h): (u32, u32),
    placement: Placement,
    xyxy: [f64; 4],
    width: u32,
    height: u32,
) -> BinaryMask {
    let cells = mh * mw;
    let mut logits = vec![0.0f32; cells];
    for (k, &c) in coefficients.iter().enumerate() {
        for (l, &p) in logits.iter_mut().zip(&prototypes[k * cells..(k + 1) * cells]) {
            *l += c * p;
        }
    }
    let mut mask = BinaryMask::empty(width, height);
    let (gx_scale, gy_scale) = (mw as f32 / net_w as f32, mh as f32 / net_h as f32);
    for x in span(xyxy[0], xyxy[2], width) {
        if (x as f64) < xyxy[0] || (x as f64) >= xyxy[2] {
            continue;
        }
        let gx = to_input(x, placement.sx, placement.px) * gx_scale - 0.5;
        for y in span(xyxy[1], xyxy[3], height) {
            if (y as f64) < xyxy[1] || (y as f64) >= xyxy[3] {
                continue;
            }
            let gy = to_input(y, placement.sy, placement.py) * gy_scale - 0.5;
            if sample_clamped(&logits, mw, mh, gx, gy) > 0.0 {
                mask.set(x, y);
            }
        }
    }
    mask
}

/// Mask R-CNN: an `m × m` probability mask (row-major) pasted into its box `xyxy` (source
/// pixels) as torchvision's `paste_masks_in_image` does. See the module table.
pub fn roi_mask(probabilities: &[f32], m: usize, xyxy: [f64; 4], width: u32, height: u32) -> BinaryMask {
    let mut mask = BinaryMask::empty(width, height);
    let (bw, bh) = ((xyxy[2] - xyxy[0]) as f32, (xyxy[3] - xyxy[1]) as f32);
    if bw <= 0.0 || bh <= 0.0 {
        return mask;
    }
    let (x0, y0) = (xyxy[0] as f32, xyxy[1] as f32);
    for x in span(xyxy[0] - 1.0, xyxy[2] + 1.0, width) {
        let gx = (x as f32 + 0.5 - x0) / bw * m as f32 - 0.5;
        for y in span(xyxy[1] - 1.0, xyxy[3] + 1.0, height) {
            let gy = (y as f32 + 0.5 - y0) / bh * m as f32 - 0.5;
            if sample_zeros(probabilities, m, m, gx, gy) > 0.5 {
                mask.set(x, y);
            }
        }
    }
    mask
}

/// SOLO / SOLOv2 / torchvision full masks: a `mw × mh` probability map (row-major) over a
/// `net_w × net_h` input, mapped back to the source image. See the module table.
pub fn frame_mask(
    probabilities: &[f32],
    (mh, mw): (usize, usize),
    (net_w, net_h): (u32, u32),
    placement: Placement,
    width: u32,
    height: u32,
) -> BinaryMask {
    let mut mask = BinaryMask::empty(width, height);
    let (gx_scale, gy_scale) = (mw as f32 / net_w as f32, mh as f32 / net_h as f32);
    for x in 0..width as usize {
        let gx = to_input(x, placement.sx, placement.px) * gx_scale - 0.5;
        for y in 0..height as usize {
            let gy = to_input(y, placement.sy, placement.py) * gy_scale - 0.5;
            if sample_clamped(probabilities, mw, mh, gx, gy) > 0.5 {
                mask.set(x, y);
            }
        }
    }
    mask
}

/// The COCO compressed RLE counts string of a mask (hotcoco's `mask::encode` and
/// `rle_to_string`, equal to pycocotools' `mask.encode(...)["counts"]`).
pub fn rle_counts(mask: &BinaryMask) -> Result<String, String> {
    hotcoco::mask::encode(&mask.data, mask.height, mask.width)
        .map(|rle| hotcoco::mask::rle_to_string(&rle))
        .map_err(|e| e.to_string())
}

/// The area (pixels inside) of a mask given as COCO compressed RLE counts over `height × width`.
pub fn rle_area(counts: &str, height: u32, width: u32) -> Result<u64, String> {
    hotcoco::mask::area_from_string(counts, height, width).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDENTITY: Placement = Placement {
        sx: 1.0,
        sy: 1.0,
        px: 0.0,
        py: 0.0,
    };

    fn inside(m: &BinaryMask) -> Vec<(usize, usize)> {
        let h = m.height as usize;
        (0..m.data.len()).filter(|&i| m.data[i] == 1).map(|i| (i / h, i % h)).collect()
    }

    /// A full mask at the source's own size maps pixel to pixel.
    #[test]
    fn frame_masks_at_source_size_are_the_threshold() {
        let mut p = vec![0.0f32; 4 * 3];
        p[4 + 2] = 0.9; // (x 2, y 1)
        let m = frame_mask(&p, (3, 4), (4, 3), IDENTITY, 4, 3);
        assert_eq!(inside(&m), [(2, 1)]);
        assert_eq!(
            rle_counts(&m).unwrap(),
            hotcoco::mask::rle_to_string(&hotcoco::mask::encode(&m.data, 3, 4).unwrap())
        );
    }

    /// A prototype mask keeps only the pixels of its box, however far the logits reach.
    #[test]
    fn prototype_masks_are_cropped_to_the_box() {
        let m = prototype_mask(&[1.0], &[1.0; 16], (4, 4), (4, 4), IDENTITY, [1.0, 1.0, 2.5, 3.0], 4, 4);
        assert_eq!(inside(&m), [(1, 1), (1, 2), (2, 1), (2, 2)]);
        let negative = prototype_mask(&[-1.0], &[1.0; 16], (4, 4), (4, 4), IDENTITY, [0.0, 0.0, 4.0, 4.0], 4, 4);
        assert_eq!(negative.area(), 0);
    }

    /// A uniform RoI mask fills its box, and reaches half a mask cell past it no further.
    #[test]
    fn roi_masks_fill_their_box() {
        let m = roi_mask(&[1.0; 4], 2, [2.0, 2.0, 6.0, 6.0], 10, 10);
        assert_eq!(m.area(), 16);
        assert!(inside(&m).iter().all(|&(x, y)| (2..6).contains(&x) && (2..6).contains(&y)));
        assert_eq!(roi_mask(&[1.0; 4], 2, [2.0, 2.0, 2.0, 6.0], 10, 10).area(), 0);
    }
}
