//! What `onceproof replay --write results/` records of a counterexample
//! replayed on real servers (`results/<name>.replay.json`), and the lines
//! the scenario's results page gives it. Date-free, so the page changes
//! only when the servers' versions or the outcome do.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    pub format: u32,
    pub scenario: String,
    /// The property whose counterexample was replayed.
    pub property: String,
    /// The broker, its version, and whether it is the real product or an
    /// emulator ("moto 5.2.5, an SQS emulator (not Amazon SQS)").
    pub broker: String,
    /// Where that server is known to differ from the product it stands for.
    pub differences: Vec<String>,
    /// The effect store ("PostgreSQL 15.18").
    pub store: String,
    /// What PostgreSQL held at the end ("op 1 applied 2×").
    pub outcome: String,
    /// The outcome and every step went as the model says.
    pub reproduced: bool,
    pub counterpart: Option<Counterpart>,
}

/// The same schedule against the proved design.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterpart {
    pub scenario: String,
    pub outcome: String,
    pub exactly_once: bool,
}

pub const FORMAT: u32 = 1;

pub fn path(dir: &Path, scenario: &str) -> std::path::PathBuf {
    dir.join(format!("{scenario}.replay.json"))
}

/// The scenario's record in `dir`, if it was replayed (a record that does
/// not parse is treated as none; the replay tests keep them fresh).
pub fn read(dir: &Path, scenario: &str) -> Option<Replayed> {
    let text = std::fs::read_to_string(path(dir, scenario)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The page's section on the replay.
pub fn section(r: &Replayed) -> String {
    let mut o = format!(
        "\n## Reproduced on real servers\n\n**Reproduced on:** {} with {} as the effect store. ",
        r.broker, r.store
    );
    o += &if r.reproduced {
        format!(
            "The counterexample to *{}* was replayed step by step (`onceproof replay {}`) and came out as the model says: {}.",
            r.property, r.scenario, r.outcome
        )
    } else {
        format!(
            "The counterexample to *{}* was replayed (`onceproof replay {}`) and was **not reproduced**: {}.",
            r.property, r.scenario, r.outcome
        )
    };
    if !r.differences.is_empty() {
        o += &format!(
            " Where this server is known to differ: {}.",
            r.differences.join("; ")
        );
    }
    if let Some(c) = &r.counterpart {
        o += &format!(
            " The same schedule against the proved design `{}`: {}{}.",
            c.scenario,
            c.outcome,
            if c.exactly_once {
                ", each operation exactly once"
            } else {
                ", NOT exactly once"
            }
        );
    }
    o += " How each step maps to real operations, and where the servers differ from the model's facts: [docs/REPLAY.md](../docs/REPLAY.md).\n";
    o
}
