//! Records what a proof id must name beyond the scenario: the stateright
//! version actually linked (from Cargo.lock) and a fingerprint of the
//! model code, the sources that decide which states exist and what each
//! verdict is (not the reports that word them).

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The sources that decide states and verdicts.
const MODEL_CODE: [&str; 6] = [
    "src/model",
    "src/pipeline.rs",
    "src/check.rs",
    "src/search.rs",
    "src/explorable.rs",
    "src/reduced.rs",
];

fn sources(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            sources(&e, out);
        }
    } else if path.extension().is_some_and(|x| x == "rs") {
        out.push(path.to_path_buf());
    }
}

fn model_fingerprint() -> String {
    let mut files = Vec::new();
    for root in MODEL_CODE {
        println!("cargo:rerun-if-changed={root}");
        sources(Path::new(root), &mut files);
    }
    let mut h = Sha256::new();
    for f in &files {
        // Names too, so moving code between files is a change.
        h.update(f.to_string_lossy().as_bytes());
        h.update([0u8]);
        h.update(std::fs::read(f).unwrap_or_default());
        h.update([0u8]);
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn main() {
    println!("cargo:rustc-env=MODEL_FINGERPRINT={}", model_fingerprint());
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"stateright\""))
        .and_then(|p| p.lines().find(|l| l.starts_with("version = ")))
        .map(|l| {
            l.trim_start_matches("version = ")
                .trim_matches('"')
                .to_string()
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=STATERIGHT_VERSION={version}");
}
