//! The closing lines of a counterexample: which leg failed, between which
//! two boundaries the gap lies, and the guarantee a reviewer should demand
//! (DOMAIN.md, "The guarantee statement a review should accept"). Derived
//! from the trace itself (where the applications came from and what lay
//! between them) and from the pipeline's parts.

use super::events::{CommitOutcome, Event, of_trace};
use super::words::{message, op};
use crate::check::Trace;
use crate::model::broker::Status;
use crate::model::properties::NO_LOSS;
use crate::model::sinks::Sink;
use crate::model::{self, Model};
use crate::pipeline::{
    AfterAbort, AttemptIds, AutoCommit, CompletionOrder, LedgerKey, LedgerWrite, Lookup, Resend,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// "Leg 1, producer → broker", "Leg 2, broker durability" or
    /// "Leg 3, broker → consumer".
    pub leg: String,
    /// The two boundaries the failure falls between, e.g.
    /// "effect committed → completion recorded".
    pub gap: String,
    /// The sentence a design review should demand.
    pub guarantee: String,
}

/// Why a dedup row of ours cannot guard an API call, and what can.
const API_ROW: &str = "The API call and our database's dedup row are two systems that no transaction spans (W3): pass the operation id as the API's Idempotency-Key, which the provider checks in the call's own transaction";

/// W2's remedy, named by the pattern.
const API_CHECK_THEN_ACT: &str = "Check-then-act at the payment service: it looks the Idempotency-Key up when a call starts and stores it only when the call finishes, so two calls with one key can both find no stored result (W2); take the key when a call starts and answer a concurrent call with it 409, as Stripe does (`store.check = \"unique-insert\"`)";
const CHECK_THEN_ACT: &str = "Check-then-act: the lookup and the insert are separate transactions, so two holders of one operation can both pass the check (W2); make the insert unique and part of the effect's transaction (`store.check = \"unique-insert\"`)";

pub const LEG1: &str = "Leg 1, producer → broker";
pub const LEG2: &str = "Leg 2, broker durability";
pub const LEG3: &str = "Leg 3, broker → consumer";

/// An effect application the store committed (not skipped by its ledger).
struct Application {
    step: usize,
    /// The record (message) that was applied.
    msg: u8,
    /// The delivery that applied it (a committed transaction has none).
    delivery: Option<u8>,
}

/// The steps that applied `o` in `sink`: an effect the store committed, or
/// a transaction that wrote its output record.
fn applications(model: &Model, trace: &Trace, sink: Sink, o: u8) -> Vec<Application> {
    of_trace(model, trace)
        .enumerate()
        .filter_map(|(step, (_, _, e))| match (sink, e) {
            (
                Sink::Database,
                Event::Effect {
                    op,
                    job,
                    skipped: false,
                    ..
                },
            ) if op == o => Some(Application {
                step,
                msg: job.msg,
                delivery: Some(job.delivery),
            }),
            (
                Sink::OutputTopic,
                Event::Committed {
                    op,
                    offset,
                    outcome,
                    transaction: Some(_),
                    ..
                },
            ) if op == o
                && !matches!(
                    outcome,
                    CommitOutcome::Fenced { .. } | CommitOutcome::Aborted
                ) =>
            {
                Some(Application {
                    step,
                    msg: offset - 1,
                    delivery: None,
                })
            }
            _ => None,
        })
        .collect()
}

/// How the broker came to hand one message out again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Redelivery {
    LeaseExpiry,
    Rebalance,
    Crash,
    Unknown,
}

fn redelivery_cause(model: &Model, trace: &Trace, msg: u8, from: usize, to: usize) -> Redelivery {
    let mut crash = false;
    for (step, (_, _, e)) in of_trace(model, trace).enumerate() {
        if step < from || step > to {
            continue;
        }
        match e {
            Event::LeaseTimer {
                msg: m,
                expired: Some(_),
            } if m == msg => return Redelivery::LeaseExpiry,
            Event::Rebalanced { holding, .. } if holding.contains(&msg) => {
                return Redelivery::Rebalance;
            }
            Event::Crashed { holding, .. } => crash |= holding.iter().any(|h| h.job.msg == msg),
            _ => {}
        }
    }
    if crash {
        Redelivery::Crash
    } else {
        Redelivery::Unknown
    }
}

