//! What this machine can do at most, the yardsticks of the kernels' speed: the peak rate
//! of fused multiply–adds on `f64` and `f32` (independent chains in vector registers, the
//! widest vectors the processor has, one thread and every core) and the memory read
//! bandwidth (a sum over a 256 MiB buffer). criterion reports them as throughput:
//! multiply–adds per second (`elem/s`) and bytes per second. The README's "Speed" section
//! turns them into the floor under each kernel.

use criterion::{Criterion, Throughput, criterion_main};
use std::hint::black_box;

/// Independent accumulator vectors: enough to cover the multiply–add latency (4 cycles)
/// on two ports.
const CHAINS: usize = 12;
/// Iterations of the inner loop per call: a few milliseconds, so that starting the
/// threads is lost in the noise.
const ITERS: usize = 1 << 20;

/// `CHAINS` vectors of `v = v·a + b`, `iters` times, with the given vector type, splat,
/// fused multiply–add and lane sum; returns the sum of every lane so nothing is elided.
macro_rules! fma_chains {
    ($iters:expr, $splat:path, $fma:path, $a:expr, $b:expr, $sum:expr) => {{
        let (a, b) = ($splat($a), $splat($b));
        let mut acc = [a; CHAINS];
        for _ in 0..$iters {
            for v in acc.iter_mut() {
                *v = $fma(*v, a, b);
            }
        }
        acc.iter().map(|&v| f64::from($sum(v))).sum::<f64>()
    }};
}

/// The multiply–add loop on `f64` or `f32` in AVX-512 registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn peak_avx512(f32s: bool, iters: usize) -> f64 {
    use std::arch::x86_64::*;
    if f32s {
        fma_chains!(iters, _mm512_set1_ps, _mm512_fmadd_ps, 0.999_9, 1e-7, _mm512_reduce_add_ps)
    } else {
        fma_chains!(iters, _mm512_set1_pd, _mm512_fmadd_pd, 0.999_999_9, 1e-9, _mm512_reduce_add_pd)
    }
}

/// The multiply–add loop on `f64` or `f32` in AVX2 registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn peak_avx2(f32s: bool, iters: usize) -> f64 {
    use std::arch::x86_64::*;
    // SAFETY (both closures): plain register arithmetic on values the loop owns.
    let sum_ps = |v: __m256| {
        let mut lanes = [0f32; 8];
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
        lanes.iter().sum::<f32>()
    };
    let sum_pd = |v: __m256d| {
        let mut lanes = [0f64; 4];
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), v) };
        lanes.iter().sum::<f64>()
    };
    if f32s {
        fma_chains!(iters, _mm256_set1_ps, _mm256_fmadd_ps, 0.999_9, 1e-7, sum_ps)
    } else {
        fma_chains!(iters, _mm256_set1_pd, _mm256_fmadd_pd, 0.999_999_9, 1e-9, sum_pd)
    }
}

/// A multiply–add loop: `(f32s, iterations)` to a sum of every lane.
type PeakLoop = fn(bool, usize) -> f64;

/// Lanes per vector and the loop for this processor (`None`: no FMA, nothing to measure).
fn peak_kernel(f32s: bool) -> Option<(usize, PeakLoop)> {
    #[cfg(target_arch = "x86_64")]
    {
        let lanes = if f32s { 2 } else { 1 };
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the features are present.
            return Some((8 * lanes, |f, n| unsafe { peak_avx512(f, n) }));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the features are present.
            return Some((4 * lanes, |f, n| unsafe { peak_avx2(f, n) }));
        }
    }
    let _ = f32s;
    None
}

fn fma_peak(c: &mut Criterion) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("limit_fma");
    group.sample_size(20);
    for (label, f32s) in [("f64", false), ("f32", true)] {
        let Some((lanes, kernel)) = peak_kernel(f32s) else {
            eprintln!("no fused multiply-add on this processor: the FLOP limits are not measured");
            return;
        };
        for t in [1, threads] {
            let fmas = (CHAINS * lanes * ITERS * t) as u64;
            group.throughput(Throughput::Elements(fmas));
            group.bench_function(format!("{label}/{t}_threads"), |b| {
                b.iter(|| {
                    std::thread::scope(|s| {
                        let handles: Vec<_> = (0..t).map(|_| s.spawn(|| kernel(f32s, black_box(ITERS)))).collect();
                        handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum::<f64>()
                    })
                })
            });
        }
    }
    group.finish();
}

fn read_bandwidth(c: &mut Criterion) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let data: Vec<u64> = (0..(256usize << 20) / 8).map(|i| i as u64).collect();
    let mut group = c.benchmark_group("limit_memory_read");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((data.len() * 8) as u64));
    for t in [1, threads] {
        group.bench_function(format!("256MiB/{t}_threads"), |b| {
            b.iter(|| {
                let part = data.len().div_ceil(t);
                std::thread::scope(|s| {
                    let handles: Vec<_> = data
                        .chunks(part)
                        .map(|chunk| s.spawn(move || chunk.iter().fold(0u64, |a, &v| a.wrapping_add(v))))
                        .collect();
                    handles.into_iter().fold(0u64, |a, h| a.wrapping_add(h.join().unwrap_or(0)))
                })
            })
        });
    }
    group.finish();
}

/// This file's benchmark group, run by `criterion_main!`: the FMA peak and the read
/// bandwidth, with criterion's command-line options.
pub fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    fma_peak(&mut criterion);
    read_bandwidth(&mut criterion);
}

criterion_main!(benches);
