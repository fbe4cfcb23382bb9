//! Tells a counterexample the way an incident review would: one line per
//! step, naming the actor and the boundary it crossed (published,
//! delivered, effect committed, completion recorded), then a diagnosis of
//! which leg failed, between which two boundaries, and the guarantee a
//! reviewer should have demanded.
//!
//! Every line is derived from the action *and* the states on either side
//! of it, because the action alone does not say what happened: a publish
//! may be stored or dropped as a duplicate, an apply may commit or be
//! skipped by the ledger, a completion may be accepted or refused as stale.
//!
//! Humans count from 1: `op#1` is operation 0, `message 1` is the broker's
//! offset 0, `consumer 1` is consumer index 0. Message ids are the raw ids
//! the producer attached, since they are opaque values, not positions.

use super::diagnosis::{Diagnosis, diagnose};
use crate::check::Trace;
use crate::model::broker::Status;
use crate::model::consumer::{ConsumerState, Stage};
use crate::model::msg::{Dispatch, JobRef, Key, Msg, Timer};
use crate::model::properties::{self, NO_LOSS};
use crate::model::{self, Action, BROKER, Model, PRODUCER, STORE, State, faults};
use crate::pipeline::{CompletionOrder, GiveUp, LedgerWrite, StaleCompletion};
use serde::{Deserialize, Serialize};
use stateright::actor::{ActorModelAction, Id};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narrative {
    /// The counterexample, one line per action.
    pub steps: Vec<String>,
    /// The fault-free continuation to rest: not part of the proof, but it
    /// shows who finishes and what is left behind.
    pub aftermath: Vec<String>,
    pub diagnosis: Diagnosis,
}

pub fn narrative(model: &Model, trace: &Trace, property: &str) -> Narrative {
    let mut steps: Vec<String> = Vec::new();
    let marked = violating_step(model, trace, property);
    for (i, (before, action, after)) in actions(trace).enumerate() {
        let mut line = describe(model, before, action, after);
        if marked == Some(i) {
            line.push_str(&format!(" ✗ {property}"));
        }
        steps.push(line);
    }
    if property == NO_LOSS {
        steps.push(at_rest_loss(model, trace.last_state(), property));
    }
    let mut aftermath = Vec::new();
    let mut before = trace.last_state();
    for (action, after) in &trace.epilogue {
        aftermath.push(describe(model, before, action, after));
        before = after;
    }
    if !trace.epilogue.is_empty() {
        aftermath.push(at_rest_summary(before));
    }
    Narrative {
        steps,
        aftermath,
        diagnosis: diagnose(model, trace, property),
    }
}

/// Each action of the counterexample with the states before and after it.
pub fn actions(trace: &Trace) -> impl Iterator<Item = (&State, &Action, &State)> {
    trace
        .steps
        .windows(2)
        .filter_map(|w| w[0].1.as_ref().map(|a| (&w[0].0, a, &w[1].0)))
}

/// The index of the action after which `property` first fails, if it is a
/// property of the model. "No loss" is judged only at rest, so its
/// violation belongs to the resting state, not to the action that led
/// there.
pub fn violating_step(model: &Model, trace: &Trace, property: &str) -> Option<usize> {
    if property == NO_LOSS {
        return None;
    }
    let condition = properties::all(&model.cfg)
        .into_iter()
        .find(|c| c.name == property)?
        .condition;
    actions(trace).position(|(_, _, after)| !condition(model, after))
}

pub fn op(op: u8) -> String {
    format!("op#{}", op + 1)
}

pub fn message(msg: u8) -> String {
    format!("message {}", msg + 1)
}

pub fn consumer(index: u8) -> String {
    format!("consumer {}", index + 1)
}

pub fn job(j: JobRef) -> String {
    format!("{}, delivery {}", message(j.msg), j.delivery)
}

pub fn key(k: Key) -> String {
    match k {
        Key::Id(id) => format!("id {id}"),
        Key::Offset(m) => format!("offset of {}", message(m)),
        Key::Delivery(j) => format!("delivery {} of {}", j.delivery, message(j.msg)),
    }
}

