//! The effect store: the database or payment API where the side effect
//! lands. Its state is durable (it is the ground truth the properties
//! read) and each request is one transaction that commits or not. What
//! can fail is the round trip: its reply to the consumer can be lost after
//! the commit (`bounds.reply-losses`: a dropped reply, a store crash
//! between commit and reply, or a reply later than the consumer's
//! timeout), and the consumer cannot tell a committed effect from a
//! failed one (the seed's "providers succeed but the response arrives
//! late enough to look like a failure").
//!
//! The ledger's lookup is part of the effect's transaction (a unique
//! insert) or a transaction of its own (check-then-act, W2); its row is
//! written with the effect, after it (W3) or before it (W3's mirror).
//! Its retention can drop a key (`bounds.ledger-expiries`, W4): at any
//! moment after the write when the retention is shorter than the replay
//! horizon, and only once no copy of the operation can arrive any more when
//! it is longer (the checker's boundary holds the latter,
//! [`super::faults`]).
//!
//! A payment API that keeps the key itself (`store.kind = "api"`, the
//! ledger written with the effect: its Idempotency-Key table, STRIPE) runs
//! a keyed call in two steps. When the call starts, the API looks the key
//! up: a stored result is returned as it is; otherwise the key is taken
//! and the call runs (`running`). When it finishes (`Timer::Finish`), the
//! effect and the key's stored result commit together and the reply goes
//! out, whether or not its caller is still alive. A second call with the
//! key while the first runs is answered 409 and stores nothing; the client
//! retries it with the same key. A provider that only looks the key up
//! when a call starts and stores it when the call finishes
//! (`check = "check-then-act"`) lets both calls run. The call's parameters
//! are the message's, identical on every attempt, so the API's comparison
//! of a repeated key's parameters always matches: the mismatch error
//! (Stripe's `idempotency_error`) is not reachable here.

use super::Out;
use super::broker::{budget_if, spend};
use super::faults::Fault;
use super::msg::{JobRef, Key, Msg, Timer};
use crate::pipeline::{Config, LedgerWrite};
use serde::Serialize;
use stateright::actor::Id;

/// Applications are counted up to this value; beyond it the count is
/// already a violation, so saturating keeps the state space finite.
pub const APPLIED_CAP: u8 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct StoreState {
    /// How many times each operation's effect has been applied.
    pub applied: Vec<u8>,
    /// The durable ledger (operation ids or completion records), sorted.
    pub ledger: Vec<Key>,
    /// Keys the retention may still drop (`bounds.ledger-expiries`).
    pub expiries_left: u8,
    /// Keys the retention dropped, sorted.
    pub expired: Vec<Key>,
    /// A poison handler's partial effects, per operation (capped).
    pub partial: Vec<u8>,
    /// The payment API's keyed calls started and not yet finished, sorted.
    pub running: Vec<Running>,
}

/// A keyed call the payment API is running: what its finish commits and
/// whom it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Running {
    pub job: JobRef,
    /// The caller, by consumer index (renamed by the symmetry reduction).
    pub consumer: u8,
    pub op: u8,
    pub key: Key,
    pub reply: bool,
    pub retry: bool,
}

impl StoreState {
    /// Whether a call of this job is still running at the API.
    pub fn running_job(&self, job: JobRef) -> bool {
        self.running.iter().any(|r| r.job == job)
    }
}

pub fn start(cfg: &Config) -> StoreState {
    StoreState {
        applied: vec![0; cfg.bounds.operations as usize],
        ledger: Vec::new(),
        expiries_left: budget_if(cfg, Fault::LedgerExpiry),
        expired: Vec::new(),
        partial: vec![0; cfg.bounds.operations as usize],
        running: Vec::new(),
    }
}

