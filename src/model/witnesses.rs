//! Reachability witnesses: states that show a proof exercised what it
//! claims to survive. A proof whose witnesses are not all reached is
//! `vacuous`, never `proved`.
//!
//! Each fault's witnesses are named by its entry in the fault registry
//! ([`super::faults::REGISTRY`]); the witnesses of outcomes that need no
//! particular fault (the producer's policy gave up, every operation applied
//! at rest) are listed here in [`OUTCOMES`]. [`catalogue`] joins the two.

use super::broker::Status;
use super::consumer::Stage;
use super::faults::{Fault, REGISTRY};
use super::msg::Msg;
use super::properties::{Check, at_rest};
use super::{Model, State, broker, consumer_id, consumers, in_flight_from, producer, store};
use crate::pipeline::{CompletionOrder, Config, GiveUp, LedgerKey, Publish, StaleCompletion};
use stateright::Expectation;

fn witness(name: &'static str, condition: fn(&Model, &State) -> bool) -> Check {
    Check {
        name,
        expectation: Expectation::Sometimes,
        condition,
    }
}

/// A consumer went down inside its mode's gap: after the first of its two
/// boundaries took effect *for its own job* and before the second.
fn crash_in_gap(m: &Model, s: &State) -> bool {
    let (b, st) = (broker(s), store(s));
    consumers(s).any(|(i, down, c)| {
        down && c.jobs.iter().any(|j| {
            let done = b
                .entry(j.job.msg, j.op)
                .is_some_and(|e| e.status == Status::Done);
            match m.cfg.pipeline.order {
                // The store has taken this job's request (it is no longer in
                // flight), so the effect is committed, or was found committed
                // by the ledger: either way the operation is applied.
                // A lookup of its own commits nothing; a row written before
                // the effect is the first thing committed.
                CompletionOrder::EffectThenCompletion => {
                    let requested = in_flight_from(s, consumer_id(i)).any(|msg| {
                        matches!(msg, Msg::Apply { job, .. } | Msg::Claim { job, .. } if *job == j.job)
                    });
                    !done && !requested && j.stage != Stage::Looking && !st.running_job(j.job)
                }
                CompletionOrder::CompletionThenEffect => {
                    j.stage == Stage::Completing && done && st.applied[j.op as usize] == 0
                }
            }
        })
    })
}

/// An auto-acked message whose delivery died with its consumer: done at
/// the broker, its effect neither applied nor on its way, and nobody holds
/// it.
fn auto_acked_lost(_: &Model, s: &State) -> bool {
    let (b, st) = (broker(s), store(s));
    b.messages.iter().enumerate().any(|(at, e)| {
        let at = at as u8;
        e.status == Status::Done
            && st.applied[e.op as usize] == 0
            && !super::in_flight(s).any(|msg| {
                matches!(msg, Msg::Apply { job, .. } | Msg::Deliver { job, .. } if job.msg == at)
            })
            && !st.running.iter().any(|r| r.job.msg == at)
            && !consumers(s).any(|(_, down, c)| !down && c.jobs.iter().any(|j| j.job.msg == at))
    })
}

/// Whether a message can be handed out again after a delivery: not when
/// the first redelivery would already exceed the receive limit and no
/// redrive brings it back.
fn redelivers(cfg: &Config) -> bool {
    let p = &cfg.pipeline;
    p.max_receives.is_none_or(|n| n >= 2)
        || (p.redrive && p.dead_letter == crate::pipeline::DeadLetter::Keep)
}

fn redelivery_of_applied(m: &Model, s: &State) -> bool {
    consumers(s).any(|(_, down, c)| {
        !down
            && c.jobs.iter().any(|j| {
                j.job.delivery >= 2
                    && super::sinks::applied_in_primary(&m.cfg, s, j.op as usize) >= 1
            })
    })
}

/// The message a queue delivery came from, if it was delivered under the
/// current leader: a failover releases every lease, which is not an
/// expiry.
fn under_current_leader<'a>(
    b: &'a super::broker::BrokerState,
    j: &super::consumer::Job,
) -> Option<&'a super::broker::Entry> {
    (j.job.generation == super::replication::epoch(b))
        .then(|| b.entry(j.job.msg, j.op))
        .flatten()
}

