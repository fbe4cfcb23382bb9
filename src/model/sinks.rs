//! Where a side effect lands. *Side effect applied once* asks every sink to
//! hold at most one application of each operation; *no loss* asks the
//! primary sink, the one the business cares about, to hold one. The
//! properties read sinks, never a particular actor's counters, so an effect
//! that lands in an external API or an output topic (the patterns and
//! Kafka issues) is one more row of [`SINKS`], not a change of the
//! properties.

use super::{State, store};
use crate::pipeline::Config;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sink {
    /// The effect store: our database, in the effect's transaction.
    Database,
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

pub const SINKS: [SinkSpec; 1] = [SinkSpec {
    sink: Sink::Database,
    name: "the effect store",
    applied: database,
}];

impl Sink {
    pub fn spec(self) -> &'static SinkSpec {
        &SINKS[self as usize]
    }
}

/// The sink whose application *no loss* demands. Only the database exists
/// today; a `[store] effect` field chooses once a second sink lands.
pub fn primary(_: &Config) -> Sink {
    Sink::Database
}

/// Applications of `op` in the primary sink.
pub fn applied_in_primary(cfg: &Config, s: &State, op: usize) -> u8 {
    (primary(cfg).spec().applied)(s)[op]
}

/// Whether no sink holds two applications of any operation.
pub fn at_most_once_everywhere(s: &State) -> bool {
    SINKS.iter().all(|k| (k.applied)(s).iter().all(|&n| n <= 1))
}
