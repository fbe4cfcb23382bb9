//! What a verdict assumes, in plain words: the model's own assumptions
//! (src/model/mod.rs, "Assumptions") that bound a proof, chosen for the
//! pipeline at hand. A proof cited without them misleads: it holds for
//! this model of the system, within its bounds, and for nothing the model
//! leaves out. The bounds, the faults left out and the broker's durability
//! are printed beside these (`Config::describe_bounds`,
//! `Scenario::not_covered`, `Config::describe_durability`).

use crate::pipeline::{Config, Effect, StaleCompletion};

pub fn assumptions(cfg: &Config) -> Vec<String> {
    let p = &cfg.pipeline;
    let b = &cfg.bounds;
    let mut out = Vec::new();
    if b.producer_crashes > 0 {
        out.push(
            "A crashed producer always restarts, as a new producer session, keeping only what it made durable."
                .to_string(),
        );
    }
    if b.crashes > 0 {
        out.push(
            "A crashed consumer always restarts, keeping only what it made durable; no loss assumes it does (the broker does not requeue on its own when a connection dies)."
                .to_string(),
        );
    }
    let replies = if b.reply_losses > 0 {
        " and, as their own fault, the store's replies"
    } else {
        ""
    };
    let failover = if p.durability.replicated() {
        " (a failover can also cut records from the broker's log, Leg 2)"
    } else {
        ""
    };
    out.push(format!(
        "Only publishes and confirms{replies} can be lost on the way{failover}; nothing is duplicated or reordered between two parts (links are FIFO, as TCP)."
    ));
    // Its effective budget: 0 where the pipeline rules the expiry out.
    let expires = crate::model::faults::effective_budgets(cfg)
        .any(|(k, n)| k.fault == crate::model::faults::Fault::LedgerExpiry && n > 0);
    let expiry = if expires {
        " except the ledger keys its retention drops (a budgeted fault)"
    } else {
        ""
    };
    out.push(format!(
        "The effect store never loses a committed write{expiry}, and each request to it is one atomic transaction; a store crash shows only as a lost reply."
    ));
    out.push(
        "There is no clock: a lease expiry, rebalance, timeout or retry can happen at any moment as a budgeted fault, so the verdict covers every timing but says nothing of how often."
            .to_string(),
    );
    out.push(format!(
        "Operations are independent: {} of them, each with its own id; their relative order is not checked.",
        b.operations
    ));
    if p.poison == 0 {
        out.push("Every handler succeeds when it runs: its effect is all or nothing.".to_string());
    }
    if !p.log && p.stale_completion == StaleCompletion::Rejected && !p.auto_ack {
        out.push(
            "A completion from a delivery that no longer holds the message is refused (SQS FIFO's expired receipt handle, RabbitMQ's ack on a closed channel)."
                .to_string(),
        );
    }
    if p.log {
        out.push(match p.stale_completion {
            StaleCompletion::Rejected => "Committed offsets are durable; fencing by generation rejects a zombie's commit but never its effect.",
            StaleCompletion::Accepted => "Committed offsets are durable; a zombie's commit is accepted (no fencing).",
        }
        .to_string());
    }
    if p.transactions {
        let external = if p.effect == Effect::External {
            " An effect outside the transaction is not covered by it."
        } else {
            ""
        };
        out.push(format!(
            "The Kafka transaction protocol itself is correct (no hanging or torn transactions).{external}"
        ));
    }
    if p.publish_dedup {
        out.push(
            "Publish dedup keys on the id the producer attaches and lasts as the broker kind says (the whole run unless a window or a producer session ends it)."
                .to_string(),
        );
    }
    out
}
