//! The result store of one output folder: `results.parquet` and `results.csv` (replaced
//! atomically at the end of a run), `journal.jsonl` (rows appended as they finish, so an
//! interrupted run resumes from it), and `run.json` (what the last run was).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use icmbench_reports::ReportError;
use icmbench_reports::results::{self, Journal, ResultRow, RowKey};

/// File names inside an output folder.
pub const PARQUET: &str = "results.parquet";
/// CSV copy of the table.
pub const CSV: &str = "results.csv";
/// Append-only journal of finished rows.
pub const JOURNAL: &str = "journal.jsonl";
/// Metadata of the last run.
pub const RUN_META: &str = "run.json";

/// One output folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
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

    /// Every row stored so far: the Parquet table, then the journal; a later row with the
    /// same key replaces an earlier one.
    pub fn load(&self) -> Result<Vec<ResultRow>, ReportError> {
        let parquet = self.path(PARQUET);
        let mut rows = if parquet.exists() {
            results::read_parquet(&parquet)?
        } else {
            Vec::new()
        };
        rows.extend(Journal::read(&self.path(JOURNAL))?);
        Ok(dedupe(rows))
    }

    /// Opens the journal for appending.
    pub fn journal(&self) -> Result<Journal, ReportError> {
        Journal::open(&self.path(JOURNAL))
    }

    /// Writes the final table (Parquet, CSV) atomically, then empties the journal.
    pub fn finish(&self, rows: &[ResultRow]) -> Result<(), ReportError> {
        results::write_parquet(&self.path(PARQUET), rows)?;
        results::write_csv(&self.path(CSV), rows)?;
        results::write_atomic(&self.path(JOURNAL), |_| Ok(()))
    }
}

/// Keeps the last row for every key, in order of first appearance.
pub fn dedupe(rows: Vec<ResultRow>) -> Vec<ResultRow> {
    let mut index: HashMap<RowKey, usize> = HashMap::new();
    let mut out: Vec<ResultRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match index.get(&row.key()) {
            Some(&i) => out[i] = row,
            None => {
                index.insert(row.key(), out.len());
                out.push(row);
            }
        }
    }
    out
}
