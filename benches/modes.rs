//! Unique states, depth and time of each delivery mode at the default
//! bounds, then how soon each refuted shipped scenario shows its cheapest
//! counterexample (release build): `cargo bench --bench modes`.

use onceproof::check::{self, Limits, Verdict};
use onceproof::pipeline::{Config, Mode};
use onceproof::scenario;
use std::path::Path;
use std::time::Instant;

/// The allocator the CLI uses (src/main.rs), so the figures match `check`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let threads: usize = std::env::var("ONCEPROOF_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let limits = Limits {
        threads,
        ..Limits::default()
    };
    println!(
        "{:<16} {:>10} {:>11} {:>6} {:>9} {:>11}  verdicts (applied once, no loss)",
        "mode", "unique", "total", "depth", "secs", "unique/s"
    );
    let all = Instant::now();
    for mode in Mode::ALL {
        let o = check::check(Config::new(mode), limits, &mut |_| {});
        let secs = o.elapsed.as_secs_f64();
        println!(
            "{:<16} {:>10} {:>11} {:>6} {:>9.2} {:>11.0}  {}, {}",
            mode.name(),
            o.unique_states,
            o.total_states,
            o.max_depth,
            secs,
            o.unique_states as f64 / secs,
            o.properties[0].verdict.name(),
            o.properties[1].verdict.name(),
        );
    }
    println!(
        "all four modes: {:.2} s (threads={threads})\n",
        all.elapsed().as_secs_f64()
    );
    println!(
        "{:<32} {:>16} {:>11}",
        "refuted scenario", "first cex at (s)", "whole (s)"
    );
    for path in scenario::all(Path::new("models")).expect("models/") {
        let s = scenario::load(&path).expect("a valid scenario");
        let o = check::check(s.config, limits, &mut |_| {});
        if !o
            .properties
            .iter()
            .any(|p| p.verdict == Verdict::Counterexample)
        {
            continue;
        }
        let first = o
            .first_counterexample_at
            .map_or("after the DFS".to_string(), |t| {
                format!("{:.3}", t.as_secs_f64())
            });
        println!(
            "{:<32} {:>16} {:>11.2}",
            s.name,
            first,
            o.elapsed.as_secs_f64()
        );
    }
}
