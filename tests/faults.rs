//! The fault registry is the one place a fault exists. These tests fail when
//! a `[bounds]` budget, a fault action or a fault witness lives outside it:
//! a budget the registry does not declare, a step that spends a budget but
//! is not recognised as that fault (so "at rest" would count it as
//! progress), a witness whose relevance hangs on a budget without the
//! registry saying so, or a docs table that forgot one.

mod common;
use common::reachable;
use onceproof::model::faults::{self, REGISTRY, Tally};
use onceproof::model::{self, witnesses};
use onceproof::pipeline::{
    Acks, AutoCommit, BROKER_KINDS, Bounds, BrokerKind, Config, Durability, Effect, Lookup, Mode,
    Pipeline, Processing, Publish, Retention, StaleCompletion, StoreKind,
};
use onceproof::scenario;
use stateright::Model as _;
use stateright::actor::ActorModelAction;
use std::collections::BTreeSet;
use std::path::Path;

fn config(mode: Mode, operations: u8, consumers: u8, budget: u8) -> Config {
    on(BrokerKind::Generic, mode, operations, consumers, budget)
}

/// `budget` for every fault the broker kind has and a schema-1 file
/// explores by default, 0 for the others. Producer crashes are opt-in
/// (default 0) and multiply every configuration here, so they have their
/// own configurations ([`outbox`], [`producer_crash`]).
fn on(kind: BrokerKind, mode: Mode, operations: u8, consumers: u8, budget: u8) -> Config {
    let pipeline = (kind.spec().preset)(Pipeline::of(mode));
    let mut bounds = Bounds {
        operations,
        consumers,
        ..Bounds::default()
    };
    for k in &REGISTRY {
        let n = if (k.vocabulary)(&pipeline) && k.default > 0 {
            budget
        } else {
            0
        };
        (k.set_budget)(&mut bounds, n);
    }
    Config { pipeline, bounds }
}

fn kafka(mode: Mode, operations: u8, consumers: u8, budget: u8) -> Config {
    on(BrokerKind::Kafka, mode, operations, consumers, budget)
}

/// Kafka with asynchronous processing and auto-commit: the pool's timers.
fn kafka_async(operations: u8, budget: u8) -> Config {
    let mut cfg = kafka(Mode::AtLeastOnce, operations, 2, budget);
    cfg.pipeline.processing = Processing::Async;
    cfg.pipeline.auto_commit = AutoCommit::InPoll;
    // The pool's interleavings multiply fast: Leg 1 faults stay off.
    cfg.bounds.losses = 0;
    cfg.bounds.retries = 0;
    cfg
}

/// A producer that can crash, with Leg 1 faults on and consumer faults off.
fn producer_crash(mode: Mode, operations: u8, budget: u8) -> Config {
    let mut cfg = config(mode, operations, 1, budget);
    cfg.bounds.producer_crashes = budget;
    cfg.bounds.crashes = 0;
    cfg.bounds.lease_expiries = 0;
    cfg
}

/// An outbox relay that re-publishes after a producer restart.
fn outbox(mode: Mode, budget: u8) -> Config {
    let mut cfg = producer_crash(mode, 1, budget);
    cfg.pipeline.publish = Publish::Outbox;
    cfg
}

/// Effect-store replies that can be lost, and a consumer that retries on
/// timeout, beside the default faults (one consumer: the round trip is
/// its own, and a second one multiplies the unreduced space).
fn reply_loss(mode: Mode, budget: u8) -> Config {
    let mut cfg = config(mode, 1, 1, budget);
    cfg.bounds.reply_losses = budget;
    cfg.pipeline.retry_effect_on_timeout = true;
    cfg
}

/// An idempotent ledger whose retention drops keys: early (W4) or only
/// past the replay horizon.
fn retention(r: Retention, budget: u8) -> Config {
    let mut cfg = config(Mode::Idempotency, 1, 1, budget);
    cfg.pipeline.retention = r;
    cfg.bounds.ledger_expiries = budget;
    cfg
}

