//! `icmbench check`: validates a config without running any external tool, names programs
//! missing from PATH, and loads and checks every graph of a learned codec.

mod common;
use common::{icmbench, root};

use std::path::{Path, PathBuf};

/// A config in `dir` with one dataset folder and the given codec tables.
fn config(dir: &Path, codecs: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let path = dir.join("run.toml");
    let text = format!("output = \"out\"\nmetrics = [\"psnr\"]\n\n[[datasets]]\nname = \"d\"\npath = \"data\"\n\n{codecs}");
    std::fs::write(&path, text).unwrap();
    path
}

/// A version command that would leave a marker file is not run by `check` (it used to be).
#[test]
fn check_runs_no_external_tool() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("version-command-ran");
    let cfg = config(
        dir.path(),
        &format!(
            "[[codecs]]\nkind = \"external\"\nid = \"copy\"\nencode = [\"cp\", \"{{input}}\", \"{{output}}\"]\ndecode = [\"cp\", \"{{input}}\", \"{{output}}\"]\nversion_command = [\"touch\", \"{}\"]\nqualities = [1]\n",
            marker.display()
        ),
    );
    let out = icmbench(&["check", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
    assert!(!marker.exists(), "`check` ran the version command");
}

/// Programs that cannot be run are named, with the codec, without running anything.
#[test]
fn check_names_missing_programs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "[[codecs]]\nkind = \"external\"\nid = \"mine\"\nencode = [\"icmbench-no-such-encoder\", \"{input}\", \"{output}\"]\ndecode = [\"cp\", \"{input}\", \"{output}\"]\nqualities = [1]\n",
    );
    let out = icmbench(&["check", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("codec `mine`: the encode program `icmbench-no-such-encoder` is not found on PATH"),
        "{err}"
    );
}

/// A learned codec whose g_s.onnx is garbage fails `check`, naming the file (it used to
/// pass, and fail every row later labelled `encode:`).
#[test]
fn check_loads_every_graph_of_a_learned_codec() {
    let dir = tempfile::tempdir().unwrap();
    let codec = dir.path().join("codec");
    std::fs::create_dir_all(&codec).unwrap();
    let fixture = root().join("tests/fixtures/learned/factorized");
    for name in ["codec.json", "g_a.onnx", "g_s.onnx"] {
        std::fs::copy(fixture.join(name), codec.join(name)).unwrap();
    }
    let cfg = config(dir.path(), "[[codecs]]\nkind = \"learned\"\npath = \"codec\"\nqualities = [1]\n");
    let out = icmbench(&["check", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    std::fs::write(codec.join("g_s.onnx"), b"garbage, not a graph").unwrap();
    let out = icmbench(&["check", cfg.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("g_s.onnx (graph `g_s`) cannot be loaded"), "{err}");
    assert!(!err.contains("encode:"), "{err}");
}
