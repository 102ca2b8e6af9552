//! `codec.json`, the learned-codec contract (one per quality point), as written by
//! `tools/export/compressai.py` and `tools/export/tcm.py`:
//!
//! - `format` = `icmbench-learned-codec`, `version` = 1 or 2 (version 2 adds the context
//!   families and the fields `latent_channels`, `hyper_outputs` and `context`);
//! - `family`: `factorized` | `scale-hyperprior` | `mean-scale-hyperprior` (version 1 or 2),
//!   `autoregressive` | `checkerboard` | `channel-conditional` (version 2; see [`Context`]);
//! - `label` (λ, quality index, "demonstration model"…), `quality` (the number configs use);
//! - `size_multiple` (a multiple of 16 for factorized, of 64 for the others: CompressAI's
//!   models use 16 and 64, LIC-TCM and SA-ICM 128), `input` (RGB in [0, 1]), `precision` (16);
//! - `graphs`: ONNX files `g_a` (`x` → `y`), `g_s` (`y_hat` → `x_hat`), and for hyperpriors
//!   `h_a` (`y` → `z`) and `h_s` (`z_hat` → `scales` [, `means`]);
//! - `entropy_bottleneck`: `quantized_cdf`, `cdf_length`, `offset`, `medians` per channel,
//!   and the density model (`matrices`, `biases`, `factors`) for the likelihoods;
//! - `gaussian_conditional` (hyperpriors): `scale_table`, `quantized_cdf`, `cdf_length`,
//!   `offset`, `scale_bound`, `likelihood_bound`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::entropy::DensityModel;
use crate::CodecError;

/// The contract file in each quality-point folder.
pub const FILE: &str = "codec.json";
/// The newest contract version read (1 and 2 are).
pub const VERSION: u32 = 2;

/// Model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Ballé et al. 2018 factorized prior (bmshj2018-factorized).
    Factorized,
    /// Scale hyperprior (bmshj2018-hyperprior).
    ScaleHyperprior,
    /// Mean-scale hyperprior (mbt2018-mean).
    MeanScaleHyperprior,
    /// Raster-scan spatial context through a masked convolution (mbt2018, cheng2020).
    Autoregressive,
    /// Checkerboard context (He et al. 2021), alone or in channel groups as ELIC.
    Checkerboard,
    /// Channel-wise context over slices, with latent residual prediction (Minnen & Singh
    /// 2020, LIC-TCM, SA-ICM).
    ChannelConditional,
}

impl Family {
    /// Code in the bitstream header.
    pub fn code(self) -> u8 {
        match self {
            Family::Factorized => 0,
            Family::ScaleHyperprior => 1,
            Family::MeanScaleHyperprior => 2,
            Family::Autoregressive => 3,
            Family::Checkerboard => 4,
            Family::ChannelConditional => 5,
        }
    }

    /// Whether this family has a context model (contract version 2).
    pub fn has_context(self) -> bool {
        matches!(self, Family::Autoregressive | Family::Checkerboard | Family::ChannelConditional)
    }

    /// The name in `codec.json`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Factorized => "factorized",
            Family::ScaleHyperprior => "scale-hyperprior",
            Family::MeanScaleHyperprior => "mean-scale-hyperprior",
            Family::Autoregressive => "autoregressive",
            Family::Checkerboard => "checkerboard",
            Family::ChannelConditional => "channel-conditional",
        }
    }

    /// The family of a header code.
    pub fn from_code(c: u8) -> Option<Self> {
        [
            Family::Factorized,
            Family::ScaleHyperprior,
            Family::MeanScaleHyperprior,
            Family::Autoregressive,
            Family::Checkerboard,
            Family::ChannelConditional,
        ]
        .into_iter()
        .find(|f| f.code() == c)
    }
}

/// The EntropyBottleneck tables.
#[derive(Debug, Clone, Deserialize)]
pub struct Bottleneck {
    /// Channels.
    pub channels: usize,
    /// Per channel the CDF (length `cdf_length`).
    pub quantized_cdf: Vec<Vec<u32>>,
    /// Per channel the CDF length.
    pub cdf_length: Vec<usize>,
    /// Per channel the symbol of bin 0.
    pub offset: Vec<i32>,
    /// Per channel the median (quantisation centre).
    pub medians: Vec<f64>,
    /// Widths of the density model's hidden layers.
    pub filters: Vec<usize>,
    /// Per layer, of shape `[channels][out][in]`.
    pub matrices: Vec<Vec<Vec<Vec<f64>>>>,
    /// Per layer, of shape `[channels][out][1]`.
    pub biases: Vec<Vec<Vec<Vec<f64>>>>,
    /// Per hidden layer, of shape `[channels][out][1]`.
    pub factors: Vec<Vec<Vec<Vec<f64>>>>,
    /// Lower bound of the likelihoods.
    pub likelihood_bound: f64,
}

