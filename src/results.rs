//! Writes results/: one JSON document and one Markdown page per scenario,
//! plus the matrix. The set is written once every scenario has been checked,
//! each file to a new sibling renamed into place, so an interrupt while
//! checking leaves the old set intact and never a half-written page, and
//! an interrupt while renaming is reported by the next run.

use crate::check::Outcome;
use crate::report::document::Document;
use crate::report::markdown;
use crate::scenario::Scenario;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A new sibling of `path`, created like any file (so the umask decides
/// its mode), holding `contents`.
fn stage(path: &Path, contents: &str) -> std::io::Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(
        ".{name}.{}.{}{TMP}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()
    })();
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

const TMP: &str = ".onceproof.tmp";

/// Present while a set's pages are being renamed into place: a run
/// interrupted then leaves it behind, naming the pages it was replacing.
const MARKER: &str = ".onceproof-writing";

/// Writes `contents` to a new sibling and renames it over `path`.
pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let tmp = stage(path, contents)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
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
            page(dir, scenario, outcome, doc),
        ),
    ]
}

/// A scenario's page as results/ holds it: with the section on its replay
/// on real servers when `dir` records one.
pub fn page(dir: &Path, scenario: &Scenario, outcome: &Outcome, doc: &Document) -> String {
    let mut page = markdown::page(scenario, outcome, doc);
    if let Some(r) = crate::report::replayed::read(dir, &doc.scenario) {
        page += &crate::report::replayed::section(&r);
    }
    page
}

/// The matrix page.
pub fn matrix_page(dir: &Path, docs: &[Document]) -> (PathBuf, String) {
    (dir.join("README.md"), markdown::matrix(docs))
}

/// Writes a set of pages once every scenario has been checked, so a run
/// interrupted while checking leaves the old set as it was. Every page is
/// written to a sibling first; only then are they renamed into place, a
/// few milliseconds during which [`MARKER`] names the set, so that a run
/// interrupted even then is told by the next one ([`interrupted_write`]).
pub fn write_set(dir: &Path, pages: &[(PathBuf, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut staged = Vec::with_capacity(pages.len());
    for (path, contents) in pages {
        match stage(path, contents) {
            Ok(tmp) => staged.push((tmp, path)),
            Err(e) => {
                for (tmp, _) in &staged {
                    let _ = std::fs::remove_file(tmp);
                }
                return Err(e);
            }
        }
    }
    // Pages an earlier interrupted run left in doubt stay named until
    // a run rewrites them.
    let marker = dir.join(MARKER);
    let earlier = std::fs::read_to_string(&marker).unwrap_or_default();
    let names: BTreeSet<String> = pages
        .iter()
        .filter_map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let still_in_doubt: Vec<&str> = earlier
        .lines()
        .filter(|n| !n.is_empty() && !names.contains(*n))
        .collect();
    let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
    all.extend(&still_in_doubt);
    write_atomically(&marker, &lines(&all))?;
    for (tmp, path) in &staged {
        std::fs::rename(tmp, path)?;
    }
    if still_in_doubt.is_empty() {
        std::fs::remove_file(marker)
    } else {
        write_atomically(&marker, &lines(&still_in_doubt))
    }
}

fn lines(names: &[&str]) -> String {
    names.iter().map(|n| format!("{n}\n")).collect()
}

/// If a set written into `dir` was interrupted while its pages were renamed
/// into place, says so and which pages may be from either run; also clears
/// the sibling files such a run left.
pub fn interrupted_write(dir: &Path) -> Option<String> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(TMP) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let listed = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    let pages: Vec<&str> = listed.lines().collect();
    Some(format!(
        "an earlier --write into {} was interrupted while replacing its pages; \
         these {} pages may mix that run and the one before it until a run rewrites them: {}",
        dir.display(),
        pages.len(),
        pages.join(", ")
    ))
}

/// Reads a results JSON document.
pub fn read(dir: &Path, name: &str) -> Option<Document> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}
