//! Helpers shared by the learned-codec tests: the repository root, fixture references,
//! crops of the bundled photo, codecs opened with a thread count, float32 reference files.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use icmbench_codecs::learned::LearnedCodec;
use icmbench_models::RuntimeOptions;
use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo")).join("..")
}

/// `dir/reference.json`.
pub fn reference_in(dir: &Path) -> Value {
    let path = dir.join("reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("JSON")
}

/// The crop `name` of datasets/samples/astronaut.png, its box [x, y, w, h] from `fx["crops"]`.
pub fn crop_of(name: &str, fx: &Value) -> image::RgbImage {
    let c: Vec<u32> = fx["crops"][name]
        .as_array()
        .expect("crop")
        .iter()
        .map(|v| v.as_u64().expect("n") as u32)
        .collect();
    let src = image::open(root().join("datasets/samples/astronaut.png"))
        .expect("astronaut")
        .to_rgb8();
    image::imageops::crop_imm(&src, c[0], c[1], c[2], c[3]).to_image()
}

/// The learned codec in `dir`, its sessions on `threads` intra-op threads.
pub fn codec_at(dir: &Path, threads: usize) -> LearnedCodec {
    let opts = RuntimeOptions {
        intra_threads: threads,
        ..RuntimeOptions::default()
    };
    LearnedCodec::open(dir, opts).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// A float32 little-endian file.
pub fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
