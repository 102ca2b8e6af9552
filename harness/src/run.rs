//! Running a plan: every image is read once and shared by all (codec, quality) tasks;
//! tasks run in parallel on a rayon pool; finished rows go to the journal at once; rows
//! already in the store (same image content, codec id, codec version, quality, and all
//! requested metrics present) are reused, not recomputed. Low-level datasets (LL-ICM) add
//! their restorer between decoding and scoring, and two reference rows per image (see
//! [`crate::restoration`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use icmbench_codecs::padding::{crop, pad_to_multiple};
use icmbench_datasets::degrade::Degradation;
use icmbench_datasets::lowlevel::to_target_size;
use icmbench_datasets::paired::{Pair, PairError};
use icmbench_datasets::{DatasetError, ImageEntry, LoadedImage, Preprocess};
use icmbench_metrics::Metric;
use icmbench_reports::ReportError;
use icmbench_reports::results::{Journal, ResultRow, RowId, RowKey, STATUS_FAILED, STATUS_OK};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use crate::config::{Plan, PreparedCodec};
use crate::restoration::{LowLevel, REF_DEGRADED, REF_UNCOMPRESSED, REFERENCE_KIND};
use crate::store::{RUN_META, Store};
use crate::task::{GroundTruth, TaskPlan};
use icmbench_models::detect::Detection;
use image::RgbImage;

