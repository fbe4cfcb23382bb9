//! The SQS driver against the emulator that `scripts/brokers up` starts
//! (address in ONCEPROOF_SQS). These need the server: with none running
//! they fail, naming the variable, rather than pass having checked nothing.

use std::time::{Duration, Instant};

use onceproof_replay::broker::{Broker, Consumer};
use onceproof_replay::sqs::{SHORT_VISIBILITY_S, Sqs, SqsConsumer};

fn sqs(consumers: u8) -> (Sqs, Vec<SqsConsumer>) {
    let endpoint =
        std::env::var("ONCEPROOF_SQS").unwrap_or_else(|_| "http://127.0.0.1:56724".to_string());
    let mut sqs = match Sqs::connect(&endpoint) {
        Ok(s) => s,
        Err(e) => panic!(
            "no SQS server at ONCEPROOF_SQS={endpoint} (start one with scripts/brokers up): {e}"
        ),
    };
    let queue = sqs.reset().expect("reset");
    let c = (0..consumers)
        .map(|_| SqsConsumer::attach(&endpoint, &queue).expect("attach").0)
        .collect();
    (sqs, c)
}

#[test]
fn expired_lease_redelivers_to_another_consumer() {
    let start = Instant::now();
    let (mut sqs, mut c) = sqs(2);
    sqs.publish(0, false).unwrap();
    let first = c[0].receive(true).unwrap().expect("first delivery");
    assert_eq!((first.op, first.delivery), (0, Some(1)), "{}", first.seen);
    // Before expiry the message is leased: the other consumer gets nothing.
    assert!(c[1].receive(false).unwrap().is_none());
    sqs.expire_lease(Instant::now()).unwrap();
    let second = c[1].receive(false).unwrap().expect("redelivery");
    assert_eq!(
        (second.op, second.delivery),
        (0, Some(2)),
        "{}",
        second.seen
    );
    assert_ne!(first.handle, second.handle);
    eprintln!(
        "{}\n{}\ntook {:?}",
        first.seen,
        second.seen,
        start.elapsed()
    );
}

#[test]
fn completed_message_is_not_delivered_again() {
    let start = Instant::now();
    let (mut sqs, mut c) = sqs(1);
    sqs.publish(0, false).unwrap();
    let d = c[0].receive(false).unwrap().expect("delivery");
    let done = c[0].complete(&d).unwrap();
    assert!(done.accepted, "{}", done.seen);
    let empty = Instant::now();
    assert!(c[0].receive(false).unwrap().is_none());
    eprintln!(
        "{}; empty receive (WaitTimeSeconds 1) took {:?}; test took {:?}",
        done.seen,
        empty.elapsed(),
        start.elapsed()
    );
}

#[test]
fn lost_confirm_and_resend_store_two_messages() {
    let start = Instant::now();
    let (mut sqs, mut c) = sqs(1);
    eprintln!("{}", sqs.publish(0, true).unwrap());
    eprintln!("{}", sqs.publish(0, false).unwrap());
    let a = c[0].receive(false).unwrap().expect("one");
    let b = c[0].receive(false).unwrap().expect("two");
    assert_eq!((a.op, b.op), (0, 0));
    assert_eq!((a.delivery, b.delivery), (Some(1), Some(1)));
    assert!(c[0].receive(false).unwrap().is_none());
    eprintln!("took {:?}", start.elapsed());
}

/// How exactly moto ends a 1 s visibility timeout: poll until the message
/// comes back. Measured, not assumed, because `expire_lease` waits on it.
#[test]
fn short_visibility_timeout_ends_near_one_second() {
    let (mut sqs, mut c) = sqs(2);
    sqs.publish(0, false).unwrap();
    let leased = Instant::now();
    c[0].receive(true).unwrap().expect("delivery");
    let back = loop {
        if let Some(d) = c[1].receive(false).unwrap() {
            break d;
        }
        assert!(leased.elapsed() < Duration::from_secs(5), "never came back");
    };
    let after = leased.elapsed();
    eprintln!("visible again after {after:?}: {}", back.seen);
    let lease = Duration::from_secs(SHORT_VISIBILITY_S.into());
    assert!(after >= lease - Duration::from_millis(50), "{after:?}");
    assert!(after < lease + Duration::from_millis(500), "{after:?}");
}

/// What moto does with a stale receipt handle (the one from before a
/// visibility expiry and a second receive). Amazon documents that for a
/// standard queue such a delete may succeed without deleting the message.
#[test]
fn stale_receipt_handle_delete() {
    let (mut sqs, mut c) = sqs(2);
    sqs.publish(0, false).unwrap();
    let first = c[0].receive(true).unwrap().expect("first");
    sqs.expire_lease(Instant::now()).unwrap();
    let second = c[1].receive(true).unwrap().expect("second");
    let stale = c[0].complete(&first).unwrap();
    sqs.expire_lease(Instant::now()).unwrap();
    let third = c[0].receive(false).unwrap();
    let current = c[1].complete(&second).unwrap();
    eprintln!(
        "stale delete: {} ({}); afterwards a receive got {:?}; \
         delete with the current handle: {} ({})",
        stale.accepted,
        stale.seen,
        third.as_ref().map(|d| &d.seen),
        current.accepted,
        current.seen
    );
    // moto: the stale handle deletes the message, and the current handle's
    // delete afterwards is accepted too.
    assert!(stale.accepted);
    assert!(third.is_none());
    assert!(current.accepted);
}
