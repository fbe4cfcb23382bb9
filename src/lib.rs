//! onceproof: model-checked delivery guarantees.

pub mod assumptions;
pub mod check;
pub mod explorable;
pub mod explore;
pub mod front;
pub mod model;
pub mod pipeline;
pub mod progress;
pub mod reduced;
pub mod report;
pub mod results;
pub mod risk;
pub mod scenario;
pub mod search;
pub mod verify;
