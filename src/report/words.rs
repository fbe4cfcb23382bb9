//! The names every report gives the model's things. Humans count from 1:
//! `op 1` is operation 0, `message 1` is the broker's offset 0,
//! `consumer 1` is consumer index 0, `id 1` is the id 0 the producer
//! attached (opaque values, but shown beside `op 1` an `id 0` read as a
//! second numbering). Kafka offsets keep Kafka's own numbering from 0
//! (`offset 0` is message 1), as Kafka's tools print them.

use super::events::{CommitOutcome, CompletionOutcome};
use crate::model::broker::Status;
use crate::model::msg::{JobRef, Key};
use crate::model::{self, BROKER, PRODUCER, STORE};
use stateright::actor::Id;

pub fn op(op: u8) -> String {
    format!("op {}", op + 1)
}

pub fn message(msg: u8) -> String {
    format!("message {}", msg + 1)
}

/// A record as its broker names it: an offset on a log, else a message.
pub fn record(log: bool, msg: u8) -> String {
    if log { offset(msg) } else { message(msg) }
}

/// A Kafka offset, as Kafka numbers them (from 0): "offset 0" is
/// message 1.
pub fn offset(msg: u8) -> String {
    format!("offset {msg}")
}

/// "offset 0 and offset 2".
pub fn offsets(msgs: &[u8]) -> String {
    let list: Vec<String> = msgs.iter().map(|&m| offset(m)).collect();
    list.join(" and ")
}

pub fn consumer(index: u8) -> String {
    format!("consumer {}", index + 1)
}

/// A broker follower, from 1 (the leader is not numbered).
pub fn follower(index: u8) -> String {
    format!("follower {}", index + 1)
}

/// Several operations: "op 1 and op 2".
pub fn ops(ops: &[u8]) -> String {
    let names: Vec<String> = ops.iter().map(|&o| op(o)).collect();
    names.join(" and ")
}

pub fn job(j: JobRef) -> String {
    format!("{}, delivery {}", message(j.msg), j.delivery)
}

pub fn key(k: Key) -> String {
    match k {
        Key::Id(id) => format!("id {}", id + 1),
        Key::Offset(m) => format!("offset of {}", message(m)),
        Key::Delivery(j) => format!("delivery {} of {}", j.delivery, message(j.msg)),
    }
}

/// The human name of an actor.
/// The effect store's name: our database's, or the payment API's.
pub fn store(cfg: &crate::pipeline::Config) -> &'static str {
    if cfg.pipeline.api() {
        "payment API"
    } else {
        "effect store"
    }
}

/// Where the ledger's rows live: beside the effect, or, next to an API
/// whose key table is not ours, in our database.
pub fn ledger_home(cfg: &crate::pipeline::Config) -> &'static str {
    let p = &cfg.pipeline;
    if p.api() && p.ledger_write != crate::pipeline::LedgerWrite::WithEffect {
        "our database"
    } else {
        store(cfg)
    }
}

pub fn actor(id: Id) -> String {
    match usize::from(id) {
        PRODUCER => "producer".into(),
        BROKER => "broker".into(),
        STORE => "effect store".into(),
        _ => consumer(model::consumer_index(id)),
    }
}

/// A broker kind's words for the steps every kind shares.
pub struct Vocabulary {
    /// "broker leases message 1 (op 1) to consumer 1 (delivery 1)".
    pub lease: fn(msg: &str, op: &str, consumer: &str, delivery: u8, auto_ack: bool) -> String,
    /// "records completion of" / "deletes" / "sends basic.ack for".
    pub complete: &'static str,
    /// What a lease is called: "lease", "visibility timeout".
    pub lease_noun: &'static str,
    /// The release of a restarted consumer's work.
    pub released: &'static str,
    /// The diagram's arrows: a delivery and a completion signal.
    pub deliver_label: &'static str,
    pub complete_label: &'static str,
    /// The diagram's broker notes: a message handed out ("lease message 1
    /// to"), and released by a restart ("lease on message 1 released").
    pub lease_note: &'static str,
    pub release_note: &'static str,
}

pub fn vocabulary(kind: crate::pipeline::BrokerKind) -> Vocabulary {
    use crate::pipeline::BrokerKind::*;
    match kind {
        SqsStandard | SqsFifo => Vocabulary {
            lease: |m, o, c, d, _| {
                format!(
                    "{c}'s ReceiveMessage returns {m} ({o}), receipt handle {d}; its visibility timeout starts"
                )
            },
            complete: "calls DeleteMessage for",
            lease_noun: "the visibility timeout of",
            released: "its in-flight message becomes visible again (its visibility timeout runs out with nobody working on it):",
            deliver_label: "ReceiveMessage",
            complete_label: "DeleteMessage",
            lease_note: "invisible while received by",
            release_note: "visible again:",
        },
        RabbitMq => Vocabulary {
            lease: |m, o, c, d, auto| {
                if auto {
                    format!(
                        "broker delivers {m} ({o}) to {c} (delivery {d}) with autoAck: it forgets the message once it is written to the socket"
                    )
                } else {
                    format!(
                        "broker delivers {m} ({o}) to {c} (delivery {d}{}); it stays unacked until basic.ack",
                        if d > 1 { ", redelivered = true" } else { "" }
                    )
                }
            },
            complete: "sends basic.ack for",
            lease_noun: "the consumer timeout of",
            released: "its old channel is closed, and RabbitMQ requeued every unacked delivery of it with redelivered = true (R2):",
            deliver_label: "basic.deliver",
            complete_label: "basic.ack",
            lease_note: "unacked, delivered to",
            release_note: "requeued (channel closed):",
        },
        Generic | Kafka => Vocabulary {
            lease: |m, o, c, d, _| format!("broker leases {m} ({o}) to {c} (delivery {d})"),
            complete: "records completion of",
            lease_noun: "lease on",
            released: "the broker releases its lease on",
            deliver_label: "deliver",
            complete_label: "complete",
            lease_note: "leased to",
            release_note: "lease released:",
        },
    }
}

