//! The demo's HTML report in a real browser. The demo (`examples/demo.toml`, which keeps
//! its decoded images) is run into a temporary folder and reported as `make demo` does;
//! `scripts/browser-check.sh` then opens `report.html` in Debian's headless Chromium with
//! `scripts/browser-check.js` loaded first, which records every error, hovers a point,
//! clicks a legend entry, flips the switches, moves the viewer's slider, decodes every
//! embedded image and sorts the per-image table. Screenshots go to
//! `<target>/tmp/browser-check/` (the README's is `report-curves.png`).

mod common;

use std::path::Path;
use std::process::Command;

use common::{icmbench_ok, root};
use icmbench_reports::report::fmt_sig;
use serde_json::Value;

/// The demo config with absolute paths, writing into `out`.
fn demo_config(out: &Path) -> String {
    let root = root().canonicalize().unwrap();
    std::fs::read_to_string(root.join("examples/demo.toml"))
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("output =") {
                format!("output = {:?}", out.display().to_string())
            } else {
                l.replace("\"../", &format!("\"{}/", root.display()))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A screenshot that shows something: a PNG whose grey levels vary (a blank page would not).
fn assert_not_blank(path: &Path) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_luma8();
    let n = img.pixels().len() as f64;
    let mean = img.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / n;
    let var = img.pixels().map(|p| (f64::from(p.0[0]) - mean).powi(2)).sum::<f64>() / n;
    assert!(
        img.width() == 1280 && var > 100.0,
        "{}: {}x{}, grey variance {var}",
        path.display(),
        img.width(),
        img.height()
    );
}

#[test]
fn demo_report_works_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let cfg = tmp.path().join("demo.toml");
    std::fs::write(&cfg, demo_config(&out)).unwrap();
    icmbench_ok(&["run", cfg.to_str().unwrap(), "--quiet"]);
    // The demo's report command (Makefile, `make demo`).
    icmbench_ok(&["report", out.to_str().unwrap(), "--anchor", "jpeg", "--monotone-fit", "mpeg-cubic"]);
    let page = out.join("report/report.html");
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size < 15_000_000, "the demo's page is {size} bytes, above the 15 MB rule");
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(
        !text.contains("src=\"http") && !text.contains("href=\"http") && !text.contains("<link"),
        "no external assets"
    );

    // What the page should show, from the report's own JSON and the rows.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("report/report.json")).unwrap()).unwrap();
    let d = &report["datasets"][0];
    let webp: Vec<&Value> = d["points"].as_array().unwrap().iter().filter(|p| p["codec"] == "webp").collect();
    let p30 = webp.iter().find(|p| p["quality"] == 30.0).expect("webp q30 in the demo");
    let expected_tip = format!(
        "webp  q 30\nbpp {} (mean of per-image bpp)\nbpp {} (total bits / total pixels)\npsnr-rgb {} dB\n{} images",
        fmt_sig(p30["bpp_mean"].as_f64().unwrap()),
        fmt_sig(p30["bpp_total"].as_f64().unwrap()),
        fmt_sig(p30["metrics"]["psnr-rgb"]["mean"].as_f64().unwrap()),
        p30["ok"]
    );
    let metrics: Vec<&str> = d["metrics"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    let webp_circles = webp
        .iter()
        .map(|p| metrics.iter().filter(|m| p["metrics"][**m]["mean"].is_number()).count())
        .sum::<usize>();
    let rows = icmbench_reports::store::Store::new(&out).load().unwrap();
    let first = &rows[0].image;
    let mut codecs: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| &r.image == first) {
        if !codecs.contains(&r.codec.as_str()) {
            codecs.push(&r.codec);
        }
    }
    let extreme = |lowest: bool| -> Vec<String> {
        let mut cards = vec!["original".to_string()];
        for c in &codecs {
            let mine = rows.iter().filter(|r| &r.image == first && r.codec == *c);
            let pick = if lowest {
                mine.min_by(|a, b| a.bpp.unwrap().total_cmp(&b.bpp.unwrap()))
            } else {
                mine.max_by(|a, b| a.bpp.unwrap().total_cmp(&b.bpp.unwrap()))
            };
            let r = pick.unwrap();
            cards.push(format!("{c} q{}", r.quality));
        }
        cards
    };
    let images = rows.iter().map(|r| &r.image).collect::<std::collections::BTreeSet<_>>().len();
    let bpps: Vec<f64> = rows.iter().filter_map(|r| r.bpp).collect();

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-check");
    let _ = std::fs::remove_dir_all(&shots);
    let check = Command::new(root().join("scripts/browser-check.sh"))
        .arg(&page)
        .arg(&shots)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "browser-check.sh failed (is Debian's chromium installed? `make test` installs it): {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let console = std::fs::read_to_string(shots.join("console.log")).unwrap();
    assert!(
        !console.contains("Uncaught") && !console.contains(":ERROR:CONSOLE"),
        "the page logged errors: {console}"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(shots.join("result.json")).unwrap()).unwrap();
    assert_eq!(r["errors"], serde_json::json!([]), "{r}");
    // Hovering webp q30 on the PSNR chart shows its codec, quality, both bpp, value, images.
    assert_eq!(r["tip"].as_str(), Some(expected_tip.as_str()), "{r}");
    // Clicking webp's legend entry hides its points on every chart; clicking again shows them.
    assert_eq!(r["circles_before"], webp_circles, "{r}");
    assert_eq!(r["circles_hidden"], 0, "{r}");
    assert_eq!(r["circles_shown"], webp_circles, "{r}");
    // The switches: log rate axis, MS-SSIM in dB.
    assert!(r["texts_log"].as_str().unwrap().contains("bpp (mean of per-image bpp, log)"), "{r}");
    assert!(r["db_labels"].to_string().contains("ms-ssim-rgb in dB"), "{r}");
    // The viewer: the slider at either end picks each codec's lowest / highest rate on
    // the image; crops at 2x; every embedded image (whole and crop, with each image's
    // original) decodes.
    assert_eq!(r["cards_low"], serde_json::json!(extreme(true)), "{r}");
    assert_eq!(r["cards_high"], serde_json::json!(extreme(false)), "{r}");
    assert!(r["crop_widths"].as_array().unwrap().iter().all(|w| w == "320px"), "{r}");
    let embedded = 2 * (rows.len() + images);
    assert_eq!(r["embedded_images"], embedded, "{r}");
    assert_eq!(r["embedded_decoded"], embedded, "{r}");
    assert_eq!(r["shown_images"], 1 + codecs.len(), "{r}");
    assert_eq!(r["shown_decoded"], 1 + codecs.len(), "{r}");
    // The per-image table: every row, sortable, filtered by codec.
    assert_eq!(r["table_status"], format!("{0} of {0} rows", rows.len()), "{r}");
    let lo = bpps.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = bpps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(r["bpp_ascending_first"].as_f64().map(fmt_sig), Some(fmt_sig(lo)), "{r}");
    assert_eq!(r["bpp_descending_first"].as_f64().map(fmt_sig), Some(fmt_sig(hi)), "{r}");
    let webp_rows = rows.iter().filter(|r| r.codec == "webp").count();
    assert_eq!(r["table_status_filtered"], format!("{webp_rows} of {} rows", rows.len()), "{r}");
    for name in ["top", "curves", "viewer", "crops", "table"] {
        assert_not_blank(&shots.join(format!("report-{name}.png")));
    }
    eprintln!("screenshots: {}", shots.display());
}
