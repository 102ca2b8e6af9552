//! The result store: the result row, its identity and cache key, its status, reference
//! rows, the tidy table (Parquet, CSV), the journal, atomic writes, and the output-folder
//! layout with its lock ([`layout`]): everything that is written to or read from an output
//! folder.
//!
//! One tidy row per (dataset, image, codec, quality); a reference row ([`Reference`]) has a
//! reference's name in place of a codec.
//!
//! Columns, in order: `dataset`, `image`, `image_hash`, `width`, `height`, `conversion`,
//! `preprocess`, `codec`, `codec_kind`, `codec_version`, `quality`, `status` (`ok` or
//! `failed`), `error`, `bytes`, `bpp`, `bpp_estimated`, `encode_ms`, `decode_ms`,
//! `tasks`, `provenance` ([`FIXED_COLUMNS`]), then one `Float64` column per metric (named as the
//! metric, e.g. `psnr-rgb`), sorted by name. `bpp` is `bytes × 8 / (width × height)` of the
//! source image; `bpp_estimated` (learned codecs only) is −log2 of the likelihoods of the
//! coded latents over the same pixel count.
//! `tasks` (rows of a run with machine tasks) holds each task's output on the scored image
//! ([`TaskOutput`]: the model's identity, boxes, instance masks as COCO RLE, or the task's
//! error) as one JSON object by task name, typed in memory; `provenance` (where and when the row was computed: host, Slurm job and array
//! ids, icmbench version and git commit, start and end) likewise. Infinite PSNR (lossless) is stored as `inf` in Parquet and CSV.
//!
//! Files are replaced atomically (written beside, synced, renamed). Rows finished during a
//! run are appended to a JSON-lines journal first, so an interrupted run loses only the
//! rows in flight.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ReportError;
use icmbench_models::detect::Detection;

pub mod layout;
pub mod shard;

pub use layout::{
    BITSTREAMS_DIR, CONFIG_COPY, CSV, GT_DIR, JOURNAL, LOCK, LockError, OutputLock, PARQUET, RECONSTRUCTIONS_DIR, RUN_META, Store,
    host_name,
};
pub use shard::{SHARD_META, SHARDS_DIR};

/// Status of a successful row, as stored.
pub const STATUS_OK: &str = Status::Ok.as_str();

/// Whether a row finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Finished without error.
    Ok,
    /// Failed; the row's `error` says why.
    Failed,
}

impl Status {
    /// The text in the `status` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
        }
    }

    /// The status stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        [Status::Ok, Status::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Codec kind of reference rows in results.
pub const REFERENCE_KIND: &str = "reference";

/// A reference row of a low-level sample: a row with no codec, stored with codec kind
/// [`REFERENCE_KIND`] and its name in the codec column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reference {
    /// The task model on the uncompressed degraded input.
    TaskOnUncompressed,
    /// The degraded input without any task (bicubic-resized to the target's size when they
    /// differ).
    DegradedInput,
}

impl Reference {
    /// Both, in the order of tables and plans.
    pub const ALL: [Reference; 2] = [Reference::TaskOnUncompressed, Reference::DegradedInput];

    /// The name in results (the codec column).
    pub const fn name(self) -> &'static str {
        match self {
            Reference::TaskOnUncompressed => "task-on-uncompressed",
            Reference::DegradedInput => "degraded-input",
        }
    }
}

/// Whether a codec id in results is a reference row rather than a codec.
pub fn is_reference(codec: &str) -> bool {
    Reference::ALL.iter().any(|r| r.name() == codec)
}

/// One result row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Dataset name from the config.
    pub dataset: String,
    /// Image id (path relative to the dataset root).
    pub image: String,
    /// Content hash of the coded (converted, preprocessed) image; empty if it could not be read.
    pub image_hash: String,
    /// Width of the coded image (0 if unreadable).
    pub width: u32,
    /// Height of the coded image (0 if unreadable).
    pub height: u32,
    /// Colour conversion applied on loading.
    pub conversion: String,
    /// Preprocessing applied on loading.
    pub preprocess: String,
    /// Codec id from the config.
    pub codec: String,
    /// Codec kind (`jpeg`, `webp`, `avif`, `png`, `external`, `learned`), or
    /// [`REFERENCE_KIND`] for a reference row.
    pub codec_kind: String,
    /// Codec library version and settings.
    pub codec_version: String,
    /// Quality parameter.
    pub quality: f64,
    /// `ok` or `failed`.
    pub status: Status,
    /// Error text of a failed row.
    pub error: Option<String>,
    /// Bitstream length in bytes.
    pub bytes: Option<u64>,
    /// Bits per pixel of the source image.
    pub bpp: Option<f64>,
    /// Estimated bits per pixel (−log2 likelihoods; learned codecs only).
    #[serde(default)]
    pub bpp_estimated: Option<f64>,
    /// Encoding time in milliseconds.
    pub encode_ms: Option<f64>,
    /// Decoding time in milliseconds.
    pub decode_ms: Option<f64>,
    /// Metric values by metric name.
    #[serde(with = "nonfinite_map")]
    pub metrics: BTreeMap<String, f64>,
    /// Each machine task's output on the scored image, by task name (empty without tasks).
    /// Stored as one JSON object (`{name: {model, detections, masks, error}}`) in every file;
    /// typed in memory.
    #[serde(default, with = "tasks_text", skip_serializing_if = "BTreeMap::is_empty")]
    pub tasks: BTreeMap<String, TaskOutput>,
    /// Where and when the row was computed (host, Slurm ids, icmbench version and commit,
    /// start and end), as JSON text in every file; `None` in tables written before.
    #[serde(default, with = "provenance_text")]
    pub provenance: Option<shard::Provenance>,
}

