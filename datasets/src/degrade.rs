//! Synthetic degradations for low-level vision (LL-ICM): a clean image becomes the degraded
//! input of a restoration task, the clean image its ideal target. Every degradation is
//! deterministic: its random parts come from a SplitMix64 generator seeded with the given
//! seed (icmbench mixes in a hash of the image id), so the same seed gives the same pixels
//! on every machine.
//!
//! | degradation | parameters | what it does |
//! |---|---|---|
//! | `noise` | `sigma` | additive white Gaussian noise, σ on the 0–255 scale, per channel |
//! | `gaussian-blur` | `sigma` | Gaussian kernel of radius ⌈3σ⌉, edges replicated |
//! | `motion-blur` | `length`, `angle` (degrees) | average along a line segment of `length` pixels |
//! | `downscale` | `factor` (2, 3, 4) | MATLAB `imresize(I, 1/factor)`: bicubic with antialiasing (the "BI" super-resolution degradation) |
//! | `low-light` | `gamma`, `gain`, `sigma` | `gain · (v/255)^gamma · 255` then Gaussian noise σ (dark, noisy) |
//! | `haze` | `beta`, `airlight` | atmospheric scattering `I = J·t + A·(1 − t)`, `t = exp(−β·d)`, depth proxy `d` from 1 at the top row to 0 at the bottom |
//! | `rain` | `density`, `length`, `angle`, `intensity` | `density` × W·H / 1000 bright streaks of `length` pixels at `angle`, added with `intensity` (0–255) |
//! | `jpeg` | `quality` | a JPEG round trip (the `image` crate's baseline encoder, 4:2:0) |
//!
//! Results are rounded and clipped to 8 bit.

use image::RgbImage;
use serde::Deserialize;

use crate::planes::{Edge, Kernel, correlate, from_rgb_planes, gaussian_kernel, imresize_down, rgb_planes};

/// The degradation kinds, as written in configs.
pub const KINDS: &[&str] = &[
    "noise",
    "gaussian-blur",
    "motion-blur",
    "downscale",
    "low-light",
    "haze",
    "rain",
    "jpeg",
];

/// One degradation and its parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Degradation {
    /// Additive Gaussian noise.
    Noise {
        /// Standard deviation on the 0–255 scale.
        sigma: f64,
    },
    /// Gaussian blur.
    GaussianBlur {
        /// Standard deviation in pixels.
        sigma: f64,
    },
    /// Linear motion blur.
    MotionBlur {
        /// Length in pixels.
        length: u32,
        /// Direction in degrees (0 = horizontal).
        angle: f64,
    },
    /// Bicubic downscaling with antialiasing (MATLAB `imresize`).
    Downscale {
        /// 2, 3 or 4.
        factor: u32,
    },
    /// Low light: gamma, gain, noise.
    LowLight {
        /// Exponent (> 1 darkens mid-tones).
        gamma: f64,
        /// Multiplier after the gamma.
        gain: f64,
        /// Noise standard deviation on the 0–255 scale.
        sigma: f64,
    },
    /// Haze by atmospheric scattering.
    Haze {
        /// Scattering coefficient.
        beta: f64,
        /// Airlight on the 0–255 scale.
        airlight: f64,
    },
    /// Rain streaks.
    Rain {
        /// Streaks per 1000 pixels.
        density: f64,
        /// Streak length in pixels.
        length: u32,
        /// Direction in degrees from vertical.
        angle: f64,
        /// Added brightness (0–255).
        intensity: f64,
    },
    /// JPEG artefacts.
    Jpeg {
        /// 1–100.
        quality: u8,
    },
}

/// SplitMix64: a small, fully specified generator (the same numbers everywhere).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, one value per call).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The blur kernel of σ: radius ⌈3σ⌉ (at least 1).
fn blur_kernel(sigma: f64) -> Kernel {
    gaussian_kernel((3.0 * sigma).ceil().max(1.0) as usize, sigma)
}

/// A normalised line kernel of `length` pixels at `angle` degrees (sub-pixel samples).
fn motion_kernel(length: u32, angle: f64) -> Kernel {
    let len = f64::from(length.max(1));
    let r = (len / 2.0).ceil() as isize;
    let k = (2 * r + 1) as usize;
    let mut v = vec![0.0; k * k];
    let (dx, dy) = (angle.to_radians().cos(), -angle.to_radians().sin());
    let samples = (len * 4.0) as usize + 1;
    for i in 0..samples {
        let t = if samples == 1 { 0.0 } else { i as f64 / (samples - 1) as f64 - 0.5 } * (len - 1.0);
        let (x, y) = ((t * dx).round() as isize + r, (t * dy).round() as isize + r);
        v[y as usize * k + x as usize] += 1.0;
    }
    Kernel { size: k, weights: v }.normalised()
}

