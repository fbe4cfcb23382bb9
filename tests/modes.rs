//! The four delivery modes at the default bounds, explored exhaustively:
//! the verdict table of the core issue, the shape of each counterexample,
//! and a negative control for every proof.

use onceproof::check::{self, Limits, Trace, Verdict};
use onceproof::model::faults::Fault;
use onceproof::model::properties::{APPLIED_ONCE, NO_LOSS};
use onceproof::model::{self, Action, broker, msg::Timer, store};
use onceproof::pipeline::{AttemptIds, Config, LedgerKey, LedgerWrite, Mode};
use onceproof::search::Ranking;
use stateright::actor::ActorModelAction;

fn verdicts(mode: Mode) -> (Verdict, Verdict, check::Outcome) {
    let o = check::check(Config::new(mode), Limits::default(), &mut |_| {});
    assert!(o.complete, "{mode:?} exploration must complete");
    assert!(
        o.witnesses.iter().all(|(_, reached)| *reached),
        "{mode:?}: unreached witnesses {:?}",
        o.witnesses
    );
    (
        o.verdict(APPLIED_ONCE).unwrap(),
        o.verdict(NO_LOSS).unwrap(),
        o,
    )
}

/// Index of the first step after which `op` has been applied `n` times.
fn applied_at(t: &Trace, op: usize, n: u8) -> Option<usize> {
    t.steps.iter().position(|(s, _)| store(s).applied[op] >= n)
}

fn actions(t: &Trace) -> Vec<&Action> {
    t.steps.iter().filter_map(|(_, a)| a.as_ref()).collect()
}

fn is_replay_cause(a: &Action) -> bool {
    matches!(
        a,
        ActorModelAction::Crash(_)
            | ActorModelAction::Timeout(_, Timer::Lease(_))
            | ActorModelAction::Timeout(_, Timer::Retry(_))
    )
}

#[test]
fn at_most_once_never_duplicates_but_loses_on_a_crash_between_completion_and_effect() {
    let (once, loss, _) = verdicts(Mode::AtMostOnce);
    assert_eq!(once, Verdict::Proved);
    assert_eq!(loss, Verdict::Counterexample);
    // Without Leg 1 losses the only way to lose is the consumer's gap.
    let mut cfg = Config::new(Mode::AtMostOnce);
    cfg.bounds.losses = 0;
    let t = check::shortest_counterexample(&model::build(cfg), NO_LOSS).expect("a loss");
    // The crash falls after the broker recorded completion of a message
    // whose effect is never applied.
    let crash = t
        .steps
        .iter()
        .position(|(_, a)| matches!(a, Some(ActorModelAction::Crash(_))))
        .expect("a crash");
    let before = &t.steps[crash].0;
    let lost = broker(before)
        .messages
        .iter()
        .find(|m| m.status == broker::Status::Done && store(before).applied[m.op as usize] == 0)
        .expect("a message completed but not applied when the consumer crashes");
    assert_eq!(store(t.last_state()).applied[lost.op as usize], 0);
    assert!(t.last_state().history.confirmed & (1 << lost.op) != 0);
}

#[test]
fn at_least_once_never_loses_but_replays_the_effect() {
    let (once, loss, o) = verdicts(Mode::AtLeastOnce);
    assert_eq!(once, Verdict::Counterexample);
    assert_eq!(loss, Verdict::Proved);
    let t = o.trace(APPLIED_ONCE).unwrap();
    let op = (0..2)
        .find(|&op| store(t.last_state()).applied[op] >= 2)
        .expect("an operation applied twice");
    let first = applied_at(t, op, 1).unwrap();
    let second = applied_at(t, op, 2).unwrap();
    assert_eq!(second, t.len(), "the trace ends at the violation");
    let between = &actions(t)[first..second];
    assert!(
        between.iter().any(|a| is_replay_cause(a)),
        "a crash, lease expiry or retry lies between the applications: {between:?}"
    );
}

#[test]
fn atomic_boundary_is_exactly_once() {
    let (once, loss, _) = verdicts(Mode::AtomicBoundary);
    assert_eq!((once, loss), (Verdict::Proved, Verdict::Proved));
}

#[test]
fn idempotency_is_exactly_once() {
    let (once, loss, _) = verdicts(Mode::Idempotency);
    assert_eq!((once, loss), (Verdict::Proved, Verdict::Proved));
}

/// A broken variant of a proved mode: the checker must find a duplicate.
fn assert_refuted(mode: Mode, break_it: impl Fn(&mut Config)) -> Trace {
    let mut cfg = Config::new(mode);
    break_it(&mut cfg);
    check::shortest_counterexample(&model::build(cfg), APPLIED_ONCE)
        .unwrap_or_else(|| panic!("{mode:?} broken as {:?} must be refuted", cfg.pipeline))
}

