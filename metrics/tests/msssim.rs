//! MS-SSIM's two conventions against their references on images whose sides turn odd while
//! downsampling: `ms-ssim-rgb` (alias `ms-ssim`) and `ms-ssim-grey` against pytorch_msssim
//! 1.x (what CompressAI uses), `ms-ssim-rgb-tf` against `tf.image.ssim_multiscale`.
//!
//! Each case is a crop of a committed sample photo (`datasets/samples/`) and a distorted
//! copy stored as PNG in `tests/fixtures/msssim/`; the reference values, the tool versions
//! and the recipe are in `tests/fixtures/msssim/msssim_reference.json`, written by
//! `scripts/make-msssim-fixture.py` (both references run in float64).

mod common;
use common::root;

use icmbench_metrics::by_name;
use image::RgbImage;
use serde_json::Value;

/// Agreement required with either reference. Both references were run in float64, so this
/// is about the convention, not float32 rounding (in float32 the references themselves move
/// by up to 2e-5 on these images; see `*_float32` in the JSON).
const TOLERANCE: f64 = 1e-5;

struct Case {
    name: String,
    reference: RgbImage,
    distorted: RgbImage,
    values: Value,
}

fn fixtures() -> std::path::PathBuf {
    root().join("tests/fixtures/msssim")
}

fn cases() -> Vec<Case> {
    let path = fixtures().join("msssim_reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).expect("reference JSON");
    let cases = json["cases"].as_object().expect("cases");
    assert!(cases.len() >= 5, "{} cases", cases.len());
    cases
        .iter()
        .map(|(name, c)| {
            let photo = root().join("datasets/samples").join(c["photo"].as_str().expect("photo"));
            let full = image::open(&photo).unwrap_or_else(|e| panic!("{}: {e}", photo.display())).to_rgb8();
            let n = |k: &str| c["crop"][k].as_u64().expect("crop") as u32;
            let reference = image::imageops::crop_imm(&full, n("x"), n("y"), n("width"), n("height")).to_image();
            let dist_path = fixtures().join(c["distorted"].as_str().expect("distorted"));
            let distorted = image::open(&dist_path)
                .unwrap_or_else(|e| panic!("{}: {e}", dist_path.display()))
                .to_rgb8();
            assert_eq!(reference.dimensions(), (n("width"), n("height")), "{name}: crop outside the photo");
            assert_eq!(reference.dimensions(), distorted.dimensions(), "{name}");
            Case {
                name: name.clone(),
                reference,
                distorted,
                values: c.clone(),
            }
        })
        .collect()
}

fn want(case: &Case, tool: &str, metric: &str) -> f64 {
    case.values[tool][metric]
        .as_f64()
        .unwrap_or_else(|| panic!("{}: no {tool}.{metric}", case.name))
}

fn compute(metric: &str, case: &Case) -> f64 {
    by_name(metric, &Default::default())
        .unwrap()
        .compute(&case.reference, &case.distorted)
        .unwrap()
}

/// Whether some side is odd at one of the four poolings (i.e. not a multiple of 16).
fn turns_odd(img: &RgbImage) -> bool {
    !(img.width().is_multiple_of(16) && img.height().is_multiple_of(16))
}

fn check(metric: &str, tool: &str, key: &str) {
    for case in cases() {
        let got = compute(metric, &case);
        let expected = want(&case, tool, key);
        eprintln!(
            "{metric} {} ({}x{}): icmbench {got:.9}, {tool} {expected:.9}, diff {:.2e}",
            case.name,
            case.reference.width(),
            case.reference.height(),
            got - expected
        );
        assert!(
            (got - expected).abs() <= TOLERANCE,
            "{metric} {}: got {got}, {tool} {expected}, tolerance {TOLERANCE}",
            case.name
        );
    }
}

/// `ms-ssim-rgb` and its alias `ms-ssim` equal pytorch_msssim 1.x on odd sizes too.
#[test]
fn ms_ssim_rgb_matches_pytorch_msssim_on_odd_sizes() {
    check("ms-ssim-rgb", "pytorch_msssim", "ms-ssim-rgb");
    check("ms-ssim", "pytorch_msssim", "ms-ssim-rgb");
    // pytorch_msssim as called without `win=` builds its window in float32; still within.
    check("ms-ssim-rgb", "pytorch_msssim", "ms-ssim-rgb_default_window");
}

/// `ms-ssim-grey`: the same convention on the MATLAB-grey image.
#[test]
fn ms_ssim_grey_matches_pytorch_msssim_on_odd_sizes() {
    check("ms-ssim-grey", "pytorch_msssim", "ms-ssim-grey");
    check("ms-ssim-grey", "pytorch_msssim", "ms-ssim-grey_default_window");
}

/// `ms-ssim-rgb-tf` equals tf.image.ssim_multiscale on odd sizes.
#[test]
fn ms_ssim_rgb_tf_matches_tensorflow_on_odd_sizes() {
    check("ms-ssim-rgb-tf", "tensorflow", "ms-ssim-rgb-tf");
    check("ms-ssim-tf", "tensorflow", "ms-ssim-rgb-tf");
}

/// On sides that stay even through the four poolings the two conventions agree (with each
/// other exactly, and the references with each other); where a side turns odd they differ,
/// by the difference the two references show.
#[test]
fn conventions_agree_on_even_sides_and_differ_on_odd_as_the_references_do() {
    let (mut even, mut odd) = (0, 0);
    for case in cases() {
        let (pt, tf) = (compute("ms-ssim-rgb", &case), compute("ms-ssim-rgb-tf", &case));
        let (ref_pt, ref_tf) = (
            want(&case, "pytorch_msssim", "ms-ssim-rgb"),
            want(&case, "tensorflow", "ms-ssim-rgb-tf"),
        );
        eprintln!(
            "{}: ms-ssim-rgb - ms-ssim-rgb-tf = {:.3e}, pytorch_msssim - tensorflow = {:.3e}",
            case.name,
            pt - tf,
            ref_pt - ref_tf
        );
        if turns_odd(&case.reference) {
            odd += 1;
            // The fixture must tell the conventions apart, well beyond the tolerance.
            assert!((ref_pt - ref_tf).abs() > 20.0 * TOLERANCE, "{}: references too close", case.name);
            assert!(
                ((pt - tf) - (ref_pt - ref_tf)).abs() <= TOLERANCE,
                "{}: icmbench's conventions differ by {}, the references by {}",
                case.name,
                pt - tf,
                ref_pt - ref_tf
            );
        } else {
            even += 1;
            assert_eq!(pt, tf, "{}: conventions differ on sides that stay even", case.name);
            assert!((ref_pt - ref_tf).abs() <= 1e-12, "{}: references differ", case.name);
        }
    }
    assert!(even >= 1 && odd >= 4, "even {even}, odd {odd}");
}
