//! `icmbench slurm CONFIG --shards N`: checks the config, writes the job-array script and
//! the merge-and-report script into `OUTPUT/slurm/`, prints the sbatch commands, and with
//! `--submit` submits both (the merge after the array: `afterok`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use icmbench::cluster::{SlurmOptions, sbatch, sbatch_scripts, shell_quote, slurm_dir};
use icmbench::config;
use icmbench_reports::store::write_text;
use serde::Serialize;

use super::{print_json, text_error};
use crate::cli::SlurmArgs;

/// What `slurm --json` prints.
#[derive(Serialize)]
struct Written {
    array_script: PathBuf,
    merge_script: PathBuf,
    commands: Vec<String>,
    array_job: Option<String>,
    merge_job: Option<String>,
}

/// Runs the command.
pub fn run(a: SlurmArgs) -> Result<ExitCode> {
    let plan = config::load(&a.config)?;
    let absolute = |p: &Path| std::path::absolute(p).with_context(|| p.display().to_string());
    let (config, output) = (absolute(&a.config)?, absolute(&plan.output)?);
    let binary = std::env::current_exe().context("the path of this icmbench binary")?;
    let options = SlurmOptions {
        shards: a.shards.get(),
        throttle: a.throttle.map(|m| m.get()),
        partition: a.partition,
        cpus_per_task: a.cpus_per_task,
        gpus_per_task: a.gpus_per_task,
        mem: a.mem,
        time: a.time,
        anchor: a.anchor,
    };
    let scripts = sbatch_scripts(&binary, &config, &output, &options);
    let dir = slurm_dir(&output);
    // Slurm does not create the folder of a job's output file.
    std::fs::create_dir_all(dir.join("logs")).with_context(|| dir.join("logs").display().to_string())?;
    let (array, merge) = (dir.join("array.sbatch"), dir.join("merge.sbatch"));
    write_text(&array, &scripts.array)?;
    write_text(&merge, &scripts.merge)?;
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let commands = vec![
        format!("jid=$(sbatch --parsable {})", q(&array)),
        format!("sbatch --dependency=afterok:$jid {}", q(&merge)),
    ];
    let (mut array_job, mut merge_job) = (None, None);
    if a.submit {
        let id = sbatch(&array, &[]).map_err(text_error)?;
        merge_job = Some(sbatch(&merge, &[format!("--dependency=afterok:{id}")]).map_err(text_error)?);
        array_job = Some(id);
    }
    let written = Written {
        array_script: array,
        merge_script: merge,
        commands,
        array_job,
        merge_job,
    };
    if a.json {
        print_json(&written)?;
    } else {
        println!("{}\n{}", written.array_script.display(), written.merge_script.display());
        match (&written.array_job, &written.merge_job) {
            (Some(array), Some(merge)) => println!("submitted: array job {array}, merge job {merge} (afterok:{array})"),
            _ => println!("submit with:\n  {}", written.commands.join("\n  ")),
        }
    }
    Ok(ExitCode::SUCCESS)
}