impl Bottleneck {
    /// The per-channel density models.
    pub fn density_models(&self) -> Result<Vec<DensityModel>, String> {
        (0..self.channels)
            .map(|c| {
                let mut matrices = Vec::new();
                for (i, layer) in self.matrices.iter().enumerate() {
                    let m = layer
                        .get(c)
                        .ok_or_else(|| format!("entropy_bottleneck.matrices[{i}] lacks channel {c}"))?;
                    let rows = m.len();
                    let cols = m.first().map_or(0, Vec::len);
                    matrices.push((rows, cols, m.iter().flatten().copied().collect()));
                }
                let col = |name: &str, t: &Vec<Vec<Vec<Vec<f64>>>>| -> Result<Vec<Vec<f64>>, String> {
                    t.iter()
                        .enumerate()
                        .map(|(i, layer)| {
                            layer
                                .get(c)
                                .map(|v| v.iter().flatten().copied().collect())
                                .ok_or_else(|| format!("entropy_bottleneck.{name}[{i}] lacks channel {c}"))
                        })
                        .collect()
                };
                if matrices.iter().any(|(r, c, _)| *r > 16 || *c > 16) {
                    return Err("entropy_bottleneck: density-model layers wider than 16 are not supported".to_string());
                }
                Ok(DensityModel::new(
                    matrices,
                    col("biases", &self.biases)?,
                    col("factors", &self.factors)?,
                ))
            })
            .collect()
    }
}

/// The GaussianConditional tables.
#[derive(Debug, Clone, Deserialize)]
pub struct Gaussian {
    /// Increasing scales; table `i` is `N(0, scale_table[i])`.
    pub scale_table: Vec<f64>,
    /// Per table the CDF.
    pub quantized_cdf: Vec<Vec<u32>>,
    /// Per table the CDF length.
    pub cdf_length: Vec<usize>,
    /// Per table the symbol of bin 0.
    pub offset: Vec<i32>,
    /// Lower bound of the scales.
    pub scale_bound: f64,
    /// Lower bound of the likelihoods.
    pub likelihood_bound: f64,
}

/// One channel group (a slice) of a `checkerboard` or `channel-conditional` context.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Channels of y in this group (groups split y's channels in order).
    pub channels: usize,
    /// The earlier groups whose final `ŷ` are concatenated, in this order, into the
    /// graphs' `support` input (empty: no `support` input).
    #[serde(default)]
    pub support: Vec<usize>,
    /// Whether a latent-residual-prediction graph `group{k}_lrp` follows the slice
    /// (`channel-conditional` only).
    #[serde(default)]
    pub lrp: bool,
}

/// Which checkerboard positions are anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// Anchors where row + column is even (CompressAI's default).
    #[default]
    Even,
    /// Anchors where row + column is odd.
    Odd,
}

/// The context model of a version-2 family (`context` in `codec.json`).
///
/// - `autoregressive`: `kernel_size` K; graph `context` takes `y_crop` [1, M, K, K] (ŷ
///   around the position, zero where not yet decoded) and each hyper output at the
///   position [1, P, 1, 1], and gives `scales` and `means` [1, M, 1, 1].
/// - `checkerboard`: `groups` (one group for Cheng2020AnchorCheckerboard, ELIC's uneven
///   channel groups), `anchor_parity`; per group `group{k}_anchor` (hyper outputs
///   [+ `support`] → `scales`, `means`) and `group{k}_non_anchor` (the same + `y_hat_anchor`).
/// - `channel-conditional`: `groups` (slices); per group `group{k}_params` (hyper outputs
///   [+ `support`] → `scales`, `means`) and, with `lrp`, `group{k}_lrp` (the same +
///   `y_hat_slice` → `lrp`, added to the slice's ŷ).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Side of the masked convolution's window (`autoregressive`).
    #[serde(default)]
    pub kernel_size: Option<usize>,
    /// Channel groups (`checkerboard`, `channel-conditional`).
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Which positions are anchors (`checkerboard`).
    #[serde(default)]
    pub anchor_parity: Parity,
}

