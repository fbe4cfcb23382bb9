//! Draws a counterexample as a Mermaid sequence diagram, so a review can
//! see *when* each boundary was crossed and by whom: the overlap of two
//! consumers on one message, or the crash between completion and effect,
//! is a shape on the page rather than a line number in a log.
//!
//! Arrows are drawn when a message is received, since that is when it
//! takes effect; messages the network loses are drawn as crossed arrows at
//! the moment of loss. Faults and broker decisions are notes. Labels avoid
//! `#` and `;`, which end a text in Mermaid's sequence grammar. The diagrams
//! of the report tests' counterexamples (every mode and weak-dedup variant)
//! were checked with Mermaid 11's own parser (`mermaid.parse` under Node
//! with jsdom); the tests keep a line-level check of the same rules.

use super::events::violating_step;
use super::events::{self, CommitOutcome, Event, ReplyOutcome, RetryOutcome, actions};
use super::words::{self, op};
use crate::check::Trace;
use crate::model::msg::{JobRef, Key, Msg};
use crate::model::properties::NO_LOSS;
use crate::model::{self, Action, BROKER, Model, PRODUCER, STORE, State};
use stateright::actor::{ActorModelAction, Id};

const ALL: &str = "P,S";

pub fn sequence_diagram(model: &Model, trace: &Trace, property: &str) -> String {
    let mut out = vec!["sequenceDiagram".to_string()];
    out.push("    participant P as Producer".into());
    out.push("    participant B as Broker".into());
    for i in 0..model.cfg.bounds.consumers {
        out.push(format!("    participant C{} as Consumer {}", i + 1, i + 1));
    }
    out.push(if model.cfg.pipeline.api() {
        "    participant S as Payment API".into()
    } else {
        "    participant S as Effect store".into()
    });

    let marked = violating_step(model, trace, property);
    for (i, (before, action, after)) in actions(trace).enumerate() {
        if trace.cycle_from == Some(i) {
            out.push("    loop forever (a fair cycle)".into());
        }
        out.extend(events(model, before, action, after));
        if marked == Some(i) {
            out.push(note(ALL, &format!("✗ {property}: {}", overcount(after))));
        }
    }
    if trace.cycle_from.is_some() {
        out.push("    end".into());
        out.push(note(ALL, &format!("✗ {property}: the loop never ends")));
    }
    if property == NO_LOSS {
        out.push(note(
            ALL,
            &format!(
                "✗ {property}: at rest, {}",
                undone(model, trace.last_state())
            ),
        ));
    }
    if !trace.epilogue.is_empty() {
        out.push("    rect rgb(238, 238, 238)".into());
        out.push(note(ALL, "aftermath, no further faults"));
        let mut before = trace.last_state();
        for (action, after) in &trace.epilogue {
            out.extend(events(model, before, action, after));
            before = after;
        }
        out.push("    end".into());
    }
    out.join("\n") + "\n"
}

/// Keeps a label inside one Mermaid text token.
fn clean(text: &str) -> String {
    text.replace('#', "no. ")
        .replace(';', ",")
        .replace(['\n', '\r'], " ")
}

fn note(over: &str, text: &str) -> String {
    format!("    Note over {over}: {}", clean(text))
}

fn arrow(from: Id, to: Id, style: &str, text: &str) -> String {
    format!("    {}{style}{}: {}", alias(from), alias(to), clean(text))
}

fn alias(id: Id) -> String {
    match usize::from(id) {
        PRODUCER => "P".into(),
        BROKER => "B".into(),
        STORE => "S".into(),
        _ => format!("C{}", model::consumer_index(id) + 1),
    }
}

fn message(m: u8) -> String {
    words::message(m)
}

fn job(j: JobRef) -> String {
    format!("{}, delivery {}", message(j.msg), j.delivery)
}

fn key(k: Key) -> String {
    words::key(k)
}

fn overcount(s: &State) -> String {
    let counts: Vec<String> = crate::model::sinks::SINKS
        .iter()
        .flat_map(|k| {
            (k.applied)(s)
                .iter()
                .enumerate()
                .filter(|(_, n)| **n >= 2)
                .map(move |(o, n)| format!("{} applied {n}× in {}", op(o as u8), k.name))
        })
        .collect();
    counts.join(", ")
}

