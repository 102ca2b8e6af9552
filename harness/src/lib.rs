//! The icmbench harness: configuration, planning, running and the result store. The
//! `icmbench` binary (`main.rs`) only parses the command line and calls into here.
//!
//! | module | what lives there |
//! |---|---|
//! | [`config`] | the TOML run configuration, its validation, located errors |
//! | [`run`] | running a plan in parallel with progress, resuming, failure rows |
//! | [`store`] | the files of an output folder (Parquet, CSV, journal, run metadata) |
//! | [`print`] | human-readable and JSON output of summaries and scores |

pub mod config;
pub mod print;
pub mod run;
pub mod store;
