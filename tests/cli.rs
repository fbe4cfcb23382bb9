//! The command-line contract: exit codes, bad input, list, JSON.

use assert_cmd::Command;
use std::path::Path;

fn onceproof() -> Command {
    Command::cargo_bin("onceproof").unwrap()
}

/// A scenario file in a fresh directory (kept while the guard lives).
fn scenario_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path.display().to_string())
}

/// Runs `check` with `args` before the file.
fn check_path(path: &str, args: &[&str]) -> std::process::Output {
    onceproof()
        .arg("check")
        .args(args)
        .arg(path)
        .output()
        .unwrap()
}

/// Writes a scenario file and runs `check` on it; returns (status, stderr).
fn check_file(text: &str) -> (i32, String, String) {
    let (_dir, path) = scenario_file(text);
    let out = check_path(&path, &[]);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        path,
    )
}

const VALID: &str = r#"schema = 1
name = "tiny"
summary = "One operation, one lease expiry."
mode = "at-least-once"

[bounds]
operations = 1
consumers = 2
retries = 0
crashes = 0
losses = 0
lease-expiries = 1

[expect]
applied-once = "counterexample"
no-loss = "proved"
"#;

fn assert_bad(text: &str, line: usize, field: &str, words: &str) {
    let (code, stderr, path) = check_file(text);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    let expected = format!("{path}:{line}: field `{field}`");
    assert!(stderr.contains(&expected), "{stderr:?} lacks {expected:?}");
    assert!(stderr.contains(words), "{stderr:?} lacks {words:?}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_valid_scenario_checks_and_exits_0() {
    let (code, stderr, _) = check_file(VALID);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn an_unexpected_verdict_exits_1() {
    let (code, stderr, _) = check_file(&VALID.replace(
        "applied-once = \"counterexample\"",
        "applied-once = \"proved\"",
    ));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("tiny"));
}

#[test]
fn missing_file() {
    let out = onceproof()
        .args(["check", "models/no-such-scenario.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("models/no-such-scenario.toml"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1);
}

#[test]
fn invalid_toml() {
    let (code, stderr, path) = check_file(&VALID.replace("operations = 1", "operations = = 1"));
    assert_eq!(code, 2);
    assert!(stderr.contains(&format!("{path}:7")), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1);
}

#[test]
fn unknown_field() {
    assert_bad(
        &VALID.replace("crashes = 0", "crashes = 0\nreboots = 1"),
        11,
        "bounds.reboots",
        "unknown field",
    );
}

#[test]
fn unknown_mode() {
    assert_bad(
        &VALID.replace("mode = \"at-least-once\"", "mode = \"exactly-once\""),
        4,
        "mode",
        "unknown variant",
    );
}

#[test]
fn wrong_type() {
    assert_bad(
        &VALID.replace("consumers = 2", "consumers = \"two\""),
        8,
        "bounds.consumers",
        "expected an integer, found string",
    );
}

#[test]
fn zero_bound() {
    assert_bad(
        &VALID.replace("consumers = 2", "consumers = 0"),
        8,
        "bounds.consumers",
        "out of range",
    );
}

#[test]
fn absurd_bound() {
    assert_bad(
        &VALID.replace("operations = 1", "operations = 200"),
        7,
        "bounds.operations",
        "out of range",
    );
}

#[test]
fn negative_bound() {
    assert_bad(
        &VALID.replace("retries = 0", "retries = -1"),
        9,
        "bounds.retries",
        "-1 is out of range: allowed 0..=4",
    );
}

#[test]
fn expectation_for_a_property_that_does_not_exist() {
    assert_bad(
        &VALID.replace(
            "no-loss = \"proved\"",
            "no-loss = \"proved\"\nordering = \"proved\"",
        ),
        17,
        "expect.ordering",
        "unknown field",
    );
}

#[test]
fn unknown_verdict() {
    assert_bad(
        &VALID.replace("no-loss = \"proved\"", "no-loss = \"fine\""),
        16,
        "expect.no-loss",
        "unknown variant",
    );
}

#[test]
fn unsupported_schema_version() {
    assert_bad(
        &VALID.replace("schema = 1", "schema = 2"),
        1,
        "schema",
        "not supported",
    );
}

#[test]
fn unknown_assumption_id() {
    assert_bad(
        &VALID.replace(
            "mode = \"at-least-once\"",
            "mode = \"at-least-once\"\nassumptions = [\"Z9\"]",
        ),
        5,
        "assumptions",
        "Z9",
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = onceproof().args(["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = onceproof().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    for timeout in ["-3", "1e300", "0"] {
        let out = onceproof()
            .args(["check", "at-most-once", "--timeout", timeout])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--timeout {timeout}");
    }
}

#[test]
fn every_flag_has_help() {
    for sub in ["check", "list", "explore"] {
        let out = onceproof().args([sub, "-h"]).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        for line in help.lines().filter(|l| l.trim_start().starts_with("--")) {
            let text = line.trim_start();
            let described = text.split("  ").filter(|p| !p.trim().is_empty()).count() >= 2;
            assert!(described, "{sub}: flag without help text: {line}");
        }
    }
}

#[test]
fn list_shows_every_model_with_its_expectations() {
    let out = onceproof().args(["list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let files = std::fs::read_dir(Path::new("models")).unwrap().count();
    assert_eq!(text.matches("expects").count(), files);
    assert!(text.contains("at-least-once"));
    assert!(text.contains("side effect applied once: counterexample"));
}

#[test]
fn json_output_is_one_document_with_the_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.toml");
    std::fs::write(&path, VALID).unwrap();
    let out = onceproof()
        .args(["check", "--json", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(all["format"], 1);
    assert_eq!(all["exit"]["code"], 0);
    assert_eq!(
        all["scenarios"].as_array().unwrap().len(),
        1,
        "one shape for one"
    );
    let doc = &all["scenarios"][0];
    assert_eq!(doc["properties"][0]["verdict"], "counterexample");
    assert_eq!(doc["properties"][1]["verdict"], "proved");
    assert!(doc["states"]["unique"].as_u64().unwrap() > 0);
}

/// The first document of `check --json`'s output.
fn first(stdout: &[u8]) -> serde_json::Value {
    let all: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    all["scenarios"][0].clone()
}

/// With `--json`, errors are JSON too, with the exit status they cause:
/// bad input (with file, line and field), usage, and I/O.
#[test]
fn json_errors_are_json_documents() {
    let (_dir, path) = scenario_file(&VALID.replace("consumers = 2", "consumers = 9"));
    let out = check_path(&path, &["--json"]);
    assert_eq!(out.status.code(), Some(2));
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["format"], 1);
    assert_eq!(e["error"]["kind"], "bad input");
    assert_eq!(e["error"]["file"], path.as_str());
    assert_eq!(e["error"]["field"], "bounds.consumers");
    assert!(e["error"]["line"].as_u64().is_some());
    assert_eq!(e["error"]["code"], 2);

    let out = onceproof()
        .args(["check", "--json", "--threads", "0", "at-most-once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["error"]["kind"], "usage");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--threads")
    );

    let out = onceproof()
        .args(["check", "--json", "at-most-once", "--write", "/dev/null/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["error"]["kind"], "i/o");
}

/// `--help` documents the exit statuses.
#[test]
fn help_documents_the_exit_statuses() {
    let out = onceproof().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for line in [
        "0  every verdict is as expected",
        "1  a verdict differs",
        "2  bad input or usage",
        "3  a run was cut short",
        "4  I/O failure",
    ] {
        assert!(help.contains(line), "{help}");
    }
}

#[test]
fn a_state_limit_makes_the_run_incomplete_and_the_expectation_fail() {
    let out = onceproof()
        .args(["check", "--json", "--max-states", "2000", "idempotency"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "cut short, not a differing verdict"
    );
    let doc = first(&out.stdout);
    assert_eq!(doc["properties"][0]["verdict"], "incomplete");
    assert_eq!(doc["states"]["complete"], false);
}

#[test]
fn a_timeout_makes_the_run_incomplete() {
    let out = onceproof()
        .args(["check", "--json", "--timeout", "0.05", "at-least-once"])
        .output()
        .unwrap();
    let doc = first(&out.stdout);
    assert_eq!(doc["properties"][1]["verdict"], "incomplete");
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn itf_export_writes_one_trace_per_counterexample() {
    let dir = tempfile::tempdir().unwrap();
    let out = onceproof()
        .args([
            "check",
            "sqs-double-charge",
            "--trace-format",
            "itf",
            "--write",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let path = dir
        .path()
        .join("sqs-double-charge.side-effect-applied-once.itf.json");
    let itf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let states = itf["states"].as_array().unwrap();
    assert_eq!(states.len(), 9, "8 steps and the initial state");
    assert_eq!(states[8]["#meta"]["index"], 8);
    assert!(
        itf["vars"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "applied")
    );
    // Only refuted properties get a trace.
    assert!(
        !dir.path()
            .join("sqs-double-charge.no-loss.itf.json")
            .exists()
    );
    // The page and the document are written beside it.
    assert!(dir.path().join("sqs-double-charge.md").exists());
    assert!(dir.path().join("sqs-double-charge.json").exists());
}

#[test]
fn check_prints_the_explore_command_and_the_deep_link() {
    let out = onceproof()
        .args(["check", "sqs-double-charge"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("onceproof explore models/sqs-double-charge.toml"));
    assert!(text.contains("http://127.0.0.1:3000/#/steps/0/"));
    assert!(text.contains("✗ side effect applied once"));
    assert!(text.contains("failed leg: Leg 3"));
}

/// VALID with `table` inserted before `[bounds]` (line 6 onward).
fn with_table(table: &str) -> String {
    VALID.replace("[bounds]", &format!("{table}\n[bounds]"))
}

#[test]
fn a_field_without_effect_names_the_setting_that_voids_it() {
    // Each case: the text, the line and field of the error, and the
    // setting the message must name.
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (
            with_table("[producer]\nretry-on-timeout = false\nmax-attempts = 3\n"),
            8,
            "producer.max-attempts",
            "retry-on-timeout = false",
        ),
        (
            with_table("[producer]\non-give-up = \"silent\"\n"),
            7,
            "producer.on-give-up",
            "no `producer.max-attempts`",
        ),
        (
            with_table("[producer]\nmax-attempts = 1\nattempt-ids = \"fresh-per-attempt\"\n"),
            8,
            "producer.attempt-ids",
            "max-attempts = 1",
        ),
        (
            // at-least-once: neither the broker nor the store dedups by id.
            VALID.replace("retries = 0", "retries = 1").replace(
                "[bounds]",
                "[producer]\nattempt-ids = \"fresh-per-attempt\"\n\n[bounds]",
            ),
            7,
            "producer.attempt-ids",
            "nothing deduplicates by message id",
        ),
        (
            with_table("[producer]\nretry-on-timeout = false\n")
                .replace("retries = 0", "retries = 3"),
            12,
            "bounds.retries",
            "retry-on-timeout = false",
        ),
        (
            with_table("[broker]\npublish-dedup = true\n"),
            7,
            "broker.publish-dedup",
            "bounds.losses = 0",
        ),
        (
            VALID.replace("retries = 0", "retries = 1").replace(
                "[bounds]",
                "[producer]\nattempt-ids = \"fresh-per-attempt\"\n[broker]\npublish-dedup = true\n\n[bounds]",
            ),
            9,
            "broker.publish-dedup",
            "fresh-per-attempt",
        ),
        (
            with_table("[broker]\nstale-completion = \"accepted\"\n")
                .replace("lease-expiries = 1", "lease-expiries = 0"),
            7,
            "broker.stale-completion",
            "bounds.lease-expiries = 0",
        ),
        (
            with_table("[store]\nledger-check = false\n"),
            7,
            "store.ledger-check",
            "ledger-key = \"none\"",
        ),
        (
            with_table("[store]\nledger-write = \"after-effect\"\n"),
            7,
            "store.ledger-write",
            "ledger-key = \"none\"",
        ),
        (
            with_table(
                "[store]\nledger-key = \"operation-id\"\nledger-check = false\nledger-write = \"after-effect\"\n",
            ),
            9,
            "store.ledger-write",
            "ledger-check = false",
        ),
    ];
    for (text, line, field, setting) in cases {
        assert_bad(&text, line, field, "has no effect here");
        assert_bad(&text, line, field, setting);
    }
}

#[test]
fn a_budget_of_zero_is_never_void() {
    let text = with_table("[producer]\nretry-on-timeout = false\n");
    let (code, stderr, _) = check_file(&text);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn max_attempts_out_of_range() {
    assert_bad(
        &with_table("[producer]\nmax-attempts = 0\n"),
        7,
        "producer.max-attempts",
        "out of range",
    );
    assert_bad(
        &with_table("[producer]\non-give-up = \"maybe\"\n"),
        7,
        "producer.on-give-up",
        "unknown variant",
    );
}

#[test]
fn every_verdict_line_states_its_bounds_and_the_no_loss_anchor() {
    let out = onceproof()
        .args(["check", "models/at-most-once-lost-publish.toml"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("  bounds: 1 operation, 1 consumer, ≤ 1 lost message; the producer never re-publishes (fire-and-forget); not explored: consumer crashes, spurious retries, lease expiries, producer crashes, lost store replies"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("no loss")
                && l.ends_with("(every operation handed to the producer)")),
        "{text}"
    );
    assert!(text.contains("(1 steps, 1 fault: lost message)"), "{text}");
    let json = onceproof()
        .args(["check", "models/at-most-once-lost-publish.toml", "--json"])
        .output()
        .unwrap();
    let v = first(&json.stdout);
    let no_loss = v["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "no loss")
        .unwrap();
    assert_eq!(no_loss["anchor"], "every operation handed to the producer");
    assert_eq!(v["mode"], "at-most-once");
    assert!(
        v["bounds_summary"]
            .as_str()
            .unwrap()
            .starts_with("1 operation")
    );
}

#[test]
fn bad_deep_profiles_name_their_field() {
    let with_deep =
        |body: &str| VALID.replace("[expect]", &format!("[bounds.deep]\n{body}\n\n[expect]"));
    assert_bad(
        &with_deep("reboots = 1"),
        15,
        "bounds.deep.reboots",
        "unknown field `reboots`",
    );
    assert_bad(
        &with_deep("crashes = 9"),
        15,
        "bounds.deep.crashes",
        "9 is out of range: allowed 0..=4",
    );
    assert_bad(
        &with_deep("consumers = \"two\""),
        15,
        "bounds.deep.consumers",
        "expected an integer, found string",
    );
    assert_bad(
        &VALID.replace("lease-expiries = 1", "lease-expiries = 1\ndeep = 3"),
        13,
        "bounds.deep",
        "must be a table",
    );
}

#[test]
fn the_deep_profile_runs_deep_bounds_and_says_so() {
    let text = VALID.replace(
        "[expect]",
        "[bounds.deep]\noperations = 2\nlosses = 1\n\n[expect]",
    );
    let (_dir, path) = scenario_file(&text);
    let run = |profile: &str| {
        let out = check_path(&path, &["--json", "--profile", profile]);
        assert_eq!(out.status.code(), Some(0));
        first(&out.stdout)
    };
    let (quick, deep) = (run("quick"), run("deep"));
    assert_eq!(quick["bounds"]["operations"], 1);
    assert_eq!(deep["bounds"]["operations"], 2);
    assert_eq!(
        (quick["profile"].as_str(), deep["profile"].as_str()),
        (Some("quick"), Some("deep"))
    );
    assert!(deep["states"]["unique"].as_u64() > quick["states"]["unique"].as_u64());
    assert_eq!(quick["broker_kind"], "generic");
    assert_eq!(
        quick["not_covered"],
        serde_json::json!([
            "consumer crashes",
            "lost messages",
            "spurious retries",
            "producer crashes",
            "lost store replies",
            "operator replays"
        ])
    );
    assert_eq!(quick["deep_turns_on"], serde_json::json!(["lost messages"]));
    let plain = check_path(&path, &["--profile", "quick"]);
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert!(
        plain.contains(
            "producer crashes, lost store replies, operator replays (`--profile deep` turns on lost messages)\n"
        ),
        "{plain}"
    );
    let out = check_path(&path, &["--profile", "fast"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--profile `fast`: expected `quick` or `deep`"),
        "{stderr}"
    );
}

#[test]
fn a_proof_with_faults_off_says_what_it_does_not_cover() {
    let (_dir, path) = scenario_file(VALID);
    let out = check_path(&path, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("not covered at quick bounds: consumer crashes, lost messages, spurious retries, producer crashes, lost store replies, operator replays\n"),
        "{stdout}"
    );
}

#[test]
fn broker_kinds_and_their_sub_tables() {
    let with_broker =
        |body: &str| VALID.replace("[bounds]", &format!("[broker]\n{body}\n\n[bounds]"));
    let (code, stderr, _) = check_file(&with_broker("kind = \"generic\""));
    assert_eq!(code, 0, "{stderr}");
    for kind in ["sqs-standard", "sqs-fifo", "rabbitmq"] {
        let (code, stderr, _) = check_file(&with_broker(&format!("kind = \"{kind}\"")));
        assert!(code == 0 || code == 1, "{kind}: {stderr}");
    }
    assert_bad(
        &with_broker("kind = \"zeromq\""),
        7,
        "broker.kind",
        "unknown broker kind \"zeromq\"",
    );
    for (table, owner) in [
        ("kafka", "\"kafka\""),
        ("sqs", "\"sqs-standard\" or \"sqs-fifo\""),
        ("rabbitmq", "\"rabbitmq\""),
    ] {
        assert_bad(
            &with_broker(&format!(
                "stale-completion = \"rejected\"\n[broker.{table}]\nknob = 1"
            )),
            8,
            &format!("broker.{table}"),
            &format!(
                "`[broker.{table}]` belongs to broker kind {owner}; this file's kind is \"generic\""
            ),
        );
    }
}

/// `[broker.sqs]`, `[broker.rabbitmq]` and the RabbitMQ consumer shortcut:
/// values, ranges, the kind they belong to, the generic knobs the kinds
/// fix, and the settings that make them void.
#[test]
fn sqs_and_rabbitmq_fields_and_their_errors() {
    let on = |kind: &str, table: &str| {
        VALID.replace(
            "[bounds]",
            &format!("[broker]\nkind = \"{kind}\"\n{table}\n\n[bounds]"),
        )
    };
    let (code, stderr, _) = check_file(&on(
        "sqs-standard",
        "[broker.sqs]\nvisibility-extension = true\nmax-receive-count = 1\nredrive = true",
    ));
    assert_eq!(code, 0, "{stderr}");
    // RabbitMQ.
    let (code, stderr, _) = check_file(&on(
        "rabbitmq",
        "[broker.rabbitmq]\nack = \"manual\"\ndelivery-limit = 1\ndead-letter-strategy = \"at-least-once\"\nredrive = true",
    ));
    assert_eq!(code, 0, "{stderr}");
    // The redelivered shortcut is RabbitMQ's, and needs a ledger.
    let shortcut = "[consumer]\ndedup-only-if-redelivered = true\n\n[bounds]";
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (
            on(
                "sqs-standard",
                "[broker.sqs]\nvisibility-extension = \"often\"",
            ),
            9,
            "broker.sqs.visibility-extension",
            "invalid type",
        ),
        (
            on("sqs-fifo", "[broker.sqs]\nheartbeat = 1"),
            9,
            "broker.sqs.heartbeat",
            "unknown field `heartbeat`",
        ),
        (
            on("sqs-standard", "[broker.sqs]\nmax-receive-count = 9"),
            9,
            "broker.sqs.max-receive-count",
            "9 is out of range: allowed 1..=4",
        ),
        (
            on("sqs-standard", "[broker.sqs]\nmessage-group = \"one\""),
            9,
            "broker.sqs.message-group",
            "standard queues have no message groups",
        ),
        (
            on("sqs-fifo", "[broker.sqs]\nmessage-group = \"many\""),
            9,
            "broker.sqs.message-group",
            "unknown variant `many`",
        ),
        (
            on("sqs-standard", "stale-completion = \"rejected\""),
            8,
            "broker.stale-completion",
            "the kind fixes what a stale completion does",
        ),
        (
            on("rabbitmq", "publish-dedup = true"),
            8,
            "broker.publish-dedup",
            "the kind fixes publish dedup",
        ),
        (
            on("sqs-standard", "[broker.sqs]\nredrive = true"),
            9,
            "broker.sqs.redrive",
            "nothing is ever dead-lettered",
        ),
        (
            on("sqs-standard", "[broker.sqs]\nvisibility-extension = true")
                .replace("lease-expiries = 1", "lease-expiries = 0"),
            9,
            "broker.sqs.visibility-extension",
            "no visibility timeout ever expires",
        ),
        (
            on("sqs-standard", "").replace(
                "lease-expiries = 1",
                "lease-expiries = 1\ndedup-window-expiries = 1",
            ),
            17,
            "bounds.dedup-window-expiries",
            "broker kind \"sqs-standard\" has no dedup window expiries; only SQS FIFO",
        ),
        (
            on("rabbitmq", "[broker.rabbitmq]\nack = \"sometimes\""),
            9,
            "broker.rabbitmq.ack",
            "unknown variant `sometimes`",
        ),
        (
            on("rabbitmq", "[broker.rabbitmq]\ndelivery-limit = 0"),
            9,
            "broker.rabbitmq.delivery-limit",
            "0 is out of range",
        ),
        (
            on("rabbitmq", "[broker.rabbitmq]\nconfirms = false").replace(
                "[broker]",
                "[producer]\nretry-on-timeout = true\n\n[broker]",
            ),
            7,
            "producer.retry-on-timeout",
            "without publisher confirms",
        ),
        (
            on("rabbitmq", "[broker.rabbitmq]\nack = \"auto\"").replace(
                "[bounds]",
                "[consumer]\norder = \"effect-then-completion\"\n\n[bounds]",
            ),
            12,
            "consumer.order",
            "set `broker.rabbitmq.ack` only",
        ),
        (
            on(
                "rabbitmq",
                "[broker.rabbitmq]\ndelivery-limit = 1\ndead-letter-strategy = \"at-most-once\"\nredrive = true",
            ),
            11,
            "broker.rabbitmq.redrive",
            "at-most-once dead-lettering loses the message",
        ),
        (
            on(
                "rabbitmq",
                "[broker.rabbitmq]\ndead-letter-strategy = \"at-most-once\"",
            ),
            9,
            "broker.rabbitmq.dead-letter-strategy",
            "nothing is ever dead-lettered",
        ),
        (
            on("rabbitmq", "[broker.rabbitmq]\nprefetch = 4"),
            9,
            "broker.rabbitmq.prefetch",
            "4 is out of range: allowed 1..=3",
        ),
        (
            on("rabbitmq", "[broker.rabbitmq]\nprefetch = 0"),
            9,
            "broker.rabbitmq.prefetch",
            "0 is out of range",
        ),
        (
            on(
                "rabbitmq",
                "[broker.rabbitmq]\nprefetch = 2\nprocessing = \"parallel\"",
            ),
            10,
            "broker.rabbitmq.processing",
            "unknown variant `parallel`",
        ),
        (
            on("rabbitmq", "[broker.rabbitmq]\nack-multiple = true"),
            9,
            "broker.rabbitmq.ack-multiple",
            "an ack has no earlier tag to cover",
        ),
        (
            on("rabbitmq", "[broker.rabbitmq]\nprocessing = \"async\""),
            9,
            "broker.rabbitmq.processing",
            "nothing to hand to a second worker",
        ),
        (
            on(
                "rabbitmq",
                "[broker.rabbitmq]\nack = \"auto\"\nprefetch = 2",
            ),
            10,
            "broker.rabbitmq.prefetch",
            "with autoAck",
        ),
        (
            on(
                "rabbitmq",
                "[broker.rabbitmq]\nprefetch = 2\nprocessing = \"async\"",
            )
            .replace("at-least-once", "at-most-once"),
            10,
            "broker.rabbitmq.processing",
            "the consumer acks before it processes",
        ),
        (
            on("sqs-fifo", "").replace("[bounds]", shortcut),
            11,
            "consumer.dedup-only-if-redelivered",
            "the `redelivered` flag is RabbitMQ's",
        ),
        (
            on("rabbitmq", "").replace("[bounds]", shortcut),
            11,
            "consumer.dedup-only-if-redelivered",
            "nothing is looked up",
        ),
    ];
    for (text, line, field, words) in cases {
        assert_bad(&text, line, field, words);
    }
}

#[test]
fn replication_fields_and_their_errors() {
    let on = |kind: &str, table: &str| {
        VALID.replace(
            "[bounds]",
            &format!("[broker]\nkind = \"{kind}\"\n{table}\n\n[bounds]"),
        )
    };
    // Valid tables check, and their verdicts are the model's: an unclean
    // election can lose what acks=all confirmed; a quorum queue cannot.
    let unclean = on(
        "generic",
        "replicas = 3\nacks = \"all\"\nmin-in-sync = 2\nunclean-election = true",
    )
    .replace("no-loss = \"proved\"", "no-loss = \"counterexample\"");
    let (code, stderr, _) = check_file(&unclean);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let (code, stderr, _) = check_file(&on("rabbitmq", "replicas = 3"));
    assert_eq!((code, stderr.as_str()), (0, ""));
    let no_shrink =
        |text: String| text.replace("lease-expiries = 1", "lease-expiries = 1\nisr-shrinks = 0");
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (
            on("generic", "replicas = 4"),
            8,
            "broker.replicas",
            "4 is out of range: allowed 1..=3",
        ),
        (
            on("generic", "replicas = 0"),
            8,
            "broker.replicas",
            "out of range",
        ),
        (
            on("generic", "replicas = \"two\""),
            8,
            "broker.replicas",
            "invalid type",
        ),
        (
            on("generic", "replicas = 2\nmin-in-sync = 3"),
            9,
            "broker.min-in-sync",
            "3 is out of range: allowed 1..=2",
        ),
        (
            on("generic", "replicas = 2\nacks = \"one\""),
            9,
            "broker.acks",
            "unknown variant",
        ),
        (
            on("sqs-standard", "replicas = 2"),
            8,
            "broker.replicas",
            "assumed durable",
        ),
        (
            on("sqs-fifo", "acks = \"all\""),
            8,
            "broker.acks",
            "assumed durable",
        ),
        (
            on("rabbitmq", "replicas = 3\nacks = \"leader\""),
            9,
            "broker.acks",
            "quorum queue",
        ),
        (
            on("rabbitmq", "replicas = 3\nunclean-election = true"),
            9,
            "broker.unclean-election",
            "quorum queue",
        ),
        (
            on("generic", "acks = \"all\""),
            8,
            "broker.acks",
            "one replica",
        ),
        (
            on("generic", "unclean-election = false"),
            8,
            "broker.unclean-election",
            "one replica",
        ),
        (
            on(
                "generic",
                "replicas = 2\nacks = \"leader\"\nmin-in-sync = 2",
            ),
            10,
            "broker.min-in-sync",
            "confirms on the leader's append",
        ),
        (
            no_shrink(on("generic", "replicas = 2\nunclean-election = true")),
            9,
            "broker.unclean-election",
            "every election is clean",
        ),
        (
            VALID.replace(
                "lease-expiries = 1",
                "lease-expiries = 1\nbroker-failovers = 1",
            ),
            13,
            "bounds.broker-failovers",
            "one replica",
        ),
        (
            on("sqs-standard", "")
                .replace("lease-expiries = 1", "lease-expiries = 1\nisr-shrinks = 1"),
            17,
            "bounds.isr-shrinks",
            "assumed durable",
        ),
        (
            on("generic", "replicas = 2").replace(
                "lease-expiries = 1",
                "lease-expiries = 1\nbroker-failovers = 5",
            ),
            17,
            "bounds.broker-failovers",
            "out of range",
        ),
    ];
    for (text, line, field, words) in cases {
        assert_bad(&text, line, field, words);
    }
}

/// A Kafka scenario: one operation, two consumers, one rebalance.
const KAFKA: &str = r#"schema = 1
name = "tiny-kafka"
summary = "One operation, one rebalance."
mode = "at-least-once"

[broker]
kind = "kafka"

[broker.kafka]
commit = "after-processing"

[bounds]
operations = 1
consumers = 2
retries = 0
crashes = 0
losses = 0
rebalances = 1

[expect]
applied-once = "counterexample"
no-loss = "proved"
"#;

#[test]
fn kafka_fields_and_their_errors() {
    let (code, stderr, _) = check_file(KAFKA);
    assert_eq!(code, 0, "{stderr}");
    let kafka = |line: &str, with: &str| KAFKA.replace(line, with);
    let commit = "commit = \"after-processing\"";
    // Each value class, each naming its field and line.
    assert_bad(
        &kafka(commit, "commit = \"sometimes\""),
        10,
        "broker.kafka.commit",
        "unknown variant `sometimes`, expected one of `before-processing`, `after-processing`, `auto`, `auto-background`",
    );
    assert_bad(
        &kafka(commit, "processing = 7"),
        10,
        "broker.kafka.processing",
        "invalid type",
    );
    assert_bad(
        &kafka(commit, "max-poll-records = 9"),
        10,
        "broker.kafka.max-poll-records",
        "9 is out of range: allowed 1..=3",
    );
    assert_bad(
        &kafka(commit, "max-poll-records = \"two\""),
        10,
        "broker.kafka.max-poll-records",
        "expected an integer 1..=3",
    );
    assert_bad(
        &kafka(commit, "poll-interval = 3"),
        10,
        "broker.kafka.poll-interval",
        "unknown field `poll-interval`, expected one of `commit`",
    );
    // A knob of the generic broker or of another vocabulary.
    assert_bad(
        &kafka(
            "kind = \"kafka\"",
            "kind = \"kafka\"\nstale-completion = \"accepted\"",
        ),
        8,
        "broker.stale-completion",
        "set `broker.kafka.fencing` only",
    );
    assert_bad(
        &kafka("rebalances = 1", "lease-expiries = 1"),
        18,
        "bounds.lease-expiries",
        "broker kind \"kafka\" has no lease expiries",
    );
    assert_bad(
        &VALID.replace("lease-expiries = 1", "lease-expiries = 1\nrebalances = 1"),
        13,
        "bounds.rebalances",
        "broker kind \"generic\" has no rebalances",
    );
    assert_bad(
        &kafka("kind = \"kafka\"", "kind = \"kafka\"\npublish-dedup = true")
            .replace(commit, "enable-idempotence = true")
            .replace("retries = 0", "retries = 1"),
        8,
        "broker.publish-dedup",
        "set `broker.kafka.enable-idempotence` only",
    );
    assert_bad(
        &kafka(commit, "enable-idempotence = true"),
        10,
        "broker.kafka.enable-idempotence",
        "no operation is ever published twice",
    );
    // Inconsistent or void combinations.
    assert_bad(
        &kafka(
            "[expect]",
            "[consumer]\norder = \"effect-then-completion\"\n\n[expect]",
        ),
        21,
        "consumer.order",
        "set `broker.kafka.commit` only",
    );
    assert_bad(
        &kafka(
            commit,
            "commit = \"before-processing\"\nprocessing = \"async\"",
        ),
        11,
        "broker.kafka.processing",
        "has no effect here",
    );
    assert_bad(
        &kafka(commit, "fencing = false").replace("rebalances = 1", "rebalances = 0"),
        10,
        "broker.kafka.fencing",
        "there is no zombie to fence",
    );
    assert_bad(
        &kafka(commit, "max-poll-records = 2"),
        10,
        "broker.kafka.max-poll-records",
        "a poll returns one record",
    );
}

/// Transactions, the output-topic effect, the abort behaviour and the
/// application-level resend: values, the kind they belong to, and the
/// combinations that contradict a transaction.
#[test]
fn kafka_transaction_fields_and_their_errors() {
    let commit = "commit = \"after-processing\"";
    let txn = KAFKA.replace(commit, "transactions = true");
    let (code, stderr, _) = check_file(&txn);
    assert_eq!(code, 0, "{stderr}");
    let topic = txn.replace("[expect]", "[store]\neffect = \"kafka-topic\"\n\n[expect]");
    let (_dir, path) = scenario_file(&topic);
    let out = check_path(&path, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the zombie's output is fenced: once is proved"
    );
    assert!(stdout.contains("≤ 1 transaction abort"), "{stdout}");
    // Contradictions.
    for (with, why) in [
        ("commit = \"auto\"", "commits outside the transaction"),
        (
            "commit = \"auto-background\"",
            "commits outside the transaction",
        ),
        (
            "commit = \"before-processing\"",
            "commits before it processes",
        ),
        (
            "processing = \"async\"",
            "one producer's transactions run one at a time",
        ),
    ] {
        assert_bad(
            &txn.replace(
                "transactions = true",
                &format!("transactions = true\n{with}"),
            ),
            10,
            "broker.kafka.transactions",
            why,
        );
    }
    // Out of vocabulary, and void.
    // The application-level resend is the idempotent producer's word.
    let resend = KAFKA
        .replace(commit, "enable-idempotence = true")
        .replace("retries = 0", "retries = 1")
        .replace(
            "[broker]",
            "[producer]\nretry = \"application\"\n\n[broker]",
        );
    let (code, stderr, _) = check_file(&resend);
    assert_eq!(code, 0, "{stderr}");
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (
            KAFKA.replace(commit, "transactions = \"yes\""),
            10,
            "broker.kafka.transactions",
            "invalid type",
        ),
        (
            txn.replace(
                "transactions = true",
                "transactions = true\non-abort = \"retry\"",
            ),
            11,
            "broker.kafka.on-abort",
            "unknown variant `retry`",
        ),
        (
            txn.replace("[expect]", "[store]\neffect = \"kafka\"\n\n[expect]"),
            21,
            "store.effect",
            "unknown variant `kafka`",
        ),
        (
            txn.replace("mode = \"at-least-once\"", "mode = \"at-most-once\""),
            10,
            "broker.kafka.transactions",
            "mode \"at-most-once\"",
        ),
        (
            KAFKA.replace("[expect]", "[store]\neffect = \"kafka-topic\"\n\n[expect]"),
            21,
            "store.effect",
            "set `broker.kafka.transactions = true`",
        ),
        (
            VALID.replace("[expect]", "[store]\neffect = \"kafka-topic\"\n\n[expect]"),
            15,
            "store.effect",
            "needs `broker.kind = \"kafka\"`",
        ),
        (
            KAFKA.replace("rebalances = 1", "rebalances = 1\ntransaction-aborts = 1"),
            19,
            "bounds.transaction-aborts",
            "runs no transactions",
        ),
        (
            txn.replace(
                "transactions = true",
                "transactions = true\nfencing = false",
            )
            .replace("rebalances = 1", "rebalances = 1\ntransaction-aborts = 1"),
            20,
            "bounds.transaction-aborts",
            "aborts are modelled with fencing on",
        ),
        (
            txn.replace(
                "transactions = true",
                "transactions = true\non-abort = \"continue\"",
            )
            .replace("rebalances = 1", "rebalances = 1\ntransaction-aborts = 0"),
            11,
            "broker.kafka.on-abort",
            "no transaction is ever aborted",
        ),
        (
            KAFKA.replace(commit, "on-abort = \"continue\""),
            10,
            "broker.kafka.on-abort",
            "there are no transactions",
        ),
        (
            topic.replace(
                "effect = \"kafka-topic\"",
                "effect = \"kafka-topic\"\nledger-key = \"operation-id\"",
            ),
            22,
            "store.ledger-key",
            "the handler writes nothing to the store",
        ),
        (
            resend.replace("retry = \"application\"", "retry = \"twice\""),
            7,
            "producer.retry",
            "unknown variant `twice`",
        ),
        (
            resend.replace("enable-idempotence = true", "enable-idempotence = false"),
            7,
            "producer.retry",
            "nothing deduplicates publishes",
        ),
        (
            VALID.replace(
                "[bounds]",
                "[producer]\nretry = \"application\"\n\n[bounds]",
            ),
            7,
            "producer.retry",
            "deduplicates by the message id",
        ),
    ];
    for (text, line, field, words) in cases {
        assert_bad(&text, line, field, words);
    }
}

#[test]
fn producer_and_store_fault_fields_and_their_errors() {
    let bounds = |extra: &str| {
        VALID.replace(
            "lease-expiries = 1",
            &format!("lease-expiries = 1\n{extra}"),
        )
    };
    // Valid: the consumer retries a lost reply without a ledger, and the
    // verdicts are the model's (the expected counterexample to once).
    let retry = bounds("reply-losses = 1").replace(
        "[bounds]",
        "[consumer]\nretry-effect-on-timeout = true\n\n[bounds]",
    );
    let (code, stderr, _) = check_file(&retry);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let with_crash = |table: &str| {
        bounds("producer-crashes = 1").replace("[bounds]", &format!("{table}\n[bounds]"))
    };
    let at_most_once = VALID
        .replace("\"at-least-once\"", "\"at-most-once\"")
        .replace("lease-expiries = 1", "lease-expiries = 1\nreply-losses = 1")
        .replace(
            "[bounds]",
            "[consumer]\nretry-effect-on-timeout = true\n[bounds]",
        );
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (
            with_table("[producer]\npublish = \"relay\"\n"),
            7,
            "producer.publish",
            "unknown variant",
        ),
        (
            with_table("[producer]\npublish = \"outbox\"\n"),
            7,
            "producer.publish",
            "bounds.producer-crashes = 0",
        ),
        (
            with_crash("[producer]\npublish = \"outbox\"\nmax-attempts = 2\n"),
            7,
            "producer.publish",
            "max-attempts",
        ),
        (
            bounds("producer-crashes = 9"),
            13,
            "bounds.producer-crashes",
            "9 is out of range",
        ),
        (
            with_table("[consumer]\nretry-effect-on-timeout = \"yes\"\n"),
            7,
            "consumer.retry-effect-on-timeout",
            "bool",
        ),
        (
            with_table("[consumer]\nretry-effect-on-timeout = true\n"),
            7,
            "consumer.retry-effect-on-timeout",
            "bounds.reply-losses = 0",
        ),
        (
            at_most_once,
            7,
            "consumer.retry-effect-on-timeout",
            "never waits for the effect store's reply",
        ),
        (
            bounds("reply-losses = 9"),
            13,
            "bounds.reply-losses",
            "9 is out of range",
        ),
    ];
    for (text, line, field, words) in cases {
        assert_bad(&text, line, field, words);
    }
}

#[test]
fn ledger_pattern_fields_and_their_errors() {
    let idempotent = VALID.replace("\"at-least-once\"", "\"idempotency\"");
    let store = |table: &str| idempotent.replace("[bounds]", &format!("{table}\n[bounds]"));
    // Valid: check-then-act and a row written before the effect check and
    // exit as the model decides (the expectation names applied-once CE).
    let (code, stderr, _) = check_file(&store("[store]\ncheck = \"check-then-act\"\n"));
    assert_eq!((code, stderr.as_str()), (0, ""));
    // So does a payment service that stores its key only when a call
    // finishes (W2 at the provider).
    let (code, stderr, _) = check_file(&store(
        "[store]\nkind = \"api\"\ncheck = \"check-then-act\"\n",
    ));
    assert_eq!((code, stderr.as_str()), (0, ""));
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (
            with_table("[producer]\npublish = \"dual-write\"\n"),
            7,
            "producer.publish",
            "no crash falls between a business row and its publish",
        ),
        (
            with_table("[consumer]\npoison = [3]\n"),
            7,
            "consumer.poison",
            "operation 3 is never published",
        ),
        (
            with_table("[consumer]\npoison = [0]\n"),
            7,
            "consumer.poison",
            "out of range",
        ),
        (
            with_table("[consumer]\npoison = 1\n"),
            7,
            "consumer.poison",
            "sequence",
        ),
        (
            with_table("[consumer]\npoison-partial-effect = true\n"),
            7,
            "consumer.poison-partial-effect",
            "no handler fails",
        ),
        (
            with_table("[broker]\nkind = \"kafka\"\n[consumer]\npoison = [1]\n")
                .replace("lease-expiries = 1\n", ""),
            9,
            "consumer.poison",
            "Kafka consumer cannot hand one record back",
        ),
        (
            VALID.replace(
                "no-loss = \"proved\"",
                "no-loss = \"proved\"\nprogress = \"maybe\"",
            ),
            17,
            "expect.progress",
            "unknown variant",
        ),
        (
            store("[store]\nkind = \"stripe\"\n"),
            7,
            "store.kind",
            "unknown variant",
        ),
        (
            store("[store]\nkind = \"api\"\neffect = \"kafka-topic\"\n"),
            7,
            "store.kind",
            "an API is an effect outside the broker",
        ),
        (
            store("[store]\nretention = \"a-week\"\n"),
            7,
            "store.retention",
            "unknown variant",
        ),
        (
            store("[store]\nretention = \"shorter-than-replay\"\n"),
            7,
            "store.retention",
            "bounds.ledger-expiries = 0",
        ),
        (
            idempotent.replace(
                "lease-expiries = 1",
                "lease-expiries = 1\nledger-expiries = 1",
            ),
            13,
            "bounds.ledger-expiries",
            "store.retention = \"forever\"",
        ),
        (
            VALID.replace(
                "lease-expiries = 1",
                "lease-expiries = 1\nledger-expiries = 1",
            ),
            13,
            "bounds.ledger-expiries",
            "no ledger is read",
        ),
        (
            store("[store]\nretention = \"shorter-than-replay\"\n").replace(
                "lease-expiries = 1",
                "lease-expiries = 1\nledger-expiries = 9",
            ),
            16,
            "bounds.ledger-expiries",
            "9 is out of range",
        ),
        (
            store("[store]\ncheck = \"sometimes\"\n"),
            7,
            "store.check",
            "unknown variant",
        ),
        (store("[store]\ncheck = true\n"), 7, "store.check", "string"),
        (
            store("[store]\nledger-write = \"before\"\n"),
            7,
            "store.ledger-write",
            "unknown variant",
        ),
        (
            with_table("[store]\ncheck = \"check-then-act\"\n"),
            7,
            "store.check",
            "there is no ledger",
        ),
        (
            store("[store]\nledger-check = false\ncheck = \"unique-insert\"\n"),
            8,
            "store.check",
            "the ledger is never read",
        ),
        (
            with_table("[store]\nledger-write = \"before-effect\"\n"),
            7,
            "store.ledger-write",
            "there is no ledger",
        ),
    ];
    for (text, line, field, words) in cases {
        assert_bad(&text, line, field, words);
    }
}

/// A file without `[expect]` is exploratory: verdicts printed, exit 0,
/// unless the run is cut short (exit 3, said so). `list` says it expects
/// nothing.
#[test]
fn a_scenario_without_expectations_is_exploratory() {
    let text = VALID[..VALID.find("[expect]").unwrap()].to_string();
    let (dir, path) = scenario_file(&text);
    let out = check_path(&path, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("counterexample  expected none            explored"),
        "{stdout}"
    );
    let out = check_path(&path, &["--max-states", "5"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("run cut short"), "{stderr}");
    let list = onceproof()
        .args(["list", "--models"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8(list.stdout)
            .unwrap()
            .contains("expects nothing (exploratory)")
    );
}

/// A missing required field is named with where it is missing from, not
/// blamed on line 1; invalid UTF-8 gets its line; control characters the
/// file smuggles into an echoed value are escaped, keeping one line.
#[test]
fn input_errors_point_at_the_right_place_and_stay_one_line() {
    let no_mode = VALID.replace("mode = \"at-least-once\"\n", "");
    let no_mode = format!("# a comment on line 1\n{no_mode}");
    let (code, stderr, path) = check_file(&no_mode);
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        format!("error: {path}: field `mode`: required, missing from the top level of the file")
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("case.toml");
    std::fs::write(&bad, b"schema = 1\nname = \"x\xff\"\n").unwrap();
    let out = check_path(&bad.display().to_string(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(":2: not valid UTF-8"), "{stderr}");

    let escape = VALID.replace(
        "[bounds]",
        "[store]\nkind = \"api\\u001b[31m\\nsecond line\"\n\n[bounds]",
    );
    let (code, stderr, _) = check_file(&escape);
    assert_eq!(code, 2);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr:?}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.contains("api\\u{1b}[31m"), "{stderr:?}");
}

/// `explore --addr` takes a host name, and binding every interface warns
/// and links to loopback rather than to `http://0.0.0.0/`.
#[test]
fn explore_takes_a_host_name_and_warns_on_every_interface() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    for (host, warns) in [("localhost", false), ("0.0.0.0", true)] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_onceproof"))
            .args([
                "explore",
                "at-most-once",
                "--addr",
                &format!("{host}:{port}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            line.trim(),
            format!("Explorer for at-most-once at http://127.0.0.1:{port}/"),
            "{host}: {stderr}"
        );
        assert_eq!(stderr.contains("every interface"), warns, "{stderr}");
    }
}

/// Hostile input: a FIFO or a device is refused before it is read, an
/// oversized file is refused, `name = "README"` cannot overwrite the
/// matrix page, a name has a length limit, and one file reached by two
/// spellings is checked once, not a name clash with itself.
#[test]
fn hostile_files_and_names_are_refused_early() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let mut refused = vec![("/dev/zero".to_string(), "not a regular file")];
    if made {
        refused.push((fifo.display().to_string(), "not a regular file"));
    }
    let big = dir.path().join("big.toml");
    std::fs::write(&big, format!("{VALID}\n# {}\n", "x".repeat(70_000))).unwrap();
    refused.push((
        big.display().to_string(),
        "more than a scenario file may hold",
    ));
    for (path, words) in refused {
        let out = check_path(&path, &[]);
        assert_eq!(out.status.code(), Some(2), "{path}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(words), "{path}: {stderr}");
    }
    assert_bad(
        &VALID.replace("name = \"tiny\"", "name = \"README\""),
        2,
        "name",
        "results matrix",
    );
    assert_bad(
        &VALID.replace("name = \"tiny\"", &format!("name = \"{}\"", "n".repeat(65))),
        2,
        "name",
        "1 to 64",
    );
    let (dir, path) = scenario_file(VALID);
    let out = onceproof()
        .current_dir(dir.path())
        .args(["check", "--models", "."])
        .args([path.as_str(), "./case.toml", "case"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches("tiny — ").count(), 1, "{stdout}");
}

/// `--write` into a place that cannot take results fails before any
/// checking (exit 4); written pages get the mode any new file gets (the umask), not
/// a temporary file's 0600.
#[test]
fn write_checks_its_directory_first_and_respects_the_umask() {
    let out = onceproof()
        .args(["check", "at-most-once", "--write", "/dev/null/results"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "an I/O failure");
    assert!(out.stdout.is_empty(), "nothing is checked");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--write /dev/null/results"), "{stderr}");

    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    std::fs::write(&reference, "").unwrap();
    let out = write_lost_publish_into(dir.path());
    assert_eq!(out.status.code(), Some(0));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&dir.path().join("at-most-once-lost-publish.json")),
        mode(&reference)
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn write_lost_publish_into(dir: &Path) -> std::process::Output {
    onceproof()
        .args(["check", "at-most-once-lost-publish", "--write"])
        .arg(dir)
        .output()
        .unwrap()
}

/// A set whose renaming into place was interrupted (the marker it leaves
/// names its pages) is reported by the next `--write` into the directory,
/// along with the siblings it left; the pages that run rewrites leave
/// doubt, the others stay named.
#[test]
fn an_interrupted_write_is_reported_by_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join(".onceproof-writing");
    std::fs::write(&marker, "at-most-once-lost-publish.json\nother.md\n").unwrap();
    let left = dir.path().join(".other.md.999.0.onceproof.tmp");
    std::fs::write(&left, "half").unwrap();
    let out = write_lost_publish_into(dir.path());
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("was interrupted while replacing its pages")
            && stderr.contains("at-most-once-lost-publish.json, other.md"),
        "{stderr}"
    );
    assert!(!left.exists(), "the interrupted run's sibling is cleared");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "other.md\n");
    let out = write_lost_publish_into(dir.path());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("these 1 pages")
    );
}

/// `verify` re-runs what a results document records: the same proof id
/// comes out (exit 0), and a document whose outcome, model code or
/// scenario no longer matches is not verified (exit 1) with what changed.
#[test]
fn verify_reruns_a_results_document() {
    let (dir, path) = scenario_file(VALID);
    let out = onceproof()
        .current_dir(dir.path())
        .args(["check", "case.toml", "--write", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let doc_path = dir.path().join("out/tiny.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&doc_path).unwrap()).unwrap();
    let id = doc["proof_id"].as_str().unwrap().to_string();
    assert!(
        stdout.contains(&format!("proof id: {id} (model code ")),
        "{stdout}"
    );
    let verify = || {
        let out = onceproof()
            .current_dir(dir.path())
            .args(["verify", "out/tiny.json"])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, text) = verify();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("verified: proof id {id} again")),
        "{text}"
    );

    // A tampered outcome and a different model code are named.
    let mut tampered = doc.clone();
    tampered["states"]["unique"] = 1.into();
    tampered["model_code"] = "0000000000000000".into();
    std::fs::write(&doc_path, tampered.to_string()).unwrap();
    let (code, text) = verify();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("NOT verified"), "{text}");
    assert!(
        text.contains("model code: recorded 0000000000000000"),
        "{text}"
    );
    assert!(text.contains("states: recorded 1 unique"), "{text}");
    assert!(
        text.contains("does not match the document's own contents"),
        "{text}"
    );

    // What the page says beside the proof is checked too: an edited
    // guarantee statement, or an edited page.
    let mut edited = doc.clone();
    edited["guarantee"]["store"] = "The effect store refuses everything twice.".into();
    std::fs::write(&doc_path, edited.to_string()).unwrap();
    let (code, text) = verify();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("`guarantee` differs"), "{text}");
    std::fs::write(&doc_path, doc.to_string()).unwrap();
    let page = dir.path().join("out/tiny.md");
    let original = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, original.replace("counterexample", "proved")).unwrap();
    let (code, text) = verify();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("tiny.md differs"), "{text}");
    std::fs::write(&page, original).unwrap();
    let mut bad = doc.clone();
    bad["limits"]["timeout_s"] = (-1.0).into();
    std::fs::write(&doc_path, bad.to_string()).unwrap();
    let out = onceproof()
        .current_dir(dir.path())
        .args(["verify", "out/tiny.json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an impossible timeout is bad input"
    );

    // The scenario file changed since: the bounds that moved are named.
    std::fs::write(&doc_path, doc.to_string()).unwrap();
    std::fs::write(&path, VALID.replace("consumers = 2", "consumers = 1")).unwrap();
    let (code, text) = verify();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "bounds (the scenario file changed): recorded consumers = 2, now consumers = 1"
        ),
        "{text}"
    );
}

/// A run cut short never shares the complete run's proof id.
#[test]
fn a_run_cut_short_has_its_own_proof_id() {
    let (_dir, path) = scenario_file(VALID);
    let id = |args: &[&str]| {
        let out = check_path(&path, &[&["--json"], args].concat());
        first(&out.stdout)["proof_id"].as_str().unwrap().to_string()
    };
    let complete = id(&[]);
    assert_eq!(complete, id(&[]), "a complete run names the same proof");
    assert_ne!(complete, id(&["--max-states", "5"]));
}

/// A reader that stops early (`check … | head -1`) ends the run quietly,
/// as Unix tools do, not with a panic in the middle of the report.
#[test]
fn a_closed_pipe_ends_the_run_without_a_panic() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("onceproof"))
        .args([
            "check",
            "at-most-once-lost-publish",
            "sqs-double-charge",
            "idempotency-check-then-act",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("at-most-once-lost-publish"), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101));
}