#[test]
fn atomic_boundary_controls_completion_outside_the_transaction() {
    let t = assert_refuted(Mode::AtomicBoundary, |c| {
        c.pipeline.ledger_write = LedgerWrite::AfterEffect
    });
    // The redelivery comes from a crash or a lease expiry between the
    // effect and the separate completion record.
    assert!(actions(&t).iter().any(|a| is_replay_cause(a)));
}

#[test]
fn atomic_boundary_controls_unconditional_commit() {
    assert_refuted(Mode::AtomicBoundary, |c| c.pipeline.ledger_check = false);
}

#[test]
fn atomic_boundary_controls_no_publish_dedup_is_a_leg1_duplicate() {
    let t = assert_refuted(Mode::AtomicBoundary, |c| c.pipeline.publish_dedup = false);
    // Two broker messages carry the same operation.
    let b = broker(t.last_state());
    assert!(
        b.messages.len() >= 2 && b.messages[0].op == b.messages[1].op || {
            let ops: Vec<u8> = b.messages.iter().map(|m| m.op).collect();
            ops.iter()
                .any(|o| ops.iter().filter(|p| *p == o).count() >= 2)
        }
    );
}

#[test]
fn idempotency_controls_skipping_the_ledger_check() {
    assert_refuted(Mode::Idempotency, |c| c.pipeline.ledger_check = false);
}

#[test]
fn idempotency_controls_ledger_keyed_by_delivery() {
    assert_refuted(Mode::Idempotency, |c| {
        c.pipeline.ledger_key = LedgerKey::Delivery
    });
}

#[test]
fn idempotency_controls_fresh_id_per_retry() {
    let t = assert_refuted(Mode::Idempotency, |c| {
        c.pipeline.attempt_ids = AttemptIds::FreshPerAttempt
    });
    assert!(t.last_state().history.retry_received);
}

#[test]
fn idempotency_controls_ledger_written_after_the_effect() {
    // Only a crash may strike, so the duplicate is W3's and not a race.
    let t = assert_refuted(Mode::Idempotency, |c| {
        c.pipeline.ledger_write = LedgerWrite::AfterEffect;
        c.bounds.lease_expiries = 0;
        c.bounds.retries = 0;
        c.bounds.losses = 0;
    });
    assert!(
        actions(&t)
            .iter()
            .any(|a| matches!(a, ActorModelAction::Crash(_)))
    );
}

#[test]
fn a_run_cut_short_is_incomplete_never_proved() {
    let o = check::check(
        Config::new(Mode::Idempotency),
        Limits {
            max_states: Some(20_000),
            ..Limits::default()
        },
        &mut |_| {},
    );
    assert!(!o.complete);
    assert_eq!(o.verdict(APPLIED_ONCE), Some(Verdict::Incomplete));
    assert_eq!(o.verdict(NO_LOSS), Some(Verdict::Incomplete));
}

#[test]
fn shortest_counterexample_matches_iterative_deepening() {
    let mut cfg = Config::new(Mode::AtLeastOnce);
    cfg.bounds.crashes = 0;
    cfg.bounds.losses = 0;
    let m = model::build(cfg);
    let by_steps = check::ranked_counterexample(&m, APPLIED_ONCE, Ranking::FewestSteps).unwrap();
    let deepened = check::shortest_length_by_deepening(&m, APPLIED_ONCE, 20).unwrap();
    assert_eq!(by_steps.len(), deepened);
    // Ranking by faults never needs more faults, and pays for that in steps
    // only.
    let by_faults = check::shortest_counterexample(&m, APPLIED_ONCE).unwrap();
    assert!(by_faults.faults.len() <= by_steps.faults.len());
    assert!(by_faults.len() >= by_steps.len());
}

/// The duplicate of a fresh id per retry needs one slow confirm and nothing
/// else: the reported trace must not open with an unrelated lost publish,
/// although such a trace is shorter.
#[test]
fn a_counterexample_shows_only_the_faults_it_needs() {
    let mut cfg = Config::new(Mode::Idempotency);
    cfg.pipeline.attempt_ids = AttemptIds::FreshPerAttempt;
    let m = model::build(cfg);
    let t = check::shortest_counterexample(&m, APPLIED_ONCE).unwrap();
    assert_eq!(t.faults, vec![Fault::SpuriousRetry], "{:?}", actions(&t));
    assert!(
        !actions(&t)
            .iter()
            .any(|a| matches!(a, ActorModelAction::Drop(_)))
    );
    let by_steps = check::ranked_counterexample(&m, APPLIED_ONCE, Ranking::FewestSteps).unwrap();
    assert!(
        by_steps.len() < t.len(),
        "the fewest-steps trace is shorter"
    );
    assert!(
        by_steps.faults.len() > t.faults.len(),
        "and needs more faults"
    );
    // With a lost publish and the one spurious retry spent elsewhere, the
    // lost operation is still retried (a loss pays for its retry): the
    // aftermath comes to rest with every operation applied.
    let rest = by_steps
        .epilogue
        .last()
        .map_or(by_steps.last_state(), |(_, s)| s);
    assert!(
        store(rest).applied.iter().all(|&n| n >= 1),
        "{:?}",
        store(rest).applied
    );
}