/// A payment API that keeps the key itself (two-step calls, 409 for a
/// concurrent one, or none with check-then-act), with lost replies, the
/// client's retry and key expiries.
fn api(lookup: Lookup, budget: u8) -> Config {
    let mut cfg = reply_loss(Mode::Idempotency, budget);
    cfg.pipeline.store = StoreKind::Api;
    cfg.pipeline.lookup = lookup;
    cfg.pipeline.retention = Retention::ShorterThanReplay;
    cfg.bounds.ledger_expiries = budget;
    cfg
}

/// An operator replays done messages (a queue) or resets the offsets (a
/// log), with a ledger whose keys may expire early; no other fault.
fn replay(kind: BrokerKind, budget: u8) -> Config {
    let mut cfg = on(kind, Mode::Idempotency, 1, 1, 0);
    cfg.bounds.operator_replays = budget;
    cfg.bounds.ledger_expiries = budget;
    cfg.pipeline.retention = Retention::ShorterThanReplay;
    cfg
}

/// Kafka read-process-write in transactions, the effect in the output
/// topic or outside: the abort's timer and the transaction's steps.
fn kafka_txn(effect: Effect, budget: u8) -> Config {
    let mut cfg = kafka(Mode::AtomicBoundary, 1, 2, budget);
    cfg.pipeline.transactions = true;
    cfg.pipeline.effect = effect;
    cfg.bounds.transaction_aborts = budget;
    cfg
}

/// A receive limit of 1 with a redrive: dead-lettering and its timer.
fn dlq(kind: BrokerKind) -> Config {
    let mut cfg = on(kind, Mode::Idempotency, 1, 2, 1);
    cfg.pipeline.max_receives = Some(1);
    cfg.pipeline.redrive = true;
    cfg.bounds.losses = 0;
    cfg.bounds.retries = 0;
    cfg
}

/// Kafka with librdkafka's background auto-commit: the consumer's commit
/// timer (one member: the timer does not depend on who owns the
/// partition, and a second member multiplies the run).
fn kafka_background(budget: u8) -> Config {
    let mut cfg = kafka(Mode::AtLeastOnce, 1, 1, budget);
    cfg.pipeline.auto_commit = AutoCommit::Background;
    cfg
}

/// A replicated broker (Leg 2): its fetches, ISR shrinks and failovers.
/// Leg 1 faults stay off but for the retry a failed publish needs.
fn replicated(kind: BrokerKind, durability: Durability, budget: u8) -> Config {
    let mut cfg = on(kind, Mode::Idempotency, 1, 1, budget);
    cfg.pipeline.durability = durability;
    cfg.bounds.broker_failovers = budget;
    cfg.bounds.isr_shrinks = budget;
    cfg.bounds.losses = 0;
    cfg.bounds.crashes = 0;
    cfg.bounds.lease_expiries = 0;
    cfg
}

const ACKS_LEADER: Durability = Durability {
    replicas: 2,
    acks: Acks::Leader,
    min_in_sync: 1,
    unclean_election: false,
};

const UNCLEAN: Durability = Durability {
    replicas: 3,
    acks: Acks::All,
    min_in_sync: 2,
    unclean_election: true,
};

#[test]
fn every_budget_in_bounds_is_a_registry_entry() {
    let json = serde_json::to_value(Bounds::default()).unwrap();
    let fields: BTreeSet<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| !["operations", "consumers"].contains(k))
        .collect();
    let registered: BTreeSet<&str> = REGISTRY.iter().map(|k| k.field).collect();
    assert_eq!(fields, registered, "Bounds has budgets the registry lacks");
    for (i, k) in REGISTRY.iter().enumerate() {
        assert_eq!(k.fault as usize, i, "{}: out of place", k.field);
        assert_eq!(json[k.field], k.default, "{}: default", k.field);
        // Its setter and getter touch its own field and nothing else.
        let mut b = Bounds::default();
        (k.set_budget)(&mut b, 3);
        assert_eq!((k.budget)(&b), 3);
        let changed = serde_json::to_value(b).unwrap();
        for (field, v) in changed.as_object().unwrap() {
            let want = if field == k.field {
                &3.into()
            } else {
                &json[field]
            };
            assert_eq!(v, want, "setting {} changed {field}", k.field);
        }
    }
}

