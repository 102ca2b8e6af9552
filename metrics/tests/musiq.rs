//! MUSIQ: icmbench's Rust preprocessing against pyiqa's own `get_multiscale_patches`, and
//! the whole path (preprocessing + the ONNX graph of tools/models/build_musiq.py with fixed
//! random weights, `musiq-random`) against pyiqa's MUSIQ running the same weights. Reference
//! values and how they were made: tests/fixtures/musiq_reference.json
//! (scripts/make-musiq-fixture.py).

mod common;
use common::root;

use icmbench_metrics::musiq::{Musiq, TOKEN, multiscale_patches};
use icmbench_models::RuntimeOptions;

fn fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/musiq_reference.json")).expect("musiq_reference.json");
    serde_json::from_str(&text).expect("JSON")
}

fn input(entry: &serde_json::Value) -> image::RgbImage {
    let path = root().join("third_party/iqa-calib").join(entry["file"].as_str().expect("file"));
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/fetch-test-fixtures.sh", path.display()))
        .to_rgb8();
    match entry["crop"].as_array() {
        Some(c) => {
            let c: Vec<u32> = c.iter().map(|v| v.as_u64().expect("crop") as u32).collect();
            image::imageops::crop_imm(&img, c[0], c[1], c[2], c[3]).to_image()
        }
        None => img,
    }
}

fn list(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

/// Sequence length, positions, scale ids and masks exactly; per-token pixel sums within
/// 2e-3 and sums of squares within 2e-3 (3072 float32 values each; measured at most 7e-4);
/// the full first token of each scale of the two crops within 1e-5 per value.
#[test]
fn preprocessing_matches_pyiqa() {
    let fx = fixture();
    for (name, entry) in fx["inputs"].as_object().expect("inputs") {
        let (tokens, len) = multiscale_patches(&input(entry));
        assert_eq!(len as u64, entry["len"].as_u64().expect("len"), "{name}: sequence length");
        let token = |i: usize| &tokens[i * TOKEN..(i + 1) * TOKEN];
        for (col, key) in ["position", "scale", "mask"].iter().enumerate() {
            let want = list(&entry[key]);
            let got: Vec<f64> = (0..len).map(|i| f64::from(token(i)[TOKEN - 3 + col])).collect();
            assert_eq!(got, want, "{name}: {key}");
        }
        let (mut worst_sum, mut worst_sq) = (0.0f64, 0.0f64);
        for (i, (s, sq)) in list(&entry["sum"]).into_iter().zip(list(&entry["sum_sq"])).enumerate() {
            let px = &token(i)[..TOKEN - 3];
            worst_sum = worst_sum.max((px.iter().map(|&v| f64::from(v)).sum::<f64>() - s).abs());
            worst_sq = worst_sq.max((px.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() - sq).abs());
        }
        eprintln!("musiq {name}: L {len}, worst token sum diff {worst_sum:.2e}, sum of squares {worst_sq:.2e}");
        assert!(worst_sum < 2e-3 && worst_sq < 2e-3, "{name}: {worst_sum} {worst_sq}");
        if let Some(full) = entry["tokens"].as_object() {
            for (i, values) in full {
                let i: usize = i.parse().expect("index");
                for (k, (g, w)) in token(i).iter().zip(list(values)).enumerate() {
                    assert!((f64::from(*g) - w).abs() < 1e-5, "{name} token {i} value {k}: {g} vs {w}");
                }
            }
        }
    }
}

/// End to end with the `musiq-random` model: within 1e-3 of pyiqa's MUSIQ with the same
/// weights (scores around 45; float32 through 14 transformer layers).
#[test]
fn musiq_with_fixed_random_weights_matches_pyiqa() {
    let fx = fixture();
    let m = Musiq::load("musiq-random", "musiq-random", &RuntimeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    for (name, entry) in fx["inputs"].as_object().expect("inputs") {
        let want = entry["score"].as_f64().expect("score");
        let got = m.score(&input(entry)).unwrap();
        eprintln!("musiq-random {name}: icmbench {got:.5}, pyiqa {want:.5}, diff {:.1e}", got - want);
        assert!((got - want).abs() < 1e-3, "{name}: {got} vs {want}");
    }
}
