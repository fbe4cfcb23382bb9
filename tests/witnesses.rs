//! Witnesses that can fail. A witness that is always "reached" lets a proof
//! whose fault never happened read as `proved` instead of `vacuous`, so each
//! witness gets two tests:
//!
//! - **reached**: a small configuration where it must be reached, on a
//!   cheapest path that contains the fault it stands for, at a known depth;
//! - **vacuous**: a configuration where its fault cannot happen but the
//!   witness is demanded all the same: the verdict must be `vacuous`.
//!
//! And guards that catch whole classes: no witness holds initially; "at
//! rest with every operation applied" is false while a message is on its
//! way; each fault counts as a fault (never as progress) in the resting test.

mod common;
use common::reachable;
use onceproof::check::{self, Limits, Verdict};
use onceproof::model::faults::{self, Fault};
use onceproof::model::msg::Timer;
use onceproof::model::properties::{self, APPLIED_ONCE, Check, NO_LOSS};
use onceproof::model::{self, BROKER, Model, PRODUCER, State, consumer_id, witnesses};
use onceproof::pipeline::{Bounds, Config, GiveUp, Mode, Pipeline, StaleCompletion};
use onceproof::scenario;
use onceproof::search::{self, Ceilings, Found, Ranking};
use stateright::Model as _;
use stateright::actor::{ActorModelAction, Id};
use std::collections::HashSet;
use std::path::Path;

fn bounds(consumers: u8, crashes: u8, losses: u8, retries: u8, lease_expiries: u8) -> Bounds {
    Bounds {
        operations: 1,
        consumers,
        retries,
        crashes,
        losses,
        lease_expiries,
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
    }
}

fn config(mode: Mode, b: Bounds) -> Config {
    Config {
        pipeline: Pipeline::of(mode),
        bounds: b,
    }
}

/// The witness of this configuration's vocabulary whose name starts so,
/// whether or not the budgets make it apply.
fn witness(cfg: &Config, name: &str) -> Check {
    let all: Vec<Check> = witnesses::catalogue(cfg)
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    let exact = all.iter().position(|w| w.name == name);
    let prefix = all.iter().position(|w| w.name.starts_with(name));
    let at = exact
        .or(prefix)
        .unwrap_or_else(|| panic!("no witness named {name}"));
    all[at].clone()
}

/// A cheapest path to a state where the witness holds, and its faults.
type Steps = Vec<(State, Option<model::Action>)>;

fn reach(cfg: Config, name: &str) -> (usize, Vec<Fault>, Steps) {
    let w = witness(&cfg, name);
    let m = model::build(cfg);
    let condition = move |m: &Model, s: &State| !(w.condition)(m, s);
    match search::cheapest_violation(&m, &condition, Ranking::FewestFaults, Ceilings::default()) {
        Found::Path(p, _) => {
            let steps = p.into_vec();
            (steps.len() - 1, search::faults_on(&steps), steps)
        }
        _ => panic!("witness {name} must be reachable under {:?}", cfg.bounds),
    }
}

fn assert_reached_through(cfg: Config, name: &str, fault: Fault, depth: usize) {
    let (len, faults, _) = reach(cfg, name);
    assert!(
        faults.contains(&fault),
        "{name}: the path must contain a {fault:?}, has {faults:?}"
    );
    assert_eq!(len, depth, "{name}: reached after {len} steps");
    // And the main run reports it reached.
    let o = check::check(cfg, Limits::default(), &mut |_| {});
    assert!(
        o.witnesses.iter().any(|(w, r)| w.starts_with(name) && *r),
        "{name} must be reported reached: {:?}",
        o.witnesses
    );
}

/// Demands only `name` in a configuration whose faults cannot produce it:
/// the property that holds must come out `vacuous`, never `proved`.
fn assert_vacuous(cfg: Config, name: &str, property: &str) {
    let o = check::check_demanding(
        cfg,
        vec![witness(&cfg, name)],
        Limits::default(),
        &mut |_| {},
    );
    assert!(o.complete);
    assert_eq!(o.witnesses.len(), 1);
    assert!(
        !o.witnesses[0].1,
        "{name} must not be reached under {:?}",
        cfg.bounds
    );
    assert_eq!(o.verdict(property), Some(Verdict::Vacuous), "{name}");
}

