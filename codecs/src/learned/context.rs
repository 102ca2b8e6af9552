//! Coding y through a context model (contract version 2): the `autoregressive`,
//! `checkerboard` and `channel-conditional` families.
//!
//! One function, [`code_y`], runs the context graphs in the order the decoder can follow
//! and hands each step's scales and means to a [`Coder`]: when encoding, the coder
//! quantises y around the means (`round(y − mean)`, half to even as `torch.round`) and
//! records the symbols and table indexes; when decoding, it pops the symbols from the rANS
//! stream with the same table indexes. Either way `ŷ = symbol + mean` is written back, so
//! the encoder's later steps see exactly the ŷ the decoder will see, and both run the same
//! graphs on the same inputs.
//!
//! | family | steps |
//! |---|---|
//! | `autoregressive` | each position in raster order: graph `context` on the K×K window of ŷ (zero where not yet coded) and the hyper outputs at the position → the M channels' scales and means |
//! | `checkerboard` | each channel group: `group{k}_anchor` (hyper outputs [+ `support`]) → the anchors; `group{k}_non_anchor` (+ `y_hat_anchor`) → the rest |
//! | `channel-conditional` | each slice: `group{k}_params` (hyper outputs [+ `support`]) → the slice; `group{k}_lrp` (+ `y_hat_slice`) → the residual prediction added to its ŷ |
//!
//! Within a step the symbols go channel-major (channel, row, column), the positions of the
//! step only; the steps follow each other in one rANS stream after z.

use icmbench_models::Model;

use super::contract::{Contract, Family, Gaussian, Parity};
use super::entropy::{self, Decoder, Tables};
use super::{lib_err, round, scale_indexes_into};
use crate::CodecError;

/// One named float32 tensor: name, shape, data.
pub type Named = (String, Vec<usize>, Vec<f32>);

fn err(message: impl std::fmt::Display) -> CodecError {
    lib_err("learned", message)
}

/// The encoding or the decoding side of the Gaussian conditional, with what it coded.
pub enum Coder<'a> {
    /// Quantises these latents (y, C×H×W).
    Encode {
        /// y from g_a.
        y: &'a [f32],
    },
    /// Pops symbols from this stream.
    Decode {
        /// The rANS stream, positioned after z.
        decoder: &'a mut Decoder,
    },
}

/// The coded symbols, their table indexes (in coding order) and, when encoding, the
/// estimated bits.
#[derive(Debug, Default)]
pub struct Coded {
    /// Symbols in coding order.
    pub symbols: Vec<i32>,
    /// Table index of each symbol.
    pub indexes: Vec<usize>,
    /// −log2 likelihoods of the coded symbols (encoding only).
    pub bits: f64,
    /// Time in the context graphs (the rest of [`code_y`] is entropy coding).
    pub network: std::time::Duration,
}

/// Per-call scratch buffers, reused across steps (no allocation per position).
#[derive(Default)]
struct Scratch {
    idx: Vec<usize>,
    sym: Vec<i32>,
    res: Vec<f32>,
}

impl Coder<'_> {
    /// Codes the latents at flat positions `at` of ŷ with `scales[i]` and `means[i]`,
    /// writing `ŷ[at[i]] = symbol + mean`.
    #[allow(clippy::too_many_arguments)]
    fn code(
        &mut self,
        tables: &Tables,
        gc: &Gaussian,
        at: &[usize],
        scales: &[f32],
        means: &[f32],
        y_hat: &mut [f32],
        coded: &mut Coded,
        s: &mut Scratch,
    ) -> Result<(), CodecError> {
        s.idx.clear();
        scale_indexes_into(scales, &gc.scale_table, gc.scale_bound, &mut s.idx);
        s.sym.clear();
        match self {
            Coder::Encode { y } => {
                s.sym.extend(at.iter().zip(means).map(|(&p, &m)| round(y[p] - m)));
                s.res.clear();
                s.res.extend(s.sym.iter().map(|&q| q as f32));
                coded.bits += entropy::gaussian_bits(&s.res, scales, gc.scale_bound, gc.likelihood_bound);
            }
            Coder::Decode { decoder } => {
                decoder.decode_into(tables, &s.idx, &mut s.sym).map_err(err)?;
            }
        }
        for ((&p, &q), &m) in at.iter().zip(&s.sym).zip(means) {
            y_hat[p] = q as f32 + m;
        }
        coded.symbols.extend_from_slice(&s.sym);
        coded.indexes.extend_from_slice(&s.idx);
        Ok(())
    }
}

