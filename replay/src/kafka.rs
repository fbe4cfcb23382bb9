//! The Kafka mapping, on any Kafka-protocol broker (here tansu, in-memory
//! storage) through librdkafka's synchronous clients.
//!
//! How a model step becomes client calls:
//! - `reset`: a fresh topic of one partition (`onceproof-replay-<pid>-<start ms>-<n>`,
//!   made with CreateTopics) and a fresh consumer group, so nothing —
//!   records or committed offsets — is left from an earlier replay.
//! - `publish`: one record whose payload is `op=<op>`, then a flush that
//!   waits for its delivery report (acks=all), which is the confirm. A lost
//!   confirm is the report awaited and thrown away, and the producer client
//!   dropped and made anew, so nothing in the driver remembers the store.
//! - `receive`: consumer `c` takes the next record from its own position.
//!   librdkafka prefetches a batch, but a poll hands out one record and
//!   moves the position past that one only, which is what the model's
//!   "poll" means. The delivery count is kept by the driver (how often this
//!   offset was handed to any consumer in this replay): Kafka keeps none.
//! - `complete`: a synchronous offset commit of the record's offset + 1.
//! - `crash`: the consumer client is dropped with no commit; its position,
//!   which lived only in the client, is lost.
//! - `restart`: a new client in the same group, starting at the group's
//!   committed offset (or the earliest record when none is committed).
//!
//! Assumptions. Without a rebalance in the plan, consumers are assigned
//! partition 0 by hand (`assign`, not `subscribe`): there is no group join,
//! so no rebalance delay, and the commits are made outside any generation
//! (generation -1), which the broker must store and hand back per group
//! (the tests check it). The group gives its one partition to consumer 1,
//! as the model's generation 1 does; the other consumers own nothing and
//! fetch nothing. With a rebalance in the plan, the consumers are group
//! members (`subscribe`): consumer 1 joins first and is assigned the
//! partition, the others join and get none, and every member polls while it
//! holds no record, as a consumer loop does. The rebalance is the model's
//! zombie: consumer 1 holds its record and stops polling, misses
//! `max.poll.interval.ms` (7 s), and the coordinator gives the partition to
//! the next member, which resumes at the committed offset; consumer 1 is not
//! told, and its later commit is fenced (tansu answers `UnknownMemberId`).
//! Kafka has no per-message lease: the model's lease expiry is a rebalance
//! here, so `expire_lease` is refused.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::broker::{
    Broker, Completion, Consumer as ReplayConsumer, Delivery, Failure, Result, fail,
};

/// The consumer the group gives the one partition to.
const OWNER: u8 = 0;
/// How long a member waits for the partition when it joins: the first
/// join of a group takes about 3 s on tansu, a rejoin after a killed member
/// its session timeout more.
const JOIN_WAIT: Duration = Duration::from_secs(20);
/// How long a member that joins after the owner polls before it counts the
/// group as settled (a rebalance takes about 3 s on tansu).
const SETTLE: Duration = Duration::from_secs(5);
/// How long a rebalance may take: the busy owner's poll interval runs out
/// (`MAX_POLL_INTERVAL`), then the group rebalances.
const TAKE_OVER_WAIT: Duration = Duration::from_secs(30);
/// The shortest poll interval librdkafka accepts with the session timeout
/// below: a member that does not poll this long leaves the group.
const MAX_POLL_INTERVAL_MS: &str = "7000";
/// How long a receive waits for a record before it says none came.
const RECEIVE_WAIT: Duration = Duration::from_secs(2);
/// Bound on any one request to the broker (confirm, commit, offsets).
const REQUEST_WAIT: Duration = Duration::from_secs(10);

/// The producer's side, the topic and the group (one name for both).
pub struct Kafka {
    bootstrap: String,
    /// The topic, and the group's name too.
    topic: String,
    producer: Option<BaseProducer<Reports>>,
    reports: Arc<Mutex<Vec<Report>>>,
}