/// The lease moved to another consumer while its first holder, alive,
/// still works on the message: two holders at once.
fn lease_overlap(_: &Model, s: &State) -> bool {
    let b = broker(s);
    consumers(s).any(|(i, down, c)| {
        !down
            && c.jobs.iter().any(|j| {
                under_current_leader(b, j).is_some_and(
                    |e| matches!(e.status, Status::Leased { consumer, .. } if consumer != i),
                )
            })
    })
}

/// The lease ran out while its holder, alive, still works on the
/// delivery: the message is back in the queue (or handed out again) under
/// the holder's feet. With one consumer this is what an expiry can do.
fn lease_lapsed_under_holder(_: &Model, s: &State) -> bool {
    let b = broker(s);
    consumers(s).any(|(i, down, c)| {
        !down
            && c.jobs
                .iter()
                .any(|j| match under_current_leader(b, j).map(|e| e.status) {
                    Some(Status::Ready) => true,
                    Some(Status::Leased { consumer, delivery }) => {
                        consumer != i || delivery != j.job.delivery
                    }
                    Some(Status::Done | Status::DeadLettered) | None => false,
                })
    })
}

fn leg1_lost(_: &Model, s: &State) -> bool {
    super::faults::Tally::of(s)
        .leg1_lost
        .iter()
        .any(|&n| n >= 1)
}

fn retry_received(_: &Model, s: &State) -> bool {
    s.history.retry_received
}

/// An operation whose publish or confirm was lost was nevertheless
/// confirmed to the producer: only a retry can do that.
fn loss_recovered_by_retry(_: &Model, s: &State) -> bool {
    let (lost, p) = (super::faults::Tally::of(s).leg1_lost, producer(s));
    (0..p.acked.len()).any(|op| lost[op] >= 1 && p.acked[op] && p.retried[op] >= 1)
}

fn stale_completion_honoured(_: &Model, s: &State) -> bool {
    broker(s).stale_honoured
}

/// A live member that lost the partition still works on a record it
/// fetched in an older generation: a zombie.
fn zombie_at_work(_: &Model, s: &State) -> bool {
    let Some(log) = broker(s).log else {
        return false;
    };
    consumers(s).any(|(i, down, c)| {
        !down && i != log.owner && c.jobs.iter().any(|j| j.job.generation != log.generation)
    })
}

fn zombie_fenced(_: &Model, s: &State) -> bool {
    broker(s).log.is_some_and(|l| l.fenced)
}

/// A fenced transaction was aborted, and a record fetched more than once
/// has since been committed: the new owner retried what the zombie's
/// transaction could not commit.
fn aborted_transaction_retried(_: &Model, s: &State) -> bool {
    let b = broker(s);
    b.log.is_some_and(|l| {
        (l.fenced || l.refused_own)
            && b.messages
                .iter()
                .enumerate()
                .any(|(at, e)| e.deliveries >= 2 && (at as u8) < l.committed)
    })
}

/// The committed offset lies past a record a live consumer has not yet
/// applied: its request is still on its way to the store, or it waits in
/// its batch.
fn commit_covers_unfinished(_: &Model, s: &State) -> bool {
    let Some(log) = broker(s).log else {
        return false;
    };
    consumers(s).any(|(i, down, c)| {
        !down
            && c.jobs
                .iter()
                .any(|j| unapplied(s, i, j) && j.job.msg < log.committed)
    })
}

/// A live consumer still has to apply a delivery that the broker already
/// counts as acked: an ack with `multiple = true` for a later tag took it
/// along. (The delivery is the message's latest, so it is not a stale copy
/// whose message someone else finished.)
fn acked_along_unfinished(_: &Model, s: &State) -> bool {
    let b = broker(s);
    consumers(s).any(|(i, down, c)| {
        !down
            && c.jobs.iter().any(|j| {
                b.entry(j.job.msg, j.op)
                    .is_some_and(|e| e.status == Status::Done && e.deliveries == j.job.delivery)
                    && unapplied(s, i, j)
            })
    })
}

