//! A pipeline is the set of choices a delivery mode is made of, plus the
//! fault budgets the checker explores. The four delivery modes are presets
//! of [`Pipeline`]: a variant differs from its mode in one value, never in
//! code.

use serde::{Deserialize, Serialize};

/// The four delivery modes of DOMAIN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Completion is recorded before the effect (commit the offset, then
    /// process; autoAck; delete before work) and the producer never
    /// retries. Nothing repeats; a crash between completion and effect loses
    /// the work (K-design "commit order").
    AtMostOnce,
    /// The effect comes before completion and the producer retries. Nothing
    /// is lost; a crash or lease expiry between effect and completion, or a
    /// retried publish, replays the effect (S1, S2, K4).
    AtLeastOnce,
    /// The effect and a completion record keyed by the broker offset commit
    /// in one conditional transaction at the store, so replay finds the work
    /// done; the broker deduplicates the producer's retries (K2), because
    /// the boundary cannot see a duplicate publish (K3).
    AtomicBoundary,
    /// The effect is applied only if the operation's stable id is absent
    /// from a durable ledger written in the same transaction: replay stops
    /// hurting at the side-effect boundary (Stripe keys, inbox tables).
    Idempotency,
}

impl Mode {
    pub const ALL: [Mode; 4] = [
        Mode::AtMostOnce,
        Mode::AtLeastOnce,
        Mode::AtomicBoundary,
        Mode::Idempotency,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mode::AtMostOnce => "at-most-once",
            Mode::AtLeastOnce => "at-least-once",
            Mode::AtomicBoundary => "atomic-boundary",
            Mode::Idempotency => "idempotency",
        }
    }
}

/// When a replicated broker confirms a publish (Kafka `acks`, K1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Acks {
    /// On the leader's append, before any follower has the record
    /// (`acks=1`).
    Leader,
    /// Once every in-sync replica has it, and only while at least
    /// `min_in_sync` replicas are in sync (`acks=all`).
    All,
}

/// Leg 2: how the broker keeps what it accepted. One replica is today's
/// broker, which never loses an accepted message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Durability {
    /// The leader and its followers (1..=3).
    pub replicas: u8,
    pub acks: Acks,
    /// The fewest in-sync replicas, the leader included, under which an
    /// `acks=all` publish is confirmed (`min.insync.replicas`).
    pub min_in_sync: u8,
    /// A failover may elect a follower that is out of sync (Kafka
    /// `unclean.leader.election.enable`), instead of waiting for an
    /// in-sync one.
    pub unclean_election: bool,
}

impl Durability {
    pub const SINGLE: Durability = Durability {
        replicas: 1,
        acks: Acks::All,
        min_in_sync: 1,
        unclean_election: false,
    };

    pub fn replicated(&self) -> bool {
        self.replicas >= 2
    }
}

/// What the producer keeps of an operation it has handed to the pipeline,
/// and so what it publishes again after its own restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Publish {
    /// The operation lives only in the producer's memory (its client's
    /// buffer and retry state): a restart forgets every unconfirmed one.
    Direct,
    /// The business row commits first (the caller is told the order
    /// exists), and the producer publishes its event in a separate step: a
    /// crash in between loses the event, and a restart forgets every
    /// unconfirmed one, as `Direct` does.
    DualWrite,
    /// The operation is a durable outbox row, marked once the broker
    /// confirms it; a restarted relay re-publishes every unmarked row.
    Outbox,
}

/// Which id a producer attaches to each publish attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptIds {
    /// Every attempt carries the operation's stable business id.
    Stable,
    /// Every attempt mints a new id (BROKER-FACTS W1).
    FreshPerAttempt,
}

/// The order in which a consumer crosses the two boundaries it owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompletionOrder {
    /// Record completion (ack, delete, offset commit), then apply the effect.
    CompletionThenEffect,
    /// Apply the effect, then record completion.
    EffectThenCompletion,
}

/// What the effect store's dedup ledger is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LedgerKey {
    /// No ledger: every application request applies the effect.
    None,
    /// The id the producer attached to the publish (the operation id when
    /// attempts carry stable ids).
    OperationId,
    /// The broker's position of the message (offset / sequence): a completion
    /// record, as in "store the offset with the effect".
    BrokerOffset,
    /// The delivery (receipt handle): new on every redelivery.
    Delivery,
}

