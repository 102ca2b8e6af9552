//! SSIM and MS-SSIM over single planes: the Gaussian-window statistics, 'valid' filtering
//! and the multi-scale pyramid, each implemented once as a free function.
//!
//! SSIM follows Wang et al.'s `ssim_index.m` (Gaussian 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03,
//! only windows fully inside the image, no automatic downsampling). MS-SSIM has five scales
//! with weights 0.0448, 0.2856, 0.3001, 0.2363, 0.1333; contrast–structure terms and the
//! last scale's SSIM are clamped at 0 (ReLU); the last scale contributes the full SSIM.
//! Between scales a 2×2 average pool halves the plane; the two reference implementations
//! differ only in how they pool an odd side, so that rule is a parameter
//! ([`MsSsimPooling`]), one free function each:
//!
//! - [`avg_pool2_zero_pad`]: `pytorch_msssim` 1.x (`ms_ssim`, used by CompressAI):
//!   `F.avg_pool2d(x, kernel_size=2, padding=[s % 2 for s in x.shape[2:]])`, i.e. one zero
//!   row/column on **both** ends of an odd side, counted in the average
//!   (`count_include_pad=True`), which shifts the pooling grid by one sample;
//! - [`avg_pool2_repeat_edge`]: `tf.image.ssim_multiscale`: an odd side is padded at its
//!   end by repeating the last row/column (`SYMMETRIC` pad), then pooled 2×2 `VALID`.
//!
//! On sides that stay even through the four poolings (multiples of 16) both agree exactly.

/// Parameters of the SSIM window and constants.
#[derive(Debug, Clone, PartialEq)]
pub struct SsimParams {
    /// Side of the square Gaussian window.
    pub window: usize,
    /// Standard deviation of the Gaussian window.
    pub sigma: f64,
    /// Luminance stabiliser constant factor.
    pub k1: f64,
    /// Contrast stabiliser constant factor.
    pub k2: f64,
    /// Peak sample value (data range).
    pub peak: f64,
}

impl Default for SsimParams {
    fn default() -> Self {
        Self {
            window: 11,
            sigma: 1.5,
            k1: 0.01,
            k2: 0.03,
            peak: 255.0,
        }
    }
}

/// MS-SSIM scale weights (Wang, Simoncelli, Bovik 2003).
pub const MS_SSIM_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/// Mean SSIM and mean contrast–structure term over all valid windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SsimStats {
    /// Mean of the SSIM map.
    pub ssim: f64,
    /// Mean of the contrast–structure map.
    pub cs: f64,
}