fn diagnosis(leg: &str, gap: &str, guarantee: String) -> Diagnosis {
    Diagnosis {
        leg: leg.to_string(),
        gap: gap.to_string(),
        guarantee,
    }
}

pub fn diagnose(model: &Model, trace: &Trace, property: &str) -> Diagnosis {
    if property == NO_LOSS {
        diagnose_loss(model, trace)
    } else if property == crate::model::properties::PROGRESS {
        diagnose_cycle(model, trace)
    } else {
        diagnose_duplicate(model, trace)
    }
}

const STORE_REFUSES: &str = "the effect store must refuse an operation id it has already applied, checked in the same transaction as the effect";

fn diagnose_duplicate(model: &Model, trace: &Trace) -> Diagnosis {
    let p = &model.cfg.pipeline;
    let last = trace.last_state();
    let Some((sink, dup)) = crate::model::sinks::duplicated(last) else {
        return diagnosis(
            "unknown",
            "unknown",
            "The trace shows no operation applied twice.".to_string(),
        );
    };
    if sink == Sink::Partial {
        let o = op(dup);
        return diagnosis(
            LEG3,
            "handler failed → redelivered (the part before the failure repeats)",
            format!(
                "A handler must be all or nothing: {o}'s handler applied part of its effect, outside the ledger's transaction, before it failed, and every redelivery of the poison message repeats that part. Put every part in the effect's transaction (with the ledger row), or key each part by the operation id, and bound the redeliveries with a receive limit and a dead-letter queue."
            ),
        );
    }
    let apps = applications(model, trace, sink, dup);
    let (first, second) = match apps.as_slice() {
        [a, b, ..] => (a, b),
        _ => {
            return diagnosis(
                "unknown",
                "unknown",
                format!(
                    "{} was applied twice, but not by two visible applications.",
                    op(dup)
                ),
            );
        }
    };

    if let Some(d) = expired_before_replay(model, trace, dup, first, second) {
        return d;
    }

    if first.msg != second.msg {
        // Two broker messages of one operation: a retried publish stored twice.
        let gap = "published → published (one operation stored as two messages)";
        let o = op(dup);
        let relayed = of_trace(model, trace).find_map(|(_, _, e)| match e {
            Event::ProducerRestarted {
                session,
                republished,
                ..
            } if republished.contains(&dup) => Some(session),
            _ => None,
        });
        let guarantee = if let Some(session) = relayed {
            let broker = if p.publish_dedup && p.dedup_per_session {
                "the broker's publish dedup recognises retries within one producer session only (K2), and the restarted relay is a new one, so it stored both"
            } else if p.publish_dedup {
                "the broker's dedup window had closed, so it stored both"
            } else {
                "nothing at the broker deduplicates publishes, so it stored both"
            };
            format!(
                "The effect store must refuse an operation id it has already applied (key the ledger by the outbox event id): an outbox relay publishes at least once, and after its restart as session {session} it re-published {o}, whose confirm the crash had cut; {broker}."
            )
        } else if p.ledger_key == LedgerKey::OperationId && !p.ledger_check {
            format!(
                "The effect store must look the operation id up and skip the effect in the same transaction as the effect: the producer's retry stored {o} as two messages, and a ledger that is written but never checked refuses neither."
            )
        } else if p.ledger_key == LedgerKey::OperationId
            && p.lookup == Lookup::CheckThenAct
            && p.api_keyed()
        {
            format!(
                "{API_CHECK_THEN_ACT}: the producer's retry stored {o} as two messages, and their holders' two calls both started before either stored the key."
            )
        } else if p.ledger_key == LedgerKey::OperationId && p.lookup == Lookup::CheckThenAct {
            format!(
                "{CHECK_THEN_ACT}: the producer's retry stored {o} as two messages, and their two holders both found no row before either wrote one."
            )
        } else if p.ledger_key == LedgerKey::OperationId
            && p.ledger_write == LedgerWrite::AfterEffect
        {
            format!(
                "The operation id must be written in the same transaction as the effect: the producer's retry stored {o} as two messages, and with the ledger row written after the effect both copies pass the check before either is recorded."
            )
        } else if p.attempt_ids == AttemptIds::FreshPerAttempt
            && (p.publish_dedup || p.ledger_key == LedgerKey::OperationId)
        {
            let checks = match (p.publish_dedup, p.ledger_key == LedgerKey::OperationId) {
                (true, true) => "the broker's publish dedup and the effect store's ledger see",
                (true, false) => "the broker's publish dedup sees",
                _ => "the effect store's ledger sees",
            };
            format!(
                "Every publish attempt must carry the operation's stable id: the producer minted a fresh id for its retry of {o}, so {checks} two different operations. The broker must deduplicate a retried publish of the same operation id, or the effect store must refuse an operation id it has already applied."
            )
        } else if p.publish_dedup && p.resend == Resend::Application {
            format!(
                "The idempotent producer deduplicates only the client's own retries (K2: one sequence number per record): the application called send again for {o}, which is a new record with a new sequence number, and the broker stored both. Let the client retry (`retries`, `delivery.timeout.ms`) instead of re-sending, or the effect store must refuse an operation id it has already applied."
            )
        } else if p.ledger_key == LedgerKey::BrokerOffset {
            format!(
                "The broker must deduplicate a retried publish of the same operation id (idempotent producer, FIFO deduplication id), or the effect store must refuse an operation id it has already applied: committing the offset with the effect stops the replay of one message, but the producer's retry stored {o} as a second message with its own offset."
            )
        } else {
            format!(
                "The broker must deduplicate a retried publish of the same operation id, or the effect store must refuse an operation id it has already applied: the producer retried {o} when its confirm was late, and the broker stored both copies."
            )
        };
        return diagnosis(LEG1, gap, guarantee);
    }

    // One delivery applied twice: only the consumer's own retry of an
    // effect whose reply it never got sends it again.
    if first.msg == second.msg && first.delivery.is_some() && first.delivery == second.delivery {
        let c = of_trace(model, trace)
            .skip(first.step)
            .take(second.step - first.step)
            .find_map(|(_, _, e)| match e {
                Event::EffectTimedOut { consumer, op, .. } if op == dup => Some(consumer),
                _ => None,
            });
        if let Some(c) = c {
            let o = op(dup);
            let why = format!(
                "the store committed {o}'s effect, its reply to {} was lost (a dropped reply, a store crash between commit and reply, or a reply later than the client's timeout), and the consumer, unable to tell a committed effect from a failed one, sent it again",
                super::words::consumer(c)
            );
            let guarantee = match (p.ledger_key, p.ledger_check, p.ledger_write) {
                (LedgerKey::None, _, _) if p.api() => format!(
                    "A call whose outcome is unknown may be retried only with the same Idempotency-Key, the operation id: the provider then answers the repeat with the first request's stored result. Here {why}."
                ),
                (LedgerKey::None, _, _) => format!(
                    "A request whose outcome is unknown may be retried only against an effect that refuses a repeat: {STORE_REFUSES} (or the API's idempotency key, the operation id): {why}. Without that, do not retry on timeout; reconcile instead."
                ),
                (_, false, _) => format!(
                    "The effect store must look the key up and skip the effect in the same transaction as the effect: a ledger row that is written but never checked refuses nothing; {why}."
                ),
                (_, _, LedgerWrite::AfterEffect) => format!(
                    "The ledger row must commit in the same transaction as the effect: {why}, and the row written after the effect was not there yet to refuse the retry."
                ),
                _ => format!("{STORE_REFUSES}: {why}."),
            };
            return diagnosis(LEG3, "effect committed → effect reply received", guarantee);
        }
    }

    // One broker message handed out twice.
    // An output record is written by the commit itself, so what put a
    // second holder to work can come before the first application.
    // So can a lease that expired between a separate lookup and its effect.
    let check_then_act = p.lookup == Lookup::CheckThenAct && p.has_ledger() && p.ledger_check;
    let from = if sink == Sink::OutputTopic || check_then_act {
        0
    } else {
        first.step
    };
    let cause = redelivery_cause(model, trace, first.msg, from, second.step);
    let gap = if sink == Sink::OutputTopic {
        "partition moved → the older generation's transaction committed"
    } else if check_then_act && p.api_keyed() {
        "call started → key stored (another call with the key started in between)"
    } else if check_then_act {
        "ledger looked up → key inserted (another holder passed the same lookup)"
    } else {
        "effect committed → completion recorded"
    };
    let m = message(first.msg);
    let (why, remedy_tail) = match cause {
        Redelivery::LeaseExpiry => (
            format!(
                "the lease on {m} expired while its holder still worked, so a second consumer applied the same operation at the same time, with no crash at all"
            ),
            " A longer lease only narrows the window; it does not close it.",
        ),
        Redelivery::Rebalance => (
            format!(
                "a rebalance moved the partition while its owner still worked on {m}, and the new owner resumed from the committed offset behind it (the old owner, a zombie, applied the effect anyway)"
            ),
            " Fencing stops the zombie's commit, not its side effect.",
        ),
        Redelivery::Crash if check_then_act && p.api_keyed() => (
            format!(
                "a consumer crashed while its call was running at the payment service, so the broker redelivered {m} before that call had finished"
            ),
            "",
        ),
        Redelivery::Crash if check_then_act => (
            format!(
                "a consumer crashed after its lookup, with its effect request still on its way to the store, so the broker redelivered {m} while that request had not yet committed"
            ),
            "",
        ),
        Redelivery::Crash => (
            format!(
                "a consumer crashed after the effect committed and before completion was recorded, so the broker, correctly, redelivered {m}"
            ),
            " Acking before the effect trades the duplicate for a loss; it does not close the gap.",
        ),
        Redelivery::Unknown => (
            format!("the broker redelivered {m} after its effect had committed"),
            "",
        ),
    };
    let guarantee = match (p.ledger_key, p.ledger_check, p.ledger_write) {
        _ if sink == Sink::OutputTopic => format!(
            "The group coordinator must fence a transaction from an older generation (KIP-447: the generation goes with sendOffsetsToTransaction, and the zombie's transaction aborts): {why}, and its transaction committed a second output record for {}.",
            op(dup)
        ),
        (LedgerKey::None, _, _) if p.transactions => format!(
            "A Kafka transaction covers Kafka writes and offsets only (K3): an effect outside it, an API call or a database write in the handler, is not undone when the transaction aborts, so {STORE_REFUSES}, keyed by a durable operation identity: {why}.{remedy_tail}"
        ),
        (LedgerKey::None, _, _) => format!(
            "The broker promises only at-least-once delivery; the consumer must carry a durable operation identity to the side-effect boundary, and {STORE_REFUSES}: {why}.{remedy_tail}"
        ),
        (LedgerKey::Delivery, _, _) if p.api() => format!(
            "The Idempotency-Key must be the operation id, not the delivery: every redelivery carries a new receipt handle, so the payment API sees a new key and charges again; {why}."
        ),
        (LedgerKey::Delivery, _, _) => format!(
            "The ledger must be keyed by the operation id (or the message's offset), not by the delivery: every redelivery carries a new receipt handle, so the effect store never finds the key; {why}."
        ),
        (_, false, _) => format!(
            "The effect store must look the key up and skip the effect in the same transaction as the effect (a conditional commit): a ledger row that is written but never checked refuses nothing; {why}."
        ),
        _ if check_then_act && p.api_keyed() => format!(
            "{API_CHECK_THEN_ACT}: {why}, and both calls started before either stored the key."
        ),
        _ if check_then_act => format!(
            "{CHECK_THEN_ACT}: {why}, and both holders found no row before either wrote one."
        ),
        (_, _, LedgerWrite::AfterEffect) if p.api() => format!(
            "{API_ROW}: {why}, and our dedup row, written after the call, was not there yet."
        ),
        (_, _, LedgerWrite::AfterEffect) => {
            let race = match cause {
                Redelivery::LeaseExpiry | Redelivery::Rebalance => {
                    "two concurrent deliveries both found no row before either wrote one (check-then-act)"
                }
                _ => "nothing recorded the application before the redelivery arrived",
            };
            format!(
                "The ledger row must commit in the same transaction as the effect, not in a separate step after it: {why}, and {race}."
            )
        }
        _ => format!("The effect store must refuse an operation it has already applied: {why}."),
    };
    diagnosis(LEG3, gap, guarantee)
}

