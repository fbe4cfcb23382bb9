//! The symmetry reduction over consumers is guarded by its own test: an
//! unsound reduction (a consumer-indexed field left out of the renaming)
//! merges states with different futures, and may change no verdict of any
//! shipped scenario. So for every shipped scenario, at small bounds:
//!
//! - exploring with and without the reduction gives the same verdicts and
//!   the same witnesses reached, and the reduced count lies between the
//!   exact number of orbits and the plain count (at one operation; at two,
//!   about 150 s, with `cargo test --release --test symmetry -- --ignored`);
//! - every renaming of a state reachable from some renaming of the initial
//!   state is reachable from one too (at two consumers; at three, every
//!   permutation of them, about 200 s, with the same `--ignored` command) (the set is closed under the symmetry
//!   the reduction assumes; a Kafka partition starts with consumer 1 as
//!   owner, so its initial state is not itself symmetric), and renaming
//!   commutes with taking a step.
//!
//! Any consumer-indexed field added later is covered automatically: the
//! closure test compares whole states.

mod common;
use common::{reachable, reachable_from};
use onceproof::check::{self, Limits};
use onceproof::model::{self, State, symmetry};
use onceproof::pipeline::Config;
use onceproof::scenario;
use stateright::Model as _;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

fn shipped() -> Vec<(String, Config)> {
    scenario::all(Path::new("models"))
        .expect("models/")
        .iter()
        .map(|p| {
            let s = scenario::load(p).expect("a valid scenario");
            (s.name, s.config)
        })
        .collect()
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for at in 0..=p.len() {
            let mut q = p.clone();
            q.insert(at, n - 1);
            out.push(q);
        }
    }
    out
}

fn fingerprint(s: &State) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// The scenario at small bounds; with a third consumer the producer's
/// faults and lost store replies are turned off to keep the plain
/// exploration small. Lost store replies are renamed at two consumers,
/// with the producer's faults off there too.
fn small(mut cfg: Config, operations: u8, consumers: u8) -> Config {
    cfg.bounds.operations = cfg.bounds.operations.min(operations);
    cfg.bounds.consumers = consumers;
    if consumers > 2 || cfg.bounds.reply_losses > 0 {
        cfg.bounds.losses = 0;
        cfg.bounds.retries = 0;
    }
    if consumers > 2 {
        cfg.bounds.producer_crashes = 0;
        cfg.bounds.reply_losses = 0;
    }
    cfg
}

#[test]
fn renaming_maps_reachable_states_to_reachable_states_and_commutes_with_steps() {
    renaming_is_closed_and_commutes(2);
}

/// The same with a third consumer (every permutation of three, not only a
/// swap): about 200 s on 2 cores, so it runs on demand:
/// `cargo test --release --test symmetry -- --ignored`.
#[test]
#[ignore]
fn renaming_is_closed_and_commutes_at_three_consumers() {
    renaming_is_closed_and_commutes(3);
}

fn renaming_is_closed_and_commutes(consumers: u8) {
    for (name, cfg) in shipped() {
        {
            let cfg = small(cfg, 1, consumers);
            let m = model::build(cfg);
            let perms = permutations(consumers as usize);
            let plain = reachable(&m).len();
            let inits = m
                .init_states()
                .iter()
                .flat_map(|s| perms.iter().map(|p| symmetry::rename(s, p)))
                .collect();
            let states = reachable_from(&m, inits);
            let set = &states;
            let mut orbits = HashSet::new();
            for s in &states {
                for p in &perms {
                    let r = symmetry::rename(s, p);
                    assert!(
                        set.contains(&r),
                        "{name} ({consumers} consumers): renaming {p:?} of a reachable state is unreachable:\n{s:#?}"
                    );
                }
                orbits.insert(
                    perms
                        .iter()
                        .map(|p| fingerprint(&symmetry::rename(s, p)))
                        .min(),
                );
                assert_eq!(
                    symmetry::representative(s),
                    symmetry::representative(&symmetry::rename(s, &perms[perms.len() - 1])),
                    "{name}: a state and its renaming must share a representative"
                );
            }
            // Renaming commutes with a step: the successors of a renamed
            // state are the renamed successors (as sets).
            let swap = &perms[perms.len() - 1];
            for s in states.iter().step_by(7) {
                let succ = |s: &State| -> HashSet<State> {
                    let mut actions = Vec::new();
                    m.actions(s, &mut actions);
                    actions
                        .into_iter()
                        .filter_map(|a| m.next_state(s, a))
                        .collect()
                };
                let renamed: HashSet<State> =
                    succ(s).iter().map(|n| symmetry::rename(n, swap)).collect();
                assert_eq!(
                    succ(&symmetry::rename(s, swap)),
                    renamed,
                    "{name}: successors of a renamed state differ from renamed successors"
                );
            }
            let reduced = check::check(cfg, Limits::default(), &mut |_| {});
            assert!(
                reduced.unique_states >= orbits.len() && reduced.unique_states <= plain,
                "{name} ({consumers} consumers): reduced count {} outside [orbits {}, plain {}]",
                reduced.unique_states,
                orbits.len(),
                plain
            );
        }
    }
}

#[test]
fn the_reduction_changes_no_verdict_and_no_witness() {
    same_verdicts_with_and_without_reduction(|cfg| [small(cfg, 1, 2), small(cfg, 1, 3)]);
}

/// The same at two operations: the four base modes alone take about
/// 150 s there, so it runs on demand:
/// `cargo test --release --test symmetry -- --ignored`.
#[test]
#[ignore]
fn the_reduction_changes_no_verdict_and_no_witness_at_two_operations() {
    same_verdicts_with_and_without_reduction(|cfg| [small(cfg, 2, 2)]);
}

fn same_verdicts_with_and_without_reduction<const N: usize>(bounds: fn(Config) -> [Config; N]) {
    let plain = Limits {
        symmetry: false,
        ..Limits::default()
    };
    for (name, cfg) in shipped() {
        for cfg in bounds(cfg) {
            let with = check::check(cfg, Limits::default(), &mut |_| {});
            let without = check::check(cfg, plain, &mut |_| {});
            assert!(with.complete && without.complete);
            let verdicts = |o: &check::Outcome| {
                o.properties
                    .iter()
                    .map(|p| (p.name, p.verdict))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                verdicts(&with),
                verdicts(&without),
                "{name} {:?}",
                cfg.bounds
            );
            assert_eq!(with.witnesses, without.witnesses, "{name} {:?}", cfg.bounds);
            let orbit = (1..=cfg.bounds.consumers as usize).product::<usize>();
            assert!(
                with.unique_states <= without.unique_states
                    && with.unique_states * orbit >= without.unique_states,
                "{name} {:?}: reduced {} vs plain {} (orbits of at most {orbit})",
                cfg.bounds,
                with.unique_states,
                without.unique_states
            );
        }
    }
}
