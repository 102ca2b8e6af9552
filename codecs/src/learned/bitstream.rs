//! The learned-codec bitstream: a small versioned header, then one rANS stream.
//!
//! | bytes | field |
//! |---|---|
//! | 2 | magic `IL` |
//! | 1 | version (1) |
//! | 1 | family: 0 factorized, 1 scale hyperprior, 2 mean-scale hyperprior |
//! | varint | quality number of the point (zig-zag LEB128) |
//! | varint | padded width (LEB128) |
//! | varint | padded height (LEB128) |
//! | 4 | FNV-1a checksum of the coded symbols and their table indexes (little endian) |
//! | rest | the rANS stream (32-bit little-endian words) |
//!
//! Latent shapes follow from the padded size and the family. The header counts in the
//! rate like every other byte.

use super::contract::Family;

/// Bitstream version written and read.
pub const VERSION: u8 = 1;
const MAGIC: [u8; 2] = *b"IL";

/// The parsed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Model family.
    pub family: Family,
    /// Quality number of the point that wrote it.
    pub quality: i64,
    /// Padded width.
    pub width: u32,
    /// Padded height.
    pub height: u32,
    /// Checksum of symbols and table indexes.
    pub checksum: u32,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn get_varint(data: &[u8], pos: &mut usize, field: &str) -> Result<u64, String> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos).ok_or_else(|| format!("bitstream header ends inside `{field}`"))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(format!("bitstream header: `{field}` is longer than 64 bits"))
}

impl Header {
    /// Serialises the header.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend(MAGIC);
        out.push(VERSION);
        out.push(self.family.code());
        put_varint(&mut out, ((self.quality << 1) ^ (self.quality >> 63)) as u64);
        put_varint(&mut out, u64::from(self.width));
        put_varint(&mut out, u64::from(self.height));
        out.extend(self.checksum.to_le_bytes());
        out
    }

    /// Parses a header; returns it and the payload after it.
    pub fn parse(data: &[u8]) -> Result<(Self, &[u8]), String> {
        if data.len() < 4 || data[..2] != MAGIC {
            return Err("not an icmbench learned-codec bitstream (bad magic)".into());
        }
        if data[2] != VERSION {
            return Err(format!(
                "bitstream version {} is not supported (this icmbench reads {VERSION})",
                data[2]
            ));
        }
        let family = Family::from_code(data[3]).ok_or_else(|| format!("unknown family code {}", data[3]))?;
        let mut pos = 4;
        let q = get_varint(data, &mut pos, "quality")?;
        let quality = ((q >> 1) as i64) ^ -((q & 1) as i64);
        let width = u32::try_from(get_varint(data, &mut pos, "width")?).map_err(|_| "width too large".to_string())?;
        let height = u32::try_from(get_varint(data, &mut pos, "height")?).map_err(|_| "height too large".to_string())?;
        let sum = data.get(pos..pos + 4).ok_or("bitstream header ends inside `checksum`")?;
        let checksum = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
        Ok((
            Self {
                family,
                quality,
                width,
                height,
                checksum,
            },
            &data[pos + 4..],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let h = Header {
            family: Family::MeanScaleHyperprior,
            quality: -3,
            width: 768,
            height: 512,
            checksum: 0xdead_beef,
        };
        let mut bytes = h.to_bytes();
        assert_eq!(bytes.len(), 2 + 1 + 1 + 1 + 2 + 2 + 4);
        bytes.extend([1, 2, 3, 4]);
        let (back, rest) = Header::parse(&bytes).unwrap();
        assert_eq!(back, h);
        assert_eq!(rest, &[1, 2, 3, 4]);
        assert!(Header::parse(b"XX\x01\x00").unwrap_err().contains("magic"));
        assert!(Header::parse(b"IL\x09\x00").unwrap_err().contains("version 9"));
        assert!(Header::parse(&bytes[..8]).unwrap_err().contains("ends inside"));
    }
}
