//! A consumer receives a delivery and crosses its two boundaries, effect
//! and completion, in the order the pipeline dictates. Each crossing is a
//! request and a reply, so a crash can fall between any two of them. Only
//! its incarnation number is durable; the work it holds is volatile.
//!
//! A consumer that holds several records at once (a Kafka poll's batch, a
//! RabbitMQ prefetch window) works through them in the order they came,
//! one at a time, or hands them to a pool whose workers start them in any
//! order.

use super::durable::Durable;
use super::msg::Timer;
use super::msg::{JobRef, Key, Msg};
use super::{BROKER, Out, STORE};
use crate::pipeline::{
    AfterAbort, AutoCommit, CompletionOrder, Config, LedgerKey, LedgerWrite, Lookup,
};
use serde::Serialize;
use stateright::actor::Id;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Stage {
    /// Fetched in a batch, waiting for the records before it (a Kafka poll
    /// with synchronous processing).
    Queued,
    /// Waiting for the store to apply the effect.
    Applying,
    /// Waiting for the store to write the ledger row (after the effect).
    Recording,
    /// Waiting for the broker to accept completion.
    Completing,
    /// Waiting for the ledger lookup, a transaction of its own
    /// (check-then-act).
    Looking,
    /// Waiting for the ledger row written before the effect.
    Claiming,
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
    /// librdkafka's offset store (background auto-commit): the latest
    /// record handed to the application and not yet committed by the
    /// timer. Volatile, like everything here.
    pub stored: Option<JobRef>,
}

/// Starts or restarts. A restart opens a new session, which tells the
/// broker that the old one's leases are free (BROKER-FACTS R2).
pub fn start(storage: &Option<Durable>, o: &mut Out) -> ConsumerState {
    let incarnation = Durable::next_incarnation(storage);
    o.save(Durable::Consumer { incarnation });
    if incarnation > 1 {
        o.send(Id::from(BROKER), Msg::Join { incarnation });
    }
    ConsumerState {
        incarnation,
        jobs: Vec::new(),
        stored: None,
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
        LedgerWrite::WithEffect | LedgerWrite::BeforeEffect => None,
    }
}

/// Whether the effect's own transaction refuses a present key (a unique
/// insert), for this delivery. A payment API looks its key table up itself,
/// when the call starts, whichever way it guards a concurrent call.
fn unique_check(cfg: &Config, j: &Job) -> bool {
    checks(cfg, j.job) && (cfg.pipeline.lookup == Lookup::UniqueInsert || cfg.pipeline.api_keyed())
}

/// Whether this delivery is looked up at all: the RabbitMQ shortcut
/// trusts a first delivery to be the first copy.
fn checks(cfg: &Config, job: JobRef) -> bool {
    cfg.pipeline.ledger_check && !(cfg.pipeline.dedup_only_if_redelivered && job.delivery == 1)
}

/// The first request of a delivery's effect side: a lookup of its own
/// (check-then-act), the ledger row written before the effect, or the
/// effect. The reports read it to say what a delivery leads to.
pub fn first_request(cfg: &Config, job: JobRef) -> Stage {
    let p = &cfg.pipeline;
    if !p.has_ledger() {
        Stage::Applying
    } else if p.lookup == Lookup::CheckThenAct && !p.api_keyed() && checks(cfg, job) {
        Stage::Looking
    } else if p.ledger_write == LedgerWrite::BeforeEffect {
        Stage::Claiming
    } else {
        Stage::Applying
    }
}

