//! Which steps the reduced search may take alone: persistent sets for
//! partial-order reduction (`check --search reduced`, [`crate::reduced`]).
//!
//! # The story
//!
//! Most of a deep run's states are the same few steps taken in every
//! order: consumer 1 receives its reply while consumer 2 polls while the
//! producer reads a confirm. When one actor's next steps commute with
//! everything the others can do before it moves, exploring only that
//! actor's steps from the state loses no verdict: every path the full
//! search would take has a reordering that starts with one of them.
//!
//! The set offered here is *all* the steps one actor `a` has enabled, its
//! own faults included (its crash, the loss of a message addressed to it),
//! when
//!
//! - `a` is a crashed consumer (its only step is its restart: nothing can
//!   be delivered to a crashed actor, and it sets no timer while down); or
//! - `a` is a consumer that is up, or the producer, it has a message to
//!   receive, (the producer) every timer it has set may fire now (none is
//!   held back by a budget a lost publish could free), and no other actor can send
//!   it a message on a link that is empty now before `a` moves. A message
//!   behind another on a FIFO link cannot be received before `a` moves, so
//!   only empty links matter.
//!
//! Where no actor offers one, the store's or the broker's taking of one
//! message may go alone. The store's ([`store_alone`]): a request that only
//! increments a counter (an effect without a ledger key), one that finds a
//! row the retention can no longer drop, or an effect with a ledger key once
//! no other consumer can come to send a request of its operation. The store
//! is where two consumers' copies of one operation race, so the last kind
//! waits until every way a copy could reach another consumer is closed:
//! the lease expiries and consumer crashes of the budgets spent, nothing
//! left for the producer to re-publish, no copy on its way. The broker's
//! ([`broker_alone`]): a poll, a completion from a delivery that lost its
//! lease (refused now and forever), or the holder's completion once its
//! lease can no longer expire.
//!
//! # Why the steps of others commute with these (the assumptions)
//!
//! - An actor's step changes only its own state, timers and random
//!   choices, appends to links it sends on and takes the head of one link
//!   it receives on; a consumer's or the producer's state is read by no
//!   other actor. Appending and taking the head of one FIFO link commute
//!   whenever the head is there to take; losing a message commutes with
//!   both.
//! - Who sends to whom, read off the actors (the reason for
//!   [`may_send`]): the producer hears only the broker, which confirms a
//!   publish when it takes it from the producer's link (or, replicated,
//!   when a follower catches up: then the broker may always send). A
//!   consumer hears the broker and the store. The store answers only the
//!   sender of the request it takes, or a consumer whose payment call is
//!   running. The broker answers the sender of what it takes, and hands a
//!   message to a consumer only through a dispatch choice offered to it,
//!   which needs the consumer's poll (the broker sets `polling` only when
//!   it takes the consumer's own message) or, under a prefetch window,
//!   room that a lease expiry can free at any time.
//! - The history's counters are sums and flags (commutative); the fault
//!   budgets count totals that a step of `a` leaves unchanged unless it is
//!   `a`'s own fault, and two faults that both happen fit the budget in
//!   either order. Concurrent crashes never bind before the crash budget
//!   does.
//! - Every set holds a step that is never a fault (a delivery or a
//!   restart). Such a step stays enabled and commutes with anything the
//!   others do, so a state where only faults can happen (at rest) is
//!   reached exactly, and a state where an effect was applied twice is
//!   reached or passed by (the counts in the sinks only grow, checked on
//!   every step of the full graph in tests/reduction.rs).
//!
//! Reachability witnesses are not preserved: a witness the reduced search
//! misses leaves the proof `vacuous`, never a false `proved`. The store's
//! and the broker's lone steps hide some of them (a consumer still waiting
//! on a request the store has not taken is the moment a lease overlap is
//! seen), so the search offers them only once every witness has been
//! reached. The cycle proviso (no cycle of states that all took a set) is
//! the search's, in [`crate::reduced`]. tests/reduction.rs checks, on every
//! reachable state of small configurations, that each set is persistent
//! (no step outside it, along any path of such steps, conflicts with a
//! step in it), and that the reduced and full searches give every shipped
//! scenario the same verdicts.

