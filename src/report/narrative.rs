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
//! Humans count from 1, as `words` names things: `op 1` is operation 0,
//! `message 1` the broker's offset 0, `consumer 1` consumer index 0, `id 1`
//! the producer's id 0.

use super::diagnosis::{Diagnosis, diagnose};
use super::events::{self, Event, ReplyOutcome, RetryOutcome};
use super::words::{self, actor, applied_times, consumer, job, key, message, offset, op, ops};
use crate::check::Trace;
use crate::model::broker::Status;
use crate::model::consumer::Stage;
use crate::model::msg::{JobRef, Msg};
use crate::model::properties::{self, NO_LOSS};
use crate::model::{self, Action, Model, State};
use crate::pipeline::{CompletionOrder, GiveUp, Publish};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;

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
    let marked = events::violating_step(model, trace, property);
    for (i, (before, action, after)) in events::actions(trace).enumerate() {
        let mut line = describe(model, before, action, after);
        if marked == Some(i) {
            line.push_str(&format!(" ✗ {property}"));
        }
        steps.push(line);
    }
    if property == NO_LOSS {
        steps.push(at_rest_loss(model, trace.last_state(), property));
    }
    if let Some(k) = trace.cycle_from {
        steps.push(cycle_line(model, trace, k, property));
    }
    let mut aftermath = Vec::new();
    let mut before = trace.last_state();
    for (action, after) in &trace.epilogue {
        aftermath.push(describe(model, before, action, after));
        before = after;
    }
    if !trace.epilogue.is_empty() {
        aftermath.push(at_rest_summary(&model.cfg, before));
    }
    Narrative {
        steps,
        aftermath,
        diagnosis: diagnose(model, trace, property),
    }
}

/// One line for one action, in domain words.
pub fn describe(model: &Model, before: &State, action: &Action, after: &State) -> String {
    words(model, &events::event(model, before, action, after))
}

