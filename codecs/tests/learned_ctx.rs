//! Learned codecs with context models against CompressAI 1.2.8: seven randomly
//! initialised reduced-width models (mbt2018, cheng2020-anchor, cheng2020-attn —
//! autoregressive; Cheng2020AnchorCheckerboard, Elic2022Official, Elic2022Chandelier —
//! checkerboard; a Minnen-2020-style channel-conditional model with latent residual
//! prediction), exported by tools/export/compressai.py, with CompressAI's own
//! compress/decompress recorded by scripts/make-learned-ctx-fixture.py
//! (tests/fixtures/learned-ctx/reference.json and README.md there).
//!
//! Tolerances (the issue's): decoded latents and x̂ within 1e-4 of CompressAI's; the
//! entropy-coded bytes within 1 % of CompressAI's strings on the 512×384 crop (the 128×96
//! crop is printed: there a few words of coder state per string weigh more); the estimated
//! rate within 0.1 % of CompressAI's −log2 likelihoods of what its compress codes.

use std::path::{Path, PathBuf};

mod common;

use common::{codec_at, crop_of, read_f32, reference_in, root};
use icmbench_codecs::Codec;
use icmbench_codecs::learned::LearnedCodec;
use icmbench_codecs::padding::{Padding, pad_to_multiple};
use icmbench_models::RuntimeOptions;
use serde_json::Value;

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/learned-ctx")
}

fn reference() -> Value {
    reference_in(&fixtures())
}

fn codec(name: &str, threads: usize) -> LearnedCodec {
    codec_at(&fixtures().join(name), threads)
}

fn names(fx: &Value) -> Vec<String> {
    fx["codecs"].as_object().expect("codecs").keys().cloned().collect()
}

/// The largest |a − b| over x̂ rows `rows` of the crop (the reference holds those rows).
fn xhat_diff(dec: &icmbench_codecs::learned::Decoded, padded: (u32, u32, u32), img: (u32, u32), rows: &[u32], want: &[f32]) -> f32 {
    let (pw, left, top) = padded;
    let (w, h) = img;
    assert!(rows.iter().all(|&r| r < h), "rows inside the crop");
    assert_eq!(want.len(), rows.len() * w as usize * 3, "reference size");
    let mut worst = 0.0f32;
    for (i, &y) in rows.iter().enumerate() {
        for x in 0..w {
            for ch in 0..3 {
                let got = dec.pixels[(((y + top) * pw + x + left) * 3 + ch) as usize];
                let exp = want[(i * w as usize + x as usize) * 3 + ch as usize];
                worst = worst.max((got - exp).abs());
            }
        }
    }
    worst
}

