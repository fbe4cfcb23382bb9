//! What each step of a trace *meant*, derived once from (before, action,
//! after) as a typed event. The action alone does not say what happened: a
//! publish may be stored or dropped as a duplicate, an apply may commit or
//! be skipped by the ledger, a completion may be accepted, honoured though
//! stale, or refused, a timer may fire with nothing to do. The narrative,
//! the diagnosis and the Mermaid diagram render these events; none of them
//! reads raw actions or state diffs.

use crate::check::Trace;
use crate::model::broker::Status;
use crate::model::consumer::Stage;
use crate::model::msg::{JobRef, Key, Msg, Timer};
use crate::model::properties::{self, NO_LOSS};
use crate::model::{self, Action, Model, PRODUCER, State, faults};
use crate::pipeline::{LedgerWrite, StaleCompletion};
use stateright::actor::{ActorModelAction, Id};

/// A job a consumer held, and where it was in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub op: u8,
    pub job: JobRef,
    pub stage: Stage,
}

/// What the producer's retry timer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryOutcome {
    /// The operation was confirmed or given up already.
    Idle,
    /// The policy's attempts ran out.
    GaveUp { attempts: u8 },
    /// It re-published; `spurious` when the previous attempt or its
    /// confirm was still on its way.
    Republished { attempt: u8, id: u8, spurious: bool },
}

/// What the broker did with a completion signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionOutcome {
    /// From the current lease holder: recorded.
    Accepted,
    /// From a delivery that lost its lease, honoured anyway: the message is
    /// gone (SQS standard's delete with an old receipt handle).
    StaleHonoured,
    /// Not recorded: the delivery was made by a leader that has since
    /// failed, and its receipt handle or channel died with it.
    OldLeader,
    /// Not recorded; `status` is where the message stands. `answered`:
    /// the broker still answered success (SQS standard).
    Refused { status: Status, answered: bool },
}

/// What a Kafka group coordinator did with an offset commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    /// From the current generation: the committed offset moves.
    Accepted,
    /// From an older generation, taken anyway (no fencing).
    ZombieTaken,
    /// From an older generation, rejected (`ILLEGAL_GENERATION`).
    Fenced { generation: u8 },
    /// The owner's own transaction from before its producer epoch was
    /// bumped (the coordinator aborted it, or the owner restarted):
    /// rejected, output and offset discarded.
    Aborted,
}