impl ResultRow {
    /// Whether the row finished without error.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// The cache key: image content, codec id, codec version and quality. Used to reuse a
    /// finished result, never to tell rows apart (see [`ResultRow::id`]).
    pub fn key(&self) -> RowKey {
        RowKey::new(&self.image_hash, &self.codec, &self.codec_version, self.quality)
    }

    /// What the row is: its (dataset, image, codec, quality) slot. Two rows with the same id
    /// are two results for one slot (the later replaces the earlier); rows with different ids
    /// are never merged, whatever their pixels.
    pub fn id(&self) -> RowId {
        RowId {
            dataset: self.dataset.clone(),
            image: self.image.clone(),
            codec: self.codec.clone(),
            quality_bits: self.quality.to_bits(),
        }
    }
}

/// What one machine task made of a row's scored image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskOutput {
    /// The task model's identity (its name, the SHA-256 of its weights, a hash of its
    /// contract and its regime): a stored output is reused only by a task of the same
    /// identity, so changing a task's model recomputes its outputs, and only those.
    pub model: String,
    /// Detections, boxes in the source image's pixels, in the model's order.
    #[serde(default)]
    pub detections: Vec<Detection>,
    /// Instance masks (segmentation tasks): for each detection, the COCO compressed RLE
    /// counts of its mask over the row's `height × width` image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masks: Option<Vec<String>>,
    /// Faces tasks: for each face found on the uncompressed image, the similarity (0 to 1,
    /// `@vladmandic/human`'s) of its description to that of the same box on this image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarities: Option<Vec<f64>>,
    /// Why the task failed on this image (the other tasks' outputs and the row are kept;
    /// the task's dataset-level metrics at this point are then not computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TaskOutput {
    /// Whether the task finished on this image.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The task name under which detections stored by versions before several tasks per run
/// (a `detections` column) are read.
pub const LEGACY_TASK: &str = "detector";

/// The identity of a row: dataset, image id, codec id and quality (the task, where a run has
/// one, belongs to the dataset or the run, so it is fixed within a slot).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowId {
    /// Dataset name.
    pub dataset: String,
    /// Image id.
    pub image: String,
    /// Codec id (or a reference row's name).
    pub codec: String,
    /// The quality's bit pattern.
    pub quality_bits: u64,
}

/// Keeps the last row of every [`RowId`], at the place of its first appearance. Rows of
/// different slots are all kept, however alike their pixels or keys.
pub fn last_per_slot(rows: Vec<ResultRow>) -> Vec<ResultRow> {
    let mut index: std::collections::HashMap<RowId, usize> = std::collections::HashMap::new();
    let mut out: Vec<ResultRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match index.entry(row.id()) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = row,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(row);
            }
        }
    }
    out
}

/// Identifies a result for resuming: same pixels, same codec, same version, same quality.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey {
    image_hash: String,
    codec: String,
    codec_version: String,
    quality_bits: u64,
}

impl RowKey {
    /// Builds a key.
    pub fn new(image_hash: &str, codec: &str, codec_version: &str, quality: f64) -> Self {
        Self {
            image_hash: image_hash.to_string(),
            codec: codec.to_string(),
            codec_version: codec_version.to_string(),
            quality_bits: quality.to_bits(),
        }
    }

    /// The file name of the coded stream of this key in [`BITSTREAMS_DIR`]: a BLAKE3 hash of
    /// the key's parts (never a name from a config), `.bin`.
    pub fn file_name(&self) -> String {
        let mut h = blake3::Hasher::new();
        for part in [self.image_hash.as_bytes(), self.codec.as_bytes(), self.codec_version.as_bytes()] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.update(&self.quality_bits.to_le_bytes());
        format!("{}.bin", h.finalize().to_hex())
    }
}

/// JSON has no infinities: the journal writes non-finite metric values as strings.
mod nonfinite_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Value {
        Number(f64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(map: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
        let out: BTreeMap<&String, Value> = map
            .iter()
            .map(|(k, v)| {
                (
                    k,
                    if v.is_finite() {
                        Value::Number(*v)
                    } else {
                        Value::Text(v.to_string())
                    },
                )
            })
            .collect();
        out.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        let raw = BTreeMap::<String, Value>::deserialize(d)?;
        raw.into_iter()
            .map(|(k, v)| match v {
                Value::Number(x) => Ok((k, x)),
                Value::Text(t) => t.parse::<f64>().map(|x| (k, x)).map_err(serde::de::Error::custom),
            })
            .collect()
    }
}

/// Task outputs as the JSON text every file stores (the journal, Parquet and CSV).
mod tasks_text {
    use std::collections::BTreeMap;

