//! What `onceproof risk` prints: the cut sets as a design-review artifact
//! ("breaks under {lease expiry} or {consumer crash}"), their prices at the
//! user's load, the sweep, and the limits every figure carries.

use super::cutsets::Cuts;
use super::openings::Opening;
use super::rates::{LIMITS, Rates, Sweep};
use super::{Priced, PropertyRisk, figure, incident};
use crate::check::Verdict;
use crate::scenario::Scenario;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The version of `risk --json`'s shape.
pub const FORMAT: u32 = 1;

#[derive(Serialize)]
pub struct Report {
    pub format: u32,
    pub scenario: String,
    pub file: String,
    /// The fault kinds the cut sets are drawn from.
    pub fault_kinds: Vec<&'static str>,
    pub properties: Vec<PropertyCuts>,
    pub runs: usize,
    pub states: usize,
    pub rates: Option<BTreeMap<String, f64>>,
    pub sweep: Option<SweepDoc>,
    pub sweep_rows: Option<Vec<(f64, Vec<f64>)>>,
    pub limits: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct PropertyCuts {
    pub property: &'static str,
    /// "{lease expiry}", smallest first; second-order sets after.
    pub cut_sets: Vec<String>,
    /// Why there is none, or why that may mislead.
    pub note: Option<String>,
    /// With no cut set: the design's assumptions whose dropping opens one.
    pub opened_by: Vec<Opening>,
    /// At the rates, if given.
    pub priced: Option<Vec<Priced>>,
    pub total_per_second: Option<f64>,
    pub total_per_day: Option<f64>,
    /// A cut set has no rates: the total covers the priced ones only.
    pub total_is_partial: bool,
}

#[derive(Serialize)]
pub struct SweepDoc {
    pub key: String,
    pub from: f64,
    pub to: f64,
}

impl Report {
    pub fn new(
        s: &Scenario,
        cuts: &Cuts,
        rates: Option<&Rates>,
        priced: Option<Vec<PropertyRisk>>,
        sweep: Option<Sweep>,
        sweep_rows: Option<Vec<(f64, Vec<f64>)>>,
        mut openings: Vec<Vec<Opening>>,
    ) -> Report {
        let kinds: Vec<&'static str> = cuts.kinds.iter().map(|k| k.name).collect();
        let properties = cuts
            .properties
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let sets: Vec<String> = p.first.iter().chain(&p.second).map(|c| c.words()).collect();
                let note = if !sets.is_empty() {
                    None
                } else if s.expected(p.property) == Some(Verdict::Counterexample) {
                    Some(format!(
                        "no cut set at one operation, yet the scenario expects a counterexample at its bounds ({}): the failure needs several operations, an interaction between messages that a per-message rate cannot price",
                        s.config.describe_bounds()
                    ))
                } else if kinds.is_empty() {
                    Some("no cut set: the scenario gives no fault a budget".into())
                } else {
                    Some(format!(
                        "no cut set within the modelled faults ({})",
                        kinds.join(", ")
                    ))
                };
                let this = priced.as_ref().map(|all| &all[i]);
                PropertyCuts {
                    property: p.property,
                    cut_sets: sets,
                    note,
                    opened_by: openings.get_mut(i).map(std::mem::take).unwrap_or_default(),
                    priced: this.map(|r| r.cut_sets.clone()),
                    total_per_second: this.map(|r| r.total_per_second),
                    total_per_day: this.map(|r| r.total_per_day),
                    total_is_partial: this.is_some_and(|r| r.partial),
                }
            })
            .collect();
        Report {
            format: FORMAT,
            scenario: s.name.clone(),
            file: s.path.display().to_string(),
            fault_kinds: kinds,
            properties,
            runs: cuts.runs,
            states: cuts.states,
            rates: rates.map(|r| r.values.clone()),
            sweep: sweep.map(|s| SweepDoc {
                key: s.key,
                from: s.from,
                to: s.to,
            }),
            sweep_rows,
            limits: LIMITS.to_vec(),
        }
    }

    /// The properties a sweep draws, in the rows' order.
    pub fn charted(&self) -> Vec<&str> {
        self.properties.iter().map(|p| p.property).collect()
    }

    pub fn chart_title(&self) -> String {
        format!("{}: expected incidents per day", self.scenario)
    }
}