/// How a reply to a consumer landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// This incarnation holds no such work: the reply is ignored.
    Ignored { incarnation: u8 },
    /// The consumer takes it; `records_next`: it writes its ledger row
    /// next; `applies_next`: it requests the effect next (after a lookup
    /// or a row written before the effect); `completes_next`: it sends
    /// completion next.
    Taken {
        records_next: bool,
        applies_next: bool,
        completes_next: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The broker stored a publish; `again` when it already held the op.
    /// `new_sequence`: an application-level resend that the idempotent
    /// producer's dedup could not recognise (K2).
    Stored {
        op: u8,
        msg: u8,
        id: u8,
        attempt: u8,
        again: bool,
        new_sequence: bool,
        /// A replicated broker holds the confirm until the record is
        /// committed (`acks = "all"`).
        waits: bool,
    },
    /// Publish dedup dropped a publish whose id was already stored;
    /// `waits`: its confirm waits with the original's.
    DuplicateDropped {
        op: u8,
        id: u8,
        waits: bool,
    },
    /// A follower copied a record; `rejoined`: it caught up and is in sync
    /// again; `confirmed`: operations whose confirm went out as the record
    /// (or an earlier one) became committed.
    Replicated {
        follower: u8,
        msg: u8,
        op: u8,
        rejoined: bool,
        confirmed: Vec<u8>,
    },
    /// An in-sync follower, `behind` records short, left the in-sync set;
    /// `confirmed`: confirms it alone had held back.
    IsrShrunk {
        follower: u8,
        behind: u8,
        confirmed: Vec<u8>,
    },
    /// The leader died and `follower` took over with its first `kept`
    /// records. `cut`: the records it lacked, each (message, op, whether
    /// its confirm had gone out); `failed`: operations whose waiting
    /// confirm failed with the old leader; `released`: unacked deliveries
    /// back in the queue.
    FailedOver {
        follower: u8,
        unclean: bool,
        kept: u8,
        cut: Vec<(u8, u8, bool)>,
        failed: Vec<u8>,
        released: Vec<u8>,
    },
    /// The producer got a confirm; `first` unless it was confirmed before.
    Confirmed {
        op: u8,
        first: bool,
        /// Addressed to a producer session that a crash ended (its
        /// connection died with it): nobody reads it.
        stale_session: Option<u8>,
    },
    /// A message was lost in the network.
    Lost {
        src: Id,
        dst: Id,
        msg: Msg,
    },
    /// The store's retention dropped a ledger key; `replay_possible`: a
    /// copy of its operation could still arrive (inside the replay
    /// horizon).
    KeyExpired {
        op: u8,
        key: Key,
        replay_possible: bool,
    },
    /// The store took a poison handler's partial effect, `times` in all.
    PartialEffect {
        op: u8,
        times: u8,
    },
    /// A consumer whose handler failed gave its delivery back; `back`: the
    /// broker took it (the delivery was still the current one).
    Released {
        consumer: u8,
        op: u8,
        job: JobRef,
        back: bool,
    },
    /// An operator replayed done message `msg`, or (`reset`, a log) reset
    /// the group's committed offset to the beginning.
    Replayed {
        msg: u8,
        op: u8,
        reset: bool,
    },
    /// Dual write: the producer publishes the event of `op`, whose
    /// business row committed before.
    DualWriteSent {
        op: u8,
    },
    RetryTimer {
        op: u8,
        outcome: RetryOutcome,
    },
    /// A lease timer fired: `expired` with (holder, delivery, whether the
    /// holder, up, still works on it), or nothing to do.
    LeaseTimer {
        msg: u8,
        expired: Option<(u8, u8, bool)>,
    },
    /// The Kafka coordinator moved the partition; `holding`: the records
    /// the old owner, alive, still works on (a zombie's).
    Rebalanced {
        from: u8,
        to: u8,
        generation: u8,
        resumes_at: u8,
        holding: Vec<u8>,
    },
    /// A pool worker of a consumer started a record's handler.
    WorkStarted {
        consumer: u8,
        msg: u8,
    },
    Crashed {
        consumer: u8,
        holding: Vec<Held>,
    },
    Restarted {
        consumer: u8,
        incarnation: u8,
    },
    /// The producer went down with these operations neither confirmed nor
    /// given up (nor already forgotten); `unpublished`: those of them a
    /// dual write had committed and not yet published.
    ProducerCrashed {
        unconfirmed: Vec<u8>,
        unpublished: Vec<u8>,
    },
    /// The producer came back as session `session`: an outbox relay
    /// re-published `republished`; a direct producer `forgot` what it had
    /// not seen confirmed.
    ProducerRestarted {
        session: u8,
        republished: Vec<u8>,
        forgot: Vec<u8>,
    },
    Leased {
        msg: u8,
        op: u8,
        consumer: u8,
        delivery: u8,
    },
    /// A delivery reached a consumer; `dead_session` when it was addressed
    /// to a session that ended with a crash, and is dropped.
    Delivered {
        consumer: u8,
        op: u8,
        job: JobRef,
        dead_session: bool,
        /// The record waits (behind earlier records of its poll, or for a
        /// pool worker) instead of starting at once.
        queued: bool,
    },
    /// The store took an apply request: skipped by its ledger, or applied
    /// (`times` afterwards, `key_written` in the same transaction).
    Effect {
        op: u8,
        job: JobRef,
        key: Option<Key>,
        skipped: bool,
        key_written: bool,
        times: u8,
    },
    /// The payment API started a keyed call: the key is taken until it
    /// finishes (the finish is an [`Event::Effect`]). `concurrent`: a call
    /// with the same key was already running, which a provider that does
    /// not lock the key lets through.
    CallStarted {
        op: u8,
        job: JobRef,
        key: Key,
        concurrent: bool,
    },
    /// The payment API answered a call with 409: a call with its key is
    /// still running; nothing was stored.
    CallConflict {
        op: u8,
        job: JobRef,
        key: Key,
    },
    /// A separate ledger write (`ledger-write = "after-effect"` or
    /// `"before-effect"`); `already`: the row was there (a unique insert
    /// fails, a blind one changes nothing).
    LedgerRow {
        op: u8,
        key: Key,
        already: bool,
        before_effect: bool,
    },
    /// A ledger lookup in its own transaction (`store.check =
    /// "check-then-act"`).
    Lookup {
        op: u8,
        key: Key,
        found: bool,
    },
    /// `also`: the earlier deliveries of the channel an accepted ack with
    /// `multiple = true` acked with it; `covers`: those a live consumer
    /// had not yet applied.
    Completion {
        consumer: u8,
        op: u8,
        job: JobRef,
        outcome: CompletionOutcome,
        also: Vec<u8>,
        covers: Vec<u8>,
    },
    /// A Kafka offset commit of `offset` (= the record's offset + 1);
    /// `covers`: earlier records it covers that a live consumer has not
    /// finished. `transaction`: the commit ends the record's transaction,
    /// so its output record is written (accepted) or aborted (fenced) with
    /// the offset; `Some(n)`: the output topic then holds the op n times.
    Committed {
        consumer: u8,
        op: u8,
        offset: u8,
        outcome: CommitOutcome,
        covers: Vec<u8>,
        transaction: Option<u8>,
    },
    /// A Kafka poll answered: the owner receives offsets `first..=last`.
    Fetched {
        consumer: u8,
        first: u8,
        last: u8,
        generation: u8,
    },
    Reply {
        consumer: u8,
        op: u8,
        job: JobRef,
        msg: Msg,
        outcome: ReplyOutcome,
    },
    Polled {
        src: Id,
    },
    /// A consumer seeks back; `to`: the owner's new position (the committed
    /// offset), `None` for a member that no longer owns the partition.
    Seeked {
        consumer: u8,
        to: Option<u8>,
    },
    /// A deleted message is back in the queue (SQS standard, S1).
    PhantomReturned {
        msg: u8,
        op: u8,
    },
    /// The dedup window of a publish id closed (SQS FIFO, S4).
    WindowClosed {
        key: u8,
    },
    /// The receive that would have exceeded the limit moved the message to
    /// the dead-letter queue (`dropped`: lost on the way there).
    DeadLettered {
        msg: u8,
        op: u8,
        receives: u8,
        dropped: bool,
    },
    /// An operator moved a dead-lettered message back to the queue.
    Redriven {
        msg: u8,
        op: u8,
    },
    /// A consumer's call to the effect store timed out (its reply was
    /// lost): it sends the same effect again.
    EffectTimedOut {
        consumer: u8,
        job: JobRef,
        op: u8,
    },
    /// A consumer's background auto-commit timer fired: it sends a commit
    /// of `offset` (the stored offset + 1).
    AutoCommitTimer {
        consumer: u8,
        offset: u8,
    },
    /// The coordinator aborted the owner's open transaction; its position
    /// stays at `position`.
    TransactionAborted {
        owner: u8,
        generation: u8,
        position: u8,
        committed: u8,
    },
    /// A restarted consumer rejoined; the broker released these messages.
    Rejoined {
        consumer: u8,
        incarnation: u8,
        released: Vec<u8>,
        /// Kafka: the owner rejoined and resumes at this committed offset.
        resumes_at: Option<u8>,
    },
}