/// One channel holds two unacked deliveries at once.
fn two_unacked(_: &Model, s: &State) -> bool {
    broker(s).channels.iter().any(|unacked| unacked.len() >= 2)
}

/// A job whose effect has not reached the store: waiting to start, or its
/// request still on its way. The narrative's "covers" reads it too.
pub fn unapplied(s: &State, consumer: u8, j: &super::consumer::Job) -> bool {
    matches!(j.stage, Stage::Queued | Stage::Looking | Stage::Claiming)
        || in_flight_from(s, consumer_id(consumer))
            .any(|msg| matches!(msg, Msg::Apply { job, .. } if *job == j.job))
}

fn dead_lettered(_: &Model, s: &State) -> bool {
    broker(s)
        .messages
        .iter()
        .any(|e| e.status == Status::DeadLettered || e.redriven_at > 0)
}

fn redriven(_: &Model, s: &State) -> bool {
    broker(s).messages.iter().any(|e| e.redriven_at > 0)
}

/// Two messages of one operation were each delivered for the first time:
/// neither carries `redelivered`.
fn two_first_deliveries(_: &Model, s: &State) -> bool {
    let m = &broker(s).messages;
    m.iter().enumerate().any(|(at, e)| {
        e.deliveries >= 1 && m[..at].iter().any(|x| x.op == e.op && x.deliveries >= 1)
    })
}

/// The broker holds one operation twice although publish dedup is on.
fn stored_twice(_: &Model, s: &State) -> bool {
    let m = &broker(s).messages;
    m.iter()
        .enumerate()
        .any(|(at, e)| m[..at].iter().any(|x| x.op == e.op))
}

fn gave_up(_: &Model, s: &State) -> bool {
    producer(s).gave_up.iter().any(|&g| g)
}

fn all_applied_at_rest(m: &Model, s: &State) -> bool {
    super::properties::healthy_applied(m, s) && at_rest(m, s)
}

/// A crash matters where it splits the consumer's two boundaries, and
/// replays what it interrupted when the effect came first.
pub fn of_crash(cfg: &Config) -> Vec<Listed> {
    let p = &cfg.pipeline;
    let name = match (p.order, p.ledger_key) {
        _ if !p.touches_store() => "crash inside an open transaction (the coordinator aborts it)",
        _ if p.auto_ack => "an auto-acked delivery lost with its consumer's crash",
        (CompletionOrder::CompletionThenEffect, _) => "crash between completion and effect",
        (_, LedgerKey::None) => "crash between effect and completion",
        (_, LedgerKey::BrokerOffset) => "crash between atomic commit and broker ack",
        _ => "crash between ledger transaction and broker ack",
    };
    let on = cfg.bounds.crashes > 0;
    let gap = if p.auto_ack {
        auto_acked_lost
    } else {
        crash_in_gap
    };
    vec![
        (on, witness(name, gap)),
        (
            on && effect_first(cfg) && p.touches_store() && !p.auto_ack && redelivers(cfg),
            redelivery(),
        ),
    ]
}

fn effect_first(cfg: &Config) -> bool {
    cfg.pipeline.order == CompletionOrder::EffectThenCompletion
}

fn redelivery() -> Check {
    witness(
        "redelivery of an already-applied operation",
        redelivery_of_applied,
    )
}

/// A lost message is recovered by a retry when the producer may
/// re-publish; otherwise the loss itself is the witness.
pub fn of_loss(cfg: &Config) -> Vec<Listed> {
    let on = cfg.bounds.losses > 0;
    let retries = cfg.retries_possible();
    vec![
        (
            on && retries,
            witness(
                "lost publish or ack recovered by a retry",
                loss_recovered_by_retry,
            ),
        ),
        (on && !retries, witness("lost publish or ack", leg1_lost)),
    ]
}

/// With losses on, a retry is already shown by the recovered loss; without
/// them, every retry that reaches the broker was spurious.
pub fn of_spurious_retry(cfg: &Config) -> Vec<Listed> {
    vec![(
        cfg.bounds.losses == 0 && cfg.retries_possible(),
        witness("retried publish reached the broker", retry_received),
    )]
}

