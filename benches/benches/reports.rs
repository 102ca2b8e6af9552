//! Bjøntegaard deltas per method, and the Polars aggregation of 100,000 result rows.

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use icmbench_reports::aggregate::aggregate;
use icmbench_reports::bd::{BdOptions, Curve, Method, bd};
use icmbench_reports::store::{ResultRow, Status};

fn bd_methods(c: &mut Criterion) {
    // bjontegaard's example_usage.py test case 3 (six points).
    let a = Curve::new(
        "a",
        vec![82472.76, 26875.24, 9487.76, 4593.6, 3600.0, 2900.0],
        vec![43.825, 41.404, 40.037, 38.615, 36.5, 35.1],
    );
    let t = Curve::new(
        "t",
        vec![99896.96, 33952.04, 9787.8, 4469.0, 4040.0, 3300.0],
        vec![44.731, 41.875, 40.121, 38.651, 37.0, 36.5],
    );
    let mut group = c.benchmark_group("bd_rate_and_metric");
    for method in [Method::Pchip, Method::Akima, Method::Cubic] {
        let opts = BdOptions {
            method,
            min_overlap: 0.0,
            ..Default::default()
        };
        group.bench_function(method.name(), |b| b.iter(|| bd(&a, &t, &opts).expect("bd")));
    }
    group.finish();
}

/// 100 images x 10 codecs x 10 qualities x 10 repetitions of the dataset = 100,000 rows.
fn rows() -> Vec<ResultRow> {
    let mut out = Vec::with_capacity(100_000);
    for rep in 0..10 {
        for img in 0..100u32 {
            for codec in 0..10 {
                for q in 0..10 {
                    let x = f64::from(img * 7 + codec * 13 + q * 3 + rep) % 17.0;
                    out.push(ResultRow {
                        dataset: format!("d{rep}"),
                        image: format!("img{img}.png"),
                        image_hash: format!("{img:032x}"),
                        width: 768,
                        height: 512,
                        conversion: "rgb8".into(),
                        preprocess: "none".into(),
                        codec: format!("codec{codec}"),
                        codec_kind: "jpeg".into(),
                        codec_version: "v".into(),
                        quality: f64::from(q),
                        status: Status::Ok,
                        error: None,
                        bytes: Some(10_000 + u64::from(q) * 1000),
                        bpp: Some((10_000.0 + f64::from(q) * 1000.0) * 8.0 / (768.0 * 512.0)),
                        bpp_estimated: None,
                        encode_ms: Some(3.0),
                        decode_ms: Some(1.0),
                        metrics: BTreeMap::from([
                            ("psnr-rgb".to_string(), 30.0 + x),
                            ("ssim-grey".to_string(), 0.9 + x / 1000.0),
                            ("ms-ssim-rgb".to_string(), 0.95 + x / 1000.0),
                        ]),
                        detections: None,
                    });
                }
            }
        }
    }
    out
}

fn aggregation(c: &mut Criterion) {
    let rows = rows();
    assert_eq!(rows.len(), 100_000);
    let mut group = c.benchmark_group("aggregate");
    group.sample_size(10);
    group.bench_function("100k_rows", |b| b.iter(|| aggregate(&rows).expect("aggregate")));
    group.finish();
}

criterion_group!(benches, bd_methods, aggregation);
criterion_main!(benches);
