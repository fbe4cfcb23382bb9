//! The Kafka driver against the Kafka-protocol broker that
//! `scripts/brokers up` starts (address in ONCEPROOF_KAFKA). These tests
//! need that server: unreachable, they fail, naming the variable.

use onceproof_replay::broker::{Broker, Consumer};
use onceproof_replay::kafka::{Kafka, KafkaConsumer};

fn addr() -> String {
    std::env::var("ONCEPROOF_KAFKA").unwrap_or_else(|_| "127.0.0.1:56725".into())
}

fn broker() -> Kafka {
    let addr = addr();
    match Kafka::connect(&addr) {
        Ok(k) => k,
        Err(e) => panic!(
            "no Kafka broker at ONCEPROOF_KAFKA={addr} (start it with scripts/brokers up): {e}"
        ),
    }
}

/// Consumer `c` of the topic, in this process: a crash is dropping it.
fn consumer(topic: &str, c: u8) -> (KafkaConsumer, String) {
    KafkaConsumer::attach(&addr(), topic, c, false).expect("attach")
}

#[test]
fn a_crash_before_the_commit_fetches_the_offset_again() {
    let mut k = broker();
    let topic = k.reset().unwrap();
    let stored = k.publish(0, false).unwrap();
    assert_eq!(stored, "stored at offset 0 (delivery report)");
    let (mut c1, joined) = consumer(&topic, 0);
    assert_eq!(
        joined,
        "consumer 1 starts at the earliest offset (nothing committed)"
    );
    let d = c1.receive(false).unwrap().expect("the record");
    // Kafka counts no deliveries; the replay counts fetches.
    assert_eq!((d.op, d.delivery, d.handle.as_str()), (0, None, "0"));
    assert_eq!(d.seen, "offset 0 fetched by consumer 1");

    drop(c1);
    let (mut c1, resumed) = consumer(&topic, 0);
    assert_eq!(
        resumed,
        "consumer 1 starts at the earliest offset (nothing committed)"
    );
    let again = c1.receive(false).unwrap().expect("the record again");
    assert_eq!((again.op, again.handle.as_str()), (0, "0"));
}

#[test]
fn a_committed_offset_survives_the_crash() {
    let mut k = broker();
    let topic = k.reset().unwrap();
    k.publish(0, false).unwrap();
    let (mut c1, _) = consumer(&topic, 0);
    let d = c1.receive(false).unwrap().expect("the record");
    let done = c1.complete(&d).unwrap();
    assert!(done.accepted, "{}", done.seen);
    assert_eq!(done.seen, "committed offset 1");
    // The broker holds the group's commit made outside any generation
    // (assign mode), which the restart depends on.
    assert_eq!(k.group_committed().unwrap(), Some(1));

    drop(c1);
    let (mut c1, resumed) = consumer(&topic, 0);
    assert_eq!(resumed, "consumer 1 resumes at committed offset 1");
    let after = c1.receive(false).unwrap();
    assert!(after.is_none(), "fetched past the commit: {after:?}");
}

#[test]
fn a_lost_confirm_still_stores_the_record() {
    let mut k = broker();
    let topic = k.reset().unwrap();
    let lost = k.publish(0, true).unwrap();
    assert_eq!(
        lost,
        "stored at offset 0 (delivery report discarded, producer dropped)"
    );
    let second = k.publish(0, false).unwrap();
    assert_eq!(second, "stored at offset 1 (delivery report)");

    let (mut c1, _) = consumer(&topic, 0);
    let a = c1.receive(false).unwrap().expect("first record");
    let b = c1.receive(false).unwrap().expect("second record");
    assert_eq!((a.op, a.handle.as_str()), (0, "0"));
    assert_eq!((b.op, b.handle.as_str()), (0, "1"));
    assert!(c1.receive(false).unwrap().is_none());
}

#[test]
fn only_the_partition_owner_fetches() {
    // One partition: the group gives it to consumer 1, and without a
    // rebalance the others fetch nothing.
    let mut k = broker();
    let topic = k.reset().unwrap();
    k.publish(0, false).unwrap();
    let (mut c2, joined) = consumer(&topic, 1);
    assert_eq!(joined, "consumer 2 joins, owning no partition");
    assert!(c2.receive(false).unwrap().is_none());
    let (mut c1, _) = consumer(&topic, 0);
    let a = c1.receive(false).unwrap().expect("consumer 1 gets it");
    assert_eq!(a.handle, "0");
    assert!(k.expire_lease(std::time::Instant::now()).is_err());
}
