//! Rate–quality charts with plotters: bpp on x, a metric on y, one line-with-markers series
//! per codec, legend, axis labels with units; one chart per metric and a multi-panel figure.
//! SVG and PNG. Text is drawn with DejaVu Sans embedded in the binary (`assets/`), so PNGs
//! render the same on any machine.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use icmbench_metrics::catalogue::find;

use crate::ReportError;
use crate::aggregate::BppConvention;
use crate::report::{DatasetReport, curve, unit};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the embedded font once; plotting fails with this error if it cannot.
pub fn ensure_font() -> Result<(), ReportError> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the embedded DejaVu Sans font could not be loaded".to_string())
    })
    .clone()
    .map_err(|message| ReportError::Schema {
        path: "font".into(),
        message,
    })
}

/// Tableau 10: distinguishable colours.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One series of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// (x, y) points in drawing order.
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub kind: SeriesKind,
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    /// A codec's curve: solid line with markers, its own colour.
    Curve,
    /// Dashed, in the colour of the series before it (a learned codec's curve at its
    /// estimated rate, beside the curve at its real rate).
    Estimated,
    /// A horizontal reference level (LL-ICM reference rows): dotted grey or black line
    /// across the chart, no markers.
    Reference,
    /// Markers only, no line (a strip of per-image values), its own colour.
    Markers,
    /// A line without markers (a densely sampled function), its own colour.
    Line,
}

/// One chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Series.
    pub series: Vec<Series>,
    /// Whether the metric falls with rate (legend goes top right, away from the curves).
    pub lower_is_better: bool,
}

/// Options of the charts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PlotOptions {
    /// bpp convention on the x axis.
    pub bpp: BppConvention,
    /// Show MS-SSIM as −10·log10(1 − MS-SSIM) dB, as CompressAI plots it.
    pub msssim_db: bool,
}

/// The y label of a metric: the catalogue's fixed label (mAP), or the name with its unit
/// (`lower_is_better` adds "(lower is better)" to unitless ones), or, with `msssim_db`,
/// the dB view of metrics that have one (MS-SSIM).
pub fn y_label(metric: &str, msssim_db: bool, lower_is_better: bool) -> String {
    if let Some(label) = find(metric).and_then(|d| d.axis_label) {
        return label.to_string();
    }
    let better = if unit(metric).is_empty() && lower_is_better {
        " (lower is better)"
    } else {
        ""
    };
    if msssim_db && db_view(metric) {
        format!("{metric} in dB: -10 log10(1 - x)")
    } else if unit(metric).is_empty() {
        format!("{metric}{better}")
    } else {
        format!("{metric} ({})", unit(metric))
    }
}

/// Whether the catalogue shows this metric in dB as −10·log10(1 − x) (MS-SSIM).
fn db_view(metric: &str) -> bool {
    icmbench_metrics::catalogue::db_view(metric)
}

