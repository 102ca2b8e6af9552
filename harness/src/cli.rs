//! The command line, parsed once into typed values: every subcommand's arguments, with
//! methods, bpp conventions, IoU types, devices, padding and formats as their library types
//! (parsed by their `FromStr`), so the commands never look at a raw string again.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use icmbench::cluster::ShardSpec;
use icmbench::reporting::Format;
use icmbench_codecs::padding::{PadAlign, PadMode};
use icmbench_metrics::coco::IouType;
use icmbench_models::Device;
use icmbench_reports::aggregate::BppConvention;
use icmbench_reports::bd::{DEFAULT_MIN_OVERLAP, Method, MonotoneFit};

/// Benchmark and evaluation harness for Image Coding for Machines.
#[derive(Parser)]
#[command(name = "icmbench", version, about)]
pub struct Cli {
    /// More log output (-v info, -vv debug); ICMBENCH_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Run a benchmark described by a TOML config; resumes from earlier results.
    Run(RunArgs),
    /// Score one image pair with one metric.
    Score(ScoreArgs),
    /// The ONNX models: list the manifest, or verify the built files' SHA-256.
    Models {
        /// What to do.
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
    Encode(EncodeArgs),
    /// Decode a bitstream file written by `encode` into a PNG image.
    Decode(DecodeArgs),
    /// Check a config without running it.
    Check {
        /// The config file.
        config: PathBuf,
    },
    /// Paper-style tables (BD-rate vs an anchor, per-quality), figures and an HTML report.
    Report(ReportArgs),
    /// Rate–quality figures (one chart per metric and a multi-panel figure per dataset).
    Plot(PlotArgs),
    /// Bjøntegaard delta between two curves: CSV files with header `rate,metric`, or
    /// CompressAI result JSON files (with --metric).
    Bd(BdArgs),
    /// Write results as CompressAI result JSON files (one per dataset and codec).
    ExportCompressai(ExportArgs),
    /// Run a detector over a folder of images and write COCO results (and optionally a
    /// pseudo ground truth from its confident boxes).
    Detect(DetectArgs),
    /// COCO mAP of a detection results file against a ground truth (pycocotools' 12 statistics).
    EvalMap(EvalMapArgs),
    /// Merge the shards of an output folder (`run --shard`) into its result store.
    Merge(MergeArgs),
    /// Write (and optionally submit) a Slurm job array that runs a config in shards, and a
    /// merge-and-report job that runs after it.
    Slurm(SlurmArgs),
}

/// `icmbench merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// The output folder (the config's `output`), holding `shards/K-of-N/`.
    pub out: PathBuf,
    /// Merge even when shards are missing or unfinished; every table then says the
    /// results are partial.
    #[arg(long)]
    pub allow_partial: bool,
    /// Print what was merged as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `icmbench slurm`.
#[derive(Args)]
pub struct SlurmArgs {
    /// The config file.
    pub config: PathBuf,
    /// Number of shards (array tasks).
    #[arg(long)]
    pub shards: NonZeroUsize,
    /// Run at most M array tasks at once (`--array=0-N%M`).
    #[arg(long, value_name = "M")]
    pub throttle: Option<NonZeroUsize>,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// CPUs per array task (also the run's worker threads).
    #[arg(long)]
    pub cpus_per_task: Option<u32>,
    /// GPUs per array task; with any, the shards run with `--device cuda`.
    #[arg(long)]
    pub gpus_per_task: Option<u32>,
    /// Memory per array task (Slurm's syntax, e.g. 16G).
    #[arg(long)]
    pub mem: Option<String>,
    /// Time limit of each job (Slurm's syntax, e.g. 02:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// Anchor codec of the report the merge job writes.
    #[arg(long)]
    pub anchor: Option<String>,
    /// Submit both jobs with sbatch (the merge job depends on the array: afterok).
    #[arg(long)]
    pub submit: bool,
    /// Print the scripts' paths and commands (and job ids) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `icmbench run`.
#[derive(Args)]
pub struct RunArgs {
    /// The config file.
    pub config: PathBuf,
    /// Worker threads (default: the config's `jobs`, else all cores).
    #[arg(long)]
    pub jobs: Option<NonZeroUsize>,
    /// Keep scored images (decoded, or a low-level task's output) as
    /// DIR/<dataset>/<codec>/q<quality>/<image>.png.
    #[arg(long, value_name = "DIR")]
    pub save_reconstructions: Option<PathBuf>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print where the time went: thread-seconds and calls per stage (load, encode, decode,
    /// each metric, each task, save, …) and how busy the threads were (always in `--json`).
    #[arg(long)]
    pub stages: bool,
    /// Where ONNX models run: cpu, cuda or cuda:N (overrides the config's `device`).
    #[arg(long)]
    pub device: Option<Device>,
    /// Run one shard of the images into `OUTPUT/shards/K-of-N/` (K from 0): `K/N`, or `env`
    /// (K and N from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT), or `env/N` (K from
    /// SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or HQ_TASK_ID). Merge with `icmbench merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<ShardSpec>,
}

/// `icmbench score`.
#[derive(Args)]
pub struct ScoreArgs {
    /// Metric name (see `icmbench list`).
    #[arg(long)]
    pub metric: String,
    /// Reference image (full-reference metrics only).
    #[arg(long = "ref", value_name = "REF")]
    pub reference: Option<PathBuf>,
    /// Distorted image.
    #[arg(long, value_name = "DIST")]
    pub dist: PathBuf,
    /// Print `{"metric": NAME, "value": x}`.
    #[arg(long)]
    pub json: bool,
    /// Where ONNX models run: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: Device,
}

/// `icmbench models …`.
#[derive(Subcommand)]
pub enum ModelsAction {
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

/// `icmbench encode`.
#[derive(Args)]
pub struct EncodeArgs {
    /// The learned codec: a folder of quality points (or one point).
    #[arg(long)]
    pub codec: PathBuf,
    /// The quality point (a `quality` number of its codec.json files).
    #[arg(long)]
    pub quality: f64,
    /// The image.
    pub image: PathBuf,
    /// The bitstream file to write.
    pub out: PathBuf,
    /// Padding fill: zero (CompressAI) or replicate.
    #[arg(long, default_value = "zero")]
    pub pad_mode: PadMode,
    /// Padding placement: center (CompressAI, SA-ICM) or bottom-right.
    #[arg(long, default_value = "center")]
    pub pad_align: PadAlign,
    /// Where ONNX models run: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `icmbench decode`.
#[derive(Args)]
pub struct DecodeArgs {
    /// The bitstream file.
    pub input: PathBuf,
    /// The learned codec that wrote it.
    #[arg(long)]
    pub codec: PathBuf,
    /// The PNG image to write.
    pub out: PathBuf,
    /// Where ONNX models run: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `icmbench report`.
#[derive(Args)]
pub struct ReportArgs {
    /// Output folders, .parquet tables, or CompressAI .json result files.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Anchor codec (default: the first codec of each dataset).
    #[arg(long)]
    pub anchor: Option<String>,
    /// BD and figure options.
    #[command(flatten)]
    pub curves: CurveArgs,
    /// Comma-separated formats: md, csv, tex, json, html, svg, png.
    #[arg(long, value_delimiter = ',', default_value = "md,csv,tex,json,html,svg,png")]
    pub format: Vec<Format>,
    /// Output folder (default: `report/` inside the first results folder, else `report/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder of saved images for the HTML report's viewer (`run --save-reconstructions
    /// DIR`; default: `reconstructions/` of the first output folder, which
    /// `save_reconstructions = true` fills).
    #[arg(long, value_name = "DIR")]
    pub reconstructions: Option<PathBuf>,
    /// Print the report as JSON on stdout instead of Markdown.
    #[arg(long)]
    pub json: bool,
}

/// Options shared by `report` for BD computations and figures.
#[derive(Args)]
pub struct CurveArgs {
    /// Interpolation: pchip (default), akima, cubic.
    #[arg(long, default_value = "pchip")]
    pub method: Method,
    /// bpp convention of tables and figures: mean (CompressAI) or total (CompressAI-Vision).
    #[arg(long, default_value = "mean")]
    pub bpp: BppConvention,
    /// What replaces the points of non-monotone curves: flag (default: reported as
    /// abnormal, no pchip/akima value), isotonic, or mpeg-cubic (MPEG's constrained cubic,
    /// as CompressAI-Vision). `--monotone-fit` alone means isotonic.
    #[arg(long, default_value = "flag", num_args = 0..=1, default_missing_value = "isotonic")]
    pub monotone_fit: MonotoneFit,
    /// Minimum overlap of two curves' ranges for a BD value, 0-1.
    #[arg(long, default_value_t = DEFAULT_MIN_OVERLAP, value_parser = parse_min_overlap)]
    pub min_overlap: f64,
    /// Bootstrap resamples of the images for BD intervals (0: none).
    #[arg(long, default_value_t = icmbench_reports::bootstrap::DEFAULT_RESAMPLES)]
    pub bootstrap: usize,
    /// Confidence level of the intervals, a fraction (0.95).
    #[arg(long, default_value_t = icmbench_reports::bootstrap::DEFAULT_CONFIDENCE, value_parser = parse_confidence)]
    pub confidence: f64,
    /// Seed of the bootstrap draws.
    #[arg(long, default_value_t = icmbench_reports::bootstrap::DEFAULT_SEED)]
    pub seed: u64,
    /// Only these metrics (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    /// Show MS-SSIM as -10 log10(1 - MS-SSIM) dB in figures.
    #[arg(long)]
    pub msssim_db: bool,
}

/// `icmbench plot`.
#[derive(Args)]
pub struct PlotArgs {
    /// Output folders, .parquet tables, or CompressAI .json result files.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Comma-separated formats: svg, png.
    #[arg(long, value_delimiter = ',', default_value = "svg,png")]
    pub format: Vec<Format>,
    /// bpp on the x axis: mean (of per-image bpp, CompressAI) or total (bits / pixels).
    #[arg(long, default_value = "mean")]
    pub bpp: BppConvention,
    /// Show MS-SSIM as -10 log10(1 - MS-SSIM) dB.
    #[arg(long)]
    pub msssim_db: bool,
    /// Only these metrics (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    /// Output folder (default: `figures/` inside the first results folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `icmbench bd`.
#[derive(Args)]
pub struct BdArgs {
    /// Anchor curve.
    #[arg(long)]
    pub anchor: PathBuf,
    /// Test curve.
    #[arg(long)]
    pub test: PathBuf,
    /// Metric to read from CompressAI JSON files.
    #[arg(long, default_value = icmbench_metrics::catalogue::DEFAULT_CURVE_METRIC)]
    pub metric: String,
    /// Interpolation: pchip (default, as the bjontegaard package), akima, cubic (VCEG-M33).
    #[arg(long, default_value = "pchip")]
    pub method: Method,
    /// The metric is lower-is-better (LPIPS, NIQE...). Known metric names set it by themselves.
    #[arg(long)]
    pub lower_is_better: bool,
    /// What replaces the points of non-monotone curves: flag (default: an error for
    /// pchip/akima), isotonic, or mpeg-cubic. `--monotone-fit` alone means isotonic.
    #[arg(long, default_value = "flag", num_args = 0..=1, default_missing_value = "isotonic")]
    pub monotone_fit: MonotoneFit,
    /// Minimum overlap of the two ranges, 0-1.
    #[arg(long, default_value_t = DEFAULT_MIN_OVERLAP, value_parser = parse_min_overlap)]
    pub min_overlap: f64,
    /// Print `{"bd_rate": percent, "bd_metric": metric units}`.
    #[arg(long)]
    pub json: bool,
}

/// `icmbench export-compressai`.
#[derive(Args)]
pub struct ExportArgs {
    /// Output folders or .parquet tables.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Output folder; files are `<out>/<dataset>/<codec>.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// bpp convention: mean (CompressAI) or total.
    #[arg(long, default_value = "mean")]
    pub bpp: BppConvention,
}

/// `icmbench detect`.
#[derive(Args)]
pub struct DetectArgs {
    /// Image folder.
    pub images: PathBuf,
    /// Results file to write: `[{image_id, category_id, bbox, score}, ...]`.
    #[arg(long)]
    pub out: PathBuf,
    /// Detector from the model manifest.
    #[arg(long, default_value = "nanodet")]
    pub model: String,
    /// Your own ONNX detector (with --spec) instead of a manifest model.
    #[arg(long, requires = "spec")]
    pub onnx: Option<PathBuf>,
    /// Its contract as TOML (input, size, resize, mean, std, family; see README, SA-ICM).
    #[arg(long, requires = "onnx")]
    pub spec: Option<PathBuf>,
    /// COCO ground truth whose image ids (matched by file name) the results use;
    /// without it images are numbered 1, 2, ... in sorted order.
    #[arg(long)]
    pub gt: Option<PathBuf>,
    /// Also write a pseudo ground truth (boxes with score >= --pseudo-threshold) here.
    #[arg(long, value_name = "FILE")]
    pub pseudo_gt: Option<PathBuf>,
    /// Score threshold of pseudo ground-truth boxes.
    #[arg(long, default_value_t = 0.3)]
    pub pseudo_threshold: f64,
    /// Where the detector runs: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// Print a JSON summary (images, detections, images per second).
    #[arg(long)]
    pub json: bool,
}

/// `icmbench eval-map`.
#[derive(Args)]
pub struct EvalMapArgs {
    /// Ground truth: COCO instances JSON.
    #[arg(long)]
    pub gt: PathBuf,
    /// Results: `[{image_id, category_id, bbox|segmentation, score}, ...]`.
    #[arg(long)]
    pub dt: PathBuf,
    /// bbox or segm.
    #[arg(long, default_value = "bbox", value_parser = parse_iou_type)]
    pub iou_type: IouType,
    /// Print `{"stats": [12 numbers]}`.
    #[arg(long)]
    pub json: bool,
}

/// `--min-overlap`: a finite number from 0 to 1 (NaN and negative values are refused
/// when the arguments are parsed).
fn parse_confidence(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
    icmbench_reports::bootstrap::check_confidence(v).map_err(|e| e.to_string())
}

fn parse_min_overlap(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
    icmbench_reports::bd::check_min_overlap(v).map_err(|e| e.to_string())
}

/// `--iou-type`: the IoU types icmbench evaluates (`bbox`, `segm`), not every one hotcoco knows.
fn parse_iou_type(s: &str) -> Result<IouType, String> {
    icmbench_metrics::coco::parse_iou_type(s).map_err(|e| e.to_string())
}
