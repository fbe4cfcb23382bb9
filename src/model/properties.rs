//! What the checker proves or refutes, and the reachability witnesses that
//! keep a proof from being vacuous.
//!
//! "No loss" is liveness, but stateright's `eventually` misses violations at
//! cycles and DAG joins, so it is stated as safety over resting states: in
//! every state where nothing but a further fault can happen, every
//! confirmed operation has been applied. Budgets keep the graph finite.

use super::broker::Status;
use super::consumer::Stage;
use super::msg::Msg;
use super::{
    Model, State, broker, consumer_id, consumers, in_flight_from, leg1_losses, losses, producer,
    store,
};
use crate::pipeline::{CompletionOrder, Config, GiveUp, LedgerKey, StaleCompletion};
use stateright::{Expectation, Model as _};

pub const APPLIED_ONCE: &str = "side effect applied once";
pub const NO_LOSS: &str = "no loss";

/// The two properties a scenario can expect verdicts for.
pub const PROPERTIES: [&str; 2] = [APPLIED_ONCE, NO_LOSS];

#[derive(Clone)]
pub struct Check {
    pub name: &'static str,
    pub expectation: Expectation,
    pub condition: fn(&Model, &State) -> bool,
}

fn applied_once(_: &Model, s: &State) -> bool {
    store(s).applied.iter().all(|&n| n <= 1)
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

/// Operations owed and never applied.
pub fn unapplied_owed(m: &Model, s: &State) -> Vec<u8> {
    let applied = &store(s).applied;
    (0..applied.len())
        .filter(|&op| owed(m, s, op) && applied[op] == 0)
        .map(|op| op as u8)
        .collect()
}

fn no_loss(m: &Model, s: &State) -> bool {
    unapplied_owed(m, s).is_empty() || !at_rest(m, s)
}

/// Crashes, losses and lease expiries are faults that never have to
/// happen; anything else enabled means the system is still moving.
pub fn is_fault(a: &super::Action) -> bool {
    super::faults::optional_fault(a).is_some()
}

/// No action but a further fault changes the state.
pub fn at_rest(m: &Model, s: &State) -> bool {
    !message_deliverable(s) && at_rest_by_successors(m, s)
}

/// A message is on its way. To an actor that is up, its delivery always
/// consumes it (stateright skips the no-op test on an ordered network) and
/// spends no fault budget; to a crashed consumer, that consumer's restart is
/// enabled and is not a fault either. So such a state is never at rest: the
/// cheap test that spares most states the successor generation below.
fn message_deliverable(s: &State) -> bool {
    super::in_flight(s).next().is_some()
}

/// The definition of resting: every enabled non-fault action is a no-op or
/// leaves the fault budgets.
pub fn at_rest_by_successors(m: &Model, s: &State) -> bool {
    let mut actions = Vec::new();
    m.actions(s, &mut actions);
    actions.into_iter().filter(|a| !is_fault(a)).all(|a| {
        m.next_state(s, a)
            .is_none_or(|next| !m.within_boundary(&next))
    })
}

/// A consumer went down inside its mode's gap: after the first of its two
/// boundaries took effect *for its own job* and before the second.
fn crash_in_gap(m: &Model, s: &State) -> bool {
    let (b, st) = (broker(s), store(s));
    consumers(s).any(|(i, down, c)| {
        down && c.jobs.iter().any(|j| {
            let done = b.messages[j.job.msg as usize].status == Status::Done;
            match m.cfg.pipeline.order {
                // The store has taken this job's request (it is no longer in
                // flight), so the effect is committed, or was found committed
                // by the ledger: either way the operation is applied.
                CompletionOrder::EffectThenCompletion => {
                    let requested = in_flight_from(s, consumer_id(i))
                        .any(|msg| matches!(msg, Msg::Apply { job, .. } if *job == j.job));
                    !done && !requested
                }
                CompletionOrder::CompletionThenEffect => {
                    j.stage == Stage::Completing && done && st.applied[j.op as usize] == 0
                }
            }
        })
    })
}

fn redelivery_of_applied(_: &Model, s: &State) -> bool {
    let st = store(s);
    consumers(s).any(|(_, down, c)| {
        !down
            && c.jobs
                .iter()
                .any(|j| j.job.delivery >= 2 && st.applied[j.op as usize] >= 1)
    })
}

/// The lease moved to another consumer while its first holder, alive,
/// still works on the message: two holders at once.
fn lease_overlap(_: &Model, s: &State) -> bool {
    let b = broker(s);
    consumers(s).any(|(i, down, c)| {
        !down
            && c.jobs.iter().any(|j| {
                matches!(b.messages[j.job.msg as usize].status,
                    Status::Leased { consumer, .. } if consumer != i)
            })
    })
}

fn leg1_lost(_: &Model, s: &State) -> bool {
    losses(s).0 >= 1
}

fn retry_received(_: &Model, s: &State) -> bool {
    s.history.retry_received
}

/// An operation whose publish or confirm was lost was nevertheless
/// confirmed to the producer: only a retry can do that.
fn loss_recovered_by_retry(_: &Model, s: &State) -> bool {
    let (lost, p) = (leg1_losses(s), producer(s));
    (0..p.acked.len()).any(|op| lost[op] >= 1 && p.acked[op] && p.retried[op] >= 1)
}

fn stale_completion_honoured(_: &Model, s: &State) -> bool {
    broker(s).stale_honoured
}

fn gave_up(_: &Model, s: &State) -> bool {
    producer(s).gave_up.iter().any(|&g| g)
}

fn all_applied_at_rest(m: &Model, s: &State) -> bool {
    store(s).applied.iter().all(|&n| n >= 1) && at_rest(m, s)
}

fn witness(name: &'static str, condition: fn(&Model, &State) -> bool) -> Check {
    Check {
        name,
        expectation: Expectation::Sometimes,
        condition,
    }
}

/// Every witness this pipeline's vocabulary has, each with whether it
/// applies under these budgets (its fault can happen). Tests demand the
/// ones that do not apply to see them come out unreached.
pub fn catalogue(cfg: &Config) -> Vec<(bool, Check)> {
    let (p, b) = (&cfg.pipeline, &cfg.bounds);
    let effect_first = p.order == CompletionOrder::EffectThenCompletion;
    let crash_name = match (p.order, p.ledger_key) {
        (CompletionOrder::CompletionThenEffect, _) => "crash between completion and effect",
        (_, LedgerKey::None) => "crash between effect and completion",
        (_, LedgerKey::BrokerOffset) => "crash between atomic commit and broker ack",
        _ => "crash between ledger transaction and broker ack",
    };
    let give_up_name = match p.give_up {
        GiveUp::Report => "producer gave up on an operation and reported it",
        GiveUp::Silent => "producer gave up on an operation silently",
    };
    let retries = cfg.retries_possible();
    vec![
        (b.crashes > 0, witness(crash_name, crash_in_gap)),
        (
            effect_first && (b.crashes > 0 || b.lease_expiries > 0),
            witness(
                "redelivery of an already-applied operation",
                redelivery_of_applied,
            ),
        ),
        (
            b.lease_expiries > 0,
            witness(
                "lease expired: two consumers hold one message",
                lease_overlap,
            ),
        ),
        (
            b.lease_expiries > 0 && p.stale_completion == StaleCompletion::Accepted,
            witness("stale completion honoured", stale_completion_honoured),
        ),
        (
            p.producer_retries && p.max_attempts.is_some(),
            witness(give_up_name, gave_up),
        ),
        (
            b.losses > 0 && retries,
            witness(
                "lost publish or ack recovered by a retry",
                loss_recovered_by_retry,
            ),
        ),
        (
            b.losses > 0 && !retries,
            witness("lost publish or ack", leg1_lost),
        ),
        (
            b.losses == 0 && retries,
            witness("retried publish reached the broker", retry_received),
        ),
        (
            true,
            witness("at rest with every operation applied", all_applied_at_rest),
        ),
    ]
}

/// The witnesses that apply to this pipeline under these budgets.
pub fn witnesses(cfg: &Config) -> Vec<Check> {
    catalogue(cfg)
        .into_iter()
        .filter_map(|(applies, w)| applies.then_some(w))
        .collect()
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
    checks.extend(witnesses(cfg));
    checks
}
