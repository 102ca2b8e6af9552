//! `run.json`: what the last run of an output folder was (config, versions, metrics with
//! their conventions, codecs, datasets with their degradations and restorers, the ONNX
//! device, counts), and
//! the copy of its config beside it.

use std::path::Path;

use icmbench_reports::ReportError;
use icmbench_reports::store::ResultRow;
use icmbench_reports::store::shard::Shard;
use serde::Serialize;

use super::plan::DatasetJobs;
use crate::config::Plan;
use icmbench_reports::store::Store;

#[derive(Serialize)]
struct RunMeta<'a> {
    config: String,
    icmbench_version: &'static str,
    finished_unix_s: u64,
    metrics: Vec<MetricMeta>,
    codecs: Vec<CodecMeta<'a>>,
    datasets: Vec<DatasetMeta<'a>>,
    padding: icmbench_codecs::padding::Padding,
    runtime: RuntimeMeta,
    rows: usize,
    computed: usize,
    failed: usize,
    /// The shard this run was (`None`: the whole plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<Shard>,
}

/// Where the run's ONNX models ran. Every session of the run (model-based metrics, learned
/// codecs, tasks, restorers) is created with these options, and a CUDA device that cannot
/// be used is an error, never a fallback to the CPU: so this is each model's device.
#[derive(Serialize)]
struct RuntimeMeta {
    device: String,
    execution_provider: &'static str,
    /// ONNX Runtime intra-op threads per session (0: its default, one per core).
    intra_threads: usize,
}

#[derive(Serialize)]
struct MetricMeta {
    name: &'static str,
    higher_is_better: bool,
    convention: &'static str,
}

/// A dataset as run: its folders, degradation and low-level task model.
#[derive(Serialize)]
struct DatasetMeta<'a> {
    name: &'a str,
    path: &'a Path,
    target: Option<&'a Path>,
    degradation: Option<String>,
    seed: Option<u64>,
    restorer: Option<&'a str>,
}

#[derive(Serialize)]
struct CodecMeta<'a> {
    id: &'a str,
    kind: String,
    version: String,
    size_multiple: u32,
    qualities: &'a [f64],
}

/// Writes `run.json` (what this run was) and the copy of its config into the output folder.
pub(crate) fn write_meta(
    store: &Store,
    plan: &Plan,
    matrix: &[DatasetJobs],
    rows: &[ResultRow],
    computed: usize,
    shard: Option<Shard>,
) -> Result<(), ReportError> {
    let meta = RunMeta {
        config: plan.config_path.display().to_string(),
        icmbench_version: env!("CARGO_PKG_VERSION"),
        finished_unix_s: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        metrics: plan
            .metrics
            .iter()
            .filter_map(|m| icmbench_metrics::info(m).ok())
            .map(|m| MetricMeta {
                name: m.name,
                higher_is_better: m.higher_is_better(),
                convention: m.convention,
            })
            .collect(),
        codecs: plan
            .codecs
            .iter()
            .map(|c| CodecMeta {
                id: &c.id,
                kind: c.codec.kind().to_string(),
                version: c.codec.version(),
                size_multiple: c.codec.size_multiple(),
                qualities: &c.qualities,
            })
            .collect(),
        datasets: plan
            .datasets
            .iter()
            .zip(matrix)
            .map(|(d, m)| DatasetMeta {
                name: &d.name,
                path: &d.path,
                target: d.target.as_deref(),
                degradation: d.degradation.as_ref().map(|x| format!("{x:?}")),
                seed: d.degradation.as_ref().map(|_| d.seed.unwrap_or(0)),
                restorer: m.lowlevel.as_ref().map(|l| l.identity.as_str()),
            })
            .collect(),
        padding: plan.padding,
        runtime: RuntimeMeta {
            device: plan.runtime.device.to_string(),
            execution_provider: match plan.runtime.device {
                icmbench_models::Device::Cpu => "CPUExecutionProvider",
                icmbench_models::Device::Cuda(_) => "CUDAExecutionProvider",
            },
            intra_threads: plan.runtime.intra_threads,
        },
        rows: rows.len(),
        computed,
        failed: rows.iter().filter(|r| !r.is_ok()).count(),
        shard,
    };
    icmbench_reports::store::write_text(&store.path(icmbench_reports::store::CONFIG_COPY), &plan.config_text)?;
    icmbench_reports::store::write_json(&store.path(icmbench_reports::store::RUN_META), &meta)
}