/// One chart per metric for a dataset.
pub fn charts(d: &DatasetReport, opts: &PlotOptions) -> Vec<Chart> {
    let bpp_label = match opts.bpp {
        BppConvention::Mean => "bpp (mean of per-image bpp)",
        BppConvention::Total => "bpp (total bits / total pixels)",
    };
    d.metrics
        .iter()
        .zip(&d.lower_is_better)
        .map(|(metric, &lower_is_better)| {
            let y_of = |y: f64| {
                if opts.msssim_db && db_view(metric) {
                    -10.0 * (1.0 - y).log10()
                } else {
                    y
                }
            };
            let finite_sorted = |mut points: Vec<(f64, f64)>| {
                points.retain(|(x, y)| x.is_finite() && y.is_finite());
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                points
            };
            // A curve's finite points in the chart's y units, sorted by rate.
            let to_points = |c: &crate::bd::Curve| finite_sorted(c.rate.iter().zip(&c.metric).map(|(&x, &y)| (x, y_of(y))).collect());
            let series = d
                .codecs
                .iter()
                .flat_map(|codec| {
                    let c = curve(&d.points, &d.dataset, codec, metric, opts.bpp);
                    let label = if d.is_abnormal(codec, metric) {
                        format!("{codec} (abnormal)")
                    } else {
                        codec.clone()
                    };
                    let actual = Series {
                        label,
                        points: to_points(&c),
                        kind: SeriesKind::Curve,
                    };
                    // Learned codecs: the same curve at the estimated rate, dashed.
                    let estimated = Series {
                        label: format!("{codec} (estimated rate)"),
                        points: to_points(&crate::report::curve_by(&d.points, &d.dataset, codec, metric, |p| p.bpp_estimated)),
                        kind: SeriesKind::Estimated,
                    };
                    [actual, estimated]
                })
                .filter(|s| !s.points.is_empty())
                .collect::<Vec<_>>();
            // LL-ICM reference rows: horizontal levels across the codecs' rate range.
            let (x0, x1) = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
            let references = d.references.iter().filter_map(|r| {
                let v = y_of(crate::lowlevel::reference_value(d, r, metric)?);
                v.is_finite().then(|| Series {
                    label: r.clone(),
                    points: vec![(x0.max(0.0), v), (x1, v)],
                    kind: SeriesKind::Reference,
                })
            });
            let series = series.into_iter().chain(references).collect();
            Chart {
                title: format!("{}: {metric}", d.dataset),
                x_label: bpp_label.to_string(),
                y_label: y_label(metric, opts.msssim_db, lower_is_better),
                series,
                lower_is_better,
            }
        })
        .collect()
}

/// The relative curve difference charts of a dataset (the `bjontegaard` package's
/// `plot_rcd`): one per metric, x = the metric over the overlap of each codec's range with
/// the anchor's, y = the codec's rate relative to the anchor's at that value, in percent
/// ([`crate::bd::relative_curve_difference`] with the report's method and monotone fit),
/// with its BD-rate as a dashed level in the codec's colour. Metrics where no codec has a difference are left
/// out.
pub fn rcd_charts(r: &crate::report::Report, d: &DatasetReport) -> Vec<(String, Chart)> {
    let opts = crate::report::ReportOptions {
        method: r.method,
        bpp: r.bpp,
        monotone_fit: r.monotone_fit,
        ..Default::default()
    };
    d.metrics
        .iter()
        .zip(&d.lower_is_better)
        .filter_map(|(metric, &lower)| {
            let bd_opts = crate::report::cell_options(&opts, lower, metric);
            let anchor = curve(&d.points, &d.dataset, &d.anchor, metric, r.bpp);
            let mut series = Vec::new();
            for codec in d.codecs.iter().filter(|c| **c != d.anchor) {
                let test = curve(&d.points, &d.dataset, codec, metric, r.bpp);
                let Ok(points) = crate::bd::relative_curve_difference(&anchor, &test, &bd_opts, 100) else {
                    continue;
                };
                if points.is_empty() {
                    continue;
                }
                let level = d.cell(codec, metric).and_then(|c| c.bd_rate);
                let (x0, x1) = (points[0].0, points[points.len() - 1].0);
                series.push(Series {
                    label: codec.clone(),
                    points,
                    kind: SeriesKind::Line,
                });
                // Dashed, in the codec's colour.
                if let Some(v) = level {
                    series.push(Series {
                        label: format!("{codec}: BD-rate {v:+.2} %"),
                        points: vec![(x0, v), (x1, v)],
                        kind: SeriesKind::Estimated,
                    });
                }
            }
            (!series.is_empty()).then(|| {
                (
                    metric.clone(),
                    Chart {
                        title: format!("{}: {metric}, rate vs {}", d.dataset, d.anchor),
                        x_label: y_label(metric, false, lower),
                        y_label: format!("rate difference vs {} (%)", d.anchor),
                        series,
                        lower_is_better: true,
                    },
                )
            })
        })
        .collect()
}

