//! Counterexamples replayed on real brokers.
//!
//! A counterexample is a claim about a real system: "with this one crash,
//! RabbitMQ hands the message out again and the effect happens twice". This
//! crate checks the claim. It takes the scenario's counterexample from the
//! checker, maps each step to what a real client does (publish, receive,
//! the effect in PostgreSQL, ack / DeleteMessage / offset commit, a crash
//! as the consumer's own process killed with no ack or commit, a lease
//! expiry as the shortest lease the broker allows running out), runs it on
//! servers on loopback (`scripts/brokers up`), and compares what PostgreSQL
//! holds at the end with what the model said. The same schedule is then run
//! against the design the model proves (the counterpart), whose outcome must
//! be each operation applied exactly once.

pub mod broker;
pub mod plan;
pub mod process;
pub mod rabbitmq;
pub mod run;
pub mod store;

/// A queue name no other replay uses while the broker lives on: the pid
/// and start time tell processes apart, a counter the queues of one.
pub fn unique_name() -> String {
    static STARTED: std::sync::LazyLock<u128> = std::sync::LazyLock::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    });
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("onceproof-replay-{}-{}-{n}", std::process::id(), *STARTED)
}

/// The operation a message's payload names (`op=N`, N from 0 as in the
/// model).
pub fn payload_op(data: &[u8]) -> broker::Result<u8> {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.strip_prefix("op="))
        .and_then(|n| n.parse().ok())
        .map_or_else(
            || {
                broker::fail(format!(
                    "a message not from the replay: {:?}",
                    String::from_utf8_lossy(data)
                ))
            },
            Ok,
        )
}
pub mod servers;
pub mod sqs;

use onceproof::check::{Limits, check_scenario};
use onceproof::scenario::Scenario;

/// The proved design each replayed counterexample's schedule is also run
/// against: the same broker, with the operation id checked in the effect's
/// transaction.
pub const COUNTERPARTS: [(&str, &str); 8] = [
    ("rabbitmq-channel-close-duplicate", "rabbitmq-idempotency"),
    ("rabbitmq-auto-ack", "rabbitmq-idempotency"),
    ("rabbitmq-confirm-lost-duplicate", "rabbitmq-idempotency"),
    ("sqs-double-charge", "sqs-standard-idempotency"),
    ("kafka-crash-before-commit", "kafka-idempotency"),
    ("kafka-commit-before", "kafka-idempotency"),
    ("kafka-at-least-once", "kafka-idempotency"),
    ("rabbitmq-at-least-once", "rabbitmq-idempotency"),
];

pub fn counterpart_of(name: &str) -> Option<&'static str> {
    COUNTERPARTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
}

/// The counterexample's replay and, with a counterpart, the same schedule
/// against it.
pub struct Outcome {
    /// The property whose counterexample was replayed.
    pub property: &'static str,
    pub counterexample: run::Replay,
    pub counterpart: Option<run::Replay>,
}

/// Replays `scenario`'s counterexample to `property` (the first refuted
/// property when None), then the same schedule against `counterpart`.
pub fn replay(
    scenario: &Scenario,
    property: Option<&str>,
    counterpart: Option<&Scenario>,
    servers: &servers::Servers,
) -> broker::Result<Outcome> {
    let outcome = check_scenario(scenario, Limits::default(), &mut |_| {});
    let refuted = outcome
        .properties
        .iter()
        .filter(|p| property.is_none_or(|name| p.name == name))
        .find(|p| p.trace.is_some());
    let Some(refuted) = refuted else {
        return broker::fail(format!(
            "{}: no counterexample{} to replay",
            scenario.name,
            property.map_or(String::new(), |p| format!(" to \"{p}\""))
        ));
    };
    let trace = refuted.trace.as_ref().expect("found above");
    let model = onceproof::model::build(scenario.config);
    let steps = plan::plan(&model, trace).or_else(broker::fail)?;
    let design = plan::Design::of(&scenario.name, &scenario.config).or_else(broker::fail)?;
    let end = trace.epilogue.last().map_or(trace.last_state(), |(_, s)| s);
    let expected = onceproof::model::store(end).applied.clone();
    let kind = servers::Kind::of(scenario.broker_kind)?;
    // The counterpart's design: the schedule's operations and consumers,
    // its own handler.
    let other = match counterpart {
        None => None,
        Some(c) => {
            let mut other = plan::Design::of(&c.name, &c.config).or_else(broker::fail)?;
            other.operations = design.operations;
            other.consumers = design.consumers;
            Some((other, servers::Kind::of(c.broker_kind)?))
        }
    };
    // The two runs share nothing (their own queue or topic, schema and
    // consumer processes), so they run side by side: a replay that waits
    // on the broker's clock (a consumer timeout, a rebalance) waits once.
    let (counterexample, counterpart) = std::thread::scope(|scope| {
        let second = other.as_ref().map(|(other, kind)| {
            let steps = &steps;
            scope.spawn(move || {
                run_one(
                    &scenario.name,
                    steps,
                    other,
                    false,
                    vec![1; other.operations as usize],
                    *kind,
                    servers,
                )
            })
        });
        let first = run_one(
            &scenario.name,
            &steps,
            &design,
            true,
            expected,
            kind,
            servers,
        );
        let second = second.map(|h| h.join().expect("a replay does not panic"));
        (first, second)
    });
    let counterexample = counterexample?;
    let counterpart = counterpart.transpose()?;
    Ok(Outcome {
        property: refuted.name,
        counterexample,
        counterpart,
    })
}
pub mod kafka;

/// One run of a plan on its own connections and PostgreSQL schema.
fn run_one(
    scenario: &str,
    steps: &[plan::Planned],
    design: &plan::Design,
    strict: bool,
    expected: Vec<u8>,
    kind: servers::Kind,
    servers: &servers::Servers,
) -> broker::Result<run::Replay> {
    let mut store = store::Store::connect(&servers.postgres, design.operations)?;
    let mut broker = servers::broker_for(kind, servers)?;
    run::run(
        scenario,
        steps,
        design,
        strict,
        expected,
        run::Setup {
            broker: broker.as_mut(),
            kind,
            servers,
            store: &mut store,
        },
    )
}

/// What the results page says of a replay (`--write`).
pub fn record(o: &Outcome) -> onceproof::report::replayed::Replayed {
    use onceproof::report::replayed::{Counterpart, FORMAT, Replayed};
    let ce = &o.counterexample;
    Replayed {
        format: FORMAT,
        scenario: ce.scenario.clone(),
        property: o.property.to_string(),
        broker: ce.broker.clone(),
        differences: ce.differences.clone(),
        store: ce.store.clone(),
        outcome: run::counts(&ce.applied),
        reproduced: ce.verdict == run::Verdict::Reproduced,
        counterpart: o.counterpart.as_ref().map(|c| Counterpart {
            scenario: c.design.clone(),
            outcome: run::counts(&c.applied),
            exactly_once: c.verdict == run::Verdict::Reproduced,
        }),
    }
}
