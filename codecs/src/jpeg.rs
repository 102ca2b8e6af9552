//! JPEG through libjpeg-turbo's TurboJPEG API (bundled source, built with cmake + nasm).
//!
//! Settings match Pillow's `Image.save(..., "JPEG", quality=q)`, which CompressAI used for its
//! published JPEG curves: libjpeg quality scaling of the standard tables (`jpeg_set_quality`),
//! 4:2:0 chroma subsampling, baseline, standard (non-optimised) Huffman tables, the accurate
//! integer DCT. Decoding uses the accurate DCT and fancy upsampling, as Pillow does.
//!
//! Settings of `kind = "jpeg"` ([`JpegSettings`]): `chroma`, `"420"` (the default above) or
//! `"444"` ([`Chroma`]).

use image::RgbImage;
use serde::Deserialize;
use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

use crate::registry::{BuildContext, BuildError, Built, CodecSettings};
use crate::{Codec, CodecError, check_range, check_size};

/// Version of the libjpeg-turbo sources bundled by `turbojpeg-sys` 1.2.0.
pub const LIBJPEG_TURBO_VERSION: &str = "3.1.0";

/// Chroma subsampling of the JPEG codec; `"420"` or `"444"` in a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Chroma {
    /// 4:2:0 (Pillow's default for quality < 95 too).
    #[default]
    #[serde(rename = "420")]
    S420,
    /// 4:4:4.
    #[serde(rename = "444")]
    S444,
}

/// The settings of `kind = "jpeg"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JpegSettings {
    /// Chroma subsampling: `"420"` (default, as Pillow) or `"444"`.
    pub chroma: Chroma,
}

impl CodecSettings for JpegSettings {
    fn build(self, _ctx: &BuildContext<'_>) -> Result<Built, BuildError> {
        Ok(Built::new(Jpeg { chroma: self.chroma }))
    }
}

/// The JPEG codec.
#[derive(Debug, Clone, Default)]
pub struct Jpeg {
    /// Chroma subsampling.
    pub chroma: Chroma,
}

impl Codec for Jpeg {
    fn kind(&self) -> &str {
        "jpeg"
    }

    fn version(&self) -> String {
        let sub = match self.chroma {
            Chroma::S420 => "4:2:0",
            Chroma::S444 => "4:4:4",
        };
        format!("libjpeg-turbo {LIBJPEG_TURBO_VERSION} (baseline, {sub}, standard Huffman, islow DCT)")
    }

    fn check_quality(&self, quality: f64) -> Result<(), CodecError> {
        check_range("jpeg", quality, 1.0, 100.0, true)
    }

    fn encode(&self, image: &RgbImage, quality: f64) -> Result<Vec<u8>, CodecError> {
        self.check_quality(quality)?;
        let err = |e: turbojpeg::Error| CodecError::library("jpeg", e);
        let mut c = Compressor::new().map_err(err)?;
        c.set_quality(quality as i32).map_err(err)?;
        c.set_subsamp(match self.chroma {
            Chroma::S420 => Subsamp::Sub2x2,
            Chroma::S444 => Subsamp::None,
        })
        .map_err(err)?;
        c.set_optimize(false).map_err(err)?;
        let (w, h) = image.dimensions();
        let img = Image {
            pixels: image.as_raw().as_slice(),
            width: w as usize,
            pitch: w as usize * 3,
            height: h as usize,
            format: PixelFormat::RGB,
        };
        c.compress_to_vec(img).map_err(err)
    }

    fn decode(&self, bitstream: &[u8], width: u32, height: u32) -> Result<RgbImage, CodecError> {
        let img = turbojpeg::decompress(bitstream, PixelFormat::RGB).map_err(|e| CodecError::library("jpeg", e))?;
        let (w, h) = (img.width as u32, img.height as u32);
        let mut pixels = img.pixels;
        if img.pitch != img.width * 3 {
            pixels = pixels.chunks(img.pitch).flat_map(|row| row[..img.width * 3].to_vec()).collect();
        }
        let out = RgbImage::from_raw(w, h, pixels).ok_or_else(|| CodecError::BadOutput {
            codec: "jpeg".into(),
            message: "decoder returned a short buffer".into(),
        })?;
        check_size("jpeg", &out, width, height)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{pattern, psnr};

    #[test]
    fn round_trip_and_rate_grow_with_quality() {
        let img = pattern(97, 61);
        let codec = Jpeg::default();
        let low = codec.encode(&img, 10.0).unwrap();
        let high = codec.encode(&img, 90.0).unwrap();
        assert!(low.len() < high.len());
        assert_eq!(&high[..2], &[0xFF, 0xD8]);
        let dec_low = codec.decode(&low, 97, 61).unwrap();
        let dec_high = codec.decode(&high, 97, 61).unwrap();
        assert!(psnr(&img, &dec_high) > psnr(&img, &dec_low) + 3.0);
    }

    #[test]
    fn bad_quality_and_garbage_are_errors() {
        let codec = Jpeg::default();
        assert!(codec.encode(&pattern(8, 8), 0.0).is_err());
        assert!(codec.encode(&pattern(8, 8), 50.5).is_err());
        assert!(codec.decode(b"not a jpeg", 8, 8).is_err());
    }
}
