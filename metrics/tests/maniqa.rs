//! MANIQA: icmbench's Rust crops (pyiqa's `uniform_crop`, with its bilinear upscale of
//! small images) against pyiqa's own, and the whole path (crops + the ONNX graph of
//! tools/models/build_maniqa.py with fixed random weights, `maniqa-random`) against pyiqa's
//! MANIQA running the same weights. Reference values and how they were made:
//! tests/fixtures/maniqa_reference.json (scripts/make-maniqa-fixture.py).

mod common;

use icmbench_metrics::maniqa::{CROP, CROPS, Maniqa, crops};
use icmbench_models::RuntimeOptions;

fn inputs() -> Vec<(String, image::RgbImage, serde_json::Value)> {
    let fx = common::json("tests/fixtures/maniqa_reference.json");
    let entries = fx["inputs"].as_object().expect("inputs");
    assert_eq!(entries.len(), 3);
    entries
        .iter()
        .map(|(name, e)| {
            let img = common::input(e);
            (name.clone(), img, e.clone())
        })
        .collect()
}

/// Each crop's sum and sum of squares (50 176 values per channel, float32) within 2e-2 and
/// 2e-2 of pyiqa's: the crops' positions and the upscale's sizes and weights are pyiqa's.
/// A crop one pixel off changes a sum by about 1 or more on these images.
#[test]
fn crops_match_pyiqa() {
    for (name, img, e) in inputs() {
        let c = crops(&img);
        assert_eq!(c.len(), CROPS * 3 * CROP * CROP);
        for (k, crop) in c.chunks_exact(3 * CROP * CROP).enumerate() {
            let sum: f64 = crop.iter().map(|&v| f64::from(v)).sum();
            let sq: f64 = crop.iter().map(|&v| f64::from(v).powi(2)).sum();
            let (ws, wq) = (
                e["crop_sum"][k].as_f64().expect("sum"),
                e["crop_sum_sq"][k].as_f64().expect("sum_sq"),
            );
            assert!(
                (sum - ws).abs() < 2e-2 && (sq - wq).abs() < 2e-2,
                "{name} crop {k}: {sum} {sq} vs {ws} {wq}"
            );
        }
    }
}

/// End to end with the `maniqa-random` model: within 1e-5 of pyiqa's MANIQA with the same
/// weights (scores about 1-4; 6e-8 seen with ONNX Runtime in Python), on an image needing
/// no upscale, an odd-sized crop and one that is upscaled first.
#[test]
fn maniqa_with_fixed_random_weights_matches_pyiqa() {
    let m = Maniqa::load("maniqa-random", "maniqa-random", &RuntimeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut scores = Vec::new();
    for (name, img, e) in inputs() {
        let want = e["score"].as_f64().expect("score");
        let got = m.score(&img).unwrap();
        eprintln!("maniqa-random {name}: icmbench {got:.7}, pyiqa {want:.7}, diff {:.1e}", got - want);
        assert!((got - want).abs() < 1e-5 * want.abs().max(1.0), "{name}: {got} vs {want}");
        scores.push(got);
    }
    let spread = scores.iter().cloned().fold(f64::MIN, f64::max) - scores.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 0.1, "{scores:?}");
}
