//! Writes results/: one JSON document and one Markdown page per scenario,
//! plus the matrix. The set is written once every scenario has been checked,
//! and each file to a new sibling renamed into place, so an interrupt while
//! checking leaves the old set intact and never a half-written page.

use crate::check::Outcome;
use crate::report::document::Document;
use crate::report::markdown;
use crate::scenario::Scenario;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Writes `contents` to a new sibling (created like any file, so the
/// umask decides its mode) and renames it over `path`.
pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Fails early, before any checking, if `dir` cannot take results.
pub fn check_writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".onceproof-probe.{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(probe)
}

/// A scenario's two pages, to be written with the rest of the set.
pub fn scenario_pages(
    dir: &Path,
    scenario: &Scenario,
    outcome: &Outcome,
    doc: &Document,
) -> Vec<(PathBuf, String)> {
    let json = serde_json::to_string_pretty(&doc.committed()).expect("plain data") + "\n";
    vec![
        (dir.join(format!("{}.json", doc.scenario)), json),
        (
            dir.join(format!("{}.md", doc.scenario)),
            markdown::page(scenario, outcome, doc),
        ),
    ]
}

/// The matrix page.
pub fn matrix_page(dir: &Path, docs: &[Document]) -> (PathBuf, String) {
    (dir.join("README.md"), markdown::matrix(docs))
}

/// Writes a set of pages once every scenario has been checked, so a run
/// interrupted while checking leaves the old set as it was.
pub fn write_set(pages: &[(PathBuf, String)]) -> std::io::Result<()> {
    for (path, contents) in pages {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_atomically(path, contents)?;
    }
    Ok(())
}

/// Reads a results JSON document.
pub fn read(dir: &Path, name: &str) -> Option<Document> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}
