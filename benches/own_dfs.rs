//! An own depth-first loop over the checker's model, against stateright's
//! `spawn_dfs` (issue 11: "if a stateright limitation blocks the target,
//! say which and measure what a workaround buys"):
//! `cargo bench --bench own_dfs`.
//!
//! The proof run (`check::explore`) is stateright 0.31's DFS over
//! [`Explorable`] with the consumer symmetry reduction. Per new state that
//! DFS builds the representative (a whole clone even when the state is
//! already canonical), fingerprints the representative *and* the state
//! (the second fingerprint is thrown away), inserts into a `DashSet`, and
//! carries the path's action indices with every pending state. The loop
//! here does the same work otherwise: the same initial states, the
//! Explorer's actions (only steps within the fault budgets), `next_state`
//! skipping `None` and states outside the boundary, every property and
//! witness evaluated at every visited state (a state where every
//! `always` fails and every `sometimes` holds is not expanded, as in
//! stateright), the same LIFO order, the same ahash fingerprint; but one
//! fingerprint per state, a fingerprint-only set, and no paths (the
//! project's counterexample traces come from `src/search.rs`).
//!
//! Variants, each run in its own process (so each has its own peak RSS)
//! and alternated round by round:
//!
//! - `check-1`, `check-2`: `onceproof::check::check` as shipped, 1 and 2
//!   DFS threads (plus its capped early counterexample search);
//! - `stateright-1`: stateright's DFS alone, exactly as `check::explore`
//!   builds it, 1 thread (no early search);
//! - `own-2fp`: the own loop with stateright's per-state hashing (both
//!   fingerprints) and `representative`'s clone;
//! - `own`: one fingerprint, `representative` as is;
//! - `own-noclone`: a canonical state is fingerprinted in place
//!   (`symmetry::renamed_if_needed` says whether it is, and renames it
//!   otherwise);
//! - `own-compact`: `own-noclone` with an open-addressing `u64` table;
//! - `own-noclone-2`: `own-noclone` on 2 threads (sharded set, work shared
//!   on demand).
//!
//! Before measuring, the loop is checked against `check::check` on seven
//! scenarios at the small bounds of tests/counts.rs and on the four modes
//! at their shipped bounds: the same unique and total state counts, the
//! same properties refuted and witnesses reached, and `canonical_fingerprint`
//! equal to the fingerprint of `representative` at every state.
//!
//! Each run prints wall-clock unique states/s and µs per state, CPU µs per
//! state (user + system, all threads: steadier than wall time when another
//! job shares the machine, but for 2 threads it is work, not speed) and
//! peak RSS; the summary gives medians and, for each variant, the median of
//! its per-round ratios to `stateright-1`.
//!
//! Environment: `ONCEPROOF_ROUNDS` (default 3), `ONCEPROOF_VARIANTS`
//! (comma-separated, default all), `ONCEPROOF_SKIP_VERIFY=1`.

use onceproof::check::{self, Limits, Verdict};
use onceproof::explorable::Explorable;
use onceproof::model::{self, State, symmetry};
use onceproof::pipeline::Config;
use onceproof::scenario;
use stateright::{Checker, Expectation, HasDiscoveries, Model as _, Property};
use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const VARIANTS: [&str; 8] = [
    "check-1",
    "check-2",
    "stateright-1",
    "own-2fp",
    "own",
    "own-noclone",
    "own-compact",
    "own-noclone-2",
];

/// The scenario measured: the proof with the most states.
const MEASURED: &str = "models/idempotency.toml";

/// The four modes' scenarios and three more, for the correctness check.
const VERIFIED: [&str; 7] = [
    "models/at-most-once.toml",
    "models/at-least-once.toml",
    "models/atomic-boundary.toml",
    "models/idempotency.toml",
    "models/sqs-standard-idempotency.toml",
    "models/kafka-idempotency.toml",
    "models/rabbitmq-idempotency.toml",
];

// ---------------------------------------------------------------- hashing

/// stateright 0.31's `fingerprint` (private to it): ahash with its fixed
/// seeds, hashed as stateright hashes (not through `hash_one`, which
/// ahash may specialise).
#[allow(clippy::manual_hash_one)]
fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut h =
        ahash::RandomState::with_seeds(123_456_789_987_654_321, 98_765_432_123_456_789, 0, 0)
            .build_hasher();
    value.hash(&mut h);
    h.finish()
}

