//! Exports a counterexample in the Informal Trace Format (ITF, Apalache
//! ADR-015), the JSON trace format Apalache and Quint emit and their
//! tooling reads, so a trace found here can be replayed, diffed or checked
//! against a Quint or TLA+ specification of the same pipeline.
//!
//! ITF has no native integers beyond what JSON numbers carry safely, so
//! every integer is written as `{"#bigint": "n"}`, as Quint does. Sets are
//! `{"#set": [...]}`, maps `{"#map": [[k, v], ...]}`, records plain
//! objects, and enum values Quint-style variants `{"tag": .., "value": ..}`.
//! Record fields avoid names that are keywords in a reader's language
//! (`itf-py` turns records into Python named tuples, so no `from`), and a
//! variant's value is always a record (`itf-py` reads `{"#bigint": ..}`
//! there as a record with a field named `#bigint`).
//!
//! The variables are the ones a reader of the trace reasons with, not the
//! checker's internal state: effect counts, the ledger, the broker's
//! messages and leases, each consumer's work, what is in flight, and the
//! action that led to each state. Numbering follows the narrative: ops,
//! messages and consumers count from 1; message ids are raw.

use super::events::actions;
use super::narrative::describe;
use super::words::actor;
use crate::check::Trace;
use crate::model::broker::Status;
use crate::model::consumer::Stage;
use crate::model::msg::{Key, Msg};
use crate::model::{self, Model, State};
use serde_json::{Value, json};
use stateright::actor::Network;

/// The variables of every state, in the order they are listed.
pub const VARS: [&str; 11] = [
    "action",
    "applied",
    "ledger",
    "broker",
    "consumers",
    "crashed",
    "in_flight",
    "confirmed",
    "producer_acked",
    "owed",
    "lost",
];

/// The variables of this model's states: [`VARS`], then the Kafka
/// partition, the payment API's running calls and the output topic where
/// the pipeline has them.
pub fn vars(model: &Model) -> Vec<&'static str> {
    let p = &model.cfg.pipeline;
    let mut v = VARS.to_vec();
    if p.log {
        v.push("log");
    }
    if p.api_keyed() {
        v.push("running");
    }
    if p.transactions {
        v.push("output");
    }
    v
}

pub fn itf(model: &Model, trace: &Trace, property: &str) -> Value {
    let mut states = Vec::with_capacity(trace.steps.len());
    states.push(state(model, 0, "init".to_string(), &trace.steps[0].0));
    for (i, (before, action, after)) in actions(trace).enumerate() {
        let taken = describe(model, before, action, after);
        states.push(state(model, i + 1, taken, after));
    }
    let description = match trace.cycle_from {
        Some(k) => format!(
            "counterexample to '{property}': a lasso, the states from index {k} on repeat forever"
        ),
        None => format!("shortest counterexample to '{property}'; the last state violates it"),
    };
    let mut doc = json!({
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": "onceproof",
            "description": description,
            "property": property,
            "explorer_path": trace.encoded,
        },
        "vars": vars(model),
        "states": states,
    });
    // ITF's lasso: the index of the state the last one loops back to.
    if let Some(k) = trace.cycle_from {
        doc["loop"] = json!(k);
    }
    doc
}

fn int(n: impl Into<u64>) -> Value {
    json!({ "#bigint": n.into().to_string() })
}

/// Human numbering: the first operation, message or consumer is 1.
fn nth(n: u8) -> Value {
    int(n + 1)
}

fn set(items: Vec<Value>) -> Value {
    json!({ "#set": items })
}

fn map(pairs: Vec<(Value, Value)>) -> Value {
    let pairs: Vec<Value> = pairs.into_iter().map(|(k, v)| json!([k, v])).collect();
    json!({ "#map": pairs })
}

fn variant(tag: &str, value: Value) -> Value {
    json!({ "tag": tag, "value": value })
}

