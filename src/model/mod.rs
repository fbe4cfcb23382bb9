//! The pipeline as a stateright actor model.
//!
//! # The story
//!
//! A **producer** publishes N logical operations ("charge order 1"), each
//! under an id, and (unless it fires and forgets) waits for the broker's
//! confirm; when the confirm is late it re-publishes, as its policy allows,
//! and when the policy is spent it gives up, telling its caller or not. The **broker** stores what it
//! accepts (or, with publish dedup, drops a publish whose id it already
//! stored), confirms, and hands each stored message to one consumer that
//! asked for work, under a lease. The lease ends when the holder's
//! completion is accepted, when it expires (a fault: the holder may still be
//! working), or when the holder restarts and its old session dies. Each
//! **consumer** crosses two boundaries, effect and completion, in its mode's
//! order, each as its own request, so a crash can fall between them. The
//! **effect store** (a database or payment API) applies effects and, when
//! configured, keeps a durable ledger checked in the effect's transaction.
//!
//! The four delivery modes are parameter sets of this one model
//! ([`crate::pipeline::Pipeline::of`]): at-most-once completes first and
//! never retries; at-least-once applies first and retries; the atomic
//! boundary stores the broker offset as a completion record in the effect's
//! conditional transaction and relies on the broker's publish dedup;
//! idempotency checks the operation's stable id in the ledger.
//!
//! # Assumptions (shared/BROKER-FACTS.md)
//!
//! - Leases are not exclusive: one can expire while its holder still works
//!   (S2, R4, D1). Each expiry is a budgeted fault.
//! - A consumer's restart ends its session and frees its leases (R2); a
//!   delivery addressed to the dead session is ignored.
//! - Completion from a delivery that no longer holds the lease is rejected
//!   (R3; K4 with KIP-447 fencing). A consumer that completes first only
//!   applies the effect once its completion is accepted.
//! - Publish dedup keys on the id the producer attaches and lasts the whole
//!   run (K2 within one producer session, S4 within its window); a fresh id
//!   per attempt defeats it (W1).
//! - A crashed consumer always comes back: recovery is not a fault, and its
//!   leases are freed when it rejoins or by a lease expiry; "no loss"
//!   therefore assumes consumers restart. RabbitMQ requeues a dead
//!   connection's deliveries at once (R2; `onceproof replay` showed it,
//!   docs/REPLAY.md): the model folds that into the rejoin, which may
//!   follow the crash at once, and a rejoined consumer that stays idle does
//!   all a dead one does, so no real behaviour is missing. SQS and Kafka
//!   free nothing until a timeout.
//! - On the generic broker completion is per message and prefetch is one.
//!   A RabbitMQ channel may prefetch up to three deliveries (`basic.qos`);
//!   the broker pushes them in delivery-tag order, an ack with
//!   `multiple = true` covers every earlier tag of the channel, and a
//!   consumer timeout or a restart requeues the whole channel (R2, R4).
//!   On a Kafka log ([`log`]) a commit is cumulative, a poll returns up to
//!   `max-poll-records` records and a handler may run asynchronously, so a
//!   commit can cover a record still being processed.
//! - A Kafka partition ([`log`]) has no per-message lease: its fault is a
//!   rebalance that moves the partition while the owner still works (K4),
//!   budgeted like a lease expiry; fencing rejects the zombie's commit,
//!   never its effect. Committed offsets are durable.
//! - Kafka transactions (K3) are one atomic step at the coordinator: the
//!   record's output and its offset commit together, fenced by the group
//!   generation, and a transaction the coordinator aborts (a budgeted
//!   fault) bumps that token without rewinding the consumer. The protocol
//!   itself is correct (no hanging or torn transactions, KIP-890); an
//!   effect outside the transaction is not covered by it.
//! - The idempotent producer (K2) drops the client's own re-sends; an
//!   application-level `send` of the same operation is a new record.
//! - Only Leg 1 messages (publishes and confirms) and, as their own fault
//!   (`bounds.reply-losses`), the effect store's replies can be lost. The
//!   store's state is durable and each request is one transaction, so a
//!   store crash shows only as a reply lost after the commit (a crash
//!   before it changes nothing); a reply later than the consumer's timeout
//!   reaches the same store state as a lost one followed by the retry, and
//!   is explored as that. The producer crashes only where
//!   `bounds.producer-crashes` allows (default 0), and always restarts as a
//!   new producer session: the broker's per-session publish dedup (K2)
//!   does not know it, and it re-publishes only what it kept durable
//!   (`[producer] publish`: nothing, or the unmarked outbox rows). A
//!   broker with one replica never loses
//!   an accepted message. With two or three ([`replication`]) a leader
//!   failover is a budgeted fault: the new leader has what it replicated,
//!   and a record confirmed before a follower had it can be gone (Leg 2,
//!   K1). A leader that fails with no eligible follower comes back with
//!   its whole log. SQS is assumed durable.
//! - Links are FIFO per pair of actors (TCP); stateright's ordered network.
//! - Fault budgets are totals over a run: consumer and producer crashes
//!   (counted by an incarnation number in stateright storage), Leg 1 losses (sent minus
//!   received minus in flight), lease expiries (the broker's counter), and
//!   spurious producer retries (a re-publish while the previous attempt or
//!   its confirm is still on its way). A retry after a real loss is paid for
//!   by the loss budget, so no operation is stranded by the budget.
//! - "No loss" is owed for every operation handed to the producer, whether
//!   or not the broker confirmed it; only a failure the producer reports to
//!   its caller (its policy gave up, `on-give-up = "report"`) releases it.
//!
//! See each actor's module for its part, and [`properties`] for what is
//! checked.