/// The event of one step.
pub fn event(model: &Model, before: &State, action: &Action, after: &State) -> Event {
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            delivery(model, before, after, *src, *dst, msg)
        }
        ActorModelAction::Drop(env) => Event::Lost {
            src: env.src,
            dst: env.dst,
            msg: env.msg,
        },
        ActorModelAction::Timeout(_, Timer::Send(op)) => Event::DualWriteSent { op: *op },
        ActorModelAction::Timeout(_, Timer::Finish(job)) => {
            let r = model::store(before)
                .running
                .iter()
                .find(|r| r.job == *job)
                .expect("a finish has its running call");
            Event::Effect {
                op: r.op,
                job: *job,
                key: Some(r.key),
                skipped: false,
                key_written: true,
                times: model::store(after).applied[r.op as usize],
            }
        }
        ActorModelAction::Timeout(_, Timer::Replay(m)) => Event::Replayed {
            msg: *m,
            op: model::broker(before).messages[*m as usize].op,
            reset: model::broker(before).log.is_some(),
        },
        ActorModelAction::Timeout(_, Timer::Expire(key)) => {
            let op = crate::model::horizon::op_of_key(&model.cfg, before, *key);
            Event::KeyExpired {
                op,
                key: *key,
                replay_possible: crate::model::horizon::replay_possible(&model.cfg, before, op),
            }
        }
        ActorModelAction::Timeout(_, Timer::Retry(op)) => Event::RetryTimer {
            op: *op,
            outcome: retry(model, before, after, *op),
        },
        ActorModelAction::Timeout(_, Timer::Lease(m)) => Event::LeaseTimer {
            msg: *m,
            expired: lease_expiry(before, after, *m),
        },
        ActorModelAction::Timeout(id, Timer::Work(m)) => Event::WorkStarted {
            consumer: model::consumer_index(*id),
            msg: *m,
        },
        ActorModelAction::Timeout(id, Timer::EffectTimeout(job)) => {
            let consumer = model::consumer_index(*id);
            let op = consumer_state(before, consumer)
                .1
                .jobs
                .iter()
                .find(|j| j.job == *job)
                .map_or(0, |j| j.op);
            Event::EffectTimedOut {
                consumer,
                job: *job,
                op,
            }
        }
        ActorModelAction::Timeout(id, Timer::AutoCommit) => {
            let consumer = model::consumer_index(*id);
            let stored = consumer_state(before, consumer)
                .1
                .stored
                .expect("the timer is armed only with a stored offset");
            Event::AutoCommitTimer {
                consumer,
                offset: stored.msg + 1,
            }
        }
        ActorModelAction::Timeout(_, Timer::Phantom(m)) => Event::PhantomReturned {
            msg: *m,
            op: op_of(before, *m),
        },
        ActorModelAction::Timeout(_, Timer::DedupWindow(key)) => Event::WindowClosed { key: *key },
        ActorModelAction::Timeout(_, Timer::Redrive(m)) => Event::Redriven {
            msg: *m,
            op: op_of(before, *m),
        },
        ActorModelAction::Timeout(_, Timer::Replicate(f)) => {
            let r0 = replication(before);
            let msg = r0.followers[*f as usize].len;
            Event::Replicated {
                follower: *f,
                msg,
                op: op_of(before, msg),
                rejoined: !r0.followers[*f as usize].in_sync
                    && replication(after).followers[*f as usize].in_sync,
                confirmed: newly_confirmed(before, after),
            }
        }
        ActorModelAction::Timeout(_, Timer::IsrShrink(f)) => {
            let len = model::broker(before).messages.len() as u8;
            Event::IsrShrunk {
                follower: *f,
                behind: len - replication(before).followers[*f as usize].len,
                confirmed: newly_confirmed(before, after),
            }
        }
        ActorModelAction::Timeout(_, Timer::Failover(f)) => {
            let (b0, r0) = (model::broker(before), replication(before));
            let new = r0.followers[*f as usize];
            let waiting: Vec<u8> = r0.waiting.iter().map(|w| w.msg).collect();
            Event::FailedOver {
                follower: *f,
                unclean: !new.in_sync,
                kept: new.len,
                cut: (new.len..b0.messages.len() as u8)
                    .map(|m| (m, op_of(before, m), !waiting.contains(&m)))
                    .collect(),
                failed: r0.waiting.iter().map(|w| w.op).collect(),
                released: if b0.log.is_some() {
                    Vec::new()
                } else {
                    (0..new.len)
                        .filter(|&m| {
                            matches!(b0.messages[m as usize].status, Status::Leased { .. })
                        })
                        .collect()
                },
            }
        }
        ActorModelAction::Timeout(_, Timer::TxnAbort) => {
            let log = model::broker(after).log.expect("a log");
            Event::TransactionAborted {
                owner: log.owner,
                generation: log.generation,
                position: log.position,
                committed: log.committed,
            }
        }
        ActorModelAction::Timeout(_, Timer::Rebalance(_)) => {
            let (l0, l1) = (
                model::broker(before).log.expect("a log"),
                model::broker(after).log.expect("a log"),
            );
            let (down, c) = consumer_state(before, l0.owner);
            Event::Rebalanced {
                from: l0.owner,
                to: l1.owner,
                generation: l1.generation,
                resumes_at: l1.position,
                holding: if down {
                    Vec::new()
                } else {
                    c.jobs.iter().map(|j| j.job.msg).collect()
                },
            }
        }
        ActorModelAction::Crash(id) if usize::from(*id) == model::PRODUCER => {
            let p = model::producer(before);
            let timers = &before.timers_set[model::PRODUCER];
            Event::ProducerCrashed {
                unconfirmed: (0..p.acked.len() as u8)
                    .filter(|&op| {
                        let i = op as usize;
                        !p.acked[i] && !p.gave_up[i] && !p.forgot(&model.cfg, op)
                    })
                    .collect(),
                unpublished: (0..p.acked.len() as u8)
                    .filter(|&op| timers.iter().any(|t| *t == Timer::Send(op)))
                    .collect(),
            }
        }
        ActorModelAction::Recover(id) if usize::from(*id) == model::PRODUCER => {
            let (p0, p1) = (model::producer(before), model::producer(after));
            let (mut republished, mut forgot) = (Vec::new(), Vec::new());
            for op in 0..p1.acked.len() as u8 {
                let i = op as usize;
                if p1.republished[i] > p0.republished[i] {
                    republished.push(op);
                } else if p1.forgot(&model.cfg, op) && !p0.forgot(&model.cfg, op) {
                    forgot.push(op);
                }
            }
            Event::ProducerRestarted {
                session: p1.session,
                republished,
                forgot,
            }
        }
        ActorModelAction::Crash(id) => {
            let consumer = model::consumer_index(*id);
            let (_, c) = consumer_state(before, consumer);
            Event::Crashed {
                consumer,
                holding: c
                    .jobs
                    .iter()
                    .map(|j| Held {
                        op: j.op,
                        job: j.job,
                        stage: j.stage,
                    })
                    .collect(),
            }
        }
        ActorModelAction::Recover(id) => {
            let consumer = model::consumer_index(*id);
            Event::Restarted {
                consumer,
                incarnation: consumer_state(after, consumer).1.incarnation,
            }
        }
        ActorModelAction::SelectRandom { random: d, .. } if model.cfg.pipeline.log => {
            let log = model::broker(after).log.expect("a log");
            Event::Fetched {
                consumer: d.consumer,
                first: d.msg,
                last: log.position - 1,
                generation: log.generation,
            }
        }
        ActorModelAction::SelectRandom { random: d, .. }
            if model::broker(after).messages[d.msg as usize].status == Status::DeadLettered =>
        {
            let entry = &model::broker(after).messages[d.msg as usize];
            Event::DeadLettered {
                msg: d.msg,
                op: entry.op,
                receives: entry.receives(),
                dropped: model.cfg.pipeline.dead_letter == crate::pipeline::DeadLetter::Drop,
            }
        }
        ActorModelAction::SelectRandom { random: d, .. } => {
            let entry = &model::broker(after).messages[d.msg as usize];
            let delivery = match entry.status {
                Status::Leased { delivery, .. } => delivery,
                _ => entry.deliveries,
            };
            Event::Leased {
                msg: d.msg,
                op: entry.op,
                consumer: d.consumer,
                delivery,
            }
        }
    }
}

