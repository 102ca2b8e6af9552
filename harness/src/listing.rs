//! What `icmbench list` and `icmbench models` print: the codecs, presets, metrics,
//! restorers and degradations this build knows, and the model manifest with the state of
//! each built file, as text or JSON.

use std::fmt::Write;
use std::path::Path;

use icmbench_models::{FileState, Manifest, ModelEntry};
use serde::Serialize;
use serde_json::{Value, json};

/// A codec kind with its version string.
#[derive(Debug, Clone, Serialize)]
pub struct CodecListing {
    /// The `kind` in configs.
    pub kind: String,
    /// Library version and default settings.
    pub version: String,
}

/// A metric with its direction and convention.
#[derive(Debug, Clone, Serialize)]
pub struct MetricListing {
    /// The convention.
    pub convention: &'static str,
    /// Whether larger is better.
    pub higher_is_better: bool,
    /// Canonical name.
    pub name: &'static str,
}

/// Everything `icmbench list` shows (its `--json` output).
#[derive(Debug, Clone, Serialize)]
pub struct Catalogue {
    /// Built-in codec kinds that need no settings.
    pub codecs: Vec<CodecListing>,
    /// Degradation kinds.
    pub degradations: &'static [&'static str],
    /// External codec presets.
    pub external_presets: &'static [&'static str],
    /// Metrics.
    pub metrics: Vec<MetricListing>,
    /// Restorers with a built-in contract.
    pub restorers: &'static [&'static str],
}

/// What this build knows.
pub fn catalogue() -> Catalogue {
    Catalogue {
        codecs: icmbench_codecs::registry::KINDS
            .iter()
            .filter_map(|k| {
                k.build_default().ok().map(|c| CodecListing {
                    kind: k.name.to_string(),
                    version: c.version(),
                })
            })
            .collect(),
        external_presets: icmbench_codecs::external::PRESETS,
        restorers: icmbench_models::restore::BUILTIN_RESTORERS,
        degradations: icmbench_datasets::degrade::KINDS,
        metrics: icmbench_metrics::catalogue::per_image()
            .map(|m| MetricListing {
                name: m.name,
                higher_is_better: m.higher_is_better(),
                convention: m.convention,
            })
            .collect(),
    }
}

impl Catalogue {
    /// The text of `icmbench list`.
    pub fn text(&self) -> String {
        let mut out = String::from("codecs (kind = ...):\n");
        for c in &self.codecs {
            let _ = writeln!(out, "  {:<9} {}", c.kind, c.version);
        }
        let _ = writeln!(out, "  external  presets: {}", self.external_presets.join(", "));
        out.push_str("metrics:\n");
        for m in &self.metrics {
            let _ = writeln!(out, "  {:<13} {}", m.name, m.convention);
        }
        let _ = writeln!(out, "restorers (datasets.restorer.model = ...): {}", self.restorers.join(", "));
        let _ = writeln!(
            out,
            "degradations (datasets.degradation.kind = ...): {}",
            self.degradations.join(", ")
        );
        out
    }
}

/// The `--json` output of `icmbench models list`.
pub fn models_json(manifest: &Manifest, dir: &Path) -> Value {
    let list: Vec<_> = manifest
        .model
        .iter()
        .map(|m| json!({"name": m.name, "file": m.file, "sha256": m.sha256, "source": m.source, "licence": m.licence, "build": m.build, "inputs": m.inputs, "outputs": m.outputs}))
        .collect();
    json!({"models_dir": dir.display().to_string(), "models": list})
}

/// The text of `icmbench models list`.
pub fn models_text(manifest: &Manifest, dir: &Path) -> String {
    let mut out = format!("models folder: {}\n", dir.display());
    for m in &manifest.model {
        let _ = writeln!(
            out,
            "{}\n  file     {}\n  sha256   {}\n  source   {}\n  licence  {}\n  build    {}\n  inputs   {}\n  outputs  {}",
            m.name, m.file, m.sha256, m.source, m.licence, m.build, m.inputs, m.outputs
        );
    }
    out
}

/// A built file's state in words.
pub fn state_text(s: &FileState) -> String {
    match s {
        FileState::Ok => "ok".to_string(),
        FileState::Missing => "missing (run `make models`)".to_string(),
        FileState::Mismatch(h) => format!("sha256 mismatch: found {h}"),
        FileState::NotExported => "not exported (optional; see `icmbench models list`)".to_string(),
        FileState::Exported(h) => format!("exported by you, sha256 {h}"),
    }
}

/// The `--json` output of `icmbench models verify`.
pub fn verify_json(states: &[(ModelEntry, FileState)], dir: &Path) -> Value {
    let list: Vec<_> = states
        .iter()
        .map(|(m, s)| json!({"name": m.name, "file": m.file, "ok": s.is_ok(), "optional": m.optional, "state": state_text(s)}))
        .collect();
    json!({"models_dir": dir.display().to_string(), "models": list})
}

/// The text of `icmbench models verify`: one aligned line per model.
pub fn verify_text(states: &[(ModelEntry, FileState)]) -> String {
    let wn = states.iter().map(|(m, _)| m.name.len()).max().unwrap_or(0);
    let wf = states.iter().map(|(m, _)| m.file.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (m, s) in states {
        let _ = writeln!(out, "{:<wn$} {:<wf$} {}", m.name, m.file, state_text(s));
    }
    out
}
