//! Restorers with and without tiling: equal away from tile seams when the overlap covers the receptive field.

use icmbench_models::restore::{Restorer, RestorerSpec};
use icmbench_models::{Manifest, RuntimeOptions, models_dir};

/// The project's `psnr-rgb` of `b` against `a`.
fn psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    icmbench_metrics::by_name("psnr-rgb", &Default::default())
        .unwrap()
        .compute(a, b)
        .unwrap()
}

/// Tiles of 48 px with 12 px of overlap give the untiled output (measured: identical; the
/// test allows 1 level for convolution kernels picked per tile size): the overlap
/// covers the model's receptive field, so the cores never see the tile borders.
#[test]
fn tiled_equals_untiled() {
    let manifest = Manifest::shipped().unwrap();
    let model = manifest
        .load("esrgan-slim-x4", &models_dir(), &RuntimeOptions::default())
        .unwrap_or_else(|e| panic!("{e} (the x4 model is built by scripts/build-models.sh)"));
    let r = Restorer::new(model, RestorerSpec::esrgan_x4());
    let src = image::open(icmbench_datasets::samples_dir().join("coffee.png")).unwrap().to_rgb8();
    let img = image::imageops::crop_imm(&src, 200, 100, 101, 67).to_image();
    let whole = r.restore(&img, 0, 0).unwrap();
    assert_eq!(whole.dimensions(), (404, 268));
    let tiled = r.restore(&img, 48, 12).unwrap();
    assert_eq!(tiled.dimensions(), whole.dimensions());
    let diff = whole
        .as_raw()
        .iter()
        .zip(tiled.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    let differing = whole.as_raw().iter().zip(tiled.as_raw()).filter(|(a, b)| a != b).count();
    eprintln!(
        "tiled vs untiled: max |diff| {diff}, {differing} of {} values differ",
        whole.as_raw().len()
    );
    assert!(diff <= 1, "max difference {diff}");
    assert!(r.restore(&img, 20, 10).is_err());
}

/// `esrgan-medium-x4` (built by `make models`) under the shared ×4 contract: a 128×128 crop
/// downscaled to 32×32 comes back at 128×128 and closer to the original than pixel
/// replication is (a wrong value range or layout would not be).
#[test]
fn esrgan_medium_restores_under_the_x4_contract() {
    let manifest = Manifest::shipped().unwrap();
    let model = manifest
        .load("esrgan-medium-x4", &models_dir(), &RuntimeOptions::default())
        .unwrap_or_else(|e| panic!("{e} (built by scripts/build-models.sh)"));
    let r = Restorer::new(model, RestorerSpec::builtin("esrgan-medium-x4").expect("built-in contract"));
    let src = image::open(icmbench_datasets::samples_dir().join("coffee.png")).unwrap().to_rgb8();
    let hr = image::imageops::crop_imm(&src, 160, 96, 128, 128).to_image();
    let lr = image::imageops::resize(&hr, 32, 32, image::imageops::FilterType::CatmullRom);
    let sr = r.restore(&lr, 0, 0).unwrap();
    assert_eq!(sr.dimensions(), (128, 128));
    let nearest = image::imageops::resize(&lr, 128, 128, image::imageops::FilterType::Nearest);
    let (ours, base) = (psnr(&hr, &sr), psnr(&hr, &nearest));
    eprintln!("esrgan-medium-x4: {ours:.2} dB, pixel replication {base:.2} dB");
    assert!(ours > base + 1.0, "{ours} vs {base}");
}

/// The demo denoiser (8 layers of 3x3: receptive-field radius 8) tiled with exactly that
/// overlap gives the untiled output; with less overlap the seams show.
#[test]
fn denoiser_tiles_with_its_receptive_field_radius_equal_untiled() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("models/demo-denoiser");
    let spec: RestorerSpec = toml::from_str(&std::fs::read_to_string(dir.join("restorer.toml")).unwrap()).unwrap();
    let model = icmbench_models::Model::load("demo-denoiser", &dir.join("denoiser.onnx"), &RuntimeOptions::default()).unwrap();
    let r = Restorer::new(model, spec);
    let src = image::open(icmbench_datasets::samples_dir().join("coffee.png")).unwrap().to_rgb8();
    let clean = image::imageops::crop_imm(&src, 200, 100, 101, 67).to_image();
    let img = icmbench_datasets::degrade::apply(&clean, &icmbench_datasets::degrade::Degradation::Noise { sigma: 25.0 }, 5).unwrap();
    let whole = r.restore(&img, 0, 0).unwrap();
    let max_diff = |a: &image::RgbImage, b: &image::RgbImage| a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
    let tiled = r.restore(&img, 40, 8).unwrap();
    eprintln!(
        "demo denoiser, tiles 40 / overlap 8 vs untiled: max |diff| {}; overlap 2: {}",
        max_diff(&whole, &tiled),
        max_diff(&whole, &r.restore(&img, 40, 2).unwrap())
    );
    assert!(max_diff(&whole, &tiled) <= 1, "overlap 8: {}", max_diff(&whole, &tiled));
    let seams = r.restore(&img, 40, 2).unwrap();
    assert!(max_diff(&whole, &seams) > 1, "overlap 2 should show seams");
    // And the denoiser denoises: closer to the clean crop than its noisy input.
    let (before, after) = (psnr(&clean, &img), psnr(&clean, &whole));
    eprintln!("demo denoiser on a 101x67 crop: {before:.2} dB -> {after:.2} dB");
    assert!(after > before + 3.0, "{before} -> {after}");
}

