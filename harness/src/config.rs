//! The TOML run configuration: parsing with file:line:column errors, and validation
//! against the codec and metric registries.
//!
//! ```toml
//! output = "results/demo"          # folder for results (relative to this file)
//! jobs = 2                         # worker threads (default: all cores)
//! metrics = ["psnr-rgb", "ssim-grey", "ms-ssim-rgb"]
//!
//! [padding]                        # for codecs that need size multiples
//! mode = "zero"                    # zero | replicate
//! align = "center"                 # center | bottom-right
//!
//! [[datasets]]
//! name = "samples"
//! path = "../datasets/samples"
//! limit = 6                        # first N images in sorted order
//! max_side = 768                   # larger images are brought down to this
//! fit = "downscale"                # downscale | center-crop
//! max_pixels = 64_000_000          # larger images (from the header) are failed rows; default 64 MP
//!
//! [[datasets]]                     # a low-level dataset (LL-ICM): see `tasks::restoration`
//! name = "sr-x4"
//! path = "../datasets/samples"     # clean images; or degraded ones with `target = "ideal/"`
//! degradation = { kind = "downscale", factor = 4 }
//! seed = 1
//! restorer = { model = "esrgan-slim-x4", tile = 128, overlap = 16 }
//!
//! [[codecs]]
//! kind = "jpeg"                    # a kind of `icmbench_codecs::registry::KINDS`
//! qualities = [10, 30, 50, 70, 90]
//! chroma = "444"                   # the other keys are the kind's own settings
//! ```
//!
//! A `[[codecs]]` table is composed here, not interpreted: `kind`, `id` and `qualities`
//! belong to the configuration, the other keys go to the kind's builder in
//! `icmbench_codecs::registry`.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use icmbench_codecs::Codec;
use icmbench_codecs::padding::Padding;
use icmbench_codecs::registry::{self, BuildContext};
use icmbench_datasets::Fit;
use icmbench_datasets::degrade::Degradation;
use serde::Deserialize;
use toml::Spanned;

use crate::tasks::detection::{GroundTruth, TaskConfig, TaskPlan};
use crate::tasks::restoration::RestorerConfig;

/// A configuration error with its location.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ConfigError {
    /// `file:line:column` (or just the file).
    pub location: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

/// One `[[datasets]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Name used in results.
    pub name: String,
    /// Image folder (relative to the config file).
    pub path: PathBuf,
    /// Use only the first `limit` images (sorted order).
    pub limit: Option<usize>,
    /// Largest side after preprocessing.
    pub max_side: Option<u32>,
    /// How `max_side` is enforced.
    #[serde(default)]
    pub fit: Fit,
    /// Largest image in pixels (width × height), checked from the file header before
    /// decoding; a larger image is a failed row. Default
    /// [`icmbench_datasets::DEFAULT_MAX_PIXELS`] (64 MP).
    pub max_pixels: Option<u64>,
    /// COCO instances JSON of the images (for `[task] ground_truth = "coco"`), relative to
    /// the config file.
    pub annotations: Option<PathBuf>,
    /// Low-level (LL-ICM) paired data: folder of ideal targets, matched by file name with
    /// the degraded inputs in `path` (relative to the config file).
    pub target: Option<PathBuf>,
    /// Low-level synthetic data: the degradation applied to the clean images in `path`,
    /// e.g. `{ kind = "downscale", factor = 4 }` (see `icmbench_datasets::degrade`).
    pub degradation: Option<Degradation>,
    /// Seed of the degradation's random parts (default 0).
    pub seed: Option<u64>,
    /// Low-level: the task model run on every decoded image.
    pub restorer: Option<RestorerConfig>,
}

impl DatasetConfig {
    /// Whether this dataset is a low-level task (paired or synthetic).
    pub fn is_lowlevel(&self) -> bool {
        self.target.is_some() || self.degradation.is_some()
    }
}

