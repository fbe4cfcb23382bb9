//! `[rates]`: the user's load and fault rates, read against the fault
//! registry (each kind's `Rate` names its inputs and its formula), and the
//! arithmetic that turns cut sets into expected incidents (DESIGN §5).
//!
//! The arithmetic is first-order: a cut set's chance for one message is
//! the product of its faults' chances (independent faults), the total is
//! the sum over cut sets (a union bound), and incidents per second are
//! messages per second times that. It is an expected count, not a
//! confidence bound, and no better than the inputs: the model has no
//! clock, so every window width comes from the user.

use crate::model::faults::{FaultKind, REGISTRY};
use crate::pipeline::Config;
use std::collections::BTreeMap;

/// The limits every figure is printed with.
pub const LIMITS: [&str; 5] = [
    "first-order: a cut set's chance is the product of its faults' chances, the total a sum over cut sets (a union bound)",
    "faults are independent; correlated faults under load must be given as higher rates",
    "only the modelled fault kinds, within the bounds, at one operation (a failure that needs several messages is not priced); a fault needed twice is searched alone, not mixed with others",
    "the model has no clock: window widths and fractions are the inputs you give, so the figures are no better than them",
    "an expected count, not a confidence bound",
];

/// Keys every `[rates]` table may have besides the faults' inputs.
const LOAD: [&str; 3] = ["messages-per-second", "attempts-per-redelivery", "sweep"];

#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    pub values: BTreeMap<String, f64>,
    /// `sweep = "KEY=FROM..TO"`: the chart the results page embeds.
    pub sweep: Option<Sweep>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub key: String,
    pub from: f64,
    pub to: f64,
}

impl Rates {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.values.get(key).copied()
    }

    pub fn messages_per_second(&self) -> f64 {
        self.get("messages-per-second").unwrap_or(0.0)
    }

    pub fn attempts_per_redelivery(&self) -> f64 {
        self.get("attempts-per-redelivery").unwrap_or(1.0)
    }

    /// The chance that `kind` strikes one message, or `None` when an input
    /// it needs is not given.
    pub fn per_message(&self, kind: &FaultKind) -> Option<f64> {
        (kind.rate.per_message)(&|k| self.get(k))
    }

    /// The same rates with `key` set to `value` (a sweep's point).
    pub fn with(&self, key: &str, value: f64) -> Rates {
        let mut r = self.clone();
        r.values.insert(key.to_string(), value);
        r
    }
}

/// The largest value any rate accepts, so every figure stays finite.
const MAX_LOAD: f64 = 1e12;

/// Which unit a key's suffix gives it, and the values it accepts.
fn check_value(key: &str, v: f64) -> Result<(), String> {
    if !v.is_finite() {
        return Err(format!("{v} is not a number"));
    }
    if key.ends_with("-fraction") {
        if !(0.0..=1.0).contains(&v) {
            return Err(format!("{v} is not a fraction: allowed 0..=1"));
        }
    } else if key == "attempts-per-redelivery" {
        if !(1.0..=MAX_LOAD).contains(&v) {
            return Err(format!("{v} is out of range: 1..={MAX_LOAD}"));
        }
    } else if v > MAX_LOAD {
        return Err(format!(
            "{v} is beyond any real system (at most {MAX_LOAD})"
        ));
    } else if v < 0.0 {
        return Err(format!("{v} is negative"));
    }
    Ok(())
}

/// The registry's kinds that read `key`.
fn kinds_reading(key: &str) -> impl Iterator<Item = &'static FaultKind> + '_ {
    REGISTRY.iter().filter(move |k| k.rate.keys.contains(&key))
}

/// Every key a `[rates]` table may hold.
pub fn known_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = LOAD.to_vec();
    for k in REGISTRY.iter() {
        for key in k.rate.keys {
            if !keys.contains(key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// Reads a `[rates]` table for `cfg`; an error is (key, why).
pub fn read(t: &toml::Table, cfg: &Config) -> Result<Rates, (String, String)> {
    let allowed = super::cutsets::fault_kinds(cfg);
    let mut values = BTreeMap::new();
    let mut sweep = None;
    for (key, value) in t {
        let err = |why: String| (key.clone(), why);
        if key == "sweep" {
            let text = value
                .as_str()
                .ok_or_else(|| err(format!("expected a string, found {}", value.type_str())))?;
            sweep = Some(parse_sweep(text).map_err(err)?);
            continue;
        }
        if !known_keys().contains(&key.as_str()) {
            return Err(err(format!(
                "unknown rate `{key}`, expected one of {}",
                known_keys()
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if !LOAD.contains(&key.as_str())
            && !kinds_reading(key).any(|k| allowed.iter().any(|a| a.fault == k.fault))
        {
            let kinds: Vec<&str> = kinds_reading(key).map(|k| k.name).collect();
            return Err(err(format!(
                "a rate for {}, which this scenario's bounds or pipeline rule out",
                kinds.join(" or ")
            )));
        }
        let v = match value {
            toml::Value::Integer(n) => *n as f64,
            toml::Value::Float(f) => *f,
            other => {
                return Err(err(format!(
                    "expected a number, found {}",
                    other.type_str()
                )));
            }
        };
        check_value(key, v).map_err(err)?;
        values.insert(key.clone(), v);
    }
    // First-order arithmetic needs each fault's chance per message to be
    // one: a window longer than the time between events is not a chance.
    for k in &allowed {
        if let Some(p) = (k.rate.per_message)(&|key| values.get(key).copied())
            && p > 1.0
        {
            let last = k
                .rate
                .keys
                .iter()
                .rev()
                .find(|key| values.contains_key(**key))
                .copied()
                .unwrap_or_default();
            return Err((
                last.to_string(),
                format!(
                    "gives {} a chance of {p} per message, above 1: {} cannot be priced first-order",
                    k.name,
                    k.rate.keys.join(" with ")
                ),
            ));
        }
    }
    if !values.contains_key("messages-per-second") {
        return Err((
            "messages-per-second".into(),
            "required: the load every figure is per".into(),
        ));
    }
    let rates = Rates { values, sweep };
    if let Some(s) = &rates.sweep {
        check_sweep(s, &rates, cfg).map_err(|why| ("sweep".to_string(), why))?;
    }
    Ok(rates)
}

/// "messages-per-second=400..18000".
pub fn parse_sweep(text: &str) -> Result<Sweep, String> {
    let bad = || format!("`{text}`: expected KEY=FROM..TO, e.g. messages-per-second=400..18000");
    let (key, range) = text.split_once('=').ok_or_else(bad)?;
    let (from, to) = range.split_once("..").ok_or_else(bad)?;
    let num = |s: &str| s.trim().parse::<f64>().map_err(|_| bad());
    let (from, to) = (num(from)?, num(to)?);
    if from >= to {
        return Err(format!("`{text}`: FROM must be below TO"));
    }
    Ok(Sweep {
        key: key.trim().to_string(),
        from,
        to,
    })
}

/// A sweep's key must be a rate the scenario takes, and both ends valid.
pub fn check_sweep(s: &Sweep, rates: &Rates, cfg: &Config) -> Result<(), String> {
    let mut table = toml::Table::new();
    for (k, v) in &rates.values {
        table.insert(k.clone(), toml::Value::Float(*v));
    }
    for end in [s.from, s.to] {
        table.insert(s.key.clone(), toml::Value::Float(end));
        if s.key == "sweep" {
            return Err("cannot sweep `sweep`".into());
        }
        read(&table, cfg).map_err(|(k, why)| format!("`{k}` at {end}: {why}"))?;
    }
    Ok(())
}
