//! `onceproof risk`: the minimal cut sets of the four modes and of the SQS
//! double charge, monotonicity (the refuted subsets are closed upwards) on
//! the shipped scenarios, the reference case's figures exactly, the chart
//! on the results page, and bad `[rates]` input.

mod common;

use assert_cmd::Command;
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::risk::cutsets::{self, submasks};
use onceproof::scenario;
use std::path::Path;

fn onceproof() -> Command {
    Command::cargo_bin("onceproof").unwrap()
}

/// Each property's cut sets, in words.
fn cuts_of(name: &str) -> Vec<(&'static str, Vec<String>)> {
    let s = scenario::load(&scenario::resolve(name, Path::new("models"))).unwrap();
    cutsets::cut_sets(&s.config)
        .properties
        .iter()
        .map(|p| {
            let sets = p.first.iter().chain(&p.second).map(|c| c.words()).collect();
            (p.property, sets)
        })
        .collect()
}

fn words(sets: &[&str]) -> Vec<String> {
    sets.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_cut_sets_of_the_four_modes_and_the_sqs_double_charge() {
    let crash = "{consumer crash}";
    let loss = "{lost message}";
    let retry = "{retry after a merely slow confirm}";
    let lease = "{lease expiry}";
    assert_eq!(
        cuts_of("at-least-once"),
        vec![
            (APPLIED_ONCE, words(&[crash, loss, retry, lease])),
            (NO_LOSS, vec![]),
        ],
        "a lost confirm is a retry too"
    );
    assert_eq!(
        cuts_of("at-most-once"),
        vec![(APPLIED_ONCE, vec![]), (NO_LOSS, words(&[crash, loss]))]
    );
    for proved in ["atomic-boundary", "idempotency"] {
        assert_eq!(
            cuts_of(proved),
            vec![(APPLIED_ONCE, vec![]), (NO_LOSS, vec![])],
            "{proved}"
        );
    }
    assert_eq!(
        cuts_of("sqs-double-charge"),
        vec![(APPLIED_ONCE, words(&[lease])), (NO_LOSS, vec![])]
    );
}

/// A producer that gives up after two attempts loses an operation only
/// when both are lost: a fault needed twice, found by the second pass. A
/// failure that needs several operations has no per-message cut set, and
/// the report says so rather than "no cut set".
#[test]
fn second_order_sets_and_failures_of_several_operations() {
    assert_eq!(
        cuts_of("producer-gives-up-silently"),
        vec![
            (APPLIED_ONCE, vec![]),
            (NO_LOSS, words(&["{lost message ×2}"]))
        ]
    );
    let (code, text, _) = risk(&["kafka-cumulative-commit"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("the failure needs several operations"),
        "{text}"
    );
}

/// Monotonicity, which the cut sets rest on: every budget is an upper
/// bound, so adding a fault to a refuted subset keeps it refuted. Checked
/// subset by subset (no verdict inferred) on every shipped scenario with
/// at most four fault kinds.
#[test]
fn refuted_subsets_are_closed_upwards_on_the_shipped_scenarios() {
    let mut checked = 0;
    for path in scenario::all(Path::new("models")).unwrap() {
        let s = scenario::load(&path).unwrap();
        if cutsets::fault_kinds(&s.config).len() > 4 {
            continue;
        }
        let table = cutsets::every_subset(&s.config);
        for (m, verdicts) in table.iter().enumerate() {
            for p in 0..2 {
                for sub in submasks(m) {
                    assert!(
                        !table[sub][p] || verdicts[p],
                        "{}: subset {sub:b} refutes property {p} but its superset {m:b} does not",
                        s.name
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} scenarios checked");
}

fn risk(args: &[&str]) -> (i32, String, String) {
    let out = onceproof().arg("risk").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The reference case (DOMAIN.md): 18,000 × 0.004 = 72 duplicates/s,
/// × 2.3 attempts ≈ 165 ambiguous executions/s; and 0 at 400 msg/s with
/// no handler outliving the timeout.
#[test]
fn the_reference_case_is_reproduced_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text, err) = risk(&["sqs-double-charge", "--write", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("side effect applied once: breaks under {lease expiry}"),
        "{text}"
    );
    assert!(
        text.contains(
            "{lease expiry}: 0.004 per message → 72 /s, 6,220,800 /day; ambiguous executions 165.6 /s"
        ),
        "{text}"
    );
    assert!(
        text.contains("first-order"),
        "the limits are printed: {text}"
    );
    let (_, json, _) = risk(&["sqs-double-charge", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let c = &doc["properties"][0]["priced"][0];
    assert!((c["incidents_per_second"].as_f64().unwrap() - 72.0).abs() < 1e-9);
    assert!((c["ambiguous_executions_per_second"].as_f64().unwrap() - 165.6).abs() < 1e-9);
    assert_eq!(doc["properties"][1]["cut_sets"], serde_json::json!([]));

    let rates = dir.path().join("quiet.toml");
    std::fs::write(
        &rates,
        "[rates]\nmessages-per-second = 400\nlease-overrun-fraction = 0\n",
    )
    .unwrap();
    let (code, text, _) = risk(&["sqs-double-charge", "--rates", rates.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        text.contains("total (first-order union bound): 0 /s, 0 /day"),
        "{text}"
    );
}

/// The chart on the results page is the one `risk --write results/` draws
/// from the scenario's own `[rates]` and sweep.
#[test]
fn the_results_page_embeds_a_fresh_chart() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = risk(&["sqs-double-charge", "--write", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let fresh = std::fs::read_to_string(dir.path().join("sqs-double-charge.risk.svg")).unwrap();
    let committed = std::fs::read_to_string("results/sqs-double-charge.risk.svg").unwrap();
    assert!(
        fresh == committed,
        "results/sqs-double-charge.risk.svg is stale: regenerate it with `onceproof risk sqs-double-charge --write results/`"
    );
    assert!(fresh.starts_with("<svg") && fresh.contains("expected incidents per day"));
    let page = std::fs::read_to_string("results/sqs-double-charge.md").unwrap();
    assert!(page.contains("![expected incidents per day](sqs-double-charge.risk.svg)"));
}

/// Bad `[rates]`: one line naming the file, line and field, exit 2.
#[test]
fn bad_rates_name_their_file_line_and_field() {
    let base = std::fs::read_to_string("models/sqs-double-charge.toml").unwrap();
    let line_of =
        |text: &str, needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    for (replace, with, field, words) in [
        (
            "lease-overrun-fraction = 0.004",
            "lease-overrun-fraction = 1.5",
            "rates.lease-overrun-fraction",
            "not a fraction",
        ),
        (
            "lease-overrun-fraction = 0.004",
            "lease-overruns = 0.1",
            "rates.lease-overruns",
            "unknown rate",
        ),
        (
            "messages-per-second = 18000",
            "messages-per-second = -5",
            "rates.messages-per-second",
            "negative",
        ),
        (
            "lease-overrun-fraction = 0.004",
            "consumer-crashes-per-hour = 1",
            "rates.consumer-crashes-per-hour",
            "rule out",
        ),
        (
            "sweep = \"messages-per-second=400..18000\"",
            "sweep = \"messages-per-second=400-18000\"",
            "rates.sweep",
            "KEY=FROM..TO",
        ),
        (
            "sweep = \"messages-per-second=400..18000\"",
            "sweep = \"lease-overrun-fraction=0..2\"",
            "rates.sweep",
            "not a fraction",
        ),
    ] {
        let text = base.replace(replace, with);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.toml");
        std::fs::write(&path, &text).unwrap();
        let needle = with.split(' ').next().unwrap();
        let line = line_of(&text, needle);
        for cmd in ["risk", "check"] {
            let out = onceproof().arg(cmd).arg(&path).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{cmd} {with}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            let at = format!("{}:{line}: field `{field}`", path.display());
            assert!(
                err.contains(&at) && err.contains(words),
                "{cmd}: {err:?} lacks {at:?} / {words:?}"
            );
        }
    }
    // The same reader for --rates files, which hold `[rates]` only.
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("rates.toml");
    std::fs::write(
        &rates,
        "[rates]\nmessages-per-second = 10\ngap-ms = \"x\"\n",
    )
    .unwrap();
    let (code, _, err) = risk(&["sqs-double-charge", "--rates", rates.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains(":3: field `rates.gap-ms`"), "{err}");
    std::fs::write(&rates, "[bounds]\ncrashes = 1\n").unwrap();
    let (code, _, err) = risk(&["sqs-double-charge", "--rates", rates.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains(":1: field `bounds`") && err.contains("`[rates]` table only"),
        "{err}"
    );
    let (code, _, err) = risk(&["sqs-double-charge", "--sweep", "messages-per-second=9..1"]);
    assert_eq!(code, 2);
    assert!(err.contains("FROM must be below TO"), "{err}");
}

/// docs/SCENARIOS.md documents every `[rates]` key the registry reads.
#[test]
fn every_rate_key_is_documented() {
    let doc = std::fs::read_to_string("docs/SCENARIOS.md").unwrap();
    for key in onceproof::risk::rates::known_keys() {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/SCENARIOS.md lacks `{key}`"
        );
    }
}

/// A proved property has no cut set, and the report names the assumptions
/// whose dropping opens one, each found by the checker on the weakened
/// variant: for the idempotent consumer, retention shorter than replay
/// (W4, with the key's expiry in every set), a fresh id per retry (W1),
/// check-then-act (W2), the key written after the effect (W3).
#[test]
fn a_proof_names_the_assumptions_that_would_open_a_cut_set() {
    let (code, text, _) = risk(&["idempotency", "--json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let once = &doc["properties"][0];
    assert_eq!(once["cut_sets"], serde_json::json!([]));
    let opened: Vec<(String, Vec<String>)> = once["opened_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let sets = o["cut_sets"].as_array().unwrap();
            (
                o["assumption"].as_str().unwrap().to_string(),
                sets.iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    for id in ["(W4)", "(W1)", "(W2)", "(W3)"] {
        assert!(
            opened.iter().any(|(a, _)| a.ends_with(id)),
            "{id}: {opened:?}"
        );
    }
    let w4 = &opened.iter().find(|(a, _)| a.ends_with("(W4)")).unwrap().1;
    assert!(
        w4.iter().all(|s| s.contains("ledger key expired")),
        "{w4:?}"
    );
    let w1 = &opened.iter().find(|(a, _)| a.ends_with("(W1)")).unwrap().1;
    assert_eq!(
        w1,
        &words(&["{lost message}", "{retry after a merely slow confirm}"])
    );
    let no_loss = &doc["properties"][1]["opened_by"];
    assert!(
        no_loss.as_array().unwrap().iter().any(|o| o["assumption"]
            == "the consumer applies the effect before it records completion"
            && o["cut_sets"] == serde_json::json!(["{consumer crash}"])),
        "{no_loss}"
    );
}

/// Figures stay meaningful: a window longer than the time between its
/// events is no chance (an error naming the key), a total that leaves out
/// an unrated cut set says it is no bound, a lost operation has no
/// "ambiguous executions", and no chart is written unasked.
#[test]
fn figures_that_would_mislead_are_refused_or_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("rates.toml");
    let write = |text: &str| std::fs::write(&rates, text).unwrap();
    let path = rates.to_str().unwrap();
    write("[rates]\nmessages-per-second = 10\nconsumer-crashes-per-hour = 3600\ngap-ms = 10000\n");
    let (code, _, err) = risk(&["at-least-once", "--rates", path]);
    assert_eq!(code, 2);
    assert!(
        err.contains(":4: field `rates.gap-ms`") && err.contains("above 1"),
        "{err}"
    );
    write("[rates]\nmessages-per-second = 1e300\n");
    let (code, _, err) = risk(&["at-least-once", "--rates", path]);
    assert_eq!(code, 2, "{err}");
    write("[rates]\nmessages-per-second = 10\nlease-overrun-fraction = 0.01\n");
    let (code, text, _) = risk(&["at-least-once", "--rates", path]);
    assert_eq!(code, 0);
    assert!(
        text.contains("{consumer crash}: not priced, no rate for consumer crash"),
        "{text}"
    );
    assert!(
        text.contains("total of the priced cut sets only (not a bound"),
        "{text}"
    );
    let (code, text, _) = risk(&["at-most-once", "--rates", path]);
    assert_eq!(code, 0);
    assert!(!text.contains("ambiguous"), "{text}");
    let out = onceproof()
        .current_dir(dir.path())
        .args(["risk", "--models"])
        .arg(std::fs::canonicalize("models").unwrap())
        .arg("sqs-double-charge")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("messages-per-second goes from 400"),
        "the sweep is tabled"
    );
    assert!(
        !dir.path().join("sqs-double-charge.risk.svg").exists(),
        "no chart unasked"
    );
}