pub mod ample;
pub mod broker;
pub mod consumer;
pub mod durable;
pub mod faults;
pub mod horizon;
pub mod log;
pub mod msg;
pub mod producer;
pub mod properties;
pub mod replication;
pub mod sinks;
pub mod store;
pub mod symmetry;
pub mod witnesses;

use crate::pipeline::Config;
use msg::{Dispatch, Msg, Timer};
use serde::Serialize;
use stateright::actor::{Actor, ActorModel, ActorModelState, Envelope, Id, LossyNetwork, Network};
use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

pub const PRODUCER: usize = 0;
pub const BROKER: usize = 1;
pub const STORE: usize = 2;
pub(crate) const FIRST_CONSUMER: usize = 3;

pub fn consumer_id(index: u8) -> Id {
    Id::from(FIRST_CONSUMER + index as usize)
}

pub fn consumer_index(id: Id) -> u8 {
    (usize::from(id) - FIRST_CONSUMER) as u8
}

/// Timers carry no time: any set timer may fire in any state.
pub fn no_delay() -> Range<Duration> {
    Duration::ZERO..Duration::ZERO
}

pub type Out = stateright::actor::Out<Node>;
pub type Model = ActorModel<Node, Config, History>;
pub type State = ActorModelState<Node, History>;
pub type Action = stateright::actor::ActorModelAction<Msg, Timer, Dispatch>;

/// One actor of the pipeline. All share one type so one `ActorModel` holds
/// them; each variant delegates to its module.
#[derive(Clone, Debug)]
pub enum Node {
    Producer(Config),
    Broker(Config),
    Store(Config),
    Consumer(Config),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum NodeState {
    Producer(producer::ProducerState),
    Broker(broker::BrokerState),
    Store(store::StoreState),
    Consumer(consumer::ConsumerState),
}

fn replace(state: &mut Cow<NodeState>, next: Option<NodeState>) {
    if let Some(next) = next {
        *state = Cow::Owned(next);
    }
}

impl Actor for Node {
    type Msg = Msg;
    type Timer = Timer;
    type State = NodeState;
    /// What survives a crash: an incarnation number, and the producer's
    /// durable record.
    type Storage = durable::Durable;
    type Random = Dispatch;

    fn name(&self) -> String {
        match self {
            Node::Producer(_) => "producer",
            Node::Broker(_) => "broker",
            Node::Store(_) => "effect store",
            Node::Consumer(_) => "consumer",
        }
        .to_string()
    }

