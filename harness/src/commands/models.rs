//! `icmbench models list|verify`: the model manifest and the state of the built files.

use std::process::ExitCode;

use anyhow::Result;
use icmbench::listing::{models_json, models_text, verify_json, verify_text};

use super::{exit_code, print_json};
use crate::cli::ModelsAction;

/// Runs the command.
pub fn run(action: ModelsAction) -> Result<ExitCode> {
    let manifest = icmbench_models::Manifest::shipped()?;
    let dir = icmbench_models::models_dir();
    match action {
        ModelsAction::List { json } => {
            if json {
                print_json(&models_json(&manifest, &dir))?;
            } else {
                print!("{}", models_text(&manifest, &dir));
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsAction::Verify { json } => {
            let states = manifest.verify(&dir);
            if json {
                print_json(&verify_json(&states, &dir))?;
            } else {
                print!("{}", verify_text(&states));
            }
            Ok(exit_code(states.iter().all(|(_, s)| s.is_ok())))
        }
    }
}
