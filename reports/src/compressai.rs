//! CompressAI's result JSON (`results/image/<dataset>/*.json` in its repository):
//! `{"name": ..., "description": ..., "results": {"bpp": [...], "psnr-rgb": [...], ...}}`,
//! one list entry per quality point. Read as curves for reports and `icmbench bd`, and
//! written from icmbench results so CompressAI's `plot` and other tools can read them.

use std::collections::BTreeMap;
use std::path::Path;

use icmbench_models::textfile::{TEXT_CAP, read_text_capped};
use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::bd::Curve;

/// One CompressAI result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompressaiResults {
    /// Codec name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Column name → one value per quality point (`bpp`, `psnr-rgb`, `ms-ssim-rgb`, ...).
    pub results: BTreeMap<String, Vec<f64>>,
}

impl CompressaiResults {
    /// Reads a file (at most [`TEXT_CAP`] bytes), naming it in errors.
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        let text = read_text_capped(path, TEXT_CAP)?;
        serde_json::from_str(&text).map_err(|e| ReportError::Schema {
            path: path.display().to_string(),
            message: format!("not a CompressAI result file: {e}"),
        })
    }

    /// Writes the file (atomically).
    pub fn write(&self, path: &Path) -> Result<(), ReportError> {
        crate::store::write_json(path, self)
    }

    /// The (bpp, metric) curve, labelled with the codec name.
    pub fn curve(&self, metric: &str, path: &Path) -> Result<Curve, ReportError> {
        let get = |key: &str| {
            self.results.get(key).cloned().ok_or_else(|| ReportError::Schema {
                path: path.display().to_string(),
                message: format!(
                    "no `{key}` in results; it has: {}",
                    self.results.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            })
        };
        Ok(Curve::new(self.name.clone(), get("bpp")?, get(metric)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_metric() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        let r = CompressaiResults {
            name: "jpeg".into(),
            description: "d".into(),
            results: [("bpp".to_string(), vec![0.2, 0.4]), ("psnr-rgb".to_string(), vec![28.0, 31.0])]
                .into_iter()
                .collect(),
        };
        r.write(&p).unwrap();
        let back = CompressaiResults::read(&p).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.curve("psnr-rgb", &p).unwrap().metric, vec![28.0, 31.0]);
        let e = back.curve("lpips", &p).unwrap_err().to_string();
        assert!(e.contains("x.json") && e.contains("no `lpips`") && e.contains("psnr-rgb"), "{e}");
        std::fs::write(&p, "{\"name\": 3}").unwrap();
        assert!(
            CompressaiResults::read(&p)
                .unwrap_err()
                .to_string()
                .contains("not a CompressAI result file")
        );
    }

    #[test]
    fn endless_input_is_refused_at_the_cap() {
        let e = CompressaiResults::read(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("/dev/zero") && e.contains("larger than 64 MiB"), "{e}");
    }
}
