//! Draws a counterexample as a Mermaid sequence diagram, so a review can
//! see *when* each boundary was crossed and by whom: the overlap of two
//! consumers on one message, or the crash between completion and effect,
//! is a shape on the page rather than a line number in a log.
//!
//! Arrows are drawn when a message is received, since that is when it
//! takes effect; messages the network loses are drawn as crossed arrows at
//! the moment of loss. Faults and broker decisions are notes. Labels avoid
//! `#` and `;`, which end a text in Mermaid's sequence grammar, so
//! operations are written "op 1" here rather than "op#1". The diagrams
//! of the report tests' counterexamples (every mode and weak-dedup variant)
//! were checked with Mermaid 11's own parser (`mermaid.parse` under Node
//! with jsdom); the tests keep a line-level check of the same rules.

use super::narrative::{self, actions, consumer_state, violating_step};
use crate::check::Trace;
use crate::model::broker::Status;
use crate::model::msg::{JobRef, Key, Msg, Timer};
use crate::model::properties::NO_LOSS;
use crate::model::{self, Action, BROKER, Model, PRODUCER, STORE, State};
use crate::pipeline::StaleCompletion;
use stateright::actor::{ActorModelAction, Id};

const ALL: &str = "P,S";

pub fn sequence_diagram(model: &Model, trace: &Trace, property: &str) -> String {
    let mut out = vec!["sequenceDiagram".to_string()];
    out.push("    participant P as Producer".into());
    out.push("    participant B as Broker".into());
    for i in 0..model.cfg.bounds.consumers {
        out.push(format!("    participant C{} as Consumer {}", i + 1, i + 1));
    }
    out.push("    participant S as Effect store".into());

    let marked = violating_step(model, trace, property);
    for (i, (before, action, after)) in actions(trace).enumerate() {
        out.extend(events(model, before, action, after));
        if marked == Some(i) {
            out.push(note(ALL, &format!("✗ {property}: {}", overcount(after))));
        }
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

fn op(o: u8) -> String {
    format!("op {}", o + 1)
}

fn message(m: u8) -> String {
    narrative::message(m)
}

fn job(j: JobRef) -> String {
    format!("{}, delivery {}", message(j.msg), j.delivery)
}

fn key(k: Key) -> String {
    narrative::key(k)
}

fn overcount(s: &State) -> String {
    let counts: Vec<String> = model::store(s)
        .applied
        .iter()
        .enumerate()
        .filter(|(_, n)| **n >= 2)
        .map(|(o, n)| format!("{} applied {n}×", op(o as u8)))
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
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            deliver(model, before, after, *src, *dst, msg)
        }
        ActorModelAction::Drop(env) => vec![arrow(
            env.src,
            env.dst,
            "-x",
            &format!("{} (lost)", label(&env.msg)),
        )],
        ActorModelAction::Timeout(_, Timer::Retry(o)) => {
            let (p0, p1) = (model::producer(before), model::producer(after));
            if p0 == p1 {
                vec![note(
                    "P",
                    &format!("retry timer for {} fires, nothing to do", op(*o)),
                )]
            } else if p1.gave_up[*o as usize] && !p0.gave_up[*o as usize] {
                vec![note(
                    "P",
                    &format!("⏰ no confirm for {}, gives up", op(*o)),
                )]
            } else {
                vec![note(
                    "P",
                    &format!(
                        "⏰ no confirm for {}, retry (attempt {})",
                        op(*o),
                        p1.retried[*o as usize] + 1
                    ),
                )]
            }
        }
        ActorModelAction::Timeout(_, Timer::Lease(m)) => {
            let status = model::broker(before).messages[*m as usize].status;
            let released = model::broker(after).messages[*m as usize].status == Status::Ready;
            match status {
                Status::Leased { consumer, delivery } if released => {
                    let j = JobRef { msg: *m, delivery };
                    let (down, c) = consumer_state(before, consumer);
                    let works = !down && c.jobs.iter().any(|x| x.job == j);
                    let tail = if works {
                        format!(" while Consumer {} still works", consumer + 1)
                    } else {
                        String::new()
                    };
                    vec![note(
                        "B",
                        &format!("⏰ lease on {} expires{tail}", message(*m)),
                    )]
                }
                _ => vec![note(
                    "B",
                    &format!("lease timer for {} fires, nothing to do", message(*m)),
                )],
            }
        }
        ActorModelAction::Crash(id) => vec![note(&alias(*id), "💥 crash")],
        ActorModelAction::Recover(id) => {
            let (_, c) = consumer_state(after, model::consumer_index(*id));
            vec![note(
                &alias(*id),
                &format!("restart, incarnation {}, work forgotten", c.incarnation),
            )]
        }
        ActorModelAction::SelectRandom { random, .. } => vec![note(
            "B",
            &format!(
                "lease {} to Consumer {}",
                message(random.msg),
                random.consumer + 1
            ),
        )],
    }
}

