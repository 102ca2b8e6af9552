//! What the HTML report's scripts draw, as plain data: each dataset's rate–quality points
//! ([`curves`]), each image's row values ([`image_rows`]) and the decoded images of the
//! viewer ([`Viewer`], filled by the harness from the saved reconstructions). The page
//! embeds them as JSON and draws them with the small hand-written script
//! [`SCRIPT`] (no library, no network); [`crate::html`] places them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aggregate::BppConvention;
use crate::report::{DatasetReport, Report};
use crate::store::{ResultRow, Status};

/// The script of the report page: interactive charts, the image viewer and the per-image
/// table. Hand-written, without dependencies.
pub const SCRIPT: &str = include_str!("report.js");

/// The style sheet of the report page.
pub const STYLE: &str = include_str!("report.css");

/// Most per-image rows embedded in the page; the rest are in `results.csv`.
pub const MAX_IMAGE_ROWS: usize = 20_000;

/// The points of every dataset, for the interactive charts.
#[derive(Debug, Clone, Serialize)]
pub struct Curves {
    /// The report's bpp convention (the charts' default): `mean` or `total`.
    pub bpp: &'static str,
    /// One entry per dataset.
    pub datasets: Vec<DatasetCurves>,
}

/// One dataset's charts: one per metric, one series per codec.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetCurves {
    /// Dataset.
    pub name: String,
    /// Anchor codec.
    pub anchor: String,
    /// Metrics in the report's order.
    pub metrics: Vec<MetricInfo>,
    /// Codecs, then the low-level reference rows.
    pub series: Vec<SeriesData>,
}

/// How a chart shows a metric (from the metric catalogue).
#[derive(Debug, Clone, Serialize)]
pub struct MetricInfo {
    /// Name.
    pub name: String,
    /// Axis label.
    pub label: String,
    /// Axis label of the dB view, when the metric has one (MS-SSIM).
    pub db_label: Option<String>,
    /// Whether lower is better.
    pub lower: bool,
    /// Unit shown after values (`dB`), empty when unitless.
    pub unit: &'static str,
}

/// One codec's points, or a reference row's level.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesData {
    /// Codec id or reference name.
    pub name: String,
    /// Whether this is a low-level reference row (a horizontal level, no rate).
    pub reference: bool,
    /// Metrics whose curve is abnormal (not monotone in rate).
    pub abnormal: Vec<String>,
    /// Its points in quality order.
    pub points: Vec<PointData>,
}

/// One quality point.
#[derive(Debug, Clone, Serialize)]
pub struct PointData {
    /// Quality parameter.
    pub q: f64,
    /// Mean of per-image bpp.
    pub bpp_mean: Option<f64>,
    /// Total bits over total pixels.
    pub bpp_total: Option<f64>,
    /// Images scored.
    pub n: u32,
    /// Failed rows.
    pub failed: u32,
    /// Mean value per metric (finite values only).
    pub v: BTreeMap<String, f64>,
}

fn point_data(p: &crate::aggregate::Point) -> PointData {
    PointData {
        q: p.quality,
        bpp_mean: p.bpp_mean.filter(|b| b.is_finite()),
        bpp_total: p.bpp_total.filter(|b| b.is_finite()),
        n: p.ok,
        failed: p.failed,
        v: p.metrics
            .iter()
            .filter(|(_, s)| s.mean.is_finite())
            .map(|(m, s)| (m.clone(), s.mean))
            .collect(),
    }
}

fn dataset_curves(d: &DatasetReport) -> DatasetCurves {
    let metrics = d
        .metrics
        .iter()
        .zip(&d.lower_is_better)
        .map(|(m, &lower)| MetricInfo {
            name: m.clone(),
            label: crate::plot::y_label(m, false, lower),
            db_label: icmbench_metrics::catalogue::db_view(m).then(|| crate::plot::y_label(m, true, lower)),
            lower,
            unit: crate::report::unit(m),
        })
        .collect();
    let series = d
        .codecs
        .iter()
        .chain(&d.references)
        .map(|name| {
            let mut points: Vec<PointData> = d.points.iter().filter(|p| &p.codec == name).map(point_data).collect();
            points.sort_by(|a, b| a.q.total_cmp(&b.q));
            SeriesData {
                name: name.clone(),
                reference: d.references.contains(name),
                abnormal: d.abnormal.iter().filter(|a| &a.codec == name).map(|a| a.metric.clone()).collect(),
                points,
            }
        })
        .collect();
    DatasetCurves {
        name: d.dataset.clone(),
        anchor: d.anchor.clone(),
        metrics,
        series,
    }
}

/// The charts' data of a report.
pub fn curves(r: &Report) -> Curves {
    Curves {
        bpp: match r.bpp {
            BppConvention::Mean => "mean",
            BppConvention::Total => "total",
        },
        datasets: r.datasets.iter().map(dataset_curves).collect(),
    }
}

/// Every row's per-image values, as a table: column names, then one array per row.
#[derive(Debug, Clone, Serialize)]
pub struct ImageRows {
    /// Metric columns, in order.
    pub metrics: Vec<String>,
    /// Rows: `[dataset, image, codec, quality, status, bpp, metric values..., error]`.
    pub rows: Vec<serde_json::Value>,
    /// Rows not embedded (beyond [`MAX_IMAGE_ROWS`]).
    pub left_out: usize,
}