/// When the ledger row is written relative to the effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LedgerWrite {
    /// In the same transaction as the effect.
    WithEffect,
    /// In a separate step after the effect (BROKER-FACTS W3).
    AfterEffect,
    /// In a separate step before the effect (W3's mirror): a crash in
    /// between leaves a key for an effect that never happened.
    BeforeEffect,
}

/// How long the ledger keeps a key (`[store] retention`), against the
/// replay horizon: the latest moment a copy of the operation can still
/// arrive (a producer retry, a redelivery, a phantom, a DLQ redrive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Retention {
    /// Keys are never dropped.
    Forever,
    /// A key expires (`bounds.ledger-expiries`) only once no copy of its
    /// operation can arrive any more: every replay source's horizon is
    /// inside the retention, as the scenario states.
    LongerThanReplay,
    /// A key can expire at any moment after it was written (W4).
    ShorterThanReplay,
}

/// What the effect store is (`[store] kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// Our database: the ledger is a table beside the effect.
    Database,
    /// An external API (a payment provider): the effect is its call. A
    /// ledger written with the effect is the provider's idempotency-key
    /// table, checked in the call's own transaction (the key we send as
    /// `Idempotency-Key`); one written before or after it is our
    /// database's dedup row, in another system that no transaction spans.
    Api,
}

/// Where the ledger lookup happens (`[store] check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lookup {
    /// The key is checked by the write itself, a unique insert, in one
    /// transaction with it (a conditional commit).
    UniqueInsert,
    /// The key is read in its own transaction and the insert never fails
    /// (no unique constraint): two holders can both find no row (W2).
    CheckThenAct,
}

/// What the broker does with a completion signal from a delivery that no
/// longer holds the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaleCompletion {
    /// Refused: Kafka's fenced commit (K4, KIP-447), SQS FIFO's expired
    /// handle, RabbitMQ's ack on a dead channel (R3).
    Rejected,
    /// Honoured: SQS standard's delete with an older receipt handle can
    /// remove the message, even while another consumer holds it (S3).
    Accepted,
}

/// What a producer whose retry policy is exhausted does with the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GiveUp {
    /// It reports the failure to its caller (a failed send future, an error
    /// returned to the request): the operation leaves the no-loss obligation.
    Report,
    /// It drops the operation without telling anyone: still a promise.
    Silent,
}

/// How a Kafka consumer runs its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Processing {
    /// In the poll loop: the next record waits for the previous one.
    Sync,
    /// Handed to a worker pool: the poll loop goes on at once, so records
    /// finish out of order and a commit can cover one still running.
    Async,
}

/// Where the handler's business effect lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// A database or API outside the broker: the effect store.
    External,
    /// Records the handler produces to an output topic, inside the Kafka
    /// transaction that also commits its offsets (read-process-write, K3).
    KafkaTopic,
}

/// What a producer's re-publish is, to the broker's publish dedup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resend {
    /// The client library re-sends the same record: Kafka's idempotent
    /// producer recognises its sequence number (K2).
    ClientInternal,
    /// The application calls `send` again: a new record with a new
    /// sequence number, which idempotence "cannot de-duplicate".
    Application,
}

/// A Kafka client's automatic offset commits (BROKER-FACTS "Auto-commit").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoCommit {
    /// The application commits.
    Off,
    /// Java's client: the next `poll()` commits everything the previous
    /// poll returned, whether or not it was processed.
    InPoll,
    /// librdkafka: a record's offset is stored when the record is handed
    /// to the application, and a background timer commits the stored
    /// offset at any moment (`auto.commit.interval.ms`).
    Background,
}

/// What happens to a message past its receive limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeadLetter {
    /// Kept in a dead-letter queue (SQS DLQ; RabbitMQ quorum queues with
    /// `dead-letter-strategy = at-least-once`).
    Keep,
    /// Lost on the way (RabbitMQ quorum default `at-most-once`
    /// dead-lettering, R5, or no dead-letter exchange): the model takes
    /// the case where the message does not arrive.
    Drop,
}

