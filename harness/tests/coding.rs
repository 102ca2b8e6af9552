//! `icmbench encode` / `icmbench decode` with learned codecs of every family: a stream
//! written to a file decodes to the image the codec gives in a run, at the image's own
//! size; the wrong codec, a flipped byte or a truncated file is a clear error. And a
//! context-model codec in a run gives rows with actual and estimated rates.

mod common;

use common::{icmbench, icmbench_ok, root};

/// The fixture codecs tried: one per family (v1 and v2 contracts).
const CODECS: [&str; 5] = [
    "tests/fixtures/learned/mean-scale-hyperprior",
    "tests/fixtures/learned-ctx/mbt2018",
    "tests/fixtures/learned-ctx/elic2022-official",
    "tests/fixtures/learned-ctx/cheng2020-anchor-checkerboard",
    "tests/fixtures/learned-ctx/channel-conditional",
];

/// A 93×61 crop (odd sides: padding on every side) of a bundled photo.
fn crop(dir: &std::path::Path) -> std::path::PathBuf {
    let src = image::open(root().join("datasets/samples/astronaut.png")).unwrap().to_rgb8();
    let img = image::imageops::crop_imm(&src, 150, 90, 93, 61).to_image();
    let path = dir.join("crop.png");
    img.save(&path).unwrap();
    path
}

/// `icmbench encode --codec CODEC --quality 1 INPUT BIN --json`, which must succeed.
fn encode(codec: &std::path::Path, input: &std::path::Path, bin: &std::path::Path) -> std::process::Output {
    icmbench_ok(&[
        "encode",
        "--codec",
        codec.to_str().unwrap(),
        "--quality",
        "1",
        input.to_str().unwrap(),
        bin.to_str().unwrap(),
        "--json",
    ])
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn encode_then_decode_gives_the_image_back_at_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let input = crop(dir.path());
    for codec in CODECS {
        let codec = root().join(codec);
        let (bin, png) = (dir.path().join("x.bin"), dir.path().join("x.png"));
        let out = encode(&codec, &input, &bin);
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let bytes = std::fs::metadata(&bin).unwrap().len();
        assert_eq!(s["bytes"].as_u64(), Some(bytes), "{}", codec.display());
        assert_eq!((s["width"].as_u64(), s["height"].as_u64()), (Some(93), Some(61)));
        assert!((s["bpp"].as_f64().unwrap() - bytes as f64 * 8.0 / (93.0 * 61.0)).abs() < 1e-9);
        assert!(s["bpp_estimated"].as_f64().unwrap() > 0.0);
        let out = icmbench_ok(&[
            "decode",
            bin.to_str().unwrap(),
            "--codec",
            codec.to_str().unwrap(),
            png.to_str().unwrap(),
            "--json",
        ]);
        let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(d["quality"].as_i64(), Some(1));
        let back = image::open(&png).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (93, 61), "{}", codec.display());
        // The same stream decoded in-process (as a run does) gives the same pixels.
        let lc = icmbench_codecs::learned::LearnedCodec::open(&codec, Default::default()).unwrap();
        let data = std::fs::read(&bin).unwrap();
        let again = icmbench_codecs::learned::file::decode_image(&lc, &data).unwrap();
        assert_eq!(again.image, back, "{}", codec.display());
    }
}

#[test]
fn wrong_codec_flipped_byte_and_truncation_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = crop(dir.path());
    let (a, b) = (root().join(CODECS[1]), root().join(CODECS[2]));
    let bin = dir.path().join("x.bin");
    let png = dir.path().join("x.png");
    encode(&a, &input, &bin);
    let good = std::fs::read(&bin).unwrap();
    let decode = |data: &[u8], codec: &std::path::Path| {
        let f = dir.path().join("y.bin");
        std::fs::write(&f, data).unwrap();
        icmbench(&[
            "decode",
            f.to_str().unwrap(),
            "--codec",
            codec.to_str().unwrap(),
            png.to_str().unwrap(),
        ])
    };
    // Another codec (same quality number).
    let out = decode(&good, &b);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("was written by codec"), "{}", stderr(&out));
    // A flipped byte in the entropy-coded data.
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 6] ^= 0x10;
    let out = decode(&flipped, &a);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("checksum") || e.contains("corrupt"), "{e}");
    // A flipped bit of the latent checksum (header): the latents are right, the check fails.
    let mut header = good.clone();
    // File header: `ICMB`, version, width 93, height 61, padding flags (8 bytes); stream
    // header: `IL`, version, family, quality 1, padded width 128 (2 varint bytes), padded
    // height 64, the codec (8 bytes), the symbol checksum (4): the latent checksum follows.
    let at = (4 + 1 + 1 + 1 + 1) + (2 + 1 + 1 + 1 + 2 + 1) + 8 + 4;
    assert_eq!(&header[..4], b"ICMB");
    header[at] ^= 1;
    let out = decode(&header, &a);
    assert!(stderr(&out).contains("latent checksum"), "{}", stderr(&out));
    // Truncated files, at every kind of cut.
    for cut in [3, 9, 20, n - 4, n - 1] {
        let out = decode(&good[..cut], &a);
        assert!(!out.status.success(), "cut at {cut}");
        let e = stderr(&out);
        assert!(
            ["ends inside", "not an icmbench", "corrupt", "truncated", "checksum", "32-bit"]
                .iter()
                .any(|w| e.contains(w)),
            "cut at {cut}: {e}"
        );
    }
    assert!(!png.exists(), "no image is written for a failed decode");
    // Not a file of ours at all.
    let out = decode(b"GIF89a....", &a);
    assert!(stderr(&out).contains("not an icmbench bitstream file"), "{}", stderr(&out));
}

/// A context-model codec is an ordinary learned codec in a run: rows with bytes, the
/// estimated rate beside the real one, and metrics.
#[test]
fn context_codecs_in_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    crop(&data);
    let cfg = dir.path().join("run.toml");
    std::fs::write(
        &cfg,
        format!(
            "output = \"out\"\nmetrics = [\"psnr\"]\n[[datasets]]\nname = \"d\"\npath = \"data\"\n\
             [[codecs]]\nkind = \"learned\"\nid = \"ar\"\npath = \"{}\"\nqualities = [1]\n\
             [[codecs]]\nkind = \"learned\"\nid = \"cc\"\npath = \"{}\"\nqualities = [1]\n",
            root().join(CODECS[1]).display(),
            root().join(CODECS[4]).display()
        ),
    )
    .unwrap();
    icmbench_ok(&["run", cfg.to_str().unwrap(), "--json", "--quiet"]);
    let rows = icmbench_reports::store::read_parquet(&dir.path().join("out/results.parquet")).unwrap();
    let learned: Vec<_> = rows.iter().filter(|r| r.codec == "ar" || r.codec == "cc").collect();
    assert_eq!(learned.len(), 2, "{rows:?}");
    for r in learned {
        assert!(r.is_ok(), "{:?}", r.error);
        let (bpp, est) = (r.bpp.unwrap(), r.bpp_estimated.unwrap());
        assert!(est > 0.0 && bpp > est * 0.9, "{bpp} vs {est}");
        assert!(r.codec_version.contains("contract v2, bitstream v2"), "{}", r.codec_version);
    }
}