/// The measured case of the issue: at-most-once, 1 operation, 1 consumer,
/// only a lost publish. It used to prove "no loss" with its own "lost
/// publish or ack" witness reached.
#[test]
fn a_lost_fire_and_forget_publish_is_a_loss() {
    let mut cfg = Config::new(Mode::AtMostOnce);
    cfg.bounds = onceproof::pipeline::Bounds {
        operations: 1,
        consumers: 1,
        retries: 0,
        crashes: 0,
        losses: 1,
        lease_expiries: 0,
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
    };
    let o = check::check(cfg, Limits::default(), &mut |_| {});
    assert_eq!(o.verdict(NO_LOSS), Some(Verdict::Counterexample));
    assert_eq!(o.verdict(APPLIED_ONCE), Some(Verdict::Proved));
    let t = o.trace(NO_LOSS).unwrap();
    assert_eq!((t.len(), t.faults.clone()), (1, vec![Fault::Loss]));
}

/// A fire-and-forget producer has promised what it sent: a lost publish is
/// a loss even though the broker never confirmed it.
#[test]
fn no_loss_controls_a_fire_and_forget_producer() {
    for mode in [Mode::AtLeastOnce, Mode::AtomicBoundary, Mode::Idempotency] {
        let mut cfg = Config::new(mode);
        cfg.pipeline.producer_retries = false;
        cfg.bounds.crashes = 0;
        cfg.bounds.lease_expiries = 0;
        let t = check::shortest_counterexample(&model::build(cfg), NO_LOSS)
            .unwrap_or_else(|| panic!("{mode:?} without retries must lose a publish"));
        assert_eq!(t.faults, vec![Fault::Loss]);
        let m = model::build(cfg);
        let lost = onceproof::model::properties::unapplied_owed(&m, t.last_state());
        assert_eq!(lost.len(), 1);
        assert_eq!(
            t.last_state().history.confirmed & (1 << lost[0]),
            0,
            "never confirmed"
        );
    }
}

#[test]
fn zero_budgets_are_valid_and_leave_nothing_to_refute() {
    // Without faults every mode, and the ledger row written after the
    // effect, applies every operation exactly once: a consumer that stopped
    // short of its effect (a dropped reply arm, say) shows up here.
    let mut after_effect = Config::new(Mode::Idempotency);
    after_effect.pipeline.ledger_write = onceproof::pipeline::LedgerWrite::AfterEffect;
    let configs = Mode::ALL.map(Config::new).into_iter().chain([after_effect]);
    for mut cfg in configs {
        cfg.bounds.retries = 0;
        cfg.bounds.crashes = 0;
        cfg.bounds.losses = 0;
        cfg.bounds.lease_expiries = 0;
        let o = check::check(cfg, Limits::default(), &mut |_| {});
        assert_eq!(
            o.verdict(APPLIED_ONCE),
            Some(Verdict::Proved),
            "{:?}",
            cfg.pipeline
        );
        assert_eq!(
            o.verdict(NO_LOSS),
            Some(Verdict::Proved),
            "{:?}",
            cfg.pipeline
        );
        assert_eq!(o.witnesses.len(), 1, "only the at-rest witness applies");
    }
}

/// A broken variant of a mode whose "no loss" is proved: the checker must
/// find a confirmed operation that is never applied.
fn assert_loss_found(mode: Mode, break_it: impl Fn(&mut Config)) {
    let mut cfg = Config::new(mode);
    break_it(&mut cfg);
    assert!(
        check::shortest_counterexample(&model::build(cfg), NO_LOSS).is_some(),
        "{mode:?} broken as {:?} must lose an operation",
        cfg.pipeline
    );
}

#[test]
fn at_most_once_control_a_retrying_producer_duplicates() {
    let t = assert_refuted(Mode::AtMostOnce, |c| c.pipeline.producer_retries = true);
    assert!(t.last_state().history.retry_received, "a Leg 1 duplicate");
}

#[test]
fn no_loss_controls_completion_before_the_effect() {
    use onceproof::pipeline::CompletionOrder::CompletionThenEffect;
    for mode in [Mode::AtLeastOnce, Mode::AtomicBoundary, Mode::Idempotency] {
        assert_loss_found(mode, |c| c.pipeline.order = CompletionThenEffect);
    }
}

