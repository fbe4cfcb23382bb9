//! Minimal cut sets, found with the checker itself: for each property,
//! the smallest sets of fault kinds that suffice to refute it, at one
//! operation so that each set is a per-message event.
//!
//! Every subset S of the scenario's fault kinds (those with a budget) is
//! checked with budget 1 for each kind in S and 0 for the rest; S is a
//! minimal cut set when refuted and no proper subset is. A second pass
//! gives each kind alone budget 2, for a fault that must strike twice.
//! This reads the model as a fault tree, and rests on
//! monotonicity: an extra fault cannot prevent a violation, because every
//! budget is an upper bound (a run with more budget can still take none of
//! it), so the refuted subsets are closed upwards. `tests/risk.rs` checks
//! that on the shipped scenarios.

use crate::check::{self, Limits, Verdict};
use crate::model::faults::{self, Fault, FaultKind, REGISTRY};
use crate::model::properties::PROPERTIES;
use crate::pipeline::Config;

/// A set of fault kinds and how many of each it needs (1, or 2 in the
/// second pass).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CutSet {
    pub kinds: Vec<Fault>,
    pub times: u8,
}

impl CutSet {
    /// "{lease expiry}", "{consumer crash ×2, lost message ×2}", "{} (no fault)".
    pub fn words(&self) -> String {
        if self.kinds.is_empty() {
            return "{} (no fault at all)".into();
        }
        let each: Vec<String> = self
            .kinds
            .iter()
            .map(|&f| {
                let k = REGISTRY[f as usize].name;
                if self.times > 1 {
                    format!("{k} ×{}", self.times)
                } else {
                    k.to_string()
                }
            })
            .collect();
        format!("{{{}}}", each.join(", "))
    }
}

#[derive(Clone, Debug)]
pub struct PropertyCuts {
    pub property: &'static str,
    /// First-order minimal cut sets, smallest first.
    pub first: Vec<CutSet>,
    /// A single kind that refutes only when it strikes twice.
    pub second: Vec<CutSet>,
}

#[derive(Clone)]
pub struct Cuts {
    /// The scenario's fault kinds (budget above 0, possible in its pipeline).
    pub kinds: Vec<&'static FaultKind>,
    pub properties: Vec<PropertyCuts>,
    /// Checker runs and the states they explored, for the report.
    pub runs: usize,
    pub states: usize,
}

/// The scenario's fault kinds: those its bounds give a budget and its
/// pipeline allows.
pub fn fault_kinds(cfg: &Config) -> Vec<&'static FaultKind> {
    faults::effective_budgets(cfg)
        .filter(|(_, n)| *n > 0)
        .map(|(k, _)| k)
        .collect()
}

/// At one operation, with budget `times` for the kinds in `mask` and 0
/// for every other fault: is each property refuted?
fn refutes(cfg: &Config, kinds: &[&FaultKind], mask: usize, times: u8) -> ([bool; 2], usize) {
    let mut c = *cfg;
    c.bounds.operations = 1;
    for k in faults::REGISTRY.iter() {
        (k.set_budget)(&mut c.bounds, 0);
    }
    for (i, k) in kinds.iter().enumerate() {
        if mask & (1 << i) != 0 {
            (k.set_budget)(&mut c.bounds, times);
        }
    }
    let o = check::check(c, Limits::default(), &mut |_| {});
    let refuted = PROPERTIES.map(|p| o.verdict(p) == Some(Verdict::Counterexample));
    (refuted, o.unique_states)
}

/// Every subset of the scenario's fault kinds is at most this many kinds:
/// 2^12 runs is the most a `risk` run should take.
pub const MAX_KINDS: usize = 12;

/// Each subset's verdicts, checked one by one (no subset's verdict is
/// inferred), by bit mask over [`fault_kinds`]: what the monotonicity test
/// reads.
pub fn every_subset(cfg: &Config) -> Vec<[bool; 2]> {
    let kinds = fault_kinds(cfg);
    (0..1usize << kinds.len())
        .map(|m| refutes(cfg, &kinds, m, 1).0)
        .collect()
}

