//! The third property, *progress*: no fair cycle leaves an owed, healthy
//! operation unapplied forever. The shipped poison scenarios' verdicts, the
//! negative control of the proof (the receive limit removed), the lasso
//! itself (it replays in the model and closes on its first state), progress
//! told apart from *no loss* (a lost publish rests, it does not cycle),
//! and the scenario file's optional `[expect] progress`.

use onceproof::check::{self, Limits, Verdict};
use onceproof::model::{self, properties::PROGRESS};
use onceproof::progress;
use onceproof::report::narrative;
use stateright::Model as _;

mod common;

use common::shipped;

fn scenario(name: &str) -> onceproof::scenario::Scenario {
    onceproof::scenario::load(&std::path::Path::new("models").join(format!("{name}.toml")))
        .expect("a shipped scenario")
}

fn verdict(cfg: onceproof::pipeline::Config) -> Verdict {
    progress::check(&model::build(cfg), Limits::default())
        .0
        .verdict
}

#[test]
fn the_shipped_poison_scenarios_have_their_progress_verdicts() {
    for (name, expected) in [
        ("sqs-fifo-poison-no-dlq", Verdict::Counterexample),
        ("sqs-fifo-poison-dlq", Verdict::Proved),
    ] {
        let s = scenario(name);
        assert_eq!(s.expected(PROGRESS), Some(expected), "{name}");
        let o = check::check_scenario(&s, Limits::default(), &mut |_| {});
        assert_eq!(o.verdict(PROGRESS), Some(expected), "{name}");
    }
}

/// The proof's negative control: the same pipeline without its receive
/// limit cycles forever on the poison message.
#[test]
fn without_a_receive_limit_progress_is_refuted() {
    let mut unbounded = shipped("sqs-fifo-poison-dlq");
    unbounded.pipeline.max_receives = None;
    assert_eq!(verdict(unbounded), Verdict::Counterexample);
    // And without the poison there is nothing to cycle on.
    let mut healthy = unbounded;
    healthy.pipeline.poison = 0;
    assert_eq!(verdict(healthy), Verdict::Proved);
}

#[test]
fn the_lasso_replays_and_closes_on_its_cycle() {
    let cfg = shipped("sqs-fifo-poison-no-dlq");
    let m = model::build(cfg);
    let (o, _) = progress::check(&m, Limits::default());
    let t = o.trace.expect("a lasso");
    let k = t.cycle_from.expect("a cycle");
    assert!(k < t.len(), "the cycle has steps");
    assert_eq!(&t.steps[k].0, t.last_state(), "the cycle closes");
    for w in t.steps.windows(2) {
        let (s, a) = (&w[0].0, w[0].1.clone().expect("an action"));
        assert_eq!(
            m.next_state(s, a).as_ref(),
            Some(&w[1].0),
            "a step of the model"
        );
    }
    let n = narrative::narrative(&m, &t, PROGRESS);
    let last = n.steps.last().unwrap();
    assert!(last.starts_with("↺ steps"), "{last}");
    assert!(last.contains("op 2 never applied ✗ progress"), "{last}");
    assert_eq!(n.diagnosis.gap, "handler failed → redelivered (forever)");
    assert!(
        n.diagnosis
            .guarantee
            .contains("behind it in the same message group")
    );
}

/// A lost operation rests; it does not cycle: *no loss* refutes the dual
/// write, *progress* holds. And pipelines without poison make progress.
#[test]
fn progress_is_not_no_loss() {
    assert_eq!(verdict(shipped("producer-dual-write")), Verdict::Proved);
    for name in [
        "idempotency-unique-insert",
        "idempotency-check-then-act",
        "store-reply-lost-retry",
        "sqs-dlq-redrive",
        "rabbitmq-at-least-once",
    ] {
        assert_eq!(verdict(shipped(name)), Verdict::Proved, "{name}");
    }
}

#[test]
fn progress_is_checked_only_where_the_scenario_expects_it() {
    let s = scenario("idempotency-unique-insert");
    assert_eq!(s.expected(PROGRESS), None);
    let o = check::check_scenario(&s, Limits::default(), &mut |_| {});
    assert_eq!(o.verdict(PROGRESS), None);
    assert_eq!(o.properties.len(), 2);
}