/// Errors that stop a run (row-level failures never do).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A dataset folder could not be listed.
    #[error("dataset `{name}`: {error}")]
    Dataset {
        /// Dataset name.
        name: String,
        /// The error (in the message, not a separate source, so it prints once).
        error: icmbench_datasets::DatasetError,
    },
    /// The degraded and ideal folders of a paired dataset do not match.
    #[error("dataset `{name}`: {error}")]
    Pairs {
        /// Dataset name.
        name: String,
        /// The error (in the message, not a separate source, so it prints once).
        error: PairError,
    },
    /// A dataset's restorer could not be loaded.
    #[error("dataset `{name}`: {message}")]
    Restorer {
        /// Dataset name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The result store could not be read or written (the OS error says why: a full disk,
    /// permissions...). Rows already in the journal are kept for the next run.
    #[error(transparent)]
    Store(#[from] ReportError),
    /// Two rows of this run share one (dataset, image, codec, quality) slot; nothing is
    /// stored (the journal keeps the rows).
    #[error("two rows of this run fill one slot ({0}); nothing was merged or dropped, the journal keeps both")]
    DuplicateSlot(String),
    /// Another run holds the output folder.
    #[error(transparent)]
    Lock(#[from] crate::store::LockError),
    /// A metric name is not in the registry.
    #[error(transparent)]
    Metric(#[from] icmbench_metrics::MetricError),
    /// The task's detector or ground truth could not be prepared or written.
    #[error("task: {0}")]
    Task(String),
    /// The thread pool could not be built.
    #[error("cannot start {jobs} worker threads: {message}")]
    Pool {
        /// Requested threads.
        jobs: usize,
        /// The error.
        message: String,
    },
}

/// Options of one run that are not part of the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads (overrides the config).
    pub jobs: Option<usize>,
    /// Folder to keep decoded images in.
    pub save_reconstructions: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
    /// ONNX Runtime device (overrides the config).
    pub device: Option<icmbench_models::Device>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The rows of this plan, in plan order (dataset, image, codec, quality).
    pub rows: Vec<ResultRow>,
    /// Rows computed in this run.
    pub computed: usize,
    /// Rows reused from the store.
    pub reused: usize,
}

impl RunOutcome {
    /// The failed rows of this plan.
    pub fn failures(&self) -> Vec<&ResultRow> {
        self.rows.iter().filter(|r| !r.is_ok()).collect()
    }
}

/// A row with its place in plan order (dataset, image, codec, quality) and whether it was
/// computed in this run.
struct Produced {
    order: (usize, usize, usize, usize),
    row: ResultRow,
    computed: bool,
}

struct Task<'a> {
    codec_index: usize,
    quality_index: usize,
    job: Job<'a>,
}

/// What a task does: code the image at one quality, or make a low-level reference row.
enum Job<'a> {
    Code { codec: &'a PreparedCodec, quality: f64 },
    Reference(&'static str),
}

impl Task<'_> {
    fn id(&self) -> &str {
        match &self.job {
            Job::Code { codec, .. } => &codec.id,
            Job::Reference(r) => r,
        }
    }

    fn kind(&self) -> String {
        match &self.job {
            Job::Code { codec, .. } => codec.codec.kind().to_string(),
            Job::Reference(_) => REFERENCE_KIND.to_string(),
        }
    }

    fn version(&self) -> String {
        match &self.job {
            Job::Code { codec, .. } => codec.codec.version(),
            Job::Reference(_) => crate::restoration::REFERENCE_VERSION.to_string(),
        }
    }

    fn quality(&self) -> f64 {
        match &self.job {
            Job::Code { quality, .. } => *quality,
            Job::Reference(_) => 0.0,
        }
    }
}

/// Where an image of a dataset comes from.
enum Source {
    /// An image file, preprocessed.
    Plain(ImageEntry, Preprocess),
    /// A clean image file, preprocessed and degraded (low-level, synthetic).
    Synthetic(ImageEntry, Preprocess, Degradation, u64),
    /// A degraded file and its ideal target (low-level, paired), and the `max_pixels` limit.
    Paired(Pair, u64),
}

/// A loaded image; low-level samples carry their ideal target.
struct Loaded {
    /// The image; for a low-level sample its `hash` covers the pair and the restorer.
    img: LoadedImage,
    target: Option<RgbImage>,
    /// The hash of the pair alone (low-level samples; equal to `img.hash` otherwise).
    pair_hash: String,
}

impl Loaded {
    /// The image hash in the key of a task's row: the no-task reference does not depend on
    /// the restorer, every other row does.
    fn hash_for(&self, t: &Task) -> &str {
        if t.id() == REF_DEGRADED { &self.pair_hash } else { &self.img.hash }
    }
}

impl Source {
    fn entry(&self) -> &ImageEntry {
        match self {
            Source::Plain(e, _) | Source::Synthetic(e, ..) => e,
            Source::Paired(p, _) => &p.input,
        }
    }

    /// Loads the image; a low-level sample's hash also covers its restorer (`identity`).
    fn load(&self, identity: Option<&str>) -> Result<Loaded, DatasetError> {
        let (mut img, target) = match self {
            Source::Plain(e, pre) => (icmbench_datasets::load_image(e, pre)?, None),
            Source::Synthetic(e, pre, d, seed) => {
                let s = icmbench_datasets::lowlevel::synthetic(e, pre, d, *seed)?;
                (s.input, Some(s.target))
            }
            Source::Paired(p, max_pixels) => {
                let s = icmbench_datasets::lowlevel::paired(p, *max_pixels)?;
                (s.input, Some(s.target))
            }
        };
        let pair_hash = img.hash.clone();
        if let Some(id) = identity {
            img.hash = icmbench_datasets::combine_hashes(&[&img.hash, id]);
        }
        Ok(Loaded { img, target, pair_hash })
    }
}

/// Most worker threads a run uses, as a multiple of the machine's cores: more only adds
/// memory (each job holds its images and metric planes) and process ids.
pub const MAX_JOBS_PER_CORE: usize = 4;

/// The worker threads a run uses: the request (or all cores), capped at
/// [`MAX_JOBS_PER_CORE`] × cores with a warning.
pub fn effective_jobs(requested: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let cap = cores * MAX_JOBS_PER_CORE;
    match requested {
        Some(n) if n > cap => {
            tracing::warn!("{n} jobs asked for, but this machine has {cores} cores: using {cap} ({MAX_JOBS_PER_CORE} per core)");
            cap
        }
        Some(n) => n.max(1),
        None => cores,
    }
}

/// Runs the plan, writing results into its output folder (which it locks for the whole
/// run: one writer per folder).
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let store = Store::new(&plan.output);
    let _lock = store.lock()?;
    let mut runtime = plan.runtime;
    if let Some(d) = opts.device {
        runtime.device = d;
    }
    for c in &plan.codecs {
        c.codec.set_runtime_options(runtime);
    }
    let task = match &plan.task {
        Some(t) => Some(TaskPlan::new(t, &runtime).map_err(RunError::Task)?),
        None => None,
    };
    let uncompressed: Mutex<Vec<Uncompressed>> = Mutex::new(Vec::new());
    let metrics: Vec<Box<dyn Metric>> = plan
        .metrics
        .iter()
        .map(|m| icmbench_metrics::by_name(m, &runtime))
        .collect::<Result<_, _>>()?;
    let mut images: Vec<(usize, String, Source)> = Vec::new();
    let mut lowlevel: Vec<Option<LowLevel>> = Vec::new();
    for (di, d) in plan.datasets.iter().enumerate() {
        let pre = Preprocess {
            max_side: d.max_side,
            fit: d.fit,
            max_pixels: d.max_pixels.unwrap_or(icmbench_datasets::DEFAULT_MAX_PIXELS),
        };
        let mut sources: Vec<Source> = match (&d.target, &d.degradation) {
            (Some(target), _) => icmbench_datasets::paired::pair_folders(&d.path, target)
                .map_err(|error| RunError::Pairs {
                    name: d.name.clone(),
                    error,
                })?
                .into_iter()
                .map(|p| Source::Paired(p, pre.max_pixels))
                .collect(),
            (None, scan) => icmbench_datasets::scan_folder(&d.path)
                .map_err(|error| RunError::Dataset {
                    name: d.name.clone(),
                    error,
                })?
                .into_iter()
                .map(|e| match scan {
                    Some(deg) => Source::Synthetic(e, pre, deg.clone(), d.seed.unwrap_or(0)),
                    None => Source::Plain(e, pre),
                })
                .collect(),
        };
        if let Some(limit) = d.limit {
            sources.truncate(limit);
        }
        lowlevel.push(if d.is_lowlevel() {
            Some(LowLevel::new(d.restorer.as_ref(), &runtime).map_err(|message| RunError::Restorer {
                name: d.name.clone(),
                message,
            })?)
        } else {
            None
        });
        images.extend(sources.into_iter().map(|s| (di, d.name.clone(), s)));
    }
    let tasks: Vec<Task> = plan
        .codecs
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| {
            c.qualities.iter().enumerate().map(move |(qi, q)| Task {
                codec_index: ci,
                quality_index: qi,
                job: Job::Code { codec: c, quality: *q },
            })
        })
        .collect();
    // Low-level reference rows, after the codecs in plan order.
    let references: Vec<Task> = [REF_UNCOMPRESSED, REF_DEGRADED]
        .into_iter()
        .enumerate()
        .map(|(i, r)| Task {
            codec_index: plan.codecs.len() + i,
            quality_index: 0,
            job: Job::Reference(r),
        })
        .collect();
    // The tasks of each dataset: the codec points, then its reference rows.
    let dataset_tasks: Vec<Vec<&Task>> = lowlevel
        .iter()
        .map(|ll| {
            let extra = references
                .iter()
                .filter(|t| ll.as_ref().is_some_and(|ll| ll.restorer.is_some() || t.id() != REF_UNCOMPRESSED));
            tasks.iter().chain(extra).collect()
        })
        .collect();

    let previous = store.load()?;
    let done: HashMap<RowKey, &ResultRow> = previous.iter().filter(|r| r.is_ok()).map(|r| (r.key(), r)).collect();
    let journal = Mutex::new(store.journal()?);
    let journal_error: Mutex<Option<ReportError>> = Mutex::new(None);
    let stop = AtomicBool::new(false);

    let total: u64 = images.iter().map(|(di, ..)| dataset_tasks[*di].len() as u64).sum();
    let bar = if opts.progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows ({eta} left) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let jobs = effective_jobs(opts.jobs.or(plan.jobs));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| RunError::Pool {
            jobs,
            message: e.to_string(),
        })?;

    let ctx = Ctx {
        plan,
        metrics: &metrics,
        done: &done,
        journal: &journal,
        journal_error: &journal_error,
        stop: &stop,
        bar: &bar,
        save: opts.save_reconstructions.as_deref(),
        task: task.as_ref(),
    };
    let mut produced: Vec<Produced> = pool.install(|| {
        images
            .par_iter()
            .enumerate()
            .flat_map_iter(|(ii, (di, name, source))| {
                if stop.load(Ordering::Relaxed) {
                    // The journal failed: load and compute nothing more.
                    return Vec::new();
                }
                let entry = source.entry();
                let ll = lowlevel[*di].as_ref();
                let loaded = source.load(ll.map(|l| l.identity.as_str()));
                if let Err(e) = &loaded {
                    tracing::warn!("{e}");
                }
                if let (Some(t), Ok(Loaded { img, .. })) = (&task, &loaded)
                    && t.ground_truth == GroundTruth::Pseudo
                {
                    match t.detector.detect(&img.image) {
                        Ok(d) => {
                            if let Ok(mut u) = uncompressed.lock() {
                                u.push((*di, entry.id.clone(), img.image.width(), img.image.height(), d));
                            }
                        }
                        Err(e) => tracing::warn!("{}: detection on the uncompressed image: {e}", entry.path.display()),
                    }
                }
                let out: Vec<_> = dataset_tasks[*di]
                    .par_iter()
                    .map(|t| {
                        let (row, computed) = ctx.task(name, entry, &loaded, t, ll);
                        Produced {
                            order: (*di, ii, t.codec_index, t.quality_index),
                            row,
                            computed,
                        }
                    })
                    .collect();
                out
            })
            .collect()
    });
    bar.finish_and_clear();
    if let Some(e) = journal_error.lock().map(|mut g| g.take()).unwrap_or(None) {
        return Err(e.into());
    }
    produced.sort_by_key(|p| p.order);
    let computed = produced.iter().filter(|p| p.computed).count();
    let rows: Vec<ResultRow> = produced.into_iter().map(|p| p.row).collect();
    let table = final_table(&rows, previous)?;
    store.finish(&table)?;
    write_meta(&store, plan, &lowlevel, &rows, computed)?;
    if let Some(t) = &task {
        write_ground_truths(plan, t, uncompressed.into_inner().unwrap_or_default())?;
    }
    Ok(RunOutcome {
        reused: rows.len() - computed,
        computed,
        rows,
    })
}

