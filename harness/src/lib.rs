//! The icmbench harness: configuration, planning, running and the result store. The
//! `icmbench` binary (`main.rs`) only parses the command line and calls into here.
//!
//! | module | what lives there |
//! |---|---|
//! | [`config`] | the TOML run configuration, its validation, located errors |
//! | [`coding`] | `encode` / `decode`: one image through a learned codec to a bitstream file and back |
//! | [`run`] | running a plan in parallel with progress, resuming, failure rows |
//! | [`store`] | the files of an output folder (Parquet, CSV, journal, run metadata) |
//! | [`print`] | human-readable and JSON output of summaries and scores |
//! | [`inputs`] | reading output folders, Parquet tables and CompressAI JSON as aggregated points |
//! | [`reporting`] | writing `report` and `plot` files (tables, figures, HTML) |
//! | [`restoration`] | low-level tasks (LL-ICM): restorers, enhanced images, reference rows |
//! | [`task`] | machine tasks in a run: detections per row, ground truths, mAP per point |

pub mod coding;
pub mod config;
pub mod inputs;
pub mod print;
pub mod reporting;
pub mod restoration;
pub mod run;
pub mod store;
pub mod task;
