//! Encode + decode of a 768×512 photo for each in-process codec at a mid quality, and the
//! demonstration learned codec split into network (ONNX Runtime) and entropy-coding time.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use icmbench_benches::photo_768x512;
use icmbench_codecs::learned::LearnedCodec;

fn codecs(c: &mut Criterion) {
    let img = photo_768x512();
    let mut group = c.benchmark_group("codec_768x512_encode_decode");
    group.sample_size(10);
    for (kind, quality) in [("jpeg", 75.0), ("webp", 75.0), ("avif", 60.0), ("png", 0.0)] {
        let codec = icmbench_codecs::builtin(kind).expect("builtin codec");
        group.bench_function(format!("{kind}_q{quality}"), |b| {
            b.iter(|| {
                let bits = codec.encode(&img, quality).expect("encode");
                codec.decode(&bits, img.width(), img.height()).expect("decode")
            })
        });
    }
    group.finish();
}

/// The demo codec (models/demo-codec, q2) on a 768x512 photo: whole encode and decode, and
/// their network and entropy parts (criterion's `iter_custom` summing the measured parts).
fn learned(c: &mut Criterion) {
    let img = photo_768x512();
    let dir = icmbench_benches::repo_root().join("models/demo-codec");
    let codec = LearnedCodec::open(&dir, icmbench_models::RuntimeOptions::default()).expect("models/demo-codec");
    let q = 2.0;
    let bits = codec.encode_detailed(&img, q).expect("encode").bitstream;
    let mut group = c.benchmark_group("learned_demo_768x512");
    group.sample_size(10);
    group.bench_function("encode", |b| b.iter(|| codec.encode_detailed(&img, q).expect("encode")));
    group.bench_function("decode", |b| b.iter(|| codec.decode_detailed(&bits).expect("decode")));
    let (codec, img, bits) = (&codec, &img, &bits);
    let encode_part = |iters: u64, network: bool| -> Duration {
        (0..iters)
            .map(|_| {
                let e = codec.encode_detailed(img, q).expect("encode");
                if network { e.network } else { e.entropy }
            })
            .sum()
    };
    let decode_part = |iters: u64, network: bool| -> Duration {
        (0..iters)
            .map(|_| {
                let d = codec.decode_detailed(bits).expect("decode");
                if network { d.network } else { d.entropy }
            })
            .sum()
    };
    group.bench_function("encode_network", |b| b.iter_custom(|n| encode_part(n, true)));
    group.bench_function("encode_entropy", |b| b.iter_custom(|n| encode_part(n, false)));
    group.bench_function("decode_network", |b| b.iter_custom(|n| decode_part(n, true)));
    group.bench_function("decode_entropy", |b| b.iter_custom(|n| decode_part(n, false)));
    group.finish();
}

criterion_group!(benches, codecs, learned);
criterion_main!(benches);
