//! Parity of PSNR, SSIM and MS-SSIM with their reference implementations on pyiqa's
//! calibration pairs. The images come from `scripts/fetch-test-fixtures.sh` (run by
//! `make test`); the reference values and how they were produced are in
//! `tests/fixtures/iqa_calib_reference.json`.

use std::path::{Path, PathBuf};

use icmbench_metrics::by_name;

const IMAGES: [&str; 5] = ["I03", "I04", "I06", "I08", "I19"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(dir: &str, name: &str) -> image::RgbImage {
    let path = root().join("third_party/iqa-calib").join(dir).join(format!("{name}.bmp"));
    match image::open(&path) {
        Ok(img) => img.to_rgb8(),
        Err(e) => panic!(
            "{}: {e}. Run `make test` (or scripts/fetch-test-fixtures.sh) to fetch the fixtures.",
            path.display()
        ),
    }
}

fn reference(metric: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/iqa_calib_reference.json")).expect("reference file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("reference JSON");
    IMAGES.iter().map(|i| json[metric]["values"][i].as_f64().expect("value")).collect()
}

fn check(metric: &str, tolerance: f64) {
    let m = by_name(metric).unwrap();
    let expected = reference(metric);
    for (name, want) in IMAGES.iter().zip(expected) {
        let got = m.compute(&load("ref_dir", name), &load("dist_dir", name)).unwrap();
        eprintln!("{metric} {name}: icmbench {got:.6}, reference {want}, diff {:.2e}", got - want);
        assert!(
            (got - want).abs() <= tolerance,
            "{metric} {name}: got {got}, reference {want}, tolerance {tolerance}"
        );
    }
}

/// PSNR on RGB vs pyiqa, within 1e-3 dB (pyiqa's values are printed with 4 decimals).
#[test]
fn psnr_rgb_matches_pyiqa() {
    check("psnr-rgb", 1e-3);
}

/// SSIM on MATLAB-grey vs the official MATLAB values, within 2e-4 (4 printed decimals).
#[test]
fn ssim_grey_matches_official_matlab() {
    check("ssim-grey", 2e-4);
}

/// MS-SSIM on RGB vs tf.image.ssim_multiscale, within 1e-4.
#[test]
fn ms_ssim_rgb_matches_tensorflow() {
    check("ms-ssim-rgb", 1e-4);
}

/// Identical images: PSNR infinite, SSIM and MS-SSIM exactly 1.
#[test]
fn identical_images() {
    let img = load("ref_dir", "I04");
    assert_eq!(by_name("psnr").unwrap().compute(&img, &img).unwrap(), f64::INFINITY);
    for m in ["ssim-grey", "ms-ssim-rgb", "ms-ssim-grey"] {
        let v = by_name(m).unwrap().compute(&img, &img).unwrap();
        assert!((v - 1.0).abs() < 1e-12, "{m}: {v}");
    }
}

/// An image too small for five MS-SSIM scales is a clear error, never NaN.
#[test]
fn ms_ssim_too_small_is_an_error() {
    let img = load("ref_dir", "I04");
    let small = image::imageops::crop_imm(&img, 0, 0, 300, 150).to_image();
    let err = by_name("ms-ssim").unwrap().compute(&small, &small).unwrap_err().to_string();
    assert!(err.contains("300x150") && err.contains("161x161"), "{err}");
}