/// A *progress* counterexample: what the cycle keeps doing, and what it
/// never gets to.
fn diagnose_cycle(model: &Model, trace: &Trace) -> Diagnosis {
    let p = &model.cfg.pipeline;
    let from = trace.cycle_from.unwrap_or(0);
    let stuck: Vec<String> = crate::model::properties::stuck(model, trace.last_state())
        .into_iter()
        .map(op)
        .collect();
    let stuck = stuck.join(" and ");
    let poison = of_trace(model, trace)
        .skip(from)
        .find_map(|(_, _, e)| match e {
            Event::Released { op: o, .. } if p.poisoned(o) => Some(o),
            _ => None,
        });
    match poison {
        Some(o) => {
            let behind = if p.one_group {
                format!(
                    "{stuck}, behind it in the same message group, is never delivered (FIFO order holds the group until it is gone)"
                )
            } else {
                format!(
                    "{stuck} is never applied (the broker hands out its oldest ready message first, and the poison is it each time it comes back)"
                )
            };
            diagnosis(
                LEG3,
                "handler failed → redelivered (forever)",
                format!(
                    "A poison message needs a bound: {}'s handler fails on every delivery and the broker hands it out again forever, so {behind}. Set a receive limit (`max-receive-count`, `delivery-limit`) with a dead-letter queue, or park the failing message and move on, and alert on it.",
                    op(o)
                ),
            )
        }
        None => diagnosis(
            LEG3,
            "the pipeline cycles without applying",
            format!(
                "The pipeline can repeat the steps of the cycle forever, every one of them fairly, without applying {stuck}."
            ),
        ),
    }
}

