//! The counterexample a reviewer reads: among all paths to a violating
//! state, one with the fewest faults, and among those one with the fewest
//! steps. A fault that plays no part in the violation (a lost publish
//! before a duplicate caused by a retry) would send the reader after the
//! wrong cause, so faults cost more than any number of ordinary steps.
//!
//! A Dijkstra search over (faults, steps), lexicographically: pops come in
//! cost order, so the first violating state popped ends a cheapest path.
//! It runs under the same ceilings as the main run (states and a deadline)
//! and says when it was cut.

use crate::model::{Action, Model, State, faults};
use stateright::{Model as _, Path};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

/// How a path's cost is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ranking {
    /// Fewest faults first, then fewest steps: what reports show.
    FewestFaults,
    /// Fewest steps only: a plain breadth-first search (cross-checks).
    FewestSteps,
}

/// Ceilings for one search.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ceilings {
    pub max_states: Option<usize>,
    pub deadline: Option<Instant>,
}

/// What a search found.
pub enum Found {
    /// A cheapest path to a violating state and its number of faults.
    Path(Path<State, Action>, usize),
    /// No reachable state violates the condition.
    None,
    /// A ceiling was hit first.
    Cut,
}

struct Node {
    parent: Option<(usize, Action)>,
    cost: (usize, usize),
}

struct Queued {
    cost: Reverse<(usize, usize, usize)>,
    node: usize,
    state: State,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cost == other.cost
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.cost.cmp(&other.cost)
    }
}

fn fingerprint(s: &State) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// A state predicate the search looks for violations of.
pub type Condition<'a> = &'a dyn Fn(&Model, &State) -> bool;

/// A cheapest path from an initial state to one where `condition` fails.
pub fn cheapest_violation(
    model: &Model,
    condition: &dyn Fn(&Model, &State) -> bool,
    ranking: Ranking,
    ceilings: Ceilings,
) -> Found {
    cheapest_violations(model, &[condition], ranking, ceilings, &mut |_| {})
        .pop()
        .expect("one condition, one answer")
}

/// For each condition, a cheapest path to a state where it fails: one
/// search for all of them (each answer is the first violating state popped,
/// and pops come in cost order). A ceiling cuts the conditions not yet
/// answered. `answered(i)` is called as soon as condition `i` has its path.
pub fn cheapest_violations(
    model: &Model,
    conditions: &[Condition],
    ranking: Ranking,
    ceilings: Ceilings,
    answered: &mut dyn FnMut(usize),
) -> Vec<Found> {
    let mut answers: Vec<Option<Found>> = conditions.iter().map(|_| None).collect();
    let mut open = conditions.len();
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut queue = BinaryHeap::new();
    let mut seq = 0usize;
    let cut = |answers: Vec<Option<Found>>| -> Vec<Found> {
        answers
            .into_iter()
            .map(|a| a.unwrap_or(Found::Cut))
            .collect()
    };
    for s in model.init_states() {
        if !model.within_boundary(&s) || index.contains_key(&fingerprint(&s)) {
            continue;
        }
        index.insert(fingerprint(&s), nodes.len());
        queue.push(Queued {
            cost: Reverse((0, 0, seq)),
            node: nodes.len(),
            state: s,
        });
        nodes.push(Node {
            parent: None,
            cost: (0, 0),
        });
        seq += 1;
    }
    let mut actions = Vec::new();
    while let Some(Queued { cost, node, state }) = queue.pop() {
        let (f, d, _) = cost.0;
        if nodes[node].cost != (f, d) {
            continue; // a cheaper way to this state was found after queueing
        }
        if ceilings.deadline.is_some_and(|t| Instant::now() >= t) {
            return cut(answers);
        }
        for (i, (answer, condition)) in answers.iter_mut().zip(conditions).enumerate() {
            if answer.is_none() && !condition(model, &state) {
                *answer = Some(Found::Path(path_to(model, &nodes, node), f));
                open -= 1;
                answered(i);
            }
        }
        if open == 0 {
            return cut(answers);
        }
        faults::within_budget_actions(model, &state, &mut actions);
        for a in actions.drain(..) {
            let weight = match ranking {
                Ranking::FewestFaults => faults::fault(&state, &a).is_some() as usize,
                Ranking::FewestSteps => 0,
            };
            let Some(next) = model.next_state(&state, a.clone()) else {
                continue;
            };
            let c = (f + weight, d + 1);
            let fp = fingerprint(&next);
            let at = match index.get(&fp) {
                Some(&at) if nodes[at].cost <= c => continue,
                Some(&at) => {
                    nodes[at] = Node {
                        parent: Some((node, a)),
                        cost: c,
                    };
                    at
                }
                None => {
                    if ceilings.max_states.is_some_and(|n| nodes.len() >= n) {
                        return cut(answers);
                    }
                    index.insert(fp, nodes.len());
                    nodes.push(Node {
                        parent: Some((node, a)),
                        cost: c,
                    });
                    nodes.len() - 1
                }
            };
            seq += 1;
            queue.push(Queued {
                cost: Reverse((c.0, c.1, seq)),
                node: at,
                state: next,
            });
        }
    }
    answers
        .into_iter()
        .map(|a| a.unwrap_or(Found::None))
        .collect()
}

/// Rebuilds the path by replaying its actions, which also validates it.
fn path_to(model: &Model, nodes: &[Node], mut at: usize) -> Path<State, Action> {
    let mut actions = Vec::new();
    while let Some((parent, a)) = &nodes[at].parent {
        actions.push(a.clone());
        at = *parent;
    }
    actions.reverse();
    let init = model
        .init_states()
        .into_iter()
        .next()
        .expect("one initial state");
    Path::from_actions(model, init, &actions).expect("a path the search took replays")
}

/// The faults along a path.
pub fn faults_on(path: &[(State, Option<Action>)]) -> Vec<faults::Fault> {
    path.iter()
        .filter_map(|(s, a)| a.as_ref().and_then(|a| faults::fault(s, a)))
        .collect()
}
