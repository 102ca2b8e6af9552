//! Iterative (diffusion) restorers: IR-SDE (Luo et al., ICML 2023), the restorer of DA-CLIP
//! (LL-ICM's backbone). The network is one **step graph** run once per step; the schedule,
//! the reverse-time update and the Gaussian draws are here, in Rust, so that a run is
//! reproduced from its seed.
//!
//! | item | what it is |
//! |---|---|
//! | [`IrSdeParams`] | `max_sigma`, `steps` (T), theta `schedule`, `eps`, the `sampler` (DA-CLIP's test.yml: 50, 100, cosine, 0.005, posterior) |
//! | [`Schedule`] | the tables daclip-uir's `IRSDE._initialize` builds: θ_t, σ_t, Σθ, σ̄_t, dt |
//! | [`posterior_step`], [`sde_step`] | one reverse step over plain arrays: `reverse_posterior_step` and `reverse_sde_step` |
//! | [`sample`] | the whole reverse process from `x_T = μ + max_sigma·z` to `x_0`, given a noise estimator and a noise source |
//! | [`IterativeSpec`] | the contract of a step graph (input and output names, the parameters, an optional context graph) |
//! | [`IterativeRestorer`] | a step graph (and context graph) loaded once, run on images |
//!
//! The step graph: `x` (the state), `mu` (the condition: the degraded image) NCHW in
//! [0, 1], `t` ([1], float: the step, T…1) and any context tensors → `noise` (the noise
//! estimate ε, NCHW like `x`). DA-CLIP's context (`text_context`, `image_context`: its
//! degradation and content embeddings of the degraded image) comes from a **context graph**
//! run once per image on the degraded image (NCHW, [0, 1], its own size; any resizing and
//! normalisation inside the graph); its outputs are passed to the step graph by name.
//!
//! Arithmetic is float32 in the reference's (torch's) order of operations, transcendental
//! functions correctly rounded, so that the tables and samples agree with torch's to a few
//! ulp. Parity with daclip-uir's own
//! sampling code on a tiny random network: `models/tests/irsde.rs`.

use std::path::PathBuf;

use image::RgbImage;
use serde::Deserialize;

use crate::{Model, ModelError};

/// How θ_t grows over the steps (`IRSDE(schedule=…)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThetaSchedule {
    /// The cosine schedule (DA-CLIP's).
    Cosine,
    /// Linear from 1e-4 to 2e-2, scaled by 1000 / (T + 1).
    Linear,
    /// θ = 1.
    Constant,
}

/// The reverse-time update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// `reverse_posterior`: the optimal posterior mean plus its standard deviation times a
    /// draw (DA-CLIP's default `sampling_mode`).
    Posterior,
    /// `reverse_sde`: Euler–Maruyama on the reverse SDE.
    Sde,
}

/// IR-SDE's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrSdeParams {
    /// The stationary noise level: on the 0–255 scale when ≥ 1 (50 in DA-CLIP), else on
    /// the [0, 1] scale.
    pub max_sigma: f64,
    /// Number of steps T (100 in DA-CLIP).
    pub steps: usize,
    /// The theta schedule.
    pub schedule: ThetaSchedule,
    /// The mean's remaining weight at t = T, e^(−Σθ·dt) (0.005 in DA-CLIP).
    pub eps: f64,
    /// The reverse update.
    pub sampler: Sampler,
}

impl IrSdeParams {
    /// DA-CLIP's test settings (`options/test.yml`).
    pub fn daclip() -> Self {
        Self {
            max_sigma: 50.0,
            steps: 100,
            schedule: ThetaSchedule::Cosine,
            eps: 0.005,
            sampler: Sampler::Posterior,
        }
    }

    /// Checks the values.
    pub fn check(&self) -> Result<(), String> {
        if !(self.max_sigma > 0.0 && self.max_sigma.is_finite()) {
            return Err(format!("max_sigma must be positive, not {}", self.max_sigma));
        }
        if !(1..=10_000).contains(&self.steps) {
            return Err(format!("steps must be 1 to 10000, not {}", self.steps));
        }
        if !(self.eps > 0.0 && self.eps < 1.0) {
            return Err(format!("eps must be in (0, 1), not {}", self.eps));
        }
        Ok(())
    }
}