/// What a message says, as sent.
fn label(msg: &Msg) -> String {
    match *msg {
        Msg::Publish {
            op: o,
            id,
            attempt: 0,
        } => {
            format!("publish {} (id {id})", op(o))
        }
        Msg::Publish { op: o, id, attempt } => {
            format!("re-publish {} (attempt {}, id {id})", op(o), attempt + 1)
        }
        Msg::PublishAck { op: o, .. } => format!("confirm {}", op(o)),
        Msg::Deliver { job: j, op: o, .. } => format!("deliver {} ({})", op(o), job(j)),
        Msg::Apply { op: o, key: k, .. } => match k {
            Some(k) => format!("apply {} (key {})", op(o), key(k)),
            None => format!("apply {}", op(o)),
        },
        Msg::Applied { fresh: true, .. } => "applied".into(),
        Msg::Applied { fresh: false, .. } => "already applied".into(),
        Msg::Record { key: k, .. } => format!("write ledger key {}", key(k)),
        Msg::Recorded { .. } => "ledger row written".into(),
        Msg::Complete { job: j, .. } => format!("complete {}", job(j)),
        Msg::Completed { accepted: true, .. } => "completion accepted".into(),
        Msg::Completed {
            accepted: false, ..
        } => "completion rejected".into(),
        Msg::Poll => "poll".into(),
        Msg::Join { incarnation } => format!("rejoin (session {incarnation})"),
    }
}

fn deliver(
    model: &Model,
    before: &State,
    after: &State,
    src: Id,
    dst: Id,
    msg: &Msg,
) -> Vec<String> {
    let text = label(msg);
    let changed = before.actor_states[usize::from(dst)] != after.actor_states[usize::from(dst)];
    let mut out = Vec::new();
    match *msg {
        Msg::Publish { id, .. } => {
            let (b0, b1) = (model::broker(before), model::broker(after));
            if b1.messages.len() > b0.messages.len() {
                let at = (b1.messages.len() - 1) as u8;
                out.push(arrow(
                    src,
                    dst,
                    "->>",
                    &format!("{text}, stored as {}", message(at)),
                ));
            } else {
                out.push(arrow(
                    src,
                    dst,
                    "->>",
                    &format!("{text}, duplicate id {id} dropped"),
                ));
            }
        }
        Msg::Apply { op: o, key: k, .. } => {
            out.push(arrow(src, dst, "->>", &text));
            let n = model::store(after).applied[o as usize];
            let skipped = k.is_some_and(|k| {
                model.cfg.pipeline.ledger_check
                    && model::store(before).ledger.binary_search(&k).is_ok()
            });
            let verdict = if skipped {
                format!("key found, {} skipped", op(o))
            } else {
                format!("{} applied {n}×", op(o))
            };
            out.push(format!("    Note right of S: {}", clean(&verdict)));
        }
        Msg::Complete { job: j, .. } => {
            let holder = Status::Leased {
                consumer: model::consumer_index(src),
                delivery: j.delivery,
            };
            let was = model::broker(before).messages[j.msg as usize].status;
            let now = model::broker(after).messages[j.msg as usize].status;
            let verdict = if was == holder {
                "accepted"
            } else if now == Status::Done && was != Status::Done {
                "accepted, stale handle"
            } else if model.cfg.pipeline.stale_completion == StaleCompletion::Accepted {
                "success, but nothing deleted"
            } else {
                "rejected, stale lease"
            };
            out.push(arrow(src, dst, "->>", &format!("{text}, {verdict}")));
        }
        Msg::Join { .. } => {
            out.push(arrow(src, dst, "->>", &text));
            let index = model::consumer_index(src);
            let (b0, b1) = (model::broker(before), model::broker(after));
            for m in 0..b0.messages.len() {
                if matches!(b0.messages[m].status, Status::Leased { consumer: c, .. } if c == index)
                    && b1.messages[m].status == Status::Ready
                {
                    out.push(note(
                        "B",
                        &format!("lease on {} released", message(m as u8)),
                    ));
                }
            }
        }
        // A consumer that holds no such work (a restarted incarnation, an
        // ended session) lets the message pass unread.
        _ if usize::from(dst) > STORE && !changed => {
            out.push(arrow(src, dst, "-->>", &format!("{text} (ignored)")));
        }
        _ => out.push(arrow(src, dst, "->>", &text)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_inside_one_text_token() {
        assert_eq!(clean("op#1; then\nmore"), "opno. 1, then more");
    }
}
