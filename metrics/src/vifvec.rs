//! VIF in the wavelet domain (`vif`): Sheikh and Bovik's visual information fidelity over a
//! steerable pyramid, as their `vifvec.m` and its port pyiqa 0.1.16 `vif` (archs/vif_arch.py)
//! compute it, in float64. Each step is a free function over planes:
//!
//! - [`correlate_reflect`]: correlation with a square filter on the plane mirrored at its
//!   edges (torch's `'reflect'`, the edge sample not repeated), every `step`-th output kept;
//! - [`subbands`]: the sp5 steerable pyramid (filters [`LO0`], [`LO`], [`BANDS`], from
//!   pyrtools 1.1.1, MIT, equal to pyiqa's copy) of 4 levels × 6 orientations, keeping the
//!   eight bands vifvec scores (orientations 3 and 0 of each level), coarsest first;
//! - [`distortion_channel`]: the gain `g` and distortion variance `σv²` of each 3×3 block,
//!   from reflect-padded box sums of `2^(4−level) + 1` samples around its centre, guarded as
//!   the pixel-domain VIF is ([`crate::vif`]);
//! - [`reference_gsm`]: the 9×9 covariance `C_U` of all 3×3 neighbourhoods of a reference
//!   band, its eigenvalues, and each block's `s² = vᵀ C_U⁺ v / 9` (pseudo-inverse with
//!   torch's `rcond` 1e-15), through [`symmetric_eigen`] (cyclic Jacobi);
//! - [`information`]: a band's `Σ log2(1 + g² s² λ / (σv² + σn²))` and `Σ log2(1 + s² λ / σn²)`
//!   over its blocks (a border of `ceil(((ws − 1) / 2) / 3)` blocks dropped) and eigenvalues;
//! - [`vif`]: the ratio of the sums over the eight bands.
//!
//! The planes are pyiqa's `to_y_channel(x, 255)`: the Y of YIQ on 0–255, rounded
//! ([`crate::colour::yiq_luma_rounded`]). Higher is better; 1 for identical images.
//! The pixel-domain variant is `vifp` ([`crate::vif`]).

use rayon::prelude::*;

/// The variance of the visual noise, `sigma_nsq` (vifvec's 0.4).
pub const SIGMA_N_SQ: f64 = 0.4;

/// vifvec's tolerance for "zero" variances, its floor of `σv²` and the denominator's guard.
pub const TOL: f64 = 1e-12;

/// The block size `M` of the Gaussian scale mixture (3×3 neighbourhoods).
pub const M: usize = 3;

/// Pyramid levels.
pub const LEVELS: usize = 4;

/// The two orientations (of six) whose bands vifvec scores, in its order.
pub const ORIENTATIONS: [usize; 2] = [3, 0];

/// Smallest side: the coarsest level (side/8, rounded up) must hold three 3×3 blocks, one of
/// them inside the dropped border.
pub const MIN_SIDE: usize = 65;

/// A plane of `w`×`h` samples, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The samples.
    pub v: Vec<f64>,
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
}