/// The largest autoregressive window accepted.
pub const MAX_KERNEL: usize = 15;
/// The most channel groups accepted.
pub const MAX_GROUPS: usize = 64;

/// One quality point's contract.
#[derive(Debug, Clone, Deserialize)]
pub struct Contract {
    /// `icmbench-learned-codec`.
    pub format: String,
    /// Contract version.
    pub version: u32,
    /// Family.
    pub family: Family,
    /// Free-text label (λ, quality index, provenance).
    pub label: String,
    /// Quality number used in configs.
    pub quality: i64,
    /// Width and height must be multiples of this.
    pub size_multiple: u32,
    /// Input convention (documentation).
    #[serde(default)]
    pub input: String,
    /// CDF precision in bits (16).
    pub precision: u32,
    /// ONNX files by role.
    pub graphs: BTreeMap<String, String>,
    /// EntropyBottleneck (of y for factorized, of z for hyperpriors).
    pub entropy_bottleneck: Bottleneck,
    /// GaussianConditional of y (hyperpriors).
    #[serde(default)]
    pub gaussian_conditional: Option<Gaussian>,
    /// Whether this is a demonstration model, not a research result.
    #[serde(default)]
    pub demonstration: bool,
    /// Channels of y (version 2 context families).
    #[serde(default)]
    pub latent_channels: Option<usize>,
    /// The output names of `h_s`, in order (version 2 context families); every context
    /// graph takes them all as inputs.
    #[serde(default)]
    pub hyper_outputs: Vec<String>,
    /// The context model (version 2 context families).
    #[serde(default)]
    pub context: Option<Context>,

    /// BLAKE3 of codec.json and the graphs (filled in when read; part of the cache key).
    #[serde(skip)]
    pub digest: String,
}

/// The largest graph file read (ONNX's protobuf limit).
pub const MAX_GRAPH_BYTES: u64 = 2 << 30;
/// The largest `size_multiple` accepted (CompressAI's models need 16 or 64).
pub const MAX_SIZE_MULTIPLE: u32 = 1024;
/// The most EntropyBottleneck channels accepted.
pub const MAX_CHANNELS: usize = 65_536;
/// The largest |median|, scale and scale bound accepted: a 16-bit table covers at most
/// 65 535 bins, and f32 latents keep a resolution of 1/128 up to there.
pub const MAX_MAGNITUDE: f64 = 65_536.0;
/// The largest |value| of a density-model parameter (trained ones are within tens; beyond
/// this the cumulative logits overflow).
pub const MAX_DENSITY_PARAMETER: f64 = 1e6;
/// How far (total variation) a table may be from the distribution it was made from, beyond
/// one 16-bit unit per bin that quantisation may move (the CompressAI tables of the test
/// fixtures and the demo codec are within 0.025).
pub const TABLE_TOLERANCE: f64 = 0.05;

/// A number for messages: plain, or in scientific notation when very large or small.
fn num(v: f64) -> String {
    if v == 0.0 || (1e-4..1e9).contains(&v.abs()) || !v.is_finite() {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Checks that `v` is finite and within `[lo, hi]`.
fn in_range(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), String> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(format!(
            "`{field}` = {} is out of range: it must be finite and within [{}, {}]",
            num(v),
            num(lo),
            num(hi)
        ))
    }
}

