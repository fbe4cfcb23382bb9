//! The fault registry: every fault the checker injects, declared once.
//!
//! A fault is an event nobody asked for (a consumer goes down, a message is
//! lost, a lease runs out under a working holder, a confirm is merely slow
//! so the producer re-publishes). The checker explores every interleaving
//! of every fault within a budget, so each one must be
//!
//! - **bounded**: a `[bounds]` field with a default, and a count of what a
//!   state has spent, which the model's boundary ([`within_budgets`]) holds
//!   to the budget; stateright bounds neither total crashes nor total losses;
//! - **recognised**: which actions are that fault ([`fault`]), so "at rest"
//!   never counts one as progress (a fault never has to happen), and the
//!   counterexample search can rank traces by how many they need;
//! - **witnessed**: the reachability witnesses that show it happened, so a
//!   proof whose fault never fired reads `vacuous`, not `proved`;
//! - **worded**: its name in reports, its words in the bounds line, and the
//!   rates the risk report multiplies over it ([`Rate`]).
//!
//! [`REGISTRY`] is that table. Budgets, "at rest", witnesses, the scenario
//! parser's `[bounds]` fields, the bounds line and docs/SCENARIOS.md all
//! read it; `tests/faults.rs` fails when a budget, a fault action or a fault
//! witness exists outside it. Adding a fault is one entry here plus the
//! actor code that makes it happen.

use super::msg::{Msg, Timer};
use super::witnesses::Listed;
use super::{
    Action, BROKER, FIRST_CONSUMER, MAX_OPERATIONS, Model, PRODUCER, State, in_flight,
    in_flight_from, witnesses,
};
use crate::pipeline::{Bounds, Config};
use serde::Serialize;
use stateright::Model as _;
use stateright::actor::{ActorModelAction, Id};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    Crash,
    Loss,
    SpuriousRetry,
    LeaseExpiry,
    Rebalance,
    TransactionAbort,
    PhantomRedelivery,
    DedupWindowExpiry,
    BrokerFailover,
    IsrShrink,
    ProducerCrash,
    ReplyLoss,
    LedgerExpiry,
    OperatorReplay,
}

/// One fault, everything about it.
pub struct FaultKind {
    pub fault: Fault,
    /// The `[bounds]` field that budgets it (kebab-case, as in the file).
    pub field: &'static str,
    /// Its budget when the file leaves the field out.
    pub default: u8,
    /// What the budget bounds, for docs/SCENARIOS.md.
    pub bounds_doc: &'static str,
    pub budget: fn(&Bounds) -> u8,
    pub set_budget: fn(&mut Bounds, u8),
    /// Whether the broker kind has this fault at all (a Kafka partition has
    /// no per-message lease, a queue no rebalance): outside its vocabulary
    /// a fault is neither in the bounds line nor settable in a file.
    pub vocabulary: fn(&crate::pipeline::Pipeline) -> bool,
    /// Whether the pipeline lets the fault happen at all, whatever its
    /// budget (a producer that never re-publishes has no spurious retry).
    pub possible: fn(&Config) -> bool,
    /// Units a state has spent.
    pub spent: fn(&Config, &Tally) -> u8,
    /// Whether action `a`, taken from state `s`, is this fault.
    pub is_action: fn(&State, &Action) -> bool,
    /// The witnesses that show this fault happened, each with whether it
    /// applies to a configuration.
    pub witnesses: fn(&Config) -> Vec<Listed>,
    /// Its name in reports ("1 fault: lease expiry").
    pub name: &'static str,
    /// Singular and plural in the bounds line ("≤ 1 crash", "crashes").
    pub unit: (&'static str, &'static str),
    /// How the risk report turns `[rates]` into the chance that it strikes
    /// one message (DESIGN §5).
    pub rate: Rate,
}

/// A fault's `[rates]` inputs and its per-message probability. A key's
/// suffix is its unit (`-fraction` in 0..=1, `-per-hour` events per hour,
/// `-ms` a window), so the reader checks every key the same way.
pub struct Rate {
    pub keys: &'static [&'static str],
    /// `None` when an input it needs is not given: the fault is unrated.
    pub per_message: fn(&RateInput) -> Option<f64>,
}

