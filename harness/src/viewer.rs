//! The report's decoded-image viewer: reads the images a run kept (`reconstructions/`, see
//! [`crate::run::reconstruction_path`] and [`crate::run::reference_path`]), reduces them
//! by the size rule ([`SizeRule`]) and embeds them as JPEG `data:` URIs in
//! [`icmbench_reports::interactive::Viewer`].

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use icmbench_reports::interactive::{Shot, Viewer, ViewerDataset, ViewerImage};
use icmbench_reports::store::{Reference, ResultRow};
use image::RgbImage;
use rayon::prelude::*;

use crate::run::{reconstruction_path, reference_path};

/// How images are reduced for the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeRule {
    /// Longest side of the whole image, pixels (downscaled with Catmull–Rom; never
    /// upscaled).
    pub max_side: u32,
    /// JPEG quality of the whole image.
    pub quality: u8,
    /// Side of the full-resolution crop, pixels (smaller images: their shorter side).
    pub crop: u32,
    /// JPEG quality of the crop (high, so the codec's artefacts are what shows).
    pub crop_quality: u8,
    /// Most bytes of embedded images (as base64 text) in one page; images after the
    /// budget is spent are listed as not shown.
    pub budget: usize,
}

/// The report's rule: 15 MB pages for the demo are the limit, so images get 12 MB.
pub const RULE: SizeRule = SizeRule {
    max_side: 480,
    quality: 85,
    crop: 160,
    crop_quality: 92,
    budget: 12 << 20,
};

impl SizeRule {
    /// The rule in words, for the page.
    pub fn describe(&self) -> String {
        format!(
            "Size rule: each image is downscaled to at most {} px on its longer side (JPEG quality {}), and a {c} × {c} crop is kept at full resolution (JPEG quality {}); the page holds at most {} MB of images, and images beyond that are listed as not shown.",
            self.max_side,
            self.quality,
            self.crop_quality,
            self.budget >> 20,
            c = self.crop
        )
    }
}

/// The viewer of the rows' saved images in `dir`, in the rows' order (dataset, image),
/// with each version's bpp and per-image metrics (in `metric_order`, then the others).
/// Missing or unreadable files are listed, never fatal.
pub fn collect(dir: &Path, rows: &[ResultRow], metric_order: &[String], rule: &SizeRule) -> Viewer {
    let mut groups: Vec<((&str, &str), Vec<&ResultRow>)> = Vec::new();
    for r in rows.iter().filter(|r| r.is_ok()) {
        match groups.iter_mut().find(|(k, _)| *k == (r.dataset.as_str(), r.image.as_str())) {
            Some((_, g)) => g.push(r),
            None => groups.push(((&r.dataset, &r.image), vec![r])),
        }
    }
    let mut viewer = Viewer {
        rule: rule.describe(),
        ..Default::default()
    };
    // Names from the results become paths only inside this folder (links resolved).
    let root = match dir.canonicalize() {
        Ok(root) => root,
        Err(e) => {
            viewer.left_out.push(format!("{}: {e}", dir.display()));
            return viewer;
        }
    };
    let encoded: Vec<Result<(ViewerImage, Vec<String>), String>> = groups
        .par_iter()
        .map(|((dataset, image), rows)| image_versions(&root, dataset, image, rows, metric_order, rule))
        .collect();
    let mut spent = 0usize;
    for (((dataset, image), _), result) in groups.iter().zip(encoded) {
        let im = match result {
            Ok((im, missing)) => {
                viewer
                    .left_out
                    .extend(missing.into_iter().map(|m| format!("{dataset}/{image}: {m}")));
                im
            }
            Err(e) => {
                viewer.left_out.push(format!("{dataset}/{image}: {e}"));
                continue;
            }
        };
        let size: usize = std::iter::once(&im.reference)
            .chain(&im.shots)
            .map(|s| s.full.len() + s.crop.len())
            .sum();
        if spent + size > rule.budget {
            viewer.left_out.push(format!(
                "{dataset}/{image}: the page's {} MB image budget is spent",
                rule.budget >> 20
            ));
            continue;
        }
        spent += size;
        match viewer.datasets.iter_mut().find(|d| d.dataset == *dataset) {
            Some(d) => d.images.push(im),
            None => viewer.datasets.push(ViewerDataset {
                dataset: dataset.to_string(),
                images: vec![im],
            }),
        }
    }
    viewer
}

