//! For a property with no cut set: which of the design's assumptions, if
//! dropped, would open one. Each is one pipeline value flipped to its weak
//! counterpart (the variants the shipped negative controls use), and the
//! variant's cut sets are found the same way, so "it would open" is itself
//! a checker result, not a lookup.

use super::cutsets::{CutSet, cut_sets_of};
use crate::model::faults::REGISTRY;
use crate::pipeline::{
    Acks, AttemptIds, CompletionOrder, Config, LedgerKey, LedgerWrite, Lookup, Retention,
    StaleCompletion,
};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Opening {
    /// The assumption the design makes, in words, with its fact id.
    pub assumption: &'static str,
    /// The cut sets of the variant that drops it.
    pub cut_sets: Vec<String>,
}

/// One assumption: whether the design makes it, and the variant without it.
struct Weakening {
    assumption: &'static str,
    applies: fn(&Config) -> bool,
    drop: fn(&mut Config),
}

const WEAKENINGS: [Weakening; 9] = [
    Weakening {
        assumption: "the ledger keeps each key longer than any copy of its operation can arrive (W4)",
        applies: |c| {
            c.pipeline.has_ledger() && c.pipeline.retention != Retention::ShorterThanReplay
        },
        drop: |c| {
            c.pipeline.retention = Retention::ShorterThanReplay;
            c.bounds.ledger_expiries = 1;
        },
    },
    Weakening {
        assumption: "the producer keeps one id across its retries (W1)",
        applies: |c| {
            c.pipeline.ledger_key == LedgerKey::OperationId
                && c.pipeline.attempt_ids == AttemptIds::Stable
        },
        drop: |c| c.pipeline.attempt_ids = AttemptIds::FreshPerAttempt,
    },
    Weakening {
        assumption: "the key is checked by a unique insert in the effect's own transaction (W2)",
        applies: |c| c.pipeline.has_ledger() && c.pipeline.lookup == Lookup::UniqueInsert,
        drop: |c| c.pipeline.lookup = Lookup::CheckThenAct,
    },
    Weakening {
        assumption: "the key is written in the effect's transaction (W3)",
        applies: |c| c.pipeline.has_ledger() && c.pipeline.ledger_write == LedgerWrite::WithEffect,
        drop: |c| c.pipeline.ledger_write = LedgerWrite::AfterEffect,
    },
    Weakening {
        assumption: "the broker stores a re-published id once (publish dedup)",
        applies: |c| c.pipeline.publish_dedup,
        drop: |c| c.pipeline.publish_dedup = false,
    },
    Weakening {
        assumption: "a completion from a delivery that lost its lease is refused",
        applies: |c| c.pipeline.stale_completion == StaleCompletion::Rejected,
        drop: |c| c.pipeline.stale_completion = StaleCompletion::Accepted,
    },
    Weakening {
        assumption: "the consumer applies the effect before it records completion",
        applies: |c| {
            c.pipeline.order == CompletionOrder::EffectThenCompletion && !c.pipeline.auto_ack
        },
        drop: |c| c.pipeline.order = CompletionOrder::CompletionThenEffect,
    },
    Weakening {
        assumption: "the producer re-publishes until the broker confirms",
        applies: |c| c.pipeline.may_republish(),
        drop: |c| c.pipeline.producer_retries = false,
    },
    Weakening {
        assumption: "a confirm waits for every in-sync replica (acks = all)",
        applies: |c| c.pipeline.durability.replicated() && c.pipeline.durability.acks == Acks::All,
        drop: |c| c.pipeline.durability.acks = Acks::Leader,
    },
];

/// For each property index with no cut set under `cfg`, the assumptions
/// whose dropping opens one, with the cut sets it opens.
pub fn openings(cfg: &Config, closed: &[usize]) -> Vec<Vec<Opening>> {
    let mut out = vec![Vec::new(); 2];
    if closed.is_empty() {
        return out;
    }
    for w in WEAKENINGS.iter().filter(|w| (w.applies)(cfg)) {
        let mut variant = *cfg;
        (w.drop)(&mut variant);
        // A fault the weak variant makes possible gets a budget of 1.
        for k in REGISTRY.iter() {
            if (k.possible)(&variant) && (k.budget)(&variant.bounds) == 0 && !(k.possible)(cfg) {
                (k.set_budget)(&mut variant.bounds, 1);
            }
        }
        let cuts = cut_sets_of(&variant, closed);
        for &p in closed {
            let sets: Vec<String> = cuts.properties[p]
                .first
                .iter()
                .chain(&cuts.properties[p].second)
                .map(CutSet::words)
                .collect();
            if !sets.is_empty() {
                out[p].push(Opening {
                    assumption: w.assumption,
                    cut_sets: sets,
                });
            }
        }
    }
    out
}
