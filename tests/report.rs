//! The reports are read by people deciding whether a design is safe, so
//! these tests run real explorations and check that what the reports say
//! matches what the checker found: the right steps in the right order, the
//! violation marked where it happens, the leg and gap that failed, and
//! exports that other tools can read. Bounds are cut to the one fault each
//! story needs, which keeps every search to a fraction of a second.

mod common;
use onceproof::check::{self, Limits, Trace, Verdict};
use onceproof::model::msg::{Msg, Timer};
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::model::{self, Action, Model};
use onceproof::pipeline::{AttemptIds, Bounds, Config, LedgerKey, LedgerWrite, Mode, Pipeline};
use onceproof::report::diagnosis::{LEG1, LEG3};
use onceproof::report::itf::itf;
use onceproof::report::mermaid::sequence_diagram;
use onceproof::report::narrative::{Narrative, narrative};
use serde_json::{Value, json};
use stateright::Model as _;
use stateright::actor::ActorModelAction;

/// One operation, one consumer, no faults: each test adds the one it needs.
fn quiet() -> Bounds {
    Bounds {
        operations: 1,
        consumers: 1,
        retries: 0,
        crashes: 0,
        losses: 0,
        lease_expiries: 0,
        rebalances: 0,
        transaction_aborts: 0,
        phantom_redeliveries: 0,
        dedup_window_expiries: 0,
        broker_failovers: 0,
        isr_shrinks: 0,
        producer_crashes: 0,
        reply_losses: 0,
        ledger_expiries: 0,
        operator_replays: 0,
    }
}

fn counterexample(pipeline: Pipeline, bounds: Bounds, property: &str) -> (Model, Trace) {
    let model = model::build(Config { pipeline, bounds });
    let trace = check::shortest_counterexample(&model, property).expect("a counterexample");
    (model, trace)
}

fn lines_with<'a>(lines: &'a [String], needle: &str) -> Vec<(usize, &'a String)> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .collect()
}

fn marked(n: &Narrative) -> Vec<&String> {
    n.steps.iter().filter(|l| l.contains('✗')).collect()
}

/// A line-level check of Mermaid's sequenceDiagram grammar for the forms
/// the diagram uses: `#` and `;` end a text early, so no label may hold
/// them, and every line must be a participant, an arrow, a note or a
/// `rect`/`end` pair. (The full diagrams were also checked with Mermaid's
/// own parser, which needs Node; see the module docs of report::mermaid.)
fn assert_mermaid_shape(diagram: &str, consumers: u8) {
    let mut lines = diagram.lines();
    assert_eq!(lines.next(), Some("sequenceDiagram"));
    let mut aliases = vec!["P".to_string(), "B".to_string(), "S".to_string()];
    aliases.extend((1..=consumers).map(|i| format!("C{i}")));
    let arrows = ["->>", "-->>", "-x"];
    let mut open_rects = 0;
    for line in lines {
        let l = line.trim();
        assert!(!l.contains(';') && !l.contains('#'), "unsafe text: {l}");
        if l.starts_with("participant ") {
            assert!(l.contains(" as "), "{l}");
        } else if let Some(rest) = l.strip_prefix("Note ") {
            let (place, text) = rest.split_once(": ").expect("note text");
            assert!(!text.trim().is_empty(), "{l}");
            let who = place
                .strip_prefix("over ")
                .or_else(|| place.strip_prefix("right of "))
                .expect("note placement");
            for a in who.split(',') {
                assert!(
                    aliases.iter().any(|x| x == a),
                    "unknown participant {a}: {l}"
                );
            }
        } else if l.starts_with("rect ") {
            open_rects += 1;
        } else if l == "end" {
            open_rects -= 1;
            assert!(open_rects >= 0);
        } else {
            let (ends, text) = l.split_once(": ").expect("arrow text");
            assert!(!text.trim().is_empty(), "{l}");
            // The longest arrow that fits, so "-->>" is not read as "->>".
            let arrow = arrows
                .iter()
                .filter(|a| ends.contains(**a))
                .max_by_key(|a| a.len())
                .unwrap_or_else(|| panic!("not an arrow: {l}"));
            let (from, to) = ends.split_once(arrow).unwrap();
            assert!(aliases.iter().any(|x| x == from), "{l}");
            assert!(aliases.iter().any(|x| x == to), "{l}");
        }
    }
    assert_eq!(open_rects, 0);
}

