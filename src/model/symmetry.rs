//! Symmetry reduction over consumers: they run the same code with no
//! identity of their own in any message or property, so two states that
//! differ only by a renaming of consumers have the same futures. The
//! depth-first checker fingerprints each state's representative (the
//! consumers sorted by a hash of everything they carry) and so explores
//! most orbits once.
//!
//! stateright's built-in `Representative` for actor models sorts *all*
//! actors by state, which would also permute the producer, broker and store;
//! this permutes only the consumer block.

use super::msg::{Dispatch, Timer};
use super::{FIRST_CONSUMER, NodeState, State, broker};
use rustc_hash::FxHasher;
use stateright::actor::{Id, Network};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The state with consumer `i` renamed `to[i]`. Every consumer-indexed
/// field must be remapped here (and hashed in `signatures`); the differential
/// test in tests/symmetry.rs checks that renamed reachable states are
/// reachable and that the reduction changes no verdict.
pub fn rename(s: &State, to: &[usize]) -> State {
    let mut from = vec![0; to.len()];
    for (i, &j) in to.iter().enumerate() {
        from[j] = i;
    }
    // The slot whose content lands in `slot`, and where an actor goes.
    let source = |slot: usize| match slot.checked_sub(FIRST_CONSUMER) {
        Some(j) => FIRST_CONSUMER + from[j],
        None => slot,
    };
    let actor = |id: Id| Id::from(destination(usize::from(id), to));
    let consumer = |c: u8| to[c as usize] as u8;
    let slots = 0..s.actor_states.len();

    let old = broker(s);
    let mut b = old.clone();
    for m in &mut b.messages {
        if let broker::Status::Leased { consumer: c, .. } = &mut m.status {
            *c = consumer(*c);
        }
    }
    for (i, &j) in to.iter().enumerate() {
        b.sessions[j] = old.sessions[i];
        b.polling[j] = old.polling[i];
        if !old.channels.is_empty() {
            b.channels[j] = old.channels[i].clone();
        }
    }
    if let Some(log) = &mut b.log {
        log.owner = consumer(log.owner);
    }
    let mut broker_state = Some(Arc::new(NodeState::Broker(b)));
    // The payment API's running calls name their caller.
    let old_store = super::store(s);
    let mut store_state = (!old_store.running.is_empty()).then(|| {
        let mut st = old_store.clone();
        for r in &mut st.running {
            r.consumer = consumer(r.consumer);
        }
        st.running.sort();
        Arc::new(NodeState::Store(st))
    });
    let actor_states = slots
        .clone()
        .map(|k| match k {
            super::BROKER => broker_state.take().expect("one broker"),
            super::STORE if store_state.is_some() => store_state.take().expect("one store"),
            _ => s.actor_states[source(k)].clone(),
        })
        .collect();
    let mut random_choices: Vec<_> = slots
        .clone()
        .map(|k| s.random_choices[source(k)].clone())
        .collect();
    for list in random_choices[super::BROKER].map.values_mut() {
        for d in list.iter_mut() {
            *d = Dispatch {
                msg: d.msg,
                consumer: consumer(d.consumer),
            };
        }
        list.sort();
    }
    let network = match &s.network {
        Network::Ordered(flows) => Network::Ordered(
            flows
                .iter()
                .map(|((src, dst), q)| ((actor(*src), actor(*dst)), q.clone()))
                .collect::<BTreeMap<_, _>>(),
        ),
        other => other.clone(),
    };
    State {
        actor_states,
        network,
        timers_set: slots
            .clone()
            .map(|k| match k {
                // The coordinator's rebalance timers name their target.
                super::BROKER => {
                    let mut timers = stateright::actor::Timers::new();
                    for t in s.timers_set[k].iter() {
                        timers.set(match *t {
                            Timer::Rebalance(c) => Timer::Rebalance(consumer(c)),
                            other => other,
                        });
                    }
                    timers
                }
                _ => s.timers_set[source(k)].clone(),
            })
            .collect(),
        random_choices,
        crashed: slots.clone().map(|k| s.crashed[source(k)]).collect(),
        history: s.history,
        actor_storages: slots.map(|k| s.actor_storages[source(k)]).collect(),
    }
}

