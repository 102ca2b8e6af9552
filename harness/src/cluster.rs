//! Runs past one machine: which shard this process is (`--shard K/N`, or K and N from a
//! cluster engine's environment: Slurm job arrays, Kubernetes Indexed Jobs, HyperQueue),
//! where and when work ran ([`Provenance`]), and the sbatch scripts of `icmbench slurm`.
//! Nothing here schedules: the engines do, and `icmbench merge` joins their shards.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use icmbench_reports::store::host_name;
use icmbench_reports::store::shard::{Provenance, Shard, ShardError};

/// What `--shard` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    /// `K/N`.
    Fixed(Shard),
    /// `env` or `env/N`: K from the environment ([`INDEX_VARIABLES`]), N given or from
    /// `SLURM_ARRAY_TASK_COUNT`.
    Env(Option<usize>),
}

impl FromStr for ShardSpec {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("env") {
            Some("") => Ok(ShardSpec::Env(None)),
            Some(rest) => match rest.strip_prefix('/').map(str::parse::<usize>) {
                Some(Ok(n)) if n > 0 => Ok(ShardSpec::Env(Some(n))),
                _ => Err(ShardError::Syntax(s.to_string())),
            },
            None => s.parse().map(ShardSpec::Fixed),
        }
    }
}

/// The environment variables that give a shard's index, in the order they are looked at:
/// Slurm job arrays, Kubernetes Indexed Jobs, HyperQueue task arrays.
pub const INDEX_VARIABLES: [&str; 3] = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "HQ_TASK_ID"];

/// The variable that gives the shard count with [`INDEX_VARIABLES`]' first (only Slurm has one).
pub const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";