/// Normalised 1-D Gaussian kernel; the 2-D window is its outer product.
pub fn gaussian_kernel(size: usize, sigma: f64) -> Vec<f64> {
    let centre = (size as f64 - 1.0) / 2.0;
    let mut k: Vec<f64> = (0..size)
        .map(|i| {
            let d = i as f64 - centre;
            (-(d * d) / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// Output columns of the SSIM map per tile. Tiles are computed independently (in parallel
/// on the caller's rayon pool when it has idle threads) and their sums are added in tile
/// order, so the result does not depend on the number of threads. A tile's working memory
/// is a ring of `window` horizontally filtered rows of the five maps, `TILE` columns wide
/// (28 KB for the 11-tap window: it stays in the level-1 cache), whatever the image size.
pub const TILE: usize = 64;

/// Columns processed together by the filter kernels: the accumulators of one chunk stay in
/// vector registers (eight `f64` are one AVX-512 register, two AVX2 ones). Per-column
/// sums are kept in this many lanes and added in lane order at the end of a tile, so the
/// result does not depend on the vector width the processor offers either.
const LANES: usize = 8;

/// Columns of one vertical filter block (two chunks × five maps of accumulators).
const VBLOCK: usize = 2 * LANES;

/// Rows ahead of the one being filtered whose tile band is prefetched.
const AHEAD: usize = 4;

/// The five maps of the SSIM statistics (x, y, x², y², xy), in ring and accumulator order.
const MAPS: usize = 5;

/// SSIM statistics of two `w`×`h` planes. Errors (with the reason) if the plane is smaller
/// than the window.
///
/// One pass over the planes, tile by tile ([`TILE`] output columns, the full height): each
/// input row of a tile is filtered horizontally once into the five maps of a ring of
/// `window` rows; each output row is the vertical filter over the ring, fused with the
/// SSIM and contrast–structure formulas, so no whole map is ever stored. The separable
/// filter gives every window's Gaussian-weighted sums (equal to the 2-D window's to
/// rounding).
pub fn ssim_stats(x: &[f64], y: &[f64], w: usize, h: usize, p: &SsimParams) -> Result<SsimStats, String> {
    let mut stats = stats_of_pairs(&[Pair { x, y, w, h }], p)?;
    Ok(stats.remove(0))
}

/// Two planes of the same `w`×`h` size, row-major.
#[derive(Clone, Copy)]
struct Pair<'a> {
    x: &'a [f64],
    y: &'a [f64],
    w: usize,
    h: usize,
}

/// [`ssim_stats`] of several plane pairs (MS-SSIM's scales) in one parallel pass over all
/// their tiles, largest pairs' tiles first, so that the small scales' few tiles fill the
/// threads' gaps instead of each scale waiting for its slowest tile. Each pair's tile sums
/// are added in tile order, so every pair's result is the one [`ssim_stats`] gives alone.
fn stats_of_pairs(pairs: &[Pair], p: &SsimParams) -> Result<Vec<SsimStats>, String> {
    use rayon::prelude::*;
    if pairs.iter().any(|q| q.w < p.window || q.h < p.window) {
        return Err(format!("SSIM needs at least {0}x{0} pixels (one full {0}x{0} window)", p.window));
    }
    let kernel = gaussian_kernel(p.window, p.sigma);
    let c = ((p.k1 * p.peak).powi(2), (p.k2 * p.peak).powi(2));
    let out_size = |q: &Pair| (q.w + 1 - p.window, q.h + 1 - p.window);
    let jobs: Vec<(usize, usize)> = pairs
        .iter()
        .enumerate()
        .flat_map(|(i, q)| (0..out_size(q).0.div_ceil(TILE)).map(move |t| (i, t * TILE)))
        .collect();
    let sums: Vec<(f64, f64)> = jobs
        .par_iter()
        .map(|&(i, x0)| {
            let q = pairs[i];
            tile_sums(&q.x[..q.w * q.h], &q.y[..q.w * q.h], q.w, x0, &kernel, c)
        })
        .collect();
    let mut stats = Vec::with_capacity(pairs.len());
    for (i, q) in pairs.iter().enumerate() {
        let (ssim_sum, cs_sum) = jobs
            .iter()
            .zip(&sums)
            .filter(|((j, _), _)| *j == i)
            .fold((0.0, 0.0), |(a, b), (_, (s, c))| (a + s, b + c));
        let (ow, oh) = out_size(q);
        let n = (ow * oh) as f64;
        stats.push(SsimStats {
            ssim: ssim_sum / n,
            cs: cs_sum / n,
        });
    }
    Ok(stats)
}

icmbench_datasets::multiversion! {
    /// Sums of the SSIM and contrast–structure maps over the tile of output columns that
    /// starts at `x0` (every row): [`tile_kernel`] built for this processor's vector unit,
    /// with fused multiply–adds where it has them.
    fn tile_sums(x: &[f64], y: &[f64], w: usize, x0: usize, kernel: &[f64], c: (f64, f64)) -> (f64, f64) = tile_kernel;
}

/// [`tile_loop`] with the window length fixed at compile time for the standard 11-tap
/// window (fully unrolled taps), any other length at run time.
#[inline(always)]
fn tile_kernel<const FMA: bool>(x: &[f64], y: &[f64], w: usize, x0: usize, kernel: &[f64], c: (f64, f64)) -> (f64, f64) {
    if kernel.len() == 11 {
        tile_loop::<FMA, 11>(x, y, w, x0, kernel, c)
    } else {
        tile_loop::<FMA, 0>(x, y, w, x0, kernel, c)
    }
}

/// The tile kernel: `x` and `y` are whole `w`-wide planes; the tile covers output columns
/// `x0 .. x0 + TILE` (those past the last are computed on zeros and ignored). `K` is the
/// window length, or 0 for `kernel.len()`.
#[inline(always)]
fn tile_loop<const FMA: bool, const K: usize>(
    x: &[f64],
    y: &[f64],
    w: usize,
    x0: usize,
    kernel: &[f64],
    (c1, c2): (f64, f64),
) -> (f64, f64) {
    let k = if K == 0 { kernel.len() } else { K };
    let kernel = &kernel[..k];
    let span = TILE + k - 1;
    let (cols, valid) = (span.min(w - x0), TILE.min(w + 1 - k - x0));
    // This row's band of each plane (zeros past the plane's right edge).
    let mut src = vec![0.0; 2 * span];
    let mut ring_buf = vec![0.0; k * MAPS * TILE + 8];
    let off = ring_buf.as_ptr().align_offset(64);
    let ring = &mut ring_buf[off..off + k * MAPS * TILE];
    let mut slots = vec![0; k];
    let mut lanes = ([0.0; LANES], [0.0; LANES]);
    let rows = x.len() / w;
    for r in 0..rows {
        // The band of row r + AHEAD is prefetched a quarter at a time (one part per
        // vertical block below), so that the requests never queue up behind each other.
        let ahead = (r + AHEAD).min(rows - 1) * w + x0;
        let part = cols.div_ceil(TILE / VBLOCK);
        #[inline(always)]
        fn prefetch_part(x: &[f64], y: &[f64], i: usize, part: usize, cols: usize) {
            let span = (i * part).min(cols)..((i + 1) * part).min(cols);
            icmbench_datasets::simd::prefetch(&x[span.clone()]);
            icmbench_datasets::simd::prefetch(&y[span]);
        }
        let (xa, ya) = (&x[ahead..], &y[ahead..]);
        let (xs, ys) = (&x[r * w + x0..][..cols], &y[r * w + x0..][..cols]);
        src[..cols].copy_from_slice(xs);
        src[span..span + cols].copy_from_slice(ys);
        let slot = &mut ring[(r % k) * MAPS * TILE..][..MAPS * TILE];
        filter_pair::<FMA, K>(&src[..span], &src[span..2 * span], kernel, slot);
        if r + 1 < k {
            for i in 0..TILE / VBLOCK {
                prefetch_part(xa, ya, i, part, cols);
            }
            continue;
        }
        // Output row r + 1 − k: tap j reads the ring slot of input row r + 1 − k + j.
        for (j, s) in slots.iter_mut().enumerate() {
            *s = ((r + 1 + j) % k) * MAPS * TILE;
        }
        for b in (0..TILE).step_by(VBLOCK) {
            // Called directly: a closure would not be inlined into the vector-unit build.
            prefetch_part(xa, ya, b / VBLOCK, part, cols);
            let acc = vertical_block::<FMA, K>(ring, &slots, kernel, b);
            let (mut ssim, mut cs) = ([0.0; VBLOCK], [0.0; VBLOCK]);
            for l in 0..VBLOCK {
                let (mx, my) = (acc[0][l], acc[1][l]);
                let (mxx, myy, mxy) = (mx * mx, my * my, mx * my);
                let (num_c, den_c) = (2.0 * (acc[4][l] - mxy) + c2, (acc[2][l] - mxx) + (acc[3][l] - myy) + c2);
                let (num_l, den_l) = (2.0 * mxy + c1, mxx + myy + c1);
                // One division for both terms; columns past the last are not counted.
                let inv = 1.0 / (den_l * den_c);
                let keep = b + l < valid;
                ssim[l] = if keep { num_l * num_c * inv } else { 0.0 };
                cs[l] = if keep { num_c * den_l * inv } else { 0.0 };
            }
            for (s, c) in ssim.chunks_exact(LANES).zip(cs.chunks_exact(LANES)) {
                for l in 0..LANES {
                    lanes.0[l] += s[l];
                    lanes.1[l] += c[l];
                }
            }
        }
    }
    (lanes.0.iter().sum(), lanes.1.iter().sum())
}

/// The vertical filter of [`VBLOCK`] columns from `b` for the five maps: tap `j` reads the
/// ring slot starting at `slots[j]`.
#[inline(always)]
fn vertical_block<const FMA: bool, const K: usize>(ring: &[f64], slots: &[usize], kernel: &[f64], b: usize) -> [[f64; VBLOCK]; MAPS] {
    let mut acc = [[0.0; VBLOCK]; MAPS];
    for (&kj, &start) in kernel.iter().zip(slots) {
        let slot = &ring[start..][..MAPS * TILE];
        for (m, a) in acc.iter_mut().enumerate() {
            let s = &slot[m * TILE + b..][..VBLOCK];
            for l in 0..VBLOCK {
                a[l] = icmbench_datasets::simd::madd::<FMA>(kj, s[l], a[l]);
            }
        }
    }
    acc
}

/// One row of each plane filtered horizontally ('valid') into the five maps of a ring slot
/// (`out`: x, y, x², y², xy, [`TILE`] columns each): `out[m][c] = Σ_i kernel[i] · map_m[c + i]`,
/// taps in order, [`VBLOCK`] columns at a time. The products are formed from the loaded
/// samples (`(k·x)·x`, `(k·y)·y`, `(k·x)·y`) rather than stored as three more rows and
/// loaded again: two unaligned loads per tap instead of five, for two more multiplies.
/// `xs` and `ys` are `TILE + k − 1` long (zeros past the plane's edge).
#[inline(always)]
fn filter_pair<const FMA: bool, const K: usize>(xs: &[f64], ys: &[f64], kernel: &[f64], out: &mut [f64]) {
    const CH: usize = VBLOCK;
    let k = if K == 0 { kernel.len() } else { K };
    for c in (0..TILE).step_by(CH) {
        let (wx, wy) = (&xs[c..][..CH + k - 1], &ys[c..][..CH + k - 1]);
        let mut acc = [[0.0; CH]; MAPS];
        // Ten accumulator vectors (five maps × two chunks) stay in registers.
        for (i, &ki) in kernel[..k].iter().enumerate() {
            let (a, b) = (&wx[i..i + CH], &wy[i..i + CH]);
            for l in 0..CH {
                let (ka, kb) = (ki * a[l], ki * b[l]);
                acc[0][l] += ka;
                acc[1][l] += kb;
                acc[2][l] = icmbench_datasets::simd::madd::<FMA>(ka, a[l], acc[2][l]);
                acc[3][l] = icmbench_datasets::simd::madd::<FMA>(kb, b[l], acc[3][l]);
                acc[4][l] = icmbench_datasets::simd::madd::<FMA>(ka, b[l], acc[4][l]);
            }
        }
        for (m, a) in acc.iter().enumerate() {
            // Lane by lane: a whole-block copy would become a call to memcpy.
            for (o, v) in out[m * TILE + c..][..CH].chunks_exact_mut(LANES).zip(a.chunks_exact(LANES)) {
                o.copy_from_slice(v);
            }
        }
    }
}

/// How MS-SSIM's 2×2 average pool treats an odd width or height (the only point where
/// the reference implementations differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsSsimPooling {
    /// `pytorch_msssim` 1.x (CompressAI): zero padding on both ends of an odd side, counted
    /// in the average ([`avg_pool2_zero_pad`]).
    PytorchMsssim,
    /// `tf.image.ssim_multiscale`: an odd side's last row/column repeated
    /// ([`avg_pool2_repeat_edge`]).
    TensorFlow,
}

impl MsSsimPooling {
    /// Pools a `w`×`h` plane 2×2 with this convention; returns the plane and its size
    /// (`ceil(w/2)`×`ceil(h/2)` for both conventions).
    pub fn pool(self, plane: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
        match self {
            MsSsimPooling::PytorchMsssim => avg_pool2_zero_pad(plane, w, h),
            MsSsimPooling::TensorFlow => avg_pool2_repeat_edge(plane, w, h),
        }
    }
}

/// 2×2 average pooling as `tf.image.ssim_multiscale`: an odd width or height is first
/// padded at its end by repeating its last column or row. Returns the pooled plane and its
/// size.
pub fn avg_pool2_repeat_edge(plane: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    // Output o pools samples 2o and min(2o + 1, n − 1): in the padded row (one sample in
    // front, the last one repeated behind) that is 2o + 1 and 2o + 2.
    pool2(plane, w, h, |o, n| [Some(2 * o), Some((2 * o + 1).min(n - 1))], |_| 1, true)
}

/// 2×2 average pooling as `pytorch_msssim` 1.x: `avg_pool2d(kernel_size=2,
/// padding=side % 2)` with PyTorch's defaults (`count_include_pad=True`, floor mode). An
/// odd side gets one zero on each end, so output `i` averages source samples `2i-1` and
/// `2i` (sample `-1` being a zero that still counts in the divisor 4); an even side pools
/// `2i`, `2i+1`. Returns the pooled plane and its size.
pub fn avg_pool2_zero_pad(plane: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    let taps = |o: usize, n: usize| {
        if n % 2 == 1 {
            [(2 * o).checked_sub(1), Some(2 * o)]
        } else {
            [Some(2 * o), Some(2 * o + 1)]
        }
    };
    // In the padded row (a zero in front) output o pools 2o and 2o + 1 on an odd side,
    // 2o + 1 and 2o + 2 on an even one.
    pool2(plane, w, h, taps, |n| 1 - n % 2, false)
}

/// 2×2 average pooling of a `w`×`h` plane to `ceil(w/2)`×`ceil(h/2)`. Rows: `taps(o, n)`
/// gives the two source rows of output row `o` (`None`: a zero pad row, still counted in
/// the divisor 4). Columns: each source row is copied into a row padded with a zero in
/// front and, behind, a zero or (`repeat_last`) its last sample again; output column `o`
/// pools padded samples `first(w) + 2o` and the next. Each output is
/// `0.25 · (((a + b) + c) + d)` over (row 0, col 0), (row 0, col 1), (row 1, col 0),
/// (row 1, col 1), contiguous pairs the compiler vectorises.
fn pool2(
    plane: &[f64],
    w: usize,
    h: usize,
    taps: impl Fn(usize, usize) -> [Option<usize>; 2],
    first: impl Fn(usize) -> usize,
    repeat_last: bool,
) -> (Vec<f64>, usize, usize) {
    let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
    let start = first(w);
    let mut rows = [vec![0.0; w + 2], vec![0.0; w + 2]];
    let mut out = vec![0.0; ow * oh];
    for (oy, orow) in out.chunks_exact_mut(ow).enumerate() {
        for (buf, t) in rows.iter_mut().zip(taps(oy, h)) {
            match t {
                Some(y) => {
                    buf[1..=w].copy_from_slice(&plane[y * w..(y + 1) * w]);
                    buf[w + 1] = if repeat_last { plane[y * w + w - 1] } else { 0.0 };
                }
                None => buf.fill(0.0),
            }
        }
        let [a, b] = &rows;
        pool_pairs(&a[start..start + 2 * ow], &b[start..start + 2 * ow], orow);
    }
    (out, ow, oh)
}

icmbench_datasets::multiversion! {
    /// `out[o] = 0.25 · (((a[2o] + a[2o+1]) + b[2o]) + b[2o+1])`: [`pool_pairs_kernel`]
    /// built for this processor's vector unit (the even/odd split is a shuffle the
    /// baseline build does two lanes at a time).
    fn pool_pairs(a: &[f64], b: &[f64], out: &mut [f64]) -> () = pool_pairs_kernel;
}

/// The 2×2 average of each pair of columns of two padded rows (`a` and `b` are
/// `2 · out.len()` long), additions in the order of [`pool2`]'s rule.
#[inline(always)]
fn pool_pairs_kernel<const FMA: bool>(a: &[f64], b: &[f64], out: &mut [f64]) {
    let pairs = a.chunks_exact(2).zip(b.chunks_exact(2));
    for (o, (pa, pb)) in out.iter_mut().zip(pairs) {
        *o = 0.25 * (((pa[0] + pa[1]) + pb[0]) + pb[1]);
    }
}

/// Smallest width/height for which every MS-SSIM scale still holds one full window.
pub fn ms_ssim_min_side(p: &SsimParams) -> usize {
    // After 4 poolings the side is ceil(s / 16); it must be at least the window.
    (p.window - 1) * 16 + 1
}

/// MS-SSIM of two `w`×`h` planes (five scales, [`MS_SSIM_WEIGHTS`]), pooling odd sides
/// between scales as `pooling` says.
pub fn ms_ssim(x: &[f64], y: &[f64], w: usize, h: usize, p: &SsimParams, pooling: MsSsimPooling) -> Result<f64, String> {
    let min = ms_ssim_min_side(p);
    if w < min || h < min {
        return Err(format!(
            "MS-SSIM with {} scales needs at least {min}x{min} pixels (the coarsest scale must hold one {}x{} window)",
            MS_SSIM_WEIGHTS.len(),
            p.window,
            p.window
        ));
    }
    // The pyramid first (pooling is cheap and sequential), then every scale's tiles in
    // one parallel pass. The first scale is the caller's planes; only pooled ones are owned.
    let mut pooled: Vec<(Vec<f64>, Vec<f64>, usize, usize)> = Vec::with_capacity(MS_SSIM_WEIGHTS.len() - 1);
    for _ in 1..MS_SSIM_WEIGHTS.len() {
        let (a, b, cw, ch) = pooled
            .last()
            .map_or((x, y, w, h), |(a, b, cw, ch)| (a.as_slice(), b.as_slice(), *cw, *ch));
        let ((pa, nw, nh), (pb, _, _)) = rayon::join(|| pooling.pool(a, cw, ch), || pooling.pool(b, cw, ch));
        pooled.push((pa, pb, nw, nh));
    }
    let pairs: Vec<Pair> = std::iter::once(Pair { x, y, w, h })
        .chain(pooled.iter().map(|(a, b, cw, ch)| Pair {
            x: a,
            y: b,
            w: *cw,
            h: *ch,
        }))
        .collect();
    let stats = stats_of_pairs(&pairs, p)?;
    let last = stats.len() - 1;
    Ok(stats
        .iter()
        .zip(MS_SSIM_WEIGHTS)
        .enumerate()
        .fold(1.0, |value, (scale, (s, weight))| {
            let term = if scale == last { s.ssim } else { s.cs };
            value * term.max(0.0).powf(weight)
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tiles give the whole-plane statistics: compared with a direct sum over every window
    /// on a plane several tiles wide (and a width that is not a multiple) and on a plane
    /// narrower than one tile, for the standard 11-tap window (compiled with its length
    /// fixed) and 7- and 3-tap ones (length at run time).
    #[test]
    fn tiles_equal_the_whole_plane() {
        for (w, h, window) in [(2 * TILE + 37, 53, 11), (2 * TILE + 37, 53, 7), (5, 6, 3), (11, 12, 11)] {
            let x: Vec<f64> = (0..w * h).map(|i| ((i * 37 + i / 7) % 251) as f64).collect();
            let y: Vec<f64> = (0..w * h).map(|i| ((i * 53 + i / 5) % 241) as f64).collect();
            let p = SsimParams {
                window,
                ..SsimParams::default()
            };
            let (ssim, cs) = direct_2d(&x, &y, w, h, &p);
            let s = ssim_stats(&x, &y, w, h, &p).unwrap();
            assert!(
                (s.ssim - ssim).abs() < 1e-12 && (s.cs - cs).abs() < 1e-12,
                "{window}: {s:?} vs {ssim} {cs}"
            );
        }
    }

    /// Mean SSIM and cs by the 2-D window directly, every window summed on its own.
    fn direct_2d(x: &[f64], y: &[f64], w: usize, h: usize, p: &SsimParams) -> (f64, f64) {
        let k = gaussian_kernel(p.window, p.sigma);
        let (c1, c2) = ((p.k1 * p.peak).powi(2), (p.k2 * p.peak).powi(2));
        let (mut ssim, mut cs, mut n) = (0.0, 0.0, 0.0);
        for oy in 0..=h - p.window {
            for ox in 0..=w - p.window {
                let (mut mx, mut my, mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for j in 0..p.window {
                    for i in 0..p.window {
                        let (a, b) = (x[(oy + j) * w + ox + i], y[(oy + j) * w + ox + i]);
                        let g = k[i] * k[j];
                        (mx, my, xx, yy, xy) = (mx + g * a, my + g * b, xx + g * a * a, yy + g * b * b, xy + g * a * b);
                    }
                }
                let c = (2.0 * (xy - mx * my) + c2) / (xx - mx * mx + yy - my * my + c2);
                ssim += (2.0 * mx * my + c1) / (mx * mx + my * my + c1) * c;
                cs += c;
                n += 1.0;
            }
        }
        (ssim / n, cs / n)
    }

    /// The one-pass MS-SSIM (all scales' tiles together) is bit-identical to scoring the
    /// scales one after another with [`ssim_stats`], on a 1-thread and a 3-thread pool.
    #[test]
    fn one_pass_ms_ssim_equals_scale_by_scale() {
        let (w, h, p) = (177 + 3 * TILE, 203, SsimParams::default());
        let x: Vec<f64> = (0..w * h).map(|i| ((i * 37 + i / 7) % 251) as f64).collect();
        let y: Vec<f64> = (0..w * h).map(|i| ((i * 53 + i / 5) % 241) as f64).collect();
        for pooling in [MsSsimPooling::PytorchMsssim, MsSsimPooling::TensorFlow] {
            let (mut a, mut b, mut cw, mut ch, mut expected) = (x.clone(), y.clone(), w, h, 1.0);
            for (scale, weight) in MS_SSIM_WEIGHTS.iter().enumerate() {
                if scale > 0 {
                    ((a, cw, ch), (b, _, _)) = (pooling.pool(&a, cw, ch), pooling.pool(&b, cw, ch));
                }
                let s = ssim_stats(&a, &b, cw, ch, &p).unwrap();
                let term = if scale == 4 { s.ssim } else { s.cs };
                expected *= term.max(0.0).powf(*weight);
            }
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let got = pool.install(|| ms_ssim(&x, &y, w, h, &p, pooling).unwrap());
                assert_eq!(got.to_bits(), expected.to_bits(), "{pooling:?}, {threads} threads");
            }
        }
    }

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        let k = gaussian_kernel(11, 1.5);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((k[0] - k[10]).abs() < 1e-18 && k[5] > k[4]);
    }

    #[test]
    fn identical_planes_score_one() {
        let w = 170;
        let x: Vec<f64> = (0..w * w).map(|i| ((i * 37) % 251) as f64).collect();
        let s = ssim_stats(&x, &x, w, w, &SsimParams::default()).unwrap();
        assert!((s.ssim - 1.0).abs() < 1e-12 && (s.cs - 1.0).abs() < 1e-12);
        for pooling in [MsSsimPooling::PytorchMsssim, MsSsimPooling::TensorFlow] {
            assert!((ms_ssim(&x, &x, w, w, &SsimParams::default(), pooling).unwrap() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn too_small_is_an_error_not_nan() {
        let p = SsimParams::default();
        assert_eq!(ms_ssim_min_side(&p), 161);
        let x = vec![0.0; 160 * 200];
        let err = ms_ssim(&x, &x, 200, 160, &p, MsSsimPooling::PytorchMsssim).unwrap_err();
        assert!(err.contains("161x161"), "{err}");
        assert!(ssim_stats(&x[..100], &x[..100], 10, 10, &p).is_err());
    }

    #[test]
    fn tensorflow_pooling_repeats_the_last_row_and_column() {
        let plane = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (out, w, h) = avg_pool2_repeat_edge(&plane, 3, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(out, vec![3.0, 4.5]);
        assert_eq!(MsSsimPooling::TensorFlow.pool(&plane, 3, 2).0, out);
    }

    /// Worked by hand from `F.avg_pool2d(x, 2, padding=[1, 1])` semantics: the padded plane
    /// is 5×5 with a zero border, windows start at padded (0, 0), divisor always 4.
    #[test]
    fn pytorch_pooling_zero_pads_both_ends_of_odd_sides() {
        // 3×3, both sides odd.
        let plane = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let (out, w, h) = avg_pool2_zero_pad(&plane, 3, 3);
        assert_eq!((w, h), (2, 2));
        assert_eq!(
            out,
            vec![1.0 / 4.0, (2.0 + 3.0) / 4.0, (4.0 + 7.0) / 4.0, (5.0 + 6.0 + 8.0 + 9.0) / 4.0]
        );
        // 3 wide, 2 high: only the width is padded (padding = [0, 1]).
        let plane = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (out, w, h) = avg_pool2_zero_pad(&plane, 3, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(out, vec![(1.0 + 4.0) / 4.0, (2.0 + 3.0 + 5.0 + 6.0) / 4.0]);
        assert_eq!(MsSsimPooling::PytorchMsssim.pool(&plane, 3, 2).0, out);
    }

    /// Both poolings equal a direct average of each output's four source samples (zeros
    /// for PyTorch's pad, the last row/column again for TensorFlow's), summed in the order
    /// row 0 col 0, row 0 col 1, row 1 col 0, row 1 col 1, on every parity of the sides.
    #[test]
    fn poolings_equal_the_direct_average() {
        for (w, h) in [(7, 5), (8, 6), (7, 6), (8, 5), (1, 1), (2, 3)] {
            let p: Vec<f64> = (0..w * h).map(|i| ((i * 29 % 17) as f64).sqrt()).collect();
            let at = |y: Option<usize>, x: Option<usize>| y.zip(x).map_or(0.0, |(y, x)| p[y * w + x]);
            let torch = |o: usize, n: usize| {
                if n % 2 == 1 {
                    [(2 * o).checked_sub(1), Some(2 * o)]
                } else {
                    [Some(2 * o), Some(2 * o + 1)]
                }
            };
            let tf = |o: usize, n: usize| [Some(2 * o), Some((2 * o + 1).min(n - 1))];
            for (rule, got) in [
                (&torch as &dyn Fn(usize, usize) -> [Option<usize>; 2], avg_pool2_zero_pad(&p, w, h)),
                (&tf, avg_pool2_repeat_edge(&p, w, h)),
            ] {
                let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
                let direct: Vec<f64> = (0..ow * oh)
                    .map(|i| {
                        let ([y0, y1], [x0, x1]) = (rule(i / ow, h), rule(i % ow, w));
                        0.25 * (((at(y0, x0) + at(y0, x1)) + at(y1, x0)) + at(y1, x1))
                    })
                    .collect();
                assert_eq!(got, (direct, ow, oh), "{w}x{h}");
            }
        }
    }

    #[test]
    fn poolings_agree_on_even_sides_and_differ_on_odd() {
        let (w, h) = (6, 4);
        let plane: Vec<f64> = (0..w * h).map(|i| ((i * 29) % 17) as f64).collect();
        assert_eq!(avg_pool2_zero_pad(&plane, w, h), avg_pool2_repeat_edge(&plane, w, h));
        let (w, h) = (5, 4);
        let plane = &plane[..w * h];
        assert_ne!(avg_pool2_zero_pad(plane, w, h).0, avg_pool2_repeat_edge(plane, w, h).0);
    }

    #[test]
    fn ms_ssim_conventions_agree_on_multiples_of_16_only() {
        let p = SsimParams::default();
        let plane = |w: usize, h: usize, salt: usize| -> Vec<f64> {
            (0..w * h)
                .map(|i| ((i / w * 7 + i % w * 3 + (i * salt) % 23) % 256) as f64)
                .collect()
        };
        let ms = |w, h, pooling| ms_ssim(&plane(w, h, 5), &plane(w, h, 11), w, h, &p, pooling).unwrap();
        let (pt, tf) = (MsSsimPooling::PytorchMsssim, MsSsimPooling::TensorFlow);
        assert_eq!(ms(176, 192, pt), ms(176, 192, tf));
        assert!((ms(177, 191, pt) - ms(177, 191, tf)).abs() > 1e-6);
    }
}
