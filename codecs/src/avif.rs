//! AVIF: encoded in process with rav1e (through `ravif`), decoded with libdav1d (the
//! system library, Debian `libdav1d-dev`) after `avif-parse` extracts the AV1 payload.
//!
//! The encoder writes YCbCr 4:4:4 with the BT.601 matrix, full range, 10-bit (ravif's
//! defaults), one thread so that the tiling, and so the bitstream, does not depend on the
//! machine. The decoder accepts exactly what this encoder writes (4:4:4, 8 or 10 bit) and
//! converts back with the same matrix; other AVIF files are for the `avifenc`/`avifdec`
//! external preset.
//!
//! Settings of `kind = "avif"` ([`AvifSettings`]): `speed`, rav1e's speed preset from 1
//! (slowest) to 10 (fastest), default 6.

use std::io::Cursor;

use dav1d::{PixelLayout, PlanarImageComponent};
use image::{Rgb, RgbImage};
use ravif::{Encoder, Img, RGB8};
use serde::Deserialize;

use crate::registry::{BuildContext, BuildError, Built, CodecSettings};
use crate::{Codec, CodecError, check_range, check_size, yuv};

/// Version of `ravif` this codec is built with (rav1e 0.8).
pub const RAVIF_VERSION: &str = "ravif 0.13.0 / rav1e 0.8";

/// The AVIF codec. Quality is ravif's 1–100 scale.
#[derive(Debug, Clone)]
pub struct Avif {
    /// rav1e speed preset, 1 (slowest) to 10 (fastest).
    pub speed: u8,
}

impl Default for Avif {
    fn default() -> Self {
        Self {
            speed: AvifSettings::default().speed,
        }
    }
}

/// The settings of `kind = "avif"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AvifSettings {
    /// rav1e speed preset, 1 (slowest) to 10 (fastest); default 6.
    pub speed: u8,
}

impl Default for AvifSettings {
    fn default() -> Self {
        Self { speed: 6 }
    }
}

impl CodecSettings for AvifSettings {
    fn build(self, _ctx: &BuildContext<'_>) -> Result<Built, BuildError> {
        let speed = self.speed;
        if !(1..=10).contains(&speed) {
            return Err(BuildError::Invalid(format!("avif `speed` must be 1 to 10, got {speed}")));
        }
        Ok(Built::new(Avif { speed }))
    }
}

impl Codec for Avif {
    fn kind(&self) -> &str {
        "avif"
    }

    fn version(&self) -> String {
        format!("{RAVIF_VERSION} (speed {}, 10-bit 4:4:4 BT.601 full range, 1 thread)", self.speed)
    }

    fn check_quality(&self, quality: f64) -> Result<(), CodecError> {
        check_range("avif", quality, 1.0, 100.0, false)
    }

    fn encode(&self, image: &RgbImage, quality: f64) -> Result<Vec<u8>, CodecError> {
        self.check_quality(quality)?;
        if !(1..=10).contains(&self.speed) {
            return Err(CodecError::library("avif", format!("speed {} is outside 1..=10", self.speed)));
        }
        let pixels: Vec<RGB8> = image.pixels().map(|p| RGB8::new(p[0], p[1], p[2])).collect();
        let img = Img::new(pixels.as_slice(), image.width() as usize, image.height() as usize);
        let encoded = Encoder::new()
            .with_quality(quality as f32)
            .with_speed(self.speed)
            .with_num_threads(Some(1))
            .encode_rgb(img)
            .map_err(|e| CodecError::library("avif", e))?;
        Ok(encoded.avif_file)
    }

    fn decode(&self, bitstream: &[u8], width: u32, height: u32) -> Result<RgbImage, CodecError> {
        let img = decode_avif(bitstream)?;
        check_size("avif", &img, width, height)?;
        Ok(img)
    }
}

fn dav1d_err(e: dav1d::Error) -> CodecError {
    CodecError::library("avif", format!("dav1d: {e}"))
}

/// Decodes an AVIF file written by [`Avif::encode`] to 8-bit RGB.
pub fn decode_avif(file: &[u8]) -> Result<RgbImage, CodecError> {
    let data = avif_parse::read_avif(&mut Cursor::new(file)).map_err(|e| CodecError::library("avif", format!("container: {e:?}")))?;
    let payload: Vec<u8> = data.primary_item.to_vec();
    let mut settings = dav1d::Settings::new();
    settings.set_n_threads(1);
    settings.set_max_frame_delay(1);
    let mut dec = dav1d::Decoder::with_settings(&settings).map_err(dav1d_err)?;
    match dec.send_data(payload, None, None, None) {
        Ok(()) => {}
        Err(e) if e.is_again() => {}
        Err(e) => return Err(dav1d_err(e)),
    }
    let mut pic = None;
    for _ in 0..8 {
        match dec.get_picture() {
            Ok(p) => {
                pic = Some(p);
                break;
            }
            Err(e) if e.is_again() => match dec.send_pending_data() {
                Ok(()) => {}
                Err(e) if e.is_again() => {}
                Err(e) => return Err(dav1d_err(e)),
            },
            Err(e) => return Err(dav1d_err(e)),
        }
    }
    let pic = pic.ok_or_else(|| CodecError::library("avif", "dav1d returned no picture"))?;
    if pic.pixel_layout() != PixelLayout::I444 {
        return Err(CodecError::library(
            "avif",
            format!(
                "only 4:4:4 streams from the in-process encoder are supported, got {:?}; use the avifdec preset",
                pic.pixel_layout()
            ),
        ));
    }
    let depth = pic.bit_depth();
    if depth != 8 && depth != 10 {
        return Err(CodecError::library("avif", format!("unsupported bit depth {depth}")));
    }
    let (w, h) = (pic.width(), pic.height());
    let planes =
        [PlanarImageComponent::Y, PlanarImageComponent::U, PlanarImageComponent::V].map(|c| (pic.plane(c), pic.stride(c) as usize));
    let max = f64::from((1u32 << depth) - 1);
    let offset = (max * 0.5).round();
    let sample = |plane: usize, x: u32, y: u32| -> f64 {
        let (data, stride) = &planes[plane];
        if depth == 8 {
            f64::from(data[y as usize * stride + x as usize])
        } else {
            let i = y as usize * stride + 2 * x as usize;
            f64::from(u16::from_ne_bytes([data[i], data[i + 1]]))
        }
    };
    Ok(RgbImage::from_fn(w, h, |x, y| {
        let ycc = [sample(0, x, y), sample(1, x, y), sample(2, x, y)];
        Rgb(yuv::ycbcr_to_rgb(ycc, yuv::BT601, max, offset))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{pattern, psnr};

    #[test]
    fn round_trip_and_quality_order() {
        let img = pattern(67, 45);
        let codec = Avif { speed: 10 };
        let low = codec.encode(&img, 20.0).unwrap();
        let high = codec.encode(&img, 90.0).unwrap();
        assert!(low.len() < high.len());
        let dl = codec.decode(&low, 67, 45).unwrap();
        let dh = codec.decode(&high, 67, 45).unwrap();
        assert!(psnr(&img, &dh) > psnr(&img, &dl));
        assert!(psnr(&img, &dh) > 35.0, "{}", psnr(&img, &dh));
    }

    #[test]
    fn deterministic_and_garbage_rejected() {
        let img = pattern(40, 40);
        let codec = Avif { speed: 10 };
        assert_eq!(codec.encode(&img, 50.0).unwrap(), codec.encode(&img, 50.0).unwrap());
        assert!(codec.decode(b"\0\0\0\x18ftypavif", 40, 40).is_err());
    }
}