/// Where the actor in `slot` goes under the renaming `to`.
fn destination(slot: usize, to: &[usize]) -> usize {
    match slot.checked_sub(FIRST_CONSUMER) {
        Some(i) => FIRST_CONSUMER + to[i],
        None => slot,
    }
}

/// Everything about each consumer that a renaming carries along, hashed,
/// in one pass over the state (the broker's messages and the network are
/// walked once, not once per consumer). FxHash: these hashes only order
/// consumers, so speed matters and a collision costs reduction, never
/// soundness.
fn signatures(s: &State) -> Vec<u64> {
    let n = s.actor_states.len() - FIRST_CONSUMER;
    let mut h: Vec<FxHasher> = (0..n)
        .map(|i| {
            let id = FIRST_CONSUMER + i;
            let mut h = FxHasher::default();
            s.actor_states[id].hash(&mut h);
            s.crashed[id].hash(&mut h);
            s.actor_storages[id].hash(&mut h);
            h
        })
        .collect();
    let b = broker(s);
    for (i, h) in h.iter_mut().enumerate() {
        b.sessions[i].hash(h);
        b.polling[i].hash(h);
        if let Some(unacked) = b.channels.get(i) {
            unacked.hash(h);
        }
    }
    if let Some(log) = &b.log {
        (2u8, true).hash(&mut h[log.owner as usize]);
    }
    for r in &super::store(s).running {
        (3u8, r.job, r.op, r.key, r.reply, r.retry).hash(&mut h[r.consumer as usize]);
    }
    for (at, m) in b.messages.iter().enumerate() {
        if let broker::Status::Leased { consumer, .. } = m.status {
            (0u8, at).hash(&mut h[consumer as usize]);
        }
    }
    if let Network::Ordered(flows) = &s.network {
        for ((src, dst), q) in flows {
            let (src, dst) = (usize::from(*src), usize::from(*dst));
            for (end, outgoing) in [(src, true), (dst, false)] {
                if end >= FIRST_CONSUMER {
                    let h = &mut h[end - FIRST_CONSUMER];
                    (1u8, src.min(dst), outgoing).hash(h);
                    q.hash(h);
                }
            }
        }
    }
    h.into_iter().map(|h| h.finish()).collect()
}

/// A canonical member of the state's orbit: consumers sorted by
/// signature. Ties keep their order, which costs some reduction but never
/// soundness: any renaming has the same futures.
pub fn representative(s: &State) -> State {
    renamed_if_needed(s).unwrap_or_else(|| s.clone())
}

/// The canonical member of the state's orbit when it is not `s` itself;
/// None when `s` is already canonical (no clone is made).
pub fn renamed_if_needed(s: &State) -> Option<State> {
    let sigs = signatures(s);
    let n = sigs.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| sigs[i]);
    if order.iter().enumerate().all(|(rank, &i)| rank == i) {
        return None;
    }
    let mut to = vec![0; n];
    for (rank, &i) in order.iter().enumerate() {
        to[i] = rank;
    }
    Some(rename(s, &to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Config, Mode};
    use stateright::Model as _;

    #[test]
    fn renamed_states_share_a_representative_and_keep_their_counts() {
        let m = super::super::build(Config::new(Mode::AtLeastOnce));
        let mut frontier = m.init_states();
        // Walk a few levels and check every state against its swap.
        for _ in 0..6 {
            let mut next = Vec::new();
            for s in &frontier {
                let swapped = rename(s, &[1, 0]);
                assert_eq!(representative(s), representative(&swapped));
                assert_eq!(rename(&swapped, &[1, 0]), *s);
                let mut actions = Vec::new();
                m.actions(s, &mut actions);
                next.extend(actions.into_iter().filter_map(|a| m.next_state(s, a)));
            }
            frontier = next;
        }
    }
}
