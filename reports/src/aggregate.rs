//! Aggregation of the result table with Polars (lazy): one point per (dataset, codec,
//! quality) with counts, both bpp conventions, mean encode/decode times, and the mean,
//! median and sample standard deviation of every metric over the finished rows.
//!
//! bpp conventions: `bpp_mean` is the mean of per-image bpp (CompressAI's `eval_model`);
//! `bpp_total` is total bits over total pixels (CompressAI-Vision). [`BppConvention`]
//! picks one for tables and plots, and every output names the one it used.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::store::{ResultRow, STATUS_OK, metric_columns, to_dataframe};

/// Which bpp a table or plot uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BppConvention {
    /// Mean of per-image bpp (CompressAI).
    #[default]
    Mean,
    /// Total bits over total pixels (CompressAI-Vision).
    Total,
}

/// A `--bpp` value that is neither `mean` nor `total`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bpp convention must be `mean` or `total`, got `{0}`")]
pub struct BppConventionError(pub String);

impl std::str::FromStr for BppConvention {
    type Err = BppConventionError;

    fn from_str(s: &str) -> Result<Self, BppConventionError> {
        Self::parse(s).ok_or_else(|| BppConventionError(s.to_string()))
    }
}

impl BppConvention {
    /// Parses `mean` or `total`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mean" => Some(Self::Mean),
            "total" => Some(Self::Total),
            _ => None,
        }
    }

    /// A phrase for table captions and axis labels.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Mean => "mean of per-image bpp (CompressAI)",
            Self::Total => "total bits / total pixels (CompressAI-Vision)",
        }
    }

    /// The bpp of a point under this convention.
    pub fn pick(self, p: &Point) -> Option<f64> {
        match self {
            Self::Mean => p.bpp_mean,
            Self::Total => p.bpp_total,
        }
    }
}

/// Mean, median and sample standard deviation (ddof 1) of one metric at one point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// Sample standard deviation (NaN for a single value).
    pub std: f64,
}

/// One aggregated point of a rate–quality curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Dataset.
    pub dataset: String,
    /// Codec id.
    pub codec: String,
    /// Quality parameter.
    pub quality: f64,
    /// Finished rows.
    pub ok: u32,
    /// Failed rows.
    pub failed: u32,
    /// Mean of per-image bpp.
    pub bpp_mean: Option<f64>,
    /// Total bits over total pixels.
    pub bpp_total: Option<f64>,
    /// Mean of per-image estimated bpp (learned codecs).
    pub bpp_estimated: Option<f64>,
    /// Mean encode time, ms.
    pub encode_ms: Option<f64>,
    /// Mean decode time, ms.
    pub decode_ms: Option<f64>,
    /// Per-metric statistics.
    pub metrics: BTreeMap<String, Stats>,
}

/// The aggregation as a Polars lazy query over a result table.
pub fn aggregate_lazy(df: DataFrame) -> LazyFrame {
    let metrics = metric_columns(&df);
    let ok = col("status").eq(lit(STATUS_OK));
    let mut aggs = vec![
        ok.clone().cast(DataType::UInt32).sum().alias("ok"),
        ok.clone().not().cast(DataType::UInt32).sum().alias("failed"),
        col("bpp").filter(ok.clone()).mean().alias("bpp_mean"),
        ((col("bytes").filter(ok.clone()).cast(DataType::Float64) * lit(8.0)).sum()
            / (col("width").cast(DataType::Float64) * col("height").cast(DataType::Float64))
                .filter(ok.clone().and(col("bytes").is_not_null()))
                .sum())
        .alias("bpp_total"),
        col("bpp_estimated").filter(ok.clone()).mean().alias("bpp_estimated"),
        col("encode_ms").filter(ok.clone()).mean().alias("encode_ms"),
        col("decode_ms").filter(ok.clone()).mean().alias("decode_ms"),
    ];
    for m in &metrics {
        let v = col(m.as_str()).filter(ok.clone().and(col(m.as_str()).is_not_null()));
        aggs.push(v.clone().mean().alias(format!("{m}::mean")));
        aggs.push(v.clone().median().alias(format!("{m}::median")));
        aggs.push(v.std(1).alias(format!("{m}::std")));
    }
    df.lazy().group_by_stable([col("dataset"), col("codec"), col("quality")]).agg(aggs)
}

/// Aggregates rows into points, in order of first appearance of (dataset, codec, quality).
pub fn aggregate(rows: &[ResultRow]) -> Result<Vec<Point>, ReportError> {
    let err = |source| ReportError::Polars {
        path: "result table".into(),
        source,
    };
    let df = to_dataframe(rows).map_err(err)?;
    let metrics = metric_columns(&df);
    let out = aggregate_lazy(df).collect().map_err(err)?;
    points_from(&out, &metrics).map_err(err)
}