/// One consumer of the group: a client only if it owns the partition.
pub struct KafkaConsumer {
    index: u8,
    bootstrap: String,
    topic: String,
    /// A group member (subscribe, generations, fencing) rather than a
    /// hand-assigned client.
    membership: bool,
    client: Option<BaseConsumer>,
    /// A record fetched while waiting or idle, handed out by the next
    /// receive (the partition is paused meanwhile).
    stash: Option<Delivery>,
    /// It works on a record: its loop does not poll until it completes it.
    busy: bool,
    /// A rebalance moved the partition away without telling it.
    zombie: bool,
}

/// A delivery report: the offset the record was stored at, or the error.
type Report = std::result::Result<i64, String>;

/// Collects the delivery reports that the producer's poll/flush hands over.
struct Reports(Arc<Mutex<Vec<Report>>>);

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let report = match result {
            Ok(m) => Ok(m.offset()),
            Err((e, _)) => Err(e.to_string()),
        };
        lock(&self.0).push(report);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn kafka_err(what: &str, e: KafkaError) -> Failure {
    Failure(format!("kafka: {what}: {e}"))
}

fn config(bootstrap: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap)
        // Loopback only: fail fast instead of retrying for minutes.
        .set("socket.timeout.ms", "10000")
        .set("reconnect.backoff.max.ms", "1000")
        .set("log_level", "3");
    cfg
}

/// Consumer `c`'s client settings in the replay's group (the topic and the
/// group share one name).
fn consumer_config(bootstrap: &str, topic: &str, c: u8) -> ClientConfig {
    let mut cfg = config(bootstrap);
    cfg.set("group.id", topic)
        .set("client.id", format!("onceproof-replay-consumer-{}", c + 1))
        // Commits happen only where the model completes.
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // Short timeouts so that nothing waits long for a group session.
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "1000")
        .set("max.poll.interval.ms", MAX_POLL_INTERVAL_MS)
        .set("fetch.wait.max.ms", "100");
    cfg
}

/// A client assigned partition 0 by hand, at the group's committed offset.
fn new_consumer(bootstrap: &str, topic: &str, c: u8) -> Result<BaseConsumer> {
    let consumer: BaseConsumer = consumer_config(bootstrap, topic, c)
        .create()
        .map_err(|e| kafka_err("creating a consumer", e))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Stored)
        .map_err(|e| kafka_err("naming partition 0", e))?;
    consumer
        .assign(&tpl)
        .map_err(|e| kafka_err("assigning partition 0", e))?;
    Ok(consumer)
}

/// A member of the group, subscribed to its topic: generations, rebalances
/// and fencing as a Kafka group has them.
fn new_member(bootstrap: &str, topic: &str, c: u8) -> Result<BaseConsumer> {
    let consumer: BaseConsumer = consumer_config(bootstrap, topic, c)
        .create()
        .map_err(|e| kafka_err("creating a group member", e))?;
    consumer
        .subscribe(&[topic])
        .map_err(|e| kafka_err("subscribing", e))?;
    Ok(consumer)
}

/// The group's committed offset of partition 0, as the broker tells it
/// (None when the group has committed nothing).
fn committed(consumer: &BaseConsumer, topic: &str) -> Result<Option<i64>> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let got = consumer
        .committed_offsets(tpl, REQUEST_WAIT)
        .map_err(|e| kafka_err("fetching the committed offset", e))?;
    let elem = got
        .find_partition(topic, 0)
        .ok_or_else(|| Failure("kafka: the committed offsets name no partition 0".into()))?;
    if let Err(e) = elem.error() {
        return Err(kafka_err("the committed offset of partition 0", e));
    }
    Ok(match elem.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    })
}

impl Kafka {
    /// Checks that the broker answers (a metadata request) and makes no
    /// topic yet: `reset` does.
    pub fn connect(bootstrap: &str) -> Result<Kafka> {
        let mut k = Kafka {
            bootstrap: bootstrap.to_string(),
            topic: String::new(),
            producer: None,
            reports: Arc::new(Mutex::new(Vec::new())),
        };
        let producer = k.new_producer()?;
        producer
            .client()
            .fetch_metadata(None, Duration::from_secs(5))
            .map_err(|e| {
                Failure(format!(
                    "kafka: no Kafka-protocol broker answers at {bootstrap}: {e}"
                ))
            })?;
        k.producer = Some(producer);
        Ok(k)
    }

    fn config(&self) -> ClientConfig {
        config(&self.bootstrap)
    }

