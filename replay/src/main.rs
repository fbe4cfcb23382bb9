//! `onceproof-replay` (also run as `onceproof replay`): a scenario's
//! counterexample on real brokers. Exit 0: reproduced, and the proved
//! counterpart applied each operation exactly once; 1: reality diverged
//! from the model (a model-fidelity finding); 2: bad input, or a server
//! that cannot be reached.

use clap::Parser;
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof_replay::run::{Replay, Verdict, counts};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "onceproof replay",
    about = "Replay a scenario's counterexample on a real broker (servers from scripts/brokers up)"
)]
struct Cli {
    /// A scenario file, or a scenario name looked up in --models.
    scenario: String,
    /// The property whose counterexample is replayed: applied-once or
    /// no-loss (default: the first refuted).
    #[arg(long)]
    property: Option<String>,
    /// The proved design the same schedule is run against (default: the
    /// scenario's counterpart, e.g. rabbitmq-idempotency).
    #[arg(long)]
    against: Option<String>,
    /// Only the counterexample.
    #[arg(long, conflicts_with = "against")]
    no_counterpart: bool,
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Print the replay as JSON.
    #[arg(long)]
    json: bool,
    /// Record the replay in this directory (`<scenario>.replay.json`), for
    /// the scenario's results page (`onceproof check --write` adds it).
    #[arg(long)]
    write: Option<PathBuf>,
}

fn load(arg: &str, models: &std::path::Path) -> Result<onceproof::scenario::Scenario, String> {
    onceproof::scenario::load(&onceproof::scenario::resolve(arg, models)).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(onceproof_replay::process::ARG) {
        return onceproof_replay::process::serve(&args[2..]);
    }
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("onceproof replay: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode, String> {
    let property = match cli.property.as_deref() {
        None => None,
        Some("applied-once") => Some(APPLIED_ONCE),
        Some("no-loss") => Some(NO_LOSS),
        Some(other) => {
            return Err(format!(
                "--property {other}: expected applied-once or no-loss"
            ));
        }
    };
    let scenario = load(&cli.scenario, &cli.models)?;
    let against = match (&cli.against, cli.no_counterpart) {
        (_, true) => None,
        (Some(a), _) => Some(a.clone()),
        (None, false) => onceproof_replay::counterpart_of(&scenario.name).map(str::to_string),
    };
    let counterpart = against.map(|a| load(&a, &cli.models)).transpose()?;
    let servers = onceproof_replay::servers::Servers::from_env();
    let out = onceproof_replay::replay(&scenario, property, counterpart.as_ref(), &servers)
        .map_err(|e| e.to_string())?;
    let ok = out.counterexample.verdict == Verdict::Reproduced
        && out
            .counterpart
            .as_ref()
            .is_none_or(|c| c.verdict == Verdict::Reproduced);
    if let Some(dir) = &cli.write {
        let record = onceproof_replay::record(&out);
        let path = onceproof::report::replayed::path(dir, &scenario.name);
        let text = serde_json::to_string_pretty(&record).expect("plain data") + "\n";
        onceproof::results::write_atomically(&path, &text)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    }
    if cli.json {
        let doc = serde_json::json!({
            "format": 1,
            "counterexample": out.counterexample,
            "counterpart": out.counterpart,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("serializable")
        );
    } else {
        print_replay(&out.counterexample, false);
        if let Some(c) = &out.counterpart {
            println!();
            print_replay(c, true);
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_replay(r: &Replay, counterpart: bool) {
    if counterpart {
        println!(
            "the same schedule against the proved design {}, on {} with {}:",
            r.design, r.broker, r.store
        );
        println!(
            "  (each numbered line is the counterexample's step; at a consumer's step this design takes its own next handler step)"
        );
    } else {
        println!(
            "{}: the counterexample replayed on {} with {}:",
            r.scenario, r.broker, r.store
        );
    }
    let mut resting = false;
    for l in &r.lines {
        match l.step {
            Some(n) => println!("  {n:>3}. {}\n         real: {}", l.model, l.real),
            None => {
                if !resting {
                    println!("  then, with no further fault, to rest:");
                    resting = true;
                }
                println!("       {}\n         real: {}", l.model, l.real);
            }
        }
    }
    let expected = if counterpart {
        "each operation applied exactly once".to_string()
    } else {
        format!("the model: {}", counts(&r.expected))
    };
    if !counterpart {
        for d in &r.differences {
            println!("  known to differ from the product it stands for: {d}");
        }
    }
    println!(
        "  outcome: PostgreSQL: {}; {}",
        counts(&r.applied),
        expected
    );
    match &r.verdict {
        Verdict::Reproduced if counterpart => println!("  exactly once"),
        Verdict::Reproduced => println!("  reproduced"),
        Verdict::NotReproduced { step, why } => println!(
            "  NOT REPRODUCED{}: {why}",
            step.map_or(String::new(), |s| format!(" at step {s}"))
        ),
    }
}
