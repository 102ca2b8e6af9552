//! GMSD, gradient magnitude similarity deviation (Xue, Zhang, Mou and Bovik 2014), as the
//! authors' `GMSD.m`, each step a free function over one plane:
//!
//! - [`halve`]: `conv2(Y, fspecial('average', 2), 'same')` then every second row and column
//!   (`(1:2:end, 1:2:end)`): each output averages a 2×2 block, and on an odd side the last
//!   block reaches past the edge, where `'same'` adds zeros (still divided by 4);
//! - [`gradient_magnitude`]: `conv2` with `dx = [1 0 −1; 1 0 −1; 1 0 −1]/3` and `dy = dx'`,
//!   `'same'` (zero padding), then `sqrt(Ix² + Iy²)`;
//! - [`gmsd`]: the similarity map `(2·g1·g2 + T) / (g1² + g2² + T)` with `T = 170`, and its
//!   standard deviation (`std2`, normalised by N − 1). Lower is better; identical images
//!   score 0.

/// GMSD's stability constant for 8-bit planes.
pub const T: f64 = 170.0;

/// GMSD of two `w`×`h` planes on the 0–255 scale (reference `x`, distorted `y`; the score
/// is symmetric). Errors when the halved plane has fewer than two samples (no deviation).
pub fn gmsd(x: &[f64], y: &[f64], w: usize, h: usize) -> Result<f64, String> {
    let (a, hw, hh) = halve(x, w, h);
    let (b, _, _) = halve(y, w, h);
    if hw * hh < 2 {
        return Err("GMSD needs at least 3x3 pixels (two samples after halving)".into());
    }
    let (ga, gb) = (gradient_magnitude(&a, hw, hh), gradient_magnitude(&b, hw, hh));
    let map: Vec<f64> = ga.iter().zip(&gb).map(|(p, q)| (2.0 * p * q + T) / (p * p + q * q + T)).collect();
    Ok(sample_std(&map))
}

/// The 2×2 average of `GMSD.m`, every second sample kept: output `(r, c)` is the mean of
/// samples `(2r + i, 2c + j)`, `i, j ∈ {0, 1}`, those past the edge counting as 0.
/// Returns the plane and its size, `ceil(w/2)`×`ceil(h/2)`.
pub fn halve(plane: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
    // Rows padded with a zero column (an odd width's last block), and a zero row for an odd
    // height's last block.
    let zero = vec![0.0; w + 1];
    let mut rows = [vec![0.0; w + 1], vec![0.0; w + 1]];
    let mut out = vec![0.0; ow * oh];
    for (r, orow) in out.chunks_exact_mut(ow).enumerate() {
        for (i, buf) in rows.iter_mut().enumerate() {
            match plane.get((2 * r + i) * w..(2 * r + i + 1) * w) {
                Some(src) => buf[..w].copy_from_slice(src),
                None => buf.copy_from_slice(&zero),
            }
        }
        let [a, b] = &rows;
        for (c, o) in orow.iter_mut().enumerate() {
            *o = (a[2 * c] + b[2 * c] + a[2 * c + 1] + b[2 * c + 1]) / 4.0;
        }
    }
    (out, ow, oh)
}

/// `sqrt(Ix² + Iy²)` with `GMSD.m`'s 3×3 kernels over a zero-padded `w`×`h` plane: `Ix` is
/// the column-sum difference of the right and left neighbours over three rows, divided by
/// 3, `Iy` the row-sum difference of the rows below and above (the kernels' signs do not
/// matter after squaring).
pub fn gradient_magnitude(plane: &[f64], w: usize, h: usize) -> Vec<f64> {
    map_3x3(plane, w, h, |up, mid, down, c| {
        let ix = ((up[c + 2] - up[c]) + (mid[c + 2] - mid[c]) + (down[c + 2] - down[c])) / 3.0;
        let iy = ((down[c] - up[c]) + (down[c + 1] - up[c + 1]) + (down[c + 2] - up[c + 2])) / 3.0;
        (ix * ix + iy * iy).sqrt()
    })
}

