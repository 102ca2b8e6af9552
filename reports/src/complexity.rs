//! Complexity beside BD, as JPEG AI and CompressAI-Vision report it: the kMAC per pixel of
//! every ONNX graph a run used (a learned codec's encoder and decoder sides, each task
//! model, each learned metric), measured once per run and kept in `complexity.json`
//! ([`ComplexityFile`]), and every codec's encode and decode time per megapixel from the
//! rows ([`codec_times`]). [`markdown`] puts both in one table per report.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::store::ResultRow;

/// The file of an output folder that holds the run's complexity measurements.
pub const COMPLEXITY_FILE: &str = "complexity.json";

/// What a measured graph belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// A codec's encoder side.
    Encoder,
    /// A codec's decoder side.
    Decoder,
    /// A task model.
    Task,
    /// A learned metric.
    Metric,
    /// A low-level dataset's restorer (LL-ICM's task model), named `restorer@<dataset>`.
    Restorer,
}

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Codec id, task name or metric name.
    pub name: String,
    /// What it is.
    pub part: Part,
    /// Quality (codecs).
    pub quality: Option<f64>,
    /// The codec version, task identity or metric name: a measurement is reused while
    /// this is unchanged.
    pub identity: String,
    /// MACs of the run, by operator.
    pub by_op: BTreeMap<String, u64>,
    /// All MACs.
    pub macs: u64,
    /// Thousands of MACs per pixel of the measured image.
    pub kmac_per_pixel: f64,
    /// Why there is no count.
    pub error: Option<String>,
    /// The image it was measured on, when not the file's (a restorer runs on its own
    /// dataset's first degraded image): `dataset/image (W×H)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// `complexity.json`: the measurements and the image they were made on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplexityFile {
    /// How they were counted.
    pub method: String,
    /// The image (dataset/image id) and its size.
    pub image: String,
    /// Its width.
    pub width: u32,
    /// Its height.
    pub height: u32,
    /// The measurements.
    pub measurements: Vec<Measurement>,
}

/// How MACs are counted, stated in the file and the report.
pub const METHOD: &str = "MACs of Conv, ConvTranspose, MatMul and Gemm nodes (no bias or element-wise operations) as ONNX Runtime ran them (its profile, graph optimisation off), per pixel of the source image";

impl ComplexityFile {
    /// Reads the file of an output folder; `None` when it has none or it cannot be read
    /// (with a warning).
    pub fn read(dir: &Path) -> Option<Self> {
        let path = dir.join(COMPLEXITY_FILE);
        if !path.exists() {
            return None;
        }
        let text = icmbench_models::textfile::read_text_capped(&path, icmbench_models::textfile::TEXT_CAP);
        match text
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!("{}: not used: {e}", path.display());
                None
            }
        }
    }

    /// The measurement of (name, part, quality), if any.
    pub fn find(&self, name: &str, part: Part, quality: Option<f64>) -> Option<&Measurement> {
        self.measurements
            .iter()
            .find(|m| m.name == name && m.part == part && m.quality.map(f64::to_bits) == quality.map(f64::to_bits))
    }

    /// Writes the file into an output folder (atomically).
    pub fn write(&self, dir: &Path) -> Result<(), ReportError> {
        crate::store::write_json(&dir.join(COMPLEXITY_FILE), self)
    }
}

/// A codec's mean encode and decode times per megapixel at one quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodecTime {
    /// Codec.
    pub codec: String,
    /// Quality.
    pub quality: f64,
    /// Rows with times.
    pub rows: usize,
    /// Total encode time over total megapixels, ms/MP.
    pub encode_ms_per_mp: Option<f64>,
    /// Total decode time over total megapixels, ms/MP.
    pub decode_ms_per_mp: Option<f64>,
}

/// Encode and decode milliseconds per megapixel of every (codec, quality) over the finished
/// rows (all datasets): total time over total pixels, in order of first appearance.
pub fn codec_times(rows: &[ResultRow]) -> Vec<CodecTime> {
    let mut out: Vec<(CodecTime, f64, f64, f64, f64)> = Vec::new();
    for r in rows.iter().filter(|r| r.is_ok() && !crate::store::is_reference(&r.codec)) {
        let mp = f64::from(r.width) * f64::from(r.height) / 1e6;
        let at = match out
            .iter()
            .position(|(t, ..)| t.codec == r.codec && t.quality.to_bits() == r.quality.to_bits())
        {
            Some(i) => i,
            None => {
                out.push((
                    CodecTime {
                        codec: r.codec.clone(),
                        quality: r.quality,
                        rows: 0,
                        encode_ms_per_mp: None,
                        decode_ms_per_mp: None,
                    },
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                ));
                out.len() - 1
            }
        };
        let e = &mut out[at];
        e.0.rows += 1;
        if let Some(ms) = r.encode_ms {
            e.1 += ms;
            e.2 += mp;
        }
        if let Some(ms) = r.decode_ms {
            e.3 += ms;
            e.4 += mp;
        }
    }
    out.into_iter()
        .map(|(mut t, enc, enc_mp, dec, dec_mp)| {
            t.encode_ms_per_mp = (enc_mp > 0.0).then(|| enc / enc_mp);
            t.decode_ms_per_mp = (dec_mp > 0.0).then(|| dec / dec_mp);
            t
        })
        .collect()
}

