//! The reduced search (`--search reduced`, the deep profile's) against the
//! full one: what its soundness rests on, checked on real explorations.
//!
//! - **Persistence.** At every reachable state of small configurations,
//!   the set the search would take is persistent: along every path of
//!   steps outside it (up to a depth), each step in it stays enabled and
//!   commutes with the step taken. The negative control, a rule that
//!   forgets an empty link may yet bring a message, must fail this check.
//! - **The argument's premise for *applied once*:** no step lowers a sink's
//!   count.
//! - **Same verdicts.** Every shipped scenario the reduction covers gets
//!   its expected verdicts from the reduced search, with the witnesses the
//!   full search reaches, in fewer states for the four modes.

use onceproof::check::{self, Limits, Verdict};
use onceproof::model::ample::{self, Rule};
use onceproof::model::msg::{Msg, Timer};
use onceproof::model::{self, Action, Model, State, faults, sinks};
use onceproof::pipeline::Config;
use onceproof::reduced;
use onceproof::scenario;
use stateright::Model as _;
use stateright::actor::ActorModelAction;
use std::collections::{HashSet, VecDeque};
use std::path::Path;

fn load(name: &str) -> scenario::Scenario {
    scenario::load(Path::new(&format!("models/{name}.toml"))).expect("a shipped scenario")
}

fn small(mut cfg: Config, operations: u8, consumers: u8) -> Config {
    cfg.bounds.operations = cfg.bounds.operations.min(operations);
    cfg.bounds.consumers = consumers;
    cfg
}

/// The step `a` from `x`, as the searches take it: within the budgets and
/// the boundary.
fn step(m: &Model, x: &State, a: &Action) -> Option<State> {
    let mut enabled = Vec::new();
    faults::within_budget_actions(m, x, &mut enabled);
    if !enabled.contains(a) {
        return None;
    }
    m.next_state(x, a.clone()).filter(|n| m.within_boundary(n))
}

/// Every reachable state (no symmetry: the rule is per state).
fn reachable(m: &Model) -> Vec<State> {
    let mut seen = HashSet::new();
    let mut queue: VecDeque<State> = m.init_states().into();
    let mut all = Vec::new();
    while let Some(s) = queue.pop_front() {
        if !seen.insert(s.clone()) {
            continue;
        }
        let mut enabled = Vec::new();
        faults::within_budget_actions(m, &s, &mut enabled);
        for a in enabled {
            if let Some(n) = m.next_state(&s, a).filter(|n| m.within_boundary(n)) {
                queue.push_back(n);
            }
        }
        all.push(s);
    }
    all
}

/// A step the set must hold and the argument leans on: never a fault, so
/// it stays enabled whatever the others do.
fn key(a: &Action) -> bool {
    matches!(
        a,
        stateright::actor::ActorModelAction::Deliver { .. }
            | stateright::actor::ActorModelAction::Recover(_)
    )
}

/// Violations of persistence found from `s`, along every path of up to
/// `depth` steps outside the set the search takes there:
///
/// - a key step (a delivery or a restart) of the set is no longer enabled,
///   or does not commute with the outside step taken;
/// - any other step of the set (a fault of its actor) that is still
///   enabled after the outside step does not commute with it, or is
///   enabled again after an outside step had disabled it (faults are
///   disabled only by spent budgets, which never come back).
fn persistence_violations(m: &Model, s: &State, rule: Rule, depth: usize) -> Vec<String> {
    let (taken, used) = reduced::steps(m, s, rule, false, true);
    if !used {
        return Vec::new();
    }
    let set: Vec<Action> = taken.into_iter().map(|(a, _, _)| a).collect();
    let mut bad = Vec::new();
    let all_live = (1u64 << set.len()) - 1;
    let mut frontier = vec![(s.clone(), 0usize, all_live)];
    while let Some((x, d, live)) = frontier.pop() {
        if d == depth {
            continue;
        }
        let mut enabled = Vec::new();
        faults::within_budget_actions(m, &x, &mut enabled);
        for u in enabled.into_iter().filter(|u| !set.contains(u)) {
            let Some(xu) = step(m, &x, &u) else { continue };
            let mut still = 0u64;
            for (i, t) in set.iter().enumerate() {
                let after = step(m, &xu, t);
                let was = live & (1 << i) != 0;
                match (was, after) {
                    (_, None) if key(t) => bad.push(format!("{t:?} disabled by {u:?}")),
                    (true, None) => {}
                    (false, Some(_)) => bad.push(format!("{t:?} enabled again by {u:?}")),
                    (false, None) => {}
                    (true, Some(xut)) => {
                        still |= 1 << i;
                        let xtu = step(m, &x, t).and_then(|xt| step(m, &xt, &u));
                        if xtu.as_ref() != Some(&xut) {
                            bad.push(format!("{t:?} and {u:?} do not commute"));
                        }
                    }
                }
            }
            frontier.push((xu, d + 1, still));
        }
    }
    bad
}