/// `lo0filt` (5×5): the first low-pass band, before the levels.
pub const LO0: [f64; 25] = [
    0.00341614,
    -0.01551246,
    -0.03848215,
    -0.01551246,
    0.00341614,
    -0.01551246,
    0.05586982,
    0.1592557,
    0.05586982,
    -0.01551246,
    -0.03848215,
    0.1592557,
    0.40304148,
    0.1592557,
    -0.03848215,
    -0.01551246,
    0.05586982,
    0.1592557,
    0.05586982,
    -0.01551246,
    0.00341614,
    -0.01551246,
    -0.03848215,
    -0.01551246,
    0.00341614,
];
/// `lofilt` (9×9, pyrtools' values already doubled): the low-pass between levels, applied with stride 2.
pub const LO: [f64; 81] = [
    0.00170808,
    -0.00489834,
    -0.00775624,
    -0.01888864,
    -0.01924108,
    -0.01888864,
    -0.00775624,
    -0.00489834,
    0.00170808,
    -0.00489834,
    -0.01046562,
    -0.01322234,
    0.008212,
    0.02005976,
    0.008212,
    -0.01322234,
    -0.01046562,
    -0.00489834,
    -0.00775624,
    -0.01322234,
    0.02793492,
    0.06554076,
    0.07962786,
    0.06554076,
    0.02793492,
    -0.01322234,
    -0.00775624,
    -0.01888864,
    0.008212,
    0.06554076,
    0.12852666,
    0.16339236,
    0.12852666,
    0.06554076,
    0.008212,
    -0.01888864,
    -0.01924108,
    0.02005976,
    0.07962786,
    0.16339236,
    0.2019308,
    0.16339236,
    0.07962786,
    0.02005976,
    -0.01924108,
    -0.01888864,
    0.008212,
    0.06554076,
    0.12852666,
    0.16339236,
    0.12852666,
    0.06554076,
    0.008212,
    -0.01888864,
    -0.00775624,
    -0.01322234,
    0.02793492,
    0.06554076,
    0.07962786,
    0.06554076,
    0.02793492,
    -0.01322234,
    -0.00775624,
    -0.00489834,
    -0.01046562,
    -0.01322234,
    0.008212,
    0.02005976,
    0.008212,
    -0.01322234,
    -0.01046562,
    -0.00489834,
    0.00170808,
    -0.00489834,
    -0.00775624,
    -0.01888864,
    -0.01924108,
    -0.01888864,
    -0.00775624,
    -0.00489834,
    0.00170808,
];
/// `bfilts`' six oriented band filters (7×7), each as pyrtools stores its column; the pyramid
/// applies column `b` reshaped row-major and transposed ([`band_filter`]).
pub const BANDS: [[f64; 49]; 6] = [
    [
        0.00277643,
        0.00496194,
        0.01026699,
        0.01455399,
        0.01026699,
        0.00496194,
        0.00277643,
        -0.00986904,
        -0.00893064,
        0.01189859,
        0.02755155,
        0.01189859,
        -0.00893064,
        -0.00986904,
        -0.01021852,
        -0.03075356,
        -0.08226445,
        -0.11732297,
        -0.08226445,
        -0.03075356,
        -0.01021852,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.01021852,
        0.03075356,
        0.08226445,
        0.11732297,
        0.08226445,
        0.03075356,
        0.01021852,
        0.00986904,
        0.00893064,
        -0.01189859,
        -0.02755155,
        -0.01189859,
        0.00893064,
        0.00986904,
        -0.00277643,
        -0.00496194,
        -0.01026699,
        -0.01455399,
        -0.01026699,
        -0.00496194,
        -0.00277643,
    ],
    [
        -0.00343249,
        -0.00640815,
        -0.00073141,
        0.01124321,
        0.00182078,
        0.00285723,
        0.01166982,
        -0.00358461,
        -0.01977507,
        -0.04084211,
        -0.00228219,
        0.03930573,
        0.01161195,
        0.00128,
        0.01047717,
        0.01486305,
        -0.04819057,
        -0.1222723,
        -0.05394139,
        0.00853965,
        -0.00459034,
        0.00790407,
        0.04435647,
        0.09454202,
        -0.0,
        -0.09454202,
        -0.04435647,
        -0.00790407,
        0.00459034,
        -0.00853965,
        0.05394139,
        0.1222723,
        0.04819057,
        -0.01486305,
        -0.01047717,
        -0.00128,
        -0.01161195,
        -0.03930573,
        0.00228219,
        0.04084211,
        0.01977507,
        0.00358461,
        -0.01166982,
        -0.00285723,
        -0.00182078,
        -0.01124321,
        0.00073141,
        0.00640815,
        0.00343249,
    ],
    [
        0.00343249,
        0.00358461,
        -0.01047717,
        -0.00790407,
        -0.00459034,
        0.00128,
        0.01166982,
        0.00640815,
        0.01977507,
        -0.01486305,
        -0.04435647,
        0.00853965,
        0.01161195,
        0.00285723,
        0.00073141,
        0.04084211,
        0.04819057,
        -0.09454202,
        -0.05394139,
        0.03930573,
        0.00182078,
        -0.01124321,
        0.00228219,
        0.1222723,
        -0.0,
        -0.1222723,
        -0.00228219,
        0.01124321,
        -0.00182078,
        -0.03930573,
        0.05394139,
        0.09454202,
        -0.04819057,
        -0.04084211,
        -0.00073141,
        -0.00285723,
        -0.01161195,
        -0.00853965,
        0.04435647,
        0.01486305,
        -0.01977507,
        -0.00640815,
        -0.01166982,
        -0.00128,
        0.00459034,
        0.00790407,
        0.01047717,
        -0.00358461,
        -0.00343249,
    ],
    [
        -0.00277643,
        0.00986904,
        0.01021852,
        -0.0,
        -0.01021852,
        -0.00986904,
        0.00277643,
        -0.00496194,
        0.00893064,
        0.03075356,
        -0.0,
        -0.03075356,
        -0.00893064,
        0.00496194,
        -0.01026699,
        -0.01189859,
        0.08226445,
        -0.0,
        -0.08226445,
        0.01189859,
        0.01026699,
        -0.01455399,
        -0.02755155,
        0.11732297,
        -0.0,
        -0.11732297,
        0.02755155,
        0.01455399,
        -0.01026699,
        -0.01189859,
        0.08226445,
        -0.0,
        -0.08226445,
        0.01189859,
        0.01026699,
        -0.00496194,
        0.00893064,
        0.03075356,
        -0.0,
        -0.03075356,
        -0.00893064,
        0.00496194,
        -0.00277643,
        0.00986904,
        0.01021852,
        -0.0,
        -0.01021852,
        -0.00986904,
        0.00277643,
    ],
    [
        -0.01166982,
        -0.00128,
        0.00459034,
        0.00790407,
        0.01047717,
        -0.00358461,
        -0.00343249,
        -0.00285723,
        -0.01161195,
        -0.00853965,
        0.04435647,
        0.01486305,
        -0.01977507,
        -0.00640815,
        -0.00182078,
        -0.03930573,
        0.05394139,
        0.09454202,
        -0.04819057,
        -0.04084211,
        -0.00073141,
        -0.01124321,
        0.00228219,
        0.1222723,
        -0.0,
        -0.1222723,
        -0.00228219,
        0.01124321,
        0.00073141,
        0.04084211,
        0.04819057,
        -0.09454202,
        -0.05394139,
        0.03930573,
        0.00182078,
        0.00640815,
        0.01977507,
        -0.01486305,
        -0.04435647,
        0.00853965,
        0.01161195,
        0.00285723,
        0.00343249,
        0.00358461,
        -0.01047717,
        -0.00790407,
        -0.00459034,
        0.00128,
        0.01166982,
    ],
    [
        -0.01166982,
        -0.00285723,
        -0.00182078,
        -0.01124321,
        0.00073141,
        0.00640815,
        0.00343249,
        -0.00128,
        -0.01161195,
        -0.03930573,
        0.00228219,
        0.04084211,
        0.01977507,
        0.00358461,
        0.00459034,
        -0.00853965,
        0.05394139,
        0.1222723,
        0.04819057,
        -0.01486305,
        -0.01047717,
        0.00790407,
        0.04435647,
        0.09454202,
        -0.0,
        -0.09454202,
        -0.04435647,
        -0.00790407,
        0.01047717,
        0.01486305,
        -0.04819057,
        -0.1222723,
        -0.05394139,
        0.00853965,
        -0.00459034,
        -0.00358461,
        -0.01977507,
        -0.04084211,
        -0.00228219,
        0.03930573,
        0.01161195,
        0.00128,
        -0.00343249,
        -0.00640815,
        -0.00073141,
        0.01124321,
        0.00182078,
        0.00285723,
        0.01166982,
    ],
];

