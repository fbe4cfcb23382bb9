//! onceproof: model-checked delivery guarantees.

pub mod check;
pub mod model;
pub mod pipeline;
pub mod report;
