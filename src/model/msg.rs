//! The messages, timers and choices the actors exchange. Every field is a
//! small integer so states hash cheaply and stay finite.

use serde::Serialize;

/// A consumer's unit of work: one delivery of one broker message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct JobRef {
    /// The broker's position of the message (its offset).
    pub msg: u8,
    /// Which delivery of that message this is, from 1 (the receipt handle).
    pub delivery: u8,
    /// The consumer-group generation it was fetched under (Kafka, from 1;
    /// 0 on brokers without a log). A commit carries it, so a fenced
    /// broker can reject a zombie's (KIP-447).
    pub generation: u8,
}

/// A row of the effect store's ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Key {
    /// The id the producer attached to the publish.
    Id(u8),
    /// The broker's offset of the message.
    Offset(u8),
    /// One delivery of one message.
    Delivery(JobRef),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Msg {
    /// Producer → broker. `op` is the payload ("charge order 1"); `id` is
    /// the message id the producer attached to this attempt.
    /// `session` is the producer's incarnation (its producer id and
    /// connection): per-session publish dedup and confirms are scoped by it.
    Publish {
        op: u8,
        id: u8,
        attempt: u8,
        session: u8,
    },
    /// Broker → producer: the publisher confirm, for the session that
    /// published.
    PublishAck {
        op: u8,
        id: u8,
        session: u8,
    },
    /// Broker → consumer, under a lease. `session` is the consumer
    /// incarnation the broker believes it is talking to.
    Deliver {
        job: JobRef,
        op: u8,
        id: u8,
        session: u8,
    },
    /// Consumer → store: apply the operation's effect (and, with a ledger,
    /// check and write the key in the same transaction).
    Apply {
        job: JobRef,
        op: u8,
        key: Option<Key>,
        /// The store looks the key up (false: it only writes it).
        check: bool,
        /// The consumer waits for `Applied`; otherwise it has moved on.
        reply: bool,
        /// Sent again because the previous request's reply never came
        /// (`consumer.retry-effect-on-timeout`).
        retry: bool,
    },
    /// Store → consumer. `fresh` is false when the ledger found the key;
    /// `retry` echoes the request's.
    Applied {
        job: JobRef,
        fresh: bool,
        retry: bool,
    },
    /// Payment API → consumer (409): a call with this key is still
    /// running, so this one stored nothing and may be retried. `retry`
    /// echoes the request's.
    Conflict {
        job: JobRef,
        retry: bool,
    },
    /// Consumer → store: write the ledger row in its own transaction, after
    /// the effect.
    Record {
        job: JobRef,
        key: Key,
    },
    Recorded {
        job: JobRef,
    },
    /// Consumer → store: write the ledger row in its own transaction,
    /// before the effect.
    Claim {
        job: JobRef,
        key: Key,
    },
    /// Store → consumer. `fresh` is false when the row was already there
    /// (a unique insert fails; a blind one changes nothing).
    Claimed {
        job: JobRef,
        fresh: bool,
    },
    /// Consumer → store (check-then-act): read the ledger in a transaction
    /// of its own.
    Lookup {
        job: JobRef,
        key: Key,
    },
    /// Store → consumer: whether the lookup found the key.
    LookedUp {
        job: JobRef,
        found: bool,
    },
    /// Consumer → broker: ack / delete / offset commit for one delivery.
    Complete {
        job: JobRef,
        reply: bool,
        /// The consumer is done with this job and asks for the next one.
        poll: bool,
    },
    /// Broker → consumer. `accepted` is false for a delivery whose lease
    /// the consumer no longer holds (a stale receipt handle).
    Completed {
        job: JobRef,
        accepted: bool,
    },
    /// Consumer → store: what a poison handler does before it fails,
    /// outside any transaction or ledger.
    Partial {
        op: u8,
    },
    /// Consumer → broker: its handler failed; the delivery goes back to
    /// the queue (a nack with requeue, ChangeMessageVisibility to 0).
    Release {
        job: JobRef,
    },
    /// Consumer → broker: ready for one more delivery (a pull, or a
    /// prefetch credit).
    Poll,
    /// Consumer → broker on restart: the old session is gone.
    Join {
        incarnation: u8,
    },
    /// Consumer → broker (Kafka): set the position back to the committed
    /// offset, and poll from there.
    Seek,
}

impl Msg {
    /// Leg 1 messages are the only ones the network may lose; each carries
    /// one operation.
    pub fn leg1_op(&self) -> Option<u8> {
        match self {
            Msg::Publish { op, .. } | Msg::PublishAck { op, .. } => Some(*op),
            _ => None,
        }
    }

    /// The effect store's reply to an effect request: lost only as the
    /// `reply-losses` fault.
    pub fn is_effect_reply(&self) -> bool {
        matches!(self, Msg::Applied { .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Timer {
    /// Producer: the acknowledgement of `op` did not come in time.
    Retry(u8),
    /// Producer (dual write): publish the event of `op`, whose business
    /// row has committed.
    Send(u8),
    /// Broker: the lease on message `msg` expires.
    Lease(u8),
    /// Broker (Kafka): the group coordinator moves the partition to this
    /// consumer, while its owner may still work (a fault).
    Rebalance(u8),
    /// Consumer (Kafka, asynchronous processing): a pool worker picks up
    /// the record at this offset. Pool workers run in any order, and a
    /// crash kills the pool with what it had not started.
    Work(u8),
    /// Broker (Kafka transactions): the coordinator aborts the owner's open
    /// transaction (`transaction.timeout.ms`), bumping the producer epoch
    /// (a fault).
    TxnAbort,
    /// Consumer (librdkafka background auto-commit): commit the stored
    /// offset, whatever processing has finished.
    AutoCommit,
    /// Broker (SQS standard): deleted message `msg` comes back (a fault).
    Phantom(u8),
    /// Broker (SQS FIFO): the dedup window of this id closes (a fault).
    DedupWindow(u8),
    /// Broker: an operator redrives dead-lettered message `msg`.
    Redrive(u8),
    /// Broker (replicated): follower `f` fetches the next record.
    Replicate(u8),
    /// Broker (replicated): in-sync follower `f`, behind, leaves the
    /// in-sync set (a fault).
    IsrShrink(u8),
    /// Broker (replicated): the leader dies and follower `f` takes over
    /// (a fault).
    Failover(u8),
    /// Consumer: the effect store's reply for this job did not come in
    /// time (`consumer.retry-effect-on-timeout`).
    EffectTimeout(JobRef),
    /// Store: the ledger's retention drops this key (a fault).
    Expire(Key),
    /// Payment API: the call this job started finishes: the effect and the
    /// key's stored result commit, and the reply goes out.
    Finish(JobRef),
    /// Broker: an operator replays done message `msg` (a queue), or resets
    /// the group's committed offset to the beginning (a log, `msg` 0).
    Replay(u8),
}

/// The broker's nondeterministic choice of which ready message goes to
/// which consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Dispatch {
    pub msg: u8,
    pub consumer: u8,
}
