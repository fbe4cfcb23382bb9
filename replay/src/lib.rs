//! Counterexamples replayed on real brokers.
//!
//! A counterexample is a claim about a real system: "with this one crash,
//! RabbitMQ hands the message out again and the effect happens twice". This
//! crate checks the claim. It takes the scenario's counterexample from the
//! checker, maps each step to what a real client does (publish, receive,
//! the effect in PostgreSQL, ack / DeleteMessage / offset commit, a crash
//! as the consumer's connection going away with no ack or commit, a lease
//! expiry as the shortest lease the broker allows running out), runs it on
//! servers on loopback (`scripts/brokers up`), and compares what PostgreSQL
//! holds at the end with what the model said. The same schedule is then run
//! against the design the model proves (the counterpart), whose outcome must
//! be each operation applied exactly once.

pub mod broker;
pub mod kafka;
