//! Runs the checker on a pipeline and turns what it found into verdicts.
//!
//! The main run is a depth-first exploration of the whole bounded state
//! space (DFS needs far less memory than BFS). Its discoveries decide the
//! verdicts; but stateright keeps the *last* violating state it visits, not
//! the most telling one, so each refuted property is then searched again
//! for a path with the fewest faults, then the fewest steps
//! ([`crate::search`]).

use crate::model::properties::{self, Check};
use crate::model::{self, Action, Model, State};
use crate::pipeline::Config;
use crate::search::{Ceilings, Found, Ranking, cheapest_violation, cheapest_violations};
use serde::Serialize;
use stateright::{Checker, HasDiscoveries, Model as _, Path};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What bounds a run beyond the model's own budgets.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub threads: usize,
    pub timeout: Option<Duration>,
    pub max_states: Option<usize>,
    /// Fold states that differ only by a renaming of consumers. Off only to
    /// test the reduction against the plain exploration.
    pub symmetry: bool,
    /// Explore persistent sets only where the model offers them
    /// ([`crate::reduced`]): the deep profile's search. Ignored where the
    /// argument does not cover the pipeline ([`crate::model::ample::covers`]).
    pub reduced: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            threads: 2,
            timeout: None,
            max_states: None,
            symmetry: true,
            reduced: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Complete exploration, no violation, every witness reached.
    Proved,
    /// A reachable state violates the property.
    Counterexample,
    /// The run was cut short before a violation was found.
    Incomplete,
    /// Complete and no violation, but a witness was never reached: the
    /// model may not exercise the faults it claims to.
    Vacuous,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Proved => "proved",
            Verdict::Counterexample => "counterexample",
            Verdict::Incomplete => "incomplete",
            Verdict::Vacuous => "vacuous",
        }
    }
}

/// A path from the initial state: each state with the action taken from it
/// (the last has none).
#[derive(Clone, Debug)]
pub struct Trace {
    pub steps: Vec<(State, Option<Action>)>,
    /// The Explorer's `#/steps/...` encoding of the path.
    pub encoded: String,
    /// What happens after the last step when no further fault strikes: a
    /// shortest fault-free continuation to a resting state. Not part of the
    /// counterexample; it shows the aftermath (who completes, what is left).
    pub epilogue: Vec<(Action, State)>,
    /// False when the search for a cheapest path was cut by the run's
    /// limits and this is the (longer) path the main exploration found.
    pub minimal: bool,
    /// The faults the path needs, in order.
    pub faults: Vec<crate::model::faults::Fault>,
    /// A lasso (a *progress* counterexample): the steps from this index on
    /// form a cycle back to the state at it, repeated forever.
    pub cycle_from: Option<usize>,
    /// The states of the fair set the cycle runs through.
    pub fair_states: usize,
}

impl Trace {
    fn from_path(model: &Model, path: Path<State, Action>) -> Trace {
        // Deep links count the steps the Explorer lists.
        let encoded = path.encode(&crate::explorable::Explorable::new(model.clone()));
        let steps = path.into_vec();
        let epilogue = to_rest(model, &steps[steps.len() - 1].0);
        let faults = crate::search::faults_on(&steps);
        Trace {
            steps,
            encoded,
            epilogue,
            minimal: true,
            faults,
            cycle_from: None,
            fair_states: 0,
        }
    }

