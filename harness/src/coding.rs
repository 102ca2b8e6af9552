//! `icmbench encode` and `icmbench decode`: one image through a learned codec to a
//! bitstream file and back ([`icmbench_codecs::learned::file`] holds the format), so a
//! stream made here decodes on another machine.

use std::path::Path;

use icmbench_codecs::learned::LearnedCodec;
use icmbench_codecs::learned::file::{decode_image, encode_image};
use icmbench_codecs::padding::Padding;
use icmbench_datasets::{ImageEntry, Preprocess, load_image};
use icmbench_models::RuntimeOptions;
use icmbench_models::textfile::read_bytes_capped;
use serde::Serialize;

/// The largest bitstream file read (a 64-megapixel image at 24 bpp is 192 MiB).
pub const MAX_STREAM_BYTES: u64 = 256 << 20;

/// What `encode` did, for the terminal or `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct EncodeSummary {
    /// The input image.
    pub image: String,
    /// The file written.
    pub output: String,
    /// The codec folder.
    pub codec: String,
    /// Quality point.
    pub quality: i64,
    /// Image width and height.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Padded size the codec coded.
    pub padded: [u32; 2],
    /// Bytes of the file (all headers included).
    pub bytes: usize,
    /// Bits per pixel of the image (file bytes × 8 / (width × height)).
    pub bpp: f64,
    /// The estimated rate (−log2 likelihoods) in bits per pixel.
    pub bpp_estimated: f64,
    /// Time in ONNX Runtime, ms.
    pub network_ms: f64,
    /// Time in quantisation and entropy coding, ms.
    pub entropy_ms: f64,
}

/// What `decode` did.
#[derive(Debug, Clone, Serialize)]
pub struct DecodeSummary {
    /// The file read.
    pub input: String,
    /// The image written.
    pub output: String,
    /// Quality point named in the stream.
    pub quality: i64,
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Bytes of the file.
    pub bytes: usize,
    /// Bits per pixel.
    pub bpp: f64,
    /// Time in ONNX Runtime (context graphs included), ms.
    pub network_ms: f64,
    /// Time in entropy decoding, ms.
    pub entropy_ms: f64,
}

impl EncodeSummary {
    /// One line for the terminal.
    pub fn line(&self) -> String {
        format!(
            "{} → {}: {}x{} (padded {}x{}), quality {}, {} bytes, {:.4} bpp (estimated {:.4}); network {:.0} ms, entropy coding {:.0} ms",
            self.image,
            self.output,
            self.width,
            self.height,
            self.padded[0],
            self.padded[1],
            self.quality,
            self.bytes,
            self.bpp,
            self.bpp_estimated,
            self.network_ms,
            self.entropy_ms
        )
    }
}

impl DecodeSummary {
    /// One line for the terminal.
    pub fn line(&self) -> String {
        format!(
            "{} → {}: {}x{}, quality {}, {} bytes, {:.4} bpp; network {:.0} ms, entropy decoding {:.0} ms",
            self.input, self.output, self.width, self.height, self.quality, self.bytes, self.bpp, self.network_ms, self.entropy_ms
        )
    }
}

fn open(codec: &Path, opts: RuntimeOptions) -> Result<LearnedCodec, String> {
    LearnedCodec::open(codec, opts).map_err(|e| e.to_string())
}

/// Writes `bytes` to `path` atomically (temporary sibling, then rename).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    icmbench_reports::store::write_atomic(path, |f| {
        use std::io::Write;
        f.write_all(bytes).map_err(|e| icmbench_reports::ReportError::Io {
            path: path.display().to_string(),
            source: e,
        })
    })
    .map_err(|e| e.to_string())
}

/// Encodes `image` with the learned codec in `codec` at `quality` into `out`.
pub fn encode(
    codec: &Path,
    quality: f64,
    image: &Path,
    out: &Path,
    padding: &Padding,
    opts: RuntimeOptions,
) -> Result<EncodeSummary, String> {
    let c = open(codec, opts)?;
    let entry = ImageEntry {
        id: image.display().to_string(),
        path: image.to_path_buf(),
    };
    let img = load_image(&entry, &Preprocess::default()).map_err(|e| e.to_string())?.image;
    let made = encode_image(&c, &img, quality, padding).map_err(|e| format!("encoding {}: {e}", image.display()))?;
    write_file(out, &made.bytes)?;
    let (w, h) = img.dimensions();
    let pixels = f64::from(w) * f64::from(h);
    Ok(EncodeSummary {
        image: image.display().to_string(),
        output: out.display().to_string(),
        codec: codec.display().to_string(),
        quality: quality as i64,
        width: w,
        height: h,
        padded: [made.padded.0, made.padded.1],
        bytes: made.bytes.len(),
        bpp: made.bytes.len() as f64 * 8.0 / pixels,
        bpp_estimated: made.encoded.estimated_bits / pixels,
        network_ms: made.encoded.network.as_secs_f64() * 1e3,
        entropy_ms: made.encoded.entropy.as_secs_f64() * 1e3,
    })
}

/// Decodes the file `input` with the learned codec in `codec` and writes the image (PNG).
pub fn decode(input: &Path, codec: &Path, out: &Path, opts: RuntimeOptions) -> Result<DecodeSummary, String> {
    let data = read_bytes_capped(input, MAX_STREAM_BYTES).map_err(|e| e.to_string())?;
    let c = open(codec, opts)?;
    let d = decode_image(&c, &data).map_err(|e| format!("decoding {}: {e}", input.display()))?;
    let mut png = Vec::new();
    d.image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| format!("encoding {} as PNG: {e}", out.display()))?;
    write_file(out, &png)?;
    let (w, h) = d.image.dimensions();
    Ok(DecodeSummary {
        input: input.display().to_string(),
        output: out.display().to_string(),
        quality: d.header.quality,
        width: w,
        height: h,
        bytes: data.len(),
        bpp: data.len() as f64 * 8.0 / (f64::from(w) * f64::from(h)),
        network_ms: d.network.as_secs_f64() * 1e3,
        entropy_ms: d.entropy.as_secs_f64() * 1e3,
    })
}