/// Where the rule lets the store take an effect with a ledger key alone
/// (`t`, enabled at `s`), the step conflicts with nothing any other actor
/// can do before it is taken, however long the way: along every path of
/// other steps from `s` (no depth bound), no store step that touches the
/// same operation's counter or row (another consumer's request of it, the
/// finish of a call of it, the row's expiry) ever becomes enabled.
/// Returns the first such step found, if any.
fn keyed_store_conflict(m: &Model, s: &State, t: &Action) -> Option<String> {
    let ActorModelAction::Deliver {
        src: c,
        msg: Msg::Apply {
            op, key: Some(k), ..
        },
        ..
    } = t
    else {
        return None;
    };
    let (c, op, k) = (*c, *op, *k);
    let touches = |x: &State, u: &Action| match u {
        ActorModelAction::Deliver { src, dst, msg } if usize::from(*dst) == model::STORE => {
            *src != c
                && match *msg {
                    Msg::Apply { op: o, .. } | Msg::Partial { op: o } => o == op,
                    Msg::Record { key, .. } | Msg::Claim { key, .. } | Msg::Lookup { key, .. } => {
                        key == k
                    }
                    _ => false,
                }
        }
        ActorModelAction::Timeout(id, Timer::Finish(job)) if usize::from(*id) == model::STORE => {
            model::store(x)
                .running
                .iter()
                .any(|r| r.job == *job && r.op == op)
        }
        ActorModelAction::Timeout(_, Timer::Expire(key)) => *key == k,
        _ => false,
    };
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([s.clone()]);
    while let Some(x) = queue.pop_front() {
        if !seen.insert(x.clone()) {
            continue;
        }
        let mut enabled = Vec::new();
        faults::within_budget_actions(m, &x, &mut enabled);
        for u in enabled.into_iter().filter(|u| u != t) {
            if touches(&x, &u) {
                return Some(format!("{u:?} can come before {t:?}"));
            }
            if let Some(n) = step(m, &x, &u) {
                queue.push_back(n);
            }
        }
    }
    None
}

/// The keyed effects the rule lets the store take alone at `s` because no
/// other consumer can come to hold their operation (not those that find
/// their row kept for good: a read of a fact, which the persistence check
/// covers).
fn keyed_lone_steps(m: &Model, s: &State, rule: Rule) -> Vec<Action> {
    let st = model::store(s);
    let mut enabled = Vec::new();
    faults::within_budget_actions(m, s, &mut enabled);
    enabled
        .into_iter()
        .filter(|a| match a {
            ActorModelAction::Deliver {
                dst,
                msg: Msg::Apply { key: Some(k), .. },
                ..
            } => {
                usize::from(*dst) == model::STORE
                    && !(st.expiries_left == 0 && st.ledger.binary_search(k).is_ok())
                    && ample::store_alone(&m.cfg, s, a, rule)
            }
            _ => false,
        })
        .collect()
}

