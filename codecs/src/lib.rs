//! Codecs for icmbench: the [`Codec`] trait, its implementations, and the registry of codec
//! kinds, each with its settings and builder.
//!
//! | module | what lives there |
//! |---|---|
//! | [`jpeg`] | JPEG through libjpeg-turbo (TurboJPEG API), 4:2:0, Pillow-compatible quality |
//! | [`webp`] | lossy WebP through libwebp's simple API |
//! | [`avif`] | AVIF: rav1e via `ravif` to encode, system libdav1d to decode |
//! | [`png`] | lossless PNG, a pipeline check (PSNR is infinite) |
//! | [`external`] | codecs run as external commands from argument templates, and their presets |
//! | [`learned`] | learned codecs as ONNX graphs + exported entropy tables, real bitstreams |
//! | [`registry`] | the list of codec kinds ([`registry::KINDS`]): name, description, settings fields, builder; what a configuration's `[[codecs]]` table is handed to |
//! | [`yuv`] | RGB ↔ planar YCbCr conversions for raw-YUV tools (VTM) |
//! | [`padding`] | padding to a size multiple before coding and cropping after |
//! | this file | the [`Codec`] trait, [`CodecError`], [`check_range`] for quality values |
//!
//! The rate of a coded image is always the length of the bitstream the codec returns, in
//! bytes, times 8, over the pixel count of the *source* image (before any padding). For the
//! in-process codecs that bitstream is the whole file (JFIF/RIFF/ISOBMFF/PNG container
//! included), as CompressAI counts it for its JPEG and WebP results.

pub mod avif;
pub mod external;
pub mod jpeg;
pub mod learned;
pub mod padding;
pub mod png;
pub mod registry;
pub mod webp;
pub mod yuv;

use image::RgbImage;

/// Errors from encoding or decoding. Each names the codec or the tool.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The quality value is outside what the codec accepts.
    #[error("{codec}: quality {quality} is invalid: {expected}")]
    InvalidQuality {
        /// Codec kind.
        codec: String,
        /// The value given.
        quality: f64,
        /// What is accepted.
        expected: String,
    },
    /// The codec library reported an error.
    #[error("{codec}: {message}")]
    Library {
        /// Codec kind.
        codec: String,
        /// The library's message.
        message: String,
    },
    /// An external tool could not be found.
    #[error("external codec tool `{program}` not found ({hint})")]
    ToolMissing {
        /// The program.
        program: String,
        /// How to fix it.
        hint: String,
    },
    /// An external tool exited with a non-zero status.
    #[error("`{command}` failed with {status}: {stderr}")]
    ToolFailed {
        /// The command line (for the message only).
        command: String,
        /// Exit status text.
        status: String,
        /// The tail of what it wrote to stderr and stdout.
        stderr: String,
    },
    /// An external tool ran out of time and was killed.
    #[error("`{command}` timed out after {seconds} s and was killed")]
    Timeout {
        /// The command line.
        command: String,
        /// The limit.
        seconds: f64,
    },
    /// An external tool exited successfully but wrote no output file.
    #[error("`{command}` exited successfully but wrote no output file {path}")]
    NoOutput {
        /// The command line.
        command: String,
        /// The file that was expected.
        path: String,
    },
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// The decoded image is not what was expected.
    #[error("{codec}: {message}")]
    BadOutput {
        /// Codec kind.
        codec: String,
        /// What is wrong.
        message: String,
    },
}

impl CodecError {
    pub(crate) fn library(codec: &str, message: impl std::fmt::Display) -> Self {
        CodecError::Library {
            codec: codec.to_string(),
            message: message.to_string(),
        }
    }
}

/// A lossy or lossless image codec with a scalar quality parameter.
///
/// Implementations are stateless between calls and may be used from many threads.
pub trait Codec: Send + Sync {
    /// The codec kind, e.g. `jpeg`.
    fn kind(&self) -> &str;

