//! The effect as an external API call (`[store] kind = "api"`, BROKER-FACTS
//! W1, W3, W4 and the Stripe idempotency-key rows): the Idempotency-Key
//! taken when the call starts (a concurrent call answered 409) or only
//! stored when it finishes (check-then-act), keyed by the operation id or by
//! the delivery; our database's dedup row before or after the call (two
//! systems no transaction spans); a client retry of a timed-out call with
//! and without the key; the provider's key retention. Every shipped
//! scenario's verdicts with its witnesses reached, a negative control for
//! every proof, and the reports speaking of the API.

use onceproof::check::Verdict;
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::pipeline::{LedgerKey, LedgerWrite, Lookup, Retention, StoreKind};
use onceproof::report::{mermaid, narrative};

mod common;

use common::{assert_shipped, refutes, run, shipped};

use Verdict::{Counterexample as Ce, Proved};

#[test]
fn every_shipped_api_scenario_has_its_verdicts_and_witnesses() {
    for (name, once, loss) in [
        ("api-idempotency-key", Proved, Proved),
        ("api-key-per-delivery", Ce, Proved),
        ("api-call-then-dedup-row", Ce, Proved),
        ("api-dedup-row-then-call", Proved, Ce),
        ("api-timeout-retry-no-key", Ce, Proved),
        ("api-key-retention", Ce, Proved),
        ("api-key-check-then-act", Ce, Proved),
    ] {
        let o = assert_shipped(name, once, loss);
        assert!(!o.witnesses.is_empty(), "{name}");
    }
}

/// The proof's negative controls: each key the provider cannot match to a
/// repeat, and no key at all, charge twice; so does a key pruned before a
/// late retry.
#[test]
fn the_idempotency_key_proof_has_negative_controls() {
    let proof = shipped("api-idempotency-key");
    for key in [LedgerKey::Delivery, LedgerKey::None] {
        let mut weak = proof;
        weak.pipeline.ledger_key = key;
        refutes(weak, APPLIED_ONCE, "a key the repeat does not carry");
    }
    let mut fresh = proof;
    fresh.pipeline.attempt_ids = onceproof::pipeline::AttemptIds::FreshPerAttempt;
    refutes(
        fresh,
        APPLIED_ONCE,
        "a fresh id on every producer retry (W1)",
    );
    let mut pruned = proof;
    pruned.pipeline.retention = Retention::ShorterThanReplay;
    pruned.bounds.ledger_expiries = 1;
    refutes(
        pruned,
        APPLIED_ONCE,
        "a key pruned while a copy can still come",
    );
    let mut kept = pruned;
    kept.pipeline.retention = Retention::LongerThanReplay;
    assert_eq!(run(kept).verdict(APPLIED_ONCE), Some(Proved));
}

/// Our dedup row beside the API fails whichever side of the call it is
/// written on; the key at the API, in the call's transaction, holds.
#[test]
fn a_dedup_row_of_ours_cannot_guard_the_call() {
    let after = shipped("api-call-then-dedup-row");
    let mut before = after;
    before.pipeline.ledger_write = LedgerWrite::BeforeEffect;
    assert_eq!(before, shipped("api-dedup-row-then-call"));
    let mut with_call = after;
    with_call.pipeline.ledger_write = LedgerWrite::WithEffect;
    let o = run(with_call);
    assert_eq!(
        (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
        (Some(Proved), Some(Proved))
    );
}

/// The API is a store kind, not a second model: the same pipeline with a
/// database explores the same states, and only the words change.
#[test]
fn an_api_explores_what_a_database_does_and_says_so() {
    let api = shipped("api-timeout-retry-no-key");
    let mut db = api;
    db.pipeline.store = StoreKind::Database;
    let (a, d) = (run(api), run(db));
    assert_eq!(a.unique_states, d.unique_states);
    let trace = a.trace(APPLIED_ONCE).unwrap();
    let m = onceproof::model::build(api);
    let n = narrative::narrative(&m, trace, APPLIED_ONCE);
    assert!(
        n.steps
            .iter()
            .any(|s| s.starts_with("payment API executes op 1")),
        "{:?}",
        n.steps
    );
    assert!(
        n.diagnosis.guarantee.contains("the same Idempotency-Key"),
        "{:?}",
        n.diagnosis
    );
    assert!(
        mermaid::sequence_diagram(&m, trace, APPLIED_ONCE).contains("participant S as Payment API")
    );
}

const CONFLICT: &str = "the payment API answered a concurrent call with the same key 409";

/// The 409 is what keeps two calls with one key apart: the proof reaches
/// it (a redelivery's call meets the crashed holder's running call), and
/// the same provider without it (the key stored only when a call
/// finishes) charges twice. The shipped broken variant is exactly that
/// one value changed.
#[test]
fn the_conflict_answer_keeps_concurrent_calls_apart() {
    let proof = shipped("api-idempotency-key");
    let o = run(proof);
    assert!(o.witnesses.contains(&(CONFLICT, true)), "{:?}", o.witnesses);
    let mut no_lock = proof;
    no_lock.pipeline.lookup = Lookup::CheckThenAct;
    refutes(
        no_lock,
        APPLIED_ONCE,
        "a key stored only when the call finishes",
    );
    let mut shipped_broken = shipped("api-key-check-then-act");
    shipped_broken.pipeline.lookup = Lookup::UniqueInsert;
    let fixed = run(shipped_broken);
    assert_eq!(
        (fixed.verdict(APPLIED_ONCE), fixed.verdict(NO_LOSS)),
        (Some(Proved), Some(Proved))
    );
    // The broken variant's trace shows the second call started beside the
    // running first one, and the diagnosis names the provider's race.
    let cfg = shipped("api-key-check-then-act");
    let o = run(cfg);
    let trace = o.trace(APPLIED_ONCE).expect("a counterexample");
    let m = onceproof::model::build(cfg);
    let n = narrative::narrative(&m, trace, APPLIED_ONCE);
    assert!(
        n.steps
            .iter()
            .any(|s| s.contains("although a call with Idempotency-Key")),
        "{:?}",
        n.steps
    );
    assert!(
        n.diagnosis
            .guarantee
            .contains("answer a concurrent call with it 409"),
        "{:?}",
        n.diagnosis
    );
}

/// The 409 cannot happen where no two calls with one key can overlap: no
/// crash and no second holder, or a key per delivery (the witness is then
/// not demanded; demanded anyway, it comes out unreached).
#[test]
fn the_conflict_is_unreached_where_calls_cannot_overlap() {
    let proof = shipped("api-idempotency-key");
    let mut calm = proof;
    calm.bounds.crashes = 0;
    calm.bounds.lease_expiries = 0;
    let mut per_delivery = proof;
    per_delivery.pipeline.ledger_key = LedgerKey::Delivery;
    per_delivery.bounds.retries = 0;
    per_delivery.bounds.losses = 0;
    for cfg in [calm, per_delivery] {
        assert!(
            !onceproof::model::witnesses::applying(&cfg)
                .iter()
                .any(|w| w.name == CONFLICT)
        );
    }
    common::assert_unreached_where_impossible(vec![(calm, CONFLICT)]);
}

/// The *no loss* proof of each refuted API scenario has its control: the
/// same pipeline recording completion before the call loses the charge to
/// a crash in between.
#[test]
fn each_no_loss_proof_of_a_refuted_api_scenario_has_a_control() {
    for name in [
        "api-key-per-delivery",
        "api-call-then-dedup-row",
        "api-timeout-retry-no-key",
        "api-key-retention",
        "api-key-check-then-act",
    ] {
        common::refutes_no_loss_with_completion_first(name);
    }
}
