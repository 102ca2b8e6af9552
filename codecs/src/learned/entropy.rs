//! Entropy coding of quantised latents with `constriction`'s rANS coder, driven by the
//! integer CDF tables a learned codec exports (CompressAI's `update()` tables, 16-bit).
//!
//! Each table (one per EntropyBottleneck channel, one per GaussianConditional scale) is a
//! CDF over `cdf_length − 1` bins whose last bin is the escape: a symbol `s` is coded as
//! `v = s − offset`; values outside `0..max` (max = `cdf_length − 2`) are coded as the
//! escape followed by the overflow in 4-bit chunks (first the chunk count, in 4-bit units
//! of at most 15 each), as CompressAI's rANS interface does. Everything here is integer
//! arithmetic: for the same symbols and tables the bytes are the same on every machine.
//!
//! The estimated rate of the same latents (the −log2 likelihoods of the continuous models
//! the tables were made from, as CompressAI reports in `forward`) is computed by
//! [`bottleneck_bits`] and [`gaussian_bits`].

use constriction::UnwrapInfallible;
use constriction::stream::model::ContiguousCategoricalEntropyModel;
use constriction::stream::stack::AnsCoder;
use constriction::stream::{Decode, Encode};

/// Probability precision of the exported CDFs (bits).
pub const PRECISION: usize = 16;
const BYPASS_BITS: u32 = 4;
const BYPASS_MAX: u32 = (1 << BYPASS_BITS) - 1;

type Model = ContiguousCategoricalEntropyModel<u32, Vec<u32>, PRECISION>;

/// Errors of the entropy coder; each says what is inconsistent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EntropyError {
    /// A CDF table is not a valid 16-bit CDF.
    #[error("CDF table {table}: {reason}")]
    BadTable {
        /// Table index.
        table: usize,
        /// What is wrong.
        reason: String,
    },
    /// A symbol refers to a table that does not exist.
    #[error("table index {0} out of range")]
    BadIndex(usize),
    /// The compressed data ended early or does not decode with these tables.
    #[error("corrupt or truncated entropy-coded data: {0}")]
    Corrupt(String),
}

/// A set of CDF tables with their offsets, ready for coding.
pub struct Tables {
    models: Vec<Model>,
    offsets: Vec<i32>,
    bypass: Model,
}

