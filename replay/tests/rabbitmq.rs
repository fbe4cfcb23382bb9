//! The RabbitMQ driver against the server `scripts/brokers up` starts
//! (address in ONCEPROOF_AMQP). Unreachable, these tests fail, naming it.

use onceproof_replay::broker::Broker;
use onceproof_replay::rabbitmq::RabbitMq;

fn broker(auto_ack: bool) -> RabbitMq {
    let uri = std::env::var("ONCEPROOF_AMQP")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:56720/%2f".into());
    RabbitMq::connect(&uri, "test", auto_ack)
        .unwrap_or_else(|e| panic!("no RabbitMQ at ONCEPROOF_AMQP={uri}: {e}"))
}

/// A finding: RabbitMQ requeues a dead connection's unacked deliveries at
/// once, so another consumer gets the message while the crashed one is
/// still down; the model frees them when the crashed consumer rejoins.
#[test]
fn a_crashed_consumers_delivery_is_requeued_before_it_rejoins() {
    let mut r = broker(false);
    r.reset(2).unwrap();
    r.publish(0, false).unwrap();
    let first = r.receive(0, false).unwrap().expect("consumer 1 gets it");
    assert_eq!(first.delivery, Some(1));
    r.crash(0).unwrap();
    let mut again = None;
    for _ in 0..50 {
        again = r.receive(1, false).unwrap();
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
    let mut r = broker(true);
    r.reset(1).unwrap();
    r.publish(0, false).unwrap();
    assert!(r.receive(0, false).unwrap().is_some());
    r.crash(0).unwrap();
    r.restart(0).unwrap();
    assert!(r.receive(0, false).unwrap().is_none());
}
