//! The `onceproof` command line: check scenarios, list them, serve the
//! Explorer. The exit statuses are [`EXIT_STATUSES`]; with `--json`,
//! results and errors alike are one JSON document of [`JSON_FORMAT`].

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use onceproof::check::{self, Limits, Verdict};
use onceproof::report::{document, itf, text};
use onceproof::scenario::{self, InputError, Scenario};
use onceproof::{explore, model, results};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// About a quarter of the checker's samples were malloc/free (issue 11);
/// mimalloc makes `check --all` about 10 % faster on 2 cores (measured
/// alternating: 32.0 s against 35.4–37.3 s; peak RSS 74–94 MB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The version of `check --json`'s document shape: `{"format", "onceproof_version",
/// "scenarios": [..], "exit": {"code", "meaning"}}`, or `{"format", "error"}`.
const JSON_FORMAT: u32 = 1;

/// What each exit status means, for `--help` and the README.
const EXIT_STATUSES: &str = "Exit status:
  0  every verdict is as expected (a property without an expectation: its run completed)
  1  a verdict differs from its expectation
  2  bad input or usage (the error names the file, line and field)
  3  a run was cut short by --timeout or --max-states (a verdict is `incomplete`)
     and no complete verdict differs
  4  I/O failure: results or traces could not be written, the Explorer could not serve";

/// Why the command stopped before giving verdicts, with its exit status.
enum Failure {
    Usage(String),
    Input(InputError),
    Io(String),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::Input(_) => 2,
            Failure::Io(_) => 4,
        }
    }

    fn json(&self) -> serde_json::Value {
        let (kind, message) = match self {
            Failure::Usage(m) => ("usage", m.clone()),
            Failure::Input(e) => ("bad input", e.message.clone()),
            Failure::Io(m) => ("i/o", m.clone()),
        };
        let mut error =
            serde_json::json!({ "kind": kind, "message": message, "code": self.code() });
        if let Failure::Input(e) = self {
            error["file"] = e.file.clone().into();
            error["line"] = e.line.into();
            error["field"] = e.field.clone().into();
        }
        serde_json::json!({ "format": JSON_FORMAT, "error": error })
    }

    /// One line on stderr, and with `--json` the error document on stdout.
    fn report(self, json: bool) -> ExitCode {
        match &self {
            Failure::Usage(m) | Failure::Io(m) => eprintln!("error: {m}"),
            Failure::Input(e) => eprintln!("error: {e}"),
        }
        if json {
            println!("{}", self.json());
        }
        ExitCode::from(self.code())
    }
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure::Input(e)
    }
}

