//! Where the real servers are (`scripts/brokers env`), which driver a
//! scenario's broker kind gets, and the program consumer processes run.

use crate::broker::{Broker, Consumer, Result, fail};
use onceproof::pipeline::BrokerKind;
use std::path::PathBuf;

/// The servers' addresses (the environment's, or the ports `scripts/brokers
/// up` uses) and the program a consumer process runs.
#[derive(Clone, Debug)]
pub struct Servers {
    pub amqp: String,
    pub postgres: String,
    pub sqs: String,
    pub kafka: String,
    /// `onceproof-replay` itself: consumers run as `onceproof-replay
    /// consumer-process …`.
    pub program: PathBuf,
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The names the addresses have in the environment a consumer process gets.
pub const ENV: [&str; 4] = [
    "ONCEPROOF_AMQP",
    "ONCEPROOF_POSTGRES",
    "ONCEPROOF_SQS",
    "ONCEPROOF_KAFKA",
];

impl Servers {
    pub fn from_env() -> Servers {
        Servers {
            amqp: var(ENV[0], "amqp://guest:guest@127.0.0.1:56720/%2f"),
            postgres: var(
                ENV[1],
                "host=127.0.0.1 port=56723 user=onceproof dbname=onceproof",
            ),
            sqs: var(ENV[2], "http://127.0.0.1:56724"),
            kafka: var(ENV[3], "127.0.0.1:56725"),
            program: std::env::current_exe().unwrap_or_else(|_| "onceproof-replay".into()),
        }
    }

    pub fn values(&self) -> [&str; 4] {
        [&self.amqp, &self.postgres, &self.sqs, &self.kafka]
    }
}

/// The broker kinds with a real counterpart, as a consumer process is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    RabbitMq,
    Sqs,
    Kafka,
}

impl Kind {
    pub fn of(kind: BrokerKind) -> Result<Kind> {
        match kind {
            BrokerKind::RabbitMq => Ok(Kind::RabbitMq),
            BrokerKind::SqsStandard => Ok(Kind::Sqs),
            BrokerKind::Kafka => Ok(Kind::Kafka),
            other => fail(format!(
                "the {other:?} broker has no real counterpart to replay on yet (RabbitMQ, SQS standard and Kafka do)"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::RabbitMq => "rabbitmq",
            Kind::Sqs => "sqs",
            Kind::Kafka => "kafka",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        [Kind::RabbitMq, Kind::Sqs, Kind::Kafka]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// The RabbitMQ server's version, as the Debian package that installed it
/// names it (the client does not expose the handshake's properties).
fn rabbitmq_version() -> String {
    if let Ok(v) = std::env::var("ONCEPROOF_RABBITMQ_VERSION") {
        return v;
    }
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "rabbitmq-server"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split('-').next().map(str::to_string))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "(version unknown)".to_string())
}

/// The producer's side of the real broker of a kind, connected.
pub fn broker_for(kind: Kind, s: &Servers) -> Result<Box<dyn Broker>> {
    Ok(match kind {
        Kind::RabbitMq => Box::new(crate::rabbitmq::RabbitMq::connect(
            &s.amqp,
            &rabbitmq_version(),
        )?),
        Kind::Sqs => Box::new(crate::sqs::Sqs::connect(&s.sqs)?),
        Kind::Kafka => Box::new(crate::kafka::Kafka::connect(&s.kafka)?),
    })
}

/// How a consumer takes deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attach {
    /// RabbitMQ's autoAck (`no_ack`).
    pub auto_ack: bool,
    /// Kafka group members (subscribe) rather than hand-assigned clients:
    /// what a plan with a rebalance needs.
    pub membership: bool,
}

/// Consumer `c` attached to `queue`, in this process, and what attaching
/// was seen to do.
pub fn attach(
    kind: Kind,
    s: &Servers,
    queue: &str,
    c: u8,
    how: Attach,
) -> Result<(Box<dyn Consumer>, String)> {
    Ok(match kind {
        Kind::RabbitMq => {
            let (r, seen) = crate::rabbitmq::RabbitConsumer::attach(&s.amqp, queue, how.auto_ack)?;
            (Box::new(r), seen)
        }
        Kind::Sqs => {
            let (r, seen) = crate::sqs::SqsConsumer::attach(&s.sqs, queue)?;
            (Box::new(r), seen)
        }
        Kind::Kafka => {
            let (r, seen) =
                crate::kafka::KafkaConsumer::attach(&s.kafka, queue, c, how.membership)?;
            (Box::new(r), seen)
        }
    })
}
