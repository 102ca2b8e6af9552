//! `icmbench detect IMAGES`: a detector over a folder, COCO results (and a pseudo ground
//! truth) written as JSON.

use std::process::ExitCode;

use anyhow::Result;
use icmbench::tasks::detection::{DetectRequest, detect_folder, load_detector};

use super::{exit_code, runtime, text_error};
use crate::cli::DetectArgs;

/// Runs the command.
pub fn run(a: DetectArgs) -> Result<ExitCode> {
    let detector = load_detector(&a.model, a.onnx.as_deref(), a.spec.as_deref(), &runtime(a.device)).map_err(text_error)?;
    let request = DetectRequest {
        images: &a.images,
        out: &a.out,
        gt: a.gt.as_deref(),
        pseudo_gt: a.pseudo_gt.as_deref(),
        pseudo_threshold: a.pseudo_threshold,
    };
    let done = detect_folder(&detector, &request)?;
    for p in &done.problems {
        eprintln!("{p}");
    }
    if a.json {
        println!("{}", serde_json::to_string(&done.summary)?);
    } else {
        println!("{}", done.summary.line(a.pseudo_gt.as_deref()));
    }
    Ok(exit_code(done.summary.failed == 0))
}
