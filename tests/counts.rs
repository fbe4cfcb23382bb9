//! State counts at small bounds, pinned: a fast guard for model changes
//! that alter the reachable space without changing any verdict (a timer
//! left armed after its budget is spent, a completion the consumer no
//! longer sends, a ledger row never written). `tests/results.rs` catches
//! the same at the shipped bounds, in about 100 s; this runs every shipped
//! scenario at 1 operation and 2 or 3 consumers in a few seconds, so it can
//! sit in the mutation-testing set (docs/MUTATION.md).
//!
//! A count may change only for a documented reason (a better reduction, a
//! modelling fix); then re-bless with
//! `ONCEPROOF_BLESS=1 cargo test --release --test counts` and say why in
//! the commit.

use onceproof::check::{self, Limits};
use onceproof::pipeline::Config;
use onceproof::scenario;
use std::path::Path;

const EXPECTED: &str = "tests/counts.expected";

/// The scenario at `operations` and `consumers`, its budgets as shipped,
/// but with a third consumer the opt-in faults (producer crashes, lost
/// store replies) off: they multiply the third consumer's interleavings
/// and are pinned at two.
fn small(mut cfg: Config, operations: u8, consumers: u8) -> Config {
    cfg.bounds.operations = cfg.bounds.operations.min(operations);
    cfg.bounds.consumers = consumers;
    if consumers > 2 {
        cfg.bounds.producer_crashes = 0;
        cfg.bounds.reply_losses = 0;
    }
    cfg
}

fn measured() -> String {
    let mut out = String::from("# scenario operations consumers unique total\n");
    for path in scenario::all(Path::new("models")).expect("models/") {
        let s = scenario::load(&path).expect("a valid scenario");
        for consumers in [2, 3] {
            let operations = 1;
            let cfg = small(s.config, operations, consumers);
            let o = check::check(cfg, Limits::default(), &mut |_| {});
            assert!(o.complete, "{}: a small run is complete", s.name);
            // Not the maximum depth: a two-thread depth-first search
            // reports the depth at which it first met each state, which
            // varies with the threads' timing.
            out.push_str(&format!(
                "{} {} {} {} {}\n",
                s.name, cfg.bounds.operations, consumers, o.unique_states, o.total_states
            ));
        }
    }
    out
}

#[test]
fn small_bound_counts_match_the_pinned_ones() {
    let now = measured();
    if std::env::var_os("ONCEPROOF_BLESS").is_some() {
        std::fs::write(EXPECTED, &now).expect("write the pinned counts");
        return;
    }
    let pinned = std::fs::read_to_string(EXPECTED).expect("tests/counts.expected");
    let differ: Vec<String> = pinned
        .lines()
        .zip(now.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("pinned {a}\n   now {b}"))
        .collect();
    assert!(
        differ.is_empty() && pinned.lines().count() == now.lines().count(),
        "small-bound counts changed (re-bless only with a documented reason):\n{}",
        differ.join("\n")
    );
}
