//! The third property, *progress*: the pipeline cannot cycle forever
//! without applying an operation it owes. Every owed operation that is not
//! poison (`consumer.poison`) is eventually applied on every fair path.
//!
//! stateright's `eventually` misses violations on cycles, so this is a
//! non-progress cycle search over the whole reachable graph (within the
//! fault budgets): every state is numbered by its fingerprint and every
//! step kept as an edge; a violation is a strongly connected set of states
//! in which an owed, non-poison operation stays unapplied (applications
//! only grow, so it is unapplied in all of them) and that a fair path can
//! stay in forever. Fairness is strong fairness of every step that is not a
//! fault: a step enabled again and again is eventually taken (a broker does
//! not starve a ready message forever, a timer that keeps being armed
//! fires). Faults never have to happen. A set is fair when every non-fault
//! step enabled in it is also taken inside it; otherwise the states that
//! enable a step it never takes are dropped and what remains is searched
//! again (the standard emptiness check for strong fairness).
//!
//! The counterexample is a lasso: the path to the cycle, then one cycle
//! through the fair set, repeating forever.

use crate::check::{Limits, PropertyOutcome, Trace, judge};
use crate::explorable::Explorable;
use crate::model::{Action, Model, State, faults, properties};
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use stateright::Model as _;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::time::Instant;

pub use crate::model::properties::PROGRESS;

/// Its witness: the run reached a state where every owed operation but the
/// poison is applied, so the proof is not about a pipeline that never
/// delivers.
pub const PROGRESS_WITNESS: &str = "every operation but the poison applied";

/// A step: the action (numbered), where it leads, and whether it is a
/// fault (never owed to fairness).
#[derive(Clone, Copy)]
struct Edge {
    action: u32,
    to: u32,
    fault: bool,
}

struct Graph {
    edges: Vec<Vec<Edge>>,
    /// The BFS tree: each state's parent and the action from it (the roots
    /// carry their init-state index as the parent and `u32::MAX`).
    parent: Vec<(u32, u32)>,
    actions: Vec<Action>,
    /// States where an owed, non-poison operation is unapplied.
    stuck: Vec<bool>,
    witnessed: bool,
    complete: bool,
}

fn fingerprint(s: &State) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

fn explore(m: &Model, limits: Limits, start: Instant) -> Graph {
    let mut index: FxHashMap<u64, u32> = FxHashMap::default();
    let mut action_ids: FxHashMap<Action, u32> = FxHashMap::default();
    let mut g = Graph {
        edges: Vec::new(),
        parent: Vec::new(),
        actions: Vec::new(),
        stuck: Vec::new(),
        witnessed: false,
        complete: true,
    };
    let mut queue: VecDeque<(State, u32)> = VecDeque::new();
    for (i, s) in m.init_states().into_iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(v) = index.entry(fingerprint(&s)) {
            let id = g.edges.len() as u32;
            v.insert(id);
            g.edges.push(Vec::new());
            g.parent.push((i as u32, u32::MAX));
            g.stuck.push(!properties::stuck(m, &s).is_empty());
            queue.push_back((s, id));
        }
    }
    let mut listed = Vec::new();
    while let Some((s, id)) = queue.pop_front() {
        let over_count = limits.max_states.is_some_and(|n| g.edges.len() >= n);
        let over_time = limits.timeout.is_some_and(|t| start.elapsed() >= t);
        if over_count || over_time {
            g.complete = false;
            break;
        }
        g.witnessed |= properties::healthy_applied(m, &s);
        listed.clear();
        faults::within_budget_actions(m, &s, &mut listed);
        for a in listed.drain(..) {
            let fault = properties::is_fault(&s, &a);
            let Some(next) = m.next_state(&s, a.clone()) else {
                continue;
            };
            let n = action_ids.len() as u32;
            let action = *action_ids.entry(a.clone()).or_insert_with(|| {
                g.actions.push(a.clone());
                n
            });
            let to = match index.entry(fingerprint(&next)) {
                std::collections::hash_map::Entry::Occupied(o) => *o.get(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let to = g.edges.len() as u32;
                    v.insert(to);
                    g.edges.push(Vec::new());
                    g.parent.push((id, action));
                    g.stuck.push(!properties::stuck(m, &next).is_empty());
                    queue.push_back((next, to));
                    to
                }
            };
            g.edges[id as usize].push(Edge { action, to, fault });
        }
    }
    g
}