    /// Library name and version plus every setting that changes the bitstream. Part of the
    /// cache key: results are recomputed when it changes.
    fn version(&self) -> String;

    /// Width and height must be multiples of this; the harness pads (see [`padding`]).
    fn size_multiple(&self) -> u32 {
        1
    }

    /// Checks a quality value before any work is done.
    fn check_quality(&self, quality: f64) -> Result<(), CodecError>;

    /// Problems that can be found without running anything or coding an image (an
    /// external codec's programs missing from `PATH`); empty when there are none.
    /// `icmbench check` reports them. Learned codecs check their graphs when opened.
    fn preflight(&self) -> Vec<String> {
        Vec::new()
    }

    /// Encodes an 8-bit RGB image to a bitstream.
    fn encode(&self, image: &RgbImage, quality: f64) -> Result<Vec<u8>, CodecError>;
    /// Encodes and, for codecs with a probability model (learned codecs), also returns the
    /// estimated rate in bits (−log2 of the likelihoods). Default: no estimate.
    fn encode_with_estimate(&self, image: &RgbImage, quality: f64) -> Result<(Vec<u8>, Option<f64>), CodecError> {
        Ok((self.encode(image, quality)?, None))
    }

    /// Decodes a bitstream of a `width`×`height` image to 8-bit RGB.
    fn decode(&self, bitstream: &[u8], width: u32, height: u32) -> Result<RgbImage, CodecError>;

    /// The MACs of coding `image` (already padded to [`Codec::size_multiple`]) at `quality`,
    /// encoder side and decoder side, for codecs that run ONNX graphs (learned codecs):
    /// counted from a profiled run ([`icmbench_models::complexity`]). `None` for codecs
    /// that run no graph.
    fn complexity(&self, image: &RgbImage, quality: f64) -> Option<Result<Complexity, CodecError>> {
        let _ = (image, quality);
        None
    }
}

/// MACs of encoding and of decoding one image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Complexity {
    /// Encoder side (analysis transform, hyperprior, context models).
    pub encoder: icmbench_models::complexity::MacCount,
    /// Decoder side (hyper-synthesis, context models, synthesis transform).
    pub decoder: icmbench_models::complexity::MacCount,
}

/// Checks that `quality` lies in `[min, max]` and, if `integer`, has no fractional part.
pub fn check_range(codec: &str, quality: f64, min: f64, max: f64, integer: bool) -> Result<(), CodecError> {
    let ok = quality.is_finite() && quality >= min && quality <= max && (!integer || quality.fract() == 0.0);
    if ok {
        Ok(())
    } else {
        let kind = if integer { "an integer" } else { "a number" };
        Err(CodecError::InvalidQuality {
            codec: codec.to_string(),
            quality,
            expected: format!("{kind} from {min} to {max}"),
        })
    }
}

/// Checks that a decoded image has the expected size.
pub(crate) fn check_size(codec: &str, img: &RgbImage, width: u32, height: u32) -> Result<(), CodecError> {
    if img.dimensions() == (width, height) {
        Ok(())
    } else {
        Err(CodecError::BadOutput {
            codec: codec.to_string(),
            message: format!("decoded {}x{}, expected {width}x{height}", img.width(), img.height()),
        })
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use image::{Rgb, RgbImage};

    /// A smooth, textured synthetic image (deterministic).
    pub fn pattern(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let r = (x * 255 / w.max(1)) as u8;
            let g = (y * 255 / h.max(1)) as u8;
            let b = (((x / 8 + y / 8) % 2) * 160 + (x * y) % 64) as u8;
            Rgb([r, g, b])
        })
    }

    /// PSNR in dB over RGB (test helper; the real metric lives in icmbench-metrics).
    pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
        let n = a.as_raw().len() as f64;
        let mse: f64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(p, q)| (f64::from(*p) - f64::from(*q)).powi(2))
            .sum::<f64>()
            / n;
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}
