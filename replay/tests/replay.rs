//! The counterexamples of issue-class scenarios replayed on the real servers
//! `scripts/brokers up` starts, each with the same schedule against its
//! proved counterpart. These tests need the servers: without them they
//! fail, naming the server (never skipped).

use onceproof_replay::run::{Replay, Verdict};
use onceproof_replay::{Outcome, counterpart_of, replay, servers::Servers};
use std::path::Path;

fn models() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"))
}

fn load(name: &str) -> onceproof::scenario::Scenario {
    onceproof::scenario::load(&models().join(format!("{name}.toml"))).expect("a shipped scenario")
}

/// The servers, with consumers run by the harness's own program.
fn servers() -> Servers {
    Servers {
        program: env!("CARGO_BIN_EXE_onceproof-replay").into(),
        ..Servers::from_env()
    }
}

fn replayed(name: &str, property: &str) -> Outcome {
    let counterpart = load(counterpart_of(name).expect("a counterpart"));
    replay(&load(name), Some(property), Some(&counterpart), &servers())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn saw(r: &Replay, words: &str) -> bool {
    r.lines.iter().any(|l| l.real.contains(words))
}

/// The counterexample's outcome is reality's, and the proved design under
/// the same schedule applies each operation exactly once.
fn assert_replayed(o: &Outcome, applied: &[u8]) {
    let ce = &o.counterexample;
    assert_eq!(ce.verdict, Verdict::Reproduced, "{ce:#?}");
    assert_eq!(ce.applied, applied, "{ce:#?}");
    assert_eq!(ce.expected, applied, "the model's outcome");
    let proved = o.counterpart.as_ref().expect("a counterpart run");
    assert_eq!(proved.verdict, Verdict::Reproduced, "{proved:#?}");
    assert!(proved.applied.iter().all(|&n| n == 1), "{proved:#?}");
    // The results page says what this run found.
    let dir = models().join("../results");
    assert_eq!(
        onceproof::report::replayed::read(&dir, &ce.scenario),
        Some(onceproof_replay::record(o)),
        "results/{0}.replay.json is stale: run `onceproof replay {0} --write results/`, then `onceproof check --all --write results/`",
        ce.scenario
    );
}

#[test]
fn sqs_visibility_expiry_charges_twice_without_a_crash() {
    let o = replayed("sqs-double-charge", "side effect applied once");
    assert_replayed(&o, &[2]);
    assert!(saw(&o.counterexample, "ApproximateReceiveCount=2"));
    assert!(o.counterexample.broker.contains("emulator"));
    assert!(
        o.counterpart
            .unwrap()
            .lines
            .iter()
            .any(|l| l.real.contains("already in the ledger"))
    );
}

#[test]
fn rabbitmq_channel_closed_after_the_effect_redelivers() {
    let o = replayed(
        "rabbitmq-channel-close-duplicate",
        "side effect applied once",
    );
    assert_replayed(&o, &[2]);
    assert!(saw(&o.counterexample, "redelivered = true"));
}

#[test]
fn rabbitmq_auto_ack_loses_the_message_with_the_crash() {
    let o = replayed("rabbitmq-auto-ack", "no loss");
    assert_replayed(&o, &[0]);
    assert!(saw(&o.counterexample, "no_ack"));
}

/// RabbitMQ's consumer timeout (R4) expires while consumer 1 still works:
/// the broker closes its channel and requeues, consumer 2 applies the
/// effect again, and consumer 1's late ack fails on the closed channel.
/// RabbitMQ checks the timeout once a minute: about 2 minutes.
#[test]
fn rabbitmq_consumer_timeout_redelivers_to_another_consumer() {
    let o = replayed("rabbitmq-at-least-once", "side effect applied once");
    assert_replayed(&o, &[2]);
    let ce = &o.counterexample;
    assert!(saw(ce, "consumer timeout"), "{ce:#?}");
    assert!(saw(ce, "redelivered = true"));
    assert!(saw(ce, "failed: invalid channel state"), "{ce:#?}");
}

#[test]
fn a_lost_confirm_stores_the_retry_twice() {
    let o = replayed(
        "rabbitmq-confirm-lost-duplicate",
        "side effect applied once",
    );
    assert_replayed(&o, &[2]);
    assert!(saw(&o.counterexample, "discarded as lost"));
}

#[test]
fn kafka_crash_before_the_commit_fetches_the_offset_again() {
    let o = replayed("kafka-crash-before-commit", "side effect applied once");
    assert_replayed(&o, &[2]);
    assert!(saw(
        &o.counterexample,
        "offset 0 fetched by consumer 1 (fetched 2×)"
    ));
    assert!(
        o.counterexample.broker.starts_with("tansu "),
        "{}",
        o.counterexample.broker
    );
    assert!(
        o.counterexample
            .broker
            .contains("a Kafka-protocol broker (not Apache Kafka)")
    );
}

/// The atomic boundary under the same crash: the offset stored in the
/// effect's transaction in PostgreSQL refuses the redelivered record.
#[test]
fn kafka_crash_before_the_commit_against_the_stored_offset() {
    let atomic = load("kafka-atomic-boundary");
    let o = replay(
        &load("kafka-crash-before-commit"),
        Some("side effect applied once"),
        Some(&atomic),
        &servers(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.counterexample.verdict, Verdict::Reproduced);
    let proved = o.counterpart.expect("a counterpart run");
    assert_eq!(proved.verdict, Verdict::Reproduced, "{proved:#?}");
    assert_eq!(proved.applied, vec![1]);
    assert!(saw(&proved, "offset 0 already stored"), "{proved:#?}");
}

#[test]
fn kafka_commit_before_processing_loses_the_record() {
    let o = replayed("kafka-commit-before", "no loss");
    assert_replayed(&o, &[1, 0]);
    assert!(saw(&o.counterexample, "resumes at committed offset 2"));
}

/// The zombie: a rebalance moves the partition while consumer 1 still
/// works on its record, consumer 2 resumes at the committed offset, and the
/// zombie's commit is fenced (it is a group member here).
#[test]
fn kafka_rebalance_zombie_repeats_the_effect_and_its_commit_is_fenced() {
    let o = replayed("kafka-at-least-once", "side effect applied once");
    assert_replayed(&o, &[2, 1]);
    let ce = &o.counterexample;
    assert!(saw(
        ce,
        "consumer 2 joined the group and was assigned partition 0"
    ));
    assert!(saw(ce, "offset 0 fetched by consumer 2"));
    assert!(saw(ce, "commit of offset 1 refused"), "{ce:#?}");
}

#[test]
fn a_server_that_cannot_be_reached_is_named_with_exit_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onceproof-replay"))
        .args(["rabbitmq-auto-ack", "--models"])
        .arg(models())
        .env("ONCEPROOF_AMQP", "amqp://guest:guest@127.0.0.1:1/%2f")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("RabbitMQ at amqp://guest:guest@127.0.0.1:1"),
        "{err}"
    );
}

