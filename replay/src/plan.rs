//! From a counterexample to the real operations it stands for.
//!
//! Each step of the trace becomes at most one real operation, read off the
//! step's action and the messages it sent: the broker handing a delivery to
//! a consumer is a receive; the effect store taking an effect request is
//! the effect's transaction; the broker taking a completion is an ack,
//! DeleteMessage or offset commit; a consumer's crash and its rejoin are
//! its connection dropped and reopened; a lease expiry is the shortest
//! lease the broker allows running out; a publish is a publish, whose
//! confirm is read and discarded when the model loses it. Steps inside one
//! actor (a consumer reading a reply, a timer that only re-sends) have no
//! real operation: the real client does them as part of the next one.

use onceproof::check::Trace;
use onceproof::model::msg::{Msg, Timer};
use onceproof::model::{self, Action, BROKER, PRODUCER, STORE, State};
use onceproof::pipeline::{
    CompletionOrder, Config, LedgerKey, LedgerWrite, Lookup, Publish, StoreKind,
};
use stateright::actor::{ActorModelAction, Id};

/// A real operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Real {
    /// The producer publishes `op`; the model loses its confirm.
    Publish {
        op: u8,
        confirm_lost: bool,
    },
    /// The broker hands consumer `consumer` a delivery of `op`, the
    /// `delivery`-th of its message; its lease runs out later in the trace.
    Receive {
        consumer: u8,
        op: u8,
        delivery: u8,
        lease_expires: bool,
    },
    /// The consumer's next handler step that is the effect (the store
    /// commits it or, by the model, refuses it).
    Effect {
        consumer: u8,
        op: u8,
        applied: bool,
    },
    /// The consumer's completion reaches the broker.
    Complete {
        consumer: u8,
        op: u8,
        accepted: Option<bool>,
    },
    Crash {
        consumer: u8,
    },
    Restart {
        consumer: u8,
    },
    LeaseExpiry,
    /// The group moves the partition to consumer `to` while its owner
    /// still works (Kafka).
    Rebalance {
        to: u8,
    },
}

/// One step of the counterexample: its number, the model's words, and the
/// real operation (None: nothing crosses a process boundary).
#[derive(Clone, Debug)]
pub struct Planned {
    pub step: usize,
    pub line: String,
    pub real: Option<Real>,
}

/// The consumer's side of a design: what it does with a delivery, in order,
/// and how the effect commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Design {
    pub name: String,
    pub handler: Vec<Handler>,
    pub effect: crate::store::Effect,
    pub auto_ack: bool,
    pub operations: u8,
    pub consumers: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    Effect,
    Complete,
}

/// Why a design or a step cannot be replayed yet.
pub type Unsupported = String;

impl Design {
    pub fn of(name: &str, cfg: &Config) -> Result<Design, Unsupported> {
        let p = &cfg.pipeline;
        let effect = match (p.ledger_key, p.ledger_write, p.lookup) {
            (LedgerKey::None, _, _) => crate::store::Effect::Plain,
            (LedgerKey::OperationId, LedgerWrite::WithEffect, Lookup::UniqueInsert) => {
                crate::store::Effect::Ledger
            }
            // A delivery's handle is the broker's offset only on a log.
            (LedgerKey::BrokerOffset, LedgerWrite::WithEffect, Lookup::UniqueInsert) if p.log => {
                crate::store::Effect::Offset
            }
            _ => {
                return Err(format!(
                    "{name}: only no ledger, the operation id in the effect's transaction, or (on Kafka) the stored offset, is replayed"
                ));
            }
        };
        if p.store != StoreKind::Database || p.publish != Publish::Direct || p.log && p.transactions
        {
            return Err(format!(
                "{name}: only a database effect store, a direct publish and no Kafka transactions are replayed"
            ));
        }
        let handler = if p.auto_ack {
            vec![Handler::Effect]
        } else {
            match p.order {
                CompletionOrder::EffectThenCompletion => vec![Handler::Effect, Handler::Complete],
                CompletionOrder::CompletionThenEffect => vec![Handler::Complete, Handler::Effect],
            }
        };
        Ok(Design {
            name: name.to_string(),
            handler,
            effect,
            auto_ack: p.auto_ack,
            operations: cfg.bounds.operations,
            consumers: cfg.bounds.consumers,
        })
    }
}

fn consumer_of(id: Id) -> Option<u8> {
    (usize::from(id) >= usize::from(model::consumer_id(0))).then(|| model::consumer_index(id))
}

/// Messages the step sent: those in flight after it beyond those before.
fn sent(before: &State, after: &State) -> Vec<Msg> {
    let mut left: Vec<Msg> = model::in_flight(before).copied().collect();
    let mut out = Vec::new();
    for m in model::in_flight(after) {
        match left.iter().position(|x| x == m) {
            Some(i) => {
                left.swap_remove(i);
            }
            None => out.push(*m),
        }
    }
    out
}

/// The trace's steps as real operations.
pub fn plan(m: &model::Model, trace: &Trace) -> Result<Vec<Planned>, Unsupported> {
    let steps = &trace.steps;
    let mut out = Vec::new();
    for i in 0..steps.len() - 1 {
        let (before, action) = (&steps[i].0, steps[i].1.as_ref().expect("not the last"));
        let after = &steps[i + 1].0;
        let line = onceproof::report::narrative::describe(m, before, action, after);
        let real = real_of(before, action, after)
            .map_err(|why| format!("step {}: {line}: {why}", i + 1))?;
        out.push(Planned {
            step: i + 1,
            line,
            real,
        });
    }
    mark_lookahead(&mut out, steps);
    Ok(out)
}

