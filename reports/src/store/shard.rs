//! Sharded runs: a run split into N shards by image content (`icmbench run --shard K/N`),
//! each a store of its own in `shards/K-of-N/` of the output folder with a `shard.json`
//! ([`ShardRecord`]) saying whether it finished and which images it covered; where each row
//! was computed ([`Provenance`]); and the merge of the shards' rows into one table
//! ([`merge_rows`]: one row per slot, equal duplicates kept once, differing duplicates an
//! error naming them).
//!
//! The partition ([`partition`]) is by content hash: every image lands in one shard with all
//! its rows (codec points, tasks, reference rows), whatever the order of the files, and the
//! shards differ in size by at most one image.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::store::{ResultRow, RowId};

/// The folder of the shards' stores inside an output folder.
pub const SHARDS_DIR: &str = "shards";
/// A shard's record in its store: [`ShardRecord`].
pub const SHARD_META: &str = "shard.json";

/// Shard `index` of `count` (`index` from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

/// A shard that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not `K/N` with whole numbers.
    #[error("shard `{0}`: expected K/N with K from 0 to N-1 (e.g. 0/4)")]
    Syntax(String),
    /// `K ≥ N` or `N = 0`.
    #[error("shard {index}/{count}: K must be from 0 to N-1 and N at least 1")]
    Range {
        /// K.
        index: usize,
        /// N.
        count: usize,
    },
}

impl Shard {
    /// Shard `index` of `count`, when it exists.
    pub fn new(index: usize, count: usize) -> Result<Self, ShardError> {
        if count == 0 || index >= count {
            return Err(ShardError::Range { index, count });
        }
        Ok(Self { index, count })
    }

    /// Its folder's name in [`SHARDS_DIR`]: `K-of-N`.
    pub fn folder_name(&self) -> String {
        format!("{}-of-{}", self.index, self.count)
    }

    /// The shard a folder name stands for (`K-of-N`, as [`Shard::folder_name`] writes it).
    pub fn from_folder_name(name: &str) -> Option<Self> {
        let (k, n) = name.split_once("-of-")?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
        if !digits(k) || !digits(n) {
            return None;
        }
        Shard::new(k.parse().ok()?, n.parse().ok()?).ok()
    }

    /// Its store: `output/shards/K-of-N`.
    pub fn dir(&self, output: &Path) -> PathBuf {
        output.join(SHARDS_DIR).join(self.folder_name())
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, n) = s.split_once('/').ok_or_else(|| ShardError::Syntax(s.to_string()))?;
        let number = |t: &str| t.trim().parse::<usize>().map_err(|_| ShardError::Syntax(s.to_string()));
        Shard::new(number(k)?, number(n)?)
    }
}

/// The images of one shard, as positions in `keys` (each image's content hash, in plan
/// order): the images are ranked by (hash, position) and shard K takes ranks K, K+N, K+2N...
/// The same content gives the same shard whatever the order or the names of the files, and
/// no two shards differ by more than one image.
pub fn partition(keys: &[&str], shard: Shard) -> Vec<usize> {
    let mut ranked: Vec<usize> = (0..keys.len()).collect();
    ranked.sort_by(|&a, &b| (keys[a], a).cmp(&(keys[b], b)));
    let mut mine: Vec<usize> = ranked.into_iter().skip(shard.index).step_by(shard.count).collect();
    mine.sort_unstable();
    mine
}

/// Where and when a row (or a shard) was computed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Host name.
    pub host: String,
    /// `SLURM_JOB_ID`, under Slurm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_job_id: Option<String>,
    /// `SLURM_ARRAY_JOB_ID`, in a Slurm job array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_array_job_id: Option<String>,
    /// `SLURM_ARRAY_TASK_ID`, in a Slurm job array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_array_task_id: Option<String>,
    /// icmbench's version.
    pub icmbench_version: String,
    /// The git commit icmbench was built from (`unknown` outside a git checkout).
    pub git_commit: String,
    /// Start time, RFC 3339 (UTC).
    pub started: String,
    /// End time, RFC 3339 (UTC); empty while running.
    pub finished: String,
}

/// Whether a shard's run got to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardState {
    /// Started and not finished (still running, or killed).
    Running,
    /// Finished: every row of the shard is in its table.
    Finished,
}

/// One image of a shard: its dataset (index in the config and name), its position in the
/// dataset's image list of the whole run, and its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardImage {
    /// Index of the dataset in the config.
    pub dataset_index: usize,
    /// Dataset name.
    pub dataset: String,
    /// Position of the image in the dataset (sorted, as an unsharded run lists it).
    pub position: usize,
    /// Image id.
    pub image: String,
}

