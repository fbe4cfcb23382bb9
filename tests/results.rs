//! results/ is committed; this fails when it no longer matches what the
//! models produce (verdicts, state counts, traces; not times). Regenerate
//! with `cargo run --release -- check --all --write results/`.
//!
//! It also guards the cost of the main job without timing anything: the
//! unique states of every shipped scenario must sum to at most
//! [`MATRIX_BUDGET`] (about 45 s of `check --all` on 2 cores at the measured
//! 130-140 k unique states/s).

use onceproof::check::{self, Limits};
use onceproof::report::{document, markdown};
use onceproof::scenario;
use std::path::Path;

/// The most unique states `check --all` may explore, summed over models/
/// (7.86 M before the RabbitMQ prefetch scenarios: `check --all` 43 s on 2
/// cores; 8.06 M with them, under the 60 s the issues allow; 8.23 M with
/// the producer-crash scenarios: 57 s on a machine where the same run
/// without them took 56 s).
const MATRIX_BUDGET: usize = 8_300_000;

#[test]
fn committed_results_match_the_models() {
    let dir = Path::new("results");
    let mut docs = Vec::new();
    let mut stale = Vec::new();
    for path in scenario::all(Path::new("models")).unwrap() {
        let s = scenario::load(&path).unwrap();
        let outcome = check::check_scenario(&s, Limits::default(), &mut |_| {});
        let doc = document::document(&s, &outcome);
        assert!(
            doc.as_expected,
            "{}: verdicts differ from the scenario's expectation",
            s.name
        );
        // A committed page changes only when a result does: no wall time.
        let text =
            std::fs::read_to_string(dir.join(format!("{}.json", s.name))).unwrap_or_default();
        assert!(
            !text.contains("\"elapsed_ms\""),
            "{}.json holds a wall time",
            s.name
        );
        let committed = onceproof::results::read(dir, &s.name);
        if committed.map(|c| c.reproducible()) != Some(doc.reproducible()) {
            stale.push(format!("{}.json", s.name));
        }
        let page = std::fs::read_to_string(dir.join(format!("{}.md", s.name))).unwrap_or_default();
        if page != onceproof::results::page(dir, &s, &outcome, &doc) {
            stale.push(format!("{}.md", s.name));
        }
        docs.push(doc);
    }
    let total: usize = docs.iter().map(|d| d.states.unique).sum();
    let table: Vec<String> = docs
        .iter()
        .map(|d| format!("{:>10}  {}", d.states.unique, d.scenario))
        .collect();
    assert!(
        total <= MATRIX_BUDGET,
        "the shipped scenarios explore {total} unique states, over the budget of {MATRIX_BUDGET}:\n{}",
        table.join("\n")
    );
    let matrix = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    if matrix != markdown::matrix(&docs) {
        stale.push("README.md".into());
    }
    assert!(
        stale.is_empty(),
        "results/ is stale ({}); run: cargo run --release -- check --all --write results/",
        stale.join(", ")
    );
}

/// The committed pages (kept fresh by the test above) read as a reviewer
/// pastes them: the guarantee statement and what the verdicts cover on
/// every page, the line that does not hold for each counterexample, "Leg"
/// and "gap" defined before their first use, numbers with thousands
/// separators, one numbering from 1, and no localhost link.
#[test]
fn every_page_reads_as_a_reviewer_pastes_it() {
    for path in scenario::all(Path::new("models")).unwrap() {
        let s = scenario::load(&path).unwrap();
        let page =
            std::fs::read_to_string(Path::new("results").join(format!("{}.md", s.name))).unwrap();
        let name = &s.name;
        for heading in [
            "## Guarantee statement",
            "## What the verdicts cover",
            "- **Bounds:**",
            "## Pipeline\n\n| part | value |",
        ] {
            assert!(page.contains(heading), "{name}: no {heading:?}");
        }
        assert_eq!(page.matches("\n> The ").count(), 3, "{name}: three lines");
        let refuted = page.matches("\n## Counterexample: ").count();
        assert_eq!(page.matches("**Does not hold**").count(), refuted, "{name}");
        // The summary under the title is the scenario author's sentence;
        // the page's own words start after it.
        let own = page.find(&format!("{}\n", s.summary)).unwrap() + s.summary.len();
        let defined = page.find("*Leg*: ").expect("Leg defined");
        assert!(
            page[own..].find("Leg ").unwrap() + own > defined,
            "{name}: Leg used first"
        );
        assert!(page.find("*Gap*: ").unwrap() > defined);
        if let Some(g) = page.find("**Gap:**") {
            assert!(g > defined, "{name}: gap used before it is defined");
        }
        assert!(!page.contains("http://"), "{name}: a link to localhost");
        assert!(!page.contains("op#"), "{name}: op#N next to op N");
        assert!(
            !page.contains("id 0"),
            "{name}: ids from 0 beside ops from 1"
        );
        let exploration = page
            .lines()
            .find(|l| l.contains(" unique states, "))
            .unwrap();
        let unique: String = exploration
            .split(' ')
            .next()
            .unwrap()
            .chars()
            .filter(|c| *c != ',')
            .collect();
        if unique.parse::<usize>().unwrap() >= 1000 {
            assert!(exploration.contains(','), "{name}: {exploration}");
        }
    }
}
