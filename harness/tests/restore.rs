//! The x4 super-resolution model with and without tiling: equal away from tile seams.

use icmbench_models::restore::{Restorer, RestorerSpec};
use icmbench_models::{Manifest, RuntimeOptions, models_dir};

/// Tiles of 48 px with 12 px of overlap give the untiled output (measured: identical; the
/// test allows 1 level for convolution kernels picked per tile size): the overlap
/// covers the model's receptive field, so the cores never see the tile borders.
#[test]
fn tiled_equals_untiled() {
    let manifest = Manifest::shipped().unwrap();
    let model = manifest
        .load("esrgan-slim-x4", &models_dir(), &RuntimeOptions::default())
        .unwrap_or_else(|e| panic!("{e} (the x4 model comes from ../shared/models)"));
    let r = Restorer::new(model, RestorerSpec::esrgan_slim_x4());
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
