//! Memory of SSIM and MS-SSIM is bounded per pixel: a counting allocator records the peak
//! of live heap bytes while a metric runs (this test binary runs its tests one at a time
//! through a lock, so the count is the metric's alone).
//!
//! Bound (stated in the README): two `f64` planes of one channel (16 bytes per pixel), the
//! first pooled MS-SSIM level (4 bytes per pixel) and, per thread, a column tile of about
//! 31 KB (`ssim::TILE`) and two pooling rows: at most 21 bytes per pixel + 6 KB per
//! column. Before tiles and one channel at a time, MS-SSIM on RGB held about 136 bytes per
//! pixel (12000×12000 grey: over 6 GB).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn image(w: u32, h: u32, seed: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x.wrapping_mul(31) ^ y.wrapping_mul(17)).wrapping_add(seed.wrapping_mul(7)) % 251;
        image::Rgb([v as u8, (v / 2) as u8, (255 - v) as u8])
    })
}

/// Peak heap bytes above the baseline while `metric` scores the pair.
fn peak_bytes(metric: &str, a: &image::RgbImage, b: &image::RgbImage) -> usize {
    let m = icmbench_metrics::by_name(metric, &Default::default()).unwrap();
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let v = m.compute(a, b).unwrap();
    assert!(v.is_finite() && v > 0.0 && v <= 1.0, "{metric}: {v}");
    PEAK.load(Ordering::SeqCst) - base
}

#[test]
fn ssim_and_ms_ssim_memory_is_bounded_per_pixel() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let (w, h) = (1200u32, 900u32);
    let (a, b) = (image(w, h, 1), image(w, h, 2));
    let pixels = (w * h) as usize;
    let bound = 21 * pixels + 6 * 1024 * w as usize;
    for metric in ["ssim-grey", "ms-ssim-rgb", "ms-ssim-rgb-tf", "ms-ssim-grey"] {
        let peak = peak_bytes(metric, &a, &b);
        eprintln!(
            "{metric}: peak {:.1} MB on {w}x{h} ({:.1} bytes per pixel)",
            peak as f64 / 1e6,
            peak as f64 / pixels as f64
        );
        assert!(peak <= bound, "{metric}: peak {peak} bytes > bound {bound}");
    }
}
