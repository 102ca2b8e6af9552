//! Plain `f64` image planes and the filters that work on them, each implemented once for
//! the whole workspace: RGB split and merge, correlation with a square kernel under an edge
//! rule, normalised Gaussian kernels, and MATLAB's `imresize` for downscaling. Used by the
//! synthetic degradations here and by NIQE and BRISQUE (icmbench-metrics).

use image::RgbImage;

/// Splits an RGB image into three `f64` planes (R, G, B), row-major, values 0–255.
pub fn rgb_planes(img: &RgbImage) -> [Vec<f64>; 3] {
    [0, 1, 2].map(|c| rgb_plane(img, c))
}

/// One channel (0 = R, 1 = G, 2 = B) of an 8-bit RGB image as an `f64` plane.
pub fn rgb_plane(img: &RgbImage, channel: usize) -> Vec<f64> {
    img.as_raw().iter().skip(channel).step_by(3).map(|&v| f64::from(v)).collect()
}

/// Merges three planes (`w`×`h`) into an 8-bit RGB image, rounding and clipping.
pub fn from_rgb_planes(p: &[Vec<f64>; 3], w: u32, h: u32) -> RgbImage {
    let n = (w * h) as usize;
    let data = (0..n)
        .flat_map(|i| (0..3).map(move |c| (c, i)))
        .map(|(c, i)| p[c][i].round().clamp(0.0, 255.0) as u8)
        .collect();
    RgbImage::from_raw(w, h, data).unwrap_or_else(|| RgbImage::new(w, h))
}

/// How a filter treats pixels outside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Zero padding: MATLAB `filter2(w, I, 'same')` (the BRISQUE release).
    Zero,
    /// Edge replication: `scipy.ndimage.convolve(mode='nearest')` (BasicSR's NIQE, blurs).
    Replicate,
}

/// A square kernel of odd size, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// Side length (odd).
    pub size: usize,
    /// `size`×`size` weights, row-major.
    pub weights: Vec<f64>,
}

impl Kernel {
    /// A kernel from its rows (all of the same, odd length as their number).
    pub fn from_rows(rows: &[Vec<f64>]) -> Self {
        Self {
            size: rows.len(),
            weights: rows.iter().flatten().copied().collect(),
        }
    }

    /// Weights scaled to sum to 1.
    pub fn normalised(mut self) -> Self {
        let s: f64 = self.weights.iter().sum();
        self.weights.iter_mut().for_each(|w| *w /= s);
        self
    }
}

/// The normalised Gaussian `exp(−(x² + y²)/(2σ²))` on `−radius..=radius` (MATLAB
/// `fspecial('gaussian', 2·radius + 1, σ)`).
pub fn gaussian_kernel(radius: usize, sigma: f64) -> Kernel {
    let r = radius as i64;
    let weights = (-r..=r)
        .flat_map(|y| (-r..=r).map(move |x| (-((x * x + y * y) as f64) / (2.0 * sigma * sigma)).exp()))
        .collect();
    Kernel {
        size: 2 * radius + 1,
        weights,
    }
    .normalised()
}

/// The source index of `i` (may lie outside `0..n`) under an edge rule; `None` for a zero.
fn source(i: isize, n: isize, edge: Edge) -> Option<usize> {
    match edge {
        Edge::Replicate => Some(i.clamp(0, n - 1) as usize),
        Edge::Zero if i < 0 || i >= n => None,
        Edge::Zero => Some(i as usize),
    }
}

