//! Learned codecs against CompressAI: three randomly initialised reduced-width models
//! (bmshj2018-factorized, bmshj2018-hyperprior, mbt2018-mean) exported by
//! tools/export/compressai.py, with CompressAI's own compress/decompress results recorded by
//! scripts/make-learned-fixture.py (tests/fixtures/learned/reference.json).

mod common;

use common::{codec_at, crop_of, read_f32, reference_in, root};
use icmbench_codecs::Codec;
use icmbench_codecs::learned::LearnedCodec;
use icmbench_codecs::padding::{Padding, crop, pad_to_multiple};

const FAMILIES: [&str; 3] = ["factorized", "scale-hyperprior", "mean-scale-hyperprior"];

fn reference() -> serde_json::Value {
    reference_in(&root().join("tests/fixtures/learned"))
}

fn codec(family: &str, threads: usize) -> LearnedCodec {
    codec_at(&root().join("tests/fixtures/learned").join(family), threads)
}

/// decode(encode(x)) equals CompressAI's decompress(compress(x)) within 1e-4 per value;
/// the entropy-coded bytes are within 1 % of CompressAI's strings on the 512x384 crop
/// (the smaller crops are printed: a few words of coder state weigh more there); the
/// estimated rate equals CompressAI's −log2 likelihoods within 0.1 %.
/// The image padded as CompressAI pads (zeros, centred) and coded at quality 1: the
/// bitstream and the padded size.
fn encode_padded(c: &LearnedCodec, img: &image::RgbImage) -> (Vec<u8>, u32, u32) {
    let padded = pad_to_multiple(img, c.size_multiple(), &Padding::default());
    let (pw, ph) = padded.image.dimensions();
    (c.encode(&padded.image, 1.0).unwrap(), pw, ph)
}

