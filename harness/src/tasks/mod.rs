//! Machine task models in a run (the "task" of the glossary): a detector (SA-ICM) or a
//! restorer (LL-ICM) that runs on every decoded image as an optional stage of its row.
//!
//! | module | what lives there |
//! |---|---|
//! | [`detection`] | the `[task]` detector, its stage, ground truths, mAP per point, `icmbench detect` |
//! | [`resample`] | task metrics recomputed for bootstrap resamples (images repeated as drawn) |
//! | [`restoration`] | the low-level dataset's restorer, its stage, and the reference rows |
//! | this file | loading a task model: your ONNX export with its contract, or a manifest model |

pub mod detection;
pub mod resample;
pub mod restoration;

use std::path::Path;

/// Loads your ONNX export and its contract (TOML, parsed as `S`): the model, the contract and
/// the contract's text. Errors name the file.
pub fn load_export<S: serde::de::DeserializeOwned>(
    onnx: &Path,
    contract: &Path,
    opts: &icmbench_models::RuntimeOptions,
) -> Result<(icmbench_models::Model, S, String), String> {
    let text = icmbench_models::textfile::read_text_capped(contract, icmbench_models::textfile::TEXT_CAP).map_err(|e| e.to_string())?;
    let spec: S = toml::from_str(&text).map_err(|e| format!("{}: {}", contract.display(), e.message()))?;
    let model = icmbench_models::Model::load(&onnx.display().to_string(), onnx, opts).map_err(|e| e.to_string())?;
    Ok((model, spec, text))
}

/// Loads a model of the shipped manifest from the models folder, with its SHA-256.
pub fn load_manifest_model(name: &str, opts: &icmbench_models::RuntimeOptions) -> Result<(icmbench_models::Model, String), String> {
    let manifest = icmbench_models::Manifest::shipped().map_err(|e| e.to_string())?;
    let model = manifest
        .load(name, &icmbench_models::models_dir(), opts)
        .map_err(|e| e.to_string())?;
    Ok((model, manifest.get(name).map(|m| m.sha256.clone()).unwrap_or_default()))
}