/// The non-trivial strongly connected components of the graph restricted
/// to `members` (Tarjan's algorithm, iterative).
fn components(g: &Graph, members: &[u32]) -> Vec<Vec<u32>> {
    let inside: FxHashSet<u32> = members.iter().copied().collect();
    let mut index: FxHashMap<u32, (u32, u32)> = FxHashMap::default(); // (index, lowlink)
    let mut on_stack: FxHashSet<u32> = FxHashSet::default();
    let mut stack: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0u32;
    for &root in members {
        if index.contains_key(&root) {
            continue;
        }
        // (node, next edge to look at)
        let mut call: Vec<(u32, usize)> = vec![(root, 0)];
        index.insert(root, (counter, counter));
        counter += 1;
        stack.push(root);
        on_stack.insert(root);
        while let Some(&mut (v, ref mut at)) = call.last_mut() {
            let edges = &g.edges[v as usize];
            if let Some(e) = edges.get(*at) {
                *at += 1;
                let w = e.to;
                if !inside.contains(&w) {
                    continue;
                }
                match index.get(&w) {
                    None => {
                        index.insert(w, (counter, counter));
                        counter += 1;
                        stack.push(w);
                        on_stack.insert(w);
                        call.push((w, 0));
                    }
                    Some(&(wi, _)) if on_stack.contains(&w) => {
                        let entry = index.get_mut(&v).expect("visited");
                        entry.1 = entry.1.min(wi);
                    }
                    Some(_) => {}
                }
                continue;
            }
            call.pop();
            let (vi, vl) = index[&v];
            if let Some(&(u, _)) = call.last() {
                let entry = index.get_mut(&u).expect("visited");
                entry.1 = entry.1.min(vl);
            }
            if vl == vi {
                let mut scc = Vec::new();
                loop {
                    let w = stack.pop().expect("on the stack");
                    on_stack.remove(&w);
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                let cyclic = scc.len() > 1 || g.edges[v as usize].iter().any(|e| e.to == v);
                if cyclic {
                    out.push(scc);
                }
            }
        }
    }
    out
}

/// A set of stuck states a strongly fair path can stay in forever, if any.
fn fair_set(g: &Graph) -> Option<Vec<u32>> {
    let stuck: Vec<u32> = (0..g.edges.len() as u32)
        .filter(|&s| g.stuck[s as usize])
        .collect();
    let mut work = components(g, &stuck);
    while let Some(set) = work.pop() {
        let inside: FxHashSet<u32> = set.iter().copied().collect();
        let taken: FxHashSet<u32> = set
            .iter()
            .flat_map(|&s| g.edges[s as usize].iter())
            .filter(|e| inside.contains(&e.to))
            .map(|e| e.action)
            .collect();
        let starved = |s: &u32| {
            g.edges[*s as usize]
                .iter()
                .any(|e| !e.fault && !taken.contains(&e.action))
        };
        if !set.iter().any(starved) {
            return Some(set);
        }
        let rest: Vec<u32> = set.iter().copied().filter(|s| !starved(s)).collect();
        work.extend(components(g, &rest));
    }
    None
}

/// The actions from a root to `to`, and the root's init-state index.
fn path_to(g: &Graph, mut to: u32) -> (usize, Vec<u32>) {
    let mut actions = Vec::new();
    loop {
        let (parent, action) = g.parent[to as usize];
        if action == u32::MAX {
            actions.reverse();
            return (parent as usize, actions);
        }
        actions.push(action);
        to = parent;
    }
}

/// A shortest cycle from `entry` back to it inside `set`.
fn cycle(g: &Graph, set: &[u32], entry: u32) -> Vec<u32> {
    let inside: FxHashSet<u32> = set.iter().copied().collect();
    let mut seen: FxHashMap<u32, (u32, u32)> = FxHashMap::default();
    let mut queue = VecDeque::from([entry]);
    while let Some(v) = queue.pop_front() {
        for e in &g.edges[v as usize] {
            if !inside.contains(&e.to) {
                continue;
            }
            if e.to == entry {
                let mut actions = vec![e.action];
                let mut at = v;
                while at != entry {
                    let (p, a) = seen[&at];
                    actions.push(a);
                    at = p;
                }
                actions.reverse();
                return actions;
            }
            if let std::collections::hash_map::Entry::Vacant(x) = seen.entry(e.to) {
                x.insert((v, e.action));
                queue.push_back(e.to);
            }
        }
    }
    unreachable!("a strongly connected set has a cycle through each member")
}

/// Checks *progress* on `model` under `limits` (no symmetry reduction);
/// also whether its witness was reached.
pub fn check(model: &Model, limits: Limits) -> (PropertyOutcome, bool) {
    let start = Instant::now();
    let g = explore(model, limits, start);
    let found = if g.complete { fair_set(&g) } else { None };
    let trace = found.map(|set| {
        let entry = *set.iter().min().expect("non-empty");
        let (init, mut actions) = path_to(&g, entry);
        let prefix = actions.len();
        actions.extend(cycle(&g, &set, entry));
        let view = Explorable::new(model.clone());
        let init = view.init_states()[init].clone();
        let path = stateright::Path::from_actions(
            &view,
            init,
            actions.iter().map(|&a| &g.actions[a as usize]),
        )
        .expect("the graph's own steps replay");
        Trace::lasso(model, path, prefix, set.len())
    });
    let outcome = PropertyOutcome {
        name: PROGRESS,
        verdict: judge(trace.is_some(), g.complete, g.witnessed),
        trace,
    };
    (outcome, g.witnessed)
}