/// The tables of IR-SDE (index t = 0…T; t = 0 is never a step).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// θ_t.
    pub thetas: Vec<f32>,
    /// σ_t = √(2·max_sigma²·θ_t).
    pub sigmas: Vec<f32>,
    /// Σθ up to t, minus θ_0.
    pub thetas_cumsum: Vec<f32>,
    /// σ̄_t = max_sigma·√(1 − e^(−2·Σθ_t·dt)).
    pub sigma_bars: Vec<f32>,
    /// The time step, −ln(eps) / Σθ_T.
    pub dt: f32,
    /// max_sigma on the [0, 1] scale.
    pub max_sigma: f32,
}

impl Schedule {
    /// The tables of `p` (daclip-uir `IRSDE._initialize`), in torch's float32 order of
    /// operations (`linspace`'s two-sided formula, `cumsum` accumulated in float64).
    pub fn new(p: &IrSdeParams) -> Self {
        let max_sigma = if p.max_sigma >= 1.0 { p.max_sigma / 255.0 } else { p.max_sigma };
        let t = p.steps;
        let thetas: Vec<f32> = match p.schedule {
            ThetaSchedule::Constant => vec![1.0; t + 1],
            ThetaSchedule::Linear => {
                let scale = 1000.0 / (t + 1) as f64;
                linspace((scale * 1e-4) as f32, (scale * 0.02) as f32, t + 1)
            }
            ThetaSchedule::Cosine => {
                let steps = t + 2;
                let (s, pi) = (0.008f64, std::f64::consts::PI as f32);
                let ac: Vec<f32> = linspace(0.0, steps as f32, steps + 1)
                    .into_iter()
                    .map(|x| {
                        let a = (x / steps as f32 + s as f32) / (1.0 + s) as f32 * pi * 0.5;
                        let c = cos32(a);
                        c * c
                    })
                    .collect();
                ac[1..=t + 1].iter().map(|v| 1.0 - v / ac[0]).collect()
            }
        };
        let mut acc = 0.0f64;
        let cumsum: Vec<f32> = thetas
            .iter()
            .map(|&v| {
                acc += f64::from(v);
                acc as f32 - thetas[0]
            })
            .collect();
        let last = cumsum.last().copied().unwrap_or(1.0);
        let dt = -1.0 / last * p.eps.ln() as f32;
        let ms2 = (max_sigma * max_sigma) as f32;
        let ms2x2 = (max_sigma * max_sigma * 2.0) as f32;
        Self {
            sigmas: thetas.iter().map(|&th| (ms2x2 * th).sqrt()).collect(),
            sigma_bars: cumsum.iter().map(|&c| (ms2 * (1.0 - exp32(-2.0 * c * dt))).sqrt()).collect(),
            thetas_cumsum: cumsum,
            thetas,
            dt,
            max_sigma: max_sigma as f32,
        }
    }

    /// Number of steps T.
    pub fn steps(&self) -> usize {
        self.thetas.len() - 1
    }
}

/// `e^v` correctly rounded to float32 (torch's float32 `exp`, within an ulp).
fn exp32(v: f32) -> f32 {
    f64::from(v).exp() as f32
}

/// `cos v` correctly rounded to float32.
fn cos32(v: f32) -> f32 {
    f64::from(v).cos() as f32
}

/// torch's float32 `linspace(start, end, n)`: `start + step·i` in the first half,
/// `end − step·(n − 1 − i)` in the second.
fn linspace(start: f32, end: f32, n: usize) -> Vec<f32> {
    if n == 1 {
        return vec![start];
    }
    let step = (end - start) / (n - 1) as f32;
    (0..n)
        .map(|i| {
            if i < n / 2 {
                start + step * i as f32
            } else {
                end - step * (n - 1 - i) as f32
            }
        })
        .collect()
}

