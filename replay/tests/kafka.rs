//! The Kafka driver against the Kafka-protocol broker that
//! `scripts/brokers up` starts (address in ONCEPROOF_KAFKA). These tests
//! need that server: unreachable, they fail, naming the variable.

use onceproof_replay::broker::Broker;
use onceproof_replay::kafka::Kafka;

fn broker() -> Kafka {
    let addr = std::env::var("ONCEPROOF_KAFKA").unwrap_or_else(|_| "127.0.0.1:56725".into());
    match Kafka::connect(&addr) {
        Ok(k) => k,
        Err(e) => panic!(
            "no Kafka broker at ONCEPROOF_KAFKA={addr} (start it with scripts/brokers up): {e}"
        ),
    }
}

#[test]
fn a_crash_before_the_commit_fetches_the_offset_again() {
    let mut k = broker();
    k.reset(1).unwrap();
    let stored = k.publish(0, false).unwrap();
    assert_eq!(stored, "stored at offset 0 (delivery report)");

    let d = k.receive(0, false).unwrap().expect("the record");
    assert_eq!((d.op, d.delivery, d.handle.as_str()), (0, Some(1), "0"));

    let crashed = k.crash(0).unwrap();
    assert_eq!(crashed, "consumer 1 gone, uncommitted position 1 lost");
    let resumed = k.restart(0).unwrap();
    assert_eq!(
        resumed,
        "consumer 1 resumes at the earliest offset (nothing committed)"
    );

    let again = k.receive(0, false).unwrap().expect("the record again");
    assert_eq!(
        (again.op, again.delivery, again.handle.as_str()),
        (0, Some(2), "0")
    );
    assert_eq!(again.seen, "offset 0 fetched by consumer 1 (fetched 2×)");
}

#[test]
fn a_committed_offset_survives_the_crash() {
    let mut k = broker();
    k.reset(1).unwrap();
    k.publish(0, false).unwrap();
    let d = k.receive(0, false).unwrap().expect("the record");
    let done = k.complete(0, &d).unwrap();
    assert!(done.accepted, "{}", done.seen);
    assert_eq!(done.seen, "committed offset 1");
    // The broker holds the group's commit made outside any generation
    // (assign mode), which the restart depends on.
    assert_eq!(k.group_committed().unwrap(), Some(1));

    k.crash(0).unwrap();
    let resumed = k.restart(0).unwrap();
    assert_eq!(resumed, "consumer 1 resumes at committed offset 1");
    let after = k.receive(0, false).unwrap();
    assert!(after.is_none(), "fetched past the commit: {after:?}");
}

#[test]
fn a_lost_confirm_still_stores_the_record() {
    let mut k = broker();
    k.reset(1).unwrap();
    let lost = k.publish(0, true).unwrap();
    assert_eq!(
        lost,
        "stored at offset 0 (delivery report discarded, producer dropped)"
    );
    let second = k.publish(0, false).unwrap();
    assert_eq!(second, "stored at offset 1 (delivery report)");

    let a = k.receive(0, false).unwrap().expect("first record");
    let b = k.receive(0, false).unwrap().expect("second record");
    assert_eq!((a.op, a.handle.as_str(), a.delivery), (0, "0", Some(1)));
    assert_eq!((b.op, b.handle.as_str(), b.delivery), (0, "1", Some(1)));
    assert!(k.receive(0, false).unwrap().is_none());
}

#[test]
fn only_the_partition_owner_fetches() {
    // One partition: the group gives it to consumer 1, and without a
    // rebalance the others fetch nothing, crash losing nothing.
    let mut k = broker();
    k.reset(2).unwrap();
    k.publish(0, false).unwrap();
    assert!(k.receive(1, false).unwrap().is_none());
    assert_eq!(
        k.crash(1).unwrap(),
        "consumer 2 owns no partition: nothing lost"
    );
    let a = k.receive(0, false).unwrap().expect("consumer 1 gets it");
    assert_eq!((a.handle.as_str(), a.delivery), ("0", Some(1)));
    assert!(k.expire_lease().is_err());
}
