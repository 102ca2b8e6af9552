//! Parity of the BasicSR family (`psnr-y-crop4`, `ssim-y-crop4`, `psnr-rgb-crop4`,
//! `ssim-rgb-crop4`, `psnr-y-crop0`, `ssim-y-crop0`) with basicsr 1.4.2's
//! `calculate_psnr` / `calculate_ssim` on pyiqa's five calibration pairs and an SR-style
//! pair (tests/fixtures/basicsr/). The values, the pairs' sha256 and the recipe:
//! tests/fixtures/basicsr_reference.json, made by scripts/make-basicsr-fixture.py.

mod common;
use common::load_checked as load;

use icmbench_metrics::by_name;

/// The fixture, parsed.
fn fixture() -> serde_json::Value {
    common::json("tests/fixtures/basicsr_reference.json")
}

/// Every metric of the fixture on every pair, within `tolerance` of BasicSR's value.
/// PSNR: 1e-9 dB (the same float64 MSE of the same Y samples; only the summation order
/// differs). SSIM: 1e-9 (OpenCV's filter2D filters an 11x11 kernel through the DFT, which
/// differs from the separable direct sum by about 1e-13 per window).
#[test]
fn basicsr_psnr_and_ssim_match_basicsr_1_4_2() {
    let fx = fixture();
    let pairs = fx["pairs"].as_object().expect("pairs");
    let cases = fx["cases"].as_object().expect("cases");
    assert_eq!(cases.len(), 6);
    for (metric, _) in cases {
        let m = by_name(metric, &Default::default()).unwrap();
        for (pair, spec) in pairs {
            let file = |i: usize| load(spec["files"][i].as_str().unwrap(), spec["sha256"][i].as_str().unwrap());
            let want = fx["values"][metric][pair].as_f64().expect("value");
            let got = m.compute(&file(0), &file(1)).unwrap();
            eprintln!("{metric} {pair}: icmbench {got:.12}, basicsr {want:.12}, diff {:.1e}", got - want);
            assert!((got - want).abs() <= 1e-9, "{metric} {pair}: got {got}, basicsr {want}");
        }
    }
}

/// The crop matters (the cropped and uncropped values differ on every pair) and an image
/// no larger than twice the border is an error naming the metric, not a NaN.
#[test]
fn the_border_is_cropped_and_too_small_is_an_error() {
    let fx = fixture();
    for pair in ["I03", "I08", "sr-x4"] {
        let v = |m: &str| fx["values"][m][pair].as_f64().unwrap();
        assert_ne!(v("psnr-y-crop4"), v("psnr-y-crop0"));
        assert_ne!(v("ssim-y-crop4"), v("ssim-y-crop0"));
    }
    let tiny = image::RgbImage::new(8, 20);
    let err = by_name("psnr-y-crop4", &Default::default())
        .unwrap()
        .compute(&tiny, &tiny)
        .unwrap_err();
    assert!(
        err.to_string().contains("psnr-y-crop4") && err.to_string().contains("4-pixel border"),
        "{err}"
    );
}