fn bigint(n: u64) -> Value {
    json!({ "#bigint": n.to_string() })
}

/// The value a `#map` holds for `key`.
fn map_get<'a>(map: &'a Value, key: &Value) -> Option<&'a Value> {
    map["#map"]
        .as_array()?
        .iter()
        .find(|pair| &pair[0] == key)
        .map(|pair| &pair[1])
}

fn assert_itf_shape(doc: &Value, trace: &Trace) {
    let vars: Vec<&str> = doc["vars"]
        .as_array()
        .expect("vars")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for v in [
        "action",
        "applied",
        "ledger",
        "broker",
        "consumers",
        "in_flight",
    ] {
        assert!(vars.contains(&v), "missing var {v}");
    }
    assert_eq!(doc["#meta"]["format"], "ITF");
    let states = doc["states"].as_array().expect("states");
    assert_eq!(states.len(), trace.len() + 1);
    for (i, s) in states.iter().enumerate() {
        assert_eq!(s["#meta"]["index"], json!(i));
        for v in &vars {
            assert!(s.get(*v).is_some(), "state {i} lacks {v}");
        }
    }
    assert_eq!(states[0]["action"], "init");
}

#[test]
fn lease_expiry_duplicate_reads_as_the_sqs_double_charge() {
    let cfg = Config {
        pipeline: Pipeline::of(Mode::AtLeastOnce),
        bounds: Bounds {
            consumers: 2,
            lease_expiries: 1,
            ..quiet()
        },
    };
    let outcome = check::check(cfg, Limits::default(), &mut |_| {});
    assert_eq!(outcome.verdict(APPLIED_ONCE), Some(Verdict::Counterexample));
    let trace = outcome.trace(APPLIED_ONCE).expect("trace").clone();
    let model = model::build(cfg);
    let n = narrative(&model, &trace, APPLIED_ONCE);
    assert_eq!(n.steps.len(), trace.len());

    let applies = lines_with(&n.steps, "effect store applies op 1");
    assert_eq!(applies.len(), 2, "{:#?}", n.steps);
    let expiry = lines_with(
        &n.steps,
        "broker: lease on message 1 expires while consumer 1 still works",
    );
    assert_eq!(expiry.len(), 1, "{:#?}", n.steps);
    assert!(applies[0].0 < expiry[0].0 && expiry[0].0 < applies[1].0);
    assert!(applies[0].1.contains("applied 1×") && !applies[0].1.contains('✗'));
    assert!(
        applies[1]
            .1
            .ends_with("applied 2× ✗ side effect applied once"),
        "{}",
        applies[1].1
    );
    assert_eq!(applies[1].0, n.steps.len() - 1, "the last step violates");
    assert_eq!(marked(&n).len(), 1);
    assert!(n.steps.iter().all(|l| !l.contains("crash")));
    // Two consumers received the same message, one delivery each.
    assert!(
        n.steps
            .iter()
            .any(|l| l.starts_with("consumer 1 receives op 1 (message 1, delivery 1) — delivered"))
    );
    assert!(
        n.steps
            .iter()
            .any(|l| l.starts_with("consumer 2 receives op 1 (message 1, delivery 2) — delivered"))
    );
    // Afterwards the slow consumer's completion is refused as stale.
    assert!(
        n.aftermath
            .iter()
            .any(|l| l.starts_with("consumer 1 records completion of op 1 (message 1, delivery 1) — broker rejects it (stale lease")),
        "{:#?}",
        n.aftermath
    );
    assert_eq!(
        n.aftermath.last().unwrap(),
        "system at rest: op 1 applied 2×"
    );

    assert_eq!(n.diagnosis.leg, LEG3);
    assert_eq!(n.diagnosis.gap, "effect committed → completion recorded");
    let g = &n.diagnosis.guarantee;
    assert!(
        g.contains("refuse an operation id it has already applied"),
        "{g}"
    );
    assert!(g.contains("lease") && g.contains("no crash"), "{g}");

    let d = sequence_diagram(&model, &trace, APPLIED_ONCE);
    assert!(d.starts_with("sequenceDiagram\n"));
    assert_mermaid_shape(&d, 2);
    assert!(d.contains("participant C2 as Consumer 2"));
    assert!(d.contains("Note over B: ⏰ lease on message 1 expires while Consumer 1 still works"));
    assert!(d.contains("B->>C2: deliver op 1 (message 1, delivery 2)"));
    assert!(d.contains("Note right of S: op 1 applied 2×"));
    assert!(d.contains("Note over P,S: ✗ side effect applied once: op 1 applied 2×"));
    assert!(d.contains("aftermath"));
    let violation = d.find("✗").unwrap();
    let aftermath = d.find("rect ").unwrap();
    assert!(violation < aftermath);

    let doc = itf(&model, &trace, APPLIED_ONCE);
    assert_itf_shape(&doc, &trace);
    let states = doc["states"].as_array().unwrap();
    let last = states.last().unwrap();
    assert_eq!(map_get(&last["applied"], &bigint(1)), Some(&bigint(2)));
    let before = &states[states.len() - 2];
    assert_eq!(map_get(&before["applied"], &bigint(1)), Some(&bigint(1)));
    assert_eq!(last["action"].as_str().unwrap(), {
        let l = &n.steps[n.steps.len() - 1];
        l.trim_end_matches(" ✗ side effect applied once")
    });
    assert_eq!(doc["#meta"]["property"], APPLIED_ONCE);
    // While both work on it, the broker has leased message 1 to consumer 2.
    let status = &map_get(&last["broker"], &bigint(1)).unwrap()["status"];
    assert_eq!(status["tag"], "Leased");
    assert_eq!(status["value"]["consumer"], bigint(2));
}