/// Checks one CDF table as CompressAI's `update()` writes it: `cdf_length` entries, from 0
/// to 2^16, strictly increasing, at most 2^16 + 1 entries, and an `offset` (the symbol of
/// bin 0) such that symbol 0 (the quantisation centre) lies inside the regular bins.
fn check_table(field: &str, i: usize, cdf: &[u32], length: usize, offset: i32) -> Result<(), String> {
    let max_len = (1usize << super::entropy::PRECISION) + 1;
    if cdf.len() != length {
        return Err(format!(
            "`{field}.quantized_cdf[{i}]` has {} entries but `{field}.cdf_length[{i}]` is {length}",
            cdf.len()
        ));
    }
    if !(3..=max_len).contains(&length) {
        return Err(format!(
            "`{field}.cdf_length[{i}]` = {length} is out of range: a 16-bit CDF has 3 to {max_len} entries"
        ));
    }
    if cdf[0] != 0 || cdf[length - 1] != 1 << super::entropy::PRECISION {
        return Err(format!(
            "`{field}.quantized_cdf[{i}]` must start at 0 and end at 65536 (it runs from {} to {})",
            cdf[0],
            cdf[length - 1]
        ));
    }
    if let Some(k) = cdf.windows(2).position(|w| w[1] <= w[0]) {
        return Err(format!(
            "`{field}.quantized_cdf[{i}]` is not strictly increasing at entry {k} ({} then {})",
            cdf[k],
            cdf[k + 1]
        ));
    }
    // Regular bins are symbols offset ..= offset + length − 3; the centre (0) must be one.
    let bins = length as i64 - 2;
    if offset > 0 || -i64::from(offset) >= bins {
        return Err(format!(
            "`{field}.offset[{i}]` = {offset} is out of range: the table's {bins} regular bins must cover symbol 0, so it must be within [{}, 0]",
            1 - bins
        ));
    }
    Ok(())
}

/// Total variation between a table's regular bins and the probabilities `expected` of the
/// same bins (both normalised), or `None` when `expected` has no mass.
fn table_distance(cdf: &[u32], expected: &[f64]) -> Option<f64> {
    let probs: Vec<f64> = cdf.windows(2).take(expected.len()).map(|w| f64::from(w[1] - w[0])).collect();
    let (sp, se) = (probs.iter().sum::<f64>(), expected.iter().sum::<f64>());
    if !(se.is_finite() && se > 0.0) || sp <= 0.0 {
        return None;
    }
    Some(0.5 * probs.iter().zip(expected).map(|(p, e)| (p / sp - e / se).abs()).sum::<f64>())
}

/// Checks that a table is the distribution it claims to be, within [`TABLE_TOLERANCE`] plus
/// one 16-bit unit per bin.
fn check_distance(what: &str, cdf: &[u32], expected: &[f64]) -> Result<(), String> {
    let allowed = TABLE_TOLERANCE + 2.0 * expected.len() as f64 / f64::from(1u32 << super::entropy::PRECISION);
    match table_distance(cdf, expected) {
        Some(d) if d <= allowed => Ok(()),
        Some(d) => Err(format!(
            "{what}: the table is not that distribution (total variation {d:.3}, allowed {allowed:.3})"
        )),
        None => Err(format!("{what}: that distribution has no mass on the table's bins")),
    }
}

impl Bottleneck {
    /// Range and consistency checks of the tables and the density model.
    fn check(&self) -> Result<(), String> {
        let f = "entropy_bottleneck";
        let c = self.channels;
        if !(1..=MAX_CHANNELS).contains(&c) {
            return Err(format!("`{f}.channels` = {c} is out of range: 1 to {MAX_CHANNELS}"));
        }
        for (name, len) in [
            ("quantized_cdf", self.quantized_cdf.len()),
            ("cdf_length", self.cdf_length.len()),
            ("offset", self.offset.len()),
            ("medians", self.medians.len()),
        ] {
            if len != c {
                return Err(format!("`{f}.{name}` has {len} entries for {c} channels"));
            }
        }
        for i in 0..c {
            check_table(f, i, &self.quantized_cdf[i], self.cdf_length[i], self.offset[i])?;
            in_range(&format!("{f}.medians[{i}]"), self.medians[i], -MAX_MAGNITUDE, MAX_MAGNITUDE)?;
        }
        in_range(&format!("{f}.likelihood_bound"), self.likelihood_bound, 0.0, 0.5)?;
        if self.filters.len() > 16 || self.filters.iter().any(|&w| !(1..=16).contains(&w)) {
            return Err(format!(
                "`{f}.filters` = {:?}: at most 16 hidden layers of 1 to 16 units are supported",
                self.filters
            ));
        }
        // Layer i maps widths[i] → widths[i + 1]; widths = [1, filters.., 1].
        let widths: Vec<usize> = std::iter::once(1)
            .chain(self.filters.iter().copied())
            .chain(std::iter::once(1))
            .collect();
        let layers = widths.len() - 1;
        let params = [
            ("matrices", &self.matrices, layers, true),
            ("biases", &self.biases, layers, false),
            ("factors", &self.factors, layers - 1, false),
        ];
        for (name, t, count, is_matrix) in params {
            if t.len() != count {
                return Err(format!(
                    "`{f}.{name}` has {} layers; filters {:?} need {count}",
                    t.len(),
                    self.filters
                ));
            }
            for (l, layer) in t.iter().enumerate() {
                if layer.len() != c {
                    return Err(format!("`{f}.{name}[{l}]` has {} channels, expected {c}", layer.len()));
                }
                let (rows, cols) = (widths[l + 1], if is_matrix { widths[l] } else { 1 });
                for (k, m) in layer.iter().enumerate() {
                    if m.len() != rows || m.iter().any(|r| r.len() != cols) {
                        return Err(format!("`{f}.{name}[{l}][{k}]` must be {rows}×{cols}"));
                    }
                    if let Some(v) = m.iter().flatten().find(|v| !(v.is_finite() && v.abs() <= MAX_DENSITY_PARAMETER)) {
                        return Err(format!(
                            "`{f}.{name}[{l}][{k}]` holds {}: density-model parameters must be finite and within ±{MAX_DENSITY_PARAMETER:e}",
                            num(*v)
                        ));
                    }
                }
            }
        }
        // Each channel's table must be its density model's pmf around its median (CompressAI's
        // `update()`: bin k is the mass of [m + offset + k − ½, m + offset + k + ½]).
        let models = self.density_models()?;
        for (i, model) in models.iter().enumerate() {
            let (m, o) = (self.medians[i], f64::from(self.offset[i]));
            let bins = self.cdf_length[i] - 2;
            let pmf: Vec<f64> = (0..bins).map(|k| model.likelihood(m + o + k as f64).max(0.0)).collect();
            check_distance(
                &format!(
                    "`{f}.quantized_cdf[{i}]` against the density model around `medians[{i}]` = {}",
                    num(m)
                ),
                &self.quantized_cdf[i],
                &pmf,
            )?;
        }
        Ok(())
    }
}

