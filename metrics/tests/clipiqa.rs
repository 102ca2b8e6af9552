//! CLIP-IQA: the whole path in icmbench (the Rust input tensor + the ONNX graph of
//! tools/models/build_clipiqa.py with fixed random weights and text features,
//! `clipiqa-random`) against pyiqa 0.1.16's CLIPIQA running the same weights. Reference
//! values and how they were made: tests/fixtures/clipiqa_reference.json
//! (scripts/make-clipiqa-fixture.py).

mod common;

use icmbench_metrics::clipiqa::{ClipIqa, MIN_SIDE};
use icmbench_models::RuntimeOptions;

/// Within 2e-5 of pyiqa on every input (scores 0.50–0.71; the random text features sit
/// behind a logit scale of 1000, which magnifies float32 rounding: 1.6e-6 seen with ONNX
/// Runtime in Python), on the five calibration images and on two odd-sized crops.
#[test]
fn clipiqa_with_fixed_random_weights_matches_pyiqa() {
    let fx = common::json("tests/fixtures/clipiqa_reference.json");
    let m = ClipIqa::load("clipiqa-random", "clipiqa-random", &RuntimeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let inputs = fx["inputs"].as_object().expect("inputs");
    assert_eq!(inputs.len(), 7);
    let mut scores = Vec::new();
    for (name, entry) in inputs {
        let img = common::input(entry);
        let want = fx["score"][name].as_f64().expect("score");
        let got = m.score(&img).unwrap();
        eprintln!("clipiqa-random {name}: icmbench {got:.7}, pyiqa {want:.7}, diff {:.1e}", got - want);
        assert!((got - want).abs() < 2e-5, "{name}: {got} vs {want}");
        scores.push(got);
    }
    // The weights make the score depend on the image: a wrong input would show.
    let spread = scores.iter().cloned().fold(f64::MIN, f64::max) - scores.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 0.1, "{scores:?}");
}

/// Sides under 32 are refused with a message naming the minimum, not scored.
#[test]
fn clipiqa_refuses_images_under_32_pixels() {
    let m = ClipIqa::load("clipiqa-random", "clipiqa-random", &RuntimeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let img = image::RgbImage::new(MIN_SIDE - 1, 300);
    let err = m.score(&img).unwrap_err().to_string();
    assert!(err.contains("32x32"), "{err}");
    assert!(m.score(&image::RgbImage::new(MIN_SIDE, MIN_SIDE)).is_ok());
}