    /// A lasso: `path` ends where its steps from `cycle_from` began, inside
    /// a fair set of `fair_states` states. It never rests, so it has no
    /// epilogue.
    pub fn lasso(
        model: &Model,
        path: Path<State, Action>,
        cycle_from: usize,
        fair_states: usize,
    ) -> Trace {
        let encoded = path.encode(&crate::explorable::Explorable::new(model.clone()));
        let steps = path.into_vec();
        let faults = crate::search::faults_on(&steps);
        Trace {
            steps,
            encoded,
            epilogue: Vec::new(),
            minimal: false,
            faults,
            cycle_from: Some(cycle_from),
            fair_states,
        }
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.steps.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn last_state(&self) -> &State {
        &self.steps[self.steps.len() - 1].0
    }
}

/// A shortest sequence of non-fault actions from `from` to a resting state
/// (breadth-first; empty if already at rest or if none exists).
pub fn to_rest(model: &Model, from: &State) -> Vec<(Action, State)> {
    use std::collections::{HashMap, VecDeque};
    let mut parent: HashMap<State, Option<(State, Action)>> = HashMap::new();
    let mut queue = VecDeque::from([from.clone()]);
    parent.insert(from.clone(), None);
    while let Some(s) = queue.pop_front() {
        if properties::at_rest(model, &s) {
            let mut steps = Vec::new();
            let mut at = s;
            while let Some(Some((prev, action))) = parent.get(&at).cloned() {
                steps.push((action, at));
                at = prev;
            }
            steps.reverse();
            return steps;
        }
        let mut actions = Vec::new();
        crate::model::faults::within_budget_actions(model, &s, &mut actions);
        for a in actions.into_iter().filter(|a| !properties::is_fault(&s, a)) {
            if let Some(next) = model.next_state(&s, a.clone())
                && !parent.contains_key(&next)
            {
                parent.insert(next.clone(), Some((s.clone(), a)));
                queue.push_back(next);
            }
        }
    }
    Vec::new()
}

#[derive(Clone, Debug)]
pub struct PropertyOutcome {
    pub name: &'static str,
    pub verdict: Verdict,
    pub trace: Option<Trace>,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub properties: Vec<PropertyOutcome>,
    /// Each witness and whether the run reached it.
    pub witnesses: Vec<(&'static str, bool)>,
    pub unique_states: usize,
    pub total_states: usize,
    pub max_depth: usize,
    pub complete: bool,
    pub elapsed: Duration,
    /// When the search beside the exploration found the first cheapest
    /// counterexample (None if it found none before its deadline).
    pub first_counterexample_at: Option<Duration>,
    /// The limits the run had: part of what a proof id names.
    pub limits: Limits,
    /// States the reduced search expanded with a persistent set, when it
    /// ran (`limits.reduced` on a pipeline it covers).
    pub reduced_states: Option<usize>,
}

impl Outcome {
    pub fn verdict(&self, property: &str) -> Option<Verdict> {
        self.properties
            .iter()
            .find(|p| p.name == property)
            .map(|p| p.verdict)
    }

