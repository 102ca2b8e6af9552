//! Encode + decode of a 768×512 photo for each in-process codec at a mid quality, the
//! demonstration learned codec and the context-model families (autoregressive,
//! checkerboard, channel-conditional) split into network (ONNX Runtime) and entropy-coding
//! time.

use std::time::Duration;

use criterion::{Criterion, criterion_main};
use icmbench_benches::photo_768x512;
use icmbench_codecs::learned::LearnedCodec;

/// Encode + decode of the 768x512 photo for each in-process codec kind at one quality
/// (JPEG and WebP 75, AVIF 60, PNG lossless), built from the codec registry's defaults.
fn codecs(c: &mut Criterion) {
    let img = photo_768x512();
    let mut group = c.benchmark_group("codec_768x512_encode_decode");
    group.sample_size(10);
    for (kind, quality) in [("jpeg", 75.0), ("webp", 75.0), ("avif", 60.0), ("png", 0.0)] {
        let codec = icmbench_codecs::registry::find(kind)
            .expect("a codec kind")
            .build_default()
            .expect("in-process codec");
        group.bench_function(format!("{kind}_q{quality}"), |b| {
            b.iter(|| {
                let bits = codec.encode(&img, quality).expect("encode");
                codec.decode(&bits, img.width(), img.height()).expect("decode")
            })
        });
    }
    group.finish();
}

/// Whole encode and decode of one learned codec's quality point on a 768x512 photo, and
/// their network (ONNX Runtime, context graphs included) and entropy-coding parts
/// (criterion's `iter_custom` summing the measured parts).
fn learned_parts(c: &mut Criterion, group: &str, codec: &LearnedCodec, q: f64) {
    let img = photo_768x512();
    let bits = codec.encode_detailed(&img, q).expect("encode").bitstream;
    let mut group = c.benchmark_group(group);
    group.sample_size(10);
    group.bench_function("encode", |b| b.iter(|| codec.encode_detailed(&img, q).expect("encode")));
    group.bench_function("decode", |b| b.iter(|| codec.decode_detailed(&bits).expect("decode")));
    let (img, bits) = (&img, &bits);
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

/// The demo codec (models/demo-codec, q2), all cores.
fn learned(c: &mut Criterion) {
    let dir = icmbench_benches::repo_root().join("models/demo-codec");
    let codec = LearnedCodec::open(&dir, icmbench_models::RuntimeOptions::default()).expect("models/demo-codec");
    learned_parts(c, "learned_demo_768x512", &codec, 2.0);
}

/// Whole encode and decode of a large codec (a full-size export): criterion times the
/// whole calls, and the network and entropy-coding parts of the same calls are printed
/// (one pass, as each call takes seconds).
fn learned_totals(c: &mut Criterion, group: &str, codec: &LearnedCodec, q: f64) {
    let img = photo_768x512();
    let bits = codec.encode_detailed(&img, q).expect("encode").bitstream;
    let mut group = c.benchmark_group(group);
    group.sample_size(10);
    let parts = std::cell::Cell::new((0u32, Duration::ZERO, Duration::ZERO));
    let add = |n: Duration, e: Duration| {
        let (k, a, b) = parts.get();
        parts.set((k + 1, a + n, b + e));
    };
    let report = |what: &str| {
        let (k, n, e) = parts.replace((0, Duration::ZERO, Duration::ZERO));
        let k = k.max(1);
        eprintln!(
            "{what}: network {:.1} ms + entropy {:.1} ms per call (mean of {k})",
            n.as_secs_f64() * 1e3 / f64::from(k),
            e.as_secs_f64() * 1e3 / f64::from(k)
        );
    };
    group.bench_function("encode", |b| {
        b.iter(|| {
            let e = codec.encode_detailed(&img, q).expect("encode");
            add(e.network, e.entropy);
        })
    });
    report("encode");
    group.bench_function("decode", |b| {
        b.iter(|| {
            let d = codec.decode_detailed(&bits).expect("decode");
            add(d.network, d.entropy);
        })
    });
    report("decode");
    group.finish();
}

/// The context-model families on one ONNX Runtime thread (as CompressAI's timings in
/// tests/fixtures/learned-ctx/reference.json were taken with `torch.set_num_threads(1)`):
/// the reduced-width parity fixtures (encode, decode and their parts), and every codec
/// folder under `$ICMBENCH_BENCH_CODECS` (full-size exports, e.g. from
/// tools/export/compressai.py; encode and decode, parts printed).
fn learned_context(c: &mut Criterion) {
    let opts = icmbench_models::RuntimeOptions {
        intra_threads: 1,
        ..Default::default()
    };
    let fixtures = icmbench_benches::repo_root().join("tests/fixtures/learned-ctx");
    let extra = std::env::var_os("ICMBENCH_BENCH_CODECS").map(std::path::PathBuf::from);
    for (full, root) in [(false, Some(fixtures)), (true, extra)] {
        let Some(root) = root else { continue };
        let mut found: Vec<_> = std::fs::read_dir(&root)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.join("codec.json").is_file())
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        for dir in found {
            let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let codec = LearnedCodec::open(&dir, opts).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let q = codec.qualities()[0] as f64;
            if full {
                learned_totals(c, &format!("learned_full_{name}_768x512"), &codec, q);
            } else {
                learned_parts(c, &format!("learned_fixture_{name}_768x512"), &codec, q);
            }
        }
    }
}

/// This file's benchmark group, run by `criterion_main!`: the in-process codecs, the demo
/// learned codec and the context-model families, with criterion's command-line options.
/// Written out rather than generated by `criterion_group!`, whose function cannot carry a
/// doc comment.
pub fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    codecs(&mut criterion);
    learned(&mut criterion);
    learned_context(&mut criterion);
}

criterion_main!(benches);