fn replication(s: &State) -> &crate::model::replication::Replication {
    model::broker(s)
        .replication
        .as_ref()
        .expect("a replicated broker")
}

/// Operations whose waiting confirm went out in this step.
fn newly_confirmed(before: &State, after: &State) -> Vec<u8> {
    let still = &replication(after).waiting;
    replication(before)
        .waiting
        .iter()
        .filter(|w| !still.contains(w))
        .map(|w| w.op)
        .collect()
}

/// Whether the broker holds a confirm of `op` after this step.
fn waits(after: &State, op: u8) -> bool {
    model::broker(after)
        .replication
        .as_ref()
        .is_some_and(|r| r.waiting.iter().any(|w| w.op == op))
}

/// Each step of a trace with its event.
pub fn of_trace<'a>(
    model: &'a Model,
    trace: &'a Trace,
) -> impl Iterator<Item = (&'a State, &'a Action, Event)> + 'a {
    actions(trace)
        .map(|(before, action, after)| (before, action, event(model, before, action, after)))
}

/// Each action of the counterexample with the states before and after it.
pub fn actions(trace: &Trace) -> impl Iterator<Item = (&State, &Action, &State)> {
    trace
        .steps
        .windows(2)
        .filter_map(|w| w[0].1.as_ref().map(|a| (&w[0].0, a, &w[1].0)))
}

