//! The reduced search: a depth-first exploration that takes, where the
//! model offers one, only a persistent set of steps ([`crate::model::ample`])
//! instead of every step. It is what makes the deep bounds (three
//! operations, three consumers, two crashes) finish in minutes.
//!
//! Soundness rests on three things, each checked in tests/reduction.rs:
//!
//! - the sets are persistent (the model's argument, in `model/ample.rs`);
//! - the **cycle proviso**: a set is used only when none of its successors
//!   is on the search stack, so no step is put off around a cycle forever;
//! - the properties: *side effect applied once* fails at a state whose
//!   sink counts only grow from there, and *no loss* at a state where
//!   nothing but faults can happen; both are reached whenever the full
//!   search reaches them.
//!
//! States that differ only by a renaming of consumers are one state, as in
//! the full search. Like stateright's checker, it keeps a 64-bit
//! fingerprint of each visited state, not the state. A counterexample is
//! the search stack when the property first failed: a real path, not the
//! shortest one.

use crate::model::ample::{self, Rule};
use crate::model::{Action, Model, State, faults, symmetry};
use rustc_hash::FxHashSet;
use stateright::actor::ActorModelAction;
use stateright::{Expectation, Model as _, Property};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How the search may be cut short.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cut {
    pub deadline: Option<Instant>,
    pub max_states: Option<usize>,
}

/// A path from an initial state: each state with the step taken from it
/// (the last has none).
pub type Steps = Vec<(State, Option<Action>)>;

/// What a search found.
pub struct Found {
    pub unique: usize,
    pub total: usize,
    pub max_depth: usize,
    /// Every property and witness by index into the model's properties:
    /// the path to its first discovery (an `always` failed, a `sometimes`
    /// held), if any.
    pub discoveries: Vec<Option<Steps>>,
    pub complete: bool,
    /// States expanded with a persistent set smaller than all their steps.
    pub reduced: usize,
    /// States where a set was on offer but closed a cycle on the stack.
    pub proviso: usize,
}

/// A state's fingerprint: 64 bits of ahash with fixed seeds, so runs are
/// repeatable.
fn fingerprint<T: Hash>(value: &T) -> u64 {
    ahash::RandomState::with_seeds(0x6f6e, 0x6365, 0x7072, 0x6f66).hash_one(value)
}

/// The fingerprint of a state's consumer-renaming orbit (or of the state).
fn orbit(s: &State, symmetry_on: bool) -> u64 {
    if !symmetry_on {
        return fingerprint(s);
    }
    match symmetry::renamed_if_needed(s) {
        None => fingerprint(s),
        Some(r) => fingerprint(&r),
    }
}

/// One state on the search stack.
struct Frame {
    state: State,
    via: Option<Action>,
    fp: u64,
    next: Vec<(Action, State, u64)>,
}

/// A step the full search would never skip: a delivery or a restart, never
/// a fault. Every set the search uses holds one that leads somewhere.
fn progress_step(a: &Action) -> bool {
    matches!(
        a,
        ActorModelAction::Deliver { .. } | ActorModelAction::Recover(_)
    )
}

/// The successors within the boundary of the steps `chosen` (indices into
/// `enabled`), each with its fingerprint.
fn successors(
    model: &Model,
    s: &State,
    enabled: &[Action],
    chosen: impl Iterator<Item = usize>,
    symmetry_on: bool,
) -> Vec<(Action, State, u64)> {
    chosen
        .filter_map(|i| {
            let a = enabled[i].clone();
            let n = model.next_state(s, a.clone())?;
            model
                .within_boundary(&n)
                .then(|| (a, n.clone(), orbit(&n, symmetry_on)))
        })
        .collect()
}

/// The steps the reduced search takes from `s`: a persistent set's, or all
/// of them, and whether the set was used. `on_stack` says whether a
/// fingerprint is on the search stack (the cycle proviso); `None` when the
/// proviso fired.
pub fn steps(
    model: &Model,
    s: &State,
    rule: Rule,
    symmetry_on: bool,
    store_steps: bool,
    on_stack: &dyn Fn(u64) -> bool,
) -> (Vec<(Action, State, u64)>, Option<bool>) {
    let mut enabled = Vec::new();
    faults::within_budget_actions(model, s, &mut enabled);
    if let Some(set) = ample::persistent_set(&model.cfg, s, &enabled, rule, store_steps) {
        let next = successors(model, s, &enabled, set.into_iter(), symmetry_on);
        if next.iter().any(|(a, _, _)| progress_step(a)) {
            if next.iter().any(|(_, _, fp)| on_stack(*fp)) {
                let all = successors(model, s, &enabled, 0..enabled.len(), symmetry_on);
                return (all, None);
            }
            return (next, Some(true));
        }
    }
    let all = successors(model, s, &enabled, 0..enabled.len(), symmetry_on);
    (all, Some(false))
}