/// One image's reference and versions, reduced and encoded, and why any version is
/// missing; an error when the reference is. `dir` is canonical.
fn image_versions(
    dir: &Path,
    dataset: &str,
    image: &str,
    rows: &[&ResultRow],
    metric_order: &[String],
    rule: &SizeRule,
) -> Result<(ViewerImage, Vec<String>), String> {
    let reference = load(dir, &reference_path(dir, dataset, image))?;
    let (w, h) = reference.dimensions();
    let crop = busiest_square(&reference, rule.crop);
    let lowlevel = rows.iter().any(|r| is_reference_row(r));
    let shot = |codec: &str, img: &RgbImage, row: Option<&ResultRow>| -> Result<Shot, String> {
        Ok(Shot {
            codec: codec.to_string(),
            quality: row.filter(|r| !is_reference_row(r)).map(|r| r.quality),
            fixed: row.is_some_and(is_reference_row),
            bpp: row.and_then(|r| r.bpp),
            metrics: row.map(|r| ordered_metrics(&r.metrics, metric_order)).unwrap_or_default(),
            full: data_uri(&downscale(img, rule.max_side), rule.quality)?,
            crop: data_uri(
                &image::imageops::crop_imm(img, crop.0, crop.1, crop.2, crop.3).to_image(),
                rule.crop_quality,
            )?,
        })
    };
    let label = if lowlevel { "ideal image" } else { "original" };
    let mut shots = Vec::new();
    let mut missing = Vec::new();
    for r in rows {
        let version = load(dir, &reconstruction_path(dir, dataset, &r.codec, r.quality, image)).and_then(|img| {
            if img.dimensions() == (w, h) {
                shot(&r.codec, &img, Some(r))
            } else {
                Err(format!("{}x{}, but its reference is {w}x{h}", img.width(), img.height()))
            }
        });
        match version {
            Ok(s) => shots.push(s),
            Err(e) => missing.push(format!(
                "{} q{}: {e}",
                r.codec,
                icmbench_codecs::external::format_quality(r.quality)
            )),
        }
    }
    let im = ViewerImage {
        image: image.to_string(),
        size: (w, h),
        crop,
        reference: shot(label, &reference, None)?,
        shots,
    };
    Ok((im, missing))
}

/// Whether a row is a low-level reference row (the degraded input, the task on the
/// uncompressed input), not a codec's.
fn is_reference_row(r: &ResultRow) -> bool {
    Reference::ALL.iter().any(|x| x.name() == r.codec)
}

/// A row's metric values: those of `order` first, then the others by name.
fn ordered_metrics(metrics: &BTreeMap<String, f64>, order: &[String]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = order.iter().filter_map(|m| metrics.get(m).map(|v| (m.clone(), *v))).collect();
    out.extend(metrics.iter().filter(|(m, _)| !order.contains(m)).map(|(m, v)| (m.clone(), *v)));
    out.retain(|(_, v)| v.is_finite());
    out
}

/// A saved image, read only when it is a file inside `root` (canonical) once `..` and
/// links are resolved: names in a received results table never reach other files.
fn load(root: &Path, path: &Path) -> Result<RgbImage, String> {
    if !path.is_file() {
        return Err(format!(
            "{} was not saved (rows reused from an earlier run keep no image)",
            path.display()
        ));
    }
    let real = path.canonicalize().map_err(|e| format!("{}: {e}", path.display()))?;
    if !real.starts_with(root) {
        return Err(format!(
            "{} is outside the reconstructions folder {}; not read",
            path.display(),
            root.display()
        ));
    }
    icmbench_datasets::decode_image(&real, icmbench_datasets::DEFAULT_MAX_PIXELS)
        .map(|i| i.to_rgb8())
        .map_err(|e| e.to_string())
}