fn undone(model: &Model, s: &State) -> String {
    let lost: Vec<String> = crate::model::properties::unapplied_owed(model, s)
        .into_iter()
        .map(|o| {
            let how = if s.history.confirmed & (1 << o) != 0 {
                "confirmed"
            } else {
                "handed to the producer"
            };
            format!("{} {how} but never applied", op(o))
        })
        .collect();
    lost.join(", ")
}

fn events(model: &Model, before: &State, action: &Action, after: &State) -> Vec<String> {
    let e = events::event(model, before, action, after);
    match (action, e) {
        (ActorModelAction::Deliver { src, dst, msg }, e) => deliver(model, *src, *dst, msg, e),
        (ActorModelAction::Drop(env), _) => vec![arrow(
            env.src,
            env.dst,
            "-x",
            &format!("{} (lost)", label(model, &env.msg)),
        )],
        (_, Event::RetryTimer { op: o, outcome }) => vec![note(
            "P",
            &match outcome {
                RetryOutcome::Idle => format!("retry timer for {} fires, nothing to do", op(o)),
                RetryOutcome::GaveUp { .. } => format!("⏰ no confirm for {}, gives up", op(o)),
                RetryOutcome::Republished { attempt, .. } => format!(
                    "⏰ no confirm for {}, retry (attempt {})",
                    op(o),
                    attempt + 1
                ),
            },
        )],
        (_, Event::Effect { op: o, times, .. }) => vec![note(
            "S",
            &format!("call for {} finishes: charged, {times}×, key stored", op(o)),
        )],
        (_, Event::KeyExpired { op: o, key: k, .. }) => vec![note(
            "S",
            &format!("⏰ retention drops key {} of {}", key(k), op(o)),
        )],
        (_, Event::Replayed { reset: true, .. }) => {
            vec![note("B", "⏰ operator resets the offsets to the beginning")]
        }
        (_, Event::Replayed { msg: m, .. }) => {
            vec![note("B", &format!("⏰ operator replays {}", message(m)))]
        }
        (_, Event::DualWriteSent { op: o }) => vec![note(
            "P",
            &format!("business row of {} committed; publishes its event", op(o)),
        )],
        (_, Event::LeaseTimer { msg: m, expired }) => vec![note(
            "B",
            &match expired {
                Some((c, _, works)) => {
                    let tail = if works {
                        format!(" while Consumer {} still works", c + 1)
                    } else {
                        String::new()
                    };
                    format!("⏰ lease on {} expires{tail}", message(m))
                }
                None => format!("lease timer for {} fires, nothing to do", message(m)),
            },
        )],
        (_, Event::PhantomReturned { msg, .. }) => vec![note(
            "B",
            &format!("⏰ deleted {} comes back (S1)", message(msg)),
        )],
        (_, Event::WindowClosed { key }) => {
            vec![note(
                "B",
                &format!("⏰ dedup window of id {key} elapses", key = key + 1),
            )]
        }
        (
            _,
            Event::DeadLettered {
                msg,
                receives,
                dropped,
                ..
            },
        ) => vec![note(
            "B",
            &format!(
                "{} dead-lettered after {receives} receives{}",
                message(msg),
                if dropped { ", lost on the way" } else { "" }
            ),
        )],
        (_, Event::Redriven { msg, .. }) => vec![note(
            "B",
            &format!("operator redrives {} from the DLQ", message(msg)),
        )],
        (
            _,
            Event::Replicated {
                follower,
                msg,
                confirmed,
                ..
            },
        ) => vec![note(
            "B",
            &format!(
                "{} copies {}{}",
                words::follower(follower),
                message(msg),
                if confirmed.is_empty() {
                    String::new()
                } else {
                    format!(", committed: confirm {}", words::ops(&confirmed))
                }
            ),
        )],
        (_, Event::IsrShrunk { follower, .. }) => vec![note(
            "B",
            &format!("⏰ {} leaves the in-sync set", words::follower(follower)),
        )],
        (
            _,
            Event::FailedOver {
                follower,
                unclean,
                cut,
                ..
            },
        ) => {
            let gone: Vec<String> = cut
                .iter()
                .map(|&(m, o, confirmed)| {
                    format!(
                        "{} ({}{}) gone",
                        message(m),
                        op(o),
                        if confirmed { ", confirmed" } else { "" }
                    )
                })
                .collect();
            vec![note(
                "B",
                &format!(
                    "💥 leader fails, {}{} takes over{}",
                    if unclean { "out-of-sync " } else { "" },
                    words::follower(follower),
                    if gone.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", gone.join(", "))
                    }
                ),
            )]
        }
        (ActorModelAction::Crash(id), _) => vec![note(&alias(*id), "💥 crash")],
        (
            ActorModelAction::Recover(id),
            Event::ProducerRestarted {
                session, forgot, ..
            },
        ) => {
            let forgot: Vec<String> = forgot.iter().map(|&o| op(o)).collect();
            let what = if forgot.is_empty() {
                String::new()
            } else {
                format!(", {} forgotten", forgot.join(", "))
            };
            vec![note(
                &alias(*id),
                &format!("restart, session {session}{what}"),
            )]
        }
        (ActorModelAction::Recover(id), Event::Restarted { incarnation, .. }) => vec![note(
            &alias(*id),
            &format!("restart, incarnation {incarnation}, work forgotten"),
        )],
        (
            _,
            Event::Leased {
                msg: m, consumer, ..
            },
        ) => vec![note(
            "B",
            &format!(
                "{} {} Consumer {}",
                message(m),
                words::vocabulary(model.cfg.pipeline.vocabulary).lease_note,
                consumer + 1
            ),
        )],
        (
            _,
            Event::Fetched {
                consumer,
                first,
                last,
                ..
            },
        ) => vec![note(
            &format!("C{}", consumer + 1),
            &if first == last {
                format!("poll returns {}", words::offset(first))
            } else {
                format!("poll returns offsets {first}–{last}")
            },
        )],
        (
            _,
            Event::Rebalanced {
                from, to, holding, ..
            },
        ) => vec![note(
            "B",
            &format!(
                "⏰ rebalance: partition 0 moves from Consumer {} to Consumer {}{}",
                from + 1,
                to + 1,
                if holding.is_empty() {
                    ""
                } else {
                    ", the old owner still works (zombie)"
                }
            ),
        )],
        (
            _,
            Event::EffectTimedOut {
                consumer, op: o, ..
            },
        ) => vec![note(
            &format!("C{}", consumer + 1),
            &format!(
                "⏰ no reply from the {} for {}: re-send",
                super::words::store(&model.cfg),
                op(o)
            ),
        )],
        (_, Event::AutoCommitTimer { consumer, offset }) => vec![note(
            &format!("C{}", consumer + 1),
            &format!("⏰ auto-commit timer: commit stored offset {offset}"),
        )],
        (
            _,
            Event::TransactionAborted {
                owner, position, ..
            },
        ) => vec![note(
            "B",
            &format!(
                "⏰ transaction timeout: Consumer {}'s transaction aborted, position stays at {}",
                owner + 1,
                words::offset(position)
            ),
        )],
        (_, Event::WorkStarted { consumer, msg }) => vec![note(
            &format!("C{}", consumer + 1),
            &format!(
                "pool worker starts {}",
                words::record(model.cfg.pipeline.log, msg)
            ),
        )],
        (_, e) => unreachable!("a timer, crash, restart or dispatch step: {e:?}"),
    }
}