/// The payment API finishes the call `job` started: its effect and the
/// key's stored result commit, and the caller is answered.
pub fn on_finish(s: &StoreState, job: JobRef, o: &mut Out) -> Option<StoreState> {
    let at = s.running.iter().position(|r| r.job == job)?;
    let mut next = s.clone();
    let r = next.running.remove(at);
    let n = &mut next.applied[r.op as usize];
    *n = (*n + 1).min(APPLIED_CAP);
    insert(&mut next, r.key, o);
    if next.running_job(job) {
        o.set_timer(Timer::Finish(job), super::no_delay());
    }
    if r.reply {
        o.send(
            super::consumer_id(r.consumer),
            Msg::Applied {
                job,
                fresh: true,
                retry: r.retry,
            },
        );
    }
    Some(next)
}

/// Writes a row; while the retention can still drop one, its expiry is
/// armed.
fn insert(s: &mut StoreState, key: Key, o: &mut Out) {
    if let Err(at) = s.ledger.binary_search(&key) {
        s.ledger.insert(at, key);
        if s.expiries_left > 0 {
            o.set_timer(Timer::Expire(key), super::no_delay());
        }
    }
}

/// The retention drops `key`. A fault; the last one disarms the rest.
pub fn on_expire(s: &StoreState, key: Key, o: &mut Out) -> Option<StoreState> {
    let at = s.ledger.binary_search(&key).ok()?;
    let mut next = s.clone();
    next.ledger.remove(at);
    if let Err(at) = next.expired.binary_search(&key) {
        next.expired.insert(at, key);
    }
    let all: Vec<Timer> = next.ledger.iter().map(|&k| Timer::Expire(k)).collect();
    spend(&mut next.expiries_left, all, o);
    Some(next)
}

pub fn on_msg(cfg: &Config, s: &StoreState, src: Id, msg: Msg, o: &mut Out) -> Option<StoreState> {
    match msg {
        Msg::Apply {
            job,
            op,
            key,
            check,
            reply,
            retry,
        } => {
            let p = &cfg.pipeline;
            // One transaction: the lookup, the effect and (WithEffect) the
            // ledger row commit together or not at all.
            if let Some(k) = key
                && p.ledger_check
                && check
                && s.ledger.binary_search(&k).is_ok()
            {
                if reply {
                    o.send(
                        src,
                        Msg::Applied {
                            job,
                            fresh: false,
                            retry,
                        },
                    );
                }
                return None;
            }
            let mut next = s.clone();
            if let Some(k) = key
                && p.api_keyed()
            {
                // Started: with a lock, the key is taken until the finish.
                if p.api_locks() && s.running.iter().any(|r| r.key == k) {
                    if reply {
                        o.send(src, Msg::Conflict { job, retry });
                    }
                    return None;
                }
                next.running.push(Running {
                    job,
                    consumer: super::consumer_index(src),
                    op,
                    key: k,
                    reply,
                    retry,
                });
                next.running.sort();
                o.set_timer(Timer::Finish(job), super::no_delay());
                return Some(next);
            }
            let n = &mut next.applied[op as usize];
            *n = (*n + 1).min(APPLIED_CAP);
            if let (Some(k), LedgerWrite::WithEffect) = (key, p.ledger_write) {
                insert(&mut next, k, o);
            }
            if reply {
                o.send(
                    src,
                    Msg::Applied {
                        job,
                        fresh: true,
                        retry,
                    },
                );
            }
            Some(next)
        }
        Msg::Record { job, key } | Msg::Claim { job, key } => {
            let fresh = s.ledger.binary_search(&key).is_err();
            o.send(
                src,
                match msg {
                    Msg::Claim { .. } => Msg::Claimed { job, fresh },
                    _ => Msg::Recorded { job },
                },
            );
            if !fresh {
                return None;
            }
            let mut next = s.clone();
            insert(&mut next, key, o);
            Some(next)
        }
        Msg::Partial { op } => {
            let mut next = s.clone();
            let n = &mut next.partial[op as usize];
            *n = (*n + 1).min(APPLIED_CAP);
            Some(next)
        }
        Msg::Lookup { job, key } => {
            let found = s.ledger.binary_search(&key).is_ok();
            o.send(src, Msg::LookedUp { job, found });
            None
        }
        _ => None,
    }
}