/// One event in domain words.
pub fn words(model: &Model, e: &Event) -> String {
    let p = &model.cfg.pipeline;
    match e {
        Event::Lost { src, dst, msg } => lost(model, *src, *dst, msg),
        Event::RetryTimer { op: o, outcome } => retry(model, *o, *outcome),
        Event::KeyExpired {
            op: o,
            key: k,
            replay_possible,
        } => format!(
            "{}'s retention drops {} {} of {}: {}",
            words::ledger_home(&model.cfg),
            if model.cfg.pipeline.api() {
                "Idempotency-Key"
            } else {
                "ledger key"
            },
            key(*k),
            op(*o),
            if *replay_possible {
                "a copy of it can still arrive (the retention is shorter than the replay horizon)"
            } else {
                "past its replay horizon, no copy of it can arrive any more"
            }
        ),
        Event::PartialEffect { op: o, times } => format!(
            "effect store takes the partial effect of {}'s failing handler (outside the ledger), {times}× in all",
            op(*o)
        ),
        Event::Released {
            consumer: c,
            op: o,
            job: j,
            back,
        } => {
            let what = if *back {
                format!("{} is back in the queue for redelivery", message(j.msg))
            } else {
                "the broker ignores it (the delivery is no longer the current one)".to_string()
            };
            format!(
                "{}'s handler failed on {} ({}): it hands the delivery back; {what}",
                consumer(*c),
                op(*o),
                job(*j)
            )
        }
        Event::Replayed { reset: true, .. } => "an operator resets the group's committed offset to the beginning (kafka-consumer-groups --reset-offsets --to-earliest): every record is read again".to_string(),
        Event::Replayed {
            msg: m, op: o, ..
        } => format!(
            "an operator replays {} ({}), long done: it is back in the queue (re-sent from an archive)",
            message(*m),
            op(*o)
        ),
        Event::DualWriteSent { op: o } => format!(
            "producer publishes the event of {}, whose business row committed before (a dual write: two systems, two steps)",
            op(*o)
        ),
        Event::LeaseTimer { msg: m, expired } => match *expired {
            Some((c, delivery, true)) if p.visibility_extension => format!(
                "broker: {}'s ChangeMessageVisibility heartbeat comes too late (a long pause), so the visibility timeout of {} expires while it still works on it (delivery {delivery}); it is ready for redelivery",
                consumer(c),
                message(*m)
            ),
            Some((c, delivery, true)) => format!(
                "broker: {} {} expires while {} still works on it (delivery {delivery}); it is ready for redelivery",
                words::vocabulary(p.vocabulary).lease_noun,
                message(*m),
                consumer(c)
            ),
            Some((c, delivery, false)) => format!(
                "broker: lease on {} ({}, delivery {delivery}) expires; it is ready for redelivery",
                message(*m),
                consumer(c)
            ),
            None => format!(
                "broker: a lease timer for {} fires; nothing to do",
                message(*m)
            ),
        },
        Event::PhantomReturned { msg: m, op: o } => format!(
            "broker: deleted {} ({}) comes back: a server holding a copy missed the DeleteMessage (SQS standard delivers at least once even without a failure)",
            message(*m),
            op(*o)
        ),
        Event::WindowClosed { key } => format!(
            "broker: the 5-minute deduplication interval of id {key} elapses; a send with that MessageDeduplicationId is a new message again",
            key = key + 1
        ),
        Event::DeadLettered {
            msg: m,
            op: o,
            receives,
            dropped: false,
        } => format!(
            "broker moves {} ({}) to the dead-letter queue after {receives} receives (the receive limit): it will not be delivered again",
            message(*m),
            op(*o)
        ),
        Event::DeadLettered {
            msg: m,
            op: o,
            receives,
            dropped: true,
        } => format!(
            "broker dead-letters {} ({}) after {receives} deliveries (the delivery limit), and at-most-once dead-lettering loses it on the way",
            message(*m),
            op(*o)
        ),
        Event::Redriven { msg: m, op: o } => format!(
            "operator redrives {} ({}) from the dead-letter queue: it is back with its receive count reset (a replay)",
            message(*m),
            op(*o)
        ),
        Event::WorkStarted { consumer: c, msg } => format!(
            "{}: a pool worker starts the handler for {}",
            consumer(*c),
            words::record(p.log, *msg)
        ),
        Event::Rebalanced {
            from,
            to,
            generation,
            resumes_at,
            holding,
        } => {
            let zombie = if holding.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} is not told and still works on {} (a zombie)",
                    consumer(*from),
                    words::offsets(holding)
                )
            };
            format!(
                "rebalance: partition 0 moves from {} to {} (generation {generation}), which resumes at the committed {}{zombie}",
                consumer(*from),
                consumer(*to),
                offset(*resumes_at)
            )
        }
        Event::EffectTimedOut {
            consumer: c,
            job: j,
            op: o,
        } => format!(
            "{}'s call to the {} for {} ({}) times out with no reply; not knowing whether it committed, it sends the effect again",
            consumer(*c),
            words::store(&model.cfg),
            op(*o),
            words::job(*j)
        ),
        Event::AutoCommitTimer {
            consumer: c,
            offset: n,
        } => format!(
            "{}'s auto-commit timer fires (auto.commit.interval.ms): it commits the stored offset {n}, whatever its handler has finished",
            consumer(*c)
        ),
        Event::TransactionAborted {
            owner,
            generation,
            position,
            committed,
        } => format!(
            "transaction timeout: the coordinator aborts {}'s open transaction and bumps its producer epoch (generation {generation}); its position stays at {} while the committed offset is {} (an abort does not rewind the consumer)",
            consumer(*owner),
            offset(*position),
            committed
        ),
        Event::Seeked { consumer: c, to } => match to {
            Some(n) => format!(
                "{} seeks back to the committed {} and polls from there",
                consumer(*c),
                offset(*n)
            ),
            None => format!(
                "{} seeks back, but no longer owns the partition: it only asks for work",
                consumer(*c)
            ),
        },
        Event::Crashed {
            consumer: c,
            holding,
        } => {
            let holding: Vec<String> = holding
                .iter()
                .map(|j| format!("{} ({}), {}", op(j.op), job(j.job), stage_words(model, j.stage)))
                .collect();
            if holding.is_empty() {
                format!("{} crashes", consumer(*c))
            } else {
                format!(
                    "{} crashes while holding {}",
                    consumer(*c),
                    holding.join(" and ")
                )
            }
        }
        Event::ProducerCrashed {
            unconfirmed,
            unpublished,
        } => {
            if !unpublished.is_empty() {
                format!(
                    "the producer crashes after the business row of {} committed and before its event was published (a dual write)",
                    ops(unpublished)
                )
            } else if unconfirmed.is_empty() {
                "the producer crashes".to_string()
            } else {
                format!("the producer crashes with {} unconfirmed", ops(unconfirmed))
            }
        }
        Event::ProducerRestarted {
            session,
            republished,
            forgot,
        } => {
            let what = if !republished.is_empty() {
                format!(
                    "; its outbox relay re-publishes the unmarked {}",
                    ops(republished)
                )
            } else if !forgot.is_empty() && model.cfg.pipeline.publish == Publish::DualWrite {
                format!(
                    " with no memory of {}: its business row is in the database, but nothing there says its event is still to be published, so nobody publishes it",
                    ops(forgot)
                )
            } else if !forgot.is_empty() {
                format!(
                    " with no memory of {}: nothing durable says it was sent, so nobody re-publishes it",
                    ops(forgot)
                )
            } else {
                String::new()
            };
            format!("the producer restarts as session {session}{what}")
        }
        Event::Restarted {
            consumer: c,
            incarnation,
        } => format!(
            "{} restarts as incarnation {incarnation} with no memory of its work",
            consumer(*c)
        ),
        Event::Leased {
            msg: m,
            op: o,
            consumer: c,
            delivery,
        } => (words::vocabulary(p.vocabulary).lease)(
            &message(*m),
            &op(*o),
            &consumer(*c),
            *delivery,
            p.auto_ack,
        ),
        Event::Stored {
            op: o,
            msg: m,
            id,
            attempt,
            again,
            new_sequence,
            waits,
        } => {
            let what = if *attempt == 0 {
                op(*o)
            } else if *new_sequence {
                format!(
                    "the application's second send of {} (attempt {}: a new record with a new sequence number, which the idempotent producer cannot recognise)",
                    op(*o),
                    attempt + 1
                )
            } else {
                format!(
                    "the re-published {} (attempt {}, id {id})",
                    op(*o),
                    attempt + 1,
                    id = id + 1
                )
            };
            let again = if *again {
                format!(" — published; the broker now holds {} twice", op(*o))
            } else {
                " — published".to_string()
            };
            let d = p.durability;
            if *waits {
                format!(
                    "broker stores {what} as {} on the leader; the confirm waits until every in-sync replica has it (acks=all){again}",
                    message(*m)
                )
            } else if d.replicated() && d.acks == crate::pipeline::Acks::Leader {
                format!(
                    "broker stores {what} as {} on the leader and confirms at once, before any follower has it (acks=1){again}",
                    message(*m)
                )
            } else {
                format!(
                    "broker stores {what} as {} and confirms{again}",
                    message(*m)
                )
            }
        }
        Event::DuplicateDropped {
            op: o,
            id,
            waits: false,
        } => format!(
            "broker: duplicate publish of {} (id {id}) dropped, confirms again",
            op(*o),
            id = id + 1
        ),
        Event::DuplicateDropped {
            op: o,
            id,
            waits: true,
        } => format!(
            "broker: duplicate publish of {} (id {id}) dropped; its confirm waits with the original's for replication",
            op(*o),
            id = id + 1
        ),
        Event::Replicated {
            follower,
            msg: m,
            op: o,
            rejoined,
            confirmed,
        } => {
            let mut line = format!(
                "broker: {} copies {} ({})",
                words::follower(*follower),
                message(*m),
                op(*o)
            );
            if *rejoined {
                line.push_str(", caught up, and is back in the in-sync set");
            }
            if !confirmed.is_empty() {
                line.push_str(&format!(
                    "; now committed, the confirm of {} goes out",
                    ops(confirmed)
                ));
            }
            line
        }
        Event::IsrShrunk {
            follower,
            behind,
            confirmed,
        } => {
            let mut line = format!(
                "broker: {} falls {behind} record(s) behind for too long and leaves the in-sync set (replica.lag.time.max.ms); what it lacks no longer holds the commit back",
                words::follower(*follower)
            );
            if !confirmed.is_empty() {
                line.push_str(&format!(
                    "; the confirm of {} goes out without it",
                    ops(confirmed)
                ));
            }
            line
        }
        Event::FailedOver {
            follower,
            unclean,
            kept,
            cut,
            failed,
            released,
        } => {
            let mut line = if *unclean {
                format!(
                    "💥 broker leader fails; an unclean election makes the out-of-sync {} the leader, with the first {kept} record(s)",
                    words::follower(*follower)
                )
            } else {
                format!(
                    "💥 broker leader fails; the in-sync {} becomes the leader with the first {kept} record(s)",
                    words::follower(*follower)
                )
            };
            for (m, o, confirmed) in cut {
                line.push_str(&format!(
                    "; {} ({}) is gone{}",
                    message(*m),
                    op(*o),
                    if *confirmed {
                        " although its confirm went out (Leg 2)"
                    } else {
                        ", never confirmed"
                    }
                ));
            }
            if !failed.is_empty() {
                line.push_str(&format!(
                    "; the publish of {} fails with the old leader, unconfirmed",
                    ops(failed)
                ));
            }
            if !released.is_empty() {
                let ms: Vec<String> = released.iter().map(|&m| message(m)).collect();
                line.push_str(&format!(
                    "; the old leader's deliveries die with it, {} back in the queue",
                    ms.join(", ")
                ));
            }
            line
        }
        Event::Confirmed {
            op: o,
            stale_session: Some(session),
            ..
        } => format!(
            "a confirm for {} addressed to producer session {session} arrives; that session died with its connection, so nobody reads it",
            op(*o)
        ),
        Event::Confirmed {
            op: o, first: true, ..
        } => {
            format!("producer receives the confirm for {}", op(*o))
        }
        Event::Confirmed {
            op: o,
            first: false,
            ..
        } => format!(
            "producer receives another confirm for {} and ignores it",
            op(*o)
        ),
        Event::Delivered {
            consumer: c,
            op: o,
            job: j,
            dead_session: true,
            ..
        } => format!(
            "{} drops {} ({}): it was addressed to a session that ended with a crash",
            consumer(*c),
            op(*o),
            job(*j)
        ),
        Event::Delivered {
            consumer: c,
            op: o,
            job: j,
            dead_session: false,
            queued,
        } => {
            let next = match p.order {
                _ if *queued && p.processing == crate::pipeline::Processing::Async => {
                    "hands it to the worker pool"
                }
                _ if *queued => "it waits behind the earlier records of its poll",
                CompletionOrder::EffectThenCompletion if !p.touches_store() => {
                    "produces its output record inside a transaction"
                }
                CompletionOrder::EffectThenCompletion if p.poisoned(*o) => {
                    if p.poison_partial_effect {
                        "runs its handler, which applies part of the effect and fails (a poison message)"
                    } else {
                        "runs its handler, which fails (a poison message)"
                    }
                }
                CompletionOrder::EffectThenCompletion => {
                    match crate::model::consumer::first_request(&model.cfg, *j) {
                        Stage::Looking => "looks its ledger up first, in a transaction of its own",
                        Stage::Claiming => "writes its ledger row first, before the effect",
                        _ => "requests the effect",
                    }
                }
                CompletionOrder::CompletionThenEffect => {
                    "asks the broker to record completion before the effect"
                }
            };
            format!(
                "{} receives {} ({}) — delivered; {next}",
                consumer(*c),
                op(*o),
                job(*j)
            )
        }
        Event::Effect {
            op: o,
            job: j,
            key: k,
            skipped,
            key_written,
            times,
        } => {
            let api = model.cfg.pipeline.api();
            if *skipped && api {
                let k = k.expect("skipped only with a key");
                return format!(
                    "payment API finds Idempotency-Key {} and returns the first request's stored result: {} ({}) is not charged again — still {}",
                    key(k),
                    op(*o),
                    job(*j),
                    applied_times(*times)
                );
            }
            if *skipped {
                let k = k.expect("skipped only with a key");
                return format!(
                    "effect store finds key {} in its ledger and skips {} ({}) — still {}",
                    key(k),
                    op(*o),
                    job(*j),
                    applied_times(*times)
                );
            }
            let with_key = match k {
                Some(k) if *key_written && api => {
                    format!(
                        " with Idempotency-Key {}, stored with the request's result",
                        key(*k)
                    )
                }
                Some(k) if *key_written => {
                    format!(" and writes ledger key {} in the same transaction", key(*k))
                }
                _ => String::new(),
            };
            if api && *key_written {
                return format!(
                    "payment API's call for {} ({}) finishes: charged{with_key} — effect committed, {}",
                    op(*o),
                    job(*j),
                    applied_times(*times)
                );
            }
            if api {
                return format!(
                    "payment API executes {} ({}){with_key} — effect committed, {}",
                    op(*o),
                    job(*j),
                    applied_times(*times)
                );
            }
            format!(
                "effect store applies {} ({}){with_key} — effect committed, {}",
                op(*o),
                job(*j),
                applied_times(*times)
            )
        }
        Event::CallStarted {
            op: o,
            job: j,
            key: k,
            concurrent: false,
        } => format!(
            "payment API starts the call for {} ({}): no stored result for Idempotency-Key {}, which the call now holds until it finishes",
            op(*o),
            job(*j),
            key(*k)
        ),
        Event::CallStarted {
            op: o,
            job: j,
            key: k,
            ..
        } => format!(
            "payment API starts the call for {} ({}) although a call with Idempotency-Key {} is still running: it only looks the key up when a call starts and stores it when the call finishes",
            op(*o),
            job(*j),
            key(*k)
        ),
        Event::CallConflict {
            op: o,
            job: j,
            key: k,
        } => format!(
            "payment API answers the call for {} ({}) with 409 Conflict: a call with Idempotency-Key {} is still running; nothing is stored",
            op(*o),
            job(*j),
            key(*k)
        ),
        Event::LedgerRow {
            op: o,
            key: k,
            already: true,
            before_effect: false,
        } => format!(
            "{} already holds ledger key {} for {}; nothing to write",
            words::ledger_home(&model.cfg),
            key(*k),
            op(*o)
        ),
        Event::LedgerRow {
            op: o,
            key: k,
            already: true,
            before_effect: true,
        } => format!(
            "{} already holds ledger key {} for {}: the insert before the effect finds it",
            words::ledger_home(&model.cfg),
            key(*k),
            op(*o)
        ),
        Event::LedgerRow {
            op: o,
            key: k,
            already: false,
            before_effect,
        } => format!(
            "{} writes ledger key {} for {} in a separate step {} the effect",
            words::ledger_home(&model.cfg),
            key(*k),
            op(*o),
            if *before_effect { "before" } else { "after" }
        ),
        Event::Lookup {
            op: o,
            key: k,
            found,
        } => format!(
            "{} looks ledger key {} for {} up in a transaction of its own: {}",
            words::ledger_home(&model.cfg),
            key(*k),
            op(*o),
            if *found {
                "found"
            } else {
                "absent (and nothing reserves it until this holder writes it)"
            }
        ),
        Event::Completion {
            consumer: c,
            op: o,
            job: j,
            outcome,
            also,
            covers,
        } => format!(
            "{} {} {} ({}) — {}{}",
            consumer(*c),
            words::vocabulary(p.vocabulary).complete,
            op(*o),
            job(*j),
            words::completion(j.msg, *outcome).0,
            words::also_acks(also, covers)
        ),
        Event::Committed {
            consumer: c,
            op: o,
            offset: n,
            outcome,
            covers,
            transaction,
        } => {
            let sentence = words::commit(*n, *outcome, covers, *transaction, &op(*o)).0;
            if transaction.is_some() {
                format!("{} {sentence}", consumer(*c))
            } else {
                format!("{} {sentence} for {}", consumer(*c), op(*o))
            }
        }
        Event::Fetched {
            consumer: c,
            first,
            last,
            generation,
        } => {
            let what = if first == last {
                offset(*first)
            } else {
                format!("offsets {first}–{last}")
            };
            format!("{} polls {what} (generation {generation})", consumer(*c))
        }
        Event::Reply {
            consumer: c,
            op: o,
            job: j,
            msg,
            outcome,
        } => reply(*c, *o, *j, msg, *outcome, p.transactions),
        Event::Polled { src } => format!("{} asks the broker for the next message", actor(*src)),
        Event::Rejoined {
            consumer: c,
            incarnation,
            released,
            resumes_at,
        } => {
            if let Some(n) = resumes_at {
                format!(
                    "{} rejoins the group (session {incarnation}) and resumes at the committed {}, not at the furthest record it had touched",
                    consumer(*c),
                    offset(*n)
                )
            } else if released.is_empty() {
                format!(
                    "{} rejoins the broker (session {incarnation})",
                    consumer(*c)
                )
            } else {
                let released: Vec<String> = released.iter().map(|&m| message(m)).collect();
                format!(
                    "{} rejoins the broker (session {incarnation}); {} {} for redelivery",
                    consumer(*c),
                    words::vocabulary(p.vocabulary).released,
                    released.join(" and ")
                )
            }
        }
    }
}

