//! Leg 2: the broker's durability, as a leader and its followers.
//!
//! # The story
//!
//! The broker is a leader with up to two followers. A publish is appended
//! to the leader; each follower copies the leader's log in order, one
//! record per step (a fetch), so a follower always holds a prefix of it. A
//! follower that is not behind, or that fell behind without being noticed,
//! is *in sync*; one that falls behind for too long (a budgeted fault, an
//! ISR shrink) leaves the in-sync set, and rejoins when it has caught up.
//! The records every in-sync replica holds are *committed* (Kafka's high
//! watermark): only those are handed to consumers.
//!
//! The confirm goes out on the leader's append (`acks = "leader"`), or
//! once the record is committed while at least `min-in-sync` replicas are
//! in sync (`acks = "all"`). A leader failover (a budgeted fault) makes a
//! follower the leader with what it has: an in-sync one, or, with unclean
//! election, any. What the new leader lacks is gone: a record confirmed
//! and not yet replicated is a confirmed operation that no consumer will
//! ever see (Leg 2). A publish whose confirm was still waiting fails with
//! the old leader (the client sees NOT_LEADER or a timeout), so the
//! producer's retry that follows is paid for by the failover, not by the
//! spurious-retry budget. On a queue the old leader's deliveries die with
//! it: its unacked messages are back in the queue on the new leader, and a
//! completion with an old receipt handle or channel is refused (R2, R3).
//! On a Kafka partition the group and its committed offsets live elsewhere
//! and survive; a position past the new log end is reset to it.
//!
//! # Assumptions (BROKER-FACTS K1, R1)
//!
//! - A leader that crashes without an eligible follower comes back with
//!   its whole log (it flushed what it appended): unavailability, not
//!   loss. The "no fsync" case is not modelled.
//! - A publish that finds the in-sync set below `min-in-sync` is not
//!   confirmed until the set recovers (Kafka answers NOT_ENOUGH_REPLICAS
//!   and the client retries internally; either way no confirm goes out for
//!   a record fewer than `min-in-sync` replicas hold).
//! - The idempotent producer's sequence state is replicated with the log
//!   (K2): after a failover it knows exactly the records the new leader
//!   kept.
//! - A RabbitMQ quorum queue confirms once a majority holds the message
//!   and elects only from its quorum: `acks = "all"` with `min-in-sync` a
//!   majority and no unclean election. SQS is assumed durable.

use super::broker::{BrokerState, Status};
use super::faults::Fault;
use super::msg::{Msg, Timer};
use super::{Out, PRODUCER, no_delay};
use crate::pipeline::{Acks, Config};
use serde::Serialize;
use stateright::actor::Id;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Follower {
    /// Records it holds: a prefix of the leader's log.
    pub len: u8,
    pub in_sync: bool,
}

/// A publish whose confirm waits for its record to be committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Waiting {
    pub msg: u8,
    pub op: u8,
    pub id: u8,
    /// The producer session that published, which the confirm goes to.
    pub session: u8,
}