/// One `[[codecs]]` table: its kind, id and qualities, and the kind's own settings.
#[derive(Debug, Clone, Deserialize)]
pub struct CodecConfig {
    /// Codec kind, a name in [`registry::KINDS`].
    pub kind: Spanned<String>,
    /// Id in results (default: the kind, or the preset name for external codecs).
    pub id: Option<String>,
    /// Quality ladder.
    pub qualities: Spanned<Vec<f64>>,
    /// The other keys: the kind's settings, handed to its builder.
    #[serde(flatten)]
    pub settings: toml::Table,
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Output folder (relative to the config file).
    pub output: PathBuf,
    /// Worker threads.
    pub jobs: Option<usize>,
    /// Where ONNX models run: `cpu` (default), `cuda`, `cuda:N`.
    pub device: Option<Spanned<String>>,
    /// ONNX Runtime intra-op threads per session (default: ONNX Runtime's choice).
    pub intra_threads: Option<usize>,
    /// Metric names.
    pub metrics: Vec<Spanned<String>>,
    /// Padding policy for codecs needing size multiples.
    #[serde(default)]
    pub padding: Padding,
    /// Keep every scored image (and each image's reference) under
    /// `OUTPUT/reconstructions/`, for the report's image viewer (default false;
    /// `--save-reconstructions DIR` keeps them elsewhere).
    #[serde(default)]
    pub save_reconstructions: bool,
    /// Datasets.
    pub datasets: Vec<DatasetConfig>,
    /// Codecs.
    pub codecs: Vec<Spanned<CodecConfig>>,
    /// Machine tasks run on every decoded image (SA-ICM protocol): detectors, instance
    /// segmenters, a face detector.
    #[serde(default)]
    pub tasks: Vec<TaskConfig>,
    /// The single task of configs written before `[[tasks]]` (the same table).
    pub task: Option<TaskConfig>,
}

/// A codec ready to run.
pub struct PreparedCodec {
    /// Id in results.
    pub id: String,
    /// The codec.
    pub codec: Box<dyn Codec>,
    /// Quality ladder.
    pub qualities: Vec<f64>,
}

/// A validated configuration.
pub struct Plan {
    /// Where the config came from.
    pub config_path: PathBuf,
    /// The config's text (copied into the output folder, for reports).
    pub config_text: String,
    /// Output folder, resolved.
    pub output: PathBuf,
    /// Worker threads.
    pub jobs: Option<usize>,
    /// ONNX Runtime device and threads, for everything the run builds: model-based metrics,
    /// learned codecs, restorers and the detector.
    pub runtime: icmbench_models::RuntimeOptions,
    /// Canonical metric names.
    pub metrics: Vec<String>,
    /// Padding policy.
    pub padding: Padding,
    /// Whether scored images are kept under `OUTPUT/reconstructions/` (the config's
    /// `save_reconstructions`).
    pub save_reconstructions: bool,
    /// Datasets with resolved paths.
    pub datasets: Vec<DatasetConfig>,
    /// Codecs.
    pub codecs: Vec<PreparedCodec>,
    /// The tasks, checked, with paths resolved (their models are loaded when the run
    /// starts, on the run's device).
    pub tasks: Vec<TaskPlan>,
}

pub use icmbench_models::paths::normalize;

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

fn at(path: &Path, text: &str, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
    let location = match span {
        Some(s) => {
            let (l, c) = line_col(text, s.start);
            format!("{}:{l}:{c}", path.display())
        }
        None => path.display().to_string(),
    };
    ConfigError {
        location,
        message: message.into(),
    }
}

/// Parses a configuration text (`path` is used for messages and relative paths). Each
/// codec's kind and settings are checked here too, from the span-preserving document, so
/// that an unknown setting or a wrong type is located at its key or value.
pub fn parse(path: &Path, text: &str) -> Result<RunConfig, ConfigError> {
    let located = |e: toml::de::Error| at(path, text, e.span(), e.message().trim().to_string());
    let doc = toml::de::DeTable::parse(text).map_err(located)?;
    let cfg = RunConfig::deserialize(toml::de::Deserializer::from(doc.clone())).map_err(located)?;
    let tables = doc.get_ref().get("codecs").and_then(|v| v.get_ref().as_array());
    for (c, table) in cfg.codecs.iter().zip(tables.into_iter().flat_map(|a| a.iter())) {
        let c = c.get_ref();
        let kind = registry::find(c.kind.get_ref()).map_err(|e| at(path, text, Some(c.kind.span()), e.to_string()))?;
        kind.check(table, |k| c.settings.contains_key(k)).map_err(located)?;
    }
    Ok(cfg)
}

