//! Dataset loaders for icmbench.
//!
//! | item | what it does |
//! |---|---|
//! | [`scan_folder`] | lists the images under a folder (recursive, sorted, by extension) |
//! | [`load_image`] | reads one image, converts it to 8-bit RGB and records how, applies [`Preprocess`] |
//! | [`to_rgb8`] | the one place where grey, alpha and 16-bit inputs become 8-bit RGB |
//! | [`content_hash`] | the pixel-content hash that keys cached results |
//! | [`samples_dir`] | the bundled default photos (`datasets/samples/`, see its `PROVENANCE.md`) |
//! | [`paired`] | paired low-level datasets (degraded input, ideal target) matched by file name |
//! | [`planes`] | `f64` planes and their filters, once for the workspace: RGB split/merge, correlation with edge rules, Gaussian kernels, MATLAB `imresize` |
//! | [`degrade`] | deterministic synthetic degradations (noise, blur, downscale, low light, haze, rain, JPEG) |
//! | [`lowlevel`] | LL-ICM samples: (degraded input, ideal target) from paired folders or a synthetic degradation |

pub mod degrade;
pub mod lowlevel;
pub mod paired;
pub mod planes;

use std::path::{Path, PathBuf};

use image::{DynamicImage, RgbImage, imageops::FilterType};
use serde::{Deserialize, Serialize};

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
}

/// One image file of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// Path relative to the dataset root, with `/` separators: the image id in results.
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

/// Preprocessing applied to every image after loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Preprocess {
    /// Largest allowed width or height; `None` keeps the original size.
    pub max_side: Option<u32>,
    /// How to enforce `max_side`.
    pub fit: Fit,
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
        let item = item.map_err(|source| DatasetError::Walk {
            path: root.to_path_buf(),
            source,
        })?;
        if !item.file_type().is_file() {
            continue;
        }
        let path = item.path();
        let known = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if !known {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(path);
        let id = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        entries.push(ImageEntry {
            id,
            path: path.to_path_buf(),
        });
    }
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    if entries.is_empty() {
        return Err(DatasetError::Empty { path: root.to_path_buf() });
    }
    Ok(entries)
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

/// Reads, converts and preprocesses one image.
pub fn load_image(entry: &ImageEntry, p: &Preprocess) -> Result<LoadedImage, DatasetError> {
    let decoded = image::ImageReader::open(&entry.path)
        .map_err(|e| DatasetError::Decode {
            path: entry.path.clone(),
            source: image::ImageError::IoError(e),
        })?
        .with_guessed_format()
        .map_err(|e| DatasetError::Decode {
            path: entry.path.clone(),
            source: image::ImageError::IoError(e),
        })?
        .decode()
        .map_err(|source| DatasetError::Decode {
            path: entry.path.clone(),
            source,
        })?;
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
            },
        );
        assert_eq!(out.dimensions(), (40, 20));
        assert!(how.starts_with("downscale 100x50->40x20"), "{how}");
        let (out, how) = preprocess(
            img.clone(),
            &Preprocess {
                max_side: Some(40),
                fit: Fit::CenterCrop,
            },
        );
        assert_eq!(out.dimensions(), (40, 40));
        assert!(how.contains("at (30,5)"), "{how}");
        let (out, how) = preprocess(
            img,
            &Preprocess {
                max_side: Some(200),
                fit: Fit::CenterCrop,
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
