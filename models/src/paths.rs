//! Paths from configs and contracts: resolved lexically, without touching the file system.

use std::path::{Component, Path, PathBuf};

/// Removes `.` and `name/..` pairs without touching the file system, so that messages show
/// `results/demo` rather than `examples/../results/demo`. A leading `..` stays.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() { PathBuf::from(".") } else { out.iter().collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_and_parent_pairs_go() {
        assert_eq!(normalize(Path::new("examples/../results/./demo")), Path::new("results/demo"));
        assert_eq!(normalize(Path::new("../x")), Path::new("../x"));
        assert_eq!(normalize(Path::new("a/..")), Path::new("."));
    }
}
