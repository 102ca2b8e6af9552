//! `icmbench score`: one metric on one image pair (or on one image, for no-reference
//! metrics), read from files.

use std::path::Path;

use icmbench_datasets::{ImageEntry, LoadedImage, Preprocess, load_image};
use icmbench_metrics::MetricError;
use icmbench_models::RuntimeOptions;

/// Why an image could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// An unknown metric, or one that could not be loaded or computed.
    #[error(transparent)]
    Metric(#[from] MetricError),
    /// An image could not be read.
    #[error(transparent)]
    Image(#[from] icmbench_datasets::DatasetError),
    /// A reference was given to a no-reference metric.
    #[error("{0} is a no-reference metric: give only --dist")]
    NoReference(&'static str),
    /// No reference was given to a full-reference metric.
    #[error("{0} compares with a reference: give --ref and --dist")]
    NeedsReference(&'static str),
    /// The metric failed on these images.
    #[error("scoring {what}: {source}")]
    Compute {
        /// The image(s) scored.
        what: String,
        /// The metric's error.
        source: MetricError,
    },
}

/// A metric's value on one image (pair).
#[derive(Debug, Clone, Copy)]
pub struct Score {
    /// The metric's canonical name.
    pub metric: &'static str,
    /// Its value (infinite PSNR for identical images).
    pub value: f64,
}

fn load(path: &Path) -> Result<LoadedImage, icmbench_datasets::DatasetError> {
    let entry = ImageEntry {
        id: path.display().to_string(),
        path: path.to_path_buf(),
    };
    load_image(&entry, &Preprocess::default())
}

/// Scores `dist` against `reference` (full-reference metrics) or alone (no-reference
/// metrics), with model-based metrics on `runtime`'s device.
pub fn score_files(metric: &str, reference: Option<&Path>, dist: &Path, runtime: &RuntimeOptions) -> Result<Score, ScoreError> {
    let info = icmbench_metrics::info(metric)?;
    match (reference, info.needs_reference) {
        (Some(_), false) => return Err(ScoreError::NoReference(info.name)),
        (None, true) => return Err(ScoreError::NeedsReference(info.name)),
        _ => {}
    }
    let m = icmbench_metrics::by_name(metric, runtime)?;
    let b = load(dist)?;
    let value = match reference {
        Some(r) => {
            let a = load(r)?;
            m.compute(&a.image, &b.image).map_err(|source| ScoreError::Compute {
                what: format!("{} against {}", b.path.display(), a.path.display()),
                source,
            })?
        }
        None => m.compute(&b.image, &b.image).map_err(|source| ScoreError::Compute {
            what: b.path.display().to_string(),
            source,
        })?,
    };
    Ok(Score { metric: m.name(), value })
}
