//! The effect store's round trip: its reply lost after the commit (a
//! dropped reply, a store crash between commit and reply, a reply later
//! than the client's timeout) and the consumer's retry on timeout. Every
//! shipped scenario's verdicts with its witnesses reached, a negative
//! control for every proof, the retry as the cause of the duplicate (the
//! same loss without it applies once), each witness vacuous where its
//! fault cannot happen, the counterexample naming the gap, and the budget
//! enforced for the checker and the Explorer alike.

use onceproof::check::{self, Limits, Verdict};
use onceproof::explorable::Explorable;
use onceproof::model::msg::{Msg, Timer};
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::model::{self, faults};
use onceproof::pipeline::{LedgerWrite, Mode, Pipeline};
use onceproof::report::narrative;
use stateright::Model as _;
use stateright::actor::ActorModelAction;

mod common;

use common::{assert_shipped, assert_unreached_where_impossible, reachable, run, shipped};

use Verdict::{Counterexample as Ce, Proved};

#[test]
fn every_shipped_store_scenario_has_its_verdicts_and_witnesses() {
    for (name, once, loss) in [
        ("store-reply-lost-retry", Ce, Proved),
        ("store-reply-lost-idempotent", Proved, Proved),
    ] {
        let o = assert_shipped(name, once, loss);
        assert!(
            o.witnesses
                .iter()
                .any(|(w, _)| *w == "a store reply lost after its commit"),
            "{name}: no reply-loss witness demanded"
        );
    }
}

fn verdicts(cfg: onceproof::pipeline::Config) -> (Option<Verdict>, Option<Verdict>) {
    let o = run(cfg);
    (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS))
}

#[test]
fn every_store_reply_proof_has_a_negative_control() {
    let proof = shipped("store-reply-lost-idempotent");
    let mut unchecked = proof;
    unchecked.pipeline.ledger_check = false;
    assert_eq!(
        verdicts(unchecked).0,
        Some(Ce),
        "a ledger written but never checked refuses no retry"
    );
    let mut after = proof;
    after.pipeline.ledger_write = LedgerWrite::AfterEffect;
    assert_eq!(
        verdicts(after).0,
        Some(Ce),
        "a row written after the effect is not there when the retry comes"
    );
    let mut plain = proof;
    plain.pipeline = Pipeline {
        retry_effect_on_timeout: true,
        ..Pipeline::of(Mode::AtLeastOnce)
    };
    assert_eq!(verdicts(plain).0, Some(Ce), "no ledger at all");
}

/// The lost reply alone duplicates nothing: the consumer that waits keeps
/// its delivery and never sends the effect again.
#[test]
fn the_retry_on_timeout_is_what_applies_twice() {
    let mut waits = shipped("store-reply-lost-retry");
    waits.pipeline.retry_effect_on_timeout = false;
    assert_eq!(verdicts(waits), (Some(Proved), Some(Proved)));
    let mut no_loss = shipped("store-reply-lost-retry");
    no_loss.bounds.reply_losses = 0;
    assert_eq!(verdicts(no_loss), (Some(Proved), Some(Proved)));
}

#[test]
fn the_counterexample_names_the_lost_reply_and_the_retry() {
    let cfg = shipped("store-reply-lost-retry");
    let o = check::check(cfg, Limits::default(), &mut |_| {});
    let trace = o.trace(APPLIED_ONCE).expect("a counterexample");
    let m = model::build(cfg);
    let n = narrative::narrative(&m, trace, APPLIED_ONCE);
    assert_eq!(n.diagnosis.leg, "Leg 3, broker → consumer");
    assert_eq!(n.diagnosis.gap, "effect committed → effect reply received");
    assert!(
        n.diagnosis
            .guarantee
            .contains("its reply to consumer 1 was lost"),
        "{}",
        n.diagnosis.guarantee
    );
    let lost = n
        .steps
        .iter()
        .position(|l| l.starts_with("the effect store's reply to consumer 1"))
        .unwrap_or_else(|| panic!("no lost reply: {:?}", n.steps));
    let retry = n
        .steps
        .iter()
        .position(|l| l.contains("times out with no reply"))
        .unwrap_or_else(|| panic!("no timeout: {:?}", n.steps));
    assert!(lost < retry, "{:?}", n.steps);
    assert_eq!(trace.faults, vec![faults::Fault::ReplyLoss]);
}

#[test]
fn each_store_reply_witness_is_vacuous_where_it_cannot_happen() {
    let proof = shipped("store-reply-lost-idempotent");
    let mut no_loss = proof;
    no_loss.bounds.reply_losses = 0;
    let mut waits = proof;
    waits.pipeline.retry_effect_on_timeout = false;
    assert_unreached_where_impossible(vec![
        (no_loss, "a store reply lost after its commit"),
        (
            waits,
            "the consumer re-sent the effect after its reply was lost",
        ),
        (waits, "the ledger refused the re-sent effect"),
    ]);
}

/// The checker, the searches and the Explorer never lose a second reply
/// where the budget allows one, never lose any other consumer–store
/// message, and fire the client's timeout only once the reply is gone.
#[test]
fn the_reply_loss_budget_holds_for_every_step_listed() {
    let mut cfg = shipped("store-reply-lost-idempotent");
    cfg.bounds.lease_expiries = 0;
    let m = model::build(cfg);
    let e = Explorable::new(m.clone());
    let mut timeouts = 0;
    for s in reachable(&m) {
        let t = faults::Tally::of(&s);
        assert!(t.replies_lost <= 1);
        let mut listed = Vec::new();
        e.actions(&s, &mut listed);
        for a in listed {
            match &a {
                ActorModelAction::Drop(env) if env.msg.is_effect_reply() => {
                    assert_eq!(t.replies_lost, 0, "a second reply lost")
                }
                ActorModelAction::Drop(env) => {
                    assert!(env.msg.leg1_op().is_some(), "{:?} lost", env.msg)
                }
                ActorModelAction::Timeout(_, Timer::EffectTimeout(job)) => {
                    timeouts += 1;
                    assert!(
                        !model::in_flight(&s).any(|m| matches!(
                            m,
                            Msg::Apply { job: j, .. } | Msg::Applied { job: j, .. } if j == job
                        )),
                        "a timeout while the request or its reply is on its way"
                    );
                }
                _ => {}
            }
        }
    }
    assert!(timeouts > 0, "the client's timeout never fired");
}