/// Applies a degradation; `seed` drives every random part.
pub fn apply(img: &RgbImage, d: &Degradation, seed: u64) -> Result<RgbImage, String> {
    let (w, h) = img.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    // JPEG works on the 8-bit image itself, not on planes.
    if let Degradation::Jpeg { quality } = *d {
        if !(1..=100).contains(&quality) {
            return Err(format!("jpeg: quality {quality} must be 1 to 100"));
        }
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
            .encode_image(img)
            .map_err(|e| format!("jpeg: {e}"))?;
        return image::load_from_memory(&bytes)
            .map(|i| i.to_rgb8())
            .map_err(|e| format!("jpeg: {e}"));
    }
    let mut rng = SplitMix64::new(seed);
    let mut p = rgb_planes(img);
    let add_noise = |p: &mut [Vec<f64>; 3], sigma: f64, rng: &mut SplitMix64| {
        for plane in p.iter_mut() {
            for v in plane.iter_mut() {
                *v += sigma * rng.normal();
            }
        }
    };
    match *d {
        Degradation::Noise { sigma } => {
            if sigma.is_nan() || sigma < 0.0 {
                return Err(format!("noise: sigma {sigma} must be >= 0"));
            }
            add_noise(&mut p, sigma, &mut rng);
        }
        Degradation::GaussianBlur { sigma } => {
            if sigma.is_nan() || sigma <= 0.0 {
                return Err(format!("gaussian-blur: sigma {sigma} must be > 0"));
            }
            let k = blur_kernel(sigma);
            p = p.map(|plane| correlate(&plane, wu, hu, &k, Edge::Replicate));
        }
        Degradation::MotionBlur { length, angle } => {
            let k = motion_kernel(length, angle);
            p = p.map(|plane| correlate(&plane, wu, hu, &k, Edge::Replicate));
        }
        Degradation::Downscale { factor } => {
            if !(2..=8).contains(&factor) {
                return Err(format!("downscale: factor {factor} must be 2 to 8"));
            }
            let [r, g, b] = p.map(|plane| imresize_down(&plane, wu, hu, 1.0 / f64::from(factor)));
            let (ow, oh) = (r.1 as u32, r.2 as u32);
            return Ok(from_rgb_planes(&[r.0, g.0, b.0], ow, oh));
        }
        Degradation::LowLight { gamma, gain, sigma } => {
            if gamma.is_nan() || gamma <= 0.0 || gain.is_nan() || gain < 0.0 || sigma.is_nan() || sigma < 0.0 {
                return Err("low-light: gamma must be > 0, gain and sigma >= 0".into());
            }
            for plane in p.iter_mut() {
                for v in plane.iter_mut() {
                    *v = gain * (*v / 255.0).powf(gamma) * 255.0;
                }
            }
            add_noise(&mut p, sigma, &mut rng);
        }
        Degradation::Haze { beta, airlight } => {
            for plane in p.iter_mut() {
                for y in 0..hu {
                    let depth = if hu > 1 { 1.0 - y as f64 / (hu - 1) as f64 } else { 1.0 };
                    let t = (-beta * depth).exp();
                    for v in &mut plane[y * wu..(y + 1) * wu] {
                        *v = *v * t + airlight * (1.0 - t);
                    }
                }
            }
        }
        Degradation::Rain {
            density,
            length,
            angle,
            intensity,
        } => {
            let count = (density * f64::from(w) * f64::from(h) / 1000.0).round() as usize;
            let (dx, dy) = (angle.to_radians().sin(), angle.to_radians().cos());
            let mut mask = vec![0.0f64; wu * hu];
            for _ in 0..count {
                let (x0, y0) = (rng.uniform() * f64::from(w), rng.uniform() * f64::from(h));
                for s in 0..length {
                    let (x, y) = ((x0 + f64::from(s) * dx) as isize, (y0 + f64::from(s) * dy) as isize);
                    if x >= 0 && y >= 0 && (x as usize) < wu && (y as usize) < hu {
                        mask[y as usize * wu + x as usize] = 1.0;
                    }
                }
            }
            for plane in p.iter_mut() {
                for (v, m) in plane.iter_mut().zip(&mask) {
                    *v += intensity * m;
                }
            }
        }
        Degradation::Jpeg { .. } => unreachable!("handled before the planes are made"),
    }
    Ok(from_rgb_planes(&p, w, h))
}