fn lost(model: &Model, src: Id, dst: Id, msg: &Msg) -> String {
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
        Msg::Applied { job: j, .. } => format!(
            "the {}'s reply to {} ({}) is lost after its transaction committed (a dropped reply, or the store crashed between commit and reply)",
            words::store(&model.cfg),
            actor(dst),
            words::job(*j)
        ),
        other => format!(
            "a message from {} to {} is lost: {other:?}",
            actor(src),
            actor(dst)
        ),
    }
}

fn retry(model: &Model, o: u8, outcome: RetryOutcome) -> String {
    match outcome {
        RetryOutcome::Idle => format!("producer's retry timer for {} fires; nothing to do", op(o)),
        RetryOutcome::GaveUp { attempts } => match model.cfg.pipeline.give_up {
            GiveUp::Report => format!(
                "producer: no confirm for {} after {attempts} attempt(s); gives up and reports the failure to its caller",
                op(o)
            ),
            GiveUp::Silent => format!(
                "producer: no confirm for {} after {attempts} attempt(s); gives up without telling anyone",
                op(o)
            ),
        },
        RetryOutcome::Republished {
            attempt,
            id,
            spurious,
        } => {
            let why = if spurious {
                "the confirm is late but still on its way"
            } else {
                "every earlier attempt or its confirm was lost"
            };
            format!(
                "producer: no confirm for {} ({why}), re-publishes it (attempt {}, id {id})",
                op(o),
                attempt + 1,
                id = id + 1
            )
        }
    }
}