/// What a variant that carries nothing holds: an empty record, as Quint
/// writes it (`{"tag": "None", "value": {}}`). Not the empty tuple: the
/// `itf` crate decodes that as Rust's unit and Python's `itf-py` cannot
/// read it at all, while both read the empty record.
fn unit() -> Value {
    json!({})
}

fn key(k: Key) -> Value {
    match k {
        Key::Id(id) => variant("Id", json!({ "id": int(id) })),
        Key::Offset(m) => variant("Offset", json!({ "message": nth(m) })),
        Key::Delivery(j) => variant(
            "Delivery",
            json!({ "message": nth(j.msg), "delivery": int(j.delivery) }),
        ),
    }
}

fn status(s: Status) -> Value {
    match s {
        Status::Ready => variant("Ready", unit()),
        Status::Leased { consumer, delivery } => variant(
            "Leased",
            json!({ "consumer": nth(consumer), "delivery": int(delivery) }),
        ),
        Status::Done => variant("Done", unit()),
        Status::DeadLettered => variant("DeadLettered", unit()),
    }
}

fn stage(s: Stage) -> Value {
    let tag = match s {
        Stage::Queued => "Queued",
        Stage::Applying => "Applying",
        Stage::Recording => "Recording",
        Stage::Completing => "Completing",
        Stage::Looking => "Looking",
        Stage::Claiming => "Claiming",
    };
    variant(tag, unit())
}

fn message(msg: &Msg) -> Value {
    match *msg {
        Msg::Publish {
            op,
            id,
            attempt,
            session,
        } => variant(
            "Publish",
            json!({ "op": nth(op), "id": int(id), "attempt": int(attempt + 1), "session": int(session) }),
        ),
        Msg::PublishAck { op, id, session } => variant(
            "PublishAck",
            json!({ "op": nth(op), "id": int(id), "session": int(session) }),
        ),
        Msg::Deliver {
            job,
            op,
            id,
            session,
        } => variant(
            "Deliver",
            json!({
                "message": nth(job.msg), "delivery": int(job.delivery),
                "op": nth(op), "id": int(id), "session": int(session),
            }),
        ),
        Msg::Apply {
            job, op, key: k, ..
        } => variant(
            "Apply",
            json!({
                "message": nth(job.msg), "delivery": int(job.delivery), "op": nth(op),
                // Not Quint's Some/None: `None` is a Python keyword,
                // which `itf-py` cannot name a variant.
                "key": match k {
                    Some(k) => variant("Keyed", json!({ "key": key(k) })),
                    None => variant("Unkeyed", unit()),
                },
            }),
        ),
        Msg::Applied { job, fresh, retry } => variant(
            "Applied",
            json!({
                "message": nth(job.msg), "delivery": int(job.delivery), "fresh": fresh,
                "retry": retry,
            }),
        ),
        Msg::Conflict { job, retry } => variant(
            "Conflict",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery), "retry": retry }),
        ),
        Msg::Record { job, key: k } => variant(
            "Record",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery), "key": key(k) }),
        ),
        Msg::Recorded { job } => variant(
            "Recorded",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery) }),
        ),
        Msg::Claim { job, key: k } => variant(
            "Claim",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery), "key": key(k) }),
        ),
        Msg::Claimed { job, fresh } => variant(
            "Claimed",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery), "fresh": fresh }),
        ),
        Msg::Lookup { job, key: k } => variant(
            "Lookup",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery), "key": key(k) }),
        ),
        Msg::LookedUp { job, found } => variant(
            "LookedUp",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery), "found": found }),
        ),
        Msg::Complete { job, .. } => variant(
            "Complete",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery) }),
        ),
        Msg::Completed { job, accepted } => variant(
            "Completed",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery), "accepted": accepted }),
        ),
        Msg::Poll => variant("Poll", unit()),
        Msg::Partial { op } => variant("Partial", json!({ "op": nth(op) })),
        Msg::Release { job } => variant(
            "Release",
            json!({ "message": nth(job.msg), "delivery": int(job.delivery) }),
        ),
        Msg::Seek => variant("Seek", unit()),
        Msg::Join { incarnation } => variant("Join", json!({ "incarnation": int(incarnation) })),
    }
}