/// The minimal cut sets of each property. A subset holding a cut set of
/// every property is not run: by monotonicity it refutes them all. The
/// second pass gives one kind at a time budget 2, for a fault that must
/// strike twice; sets of several kinds at 2 each are not searched (their
/// runs grow with every pair of budgets, and a per-message rate squared
/// twice is below anything a rate could price).
pub fn cut_sets(cfg: &Config) -> Cuts {
    cut_sets_of(cfg, &[0, 1])
}

/// [`cut_sets`] for the properties (indices into `PROPERTIES`) in
/// `wanted` only: a subset is skipped once it holds a cut set of each of
/// them, so the others' cut sets may be incomplete and are left empty.
pub fn cut_sets_of(cfg: &Config, wanted: &[usize]) -> Cuts {
    let kinds = fault_kinds(cfg);
    assert!(
        kinds.len() <= MAX_KINDS,
        "too many fault kinds for cut sets"
    );
    let n = 1usize << kinds.len();
    let mut masks: Vec<usize> = (0..n).collect();
    masks.sort_by_key(|m| (m.count_ones(), *m));
    // With every kind on: a property it does not refute, no subset does
    // (monotonicity), so only the others need the subsets.
    let (all, s) = refutes(cfg, &kinds, n - 1, 1);
    let (mut runs, mut states) = (1, s);
    let live: Vec<usize> = wanted.iter().copied().filter(|&p| all[p]).collect();
    let mut refuted = vec![[false; 2]; n];
    refuted[n - 1] = all;
    for &m in masks.iter().filter(|&&m| m != n - 1) {
        let implied = |p: usize| submasks(m).any(|s| s != m && refuted[s][p]);
        if live.iter().all(|&p| implied(p)) {
            refuted[m] = [0, 1].map(|p| live.contains(&p));
            continue;
        }
        let (r, s) = refutes(cfg, &kinds, m, 1);
        refuted[m] = r;
        runs += 1;
        states += s;
    }
    let names = |m: usize| -> Vec<Fault> {
        (0..kinds.len())
            .filter(|i| m & (1 << i) != 0)
            .map(|i| kinds[i].fault)
            .collect()
    };
    let mut twice = vec![[false; 2]; kinds.len()];
    for (i, t) in twice.iter_mut().enumerate() {
        let single = 1 << i;
        if wanted.iter().all(|&p| refuted[single][p]) {
            continue;
        }
        let (r, s) = refutes(cfg, &kinds, single, 2);
        *t = r;
        runs += 1;
        states += s;
    }
    let properties = PROPERTIES
        .iter()
        .enumerate()
        .map(|(p, property)| PropertyCuts {
            property,
            first: masks
                .iter()
                .filter(|_| wanted.contains(&p))
                .filter(|&&m| refuted[m][p] && !submasks(m).any(|s| s != m && refuted[s][p]))
                .map(|&m| CutSet {
                    kinds: names(m),
                    times: 1,
                })
                .collect(),
            second: (0..kinds.len())
                .filter(|_| wanted.contains(&p))
                .filter(|&i| twice[i][p] && !refuted[1 << i][p] && !refuted[0][p])
                .map(|i| CutSet {
                    kinds: vec![kinds[i].fault],
                    times: 2,
                })
                .collect(),
        })
        .collect();
    Cuts {
        kinds,
        properties,
        runs,
        states,
    }
}

/// Every subset of `m`'s bits, `m` itself included.
pub fn submasks(m: usize) -> impl Iterator<Item = usize> {
    let mut next = Some(m);
    std::iter::from_fn(move || {
        let s = next?;
        next = if s == 0 { None } else { Some((s - 1) & m) };
        Some(s)
    })
}