/// Every socket the started servers listen on is bound to loopback.
#[test]
fn the_servers_listen_on_loopback_only() {
    let dir = std::env::var("ONCEPROOF_BROKERS_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/brokers").into());
    let mut pids = Vec::new();
    for name in ["rabbitmq", "epmd", "postgres", "moto", "tansu"] {
        let file = Path::new(&dir).join(format!("{name}.pid"));
        let pid = std::fs::read_to_string(&file).unwrap_or_else(|_| {
            panic!(
                "{name} is not running ({} missing): scripts/brokers up",
                file.display()
            )
        });
        pids.push(pid.trim().to_string());
    }
    let mut all = Vec::new();
    while let Some(pid) = pids.pop() {
        for children in std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let kids =
                std::fs::read_to_string(children.path().join("children")).unwrap_or_default();
            pids.extend(kids.split_whitespace().map(str::to_string));
        }
        all.push(pid);
    }
    let mut inodes = std::collections::HashSet::new();
    for pid in &all {
        for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(link) = std::fs::read_link(fd.path())
                && let Some(i) = link.to_str().and_then(|l| l.strip_prefix("socket:["))
            {
                inodes.insert(i.trim_end_matches(']').to_string());
            }
        }
    }
    let mut listening = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table).unwrap().lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f[3] != "0A" || !inodes.contains(f[9]) {
                continue;
            }
            let addr = f[1].split(':').next().unwrap();
            let loopback = addr == "0100007F" || addr == "00000000000000000000000001000000";
            assert!(loopback, "a server listens on {} ({table})", f[1]);
            listening += 1;
        }
    }
    assert!(listening >= 6, "only {listening} listening sockets found");
}

/// The verdict can fail: the same real run judged against an outcome the
/// model did not give is not reproduced, and says why.
#[test]
fn a_different_outcome_is_not_reproduced() {
    use onceproof::check::{Limits, check_scenario};
    use onceproof_replay::{plan, run, servers as hosts, store::Store};
    let s = load("rabbitmq-channel-close-duplicate");
    let outcome = check_scenario(&s, Limits::default(), &mut |_| {});
    let trace = outcome.trace("side effect applied once").expect("refuted");
    let steps = plan::plan(&onceproof::model::build(s.config), trace).unwrap();
    let design = plan::Design::of(&s.name, &s.config).unwrap();
    let env = servers();
    let mut store = Store::connect(&env.postgres, design.operations).unwrap();
    let kind = hosts::Kind::of(s.broker_kind).unwrap();
    let mut broker = hosts::broker_for(kind, &env).unwrap();
    let setup = run::Setup {
        broker: broker.as_mut(),
        kind,
        servers: &env,
        store: &mut store,
    };
    let r = run::run(&s.name, &steps, &design, true, vec![1], setup).unwrap();
    assert_eq!(r.applied, vec![2]);
    match r.verdict {
        Verdict::NotReproduced { step: None, why } => {
            assert!(why.contains("the model ends with op 1 applied 1×"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}
