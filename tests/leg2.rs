//! Leg 2, the replicated broker: every shipped scenario's verdicts with
//! its witnesses reached, a negative control for every proof (one value
//! changed, the checker must refute), each new witness vacuous where its
//! fault cannot happen, the failed leg named in the counterexample, and a
//! failover's failed publish retried without a retry budget.

use onceproof::check::{self, Limits, Verdict};
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::pipeline::{Acks, BrokerKind, Mode, Pipeline};
use onceproof::report::narrative;

mod common;

use common::{assert_shipped, assert_unreached_where_impossible, refutes, run, shipped};

use Verdict::{Counterexample as Ce, Proved};

#[test]
fn every_shipped_leg2_scenario_has_its_verdicts_and_witnesses() {
    for (name, once, loss) in [
        ("kafka-acks-leader-failover", Proved, Ce),
        ("kafka-acks-all-failover", Proved, Proved),
        ("kafka-unclean-election", Proved, Ce),
        ("rabbitmq-quorum-failover", Proved, Proved),
        ("rabbitmq-quorum-failover-duplicate", Ce, Proved),
    ] {
        let o = assert_shipped(name, once, loss);
        assert!(
            o.witnesses.iter().any(|(w, _)| w.contains("failover")),
            "{name}: no failover witness demanded"
        );
    }
}

#[test]
fn every_leg2_proof_has_a_negative_control() {
    let proof = shipped("kafka-acks-all-failover");
    let mut leader = proof;
    leader.pipeline.durability.acks = Acks::Leader;
    refutes(leader, NO_LOSS, "acks=1 loses a confirmed record");
    let mut unclean = proof;
    unclean.pipeline.durability.min_in_sync = 1;
    unclean.pipeline.durability.unclean_election = true;
    refutes(
        unclean,
        NO_LOSS,
        "min-in-sync 1 with unclean election loses",
    );
    let quorum = shipped("rabbitmq-quorum-failover");
    let mut no_ledger = quorum;
    no_ledger.pipeline = Pipeline {
        durability: quorum.pipeline.durability,
        ..(BrokerKind::RabbitMq.spec().preset)(Pipeline::of(Mode::AtLeastOnce))
    };
    refutes(
        no_ledger,
        APPLIED_ONCE,
        "a failover's requeue replays the effect",
    );
    let mut minority = quorum;
    minority.pipeline.durability.acks = Acks::Leader;
    refutes(
        minority,
        NO_LOSS,
        "a confirm before the quorum has it is lost",
    );
}

#[test]
fn a_clean_election_keeps_what_the_unclean_one_loses() {
    let mut clean = shipped("kafka-unclean-election");
    clean.pipeline.durability.unclean_election = false;
    let o = run(clean);
    assert_eq!(o.verdict(NO_LOSS), Some(Proved));
    assert_eq!(o.verdict(APPLIED_ONCE), Some(Proved));
}

/// A publish whose confirm waited fails with the old leader; the retry
/// that follows is paid for by the failover, so a zero retry budget
/// strands nothing.
#[test]
fn a_failed_publish_is_retried_without_a_retry_budget() {
    let mut cfg = shipped("kafka-acks-all-failover");
    cfg.bounds.retries = 0;
    cfg.bounds.losses = 0;
    cfg.bounds.operations = 1;
    let o = run(cfg);
    assert_eq!(o.verdict(NO_LOSS), Some(Proved));
    assert!(
        o.witnesses
            .iter()
            .any(|(w, r)| *r && w.starts_with("the producer re-published what a failover failed"))
    );
}

/// A fire-and-forget producer never re-publishes what a failover failed:
/// acks=all keeps what it confirmed, not what it never confirmed.
#[test]
fn a_failed_publish_without_retries_is_lost() {
    let mut cfg = shipped("kafka-acks-all-failover");
    cfg.pipeline.producer_retries = false;
    cfg.bounds.retries = 0;
    refutes(
        cfg,
        NO_LOSS,
        "nobody re-publishes a publish the failover failed",
    );
}

#[test]
fn the_counterexample_names_leg_2() {
    for name in ["kafka-acks-leader-failover", "kafka-unclean-election"] {
        let cfg = shipped(name);
        let o = check::check(cfg, Limits::default(), &mut |_| {});
        let trace = o
            .trace(NO_LOSS)
            .unwrap_or_else(|| panic!("{name}: a counterexample"));
        let m = onceproof::model::build(cfg);
        let n = narrative::narrative(&m, trace, NO_LOSS);
        assert_eq!(n.diagnosis.leg, "Leg 2, broker durability", "{name}");
        assert_eq!(n.diagnosis.gap, "published → durably replicated", "{name}");
        assert!(
            n.steps
                .iter()
                .any(|l| l.contains("gone although its confirm went out")),
            "{name}: {:?}",
            n.steps
        );
    }
}

#[test]
fn each_leg2_witness_is_vacuous_where_its_fault_cannot_happen() {
    let all = shipped("kafka-acks-all-failover");
    let unclean = shipped("kafka-unclean-election");
    let mut no_failover = all;
    no_failover.bounds.broker_failovers = 0;
    let mut clean = unclean;
    clean.pipeline.durability.unclean_election = false;
    let mut no_shrink = all;
    no_shrink.bounds.isr_shrinks = 0;
    assert_unreached_where_impossible(vec![
        // acks=all, min 2, clean: nothing confirmed is ever cut.
        (
            all,
            "a confirm sent before replication, then a failover cut the record",
        ),
        (
            no_failover,
            "a failover failed a publish still waiting for replication",
        ),
        (
            clean,
            "unclean election: an out-of-sync follower became the leader",
        ),
        (no_shrink, "a lagging follower left the in-sync set"),
        (
            no_failover,
            "the producer re-published what a failover failed, and it was confirmed",
        ),
    ]);
}