    fn on_start(&self, _id: Id, storage: &Option<durable::Durable>, o: &mut Out) -> NodeState {
        match self {
            Node::Producer(cfg) => NodeState::Producer(producer::start(cfg, storage, o)),
            Node::Broker(cfg) => NodeState::Broker(broker::start(cfg, o)),
            Node::Store(cfg) => NodeState::Store(store::start(cfg)),
            Node::Consumer(_) => NodeState::Consumer(consumer::start(storage, o)),
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<NodeState>, src: Id, msg: Msg, o: &mut Out) {
        let next = match (self, state.as_ref()) {
            (Node::Producer(cfg), NodeState::Producer(s)) => {
                producer::on_msg(cfg, s, msg, o).map(NodeState::Producer)
            }
            (Node::Broker(cfg), NodeState::Broker(s)) => {
                broker::on_msg(cfg, s, src, msg, o).map(NodeState::Broker)
            }
            (Node::Store(cfg), NodeState::Store(s)) => {
                store::on_msg(cfg, s, src, msg, o).map(NodeState::Store)
            }
            (Node::Consumer(cfg), NodeState::Consumer(s)) => {
                consumer::on_msg(cfg, s, msg, o).map(NodeState::Consumer)
            }
            _ => None,
        };
        replace(state, next);
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<NodeState>, timer: &Timer, o: &mut Out) {
        let next = match (self, state.as_ref(), *timer) {
            (Node::Producer(cfg), NodeState::Producer(s), Timer::Retry(op)) => {
                producer::on_timeout(cfg, s, op, o).map(NodeState::Producer)
            }
            (Node::Producer(cfg), NodeState::Producer(s), Timer::Send(op)) => {
                producer::on_send(cfg, s, op, o).map(NodeState::Producer)
            }
            (Node::Broker(cfg), NodeState::Broker(s), Timer::Lease(msg)) => {
                broker::on_lease_expiry(cfg, s, msg, o).map(NodeState::Broker)
            }
            (Node::Broker(cfg), NodeState::Broker(s), Timer::Replay(msg)) => {
                broker::on_replay(cfg, s, msg, o).map(NodeState::Broker)
            }
            (Node::Broker(cfg), NodeState::Broker(s), Timer::Phantom(msg)) => {
                broker::on_phantom(cfg, s, msg, o).map(NodeState::Broker)
            }
            (Node::Broker(_), NodeState::Broker(s), Timer::DedupWindow(key)) => {
                broker::on_window_closed(s, key, o).map(NodeState::Broker)
            }
            (Node::Broker(cfg), NodeState::Broker(s), Timer::Redrive(msg)) => {
                broker::on_redrive(cfg, s, msg, o).map(NodeState::Broker)
            }
            (Node::Consumer(cfg), NodeState::Consumer(s), Timer::Work(msg)) => {
                consumer::on_work(cfg, s, msg, o).map(NodeState::Consumer)
            }
            (Node::Broker(cfg), NodeState::Broker(s), Timer::Rebalance(to)) => {
                log::on_rebalance(cfg, s, to, o).map(NodeState::Broker)
            }
            (Node::Consumer(cfg), NodeState::Consumer(s), Timer::EffectTimeout(job)) => {
                consumer::on_effect_timeout(cfg, s, job, o).map(NodeState::Consumer)
            }
            (Node::Consumer(_), NodeState::Consumer(s), Timer::AutoCommit) => {
                consumer::on_auto_commit(s, o).map(NodeState::Consumer)
            }
            (Node::Broker(cfg), NodeState::Broker(s), Timer::Replicate(f)) => {
                replication::on_replicate(cfg, s, f, o).map(NodeState::Broker)
            }
            (Node::Broker(cfg), NodeState::Broker(s), Timer::IsrShrink(f)) => {
                replication::on_shrink(cfg, s, f, o).map(NodeState::Broker)
            }
            (Node::Broker(cfg), NodeState::Broker(s), Timer::Failover(f)) => {
                replication::on_failover(cfg, s, f, o).map(NodeState::Broker)
            }
            (Node::Store(_), NodeState::Store(s), Timer::Expire(key)) => {
                store::on_expire(s, key, o).map(NodeState::Store)
            }
            (Node::Store(_), NodeState::Store(s), Timer::Finish(job)) => {
                store::on_finish(s, job, o).map(NodeState::Store)
            }
            (Node::Broker(_), NodeState::Broker(s), Timer::TxnAbort) => {
                log::on_abort(s, o).map(NodeState::Broker)
            }
            _ => None,
        };
        replace(state, next);
    }

    fn on_random(&self, _id: Id, state: &mut Cow<NodeState>, d: &Dispatch, o: &mut Out) {
        let next = match (self, state.as_ref()) {
            (Node::Broker(cfg), NodeState::Broker(s)) => {
                broker::on_dispatch(cfg, s, *d, o).map(NodeState::Broker)
            }
            _ => None,
        };
        replace(state, next);
    }
}

/// The most operations a model may have: the history keeps per-operation
/// counters in fixed arrays and bitmasks.
pub const MAX_OPERATIONS: usize = 4;

/// Observations the actors cannot make themselves, kept small and bounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct History {
    /// Leg 1 messages sent and not yet received (in flight or lost), per
    /// operation (a publish or a confirm carries one).
    pub leg1_outstanding: [u8; MAX_OPERATIONS],
    /// The effect store's replies sent and not yet received (in flight or
    /// lost: `bounds.reply-losses`).
    pub replies_outstanding: u8,
    /// Every other message sent and not yet received.
    pub other_outstanding: u8,
    /// Bit `op` is set once `op` has been handed to the pipeline (the
    /// producer's first send): from then on it must be applied, unless the
    /// producer reports its failure to its caller.
    pub promised: u8,
    /// Bit `op` is set once the broker has confirmed a publish of `op`.
    pub confirmed: u8,
    /// A re-published attempt reached the broker.
    pub retry_received: bool,
    /// The latest producer session that published (1 until a restarted
    /// producer publishes again).
    pub producer_session: u8,
    /// Confirms, per operation, that reached the producer after the
    /// session they were addressed to had died: neither lost nor read, so
    /// they settle an attempt like a loss does (the retry budget's
    /// accounting, [`faults::Tally`]).
    pub stale_confirms: [u8; MAX_OPERATIONS],
    /// A consumer re-sent an effect whose reply never came.
    pub effect_retried: bool,
    /// The store's ledger refused such a re-sent effect.
    pub retry_refused: bool,
}

impl History {
    /// Before the first step. A dual write's business rows have committed
    /// (each caller was told its order exists), so every operation is owed
    /// before its event is published.
    pub fn initial(cfg: &Config) -> History {
        let all = ((1u16 << cfg.bounds.operations) - 1) as u8;
        History {
            promised: if cfg.pipeline.publish == crate::pipeline::Publish::DualWrite {
                all
            } else {
                0
            },
            ..History::default()
        }
    }
}

fn record_out(_: &Config, h: &History, env: Envelope<&Msg>) -> Option<History> {
    let mut next = *h;
    if let Some(op) = env.msg.leg1_op() {
        next.leg1_outstanding[op as usize] += 1;
    } else if env.msg.is_effect_reply() {
        next.replies_outstanding += 1;
    } else {
        next.other_outstanding += 1;
    }
    match env.msg {
        Msg::Apply { retry: true, .. } => next.effect_retried = true,
        Msg::Applied {
            retry: true,
            fresh: false,
            ..
        } => next.retry_refused = true,
        Msg::PublishAck { op, .. } => next.confirmed |= 1 << op,
        Msg::Publish { op, session, .. } => {
            next.promised |= 1 << op;
            next.producer_session = next.producer_session.max(*session);
        }
        _ => {}
    }
    Some(next)
}

fn record_in(_: &Config, h: &History, env: Envelope<&Msg>) -> Option<History> {
    let mut next = *h;
    if let Some(op) = env.msg.leg1_op() {
        next.leg1_outstanding[op as usize] -= 1;
    } else if env.msg.is_effect_reply() {
        next.replies_outstanding -= 1;
    } else {
        next.other_outstanding -= 1;
    }
    match env.msg {
        Msg::Publish { attempt, .. } => next.retry_received |= *attempt > 0,
        Msg::PublishAck { op, session, .. } if *session < h.producer_session => {
            next.stale_confirms[*op as usize] += 1;
        }
        _ => {}
    }
    Some(next)
}

/// Messages in flight. stateright 0.31's `Network::iter_all` never advances
/// on an ordered network, so the flows are read directly.
pub fn in_flight(s: &State) -> impl Iterator<Item = &Msg> {
    match &s.network {
        Network::Ordered(flows) => flows.values().flatten(),
        _ => unreachable!("the model uses an ordered network"),
    }
}

/// Messages in flight from one actor.
pub fn in_flight_from(s: &State, src: Id) -> impl Iterator<Item = &Msg> {
    match &s.network {
        Network::Ordered(flows) => flows
            .iter()
            .filter(move |((from, _), _)| *from == src)
            .flat_map(|(_, q)| q),
        _ => unreachable!("the model uses an ordered network"),
    }
}

/// Producer crashes so far, counting a current one.
pub fn producer_crashes(s: &State) -> u8 {
    durable::Durable::restarts(&s.actor_storages[PRODUCER]) + s.crashed[PRODUCER] as u8
}

/// Consumer crashes so far, counting a current one.
pub fn crashes(s: &State) -> u8 {
    (FIRST_CONSUMER..s.actor_states.len())
        .map(|i| durable::Durable::restarts(&s.actor_storages[i]) + s.crashed[i] as u8)
        .sum()
}

pub fn build(cfg: Config) -> Model {
    build_demanding(cfg, witnesses::applying(&cfg))
}

/// The model with the two properties and the given witnesses (tests demand
/// witnesses a configuration would not, to see them come out unreached).
pub fn build_demanding(cfg: Config, demanded: Vec<properties::Check>) -> Model {
    let b = cfg.bounds;
    let mut m = ActorModel::new(cfg, History::initial(&cfg))
        .actor(Node::Producer(cfg))
        .actor(Node::Broker(cfg))
        .actor(Node::Store(cfg))
        .actors((0..b.consumers).map(|_| Node::Consumer(cfg)))
        .init_network(Network::new_ordered([]))
        .lossy_network(if b.losses > 0 || b.reply_losses > 0 {
            LossyNetwork::Yes
        } else {
            LossyNetwork::No
        })
        .max_crashes((b.crashes.min(b.consumers) + b.producer_crashes.min(1)) as usize)
        .record_msg_out(record_out)
        .record_msg_in(record_in)
        .within_boundary(faults::within_budgets);
    for p in properties::all(&cfg)
        .into_iter()
        .take(properties::PROPERTIES.len())
    {
        m = m.property(p.expectation, p.name, p.condition);
    }
    for w in demanded {
        m = m.property(w.expectation, w.name, w.condition);
    }
    m
}

/// Typed views of one actor's state in a system state.
pub fn producer(s: &State) -> &producer::ProducerState {
    match &*s.actor_states[PRODUCER] {
        NodeState::Producer(p) => p,
        _ => unreachable!("actor 0 is the producer"),
    }
}

pub fn broker(s: &State) -> &broker::BrokerState {
    match &*s.actor_states[BROKER] {
        NodeState::Broker(b) => b,
        _ => unreachable!("actor 1 is the broker"),
    }
}

pub fn store(s: &State) -> &store::StoreState {
    match &*s.actor_states[STORE] {
        NodeState::Store(st) => st,
        _ => unreachable!("actor 2 is the store"),
    }
}

/// Each consumer's index, whether it is down, and its (possibly stale)
/// state.
pub fn consumers(s: &State) -> impl Iterator<Item = (u8, bool, &consumer::ConsumerState)> {
    (FIRST_CONSUMER..s.actor_states.len()).map(|i| match &*s.actor_states[i] {
        NodeState::Consumer(c) => ((i - FIRST_CONSUMER) as u8, s.crashed[i], c),
        _ => unreachable!("actors from 3 on are consumers"),
    })
}
