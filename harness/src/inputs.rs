//! Reading what `report`, `plot` and `export-compressai` work on: icmbench output folders,
//! Parquet result tables, and CompressAI result JSON files, as aggregated points.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use icmbench_models::textfile::{TEXT_CAP, read_text_capped};
use icmbench_reports::ReportError;
use icmbench_reports::aggregate::{Point, Stats, aggregate};
use icmbench_reports::bd::Curve;
use icmbench_reports::compressai::CompressaiResults;
use icmbench_reports::store::{ResultRow, read_parquet};

use icmbench_reports::store::{PARQUET, RUN_META, Store};

/// Everything read from the inputs.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Result rows from folders and Parquet files.
    pub rows: Vec<ResultRow>,
    /// Aggregated points: from the rows, then the imported CompressAI curves.
    pub points: Vec<Point>,
    /// `run.json` of the first output folder, if any.
    pub run_meta: Option<String>,
    /// The copy of the run's TOML config in the first output folder (`config.toml`), if any.
    pub config: Option<String>,
    /// Why the results are partial: output folders merged from unfinished shards
    /// (`merge --allow-partial`), one note per such folder.
    pub partial: Option<String>,
    /// Every task's evaluations per point (per-class AP, TIDE, recall), for the report's
    /// task tables.
    pub tasks: crate::tasks::detection::TaskEvaluations,
    /// Each output folder read and the range of its rows in `rows`.
    pub folders: Vec<(PathBuf, std::ops::Range<usize>)>,
    /// The complexity measurements of the first output folder that has them.
    pub complexity: Option<icmbench_reports::complexity::ComplexityFile>,
    /// Where the scored images were saved: `reconstructions/` of the first output folder
    /// that has one (`report --reconstructions` overrides it).
    pub reconstructions: Option<PathBuf>,
}

/// CompressAI columns that are not quality metrics.
const NOT_METRICS: &[&str] = &["bpp", "encoding_time", "decoding_time"];