/// The per-image BD strip charts of a dataset: one per metric, x = each image's own
/// BD-rate, one row of markers per codec (y = its position in the legend), so an outlier
/// image stands out. Metrics without per-image values are left out.
pub fn per_image_charts(d: &DatasetReport) -> Vec<(String, Chart)> {
    let codecs: Vec<&String> = d.codecs.iter().filter(|c| **c != d.anchor).collect();
    d.metrics
        .iter()
        .filter_map(|metric| {
            let series: Vec<Series> = codecs
                .iter()
                .enumerate()
                .map(|(k, codec)| Series {
                    label: format!("{} {codec}", k + 1),
                    points: d
                        .per_image
                        .iter()
                        .filter(|p| p.codec == **codec && p.metric == *metric)
                        .filter_map(|p| p.bd_rate.filter(|v| v.is_finite()).map(|v| (v, (k + 1) as f64)))
                        .collect(),
                    kind: SeriesKind::Markers,
                })
                .filter(|s| !s.points.is_empty())
                .collect();
            (!series.is_empty()).then(|| {
                (
                    metric.clone(),
                    Chart {
                        title: format!("{}: {metric}, per-image BD-rate vs {}", d.dataset, d.anchor),
                        x_label: "BD-rate of each image (%)".into(),
                        y_label: "codec (legend number)".into(),
                        series,
                        lower_is_better: true,
                    },
                )
            })
        })
        .collect()
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.06 } else { lo.abs().max(1.0) * 0.05 };
    (lo - pad, hi + pad)
}

/// Draws one chart on a drawing area of any backend.
pub fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (x0, x1) = range(chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (y0, y1) = range(chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    // Rates start at 0; an axis with negative values (BD-rates) keeps them.
    let negative = chart.series.iter().any(|s| s.points.iter().any(|p| p.0 < 0.0));
    let x0 = if negative { x0 } else { x0.max(0.0) };
    let mut ctx = ChartBuilder::on(area)
        .caption(&chart.title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(46)
        .y_label_area_size(66)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()
        .map_err(err)?;
    let mut i = 0usize;
    let mut r = 0usize;
    for s in &chart.series {
        // Dashed series: (colour, dash, gap, legend length, markers).
        let dashed = match s.kind {
            SeriesKind::Reference => {
                r += 1;
                Some(([RGBColor(0, 0, 0), RGBColor(130, 130, 130)][(r - 1) % 2], 2, 4, 22, false))
            }
            // Same colour as the codec's real-rate curve drawn just before it.
            SeriesKind::Estimated => Some((COLORS[i.saturating_sub(1) % COLORS.len()], 6, 4, 8, true)),
            SeriesKind::Curve | SeriesKind::Markers | SeriesKind::Line => None,
        };
        if let Some((color, dash, gap, legend, markers)) = dashed {
            let style = ShapeStyle {
                color: color.to_rgba(),
                filled: false,
                stroke_width: 2,
            };
            ctx.draw_series(DashedLineSeries::new(s.points.iter().copied(), dash, gap, style))
                .map_err(err)?
                .label(&s.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + legend, y)], style));
            if markers {
                ctx.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, style))).map_err(err)?;
            }
            continue;
        }
        let color = COLORS[i % COLORS.len()];
        let style = ShapeStyle {
            color: color.to_rgba(),
            filled: true,
            stroke_width: 2,
        };
        if s.kind == SeriesKind::Line {
            ctx.draw_series(LineSeries::new(s.points.iter().copied(), style))
                .map_err(err)?
                .label(&s.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
            i += 1;
            continue;
        }
        if s.kind == SeriesKind::Markers {
            ctx.draw_series(s.points.iter().map(|&p| Circle::new(p, 4, style)))
                .map_err(err)?
                .label(&s.label)
                .legend(move |(x, y)| Circle::new((x + 11, y), 4, style));
            i += 1;
            continue;
        }
        ctx.draw_series(LineSeries::new(s.points.iter().copied(), style))
            .map_err(err)?
            .label(&s.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
        let pts = s.points.iter().copied();
        let marker = i % 4;
        i += 1;
        match marker {
            0 => ctx.draw_series(pts.map(|p| Circle::new(p, 4, style))).map(|_| ()),
            1 => ctx.draw_series(pts.map(|p| TriangleMarker::new(p, 6, style))).map(|_| ()),
            2 => ctx.draw_series(pts.map(|p| Cross::new(p, 5, style))).map(|_| ()),
            _ => ctx
                .draw_series(pts.map(|p| EmptyElement::at(p) + Rectangle::new([(-4, -4), (4, 4)], style)))
                .map(|_| ()),
        }
        .map_err(err)?;
    }
    ctx.configure_series_labels()
        .position(if chart.lower_is_better {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        })
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Size of one chart in pixels.
pub const CHART_SIZE: (u32, u32) = (640, 480);

fn grid(n: usize) -> (usize, usize) {
    let cols = n.clamp(1, 3);
    (n.div_ceil(cols).max(1), cols)
}

fn draw_all<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, charts: &[Chart]) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (rows, cols) = grid(charts.len());
    for (area, chart) in root.split_evenly((rows, cols)).iter().zip(charts) {
        draw(area, chart)?;
    }
    root.present().map_err(|e| e.to_string())
}

