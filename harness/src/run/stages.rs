//! Where a run's time goes: a clock shared by the worker threads that adds up, per stage
//! (load, pad, encode, decode, each metric, each task, save, journal, …), the calls and the
//! thread-seconds spent. Rows run in parallel, so the stages' seconds add up to about the
//! wall time × the threads kept busy; their shares are what `icmbench run --stages` prints.
//!
//! Stages nest: a codec or metric that waits on rayon inside a row lets its thread run other
//! rows' stages meanwhile (work stealing). Each stage is therefore charged its own time
//! only, the time of stages that ran inside it on the same thread taken out, so no second
//! counts twice.

use std::cell::Cell;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The time spent in one stage of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StageTime {
    /// The stage: `load`, `encode`, `metric lpips-alex`, `task nanodet`, ….
    pub stage: String,
    /// How many times it ran.
    pub calls: u64,
    /// Thread-seconds spent in it, all threads together.
    pub seconds: f64,
}

thread_local! {
    /// The time of the stages timed so far inside the innermost running [`StageClock::time`]
    /// of this thread.
    static NESTED: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// A thread-safe sum of the time spent per stage.
#[derive(Debug, Default)]
pub struct StageClock {
    totals: Mutex<BTreeMap<String, (u64, Duration)>>,
}

impl StageClock {
    /// Runs `f`, adding its time to `stage`, less the time of stages timed inside it on
    /// this thread (which is theirs).
    pub fn time<T>(&self, stage: &str, f: impl FnOnce() -> T) -> T {
        self.time_own(stage, f).0
    }

    /// [`Self::time`], also giving the time charged to `stage`: `f`'s own time, without that
    /// of the stages timed inside it (a codec's time, not that of the rows its thread ran
    /// while waiting inside it).
    pub fn time_own<T>(&self, stage: &str, f: impl FnOnce() -> T) -> (T, Duration) {
        let outer = NESTED.replace(Duration::ZERO);
        let start = Instant::now();
        let out = f();
        let took = start.elapsed();
        let inner = NESTED.replace(outer + took);
        let own = took.saturating_sub(inner);
        self.add(stage, own);
        (out, own)
    }

    /// Adds one call of `took` to `stage`.
    pub fn add(&self, stage: &str, took: Duration) {
        // A poisoned lock only means another thread panicked while adding: its sums stay valid.
        let mut totals = self.totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The name is copied only the first time the stage is seen (this is on every row).
        if let Some(entry) = totals.get_mut(stage) {
            entry.0 += 1;
            entry.1 += took;
        } else {
            totals.insert(stage.to_string(), (1, took));
        }
    }

    /// Every stage that ran, the longest first (ties by name).
    pub fn times(&self) -> Vec<StageTime> {
        let totals = self.totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let out = totals
            .iter()
            .map(|(stage, (calls, took))| StageTime {
                stage: stage.clone(),
                calls: *calls,
                seconds: took.as_secs_f64(),
            })
            .collect();
        longest_first(out)
    }

    /// The seconds of every stage together.
    pub fn total_seconds(&self) -> f64 {
        let totals = self.totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        totals.values().map(|(_, took)| took.as_secs_f64()).sum()
    }
}

/// CPU seconds (user and system) of this process so far, all threads; `None` where the
/// system does not say.
pub fn process_cpu_seconds() -> Option<f64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the pointer it is given and reads nothing.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: getrusage returned 0, so it filled the struct (and zeroed is valid anyway).
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// The stages of two clocks in one list, the longest first (ties by name); a stage in both
/// is kept twice (the clocks time different parts of a run).
pub fn merged(mut a: Vec<StageTime>, b: Vec<StageTime>) -> Vec<StageTime> {
    a.extend(b);
    longest_first(a)
}

/// The stages sorted longest first, ties by name.
fn longest_first(mut v: Vec<StageTime>) -> Vec<StageTime> {
    v.sort_by(|x, y| y.seconds.total_cmp(&x.seconds).then_with(|| x.stage.cmp(&y.stage)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_calls_and_time_per_stage_from_several_threads() {
        let clock = StageClock::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..25 {
                        clock.add("encode", Duration::from_millis(2));
                        clock.add("decode", Duration::from_millis(1));
                    }
                });
            }
        });
        assert_eq!(clock.time("load", || 7), 7);
        let times = clock.times();
        let names: Vec<&str> = times.iter().map(|t| t.stage.as_str()).collect();
        assert_eq!(names, ["encode", "decode", "load"], "longest first");
        assert_eq!((times[0].calls, times[0].seconds), (100, 0.2));
        assert_eq!((times[1].calls, times[1].seconds), (100, 0.1));
        assert_eq!(times[2].calls, 1);
        assert!((clock.total_seconds() - 0.3).abs() < 1e-3, "{}", clock.total_seconds());
        let both = merged(
            times,
            vec![StageTime {
                stage: "write table".into(),
                calls: 1,
                seconds: 0.15,
            }],
        );
        let names: Vec<&str> = both.iter().map(|t| t.stage.as_str()).collect();
        assert_eq!(names, ["encode", "write table", "decode", "load"]);
    }

    /// A stage run inside another (a row stolen by a thread waiting inside a codec) is
    /// charged to itself, not also to the stage around it.
    #[test]
    fn nested_stages_are_charged_once() {
        let clock = StageClock::default();
        let ((), own) = clock.time_own("encode", || {
            spin(Duration::from_millis(5));
            clock.time("metric", || spin(Duration::from_millis(100)));
            clock.time("metric", || clock.time("task", || spin(Duration::from_millis(50))));
        });
        let seconds = |name: &str| clock.times().iter().find(|t| t.stage == name).map_or(-1.0, |t| t.seconds);
        // Charged with what ran inside it, encode would be >= 155 ms and metric >= 150 ms;
        // the margins (95 and 10 ms less) absorb a loaded machine's scheduling.
        assert!((0.005..0.100).contains(&seconds("encode")), "{}", seconds("encode"));
        assert_eq!(own.as_secs_f64(), seconds("encode"), "the time charged is the time given back");
        assert!((0.100..0.140).contains(&seconds("metric")), "{}", seconds("metric"));
        assert!(seconds("task") >= 0.050, "{}", seconds("task"));
        // The thread's next top-level stage starts from a clean slate.
        clock.time("decode", || spin(Duration::from_millis(2)));
        assert!(seconds("decode") >= 0.002, "{}", seconds("decode"));
    }

    /// Work for at least `d` of wall time (the clock measures wall time).
    fn spin(d: Duration) {
        let start = Instant::now();
        while start.elapsed() < d {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn merged_keeps_both_lists_longest_first() {
        let a = vec![StageTime {
            stage: "encode".into(),
            calls: 1,
            seconds: 0.2,
        }];
        let b = vec![StageTime {
            stage: "write table".into(),
            calls: 1,
            seconds: 0.3,
        }];
        let names: Vec<String> = merged(a, b).into_iter().map(|t| t.stage).collect();
        assert_eq!(names, ["write table", "encode"]);
    }

    #[test]
    fn process_cpu_time_grows_with_work() {
        let before = process_cpu_seconds().expect("getrusage");
        spin(Duration::from_millis(60));
        let after = process_cpu_seconds().expect("getrusage");
        // At least part of 60 ms of spinning is CPU time, whatever else the machine runs.
        assert!(after > before, "{before} -> {after}");
    }

    #[test]
    fn unused_clock_is_empty() {
        let clock = StageClock::default();
        assert!(clock.times().is_empty());
        assert_eq!(clock.total_seconds(), 0.0);
    }
}
