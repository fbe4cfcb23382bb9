//! A standard (not FIFO) SQS queue, driven through the AWS JSON protocol
//! over plain HTTP. The server on loopback is moto, an emulator; what it
//! does is what moto does, not a measurement of Amazon SQS.
//!
//! How the model's steps map to SQS calls:
//!
//! | model step                  | SQS                                              |
//! |-----------------------------|--------------------------------------------------|
//! | reset                       | CreateQueue, a new name each time, VisibilityTimeout 10 s |
//! | publish op                  | SendMessage, body `op=<op>`; the response is the confirm |
//! | publish, confirm lost       | SendMessage, the response read and thrown away   |
//! | consumer c receives         | ReceiveMessage, 1 message, ApproximateReceiveCount asked for |
//! | … whose lease will expire   | the same with VisibilityTimeout 1 (the shortest that expires) |
//! | consumer c completes        | DeleteMessage with that delivery's receipt handle |
//! | consumer c crashes          | its process killed: nothing reaches SQS, the message stays invisible until its timeout |
//! | consumer c restarts         | a new process: SQS over HTTP keeps no session    |
//! | lease expires               | sleep past the 1 s visibility timeout            |
//!
//! Assumptions:
//! - Every request carries a SigV4-shaped Authorization header with a
//!   dummy signature. moto reads only the service name in its credential
//!   scope (without it moto answers as S3) and checks no signature; Amazon
//!   would reject the request.
//! - The default visibility timeout (10 s) is long enough that no lease
//!   taken without `lease_expires` runs out during a replay; such a lease
//!   running out would be a step the model did not take.
//! - Consumers and the producer each have their own HTTP agent so that a
//!   crash or a lost confirm can drop a client's pooled connections, but
//!   nothing in SQS depends on that: the protocol holds no session state.

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ureq::Agent;

use crate::broker::{Broker, Completion, Consumer, Delivery, Result, fail};

/// moto exposes no version over HTTP; this is what `scripts/brokers`
/// installs (MOTO_VERSION).
pub const MOTO_VERSION: &str = "5.2.5";

/// The queue's own visibility timeout, used by every receive whose lease
/// the model does not let expire.
pub const DEFAULT_VISIBILITY_S: u32 = 10;

/// The visibility timeout of a receive whose lease the model lets expire.
/// SQS allows 0, but 0 makes the message visible again at once, which is
/// not a lease at all.
pub const SHORT_VISIBILITY_S: u32 = 1;

/// How long past the short lease `expire_lease` waits. moto checks
/// visibility against the wall clock when a receive arrives, so the margin
/// only has to cover clock granularity and the request in flight.
pub const EXPIRY_MARGIN: Duration = Duration::from_millis(250);

/// A receive waits this long for a message (long polling). Real SQS short
/// polling (0) samples a subset of servers and may answer empty while a
/// message is there; a long poll asks all, so "nothing" means nothing.
const WAIT_TIME_S: u32 = 1;

/// The producer's side, and the queue.
pub struct Sqs {
    endpoint: String,
    producer: Agent,
    queue_url: Option<String>,
}

/// One consumer's HTTP client.
pub struct SqsConsumer {
    endpoint: String,
    agent: Agent,
    queue_url: String,
}

