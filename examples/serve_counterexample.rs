//! Serves the Explorer at the shortest "side effect applied once"
//! counterexample of at-least-once delivery (default bounds) and prints its
//! deep link, so a browser test can open a real link without the CLI.
//!
//! Usage: `serve_counterexample [PORT]` (default 0: a free ephemeral port).
//! Prints `link: <url>` and `steps: <n>`, then serves until killed.

use onceproof::check;
use onceproof::explore;
use onceproof::model::{self, properties::APPLIED_ONCE};
use onceproof::pipeline::{Config, Mode};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        None => 0,
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            eprintln!("error: PORT must be a port number: {e}");
            return ExitCode::from(2);
        }
    };
    let model = model::build(Config::new(Mode::AtLeastOnce));
    let start = Instant::now();
    let Some(trace) = check::shortest_counterexample(&model, APPLIED_ONCE) else {
        eprintln!("error: at-least-once has no \"{APPLIED_ONCE}\" counterexample");
        return ExitCode::FAILURE;
    };
    eprintln!(
        "shortest counterexample: {} steps, found in {} ms",
        trace.len(),
        start.elapsed().as_millis()
    );
    let addr = match explore::spawn(
        model,
        "at-least-once",
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    ) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The script waits for these lines; println! flushes at each newline
    // only on a terminal, so flush for a pipe too.
    println!("link: {}", explore::deep_link(&addr, &trace));
    println!("steps: {}", trace.len());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