/// The graphs of a context family, by role.
pub trait Graphs {
    /// The session of a graph role.
    fn graph(&self, role: &str) -> Result<&Model, CodecError>;
}

/// Runs a graph and returns its `scales` and `means` (or the one output `lrp`), each
/// checked to hold `len` values.
fn run(
    graphs: &dyn Graphs,
    role: &str,
    inputs: &[(&str, &[usize], &[f32])],
    outputs: &[&str],
    len: usize,
    coded: &mut Coded,
) -> Result<Vec<Vec<f32>>, CodecError> {
    let model = graphs.graph(role)?;
    let t = std::time::Instant::now();
    let out = model.run(inputs, outputs).map_err(err)?;
    coded.network += t.elapsed();
    out.into_iter()
        .zip(outputs)
        .map(|((shape, data), name)| {
            if data.len() != len {
                return Err(err(format!(
                    "graph `{role}` gave `{name}` of shape {shape:?} ({} values), expected {len}",
                    data.len()
                )));
            }
            Ok(data)
        })
        .collect()
}

/// Codes y ([1, M, h, w]) with the context model of `contract`, given h_s's outputs at y's
/// resolution. Returns ŷ (C×h×w) and what was coded.
pub fn code_y(
    contract: &Contract,
    graphs: &dyn Graphs,
    hyper: &[Named],
    (m, h, w): (usize, usize, usize),
    tables: &Tables,
    mut coder: Coder<'_>,
) -> Result<(Vec<f32>, Coded), CodecError> {
    let gc = contract
        .gaussian_conditional
        .as_ref()
        .ok_or_else(|| err("this family has no gaussian_conditional"))?;
    let ctx = contract.context.as_ref().ok_or_else(|| err("this family has no context"))?;
    let hw = h * w;
    if let Coder::Encode { y } = &coder
        && y.len() != m * hw
    {
        return Err(err(format!("y has {} values, expected {m}×{h}×{w}", y.len())));
    }
    for (name, shape, data) in hyper {
        if shape.len() != 4 || shape[0] != 1 || shape[2] != h || shape[3] != w || data.len() != shape[1] * hw {
            return Err(err(format!(
                "h_s gave `{name}` of shape {shape:?}; the context graphs need [1, P, {h}, {w}] (y's size)"
            )));
        }
    }
    let mut y_hat = vec![0f32; m * hw];
    let mut coded = Coded::default();
    let mut s = Scratch::default();
    if contract.family == Family::Autoregressive {
        let k = ctx.kernel_size.ok_or_else(|| err("`context.kernel_size` is missing"))?;
        autoregressive(graphs, hyper, (m, h, w), k, tables, gc, &mut coder, &mut y_hat, &mut coded, &mut s)?;
        return Ok((y_hat, coded));
    }
    let mut starts = Vec::with_capacity(ctx.groups.len());
    let mut c0 = 0;
    for g in &ctx.groups {
        starts.push(c0);
        c0 += g.channels;
    }
    let mut at: Vec<usize> = Vec::with_capacity(m * hw);
    let mut sc: Vec<f32> = Vec::with_capacity(m * hw);
    let mut mu: Vec<f32> = Vec::with_capacity(m * hw);
    for (k, g) in ctx.groups.iter().enumerate() {
        let (lo, c) = (starts[k] * hw, g.channels);
        let len = c * hw;
        let support: Vec<f32> = g
            .support
            .iter()
            .flat_map(|&j| y_hat[starts[j] * hw..(starts[j] + ctx.groups[j].channels) * hw].iter().copied())
            .collect();
        let support_shape = [1, support.len() / hw.max(1), h, w];
        let mut inputs: Vec<(&str, &[usize], &[f32])> = hyper.iter().map(|(n, sh, d)| (n.as_str(), sh.as_slice(), d.as_slice())).collect();
        if !g.support.is_empty() {
            inputs.push(("support", &support_shape, &support));
        }
        let shape = [1, c, h, w];
        match contract.family {
            Family::Checkerboard => {
                let anchor = |p: usize| {
                    let (r, col) = ((p % hw) / w, p % w);
                    ((r + col) % 2 == 0) == (ctx.anchor_parity == Parity::Even)
                };
                for (pass, role) in [(true, format!("group{k}_anchor")), (false, format!("group{k}_non_anchor"))] {
                    let mut inp = inputs.clone();
                    if !pass {
                        // Non-anchors are still zero in ŷ: the group's slice is the anchors.
                        inp.push(("y_hat_anchor", &shape, &y_hat[lo..lo + len]));
                    }
                    let out = run(graphs, &role, &inp, &["scales", "means"], len, &mut coded)?;
                    at.clear();
                    sc.clear();
                    mu.clear();
                    for p in (0..len).filter(|&p| anchor(p) == pass) {
                        at.push(lo + p);
                        sc.push(out[0][p]);
                        mu.push(out[1][p]);
                    }
                    coder.code(tables, gc, &at, &sc, &mu, &mut y_hat, &mut coded, &mut s)?;
                }
            }
            _ => {
                let out = run(graphs, &format!("group{k}_params"), &inputs, &["scales", "means"], len, &mut coded)?;
                at.clear();
                at.extend(lo..lo + len);
                coder.code(tables, gc, &at, &out[0], &out[1], &mut y_hat, &mut coded, &mut s)?;
                if g.lrp {
                    let mut inp = inputs.clone();
                    inp.push(("y_hat_slice", &shape, &y_hat[lo..lo + len]));
                    let lrp = run(graphs, &format!("group{k}_lrp"), &inp, &["lrp"], len, &mut coded)?;
                    for (v, d) in y_hat[lo..lo + len].iter_mut().zip(&lrp[0]) {
                        *v += d;
                    }
                }
            }
        }
    }
    Ok((y_hat, coded))
}

