//! Colour conversions used by the metrics: RGB planes, MATLAB `rgb2gray`, BT.601/BT.709 luma,
//! BasicSR's Y, YIQ's Y.

use image::RgbImage;

/// MATLAB `rgb2gray` coefficients (the first row of the inverse NTSC transform).
pub const RGB2GRAY: [f64; 3] = [0.298_936_021_293_775, 0.587_043_074_451_121, 0.114_020_904_255_103];

/// Which luma (Y') definition to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Luma {
    /// ITU-R BT.601, MATLAB `rgb2ycbcr` (limited range 16–235).
    Bt601,
    /// ITU-R BT.709, limited range 16–235.
    Bt709,
}

impl Luma {
    /// Coefficients applied to R, G, B in 0–255, to which 16 is added (limited range).
    pub fn coefficients(self) -> [f64; 3] {
        match self {
            Luma::Bt601 => [65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0],
            Luma::Bt709 => [0.2126 * 219.0 / 255.0, 0.7152 * 219.0 / 255.0, 0.0722 * 219.0 / 255.0],
        }
    }
}

pub use icmbench_datasets::planes::rgb_planes;

/// MATLAB `rgb2gray` on a `uint8` image: the weighted sum rounded to the nearest integer.
pub fn matlab_rgb2gray(img: &RgbImage) -> Vec<f64> {
    let mut out = vec![0.0; img.as_raw().len() / 3];
    rgb2gray_into(img.as_raw(), &mut out);
    out
}

icmbench_datasets::multiversion! {
    /// [`rgb2gray_kernel`] built for this processor's vector unit (where rounding is a
    /// vector instruction rather than a call per pixel).
    fn rgb2gray_into(rgb: &[u8], out: &mut [f64]) -> () = rgb2gray_kernel;
}

/// `out[i]` = MATLAB `rgb2gray` of the `i`-th RGB triple of `rgb`: a multiply then an add per
/// channel (never fused, so every build gives the same bits), rounded half away from zero.
#[inline(always)]
fn rgb2gray_kernel<const FMA: bool>(rgb: &[u8], out: &mut [f64]) {
    for (o, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
        *o = (RGB2GRAY[0] * r + RGB2GRAY[1] * g + RGB2GRAY[2] * b).round().clamp(0.0, 255.0);
    }
}

/// Limited-range luma Y' = 16 + c·RGB, unrounded, in the 0–255 scale.
pub fn luma(img: &RgbImage, which: Luma) -> Vec<f64> {
    let c = which.coefficients();
    img.pixels()
        .map(|p| {
            let [r, g, b] = p.0.map(f64::from);
            16.0 + c[0] * r + c[1] * g + c[2] * b
        })
        .collect()
}

/// Full-range luma `0.299 R + 0.587 G + 0.114 B` on 0–255, unrounded: the Y of YIQ, as
/// `piq` converts RGB for its pixel-domain VIF.
pub fn yiq_luma(img: &RgbImage) -> Vec<f64> {
    img.pixels()
        .map(|p| {
            let [r, g, b] = p.0.map(f64::from);
            0.299 * r + 0.587 * g + 0.114 * b
        })
        .collect()
}

/// pyiqa's `to_y_channel(x, 255)` (its default YIQ): `0.299 R + 0.587 G + 0.114 B` of the
/// image divided by 255, times 255, rounded half to even (torch's `round`), in float64.
pub fn yiq_luma_rounded(img: &RgbImage) -> Vec<f64> {
    img.pixels()
        .map(|p| {
            let [r, g, b] = p.0.map(|c| f64::from(c) / 255.0);
            ((0.299 * r + 0.587 * g + 0.114 * b) * 255.0).round_ties_even()
        })
        .collect()
}

/// BasicSR's Y channel of an 8-bit image (basicsr 1.4.2 `metrics.metric_util.to_y_channel`,
/// which `calculate_psnr` and `calculate_ssim` use with `test_y_channel=True`): each sample
/// divided by 255 in float32, `bgr2ycbcr(y_only=True)` =
/// `24.966 B + 128.553 G + 65.481 R + 16` in float64, divided by 255 and stored as float32,
/// then multiplied by 255 in float32. The float32 roundings are BasicSR's, so the plane is
/// its plane.
pub fn basicsr_y(img: &RgbImage) -> Vec<f64> {
    // Each channel's term for every 8-bit value, the same products as computed per pixel.
    let term = |c: f64| -> [f64; 256] { std::array::from_fn(|v| f64::from(v as f32 / 255.0) * c) };
    let (tb, tg, tr) = (term(24.966), term(128.553), term(65.481));
    let mut y: Vec<f64> = img
        .pixels()
        .map(|p| {
            let [r, g, b] = p.0.map(usize::from);
            tb[b] + tg[g] + tr[r] + 16.0
        })
        .collect();
    // A second pass without table look-ups, so that the divisions run in vector lanes.
    y.iter_mut().for_each(|v| *v = f64::from((*v / 255.0) as f32 * 255.0));
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_of_white_and_black() {
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgb([255, 255, 255]));
        assert_eq!(matlab_rgb2gray(&img), vec![255.0, 0.0]);
        let y = luma(&img, Luma::Bt601);
        assert!((y[0] - 235.0).abs() < 1e-9 && (y[1] - 16.0).abs() < 1e-12);
        let y = luma(&img, Luma::Bt709);
        assert!((y[0] - 235.0).abs() < 1e-9);
    }
}
