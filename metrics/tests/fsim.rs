//! Parity of `fsim` (FSIMc) with pyiqa 0.1.16's `fsim` on pyiqa's five calibration pairs and
//! the SR pair of tests/fixtures/basicsr/, and with the authors' MATLAB values that pyiqa
//! records. The values, the pairs' sha256 and the recipe: tests/fixtures/fsim_reference.json,
//! made by scripts/make-fsim-fixture.py; the MATLAB values: tests/fixtures/iqa_calib_reference.json.

mod common;
use common::{IMAGES, json, load, reference};

use icmbench_metrics::by_name;

/// Scores every pair of the fixture; returns `(pair, icmbench, values[key][pair])` for the
/// pairs `key` has values for.
fn scores(key: &str) -> Vec<(String, f64, f64)> {
    let fx = json("tests/fixtures/fsim_reference.json");
    let m = by_name("fsim", &Default::default()).unwrap();
    let pairs = fx["pairs"].as_object().expect("pairs");
    assert_eq!(pairs.len(), 6);
    pairs
        .iter()
        .filter_map(|(pair, spec)| {
            let want = fx["values"][key][pair].as_f64()?;
            let (r, d) = common::pair(spec);
            let got = m.compute(&r, &d).unwrap();
            eprintln!(
                "fsim {pair}: icmbench {got:.12}, {key} {want:.12}, relative {:.1e}",
                (got - want) / want
            );
            Some((pair.clone(), got, want))
        })
        .collect()
}

/// Within 1e-9 relative of pyiqa run with torch's default dtype set to float64: the same
/// float64 steps, with FFTs and sums in another order.
#[test]
fn fsim_matches_pyiqa_in_float64() {
    let s = scores("fsim");
    assert_eq!(s.len(), 6);
    for (pair, got, want) in s {
        assert!(((got - want) / want).abs() <= 1e-9, "fsim {pair}: got {got}, pyiqa {want}");
    }
}

/// Within 1e-5 relative of pyiqa as users run it (float32; the issue asks for 1e-3; 4.2e-6
/// seen), and within 1e-4 of the authors' MATLAB values, which pyiqa records to four
/// decimals: the port itself is 7.9e-5 from them on I03 (pyiqa's own calibration table
/// lists 0.6891 against the official 0.6890).
#[test]
fn fsim_matches_pyiqa_float32_and_the_official_values() {
    for (pair, got, want) in scores("fsim-pyiqa-f32") {
        assert!(((got - want) / want).abs() <= 1e-5, "fsim {pair}: got {got}, pyiqa float32 {want}");
    }
    let m = by_name("fsim", &Default::default()).unwrap();
    for (pair, want) in IMAGES.iter().zip(reference("fsim")) {
        let got = m.compute(&load("ref_dir", pair), &load("dist_dir", pair)).unwrap();
        eprintln!("fsim {pair}: icmbench {got:.6}, official {want}, diff {:.1e}", got - want);
        assert!((got - want).abs() <= 1e-4, "fsim {pair}: got {got}, official {want}");
    }
}

/// Symmetric in its two images, 1 for identical images (to 1e-6: pyiqa's similarity maps
/// add float32's epsilon to the denominator only), and below 1 for a distorted one.
#[test]
fn fsim_is_symmetric_and_one_on_identical_images() {
    let fx = json("tests/fixtures/fsim_reference.json");
    let spec = &fx["pairs"]["sr-x4"];
    let m = by_name("fsim", &Default::default()).unwrap();
    let (r, d) = common::pair(spec);
    let (rd, dr) = (m.compute(&r, &d).unwrap(), m.compute(&d, &r).unwrap());
    assert!((rd - dr).abs() <= 1e-12 * rd, "{rd} vs {dr}");
    assert!(rd < 0.95);
    assert!((m.compute(&r, &r).unwrap() - 1.0).abs() < 1e-6);
}

/// Images too small for a 2x2 pooled plane are refused with a message, not scored.
#[test]
fn fsim_refuses_tiny_images() {
    let m = by_name("fsim", &Default::default()).unwrap();
    let img = image::RgbImage::new(1, 8);
    let err = m.compute(&img, &img).unwrap_err().to_string();
    assert!(err.contains("2x2"), "{err}");
}