/// What a message says, as sent.
fn label(model: &Model, msg: &Msg) -> String {
    let v = words::vocabulary(model.cfg.pipeline.vocabulary);
    match *msg {
        Msg::Publish {
            op: o,
            id,
            attempt: 0,
            ..
        } => {
            format!("publish {} (id {id})", op(o), id = id + 1)
        }
        Msg::Publish {
            op: o,
            id,
            attempt,
            session,
        } if session > 1 => format!(
            "re-publish {} after restart (attempt {}, id {id}, session {session})",
            op(o),
            attempt + 1,
            id = id + 1
        ),
        Msg::Publish {
            op: o, id, attempt, ..
        } => {
            format!(
                "re-publish {} (attempt {}, id {id})",
                op(o),
                attempt + 1,
                id = id + 1
            )
        }
        Msg::PublishAck { op: o, .. } => format!("confirm {}", op(o)),
        Msg::Deliver { job: j, op: o, .. } => {
            format!("{} {} ({})", v.deliver_label, op(o), job(j))
        }
        Msg::Apply {
            op: o,
            key: k,
            retry,
            ..
        } => {
            let verb = if retry { "re-send apply" } else { "apply" };
            match k {
                Some(k) => format!("{verb} {} (key {})", op(o), key(k)),
                None => format!("{verb} {}", op(o)),
            }
        }
        Msg::Applied { fresh: true, .. } => "applied".into(),
        Msg::Conflict { .. } => "409 Conflict".into(),
        Msg::Applied { fresh: false, .. } => "already applied".into(),
        Msg::Record { key: k, .. } => format!("write ledger key {}", key(k)),
        Msg::Recorded { .. } | Msg::Claimed { fresh: true, .. } => "ledger row written".into(),
        Msg::Claim { key: k, .. } => format!("write ledger key {} first", key(k)),
        Msg::Claimed { fresh: false, .. } => "ledger row already there".into(),
        Msg::Lookup { key: k, .. } => format!("look up ledger key {}", key(k)),
        Msg::LookedUp { found: true, .. } => "key found".into(),
        Msg::LookedUp { found: false, .. } => "key absent".into(),
        Msg::Complete { job: j, .. } => format!("{} {}", v.complete_label, job(j)),
        Msg::Completed { accepted: true, .. } => "completion accepted".into(),
        Msg::Completed {
            accepted: false, ..
        } => "completion rejected".into(),
        Msg::Poll => "poll".into(),
        Msg::Partial { op: o } => format!("partial effect of {}", op(o)),
        Msg::Release { job: j } => format!("handler failed: release {}", job(j)),
        Msg::Seek => "seek to committed".into(),
        Msg::Join { incarnation } => format!("rejoin (session {incarnation})"),
    }
}