impl Waiting {
    pub fn confirm(&self) -> Msg {
        Msg::PublishAck {
            op: self.op,
            id: self.id,
            session: self.session,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Replication {
    pub followers: Vec<Follower>,
    /// Sorted.
    pub waiting: Vec<Waiting>,
    pub failovers_left: u8,
    pub shrinks_left: u8,
    /// The leader's term, from 0: a delivery carries it, so the new leader
    /// refuses completions of the old one's deliveries.
    pub epoch: u8,
    /// Per operation: confirms a failover took away (the request failed
    /// with the old leader). Each pays for one retry, like a lost message.
    pub dropped: Vec<u8>,
    /// A failover truncated a record whose confirm had gone out.
    pub lost_confirmed: bool,
    /// An out-of-sync follower was elected.
    pub unclean_elected: bool,
    /// A failover failed a publish whose confirm was waiting.
    pub failed_waiting: bool,
}

fn budget(cfg: &Config, f: Fault) -> u8 {
    let k = f.kind();
    if (k.possible)(cfg) {
        (k.budget)(&cfg.bounds)
    } else {
        0
    }
}

pub fn start(cfg: &Config, o: &mut Out) -> Option<Replication> {
    let d = cfg.pipeline.durability;
    if !d.replicated() {
        return None;
    }
    let r = Replication {
        followers: vec![
            Follower {
                len: 0,
                in_sync: true
            };
            d.replicas as usize - 1
        ],
        waiting: Vec::new(),
        failovers_left: budget(cfg, Fault::BrokerFailover),
        shrinks_left: budget(cfg, Fault::IsrShrink),
        epoch: 0,
        dropped: vec![0; cfg.bounds.operations as usize],
        lost_confirmed: false,
        unclean_elected: false,
        failed_waiting: false,
    };
    arm_timers(cfg, 0, &r, o);
    Some(r)
}

/// Records every in-sync replica holds (the high watermark): what
/// consumers may see. Without replication, every stored record.
pub fn visible(s: &BrokerState) -> usize {
    let len = s.messages.len();
    s.replication.as_ref().map_or(len, |r| {
        r.followers
            .iter()
            .filter(|f| f.in_sync)
            .map(|f| f.len as usize)
            .fold(len, usize::min)
    })
}

/// The leader's term a delivery is made in (0 without replication).
pub fn epoch(s: &BrokerState) -> u8 {
    s.replication.as_ref().map_or(0, |r| r.epoch)
}

fn in_sync(r: &Replication) -> u8 {
    1 + r.followers.iter().filter(|f| f.in_sync).count() as u8
}

fn confirmable(cfg: &Config, s: &BrokerState, r: &Replication, msg: u8) -> bool {
    let d = cfg.pipeline.durability;
    d.acks == Acks::Leader || ((msg as usize) < visible(s) && in_sync(r) >= d.min_in_sync)
}

/// A publish landed on a record (`stored`: appended, or found by publish
/// dedup): confirm it now or when the record is committed. `None`: the
/// record is unknown (a dedup key that names no kept record), confirmed
/// at once as before.
pub fn confirm(
    cfg: &Config,
    s: &mut BrokerState,
    stored: Option<Waiting>,
    publish: Waiting,
    o: &mut Out,
) {
    let Some(r) = &s.replication else {
        return;
    };
    match stored {
        Some(w) if !confirmable(cfg, s, r, w.msg) => {
            let r = s.replication.as_mut().expect("replicated");
            if let Err(at) = r.waiting.binary_search(&w) {
                r.waiting.insert(at, w);
            }
        }
        _ => o.send(Id::from(PRODUCER), publish.confirm()),
    }
}

/// Sends the confirms that waited for what is now committed.
fn flush(cfg: &Config, s: &mut BrokerState, o: &mut Out) {
    let Some(r) = &s.replication else {
        return;
    };
    let (ready, rest): (Vec<Waiting>, Vec<Waiting>) = r
        .waiting
        .iter()
        .partition(|w| confirmable(cfg, s, r, w.msg));
    for w in &ready {
        o.send(Id::from(PRODUCER), w.confirm());
    }
    s.replication.as_mut().expect("replicated").waiting = rest;
}

fn toggle(o: &mut Out, t: Timer, on: bool) {
    if on {
        o.set_timer(t, no_delay());
    } else {
        o.cancel_timer(t);
    }
}

/// A follower's fetch is armed while it lags; an ISR shrink while an
/// in-sync follower lags and shrinks remain; a failover to a follower
/// while failovers remain and the follower is eligible. So a spent fault
/// is never offered (tests/faults.rs checks it on every reachable state).
fn arm_timers(cfg: &Config, len: u8, r: &Replication, o: &mut Out) {
    let unclean = cfg.pipeline.durability.unclean_election;
    for (f, fl) in r.followers.iter().enumerate() {
        let f = f as u8;
        let lags = fl.len < len;
        toggle(o, Timer::Replicate(f), lags);
        toggle(
            o,
            Timer::IsrShrink(f),
            r.shrinks_left > 0 && fl.in_sync && lags,
        );
        toggle(
            o,
            Timer::Failover(f),
            r.failovers_left > 0 && (fl.in_sync || unclean),
        );
    }
}

/// After any change to the log or the replicas: confirms, timers and the
/// consumers' offers follow what is now committed.
pub fn settle(cfg: &Config, s: &mut BrokerState, o: &mut Out) {
    flush(cfg, s, o);
    if let Some(r) = &s.replication {
        arm_timers(cfg, s.messages.len() as u8, r, o);
    }
}

/// Follower `f` copies the next record; caught up, it is in sync again.
pub fn on_replicate(cfg: &Config, s: &BrokerState, f: u8, o: &mut Out) -> Option<BrokerState> {
    let len = s.messages.len() as u8;
    let mut next = s.clone();
    let r = next.replication.as_mut()?;
    let fl = &mut r.followers[f as usize];
    if fl.len >= len {
        return None;
    }
    fl.len += 1;
    fl.in_sync |= fl.len == len;
    settle(cfg, &mut next, o);
    super::broker::offer(cfg, &next, o);
    Some(next)
}

/// In-sync follower `f`, behind, leaves the in-sync set (a fault): what
/// it lacks no longer holds the commit back.
pub fn on_shrink(cfg: &Config, s: &BrokerState, f: u8, o: &mut Out) -> Option<BrokerState> {
    let mut next = s.clone();
    let r = next.replication.as_mut()?;
    r.followers[f as usize].in_sync = false;
    r.shrinks_left -= 1;
    settle(cfg, &mut next, o);
    super::broker::offer(cfg, &next, o);
    Some(next)
}

/// The leader dies and follower `f` takes over with what it has (a
/// fault); the old leader comes back as a follower of the new one.
pub fn on_failover(cfg: &Config, s: &BrokerState, f: u8, o: &mut Out) -> Option<BrokerState> {
    let mut next = s.clone();
    let mut r = next.replication.take()?;
    let new = r.followers[f as usize];
    let kept = new.len as usize;
    let waiting: Vec<u8> = r.waiting.iter().map(|w| w.msg).collect();
    r.lost_confirmed |= (kept..s.messages.len()).any(|m| !waiting.contains(&(m as u8)));
    r.unclean_elected |= !new.in_sync;
    r.failed_waiting |= !r.waiting.is_empty();
    for w in std::mem::take(&mut r.waiting) {
        r.dropped[w.op as usize] = r.dropped[w.op as usize].saturating_add(1);
    }
    r.failovers_left -= 1;
    r.epoch += 1;
    for (i, fl) in r.followers.iter_mut().enumerate() {
        if i == f as usize {
            *fl = Follower {
                len: new.len,
                in_sync: true,
            };
        } else {
            fl.len = fl.len.min(new.len);
            fl.in_sync |= fl.len == new.len;
        }
    }
    // Timers of records the new leader lacks stand for nothing now.
    for m in kept..s.messages.len() {
        o.cancel_timer(Timer::Lease(m as u8));
        o.cancel_timer(Timer::Redrive(m as u8));
    }
    next.messages.truncate(kept);
    let ids: Vec<(u8, u8)> = next.messages.iter().map(|e| (e.id, e.session)).collect();
    next.seen.retain(|&k| {
        let (id, session) = super::broker::id_of_key(cfg, k);
        ids.iter()
            .any(|&(i, s)| i == id && (s == session || !cfg.pipeline.dedup_per_session))
    });
    next.replication = Some(r);
    if next.log.is_some() {
        super::log::on_truncate(&mut next);
    } else {
        // The old leader's deliveries die with it: every unacked message
        // is back in the queue.
        for m in 0..next.messages.len() {
            if matches!(next.messages[m].status, Status::Leased { .. }) {
                super::broker::release(&mut next, m, o);
            }
        }
        for c in next.channels.iter_mut() {
            c.clear();
        }
    }
    settle(cfg, &mut next, o);
    super::broker::offer(cfg, &next, o);
    Some(next)
}
