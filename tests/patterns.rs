//! Replay-safety patterns (BROKER-FACTS W2, W3, W4, O1, O2): at the
//! effect store, check-then-act against a unique insert in the effect's
//! transaction, the ledger row committed before the effect, and a
//! retention shorter or longer than the replay horizon; at the producer, a
//! dual write against a transactional outbox. Every shipped scenario's
//! verdicts with its witnesses reached, a negative control for every
//! proof, the race and the crash shown as the causes (the same pipeline
//! without them holds), and the diagnosis naming the pattern and its fix.

use onceproof::check::Verdict;
use onceproof::model;
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::model::sinks::Sink;
use onceproof::pipeline::{LedgerKey, LedgerWrite, Lookup, Mode, Publish, Retention};
use onceproof::report::diagnosis::Diagnosis;
use onceproof::report::narrative;

mod common;

use common::{assert_shipped, assert_unreached_where_impossible, refutes, run, shipped};

use Verdict::{Counterexample as Ce, Proved};

#[test]
fn every_shipped_pattern_has_its_verdicts_and_witnesses() {
    for (name, once, loss) in [
        ("idempotency-check-then-act", Ce, Proved),
        ("idempotency-unique-insert", Proved, Proved),
        ("idempotency-insert-before-effect", Proved, Ce),
        ("producer-dual-write", Proved, Ce),
        ("producer-outbox-at-least-once", Ce, Proved),
        ("idempotency-retention-shorter", Ce, Proved),
        ("idempotency-retention-longer", Proved, Proved),
        ("sqs-dlq-redrive-retention", Ce, Proved),
        ("sqs-fifo-poison-dlq", Proved, Ce),
        ("kafka-offset-reset-retention", Ce, Proved),
        ("kafka-offset-reset-idempotent", Proved, Proved),
        ("sqs-poison-partial-effect", Ce, Ce),
    ] {
        assert_shipped(name, once, loss);
    }
}

/// The two scenarios of W2 differ in `store.check` alone.
#[test]
fn check_then_act_and_unique_insert_differ_in_one_value() {
    let mut racy = shipped("idempotency-unique-insert");
    racy.pipeline.lookup = Lookup::CheckThenAct;
    assert_eq!(racy, shipped("idempotency-check-then-act"));
}

#[test]
fn every_ledger_pattern_proof_has_a_negative_control() {
    let unique = shipped("idempotency-unique-insert");
    let mut unchecked = unique;
    unchecked.pipeline.ledger_check = false;
    refutes(
        unchecked,
        APPLIED_ONCE,
        "a ledger never read refuses nothing",
    );
    let mut racy = unique;
    racy.pipeline.lookup = Lookup::CheckThenAct;
    refutes(racy, APPLIED_ONCE, "two holders pass a separate lookup");

    // The row before the effect keeps *once*: the unique insert is the
    // claim. Read separately, two holders both claim and both apply.
    let before = shipped("idempotency-insert-before-effect");
    let mut before_racy = before;
    before_racy.pipeline.lookup = Lookup::CheckThenAct;
    before_racy.bounds.crashes = 0;
    before_racy.bounds.lease_expiries = 1;
    refutes(
        before_racy,
        APPLIED_ONCE,
        "a blind claim after a separate lookup",
    );
    let mut before_unclaimed = before;
    before_unclaimed.pipeline.ledger_check = false;
    refutes(before_unclaimed, APPLIED_ONCE, "a claim nobody reads");
}