/// Checks every codec of a reference file (`fx`, codec folders under `dir`) against it:
/// decode(encode(x)) equals the reference's decompress(compress(x)) (ŷ on the 512×384 crop
/// and the recorded rows of x̂ within 1e-4); the bytes within 1 % of the reference's
/// strings on the 512×384 crop; the estimate within 0.1 % of the reference's likelihood
/// bits on every crop. Crops the reference could not code (`error`) are skipped; `rate_only`
/// crops check bytes and estimate. Returns the families seen.
fn check_parity(dir: &Path, fx: &Value) -> std::collections::BTreeSet<String> {
    let mut families = std::collections::BTreeSet::new();
    for name in names(fx) {
        let want_all = &fx["codecs"][&name];
        let c = codec_at(&dir.join(&name), 1);
        families.insert(want_all["family"].as_str().unwrap().to_string());
        for (crop, want) in want_all["crops"].as_object().expect("crops") {
            if want.get("error").is_some() {
                eprintln!("{name} {crop}: the reference could not code it: {}", want["error"]);
                continue;
            }
            let img = crop_of(crop, fx);
            let padded = pad_to_multiple(&img, c.size_multiple(), &Padding::default());
            let (pw, ph) = padded.image.dimensions();
            assert_eq!(
                [pw as u64, ph as u64],
                [want["padded"][0].as_u64().unwrap(), want["padded"][1].as_u64().unwrap()]
            );
            let enc = c
                .encode_detailed(&padded.image, 1.0)
                .unwrap_or_else(|e| panic!("{name} {crop}: {e}"));
            let payload = (enc.bitstream.len() - enc.header_bytes) as f64;
            let theirs: f64 = want["string_bytes"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
            let est_want = want["estimated_bits"].as_f64().unwrap();
            let dec = c.decode_detailed(&enc.bitstream).unwrap_or_else(|e| panic!("{name} {crop}: {e}"));
            let file = |suffix: &str| dir.join(&name).join(format!("{crop}.{suffix}"));
            let rate_only = want["rate_only"].as_bool().unwrap_or(false);
            let diff = (!rate_only).then(|| {
                let rows: Vec<u32> = fx["xhat_rows"][crop]
                    .as_array()
                    .expect("xhat_rows")
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect();
                xhat_diff(
                    &dec,
                    (pw, padded.left, padded.top),
                    img.dimensions(),
                    &rows,
                    &read_f32(&file("xhat-rows.f32")),
                )
            });
            let full = crop == "astronaut-512x384";
            let yhat = full.then(|| {
                let yhat_want = read_f32(&file("yhat.f32"));
                assert_eq!(dec.latents.len(), yhat_want.len(), "{name}: latent count");
                dec.latents
                    .iter()
                    .zip(&yhat_want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max)
            });
            eprintln!(
                "{name} {crop}: payload {payload} B (+{} B header) vs reference {theirs} B ({:+.2} %); estimated {:.1} vs {est_want:.1} bits ({:+.4} %){}{}; encode {:.0}+{:.0} ms, decode {:.0}+{:.0} ms (network+entropy)",
                enc.header_bytes,
                100.0 * (payload - theirs) / theirs,
                enc.estimated_bits,
                100.0 * (enc.estimated_bits - est_want) / est_want,
                diff.map(|d| format!("; max |x̂ diff| {d:.2e}")).unwrap_or_default(),
                yhat.map(|d| format!(", max |ŷ diff| {d:.2e}")).unwrap_or_default(),
                enc.network.as_secs_f64() * 1e3,
                enc.entropy.as_secs_f64() * 1e3,
                dec.network.as_secs_f64() * 1e3,
                dec.entropy.as_secs_f64() * 1e3,
            );
            assert!(
                (enc.estimated_bits - est_want).abs() <= 1e-3 * est_want,
                "{name} {crop}: estimate {} vs {est_want}",
                enc.estimated_bits
            );
            if let Some(d) = diff {
                assert!(d <= 1e-4, "{name} {crop}: x̂ differs by {d}");
            }
            if let Some(yd) = yhat {
                assert!(yd <= 1e-4, "{name} {crop}: ŷ differs by {yd}");
                assert!(
                    (payload - theirs).abs() <= 0.01 * theirs,
                    "{name} {crop}: {payload} vs {theirs} bytes"
                );
            }
        }
    }
    families
}

/// The six CompressAI classes and the channel-conditional test model: every context
/// family of the contract is covered.
#[test]
fn round_trip_rate_and_estimate_match_compressai() {
    let families = check_parity(&fixtures(), &reference());
    assert_eq!(
        families.into_iter().collect::<Vec<_>>(),
        ["autoregressive", "channel-conditional", "checkerboard"],
        "every context family has a parity fixture"
    );
}

/// LIC-TCM's own structure at reduced width (tests/fixtures/learned-ctx/tcm-reduced, made by
/// scripts/make-tcm-fixture.py from jmliu206/LIC_TCM's classes): icmbench against TCM's own
/// compress/decompress.
#[test]
fn tcm_matches_its_own_compress() {
    let dir = fixtures().join("tcm-reduced");
    let fx = reference_in(&dir);
    // Its codec folder is the fixture folder itself.
    let families = check_parity(dir.parent().expect("parent"), &fx);
    assert_eq!(families.into_iter().collect::<Vec<_>>(), ["channel-conditional"]);
}

/// The same bytes with 1, 2 and 4 ONNX Runtime threads and on a repeated run; a stream
/// from one thread count decodes with another to the same image.
#[test]
fn bit_exact_across_thread_counts_and_runs() {
    let fx = reference();
    let img = crop_of("astronaut-128x96", &fx);
    for name in names(&fx) {
        let codecs = [codec(&name, 1), codec(&name, 2), codec(&name, 4)];
        let padded = pad_to_multiple(&img, codecs[0].size_multiple(), &Padding::default());
        let (pw, ph) = padded.image.dimensions();
        let first = codecs[0].encode(&padded.image, 1.0).unwrap();
        let image = codecs[0].decode(&first, pw, ph).unwrap();
        for (i, c) in codecs.iter().enumerate() {
            for _ in 0..2 {
                assert_eq!(
                    c.encode(&padded.image, 1.0).unwrap(),
                    first,
                    "{name}: bitstream with {} threads",
                    [1, 2, 4][i]
                );
            }
            assert_eq!(
                c.decode(&first, pw, ph).unwrap(),
                image,
                "{name}: image with {} threads",
                [1, 2, 4][i]
            );
        }
    }
}

/// A decoder whose entropy parameters drift in the last bits (here: the last slice's LRP
/// graph with a bias moved by 1e-6, scripts/make-drift-fixture.py, standing in for another
/// machine) refuses the stream with the reason, instead of returning a slightly different
/// image: its symbols still decode, only the latent checksum catches it.
#[test]
fn drifted_entropy_parameters_are_refused() {
    use icmbench_codecs::learned::bitstream::Header;
    let src = fixtures().join("tcm-reduced");
    let fx = reference_in(&src);
    let img = crop_of("astronaut-512x384", &fx);
    let good = codec_at(&src, 1);
    let bits = good.encode_detailed(&img, 1.0).unwrap().bitstream;
    let drifted = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, drifted.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(src.join("drift/group2_lrp.onnx"), drifted.path().join("group2_lrp.onnx")).unwrap();
    let other = codec_at(drifted.path(), 1);
    // As written, the stream names the codec that wrote it: the changed folder is another codec.
    let e = other.decode_detailed(&bits).unwrap_err().to_string();
    assert!(e.contains("was written by codec"), "{e}");
    // The same codec computing slightly differently: give the stream the changed folder's id.
    let (mut header, payload) = Header::parse(&bits).unwrap();
    header.codec = Some(icmbench_codecs::learned::codec_id(&other.point(1.0).unwrap().contract().digest));
    let mut moved = header.to_bytes();
    moved.extend_from_slice(payload);
    let e = other.decode_detailed(&moved).unwrap_err().to_string();
    assert!(e.contains("latent checksum mismatch"), "{e}");
    // The untouched codec decodes the original stream.
    good.decode_detailed(&bits).unwrap();
}

/// The per-position runner (tensors bound once, inputs written in place) gives exactly what
/// a plain run gives, input after changing input.
#[test]
fn stepper_equals_plain_runs() {
    let path = fixtures().join("mbt2018/context.onnx");
    let opts = RuntimeOptions {
        intra_threads: 1,
        ..RuntimeOptions::default()
    };
    let model = icmbench_models::Model::load("context", &path, &opts).unwrap();
    // The window and channel counts of the fixture (codec.json: kernel_size 5).
    let info = model.inputs();
    let channels = |name: &str| -> usize {
        let d = info.iter().find(|t| t.name == name).and_then(|t| t.dims.clone()).expect("dims");
        usize::try_from(d[1]).expect("a fixed channel count")
    };
    let (crop, params) = ([1, channels("y_crop"), 5, 5], [1, channels("params"), 1, 1]);
    let m = crop[1];
    let out = [1, m, 1, 1];
    let mut plain = Vec::new();
    let mut state = 12345u32;
    let mut next = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 * 8.0 - 4.0
    };
    let inputs: Vec<(Vec<f32>, Vec<f32>)> = (0..5)
        .map(|_| {
            let a: Vec<f32> = (0..crop.iter().product::<usize>()).map(|_| next()).collect();
            let b: Vec<f32> = (0..params.iter().product::<usize>()).map(|_| next()).collect();
            (a, b)
        })
        .collect();
    for (a, b) in &inputs {
        plain.push(
            model
                .run(&[("y_crop", &crop, a), ("params", &params, b)], &["scales", "means"])
                .unwrap(),
        );
    }
    let mut step = model
        .stepper(&[("y_crop", &crop), ("params", &params)], &[("scales", &out), ("means", &out)])
        .unwrap();
    for ((a, b), want) in inputs.iter().zip(&plain) {
        step.input(0).copy_from_slice(a);
        step.input(1).copy_from_slice(b);
        step.run().unwrap();
        assert_eq!(step.output(0), want[0].1.as_slice());
        assert_eq!(step.output(1), want[1].1.as_slice());
    }
    assert_ne!(plain[0][0].1, plain[1][0].1, "the inputs change the outputs");
}