/// What a transactional consumer does after its transaction aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AfterAbort {
    /// Seeks back to the committed offset, so the aborted records are
    /// fetched again (what Kafka's transactional examples do).
    SeekToCommitted,
    /// Polls on from its position: an abort does not rewind the consumer
    /// by itself (BROKER-FACTS `isolation.level`), so the aborted records
    /// are skipped.
    Continue,
}

/// Which broker's vocabulary a scenario speaks. A kind is a preset of broker
/// mechanisms (the `Pipeline` fields the broker actor reads) plus the
/// validation of its own sub-table, like [`Mode`]; the actor never reads
/// the kind. Kinds the next issues add (Kafka, SQS, RabbitMQ) are rows of
/// [`BROKER_KINDS`] and [`SUB_TABLES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BrokerKind {
    /// Today's broker: per-message leases, redelivery on expiry or session
    /// end, the mechanisms set by the mode and `[broker]` fields.
    Generic,
    /// One partition of an ordered log and one consumer group: a position
    /// and a committed offset, cumulative commits, rebalances with
    /// generation fencing (K4, KIP-447).
    Kafka,
    /// Amazon SQS standard: the visibility timeout is the lease, a delete
    /// with an old receipt handle answers success and can still delete
    /// (S3), and a deleted message can come back (S1).
    SqsStandard,
    /// Amazon SQS FIFO: a delete after the visibility timeout fails, a
    /// retried send with the same deduplication id is dropped within the
    /// 5-minute window (S4), one message group in flight at a time (S5).
    SqsFifo,
    /// RabbitMQ (AMQP 0-9-1): publisher confirms, manual or automatic acks,
    /// requeue on channel close with the `redelivered` flag (R1-R3).
    RabbitMq,
}

pub struct BrokerKindSpec {
    pub kind: BrokerKind,
    pub name: &'static str,
    /// The broker mechanisms this kind implies, over the mode's preset;
    /// the scenario's own `[broker]` fields apply after it.
    pub preset: fn(Pipeline) -> Pipeline,
}

/// Every broker kind this onceproof models.
pub const BROKER_KINDS: [BrokerKindSpec; 5] = [
    BrokerKindSpec {
        kind: BrokerKind::Generic,
        name: "generic",
        preset: |p| p,
    },
    BrokerKindSpec {
        kind: BrokerKind::Kafka,
        name: "kafka",
        preset: |p| Pipeline {
            log: true,
            vocabulary: BrokerKind::Kafka,
            ..p
        },
    },
    BrokerKindSpec {
        kind: BrokerKind::SqsStandard,
        name: "sqs-standard",
        preset: |p| Pipeline {
            stale_completion: StaleCompletion::Accepted,
            publish_dedup: false,
            phantom_redelivery: true,
            vocabulary: BrokerKind::SqsStandard,
            ..p
        },
    },
    BrokerKindSpec {
        kind: BrokerKind::SqsFifo,
        name: "sqs-fifo",
        preset: |p| Pipeline {
            stale_completion: StaleCompletion::Rejected,
            publish_dedup: true,
            dedup_per_session: false,
            dedup_window: true,
            one_group: true,
            vocabulary: BrokerKind::SqsFifo,
            ..p
        },
    },
    BrokerKindSpec {
        kind: BrokerKind::RabbitMq,
        name: "rabbitmq",
        preset: |p| Pipeline {
            stale_completion: StaleCompletion::Rejected,
            publish_dedup: false,
            vocabulary: BrokerKind::RabbitMq,
            ..p
        },
    },
];

/// The per-kind sub-tables of `[broker]` and the kind names each belongs
/// to: a sub-table is allowed only with one of its kinds.
pub const SUB_TABLES: [(&str, &[&str]); 3] = [
    ("kafka", &["kafka"]),
    ("sqs", &["sqs-standard", "sqs-fifo"]),
    ("rabbitmq", &["rabbitmq"]),
];

impl BrokerKind {
    pub fn spec(self) -> &'static BrokerKindSpec {
        &BROKER_KINDS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn by_name(name: &str) -> Option<BrokerKind> {
        BROKER_KINDS.iter().find(|k| k.name == name).map(|k| k.kind)
    }
}

