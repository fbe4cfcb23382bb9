//! The SQS and RabbitMQ broker kinds: every shipped scenario's verdicts
//! with its witnesses reached, a negative control for every proof (one
//! value changed, the checker must refute), and each new witness vacuous
//! where its fault cannot happen.

use onceproof::check::Verdict;
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::pipeline::{BrokerKind, CompletionOrder, Config, Processing};

mod common;

use common::{assert_shipped, run, shipped};

use Verdict::{Counterexample as Ce, Proved};

const TABLE: [(&str, Verdict, Verdict); 24] = [
    ("sqs-double-charge", Ce, Proved),
    ("at-most-once-sqs-standard", Ce, Ce),
    ("sqs-standard-at-most-once", Ce, Ce),
    ("sqs-standard-at-least-once", Ce, Proved),
    ("sqs-standard-atomic-boundary", Ce, Proved),
    ("sqs-standard-idempotency", Proved, Proved),
    ("sqs-fifo-at-most-once", Proved, Ce),
    ("sqs-fifo-at-least-once", Ce, Proved),
    ("sqs-fifo-atomic-boundary", Ce, Proved),
    ("sqs-fifo-idempotency", Proved, Proved),
    ("rabbitmq-at-most-once", Proved, Ce),
    ("rabbitmq-at-least-once", Ce, Proved),
    ("rabbitmq-atomic-boundary", Ce, Proved),
    ("rabbitmq-idempotency", Proved, Proved),
    ("sqs-heartbeat-still-overlaps", Ce, Proved),
    ("sqs-standard-phantom-duplicate", Ce, Proved),
    ("sqs-fifo-window-elapsed", Ce, Proved),
    ("sqs-fifo-consumer-overlap", Ce, Proved),
    ("sqs-dlq-transient-loss", Proved, Ce),
    ("sqs-dlq-redrive", Proved, Proved),
    ("rabbitmq-no-confirms", Proved, Ce),
    ("rabbitmq-auto-ack", Proved, Ce),
    ("rabbitmq-channel-close-duplicate", Ce, Proved),
    ("rabbitmq-confirm-lost-duplicate", Ce, Proved),
];

#[test]
fn every_shipped_sqs_and_rabbitmq_scenario_has_its_verdicts_and_witnesses() {
    let more = [
        ("rabbitmq-redelivered-shortcut", Ce, Proved),
        ("rabbitmq-delivery-limit-at-most-once", Proved, Ce),
        ("rabbitmq-prefetch-ack-multiple", Proved, Proved),
        ("rabbitmq-ack-multiple-pool", Ce, Ce),
    ];
    for (name, once, loss) in TABLE.into_iter().chain(more) {
        assert_shipped(name, once, loss);
    }
}

/// The kinds fix their mechanisms: a file cannot set them otherwise.
#[test]
fn each_kind_is_a_preset_of_mechanisms() {
    let std = shipped("sqs-standard-at-least-once");
    assert!(std.pipeline.phantom_redelivery && !std.pipeline.publish_dedup);
    let fifo = shipped("sqs-fifo-at-least-once");
    assert!(fifo.pipeline.publish_dedup && fifo.pipeline.dedup_window && fifo.pipeline.one_group);
    let rabbit = shipped("rabbitmq-atomic-boundary");
    assert!(
        !rabbit.pipeline.publish_dedup,
        "RabbitMQ has no publish dedup"
    );
    assert_eq!(rabbit.pipeline.vocabulary, BrokerKind::RabbitMq);
}

