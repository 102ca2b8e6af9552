//! The icmbench harness: configuration, planning, running and the result store. The
//! `icmbench` binary (`main.rs`, with `cli.rs` and one file per subcommand under
//! `commands/`) only parses the command line and calls into here.
//!
//! | module | what lives there |
//! |---|---|
//! | [`config`] | the TOML run configuration, its validation, located errors |
//! | [`cluster`] | shards from `--shard` or a cluster engine's environment, provenance, sbatch scripts |
//! | [`merge`](mod@merge) | `merge`: the shards of an output folder into its result store |
//! | [`run`] | the run driver over plain row steps: plan (the matrix), row, meta, summary |
//! | [`tasks`] | machine task models as optional row stages: detection (SA-ICM), restoration (LL-ICM) |
//! | [`inputs`] | reading output folders, Parquet tables, CompressAI JSON and curve files |
//! | [`reporting`] | writing `report` and `plot` files (tables, figures, HTML) |
//! | [`viewer`] | the report's decoded-image viewer: saved images reduced by a size rule and embedded |
//! | [`coding`] | `encode` / `decode`: one image through a learned codec to a bitstream file and back |
//! | [`complexity`] | kMAC/px of the run's ONNX graphs (codecs, tasks, learned metrics) into `complexity.json` |
//! | [`scoring`] | `score`: one metric on one image pair |
//! | [`print`](mod@print) | human-readable and JSON output of run summaries, scores and mAP |
//! | [`listing`] | what `list` and `models` print |
//!
//! Vocabulary (also in the README's glossary): a **row** is one result, for one slot
//! (dataset, image, codec, quality); a **job** is the work that makes one row; a **task**
//! is a machine task model (a detector, a restorer); a **stage** is an optional step of a
//! row that runs a task on the decoded image; a **reference row** is a row without a codec
//! (the task on the uncompressed input, or the degraded input alone).

pub mod cluster;
pub mod coding;
pub mod complexity;
pub mod config;
pub mod inputs;
pub mod listing;
pub mod merge;
pub mod print;
pub mod reporting;
pub mod run;
pub mod scoring;
pub mod tasks;
pub mod viewer;