    fn new_producer(&self) -> Result<BaseProducer<Reports>> {
        self.config()
            .set("acks", "all")
            // One record per publish, sent at once: no batching delay.
            .set("linger.ms", "0")
            // No idempotent producer: its producer-id handshake is not what
            // the model's plain publish is, and a retry is a new record.
            .set("enable.idempotence", "false")
            .set("message.timeout.ms", "10000")
            .create_with_context(Reports(Arc::clone(&self.reports)))
            .map_err(|e| kafka_err("creating the producer", e))
    }

    /// The group's committed offset, read by a short-lived client of the
    /// group (for the tests and reports: it is what a restart resumes at).
    pub fn group_committed(&self) -> Result<Option<i64>> {
        let probe: BaseConsumer = self
            .config()
            .set("group.id", &self.topic)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| kafka_err("creating a probe consumer", e))?;
        committed(&probe, &self.topic)
    }

    /// The replay's topic (fresh at each reset).
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

impl Broker for Kafka {
    fn describe(&self) -> String {
        // The server's version as `scripts/brokers env` read it from the
        // binary: the Kafka protocol does not carry one.
        let version = std::env::var("ONCEPROOF_TANSU_VERSION")
            .unwrap_or_else(|_| "(version unknown)".to_string());
        format!(
            "tansu {version}, a Kafka-protocol broker (not Apache Kafka), through librdkafka {}",
            rdkafka::util::get_rdkafka_version().1
        )
    }

    fn known_differences(&self) -> Vec<String> {
        vec![
            "without a rebalance in the counterexample the consumers are assigned the partition by hand, outside any group generation, so their commits are not fenced (tansu stores them as Kafka does); with one they are group members, and a rebalance takes about 11 s (the busy owner misses max.poll.interval.ms, 7 s)".into(),
        ]
    }

