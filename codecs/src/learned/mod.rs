//! Learned codecs as ONNX graphs with real bitstreams.
//!
//! | module | what lives there |
//! |---|---|
//! | [`contract`] | `codec.json`: family, graphs, entropy tables, size multiple, label |
//! | [`entropy`] | rANS coding (constriction) driven by the exported integer CDFs; estimated rate |
//! | [`bitstream`] | the versioned header (size, family, codec, checksums) |
//! | [`context`] | y through a context model: autoregressive, checkerboard, channel-conditional |
//! | [`file`](mod@file) | a stream as a file: the image size and padding before the bitstream (`icmbench encode`/`decode`) |
//! | this file | [`LearnedCodec`]: a folder of quality points, encode and decode; [`LearnedSettings`] |
//!
//! Encoding (CompressAI's `compress`, in icmbench): `y = g_a(x)`; factorized: `ŷ` coded
//! with the EntropyBottleneck (symbols `round(y − median)`, one table per channel);
//! hyperpriors: `z = h_a(y)` (of `|y|` for the scale hyperprior, inside the graph), `ẑ`
//! coded with the EntropyBottleneck, `h_s(ẑ)` gives scales (and means), each scale picks
//! a GaussianConditional table (the first scale-table entry ≥ the scale), symbols
//! `round(y − mean)`. All latents go into one rANS stream behind a header. Decoding runs
//! the same steps backwards; `x̂ = g_s(ŷ)` clamped to [0, 1] and rounded to 8 bit. The
//! header carries a checksum of the symbols and table indexes, so a bitstream decoded
//! with hyper-synthesis outputs that differ from the encoder's (another device, another
//! runtime) is reported as an error, never returned as a wrong image.
//!
//! The context families of contract version 2 (`autoregressive`: mbt2018, cheng2020;
//! `checkerboard`: Cheng2020AnchorCheckerboard, ELIC; `channel-conditional`: Minnen 2020,
//! LIC-TCM, SA-ICM) code z the same way, then y step by step through their context graphs
//! ([`context`]). The header of every stream names the codec (digest) and carries a
//! checksum of the reconstructed latents as well.

pub mod bitstream;
pub mod context;
pub mod contract;
pub mod entropy;
pub mod file;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use icmbench_models::{Model, RuntimeOptions};
use image::RgbImage;

use crate::registry::{BuildContext, BuildError, Built, CodecSettings};
use crate::{Codec, CodecError};
use contract::{Contract, Family};
use entropy::{DensityModel, Tables};

/// The sessions of a point and the options they were created with (an error is kept too,
/// so that a graph that does not load is not reloaded for every image).
type SessionSlot = Option<(RuntimeOptions, Result<Arc<Sessions>, String>)>;

/// One quality point: its contract, sessions and coding tables. Sessions are created by
/// [`Point::load_graphs`] (which [`LearnedCodec::open`] calls) or on first use, and again
/// when the runtime options change.
pub struct Point {
    dir: PathBuf,
    contract: Contract,
    bottleneck: Tables,
    densities: Vec<DensityModel>,
    gaussian: Option<Tables>,
    sessions: Mutex<SessionSlot>,
}

/// `h_s` outputs: scales, means (mean-scale family), and the scales' shape.
type HyperOutput = (Vec<f32>, Option<Vec<f32>>, Vec<usize>);

struct Sessions {
    g_a: Model,
    g_s: Model,
    h_a: Option<Model>,
    h_s: Option<Model>,
    /// The context graphs of a version-2 family, by role.
    context: BTreeMap<String, Model>,
}

impl context::Graphs for Sessions {
    fn graph(&self, role: &str) -> Result<&Model, CodecError> {
        self.context
            .get(role)
            .ok_or_else(|| lib_err("learned", format!("no `{role}` graph is loaded")))
    }
}

/// The result of encoding with the details the harness reports.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// Header + entropy-coded data.
    pub bitstream: Vec<u8>,
    /// −log2 of the likelihoods of the coded latents (CompressAI's estimate), in bits.
    pub estimated_bits: f64,
    /// Bytes of the header (the rest is entropy-coded data).
    pub header_bytes: usize,
    /// Time in ONNX Runtime (transforms and context graphs).
    pub network: Duration,
    /// Time in quantisation, table selection and entropy coding.
    pub entropy: Duration,
}

/// A decoded image before 8-bit rounding, with timings.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Width of the (padded) image.
    pub width: u32,
    /// Height of the (padded) image.
    pub height: u32,
    /// `x̂` clamped to [0, 1], row-major H×W×3.
    pub pixels: Vec<f32>,
    /// The reconstructed latents `ŷ` that g_s was given (C×h×w).
    pub latents: Vec<f32>,
    /// Time in ONNX Runtime.
    pub network: Duration,
    /// Time in entropy decoding and dequantisation.
    pub entropy: Duration,
}

fn lib_err(codec: &str, e: impl std::fmt::Display) -> CodecError {
    CodecError::library(codec, e)
}

/// `torch.round` (half to even).
fn round(v: f32) -> i32 {
    v.round_ties_even() as i32
}

