//! The producer hands each logical operation to the pipeline by publishing
//! it, then follows its policy: fire and forget, or wait for the broker's
//! confirm and re-publish when it is late, up to `max-attempts` (default:
//! until confirmed), then give up, reporting the failure to its caller or
//! not. It never crashes: producer-side crashes (outbox vs dual write) are a
//! separate scenario family.
//!
//! The producer cannot tell a lost publish from a slow confirm, so its timer
//! fires in both cases. The checker bounds the second kind (a *spurious*
//! retry, `bounds.retries`); a retry after a real loss is paid for by
//! `bounds.losses` (see [`super::faults`]).

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
    /// The policy's attempts ran out without a confirm, per operation.
    pub gave_up: Vec<bool>,
}

/// The id attempt `attempt` of operation `op` carries.
pub fn attempt_id(cfg: &Config, op: u8, attempt: u8) -> u8 {
    match cfg.pipeline.attempt_ids {
        AttemptIds::Stable => op,
        AttemptIds::FreshPerAttempt => op * cfg.attempts_cap() + attempt,
    }
}

fn publish(cfg: &Config, op: u8, attempt: u8, o: &mut Out) {
    o.send(
        Id::from(BROKER),
        Msg::Publish {
            op,
            id: attempt_id(cfg, op, attempt),
            attempt,
        },
    );
}

pub fn start(cfg: &Config, o: &mut Out) -> ProducerState {
    let ops = cfg.bounds.operations;
    for op in 0..ops {
        publish(cfg, op, 0, o);
        if cfg.pipeline.producer_retries {
            o.set_timer(Timer::Retry(op), super::no_delay());
        }
    }
    ProducerState {
        acked: vec![false; ops as usize],
        retried: vec![0; ops as usize],
        gave_up: vec![false; ops as usize],
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

/// Whether the next retry timer of `op` ends in giving up rather than a
/// re-publish: the policy's attempts are spent.
pub fn gives_up(cfg: &Config, s: &ProducerState, op: u8) -> bool {
    let attempts = s.retried[op as usize] + 1;
    cfg.pipeline.max_attempts.is_some_and(|n| attempts >= n)
}

/// The confirm of `op` is late: re-publish while the policy allows, else
/// give up. The timer is only set while the operation is unconfirmed.
pub fn on_timeout(cfg: &Config, s: &ProducerState, op: u8, o: &mut Out) -> Option<ProducerState> {
    // A retry timer is armed only while its operation is neither confirmed
    // nor given up: a confirm cancels it and giving up does not re-arm it
    // (tests/faults.rs checks it on every reachable state).
    let i = op as usize;
    let mut next = s.clone();
    if gives_up(cfg, s, op) {
        next.gave_up[i] = true;
        return Some(next);
    }
    let attempts = s.retried[i] + 1;
    next.retried[i] = attempts;
    publish(cfg, op, attempts, o);
    o.set_timer(Timer::Retry(op), super::no_delay());
    Some(next)
}