/// The configurations with a ledger the keyed store step applies to, at
/// 1 operation and 2 consumers, where the fault budgets run out.
fn keyed_configurations(two_operations: bool) -> Vec<(String, Config)> {
    [
        "idempotency",
        "atomic-boundary",
        "api-key-retention",
        "idempotency-retention-shorter",
        "store-reply-lost-retry",
        "sqs-fifo-poison-dlq",
    ]
    .into_iter()
    .map(|name| (format!("{name} 1x2"), small(load(name).config, 1, 2)))
    .chain(
        ["idempotency", "atomic-boundary"]
            .into_iter()
            .filter(|_| two_operations)
            .map(|name| (format!("{name} 2x2"), small(load(name).config, 2, 2))),
    )
    .collect()
}

/// Checks [`keyed_store_conflict`] for every keyed effect the rule lets
/// the store take alone, at every state of each configuration; returns how
/// many there were and the first conflict.
fn check_keyed(rule: Rule, two_operations: bool) -> (usize, Option<String>) {
    let mut offered = 0;
    for (name, cfg) in keyed_configurations(two_operations) {
        let m = model::build(cfg);
        for s in reachable(&m) {
            for t in keyed_lone_steps(&m, &s, rule) {
                offered += 1;
                if let Some(c) = keyed_store_conflict(&m, &s, &t) {
                    return (offered, Some(format!("{name}: {c}")));
                }
            }
        }
    }
    (offered, None)
}

#[test]
fn a_keyed_store_step_goes_alone_only_when_nothing_can_race_it() {
    let (offered, conflict) = check_keyed(Rule::Persistent, false);
    println!("{offered} keyed store steps alone");
    assert_eq!(conflict, None);
    assert!(
        offered >= 50,
        "the rule offers keyed store steps ({offered})"
    );
}

/// The same at two operations as well (idempotency and the atomic
/// boundary at 2x2: 85,044 lone keyed steps, about 6.5 minutes):
/// `cargo test --release --test reduction -- --ignored`.
#[test]
#[ignore = "two operations: about 6.5 minutes"]
fn a_keyed_store_step_goes_alone_only_when_nothing_can_race_it_at_two_operations() {
    let (offered, conflict) = check_keyed(Rule::Persistent, true);
    println!("{offered} keyed store steps alone");
    assert_eq!(conflict, None);
    assert!(
        offered > 10_000,
        "the rule offers keyed store steps ({offered})"
    );
}

/// The negative control: forgetting that a lease can still expire, or its
/// holder crash, lets another consumer's request of the same operation
/// come first (at the store), and the broker's expiry of a lease come
/// before its holder's completion.
#[test]
fn a_rule_that_forgets_leases_is_refuted() {
    let (_, conflict) = check_keyed(Rule::IgnoringLeases, false);
    println!("{conflict:?}");
    assert!(conflict.is_some(), "the broken rule passes the check");
    let m = model::build(small(load("at-least-once").config, 1, 2));
    let broker = reachable(&m).iter().find_map(|s| {
        persistence_violations(&m, s, Rule::IgnoringLeases, 1)
            .into_iter()
            .next()
    });
    println!("{broker:?}");
    assert!(
        broker.is_some_and(|b| b.contains("Complete")),
        "the broken rule passes the persistence check"
    );
}

/// The configurations checked state by state, each with the stride of its
/// sample: the four modes and the brokers' vocabularies the reduction
/// covers, at 1 operation and 2 consumers, and three modes at 2 operations
/// and 1 consumer.
/// The ignored test below checks every state of each (about 4 minutes):
/// `cargo test --release --test reduction -- --ignored`.
fn configurations() -> Vec<(String, Config, usize)> {
    let mut out = Vec::new();
    for (name, stride) in [
        ("at-most-once", 1),
        ("at-least-once", 32),
        ("atomic-boundary", 8),
        ("idempotency", 32),
        ("sqs-double-charge", 1),
        ("rabbitmq-prefetch-ack-multiple", 1),
        ("rabbitmq-quorum-failover-duplicate", 1),
        ("api-key-check-then-act", 1),
        ("api-key-retention", 1),
        ("store-reply-lost-retry", 1),
        ("producer-restart-outbox", 16),
        ("sqs-fifo-poison-dlq", 1),
        ("idempotency-retention-shorter", 1),
    ] {
        let s = load(name);
        assert!(ample::covers(&s.config), "{name} is covered");
        out.push((format!("{name} 1x2"), small(s.config, 1, 2), stride));
    }
    // Two operations share the retry budget (a loss of one pays for the
    // other's retry): one consumer keeps that small.
    for (name, stride) in [
        ("at-most-once", 4),
        ("at-least-once", 8),
        ("idempotency", 8),
    ] {
        out.push((
            format!("{name} 2x1"),
            small(load(name).config, 2, 1),
            stride,
        ));
    }
    out
}

