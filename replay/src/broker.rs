//! What the replay asks of a real broker: the few operations a model step
//! maps to, each answering with what the broker was seen to do.

use std::fmt;

/// A message as a consumer got it from the real broker.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    /// The operation the payload names (the model's `op`, from 0).
    pub op: u8,
    /// How many times the broker says it has handed this message out,
    /// this time included, where it says so (SQS ApproximateReceiveCount,
    /// 2 for RabbitMQ's redelivered = true); None where it keeps no count
    /// (Kafka: the replay counts the offset's fetches).
    pub delivery: Option<u8>,
    /// The broker's handle for completing it (delivery tag, receipt
    /// handle, offset).
    pub handle: String,
    /// What the broker said, in its own words ("redelivered = true").
    pub seen: String,
}

/// The outcome of a completion (ack, DeleteMessage, offset commit).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Completion {
    pub accepted: bool,
    pub seen: String,
}

/// A failure talking to a server: the replay stops with it (exit 2).
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

pub type Result<T> = std::result::Result<T, Failure>;

pub fn fail<T>(what: impl fmt::Display) -> Result<T> {
    Err(Failure(what.to_string()))
}

/// One real broker as the producer and the replay's operator see it.
pub trait Broker {
    /// "RabbitMQ 3.10.8 (real)", "moto 5.2.5, an SQS emulator (not Amazon
    /// SQS)".
    fn describe(&self) -> String;
    /// Where this server is known to behave differently from the product
    /// it stands for (an emulator, a protocol-compatible broker); the
    /// results page lists them.
    fn known_differences(&self) -> Vec<String> {
        Vec::new()
    }
    /// A fresh queue or topic, nothing left from an earlier replay; its
    /// name, which consumers attach to.
    fn reset(&mut self) -> Result<String>;
    /// The producer publishes `op` and waits for the broker's confirm. With
    /// `confirm_lost` the confirm is discarded on arrival (as a lost packet
    /// would be) and the producer's connection dropped, so the producer
    /// cannot tell that the broker stored it.
    fn publish(&mut self, op: u8, confirm_lost: bool) -> Result<String>;
    /// Wait until a lease taken with `lease_expires` at `taken` has run out.
    fn expire_lease(&mut self, taken: std::time::Instant) -> Result<String>;
}

/// One consumer, attached to the queue or topic `reset` made, with its own
/// connection. In a replay each runs in a process of its own, so its crash
/// is that process killed; the drivers' tests hold them in-process.
pub trait Consumer {
    /// Ask for one message. `lease_expires`: the model lets this delivery's
    /// lease expire later, so it is taken with the shortest lease the broker
    /// allows. None when the broker hands out nothing.
    fn receive(&mut self, lease_expires: bool) -> Result<Option<Delivery>>;
    /// Complete a delivery this consumer holds.
    fn complete(&mut self, d: &Delivery) -> Result<Completion>;
    /// A rebalance gives this consumer the partition while its owner still
    /// works (Kafka).
    fn take_over(&mut self) -> Result<String> {
        fail("this broker has no rebalance")
    }
    /// A rebalance moved this consumer's partition away and it was not
    /// told: from now on it only finishes what it holds (Kafka).
    fn zombie(&mut self) -> Result<String> {
        fail("this broker has no rebalance")
    }
    /// Called between requests: what the consumer's loop does while it
    /// waits (a Kafka group member keeps polling while it holds nothing).
    fn idle(&mut self) -> Result<()> {
        Ok(())
    }
}