#[test]
fn crash_before_ack_duplicate_is_leg3_crash_flavour() {
    let (model, trace) = counterexample(
        Pipeline::of(Mode::AtLeastOnce),
        Bounds {
            crashes: 1,
            ..quiet()
        },
        APPLIED_ONCE,
    );
    let n = narrative(&model, &trace, APPLIED_ONCE);
    let crash = lines_with(
        &n.steps,
        "consumer 1 crashes while holding op 1 (message 1, delivery 1)",
    );
    let applies = lines_with(&n.steps, "effect store applies op 1");
    assert_eq!((crash.len(), applies.len()), (1, 2), "{:#?}", n.steps);
    assert!(applies[0].0 < crash[0].0 && crash[0].0 < applies[1].0);
    assert!(
        n.steps
            .iter()
            .any(|l| l.starts_with("consumer 1 restarts as incarnation 2"))
    );
    assert!(
        n.steps
            .iter()
            .any(|l| l.contains("releases its lease on message 1"))
    );
    assert!(applies[1].1.ends_with("✗ side effect applied once"));
    assert_eq!(n.diagnosis.leg, LEG3);
    assert_eq!(n.diagnosis.gap, "effect committed → completion recorded");
    let g = &n.diagnosis.guarantee;
    assert!(g.contains("crashed after the effect committed"), "{g}");
    assert!(!g.contains("lease"), "{g}");

    let d = sequence_diagram(&model, &trace, APPLIED_ONCE);
    assert_mermaid_shape(&d, 1);
    assert!(d.contains("Note over C1: 💥 crash"));
    assert!(d.contains("Note over C1: restart, incarnation 2"));
    assert!(d.contains("Note over B: lease released: message 1"));
    // The reply to the crashed incarnation arrives and is ignored.
    assert!(d.contains("S-->>C1: applied (ignored)"), "{d}");

    let doc = itf(&model, &trace, APPLIED_ONCE);
    assert_itf_shape(&doc, &trace);
    let states = doc["states"].as_array().unwrap();
    let crashed_at = states
        .iter()
        .position(|s| s["crashed"] == json!({ "#set": [bigint(1)] }))
        .expect("a state with consumer 1 down");
    assert!(
        states[crashed_at]["action"]
            .as_str()
            .unwrap()
            .contains("crashes")
    );
}