#[test]
fn the_scenario_parser_reads_every_registry_budget() {
    for k in &REGISTRY {
        // The first kind whose vocabulary has the fault; a transactional
        // Kafka consumer for the faults of transactions.
        let generic = Pipeline::of(Mode::Idempotency);
        let kind = BROKER_KINDS
            .iter()
            .find(|kind| (k.vocabulary)(&(kind.preset)(generic)));
        let replicated = Pipeline {
            durability: ACKS_LEADER,
            ..generic
        };
        let header = match kind {
            None if (k.vocabulary)(&replicated) => "[broker]\nreplicas = 2\n".into(),
            Some(kind) if kind.kind == BrokerKind::Generic => String::new(),
            Some(kind) => format!("[broker]\nkind = \"{}\"\n", kind.name),
            None => "[broker]\nkind = \"kafka\"\n[broker.kafka]\ntransactions = true\n".into(),
        };
        // A ledger expiry needs a retention that drops keys.
        let store = if k.fault == faults::Fault::LedgerExpiry {
            "[store]\nretention = \"shorter-than-replay\"\n"
        } else {
            ""
        };
        let src = format!(
            "schema = 1\nname = \"x\"\nsummary = \"x\"\nmode = \"idempotency\"\n{header}{store}\
             [bounds]\n{} = 3\n[expect]\napplied-once = \"proved\"\nno-loss = \"proved\"\n",
            k.field
        );
        let s = scenario::parse(Path::new("x.toml"), &src).expect("a registry field parses");
        assert_eq!((k.budget)(&s.config.bounds), 3, "{}", k.field);
    }
}

/// Over every reachable step of small configurations with every budget at
/// 1: a step that spends a unit of a budget is recognised as that fault,
/// and the actions stateright itself injects are always faults.
#[test]
fn every_step_that_spends_a_budget_is_its_fault() {
    let mut accepting = config(Mode::AtLeastOnce, 1, 1, 1);
    accepting.pipeline.stale_completion = StaleCompletion::Accepted;
    let mut spent_somewhere = BTreeSet::new();
    let mut unfenced = kafka(Mode::AtLeastOnce, 1, 2, 1);
    unfenced.pipeline.stale_completion = StaleCompletion::Accepted;
    for cfg in Mode::ALL.map(|m| config(m, 1, 1, 1)).into_iter().chain([
        accepting,
        kafka(Mode::Idempotency, 1, 2, 1),
        unfenced,
        kafka_async(1, 1),
        kafka_txn(Effect::KafkaTopic, 1),
        kafka_txn(Effect::External, 1),
        kafka_background(1),
        on(BrokerKind::SqsStandard, Mode::AtLeastOnce, 1, 2, 1),
        on(BrokerKind::SqsFifo, Mode::AtLeastOnce, 1, 2, 1),
        dlq(BrokerKind::SqsStandard),
        dlq(BrokerKind::RabbitMq),
        replicated(BrokerKind::Generic, ACKS_LEADER, 1),
        replicated(BrokerKind::Kafka, UNCLEAN, 1),
        outbox(Mode::AtomicBoundary, 1),
        producer_crash(Mode::AtLeastOnce, 1, 1),
        reply_loss(Mode::AtLeastOnce, 1),
        reply_loss(Mode::Idempotency, 1),
        retention(Retention::ShorterThanReplay, 1),
        retention(Retention::LongerThanReplay, 1),
        replay(BrokerKind::Generic, 1),
        replay(BrokerKind::Kafka, 1),
        api(Lookup::UniqueInsert, 1),
        api(Lookup::CheckThenAct, 1),
    ]) {
        let m = model::build(cfg);
        for s in reachable(&m) {
            let before = Tally::of(&s);
            let mut actions = Vec::new();
            m.actions(&s, &mut actions);
            for a in actions {
                let kind = faults::fault(&s, &a);
                if matches!(a, ActorModelAction::Crash(_) | ActorModelAction::Drop(_)) {
                    assert!(kind.is_some(), "{a:?} is not a fault");
                }
                let Some(next) = m.next_state(&s, a.clone()) else {
                    continue;
                };
                if !stateright::Model::within_boundary(&m, &next) {
                    continue;
                }
                let after = Tally::of(&next);
                for k in &REGISTRY {
                    if (k.spent)(&cfg, &after) > (k.spent)(&cfg, &before) {
                        assert_eq!(kind, Some(k.fault), "{a:?} spends {}", k.field);
                        spent_somewhere.insert(k.field);
                    }
                }
            }
        }
    }
    let all: BTreeSet<&str> = REGISTRY.iter().map(|k| k.field).collect();
    assert_eq!(spent_somewhere, all, "a budget no step ever spends");
}