/// Detections on an uncompressed image: dataset index, image id, width, height, boxes.
type Uncompressed = (usize, String, u32, u32, Vec<Detection>);

/// Writes `ground_truth/<dataset>.json` for every dataset: the pseudo ground truth from the
/// uncompressed images, or a copy of the dataset's annotations.
fn write_ground_truths(
    plan: &Plan,
    task: &TaskPlan,
    mut uncompressed: Vec<(usize, String, u32, u32, Vec<Detection>)>,
) -> Result<(), RunError> {
    let dir = plan.output.join(crate::task::GT_DIR);
    uncompressed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (di, d) in plan.datasets.iter().enumerate() {
        let path = dir.join(format!("{}.json", d.name));
        match task.ground_truth {
            GroundTruth::Pseudo => {
                let images: Vec<_> = uncompressed
                    .iter()
                    .filter(|u| u.0 == di)
                    .enumerate()
                    .map(|(i, u)| (i as u64 + 1, u.1.clone(), u.2, u.3, u.4.clone()))
                    .collect();
                let doc = crate::task::pseudo_ground_truth(&images, task.pseudo_threshold, task.detector.name());
                icmbench_reports::results::write_json(&path, &doc)?;
            }
            GroundTruth::Coco => {
                let src = d
                    .annotations
                    .as_ref()
                    .ok_or_else(|| RunError::Task(format!("dataset `{}` has no annotations", d.name)))?;
                let text = icmbench_models::textfile::read_text_capped(src, icmbench_models::textfile::DATA_JSON_CAP)
                    .map_err(|e| RunError::Task(e.to_string()))?;
                icmbench_reports::results::write_text(&path, &text)?;
            }
        }
    }
    Ok(())
}

