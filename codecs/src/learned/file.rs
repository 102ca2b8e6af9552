//! A learned codec's stream as a file (`icmbench encode` / `icmbench decode`): the image's
//! own size and padding in front of the codec's bitstream, so a file decodes on another
//! machine to the image that was encoded.
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `ICMB` |
//! | 1 | version (1) |
//! | varint | image width (LEB128) |
//! | varint | image height (LEB128) |
//! | 1 | padding: bit 0 replicate (else zeros), bit 1 bottom-right (else centred) |
//! | rest | the learned-codec bitstream ([`super::bitstream`]: codec digest, quality, padded size, checksums, rANS data) |

use image::RgbImage;

use super::LearnedCodec;
use super::bitstream::{Header, get_varint, put_varint};
use crate::CodecError;
use crate::padding::{PadAlign, PadMode, Padding, crop, pad_to_multiple, placement, round_up};

const MAGIC: [u8; 4] = *b"ICMB";
/// File version written and read.
pub const VERSION: u8 = 1;

fn bad(message: impl std::fmt::Display) -> CodecError {
    CodecError::library("learned", message)
}

/// A LEB128 size field of the file header, as a `u32`.
fn get_size(data: &[u8], pos: &mut usize, field: &str) -> Result<u32, CodecError> {
    let v = get_varint(data, pos, field).map_err(|e| bad(format!("the file header: {e}")))?;
    u32::try_from(v).map_err(|_| bad(format!("`{field}` = {v} is too large")))
}

/// What [`encode_image`] made.
#[derive(Debug, Clone)]
pub struct EncodedFile {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The codec's encode details (estimate, timings).
    pub encoded: super::Encoded,
    /// Padded width and height.
    pub padded: (u32, u32),
}

/// Encodes `image` at quality point `quality`, padded by `padding` to the codec's size
/// multiple, into the file format above.
pub fn encode_image(codec: &LearnedCodec, image: &RgbImage, quality: f64, padding: &Padding) -> Result<EncodedFile, CodecError> {
    use crate::Codec;
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return Err(bad("the image is empty"));
    }
    let padded = pad_to_multiple(image, codec.size_multiple(), padding);
    let dims = padded.image.dimensions();
    let encoded = codec.encode_detailed(&padded.image, quality)?;
    let mut bytes = Vec::with_capacity(encoded.bitstream.len() + 16);
    bytes.extend(MAGIC);
    bytes.push(VERSION);
    put_varint(&mut bytes, u64::from(w));
    put_varint(&mut bytes, u64::from(h));
    let flags = u8::from(padding.mode == PadMode::Replicate) | (u8::from(padding.align == PadAlign::BottomRight) << 1);
    bytes.push(flags);
    bytes.extend_from_slice(&encoded.bitstream);
    Ok(EncodedFile {
        bytes,
        encoded,
        padded: dims,
    })
}

/// What [`decode_image`] read besides the image.
#[derive(Debug, Clone)]
pub struct DecodedFile {
    /// The image at its own size.
    pub image: RgbImage,
    /// The codec stream's header (quality, padded size, codec digest).
    pub header: Header,
    /// The padding the encoder used.
    pub padding: Padding,
    /// Time in ONNX Runtime.
    pub network: std::time::Duration,
    /// Time in entropy decoding.
    pub entropy: std::time::Duration,
}

/// Decodes a file written by [`encode_image`] with the codec that wrote it. A file of
/// another codec, a damaged or a truncated file is an error that says so.
pub fn decode_image(codec: &LearnedCodec, data: &[u8]) -> Result<DecodedFile, CodecError> {
    use crate::Codec;
    if data.len() < 5 || data[..4] != MAGIC {
        return Err(bad("not an icmbench bitstream file (no `ICMB` at its start)"));
    }
    if data[4] != VERSION {
        return Err(bad(format!(
            "file version {} is not supported (this icmbench reads {VERSION})",
            data[4]
        )));
    }
    let mut pos = 5;
    let w = get_size(data, &mut pos, "width")?;
    let h = get_size(data, &mut pos, "height")?;
    let flags = *data.get(pos).ok_or_else(|| bad("the file ends inside its header (`padding`)"))?;
    pos += 1;
    if flags > 3 {
        return Err(bad(format!("unknown padding flags {flags:#x}")));
    }
    let padding = Padding {
        mode: if flags & 1 == 1 { PadMode::Replicate } else { PadMode::Zero },
        align: if flags & 2 == 2 { PadAlign::BottomRight } else { PadAlign::Center },
    };
    let stream = &data[pos..];
    let header = Header::parse(stream).map_err(bad)?.0;
    if u64::from(w) * u64::from(h) > super::MAX_DECODE_PIXELS || w > 1 << 20 || h > 1 << 20 {
        return Err(bad(format!(
            "the file says {w}x{h}: more than the {} megapixels (or 2^20 pixels a side) a stream may hold",
            super::MAX_DECODE_PIXELS >> 20
        )));
    }
    let m = codec.size_multiple();
    if w == 0 || h == 0 || (round_up(w, m), round_up(h, m)) != (header.width, header.height) {
        return Err(bad(format!(
            "the file says {w}x{h}, which this codec pads to {}x{}, but its stream is {}x{}",
            round_up(w, m),
            round_up(h, m),
            header.width,
            header.height
        )));
    }
    let decoded = codec.decode_detailed(stream)?;
    let (left, top) = placement(w, h, m, &padding);
    Ok(DecodedFile {
        image: crop(super::to_rgb8(&decoded), left, top, w, h),
        header,
        padding,
        network: decoded.network,
        entropy: decoded.entropy,
    })
}