pub fn text(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: minimal cut sets at one operation, from {} ({} checker runs, {} states)",
        r.scenario,
        if r.fault_kinds.is_empty() {
            "no fault kind".to_string()
        } else {
            r.fault_kinds.join(", ")
        },
        r.runs,
        crate::report::text::thousands(r.states)
    );
    for p in &r.properties {
        match &p.note {
            None => {
                let _ = writeln!(
                    o,
                    "  {}: breaks under {}",
                    p.property,
                    p.cut_sets.join(" or ")
                );
            }
            Some(note) => {
                let _ = writeln!(o, "  {}: {note}", p.property);
                if !p.opened_by.is_empty() {
                    let _ = writeln!(o, "    it opens if the design drops an assumption:");
                }
                for w in &p.opened_by {
                    let _ = writeln!(
                        o,
                        "      {}: then {}",
                        w.assumption,
                        w.cut_sets.join(" or ")
                    );
                }
            }
        }
    }
    let Some(rates) = &r.rates else {
        let _ = writeln!(
            o,
            "\nno rates: add a `[rates]` table to the scenario, or pass --rates FILE, to price them"
        );
        return o;
    };
    let mps = rates.get("messages-per-second").copied().unwrap_or(0.0);
    let attempts = rates.get("attempts-per-redelivery").copied().unwrap_or(1.0);
    let _ = writeln!(
        o,
        "\nat {} messages/s, {} attempt{} per redelivery:",
        figure(mps),
        figure(attempts),
        if attempts == 1.0 { "" } else { "s" }
    );
    for p in &r.properties {
        let Some(priced) = &p.priced else { continue };
        if priced.is_empty() {
            let _ = writeln!(
                o,
                "  {}: 0 {} (no cut set)",
                p.property,
                incident(p.property)
            );
            continue;
        }
        let _ = writeln!(o, "  {} ({}):", p.property, incident(p.property));
        for c in priced {
            match (c.per_message, c.incidents_per_second) {
                (Some(pm), Some(ps)) => {
                    let ambiguous = c
                        .ambiguous_executions_per_second
                        .map_or(String::new(), |a| {
                            format!("; ambiguous executions {} /s", figure(a))
                        });
                    let _ = writeln!(
                        o,
                        "    {}: {} per message → {} /s, {} /day{ambiguous}",
                        c.cut_set,
                        figure(pm),
                        figure(ps),
                        figure(ps * super::SECONDS_PER_DAY),
                    );
                }
                _ => {
                    let _ = writeln!(
                        o,
                        "    {}: not priced, no rate for {}",
                        c.cut_set,
                        c.unrated.join(", ")
                    );
                }
            }
        }
        let _ = writeln!(
            o,
            "    {}: {} /s, {} /day",
            if p.total_is_partial {
                "total of the priced cut sets only (not a bound: give the missing rates)"
            } else {
                "total (first-order union bound)"
            },
            figure(p.total_per_second.unwrap_or(0.0)),
            figure(p.total_per_day.unwrap_or(0.0))
        );
    }
    if let (Some(sw), Some(rows)) = (&r.sweep, &r.sweep_rows) {
        let _ = writeln!(
            o,
            "\nexpected incidents per day as {} goes from {} to {}:",
            sw.key,
            figure(sw.from),
            figure(sw.to)
        );
        let _ = writeln!(o, "  {:>14}  {}", sw.key, r.charted().join("  |  "));
        for (x, ys) in rows {
            let cells: Vec<String> = ys.iter().map(|y| format!("{:>14}", figure(*y))).collect();
            let _ = writeln!(o, "  {:>14}  {}", figure(*x), cells.join("  |  "));
        }
    }
    let _ = writeln!(o, "\nlimits of these figures:");
    for l in &r.limits {
        let _ = writeln!(o, "  - {l}");
    }
    o
}