#[test]
fn at_most_once_loss_is_named_at_rest() {
    let (model, trace) = counterexample(
        Pipeline::of(Mode::AtMostOnce),
        Bounds {
            crashes: 1,
            ..quiet()
        },
        NO_LOSS,
    );
    let n = narrative(&model, &trace, NO_LOSS);
    assert_eq!(n.steps.len(), trace.len() + 1, "one closing line at rest");
    assert_eq!(
        n.steps.last().unwrap(),
        "system at rest: op 1 was confirmed to the producer and message 1 is marked done, but it was never applied ✗ no loss"
    );
    assert_eq!(marked(&n).len(), 1);
    let completion = lines_with(&n.steps, "consumer 1 records completion of op 1");
    let crash = lines_with(&n.steps, "consumer 1 crashes");
    assert_eq!((completion.len(), crash.len()), (1, 1), "{:#?}", n.steps);
    assert!(
        completion[0]
            .1
            .contains("broker accepts: completion recorded")
    );
    assert!(completion[0].0 < crash[0].0);
    assert!(n.steps.iter().all(|l| !l.contains("effect store applies")));
    assert!(n.aftermath.is_empty(), "already at rest");
    assert_eq!(n.diagnosis.leg, LEG3);
    assert_eq!(n.diagnosis.gap, "completion recorded → effect committed");
    assert!(
        n.diagnosis
            .guarantee
            .starts_with("The consumer must record completion only after the effect is committed")
    );

    let d = sequence_diagram(&model, &trace, NO_LOSS);
    assert_mermaid_shape(&d, 1);
    assert!(d.contains("C1->>B: complete message 1, delivery 1, accepted"));
    assert!(d.contains("Note over C1: 💥 crash"));
    assert!(
        d.trim_end()
            .ends_with("Note over P,S: ✗ no loss: at rest, op 1 confirmed but never applied")
    );

    let doc = itf(&model, &trace, NO_LOSS);
    assert_itf_shape(&doc, &trace);
    let last = doc["states"].as_array().unwrap().last().unwrap();
    assert_eq!(map_get(&last["applied"], &bigint(1)), Some(&bigint(0)));
    assert_eq!(last["confirmed"], json!({ "#set": [bigint(1)] }));
    let status = &map_get(&last["broker"], &bigint(1)).unwrap()["status"];
    assert_eq!(status["tag"], "Done");
}

#[test]
fn retried_publish_stored_twice_is_leg1() {
    let (model, trace) = counterexample(
        Pipeline::of(Mode::AtLeastOnce),
        Bounds {
            retries: 1,
            ..quiet()
        },
        APPLIED_ONCE,
    );
    let n = narrative(&model, &trace, APPLIED_ONCE);
    assert!(
        n.steps
            .iter()
            .any(|l| l == "producer: no confirm for op 1 (the confirm is late but still on its way), re-publishes it (attempt 2, id 1)"),
        "{:#?}",
        n.steps
    );
    assert!(n.steps.iter().any(|l| l.starts_with(
        "broker stores the re-published op 1 (attempt 2, id 1) as message 2 and confirms"
    )));
    let applies = lines_with(&n.steps, "effect store applies op 1");
    assert!(applies[0].1.contains("(message 1, delivery 1)"));
    assert!(applies[1].1.contains("(message 2, delivery 1)"));
    assert_eq!(n.diagnosis.leg, LEG1);
    assert!(n.diagnosis.gap.starts_with("published → published"));
    assert!(
        n.diagnosis.guarantee.starts_with(
            "The broker must deduplicate a retried publish of the same operation id, or the effect store must refuse an operation id it has already applied"
        ),
        "{}",
        n.diagnosis.guarantee
    );
    let d = sequence_diagram(&model, &trace, APPLIED_ONCE);
    assert_mermaid_shape(&d, 1);
    assert!(d.contains("Note over P: ⏰ no confirm for op 1, retry (attempt 2)"));
    assert!(d.contains("P->>B: re-publish op 1 (attempt 2, id 1), stored as message 2"));
}