/// The raster-scan loop of the autoregressive family: one `context` run per position on
/// tensors allocated once and bound to the session ([`icmbench_models::Stepper`]).
#[allow(clippy::too_many_arguments)]
fn autoregressive(
    graphs: &dyn Graphs,
    hyper: &[Named],
    (m, h, w): (usize, usize, usize),
    k: usize,
    tables: &Tables,
    gc: &Gaussian,
    coder: &mut Coder<'_>,
    y_hat: &mut [f32],
    coded: &mut Coded,
    s: &mut Scratch,
) -> Result<(), CodecError> {
    let hw = h * w;
    let pad = k / 2;
    let crop_shape = [1, m, k, k];
    let pos_shapes: Vec<[usize; 4]> = hyper.iter().map(|(_, sh, _)| [1, sh[1], 1, 1]).collect();
    let mut inputs: Vec<(&str, &[usize])> = vec![("y_crop", &crop_shape)];
    inputs.extend(
        hyper
            .iter()
            .zip(&pos_shapes)
            .map(|((name, _, _), shape)| (name.as_str(), &shape[..])),
    );
    let out_shape = [1, m, 1, 1];
    let model = graphs.graph("context")?;
    let mut step = model
        .stepper(&inputs, &[("scales", &out_shape), ("means", &out_shape)])
        .map_err(|e| err(format!("graph `context`: {e}")))?;
    let mut at = vec![0usize; m];
    for r in 0..h {
        for c in 0..w {
            let crop = step.input(0);
            for ch in 0..m {
                let plane = &y_hat[ch * hw..(ch + 1) * hw];
                let window = &mut crop[ch * k * k..(ch + 1) * k * k];
                for dy in 0..k {
                    for dx in 0..k {
                        let (rr, cc) = ((r + dy).wrapping_sub(pad), (c + dx).wrapping_sub(pad));
                        window[dy * k + dx] = if rr < h && cc < w { plane[rr * w + cc] } else { 0.0 };
                    }
                }
            }
            for (i, (_, sh, data)) in hyper.iter().enumerate() {
                for (j, v) in step.input(1 + i).iter_mut().enumerate().take(sh[1]) {
                    *v = data[j * hw + r * w + c];
                }
            }
            let t = std::time::Instant::now();
            step.run().map_err(|e| err(format!("graph `context`: {e}")))?;
            coded.network += t.elapsed();
            for (ch, a) in at.iter_mut().enumerate() {
                *a = ch * hw + r * w + c;
            }
            coder.code(tables, gc, &at, step.output(0), step.output(1), y_hat, coded, s)?;
        }
    }
    Ok(())
}
