//! Producer crash and restart: every shipped scenario's verdicts with its
//! witnesses reached, a negative control for every proof (one value
//! changed, the checker must refute), each new witness vacuous where its
//! fault cannot happen, the failed leg and the missing guarantee named in
//! the counterexample, and a spent producer-crash budget enforced.

use onceproof::check::{self, Limits, Verdict};
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::pipeline::Publish;
use onceproof::report::narrative;

mod common;

use common::{assert_shipped, assert_unreached_where_impossible, refutes, run, shipped};

use Verdict::{Counterexample as Ce, Proved};

#[test]
fn every_shipped_producer_crash_scenario_has_its_verdicts_and_witnesses() {
    for (name, once, loss) in [
        ("producer-crash-forgets", Proved, Ce),
        ("producer-restart-outbox", Proved, Proved),
        ("kafka-idempotent-producer-restart", Ce, Proved),
        ("sqs-fifo-outbox-restart", Proved, Proved),
    ] {
        let o = assert_shipped(name, once, loss);
        assert!(
            o.witnesses
                .iter()
                .any(|(w, _)| *w == "the producer restarted with an operation unconfirmed"),
            "{name}: no producer-crash witness demanded"
        );
    }
}

#[test]
fn every_producer_crash_proof_has_a_negative_control() {
    let outbox = shipped("producer-restart-outbox");
    let mut direct = outbox;
    direct.pipeline.publish = Publish::Direct;
    refutes(direct, NO_LOSS, "a direct producer forgets a lost publish");
    let mut no_ledger = outbox;
    no_ledger.pipeline.ledger_check = false;
    refutes(
        no_ledger,
        APPLIED_ONCE,
        "the relay's re-publish is applied again without the ledger's check",
    );
    let fifo = shipped("sqs-fifo-outbox-restart");
    let mut per_session = fifo;
    per_session.pipeline.dedup_per_session = true;
    refutes(
        per_session,
        APPLIED_ONCE,
        "dedup per producer session misses the restarted relay's re-publish",
    );
    let mut window = fifo;
    window.bounds.dedup_window_expiries = 1;
    refutes(
        window,
        APPLIED_ONCE,
        "the re-publish after the window closed is stored again",
    );
}

/// The same pipelines without the crash: the crash is what refutes.
#[test]
fn without_a_producer_crash_the_refuted_ones_hold() {
    for name in [
        "producer-crash-forgets",
        "kafka-idempotent-producer-restart",
    ] {
        let mut cfg = shipped(name);
        cfg.bounds.producer_crashes = 0;
        let o = run(cfg);
        assert_eq!(
            (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
            (Some(Proved), Some(Proved)),
            "{name}"
        );
    }
}

#[test]
fn the_counterexamples_name_the_producer() {
    for (name, property, guarantee) in [
        (
            "producer-crash-forgets",
            NO_LOSS,
            "a transactional outbox, relayed until confirmed",
        ),
        (
            "kafka-idempotent-producer-restart",
            APPLIED_ONCE,
            "within one producer session only (K2)",
        ),
    ] {
        let cfg = shipped(name);
        let o = check::check(cfg, Limits::default(), &mut |_| {});
        let trace = o
            .trace(property)
            .unwrap_or_else(|| panic!("{name}: a counterexample"));
        let m = onceproof::model::build(cfg);
        let n = narrative::narrative(&m, trace, property);
        assert_eq!(n.diagnosis.leg, "Leg 1, producer → broker", "{name}");
        assert!(
            n.diagnosis.guarantee.contains(guarantee),
            "{name}: {}",
            n.diagnosis.guarantee
        );
        assert!(
            n.steps
                .iter()
                .any(|l| l.starts_with("the producer restarts as session 2")),
            "{name}: {:?}",
            n.steps
        );
    }
}

#[test]
fn each_producer_crash_witness_is_vacuous_where_it_cannot_happen() {
    let outbox = shipped("producer-restart-outbox");
    // Without a lost publish a direct producer's crash loses nothing, so
    // no loss holds and only the witness can make it vacuous.
    let mut direct = outbox;
    direct.pipeline.publish = Publish::Direct;
    direct.bounds.losses = 0;
    let mut no_crash = outbox;
    no_crash.bounds.producer_crashes = 0;
    assert_unreached_where_impossible(vec![
        (
            no_crash,
            "the producer restarted with an operation unconfirmed",
        ),
        // A direct producer never re-publishes after a restart.
        (
            direct,
            "a restarted outbox relay's re-publish was confirmed",
        ),
    ]);
}

/// Two producer crashes where the budget allows one: never explored.
#[test]
fn the_producer_crash_budget_is_total() {
    let cfg = shipped("producer-restart-outbox");
    let mut two = cfg;
    two.bounds.producer_crashes = 2;
    let (one, two) = (run(cfg), run(two));
    assert!(one.complete && two.complete);
    assert!(
        two.unique_states > one.unique_states,
        "a second crash adds states: {} vs {}",
        two.unique_states,
        one.unique_states
    );
    assert_eq!(two.verdict(APPLIED_ONCE), Some(Proved));
    assert_eq!(two.verdict(NO_LOSS), Some(Proved));
}

/// The Explorer offers a producer crash only while the budget has one
/// left, and never a crash of the broker or the store (their faults are
/// their own steps): a person browsing cannot take a step the checker
/// never explores.
#[test]
fn the_explorer_offers_only_the_crashes_the_checker_explores() {
    use onceproof::explorable::Explorable;
    use onceproof::model::{BROKER, PRODUCER, STORE};
    use stateright::Model as _;
    use stateright::actor::ActorModelAction;
    let m = onceproof::model::build(shipped("producer-restart-outbox"));
    let e = Explorable::new(m.clone());
    let (mut offered, mut spent) = (0, 0);
    for s in common::reachable(&m) {
        let mut listed = Vec::new();
        e.actions(&s, &mut listed);
        let crashes_offered = listed
            .iter()
            .filter_map(|a| match a {
                ActorModelAction::Crash(id) => Some(usize::from(*id)),
                _ => None,
            })
            .collect::<Vec<_>>();
        assert!(
            !crashes_offered.contains(&BROKER) && !crashes_offered.contains(&STORE),
            "{crashes_offered:?}"
        );
        if onceproof::model::producer_crashes(&s) == 0 {
            offered += usize::from(crashes_offered.contains(&PRODUCER));
        } else {
            spent += 1;
            assert!(
                !crashes_offered.contains(&PRODUCER),
                "a second producer crash"
            );
        }
    }
    assert!(offered > 0 && spent > 0, "{offered} {spent}");
}