#[test]
fn weak_dedup_variants_get_their_own_guarantee() {
    let lease = Bounds {
        consumers: 2,
        lease_expiries: 1,
        ..quiet()
    };
    let retry = Bounds {
        retries: 1,
        ..quiet()
    };
    let crash = Bounds {
        crashes: 1,
        ..quiet()
    };
    let idem = Pipeline::of(Mode::Idempotency);
    let cases: [(&str, Pipeline, Bounds, &str, &str); 5] = [
        (
            "atomic boundary without publish dedup",
            Pipeline {
                publish_dedup: false,
                ..Pipeline::of(Mode::AtomicBoundary)
            },
            retry,
            LEG1,
            "own offset",
        ),
        (
            "fresh id per retry (W1)",
            Pipeline {
                attempt_ids: AttemptIds::FreshPerAttempt,
                ..idem
            },
            retry,
            LEG1,
            "must carry the operation's stable id",
        ),
        (
            "ledger keyed by delivery",
            Pipeline {
                ledger_key: LedgerKey::Delivery,
                ..idem
            },
            lease,
            LEG3,
            "not by the delivery",
        ),
        (
            "ledger written after the effect (W3)",
            Pipeline {
                ledger_write: LedgerWrite::AfterEffect,
                ..idem
            },
            crash,
            LEG3,
            "same transaction as the effect, not in a separate step",
        ),
        (
            "ledger never checked",
            Pipeline {
                ledger_check: false,
                ..idem
            },
            lease,
            LEG3,
            "must look the key up",
        ),
    ];
    for (name, pipeline, bounds, leg, says) in cases {
        let (model, trace) = counterexample(pipeline, bounds, APPLIED_ONCE);
        let n = narrative(&model, &trace, APPLIED_ONCE);
        assert_eq!(n.diagnosis.leg, leg, "{name}");
        assert!(
            n.diagnosis.guarantee.contains(says),
            "{name}: {}",
            n.diagnosis.guarantee
        );
        assert_eq!(marked(&n).len(), 1, "{name}");
        assert_mermaid_shape(
            &sequence_diagram(&model, &trace, APPLIED_ONCE),
            bounds.consumers,
        );
    }
}

/// Walks the model by choosing, at each step, the first enabled action a
/// predicate accepts: for stories no property violation leads to.
fn walk(model: &Model, picks: &[&dyn Fn(&Action) -> bool]) -> Trace {
    let mut state = model.init_states().remove(0);
    let mut steps = Vec::new();
    for (i, pick) in picks.iter().enumerate() {
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        let action = actions
            .into_iter()
            .find(|a| pick(a))
            .unwrap_or_else(|| panic!("step {i}: no such action enabled"));
        let next = model.next_state(&state, action.clone()).expect("a change");
        steps.push((state, Some(action)));
        state = next;
    }
    steps.push((state, None));
    let faults = onceproof::search::faults_on(&steps);
    Trace {
        steps,
        encoded: String::new(),
        epilogue: Vec::new(),
        minimal: false,
        faults,
        cycle_from: None,
        fair_states: 0,
    }
}

fn publish(attempt: u8) -> impl Fn(&Action) -> bool {
    move |a| matches!(a, ActorModelAction::Deliver { msg: Msg::Publish { attempt: n, .. }, .. } if *n == attempt)
}

fn retry_timer(a: &Action) -> bool {
    matches!(a, ActorModelAction::Timeout(_, Timer::Retry(_)))
}

fn dispatch(a: &Action) -> bool {
    matches!(a, ActorModelAction::SelectRandom { .. })
}

fn deliver(a: &Action) -> bool {
    matches!(
        a,
        ActorModelAction::Deliver {
            msg: Msg::Deliver { .. },
            ..
        }
    )
}

fn apply(a: &Action) -> bool {
    matches!(
        a,
        ActorModelAction::Deliver {
            msg: Msg::Apply { .. },
            ..
        }
    )
}

fn applied(a: &Action) -> bool {
    matches!(
        a,
        ActorModelAction::Deliver {
            msg: Msg::Applied { .. },
            ..
        }
    )
}

fn complete(a: &Action) -> bool {
    matches!(
        a,
        ActorModelAction::Deliver {
            msg: Msg::Complete { .. },
            ..
        }
    )
}