/// A `[rates]` value by key, if given.
pub type RateInput<'a> = dyn Fn(&str) -> Option<f64> + 'a;

/// Events per hour that strike inside a window of so many milliseconds:
/// rate × window, the first-order chance for one message.
const MS_PER_HOUR: f64 = 3.6e6;

/// Every fault, in the order of the bounds line. `Fault as usize` indexes it.
pub const REGISTRY: [FaultKind; 14] = [
    FaultKind {
        fault: Fault::Crash,
        field: "crashes",
        default: 1,
        bounds_doc: "consumer crashes, in total (a restarted consumer can crash again)",
        budget: |b| b.crashes,
        set_budget: |b, n| b.crashes = n,
        vocabulary: |_| true,
        possible: |_| true,
        spent: |_, t| super::crashes(t.state),
        // A broker or store crash never stays within the budgets (their
        // faults are their own timers), so only the producer's is apart.
        is_action: |_, a| matches!(a, ActorModelAction::Crash(id) if usize::from(*id) != PRODUCER),
        witnesses: witnesses::of_crash,
        name: "consumer crash",
        unit: ("consumer crash", "consumer crashes"),
        rate: Rate {
            keys: &["consumer-crashes-per-hour", "gap-ms"],
            per_message: |r| Some(r("consumer-crashes-per-hour")? * r("gap-ms")? / MS_PER_HOUR),
        },
    },
    FaultKind {
        fault: Fault::Loss,
        field: "losses",
        default: 1,
        bounds_doc: "Leg 1 messages lost (a publish or its confirm)",
        budget: |b| b.losses,
        set_budget: |b, n| b.losses = n,
        vocabulary: |_| true,
        possible: |_| true,
        spent: |_, t| t.leg1_lost.iter().sum(),
        is_action: |_, a| matches!(a, ActorModelAction::Drop(env) if !env.msg.is_effect_reply()),
        witnesses: witnesses::of_loss,
        name: "lost message",
        unit: ("lost message", "lost messages"),
        rate: Rate {
            keys: &["publish-loss-fraction"],
            per_message: |r| r("publish-loss-fraction"),
        },
    },
    FaultKind {
        fault: Fault::SpuriousRetry,
        field: "retries",
        default: 1,
        bounds_doc: "spurious re-publishes: a retry while the previous attempt or its confirm \
                     is still on its way; a retry after a real loss is paid for by `losses`",
        budget: |b| b.retries,
        set_budget: |b, n| b.retries = n,
        vocabulary: |_| true,
        possible: |c| c.pipeline.may_republish(),
        spent: |_, t| spurious_retries(t),
        is_action: confirm_late,
        witnesses: witnesses::of_spurious_retry,
        name: "retry after a merely slow confirm",
        unit: ("spurious retry", "spurious retries"),
        rate: Rate {
            keys: &["publish-retry-fraction", "retry-stored-fraction"],
            per_message: |r| {
                Some(r("publish-retry-fraction")? * r("retry-stored-fraction").unwrap_or(1.0))
            },
        },
    },
    FaultKind {
        fault: Fault::LeaseExpiry,
        field: "lease-expiries",
        default: 1,
        bounds_doc: "lease expiries (visibility timeout, consumer timeout) while the holder may still work",
        budget: |b| b.lease_expiries,
        set_budget: |b, n| b.lease_expiries = n,
        vocabulary: |p| !p.log,
        possible: |c| !c.pipeline.log,
        // The broker counts its own expiries down and stops arming lease
        // timers when none are left.
        spent: |c, t| c.bounds.lease_expiries - super::broker(t.state).expiries_left,
        is_action: |_, a| matches!(a, ActorModelAction::Timeout(_, Timer::Lease(_))),
        witnesses: witnesses::of_lease_expiry,
        name: "lease expiry",
        unit: ("lease expiry", "lease expiries"),
        rate: Rate {
            keys: &["lease-overrun-fraction"],
            per_message: |r| r("lease-overrun-fraction"),
        },
    },
    FaultKind {
        fault: Fault::Rebalance,
        field: "rebalances",
        default: 1,
        bounds_doc: "rebalances that move a Kafka partition to another member while its owner \
                     may still work (a handler outliving `max.poll.interval.ms`)",
        budget: |b| b.rebalances,
        set_budget: |b, n| b.rebalances = n,
        vocabulary: |p| p.log,
        possible: |c| c.pipeline.log && c.bounds.consumers >= 2,
        // The coordinator counts its own rebalances down and disarms them
        // when none are left.
        spent: |c, t| {
            super::broker(t.state)
                .log
                .map_or(0, |l| c.bounds.rebalances - l.rebalances_left)
        },
        is_action: |_, a| matches!(a, ActorModelAction::Timeout(_, Timer::Rebalance(_))),
        witnesses: witnesses::of_rebalance,
        name: "rebalance",
        unit: ("rebalance", "rebalances"),
        rate: Rate {
            keys: &["rebalances-per-hour", "in-flight-ms"],
            per_message: |r| Some(r("rebalances-per-hour")? * r("in-flight-ms")? / MS_PER_HOUR),
        },
    },
    FaultKind {
        fault: Fault::TransactionAbort,
        field: "transaction-aborts",
        default: 1,
        bounds_doc: "aborts of the owner's open Kafka transaction by the coordinator \
                     (`transaction.timeout.ms` passed): the producer epoch is bumped and \
                     the consumer's position stays",
        budget: |b| b.transaction_aborts,
        set_budget: |b, n| b.transaction_aborts = n,
        vocabulary: |p| p.transactions,
        // The abort is a bump of the fencing token; without fencing
        // nothing would refuse the aborted transaction's commit.
        possible: |c| {
            c.pipeline.transactions
                && c.pipeline.stale_completion == crate::pipeline::StaleCompletion::Rejected
        },
        spent: |c, t| {
            super::broker(t.state)
                .log
                .map_or(0, |l| c.bounds.transaction_aborts - l.aborts_left)
        },
        is_action: |_, a| matches!(a, ActorModelAction::Timeout(_, Timer::TxnAbort)),
        witnesses: witnesses::of_transaction_abort,
        name: "transaction abort",
        unit: ("transaction abort", "transaction aborts"),
        rate: Rate {
            keys: &["transaction-aborts-per-hour", "in-flight-ms"],
            per_message: |r| {
                Some(r("transaction-aborts-per-hour")? * r("in-flight-ms")? / MS_PER_HOUR)
            },
        },
    },
    FaultKind {
        fault: Fault::PhantomRedelivery,
        field: "phantom-redeliveries",
        default: 1,
        bounds_doc: "deleted messages that come back (SQS standard, S1: a server holding a \
                     copy was down during the delete)",
        budget: |b| b.phantom_redeliveries,
        set_budget: |b, n| b.phantom_redeliveries = n,
        vocabulary: |p| p.phantom_redelivery,
        possible: |c| c.pipeline.phantom_redelivery,
        // The broker counts its own phantoms down and disarms them when
        // none are left.
        spent: |c, t| c.bounds.phantom_redeliveries - super::broker(t.state).phantoms_left,
        is_action: |_, a| matches!(a, ActorModelAction::Timeout(_, Timer::Phantom(_))),
        witnesses: witnesses::of_phantom,
        name: "deleted message came back",
        unit: ("phantom redelivery", "phantom redeliveries"),
        rate: Rate {
            keys: &["phantom-duplicate-fraction"],
            per_message: |r| r("phantom-duplicate-fraction"),
        },
    },
    FaultKind {
        fault: Fault::DedupWindowExpiry,
        field: "dedup-window-expiries",
        default: 1,
        bounds_doc: "publish-dedup windows that close before a retry arrives (SQS FIFO's \
                     5-minute deduplication interval, S4)",
        budget: |b| b.dedup_window_expiries,
        set_budget: |b, n| b.dedup_window_expiries = n,
        vocabulary: |p| p.dedup_window,
        possible: |c| c.pipeline.dedup_window && c.pipeline.publish_dedup && c.retries_possible(),
        spent: |c, t| c.bounds.dedup_window_expiries - super::broker(t.state).windows_left,
        is_action: |_, a| matches!(a, ActorModelAction::Timeout(_, Timer::DedupWindow(_))),
        witnesses: witnesses::of_window_expiry,
        name: "dedup window elapsed",
        unit: ("dedup window expiry", "dedup window expiries"),
        rate: Rate {
            keys: &["retry-after-window-fraction"],
            per_message: |r| r("retry-after-window-fraction"),
        },
    },
    FaultKind {
        fault: Fault::BrokerFailover,
        field: "broker-failovers",
        default: 1,
        bounds_doc: "leader failovers of a replicated broker (`broker.replicas` ≥ 2): a \
                     follower takes over with what it has replicated (Leg 2)",
        budget: |b| b.broker_failovers,
        set_budget: |b, n| b.broker_failovers = n,
        vocabulary: |p| p.durability.replicated(),
        possible: |c| c.pipeline.durability.replicated(),
        spent: |c, t| {
            super::broker(t.state)
                .replication
                .as_ref()
                .map_or(0, |r| c.bounds.broker_failovers - r.failovers_left)
        },
        is_action: |_, a| matches!(a, ActorModelAction::Timeout(_, Timer::Failover(_))),
        witnesses: witnesses::of_failover,
        name: "leader failover",
        unit: ("broker failover", "broker failovers"),
        rate: Rate {
            keys: &["broker-failovers-per-hour", "replication-lag-ms"],
            per_message: |r| {
                Some(r("broker-failovers-per-hour")? * r("replication-lag-ms")? / MS_PER_HOUR)
            },
        },
    },
    FaultKind {
        fault: Fault::IsrShrink,
        field: "isr-shrinks",
        default: 1,
        bounds_doc: "in-sync followers that fall behind and leave the in-sync set \
                     (`replica.lag.time.max.ms` passed), until they catch up",
        budget: |b| b.isr_shrinks,
        set_budget: |b, n| b.isr_shrinks = n,
        vocabulary: |p| p.durability.replicated(),
        possible: |c| c.pipeline.durability.replicated(),
        spent: |c, t| {
            super::broker(t.state)
                .replication
                .as_ref()
                .map_or(0, |r| c.bounds.isr_shrinks - r.shrinks_left)
        },
        is_action: |_, a| matches!(a, ActorModelAction::Timeout(_, Timer::IsrShrink(_))),
        witnesses: witnesses::of_isr_shrink,
        name: "follower left the in-sync set",
        unit: ("ISR shrink", "ISR shrinks"),
        rate: Rate {
            keys: &["isr-shrinks-per-hour", "replication-lag-ms"],
            per_message: |r| {
                Some(r("isr-shrinks-per-hour")? * r("replication-lag-ms")? / MS_PER_HOUR)
            },
        },
    },
    FaultKind {
        fault: Fault::ProducerCrash,
        field: "producer-crashes",
        // Opt-in: a producer that cannot crash is what every schema-1 file
        // meant, and `[producer] publish` says what a restart re-publishes.
        default: 0,
        bounds_doc: "producer crashes, in total; it always restarts, as a new session (K2), \
                     and re-publishes what `[producer] publish` kept",
        budget: |b| b.producer_crashes,
        set_budget: |b, n| b.producer_crashes = n,
        vocabulary: |_| true,
        possible: |_| true,
        spent: |_, t| super::producer_crashes(t.state),
        is_action: |_, a| matches!(a, ActorModelAction::Crash(id) if usize::from(*id) == PRODUCER),
        witnesses: witnesses::of_producer_crash,
        name: "producer crash",
        unit: ("producer crash", "producer crashes"),
        rate: Rate {
            keys: &["producer-crashes-per-hour", "confirm-latency-ms"],
            per_message: |r| {
                Some(r("producer-crashes-per-hour")? * r("confirm-latency-ms")? / MS_PER_HOUR)
            },
        },
    },
    FaultKind {
        fault: Fault::ReplyLoss,
        field: "reply-losses",
        // Opt-in, like producer crashes: a store whose replies always
        // arrive is what every schema-1 file meant.
        default: 0,
        bounds_doc: "effect-store replies lost after the store's transaction committed: \
                     dropped on the way back, cut by a store crash between commit and reply, \
                     or later than the consumer's timeout",
        budget: |b| b.reply_losses,
        set_budget: |b, n| b.reply_losses = n,
        vocabulary: |_| true,
        possible: |c| c.pipeline.awaits_effect_reply(),
        spent: |_, t| t.replies_lost,
        is_action: |_, a| matches!(a, ActorModelAction::Drop(env) if env.msg.is_effect_reply()),
        witnesses: witnesses::of_reply_loss,
        name: "lost store reply",
        unit: ("lost store reply", "lost store replies"),
        rate: Rate {
            keys: &["store-timeout-fraction"],
            per_message: |r| r("store-timeout-fraction"),
        },
    },
    FaultKind {
        fault: Fault::LedgerExpiry,
        field: "ledger-expiries",
        // Opt-in: a ledger that keeps its keys is what every schema-1 file
        // meant, and `store.retention` says when a key may go.
        default: 0,
        bounds_doc: "ledger keys the store's retention drops (W4): any time after the write                      with `store.retention = \"shorter-than-replay\"`, only past the replay                      horizon with `\"longer-than-replay\"`",
        budget: |b| b.ledger_expiries,
        set_budget: |b, n| b.ledger_expiries = n,
        vocabulary: |_| true,
        possible: |c| {
            let p = &c.pipeline;
            p.retention != crate::pipeline::Retention::Forever
                && p.has_ledger()
                && p.ledger_check
                && p.touches_store()
        },
        // The store counts its own expiries down and disarms them when none
        // are left.
        spent: |c, t| c.bounds.ledger_expiries - super::store(t.state).expiries_left,
        is_action: |_, a| matches!(a, ActorModelAction::Timeout(_, Timer::Expire(_))),
        witnesses: witnesses::of_ledger_expiry,
        name: "ledger key expired",
        unit: ("ledger expiry", "ledger expiries"),
        rate: Rate {
            keys: &["expired-key-replay-fraction"],
            per_message: |r| r("expired-key-replay-fraction"),
        },
    },
    FaultKind {
        fault: Fault::OperatorReplay,
        field: "operator-replays",
        // Opt-in: an operator's replay is the scenario's question.
        default: 0,
        bounds_doc: "operator replays of what was already done: a done message re-sent from an \
                     archive or shovelled back (queues), the group's committed offset reset to \
                     the beginning (Kafka, `kafka-consumer-groups --reset-offsets`)",
        budget: |b| b.operator_replays,
        set_budget: |b, n| b.operator_replays = n,
        vocabulary: |_| true,
        possible: |_| true,
        spent: |c, t| c.bounds.operator_replays - super::broker(t.state).replays_left,
        is_action: |_, a| matches!(a, ActorModelAction::Timeout(_, Timer::Replay(_))),
        witnesses: witnesses::of_operator_replay,
        name: "operator replay",
        unit: ("operator replay", "operator replays"),
        rate: Rate {
            keys: &["replayed-message-fraction"],
            per_message: |r| r("replayed-message-fraction"),
        },
    },
];