    use super::TaskOutput;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &BTreeMap<String, TaskOutput>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::tasks_json(t))
    }

    /// Text that is not a map of task outputs (a NaN box written as `null`) loses the
    /// outputs with a warning, not its row: a run computes them again.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, TaskOutput>, D::Error> {
        Ok(Option::<String>::deserialize(d)?
            .and_then(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| tracing::warn!("stored task outputs dropped: {e}"))
                    .ok()
            })
            .unwrap_or_default())
    }
}

/// Provenance as the JSON text every file stores.
mod provenance_text {
    use super::shard::Provenance;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &Option<Provenance>, s: S) -> Result<S::Ok, S::Error> {
        match p {
            Some(p) => s.serialize_some(&super::provenance_json(p)),
            None => s.serialize_none(),
        }
    }

    /// Text that is not a provenance record loses the record with a warning, not its row.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Provenance>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.and_then(|t| {
            serde_json::from_str(&t)
                .map_err(|e| tracing::warn!("stored provenance dropped: {e}"))
                .ok()
        }))
    }
}

/// Provenance as stored: a JSON object.
pub fn provenance_json(p: &shard::Provenance) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "{}".into())
}

/// Task outputs as stored: a JSON object by task name.
pub fn tasks_json(t: &BTreeMap<String, TaskOutput>) -> String {
    serde_json::to_string(t).unwrap_or_else(|_| "{}".into())
}

/// The metric columns of a result table: every column that is not a fixed one.
pub fn metric_columns(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .into_iter()
        .map(|s| s.to_string())
        .filter(|s| !FIXED_COLUMNS.contains(&s.as_str()) && s != LEGACY_DETECTIONS)
        .collect()
}

/// The columns every result table has, before the metric columns.
pub const FIXED_COLUMNS: &[&str] = &[
    "dataset",
    "image",
    "image_hash",
    "width",
    "height",
    "conversion",
    "preprocess",
    "codec",
    "codec_kind",
    "codec_version",
    "quality",
    "status",
    "error",
    "bytes",
    "bpp",
    "bpp_estimated",
    "encode_ms",
    "decode_ms",
    "tasks",
    "provenance",
];

/// A column of tables written before several tasks per run: read into [`LEGACY_TASK`], never
/// written, never a metric.
const LEGACY_DETECTIONS: &str = "detections";