fn agent() -> Agent {
    Agent::config_builder()
        // An SQS error is an answer to report (a refused DeleteMessage),
        // not a transport failure.
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// The first 8 characters of a message id: enough to tell messages apart
/// in an observation.
fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

impl Sqs {
    pub fn connect(endpoint: &str) -> Result<Sqs> {
        let sqs = Sqs {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            producer: agent(),
            queue_url: None,
        };
        // Fail here, with the address, rather than at the first step.
        let (status, body) = call(&sqs.endpoint, &sqs.producer, "ListQueues", json!({}))?;
        if !(200..300).contains(&status) {
            return fail(format!(
                "SQS at {}: ListQueues answered {status}: {body}",
                sqs.endpoint
            ));
        }
        Ok(sqs)
    }

    fn queue_url(&self) -> Result<&str> {
        match &self.queue_url {
            Some(u) => Ok(u),
            None => fail("SQS: no queue (reset was not called)"),
        }
    }
}

/// One AWS JSON protocol request; the status and the parsed body, which
/// is `{}` for the actions that return nothing.
fn call(endpoint: &str, agent: &Agent, action: &str, request: Value) -> Result<(u16, Value)> {
    let response = agent
        .post(endpoint)
        .header("X-Amz-Target", format!("AmazonSQS.{action}"))
        .header("Content-Type", "application/x-amz-json-1.0")
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=onceproof/20260101/us-east-1/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-target, Signature=0",
        )
        .send(request.to_string());
    let mut response = match response {
        Ok(r) => r,
        Err(e) => return fail(format!("SQS at {}: {action}: {e}", endpoint)),
    };
    let status = response.status().as_u16();
    let text = match response.body_mut().read_to_string() {
        Ok(t) => t,
        Err(e) => return fail(format!("SQS at {}: {action}: {e}", endpoint)),
    };
    let body = if text.trim().is_empty() {
        json!({})
    } else {
        match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => {
                return fail(format!(
                    "SQS at {}: {action} answered {status} with no JSON: {text}",
                    endpoint
                ));
            }
        }
    };
    Ok((status, body))
}

/// A call whose failure ends the replay.
fn must(endpoint: &str, agent: &Agent, action: &str, request: Value) -> Result<Value> {
    let (status, body) = call(endpoint, agent, action, request)?;
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        fail(format!("SQS {action} answered {status}: {body}"))
    }
}

/// The error code from an SQS JSON error body, for observations.
fn error_code(body: &Value) -> String {
    let ty = body["__type"].as_str().unwrap_or("");
    let code = ty.rsplit('#').next().unwrap_or(ty);
    match body["message"].as_str().or(body["Message"].as_str()) {
        Some(m) if !code.is_empty() => format!("{code}: {m}"),
        Some(m) => m.to_string(),
        None => body.to_string(),
    }
}

impl Broker for Sqs {
    fn describe(&self) -> String {
        format!("moto {MOTO_VERSION}, an SQS emulator (not Amazon SQS)")
    }

    fn known_differences(&self) -> Vec<String> {
        vec![
            "a DeleteMessage with a stale receipt handle always deletes the message (Amazon SQS may keep it)".into(),
            "timeouts are exact and nothing is redelivered without an expiry, so SQS standard's phantom redelivery (S1) never happens".into(),
            "no request signature is checked".into(),
        ]
    }

    fn reset(&mut self) -> Result<String> {
        if let Some(old) = self.queue_url.take() {
            // Only tidiness: the next queue has a new name whether or not
            // this one goes away.
            let _ = call(
                &self.endpoint,
                &self.producer,
                "DeleteQueue",
                json!({ "QueueUrl": old }),
            );
        }
        let created = must(
            &self.endpoint,
            &self.producer,
            "CreateQueue",
            json!({
                "QueueName": crate::unique_name(),
                "Attributes": { "VisibilityTimeout": DEFAULT_VISIBILITY_S.to_string() },
            }),
        )?;
        let Some(url) = created["QueueUrl"].as_str() else {
            return fail(format!("SQS CreateQueue returned no QueueUrl: {created}"));
        };
        self.queue_url = Some(url.to_string());
        self.producer = agent();
        Ok(url.to_string())
    }

    fn publish(&mut self, op: u8, confirm_lost: bool) -> Result<String> {
        let url = self.queue_url()?.to_string();
        let sent = must(
            &self.endpoint,
            &self.producer,
            "SendMessage",
            json!({ "QueueUrl": url, "MessageBody": format!("op={op}") }),
        )?;
        let id = sent["MessageId"].as_str().unwrap_or("?");
        if confirm_lost {
            // The response has been read; the producer acts as if it never
            // came and drops its client.
            self.producer = agent();
            Ok(format!(
                "SendMessage of op {}: MessageId {} arrived and was discarded as lost",
                op + 1,
                short(id)
            ))
        } else {
            Ok(format!(
                "SendMessage of op {}: MessageId {}",
                op + 1,
                short(id)
            ))
        }
    }