/// Fingerprints are already uniform: the set uses them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 fingerprints are hashed")
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type FingerprintSet = HashSet<u64, BuildHasherDefault<Identity>>;

/// Open addressing, linear probing, 0 for an empty slot (stateright's
/// fingerprints are never 0), at most half full.
struct CompactSet {
    slots: Vec<u64>,
    len: usize,
}

impl CompactSet {
    fn new() -> CompactSet {
        CompactSet {
            slots: vec![0; 1 << 16],
            len: 0,
        }
    }

    /// True if `fp` was not in the set.
    fn insert(&mut self, fp: u64) -> bool {
        assert_ne!(fp, 0, "a zero fingerprint");
        if 2 * (self.len + 1) > self.slots.len() {
            let doubled = vec![0; 2 * self.slots.len()];
            let old = std::mem::replace(&mut self.slots, doubled);
            for fp in old.into_iter().filter(|&f| f != 0) {
                self.place(fp);
            }
        }
        let fresh = self.place(fp);
        self.len += fresh as usize;
        fresh
    }

    fn place(&mut self, fp: u64) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = fp as usize & mask;
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = fp;
                    return true;
                }
                f if f == fp => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }
}

trait Visited {
    fn insert(&mut self, fp: u64) -> bool;
    fn len(&self) -> usize;
}

impl Visited for FingerprintSet {
    fn insert(&mut self, fp: u64) -> bool {
        HashSet::insert(self, fp)
    }
    fn len(&self) -> usize {
        HashSet::len(self)
    }
}