fn polars_err(path: &Path) -> impl Fn(PolarsError) -> ReportError + '_ {
    move |source| ReportError::Polars {
        path: path.display().to_string(),
        source,
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Builds the tidy table from rows (metric columns are the union over rows, sorted).
pub fn to_dataframe(rows: &[ResultRow]) -> Result<DataFrame, PolarsError> {
    let strs = |f: fn(&ResultRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let mut columns = vec![
        Column::new("dataset".into(), strs(|r| &r.dataset)),
        Column::new("image".into(), strs(|r| &r.image)),
        Column::new("image_hash".into(), strs(|r| &r.image_hash)),
        Column::new("width".into(), rows.iter().map(|r| r.width).collect::<Vec<u32>>()),
        Column::new("height".into(), rows.iter().map(|r| r.height).collect::<Vec<u32>>()),
        Column::new("conversion".into(), strs(|r| &r.conversion)),
        Column::new("preprocess".into(), strs(|r| &r.preprocess)),
        Column::new("codec".into(), strs(|r| &r.codec)),
        Column::new("codec_kind".into(), strs(|r| &r.codec_kind)),
        Column::new("codec_version".into(), strs(|r| &r.codec_version)),
        Column::new("quality".into(), rows.iter().map(|r| r.quality).collect::<Vec<f64>>()),
        Column::new("status".into(), strs(|r| r.status.as_str())),
        Column::new(
            "error".into(),
            rows.iter().map(|r| r.error.as_deref()).collect::<Vec<Option<&str>>>(),
        ),
        Column::new("bytes".into(), rows.iter().map(|r| r.bytes).collect::<Vec<Option<u64>>>()),
        Column::new("bpp".into(), rows.iter().map(|r| r.bpp).collect::<Vec<Option<f64>>>()),
        Column::new(
            "bpp_estimated".into(),
            rows.iter().map(|r| r.bpp_estimated).collect::<Vec<Option<f64>>>(),
        ),
        Column::new("encode_ms".into(), rows.iter().map(|r| r.encode_ms).collect::<Vec<Option<f64>>>()),
        Column::new("decode_ms".into(), rows.iter().map(|r| r.decode_ms).collect::<Vec<Option<f64>>>()),
        Column::new(
            "tasks".into(),
            rows.iter()
                .map(|r| (!r.tasks.is_empty()).then(|| tasks_json(&r.tasks)))
                .collect::<Vec<Option<String>>>(),
        ),
        Column::new(
            "provenance".into(),
            rows.iter()
                .map(|r| r.provenance.as_ref().map(provenance_json))
                .collect::<Vec<Option<String>>>(),
        ),
    ];
    let names: std::collections::BTreeSet<&String> = rows.iter().flat_map(|r| r.metrics.keys()).collect();
    for name in names {
        let values: Vec<Option<f64>> = rows.iter().map(|r| r.metrics.get(name).copied()).collect();
        columns.push(Column::new(name.as_str().into(), values));
    }
    DataFrame::new_infer_height(columns)
}

/// Reads rows back from a table written by [`to_dataframe`].
pub fn from_dataframe(df: &DataFrame, path: &Path) -> Result<Vec<ResultRow>, ReportError> {
    let schema_err = |message: String| ReportError::Schema {
        path: path.display().to_string(),
        message,
    };
    let col = |name: &str| df.column(name).map_err(|_| schema_err(format!("missing column `{name}`")));
    let text = |name: &str| -> Result<Vec<Option<String>>, ReportError> {
        let c = col(name)?;
        let s = c.str().map_err(|_| schema_err(format!("column `{name}` is not text")))?;
        Ok((0..s.len()).map(|i| s.get(i).map(str::to_string)).collect())
    };
    let float = |name: &str| -> Result<Vec<Option<f64>>, ReportError> {
        let c = col(name)?
            .cast(&DataType::Float64)
            .map_err(|_| schema_err(format!("column `{name}` is not numeric")))?;
        let f = c.f64().map_err(|_| schema_err(format!("column `{name}` is not numeric")))?;
        Ok((0..f.len()).map(|i| f.get(i)).collect())
    };
    let n = df.height();
    let dataset = text("dataset")?;
    let image = text("image")?;
    let image_hash = text("image_hash")?;
    let width = float("width")?;
    let height = float("height")?;
    let conversion = text("conversion")?;
    let preprocess = text("preprocess")?;
    let codec = text("codec")?;
    let codec_kind = text("codec_kind")?;
    let codec_version = text("codec_version")?;
    let quality = float("quality")?;
    let status = text("status")?;
    let error = text("error")?;
    let bytes = float("bytes")?;
    let bpp = float("bpp")?;
    // Tables written before the column existed have no estimate.
    let bpp_estimated = if df.column("bpp_estimated").is_ok() {
        float("bpp_estimated")?
    } else {
        vec![None; n]
    };
    let encode_ms = float("encode_ms")?;
    let decode_ms = float("decode_ms")?;
    let optional_text = |name: &str| if df.column(name).is_ok() { text(name) } else { Ok(vec![None; n]) };
    // Tables written before these columns existed have none.
    let tasks = optional_text("tasks")?;
    let legacy = optional_text(LEGACY_DETECTIONS)?;
    let provenance = optional_text("provenance")?;
    let metric_names = metric_columns(df);
    let metric_values: Vec<Vec<Option<f64>>> = metric_names.iter().map(|m| float(m)).collect::<Result<_, _>>()?;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    // Rows are numbered from 1, in table order.
    let status = status
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let t = t.as_deref().unwrap_or_default();
            Status::parse(t).ok_or_else(|| schema_err(format!("row {}: status `{t}` is neither `ok` nor `failed`", i + 1)))
        })
        .collect::<Result<Vec<Status>, _>>()?;
    // A cell that does not parse loses its task outputs, with a warning, not the table: the
    // row's task metrics are missing, and a run computes the outputs again.
    let dropped = |i: usize, e: serde_json::Error| tracing::warn!("{}: row {}: stored task outputs dropped: {e}", path.display(), i + 1);
    let tasks: Vec<BTreeMap<String, TaskOutput>> = (0..n)
        .map(|i| match (&tasks[i], &legacy[i]) {
            (Some(t), _) => serde_json::from_str(t).map_err(|e| dropped(i, e)).unwrap_or_default(),
            (None, Some(t)) => match serde_json::from_str::<Vec<Detection>>(t) {
                Ok(detections) => BTreeMap::from([(
                    LEGACY_TASK.to_string(),
                    TaskOutput {
                        model: String::new(),
                        detections,
                        masks: None,
                        similarities: None,
                        error: None,
                    },
                )]),
                Err(e) => {
                    dropped(i, e);
                    BTreeMap::new()
                }
            },
            (None, None) => BTreeMap::new(),
        })
        .collect();
    Ok((0..n)
        .map(|i| ResultRow {
            dataset: s(&dataset[i]),
            image: s(&image[i]),
            image_hash: s(&image_hash[i]),
            width: width[i].unwrap_or(0.0) as u32,
            height: height[i].unwrap_or(0.0) as u32,
            conversion: s(&conversion[i]),
            preprocess: s(&preprocess[i]),
            codec: s(&codec[i]),
            codec_kind: s(&codec_kind[i]),
            codec_version: s(&codec_version[i]),
            quality: quality[i].unwrap_or(f64::NAN),
            status: status[i],
            error: error[i].clone(),
            bytes: bytes[i].map(|b| b as u64),
            bpp: bpp[i],
            bpp_estimated: bpp_estimated[i],
            encode_ms: encode_ms[i],
            decode_ms: decode_ms[i],
            tasks: tasks[i].clone(),
            provenance: provenance[i].as_deref().and_then(|t| {
                serde_json::from_str(t)
                    .map_err(|e| tracing::warn!("{}: row {}: stored provenance dropped: {e}", path.display(), i + 1))
                    .ok()
            }),
            metrics: metric_names
                .iter()
                .zip(&metric_values)
                .filter_map(|(m, v)| v[i].map(|x| (m.clone(), x)))
                .collect(),
        })
        .collect())
}

