//! ITF traces load in real readers: the `itf` crate (Informal Systems'
//! Rust reader, decoding into typed states the way its users do) and, where
//! `ONCEPROOF_ITF_PY` names a Python with `itf-py` installed (`.ci/run`
//! makes one), Python's `itf-py`. Every refuted shipped scenario under
//! 5,000 states is exported: between them they hold every variable and
//! every kind of variant the exporter writes.

use assert_cmd::Command;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Refuted scenarios small enough to check in a second or two together,
/// chosen so the Kafka partition, the payment API's running calls, the
/// output topic and a lasso (`loop`) all appear.
const SCENARIOS: [&str; 12] = [
    "sqs-double-charge",
    "at-most-once-lost-publish",
    "api-key-check-then-act",
    "api-dedup-row-then-call",
    "kafka-transaction-abort-no-seek",
    "kafka-transactions-unfenced",
    "kafka-rebalance-zombie",
    "sqs-fifo-poison-no-dlq",
    "rabbitmq-auto-ack",
    "idempotency-check-then-act",
    "producer-crash-forgets",
    "kafka-cumulative-commit",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct State {
    action: String,
    applied: BTreeMap<u64, u64>,
    ledger: Vec<Key>,
    broker: BTreeMap<u64, Message>,
    consumers: BTreeMap<u64, Consumer>,
    crashed: Vec<u64>,
    in_flight: Vec<InFlight>,
    confirmed: Vec<u64>,
    producer_acked: Vec<u64>,
    owed: Vec<u64>,
    lost: u64,
    log: Option<Log>,
    running: Option<Vec<Running>>,
    output: Option<BTreeMap<u64, u64>>,
}

#[derive(Deserialize)]
#[serde(tag = "tag", content = "value")]
#[allow(dead_code)]
enum Key {
    Id { id: u64 },
    Offset { message: u64 },
    Delivery { message: u64, delivery: u64 },
}

#[derive(Deserialize)]
#[serde(tag = "tag", content = "value")]
#[allow(dead_code)]
enum Status {
    Ready,
    Leased { consumer: u64, delivery: u64 },
    Done,
    DeadLettered,
}

#[derive(Deserialize)]
#[serde(tag = "tag", content = "value")]
enum Stage {
    Queued,
    Applying,
    Recording,
    Completing,
    Looking,
    Claiming,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Message {
    op: u64,
    id: u64,
    deliveries: u64,
    status: Status,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Consumer {
    incarnation: u64,
    down: bool,
    jobs: Vec<Job>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Job {
    message: u64,
    delivery: u64,
    op: u64,
    id: u64,
    stage: Stage,
}

/// A message on the wire: its kind and its fields, kept generic (the
/// crate's decoder still reads every value in it).
#[derive(Deserialize)]
#[allow(dead_code)]
struct Variant {
    tag: String,
    value: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct InFlight {
    sender: String,
    receiver: String,
    msg: Variant,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Log {
    committed: u64,
    position: u64,
    owner: u64,
    generation: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Running {
    message: u64,
    delivery: u64,
    consumer: u64,
    op: u64,
    key: Key,
}

/// Exports the scenarios' counterexamples into a fresh directory.
fn export() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("onceproof")
        .unwrap()
        .arg("check")
        .args(SCENARIOS)
        .args(["--trace-format", "itf", "--write"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".itf.json"))
        .collect();
    files.sort();
    (dir, files)
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_trace_decodes_into_typed_states_with_the_itf_crate() {
    let (_dir, files) = export();
    assert!(files.len() >= SCENARIOS.len(), "{files:?}");
    let mut seen = BTreeMap::new();
    for path in &files {
        let trace = itf::trace_from_str::<State>(&text(path))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(trace.states.len() > 1, "{}", path.display());
        assert_eq!(trace.states[0].value.action, "init");
        for s in &trace.states {
            let v = &s.value;
            *seen.entry("log").or_insert(0) += v.log.is_some() as u32;
            *seen.entry("running").or_insert(0) += v.running.is_some() as u32;
            *seen.entry("output").or_insert(0) += v.output.is_some() as u32;
            for c in v.consumers.values() {
                for j in &c.jobs {
                    let queued = matches!(j.stage, Stage::Queued) as u32;
                    *seen.entry("queued job").or_insert(0) += queued;
                }
            }
            for m in v.broker.values() {
                let ready = matches!(m.status, Status::Ready) as u32;
                *seen.entry("ready message").or_insert(0) += ready;
            }
        }
        *seen.entry("lasso").or_insert(0) += trace.loop_index.is_some() as u32;
    }
    // The typed decoding was exercised on the optional variables and on
    // variants that carry nothing, not only on what every trace has.
    for (what, n) in &seen {
        assert!(*n > 0, "no trace had a {what}: {seen:?}");
    }
}

#[test]
fn every_trace_loads_in_python_itf_py_where_installed() {
    let Some(python) = std::env::var_os("ONCEPROOF_ITF_PY") else {
        eprintln!("ONCEPROOF_ITF_PY is not set (a python with itf-py); .ci/run sets it");
        return;
    };
    let (_dir, files) = export();
    let script = "import itf_py, json, sys\n\
                  for p in sys.argv[1:]:\n    \
                  t = itf_py.trace_from_json(json.load(open(p)))\n    \
                  assert len(t.states) > 1, p\n";
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
