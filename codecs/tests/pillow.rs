//! icmbench's JPEG and WebP codecs against Pillow, which made CompressAI's published JPEG
//! and WebP curves. Reference: `tests/fixtures/pillow.json`, written by
//! `scripts/make-pillow-fixture.py` (Pillow, libjpeg-turbo and libwebp versions recorded there).

use std::path::Path;

fn psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let n = a.as_raw().len() as f64;
    let mse: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(p, q)| (f64::from(*p) - f64::from(*q)).powi(2))
        .sum::<f64>()
        / n;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// Checks one codec against one section of the fixture. `byte_tolerance` is relative.
fn check(kind: &str, section: &str, byte_tolerance: f64, psnr_tolerance: f64) {
    let root = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo")).join("..");
    let text = std::fs::read_to_string(root.join("tests/fixtures/pillow.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let codec = icmbench_codecs::registry::find(kind).unwrap().build_default().unwrap();
    let images = json[section].as_object().unwrap();
    assert!(!images.is_empty());
    for (name, rows) in images {
        let img = image::open(root.join("datasets/samples").join(name)).unwrap().to_rgb8();
        for row in rows.as_array().unwrap() {
            let q = row["quality"].as_f64().unwrap();
            let bits = codec.encode(&img, q).unwrap();
            let dec = codec.decode(&bits, img.width(), img.height()).unwrap();
            let p = psnr(&img, &dec);
            let want_bytes = row["bytes"].as_u64().unwrap() as f64;
            let want_psnr = row["psnr_rgb"].as_f64().unwrap();
            eprintln!(
                "{kind} {name} q{q}: bytes {} (Pillow {want_bytes}), psnr {p:.6} (Pillow {want_psnr})",
                bits.len()
            );
            assert!(
                (bits.len() as f64 - want_bytes).abs() <= byte_tolerance * want_bytes,
                "{kind} {name} q{q}: {} bytes vs Pillow {want_bytes}",
                bits.len()
            );
            assert!(
                (p - want_psnr).abs() <= psnr_tolerance,
                "{kind} {name} q{q}: psnr {p} vs Pillow {want_psnr}"
            );
        }
    }
}

/// JPEG: byte counts equal Pillow's exactly and PSNR within 1e-6 dB (the fixture's 6
/// decimals). Same settings on libjpeg-turbo 3.1 (icmbench) and 3.2 (Pillow 13).
#[test]
fn jpeg_matches_pillow() {
    check("jpeg", "images", 0.0, 1e-6);
}

/// WebP: byte counts equal Pillow's exactly and PSNR within 1e-6 dB.
#[test]
fn webp_matches_pillow() {
    check("webp", "webp", 0.0, 1e-6);
}
