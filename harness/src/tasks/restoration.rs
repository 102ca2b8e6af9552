//! Low-level tasks in a run (the LL-ICM protocol). A dataset with a `degradation` (clean
//! images degraded on the fly) or a `target` folder (paired files) gives (degraded input,
//! ideal target) samples: the codec compresses the degraded input, the dataset's restorer
//! turns the decoded image into the enhanced image, and the metrics compare the enhanced
//! image with the ideal target (no-reference metrics score the enhanced image alone). Each
//! image also gets two reference rows: the restorer on the uncompressed degraded input
//! ([`REF_UNCOMPRESSED`]) and the degraded input without any task ([`REF_DEGRADED`],
//! brought to the target's size by bicubic resampling when they differ).

use std::path::PathBuf;

use icmbench_datasets::lowlevel::to_target_size;
use icmbench_models::RuntimeOptions;
use icmbench_models::restore::{BUILTIN_RESTORERS, Restorer, RestorerSpec};

use super::{load_export, load_manifest_model};
pub use icmbench_reports::lowlevel::{REF_DEGRADED, REF_UNCOMPRESSED, REFERENCE_KIND, Reference, is_reference};
use image::RgbImage;
use serde::{Deserialize, Serialize};

/// The codec version of reference rows: changes only when what they compute changes (the
/// no-task row's bicubic resize), not with every icmbench release.
pub const REFERENCE_VERSION: &str = "icmbench reference rows v1 (no-task: Catmull-Rom bicubic resize)";

/// The `restorer` table of a low-level dataset.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestorerConfig {
    /// A restorer of the model manifest with a built-in contract (`esrgan-slim-x4`,
    /// `maxim-deblurring`, `maxim-denoising`).
    pub model: Option<String>,
    /// Your own image-to-image ONNX model (with `spec`), relative to the config.
    pub onnx: Option<PathBuf>,
    /// Its contract (TOML: input, output, layout, range, scale, size_multiple), relative to
    /// the config.
    pub spec: Option<PathBuf>,
    /// Tile side in input pixels (0: the whole image at once).
    #[serde(default = "default_tile")]
    pub tile: u32,
    /// Context pixels around each tile (at least the model's receptive-field radius).
    #[serde(default = "default_overlap")]
    pub overlap: u32,
}

fn default_tile() -> u32 {
    256
}
fn default_overlap() -> u32 {
    16
}

impl RestorerConfig {
    /// Checks the fields that need no file access.
    pub fn check(&self) -> Result<(), String> {
        match (&self.model, &self.onnx, &self.spec) {
            (Some(m), None, None) if BUILTIN_RESTORERS.contains(&m.as_str()) => {}
            (Some(m), None, None) => {
                return Err(format!(
                    "restorer model `{m}` has no built-in contract; use one of {}, or give `onnx` and `spec`",
                    BUILTIN_RESTORERS.join(", ")
                ));
            }
            (None, Some(_), Some(_)) => {}
            _ => return Err("restorer: give `model`, or both `onnx` and `spec`".into()),
        }
        if self.tile != 0 && self.tile <= 2 * self.overlap {
            return Err(format!(
                "restorer: `tile` ({}) must be larger than twice `overlap` ({})",
                self.tile, self.overlap
            ));
        }
        Ok(())
    }
}

/// A dataset's low-level task, ready to run.
pub struct LowLevel {
    /// The restorer (`None`: the decoded image itself is scored, brought to the target size).
    pub restorer: Option<Restorer>,
    /// Tile side.
    pub tile: u32,
    /// Tile overlap.
    pub overlap: u32,
    /// Identifies the restorer (name and BLAKE3 of its ONNX file and contract), so that
    /// cached rows are reused only with the same model.
    pub identity: String,
}