/// Writes `bytes` to `path` atomically: a sibling temporary file, synced, then renamed.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> Result<(), ReportError>) -> Result<(), ReportError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "results".into());
    let tmp: PathBuf = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        write(&mut f)?;
        f.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err(path))?;
        // Make the rename itself durable.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes a text file atomically.
pub fn write_text(path: &Path, text: &str) -> Result<(), ReportError> {
    write_atomic(path, |f| f.write_all(text.as_bytes()).map_err(io_err(path)))
}

/// Writes a value as pretty-printed JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ReportError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| ReportError::Schema {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    write_text(path, &text)
}

/// Writes the rows as Parquet (atomically). The table is encoded in memory first, so a
/// write error (a full disk) reports the OS error, not the encoder's.
pub fn write_parquet(path: &Path, rows: &[ResultRow]) -> Result<(), ReportError> {
    let mut df = to_dataframe(rows).map_err(polars_err(path))?;
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut df).map_err(polars_err(path))?;
    write_atomic(path, |f| f.write_all(&bytes).map_err(io_err(path)))
}

/// Writes the rows as CSV with a header (atomically), encoded in memory first like
/// [`write_parquet`].
pub fn write_csv(path: &Path, rows: &[ResultRow]) -> Result<(), ReportError> {
    let mut df = to_dataframe(rows).map_err(polars_err(path))?;
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .finish(&mut df)
        .map_err(polars_err(path))?;
    write_atomic(path, |f| f.write_all(&bytes).map_err(io_err(path)))
}

/// Reads rows from a Parquet file written by [`write_parquet`].
pub fn read_parquet(path: &Path) -> Result<Vec<ResultRow>, ReportError> {
    let f = File::open(path).map_err(io_err(path))?;
    let df = ParquetReader::new(f).finish().map_err(polars_err(path))?;
    from_dataframe(&df, path)
}

/// Appends finished rows to a JSON-lines file, one synced line per row.
///
/// A crash or a full disk can leave a torn last line. [`Journal::open`] heals the file before
/// appending: it cuts off the invalid tail (and logs how many bytes and lines it cut), and
/// ends a complete last row that lost its newline, so the next row never joins a fragment.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

/// What reading a journal found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JournalScan {
    /// The complete rows, in file order.
    pub rows: Vec<ResultRow>,
    /// Bytes of the file that hold complete rows: everything after is a torn tail.
    pub valid_len: usize,
    /// Whether the last complete row lacks its newline (a cut right before it).
    pub missing_newline: bool,
    /// Whether the file ends in a torn fragment (an unterminated line that is not a row).
    pub torn: bool,
    /// Lines that held a torn fragment glued to complete rows (a journal written by a
    /// version that appended after a torn line); the fragments were dropped, the rows kept.
    pub salvaged: usize,
}

impl JournalScan {
    /// Parses a journal's bytes. Only the last, unterminated line can be torn (every append
    /// writes a row and its newline in one write): it is left out of `valid_len`. A complete
    /// line that is not a row (and holds none) is an error naming its line: such a file was
    /// edited or is not a journal, and cutting it would lose rows.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, ReportError> {
        let mut scan = JournalScan::default();
        let mut pos = 0;
        let mut line_no = 0;
        while pos < bytes.len() {
            line_no += 1;
            let (line, next, terminated) = match bytes[pos..].iter().position(|&b| b == b'\n') {
                Some(i) => (&bytes[pos..pos + i], pos + i + 1, true),
                None => (&bytes[pos..], bytes.len(), false),
            };
            match parse_line(line) {
                LineParse::Blank => {}
                LineParse::Rows(rows, salvaged) => {
                    scan.salvaged += usize::from(salvaged);
                    scan.rows.extend(rows);
                    scan.valid_len = next;
                    scan.missing_newline = !terminated;
                }
                LineParse::Invalid(_) if !terminated => scan.torn = true,
                LineParse::Invalid(message) => {
                    return Err(ReportError::Schema {
                        path: format!("{}:{line_no}", path.display()),
                        message: format!(
                            "{message} (a complete line that is not a result row: this file was edited or is not an icmbench journal; move it aside to resume)"
                        ),
                    });
                }
            }
            pos = next;
        }
        Ok(scan)
    }
}

/// A journal is a regular file: a device such as `/dev/zero` would be read forever, and a
/// symbolic link would let a run write into whatever file it names.
fn regular_or_absent(path: &Path) -> Result<(), ReportError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.is_file() => Err(ReportError::Schema {
            path: path.display().to_string(),
            message: "not a regular file (a journal is never a link, device or folder)".into(),
        }),
        _ => Ok(()),
    }
}

enum LineParse {
    Blank,
    /// The rows of a line (one, or several when rows were glued), and whether a torn
    /// fragment before them was dropped.
    Rows(Vec<ResultRow>, bool),
    Invalid(String),
}

