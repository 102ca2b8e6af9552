//! One row, step by step, as plain functions: load → pad → encode → decode → crop → the
//! optional stages (a low-level dataset's restorer; the run's tasks) → score → save. A
//! reference row skips the codec steps. [`top_up`] completes a stored row with the tasks it
//! lacks, decoding its stored stream instead of coding again. Nothing here knows about the journal, the cache or
//! threads: the driver ([`super`]) calls `compute` for the rows it needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use icmbench_codecs::Codec;
use icmbench_codecs::padding::{Padded, Padding, crop, pad_to_multiple};
use icmbench_datasets::ImageEntry;
use icmbench_metrics::Metric;
use icmbench_reports::store::{ResultRow, Status, write_atomic};
use image::RgbImage;

use super::plan::{Job, JobKind, Loaded};
use super::stages::StageClock;
use crate::tasks::detection::TaskStage;
use crate::tasks::restoration::LowLevel;

/// What every row of a run shares: the metrics, the padding policy, the tasks, where coded
/// streams and decoded images are kept.
pub(crate) struct RowContext<'a> {
    /// The run's metrics.
    pub metrics: &'a [Box<dyn Metric>],
    /// Padding for codecs that need size multiples.
    pub padding: &'a Padding,
    /// The run's tasks (empty without `[[tasks]]`).
    pub tasks: &'a [TaskStage],
    /// Where coded streams are kept (runs with tasks), for tasks added later.
    pub bitstreams: Option<&'a Path>,
    /// `--save-reconstructions`.
    pub save: Option<&'a Path>,
    /// Where the time goes, per stage.
    pub clock: &'a StageClock,
}

/// Computes the row of one job on a loaded image; `restore` is the dataset's restoration
/// stage (low-level datasets). Every failure becomes a failed row, never an error.
pub(crate) fn compute(ctx: &RowContext, dataset: &str, l: &Loaded, job: &Job, restore: Option<&LowLevel>) -> ResultRow {
    let img = &l.img;
    let (w, h) = img.image.dimensions();
    let mut row = ResultRow {
        image_hash: l.hash_for(job).to_string(),
        width: w,
        height: h,
        conversion: img.conversion.clone(),
        preprocess: l.preprocess_for(job, restore),
        ..blank_row(dataset, &img.id, job)
    };
    let scored = match (&job.kind, restore, &l.target) {
        (JobKind::Reference(r), Some(ll), Some(target)) => ctx
            .clock
            .time("restore", || ll.reference(*r, &img.image, target))
            .map(|out| (target, out)),
        // Reference rows exist only for low-level samples.
        (JobKind::Reference(_), ..) => Err("a reference row without a low-level sample".to_string()),
        (JobKind::Coded { codec, quality }, ..) => {
            code(&mut row, &img.image, codec.codec.as_ref(), *quality, ctx).and_then(|recon| match (restore, &l.target) {
                (Some(ll), Some(target)) => ctx.clock.time("restore", || ll.enhance(&recon, target)).map(|out| (target, out)),
                _ => Ok((&img.image, recon)),
            })
        }
    };
    match scored {
        Ok((reference, out)) => score(ctx, row, reference, out),
        Err(e) => fail(row, e),
    }
}

