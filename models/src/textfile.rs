//! Reading text and JSON inputs with a size cap, so that a huge or endless file
//! (`/dev/zero`, a runaway log given by mistake) is an error naming the file and the cap
//! instead of reading until allocation fails.
//!
//! One place for every crate of the workspace that reads a file given by a user or found
//! in a results folder: configs, curves, CompressAI result files, `run.json`, contracts,
//! ground truths, detections and image files. Caps:
//!
//! | constant | cap | for |
//! |---|---|---|
//! | [`CONFIG_CAP`] | 1 MiB | run configs, and the config copy and `run.json` a report embeds |
//! | [`TEXT_CAP`] | 64 MiB | curves, CompressAI JSON, `codec.json`, detector and restorer contracts |
//! | [`DATA_JSON_CAP`] | 1 GiB | COCO ground truths and detection results |
//!
//! (JPEG inputs are read through [`read_bytes_capped`] with a cap from `max_pixels`.)
//!
//! [`read_text_capped`] reads any file (a pipe too) but never more than `cap + 1` bytes;
//! [`check_file_capped`] is for readers that stream the file by path themselves (hotcoco):
//! it asks for a regular file no larger than the cap.

use std::io::Read;
use std::path::Path;

/// Cap on run configs, and on the config copy and `run.json` that reports embed: a config is
/// a few kilobytes.
pub const CONFIG_CAP: u64 = 1 << 20;
/// Cap of other text files: curves, CompressAI result JSON, `codec.json`, contracts.
pub const TEXT_CAP: u64 = 64 << 20;
/// Cap of COCO JSON files: ground truths and detection results.
pub const DATA_JSON_CAP: u64 = 1 << 30;

/// Errors of [`read_text_capped`] and friends; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TextFileError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is larger than the cap.
    #[error("{path}: larger than {} (the limit on files read as text or JSON); is this the right file?", fmt_size(*cap))]
    TooLarge {
        /// The file.
        path: String,
        /// The cap, bytes.
        cap: u64,
    },
    /// The file is not a regular file (a device, a pipe, a folder) where one is needed.
    #[error("{path}: not a regular file ({kind})")]
    NotRegular {
        /// The file.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// The file is not UTF-8 text.
    #[error("{path}: not UTF-8 text (invalid byte at offset {offset})")]
    NotText {
        /// The file.
        path: String,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
}

/// A byte count for messages: `64 MiB`, `1 GiB`, `1.5 KiB`, `12 bytes`.
pub fn fmt_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let v = bytes as f64 / size as f64;
            return if v.fract() == 0.0 {
                format!("{v:.0} {unit}")
            } else {
                format!("{v:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> TextFileError + '_ {
    move |source| TextFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn kind_of(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a folder"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a pipe"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Reads at most `cap` bytes of `path`: larger files (and endless ones, such as
/// `/dev/zero`) are [`TextFileError::TooLarge`] after reading `cap + 1` bytes at most.
/// Folders are refused; pipes are read (bounded).
pub fn read_bytes_capped(path: &Path, cap: u64) -> Result<Vec<u8>, TextFileError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let meta = file.metadata().map_err(io_err(path))?;
    if meta.is_dir() {
        return Err(TextFileError::NotRegular {
            path: path.display().to_string(),
            kind: "a folder",
        });
    }
    let too_large = || TextFileError::TooLarge {
        path: path.display().to_string(),
        cap,
    };
    if meta.is_file() && meta.len() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(if meta.is_file() { meta.len() as usize } else { 0 });
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes).map_err(io_err(path))?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Reads a UTF-8 text file of at most `cap` bytes (see [`read_bytes_capped`]). A leading
/// UTF-8 byte-order mark (Windows editors write one) is dropped.
pub fn read_text_capped(path: &Path, cap: u64) -> Result<String, TextFileError> {
    let mut bytes = read_bytes_capped(path, cap)?;
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| TextFileError::NotText {
        path: path.display().to_string(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// For readers that open the file by path themselves: checks that `path` is a regular
/// file (after following links) of at most `cap` bytes, and returns its size.
pub fn check_file_capped(path: &Path, cap: u64) -> Result<u64, TextFileError> {
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    if !meta.is_file() {
        return Err(TextFileError::NotRegular {
            path: path.display().to_string(),
            kind: kind_of(meta.file_type()),
        });
    }
    if meta.len() > cap {
        return Err(TextFileError::TooLarge {
            path: path.display().to_string(),
            cap,
        });
    }
    Ok(meta.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary folder (models has no tempfile).
    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("icmbench-textfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn caps_name_the_file_and_the_limit() {
        let dir = scratch("caps");
        let p = dir.join("big.json");
        std::fs::write(&p, vec![b'x'; 2048]).unwrap();
        let e = read_text_capped(&p, 1024).unwrap_err().to_string();
        assert!(e.contains("big.json") && e.contains("larger than 1 KiB"), "{e}");
        let e = check_file_capped(&p, 1024).unwrap_err().to_string();
        assert!(e.contains("big.json") && e.contains("1 KiB"), "{e}");
        assert_eq!(read_text_capped(&p, 2048).unwrap().len(), 2048);
        assert_eq!(check_file_capped(&p, 2048).unwrap(), 2048);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn endless_devices_stop_at_the_cap() {
        // /dev/zero has no size: the read stops at cap + 1 bytes.
        let e = read_text_capped(Path::new("/dev/zero"), 1 << 20).unwrap_err().to_string();
        assert!(e.contains("/dev/zero") && e.contains("larger than 1 MiB"), "{e}");
        let e = check_file_capped(Path::new("/dev/zero"), DATA_JSON_CAP).unwrap_err().to_string();
        assert!(e.contains("/dev/zero: not a regular file (a character device)"), "{e}");
        let e = read_text_capped(&std::env::temp_dir(), TEXT_CAP).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");
    }

    #[test]
    fn bom_is_dropped_and_bad_utf8_named() {
        let dir = scratch("bom");
        let p = dir.join("bom.csv");
        std::fs::write(&p, b"\xEF\xBB\xBFrate,metric\n").unwrap();
        assert_eq!(read_text_capped(&p, TEXT_CAP).unwrap(), "rate,metric\n");
        std::fs::write(&p, b"ab\xFFc").unwrap();
        let e = read_text_capped(&p, TEXT_CAP).unwrap_err().to_string();
        assert!(e.contains("bom.csv: not UTF-8 text (invalid byte at offset 2)"), "{e}");
        assert_eq!(fmt_size(TEXT_CAP), "64 MiB");
        assert_eq!(fmt_size(DATA_JSON_CAP), "1 GiB");
        assert_eq!(fmt_size(12), "12 bytes");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
