//! The broker stores what it accepts, confirms each publish, and hands each
//! stored message to one consumer at a time under a lease. It forgets a
//! message only on a completion signal from the current lease holder, and
//! redelivers when the lease expires or the holder's session ends. With
//! replicas ([`super::replication`]) it confirms and hands out only what
//! its policy says is safe, and a leader failover can cut its log (Leg 2).
//!
//! With `log` (Kafka) the same actor keeps one partition instead
//! ([`LogState`]): the owner's poll returns the records from its position
//! on, a commit of offset n+1 covers every record before it, and a restart
//! or a new owner resumes from the committed offset, not from the furthest
//! record anyone touched. Each message's status is then a view of the log:
//! committed records are done, fetched ones leased to the owner, the rest
//! ready.

use super::faults::Fault;
pub use super::log::LogState;
use super::msg::{Dispatch, JobRef, Msg, Timer};
use super::replication::Waiting;
use super::{Out, consumer_id, consumer_index, no_delay};
use crate::pipeline::{Config, DeadLetter, Resend, StaleCompletion};
use serde::Serialize;
use stateright::actor::Id;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Status {
    Ready,
    Leased {
        consumer: u8,
        delivery: u8,
    },
    Done,
    /// Past its receive limit: in the dead-letter queue (or dropped on the
    /// way there), not applied.
    DeadLettered,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Entry {
    pub op: u8,
    pub id: u8,
    /// The producer session that published it.
    pub session: u8,
    pub deliveries: u8,
    pub status: Status,
    /// `deliveries` when a redrive last brought it back: its receive
    /// count starts again from there.
    pub redriven_at: u8,
}

impl Entry {
    /// Receives since it entered (or re-entered) the queue.
    pub fn receives(&self) -> u8 {
        self.deliveries - self.redriven_at
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct BrokerState {
    /// Stored messages; the index is the message's offset.
    pub messages: Vec<Entry>,
    /// Ids already stored, for publish dedup (sorted).
    pub seen: Vec<u8>,
    /// The consumer incarnation each session belongs to.
    pub sessions: Vec<u8>,
    /// Which consumers have asked for a message and not yet received one.
    pub polling: Vec<bool>,
    pub expiries_left: u8,
    /// A completion from a delivery that no longer held the lease was
    /// honoured (only with `stale-completion = "accepted"`; on a log, a
    /// zombie's commit without fencing).
    pub stale_honoured: bool,
    /// The partition, with `log`.
    pub log: Option<LogState>,
    /// Deleted messages that may still come back (SQS standard).
    pub phantoms_left: u8,
    /// Dedup windows that may still close (SQS FIFO).
    pub windows_left: u8,
    /// Operator replays that may still come (`bounds.operator-replays`).
    pub replays_left: u8,
    /// Records of each operation in the output topic that committed
    /// transactions wrote (what a `read_committed` reader sees); empty
    /// without transactions.
    pub output: Vec<u8>,
    /// Under a prefetch window (`prefetch` ≥ 2): each consumer's channel,
    /// the messages it holds unacked in delivery-tag order. Empty without.
    pub channels: Vec<Vec<u8>>,
    /// The followers and what waits for them (Leg 2), with 2+ replicas.
    pub replication: Option<super::replication::Replication>,
}

impl BrokerState {
    /// The stored message a delivery of `op` came from, if the leader
    /// still has it: a failover can cut it, and a later publish can take
    /// its offset.
    pub fn entry(&self, msg: u8, op: u8) -> Option<&Entry> {
        self.messages.get(msg as usize).filter(|e| e.op == op)
    }
}

const DISPATCH: &str = "dispatch";

/// A fault's budget where the pipeline lets it happen, else 0.
pub(super) fn budget_if(cfg: &Config, f: Fault) -> u8 {
    let k = f.kind();
    if (k.possible)(cfg) {
        (k.budget)(&cfg.bounds)
    } else {
        0
    }
}

pub fn start(cfg: &Config, o: &mut Out) -> BrokerState {
    let log = cfg.pipeline.log.then(|| super::log::start(cfg, o));
    BrokerState {
        messages: Vec::new(),
        seen: Vec::new(),
        sessions: vec![1; cfg.bounds.consumers as usize],
        polling: vec![true; cfg.bounds.consumers as usize],
        expiries_left: if log.is_some() {
            0
        } else {
            cfg.bounds.lease_expiries
        },
        stale_honoured: false,
        log,
        phantoms_left: budget_if(cfg, Fault::PhantomRedelivery),
        windows_left: budget_if(cfg, Fault::DedupWindowExpiry),
        replays_left: budget_if(cfg, Fault::OperatorReplay),
        output: if cfg.pipeline.transactions {
            vec![0; cfg.bounds.operations as usize]
        } else {
            Vec::new()
        },
        channels: if cfg.pipeline.prefetch > 1 {
            vec![Vec::new(); cfg.bounds.consumers as usize]
        } else {
            Vec::new()
        },
        replication: super::replication::start(cfg, o),
    }
}

/// Whether consumer `c` may be handed a message now: it asked for one
/// (a pull, prefetch one), or its channel has room in the prefetch window.
fn has_credit(cfg: &Config, s: &BrokerState, c: u8) -> bool {
    match s.channels.get(c as usize) {
        Some(unacked) => unacked.len() < cfg.pipeline.prefetch as usize,
        None => s.polling[c as usize],
    }
}

/// Offers the oldest ready message to each consumer that asked for work.
/// Consumers pull one message at a time (SQS ReceiveMessage, a Kafka poll,
/// `basic.qos(1)` credit), so a consumer still busy with a message whose
/// lease expired is not offered its redelivery. Under a larger prefetch
/// window the broker pushes while the channel has room.
pub(super) fn offer(cfg: &Config, s: &BrokerState, o: &mut Out) {
    if let Some(log) = &s.log {
        return super::log::offer(s, log, o);
    }
    // One message group: nothing more is handed out while one is in flight.
    let group_busy = cfg.pipeline.one_group
        && s.messages
            .iter()
            .any(|e| matches!(e.status, Status::Leased { .. }));
    // Only what every in-sync replica holds is handed out.
    let visible = super::replication::visible(s);
    let ready = s
        .messages
        .iter()
        .take(visible)
        .position(|e| e.status == Status::Ready);
    let Some(msg) = ready.filter(|_| !group_busy) else {
        // A message can leave Ready without being dispatched (a stale
        // completion honoured after its lease expired): drop the offer.
        o.remove_random(DISPATCH);
        return;
    };
    let choices: Vec<Dispatch> = (0..s.polling.len() as u8)
        .filter(|&c| has_credit(cfg, s, c))
        .map(|consumer| Dispatch {
            msg: msg as u8,
            consumer,
        })
        .collect();
    if choices.is_empty() {
        o.remove_random(DISPATCH);
    } else {
        o.choose_random(DISPATCH, choices);
    }
}

/// What publish dedup recognises a publish by: its id, or, for an
/// application-level resend past Kafka's idempotent producer, the new
/// sequence number every `send` gets (K2); and, where dedup is per
/// producer session (K2), the session, so a restarted producer's publish
/// is new to it.
fn dedup_key(cfg: &Config, id: u8, attempt: u8, session: u8) -> u8 {
    let key = match cfg.pipeline.resend {
        Resend::ClientInternal => id,
        Resend::Application => id * cfg.attempts_cap() + attempt,
    };
    key + (session_of(cfg, session) - 1) * keys_per_session(cfg)
}

/// The session dedup tells apart: the producer's, or 1 for everyone.
fn session_of(cfg: &Config, session: u8) -> u8 {
    if cfg.pipeline.dedup_per_session {
        session
    } else {
        1
    }
}

/// Distinct keys one session can produce: ids range over operations ×
/// attempts at most.
fn keys_per_session(cfg: &Config) -> u8 {
    let ids = cfg.bounds.operations * cfg.attempts_cap();
    match cfg.pipeline.resend {
        Resend::ClientInternal => ids,
        Resend::Application => ids * cfg.attempts_cap(),
    }
}

/// The id and session a dedup key stands for.
pub fn id_of_key(cfg: &Config, key: u8) -> (u8, u8) {
    let span = keys_per_session(cfg);
    let (session, key) = (key / span + 1, key % span);
    let id = match cfg.pipeline.resend {
        Resend::ClientInternal => key,
        Resend::Application => key / cfg.attempts_cap(),
    };
    (id, session)
}

/// A leased message leaves its holder's channel (acked or requeued).
fn leave_channel(s: &mut BrokerState, msg: u8) {
    if let Status::Leased { consumer, .. } = s.messages[msg as usize].status
        && let Some(unacked) = s.channels.get_mut(consumer as usize)
    {
        unacked.retain(|&m| m != msg);
    }
}

pub(super) fn release(s: &mut BrokerState, msg: usize, o: &mut Out) {
    leave_channel(s, msg as u8);
    s.messages[msg].status = Status::Ready;
    o.cancel_timer(Timer::Lease(msg as u8));
}

/// The messages an accepted completion of `msg` by `consumer` removes: the
/// message itself, and with `multiple` every delivery before it on the
/// channel (an ack of tag n acks every tag up to n).
fn acked_by(cfg: &Config, s: &BrokerState, consumer: u8, msg: u8) -> Vec<u8> {
    match s.channels.get(consumer as usize) {
        Some(unacked) if cfg.pipeline.ack_multiple => {
            let at = unacked.iter().position(|&m| m == msg);
            at.map_or(vec![msg], |at| unacked[..=at].to_vec())
        }
        _ => vec![msg],
    }
}

pub fn on_msg(
    cfg: &Config,
    s: &BrokerState,
    src: Id,
    msg: Msg,
    o: &mut Out,
) -> Option<BrokerState> {
    match msg {
        Msg::Publish {
            op,
            id,
            attempt,
            session,
        } => {
            let replicated = s.replication.is_some();
            let ack = super::replication::Waiting {
                msg: 0,
                op,
                id,
                session,
            };
            if !replicated {
                o.send(src, ack.confirm());
            }
            let key = dedup_key(cfg, id, attempt, session);
            let known = s.seen.binary_search(&key);
            if cfg.pipeline.publish_dedup && known.is_ok() {
                if !replicated {
                    return None;
                }
                // A duplicate's confirm waits with its original's.
                let mut next = s.clone();
                let original = s.messages.iter().position(|e| {
                    e.id == id && session_of(cfg, e.session) == session_of(cfg, session)
                });
                let original = original.map(|m| Waiting {
                    msg: m as u8,
                    ..ack
                });
                super::replication::confirm(cfg, &mut next, original, ack, o);
                return (next != *s).then_some(next);
            }
            let mut next = s.clone();
            if let Err(at) = known {
                next.seen.insert(at, key);
                if next.windows_left > 0 {
                    o.set_timer(Timer::DedupWindow(key), no_delay());
                }
            }
            next.messages.push(Entry {
                op,
                id,
                session,
                deliveries: 0,
                status: Status::Ready,
                redriven_at: 0,
            });
            if replicated {
                let at = next.messages.len() as u8 - 1;
                let stored = Waiting { msg: at, ..ack };
                super::replication::confirm(cfg, &mut next, Some(stored), ack, o);
                super::replication::settle(cfg, &mut next, o);
            }
            offer(cfg, &next, o);
            Some(next)
        }
        Msg::Complete { job, reply, poll } if s.log.is_some() => {
            super::log::on_commit(cfg, s, src, job, reply, poll, o)
        }
        Msg::Complete { job, reply, poll } => {
            let consumer = consumer_index(src);
            let holder = Status::Leased {
                consumer,
                delivery: job.delivery,
            };
            // A delivery of an older leader's term: its receipt handle
            // or channel died in the failover.
            let current = job.generation == super::replication::epoch(s);
            let status = s
                .messages
                .get(job.msg as usize)
                .map_or(Status::Ready, |e| e.status);
            let honours_stale =
                current && cfg.pipeline.stale_completion == StaleCompletion::Accepted;
            // A dead-lettered message sits in another queue, out of the
            // reach of this queue's receipt handles.
            let accepted = (current && status == holder)
                || (honours_stale && !matches!(status, Status::Done | Status::DeadLettered));
            if reply {
                // SQS standard answers a delete with an old receipt handle
                // with success whether or not it deleted anything (S3).
                let answer = accepted || honours_stale;
                o.send(
                    src,
                    Msg::Completed {
                        job,
                        accepted: answer,
                    },
                );
            }
            // Under a prefetch window credit is the channel's room, not a
            // request.
            let poll = poll && s.channels.is_empty();
            if !accepted && !poll {
                return None;
            }
            let mut next = s.clone();
            if accepted {
                next.stale_honoured |= status != holder;
                for msg in acked_by(cfg, s, consumer, job.msg) {
                    done(&mut next, msg, o);
                }
            }
            next.polling[consumer as usize] |= poll;
            offer(cfg, &next, o);
            Some(next)
        }
        Msg::Seek => super::log::on_seek(s, consumer_index(src), o),
        // A handler failed: the holder gives its delivery back.
        Msg::Release { job } => {
            let holder = Status::Leased {
                consumer: consumer_index(src),
                delivery: job.delivery,
            };
            let current = job.generation == super::replication::epoch(s);
            if !current || s.messages.get(job.msg as usize)?.status != holder {
                return None;
            }
            let mut next = s.clone();
            release(&mut next, job.msg as usize, o);
            offer(cfg, &next, o);
            Some(next)
        }
        Msg::Poll => {
            let mut next = s.clone();
            next.polling[consumer_index(src) as usize] = true;
            offer(cfg, &next, o);
            Some(next)
        }
        Msg::Join { incarnation } => {
            let consumer = consumer_index(src);
            let mut next = s.clone();
            next.sessions[consumer as usize] = incarnation;
            next.polling[consumer as usize] = true;
            if next.log.is_some() {
                super::log::on_join(&mut next, consumer);
                offer(cfg, &next, o);
                return Some(next);
            }
            for msg in 0..next.messages.len() {
                if matches!(next.messages[msg].status, Status::Leased { consumer: c, .. } if c == consumer)
                {
                    release(&mut next, msg, o);
                }
            }
            offer(cfg, &next, o);
            Some(next)
        }
        _ => None,
    }
}

pub fn on_dispatch(cfg: &Config, s: &BrokerState, d: Dispatch, o: &mut Out) -> Option<BrokerState> {
    if s.log.is_some() {
        return super::log::on_poll_answered(cfg, s, d, o);
    }
    let mut next = s.clone();
    let epoch = super::replication::epoch(s);
    let entry = next.messages.get_mut(d.msg as usize)?;
    if entry.status != Status::Ready {
        return None;
    }
    // The receive that would exceed the limit moves it to the DLQ instead.
    if cfg
        .pipeline
        .max_receives
        .is_some_and(|n| entry.receives() >= n)
    {
        entry.status = Status::DeadLettered;
        if cfg.pipeline.redrive && cfg.pipeline.dead_letter == DeadLetter::Keep {
            o.set_timer(Timer::Redrive(d.msg), no_delay());
        }
        offer(cfg, &next, o);
        return Some(next);
    }
    // A poison message's count saturates just past what its receive limit
    // reads, so its endless redelivery is a cycle of finitely many states
    // (which the progress check can find); its receipt handles are never
    // used again, since its handler never completes.
    let cap = if cfg.pipeline.poisoned(entry.op) {
        entry.redriven_at + cfg.pipeline.max_receives.unwrap_or(1) + 1
    } else {
        u8::MAX
    };
    entry.deliveries = (entry.deliveries + 1).min(cap);
    let job = JobRef {
        msg: d.msg,
        delivery: entry.deliveries,
        generation: epoch,
    };
    entry.status = Status::Leased {
        consumer: d.consumer,
        delivery: job.delivery,
    };
    next.polling[d.consumer as usize] = false;
    if let Some(unacked) = next.channels.get_mut(d.consumer as usize) {
        unacked.push(d.msg);
    }
    let entry = &next.messages[d.msg as usize];
    let (op, id) = (entry.op, entry.id);
    o.send(
        consumer_id(d.consumer),
        Msg::Deliver {
            job,
            op,
            id,
            session: next.sessions[d.consumer as usize],
        },
    );
    if cfg.pipeline.auto_ack {
        // autoAck: the broker forgets the message once it is sent.
        done(&mut next, d.msg, o);
    } else if next.expiries_left > 0 {
        o.set_timer(Timer::Lease(d.msg), no_delay());
    }
    offer(cfg, &next, o);
    Some(next)
}

/// The message is deleted (acked); on SQS standard it may yet come back.
fn done(s: &mut BrokerState, msg: u8, o: &mut Out) {
    leave_channel(s, msg);
    s.messages[msg as usize].status = Status::Done;
    o.cancel_timer(Timer::Lease(msg));
    if s.phantoms_left > 0 {
        o.set_timer(Timer::Phantom(msg), no_delay());
    }
    if s.replays_left > 0 {
        o.set_timer(Timer::Replay(msg), no_delay());
    }
}

/// One unit of a broker-counted fault budget is spent; with the last one
/// its timers are disarmed, so a spent fault is never offered again
/// (tests/faults.rs checks it on every reachable state).
pub(super) fn spend(left: &mut u8, timers: impl IntoIterator<Item = Timer>, o: &mut Out) {
    *left -= 1;
    if *left == 0 {
        for t in timers {
            o.cancel_timer(t);
        }
    }
}

/// A deleted message comes back (S1): a fault, each one spending the
/// budget; the timers are disarmed when the last is spent.
pub fn on_phantom(cfg: &Config, s: &BrokerState, msg: u8, o: &mut Out) -> Option<BrokerState> {
    back_to_ready(cfg, s, msg, Timer::Phantom, |b| &mut b.phantoms_left, o)
}

/// An operator replays a done message (re-sent from an archive, shovelled
/// back): on a queue it is ready again; on a log the group's committed
/// offset is reset to the beginning and every record is read again.
pub fn on_replay(cfg: &Config, s: &BrokerState, msg: u8, o: &mut Out) -> Option<BrokerState> {
    if s.log.is_some() {
        return super::log::on_reset(cfg, s, o);
    }
    back_to_ready(cfg, s, msg, Timer::Replay, |b| &mut b.replays_left, o)
}

/// A done message is ready again, spending one unit of the budget `left`
/// counts; its timers (`timer` per message) are disarmed with the last.
fn back_to_ready(
    cfg: &Config,
    s: &BrokerState,
    msg: u8,
    timer: fn(u8) -> Timer,
    left: fn(&mut BrokerState) -> &mut u8,
    o: &mut Out,
) -> Option<BrokerState> {
    if s.messages[msg as usize].status != Status::Done {
        return None;
    }
    let mut next = s.clone();
    next.messages[msg as usize].status = Status::Ready;
    let all = (0..next.messages.len() as u8).map(timer);
    spend(left(&mut next), all, o);
    offer(cfg, &next, o);
    Some(next)
}

/// The dedup window of `key` closes: a later publish with it is new (S4
/// after 5 minutes). A fault; the last one disarms the rest.
pub fn on_window_closed(s: &BrokerState, key: u8, o: &mut Out) -> Option<BrokerState> {
    let at = s.seen.binary_search(&key).ok()?;
    let mut next = s.clone();
    next.seen.remove(at);
    let all: Vec<Timer> = next.seen.iter().map(|&k| Timer::DedupWindow(k)).collect();
    spend(&mut next.windows_left, all, o);
    Some(next)
}

/// An operator moves a dead-lettered message back to the queue, where
/// its receive count starts again.
pub fn on_redrive(cfg: &Config, s: &BrokerState, msg: u8, o: &mut Out) -> Option<BrokerState> {
    let mut next = s.clone();
    let e = &mut next.messages[msg as usize];
    if e.status != Status::DeadLettered {
        return None;
    }
    e.status = Status::Ready;
    e.redriven_at = e.deliveries;
    offer(cfg, &next, o);
    Some(next)
}

/// A lease expiry is a fault: it fires while the holder may still be
/// working, and each one spends the budget. A lease timer is armed only on
/// a leased message while expiries remain, and all are cancelled when the
/// last is spent (tests/faults.rs checks it on every reachable state), so
/// the budget needs no guard here.
pub fn on_lease_expiry(cfg: &Config, s: &BrokerState, msg: u8, o: &mut Out) -> Option<BrokerState> {
    if !matches!(s.messages[msg as usize].status, Status::Leased { .. }) {
        return None;
    }
    let mut next = s.clone();
    // RabbitMQ's consumer timeout closes the channel: every delivery it
    // holds goes back, not just the late one (R4).
    let closed = match s.messages[msg as usize].status {
        Status::Leased { consumer, .. } if !s.channels.is_empty() => {
            s.channels[consumer as usize].clone()
        }
        _ => vec![msg],
    };
    for m in closed {
        release(&mut next, m as usize, o);
    }
    let all = (0..next.messages.len() as u8).map(Timer::Lease);
    spend(&mut next.expiries_left, all, o);
    offer(cfg, &next, o);
    Some(next)
}
