//! The RabbitMQ driver against the server `scripts/brokers up` starts
//! (address in ONCEPROOF_AMQP). Unreachable, these tests fail, naming it.

use onceproof_replay::broker::{Broker, Consumer};
use onceproof_replay::rabbitmq::{RabbitConsumer, RabbitMq};

fn uri() -> String {
    std::env::var("ONCEPROOF_AMQP")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:56720/%2f".into())
}

/// A fresh queue and `n` consumers of it, in this process (a crash is
/// dropping one: its runtime and socket go with it).
fn setup(n: u8, auto_ack: bool) -> (RabbitMq, Vec<RabbitConsumer>) {
    let uri = uri();
    let mut r = RabbitMq::connect(&uri, "test")
        .unwrap_or_else(|e| panic!("no RabbitMQ at ONCEPROOF_AMQP={uri}: {e}"));
    let queue = r.reset().unwrap();
    let c = (0..n)
        .map(|_| RabbitConsumer::attach(&uri, &queue, auto_ack).unwrap().0)
        .collect();
    (r, c)
}

/// A finding: RabbitMQ requeues a dead connection's unacked deliveries at
/// once, so another consumer gets the message while the crashed one is
/// still down; the model freed them when the crashed consumer rejoined
/// (docs/REPLAY.md).
#[test]
fn a_crashed_consumers_delivery_is_requeued_before_it_rejoins() {
    let (mut r, mut c) = setup(2, false);
    r.publish(0, false).unwrap();
    let first = c[0].receive(false).unwrap().expect("consumer 1 gets it");
    assert_eq!(first.delivery, Some(1));
    let c2 = c.pop().unwrap();
    drop(c.pop());
    let mut c2 = c2;
    let mut again = None;
    for _ in 0..100 {
        again = c2.receive(false).unwrap();
        if again.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let again = again.expect("consumer 2 gets it while consumer 1 is down");
    assert_eq!((again.op, again.delivery), (0, Some(2)), "{}", again.seen);
    assert!(again.seen.contains("redelivered = true"));
}

#[test]
fn auto_ack_forgets_the_message_when_it_is_sent() {
    let (mut r, mut c) = setup(2, true);
    r.publish(0, false).unwrap();
    assert!(c[0].receive(false).unwrap().is_some());
    drop(c.remove(0));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let left = c[0].receive(false).unwrap();
    assert!(left.is_none(), "{left:?}");
}
