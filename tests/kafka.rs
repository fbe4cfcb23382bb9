//! The Kafka broker kind: the verdict of every shipped Kafka scenario with
//! its witnesses, a negative control for every proof (one value changed,
//! the checker must refute), and the traces showing where the effect
//! escaped.

use onceproof::check::{Outcome, Verdict};
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::pipeline::{
    AfterAbort, CompletionOrder, Config, Effect, LedgerKey, Processing, Resend, StaleCompletion,
};
use onceproof::report::events::{self, CommitOutcome, Event};
use onceproof::scenario;

mod common;
use std::path::Path;

use common::{run, shipped};

fn verdicts(o: &Outcome) -> (Verdict, Verdict) {
    (
        o.verdict(APPLIED_ONCE).unwrap(),
        o.verdict(NO_LOSS).unwrap(),
    )
}

use Verdict::{Counterexample as Ce, Proved};

#[test]
fn every_shipped_kafka_scenario_has_its_verdicts_and_reaches_its_witnesses() {
    let table = [
        ("kafka-at-least-once", Ce, Proved),
        ("kafka-idempotency", Proved, Proved),
        ("kafka-atomic-boundary", Proved, Proved),
        ("kafka-commit-before", Proved, Ce),
        ("kafka-auto-commit-async", Ce, Ce),
        ("kafka-cumulative-commit", Ce, Ce),
        ("kafka-rebalance-zombie", Ce, Proved),
        ("kafka-rebalance-zombie-unfenced", Ce, Proved),
        ("kafka-transactions", Proved, Proved),
        ("kafka-transactions-unfenced", Ce, Proved),
        ("kafka-transactions-external-effect", Ce, Proved),
        ("kafka-transaction-abort-no-seek", Proved, Ce),
        ("kafka-application-resend", Ce, Proved),
        ("kafka-auto-commit-background", Ce, Ce),
        ("kafka-crash-before-commit", Ce, Proved),
    ];
    for (name, once, loss) in table {
        let o = run(shipped(name));
        assert_eq!(verdicts(&o), (once, loss), "{name}");
        let unreached: Vec<_> = o.witnesses.iter().filter(|(_, r)| !r).collect();
        assert!(unreached.is_empty(), "{name}: unreached {unreached:?}");
    }
}

/// Each proof, with one value changed, is refuted.
#[test]
fn every_kafka_proof_has_a_negative_control() {
    let mut idem = shipped("kafka-idempotency");
    idem.pipeline.ledger_check = false;
    assert_eq!(run(idem).verdict(APPLIED_ONCE), Some(Ce), "no ledger check");

    let mut atomic = shipped("kafka-atomic-boundary");
    atomic.pipeline.ledger_key = LedgerKey::None;
    assert_eq!(
        run(atomic).verdict(APPLIED_ONCE),
        Some(Ce),
        "no offset with the effect"
    );

    let mut before = shipped("kafka-commit-before");
    before.pipeline.producer_retries = true;
    before.bounds.retries = 1;
    assert_eq!(
        run(before).verdict(APPLIED_ONCE),
        Some(Ce),
        "a retrying producer"
    );

    for name in [
        "kafka-at-least-once",
        "kafka-rebalance-zombie",
        "kafka-crash-before-commit",
    ] {
        let mut cfg = shipped(name);
        cfg.pipeline.order = CompletionOrder::CompletionThenEffect;
        cfg.bounds.crashes = 1;
        assert_eq!(run(cfg).verdict(NO_LOSS), Some(Ce), "{name}: commit before");
    }
    let mut sync = shipped("kafka-cumulative-commit");
    sync.pipeline.processing = Processing::Sync;
    assert_eq!(
        verdicts(&run(sync)),
        (Ce, Proved),
        "synchronous processing never commits past an unfinished record"
    );
    let mut sync = shipped("kafka-auto-commit-async");
    sync.pipeline.processing = Processing::Sync;
    assert_eq!(verdicts(&run(sync)), (Ce, Proved), "auto-commit, sync");
    // Java's in-poll auto-commit on the background scenario: the one value
    // that makes the loss go away.
    let mut in_poll = shipped("kafka-auto-commit-background");
    in_poll.pipeline.auto_commit = onceproof::pipeline::AutoCommit::InPoll;
    assert_eq!(verdicts(&run(in_poll)), (Ce, Proved), "in-poll, sync");

    // The transactions proof: without fencing the zombie's transaction
    // commits too; with the effect outside the transaction (and no ledger)
    // a crash or a zombie repeats it; a loop that polls on after an abort
    // skips the aborted record.
    let txn = || {
        let mut c = shipped("kafka-transactions");
        c.bounds.operations = 1;
        c
    };
    let mut unfenced = txn();
    unfenced.pipeline.stale_completion = StaleCompletion::Accepted;
    unfenced.bounds.transaction_aborts = 0;
    assert_eq!(run(unfenced).verdict(APPLIED_ONCE), Some(Ce), "no fencing");
    let mut outside = txn();
    outside.pipeline.effect = Effect::External;
    outside.pipeline.ledger_key = LedgerKey::None;
    assert_eq!(
        run(outside).verdict(APPLIED_ONCE),
        Some(Ce),
        "the effect outside the transaction"
    );
    let mut on = txn();
    on.pipeline.after_abort = AfterAbort::Continue;
    assert_eq!(run(on).verdict(NO_LOSS), Some(Ce), "no seek after an abort");

    // The no-loss proofs of the refuted transaction scenarios: the abort
    // that does not rewind loses there too.
    // An external effect lands before the transaction ends, so an abort
    // cannot lose it; committing before processing, outside any
    // transaction, can.
    let mut external = shipped("kafka-transactions-external-effect");
    external.pipeline.transactions = false;
    external.pipeline.order = CompletionOrder::CompletionThenEffect;
    assert_eq!(
        run(external).verdict(NO_LOSS),
        Some(Ce),
        "external, commit before, no transaction"
    );
    // The abort scenario's once-proof: the upstream producer re-publishes
    // and nothing deduplicates it.
    let mut resend = shipped("kafka-transaction-abort-no-seek");
    resend.pipeline.publish_dedup = false;
    resend.bounds.retries = 1;
    assert_eq!(
        run(resend).verdict(APPLIED_ONCE),
        Some(Ce),
        "no publish dedup"
    );
    // The resend scenario's no-loss proof: commit before processing.
    let mut before = shipped("kafka-application-resend");
    before.pipeline.order = CompletionOrder::CompletionThenEffect;
    before.bounds.crashes = 1;
    assert_eq!(
        run(before).verdict(NO_LOSS),
        Some(Ce),
        "resend, commit before"
    );
}