/// A consumer's state, stale while it is down.
pub fn consumer_state(s: &State, index: u8) -> (bool, &crate::model::consumer::ConsumerState) {
    model::consumers(s)
        .find(|(i, _, _)| *i == index)
        .map(|(_, down, c)| (down, c))
        .expect("consumer index in range")
}

fn retry(model: &Model, before: &State, after: &State, op: u8) -> RetryOutcome {
    let (p0, p1) = (model::producer(before), model::producer(after));
    let i = op as usize;
    if p0 == p1 {
        RetryOutcome::Idle
    } else if p1.gave_up[i] && !p0.gave_up[i] {
        RetryOutcome::GaveUp {
            attempts: p1.retried[i] + 1,
        }
    } else {
        let attempt = p1.retried[i];
        let timer = ActorModelAction::Timeout(Id::from(PRODUCER), Timer::Retry(op));
        RetryOutcome::Republished {
            attempt,
            id: model::producer::attempt_id(&model.cfg, op, attempt),
            spurious: faults::fault(before, &timer) == Some(faults::Fault::SpuriousRetry),
        }
    }
}

fn lease_expiry(before: &State, after: &State, m: u8) -> Option<(u8, u8, bool)> {
    let status = model::broker(before).messages[m as usize].status;
    let released = model::broker(after).messages[m as usize].status == Status::Ready;
    match status {
        Status::Leased { consumer, delivery } if released => {
            let j = JobRef {
                msg: m,
                delivery,
                generation: 0,
            };
            let (down, c) = consumer_state(before, consumer);
            let works = !down && c.jobs.iter().any(|x| x.job == j);
            Some((consumer, delivery, works))
        }
        _ => None,
    }
}

