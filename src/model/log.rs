//! The Kafka partition: one ordered log, one consumer group, one owner.
//!
//! The owner's poll returns up to `max-poll-records` records from its
//! position on and advances the position; the committed offset moves only
//! on a commit, which covers every record before it (a commit of offset
//! n+1 says "done up to n", whether or not n-1 finished). A restart of the
//! owner, or a rebalance that gives the partition to another member,
//! resumes from the committed offset (BROKER-FACTS K-design "Position vs
//! committed", "Commit order").
//!
//! A rebalance is a budgeted fault: the coordinator moves the partition
//! while its owner may still work (a handler outliving
//! `max.poll.interval.ms`, a session timeout), and the old owner is not
//! told (K4). Each rebalance opens a new generation; with fencing the
//! coordinator rejects a commit from an older generation
//! (`ILLEGAL_GENERATION`, KIP-447), without fencing it takes it. Fencing
//! stops the zombie's commit, never its side effect.
//!
//! With transactions (read-process-write, K3) the commit of a record is
//! the commit of its transaction: the output records the handler produced
//! and the consumer offset become visible in one step, or, when the
//! coordinator fences an older generation, are aborted together. The
//! transaction protocol itself is taken as correct: one atomic step, no
//! hanging or torn transactions (the Jepsen Bufstream findings, KIP-890,
//! are out of scope), and an abort never rewinds the consumer.
//!
//! Assumptions: committed offsets are durable (`__consumer_offsets` with
//! `acks=all`); a crashed member keeps its partition and resumes from the
//! committed offset when it rejoins (a sticky assignment; a member that
//! never comes back is a rebalance); a commit may move the offset
//! backwards, as Kafka allows.

use super::broker::{BrokerState, Status};
use super::faults::Fault;
use super::msg::{Dispatch, JobRef, Msg, Timer};
use super::{Out, consumer_id, consumer_index, no_delay};
use crate::pipeline::{Config, StaleCompletion};
use serde::Serialize;
use stateright::actor::Id;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct LogState {
    /// The next offset a restart or a new owner reads.
    pub committed: u8,
    /// The next offset the owner's poll returns.
    pub position: u8,
    pub owner: u8,
    /// The group generation, from 1; each rebalance or owner restart opens
    /// the next.
    pub generation: u8,
    pub rebalances_left: u8,
    /// A zombie's commit was rejected (fencing).
    pub fenced: bool,
    /// With transactions: the owner's own transaction from an older epoch
    /// was refused (the coordinator aborted it, or the owner restarted).
    pub refused_own: bool,
    pub aborts_left: u8,
}

const DISPATCH: &str = "dispatch";

/// Consumer 0 owns the partition at first; every other member may receive
/// it by a rebalance while the budget lasts.
pub fn start(cfg: &Config, o: &mut Out) -> LogState {
    let log = LogState {
        committed: 0,
        position: 0,
        owner: 0,
        generation: 1,
        rebalances_left: cfg.bounds.rebalances,
        fenced: false,
        refused_own: false,
        aborts_left: if (Fault::TransactionAbort.kind().possible)(cfg) {
            cfg.bounds.transaction_aborts
        } else {
            0
        },
    };
    arm_rebalances(cfg.bounds.consumers, &log, o);
    log
}

fn arm_rebalances(consumers: u8, log: &LogState, o: &mut Out) {
    for c in 0..consumers {
        if c != log.owner && log.rebalances_left > 0 {
            o.set_timer(Timer::Rebalance(c), no_delay());
        } else {
            o.cancel_timer(Timer::Rebalance(c));
        }
    }
}

/// Every status from the log: committed records are done, fetched ones
/// are leased to the owner, the rest wait for a poll.
fn settle(s: &mut BrokerState) {
    let log = s.log.expect("a log broker");
    for (at, e) in s.messages.iter_mut().enumerate() {
        let at = at as u8;
        e.status = if at < log.committed {
            Status::Done
        } else if at < log.position {
            Status::Leased {
                consumer: log.owner,
                delivery: e.deliveries,
            }
        } else {
            Status::Ready
        };
    }
}

/// The owner's pending poll is answered once a record lies past its
/// position: one choice, so the answer is a step of its own and publishes
/// can pile up into one batch before it.
pub fn offer(s: &BrokerState, log: &LogState, o: &mut Out) {
    // The owner has a transaction open exactly while it holds records
    // fetched and not committed; only then can the coordinator abort one.
    if log.aborts_left > 0 && log.position > log.committed {
        o.set_timer(Timer::TxnAbort, no_delay());
    } else {
        o.cancel_timer(Timer::TxnAbort);
    }
    // Only what every in-sync replica holds is fetched.
    let visible = super::replication::visible(s);
    if s.polling[log.owner as usize] && (log.position as usize) < visible {
        o.choose_random(
            DISPATCH,
            vec![Dispatch {
                msg: log.position,
                consumer: log.owner,
            }],
        );
    } else {
        o.remove_random(DISPATCH);
    }
}