fn deliver(model: &Model, src: Id, dst: Id, msg: &Msg, e: Event) -> Vec<String> {
    let text = label(model, msg);
    match e {
        Event::Stored { msg: m, .. } => {
            vec![arrow(
                src,
                dst,
                "->>",
                &format!("{text}, stored as {}", message(m)),
            )]
        }
        Event::DuplicateDropped { id, .. } => vec![arrow(
            src,
            dst,
            "->>",
            &format!("{text}, duplicate id {id} dropped", id = id + 1),
        )],
        Event::CallStarted { concurrent, .. } => vec![
            arrow(src, dst, "->>", &text),
            format!(
                "    Note right of S: {}",
                if concurrent {
                    "call starts beside a running call with the same key"
                } else {
                    "call starts, key held"
                }
            ),
        ],
        Event::Effect {
            op: o,
            skipped,
            times,
            ..
        } => {
            let verdict = if skipped {
                format!("key found, {} skipped", op(o))
            } else {
                format!("{} applied {times}×", op(o))
            };
            vec![
                arrow(src, dst, "->>", &text),
                format!("    Note right of S: {}", clean(&verdict)),
            ]
        }
        Event::Completion {
            job: j,
            outcome,
            also,
            covers,
            ..
        } => {
            let (_, verdict) = words::completion(j.msg, outcome);
            let mut out = vec![arrow(src, dst, "->>", &format!("{text}, {verdict}"))];
            if !also.is_empty() {
                let covered: Vec<String> = covers.iter().map(|&m| words::message(m)).collect();
                let took: Vec<String> = also.iter().map(|&m| words::message(m)).collect();
                let tail = if covered.is_empty() {
                    String::new()
                } else {
                    format!(" ({} not yet applied)", covered.join(", "))
                };
                out.push(note(
                    "B",
                    &format!("multiple = true: also acks {}{tail}", took.join(", ")),
                ));
            }
            out
        }
        Event::Committed {
            op: o,
            offset,
            outcome,
            covers,
            transaction,
            ..
        } => {
            let (_, verdict) = words::commit(offset, outcome, &covers, transaction, &op(o));
            let mut out = vec![arrow(src, dst, "->>", &verdict)];
            if let (Some(n), false) = (transaction, matches!(outcome, CommitOutcome::Fenced { .. }))
            {
                out.push(note(
                    "B",
                    &format!("output topic: {} {}", op(o), words::applied_times(n)),
                ));
            }
            out
        }
        Event::Rejoined { released, .. } => {
            let mut out = vec![arrow(src, dst, "->>", &text)];
            for m in released {
                let v = words::vocabulary(model.cfg.pipeline.vocabulary);
                out.push(note("B", &format!("{} {}", v.release_note, message(m))));
            }
            out
        }
        // A consumer that holds no such work (a restarted incarnation, an
        // ended session) lets the message pass unread.
        Event::Delivered {
            dead_session: true, ..
        }
        | Event::Reply {
            outcome: ReplyOutcome::Ignored { .. },
            ..
        } => vec![arrow(src, dst, "-->>", &format!("{text} (ignored)"))],
        _ => vec![arrow(src, dst, "->>", &text)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_inside_one_text_token() {
        assert_eq!(clean("op#1; then\nmore"), "opno. 1, then more");
    }
}