/// The parts a delivery mode is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Pipeline {
    /// The producer waits for the broker's confirm and re-publishes when it
    /// does not come. Without it the producer fires and forgets.
    pub producer_retries: bool,
    /// The producer's policy: publish attempts per operation before it gives
    /// up; `None` retries until confirmed. Only with `producer_retries`.
    pub max_attempts: Option<u8>,
    /// What the producer does when `max_attempts` is spent.
    pub give_up: GiveUp,
    pub attempt_ids: AttemptIds,
    pub publish: Publish,
    /// The broker drops a publish whose id it already stored (BROKER-FACTS K2, S4).
    pub publish_dedup: bool,
    /// Publish dedup recognises an id only from the producer session that
    /// stored it (Kafka's idempotent producer, K2: sequence numbers per
    /// producer id, new after a restart); otherwise from anyone (SQS FIFO's
    /// deduplication id, S4).
    pub dedup_per_session: bool,
    pub stale_completion: StaleCompletion,
    pub order: CompletionOrder,
    pub ledger_key: LedgerKey,
    /// The store looks the key up and skips the effect when it is present,
    /// in the same transaction as the effect (a conditional commit).
    pub ledger_check: bool,
    pub ledger_write: LedgerWrite,
    #[serde(rename = "check")]
    pub lookup: Lookup,
    pub retention: Retention,
    #[serde(rename = "store-kind")]
    pub store: StoreKind,
    /// The broker is one partition of an ordered log with a committed
    /// offset (Kafka): completion is an offset commit that covers every
    /// earlier record, a restart or a new owner resumes from the committed
    /// offset, and there are no per-message leases.
    pub log: bool,
    /// Whether the client commits offsets by itself, whatever processing
    /// has finished. Only with `log`.
    pub auto_commit: AutoCommit,
    /// Only with `log` or `prefetch` ≥ 2 (a consumer that holds several
    /// records at once).
    pub processing: Processing,
    /// Records one poll returns (Kafka `max.poll.records`). Only with `log`.
    pub max_poll_records: u8,
    /// Completion is a Kafka transaction: the handler's output records and
    /// the offset commit become visible together or not at all, fenced by
    /// the group generation (K3, KIP-447). Only with `log`.
    pub transactions: bool,
    /// Where the effect that *no loss* demands lands. `KafkaTopic` only
    /// with `transactions`.
    pub effect: Effect,
    pub resend: Resend,
    /// Only with `transactions`.
    pub after_abort: AfterAbort,
    /// A deleted message can come back (SQS standard, S1): a budgeted
    /// fault, `bounds.phantom-redeliveries`.
    pub phantom_redelivery: bool,
    /// The consumer extends its lease while it works (SQS
    /// ChangeMessageVisibility): a lease then expires under a working
    /// holder only when a heartbeat is missed. The same fault and state
    /// graph; the words, and later the rate, differ.
    pub visibility_extension: bool,
    /// Publish dedup remembers an id only for a window (SQS FIFO's 5
    /// minutes), which the budgeted fault `bounds.dedup-window-expiries`
    /// closes.
    pub dedup_window: bool,
    /// Every operation is in one message group (SQS FIFO
    /// `MessageGroupId`): no message is offered while another is leased.
    pub one_group: bool,
    /// The receive (delivery) that exceeds this count moves the message to
    /// the dead-letter queue instead (SQS `maxReceiveCount`, RabbitMQ
    /// quorum `delivery-limit`).
    pub max_receives: Option<u8>,
    pub dead_letter: DeadLetter,
    /// An operator eventually moves dead-lettered messages back (SQS DLQ
    /// redrive, a shovel from RabbitMQ's dead-letter queue): a replay.
    pub redrive: bool,
    /// Completion is recorded by the broker at delivery (RabbitMQ autoAck):
    /// the consumer never acks.
    pub auto_ack: bool,
    /// The consumer looks the ledger up only for a delivery flagged
    /// `redelivered` (a RabbitMQ shortcut).
    pub dedup_only_if_redelivered: bool,
    /// When the effect store's reply does not come in time, the consumer
    /// sends the effect again (a client retry on timeout); otherwise it
    /// waits for the reply.
    pub retry_effect_on_timeout: bool,
    /// Bit `op`: the operation's handler fails every time (a poison
    /// message): the consumer releases its delivery instead of completing
    /// it (a nack with requeue, a visibility timeout set to 0).
    pub poison: u8,
    /// A poison handler applies part of its effect before it fails, outside
    /// any ledger: every redelivery repeats that part.
    pub poison_partial_effect: bool,
    /// Unacked deliveries the broker pushes to one consumer (RabbitMQ
    /// `basic.qos` prefetch count). 1: a consumer holds one message at a
    /// time and asks for the next (every kind's pull). From 2 the broker
    /// pushes while the channel holds fewer unacked deliveries, in
    /// delivery-tag order, and the consumer works through them in that
    /// order (or on a pool, with `processing`).
    pub prefetch: u8,
    /// An ack covers every earlier unacked delivery of its channel
    /// (`basic.ack` with `multiple = true`). Only with `prefetch` ≥ 2.
    pub ack_multiple: bool,
    /// Replicas and the confirm policy (Leg 2).
    pub durability: Durability,
    /// Whose words the reports speak ("DeleteMessage", "basic.ack"). Only
    /// reports read it; the actors read the mechanisms above.
    pub vocabulary: BrokerKind,
}