fn in_flight(s: &State) -> Value {
    let mut out = Vec::new();
    if let Network::Ordered(flows) = &s.network {
        for ((src, dst), queue) in flows {
            for msg in queue {
                out.push(json!({
                    "sender": actor(*src),
                    "receiver": actor(*dst),
                    "msg": message(msg),
                }));
            }
        }
    }
    Value::Array(out)
}

fn state(model: &Model, index: usize, action: String, s: &State) -> Value {
    let store = model::store(s);
    let broker = model::broker(s);
    let ops = store.applied.len() as u8;
    let applied = map((0..ops)
        .map(|o| (nth(o), int(store.applied[o as usize])))
        .collect());
    let ledger = set(store.ledger.iter().map(|k| key(*k)).collect());
    let messages = map(broker
        .messages
        .iter()
        .enumerate()
        .map(|(m, e)| {
            (
                nth(m as u8),
                json!({
                    "op": nth(e.op),
                    "id": int(e.id),
                    "deliveries": int(e.deliveries),
                    "status": status(e.status),
                }),
            )
        })
        .collect());
    let consumers = map(model::consumers(s)
        .map(|(i, down, c)| {
            let jobs: Vec<Value> = c
                .jobs
                .iter()
                .map(|j| {
                    json!({
                        "message": nth(j.job.msg),
                        "delivery": int(j.job.delivery),
                        "op": nth(j.op),
                        "id": int(j.id),
                        "stage": stage(j.stage),
                    })
                })
                .collect();
            (
                nth(i),
                json!({ "incarnation": int(c.incarnation), "down": down, "jobs": jobs }),
            )
        })
        .collect());
    let crashed = set(model::consumers(s)
        .filter(|(_, down, _)| *down)
        .map(|(i, _, _)| nth(i))
        .collect());
    let confirmed = set((0..ops)
        .filter(|&o| s.history.confirmed & (1 << o) != 0)
        .map(nth)
        .collect());
    let acked = set(model::producer(s)
        .acked
        .iter()
        .enumerate()
        .filter(|(_, a)| **a)
        .map(|(o, _)| nth(o as u8))
        .collect());
    let mut state = json!({
        "#meta": { "index": index },
        "action": action,
        "applied": applied,
        "ledger": ledger,
        "broker": messages,
        "consumers": consumers,
        "crashed": crashed,
        "in_flight": in_flight(s),
        "confirmed": confirmed,
        "producer_acked": acked,
        "owed": set((0..ops)
            .filter(|&o| crate::model::properties::owed(model, s, o as usize))
            .map(nth)
            .collect()),
        "lost": int(model::faults::Tally::of(s).leg1_lost.iter().sum::<u8>()),
    });
    // The Kafka partition and the output topic, only where the broker has
    // them, so a generic trace keeps its variables.
    if let Some(log) = broker.log {
        state["log"] = json!({
            "committed": int(log.committed),
            "position": int(log.position),
            "owner": nth(log.owner),
            "generation": int(log.generation),
        });
    }
    // The payment API's calls started and not finished, where it keeps the
    // key itself.
    if model.cfg.pipeline.api_keyed() {
        state["running"] = Value::Array(
            store
                .running
                .iter()
                .map(|r| {
                    json!({
                        "message": nth(r.job.msg), "delivery": int(r.job.delivery),
                        "consumer": nth(r.consumer), "op": nth(r.op), "key": key(r.key),
                    })
                })
                .collect(),
        );
    }
    if model.cfg.pipeline.transactions {
        state["output"] = map((0..ops)
            .map(|o| (nth(o), int(broker.output[o as usize])))
            .collect());
    }
    state
}