use super::broker::Status;
use super::msg::{Key, Msg, Timer};
use super::{
    Action, BROKER, FIRST_CONSUMER, PRODUCER, STORE, State, broker, consumers, crashes,
    producer_crashes, store,
};
use crate::pipeline::{Config, StaleCompletion};
use stateright::actor::{ActorModelAction, Id, Network};

/// The rule the search applies. The other two are negative controls the
/// checks in tests/reduction.rs must refute: `IgnoringSenders` forgets
/// that an empty link may yet bring a message; `IgnoringLeases` forgets
/// that a lease can go back to the queue (an expiry, its holder's crash)
/// and so to another consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Persistent,
    IgnoringSenders,
    IgnoringLeases,
}

/// Whether the argument above covers `cfg`: a Kafka log's group
/// membership, fencing and output topic are outside it. (*Progress*, where
/// a scenario asks for it, is checked on the whole graph apart from this.)
pub fn covers(cfg: &Config) -> bool {
    !cfg.pipeline.log
}

/// The actor whose step `a` is (a lost message belongs to its addressee).
pub fn owner(a: &Action) -> usize {
    match a {
        ActorModelAction::Deliver { dst, .. } => usize::from(*dst),
        ActorModelAction::Drop(env) => usize::from(env.dst),
        ActorModelAction::Timeout(id, _)
        | ActorModelAction::Crash(id)
        | ActorModelAction::Recover(id) => usize::from(*id),
        ActorModelAction::SelectRandom { actor, .. } => usize::from(*actor),
    }
}

fn link_empty(s: &State, from: usize, to: usize) -> bool {
    match &s.network {
        Network::Ordered(flows) => flows
            .get(&(Id::from(from), Id::from(to)))
            .is_none_or(|q| q.is_empty()),
        _ => unreachable!("the model uses an ordered network"),
    }
}

/// Whether actor `x` may send to `a` before `a` moves (an
/// over-approximation: see the module's story).
fn may_send(s: &State, x: usize, a: usize) -> bool {
    let pending = !link_empty(s, a, x);
    match (x, a) {
        (BROKER, PRODUCER) => pending || broker(s).replication.is_some(),
        (BROKER, c) if c >= FIRST_CONSUMER => {
            let i = c - FIRST_CONSUMER;
            let b = broker(s);
            pending
                || b.polling.get(i).copied().unwrap_or(true)
                || !b.channels.is_empty()
                || s.random_choices[BROKER]
                    .map
                    .values()
                    .any(|v| v.iter().any(|d| d.consumer as usize == i))
        }
        (STORE, c) if c >= FIRST_CONSUMER => {
            let i = (c - FIRST_CONSUMER) as u8;
            pending || store(s).running.iter().any(|r| r.consumer == i)
        }
        // Consumers and the producer send only to the broker and the store.
        _ => false,
    }
}

/// Whether another actor's step could let the held-back timer `t` of the
/// producer fire. The retry budget is a total: a lost attempt of any
/// operation turns a spurious retry of it into a paid one, which frees the
/// budget for every operation's retry.
fn retry_freeable(s: &State, t: &Timer) -> bool {
    match t {
        Timer::Retry(_) => broker(s).replication.is_some() || !link_empty(s, PRODUCER, BROKER),
        _ => true,
    }
}