/// The table a run stores: every row of this plan (one per slot: a plan never fills a slot
/// twice), then the earlier rows of slots this plan did not touch. A slot this plan filled
/// drops its earlier row (another codec version, restorer, seed...), so reports never
/// average the two; rows of different slots are all kept, even with identical pixels.
///
/// A plan that produced two rows for one slot (which config validation rules out: unique
/// dataset names, image ids, codec ids and qualities) is an error, never a silent merge.
pub fn final_table(rows: &[ResultRow], previous: Vec<ResultRow>) -> Result<Vec<ResultRow>, RunError> {
    let mut filled: HashSet<RowId> = HashSet::with_capacity(rows.len());
    for r in rows {
        if !filled.insert(r.id()) {
            return Err(RunError::DuplicateSlot(format!(
                "{}/{} {} q={}",
                r.dataset, r.image, r.codec, r.quality
            )));
        }
    }
    let mut all = rows.to_vec();
    all.extend(previous.into_iter().filter(|r| !filled.contains(&r.id())));
    Ok(all)
}

struct Ctx<'a> {
    plan: &'a Plan,
    metrics: &'a [Box<dyn Metric>],
    done: &'a HashMap<RowKey, &'a ResultRow>,
    journal: &'a Mutex<Journal>,
    journal_error: &'a Mutex<Option<ReportError>>,
    /// Set when the journal cannot be written: remaining tasks are skipped, and the run
    /// stops with the OS error.
    stop: &'a AtomicBool,
    bar: &'a ProgressBar,
    save: Option<&'a Path>,
    task: Option<&'a TaskPlan>,
}

