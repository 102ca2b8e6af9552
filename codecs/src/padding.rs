//! Padding to a size multiple before coding and cropping back after decoding.
//!
//! The default follows CompressAI's `eval_model.pad`: zeros, the image centred (the odd
//! extra row or column goes to the bottom or right). Rates are always computed on the
//! source size, not the padded one.

use std::borrow::Cow;

use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

/// What the padded border is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PadMode {
    /// Zeros (black), as CompressAI.
    #[default]
    Zero,
    /// The nearest edge pixel repeated.
    Replicate,
}

/// Where the image sits inside the padded canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PadAlign {
    /// Centred (CompressAI).
    #[default]
    Center,
    /// Top-left corner fixed; padding at the bottom and right (typical for VTM and HM).
    BottomRight,
}

/// A padding option value that is not one of its choices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}`: expected {choices}")]
pub struct PaddingChoiceError {
    /// The value given.
    pub value: String,
    /// The accepted values.
    pub choices: &'static str,
}

impl std::str::FromStr for PadMode {
    type Err = PaddingChoiceError;

    fn from_str(s: &str) -> Result<Self, PaddingChoiceError> {
        match s {
            "zero" => Ok(Self::Zero),
            "replicate" => Ok(Self::Replicate),
            _ => Err(PaddingChoiceError {
                value: s.to_string(),
                choices: "`zero` or `replicate`",
            }),
        }
    }
}

impl std::str::FromStr for PadAlign {
    type Err = PaddingChoiceError;

    fn from_str(s: &str) -> Result<Self, PaddingChoiceError> {
        match s {
            "center" => Ok(Self::Center),
            "bottom-right" => Ok(Self::BottomRight),
            _ => Err(PaddingChoiceError {
                value: s.to_string(),
                choices: "`center` or `bottom-right`",
            }),
        }
    }
}

/// A padding policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Padding {
    /// Fill.
    #[serde(default)]
    pub mode: PadMode,
    /// Placement.
    #[serde(default)]
    pub align: PadAlign,
}

/// A padded image and where the source lies inside it.
#[derive(Debug, Clone)]
pub struct Padded<'a> {
    /// The padded image (borrowed when no padding was needed).
    pub image: Cow<'a, RgbImage>,
    /// Left offset of the source inside `image`.
    pub left: u32,
    /// Top offset of the source inside `image`.
    pub top: u32,
    /// Source width.
    pub width: u32,
    /// Source height.
    pub height: u32,
}

/// Rounds `v` up to a multiple of `m` (`m` ≥ 1).
pub fn round_up(v: u32, m: u32) -> u32 {
    v.div_ceil(m.max(1)) * m.max(1)
}

/// Where a `w`×`h` image sits (left, top) inside its canvas padded to `multiple`.
pub fn placement(w: u32, h: u32, multiple: u32, policy: &Padding) -> (u32, u32) {
    let (pw, ph) = (round_up(w, multiple), round_up(h, multiple));
    match policy.align {
        PadAlign::Center => ((pw - w) / 2, (ph - h) / 2),
        PadAlign::BottomRight => (0, 0),
    }
}

/// Pads `img` so both sides are multiples of `multiple`.
pub fn pad_to_multiple<'a>(img: &'a RgbImage, multiple: u32, policy: &Padding) -> Padded<'a> {
    let (w, h) = img.dimensions();
    let (pw, ph) = (round_up(w, multiple), round_up(h, multiple));
    if (pw, ph) == (w, h) {
        return Padded {
            image: Cow::Borrowed(img),
            left: 0,
            top: 0,
            width: w,
            height: h,
        };
    }
    let (left, top) = placement(w, h, multiple, policy);
    let out = RgbImage::from_fn(pw, ph, |x, y| {
        let inside = x >= left && x < left + w && y >= top && y < top + h;
        match (inside, policy.mode) {
            (true, _) => *img.get_pixel(x - left, y - top),
            (false, PadMode::Zero) => Rgb([0, 0, 0]),
            (false, PadMode::Replicate) => {
                let sx = x.saturating_sub(left).min(w - 1);
                let sy = y.saturating_sub(top).min(h - 1);
                *img.get_pixel(sx, sy)
            }
        }
    });
    Padded {
        image: Cow::Owned(out),
        left,
        top,
        width: w,
        height: h,
    }
}

/// Cuts the source region back out of a decoded padded image.
pub fn crop(img: RgbImage, left: u32, top: u32, width: u32, height: u32) -> RgbImage {
    if (left, top) == (0, 0) && img.dimensions() == (width, height) {
        return img;
    }
    image::imageops::crop_imm(&img, left, top, width, height).to_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| Rgb([x as u8 + 1, y as u8 + 1, 9]))
    }

    #[test]
    fn aligned_images_are_borrowed() {
        let i = img(16, 8);
        let p = pad_to_multiple(&i, 8, &Padding::default());
        assert!(matches!(p.image, Cow::Borrowed(_)));
    }

    #[test]
    fn centred_zero_padding_like_compressai() {
        // CompressAI: new = ceil(x / 64) * 64, left = (new - w) // 2.
        let i = img(5, 3);
        let p = pad_to_multiple(&i, 4, &Padding::default());
        assert_eq!(p.image.dimensions(), (8, 4));
        assert_eq!((p.left, p.top), (1, 0));
        assert_eq!(p.image.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(p.image.get_pixel(1, 0).0, [1, 1, 9]);
        let back = crop(p.image.into_owned(), p.left, p.top, 5, 3);
        assert_eq!(back, i);
    }

    #[test]
    fn replicate_bottom_right() {
        let i = img(3, 1);
        let policy = Padding {
            mode: PadMode::Replicate,
            align: PadAlign::BottomRight,
        };
        let p = pad_to_multiple(&i, 2, &policy);
        assert_eq!(p.image.dimensions(), (4, 2));
        assert_eq!(p.image.get_pixel(3, 1).0, [3, 1, 9]);
        assert_eq!(p.image.get_pixel(0, 1).0, [1, 1, 9]);
    }

    #[test]
    fn odd_and_tiny_sizes() {
        for (w, h) in [(1, 1), (1, 7), (63, 65), (2, 1)] {
            for m in [1, 2, 8, 64] {
                let i = img(w, h);
                let p = pad_to_multiple(&i, m, &Padding::default());
                assert_eq!(p.image.width() % m, 0);
                assert_eq!(p.image.height() % m, 0);
                assert_eq!(crop(p.image.into_owned(), p.left, p.top, w, h), i);
            }
        }
    }

    /// The command line's `--pad-mode` and `--pad-align` parse the config's spellings, and a
    /// wrong value names itself and the choices.
    #[test]
    fn padding_choices_parse_like_the_config() {
        assert_eq!("replicate".parse::<PadMode>(), Ok(PadMode::Replicate));
        assert_eq!("bottom-right".parse::<PadAlign>(), Ok(PadAlign::BottomRight));
        for (mode, align) in [("zero", "center"), ("replicate", "bottom-right")] {
            let from_toml: Padding = toml::from_str(&format!("mode = \"{mode}\"\nalign = \"{align}\"")).unwrap();
            assert_eq!(
                (mode.parse::<PadMode>(), align.parse::<PadAlign>()),
                (Ok(from_toml.mode), Ok(from_toml.align))
            );
        }
        let e = "Zero".parse::<PadMode>().unwrap_err().to_string();
        assert!(e.contains("`Zero`") && e.contains("`zero` or `replicate`"), "{e}");
        assert!(
            "centre"
                .parse::<PadAlign>()
                .unwrap_err()
                .to_string()
                .contains("`center` or `bottom-right`")
        );
    }
}
