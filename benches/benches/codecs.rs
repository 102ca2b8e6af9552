//! Encode + decode of a 768×512 photo for each in-process codec at a mid quality.

use criterion::{Criterion, criterion_group, criterion_main};
use icmbench_benches::photo_768x512;

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

criterion_group!(benches, codecs);
criterion_main!(benches);