impl Gaussian {
    /// Range and consistency checks of the scale table and its CDFs.
    fn check(&self) -> Result<(), String> {
        let f = "gaussian_conditional";
        let n = self.scale_table.len();
        if n == 0 {
            return Err(format!("`{f}.scale_table` is empty"));
        }
        for (name, len) in [
            ("quantized_cdf", self.quantized_cdf.len()),
            ("cdf_length", self.cdf_length.len()),
            ("offset", self.offset.len()),
        ] {
            if len != n {
                return Err(format!("`{f}.{name}` has {len} entries for {n} scales in `scale_table`"));
            }
        }
        for (i, &s) in self.scale_table.iter().enumerate() {
            if !(s.is_finite() && s > 0.0 && s <= MAX_MAGNITUDE) {
                return Err(format!(
                    "`{f}.scale_table[{i}]` = {} is out of range: scales must be finite, positive and at most {MAX_MAGNITUDE}",
                    num(s)
                ));
            }
        }
        if !self.scale_table.windows(2).all(|w| w[0] <= w[1]) {
            return Err(format!("`{f}.scale_table` must be ascending (as CompressAI's)"));
        }
        if !(self.scale_bound.is_finite() && self.scale_bound > 0.0 && self.scale_bound <= MAX_MAGNITUDE) {
            return Err(format!(
                "`{f}.scale_bound` = {} is out of range: it must be finite, positive and at most {MAX_MAGNITUDE}",
                num(self.scale_bound)
            ));
        }
        in_range(&format!("{f}.likelihood_bound"), self.likelihood_bound, 0.0, 0.5)?;
        // Table i is N(0, scale_table[i]) on integer bins centred on symbol 0 (CompressAI's
        // `update()`).
        let phi = |x: f64| 0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2);
        for i in 0..n {
            check_table(f, i, &self.quantized_cdf[i], self.cdf_length[i], self.offset[i])?;
            let s = self.scale_table[i];
            let centre = -i64::from(self.offset[i]);
            let pmf: Vec<f64> = (0..self.cdf_length[i] as i64 - 2)
                .map(|k| {
                    let v = (k - centre).abs() as f64;
                    phi((0.5 - v) / s) - phi((-0.5 - v) / s)
                })
                .collect();
            check_distance(
                &format!("`{f}.quantized_cdf[{i}]` against N(0, `scale_table[{i}]` = {})", num(s)),
                &self.quantized_cdf[i],
                &pmf,
            )?;
        }
        Ok(())
    }
}