/// The wiring of the six built-in MAXIM contracts where the real models are not built (CI):
/// a stand-in with their inputs and outputs that, like MAXIM, refuses sides that are not
/// multiples of 64 and returns 1 − x (`tests/fixtures/maxim-standin`,
/// `scripts/make-maxim-standin.py`). A 150×100 image whole (padded to 192×128) and in
/// 128-pixel tiles (windows of exactly 128 shifted inside the image, the short side one
/// padded window) comes back as 255 − v exactly: names, NHWC layout, [0, 1] range, size
/// multiple and tiling agree. Without the size multiple the stand-in refuses the image.
#[test]
fn maxim_contracts_feed_multiples_of_64_in_nhwc_unit_range() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let onnx = root.join("tests/fixtures/maxim-standin/standin.onnx");
    let src = image::open(icmbench_datasets::samples_dir().join("coffee.png")).unwrap().to_rgb8();
    let img = image::imageops::crop_imm(&src, 200, 100, 150, 100).to_image();
    let inverted = image::RgbImage::from_fn(150, 100, |x, y| image::Rgb(img.get_pixel(x, y).0.map(|v| 255 - v)));
    for name in icmbench_models::restore::BUILTIN_RESTORERS
        .iter()
        .filter(|n| n.starts_with("maxim-"))
    {
        let spec = RestorerSpec::builtin(name).unwrap();
        let model = icmbench_models::Model::load(name, &onnx, &RuntimeOptions::default()).unwrap();
        let r = Restorer::new(model, spec.clone());
        assert_eq!(r.restore(&img, 0, 0).unwrap(), inverted, "{name} whole");
        assert_eq!(r.restore(&img, 128, 16).unwrap(), inverted, "{name} tiled");
        let loose = RestorerSpec { size_multiple: 1, ..spec };
        let model = icmbench_models::Model::load(name, &onnx, &RuntimeOptions::default()).unwrap();
        assert!(
            Restorer::new(model, loose).restore(&img, 0, 0).is_err(),
            "{name}: 150x100 must be refused"
        );
    }
}

/// MAXIM tiled against whole-image MAXIM (a measurement; needs `make models-maxim`, so it
/// is ignored by default: `cargo test --release -p icmbench --test restore -- --ignored
/// --nocapture`). MAXIM's grid gMLP mixes the whole input, so no overlap makes tiles equal
/// to the whole image; this prints how far apart they are, in PSNR between the two outputs
/// and against the ideal image, for 384×384 crops of two photos, and checks that tiles of
/// 256 (32 or 64 pixels of overlap) stay within 0.5 dB of the whole image's PSNR (measured:
/// within 0.25 dB; README, MAXIM tiles).
#[test]
#[ignore = "needs the optional MAXIM models (make models-maxim) and about 10 minutes"]
fn maxim_tiles_against_the_whole_image() {
    use icmbench_datasets::degrade::{Degradation, apply};
    let manifest = Manifest::shipped().unwrap();
    let cases = [
        ("maxim-deblurring", Degradation::MotionBlur { length: 9, angle: 30.0 }),
        (
            "maxim-dehazing-indoor",
            Degradation::Haze {
                beta: 1.5,
                airlight: 220.0,
            },
        ),
    ];
    for (name, degradation) in cases {
        let model = manifest
            .load(name, &models_dir(), &RuntimeOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let r = Restorer::new(model, RestorerSpec::builtin(name).unwrap());
        for photo in ["coffee.png", "motorcycle_left.png"] {
            let src = image::open(icmbench_datasets::samples_dir().join(photo)).unwrap().to_rgb8();
            let (w, h) = src.dimensions();
            let ideal = image::imageops::crop_imm(&src, (w - 384) / 2, (h - 384) / 2, 384, 384).to_image();
            let input = apply(&ideal, &degradation, 1).unwrap();
            let whole = r.restore(&input, 0, 0).unwrap();
            let base = psnr(&whole, &ideal);
            eprintln!("{name} {photo}: degraded {:.2} dB, whole image {base:.2} dB", psnr(&input, &ideal));
            for (tile, overlap) in [(256, 32), (256, 64), (128, 32)] {
                let tiled = r.restore(&input, tile, overlap).unwrap();
                let (agree, ideal_db) = (psnr(&tiled, &whole), psnr(&tiled, &ideal));
                eprintln!(
                    "  tile {tile} overlap {overlap}: {ideal_db:.2} dB ({:+.2}), tiled vs whole {agree:.2} dB",
                    ideal_db - base
                );
                if tile == 256 {
                    assert!((ideal_db - base).abs() < 0.5, "{name} {photo}: {ideal_db} vs {base}");
                }
            }
        }
    }
}