/// Band filter `b` as the pyramid applies it: pyrtools' column reshaped 7×7 row-major, then
/// transposed (pyiqa's `bfilts[:, b].reshape(7, 7).T`).
pub fn band_filter(b: usize) -> [f64; 49] {
    std::array::from_fn(|i| BANDS[b][(i % 7) * 7 + i / 7])
}

/// The index of `i` (which may be up to the filter's half-width outside `0..n`) on a plane
/// mirrored at its edges without repeating them: −1 → 1, n → n − 2.
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    (if i < 0 {
        -i
    } else if i >= n {
        2 * (n - 1) - i
    } else {
        i
    }) as usize
}

/// `src` correlated with the square filter `filt` (k×k, row-major, k odd) on the plane
/// mirrored at its edges, keeping outputs `(step·y, step·x)`: pyiqa's `corrDn`
/// (`F.pad(…, 'reflect')` then `conv2d(stride = step)`). The output is
/// `ceil(w/step)`×`ceil(h/step)`. The half-width must be under both sides.
pub fn correlate_reflect(src: &Band, filt: &[f64], step: usize) -> Band {
    let k = filt.len().isqrt();
    assert!(k * k == filt.len() && k % 2 == 1, "square filter of odd side");
    let p = k / 2;
    assert!(
        p < src.w && p < src.h,
        "filter half-width {p} not under the plane's sides {}x{}",
        src.w,
        src.h
    );
    let pw = src.w + 2 * p;
    let cols: Vec<usize> = (0..pw).map(|x| reflect(x as isize - p as isize, src.w)).collect();
    let padded_row = |y: usize| -> Vec<f64> {
        let row = &src.v[reflect(y as isize - p as isize, src.h) * src.w..][..src.w];
        cols.iter().map(|&c| row[c]).collect()
    };
    let padded: Vec<Vec<f64>> = (0..src.h + 2 * p).map(padded_row).collect();
    let (ow, oh) = ((src.w - 1) / step + 1, (src.h - 1) / step + 1);
    let mut v = vec![0.0; ow * oh];
    v.par_chunks_mut(ow).enumerate().for_each(|(oy, out)| {
        for (i, frow) in filt.chunks_exact(k).enumerate() {
            let prow = &padded[oy * step + i];
            for (j, &f) in frow.iter().enumerate() {
                if step == 1 {
                    out.iter_mut().zip(&prow[j..]).for_each(|(o, s)| *o += f * s);
                } else {
                    out.iter_mut().zip(prow[j..].iter().step_by(step)).for_each(|(o, s)| *o += f * s);
                }
            }
        }
    });
    Band { v, w: ow, h: oh }
}

