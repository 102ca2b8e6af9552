//! Results and reports for icmbench.
//!
//! | module | what lives there |
//! |---|---|
//! | [`bd`] | Bjøntegaard deltas (pchip, Akima, cubic) equal to the `bjontegaard` package |
//! | [`compressai`] | CompressAI result JSON files: import as curves, export from results |
//! | [`results`] | the tidy result row, its Parquet and CSV files (Polars), atomic writes, the JSON-lines journal |
//! | [`summary`] | per (dataset, codec, quality) means for the end-of-run table |

pub mod bd;
pub mod compressai;
pub mod results;
pub mod summary;

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
    /// A table does not have the expected shape.
    #[error("{path}: {message}")]
    Schema {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}