/// `shard.json`: a shard's state, its last run's provenance, and its images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Which shard.
    pub shard: Shard,
    /// Running or finished.
    pub state: ShardState,
    /// The process that ran it last.
    pub provenance: Provenance,
    /// BLAKE3 hash of the config text it ran (all shards of one run share it).
    pub config_hash: String,
    /// Rows of the shard (when finished).
    pub rows: usize,
    /// Failed rows of the shard (when finished).
    pub failed: usize,
    /// Its images, in plan order.
    pub images: Vec<ShardImage>,
}

/// The rows of one shard's store, for [`merge_rows`].
#[derive(Debug, Clone)]
pub struct ShardRows {
    /// The shard's name (its folder), for messages.
    pub name: String,
    /// Its rows, in its table's order.
    pub rows: Vec<ResultRow>,
}

/// Two results for one slot that differ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} slot(s) have different results in different shards: {}", .0.len(), .0.join("; "))]
pub struct Conflicts(pub Vec<String>);

/// Most conflicts named in a [`Conflicts`] error.
const MAX_NAMED_CONFLICTS: usize = 20;

/// A row as compared across runs and shards: everything but the timings and the
/// provenance, which differ from run to run.
pub fn comparable(row: &ResultRow) -> ResultRow {
    ResultRow {
        encode_ms: None,
        decode_ms: None,
        provenance: None,
        ..row.clone()
    }
}

/// A row as stored (JSON), for comparing: NaN values compare equal there.
fn stored(row: &ResultRow) -> serde_json::Value {
    serde_json::to_value(comparable(row)).unwrap_or_default()
}

/// What differs between two rows of one slot that are not the same result (the first
/// differing column), for messages; `None` when they are the same.
fn difference(a: &ResultRow, b: &ResultRow) -> Option<String> {
    let (a, b) = (stored(a), stored(b));
    if a == b {
        return None;
    }
    let differing = a
        .as_object()
        .zip(b.as_object())
        .and_then(|(a, b)| a.iter().find(|(k, v)| b.get(*k) != Some(*v)).map(|(k, v)| (k, v, b.get(k))));
    Some(match differing {
        Some((k, v, other)) => format!("{k} {v} vs {}", other.cloned().unwrap_or_default()),
        None => "values".into(),
    })
}

