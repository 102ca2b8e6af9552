//! Dataset inputs for icmbench: image folders scanned, and each image read one way
//! (decoded, converted to 8-bit RGB, preprocessed, hashed); the low-level (LL-ICM) samples
//! built from them; and the `f64` plane filters shared with the metrics.
//!
//! | item | what it does |
//! |---|---|
//! | [`scan_folder`] | lists the images under a folder (recursive, sorted, by extension; symlink loops skipped with a warning) |
//! | [`load_image`] | reads one image, converts it to 8-bit RGB and records how, applies [`Preprocess`] |
//! | [`decode_image`] | decodes one file after checking its size from the header ([`DEFAULT_MAX_PIXELS`]); JPEG through libjpeg-turbo, whose warnings are errors |
//! | [`to_rgb8`] | the one place where grey, alpha and 16-bit inputs become 8-bit RGB |
//! | [`preprocess`] | the optional size limit applied after loading (`max_side`: downscale or centre crop, [`Fit`]), recorded in [`LoadedImage`] |
//! | [`id_part`] | one part of an image id from a file or folder name, non-UTF-8 bytes escaped so that distinct names give distinct ids |
//! | [`content_hash`] | the pixel-content hash that keys cached results ([`combine_hashes`] for inputs of several parts) |
//! | [`samples_dir`] | the bundled default photos (`datasets/samples/`, see its `PROVENANCE.md`) |
//! | [`paired`] | paired low-level datasets (degraded input, ideal target) matched by file name |
//! | [`planes`] | `f64` planes and their filters, once for the workspace: RGB split/merge, correlation with edge rules, Gaussian kernels, MATLAB `imresize` |
//! | [`simd`] | run-time choice of AVX-512 / AVX2 / portable builds of a numeric kernel ([`multiversion!`]) and its multiply–add |
//! | [`degrade`] | deterministic synthetic degradations (noise, blur, downscale, low light, haze, rain, JPEG) |
//! | [`lowlevel`] | LL-ICM samples: (degraded input, ideal target) from paired folders or a synthetic degradation |

pub mod degrade;
pub mod lowlevel;
pub mod paired;
pub mod planes;
pub mod simd;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, ImageReader, RgbImage, imageops::FilterType};
use serde::{Deserialize, Serialize};

/// Default largest image, in pixels (width × height): 64 MP (64 000 000). Checked from the
/// file header before anything is decoded; see [`Preprocess::max_pixels`].
pub const DEFAULT_MAX_PIXELS: u64 = 64_000_000;

/// Largest JPEG file read into memory, in bytes per allowed pixel (`max_pixels`; a JPEG is
/// decoded from memory): 4, so 256 MB at [`DEFAULT_MAX_PIXELS`]. Pure noise at quality 100
/// with 4:4:4 takes 3.6 bytes per pixel; photos take well under 1.
pub const JPEG_BYTES_PER_PIXEL: u64 = 4;

/// File extensions (lower case) that [`scan_folder`] picks up.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp", "ppm", "pgm", "pnm", "tif", "tiff", "webp"];

/// Errors from scanning or loading a dataset; each names the file or folder.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The dataset folder does not exist or is not a folder.
    #[error("dataset folder {path}: {reason}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Walking the folder failed.
    #[error("scanning {path}: {source}")]
    Walk {
        /// The folder being scanned.
        path: PathBuf,
        /// The walkdir error.
        source: walkdir::Error,
    },
    /// The folder holds no image with a known extension.
    #[error("dataset folder {path} holds no images (extensions: {})", IMAGE_EXTENSIONS.join(", "))]
    Empty {
        /// The folder.
        path: PathBuf,
    },
    /// A synthetic degradation could not be applied (bad parameter).
    #[error("degrading {path}: {message}")]
    Degrade {
        /// The clean image.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An image could not be read or decoded.
    #[error("cannot read image {path}: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: image::ImageError,
    },
    /// libjpeg-turbo refused a JPEG file, or warned about it (corrupt or truncated data):
    /// its warnings count as errors.
    #[error("cannot decode JPEG {path}: {message} (libjpeg-turbo; its warnings count as errors)")]
    Jpeg {
        /// The file.
        path: PathBuf,
        /// libjpeg-turbo's message, e.g. `Premature end of JPEG file`.
        message: String,
    },
    /// The image's header declares more pixels than allowed.
    #[error(
        "image {path}: {width}x{height} = {} exceeds the limit of {} (max_pixels)",
        pixel_count(width.saturating_mul(*height), true),
        pixel_count(*max_pixels, false)
    )]
    TooManyPixels {
        /// The file.
        path: PathBuf,
        /// Width from the header.
        width: u64,
        /// Height from the header.
        height: u64,
        /// The limit, in pixels.
        max_pixels: u64,
    },
    /// A file is larger than what is read into memory for it.
    #[error("file {path} is larger than the cap of {cap} bytes ({what})")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The cap, in bytes.
        cap: u64,
        /// Where the cap comes from.
        what: String,
    },
    /// Two files of a folder map to the same image id (a name with invalid UTF-8 whose
    /// escaped form equals another file's name).
    #[error("{a} and {b} both have the image id `{id}`; rename one of them")]
    DuplicateId {
        /// The id.
        id: String,
        /// One file.
        a: PathBuf,
        /// The other.
        b: PathBuf,
    },
}