fn accepting(p: &mut Pipeline) {
    p.stale_completion = StaleCompletion::Accepted;
}

fn as_is(_: &mut Pipeline) {}

/// (mode, pipeline tweak, witness, reached under, through, at depth,
/// vacuous under, for property).
type Case = (
    Mode,
    fn(&mut Pipeline),
    &'static str,
    Bounds,
    Fault,
    usize,
    Bounds,
    &'static str,
);

/// Each witness, where it must be reached (through which fault, at which
/// depth) and where its fault cannot happen (the verdict must be vacuous).
#[test]
fn each_witness_is_reached_through_its_fault_and_vacuous_without_it() {
    let table: [Case; 9] = [
        // Effect first: the crash falls after the ledger transaction.
        (
            Mode::Idempotency,
            as_is,
            "crash between",
            bounds(1, 1, 0, 0, 0),
            Fault::Crash,
            5,
            bounds(1, 0, 0, 0, 1),
            APPLIED_ONCE,
        ),
        // Completion first: after completion, before the effect.
        (
            Mode::AtMostOnce,
            as_is,
            "crash between completion and effect",
            bounds(1, 1, 0, 0, 0),
            Fault::Crash,
            5,
            bounds(1, 0, 0, 0, 1),
            NO_LOSS,
        ),
        (
            Mode::Idempotency,
            as_is,
            "redelivery",
            bounds(2, 0, 0, 0, 1),
            Fault::LeaseExpiry,
            6,
            bounds(2, 0, 1, 1, 0),
            APPLIED_ONCE,
        ),
        (
            Mode::Idempotency,
            as_is,
            "lease expired: two consumers hold one message",
            bounds(2, 0, 0, 0, 1),
            Fault::LeaseExpiry,
            5,
            bounds(2, 1, 0, 0, 0),
            APPLIED_ONCE,
        ),
        (
            Mode::Idempotency,
            as_is,
            "lease expired while its only consumer still works on the message",
            bounds(1, 0, 0, 0, 1),
            Fault::LeaseExpiry,
            4,
            bounds(1, 1, 0, 0, 0),
            APPLIED_ONCE,
        ),
        (
            Mode::AtLeastOnce,
            accepting,
            "stale completion",
            bounds(2, 0, 0, 0, 1),
            Fault::LeaseExpiry,
            7,
            bounds(2, 0, 0, 0, 0),
            APPLIED_ONCE,
        ),
        (
            Mode::AtMostOnce,
            as_is,
            "lost publish or ack",
            bounds(1, 0, 1, 0, 0),
            Fault::Loss,
            1,
            bounds(1, 1, 0, 0, 0),
            APPLIED_ONCE,
        ),
        // A retry after a real loss needs no retry budget.
        (
            Mode::Idempotency,
            as_is,
            "lost publish or ack recovered",
            bounds(1, 0, 1, 0, 0),
            Fault::Loss,
            4,
            bounds(1, 0, 0, 1, 0),
            APPLIED_ONCE,
        ),
        // Losses 0, retries 1: only a spurious retry repeats a publish.
        (
            Mode::Idempotency,
            as_is,
            "retried publish",
            bounds(1, 0, 0, 1, 0),
            Fault::SpuriousRetry,
            3,
            bounds(1, 1, 0, 0, 0),
            APPLIED_ONCE,
        ),
    ];
    for (mode, tweak, name, on, fault, depth, off, property) in table {
        let (mut reached, mut vacuous) = (config(mode, on), config(mode, off));
        tweak(&mut reached.pipeline);
        tweak(&mut vacuous.pipeline);
        assert_reached_through(reached, name, fault, depth);
        assert_vacuous(vacuous, name, property);
    }
    // A redelivery is also reached through a crash, later.
    let by_crash = config(Mode::Idempotency, bounds(1, 1, 0, 0, 0));
    assert_reached_through(by_crash, "redelivery", Fault::Crash, 9);
}