/// Sends the effect request (`retry`: again, after its reply did not
/// come). Returns the stage to wait in, or None when nothing is left to
/// wait for (the reply would change nothing).
fn request_effect(cfg: &Config, j: &Job, retry: bool, o: &mut Out) -> Option<Stage> {
    let p = &cfg.pipeline;
    let wait =
        p.order == CompletionOrder::EffectThenCompletion || records_after_effect(cfg, j).is_some();
    // A row written before the effect is not written again; a lookup of
    // its own (check-then-act) is not repeated inside the effect's
    // transaction.
    let key = ledger_key(cfg, j).filter(|_| p.ledger_write != LedgerWrite::BeforeEffect);
    o.send(
        Id::from(STORE),
        Msg::Apply {
            job: j.job,
            op: j.op,
            key,
            check: unique_check(cfg, j),
            reply: wait,
            retry,
        },
    );
    // The client's timeout can fire only when a reply can be lost: the
    // timer stands for nothing otherwise.
    if wait && p.retry_effect_on_timeout && cfg.bounds.reply_losses > 0 {
        o.set_timer(Timer::EffectTimeout(j.job), super::no_delay());
    }
    wait.then_some(Stage::Applying)
}

/// The effect side of a job, from its [`first_request`]. A poison
/// message's handler fails instead, after its partial effect if it has one,
/// and the delivery goes back to the broker.
fn apply(cfg: &Config, j: &Job, o: &mut Out) -> Option<Stage> {
    if cfg.pipeline.poisoned(j.op) {
        if cfg.pipeline.poison_partial_effect {
            o.send(Id::from(STORE), Msg::Partial { op: j.op });
        }
        o.send(Id::from(BROKER), Msg::Release { job: j.job });
        return None;
    }
    match (first_request(cfg, j.job), ledger_key(cfg, j)) {
        (Stage::Looking, Some(key)) => {
            o.send(Id::from(STORE), Msg::Lookup { job: j.job, key });
            Some(Stage::Looking)
        }
        _ => claim_or_apply(cfg, j, o),
    }
}

/// The ledger row, if it is written before the effect, else the effect.
fn claim_or_apply(cfg: &Config, j: &Job, o: &mut Out) -> Option<Stage> {
    if cfg.pipeline.ledger_write == LedgerWrite::BeforeEffect
        && let Some(key) = ledger_key(cfg, j)
    {
        o.send(Id::from(STORE), Msg::Claim { job: j.job, key });
        return Some(Stage::Claiming);
    }
    request_effect(cfg, j, false, o)
}

/// The effect store's reply for `job` did not come in time: the client
/// sends the same effect again, with the same key, and waits anew. The
/// checker fires this only once the reply was lost (a reply merely late
/// meets the same store state, [`super::faults`]).
pub fn on_effect_timeout(
    cfg: &Config,
    s: &ConsumerState,
    job: JobRef,
    o: &mut Out,
) -> Option<ConsumerState> {
    let j = s
        .jobs
        .iter()
        .find(|j| j.job == job && j.stage == Stage::Applying)?;
    request_effect(cfg, j, true, o);
    Some(s.clone())
}

/// The consumer asks for the next record. Under a prefetch window the
/// broker pushes by itself while the channel has room, so there is
/// nothing to ask.
fn ask_for_more(cfg: &Config, o: &mut Out) {
    if cfg.pipeline.prefetch == 1 {
        o.send(Id::from(BROKER), Msg::Poll);
    }
}

/// Keeps the jobs in a canonical order. Under a prefetch window their
/// order is the channel's delivery-tag order, which the consumer works
/// through and a `multiple` ack reads, so it is kept as it arrived.
fn settle(cfg: &Config, jobs: &mut [Job]) {
    if cfg.pipeline.prefetch == 1 {
        jobs.sort();
    }
}