/// One posterior step at `t` (daclip-uir `reverse_posterior_step`): the clean estimate
/// from the noise estimate `eps`, the optimal posterior mean of x_{t−1}, plus its standard
/// deviation times the draws `z`. All slices have the state's length.
pub fn posterior_step(x: &mut [f32], eps: &[f32], mu: &[f32], s: &Schedule, t: usize, z: &[f32]) {
    let (th, cs, cs1, dt) = (s.thetas[t], s.thetas_cumsum[t], s.thetas_cumsum[t - 1], s.dt);
    let inv_b = exp32(cs * dt);
    let (a, b, c) = (exp32(-th * dt), exp32(-cs * dt), exp32(-cs1 * dt));
    let term1 = a * (1.0 - c * c) / (1.0 - b * b);
    let term2 = c * (1.0 - a * a) / (1.0 - b * b);
    let (a2, b2, c2) = (exp32(-2.0 * th * dt), exp32(-2.0 * cs * dt), exp32(-2.0 * cs1 * dt));
    let var = ((1.0 - a2) * (1.0 - c2) / (1.0 - b2)).max(1e-20 * dt);
    let std = exp32(0.5 * f64::from(var).ln() as f32) * s.max_sigma;
    let sb = s.sigma_bars[t];
    for i in 0..x.len() {
        let x0 = (x[i] - mu[i] - sb * eps[i]) * inv_b + mu[i];
        let mean = term1 * (x[i] - mu[i]) + term2 * (x0 - mu[i]) + mu[i];
        x[i] = mean + std * z[i];
    }
}

/// One Euler–Maruyama step of the reverse SDE at `t` (daclip-uir `reverse_sde_step` with
/// the score −ε/σ̄_t).
pub fn sde_step(x: &mut [f32], eps: &[f32], mu: &[f32], s: &Schedule, t: usize, z: &[f32]) {
    let (th, sig, sb, dt) = (s.thetas[t], s.sigmas[t], s.sigma_bars[t], s.dt);
    let sq = f64::from(dt).sqrt() as f32;
    for i in 0..x.len() {
        let score = -eps[i] / sb;
        let drift = (th * (mu[i] - x[i]) - sig * sig * score) * dt;
        x[i] = x[i] - drift - sig * (z[i] * sq);
    }
}

/// The reverse process from `x_T = μ + max_sigma·z` (`noise_state`) down to `x_0`:
/// `estimate(x, t)` is the network's noise estimate at step `t` (T…1), `normal()` the
/// next standard normal draw (state-sized draws are taken in order, NCHW).
pub fn sample<E>(
    mu: &[f32],
    s: &Schedule,
    sampler: Sampler,
    mut estimate: E,
    normal: &mut dyn FnMut() -> f32,
) -> Result<Vec<f32>, ModelError>
where
    E: FnMut(&[f32], usize) -> Result<Vec<f32>, ModelError>,
{
    let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| normal()).collect() };
    let n = mu.len();
    let z = draw(n);
    let mut x: Vec<f32> = mu.iter().zip(&z).map(|(m, z)| m + z * s.max_sigma).collect();
    for t in (1..=s.steps()).rev() {
        let eps = estimate(&x, t)?;
        if eps.len() != n {
            return Err(ModelError::Session {
                model: "ir-sde step".into(),
                message: format!("the noise estimate has {} values, the state {n}", eps.len()),
            });
        }
        let z = draw(n);
        match sampler {
            Sampler::Posterior => posterior_step(&mut x, &eps, mu, s, t, &z),
            Sampler::Sde => sde_step(&mut x, &eps, mu, s, t, &z),
        }
    }
    Ok(x)
}

/// The contract of an iterative restorer (a TOML file next to its step graph).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IterativeSpec {
    /// The state input (default `x`).
    #[serde(default = "name_x")]
    pub x: String,
    /// The condition input (default `mu`).
    #[serde(default = "name_mu")]
    pub mu: String,
    /// The step input, float [1] (default `t`).
    #[serde(default = "name_t")]
    pub t: String,
    /// The noise-estimate output (default `noise`).
    #[serde(default = "name_noise")]
    pub output: String,
    /// Input sides must be multiples of this (the image is edge-padded, the output cropped).
    #[serde(default = "crate::restore::one")]
    pub size_multiple: u32,
    /// IR-SDE's parameters.
    pub sde: IrSdeParams,
    /// The context graph, relative to this file (DA-CLIP's image encoder), if any.
    pub context: Option<ContextSpec>,
}