impl Contract {
    /// Reads and checks `dir/codec.json`; errors name the file and the field.
    ///
    /// Besides the structure, values are range-checked (see [`Contract::check`]), so a
    /// contract that would decode garbage is refused before any image is coded.
    pub fn read(dir: &Path) -> Result<Self, CodecError> {
        let path = dir.join(FILE);
        let bad = |message: String| CodecError::BadOutput {
            codec: "learned".into(),
            message: format!("{}: {message}", path.display()),
        };
        // Read through a cap (a file that is a link to /dev/zero must not read forever).
        let text = icmbench_models::textfile::read_bytes_capped(&path, icmbench_models::textfile::TEXT_CAP).map_err(|e| {
            CodecError::BadOutput {
                codec: "learned".into(),
                message: e.to_string(),
            }
        })?;
        let mut c: Contract = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        c.check().map_err(bad)?;
        let needed = c.roles();
        let mut hasher = blake3::Hasher::new();
        hasher.update(&text);
        for role in needed {
            let file = c.graphs.get(&role).ok_or_else(|| bad(format!("`graphs.{role}` is missing")))?;
            if Path::new(file).components().any(|p| !matches!(p, std::path::Component::Normal(_))) {
                return Err(bad(format!(
                    "`graphs.{role}` = {file:?} must be a file name inside the codec folder"
                )));
            }
            let read = std::fs::File::open(dir.join(file)).and_then(|f| std::io::copy(&mut f.take(MAX_GRAPH_BYTES + 1), &mut hasher));
            match read {
                Err(e) => return Err(bad(format!("graph `{role}` ({file}): {e}"))),
                Ok(n) if n > MAX_GRAPH_BYTES => {
                    return Err(bad(format!(
                        "graph `{role}` ({file}) is larger than the {} GiB ONNX allows",
                        MAX_GRAPH_BYTES >> 30
                    )));
                }
                Ok(_) => {}
            }
        }
        c.digest = hasher.finalize().to_hex()[..16].to_string();
        Ok(c)
    }

