//! Coverage of the bootstrap BD-rate interval on synthetic curves with known noise.
//!
//! 30 images, six qualities. Image `i` at quality `q` has metric `25 + 3q + aᵢ + ε` and bpp
//! `0.1 · 2^q · exp(uᵢ + δ)` with the codec `test` spending 0.8 times the anchor's bits:
//! `aᵢ ~ N(0, 2²)` and `uᵢ ~ N(0, 0.3²)` are the image's difficulty (shared by both codecs),
//! `ε ~ N(0, 0.5²)` and `δ ~ N(0, 0.05²)` each codec's own noise. Over the population of
//! images, both mean curves are the same line in log rate, the test's shifted by log 0.8:
//! the true BD-rate is exactly −20 %. Over 200 trials (each a fresh set of images), the
//! 95 % interval of 1,000 resamples must cover −20 % in 93–97 % of them.

use icmbench_reports::bootstrap::{ImageTable, Resampling, add_intervals};
use icmbench_reports::report::{ReportOptions, build};
use icmbench_reports::store::{ResultRow, Status};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u = |rng: &mut ChaCha8Rng| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let (u1, u2) = (u(rng).max(f64::MIN_POSITIVE), u(rng));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn row(codec: &str, image: usize, q: usize, bpp: f64, metric: f64) -> ResultRow {
    ResultRow {
        dataset: "synthetic".into(),
        image: format!("{image}.png"),
        image_hash: format!("h{image}"),
        width: 100,
        height: 100,
        conversion: "rgb8".into(),
        preprocess: "none".into(),
        codec: codec.into(),
        codec_kind: codec.into(),
        codec_version: "v".into(),
        quality: q as f64,
        status: Status::Ok,
        error: None,
        bytes: Some((bpp * 1e4 / 8.0).round() as u64),
        bpp: Some(bpp),
        bpp_estimated: None,
        encode_ms: None,
        decode_ms: None,
        metrics: [("psnr-rgb".to_string(), metric)].into_iter().collect(),
        tasks: Default::default(),
        provenance: None,
    }
}

fn trial(rng: &mut ChaCha8Rng, seed: u64) -> (f64, (f64, f64)) {
    let mut rows = Vec::new();
    for i in 0..30 {
        let (a, u) = (2.0 * normal(rng), 0.3 * normal(rng));
        for (codec, factor) in [("anchor", 1.0), ("test", 0.8)] {
            for q in 0..6 {
                let bpp = factor * 0.1 * 2f64.powi(q as i32) * (u + 0.05 * normal(rng)).exp();
                rows.push(row(codec, i, q, bpp, 25.0 + 3.0 * q as f64 + a + 0.5 * normal(rng)));
            }
        }
    }
    let table = ImageTable::new("synthetic", &rows);
    let points = table.points(&vec![1; table.images.len()]);
    let opts = ReportOptions {
        anchor: Some("anchor".into()),
        resampling: Resampling {
            seed,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut report = build(&points, &opts, &|_| false).unwrap();
    let d = &mut report.datasets[0];
    add_intervals(d, &opts, table.images.len(), &|w| table.points(w), &opts.resampling, &|| {});
    let cell = &d.bd[0];
    (cell.bd_rate.unwrap(), cell.interval.as_ref().unwrap().bd_rate)
}

#[test]
fn the_95_percent_interval_covers_the_true_bd_rate_in_93_to_97_percent_of_trials() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let trials = 200;
    let mut covered = 0;
    let mut widths = Vec::new();
    for t in 0..trials {
        let (estimate, (lo, hi)) = trial(&mut rng, t);
        assert!(
            lo <= estimate + 2.0 && estimate - 2.0 <= hi,
            "trial {t}: {estimate} vs [{lo}, {hi}]"
        );
        widths.push(hi - lo);
        if lo <= -20.0 && -20.0 <= hi {
            covered += 1;
        }
    }
    let mean_width = widths.iter().sum::<f64>() / widths.len() as f64;
    eprintln!("covered {covered} of {trials}; mean width {mean_width:.2} percentage points");
    assert!((186..=194).contains(&covered), "covered {covered} of {trials}");
    assert!(mean_width > 0.5, "the noise must make intervals of some width: {mean_width}");
}