fn real_of(before: &State, action: &Action, after: &State) -> Result<Option<Real>, String> {
    let sends = sent(before, after);
    let receive = sends.iter().find_map(|msg| match *msg {
        Msg::Deliver { job, op, .. } => Some((job, op)),
        _ => None,
    });
    Ok(match action {
        ActorModelAction::Deliver { dst, msg, .. }
            if usize::from(*dst) == BROKER && matches!(msg, Msg::Publish { .. }) =>
        {
            let Msg::Publish { op, .. } = *msg else {
                unreachable!()
            };
            Some(Real::Publish {
                op,
                confirm_lost: false,
            })
        }
        ActorModelAction::Deliver { src, dst, msg } if usize::from(*dst) == BROKER => match *msg {
            Msg::Complete { job, .. } => {
                let accepted = sends.iter().find_map(|m| match *m {
                    Msg::Completed { job: j, accepted } if j == job => Some(accepted),
                    _ => None,
                });
                let op = model::broker(before)
                    .messages
                    .get(job.msg as usize)
                    .map_or(0, |e| e.op);
                Some(Real::Complete {
                    consumer: consumer_of(*src).ok_or("a completion from no consumer")?,
                    op,
                    accepted,
                })
            }
            Msg::Join { .. } => Some(Real::Restart {
                consumer: consumer_of(*src).ok_or("a join from no consumer")?,
            }),
            Msg::Poll => receive.map(|(job, op)| Real::Receive {
                consumer: consumer_of(*src).expect("polls come from consumers"),
                op,
                delivery: job.delivery,
                lease_expires: false,
            }),
            Msg::Release { .. } | Msg::Seek => {
                return Err("no real-world mapping yet".into());
            }
            _ => None,
        },
        ActorModelAction::Deliver { src, dst, msg } if usize::from(*dst) == STORE => match *msg {
            Msg::Apply { op, .. } => Some(Real::Effect {
                consumer: consumer_of(*src).ok_or("an effect from no consumer")?,
                op,
                applied: model::store(after).applied[op as usize]
                    > model::store(before).applied[op as usize],
            }),
            _ => return Err("this ledger pattern has no real-world mapping yet".into()),
        },
        ActorModelAction::SelectRandom { actor, random, .. } if usize::from(*actor) == BROKER => {
            receive.map(|(job, op)| Real::Receive {
                consumer: random.consumer,
                op,
                delivery: job.delivery,
                lease_expires: false,
            })
        }
        ActorModelAction::Crash(id) if usize::from(*id) == PRODUCER => {
            return Err("a producer crash has no real-world mapping yet".into());
        }
        ActorModelAction::Crash(id) => Some(Real::Crash {
            consumer: consumer_of(*id).ok_or("only consumers and the producer crash")?,
        }),
        ActorModelAction::Timeout(id, Timer::Lease(_)) if usize::from(*id) == BROKER => {
            Some(Real::LeaseExpiry)
        }
        ActorModelAction::Timeout(id, Timer::Retry(_)) if usize::from(*id) == PRODUCER => None,
        ActorModelAction::Timeout(id, Timer::Rebalance(to)) if usize::from(*id) == BROKER => {
            Some(Real::Rebalance { to: *to })
        }
        ActorModelAction::Timeout(_, t) => {
            return Err(format!("timer {t:?} has no real-world mapping yet"));
        }
        ActorModelAction::Drop(env) => match env.msg {
            Msg::Publish { .. } | Msg::PublishAck { .. } => None,
            _ => return Err("only Leg 1 losses have a real-world mapping yet".into()),
        },
        // A consumer taking its delivery, a reply or a confirm reaching its
        // reader, a restart before the rejoin: inside one process.
        _ => None,
    })
}

/// Marks publishes whose confirm the model loses, and receives whose lease
/// expires before the message is handed out again.
fn mark_lookahead(plan: &mut [Planned], steps: &[(State, Option<Action>)]) {
    for i in 0..plan.len() {
        if let Some(Real::Publish { op, .. }) = plan[i].real {
            let lost = steps[i + 1..].iter().take_while(|(_, a)| {
                !matches!(a, Some(ActorModelAction::Deliver { msg: Msg::Publish { op: o, .. }, .. }) if *o == op)
            }).any(|(_, a)| {
                matches!(a, Some(ActorModelAction::Drop(env)) if matches!(env.msg, Msg::PublishAck { op: o, .. } if o == op))
            });
            if let Some(Real::Publish { confirm_lost, .. }) = &mut plan[i].real {
                *confirm_lost = lost;
            }
        }
        if let Some(Real::Receive { .. }) = plan[i].real {
            let expires = plan[i + 1..]
                .iter()
                .take_while(|p| !matches!(p.real, Some(Real::Receive { .. })))
                .any(|p| p.real == Some(Real::LeaseExpiry));
            if let Some(Real::Receive { lease_expires, .. }) = &mut plan[i].real {
                *lease_expires = expires;
            }
        }
    }
}