#[test]
fn one_consumer_proves_with_its_own_lease_witness() {
    // One consumer cannot be two holders, so the overlap witness is
    // dropped; its own lease lapsing under it stands in and is reached.
    let one = check::check(
        config(Mode::Idempotency, bounds(1, 0, 0, 0, 1)),
        Limits::default(),
        &mut |_| {},
    );
    assert_eq!(one.verdict(APPLIED_ONCE), Some(Verdict::Proved));
    assert_eq!(one.verdict(NO_LOSS), Some(Verdict::Proved));
    assert!(
        !one.witnesses
            .iter()
            .any(|(w, _)| w.contains("two consumers"))
    );
    assert!(one.witnesses.iter().any(
        |(w, r)| *r && *w == "lease expired while its only consumer still works on the message"
    ));
    // The same bounds with two consumers still demand the overlap.
    let two = check::check(
        config(Mode::Idempotency, bounds(2, 0, 0, 0, 1)),
        Limits::default(),
        &mut |_| {},
    );
    assert!(
        two.witnesses
            .iter()
            .any(|(w, r)| *r && *w == "lease expired: two consumers hold one message")
    );
    assert!(
        !two.witnesses
            .iter()
            .any(|(w, _)| w.contains("only consumer"))
    );
    // Negative control: without the ledger the one consumer's own
    // redelivery applies twice.
    let control = check::check(
        config(Mode::AtLeastOnce, bounds(1, 0, 0, 0, 1)),
        Limits::default(),
        &mut |_| {},
    );
    assert_eq!(control.verdict(APPLIED_ONCE), Some(Verdict::Counterexample));
}

#[test]
fn a_spurious_retry_alone_is_absorbed_by_the_ledger() {
    let cfg = config(Mode::Idempotency, bounds(1, 0, 0, 1, 0));
    let o = check::check(cfg, Limits::default(), &mut |_| {});
    assert_eq!(o.verdict(APPLIED_ONCE), Some(Verdict::Proved));
    assert_eq!(o.verdict(NO_LOSS), Some(Verdict::Proved));
}

#[test]
fn giving_up_needs_an_exhausted_policy() {
    let mut cfg = config(Mode::Idempotency, bounds(1, 0, 1, 0, 0));
    cfg.pipeline.max_attempts = Some(2);
    let (_, _, path) = reach(cfg, "producer gave up");
    let retries = path
        .iter()
        .filter(|(_, a)| matches!(a, Some(ActorModelAction::Timeout(_, Timer::Retry(_)))))
        .count();
    assert_eq!(retries, 2, "one re-publish, then the give-up");
    // No loss and no retry budget: the second attempt never happens.
    let mut never = config(Mode::Idempotency, bounds(1, 1, 0, 0, 0));
    never.pipeline.max_attempts = Some(2);
    assert_vacuous(never, "producer gave up", APPLIED_ONCE);
}

#[test]
fn every_operation_applied_at_rest_is_reached() {
    let cfg = config(Mode::Idempotency, bounds(1, 0, 0, 0, 0));
    let (len, faults, _) = reach(cfg, "at rest with every operation applied");
    // Publish, confirm, lease, deliver, apply, reply, complete: no fault.
    assert_eq!((len, faults.len()), (7, 0));
}

fn shipped() -> Vec<Config> {
    scenario::all(Path::new("models"))
        .expect("models/")
        .iter()
        .map(|p| scenario::load(p).expect("valid").config)
        .collect()
}

#[test]
fn no_witness_holds_in_an_initial_state() {
    for cfg in shipped() {
        let m = model::build(cfg);
        for s in m.init_states() {
            for (_, w) in witnesses::catalogue(&cfg) {
                assert!(!(w.condition)(&m, &s), "{} holds initially", w.name);
            }
        }
    }
}

