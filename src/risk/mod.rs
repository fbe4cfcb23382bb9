//! From a counterexample to incidents per day: `onceproof risk`.
//!
//! [`cutsets`] finds, with the checker, the minimal sets of fault kinds
//! that refute each property at one operation; [`rates`] reads the user's
//! load and fault rates; [`price`] multiplies them into expected incidents
//! per second and per day, and "ambiguous executions" (the handler runs
//! that act on an operation already in an ambiguous state: incidents ×
//! attempts per redelivery); [`chart`] draws a sweep of one input.

pub mod chart;
pub mod cutsets;
pub mod openings;
pub mod rates;
pub mod report;

use crate::model::faults::REGISTRY;
use crate::model::properties::NO_LOSS;
use cutsets::{CutSet, Cuts};
use rates::Rates;
use serde::Serialize;

pub const SECONDS_PER_DAY: f64 = 86_400.0;

#[derive(Clone, Debug, Serialize)]
pub struct Priced {
    pub cut_set: String,
    /// Each fault at most this many times (2 for a second-order set).
    pub times: u8,
    /// None when a fault in it has no rate: see `unrated`.
    pub per_message: Option<f64>,
    pub incidents_per_second: Option<f64>,
    pub incidents_per_day: Option<f64>,
    pub ambiguous_executions_per_second: Option<f64>,
    /// Faults of the set whose `[rates]` inputs are not given.
    pub unrated: Vec<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PropertyRisk {
    pub property: &'static str,
    pub cut_sets: Vec<Priced>,
    /// The union bound over the rated cut sets.
    pub total_per_second: f64,
    pub total_per_day: f64,
    /// Some cut set has no rates: the total covers the others only, and
    /// is then no bound at all.
    pub partial: bool,
}

/// `property`'s cut set at the rates; a duplicate is re-run by every
/// attempt, so only *applied once* has ambiguous executions.
pub fn price_set(set: &CutSet, rates: &Rates, property: &str) -> Priced {
    let mut p = Some(1.0);
    let mut unrated = Vec::new();
    for &f in &set.kinds {
        let kind = &REGISTRY[f as usize];
        match rates.per_message(kind) {
            Some(x) => p = p.map(|p| p * x.powi(i32::from(set.times))),
            None => {
                unrated.push(kind.name);
                p = None;
            }
        }
    }
    let per_second = p.map(|p| p * rates.messages_per_second());
    Priced {
        cut_set: set.words(),
        times: set.times,
        per_message: p,
        incidents_per_second: per_second,
        incidents_per_day: per_second.map(|s| s * SECONDS_PER_DAY),
        ambiguous_executions_per_second: per_second
            .filter(|_| property != NO_LOSS)
            .map(|s| s * rates.attempts_per_redelivery()),
        unrated,
    }
}

pub fn price(cuts: &Cuts, rates: &Rates) -> Vec<PropertyRisk> {
    cuts.properties
        .iter()
        .map(|p| {
            let cut_sets: Vec<Priced> = p
                .first
                .iter()
                .chain(&p.second)
                .map(|s| price_set(s, rates, p.property))
                .collect();
            let total: f64 = cut_sets.iter().filter_map(|c| c.incidents_per_second).sum();
            PropertyRisk {
                property: p.property,
                partial: cut_sets.iter().any(|c| c.per_message.is_none()),
                cut_sets,
                total_per_second: total,
                total_per_day: total * SECONDS_PER_DAY,
            }
        })
        .collect()
}

/// What one incident is, per property.
pub fn incident(property: &str) -> &'static str {
    if property == NO_LOSS {
        "operations lost"
    } else {
        "operations applied twice"
    }
}

/// 0.004 → "0.004", 72 → "72", 165.6 → "165.6", 6220800 → "6,220,800",
/// 1.2e-9 → "1.20e-9".
pub fn figure(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if !x.is_finite() || x.abs() >= 1e15 {
        format!("{x:.3e}")
    } else if x.fract() == 0.0 && x.abs() >= 1000.0 {
        crate::report::text::thousands(x.abs() as usize)
    } else if x.abs() < 0.001 {
        format!("{x:.2e}")
    } else if x.abs() < 10_000.0 {
        let s = if x.abs() < 100.0 {
            format!("{x:.3}")
        } else {
            format!("{x:.1}")
        };
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        crate::report::text::thousands(x.round() as usize)
    }
}