/// W4: the ledger's retention dropped the operation's key between its two
/// applications, while a copy could still arrive.
fn expired_before_replay(
    model: &Model,
    trace: &Trace,
    dup: u8,
    first: &Application,
    second: &Application,
) -> Option<Diagnosis> {
    let between = || {
        of_trace(model, trace)
            .skip(first.step)
            .take(second.step - first.step)
            .map(|(_, _, e)| e)
    };
    between()
        .find(|e| matches!(e, Event::KeyExpired { op, replay_possible: true, .. } if *op == dup))?;
    let source = if first.msg != second.msg {
        "the producer's retry (stored as a second message)"
    } else if between().any(|e| matches!(e, Event::Replayed { reset: true, .. })) {
        "an operator's reset of the group's offsets"
    } else if between().any(|e| matches!(e, Event::Replayed { .. })) {
        "an operator's replay"
    } else if between().any(|e| matches!(e, Event::Redriven { .. })) {
        "an operator's redrive of the dead-letter queue"
    } else if between().any(|e| matches!(e, Event::PhantomReturned { .. })) {
        "a deleted message that came back"
    } else {
        "a redelivery of the same message"
    };
    let o = op(dup);
    let keys = if model.cfg.pipeline.api() {
        "the payment API's key table (Stripe prunes keys after at least 24 h)"
    } else {
        "the ledger"
    };
    Some(diagnosis(
        LEG3,
        "ledger key expired → replay arrived",
        format!(
            "Retention shorter than the replay horizon (W4): {keys} dropped {o}'s key while a copy of it could still arrive, and {source} found no key. Keep the keys longer than every replay source lasts (the producer's retries, redeliveries, the dead-letter queue's retention and any redrive or operator replay; `store.retention = \"longer-than-replay\"` states it), or refuse on a durable business key that never expires."
        ),
    ))
}

