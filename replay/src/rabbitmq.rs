//! RabbitMQ through the `lapin` client: a classic queue, publisher confirms,
//! and `basic.get` (a pull), so the replay decides when each consumer takes
//! a message, as the model's dispatch step does.
//!
//! # Mapping
//!
//! - publish: `basic.publish` on a confirm channel, then the confirm
//!   (`basic.ack` from the broker); a lost confirm is the confirm read and
//!   discarded, and the producer's connection closed.
//! - receive: `basic.get` with `no_ack` from the design (autoAck) and the
//!   broker's `redelivered` flag read as delivery 2 or more.
//! - complete: `basic.ack` of the delivery tag on the consumer's channel.
//! - crash: the consumer's process killed with its deliveries unacked; the
//!   broker sees its connection die (R2: every unacked delivery of the
//!   channel is requeued with redelivered = true).
//! - restart: a new process, connection and channel (a new session).
//!
//! - lease expiry: RabbitMQ's consumer timeout (R4): `scripts/brokers`
//!   sets `consumer_timeout = 2000`, and RabbitMQ 3.10 checks it once a
//!   minute, so the replay waits (up to 90 s) until the broker has closed
//!   the holder's channel and requeued the message; the holder's later ack
//!   fails on the closed channel, and its next receive opens a new one.
//!
//! # Assumptions
//!
//! - No delivery is held for 2 s but where the model lets its lease expire:
//!   the timeout is the server's, for every channel.

use crate::broker::{Broker, Completion, Consumer, Delivery, Result, fail};
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use tokio::runtime::Runtime;

/// How long after a delivery the replay waits for the consumer timeout: the
/// broker checks it once a minute.
const CONSUMER_TIMEOUT_WAIT: std::time::Duration = std::time::Duration::from_secs(90);

/// The producer's side, and the queue.
pub struct RabbitMq {
    uri: String,
    version: String,
    rt: Runtime,
    queue: String,
    producer: Option<(Connection, Channel)>,
}

/// One consumer's connection and channel.
pub struct RabbitConsumer {
    rt: Runtime,
    queue: String,
    /// autoAck (`no_ack`) or manual acks.
    auto_ack: bool,
    side: (Connection, Channel),
}

fn wrap<T>(what: &str, r: lapin::Result<T>) -> Result<T> {
    r.or_else(|e| fail(format!("RabbitMQ {what}: {e}")))
}

fn runtime() -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .or_else(|e| fail(format!("tokio runtime: {e}")))
}

fn open(rt: &Runtime, uri: &str, confirms: bool) -> Result<(Connection, Channel)> {
    rt.block_on(async {
        let conn = Connection::connect(uri, ConnectionProperties::default())
            .await
            .or_else(|e| {
                fail(format!(
                    "cannot connect to RabbitMQ at {uri} ({e}); run scripts/brokers up"
                ))
            })?;
        let ch = wrap("channel.open", conn.create_channel().await)?;
        if confirms {
            wrap(
                "confirm.select",
                ch.confirm_select(ConfirmSelectOptions::default()).await,
            )?;
        }
        Ok((conn, ch))
    })
}

fn close(rt: &Runtime, side: Option<(Connection, Channel)>) {
    if let Some((conn, _)) = side {
        let _ = rt.block_on(conn.close(320, "onceproof replay: gone".into()));
    }
}

impl RabbitMq {
    /// `version` is the server's, as the package that installed it names
    /// it (the client does not expose the handshake's properties).
    pub fn connect(uri: &str, version: &str) -> Result<RabbitMq> {
        let rt = runtime()?;
        let producer = Some(open(&rt, uri, true)?);
        Ok(RabbitMq {
            uri: uri.to_string(),
            version: version.to_string(),
            rt,
            queue: String::new(),
            producer,
        })
    }
}

impl Broker for RabbitMq {
    fn describe(&self) -> String {
        format!("RabbitMQ {} (real)", self.version)
    }