fn points_from(df: &DataFrame, metrics: &[String]) -> PolarsResult<Vec<Point>> {
    let text = |name: &str| -> PolarsResult<Vec<String>> {
        let c = df.column(name)?.str()?.clone();
        Ok((0..c.len()).map(|i| c.get(i).unwrap_or_default().to_string()).collect())
    };
    let float = |name: &str| -> PolarsResult<Vec<Option<f64>>> {
        let c = df.column(name)?.cast(&DataType::Float64)?;
        let f = c.f64()?.clone();
        Ok((0..f.len()).map(|i| f.get(i)).collect())
    };
    let dataset = text("dataset")?;
    let codec = text("codec")?;
    let quality = float("quality")?;
    let ok = float("ok")?;
    let failed = float("failed")?;
    let bpp_mean = float("bpp_mean")?;
    let bpp_total = float("bpp_total")?;
    let encode_ms = float("encode_ms")?;
    let decode_ms = float("decode_ms")?;
    let bpp_estimated = float("bpp_estimated")?;
    let stats: Vec<(String, [Vec<Option<f64>>; 3])> = metrics
        .iter()
        .map(|m| {
            Ok((
                m.clone(),
                [
                    float(&format!("{m}::mean"))?,
                    float(&format!("{m}::median"))?,
                    float(&format!("{m}::std"))?,
                ],
            ))
        })
        .collect::<PolarsResult<_>>()?;
    Ok((0..df.height())
        .map(|i| Point {
            dataset: dataset[i].clone(),
            codec: codec[i].clone(),
            quality: quality[i].unwrap_or(f64::NAN),
            ok: ok[i].unwrap_or(0.0) as u32,
            failed: failed[i].unwrap_or(0.0) as u32,
            bpp_mean: bpp_mean[i].filter(|v| v.is_finite()),
            bpp_total: bpp_total[i].filter(|v| v.is_finite()),
            bpp_estimated: bpp_estimated[i].filter(|v| v.is_finite()),
            encode_ms: encode_ms[i],
            decode_ms: decode_ms[i],
            metrics: stats
                .iter()
                .filter_map(|(m, [mean, median, std])| {
                    mean[i].map(|mean| {
                        (
                            m.clone(),
                            Stats {
                                mean,
                                median: median[i].unwrap_or(f64::NAN),
                                std: std[i].unwrap_or(f64::NAN),
                            },
                        )
                    })
                })
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Status;

    fn row(codec: &str, q: f64, w: u32, bytes: u64, psnr: f64, ok: bool) -> ResultRow {
        ResultRow {
            dataset: "d".into(),
            image: format!("{w}.png"),
            image_hash: format!("h{w}"),
            width: w,
            height: 10,
            conversion: "rgb8".into(),
            preprocess: "none".into(),
            codec: codec.into(),
            codec_kind: codec.into(),
            codec_version: "v".into(),
            quality: q,
            status: if ok { Status::Ok } else { Status::Failed },
            error: None,
            bytes: Some(bytes),
            bpp: Some(bytes as f64 * 8.0 / (f64::from(w) * 10.0)),
            bpp_estimated: None,
            encode_ms: Some(2.0),
            decode_ms: Some(1.0),
            metrics: [("psnr-rgb".to_string(), psnr)].into_iter().collect(),
            tasks: Default::default(),
            provenance: None,
        }
    }

    #[test]
    fn both_bpp_conventions_statistics_and_failures() {
        let rows = vec![
            row("jpeg", 10.0, 10, 10, 30.0, true),  // 0.8 bpp
            row("jpeg", 10.0, 30, 10, 32.0, true),  // 0.2667 bpp
            row("jpeg", 10.0, 20, 10, 34.0, true),  // 0.4 bpp
            row("jpeg", 10.0, 30, 10, 99.0, false), // failed: ignored
            row("jpeg", 2.0, 10, 5, 20.0, true),
        ];
        let points = aggregate(&rows).unwrap();
        assert_eq!(points.len(), 2);
        let p = &points[0];
        assert_eq!((p.quality, p.ok, p.failed), (10.0, 3, 1));
        assert!((p.bpp_mean.unwrap() - (0.8 + 80.0 / 300.0 + 0.4) / 3.0).abs() < 1e-12);
        assert!((p.bpp_total.unwrap() - 240.0 / 600.0).abs() < 1e-12);
        let s = p.metrics["psnr-rgb"];
        assert_eq!((s.mean, s.median), (32.0, 32.0));
        assert!((s.std - 2.0).abs() < 1e-12);
        assert!(points[1].metrics["psnr-rgb"].std.is_nan());
        assert_eq!(BppConvention::Total.pick(p), p.bpp_total);
    }
}