/// Turns a CompressAI result file into points of `dataset` (quality = 1-based index).
pub fn compressai_points(file: &CompressaiResults, dataset: &str) -> Vec<Point> {
    let n = file.results.get("bpp").map_or(0, Vec::len);
    (0..n)
        .map(|i| {
            let get = |k: &str| file.results.get(k).and_then(|v| v.get(i)).copied();
            Point {
                dataset: dataset.to_string(),
                codec: file.name.clone(),
                quality: (i + 1) as f64,
                ok: 1,
                failed: 0,
                bpp_mean: get("bpp"),
                bpp_total: get("bpp"),
                bpp_estimated: None,
                encode_ms: get("encoding_time").map(|s| s * 1e3),
                decode_ms: get("decoding_time").map(|s| s * 1e3),
                metrics: file
                    .results
                    .iter()
                    .filter(|(k, _)| !NOT_METRICS.contains(&k.as_str()))
                    .filter_map(|(k, v)| {
                        v.get(i).map(|&x| {
                            (
                                k.clone(),
                                Stats {
                                    mean: x,
                                    median: x,
                                    std: f64::NAN,
                                },
                            )
                        })
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Reads the inputs. Imported CompressAI curves join the results' dataset when there is
/// exactly one, else a dataset named `imported`.
pub fn load(paths: &[PathBuf]) -> Result<Inputs, ReportError> {
    let mut inputs = Inputs::default();
    let mut imports = Vec::new();
    let mut folders: Vec<(PathBuf, std::ops::Range<usize>)> = Vec::new();
    for path in paths {
        if path.is_dir() {
            if !path.join(PARQUET).exists() && !path.join(icmbench_reports::store::JOURNAL).exists() {
                return Err(ReportError::Schema {
                    path: path.display().to_string(),
                    message: format!("no {PARQUET} here: not an icmbench output folder"),
                });
            }
            let start = inputs.rows.len();
            inputs.rows.extend(Store::new(path).load()?);
            let saved = path.join(icmbench_reports::store::RECONSTRUCTIONS_DIR);
            if inputs.reconstructions.is_none() && saved.is_dir() {
                inputs.reconstructions = Some(saved);
            }
            folders.push((path.clone(), start..inputs.rows.len()));
            let meta = crate::reporting::read_embedded(&path.join(RUN_META));
            if let Some(note) = meta.as_deref().and_then(crate::merge::partial_note) {
                let text = format!("{}: {note}", path.display());
                inputs.partial = Some(inputs.partial.map_or(text.clone(), |p| format!("{p}; {text}")));
            }
            if inputs.run_meta.is_none()
                && let Some(meta) = meta
            {
                // The copy of the config that the run keeps in its folder; the path that
                // run.json names is never followed.
                inputs.config = crate::reporting::read_embedded(&path.join(icmbench_reports::store::CONFIG_COPY));
                inputs.run_meta = Some(meta);
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            imports.push((path.clone(), CompressaiResults::read(path)?));
        } else if path.extension().is_some_and(|e| e == "parquet") {
            inputs.rows.extend(read_parquet(path)?);
        } else {
            return Err(ReportError::Schema {
                path: path.display().to_string(),
                message: "expected an icmbench output folder, a .parquet result table or a CompressAI .json result file".into(),
            });
        }
    }
    inputs.points = if inputs.rows.is_empty() {
        Vec::new()
    } else {
        aggregate(&inputs.rows)?
    };
    // Each task's dataset-level metrics from the stored outputs and each folder's ground truths.
    for (folder, range) in &folders {
        let ev = crate::tasks::detection::add_task_metrics(&mut inputs.points, &inputs.rows[range.clone()], folder);
        for problem in &ev.problems {
            tracing::warn!("{problem}");
        }
        inputs.tasks.points.extend(ev.points);
        inputs.tasks.records.extend(ev.records);
    }
    let datasets = icmbench_reports::report::unique(inputs.points.iter().map(|p| p.dataset.as_str()));
    let target = if datasets.len() == 1 {
        datasets[0].clone()
    } else {
        "imported".to_string()
    };
    inputs.complexity = folders
        .iter()
        .find_map(|(f, _)| icmbench_reports::complexity::ComplexityFile::read(f));
    inputs.folders = folders;
    for (_, file) in &imports {
        let pts = compressai_points(file, &target);
        inputs.points.extend(pts);
    }
    if inputs.points.is_empty() {
        return Err(ReportError::Schema {
            path: paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            message: "no results to report".into(),
        });
    }
    Ok(inputs)
}

/// CompressAI result files, one per (dataset, codec), from aggregated points.
pub fn to_compressai(
    points: &[Point],
    bpp: icmbench_reports::aggregate::BppConvention,
    versions: &BTreeMap<String, String>,
) -> Vec<(String, CompressaiResults)> {
    let mut keys: Vec<(String, String)> = Vec::new();
    // LL-ICM reference rows have no rate: they are not curves.
    for p in points.iter().filter(|p| !icmbench_reports::lowlevel::is_reference(&p.codec)) {
        let k = (p.dataset.clone(), p.codec.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(dataset, codec)| {
            let pts: Vec<&Point> = points
                .iter()
                .filter(|p| p.dataset == dataset && p.codec == codec && p.ok > 0)
                .collect();
            let mut results: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            results.insert("bpp".into(), pts.iter().map(|p| bpp.pick(p).unwrap_or(f64::NAN)).collect());
            let metrics: std::collections::BTreeSet<&String> = pts.iter().flat_map(|p| p.metrics.keys()).collect();
            for m in metrics {
                results.insert(
                    m.clone(),
                    pts.iter().map(|p| p.metrics.get(m).map_or(f64::NAN, |s| s.mean)).collect(),
                );
            }
            results.insert(
                "encoding_time".into(),
                pts.iter().map(|p| p.encode_ms.map_or(f64::NAN, |v| v / 1e3)).collect(),
            );
            results.insert(
                "decoding_time".into(),
                pts.iter().map(|p| p.decode_ms.map_or(f64::NAN, |v| v / 1e3)).collect(),
            );
            let description = format!(
                "icmbench {} on `{dataset}`: {}; bpp = {}; metrics are means over images",
                env!("CARGO_PKG_VERSION"),
                versions.get(&codec).map_or("version unknown", String::as_str),
                bpp.describe()
            );
            (
                dataset,
                CompressaiResults {
                    name: codec,
                    description,
                    results,
                },
            )
        })
        .collect()
}

/// What [`write_compressai`] wrote.
#[derive(Debug, Default)]
pub struct Exported {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Dataset and codec names that were sanitised to become file names.
    pub warnings: Vec<String>,
}

/// Writes `out/<dataset>/<codec>.json`, one CompressAI result file per dataset and codec.
/// Names from results tables become path parts only through
/// [`icmbench_reports::paths::path_part`]: nothing is written outside `out`.
pub fn write_compressai(inputs: &Inputs, bpp: icmbench_reports::aggregate::BppConvention, out: &Path) -> Result<Exported, ReportError> {
    use icmbench_reports::paths::{path_part, sanitised_warnings};
    let versions: BTreeMap<String, String> = inputs.rows.iter().map(|r| (r.codec.clone(), r.codec_version.clone())).collect();
    let files = to_compressai(&inputs.points, bpp, &versions);
    let mut done = Exported {
        warnings: sanitised_warnings("dataset", files.iter().map(|(d, _)| d.as_str())),
        ..Default::default()
    };
    done.warnings
        .extend(sanitised_warnings("codec", files.iter().map(|(_, f)| f.name.as_str())));
    for (dataset, file) in files {
        let path = out
            .join(path_part(&dataset).as_ref())
            .join(format!("{}.json", path_part(&file.name)));
        file.write(&path)?;
        done.files.push(path);
    }
    Ok(done)
}

/// Whether a curve file's metric is lower-is-better by its name: only for CompressAI JSON
/// files, whose metric is named (a `rate,metric` CSV says nothing of its metric).
pub fn stored_direction(path: &Path, metric: &str) -> bool {
    is_json(path) && icmbench_metrics::lower_is_better(metric)
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

/// Reads a curve for `icmbench bd`: a CSV with header `rate,metric` (a UTF-8 byte-order
/// mark is dropped), or `metric` of a CompressAI JSON result file. Errors name the file and
/// line.
pub fn read_curve(path: &Path, metric: &str) -> Result<Curve, ReportError> {
    if is_json(path) {
        return CompressaiResults::read(path)?.curve(metric, path);
    }
    let text = read_text_capped(path, TEXT_CAP)?;
    let bad = |line: usize, message: String| ReportError::Schema {
        path: format!("{}:{line}", path.display()),
        message,
    };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .map(|(_, l)| l.split(',').map(|h| h.trim().to_ascii_lowercase()).collect())
        .unwrap_or_default();
    if header != ["rate", "metric"] {
        // Debug-quoted, so invisible characters show.
        return Err(bad(1, format!("the header must be `rate,metric`, found {:?}", header.join(","))));
    }
    let (mut rate, mut value) = (Vec::new(), Vec::new());
    for (i, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 2 {
            return Err(bad(i + 1, format!("expected 2 fields (rate,metric), found {}", fields.len())));
        }
        let parse = |s: &str, what: &str| {
            s.parse::<f64>()
                .map_err(|e| bad(i + 1, format!("{what} `{s}` is not a number: {e}")))
        };
        rate.push(parse(fields[0], "rate")?);
        value.push(parse(fields[1], "metric")?);
    }
    let label = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    Ok(Curve::new(label, rate, value))
}
