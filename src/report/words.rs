//! The names every report gives the model's things. Humans count from 1:
//! `op#1` is operation 0, `message 1` is the broker's offset 0,
//! `consumer 1` is consumer index 0. Message ids are the raw ids the
//! producer attached, since they are opaque values, not positions.

use crate::model::msg::{JobRef, Key};
use crate::model::{self, BROKER, PRODUCER, STORE};
use stateright::actor::Id;

pub fn op(op: u8) -> String {
    format!("op#{}", op + 1)
}

pub fn message(msg: u8) -> String {
    format!("message {}", msg + 1)
}

pub fn consumer(index: u8) -> String {
    format!("consumer {}", index + 1)
}

pub fn job(j: JobRef) -> String {
    format!("{}, delivery {}", message(j.msg), j.delivery)
}

pub fn key(k: Key) -> String {
    match k {
        Key::Id(id) => format!("id {id}"),
        Key::Offset(m) => format!("offset of {}", message(m)),
        Key::Delivery(j) => format!("delivery {} of {}", j.delivery, message(j.msg)),
    }
}

/// The human name of an actor.
pub fn actor(id: Id) -> String {
    match usize::from(id) {
        PRODUCER => "producer".into(),
        BROKER => "broker".into(),
        STORE => "effect store".into(),
        _ => consumer(model::consumer_index(id)),
    }
}

pub fn applied_times(n: u8) -> String {
    if n >= crate::model::store::APPLIED_CAP {
        format!("applied {n}+×")
    } else {
        format!("applied {n}×")
    }
}