/// A fault's witnesses apply only while its budget is on; the outcome
/// witnesses, which no fault stands for, never depend on a budget.
#[test]
fn witnesses_hang_on_their_own_budget() {
    for mode in Mode::ALL {
        let mut on = config(mode, 1, 2, 1);
        on.bounds.producer_crashes = 1;
        on.bounds.reply_losses = 1;
        on.pipeline.retry_effect_on_timeout = true;
        on.bounds.ledger_expiries = 1;
        on.bounds.operator_replays = 1;
        on.pipeline.retention = Retention::ShorterThanReplay;
        for k in &REGISTRY {
            let mut off = on;
            (k.set_budget)(&mut off.bounds, 0);
            for (applies, w) in (k.witnesses)(&off) {
                assert!(
                    !applies,
                    "{}: {} applies with the budget 0",
                    k.field, w.name
                );
            }
        }
        let fault_witnesses: BTreeSet<&str> = REGISTRY
            .iter()
            .flat_map(|k| (k.witnesses)(&on))
            .map(|(_, w)| w.name)
            .collect();
        for (_, w) in witnesses::catalogue(&on) {
            if fault_witnesses.contains(w.name) {
                continue;
            }
            for budget in [0, 1, 2] {
                let other = config(mode, 1, 2, budget);
                let applies = witnesses::catalogue(&other)
                    .into_iter()
                    .find(|(_, c)| c.name == w.name)
                    .map(|(a, _)| a);
                let here = witnesses::catalogue(&on)
                    .into_iter()
                    .find(|(_, c)| c.name == w.name)
                    .map(|(a, _)| a);
                assert_eq!(
                    applies, here,
                    "{mode:?}: outcome {} hangs on a budget",
                    w.name
                );
            }
        }
    }
}

#[test]
fn the_bounds_table_in_the_docs_lists_every_budget() {
    let doc = std::fs::read_to_string("docs/SCENARIOS.md").unwrap();
    for k in &REGISTRY {
        let row = format!("| `{}` | {} |", k.field, k.default);
        assert!(doc.contains(&row), "docs/SCENARIOS.md lacks the row {row}");
    }
}

#[test]
fn the_bounds_line_names_every_budget() {
    for kind in BROKER_KINDS.map(|k| k.kind) {
        // Every budget of the kind's vocabulary on, the opt-in ones too; a
        // ledger whose retention drops keys, so that its expiries can be.
        let mut all_on = on(kind, Mode::Idempotency, 1, 2, 1);
        all_on.pipeline.retention = Retention::ShorterThanReplay;
        for k in REGISTRY.iter().filter(|k| (k.vocabulary)(&all_on.pipeline)) {
            (k.set_budget)(&mut all_on.bounds, 1);
        }
        let line = all_on.describe_bounds();
        let mut off = on(kind, Mode::Idempotency, 1, 2, 0);
        off.pipeline.retention = Retention::ShorterThanReplay;
        let off = off.describe_bounds();
        let pipeline = (kind.spec().preset)(Pipeline::of(Mode::Idempotency));
        for k in &REGISTRY {
            let ours = (k.vocabulary)(&pipeline);
            assert_eq!(line.contains(k.unit.0), ours, "{line}: {}", k.unit.0);
            assert_eq!(off.contains(k.unit.1), ours, "{off}: {}", k.unit.1);
        }
    }
}

