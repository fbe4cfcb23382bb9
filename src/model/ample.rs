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
//! misses leaves the proof `vacuous`, never a false `proved`. The cycle
//! proviso (no set whose step closes a cycle on the search stack) is the
//! search's, in [`crate::reduced`]. tests/reduction.rs checks, on every
//! reachable state of small configurations, that each set is persistent
//! (no step outside it, along any path of such steps, conflicts with a
//! step in it), and that the reduced and full searches give every shipped
//! scenario the same verdicts.

use super::msg::Timer;
use super::{Action, BROKER, FIRST_CONSUMER, PRODUCER, STORE, State, broker, store};
use crate::pipeline::Config;
use stateright::actor::{ActorModelAction, Id, Network};

/// The rule the search applies. `IgnoringSenders` is the negative control:
/// it forgets that an empty link may yet bring a message, and the
/// persistence check must refute it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Persistent,
    IgnoringSenders,
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
/// explore everything.
pub fn persistent_set(s: &State, enabled: &[Action], rule: Rule) -> Option<Vec<usize>> {
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
    None
}
