//! The iterative (IR-SDE) restorer against daclip-uir's own sampling code
//! (`utils/sde_utils.py`, commit c2cc141) on a tiny random step graph with DA-CLIP's
//! signature: same seed (icmbench's SplitMix64 draws replaced `torch.randn_like` in the
//! reference), same schedule tables, same samples. Fixture and recipe:
//! `scripts/make-irsde-fixture.py` → `tests/fixtures/irsde/`.

use icmbench_datasets::degrade::SplitMix64;
use icmbench_models::irsde::{IrSdeParams, IterativeRestorer, IterativeSpec, Sampler, Schedule, ThetaSchedule};
use icmbench_models::{Model, RuntimeOptions};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    schedule: String,
    sampler: String,
    seed: u64,
    thetas: Vec<f64>,
    sigma_bars: Vec<f64>,
    dt: f64,
    output_nchw: Vec<f64>,
    output_u8: Vec<u8>,
}

#[derive(Deserialize)]
struct Reference {
    width: u32,
    height: u32,
    lq_u8: Vec<u8>,
    text_context: Vec<f32>,
    image_context: Vec<f32>,
    context_graph_outputs: std::collections::BTreeMap<String, Vec<f64>>,
    cases: Vec<Case>,
}

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/irsde")
}

fn reference() -> Reference {
    serde_json::from_str(&std::fs::read_to_string(dir().join("reference.json")).unwrap()).unwrap()
}

fn params(c: &Case) -> IrSdeParams {
    IrSdeParams {
        max_sigma: 50.0,
        steps: 100,
        schedule: if c.schedule == "cosine" {
            ThetaSchedule::Cosine
        } else {
            ThetaSchedule::Linear
        },
        eps: 0.005,
        sampler: if c.sampler == "posterior" {
            Sampler::Posterior
        } else {
            Sampler::Sde
        },
    }
}

fn max_rel(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - y).abs() / y.abs().max(1e-3))
        .fold(0.0, f64::max)
}

/// The schedule tables equal torch's float32 ones within 4e-6 relative (measured: θ 1.0e-6,
/// two cosine values an ulp apart, torch's vectorised `cos` against a correctly rounded
/// one; σ̄ 1.7e-7; dt exact).
#[test]
fn schedule_tables_match_daclip_uir() {
    for c in &reference().cases {
        let s = Schedule::new(&params(c));
        let (th, sb) = (max_rel(&s.thetas, &c.thetas), max_rel(&s.sigma_bars, &c.sigma_bars));
        let dt = (f64::from(s.dt) - c.dt).abs() / c.dt;
        eprintln!("{} schedule: thetas {th:.2e}, sigma_bars {sb:.2e}, dt {dt:.2e}", c.schedule);
        assert!(th < 4e-6 && sb < 4e-6 && dt < 4e-6, "{th} {sb} {dt}");
    }
}

/// 100 steps of posterior (DA-CLIP's default) and Euler–Maruyama sampling with the same
/// draws give daclip-uir's samples within 4e-6 of the largest value (measured: 8.4e-7
/// posterior/cosine, 3.8e-7 sde/cosine, 6.5e-7 posterior/linear: a few float32 ulp,
/// ONNX Runtime's convolutions against torch's), and the same 8-bit image. The samples are far outside [0, 1]: the random network's noise
/// estimate is useless, and each step multiplies the state's distance to μ by e^(θ_t·dt)
/// (×200 over the run), which tests the arithmetic over a wide range.
#[test]
fn samples_match_daclip_uir_with_the_same_draws() {
    let r = reference();
    let step = || Model::load("tiny_unet", &dir().join("tiny_unet.onnx"), &RuntimeOptions::default()).unwrap();
    let (w, h) = (r.width as usize, r.height as usize);
    let shape = [1, 3, h, w];
    let mu: Vec<f32> = (0..3)
        .flat_map(|c| r.lq_u8.iter().skip(c).step_by(3).map(|&v| f32::from(v) / 255.0))
        .collect();
    let contexts = vec![
        ("text_context".to_string(), vec![1, r.text_context.len()], r.text_context.clone()),
        ("image_context".to_string(), vec![1, r.image_context.len()], r.image_context.clone()),
    ];
    for c in &r.cases {
        let spec: IterativeSpec = toml::from_str(&format!(
            "[sde]\nmax_sigma = 50.0\nsteps = 100\nschedule = \"{}\"\neps = 0.005\nsampler = \"{}\"\n",
            c.schedule, c.sampler
        ))
        .unwrap();
        assert_eq!(spec.sde, params(c));
        let restorer = IterativeRestorer::new(step(), None, spec);
        let mut rng = SplitMix64::new(c.seed);
        let out = restorer.sample_nchw(&shape, &mu, &contexts, &mut || rng.normal() as f32).unwrap();
        let scale = c.output_nchw.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let diff = out
            .iter()
            .zip(&c.output_nchw)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0, f64::max);
        let u8s: Vec<u8> = (0..h * w)
            .flat_map(|i| (0..3).map(move |ch| (ch, i)))
            .map(|(ch, i)| (out[ch * h * w + i].clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        let u8_diff = u8s.iter().zip(&c.output_u8).filter(|(a, b)| a != b).count();
        eprintln!(
            "{} {} seed {}: max |diff| {diff:.3e} of max |x| {scale:.1} ({:.2e} relative); {u8_diff} 8-bit values differ",
            c.sampler,
            c.schedule,
            c.seed,
            diff / scale
        );
        assert!(diff <= 4e-6 * scale, "{diff} vs {scale}");
        assert_eq!(u8_diff, 0);
    }
}

/// The context graph's outputs, the seed and the whole image path: `restore` on the
/// fixture's crop with the context graph equals the reference's context vectors fed by
/// hand (the graph's outputs equal torch's within 1e-6), the same seed gives the same
/// image, another seed another one.
#[test]
fn restore_feeds_the_context_graph_and_is_seeded() {
    let r = reference();
    for (name, v) in &r.context_graph_outputs {
        assert_eq!(v.len(), 8, "{name}");
    }
    let ctx = Model::load("tiny_context", &dir().join("tiny_context.onnx"), &RuntimeOptions::default()).unwrap();
    let shape = [1usize, 3, r.height as usize, r.width as usize];
    let mu: Vec<f32> = (0..3)
        .flat_map(|c| r.lq_u8.iter().skip(c).step_by(3).map(|&v| f32::from(v) / 255.0))
        .collect();
    let out = ctx.run(&[("image", &shape, &mu)], &["text_context", "image_context"]).unwrap();
    for ((_, got), name) in out.iter().zip(["text_context", "image_context"]) {
        let diff = max_rel(got, &r.context_graph_outputs[name]);
        assert!(diff < 1e-5, "{name}: {diff}");
    }
    let spec: IterativeSpec = toml::from_str(&std::fs::read_to_string(dir().join("irsde.toml")).unwrap()).unwrap();
    let step = Model::load("tiny_unet", &dir().join("tiny_unet.onnx"), &RuntimeOptions::default()).unwrap();
    let restorer = IterativeRestorer::new(step, Some(ctx), spec);
    let img = image::RgbImage::from_raw(r.width, r.height, r.lq_u8.clone()).unwrap();
    let run = |seed: u64| {
        let mut rng = SplitMix64::new(seed);
        restorer.restore(&img, &mut || rng.normal() as f32).unwrap()
    };
    let a = run(7);
    assert_eq!(a.dimensions(), (r.width, r.height));
    assert_eq!(a, run(7));
    assert_ne!(a, run(8));
}
