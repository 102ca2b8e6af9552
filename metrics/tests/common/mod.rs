//! Fixtures shared by the metric parity tests: pyiqa's calibration pairs (fetched into
//! third_party/ by `make test`) and the reference values in
//! tests/fixtures/iqa_calib_reference.json.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

/// The five calibration pairs.
pub const IMAGES: [&str; 5] = ["I03", "I04", "I06", "I08", "I19"];

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo")).join("..")
}

/// A calibration image from `ref_dir` or `dist_dir`.
pub fn load(dir: &str, name: &str) -> image::RgbImage {
    let path = root().join("third_party/iqa-calib").join(dir).join(format!("{name}.bmp"));
    match image::open(&path) {
        Ok(img) => img.to_rgb8(),
        Err(e) => panic!(
            "{}: {e}. Run `make test` (or scripts/fetch-test-fixtures.sh) to fetch the fixtures.",
            path.display()
        ),
    }
}

/// The reference values of `metric` for [`IMAGES`], in order.
pub fn reference(metric: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/iqa_calib_reference.json")).expect("reference file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("reference JSON");
    IMAGES.iter().map(|i| json[metric]["values"][i].as_f64().expect("value")).collect()
}

/// A fixture file (path from the repository root) as RGB, checked against the sha256 its
/// reference values were made on.
pub fn load_checked(path: &str, sha256: &str) -> image::RgbImage {
    let full = root().join(path);
    let bytes = std::fs::read(&full).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Run `make test` (or scripts/fetch-test-fixtures.sh) to fetch the fixtures.",
            full.display()
        )
    });
    assert_eq!(
        icmbench_models::sha256_hex(&bytes),
        sha256,
        "{path} is not the file the reference was made on"
    );
    image::load_from_memory(&bytes).expect("image").to_rgb8()
}

/// `img` cropped to `spec["crop"]` = `[x, y, w, h]` where the entry has one.
fn cropped(img: image::RgbImage, spec: &serde_json::Value) -> image::RgbImage {
    match spec["crop"].as_array() {
        Some(c) => {
            let c: Vec<u32> = c.iter().map(|v| v.as_u64().expect("crop") as u32).collect();
            image::imageops::crop_imm(&img, c[0], c[1], c[2], c[3]).to_image()
        }
        None => img,
    }
}

/// The image of a fixture input entry `{"file": .., "sha256": .., "crop": [x, y, w, h] or
/// null}`, checked against its sha256 and cropped.
pub fn input(spec: &serde_json::Value) -> image::RgbImage {
    let img = load_checked(spec["file"].as_str().expect("file"), spec["sha256"].as_str().expect("sha256"));
    cropped(img, spec)
}

/// The (reference, distorted) images of a fixture pair entry `{"files": [..], "sha256": [..]}`,
/// each checked against its sha256, and cropped to `"crop": [x, y, w, h]` where the entry
/// has one.
pub fn pair(spec: &serde_json::Value) -> (image::RgbImage, image::RgbImage) {
    let file = |i: usize| {
        let img = load_checked(
            spec["files"][i].as_str().expect("file"),
            spec["sha256"][i].as_str().expect("sha256"),
        );
        cropped(img, spec)
    };
    (file(0), file(1))
}

/// A fixture JSON (path from the repository root), parsed.
pub fn json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join(path)).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}
