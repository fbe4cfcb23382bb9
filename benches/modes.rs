//! Unique states, depth and time of each delivery mode at the default
//! bounds (release build): `cargo bench --bench modes`.

use onceproof::check::{self, Limits};
use onceproof::pipeline::{Config, Mode};
use std::time::Instant;

/// The allocator the CLI uses (src/main.rs), so the figures match `check`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let threads: usize = std::env::var("ONCEPROOF_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    println!(
        "{:<16} {:>10} {:>11} {:>6} {:>9} {:>11}  verdicts (applied once, no loss)",
        "mode", "unique", "total", "depth", "secs", "unique/s"
    );
    let all = Instant::now();
    for mode in Mode::ALL {
        let o = check::check(
            Config::new(mode),
            Limits {
                threads,
                ..Limits::default()
            },
            &mut |_| {},
        );
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
        "all four modes: {:.2} s (threads={threads})",
        all.elapsed().as_secs_f64()
    );
}
