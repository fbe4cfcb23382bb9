//! The replay horizon: whether a copy of an operation can still reach the
//! effect store. A ledger whose retention is longer than the horizon
//! (`store.retention = "longer-than-replay"`) drops a key only past it, so
//! this is where the scenario's claim "retention covers every replay
//! source" becomes a rule the checker enforces ([`super::faults`]).
//!
//! Every replay source the model has counts: the producer's retry or an
//! outbox relay's re-publish (the operation unconfirmed, or a publish of it
//! on its way), a message of it not yet done at the broker (a redelivery, a
//! Kafka re-read from the committed offset, a dead-lettered message an
//! operator can redrive), a done message a phantom can bring back (SQS
//! standard, while the phantom budget lasts), an operator's replay of a
//! done message or reset of the group's offsets (while
//! `bounds.operator-replays` lasts), and a consumer still working
//! on it, a request of it on its way to the store or a call of it the
//! payment API is running.

use super::msg::{Key, Msg};
use super::{State, broker, consumers, in_flight, producer};
use crate::pipeline::Config;

/// The operation a ledger key stands for.
pub fn op_of_key(cfg: &Config, s: &State, key: Key) -> u8 {
    match key {
        Key::Id(id) => crate::model::producer::op_of_id(cfg, id),
        Key::Offset(msg) => broker(s).messages[msg as usize].op,
        Key::Delivery(job) => broker(s).messages[job.msg as usize].op,
    }
}

/// Whether a copy of `op` can still arrive at the effect store.
pub fn replay_possible(cfg: &Config, s: &State, op: u8) -> bool {
    let p = producer(s);
    let i = op as usize;
    let publishing = !(p.acked[i] || p.gave_up[i] || p.forgot(cfg, op));
    let b = broker(s);
    let at_broker = b.messages.iter().any(|e| {
        e.op == op
            && (e.status != super::broker::Status::Done
                || b.phantoms_left > 0
                || b.replays_left > 0)
    });
    let on_its_way = in_flight(s).any(|m| match *m {
        Msg::Publish { op: o, .. } | Msg::Deliver { op: o, .. } | Msg::Apply { op: o, .. } => {
            o == op
        }
        _ => false,
    });
    let held = consumers(s).any(|(_, down, c)| !down && c.jobs.iter().any(|j| j.op == op));
    let running = super::store(s).running.iter().any(|r| r.op == op);
    publishing || at_broker || on_its_way || held || running
}

/// A key the retention dropped while a copy of its operation could still
/// arrive: what a retention longer than the horizon rules out.
pub fn expired_early(cfg: &Config, s: &State) -> bool {
    cfg.pipeline.retention == crate::pipeline::Retention::LongerThanReplay
        && super::store(s)
            .expired
            .iter()
            .any(|&k| replay_possible(cfg, s, op_of_key(cfg, s, k)))
}