impl LowLevel {
    /// Loads the restorer (session created here, on `opts`' device).
    pub fn new(c: Option<&RestorerConfig>, opts: &RuntimeOptions) -> Result<Self, String> {
        let Some(c) = c else {
            return Ok(Self {
                restorer: None,
                tile: 0,
                overlap: 0,
                identity: "none".into(),
            });
        };
        c.check()?;
        let (model, spec, identity) = match (&c.model, &c.onnx, &c.spec) {
            (Some(name), ..) => {
                let (model, sha) = load_manifest_model(name, opts)?;
                let spec = RestorerSpec::builtin(name).ok_or_else(|| format!("no contract for `{name}`"))?;
                (model, spec, format!("{name} sha256:{sha}"))
            }
            (None, Some(onnx), Some(spec_path)) => {
                let (model, spec, text) = load_export::<RestorerSpec>(onnx, spec_path, opts)?;
                let bytes = std::fs::read(onnx).map_err(|e| format!("{}: {e}", onnx.display()))?;
                let mut h = blake3::Hasher::new();
                h.update(&bytes);
                h.update(text.as_bytes());
                // The content, not the path: the same model found through another path
                // (another working folder) keeps its cached rows.
                (model, spec, format!("onnx+spec blake3:{}", &h.finalize().to_hex()[..32]))
            }
            // `check` accepts only the two forms above.
            _ => return Err("restorer: give `model`, or both `onnx` and `spec`".into()),
        };
        Ok(Self {
            restorer: Some(Restorer::new(model, spec)),
            tile: c.tile,
            overlap: c.overlap,
            identity: format!("{identity} tile {} overlap {}", c.tile, c.overlap),
        })
    }

    /// The image a reference row scores: the restorer's output on the uncompressed degraded
    /// `input`, or `input` itself brought to the target's size.
    pub fn reference(&self, r: Reference, input: &RgbImage, target: &RgbImage) -> Result<RgbImage, String> {
        match r {
            Reference::TaskOnUncompressed => self.enhance(input, target),
            Reference::DegradedInput => Ok(to_target_size(input, target)),
        }
    }

    /// The enhanced image of `input` (a decoded or uncompressed degraded image), which must
    /// have the target's size.
    pub fn enhance(&self, input: &RgbImage, target: &RgbImage) -> Result<RgbImage, String> {
        let out = match &self.restorer {
            Some(r) => r.restore(input, self.tile, self.overlap).map_err(|e| format!("restorer: {e}"))?,
            None => to_target_size(input, target),
        };
        if out.dimensions() != target.dimensions() {
            let (ow, oh) = out.dimensions();
            let (tw, th) = target.dimensions();
            return Err(format!(
                "restorer `{}` gives {ow}x{oh} from a {}x{} input, but the ideal image is {tw}x{th}; check the scale factor of its contract and the dataset's degradation",
                self.restorer.as_ref().map_or("none", |r| r.name()),
                input.width(),
                input.height()
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(model: Option<&str>, onnx: bool, spec: bool) -> RestorerConfig {
        RestorerConfig {
            model: model.map(String::from),
            onnx: onnx.then(|| "m.onnx".into()),
            spec: spec.then(|| "m.toml".into()),
            tile: 256,
            overlap: 16,
        }
    }

    #[test]
    fn restorer_fields_are_checked() {
        assert!(cfg(Some("esrgan-slim-x4"), false, false).check().is_ok());
        assert!(cfg(None, true, true).check().is_ok());
        let e = cfg(Some("nanodet"), false, false).check().unwrap_err();
        assert!(e.contains("no built-in contract") && e.contains("esrgan-slim-x4"), "{e}");
        assert!(cfg(None, true, false).check().unwrap_err().contains("both `onnx` and `spec`"));
        let mut c = cfg(None, true, true);
        c.tile = 32;
        assert!(c.check().unwrap_err().contains("twice `overlap`"));
    }

    #[test]
    fn without_a_restorer_the_input_is_resized_to_the_target() {
        let ll = LowLevel::new(None, &RuntimeOptions::default()).unwrap();
        let out = ll.enhance(&RgbImage::new(4, 3), &RgbImage::new(16, 12)).unwrap();
        assert_eq!(out.dimensions(), (16, 12));
    }
}