    fn expire_lease(&mut self, taken: Instant) -> Result<String> {
        let until = taken + Duration::from_secs(SHORT_VISIBILITY_S.into()) + EXPIRY_MARGIN;
        let now = Instant::now();
        if until > now {
            thread::sleep(until - now);
        }
        Ok(format!(
            "waited out the {SHORT_VISIBILITY_S} s visibility timeout (+{} ms)",
            EXPIRY_MARGIN.as_millis()
        ))
    }
}

impl SqsConsumer {
    /// SQS over HTTP keeps no session: a consumer is a client and a queue.
    pub fn attach(endpoint: &str, queue_url: &str) -> Result<(SqsConsumer, String)> {
        Ok((
            SqsConsumer {
                endpoint: endpoint.trim_end_matches('/').to_string(),
                agent: agent(),
                queue_url: queue_url.to_string(),
            },
            "a new process and client: SQS over HTTP keeps no session".to_string(),
        ))
    }
}

impl Consumer for SqsConsumer {
    fn receive(&mut self, lease_expires: bool) -> Result<Option<Delivery>> {
        let url = self.queue_url.clone();
        let mut request = json!({
            "QueueUrl": url,
            "MaxNumberOfMessages": 1,
            "WaitTimeSeconds": WAIT_TIME_S,
            "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
        });
        if lease_expires {
            request["VisibilityTimeout"] = json!(SHORT_VISIBILITY_S);
        }
        let got = must(&self.endpoint, &self.agent, "ReceiveMessage", request)?;
        let Some(message) = got["Messages"].as_array().and_then(|m| m.first()) else {
            return Ok(None);
        };
        let body = message["Body"].as_str().unwrap_or("");
        let op = crate::payload_op(body.as_bytes())?;
        let Some(handle) = message["ReceiptHandle"].as_str() else {
            return fail(format!("SQS ReceiveMessage: no ReceiptHandle: {message}"));
        };
        let count = message["Attributes"]["ApproximateReceiveCount"].as_str();
        let id = message["MessageId"].as_str().unwrap_or("?");
        Ok(Some(Delivery {
            op,
            delivery: count.and_then(|n| n.parse().ok()),
            handle: handle.to_string(),
            seen: format!(
                "ReceiveMessage: message {}, ApproximateReceiveCount={}",
                short(id),
                count.unwrap_or("absent")
            ),
        }))
    }

    fn complete(&mut self, d: &Delivery) -> Result<Completion> {
        let url = self.queue_url.clone();
        let (status, body) = call(
            &self.endpoint,
            &self.agent,
            "DeleteMessage",
            json!({ "QueueUrl": url, "ReceiptHandle": d.handle }),
        )?;
        let accepted = (200..300).contains(&status);
        let seen = if accepted {
            format!("DeleteMessage of op {}: accepted", d.op + 1)
        } else {
            format!(
                "DeleteMessage of op {}: {status} {}",
                d.op + 1,
                error_code(&body)
            )
        };
        Ok(Completion { accepted, seen })
    }
}

/// The last queue goes when the driver does, so repeated replays do not
/// pile queues up in the emulator; a failure here changes no replay.
impl Drop for Sqs {
    fn drop(&mut self) {
        if let Some(url) = self.queue_url.take() {
            let _ = call(
                &self.endpoint,
                &self.producer,
                "DeleteQueue",
                json!({ "QueueUrl": url }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_from_body() {
        assert_eq!(crate::payload_op(b"op=3").ok(), Some(3));
        assert!(crate::payload_op(b"op=").is_err());
        assert!(crate::payload_op(b"hello").is_err());
    }

    #[test]
    fn error_code_from_json_error() {
        let body = json!({
            "__type": "com.amazonaws.sqs#ReceiptHandleIsInvalid",
            "message": "The input receipt handle is invalid.",
        });
        assert_eq!(
            error_code(&body),
            "ReceiptHandleIsInvalid: The input receipt handle is invalid."
        );
    }
}
