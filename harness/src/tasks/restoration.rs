//! Low-level tasks in a run (the LL-ICM protocol). A dataset with a `degradation` (clean
//! images degraded on the fly) or a `target` folder (paired files) gives (degraded input,
//! ideal target) samples: the codec compresses the degraded input, the dataset's restorer
//! turns the decoded image into the enhanced image, and the metrics compare the enhanced
//! image with the ideal target (no-reference metrics score the enhanced image alone). Each
//! image also gets two reference rows: the restorer on the uncompressed degraded input
//! ([`REF_UNCOMPRESSED`]) and the degraded input without any task ([`REF_DEGRADED`],
//! brought to the target's size by bicubic resampling when they differ).
//!
//! A restorer is direct (one image-to-image graph, tiled: [`Restorer`]) or iterative (a
//! diffusion step graph run `steps` times by the IR-SDE sampler: [`IterativeRestorer`]);
//! an iterative one draws its noise from SplitMix64 seeded with the restorer's `seed` for
//! every restoration, so each row is reproducible on its own, whatever the order, the
//! shard or a resume, and every row records that seed (`preprocess`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use icmbench_datasets::lowlevel::to_target_size;
use icmbench_models::RuntimeOptions;
use icmbench_models::irsde::{IterativeRestorer, IterativeSpec};
use icmbench_models::restore::{BUILTIN_RESTORERS, Restorer, RestorerSpec};
use icmbench_models::{Model, ModelError};

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
    /// Your own image-to-image ONNX model, or the step graph of an iterative (diffusion)
    /// restorer (with `spec`), relative to the config.
    pub onnx: Option<PathBuf>,
    /// Its contract, relative to the config (TOML: input, output, layout, range, scale,
    /// size_multiple; an iterative restorer's has an `[sde]` table instead, see
    /// [`IterativeSpec`]).
    pub spec: Option<PathBuf>,
    /// The seed of an iterative restorer's draws (default 0; only for iterative ones).
    pub seed: Option<u64>,
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
        if let Some(m) = &self.model
            && let Some(spec) = RestorerSpec::builtin(m)
        {
            check_tile(m, self.tile, spec.size_multiple)?;
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

/// A tile side must be a multiple of the restorer's size multiple (64 for MAXIM), so that
/// every tile of a large enough image is real image, never padding.
fn check_tile(name: &str, tile: u32, multiple: u32) -> Result<(), String> {
    match tile != 0 && !tile.is_multiple_of(multiple.max(1)) {
        true => Err(format!(
            "restorer `{name}`: `tile` ({tile}) must be a multiple of its size multiple {multiple} (tiles are then whole windows of the image, never padding)"
        )),
        false => Ok(()),
    }
}

/// The restorers a run has loaded, by what they load: datasets naming the same restorer
/// share one (its sessions are created once).
#[derive(Default)]
pub struct Stages(HashMap<String, (Arc<Stage>, String)>);

/// A loaded restorer.
#[expect(clippy::large_enum_variant, reason = "one per restorer and run, behind an Arc")]
pub enum Stage {
    /// One image-to-image graph, tiled.
    Direct(Restorer),
    /// A diffusion step graph run by the IR-SDE sampler, with the seed of its draws.
    Iterative(IterativeRestorer, u64),
}

impl Stage {
    /// The model's name.
    pub fn name(&self) -> &str {
        match self {
            Stage::Direct(r) => r.name(),
            Stage::Iterative(r, _) => r.name(),
        }
    }

    /// Restores `img` (direct ones in `tile`-pixel tiles with `overlap`).
    pub fn restore(&self, img: &RgbImage, tile: u32, overlap: u32) -> Result<RgbImage, ModelError> {
        match self {
            Stage::Direct(r) => r.restore(img, tile, overlap),
            Stage::Iterative(r, seed) => {
                let mut rng = icmbench_datasets::degrade::SplitMix64::new(*seed);
                r.restore(img, &mut || rng.normal() as f32)
            }
        }
    }

    /// The MACs of its runs so far (a model loaded with profiling).
    pub fn macs(&self) -> Result<icmbench_models::complexity::MacCount, ModelError> {
        match self {
            Stage::Direct(r) => r.macs(),
            Stage::Iterative(r, _) => r.macs(),
        }
    }
}

/// A dataset's low-level task, ready to run.
pub struct LowLevel {
    /// The restorer (`None`: the decoded image itself is scored, brought to the target
    /// size), shared by the run's datasets that name the same one.
    pub restorer: Option<Arc<Stage>>,
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
        Self::shared(c, opts, &mut Stages::default())
    }

    /// As [`LowLevel::new`], taking the restorer from `stages` when an earlier dataset of
    /// the run loaded the same one (same model, or same files and seed): its sessions are
    /// created once per run, whatever the number of datasets using it (a MAXIM session
    /// takes about 80 s to create on CPU).
    pub fn shared(c: Option<&RestorerConfig>, opts: &RuntimeOptions, stages: &mut Stages) -> Result<Self, String> {
        let Some(c) = c else {
            return Ok(Self {
                restorer: None,
                tile: 0,
                overlap: 0,
                identity: "none".into(),
            });
        };
        c.check()?;
        let key = format!("{:?} {:?} {:?} {:?}", c.model, c.onnx, c.spec, c.seed);
        let (stage, identity) = match stages.0.get(&key) {
            Some(found) => found.clone(),
            None => {
                let (stage, identity) = match (&c.model, &c.onnx, &c.spec) {
                    (Some(name), ..) => {
                        let (model, sha) = load_manifest_model(name, opts)?;
                        let spec = RestorerSpec::builtin(name).ok_or_else(|| format!("no contract for `{name}`"))?;
                        (Stage::Direct(Restorer::new(model, spec)), format!("{name} sha256:{sha}"))
                    }
                    (None, Some(onnx), Some(spec_path)) => load_own(onnx, spec_path, c.seed, opts)?,
                    // `check` accepts only the two forms above.
                    _ => return Err("restorer: give `model`, or both `onnx` and `spec`".into()),
                };
                let loaded = (Arc::new(stage), identity);
                stages.0.insert(key, loaded.clone());
                loaded
            }
        };
        match stage.as_ref() {
            Stage::Direct(_) if c.seed.is_some() => {
                return Err("restorer: `seed` is for iterative restorers (a contract with an `[sde]` table)".into());
            }
            Stage::Direct(r) => check_tile(r.name(), c.tile, r.spec().size_multiple)?,
            Stage::Iterative(..) => {}
        }
        Ok(Self {
            restorer: Some(stage),
            tile: c.tile,
            overlap: c.overlap,
            identity: format!("{identity} tile {} overlap {}", c.tile, c.overlap),
        })
    }

    /// What every row that depends on the restorer records of it in its `preprocess` (an
    /// iterative restorer's seed), if anything.
    pub fn row_note(&self) -> Option<String> {
        match self.restorer.as_deref()? {
            Stage::Iterative(r, seed) => Some(format!(
                "restorer ir-sde {:?} {} steps, seed {seed}",
                r.spec().sde.sampler,
                r.spec().sde.steps
            )),
            Stage::Direct(_) => None,
        }
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

/// Your own restorer: a direct one (`RestorerSpec`) or, when the contract has an `[sde]`
/// table, an iterative one (with its context graph, relative to the contract). The
/// identity covers the graphs' and the contract's content (not their paths: the same model
/// found through another path keeps its cached rows) and the seed.
fn load_own(
    onnx: &std::path::Path,
    spec_path: &std::path::Path,
    seed: Option<u64>,
    opts: &RuntimeOptions,
) -> Result<(Stage, String), String> {
    let (model, table, text) = load_export::<toml::Table>(onnx, spec_path, opts)?;
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut h = blake3::Hasher::new();
    h.update(&read(onnx)?);
    h.update(text.as_bytes());
    let bad = |e: toml::de::Error| format!("{}: {}", spec_path.display(), e.message());
    let stage = if table.contains_key("sde") {
        let spec: IterativeSpec = table.try_into().map_err(bad)?;
        spec.sde.check().map_err(|m| format!("{}: [sde]: {m}", spec_path.display()))?;
        let context = match &spec.context {
            Some(c) => {
                let path = spec_path.parent().unwrap_or(std::path::Path::new(".")).join(&c.onnx);
                h.update(&read(&path)?);
                Some(Model::load(&path.display().to_string(), &path, opts).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        let seed = seed.unwrap_or(0);
        h.update(&seed.to_le_bytes());
        Stage::Iterative(IterativeRestorer::new(model, context, spec), seed)
    } else {
        Stage::Direct(Restorer::new(model, table.try_into().map_err(bad)?))
    };
    Ok((stage, format!("onnx+spec blake3:{}", &h.finalize().to_hex()[..32])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(model: Option<&str>, onnx: bool, spec: bool) -> RestorerConfig {
        RestorerConfig {
            model: model.map(String::from),
            onnx: onnx.then(|| "m.onnx".into()),
            spec: spec.then(|| "m.toml".into()),
            seed: None,
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
        let mut m = cfg(Some("maxim-deblurring"), false, false);
        assert!(m.check().is_ok(), "256 is a multiple of 64");
        m.tile = 200;
        assert!(m.check().unwrap_err().contains("multiple of its size multiple 64"));
        m.tile = 0;
        assert!(m.check().is_ok(), "whole image");
    }

    /// Datasets naming the same restorer share its sessions; another tiling is the same
    /// restorer (shared, with its own identity); another restorer is loaded on its own.
    #[test]
    fn one_restorer_is_loaded_once_per_run() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/demo-denoiser");
        let own = |tile: u32| RestorerConfig {
            model: None,
            onnx: Some(dir.join("denoiser.onnx")),
            spec: Some(dir.join("restorer.toml")),
            seed: None,
            tile,
            overlap: 16,
        };
        let opts = RuntimeOptions::default();
        let mut stages = Stages::default();
        let a = LowLevel::shared(Some(&own(256)), &opts, &mut stages).unwrap();
        let b = LowLevel::shared(Some(&own(128)), &opts, &mut stages).unwrap();
        let (ra, rb) = (a.restorer.as_ref().unwrap(), b.restorer.as_ref().unwrap());
        assert!(Arc::ptr_eq(ra, rb), "one session for both datasets");
        assert_ne!(a.identity, b.identity, "the tiling is part of the identity");
        let c = LowLevel::new(Some(&own(256)), &opts).unwrap();
        assert!(!Arc::ptr_eq(ra, c.restorer.as_ref().unwrap()), "another run, another session");
        assert_eq!(stages.0.len(), 1);
    }

    #[test]
    fn without_a_restorer_the_input_is_resized_to_the_target() {
        let ll = LowLevel::new(None, &RuntimeOptions::default()).unwrap();
        let out = ll.enhance(&RgbImage::new(4, 3), &RgbImage::new(16, 12)).unwrap();
        assert_eq!(out.dimensions(), (16, 12));
    }
}
