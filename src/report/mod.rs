//! Turning outcomes into what people read: narratives, diagrams, exports.

pub mod diagnosis;
pub mod document;
pub mod events;
pub mod itf;
pub mod markdown;
pub mod mermaid;
pub mod narrative;
pub mod replayed;
pub mod scope;
pub mod statement;
pub mod text;
pub mod words;
