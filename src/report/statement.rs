//! The guarantee statement a design review pastes (DOMAIN.md, "The
//! guarantee statement a review should accept"): one line for what the
//! producer and broker promise, one for the consumer, one for the store or
//! API, generated from the pipeline's parts. A proof is a proof of these
//! three lines together; a counterexample's diagnosis names the line that
//! does not hold.

use crate::pipeline::{
    Acks, AttemptIds, AutoCommit, BrokerKind, CompletionOrder, Config, Effect, GiveUp, LedgerKey,
    LedgerWrite, Lookup, Processing, Publish, Retention, StaleCompletion,
};
use crate::report::words;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Leg 1 and the broker: how an operation gets to the broker, how the
    /// broker keeps it and hands it out.
    pub broker: String,
    /// The consumer's order of effect and completion, and what it sends.
    pub consumer: String,
    /// What the effect store or API refuses or accepts.
    pub store: String,
}

impl Statement {
    pub fn lines(&self) -> [&str; 3] {
        [&self.broker, &self.consumer, &self.store]
    }
}

pub fn statement(cfg: &Config, kind: BrokerKind) -> Statement {
    Statement {
        broker: format!("{} {}", producer(cfg), broker(cfg, kind)),
        consumer: consumer(cfg, kind),
        store: store(cfg),
    }
}

fn producer(cfg: &Config) -> String {
    let p = &cfg.pipeline;
    let ids = match p.attempt_ids {
        AttemptIds::Stable => "under the same id",
        AttemptIds::FreshPerAttempt => "under a new id each time",
    };
    let gives_up = match (p.max_attempts, p.give_up) {
        (None, _) => String::new(),
        (Some(n), GiveUp::Report) => {
            format!(", making at most {n} attempts, then tells its caller the operation failed")
        }
        (Some(n), GiveUp::Silent) => {
            format!(", making at most {n} attempts, then drops it silently")
        }
    };
    let sends = match p.publish {
        Publish::Direct => "The producer publishes each operation from memory",
        Publish::DualWrite => {
            "The producer commits the business row, then publishes its event in a separate step"
        }
        Publish::Outbox => {
            "The producer publishes each operation from an outbox row committed with the business change (a restart publishes every unmarked row again)"
        }
    };
    if !p.producer_retries {
        format!("{sends} once, without waiting for a confirm (fire-and-forget).")
    } else if !p.may_republish() {
        let failed = match p.give_up {
            GiveUp::Report => "tells its caller the operation failed",
            GiveUp::Silent => "drops it silently",
        };
        format!("{sends} and waits for the confirm, never re-publishing: without one it {failed}.")
    } else {
        format!("{sends} and re-publishes it {ids} until confirmed{gives_up}.")
    }
}

fn broker(cfg: &Config, kind: BrokerKind) -> String {
    let p = &cfg.pipeline;
    let who = if p.log {
        "The broker (a Kafka partition)"
    } else {
        "The broker"
    };
    let dedup = if !p.publish_dedup {
        "stores every publish it accepts, a re-publish as a new message".to_string()
    } else if p.dedup_window {
        "stores a publish whose id it already has only once, within its deduplication window"
            .to_string()
    } else if p.dedup_per_session {
        "stores a publish whose id it already has only once, within one producer session"
            .to_string()
    } else {
        "stores a publish whose id it already has only once".to_string()
    };
    let keeps = keeps(cfg, kind);
    let hands_out = if p.auto_ack {
        "hands each message out once and forgets it (autoAck)".to_string()
    } else if p.log {
        let commits = match p.auto_commit {
            AutoCommit::Off => "the offsets the consumer commits",
            AutoCommit::InPoll => "offsets auto-committed at the next poll",
            AutoCommit::Background => "offsets auto-committed in the background",
        };
        let fencing = match p.stale_completion {
            StaleCompletion::Rejected => "fencing a zombie's commit",
            StaleCompletion::Accepted => "accepting a zombie's commit (no fencing)",
        };
        format!(
            "delivers records again from the group's committed offset ({commits}) after a crash or a rebalance, {fencing}"
        )
    } else {
        let stale = match p.stale_completion {
            StaleCompletion::Rejected => {
                "refusing a completion from a delivery that lost its lease"
            }
            StaleCompletion::Accepted => {
                "honouring a completion from a delivery that lost its lease"
            }
        };
        format!("redelivers every message not completed, {stale}")
    };
    let dlq = p.max_receives.map_or(String::new(), |n| {
        let receives = if n == 1 { "receive" } else { "receives" };
        format!("; after {n} {receives} a message goes to the dead-letter queue")
    });
    let mut again = Vec::new();
    if p.phantom_redelivery {
        again.push("a deleted message may come back (S1)");
    }
    if p.redrive {
        again.push("an operator moves dead-lettered messages back");
    }
    if cfg.bounds.operator_replays > 0 {
        again.push("an operator may replay messages already done");
    }
    let again: String = again.iter().map(|a| format!("; {a}")).collect();
    let txn = if p.transactions {
        "; a consumer's output records and its offset commit atomically (Kafka transactions)"
    } else {
        ""
    };
    format!("{who} {dedup}; {keeps}; {hands_out}{dlq}{again}{txn}.")
}