fn stage_words(model: &Model, stage: Stage) -> String {
    match stage {
        Stage::Applying => return format!("waiting for the {}'s reply", words::store(&model.cfg)),
        Stage::Queued => "not started yet (waiting behind earlier records, or for a pool worker)",
        Stage::Recording => "waiting for its ledger row to be written",
        Stage::Completing => "waiting for the broker to record completion",
        Stage::Looking => "waiting for its ledger lookup",
        Stage::Claiming => "waiting for its ledger row to be written before the effect",
    }
    .to_string()
}

/// A reply to a consumer: what it learns, and what it does next.
fn reply(c: u8, o: u8, j: JobRef, msg: &Msg, outcome: ReplyOutcome, txn: bool) -> String {
    let o = op(o);
    let (records_next, applies_next, completes_next) = match outcome {
        ReplyOutcome::Ignored { incarnation } => {
            let from = if matches!(msg, Msg::Completed { .. }) {
                "broker"
            } else {
                "effect store"
            };
            return format!(
                "{} ignores the {from}'s reply about {o} ({}): incarnation {incarnation} holds no such work",
                consumer(c),
                job(j),
            );
        }
        ReplyOutcome::Taken {
            records_next,
            applies_next,
            completes_next,
        } => (records_next, applies_next, completes_next),
    };
    let learns = match *msg {
        Msg::Applied { fresh: true, .. } => format!("learns {o} is applied"),
        Msg::Applied { fresh: false, .. } => format!("learns {o} was already applied"),
        Msg::Conflict { .. } => format!(
            "gets 409 for {o} (a call with its key is still running) and sends the call again with the same key"
        ),
        Msg::Claimed { fresh: false, .. } if !applies_next => {
            format!("learns {o}'s ledger row already exists and counts {o} as done")
        }
        Msg::Recorded { .. } | Msg::Claimed { .. } => {
            format!("learns the ledger row for {o} is written")
        }
        Msg::LookedUp { found: true, .. } => {
            format!("learns the ledger holds {o} and skips its effect")
        }
        Msg::LookedUp { found: false, .. } => format!("learns the ledger has no row for {o}"),
        Msg::Completed { accepted: true, .. } if txn => {
            format!("learns its transaction for {} committed", message(j.msg))
        }
        Msg::Completed { .. } if txn => format!(
            "learns its transaction for {} did not commit (ProducerFencedException: fenced or aborted) and drops {o} with the rest of its batch",
            message(j.msg)
        ),
        Msg::Completed { accepted: true, .. } => format!(
            "learns completion of {} is recorded, then requests the effect of {o}",
            message(j.msg)
        ),
        _ => format!(
            "learns its lease on {} is gone and drops {o}",
            message(j.msg)
        ),
    };
    let mut line = format!("{} {learns}", consumer(c));
    if records_next {
        line.push_str("; writes its ledger row next");
    } else if applies_next {
        line.push_str(&format!("; requests the effect of {o} next"));
    } else if completes_next {
        line.push_str(&format!("; sends completion of {}", job(j)));
    }
    line
}