/// A header or a file claiming a huge image is refused before anything is allocated.
#[test]
fn huge_claimed_sizes_are_refused() {
    use icmbench_codecs::learned::bitstream::Header;
    use icmbench_codecs::learned::file::{decode_image, encode_image};
    let fx = reference();
    let c = codec("mbt2018", 1);
    let img = crop_of("astronaut-128x96", &fx);
    let made = encode_image(&c, &img, 1.0, &Padding::default()).unwrap();
    let stream_at = made.bytes.len() - made.encoded.bitstream.len();
    let (mut header, payload) = Header::parse(&made.encoded.bitstream).unwrap();
    header.width = 1 << 24;
    header.height = 1 << 24;
    let mut forged = header.to_bytes();
    forged.extend_from_slice(payload);
    let e = c.decode_detailed(&forged).unwrap_err().to_string();
    assert!(e.contains("megapixels"), "{e}");
    // A file whose own size overflows any padding arithmetic.
    let mut file = b"ICMB\x01".to_vec();
    file.extend([0xc0, 0xff, 0xff, 0xff, 0x0f, 0xc0, 0xff, 0xff, 0xff, 0x0f, 0]);
    file.extend_from_slice(&made.bytes[stream_at..]);
    let e = decode_image(&c, &file).unwrap_err().to_string();
    assert!(e.contains("megapixels"), "{e}");
    // Unknown padding flags.
    let mut flags = made.bytes.clone();
    flags[stream_at - 1] = 4;
    let e = decode_image(&c, &flags).unwrap_err().to_string();
    assert!(e.contains("padding flags"), "{e}");
}

