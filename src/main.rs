use onceproof::check::{Limits, check};
use onceproof::pipeline::{Config, Mode};

fn main() {
    let which: Vec<String> = std::env::args().skip(1).collect();
    for mode in Mode::ALL.into_iter().filter(|m| which.is_empty() || which.iter().any(|w| w == m.name())) {
        let o = check(Config::new(mode), Limits { timeout: Some(std::time::Duration::from_secs(100)), ..Limits::default() }, &mut |_| {});
        println!(
            "{}: unique={} total={} depth={} {:?}",
            mode.name(),
            o.unique_states,
            o.total_states,
            o.max_depth,
            o.elapsed
        );
        for p in &o.properties {
            println!("  {} {:?} {:?}", p.name, p.verdict, p.trace.as_ref().map(|t| t.len()));
            if let Some(t) = &p.trace {
                for (_, a) in &t.steps {
                    if let Some(a) = a { println!("     {:?}", a); }
                }
                println!("     {}", t.encoded);
            }
        }
        for w in &o.witnesses {
            println!("  witness {} {}", w.0, w.1);
        }
    }
}
