//! A learned codec is checked when it is opened: `codec.json`'s values are range-checked
//! and every ONNX graph is loaded and checked against the contract. Each case copies a
//! committed fixture (tests/fixtures/learned) to a temporary folder, breaks one thing, and
//! expects an error naming the file and the field, graph or tensor.

use std::path::{Path, PathBuf};

mod common;

use common::root;
use icmbench_codecs::learned::LearnedCodec;
use icmbench_models::RuntimeOptions;
use serde_json::{Value, json};

fn fixture(family: &str) -> PathBuf {
    root().join("tests/fixtures/learned").join(family)
}

/// A copy of a fixture's codec.json and graphs.
fn copy(family: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture(family)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name == "codec.json" || name.ends_with(".onnx") {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    dir
}

fn open(dir: &Path) -> Result<LearnedCodec, String> {
    LearnedCodec::open(dir, RuntimeOptions::default()).map_err(|e| e.to_string())
}

/// Opens a copy of `family` whose codec.json was changed by `edit`; returns the error and
/// the path of that codec.json.
fn edited_error(family: &str, edit: impl FnOnce(&mut Value)) -> (String, PathBuf) {
    let dir = copy(family);
    let path = dir.path().join("codec.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    match open(dir.path()) {
        Ok(_) => panic!("{family}: accepted"),
        Err(e) => {
            eprintln!("{family}: {e}");
            (e, path)
        }
    }
}

/// Opens a copy of `family` whose codec.json was changed by `edit`; returns the error,
/// which must name that codec.json.
fn error_with(family: &str, edit: impl FnOnce(&mut Value)) -> String {
    let (e, path) = edited_error(family, edit);
    assert!(
        e.contains(&path.display().to_string()),
        "the error does not name {}: {e}",
        path.display()
    );
    e
}

/// The committed fixtures and the demonstration codec (CompressAI exports) pass.
#[test]
fn the_fixtures_pass_every_check() {
    for family in ["factorized", "scale-hyperprior", "mean-scale-hyperprior"] {
        open(copy(family).path()).unwrap_or_else(|e| panic!("{family}: {e}"));
    }
    let demo = root().join("models/demo-codec");
    let codec = open(&demo).unwrap_or_else(|e| panic!("{}: {e}", demo.display()));
    assert_eq!(codec.qualities(), [1, 2, 3, 4]);
}

/// Out-of-range or inconsistent values in codec.json are refused with the field named
/// (`medians = 1e308` used to be accepted and decode garbage as OK rows).
#[test]
fn contract_values_are_range_checked() {
    type Edit = fn(&mut Value);
    let cases: &[(&str, Edit, &str)] = &[
        (
            "factorized",
            |v| v["entropy_bottleneck"]["medians"][0] = json!(1e308),
            "`entropy_bottleneck.medians[0]` = 1e308 is out of range",
        ),
        (
            "factorized",
            |v| v["entropy_bottleneck"]["medians"][3] = json!(5000.0),
            "`entropy_bottleneck.quantized_cdf[3]` against the density model around `medians[3]` = 5000",
        ),
        ("factorized", |v| v["precision"] = json!(32), "`precision` 32 is not supported"),
        ("factorized", |v| v["size_multiple"] = json!(2_147_483_648u64), "`size_multiple`"),
        (
            "scale-hyperprior",
            |v| v["size_multiple"] = json!(16),
            "`size_multiple` = 16 is out of range",
        ),
        (
            "factorized",
            |v| {
                let cdf = &mut v["entropy_bottleneck"]["quantized_cdf"][1];
                let (a, b) = (cdf[3].clone(), cdf[4].clone());
                cdf[3] = b;
                cdf[4] = a;
            },
            "`entropy_bottleneck.quantized_cdf[1]` is not strictly increasing at entry 3",
        ),
        (
            "factorized",
            |v| v["entropy_bottleneck"]["cdf_length"][2] = json!(99),
            "`entropy_bottleneck.cdf_length[2]` is 99",
        ),
        (
            "factorized",
            |v| v["entropy_bottleneck"]["offset"][0] = json!(5),
            "`entropy_bottleneck.offset[0]` = 5 is out of range",
        ),
        (
            "factorized",
            |v| v["entropy_bottleneck"]["offset"][0] = json!(-30),
            "`entropy_bottleneck.offset[0]` = -30 is out of range",
        ),
        (
            "factorized",
            |v| v["entropy_bottleneck"]["likelihood_bound"] = json!(2.0),
            "`entropy_bottleneck.likelihood_bound` = 2",
        ),
        (
            "factorized",
            |v| v["entropy_bottleneck"]["matrices"][0][0][0][0] = json!(1e300),
            "`entropy_bottleneck.matrices[0][0]` holds 1e300",
        ),
        (
            "factorized",
            |v| v["entropy_bottleneck"]["biases"][1][0] = json!([[0.0]]),
            "`entropy_bottleneck.biases[1][0]` must be 3×1",
        ),
        (
            "factorized",
            |v| v["entropy_bottleneck"]["factors"] = json!([]),
            "`entropy_bottleneck.factors` has 0 layers",
        ),
        (
            "factorized",
            |v| v["graphs"]["h_a"] = json!("g_a.onnx"),
            "`graphs.h_a` is not a graph of this `factorized` contract",
        ),
        (
            "scale-hyperprior",
            |v| v["gaussian_conditional"]["scale_table"][5] = json!(1e300),
            "`gaussian_conditional.scale_table[5]` = 1e300 is out of range",
        ),
        (
            "scale-hyperprior",
            |v| v["gaussian_conditional"]["scale_table"][63] = json!(1000.0),
            "`gaussian_conditional.quantized_cdf[63]` against N(0, `scale_table[63]` = 1000)",
        ),
        (
            "scale-hyperprior",
            |v| v["gaussian_conditional"]["scale_bound"] = json!(0.0),
            "`gaussian_conditional.scale_bound` = 0 is out of range",
        ),
        (
            "mean-scale-hyperprior",
            |v| v["gaussian_conditional"]["offset"][7] = json!(1),
            "`gaussian_conditional.offset[7]` = 1 is out of range",
        ),
        (
            "mean-scale-hyperprior",
            |v| {
                v["gaussian_conditional"]["cdf_length"].as_array_mut().unwrap().pop();
            },
            "`gaussian_conditional.cdf_length` has 63 entries for 64 scales",
        ),
    ];
    for (family, edit, want) in cases {
        let e = error_with(family, *edit);
        assert!(e.contains(want), "{family}: expected `{want}` in: {e}");
    }
}

/// A garbage graph is refused when the codec is opened (not at the first decode, labelled
/// `encode:`), and the error names the file.
#[test]
fn garbage_graph_is_refused_when_opened() {
    for family in ["factorized", "mean-scale-hyperprior"] {
        for graph in ["g_s", "g_a", "h_s"] {
            let dir = copy(family);
            let path = dir.path().join(format!("{graph}.onnx"));
            if !path.exists() {
                continue;
            }
            std::fs::write(&path, b"this is not an ONNX model").unwrap();
            let e = open(dir.path())
                .err()
                .unwrap_or_else(|| panic!("{family}: garbage {graph} accepted"));
            assert!(
                e.contains(&format!("{} (graph `{graph}`) cannot be loaded", path.display())),
                "{family} {graph}: {e}"
            );
        }
    }
}

/// Renames a tensor in a graph file consistently (same length, so the protobuf stays valid).
fn rename_tensor(path: &Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let bytes = std::fs::read(path).unwrap();
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let mut n = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
            n += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    assert!(n > 0, "{} has no `{}`", path.display(), String::from_utf8_lossy(from));
    std::fs::write(path, out).unwrap();
}

/// Graphs with other tensor names than the contract's are refused, naming the graph file
/// and the tensors.
#[test]
fn wrong_tensor_names_are_refused_naming_graph_and_tensor() {
    let dir = copy("factorized");
    let g_s = dir.path().join("g_s.onnx");
    rename_tensor(&g_s, "y_hat", "q_hat");
    let e = open(dir.path()).err().expect("a g_s without `y_hat` was accepted");
    assert!(
        e.contains(&format!("{} (graph `g_s`)", g_s.display())) && e.contains("input `y_hat`") && e.contains("`q_hat`"),
        "{e}"
    );

    let dir = copy("mean-scale-hyperprior");
    let h_s = dir.path().join("h_s.onnx");
    rename_tensor(&h_s, "means", "meanz");
    let e = open(dir.path()).err().expect("an h_s without `means` was accepted");
    assert!(
        e.contains(&format!("{} (graph `h_s`)", h_s.display())) && e.contains("output `means`") && e.contains("`meanz`"),
        "{e}"
    );
}

/// Channel counts the graphs state must agree with codec.json's: a contract for 11 channels
/// beside graphs of 12 is refused, naming g_a.onnx and its output.
#[test]
fn channel_counts_are_checked_against_the_contract() {
    let dir = copy("factorized");
    let path = dir.path().join("codec.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let eb = &mut v["entropy_bottleneck"];
    eb["channels"] = json!(11);
    for field in ["quantized_cdf", "cdf_length", "offset", "medians"] {
        eb[field].as_array_mut().unwrap().pop();
    }
    for field in ["matrices", "biases", "factors"] {
        for layer in eb[field].as_array_mut().unwrap() {
            layer.as_array_mut().unwrap().pop();
        }
    }
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let e = open(dir.path()).err().expect("11 channels beside 12-channel graphs were accepted");
    let g_a = dir.path().join("g_a.onnx");
    assert!(
        e.contains(&format!("{} (graph `g_a`): output `y` has 12 channels", g_a.display())) && e.contains("gives 11"),
        "{e}"
    );
}

/// codec.json is read up to a cap: a link to an endless file is an error naming it, not a
/// read until memory runs out.
#[cfg(unix)]
#[test]
fn codec_json_is_read_up_to_a_cap() {
    let dir = copy("factorized");
    let path = dir.path().join("codec.json");
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    // LearnedCodec::open only takes regular files; the contract reader caps any file.
    assert!(open(dir.path()).err().is_some_and(|e| e.contains("no codec.json")));
    let e = icmbench_codecs::learned::contract::Contract::read(dir.path())
        .expect_err("an endless codec.json was accepted")
        .to_string();
    assert!(e.contains(&path.display().to_string()) && e.contains("larger than 64 MiB"), "{e}");
}

/// Version-2 contracts (context families) are checked too: the fields a family needs, the
/// channel groups, supports that name earlier groups, graph files inside the folder, and
/// each context graph's ports; errors name codec.json and the field or the graph.
#[test]
fn context_contracts_are_checked() {
    // The context fixtures live beside the version-1 ones.
    const AR: &str = "../learned-ctx/mbt2018";
    const CB: &str = "../learned-ctx/elic2022-official";
    const CC: &str = "../learned-ctx/channel-conditional";
    for name in [AR, CB, CC] {
        open(copy(name).path()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    type Edit = fn(&mut Value);
    let cases: &[(&str, Edit, &str)] = &[
        (
            AR,
            |v| v["context"] = json!({}),
            "`context.kernel_size` is required for family `autoregressive`",
        ),
        (
            AR,
            |v| v["context"]["kernel_size"] = json!(4),
            "`context.kernel_size` = 4 must be odd",
        ),
        (AR, |v| v["version"] = json!(1), "family `autoregressive` needs `version` 2"),
        (
            AR,
            |v| v["version"] = json!(3),
            "`version` 3 is not supported (this icmbench reads 1 to 2)",
        ),
        (
            AR,
            |v| v["graphs"]["context"] = json!("../../g_a.onnx"),
            "must be a file name inside the codec folder",
        ),
        (
            AR,
            |v| {
                v["graphs"].as_object_mut().unwrap().remove("context");
            },
            "`graphs.context` is missing",
        ),
        (
            AR,
            |v| v["hyper_outputs"] = json!(["support"]),
            "`hyper_outputs[0]` = \"support\" must be a distinct name",
        ),
        (
            CB,
            |v| v["context"]["groups"][1]["channels"] = json!(3),
            "hold 10 channels in all, but `latent_channels` is 8",
        ),
        (
            CB,
            |v| v["context"]["groups"][2]["support"] = json!([0, 2]),
            "`context.groups[2].support` names group 2",
        ),
        (
            CB,
            |v| v["context"]["groups"][0]["lrp"] = json!(true),
            "`context.groups[0].lrp` is for family `channel-conditional` only",
        ),
        (
            CB,
            |v| v["context"]["anchor_parity"] = json!("diagonal"),
            "unknown variant `diagonal`",
        ),
        (
            CC,
            |v| v["latent_channels"] = json!(null),
            "`latent_channels` is required for family `channel-conditional`",
        ),
        (CC, |v| v["family"] = json!("spatial-channel"), "unknown variant `spatial-channel`"),
    ];
    for (name, edit, want) in cases {
        let e = error_with(name, *edit);
        assert!(e.contains(want), "{name}: expected `{want}` in: {e}");
    }
    // Graphs whose ports are not their role's: errors name the graph file.
    let graph_cases: &[(Edit, &str)] = &[
        // The anchor graph given g_a's file.
        (
            |v| v["graphs"]["group0_anchor"] = json!("g_a.onnx"),
            "g_a.onnx (graph `group0_anchor`): the contract gives it the input `params`, the graph's inputs are `x`",
        ),
        // A support of the wrong width: group 2's graphs take groups 0 and 1 (2 channels).
        (
            |v| v["context"]["groups"][2]["support"] = json!([1]),
            "(graph `group2_anchor`): input `support` has 2 channels, but its channel group in codec.json's `context.groups` gives 1",
        ),
    ];
    for (edit, want) in graph_cases {
        let (e, _) = edited_error(CB, *edit);
        assert!(e.contains(want), "expected `{want}` in: {e}");
    }
}
