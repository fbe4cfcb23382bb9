//! Turning outcomes into what people read: narratives, diagrams, exports.

pub mod itf;
pub mod mermaid;
pub mod narrative;
