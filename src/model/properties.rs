//! What the checker proves or refutes, and the reachability witnesses that
//! keep a proof from being vacuous.
//!
//! "No loss" is liveness, but stateright's `eventually` misses violations at
//! cycles and DAG joins, so it is stated as safety over resting states: in
//! every state where nothing but a further fault can happen, every
//! confirmed operation has been applied. Budgets keep the graph finite.

use super::{Action, Model, State, producer};
use crate::pipeline::Config;
use stateright::{Expectation, Model as _};

pub const APPLIED_ONCE: &str = "side effect applied once";
pub const NO_LOSS: &str = "no loss";
/// Checked only where the scenario expects a verdict for it
/// ([`crate::progress`]): it needs the whole graph, not just the states.
pub const PROGRESS: &str = "progress";

/// The two properties a scenario can expect verdicts for.
pub const PROPERTIES: [&str; 2] = [APPLIED_ONCE, NO_LOSS];

#[derive(Clone)]
pub struct Check {
    pub name: &'static str,
    pub expectation: Expectation,
    pub condition: fn(&Model, &State) -> bool,
}

fn applied_once(_: &Model, s: &State) -> bool {
    super::sinks::at_most_once_everywhere(s)
}

/// Where the no-loss obligation starts and what ends it, in words: every
/// no-loss line and the JSON carry it.
pub fn anchor(cfg: &Config) -> &'static str {
    if cfg.pipeline.reports_failures() {
        "every operation handed to the producer, unless the producer reported its failure to its caller"
    } else {
        "every operation handed to the producer"
    }
}

/// Whether operation `op` is owed: it was handed to the pipeline and no
/// failure of it was reported upstream. A confirm is not needed: a
/// fire-and-forget producer has promised what it sent.
pub fn owed(m: &Model, s: &State, op: usize) -> bool {
    let handed = s.history.promised & (1 << op) != 0;
    let reported = m.cfg.pipeline.reports_failures() && producer(s).gave_up[op];
    handed && !reported
}

/// Operations owed, not poison, and never applied in the primary sink:
/// what a *progress* cycle leaves behind.
pub fn stuck(m: &Model, s: &State) -> Vec<u8> {
    (0..m.cfg.bounds.operations)
        .filter(|&op| {
            !m.cfg.pipeline.poisoned(op)
                && owed(m, s, op as usize)
                && super::sinks::applied_in_primary(&m.cfg, s, op as usize) == 0
        })
        .collect()
}

/// Every operation but the poison is applied in the primary sink.
pub fn healthy_applied(m: &Model, s: &State) -> bool {
    (0..m.cfg.bounds.operations)
        .filter(|&op| !m.cfg.pipeline.poisoned(op))
        .all(|op| super::sinks::applied_in_primary(&m.cfg, s, op as usize) >= 1)
}

/// Operations owed and never applied in the primary sink.
pub fn unapplied_owed(m: &Model, s: &State) -> Vec<u8> {
    (0..m.cfg.bounds.operations as usize)
        .filter(|&op| owed(m, s, op) && super::sinks::applied_in_primary(&m.cfg, s, op) == 0)
        .map(|op| op as u8)
        .collect()
}

fn no_loss(m: &Model, s: &State) -> bool {
    unapplied_owed(m, s).is_empty() || !at_rest(m, s)
}

/// A fault never has to happen: anything else enabled means the system is
/// still moving.
pub fn is_fault(s: &State, a: &Action) -> bool {
    super::faults::fault(s, a).is_some()
}

/// No action but a further fault changes the state.
pub fn at_rest(_: &Model, s: &State) -> bool {
    !message_deliverable(s) && !restart_pending(s) && timers_and_choices_idle(s)
}

/// A crashed consumer's restart is enabled, stays within the budgets and is
/// not a fault.
fn restart_pending(s: &State) -> bool {
    s.crashed.iter().any(|&c| c)
}

/// With nothing in flight and nobody down, only timers and the broker's
/// dispatch choices are left. A timer the fault registry recognises as a
/// fault (a lease expiry, a rebalance, …) is never progress; every other
/// timer is (a redrive, a pool worker, an auto-commit). A retry timer is
/// progress: with nothing in flight its operation's publish or confirm was
/// lost (the registry's spurious retry needs something in flight), so the
/// producer re-publishes within the budgets or gives up, and either changes
/// the state. A dispatch choice always leases a message.
/// So the state is at rest exactly when neither is pending; the equality
/// with [`at_rest_by_successors`] is tested on every reachable state.
fn timers_and_choices_idle(s: &State) -> bool {
    let timers = s.timers_set.iter().enumerate().all(|(actor, set)| {
        set.iter().all(|t| {
            let fire = stateright::actor::ActorModelAction::Timeout(
                stateright::actor::Id::from(actor),
                *t,
            );
            super::faults::fault(s, &fire).is_some()
        })
    });
    timers
        && s.random_choices
            .iter()
            .all(|c| c.map.values().all(Vec::is_empty))
}

/// A message is on its way. To an actor that is up, its delivery always
/// consumes it (stateright skips the no-op test on an ordered network) and
/// spends no fault budget; to a crashed consumer, that consumer's restart is
/// enabled and is not a fault either. So such a state is never at rest: the
/// first cheap test; `tests/witnesses.rs` checks that the whole of
/// [`at_rest`] equals [`at_rest_by_successors`] on every reachable state.
fn message_deliverable(s: &State) -> bool {
    super::in_flight(s).next().is_some()
}

/// The definition of resting: every enabled non-fault action is a no-op or
/// leaves the fault budgets.
pub fn at_rest_by_successors(m: &Model, s: &State) -> bool {
    let mut actions = Vec::new();
    super::faults::within_budget_actions(m, s, &mut actions);
    actions
        .into_iter()
        .filter(|a| !is_fault(s, a))
        .all(|a| m.next_state(s, a).is_none())
}

pub fn all(cfg: &Config) -> Vec<Check> {
    let mut checks = vec![
        Check {
            name: APPLIED_ONCE,
            expectation: Expectation::Always,
            condition: applied_once,
        },
        Check {
            name: NO_LOSS,
            expectation: Expectation::Always,
            condition: no_loss,
        },
    ];
    checks.extend(super::witnesses::applying(cfg));
    checks
}