/// A context graph: run once per image, its outputs fed to the step graph by name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    /// The ONNX file, relative to the contract.
    pub onnx: PathBuf,
    /// Its image input (NCHW, [0, 1], the degraded image's size).
    pub input: String,
    /// Its outputs, which are also the step graph's context inputs.
    pub outputs: Vec<String>,
}

fn name_x() -> String {
    "x".into()
}
fn name_mu() -> String {
    "mu".into()
}
fn name_t() -> String {
    "t".into()
}
fn name_noise() -> String {
    "noise".into()
}

/// A named context tensor: name, shape, values (a context graph's output, fed to every
/// step).
pub type Context = (String, Vec<usize>, Vec<f32>);

/// A step graph, its context graph and contract, loaded once.
pub struct IterativeRestorer {
    step: Model,
    context: Option<Model>,
    spec: IterativeSpec,
    schedule: Schedule,
}

impl IterativeRestorer {
    /// Wraps loaded graphs.
    pub fn new(step: Model, context: Option<Model>, spec: IterativeSpec) -> Self {
        let schedule = Schedule::new(&spec.sde);
        Self {
            step,
            context,
            spec,
            schedule,
        }
    }

    /// The MACs of the step graph's runs so far (loaded with profiling), context graph
    /// included.
    pub fn macs(&self) -> Result<crate::complexity::MacCount, ModelError> {
        let mut m = self.step.macs()?;
        if let Some(c) = &self.context {
            m.add(&c.macs()?);
        }
        Ok(m)
    }

    /// The step graph's name.
    pub fn name(&self) -> &str {
        self.step.name()
    }

    /// The contract.
    pub fn spec(&self) -> &IterativeSpec {
        &self.spec
    }

    /// Restores `img` with the draws of `normal` (whole image; a restorer of this kind is
    /// not tiled: its output depends on every draw).
    pub fn restore(&self, img: &RgbImage, normal: &mut dyn FnMut() -> f32) -> Result<RgbImage, ModelError> {
        let (w, h) = img.dimensions();
        let m = self.spec.size_multiple.max(1);
        let (pw, ph) = (w.div_ceil(m) * m, h.div_ceil(m) * m);
        let padded = crate::restore::pad_replicate(img, pw, ph);
        let shape = [1, 3, ph as usize, pw as usize];
        // v / 255 as the reference divides (not times the reciprocal: an ulp apart at times).
        let mu: Vec<f32> = crate::restore::to_nchw(&padded, 1.0).into_iter().map(|v| v / 255.0).collect();
        let contexts = self.contexts(&shape, &mu)?;
        let x0 = self.sample_nchw(&shape, &mu, &contexts, normal)?;
        Ok(from_nchw(&x0, pw, ph, w, h))
    }

    /// The context graph's outputs on the condition, or none.
    fn contexts(&self, shape: &[usize], mu: &[f32]) -> Result<Vec<Context>, ModelError> {
        let (Some(model), Some(c)) = (&self.context, &self.spec.context) else {
            return Ok(Vec::new());
        };
        let names: Vec<&str> = c.outputs.iter().map(String::as_str).collect();
        let out = model.run(&[(c.input.as_str(), shape, mu)], &names)?;
        Ok(c.outputs.iter().cloned().zip(out).map(|(n, (s, d))| (n, s, d)).collect())
    }