/// One journal line: a row, a blank line, or invalid (with the reason). A line where an old
/// version appended after a torn write (`fragment` + `row`, or `row` + `row` after a cut
/// just before a newline) yields every complete row on it.
fn parse_line(line: &[u8]) -> LineParse {
    if line.iter().all(u8::is_ascii_whitespace) {
        return LineParse::Blank;
    }
    let first = match std::str::from_utf8(line) {
        Ok(text) => match serde_json::from_str::<ResultRow>(text) {
            Ok(row) => return LineParse::Rows(vec![row], false),
            Err(e) => e.to_string(),
        },
        Err(e) => format!("not UTF-8: {e}"),
    };
    salvage(line).unwrap_or(LineParse::Invalid(first))
}

/// Every complete row of a line of glued rows: from the first place where a row starts and
/// the rest of the line is a sequence of rows.
fn salvage(line: &[u8]) -> Option<LineParse> {
    const START: &[u8] = b"{\"dataset\"";
    let starts = line.windows(START.len()).enumerate().filter(|(_, w)| *w == START).map(|(i, _)| i);
    for at in starts {
        let rows: Result<Vec<ResultRow>, _> = serde_json::Deserializer::from_slice(&line[at..]).into_iter::<ResultRow>().collect();
        if let Ok(rows) = rows
            && !rows.is_empty()
        {
            return Some(LineParse::Rows(rows, at > 0));
        }
    }
    None
}

