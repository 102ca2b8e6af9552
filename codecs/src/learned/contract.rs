//! `codec.json`, the learned-codec contract (one per quality point), as written by
//! `tools/export/compressai.py`:
//!
//! - `format` = `icmbench-learned-codec`, `version` = 1;
//! - `family`: `factorized` | `scale-hyperprior` | `mean-scale-hyperprior`;
//! - `label` (λ, quality index, "demonstration model"…), `quality` (the number configs use);
//! - `size_multiple` (16 factorized, 64 hyperpriors), `input` (RGB in [0, 1]), `precision` (16);
//! - `graphs`: ONNX files `g_a` (`x` → `y`), `g_s` (`y_hat` → `x_hat`), and for hyperpriors
//!   `h_a` (`y` → `z`) and `h_s` (`z_hat` → `scales` [, `means`]);
//! - `entropy_bottleneck`: `quantized_cdf`, `cdf_length`, `offset`, `medians` per channel,
//!   and the density model (`matrices`, `biases`, `factors`) for the likelihoods;
//! - `gaussian_conditional` (hyperpriors): `scale_table`, `quantized_cdf`, `cdf_length`,
//!   `offset`, `scale_bound`, `likelihood_bound`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::entropy::DensityModel;
use crate::CodecError;

/// The contract file in each quality-point folder.
pub const FILE: &str = "codec.json";
/// Contract version read.
pub const VERSION: u32 = 1;

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
}

impl Family {
    /// Code in the bitstream header.
    pub fn code(self) -> u8 {
        match self {
            Family::Factorized => 0,
            Family::ScaleHyperprior => 1,
            Family::MeanScaleHyperprior => 2,
        }
    }

    /// The family of a header code.
    pub fn from_code(c: u8) -> Option<Self> {
        [Family::Factorized, Family::ScaleHyperprior, Family::MeanScaleHyperprior]
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
    /// Per layer [channels][out][in].
    pub matrices: Vec<Vec<Vec<Vec<f64>>>>,
    /// Per layer [channels][out][1].
    pub biases: Vec<Vec<Vec<Vec<f64>>>>,
    /// Per hidden layer [channels][out][1].
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
    /// Increasing scales; table `i` is N(0, scale_table[i]).
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
    /// BLAKE3 of codec.json and the graphs (filled in when read; part of the cache key).
    #[serde(skip)]
    pub digest: String,
}

impl Contract {
    /// Reads and checks `dir/codec.json`; errors name the file and the field.
    pub fn read(dir: &Path) -> Result<Self, CodecError> {
        let path = dir.join(FILE);
        let bad = |message: String| CodecError::BadOutput {
            codec: "learned".into(),
            message: format!("{}: {message}", path.display()),
        };
        let text = std::fs::read(&path).map_err(|e| CodecError::Io {
            context: format!("reading {}", path.display()),
            source: e,
        })?;
        let mut c: Contract = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        if c.format != "icmbench-learned-codec" {
            return Err(bad(format!("`format` is `{}`, expected `icmbench-learned-codec`", c.format)));
        }
        if c.version != VERSION {
            return Err(bad(format!(
                "`version` {} is not supported (this icmbench reads {VERSION})",
                c.version
            )));
        }
        if c.precision != super::entropy::PRECISION as u32 {
            return Err(bad(format!("`precision` {} is not supported (16)", c.precision)));
        }
        if c.size_multiple == 0 {
            return Err(bad("`size_multiple` must be positive".into()));
        }
        let eb = &c.entropy_bottleneck;
        if eb.quantized_cdf.len() != eb.channels || eb.offset.len() != eb.channels || eb.medians.len() != eb.channels {
            return Err(bad(format!("`entropy_bottleneck`: tables for {} channels expected", eb.channels)));
        }
        let hyper = c.family != Family::Factorized;
        if hyper != c.gaussian_conditional.is_some() {
            return Err(bad(format!(
                "`gaussian_conditional` is required exactly for the hyperprior families ({:?})",
                c.family
            )));
        }
        if let Some(gc) = &c.gaussian_conditional
            && (gc.scale_table.len() != gc.quantized_cdf.len() || gc.offset.len() != gc.quantized_cdf.len() || gc.scale_table.is_empty())
        {
            return Err(bad(
                "`gaussian_conditional`: scale_table, quantized_cdf and offset must have one entry per table".into(),
            ));
        }
        if let Some(gc) = &c.gaussian_conditional
            && !gc.scale_table.windows(2).all(|w| w[0] <= w[1])
        {
            return Err(bad("`gaussian_conditional`: scale_table must be ascending (as CompressAI's)".into()));
        }
        let needed: &[&str] = if hyper { &["g_a", "g_s", "h_a", "h_s"] } else { &["g_a", "g_s"] };
        let mut hasher = blake3::Hasher::new();
        hasher.update(&text);
        for role in needed {
            let file = c.graphs.get(*role).ok_or_else(|| bad(format!("`graphs.{role}` is missing")))?;
            let bytes = std::fs::read(dir.join(file)).map_err(|e| bad(format!("graph `{role}` ({file}): {e}")))?;
            hasher.update(&bytes);
        }
        c.digest = hasher.finalize().to_hex()[..16].to_string();
        Ok(c)
    }

    /// Downsampling from the image to y (16: four stride-2 layers).
    pub fn y_downsampling(&self) -> u32 {
        16
    }
}
