//! Guards the layout (crude greps over the source text, as hotcoco's `tests/architecture.rs`
//! does): crates depend on lower crates only; `main.rs` stays a thin dispatcher without
//! loops; no function in the harness is longer than [`MAX_FN_LINES`]; metric names are
//! spelled only in the metric catalogue; the run driver has no `match` on a feature.

use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `.rs` files under a folder, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A file's text without its unit tests (everything from `#[cfg(test)] mod tests` on) and
/// without comment lines.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The workspace crates from the bottom up, each with the crates it may use.
const LAYERS: &[(&str, &str, &[&str])] = &[
    ("models", "icmbench_models", &[]),
    ("datasets", "icmbench_datasets", &["icmbench_models"]),
    ("codecs", "icmbench_codecs", &["icmbench_models", "icmbench_datasets"]),
    ("metrics", "icmbench_metrics", &["icmbench_models", "icmbench_datasets"]),
    (
        "reports",
        "icmbench_reports",
        &["icmbench_models", "icmbench_datasets", "icmbench_metrics"],
    ),
];

/// Every crate of the workspace by its Rust name.
const CRATES: &[&str] = &[
    "icmbench_models",
    "icmbench_datasets",
    "icmbench_codecs",
    "icmbench_metrics",
    "icmbench_reports",
    "icmbench::",
];

#[test]
fn lower_crates_never_use_higher_ones() {
    let mut found = Vec::new();
    for (folder, own, allowed) in LAYERS {
        for file in rust_files(&root().join(folder).join("src")) {
            let text = code(&file);
            for other in CRATES.iter().filter(|c| *c != own && !allowed.contains(c)) {
                if text.contains(other) {
                    found.push(format!("{} uses {other}", file.display()));
                }
            }
        }
        for package in dependencies(&root().join(folder).join("Cargo.toml")) {
            let other = package.replace('-', "_");
            let allowed_package = other == *own || allowed.contains(&other.as_str());
            if package.starts_with("icmbench") && !allowed_package {
                found.push(format!("{folder}/Cargo.toml depends on {package}"));
            }
        }
    }
    assert!(found.is_empty(), "a lower crate uses a higher one:\n{}", found.join("\n"));
}

/// The packages a crate depends on outside its tests: every `dependencies` and
/// `build-dependencies` table (target-specific ones too), by key and by `package = ...`.
fn dependencies(manifest: &Path) -> Vec<String> {
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    let mut tables: Vec<&toml::Table> = Vec::new();
    for (key, value) in &doc {
        match (key.as_str(), value.as_table()) {
            ("dependencies" | "build-dependencies", Some(t)) => tables.push(t),
            ("target", Some(targets)) => {
                for t in targets.values().filter_map(toml::Value::as_table) {
                    for name in ["dependencies", "build-dependencies"] {
                        tables.extend(t.get(name).and_then(toml::Value::as_table));
                    }
                }
            }
            _ => {}
        }
    }
    tables
        .iter()
        .flat_map(|t| t.iter())
        .map(|(key, spec)| spec.get("package").and_then(toml::Value::as_str).unwrap_or(key).to_string())
        .collect()
}

#[test]
fn the_dependency_reader_sees_renames_and_targets() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("Cargo.toml");
    std::fs::write(
        &manifest,
        "[dependencies]\nreports = { package = \"icmbench-reports\", path = \"../reports\" }\n\
         [target.'cfg(unix)'.dependencies]\nicmbench-codecs = { path = \"../codecs\" }\n[dev-dependencies]\nicmbench = { path = \"..\" }\n",
    )
    .unwrap();
    assert_eq!(dependencies(&manifest), ["icmbench-reports", "icmbench-codecs"]);
}

/// The most lines a function of the harness may have (signature to closing brace).
const MAX_FN_LINES: usize = 80;

