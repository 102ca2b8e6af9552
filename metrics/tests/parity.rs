//! Parity of PSNR, SSIM and MS-SSIM with their reference implementations on pyiqa's
//! calibration pairs. The images come from `scripts/fetch-test-fixtures.sh` (run by
//! `make test`); the reference values and how they were produced are in
//! `tests/fixtures/iqa_calib_reference.json`.

mod common;
use common::{IMAGES, load, reference};

use icmbench_metrics::by_name;

fn check(metric: &str, tolerance: f64) {
    check_against(metric, metric, tolerance);
}

/// `metric` against the reference values stored under `key`.
fn check_against(metric: &str, key: &str, tolerance: f64) {
    let m = by_name(metric, &Default::default()).unwrap();
    let expected = reference(key);
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

/// MS-SSIM on RGB vs tf.image.ssim_multiscale (float32), within 1e-4. These 512x384 images
/// keep even sides through all four poolings, where the TensorFlow convention
/// (`ms-ssim-rgb-tf`) and pytorch_msssim's (`ms-ssim-rgb`) coincide, so both must match;
/// odd sizes are tested in `msssim.rs`.
#[test]
fn ms_ssim_rgb_both_conventions_match_tensorflow_on_even_sizes() {
    let img = load("ref_dir", IMAGES[0]);
    assert!(
        img.width().is_multiple_of(16) && img.height().is_multiple_of(16),
        "{:?}",
        img.dimensions()
    );
    check_against("ms-ssim-rgb-tf", "ms-ssim-rgb", 1e-4);
    check("ms-ssim-rgb", 1e-4);
}

/// Identical images: PSNR infinite, SSIM and MS-SSIM exactly 1.
#[test]
fn identical_images() {
    let img = load("ref_dir", "I04");
    assert_eq!(
        by_name("psnr", &Default::default()).unwrap().compute(&img, &img).unwrap(),
        f64::INFINITY
    );
    for m in ["ssim-grey", "ms-ssim-rgb", "ms-ssim-grey", "ms-ssim-rgb-tf"] {
        let v = by_name(m, &Default::default()).unwrap().compute(&img, &img).unwrap();
        assert!((v - 1.0).abs() < 1e-12, "{m}: {v}");
    }
}

/// An image too small for five MS-SSIM scales is a clear error, never NaN.
#[test]
fn ms_ssim_too_small_is_an_error() {
    let img = load("ref_dir", "I04");
    let small = image::imageops::crop_imm(&img, 0, 0, 300, 150).to_image();
    let err = by_name("ms-ssim", &Default::default())
        .unwrap()
        .compute(&small, &small)
        .unwrap_err()
        .to_string();
    assert!(err.contains("300x150") && err.contains("161x161"), "{err}");
}

/// GMSD vs the authors' GMSD.m (official values with full precision, recorded by pyiqa),
/// within 1e-9 relative (1.4e-14 seen): the same float64 arithmetic up to summation order.
#[test]
fn gmsd_matches_the_official_matlab_code() {
    let m = by_name("gmsd", &Default::default()).unwrap();
    for (name, want) in IMAGES.iter().zip(reference("gmsd")) {
        let got = m.compute(&load("ref_dir", name), &load("dist_dir", name)).unwrap();
        eprintln!(
            "gmsd {name}: icmbench {got:.9}, official {want:.9}, relative {:.1e}",
            (got - want) / want
        );
        assert!(((got - want) / want).abs() <= 1e-9, "gmsd {name}: got {got}, official {want}");
    }
}

/// GMSD vs pyiqa 0.1.16's `gmsd` (float32, YIQ luma rounded): within 1e-3 relative on the
/// three pairs with visible distortion. On I04 and I06 (scores near 5e-4) pyiqa itself is
/// 1.7e-3 and 1.0e-3 relative from the official values, so there the bound is 2e-3.
#[test]
fn gmsd_is_close_to_pyiqa() {
    let m = by_name("gmsd", &Default::default()).unwrap();
    for (name, want) in IMAGES.iter().zip(reference("gmsd-pyiqa")) {
        let got = m.compute(&load("ref_dir", name), &load("dist_dir", name)).unwrap();
        let tolerance = if want < 1e-3 { 2e-3 } else { 1e-3 };
        eprintln!(
            "gmsd {name}: icmbench {got:.9}, pyiqa {want:.9}, relative {:.1e}",
            (got - want) / want
        );
        assert!(((got - want) / want).abs() <= tolerance, "gmsd {name}: got {got}, pyiqa {want}");
    }
}