impl Visited for CompactSet {
    fn insert(&mut self, fp: u64) -> bool {
        CompactSet::insert(self, fp)
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// The set the 2-thread loop shares: shards by the fingerprint's top bits.
struct ShardedSet {
    shards: Vec<Mutex<FingerprintSet>>,
}

impl ShardedSet {
    const BITS: u32 = 6;

    fn new() -> ShardedSet {
        ShardedSet {
            shards: (0..1 << Self::BITS).map(|_| Mutex::default()).collect(),
        }
    }

    fn insert(&self, fp: u64) -> bool {
        self.shards[(fp >> (64 - Self::BITS)) as usize]
            .lock()
            .unwrap()
            .insert(fp)
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap().len()).sum()
    }
}

// ------------------------------------------------------ symmetry reduction

/// How a new state's orbit is named.
#[derive(Clone, Copy, PartialEq)]
enum Canon {
    /// As stateright: the fingerprint of `representative` and, thrown
    /// away, that of the state.
    TwoFingerprints,
    /// The fingerprint of `representative` (a clone when canonical).
    Representative,
    /// The state's own fingerprint when canonical, else the renamed one's.
    NoClone,
}

/// The orbit's fingerprint as each variant computes it; `verify` checks it
/// against stateright's (the representative's) at every state.
fn orbit_fingerprint(s: &State, canon: Canon, verify: bool) -> u64 {
    let fp = match canon {
        Canon::TwoFingerprints => {
            let fp = fingerprint(&symmetry::representative(s));
            std::hint::black_box(fingerprint(s));
            fp
        }
        Canon::Representative => fingerprint(&symmetry::representative(s)),
        Canon::NoClone => match symmetry::renamed_if_needed(s) {
            None => fingerprint(s),
            Some(r) => fingerprint(&r),
        },
    };
    if verify {
        assert_eq!(fp, fingerprint(&symmetry::representative(s)));
    }
    fp
}

// ------------------------------------------------------------- the loop

/// What a run found.
#[derive(Debug, PartialEq)]
struct Found {
    unique: usize,
    total: usize,
    refuted: BTreeSet<&'static str>,
    reached: BTreeSet<&'static str>,
}

/// The properties' outcomes at one state, accumulated: true at index `i`
/// when property `i` has its discovery (an `always` violated, a
/// `sometimes` met). Returns whether stateright would expand the state
/// (some discovery is still awaited at it).
fn evaluate(ex: &Explorable, props: &[Property<Explorable>], s: &State, hit: &mut [bool]) -> bool {
    let mut awaiting = false;
    for (i, p) in props.iter().enumerate() {
        let holds = (p.condition)(ex, s);
        let discovered = match p.expectation {
            Expectation::Always => !holds,
            Expectation::Sometimes => holds,
            Expectation::Eventually => unimplemented!("the model has no eventually property"),
        };
        hit[i] |= discovered;
        awaiting |= !discovered;
    }
    awaiting
}

fn found(props: &[Property<Explorable>], hit: &[bool], unique: usize, total: usize) -> Found {
    let pick = |e: Expectation| {
        props
            .iter()
            .zip(hit)
            .filter(|(p, h)| **h && p.expectation == e)
            .map(|(p, _)| p.name)
            .collect()
    };
    Found {
        unique,
        total,
        refuted: pick(Expectation::Always),
        reached: pick(Expectation::Sometimes),
    }
}

/// The initial states within the boundary, their orbits marked seen.
fn initial(ex: &Explorable, canon: Canon, mut seen: impl FnMut(u64) -> bool) -> Vec<State> {
    let init: Vec<State> = ex
        .init_states()
        .into_iter()
        .filter(|s| ex.within_boundary(s))
        .collect();
    for s in &init {
        seen(orbit_fingerprint(s, canon, false));
    }
    init
}

/// Expands one state: pushes each unseen successor within the boundary;
/// returns how many successors were generated.
fn expand(
    ex: &Explorable,
    s: &State,
    canon: Canon,
    verify: bool,
    actions: &mut Vec<model::Action>,
    stack: &mut Vec<State>,
    mut seen: impl FnMut(u64) -> bool,
) -> usize {
    let mut generated = 0;
    ex.actions(s, actions);
    for a in actions.drain(..) {
        let Some(next) = ex.next_state(s, a) else {
            continue;
        };
        if !ex.within_boundary(&next) {
            continue;
        }
        generated += 1;
        if seen(orbit_fingerprint(&next, canon, verify)) {
            // Successors continue from the state itself, not its
            // representative, as in stateright.
            stack.push(next);
        }
    }
    generated
}

fn own_dfs(ex: &Explorable, canon: Canon, mut set: impl Visited, verify: bool) -> Found {
    let props = ex.properties();
    let mut hit = vec![false; props.len()];
    let mut stack = initial(ex, canon, |fp| set.insert(fp));
    let mut total = stack.len();
    let mut actions = Vec::new();
    while let Some(s) = stack.pop() {
        if !evaluate(ex, &props, &s, &mut hit) {
            continue;
        }
        total += expand(ex, &s, canon, verify, &mut actions, &mut stack, |fp| {
            set.insert(fp)
        });
    }
    found(&props, &hit, set.len(), total)
}

/// The work the threads share: stacks given up by a busy thread.
struct Pool {
    jobs: Vec<Vec<State>>,
    idle: usize,
    done: bool,
}

/// The own loop on `threads` threads: each runs its own stack and, when
/// another is idle, hands over the bottom half of it.
fn own_dfs_threads(ex: &Explorable, canon: Canon, threads: usize) -> Found {
    let props = ex.properties();
    let seen = ShardedSet::new();
    let init = initial(ex, canon, |fp| seen.insert(fp));
    let total = AtomicUsize::new(init.len());
    let hungry = AtomicUsize::new(0);
    let pool = Mutex::new(Pool {
        jobs: vec![init],
        idle: 0,
        done: false,
    });
    let wake = Condvar::new();
    let hits: Vec<Vec<bool>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut hit = vec![false; props.len()];
                    let mut stack: Vec<State> = Vec::new();
                    let mut actions = Vec::new();
                    let mut generated = 0;
                    loop {
                        if stack.is_empty() {
                            let mut p = pool.lock().unwrap();
                            p.idle += 1;
                            hungry.fetch_add(1, Ordering::Relaxed);
                            loop {
                                if let Some(job) = p.jobs.pop() {
                                    p.idle -= 1;
                                    hungry.fetch_sub(1, Ordering::Relaxed);
                                    stack = job;
                                    break;
                                }
                                if p.done || p.idle == threads {
                                    p.done = true;
                                    wake.notify_all();
                                    total.fetch_add(generated, Ordering::Relaxed);
                                    return hit;
                                }
                                p = wake.wait(p).unwrap();
                            }
                        }
                        for _ in 0..256 {
                            let Some(s) = stack.pop() else { break };
                            if evaluate(ex, &props, &s, &mut hit) {
                                generated +=
                                    expand(ex, &s, canon, false, &mut actions, &mut stack, |fp| {
                                        seen.insert(fp)
                                    });
                            }
                        }
                        if hungry.load(Ordering::Relaxed) > 0 && stack.len() > 1 {
                            let rest = stack.split_off(stack.len() / 2);
                            let given = std::mem::replace(&mut stack, rest);
                            pool.lock().unwrap().jobs.push(given);
                            wake.notify_one();
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let hit: Vec<bool> = (0..props.len())
        .map(|i| hits.iter().any(|h| h[i]))
        .collect();
    found(&props, &hit, seen.len(), total.into_inner())
}

// ------------------------------------------------------- the references

fn checker_found(cfg: Config, threads: usize) -> Found {
    let o = check::check(
        cfg,
        Limits {
            threads,
            ..Limits::default()
        },
        &mut |_| {},
    );
    assert!(o.complete);
    Found {
        unique: o.unique_states,
        total: o.total_states,
        refuted: o
            .properties
            .iter()
            .filter(|p| p.verdict == Verdict::Counterexample)
            .map(|p| p.name)
            .collect(),
        reached: o
            .witnesses
            .iter()
            .filter(|(_, r)| *r)
            .map(|(w, _)| *w)
            .collect(),
    }
}

/// stateright's DFS as `check::explore` builds it, alone.
fn stateright_dfs(ex: &Explorable, threads: usize) -> (usize, usize) {
    let c = ex
        .clone()
        .checker()
        .finish_when(HasDiscoveries::AnyOf(BTreeSet::new()))
        .symmetry_fn(symmetry::representative)
        .threads(threads)
        .spawn_dfs()
        .join();
    (c.unique_state_count(), c.state_count())
}

// ------------------------------------------------------------- driving

/// tests/counts.rs's small bounds.
fn small(mut cfg: Config, consumers: u8) -> Config {
    cfg.bounds.operations = cfg.bounds.operations.min(1);
    cfg.bounds.consumers = consumers;
    if consumers > 2 {
        cfg.bounds.producer_crashes = 0;
        cfg.bounds.reply_losses = 0;
    }
    cfg
}

fn load(path: &str) -> scenario::Scenario {
    scenario::load(Path::new(path)).expect("a shipped scenario")
}

fn verify() {
    println!("correctness: the own loop against check::check (2 threads)");
    let mut runs: Vec<(String, Config)> = Vec::new();
    for path in VERIFIED {
        let s = load(path);
        for consumers in [2, 3] {
            runs.push((
                format!("{} small/{consumers}", s.name),
                small(s.config, consumers),
            ));
        }
    }
    for path in &VERIFIED[..4] {
        let s = load(path);
        runs.push((format!("{} shipped", s.name), s.config));
    }
    for (name, cfg) in runs {
        let reference = checker_found(cfg, 2);
        let ex = Explorable::new(model::build(cfg));
        // The fingerprint shortcut is compared with `representative` at
        // every new state of the small runs.
        let checked = name.contains("small");
        let own = own_dfs(&ex, Canon::NoClone, FingerprintSet::default(), checked);
        let compact = own_dfs(&ex, Canon::NoClone, CompactSet::new(), false);
        let two = own_dfs_threads(&ex, Canon::NoClone, 2);
        let ok = own == reference && compact == reference && two == reference;
        println!(
            "  {name:<40} unique {:>9} total {:>10} refuted {} reached {}/{}  {}",
            own.unique,
            own.total,
            own.refuted.len(),
            own.reached.len(),
            ex.properties().len() - 2,
            if ok { "same" } else { "DIFFERENT" }
        );
        assert!(
            ok,
            "{name}: checker {reference:?}\nown {own:?}\ncompact {compact:?}\n2 threads {two:?}"
        );
    }
}

/// Runs one variant on the measured scenario in this process; prints
/// `unique <n> secs <s> rss_kb <k>`.
fn run_variant(variant: &str) {
    let cfg = load(MEASURED).config;
    let ex = Explorable::new(model::build(cfg));
    let start = Instant::now();
    let unique = match variant {
        "check-1" => checker_found(cfg, 1).unique,
        "check-2" => checker_found(cfg, 2).unique,
        "stateright-1" => stateright_dfs(&ex, 1).0,
        "own-2fp" => {
            own_dfs(
                &ex,
                Canon::TwoFingerprints,
                FingerprintSet::default(),
                false,
            )
            .unique
        }
        "own" => own_dfs(&ex, Canon::Representative, FingerprintSet::default(), false).unique,
        "own-noclone" => own_dfs(&ex, Canon::NoClone, FingerprintSet::default(), false).unique,
        "own-compact" => own_dfs(&ex, Canon::NoClone, CompactSet::new(), false).unique,
        "own-noclone-2" => own_dfs_threads(&ex, Canon::NoClone, 2).unique,
        other => panic!("unknown variant {other}"),
    };
    let secs = start.elapsed().as_secs_f64();
    let (cpu, rss_kb) = usage();
    println!("unique {unique} secs {secs} cpu {cpu} rss_kb {rss_kb}");
}

/// This process's CPU seconds (user and system, all threads) and peak RSS
/// in kB. The peak is `VmHWM`, not `getrusage`'s `ru_maxrss`, which Linux
/// carries over from the parent's address space at the fork.
fn usage() -> (f64, u64) {
    // SAFETY: getrusage writes into the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    (secs(u.ru_utime) + secs(u.ru_stime), hwm)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--variant") {
        run_variant(&args[at + 1]);
        return;
    }
    let rounds: usize = std::env::var("ONCEPROOF_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let variants: Vec<String> = std::env::var("ONCEPROOF_VARIANTS").map_or_else(
        |_| VARIANTS.iter().map(|v| v.to_string()).collect(),
        |v| v.split(',').map(str::to_string).collect(),
    );
    if std::env::var_os("ONCEPROOF_SKIP_VERIFY").is_none() {
        verify();
    }
    let exe = std::env::current_exe().expect("this bench's binary");
    // Per variant and round: unique/s (wall), CPU µs per state, peak MB.
    let mut rate: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut rss: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    println!(
        "\n{MEASURED}\n{:<20} {:>9} {:>7} {:>10} {:>9} {:>10} {:>8}",
        "run", "unique", "secs", "unique/s", "us/state", "cpu us/st", "peak MB"
    );
    for round in 1..=rounds {
        for (i, v) in variants.iter().enumerate() {
            let out = Command::new(&exe)
                .args(["--variant", v])
                .output()
                .expect("run a variant");
            let text = String::from_utf8_lossy(&out.stdout);
            let words: Vec<&str> = text.split_whitespace().collect();
            let ["unique", n, "secs", s, "cpu", c, "rss_kb", k] = words.as_slice() else {
                panic!(
                    "{v}: unexpected output {text} {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            let num = |w: &str| w.parse::<f64>().unwrap();
            let (n, s, c, mb) = (num(n), num(s), num(c), num(k) / 1024.0);
            rate[i].push(n / s);
            cpu[i].push(1e6 * c / n);
            rss[i].push(mb);
            println!(
                "{:<20} {n:>9} {s:>7.2} {:>10.0} {:>9.2} {:>10.2} {mb:>8.0}",
                format!("{v} (#{round})"),
                n / s,
                1e6 * s / n,
                1e6 * c / n,
            );
        }
    }
    // Ratios to stateright's DFS are taken round by round (the two ran
    // seconds apart), then the median.
    let base = variants.iter().position(|v| v == "stateright-1");
    let ratio = |i: usize, of: &[Vec<f64>], faster_when_higher: bool| {
        base.map_or("-".to_string(), |b| {
            let r: Vec<f64> = (0..rounds)
                .map(|k| {
                    if faster_when_higher {
                        of[i][k] / of[b][k]
                    } else {
                        of[b][k] / of[i][k]
                    }
                })
                .collect();
            format!("{:.2}x", median(r))
        })
    };
    println!(
        "\nmedians of {rounds} rounds (ratios: median of the per-round ratios to stateright-1)\n\
         {:<16} {:>10} {:>9} {:>10} {:>8} {:>11} {:>11}",
        "variant", "unique/s", "us/state", "cpu us/st", "peak MB", "wall ratio", "cpu ratio"
    );
    for (i, v) in variants.iter().enumerate() {
        let r = median(rate[i].clone());
        println!(
            "{v:<16} {r:>10.0} {:>9.2} {:>10.2} {:>8.0} {:>11} {:>11}",
            1e6 / r,
            median(cpu[i].clone()),
            median(rss[i].clone()),
            ratio(i, &rate, true),
            ratio(i, &cpu, false),
        );
    }
}
