//! Lossy WebP through libwebp (bundled by `libwebp-sys`), via its simple encoding API
//! (`WebPEncodeRGB`: default configuration, method 4), the same path Pillow's
//! `save(..., "WEBP", quality=q)` takes. `kind = "webp"` has no settings ([`WebpSettings`]).

use image::RgbImage;

use crate::registry::{BuildContext, BuildError, Built, CodecSettings};
use crate::{Codec, CodecError, check_range, check_size};

/// The lossy WebP codec. Quality is libwebp's quality factor, 0–100.
#[derive(Debug, Clone, Copy, Default)]
pub struct Webp;

/// The settings of `kind = "webp"`: none.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebpSettings {}

impl CodecSettings for WebpSettings {
    fn build(self, _ctx: &BuildContext<'_>) -> Result<Built, BuildError> {
        Ok(Built::new(Webp))
    }
}

/// libwebp's encoder version as `major.minor.revision`.
pub fn libwebp_version() -> String {
    // SAFETY: WebPGetEncoderVersion takes no arguments and only returns a constant.
    let v = unsafe { libwebp_sys::WebPGetEncoderVersion() };
    format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
}

impl Codec for Webp {
    fn kind(&self) -> &str {
        "webp"
    }

    fn version(&self) -> String {
        format!("libwebp {} (lossy, simple API, method 4)", libwebp_version())
    }

    fn check_quality(&self, quality: f64) -> Result<(), CodecError> {
        check_range("webp", quality, 0.0, 100.0, false)
    }

    fn encode(&self, image: &RgbImage, quality: f64) -> Result<Vec<u8>, CodecError> {
        self.check_quality(quality)?;
        let (w, h) = image.dimensions();
        if w > 16383 || h > 16383 {
            return Err(CodecError::library("webp", format!("{w}x{h} exceeds WebP's 16383x16383 limit")));
        }
        let encoded = ::webp::Encoder::from_rgb(image.as_raw(), w, h).encode(quality as f32);
        if encoded.is_empty() {
            return Err(CodecError::library("webp", "encoder returned no data"));
        }
        Ok(encoded.to_vec())
    }

    fn decode(&self, bitstream: &[u8], width: u32, height: u32) -> Result<RgbImage, CodecError> {
        let decoded = ::webp::Decoder::new(bitstream)
            .decode()
            .ok_or_else(|| CodecError::library("webp", "cannot decode bitstream"))?;
        let (w, h) = (decoded.width(), decoded.height());
        let data: &[u8] = &decoded;
        let bad = || CodecError::BadOutput {
            codec: "webp".into(),
            message: "decoder returned a short buffer".into(),
        };
        let img = if decoded.is_alpha() {
            image::DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, data.to_vec()).ok_or_else(bad)?).to_rgb8()
        } else {
            RgbImage::from_raw(w, h, data.to_vec()).ok_or_else(bad)?
        };
        check_size("webp", &img, width, height)?;
        Ok(img)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{pattern, psnr};

    #[test]
    fn round_trip() {
        let img = pattern(65, 33);
        let bits = Webp.encode(&img, 75.0).unwrap();
        assert_eq!(&bits[..4], b"RIFF");
        let dec = Webp.decode(&bits, 65, 33).unwrap();
        // Pillow 13 (libwebp 1.6) gives 364 bytes and 18.4806 dB on this hard pattern.
        eprintln!("webp q75: {} bytes, {} dB", bits.len(), psnr(&img, &dec));
        assert!(psnr(&img, &dec) > 18.0, "{}", psnr(&img, &dec));
        let better = Webp.decode(&Webp.encode(&img, 95.0).unwrap(), 65, 33).unwrap();
        assert!(psnr(&img, &better) > psnr(&img, &dec));
        assert!(Webp.decode(&bits, 64, 33).is_err());
        assert!(Webp.version().starts_with("libwebp 1."), "{}", Webp.version());
    }
}