/// `f(up, mid, down, c)` for every sample of a `w`×`h` plane with a one-sample zero border:
/// `up`, `mid` and `down` are the padded rows above, at and below the sample, whose column
/// `c` sits at `c + 1` (so `c`, `c + 1`, `c + 2` are its left, own and right columns).
/// The 3×3 filters of GMSD and FSIM are written over it.
pub fn map_3x3(plane: &[f64], w: usize, h: usize, f: impl Fn(&[f64], &[f64], &[f64], usize) -> f64) -> Vec<f64> {
    let pw = w + 2;
    let mut padded = vec![0.0; pw * (h + 2)];
    for (dst, src) in padded[pw..].chunks_exact_mut(pw).zip(plane.chunks_exact(w)) {
        dst[1..=w].copy_from_slice(src);
    }
    let mut out = vec![0.0; w * h];
    for (r, orow) in out.chunks_exact_mut(w).enumerate() {
        let (up, mid, down) = (
            &padded[r * pw..][..pw],
            &padded[(r + 1) * pw..][..pw],
            &padded[(r + 2) * pw..][..pw],
        );
        for (c, o) in orow.iter_mut().enumerate() {
            *o = f(up, mid, down, c);
        }
    }
    out
}

/// Standard deviation normalised by N − 1 (MATLAB `std2`), two passes.
pub fn sample_std(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand: a 3×2 plane halves to 2×1; the odd last column averages with zeros.
    #[test]
    fn halving_pads_odd_sides_with_zeros() {
        let (out, w, h) = halve(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(out, vec![(1.0 + 2.0 + 4.0 + 5.0) / 4.0, (3.0 + 6.0) / 4.0]);
    }

    /// A vertical step of height 3 gives |Ix| = 3 on the columns beside it (full 3-row
    /// support) and 2 on the top and bottom rows (one neighbour row is padding).
    #[test]
    fn gradient_of_a_step() {
        let (w, h) = (4, 4);
        let plane: Vec<f64> = (0..w * h).map(|i| if i % w >= 2 { 3.0 } else { 0.0 }).collect();
        let g = gradient_magnitude(&plane, w, h);
        assert!((g[w + 1] - 3.0).abs() < 1e-12 && (g[w + 2] - 3.0).abs() < 1e-12, "{g:?}");
        assert!((g[1] - (2.0f64 * 2.0 + 1.0).sqrt()).abs() < 1e-12, "{g:?}");
    }

    /// Both steps equal their definitions sample by sample (zeros outside the plane), on
    /// every parity of the sides.
    #[test]
    fn steps_equal_their_definitions() {
        for (w, h) in [(7, 5), (8, 6), (7, 6), (8, 5), (1, 1), (2, 3)] {
            let p: Vec<f64> = (0..w * h).map(|i| ((i * 29 % 17) as f64).sqrt()).collect();
            let at = |r: isize, c: isize| {
                let inside = r >= 0 && c >= 0 && (r as usize) < h && (c as usize) < w;
                if inside { p[r as usize * w + c as usize] } else { 0.0 }
            };
            let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
            let halved: Vec<f64> = (0..ow * oh)
                .map(|i| {
                    let (r, c) = (2 * (i / ow) as isize, 2 * (i % ow) as isize);
                    (at(r, c) + at(r + 1, c) + at(r, c + 1) + at(r + 1, c + 1)) / 4.0
                })
                .collect();
            assert_eq!(halve(&p, w, h), (halved, ow, oh), "{w}x{h}");
            let gradient: Vec<f64> = (0..w * h)
                .map(|i| {
                    let (r, c) = ((i / w) as isize, (i % w) as isize);
                    let ix = (at(r - 1, c + 1) - at(r - 1, c - 1)) + (at(r, c + 1) - at(r, c - 1)) + (at(r + 1, c + 1) - at(r + 1, c - 1));
                    let iy = (at(r + 1, c - 1) - at(r - 1, c - 1)) + (at(r + 1, c) - at(r - 1, c)) + (at(r + 1, c + 1) - at(r - 1, c + 1));
                    ((ix / 3.0) * (ix / 3.0) + (iy / 3.0) * (iy / 3.0)).sqrt()
                })
                .collect();
            assert_eq!(gradient_magnitude(&p, w, h), gradient, "{w}x{h}");
        }
    }

    #[test]
    fn identical_planes_score_zero_and_tiny_planes_are_an_error() {
        let x: Vec<f64> = (0..20 * 12).map(|i| ((i * 37) % 251) as f64).collect();
        assert_eq!(gmsd(&x, &x, 20, 12).unwrap(), 0.0);
        assert!(gmsd(&x[..4], &x[..4], 2, 2).is_err());
        assert!((sample_std(&[1.0, 2.0, 3.0, 4.0]) - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
    }
}
