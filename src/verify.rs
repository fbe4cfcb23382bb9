//! `onceproof verify`: re-runs the check a results document records and
//! says whether the same proof comes out. The proof id names the resolved
//! configuration, the model code, the checker versions, the limits and the
//! outcome ([`document::proof_id`]); when the ids differ, this names which
//! of those changed, so a reviewer knows whether the cited proof is stale
//! (the model or the scenario moved on) or was never complete.

use crate::report::document::{self, Document};

/// What differs between a recorded document and a fresh run of it, in the
/// order a reader needs it: what was checked first, then what came out.
pub fn differences(recorded: &Document, fresh: &Document) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, was: String, now: String| {
        if was != now {
            out.push(format!("{what}: recorded {was}, now {now}"));
        }
    };
    differ(
        "model code",
        recorded.model_code.clone(),
        fresh.model_code.clone(),
    );
    differ(
        "stateright",
        recorded.stateright_version.clone(),
        fresh.stateright_version.clone(),
    );
    differ(
        "onceproof",
        recorded.onceproof_version.clone(),
        fresh.onceproof_version.clone(),
    );
    for (name, was, now) in [
        ("pipeline", &recorded.pipeline, &fresh.pipeline),
        ("bounds", &recorded.bounds, &fresh.bounds),
    ] {
        if was != now {
            differ(
                &format!("{name} (the scenario file changed)"),
                changed_keys(was, now, true),
                changed_keys(was, now, false),
            );
        }
    }
    for p in &recorded.properties {
        let now = fresh
            .properties
            .iter()
            .find(|q| q.name == p.name)
            .map_or("not checked".to_string(), |q| q.verdict.name().to_string());
        differ(p.name.as_str(), p.verdict.name().to_string(), now);
    }
    for w in &recorded.witnesses {
        let now = fresh
            .witnesses
            .iter()
            .find(|v| v.name == w.name)
            .map_or("not demanded".to_string(), |v| reached(v.reached));
        differ(&format!("witness '{}'", w.name), reached(w.reached), now);
    }
    let counts = |d: &Document| {
        format!(
            "{} unique / {} total{}",
            d.states.unique,
            d.states.total,
            if d.states.complete {
                ""
            } else {
                " (cut short)"
            }
        )
    };
    differ("states", counts(recorded), counts(fresh));
    if recorded.proof_id != document::proof_id(recorded) {
        out.push(format!(
            "the recorded proof id {} does not match the document's own contents (edited by hand, or written by an older onceproof)",
            recorded.proof_id
        ));
    }
    out
}

/// Beyond the proof: the rest of what the document says (its guarantee
/// statement, assumptions, expectations, counterexamples' words), field by
/// field, against what this run writes.
pub fn other_fields(recorded: &Document, fresh: &Document) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(recorded.reproducible()).expect("plain data"),
        serde_json::to_value(fresh.reproducible()).expect("plain data"),
    );
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return Vec::new();
    };
    differing(a, b)
        .map(|k| {
            format!(
                "`{k}` differs from what this run writes (edited, or written by another onceproof)"
            )
        })
        .collect()
}

/// The keys of two JSON objects whose values differ, in order.
fn differing<'a>(
    a: &'a serde_json::Map<String, serde_json::Value>,
    b: &'a serde_json::Map<String, serde_json::Value>,
) -> impl Iterator<Item = &'a String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k))
}

fn reached(r: bool) -> String {
    if r { "reached" } else { "unreached" }.to_string()
}

/// The keys of two JSON objects whose values differ, with one side's values.
fn changed_keys(a: &serde_json::Value, b: &serde_json::Value, left: bool) -> String {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return if left { a.to_string() } else { b.to_string() };
    };
    differing(a, b)
        .map(|k| {
            let side = if left { a.get(k) } else { b.get(k) };
            format!("{k} = {}", side.map_or("absent".into(), |v| v.to_string()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