#[test]
fn broker_dedup_and_ledger_skip_are_told() {
    // The atomic boundary's broker drops the retried publish.
    let model = model::build(Config {
        pipeline: Pipeline::of(Mode::AtomicBoundary),
        bounds: Bounds {
            retries: 1,
            ..quiet()
        },
    });
    let trace = walk(&model, &[&publish(0), &retry_timer, &publish(1)]);
    let n = narrative(&model, &trace, APPLIED_ONCE);
    assert_eq!(
        n.steps,
        [
            "broker stores op 1 as message 1 and confirms — published",
            "producer: no confirm for op 1 (the confirm is late but still on its way), re-publishes it (attempt 2, id 1)",
            "broker: duplicate publish of op 1 (id 1) dropped, confirms again",
        ]
    );
    let d = sequence_diagram(&model, &trace, APPLIED_ONCE);
    assert!(d.contains("P->>B: re-publish op 1 (attempt 2, id 1), duplicate id 1 dropped"));

    // Idempotency without publish dedup: two messages, the ledger skips
    // the second.
    let model = model::build(Config {
        pipeline: Pipeline::of(Mode::Idempotency),
        bounds: Bounds {
            retries: 1,
            ..quiet()
        },
    });
    let trace = walk(
        &model,
        &[
            &publish(0),
            &retry_timer,
            &publish(1),
            &dispatch,
            &deliver,
            &apply,
            &applied,
            &complete,
            &dispatch,
            &deliver,
            &apply,
        ],
    );
    let n = narrative(&model, &trace, APPLIED_ONCE);
    assert!(marked(&n).is_empty());
    assert_eq!(
        n.steps.last().unwrap(),
        "effect store finds key id 1 in its ledger and skips op 1 (message 2, delivery 1) — still applied 1×"
    );
    assert!(n.steps[5].contains("writes ledger key id 1 in the same transaction"));
    let d = sequence_diagram(&model, &trace, APPLIED_ONCE);
    assert_mermaid_shape(&d, 1);
    assert!(
        d.trim_end()
            .ends_with("Note right of S: key found, op 1 skipped")
    );
    let doc = itf(&model, &trace, APPLIED_ONCE);
    let last = doc["states"].as_array().unwrap().last().unwrap();
    assert_eq!(
        last["ledger"],
        json!({ "#set": [{ "tag": "Id", "value": { "id": bigint(0) } }] })
    );
}

#[test]
fn lost_publish_is_drawn_as_a_crossed_arrow() {
    let model = model::build(Config {
        pipeline: Pipeline::of(Mode::AtLeastOnce),
        bounds: Bounds {
            losses: 1,
            retries: 1,
            ..quiet()
        },
    });
    let lost = |a: &Action| matches!(a, ActorModelAction::Drop(_));
    let trace = walk(&model, &[&lost, &retry_timer, &publish(1)]);
    let n = narrative(&model, &trace, APPLIED_ONCE);
    assert_eq!(n.steps[0], "producer's publish of op 1 is lost");
    assert_eq!(
        n.steps[2],
        "broker stores the re-published op 1 (attempt 2, id 1) as message 1 and confirms — published"
    );
    let d = sequence_diagram(&model, &trace, APPLIED_ONCE);
    assert_mermaid_shape(&d, 1);
    assert!(d.contains("P-xB: publish op 1 (id 1) (lost)"));
    let doc = itf(&model, &trace, APPLIED_ONCE);
    assert_itf_shape(&doc, &trace);
    let states = doc["states"].as_array().unwrap();
    assert_eq!(states[0]["in_flight"].as_array().unwrap().len(), 1);
    assert_eq!(states[1]["lost"], bigint(1));
    assert_eq!(states[1]["in_flight"], json!([]));
}

/// The reports read the history's confirm mask ("was confirmed to the
/// producer"): each confirm lands under its own operation, whatever its
/// index, and only once the broker has stored that operation.
#[test]
fn each_confirm_is_recorded_under_its_own_operation() {
    let cfg = Config {
        pipeline: Pipeline::of(Mode::AtLeastOnce),
        bounds: Bounds {
            operations: 3,
            consumers: 1,
            ..quiet()
        },
    };
    let m = model::build(cfg);
    let mut all_confirmed = false;
    for s in common::reachable(&m) {
        let (p, b) = (model::producer(&s), model::broker(&s));
        for op in 0..3u8 {
            let bit = s.history.confirmed & (1 << op) != 0;
            assert!(!p.acked[op as usize] || bit, "op {op} acked, not recorded");
            assert!(
                !bit || b.messages.iter().any(|e| e.op == op),
                "op {op} recorded unstored"
            );
        }
        all_confirmed |= s.history.confirmed == 0b111;
    }
    assert!(all_confirmed);
}

