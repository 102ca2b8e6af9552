//! `icmbench merge OUT`: the shards of an output folder (`shards/K-of-N/`, each written by
//! `run --shard K/N`) into the folder's own result store, as one unsharded run would have
//! written it, so that `report`, `plot` and `export-compressai` read it unchanged:
//!
//! 1. take the folder's lock, and each shard's (a shard still running holds its own);
//! 2. find the shards: every K of every N present must be there and finished (its
//!    `shard.json` says so), else an error listing the missing and unfinished ones, unless
//!    partial results are allowed, which `run.json` then records for every table to show;
//! 3. check that all shards ran the same config;
//! 4. merge their rows ([`merge_rows`]: one row per slot, in plan order; equal duplicates
//!    once, differing duplicates an error naming them), keep earlier rows of slots no
//!    shard filled, and store the table;
//! 5. merge the detection ground truths (pseudo ground truths image by image, dataset
//!    annotations must be equal copies) and write `run.json` with every shard's provenance.
//!
//! Nothing in the output depends on when or how often the merge ran: merging twice gives
//! the same bytes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use icmbench_models::textfile::{DATA_JSON_CAP, read_text_capped};
use icmbench_reports::ReportError;
use icmbench_reports::store::shard::{Conflicts, Shard, ShardRecord, ShardRows, ShardState, merge_rows};
use icmbench_reports::store::{
    BITSTREAMS_DIR, CONFIG_COPY, GT_DIR, LockError, OutputLock, RUN_META, SHARD_META, SHARDS_DIR, Store, write_json, write_text,
};
use serde::Serialize;
use serde_json::{Value, json};