fn op_of(s: &State, msg: u8) -> u8 {
    model::broker(s).messages[msg as usize].op
}

/// The operation of a consumer's job: its own record of it, which
/// outlives a failover that cut (and maybe reused) the broker's offset.
fn op_of_job(s: &State, src: Id, job: JobRef) -> u8 {
    consumer_state(s, model::consumer_index(src))
        .1
        .jobs
        .iter()
        .find(|j| j.job == job)
        .map_or_else(|| op_of(s, job.msg), |j| j.op)
}

fn delivery(model: &Model, before: &State, after: &State, src: Id, dst: Id, msg: &Msg) -> Event {
    let p = &model.cfg.pipeline;
    match *msg {
        Msg::Publish {
            op, id, attempt, ..
        } => {
            let (b0, b1) = (model::broker(before), model::broker(after));
            if b1.messages.len() > b0.messages.len() {
                Event::Stored {
                    op,
                    msg: (b1.messages.len() - 1) as u8,
                    id,
                    attempt,
                    again: b0.messages.iter().any(|e| e.op == op),
                    new_sequence: attempt > 0
                        && p.publish_dedup
                        && p.resend == crate::pipeline::Resend::Application,
                    waits: waits(after, op),
                }
            } else {
                Event::DuplicateDropped {
                    op,
                    id,
                    waits: waits(after, op),
                }
            }
        }
        Msg::PublishAck { op, session, .. } => Event::Confirmed {
            op,
            first: !model::producer(before).acked[op as usize]
                && model::producer(after).acked[op as usize],
            stale_session: (session != model::producer(before).session).then_some(session),
        },
        Msg::Deliver {
            job, op, session, ..
        } => {
            let consumer = model::consumer_index(dst);
            let after_jobs = &consumer_state(after, consumer).1.jobs;
            Event::Delivered {
                consumer,
                op,
                job,
                dead_session: session != consumer_state(before, consumer).1.incarnation,
                queued: after_jobs
                    .iter()
                    .any(|j| j.job == job && j.stage == Stage::Queued),
            }
        }
        Msg::Apply {
            job,
            op,
            key,
            check,
            ..
        } => {
            let skipped = key.is_some_and(|k| {
                p.ledger_check && check && model::store(before).ledger.binary_search(&k).is_ok()
            });
            if let Some(k) = key.filter(|_| p.api_keyed() && !skipped) {
                let concurrent = model::store(before).running.iter().any(|r| r.key == k);
                return if concurrent && p.api_locks() {
                    Event::CallConflict { op, job, key: k }
                } else {
                    Event::CallStarted {
                        op,
                        job,
                        key: k,
                        concurrent,
                    }
                };
            }
            Event::Effect {
                op,
                job,
                key,
                skipped,
                key_written: !skipped && key.is_some() && p.ledger_write == LedgerWrite::WithEffect,
                times: model::store(after).applied[op as usize],
            }
        }
        Msg::Record { job, key } | Msg::Claim { job, key } => Event::LedgerRow {
            op: op_of_job(before, src, job),
            key,
            already: model::store(before).ledger.binary_search(&key).is_ok(),
            before_effect: matches!(msg, Msg::Claim { .. }),
        },
        Msg::Lookup { job, key } => Event::Lookup {
            op: op_of_job(before, src, job),
            key,
            found: model::store(before).ledger.binary_search(&key).is_ok(),
        },
        Msg::Complete { job, .. } if p.log => {
            let log = model::broker(before).log.expect("a log");
            let offset = job.msg + 1;
            let outcome = if job.generation == log.generation {
                CommitOutcome::Accepted
            } else if p.stale_completion == StaleCompletion::Accepted {
                CommitOutcome::ZombieTaken
            } else if p.transactions && log.owner == model::consumer_index(src) {
                CommitOutcome::Aborted
            } else {
                CommitOutcome::Fenced {
                    generation: log.generation,
                }
            };
            let mut covers = unfinished(before, &(0..=job.msg).collect::<Vec<_>>());
            if matches!(
                outcome,
                CommitOutcome::Fenced { .. } | CommitOutcome::Aborted
            ) {
                covers.clear();
            }
            Event::Committed {
                consumer: model::consumer_index(src),
                op: op_of_job(before, src, job),
                offset,
                outcome,
                covers,
                transaction: p
                    .transactions
                    .then(|| model::broker(after).output[op_of_job(before, src, job) as usize]),
            }
        }
        Msg::Complete { job, .. } => {
            let consumer = model::consumer_index(src);
            let current = job.generation == crate::model::replication::epoch(model::broker(before));
            let Some(entry) = model::broker(before)
                .messages
                .get(job.msg as usize)
                .filter(|_| current)
            else {
                return Event::Completion {
                    consumer,
                    op: op_of_job(before, src, job),
                    job,
                    outcome: CompletionOutcome::OldLeader,
                    also: Vec::new(),
                    covers: Vec::new(),
                };
            };
            let holder = Status::Leased {
                consumer,
                delivery: job.delivery,
            };
            let done_now = model::broker(after).messages[job.msg as usize].status == Status::Done;
            let outcome = if entry.status == holder {
                CompletionOutcome::Accepted
            } else if done_now && entry.status != Status::Done {
                CompletionOutcome::StaleHonoured
            } else {
                CompletionOutcome::Refused {
                    status: entry.status,
                    answered: p.stale_completion == StaleCompletion::Accepted,
                }
            };
            let (b0, b1) = (model::broker(before), model::broker(after));
            let also: Vec<u8> = (0..b0.messages.len() as u8)
                .filter(|&m| m != job.msg)
                .filter(|&m| {
                    b0.messages[m as usize].status != Status::Done
                        && b1.messages[m as usize].status == Status::Done
                })
                .collect();
            let covers = unfinished(before, &also);
            Event::Completion {
                consumer,
                op: entry.op,
                job,
                outcome,
                also,
                covers,
            }
        }
        Msg::Applied { job, .. } | Msg::Conflict { job, .. } => {
            reply(before, after, dst, job, Stage::Applying, msg)
        }
        Msg::Recorded { job } => reply(before, after, dst, job, Stage::Recording, msg),
        Msg::Claimed { job, .. } => reply(before, after, dst, job, Stage::Claiming, msg),
        Msg::LookedUp { job, .. } => reply(before, after, dst, job, Stage::Looking, msg),
        Msg::Completed { job, .. } => reply(before, after, dst, job, Stage::Completing, msg),
        Msg::Poll => Event::Polled { src },
        Msg::Partial { op } => Event::PartialEffect {
            op,
            times: model::store(after).partial[op as usize],
        },
        Msg::Release { job } => Event::Released {
            consumer: model::consumer_index(src),
            op: op_of_job(before, src, job),
            job,
            back: model::broker(after).messages.get(job.msg as usize)
                != model::broker(before).messages.get(job.msg as usize),
        },
        Msg::Seek => {
            let consumer = model::consumer_index(src);
            let log = model::broker(after).log.expect("a log");
            Event::Seeked {
                consumer,
                to: (log.owner == consumer).then_some(log.position),
            }
        }
        Msg::Join { incarnation } => {
            let consumer = model::consumer_index(src);
            let (b0, b1) = (model::broker(before), model::broker(after));
            let released = (0..b0.messages.len())
                .filter(|&m| {
                    matches!(b0.messages[m].status, Status::Leased { consumer: c, .. } if c == consumer)
                        && b1.messages[m].status == Status::Ready
                })
                .map(|m| m as u8)
                .collect();
            let log = b1.log.filter(|l| l.owner == consumer);
            Event::Rejoined {
                consumer,
                incarnation,
                released: if b1.log.is_some() {
                    Vec::new()
                } else {
                    released
                },
                resumes_at: log.map(|l| l.position),
            }
        }
    }
}

