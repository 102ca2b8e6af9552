//! The layout of one output folder: `results.parquet` and `results.csv` (replaced
//! atomically at the end of a run), `journal.jsonl` (rows appended as they finish, so an
//! interrupted run resumes from it), `run.json` (what the last run was), `config.toml` (a
//! copy of the config the last run was given), `ground_truth/` (the ground truths of
//! machine tasks, `ground_truth/<task>/<dataset>.json`), `bitstreams/` (the coded streams of
//! a run with tasks, so that a task added later decodes them instead of coding again) and
//! `.lock` (the advisory lock that keeps one writer per folder,
//! [`OutputLock`]).
//!
//! Rows are identified by their slot, (dataset, image, codec, quality)
//! ([`ResultRow::id`]): a later row of a slot replaces an earlier one, and rows of different
//! slots are never merged, whatever their pixels.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::ReportError;
use crate::store::{self, Journal, ResultRow};

/// The result table in Parquet (what [`Store::load`] reads, with the journal).
pub const PARQUET: &str = "results.parquet";
/// CSV copy of the result table.
pub const CSV: &str = "results.csv";
/// Append-only journal of finished rows.
pub const JOURNAL: &str = "journal.jsonl";
/// Metadata of the last run.
pub const RUN_META: &str = "run.json";
/// Copy of the config the last run was given (what `report` embeds).
pub const CONFIG_COPY: &str = "config.toml";
/// The advisory lock file: one writer per output folder.
pub const LOCK: &str = ".lock";
/// Folder of ground-truth files (detection tasks): `ground_truth/<dataset>.json`.
pub const GT_DIR: &str = "ground_truth";
/// Folder of the coded streams of a run with tasks: `bitstreams/<key>.bin`
/// ([`super::RowKey::file_name`]).
pub const BITSTREAMS_DIR: &str = "bitstreams";
/// Folder of the scored images of a run with `save_reconstructions = true`
/// (`reconstructions/<dataset>/<codec>/q<quality>/<image>.png`), which the report's image
/// viewer shows.
pub const RECONSTRUCTIONS_DIR: &str = "reconstructions";

/// One output folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Why an output folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error("output folder {dir} is in use by another icmbench run ({holder}); wait for it to finish, or give this run another `output`")]
    Busy {
        /// The folder.
        dir: String,
        /// Who holds it, as its lock file says (PID, host, start time).
        holder: String,
    },
    /// The lock file could not be created, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The held lock of an output folder; released (and its file emptied) when dropped, and by
/// the OS if the process dies.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // An empty lock file means a clean release; the OS drops the lock itself on close.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// This machine's host name (`unknown host` when it cannot be read).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".into())
}

/// Who this process is, as written into a lock file.
fn holder_text() -> String {
    let host = host_name();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("pid {} on {host}, started at unix time {since}", std::process::id())
}

impl Store {
    /// A store in `dir` (created when first written).
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of a file in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Takes the folder's advisory lock (creating the folder), so that one run at a time
    /// writes it. A lock file left non-empty by a run that died is a stale lock: it is
    /// reported and taken over (the OS released the lock itself when that process ended).
    pub fn lock(&self) -> Result<OutputLock, LockError> {
        let path = self.path(LOCK);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        // Never through a link: the lock file is written, and a link would aim that anywhere.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io)?;
        if !file.metadata().map_err(io)?.is_file() {
            return Err(io(std::io::Error::other("not a regular file")));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = (&file).take(4096).read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Busy {
                    dir: self.dir.display().to_string(),
                    holder: if holder.is_empty() {
                        "holder unknown".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut previous = String::new();
        let _ = (&file).take(4096).read_to_string(&mut previous);
        if !previous.trim().is_empty() {
            tracing::warn!(
                "{}: stale lock of a run that did not finish ({}); taking it over",
                path.display(),
                previous.trim()
            );
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(holder_text().as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(OutputLock { file })
    }

    /// Every row stored so far: the Parquet table, then the journal; a later row of the same
    /// slot replaces an earlier one.
    pub fn load(&self) -> Result<Vec<ResultRow>, ReportError> {
        let parquet = self.path(PARQUET);
        let mut rows = if parquet.exists() {
            store::read_parquet(&parquet)?
        } else {
            Vec::new()
        };
        rows.extend(Journal::read(&self.path(JOURNAL))?);
        Ok(store::last_per_slot(rows))
    }

    /// Opens the journal for appending (healing a torn tail first).
    pub fn journal(&self) -> Result<Journal, ReportError> {
        Journal::open(&self.path(JOURNAL))
    }

    /// Writes the final table (Parquet, CSV) atomically, then empties the journal.
    pub fn finish(&self, rows: &[ResultRow]) -> Result<(), ReportError> {
        store::write_parquet(&self.path(PARQUET), rows)?;
        store::write_csv(&self.path(CSV), rows)?;
        store::write_atomic(&self.path(JOURNAL), |_| Ok(()))
    }
}