/// FNV-1a over the bits of the reconstructed latents: the header's exactness check.
fn latent_checksum(y_hat: &[f32]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for v in y_hat {
        for b in v.to_bits().to_le_bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// The codec id in the header: the first 8 bytes of a contract's digest.
pub fn codec_id(digest: &str) -> [u8; 8] {
    let mut id = [0u8; 8];
    for (i, b) in id.iter_mut().enumerate() {
        *b = digest
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    id
}

/// A codec id in hex, for messages.
fn hex_id(id: &[u8; 8]) -> String {
    id.iter().map(|v| format!("{v:02x}")).collect()
}

/// FNV-1a over symbols and table indexes: the header's consistency check.
fn checksum(parts: &[(&[i32], &[usize])]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    for (symbols, indexes) in parts {
        for (&s, &i) in symbols.iter().zip(indexes.iter()) {
            s.to_le_bytes().into_iter().for_each(&mut eat);
            (i as u32).to_le_bytes().into_iter().for_each(&mut eat);
        }
    }
    h
}

/// The GaussianConditional table of each scale: CompressAI's `build_indexes`
/// (`len − 1 − #{t in table[..len−1] : scale ≤ t}`, after the lower bound). The table is
/// ascending (checked when the contract is read), so that count is a binary search: the
/// number of entries below the scale.
pub fn scale_indexes(scales: &[f32], table: &[f64], bound: f64) -> Vec<usize> {
    let mut out = Vec::with_capacity(scales.len());
    scale_indexes_into(scales, table, bound, &mut out);
    out
}

/// [`scale_indexes`] appending to `out` (no allocation when it has room).
pub fn scale_indexes_into(scales: &[f32], table: &[f64], bound: f64, out: &mut Vec<usize>) {
    let last = table.len().saturating_sub(1);
    out.extend(scales.iter().map(|&s| {
        let s = f64::from(s.max(bound as f32));
        table[..last].partition_point(|&t| t < s)
    }));
}

/// Checks a graph's output: [1, channels (when fixed), h, w] and as many values.
fn check_shape(role: &str, name: &str, shape: &[usize], len: usize, channels: Option<usize>, h: usize, w: usize) -> Result<(), CodecError> {
    let ok = shape.len() == 4
        && shape[0] == 1
        && channels.is_none_or(|c| shape[1] == c)
        && shape[2] == h
        && shape[3] == w
        && shape.iter().product::<usize>() == len;
    if ok {
        Ok(())
    } else {
        Err(lib_err(
            "learned",
            format!(
                "graph `{role}` gave `{name}` of shape {shape:?}, expected [1, {}, {h}, {w}]",
                channels.map_or("C".to_string(), |c| c.to_string())
            ),
        ))
    }
}

/// The most pixels of a padded image a stream may claim (64 megapixels, the datasets'
/// default `max_pixels`): a header cannot make the decoder allocate beyond that.
pub const MAX_DECODE_PIXELS: u64 = 64 << 20;

/// EntropyBottleneck symbols: `round(v − median)` of each value's channel.
fn bottleneck_symbols(values: &[f32], channel: &[usize], medians: &[f64]) -> Vec<i32> {
    values.iter().zip(channel).map(|(&v, &k)| round(v - medians[k] as f32)).collect()
}

/// EntropyBottleneck dequantisation: `symbol + median` of each value's channel.
fn bottleneck_values(symbols: &[i32], channel: &[usize], medians: &[f64]) -> Vec<f32> {
    symbols.iter().zip(channel).map(|(&q, &k)| q as f32 + medians[k] as f32).collect()
}

/// Channel of each element of a C×H×W tensor.
fn channels_of(c: usize, hw: usize) -> Vec<usize> {
    (0..c).flat_map(|k| std::iter::repeat_n(k, hw)).collect()
}

impl Point {
    /// Reads `dir/codec.json` and prepares the coding tables (no ONNX session yet).
    pub fn open(dir: &Path) -> Result<Self, CodecError> {
        let contract = Contract::read(dir)?;
        let codec = format!("learned {}", dir.display());
        let eb = &contract.entropy_bottleneck;
        let bottleneck = Tables::new(&eb.quantized_cdf, &eb.offset).map_err(|e| lib_err(&codec, format!("entropy_bottleneck: {e}")))?;
        let densities = eb.density_models().map_err(|e| lib_err(&codec, e))?;
        let gaussian = match &contract.gaussian_conditional {
            Some(gc) => {
                Some(Tables::new(&gc.quantized_cdf, &gc.offset).map_err(|e| lib_err(&codec, format!("gaussian_conditional: {e}")))?)
            }
            None => None,
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            contract,
            bottleneck,
            densities,
            gaussian,
            sessions: Mutex::new(None),
        })
    }

    /// Loads every graph of the contract with these options and checks each against it:
    /// its inputs and its outputs by name, float32 NCHW, and the channel counts the
    /// contract fixes (3 for images, the EntropyBottleneck's, one count for y across the
    /// graphs). Errors name the graph file and the tensor. The sessions are kept for coding.
    pub fn load_graphs(&self, opts: &RuntimeOptions) -> Result<(), CodecError> {
        self.sessions(opts).map(|_| ())
    }

    /// The contract.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// The GaussianConditional's parameters and coding tables (hyperprior families).
    fn gaussian_parts(&self) -> Result<(&contract::Gaussian, &Tables), CodecError> {
        match (&self.contract.gaussian_conditional, &self.gaussian) {
            (Some(gc), Some(t)) => Ok((gc, t)),
            _ => Err(lib_err("learned", "this family has no gaussian_conditional")),
        }
    }

    fn sessions(&self, opts: &RuntimeOptions) -> Result<Arc<Sessions>, CodecError> {
        let mut slot = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let made = match slot.as_ref() {
            Some((o, made)) if o == opts => made.clone(),
            _ => {
                let made = self.create_sessions(opts).map(Arc::new);
                *slot = Some((*opts, made.clone()));
                made
            }
        };
        made.map_err(|e| lib_err("learned", e))
    }

    /// The file of a graph role, for messages.
    fn graph_path(&self, role: &str) -> PathBuf {
        self.dir.join(self.contract.graphs.get(role).map_or(role, String::as_str))
    }

    fn create_sessions(&self, opts: &RuntimeOptions) -> Result<Sessions, String> {
        let load = |role: &str| -> Result<Model, String> {
            let path = self.graph_path(role);
            if !self.contract.graphs.contains_key(role) {
                return Err(format!("{}: codec.json names no `{role}` graph", self.dir.display()));
            }
            Model::load(&path.display().to_string(), &path, opts)
                .map_err(|e| format!("{} (graph `{role}`) cannot be loaded: {e}", path.display()))
        };
        let hyper = self.contract.family != Family::Factorized;
        let mut context = BTreeMap::new();
        for role in self.contract.roles() {
            if !["g_a", "g_s", "h_a", "h_s"].contains(&role.as_str()) {
                let model = load(&role)?;
                context.insert(role, model);
            }
        }
        let sessions = Sessions {
            g_a: load("g_a")?,
            g_s: load("g_s")?,
            h_a: if hyper { Some(load("h_a")?) } else { None },
            h_s: if hyper { Some(load("h_s")?) } else { None },
            context,
        };
        self.check_graphs(&sessions)?;
        Ok(sessions)
    }

    /// Checks the loaded graphs against the contract: each has exactly its inputs and its
    /// outputs by name (`x` → `y`, `y_hat` → `x_hat`, `y` → `z`, `z_hat` → `scales`
    /// [, `means`] or the contract's `hyper_outputs`, and the context graphs' ports of
    /// [`context`]), all float32 NCHW (rank 4, batch 1 or dynamic), with 3 image channels,
    /// the EntropyBottleneck's channel count where it applies (y for the factorized family,
    /// z for hyperpriors), one channel count for y across graphs, and each channel group's
    /// count on its graphs, where the files state them. Messages name the graph file and the
    /// tensor.
    fn check_graphs(&self, s: &Sessions) -> Result<(), String> {
        #[derive(Clone, Copy, PartialEq)]
        enum Ch {
            Image,
            Y,
            Z,
            /// A known count (a channel group's, a support's).
            Fixed(i64),
            /// Any count (hyper outputs).
            Any,
        }
        let c = &self.contract;
        let hyper = c.family != Family::Factorized;
        let eb_channels = c.entropy_bottleneck.channels as i64;
        type Ports = Vec<(String, Ch)>;
        let port = |n: &str, ch: Ch| (n.to_string(), ch);
        let mut graphs: Vec<(String, &Model, Ports, Ports)> = vec![
            ("g_a".into(), &s.g_a, vec![port("x", Ch::Image)], vec![port("y", Ch::Y)]),
            ("g_s".into(), &s.g_s, vec![port("y_hat", Ch::Y)], vec![port("x_hat", Ch::Image)]),
        ];
        let hyper_ports: Ports = c.hyper_outputs.iter().map(|n| port(n, Ch::Any)).collect();
        if let (Some(h_a), Some(h_s)) = (&s.h_a, &s.h_s) {
            graphs.push(("h_a".into(), h_a, vec![port("y", Ch::Y)], vec![port("z", Ch::Z)]));
            let outs: Ports = match c.family {
                Family::MeanScaleHyperprior => vec![port("scales", Ch::Y), port("means", Ch::Y)],
                Family::ScaleHyperprior => vec![port("scales", Ch::Y)],
                _ => hyper_ports.clone(),
            };
            graphs.push(("h_s".into(), h_s, vec![port("z_hat", Ch::Z)], outs));
        }
        let groups = c.context.as_ref().map_or(&[][..], |x| &x.groups[..]);
        for (role, model) in &s.context {
            let mut inputs = hyper_ports.clone();
            let mut outputs = vec![port("scales", Ch::Y), port("means", Ch::Y)];
            if role == "context" {
                inputs.push(port("y_crop", Ch::Y));
            } else if let Some((k, kind)) = role
                .strip_prefix("group")
                .and_then(|r| r.split_once('_'))
                .and_then(|(k, kind)| Some((k.parse::<usize>().ok()?, kind)))
                && let Some(g) = groups.get(k)
            {
                let own = Ch::Fixed(g.channels as i64);
                let support: usize = g.support.iter().map(|&j| groups.get(j).map_or(0, |x| x.channels)).sum();
                if support > 0 {
                    inputs.push(port("support", Ch::Fixed(support as i64)));
                }
                outputs = vec![port("scales", own), port("means", own)];
                match kind {
                    "non_anchor" => inputs.push(port("y_hat_anchor", own)),
                    "lrp" => {
                        inputs.push(port("y_hat_slice", own));
                        outputs = vec![port("lrp", own)];
                    }
                    _ => {}
                }
            }
            graphs.push((role.clone(), model, inputs, outputs));
        }
        // y's channel count: the EntropyBottleneck's for the factorized family, the
        // contract's `latent_channels` for the context families, else the first graph
        // that states it.
        let mut y: Option<(i64, String)> = if !hyper {
            Some((eb_channels, "codec.json's `entropy_bottleneck.channels`".to_string()))
        } else {
            c.latent_channels.map(|m| (m as i64, "codec.json's `latent_channels`".to_string()))
        };
        for (role, model, inputs, outputs) in graphs {
            let path = self.graph_path(&role);
            let at = |m: String| format!("{} (graph `{role}`): {m}", path.display());
            let names = |t: &[icmbench_models::TensorInfo]| t.iter().map(|i| format!("`{}`", i.name)).collect::<Vec<_>>().join(", ");
            let declared_in = model.inputs();
            let declared_out = model.outputs();
            let expected_in: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
            if declared_in.len() != inputs.len() || declared_in.iter().any(|i| !expected_in.contains(&i.name.as_str())) {
                return Err(at(format!(
                    "the contract gives it the input{} {}, the graph's inputs are {}",
                    if expected_in.len() == 1 { "" } else { "s" },
                    expected_in.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                    if declared_in.is_empty() {
                        "none".to_string()
                    } else {
                        names(&declared_in)
                    }
                )));
            }
            let ports = inputs
                .iter()
                .map(|p| (p, "input", &declared_in))
                .chain(outputs.iter().map(|p| (p, "output", &declared_out)));
            for ((name, ch), kind, declared) in ports {
                let Some(t) = declared.iter().find(|t| t.name == *name) else {
                    return Err(at(format!(
                        "the contract needs the {kind} `{name}`, the graph's {kind}s are {}",
                        names(declared)
                    )));
                };
                let dims = match &t.dims {
                    Some(d) if t.float32 && d.len() == 4 => d,
                    _ => {
                        return Err(at(format!(
                            "{kind} `{name}` is {} with dimensions {:?}, expected a float32 NCHW tensor (rank 4)",
                            t.type_name, t.dims
                        )));
                    }
                };
                if dims[0] > 1 || dims[0] == 0 {
                    return Err(at(format!("{kind} `{name}` has batch size {}, expected 1 (or dynamic)", dims[0])));
                }
                let n = dims[1];
                if n < 0 {
                    continue;
                }
                let (want, source) = match ch {
                    Ch::Image => (Some(3), "RGB".to_string()),
                    Ch::Z => (Some(eb_channels), "codec.json's `entropy_bottleneck.channels`".to_string()),
                    Ch::Fixed(k) => (Some(*k), "its channel group in codec.json's `context.groups`".to_string()),
                    Ch::Any => (None, String::new()),
                    Ch::Y => match &y {
                        Some((k, src)) => (Some(*k), src.clone()),
                        None => {
                            y = Some((n, format!("{} `{name}` of {}", kind, path.display())));
                            (None, String::new())
                        }
                    },
                };
                if let Some(w) = want
                    && w != n
                {
                    return Err(at(format!("{kind} `{name}` has {n} channels, but {source} gives {w}")));
                }
            }
        }
        Ok(())
    }

    /// h_s's outputs of these names, in order.
    fn run_h_s(&self, s: &Sessions, z_hat: &[f32], zshape: &[usize], names: &[&str]) -> Result<Vec<context::Named>, CodecError> {
        let h_s = s.h_s.as_ref().ok_or_else(|| lib_err("learned", "h_s missing"))?;
        let out = h_s.run(&[("z_hat", zshape, z_hat)], names).map_err(|e| lib_err("learned", e))?;
        Ok(names
            .iter()
            .zip(out)
            .map(|(n, (shape, data))| (n.to_string(), shape, data))
            .collect())
    }

    /// The hyperprior families' h_s: scales, means (mean-scale family), and the scales' shape.
    fn hyper_synthesis(&self, s: &Sessions, z_hat: &[f32], zshape: &[usize]) -> Result<HyperOutput, CodecError> {
        let mean = self.contract.family == Family::MeanScaleHyperprior;
        let names: &[&str] = if mean { &["scales", "means"] } else { &["scales"] };
        let mut r = self.run_h_s(s, z_hat, zshape, names)?;
        let means = if mean { Some(r.remove(1).2) } else { None };
        let (_, shape, scales) = r.remove(0);
        Ok((scales, means, shape))
    }

    /// The context families' h_s: its outputs by the contract's `hyper_outputs` names.
    fn hyper_outputs(&self, s: &Sessions, z_hat: &[f32], zshape: &[usize]) -> Result<Vec<context::Named>, CodecError> {
        let names: Vec<&str> = self.contract.hyper_outputs.iter().map(String::as_str).collect();
        self.run_h_s(s, z_hat, zshape, &names)
    }

    /// The header of a stream of this point.
    fn header(&self, w: u32, h: u32, checksum: u32, y_hat: &[f32]) -> bitstream::Header {
        bitstream::Header {
            family: self.contract.family,
            quality: self.contract.quality,
            width: w,
            height: h,
            checksum,
            codec: Some(codec_id(&self.contract.digest)),
            latents: Some(latent_checksum(y_hat)),
        }
    }

    /// Encodes a padded image (sides multiples of the size multiple).
    pub fn encode(&self, image: &RgbImage, opts: &RuntimeOptions) -> Result<Encoded, CodecError> {
        let codec = "learned";
        let (w, h) = image.dimensions();
        let m = self.contract.size_multiple;
        if !w.is_multiple_of(m) || !h.is_multiple_of(m) {
            return Err(lib_err(codec, format!("{w}x{h} is not a multiple of {m} (the harness pads)")));
        }
        let s = self.sessions(opts)?;
        let mut network = Duration::ZERO;
        let mut entropy_t = Duration::ZERO;
        let x = to_nchw(image);
        let t = Instant::now();
        let (yshape, y) = s
            .g_a
            .run(&[("x", &[1, 3, h as usize, w as usize], &x)], &["y"])
            .map_err(|e| lib_err(codec, e))?
            .remove(0);
        network += t.elapsed();
        let eb = &self.contract.entropy_bottleneck;
        let (yh, yw) = ((h / 16) as usize, (w / 16) as usize);
        let y_channels = match self.contract.family {
            Family::Factorized => Some(eb.channels),
            _ => self.contract.latent_channels,
        };
        check_shape("g_a", "y", &yshape, y.len(), y_channels, yh, yw)?;
        let bound = eb.likelihood_bound;
        let (bytes, sum, est, y_hat) = match self.contract.family {
            Family::Factorized => {
                let t = Instant::now();
                let (c, hw) = (yshape[1], yshape[2] * yshape[3]);
                let ch = channels_of(c, hw);
                let symbols = bottleneck_symbols(&y, &ch, &eb.medians);
                let deq = bottleneck_values(&symbols, &ch, &eb.medians);
                let est = entropy::bottleneck_bits(&self.densities, &deq, &ch, bound);
                let bytes = entropy::encode(&[(&self.bottleneck, &symbols, &ch)]).map_err(|e| lib_err(codec, e))?;
                entropy_t += t.elapsed();
                (bytes, checksum(&[(&symbols, &ch)]), est, deq)
            }
            family => {
                let h_a = s.h_a.as_ref().ok_or_else(|| lib_err(codec, "h_a missing"))?;
                let t = Instant::now();
                let (zshape, z) = h_a.run(&[("y", &yshape, &y)], &["z"]).map_err(|e| lib_err(codec, e))?.remove(0);
                network += t.elapsed();
                check_shape("h_a", "z", &zshape, z.len(), Some(eb.channels), yh / 4, yw / 4)?;
                let t = Instant::now();
                let (c, hw) = (zshape[1], zshape[2] * zshape[3]);
                let zch = channels_of(c, hw);
                let zsym = bottleneck_symbols(&z, &zch, &eb.medians);
                let z_hat = bottleneck_values(&zsym, &zch, &eb.medians);
                let z_bits = entropy::bottleneck_bits(&self.densities, &z_hat, &zch, bound);
                entropy_t += t.elapsed();
                let (gc, gtables) = self.gaussian_parts()?;
                let (ysym, idx, y_bits, y_hat) = if family.has_context() {
                    let t = Instant::now();
                    let hyper = self.hyper_outputs(&s, &z_hat, &zshape)?;
                    network += t.elapsed();
                    let t = Instant::now();
                    let dims = (yshape[1], yshape[2], yshape[3]);
                    let (y_hat, coded) = context::code_y(&self.contract, &*s, &hyper, dims, gtables, context::Coder::Encode { y: &y })?;
                    // The context graphs' time is network time; the rest is entropy coding.
                    network += coded.network;
                    entropy_t += t.elapsed().saturating_sub(coded.network);
                    (coded.symbols, coded.indexes, coded.bits, y_hat)
                } else {
                    let t = Instant::now();
                    let (scales, means, _) = self.hyper_synthesis(&s, &z_hat, &zshape)?;
                    network += t.elapsed();
                    let t = Instant::now();
                    if scales.len() != y.len() {
                        return Err(lib_err(codec, format!("h_s gave {} scales for {} latents", scales.len(), y.len())));
                    }
                    let idx = scale_indexes(&scales, &gc.scale_table, gc.scale_bound);
                    let ysym: Vec<i32> = match &means {
                        Some(mu) => y.iter().zip(mu).map(|(&v, &m)| round(v - m)).collect(),
                        None => y.iter().map(|&v| round(v)).collect(),
                    };
                    let residuals: Vec<f32> = ysym.iter().map(|&q| q as f32).collect();
                    let y_bits = entropy::gaussian_bits(&residuals, &scales, gc.scale_bound, gc.likelihood_bound);
                    let y_hat: Vec<f32> = match &means {
                        Some(mu) => ysym.iter().zip(mu).map(|(&q, &m)| q as f32 + m).collect(),
                        None => residuals,
                    };
                    entropy_t += t.elapsed();
                    (ysym, idx, y_bits, y_hat)
                };
                let t = Instant::now();
                let bytes = entropy::encode(&[(&self.bottleneck, &zsym, &zch), (gtables, &ysym, &idx)]).map_err(|e| lib_err(codec, e))?;
                entropy_t += t.elapsed();
                (bytes, checksum(&[(&zsym, &zch), (&ysym, &idx)]), z_bits + y_bits, y_hat)
            }
        };
        let header = self.header(w, h, sum, &y_hat).to_bytes();
        let header_bytes = header.len();
        let mut bitstream = header;
        bitstream.extend(bytes);
        Ok(Encoded {
            bitstream,
            estimated_bits: est,
            header_bytes,
            network,
            entropy: entropy_t,
        })
    }

    /// Decodes a bitstream to `x̂` in [0, 1] (padded size).
    pub fn decode(&self, bits: &[u8], opts: &RuntimeOptions) -> Result<Decoded, CodecError> {
        let codec = "learned";
        let (header, payload) = bitstream::Header::parse(bits).map_err(|e| lib_err(codec, e))?;
        if header.family != self.contract.family || header.quality != self.contract.quality {
            return Err(lib_err(
                codec,
                format!(
                    "bitstream is {:?} quality {}, this point is {:?} quality {}",
                    header.family, header.quality, self.contract.family, self.contract.quality
                ),
            ));
        }
        let ours = codec_id(&self.contract.digest);
        if let Some(id) = header.codec
            && id != ours
        {
            return Err(lib_err(
                codec,
                format!(
                    "the bitstream was written by codec {} (quality {}), not by this one ({}, {}): decode it with the codec that wrote it",
                    hex_id(&id),
                    header.quality,
                    hex_id(&ours),
                    self.dir.display()
                ),
            ));
        }
        let m = self.contract.size_multiple;
        let (w, h) = (header.width, header.height);
        if w == 0 || h == 0 || !w.is_multiple_of(m) || !h.is_multiple_of(m) {
            return Err(lib_err(codec, format!("bitstream size {w}x{h} is not a positive multiple of {m}")));
        }
        if u64::from(w) * u64::from(h) > MAX_DECODE_PIXELS {
            return Err(lib_err(
                codec,
                format!(
                    "bitstream size {w}x{h} is more than the {} megapixels a stream may claim",
                    MAX_DECODE_PIXELS >> 20
                ),
            ));
        }
        let s = self.sessions(opts)?;
        let mut network = Duration::ZERO;
        let mut entropy_t = Duration::ZERO;
        let eb = &self.contract.entropy_bottleneck;
        let t = Instant::now();
        let mut dec = entropy::Decoder::new(payload).map_err(|e| lib_err(codec, e))?;
        let y_down = self.contract.y_downsampling();
        let (yh, yw) = ((h / y_down) as usize, (w / y_down) as usize);
        let (y_hat, yc, sum) = match self.contract.family {
            Family::Factorized => {
                let c = eb.channels;
                let ch = channels_of(c, yh * yw);
                let sym = dec.decode(&self.bottleneck, &ch).map_err(|e| lib_err(codec, e))?;
                let y_hat = bottleneck_values(&sym, &ch, &eb.medians);
                entropy_t += t.elapsed();
                (y_hat, c, checksum(&[(&sym, &ch)]))
            }
            family => {
                let (zh, zw) = (yh / 4, yw / 4);
                let c = eb.channels;
                let zch = channels_of(c, zh * zw);
                let zsym = dec.decode(&self.bottleneck, &zch).map_err(|e| lib_err(codec, e))?;
                let z_hat = bottleneck_values(&zsym, &zch, &eb.medians);
                entropy_t += t.elapsed();
                let (gc, gtables) = self.gaussian_parts()?;
                if family.has_context() {
                    let t = Instant::now();
                    let hyper = self.hyper_outputs(&s, &z_hat, &[1, c, zh, zw])?;
                    network += t.elapsed();
                    let t = Instant::now();
                    let yc = self.contract.latent_channels.unwrap_or(0);
                    let (y_hat, coded) = context::code_y(
                        &self.contract,
                        &*s,
                        &hyper,
                        (yc, yh, yw),
                        gtables,
                        context::Coder::Decode { decoder: &mut dec },
                    )?;
                    network += coded.network;
                    entropy_t += t.elapsed().saturating_sub(coded.network);
                    (y_hat, yc, checksum(&[(&zsym, &zch), (&coded.symbols, &coded.indexes)]))
                } else {
                    let t = Instant::now();
                    let (scales, means, sshape) = self.hyper_synthesis(&s, &z_hat, &[1, c, zh, zw])?;
                    network += t.elapsed();
                    let t = Instant::now();
                    let idx = scale_indexes(&scales, &gc.scale_table, gc.scale_bound);
                    let ysym = dec.decode(gtables, &idx).map_err(|e| lib_err(codec, e))?;
                    let y_hat: Vec<f32> = match &means {
                        Some(mu) => ysym.iter().zip(mu).map(|(&q, &m)| q as f32 + m).collect(),
                        None => ysym.iter().map(|&q| q as f32).collect(),
                    };
                    entropy_t += t.elapsed();
                    (y_hat, sshape[1], checksum(&[(&zsym, &zch), (&ysym, &idx)]))
                }
            }
        };
        if sum != header.checksum || !dec.is_exhausted() {
            return Err(lib_err(
                codec,
                "the bitstream does not decode to the encoder's latents (checksum mismatch): the entropy parameters on this device or runtime differ from the encoder's, or the data are corrupt",
            ));
        }
        if let Some(want) = header.latents
            && want != latent_checksum(&y_hat)
        {
            return Err(lib_err(
                codec,
                "the decoded latents differ from the encoder's in their last bits (latent checksum mismatch): the entropy parameters computed here (another device, runtime or thread count) drifted from the encoder's; decode where it was encoded",
            ));
        }
        let t = Instant::now();
        let (xshape, x) = s
            .g_s
            .run(&[("y_hat", &[1, yc, yh, yw], &y_hat)], &["x_hat"])
            .map_err(|e| lib_err(codec, e))?
            .remove(0);
        network += t.elapsed();
        if xshape != [1, 3, h as usize, w as usize] {
            return Err(lib_err(codec, format!("g_s gave {xshape:?}, expected [1, 3, {h}, {w}]")));
        }
        let plane = (w * h) as usize;
        let pixels = (0..plane)
            .flat_map(|i| (0..3).map(move |c| (c, i)))
            .map(|(c, i)| x[c * plane + i].clamp(0.0, 1.0))
            .collect();
        Ok(Decoded {
            width: w,
            height: h,
            pixels,
            latents: y_hat,
            network,
            entropy: entropy_t,
        })
    }
}

/// 8-bit RGB → NCHW float32 in [0, 1] (`v / 255`).
pub fn to_nchw(image: &RgbImage) -> Vec<f32> {
    let raw = image.as_raw();
    let mut x = Vec::with_capacity(raw.len());
    for c in 0..3 {
        x.extend(raw.iter().skip(c).step_by(3).map(|&v| f32::from(v) / 255.0));
    }
    x
}

/// `x̂` in [0, 1] (H×W×3) → 8-bit, rounded half away from zero as `(x · 255).round()`.
pub fn to_rgb8(d: &Decoded) -> RgbImage {
    let data = d.pixels.iter().map(|&v| (v * 255.0).round() as u8).collect();
    RgbImage::from_raw(d.width, d.height, data).unwrap_or_else(|| RgbImage::new(d.width, d.height))
}

/// The settings of `kind = "learned"`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LearnedSettings {
    /// Folder of the codec (its `codec.json`, or subfolders with one per quality point),
    /// relative to the configuration's folder. Required.
    pub path: Option<PathBuf>,
}

impl CodecSettings for LearnedSettings {
    fn build(self, ctx: &BuildContext<'_>) -> Result<Built, BuildError> {
        let rel = self
            .path
            .ok_or_else(|| BuildError::Invalid("a learned codec needs `path` (its folder of codec.json quality points)".into()))?;
        Ok(Built::new(LearnedCodec::open(&ctx.resolve(&rel), ctx.runtime)?))
    }
}

/// A learned codec: one or more quality points found under a folder (the folder itself
/// when it holds `codec.json`, else its subfolders that do), addressed by the `quality`
/// number in each `codec.json`.
pub struct LearnedCodec {
    root: PathBuf,
    points: Vec<Point>,
    opts: RuntimeOptions,
}

impl LearnedCodec {
    /// Opens every quality point under `root`: reads and range-checks each `codec.json`,
    /// then loads every graph on the CPU (with `opts`' threads) and checks it against the
    /// contract (errors name the file), so a broken codec is refused before any image is
    /// coded. Coding runs on `opts`' device: off the CPU, its sessions are created at the
    /// first image, and a device that cannot run them fails that image's row.
    pub fn open(root: &Path, opts: RuntimeOptions) -> Result<Self, CodecError> {
        let io = |e: std::io::Error| CodecError::Io {
            context: format!("reading learned codec folder {}", root.display()),
            source: e,
        };
        let mut points = Vec::new();
        if root.join(contract::FILE).is_file() {
            points.push(Point::open(root)?);
        } else {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join(contract::FILE).is_file())
                .collect();
            dirs.sort();
            for d in dirs {
                points.push(Point::open(&d)?);
            }
        }
        if points.is_empty() {
            return Err(lib_err(
                "learned",
                format!("{}: no {} here or in its subfolders", root.display(), contract::FILE),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &points {
            if !seen.insert(p.contract.quality) {
                return Err(lib_err(
                    "learned",
                    format!("{}: two quality points have quality {}", root.display(), p.contract.quality),
                ));
            }
            if p.contract.size_multiple != points[0].contract.size_multiple {
                return Err(lib_err(
                    "learned",
                    format!("{}: quality points differ in size multiple", root.display()),
                ));
            }
        }
        let check = RuntimeOptions {
            device: icmbench_models::Device::Cpu,
            ..opts
        };
        for p in &points {
            p.load_graphs(&check)?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            points,
            opts,
        })
    }

    /// Where its sessions run.
    pub fn runtime(&self) -> RuntimeOptions {
        self.opts
    }

    /// The quality numbers available, ascending.
    pub fn qualities(&self) -> Vec<i64> {
        let mut q: Vec<i64> = self.points.iter().map(|p| p.contract.quality).collect();
        q.sort_unstable();
        q
    }

    /// The quality point with this number.
    pub fn point(&self, quality: f64) -> Result<&Point, CodecError> {
        self.points
            .iter()
            .find(|p| p.contract.quality as f64 == quality)
            .ok_or_else(|| CodecError::InvalidQuality {
                codec: format!("learned {}", self.root.display()),
                quality,
                expected: format!("one of {:?}", self.qualities()),
            })
    }

    /// Encodes with all details (estimated rate, timings).
    pub fn encode_detailed(&self, image: &RgbImage, quality: f64) -> Result<Encoded, CodecError> {
        self.point(quality)?.encode(image, &self.runtime())
    }

    /// Decodes to floats (before 8-bit rounding), with timings; the quality point is the
    /// one named in the header.
    pub fn decode_detailed(&self, bits: &[u8]) -> Result<Decoded, CodecError> {
        let header = bitstream::Header::parse(bits).map_err(|e| lib_err("learned", e))?.0;
        if let Some(id) = header.codec
            && !self.points.iter().any(|p| codec_id(&p.contract.digest) == id)
        {
            let ours: Vec<String> = self
                .points
                .iter()
                .map(|p| format!("quality {} = {}", p.contract.quality, hex_id(&codec_id(&p.contract.digest))))
                .collect();
            return Err(lib_err(
                "learned",
                format!(
                    "the bitstream was written by codec {} at quality {}, which is not a quality point of {} ({}): decode it with the codec that wrote it",
                    hex_id(&id),
                    header.quality,
                    self.root.display(),
                    ours.join(", ")
                ),
            ));
        }
        self.point(header.quality as f64)?.decode(bits, &self.runtime())
    }
}

impl Sessions {
    /// The MACs every graph ran since the sessions were made (profiled sessions only).
    fn macs(&self) -> Result<icmbench_models::complexity::MacCount, CodecError> {
        let mut total = icmbench_models::complexity::MacCount::default();
        let graphs = [Some(&self.g_a), Some(&self.g_s), self.h_a.as_ref(), self.h_s.as_ref()];
        for m in graphs.into_iter().flatten().chain(self.context.values()) {
            total.add(&m.macs().map_err(|e| lib_err("learned", e))?);
        }
        Ok(total)
    }
}

impl LearnedCodec {
    /// Encodes and decodes `image` at `quality` with fresh profiled sessions on the CPU (one
    /// set for each side) and counts their MACs.
    fn profiled(&self, image: &RgbImage, quality: f64) -> Result<crate::Complexity, CodecError> {
        let dir = &self.point(quality)?.dir;
        let opts = RuntimeOptions {
            device: icmbench_models::Device::Cpu,
            profile: true,
            ..self.opts
        };
        // One fresh set of sessions per side: a profile ends when it is read. The encoder's
        // own bitstream is the decoder's input.
        let encoder = LearnedCodec::open(dir, opts)?;
        let bitstream = encoder.encode(image, quality)?;
        let decoder = LearnedCodec::open(dir, opts)?;
        decoder.decode(&bitstream, image.width(), image.height())?;
        Ok(crate::Complexity {
            encoder: encoder.points[0].sessions(&opts)?.macs()?,
            decoder: decoder.points[0].sessions(&opts)?.macs()?,
        })
    }
}

impl Codec for LearnedCodec {
    fn kind(&self) -> &str {
        "learned"
    }

    fn complexity(&self, image: &RgbImage, quality: f64) -> Option<Result<crate::Complexity, CodecError>> {
        Some(self.profiled(image, quality))
    }

    fn version(&self) -> String {
        let labels: Vec<String> = self
            .points
            .iter()
            .map(|p| format!("q{}: {} ({})", p.contract.quality, p.contract.label, p.contract.digest))
            .collect();
        format!(
            "icmbench learned-codec contract v{}, bitstream v{}, rANS (constriction 0.4) 16-bit CDFs; {}",
            contract::VERSION,
            bitstream::VERSION,
            labels.join("; ")
        )
    }

    fn size_multiple(&self) -> u32 {
        self.points[0].contract.size_multiple
    }

    fn check_quality(&self, quality: f64) -> Result<(), CodecError> {
        self.point(quality).map(|_| ())
    }

    fn encode(&self, image: &RgbImage, quality: f64) -> Result<Vec<u8>, CodecError> {
        Ok(self.encode_detailed(image, quality)?.bitstream)
    }

    fn encode_with_estimate(&self, image: &RgbImage, quality: f64) -> Result<(Vec<u8>, Option<f64>), CodecError> {
        let e = self.encode_detailed(image, quality)?;
        Ok((e.bitstream, Some(e.estimated_bits)))
    }

    fn decode(&self, bitstream: &[u8], width: u32, height: u32) -> Result<RgbImage, CodecError> {
        let header = bitstream::Header::parse(bitstream).map_err(|e| lib_err("learned", e))?.0;
        if (header.width, header.height) != (width, height) {
            return Err(lib_err(
                "learned",
                format!("bitstream is {}x{}, expected {width}x{height}", header.width, header.height),
            ));
        }
        self.decode_detailed(bitstream).map(|d| to_rgb8(&d))
    }
}