pub fn of_lease_expiry(cfg: &Config) -> Vec<Listed> {
    // An expired lease puts a second holder to work only if the message
    // can be handed out again.
    let on = cfg.bounds.lease_expiries > 0 && !cfg.pipeline.auto_ack && redelivers(cfg);
    let honoured = cfg.pipeline.stale_completion == StaleCompletion::Accepted;
    let extended = cfg.pipeline.visibility_extension;
    // One consumer cannot be two holders: it can only lose the lease it
    // works under.
    let two = cfg.bounds.consumers >= 2;
    vec![
        (on && effect_first(cfg) && redelivers(cfg), redelivery()),
        (
            on && !two,
            witness(
                "lease expired while its only consumer still works on the message",
                lease_lapsed_under_holder,
            ),
        ),
        (
            on && two && !extended,
            witness(
                "lease expired: two consumers hold one message",
                lease_overlap,
            ),
        ),
        (
            on && two && extended,
            witness(
                "visibility expired despite ChangeMessageVisibility: two consumers hold one message",
                lease_overlap,
            ),
        ),
        (
            on && honoured,
            witness("stale completion honoured", stale_completion_honoured),
        ),
    ]
}

/// A rebalance matters when the old owner is still at work; fencing shows
/// in a rejected commit, its absence in a zombie's commit taken.
pub fn of_rebalance(cfg: &Config) -> Vec<Listed> {
    let on = cfg.pipeline.log && cfg.bounds.rebalances > 0 && cfg.bounds.consumers >= 2;
    let fencing = cfg.pipeline.stale_completion == StaleCompletion::Rejected;
    let txn = cfg.pipeline.transactions;
    vec![
        (
            on,
            witness(
                "rebalance while the old owner holds an unfinished record",
                zombie_at_work,
            ),
        ),
        (
            on && fencing && !txn,
            witness("zombie commit rejected (ILLEGAL_GENERATION)", zombie_fenced),
        ),
        (
            on && fencing && txn,
            witness("zombie's transaction aborted (fenced)", zombie_fenced),
        ),
        (
            on && fencing && txn,
            witness(
                "an aborted transaction retried",
                aborted_transaction_retried,
            ),
        ),
        (
            on && !fencing && !txn,
            witness(
                "zombie commit accepted (no fencing)",
                stale_completion_honoured,
            ),
        ),
        (
            on && !fencing && txn,
            witness(
                "zombie's transaction committed (no fencing)",
                stale_completion_honoured,
            ),
        ),
    ]
}

/// The coordinator aborts the owner's transaction: a consumer that seeks
/// fetches the aborted records again; one that polls on leaves them
/// behind its position.
pub fn of_transaction_abort(cfg: &Config) -> Vec<Listed> {
    let on = cfg.pipeline.transactions
        && cfg.bounds.transaction_aborts > 0
        && cfg.pipeline.stale_completion == StaleCompletion::Rejected;
    let seeks = cfg.pipeline.after_abort == crate::pipeline::AfterAbort::SeekToCommitted;
    vec![
        (
            on && seeks,
            witness(
                "an aborted transaction retried",
                aborted_transaction_retried,
            ),
        ),
        (
            on && !seeks,
            witness(
                "an aborted transaction's record left behind the position",
                aborted_record_skipped,
            ),
        ),
    ]
}

/// A transaction was refused and the position lies past a record that is
/// neither committed nor held by a live consumer.
fn aborted_record_skipped(_: &Model, s: &State) -> bool {
    let Some(log) = broker(s).log else {
        return false;
    };
    log.refused_own
        && (log.committed..log.position).any(|m| {
            !consumers(s).any(|(_, down, c)| !down && c.jobs.iter().any(|j| j.job.msg == m))
        })
}

/// A deleted message came back (the broker counts each one down).
fn phantom_returned(m: &Model, s: &State) -> bool {
    broker(s).phantoms_left < m.cfg.bounds.phantom_redeliveries
}

pub fn of_phantom(cfg: &Config) -> Vec<Listed> {
    let on = cfg.pipeline.phantom_redelivery && cfg.bounds.phantom_redeliveries > 0;
    vec![
        (on, witness("a deleted message came back", phantom_returned)),
        (on && effect_first(cfg) && redelivers(cfg), redelivery()),
    ]
}