/// (file, first line, name, length) of every function in `text`, found by its `fn` line
/// and the closing brace at the same indentation (as rustfmt writes them).
fn functions(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        // Qualifiers before `fn`: any visibility, `const`, `async`, `unsafe`, `extern`.
        let is_fn = t.split_once("fn ").is_some_and(|(before, _)| {
            before
                .split_whitespace()
                .all(|w| w.starts_with("pub") || w.ends_with(')') || ["const", "async", "unsafe", "extern", "\"C\""].contains(&w))
        });
        if !is_fn || t.ends_with(';') {
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(end) = lines[i..].iter().position(|l| *l == close) {
            let (qualifiers, rest) = t.split_once("fn ").unwrap_or_default();
            let name = format!("{qualifiers}fn {}", rest.split(['(', '<']).next().unwrap_or(rest));
            out.push((i + 1, name, end + 1));
        }
    }
    out
}

#[test]
fn harness_functions_fit_on_a_screen() {
    let mut long = Vec::new();
    for file in rust_files(&root().join("harness/src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, name, len) in functions(&text) {
            if len > MAX_FN_LINES {
                long.push(format!("{}:{line}: {name} has {len} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "functions longer than {MAX_FN_LINES} lines:\n{}", long.join("\n"));
}

#[test]
fn the_function_finder_finds_functions() {
    let text = "fn a() {\n    x;\n}\n\nimpl T {\n    pub fn b(\n        y: u8,\n    ) {\n        z;\n    }\n    pub(in crate::x) async fn c() {\n    }\n    let f = 1;\n}\n";
    let found = functions(text);
    assert_eq!(
        found,
        [
            (1, "fn a".to_string(), 3),
            (6, "pub fn b".to_string(), 5),
            (11, "pub(in crate::x) async fn c".to_string(), 2)
        ]
    );
}

#[test]
fn main_only_parses_and_dispatches() {
    let main = std::fs::read_to_string(root().join("harness/src/main.rs")).unwrap();
    assert!(main.lines().count() < 200, "main.rs has {} lines", main.lines().count());
    let text = code(&root().join("harness/src/main.rs"));
    for word in ["for ", "while ", "loop {", ".iter()", "load_image", "scan_folder", "json!"] {
        assert!(
            !text.contains(word),
            "main.rs holds `{word}`: loops, parsers and JSON builders belong in the library"
        );
    }
    // Commands turn arguments into library calls: no command reads a folder of images or
    // builds JSON by hand.
    for file in rust_files(&root().join("harness/src/commands")) {
        let text = code(&file);
        for word in ["load_image", "scan_folder", "for (i, e) in", ".lines()", "json!"] {
            assert!(!text.contains(word), "{} holds `{word}`", file.display());
        }
    }
}

#[test]
fn the_run_driver_has_no_feature_match() {
    let driver = code(&root().join("harness/src/run/mod.rs"));
    for word in ["JobKind::", "GroundTruth::", "Reference::", "REF_", "is_lowlevel"] {
        assert!(
            !driver.contains(word),
            "run/mod.rs holds `{word}`: features live in their stages and row steps"
        );
    }
}

#[test]
fn metric_names_are_spelled_only_in_the_catalogue() {
    let catalogue = root().join("metrics/src/catalogue.rs");
    let names: Vec<&str> = icmbench_metrics::catalogue::CATALOGUE
        .iter()
        .flat_map(|m| std::iter::once(m.name).chain(m.aliases.iter().copied()))
        .collect();
    let mut found = Vec::new();
    // Benches, like tests, choose the metrics they measure by name.
    let folders = [
        "models/src",
        "datasets/src",
        "codecs/src",
        "metrics/src",
        "reports/src",
        "harness/src",
    ];
    for folder in folders {
        for file in rust_files(&root().join(folder)) {
            if file.ends_with("catalogue.rs") && file.starts_with(root().join("metrics")) {
                continue;
            }
            // Names are matched as the catalogue matches them: in any case.
            let text = code(&file).to_ascii_lowercase();
            for name in &names {
                // LPIPS's ONNX graph names its output tensor `lpips`: a tensor, not a metric.
                let tensor = file.ends_with("metrics/src/lpips.rs") && *name == "lpips";
                if !tensor && text.contains(&format!("\"{name}\"")) {
                    found.push(format!("{}: \"{name}\"", file.display()));
                }
            }
        }
    }
    assert!(catalogue.is_file());
    assert!(
        found.is_empty(),
        "metric names spelled outside metrics/src/catalogue.rs (read them from the catalogue):\n{}",
        found.join("\n")
    );
}