/// The closing line of a *progress* counterexample: the cycle, and what it
/// never applies.
fn cycle_line(model: &Model, trace: &Trace, k: usize, property: &str) -> String {
    let stuck: Vec<String> = properties::stuck(model, trace.last_state())
        .into_iter()
        .map(op)
        .collect();
    format!(
        "↺ steps {}–{} repeat forever (one cycle of a set of {} states a fair run can stay in: every step enabled in it again and again is taken in it); {} never applied ✗ {property}",
        k + 1,
        trace.len(),
        trace.fair_states,
        stuck.join(" and ")
    )
}

/// The closing line of a "no loss" counterexample: the loss shows only
/// once nothing but a further fault could still deliver the operation.
fn at_rest_loss(model: &Model, s: &State, property: &str) -> String {
    let parts: Vec<String> = properties::unapplied_owed(model, s)
        .iter()
        .map(|&o| why_unapplied(model, s, o))
        .collect();
    format!("system at rest: {} ✗ {property}", parts.join("; "))
}

/// How an owed operation ended up never applied, in one clause.
fn why_unapplied(model: &Model, s: &State, o: u8) -> String {
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
        } else if p.forgot(&model.cfg, o) && model.cfg.pipeline.publish == Publish::DualWrite {
            format!(
                "{}'s business row committed, but its event never reached the broker: the producer's crash fell between the two writes, and nothing durable relays it — Leg 1",
                op(o)
            )
        } else if p.forgot(&model.cfg, o) {
            format!(
                "{} was published, the publish was lost, and the producer's crash took its only record of it: nobody applied it — Leg 1",
                op(o)
            )
        } else if confirmed && b.replication.is_some() {
            // A replicated broker confirms only what it appended: the
            // record was there, and a failover cut it.
            format!(
                "{} was confirmed to the producer, but a leader failover cut its message from the log before a follower that took over had it — Leg 2",
                op(o)
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

/// One state in domain words, one line per actor (and one for the
/// messages on their way), for the Explorer's state panel: stateright
/// prints a state as its Rust `Debug`, which counts operations, messages
/// and consumers from 0 and names actors by index. Read from the same
/// typed views the events use, so the words agree with the narrative's.
pub fn state_lines(model: &Model, s: &State) -> Vec<String> {
    let cfg = &model.cfg;
    let ops_of = |pick: &dyn Fn(usize) -> bool| -> Vec<u8> {
        (0..cfg.bounds.operations as usize)
            .filter(|&o| pick(o))
            .map(|o| o as u8)
            .collect()
    };
    let p = model::producer(s);
    let handed = |o: usize| s.history.promised & (1 << o) != 0;
    let mut producer = Vec::new();
    for (label, list) in [
        ("confirmed", ops_of(&|o| p.acked[o])),
        ("gave up on", ops_of(&|o| p.gave_up[o])),
        (
            "waits for the confirm of",
            ops_of(&|o| handed(o) && !p.acked[o] && !p.gave_up[o]),
        ),
        ("not handed yet", ops_of(&|o| !handed(o))),
    ] {
        if !list.is_empty() {
            producer.push(format!("{label} {}", ops(&list)));
        }
    }
    let retried = ops_of(&|o| p.retried[o] > 0);
    if !retried.is_empty() {
        let each: Vec<String> = retried
            .iter()
            .map(|&o| format!("{} {}×", op(o), p.retried[o as usize]))
            .collect();
        producer.push(format!("retried {}", each.join(", ")));
    }
    let mut lines = vec![format!(
        "producer{}: {}",
        if s.crashed[model::PRODUCER] {
            " (down)"
        } else {
            ""
        },
        if producer.is_empty() {
            "nothing to do".to_string()
        } else {
            producer.join("; ")
        }
    )];

    let v = words::vocabulary(cfg.pipeline.vocabulary);
    let log = model::broker(s).log.is_some();
    let messages: Vec<String> = model::broker(s)
        .messages
        .iter()
        .enumerate()
        .map(|(m, e)| {
            let status = match e.status {
                Status::Ready => "ready".to_string(),
                Status::Leased {
                    consumer: c,
                    delivery,
                } => {
                    format!("{} {} (delivery {delivery})", v.lease_note, consumer(c))
                }
                Status::Done => "done".to_string(),
                Status::DeadLettered => "dead-lettered".to_string(),
            };
            format!("{} ({}) {status}", words::record(log, m as u8), op(e.op))
        })
        .collect();
    lines.push(format!(
        "broker: {}",
        if messages.is_empty() {
            "no messages".to_string()
        } else {
            messages.join("; ")
        }
    ));

    for (c, down, state) in model::consumers(s) {
        let work: Vec<String> = state
            .jobs
            .iter()
            .map(|j| {
                format!(
                    "{} ({}), {}",
                    op(j.op),
                    job(j.job),
                    stage_words(model, j.stage)
                )
            })
            .collect();
        lines.push(format!(
            "{}: {}",
            consumer(c),
            if down {
                "down".to_string()
            } else if work.is_empty() {
                "idle".to_string()
            } else {
                work.join("; ")
            }
        ));
    }

    // The sinks' counts as the aftermath's last line gives them.
    let applied = at_rest_summary(cfg, s);
    lines.push(format!(
        "applied: {}",
        applied.trim_start_matches("system at rest: ")
    ));
    let on_the_way = model::in_flight(s).count();
    lines.push(match on_the_way {
        0 => "no message on its way".to_string(),
        1 => "1 message on its way".to_string(),
        n => format!("{n} messages on their way"),
    });
    lines
}

/// Each operation's applications in every sink the pipeline writes to
/// (named when there is more than one).
fn at_rest_summary(cfg: &crate::pipeline::Config, s: &State) -> String {
    let sinks = crate::model::sinks::in_use(cfg);
    let parts: Vec<String> = sinks
        .iter()
        .map(|k| {
            let counts: Vec<String> = (k.spec().applied)(s)
                .iter()
                .enumerate()
                .map(|(o, &n)| format!("{} {}", op(o as u8), applied_times(n)))
                .collect();
            if sinks.len() > 1 || *k != crate::model::sinks::Sink::Database {
                format!("{} in {}", counts.join(", "), k.spec().name)
            } else {
                counts.join(", ")
            }
        })
        .collect();
    format!("system at rest: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::msg::{JobRef, Key};

    #[test]
    fn humans_count_from_one() {
        assert_eq!(op(0), "op 1");
        assert_eq!(message(1), "message 2");
        assert_eq!(consumer(0), "consumer 1");
        assert_eq!(
            key(Key::Delivery(JobRef {
                msg: 0,
                delivery: 2,
                generation: 0,
            })),
            "delivery 2 of message 1"
        );
        assert_eq!(applied_times(2), "applied 2×");
    }
}
