//! `icmbench encode` and `icmbench decode`: one image through a learned codec to a
//! bitstream file and back.

use std::process::ExitCode;

use anyhow::Result;
use icmbench_codecs::padding::Padding;

use super::{print_json, runtime};
use crate::cli::{DecodeArgs, EncodeArgs};

/// `encode`.
pub fn encode(a: EncodeArgs) -> Result<ExitCode> {
    let padding = Padding {
        mode: a.pad_mode,
        align: a.pad_align,
    };
    let s = icmbench::coding::encode(&a.codec, a.quality, &a.image, &a.out, &padding, runtime(a.device)).map_err(super::text_error)?;
    if a.json {
        print_json(&s)?
    } else {
        println!("{}", s.line())
    }
    Ok(ExitCode::SUCCESS)
}

/// `decode`.
pub fn decode(a: DecodeArgs) -> Result<ExitCode> {
    let s = icmbench::coding::decode(&a.input, &a.codec, &a.out, runtime(a.device)).map_err(super::text_error)?;
    if a.json {
        print_json(&s)?
    } else {
        println!("{}", s.line())
    }
    Ok(ExitCode::SUCCESS)
}
