//! Lossless PNG (the `png` crate through `image`): a pipeline check where every
//! reconstruction equals its source and PSNR is infinite. `kind = "png"` has no settings
//! ([`PngSettings`]).

use std::io::Cursor;

use image::{ImageEncoder, RgbImage, codecs::png::PngEncoder};

use crate::registry::{BuildContext, BuildError, Built, CodecSettings};
use crate::{Codec, CodecError, check_size};

/// Lossless PNG. The quality value is ignored (any finite number is accepted).
#[derive(Debug, Clone, Copy, Default)]
pub struct Png;

/// The settings of `kind = "png"`: none.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PngSettings {}

impl CodecSettings for PngSettings {
    fn build(self, _ctx: &BuildContext<'_>) -> Result<Built, BuildError> {
        Ok(Built::new(Png))
    }
}

impl Codec for Png {
    fn kind(&self) -> &str {
        "png"
    }

    fn version(&self) -> String {
        "png crate 0.18 via image 0.25 (lossless, default compression)".to_string()
    }

    fn check_quality(&self, quality: f64) -> Result<(), CodecError> {
        if quality.is_finite() {
            Ok(())
        } else {
            Err(CodecError::InvalidQuality {
                codec: "png".into(),
                quality,
                expected: "any finite number (ignored)".into(),
            })
        }
    }

    fn encode(&self, image: &RgbImage, _quality: f64) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(image.as_raw(), image.width(), image.height(), image::ExtendedColorType::Rgb8)
            .map_err(|e| CodecError::library("png", e))?;
        Ok(out)
    }

    fn decode(&self, bitstream: &[u8], width: u32, height: u32) -> Result<RgbImage, CodecError> {
        let img = image::ImageReader::with_format(Cursor::new(bitstream), image::ImageFormat::Png)
            .decode()
            .map_err(|e| CodecError::library("png", e))?
            .to_rgb8();
        check_size("png", &img, width, height)?;
        Ok(img)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::pattern;

    #[test]
    fn lossless() {
        let img = pattern(31, 17);
        let bits = Png.encode(&img, 0.0).unwrap();
        assert_eq!(Png.decode(&bits, 31, 17).unwrap(), img);
    }
}
