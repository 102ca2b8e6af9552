//! The learned-codec bitstream: a small versioned header, then one rANS stream.
//!
//! | bytes | field |
//! |---|---|
//! | 2 | magic `IL` |
//! | 1 | version (2; version 1 streams are still read) |
//! | 1 | family: 0 factorized, 1 scale hyperprior, 2 mean-scale hyperprior, 3 autoregressive, 4 checkerboard, 5 channel-conditional |
//! | varint | quality number of the point (zig-zag LEB128) |
//! | varint | padded width (LEB128) |
//! | varint | padded height (LEB128) |
//! | 8 | the codec: the first 8 bytes of the BLAKE3 digest of its `codec.json` and graphs (version 2) |
//! | 4 | FNV-1a checksum of the coded symbols and their table indexes (little endian) |
//! | 4 | FNV-1a checksum of the bits of every reconstructed latent `ŷ` (version 2) |
//! | rest | the rANS stream (32-bit little-endian words) |
//!
//! Latent shapes follow from the padded size and the family. The header counts in the
//! rate like every other byte. The latent checksum makes a decoder whose entropy
//! parameters differ from the encoder's by even one bit (another device, another runtime)
//! refuse the stream instead of returning a slightly different image.

use super::contract::Family;

/// Bitstream version written (1 and 2 are read).
pub const VERSION: u8 = 2;
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
    /// The codec that wrote it (first 8 bytes of its digest; `None` in version 1).
    pub codec: Option<[u8; 8]>,
    /// Checksum of the reconstructed latents' bits (`None` in version 1).
    pub latents: Option<u32>,
}

/// Appends `v` as LEB128.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
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

/// Reads a LEB128 value at `pos` (at most 64 bits); errors name `field`.
pub(crate) fn get_varint(data: &[u8], pos: &mut usize, field: &str) -> Result<u64, String> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos).ok_or_else(|| format!("bitstream header ends inside `{field}`"))?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return Err(format!("bitstream header: `{field}` is longer than 64 bits"));
        }
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
        let v2 = self.codec.is_some() || self.latents.is_some();
        out.push(if v2 { VERSION } else { 1 });
        out.push(self.family.code());
        put_varint(&mut out, ((self.quality << 1) ^ (self.quality >> 63)) as u64);
        put_varint(&mut out, u64::from(self.width));
        put_varint(&mut out, u64::from(self.height));
        if v2 {
            out.extend(self.codec.unwrap_or_default());
        }
        out.extend(self.checksum.to_le_bytes());
        if v2 {
            out.extend(self.latents.unwrap_or_default().to_le_bytes());
        }
        out
    }

    /// Parses a header; returns it and the payload after it.
    pub fn parse(data: &[u8]) -> Result<(Self, &[u8]), String> {
        if data.len() < 4 || data[..2] != MAGIC {
            return Err("not an icmbench learned-codec bitstream (bad magic)".into());
        }
        let version = data[2];
        if !(1..=VERSION).contains(&version) {
            return Err(format!(
                "bitstream version {version} is not supported (this icmbench reads 1 to {VERSION})"
            ));
        }
        let family = Family::from_code(data[3]).ok_or_else(|| format!("unknown family code {}", data[3]))?;
        if version < 2 && family.has_context() {
            return Err(format!(
                "a version-1 bitstream cannot hold the {} family (a corrupt or forged header)",
                family.name()
            ));
        }
        let mut pos = 4;
        let q = get_varint(data, &mut pos, "quality")?;
        let quality = ((q >> 1) as i64) ^ -((q & 1) as i64);
        let width = u32::try_from(get_varint(data, &mut pos, "width")?).map_err(|_| "width too large".to_string())?;
        let height = u32::try_from(get_varint(data, &mut pos, "height")?).map_err(|_| "height too large".to_string())?;
        let mut take = |n: usize, field: &str| -> Result<&[u8], String> {
            let b = data
                .get(pos..pos + n)
                .ok_or_else(|| format!("bitstream header ends inside `{field}`"))?;
            pos += n;
            Ok(b)
        };
        let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let codec = if version >= 2 {
            let mut id = [0u8; 8];
            id.copy_from_slice(take(8, "codec")?);
            Some(id)
        } else {
            None
        };
        let checksum = word(take(4, "checksum")?);
        let latents = if version >= 2 {
            Some(word(take(4, "latent checksum")?))
        } else {
            None
        };
        Ok((
            Self {
                family,
                quality,
                width,
                height,
                checksum,
                codec,
                latents,
            },
            &data[pos..],
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
            codec: Some(*b"abcdefgh"),
            latents: Some(7),
        };
        let mut bytes = h.to_bytes();
        assert_eq!(bytes.len(), 2 + 1 + 1 + 1 + 2 + 2 + 8 + 4 + 4);
        bytes.extend([1, 2, 3, 4]);
        let (back, rest) = Header::parse(&bytes).unwrap();
        assert_eq!(back, h);
        assert_eq!(rest, &[1, 2, 3, 4]);
        assert!(Header::parse(b"XX\x01\x00").unwrap_err().contains("magic"));
        assert!(Header::parse(b"IL\x09\x00").unwrap_err().contains("version 9"));
        assert!(Header::parse(&bytes[..8]).unwrap_err().contains("ends inside"));
        assert!(Header::parse(&bytes[..20]).unwrap_err().contains("ends inside `checksum`"));
        // A version-1 header (no codec, no latent checksum) is still read.
        let v1 = Header {
            codec: None,
            latents: None,
            ..h
        };
        let bytes = v1.to_bytes();
        assert_eq!(bytes[2], 1);
        assert_eq!(Header::parse(&bytes).unwrap().0, v1);
        // A version-1 header cannot carry a context family (those streams are version 2).
        let forged = Header {
            family: Family::Autoregressive,
            ..v1
        }
        .to_bytes();
        assert!(Header::parse(&forged).unwrap_err().contains("version-1 bitstream cannot hold"));
        // A varint longer than 64 bits.
        let mut long = b"IL\x02\x00".to_vec();
        long.extend([0xff; 9]);
        long.push(0x02);
        assert!(Header::parse(&long).unwrap_err().contains("longer than 64 bits"));
    }
}