    pub fn trace(&self, property: &str) -> Option<&Trace> {
        self.properties
            .iter()
            .find(|p| p.name == property)
            .and_then(|p| p.trace.as_ref())
    }
}

/// A scenario's run: the two safety properties, and *progress* where the
/// scenario expects a verdict for it.
pub fn check_scenario(
    s: &crate::scenario::Scenario,
    limits: Limits,
    progress: &mut dyn FnMut(Progress),
) -> Outcome {
    let mut outcome = check(s.config, limits, progress);
    if s.expected(properties::PROGRESS).is_some() {
        let start = Instant::now();
        let (p, reached) = crate::progress::check(&model::build(s.config), limits);
        outcome.properties.push(p);
        outcome
            .witnesses
            .push((crate::progress::PROGRESS_WITNESS, reached));
        outcome.elapsed += start.elapsed();
    }
    outcome
}

/// A violation found is a counterexample whatever else happened; the
/// absence of one proves something only if the run was complete and every
/// witness shows the faults were exercised.
pub fn judge(refuted: bool, complete: bool, witnesses_reached: bool) -> Verdict {
    match (refuted, complete, witnesses_reached) {
        (true, _, _) => Verdict::Counterexample,
        (false, false, _) => Verdict::Incomplete,
        (false, true, false) => Verdict::Vacuous,
        (false, true, true) => Verdict::Proved,
    }
}

/// A snapshot of a run in progress.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub total_states: usize,
    pub unique_states: usize,
    pub elapsed: Duration,
    /// Properties the early search has already refuted, with their
    /// cheapest counterexample, and when the first of them was found.
    pub refuted: usize,
    pub first_refuted_at: Option<Duration>,
}

/// Every state is checked; no discovery ends the run early, so counts are
/// the same from run to run.
fn never_early() -> HasDiscoveries {
    HasDiscoveries::AnyOf(BTreeSet::new())
}

pub fn check(cfg: Config, limits: Limits, progress: &mut dyn FnMut(Progress)) -> Outcome {
    check_demanding(
        cfg,
        crate::model::witnesses::applying(&cfg),
        limits,
        progress,
    )
}

/// [`check`] with an explicit list of witnesses, each of which must be
/// reached for a proof.
pub fn check_demanding(
    cfg: Config,
    demanded: Vec<Check>,
    limits: Limits,
    progress: &mut dyn FnMut(Progress),
) -> Outcome {
    let names: Vec<&'static str> = demanded.iter().map(|w| w.name).collect();
    let limits = Limits {
        reduced: limits.reduced && crate::model::ample::covers(&cfg),
        ..limits
    };
    let model = model::build_demanding(cfg, demanded);
    let start = Instant::now();
    let checks: Vec<Check> = properties::PROPERTIES
        .iter()
        .map(|p| named(&model, p))
        .collect();
    let early_deadline = start + limits.timeout.map_or(EARLY_SEARCH, |t| t.min(EARLY_SEARCH));
    let found_at: Vec<AtomicU64> = checks.iter().map(|_| AtomicU64::new(0)).collect();
    let (checker, early, elapsed) = std::thread::scope(|scope| {
        // The cheapest counterexamples are searched for beside the main
        // exploration, so a refuted scenario shows one at once; a search
        // cut by its short deadline is run again after the exploration.
        let early = scope.spawn(|| {
            let conditions: Vec<crate::search::Condition> =
                checks.iter().map(|c| &c.condition as _).collect();
            let ceilings = Ceilings {
                max_states: Some(
                    limits
                        .max_states
                        .map_or(EARLY_SEARCH_STATES, |n| n.min(EARLY_SEARCH_STATES)),
                ),
                deadline: Some(early_deadline),
            };
            cheapest_violations(
                &model,
                &conditions,
                Ranking::FewestFaults,
                ceilings,
                &mut |i| {
                    found_at[i].store(start.elapsed().as_micros().max(1) as u64, Ordering::Relaxed)
                },
            )
        });
        let mut report = |p: Progress| {
            progress(Progress {
                refuted: found_at
                    .iter()
                    .filter(|t| t.load(Ordering::Relaxed) > 0)
                    .count(),
                first_refuted_at: first_found(&found_at),
                ..p
            })
        };
        let checker = if limits.reduced {
            explore_reduced(&model, limits, start, &mut report)
        } else {
            explore(&model, limits, start, &mut report)
        };
        let elapsed = start.elapsed();
        (
            checker,
            early.join().expect("the early search does not panic"),
            elapsed,
        )
    });
    let cut_by_time = limits.timeout.is_some_and(|t| elapsed >= t);
    let cut_by_count = limits.max_states.is_some_and(|n| checker.total >= n);
    let complete = !cut_by_time && !cut_by_count && checker.complete;

    let discoveries = &checker.discoveries;
    let witnesses: Vec<(&'static str, bool)> = names
        .iter()
        .map(|&w| (w, discoveries.contains_key(w)))
        .collect();
    let all_reached = witnesses.iter().all(|(_, r)| *r);
    let properties = checks
        .iter()
        .zip(early)
        .map(|(check, early)| {
            let name = check.name;
            let early = match early {
                Found::Path(p, _) => Some(Trace::from_path(&model, p)),
                Found::None | Found::Cut => None,
            };
            // A path the search found is a counterexample whatever the
            // exploration reached; the exploration finds every one within
            // the budgets, so it has this one too when it is complete.
            let refuted = discoveries.contains_key(name) || early.is_some();
            let verdict = judge(refuted, complete, all_reached);
            let trace = refuted.then(|| {
                early.unwrap_or_else(|| {
                    let deadline = limits.timeout.map(|t| start + t);
                    // The reduced search runs where the full one would not
                    // finish: its own path stands in for the shortest.
                    let shortest = match checker.reduced_states {
                        None => shortest_within(&model, name, limits.max_states, deadline),
                        Some(_) => None,
                    };
                    shortest.unwrap_or_else(|| {
                        let path = discoveries[name].clone();
                        Trace {
                            minimal: false,
                            ..Trace::from_path(&model, path)
                        }
                    })
                })
            });
            PropertyOutcome {
                name,
                verdict,
                trace,
            }
        })
        .collect();
    Outcome {
        properties,
        witnesses,
        unique_states: checker.unique,
        total_states: checker.total,
        max_depth: checker.max_depth,
        complete,
        elapsed,
        first_counterexample_at: first_found(&found_at),
        limits,
        reduced_states: checker.reduced_states,
    }
}

/// How long, and over how many states, the counterexample search runs beside
/// the main exploration. A refuted default scenario's cheapest
/// counterexample takes at most 15,000 states; a proved property costs at
/// most this much of one core and this many states of memory.
const EARLY_SEARCH: Duration = Duration::from_secs(1);
const EARLY_SEARCH_STATES: usize = 20_000;

/// When the early search first found a counterexample (microseconds from
/// the start, 0 for not yet).
fn first_found(found_at: &[AtomicU64]) -> Option<Duration> {
    found_at
        .iter()
        .map(|t| t.load(Ordering::Relaxed))
        .filter(|&t| t > 0)
        .min()
        .map(Duration::from_micros)
}

/// What the main exploration found, whichever search ran it.
struct Explored {
    unique: usize,
    total: usize,
    max_depth: usize,
    /// The path to each property's or witness's discovery, by name.
    discoveries: std::collections::HashMap<&'static str, Path<State, Action>>,
    /// False when the search stopped itself short.
    complete: bool,
    reduced_states: Option<usize>,
}

/// The main exploration: depth-first over every state within the budgets.
fn explore(
    model: &Model,
    limits: Limits,
    start: Instant,
    progress: &mut dyn FnMut(Progress),
) -> Explored {
    // The checker explores the model as the Explorer lists it: actions that
    // would leave the fault budgets are never taken, so their states are
    // never built (the boundary still guards every state).
    let mut builder = crate::explorable::Explorable::new(model.clone())
        .checker()
        .finish_when(never_early());
    if limits.symmetry {
        builder = builder.symmetry_fn(model::symmetry::representative);
    }
    builder = builder
        // stateright honours a timeout only with two or more threads.
        .threads(if limits.timeout.is_some() {
            limits.threads.max(2)
        } else {
            limits.threads.max(1)
        });
    if let Some(t) = limits.timeout {
        builder = builder.timeout(t);
    }
    if let Some(n) = limits.max_states {
        builder = builder.target_state_count(n);
    }
    let checker = builder.spawn_dfs();
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(50));
        progress(Progress {
            total_states: checker.state_count(),
            unique_states: checker.unique_state_count(),
            elapsed: start.elapsed(),
            refuted: 0,
            first_refuted_at: None,
        });
    }
    let checker = checker.join();
    Explored {
        unique: checker.unique_state_count(),
        total: checker.state_count(),
        max_depth: checker.max_depth(),
        discoveries: checker.discoveries(),
        complete: true,
        reduced_states: None,
    }
}