/// The seed of one image: the run's seed mixed with a hash of the image id (FNV-1a), so
/// each image gets its own noise and every run the same.
pub fn image_seed(seed: u64, image_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in image_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    SplitMix64::new(seed ^ h).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(v: u8, w: u32, h: u32) -> RgbImage {
        RgbImage::from_pixel(w, h, image::Rgb([v, v, v]))
    }

    fn pattern() -> RgbImage {
        RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8]))
    }

    #[test]
    fn splitmix_is_the_reference_sequence() {
        // SplitMix64 with seed 0: first outputs as in Vigna's reference implementation.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn noise_is_deterministic_and_has_the_asked_sigma() {
        let img = grey(128, 200, 200);
        let d = Degradation::Noise { sigma: 10.0 };
        let a = apply(&img, &d, 7).unwrap();
        assert_eq!(a, apply(&img, &d, 7).unwrap());
        assert_ne!(a, apply(&img, &d, 8).unwrap());
        let vals: Vec<f64> = a.as_raw().iter().map(|&v| f64::from(v) - 128.0).collect();
        let std = (vals.iter().map(|v| v * v).sum::<f64>() / vals.len() as f64).sqrt();
        assert!((std - 10.0).abs() < 0.3, "{std}");
    }

    #[test]
    fn blurs_keep_flat_images_and_smooth_edges() {
        for d in [
            Degradation::GaussianBlur { sigma: 2.0 },
            Degradation::MotionBlur { length: 9, angle: 30.0 },
        ] {
            assert_eq!(apply(&grey(90, 32, 32), &d, 0).unwrap(), grey(90, 32, 32));
            let step = RgbImage::from_fn(32, 32, |x, _| {
                if x < 16 {
                    image::Rgb([0, 0, 0])
                } else {
                    image::Rgb([200, 200, 200])
                }
            });
            let b = apply(&step, &d, 0).unwrap();
            let mid = b.get_pixel(16, 16)[0];
            assert!(mid > 0 && mid < 200, "{d:?}: {mid}");
        }
    }

    #[test]
    fn downscale_sizes_follow_matlab_and_flat_stays_flat() {
        let d = Degradation::Downscale { factor: 4 };
        let out = apply(&grey(77, 101, 50), &d, 0).unwrap();
        assert_eq!(out.dimensions(), (26, 13)); // ceil(101/4), ceil(50/4)
        assert!(out.pixels().all(|p| p[0] == 77));
        assert!(apply(&grey(1, 8, 8), &Degradation::Downscale { factor: 1 }, 0).is_err());
    }

    #[test]
    fn low_light_darkens_haze_brightens_the_top_rain_adds_streaks() {
        let img = pattern();
        let mean = |i: &RgbImage| i.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / i.as_raw().len() as f64;
        let dark = apply(
            &img,
            &Degradation::LowLight {
                gamma: 2.0,
                gain: 0.6,
                sigma: 2.0,
            },
            1,
        )
        .unwrap();
        assert!(mean(&dark) < 0.6 * mean(&img));
        let hazy = apply(
            &grey(20, 16, 16),
            &Degradation::Haze {
                beta: 1.5,
                airlight: 220.0,
            },
            0,
        )
        .unwrap();
        assert!(hazy.get_pixel(0, 0)[0] > hazy.get_pixel(0, 15)[0]);
        assert_eq!(hazy.get_pixel(0, 15)[0], 20); // depth 0 at the bottom row: no haze
        let rain = apply(
            &grey(50, 100, 100),
            &Degradation::Rain {
                density: 2.0,
                length: 12,
                angle: 15.0,
                intensity: 120.0,
            },
            3,
        )
        .unwrap();
        let bright = rain.pixels().filter(|p| p[0] == 170).count();
        assert!(bright > 100 && bright < 2400, "{bright}");
    }

    #[test]
    fn jpeg_artefacts_keep_the_size_and_lose_detail() {
        let img = pattern();
        let j = apply(&img, &Degradation::Jpeg { quality: 5 }, 0).unwrap();
        assert_eq!(j.dimensions(), img.dimensions());
        assert_ne!(j, img);
    }

    #[test]
    fn image_seeds_differ_per_image_and_repeat_per_run() {
        assert_eq!(image_seed(1, "a.png"), image_seed(1, "a.png"));
        assert_ne!(image_seed(1, "a.png"), image_seed(1, "b.png"));
        assert_ne!(image_seed(1, "a.png"), image_seed(2, "a.png"));
    }

    #[test]
    fn degradations_parse_from_toml() {
        #[derive(Deserialize)]
        struct T {
            d: Vec<Degradation>,
        }
        let t: T = toml::from_str("d = [{ kind = \"noise\", sigma = 15.0 }, { kind = \"downscale\", factor = 4 }]").unwrap();
        assert_eq!(t.d[1], Degradation::Downscale { factor: 4 });
        assert!(toml::from_str::<T>("d = [{ kind = \"noise\", sigmaa = 1.0 }]").is_err());
        // Every listed kind is a variant (it fails on missing fields, not on the kind).
        for k in KINDS {
            let e = toml::from_str::<T>(&format!("d = [{{ kind = \"{k}\" }}]"))
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("missing field") && !e.contains("unknown variant"), "{k}: {e}");
        }
    }
}
