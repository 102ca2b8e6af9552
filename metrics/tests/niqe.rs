//! NIQE on pyiqa's calibration images against pyiqa's published values. The parameters
//! come from `scripts/build-models.sh` (basicsr 1.4.2's niqe_pris_params.npz); reference
//! values and how they were made: tests/fixtures/iqa_calib_reference.json.

use std::path::{Path, PathBuf};

use icmbench_metrics::Metric;
use icmbench_metrics::niqe::Niqe;

const IMAGES: [&str; 5] = ["I03", "I04", "I06", "I08", "I19"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(name: &str) -> image::RgbImage {
    let path = root().join("third_party/iqa-calib/dist_dir").join(format!("{name}.bmp"));
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}. Run `make test` to fetch the fixtures.", path.display()))
        .to_rgb8()
}

/// Within 1 % (relative) of pyiqa's `niqe`, as the issue allows; measured: at most 0.70 % (I03).
#[test]
fn niqe_matches_pyiqa_within_one_percent() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/iqa_calib_reference.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let m = Niqe::load().unwrap_or_else(|e| panic!("{e}"));
    assert!(!m.needs_reference() && !m.higher_is_better());
    for name in IMAGES {
        let want = json["niqe"]["values"][name].as_f64().unwrap();
        let img = load(name);
        // No-reference: the first argument is ignored.
        let got = m.compute(&image::RgbImage::new(1, 1), &img).unwrap();
        let rel = (got - want).abs() / want;
        eprintln!("niqe {name}: icmbench {got:.4}, pyiqa {want}, relative diff {:.2} %", rel * 100.0);
        assert!(rel <= 0.01, "{name}: {got} vs {want}");
    }
}

/// Too small for two 96x96 blocks is an error, not NaN.
#[test]
fn niqe_needs_two_blocks() {
    let m = Niqe::load().unwrap_or_else(|e| panic!("{e}"));
    let err = m
        .compute(&image::RgbImage::new(1, 1), &image::RgbImage::new(100, 100))
        .unwrap_err()
        .to_string();
    assert!(err.contains("two 96x96 blocks"), "{err}");
}