    fn reset(&mut self) -> Result<String> {
        if self.producer.is_none() {
            self.producer = Some(open(&self.rt, &self.uri, true)?);
        }
        let queue = crate::unique_name();
        let ch = &self.producer.as_ref().expect("opened above").1;
        self.rt.block_on(async {
            if !self.queue.is_empty() {
                wrap(
                    "queue.delete",
                    ch.queue_delete(self.queue.as_str().into(), QueueDeleteOptions::default())
                        .await,
                )?;
            }
            wrap(
                "queue.declare",
                ch.queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions {
                        durable: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await,
            )
        })?;
        self.queue = queue.clone();
        Ok(queue)
    }

    fn publish(&mut self, op: u8, confirm_lost: bool) -> Result<String> {
        if self.producer.is_none() {
            self.producer = Some(open(&self.rt, &self.uri, true)?);
        }
        let ch = &self.producer.as_ref().expect("opened above").1;
        let payload = format!("op={op}");
        let confirm = self.rt.block_on(async {
            let pending = wrap(
                "basic.publish",
                ch.basic_publish(
                    "".into(),
                    self.queue.as_str().into(),
                    BasicPublishOptions::default(),
                    payload.as_bytes(),
                    BasicProperties::default().with_delivery_mode(2),
                )
                .await,
            )?;
            wrap("publisher confirm", pending.await)
        })?;
        let confirmed = matches!(confirm, Confirmation::Ack(_));
        if confirm_lost {
            let side = self.producer.take();
            close(&self.rt, side);
            return Ok(format!(
                "basic.publish; the broker's confirm ({}) arrived and was discarded as lost, and the producer's connection closed",
                if confirmed { "basic.ack" } else { "basic.nack" }
            ));
        }
        Ok(if confirmed {
            "basic.publish, confirmed with basic.ack".to_string()
        } else {
            "basic.publish, refused with basic.nack".to_string()
        })
    }

    fn expire_lease(&mut self, taken: std::time::Instant) -> Result<String> {
        if self.producer.is_none() {
            self.producer = Some(open(&self.rt, &self.uri, true)?);
        }
        let ch = &self.producer.as_ref().expect("opened above").1;
        let deadline = taken + CONSUMER_TIMEOUT_WAIT;
        loop {
            // A passive declare reads the queue's ready messages.
            let ready = self
                .rt
                .block_on(ch.queue_declare(
                    self.queue.as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                ))
                .map(|q| q.message_count())
                .or_else(|e| fail(format!("RabbitMQ queue.declare (passive): {e}")))?;
            if ready > 0 {
                return Ok(format!(
                    "RabbitMQ's consumer timeout (2 s, checked once a minute) closed the holder's channel and requeued the message {:.1} s after the delivery",
                    taken.elapsed().as_secs_f64()
                ));
            }
            if std::time::Instant::now() > deadline {
                return fail(format!(
                    "RabbitMQ: the consumer timeout did not requeue the message within {} s (is consumer_timeout set? scripts/brokers sets it)",
                    CONSUMER_TIMEOUT_WAIT.as_secs()
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }
}

impl RabbitConsumer {
    pub fn attach(uri: &str, queue: &str, auto_ack: bool) -> Result<(RabbitConsumer, String)> {
        let rt = runtime()?;
        let side = open(&rt, uri, false)?;
        Ok((
            RabbitConsumer {
                rt,
                queue: queue.to_string(),
                auto_ack,
                side,
            },
            "a new connection and channel".to_string(),
        ))
    }
}

impl Consumer for RabbitConsumer {
    fn receive(&mut self, _lease_expires: bool) -> Result<Option<Delivery>> {
        // A channel the broker closed (the consumer timeout) is replaced,
        // as a client's channel recovery does.
        if !self.side.1.status().connected() {
            let ch = wrap(
                "channel.open",
                self.rt.block_on(self.side.0.create_channel()),
            )?;
            self.side.1 = ch;
        }
        let ch = &self.side.1;
        let got = self.rt.block_on(async {
            wrap(
                "basic.get",
                ch.basic_get(
                    self.queue.as_str().into(),
                    BasicGetOptions {
                        no_ack: self.auto_ack,
                    },
                )
                .await,
            )
        })?;
        let Some(got) = got else {
            return Ok(None);
        };
        let d = got.delivery;
        let op = crate::payload_op(&d.data)?;
        Ok(Some(Delivery {
            op,
            delivery: Some(if d.redelivered { 2 } else { 1 }),
            handle: d.delivery_tag.to_string(),
            seen: format!(
                "basic.get: delivery tag {}, redelivered = {}{}",
                d.delivery_tag,
                d.redelivered,
                if self.auto_ack {
                    " (no_ack: the broker forgot it on sending)"
                } else {
                    ""
                }
            ),
        }))
    }

    fn complete(&mut self, d: &Delivery) -> Result<Completion> {
        if self.auto_ack {
            return Ok(Completion {
                accepted: true,
                seen: "nothing to ack (autoAck)".to_string(),
            });
        }
        let tag: u64 = d.handle.parse().expect("delivery tags are numbers");
        let r = self
            .rt
            .block_on(self.side.1.basic_ack(tag, BasicAckOptions::default()));
        Ok(match r {
            Ok(()) => Completion {
                accepted: true,
                seen: format!("basic.ack of delivery tag {tag}"),
            },
            Err(e) => Completion {
                accepted: false,
                seen: format!("basic.ack of delivery tag {tag} failed: {e}"),
            },
        })
    }
}