impl Journal {
    /// Opens (creating if needed) a journal for appending, after healing a torn tail.
    pub fn open(path: &Path) -> Result<Self, ReportError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        regular_or_absent(path)?;
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io_err(path))?;
        let scan = JournalScan::parse(&bytes, path)?;
        if scan.valid_len < bytes.len() {
            tracing::warn!(
                "{}: cut off a torn last line of {} bytes left by an interrupted run",
                path.display(),
                bytes.len() - scan.valid_len
            );
            file.set_len(scan.valid_len as u64).map_err(io_err(path))?;
        }
        if scan.missing_newline {
            file.write_all(b"\n").map_err(io_err(path))?;
        }
        file.sync_data().map_err(io_err(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one row and syncs it to disk.
    pub fn append(&mut self, row: &ResultRow) -> Result<(), ReportError> {
        let mut line = serde_json::to_string(row).map_err(|e| ReportError::Schema {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(io_err(&self.path))?;
        self.file.sync_data().map_err(io_err(&self.path))
    }

    /// Reads a journal's complete rows. A torn or invalid tail (an interrupted write) is
    /// skipped; a corrupt line before complete rows is an error naming its line number.
    pub fn read(path: &Path) -> Result<Vec<ResultRow>, ReportError> {
        regular_or_absent(path)?;
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(path)(e)),
        };
        let scan = JournalScan::parse(&bytes, path)?;
        if scan.salvaged > 0 {
            tracing::warn!(
                "{}: {} line(s) held a torn fragment before a complete row; the fragments were dropped",
                path.display(),
                scan.salvaged
            );
        }
        Ok(scan.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn row(codec: &str, q: f64, psnr: f64) -> ResultRow {
        ResultRow {
            dataset: "d".into(),
            image: "a.png".into(),
            image_hash: "h".into(),
            width: 4,
            height: 2,
            conversion: "rgb8".into(),
            preprocess: "none".into(),
            codec: codec.into(),
            codec_kind: codec.into(),
            codec_version: "v1".into(),
            quality: q,
            status: Status::Ok,
            error: None,
            bytes: Some(10),
            bpp_estimated: None,
            bpp: Some(10.0),
            encode_ms: Some(1.5),
            decode_ms: Some(0.5),
            metrics: [("psnr-rgb".to_string(), psnr)].into_iter().collect(),
            tasks: BTreeMap::new(),
            provenance: None,
        }
    }

    #[test]
    fn parquet_and_csv_round_trip_with_infinity_and_failures() {
        let dir = tempfile::tempdir().unwrap();
        let mut failed = row("webp", 5.0, 0.0);
        failed.status = Status::Failed;
        failed.error = Some("boom".into());
        failed.bytes = None;
        failed.metrics.clear();
        let rows = vec![row("png", 0.0, f64::INFINITY), row("jpeg", 50.0, 31.25), failed];
        let p = dir.path().join("r.parquet");
        write_parquet(&p, &rows).unwrap();
        assert_eq!(read_parquet(&p).unwrap(), rows);
        let c = dir.path().join("r.csv");
        write_csv(&c, &rows).unwrap();
        let text = std::fs::read_to_string(&c).unwrap();
        assert!(text.starts_with("dataset,image,image_hash,width,height"), "{text}");
        assert!(text.contains("inf") && text.contains("boom"), "{text}");
        // no temporary files are left behind
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn journal_survives_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let mut j = Journal::open(&p).unwrap();
        j.append(&row("png", 0.0, f64::INFINITY)).unwrap();
        j.append(&row("jpeg", 10.0, 20.0)).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"dataset\":\"d\",\"ima").unwrap();
        let rows = Journal::read(&p).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].metrics["psnr-rgb"], f64::INFINITY);
        assert!(Journal::read(&dir.path().join("none.jsonl")).unwrap().is_empty());
    }

    #[test]
    fn open_heals_a_torn_tail_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let whole = serde_json::to_string(&row("a", 1.0, 2.0)).unwrap();
        // A complete row, a second cut inside a multi-byte character, then a resume appends.
        let mut bytes = format!("{whole}\n").into_bytes();
        let mut torn = serde_json::to_string(&row("é", 2.0, 3.0)).unwrap().into_bytes();
        let cut = torn.iter().position(|&b| b >= 0x80).unwrap() + 1;
        torn.truncate(cut);
        bytes.extend(&torn);
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(Journal::read(&p).unwrap().len(), 1);
        let mut j = Journal::open(&p).unwrap();
        j.append(&row("b", 3.0, 4.0)).unwrap();
        drop(j);
        let rows = Journal::read(&p).unwrap();
        assert_eq!(rows.iter().map(|r| r.codec.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(std::fs::read_to_string(&p).unwrap().lines().count(), 2, "the fragment was cut off");

        // A complete last row without its newline keeps the row and gets the newline.
        std::fs::write(&p, &whole).unwrap();
        let mut j = Journal::open(&p).unwrap();
        j.append(&row("c", 1.0, 1.0)).unwrap();
        drop(j);
        assert_eq!(Journal::read(&p).unwrap().len(), 2);
    }

    #[test]
    fn every_cut_of_a_journal_heals() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let rows: Vec<ResultRow> = ["jpeg", "wébp", "avif"].iter().map(|c| row(c, 1.0, f64::INFINITY)).collect();
        let mut bytes = Vec::new();
        for r in &rows {
            bytes.extend(serde_json::to_vec(r).unwrap());
            bytes.push(b'\n');
        }
        for cut in 0..=bytes.len() {
            let complete = bytes[..cut].iter().filter(|&&b| b == b'\n').count() + usize::from(bytes.get(cut) == Some(&b'\n'));
            std::fs::write(&p, &bytes[..cut]).unwrap();
            assert_eq!(Journal::read(&p).unwrap().len(), complete, "cut at {cut}");
            let mut j = Journal::open(&p).unwrap();
            j.append(&rows[0]).unwrap();
            drop(j);
            let after = Journal::read(&p).unwrap();
            assert_eq!(after.len(), complete + 1, "cut at {cut}");
            assert_eq!(after[..complete], rows[..complete], "cut at {cut}");
        }
    }

    #[test]
    fn a_fragment_glued_to_a_row_by_an_old_version_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let a = serde_json::to_string(&row("a", 1.0, 2.0)).unwrap();
        let b = serde_json::to_string(&row("b", 1.0, 2.0)).unwrap();
        std::fs::write(&p, format!("{a}\n{}{b}\n{a}\n", &b[..20])).unwrap();
        let rows = Journal::read(&p).unwrap();
        assert_eq!(rows.iter().map(|r| r.codec.as_str()).collect::<Vec<_>>(), ["a", "b", "a"]);
    }

    #[test]
    fn glued_rows_are_all_kept_and_a_complete_bad_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let a = serde_json::to_string(&row("a", 1.0, 2.0)).unwrap();
        let b = serde_json::to_string(&row("b", 1.0, 2.0)).unwrap();
        // An old version cut just before a newline, then appended: two rows on one line.
        std::fs::write(&p, format!("{a}{b}\n")).unwrap();
        assert_eq!(Journal::read(&p).unwrap().len(), 2);
        // A complete line that is no row is never cut silently: the file is left as it is.
        let text = format!("{a}\n{{\"other\": 1}}\n");
        std::fs::write(&p, &text).unwrap();
        let err = Journal::open(&p).unwrap_err().to_string();
        assert!(err.contains("j.jsonl:2") && err.contains("move it aside"), "{err}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
        // Nor is a link followed.
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "keep").unwrap();
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(&target, &p).unwrap();
        assert!(Journal::open(&p).unwrap_err().to_string().contains("not a regular file"));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }

    #[test]
    fn rows_are_kept_per_slot_not_per_content() {
        let mut other = row("jpeg", 50.0, 30.0);
        other.dataset = "other".into();
        let mut later = row("jpeg", 50.0, 31.0);
        later.encode_ms = Some(9.0);
        let kept = last_per_slot(vec![row("jpeg", 50.0, 30.0), other.clone(), later.clone()]);
        assert_eq!(
            kept,
            vec![later, other],
            "same key, two slots: both kept; the later row of a slot wins"
        );
    }

    #[test]
    fn corrupt_journal_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        std::fs::write(&p, format!("garbage\n{}\n", serde_json::to_string(&row("a", 1.0, 2.0)).unwrap())).unwrap();
        let err = Journal::read(&p).unwrap_err().to_string();
        assert!(err.contains("j.jsonl:1"), "{err}");
    }

    fn with_task(mut r: ResultRow) -> ResultRow {
        r.tasks.insert(
            "nanodet".into(),
            TaskOutput {
                model: "nanodet:ab12".into(),
                detections: vec![Detection {
                    bbox: [1.5, 2.0, 10.25, 4.0],
                    score: 0.75,
                    category_id: 3,
                }],
                masks: Some(vec!["0`0".into()]),
                similarities: None,
                error: None,
            },
        );
        r
    }

    /// Task outputs are typed in memory and stored as JSON text in the journal, Parquet and
    /// CSV; a row writes the same line again.
    #[test]
    fn task_outputs_are_stored_as_text_and_read_typed() {
        let r = with_task(row("jpeg", 50.0, 30.0));
        let line = serde_json::to_string(&r).unwrap();
        assert!(
            line.contains(
                r#""tasks":"{\"nanodet\":{\"model\":\"nanodet:ab12\",\"detections\":[{\"bbox\":[1.5,2.0,10.25,4.0],\"score\":0.75,\"category_id\":3}],\"masks\":[\"0`0\"]}}""#
            ),
            "{line}"
        );
        let back: ResultRow = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        assert_eq!(serde_json::to_string(&back).unwrap(), line);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.parquet");
        write_parquet(&p, std::slice::from_ref(&r)).unwrap();
        assert_eq!(read_parquet(&p).unwrap(), vec![r]);
    }

    /// A table written before several tasks per run (a `detections` column of boxes) reads
    /// its boxes as the output of [`LEGACY_TASK`], with no model identity (so a run computes
    /// them again), and the column is not taken for a metric.
    #[test]
    fn old_detections_columns_read_as_the_legacy_task() {
        let r = row("jpeg", 50.0, 30.0);
        let mut df = to_dataframe(std::slice::from_ref(&r)).unwrap();
        df.with_column(Column::new(
            "detections".into(),
            [r#"[{"bbox":[1.5,2.0,10.25,4.0],"score":0.75,"category_id":3}]"#],
        ))
        .unwrap();
        assert_eq!(metric_columns(&df), ["psnr-rgb"]);
        let rows = from_dataframe(&df, Path::new("old.parquet")).unwrap();
        let legacy = &rows[0].tasks[LEGACY_TASK];
        assert_eq!((legacy.model.as_str(), legacy.detections.len()), ("", 1));
        assert_eq!(legacy.detections[0].bbox, [1.5, 2.0, 10.25, 4.0]);
    }

    /// Provenance is stored as JSON text in the journal, Parquet and CSV and read back
    /// typed; a table written before the column existed reads as rows without it.
    #[test]
    fn provenance_round_trips_and_old_tables_have_none() {
        let mut r = row("jpeg", 50.0, 30.0);
        r.provenance = Some(shard::Provenance {
            host: "node7".into(),
            slurm_job_id: Some("41".into()),
            slurm_array_job_id: Some("40".into()),
            slurm_array_task_id: Some("1".into()),
            icmbench_version: "0.1.0".into(),
            git_commit: "abc".into(),
            started: "2026-12-02T10:00:00.000Z".into(),
            finished: "2026-12-02T10:00:01.500Z".into(),
        });
        let line = serde_json::to_string(&r).unwrap();
        assert!(
            line.contains(r#""provenance":"{\"host\":\"node7\",\"slurm_job_id\":\"41\""#),
            "{line}"
        );
        assert_eq!(serde_json::from_str::<ResultRow>(&line).unwrap(), r);
        let dir = tempfile::tempdir().unwrap();
        let (p, c) = (dir.path().join("r.parquet"), dir.path().join("r.csv"));
        write_parquet(&p, std::slice::from_ref(&r)).unwrap();
        write_csv(&c, std::slice::from_ref(&r)).unwrap();
        assert_eq!(read_parquet(&p).unwrap(), vec![r.clone()]);
        assert!(std::fs::read_to_string(&c).unwrap().lines().next().unwrap().contains("provenance"));
        let mut old = to_dataframe(std::slice::from_ref(&r)).unwrap();
        let _ = old.drop_in_place("provenance").unwrap();
        let rows = from_dataframe(&old, Path::new("old.parquet")).unwrap();
        assert_eq!(rows[0].provenance, None);
        assert_eq!(ResultRow { provenance: None, ..r }, rows[0]);
    }

    /// A status other than `ok` or `failed` in a table is an error naming the file and row,
    /// not a row silently counted as failed.
    #[test]
    fn unknown_status_is_named() {
        let mut df = to_dataframe(&[row("jpeg", 50.0, 30.0)]).unwrap();
        df.replace("status", Column::new("status".into(), ["done"])).unwrap();
        let e = from_dataframe(&df, Path::new("t.parquet")).unwrap_err().to_string();
        assert!(e.contains("t.parquet") && e.contains("row 1") && e.contains("`done`"), "{e}");
        assert_eq!(Status::parse("failed"), Some(Status::Failed));
        assert_eq!(Status::Ok.to_string(), STATUS_OK);
    }

    /// A task cell that does not parse (a NaN box written as `null`) drops those outputs,
    /// not the table.
    #[test]
    fn a_bad_task_cell_drops_only_its_outputs() {
        let mut df = to_dataframe(&[with_task(row("jpeg", 50.0, 30.0))]).unwrap();
        df.replace(
            "tasks",
            Column::new(
                "tasks".into(),
                [r#"{"nanodet":{"model":"m","detections":[{"bbox":[null,1,2,3],"score":0.5,"category_id":1}]}}"#],
            ),
        )
        .unwrap();
        let rows = from_dataframe(&df, Path::new("t.parquet")).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].tasks.is_empty());
    }
}
