//! Running a plan (or one shard of it), the stateful driver over the plain row steps of
//! [`row`]: every image is read once and shared by all its jobs (codec points, reference
//! rows); jobs run in parallel on a rayon pool; finished rows go to the journal at once;
//! rows already in the store (same image content, codec id, codec version, quality, and all
//! requested metrics present) are reused, not recomputed; a reused row that lacks some
//! task's output (a task added to the config, or its model changed) gets only that output,
//! from its stored stream decoded again, never coded again.
//!
//! | module | what lives there |
//! |---|---|
//! | `plan` | the matrix: each dataset's images, restorer and jobs |
//! | [`row`] | one row: pad → encode → decode → crop → stages → score → save |
//! | `meta` | `run.json` |
//! | `sharding` | `shard.json` of a shard's store (`--shard K/N`) |
//! | [`stages`] | the thread-seconds spent per stage (`run --stages`) |
//! | [`summary`] | the per-point summary printed after a run (with mAP per point) |
//! | this file | the driver: lock, cache, journal, thread pool, progress, final table |

mod meta;
mod plan;
pub mod row;
mod sharding;
pub mod stages;
pub mod summary;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use icmbench_datasets::{DatasetError, ImageEntry};
use icmbench_metrics::Metric;
use icmbench_reports::ReportError;
use icmbench_reports::store::shard::{Provenance, Shard};
use icmbench_reports::store::{Journal, ResultRow, RowId, RowKey};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::config::Plan;
use crate::tasks::detection::TaskStage;
use crate::tasks::restoration::LowLevel;
use icmbench_reports::store::Store;
use plan::{DatasetJobs, Job, Loaded, Source};
use row::RowContext;
pub use row::{REFERENCE_DIR, reconstruction_path, reference_path};
use stages::StageClock;
pub use summary::{Summary, summarise};

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
        error: icmbench_datasets::paired::PairError,
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
    Lock(#[from] icmbench_reports::store::LockError),
    /// A metric name is not in the catalogue, or a metric could not be built.
    #[error(transparent)]
    Metric(#[from] icmbench_metrics::MetricError),
    /// A task's model or ground truth could not be prepared or written.
    #[error(transparent)]
    Task(#[from] crate::tasks::detection::TaskError),
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
    /// Folder to keep scored images in (overrides the config's `save_reconstructions`,
    /// which keeps them in `OUTPUT/reconstructions/`).
    pub save_reconstructions: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
    /// Run only this shard of the images, into its own store (`shards/K-of-N/`).
    pub shard: Option<Shard>,
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
    /// The shard run (`None`: the whole plan).
    pub shard: Option<Shard>,
    /// The store written: the output folder, or the shard's store in it.
    pub store: PathBuf,
    /// Where the time went: thread-seconds per stage, the longest first.
    pub stages: Vec<stages::StageTime>,
    /// Wall-clock seconds of the whole run, set-up and writing included.
    pub wall_seconds: f64,
    /// Wall-clock seconds of the rows (the parallel part): the row stages' seconds divided
    /// by this × `threads` is how busy the threads were.
    pub rows_seconds: f64,
    /// The worker threads it used.
    pub threads: usize,
    /// Where its ONNX models ran (every session of the run; no fallback).
    pub device: icmbench_models::Device,
    /// How busy the threads were while rows ran: the process's CPU seconds (every thread:
    /// workers, codec and ONNX Runtime threads) over `rows_seconds` × `threads` (`None` when
    /// no row was computed or the CPU time is unknown).
    pub busy: Option<f64>,
}

impl RunOutcome {
    /// The failed rows of this plan.
    pub fn failures(&self) -> Vec<&ResultRow> {
        self.rows.iter().filter(|r| !r.is_ok()).collect()
    }

    /// The task outputs that failed on rows that did not (the row keeps its rate, metrics
    /// and other tasks): (row, the task's error, which names the task).
    pub fn task_failures(&self) -> Vec<(&ResultRow, &str)> {
        self.rows
            .iter()
            .filter(|r| r.is_ok())
            .flat_map(|r| r.tasks.values().filter_map(move |o| o.error.as_deref().map(|e| (r, e))))
            .collect()
    }
}

/// Most worker threads a run uses, as a multiple of the machine's cores: more only adds
/// memory (each job holds its images and metric planes) and process ids.
pub const MAX_JOBS_PER_CORE: usize = 4;

/// The run's ONNX Runtime options for `threads` workers: with a set number of intra-op
/// threads, up to one session per worker, so that workers running the same model do not
/// wait for each other (each session brings its own intra-op threads); with ONNX
/// Runtime's default (every core for each run), one session, whose runs are serialised.
pub fn worker_runtime(runtime: icmbench_models::RuntimeOptions, threads: usize) -> icmbench_models::RuntimeOptions {
    let sessions = if runtime.intra_threads > 0 { threads } else { 1 };
    icmbench_models::RuntimeOptions { sessions, ..runtime }
}

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

/// A row with its place in plan order (dataset, image, codec, quality) and whether it was
/// computed in this run.
struct Produced {
    order: (usize, usize, usize, usize),
    row: ResultRow,
    computed: bool,
}

/// Runs the plan, writing results into its output folder (which it locks for the whole
/// run: one writer per folder); with `opts.shard`, only that shard's images, into the
/// shard's own store in the output folder (`shards/K-of-N/`, locked the same way), recorded
/// in its `shard.json` as running, then finished.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    // Stages before and after the rows, and the rows' own stages (which run in parallel).
    let clock = StageClock::default();
    let rows_clock = StageClock::default();
    let store = Store::new(&opts.shard.map_or_else(|| plan.output.clone(), |s| s.dir(&plan.output)));
    let _lock = store.lock()?;
    let threads = effective_jobs(opts.jobs.or(plan.jobs));
    let runtime = worker_runtime(plan.runtime, threads);
    let (tasks, metrics) = clock.time("load models", || load_models(plan, &runtime))?;
    let bitstreams = (!tasks.is_empty()).then(|| store.path(icmbench_reports::store::BITSTREAMS_DIR));
    let mut matrix = clock.time("list datasets", || plan::matrix(plan, &runtime))?;
    let origin = crate::cluster::provenance(crate::cluster::process_env);
    let shard = opts
        .shard
        .map(|s| sharding::ShardRun::start(&store, s, plan::keep_shard(&mut matrix, s), &origin, &plan.config_text))
        .transpose()?;
    let previous = clock.time("read store", || store.load())?;
    let done: HashMap<RowKey, &ResultRow> = previous.iter().filter(|r| r.is_ok()).map(|r| (r.key(), r)).collect();
    let journal = JournalSink::new(store.journal()?);
    let total: usize = matrix.iter().map(|d| d.sources.len() * d.jobs.len()).sum();
    let bar = progress_bar(opts.progress, total as u64);
    let pool = thread_pool(threads)?;
    let save = opts.save_reconstructions.clone().or_else(|| {
        plan.save_reconstructions
            .then(|| plan.output.join(icmbench_reports::store::RECONSTRUCTIONS_DIR))
    });
    let worker = Worker {
        ctx: RowContext {
            metrics: &metrics,
            padding: &plan.padding,
            tasks: &tasks,
            bitstreams: bitstreams.as_deref(),
            save: save.as_deref(),
            clock: &rows_clock,
        },
        done: &done,
        journal: &journal,
        bar: &bar,
        origin: &origin,
    };
    let rows_started = (Instant::now(), stages::process_cpu_seconds());
    let mut produced = pool.install(|| worker.all_rows(&matrix));
    let rows_seconds = rows_started.0.elapsed().as_secs_f64();
    let rows_cpu = stages::process_cpu_seconds().zip(rows_started.1).map(|(end, start)| end - start);
    bar.finish_and_clear();
    journal.into_result()?;
    produced.sort_by_key(|p| p.order);
    let computed = produced.iter().filter(|p| p.computed).count();
    let rows: Vec<ResultRow> = produced.into_iter().map(|p| p.row).collect();
    let table = final_table(&rows, previous)?;
    clock.time("write table", || store.finish(&table))?;
    clock.time("write run.json", || {
        meta::write_meta(&store, plan, &matrix, &rows, computed, opts.shard)
    })?;
    clock.time("write ground truths", || write_ground_truths(tasks, plan, &store))?;
    if opts.shard.is_none() {
        clock.time("measure complexity", || measure_complexity(plan, &matrix, &store));
    }
    if let Some(s) = shard {
        s.finish(&rows)?;
    }
    Ok(RunOutcome {
        reused: rows.len() - computed,
        computed,
        rows,
        shard: opts.shard,
        store: store.dir().to_path_buf(),
        busy: rows_cpu
            .filter(|_| computed > 0 && rows_seconds > 0.0)
            .map(|cpu| cpu / (rows_seconds * threads as f64)),
        stages: stages::merged(clock.times(), rows_clock.times()),
        wall_seconds: started.elapsed().as_secs_f64(),
        rows_seconds,
        threads,
        device: runtime.device,
    })
}

/// A run's task stages and metrics.
type Models = (Vec<TaskStage>, Vec<Box<dyn Metric>>);

/// The run's task stages and metrics, their models loaded.
fn load_models(plan: &Plan, runtime: &icmbench_models::RuntimeOptions) -> Result<Models, RunError> {
    let tasks: Vec<TaskStage> = plan.tasks.iter().map(|t| TaskStage::new(t, runtime)).collect::<Result<_, _>>()?;
    let metrics: Vec<Box<dyn Metric>> = plan
        .metrics
        .iter()
        .map(|m| icmbench_metrics::by_name(m, runtime))
        .collect::<Result<_, _>>()?;
    Ok((tasks, metrics))
}

/// The complexity of the run's graphs on each dataset's first readable image
/// (`complexity.json`).
fn measure_complexity(plan: &Plan, matrix: &[DatasetJobs], store: &Store) {
    let firsts: Vec<crate::complexity::FirstImage> = matrix
        .iter()
        .filter_map(|d| {
            d.sources.iter().find_map(|s| {
                let l = s.load(d.lowlevel.as_ref()).ok()?;
                Some((d.name.clone(), format!("{}/{}", d.name, s.entry().id), l.img.image))
            })
        })
        .collect();
    crate::complexity::measure(plan, store, &firsts);
}

/// The ground truths of each task (`ground_truth/<task>/<dataset>.json` in the store).
fn write_ground_truths(tasks: Vec<TaskStage>, plan: &Plan, store: &Store) -> Result<(), RunError> {
    for stage in tasks {
        let datasets = plan.datasets.iter().map(|d| (d.name.as_str(), d.annotations.as_deref()));
        stage.write_ground_truths(store.dir(), datasets)?;
    }
    Ok(())
}

fn progress_bar(show: bool, total: u64) -> ProgressBar {
    let bar = if show { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows ({eta} left) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn thread_pool(jobs: usize) -> Result<rayon::ThreadPool, RunError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| RunError::Pool {
            jobs,
            message: e.to_string(),
        })
}

/// The journal shared by the workers. When a row cannot be written, the OS error is kept,
/// and the remaining jobs are skipped: nothing computed after could be kept.
struct JournalSink {
    journal: Mutex<Journal>,
    error: Mutex<Option<ReportError>>,
    stop: AtomicBool,
}

impl JournalSink {
    fn new(journal: Journal) -> Self {
        Self {
            journal: Mutex::new(journal),
            error: Mutex::new(None),
            stop: AtomicBool::new(false),
        }
    }

    /// Whether the journal failed.
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Appends a finished row (nothing once the journal failed).
    fn append(&self, row: &ResultRow) {
        if let Ok(mut j) = self.journal.lock()
            && !self.stopped()
            && let Err(e) = j.append(row)
        {
            self.stop.store(true, Ordering::Relaxed);
            if let Ok(mut slot) = self.error.lock() {
                slot.get_or_insert(e);
            }
        }
    }

    /// The first write error, if any.
    fn into_result(self) -> Result<(), ReportError> {
        match self.error.into_inner().unwrap_or(None) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// What the workers share: the row context, the reusable rows, the journal and the
/// progress bar.
struct Worker<'a> {
    ctx: RowContext<'a>,
    done: &'a HashMap<RowKey, &'a ResultRow>,
    journal: &'a JournalSink,
    bar: &'a ProgressBar,
    /// This process's provenance, stamped with each computed row's start and end.
    origin: &'a Provenance,
}

impl Worker<'_> {
    /// Every row of the matrix, images in parallel and, within an image, jobs in parallel.
    fn all_rows(&self, matrix: &[DatasetJobs]) -> Vec<Produced> {
        let images: Vec<(usize, &Source)> = matrix
            .iter()
            .enumerate()
            .flat_map(|(di, d)| d.sources.iter().map(move |s| (di, s)))
            .collect();
        images
            .par_iter()
            .enumerate()
            .flat_map_iter(|(ii, (di, source))| self.image_rows(&matrix[*di], (*di, ii), source))
            .collect()
    }

    /// The rows of one image: loaded once, seen by each task uncompressed, then every job of
    /// its dataset.
    fn image_rows(&self, d: &DatasetJobs, (di, ii): (usize, usize), source: &Source) -> Vec<Produced> {
        if self.journal.stopped() {
            // The journal failed: load and compute nothing more.
            return Vec::new();
        }
        let entry = source.entry();
        let ll = d.lowlevel.as_ref();
        let clock = self.ctx.clock;
        let loaded = clock.time("load image", || source.load(ll));
        match &loaded {
            Err(e) => tracing::warn!("{e}"),
            Ok(l) => self.ctx.tasks.iter().for_each(|t| {
                clock.time(&format!("task {} (uncompressed)", t.name()), || {
                    t.see_uncompressed((di, &d.name), entry, &l.img.image)
                })
            }),
        }
        d.jobs
            .par_iter()
            .map(|job| {
                let (row, computed) = self.row(&d.name, entry, &loaded, job, ll);
                Produced {
                    order: (di, ii, job.codec_index, job.quality_index),
                    row,
                    computed,
                }
            })
            .collect()
    }

    /// The row of one job: reused from the store when it holds everything asked for, else
    /// computed and journaled. The flag says whether it was computed.
    fn row(
        &self,
        dataset: &str,
        entry: &ImageEntry,
        loaded: &Result<Loaded, DatasetError>,
        job: &Job,
        ll: Option<&LowLevel>,
    ) -> (ResultRow, bool) {
        if self.journal.stopped() {
            // The journal failed: nothing computed now could be kept, so compute nothing.
            return (
                row::failed_row(dataset, entry, job, "not run: the journal could not be written".into()),
                false,
            );
        }
        let started = crate::cluster::now_utc();
        let mut row = match loaded {
            Err(e) => row::failed_row(dataset, entry, job, e.to_string()),
            Ok(l) => match self.reusable(l, job) {
                Some(prev) => {
                    // `reused` keeps only the outputs this run's tasks can reuse: the others are missing.
                    let stored = self.reused(prev, dataset, entry);
                    let missing: Vec<&TaskStage> = self.ctx.tasks.iter().filter(|t| !stored.tasks.contains_key(t.name())).collect();
                    if missing.is_empty() {
                        self.bar.inc(1);
                        return (stored, false);
                    }
                    row::top_up(&self.ctx, stored, l, job, &missing).unwrap_or_else(|| row::compute(&self.ctx, dataset, l, job, ll))
                }
                None => row::compute(&self.ctx, dataset, l, job, ll),
            },
        };
        row.provenance = Some(Provenance {
            started,
            finished: crate::cluster::now_utc(),
            ..self.origin.clone()
        });
        tracing::debug!("computed {dataset}/{} {} q={}: {}", row.image, row.codec, row.quality, row.status);
        self.ctx.clock.time("journal", || self.journal.append(&row));
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

    /// A stored row of the same key holding every metric of this run (its task outputs are
    /// checked by the caller, task by task).
    fn reusable(&self, l: &Loaded, job: &Job) -> Option<&ResultRow> {
        let key = RowKey::new(l.hash_for(job), job.id(), &job.version, job.quality());
        self.done
            .get(&key)
            .filter(|p| self.ctx.metrics.iter().all(|m| p.metrics.contains_key(m.name())))
            .copied()
    }

    /// A reused row in this run's slot, with only this run's metrics and the outputs of this
    /// run's tasks that it can reuse.
    fn reused(&self, prev: &ResultRow, dataset: &str, entry: &ImageEntry) -> ResultRow {
        let mut row = prev.clone();
        row.dataset = dataset.to_string();
        row.image = entry.id.clone();
        row.metrics.retain(|k, _| self.ctx.metrics.iter().any(|m| m.name() == k));
        row.tasks
            .retain(|name, out| self.ctx.tasks.iter().any(|t| t.name() == name && t.reuses(Some(out))));
        row
    }
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