/// The eight scored bands of the sp5 steerable pyramid of `plane`, in vifvec's order:
/// level 3 (coarsest) orientations 3 and 0, then level 2, 1 and 0. The first low-pass
/// ([`LO0`]) is at full size; each level's bands ([`band_filter`]) are at the size of its
/// low-pass, which [`LO`] then filters with stride 2 for the next level. (The high-pass
/// residual and the last low-pass are not scored, so they are not computed.)
pub fn subbands(plane: &Band) -> Vec<Band> {
    let mut lo = correlate_reflect(plane, &LO0, 1);
    let mut levels = Vec::with_capacity(LEVELS);
    for level in 0..LEVELS {
        levels.push(ORIENTATIONS.map(|b| correlate_reflect(&lo, &band_filter(b), 1)));
        if level + 1 < LEVELS {
            lo = correlate_reflect(&lo, &LO, 2);
        }
    }
    levels.into_iter().rev().flatten().collect()
}

/// The top-left part of `b` whose sides are multiples of [`M`].
pub fn crop_to_blocks(b: &Band) -> Band {
    let (w, h) = (b.w / M * M, b.h / M * M);
    let v = b.v.chunks_exact(b.w).take(h).flat_map(|row| &row[..w]).copied().collect();
    Band { v, w, h }
}

/// Sums of `map` (`w`×`h`, sides multiples of [`M`]) over the `ws`×`ws` windows centred on
/// each block's centre `(3·by + 1, 3·bx + 1)`, the plane mirrored at its edges: pyiqa's
/// `corrDn_win` with a window of ones. Rows first (at the block-centre columns only), then
/// columns. Returns `(h/3)·(w/3)` sums, row-major.
fn block_window_sums(map: &[f64], w: usize, h: usize, ws: usize) -> Vec<f64> {
    let p = (ws / 2) as isize;
    let (bw, bh) = (w / M, h / M);
    let row_sums: Vec<f64> = map
        .chunks_exact(w)
        .flat_map(|row| (0..bw).map(move |bx| (-p..=p).map(|d| row[reflect((M * bx + 1) as isize + d, w)]).sum::<f64>()))
        .collect();
    (0..bh)
        .flat_map(|by| {
            let row_sums = &row_sums;
            (0..bw).map(move |bx| {
                (-p..=p)
                    .map(|d| row_sums[reflect((M * by + 1) as isize + d, h) * bw + bx])
                    .sum::<f64>()
            })
        })
        .collect()
}