/// The checker, the searches and the Explorer take exactly the steps whose
/// next state stays within the budgets: a crash beyond `bounds.crashes`, a
/// message that is never lost is hidden, without being built for most of
/// them (`faults::leaves_budgets`); every step within the budgets is
/// listed, labelled with what it meant. Checked on every reachable state
/// of each mode with every budget 0, and with 2 crashes and 2 losses (the
/// faults decided without being taken), and at budget 1 with two
/// operations or two consumers (and stale completions accepted).
#[test]
fn exactly_the_steps_within_the_budgets_are_taken() {
    use onceproof::explorable::Explorable;
    let mut accepting = config(Mode::AtLeastOnce, 1, 2, 1);
    accepting.pipeline.stale_completion = StaleCompletion::Accepted;
    let mut giving_up = config(Mode::AtLeastOnce, 2, 1, 1);
    giving_up.pipeline.max_attempts = Some(3);
    let mut configs = vec![
        accepting,
        giving_up,
        config(Mode::AtMostOnce, 2, 2, 1),
        config(Mode::Idempotency, 2, 1, 1),
        // Two spurious retries: the retry accounting beyond one.
        config(Mode::AtomicBoundary, 1, 1, 2),
        kafka(Mode::AtLeastOnce, 1, 2, 1),
        kafka_async(1, 1),
        kafka_txn(Effect::KafkaTopic, 1),
        kafka_background(1),
        on(BrokerKind::SqsFifo, Mode::AtLeastOnce, 1, 2, 1),
        dlq(BrokerKind::SqsStandard),
        outbox(Mode::Idempotency, 1),
        producer_crash(Mode::AtomicBoundary, 2, 1),
        reply_loss(Mode::AtomicBoundary, 1),
        retention(Retention::ShorterThanReplay, 1),
        retention(Retention::LongerThanReplay, 2),
        replay(BrokerKind::Generic, 1),
        replay(BrokerKind::Kafka, 1),
        api(Lookup::UniqueInsert, 1),
        api(Lookup::CheckThenAct, 1),
    ];
    for mode in Mode::ALL {
        let mut two = config(mode, 1, 1, 1);
        two.bounds.crashes = 2;
        two.bounds.losses = 2;
        configs.extend([config(mode, 1, 1, 0), two]);
    }
    let mut hidden = 0;
    for cfg in configs {
        let m = model::build(cfg);
        let e = Explorable::new(m.clone());
        for s in reachable(&m) {
            let (mut all, mut listed) = (Vec::new(), Vec::new());
            m.actions(&s, &mut all);
            e.actions(&s, &mut listed);
            for a in all {
                let within = m
                    .next_state(&s, a.clone())
                    .is_none_or(|n| stateright::Model::within_boundary(&m, &n));
                assert_eq!(listed.contains(&a), within, "{:?}: {a:?}", cfg.bounds);
                hidden += usize::from(!within);
            }
            for a in listed.into_iter().take(1) {
                if let Some(label) = e.format_step(&s, a) {
                    assert!(!label.starts_with("OUT"), "unlabelled step: {label}");
                }
            }
        }
    }
    assert!(hidden > 0, "nothing was ever hidden");
}