/// Leg 2 in a clause; the results page prints the whole of it.
fn keeps(cfg: &Config, kind: BrokerKind) -> String {
    let d = cfg.pipeline.durability;
    if !d.replicated() {
        return match kind {
            BrokerKind::SqsStandard | BrokerKind::SqsFifo => {
                "never loses a message it accepted (SQS is assumed durable)".into()
            }
            _ => "never loses a message it accepted (one replica)".into(),
        };
    }
    let confirm = match d.acks {
        Acks::Leader => "its leader has".to_string(),
        Acks::All => format!(
            "every in-sync replica has, refusing publishes below {} in sync",
            d.min_in_sync
        ),
    };
    let election = if d.unclean_election {
        "an out-of-sync follower may be elected"
    } else {
        "only an in-sync follower is elected"
    };
    format!(
        "confirms a publish once {confirm}, across {} replicas where {election}",
        d.replicas
    )
}

fn consumer(cfg: &Config, kind: BrokerKind) -> String {
    let p = &cfg.pipeline;
    let complete = if p.log {
        "commits the offset"
    } else {
        match words::vocabulary(kind).complete_label {
            "DeleteMessage" => "deletes the message",
            "basic.ack" => "acks the message",
            _ => "records completion",
        }
    };
    let order = if p.auto_ack {
        "The consumer is handed each message already completed (autoAck), then applies the effect"
            .to_string()
    } else if p.transactions && p.effect == Effect::KafkaTopic {
        "The consumer writes its output records and commits the offset in one Kafka transaction"
            .to_string()
    } else {
        match p.order {
            CompletionOrder::EffectThenCompletion => {
                format!("The consumer applies the effect, then {complete}")
            }
            CompletionOrder::CompletionThenEffect => {
                format!("The consumer first {complete}, then applies the effect")
            }
        }
    };
    let processing = match p.processing {
        Processing::Sync => "",
        Processing::Async => ", handling records asynchronously",
    };
    let key = match p.ledger_key {
        _ if p.transactions && p.effect == Effect::KafkaTopic => String::new(),
        LedgerKey::None => String::new(),
        LedgerKey::OperationId => match p.attempt_ids {
            AttemptIds::Stable => "; it keys the effect by the operation's id, the same on every attempt and delivery".to_string(),
            AttemptIds::FreshPerAttempt => {
                "; it keys the effect by the message's id, which the producer mints anew for each attempt".to_string()
            }
        },
        LedgerKey::BrokerOffset => {
            "; it keys the effect by the message's broker offset (a completion record)".to_string()
        }
        LedgerKey::Delivery => "; it keys the effect by the delivery (a receipt or delivery tag)".to_string(),
    };
    let retry = if p.retry_effect_on_timeout {
        "; it sends a timed-out effect request again"
    } else {
        ""
    };
    format!("{order}{processing}{key}{retry}.")
}

fn store(cfg: &Config) -> String {
    let p = &cfg.pipeline;
    let who = words::store(cfg);
    if p.transactions && p.effect == Effect::KafkaTopic {
        return "The effect is the output topic: a read_committed reader sees a transaction's records once it commits, never an aborted one.".to_string();
    }
    if !p.has_ledger() {
        return format!(
            "The {who} applies every effect it is asked to, with no check for a repeat."
        );
    }
    let retention = match p.retention {
        Retention::Forever => "keeps every key",
        Retention::LongerThanReplay => {
            "keeps a key longer than any copy of its operation can arrive"
        }
        Retention::ShorterThanReplay => {
            "may drop a key while a copy of its operation can still arrive"
        }
    };
    if p.api_keyed() {
        let key = if p.api_locks() {
            "takes the Idempotency-Key when a call starts, returns the stored result for a key it has, and answers a concurrent call with a key in use 409"
        } else {
            "looks the Idempotency-Key up when a call starts and stores it, with the result, only when the call finishes, so a concurrent call with the same key runs too"
        };
        return format!("The {who} {key}; it {retention}.");
    }
    // The ledger beside an API call is our database's dedup row.
    let home = if p.api() {
        "our database"
    } else {
        "the ledger"
    };
    match (p.ledger_write, p.ledger_check) {
        (LedgerWrite::WithEffect, true) => match p.lookup {
            Lookup::UniqueInsert => format!(
                "The {who} writes the key with the effect, refusing one it already has in the same transaction; it {retention}."
            ),
            Lookup::CheckThenAct => format!(
                "The {who} looks the key up in a transaction of its own, then writes it with the effect, with no unique constraint; it {retention}."
            ),
        },
        (LedgerWrite::WithEffect, false) => format!(
            "The {who} writes the key with the effect but never checks it before applying; it {retention}."
        ),
        (LedgerWrite::AfterEffect, _) => format!(
            "The {who} applies the effect; the key is written to {home} after it, in a separate step, and {home} {retention}."
        ),
        (LedgerWrite::BeforeEffect, _) => format!(
            "The key is written to {home} before the {who} applies the effect, in a separate step, and {home} {retention}."
        ),
    }
}