#[derive(Parser)]
#[command(
    name = "onceproof",
    version,
    about = "Model-checks message-delivery pipelines: is the side effect applied once, is nothing lost?",
    after_help = EXIT_STATUSES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check scenarios exhaustively and report each property's verdict.
    #[command(after_help = EXIT_STATUSES)]
    Check(CheckArgs),
    /// List the scenarios in models/ with their summaries and expected verdicts.
    List {
        /// Directory holding the scenario files.
        #[arg(long, default_value = "models")]
        models: PathBuf,
    },
    /// Re-run the checks results documents record; say, for each, whether
    /// the same proof id, verdicts and counts come out, and if not, what changed.
    #[command(after_help = "Exit status: 0 every document verified, 1 one was not, 2 bad input")]
    Verify {
        /// Results documents (results/<NAME>.json); their scenario files are
        /// found where the documents say, from the current directory.
        #[arg(required = true)]
        documents: Vec<PathBuf>,
        /// Checker threads.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: u16,
    },
    /// Minimal cut sets of each property (found with the checker), priced at
    /// the load and fault rates of `[rates]` or --rates: incidents per day.
    #[command(after_help = "Exit status: 0 done, 2 bad input, 4 I/O failure")]
    Risk(RiskArgs),
    /// Replay a scenario's counterexample on a real broker (RabbitMQ, an SQS
    /// emulator, a Kafka-protocol broker) with PostgreSQL as the effect
    /// store, then the same schedule against its proved counterpart. Runs
    /// the separate `onceproof-replay` program (`cargo build --release -p
    /// onceproof-replay`; servers from `scripts/brokers up`); its options:
    /// `onceproof replay -- --help`.
    #[command(
        after_help = "Exit status: 0 reproduced (and the counterpart applied each operation once), 1 not reproduced, 2 bad input or a server that cannot be reached"
    )]
    Replay {
        /// The scenario and onceproof-replay's options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Serve the Stateright Explorer for one scenario.
    Explore {
        /// A scenario file, or a scenario name looked up in models/.
        scenario: String,
        /// Address to serve on (HOST:PORT, a name such as localhost:3000
        /// resolves); loopback unless you say otherwise.
        #[arg(long, default_value = "127.0.0.1:3000", value_parser = socket_addr)]
        addr: SocketAddr,
        /// Directory holding the scenario files.
        #[arg(long, default_value = "models")]
        models: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TraceFormat {
    /// Numbered steps in domain words (the default report).
    Text,
    /// Informal Trace Format JSON (Apalache, Quint), one file per counterexample.
    Itf,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Scenario files, or scenario names looked up in models/.
    scenarios: Vec<String>,
    /// Check every scenario in models/.
    #[arg(long)]
    all: bool,
    /// Directory holding the scenario files.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Which bounds to run: `quick` (`[bounds]`, what CI and results/ use) or
    /// `deep` (`[bounds.deep]` merged onto them; a file without one runs its
    /// quick bounds).
    #[arg(long, default_value = "quick")]
    profile: String,
    /// The main exploration: `full` (every step from every state) or
    /// `reduced` (partial-order reduction: one actor's steps where they
    /// commute with all the others could do; docs/PERFORMANCE.md). The
    /// default is `reduced` for `--profile deep` and `full` otherwise; a
    /// pipeline the reduction's argument does not cover (a Kafka log, a
    /// progress check) is always explored in full.
    #[arg(long, value_parser = ["full", "reduced"])]
    search: Option<String>,
    /// Print one JSON document instead of the text report.
    #[arg(long)]
    json: bool,
    /// Write each scenario's JSON and Markdown page, and the matrix, into this directory.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
    /// How counterexamples are exported: `itf` writes <scenario>.<property>.itf.json
    /// files into the --write directory (or the current directory).
    #[arg(long, value_enum, default_value = "text")]
    trace_format: TraceFormat,
    /// Checker threads (a timeout needs at least 2; 2 are used if it is set).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    /// Stop each exploration after this many seconds; a run cut short is `incomplete`.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Stop each exploration after about this many states; a run cut short is `incomplete`.
    #[arg(long, value_name = "N")]
    max_states: Option<usize>,
    /// Explore without the symmetry reduction over consumers (for testing the
    /// reduction; results are the same, only slower).
    #[arg(long, hide = true)]
    no_symmetry: bool,
    /// Address the printed Explorer links point at.
    #[arg(long, default_value = "127.0.0.1:3000", value_parser = socket_addr)]
    explore_addr: SocketAddr,
}

#[derive(clap::Args)]
struct RiskArgs {
    /// A scenario file, or a scenario name looked up in models/.
    scenario: String,
    /// Directory holding the scenario files.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// A file holding a `[rates]` table, used instead of the scenario's own.
    #[arg(long, value_name = "FILE")]
    rates: Option<PathBuf>,
    /// Sweep one input, KEY=FROM..TO (e.g. messages-per-second=400..18000):
    /// a table, and an SVG chart `<scenario>.risk.svg` in the --write
    /// directory (or the current one). Without it, the `[rates]` table's
    /// own `sweep` is tabled, and charted only with --write.
    #[arg(long, value_name = "KEY=FROM..TO")]
    sweep: Option<String>,
    /// Where the chart goes.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
    /// Print one JSON document instead of the text report.
    #[arg(long)]
    json: bool,
}

/// HOST:PORT, where HOST is an address or a name (`localhost`), its first
/// IPv4 address preferred.
fn socket_addr(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    let all: Vec<SocketAddr> = s
        .to_socket_addrs()
        .map_err(|e| format!("expected HOST:PORT ({e})"))?
        .collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| format!("`{s}` resolves to no address"))
}

fn main() -> ExitCode {
    // A reader that stops early (`check --all | head`) closes the pipe: end
    // quietly, as Unix tools do, rather than panic in `println!`.
    // SAFETY: restoring a signal's default disposition before any thread
    // starts touches no Rust state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() && std::env::args().any(|a| a == "--json") => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default();
            let first = first.trim_start_matches("error: ").to_string();
            return Failure::Usage(first).report(true);
        }
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Check(args) => run_check(args),
        Command::List { models } => run_list(&models),
        Command::Risk(args) => {
            let json = args.json;
            match run_risk(args) {
                Ok(code) => code,
                Err(f) => f.report(json),
            }
        }
        Command::Verify { documents, threads } => match run_verify(&documents, threads) {
            Ok(code) => code,
            Err(f) => f.report(false),
        },
        Command::Explore {
            scenario,
            addr,
            models,
        } => run_explore(&scenario, addr, &models),
        Command::Replay { args } => run_replay(&args),
    }
}