/// The broker arms a lease timer only on a message it has leased, and none
/// once its expiry budget is spent: so a lease expiry can never fire beyond
/// `bounds.lease-expiries`, and an armed timer never stands for nothing.
/// Likewise the producer's retry timer is armed only while its operation is
/// neither confirmed nor given up.
#[test]
fn timers_are_armed_only_while_they_stand_for_something() {
    use onceproof::model::{BROKER, PRODUCER, broker, msg::Timer};
    let mut retries_armed = 0;
    let mut armed = 0;
    // The broker's lease handling is the same in every mode.
    let mut giving_up = config(Mode::AtLeastOnce, 2, 1, 1);
    giving_up.pipeline.max_attempts = Some(2);
    let (mut rebalances_armed, mut work_armed, mut aborts_armed) = (0, 0, 0);
    let mut auto_armed = 0;
    let (mut phantoms_armed, mut windows_armed, mut redrives_armed) = (0, 0, 0);
    let mut replication_armed = 0;
    let mut effect_timeouts_armed = 0;
    let mut expiries_armed = 0;
    let mut replays_armed = 0;
    let mut finishes_armed = 0;
    for base in [
        config(Mode::AtMostOnce, 2, 1, 1),
        config(Mode::AtLeastOnce, 2, 1, 1),
        giving_up,
        kafka(Mode::AtLeastOnce, 1, 2, 1),
        kafka_async(1, 1),
        kafka_txn(Effect::KafkaTopic, 1),
        kafka_background(1),
        on(BrokerKind::SqsFifo, Mode::AtLeastOnce, 1, 1, 1),
        dlq(BrokerKind::SqsStandard),
        replicated(BrokerKind::Generic, ACKS_LEADER, 1),
        replicated(BrokerKind::Kafka, UNCLEAN, 1),
        reply_loss(Mode::AtLeastOnce, 1),
        retention(Retention::ShorterThanReplay, 1),
        retention(Retention::LongerThanReplay, 1),
        replay(BrokerKind::Generic, 1),
        replay(BrokerKind::Kafka, 1),
        api(Lookup::UniqueInsert, 1),
    ] {
        for budget in [1, 2] {
            let mut cfg = base;
            if cfg.pipeline.log {
                if budget > 1 && cfg.pipeline.auto_commit != AutoCommit::Off {
                    continue;
                }
                cfg.bounds.rebalances = budget;
                if cfg.pipeline.transactions {
                    cfg.bounds.transaction_aborts = budget;
                }
            } else if !cfg.pipeline.durability.replicated() {
                cfg.bounds.lease_expiries = budget;
            }
            if cfg.pipeline.durability.replicated() {
                cfg.bounds.broker_failovers = budget;
                cfg.bounds.isr_shrinks = budget;
            }
            let m = model::build(cfg);
            for s in reachable(&m) {
                let p = model::producer(&s);
                for t in s.timers_set[PRODUCER].iter() {
                    if let Timer::Retry(op) = t {
                        retries_armed += 1;
                        let op = *op as usize;
                        assert!(!p.acked[op] && !p.gave_up[op], "{t:?} armed for {p:?}");
                    }
                }
                let b = model::broker(&s);
                if let Some(log) = b.log {
                    for t in s.timers_set[BROKER].iter() {
                        if let Timer::Rebalance(to) = t {
                            rebalances_armed += 1;
                            assert!(log.rebalances_left > 0, "{t:?} armed with none left");
                            assert_ne!(*to, log.owner, "{t:?} armed for the owner");
                        }
                        if let Timer::TxnAbort = t {
                            aborts_armed += 1;
                            assert!(log.aborts_left > 0, "{t:?} armed with none left");
                            assert!(
                                log.position > log.committed,
                                "{t:?} armed with no open transaction"
                            );
                        }
                    }
                }
                for (i, _, c) in model::consumers(&s) {
                    for t in s.timers_set[usize::from(model::consumer_id(i))].iter() {
                        if let Timer::EffectTimeout(job) = t {
                            effect_timeouts_armed += 1;
                            assert!(
                                c.jobs.iter().any(|j| j.job == *job
                                    && j.stage == onceproof::model::consumer::Stage::Applying),
                                "{t:?} armed with no effect awaiting its reply"
                            );
                        }
                        if let Timer::AutoCommit = t {
                            auto_armed += 1;
                            assert!(c.stored.is_some(), "{t:?} armed with no stored offset");
                        }
                        if let Timer::Work(msg) = t {
                            work_armed += 1;
                            assert!(
                                c.jobs.iter().any(|j| j.job.msg == *msg
                                    && j.stage == onceproof::model::consumer::Stage::Queued),
                                "{t:?} armed with no record waiting for a worker"
                            );
                        }
                    }
                }
                let st = model::store(&s);
                for t in s.timers_set[onceproof::model::STORE].iter() {
                    if let Timer::Finish(job) = t {
                        finishes_armed += 1;
                        assert!(st.running_job(*job), "{t:?} armed with no call running");
                    }
                    if let Timer::Expire(key) = t {
                        expiries_armed += 1;
                        assert!(st.expiries_left > 0, "{t:?} armed with none left");
                        assert!(st.ledger.contains(key), "{t:?} armed for a key not held");
                    }
                }
                for t in s.timers_set[BROKER].iter() {
                    if let Timer::Replay(msg) = t {
                        replays_armed += 1;
                        assert!(b.replays_left > 0, "{t:?} armed with none left");
                        match b.log {
                            Some(log) => assert!(log.committed > 0, "{t:?}: nothing committed"),
                            None => assert_eq!(
                                b.messages[*msg as usize].status,
                                broker::Status::Done,
                                "{t:?} armed for a message not done"
                            ),
                        }
                    }
                    match t {
                        Timer::Phantom(msg) => {
                            phantoms_armed += 1;
                            assert!(b.phantoms_left > 0, "{t:?} armed with none left");
                            assert_eq!(b.messages[*msg as usize].status, broker::Status::Done);
                        }
                        Timer::DedupWindow(key) => {
                            windows_armed += 1;
                            assert!(b.windows_left > 0, "{t:?} armed with none left");
                            assert!(b.seen.contains(key), "{t:?} armed for an id not seen");
                        }
                        Timer::Replicate(f) | Timer::IsrShrink(f) | Timer::Failover(f) => {
                            replication_armed += 1;
                            let r = b
                                .replication
                                .as_ref()
                                .expect("armed on a replicated broker");
                            let fl = r.followers[*f as usize];
                            let lags = (fl.len as usize) < b.messages.len();
                            match t {
                                Timer::Replicate(_) => {
                                    assert!(lags, "{t:?} armed with nothing to copy")
                                }
                                Timer::IsrShrink(_) => assert!(
                                    r.shrinks_left > 0 && fl.in_sync && lags,
                                    "{t:?} armed for {fl:?} with {} left",
                                    r.shrinks_left
                                ),
                                _ => assert!(
                                    r.failovers_left > 0
                                        && (fl.in_sync || cfg.pipeline.durability.unclean_election),
                                    "{t:?} armed for {fl:?} with {} left",
                                    r.failovers_left
                                ),
                            }
                        }
                        Timer::Redrive(msg) => {
                            redrives_armed += 1;
                            assert_eq!(
                                b.messages[*msg as usize].status,
                                broker::Status::DeadLettered
                            );
                        }
                        _ => {}
                    }
                    if let Timer::Lease(msg) = t {
                        armed += 1;
                        assert!(b.expiries_left > 0, "{t:?} armed with no expiry left");
                        assert!(
                            matches!(
                                b.messages[*msg as usize].status,
                                broker::Status::Leased { .. }
                            ),
                            "{t:?} armed on a message not leased"
                        );
                    }
                }
            }
        }
    }
    assert!(armed > 0, "no lease timer was ever armed");
    assert!(rebalances_armed > 0, "no rebalance timer was ever armed");
    assert!(work_armed > 0, "no pool worker timer was ever armed");
    assert!(auto_armed > 0, "no auto-commit timer was ever armed");
    assert!(phantoms_armed > 0, "no phantom timer was ever armed");
    assert!(windows_armed > 0, "no dedup window timer was ever armed");
    assert!(redrives_armed > 0, "no redrive timer was ever armed");
    assert!(replication_armed > 0, "no replication timer was ever armed");
    assert!(
        effect_timeouts_armed > 0,
        "no effect timeout was ever armed"
    );
    assert!(
        aborts_armed > 0,
        "no transaction abort timer was ever armed"
    );
    assert!(retries_armed > 0, "no retry timer was ever armed");
    assert!(expiries_armed > 0, "no ledger expiry was ever armed");
    assert!(replays_armed > 0, "no operator replay was ever armed");
    assert!(finishes_armed > 0, "no API call was ever running");
}
