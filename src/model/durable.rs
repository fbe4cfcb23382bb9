//! What an actor keeps across its own crash: stateright's per-actor
//! storage, one small hashable type for every actor that can crash.
//!
//! Today only consumers crash, and all a consumer keeps is its incarnation
//! number: the work it held is volatile, and its new session tells the
//! broker it is someone new. The producer's durable part (its incarnation,
//! the business rows it committed, its outbox) joins this type when the
//! producer can crash (the Leg 2 and outbox issues), so a crash has one
//! place to keep what the actor made durable, and the crash budget one
//! place to count incarnations.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Durable {
    /// 1 for the first run, one more per restart.
    pub incarnation: u8,
}

impl Durable {
    /// What an actor starts with, given what its previous incarnation saved.
    pub fn on_start(saved: &Option<Durable>) -> Durable {
        Durable {
            incarnation: saved.map_or(1, |d| d.incarnation + 1),
        }
    }

    /// Crashes this storage has seen (an actor that never saved has none).
    pub fn restarts(saved: &Option<Durable>) -> u8 {
        saved.map_or(0, |d| d.incarnation - 1)
    }
}