/// What the command line sets over a config, resolved once when the plan is built (the
/// device then reaches every model and codec as they are built).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// Where ONNX models run (`--device`), over the config's `device`.
    pub device: Option<icmbench_models::Device>,
}

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path) -> Result<Plan, ConfigError> {
    load_with(path, &Overrides::default())
}

/// Reads, parses and validates a configuration file, with command-line overrides.
pub fn load_with(path: &Path, overrides: &Overrides) -> Result<Plan, ConfigError> {
    let text = icmbench_models::textfile::read_text_capped(path, icmbench_models::textfile::CONFIG_CAP).map_err(|e| ConfigError {
        location: path.display().to_string(),
        message: format!("{e}; a config file is a few kilobytes"),
    })?;
    let cfg = parse(path, &text)?;
    validate_with(path, &text, cfg, overrides)
}

/// Checks names and values against the registries and builds the codecs.
pub fn validate(path: &Path, text: &str, cfg: RunConfig) -> Result<Plan, ConfigError> {
    validate_with(path, text, cfg, &Overrides::default())
}

/// [`validate`] with command-line overrides.
pub fn validate_with(path: &Path, text: &str, cfg: RunConfig, overrides: &Overrides) -> Result<Plan, ConfigError> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let at = |span: Option<Range<usize>>, message: String| at(path, text, span, message);
    let metrics = canonical_metrics(&cfg.metrics, &at)?;
    let runtime = runtime(&cfg, overrides, &at)?;
    if cfg.jobs == Some(0) {
        return Err(at(None, "`jobs` must be at least 1".into()));
    }
    let datasets = datasets(&cfg.datasets, &base).map_err(|m| at(None, m))?;
    let codecs = codecs(&cfg.codecs, &base, runtime, &at)?;
    let tasks = tasks(&cfg, &datasets, &base).map_err(|m| at(None, m))?;
    Ok(Plan {
        config_path: path.to_path_buf(),
        config_text: text.to_string(),
        output: normalize(&base.join(&cfg.output)),
        jobs: cfg.jobs,
        runtime,
        metrics,
        padding: cfg.padding,
        save_reconstructions: cfg.save_reconstructions,
        datasets,
        codecs,
        tasks,
    })
}

/// A located error, for the helpers of [`validate_with`].
type At<'a> = dyn Fn(Option<Range<usize>>, String) -> ConfigError + 'a;

/// The canonical metric names, each once, in config order.
fn canonical_metrics(names: &[Spanned<String>], at: &At) -> Result<Vec<String>, ConfigError> {
    let mut metrics = Vec::new();
    for m in names {
        let canon = icmbench_metrics::canonical_name(m.get_ref()).map_err(|e| at(Some(m.span()), e.to_string()))?;
        if !metrics.contains(&canon.to_string()) {
            metrics.push(canon.to_string());
        }
    }
    Ok(metrics)
}

/// The run's ONNX Runtime options: the config's device (or `--device`) and threads.
fn runtime(cfg: &RunConfig, overrides: &Overrides, at: &At) -> Result<icmbench_models::RuntimeOptions, ConfigError> {
    // The config's own value is checked even when `--device` replaces it.
    let configured = match &cfg.device {
        Some(d) => d
            .get_ref()
            .parse::<icmbench_models::Device>()
            .map_err(|e| at(Some(d.span()), e.to_string()))?,
        None => icmbench_models::Device::Cpu,
    };
    let device = overrides.device.unwrap_or(configured);
    Ok(icmbench_models::RuntimeOptions {
        device,
        intra_threads: cfg.intra_threads.unwrap_or(0),
        ..Default::default()
    })
}