    /// The reverse process on an NCHW condition with given contexts.
    pub fn sample_nchw(
        &self,
        shape: &[usize],
        mu: &[f32],
        contexts: &[Context],
        normal: &mut dyn FnMut() -> f32,
    ) -> Result<Vec<f32>, ModelError> {
        let s = &self.spec;
        let estimate = |x: &[f32], t: usize| {
            let tv = [t as f32];
            let mut inputs: Vec<(&str, &[usize], &[f32])> =
                vec![(s.x.as_str(), shape, x), (s.mu.as_str(), shape, mu), (s.t.as_str(), &[1], &tv)];
            inputs.extend(contexts.iter().map(|(n, sh, d)| (n.as_str(), sh.as_slice(), d.as_slice())));
            let mut out = self.step.run(&inputs, &[s.output.as_str()])?;
            let (oshape, o) = out.swap_remove(0);
            if oshape != shape {
                return Err(ModelError::Session {
                    model: self.step.name().to_string(),
                    message: format!("noise estimate of shape {oshape:?}, expected {shape:?}"),
                });
            }
            Ok(o)
        };
        sample(mu, &self.schedule, s.sde.sampler, estimate, normal)
    }
}

/// The top-left `w`×`h` of an NCHW [0, 1] tensor of `pw`×`ph` as 8-bit RGB (clamped,
/// rounded: daclip-uir's `tensor2img`).
fn from_nchw(x: &[f32], pw: u32, ph: u32, w: u32, h: u32) -> RgbImage {
    let plane = (pw * ph) as usize;
    RgbImage::from_fn(w, h, |px, py| {
        let i = (py * pw + px) as usize;
        image::Rgb(std::array::from_fn(|c| (x[c * plane + i].clamp(0.0, 1.0) * 255.0).round() as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the exact noise (an oracle network), the posterior sampler lands on the clean
    /// image: IR-SDE's optimal reverse step ends at x_0 (the last step's variance is the
    /// 1e-20·dt floor).
    #[test]
    fn posterior_sampling_with_the_true_noise_recovers_the_clean_image() {
        let s = Schedule::new(&IrSdeParams::daclip());
        let clean: Vec<f32> = (0..48).map(|i| (i as f32 * 0.37).sin() * 0.5 + 0.5).collect();
        let mu: Vec<f32> = clean
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i % 2 == 0 { 0.1 } else { -0.1 })
            .collect();
        // ε = (x − μ̄(x_0, t)) / σ̄_t, μ̄ = μ + (x_0 − μ)·e^(−Σθ_t·dt).
        let oracle = |x: &[f32], t: usize| {
            let w = (-f64::from(s.thetas_cumsum[t]) * f64::from(s.dt)).exp() as f32;
            Ok(x.iter()
                .zip(&clean)
                .zip(&mu)
                .map(|((x, c), m)| (x - (m + (c - m) * w)) / s.sigma_bars[t])
                .collect())
        };
        let mut rng = 1u64;
        let mut normal = || {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 3.0
        };
        let out = sample(&mu, &s, Sampler::Posterior, oracle, &mut normal).unwrap();
        let err = out.iter().zip(&clean).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err < 1e-4, "max error {err}");
        // The Euler–Maruyama sampler is an approximation: close, not exact.
        let sde = sample(&mu, &s, Sampler::Sde, oracle, &mut normal).unwrap();
        let rms = (sde.iter().zip(&clean).map(|(a, b)| (a - b).powi(2)).sum::<f32>() / 48.0).sqrt();
        let rms_mu = (mu.iter().zip(&clean).map(|(a, b)| (a - b).powi(2)).sum::<f32>() / 48.0).sqrt();
        assert!(rms < rms_mu, "sde {rms} vs condition {rms_mu}");
    }

    #[test]
    fn schedule_ends_at_eps_and_parameters_are_checked() {
        let s = Schedule::new(&IrSdeParams::daclip());
        assert_eq!(s.steps(), 100);
        assert_eq!(s.thetas_cumsum[0], 0.0);
        let w = (-f64::from(s.thetas_cumsum[100]) * f64::from(s.dt)).exp();
        assert!((w - 0.005).abs() < 1e-6, "{w}");
        let mut p = IrSdeParams::daclip();
        p.eps = 1.5;
        assert!(p.check().unwrap_err().contains("eps"));
        p = IrSdeParams::daclip();
        p.steps = 0;
        assert!(p.check().unwrap_err().contains("steps"));
    }
}