/// The human name of an actor.
pub fn actor(id: Id) -> String {
    match usize::from(id) {
        PRODUCER => "producer".into(),
        BROKER => "broker".into(),
        STORE => "effect store".into(),
        _ => consumer(model::consumer_index(id)),
    }
}

/// A consumer's state, stale while it is down.
pub fn consumer_state(s: &State, index: u8) -> (bool, &ConsumerState) {
    model::consumers(s)
        .find(|(i, _, _)| *i == index)
        .map(|(_, down, c)| (down, c))
        .expect("consumer index in range")
}

fn op_of(s: &State, msg: u8) -> u8 {
    model::broker(s).messages[msg as usize].op
}

fn applied_times(n: u8) -> String {
    if n >= crate::model::store::APPLIED_CAP {
        format!("applied {n}+×")
    } else {
        format!("applied {n}×")
    }
}

/// One line for one action, in domain words.
pub fn describe(model: &Model, before: &State, action: &Action, after: &State) -> String {
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            deliver(model, before, after, *src, *dst, msg)
        }
        ActorModelAction::Drop(env) => lost(env.src, env.dst, &env.msg),
        ActorModelAction::Timeout(_, Timer::Retry(o)) => retry(model, before, after, *o),
        ActorModelAction::Timeout(_, Timer::Lease(m)) => lease_expiry(before, after, *m),
        ActorModelAction::Crash(id) => crash(before, *id),
        ActorModelAction::Recover(id) => {
            let index = model::consumer_index(*id);
            let (_, c) = consumer_state(after, index);
            format!(
                "{} restarts as incarnation {} with no memory of its work",
                consumer(index),
                c.incarnation
            )
        }
        ActorModelAction::SelectRandom { random, .. } => dispatch(after, *random),
    }
}

fn lost(src: Id, dst: Id, msg: &Msg) -> String {
    match msg {
        Msg::Publish { op: o, attempt, .. } if *attempt == 0 => {
            format!("producer's publish of {} is lost", op(*o))
        }
        Msg::Publish { op: o, attempt, .. } => format!(
            "producer's re-publish of {} (attempt {}) is lost",
            op(*o),
            attempt + 1
        ),
        Msg::PublishAck { op: o, .. } => {
            format!("broker's confirm of {} to the producer is lost", op(*o))
        }
        other => format!(
            "a message from {} to {} is lost: {other:?}",
            actor(src),
            actor(dst)
        ),
    }
}

fn retry(model: &Model, before: &State, after: &State, o: u8) -> String {
    let (p0, p1) = (model::producer(before), model::producer(after));
    if p0 == p1 {
        return format!("producer's retry timer for {} fires; nothing to do", op(o));
    }
    if p1.gave_up[o as usize] && !p0.gave_up[o as usize] {
        let attempts = p1.retried[o as usize] + 1;
        return match model.cfg.pipeline.give_up {
            GiveUp::Report => format!(
                "producer: no confirm for {} after {attempts} attempt(s); gives up and reports the failure to its caller",
                op(o)
            ),
            GiveUp::Silent => format!(
                "producer: no confirm for {} after {attempts} attempt(s); gives up without telling anyone",
                op(o)
            ),
        };
    }
    let attempt = p1.retried[o as usize];
    let id = model::producer::attempt_id(&model.cfg, o, attempt);
    let action = ActorModelAction::Timeout(Id::from(PRODUCER), Timer::Retry(o));
    let why = if faults::fault(before, &action) == Some(faults::Fault::SpuriousRetry) {
        "the confirm is late but still on its way"
    } else {
        "every earlier attempt or its confirm was lost"
    };
    format!(
        "producer: no confirm for {} ({why}), re-publishes it (attempt {}, id {id})",
        op(o),
        attempt + 1
    )
}

/// Whether consumer `c` still holds delivery `d` of message `m` and is up.
fn still_works(s: &State, c: u8, j: JobRef) -> bool {
    let (down, cs) = consumer_state(s, c);
    !down && cs.jobs.iter().any(|x| x.job == j)
}

