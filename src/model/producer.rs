//! The producer hands each logical operation to the pipeline by publishing
//! it, then follows its policy: fire and forget, or wait for the broker's
//! confirm and re-publish when it is late, up to `max-attempts` (default:
//! until confirmed), then give up, reporting the failure to its caller or
//! not.
//!
//! The producer cannot tell a lost publish from a slow confirm, so its timer
//! fires in both cases. The checker bounds the second kind (a *spurious*
//! retry, `bounds.retries`); a retry after a real loss is paid for by
//! `bounds.losses` (see [`super::faults`]).
//!
//! It can crash (`bounds.producer-crashes`, a budgeted fault) and always
//! restarts, as a new session: the broker's per-session publish dedup does
//! not know the new one (K2), and confirms addressed to the old one are
//! ignored (its connection died). What it then publishes again is
//! `[producer] publish`: a direct producer forgets every operation it had
//! not seen confirmed; an outbox relay re-publishes every unmarked row (a
//! re-publish the crash pays for, not `bounds.retries`). A dual write
//! commits the business row before anything is published (the operation is
//! owed from then on: [`super::History::initial`]) and publishes each event
//! in a step of its own (`Timer::Send`), so a crash can fall in between.
use super::durable::{Durable, ProducerRecord};
use super::msg::{Msg, Timer};
use super::{BROKER, Out};
use crate::pipeline::{AttemptIds, Config, Publish};
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
    /// The producer session: its incarnation, from 1.
    pub session: u8,
    /// Bit `op`: unconfirmed when a restart came (see [`ProducerRecord`]).
    pub orphaned: u8,
    /// Re-publishes by a restarted outbox relay, per operation.
    pub republished: Vec<u8>,
}

impl ProducerState {
    /// Whether the producer still tracks `op`: a direct producer's restart
    /// forgot what it had not seen confirmed.
    pub fn forgot(&self, cfg: &Config, op: u8) -> bool {
        cfg.pipeline.publish != Publish::Outbox
            && self.orphaned & (1 << op) != 0
            && !self.acked[op as usize]
    }

    /// The attempt number of the next publish of `op`: every earlier one,
    /// from the timer or a restart, had its own.
    fn next_attempt(&self, op: u8) -> u8 {
        self.retried[op as usize] + self.republished[op as usize] + 1
    }

    fn record(&self) -> ProducerRecord {
        let bits = |v: &[bool]| {
            v.iter()
                .enumerate()
                .fold(0u8, |m, (i, &b)| m | ((b as u8) << i))
        };
        let mut r = ProducerRecord {
            acked: bits(&self.acked),
            gave_up: bits(&self.gave_up),
            orphaned: self.orphaned,
            ..ProducerRecord::default()
        };
        r.retried[..self.retried.len()].copy_from_slice(&self.retried);
        r.republished[..self.republished.len()].copy_from_slice(&self.republished);
        r
    }
}

/// Saves what survives a crash, when the producer can crash at all (the
/// storage would otherwise only copy the state).
fn keep(cfg: &Config, s: &ProducerState, o: &mut Out) {
    if cfg.bounds.producer_crashes > 0 {
        o.save(Durable::Producer {
            incarnation: s.session,
            record: s.record(),
        });
    }
}

/// The id attempt `attempt` of operation `op` carries.
pub fn attempt_id(cfg: &Config, op: u8, attempt: u8) -> u8 {
    match cfg.pipeline.attempt_ids {
        AttemptIds::Stable => op,
        AttemptIds::FreshPerAttempt => op * cfg.attempts_cap() + attempt,
    }
}

/// The operation whose attempt carries `id`.
pub fn op_of_id(cfg: &Config, id: u8) -> u8 {
    match cfg.pipeline.attempt_ids {
        AttemptIds::Stable => id,
        AttemptIds::FreshPerAttempt => id / cfg.attempts_cap(),
    }
}

fn publish(cfg: &Config, s: &ProducerState, op: u8, attempt: u8, o: &mut Out) {
    o.send(
        Id::from(BROKER),
        Msg::Publish {
            op,
            id: attempt_id(cfg, op, attempt),
            attempt,
            session: s.session,
        },
    );
    if cfg.pipeline.producer_retries {
        o.set_timer(Timer::Retry(op), super::no_delay());
    }
}

/// Starts, or restarts from what the previous incarnation saved.
pub fn start(cfg: &Config, storage: &Option<Durable>, o: &mut Out) -> ProducerState {
    let ops = cfg.bounds.operations as usize;
    let session = Durable::next_incarnation(storage);
    let r = Durable::producer_record(storage);
    let bit = |m: u8, op: usize| m & (1 << op) != 0;
    let mut s = ProducerState {
        acked: (0..ops).map(|op| bit(r.acked, op)).collect(),
        retried: r.retried[..ops].to_vec(),
        gave_up: (0..ops).map(|op| bit(r.gave_up, op)).collect(),
        session,
        orphaned: r.orphaned,
        republished: r.republished[..ops].to_vec(),
    };
    for op in 0..ops as u8 {
        let i = op as usize;
        if session == 1 && cfg.pipeline.publish == Publish::DualWrite {
            // The business transaction has committed; the event's publish
            // is a step of its own.
            o.set_timer(Timer::Send(op), super::no_delay());
        } else if session == 1 {
            publish(cfg, &s, op, 0, o);
        } else if !s.acked[i] && !s.gave_up[i] && !s.forgot(cfg, op) {
            s.orphaned |= 1 << op;
            if cfg.pipeline.publish == Publish::Outbox {
                let attempt = s.next_attempt(op);
                s.republished[i] += 1;
                publish(cfg, &s, op, attempt, o);
            }
        }
    }
    keep(cfg, &s, o);
    s
}

pub fn on_msg(cfg: &Config, s: &ProducerState, msg: Msg, o: &mut Out) -> Option<ProducerState> {
    match msg {
        Msg::PublishAck { op, session, .. } if session == s.session && !s.acked[op as usize] => {
            let mut next = s.clone();
            next.acked[op as usize] = true;
            o.cancel_timer(Timer::Retry(op));
            keep(cfg, &next, o);
            Some(next)
        }
        _ => None,
    }
}

/// Dual write: the event of `op`, whose business row has committed, is
/// published.
pub fn on_send(cfg: &Config, s: &ProducerState, op: u8, o: &mut Out) -> Option<ProducerState> {
    publish(cfg, s, op, 0, o);
    Some(s.clone())
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
        keep(cfg, &next, o);
        return Some(next);
    }
    let attempt = s.next_attempt(op);
    next.retried[i] += 1;
    publish(cfg, &next, op, attempt, o);
    keep(cfg, &next, o);
    Some(next)
}