/// Evaluates every property at `s`; records the path to each first
/// discovery. Returns whether the state is worth expanding (some property
/// has no discovery at it), as stateright decides.
fn evaluate(
    model: &Model,
    properties: &[Property<Model>],
    stack: &[Frame],
    s: &State,
    via: &Option<Action>,
    discoveries: &mut [Option<Steps>],
) -> bool {
    let mut awaiting = false;
    for (i, p) in properties.iter().enumerate() {
        let holds = (p.condition)(model, s);
        let discovered = match p.expectation {
            Expectation::Always => !holds,
            Expectation::Sometimes => holds,
            Expectation::Eventually => unreachable!("the model states liveness as safety"),
        };
        awaiting |= !discovered;
        if discovered && discoveries[i].is_none() {
            // Each frame's step is the one that leaves it.
            let mut path: Vec<(State, Option<Action>)> = Vec::with_capacity(stack.len() + 1);
            for (k, f) in stack.iter().enumerate() {
                let leaving = stack.get(k + 1).map_or(via.clone(), |g| g.via.clone());
                path.push((f.state.clone(), leaving));
            }
            path.push((s.clone(), None));
            discoveries[i] = Some(path);
        }
    }
    awaiting
}

/// The search's state between steps.
struct Search<'m> {
    model: &'m Model,
    rule: Rule,
    symmetry_on: bool,
    properties: Vec<Property<Model>>,
    discoveries: Vec<Option<Steps>>,
    stack: Vec<Frame>,
    on_stack: FxHashSet<u64>,
    total: usize,
    max_depth: usize,
    reduced: usize,
    proviso: usize,
}

impl Search<'_> {
    /// Visits a new state: evaluates the properties at it and pushes it
    /// with the steps to take from it.
    fn enter(&mut self, state: State, via: Option<Action>, fp: u64) {
        let expand = evaluate(
            self.model,
            &self.properties,
            &self.stack,
            &state,
            &via,
            &mut self.discoveries,
        );
        let next = if expand {
            let on_stack = &self.on_stack;
            // The store's lone steps hide states the witnesses look for
            // (a consumer still holding a request the store has not
            // taken), so they wait until every witness has been seen.
            let store_steps = self
                .properties
                .iter()
                .zip(&self.discoveries)
                .all(|(p, d)| p.expectation != Expectation::Sometimes || d.is_some());
            let (next, used) = steps(
                self.model,
                &state,
                self.rule,
                self.symmetry_on,
                store_steps,
                &|f| on_stack.contains(&f),
            );
            match used {
                Some(true) => self.reduced += 1,
                None => self.proviso += 1,
                Some(false) => {}
            }
            next
        } else {
            Vec::new()
        };
        self.total += next.len();
        self.on_stack.insert(fp);
        self.stack.push(Frame {
            state,
            via,
            fp,
            next,
        });
        self.max_depth = self.max_depth.max(self.stack.len());
    }
}

/// The reduced search over `model`, reporting `(unique, total)` now and
/// then through `progress`.
pub fn search(
    model: &Model,
    rule: Rule,
    symmetry_on: bool,
    cut: Cut,
    progress: &mut dyn FnMut(usize, usize),
) -> Found {
    let mut search = Search {
        model,
        rule,
        symmetry_on,
        properties: model.properties(),
        discoveries: Vec::new(),
        stack: Vec::new(),
        on_stack: FxHashSet::default(),
        total: 0,
        max_depth: 0,
        reduced: 0,
        proviso: 0,
    };
    search.discoveries = vec![None; search.properties.len()];
    let mut visited: FxHashSet<u64> = FxHashSet::default();
    let mut complete = true;
    let mut last_report = Instant::now();
    let mut roots: Vec<State> = model
        .init_states()
        .into_iter()
        .filter(|s| model.within_boundary(s))
        .collect();
    roots.reverse();
    search.total += roots.len();
    loop {
        let Some(top) = search.stack.last_mut() else {
            let Some(root) = roots.pop() else { break };
            let fp = orbit(&root, symmetry_on);
            if visited.insert(fp) {
                search.enter(root, None, fp);
            }
            continue;
        };
        let Some((a, n, fp)) = top.next.pop() else {
            let done = search.stack.pop().expect("a frame");
            search.on_stack.remove(&done.fp);
            continue;
        };
        if !visited.insert(fp) {
            continue;
        }
        search.enter(n, Some(a), fp);
        if visited.len().is_multiple_of(4096) {
            if cut.max_states.is_some_and(|m| search.total >= m)
                || cut.deadline.is_some_and(|d| Instant::now() >= d)
            {
                complete = false;
                break;
            }
            if last_report.elapsed() >= Duration::from_millis(50) {
                progress(visited.len(), search.total);
                last_report = Instant::now();
            }
        }
    }
    Found {
        unique: visited.len(),
        total: search.total,
        max_depth: search.max_depth,
        discoveries: search.discoveries,
        complete,
        reduced: search.reduced,
        proviso: search.proviso,
    }
}
