//! Proof profiles: `[bounds]` is the quick profile CI and results/ run;
//! `[bounds.deep]`, merged onto it, turns on what the quick bounds leave
//! out. A proof shipped with faults off at quick must have a deep profile
//! that turns every one of them on, and its verdicts must hold there too.

use onceproof::check::{self, Limits, Verdict};
use onceproof::model::faults;
use onceproof::scenario::{self, Profile, Scenario};
use std::path::Path;

fn shipped() -> Vec<Scenario> {
    scenario::all(Path::new("models"))
        .expect("models/")
        .iter()
        .map(|p| scenario::load(p).expect("valid"))
        .collect()
}

fn proves_something(s: &Scenario) -> bool {
    s.expect.iter().any(|(_, v)| *v == Verdict::Proved)
}

/// The faults a schema-1 file explores by default (registry default > 0)
/// that `s` leaves out. Opt-in faults (default 0: producer crashes, broker
/// failovers, …) are the scenario's own question; a proof without them
/// lists them as not covered, and the deep profile need not add them.
fn default_faults_left_out(s: &Scenario) -> Vec<&'static str> {
    faults::left_out(&s.config)
        .filter(|k| k.default > 0 && !claim_excludes(&s.name, k.field))
        .map(|k| k.unit.1)
        .collect()
}

/// A fault whose absence is the scenario's claim, stated in its summary
/// and listed as not covered on its page; its negative control turns it
/// on and must refute (tests/producer.rs).
fn claim_excludes(scenario: &str, field: &str) -> bool {
    // "exactly once inside the window"
    (scenario, field) == ("sqs-fifo-outbox-restart", "dedup-window-expiries")
}

#[test]
fn every_proof_with_faults_off_at_quick_has_a_deep_profile_that_turns_them_on() {
    for s in shipped().iter().filter(|s| proves_something(s)) {
        let off = default_faults_left_out(s);
        if off.is_empty() {
            continue;
        }
        assert!(
            s.deep.is_some(),
            "{}: proves with {off:?} off and has no [bounds.deep]",
            s.name
        );
        let deep = s.at(Profile::Deep);
        assert!(
            default_faults_left_out(&deep).is_empty(),
            "{}: the deep profile still leaves out {:?}",
            s.name,
            default_faults_left_out(&deep)
        );
        let turned_on = s.deep_turns_on();
        assert!(
            off.iter().all(|f| turned_on.contains(f)),
            "{}: deep_turns_on {turned_on:?} misses some of {off:?}",
            s.name
        );
    }
}

/// Every proof says it does not cover a producer crash unless it explores
/// one: the producer is an actor that can fail like any other.
#[test]
fn a_proof_without_producer_crashes_says_so() {
    for s in shipped().iter().filter(|s| proves_something(s)) {
        let listed = s.not_covered().contains(&"producer crashes");
        assert_eq!(listed, s.config.bounds.producer_crashes == 0, "{}", s.name);
    }
}

#[test]
fn the_deep_profile_merges_onto_the_quick_bounds() {
    let s = scenario::load(Path::new("models/idempotency-fresh-id-per-retry.toml")).unwrap();
    let (quick, deep) = (s.config.bounds, s.at(Profile::Deep).config.bounds);
    assert_eq!((quick.losses, deep.losses), (0, 1));
    assert_eq!(
        (quick.operations, quick.crashes, quick.lease_expiries),
        (deep.operations, deep.crashes, deep.lease_expiries)
    );
    assert_eq!(s.at(Profile::Deep).profile, Profile::Deep);
    // A file without a deep profile runs its quick bounds under either.
    let plain = scenario::load(Path::new("models/kafka-at-least-once.toml")).unwrap();
    assert_eq!(plain.at(Profile::Deep).config, plain.config);
}

/// Every shipped scenario's expected verdicts at its deep bounds, by the
/// search `check --profile deep` runs (the reduced one where it covers the
/// pipeline), with every witness reached (minutes; figures in
/// docs/SCENARIOS.md): `cargo test --release --test profiles -- --ignored`
#[test]
#[ignore]
fn every_shipped_scenario_holds_at_deep_bounds() {
    for s in shipped().into_iter().filter(|s| s.deep.is_some()) {
        let deep = s.at(Profile::Deep);
        let limits = Limits {
            reduced: true,
            ..Limits::default()
        };
        let o = check::check_scenario(&deep, limits, &mut |_| {});
        for (property, want) in &s.expect {
            assert_eq!(o.verdict(property), Some(*want), "{} {property}", s.name);
        }
        eprintln!(
            "{}: {} unique states, {:?}",
            s.name, o.unique_states, o.elapsed
        );
    }
}