/// Correlates `p` (`w`×`h`, row-major) with a kernel, same-size output, accumulating in
/// row-major kernel order (each term a multiply then an add, so every build of the kernel
/// gives the same bits).
///
/// The plane is first padded by the kernel's radius under the edge rule (a zero term adds
/// nothing), then each output is summed over the kernel, a block of columns at a time.
pub fn correlate(p: &[f64], w: usize, h: usize, kernel: &Kernel, edge: Edge) -> Vec<f64> {
    let r = kernel.size / 2;
    let (pw, ph) = (w + 2 * r, h + 2 * r);
    let mut padded = vec![0.0; pw * ph];
    for (py, row) in padded.chunks_exact_mut(pw).enumerate() {
        let Some(sy) = source(py as isize - r as isize, h as isize, edge) else {
            continue;
        };
        let src = &p[sy * w..(sy + 1) * w];
        row[r..r + w].copy_from_slice(src);
        for px in (0..r).chain(r + w..pw) {
            if let Some(sx) = source(px as isize - r as isize, w as isize, edge) {
                row[px] = src[sx];
            }
        }
    }
    let mut out = vec![0.0; w * h];
    correlate_padded(&padded, pw, kernel, &mut out, w);
    out
}

crate::multiversion! {
    /// [`correlate_padded_kernel`] built for this processor's vector unit.
    fn correlate_padded(padded: &[f64], pw: usize, kernel: &Kernel, out: &mut [f64], w: usize) -> () = correlate_padded_kernel;
}

/// `out` (`w` wide) = the correlation of `padded` (`pw` = `w + size − 1` wide) with the
/// kernel, taps in row-major order, each a multiply then an add (the `FMA` build is not
/// used for fusing, only for its wider vectors). Outputs are computed [`BLOCK`] columns
/// at a time with their sums in registers, every tap applied before the next block.
#[inline(always)]
fn correlate_padded_kernel<const FMA: bool>(padded: &[f64], pw: usize, kernel: &Kernel, out: &mut [f64], w: usize) {
    let k = kernel.size;
    for (y, orow) in out.chunks_exact_mut(w).enumerate() {
        let rows = &padded[y * pw..(y + k) * pw];
        let mut blocks = orow.chunks_exact_mut(BLOCK);
        for (b, o) in blocks.by_ref().enumerate() {
            let mut acc = [0.0; BLOCK];
            for (krow, prow) in kernel.weights.chunks_exact(k).zip(rows.chunks_exact(pw)) {
                for (kx, &c) in krow.iter().enumerate() {
                    let src = &prow[b * BLOCK + kx..][..BLOCK];
                    for l in 0..BLOCK {
                        acc[l] = crate::simd::madd::<false>(c, src[l], acc[l]);
                    }
                }
            }
            o.copy_from_slice(&acc);
        }
        let rest = blocks.into_remainder();
        let x0 = w - rest.len();
        rest.fill(0.0);
        for (krow, prow) in kernel.weights.chunks_exact(k).zip(rows.chunks_exact(pw)) {
            for (kx, &c) in krow.iter().enumerate() {
                for (o, &v) in rest.iter_mut().zip(&prow[x0 + kx..]) {
                    *o = crate::simd::madd::<false>(c, v, *o);
                }
            }
        }
    }
}

/// Output columns the correlation keeps in registers at once.
const BLOCK: usize = 32;

/// MATLAB's bicubic kernel.
fn cubic(x: f64) -> f64 {
    let a = x.abs();
    if a <= 1.0 {
        1.5 * a.powi(3) - 2.5 * a * a + 1.0
    } else if a <= 2.0 {
        -0.5 * a.powi(3) + 2.5 * a * a - 4.0 * a + 2.0
    } else {
        0.0
    }
}

/// MATLAB `imresize` contributions along one axis for a scale ≤ 1 (antialiased):
/// per output index, (source index, weight).
fn contributions(n: usize, scale: f64) -> Vec<Vec<(usize, f64)>> {
    let width = 4.0 / scale;
    let out = (n as f64 * scale).ceil() as usize;
    let taps = width.ceil() as usize + 2;
    (1..=out)
        .map(|x| {
            let u = x as f64 / scale + 0.5 * (1.0 - 1.0 / scale);
            let left = (u - width / 2.0).floor();
            let raw: Vec<(isize, f64)> = (0..taps)
                .map(|t| (left as isize + t as isize, scale * cubic((u - (left + t as f64)) * scale)))
                .collect();
            let sum: f64 = raw.iter().map(|r| r.1).sum();
            raw.into_iter()
                .map(|(i, w)| {
                    let n = n as isize;
                    let j = if i < 1 {
                        1 - i
                    } else if i > n {
                        2 * n + 1 - i
                    } else {
                        i
                    };
                    ((j - 1).clamp(0, n - 1) as usize, w / sum)
                })
                .collect()
        })
        .collect()
}

