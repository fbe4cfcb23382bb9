//! The Explorer as a person reaches it: over HTTP, through the deep link the
//! CLI prints. A link is only useful if the page it opens shows the
//! violation, and the UI rebuilds that page from `/.states` requests alone,
//! so these tests make the same requests and check the state they return
//! against the model itself. They also time those requests, because a link
//! to a long counterexample costs one request per prefix and each rebuilds
//! the path (the requirement: under 2 s at the default bounds).
//!
//! The Explorer changes the working directory of this test process (see
//! `onceproof::explore`), so nothing here uses a relative path.

use onceproof::check::{self, Trace};
use onceproof::explore::{self, ExploreError};
use onceproof::model::properties::{self, APPLIED_ONCE, NO_LOSS};
use onceproof::model::{self, Model};
use onceproof::pipeline::{Bounds, Config, LedgerWrite, Mode, Pipeline};
use onceproof::report::narrative::narrative;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The name the Explorer's pages give the small model below.
const SMALL: &str = "small-at-least-once";

fn small_at_least_once() -> Config {
    Config {
        pipeline: Pipeline::of(Mode::AtLeastOnce),
        bounds: Bounds {
            operations: 1,
            consumers: 2,
            retries: 0,
            crashes: 0,
            losses: 0,
            lease_expiries: 1,
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
        },
    }
}

fn loopback_any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A plain HTTP/1.0 GET: the server closes the connection after the body,
/// so no client library is needed.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the Explorer");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, body.to_string())
}

fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// Every `/.states` request the UI makes to open `#/steps/<encoded>`: the
/// init states, then the next steps of each prefix, the full path included.
fn ui_requests(encoded: &str) -> Vec<String> {
    let mut paths = vec!["/.states".to_string()];
    let mut prefix = String::from("/.states");
    for part in encoded.split('/') {
        prefix.push('/');
        prefix.push_str(part);
        paths.push(prefix.clone());
    }
    paths
}

/// Times the requests the UI makes for a deep link, one after another as
/// the UI makes them.
fn load_like_the_ui(addr: SocketAddr, encoded: &str) -> Duration {
    let start = Instant::now();
    for path in ui_requests(encoded) {
        let (status, body) = get(addr, &path);
        assert_eq!(status, 200, "GET {path}: {body}");
    }
    start.elapsed()
}

/// The step entry that the link's last index selects, as the UI finds it:
/// among the next steps of the prefix without that index.
fn final_step(addr: SocketAddr, encoded: &str) -> Value {
    let (prefix, last) = encoded.rsplit_once('/').expect("at least one action");
    let last: u64 = last.parse().unwrap();
    let steps = get_json(addr, &format!("/.states/{prefix}"));
    steps
        .as_array()
        .expect("an array of next steps")
        .iter()
        .find(|s| s["actionIndex"].as_u64() == Some(last))
        .cloned()
        .unwrap_or_else(|| panic!("no step with actionIndex {last} after {prefix}"))
}

/// Per-operation application counts read off the store's Debug text,
/// pretty-printed by the Explorer as `applied: [\n 2,\n ],`.
fn applied_counts(state_debug: &str) -> Vec<u8> {
    let start = state_debug
        .find("applied: [")
        .expect("the store's applied counts")
        + "applied: [".len();
    let end = start + state_debug[start..].find(']').unwrap();
    state_debug[start..end]
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("a count"))
        .collect()
}

fn violates(cfg: &Config, model: &Model, property: &str, trace: &Trace) -> bool {
    let check = properties::all(cfg)
        .into_iter()
        .find(|c| c.name == property)
        .expect("a known property");
    !(check.condition)(model, trace.last_state())
}