/// A failover cut a record of `lost`: the loss is the broker's.
fn leg2_loss(model: &Model, trace: &Trace, lost: u8) -> Option<Diagnosis> {
    let o = op(lost);
    let (unclean, confirmed) = of_trace(model, trace).find_map(|(_, _, e)| match e {
        Event::FailedOver { unclean, cut, .. } => cut
            .iter()
            .find(|c| c.1 == lost)
            .map(|&(_, _, confirmed)| (unclean, confirmed)),
        _ => None,
    })?;
    let d = model.cfg.pipeline.durability;
    let why = match (confirmed, unclean) {
        (true, true) => format!(
            "{o} was confirmed while the follower that later took over was out of the in-sync set, and the unclean election made that follower, which never had it, the leader"
        ),
        (true, false) => format!(
            "the leader confirmed {o} on its own append (acks=1), before any follower had it, and the failover made a follower without it the leader"
        ),
        (false, _) => format!(
            "the failover cut {o} from the log before it was confirmed, and nothing stored it again where a consumer reads it"
        ),
    };
    let after = if confirmed {
        "the producer, confirmed, never re-published"
    } else {
        "the consumer's committed offset had already passed where its re-publish landed"
    };
    let fix = if d.acks == crate::pipeline::Acks::Leader {
        "confirm only once the in-sync replicas hold the message (`broker.acks = \"all\"` with `broker.min-in-sync` ≥ 2)"
    } else if d.unclean_election {
        "never elect a follower that left the in-sync set (`broker.unclean-election = false`), and confirm only while `min-in-sync` ≥ 2 replicas hold the message"
    } else {
        "confirm only what survives a failover"
    };
    Some(diagnosis(
        LEG2,
        "published → durably replicated",
        format!("The broker must {fix}: {why}; {after}, so no consumer will ever see it (K1)."),
    ))
}