/// The poll returns the records from the position on, up to
/// `max-poll-records`, in one step (FIFO to the consumer).
pub fn on_poll_answered(
    cfg: &Config,
    s: &BrokerState,
    d: Dispatch,
    o: &mut Out,
) -> Option<BrokerState> {
    let mut next = s.clone();
    let mut log = next.log?;
    if d.consumer != log.owner
        || d.msg != log.position
        || d.msg as usize >= super::replication::visible(s)
    {
        return None;
    }
    let end = (log.position as usize + cfg.pipeline.max_poll_records as usize)
        .min(super::replication::visible(&next));
    let session = next.sessions[log.owner as usize];
    for at in log.position as usize..end {
        let e = &mut next.messages[at];
        e.deliveries += 1;
        o.send(
            consumer_id(log.owner),
            Msg::Deliver {
                job: JobRef {
                    msg: at as u8,
                    delivery: e.deliveries,
                    generation: log.generation,
                },
                op: e.op,
                id: e.id,
                session,
            },
        );
    }
    log.position = end as u8;
    next.log = Some(log);
    next.polling[log.owner as usize] = false;
    settle(&mut next);
    offer(&next, &log, o);
    Some(next)
}

/// A commit of `job.msg + 1`, under the generation the record was fetched
/// in. Without fencing a zombie's commit is taken too, and may move the
/// offset backwards or past records the new owner has not finished. With
/// transactions the commit is the end of the record's transaction: its
/// output record becomes visible with the offset, and a fenced
/// transaction is aborted, output and offset both discarded.
pub fn on_commit(
    cfg: &Config,
    s: &BrokerState,
    src: Id,
    job: JobRef,
    reply: bool,
    poll: bool,
    o: &mut Out,
) -> Option<BrokerState> {
    let log = s.log?;
    let stale = job.generation != log.generation;
    let accepted = !stale || cfg.pipeline.stale_completion == StaleCompletion::Accepted;
    if reply {
        o.send(src, Msg::Completed { job, accepted });
    }
    let mut next = s.clone();
    let mut l = log;
    // A zombie is a member that lost the partition; the owner's own older
    // commits are those of its previous incarnation or aborted epoch.
    let own = consumer_index(src) == log.owner;
    if accepted {
        l.committed = job.msg + 1;
        // An operator can now reset the group's offsets to the beginning.
        if next.replays_left > 0 {
            o.set_timer(Timer::Replay(0), no_delay());
        }
        next.stale_honoured |= stale && !own;
        // A record a failover truncated has no transaction to commit.
        if let (true, Some(e)) = (cfg.pipeline.transactions, s.messages.get(job.msg as usize)) {
            let op = e.op as usize;
            next.output[op] = (next.output[op] + 1).min(super::store::APPLIED_CAP);
        }
    } else if !own {
        l.fenced = true;
    } else if cfg.pipeline.transactions {
        l.refused_own = true;
    }
    next.log = Some(l);
    next.polling[consumer_index(src) as usize] |= poll;
    settle(&mut next);
    offer(&next, &l, o);
    (next != *s).then_some(next)
}

/// An operator resets the group's committed offset to the beginning
/// (`kafka-consumer-groups --reset-offsets --to-earliest`): the owner
/// fetches from offset 0 again, and every record is read again.
pub fn on_reset(_: &Config, s: &BrokerState, o: &mut Out) -> Option<BrokerState> {
    let mut log = s.log?;
    let mut next = s.clone();
    log.committed = 0;
    log.position = 0;
    next.log = Some(log);
    super::broker::spend(&mut next.replays_left, [Timer::Replay(0)], o);
    settle(&mut next);
    offer(&next, &log, o);
    Some(next)
}

/// The coordinator aborts the owner's open transaction and bumps its
/// producer epoch, fencing every commit of what it fetched before; the
/// owner keeps the partition and its position (an abort does not rewind
/// the consumer).
pub fn on_abort(s: &BrokerState, o: &mut Out) -> Option<BrokerState> {
    let mut log = s.log?;
    let mut next = s.clone();
    log.generation += 1;
    log.aborts_left -= 1;
    next.log = Some(log);
    offer(&next, &log, o);
    Some(next)
}

/// The consumer seeks back to the committed offset (after an abort): the
/// owner's next poll fetches from there; anyone else only asks for work.
pub fn on_seek(s: &BrokerState, consumer: u8, o: &mut Out) -> Option<BrokerState> {
    let mut log = s.log?;
    let mut next = s.clone();
    if log.owner == consumer {
        log.position = log.committed;
    }
    next.log = Some(log);
    next.polling[consumer as usize] = true;
    settle(&mut next);
    offer(&next, &log, o);
    (next != *s).then_some(next)
}

/// A failover cut the log: a position past its new end is out of range
/// and reset to the end (`auto.offset.reset`); the committed offset lives
/// in `__consumer_offsets` and stays, even past the end.
pub fn on_truncate(s: &mut BrokerState) {
    let mut log = s.log.expect("a log broker");
    log.position = log.position.min(s.messages.len() as u8);
    s.log = Some(log);
    settle(s);
}

/// A member rejoined after a restart: if it owns the partition, the new
/// generation resumes from the committed offset.
pub fn on_join(s: &mut BrokerState, consumer: u8) {
    let mut log = s.log.expect("a log broker");
    if log.owner == consumer {
        log.generation += 1;
        log.position = log.committed;
    }
    s.log = Some(log);
    settle(s);
}

/// The coordinator gives the partition to `to`; the old owner, not told,
/// keeps working on what it fetched.
pub fn on_rebalance(cfg: &Config, s: &BrokerState, to: u8, o: &mut Out) -> Option<BrokerState> {
    let mut log = s.log?;
    if to == log.owner || log.rebalances_left == 0 {
        return None;
    }
    let mut next = s.clone();
    log.owner = to;
    log.generation += 1;
    log.position = log.committed;
    log.rebalances_left -= 1;
    arm_rebalances(cfg.bounds.consumers, &log, o);
    next.log = Some(log);
    settle(&mut next);
    offer(&next, &log, o);
    Some(next)
}