    /// The graph roles of this contract, in coding order: the transforms, then the
    /// context graphs of a version-2 family.
    pub fn roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = if self.family == Family::Factorized {
            vec!["g_a".into(), "g_s".into()]
        } else {
            vec!["g_a".into(), "g_s".into(), "h_a".into(), "h_s".into()]
        };
        let groups = self.context.as_ref().map_or(&[][..], |c| &c.groups[..]);
        match self.family {
            Family::Autoregressive => roles.push("context".into()),
            Family::Checkerboard => {
                for k in 0..groups.len() {
                    roles.push(format!("group{k}_anchor"));
                    roles.push(format!("group{k}_non_anchor"));
                }
            }
            Family::ChannelConditional => {
                for (k, g) in groups.iter().enumerate() {
                    roles.push(format!("group{k}_params"));
                    if g.lrp {
                        roles.push(format!("group{k}_lrp"));
                    }
                }
            }
            _ => {}
        }
        roles
    }

    /// Checks the version-2 fields: present exactly for the context families, channel
    /// groups that split y, supports that name earlier groups, a sane window.
    fn check_context(&self) -> Result<(), String> {
        let ctx_family = self.family.has_context();
        if !ctx_family {
            if self.context.is_some() || !self.hyper_outputs.is_empty() || self.latent_channels.is_some() {
                return Err(format!(
                    "`context`, `hyper_outputs` and `latent_channels` belong to the context families; `{}` has none",
                    self.family.name()
                ));
            }
            return Ok(());
        }
        if self.version < 2 {
            return Err(format!("family `{}` needs `version` 2", self.family.name()));
        }
        let m = self
            .latent_channels
            .ok_or_else(|| format!("`latent_channels` is required for family `{}`", self.family.name()))?;
        if !(1..=MAX_CHANNELS).contains(&m) {
            return Err(format!("`latent_channels` = {m} is out of range: 1 to {MAX_CHANNELS}"));
        }
        if self.hyper_outputs.is_empty() || self.hyper_outputs.len() > 8 {
            return Err("`hyper_outputs` must name 1 to 8 outputs of h_s".into());
        }
        const RESERVED: [&str; 5] = ["support", "y_hat_anchor", "y_hat_slice", "y_crop", "z_hat"];
        for (i, name) in self.hyper_outputs.iter().enumerate() {
            if name.is_empty() || RESERVED.contains(&name.as_str()) || self.hyper_outputs[..i].contains(name) {
                return Err(format!(
                    "`hyper_outputs[{i}]` = {name:?} must be a distinct name other than {}",
                    RESERVED.join(", ")
                ));
            }
        }
        let ctx = self
            .context
            .as_ref()
            .ok_or_else(|| format!("`context` is required for family `{}`", self.family.name()))?;
        if self.family == Family::Autoregressive {
            let k = ctx
                .kernel_size
                .ok_or("`context.kernel_size` is required for family `autoregressive`")?;
            if k % 2 == 0 || !(1..=MAX_KERNEL).contains(&k) {
                return Err(format!("`context.kernel_size` = {k} must be odd, from 1 to {MAX_KERNEL}"));
            }
            if !ctx.groups.is_empty() {
                return Err("`context.groups` is not used by family `autoregressive`".into());
            }
            return Ok(());
        }
        if ctx.kernel_size.is_some() {
            return Err(format!("`context.kernel_size` is not used by family `{}`", self.family.name()));
        }
        if ctx.groups.is_empty() || ctx.groups.len() > MAX_GROUPS {
            return Err(format!("`context.groups` must list 1 to {MAX_GROUPS} channel groups"));
        }
        let mut total = 0usize;
        for (k, g) in ctx.groups.iter().enumerate() {
            if g.channels == 0 || g.channels > m {
                return Err(format!(
                    "`context.groups[{k}].channels` = {} is out of range: 1 to `latent_channels` ({m})",
                    g.channels
                ));
            }
            total = total.saturating_add(g.channels);
            if let Some(&s) = g.support.iter().find(|&&s| s >= k) {
                return Err(format!(
                    "`context.groups[{k}].support` names group {s}: a group's support must be earlier groups"
                ));
            }
            if g.lrp && self.family != Family::ChannelConditional {
                return Err(format!("`context.groups[{k}].lrp` is for family `channel-conditional` only"));
            }
        }
        if total != m {
            return Err(format!(
                "`context.groups` hold {total} channels in all, but `latent_channels` is {m}"
            ));
        }
        Ok(())
    }

    /// Checks everything but the graph files: format and version, precision, size
    /// multiple, graph roles, and the ranges and consistency of the entropy tables (each
    /// CDF must be the distribution it was made from: the density model around its median,
    /// or the Gaussian of its scale). Messages name the field.
    pub fn check(&self) -> Result<(), String> {
        if self.format != "icmbench-learned-codec" {
            return Err(format!("`format` is `{}`, expected `icmbench-learned-codec`", self.format));
        }
        if !(1..=VERSION).contains(&self.version) {
            return Err(format!(
                "`version` {} is not supported (this icmbench reads 1 to {VERSION})",
                self.version
            ));
        }
        if self.precision != super::entropy::PRECISION as u32 {
            return Err(format!(
                "`precision` {} is not supported: the CDFs must be 16-bit (`precision` = 16)",
                self.precision
            ));
        }
        let hyper = self.family != Family::Factorized;
        // Latents are 1/16 (y) and, for hyperpriors, 1/64 (z) of the padded size.
        let step = if hyper { 64 } else { 16 };
        if self.size_multiple == 0 || !self.size_multiple.is_multiple_of(step) || self.size_multiple > MAX_SIZE_MULTIPLE {
            return Err(format!(
                "`size_multiple` = {} is out of range: for {:?} it must be a multiple of {step} from {step} to {MAX_SIZE_MULTIPLE}",
                self.size_multiple, self.family
            ));
        }
        self.check_context()?;
        let roles = self.roles();
        if let Some(extra) = self.graphs.keys().find(|k| !roles.contains(k)) {
            return Err(format!(
                "`graphs.{extra}` is not a graph of this `{}` contract (it has {}); icmbench would ignore it",
                self.family.name(),
                roles.join(", ")
            ));
        }
        if hyper != self.gaussian_conditional.is_some() {
            return Err(format!(
                "`gaussian_conditional` is required exactly for the hyperprior families ({:?})",
                self.family
            ));
        }
        self.entropy_bottleneck.check()?;
        if let Some(gc) = &self.gaussian_conditional {
            gc.check()?;
        }
        Ok(())
    }

    /// Downsampling from the image to y (16: four stride-2 layers).
    pub fn y_downsampling(&self) -> u32 {
        16
    }
}
