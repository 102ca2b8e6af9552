//! A shard's record (`shard.json` in its store): written as `running` before its first row
//! and as `finished`, with its counts and end time, after its table is stored, so that
//! `icmbench merge` tells a finished shard from one still running or killed.

use icmbench_reports::ReportError;
use icmbench_reports::store::shard::{Provenance, Shard, ShardImage, ShardRecord, ShardState};
use icmbench_reports::store::{ResultRow, SHARD_META, Store, write_json};

/// A shard being run.
pub(crate) struct ShardRun {
    path: std::path::PathBuf,
    record: ShardRecord,
}

impl ShardRun {
    /// Records the shard as running, with its images and the process's provenance.
    pub fn start(store: &Store, shard: Shard, images: Vec<ShardImage>, origin: &Provenance, config: &str) -> Result<Self, ReportError> {
        let run = Self {
            path: store.path(SHARD_META),
            record: ShardRecord {
                shard,
                state: ShardState::Running,
                provenance: origin.clone(),
                config_hash: blake3::hash(config.as_bytes()).to_hex().to_string(),
                rows: 0,
                failed: 0,
                images,
            },
        };
        write_json(&run.path, &run.record)?;
        Ok(run)
    }

    /// Records the shard as finished with its rows.
    pub fn finish(mut self, rows: &[ResultRow]) -> Result<(), ReportError> {
        self.record.state = ShardState::Finished;
        self.record.rows = rows.len();
        self.record.failed = rows.iter().filter(|r| !r.is_ok()).count();
        self.record.provenance.finished = crate::cluster::now_utc();
        write_json(&self.path, &self.record)
    }
}
