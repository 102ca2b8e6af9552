//! Every registered metric on a 768×512 photo (NIQE and BRISQUE included), the SSIM and
//! MS-SSIM kernels alone on one and on every core, LPIPS's
//! overhead over a bare model run, MUSIQ's preprocessing and full path, CLIP-IQA and TOPIQ,
//! COCO evaluation,
//! the detector, the LL-ICM restorers (tiled and untiled) and the synthetic degradations.

use criterion::{Criterion, criterion_main};
use icmbench_benches::{distorted, photo_768x512};

/// Every per-image metric of the catalogue on the 768x512 photo and its JPEG (q50) copy.
fn metrics(c: &mut Criterion) {
    let reference = photo_768x512();
    let dist = distorted(&reference);
    let mut group = c.benchmark_group("metric_768x512");
    for name in icmbench_metrics::catalogue::per_image().map(|d| d.name) {
        // Metrics whose model is exported by the user (MUSIQ, CLIP-IQA, TOPIQ, MANIQA) may be absent;
        // their random-weight models are timed in `exported_models`.
        let m = match icmbench_metrics::by_name(name, &icmbench_models::RuntimeOptions::default()) {
            Ok(m) => m,
            Err(e @ icmbench_metrics::MetricError::Unavailable { .. })
                if ["musiq", "clipiqa", "topiq", "maniqa"].iter().any(|p| name.starts_with(p)) =>
            {
                eprintln!("skipping {name}: {e}");
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        group.bench_function(name, |b| b.iter(|| m.compute(&reference, &dist).expect("metric")));
    }
    group.finish();
}

/// The SSIM and MS-SSIM kernels alone on the photo's grey planes (no colour conversion),
/// on a pool of one thread and of every core (one call's latency, and the throughput of
/// calls spread over the pool): the figures the README compares with the
/// machine's limit (`benches/limits.rs`). Throughput is the SSIM map's output pixels.
fn ssim_kernels(c: &mut Criterion) {
    use icmbench_metrics::ssim::{MsSsimPooling, SsimParams, ms_ssim, ssim_stats};
    let (a, b) = (photo_768x512(), distorted(&photo_768x512()));
    let (x, y) = (
        icmbench_metrics::colour::matlab_rgb2gray(&a),
        icmbench_metrics::colour::matlab_rgb2gray(&b),
    );
    let (w, h) = (a.width() as usize, a.height() as usize);
    let p = SsimParams::default();
    let mut group = c.benchmark_group("kernel_768x512");
    group.throughput(criterion::Throughput::Elements(((w + 1 - p.window) * (h + 1 - p.window)) as u64));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ssim = || ssim_stats(&x, &y, w, h, &p).expect("ssim").ssim;
    let ms_ssim = || ms_ssim(&x, &y, w, h, &p, MsSsimPooling::PytorchMsssim).expect("ms-ssim");
    let kernels: [(&str, &(dyn Fn() -> f64 + Sync)); 2] = [("ssim_stats_grey", &ssim), ("ms_ssim_grey", &ms_ssim)];
    for threads in [1, cores] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        // A sample's iterations all inside one `install`, so the pool's threads stay awake
        // between calls as a run's busy workers are (entering the pool from outside wakes
        // sleeping threads, which on this VM costs 0.1–0.3 ms per call: an idle vCPU's
        // wake-up, not the kernel's work). With `spread`, the calls are spread over the pool
        // (each still splits into tiles), as a run's workers score their images at once: the
        // throughput; the time is per call either way.
        let timed = |iters: u64, f: &(dyn Fn() -> f64 + Sync), spread: bool| {
            use rayon::prelude::*;
            pool.install(|| {
                let start = std::time::Instant::now();
                if spread {
                    (0..iters).into_par_iter().for_each(|_| {
                        std::hint::black_box(f());
                    });
                } else {
                    (0..iters).for_each(|_| {
                        std::hint::black_box(f());
                    });
                }
                start.elapsed()
            })
        };
        for (name, f) in kernels {
            group.bench_function(format!("{name}/{threads}_threads"), |bench| {
                bench.iter_custom(|iters| timed(iters, f, false))
            });
            if threads > 1 {
                group.bench_function(format!("{name}/{threads}_threads_throughput"), |bench| {
                    bench.iter_custom(|iters| timed(iters, f, true))
                });
            }
        }
    }
    group.finish();
}

/// LPIPS on a 768x512 pair through the metric, and the bare model run on inputs converted
/// beforehand: the difference is icmbench's overhead (image conversion, checks).
fn lpips(c: &mut Criterion) {
    let reference = photo_768x512();
    let dist = distorted(&reference);
    let opts = icmbench_models::RuntimeOptions::default();
    let metric = icmbench_metrics::lpips::Lpips::load("lpips-alex", &opts).expect("lpips-alex model (make models)");
    let model = icmbench_models::Manifest::shipped()
        .expect("manifest")
        .load("lpips-alex", &icmbench_models::models_dir(), &opts)
        .expect("model");
    let (mut in0, mut in1) = (Vec::new(), Vec::new());
    icmbench_metrics::lpips::to_nchw_pm1(&reference, &mut in0);
    icmbench_metrics::lpips::to_nchw_pm1(&dist, &mut in1);
    let shape = [1usize, 3, 512, 768];
    let mut group = c.benchmark_group("lpips_768x512");
    group.sample_size(10);
    group.bench_function("metric_compute", |b| {
        b.iter(|| icmbench_metrics::Metric::compute(&metric, &reference, &dist).expect("lpips"))
    });
    group.bench_function("bare_session_run", |b| {
        b.iter(|| model.run(&[("in0", &shape, &in0), ("in1", &shape, &in1)], &["lpips"]).expect("run"))
    });
    for t in [1usize, 2] {
        let o = icmbench_models::RuntimeOptions { intra_threads: t, ..opts };
        let model = icmbench_models::Manifest::shipped()
            .expect("manifest")
            .load("lpips-alex", &icmbench_models::models_dir(), &o)
            .expect("model");
        group.bench_function(format!("bare_session_run/{t}_intra"), |b| {
            b.iter(|| model.run(&[("in0", &shape, &in0), ("in1", &shape, &in1)], &["lpips"]).expect("run"))
        });
    }
    group.finish();
}

/// MUSIQ on a 768x512 photo: the Rust multi-scale preprocessing alone, and the whole
/// metric with the `musiq-random` model (the true architecture; timings equal a real export's).
fn musiq(c: &mut Criterion) {
    let img = photo_768x512();
    let m = icmbench_metrics::musiq::Musiq::load("musiq-random", "musiq-random", &icmbench_models::RuntimeOptions::default())
        .expect("musiq-random model (make models)");
    let mut group = c.benchmark_group("musiq_768x512");
    group.sample_size(10);
    group.bench_function("preprocessing", |b| b.iter(|| icmbench_metrics::musiq::multiscale_patches(&img)));
    group.bench_function("metric_compute", |b| b.iter(|| m.score(&img).expect("musiq")));
    group.finish();
}

/// CLIP-IQA, TOPIQ (no reference and full reference) and MANIQA on the 768x512 photo and
/// its JPEG copy, with the random-weight models of the true architectures
/// (`clipiqa-random`, `topiq-nr-random`, `topiq-fr-random`, `maniqa-random`; timings equal
/// a real export's).
fn exported_models(c: &mut Criterion) {
    use icmbench_metrics::Metric;
    let reference = photo_768x512();
    let dist = distorted(&reference);
    let rt = icmbench_models::RuntimeOptions::default();
    let models: Vec<(&str, Box<dyn Metric>)> = vec![
        (
            "clipiqa",
            Box::new(
                icmbench_metrics::clipiqa::ClipIqa::load("clipiqa-random", "clipiqa-random", &rt)
                    .expect("clipiqa-random model (make models)"),
            ),
        ),
        (
            "topiq-nr",
            Box::new(
                icmbench_metrics::topiq::Topiq::load("topiq-nr-random", "topiq-nr-random", false, &rt).expect("topiq-nr-random model"),
            ),
        ),
        (
            "topiq-fr",
            Box::new(icmbench_metrics::topiq::Topiq::load("topiq-fr-random", "topiq-fr-random", true, &rt).expect("topiq-fr-random model")),
        ),
        (
            "maniqa",
            Box::new(icmbench_metrics::maniqa::Maniqa::load("maniqa-random", "maniqa-random", &rt).expect("maniqa-random model")),
        ),
    ];
    let mut group = c.benchmark_group("exported_768x512");
    // MANIQA takes about half a minute a call: ten single calls, no warm-up beyond one.
    group
        .sample_size(10)
        .sampling_mode(criterion::SamplingMode::Flat)
        .warm_up_time(std::time::Duration::from_millis(1));
    for (name, m) in &models {
        group.bench_function(*name, |b| b.iter(|| m.compute(&reference, &dist).expect("metric")));
    }
    group.finish();
}

/// COCO evaluation (load + evaluate + accumulate + summarize) of cocoapi's
/// instances_val2014_100 with its fake bbox results; pycocotools' time for
/// evaluate + accumulate + summarize on the same files is in tests/fixtures/coco_reference.json.
fn eval_map(c: &mut Criterion) {
    let dir = icmbench_benches::repo_root().join("tests/fixtures/coco");
    let (gt, dt) = (
        dir.join("instances_val2014_100.json"),
        dir.join("instances_val2014_fakebbox100_results.json"),
    );
    let mut group = c.benchmark_group("eval_map_val2014_100");
    group.sample_size(20);
    group.bench_function("bbox_files", |b| {
        b.iter(|| icmbench_metrics::coco::evaluate_files(&gt, &dt, icmbench_metrics::coco::IouType::Bbox).expect("eval"))
    });
    let coco_gt = icmbench_metrics::coco::load_ground_truth(&gt).expect("gt");
    let coco_dt = coco_gt.load_res(&dt).expect("dt");
    group.bench_function("bbox_evaluate_only", |b| {
        b.iter(|| {
            icmbench_metrics::coco::evaluate(coco_gt.clone(), coco_dt.clone(), icmbench_metrics::coco::IouType::Bbox, "dt").expect("eval")
        })
    });
    group.finish();
}

/// NanoDet (416x416) on a 768x512 photo: preprocessing, network, decoding and NMS.
fn detector(c: &mut Criterion) {
    let img = photo_768x512();
    let model = icmbench_models::Manifest::shipped()
        .expect("manifest")
        .load(
            "nanodet",
            &icmbench_models::models_dir(),
            &icmbench_models::RuntimeOptions::default(),
        )
        .expect("nanodet model (make models)");
    let d = icmbench_models::detect::Detector::new(model, icmbench_models::detect::DetectorSpec::nanodet());
    let mut group = c.benchmark_group("detector_768x512");
    group.sample_size(20);
    group.bench_function("nanodet", |b| b.iter(|| d.detect(&img).expect("detect")));
    group.finish();
}

/// The LL-ICM task models on what the example gives them: the x4 model on a 192x128
/// input (a 768x512 photo downscaled x4), the demo denoiser on a noisy 768x512 photo,
/// each untiled and with the example's tiling; and the degradations themselves.
fn restorers(c: &mut Criterion) {
    use icmbench_datasets::degrade::{Degradation, apply};
    use icmbench_models::restore::{Restorer, RestorerSpec};
    let img = photo_768x512();
    let opts = icmbench_models::RuntimeOptions::default();
    let mut group = c.benchmark_group("restore");
    group.sample_size(10);
    let small = apply(&img, &Degradation::Downscale { factor: 4 }, 0).expect("downscale");
    let sr = icmbench_models::Manifest::shipped()
        .expect("manifest")
        .load("esrgan-slim-x4", &icmbench_models::models_dir(), &opts)
        .expect("esrgan-slim-x4 model (make models)");
    let sr = Restorer::new(sr, RestorerSpec::esrgan_x4());
    group.bench_function("esrgan_x4_192x128/untiled", |b| b.iter(|| sr.restore(&small, 0, 0).expect("sr")));
    group.bench_function("esrgan_x4_192x128/tile128_overlap16", |b| {
        b.iter(|| sr.restore(&small, 128, 16).expect("sr"))
    });
    let noisy = apply(&img, &Degradation::Noise { sigma: 25.0 }, 0).expect("noise");
    let dir = icmbench_benches::repo_root().join("models/demo-denoiser");
    let text = std::fs::read_to_string(dir.join("restorer.toml")).expect("demo denoiser contract");
    let spec: RestorerSpec = toml::from_str(&text).expect("restorer.toml");
    let dn = icmbench_models::Model::load("demo-denoiser", &dir.join("denoiser.onnx"), &opts).expect("demo denoiser");
    let dn = Restorer::new(dn, spec);
    group.bench_function("demo_denoiser_768x512/untiled", |b| {
        b.iter(|| dn.restore(&noisy, 0, 0).expect("dn"))
    });
    group.bench_function("demo_denoiser_768x512/tile256_overlap16", |b| {
        b.iter(|| dn.restore(&noisy, 256, 16).expect("dn"))
    });
    group.bench_function("degrade_768x512/noise", |b| {
        b.iter(|| apply(&img, &Degradation::Noise { sigma: 25.0 }, 1).expect("noise"))
    });
    group.bench_function("degrade_768x512/downscale_x4", |b| {
        b.iter(|| apply(&img, &Degradation::Downscale { factor: 4 }, 1).expect("downscale"))
    });
    group.finish();
}

/// This file's benchmark group, run by `criterion_main!`: every benchmark above, 20 samples
/// each, with criterion's command-line options. Written out rather than generated by
/// `criterion_group!`, whose function cannot carry a doc comment.
pub fn benches() {
    let mut criterion = Criterion::default().sample_size(20).configure_from_args();
    metrics(&mut criterion);
    ssim_kernels(&mut criterion);
    lpips(&mut criterion);
    musiq(&mut criterion);
    exported_models(&mut criterion);
    eval_map(&mut criterion);
    detector(&mut criterion);
    restorers(&mut criterion);
}

criterion_main!(benches);