/// A window closed, and an operation is stored twice.
fn window_then_stored_twice(m: &Model, s: &State) -> bool {
    broker(s).windows_left < m.cfg.bounds.dedup_window_expiries && stored_twice(m, s)
}

/// Whether the replicated broker's state satisfies `f`; with one replica
/// nothing replicates, so no Leg 2 witness holds.
fn replicated(s: &State, f: impl Fn(&super::replication::Replication) -> bool) -> bool {
    broker(s).replication.as_ref().is_some_and(f)
}

fn lost_confirmed(_: &Model, s: &State) -> bool {
    replicated(s, |r| r.lost_confirmed)
}

fn failed_waiting(_: &Model, s: &State) -> bool {
    replicated(s, |r| r.failed_waiting)
}

fn unclean_elected(_: &Model, s: &State) -> bool {
    replicated(s, |r| r.unclean_elected)
}

/// An operation whose confirm a failover failed was re-published and
/// confirmed.
fn failed_publish_retried(_: &Model, s: &State) -> bool {
    let p = producer(s);
    replicated(s, |r| {
        (0..p.acked.len()).any(|op| r.dropped[op] >= 1 && p.acked[op] && p.retried[op] >= 1)
    })
}

fn shrunk(m: &Model, s: &State) -> bool {
    replicated(s, |r| r.shrinks_left < m.cfg.bounds.isr_shrinks)
}

/// A failover matters where it cuts what was confirmed (`acks =
/// "leader"`, or an unclean election of a follower the in-sync set left
/// behind while others confirmed) or fails a publish still waiting.
pub fn of_failover(cfg: &Config) -> Vec<Listed> {
    use crate::pipeline::Acks;
    let d = cfg.pipeline.durability;
    let on = d.replicated() && cfg.bounds.broker_failovers > 0;
    let lagging = d.unclean_election && cfg.bounds.isr_shrinks > 0;
    let all = d.acks == Acks::All;
    vec![
        (
            on && (!all || (lagging && d.min_in_sync < d.replicas)),
            witness(
                "a confirm sent before replication, then a failover cut the record",
                lost_confirmed,
            ),
        ),
        (
            on && all,
            witness(
                "a failover failed a publish still waiting for replication",
                failed_waiting,
            ),
        ),
        (
            on && all && cfg.pipeline.may_republish(),
            witness(
                "the producer re-published what a failover failed, and it was confirmed",
                failed_publish_retried,
            ),
        ),
        (
            on && lagging,
            witness(
                "unclean election: an out-of-sync follower became the leader",
                unclean_elected,
            ),
        ),
    ]
}

/// The producer came back up after a crash that caught an operation
/// unconfirmed (the restart is what marks it).
fn restarted_unconfirmed(_: &Model, s: &State) -> bool {
    !s.crashed[super::PRODUCER] && producer(s).orphaned != 0
}

/// A restart caught an operation the broker never stored and nothing is
/// publishing: a dual write's event that its crash cut off from its
/// business row.
fn restarted_unpublished(_: &Model, s: &State) -> bool {
    let (p, b) = (producer(s), broker(s));
    !s.crashed[super::PRODUCER]
        && (0..p.acked.len()).any(|op| {
            p.orphaned & (1 << op) != 0
                && s.history.leg1_outstanding[op] == 0
                && b.messages.iter().all(|e| e.op as usize != op)
        })
}

/// An operation a restart caught unconfirmed was confirmed to the new
/// session: the relay's re-publish went through.
fn republish_confirmed(_: &Model, s: &State) -> bool {
    let p = producer(s);
    !s.crashed[super::PRODUCER]
        && p.acked
            .iter()
            .enumerate()
            .any(|(op, &a)| a && p.orphaned & (1 << op) != 0)
}

fn store_reply_lost(_: &Model, s: &State) -> bool {
    super::faults::Tally::of(s).replies_lost > 0
}

fn effect_resent(_: &Model, s: &State) -> bool {
    s.history.effect_retried
}

fn resent_effect_refused(_: &Model, s: &State) -> bool {
    s.history.retry_refused
}

