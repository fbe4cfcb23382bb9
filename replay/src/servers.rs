//! Where the real servers are (`scripts/brokers env`), and which driver a
//! scenario's broker kind gets.

use crate::broker::{Broker, Result, fail};
use crate::plan::Design;
use onceproof::pipeline::BrokerKind;

/// The servers' addresses: the environment's, or the ports
/// `scripts/brokers up` uses.
#[derive(Clone, Debug)]
pub struct Servers {
    pub amqp: String,
    pub postgres: String,
    pub sqs: String,
    pub kafka: String,
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

impl Servers {
    pub fn from_env() -> Servers {
        Servers {
            amqp: var("ONCEPROOF_AMQP", "amqp://guest:guest@127.0.0.1:56720/%2f"),
            postgres: var(
                "ONCEPROOF_POSTGRES",
                "host=127.0.0.1 port=56723 user=onceproof dbname=onceproof",
            ),
            sqs: var("ONCEPROOF_SQS", "http://127.0.0.1:56724"),
            kafka: var("ONCEPROOF_KAFKA", "127.0.0.1:56725"),
        }
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

/// The real broker for a kind, connected, for consumers of `design`.
pub fn broker_for(kind: BrokerKind, design: &Design, s: &Servers) -> Result<Box<dyn Broker>> {
    Ok(match kind {
        BrokerKind::RabbitMq => Box::new(crate::rabbitmq::RabbitMq::connect(
            &s.amqp,
            &rabbitmq_version(),
            design.auto_ack,
        )?),
        BrokerKind::SqsStandard => Box::new(crate::sqs::Sqs::connect(&s.sqs)?),
        BrokerKind::Kafka => Box::new(crate::kafka::Kafka::connect(&s.kafka)?),
        other => {
            return fail(format!(
                "the {other:?} broker has no real counterpart to replay on yet (RabbitMQ, SQS standard and Kafka do)"
            ));
        }
    })
}
