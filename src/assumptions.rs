//! The assumption ids scenarios cite, from shared/BROKER-FACTS.md, with the
//! one-line fact each stands for. A scenario citing an unknown id is
//! rejected, so a results page never cites something nobody wrote down.

pub const KNOWN: &[(&str, &str)] = &[
    (
        "S1",
        "SQS standard: duplicates can appear without any fault.",
    ),
    (
        "S2",
        "SQS: the visibility lease is not exclusive; it expires while the holder still works.",
    ),
    (
        "S3",
        "SQS standard: a delete with a stale receipt handle may silently do nothing.",
    ),
    (
        "S4",
        "SQS FIFO: deduplication covers 5 minutes, producer side only.",
    ),
    (
        "S5",
        "SQS FIFO: the group lock lasts only while messages are in flight.",
    ),
    (
        "K1",
        "Kafka: acks=all, min.insync.replicas>=2 and no unclean election keep acknowledged writes while one ISR member lives.",
    ),
    (
        "K2",
        "Kafka: producer idempotence deduplicates retries within one producer session, per partition.",
    ),
    (
        "K3",
        "Kafka: transactions cover Kafka writes and offsets only; an external effect can repeat.",
    ),
    (
        "K4",
        "Kafka: a fenced or rebalanced member may already have done its side effect.",
    ),
    (
        "R1",
        "RabbitMQ: a confirm means every routed queue accepted the message; with no route it means nothing.",
    ),
    (
        "R2",
        "RabbitMQ: a channel close requeues every unacked delivery.",
    ),
    ("R3", "RabbitMQ: an ack cannot outlive its channel."),
    ("R4", "RabbitMQ: a consumer timeout requeues."),
    (
        "R5",
        "RabbitMQ: a delivery limit with at-most-once dead lettering can lose messages.",
    ),
    (
        "W1",
        "Weak dedup: a fresh id on every producer retry passes the dedup check twice.",
    ),
    (
        "W2",
        "Weak dedup: check-then-act without a unique constraint lets two concurrent copies act.",
    ),
    (
        "W3",
        "Weak dedup: a dedup insert after the effect repeats the effect after a crash in between.",
    ),
    (
        "W4",
        "Weak dedup: retention shorter than the replay horizon forgets keys before the replay.",
    ),
    (
        "O1",
        "Transactional outbox: the event row commits with the business row, and a relay publishes it at least once, until confirmed.",
    ),
    (
        "O2",
        "Dual write: a business commit and a publish to another system are two writes with no transaction across them; a crash between them loses the event.",
    ),
    (
        "A1",
        "Payment API keys (Stripe): the first request's result is stored with its Idempotency-Key once the call has started and returned to every retry with that key; a concurrent request with the key gets 409 and stores nothing; keys are pruned after at least 24 h.",
    ),
    (
        "D1",
        "Redis Streams: at-least-once, with overlap when a claim races a slow owner.",
    ),
];

pub fn describe(id: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(k, _)| *k == id).map(|(_, v)| *v)
}
