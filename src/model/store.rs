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

use super::Out;
use super::msg::{Key, Msg};
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
}

pub fn start(cfg: &Config) -> StoreState {
    StoreState {
        applied: vec![0; cfg.bounds.operations as usize],
        ledger: Vec::new(),
    }
}

fn insert(ledger: &mut Vec<Key>, key: Key) {
    if let Err(at) = ledger.binary_search(&key) {
        ledger.insert(at, key);
    }
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
            let n = &mut next.applied[op as usize];
            *n = (*n + 1).min(APPLIED_CAP);
            if let (Some(k), LedgerWrite::WithEffect) = (key, p.ledger_write) {
                insert(&mut next.ledger, k);
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
            insert(&mut next.ledger, key);
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