/// The per-image table of the page: every row (failed ones too, with their error), up to
/// `cap` rows; metrics in the report's order, then any others.
pub fn image_rows(rows: &[ResultRow], metric_order: &[String], cap: usize) -> ImageRows {
    let mut metrics: Vec<String> = metric_order.to_vec();
    for r in rows {
        for m in r.metrics.keys() {
            if !metrics.contains(m) {
                metrics.push(m.clone());
            }
        }
    }
    // Only metrics some row has (the report's list also holds dataset-level task metrics).
    metrics.retain(|m| rows.iter().any(|r| r.metrics.contains_key(m)));
    let num = |v: Option<f64>| v.filter(|x| x.is_finite()).map_or(serde_json::Value::Null, serde_json::Value::from);
    let out = rows
        .iter()
        .take(cap)
        .map(|r| {
            let mut v = vec![
                r.dataset.clone().into(),
                r.image.clone().into(),
                r.codec.clone().into(),
                r.quality.into(),
                (if r.status == Status::Ok { "ok" } else { "failed" }).into(),
                num(r.bpp),
            ];
            v.extend(metrics.iter().map(|m| num(r.metrics.get(m).copied())));
            v.push(r.error.clone().map_or(serde_json::Value::Null, Into::into));
            serde_json::Value::Array(v)
        })
        .collect();
    ImageRows {
        metrics,
        rows: out,
        left_out: rows.len().saturating_sub(cap),
    }
}

/// The decoded images of the report's viewer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Viewer {
    /// How the images were reduced for embedding (the size rule), said above the viewer.
    pub rule: String,
    /// Per dataset.
    pub datasets: Vec<ViewerDataset>,
    /// What was not embedded and why, one line each.
    pub left_out: Vec<String>,
}

/// One dataset's images in the viewer.
#[derive(Debug, Clone, Serialize)]
pub struct ViewerDataset {
    /// Dataset.
    pub dataset: String,
    /// Images, in the results' order.
    pub images: Vec<ViewerImage>,
}

/// One image: its reference and every scored version of it.
#[derive(Debug, Clone, Serialize)]
pub struct ViewerImage {
    /// Image id.
    pub image: String,
    /// Full size in pixels (width, height).
    pub size: (u32, u32),
    /// The native-resolution crop shown in every version: (x, y, width, height).
    pub crop: (u32, u32, u32, u32),
    /// What the versions were scored against: the original, or a low-level task's ideal
    /// image.
    pub reference: Shot,
    /// Each codec's quality points and, for low-level tasks, the reference rows (the
    /// degraded input, the restorer's output on it).
    pub shots: Vec<Shot>,
}

/// One embedded image with its values.
#[derive(Debug, Clone, Serialize)]
pub struct Shot {
    /// Codec id, reference row name, or the reference's label.
    pub codec: String,
    /// Quality parameter (`None` for references).
    pub quality: Option<f64>,
    /// Whether it is a low-level reference row (shown whatever the chosen rate).
    pub fixed: bool,
    /// This image's bpp.
    pub bpp: Option<f64>,
    /// This image's metric values, in the report's order.
    pub metrics: Vec<(String, f64)>,
    /// The downscaled image, a `data:` URI.
    pub full: String,
    /// The native-resolution crop, a `data:` URI.
    pub crop: String,
}

/// JSON for a `<script type="application/json">` element: `</` cannot end the element.
pub fn script_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into()).replace("</", "<\\/")
}

/// A row of dataset `d`, image `a.png`, quality 5: ok with bpp 0.5 and metric `m1` = 30, or failed
/// with "decoder crashed".
#[cfg(test)]
pub(crate) fn test_row(codec: &str, ok: bool) -> ResultRow {
    ResultRow {
        dataset: "d".into(),
        image: "a.png".into(),
        codec: codec.into(),
        quality: 5.0,
        status: if ok { Status::Ok } else { Status::Failed },
        error: (!ok).then(|| "decoder crashed".to_string()),
        bpp: ok.then_some(0.5),
        metrics: if ok { [("m1".to_string(), 30.0)].into() } else { BTreeMap::new() },
        image_hash: "h".into(),
        width: 8,
        height: 8,
        conversion: "rgb8".into(),
        preprocess: "none".into(),
        codec_kind: codec.into(),
        codec_version: "v".into(),
        bytes: ok.then_some(4),
        bpp_estimated: None,
        encode_ms: None,
        decode_ms: None,
        tasks: Default::default(),
        provenance: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_its_script_element() {
        let s = script_json(&vec!["</script><b>"]);
        assert!(!s.contains("</"), "{s}");
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back, vec!["</script><b>".to_string()]);
    }

    #[test]
    fn image_rows_keep_failed_rows_and_cap() {
        let row = test_row;
        let rows = [row("jpeg", true), row("webp", false)];
        let t = image_rows(&rows, &["m1".into(), "map".into()], 10);
        assert_eq!(t.metrics, vec!["m1".to_string()], "a dataset-level metric has no column");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1][4], "failed");
        assert_eq!(t.rows[1][7], "decoder crashed");
        assert_eq!(t.rows[0][6], 30.0);
        let capped = image_rows(&rows, &[], 1);
        assert_eq!((capped.rows.len(), capped.left_out), (1, 1));
    }
}
