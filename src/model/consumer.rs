//! A consumer receives a delivery and crosses its two boundaries, effect
//! and completion, in the order the pipeline dictates. Each crossing is a
//! request and a reply, so a crash can fall between any two of them. Only
//! its incarnation number is durable; the work it holds is volatile.

use super::durable::Durable;
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
pub fn start(storage: &Option<Durable>, o: &mut Out) -> ConsumerState {
    let durable = Durable::on_start(storage);
    let incarnation = durable.incarnation;
    o.save(durable);
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

/// Whether a ledger row still has to be written after the effect.
fn records_after_effect(cfg: &Config, j: &Job) -> Option<Key> {
    match cfg.pipeline.ledger_write {
        LedgerWrite::AfterEffect => ledger_key(cfg, j),
        LedgerWrite::WithEffect => None,
    }
}

/// Sends the effect request. Returns the stage to wait in, or None when
/// nothing is left to wait for (the reply would change nothing).
fn apply(cfg: &Config, j: &Job, o: &mut Out) -> Option<Stage> {
    let wait = cfg.pipeline.order == CompletionOrder::EffectThenCompletion
        || records_after_effect(cfg, j).is_some();
    o.send(
        Id::from(STORE),
        Msg::Apply {
            job: j.job,
            op: j.op,
            key: ledger_key(cfg, j),
            reply: wait,
        },
    );
    wait.then_some(Stage::Applying)
}

/// Sends completion. Only a consumer that still has the effect to apply
/// waits for the verdict (a synchronous commit); after the effect it is
/// fire-and-forget.
fn complete(cfg: &Config, j: &Job, o: &mut Out) -> Option<Stage> {
    let wait = cfg.pipeline.order == CompletionOrder::CompletionThenEffect;
    o.send(
        Id::from(BROKER),
        Msg::Complete {
            job: j.job,
            reply: wait,
            // The last step of a job asks for the next one in the same
            // request.
            poll: !wait,
        },
    );
    wait.then_some(Stage::Completing)
}

/// What follows the effect: the separate ledger write if there is one,
/// then completion if it has not been recorded yet.
fn after_effect(cfg: &Config, j: &Job, o: &mut Out) -> Option<Stage> {
    if j.stage == Stage::Applying
        && let Some(key) = records_after_effect(cfg, j)
    {
        o.send(Id::from(STORE), Msg::Record { job: j.job, key });
        return Some(Stage::Recording);
    }
    match cfg.pipeline.order {
        CompletionOrder::EffectThenCompletion => complete(cfg, j, o),
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
            let stage = match cfg.pipeline.order {
                CompletionOrder::EffectThenCompletion => apply(cfg, &j, o),
                CompletionOrder::CompletionThenEffect => complete(cfg, &j, o),
            };
            match stage {
                Some(stage) => {
                    j.stage = stage;
                    next.jobs.push(j);
                    next.jobs.sort();
                }
                None => o.send(Id::from(BROKER), Msg::Poll),
            }
            return Some(next);
        }
        Msg::Applied { job, .. } => (job, Stage::Applying),
        Msg::Recorded { job } => (job, Stage::Recording),
        Msg::Completed { job, .. } => (job, Stage::Completing),
        _ => return None,
    };
    // A reply for work this incarnation does not hold was meant for a
    // previous one.
    let at = s
        .jobs
        .iter()
        .position(|j| j.job == job && j.stage == stage)?;
    let j = s.jobs[at];
    let (then, asked) = match msg {
        Msg::Completed { accepted: true, .. } => (apply(cfg, &j, o), false),
        // A rejected completion means the lease moved on: another delivery
        // owns the work now.
        Msg::Completed { .. } => (None, false),
        _ => (
            after_effect(cfg, &j, o),
            cfg.pipeline.order == CompletionOrder::EffectThenCompletion,
        ),
    };
    match then {
        Some(stage) => next.jobs[at].stage = stage,
        None => {
            next.jobs.remove(at);
            if !asked {
                o.send(Id::from(BROKER), Msg::Poll);
            }
        }
    }
    next.jobs.sort();
    Some(next)
}