/// Check-then-act loses to any second holder, not only a lease race: a
/// crashed holder's effect request still on its way to the store commits
/// after the redelivery's lookup. The unique insert holds under the same
/// crash. The row before the effect loses an operation only through a
/// crash, and written in the effect's transaction it loses nothing.
#[test]
fn what_breaks_each_pattern() {
    let mut crash = shipped("idempotency-check-then-act");
    crash.bounds.lease_expiries = 0;
    crash.bounds.crashes = 1;
    let o = run(crash);
    assert_eq!(o.verdict(APPLIED_ONCE), Some(Ce));
    let m = model::build(crash);
    let d = narrative::narrative(&m, o.trace(APPLIED_ONCE).unwrap(), APPLIED_ONCE).diagnosis;
    assert!(
        d.guarantee.contains("effect request still on its way"),
        "{d:?}"
    );
    let mut unique = crash;
    unique.pipeline.lookup = Lookup::UniqueInsert;
    let o = run(unique);
    assert_eq!(
        (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
        (Some(Proved), Some(Proved))
    );

    let mut no_crash = shipped("idempotency-insert-before-effect");
    no_crash.bounds.crashes = 0;
    assert_eq!(run(no_crash).verdict(NO_LOSS), Some(Proved));
    let mut with_effect = shipped("idempotency-insert-before-effect");
    with_effect.pipeline.ledger_write = LedgerWrite::WithEffect;
    let o = run(with_effect);
    assert_eq!(
        (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
        (Some(Proved), Some(Proved))
    );
}

fn diagnosis_of(name: &str, property: &str) -> Diagnosis {
    let cfg = shipped(name);
    let o = run(cfg);
    let trace = o
        .trace(property)
        .unwrap_or_else(|| panic!("{name}: a counterexample to {property}"));
    narrative::narrative(&model::build(cfg), trace, property).diagnosis
}

#[test]
fn the_diagnosis_names_the_pattern_and_its_fix() {
    let d = diagnosis_of("idempotency-check-then-act", APPLIED_ONCE);
    assert!(
        d.gap.starts_with("ledger looked up → key inserted"),
        "{d:?}"
    );
    assert!(d.guarantee.starts_with("Check-then-act"), "{d:?}");
    assert!(
        d.guarantee.contains("store.check = \"unique-insert\""),
        "{d:?}"
    );
    assert!(d.guarantee.contains("lease on message 1 expired"), "{d:?}");
    let d = diagnosis_of("idempotency-insert-before-effect", NO_LOSS);
    assert_eq!(d.gap, "ledger row committed → effect committed");
    assert!(d.guarantee.contains("W3's mirror"), "{d:?}");
    assert!(
        d.guarantee.contains("ledger-write = \"with-effect\""),
        "{d:?}"
    );
}

/// The dual write and the outbox differ in `producer.publish` alone: the
/// outbox proves *no loss* where the dual write loses the event, and the
/// dual write holds without the crash between its two writes.
#[test]
fn the_outbox_closes_the_dual_writes_gap() {
    let dual = shipped("producer-dual-write");
    let mut outbox = dual;
    outbox.pipeline.publish = Publish::Outbox;
    let o = run(outbox);
    assert_eq!(
        (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
        (Some(Proved), Some(Proved))
    );
    let mut no_crash = dual;
    no_crash.bounds.producer_crashes = 0;
    assert_eq!(run(no_crash).verdict(NO_LOSS), Some(Proved));
    // The control of the outbox proof: the same relay as a dual write.
    let mut back = shipped("producer-restart-outbox");
    back.pipeline.publish = Publish::DualWrite;
    refutes(
        back,
        NO_LOSS,
        "a dual write loses the event its crash cut off",
    );
}

/// The outbox closes the producer's gap, not the consumer's: its relay
/// publishes at least once, and only a consumer keyed by the event id
/// refuses the copy.
#[test]
fn an_outbox_needs_an_idempotent_consumer() {
    let mut keyed = shipped("producer-outbox-at-least-once");
    keyed.pipeline.ledger_key = LedgerKey::OperationId;
    let o = run(keyed);
    assert_eq!(
        (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
        (Some(Proved), Some(Proved))
    );
    let mut by_delivery = keyed;
    by_delivery.pipeline.ledger_key = LedgerKey::Delivery;
    refutes(
        by_delivery,
        APPLIED_ONCE,
        "a key the re-publish does not repeat",
    );
}

#[test]
fn the_dual_write_counterexample_names_the_gap_and_the_outbox() {
    let d = diagnosis_of("producer-dual-write", NO_LOSS);
    assert_eq!(d.leg, "Leg 1, producer → broker");
    assert_eq!(d.gap, "business row committed → published");
    assert!(d.guarantee.starts_with("Dual write"), "{d:?}");
    assert!(
        d.guarantee.contains("producer.publish = \"outbox\""),
        "{d:?}"
    );
    let cfg = shipped("producer-dual-write");
    let o = run(cfg);
    let n = narrative::narrative(&model::build(cfg), o.trace(NO_LOSS).unwrap(), NO_LOSS);
    assert!(
        n.steps[0].contains(
            "after the business row of op 1 committed and before its event was published"
        ),
        "{:?}",
        n.steps
    );
}

#[test]
fn the_dual_write_witness_is_vacuous_where_its_gap_cannot_happen() {
    let name = "the producer restarted with a committed operation never published";
    let mut no_crash = shipped("producer-dual-write");
    no_crash.bounds.producer_crashes = 0;
    let mut direct = shipped("producer-dual-write");
    direct.pipeline.publish = Publish::Direct;
    let mut plain = direct;
    plain.pipeline = onceproof::pipeline::Pipeline {
        publish: Publish::Outbox,
        ..onceproof::pipeline::Pipeline::of(Mode::Idempotency)
    };
    assert_unreached_where_impossible(vec![(no_crash, name), (direct, name), (plain, name)]);
}

/// W4's two scenarios differ in `store.retention` alone; the longer one
/// proves *once* with its key expiring (the witness is reached), and the
/// expiry is what breaks the shorter one.
#[test]
fn retention_shorter_and_longer_than_the_replay_horizon() {
    let mut short = shipped("idempotency-retention-longer");
    short.pipeline.retention = Retention::ShorterThanReplay;
    assert_eq!(short, shipped("idempotency-retention-shorter"));
    refutes(short, APPLIED_ONCE, "a key dropped before the late retry");
    let mut kept = short;
    kept.bounds.ledger_expiries = 0;
    assert_eq!(run(kept).verdict(APPLIED_ONCE), Some(Proved));
    // The DLQ redrive is inside the horizon too: a retention that covers
    // it proves the same pipeline.
    let mut covers = shipped("sqs-dlq-redrive-retention");
    covers.pipeline.retention = Retention::LongerThanReplay;
    let o = run(covers);
    assert_eq!(
        (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
        (Some(Proved), Some(Proved))
    );
    assert!(
        o.witnesses.contains(&("a ledger key expired", true)),
        "{:?}",
        o.witnesses
    );
}

#[test]
fn the_retention_counterexample_names_w4_and_the_replay_source() {
    let d = diagnosis_of("idempotency-retention-shorter", APPLIED_ONCE);
    assert_eq!(d.gap, "ledger key expired → replay arrived");
    assert!(
        d.guarantee
            .starts_with("Retention shorter than the replay horizon (W4)"),
        "{d:?}"
    );
    assert!(d.guarantee.contains("the producer's retry"), "{d:?}");
    let d = diagnosis_of("sqs-dlq-redrive-retention", APPLIED_ONCE);
    assert!(
        d.guarantee.contains("redrive of the dead-letter queue"),
        "{d:?}"
    );
}

#[test]
fn the_retention_witnesses_are_vacuous_where_no_key_can_expire() {
    let mut kept = shipped("idempotency-retention-shorter");
    kept.bounds.ledger_expiries = 0;
    let mut forever = shipped("idempotency-retention-shorter");
    forever.pipeline.retention = Retention::Forever;
    let mut longer = shipped("idempotency-retention-shorter");
    longer.pipeline.retention = Retention::LongerThanReplay;
    let early = "a copy of an operation was on its way to the store after its key expired";
    assert_unreached_where_impossible(vec![
        (kept, "a ledger key expired"),
        (forever, "a ledger key expired"),
        (kept, early),
        // Past the horizon no copy is on its way: the rule itself.
        (longer, early),
    ]);
}

/// A poison message with no receive limit keeps an ordered broker busy
/// forever: nothing behind it is applied and the pipeline never rests, so
/// both safety properties hold only vacuously. With the limit, it is
/// contained in the DLQ (and *no loss* names it); without the poison,
/// everything is applied.
#[test]
fn a_poison_message_is_contained_not_applied() {
    let o = run(shipped("sqs-fifo-poison-no-dlq"));
    assert_eq!(
        (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
        (Some(Verdict::Vacuous), Some(Verdict::Vacuous))
    );
    // Healthy, nothing reaches the limit: no counterexample (and the DLQ
    // witness, which needs a fault, is out of reach at these bounds).
    let mut healthy = shipped("sqs-fifo-poison-dlq");
    healthy.pipeline.poison = 0;
    let o = run(healthy);
    assert_eq!(
        (o.verdict(APPLIED_ONCE), o.verdict(NO_LOSS)),
        (Some(Verdict::Vacuous), Some(Verdict::Vacuous))
    );
    assert_eq!(
        o.witnesses,
        vec![
            (
                "healthy message moved to the DLQ after its receive limit",
                false
            ),
            ("at rest with every operation applied", true)
        ]
    );
    let d = diagnosis_of("sqs-fifo-poison-dlq", NO_LOSS);
    assert_eq!(d.gap, "delivered → dead-lettered (a poison message)");
    assert!(
        d.guarantee
            .contains("containment tool, not a correctness proof"),
        "{d:?}"
    );
}

/// The part a poison handler applies before failing is its own sink:
/// repeated by each redelivery (*once* refuted), never the operation's
/// effect (*no loss* still misses it). Without the part, once holds.
#[test]
fn a_failing_handlers_partial_effect_repeats() {
    let cfg = shipped("sqs-poison-partial-effect");
    let o = run(cfg);
    let last = o.trace(APPLIED_ONCE).unwrap().last_state();
    assert_eq!(
        onceproof::model::sinks::duplicated(last),
        Some((Sink::Partial, 0))
    );
    let d = diagnosis_of("sqs-poison-partial-effect", APPLIED_ONCE);
    assert!(
        d.guarantee.starts_with("A handler must be all or nothing"),
        "{d:?}"
    );
    let mut whole = cfg;
    whole.pipeline.poison_partial_effect = false;
    assert_eq!(run(whole).verdict(APPLIED_ONCE), Some(Proved));
}

/// An operator's replay is a replay source like any other: the offset
/// reset meets an expired key (W4) unless the retention covers it; the two
/// scenarios differ in `store.retention` alone, and the replay is what
/// breaks the shorter one.
#[test]
fn an_operator_replay_is_inside_the_replay_horizon() {
    let mut short = shipped("kafka-offset-reset-idempotent");
    short.pipeline.retention = Retention::ShorterThanReplay;
    assert_eq!(short, shipped("kafka-offset-reset-retention"));
    // Without the replay nothing comes after the expiry (vacuous: the
    // "copy after its key expired" witness is out of reach).
    let mut no_replay = short;
    no_replay.bounds.operator_replays = 0;
    assert_eq!(run(no_replay).verdict(APPLIED_ONCE), Some(Verdict::Vacuous));
    let d = diagnosis_of("kafka-offset-reset-retention", APPLIED_ONCE);
    assert!(
        d.guarantee
            .contains("an operator's reset of the group's offsets"),
        "{d:?}"
    );
    let name = "an operator replayed what was already done";
    assert_unreached_where_impossible(vec![(no_replay, name)]);
}

/// The proofs of the refuted pattern scenarios have their controls too:
/// the poison DLQ's *once* breaks when the failing handler leaves a part
/// of its effect behind; the outbox's *no loss* breaks as a dual write;
/// and a retention that refutes *once* still keeps *no loss* only while
/// completion follows the effect.
#[test]
fn the_other_property_of_each_refuted_pattern_has_a_control() {
    let mut partial = shipped("sqs-fifo-poison-dlq");
    partial.pipeline.poison_partial_effect = true;
    refutes(
        partial,
        APPLIED_ONCE,
        "a failing handler's partial effect repeats",
    );
    let mut dual = shipped("producer-outbox-at-least-once");
    dual.pipeline.publish = Publish::DualWrite;
    refutes(
        dual,
        NO_LOSS,
        "a dual write loses the event its crash cut off",
    );
    for name in [
        "idempotency-check-then-act",
        "idempotency-retention-shorter",
        "sqs-dlq-redrive-retention",
        "kafka-offset-reset-retention",
    ] {
        common::refutes_no_loss_with_completion_first(name);
    }
}