/// MATLAB `imresize(plane, scale)` for `scale ≤ 1` (bicubic, antialiasing, symmetric
/// edges), rows then columns; returns the plane and its size.
pub fn imresize_down(p: &[f64], w: usize, h: usize, scale: f64) -> (Vec<f64>, usize, usize) {
    let wy = contributions(h, scale);
    let wx = contributions(w, scale);
    let (oh, ow) = (wy.len(), wx.len());
    let mut tmp = vec![0.0; oh * w];
    for (oy, taps) in wy.iter().enumerate() {
        for &(sy, wt) in taps {
            for x in 0..w {
                tmp[oy * w + x] += wt * p[sy * w + x];
            }
        }
    }
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        for (ox, taps) in wx.iter().enumerate() {
            out[y * ow + ox] = taps.iter().map(|&(sx, wt)| wt * tmp[y * w + sx]).sum();
        }
    }
    (out, ow, oh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_edges_darken_borders_and_replicated_edges_do_not() {
        let p = vec![10.0; 9 * 9];
        let k = gaussian_kernel(3, 7.0 / 6.0);
        let z = correlate(&p, 9, 9, &k, Edge::Zero);
        let r = correlate(&p, 9, 9, &k, Edge::Replicate);
        assert!((z[4 * 9 + 4] - 10.0).abs() < 1e-9 && z[0] < 9.0);
        assert!(r.iter().all(|v| (v - 10.0).abs() < 1e-9));
    }

    /// The blocked correlation gives the bits of the direct one (every output summed over
    /// the kernel in row-major order, out-of-image taps by the edge rule), on widths that
    /// are and are not a multiple of the block.
    #[test]
    fn blocked_correlation_equals_the_direct_sum_bit_for_bit() {
        let k = Kernel::from_rows(&[vec![0.1, 0.2, 0.3], vec![0.4, 0.5, 0.6], vec![0.7, 0.8, 0.9]]);
        let k7 = gaussian_kernel(3, 7.0 / 6.0);
        for (w, h) in [(2 * BLOCK + 5, 9), (BLOCK, 4), (3, 3)] {
            let p: Vec<f64> = (0..w * h).map(|i| ((i * 31 % 17) as f64).sqrt()).collect();
            for (kernel, edge) in [(&k, Edge::Zero), (&k, Edge::Replicate), (&k7, Edge::Zero)] {
                let r = (kernel.size / 2) as isize;
                let direct: Vec<f64> = (0..(w * h) as isize)
                    .map(|i| {
                        let (y, x) = (i / w as isize, i % w as isize);
                        let mut s = 0.0;
                        for (t, &c) in kernel.weights.iter().enumerate() {
                            let (ky, kx) = ((t / kernel.size) as isize, (t % kernel.size) as isize);
                            let sy = source(y + ky - r, h as isize, edge);
                            let sx = source(x + kx - r, w as isize, edge);
                            let v = sy.zip(sx).map_or(0.0, |(sy, sx)| p[sy * w + sx]);
                            s += c * v;
                        }
                        s
                    })
                    .collect();
                assert_eq!(correlate(&p, w, h, kernel, edge), direct, "{w}x{h} {edge:?}");
            }
        }
    }

    #[test]
    fn half_resize_of_a_constant_is_constant() {
        let p = vec![7.0; 20 * 10];
        let (r, w, h) = imresize_down(&p, 20, 10, 0.5);
        assert_eq!((w, h), (10, 5));
        assert!(r.iter().all(|v| (v - 7.0).abs() < 1e-12));
    }

    #[test]
    fn planes_round_trip() {
        let img = RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8, y as u8, 200]));
        assert_eq!(from_rgb_planes(&rgb_planes(&img), 5, 3), img);
    }
}
