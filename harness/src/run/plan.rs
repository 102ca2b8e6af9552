//! The matrix of a run: every image of every dataset (where it comes from), and the jobs
//! each image gets (one per codec point, then the dataset's reference rows). Building it
//! lists the dataset folders and loads each dataset's restorer; nothing is coded here.

use icmbench_datasets::degrade::Degradation;
use icmbench_datasets::paired::Pair;
use icmbench_datasets::{DatasetError, ImageEntry, LoadedImage, Preprocess};
use icmbench_models::RuntimeOptions;
use icmbench_reports::store::shard::{Shard, ShardImage, partition};
use icmbench_reports::store::{REFERENCE_KIND, Reference};
use image::RgbImage;

use super::RunError;
use crate::config::{DatasetConfig, Plan, PreparedCodec};
use crate::tasks::restoration::{LowLevel, REFERENCE_VERSION, Stages};

/// What a job makes: a codec point's row, or a reference row of a low-level sample.
pub(crate) enum JobKind<'a> {
    /// The image coded by a codec at one quality.
    Coded {
        /// The codec.
        codec: &'a PreparedCodec,
        /// The quality.
        quality: f64,
    },
    /// A reference row (no codec).
    Reference(Reference),
}

/// The work of one row, with its place in plan order.
pub(crate) struct Job<'a> {
    /// Index of the codec in the config (reference rows come after the codecs).
    pub codec_index: usize,
    /// Index of the quality in the codec's ladder.
    pub quality_index: usize,
    /// What it makes.
    pub kind: JobKind<'a>,
    /// The codec version column, asked of the codec once per job (not once per row).
    pub version: String,
}

impl Job<'_> {
    /// The codec column of its row.
    pub fn id(&self) -> &str {
        match &self.kind {
            JobKind::Coded { codec, .. } => &codec.id,
            JobKind::Reference(r) => r.name(),
        }
    }

    /// The codec kind column.
    pub fn kind_name(&self) -> String {
        match &self.kind {
            JobKind::Coded { codec, .. } => codec.codec.kind().to_string(),
            JobKind::Reference(_) => REFERENCE_KIND.to_string(),
        }
    }

    /// The quality column (0 for reference rows).
    pub fn quality(&self) -> f64 {
        match &self.kind {
            JobKind::Coded { quality, .. } => *quality,
            JobKind::Reference(_) => 0.0,
        }
    }
}

/// Where an image of a dataset comes from.
pub(crate) enum Source {
    /// An image file, preprocessed.
    Plain(ImageEntry, Preprocess),
    /// A clean image file, preprocessed and degraded (low-level, synthetic).
    Synthetic(ImageEntry, Preprocess, Degradation, u64),
    /// A degraded file and its ideal target (low-level, paired), and the `max_pixels` limit.
    Paired(Pair, u64),
}

/// A loaded image; low-level samples carry their ideal target.
pub(crate) struct Loaded {
    /// The image; for a low-level sample its `hash` covers the pair and the restorer.
    pub img: LoadedImage,
    /// The ideal target of a low-level sample.
    pub target: Option<RgbImage>,
    /// The hash of the pair alone (low-level samples; equal to `img.hash` otherwise).
    pub pair_hash: String,
}

impl Loaded {
    /// The image hash in the key of a job's row: the degraded-input reference does not
    /// depend on the restorer, every other row does.
    pub fn hash_for(&self, job: &Job) -> &str {
        match job.kind {
            JobKind::Reference(Reference::DegradedInput) => &self.pair_hash,
            _ => &self.img.hash,
        }
    }

    /// The `preprocess` of a job's row: the image's, and the restorer's note (an iterative
    /// restorer's seed) on every row that depends on the restorer.
    pub fn preprocess_for(&self, job: &Job, ll: Option<&LowLevel>) -> String {
        match (ll.and_then(LowLevel::row_note), &job.kind) {
            (None, _) | (_, JobKind::Reference(Reference::DegradedInput)) => self.img.preprocess.clone(),
            (Some(note), _) => format!("{}; {note}", self.img.preprocess),
        }
    }
}

impl Source {
    /// The file the image is read from (the degraded input of a pair).
    pub fn entry(&self) -> &ImageEntry {
        match self {
            Source::Plain(e, _) | Source::Synthetic(e, ..) => e,
            Source::Paired(p, _) => &p.input,
        }
    }

    /// The content key that places the image in a shard: the BLAKE3 hash of its file (the
    /// degraded input of a pair, the clean file of a synthetic sample). A file that cannot
    /// be read gets a key from its name, and its rows fail in whichever shard it lands.
    pub fn content_key(&self, dataset: &str) -> String {
        let path = &self.entry().path;
        let hashed = std::fs::File::open(path).and_then(|f| {
            let mut h = blake3::Hasher::new();
            h.update_reader(f)?;
            Ok(h.finalize().to_hex().to_string())
        });
        hashed.unwrap_or_else(|_| icmbench_datasets::combine_hashes(&["unreadable", dataset, &self.entry().id]))
    }

