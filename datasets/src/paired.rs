//! Paired low-level datasets: a folder of degraded inputs and a folder of ideal targets,
//! matched by relative path without extension (so `x.png` pairs with `x.jpg`). Files on
//! one side only are an error that lists them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{DatasetError, ImageEntry, scan_folder};

/// One (degraded, ideal) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The degraded image (its `id` is the result rows' image id).
    pub input: ImageEntry,
    /// The ideal target.
    pub target: ImageEntry,
}

/// Errors of pairing.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// A folder could not be listed.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// Some files have no partner.
    #[error("unmatched files: {} only in {}: [{}]; {} only in {}: [{}]", only_input.len(), input.display(), only_input.join(", "), only_target.len(), target.display(), only_target.join(", "))]
    Unmatched {
        /// Input folder.
        input: PathBuf,
        /// Target folder.
        target: PathBuf,
        /// Files only among the inputs.
        only_input: Vec<String>,
        /// Files only among the targets.
        only_target: Vec<String>,
    },
    /// Two files of one side have the same name without extension.
    #[error("{folder}: `{a}` and `{b}` pair with the same name")]
    Ambiguous {
        /// The folder.
        folder: PathBuf,
        /// One file.
        a: String,
        /// The other.
        b: String,
    },
}

fn by_stem(folder: &Path, entries: Vec<ImageEntry>) -> Result<BTreeMap<String, ImageEntry>, PairError> {
    let mut out: BTreeMap<String, ImageEntry> = BTreeMap::new();
    for e in entries {
        let stem = Path::new(&e.id).with_extension("").to_string_lossy().replace('\\', "/");
        if let Some(prev) = out.get(&stem) {
            return Err(PairError::Ambiguous {
                folder: folder.to_path_buf(),
                a: prev.id.clone(),
                b: e.id,
            });
        }
        out.insert(stem, e);
    }
    Ok(out)
}

/// Pairs the images of `input` and `target` by relative path without extension, sorted.
pub fn pair_folders(input: &Path, target: &Path) -> Result<Vec<Pair>, PairError> {
    let a = by_stem(input, scan_folder(input)?)?;
    let b = by_stem(target, scan_folder(target)?)?;
    let only_input: Vec<String> = a.iter().filter(|(k, _)| !b.contains_key(*k)).map(|(_, e)| e.id.clone()).collect();
    let only_target: Vec<String> = b.iter().filter(|(k, _)| !a.contains_key(*k)).map(|(_, e)| e.id.clone()).collect();
    if !only_input.is_empty() || !only_target.is_empty() {
        return Err(PairError::Unmatched {
            input: input.to_path_buf(),
            target: target.to_path_buf(),
            only_input,
            only_target,
        });
    }
    let mut b = b;
    Ok(a.into_iter()
        .filter_map(|(k, input)| b.remove(&k).map(|target| Pair { input, target }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        image::RgbImage::new(4, 4).save(p).unwrap();
    }

    #[test]
    fn pairs_by_name_across_extensions_and_lists_unmatched() {
        let dir = tempfile::tempdir().unwrap();
        let (lq, gt) = (dir.path().join("lq"), dir.path().join("gt"));
        for n in ["a.png", "sub/b.png", "c.png"] {
            write(&lq, n);
        }
        for n in ["a.bmp", "sub/b.png", "d.png"] {
            write(&gt, n);
        }
        let err = pair_folders(&lq, &gt).unwrap_err().to_string();
        assert!(
            err.contains("only in") && err.contains("[c.png]") && err.contains("[d.png]"),
            "{err}"
        );
        std::fs::remove_file(lq.join("c.png")).unwrap();
        std::fs::remove_file(gt.join("d.png")).unwrap();
        let pairs = pair_folders(&lq, &gt).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!((pairs[0].input.id.as_str(), pairs[0].target.id.as_str()), ("a.png", "a.bmp"));
        assert_eq!(pairs[1].target.id, "sub/b.png");
        write(&gt, "a.png");
        assert!(pair_folders(&lq, &gt).unwrap_err().to_string().contains("same name"));
    }
}