/// Checks every `stride`-th reachable state of each configuration (1:
/// every state): the set is persistent there, and no step lowers a sink's
/// count (what the argument for *applied once* leans on). Returns how many
/// states were offered a set.
fn check_configurations(every_state: bool) -> usize {
    let mut offered = 0;
    for (name, cfg, stride) in configurations() {
        let stride = if every_state { 1 } else { stride };
        let m = model::build(cfg);
        let states = reachable(&m);
        let mut with_set = 0;
        for s in states.iter().step_by(stride) {
            let bad = persistence_violations(&m, s, Rule::Persistent, 3);
            assert!(bad.is_empty(), "{name}: {}", bad[0]);
            let (_, used) = reduced::steps(&m, s, Rule::Persistent, false, true);
            with_set += usize::from(used);
            let mut enabled = Vec::new();
            faults::within_budget_actions(&m, s, &mut enabled);
            for a in enabled {
                let Some(n) = m.next_state(s, a.clone()) else {
                    continue;
                };
                for sink in &sinks::SINKS {
                    let (before, after) = ((sink.applied)(s), (sink.applied)(&n));
                    assert!(
                        before.iter().zip(after).all(|(b, a)| a >= b),
                        "{name}: {a:?} lowers {}",
                        sink.name
                    );
                }
            }
        }
        println!(
            "{name}: {} states, 1 in {stride} checked, {with_set} of those with a set",
            states.len()
        );
        offered += with_set;
    }
    offered
}

#[test]
fn the_sets_the_reduced_search_takes_are_persistent() {
    let offered = check_configurations(false);
    assert!(offered > 5_000, "the rule offers sets ({offered})");
}

#[test]
#[ignore = "every state of every configuration: about 4 minutes"]
fn every_set_the_reduced_search_takes_is_persistent() {
    check_configurations(true);
}

/// The negative control: a rule that forgets that an empty link may yet
/// bring a message (the store's reply to a consumer holding a second
/// delivery under a prefetch window) fails the persistence check.
#[test]
fn a_rule_that_forgets_senders_is_refuted() {
    let s = load("rabbitmq-prefetch-ack-multiple");
    let m = model::build(small(s.config, 2, 1));
    let refuted = reachable(&m)
        .iter()
        .any(|s| !persistence_violations(&m, s, Rule::IgnoringSenders, 3).is_empty());
    assert!(refuted, "the broken rule passes the persistence check");
}

#[test]
fn every_covered_scenario_gets_its_verdicts_from_the_reduced_search() {
    let reduced = Limits {
        reduced: true,
        ..Limits::default()
    };
    let mut covered = 0;
    for path in scenario::all(Path::new("models")).expect("models/") {
        let s = scenario::load(&path).expect("valid");
        let o = check::check(s.config, reduced, &mut |_| {});
        assert_eq!(o.limits.reduced, ample::covers(&s.config), "{}", s.name);
        if !o.limits.reduced {
            continue;
        }
        covered += 1;
        assert!(o.complete, "{}", s.name);
        for (property, expected) in &s.expect {
            if *property == model::properties::PROGRESS {
                continue;
            }
            assert_eq!(
                o.verdict(property),
                Some(*expected),
                "{}: {property}",
                s.name
            );
        }
        // The full search's witnesses, from the committed results.
        let doc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("results/{}.json", s.name)).expect("results/"),
        )
        .expect("JSON");
        for w in doc["witnesses"].as_array().expect("witnesses") {
            let name = w["name"].as_str().expect("name");
            if name == onceproof::progress::PROGRESS_WITNESS {
                continue;
            }
            let full = w["reached"].as_bool().expect("reached");
            let here = o
                .witnesses
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, r)| *r);
            assert_eq!(here, Some(full), "{}: witness {name}", s.name);
        }
        let refutes = |p: &&(&str, Verdict)| {
            p.1 == Verdict::Counterexample && p.0 != model::properties::PROGRESS
        };
        if s.expect.iter().any(|p| refutes(&p)) {
            assert!(o.properties.iter().any(|p| p.trace.is_some()), "{}", s.name);
        }
    }
    assert!(covered >= 60, "{covered} scenarios covered");
}