/// Each proof with one value changed is refuted: the value is what the
/// proof rests on.
#[test]
fn every_proof_has_a_negative_control() {
    type Mutation = fn(&mut Config);
    let commit_first: Mutation = |c| {
        c.pipeline.order = CompletionOrder::CompletionThenEffect;
        c.pipeline.auto_ack = false;
        c.bounds.crashes = 1;
    };
    let no_check: Mutation = |c| c.pipeline.ledger_check = false;
    let retry: Mutation = |c| {
        c.pipeline.producer_retries = true;
        c.bounds.retries = 1;
    };
    let no_limit: Mutation = |c| c.pipeline.max_receives = None;
    let no_redrive: Mutation = |c| c.pipeline.redrive = false;
    // Behind a receive limit of one, the DLQ stops the redelivery the
    // ledger would otherwise refuse: the control removes both.
    let no_check_no_limit: Mutation = |c| {
        c.pipeline.ledger_check = false;
        c.pipeline.max_receives = None;
    };
    let no_check_crash: Mutation = |c| {
        c.pipeline.ledger_check = false;
        c.bounds.crashes = 1;
    };
    // The pool finishes deliveries out of tag order.
    let pool: Mutation = |c| c.pipeline.processing = Processing::Async;
    // A producer that never re-publishes: the lost confirm's operation is
    // still stored, but a lost publish is never sent again.
    let fire_and_forget: Mutation = |c| c.pipeline.producer_retries = false;
    let controls: [(&str, Mutation, &str); 30] = [
        ("sqs-standard-at-least-once", commit_first, NO_LOSS),
        ("sqs-standard-atomic-boundary", commit_first, NO_LOSS),
        ("sqs-standard-idempotency", no_check, APPLIED_ONCE),
        ("sqs-standard-idempotency", commit_first, NO_LOSS),
        ("sqs-fifo-at-most-once", retry, APPLIED_ONCE),
        ("sqs-fifo-at-least-once", commit_first, NO_LOSS),
        ("sqs-fifo-atomic-boundary", commit_first, NO_LOSS),
        ("sqs-fifo-idempotency", no_check, APPLIED_ONCE),
        ("sqs-fifo-idempotency", commit_first, NO_LOSS),
        ("rabbitmq-at-most-once", retry, APPLIED_ONCE),
        ("rabbitmq-at-least-once", commit_first, NO_LOSS),
        ("rabbitmq-atomic-boundary", commit_first, NO_LOSS),
        ("rabbitmq-idempotency", no_check, APPLIED_ONCE),
        ("rabbitmq-idempotency", commit_first, NO_LOSS),
        ("sqs-heartbeat-still-overlaps", commit_first, NO_LOSS),
        ("sqs-standard-phantom-duplicate", commit_first, NO_LOSS),
        ("sqs-fifo-window-elapsed", commit_first, NO_LOSS),
        ("sqs-fifo-consumer-overlap", commit_first, NO_LOSS),
        ("sqs-dlq-transient-loss", no_check_no_limit, APPLIED_ONCE),
        ("sqs-dlq-redrive", no_redrive, NO_LOSS),
        ("sqs-dlq-redrive", no_check, APPLIED_ONCE),
        ("rabbitmq-no-confirms", no_check_crash, APPLIED_ONCE),
        ("rabbitmq-auto-ack", retry, APPLIED_ONCE),
        ("rabbitmq-channel-close-duplicate", commit_first, NO_LOSS),
        ("rabbitmq-confirm-lost-duplicate", commit_first, NO_LOSS),
        ("rabbitmq-confirm-lost-duplicate", fire_and_forget, NO_LOSS),
        ("rabbitmq-redelivered-shortcut", commit_first, NO_LOSS),
        ("rabbitmq-prefetch-ack-multiple", pool, NO_LOSS),
        ("rabbitmq-prefetch-ack-multiple", commit_first, NO_LOSS),
        ("rabbitmq-prefetch-ack-multiple", no_check, APPLIED_ONCE),
    ];
    for (name, mutate, property) in controls {
        let mut cfg = shipped(name);
        mutate(&mut cfg);
        assert_eq!(run(cfg).verdict(property), Some(Ce), "{name}: {property}");
    }
    let mut limit = shipped("rabbitmq-delivery-limit-at-most-once");
    no_check_no_limit(&mut limit);
    assert_eq!(run(limit).verdict(APPLIED_ONCE), Some(Ce));
    // Without the limit (nothing else changed) nothing is dead-lettered.
    let mut limit = shipped("rabbitmq-delivery-limit-at-most-once");
    no_limit(&mut limit);
    assert_eq!(run(limit).verdict(NO_LOSS), Some(Proved));
    let mut limit = shipped("rabbitmq-delivery-limit-at-most-once");
    limit.pipeline.ledger_check = false;
    limit.pipeline.max_receives = None;
    assert_eq!(run(limit).verdict(APPLIED_ONCE), Some(Ce));
    // On the pool, `multiple` is the whole difference: acking each
    // delivery on its own loses nothing.
    let mut single = shipped("rabbitmq-ack-multiple-pool");
    single.pipeline.ack_multiple = false;
    let o = run(single);
    assert_eq!(o.verdict(NO_LOSS), Some(Proved));
    // The redelivered shortcut is the whole difference.
    let mut always = shipped("rabbitmq-redelivered-shortcut");
    always.pipeline.dedup_only_if_redelivered = false;
    assert_eq!(run(always).verdict(APPLIED_ONCE), Some(Proved));
}

/// Each new witness, demanded where its fault or outcome cannot happen,
/// comes out unreached and turns the proof `vacuous`.
#[test]
fn each_new_witness_is_vacuous_where_it_cannot_happen() {
    let mut no_phantom = shipped("sqs-standard-phantom-duplicate");
    no_phantom.bounds.phantom_redeliveries = 0;
    let mut no_window = shipped("sqs-fifo-window-elapsed");
    no_window.bounds.dedup_window_expiries = 0;
    let mut no_expiry = shipped("sqs-heartbeat-still-overlaps");
    no_expiry.bounds.lease_expiries = 0;
    let mut no_crash = shipped("sqs-dlq-redrive");
    no_crash.bounds.crashes = 0;
    no_crash.bounds.lease_expiries = 0;
    let mut no_crash_auto = shipped("rabbitmq-auto-ack");
    no_crash_auto.bounds.crashes = 0;
    let mut no_retry = shipped("rabbitmq-redelivered-shortcut");
    no_retry.bounds.retries = 0;
    common::assert_unreached_where_impossible(vec![
        (no_phantom, "a deleted message came back"),
        (no_window, "dedup window elapsed before a retried publish"),
        (
            no_expiry,
            "visibility expired despite ChangeMessageVisibility: two consumers hold one message",
        ),
        (
            no_crash,
            "healthy message moved to the DLQ after its receive limit",
        ),
        (no_crash, "redrive re-offered a dead-lettered message"),
        (
            no_crash_auto,
            "an auto-acked delivery lost with its consumer's crash",
        ),
        (no_retry, "two first deliveries of one operation"),
        (
            shipped("rabbitmq-prefetch-ack-multiple"),
            "an ack with multiple = true covers an unfinished delivery",
        ),
        (
            {
                let mut one = shipped("rabbitmq-at-least-once");
                one.bounds.operations = 2;
                one.bounds.retries = 0;
                one
            },
            "two unacked deliveries on one channel",
        ),
    ]);
}