/// The replay harness is its own program, so that installing the checker
/// does not pull in the brokers' clients: found beside this executable or
/// on the PATH, as cargo finds its subcommands.
fn run_replay(args: &[std::ffi::OsString]) -> ExitCode {
    const PROGRAM: &str = "onceproof-replay";
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(PROGRAM)))
        .filter(|p| p.is_file());
    let program = beside.unwrap_or_else(|| PathBuf::from(PROGRAM));
    match std::process::Command::new(&program).args(args).status() {
        Ok(status) => ExitCode::from(status.code().map_or(2, |c| c as u8)),
        Err(e) => {
            eprintln!(
                "onceproof replay: cannot run {} ({e}); build it with `cargo build --release -p onceproof-replay`",
                program.display()
            );
            ExitCode::from(2)
        }
    }
}

fn load_all(args: &[String], all: bool, models: &Path) -> Result<Vec<Scenario>, InputError> {
    let mut paths: Vec<PathBuf> = args.iter().map(|a| scenario::resolve(a, models)).collect();
    if all {
        paths.extend(scenario::all(models)?);
    }
    // One file reached by two spellings (a name and a path, `./x.toml`
    // and `x.toml`) is checked once.
    let mut seen = std::collections::HashSet::new();
    paths.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    let scenarios: Vec<Scenario> = paths
        .iter()
        .map(|p| scenario::load(p))
        .collect::<Result<_, _>>()?;
    for (i, s) in scenarios.iter().enumerate() {
        if let Some(other) = scenarios[..i]
            .iter()
            .find(|o| o.name == s.name && o.path != s.path)
        {
            return Err(InputError {
                file: s.path.display().to_string(),
                line: None,
                field: Some("name".into()),
                message: format!("`{}` is also the name of {}", s.name, other.path.display()),
            });
        }
    }
    Ok(scenarios)
}

fn progress_bar(label: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::hidden();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix}: {msg}").expect("static template"),
    );
    bar.set_prefix(label.to_string());
    Some(bar)
}

fn run_check(args: CheckArgs) -> ExitCode {
    let json = args.json;
    match check_all(args) {
        Ok(code) => code,
        Err(f) => f.report(json),
    }
}