/// `n` pixels for messages: in megapixels from 0.1 MP (`rounded` to one decimal, else as
/// exact as needed: `64 MP`), in pixels below.
fn pixel_count(n: u64, rounded: bool) -> String {
    let mp = n as f64 / 1e6;
    match (n >= 100_000, rounded) {
        (true, true) => format!("{mp:.1} MP"),
        (true, false) => format!("{mp} MP"),
        (false, _) => format!("{n} pixels"),
    }
}

/// One image file of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// Path relative to the dataset root, with `/` separators: the image id in results. A
    /// path part that is not valid UTF-8 is written with its invalid bytes (and any `%`) as
    /// `%XX`, so that names differing only in such bytes keep distinct ids (see [`id_part`]).
    pub id: String,
    /// Full path of the file.
    pub path: PathBuf,
}

/// How an image larger than `max_side` is brought down to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fit {
    /// Resize (Lanczos3, aspect ratio kept) so the longer side equals `max_side`.
    #[default]
    Downscale,
    /// Cut the central `max_side`×`max_side` window (each side clipped to at most `max_side`).
    CenterCrop,
}

/// Preprocessing applied to every image after loading, and the size limit checked before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preprocess {
    /// Largest allowed width or height; `None` keeps the original size.
    pub max_side: Option<u32>,
    /// How to enforce `max_side`.
    pub fit: Fit,
    /// Largest image, in pixels (width × height) as the file's header declares it, checked
    /// before decoding: a larger image is an error ([`DatasetError::TooManyPixels`]).
    /// Default [`DEFAULT_MAX_PIXELS`].
    pub max_pixels: u64,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            max_side: None,
            fit: Fit::default(),
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// An image ready for coding: 8-bit RGB plus the record of what was done to it.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    /// Image id (relative path).
    pub id: String,
    /// The file it came from.
    pub path: PathBuf,
    /// The pixels after conversion and preprocessing.
    pub image: RgbImage,
    /// The colour conversion applied, e.g. `rgb8`, `l8->rgb8`, `rgba16->rgb8 (alpha dropped, 16->8 bit rounded)`.
    pub conversion: String,
    /// The preprocessing applied, e.g. `none` or `downscale 1000x872->768x670 (lanczos3)`.
    pub preprocess: String,
    /// [`content_hash`] of `image`.
    pub hash: String,
}