/// Whether the store's taking of the request `a` may go alone: a
/// persistent set of one step.
///
/// - A request that reads nothing (an effect without a ledger key, a
///   poison handler's partial effect) only increments a counter, which
///   commutes with every other store step.
/// - A request that finds a row the retention can no longer drop (an
///   effect the ledger refuses, a lookup, a claim or record of a row
///   already there) changes nothing, and its answer is the same whatever
///   other store step comes first.
/// - An effect with a ledger key reads and writes its row: it commutes
///   with every store step of another operation (rows and counters are
///   per operation, the ledger a sorted set), so it goes alone once no
///   other consumer can come to send a request of its operation before it
///   is taken ([`settled_elsewhere`]), no call of it is running at the
///   payment API, and the retention cannot drop its row.
///
/// Either way no other step can take or lose the request (only Leg 1
/// messages and effect replies are lost), and its reply goes on a link the
/// store appends to only for this consumer's requests and calls: never
/// while a call of this consumer that answers it is running.
pub fn store_alone(cfg: &Config, s: &State, a: &Action, rule: Rule) -> bool {
    let ActorModelAction::Deliver { src, dst, msg } = a else {
        return false;
    };
    if usize::from(*dst) != STORE {
        return false;
    }
    let st = store(s);
    // The store's other step that answers this consumer: the finish of a
    // call it started (in an earlier incarnation, say), whose reply would
    // go on the same link in the other order.
    if st
        .running
        .iter()
        .any(|r| r.reply && super::consumer_id(r.consumer) == *src)
    {
        return false;
    }
    // A row that is there for good: a request that finds it changes
    // nothing and is answered the same whatever comes first.
    let kept = |key: &Key| st.expiries_left == 0 && st.ledger.binary_search(key).is_ok();
    match *msg {
        Msg::Apply { key: None, .. } | Msg::Partial { .. } => true,
        Msg::Apply {
            key: Some(key),
            check: true,
            ..
        } if cfg.pipeline.ledger_check && kept(&key) => true,
        Msg::Record { key, .. } | Msg::Claim { key, .. } | Msg::Lookup { key, .. } => kept(&key),
        Msg::Apply {
            op, key: Some(key), ..
        } => {
            !st.running.iter().any(|r| r.op == op)
                && (st.expiries_left == 0 || st.ledger.binary_search(&key).is_err())
                && settled_elsewhere(cfg, s, usize::from(*src), op, rule)
        }
        _ => false,
    }
}

/// Whether no consumer but `c` can come to hold operation `op` (and so
/// send the store a request of it) whatever the others do: no other
/// consumer holds it or has a copy or a request of it on its way, the
/// producer can publish it no more, and every stored copy is done for good
/// or leased to `c` with no way back to the queue (no lease expiry or
/// consumer crash left in the budgets, no restart of `c` pending). `c`'s
/// own later requests queue behind the one at hand.
fn settled_elsewhere(cfg: &Config, s: &State, c: usize, op: u8, rule: Rule) -> bool {
    let b = broker(s);
    if b.replication.is_some() || cfg.pipeline.poisoned(op) {
        return false;
    }
    let Network::Ordered(flows) = &s.network else {
        unreachable!("the model uses an ordered network")
    };
    let others_copy = flows.iter().any(|((from, to), q)| {
        let (from, to) = (usize::from(*from), usize::from(*to));
        q.iter().any(|m| match *m {
            Msg::Publish { op: o, .. } => o == op,
            Msg::Deliver { op: o, .. } => o == op && to != c,
            Msg::Apply { op: o, .. } | Msg::Partial { op: o } => o == op && from != c,
            Msg::Record { .. } | Msg::Claim { .. } | Msg::Lookup { .. } => from != c,
            Msg::Join { .. } | Msg::Release { .. } => true,
            _ => false,
        })
    });
    if others_copy {
        return false;
    }
    let held = consumers(s).any(|(i, down, cs)| {
        FIRST_CONSUMER + i as usize != c && !down && cs.jobs.iter().any(|j| j.op == op)
    });
    let lease_may_move = rule != Rule::IgnoringLeases
        && (b.expiries_left > 0 || crashes(s) < cfg.bounds.crashes || s.crashed[c]);
    let stored_settled = b
        .messages
        .iter()
        .filter(|e| e.op == op)
        .all(|e| match e.status {
            Status::Done => b.phantoms_left == 0 && b.replays_left == 0,
            Status::Leased { consumer, .. } => {
                FIRST_CONSUMER + consumer as usize == c && !lease_may_move
            }
            Status::Ready | Status::DeadLettered => false,
        });
    let republish = s.crashed[PRODUCER]
        || producer_crashes(s) < cfg.bounds.producer_crashes
        || s.timers_set[PRODUCER]
            .iter()
            .any(|t| matches!(t, Timer::Retry(o) | Timer::Send(o) if *o == op));
    !held && stored_settled && !republish
}