impl Pipeline {
    pub fn of(mode: Mode) -> Pipeline {
        let base = Pipeline {
            producer_retries: true,
            max_attempts: None,
            give_up: GiveUp::Report,
            attempt_ids: AttemptIds::Stable,
            publish: Publish::Direct,
            publish_dedup: false,
            dedup_per_session: true,
            stale_completion: StaleCompletion::Rejected,
            order: CompletionOrder::EffectThenCompletion,
            ledger_key: LedgerKey::None,
            ledger_check: true,
            ledger_write: LedgerWrite::WithEffect,
            lookup: Lookup::UniqueInsert,
            retention: Retention::Forever,
            store: StoreKind::Database,
            log: false,
            auto_commit: AutoCommit::Off,
            processing: Processing::Sync,
            max_poll_records: 1,
            transactions: false,
            effect: Effect::External,
            resend: Resend::ClientInternal,
            after_abort: AfterAbort::SeekToCommitted,
            phantom_redelivery: false,
            visibility_extension: false,
            dedup_window: false,
            one_group: false,
            max_receives: None,
            dead_letter: DeadLetter::Keep,
            redrive: false,
            auto_ack: false,
            dedup_only_if_redelivered: false,
            retry_effect_on_timeout: false,
            poison: 0,
            poison_partial_effect: false,
            prefetch: 1,
            ack_multiple: false,
            durability: Durability::SINGLE,
            vocabulary: BrokerKind::Generic,
        };
        match mode {
            Mode::AtMostOnce => Pipeline {
                producer_retries: false,
                order: CompletionOrder::CompletionThenEffect,
                ..base
            },
            Mode::AtLeastOnce => base,
            Mode::AtomicBoundary => Pipeline {
                publish_dedup: true,
                ledger_key: LedgerKey::BrokerOffset,
                ..base
            },
            Mode::Idempotency => Pipeline {
                ledger_key: LedgerKey::OperationId,
                ..base
            },
        }
    }

    /// The handler writes to the store (an effect outside any Kafka
    /// transaction).
    pub fn touches_store(&self) -> bool {
        self.effect == Effect::External
    }

    /// Some effect request waits for the store's reply: the consumer
    /// completes after the effect, or writes a ledger row after it.
    pub fn awaits_effect_reply(&self) -> bool {
        self.touches_store()
            && (self.order == CompletionOrder::EffectThenCompletion
                || (self.ledger_write == LedgerWrite::AfterEffect
                    && self.ledger_key != LedgerKey::None))
    }

    /// The consumer holds several records at once: a Kafka poll's batch,
    /// or a RabbitMQ channel's prefetch.
    pub fn batches(&self) -> bool {
        self.log || self.prefetch > 1
    }