fn kmac(m: Option<&Measurement>) -> String {
    match m {
        Some(Measurement { error: Some(_), .. }) => "error".into(),
        Some(m) => format!("{:.2}", m.kmac_per_pixel),
        None => "—".into(),
    }
}

fn ms(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())
}

/// The complexity section of a report: per (codec, quality) the encoder and decoder
/// kMAC/px (learned codecs) and ms per megapixel; then the task models' and learned
/// metrics' kMAC/px. Empty without rows or measurements.
pub fn markdown(file: Option<&ComplexityFile>, times: &[CodecTime]) -> String {
    let mut s = String::new();
    if times.is_empty() && file.is_none_or(|f| f.measurements.is_empty()) {
        return s;
    }
    let _ = writeln!(s, "## Complexity\n");
    match file {
        Some(f) => {
            let _ = writeln!(s, "kMAC/px: {} — measured on `{}` ({}×{}).", f.method, f.image, f.width, f.height);
        }
        None => {
            let _ = writeln!(
                s,
                "kMAC/px: not measured (no `{COMPLEXITY_FILE}`: runs before this version, or a merged shard run)."
            );
        }
    }
    let _ = writeln!(
        s,
        "Times: total encode / decode time over total megapixels of the run's finished rows, on the machine that ran them.\n\n| codec | quality | encoder kMAC/px | decoder kMAC/px | encode ms/MP | decode ms/MP |\n|---|---:|---:|---:|---:|---:|"
    );
    for t in times {
        let find = |part| file.and_then(|f| f.find(&t.codec, part, Some(t.quality)));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            t.codec,
            crate::report::fmt_quality(t.quality),
            kmac(find(Part::Encoder)),
            kmac(find(Part::Decoder)),
            ms(t.encode_ms_per_mp),
            ms(t.decode_ms_per_mp)
        );
    }
    let models: Vec<&Measurement> = file
        .map(|f| {
            f.measurements
                .iter()
                .filter(|m| matches!(m.part, Part::Task | Part::Metric | Part::Restorer))
                .collect()
        })
        .unwrap_or_default();
    if !models.is_empty() {
        let _ = writeln!(s, "\n| model | kind | kMAC/px |\n|---|---|---:|");
        for m in models {
            let kind = match m.part {
                Part::Task => "task",
                Part::Restorer => "restorer",
                _ => "metric",
            };
            let on = m.image.as_ref().map(|i| format!(" (on {i})")).unwrap_or_default();
            let _ = writeln!(s, "| {} | {kind} | {}{on} |", m.name, kmac(Some(m)));
        }
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Status;

    fn row(codec: &str, q: f64, enc: f64, dec: f64) -> ResultRow {
        ResultRow {
            dataset: "d".into(),
            image: "a.png".into(),
            image_hash: "h".into(),
            width: 1000,
            height: 500,
            conversion: "rgb8".into(),
            preprocess: "none".into(),
            codec: codec.into(),
            codec_kind: codec.into(),
            codec_version: "v".into(),
            quality: q,
            status: Status::Ok,
            error: None,
            bytes: Some(100),
            bpp: Some(0.1),
            bpp_estimated: None,
            encode_ms: Some(enc),
            decode_ms: Some(dec),
            metrics: Default::default(),
            tasks: Default::default(),
            provenance: None,
        }
    }

    /// Times are totals over megapixels; the table shows the measured kMAC/px per side.
    #[test]
    fn times_per_megapixel_and_the_table() {
        let rows = [
            row("jpeg", 50.0, 10.0, 5.0),
            row("jpeg", 50.0, 20.0, 5.0),
            row("learned", 1.0, 100.0, 200.0),
        ];
        let t = codec_times(&rows);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].rows, 2);
        assert!((t[0].encode_ms_per_mp.unwrap() - 30.0).abs() < 1e-9, "{t:?}");
        assert!((t[0].decode_ms_per_mp.unwrap() - 10.0).abs() < 1e-9);
        let m = |part, macs: u64| Measurement {
            name: "learned".into(),
            part,
            quality: Some(1.0),
            identity: "v".into(),
            by_op: BTreeMap::from([("Conv".to_string(), macs)]),
            macs,
            kmac_per_pixel: macs as f64 / 500_000.0 / 1e3,
            error: None,
            image: None,
        };
        let file = ComplexityFile {
            method: METHOD.into(),
            image: "d/a.png".into(),
            width: 1000,
            height: 500,
            measurements: vec![m(Part::Encoder, 1_500_000_000), m(Part::Decoder, 1_000_000_000)],
        };
        let md = markdown(Some(&file), &t);
        assert!(md.contains("| learned | 1 | 3.00 | 2.00 | 200.0 | 400.0 |"), "{md}");
        assert!(md.contains("| jpeg | 50 | — | — | 30.0 | 10.0 |"), "{md}");
        assert!(markdown(None, &[]).is_empty());
    }
}