/// Why a merge stopped (nothing is written then).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No shard folder was found.
    #[error("{0}: no shards here (run `icmbench run CONFIG --shard K/N` first)")]
    NoShards(String),
    /// Shards are missing or unfinished.
    #[error("{}; merge them when they are done, or pass --allow-partial", incomplete_text(missing, unfinished))]
    Incomplete {
        /// Shards never started.
        missing: Vec<String>,
        /// Shards started and not finished (running or killed), with why.
        unfinished: Vec<String>,
    },
    /// The shards ran different configs.
    #[error("the shards ran different configs: {0}")]
    Configs(String),
    /// A shard's record cannot be read.
    #[error("{path}: {message}")]
    Record {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Two shards hold different results for one slot.
    #[error(transparent)]
    Conflicts(#[from] Conflicts),
    /// The ground truths cannot be merged.
    #[error("ground truth {path}: {message}")]
    GroundTruth {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Store(#[from] ReportError),
    /// The output folder is in use.
    #[error(transparent)]
    Lock(#[from] LockError),
}

fn incomplete_text(missing: &[String], unfinished: &[String]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing shards: {}", missing.join(", ")));
    }
    if !unfinished.is_empty() {
        parts.push(format!("unfinished shards: {}", unfinished.join("; ")));
    }
    parts.join("; ")
}

/// What `merge` is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct MergeOptions {
    /// Merge what there is when shards are missing or unfinished (the results are then
    /// marked partial).
    pub allow_partial: bool,
}

/// What a merge did (`merge --json`).
#[derive(Debug, Clone, Serialize)]
pub struct MergeOutcome {
    /// The output folder.
    pub output: PathBuf,
    /// The shards merged, as `K-of-N`.
    pub shards: Vec<String>,
    /// Rows in the merged table.
    pub rows: usize,
    /// Failed rows among them.
    pub failed: usize,
    /// Whether shards were missing or unfinished.
    pub partial: bool,
    /// Shards never started.
    pub missing: Vec<String>,
    /// Shards started and not finished, with why.
    pub unfinished: Vec<String>,
}

/// A shard folder found in the output folder.
struct Found {
    shard: Shard,
    store: Store,
    record: Option<ShardRecord>,
    /// Why it is not finished (`None`: finished).
    unfinished: Option<String>,
    _lock: Option<OutputLock>,
}

/// Merges the shards of `out` into its result store.
pub fn merge(out: &Path, opts: &MergeOptions) -> Result<MergeOutcome, MergeError> {
    let store = Store::new(out);
    let _lock = store.lock()?;
    let found = survey(out)?;
    let missing = missing_shards(&found);
    let unfinished: Vec<String> = found
        .iter()
        .filter_map(|f| f.unfinished.as_ref().map(|why| format!("{} ({why})", f.shard.folder_name())))
        .collect();
    let partial = !missing.is_empty() || !unfinished.is_empty();
    if partial && !opts.allow_partial {
        return Err(MergeError::Incomplete { missing, unfinished });
    }
    check_configs(&found)?;
    let mut order: HashMap<(String, String), (usize, usize)> = HashMap::new();
    for image in found.iter().filter_map(|f| f.record.as_ref()).flat_map(|r| &r.images) {
        order.insert((image.dataset.clone(), image.image.clone()), (image.dataset_index, image.position));
    }
    let shards = found
        .iter()
        .map(|f| {
            Ok(ShardRows {
                name: f.shard.folder_name(),
                rows: f.store.load()?,
            })
        })
        .collect::<Result<Vec<_>, ReportError>>()?;
    let merged = merge_rows(shards, &order)?;
    let rows = crate::run::final_table(&merged, store.load()?).map_err(|e| MergeError::Record {
        path: out.display().to_string(),
        message: e.to_string(),
    })?;
    merge_ground_truths(&found, out)?;
    merge_bitstreams(&found, out)?;
    store.finish(&rows)?;
    let outcome = MergeOutcome {
        output: out.to_path_buf(),
        shards: found.iter().map(|f| f.shard.folder_name()).collect(),
        rows: rows.len(),
        failed: rows.iter().filter(|r| !r.is_ok()).count(),
        partial,
        missing,
        unfinished,
    };
    write_run_meta(&found, &store, &outcome)?;
    Ok(outcome)
}

/// The shard folders of `out` (`shards/K-of-N`, real folders only), each locked, with its
/// record, sorted by (N, K). Other entries are skipped with a warning.
fn survey(out: &Path) -> Result<Vec<Found>, MergeError> {
    let dir = out.join(SHARDS_DIR);
    let io = |source| ReportError::Io {
        path: dir.display().to_string(),
        source,
    };
    let entries = match std::fs::read_dir(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(MergeError::NoShards(out.display().to_string())),
        r => r.map_err(io)?,
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().to_string();
        let is_dir = entry.file_type().map_err(io)?.is_dir();
        match Shard::from_folder_name(&name).filter(|_| is_dir) {
            Some(shard) => found.push(inspect(shard, Store::new(&entry.path()))?),
            None => tracing::warn!("{}: not a shard folder (K-of-N); skipped", entry.path().display()),
        }
    }
    if found.is_empty() {
        return Err(MergeError::NoShards(out.display().to_string()));
    }
    found.sort_by_key(|f| (f.shard.count, f.shard.index));
    Ok(found)
}

/// A shard folder: locked when no run holds it, with its record and whether it finished.
fn inspect(shard: Shard, store: Store) -> Result<Found, MergeError> {
    let (lock, busy) = match store.lock() {
        Ok(l) => (Some(l), None),
        Err(LockError::Busy { holder, .. }) => (None, Some(format!("running: {holder}"))),
        Err(e) => return Err(e.into()),
    };
    let path = store.path(SHARD_META);
    let record: Option<ShardRecord> = match read_text_capped(&path, DATA_JSON_CAP) {
        Ok(text) => Some(serde_json::from_str(&text).map_err(|e| MergeError::Record {
            path: path.display().to_string(),
            message: e.to_string(),
        })?),
        Err(_) if !path.exists() => None,
        Err(e) => return Err(ReportError::from(e).into()),
    };
    if let Some(r) = &record
        && r.shard != shard
    {
        return Err(MergeError::Record {
            path: path.display().to_string(),
            message: format!("records shard {}, but its folder is {}", r.shard, shard.folder_name()),
        });
    }
    let unfinished = busy.or_else(|| match &record {
        None => Some("never started: no shard.json".into()),
        Some(r) if r.state == ShardState::Running => Some(format!(
            "started {} and not finished: killed, or still running",
            r.provenance.started
        )),
        Some(_) => None,
    });
    Ok(Found {
        shard,
        store,
        record,
        unfinished,
        _lock: lock,
    })
}

/// Every K of every N present that has no folder.
fn missing_shards(found: &[Found]) -> Vec<String> {
    let mut counts: Vec<usize> = found.iter().map(|f| f.shard.count).collect();
    counts.dedup();
    counts
        .into_iter()
        .flat_map(|n| (0..n).map(move |k| (k, n)))
        .filter(|&(k, n)| !found.iter().any(|f| f.shard.index == k && f.shard.count == n))
        .map(|(k, n)| format!("{k}-of-{n}"))
        .collect()
}

/// All shards with a record ran the same config (by its hash).
fn check_configs(found: &[Found]) -> Result<(), MergeError> {
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in found {
        if let Some(r) = &f.record {
            groups.entry(r.config_hash.as_str()).or_default().push(f.shard.folder_name());
        }
    }
    if groups.len() <= 1 {
        return Ok(());
    }
    let text = groups
        .iter()
        .map(|(hash, shards)| format!("{} ran config {}", shards.join(", "), &hash[..hash.len().min(12)]))
        .collect::<Vec<_>>()
        .join("; ");
    Err(MergeError::Configs(text))
}

/// The `.json` files of a shard's ground-truth folder, by their path in it: `<dataset>.json`
/// (tables before several tasks) and `<task>/<dataset>.json`, `<task>/task.json`.
fn ground_truth_files(dir: &Path, files: &mut BTreeMap<PathBuf, Vec<PathBuf>>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = PathBuf::from(entry.file_name());
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_file() && name.extension().is_some_and(|e| e == "json") {
            files.entry(name).or_default().push(entry.path());
        } else if kind.is_dir()
            && let Ok(inner) = std::fs::read_dir(entry.path())
        {
            for e in inner.flatten() {
                let file = PathBuf::from(e.file_name());
                if e.file_type().is_ok_and(|t| t.is_file()) && file.extension().is_some_and(|x| x == "json") {
                    files.entry(name.join(file)).or_default().push(e.path());
                }
            }
        }
    }
}

/// The shards' coded streams (runs with tasks) in the output folder, so that a task added
/// after the merge decodes them: hard-linked where the file system allows, else copied.
fn merge_bitstreams(found: &[Found], out: &Path) -> Result<(), MergeError> {
    let target = out.join(BITSTREAMS_DIR);
    for f in found {
        let Ok(entries) = std::fs::read_dir(f.store.path(BITSTREAMS_DIR)) else {
            continue;
        };
        std::fs::create_dir_all(&target).map_err(|source| ReportError::Io {
            path: target.display().to_string(),
            source,
        })?;
        for e in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_file())) {
            let to = target.join(e.file_name());
            if to.exists() {
                continue;
            }
            if std::fs::hard_link(e.path(), &to).is_err() {
                std::fs::copy(e.path(), &to).map_err(|source| ReportError::Io {
                    path: to.display().to_string(),
                    source,
                })?;
            }
        }
    }
    Ok(())
}