    /// Handlers run on a pool, which finishes records out of order, and
    /// completion comes after the effect: the poll loop goes on as soon as
    /// a record is handed over (a Kafka consumer with asynchronous
    /// processing, a RabbitMQ consumer handing its prefetched deliveries to
    /// threads).
    pub fn asynchronous(&self) -> bool {
        self.batches()
            && self.processing == Processing::Async
            && self.order == CompletionOrder::EffectThenCompletion
    }

    /// Operation `op`'s handler always fails (`consumer.poison`).
    pub fn poisoned(&self, op: u8) -> bool {
        self.poison & (1 << op) != 0
    }

    /// The effect is an external API call.
    pub fn api(&self) -> bool {
        self.store == StoreKind::Api
    }

    pub fn has_ledger(&self) -> bool {
        self.ledger_key != LedgerKey::None
    }

    /// The API itself keeps the key (its Idempotency-Key table): a keyed
    /// call runs in two steps, started (the key taken) and finished (the
    /// effect and its stored result), and the API, not the consumer, does
    /// the lookup.
    pub fn api_keyed(&self) -> bool {
        self.api() && self.has_ledger() && self.ledger_write == LedgerWrite::WithEffect
    }

    /// The API takes the key when a call starts, so a concurrent call with
    /// the same key is answered 409 (Stripe); a check-then-act provider
    /// looks the key up when a call starts and stores it when it finishes.
    pub fn api_locks(&self) -> bool {
        self.api_keyed() && self.ledger_check && self.lookup == Lookup::UniqueInsert
    }

    /// The producer's policy allows a second attempt of an operation.
    pub fn may_republish(&self) -> bool {
        self.producer_retries && self.max_attempts.is_none_or(|n| n >= 2)
    }

    /// The producer can learn that an operation failed and tell its caller.
    pub fn reports_failures(&self) -> bool {
        self.producer_retries && self.max_attempts.is_some() && self.give_up == GiveUp::Report
    }
}

/// Sizes and fault budgets. Every budget bounds a *total* count over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Bounds {
    pub operations: u8,
    pub consumers: u8,
    /// Spurious producer re-publishes, in total: a retry made while the
    /// previous attempt or its confirm is still on its way (a slow confirm).
    /// A retry after a real loss is paid for by `losses`, so the budget never
    /// strands an operation whose publish was lost.
    pub retries: u8,
    /// Total consumer crashes.
    pub crashes: u8,
    /// Total Leg 1 messages lost (a publish or its acknowledgement).
    pub losses: u8,
    /// Total lease expiries.
    pub lease_expiries: u8,
    /// Total rebalances that move the partition away from a live owner.
    pub rebalances: u8,
    /// Total aborts of the owner's open transaction by the coordinator.
    pub transaction_aborts: u8,
    /// Total deleted messages that come back (SQS standard).
    pub phantom_redeliveries: u8,
    /// Total closings of a publish-dedup window before a retry (SQS FIFO).
    pub dedup_window_expiries: u8,
    /// Total leader failovers of a replicated broker (Leg 2).
    pub broker_failovers: u8,
    /// Total in-sync followers that fall behind and leave the in-sync set.
    pub isr_shrinks: u8,
    /// Total producer crashes (each followed by a restart).
    pub producer_crashes: u8,
    /// Total effect-store replies lost after the store's transaction
    /// committed (or arriving after the consumer's timeout).
    pub reply_losses: u8,
    /// Total ledger keys dropped by the store's retention.
    pub ledger_expiries: u8,
    /// Total operator replays of done messages (a topic's offsets reset, an
    /// archive re-sent).
    pub operator_replays: u8,
}

impl Default for Bounds {
    /// Two operations and two consumers, and each fault's registry default.
    fn default() -> Self {
        let mut b = Bounds {
            operations: 2,
            consumers: 2,
            retries: 0,
            crashes: 0,
            losses: 0,
            lease_expiries: 0,
            rebalances: 0,
            transaction_aborts: 0,
            phantom_redeliveries: 0,
            dedup_window_expiries: 0,
            broker_failovers: 0,
            isr_shrinks: 0,
            producer_crashes: 0,
            reply_losses: 0,
            ledger_expiries: 0,
            operator_replays: 0,
        };
        for k in &crate::model::faults::REGISTRY {
            (k.set_budget)(&mut b, k.default);
        }
        b
    }
}