/// The datasets, checked, with their paths resolved against the config's folder.
fn datasets(list: &[DatasetConfig], base: &Path) -> Result<Vec<DatasetConfig>, String> {
    if list.is_empty() {
        return Err("no [[datasets]]: add at least one".into());
    }
    let mut names = BTreeSet::new();
    let mut datasets = Vec::new();
    for d in list {
        check_name("dataset name", &d.name)?;
        if d.name.starts_with("ll-icm") {
            return Err(format!(
                "dataset name `{}`: names must not start with `ll-icm` (the LL-ICM summary figures use that prefix)",
                d.name
            ));
        }
        if !names.insert(d.name.clone()) {
            return Err(format!("dataset name `{}` is used twice", d.name));
        }
        if d.max_side == Some(0) || d.limit == Some(0) || d.max_pixels == Some(0) {
            return Err(format!(
                "dataset `{}`: `max_side`, `limit` and `max_pixels` must be at least 1",
                d.name
            ));
        }
        check_lowlevel(d).map_err(|m| format!("dataset `{}`: {m}", d.name))?;
        let resolve = |p: &PathBuf| normalize(&base.join(p));
        datasets.push(DatasetConfig {
            path: resolve(&d.path),
            annotations: d.annotations.as_ref().map(resolve),
            target: d.target.as_ref().map(resolve),
            restorer: d.restorer.as_ref().map(|r| RestorerConfig {
                onnx: r.onnx.as_ref().map(resolve),
                spec: r.spec.as_ref().map(resolve),
                ..r.clone()
            }),
            ..d.clone()
        });
    }
    Ok(datasets)
}

/// The codecs, built (learned codecs' graphs loaded and checked), with unique ids and
/// valid, distinct qualities.
fn codecs(
    list: &[Spanned<CodecConfig>],
    base: &Path,
    runtime: icmbench_models::RuntimeOptions,
    at: &At,
) -> Result<Vec<PreparedCodec>, ConfigError> {
    if list.is_empty() {
        return Err(at(None, "no [[codecs]]: add at least one".into()));
    }
    let mut ids = BTreeSet::new();
    let mut codecs = Vec::new();
    for c in list {
        let span = c.span();
        let qualities = Some(c.get_ref().qualities.span());
        let prepared = build_codec(c.get_ref(), base, runtime).map_err(|m| at(Some(span.clone()), m))?;
        if let Some(q) = repeated(&prepared.qualities) {
            return Err(at(
                qualities,
                format!(
                    "codec `{}`: quality {q} is listed twice; each quality point is one row per image",
                    prepared.id
                ),
            ));
        }
        if !ids.insert(prepared.id.clone()) {
            return Err(at(
                Some(span),
                format!("codec id `{}` is used twice; give one of them another `id`", prepared.id),
            ));
        }
        for q in &prepared.qualities {
            prepared.codec.check_quality(*q).map_err(|e| at(qualities.clone(), e.to_string()))?;
        }
        if prepared.qualities.is_empty() {
            return Err(at(qualities, "`qualities` is empty".into()));
        }
        codecs.push(prepared);
    }
    Ok(codecs)
}

/// The `[[tasks]]` (or the single `[task]`), checked against the datasets, with their
/// paths resolved and defaults filled.
fn tasks(cfg: &RunConfig, datasets: &[DatasetConfig], base: &Path) -> Result<Vec<TaskPlan>, String> {
    if cfg.task.is_some() && !cfg.tasks.is_empty() {
        return Err("give `[[tasks]]` (any number) or the single `[task]`, not both".into());
    }
    let list: Vec<&TaskConfig> = cfg.task.iter().chain(&cfg.tasks).collect();
    if !list.is_empty() && datasets.iter().any(DatasetConfig::is_lowlevel) {
        return Err(
            "machine tasks (`[[tasks]]`) and low-level datasets (`degradation` or `target`) cannot share a run; use two configs".into(),
        );
    }
    let mut names = BTreeSet::new();
    let mut plans = Vec::new();
    for (i, t) in list.into_iter().enumerate() {
        let which = t
            .name
            .as_deref()
            .map_or_else(|| format!("task {}", i + 1), |n| format!("task `{n}`"));
        let plan = t
            .plan(|p| normalize(&base.join(p)))
            .map_err(|m| format!("[[tasks]] {which}: {m}"))?;
        check_name("task name", &plan.name).map_err(|m| format!("[[tasks]] {which}: {m}"))?;
        if !names.insert(plan.name.clone()) {
            return Err(format!("task name `{}` is used twice; give one of them another `name`", plan.name));
        }
        if plan.ground_truth == GroundTruth::Coco
            && let Some(d) = datasets.iter().find(|d| d.annotations.is_none())
        {
            return Err(format!(
                "task `{}`: ground_truth = \"coco\" needs `annotations` in dataset `{}`",
                plan.name, d.name
            ));
        }
        plans.push(plan);
    }
    Ok(plans)
}