    /// Loads the image; a low-level sample's hash also covers its restorer (`ll`'s identity).
    pub fn load(&self, ll: Option<&LowLevel>) -> Result<Loaded, DatasetError> {
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
        if let Some(ll) = ll {
            img.hash = icmbench_datasets::combine_hashes(&[&img.hash, &ll.identity]);
        }
        Ok(Loaded { img, target, pair_hash })
    }
}

/// One dataset of the matrix: its images, its restoration stage (low-level datasets) and
/// the jobs every image gets.
pub(crate) struct DatasetJobs<'a> {
    /// The dataset's name.
    pub name: String,
    /// Its images.
    pub sources: Vec<Source>,
    /// Its low-level task (`None` for plain datasets).
    pub lowlevel: Option<LowLevel>,
    /// The jobs of each image: the codec points, then the reference rows.
    pub jobs: Vec<Job<'a>>,
}

/// The codec points of a plan, in plan order.
fn coded_jobs(plan: &Plan) -> impl Iterator<Item = Job<'_>> {
    plan.codecs.iter().enumerate().flat_map(|(ci, c)| {
        let version = c.codec.version();
        c.qualities.iter().enumerate().map(move |(qi, q)| Job {
            codec_index: ci,
            quality_index: qi,
            kind: JobKind::Coded { codec: c, quality: *q },
            version: version.clone(),
        })
    })
}

/// The reference rows of a low-level dataset, after the codecs in plan order: the task on
/// the uncompressed input (only with a restorer) and the degraded input.
fn reference_jobs<'a>(plan: &Plan, lowlevel: Option<&LowLevel>) -> Vec<Job<'a>> {
    let Some(ll) = lowlevel else { return Vec::new() };
    Reference::ALL
        .into_iter()
        .enumerate()
        .filter(|(_, r)| ll.restorer.is_some() || *r != Reference::TaskOnUncompressed)
        .map(|(i, r)| Job {
            codec_index: plan.codecs.len() + i,
            quality_index: 0,
            kind: JobKind::Reference(r),
            version: REFERENCE_VERSION.to_string(),
        })
        .collect()
}

/// The images of a dataset, in sorted order, at most `limit`.
fn sources(d: &DatasetConfig) -> Result<Vec<Source>, RunError> {
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
        (None, degradation) => icmbench_datasets::scan_folder(&d.path)
            .map_err(|error| RunError::Dataset {
                name: d.name.clone(),
                error,
            })?
            .into_iter()
            .map(|e| match degradation {
                Some(deg) => Source::Synthetic(e, pre, deg.clone(), d.seed.unwrap_or(0)),
                None => Source::Plain(e, pre),
            })
            .collect(),
    };
    if let Some(limit) = d.limit {
        sources.truncate(limit);
    }
    Ok(sources)
}

/// The matrix of a plan: every dataset with its images, restorer and jobs.
pub(crate) fn matrix<'a>(plan: &'a Plan, runtime: &RuntimeOptions) -> Result<Vec<DatasetJobs<'a>>, RunError> {
    let mut stages = Stages::default();
    plan.datasets
        .iter()
        .map(|d| {
            let sources = sources(d)?;
            let lowlevel = match d.is_lowlevel() {
                true => Some(
                    LowLevel::shared(d.restorer.as_ref(), runtime, &mut stages).map_err(|message| RunError::Restorer {
                        name: d.name.clone(),
                        message,
                    })?,
                ),
                false => None,
            };
            let mut jobs: Vec<Job> = coded_jobs(plan).collect();
            jobs.extend(reference_jobs(plan, lowlevel.as_ref()));
            Ok(DatasetJobs {
                name: d.name.clone(),
                sources,
                lowlevel,
                jobs,
            })
        })
        .collect()
}

/// Keeps only `shard`'s images in the matrix ([`partition`] over every image of every
/// dataset, by content) and returns them with their place in the whole run.
pub(crate) fn keep_shard(matrix: &mut [DatasetJobs], shard: Shard) -> Vec<ShardImage> {
    let keys: Vec<String> = matrix
        .iter()
        .flat_map(|d| d.sources.iter().map(|s| s.content_key(&d.name)))
        .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut mine = partition(&refs, shard).into_iter().peekable();
    let mut images = Vec::new();
    let mut offset = 0;
    for (di, d) in matrix.iter_mut().enumerate() {
        let all = std::mem::take(&mut d.sources);
        let end = offset + all.len();
        for (position, source) in all.into_iter().enumerate() {
            if mine.next_if_eq(&(offset + position)).is_some() {
                images.push(ShardImage {
                    dataset_index: di,
                    dataset: d.name.clone(),
                    position,
                    image: source.entry().id.clone(),
                });
                d.sources.push(source);
            }
        }
        offset = end;
    }
    images
}
