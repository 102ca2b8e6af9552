//! LL-ICM samples: the degraded input that a codec compresses and the ideal target that the
//! restored image is compared with, from a pair of folders ([`crate::paired`]) or from a
//! clean image and a synthetic degradation ([`crate::degrade`]).
//!
//! A synthetic sample is the clean image after [`Preprocess`], cropped at the top left to a
//! multiple of the factor for `downscale` (so that ×factor super-resolution gives back the
//! target's size, BasicSR's `mod_crop`), then degraded with the seed
//! [`image_seed`]`(seed, image id)`. The sample's hash covers
//! the input and the target, so cached results are reused only for the same pair.

use image::RgbImage;
use image::imageops::FilterType;

use crate::degrade::{Degradation, apply, image_seed};
use crate::paired::Pair;
use crate::{DatasetError, ImageEntry, LoadedImage, Preprocess, combine_hashes, content_hash, load_image};

/// One (degraded input, ideal target) sample.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The degraded input: what the codec compresses (its `hash` covers the target too).
    pub input: LoadedImage,
    /// The ideal image the task's output is compared with.
    pub target: RgbImage,
}

/// A sample made from a clean image and a degradation (see the module doc).
pub fn synthetic(entry: &ImageEntry, pre: &Preprocess, d: &Degradation, seed: u64) -> Result<Sample, DatasetError> {
    let clean = load_image(entry, pre)?;
    let mut target_hash = clean.hash;
    let mut target = clean.image;
    let mut record = clean.preprocess;
    if let Degradation::Downscale { factor } = *d {
        let (w, h) = target.dimensions();
        let f = factor.max(1);
        let (cw, ch) = (w - w % f, h - h % f);
        if cw == 0 || ch == 0 {
            return Err(DatasetError::Degrade {
                path: entry.path.clone(),
                message: format!("a {w}x{h} image is smaller than the downscale factor {factor}"),
            });
        }
        if (cw, ch) != (w, h) {
            target = image::imageops::crop_imm(&target, 0, 0, cw, ch).to_image();
            target_hash = content_hash(&target);
            record.push_str(&format!("; mod-crop {w}x{h}->{cw}x{ch}"));
        }
    }
    let image_seed = image_seed(seed, &entry.id);
    let degraded = apply(&target, d, image_seed).map_err(|message| DatasetError::Degrade {
        path: entry.path.clone(),
        message,
    })?;
    record.push_str(&format!("; degraded: {d:?}, seed {seed}"));
    Ok(Sample {
        input: LoadedImage {
            id: entry.id.clone(),
            path: entry.path.clone(),
            hash: combine_hashes(&[&content_hash(&degraded), &target_hash]),
            image: degraded,
            conversion: clean.conversion,
            preprocess: record,
        },
        target,
    })
}

/// A sample from a pair of files, without preprocessing (resizing either side would break
/// the pairing); each file is checked against `max_pixels` before it is decoded
/// ([`Preprocess::max_pixels`]).
pub fn paired(pair: &Pair, max_pixels: u64) -> Result<Sample, DatasetError> {
    let none = Preprocess {
        max_pixels,
        ..Preprocess::default()
    };
    let mut input = load_image(&pair.input, &none)?;
    let target = load_image(&pair.target, &none)?;
    input.hash = combine_hashes(&[&input.hash, &target.hash]);
    input.preprocess = format!("paired with {}", pair.target.path.display());
    Ok(Sample {
        input,
        target: target.image,
    })
}

/// The degraded input brought to the target's size for the no-task reference: bicubic
/// (Catmull-Rom) resampling when the sizes differ (super-resolution), else a copy.
pub fn to_target_size(input: &RgbImage, target: &RgbImage) -> RgbImage {
    let (w, h) = target.dimensions();
    if input.dimensions() == (w, h) {
        input.clone()
    } else {
        image::imageops::resize(input, w, h, FilterType::CatmullRom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &std::path::Path, name: &str, w: u32, h: u32) -> ImageEntry {
        let path = dir.join(name);
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 90]))
            .save(&path)
            .unwrap();
        ImageEntry { id: name.into(), path }
    }

    #[test]
    fn synthetic_downscale_crops_to_the_factor_and_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path(), "a.png", 37, 22);
        let d = Degradation::Downscale { factor: 4 };
        let s = synthetic(&e, &Preprocess::default(), &d, 3).unwrap();
        assert_eq!(s.target.dimensions(), (36, 20));
        assert_eq!(s.input.image.dimensions(), (9, 5));
        assert!(s.input.preprocess.contains("mod-crop 37x22->36x20"), "{}", s.input.preprocess);
        let noise = Degradation::Noise { sigma: 10.0 };
        let a = synthetic(&e, &Preprocess::default(), &noise, 3).unwrap();
        let b = synthetic(&e, &Preprocess::default(), &noise, 3).unwrap();
        let c = synthetic(&e, &Preprocess::default(), &noise, 4).unwrap();
        assert_eq!((a.input.image.clone(), a.input.hash.clone()), (b.input.image, b.input.hash));
        assert_ne!(a.input.hash, c.input.hash);
        assert_eq!(a.target.dimensions(), (37, 22));
        let tiny = entry(dir.path(), "t.png", 3, 3);
        let err = synthetic(&tiny, &Preprocess::default(), &d, 0).unwrap_err().to_string();
        assert!(err.contains("t.png") && err.contains("smaller than the downscale factor"), "{err}");
    }

    #[test]
    fn bad_parameters_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path(), "b.png", 8, 8);
        let err = synthetic(&e, &Preprocess::default(), &Degradation::Noise { sigma: -1.0 }, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("b.png") && err.contains("sigma"), "{err}");
    }

    /// `lq/x.png` (8×6) paired with `gt/x.png` (16×12) in `dir`.
    fn x_pair(dir: &std::path::Path) -> Pair {
        let (lq, gt) = (dir.join("lq"), dir.join("gt"));
        std::fs::create_dir_all(&lq).unwrap();
        std::fs::create_dir_all(&gt).unwrap();
        Pair {
            input: entry(&lq, "x.png", 8, 6),
            target: entry(&gt, "x.png", 16, 12),
        }
    }

    #[test]
    fn paired_hash_covers_the_target_and_no_task_resizes() {
        let dir = tempfile::tempdir().unwrap();
        let pair = x_pair(dir.path());
        let s = paired(&pair, crate::DEFAULT_MAX_PIXELS).unwrap();
        assert_ne!(s.input.hash, content_hash(&s.input.image));
        assert_eq!(to_target_size(&s.input.image, &s.target).dimensions(), (16, 12));
        assert_eq!(to_target_size(&s.target, &s.target), s.target);
    }

    #[test]
    fn paired_and_synthetic_samples_check_max_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let pair = x_pair(dir.path());
        assert!(paired(&pair, 16 * 12).is_ok());
        let err = paired(&pair, 16 * 12 - 1).unwrap_err().to_string();
        assert!(
            err.contains("gt/x.png") && err.contains("16x12") && err.contains("(max_pixels)"),
            "{err}"
        );
        let pre = Preprocess {
            max_pixels: 47,
            ..Preprocess::default()
        };
        let err = synthetic(&pair.input, &pre, &Degradation::Noise { sigma: 1.0 }, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lq/x.png") && err.contains("8x6"), "{err}");
    }
}