impl Ctx<'_> {
    /// Produces the row of one task; the flag says whether it was computed (not reused).
    fn task(
        &self,
        dataset: &str,
        entry: &ImageEntry,
        loaded: &Result<Loaded, DatasetError>,
        t: &Task,
        ll: Option<&LowLevel>,
    ) -> (ResultRow, bool) {
        let version = t.version();
        if self.stop.load(Ordering::Relaxed) {
            // The journal failed: nothing computed now could be kept, so compute nothing.
            return (
                failed_row(dataset, entry, t, version, "not run: the journal could not be written".into()),
                false,
            );
        }
        let row = match loaded {
            Err(e) => failed_row(dataset, entry, t, version, e.to_string()),
            Ok(l) => {
                let key = RowKey::new(l.hash_for(t), t.id(), &version, t.quality());
                if let Some(prev) = self
                    .done
                    .get(&key)
                    .filter(|p| self.metrics.iter().all(|m| p.metrics.contains_key(m.name())))
                    .filter(|p| self.task.is_none() || p.detections.is_some())
                {
                    self.bar.inc(1);
                    let mut row = (*prev).clone();
                    row.dataset = dataset.to_string();
                    row.image = entry.id.clone();
                    row.metrics.retain(|k, _| self.metrics.iter().any(|m| m.name() == k));
                    return (row, false);
                }
                self.compute(dataset, l, t, version, ll)
            }
        };
        tracing::debug!("computed {dataset}/{} {} q={}: {}", row.image, row.codec, row.quality, row.status);
        if let Ok(mut j) = self.journal.lock()
            && !self.stop.load(Ordering::Relaxed)
            && let Err(e) = j.append(&row)
        {
            self.stop.store(true, Ordering::Relaxed);
            if let Ok(mut slot) = self.journal_error.lock() {
                slot.get_or_insert(e);
            }
        }
        if !row.is_ok() {
            self.bar.suspend(|| {
                tracing::warn!(
                    "{dataset}/{} {} q={}: {}",
                    row.image,
                    row.codec,
                    row.quality,
                    row.error.as_deref().unwrap_or("")
                );
            });
        }
        self.bar.inc(1);
        (row, true)
    }

    fn compute(&self, dataset: &str, l: &Loaded, t: &Task, version: String, ll: Option<&LowLevel>) -> ResultRow {
        let img = &l.img;
        let (w, h) = img.image.dimensions();
        let mut row = ResultRow {
            image_hash: l.hash_for(t).to_string(),
            width: w,
            height: h,
            conversion: img.conversion.clone(),
            preprocess: img.preprocess.clone(),
            ..blank_row(dataset, &img.id, t, version)
        };
        let (quality, codec) = match &t.job {
            Job::Code { codec, quality } => (*quality, &codec.codec),
            Job::Reference(r) => {
                // Reference rows exist only for low-level samples.
                let (Some(ll), Some(target)) = (ll, &l.target) else {
                    return fail(row, "a reference row without a low-level sample".into());
                };
                let out = if *r == REF_UNCOMPRESSED {
                    ll.enhance(&img.image, target)
                } else {
                    Ok(to_target_size(&img.image, target))
                };
                return match out {
                    Ok(out) => self.score(row, target, out),
                    Err(e) => fail(row, e),
                };
            }
        };
        let padded = pad_to_multiple(&img.image, codec.size_multiple(), &self.plan.padding);
        let (pw, ph) = padded.image.dimensions();
        let start = Instant::now();
        let (bits, estimated_bits) = match codec.encode_with_estimate(&padded.image, quality) {
            Ok(b) => b,
            Err(e) => return fail(row, format!("encode: {e}")),
        };
        row.encode_ms = Some(start.elapsed().as_secs_f64() * 1e3);
        row.bytes = Some(bits.len() as u64);
        let pixels = f64::from(w) * f64::from(h);
        row.bpp = Some(bits.len() as f64 * 8.0 / pixels);
        row.bpp_estimated = estimated_bits.map(|b| b / pixels);
        let start = Instant::now();
        let decoded = match codec.decode(&bits, pw, ph) {
            Ok(d) => d,
            Err(e) => return fail(row, format!("decode: {e}")),
        };
        row.decode_ms = Some(start.elapsed().as_secs_f64() * 1e3);
        let recon = crop(decoded, padded.left, padded.top, w, h);
        match (ll, &l.target) {
            (Some(ll), Some(target)) => match ll.enhance(&recon, target) {
                Ok(enhanced) => self.score(row, target, enhanced),
                Err(e) => fail(row, e),
            },
            _ => self.score(row, &img.image, recon),
        }
    }

    /// Fills the metrics (against `reference`), the detections and the saved image of a row
    /// from the image that is scored: the decoded image, or a low-level task's output.
    fn score(&self, mut row: ResultRow, reference: &RgbImage, recon: RgbImage) -> ResultRow {
        let mut errors = Vec::new();
        for m in self.metrics {
            match m.compute(reference, &recon) {
                Ok(v) => {
                    row.metrics.insert(m.name().to_string(), v);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        if let Some(task) = self.task {
            match task.detector.detect(&recon) {
                Ok(d) => row.detections = Some(crate::task::detections_json(&d)),
                Err(e) => errors.push(format!("detection: {e}")),
            }
        }
        if let Some(dir) = self.save {
            let path = reconstruction_path(dir, &row.dataset, &row.codec, row.quality, &row.image);
            let saved = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .map_err(|e| e.to_string())
                .and_then(|()| recon.save(&path).map_err(|e| e.to_string()));
            if let Err(e) = saved {
                errors.push(format!("saving reconstruction {}: {e}", path.display()));
            }
        }
        if errors.is_empty() { row } else { fail(row, errors.join("; ")) }
    }
}

/// The failed row of an image that could not be read (or of a task not run).
fn failed_row(dataset: &str, entry: &ImageEntry, t: &Task, version: String, error: String) -> ResultRow {
    let row = ResultRow {
        image_hash: format!("unreadable:{dataset}/{}", entry.id),
        ..blank_row(dataset, &entry.id, t, version)
    };
    fail(row, error)
}

/// The row of a task before anything is known of its image: its slot and codec, status
/// `ok`, no values.
fn blank_row(dataset: &str, image: &str, t: &Task, version: String) -> ResultRow {
    ResultRow {
        dataset: dataset.to_string(),
        image: image.to_string(),
        image_hash: String::new(),
        width: 0,
        height: 0,
        conversion: String::new(),
        preprocess: String::new(),
        codec: t.id().to_string(),
        codec_kind: t.kind(),
        codec_version: version,
        quality: t.quality(),
        status: STATUS_OK.into(),
        error: None,
        bytes: None,
        bpp: None,
        bpp_estimated: None,
        encode_ms: None,
        decode_ms: None,
        metrics: BTreeMap::new(),
        detections: None,
    }
}

fn fail(mut row: ResultRow, error: String) -> ResultRow {
    row.status = STATUS_FAILED.into();
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

#[derive(Serialize)]
struct RunMeta<'a> {
    config: String,
    icmbench_version: &'static str,
    finished_unix_s: u64,
    metrics: Vec<MetricMeta>,
    codecs: Vec<CodecMeta<'a>>,
    datasets: Vec<DatasetMeta<'a>>,
    padding: icmbench_codecs::padding::Padding,
    rows: usize,
    computed: usize,
    failed: usize,
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

fn write_meta(store: &Store, plan: &Plan, lowlevel: &[Option<LowLevel>], rows: &[ResultRow], computed: usize) -> Result<(), ReportError> {
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
            .zip(lowlevel)
            .map(|(d, r)| DatasetMeta {
                name: &d.name,
                path: &d.path,
                target: d.target.as_deref(),
                degradation: d.degradation.as_ref().map(|x| format!("{x:?}")),
                seed: d.degradation.as_ref().map(|_| d.seed.unwrap_or(0)),
                restorer: r.as_ref().map(|l| l.identity.as_str()),
            })
            .collect(),
        padding: plan.padding,
        rows: rows.len(),
        computed,
        failed: rows.iter().filter(|r| !r.is_ok()).count(),
    };
    icmbench_reports::results::write_text(&store.path(crate::store::CONFIG_COPY), &plan.config_text)?;
    icmbench_reports::results::write_json(&store.path(RUN_META), &meta)
}