/// A transaction commits the output with the offset and a fenced one
/// writes nothing, so the output topic holds each record once; the same
/// run with the effect outside the transaction applies it twice at the
/// store while the output topic still holds it once.
#[test]
fn a_transaction_fences_its_output_not_an_external_effect() {
    let cfg = shipped("kafka-transactions-external-effect");
    let o = run(cfg);
    let trace = o.trace(APPLIED_ONCE).expect("a counterexample");
    let model = onceproof::model::build(cfg);
    let mut last = trace.last_state().clone();
    for (_, after) in &trace.epilogue {
        last = after.clone();
    }
    assert_eq!(
        onceproof::model::store(&last).applied,
        vec![2],
        "charged twice"
    );
    assert_eq!(
        onceproof::model::broker(&last).output,
        vec![1],
        "output once"
    );
    let fenced = trace
        .epilogue
        .iter()
        .scan(trace.last_state().clone(), |before, (a, after)| {
            let e = events::event(&model, before, a, after);
            *before = after.clone();
            Some(e)
        })
        .any(|e| {
            matches!(
                e,
                Event::Committed {
                    outcome: CommitOutcome::Fenced { .. },
                    transaction: Some(_),
                    ..
                }
            )
        });
    assert!(
        fenced,
        "the zombie's transaction is aborted in the run to rest"
    );
}

/// The idempotent producer drops the client's own retry and stores the
/// application's resend: the one value is the whole difference.
#[test]
fn idempotence_dedupes_the_clients_retry_not_the_applications_resend() {
    let resend = shipped("kafka-application-resend");
    assert_eq!(resend.pipeline.resend, Resend::Application);
    assert!(resend.pipeline.publish_dedup);
    assert_eq!(run(resend).verdict(APPLIED_ONCE), Some(Ce));
    let mut internal = resend;
    internal.pipeline.resend = Resend::ClientInternal;
    assert_eq!(verdicts(&run(internal)), (Proved, Proved));
}

/// Fencing stops the zombie's commit, not its side effect: in the
/// counterexample the effect lands twice and, with fencing, the zombie's
/// commit is rejected; without it, taken.
#[test]
fn fencing_stops_the_commit_not_the_effect() {
    for (name, fencing) in [
        ("kafka-rebalance-zombie", true),
        ("kafka-rebalance-zombie-unfenced", false),
    ] {
        let cfg = shipped(name);
        assert_eq!(
            cfg.pipeline.stale_completion == StaleCompletion::Rejected,
            fencing
        );
        let o = run(cfg);
        let trace = o.trace(APPLIED_ONCE).expect("a counterexample");
        let model = onceproof::model::build(cfg);
        let mut steps: Vec<Event> = events::of_trace(&model, trace).map(|(_, _, e)| e).collect();
        steps.extend(trace.epilogue.iter().scan(
            trace.last_state().clone(),
            |before, (a, after)| {
                let e = events::event(&model, before, a, after);
                *before = after.clone();
                Some(e)
            },
        ));
        let rebalance = steps
            .iter()
            .position(|e| matches!(e, Event::Rebalanced { holding, .. } if !holding.is_empty()))
            .expect("a rebalance under a working owner");
        let applied_twice = steps
            .iter()
            .position(|e| matches!(e, Event::Effect { times: 2, .. }))
            .expect("the effect applied twice");
        assert!(rebalance < applied_twice, "{name}");
        // The whole run to rest shows what became of the zombie's commit.
        let zombie_commit = steps.iter().find_map(|e| match e {
            Event::Committed { outcome, .. } if *outcome != CommitOutcome::Accepted => {
                Some(*outcome)
            }
            _ => None,
        });
        match zombie_commit {
            Some(CommitOutcome::Fenced { .. }) => assert!(fencing, "{name}"),
            Some(CommitOutcome::ZombieTaken) => assert!(!fencing, "{name}"),
            other => panic!("{name}: the zombie's commit is in the trace, found {other:?}"),
        }
    }
}