impl Tables {
    /// Builds coding models from CompressAI-style tables: `cdfs[i]` starts at 0 and ends
    /// at 2^16 (its length is `cdf_length[i]`), `offsets[i]` is the symbol of bin 0.
    pub fn new(cdfs: &[Vec<u32>], offsets: &[i32]) -> Result<Self, EntropyError> {
        if cdfs.len() != offsets.len() {
            return Err(EntropyError::BadTable {
                table: cdfs.len().min(offsets.len()),
                reason: format!("{} CDFs but {} offsets", cdfs.len(), offsets.len()),
            });
        }
        let models = cdfs
            .iter()
            .enumerate()
            .map(|(i, cdf)| {
                let bad = |reason: &str| EntropyError::BadTable {
                    table: i,
                    reason: reason.to_string(),
                };
                if cdf.len() < 3 || cdf[0] != 0 || cdf[cdf.len() - 1] != 1 << PRECISION {
                    return Err(bad("must start at 0, end at 65536 and have at least two bins"));
                }
                let probs: Vec<u32> = cdf.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
                if probs.iter().any(|&p| p == 0 || p > 1 << PRECISION) {
                    return Err(bad("must be strictly increasing"));
                }
                Model::from_nonzero_fixed_point_probabilities(&probs, false).map_err(|()| bad("probabilities do not sum to 65536"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bypass = Model::from_nonzero_fixed_point_probabilities([1u32 << (PRECISION - 4); 16], false)
            .map_err(|()| EntropyError::Corrupt("bypass model".into()))?;
        Ok(Self {
            models,
            offsets: offsets.to_vec(),
            bypass,
        })
    }

    /// Number of tables.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether there are no tables.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Appends the coding operations of `symbol` with table `index` to `ops` as (value,
    /// model) pairs, escapes expanded into bypass chunks.
    fn push_ops<'a>(&'a self, symbol: i32, index: usize, ops: &mut Vec<(usize, &'a Model)>) -> Result<(), EntropyError> {
        let model = self.models.get(index).ok_or(EntropyError::BadIndex(index))?;
        let max = (model.support_size() - 1) as i64;
        let value = i64::from(symbol) - i64::from(self.offsets[index]);
        let raw = if value < 0 {
            Some((-2 * value - 1) as u64)
        } else if value >= max {
            Some((2 * (value - max)) as u64)
        } else {
            None
        };
        match raw {
            None => ops.push((value as usize, model)),
            Some(raw) => {
                ops.push((max as usize, model));
                let mut chunks = 0u32;
                while (raw >> (chunks * BYPASS_BITS)) != 0 {
                    chunks += 1;
                }
                let mut count = chunks;
                while count >= BYPASS_MAX {
                    ops.push((BYPASS_MAX as usize, &self.bypass));
                    count -= BYPASS_MAX;
                }
                ops.push((count as usize, &self.bypass));
                for j in 0..chunks {
                    ops.push((((raw >> (j * BYPASS_BITS)) & u64::from(BYPASS_MAX)) as usize, &self.bypass));
                }
            }
        }
        Ok(())
    }
}

/// Encodes streams of `(symbols, table indexes)` in order into one rANS stream; decoding
/// must ask for them in the same order. Returns the bytes (32-bit words, little endian).
pub fn encode(streams: &[(&Tables, &[i32], &[usize])]) -> Result<Vec<u8>, EntropyError> {
    let mut ops = Vec::new();
    for (k, (tables, symbols, indexes)) in streams.iter().enumerate() {
        if symbols.len() != indexes.len() {
            return Err(EntropyError::Corrupt(format!(
                "stream {k}: {} symbols but {} indexes",
                symbols.len(),
                indexes.len()
            )));
        }
        for (&s, &i) in symbols.iter().zip(indexes.iter()) {
            tables.push_ops(s, i, &mut ops)?;
        }
    }
    // rANS is a stack: encode backwards so that decoding reads forwards.
    let mut coder = AnsCoder::<u32, u64>::new();
    for &(value, model) in ops.iter().rev() {
        coder
            .encode_symbol(value, model.as_view())
            .map_err(|e| EntropyError::Corrupt(format!("encoder: {e}")))?;
    }
    let words = coder.into_compressed().unwrap_infallible();
    Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect())
}

/// A decoder over one rANS stream.
pub struct Decoder {
    coder: AnsCoder<u32, u64>,
}

impl Decoder {
    /// Opens a stream written by [`encode`].
    pub fn new(bytes: &[u8]) -> Result<Self, EntropyError> {
        if !bytes.len().is_multiple_of(4) {
            return Err(EntropyError::Corrupt(format!(
                "{} bytes is not a whole number of 32-bit words",
                bytes.len()
            )));
        }
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let coder = AnsCoder::from_compressed(words).map_err(|_| EntropyError::Corrupt("the last word is zero".into()))?;
        Ok(Self { coder })
    }

    fn pop(&mut self, model: &Model) -> Result<usize, EntropyError> {
        self.coder
            .decode_symbol(model.as_view())
            .map_err(|e| EntropyError::Corrupt(format!("{e}")))
    }

    /// Decodes one symbol per table index.
    pub fn decode(&mut self, tables: &Tables, indexes: &[usize]) -> Result<Vec<i32>, EntropyError> {
        let mut out = Vec::with_capacity(indexes.len());
        self.decode_into(tables, indexes, &mut out)?;
        Ok(out)
    }

    /// Decodes one symbol per table index, appending to `out` (no allocation when `out`
    /// has room: the per-position loop of a context model reuses one buffer).
    pub fn decode_into(&mut self, tables: &Tables, indexes: &[usize], out: &mut Vec<i32>) -> Result<(), EntropyError> {
        for &index in indexes {
            let model = tables.models.get(index).ok_or(EntropyError::BadIndex(index))?;
            let max = model.support_size() - 1;
            let mut value = self.pop(model)? as i64;
            if value == max as i64 {
                let mut chunks = 0u32;
                loop {
                    let c = self.pop(&tables.bypass)? as u32;
                    chunks += c;
                    if c != BYPASS_MAX {
                        break;
                    }
                    if chunks > 64 {
                        return Err(EntropyError::Corrupt("escape longer than 64 chunks".into()));
                    }
                }
                let mut raw: u64 = 0;
                for j in 0..chunks {
                    let c = self.pop(&tables.bypass)? as u64;
                    if j * BYPASS_BITS >= 64 {
                        return Err(EntropyError::Corrupt("escape value overflows 64 bits".into()));
                    }
                    raw |= c << (j * BYPASS_BITS);
                }
                let raw = raw as i64;
                value = if raw & 1 == 1 { -(raw + 1) / 2 } else { raw / 2 + max as i64 };
            }
            let symbol = value + i64::from(tables.offsets[index]);
            out.push(i32::try_from(symbol).map_err(|_| EntropyError::Corrupt(format!("symbol {symbol} out of range")))?);
        }
        Ok(())
    }

    /// Whether everything was consumed (a stream decoded with the tables it was written
    /// with ends exactly empty).
    pub fn is_exhausted(&self) -> bool {
        self.coder.is_empty()
    }
}

/// CompressAI's EntropyBottleneck density model of one channel: the cumulative logits
/// network, with `softplus(matrix)` and `tanh(factor)` evaluated once.
#[derive(Debug, Clone)]
pub struct DensityModel {
    /// Per layer, `softplus` of the matrix (`out`×`in`, row-major).
    matrices: Vec<(usize, usize, Vec<f64>)>,
    /// Per layer, the bias (`out`).
    biases: Vec<Vec<f64>>,
    /// Per hidden layer, `tanh` of the factor (`out`).
    factors: Vec<Vec<f64>>,
}

impl DensityModel {
    /// From the raw parameters: per layer the matrix (`out`×`in`, row-major, before
    /// softplus) and bias, per hidden layer the factor (before tanh).
    pub fn new(matrices: Vec<(usize, usize, Vec<f64>)>, biases: Vec<Vec<f64>>, factors: Vec<Vec<f64>>) -> Self {
        let softplus = |w: f64| if w > 20.0 { w } else { w.exp().ln_1p() };
        Self {
            matrices: matrices
                .into_iter()
                .map(|(r, c, m)| (r, c, m.into_iter().map(softplus).collect()))
                .collect(),
            biases,
            factors: factors.into_iter().map(|f| f.into_iter().map(f64::tanh).collect()).collect(),
        }
    }

    fn logits_cumulative(&self, x: f64) -> f64 {
        let mut v = [0.0f64; 16];
        let mut next = [0.0f64; 16];
        v[0] = x;
        for (i, (rows, cols, m)) in self.matrices.iter().enumerate() {
            for r in 0..*rows {
                let row = &m[r * cols..(r + 1) * cols];
                next[r] = row.iter().zip(&v[..*cols]).map(|(w, x)| w * x).sum::<f64>() + self.biases[i][r];
            }
            if let Some(f) = self.factors.get(i) {
                for (out, fv) in next[..*rows].iter_mut().zip(f) {
                    *out += fv * out.tanh();
                }
            }
            v[..*rows].copy_from_slice(&next[..*rows]);
        }
        v[0]
    }

    /// `sigmoid(F(v + ½)) − sigmoid(F(v − ½))`, as CompressAI 1.2's `_likelihood`.
    pub fn likelihood(&self, v: f64) -> f64 {
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        sigmoid(self.logits_cumulative(v + 0.5)) - sigmoid(self.logits_cumulative(v - 0.5))
    }
}

/// Estimated bits of dequantised values `values[i]` under channel `channel[i]`'s density
/// model, each likelihood bounded below by `bound` (CompressAI's 1e-9).
pub fn bottleneck_bits(models: &[DensityModel], values: &[f32], channel: &[usize], bound: f64) -> f64 {
    // Dequantised values take few distinct values per channel: evaluate each once.
    let mut cache: std::collections::HashMap<(usize, u32), f64> = std::collections::HashMap::new();
    values
        .iter()
        .zip(channel)
        .map(|(&v, &c)| {
            *cache
                .entry((c, v.to_bits()))
                .or_insert_with(|| -models[c].likelihood(f64::from(v)).max(bound).log2())
        })
        .sum()
}

/// Estimated bits of a Gaussian conditional: for each `|ŷ − μ|` and scale, the mass of
/// N(0, max(scale, scale_bound)) on that ±½ bin, bounded below by `bound`.
pub fn gaussian_bits(residuals: &[f32], scales: &[f32], scale_bound: f64, bound: f64) -> f64 {
    let phi = |x: f64| 0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2);
    residuals
        .iter()
        .zip(scales)
        .map(|(&r, &s)| {
            let v = f64::from(r).abs();
            let s = f64::from(s).max(scale_bound);
            let p = phi((0.5 - v) / s) - phi((-0.5 - v) / s);
            -p.max(bound).log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy_tables() -> Tables {
        // Two tables over 3 regular bins + escape: offsets -1 and 5.
        let cdfs = vec![vec![0, 10000, 40000, 60000, 65536], vec![0, 30000, 50000, 65000, 65536]];
        Tables::new(&cdfs, &[-1, 5]).unwrap()
    }

    #[test]
    fn round_trip_with_escapes_in_both_directions() {
        let t = toy_tables();
        let symbols = vec![-1, 0, 1, 2, -5, 40, 5, 6, 7, 8, -100_000, 1_000_000, 0];
        let indexes = vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0];
        let bytes = encode(&[(&t, &symbols, &indexes)]).unwrap();
        let mut d = Decoder::new(&bytes).unwrap();
        assert_eq!(d.decode(&t, &indexes).unwrap(), symbols);
        assert!(d.is_exhausted());
    }

    #[test]
    fn two_streams_in_one() {
        let t = toy_tables();
        let (a, ai) = (vec![0, 1, -1], vec![0, 0, 0]);
        let (b, bi) = (vec![6, 7, 300], vec![1, 1, 1]);
        let bytes = encode(&[(&t, &a, &ai), (&t, &b, &bi)]).unwrap();
        let mut d = Decoder::new(&bytes).unwrap();
        assert_eq!(d.decode(&t, &ai).unwrap(), a);
        assert_eq!(d.decode(&t, &bi).unwrap(), b);
        assert!(d.is_exhausted());
    }

    #[test]
    fn bad_tables_and_data_are_errors() {
        assert!(Tables::new(&[vec![0, 100, 65536]], &[0, 1]).is_err());
        assert!(Tables::new(&[vec![0, 100, 100, 65536]], &[0]).is_err());
        assert!(Tables::new(&[vec![0, 65536]], &[0]).is_err());
        assert!(Decoder::new(&[1, 2, 3]).is_err());
    }

    #[test]
    fn gaussian_bits_of_a_zero_residual_with_a_tiny_scale_is_near_zero() {
        assert!(gaussian_bits(&[0.0], &[0.01], 0.11, 1e-9) < 1e-3);
        // Far in the tail: the bound caps the cost at -log2(1e-9).
        assert!((gaussian_bits(&[100.0], &[0.2], 0.11, 1e-9) - 1e-9f64.log2().abs()).abs() < 1e-6);
    }
}