#[test]
fn round_trip_rate_and_estimate_match_compressai() {
    let fx = reference();
    for family in FAMILIES {
        let c = codec(family, 1);
        for (name, want) in fx["codecs"][family].as_object().expect("codec") {
            let img = crop_of(name, &fx);
            let padded = pad_to_multiple(&img, c.size_multiple(), &Padding::default());
            let (pw, ph) = padded.image.dimensions();
            assert_eq!(
                [pw as u64, ph as u64],
                [want["padded"][0].as_u64().unwrap(), want["padded"][1].as_u64().unwrap()]
            );
            let enc = c.encode_detailed(&padded.image, 1.0).unwrap();
            let payload = (enc.bitstream.len() - enc.header_bytes) as f64;
            let theirs: f64 = want["string_bytes"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
            let est_want = want["estimated_bits"].as_f64().unwrap();
            eprintln!(
                "{family} {name}: payload {payload} B (+{} B header) vs CompressAI strings {theirs} B ({:+.2} %); estimated {:.1} vs {est_want:.1} bits",
                enc.header_bytes,
                100.0 * (payload - theirs) / theirs,
                enc.estimated_bits
            );
            assert!(
                (enc.estimated_bits - est_want).abs() <= 1e-3 * est_want,
                "{family} {name}: estimate"
            );
            if name == "astronaut-512x384" {
                assert!((payload - theirs).abs() <= 0.01 * theirs, "{family} {name}: {payload} vs {theirs}");
                continue;
            }
            let dec = c.decode_detailed(&enc.bitstream).unwrap();
            let want_xhat = read_f32(&root().join(format!("tests/fixtures/learned/{family}/{name}.xhat.f32")));
            let (w, h) = img.dimensions();
            let mut worst = 0.0f32;
            for y in 0..h {
                for x in 0..w {
                    for ch in 0..3 {
                        let got = dec.pixels[(((y + padded.top) * pw + x + padded.left) * 3 + ch) as usize];
                        let exp = want_xhat[((y * w + x) * 3 + ch) as usize];
                        worst = worst.max((got - exp).abs());
                    }
                }
            }
            eprintln!("{family} {name}: max |x̂ − CompressAI x̂| = {worst:.2e}");
            assert!(worst <= 1e-4, "{family} {name}: {worst}");
        }
    }
}

/// The same bytes with 1 and 2 intra-op threads, and a stream written with one count
/// decodes with the other to the same image.
#[test]
fn bit_exact_across_thread_counts() {
    let fx = reference();
    let img = crop_of("astronaut-128x96", &fx);
    for family in FAMILIES {
        let (one, two) = (codec(family, 1), codec(family, 2));
        let padded = pad_to_multiple(&img, one.size_multiple(), &Padding::default());
        let (pw, ph) = padded.image.dimensions();
        let a = one.encode(&padded.image, 1.0).unwrap();
        let b = two.encode(&padded.image, 1.0).unwrap();
        assert_eq!(a, b, "{family}: bitstreams differ between 1 and 2 threads");
        assert_eq!(one.decode(&a, pw, ph).unwrap(), two.decode(&a, pw, ph).unwrap(), "{family}");
    }
}

/// Odd and tiny images go through padding and come back at their size.
#[test]
fn odd_and_tiny_sizes() {
    let fx = reference();
    let src = crop_of("astronaut-128x96", &fx);
    for family in FAMILIES {
        let c = codec(family, 1);
        for (w, h) in [(1, 1), (17, 3), (65, 64), (31, 70)] {
            let img = image::imageops::crop_imm(&src, 0, 0, w, h).to_image();
            let padded = pad_to_multiple(&img, c.size_multiple(), &Padding::default());
            let (pw, ph) = padded.image.dimensions();
            assert!(pw % c.size_multiple() == 0 && ph % c.size_multiple() == 0);
            let bits = c.encode(&padded.image, 1.0).unwrap();
            let back = crop(c.decode(&bits, pw, ph).unwrap(), padded.left, padded.top, w, h);
            assert_eq!(back.dimensions(), (w, h), "{family} {w}x{h}");
        }
    }
}

/// A damaged or foreign bitstream is an error naming the cause, never a wrong image.
#[test]
fn corrupt_and_mismatched_streams_are_errors() {
    let fx = reference();
    let img = crop_of("astronaut-128x96", &fx);
    for family in FAMILIES {
        let c = codec(family, 1);
        let (bits, pw, ph) = encode_padded(&c, &img);
        let mut flipped = bits.clone();
        let last = flipped.len() - 5;
        flipped[last] ^= 0x5a;
        let err = c.decode(&flipped, pw, ph).unwrap_err().to_string();
        assert!(err.contains("checksum") || err.contains("corrupt"), "{family}: {err}");
        let err = c.decode(&bits[..bits.len() - 8], pw, ph).unwrap_err().to_string();
        assert!(
            err.contains("checksum") || err.contains("corrupt") || err.contains("truncated"),
            "{family}: {err}"
        );
        assert!(c.decode(&bits, pw + 64, ph).unwrap_err().to_string().contains("expected"));
        assert!(c.check_quality(2.0).unwrap_err().to_string().contains("one of [1]"));
    }
    // A factorized stream given to a hyperprior codec.
    let f = codec("factorized", 1);
    let padded = pad_to_multiple(&img, 64, &Padding::default());
    let (pw, ph) = padded.image.dimensions();
    let bits = f.encode(&padded.image, 1.0).unwrap();
    let err = codec("scale-hyperprior", 1).decode(&bits, pw, ph).unwrap_err().to_string();
    assert!(err.contains("was written by codec"), "{err}");
}

/// A version-1 stream (no codec id, no latent checksum in its header, as icmbench wrote
/// before contract version 2) still decodes, to the same image.
#[test]
fn version_1_streams_still_decode() {
    use icmbench_codecs::learned::bitstream::Header;
    let fx = reference();
    let img = crop_of("astronaut-128x96", &fx);
    for family in FAMILIES {
        let c = codec(family, 1);
        let (bits, pw, ph) = encode_padded(&c, &img);
        let (header, payload) = Header::parse(&bits).unwrap();
        let v1 = Header {
            codec: None,
            latents: None,
            ..header
        };
        let mut old = v1.to_bytes();
        assert_eq!(old[2], 1, "a version-1 header");
        old.extend_from_slice(payload);
        assert_eq!(c.decode(&old, pw, ph).unwrap(), c.decode(&bits, pw, ph).unwrap(), "{family}");
    }
}
