//! The NanoDet detector (models/manifest.toml `nanodet`) on bundled photos: its boxes are
//! where the objects are, and its box decoding agrees with the npm package's own decoder.

use icmbench_models::detect::{Detector, DetectorSpec, OutputFamily};
use icmbench_models::{Manifest, RuntimeOptions, models_dir};

fn detector() -> Detector {
    let model = Manifest::shipped()
        .unwrap()
        .load("nanodet", &models_dir(), &RuntimeOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    Detector::new(model, DetectorSpec::nanodet())
}

fn photo(name: &str) -> image::RgbImage {
    image::open(icmbench_datasets::samples_dir().join(name)).unwrap().to_rgb8()
}

fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let (ax2, ay2, bx2, by2) = (a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]);
    let iw = (ax2.min(bx2) - a[0].max(b[0])).max(0.0);
    let ih = (ay2.min(by2) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    inter / (a[2] * a[3] + b[2] * b[3] - inter)
}

/// The best detection of the expected class lies on the object: boxes drawn by hand
/// (x, y, w, h) around the motorcycle of motorcycle_left.png and the astronaut of
/// astronaut.png; IoU at least 0.8.
#[test]
fn boxes_are_where_the_objects_are() {
    let d = detector();
    for (file, category, hand) in [
        ("motorcycle_left.png", 4, [90.0, 75.0, 600.0, 365.0]),
        ("astronaut.png", 1, [10.0, 10.0, 360.0, 502.0]),
    ] {
        let dets = d.detect(&photo(file)).unwrap();
        assert!(dets.len() <= 100);
        let best = dets
            .iter()
            .filter(|x| x.category_id == category)
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .unwrap_or_else(|| panic!("{file}: no category {category}"));
        let top = dets.iter().map(|x| x.score).fold(0.0, f64::max);
        eprintln!(
            "{file}: category {category} score {:.3} box {:?}, IoU with hand box {:.3}",
            best.score,
            best.bbox,
            iou(best.bbox, hand)
        );
        assert!(best.score == top, "{file}: another class scores higher");
        assert!(iou(best.bbox, hand) >= 0.8, "{file}: {:?}", best.bbox);
    }
}

/// @vladmandic/human 3.3.6 `src/object/nanodet.ts` (`process`), transcribed: per stride
/// size 1/2/4 (13/26/52 cells) the cell centre is `(0.5 + i % base) / base`, each side is
/// the arg-max bin × (base / strideSize / 416) × 2.5 / strideSize, sides ordered left,
/// top, right, bottom. Its boxes for the best cells must agree with icmbench's decoding
/// (softmax expectation × stride from the same cell centre) to IoU 0.7 (the package uses
/// the arg-max bin where NanoDet's head uses the expectation).
#[test]
fn decoding_agrees_with_the_packages_javascript_decoder() {
    let d = detector();
    let img = photo("motorcycle_left.png");
    let (outs, _) = d.raw(&img).unwrap();
    let OutputFamily::Nanodet { levels, reg_max } = &d.spec().family else {
        unreachable!()
    };
    let bins = reg_max + 1;
    let mut compared = 0;
    for (k, level) in levels.iter().enumerate() {
        let (scores, boxes) = (&outs[2 * k].1, &outs[2 * k + 1].1);
        let base = (416 / level.stride) as usize;
        let stride_size = (base / 13) as f64;
        for i in 0..base * base {
            let s = &scores[i * 80..(i + 1) * 80];
            if s.iter().fold(0.0f32, |a, &v| a.max(v)) < 0.5 {
                continue;
            }
            let b = &boxes[i * 4 * bins..(i + 1) * 4 * bins];
            let argmax = |side: usize| {
                let l = &b[side * bins..(side + 1) * bins];
                (0..bins).max_by(|&x, &y| l[x].total_cmp(&l[y])).unwrap() as f64
            };
            let cx = (0.5 + (i % base) as f64) / base as f64;
            let cy = (0.5 + (i / base) as f64) / base as f64;
            let off: Vec<f64> = (0..4)
                .map(|s| argmax(s) * (base as f64 / stride_size / 416.0) * 2.5 / stride_size)
                .collect();
            let js = [cx - off[0], cy - off[1], off[0] + off[2], off[1] + off[3]];
            let ours = icmbench_models::detect::decode_nanodet_level(s, b, 80, 1, level.stride as f32, *reg_max, 0.5);
            // decode_nanodet_level with grid width 1 puts the cell at (0.5, row + 0.5) * stride:
            // shift it to this cell's column and row.
            let (col, row) = ((i % base) as f32, (i / base) as f32);
            let c = &ours[0].xyxy;
            let (x1, y1) = (c[0] + col * level.stride as f32, c[1] + row * level.stride as f32);
            let dx = (c[2] - c[0]) as f64;
            let dy = (c[3] - c[1]) as f64;
            let ours_norm = [f64::from(x1) / 416.0, f64::from(y1) / 416.0, dx / 416.0, dy / 416.0];
            let agree = iou(ours_norm, js);
            assert!(
                agree >= 0.7,
                "stride {}: cell {i}: ours {ours_norm:?} vs package {js:?}",
                level.stride
            );
            compared += 1;
        }
    }
    eprintln!("compared {compared} confident cells with the package's decoding");
    assert!(compared >= 3);
}