pub fn applied_times(n: u8) -> String {
    if n >= crate::model::store::APPLIED_CAP {
        format!("applied {n}+×")
    } else {
        format!("applied {n}×")
    }
}

/// A completion's outcome in the broker's words, once for every report:
/// the narrative's sentence and the diagram's label. The generic broker
/// rejects a stale completion; SQS standard honours a delete with an old
/// receipt handle, or answers success and deletes nothing (S3). A broker
/// kind's own words join this table.
pub fn completion(m: u8, outcome: CompletionOutcome) -> (String, &'static str) {
    match outcome {
        CompletionOutcome::Accepted => ("broker accepts: completion recorded".into(), "accepted"),
        CompletionOutcome::OldLeader => (
            format!(
                "broker refuses it: {} was delivered by a leader that has since failed, and the delivery died with it",
                message(m)
            ),
            "rejected, old leader's delivery",
        ),
        CompletionOutcome::StaleHonoured => (
            "broker accepts the stale receipt handle: completion recorded, the message is gone"
                .into(),
            "accepted, stale handle",
        ),
        CompletionOutcome::Refused { status, answered } => {
            let why = match status {
                Status::Leased {
                    consumer: c,
                    delivery,
                } => format!(
                    "{} is now leased to {}, delivery {delivery}",
                    message(m),
                    consumer(c)
                ),
                Status::Ready => format!("{} is waiting for redelivery", message(m)),
                Status::Done => format!("{} is already done", message(m)),
                Status::DeadLettered => format!("{} is in the dead-letter queue", message(m)),
            };
            if answered {
                (
                    format!("broker answers success but deletes nothing ({why})"),
                    "success, but nothing deleted",
                )
            } else {
                (
                    format!("broker rejects it (stale lease: {why})"),
                    "rejected, stale lease",
                )
            }
        }
    }
}

/// What an accepted ack with `multiple = true` took along: the earlier
/// deliveries of its channel, each marked if no effect of it had been
/// committed yet. Empty when it acked only itself.
pub fn also_acks(also: &[u8], covers: &[u8]) -> String {
    if also.is_empty() {
        return String::new();
    }
    let list: Vec<String> = also
        .iter()
        .map(|&m| {
            if covers.contains(&m) {
                format!("{}, not yet applied", message(m))
            } else {
                message(m)
            }
        })
        .collect();
    format!(
        "; with multiple = true it also acks the earlier delivery tags ({})",
        list.join("; ")
    )
}

/// A Kafka commit's outcome: the narrative's sentence and the diagram's
/// label. `covers`: earlier records still unfinished that the commit
/// covers. `transaction`: the commit ends a read-process-write
/// transaction, output record and offset together. `what`: the
/// operation, named in a transaction's sentence.
pub fn commit(
    offset_: u8,
    outcome: CommitOutcome,
    covers: &[u8],
    transaction: Option<u8>,
    what: &str,
) -> (String, String) {
    let output = |n: u8| format!(" — in the output topic: {}", applied_times(n));
    let covered = if covers.is_empty() {
        String::new()
    } else {
        format!(
            " (covers {}, not yet applied: the position advanced past an unfinished record)",
            offsets(covers)
        )
    };
    match (outcome, transaction) {
        (CommitOutcome::Accepted, None) => (
            format!("commits offset {offset_}{covered}"),
            format!(
                "commit offset {offset_}{}",
                if covers.is_empty() {
                    ""
                } else {
                    ", covers an unfinished record"
                }
            ),
        ),
        (CommitOutcome::Accepted, Some(n)) => (
            format!(
                "commits its transaction for {what}: the output record and offset {offset_} become visible together{}{covered}",
                output(n)
            ),
            format!("commitTransaction: output + offset {offset_}"),
        ),
        (CommitOutcome::ZombieTaken, None) => (
            format!(
                "commits offset {offset_} from an older generation and the coordinator takes it (no fencing){covered}"
            ),
            format!("zombie commit offset {offset_} taken"),
        ),
        (CommitOutcome::ZombieTaken, Some(n)) => (
            format!(
                "commits its transaction for {what} from an older generation and the coordinator takes it (no fencing): its output record and offset {offset_} become visible{}{covered}",
                output(n)
            ),
            "zombie transaction committed".to_string(),
        ),
        (CommitOutcome::Fenced { generation }, None) => (
            format!(
                "commits offset {offset_}: commit rejected: ILLEGAL_GENERATION (generation {generation} owns the partition now)"
            ),
            "commit rejected: ILLEGAL_GENERATION".to_string(),
        ),
        (CommitOutcome::Aborted, _) => (
            format!(
                "ends its transaction for {what} at offset {offset_}: already aborted (the coordinator bumped the producer epoch: a transaction timeout, or the owner's restart); its output is discarded and the offset stays"
            ),
            "transaction aborted".to_string(),
        ),
        (CommitOutcome::Fenced { generation }, Some(_)) => (
            format!(
                "ends its transaction for {what} at offset {offset_}: aborted, producer fenced (generation {generation} owns the partition now); a read_committed reader never sees its output, the offset stays, and the consumer drops the rest of its batch"
            ),
            "transaction aborted: fenced".to_string(),
        ),
    }
}
