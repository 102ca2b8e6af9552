//! Mean squared error and PSNR over planes of equal size.

/// Mean squared error over every sample of every plane.
///
/// Panics only if the planes differ in count or length, which callers rule out.
pub fn mse_planes(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len(), "plane counts differ");
    let mut sum = 0.0;
    let mut n = 0usize;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len(), "plane sizes differ");
        sum += x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum::<f64>();
        n += x.len();
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Mean squared error over two equally long 8-bit sample buffers, exact (integer sum).
pub fn mse_u8(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "buffer sizes differ");
    if a.is_empty() {
        return 0.0;
    }
    let sse: u64 = a
        .iter()
        .zip(b)
        .map(|(&p, &q)| {
            let d = u64::from(p.abs_diff(q));
            d * d
        })
        .sum();
    sse as f64 / a.len() as f64
}

/// PSNR in dB from an MSE and the peak value: `10·log10(peak² / mse)`; infinite for `mse == 0`.
pub fn psnr_from_mse(mse: f64, peak: f64) -> f64 {
    if mse <= 0.0 {
        f64::INFINITY
    } else {
        10.0 * (peak * peak / mse).log10()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_planes_are_infinite() {
        let a = vec![vec![1.0, 2.0, 3.0]];
        assert_eq!(psnr_from_mse(mse_planes(&a, &a), 255.0), f64::INFINITY);
    }

    #[test]
    fn integer_and_float_mse_agree() {
        let a: Vec<u8> = (0..=255).collect();
        let b: Vec<u8> = (0..=255).rev().collect();
        let fa = vec![a.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()];
        let fb = vec![b.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()];
        assert_eq!(mse_u8(&a, &b), mse_planes(&fa, &fb));
    }

    #[test]
    fn known_mse() {
        let a = vec![vec![0.0; 4]];
        let b = vec![vec![0.0, 0.0, 0.0, 2.0]];
        assert_eq!(mse_planes(&a, &b), 1.0);
        assert!((psnr_from_mse(1.0, 255.0) - 48.130_803_608_679_1).abs() < 1e-9);
    }
}
