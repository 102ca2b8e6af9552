//! Results and reports for icmbench: the result store (everything written to or read from
//! an output folder) and what is made from stored rows: aggregates, Bjøntegaard deltas,
//! tables, figures and the HTML report. A metric's direction, unit and axis label come from
//! the catalogue of icmbench-metrics; nothing here parses a metric's name.
//!
//! | module | what lives there |
//! |---|---|
//! | [`aggregate`] | Polars (lazy) aggregation per (dataset, codec, quality): counts, both bpp conventions, mean/median/std |
//! | [`bd`] | Bjøntegaard deltas (pchip, Akima, cubic) equal to the `bjontegaard` package; monotone fits (isotonic, MPEG cubic); relative curve difference |
//! | [`bootstrap`] | how far to trust a BD cell: intervals over images resampled with replacement, paired comparisons, per-image points |
//! | [`complexity`] | kMAC per pixel of ONNX graphs (from ONNX Runtime's profile) and codec times per megapixel, beside BD |
//! | [`compressai`] | CompressAI result JSON files: import as curves, export from results |
//! | [`lowlevel`] | the LL-ICM summary: rows = codecs, columns = task × metric, and the reference rows' values |
//! | [`report`] | BD tables and per-quality tables: Markdown, LaTeX (booktabs), CSV, JSON |
//! | [`plot`] | rate–quality charts and multi-panel figures with plotters (SVG, PNG; embedded DejaVu Sans) |
//! | [`html`] | the self-contained HTML report: tables, short notes, folded details |
//! | [`interactive`] | what the report's inline script draws (points, per-image rows, the viewer's images) and the script itself |
//! | [`paths`] | names that become file names: refused ([`paths::check_path_part`]) or sanitised ([`paths::path_part`]) |
//! | [`tasks`] | the SA-ICM task report: task models × rate points with BD-rate per task, classes that lose most, TIDE, AP by size, their CSV files and figures |
//! | [`store`] | the result store: the row ([`store::ResultRow`]: slot, cache key, [`store::Status`], task outputs), reference rows ([`store::Reference`]), its Parquet and CSV files (Polars), atomic writes, the JSON-lines journal, the output-folder layout and its lock ([`store::layout`]) |

pub mod aggregate;
pub mod bd;
pub mod bootstrap;
pub mod complexity;
pub mod compressai;
pub mod html;
pub mod interactive;
pub mod lowlevel;
pub mod paths;
pub mod plot;
pub mod report;
pub mod store;
pub mod tasks;

/// Errors from reading or writing results; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Polars could not read or write a table.
    #[error("{path}: {source}")]
    Polars {
        /// The file.
        path: String,
        /// The error.
        source: polars::error::PolarsError,
    },
    /// A text or JSON input could not be read (missing, too large, not text).
    #[error(transparent)]
    Text(#[from] icmbench_models::textfile::TextFileError),
    /// A table does not have the expected shape.
    #[error("{path}: {message}")]
    Schema {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}
