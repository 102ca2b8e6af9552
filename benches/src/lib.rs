//! Shared inputs for the criterion benchmarks: a real 768×512 photo and a distorted copy.

use icmbench_codecs::Codec;
use image::RgbImage;

/// The repository root (the bundled samples live in `datasets/samples/` below it).
pub fn repo_root() -> std::path::PathBuf {
    icmbench_datasets::samples_dir().join("../..")
}

/// `motorcycle_left.png` from the bundled samples, resized (Lanczos3) to exactly 768×512.
pub fn photo_768x512() -> RgbImage {
    let path = icmbench_datasets::samples_dir().join("motorcycle_left.png");
    let img = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8();
    image::imageops::resize(&img, 768, 512, image::imageops::FilterType::Lanczos3)
}

/// The photo after a JPEG round trip at quality 50.
pub fn distorted(img: &RgbImage) -> RgbImage {
    let codec = icmbench_codecs::jpeg::Jpeg::default();
    let bits = codec.encode(img, 50.0).expect("jpeg encode");
    codec.decode(&bits, img.width(), img.height()).expect("jpeg decode")
}