/// The main exploration by the reduced search (one thread; the early
/// counterexample search has the other).
fn explore_reduced(
    model: &Model,
    limits: Limits,
    start: Instant,
    progress: &mut dyn FnMut(Progress),
) -> Explored {
    let cut = crate::reduced::Cut {
        deadline: limits.timeout.map(|t| start + t),
        max_states: limits.max_states,
    };
    let found = crate::reduced::search(
        model,
        crate::model::ample::Rule::Persistent,
        limits.symmetry,
        limits.threads,
        cut,
        &mut |unique, total| {
            progress(Progress {
                total_states: total,
                unique_states: unique,
                elapsed: start.elapsed(),
                refuted: 0,
                first_refuted_at: None,
            })
        },
    );
    let discoveries = model
        .properties()
        .iter()
        .zip(found.discoveries)
        .filter_map(|(p, d)| {
            let d = d?;
            let init = d[0].0.clone();
            let actions: Vec<Action> = d.into_iter().filter_map(|(_, a)| a).collect();
            let path = Path::from_actions(model, init, actions.iter())
                .expect("the reduced search's path replays");
            Some((p.name, path))
        })
        .collect();
    Explored {
        unique: found.unique,
        total: found.total,
        max_depth: found.max_depth,
        discoveries,
        complete: found.complete,
        reduced_states: Some(found.reduced),
    }
}