impl Fault {
    pub fn kind(self) -> &'static FaultKind {
        &REGISTRY[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.kind().name
    }
}

/// What a state has lost, counted once and shared by the budgets that read
/// it.
pub struct Tally<'a> {
    pub state: &'a State,
    /// Leg 1 messages lost so far, per operation: sent, minus received,
    /// minus still in flight.
    pub leg1_lost: [u8; MAX_OPERATIONS],
    /// The effect store's replies lost so far.
    pub replies_lost: u8,
    /// Every other message lost so far.
    pub other_lost: u8,
    /// Per operation: the retries its settled attempts pay for: its lost
    /// Leg 1 messages, the confirms a broker failover failed, and the
    /// confirms that reached a restarted producer addressed to its dead
    /// session.
    pub paid: [u8; MAX_OPERATIONS],
}

impl<'a> Tally<'a> {
    pub fn of(s: &'a State) -> Tally<'a> {
        let mut leg1_lost = s.history.leg1_outstanding;
        let mut replies_lost = s.history.replies_outstanding;
        let mut other_lost = s.history.other_outstanding;
        for msg in in_flight(s) {
            match msg.leg1_op() {
                Some(op) => leg1_lost[op as usize] -= 1,
                None if msg.is_effect_reply() => replies_lost -= 1,
                None => other_lost -= 1,
            }
        }
        let mut paid = leg1_lost;
        for (p, stale) in paid.iter_mut().zip(s.history.stale_confirms) {
            *p += stale;
        }
        if let Some(r) = &super::broker(s).replication {
            for (p, d) in paid.iter_mut().zip(&r.dropped) {
                *p += d;
            }
        }
        Tally {
            state: s,
            leg1_lost,
            replies_lost,
            other_lost,
            paid,
        }
    }
}

/// Spurious re-publishes so far: per operation, the retries not paid for by
/// a settled attempt (see [`Tally::paid`]). When every attempt of an
/// operation has been settled (nothing of it is in flight and it is
/// unconfirmed: each attempt lost a message, or its confirm reached a
/// session a producer crash had ended), the retry that follows is free:
/// the budget can never strand an operation whose publish was lost. A
/// restarted outbox relay's re-publish is an attempt too, paid for by the
/// crash, so its settlement only adds to what is paid.
fn spurious_retries(t: &Tally) -> u8 {
    super::producer(t.state)
        .retried
        .iter()
        .zip(t.paid)
        .map(|(&r, l)| r.saturating_sub(l))
        .sum()
}

/// The producer's timer fires while an attempt of the operation or its
/// confirm is still on its way, or the confirm waits at a replicated broker
/// for the record to be committed: the confirm is merely slow. The producer
/// re-publishes (a spurious retry) or, its policy spent, gives up on an
/// operation that may yet be confirmed; the latter spends no unit, as it
/// happens at most once per operation. A timer firing after every attempt
/// was lost, or whose confirm a failover failed, is the producer's policy
/// at work, not a fault.
fn confirm_late(s: &State, a: &Action) -> bool {
    match a {
        ActorModelAction::Timeout(_, Timer::Retry(op)) => {
            in_flight_from(s, Id::from(PRODUCER))
                .chain(in_flight_from(s, Id::from(BROKER)))
                .any(|m| m.leg1_op() == Some(*op))
                || super::broker(s)
                    .replication
                    .as_ref()
                    .is_some_and(|r| r.waiting.iter().any(|w| w.op == *op))
        }
        _ => false,
    }
}

/// The fault action `a` is when taken from state `s`, if any.
pub fn fault(s: &State, a: &Action) -> Option<Fault> {
    REGISTRY
        .iter()
        .find(|k| (k.is_action)(s, a))
        .map(|k| k.fault)
}

/// Total fault budgets, which stateright itself does not bound: it limits
/// concurrent crashes only, lets any actor crash, and loses any message.
/// Only consumers and the producer crash and only Leg 1 messages are lost
/// here; the broker's own faults are its timers.
pub fn within_budgets(cfg: &Config, s: &State) -> bool {
    let broker_and_store_up = s.crashed[BROKER..FIRST_CONSUMER].iter().all(|c| !c);
    let tally = Tally::of(s);
    broker_and_store_up
        && tally.other_lost == 0
        && !late_effect_retry(cfg, s)
        && !super::horizon::expired_early(cfg, s)
        && REGISTRY
            .iter()
            .all(|k| (k.spent)(cfg, &tally) <= (k.budget)(&cfg.bounds))
}

/// A consumer re-sent an effect while its first request or that request's
/// reply was still on its way: two of one job's effect messages in flight
/// at once. Such a late reply reaches the same store state as a lost reply
/// followed by the retry, which the `reply-losses` budget explores, so the
/// checker leaves the late case out (and the timeout is never explored
/// before the reply is gone).
fn late_effect_retry(cfg: &Config, s: &State) -> bool {
    if !cfg.pipeline.retry_effect_on_timeout || cfg.bounds.reply_losses == 0 {
        return false;
    }
    effect_round_trips(s)
        .enumerate()
        .any(|(i, job)| effect_round_trips(s).skip(i + 1).any(|j| j == job))
}

/// The job of every effect request awaiting its reply (on its way, or a
/// call the payment API is running), and of every reply, on its way.
fn effect_round_trips(s: &State) -> impl Iterator<Item = super::msg::JobRef> + '_ {
    let running = super::store(s)
        .running
        .iter()
        .filter(|r| r.reply)
        .map(|r| r.job);
    in_flight(s)
        .filter_map(|m| match m {
            Msg::Apply {
                job, reply: true, ..
            }
            | Msg::Applied { job, .. }
            | Msg::Conflict { job, .. } => Some(*job),
            _ => None,
        })
        .chain(running)
}