/// Pads, encodes, decodes and crops back: the decoded image, with the rate and the times
/// filled into `row` (bpp counts the source pixels, not the padded ones). The stream is kept
/// when the run keeps streams.
fn code(row: &mut ResultRow, img: &RgbImage, codec: &dyn Codec, quality: f64, ctx: &RowContext) -> Result<RgbImage, String> {
    let (w, h) = img.dimensions();
    let padded = ctx.clock.time("pad", || pad_to_multiple(img, codec.size_multiple(), ctx.padding));
    // The codec's own time: not that of rows its thread ran while waiting inside it.
    let (encoded, took) = ctx.clock.time_own(&format!("encode {}", row.codec_kind), || {
        codec.encode_with_estimate(&padded.image, quality)
    });
    let (bits, estimated_bits) = encoded.map_err(|e| format!("encode: {e}"))?;
    row.encode_ms = Some(took.as_secs_f64() * 1e3);
    row.bytes = Some(bits.len() as u64);
    let pixels = f64::from(w) * f64::from(h);
    row.bpp = Some(bits.len() as f64 * 8.0 / pixels);
    row.bpp_estimated = estimated_bits.map(|b| b / pixels);
    if let Some(dir) = ctx.bitstreams {
        let path = dir.join(row.key().file_name());
        ctx.clock
            .time("keep stream", || {
                write_atomic(&path, |f| {
                    std::io::Write::write_all(f, &bits).map_err(|source| icmbench_reports::ReportError::Io {
                        path: path.display().to_string(),
                        source,
                    })
                })
            })
            .map_err(|e| format!("keeping the stream: {e}"))?;
    }
    let (decoded, took) = ctx
        .clock
        .time_own(&format!("decode {}", row.codec_kind), || decode_back(codec, &bits, &padded, (w, h)));
    let decoded = decoded.map_err(|e| format!("decode: {e}"))?;
    row.decode_ms = Some(took.as_secs_f64() * 1e3);
    Ok(decoded)
}

/// Decodes a stream of the padded image and crops it back to the source's `(w, h)`.
fn decode_back(codec: &dyn Codec, bits: &[u8], padded: &Padded, (w, h): (u32, u32)) -> Result<RgbImage, icmbench_codecs::CodecError> {
    let (pw, ph) = padded.image.dimensions();
    Ok(crop(codec.decode(bits, pw, ph)?, padded.left, padded.top, w, h))
}

