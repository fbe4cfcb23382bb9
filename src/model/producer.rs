//! The producer publishes each logical operation once, waits for the
//! broker's confirm, and re-publishes on timeout while its retry budget
//! lasts. It never crashes: producer-side crashes (outbox vs dual write)
//! are a separate scenario family.

use super::msg::{Msg, Timer};
use super::{BROKER, Out};
use crate::pipeline::{AttemptIds, Config};
use serde::Serialize;
use stateright::actor::Id;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ProducerState {
    /// Confirms received, per operation.
    pub acked: Vec<bool>,
    /// Attempts made beyond the first, per operation.
    pub retried: Vec<u8>,
    pub retries_left: u8,
}

/// The id attempt `attempt` of operation `op` carries.
pub fn attempt_id(cfg: &Config, op: u8, attempt: u8) -> u8 {
    match cfg.pipeline.attempt_ids {
        AttemptIds::Stable => op,
        AttemptIds::FreshPerAttempt => op * (cfg.bounds.retries + 1) + attempt,
    }
}

pub fn start(cfg: &Config, o: &mut Out) -> ProducerState {
    let ops = cfg.bounds.operations;
    for op in 0..ops {
        o.send(
            Id::from(BROKER),
            Msg::Publish {
                op,
                id: attempt_id(cfg, op, 0),
                attempt: 0,
            },
        );
        if cfg.retry_budget() > 0 {
            o.set_timer(Timer::Retry(op), super::no_delay());
        }
    }
    ProducerState {
        acked: vec![false; ops as usize],
        retried: vec![0; ops as usize],
        retries_left: cfg.retry_budget(),
    }
}

pub fn on_msg(s: &ProducerState, msg: Msg, o: &mut Out) -> Option<ProducerState> {
    match msg {
        Msg::PublishAck { op, .. } if !s.acked[op as usize] => {
            let mut next = s.clone();
            next.acked[op as usize] = true;
            o.cancel_timer(Timer::Retry(op));
            Some(next)
        }
        _ => None,
    }
}

/// A retry timer fires whenever the confirm is late, not only when it was
/// lost: a slow confirm triggers the same re-publish.
pub fn on_timeout(cfg: &Config, s: &ProducerState, op: u8, o: &mut Out) -> Option<ProducerState> {
    if s.acked[op as usize] || s.retries_left == 0 {
        return None;
    }
    let mut next = s.clone();
    next.retried[op as usize] += 1;
    next.retries_left -= 1;
    let attempt = next.retried[op as usize];
    o.send(
        Id::from(BROKER),
        Msg::Publish {
            op,
            id: attempt_id(cfg, op, attempt),
            attempt,
        },
    );
    if next.retries_left > 0 {
        o.set_timer(Timer::Retry(op), super::no_delay());
    } else {
        for other in 0..cfg.bounds.operations {
            o.cancel_timer(Timer::Retry(other));
        }
    }
    Some(next)
}