/// Whether taking `a` from `s` (a state within the budgets) leaves them:
/// exactly the actions whose next state fails [`within_budgets`]. Most such
/// actions are a crash or a lost message beyond its budget, or a fault the
/// model never allows (a crash of the broker or store, a lost message off
/// Leg 1), or a retry beyond `bounds.retries`; all are decided
/// from `s` alone, so the checker never builds the states it would throw
/// away. `tests/faults.rs` checks the equivalence on every reachable state
/// of several configurations.
pub fn leaves_budgets(m: &Model, s: &State, t: &Tally, a: &Action) -> bool {
    let b = &m.cfg.bounds;
    match a {
        ActorModelAction::Crash(id) => match usize::from(*id) {
            PRODUCER => super::producer_crashes(s) >= b.producer_crashes,
            i if i < FIRST_CONSUMER => true,
            _ => super::crashes(s) >= b.crashes,
        },
        ActorModelAction::Drop(env) if env.msg.is_effect_reply() => {
            t.replies_lost >= b.reply_losses
        }
        ActorModelAction::Drop(env) => {
            env.msg.leg1_op().is_none() || t.leg1_lost.iter().sum::<u8>() >= b.losses
        }
        // A reply merely late, or a request not yet taken, reaches the same
        // store state as a lost reply followed by the retry, so the client's
        // timeout is explored once the reply is gone: the retry is then the
        // consumer's own step, not a second fault.
        ActorModelAction::Timeout(_, Timer::EffectTimeout(job)) => {
            effect_round_trips(s).any(|j| j == *job)
        }
        // A retention longer than the replay horizon drops a key only past
        // it; no other step brings an operation back inside the horizon.
        ActorModelAction::Timeout(_, Timer::Expire(key)) => {
            m.cfg.pipeline.retention == crate::pipeline::Retention::LongerThanReplay
                && super::horizon::replay_possible(
                    &m.cfg,
                    s,
                    super::horizon::op_of_key(&m.cfg, s, *key),
                )
        }
        // A re-publish raises the operation's retries by one and loses
        // nothing, so its spurious count (retries beyond losses) may grow.
        ActorModelAction::Timeout(_, Timer::Retry(op)) => {
            let p = super::producer(s);
            let (i, lost) = (*op as usize, t.paid[*op as usize]);
            !super::producer::gives_up(&m.cfg, p, *op)
                && spurious_retries(t) - p.retried[i].saturating_sub(lost)
                    + (p.retried[i] + 1).saturating_sub(lost)
                    > b.retries
        }
        _ => false,
    }
}

/// The actions enabled in `s` that stay within the budgets (no-ops
/// included): what the checker, the searches and the Explorer take.
pub fn within_budget_actions(m: &Model, s: &State, out: &mut Vec<Action>) {
    debug_assert!(out.is_empty(), "callers pass an empty list");
    m.actions(s, out);
    let t = Tally::of(s);
    out.retain(|a| !leaves_budgets(m, s, &t, a));
}

/// Each fault's budget under `cfg`, 0 where the pipeline rules it out.
pub fn effective_budgets(cfg: &Config) -> impl Iterator<Item = (&'static FaultKind, u8)> + '_ {
    REGISTRY.iter().map(move |k| {
        let n = if (k.possible)(cfg) {
            (k.budget)(&cfg.bounds)
        } else {
            0
        };
        (k, n)
    })
}

/// The faults the pipeline allows but `cfg` leaves at 0: what a proof
/// under it does not cover.
pub fn left_out(cfg: &Config) -> impl Iterator<Item = &'static FaultKind> + '_ {
    REGISTRY
        .iter()
        .filter(move |k| (k.possible)(cfg) && (k.budget)(&cfg.bounds) == 0)
}