/// Longest dataset name or codec id: they become folder and file names.
pub const MAX_NAME_LEN: usize = 100;

/// Dataset names and codec ids become folder and file names (reconstructions, figures,
/// exports): they must be one safe path part as they are
/// ([`icmbench_reports::paths::check_path_part`]: not empty, `.` or `..`, no separators, `%`
/// or control characters), and, in a config, not start with `.` (hidden files) nor exceed
/// [`MAX_NAME_LEN`] bytes.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let problem = match icmbench_reports::paths::check_path_part(name) {
        Err(e) => Some(e.to_string()),
        Ok(_) if name.starts_with('.') => Some(format!("`{name}` starts with `.`")),
        Ok(_) if name.len() > MAX_NAME_LEN => Some(format!("`{name}` is longer than {MAX_NAME_LEN} bytes")),
        Ok(_) => None,
    };
    match problem {
        Some(p) => Err(format!(
            "{what}: {p}; it becomes a folder or file name in the output, so it must be one plain name (not starting with `.`, at most {MAX_NAME_LEN} bytes)"
        )),
        None => Ok(()),
    }
}

/// The first quality listed twice, if any.
fn repeated(qualities: &[f64]) -> Option<f64> {
    qualities
        .iter()
        .enumerate()
        .find(|(i, q)| qualities[..*i].iter().any(|p| p.to_bits() == q.to_bits() || *p == **q))
        .map(|(_, q)| *q)
}

/// The low-level fields of a dataset that need no file access.
fn check_lowlevel(d: &DatasetConfig) -> Result<(), String> {
    if d.target.is_some() && d.degradation.is_some() {
        return Err("give `target` (paired folders) or `degradation` (synthetic), not both".into());
    }
    if d.target.is_some() && (d.max_side.is_some() || d.fit != Fit::default()) {
        return Err("paired data (`target`) is used as it is: `max_side` and `fit` would break the pairing".into());
    }
    if d.seed.is_some() && d.degradation.is_none() {
        return Err("`seed` only applies with a `degradation`".into());
    }
    if d.restorer.is_some() && !d.is_lowlevel() {
        return Err("a `restorer` needs low-level data: add `degradation` or `target`".into());
    }
    if d.is_lowlevel() && d.annotations.is_some() {
        return Err("`annotations` belong to detection datasets, not low-level ones".into());
    }
    if let Some(r) = &d.restorer {
        r.check()?;
    }
    Ok(())
}

fn build_codec(c: &CodecConfig, base: &Path, runtime: icmbench_models::RuntimeOptions) -> Result<PreparedCodec, String> {
    let kind = registry::find(c.kind.get_ref()).map_err(|e| e.to_string())?;
    if let Some(message) = c.settings.keys().find_map(|k| registry::misplaced(kind, k)) {
        return Err(message);
    }
    let ctx = BuildContext {
        folder: base,
        runtime,
        id: c.id.as_deref(),
    };
    let built = kind.build(&c.settings, &ctx).map_err(|e| e.to_string())?;
    let id = c.id.clone().or(built.default_id).unwrap_or_else(|| kind.name.to_string());
    if crate::tasks::restoration::is_reference(&id) {
        return Err(format!(
            "codec id `{id}` is reserved for the low-level reference rows; choose another `id`"
        ));
    }
    check_name("codec id", &id)?;
    Ok(PreparedCodec {
        id,
        codec: built.codec,
        qualities: c.qualities.get_ref().clone(),
    })
}

