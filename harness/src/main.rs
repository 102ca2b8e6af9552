//! The `icmbench` command line: parses arguments and wires the harness crates together.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use icmbench::print::{failure_lines, fmt_value, json_number, summary_table};
use icmbench::run::{RunOptions, run};
use icmbench::{config, store};
use icmbench_datasets::{ImageEntry, Preprocess, load_image};
use icmbench_models::textfile::{TEXT_CAP, read_text_capped};
use icmbench_reports::aggregate::{BppConvention, aggregate};
use icmbench_reports::bd::{BdOptions, Curve, DEFAULT_MIN_OVERLAP, Method, bd};
use icmbench_reports::paths::{path_part, sanitised_warnings};
use icmbench_reports::plot::PlotOptions;
use icmbench_reports::report::ReportOptions;
use serde_json::json;

/// Benchmark and evaluation harness for Image Coding for Machines.
#[derive(Parser)]
#[command(name = "icmbench", version, about)]
struct Cli {
    /// More log output (-v info, -vv debug); ICMBENCH_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a benchmark described by a TOML config; resumes from earlier results.
    Run {
        /// The config file.
        config: PathBuf,
        /// Worker threads (default: the config's `jobs`, else all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Keep decoded images as DIR/<codec>/q<quality>/<image>.png.
        #[arg(long, value_name = "DIR")]
        save_reconstructions: Option<PathBuf>,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Where ONNX models run: cpu, cuda or cuda:N (overrides the config's `device`).
        #[arg(long)]
        device: Option<String>,
    },
    /// Score one image pair with one metric.
    Score {
        /// Metric name (see `icmbench list`).
        #[arg(long)]
        metric: String,
        /// Reference image (full-reference metrics only).
        #[arg(long = "ref", value_name = "REF")]
        reference: Option<PathBuf>,
        /// Distorted image.
        #[arg(long, value_name = "DIST")]
        dist: PathBuf,
        /// Print `{"metric": NAME, "value": x}`.
        #[arg(long)]
        json: bool,
        /// Where ONNX models run: cpu, cuda or cuda:N.
        #[arg(long, default_value = "cpu")]
        device: String,
    },
    /// The ONNX models: list the manifest, or verify the built files' SHA-256.
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// List codecs, external presets and metrics with their conventions.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Encode one image with a learned codec into a bitstream file (see `decode`).
    Encode {
        /// The learned codec: a folder of quality points (or one point).
        #[arg(long)]
        codec: PathBuf,
        /// The quality point (a `quality` number of its codec.json files).
        #[arg(long)]
        quality: f64,
        /// The image.
        image: PathBuf,
        /// The bitstream file to write.
        out: PathBuf,
        /// Padding fill: zero (CompressAI) or replicate.
        #[arg(long, default_value = "zero")]
        pad_mode: String,
        /// Padding placement: center (CompressAI, SA-ICM) or bottom-right.
        #[arg(long, default_value = "center")]
        pad_align: String,
        /// Where ONNX models run: cpu, cuda or cuda:N.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decode a bitstream file written by `encode` into a PNG image.
    Decode {
        /// The bitstream file.
        input: PathBuf,
        /// The learned codec that wrote it.
        #[arg(long)]
        codec: PathBuf,
        /// The PNG image to write.
        out: PathBuf,
        /// Where ONNX models run: cpu, cuda or cuda:N.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a config without running it.
    Check {
        /// The config file.
        config: PathBuf,
    },
    /// Paper-style tables (BD-rate vs an anchor, per-quality), figures and an HTML report.
    Report {
        /// Output folders, .parquet tables, or CompressAI .json result files.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Anchor codec (default: the first codec of each dataset).
        #[arg(long)]
        anchor: Option<String>,
        #[command(flatten)]
        common: CurveArgs,
        /// Comma-separated formats: md, csv, tex, json, html, svg, png.
        #[arg(long, value_delimiter = ',', default_value = "md,csv,tex,json,html,svg,png")]
        format: Vec<String>,
        /// Output folder (default: `report/` inside the first results folder, else `report/`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the report as JSON on stdout instead of Markdown.
        #[arg(long)]
        json: bool,
    },
    /// Rate–quality figures (one chart per metric and a multi-panel figure per dataset).
    Plot {
        /// Output folders, .parquet tables, or CompressAI .json result files.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Comma-separated formats: svg, png.
        #[arg(long, value_delimiter = ',', default_value = "svg,png")]
        format: Vec<String>,
        /// bpp on the x axis: mean (of per-image bpp, CompressAI) or total (bits / pixels).
        #[arg(long, default_value = "mean")]
        bpp: String,
        /// Show MS-SSIM as -10 log10(1 - MS-SSIM) dB.
        #[arg(long)]
        msssim_db: bool,
        /// Only these metrics (comma-separated).
        #[arg(long, value_delimiter = ',')]
        metrics: Option<Vec<String>>,
        /// Output folder (default: `figures/` inside the first results folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Bjøntegaard delta between two curves: CSV files with header `rate,metric`, or
    /// CompressAI result JSON files (with --metric).
    Bd {
        /// Anchor curve.
        #[arg(long)]
        anchor: PathBuf,
        /// Test curve.
        #[arg(long)]
        test: PathBuf,
        /// Metric to read from CompressAI JSON files.
        #[arg(long, default_value = "psnr-rgb")]
        metric: String,
        /// Interpolation: pchip (default, as the bjontegaard package), akima, cubic (VCEG-M33).
        #[arg(long, default_value = "pchip")]
        method: String,
        /// The metric is lower-is-better (LPIPS, NIQE...). Known metric names set it by themselves.
        #[arg(long)]
        lower_is_better: bool,
        /// Replace non-monotone curves by their isotonic fit instead of failing.
        #[arg(long)]
        monotone_fit: bool,
        /// Minimum overlap of the two ranges, 0-1.
        #[arg(long, default_value_t = DEFAULT_MIN_OVERLAP, value_parser = parse_min_overlap)]
        min_overlap: f64,
        /// Print `{"bd_rate": percent, "bd_metric": metric units}`.
        #[arg(long)]
        json: bool,
    },
    /// Write results as CompressAI result JSON files (one per dataset and codec).
    ExportCompressai {
        /// Output folders or .parquet tables.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Output folder; files are `<out>/<dataset>/<codec>.json`.
        #[arg(long)]
        out: PathBuf,
        /// bpp convention: mean (CompressAI) or total.
        #[arg(long, default_value = "mean")]
        bpp: String,
    },
    /// Run a detector over a folder of images and write COCO results (and optionally a
    /// pseudo ground truth from its confident boxes).
    Detect {
        /// Image folder.
        images: PathBuf,
        /// Results file to write: `[{image_id, category_id, bbox, score}, ...]`.
        #[arg(long)]
        out: PathBuf,
        /// Detector from the model manifest.
        #[arg(long, default_value = "nanodet")]
        model: String,
        /// Your own ONNX detector (with --spec) instead of a manifest model.
        #[arg(long, requires = "spec")]
        onnx: Option<PathBuf>,
        /// Its contract as TOML (input, size, resize, mean, std, family; see README, SA-ICM).
        #[arg(long, requires = "onnx")]
        spec: Option<PathBuf>,
        /// COCO ground truth whose image ids (matched by file name) the results use;
        /// without it images are numbered 1, 2, ... in sorted order.
        #[arg(long)]
        gt: Option<PathBuf>,
        /// Also write a pseudo ground truth (boxes with score >= --pseudo-threshold) here.
        #[arg(long, value_name = "FILE")]
        pseudo_gt: Option<PathBuf>,
        /// Score threshold of pseudo ground-truth boxes.
        #[arg(long, default_value_t = 0.3)]
        pseudo_threshold: f64,
        /// Where the detector runs: cpu, cuda or cuda:N.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Print a JSON summary (images, detections, images per second).
        #[arg(long)]
        json: bool,
    },
    /// COCO mAP of a detection results file against a ground truth (pycocotools' 12 statistics).
    EvalMap {
        /// Ground truth: COCO instances JSON.
        #[arg(long)]
        gt: PathBuf,
        /// Results: `[{image_id, category_id, bbox|segmentation, score}, ...]`.
        #[arg(long)]
        dt: PathBuf,
        /// bbox or segm.
        #[arg(long, default_value = "bbox")]
        iou_type: String,
        /// Print `{"stats": [12 numbers]}`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ModelsAction {
    /// Name, file, source package, licence and contract of every model.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check that every model file is built and has its manifest SHA-256 (exit 2 if not).
    Verify {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Options shared by `report` for BD computations and figures.
#[derive(clap::Args)]
struct CurveArgs {
    /// Interpolation: pchip (default), akima, cubic.
    #[arg(long, default_value = "pchip")]
    method: String,
    /// bpp convention of tables and figures: mean (CompressAI) or total (CompressAI-Vision).
    #[arg(long, default_value = "mean")]
    bpp: String,
    /// Fit non-monotone curves isotonically instead of reporting them as abnormal.
    #[arg(long)]
    monotone_fit: bool,
    /// Minimum overlap of two curves' ranges for a BD value, 0-1.
    #[arg(long, default_value_t = DEFAULT_MIN_OVERLAP, value_parser = parse_min_overlap)]
    min_overlap: f64,
    /// Only these metrics (comma-separated).
    #[arg(long, value_delimiter = ',')]
    metrics: Option<Vec<String>>,
    /// Show MS-SSIM as -10 log10(1 - MS-SSIM) dB in figures.
    #[arg(long)]
    msssim_db: bool,
}

/// `--min-overlap`: a finite number from 0 to 1 (NaN and negative values are refused
/// when the arguments are parsed).
fn parse_min_overlap(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
    icmbench_reports::bd::check_min_overlap(v).map_err(|e| e.to_string())
}

fn parse_bpp(s: &str) -> Result<BppConvention> {
    BppConvention::parse(s).with_context(|| format!("--bpp must be `mean` or `total`, got `{s}`"))
}

fn default_out(results: &[PathBuf], sub: &str) -> PathBuf {
    match results.first() {
        Some(p) if p.is_dir() => p.join(sub),
        _ => PathBuf::from(sub),
    }
}

fn main() -> ExitCode {
    // A file-size limit (`ulimit -f`) then gives write errors ("File too large") that the run
    // reports and stops on, like a full disk, instead of killing the process mid-write.
    // SAFETY: setting a signal's disposition to SIG_IGN before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = Cli::parse();
    let default = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("ICMBENCH_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_message(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes, each cause once: library errors often show their source in
/// their own message already, so a cause already in the text is not repeated.
fn error_message(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run {
            config,
            jobs,
            save_reconstructions,
            json,
            quiet,
            device,
        } => {
            let device = device.map(|d| d.parse::<icmbench_models::Device>()).transpose()?;
            cmd_run(&config, jobs, save_reconstructions, json, quiet, device)
        }
        Command::Score {
            metric,
            reference,
            dist,
            json,
            device,
        } => {
            icmbench_metrics::set_runtime_options(runtime(&device)?);
            cmd_score(&metric, reference, dist, json)
        }
        Command::Models { action } => cmd_models(action),
        Command::List { json } => cmd_list(json),
        Command::Report {
            results,
            anchor,
            common,
            format,
            out,
            json,
        } => cmd_report(&results, anchor, &common, &format, out, json),
        Command::Plot {
            results,
            format,
            bpp,
            msssim_db,
            metrics,
            out,
        } => cmd_plot(&results, &format, &bpp, msssim_db, metrics, out),
        Command::Bd {
            anchor,
            test,
            metric,
            method,
            lower_is_better,
            monotone_fit,
            min_overlap,
            json,
        } => cmd_bd(&anchor, &test, &metric, &method, lower_is_better, monotone_fit, min_overlap, json),
        Command::ExportCompressai { results, out, bpp } => cmd_export(&results, &out, &bpp),
        Command::EvalMap { gt, dt, iou_type, json } => cmd_eval_map(&gt, &dt, &iou_type, json),
        Command::Detect {
            images,
            out,
            model,
            onnx,
            spec,
            gt,
            pseudo_gt,
            pseudo_threshold,
            device,
            json,
        } => {
            let opts = runtime(&device)?;
            let detector =
                icmbench::task::load_detector(&model, onnx.as_deref(), spec.as_deref(), &opts).map_err(|e| anyhow::anyhow!(e))?;
            cmd_detect(
                &images,
                &out,
                &detector,
                gt.as_deref(),
                pseudo_gt.as_deref(),
                pseudo_threshold,
                json,
            )
        }
        Command::Encode {
            codec,
            quality,
            image,
            out,
            pad_mode,
            pad_align,
            device,
            json,
        } => {
            let padding = icmbench_codecs::padding::Padding {
                mode: parse_choice(&pad_mode, "--pad-mode")?,
                align: parse_choice(&pad_align, "--pad-align")?,
            };
            let opts = runtime(&device)?;
            let s = icmbench::coding::encode(&codec, quality, &image, &out, &padding, opts).map_err(|e| anyhow::anyhow!(e))?;
            println!("{}", if json { serde_json::to_string_pretty(&s)? } else { s.line() });
            Ok(ExitCode::SUCCESS)
        }
        Command::Decode {
            input,
            codec,
            out,
            device,
            json,
        } => {
            let opts = runtime(&device)?;
            let s = icmbench::coding::decode(&input, &codec, &out, opts).map_err(|e| anyhow::anyhow!(e))?;
            println!("{}", if json { serde_json::to_string_pretty(&s)? } else { s.line() });
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => {
            // Validates without running any tool: building the codecs runs no external
            // program (their versions are asked for when a run starts) and loads and checks
            // every learned codec's graphs; the programs are only looked up on PATH.
            let plan = config::load(&config)?;
            let problems: Vec<String> = plan
                .codecs
                .iter()
                .flat_map(|c| c.codec.preflight().into_iter().map(move |p| format!("codec `{}`: {p}", c.id)))
                .collect();
            if !problems.is_empty() {
                for p in &problems {
                    eprintln!("error: {}: {p}", config.display());
                }
                return Ok(ExitCode::from(1));
            }
            let rows: usize = plan.codecs.iter().map(|c| c.qualities.len()).sum();
            println!(
                "{}: ok ({} datasets, {} codecs, {} quality points, {} metrics)",
                config.display(),
                plan.datasets.len(),
                plan.codecs.len(),
                rows,
                plan.metrics.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn cmd_detect(
    images: &Path,
    out: &Path,
    detector: &icmbench_models::detect::Detector,
    gt: Option<&Path>,
    pseudo_gt: Option<&Path>,
    pseudo_threshold: f64,
    json: bool,
) -> Result<ExitCode> {
    let entries = icmbench_datasets::scan_folder(images)?;
    // Image ids and categories: the ground truth's (by file name, by category name), else
    // 1, 2, ... in sorted order and COCO's ids.
    let truth = gt
        .map(icmbench::task::GroundTruthFile::read)
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?;
    let start = std::time::Instant::now();
    let (mut results, mut seen, mut failures) = (Vec::new(), Vec::new(), 0usize);
    for (i, e) in entries.iter().enumerate() {
        let image_id = match &truth {
            Some(t) => match t.image_id(&e.id) {
                Some(id) => id,
                None => {
                    eprintln!("{}: not in the ground truth's images; skipped", e.path.display());
                    continue;
                }
            },
            None => i as u64 + 1,
        };
        let img = match load_image(e, &Preprocess::default()) {
            Ok(i) => i.image,
            Err(err) => {
                eprintln!("{err}");
                failures += 1;
                continue;
            }
        };
        let dets = detector.detect(&img)?;
        for d in &dets {
            let mapped = match &truth {
                Some(t) => t.map_category(*d),
                None => Some(*d),
            };
            if let Some(m) = mapped {
                results.push(json!({"image_id": image_id, "category_id": m.category_id, "bbox": m.bbox, "score": m.score}));
            }
        }
        seen.push((image_id, e.id.clone(), img.width(), img.height(), dets));
    }
    let seconds = start.elapsed().as_secs_f64();
    icmbench_reports::results::write_json(out, &serde_json::Value::Array(results.clone()))?;
    if let Some(p) = pseudo_gt {
        let doc = icmbench::task::pseudo_ground_truth(&seen, pseudo_threshold, detector.name());
        icmbench_reports::results::write_json(p, &doc)?;
    }
    let n = entries.len() - failures;
    if json {
        println!(
            "{}",
            serde_json::to_string(
                &json!({"images": n, "failed": failures, "detections": results.len(), "seconds": seconds,
                "images_per_second": n as f64 / seconds, "out": out.display().to_string()})
            )?
        );
    } else {
        println!(
            "{n} images, {} detections ({:.2} images/s) -> {}{}",
            results.len(),
            n as f64 / seconds,
            out.display(),
            pseudo_gt
                .map(|p| format!(", pseudo ground truth -> {}", p.display()))
                .unwrap_or_default()
        );
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn cmd_eval_map(gt: &Path, dt: &Path, iou_type: &str, json: bool) -> Result<ExitCode> {
    use icmbench_metrics::coco;
    let iou = coco::parse_iou_type(iou_type)?;
    let coco::FileEvaluation { stats, warnings } = coco::evaluate_files(gt, dt, iou)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if json {
        let values: Vec<serde_json::Value> = stats.iter().map(|&v| json_number(v)).collect();
        println!(
            "{}",
            serde_json::to_string(&json!({ "stats": values, "iou_type": iou_type, "names": coco::STAT_NAMES, "warnings": warnings }))?
        );
    } else {
        for (name, v) in coco::STAT_NAMES.iter().zip(stats) {
            println!("{name:<12} {v:.6}");
        }
        println!("COCO protocol (pycocotools COCOeval via hotcoco), iou type {iou_type}; -1 = no ground truth for that statistic");
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_run(
    config_path: &Path,
    jobs: Option<usize>,
    save: Option<PathBuf>,
    json: bool,
    quiet: bool,
    device: Option<icmbench_models::Device>,
) -> Result<ExitCode> {
    if jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    let plan = config::load(config_path)?;
    let opts = RunOptions {
        jobs,
        save_reconstructions: save,
        progress: !quiet && !json,
        device,
    };
    let outcome = run(&plan, &opts)?;
    let mut lines = aggregate(&outcome.rows)?;
    for problem in icmbench::task::add_task_metrics(&mut lines, &outcome.rows, &plan.output) {
        eprintln!("warning: {problem}");
    }
    let mut metrics = plan.metrics.clone();
    if let Some(t) = &plan.task {
        metrics.extend(icmbench::task::metric_names(t.ground_truth).map(String::from));
    }
    let failures = outcome.failures();
    if json {
        let summary: Vec<_> = lines
            .iter()
            .map(|l| {
                json!({
                    "dataset": l.dataset, "codec": l.codec, "quality": l.quality, "ok": l.ok, "failed": l.failed,
                    "bpp_mean": l.bpp_mean, "bpp_total": l.bpp_total, "bpp_estimated": l.bpp_estimated,
                    "metrics": l.metrics.iter().map(|(k, v)| (k.clone(), json_number(v.mean))).collect::<serde_json::Map<_, _>>(),
                })
            })
            .collect();
        let out = json!({
            "output": plan.output.display().to_string(),
            "rows": outcome.rows.len(), "computed": outcome.computed, "reused": outcome.reused,
            "summary": summary,
            "failures": failures.iter().map(|r| json!({"dataset": r.dataset, "image": r.image, "codec": r.codec, "quality": r.quality, "error": r.error})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", summary_table(&lines, &metrics));
        println!(
            "\n{} rows ({} computed, {} reused from earlier runs), {} failed. Results: {}",
            outcome.rows.len(),
            outcome.computed,
            outcome.reused,
            failures.len(),
            plan.output.join(store::PARQUET).display()
        );
        if !failures.is_empty() {
            eprint!("{}", failure_lines(&failures));
        }
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn cmd_score(metric: &str, reference: Option<PathBuf>, dist: PathBuf, json: bool) -> Result<ExitCode> {
    let info = icmbench_metrics::info(metric)?;
    let load = |path: PathBuf| {
        let entry = ImageEntry {
            id: path.display().to_string(),
            path,
        };
        load_image(&entry, &Preprocess::default())
    };
    let no_reference = !info.needs_reference;
    let reference = match (reference, no_reference) {
        (Some(_), true) => bail!("{} is a no-reference metric: give only --dist", info.name),
        (None, false) => bail!("{} compares with a reference: give --ref and --dist", info.name),
        (r, _) => r,
    };
    let m = icmbench_metrics::by_name(metric)?;
    let b = load(dist)?;
    let value = match reference {
        Some(r) => {
            let a = load(r)?;
            m.compute(&a.image, &b.image)
                .with_context(|| format!("scoring {} against {}", b.path.display(), a.path.display()))?
        }
        None => m
            .compute(&b.image, &b.image)
            .with_context(|| format!("scoring {}", b.path.display()))?,
    };
    if json {
        let mut out = json!({"metric": m.name(), "value": json_number(value)});
        if value.is_infinite() {
            out["note"] = json!("infinite: the images are identical");
        }
        println!("{out}");
    } else {
        println!("{} {}", m.name(), fmt_value(value));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_list(json: bool) -> Result<ExitCode> {
    // The kinds that build without settings (the in-process ones).
    let codecs: Vec<(String, String)> = icmbench_codecs::registry::KINDS
        .iter()
        .filter_map(|k| k.build_default().ok().map(|c| (k.name.to_string(), c.version())))
        .collect();
    let metrics: Vec<_> = icmbench_metrics::METRICS
        .iter()
        .filter_map(|m| icmbench_metrics::info(m).ok())
        .collect();
    let presets = icmbench_codecs::external::PRESETS;
    let restorers = icmbench_models::restore::BUILTIN_RESTORERS;
    let degradations = icmbench_datasets::degrade::KINDS;
    if json {
        let out = json!({
            "codecs": codecs.iter().map(|(k, v)| json!({"kind": k, "version": v})).collect::<Vec<_>>(),
            "external_presets": presets,
            "restorers": restorers,
            "degradations": degradations,
            "metrics": metrics.iter().map(|m| json!({"name": m.name, "higher_is_better": m.higher_is_better, "convention": m.convention})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("codecs (kind = ...):");
        for (k, v) in &codecs {
            println!("  {k:<9} {v}");
        }
        println!("  external  presets: {}", presets.join(", "));
        println!("metrics:");
        for m in &metrics {
            println!("  {:<13} {}", m.name, m.convention);
        }
        println!("restorers (datasets.restorer.model = ...): {}", restorers.join(", "));
        println!("degradations (datasets.degradation.kind = ...): {}", degradations.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// Canonical names for registered metrics (aliases resolved); other names (imported
/// results) are kept as given.
fn canonical_metrics(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|m| {
            icmbench_metrics::canonical_name(m)
                .map(str::to_string)
                .unwrap_or_else(|_| m.clone())
        })
        .collect()
}

fn check_formats(formats: &[String], allowed: &[&str]) -> Result<()> {
    for f in formats {
        if !allowed.contains(&f.as_str()) {
            bail!("unknown format `{f}`; formats: {}", allowed.join(", "));
        }
    }
    Ok(())
}

fn cmd_report(
    results: &[PathBuf],
    anchor: Option<String>,
    c: &CurveArgs,
    formats: &[String],
    out: Option<PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    check_formats(formats, icmbench::reporting::FORMATS)?;
    let inputs = icmbench::inputs::load(results)?;
    let opts = ReportOptions {
        anchor,
        method: Method::parse(&c.method)?,
        bpp: parse_bpp(&c.bpp)?,
        monotone_fit: c.monotone_fit,
        min_overlap: c.min_overlap,
        metrics: c.metrics.as_deref().map(canonical_metrics),
    };
    let plot = PlotOptions {
        bpp: opts.bpp,
        msssim_db: c.msssim_db,
    };
    let dir = out.unwrap_or_else(|| default_out(results, "report"));
    let icmbench::reporting::Written { report, files, warnings } = icmbench::reporting::write_report(&inputs, &opts, &plot, formats, &dir)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", icmbench_reports::lowlevel::report_markdown(&report));
        eprintln!("wrote {} files to {}", files.len(), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_plot(
    results: &[PathBuf],
    formats: &[String],
    bpp: &str,
    msssim_db: bool,
    metrics: Option<Vec<String>>,
    out: Option<PathBuf>,
) -> Result<ExitCode> {
    check_formats(formats, &["svg", "png"])?;
    let inputs = icmbench::inputs::load(results)?;
    let bpp = parse_bpp(bpp)?;
    let metrics = metrics.as_deref().map(canonical_metrics);
    // Figures need no BD values: no anchor, and no overlap requirement.
    let opts = ReportOptions {
        bpp,
        metrics,
        monotone_fit: true,
        min_overlap: 0.0,
        ..Default::default()
    };
    let report = icmbench::reporting::build_report(&inputs, &opts)?;
    let dir = out.unwrap_or_else(|| default_out(results, "figures"));
    let figures = icmbench::reporting::write_figures(&report, &dir, &PlotOptions { bpp, msssim_db }, formats, false)?;
    for w in &figures.warnings {
        eprintln!("warning: {w}");
    }
    for f in &figures.files {
        println!("{}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a curve: a CSV with header `rate,metric`, or a CompressAI JSON result file.
fn read_curve(path: &Path, metric: &str) -> Result<Curve> {
    if path.extension().is_some_and(|e| e == "json") {
        let file = icmbench_reports::compressai::CompressaiResults::read(path)?;
        return Ok(file.curve(metric, path)?);
    }
    // Capped, and a UTF-8 byte-order mark (Excel writes one) is dropped.
    let text = read_text_capped(path, TEXT_CAP)?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .map(|(_, l)| l.split(',').map(|h| h.trim().to_ascii_lowercase()).collect())
        .unwrap_or_default();
    if header != ["rate", "metric"] {
        // Debug-quoted, so invisible characters show.
        bail!(
            "{}:1: the header must be `rate,metric`, found {:?}",
            path.display(),
            header.join(",")
        );
    }
    let (mut rate, mut value) = (Vec::new(), Vec::new());
    for (i, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let parse = |s: &str, what: &str| {
            s.parse::<f64>()
                .with_context(|| format!("{}:{}: {what} `{s}` is not a number", path.display(), i + 1))
        };
        if fields.len() != 2 {
            bail!(
                "{}:{}: expected 2 fields (rate,metric), found {}",
                path.display(),
                i + 1,
                fields.len()
            );
        }
        rate.push(parse(fields[0], "rate")?);
        value.push(parse(fields[1], "metric")?);
    }
    let label = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    Ok(Curve::new(label, rate, value))
}

#[allow(clippy::too_many_arguments)]
fn cmd_bd(
    anchor: &Path,
    test: &Path,
    metric: &str,
    method: &str,
    lower: bool,
    monotone_fit: bool,
    min_overlap: f64,
    json: bool,
) -> Result<ExitCode> {
    let a = read_curve(anchor, metric)?;
    let t = read_curve(test, metric)?;
    let json_input = anchor.extension().is_some_and(|e| e == "json");
    let lower_is_better = lower || (json_input && icmbench_metrics::lower_is_better(metric));
    let opts = BdOptions {
        method: Method::parse(method)?,
        lower_is_better,
        monotone_fit,
        min_overlap,
    };
    let r = bd(&a, &t, &opts)?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    if json {
        println!("{}", serde_json::json!({"bd_rate": r.bd_rate, "bd_metric": r.bd_metric}));
    } else {
        println!("BD-rate {:+.4} % ({}; negative = test saves rate)", r.bd_rate, opts.method.name());
        println!("BD-metric {:+.6} (test - anchor, metric units)", r.bd_metric);
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_export(results: &[PathBuf], out: &Path, bpp: &str) -> Result<ExitCode> {
    let inputs = icmbench::inputs::load(results)?;
    let versions: std::collections::BTreeMap<String, String> =
        inputs.rows.iter().map(|r| (r.codec.clone(), r.codec_version.clone())).collect();
    let files = icmbench::inputs::to_compressai(&inputs.points, parse_bpp(bpp)?, &versions);
    // Names from results tables become path parts only through `path_part`: nothing is
    // written outside `out`.
    let mut warnings = sanitised_warnings("dataset", files.iter().map(|(d, _)| d.as_str()));
    warnings.extend(sanitised_warnings("codec", files.iter().map(|(_, f)| f.name.as_str())));
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    for (dataset, file) in files {
        let path = out
            .join(path_part(&dataset).as_ref())
            .join(format!("{}.json", path_part(&file.name)));
        file.write(&path)?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_models(action: ModelsAction) -> Result<ExitCode> {
    let manifest = icmbench_models::Manifest::shipped()?;
    let dir = icmbench_models::models_dir();
    match action {
        ModelsAction::List { json } => {
            if json {
                let list: Vec<_> = manifest
                    .model
                    .iter()
                    .map(|m| json!({"name": m.name, "file": m.file, "sha256": m.sha256, "source": m.source, "licence": m.licence, "build": m.build, "inputs": m.inputs, "outputs": m.outputs}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"models_dir": dir.display().to_string(), "models": list}))?
                );
            } else {
                println!("models folder: {}", dir.display());
                for m in &manifest.model {
                    println!(
                        "{}\n  file     {}\n  sha256   {}\n  source   {}\n  licence  {}\n  build    {}\n  inputs   {}\n  outputs  {}",
                        m.name, m.file, m.sha256, m.source, m.licence, m.build, m.inputs, m.outputs
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsAction::Verify { json } => {
            let states = manifest.verify(&dir);
            let bad = states.iter().filter(|(_, s)| !s.is_ok()).count();
            let text = |s: &icmbench_models::FileState| match s {
                icmbench_models::FileState::Ok => "ok".to_string(),
                icmbench_models::FileState::Missing => "missing (run `make models`)".to_string(),
                icmbench_models::FileState::Mismatch(h) => format!("sha256 mismatch: found {h}"),
                icmbench_models::FileState::NotExported => "not exported (optional; see `icmbench models list`)".to_string(),
                icmbench_models::FileState::Exported(h) => format!("exported by you, sha256 {h}"),
            };
            if json {
                let list: Vec<_> = states
                    .iter()
                    .map(|(m, s)| json!({"name": m.name, "file": m.file, "ok": s.is_ok(), "optional": m.optional, "state": text(s)}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"models_dir": dir.display().to_string(), "models": list}))?
                );
            } else {
                let wn = states.iter().map(|(m, _)| m.name.len()).max().unwrap_or(0);
                let wf = states.iter().map(|(m, _)| m.file.len()).max().unwrap_or(0);
                for (m, s) in &states {
                    println!("{:<wn$} {:<wf$} {}", m.name, m.file, text(s));
                }
            }
            Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
    }
}

/// A kebab-case option value as its enum (`zero`, `bottom-right`…), or an error naming the
/// option.
fn parse_choice<T: serde::de::DeserializeOwned>(value: &str, option: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).map_err(|e| anyhow::anyhow!("{option} {value}: {e}"))
}

/// ONNX Runtime options for a `--device` value (cpu, cuda or cuda:N), all cores.
fn runtime(device: &str) -> Result<icmbench_models::RuntimeOptions> {
    Ok(icmbench_models::RuntimeOptions {
        device: device.parse()?,
        intra_threads: 0,
    })
}
