//! Scenario files: a user's pipeline described in TOML, without Rust.
//!
//! The schema is a public contract (documented in docs/SCENARIOS.md). It is
//! versioned by `schema`, rejects unknown fields, and is laid out by actor
//! (`[producer]`, `[broker]`, `[consumer]`, `[store]`) so later broker
//! vocabularies, dedup variants and outboxes become new fields of those
//! tables rather than breaking changes.

use crate::check::Verdict;
use crate::model::properties::{APPLIED_ONCE, NO_LOSS, PROGRESS};
use crate::pipeline::{
    Acks, AfterAbort, AttemptIds, AutoCommit, BROKER_KINDS, Bounds, BrokerKind, CompletionOrder,
    Config, DeadLetter, Durability, Effect, GiveUp, LedgerKey, LedgerWrite, Lookup, Mode, Pipeline,
    Processing, Publish, Resend, Retention, SUB_TABLES, StaleCompletion, StoreKind,
};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The schema version this build reads.
pub const SCHEMA: u32 = 1;

/// The largest value each bound accepts: beyond it an exhaustive run does
/// not finish on a laptop, and the state encoding (u8 counters, an 8-bit
/// confirmation mask) would overflow.
const MAX_BOUND: u8 = crate::model::MAX_OPERATIONS as u8;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    schema: u32,
    name: String,
    summary: String,
    mode: Mode,
    #[serde(default)]
    assumptions: Vec<String>,
    #[serde(default)]
    producer: ProducerPart,
    #[serde(default)]
    broker: BrokerPart,
    #[serde(default)]
    consumer: ConsumerPart,
    #[serde(default)]
    store: StorePart,
    /// Read by [`read_bounds`] against the fault registry, so a new fault's
    /// budget is a field here without a line in this file.
    #[serde(default)]
    bounds: toml::Table,
    /// Optional: a file without it is exploratory (verdicts printed, none
    /// expected).
    #[serde(default)]
    expect: Expect,
    /// Optional: the load and fault rates `onceproof risk` prices the cut
    /// sets with; `check` validates it and otherwise leaves it alone.
    rates: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProducerPart {
    retry_on_timeout: Option<bool>,
    max_attempts: Option<u8>,
    on_give_up: Option<GiveUp>,
    attempt_ids: Option<AttemptIds>,
    retry: Option<Resend>,
    publish: Option<Publish>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct BrokerPart {
    kind: Option<String>,
    publish_dedup: Option<bool>,
    stale_completion: Option<StaleCompletion>,
    replicas: Option<u8>,
    acks: Option<Acks>,
    min_in_sync: Option<u8>,
    unclean_election: Option<bool>,
    /// Read by [`read_kafka`] once the kind is known to own it.
    kafka: Option<toml::Table>,
    sqs: Option<toml::Table>,
    rabbitmq: Option<toml::Table>,
}

impl BrokerPart {
    fn has_sub_table(&self, name: &str) -> bool {
        match name {
            "kafka" => self.kafka.is_some(),
            "sqs" => self.sqs.is_some(),
            "rabbitmq" => self.rabbitmq.is_some(),
            _ => false,
        }
    }
}

/// `[broker.kafka]`: the consumer's commit discipline and the group's
/// fencing (docs/SCENARIOS.md).
#[derive(Debug, Default)]
struct KafkaPart {
    commit: Option<KafkaCommit>,
    processing: Option<Processing>,
    max_poll_records: Option<u8>,
    fencing: Option<bool>,
    enable_idempotence: Option<bool>,
    transactions: Option<bool>,
    on_abort: Option<AfterAbort>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum KafkaCommit {
    BeforeProcessing,
    AfterProcessing,
    Auto,
    AutoBackground,
}

const KAFKA_FIELDS: [&str; 7] = [
    "commit",
    "processing",
    "max-poll-records",
    "fencing",
    "enable-idempotence",
    "transactions",
    "on-abort",
];

/// `[broker.kafka]`, field by field, so an error names its field.
fn read_kafka(t: &toml::Table) -> Result<KafkaPart, (String, String)> {
    let mut k = KafkaPart::default();
    for (key, v) in t {
        let bad = |e: toml::de::Error| (key.clone(), first_line(e.message()));
        match key.as_str() {
            "commit" => k.commit = Some(v.clone().try_into().map_err(bad)?),
            "processing" => k.processing = Some(v.clone().try_into().map_err(bad)?),
            "max-poll-records" => {
                k.max_poll_records = Some(v.clone().try_into().map_err(|_| {
                    (
                        key.clone(),
                        format!("expected an integer 1..={MAX_POLL_RECORDS}, found {v}"),
                    )
                })?)
            }
            "fencing" => k.fencing = Some(v.clone().try_into().map_err(bad)?),
            "enable-idempotence" => k.enable_idempotence = Some(v.clone().try_into().map_err(bad)?),
            "transactions" => k.transactions = Some(v.clone().try_into().map_err(bad)?),
            "on-abort" => k.on_abort = Some(v.clone().try_into().map_err(bad)?),
            _ => {
                let known: Vec<String> = KAFKA_FIELDS.iter().map(|f| format!("`{f}`")).collect();
                return Err((
                    key.clone(),
                    format!(
                        "unknown field `{key}`, expected one of {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(k)
}

/// The most records one Kafka poll may return here.
const MAX_POLL_RECORDS: u8 = 3;

/// `[broker.sqs]` (docs/SCENARIOS.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SqsPart {
    visibility_extension: Option<bool>,
    message_group: Option<MessageGroup>,
    max_receive_count: Option<u8>,
    redrive: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum MessageGroup {
    /// Every operation shares one `MessageGroupId`.
    One,
    /// Each operation has its own group: no group lock between them.
    PerOperation,
}

/// `[broker.rabbitmq]` (docs/SCENARIOS.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RabbitPart {
    confirms: Option<bool>,
    ack: Option<AckMode>,
    delivery_limit: Option<u8>,
    dead_letter_strategy: Option<DeadLetterStrategy>,
    redrive: Option<bool>,
    prefetch: Option<u8>,
    ack_multiple: Option<bool>,
    processing: Option<Processing>,
}

/// The largest RabbitMQ prefetch count here: two unacked deliveries on one
/// channel already let an ack cover another, and a pool finish them out
/// of order.
const MAX_PREFETCH: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum AckMode {
    Auto,
    Manual,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum DeadLetterStrategy {
    AtLeastOnce,
    AtMostOnce,
}

/// The largest receive or delivery limit: beyond the fault budgets'
/// reach no message is ever dead-lettered.
const MAX_RECEIVES: u8 = MAX_BOUND;

/// A sub-table read whole; on an error, the key it comes from is the first
/// that fails on its own, so the message names its field.
fn read_part<T: serde::de::DeserializeOwned>(t: &toml::Table) -> Result<T, (String, String)> {
    t.clone().try_into().map_err(|e: toml::de::Error| {
        let culprit = t
            .iter()
            .find(|(k, v)| {
                let mut one = toml::Table::new();
                one.insert(k.to_string(), (*v).clone());
                one.try_into::<T>().is_err()
            })
            .map(|(k, _)| k.clone())
            .unwrap_or_default();
        (culprit, first_line(e.message()))
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConsumerPart {
    order: Option<CompletionOrder>,
    dedup_only_if_redelivered: Option<bool>,
    retry_effect_on_timeout: Option<bool>,
    poison: Option<Vec<u8>>,
    poison_partial_effect: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StorePart {
    ledger_key: Option<LedgerKey>,
    ledger_check: Option<bool>,
    ledger_write: Option<LedgerWrite>,
    check: Option<Lookup>,
    retention: Option<Retention>,
    kind: Option<StoreKind>,
    effect: Option<Effect>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Expect {
    applied_once: Option<Verdict>,
    no_loss: Option<Verdict>,
    /// Optional: a scenario without it is not checked for progress.
    progress: Option<Verdict>,
}

/// A parsed, validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub summary: String,
    pub mode: Mode,
    /// The broker's vocabulary; its mechanisms are already in `config`.
    pub broker_kind: BrokerKind,
    pub assumptions: Vec<String>,
    /// What a run of this scenario explores: `[bounds]` under the quick
    /// profile (CI and results/), see [`Scenario::at`].
    pub config: Config,
    /// The profile `config` was taken from.
    pub profile: Profile,
    /// The deep profile: `[bounds.deep]` merged onto `[bounds]`, if the file
    /// has one.
    pub deep: Option<Config>,
    /// The verdict the author expects, per property name.
    pub expect: Vec<(&'static str, Verdict)>,
    /// `[rates]`, if the file has it.
    pub rates: Option<crate::risk::rates::Rates>,
}

/// Which bounds a run uses: `[bounds]` (quick, the default) or
/// `[bounds.deep]` merged onto them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    #[default]
    Quick,
    Deep,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Deep => "deep",
        }
    }
}

impl Scenario {
    /// The scenario under a profile: a file without `[bounds.deep]` runs
    /// its quick bounds under either.
    pub fn at(&self, profile: Profile) -> Scenario {
        let config = match profile {
            Profile::Deep => self.deep.unwrap_or(self.config),
            Profile::Quick => self.config,
        };
        Scenario {
            config,
            profile,
            ..self.clone()
        }
    }

    /// The faults this run leaves out: the pipeline allows them but their
    /// budget is 0. A proof is cited with them.
    pub fn not_covered(&self) -> Vec<&'static str> {
        crate::model::faults::left_out(&self.config)
            .map(|k| k.unit.1)
            .collect()
    }

    /// Of what this run leaves out, what the deep profile turns on.
    pub fn deep_turns_on(&self) -> Vec<&'static str> {
        let Some(deep) = self.deep else {
            return Vec::new();
        };
        let deep_off: Vec<_> = crate::model::faults::left_out(&deep).collect();
        crate::model::faults::left_out(&self.config)
            .filter(|k| !deep_off.iter().any(|d| d.fault == k.fault))
            .map(|k| k.unit.1)
            .collect()
    }

    pub fn expected(&self, property: &str) -> Option<Verdict> {
        self.expect
            .iter()
            .find(|(p, _)| *p == property)
            .map(|(_, v)| *v)
    }
}

/// Bad input: a one-line message naming the file, line and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

/// Control characters from the file (escape sequences, line breaks) shown
/// escaped, so an error stays one line and cannot drive the terminal.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", printable(&self.file))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{}`", printable(field))?;
        }
        write!(f, ": {}", printable(&self.message))
    }
}

impl std::error::Error for InputError {}

/// The largest scenario file read: the shipped ones are under 4 KiB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The longest scenario name (it names result files).
pub const MAX_NAME_CHARS: usize = 64;

pub fn load(path: &Path) -> Result<Scenario, InputError> {
    let source = read_capped(path)?;
    parse(path, &source)
}

/// A file's text: only a regular file of at most [`MAX_FILE_BYTES`] (a
/// FIFO or a device would block or never end), and no more than that is
/// read from it.
fn read_capped(path: &Path) -> Result<String, InputError> {
    let file = path.display().to_string();
    let cannot = |message: String| InputError {
        file: file.clone(),
        line: None,
        field: None,
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| cannot(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(cannot("not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(cannot(format!(
            "{} bytes is more than a scenario file may hold ({MAX_FILE_BYTES})",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path).map_err(|e| cannot(format!("cannot read: {e}")))?,
            MAX_FILE_BYTES + 1,
        ),
        &mut bytes,
    )
    .map_err(|e| cannot(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(cannot(format!(
            "more than a scenario file may hold ({MAX_FILE_BYTES} bytes)"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
        InputError {
            file: file.clone(),
            line: Some(line_of(valid, at)),
            field: None,
            message: format!("not valid UTF-8 (byte {})", at + 1),
        }
    })
}

pub fn parse(path: &Path, source: &str) -> Result<Scenario, InputError> {
    let file = path.display().to_string();
    let parsed: File = toml::from_str(source).map_err(|e| {
        let at = e.span().map(|s| s.start);
        if let Some(missing) = missing_field(e.message()) {
            return missing_field_error(&file, source, at, missing);
        }
        InputError {
            file: file.clone(),
            line: at.map(|a| line_of(source, a)),
            field: at.and_then(|a| field_at(source, a)),
            message: first_line(e.message()),
        }
    })?;
    let fail = |section: &str, key: &str, message: String| InputError {
        file: file.clone(),
        line: locate(source, section, key),
        field: Some(if section.is_empty() {
            key.to_string()
        } else {
            format!("{section}.{key}")
        }),
        message,
    };
    if parsed.schema != SCHEMA {
        return Err(fail(
            "",
            "schema",
            format!(
                "schema version {} is not supported (this onceproof reads {SCHEMA})",
                parsed.schema
            ),
        ));
    }
    if parsed.name.trim().is_empty()
        || parsed.name.len() > MAX_NAME_CHARS
        || !parsed
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(fail(
            "",
            "name",
            format!(
                "must be 1 to {MAX_NAME_CHARS} letters, digits, '-' and '_' (it names result files)"
            ),
        ));
    }
    if parsed.name.eq_ignore_ascii_case("readme") {
        return Err(fail(
            "",
            "name",
            "`README` is the results matrix's page; choose another name".into(),
        ));
    }
    if let Some(unknown) = parsed
        .assumptions
        .iter()
        .find(|a| crate::assumptions::describe(a).is_none())
    {
        return Err(fail(
            "",
            "assumptions",
            format!(
                "`{unknown}` is not a BROKER-FACTS assumption id (S1-S5, K1-K4, R1-R5, W1-W4, O1, D1)"
            ),
        ));
    }
    let p = &parsed;
    let kind = broker_kind(&p.broker).map_err(|(key, why)| fail("broker", &key, why))?;
    let base = (kind.spec().preset)(Pipeline::of(parsed.mode));
    let kafka = match &p.broker.kafka {
        Some(t) => Some(read_kafka(t).map_err(|(key, why)| fail("broker.kafka", &key, why))?),
        None => None,
    };
    let kafka = kafka.as_ref();
    let kafka_field = |key: &str| fail("broker.kafka", key, String::new());
    if let (Some(_), Some(_)) = (kafka.and_then(|k| k.commit), p.consumer.order) {
        return Err(InputError {
            message: "says what `broker.kafka.commit` already says; on a Kafka broker set \
                      `broker.kafka.commit` only"
                .into(),
            ..fail("consumer", "order", String::new())
        });
    }
    if base.log && p.broker.stale_completion.is_some() {
        return Err(InputError {
            message: "on a Kafka broker a stale commit is a zombie's: set \
                      `broker.kafka.fencing` only"
                .into(),
            ..fail("broker", "stale-completion", String::new())
        });
    }
    if kafka.is_some_and(|k| k.enable_idempotence.is_some()) && p.broker.publish_dedup.is_some() {
        return Err(InputError {
            message: "on a Kafka broker publish dedup is the idempotent producer: set \
                      `broker.kafka.enable-idempotence` only"
                .into(),
            ..fail("broker", "publish-dedup", String::new())
        });
    }
    let sqs: Option<SqsPart> = match &p.broker.sqs {
        Some(t) => Some(read_part(t).map_err(|(key, why)| fail("broker.sqs", &key, why))?),
        None => None,
    };
    let rabbit: Option<RabbitPart> = match &p.broker.rabbitmq {
        Some(t) => Some(read_part(t).map_err(|(key, why)| fail("broker.rabbitmq", &key, why))?),
        None => None,
    };
    let (sqs, rabbit) = (sqs.as_ref(), rabbit.as_ref());
    if let Some(n) = rabbit.and_then(|r| r.prefetch)
        && !(1..=MAX_PREFETCH).contains(&n)
    {
        return Err(fail(
            "broker.rabbitmq",
            "prefetch",
            format!("{n} is out of range: allowed 1..={MAX_PREFETCH}"),
        ));
    }
    for (section, key, n) in [
        (
            "broker.sqs",
            "max-receive-count",
            sqs.and_then(|s| s.max_receive_count),
        ),
        (
            "broker.rabbitmq",
            "delivery-limit",
            rabbit.and_then(|r| r.delivery_limit),
        ),
    ] {
        if let Some(n) = n
            && !(1..=MAX_RECEIVES).contains(&n)
        {
            return Err(fail(
                section,
                key,
                format!("{n} is out of range: allowed 1..={MAX_RECEIVES}"),
            ));
        }
    }
    // The named kinds fix what the generic broker leaves open.
    if kind != BrokerKind::Generic && !base.log {
        for (set, key, why) in [
            (
                p.broker.stale_completion.is_some(),
                "stale-completion",
                "the kind fixes what a stale completion does (SQS standard: a delete with an old receipt handle answers success, S3; SQS FIFO and RabbitMQ refuse it, R3)",
            ),
            (
                p.broker.publish_dedup.is_some(),
                "publish-dedup",
                "the kind fixes publish dedup (SQS FIFO deduplicates within its window, S4; SQS standard and RabbitMQ do not)",
            ),
        ] {
            if set {
                return Err(fail(
                    "broker",
                    key,
                    format!("on broker kind \"{}\" {why}", kind.name()),
                ));
            }
        }
    }
    let durability =
        read_durability(&p.broker, kind).map_err(|(key, why)| fail("broker", key, why))?;
    if sqs.is_some_and(|s| s.message_group.is_some()) && kind != BrokerKind::SqsFifo {
        return Err(fail(
            "broker.sqs",
            "message-group",
            "standard queues have no message groups; `MessageGroupId` is SQS FIFO's (`broker.kind = \"sqs-fifo\"`)".into(),
        ));
    }
    if rabbit.is_some_and(|r| r.confirms == Some(false))
        && p.producer.retry_on_timeout == Some(true)
    {
        return Err(fail(
            "producer",
            "retry-on-timeout",
            "without publisher confirms (`broker.rabbitmq.confirms = false`) the producer never learns that a publish failed, so it cannot retry on a timeout (R1)".into(),
        ));
    }
    if rabbit.is_some_and(|r| r.ack.is_some()) && p.consumer.order.is_some() {
        return Err(fail(
            "consumer",
            "order",
            "says what `broker.rabbitmq.ack` already says; on RabbitMQ set `broker.rabbitmq.ack` only".into(),
        ));
    }
    if p.consumer.dedup_only_if_redelivered.is_some() && kind != BrokerKind::RabbitMq {
        return Err(fail(
            "consumer",
            "dedup-only-if-redelivered",
            format!(
                "the `redelivered` flag is RabbitMQ's (`broker.kind = \"rabbitmq\"`); broker kind \"{}\" sets none",
                kind.name()
            ),
        ));
    }
    if let Some(n) = kafka.and_then(|k| k.max_poll_records)
        && !(1..=MAX_POLL_RECORDS).contains(&n)
    {
        return Err(InputError {
            message: format!("{n} is out of range: allowed 1..={MAX_POLL_RECORDS}"),
            ..kafka_field("max-poll-records")
        });
    }
    let (order, auto_commit) = match kafka.and_then(|k| k.commit) {
        Some(KafkaCommit::BeforeProcessing) => {
            (CompletionOrder::CompletionThenEffect, AutoCommit::Off)
        }
        Some(KafkaCommit::AfterProcessing) => {
            (CompletionOrder::EffectThenCompletion, AutoCommit::Off)
        }
        Some(KafkaCommit::Auto) => (CompletionOrder::EffectThenCompletion, AutoCommit::InPoll),
        Some(KafkaCommit::AutoBackground) => (
            CompletionOrder::EffectThenCompletion,
            AutoCommit::Background,
        ),
        None => (p.consumer.order.unwrap_or(base.order), base.auto_commit),
    };
    // autoAck records completion at delivery: the at-most-once of AMQP.
    let auto_ack = rabbit
        .and_then(|r| r.ack)
        .map_or(base.auto_ack, |a| a == AckMode::Auto);
    let order = match rabbit.and_then(|r| r.ack) {
        Some(_) => CompletionOrder::EffectThenCompletion,
        None => order,
    };
    let stale_completion = match kafka.and_then(|k| k.fencing) {
        Some(true) => StaleCompletion::Rejected,
        Some(false) => StaleCompletion::Accepted,
        None => p.broker.stale_completion.unwrap_or(base.stale_completion),
    };
    let pipeline = Pipeline {
        producer_retries: rabbit
            .and_then(|r| r.confirms)
            .or(p.producer.retry_on_timeout)
            .unwrap_or(base.producer_retries),
        max_attempts: p.producer.max_attempts.or(base.max_attempts),
        give_up: p.producer.on_give_up.unwrap_or(base.give_up),
        attempt_ids: p.producer.attempt_ids.unwrap_or(base.attempt_ids),
        publish: p.producer.publish.unwrap_or(base.publish),
        dedup_per_session: base.dedup_per_session,
        publish_dedup: kafka
            .and_then(|k| k.enable_idempotence)
            .or(p.broker.publish_dedup)
            .unwrap_or(base.publish_dedup),
        stale_completion,
        order,
        ledger_key: p.store.ledger_key.unwrap_or(base.ledger_key),
        ledger_check: p.store.ledger_check.unwrap_or(base.ledger_check),
        ledger_write: p.store.ledger_write.unwrap_or(base.ledger_write),
        lookup: p.store.check.unwrap_or(base.lookup),
        retention: p.store.retention.unwrap_or(base.retention),
        store: p.store.kind.unwrap_or(base.store),
        log: base.log,
        auto_commit,
        processing: kafka
            .and_then(|k| k.processing)
            .or(rabbit.and_then(|r| r.processing))
            .unwrap_or(base.processing),
        max_poll_records: kafka
            .and_then(|k| k.max_poll_records)
            .unwrap_or(base.max_poll_records),
        transactions: kafka
            .and_then(|k| k.transactions)
            .unwrap_or(base.transactions),
        effect: p.store.effect.unwrap_or(base.effect),
        resend: p.producer.retry.unwrap_or(base.resend),
        after_abort: kafka.and_then(|k| k.on_abort).unwrap_or(base.after_abort),
        phantom_redelivery: base.phantom_redelivery,
        visibility_extension: sqs
            .and_then(|s| s.visibility_extension)
            .unwrap_or(base.visibility_extension),
        dedup_window: base.dedup_window,
        one_group: sqs
            .and_then(|s| s.message_group)
            .map_or(base.one_group, |g| g == MessageGroup::One),
        max_receives: sqs
            .and_then(|s| s.max_receive_count)
            .or(rabbit.and_then(|r| r.delivery_limit))
            .or(base.max_receives),
        dead_letter: match rabbit.and_then(|r| r.dead_letter_strategy) {
            Some(DeadLetterStrategy::AtMostOnce) => DeadLetter::Drop,
            Some(DeadLetterStrategy::AtLeastOnce) => DeadLetter::Keep,
            None => base.dead_letter,
        },
        redrive: sqs
            .and_then(|s| s.redrive)
            .or(rabbit.and_then(|r| r.redrive))
            .unwrap_or(base.redrive),
        auto_ack,
        dedup_only_if_redelivered: p
            .consumer
            .dedup_only_if_redelivered
            .unwrap_or(base.dedup_only_if_redelivered),
        retry_effect_on_timeout: p
            .consumer
            .retry_effect_on_timeout
            .unwrap_or(base.retry_effect_on_timeout),
        poison: p
            .consumer
            .poison
            .iter()
            .flatten()
            .filter(|&&n| (1..=MAX_BOUND).contains(&n))
            .fold(0, |m, &n| m | (1 << (n - 1))),
        poison_partial_effect: p.consumer.poison_partial_effect.unwrap_or(false),
        prefetch: rabbit.and_then(|r| r.prefetch).unwrap_or(base.prefetch),
        ack_multiple: rabbit
            .and_then(|r| r.ack_multiple)
            .unwrap_or(base.ack_multiple),
        durability,
        vocabulary: base.vocabulary,
    };
    if let Some(&n) = p
        .consumer
        .poison
        .iter()
        .flatten()
        .find(|&&n| !(1..=MAX_BOUND).contains(&n))
    {
        return Err(fail(
            "consumer",
            "poison",
            format!("operation {n} is out of range: operations are numbered 1..={MAX_BOUND}"),
        ));
    }
    if let Some((section, key, why)) = inconsistent(p, &pipeline, kind) {
        return Err(fail(section, key, why));
    }
    // A budget outside the kind's vocabulary: an error if the file sets it,
    // 0 otherwise.
    for k in &crate::model::faults::REGISTRY {
        if !(k.vocabulary)(&pipeline) && sets_bound(p, k.field) {
            use crate::model::faults::Fault;
            let why = match k.fault {
                Fault::TransactionAbort => format!(
                    "this consumer runs no transactions, so there are no {}; they come with `broker.kafka.transactions = true`",
                    k.unit.1
                ),
                Fault::LeaseExpiry => format!(
                    "broker kind \"{}\" has no {}; a member that loses its partition mid-handler is `bounds.rebalances`",
                    kind.name(),
                    k.unit.1
                ),
                _ => {
                    let only = match k.fault {
                        Fault::BrokerFailover | Fault::IsrShrink
                            if matches!(kind, BrokerKind::SqsStandard | BrokerKind::SqsFifo) =>
                        {
                            "SQS is assumed durable (AWS does not expose its replication)"
                        }
                        Fault::BrokerFailover | Fault::IsrShrink => {
                            "it has one replica; followers come with `broker.replicas = 2` or `3`"
                        }
                        Fault::PhantomRedelivery => {
                            "only SQS standard brings a deleted message back (`broker.kind = \"sqs-standard\"`)"
                        }
                        Fault::DedupWindowExpiry => {
                            "only SQS FIFO deduplicates within a window (`broker.kind = \"sqs-fifo\"`)"
                        }
                        _ => "only a Kafka partition is rebalanced (`broker.kind = \"kafka\"`)",
                    };
                    format!(
                        "broker kind \"{}\" has no {}; {only}",
                        kind.name(),
                        k.unit.1
                    )
                }
            };
            return Err(fail("bounds", k.field, why));
        }
    }
    let out_of_vocabulary = |mut b: Bounds| {
        for k in &crate::model::faults::REGISTRY {
            if !(k.vocabulary)(&pipeline) {
                (k.set_budget)(&mut b, 0);
            }
        }
        b
    };
    let bounds = read_bounds(&p.bounds, "bounds", Bounds::default())
        .map(out_of_vocabulary)
        .map_err(|(section, key, why)| fail(section, &key, why))?;
    let deep = match p.bounds.get("deep") {
        None => None,
        Some(toml::Value::Table(t)) => Some(
            read_bounds(t, "bounds.deep", bounds)
                .map(out_of_vocabulary)
                .map_err(|(section, key, why)| fail(section, &key, why))?,
        ),
        Some(_) => {
            return Err(fail(
                "bounds",
                "deep",
                "must be a table of bounds (`[bounds.deep]`)".into(),
            ));
        }
    };
    if let Some(n) = p.producer.max_attempts
        && !(1..=MAX_ATTEMPTS).contains(&n)
    {
        return Err(fail(
            "producer",
            "max-attempts",
            format!("{n} is out of range: allowed 1..={MAX_ATTEMPTS}"),
        ));
    }
    let config = Config { pipeline, bounds };
    let deep = deep.map(|bounds| Config { pipeline, bounds });
    let most = deep.map_or(bounds.operations, |d| {
        d.bounds.operations.max(bounds.operations)
    });
    if let Some(&n) = p.consumer.poison.iter().flatten().find(|&&n| n > most) {
        return Err(fail(
            "consumer",
            "poison",
            format!("operation {n} is never published: `bounds.operations = {most}`"),
        ));
    }
    // A field is void only if it is void under every profile the file has.
    let mut void = void_fields(p, kafka, &config);
    if let Some(d) = &deep {
        let at_deep = void_fields(p, kafka, d);
        void.retain(|v| at_deep.iter().any(|w| (v.0, v.1) == (w.0, w.1)));
    }
    if let Some((section, key, why)) = void.into_iter().next() {
        return Err(fail(
            section,
            key,
            format!("has no effect here: {why}; remove it or change that setting"),
        ));
    }
    let rates = match &p.rates {
        Some(t) => Some(
            crate::risk::rates::read(t, &config).map_err(|(key, why)| fail("rates", &key, why))?,
        ),
        None => None,
    };
    Ok(Scenario {
        rates,
        path: path.to_path_buf(),
        name: parsed.name.clone(),
        summary: parsed.summary.clone(),
        mode: parsed.mode,
        broker_kind: kind,
        assumptions: parsed.assumptions.clone(),
        config,
        profile: Profile::Quick,
        deep,
        expect: [
            (APPLIED_ONCE, parsed.expect.applied_once),
            (NO_LOSS, parsed.expect.no_loss),
            (PROGRESS, parsed.expect.progress),
        ]
        .into_iter()
        .filter_map(|(p, v)| v.map(|v| (p, v)))
        .collect(),
    })
}

/// A `--rates` file: a `[rates]` table and nothing else, read for `cfg`
/// as a scenario's own table is.
pub fn read_rates_file(path: &Path, cfg: &Config) -> Result<crate::risk::rates::Rates, InputError> {
    let file = path.display().to_string();
    let source = read_capped(path)?;
    let fail = |line: Option<usize>, field: &str, message: String| InputError {
        file: file.clone(),
        line,
        field: Some(field.to_string()),
        message,
    };
    let doc: toml::Table = toml::from_str(&source).map_err(|e| InputError {
        file: file.clone(),
        line: e.span().map(|s| line_of(&source, s.start)),
        field: None,
        message: first_line(e.message()),
    })?;
    if let Some(other) = doc.keys().find(|k| *k != "rates") {
        return Err(fail(
            locate(&source, "", other).or_else(|| {
                let header = format!("[{other}]");
                source
                    .lines()
                    .position(|l| l.trim() == header)
                    .map(|i| i + 1)
            }),
            other,
            "a rates file holds a `[rates]` table only".into(),
        ));
    }
    let table = doc
        .get("rates")
        .and_then(|r| r.as_table())
        .ok_or_else(|| fail(None, "rates", "required: a `[rates]` table".into()))?;
    crate::risk::rates::read(table, cfg)
        .map_err(|(key, why)| fail(locate(&source, "rates", &key), &format!("rates.{key}"), why))
}

/// The most replicas `broker.replicas` accepts: a leader and two
/// followers.
const MAX_REPLICAS: u8 = 3;

/// `[broker]`'s replication fields (Leg 2), checked against the kind: SQS
/// is taken as durable, and a RabbitMQ quorum queue fixes its confirm and
/// its elections.
fn read_durability(b: &BrokerPart, kind: BrokerKind) -> Result<Durability, (&'static str, String)> {
    let set = [
        ("replicas", b.replicas.is_some()),
        ("acks", b.acks.is_some()),
        ("min-in-sync", b.min_in_sync.is_some()),
        ("unclean-election", b.unclean_election.is_some()),
    ];
    if matches!(kind, BrokerKind::SqsStandard | BrokerKind::SqsFifo)
        && let Some((key, _)) = set.iter().find(|(_, on)| *on)
    {
        return Err((
            key,
            format!(
                "on broker kind \"{}\" the queue is assumed durable (AWS does not expose its replication), so it has no replicas to configure",
                kind.name()
            ),
        ));
    }
    let replicas = b.replicas.unwrap_or(1);
    if !(1..=MAX_REPLICAS).contains(&replicas) {
        return Err((
            "replicas",
            format!("{replicas} is out of range: allowed 1..={MAX_REPLICAS}"),
        ));
    }
    if kind == BrokerKind::RabbitMq {
        let quorum = "a quorum queue confirms once a majority of its replicas hold the message and elects only from that majority (R1)";
        if let Some((key, _)) = set[1..].iter().find(|(_, on)| *on) {
            return Err((
                key,
                format!("on broker kind \"rabbitmq\" {quorum}; set `broker.replicas` only"),
            ));
        }
        return Ok(Durability {
            replicas,
            acks: Acks::All,
            min_in_sync: replicas / 2 + 1,
            unclean_election: false,
        });
    }
    let min_in_sync = b.min_in_sync.unwrap_or(1);
    if !(1..=replicas).contains(&min_in_sync) {
        return Err((
            "min-in-sync",
            format!("{min_in_sync} is out of range: allowed 1..={replicas} (`broker.replicas`)"),
        ));
    }
    Ok(Durability {
        replicas,
        acks: b.acks.unwrap_or(Durability::SINGLE.acks),
        min_in_sync,
        unclean_election: b.unclean_election.unwrap_or(false),
    })
}

/// Settings that contradict each other, each named by the field that
/// cannot hold under the rest.
fn inconsistent(
    f: &File,
    p: &Pipeline,
    kind: BrokerKind,
) -> Option<(&'static str, &'static str, String)> {
    if p.publish == Publish::Outbox {
        let why = if !p.producer_retries {
            Some(
                "the relay waits for each confirm, and `producer.retry-on-timeout = false` fires and forgets",
            )
        } else if p.max_attempts.is_some() {
            Some(
                "the relay re-publishes until confirmed (the row stays until then), and `producer.max-attempts` gives up",
            )
        } else {
            None
        };
        if let Some(why) = why {
            return Some((
                "producer",
                "publish",
                format!("an outbox row is marked published only on a confirm; {why}"),
            ));
        }
    }
    if p.transactions {
        let why = if p.auto_commit != AutoCommit::Off {
            Some(
                "`broker.kafka.commit = \"auto\"` or `\"auto-background\"` commits outside the transaction",
            )
        } else if p.order == CompletionOrder::CompletionThenEffect {
            Some(
                "the consumer commits before it processes (`broker.kafka.commit = \"before-processing\"` or mode \"at-most-once\")",
            )
        } else if p.processing == Processing::Async {
            Some(
                "`broker.kafka.processing = \"async\"` hands records to a pool, and one producer's transactions run one at a time",
            )
        } else {
            None
        };
        if let Some(why) = why {
            return Some((
                "broker.kafka",
                "transactions",
                format!(
                    "a transaction commits the offsets with the output, after processing; {why}"
                ),
            ));
        }
    }
    if p.poison != 0 {
        let why = if p.log {
            Some(
                "a Kafka consumer cannot hand one record back (it seeks, and its offset commits are cumulative); not modelled",
            )
        } else if p.auto_ack {
            Some(
                "with autoAck the broker forgot the message at delivery, so there is nothing to give back",
            )
        } else if p.prefetch > 1 {
            Some(
                "a handler failure is modelled for a consumer that holds one delivery at a time (`broker.rabbitmq.prefetch = 1`)",
            )
        } else {
            None
        };
        if let Some(why) = why {
            return Some(("consumer", "poison", why.to_string()));
        }
    }
    if p.api() && !p.touches_store() {
        return Some((
            "store",
            "kind",
            "an API is an effect outside the broker; `store.effect = \"kafka-topic\"` puts the effect in the output topic".to_string(),
        ));
    }
    if p.effect == Effect::KafkaTopic && !p.transactions {
        let how = if p.log {
            "set `broker.kafka.transactions = true`"
        } else {
            "that needs `broker.kind = \"kafka\"` and `broker.kafka.transactions = true`"
        };
        return Some((
            "store",
            "effect",
            format!(
                "an output topic is an effect of its own only inside a Kafka transaction: {how}; a plain producer's send is an external effect (`store.effect = \"external\"`)"
            ),
        ));
    }
    if f.producer.retry.is_some() && !p.log {
        return Some((
            "producer",
            "retry",
            format!(
                "broker kind \"{}\" deduplicates by the message id, whoever re-sends it; the client-internal vs application distinction is Kafka's idempotent producer's (sequence numbers; use `producer.attempt-ids` here)",
                kind.name()
            ),
        ));
    }
    None
}

/// The broker kind, and a sub-table only with its own kind.
fn broker_kind(b: &BrokerPart) -> Result<BrokerKind, (String, String)> {
    let name = b.kind.as_deref().unwrap_or("generic");
    let Some(kind) = BrokerKind::by_name(name) else {
        let known: Vec<String> = BROKER_KINDS
            .iter()
            .map(|k| format!("\"{}\"", k.name))
            .collect();
        let why = format!(
            "unknown broker kind \"{name}\", expected {}",
            known.join(", ")
        );
        return Err(("kind".into(), why));
    };
    for (table, kinds) in SUB_TABLES {
        if b.has_sub_table(table) && !kinds.contains(&name) {
            let owners: Vec<String> = kinds.iter().map(|k| format!("\"{k}\"")).collect();
            return Err((
                table.to_string(),
                format!(
                    "`[broker.{table}]` belongs to broker kind {}; this file's kind is \"{name}\"",
                    owners.join(" or ")
                ),
            ));
        }
    }
    Ok(kind)
}

/// Sizes and fault budgets from a `[bounds]` table, over `base`: the sizes
/// and every budget the fault registry declares, each in range.
fn read_bounds(
    t: &toml::Table,
    section: &'static str,
    base: Bounds,
) -> Result<Bounds, (&'static str, String, String)> {
    use crate::model::faults::REGISTRY;
    let mut b = base;
    for (key, value) in t {
        if section == "bounds" && key == "deep" {
            continue;
        }
        let err = |why: String| (section, key.clone(), why);
        let min = u8::from(key == "operations" || key == "consumers");
        let set: fn(&mut Bounds, u8) = match key.as_str() {
            "operations" => |b, n| b.operations = n,
            "consumers" => |b, n| b.consumers = n,
            _ => match REGISTRY.iter().find(|k| k.field == key) {
                Some(k) => k.set_budget,
                None => {
                    let known: Vec<String> = ["operations", "consumers"]
                        .into_iter()
                        .chain(REGISTRY.iter().map(|k| k.field))
                        .chain((section == "bounds").then_some("deep"))
                        .map(|f| format!("`{f}`"))
                        .collect();
                    return Err(err(format!(
                        "unknown field `{key}`, expected one of {}",
                        known.join(", ")
                    )));
                }
            },
        };
        let n = value
            .as_integer()
            .ok_or_else(|| err(format!("expected an integer, found {}", value.type_str())))?;
        if n < i64::from(min) || n > i64::from(MAX_BOUND) {
            return Err(err(format!(
                "{n} is out of range: allowed {min}..={MAX_BOUND}"
            )));
        }
        set(&mut b, n as u8);
    }
    Ok(b)
}

/// The most publish attempts `max-attempts` accepts.
const MAX_ATTEMPTS: u8 = MAX_BOUND + 1;

/// The fields the file sets that cannot change anything under the rest of
/// the configuration, each with the setting that makes it void. A budget
/// set to 0 is never void: it says the fault is off.
fn void_fields(
    f: &File,
    kafka: Option<&KafkaPart>,
    cfg: &Config,
) -> Vec<(&'static str, &'static str, String)> {
    let (p, b) = (&cfg.pipeline, &cfg.bounds);
    let fire_and_forget = "the producer fires and forgets (`producer.retry-on-timeout = false`)";
    let single_attempt = if !p.producer_retries {
        fire_and_forget.to_string()
    } else if p.max_attempts == Some(1) {
        "the producer makes one attempt per operation (`producer.max-attempts = 1`)".to_string()
    } else {
        "no operation is ever published twice (`bounds.losses = 0` and `bounds.retries = 0`)"
            .to_string()
    };
    let id_dedup = p.publish_dedup || p.ledger_key == LedgerKey::OperationId;
    let async_set = kafka.is_some_and(|k| k.processing.is_some());
    let outside = "the handler writes nothing to the store (`store.effect = \"kafka-topic\"`)";
    let sub = |table: &str, key: &str| {
        let t = match table {
            "sqs" => f.broker.sqs.as_ref(),
            _ => f.broker.rabbitmq.as_ref(),
        };
        t.is_some_and(|t| t.contains_key(key))
    };
    let single = !p.durability.replicated();
    let one_replica =
        "the broker has one replica (`broker.replicas = 1`), so nothing is replicated or elected";
    let broker_rules = [
        (
            f.broker.acks.is_some() && single,
            "broker",
            "acks",
            one_replica,
        ),
        (
            f.broker.min_in_sync.is_some() && single,
            "broker",
            "min-in-sync",
            one_replica,
        ),
        (
            f.broker.unclean_election.is_some() && single,
            "broker",
            "unclean-election",
            one_replica,
        ),
        (
            f.broker.min_in_sync.is_some()
                && !single
                && p.durability.acks == crate::pipeline::Acks::Leader,
            "broker",
            "min-in-sync",
            "`acks = \"leader\"` confirms on the leader's append, whatever the in-sync set holds",
        ),
        (
            f.broker.unclean_election.is_some() && !single && b.isr_shrinks == 0,
            "broker",
            "unclean-election",
            "no follower ever leaves the in-sync set (`bounds.isr-shrinks = 0`), so every election is clean",
        ),
        (
            sub("sqs", "visibility-extension") && b.lease_expiries == 0,
            "broker.sqs",
            "visibility-extension",
            "no visibility timeout ever expires (`bounds.lease-expiries = 0`), so there is no heartbeat to miss",
        ),
        (
            sub("sqs", "redrive") && p.max_receives.is_none(),
            "broker.sqs",
            "redrive",
            "nothing is ever dead-lettered (no `broker.sqs.max-receive-count`)",
        ),
        (
            sub("rabbitmq", "redrive") && p.max_receives.is_none(),
            "broker.rabbitmq",
            "redrive",
            "nothing is ever dead-lettered (no `broker.rabbitmq.delivery-limit`)",
        ),
        (
            sub("rabbitmq", "redrive") && p.redrive && p.dead_letter == DeadLetter::Drop,
            "broker.rabbitmq",
            "redrive",
            "at-most-once dead-lettering loses the message on the way (`dead-letter-strategy = \"at-most-once\"`), so nothing reaches a queue to redrive from",
        ),
        (
            sub("rabbitmq", "dead-letter-strategy") && p.max_receives.is_none(),
            "broker.rabbitmq",
            "dead-letter-strategy",
            "nothing is ever dead-lettered (no `broker.rabbitmq.delivery-limit`)",
        ),
        (
            sub("rabbitmq", "prefetch") && p.auto_ack,
            "broker.rabbitmq",
            "prefetch",
            "with autoAck (`broker.rabbitmq.ack = \"auto\"`) no delivery stays unacked, so there is no window to bound",
        ),
        (
            sub("rabbitmq", "ack-multiple") && (p.prefetch == 1 || p.auto_ack),
            "broker.rabbitmq",
            "ack-multiple",
            "a channel holds one unacked delivery at a time (`broker.rabbitmq.prefetch = 1`, or autoAck), so an ack has no earlier tag to cover",
        ),
        (
            sub("rabbitmq", "processing") && (p.prefetch == 1 || p.auto_ack),
            "broker.rabbitmq",
            "processing",
            "a channel holds one unacked delivery at a time (`broker.rabbitmq.prefetch = 1`, or autoAck), so there is nothing to hand to a second worker",
        ),
        (
            sub("rabbitmq", "processing") && p.order == CompletionOrder::CompletionThenEffect,
            "broker.rabbitmq",
            "processing",
            "the consumer acks before it processes (mode \"at-most-once\"), so nothing runs behind an ack",
        ),
        (
            f.consumer.dedup_only_if_redelivered.is_some() && !(p.has_ledger() && p.ledger_check),
            "consumer",
            "dedup-only-if-redelivered",
            "nothing is looked up (no ledger, or `store.ledger-check = false`)",
        ),
    ];
    let in_deep = |field: &str| in_deep_bound(f, field);
    let deep_crashes = in_deep("producer-crashes");
    let rules: [(bool, &str, &str, String); 22] = [
        (
            f.consumer.retry_effect_on_timeout.is_some() && !p.awaits_effect_reply(),
            "consumer",
            "retry-effect-on-timeout",
            "the consumer never waits for the effect store's reply (it acks first and writes no ledger row after the effect, or the effect is the Kafka output topic)".to_string(),
        ),
        (
            f.consumer.retry_effect_on_timeout.is_some()
                && b.reply_losses == 0
                && !in_deep("reply-losses"),
            "consumer",
            "retry-effect-on-timeout",
            "no store reply is ever lost or late (`bounds.reply-losses = 0`), so the consumer's timeout never fires".to_string(),
        ),
        (
            f.producer.publish.is_some() && b.producer_crashes == 0 && !deep_crashes,
            "producer",
            "publish",
            "the producer never crashes (`bounds.producer-crashes = 0`), so no crash falls between a business row and its publish, and nothing decides what a restart re-publishes".to_string(),
        ),
        (
            kafka.is_some_and(|k| k.on_abort.is_some()) && !p.transactions,
            "broker.kafka",
            "on-abort",
            "there are no transactions (`broker.kafka.transactions = false`)".to_string(),
        ),
        (
            kafka.is_some_and(|k| k.on_abort.is_some())
                && p.transactions
                && b.transaction_aborts == 0,
            "broker.kafka",
            "on-abort",
            "no transaction is ever aborted by the coordinator (`bounds.transaction-aborts = 0`)"
                .to_string(),
        ),
        (
            b.transaction_aborts > 0
                && sets_bound(f, "transaction-aborts")
                && p.stale_completion == StaleCompletion::Accepted,
            "bounds",
            "transaction-aborts",
            "without fencing (`broker.kafka.fencing = false`) the coordinator takes a commit from any epoch, so an aborted transaction would still commit; aborts are modelled with fencing on".to_string(),
        ),
        (
            f.producer.retry.is_some() && !(p.publish_dedup && cfg.retries_possible()),
            "producer",
            "retry",
            if p.publish_dedup {
                single_attempt.clone()
            } else {
                "nothing deduplicates publishes (`broker.kafka.enable-idempotence = false`)"
                    .to_string()
            },
        ),
        (
            f.store.ledger_key.is_some() && !p.touches_store(),
            "store",
            "ledger-key",
            outside.to_string(),
        ),
        (
            f.store.ledger_check.is_some() && !p.touches_store(),
            "store",
            "ledger-check",
            outside.to_string(),
        ),
        (
            kafka.is_some_and(|k| k.enable_idempotence.is_some()) && !cfg.retries_possible(),
            "broker.kafka",
            "enable-idempotence",
            single_attempt.clone(),
        ),
        (
            async_set && p.order == CompletionOrder::CompletionThenEffect,
            "broker.kafka",
            "processing",
            "the consumer commits before it processes (`broker.kafka.commit = \"before-processing\"`), so nothing runs behind a commit".to_string(),
        ),
        (
            kafka.is_some_and(|k| k.fencing.is_some())
                && (b.rebalances == 0 || b.consumers < 2),
            "broker.kafka",
            "fencing",
            "the partition never moves (`bounds.rebalances = 0` or one consumer), so there is no zombie to fence".to_string(),
        ),
        (
            kafka.is_some_and(|k| k.max_poll_records.is_some()) && b.operations < 2,
            "broker.kafka",
            "max-poll-records",
            "there is one operation (`bounds.operations = 1`), so a poll returns one record".to_string(),
        ),
        (
            f.producer.max_attempts.is_some() && !p.producer_retries,
            "producer",
            "max-attempts",
            fire_and_forget.to_string(),
        ),
        (
            f.producer.on_give_up.is_some() && !(p.producer_retries && p.max_attempts.is_some()),
            "producer",
            "on-give-up",
            if p.producer_retries {
                "the producer retries until confirmed (no `producer.max-attempts`)".to_string()
            } else {
                fire_and_forget.to_string()
            },
        ),
        (
            f.producer.attempt_ids.is_some() && !cfg.retries_possible(),
            "producer",
            "attempt-ids",
            single_attempt.clone(),
        ),
        (
            f.producer.attempt_ids.is_some() && !id_dedup,
            "producer",
            "attempt-ids",
            "nothing deduplicates by message id (`broker.publish-dedup = false` and `store.ledger-key` is not \"operation-id\")".to_string(),
        ),
        (
            b.retries > 0 && sets_bound(f, "retries") && !p.may_republish(),
            "bounds",
            "retries",
            single_attempt.clone(),
        ),
        (
            f.broker.publish_dedup.is_some() && !cfg.retries_possible(),
            "broker",
            "publish-dedup",
            single_attempt,
        ),
        (
            f.broker.publish_dedup.is_some() && p.attempt_ids == AttemptIds::FreshPerAttempt,
            "broker",
            "publish-dedup",
            "every attempt carries a fresh id (`producer.attempt-ids = \"fresh-per-attempt\"`), so no publish id ever repeats".to_string(),
        ),
        (
            f.broker.stale_completion.is_some() && b.lease_expiries == 0 && !p.log,
            "broker",
            "stale-completion",
            "no lease ever expires (`bounds.lease-expiries = 0`), so no completion is ever stale"
                .to_string(),
        ),
        (
            f.store.ledger_check.is_some() && !p.has_ledger(),
            "store",
            "ledger-check",
            "there is no ledger (`store.ledger-key = \"none\"`)".to_string(),
        ),
    ];
    let mut void: Vec<_> = rules
        .into_iter()
        .filter(|r| r.0)
        .map(|(_, section, key, why)| (section, key, why))
        .collect();
    void.extend(
        broker_rules
            .into_iter()
            .filter(|r| r.0)
            .map(|(_, section, key, why)| (section, key, why.to_string())),
    );
    // How the ledger is written and looked up means nothing when it is
    // never read.
    if !(p.has_ledger() && p.ledger_check && p.touches_store()) {
        let why = if !p.touches_store() {
            outside
        } else if p.has_ledger() {
            "the ledger is never read (`store.ledger-check = false`)"
        } else {
            "there is no ledger (`store.ledger-key = \"none\"`)"
        };
        let set = [
            (f.store.ledger_write.is_some(), "ledger-write"),
            (f.store.check.is_some(), "check"),
            (f.store.retention.is_some(), "retention"),
        ];
        for (_, key) in set.into_iter().filter(|s| s.0) {
            void.push(("store", key, why.to_string()));
        }
    }
    if f.consumer.poison_partial_effect.is_some() && p.poison == 0 {
        void.push((
            "consumer",
            "poison-partial-effect",
            "no handler fails (`consumer.poison` is empty)".to_string(),
        ));
    }
    let read = p.has_ledger() && p.ledger_check && p.touches_store();
    if f.store.retention.is_some()
        && read
        && p.retention != Retention::Forever
        && b.ledger_expiries == 0
        && !in_deep_bound(f, "ledger-expiries")
    {
        void.push((
            "store",
            "retention",
            "no key ever expires (`bounds.ledger-expiries = 0`)".to_string(),
        ));
    }
    if b.ledger_expiries > 0
        && sets_bound(f, "ledger-expiries")
        && !(read && p.retention != Retention::Forever)
    {
        let why = if read {
            "the ledger keeps its keys (`store.retention = \"forever\"`, the default)"
        } else {
            "no ledger is read (no `store.ledger-key`, `store.ledger-check = false`, or the effect is the Kafka output topic)"
        };
        void.push(("bounds", "ledger-expiries", why.to_string()));
    }
    void
}

fn in_deep_bound(f: &File, key: &str) -> bool {
    f.bounds.get("deep").and_then(|d| d.get(key)).is_some()
}

/// Whether the file sets a bound, in `[bounds]` or `[bounds.deep]`.
fn sets_bound(f: &File, key: &str) -> bool {
    let deep = f.bounds.get("deep").and_then(|d| d.as_table());
    f.bounds.contains_key(key) || deep.is_some_and(|d| d.contains_key(key))
}

/// The field a "missing field `x`" message names.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// A required field the file leaves out: named with its table, at the
/// table's header (a top-level field has no line to point at).
fn missing_field_error(file: &str, source: &str, at: Option<usize>, key: &str) -> InputError {
    let header = at.filter(|&a| source[a.min(source.len())..].trim_start().starts_with('['));
    let section = header.and_then(|a| field_at(source, a)).unwrap_or_default();
    let (field, message) = if section.is_empty() {
        (
            key.to_string(),
            "required, missing from the top level of the file".to_string(),
        )
    } else {
        (
            format!("{section}.{key}"),
            format!("required, missing from table [{section}]"),
        )
    };
    InputError {
        file: file.to_string(),
        line: header.map(|a| line_of(source, a)),
        field: Some(field),
        message,
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// The table header in force at a byte offset ("" before any header).
fn section_at(source: &str, offset: usize) -> String {
    source[..offset.min(source.len())]
        .lines()
        .filter_map(|l| {
            let t = l.trim();
            (t.starts_with('[') && t.ends_with(']'))
                .then(|| t.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        })
        .next_back()
        .unwrap_or_default()
}

/// The dotted name of the key on the line holding `offset`.
fn field_at(source: &str, offset: usize) -> Option<String> {
    let start = source[..offset.min(source.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = source[start..].lines().next()?.trim();
    if line.starts_with('[') {
        return Some(line.trim_matches(|c| c == '[' || c == ']').to_string());
    }
    let key = line.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() {
        return None;
    }
    let section = section_at(source, start);
    Some(if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    })
}

/// The line on which `key` is set inside table `section`.
fn locate(source: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, l) in source.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') && t.ends_with(']') {
            current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            // A sub-table is named by its header.
            if current == format!("{section}.{key}") {
                return Some(i + 1);
            }
        } else if current == section
            && t.split('=').next().map(|k| k.trim().trim_matches('"')) == Some(key)
        {
            return Some(i + 1);
        }
    }
    None
}

/// Resolves command-line arguments to scenario files: a path, or a name
/// looked up in `models/`.
pub fn resolve(arg: &str, models: &Path) -> PathBuf {
    let direct = PathBuf::from(arg);
    if direct.exists() || arg.ends_with(".toml") || arg.contains('/') {
        return direct;
    }
    models.join(format!("{arg}.toml"))
}

/// Every scenario file in `models/`, sorted by file name.
pub fn all(models: &Path) -> Result<Vec<PathBuf>, InputError> {
    let entries = std::fs::read_dir(models).map_err(|e| InputError {
        file: models.display().to_string(),
        line: None,
        field: None,
        message: format!("cannot list scenarios: {e}"),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}