#[test]
fn deep_link_opens_at_a_state_that_applies_the_effect_twice() {
    let cfg = small_at_least_once();
    let model = model::build(cfg);
    let trace = check::shortest_counterexample(&model, APPLIED_ONCE)
        .expect("at-least-once with a lease expiry applies an effect twice");
    let addr = explore::spawn(model.clone(), SMALL, loopback_any_port()).expect("Explorer starts");
    let link = explore::deep_link(&addr, &trace);
    assert_eq!(link, format!("http://{addr}/#/steps/{}", trace.encoded));

    // The UI is served, and it is stateright's, not a ./ui folder's.
    let (status, page) = get(addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains("Stateright Explorer"), "{page}");

    let status = get_json(addr, "/.status");
    let names: Vec<&str> = status["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| p[1].as_str().expect("a property name"))
        .collect();
    let expected: Vec<&str> = properties::all(&cfg).iter().map(|c| c.name).collect();
    assert_eq!(names, expected);
    assert!(names.contains(&APPLIED_ONCE) && names.contains(&NO_LOSS));

    // The state the link selects: the store has applied the effect twice.
    let step = final_step(addr, &trace.encoded);
    let state = step["state"]
        .as_str()
        .expect("the final step is not ignored");
    assert_eq!(applied_counts(state), vec![2], "{state}");
    // Its label says what the step meant, in the narrative's words.
    let outcome = step["outcome"].as_str().expect("a labelled step");
    assert!(
        outcome.starts_with("effect store applies op 1") && outcome.contains("applied 2×"),
        "{outcome}"
    );

    // Cross-check against the model: replaying the link's path ends in a
    // state that violates the property, and it is the state served.
    let replayed = check::replay(&model, &trace.encoded).expect("the link's path replays");
    assert_eq!(replayed.len(), trace.len());
    assert!(violates(&cfg, &model, APPLIED_ONCE, &replayed));
    assert_eq!(*replayed.last_state(), *trace.last_state());
    assert_eq!(state, format!("{:#?}", replayed.last_state()));

    let took = load_like_the_ui(addr, &trace.encoded);
    println!(
        "small at-least-once: {} steps, {} requests, loaded in {} ms",
        trace.len(),
        ui_requests(&trace.encoded).len(),
        took.as_millis()
    );
}

/// The entry a property has in a step's `properties`: its discovery path,
/// which the UI's "Current state" list reads (a path equal to the step's
/// own is "Counterexample found" for an `always` property).
fn discovery<'a>(step: &'a Value, property: &str) -> &'a Value {
    step["properties"]
        .as_array()
        .expect("a step's properties")
        .iter()
        .find(|p| p[1] == property)
        .map(|p| &p[2])
        .unwrap_or_else(|| panic!("no {property} in {step}"))
}

/// The path a person follows reads as the CLI's counterexample: the same
/// lines, in the same order, from the narrative (the UI numbers them from
/// 1 with the page's own stylesheet, checked in the browser test).
#[test]
fn the_path_of_actions_reads_as_the_cli_narrative() {
    let cfg = small_at_least_once();
    let model = model::build(cfg);
    let trace = check::shortest_counterexample(&model, APPLIED_ONCE).unwrap();
    let addr = explore::spawn(model.clone(), SMALL, loopback_any_port()).expect("Explorer starts");

    let cli: Vec<String> = narrative(&model, &trace, APPLIED_ONCE)
        .steps
        .iter()
        .map(|l| {
            l.trim_end_matches(&format!(" ✗ {APPLIED_ONCE}"))
                .to_string()
        })
        .collect();
    let inits = get_json(addr, "/.states");
    assert_eq!(inits[0]["action"], "initial state", "{inits}");

    let parts: Vec<&str> = trace.encoded.split('/').collect();
    let mut listed = Vec::new();
    for k in 1..parts.len() {
        let step = final_step(addr, &parts[..=k].join("/"));
        listed.push(step["action"].as_str().expect("an action").to_string());
        // Every step the page offers is in words, not Rust's Debug.
        let offered = get_json(addr, &format!("/.states/{}", parts[..k].join("/")));
        for choice in offered.as_array().unwrap() {
            let action = choice["action"].as_str().unwrap();
            assert!(!action.contains("Id(") && !action.contains('{'), "{action}");
        }
    }
    assert_eq!(listed, cli);
    assert!(
        listed
            .iter()
            .any(|l| l.starts_with("consumer 2 receives op 1 (message 1")),
        "{listed:#?}"
    );
}

/// "Current state?": the violating state is a counterexample to "side
/// effect applied once" and the state before it is not; a witness
/// (`sometimes`) reads as found where it holds.
#[test]
fn the_current_state_properties_are_the_states_own() {
    let cfg = small_at_least_once();
    let model = model::build(cfg);
    let trace = check::shortest_counterexample(&model, APPLIED_ONCE).unwrap();
    let addr = explore::spawn(model.clone(), SMALL, loopback_any_port()).expect("Explorer starts");

    let last = final_step(addr, &trace.encoded);
    assert_eq!(discovery(&last, APPLIED_ONCE), trace.encoded.as_str());
    assert!(discovery(&last, NO_LOSS).is_null());
    let (before, _) = trace.encoded.rsplit_once('/').unwrap();
    let previous = final_step(addr, before);
    assert!(discovery(&previous, APPLIED_ONCE).is_null(), "{previous}");
    let lease = "lease expired: two consumers hold one message";
    assert_eq!(discovery(&last, lease), trace.encoded.as_str());
    let inits = get_json(addr, "/.states");
    assert!(discovery(&inits[0], lease).is_null());

    // The global list is still the checker's: nothing explored yet.
    let status = get_json(addr, "/.status");
    assert_eq!(status["properties"][0][2], Value::Null);
}