/// A pipeline under bounds: what the model is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Config {
    pub pipeline: Pipeline,
    pub bounds: Bounds,
}

impl Config {
    pub fn new(mode: Mode) -> Config {
        Config::on(BrokerKind::Generic, mode)
    }

    /// A mode on a broker kind, with the default budgets of the faults that
    /// kind has (the others 0).
    pub fn on(kind: BrokerKind, mode: Mode) -> Config {
        let pipeline = (kind.spec().preset)(Pipeline::of(mode));
        let mut bounds = Bounds::default();
        for k in &crate::model::faults::REGISTRY {
            if !(k.vocabulary)(&pipeline) {
                (k.set_budget)(&mut bounds, 0);
            }
        }
        Config { pipeline, bounds }
    }

    /// Whether the checker lets the producer re-publish at all: its policy
    /// allows it and a loss or a spurious retry can make it happen.
    pub fn retries_possible(&self) -> bool {
        self.pipeline.may_republish()
            && (self.bounds.retries > 0 || self.bounds.losses > 0 || self.restart_republishes())
    }

    /// A restarted producer re-publishes what its outbox still holds.
    pub fn restart_republishes(&self) -> bool {
        self.pipeline.publish == Publish::Outbox && self.bounds.producer_crashes > 0
    }

    /// Leg 2 in words: what a verdict assumes of the broker's own
    /// durability. Pages print it so a proof on one replica is not cited
    /// as surviving a failover.
    pub fn describe_durability(&self, kind: BrokerKind) -> String {
        let d = self.pipeline.durability;
        if !d.replicated() {
            return match kind {
                BrokerKind::SqsStandard | BrokerKind::SqsFifo => {
                    "SQS is assumed durable: a message it accepted is never lost (Leg 2 is not modelled)".into()
                }
                _ => "one replica that never loses a message it accepted (Leg 2 is not modelled; `[broker] replicas` explores failovers)".into(),
            };
        }
        let confirm = match d.acks {
            Acks::Leader => "the leader confirms on its own append".to_string(),
            Acks::All => format!(
                "a confirm waits for every in-sync replica, refused below {} in sync",
                d.min_in_sync
            ),
        };
        let election = if d.unclean_election {
            "an out-of-sync follower may be elected"
        } else {
            "only an in-sync follower is elected"
        };
        let b = &self.bounds;
        format!(
            "{} replicas; {confirm}; {election}; ≤ {} failover(s), ≤ {} follower(s) leaving the in-sync set",
            d.replicas, b.broker_failovers, b.isr_shrinks
        )
    }

    /// The bounds in words, for every verdict: a proof is never cited
    /// without its limits. Budgets that are 0, or that the pipeline makes
    /// void, are named as not explored.
    pub fn describe_bounds(&self) -> String {
        let b = &self.bounds;
        let count =
            |n: u8, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut on = vec![
            count(b.operations, "operation", "operations"),
            count(b.consumers, "consumer", "consumers"),
        ];
        let mut off = Vec::new();
        for (k, n) in crate::model::faults::effective_budgets(self)
            .filter(|(k, _)| (k.vocabulary)(&self.pipeline))
        {
            let (one, many) = k.unit;
            if n > 0 {
                on.push(format!("≤ {}", count(n, one, many)));
            } else {
                off.push(many);
            }
        }
        let mut line = on.join(", ");
        if !self.pipeline.may_republish() {
            line.push_str(if self.pipeline.producer_retries {
                "; the producer never re-publishes (max-attempts = 1)"
            } else {
                "; the producer never re-publishes (fire-and-forget)"
            });
        }
        if !off.is_empty() {
            line.push_str(&format!("; not explored: {}", off.join(", ")));
        }
        line
    }

    /// The most publish attempts one operation can see in a run.
    pub fn attempts_cap(&self) -> u8 {
        let restarts = if self.restart_republishes() {
            self.bounds.producer_crashes
        } else {
            0
        };
        let reachable = 1 + self.bounds.retries + self.bounds.losses + restarts;
        match (self.pipeline.producer_retries, self.pipeline.max_attempts) {
            (false, _) => 1,
            (true, Some(n)) => n.min(reachable),
            (true, None) => reachable,
        }
    }
}