/// The counterexample search honours the run's ceilings: cut, it reports
/// the main run's path and says it may not be the cheapest.
#[test]
fn a_cut_counterexample_search_says_so() {
    use onceproof::search::{Ceilings, Found, cheapest_violation};
    let m = model::build(Config::new(Mode::AtLeastOnce));
    let once = onceproof::model::properties::all(&m.cfg)
        .into_iter()
        .find(|c| c.name == APPLIED_ONCE)
        .unwrap();
    let cut = |ceilings| {
        matches!(
            cheapest_violation(&m, &once.condition, Ranking::FewestFaults, ceilings),
            Found::Cut
        )
    };
    assert!(cut(Ceilings {
        max_states: Some(10),
        deadline: None
    }));
    assert!(cut(Ceilings {
        max_states: None,
        deadline: Some(std::time::Instant::now())
    }));
    let o = check::check(
        Config::new(Mode::AtLeastOnce),
        Limits {
            max_states: Some(20),
            ..Limits::default()
        },
        &mut |_| {},
    );
    assert_eq!(o.verdict(APPLIED_ONCE), Some(Verdict::Counterexample));
    let t = o.trace(APPLIED_ONCE).unwrap();
    assert!(!t.minimal, "the search was cut at 20 states");
    assert!(store(t.last_state()).applied.iter().any(|&n| n >= 2));
}

/// The verdict table of the four modes at small bounds (1 operation, every
/// fault once): fast enough for mutation testing, which skips the
/// default-bound table above.
#[test]
fn the_verdict_table_holds_at_small_bounds() {
    use Verdict::{Counterexample as Ce, Proved};
    for (mode, expected) in [
        (Mode::AtMostOnce, (Proved, Ce)),
        (Mode::AtLeastOnce, (Ce, Proved)),
        (Mode::AtomicBoundary, (Proved, Proved)),
        (Mode::Idempotency, (Proved, Proved)),
    ] {
        let mut cfg = Config::new(mode);
        cfg.bounds.operations = 1;
        let o = check::check(cfg, Limits::default(), &mut |_| {});
        let got = (
            o.verdict(APPLIED_ONCE).unwrap(),
            o.verdict(NO_LOSS).unwrap(),
        );
        assert_eq!(got, expected, "{mode:?} at {:?}", cfg.bounds);
        assert!(
            o.witnesses.iter().all(|(_, r)| *r),
            "{mode:?}: {:?}",
            o.witnesses
        );
    }
}

/// With a fresh id per attempt, no two attempts of any operations share an
/// id, however many attempts the budgets allow (retries + losses + 1).
#[test]
fn fresh_attempt_ids_never_collide() {
    use onceproof::model::producer::attempt_id;
    for (retries, losses, max_attempts) in
        [(1, 1, None), (2, 0, None), (0, 3, None), (4, 4, Some(3))]
    {
        let mut cfg = Config::new(Mode::Idempotency);
        cfg.pipeline.attempt_ids = AttemptIds::FreshPerAttempt;
        cfg.pipeline.max_attempts = max_attempts;
        cfg.bounds.operations = 4;
        cfg.bounds.retries = retries;
        cfg.bounds.losses = losses;
        let attempts = max_attempts.unwrap_or(u8::MAX).min(1 + retries + losses);
        assert_eq!(cfg.attempts_cap(), attempts);
        let mut ids = std::collections::HashSet::new();
        for op in 0..4 {
            for attempt in 0..attempts {
                assert!(ids.insert(attempt_id(&cfg, op, attempt)), "{op}/{attempt}");
            }
        }
    }
}

/// The search beside the exploration finds each refuted property's
/// cheapest counterexample (the same trace an unlimited search gives), and
/// claims none for a proved property.
#[test]
fn the_early_search_finds_the_cheapest_counterexample() {
    use onceproof::scenario;
    for name in [
        "sqs-double-charge",
        "at-most-once",
        "idempotency-insert-after-effect",
    ] {
        let s = scenario::load(std::path::Path::new(&format!("models/{name}.toml"))).unwrap();
        let o = check::check(s.config, Limits::default(), &mut |_| {});
        let at = o.first_counterexample_at.expect("found early");
        assert!(at <= o.elapsed, "{name}: found after the run ended");
        let m = model::build(s.config);
        for p in &o.properties {
            let full = check::shortest_counterexample(&m, p.name);
            assert_eq!(
                p.trace.as_ref().map(|t| t.encoded.clone()),
                full.map(|t| t.encoded),
                "{name}: {}",
                p.name
            );
        }
    }
    let o = check::check(
        Config::new(Mode::AtomicBoundary),
        Limits::default(),
        &mut |_| {},
    );
    assert!(o.properties.iter().all(|p| p.verdict == Verdict::Proved));
    assert_eq!(o.first_counterexample_at, None);
}