/// Bitstream files keep the encoder's padding: replicate and bottom-right round-trip to the
/// image's size and to the pixels the codec gives for that padding.
#[test]
fn files_keep_their_padding() {
    use icmbench_codecs::learned::file::{decode_image, encode_image};
    use icmbench_codecs::padding::{PadAlign, PadMode, crop};
    let fx = reference();
    let c = codec("cheng2020-anchor-checkerboard", 1);
    let img = image::imageops::crop_imm(&crop_of("astronaut-128x96", &fx), 3, 5, 101, 70).to_image();
    for mode in [PadMode::Zero, PadMode::Replicate] {
        for align in [PadAlign::Center, PadAlign::BottomRight] {
            let padding = Padding { mode, align };
            let made = encode_image(&c, &img, 1.0, &padding).unwrap();
            let back = decode_image(&c, &made.bytes).unwrap();
            assert_eq!(back.padding, padding);
            assert_eq!(back.image.dimensions(), (101, 70));
            let padded = pad_to_multiple(&img, 64, &padding);
            let (pw, ph) = padded.image.dimensions();
            let direct = crop(c.decode(&made.encoded.bitstream, pw, ph).unwrap(), padded.left, padded.top, 101, 70);
            assert_eq!(back.image, direct, "{padding:?}");
        }
    }
}