/// The image scaled so its longer side is at most `max_side` (never enlarged).
fn downscale(img: &RgbImage, max_side: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let long = w.max(h);
    if long <= max_side {
        return img.clone();
    }
    let scale = f64::from(max_side) / f64::from(long);
    let (nw, nh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    image::imageops::resize(img, nw, nh, image::imageops::FilterType::CatmullRom)
}

/// The square of side `side` (at most the image's shorter side) with the most detail:
/// the largest sum of absolute horizontal and vertical differences of grey levels, over
/// positions on a grid of half the side. (x, y, width, height).
pub fn busiest_square(img: &RgbImage, side: u32) -> (u32, u32, u32, u32) {
    let (w, h) = img.dimensions();
    let c = side.min(w).min(h).max(1);
    let grey = |x: u32, y: u32| {
        let p = img.get_pixel(x, y).0;
        i64::from(p[0]) * 299 + i64::from(p[1]) * 587 + i64::from(p[2]) * 114
    };
    let detail = |x0: u32, y0: u32| -> i64 {
        let mut sum = 0;
        for y in y0..y0 + c {
            for x in x0..x0 + c {
                let g = grey(x, y);
                if x + 1 < x0 + c {
                    sum += (grey(x + 1, y) - g).abs();
                }
                if y + 1 < y0 + c {
                    sum += (grey(x, y + 1) - g).abs();
                }
            }
        }
        sum
    };
    let step = (c / 2).max(1);
    let positions = |len: u32| {
        let mut v: Vec<u32> = (0..=len - c).step_by(step as usize).collect();
        if v.last() != Some(&(len - c)) {
            v.push(len - c);
        }
        v
    };
    let mut best = (0, 0, i64::MIN);
    for y in positions(h) {
        for x in positions(w) {
            let d = detail(x, y);
            if d > best.2 {
                best = (x, y, d);
            }
        }
    }
    (best.0, best.1, c, c)
}

/// A JPEG `data:` URI of the image.
fn data_uri(img: &RgbImage, quality: u8) -> Result<String, String> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(img)
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_is_where_the_detail_is() {
        // Flat grey with a checkerboard patch at (100..140, 60..100).
        let img = RgbImage::from_fn(200, 120, |x, y| {
            let v = if (100..140).contains(&x) && (60..100).contains(&y) && (x + y) % 2 == 0 {
                255
            } else {
                128
            };
            image::Rgb([v, v, v])
        });
        let (x, y, w, h) = busiest_square(&img, 40);
        assert_eq!((w, h), (40, 40));
        assert_eq!((x, y), (100, 60), "the grid (step 20) holds the patch's corner");
        // A crop larger than the image is the image's shorter side, still over the patch.
        assert_eq!(busiest_square(&img, 500), (60, 0, 120, 120));
    }

    fn row(image: &str, codec: &str, quality: f64, bpp: Option<f64>) -> ResultRow {
        ResultRow {
            dataset: "sr".into(),
            image: image.into(),
            image_hash: "h".into(),
            width: 64,
            height: 48,
            conversion: "rgb8".into(),
            preprocess: "none".into(),
            codec: codec.into(),
            codec_kind: codec.into(),
            codec_version: "v".into(),
            quality,
            status: icmbench_reports::store::Status::Ok,
            error: None,
            bytes: None,
            bpp,
            bpp_estimated: None,
            encode_ms: None,
            decode_ms: None,
            metrics: [("psnr-rgb".to_string(), 30.0), ("niqe".to_string(), 5.0)].into(),
            tasks: Default::default(),
            provenance: None,
        }
    }

    /// A low-level dataset: the ideal image is the reference, the reference rows are fixed
    /// versions without quality, a codec's rows carry their bpp; a version that was not
    /// saved is listed, not fatal; an image without its reference is listed and skipped;
    /// the budget leaves out whole images, in order.
    #[test]
    fn viewer_of_a_lowlevel_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 77]));
        let rows = vec![
            row("a.png", Reference::TaskOnUncompressed.name(), 0.0, None),
            row("a.png", Reference::DegradedInput.name(), 0.0, None),
            row("a.png", "jpeg", 10.0, Some(0.5)),
            row("a.png", "jpeg", 50.0, Some(1.5)),
            row("b.png", "jpeg", 10.0, Some(0.4)),
            row("c.png", "jpeg", 10.0, Some(0.4)),
        ];
        let save = |p: std::path::PathBuf| {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            img.save(&p).unwrap();
        };
        for r in &rows[..4] {
            save(reconstruction_path(dir.path(), "sr", &r.codec, r.quality, &r.image));
        }
        save(reference_path(dir.path(), "sr", "a.png"));
        save(reference_path(dir.path(), "sr", "b.png"));
        let order = ["niqe".to_string()];
        let v = collect(dir.path(), &rows, &order, &RULE);
        assert_eq!(v.datasets.len(), 1);
        let images = &v.datasets[0].images;
        assert_eq!(images.iter().map(|i| i.image.as_str()).collect::<Vec<_>>(), ["a.png", "b.png"]);
        let a = &images[0];
        assert_eq!((a.reference.codec.as_str(), a.size), ("ideal image", (64, 48)));
        let fixed: Vec<(&str, bool, Option<f64>)> = a.shots.iter().map(|s| (s.codec.as_str(), s.fixed, s.quality)).collect();
        assert_eq!(
            fixed,
            [
                ("task-on-uncompressed", true, None),
                ("degraded-input", true, None),
                ("jpeg", false, Some(10.0)),
                ("jpeg", false, Some(50.0))
            ]
        );
        assert_eq!(a.shots[3].bpp, Some(1.5));
        assert_eq!(
            a.shots[2].metrics,
            [("niqe".to_string(), 5.0), ("psnr-rgb".to_string(), 30.0)],
            "the report's order first"
        );
        assert!(
            a.shots.iter().all(|s| s.full.starts_with("data:image/jpeg;base64,/9j/")),
            "JPEG data URIs"
        );
        assert_eq!(a.crop, (0, 0, 48, 48), "the crop is at most the shorter side");
        assert!(
            images[1].shots.is_empty() && images[1].reference.codec == "original",
            "b.png: no version saved"
        );
        assert!(
            v.left_out
                .iter()
                .any(|l| l.starts_with("sr/b.png: jpeg q10:") && l.contains("was not saved")),
            "{:?}",
            v.left_out
        );
        assert!(v.left_out.iter().any(|l| l.starts_with("sr/c.png:")), "{:?}", v.left_out);
        // A budget that holds the first image only.
        let first: usize = std::iter::once(&a.reference)
            .chain(&a.shots)
            .map(|s| s.full.len() + s.crop.len())
            .sum();
        let tight = SizeRule { budget: first, ..RULE };
        let v = collect(dir.path(), &rows, &order, &tight);
        assert_eq!(v.datasets[0].images.len(), 1);
        assert!(v.left_out.iter().any(|l| l.starts_with("sr/b.png: the page's")), "{:?}", v.left_out);
    }

    /// Image ids from a received results table that climb out of the folder (`..`) or
    /// a link that points out of it are not read: the files stay off the page and the
    /// images are listed as left out.
    #[test]
    fn names_never_reach_files_outside_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("recon");
        let img = RgbImage::from_pixel(16, 16, image::Rgb([9, 9, 9]));
        let secret = tmp.path().join("secret.png");
        img.save(&secret).unwrap();
        let inside = reference_path(&dir, "sr", "ok.png");
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        img.save(&inside).unwrap();
        let climbing = "../../../secret";
        assert!(
            reference_path(&dir, "sr", climbing).is_file(),
            "the test's path does reach the file"
        );
        std::os::unix::fs::symlink(&secret, reference_path(&dir, "sr", "link")).unwrap();
        let rows = vec![row(climbing, "jpeg", 10.0, Some(0.5)), row("link", "jpeg", 10.0, Some(0.5))];
        let v = collect(&dir, &rows, &[], &RULE);
        assert!(v.datasets.is_empty(), "{v:?}");
        assert_eq!(v.left_out.len(), 2, "{:?}", v.left_out);
        assert!(
            v.left_out.iter().all(|l| l.contains("outside the reconstructions folder")),
            "{:?}",
            v.left_out
        );
    }

    #[test]
    fn downscaling_keeps_the_aspect_and_never_enlarges() {
        let img = RgbImage::new(768, 670);
        assert_eq!(downscale(&img, 480).dimensions(), (480, 419));
        assert_eq!(downscale(&RgbImage::new(300, 200), 480).dimensions(), (300, 200));
    }
}
