//! What an actor keeps across its own crash: stateright's per-actor
//! storage, one small hashable type for every actor that can crash.
//!
//! A consumer keeps its incarnation number: the work it held is volatile,
//! and its new session tells the broker it is someone new. The producer
//! keeps its incarnation (a restart is a new producer session, so the
//! broker's per-session publish dedup no longer knows it, K2) and its
//! [`ProducerRecord`]: with an outbox that is the outbox table; without
//! one it is only what already happened outside the process (what its
//! caller was told, the attempts the budgets count), and the restarted
//! producer holds none of the operations it had not seen confirmed.

use super::MAX_OPERATIONS;
use serde::Serialize;

/// One variant per kind of actor that can crash, so a consumer's storage
/// hashes as its incarnation alone (every state carries one per consumer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Durable {
    Consumer {
        /// 1 for the first run, one more per restart.
        incarnation: u8,
    },
    Producer {
        incarnation: u8,
        record: ProducerRecord,
    },
}

/// Per operation, as bits or counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct ProducerRecord {
    /// Confirmed (with an outbox: the row is marked published).
    pub acked: u8,
    /// The policy gave up, and the caller was told if it reports.
    pub gave_up: u8,
    /// Unconfirmed when a restart came: forgotten by a direct producer,
    /// re-published by an outbox relay.
    pub orphaned: u8,
    /// Re-publishes from the retry timer (the budgets count them).
    pub retried: [u8; MAX_OPERATIONS],
    /// Re-publishes by a restarted outbox relay (paid for by the crash).
    pub republished: [u8; MAX_OPERATIONS],
}

impl Durable {
    pub fn incarnation(&self) -> u8 {
        match self {
            Durable::Consumer { incarnation } | Durable::Producer { incarnation, .. } => {
                *incarnation
            }
        }
    }

    /// The incarnation an actor starts as, given what its previous one saved.
    pub fn next_incarnation(saved: &Option<Durable>) -> u8 {
        saved.map_or(1, |d| d.incarnation() + 1)
    }

    /// What the producer's previous incarnation kept (nothing on a first
    /// start).
    pub fn producer_record(saved: &Option<Durable>) -> ProducerRecord {
        match saved {
            Some(Durable::Producer { record, .. }) => *record,
            _ => ProducerRecord::default(),
        }
    }

    /// Crashes this storage has seen (an actor that never saved has none).
    pub fn restarts(saved: &Option<Durable>) -> u8 {
        saved.map_or(0, |d| d.incarnation() - 1)
    }
}