    fn reset(&mut self) -> Result<String> {
        lock(&self.reports).clear();
        let name = crate::unique_name();
        self.topic = name.clone();

        let admin: AdminClient<DefaultClientContext> = self
            .config()
            .create()
            .map_err(|e| kafka_err("creating the admin client", e))?;
        let topic = NewTopic::new(&name, 1, TopicReplication::Fixed(1));
        let opts = AdminOptions::new().operation_timeout(Some(REQUEST_WAIT));
        // The admin client's calls are futures its own thread drives: a
        // current-thread runtime (the crate's tokio, for lapin) waits.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure(format!("kafka: a runtime for the admin client: {e}")))?;
        let results = rt
            .block_on(admin.create_topics([&topic], &opts))
            .map_err(|e| kafka_err("CreateTopics", e))?;
        for r in results {
            if let Err((t, code)) = r {
                return fail(format!("kafka: creating topic {t}: {code}"));
            }
        }

        // Send, then receive, only once the topic is in the metadata, so the
        // first publish does not meet an unknown topic.
        let producer = match self.producer.take() {
            Some(p) => p,
            None => self.new_producer()?,
        };
        let deadline = Instant::now() + REQUEST_WAIT;
        loop {
            let md = producer
                .client()
                .fetch_metadata(Some(&name), Duration::from_secs(5))
                .map_err(|e| kafka_err("metadata of the new topic", e))?;
            let ready = md
                .topics()
                .iter()
                .any(|t| t.name() == name && t.error().is_none() && t.partitions().len() == 1);
            if ready {
                break;
            }
            if Instant::now() > deadline {
                return fail(format!(
                    "kafka: topic {name} not in the metadata after creation"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
        self.producer = Some(producer);

        Ok(name)
    }

    fn publish(&mut self, op: u8, confirm_lost: bool) -> Result<String> {
        let producer = match self.producer.take() {
            Some(p) => p,
            None => self.new_producer()?,
        };
        lock(&self.reports).clear();
        let payload = format!("op={op}");
        producer
            .send(
                BaseRecord::<(), _>::to(&self.topic)
                    .partition(0)
                    .payload(&payload),
            )
            .map_err(|(e, _)| kafka_err("producing", e))?;
        // flush serves the delivery callback, so the report is in once it
        // returns.
        producer
            .flush(REQUEST_WAIT)
            .map_err(|e| kafka_err("waiting for the delivery report", e))?;
        let report = lock(&self.reports).pop();
        let stored = match report {
            Some(Ok(offset)) => offset,
            Some(Err(e)) => return fail(format!("kafka: record not stored: {e}")),
            None => return fail("kafka: flush returned with no delivery report"),
        };
        if confirm_lost {
            // The report came and is thrown away; the client goes with it.
            drop(producer);
            return Ok(format!(
                "stored at offset {stored} (delivery report discarded, producer dropped)"
            ));
        }
        self.producer = Some(producer);
        Ok(format!("stored at offset {stored} (delivery report)"))
    }

    fn expire_lease(&mut self, _: std::time::Instant) -> Result<String> {
        fail("kafka: no per-message lease to expire (the model's lease expiry is a rebalance)")
    }
}

impl KafkaConsumer {
    /// Consumer `c` of the replay's group. Hand-assigned (`membership`
    /// false): a client at the group's committed offset if `c` owns the one
    /// partition (consumer 1). A group member (`membership`, for plans with
    /// a rebalance): consumer 1 subscribes and waits for the partition; the
    /// others stay out of the group until a rebalance brings them in.
    pub fn attach(
        bootstrap: &str,
        topic: &str,
        c: u8,
        membership: bool,
    ) -> Result<(KafkaConsumer, String)> {
        let mut k = KafkaConsumer {
            index: c,
            bootstrap: bootstrap.to_string(),
            topic: topic.to_string(),
            membership,
            client: None,
            stash: None,
            busy: false,
            zombie: false,
        };
        if membership {
            let seen = if c == OWNER {
                k.join(JOIN_WAIT)?
            } else {
                k.join_idle()?
            };
            return Ok((k, seen));
        }
        if c != OWNER {
            return Ok((k, format!("consumer {} joins, owning no partition", c + 1)));
        }
        let client = new_consumer(bootstrap, topic, c)?;
        let seen = match committed(&client, topic)? {
            Some(o) => format!("consumer {} resumes at committed offset {o}", c + 1),
            None => format!(
                "consumer {} starts at the earliest offset (nothing committed)",
                c + 1
            ),
        };
        k.client = Some(client);
        Ok((k, seen))
    }

    /// A member that gets no partition while the owner has it: it joins
    /// and polls while the group settles (the owner's process polls too, as
    /// it holds nothing yet), then keeps polling while idle.
    fn join_idle(&mut self) -> Result<String> {
        let c = self.index;
        let client = new_member(&self.bootstrap, &self.topic, c)?;
        let settled = Instant::now() + SETTLE;
        while Instant::now() < settled {
            if let Some(d) = fetch(&client, c, Duration::from_millis(200))? {
                self.stash = Some(d);
            }
        }
        let owns = assigned(&client);
        self.client = Some(client);
        if owns {
            return fail(format!(
                "kafka: consumer {} was given the partition when it joined (the group's assignor preferred it to consumer 1)",
                c + 1
            ));
        }
        Ok(format!(
            "consumer {} joined the group, with no partition while consumer 1 owns the one",
            c + 1
        ))
    }

    /// Pauses fetching while a record waits in the stash, so that polling
    /// (which keeps the member in the group) fetches no more.
    fn pause(&self, on: bool) -> Result<()> {
        if let Some(client) = &self.client {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&self.topic, 0);
            // Not assigned (any more): nothing to pause.
            let _ = if on {
                client.pause(&tpl)
            } else {
                client.resume(&tpl)
            };
        }
        Ok(())
    }

    /// Subscribes as a group member and polls until the coordinator assigns
    /// it the partition; a record that poll fetches on the way is kept for
    /// the next receive.
    fn join(&mut self, wait: Duration) -> Result<String> {
        let c = self.index;
        let started = Instant::now();
        let client = match self.client.take() {
            Some(client) => client,
            None => new_member(&self.bootstrap, &self.topic, c)?,
        };
        let deadline = started + wait;
        loop {
            if assigned(&client) {
                break;
            }
            if Instant::now() > deadline {
                return fail(format!(
                    "kafka: consumer {} was not assigned the partition within {} s",
                    c + 1,
                    wait.as_secs()
                ));
            }
            if let Some(d) = fetch(&client, c, Duration::from_millis(200))? {
                self.stash = Some(d);
            }
        }
        let at = match committed(&client, &self.topic)? {
            Some(o) => format!("committed offset {o}"),
            None => "the earliest offset (nothing committed)".to_string(),
        };
        self.client = Some(client);
        Ok(format!(
            "consumer {} joined the group and was assigned partition 0 at {at} after {:.1} s",
            c + 1,
            started.elapsed().as_secs_f64()
        ))
    }
}

fn assigned(client: &BaseConsumer) -> bool {
    client.assignment().map(|a| a.count() > 0).unwrap_or(false)
}

/// One record for consumer `c`, waiting at most `wait`.
fn fetch(consumer: &BaseConsumer, c: u8, wait: Duration) -> Result<Option<Delivery>> {
    let deadline = Instant::now() + wait;
    let (offset, op) = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        match consumer.poll(left) {
            None => return Ok(None),
            Some(Ok(m)) => {
                break (
                    m.offset(),
                    crate::payload_op(m.payload().unwrap_or_default())?,
                );
            }
            // Transient (a broker reconnect, partition EOF): keep waiting.
            Some(Err(KafkaError::PartitionEOF(_))) => continue,
            Some(Err(e)) => return Err(kafka_err(&format!("consumer {} fetching", c + 1), e)),
        }
    };

    Ok(Some(Delivery {
        op,
        // Kafka counts no deliveries: the replay counts the fetches.
        delivery: None,
        handle: offset.to_string(),
        seen: format!("offset {offset} fetched by consumer {}", c + 1),
    }))
}

impl ReplayConsumer for KafkaConsumer {
    fn receive(&mut self, _lease_expires: bool) -> Result<Option<Delivery>> {
        let got = match self.stash.take() {
            Some(d) => {
                self.pause(false)?;
                Some(d)
            }
            // One partition, and it is not this consumer's.
            None => match &self.client {
                None => None,
                Some(consumer) => fetch(consumer, self.index, RECEIVE_WAIT)?,
            },
        };
        self.busy = got.is_some();
        Ok(got)
    }

    fn idle(&mut self) -> Result<()> {
        if !self.membership || self.busy || self.zombie {
            return Ok(());
        }
        let Some(client) = &self.client else {
            return Ok(());
        };
        if self.stash.is_some() {
            // Paused: the poll only keeps the member in the group.
            let _ = client.poll(Duration::from_millis(50));
            return Ok(());
        }
        if let Some(d) = fetch(client, self.index, Duration::from_millis(50))? {
            self.stash = Some(d);
            self.pause(true)?;
        }
        Ok(())
    }

    fn zombie(&mut self) -> Result<String> {
        self.zombie = true;
        Ok(format!(
            "consumer {} is not told: it finishes its record and polls no more",
            self.index + 1
        ))
    }

    fn complete(&mut self, d: &Delivery) -> Result<Completion> {
        let offset: i64 = d
            .handle
            .parse()
            .map_err(|_| Failure(format!("kafka: handle {:?} is not an offset", d.handle)))?;
        let Some(consumer) = &self.client else {
            return fail(format!(
                "kafka: consumer {} owns no partition and fetched nothing to commit",
                self.index + 1
            ));
        };
        self.busy = false;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, 0, Offset::Offset(offset + 1))
            .map_err(|e| kafka_err("naming the commit", e))?;
        Ok(match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => Completion {
                accepted: true,
                seen: format!("committed offset {}", offset + 1),
            },
            Err(e) => Completion {
                accepted: false,
                seen: format!("commit of offset {} refused: {e}", offset + 1),
            },
        })
    }

    /// The rebalance: this consumer joins the group while the owner, busy
    /// with its record, does not poll; the coordinator moves the partition
    /// once the owner misses `max.poll.interval.ms`, and the owner is not
    /// told (a zombie whose commit the broker then fences).
    fn take_over(&mut self) -> Result<String> {
        if !self.membership {
            return fail(
                "kafka: a rebalance needs group members (the plan's consumers were hand-assigned)",
            );
        }
        self.join(TAKE_OVER_WAIT)
    }
}