fn lease_expiry(before: &State, after: &State, m: u8) -> String {
    let status = model::broker(before).messages[m as usize].status;
    let released = model::broker(after).messages[m as usize].status == Status::Ready;
    match status {
        Status::Leased {
            consumer: c,
            delivery,
        } if released => {
            let j = JobRef { msg: m, delivery };
            if still_works(before, c, j) {
                format!(
                    "broker: lease on {} expires while {} still works on it (delivery {delivery}); it is ready for redelivery",
                    message(m),
                    consumer(c)
                )
            } else {
                format!(
                    "broker: lease on {} ({}, delivery {delivery}) expires; it is ready for redelivery",
                    message(m),
                    consumer(c)
                )
            }
        }
        _ => format!(
            "broker: a lease timer for {} fires; nothing to do",
            message(m)
        ),
    }
}

fn stage_words(stage: Stage) -> &'static str {
    match stage {
        Stage::Applying => "waiting for the effect store's reply",
        Stage::Recording => "waiting for its ledger row to be written",
        Stage::Completing => "waiting for the broker to record completion",
    }
}

fn crash(before: &State, id: Id) -> String {
    let index = model::consumer_index(id);
    let (_, c) = consumer_state(before, index);
    let holding: Vec<String> = c
        .jobs
        .iter()
        .map(|j| format!("{} ({}), {}", op(j.op), job(j.job), stage_words(j.stage)))
        .collect();
    if holding.is_empty() {
        format!("{} crashes", consumer(index))
    } else {
        format!(
            "{} crashes while holding {}",
            consumer(index),
            holding.join(" and ")
        )
    }
}

fn dispatch(after: &State, d: Dispatch) -> String {
    let entry = &model::broker(after).messages[d.msg as usize];
    let delivery = match entry.status {
        Status::Leased { delivery, .. } => delivery,
        _ => entry.deliveries,
    };
    format!(
        "broker leases {} ({}) to {} (delivery {delivery})",
        message(d.msg),
        op(entry.op),
        consumer(d.consumer)
    )
}