/// The page, the status and the state panel name what a reader knows: the
/// scenario, the state in domain words, actors as the reports name them.
#[test]
fn the_page_names_the_scenario_and_the_state_in_words() {
    let model = model::build(small_at_least_once());
    let trace = check::shortest_counterexample(&model, APPLIED_ONCE).unwrap();
    let addr = explore::spawn(model, SMALL, loopback_any_port()).expect("Explorer starts");

    let (_, page) = get(addr, "/");
    assert!(
        page.contains(&format!("<title>{SMALL} · onceproof")),
        "{page}"
    );
    assert!(page.contains(&format!("<b id=\"onceproof-scenario\">{SMALL}</b>")));
    assert!(
        page.contains("counter-reset:step -2"),
        "steps numbered from 1"
    );
    assert_eq!(get_json(addr, "/.status")["model"], SMALL);

    let last = final_step(addr, &trace.encoded);
    let outcome = last["outcome"].as_str().unwrap();
    assert!(
        outcome.contains("after this step:\n  producer: ")
            && outcome.contains("consumer 2: op 1 (message 1, delivery 2)")
            && outcome.contains("applied: op 1 applied 2×"),
        "{outcome}"
    );
    let svg = last["svg"].as_str().unwrap();
    assert!(
        svg.contains("class='svg-actor-label'>consumer 2</text>"),
        "{svg}"
    );
    assert!(svg.contains("class='svg-actor-label'>effect store</text>"));
    assert!(svg.contains("class='svg-event-label'>consumer 2 receives op 1"));
    assert!(
        !svg.contains("JobRef") && !svg.contains("4 consumer"),
        "{svg}"
    );
}

/// A link that does not decode is answered, in words, by the route the
/// page's script asks on every hash change; a good one is not flagged.
#[test]
fn an_invalid_deep_link_is_named() {
    let model = model::build(small_at_least_once());
    let trace = check::shortest_counterexample(&model, APPLIED_ONCE).unwrap();
    let addr = explore::spawn(model, SMALL, loopback_any_port()).expect("Explorer starts");

    let good = get_json(addr, &format!("/.onceproof/link/{}", trace.encoded));
    assert_eq!(good["ok"], true, "{good}");
    assert_eq!(good["steps"], trace.len());
    assert_eq!(get_json(addr, "/.onceproof/link")["ok"], true);

    for (path, says) in [
        ("/0/99", "its step 1 picks choice index 99"),
        ("/3", "starts from initial state 4"),
        ("/0/x", "(\"x\") is not a step index"),
    ] {
        let bad = get_json(addr, &format!("/.onceproof/link{path}"));
        assert_eq!(bad["ok"], false, "{path}: {bad}");
        let message = bad["message"].as_str().unwrap();
        assert!(message.contains(says), "{path}: {message}");
    }
    let (_, page) = get(addr, "/");
    assert!(page.contains("This link does not lead to a state of this scenario"));
}

#[test]
fn a_bad_index_is_a_404_not_a_crash() {
    let model = model::build(small_at_least_once());
    let addr = explore::spawn(model, SMALL, loopback_any_port()).expect("Explorer starts");
    let (status, body) = get(addr, "/.states/0/99");
    assert_eq!(status, 404);
    assert!(body.contains("Unable to find state"), "{body}");
    // The server is still up.
    assert_eq!(get(addr, "/.status").0, 200);
}

#[test]
fn a_busy_port_is_a_clean_error_not_a_panic() {
    let taken = TcpListener::bind(loopback_any_port()).unwrap();
    let addr = taken.local_addr().unwrap();
    let model = model::build(small_at_least_once());

    let spawned = explore::spawn(model.clone(), SMALL, addr).expect_err("the port is taken");
    assert!(matches!(spawned, ExploreError::Bind { .. }), "{spawned:?}");
    assert_eq!(
        spawned.to_string(),
        format!("cannot serve the Explorer on {addr}: address already in use")
    );

    let served = explore::serve(model, SMALL, addr, |_| {}).expect_err("the port is taken");
    assert_eq!(
        served.to_string(),
        format!("cannot serve the Explorer on {addr}: address already in use")
    );
    drop(taken);
}