fn check_all(args: CheckArgs) -> Result<ExitCode, Failure> {
    if args.scenarios.is_empty() && !args.all {
        return Err(Failure::Usage(
            "name at least one scenario, or pass --all".into(),
        ));
    }
    let timeout = match args.timeout {
        Some(t) => Some(
            Duration::try_from_secs_f64(t)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    Failure::Usage(format!(
                        "--timeout {t}: must be a positive number of seconds"
                    ))
                })?,
        ),
        None => None,
    };
    if args.max_states == Some(0) {
        return Err(Failure::Usage("--max-states 0: must be at least 1".into()));
    }
    let profile = match args.profile.as_str() {
        "quick" => scenario::Profile::Quick,
        "deep" => scenario::Profile::Deep,
        other => {
            return Err(Failure::Usage(format!(
                "--profile `{other}`: expected `quick` or `deep`"
            )));
        }
    };
    let scenarios: Vec<Scenario> = load_all(&args.scenarios, args.all, &args.models)?
        .iter()
        .map(|s| s.at(profile))
        .collect();
    if let Some(dir) = &args.write {
        results::check_writable(dir)
            .map_err(|e| Failure::Io(format!("--write {}: {e}", dir.display())))?;
        if let Some(stale) = results::interrupted_write(dir) {
            eprintln!("warning: {stale}");
        }
    }
    let limits = Limits {
        threads: args.threads as usize,
        timeout,
        max_states: args.max_states,
        symmetry: !args.no_symmetry,
        reduced: match args.search.as_deref() {
            Some(search) => search == "reduced",
            None => profile == scenario::Profile::Deep,
        },
    };
    let mut docs = Vec::new();
    let mut itf_docs = Vec::new();
    let mut pages = Vec::new();
    for s in &scenarios {
        let bar = progress_bar(&s.name);
        let mut announced = false;
        let outcome = check::check_scenario(s, limits, &mut |p| {
            if let Some(bar) = &bar {
                if let (Some(at), false) = (p.first_refuted_at, announced) {
                    announced = true;
                    bar.println(format!(
                        "{}: counterexample found after {:.2} s; exploring the whole space for the verdicts",
                        s.name,
                        at.as_secs_f64()
                    ));
                }
                if p.elapsed > Duration::from_secs(1) && bar.is_hidden() {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
                let rate = p.total_states as f64 / p.elapsed.as_secs_f64().max(1e-3);
                bar.set_message(format!(
                    "{} states ({} unique), {:.0} states/s",
                    p.total_states, p.unique_states, rate
                ));
                bar.tick();
            }
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let doc = document::document(s, &outcome);
        if !args.json {
            println!("{}", text::render(&doc, &args.explore_addr.to_string()));
        }
        if let Some(dir) = &args.write {
            pages.extend(results::scenario_pages(dir, s, &outcome, &doc));
        }
        if args.trace_format == TraceFormat::Itf {
            let model = model::build(s.config);
            for p in &outcome.properties {
                if let Some(t) = &p.trace {
                    let slug = p.name.replace(' ', "-");
                    let name = format!("{}.{slug}.itf.json", s.name);
                    itf_docs.push((name, itf::itf(&model, t, p.name)));
                }
            }
        }
        docs.push(doc);
    }
    if let Some(dir) = &args.write {
        if args.all {
            pages.push(results::matrix_page(dir, &docs));
        }
        results::write_set(dir, &pages)
            .map_err(|e| Failure::Io(format!("{}: cannot write results: {e}", dir.display())))?;
    }
    let itf_dir = args.write.clone().unwrap_or_else(|| PathBuf::from("."));
    for (name, value) in itf_docs {
        let path = itf_dir.join(&name);
        let text = serde_json::to_string_pretty(&value).expect("plain data") + "\n";
        results::write_atomically(&path, &text)
            .map_err(|e| Failure::Io(format!("{}: cannot write: {e}", path.display())))?;
        if !args.json {
            println!("wrote {}", path.display());
        }
    }
    let failing = |cut: bool| -> Vec<&str> {
        docs.iter()
            .filter(|d| {
                d.properties.iter().any(|p| {
                    let incomplete = p.verdict == Verdict::Incomplete;
                    !p.as_expected() && incomplete == cut
                })
            })
            .map(|d| d.scenario.as_str())
            .collect()
    };
    let (unexpected, cut_short) = (failing(false), failing(true));
    if !unexpected.is_empty() {
        eprintln!(
            "verdicts differ from the expected ones in: {}",
            unexpected.join(", ")
        );
    }
    if !cut_short.is_empty() {
        eprintln!(
            "run cut short (verdict incomplete) in: {}",
            cut_short.join(", ")
        );
    }
    let (code, meaning) = if !unexpected.is_empty() {
        (1, "a verdict differs from its expectation")
    } else if !cut_short.is_empty() {
        (3, "a run was cut short")
    } else {
        (0, "every verdict as expected")
    };
    if args.json {
        let out = serde_json::json!({
            "format": JSON_FORMAT,
            "onceproof_version": env!("CARGO_PKG_VERSION"),
            "scenarios": docs,
            "exit": { "code": code, "meaning": meaning },
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("plain data")
        );
    }
    Ok(ExitCode::from(code))
}

fn run_verify(paths: &[PathBuf], threads: u16) -> Result<ExitCode, Failure> {
    let mut all_verified = true;
    for path in paths {
        let shown = path.display().to_string();
        let as_input = |line: Option<usize>, field: Option<&str>, message: String| {
            Failure::Input(InputError {
                file: shown.clone(),
                line,
                field: field.map(String::from),
                message,
            })
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| as_input(None, None, format!("cannot read: {e}")))?;
        let recorded: document::Document = serde_json::from_str(&text)
            .map_err(|e| as_input(Some(e.line()), None, format!("not a results document: {e}")))?;
        let file = PathBuf::from(&recorded.file);
        if !file.is_file() {
            return Err(as_input(
                None,
                Some("file"),
                format!(
                    "the scenario `{}` is not there (run verify from the directory check ran in)",
                    recorded.file
                ),
            ));
        }
        let profile = match recorded.profile.as_str() {
            "deep" => scenario::Profile::Deep,
            _ => scenario::Profile::Quick,
        };
        let s = scenario::load(&file)?.at(profile);
        let timeout = match recorded.limits.timeout_s {
            Some(t) => Some(Duration::try_from_secs_f64(t).map_err(|_| {
                as_input(
                    None,
                    Some("limits.timeout_s"),
                    format!("{t} is not a number of seconds"),
                )
            })?),
            None => None,
        };
        let limits = Limits {
            threads: threads as usize,
            timeout,
            max_states: recorded.limits.max_states,
            symmetry: recorded.limits.symmetry,
            reduced: recorded.limits.reduced,
        };
        let bar = progress_bar(&s.name);
        let outcome = check::check_scenario(&s, limits, &mut |_| {
            if let Some(bar) = &bar {
                bar.tick();
            }
        });
        let fresh = document::document(&s, &outcome);
        let mut differences = onceproof::verify::differences(&recorded, &fresh);
        if differences.is_empty() {
            differences = onceproof::verify::other_fields(&recorded, &fresh);
            let page = path.with_extension("md");
            if let Ok(text) = std::fs::read_to_string(&page)
                && text
                    != onceproof::results::page(
                        page.parent().unwrap_or(Path::new(".")),
                        &s,
                        &outcome,
                        &fresh,
                    )
            {
                differences.push(format!(
                    "the page {} differs from what this run writes",
                    page.display()
                ));
            }
        }
        if differences.is_empty() {
            let verdicts: Vec<String> = fresh
                .properties
                .iter()
                .map(|p| format!("{} {}", p.name, p.verdict.name()))
                .collect();
            println!(
                "{shown}: verified: proof id {} again ({}; {} unique states, {})",
                fresh.proof_id,
                verdicts.join(", "),
                text::thousands(fresh.states.unique),
                if fresh.states.complete {
                    "complete"
                } else {
                    "cut short"
                }
            );
        } else {
            all_verified = false;
            println!(
                "{shown}: NOT verified: recorded proof id {}, this run {}",
                recorded.proof_id, fresh.proof_id
            );
            for d in differences {
                println!("  {d}");
            }
        }
    }
    Ok(ExitCode::from(if all_verified { 0 } else { 1 }))
}

fn run_risk(args: RiskArgs) -> Result<ExitCode, Failure> {
    use onceproof::risk::{self, chart, cutsets, rates};
    let s = scenario::load(&scenario::resolve(&args.scenario, &args.models))?;
    let rates = match &args.rates {
        Some(path) => Some(scenario::read_rates_file(path, &s.config)?),
        None => s.rates.clone(),
    };
    let sweep = match (&args.sweep, &rates) {
        (Some(text), Some(r)) => {
            let sw =
                rates::parse_sweep(text).map_err(|e| Failure::Usage(format!("--sweep {e}")))?;
            rates::check_sweep(&sw, r, &s.config)
                .map_err(|e| Failure::Usage(format!("--sweep: {e}")))?;
            Some(sw)
        }
        (Some(_), None) => {
            return Err(Failure::Usage(
                "--sweep needs rates: a `[rates]` table in the scenario, or --rates FILE".into(),
            ));
        }
        (None, Some(r)) => r.sweep.clone(),
        (None, None) => None,
    };
    if let Some(dir) = &args.write {
        results::check_writable(dir)
            .map_err(|e| Failure::Io(format!("--write {}: {e}", dir.display())))?;
    }
    let kinds = cutsets::fault_kinds(&s.config);
    if kinds.len() > cutsets::MAX_KINDS {
        return Err(Failure::Usage(format!(
            "{}: {} fault kinds have a budget; cut sets take 2^n runs, so at most {}",
            s.name,
            kinds.len(),
            cutsets::MAX_KINDS
        )));
    }
    let cuts = cutsets::cut_sets(&s.config);
    let priced = rates.as_ref().map(|r| risk::price(&cuts, r));
    let rows = match (&sweep, &rates) {
        (Some(sw), Some(r)) => Some(chart::sweep(&cuts, r, sw)),
        _ => None,
    };
    let closed: Vec<usize> = cuts
        .properties
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.first.is_empty()
                && p.second.is_empty()
                && s.expected(p.property) != Some(check::Verdict::Counterexample)
        })
        .map(|(i, _)| i)
        .collect();
    let openings = risk::openings::openings(&s.config, &closed);
    let report = risk::report::Report::new(
        &s,
        &cuts,
        rates.as_ref(),
        priced,
        sweep.clone(),
        rows,
        openings,
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("plain data")
        );
    } else {
        print!("{}", risk::report::text(&report));
    }
    // The chart is a file: written when asked for (--write, or a --sweep
    // of one's own), never into the working directory unasked.
    let draw = args.write.is_some() || args.sweep.is_some();
    if let (Some(sw), Some(rows), true) = (&sweep, &report.sweep_rows, draw) {
        let dir = args.write.clone().unwrap_or_else(|| PathBuf::from("."));
        let path = dir.join(format!("{}.risk.svg", s.name));
        let svg = chart::svg(&report.chart_title(), sw, &report.charted(), rows);
        results::write_atomically(&path, &svg)
            .map_err(|e| Failure::Io(format!("{}: cannot write: {e}", path.display())))?;
        if !args.json {
            println!("wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_list(models: &Path) -> ExitCode {
    let scenarios = match load_all(&[], true, models) {
        Ok(s) => s,
        Err(e) => return Failure::from(e).report(false),
    };
    for s in scenarios {
        let expect: Vec<String> = s
            .expect
            .iter()
            .map(|(p, v)| format!("{p}: {}", v.name()))
            .collect();
        println!("{:<34} {}", s.name, s.summary);
        if expect.is_empty() {
            println!("{:<34} expects nothing (exploratory)", "");
        } else {
            println!("{:<34} expects {}", "", expect.join(", "));
        }
    }
    ExitCode::SUCCESS
}

fn run_explore(arg: &str, addr: SocketAddr, models: &Path) -> ExitCode {
    let s = match scenario::load(&scenario::resolve(arg, models)) {
        Ok(s) => s,
        Err(e) => return Failure::from(e).report(false),
    };
    // Every interface: say so, and link to loopback, which a browser on
    // this machine can open (http://0.0.0.0/ is not an address to visit).
    let announce = |at: &SocketAddr| {
        let mut link = *at;
        if at.ip().is_unspecified() {
            eprintln!(
                "warning: serving on every interface ({at}): anyone who can reach this machine can open the Explorer"
            );
            link.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        println!("Explorer for {} at http://{link}/", s.name)
    };
    match explore::serve(model::build(s.config), &s.name, addr, announce) {
        Ok(never) => match never {},
        Err(e) => Failure::Io(e.to_string()).report(false),
    }
}