/// The distortion channel of one band pair (sides multiples of [`M`]) under windows of
/// `ws`×`ws`: per 3×3 block, the gain `g` and the distortion variance `σv²` (pyiqa's
/// `vifsub_est_M`). From the window sums `S`: `μ = S(x)/ws²`, `σ² = S(x²) − ws²·μ²`
/// (clamped at 0), `σrd = S(r·d) − ws²·μr·μd`, then [`crate::vif`]'s guards with
/// [`TOL`] and `σv²` divided by `ws²`. Returns `(g, σv²)`, `(h/3)·(w/3)` each.
pub fn distortion_channel(r: &Band, d: &Band, ws: usize) -> (Vec<f64>, Vec<f64>) {
    let (w, h) = (r.w, r.h);
    let area = (ws * ws) as f64;
    let maps: Vec<Vec<f64>> = (0..5)
        .into_par_iter()
        .map(|i| {
            let product = |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x * y).collect() };
            match i {
                0 => block_window_sums(&r.v, w, h, ws),
                1 => block_window_sums(&d.v, w, h, ws),
                2 => block_window_sums(&product(&r.v, &r.v), w, h, ws),
                3 => block_window_sums(&product(&d.v, &d.v), w, h, ws),
                _ => block_window_sums(&product(&r.v, &d.v), w, h, ws),
            }
        })
        .collect();
    let (sr, sd, srr, sdd, srd) = (&maps[0], &maps[1], &maps[2], &maps[3], &maps[4]);
    (0..sr.len())
        .map(|i| {
            let (mr, md) = (sr[i] / area, sd[i] / area);
            let ss_r = (srr[i] - area * (mr * mr)).max(0.0);
            let ss_d = (sdd[i] - area * (md * md)).max(0.0);
            let cov = srd[i] - area * mr * md;
            let (g, sv, _) = crate::vif::guarded(ss_r, ss_d, cov, TOL, area);
            (g, sv)
        })
        .unzip()
}

/// The eigenvalues (ascending) and eigenvectors (the columns of the second result, in the
/// same order) of a symmetric 9×9 matrix, by cyclic Jacobi rotations until the
/// off-diagonal part vanishes against the diagonal.
pub fn symmetric_eigen(a: [[f64; 9]; 9]) -> ([f64; 9], [[f64; 9]; 9]) {
    let mut a = a;
    let mut v: [[f64; 9]; 9] = std::array::from_fn(|i| std::array::from_fn(|j| f64::from(u8::from(i == j))));
    for _sweep in 0..64 {
        let off: f64 = (0..9)
            .flat_map(|p| (p + 1..9).map(move |q| (p, q)))
            .map(|(p, q)| a[p][q] * a[p][q])
            .sum();
        let diag: f64 = (0..9).map(|p| a[p][p] * a[p][p]).sum();
        if off <= 1e-32 * diag || off == 0.0 {
            break;
        }
        for p in 0..9 {
            for q in p + 1..9 {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut().chain(v.iter_mut()) {
                    let (xp, xq) = (row[p], row[q]);
                    row[p] = c * xp - s * xq;
                    row[q] = s * xp + c * xq;
                }
                let (rp, rq) = (a[p], a[q]);
                for k in 0..9 {
                    a[p][k] = c * rp[k] - s * rq[k];
                    a[q][k] = s * rp[k] + c * rq[k];
                }
            }
        }
    }
    let mut order: [usize; 9] = std::array::from_fn(|i| i);
    order.sort_by(|&i, &j| a[i][i].total_cmp(&a[j][j]));
    let values = order.map(|i| a[i][i]);
    let vectors = std::array::from_fn(|r| order.map(|i| v[r][i]));
    (values, vectors)
}

/// The Moore–Penrose pseudo-inverse of a symmetric 9×9 matrix from its eigen-decomposition,
/// eigenvalues of magnitude at most `1e-15 ·` the largest dropped (torch's `pinverse`).
pub fn symmetric_pinv(values: &[f64; 9], vectors: &[[f64; 9]; 9]) -> [[f64; 9]; 9] {
    let cut = 1e-15 * values.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let mut out = [[0.0; 9]; 9];
    for (k, &l) in values.iter().enumerate() {
        if l.abs() > cut {
            for (i, row) in out.iter_mut().enumerate() {
                for (j, o) in row.iter_mut().enumerate() {
                    *o += vectors[i][k] * vectors[j][k] / l;
                }
            }
        }
    }
    out
}

/// The 3×3 neighbourhood at top-left `(x, y)` as vifvec orders it: element `3·j + k` is
/// sample `(x + j, y + k)` (column offset major).
fn neighbourhood(b: &Band, x: usize, y: usize) -> [f64; 9] {
    std::array::from_fn(|i| b.v[(y + i % M) * b.w + x + i / M])
}