/// A lost reply matters where the consumer acts on the silence: it sends
/// the effect again, and a ledger checked in the effect's transaction must
/// then refuse it.
pub fn of_reply_loss(cfg: &Config) -> Vec<Listed> {
    let p = &cfg.pipeline;
    let on = cfg.bounds.reply_losses > 0 && p.awaits_effect_reply();
    let retries = on && p.retry_effect_on_timeout;
    let refuses = p.ledger_key != LedgerKey::None
        && p.ledger_check
        && p.ledger_write == crate::pipeline::LedgerWrite::WithEffect
        && !p.dedup_only_if_redelivered;
    vec![
        (
            on,
            witness("a store reply lost after its commit", store_reply_lost),
        ),
        (
            retries,
            witness(
                "the consumer re-sent the effect after its reply was lost",
                effect_resent,
            ),
        ),
        (
            retries && refuses,
            witness(
                "the ledger refused the re-sent effect",
                resent_effect_refused,
            ),
        ),
    ]
}

pub fn of_operator_replay(cfg: &Config) -> Vec<Listed> {
    vec![(
        cfg.bounds.operator_replays > 0,
        witness("an operator replayed what was already done", replayed),
    )]
}

fn replayed(m: &Model, s: &State) -> bool {
    broker(s).replays_left < m.cfg.bounds.operator_replays
}

pub fn of_ledger_expiry(cfg: &Config) -> Vec<Listed> {
    let on = cfg.bounds.ledger_expiries > 0 && (Fault::LedgerExpiry.kind().possible)(cfg);
    let early = on && cfg.pipeline.retention == crate::pipeline::Retention::ShorterThanReplay;
    vec![
        (on, witness("a ledger key expired", key_expired)),
        (
            early,
            witness(
                "a copy of an operation was on its way to the store after its key expired",
                replay_after_expiry,
            ),
        ),
    ]
}

fn conflict_answered(_: &Model, s: &State) -> bool {
    super::in_flight(s).any(|m| matches!(m, Msg::Conflict { .. }))
}

fn key_expired(_: &Model, s: &State) -> bool {
    !store(s).expired.is_empty()
}

fn replay_after_expiry(m: &Model, s: &State) -> bool {
    let expired: Vec<u8> = store(s)
        .expired
        .iter()
        .map(|&k| super::horizon::op_of_key(&m.cfg, s, k))
        .collect();
    super::in_flight(s).any(|msg| matches!(msg, Msg::Apply { op, .. } if expired.contains(op)))
}

/// A producer crash matters where it catches an operation unconfirmed; an
/// outbox relay must then get it confirmed by its new session.
pub fn of_producer_crash(cfg: &Config) -> Vec<Listed> {
    let on = cfg.bounds.producer_crashes > 0;
    vec![
        (
            on,
            witness(
                "the producer restarted with an operation unconfirmed",
                restarted_unconfirmed,
            ),
        ),
        (
            on && cfg.restart_republishes(),
            witness(
                "a restarted outbox relay's re-publish was confirmed",
                republish_confirmed,
            ),
        ),
        (
            on && cfg.pipeline.publish == Publish::DualWrite,
            witness(
                "the producer restarted with a committed operation never published",
                restarted_unpublished,
            ),
        ),
    ]
}

pub fn of_isr_shrink(cfg: &Config) -> Vec<Listed> {
    let on = cfg.pipeline.durability.replicated() && cfg.bounds.isr_shrinks > 0;
    vec![(
        on,
        witness("a lagging follower left the in-sync set", shrunk),
    )]
}

pub fn of_window_expiry(cfg: &Config) -> Vec<Listed> {
    let on = cfg.pipeline.dedup_window
        && cfg.pipeline.publish_dedup
        && cfg.retries_possible()
        && cfg.bounds.dedup_window_expiries > 0;
    vec![(
        on,
        witness(
            "dedup window elapsed before a retried publish",
            window_then_stored_twice,
        ),
    )]
}

/// A witness with whether it applies to a configuration.
pub type Listed = (bool, Check);

