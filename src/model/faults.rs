//! The faults the checker injects, in one table: which actions are faults,
//! and of which kind. The resting-state test ([`super::properties::at_rest`])
//! ignores the faults that are never obliged to happen; the counterexample
//! search ranks traces by how many faults of any kind they need; reports
//! name them.

use super::msg::Timer;
use super::{Action, BROKER, PRODUCER, State, in_flight_from};
use serde::Serialize;
use stateright::actor::{ActorModelAction, Id};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// A consumer goes down (`bounds.crashes`).
    Crash,
    /// A Leg 1 message is lost (`bounds.losses`).
    Loss,
    /// A lease expires while its holder may still work (`bounds.lease-expiries`).
    LeaseExpiry,
    /// The producer re-publishes while the previous attempt or its confirm
    /// is still on its way (`bounds.retries`).
    SpuriousRetry,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Crash => "consumer crash",
            Fault::Loss => "lost message",
            Fault::LeaseExpiry => "lease expiry",
            Fault::SpuriousRetry => "retry after a merely slow confirm",
        }
    }
}

/// The kind of fault an action is, judged without its state: the faults
/// that never have to happen, which the resting-state test must not count as
/// progress. A spurious retry is not among them: it needs a message in
/// flight, so a state where it is enabled is never at rest anyway.
pub fn optional_fault(a: &Action) -> Option<Fault> {
    match a {
        ActorModelAction::Crash(_) => Some(Fault::Crash),
        ActorModelAction::Drop(_) => Some(Fault::Loss),
        // Only the broker sets lease timers, only the producer retry timers.
        ActorModelAction::Timeout(_, Timer::Lease(_)) => Some(Fault::LeaseExpiry),
        _ => None,
    }
}

/// The kind of fault action `a` is when taken from state `s`, if any.
pub fn fault(s: &State, a: &Action) -> Option<Fault> {
    if let Some(f) = optional_fault(a) {
        return Some(f);
    }
    match a {
        ActorModelAction::Timeout(_, Timer::Retry(op)) => {
            // The timer is set only while the operation is unconfirmed.
            let pending = in_flight_from(s, Id::from(PRODUCER))
                .chain(in_flight_from(s, Id::from(BROKER)))
                .any(|m| m.leg1_op() == Some(*op));
            pending.then_some(Fault::SpuriousRetry)
        }
        _ => None,
    }
}
