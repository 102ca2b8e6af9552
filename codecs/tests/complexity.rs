//! kMAC per pixel counted from ONNX Runtime's profile ([`icmbench_models::complexity`])
//! against an independent count. Reference: `tests/fixtures/kmac_reference.json`, made by
//! `scripts/make-kmac-fixture.py` (onnx 1.23.2 shape inference and ONNX's reference
//! evaluator for the shapes, MACs by hand: Conv |Y|·Cin/g·kH·kW, ConvTranspose
//! |X|·Cout/g·kH·kW, MatMul |Y|·K, Gemm |Y|·K, no bias; onnx-tool 1.0.1's totals recorded
//! beside, which differ only by its bias adds and its ConvTranspose convention). Graphs:
//! the demo codec's g_a (Conv) and g_s (Conv + ConvTranspose), the demo denoiser, TCM's
//! reduced g_a (attention as MatMul), and a segmenter stand-in with no counted operator.

mod common;

use icmbench_codecs::Codec;
use icmbench_codecs::learned::LearnedCodec;
use icmbench_models::{Model, RuntimeOptions};

fn profiled() -> RuntimeOptions {
    RuntimeOptions {
        profile: true,
        intra_threads: 1,
        ..Default::default()
    }
}

/// Every graph's MACs by operator equal the hand count exactly.
#[test]
fn macs_from_the_profile_equal_the_hand_count() {
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("tests/fixtures/kmac_reference.json")).unwrap()).unwrap();
    for (path, g) in fx["graphs"].as_object().unwrap() {
        let model = Model::load(path, &common::root().join(path), &profiled()).unwrap();
        let (name, shape) = g["input_shape"].as_object().unwrap().iter().next().unwrap();
        let shape: Vec<usize> = shape.as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let zeros = vec![0.25f32; shape.iter().product()];
        let outputs: Vec<String> = model.outputs().iter().map(|o| o.name.clone()).collect();
        let first = [outputs[0].as_str()];
        model.run(&[(name, &shape, &zeros)], &first).unwrap();
        let got = model.macs().unwrap();
        for (op, want) in g["macs_by_op"].as_object().unwrap() {
            assert_eq!(got.by_op.get(op).copied().unwrap_or(0), want.as_u64().unwrap(), "{path} {op}");
        }
        assert_eq!(got.total(), g["macs_total"].as_u64().unwrap(), "{path}");
        let kmac = got.kmac_per_pixel(g["pixels"].as_u64().unwrap());
        assert!((kmac - g["kmac_per_px"].as_f64().unwrap()).abs() < 1e-9, "{path}: {kmac}");
        eprintln!("{path}: {kmac:.4} kMAC/px (onnx-tool total {})", g["onnx_tool"]["macs_total"]);
        assert!(model.macs().is_err(), "{path}: the profile ends once");
    }
    let plain = Model::load(
        "g_a",
        &common::root().join("models/demo-codec/q1/g_a.onnx"),
        &RuntimeOptions::default(),
    )
    .unwrap();
    assert!(plain.macs().unwrap_err().to_string().contains("profiling"));
}

/// A learned codec's encoder side is its analysis transform, its decoder side its synthesis
/// transform (a factorized-prior codec has no other graph): on a 96×64 image, exactly the
/// two graphs' counts.
#[test]
fn a_codecs_sides_are_its_graphs() {
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("tests/fixtures/kmac_reference.json")).unwrap()).unwrap();
    let codec = LearnedCodec::open(&common::root().join("models/demo-codec"), RuntimeOptions::default()).unwrap();
    let img = image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 2) as u8, (y * 3) as u8, 128]));
    let c = codec.complexity(&img, 1.0).unwrap().unwrap();
    let graphs = &fx["graphs"];
    assert_eq!(
        c.encoder.total(),
        graphs["models/demo-codec/q1/g_a.onnx"]["macs_total"].as_u64().unwrap()
    );
    assert_eq!(
        c.decoder.total(),
        graphs["models/demo-codec/q1/g_s.onnx"]["macs_total"].as_u64().unwrap()
    );
    assert!(icmbench_codecs::jpeg::Jpeg::default().complexity(&img, 50.0).is_none());
}
