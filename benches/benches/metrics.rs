//! PSNR, SSIM and MS-SSIM on a 768×512 photo.

use criterion::{Criterion, criterion_group, criterion_main};
use icmbench_benches::{distorted, photo_768x512};

fn metrics(c: &mut Criterion) {
    let reference = photo_768x512();
    let dist = distorted(&reference);
    let mut group = c.benchmark_group("metric_768x512");
    for name in icmbench_metrics::METRICS {
        let m = icmbench_metrics::by_name(name).expect("registered metric");
        group.bench_function(*name, |b| b.iter(|| m.compute(&reference, &dist).expect("metric")));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = metrics
}
criterion_main!(benches);
