//! Where a side effect lands. *Side effect applied once* asks every sink to
//! hold at most one application of each operation; *no loss* asks the
//! primary sink, the one the business cares about, to hold one. The
//! properties read sinks, never a particular actor's counters, so an effect
//! that lands in an output topic (a Kafka transaction) or an external API
//! (the patterns issue) is one more row of [`SINKS`], not a change of the
//! properties.

use super::{State, store};
use crate::pipeline::{Config, Effect};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sink {
    /// The effect store: our database, in the effect's transaction.
    Database,
    /// The output topic of a read-process-write consumer, as a
    /// `read_committed` reader sees it: only committed transactions' records.
    OutputTopic,
    /// What a poison handler did before it failed (an email sent, a call
    /// made), outside any ledger: never the operation's effect.
    Partial,
}

pub struct SinkSpec {
    pub sink: Sink,
    /// Its name in reports.
    pub name: &'static str,
    /// Applications this sink holds, per operation.
    pub applied: fn(&State) -> &[u8],
}

fn database(s: &State) -> &[u8] {
    &store(s).applied
}

fn output_topic(s: &State) -> &[u8] {
    &super::broker(s).output
}

fn partial(s: &State) -> &[u8] {
    &store(s).partial
}

pub const SINKS: [SinkSpec; 3] = [
    SinkSpec {
        sink: Sink::Database,
        name: "the effect store",
        applied: database,
    },
    SinkSpec {
        sink: Sink::OutputTopic,
        name: "the output topic",
        applied: output_topic,
    },
    SinkSpec {
        sink: Sink::Partial,
        name: "the poison handler's partial effect",
        applied: partial,
    },
];

impl Sink {
    pub fn spec(self) -> &'static SinkSpec {
        &SINKS[self as usize]
    }
}

/// The sink whose application *no loss* demands: the one `[store] effect`
/// names.
pub fn primary(cfg: &Config) -> Sink {
    match cfg.pipeline.effect {
        Effect::External => Sink::Database,
        Effect::KafkaTopic => Sink::OutputTopic,
    }
}

/// Applications of `op` in the primary sink.
pub fn applied_in_primary(cfg: &Config, s: &State, op: usize) -> u8 {
    (primary(cfg).spec().applied)(s)[op]
}

/// Whether no sink holds two applications of any operation.
pub fn at_most_once_everywhere(s: &State) -> bool {
    SINKS.iter().all(|k| (k.applied)(s).iter().all(|&n| n <= 1))
}

/// The first operation some sink holds more than once, with that sink.
pub fn duplicated(s: &State) -> Option<(Sink, u8)> {
    SINKS.iter().find_map(|k| {
        (k.applied)(s)
            .iter()
            .position(|&n| n >= 2)
            .map(|op| (k.sink, op as u8))
    })
}

/// The sinks this pipeline writes to, primary first.
pub fn in_use(cfg: &Config) -> Vec<Sink> {
    let mut all = vec![primary(cfg)];
    if cfg.pipeline.transactions && !all.contains(&Sink::OutputTopic) {
        all.push(Sink::OutputTopic);
    }
    if cfg.pipeline.poison_partial_effect {
        all.push(Sink::Partial);
    }
    all
}
