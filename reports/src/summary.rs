//! End-of-run summary: per (dataset, codec, quality) counts and means over finished rows.
//!
//! Two bpp conventions are reported side by side: `bpp_mean`, the mean of per-image bpp
//! (CompressAI's), and `bpp_total`, total bits over total pixels (CompressAI-Vision's).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::results::ResultRow;

/// One line of the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryLine {
    /// Dataset name.
    pub dataset: String,
    /// Codec id.
    pub codec: String,
    /// Quality parameter.
    pub quality: f64,
    /// Rows that finished.
    pub ok: usize,
    /// Rows that failed.
    pub failed: usize,
    /// Mean of per-image bpp over finished rows.
    pub bpp_mean: Option<f64>,
    /// Total bits over total pixels over finished rows.
    pub bpp_total: Option<f64>,
    /// Mean of each metric over the finished rows that have it (infinite if any value is).
    pub metrics: BTreeMap<String, f64>,
}

/// Groups rows by (dataset, codec, quality), in codec order of first appearance and
/// ascending quality.
pub fn summarize(rows: &[ResultRow]) -> Vec<SummaryLine> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String), BTreeMap<u64, Vec<&ResultRow>>> = BTreeMap::new();
    for r in rows {
        let k = (r.dataset.clone(), r.codec.clone());
        if !order.contains(&k) {
            order.push(k.clone());
        }
        // Order qualities numerically: map the f64 to a sortable integer.
        let bits = r.quality.to_bits();
        let sortable = if r.quality.is_sign_negative() { !bits } else { bits | (1 << 63) };
        groups.entry(k).or_default().entry(sortable).or_default().push(r);
    }
    let mut out = Vec::new();
    for k in order {
        for group in groups[&k].values() {
            let ok: Vec<&&ResultRow> = group.iter().filter(|r| r.is_ok()).collect();
            let bpps: Vec<f64> = ok.iter().filter_map(|r| r.bpp).collect();
            let bits: f64 = ok.iter().filter_map(|r| r.bytes).map(|b| b as f64 * 8.0).sum();
            let pixels: f64 = ok
                .iter()
                .filter(|r| r.bytes.is_some())
                .map(|r| f64::from(r.width) * f64::from(r.height))
                .sum();
            let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
            for r in &ok {
                for (m, v) in &r.metrics {
                    let e = sums.entry(m.clone()).or_insert((0.0, 0));
                    e.0 += v;
                    e.1 += 1;
                }
            }
            out.push(SummaryLine {
                dataset: k.0.clone(),
                codec: k.1.clone(),
                quality: group[0].quality,
                ok: ok.len(),
                failed: group.len() - ok.len(),
                bpp_mean: (!bpps.is_empty()).then(|| bpps.iter().sum::<f64>() / bpps.len() as f64),
                bpp_total: (pixels > 0.0).then(|| bits / pixels),
                metrics: sums.into_iter().map(|(m, (s, n))| (m, s / n as f64)).collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{STATUS_FAILED, STATUS_OK};

    fn row(codec: &str, q: f64, w: u32, bytes: u64, psnr: f64, ok: bool) -> ResultRow {
        ResultRow {
            dataset: "d".into(),
            image: format!("{w}.png"),
            image_hash: "h".into(),
            width: w,
            height: 10,
            conversion: "rgb8".into(),
            preprocess: "none".into(),
            codec: codec.into(),
            codec_kind: codec.into(),
            codec_version: "v".into(),
            quality: q,
            status: if ok { STATUS_OK } else { STATUS_FAILED }.into(),
            error: None,
            bytes: Some(bytes),
            bpp: Some(bytes as f64 * 8.0 / (f64::from(w) * 10.0)),
            encode_ms: None,
            decode_ms: None,
            metrics: [("psnr-rgb".to_string(), psnr)].into_iter().collect(),
        }
    }

    #[test]
    fn both_bpp_conventions_and_failures() {
        let rows = vec![
            row("jpeg", 10.0, 10, 10, 30.0, true),  // 0.8 bpp
            row("jpeg", 10.0, 30, 10, 32.0, true),  // 0.2667 bpp
            row("jpeg", 10.0, 30, 10, 99.0, false), // ignored
            row("jpeg", 2.0, 10, 5, 20.0, true),
        ];
        let s = summarize(&rows);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].quality, 2.0);
        let q10 = &s[1];
        assert_eq!((q10.ok, q10.failed), (2, 1));
        assert!((q10.bpp_mean.unwrap() - (0.8 + 80.0 / 300.0) / 2.0).abs() < 1e-12);
        assert!((q10.bpp_total.unwrap() - 160.0 / 400.0).abs() < 1e-12);
        assert_eq!(q10.metrics["psnr-rgb"], 31.0);
    }
}