fn reply(before: &State, after: &State, dst: Id, job: JobRef, stage: Stage, msg: &Msg) -> Event {
    let consumer = model::consumer_index(dst);
    let (_, c0) = consumer_state(before, consumer);
    let (_, c1) = consumer_state(after, consumer);
    let held = c0.jobs.iter().find(|x| x.job == job && x.stage == stage);
    let op = held.map_or_else(|| op_of(before, job.msg), |h| h.op);
    let outcome = match held {
        None => ReplyOutcome::Ignored {
            incarnation: c0.incarnation,
        },
        Some(_) => {
            let next = c1.jobs.iter().find(|x| x.job == job);
            // Whether this step sent the job's completion: auto-commit
            // sends none, or only with the next poll.
            let completions = |s: &State| {
                model::in_flight_from(s, dst)
                    .filter(|m| matches!(m, Msg::Complete { job: j, .. } if *j == job))
                    .count()
            };
            let applies = |s: &State| {
                model::in_flight_from(s, dst)
                    .filter(|m| matches!(m, Msg::Apply { job: j, .. } if *j == job))
                    .count()
            };
            ReplyOutcome::Taken {
                records_next: next
                    .is_some_and(|x| matches!(x.stage, Stage::Recording | Stage::Claiming)),
                applies_next: matches!(stage, Stage::Looking | Stage::Claiming)
                    && applies(after) > applies(before),
                completes_next: next.is_none()
                    && stage != Stage::Completing
                    && completions(after) > completions(before),
            }
        }
    };
    Event::Reply {
        consumer,
        op,
        job,
        msg: *msg,
        outcome,
    }
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

/// Of `msgs`, those a live consumer holds and has not yet applied, sorted.
fn unfinished(s: &State, msgs: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = model::consumers(s)
        .filter(|(_, down, _)| !down)
        .flat_map(|(i, _, c)| c.jobs.iter().map(move |j| (i, j)))
        .filter(|(i, j)| msgs.contains(&j.job.msg) && model::witnesses::unapplied(s, *i, j))
        .map(|(_, j)| j.job.msg)
        .collect();
    out.sort();
    out.dedup();
    out
}