/// Lists the images under `root`, recursively, in a deterministic order (sorted by relative
/// path, byte-wise), keeping files whose extension is in [`IMAGE_EXTENSIONS`].
///
/// Symbolic links are followed. A symlink loop is skipped with a warning (what it leads to
/// is scanned already). A dangling symlink whose name has an image extension is listed
/// like any image, so that it becomes a failed row when loaded (its error says where the
/// link points); one without such an extension is skipped with a warning. Other errors
/// while walking (a folder that cannot be read) stop the scan.
pub fn scan_folder(root: &Path) -> Result<Vec<ImageEntry>, DatasetError> {
    if !root.is_dir() {
        return Err(DatasetError::Folder {
            path: root.to_path_buf(),
            reason: if root.exists() {
                "not a folder".into()
            } else {
                "does not exist".into()
            },
        });
    }
    let mut entries = Vec::new();
    for item in walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name() {
        let path = match item {
            Ok(item) if item.file_type().is_file() => item.into_path(),
            Ok(_) => continue,
            Err(error) => match skipped_link(&error) {
                Some(Link::Loop { path, target }) => {
                    tracing::warn!("skipping symlink loop {} (it leads back to {})", path.display(), target.display());
                    continue;
                }
                Some(Link::Dangling { path }) => {
                    if !has_image_extension(&path) {
                        tracing::warn!("skipping dangling symlink {}", path.display());
                        continue;
                    }
                    tracing::warn!("dangling symlink {}: listed, it will fail to load", path.display());
                    path
                }
                None => {
                    return Err(DatasetError::Walk {
                        path: root.to_path_buf(),
                        source: error,
                    });
                }
            },
        };
        if !has_image_extension(&path) {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let id = rel.components().map(|c| id_part(c.as_os_str())).collect::<Vec<_>>().join("/");
        entries.push(ImageEntry { id, path });
    }
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = entries.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(DatasetError::DuplicateId {
            id: w[0].id.clone(),
            a: w[0].path.clone(),
            b: w[1].path.clone(),
        });
    }
    if entries.is_empty() {
        return Err(DatasetError::Empty { path: root.to_path_buf() });
    }
    Ok(entries)
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A symbolic link that the walk cannot follow.
enum Link {
    /// A link to one of its own ancestors.
    Loop { path: PathBuf, target: PathBuf },
    /// A link to nothing.
    Dangling { path: PathBuf },
}

fn skipped_link(error: &walkdir::Error) -> Option<Link> {
    let path = error.path()?.to_path_buf();
    if let Some(target) = error.loop_ancestor() {
        return Some(Link::Loop {
            target: target.to_path_buf(),
            path,
        });
    }
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    let dangling = is_link && std::fs::metadata(&path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    dangling.then_some(Link::Dangling { path })
}

/// One part of an image id: the file or folder name itself when it is valid UTF-8;
/// otherwise its valid stretches with `%` written `%25`, and every invalid byte as `%XX`
/// (upper-case hex), so that distinct names give distinct parts. (A valid name that is
/// literally another one's escaped form, e.g. `a%FF.png` beside `a\xFF.png`, gives a
/// [`DatasetError::DuplicateId`] when the folder is scanned.)
pub fn id_part(name: &OsStr) -> String {
    if let Some(s) = name.to_str() {
        return s.to_string();
    }
    let mut out = String::new();
    for chunk in name.as_encoded_bytes().utf8_chunks() {
        out.push_str(&chunk.valid().replace('%', "%25"));
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Converts any decoded image to 8-bit RGB and says what was done.
///
/// Grey becomes R = G = B; alpha is dropped (as PIL's `convert("RGB")`, which CompressAI
/// uses); 16-bit and float samples are scaled to 8 bit with rounding (`round(v / 257)`).
pub fn to_rgb8(img: DynamicImage) -> (RgbImage, String) {
    let source = match &img {
        DynamicImage::ImageLuma8(_) => "l8",
        DynamicImage::ImageLumaA8(_) => "la8",
        DynamicImage::ImageRgb8(_) => "rgb8",
        DynamicImage::ImageRgba8(_) => "rgba8",
        DynamicImage::ImageLuma16(_) => "l16",
        DynamicImage::ImageLumaA16(_) => "la16",
        DynamicImage::ImageRgb16(_) => "rgb16",
        DynamicImage::ImageRgba16(_) => "rgba16",
        DynamicImage::ImageRgb32F(_) => "rgb32f",
        DynamicImage::ImageRgba32F(_) => "rgba32f",
        _ => "other",
    };
    if let DynamicImage::ImageRgb8(rgb) = img {
        return (rgb, "rgb8".to_string());
    }
    let color = img.color();
    let mut notes = Vec::new();
    if color.has_alpha() {
        notes.push("alpha dropped");
    }
    if color.bytes_per_pixel() / color.channel_count() > 1 {
        notes.push("scaled to 8 bit with rounding");
    }
    let conversion = if notes.is_empty() {
        format!("{source}->rgb8")
    } else {
        format!("{source}->rgb8 ({})", notes.join(", "))
    };
    (img.to_rgb8(), conversion)
}

/// Applies [`Preprocess`] and returns the new image with a description of what was done.
pub fn preprocess(img: RgbImage, p: &Preprocess) -> (RgbImage, String) {
    let (w, h) = img.dimensions();
    let Some(max_side) = p.max_side else {
        return (img, "none".to_string());
    };
    if w <= max_side && h <= max_side {
        return (img, "none".to_string());
    }
    match p.fit {
        Fit::Downscale => {
            let scale = f64::from(max_side) / f64::from(w.max(h));
            let nw = ((f64::from(w) * scale).round() as u32).clamp(1, max_side);
            let nh = ((f64::from(h) * scale).round() as u32).clamp(1, max_side);
            let out = image::imageops::resize(&img, nw, nh, FilterType::Lanczos3);
            (out, format!("downscale {w}x{h}->{nw}x{nh} (lanczos3)"))
        }
        Fit::CenterCrop => {
            let nw = w.min(max_side);
            let nh = h.min(max_side);
            let x = (w - nw) / 2;
            let y = (h - nh) / 2;
            let out = image::imageops::crop_imm(&img, x, y, nw, nh).to_image();
            (out, format!("center-crop {w}x{h}->{nw}x{nh} at ({x},{y})"))
        }
    }
}

/// Reads, converts and preprocesses one image ([`decode_image`], [`to_rgb8`],
/// [`preprocess`]).
pub fn load_image(entry: &ImageEntry, p: &Preprocess) -> Result<LoadedImage, DatasetError> {
    let decoded = decode_image(&entry.path, p.max_pixels)?;
    let (rgb, conversion) = to_rgb8(decoded);
    let (image, preprocess) = preprocess(rgb, p);
    let hash = content_hash(&image);
    Ok(LoadedImage {
        id: entry.id.clone(),
        path: entry.path.clone(),
        image,
        conversion,
        preprocess,
        hash,
    })
}

/// Decodes one image file, format guessed from its first bytes (else its extension).
///
/// The width and height are read from the header first, and an image of more than
/// `max_pixels` pixels is refused before anything is decoded. JPEG files are decoded by
/// libjpeg-turbo (as the `jpeg` codec and PIL do; grey JPEGs stay grey, CMYK/YCCK ones are
/// checked by libjpeg-turbo and converted by the `image` crate as before), and any warning
/// libjpeg-turbo gives (truncated or corrupt data, extraneous bytes) makes the file an
/// error rather than an image with grey fill. Other formats use the `image` crate.
pub fn decode_image(path: &Path, max_pixels: u64) -> Result<DynamicImage, DatasetError> {
    let io = |e: std::io::Error| DatasetError::Decode {
        path: path.to_path_buf(),
        source: image::ImageError::IoError(explain_missing(path, e)),
    };
    let decode = |source| DatasetError::Decode {
        path: path.to_path_buf(),
        source,
    };
    let reader = ImageReader::open(path).map_err(io)?.with_guessed_format().map_err(io)?;
    if reader.format() == Some(ImageFormat::Jpeg) {
        return decode_jpeg(path, max_pixels);
    }
    let (w, h) = reader.into_dimensions().map_err(decode)?;
    check_pixels(path, u64::from(w), u64::from(h), max_pixels)?;
    ImageReader::open(path)
        .map_err(io)?
        .with_guessed_format()
        .map_err(io)?
        .decode()
        .map_err(decode)
}

/// Adds where a dangling symlink points to a "not found" error.
fn explain_missing(path: &Path, e: std::io::Error) -> std::io::Error {
    match std::fs::read_link(path) {
        Ok(target) if e.kind() == std::io::ErrorKind::NotFound => {
            std::io::Error::new(e.kind(), format!("{e}: dangling symbolic link to {}", target.display()))
        }
        _ => e,
    }
}

fn check_pixels(path: &Path, width: u64, height: u64, max_pixels: u64) -> Result<(), DatasetError> {
    if width.saturating_mul(height) > max_pixels {
        return Err(DatasetError::TooManyPixels {
            path: path.to_path_buf(),
            width,
            height,
            max_pixels,
        });
    }
    Ok(())
}

/// Reads a whole file, refusing one of more than `cap` bytes (without reading past it),
/// through the workspace's one capped reader ([`icmbench_models::textfile`]).
fn read_capped(path: &Path, cap: u64, what: impl FnOnce() -> String) -> Result<Vec<u8>, DatasetError> {
    use icmbench_models::textfile::{TextFileError, read_bytes_capped};
    read_bytes_capped(path, cap).map_err(|e| match e {
        TextFileError::TooLarge { .. } => DatasetError::FileTooLarge {
            path: path.to_path_buf(),
            cap,
            what: what(),
        },
        TextFileError::Io { source, .. } => DatasetError::Decode {
            path: path.to_path_buf(),
            source: image::ImageError::IoError(explain_missing(path, source)),
        },
        other => DatasetError::Decode {
            path: path.to_path_buf(),
            source: image::ImageError::IoError(std::io::Error::other(other.to_string())),
        },
    })
}

fn decode_jpeg(path: &Path, max_pixels: u64) -> Result<DynamicImage, DatasetError> {
    use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat};
    let cap = max_pixels.saturating_mul(JPEG_BYTES_PER_PIXEL).max(1 << 20);
    let bytes = read_capped(path, cap, || {
        format!("for a JPEG: {JPEG_BYTES_PER_PIXEL} bytes per pixel of max_pixels = {max_pixels}, at least 1 MiB")
    })?;
    let jpeg = |e: turbojpeg::Error| DatasetError::Jpeg {
        path: path.to_path_buf(),
        message: match e {
            turbojpeg::Error::TurboJpegError(m) => m.trim().to_string(),
            other => other.to_string(),
        },
    };
    let mut d = Decompressor::new().map_err(jpeg)?;
    let header = d.read_header(&bytes).map_err(jpeg)?;
    check_pixels(path, header.width as u64, header.height as u64, max_pixels)?;
    let format = match header.colorspace {
        Colorspace::Gray => PixelFormat::GRAY,
        Colorspace::CMYK | Colorspace::YCCK => PixelFormat::CMYK,
        _ => PixelFormat::RGB,
    };
    let mut out = Image {
        pixels: vec![0u8; header.width * header.height * format.size()],
        width: header.width,
        pitch: header.width * format.size(),
        height: header.height,
        format,
    };
    d.decompress(&bytes, out.as_deref_mut()).map_err(jpeg)?;
    let (w, h) = (header.width as u32, header.height as u32);
    let built = match format {
        PixelFormat::GRAY => image::GrayImage::from_raw(w, h, out.pixels).map(DynamicImage::ImageLuma8),
        PixelFormat::RGB => RgbImage::from_raw(w, h, out.pixels).map(DynamicImage::ImageRgb8),
        // CMYK: libjpeg-turbo has checked the data; the colour conversion stays the
        // `image` crate's, as before.
        _ => {
            return image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).map_err(|source| DatasetError::Decode {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    built.ok_or_else(|| DatasetError::Jpeg {
        path: path.to_path_buf(),
        message: format!("decoded buffer does not match {w}x{h}"),
    })
}

/// BLAKE3 hash of the width, height and RGB samples, as 32 hex digits.
pub fn content_hash(img: &RgbImage) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&img.width().to_le_bytes());
    hasher.update(&img.height().to_le_bytes());
    hasher.update(img.as_raw());
    hasher.finalize().to_hex()[..32].to_string()
}

/// BLAKE3 of several hashes (or other strings) in order, as 32 hex digits: the key of
/// something made of several parts (a low-level pair, a pair and its restorer).
pub fn combine_hashes(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    h.finalize().to_hex()[..32].to_string()
}

/// The bundled default photos shipped in the repository (`datasets/samples/`): in the source
/// tree cargo runs in (tests and benches; build artefacts may be shared between clones),
/// else in the one this crate was built from.
pub fn samples_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .and_then(|d| Path::new(&d).ancestors().map(|p| p.join("datasets/samples")).find(|p| p.is_dir()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("samples"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, ImageBuffer, Luma, Rgb, Rgba, RgbaImage};

    #[test]
    fn scan_is_recursive_sorted_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/sub")).unwrap();
        let img = RgbImage::new(4, 4);
        for name in ["z.png", "a.PNG", "b/sub/c.bmp", "b/a.ppm"] {
            img.save(dir.path().join(name)).unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let ids: Vec<_> = scan_folder(dir.path()).unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["a.PNG", "b/a.ppm", "b/sub/c.bmp", "z.png"]);
    }

    #[test]
    fn every_listed_format_loads() {
        let dir = tempfile::tempdir().unwrap();
        let img = RgbImage::from_fn(9, 7, |x, y| Rgb([x as u8 * 20, y as u8 * 30, 100]));
        for ext in ["png", "jpg", "bmp", "ppm", "tiff", "webp"] {
            img.save(dir.path().join(format!("i.{ext}"))).unwrap();
        }
        let entries = scan_folder(dir.path()).unwrap();
        assert_eq!(entries.len(), 6);
        for e in &entries {
            let loaded = load_image(e, &Preprocess::default()).unwrap();
            assert_eq!(loaded.image.dimensions(), (9, 7), "{}", e.id);
            if !e.id.ends_with(".jpg") {
                assert_eq!(loaded.image, img, "{} is lossless", e.id);
            }
        }
    }

    #[test]
    fn empty_and_missing_folders_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = scan_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("holds no images"), "{err}");
        let err = scan_folder(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("does not exist"), "{err}");
    }

    #[test]
    fn conversions_are_recorded() {
        let grey = DynamicImage::ImageLuma8(GrayImage::from_pixel(2, 2, Luma([7])));
        let (rgb, conv) = to_rgb8(grey);
        assert_eq!(conv, "l8->rgb8");
        assert_eq!(rgb.get_pixel(0, 0).0, [7, 7, 7]);

        let rgba = DynamicImage::ImageRgba8(RgbaImage::from_pixel(2, 2, Rgba([1, 2, 3, 0])));
        let (rgb, conv) = to_rgb8(rgba);
        assert_eq!(conv, "rgba8->rgb8 (alpha dropped)");
        assert_eq!(rgb.get_pixel(1, 1).0, [1, 2, 3]);

        let deep: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_pixel(1, 1, Rgb([65535, 257 * 100 + 128, 0]));
        let (rgb, conv) = to_rgb8(DynamicImage::ImageRgb16(deep));
        assert_eq!(conv, "rgb16->rgb8 (scaled to 8 bit with rounding)");
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 100, 0]);
    }

    #[test]
    fn preprocess_downscale_and_crop() {
        let img = RgbImage::new(100, 50);
        let (out, how) = preprocess(
            img.clone(),
            &Preprocess {
                max_side: Some(40),
                fit: Fit::Downscale,
                ..Preprocess::default()
            },
        );
        assert_eq!(out.dimensions(), (40, 20));
        assert!(how.starts_with("downscale 100x50->40x20"), "{how}");
        let (out, how) = preprocess(
            img.clone(),
            &Preprocess {
                max_side: Some(40),
                fit: Fit::CenterCrop,
                ..Preprocess::default()
            },
        );
        assert_eq!(out.dimensions(), (40, 40));
        assert!(how.contains("at (30,5)"), "{how}");
        let (out, how) = preprocess(
            img,
            &Preprocess {
                max_side: Some(200),
                fit: Fit::CenterCrop,
                ..Preprocess::default()
            },
        );
        assert_eq!((out.dimensions(), how.as_str()), ((100, 50), "none"));
    }

    #[test]
    fn corrupt_file_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.png");
        std::fs::write(&path, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let entry = ImageEntry {
            id: "broken.png".into(),
            path: path.clone(),
        };
        let err = load_image(&entry, &Preprocess::default()).unwrap_err().to_string();
        assert!(err.contains("broken.png"), "{err}");
    }

    #[test]
    fn bundled_samples_are_real_photos() {
        let entries = scan_folder(&samples_dir()).unwrap();
        assert!(entries.len() >= 6, "{entries:?}");
        for e in &entries {
            let img = load_image(e, &Preprocess::default()).unwrap();
            assert_eq!(img.conversion, "rgb8");
            assert!(img.image.width() >= 300 && img.image.height() >= 300, "{}", e.id);
        }
    }

    /// A textured `w`×`h` image: busy enough that its JPEG scan is long.
    fn texture(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = x.wrapping_mul(2_654_435_761).wrapping_add(y.wrapping_mul(40_503)) >> 7;
            Rgb([(v & 0xff) as u8, ((x * 3 + y) & 0xff) as u8, ((v >> 8) as u8) / 2 + (y as u8) / 2])
        })
    }

    fn jpeg_bytes(img: &RgbImage, quality: i32) -> Vec<u8> {
        let mut c = turbojpeg::Compressor::new().unwrap();
        c.set_quality(quality).unwrap();
        let (w, h) = img.dimensions();
        let image = turbojpeg::Image {
            pixels: img.as_raw().as_slice(),
            width: w as usize,
            pitch: 3 * w as usize,
            height: h as usize,
            format: turbojpeg::PixelFormat::RGB,
        };
        c.compress_to_vec(image).unwrap()
    }

    fn entry_at(dir: &Path, name: &str, bytes: &[u8]) -> ImageEntry {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        ImageEntry { id: name.into(), path }
    }

    /// A valid 1-bit grey PNG, `w`×`h`, all black: a few KB on disk whatever its size.
    fn huge_png(path: &Path, w: u32, h: u32) {
        let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut enc = png::Encoder::new(file, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        let mut writer = enc.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; w.div_ceil(8) as usize];
        for _ in 0..h {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }

    #[test]
    fn too_many_pixels_are_refused_from_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.png");
        huge_png(&path, 12000, 12000);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < 300_000, "the test PNG is {size} bytes");
        let entry = ImageEntry {
            id: "huge.png".into(),
            path: path.clone(),
        };
        let err = load_image(&entry, &Preprocess::default()).unwrap_err();
        assert!(matches!(err, DatasetError::TooManyPixels { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("huge.png") && text.contains("12000x12000 = 144.0 MP exceeds the limit of 64 MP (max_pixels)"),
            "{text}"
        );
        // From the header alone: the same file cut after its header gives the same error,
        // not a decoding one.
        let bytes = std::fs::read(&path).unwrap();
        let cut = entry_at(dir.path(), "huge-cut.png", &bytes[..64]);
        let err = load_image(&cut, &Preprocess::default()).unwrap_err();
        assert!(matches!(err, DatasetError::TooManyPixels { .. }), "{err:?}");

        // A JPEG is read into memory only up to 4 bytes per allowed pixel (at least 1 MiB).
        let mut padded = jpeg_bytes(&texture(10, 10), 90);
        padded.resize(padded.len() + (1 << 20), 0);
        let big = entry_at(dir.path(), "padded.jpg", &padded);
        let err = load_image(
            &big,
            &Preprocess {
                max_pixels: 1000,
                ..Preprocess::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("padded.jpg") && err.contains("larger than the cap of 1048576 bytes"),
            "{err}"
        );

        // The limit is inclusive, configurable, and applies to JPEG (libjpeg-turbo) too.
        let small = |max_pixels| Preprocess {
            max_pixels,
            ..Preprocess::default()
        };
        let png = dir.path().join("p.png");
        RgbImage::new(10, 10).save(&png).unwrap();
        let png = ImageEntry {
            id: "p.png".into(),
            path: png,
        };
        let jpg = entry_at(dir.path(), "j.jpg", &jpeg_bytes(&texture(10, 10), 90));
        for e in [&png, &jpg] {
            assert!(load_image(e, &small(100)).is_ok(), "{}", e.id);
            let err = load_image(e, &small(99)).unwrap_err().to_string();
            assert!(
                err.contains(&e.id) && err.contains("10x10 = 100 pixels exceeds the limit of 99 pixels (max_pixels)"),
                "{err}"
            );
        }
    }

    #[test]
    fn corrupt_or_truncated_jpeg_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = jpeg_bytes(&texture(320, 240), 90);
        let scan = good.windows(2).position(|w| w == [0xff, 0xda]).unwrap() + 20;
        let mut flipped = good.clone();
        let span = good.len() - 2 - scan;
        for i in 0..100 {
            flipped[scan + i * span / 100] ^= 0x5a;
        }
        let cases = [
            ("cut10.jpg", good[..good.len() / 10].to_vec()),
            ("cut50.jpg", good[..good.len() / 2].to_vec()),
            ("flipped.jpg", flipped),
        ];
        for (name, bytes) in cases {
            let e = entry_at(dir.path(), name, &bytes);
            let err = load_image(&e, &Preprocess::default()).unwrap_err();
            assert!(matches!(err, DatasetError::Jpeg { .. }), "{name}: {err:?}");
            let text = err.to_string();
            assert!(text.contains(name) && text.contains("libjpeg-turbo"), "{text}");
        }
        let e = entry_at(dir.path(), "good.jpg", &good);
        let loaded = load_image(&e, &Preprocess::default()).unwrap();
        assert_eq!((loaded.image.dimensions(), loaded.conversion.as_str()), ((320, 240), "rgb8"));
        let reference = turbojpeg::decompress(&good, turbojpeg::PixelFormat::RGB).unwrap();
        assert_eq!(loaded.image.as_raw(), &reference.pixels, "libjpeg-turbo's own pixels");
    }

    #[test]
    fn grey_and_cmyk_jpegs_keep_their_conversions() {
        let dir = tempfile::tempdir().unwrap();
        let grey = GrayImage::from_fn(33, 17, |x, y| Luma([(x * 7 + y * 3) as u8]));
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
            .encode_image(&grey)
            .unwrap();
        let e = entry_at(dir.path(), "grey.jpg", &bytes);
        let loaded = load_image(&e, &Preprocess::default()).unwrap();
        assert_eq!(loaded.conversion, "l8->rgb8");
        let before = image::load_from_memory(&bytes).unwrap().to_luma8();
        let diff = loaded
            .image
            .pixels()
            .zip(before.pixels())
            .map(|(a, b)| (i16::from(a.0[0]) - i16::from(b.0[0])).abs())
            .max();
        assert!(diff <= Some(2), "grey JPEG within 2 of the image crate's decoder: {diff:?}");

        let cmyk: Vec<u8> = (0..24 * 16 * 4).map(|i| (i * 37 % 251) as u8).collect();
        let mut c = turbojpeg::Compressor::new().unwrap();
        c.set_subsamp(turbojpeg::Subsamp::None).unwrap();
        let image = turbojpeg::Image {
            pixels: cmyk.as_slice(),
            width: 24,
            pitch: 24 * 4,
            height: 16,
            format: turbojpeg::PixelFormat::CMYK,
        };
        let bytes = c.compress_to_vec(image).unwrap();
        let e = entry_at(dir.path(), "cmyk.jpg", &bytes);
        let loaded = load_image(&e, &Preprocess::default()).unwrap();
        let (before, conversion) = to_rgb8(image::load_from_memory(&bytes).unwrap());
        assert_eq!((loaded.image, loaded.conversion), (before, conversion), "CMYK as before");
        let cut = entry_at(dir.path(), "cmyk-cut.jpg", &bytes[..bytes.len() / 2]);
        let err = load_image(&cut, &Preprocess::default()).unwrap_err().to_string();
        assert!(err.contains("cmyk-cut.jpg") && err.contains("libjpeg-turbo"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn dangling_symlinks_and_loops_do_not_stop_the_scan() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        RgbImage::new(4, 4).save(root.join("sub/good.png")).unwrap();
        symlink(root.join("nowhere.png"), root.join("gone.png")).unwrap();
        symlink(root.join("nowhere.txt"), root.join("gone.txt")).unwrap();
        symlink(root, root.join("sub/loop")).unwrap();
        let entries = scan_folder(root).unwrap();
        let ids: Vec<_> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["gone.png", "sub/good.png"]);
        let err = load_image(&entries[0], &Preprocess::default()).unwrap_err().to_string();
        assert!(
            err.contains("gone.png") && err.contains("dangling symbolic link to") && err.contains("nowhere.png"),
            "{err}"
        );
        assert!(load_image(&entries[1], &Preprocess::default()).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_keep_distinct_ids() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = |b: &[u8]| OsStr::from_bytes(b).to_os_string();
        let sub = dir.path().join(name(b"d\xe9j\xe0"));
        std::fs::create_dir(&sub).unwrap();
        for n in [&b"a\xff.png"[..], b"a\xfe.png", b"100%\xff.png"] {
            RgbImage::new(2, 2).save(dir.path().join(name(n))).unwrap();
        }
        RgbImage::new(2, 2).save(sub.join("x.png")).unwrap();
        let entries = scan_folder(dir.path()).unwrap();
        let ids: Vec<_> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["100%25%FF.png", "a%FE.png", "a%FF.png", "d%E9j%E0/x.png"]);
        for e in &entries {
            assert!(load_image(e, &Preprocess::default()).is_ok(), "{}", e.id);
        }
        // A valid name that spells another one's escape is a clear error, not a merge.
        RgbImage::new(2, 2).save(dir.path().join("a%FF.png")).unwrap();
        let err = scan_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("both have the image id `a%FF.png`"), "{err}");
        assert_eq!(id_part(OsStr::new("plain 100%.png")), "plain 100%.png");
    }

    #[test]
    fn hash_depends_on_pixels_and_shape() {
        let a = RgbImage::new(4, 2);
        let b = RgbImage::new(2, 4);
        let mut c = a.clone();
        c.put_pixel(0, 0, Rgb([1, 0, 0]));
        assert_ne!(content_hash(&a), content_hash(&b));
        assert_ne!(content_hash(&a), content_hash(&c));
        assert_eq!(content_hash(&a), content_hash(&a.clone()));
    }
}