/// The rebalance witnesses come out unreached, so a proof would be
/// `vacuous`, when the partition cannot move.
#[test]
fn without_a_second_member_a_rebalance_cannot_happen() {
    let mut cfg = shipped("kafka-rebalance-zombie");
    cfg.bounds.consumers = 1;
    let o = run(cfg);
    assert!(
        o.witnesses.iter().all(|(w, _)| !w.contains("rebalance")),
        "no rebalance witness applies: {:?}",
        o.witnesses
    );
    assert_eq!(verdicts(&o), (Proved, Proved));
}

/// `enable-idempotence` is the idempotent producer (K2): Kafka's name for
/// publish dedup, within the one producer session the model has.
#[test]
fn the_idempotent_producer_is_publish_dedup() {
    let src = std::fs::read_to_string("models/kafka-at-least-once.toml").unwrap();
    for (value, dedup) in [("true", true), ("false", false)] {
        let text = src.replace(
            "commit = \"after-processing\"",
            &format!("commit = \"after-processing\"\nenable-idempotence = {value}"),
        );
        let s = scenario::parse(Path::new("x.toml"), &text).expect("parses");
        assert_eq!(s.config.pipeline.publish_dedup, dedup);
    }
}

fn unfenced_txn() -> Config {
    let mut c = shipped("kafka-transactions-unfenced");
    c.bounds.rebalances = 0;
    c
}

/// Each new witness, demanded where its fault or outcome cannot happen,
/// comes out unreached and turns the proof `vacuous`.
#[test]
fn each_kafka_witness_is_vacuous_where_it_cannot_happen() {
    // No rebalance, but a crash: the restarted owner's refusal of its own
    // older commit is no zombie's.
    let mut quiet = shipped("kafka-rebalance-zombie");
    quiet.bounds.rebalances = 0;
    quiet.bounds.crashes = 1;
    let mut unfenced = shipped("kafka-rebalance-zombie-unfenced");
    unfenced.bounds.rebalances = 0;
    unfenced.bounds.crashes = 1;
    let mut sync = shipped("kafka-cumulative-commit");
    sync.pipeline.processing = Processing::Sync;
    let mut no_abort = shipped("kafka-transaction-abort-no-seek");
    no_abort.bounds.transaction_aborts = 0;
    let mut seeking = no_abort;
    seeking.pipeline.after_abort = AfterAbort::SeekToCommitted;
    // Fencing on, aborts on, no rebalance: the owner's aborted
    // transactions are refused, and that is no zombie's.
    let mut txn_quiet = shipped("kafka-transactions-unfenced");
    txn_quiet.pipeline.stale_completion = StaleCompletion::Rejected;
    txn_quiet.bounds.rebalances = 0;
    txn_quiet.bounds.transaction_aborts = 1;
    txn_quiet.bounds.crashes = 1;
    let mut resend_once = shipped("kafka-application-resend");
    resend_once.bounds.retries = 0;
    resend_once.bounds.losses = 0;
    let mut no_crash_txn = shipped("kafka-transactions");
    no_crash_txn.bounds.operations = 1;
    no_crash_txn.bounds.crashes = 0;
    common::assert_unreached_where_impossible(vec![
        (
            no_crash_txn,
            "crash inside an open transaction (the coordinator aborts it)",
        ),
        (
            no_abort,
            "an aborted transaction's record left behind the position",
        ),
        (seeking, "an aborted transaction retried"),
        (txn_quiet, "zombie's transaction aborted (fenced)"),
        (
            unfenced_txn(),
            "zombie's transaction committed (no fencing)",
        ),
        (
            resend_once,
            "application resend stored twice (a new sequence number)",
        ),
        (
            quiet,
            "rebalance while the old owner holds an unfinished record",
        ),
        (quiet, "zombie commit rejected (ILLEGAL_GENERATION)"),
        (unfenced, "zombie commit accepted (no fencing)"),
        (sync, "commit covers an unfinished record"),
    ]);
}