/// Fills the metrics (against `reference`), the detections and the saved image of a row
/// from the image that is scored: the decoded image, or a low-level task's output.
fn score(ctx: &RowContext, mut row: ResultRow, reference: &RgbImage, out: RgbImage) -> ResultRow {
    let mut errors = Vec::new();
    for m in ctx.metrics {
        match ctx.clock.time(&format!("metric {}", m.name()), || m.compute(reference, &out)) {
            Ok(v) => {
                row.metrics.insert(m.name().to_string(), v);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    run_tasks(&mut row, ctx.tasks.iter(), &out, ctx.clock);
    if let Some(dir) = ctx.save
        && let Err(e) = ctx.clock.time("save images", || save_scored(dir, &row, reference, &out))
    {
        errors.push(e);
    }
    if errors.is_empty() { row } else { fail(row, errors.join("; ")) }
}

/// Keeps the scored image of a row at [`reconstruction_path`] and, once per image, the
/// image it was scored against at [`reference_path`] (both PNG, written atomically: rows of
/// one image on other threads write the same reference).
fn save_scored(dir: &Path, row: &ResultRow, reference: &RgbImage, out: &RgbImage) -> Result<(), String> {
    // PNG through the project's one PNG writer (the lossless `png` codec).
    let save = |path: &Path, img: &RgbImage| -> Result<(), String> {
        let bytes = icmbench_codecs::png::Png
            .encode(img, 0.0)
            .map_err(|e| format!("saving reconstruction: {e}"))?;
        write_atomic(path, |f| {
            std::io::Write::write_all(f, &bytes).map_err(|e| icmbench_reports::ReportError::Schema {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        })
        .map_err(|e| format!("saving reconstruction: {e}"))
    };
    save(&reconstruction_path(dir, &row.dataset, &row.codec, row.quality, &row.image), out)?;
    let reference_file = reference_path(dir, &row.dataset, &row.image);
    if !reference_file.exists() {
        save(&reference_file, reference)?;
    }
    Ok(())
}

/// Gives the scored image to each task; each output (or its error) goes into the row.
fn run_tasks<'a>(row: &mut ResultRow, tasks: impl Iterator<Item = &'a TaskStage>, scored: &RgbImage, clock: &StageClock) {
    for t in tasks {
        let out = clock.time(&format!("task {}", t.name()), || t.run((&row.dataset, &row.image), scored));
        row.tasks.insert(t.name().to_string(), out);
    }
}

/// Largest stored stream read back for [`top_up`]: far above any coded image.
const MAX_STREAM_BYTES: u64 = 1 << 30;

/// A stored row of a coded job completed with the tasks it lacks (`missing`): its stream,
/// kept by the run that coded it, is decoded (not coded again) and the decoded image given
/// to those tasks only. `None` when the stream is not there or does not decode: the row is
/// then computed anew.
pub(crate) fn top_up(ctx: &RowContext, mut row: ResultRow, l: &Loaded, job: &Job, missing: &[&TaskStage]) -> Option<ResultRow> {
    let JobKind::Coded { codec, .. } = &job.kind else { return None };
    let path = ctx.bitstreams?.join(row.key().file_name());
    let len = std::fs::metadata(&path).ok()?.len();
    if len > MAX_STREAM_BYTES || Some(len) != row.bytes {
        return None;
    }
    let bits = std::fs::read(&path).ok()?;
    let img = &l.img.image;
    let padded = pad_to_multiple(img, codec.codec.size_multiple(), ctx.padding);
    let out = decode_back(codec.codec.as_ref(), &bits, &padded, img.dimensions())
        .map_err(|e| tracing::warn!("{}: the stored stream does not decode ({e}); coding again", path.display()))
        .ok()?;
    run_tasks(&mut row, missing.iter().copied(), &out, ctx.clock);
    Some(row)
}

/// The failed row of an image that could not be read (or of a job not run).
pub(crate) fn failed_row(dataset: &str, entry: &ImageEntry, job: &Job, error: String) -> ResultRow {
    let row = ResultRow {
        image_hash: format!("unreadable:{dataset}/{}", entry.id),
        ..blank_row(dataset, &entry.id, job)
    };
    fail(row, error)
}

/// The row of a job before anything is known of its image: its slot and codec, status
/// `ok`, no values.
fn blank_row(dataset: &str, image: &str, job: &Job) -> ResultRow {
    ResultRow {
        dataset: dataset.to_string(),
        image: image.to_string(),
        image_hash: String::new(),
        width: 0,
        height: 0,
        conversion: String::new(),
        preprocess: String::new(),
        codec: job.id().to_string(),
        codec_kind: job.kind_name(),
        codec_version: job.version.clone(),
        quality: job.quality(),
        status: Status::Ok,
        error: None,
        bytes: None,
        bpp: None,
        bpp_estimated: None,
        encode_ms: None,
        decode_ms: None,
        metrics: BTreeMap::new(),
        tasks: BTreeMap::new(),
        provenance: None,
    }
}

fn fail(mut row: ResultRow, error: String) -> ResultRow {
    row.status = Status::Failed;
    row.error = Some(error);
    row
}

/// Where `--save-reconstructions` puts a scored image (decoded, or a low-level task's
/// output): `DIR/<dataset>/<codec>/q<quality>/<image id>.png`. The image id keeps its own
/// extension (`x.jpg` → `x.jpg.png`), so two sources never share a file. Dataset names and
/// codec ids are checked by the config; image ids are paths relative to the dataset
/// folder, without `..`.
pub fn reconstruction_path(dir: &Path, dataset: &str, codec: &str, quality: f64, image_id: &str) -> PathBuf {
    dir.join(dataset)
        .join(codec)
        .join(format!("q{}", icmbench_codecs::external::format_quality(quality)))
        .join(format!("{image_id}.png"))
}

/// Where a saved image's reference is kept (the image it was scored against: the
/// preprocessed original, or a low-level task's ideal image):
/// `DIR/<dataset>/.reference/<image id>.png`. Codec ids never start with `.`, so this
/// folder is never a codec's.
pub fn reference_path(dir: &Path, dataset: &str, image_id: &str) -> PathBuf {
    dir.join(dataset).join(REFERENCE_DIR).join(format!("{image_id}.png"))
}

/// The folder of [`reference_path`] in a dataset's reconstructions.
pub const REFERENCE_DIR: &str = ".reference";
