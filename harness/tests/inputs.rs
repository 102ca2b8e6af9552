//! Hostile dataset inputs end to end: each bad file becomes a failed row naming it (or is
//! skipped with a warning), never an aborted run or an OK row of garbage.

use std::path::Path;

use icmbench::config;
use icmbench::run::{RunOptions, run};

fn write_config(dir: &Path, dataset_extra: &str) -> std::path::PathBuf {
    let path = dir.join("run.toml");
    let text = format!(
        "output = \"out\"\nmetrics = [\"psnr\"]\n\n[[datasets]]\nname = \"bad\"\npath = \"data\"\n{dataset_extra}\n\n[[codecs]]\nkind = \"png\"\nqualities = [0]\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[cfg(unix)]
#[test]
fn bad_inputs_become_failed_rows_and_the_run_goes_on() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8]));
    img.save(data.join("good.png")).unwrap();
    // Two names that differ only in bytes that are not UTF-8.
    for raw in [&b"a\xff.png"[..], b"a\xfe.png"] {
        img.save(data.join(std::ffi::OsStr::from_bytes(raw))).unwrap();
    }
    // 128 x 128 = 16384 pixels, over `max_pixels = 10000` below.
    image::RgbImage::new(128, 128).save(data.join("big.png")).unwrap();
    // A JPEG cut in half: the `image` crate used to decode it with grey fill.
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&img)
        .unwrap();
    std::fs::write(data.join("cut.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    symlink(data.join("nowhere.png"), data.join("gone.png")).unwrap();
    symlink(&data, data.join("sub/loop")).unwrap();

    let cfg = write_config(dir.path(), "max_pixels = 10000");
    let outcome = run(&config::load(&cfg).unwrap(), &RunOptions::default()).unwrap();
    let mut ok: Vec<&str> = outcome.rows.iter().filter(|r| r.is_ok()).map(|r| r.image.as_str()).collect();
    ok.sort();
    assert_eq!(ok, ["a%FE.png", "a%FF.png", "good.png"]);
    let failed: Vec<(&str, &str)> = outcome
        .failures()
        .iter()
        .map(|r| (r.image.as_str(), r.error.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    for (image, error) in failed {
        assert!(error.contains(image), "{image}: {error}");
        let expected = match image {
            "big.png" => "128x128 = 16384 pixels exceeds the limit of 10000 pixels (max_pixels)",
            "cut.jpg" => "Premature end of JPEG file",
            "gone.png" => "dangling symbolic link to",
            other => panic!("unexpected failed row {other}: {error}"),
        };
        assert!(error.contains(expected), "{image}: {error}");
    }

    let bad = write_config(dir.path(), "max_pixels = 0");
    let err = config::load(&bad).err().unwrap().to_string();
    assert!(err.contains("`max_pixels` must be at least 1"), "{err}");
}