fn deliver(model: &Model, before: &State, after: &State, src: Id, dst: Id, msg: &Msg) -> String {
    let p = &model.cfg.pipeline;
    match *msg {
        Msg::Publish { op: o, id, attempt } => {
            let (b0, b1) = (model::broker(before), model::broker(after));
            if b1.messages.len() > b0.messages.len() {
                let at = (b1.messages.len() - 1) as u8;
                let what = if attempt == 0 {
                    op(o)
                } else {
                    format!(
                        "the re-published {} (attempt {}, id {id})",
                        op(o),
                        attempt + 1
                    )
                };
                let again = if b0.messages.iter().any(|e| e.op == o) {
                    format!(" — published; the broker now holds {} twice", op(o))
                } else {
                    " — published".to_string()
                };
                format!(
                    "broker stores {what} as {} and confirms{again}",
                    message(at)
                )
            } else {
                format!(
                    "broker: duplicate publish of {} (id {id}) dropped, confirms again",
                    op(o)
                )
            }
        }
        Msg::PublishAck { op: o, .. } => {
            let (p0, p1) = (model::producer(before), model::producer(after));
            if !p0.acked[o as usize] && p1.acked[o as usize] {
                format!("producer receives the confirm for {}", op(o))
            } else {
                format!(
                    "producer receives another confirm for {} and ignores it",
                    op(o)
                )
            }
        }
        Msg::Deliver { job: j, op: o, .. } => {
            let index = model::consumer_index(dst);
            let (_, c0) = consumer_state(before, index);
            let (_, c1) = consumer_state(after, index);
            if c0 == c1 {
                return format!(
                    "{} drops {} ({}): it was addressed to a session that ended with a crash",
                    consumer(index),
                    op(o),
                    job(j)
                );
            }
            let next = match p.order {
                CompletionOrder::EffectThenCompletion => "requests the effect",
                CompletionOrder::CompletionThenEffect => {
                    "asks the broker to record completion before the effect"
                }
            };
            format!(
                "{} receives {} ({}) — delivered; {next}",
                consumer(index),
                op(o),
                job(j)
            )
        }
        Msg::Apply {
            job: j,
            op: o,
            key: k,
            ..
        } => {
            let (s0, s1) = (model::store(before), model::store(after));
            let n = s1.applied[o as usize];
            let skipped = match k {
                Some(k) => p.ledger_check && s0.ledger.binary_search(&k).is_ok(),
                None => false,
            };
            if skipped {
                let k = k.expect("skipped only with a key");
                return format!(
                    "effect store finds key {} in its ledger and skips {} ({}) — still {}",
                    key(k),
                    op(o),
                    job(j),
                    applied_times(n)
                );
            }
            let with_key = match (k, p.ledger_write) {
                (Some(k), LedgerWrite::WithEffect) => {
                    format!(" and writes ledger key {} in the same transaction", key(k))
                }
                _ => String::new(),
            };
            format!(
                "effect store applies {} ({}){with_key} — effect committed, {}",
                op(o),
                job(j),
                applied_times(n)
            )
        }
        Msg::Record { job: j, key: k } => {
            let already = model::store(before).ledger.binary_search(&k).is_ok();
            let o = op(op_of(before, j.msg));
            if already {
                format!(
                    "effect store already holds ledger key {} for {o}; nothing to write",
                    key(k)
                )
            } else {
                format!(
                    "effect store writes ledger key {} for {o} in a separate step after the effect",
                    key(k)
                )
            }
        }
        Msg::Complete { job: j, .. } => {
            let index = model::consumer_index(src);
            let b0 = model::broker(before);
            let entry = &b0.messages[j.msg as usize];
            let holder = Status::Leased {
                consumer: index,
                delivery: j.delivery,
            };
            let done_now = model::broker(after).messages[j.msg as usize].status == Status::Done;
            let verdict = if entry.status == holder {
                "broker accepts: completion recorded".to_string()
            } else if done_now && entry.status != Status::Done {
                // A broker that honours stale receipt handles (SQS standard).
                "broker accepts the stale receipt handle: completion recorded, the message is gone"
                    .to_string()
            } else {
                let why = match entry.status {
                    Status::Leased {
                        consumer: c,
                        delivery,
                    } => format!(
                        "{} is now leased to {}, delivery {delivery}",
                        message(j.msg),
                        consumer(c)
                    ),
                    Status::Ready => format!("{} is waiting for redelivery", message(j.msg)),
                    Status::Done => format!("{} is already done", message(j.msg)),
                };
                if model.cfg.pipeline.stale_completion == StaleCompletion::Accepted {
                    format!("broker answers success but deletes nothing ({why})")
                } else {
                    format!("broker rejects it (stale lease: {why})")
                }
            };
            format!(
                "{} records completion of {} ({}) — {verdict}",
                consumer(index),
                op(entry.op),
                job(j)
            )
        }
        Msg::Applied { job: j, fresh } => {
            reply(model, before, after, dst, j, Stage::Applying, |o| {
                if fresh {
                    format!("learns {o} is applied")
                } else {
                    format!("learns {o} was already applied")
                }
            })
        }
        Msg::Recorded { job: j } => reply(model, before, after, dst, j, Stage::Recording, |o| {
            format!("learns the ledger row for {o} is written")
        }),
        Msg::Completed { job: j, accepted } => {
            reply(model, before, after, dst, j, Stage::Completing, |o| {
                if accepted {
                    format!(
                        "learns completion of {} is recorded, then requests the effect of {o}",
                        message(j.msg)
                    )
                } else {
                    format!(
                        "learns its lease on {} is gone and drops {o}",
                        message(j.msg)
                    )
                }
            })
        }
        Msg::Poll => format!("{} asks the broker for the next message", actor(src)),
        Msg::Join { incarnation } => {
            let index = model::consumer_index(src);
            let (b0, b1) = (model::broker(before), model::broker(after));
            let released: Vec<String> = (0..b0.messages.len())
                .filter(|&m| {
                    matches!(b0.messages[m].status, Status::Leased { consumer: c, .. } if c == index)
                        && b1.messages[m].status == Status::Ready
                })
                .map(|m| message(m as u8))
                .collect();
            if released.is_empty() {
                format!(
                    "{} rejoins the broker (session {incarnation})",
                    consumer(index)
                )
            } else {
                format!(
                    "{} rejoins the broker (session {incarnation}); the broker releases its lease on {} for redelivery",
                    consumer(index),
                    released.join(" and ")
                )
            }
        }
    }
}