/// One table from the shards' rows: every slot once. A slot found in several shards with
/// the same result (timings and provenance aside) is kept once, from the first shard in
/// `shards` order; a slot with different results is a [`Conflicts`] error naming it.
///
/// Rows are ordered as an unsharded run orders them: by `order` ((dataset index, image
/// position) of each (dataset, image), from the shards' records), keeping each shard's
/// table order within an image; rows without a place (earlier runs' slots) come last, by
/// slot.
pub fn merge_rows(shards: Vec<ShardRows>, order: &HashMap<(String, String), (usize, usize)>) -> Result<Vec<ResultRow>, Conflicts> {
    let mut kept: BTreeMap<RowId, (String, ResultRow)> = BTreeMap::new();
    let mut sequence: Vec<RowId> = Vec::new();
    let mut conflicts = Vec::new();
    for shard in shards {
        for row in shard.rows {
            let id = row.id();
            match kept.get(&id) {
                Some((first, earlier)) => {
                    if let Some(what) = difference(earlier, &row) {
                        conflicts.push(format!(
                            "{}/{} {} q={} ({first} vs {}: {what})",
                            row.dataset, row.image, row.codec, row.quality, shard.name
                        ));
                    }
                }
                None => {
                    sequence.push(id.clone());
                    kept.insert(id, (shard.name.clone(), row));
                }
            }
        }
    }
    if !conflicts.is_empty() {
        let total = conflicts.len();
        conflicts.truncate(MAX_NAMED_CONFLICTS);
        if total > MAX_NAMED_CONFLICTS {
            conflicts.push(format!("and {} more", total - MAX_NAMED_CONFLICTS));
        }
        return Err(Conflicts(conflicts));
    }
    let place = |id: &RowId| order.get(&(id.dataset.clone(), id.image.clone())).copied();
    let mut positioned: Vec<(usize, RowId)> = sequence.into_iter().enumerate().collect();
    positioned.sort_by(|(ia, a), (ib, b)| match (place(a), place(b)) {
        (Some(pa), Some(pb)) => (pa, ia).cmp(&(pb, ib)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    });
    Ok(positioned
        .into_iter()
        .filter_map(|(_, id)| kept.remove(&id).map(|(_, row)| row))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Status;

    fn row(image: &str, codec: &str, q: f64, psnr: f64) -> ResultRow {
        ResultRow {
            dataset: "d".into(),
            image: image.into(),
            image_hash: format!("h-{image}"),
            width: 8,
            height: 8,
            conversion: String::new(),
            preprocess: String::new(),
            codec: codec.into(),
            codec_kind: "jpeg".into(),
            codec_version: "v".into(),
            quality: q,
            status: Status::Ok,
            error: None,
            bytes: Some(10),
            bpp: Some(1.25),
            bpp_estimated: None,
            encode_ms: Some(1.0),
            decode_ms: Some(1.0),
            metrics: [("psnr-rgb".to_string(), psnr)].into(),
            tasks: Default::default(),
            provenance: None,
        }
    }

    #[test]
    fn shard_text_and_folder_names_round_trip() {
        let s: Shard = "2/5".parse().unwrap();
        assert_eq!(s, Shard { index: 2, count: 5 });
        assert_eq!(s.to_string(), "2/5");
        assert_eq!(s.folder_name(), "2-of-5");
        assert_eq!(Shard::from_folder_name("2-of-5"), Some(s));
        for bad in ["5/5", "0/0", "1", "a/2", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        for bad in ["5-of-5", "02-of-5", "x-of-2", "1-of-", "../1-of-2", "1-of-2/.."] {
            assert_eq!(Shard::from_folder_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn partition_covers_every_image_once_balanced_and_by_content() {
        let hashes: Vec<String> = (0..23)
            .map(|i| format!("{:016x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        let keys: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let mut seen = vec![0; keys.len()];
        let mut sizes = Vec::new();
        for k in 0..4 {
            let mine = partition(&keys, Shard::new(k, 4).unwrap());
            sizes.push(mine.len());
            for i in mine {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "every image in exactly one shard: {seen:?}");
        assert_eq!(sizes, vec![6, 6, 6, 5]);
        // The same contents listed in another order fall in the same shards.
        let mut reversed = keys.clone();
        reversed.reverse();
        for k in 0..4 {
            let shard = Shard::new(k, 4).unwrap();
            let mut a: Vec<&str> = partition(&keys, shard).into_iter().map(|i| keys[i]).collect();
            let mut b: Vec<&str> = partition(&reversed, shard).into_iter().map(|i| reversed[i]).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
        // One shard: everything, in order.
        assert_eq!(partition(&keys, Shard::new(0, 1).unwrap()), (0..23).collect::<Vec<_>>());
    }

    #[test]
    fn merge_keeps_equal_duplicates_once_and_orders_as_the_plan() {
        let order: HashMap<(String, String), (usize, usize)> = [
            (("d".to_string(), "a.png".to_string()), (0, 0)),
            (("d".to_string(), "b.png".to_string()), (0, 1)),
        ]
        .into();
        let a = vec![row("b.png", "jpeg", 10.0, 30.0), row("b.png", "jpeg", 50.0, 35.0)];
        let mut again = row("b.png", "jpeg", 10.0, 30.0);
        again.encode_ms = Some(9.0);
        again.provenance = Some(Provenance {
            host: "other".into(),
            ..Default::default()
        });
        let b = vec![row("a.png", "jpeg", 10.0, 31.0), again, row("old.png", "jpeg", 10.0, 1.0)];
        let merged = merge_rows(
            vec![
                ShardRows {
                    name: "1-of-2".into(),
                    rows: a,
                },
                ShardRows {
                    name: "0-of-2".into(),
                    rows: b,
                },
            ],
            &order,
        )
        .unwrap();
        let slots: Vec<(String, f64)> = merged.iter().map(|r| (r.image.clone(), r.quality)).collect();
        assert_eq!(
            slots,
            vec![
                ("a.png".into(), 10.0),
                ("b.png".into(), 10.0),
                ("b.png".into(), 50.0),
                ("old.png".into(), 10.0)
            ]
        );
        // The duplicate kept is the first shard's.
        assert_eq!(merged[1].encode_ms, Some(1.0));
    }

    #[test]
    fn merge_refuses_different_results_for_one_slot_and_names_them() {
        let order = HashMap::new();
        let err = merge_rows(
            vec![
                ShardRows {
                    name: "0-of-2".into(),
                    rows: vec![row("a.png", "jpeg", 10.0, 30.0)],
                },
                ShardRows {
                    name: "1-of-2".into(),
                    rows: vec![row("a.png", "jpeg", 10.0, 30.5)],
                },
            ],
            &order,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("d/a.png jpeg q=10"), "{text}");
        assert!(text.contains("0-of-2 vs 1-of-2"), "{text}");
        assert!(text.contains("metrics"), "{text}");
    }
}