/// `ground_truth/…` of the output folder from the shards' ones.
fn merge_ground_truths(found: &[Found], out: &Path) -> Result<(), MergeError> {
    let mut files: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for f in found {
        ground_truth_files(&f.store.path(GT_DIR), &mut files);
    }
    for (name, paths) in files {
        let target = out.join(GT_DIR).join(&name);
        let err = |message: String| MergeError::GroundTruth {
            path: target.display().to_string(),
            message,
        };
        let texts = paths
            .iter()
            .map(|p| read_text_capped(p, DATA_JSON_CAP).map_err(ReportError::from))
            .collect::<Result<Vec<String>, _>>()?;
        match crate::tasks::detection::merge_pseudo_ground_truths(&texts).map_err(err)? {
            Some(doc) => write_json(&target, &doc)?,
            None if texts.iter().all(|t| t == &texts[0]) => write_text(&target, &texts[0])?,
            None => return Err(err("the shards hold different copies of the dataset's annotations".into())),
        }
    }
    Ok(())
}

/// `run.json` and `config.toml` of the merged folder: the first finished shard's, with the
/// merged counts, and a `merge` record of every shard's provenance and of what is missing.
fn write_run_meta(found: &[Found], store: &Store, outcome: &MergeOutcome) -> Result<(), MergeError> {
    let read = |f: &Found, name: &str| read_text_capped(&f.store.path(name), DATA_JSON_CAP).ok();
    // Each shard's run.json, read once (absent for a shard that never finished a run).
    let metas: Vec<Option<Value>> = found
        .iter()
        .map(|f| read(f, RUN_META).and_then(|t| serde_json::from_str(&t).ok()))
        .collect();
    let finished_first = found.iter().zip(&metas).filter(|(f, _)| f.unfinished.is_none());
    let base = finished_first.chain(found.iter().zip(&metas)).find_map(|(_, m)| m.clone());
    let mut meta = base.unwrap_or_else(|| json!({}));
    let shards: Vec<Value> = found
        .iter()
        .map(|f| {
            json!({
                "shard": f.shard.folder_name(),
                "finished": f.unfinished.is_none(),
                "rows": f.record.as_ref().map(|r| r.rows),
                "failed": f.record.as_ref().map(|r| r.failed),
                "provenance": f.record.as_ref().map(|r| &r.provenance),
            })
        })
        .collect();
    let finished = metas.iter().flatten().filter_map(|m| m.get("finished_unix_s")?.as_u64()).max();
    if let Some(m) = meta.as_object_mut() {
        m.remove("shard");
        m.insert("rows".into(), json!(outcome.rows));
        m.insert("failed".into(), json!(outcome.failed));
        m.insert("computed".into(), Value::Null);
        m.insert("finished_unix_s".into(), json!(finished));
        m.insert(
            "merge".into(),
            json!({"shards": shards, "partial": outcome.partial, "missing": outcome.missing, "unfinished": outcome.unfinished}),
        );
    }
    if let Some(config) = found.iter().find_map(|f| read(f, CONFIG_COPY)) {
        write_text(&store.path(CONFIG_COPY), &config)?;
    }
    Ok(write_json(&store.path(RUN_META), &meta)?)
}

/// What the report says of partial results: the `merge` record of a merged folder's
/// `run.json` (`None` when the results are complete).
pub fn partial_note(run_meta: &str) -> Option<String> {
    let meta: Value = serde_json::from_str(run_meta).ok()?;
    let merge = meta.get("merge")?;
    if merge.get("partial").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let list = |key: &str| -> Vec<String> {
        merge
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    Some(format!(
        "PARTIAL RESULTS: merged with --allow-partial; {}",
        incomplete_text(&list("missing"), &list("unfinished"))
    ))
}