/// Sends completion, if this step has one to send. Only a consumer that
/// still has the effect to apply waits for the verdict (a synchronous
/// commit); after the effect it is fire-and-forget. `more`: records of the
/// same poll wait behind this one. Returns the stage to wait in and
/// whether the loop has already asked for the next poll.
fn complete(cfg: &Config, j: &Job, more: bool, o: &mut Out) -> (Option<Stage>, bool) {
    let p = &cfg.pipeline;
    let send = |poll: bool, reply: bool, o: &mut Out| {
        o.send(
            Id::from(BROKER),
            Msg::Complete {
                job: j.job,
                reply,
                poll,
            },
        )
    };
    // Commit-first waits for the verdict before the effect; a transaction
    // waits for `commitTransaction` to return, since a fenced one voids
    // the rest of its batch.
    // autoAck: the broker recorded completion at delivery; the consumer
    // only asks for more.
    if p.auto_ack {
        ask_for_more(cfg, o);
        return (None, true);
    }
    if p.order == CompletionOrder::CompletionThenEffect || p.transactions {
        send(false, true, o);
        return (Some(Stage::Completing), false);
    }
    if cfg.pipeline.asynchronous() {
        // The loop polled at hand-off; auto-commit committed then, or
        // commits on its timer.
        if p.auto_commit == AutoCommit::Off {
            send(false, false, o);
        }
        return (None, true);
    }
    // The last step of a job asks for the next one in the same request;
    // in-poll auto-commit commits on that poll, once the batch is through;
    // the background timer commits on its own.
    match p.auto_commit {
        AutoCommit::Off => send(!more, false, o),
        AutoCommit::InPoll if !more => send(true, false, o),
        AutoCommit::Background if !more => ask_for_more(cfg, o),
        _ => {}
    }
    (None, !more)
}

/// What follows the effect: the separate ledger write if there is one,
/// then completion if it has not been recorded yet.
fn after_effect(cfg: &Config, j: &Job, more: bool, o: &mut Out) -> (Option<Stage>, bool) {
    if j.stage == Stage::Applying
        && let Some(key) = records_after_effect(cfg, j)
    {
        o.send(Id::from(STORE), Msg::Record { job: j.job, key });
        return (Some(Stage::Recording), false);
    }
    match cfg.pipeline.order {
        CompletionOrder::EffectThenCompletion => complete(cfg, j, more, o),
        CompletionOrder::CompletionThenEffect => (None, false),
    }
}

/// Starts a job: its first boundary, in the pipeline's order. A handler
/// whose only effect is its output topic goes straight to the transaction.
fn begin(cfg: &Config, j: &Job, o: &mut Out) -> Option<Stage> {
    match cfg.pipeline.order {
        CompletionOrder::EffectThenCompletion if !cfg.pipeline.touches_store() => {
            complete(cfg, j, false, o).0
        }
        CompletionOrder::EffectThenCompletion => apply(cfg, j, o),
        CompletionOrder::CompletionThenEffect => complete(cfg, j, false, o).0,
    }
}

/// A job left: the next record of a synchronous batch starts, or the loop
/// polls unless it already has. A pool's records start on their own.
fn next_record(cfg: &Config, next: &mut ConsumerState, polled: bool, o: &mut Out) {
    let queued = next.jobs.iter().position(|j| j.stage == Stage::Queued);
    match queued {
        Some(q) if !cfg.pipeline.asynchronous() => match begin(cfg, &next.jobs[q], o) {
            Some(stage) => next.jobs[q].stage = stage,
            None => {
                next.jobs.remove(q);
                next_record(cfg, next, false, o);
            }
        },
        _ if !polled => ask_for_more(cfg, o),
        _ => {}
    }
}

/// A pool worker starts the record at offset `msg`.
pub fn on_work(cfg: &Config, s: &ConsumerState, msg: u8, o: &mut Out) -> Option<ConsumerState> {
    let at = s
        .jobs
        .iter()
        .position(|j| j.job.msg == msg && j.stage == Stage::Queued)?;
    let mut next = s.clone();
    next.jobs[at].stage = apply(cfg, &s.jobs[at], o)?;
    settle(cfg, &mut next.jobs);
    Some(next)
}