fn diagnose_loss(model: &Model, trace: &Trace) -> Diagnosis {
    let last = trace.last_state();
    let Some(&lost) = crate::model::properties::unapplied_owed(model, last).first() else {
        return diagnosis(
            "unknown",
            "unknown",
            "The trace shows no owed operation left unapplied.".to_string(),
        );
    };
    let o = op(lost);
    if let Some(d) = leg2_loss(model, trace, lost) {
        return d;
    }
    let b = model::broker(last);
    let stored: Vec<usize> = (0..b.messages.len())
        .filter(|&m| b.messages[m].op == lost)
        .collect();
    if stored.is_empty() {
        let p = model::producer(last);
        let forgot = of_trace(model, trace).find_map(|(_, _, e)| match e {
            Event::ProducerRestarted {
                session, forgot, ..
            } if forgot.contains(&lost) => Some(session),
            _ => None,
        });
        let dual_write = model.cfg.pipeline.publish == crate::pipeline::Publish::DualWrite;
        if let (Some(session), true) = (forgot, dual_write) {
            return diagnosis(
                LEG1,
                "business row committed → published",
                format!(
                    "Dual write: the business row and its event are two writes to two systems with no transaction across them. {o}'s row committed, the producer crashed before its event reached the broker, and its restart as session {session} had no record of it. Commit the event with the business row and relay it until confirmed (a transactional outbox, `producer.publish = \"outbox\"`, O1)."
                ),
            );
        }
        let guarantee = if let Some(session) = forgot {
            format!(
                "A producer must keep what it has not seen confirmed where a crash cannot take it (a transactional outbox, relayed until confirmed: `producer.publish = \"outbox\"`): {o}'s publish was lost, the producer crashed before re-publishing it, and its restart as session {session} had no record of it."
            )
        } else if p.gave_up[lost as usize] {
            format!(
                "A producer that gives up on a publish must report the failure to its caller, who still owns the operation: it gave up on {o} after {} attempt(s) without a confirm and told nobody.",
                p.retried[lost as usize] + 1
            )
        } else if last.history.confirmed & (1 << lost) != 0 {
            format!(
                "The broker must confirm a publish only once it has stored it: {o} was confirmed to the producer, but the broker holds no message for it."
            )
        } else if model.cfg.pipeline.vocabulary == crate::pipeline::BrokerKind::RabbitMq {
            format!(
                "The producer must turn publisher confirms on (confirm.select) and re-publish until a publish is confirmed (R1): without confirms {o}'s lost publish was never reported to anyone."
            )
        } else {
            format!(
                "The producer must wait for the broker's confirm and re-publish until it comes (or report the failure to its caller): {o}'s publish was lost and the producer, firing and forgetting, never learned it."
            )
        };
        return diagnosis(LEG1, "handed to the producer → published", guarantee);
    }
    let done = stored.iter().any(|&m| b.messages[m].status == Status::Done);
    let p = &model.cfg.pipeline;
    let claimed = of_trace(model, trace).any(|(_, _, e)| {
        matches!(e, Event::LedgerRow { op, already: false, before_effect: true, .. } if op == lost)
    });
    if claimed && model::store(last).applied[lost as usize] == 0 && p.api() {
        return diagnosis(
            LEG3,
            "dedup row committed → API called",
            format!(
                "{API_ROW}: {o}'s dedup row committed in our database, its holder stopped before the call, and every later copy found the row and counted {o} as done, so the API was never called."
            ),
        );
    }
    if claimed && model::store(last).applied[lost as usize] == 0 {
        return diagnosis(
            LEG3,
            "ledger row committed → effect committed",
            format!(
                "Insert before the effect, separately (W3's mirror): {o}'s key committed in its own transaction, then its holder stopped before the effect, and every later copy found the key and counted {o} as done. The key must commit in the effect's transaction (`store.ledger-write = \"with-effect\"`), so that neither exists without the other."
            ),
        );
    }
    if done && p.order == CompletionOrder::CompletionThenEffect {
        let crashed = of_trace(model, trace).any(|(_, _, e)| matches!(e, Event::Crashed { .. }));
        let why = if crashed {
            format!(
                "the consumer recorded completion of {o}, then crashed before the effect committed, and the broker, told it was done, never handed it out again"
            )
        } else {
            format!("completion of {o} was recorded, but its effect never committed")
        };
        return diagnosis(
            LEG3,
            "completion recorded → effect committed",
            format!(
                "The consumer must record completion only after the effect is committed, or commit both in one transaction (the offset stored with the effect): {why}."
            ),
        );
    }
    let acked_along = of_trace(model, trace).any(|(_, _, e)| {
        matches!(e, Event::Completion { covers, .. } if stored.iter().any(|&m| covers.contains(&(m as u8))))
    });
    if done && acked_along {
        return diagnosis(
            LEG3,
            "acked along with a later delivery tag before its effect committed",
            format!(
                "An ack with `multiple = true` may cover only delivery tags whose effects are committed (ack each delivery on its own when handlers finish out of order, or ack multiple only up to the lowest unfinished tag): a later delivery's basic.ack with multiple = true also acked {o} while a worker had not yet applied it, and the crash that followed took the work with it; the broker, told it was done, never redelivers it."
            ),
        );
    }
    let covered = of_trace(model, trace).any(|(_, _, e)| {
        matches!(e, Event::Committed { covers, .. } if stored.iter().any(|&m| covers.contains(&(m as u8))))
    });
    if done && covered {
        let why = if model.cfg.pipeline.auto_commit == AutoCommit::InPoll {
            format!(
                "auto-commit committed the offsets of the previous poll while the worker pool had not yet applied {o}"
            )
        } else if model.cfg.pipeline.auto_commit == AutoCommit::Background {
            format!(
                "the background auto-commit committed the offset stored when {o} was handed to the application, before its effect committed"
            )
        } else {
            format!(
                "a commit covered {o} while it was still being processed (a Kafka commit is cumulative: offset n+1 covers every record before it)"
            )
        };
        return diagnosis(
            LEG3,
            "position advanced past an unfinished record",
            format!(
                "An offset may be committed only once every record it covers has its effect committed (track the lowest unfinished offset and commit below it): {why}, and the restart resumed after it."
            ),
        );
    }
    let aborted =
        of_trace(model, trace).any(|(_, _, e)| matches!(e, Event::TransactionAborted { .. }));
    if aborted && model.cfg.pipeline.after_abort == AfterAbort::Continue {
        return diagnosis(
            LEG3,
            "transaction aborted → position not rewound",
            format!(
                "After an aborted transaction the consumer must seek back to the committed offset and process again: an abort discards the output and the offset commit, but it does not rewind the consumer (BROKER-FACTS isolation.level), so the loop polled on past {o}, and nothing will fetch it again."
            ),
        );
    }
    if done && model.cfg.pipeline.auto_ack {
        return diagnosis(
            LEG3,
            "completion recorded → effect committed",
            format!(
                "The consumer must ack only after the effect is committed (manual acks, `broker.rabbitmq.ack = \"manual\"`): with autoAck the broker forgot {o} once it was written to the socket, and the consumer's crash took the delivery with it."
            ),
        );
    }
    let dead = stored
        .iter()
        .any(|&m| b.messages[m].status == Status::DeadLettered);
    if dead && model.cfg.pipeline.poisoned(lost) {
        return diagnosis(
            LEG3,
            "delivered → dead-lettered (a poison message)",
            format!(
                "{o}'s handler fails every time (a poison message): the receive limit moved it to the dead-letter queue, which contains it and does not apply it; a receive limit is a containment tool, not a correctness proof. Alert on the dead-letter queue, fix the handler, and redrive it into an idempotent consumer."
            ),
        );
    }
    if dead {
        let p = &model.cfg.pipeline;
        let why = if p.dead_letter == crate::pipeline::DeadLetter::Drop {
            "and at-most-once dead-lettering lost it on the way (R5): use `dead-letter-strategy = \"at-least-once\"` and redrive the dead-letter queue into an idempotent consumer"
        } else {
            "where nothing applies it: redrive the dead-letter queue (`redrive = true`) into a consumer whose effect is idempotent, or size the limit above the redeliveries a healthy message can meet"
        };
        return diagnosis(
            LEG3,
            "delivered → dead-lettered (receive limit)",
            format!(
                "A receive limit counts the redeliveries of a healthy message too: {o} was redelivered after a fault and reached the limit, so the broker moved it to the dead-letter queue, {why}."
            ),
        );
    }
    if done {
        return diagnosis(
            LEG3,
            "completion recorded → effect committed",
            format!(
                "Completion must be recorded only once the effect is durably committed: the broker marked {o} done, but its effect never committed."
            ),
        );
    }
    diagnosis(
        LEG3,
        "published → delivered",
        format!(
            "The broker must keep redelivering a stored message until completion is recorded: {o} is stored, unfinished and no longer handed out."
        ),
    )
}