/// A reply to a consumer: what it learns, and what it does next.
fn reply(
    model: &Model,
    before: &State,
    after: &State,
    dst: Id,
    j: JobRef,
    stage: Stage,
    learns: impl Fn(&str) -> String,
) -> String {
    let index = model::consumer_index(dst);
    let (_, c0) = consumer_state(before, index);
    let (_, c1) = consumer_state(after, index);
    let held = c0.jobs.iter().find(|x| x.job == j && x.stage == stage);
    let Some(held) = held else {
        let o = op(op_of(before, j.msg));
        return format!(
            "{} ignores the {}'s reply about {o} ({}): incarnation {} holds no such work",
            consumer(index),
            if stage == Stage::Completing {
                "broker"
            } else {
                "effect store"
            },
            job(j),
            c0.incarnation
        );
    };
    let o = op(held.op);
    let mut line = format!("{} {}", consumer(index), learns(&o));
    match c1.jobs.iter().find(|x| x.job == j) {
        Some(x) if x.stage == Stage::Recording => line.push_str("; writes its ledger row next"),
        Some(_) => {}
        None if stage != Stage::Completing
            && model.cfg.pipeline.order == CompletionOrder::EffectThenCompletion =>
        {
            line.push_str(&format!("; sends completion of {}", job(j)));
        }
        None => {}
    }
    line
}

/// The closing line of a "no loss" counterexample: the loss shows only
/// once nothing but a further fault could still deliver the operation.
fn at_rest_loss(model: &Model, s: &State, property: &str) -> String {
    let parts: Vec<String> = lost_ops(model, s)
        .iter()
        .map(|&o| why_unapplied(s, o))
        .collect();
    format!("system at rest: {} ✗ {property}", parts.join("; "))
}

/// How an owed operation ended up never applied, in one clause.
fn why_unapplied(s: &State, o: u8) -> String {
    let b = model::broker(s);
    let stored: Vec<usize> = (0..b.messages.len())
        .filter(|&m| b.messages[m].op == o)
        .collect();
    let confirmed = s.history.confirmed & (1 << o) != 0;
    if stored.is_empty() {
        let p = model::producer(s);
        return if p.gave_up[o as usize] {
            format!(
                "{} was handed to the producer, which gave up after {} attempt(s) without a confirm and told nobody: nobody applied it — Leg 1",
                op(o),
                p.retried[o as usize] + 1
            )
        } else if confirmed {
            format!(
                "{} was confirmed to the producer, but the broker holds no message for it — Leg 1",
                op(o)
            )
        } else {
            format!(
                "{} was published, the publish was lost, the producer never learned it (fire-and-forget): nobody applied it — Leg 1",
                op(o)
            )
        };
    }
    let handed = if confirmed {
        "was confirmed to the producer"
    } else {
        "was stored by the broker (its confirm never reached the producer)"
    };
    let done: Vec<String> = stored
        .iter()
        .filter(|&&m| b.messages[m].status == Status::Done)
        .map(|&m| message(m as u8))
        .collect();
    if done.is_empty() {
        format!("{} {handed} but never applied", op(o))
    } else {
        format!(
            "{} {handed} and {} is marked done, but it was never applied",
            op(o),
            done.join(" and ")
        )
    }
}

fn at_rest_summary(s: &State) -> String {
    let counts: Vec<String> = model::store(s)
        .applied
        .iter()
        .enumerate()
        .map(|(o, &n)| format!("{} {}", op(o as u8), applied_times(n)))
        .collect();
    format!("system at rest: {}", counts.join(", "))
}

/// Operations owed to upstream (see [`properties::owed`]) whose effect
/// never happened.
pub(super) fn lost_ops(model: &Model, s: &State) -> Vec<u8> {
    crate::model::properties::unapplied_owed(model, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humans_count_from_one() {
        assert_eq!(op(0), "op#1");
        assert_eq!(message(1), "message 2");
        assert_eq!(consumer(0), "consumer 1");
        assert_eq!(
            key(Key::Delivery(JobRef {
                msg: 0,
                delivery: 2
            })),
            "delivery 2 of message 1"
        );
        assert_eq!(applied_times(2), "applied 2×");
    }
}
