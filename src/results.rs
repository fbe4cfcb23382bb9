//! Writes results/: one JSON document and one Markdown page per scenario,
//! plus the matrix. Each file is written to a temporary sibling and renamed
//! into place, so an interrupt never leaves a half-written page.

use crate::check::Outcome;
use crate::report::document::Document;
use crate::report::markdown;
use crate::scenario::Scenario;
use std::io::Write;
use std::path::Path;

pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

pub fn write_scenario(
    dir: &Path,
    scenario: &Scenario,
    outcome: &Outcome,
    doc: &Document,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(&doc.committed()).expect("plain data") + "\n";
    write_atomically(&dir.join(format!("{}.json", doc.scenario)), &json)?;
    write_atomically(
        &dir.join(format!("{}.md", doc.scenario)),
        &markdown::page(scenario, outcome, doc),
    )
}

pub fn write_matrix(dir: &Path, docs: &[Document]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomically(&dir.join("README.md"), &markdown::matrix(docs))
}

/// Reads a results JSON document.
pub fn read(dir: &Path, name: &str) -> Option<Document> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}