fn figure_size(n: usize) -> (u32, u32) {
    let (rows, cols) = grid(n);
    (CHART_SIZE.0 * cols as u32, CHART_SIZE.1 * rows as u32)
}

/// Charts side by side (up to three per row) as an SVG document.
pub fn svg(charts: &[Chart]) -> Result<String, ReportError> {
    ensure_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, figure_size(charts.len())).into_drawing_area();
        draw_all(root, charts).map_err(|message| ReportError::Schema {
            path: "svg figure".into(),
            message,
        })?;
    }
    Ok(out)
}

/// Charts side by side (up to three per row) as a PNG file.
pub fn png(charts: &[Chart], path: &Path) -> Result<(), ReportError> {
    ensure_font()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let root = BitMapBackend::new(path, figure_size(charts.len())).into_drawing_area();
    draw_all(root, charts).map_err(|message| ReportError::Schema {
        path: path.display().to_string(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            title: "kodak: psnr-rgb".into(),
            x_label: "bpp".into(),
            y_label: "psnr-rgb (dB)".into(),
            series: vec![
                Series {
                    label: "jpeg".into(),
                    points: vec![(0.2, 28.0), (0.5, 31.0), (1.0, 34.0)],
                    kind: SeriesKind::Curve,
                },
                Series {
                    label: "webp".into(),
                    points: vec![(0.15, 28.5), (0.4, 31.5), (0.9, 34.5)],
                    kind: SeriesKind::Curve,
                },
            ],
            lower_is_better: false,
        }
    }

    #[test]
    fn svg_has_labels_and_series() {
        let s = svg(&[chart(), chart()]).unwrap();
        assert!(s.starts_with("<svg") && s.contains("width=\"1280\""), "{}", &s[..200]);
        for text in ["kodak: psnr-rgb", "psnr-rgb (dB)", "jpeg", "webp", "bpp"] {
            assert!(s.contains(text), "missing {text}");
        }
    }

    #[test]
    fn png_is_written_with_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.png");
        png(&[chart()], &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), CHART_SIZE);
        // Dark text pixels exist in the title band (the font really rendered).
        let dark = (0..img.width())
            .flat_map(|x| (0..40).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100))
            .count();
        assert!(dark > 100, "{dark} dark pixels in the title band");
    }

    #[test]
    fn msssim_in_db() {
        assert_eq!(y_label("ms-ssim-rgb", true, false), "ms-ssim-rgb in dB: -10 log10(1 - x)");
        assert_eq!(y_label("ms-ssim-rgb-tf", true, false), "ms-ssim-rgb-tf in dB: -10 log10(1 - x)");
        assert_eq!(y_label("psnr-y601", false, false), "psnr-y601 (dB)");
        assert_eq!(y_label("niqe", false, true), "niqe (lower is better)");
    }
}
