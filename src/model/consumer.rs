//! A consumer receives a delivery and crosses its two boundaries, effect
//! and completion, in the order the pipeline dictates. Each crossing is a
//! request and a reply, so a crash can fall between any two of them. Only
//! its incarnation number is durable; the work it holds is volatile.

use super::msg::{JobRef, Key, Msg};
use super::{BROKER, Out, STORE};
use crate::pipeline::{CompletionOrder, Config, LedgerKey, LedgerWrite};
use serde::Serialize;
use stateright::actor::Id;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Stage {
    /// Waiting for the store to apply the effect.
    Applying,
    /// Waiting for the store to write the ledger row (after the effect).
    Recording,
    /// Waiting for the broker to accept completion.
    Completing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Job {
    pub job: JobRef,
    pub op: u8,
    pub id: u8,
    pub stage: Stage,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ConsumerState {
    pub incarnation: u8,
    /// Work in progress, sorted.
    pub jobs: Vec<Job>,
}

/// Starts or restarts. A restart opens a new session, which tells the
/// broker that the old one's leases are free (BROKER-FACTS R2).
pub fn start(storage: &Option<u8>, o: &mut Out) -> ConsumerState {
    let incarnation = storage.map_or(1, |n| n + 1);
    o.save(incarnation);
    if incarnation > 1 {
        o.send(Id::from(BROKER), Msg::Join { incarnation });
    }
    ConsumerState {
        incarnation,
        jobs: Vec::new(),
    }
}

fn ledger_key(cfg: &Config, j: &Job) -> Option<Key> {
    match cfg.pipeline.ledger_key {
        LedgerKey::None => None,
        LedgerKey::OperationId => Some(Key::Id(j.id)),
        LedgerKey::BrokerOffset => Some(Key::Offset(j.job.msg)),
        LedgerKey::Delivery => Some(Key::Delivery(j.job)),
    }
}

fn apply(cfg: &Config, j: &Job, o: &mut Out) -> Stage {
    o.send(
        Id::from(STORE),
        Msg::Apply {
            job: j.job,
            op: j.op,
            key: ledger_key(cfg, j),
        },
    );
    Stage::Applying
}

fn complete(j: &Job, o: &mut Out) -> Stage {
    o.send(Id::from(BROKER), Msg::Complete { job: j.job });
    Stage::Completing
}

/// What comes after the effect: the separate ledger write if there is one,
/// then completion if it has not been recorded yet.
fn after_effect(cfg: &Config, j: &Job, o: &mut Out) -> Option<Stage> {
    let p = &cfg.pipeline;
    if j.stage == Stage::Applying && p.ledger_write == LedgerWrite::AfterEffect {
        if let Some(key) = ledger_key(cfg, j) {
            o.send(Id::from(STORE), Msg::Record { job: j.job, key });
            return Some(Stage::Recording);
        }
    }
    match p.order {
        CompletionOrder::EffectThenCompletion => Some(complete(j, o)),
        CompletionOrder::CompletionThenEffect => None,
    }
}

pub fn on_msg(cfg: &Config, s: &ConsumerState, msg: Msg, o: &mut Out) -> Option<ConsumerState> {
    let mut next = s.clone();
    let (job, stage) = match msg {
        Msg::Deliver {
            job,
            op,
            id,
            session,
        } => {
            // A delivery addressed to a session that ended with a crash.
            if session != s.incarnation {
                return None;
            }
            let mut j = Job {
                job,
                op,
                id,
                stage: Stage::Applying,
            };
            j.stage = match cfg.pipeline.order {
                CompletionOrder::EffectThenCompletion => apply(cfg, &j, o),
                CompletionOrder::CompletionThenEffect => complete(&j, o),
            };
            next.jobs.push(j);
            next.jobs.sort();
            return Some(next);
        }
        Msg::Applied { job, .. } => (job, Stage::Applying),
        Msg::Recorded { job } => (job, Stage::Recording),
        Msg::Completed { job, .. } => (job, Stage::Completing),
        _ => return None,
    };
    // A reply for work this incarnation does not hold was meant for a
    // previous one.
    let at = s.jobs.iter().position(|j| j.job == job && j.stage == stage)?;
    let j = s.jobs[at];
    let then = match (msg, cfg.pipeline.order) {
        (Msg::Completed { accepted: true, .. }, CompletionOrder::CompletionThenEffect) => {
            Some(apply(cfg, &j, o))
        }
        // A rejected completion means the lease moved on: another delivery
        // owns the work now.
        (Msg::Completed { .. }, _) => None,
        _ => after_effect(cfg, &j, o),
    };
    match then {
        Some(stage) => next.jobs[at].stage = stage,
        None => {
            next.jobs.remove(at);
        }
    }
    next.jobs.sort();
    Some(next)
}
