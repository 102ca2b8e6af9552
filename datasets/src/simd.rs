//! Run-time choice of the vector instructions for the numeric kernels of the workspace
//! (the plane filters here, SSIM in icmbench-metrics): [`multiversion!`] compiles one
//! kernel, written as plain loops over fixed-size chunks that the compiler vectorises, for
//! AVX-512 and for AVX2 (both with fused multiply–add) and portably, and calls the widest
//! one the processor has. [`madd`] is the multiply–add such a kernel uses: fused (one
//! rounding) in the FMA builds when the kernel asks for it.
//!
//! Chunks have a fixed number of lanes chosen by the kernel, not by the vector width, so a
//! kernel that does not fuse gives the same bits on every path.

/// `a·b + c`: fused (one rounding) when `FMA`, else a multiply then an add.
#[inline(always)]
pub fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Asks the processor to bring every cache line of `data` into the level-1 cache ahead of
/// use (a hint: it never faults and changes no result). Kernels that walk a plane in
/// column tiles read each row's band at a stride of a whole row, which the hardware
/// prefetchers do not follow; they call this a few rows ahead. A no-op off x86-64.
#[inline(always)]
pub fn prefetch(data: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    for line in data.chunks(8) {
        // SAFETY: a prefetch is only a hint; the address is that of a live slice.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Whether fused multiply–add is one instruction on this target without run-time
/// detection (aarch64); elsewhere the portable build multiplies then adds.
pub const PORTABLE_FMA: bool = cfg!(target_arch = "aarch64");

/// Defines `fn $name(args) -> ret` that calls `$kernel::<FMA>(args)` compiled for the
/// widest vector unit this processor has: AVX-512 or AVX2 with FMA (`FMA = true`, detected
/// at run time on x86-64), else the portable build (`FMA =`
/// [`PORTABLE_FMA`](crate::simd::PORTABLE_FMA)). `$kernel` should be `#[inline(always)]`
/// so that it is compiled into each build.
#[macro_export]
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $kernel:ident;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn avx512($($arg: $ty),*) -> $ret {
                    $kernel::<true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) -> $ret {
                    $kernel::<true>($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the processor has the features `avx512` is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the processor has the features `avx2` is compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $kernel::<{ $crate::simd::PORTABLE_FMA }>($($arg),*)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel that reports whether it was given FMA, and whether its multiply–add
    /// rounded once: the dispatcher's choice is visible and consistent.
    #[inline(always)]
    fn probe<const FMA: bool>(a: f64) -> (bool, f64) {
        (FMA, madd::<FMA>(a, a, -1.0))
    }

    crate::multiversion! {
        fn dispatched(a: f64) -> (bool, f64) = probe;
    }

    #[test]
    fn fused_means_one_rounding() {
        // (1 + 2^-30)^2 - 1 = 2^-29 + 2^-60: a separate multiply rounds 2^-60 away.
        let a = 1.0 + 2f64.powi(-30);
        assert_eq!(madd::<true>(a, a, -1.0), 2f64.powi(-29) + 2f64.powi(-60));
        assert_eq!(madd::<false>(a, a, -1.0), 2f64.powi(-29));
        let (fused, v) = dispatched(a);
        let expected = if fused {
            madd::<true>(a, a, -1.0)
        } else {
            madd::<false>(a, a, -1.0)
        };
        assert_eq!(v, expected);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            fused,
            std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2")
        );
    }
}