/// Who can send to actor `a` at all.
fn senders(a: usize) -> &'static [usize] {
    if a == PRODUCER {
        &[BROKER]
    } else {
        &[BROKER, STORE]
    }
}

/// Indices into `enabled` (every step within the budgets, as the search
/// lists them) of a persistent set smaller than all of them, or `None`:
/// explore everything. `store_steps` lets a step of the store go alone
/// ([`store_alone`]) where no actor's set is on offer.
pub fn persistent_set(
    cfg: &Config,
    s: &State,
    enabled: &[Action],
    rule: Rule,
    store_steps: bool,
) -> Option<Vec<usize>> {
    let candidates = (FIRST_CONSUMER..s.actor_states.len()).chain([PRODUCER]);
    for a in candidates {
        let mine: Vec<usize> = (0..enabled.len())
            .filter(|&i| owner(&enabled[i]) == a)
            .collect();
        if mine.is_empty() || mine.len() == enabled.len() {
            continue;
        }
        if s.crashed[a] {
            if a == PRODUCER {
                continue;
            }
            return Some(mine);
        }
        let quiet = rule == Rule::IgnoringSenders
            || senders(a)
                .iter()
                .all(|&x| !link_empty(s, x, a) || !may_send(s, x, a));
        let receives = mine
            .iter()
            .any(|&i| matches!(enabled[i], ActorModelAction::Deliver { .. }));
        // A retry the budget holds back now is let go when another's step
        // loses an attempt still on its way to the broker (the loss pays
        // for a retry), or when a replicated broker fails a confirm: a
        // step outside the set. A consumer's held-back timer is its effect
        // call's, held while the request or its reply is on its way or the
        // call runs, which the store's steps pass on but never end.
        let timers_free = a != PRODUCER
            || s.timers_set[a].iter().all(|t| {
                let held = !mine
                    .iter()
                    .any(|&i| matches!(&enabled[i], ActorModelAction::Timeout(_, u) if u == t));
                !held || !retry_freeable(s, t)
            });
        if quiet && receives && timers_free {
            return Some(mine);
        }
    }
    if store_steps
        && enabled.len() > 1
        && let Some(i) = enabled
            .iter()
            .position(|a| store_alone(cfg, s, a, rule) || broker_alone(cfg, s, a, rule))
    {
        return Some(vec![i]);
    }
    None
}

/// Whether the broker's taking of the message `a` may go alone: a poll,
/// or a completion that cannot race anything. A poll only marks its
/// consumer as asking, which adds dispatch choices and takes none away. A
/// completion from a delivery that no longer holds its lease is refused
/// now and forever (a delivery number is never handed out twice), so it
/// too only marks a poll; one from the holder marks its message done,
/// which nothing else can change before it once the lease can no longer
/// expire (its timer disarmed) and no stale completion is honoured. The
/// first ready message, which the dispatch choices offer, is the same
/// either way. Not with a prefetch window (an ack covers earlier tags), a
/// replicated broker (a failover voids deliveries) or a poison message
/// (its delivery count saturates).
fn broker_alone(cfg: &Config, s: &State, a: &Action, rule: Rule) -> bool {
    let ActorModelAction::Deliver { src, dst, msg } = a else {
        return false;
    };
    let p = &cfg.pipeline;
    let b = broker(s);
    if usize::from(*dst) != BROKER
        || p.log
        || p.prefetch > 1
        || b.replication.is_some()
        || p.stale_completion != StaleCompletion::Rejected
    {
        return false;
    }
    match *msg {
        Msg::Poll => true,
        Msg::Complete { job, .. } => {
            let Some(e) = b.messages.get(job.msg as usize) else {
                return false;
            };
            let holder = Status::Leased {
                consumer: (usize::from(*src) - FIRST_CONSUMER) as u8,
                delivery: job.delivery,
            };
            !p.poisoned(e.op)
                && (e.status != holder
                    || rule == Rule::IgnoringLeases
                    || !s.timers_set[BROKER]
                        .iter()
                        .any(|t| *t == Timer::Lease(job.msg)))
        }
        _ => false,
    }
}