/// The model's property or witness of that name.
fn named(model: &Model, name: &str) -> Check {
    properties::all(&model.cfg)
        .into_iter()
        .find(|c: &Check| c.name == name)
        .expect("known property")
}

/// A counterexample to `property` with the fewest faults, then the fewest
/// steps, or None if none is reachable.
pub fn shortest_counterexample(model: &Model, property: &str) -> Option<Trace> {
    ranked_counterexample(model, property, Ranking::FewestFaults)
}

/// A counterexample ranked as asked, with no ceilings.
pub fn ranked_counterexample(model: &Model, property: &str, ranking: Ranking) -> Option<Trace> {
    let condition = named(model, property).condition;
    match cheapest_violation(model, &condition, ranking, Ceilings::default()) {
        Found::Path(p, _) => Some(Trace::from_path(model, p)),
        Found::None | Found::Cut => None,
    }
}

/// The cheapest search under the run's limits; None when they cut it.
fn shortest_within(
    model: &Model,
    property: &'static str,
    max_states: Option<usize>,
    deadline: Option<Instant>,
) -> Option<Trace> {
    let ceilings = Ceilings {
        max_states,
        deadline,
    };
    let condition = named(model, property).condition;
    match cheapest_violation(model, &condition, Ranking::FewestFaults, ceilings) {
        Found::Path(p, _) => Some(Trace::from_path(model, p)),
        Found::None | Found::Cut => None,
    }
}

/// The length of a shortest counterexample found by iterative deepening:
/// the first depth bound under which the checker finds any. Slower than
/// [`shortest_counterexample`]; it exists to cross-check it.
pub fn shortest_length_by_deepening(
    model: &Model,
    property: &str,
    max_steps: usize,
) -> Option<usize> {
    let name = named(model, property).name;
    (0..=max_steps).find(|&steps| {
        model
            .clone()
            .checker()
            .threads(1)
            // States at depth >= d are not checked; init has depth 1.
            .target_max_depth(steps + 2)
            .finish_when(HasDiscoveries::AnyOf([name].into()))
            .spawn_bfs()
            .join()
            .discovery(name)
            .is_some()
    })
}

/// Replays an Explorer path (`0/3/1/...`) against the model, counting the
/// steps the Explorer lists.
pub fn replay(model: &Model, encoded: &str) -> Option<Trace> {
    let explorable = crate::explorable::Explorable::new(model.clone());
    let mut parts = encoded.split('/');
    let init: usize = parts.next()?.parse().ok()?;
    let mut state = model.init_states().into_iter().nth(init)?;
    let mut actions = Vec::new();
    for part in parts {
        let index: usize = part.parse().ok()?;
        let mut enabled = Vec::new();
        explorable.actions(&state, &mut enabled);
        let action = enabled.into_iter().nth(index)?;
        state = model.next_state(&state, action.clone())?;
        actions.push(action);
    }
    let init_state = model.init_states().into_iter().nth(init)?;
    Path::from_actions(model, init_state, &actions).map(|p| Trace::from_path(model, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_complete_run_with_every_witness_reached_proves() {
        assert_eq!(judge(false, true, true), Verdict::Proved);
        assert_eq!(judge(false, true, false), Verdict::Vacuous);
        assert_eq!(judge(false, false, true), Verdict::Incomplete);
        assert_eq!(judge(false, false, false), Verdict::Incomplete);
        assert_eq!(judge(true, false, false), Verdict::Counterexample);
        assert_eq!(judge(true, true, true), Verdict::Counterexample);
    }
}