/// What each codec can tell is wrong without running (a missing program, a bad file), as
/// `codec `id`: problem` lines; empty when nothing is.
pub fn preflight(plan: &Plan) -> Vec<String> {
    plan.codecs
        .iter()
        .flat_map(|c| c.codec.preflight().into_iter().map(move |p| format!("codec `{}`: {p}", c.id)))
        .collect()
}

/// The size of a plan in words: datasets, codecs, quality points and metrics.
pub fn describe(plan: &Plan) -> String {
    let points: usize = plan.codecs.iter().map(|c| c.qualities.len()).sum();
    format!(
        "{} datasets, {} codecs, {} quality points, {} metrics",
        plan.datasets.len(),
        plan.codecs.len(),
        points,
        plan.metrics.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
output = "out"
metrics = ["psnr", "ms-ssim"]

[[datasets]]
name = "s"
path = "imgs"

[[codecs]]
kind = "jpeg"
qualities = [10, 50]

[[codecs]]
kind = "avif"
speed = 8
qualities = [30]
"#;

    fn err(text: &str) -> String {
        let path = Path::new("cfg/run.toml");
        match parse(path, text).and_then(|c| validate(path, text, c)) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn good_config_resolves_paths_and_aliases() {
        let path = Path::new("cfg/run.toml");
        let plan = validate(path, GOOD, parse(path, GOOD).unwrap()).unwrap();
        assert_eq!(plan.metrics, ["psnr-rgb", "ms-ssim-rgb"]);
        assert_eq!(plan.output, Path::new("cfg/out"));
        assert_eq!(plan.datasets[0].path, Path::new("cfg/imgs"));
        assert_eq!(plan.codecs.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["jpeg", "avif"]);
    }

    #[test]
    fn unknown_key_has_line_and_column() {
        let text = GOOD.replace("speed = 8", "sped = 8");
        let e = err(&text);
        assert!(e.starts_with("cfg/run.toml:15:1:"), "{e}");
        assert!(e.contains("unknown field `sped`") && e.contains("speed"), "{e}");
    }

    #[test]
    fn bad_kind_lists_choices() {
        let e = err(&GOOD.replace("kind = \"jpeg\"", "kind = \"jpg\""));
        assert!(
            e.contains("cfg/run.toml:10:") && e.contains("`jpeg`") && e.contains("`external`"),
            "{e}"
        );
    }

    #[test]
    fn bad_metric_and_quality_are_located() {
        let e = err(&GOOD.replace("\"ms-ssim\"", "\"vmaf\""));
        assert!(e.starts_with("cfg/run.toml:3:") && e.contains("psnr-y601"), "{e}");
        let e = err(&GOOD.replace("[10, 50]", "[10, 500]"));
        assert!(e.starts_with("cfg/run.toml:11:") && e.contains("500"), "{e}");
    }

    #[test]
    fn kind_specific_fields_are_checked() {
        let e = err(&GOOD.replace("kind = \"avif\"", "kind = \"webp\""));
        assert!(e.contains("does not take `speed`"), "{e}");
        let e = err(&GOOD.replace("speed = 8", "preset = \"cjxl\""));
        assert!(e.contains("does not take `preset`"), "{e}");
        let e = err(&GOOD.replace("kind = \"avif\"\nspeed = 8", "kind = \"external\"\npreset = \"x264\""));
        assert!(e.contains("unknown preset `x264`") && e.contains("cjxl"), "{e}");
        let e = err(&GOOD.replace("kind = \"avif\"\nspeed = 8", "kind = \"jpeg\""));
        assert!(e.contains("`jpeg` is used twice"), "{e}");
    }

    /// `timeout_s` out of range is a located config error naming the field and the range,
    /// never a panic (1e300 used to panic in `Duration::from_secs_f64`).
    #[test]
    fn timeout_is_range_checked() {
        let with = |t: &str| {
            GOOD.replace(
                "kind = \"avif\"\nspeed = 8",
                &format!("kind = \"external\"\nencode = [\"cp\", \"{{input}}\", \"{{output}}\"]\ndecode = [\"cp\", \"{{input}}\", \"{{output}}\"]\ntimeout_s = {t}"),
            )
        };
        for (t, shown) in [
            ("1e300", "1e300"),
            ("86401", "86401"),
            ("0", "0"),
            ("-5", "-5"),
            ("nan", "NaN"),
            ("inf", "inf"),
            ("1e-9", "1e-9"),
        ] {
            let e = err(&with(t));
            assert!(e.ends_with(&format!("got {shown}")), "{t}: {e}");
            assert!(
                e.starts_with("cfg/run.toml:13:") && e.contains("`timeout_s`") && e.contains("from 0.001 to 86400"),
                "{t}: {e}"
            );
        }
        let path = Path::new("cfg/run.toml");
        let text = with("86400");
        let plan = validate(path, &text, parse(path, &text).unwrap()).unwrap();
        assert_eq!(plan.codecs[1].id, "external");
    }

    #[test]
    fn low_level_datasets_are_checked() {
        let ll = |extra: &str| GOOD.replace("path = \"imgs\"", &format!("path = \"imgs\"\n{extra}"));
        let path = Path::new("cfg/run.toml");
        let text = ll("degradation = { kind = \"downscale\", factor = 4 }\nseed = 2\nrestorer = { model = \"esrgan-slim-x4\" }");
        let plan = validate(path, &text, parse(path, &text).unwrap()).unwrap();
        assert!(plan.datasets[0].is_lowlevel());
        let text = ll("target = \"gt\"\nrestorer = { onnx = \"m.onnx\", spec = \"m.toml\" }");
        let plan = validate(path, &text, parse(path, &text).unwrap()).unwrap();
        assert_eq!(plan.datasets[0].target.as_deref(), Some(Path::new("cfg/gt")));
        let r = plan.datasets[0].restorer.as_ref().unwrap();
        assert_eq!(r.onnx.as_deref(), Some(Path::new("cfg/m.onnx")));
        let e = err(&ll("target = \"gt\"\ndegradation = { kind = \"noise\", sigma = 5.0 }"));
        assert!(e.contains("dataset `s`") && e.contains("not both"), "{e}");
        let e = err(&ll("target = \"gt\"\nmax_side = 64"));
        assert!(e.contains("break the pairing"), "{e}");
        assert!(err(&ll("seed = 1")).contains("only applies with a `degradation`"));
        assert!(err(&ll("restorer = { model = \"esrgan-slim-x4\" }")).contains("needs low-level data"));
        let e = err(&ll("degradation = { kind = \"blur\", sigma = 1.0 }"));
        assert!(e.starts_with("cfg/run.toml:8:") && e.contains("gaussian-blur"), "{e}");
        let e = err(&ll(
            "degradation = { kind = \"noise\", sigma = 5.0 }\nrestorer = { model = \"lpips-alex\" }",
        ));
        assert!(e.contains("no built-in contract"), "{e}");
        let text = ll("degradation = { kind = \"noise\", sigma = 5.0 }") + "\n[task]\nkind = \"detection\"\nground_truth = \"pseudo\"\n";
        assert!(err(&text).contains("cannot share a run"));
        let text = ll("degradation = { kind = \"noise\", sigma = 5.0 }") + "\n[[tasks]]\nkind = \"faces\"\n";
        assert!(err(&text).contains("cannot share a run"));
        let e = err(&GOOD.replace("kind = \"jpeg\"", "kind = \"jpeg\"\nid = \"degraded-input\""));
        assert!(e.contains("reserved"), "{e}");
        assert!(err(&GOOD.replace("name = \"s\"", "name = \"ll-icm\"")).contains("prefix"));
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    /// `--device` is resolved once, over the config's `device`, when the plan is built.
    #[test]
    fn the_device_override_wins() {
        let path = Path::new("cfg/run.toml");
        let text = GOOD.replace("output = \"out\"", "output = \"out\"\ndevice = \"cuda:1\"");
        let plan = validate(path, &text, parse(path, &text).unwrap()).unwrap();
        assert_eq!(plan.runtime.device, icmbench_models::Device::Cuda(1));
        let cpu = Overrides {
            device: Some(icmbench_models::Device::Cpu),
        };
        let plan = validate_with(path, &text, parse(path, &text).unwrap(), &cpu).unwrap();
        assert_eq!(plan.runtime.device, icmbench_models::Device::Cpu);
    }
}
