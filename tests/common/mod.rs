//! Helpers the integration tests share. Each test file uses a part of
//! them, so the rest is dead code there.
#![allow(dead_code)]

use onceproof::model::{Model, State};
use stateright::Model as _;
use std::collections::{HashSet, VecDeque};

/// Every reachable state within the budgets, without any reduction: the
/// ground truth small-bound tests compare the checker against.
pub fn reachable(m: &Model) -> HashSet<State> {
    reachable_from(m, m.init_states())
}

/// Every state reachable within the budgets from `inits`.
pub fn reachable_from(m: &Model, inits: Vec<State>) -> HashSet<State> {
    let mut seen: HashSet<State> = inits.into_iter().collect();
    let mut queue: VecDeque<State> = seen.iter().cloned().collect();
    while let Some(s) = queue.pop_front() {
        let mut actions = Vec::new();
        m.actions(&s, &mut actions);
        for a in actions {
            if let Some(next) = m.next_state(&s, a)
                && stateright::Model::within_boundary(m, &next)
                && !seen.contains(&next)
            {
                seen.insert(next.clone());
                queue.push_back(next);
            }
        }
    }
    seen
}

/// A shipped scenario's configuration at its quick bounds.
pub fn shipped(name: &str) -> onceproof::pipeline::Config {
    onceproof::scenario::load(&std::path::Path::new("models").join(format!("{name}.toml")))
        .expect("a shipped scenario")
        .config
}

/// A complete exploration with the default limits.
pub fn run(cfg: onceproof::pipeline::Config) -> onceproof::check::Outcome {
    let o = onceproof::check::check(cfg, onceproof::check::Limits::default(), &mut |_| {});
    assert!(o.complete, "the exploration completes");
    o
}

/// A shipped scenario's verdicts (*side effect applied once*, *no loss*)
/// are the given ones, from a complete run with every witness reached.
pub fn assert_shipped(
    name: &str,
    once: onceproof::check::Verdict,
    loss: onceproof::check::Verdict,
) -> onceproof::check::Outcome {
    use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
    let o = run(shipped(name));
    assert_eq!(
        (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
        (Some(once), Some(loss)),
        "{name}"
    );
    let unreached: Vec<_> = o.witnesses.iter().filter(|(_, r)| !r).collect();
    assert!(unreached.is_empty(), "{name}: unreached {unreached:?}");
    o
}

/// Each witness, demanded where its fault or outcome cannot happen (`cfg`),
/// comes out unreached and turns the *no loss* proof `vacuous`.
pub fn assert_unreached_where_impossible(cases: Vec<(onceproof::pipeline::Config, &str)>) {
    use onceproof::check::{self, Limits, Verdict};
    use onceproof::model::{properties::NO_LOSS, witnesses};
    for (cfg, name) in cases {
        let w = witnesses::catalogue(&cfg)
            .into_iter()
            .map(|(_, w)| w)
            .find(|w| w.name == name)
            .unwrap_or_else(|| panic!("{name} is in the catalogue"));
        let o = check::check_demanding(cfg, vec![w], Limits::default(), &mut |_| {});
        assert!(o.complete);
        assert_eq!(
            o.witnesses.iter().find(|(n, _)| *n == name),
            Some(&(name, false)),
            "{name}"
        );
        assert_eq!(o.verdict(NO_LOSS), Some(Verdict::Vacuous), "{name}");
    }
}

/// The checker must refute `property` for `cfg` (a negative control).
pub fn refutes(cfg: onceproof::pipeline::Config, property: &str, why: &str) {
    assert_eq!(
        run(cfg).verdict(property),
        Some(onceproof::check::Verdict::Counterexample),
        "{why}"
    );
}

/// The control of a *no loss* proof: the same pipeline recording
/// completion before the effect, with a crash to fall in between, must
/// lose the operation.
pub fn refutes_no_loss_with_completion_first(name: &str) {
    let mut first = shipped(name);
    first.pipeline.order = onceproof::pipeline::CompletionOrder::CompletionThenEffect;
    first.bounds.crashes = first.bounds.crashes.max(1);
    refutes(first, onceproof::model::properties::NO_LOSS, name);
}