/// The reference band's Gaussian scale mixture (sides multiples of [`M`]; pyiqa's
/// `refparams_vecgsm`): the covariance `C_U` of all its 3×3 neighbourhoods (every
/// position; divided by their count), its eigenvalues (ascending), and per 3×3 block the
/// multiplier `s² = vᵀ C_U⁺ v / 9`, `(h/3)·(w/3)` of them.
pub fn reference_gsm(r: &Band) -> (Vec<f64>, [f64; 9]) {
    let (nx, ny) = (r.w + 1 - M, r.h + 1 - M);
    let n = (nx * ny) as f64;
    let mut mean = [0.0; 9];
    for y in 0..ny {
        for x in 0..nx {
            mean.iter_mut().zip(neighbourhood(r, x, y)).for_each(|(m, s)| *m += s);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let partial = |y: usize| {
        let mut c = [[0.0; 9]; 9];
        for x in 0..nx {
            let u = neighbourhood(r, x, y);
            let d: [f64; 9] = std::array::from_fn(|i| u[i] - mean[i]);
            for i in 0..9 {
                for j in i..9 {
                    c[i][j] += d[i] * d[j];
                }
            }
        }
        c
    };
    let sums: Vec<[[f64; 9]; 9]> = (0..ny).into_par_iter().map(partial).collect();
    let mut cov = [[0.0; 9]; 9];
    for c in &sums {
        for i in 0..9 {
            for j in i..9 {
                cov[i][j] += c[i][j];
            }
        }
    }
    // The upper triangle, divided by the count, mirrored.
    let cov: [[f64; 9]; 9] = std::array::from_fn(|i| std::array::from_fn(|j| cov[i.min(j)][i.max(j)] / n));
    let (values, vectors) = symmetric_eigen(cov);
    let pinv = symmetric_pinv(&values, &vectors);
    let s2 = (0..r.h / M)
        .flat_map(|by| (0..r.w / M).map(move |bx| (bx, by)))
        .map(|(bx, by)| {
            let u = neighbourhood(r, M * bx, M * by);
            (0..9).map(|i| (0..9).map(|j| pinv[i][j] * u[j]).sum::<f64>() * u[i]).sum::<f64>() / (M * M) as f64
        })
        .collect();
    (s2, values)
}

/// One band's information sums `(Σ log2(1 + g²·s²·λ/(σv² + σn²)), Σ log2(1 + s²·λ/σn²))`
/// over its blocks (a grid `bw` wide) less a border of `offset` blocks, and over the
/// eigenvalues `λ` (pyiqa's loop in `vif`).
pub fn information(g: &[f64], sv: &[f64], s2: &[f64], lambda: &[f64; 9], bw: usize, offset: usize) -> (f64, f64) {
    let bh = g.len() / bw;
    let inside = |i: &usize| {
        let (x, y) = (i % bw, i / bw);
        x >= offset && x + offset < bw && y >= offset && y + offset < bh
    };
    let idx: Vec<usize> = (0..g.len()).filter(inside).collect();
    let (mut num, mut den) = (0.0, 0.0);
    for &l in lambda {
        num += idx
            .iter()
            .map(|&i| (1.0 + g[i] * g[i] * s2[i] * l / (sv[i] + SIGMA_N_SQ)).log2())
            .sum::<f64>();
        den += idx.iter().map(|&i| (1.0 + s2[i] * l / SIGMA_N_SQ).log2()).sum::<f64>();
    }
    (num, den)
}

/// Wavelet-domain VIF of a reference and a distorted plane (`w`×`h`, pyiqa's rounded YIQ
/// luma on 0–255). Errors when a side is under [`MIN_SIDE`].
pub fn vif(reference: &[f64], distorted: &[f64], w: usize, h: usize) -> Result<f64, String> {
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(format!(
            "VIF (wavelet domain) needs at least {MIN_SIDE}x{MIN_SIDE} pixels (four pyramid levels of 3x3 blocks)"
        ));
    }
    let (rb, db) = rayon::join(
        || {
            subbands(&Band {
                v: reference.to_vec(),
                w,
                h,
            })
        },
        || {
            subbands(&Band {
                v: distorted.to_vec(),
                w,
                h,
            })
        },
    );
    let terms: Vec<(f64, f64)> = rb
        .par_iter()
        .zip(&db)
        .enumerate()
        .map(|(i, (r, d))| {
            let level = LEVELS - 1 - i / ORIENTATIONS.len();
            let ws = (1 << (4 - level)) + 1;
            let (r, d) = (crop_to_blocks(r), crop_to_blocks(d));
            let (g, sv) = distortion_channel(&r, &d, ws);
            let (s2, lambda) = reference_gsm(&r);
            information(&g, &sv, &s2, &lambda, r.w / M, (ws / 2).div_ceil(M))
        })
        .collect();
    let (num, den) = terms.iter().fold((0.0, 0.0), |(n, d), t| (n + t.0, d + t.1));
    Ok(num / (den + TOL))
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // the matrix identities read clearest with indices
mod tests {
    use super::*;

    /// Reconstructs a random symmetric positive-definite matrix from its eigen-decomposition,
    /// and its pseudo-inverse is its inverse.
    #[test]
    fn jacobi_decomposes_and_inverts() {
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let b: [[f64; 9]; 9] = std::array::from_fn(|_| std::array::from_fn(|_| rnd()));
        let a: [[f64; 9]; 9] = std::array::from_fn(|i| {
            std::array::from_fn(|j| (0..9).map(|k| b[i][k] * b[j][k]).sum::<f64>() + 0.1 * f64::from(u8::from(i == j)))
        });
        let (l, v) = symmetric_eigen(a);
        assert!(l.windows(2).all(|p| p[0] <= p[1]) && l[0] > 0.0);
        for i in 0..9 {
            for j in 0..9 {
                let back: f64 = (0..9).map(|k| v[i][k] * l[k] * v[j][k]).sum();
                assert!((back - a[i][j]).abs() < 1e-12, "{i},{j}: {back} vs {}", a[i][j]);
            }
        }
        let p = symmetric_pinv(&l, &v);
        for i in 0..9 {
            for j in 0..9 {
                let e: f64 = (0..9).map(|k| a[i][k] * p[k][j]).sum();
                assert!((e - f64::from(u8::from(i == j))).abs() < 1e-9, "{i},{j}: {e}");
            }
        }
    }

    /// A rank-deficient matrix: the pseudo-inverse drops the zero eigenvalues.
    #[test]
    fn pinv_of_a_rank_one_matrix() {
        let u = [1.0, 2.0, 0.0, -1.0, 0.5, 0.0, 0.0, 3.0, 1.0];
        let a: [[f64; 9]; 9] = std::array::from_fn(|i| std::array::from_fn(|j| u[i] * u[j]));
        let (l, v) = symmetric_eigen(a);
        let p = symmetric_pinv(&l, &v);
        let n2: f64 = u.iter().map(|x| x * x).sum();
        for i in 0..9 {
            for j in 0..9 {
                assert!((p[i][j] - u[i] * u[j] / (n2 * n2)).abs() < 1e-12);
            }
        }
    }

    /// Mirroring: −1 → 1 and n → n − 2, as torch's 'reflect'.
    #[test]
    fn reflect_does_not_repeat_the_edge() {
        assert_eq!([-2, -1, 0, 4, 5, 6].map(|i| reflect(i, 5)), [2, 1, 0, 4, 3, 2]);
    }

    /// A delta filter copies the plane; stride 2 keeps even rows and columns, sizes rounded up.
    #[test]
    fn correlation_sizes_and_identity() {
        let src = Band {
            v: (0..35).map(f64::from).collect(),
            w: 7,
            h: 5,
        };
        let mut delta = [0.0; 9];
        delta[4] = 1.0;
        assert_eq!(correlate_reflect(&src, &delta, 1), src);
        let half = correlate_reflect(&src, &delta, 2);
        assert_eq!((half.w, half.h), (4, 3));
        assert_eq!(half.v, vec![0.0, 2.0, 4.0, 6.0, 14.0, 16.0, 18.0, 20.0, 28.0, 30.0, 32.0, 34.0]);
    }

    /// Identical planes score 1; a plane below the minimum side is refused.
    #[test]
    fn identical_planes_and_small_ones() {
        let (w, h) = (80, 70);
        let p: Vec<f64> = (0..w * h).map(|i| ((i * 37 % 101) as f64) + (i / w) as f64).collect();
        assert!((vif(&p, &p, w, h).unwrap() - 1.0).abs() < 1e-6);
        assert!(vif(&p[..64 * 64], &p[..64 * 64], 64, 64).is_err());
    }
}
