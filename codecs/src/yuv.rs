//! Full-range RGB ↔ YCbCr conversions and 8-bit planar YUV 4:4:4 files.
//!
//! Two chroma-offset conventions exist in the tools icmbench talks to, and both are here:
//! CompressAI's (`compressai.transforms.functional.rgb2ycbcr`: chroma offset 0.5 on the
//! [0, 1] scale, i.e. 127.5 on 8 bit, BT.709), used for raw YUV files given to VTM; and
//! the AV1/ravif one (offset `round(max / 2)`, i.e. 128 or 512), used by the AVIF decoder.

use image::{Rgb, RgbImage};

use crate::CodecError;

/// The luma weights of a YCbCr matrix (Kg = 1 − Kr − Kb).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matrix {
    /// Red weight.
    pub kr: f64,
    /// Blue weight.
    pub kb: f64,
}

/// ITU-R BT.601 (also BT.470BG, SMPTE 170M).
pub const BT601: Matrix = Matrix { kr: 0.299, kb: 0.114 };
/// ITU-R BT.709.
pub const BT709: Matrix = Matrix { kr: 0.2126, kb: 0.0722 };

/// Full-range RGB (0–255) to unrounded YCbCr on a `0..=max` scale with the given chroma offset.
pub fn rgb_to_ycbcr(px: [u8; 3], m: Matrix, max: f64, chroma_offset: f64) -> [f64; 3] {
    let [r, g, b] = px.map(|v| f64::from(v) / 255.0);
    let kg = 1.0 - m.kr - m.kb;
    let y = m.kr * r + kg * g + m.kb * b;
    let cb = 0.5 * (b - y) / (1.0 - m.kb);
    let cr = 0.5 * (r - y) / (1.0 - m.kr);
    [y * max, cb * max + chroma_offset, cr * max + chroma_offset]
}

/// Full-range YCbCr on a `0..=max` scale back to 8-bit RGB (rounded, clamped).
pub fn ycbcr_to_rgb(ycc: [f64; 3], m: Matrix, max: f64, chroma_offset: f64) -> [u8; 3] {
    let y = ycc[0] / max;
    let cb = (ycc[1] - chroma_offset) / max;
    let cr = (ycc[2] - chroma_offset) / max;
    let kg = 1.0 - m.kr - m.kb;
    let r = y + 2.0 * (1.0 - m.kr) * cr;
    let b = y + 2.0 * (1.0 - m.kb) * cb;
    let g = (y - m.kr * r - m.kb * b) / kg;
    [r, g, b].map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
}

/// Writes an image as 8-bit planar YCbCr 4:4:4 (Y plane, Cb plane, Cr plane), BT.709 full
/// range with CompressAI's rounding and offsets, as CompressAI feeds VTM.
pub fn write_yuv444p(img: &RgbImage) -> Vec<u8> {
    let n = (img.width() * img.height()) as usize;
    let mut out = vec![0u8; 3 * n];
    for (i, px) in img.pixels().enumerate() {
        let ycc = rgb_to_ycbcr(px.0, BT709, 255.0, 127.5);
        for (c, v) in ycc.iter().enumerate() {
            out[c * n + i] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Reads an 8-bit planar YCbCr 4:4:4 file written by [`write_yuv444p`]'s convention.
pub fn read_yuv444p(data: &[u8], width: u32, height: u32) -> Result<RgbImage, CodecError> {
    let n = (width * height) as usize;
    if data.len() != 3 * n {
        return Err(CodecError::BadOutput {
            codec: "yuv444p".into(),
            message: format!("expected {} bytes for {width}x{height} 8-bit 4:4:4, got {}", 3 * n, data.len()),
        });
    }
    Ok(RgbImage::from_fn(width, height, |x, y| {
        let i = (y * width + x) as usize;
        let ycc = [data[i], data[n + i], data[2 * n + i]].map(f64::from);
        Rgb(ycbcr_to_rgb(ycc, BT709, 255.0, 127.5))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_has_neutral_chroma() {
        let ycc = rgb_to_ycbcr([100, 100, 100], BT601, 1023.0, 512.0);
        assert!((ycc[1] - 512.0).abs() < 1e-9 && (ycc[2] - 512.0).abs() < 1e-9);
        assert_eq!(ycbcr_to_rgb(ycc, BT601, 1023.0, 512.0), [100, 100, 100]);
    }

    #[test]
    fn unrounded_round_trip_is_exact() {
        for px in [[0, 0, 0], [255, 255, 255], [255, 0, 0], [12, 200, 77]] {
            for m in [BT601, BT709] {
                let ycc = rgb_to_ycbcr(px, m, 255.0, 127.5);
                assert_eq!(ycbcr_to_rgb(ycc, m, 255.0, 127.5), px);
            }
        }
    }

    #[test]
    fn yuv_file_round_trip_is_close() {
        let img = RgbImage::from_fn(7, 5, |x, y| Rgb([(x * 30) as u8, (y * 50) as u8, 90]));
        let data = write_yuv444p(&img);
        assert_eq!(data.len(), 7 * 5 * 3);
        let back = read_yuv444p(&data, 7, 5).unwrap();
        for (a, b) in img.pixels().zip(back.pixels()) {
            for c in 0..3 {
                assert!((i16::from(a[c]) - i16::from(b[c])).abs() <= 2, "{a:?} {b:?}");
            }
        }
        assert!(read_yuv444p(&data[1..], 7, 5).is_err());
    }
}
