//! TOPIQ: the whole path in icmbench (the Rust input tensors and the pooling and
//! positional-embedding matrices + the ONNX graphs of tools/models/build_topiq.py with fixed
//! random weights, `topiq-nr-random` and `topiq-fr-random`) against pyiqa 0.1.16's CFANet
//! running the same weights. Reference values and how they were made:
//! tests/fixtures/topiq_reference.json (scripts/make-topiq-fixture.py).

mod common;

use icmbench_metrics::Metric;
use icmbench_metrics::topiq::{MIN_SIDE, Topiq};
use icmbench_models::RuntimeOptions;

fn model(full_reference: bool) -> Topiq {
    let name = if full_reference { "topiq-fr-random" } else { "topiq-nr-random" };
    Topiq::load(name, name, full_reference, &RuntimeOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Within 1e-5 of pyiqa on every pair, no reference and full reference (scores 0.24–1.12;
/// float32 through ResNet-50 and six attention layers: 1.1e-6 seen with ONNX Runtime in
/// Python), on the five calibration pairs and on two odd-sized crops (sides not multiples
/// of 32, so the pooling bins overlap; one crop 45 wide, just above the minimum).
#[test]
fn topiq_with_fixed_random_weights_matches_pyiqa() {
    let fx = common::json("tests/fixtures/topiq_reference.json");
    let pairs = fx["pairs"].as_object().expect("pairs");
    assert_eq!(pairs.len(), 7);
    for (full_reference, key) in [(false, "topiq-nr"), (true, "topiq-fr")] {
        let m = model(full_reference);
        let mut scores = Vec::new();
        for (name, spec) in pairs {
            let (r, d) = common::pair(spec);
            let want = fx["score"][key][name].as_f64().expect("score");
            let got = m.compute(&r, &d).unwrap();
            eprintln!("{key}-random {name}: icmbench {got:.7}, pyiqa {want:.7}, diff {:.1e}", got - want);
            assert!((got - want).abs() < 1e-5, "{key} {name}: {got} vs {want}");
            scores.push(got);
        }
        let spread = scores.iter().cloned().fold(f64::MIN, f64::max) - scores.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread > 0.1, "{key}: {scores:?}");
    }
}

/// The full-reference model depends on the reference (scoring an image against itself
/// differs from scoring it against its distorted version); the no-reference one ignores it.
#[test]
fn topiq_uses_the_reference_only_when_full_reference() {
    let fx = common::json("tests/fixtures/topiq_reference.json");
    let (r, d) = common::pair(&fx["pairs"]["I19-crop-45x97"]);
    let (nr, fr) = (model(false), model(true));
    assert_eq!(nr.compute(&r, &d).unwrap(), nr.compute(&d, &d).unwrap());
    assert!((fr.compute(&r, &d).unwrap() - fr.compute(&d, &d).unwrap()).abs() > 1e-3);
}

/// Sides under 32 are refused with a message naming the minimum; a reference of another
/// size is refused by the full-reference model.
#[test]
fn topiq_refuses_small_images_and_mismatched_references() {
    let small = image::RgbImage::new(300, MIN_SIDE - 1);
    let err = model(false).compute(&small, &small).unwrap_err().to_string();
    assert!(err.contains("32x32"), "{err}");
    let (a, b) = (image::RgbImage::new(64, 64), image::RgbImage::new(64, 65));
    assert!(model(true).compute(&a, &b).unwrap_err().to_string().contains("sizes differ"));
}