/// The step meanings every renderer reads, on the SQS double charge: a
/// lease expires under a working holder, the effect commits twice, and the
/// stale delete is honoured (in the aftermath's words, checked above).
#[test]
fn step_events_name_what_each_step_meant() {
    use onceproof::report::events::{self, Event};
    let s =
        onceproof::scenario::load(std::path::Path::new("models/sqs-double-charge.toml")).unwrap();
    let m = model::build(s.config);
    let t = check::shortest_counterexample(&m, APPLIED_ONCE).unwrap();
    let evs: Vec<Event> = events::of_trace(&m, &t).map(|(_, _, e)| e).collect();
    assert!(evs.iter().any(|e| matches!(
        e,
        Event::LeaseTimer {
            expired: Some((_, _, true)),
            ..
        }
    )));
    let applied: Vec<u8> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Effect {
                op: 0,
                skipped: false,
                times,
                ..
            } => Some(*times),
            _ => None,
        })
        .collect();
    assert_eq!(applied, vec![1, 2]);
    // The narrative is the events in words, one line each.
    let n = narrative(&m, &t, APPLIED_ONCE);
    assert_eq!(n.steps.len(), evs.len());
    assert!(n.steps[0].starts_with(&onceproof::report::narrative::words(&m, &evs[0])));
}

/// docs/FACTS.md lists exactly the ids a scenario may cite, each with the
/// text `src/assumptions.rs` gives it and a public source.
#[test]
fn the_facts_document_is_in_step_with_the_assumption_ids() {
    let doc = std::fs::read_to_string("docs/FACTS.md").expect("docs/FACTS.md");
    let rows: Vec<Vec<&str>> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| id |"))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let known = onceproof::assumptions::KNOWN;
    assert_eq!(rows.len(), known.len(), "one row per id");
    for (id, fact) in known {
        let row = rows
            .iter()
            .find(|r| r[0] == *id)
            .unwrap_or_else(|| panic!("{id} has no row in docs/FACTS.md"));
        assert_eq!(
            row[1], *fact,
            "{id}: the fact differs from src/assumptions.rs"
        );
        assert!(row.len() == 3 && !row[2].is_empty(), "{id}: no source");
    }
}

/// The guarantee statement follows the pipeline: two scenarios that differ
/// in one value differ in the line that value belongs to, and only there.
#[test]
fn the_guarantee_statement_changes_where_the_pipeline_does() {
    use onceproof::report::statement::statement;
    let of = |name: &str| {
        let s = onceproof::scenario::load(std::path::Path::new(&format!("models/{name}.toml")))
            .unwrap();
        statement(&s.config, s.broker_kind)
    };
    let (unique, cta) = (of("idempotency"), of("idempotency-check-then-act"));
    assert_eq!(
        (&unique.broker, &unique.consumer),
        (&cta.broker, &cta.consumer)
    );
    assert!(
        unique
            .store
            .contains("refusing one it already has in the same transaction")
    );
    assert!(
        cta.store.contains("with no unique constraint"),
        "{}",
        cta.store
    );
    let (locks, no_409) = (of("api-idempotency-key"), of("api-key-check-then-act"));
    assert!(locks.store.contains("409"), "{}", locks.store);
    assert!(
        no_409
            .store
            .contains("a concurrent call with the same key runs too")
    );
    let (most, least) = (of("at-most-once"), of("at-least-once"));
    assert!(
        most.consumer
            .starts_with("The consumer first records completion")
    );
    assert!(
        least
            .consumer
            .starts_with("The consumer applies the effect, then records completion")
    );
    assert!(least.store.contains("no check for a repeat"));
    let fifo = of("sqs-fifo-atomic-boundary");
    assert!(
        fifo.broker.contains("within its deduplication window"),
        "{}",
        fifo.broker
    );
    assert!(fifo.consumer.contains("deletes the message"));
    let fire = of("at-most-once-lost-publish");
    assert!(fire.broker.contains("fire-and-forget"));
}