#[test]
fn the_four_modes_take_fewer_states_reduced() {
    for name in [
        "at-most-once",
        "at-least-once",
        "atomic-boundary",
        "idempotency",
    ] {
        let reduced = check::check(
            load(name).config,
            Limits {
                reduced: true,
                ..Limits::default()
            },
            &mut |_| {},
        );
        // The full search's count, from the committed results.
        let doc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("results/{name}.json")).expect("results/"),
        )
        .expect("JSON");
        let full = doc["states"]["unique"].as_u64().expect("unique") as usize;
        println!("{name}: {} reduced, {full} full", reduced.unique_states);
        assert!(
            reduced.unique_states * 2 < full,
            "{name}: {} reduced against {full} full",
            reduced.unique_states
        );
    }
}

/// Two threads give the verdicts and witnesses one gives, and their
/// counterexamples replay from an initial state (a thread given work by
/// another starts from a path it was handed). One thread is repeatable to
/// the state.
#[test]
fn two_threads_agree_with_one() {
    for name in [
        "at-most-once",
        "at-least-once",
        "atomic-boundary",
        "idempotency",
        "sqs-double-charge",
        "store-reply-lost-retry",
    ] {
        let run = |threads| {
            check::check(
                load(name).config,
                Limits {
                    reduced: true,
                    threads,
                    ..Limits::default()
                },
                &mut |_| {},
            )
        };
        let (one, again, two) = (run(1), run(1), run(2));
        assert_eq!(one.unique_states, again.unique_states, "{name}");
        assert!(one.complete && two.complete, "{name}");
        let verdicts = |o: &check::Outcome| {
            o.properties
                .iter()
                .map(|p| (p.name, p.verdict))
                .collect::<Vec<_>>()
        };
        assert_eq!(verdicts(&one), verdicts(&two), "{name}");
        assert_eq!(one.witnesses, two.witnesses, "{name}");
        for p in two.properties.iter().filter(|p| p.trace.is_some()) {
            let trace = p.trace.as_ref().expect("a trace");
            assert!(!trace.steps.is_empty(), "{name}: {}", p.name);
        }
        println!(
            "{name}: {} states on one thread, {} on two",
            one.unique_states, two.unique_states
        );
    }
}

/// The CLI runs the reduced search when asked, says so in the report and
/// the JSON, and explores a pipeline the argument does not cover in full.
#[test]
fn the_cli_says_which_search_ran() {
    let run = |name: &str, extra: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("onceproof")
            .expect("the binary")
            .args(["check", name])
            .args(extra)
            .output()
            .expect("runs");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let json: serde_json::Value =
        serde_json::from_str(&run("at-most-once", &["--search", "reduced", "--json"]))
            .expect("JSON");
    let s = &json["scenarios"][0];
    assert_eq!(s["limits"]["reduced"], true);
    assert_eq!(s["properties"][1]["verdict"], "counterexample");
    assert!(run("at-most-once", &["--search", "reduced"]).contains("reduced search"));
    assert!(!run("at-most-once", &[]).contains("reduced search"));
    let kafka: serde_json::Value = serde_json::from_str(&run(
        "kafka-commit-before",
        &["--search", "reduced", "--json"],
    ))
    .expect("JSON");
    assert!(kafka["scenarios"][0]["limits"].get("reduced").is_none());
}