/// Why `--shard env` found no shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// No index variable is set.
    #[error("--shard env: none of {} is set (run inside a job array, or give --shard K/N)", INDEX_VARIABLES.join(", "))]
    NoIndex,
    /// The engine gives no count and none was given.
    #[error("--shard env: {0} gives the shard index but not the count; give it: --shard env/N")]
    NoCount(&'static str),
    /// A variable holds no whole number.
    #[error("--shard env: {name}=`{value}` is not a whole number")]
    NotANumber {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// The index is not below the count.
    #[error("--shard env ({0}): {1}")]
    Range(&'static str, ShardError),
}

/// The shard a `--shard` value stands for, reading the environment through `env`. With
/// `env/N` the count is N even under Slurm, so that one shard resubmitted alone
/// (`sbatch --array=1 ...`, whose `SLURM_ARRAY_TASK_COUNT` is 1) keeps its place; array
/// indices are shard numbers, from 0.
pub fn resolve_shard(spec: ShardSpec, env: impl Fn(&str) -> Option<String>) -> Result<Shard, ClusterError> {
    let count = match spec {
        ShardSpec::Fixed(s) => return Ok(s),
        ShardSpec::Env(count) => count,
    };
    let number = |name: &'static str, value: String| value.trim().parse::<usize>().map_err(|_| ClusterError::NotANumber { name, value });
    let (name, value) = INDEX_VARIABLES
        .iter()
        .find_map(|&name| env(name).map(|v| (name, v)))
        .ok_or(ClusterError::NoIndex)?;
    let index = number(name, value)?;
    let count = match (count, name) {
        (Some(n), _) => n,
        (None, "SLURM_ARRAY_TASK_ID") => number(SLURM_COUNT, env(SLURM_COUNT).ok_or(ClusterError::NoCount(name))?)?,
        (None, _) => return Err(ClusterError::NoCount(name)),
    };
    Shard::new(index, count).map_err(|e| ClusterError::Range(name, e))
}

/// The current time, RFC 3339 in UTC with milliseconds.
pub fn now_utc() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// The provenance of this process, started now: host, Slurm ids (read through `env`),
/// icmbench's version and git commit.
pub fn provenance(env: impl Fn(&str) -> Option<String>) -> Provenance {
    Provenance {
        host: host_name(),
        slurm_job_id: env("SLURM_JOB_ID"),
        slurm_array_job_id: env("SLURM_ARRAY_JOB_ID"),
        slurm_array_task_id: env("SLURM_ARRAY_TASK_ID"),
        icmbench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("ICMBENCH_GIT_COMMIT").to_string(),
        started: now_utc(),
        finished: String::new(),
    }
}

/// The process environment, as [`resolve_shard`] and [`provenance`] read it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// What `icmbench slurm` asks of Slurm for each shard.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// Number of shards (array tasks).
    pub shards: usize,
    /// At most this many array tasks at once (`%M`).
    pub throttle: Option<usize>,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--cpus-per-task` (also the run's worker threads).
    pub cpus_per_task: Option<u32>,
    /// `--gpus-per-task`; with any GPU the run gets `--device cuda`.
    pub gpus_per_task: Option<u32>,
    /// `--mem`.
    pub mem: Option<String>,
    /// `--time` (each array task, and the merge job).
    pub time: Option<String>,
    /// `report --anchor` in the merge job.
    pub anchor: Option<String>,
}

/// The two scripts of `icmbench slurm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmScripts {
    /// The job array: one task per shard.
    pub array: String,
    /// The merge-and-report job, to run after the array (`afterok`).
    pub merge: String,
}

/// Where `icmbench slurm` writes: `OUT/slurm/` (scripts) and `OUT/slurm/logs/` (job output).
pub fn slurm_dir(output: &Path) -> PathBuf {
    output.join("slurm")
}

/// A word for a shell script, single-quoted.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The sbatch scripts that run `config` as a job array of `o.shards` shards with the
/// binary `icmbench`, and then merge and report `output`. Paths should be absolute: the
/// jobs may start anywhere.
pub fn sbatch_scripts(icmbench: &Path, config: &Path, output: &Path, o: &SlurmOptions) -> SlurmScripts {
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let logs = slurm_dir(output).join("logs");
    let mut common = Vec::new();
    if let Some(p) = &o.partition {
        common.push(format!("#SBATCH --partition={p}"));
    }
    if let Some(t) = &o.time {
        common.push(format!("#SBATCH --time={t}"));
    }
    let throttle = o.throttle.map(|m| format!("%{m}")).unwrap_or_default();
    let mut array = vec![
        "#!/bin/bash".to_string(),
        "#SBATCH --job-name=icmbench-shards".into(),
        format!("#SBATCH --array=0-{}{throttle}", o.shards.saturating_sub(1)),
        format!("#SBATCH --output={}/shard-%a-%A.out", logs.display()),
    ];
    array.extend(common.iter().cloned());
    let mut run_args = vec![format!("--shard env/{}", o.shards), "--quiet".into()];
    if let Some(c) = o.cpus_per_task {
        array.push(format!("#SBATCH --cpus-per-task={c}"));
        run_args.push(format!("--jobs {c}"));
    }
    if let Some(g) = o.gpus_per_task.filter(|&g| g > 0) {
        array.push(format!("#SBATCH --gpus-per-task={g}"));
        run_args.push("--device cuda".into());
    }
    if let Some(m) = &o.mem {
        array.push(format!("#SBATCH --mem={m}"));
    }
    array.extend([
        format!(
            "# One shard of {} per array task (array index = shard number, from 0); a shard",
            o.shards
        ),
        "# resumes from its own journal when resubmitted: sbatch --array=K THIS_FILE.".into(),
        "# Exit 2 (the shard finished, some rows failed) counts as done: the merge reports them.".into(),
        "set -uo pipefail".into(),
        format!("{} run {} {}", q(icmbench), q(config), run_args.join(" ")),
        "rc=$?".into(),
        "if [ \"$rc\" -eq 2 ]; then echo \"icmbench: shard $SLURM_ARRAY_TASK_ID finished with failed rows\"; exit 0; fi".into(),
        "exit \"$rc\"".into(),
    ]);
    let anchor = o
        .anchor
        .as_deref()
        .map(|a| format!(" --anchor {}", shell_quote(a)))
        .unwrap_or_default();
    let mut merge = vec![
        "#!/bin/bash".to_string(),
        "#SBATCH --job-name=icmbench-merge".into(),
        format!("#SBATCH --output={}/merge-%j.out", logs.display()),
    ];
    merge.extend(common);
    merge.extend([
        "# Merges the shards into the output folder's result store, then writes the report.".into(),
        "# Exit 2: merged, with failed rows (listed by the merge and in the report).".into(),
        "set -uo pipefail".into(),
        format!("{} merge {}", q(icmbench), q(output)),
        "rc=$?".into(),
        "if [ \"$rc\" -ne 0 ] && [ \"$rc\" -ne 2 ]; then exit \"$rc\"; fi".into(),
        format!("{} report {}{anchor} || exit $?", q(icmbench), q(output)),
        "exit \"$rc\"".into(),
    ]);
    SlurmScripts {
        array: array.join("\n") + "\n",
        merge: merge.join("\n") + "\n",
    }
}

/// Submits a script with `sbatch --parsable` (after `extra` options, e.g. a dependency) and
/// returns the job id; sbatch's own message when it refuses.
pub fn sbatch(script: &Path, extra: &[String]) -> Result<String, String> {
    let out = std::process::Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .map_err(|e| format!("sbatch: {e} (is Slurm installed, and sbatch on PATH?)"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `--parsable` prints `jobid` or `jobid;cluster`.
    match text.trim().split(';').next().filter(|id| out.status.success() && !id.is_empty()) {
        Some(id) => Ok(id.to_string()),
        None => Err(format!(
            "sbatch {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn shard_values_parse() {
        assert_eq!("1/3".parse::<ShardSpec>(), Ok(ShardSpec::Fixed(Shard::new(1, 3).unwrap())));
        assert_eq!("env".parse::<ShardSpec>(), Ok(ShardSpec::Env(None)));
        assert_eq!("env/8".parse::<ShardSpec>(), Ok(ShardSpec::Env(Some(8))));
        for bad in ["env/0", "env/x", "envy", "3/3", ""] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_come_from_each_engine_environment() {
        let slurm = env_of(&[("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "5")]);
        assert_eq!(resolve_shard(ShardSpec::Env(None), &slurm), Ok(Shard::new(2, 5).unwrap()));
        // A shard resubmitted alone: Slurm says 1 task, the script says 5 shards.
        let alone = env_of(&[("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "1")]);
        assert_eq!(resolve_shard(ShardSpec::Env(Some(5)), &alone), Ok(Shard::new(2, 5).unwrap()));
        assert!(matches!(resolve_shard(ShardSpec::Env(None), &alone), Err(ClusterError::Range(..))));
        let k8s = env_of(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(resolve_shard(ShardSpec::Env(Some(4)), &k8s), Ok(Shard::new(3, 4).unwrap()));
        assert_eq!(
            resolve_shard(ShardSpec::Env(None), &k8s),
            Err(ClusterError::NoCount("JOB_COMPLETION_INDEX"))
        );
        let hq = env_of(&[("HQ_TASK_ID", "0")]);
        assert_eq!(resolve_shard(ShardSpec::Env(Some(2)), &hq), Ok(Shard::new(0, 2).unwrap()));
        assert_eq!(resolve_shard(ShardSpec::Env(Some(2)), env_of(&[])), Err(ClusterError::NoIndex));
        let bad = env_of(&[("HQ_TASK_ID", "one")]);
        assert!(matches!(
            resolve_shard(ShardSpec::Env(Some(2)), &bad),
            Err(ClusterError::NotANumber { .. })
        ));
        // A fixed shard ignores the environment.
        let fixed = ShardSpec::Fixed(Shard::new(0, 3).unwrap());
        assert_eq!(resolve_shard(fixed, &slurm), Ok(Shard::new(0, 3).unwrap()));
    }

    #[test]
    fn provenance_names_the_slurm_job() {
        let p = provenance(env_of(&[
            ("SLURM_JOB_ID", "41"),
            ("SLURM_ARRAY_JOB_ID", "40"),
            ("SLURM_ARRAY_TASK_ID", "1"),
        ]));
        assert_eq!(p.slurm_job_id.as_deref(), Some("41"));
        assert_eq!(p.slurm_array_job_id.as_deref(), Some("40"));
        assert_eq!(p.slurm_array_task_id.as_deref(), Some("1"));
        assert_eq!(p.icmbench_version, env!("CARGO_PKG_VERSION"));
        assert!(!p.git_commit.is_empty());
        assert!(p.started.ends_with('Z') && p.started.contains('T'), "{}", p.started);
        assert_eq!(provenance(env_of(&[])).slurm_job_id, None);
    }

    #[test]
    fn sbatch_scripts_carry_the_options() {
        let o = SlurmOptions {
            shards: 4,
            throttle: Some(2),
            partition: Some("gpu".into()),
            cpus_per_task: Some(8),
            gpus_per_task: Some(1),
            mem: Some("16G".into()),
            time: Some("02:00:00".into()),
            anchor: Some("jpeg".into()),
        };
        let s = sbatch_scripts(Path::new("/opt/icm bench"), Path::new("/c/x.toml"), Path::new("/o"), &o);
        for line in [
            "#SBATCH --array=0-3%2",
            "#SBATCH --partition=gpu",
            "#SBATCH --cpus-per-task=8",
            "#SBATCH --gpus-per-task=1",
            "#SBATCH --mem=16G",
            "#SBATCH --time=02:00:00",
            "#SBATCH --output=/o/slurm/logs/shard-%a-%A.out",
            "'/opt/icm bench' run '/c/x.toml' --shard env/4 --quiet --jobs 8 --device cuda",
        ] {
            assert!(s.array.lines().any(|l| l == line), "array script lacks `{line}`:\n{}", s.array);
        }
        for line in [
            "'/opt/icm bench' merge '/o'",
            "'/opt/icm bench' report '/o' --anchor 'jpeg' || exit $?",
            "#SBATCH --partition=gpu",
        ] {
            assert!(s.merge.lines().any(|l| l == line), "merge script lacks `{line}`:\n{}", s.merge);
        }
        let cpu = sbatch_scripts(
            Path::new("/b"),
            Path::new("/c"),
            Path::new("/o"),
            &SlurmOptions {
                shards: 3,
                ..Default::default()
            },
        );
        assert!(cpu.array.contains("#SBATCH --array=0-2\n"));
        assert!(!cpu.array.contains("--device") && !cpu.array.contains("--partition"));
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