/// Dev mode must not let a `ui` folder in the working directory replace
/// the Explorer's pages. The working directory is the whole process's, so
/// the check runs in a child: this test binary again, started in a
/// directory holding a fake `ui/index.htm`, running only the test below.
#[test]
fn a_ui_folder_in_the_working_directory_cannot_replace_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ui")).unwrap();
    std::fs::write(dir.path().join("ui/index.htm"), "HIJACKED").unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "serves_its_own_pages_beside_a_ui_folder"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by a_ui_folder_in_the_working_directory_cannot_replace_the_pages"]
fn serves_its_own_pages_beside_a_ui_folder() {
    let fake = std::fs::read_to_string("ui/index.htm").expect("started beside a ui folder");
    assert_eq!(fake, "HIJACKED");
    let model = model::build(small_at_least_once());
    let addr = explore::spawn(model, SMALL, loopback_any_port()).expect("Explorer starts");
    let (status, page) = get(addr, "/");
    assert_eq!(status, 200);
    assert!(!page.contains("HIJACKED"), "dev mode served ./ui: {page}");
    assert!(page.contains("Stateright Explorer"), "{page}");
}

#[test]
fn deep_links_name_a_reachable_host() {
    let trace =
        check::shortest_counterexample(&model::build(small_at_least_once()), APPLIED_ONCE).unwrap();
    let any: SocketAddr = "0.0.0.0:3000".parse().unwrap();
    assert_eq!(
        explore::deep_link(&any, &trace),
        format!("http://127.0.0.1:3000/#/steps/{}", trace.encoded)
    );
    let v6: SocketAddr = "[::1]:3000".parse().unwrap();
    assert!(explore::deep_link(&v6, &trace).starts_with("http://[::1]:3000/#/steps/0/"));
}

/// The links a person follows at the default bounds, one per mode: the
/// counterexample of at-most-once ("no loss") and of at-least-once ("side
/// effect applied once"); the two other modes prove both properties, so for
/// them the link is to the counterexample of their first negative control
/// (tests/modes.rs). Prints how long the UI's requests take for each
/// (`cargo test --release --test explorer -- --nocapture`); the 2 s
/// requirement is asserted in the browser, where it is felt.
#[test]
fn deep_link_load_time_per_mode_at_default_bounds() {
    let mut atomic_broken = Config::new(Mode::AtomicBoundary);
    atomic_broken.pipeline.ledger_write = LedgerWrite::AfterEffect;
    let mut idempotency_broken = Config::new(Mode::Idempotency);
    idempotency_broken.pipeline.ledger_check = false;
    let cases = [
        ("at-most-once", Config::new(Mode::AtMostOnce), NO_LOSS),
        (
            "at-least-once",
            Config::new(Mode::AtLeastOnce),
            APPLIED_ONCE,
        ),
        (
            "atomic-boundary, ledger row after effect",
            atomic_broken,
            APPLIED_ONCE,
        ),
        (
            "idempotency, no ledger check",
            idempotency_broken,
            APPLIED_ONCE,
        ),
    ];

    let mut total = Duration::ZERO;
    for (name, cfg, property) in cases {
        let model = model::build(cfg);
        let trace = check::shortest_counterexample(&model, property)
            .unwrap_or_else(|| panic!("{name}: a \"{property}\" counterexample"));
        assert!(violates(&cfg, &model, property, &trace));
        let addr = explore::spawn(model, name, loopback_any_port()).expect("Explorer starts");
        let took = load_like_the_ui(addr, &trace.encoded);
        total += took;
        println!(
            "{name:<40} {property:<26} {:>2} steps, {:>2} requests: {:>4} ms",
            trace.len(),
            ui_requests(&trace.encoded).len(),
            took.as_millis()
        );
    }
    println!("all four deep links: {} ms", total.as_millis());
}

/// Opens the default at-least-once deep link in headless Chromium through
/// tests/browser/deep_link.sh, which checks the rendered page (and that a
/// link that does not decode is named on the page). Skipped
/// (with a note) where Chromium is not installed.
#[test]
fn deep_link_renders_in_headless_chromium() {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        println!("SKIP: {} is not installed", chromium.display());
        return;
    }
    let model = model::build(Config::new(Mode::AtLeastOnce));
    let trace = check::shortest_counterexample(&model, APPLIED_ONCE).expect("a counterexample");
    let addr =
        explore::spawn(model, "at-least-once", loopback_any_port()).expect("Explorer starts");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/deep_link.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--url")
        .arg(explore::deep_link(&addr, &trace))
        .arg("--steps")
        .arg(trace.len().to_string())
        .arg("--bad-url")
        .arg(format!("http://{addr}/#/steps/0/99"))
        // This process stands in a deleted directory (see above).
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the browser script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}\n{stderr}");
}
