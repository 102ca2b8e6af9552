//! Parity of `vif` (VIF in the wavelet domain) with pyiqa 0.1.16's `vif` on pyiqa's five
//! calibration pairs, the SR pair of tests/fixtures/basicsr/ and two odd-sized crops, and with
//! the authors' MATLAB values that pyiqa records. The values, the pairs' sha256 and the
//! recipe: tests/fixtures/vif_reference.json, made by scripts/make-vif-fixture-wavelet.py;
//! the MATLAB values: tests/fixtures/iqa_calib_reference.json.

mod common;
use common::{IMAGES, json, load, reference};

use icmbench_metrics::by_name;

/// Scores every pair of the fixture; returns `(pair, icmbench, values[key][pair])`.
fn scores(key: &str) -> Vec<(String, f64, f64)> {
    let fx = json("tests/fixtures/vif_reference.json");
    let m = by_name("vif", &Default::default()).unwrap();
    let pairs = fx["pairs"].as_object().expect("pairs");
    assert_eq!(pairs.len(), 8);
    pairs
        .iter()
        .map(|(pair, spec)| {
            let want = fx["values"][key][pair].as_f64().expect("value");
            let (r, d) = common::pair(spec);
            let got = m.compute(&r, &d).unwrap();
            eprintln!(
                "vif {pair}: icmbench {got:.12}, {key} {want:.12}, relative {:.1e}",
                (got - want) / want
            );
            (pair.clone(), got, want)
        })
        .collect()
}

/// Within 1e-9 relative of pyiqa in float64 (its filters cast to the image's dtype rather
/// than to float32; nothing else changed): the same float64 steps, with the covariance's
/// eigen-decomposition by Jacobi rotations instead of LAPACK, and sums in another order.
#[test]
fn vif_matches_pyiqa_in_float64() {
    for (pair, got, want) in scores("vif") {
        assert!(((got - want) / want).abs() <= 1e-9, "vif {pair}: got {got}, pyiqa {want}");
    }
}

/// Within 1e-4 of the authors' MATLAB values (four decimals in pyiqa's table), which float64
/// reproduces. pyiqa as shipped computes in float32 and is 2.3e-3 relative from float64 on
/// I19 (0.17492 against the official 0.1745): the test holds icmbench to 3e-3 of it, wider
/// than the 1e-3, because that gap is float32's, not the port's.
#[test]
fn vif_matches_the_official_values_and_pyiqa_float32() {
    let m = by_name("vif", &Default::default()).unwrap();
    for (pair, want) in IMAGES.iter().zip(reference("vif")) {
        let got = m.compute(&load("ref_dir", pair), &load("dist_dir", pair)).unwrap();
        eprintln!("vif {pair}: icmbench {got:.6}, official {want}, diff {:.1e}", got - want);
        assert!((got - want).abs() <= 1e-4, "vif {pair}: got {got}, official {want}");
    }
    for (pair, got, want) in scores("vif-pyiqa-f32") {
        assert!(((got - want) / want).abs() <= 3e-3, "vif {pair}: got {got}, pyiqa float32 {want}");
    }
}

/// Order matters (the reference's statistics drive the model): swapping the images changes
/// the score; identical images score 1 (to 1e-6: the distortion variance's floor).
#[test]
fn vif_is_one_on_identical_images_and_not_symmetric() {
    let fx = json("tests/fixtures/vif_reference.json");
    let (r, d) = common::pair(&fx["pairs"]["sr-x4"]);
    let m = by_name("vif", &Default::default()).unwrap();
    let (rd, dr) = (m.compute(&r, &d).unwrap(), m.compute(&d, &r).unwrap());
    assert!((rd - dr).abs() > 1e-3, "{rd} vs {dr}");
    assert!((m.compute(&r, &r).unwrap() - 1.0).abs() < 1e-6);
}

/// Images too small for four pyramid levels of 3x3 blocks are refused with a message.
#[test]
fn vif_refuses_small_images() {
    let m = by_name("vif", &Default::default()).unwrap();
    let img = image::RgbImage::new(64, 300);
    let err = m.compute(&img, &img).unwrap_err().to_string();
    assert!(err.contains("65x65"), "{err}");
}
