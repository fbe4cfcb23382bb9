//! Proof profiles: `[bounds]` is the quick profile CI and results/ run;
//! `[bounds.deep]`, merged onto it, turns on what the quick bounds leave
//! out. A proof shipped with faults off at quick must have a deep profile
//! that turns every one of them on, and its verdicts must hold there too.

use onceproof::check::{self, Limits, Verdict};
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

#[test]
fn every_proof_with_faults_off_at_quick_has_a_deep_profile_that_turns_them_on() {
    for s in shipped().iter().filter(|s| proves_something(s)) {
        let off = s.not_covered();
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
            deep.not_covered().is_empty(),
            "{}: the deep profile still leaves out {:?}",
            s.name,
            deep.not_covered()
        );
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
    let plain = scenario::load(Path::new("models/idempotency.toml")).unwrap();
    assert_eq!(plain.at(Profile::Deep).config, plain.config);
}

/// Every shipped scenario's expected verdicts at its deep bounds, with
/// every witness reached (minutes; figures in docs/SCENARIOS.md):
/// `cargo test --release --test profiles -- --ignored`
#[test]
#[ignore]
fn every_shipped_scenario_holds_at_deep_bounds() {
    for s in shipped().into_iter().filter(|s| s.deep.is_some()) {
        let deep = s.at(Profile::Deep);
        let o = check::check(deep.config, Limits::default(), &mut |_| {});
        for (property, want) in &s.expect {
            assert_eq!(o.verdict(property), Some(*want), "{} {property}", s.name);
        }
        eprintln!(
            "{}: {} unique states, {:?}",
            s.name, o.unique_states, o.elapsed
        );
    }
}