/// Outcomes no single fault stands for.
pub const OUTCOMES: [fn(&Config) -> Listed; 11] = [
    |cfg| {
        let (p, b) = (&cfg.pipeline, &cfg.bounds);
        // Two calls with one key overlap when a redelivery's call meets a
        // crashed holder's, or a second holder's after a lease expiry.
        let overlap = (b.crashes > 0 && redelivers(cfg))
            || (b.lease_expiries > 0 && b.consumers >= 2 && !p.auto_ack && redelivers(cfg));
        (
            p.api_locks()
                && p.ledger_key != LedgerKey::Delivery
                && p.awaits_effect_reply()
                && overlap,
            witness(
                "the payment API answered a concurrent call with the same key 409",
                conflict_answered,
            ),
        )
    },
    |cfg| {
        let p = &cfg.pipeline;
        (
            p.prefetch > 1 && !p.auto_ack && cfg.bounds.operations >= 2,
            witness("two unacked deliveries on one channel", two_unacked),
        )
    },
    |cfg| {
        let p = &cfg.pipeline;
        (
            p.ack_multiple && p.asynchronous() && !p.log && cfg.bounds.operations >= 2,
            witness(
                "an ack with multiple = true covers an unfinished delivery",
                acked_along_unfinished,
            ),
        )
    },
    |cfg| {
        (
            cfg.pipeline.max_receives.is_some(),
            witness(
                "healthy message moved to the DLQ after its receive limit",
                dead_lettered,
            ),
        )
    },
    |cfg| {
        let p = &cfg.pipeline;
        (
            p.max_receives.is_some()
                && p.redrive
                && p.dead_letter == crate::pipeline::DeadLetter::Keep,
            witness("redrive re-offered a dead-lettered message", redriven),
        )
    },
    |cfg| {
        (
            cfg.pipeline.dedup_only_if_redelivered && cfg.retries_possible(),
            witness(
                "two first deliveries of one operation",
                two_first_deliveries,
            ),
        )
    },
    |cfg| {
        let p = &cfg.pipeline;
        let name = match p.give_up {
            GiveUp::Report => "producer gave up on an operation and reported it",
            GiveUp::Silent => "producer gave up on an operation silently",
        };
        (
            p.producer_retries && p.max_attempts.is_some(),
            witness(name, gave_up),
        )
    },
    |cfg| {
        (
            cfg.pipeline.poison == 0,
            witness("at rest with every operation applied", all_applied_at_rest),
        )
    },
    |cfg| {
        (
            cfg.pipeline.poison != 0,
            witness(
                "at rest with every operation but the poison applied",
                all_applied_at_rest,
            ),
        )
    },
    |cfg| {
        let p = &cfg.pipeline;
        (
            p.log
                && effect_first(cfg)
                && (p.processing == crate::pipeline::Processing::Async
                    || p.auto_commit == crate::pipeline::AutoCommit::Background),
            witness(
                "commit covers an unfinished record",
                commit_covers_unfinished,
            ),
        )
    },
    |cfg| {
        let p = &cfg.pipeline;
        (
            p.publish_dedup
                && p.resend == crate::pipeline::Resend::Application
                && cfg.retries_possible(),
            witness(
                "application resend stored twice (a new sequence number)",
                stored_twice,
            ),
        )
    },
];

/// Every witness this pipeline's vocabulary has, each with whether it
/// applies under these budgets (its fault can happen): the registry's, in
/// its order, then the outcomes. A witness two faults share appears once
/// and applies if either says so. Tests demand the ones that do not apply
/// to see them come out unreached.
pub fn catalogue(cfg: &Config) -> Vec<Listed> {
    let mut all: Vec<Listed> = Vec::new();
    let listed = REGISTRY.iter().flat_map(|k| (k.witnesses)(cfg));
    for (applies, check) in listed.chain(OUTCOMES.iter().map(|o| o(cfg))) {
        match all.iter_mut().find(|(_, c)| c.name == check.name) {
            Some((a, _)) => *a |= applies,
            None => all.push((applies, check)),
        }
    }
    all
}

/// The witnesses that apply to this pipeline under these budgets.
pub fn applying(cfg: &Config) -> Vec<Check> {
    catalogue(cfg)
        .into_iter()
        .filter_map(|(applies, w)| applies.then_some(w))
        .collect()
}
