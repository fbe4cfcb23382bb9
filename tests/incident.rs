//! The reference incident of DOMAIN.md, reproduced by its scenario file:
//! with no crash and no loss, one lease expiry is enough to charge twice.

use onceproof::check::{self, Limits, Verdict};
use onceproof::model::msg::{Msg, Timer};
use onceproof::model::properties::APPLIED_ONCE;
use onceproof::model::{self, BROKER, STORE};
use onceproof::report::narrative;
use onceproof::scenario;
use stateright::actor::{ActorModelAction, Id};
use std::path::Path;

#[test]
fn sqs_double_charge_is_reproduced_step_by_step() {
    let s = scenario::load(Path::new("models/sqs-double-charge.toml")).unwrap();
    assert_eq!((s.config.bounds.crashes, s.config.bounds.losses), (0, 0));
    let o = check::check(s.config, Limits::default(), &mut |_| {});
    assert_eq!(o.verdict(APPLIED_ONCE), Some(Verdict::Counterexample));
    let t = o.trace(APPLIED_ONCE).unwrap();
    let m = model::build(s.config);

    // Who asked the store to apply, in order, and where the lease expired.
    let mut charges = Vec::new();
    let mut expiry = None;
    for (i, (_, a)) in t.steps.iter().enumerate() {
        match a {
            Some(ActorModelAction::Deliver {
                src,
                dst,
                msg: Msg::Apply { .. },
            }) if *dst == Id::from(STORE) => charges.push((i, *src)),
            Some(ActorModelAction::Timeout(_, Timer::Lease(_))) => expiry = Some(i),
            Some(ActorModelAction::Crash(_) | ActorModelAction::Drop(_)) => {
                panic!("the incident needs no crash and no loss")
            }
            _ => {}
        }
    }
    let [(first, a), (second, b)] = charges[..] else {
        panic!("two charges expected: {charges:?}")
    };
    let expiry = expiry.expect("a lease expiry");
    // 1. A charges; 2. the lease expires while A is busy; 3. B charges.
    assert!(first < expiry && expiry < second);
    assert_ne!(a, b, "a second worker charges");
    assert_eq!(second, t.len() - 1, "the second charge is the violation");
    // 4. A records completion afterwards, and its stale handle deletes it.
    let a_completes = t.epilogue.iter().position(|(act, _)| {
        matches!(act, ActorModelAction::Deliver { src, dst, msg: Msg::Complete { .. } }
            if *src == a && *dst == Id::from(BROKER))
    });
    assert!(a_completes.is_some(), "A completes after B's charge");

    let n = narrative::narrative(&m, t, APPLIED_ONCE);
    let find = |lines: &[String], text: &str| {
        lines
            .iter()
            .position(|l| l.contains(text))
            .unwrap_or_else(|| panic!("no line with {text:?} in {lines:#?}"))
    };
    let a1 = find(&n.steps, "applied 1×");
    let exp = find(&n.steps, "expires while consumer");
    let b2 = find(&n.steps, "applied 2× ✗ side effect applied once");
    assert!(a1 < exp && exp < b2);
    find(&n.aftermath, "the message is gone");
    assert!(n.diagnosis.leg.starts_with("Leg 3"));
}