/// Hands a record to the pool; the poll loop goes on at once, and an
/// auto-commit poll commits what it just handed over.
fn hand_off(cfg: &Config, j: &Job, o: &mut Out) {
    o.set_timer(super::msg::Timer::Work(j.job.msg), super::no_delay());
    if cfg.pipeline.auto_commit == AutoCommit::InPoll {
        o.send(
            Id::from(BROKER),
            Msg::Complete {
                job: j.job,
                reply: false,
                poll: true,
            },
        );
    } else {
        ask_for_more(cfg, o);
    }
}

/// The background auto-commit timer commits the stored offset, wherever
/// processing stands.
pub fn on_auto_commit(s: &ConsumerState, o: &mut Out) -> Option<ConsumerState> {
    let job = s.stored?;
    o.send(
        Id::from(BROKER),
        Msg::Complete {
            job,
            reply: false,
            poll: false,
        },
    );
    Some(ConsumerState {
        stored: None,
        ..s.clone()
    })
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
                stage: Stage::Queued,
            };
            // Handing the record over stores its offset.
            if cfg.pipeline.auto_commit == AutoCommit::Background {
                next.stored = Some(job);
                o.set_timer(Timer::AutoCommit, super::no_delay());
            }
            let stage = if cfg.pipeline.asynchronous() {
                hand_off(cfg, &j, o);
                Some(Stage::Queued)
            } else if cfg.pipeline.batches() && !s.jobs.is_empty() {
                Some(Stage::Queued)
            } else {
                begin(cfg, &j, o)
            };
            match stage {
                Some(stage) => {
                    j.stage = stage;
                    next.jobs.push(j);
                    settle(cfg, &mut next.jobs);
                }
                None => next_record(cfg, &mut next, cfg.pipeline.asynchronous(), o),
            }
            return Some(next);
        }
        Msg::Applied { job, .. } => {
            o.cancel_timer(Timer::EffectTimeout(job));
            (job, Stage::Applying)
        }
        Msg::Conflict { job, .. } => (job, Stage::Applying),
        Msg::Recorded { job } => (job, Stage::Recording),
        Msg::Claimed { job, .. } => (job, Stage::Claiming),
        Msg::LookedUp { job, .. } => (job, Stage::Looking),
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
    let more = s.jobs.iter().any(|x| x.stage == Stage::Queued);
    let (then, polled) = match msg {
        Msg::Completed { accepted, .. } if cfg.pipeline.transactions => {
            // A fenced or aborted transaction voids what was fetched before
            // it: the loop drops the batch and, if it seeks, fetches it
            // again from the committed offset; otherwise it polls on.
            let seek = !accepted && cfg.pipeline.after_abort == AfterAbort::SeekToCommitted;
            if !accepted {
                next.jobs.retain(|x| x.stage != Stage::Queued);
            }
            if seek {
                o.send(Id::from(BROKER), Msg::Seek);
            }
            (None, seek)
        }
        Msg::Completed { accepted: true, .. } => (apply(cfg, &j, o), false),
        // A rejected completion means the lease moved on: another delivery
        // owns the work now.
        Msg::Completed { .. } => (None, false),
        Msg::LookedUp { found: false, .. } => (claim_or_apply(cfg, &j, o), false),
        // 409: a call with the key is still running at the API; the same
        // call, with the same key, is sent again (Stripe's advice).
        Msg::Conflict { retry, .. } => (request_effect(cfg, &j, retry, o), false),
        // The row written before the effect is the claim; a unique insert
        // that found it already there counts the operation as done.
        Msg::Claimed { fresh, .. } if fresh || !unique_check(cfg, &j) => {
            (request_effect(cfg, &j, false, o), false)
        }
        // The effect is done, or the ledger says so.
        _ => after_effect(cfg, &j, more, o),
    };
    match then {
        Some(stage) => next.jobs[at].stage = stage,
        None => {
            next.jobs.retain(|x| *x != j);
            next_record(cfg, &mut next, polled, o);
        }
    }
    settle(cfg, &mut next.jobs);
    Some(next)
}