#[test]
fn resting_is_never_claimed_while_a_message_is_on_its_way() {
    let mut giving_up = config(Mode::AtLeastOnce, bounds(1, 1, 1, 1, 1));
    giving_up.pipeline.max_attempts = Some(2);
    let configs = Mode::ALL.into_iter().flat_map(|mode| {
        [
            config(mode, bounds(2, 1, 1, 0, 1)),
            config(mode, bounds(1, 1, 1, 1, 1)),
        ]
    });
    // A restarted producer, and a consumer whose store reply is lost and
    // which retries on timeout: their own steps are progress, not faults.
    let mut relay = config(Mode::Idempotency, bounds(1, 1, 1, 1, 1));
    relay.bounds.producer_crashes = 1;
    relay.pipeline.publish = onceproof::pipeline::Publish::Outbox;
    let mut replies = config(Mode::AtLeastOnce, bounds(1, 1, 1, 1, 1));
    replies.bounds.reply_losses = 1;
    replies.pipeline.retry_effect_on_timeout = true;
    let mut waits = replies;
    waits.pipeline.retry_effect_on_timeout = false;
    for cfg in configs.chain([giving_up, relay, replies, waits]) {
        let mode = cfg.pipeline;
        let m = model::build(cfg);
        let all_applied = witness(&cfg, "at rest with every operation applied");
        for s in reachable(&m) {
            let slow = properties::at_rest_by_successors(&m, &s);
            assert_eq!(
                properties::at_rest(&m, &s),
                slow,
                "{mode:?}: fast and slow rest differ"
            );
            if model::in_flight(&s).next().is_some() {
                assert!(!slow, "{mode:?}: at rest with a deliverable message");
                assert!(!(all_applied.condition)(&m, &s));
            }
        }
    }
}

#[test]
fn every_fault_is_a_fault_and_nothing_else_is() {
    let cfg = config(Mode::AtLeastOnce, bounds(1, 1, 1, 1, 1));
    let m = model::build(cfg);
    let init = &m.init_states()[0];
    let crash = ActorModelAction::Crash(consumer_id(0));
    let expiry = ActorModelAction::Timeout(Id::from(BROKER), Timer::Lease(0));
    let retry = ActorModelAction::Timeout(Id::from(PRODUCER), Timer::Retry(0));
    let recover = ActorModelAction::Recover(consumer_id(0));
    let drop = ActorModelAction::Drop(stateright::actor::Envelope {
        src: Id::from(PRODUCER),
        dst: Id::from(BROKER),
        msg: onceproof::model::msg::Msg::Publish {
            op: 0,
            id: 0,
            attempt: 0,
            session: 1,
        },
    });
    assert_eq!(faults::fault(init, &crash), Some(Fault::Crash));
    assert_eq!(faults::fault(init, &expiry), Some(Fault::LeaseExpiry));
    assert_eq!(faults::fault(init, &drop), Some(Fault::Loss));
    // The first publish is on its way: the producer's timer is a slow
    // confirm, a fault.
    assert_eq!(faults::fault(init, &retry), Some(Fault::SpuriousRetry));
    assert!(
        !properties::is_fault(init, &recover),
        "a restart is progress"
    );
    // Once the publish is lost, the same timer is the policy at work.
    let lost = m.next_state(init, drop).expect("the publish can be lost");
    assert!(
        !properties::is_fault(&lost, &retry),
        "a retry after a loss is progress"
    );
    // Reports name them.
    assert_eq!(Fault::Crash.name(), "consumer crash");
    assert_eq!(Fault::Loss.name(), "lost message");
    assert_eq!(Fault::LeaseExpiry.name(), "lease expiry");
    assert_eq!(
        Fault::SpuriousRetry.name(),
        "retry after a merely slow confirm"
    );
}

