//! Proof throughput against stateright's own `paxos` example, the figure
//! issue 11 sets its target by: `cargo bench --bench throughput`.
//!
//! The paxos example ships inside the stateright crate, not its library,
//! so this bench builds it from the stateright sources cargo already has
//! (found through `cargo metadata`) in a scratch crate under
//! `target/paxos-bench/`, with a `main` that times `spawn_dfs()` to
//! `join()` (the stock `check-dfs` polls for completion once a second,
//! which would round its time up). Nothing of it is kept in this
//! repository. Both run depth-first on the same number of threads
//! (`ONCEPROOF_THREADS`, default 2), alternating, `ONCEPROOF_ROUNDS` times
//! (default 3); the ratio of the medians is printed.
//!
//! Ours: the idempotency scenario (models/idempotency.toml), the proof with
//! the most states, by the full search (unique states/s against paxos's)
//! and by the reduced search (`--search reduced`: the same verdicts; its
//! figure is the full graph's state count over its time, the rate at which
//! the proof settles the states a full search would visit). Theirs:
//! single-decree paxos, 3 clients, 3 servers.

use onceproof::check::{self, Limits};
use onceproof::scenario;
use std::path::{Path, PathBuf};
use std::process::Command;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The scratch crate's `main`: prints `unique <n> secs <s>`.
const MAIN: &str = r#"
mod paxos;
fn main() {
    let threads: usize = std::env::args().nth(1).and_then(|t| t.parse().ok()).unwrap_or(2);
    let clients: usize = std::env::args().nth(2).and_then(|t| t.parse().ok()).unwrap_or(3);
    let (unique, secs) = paxos::timed_dfs(threads, clients);
    println!("unique {unique} secs {secs}");
}
"#;

/// Appended to the example's module, whose types are private to it: its
/// model, checked depth-first and timed from spawn to join.
const MODEL_FN: &str = r#"
pub fn timed_dfs(threads: usize, client_count: usize) -> (usize, f64) {
    let model = PaxosModelCfg {
        client_count,
        server_count: 3,
        network: Network::new_unordered_nonduplicating([]),
    }
    .into_model();
    let start = std::time::Instant::now();
    let checker = model.checker().threads(threads).spawn_dfs().join();
    let secs = start.elapsed().as_secs_f64();
    checker.assert_properties();
    (checker.unique_state_count(), secs)
}
"#;

fn stateright_dir() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .output()
        .expect("cargo metadata");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let manifest = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "stateright")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("stateright among the dependencies");
    Path::new(manifest).parent().unwrap().to_path_buf()
}

/// Builds the scratch crate and returns its binary.
fn build_paxos() -> PathBuf {
    let src = std::fs::read_to_string(stateright_dir().join("examples/paxos.rs"))
        .expect("stateright's examples/paxos.rs");
    // As a module: no inner doc comments; its own `main` stays unused.
    let module: String = src
        .lines()
        .filter(|l| !l.trim_start().starts_with("//!"))
        .map(|l| l.replace("fn main()", "#[allow(dead_code)]\nfn stock_main()"))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/paxos-bench");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"paxos-bench\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nstateright = \"=0.31.0\"\nserde = { version = \"1\", features = [\"derive\"] }\n\
         serde_json = \"1\"\npico-args = \"0.5\"\nnum_cpus = \"1\"\nenv_logger = \"0.11\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), MAIN).unwrap();
    std::fs::write(dir.join("src/paxos.rs"), module + MODEL_FN).unwrap();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .status()
        .expect("cargo build of the paxos bench");
    assert!(
        status.success(),
        "building stateright's paxos example failed"
    );
    dir.join("target/release/paxos-bench")
}

fn paxos(bin: &Path, threads: usize) -> (usize, f64) {
    let out = Command::new(bin)
        .args([threads.to_string(), "3".into()])
        .output()
        .expect("run the paxos bench");
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["unique", n, "secs", s] => (n.parse().unwrap(), s.parse().unwrap()),
        _ => panic!("unexpected paxos output: {text}"),
    }
}

fn ours(threads: usize, reduced: bool) -> (usize, f64) {
    let s = scenario::load(Path::new("models/idempotency.toml")).expect("the idempotency scenario");
    let o = check::check(
        s.config,
        Limits {
            threads,
            reduced,
            ..Limits::default()
        },
        &mut |_| {},
    );
    assert!(o.complete);
    (o.unique_states, o.elapsed.as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (threads, rounds) = (env("ONCEPROOF_THREADS", 2), env("ONCEPROOF_ROUNDS", 3));
    let bin = build_paxos();
    let (mut theirs_rate, mut ours_rate) = (Vec::new(), Vec::new());
    let mut proof_rate = Vec::new();
    println!(
        "{:<28} {:>10} {:>8} {:>11}",
        "run", "unique", "secs", "unique/s"
    );
    let row = |label: String, n: usize, secs: f64| {
        println!("{label:<28} {n:>10} {secs:>8.2} {:>11.0}", n as f64 / secs);
    };
    for round in 1..=rounds {
        let (n, secs) = paxos(&bin, threads);
        theirs_rate.push(n as f64 / secs);
        row(format!("paxos check-dfs 3 (#{round})"), n, secs);
        let (full, secs) = ours(threads, false);
        ours_rate.push(full as f64 / secs);
        row(format!("onceproof idempotency (#{round})"), full, secs);
        // The same proof by the reduced search: the rate at which it
        // settles the full graph's states (full count / its time).
        let (n, secs) = ours(threads, true);
        proof_rate.push(full as f64 / secs);
        row(format!("  reduced (#{round})"), n, secs);
    }
    let p = median(proof_rate);
    let (t, o) = (median(theirs_rate), median(ours_rate));
    println!(
        "median unique states/s: paxos {t:.0}, onceproof {o:.0}; ratio {:.2}x (threads={threads})",
        o / t
    );
    println!(
        "the proof by the reduced search: the full graph's states settled per second {p:.0}; ratio {:.2}x",
        p / t
    );
}