/// A state whose only enabled steps are faults of one kind is at rest, so
/// an unspent budget never makes a lost operation look like work in
/// progress. Found among reachable states: only crashes can be the sole
/// enabled steps (a loss or a lease expiry always has a delivery or a
/// restart beside it), so the other kinds are covered by the table test
/// above.
#[test]
fn a_state_with_only_faults_enabled_is_at_rest() {
    let cfg = config(Mode::AtMostOnce, bounds(2, 1, 1, 0, 1));
    let m = model::build(cfg);
    let mut seen: HashSet<Fault> = HashSet::new();
    for s in reachable(&m) {
        let mut actions = Vec::new();
        m.actions(&s, &mut actions);
        let moving: Vec<_> = actions
            .into_iter()
            .filter(|a| {
                m.next_state(&s, a.clone())
                    .is_some_and(|n| stateright::Model::within_boundary(&m, &n))
            })
            .collect();
        let kinds: HashSet<Option<Fault>> = moving.iter().map(|a| faults::fault(&s, a)).collect();
        if let [Some(only)] = kinds.iter().copied().collect::<Vec<_>>()[..] {
            assert!(
                properties::at_rest(&m, &s),
                "only {only:?} enabled, yet not at rest"
            );
            seen.insert(only);
        }
    }
    assert!(seen.contains(&Fault::Crash), "found {seen:?}");
}

#[test]
fn give_up_report_releases_the_obligation_and_silence_does_not() {
    // One attempt, one loss: the producer gives up on the lost publish.
    let mut cfg = config(Mode::AtLeastOnce, bounds(1, 0, 1, 0, 0));
    cfg.pipeline.max_attempts = Some(1);
    cfg.pipeline.give_up = GiveUp::Report;
    let o = check::check(cfg, Limits::default(), &mut |_| {});
    assert_eq!(o.verdict(NO_LOSS), Some(Verdict::Proved));
    cfg.pipeline.give_up = GiveUp::Silent;
    let o = check::check(cfg, Limits::default(), &mut |_| {});
    assert_eq!(o.verdict(NO_LOSS), Some(Verdict::Counterexample));
}

#[test]
fn the_no_loss_anchor_names_what_it_covers() {
    let fire_and_forget = config(Mode::AtMostOnce, bounds(1, 0, 1, 0, 0));
    assert_eq!(
        properties::anchor(&fire_and_forget),
        "every operation handed to the producer"
    );
    let mut reporting = config(Mode::AtLeastOnce, bounds(1, 0, 1, 0, 0));
    reporting.pipeline.max_attempts = Some(2);
    assert_eq!(
        properties::anchor(&reporting),
        "every operation handed to the producer, unless the producer reported its failure to its caller"
    );
    reporting.pipeline.give_up = GiveUp::Silent;
    assert_eq!(
        properties::anchor(&reporting),
        "every operation handed to the producer"
    );
}

/// Every operation is handed to the producer at the start, so every one is
/// owed from the first state on, whatever its index.
#[test]
fn every_operation_is_owed_from_the_start() {
    let mut cfg = config(Mode::Idempotency, bounds(1, 0, 0, 0, 0));
    cfg.bounds.operations = 4;
    let m = model::build(cfg);
    let init = &m.init_states()[0];
    assert_eq!(init.history.promised, 0b1111);
    assert!((0..4).all(|op| properties::owed(&m, init, op)));
    assert_eq!(properties::unapplied_owed(&m, init), vec![0, 1, 2, 3]);
}

/// The crash witness is named for the gap of the pipeline it watches.
#[test]
fn the_crash_witness_names_its_gap() {
    let name = |mode| witness(&config(mode, bounds(1, 1, 0, 0, 0)), "crash between").name;
    assert_eq!(
        name(Mode::AtMostOnce),
        "crash between completion and effect"
    );
    assert_eq!(
        name(Mode::AtLeastOnce),
        "crash between effect and completion"
    );
    assert_eq!(
        name(Mode::AtomicBoundary),
        "crash between atomic commit and broker ack"
    );
    assert_eq!(
        name(Mode::Idempotency),
        "crash between ledger transaction and broker ack"
    );
}
