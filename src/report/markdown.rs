//! The results page for one scenario, and the matrix that links them: what
//! people paste into design reviews.

use crate::assumptions;
use crate::check::Outcome;
use crate::model;
use crate::report::document::Document;
use crate::report::mermaid;
use crate::report::text;
use crate::scenario::Scenario;
use std::fmt::Write;

/// The words the page uses, defined before their first use.
const TERMS: &str = "*Leg*: one of the three stretches a message crosses: Leg 1 producer → broker, \
Leg 2 the broker's durability, Leg 3 broker → consumer and its effect. *Gap*: the window between \
two of the four boundaries (published, delivered, effect committed, completion recorded) in \
which a fault breaks a guarantee.";

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

/// A JSON object's leaves as `a.b` keys, in order, for a table.
fn flattened(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            match v {
                serde_json::Value::Object(_) => {
                    for (kk, vv) in flattened(v) {
                        out.push((format!("{k}.{kk}"), vv));
                    }
                }
                serde_json::Value::String(s) => out.push((k.clone(), s.clone())),
                other => out.push((k.clone(), other.to_string())),
            }
        }
    }
    out
}

pub fn page(scenario: &Scenario, outcome: &Outcome, d: &Document) -> String {
    let model = model::build(scenario.config);
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n\n{}\n", d.scenario, d.summary);
    let _ = writeln!(
        o,
        "Proof id `{}` (scenario `{}`, model code `{}`, onceproof {}, stateright {}{}).\n",
        d.proof_id,
        d.file,
        d.model_code,
        d.onceproof_version,
        d.stateright_version,
        text::limits_words(&d.limits)
    );
    let _ = writeln!(
        o,
        "Reproduce: `onceproof check {}`. Verify this page: `onceproof verify results/{}.json`.\n",
        d.file, d.scenario
    );
    let _ = writeln!(o, "| property | verdict | expected |\n|---|---|---|");
    for p in &d.properties {
        let _ = writeln!(
            o,
            "| {} | **{}** | {} |",
            p.label(),
            p.verdict.name(),
            p.expected_name()
        );
    }
    let _ = writeln!(o, "\n{TERMS}");
    let _ = writeln!(o, "\n## Guarantee statement\n");
    let _ = writeln!(o, "{}:\n", capitalised(text::statement_heading(d)));
    for line in d.guarantee.lines() {
        let _ = writeln!(o, "> {line}");
    }
    for p in &d.properties {
        if let Some(c) = &p.counterexample {
            let _ = writeln!(
                o,
                "\n**Does not hold** ({}): {}",
                p.name, c.diagnosis.guarantee
            );
        }
    }
    let _ = writeln!(o, "\n## What the verdicts cover\n");
    let _ = writeln!(o, "- **Bounds:** {}.", d.bounds_summary);
    let _ = writeln!(o, "- **Broker durability (Leg 2):** {}.", d.durability);
    if let Some(line) = text::not_covered_line(d) {
        let _ = writeln!(o, "- **{}.", capitalised(&line.replacen(": ", ":** ", 1)));
    }
    for a in &d.assumes {
        let _ = writeln!(o, "- {a}");
    }
    if scenario.rates.is_some() {
        let _ = writeln!(
            o,
            "\n## Risk at the scenario's load\n\n![expected incidents per day]({name}.risk.svg)\n\n\
             Cut sets priced at the `[rates]` of `{}`; the figures, and their limits (first-order, \
             independent faults, only the modelled fault kinds, the inputs' window widths, an \
             expected count), are printed by `onceproof risk {name} --write results/`, which draws \
             this chart.",
            d.file,
            name = d.scenario
        );
    }
    let _ = writeln!(
        o,
        "\n## Pipeline\n\n| part | value |\n|---|---|\n| mode | {} |\n| broker kind | {} |",
        d.mode, d.broker_kind
    );
    for (k, v) in flattened(&d.pipeline) {
        let _ = writeln!(o, "| {k} | {v} |");
    }
    let _ = writeln!(o, "\n## Bounds\n\n| bound | value |\n|---|---|");
    if let Some(b) = d.bounds.as_object() {
        for (k, v) in b {
            let _ = writeln!(o, "| {k} | {v} |");
        }
    }
    let _ = writeln!(o, "\n## Assumptions\n");
    if d.assumptions.is_empty() {
        let _ = writeln!(o, "None cited.");
    } else {
        let _ = writeln!(
            o,
            "Each fact with its public source: [docs/FACTS.md](../docs/FACTS.md).\n"
        );
    }
    for a in &d.assumptions {
        let _ = writeln!(
            o,
            "- **{a}**: {}",
            assumptions::describe(a).unwrap_or("(not in BROKER-FACTS)")
        );
    }
    let _ = writeln!(
        o,
        "\n## Exploration\n\n{} unique states, {} total, {}.\n",
        text::thousands(d.states.unique),
        text::thousands(d.states.total),
        if d.states.complete {
            "complete"
        } else {
            "cut short"
        }
    );
    let _ = writeln!(o, "| witness | reached |\n|---|---|");
    for w in &d.witnesses {
        let _ = writeln!(
            o,
            "| {} | {} |",
            w.name,
            if w.reached { "yes" } else { "**no**" }
        );
    }
    for (p, outcome_p) in d.properties.iter().zip(&outcome.properties) {
        let (Some(c), Some(trace)) = (&p.counterexample, &outcome_p.trace) else {
            continue;
        };
        let _ = writeln!(
            o,
            "\n## Counterexample: {} ({} steps, {}{})\n",
            p.name,
            c.length,
            crate::report::text::fault_words(&c.faults),
            if c.cycle_from.is_some() {
                "; a lasso: the path to a fair cycle, then the cycle"
            } else if c.shortest {
                ""
            } else {
                ", not proven to have the fewest faults and steps"
            }
        );
        for (i, step) in c.steps.iter().enumerate() {
            let _ = writeln!(o, "{}. {step}", i + 1);
        }
        if !c.aftermath.is_empty() {
            let _ = writeln!(o, "\nThen, with no further fault:\n");
            for step in &c.aftermath {
                let _ = writeln!(o, "- {step}");
            }
        }
        let _ = writeln!(
            o,
            "\n- **Failed leg:** {}\n- **Gap:** {}\n- **Missing guarantee:** {}\n",
            c.diagnosis.leg, c.diagnosis.gap, c.diagnosis.guarantee
        );
        let _ = writeln!(
            o,
            "```mermaid\n{}\n```\n",
            mermaid::sequence_diagram(&model, trace, &p.name).trim_end()
        );
        let _ = writeln!(
            o,
            "Open it in the Explorer: `onceproof check {}` prints the link; or run \
             `onceproof explore {}` and open `#/steps/{}` at the address it serves on.",
            d.file, d.file, c.explorer_path
        );
    }
    o
}

/// results/README.md: scenarios × properties.
pub fn matrix(docs: &[Document]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# onceproof results\n\nGenerated by `onceproof check --all --write results/`. \
         Each row links to its page. A proof id names the resolved configuration, the model \
         code, the checker's versions, the limits and the outcome; `onceproof verify \
         results/<scenario>.json` re-runs it.\n"
    );
    let _ = writeln!(
        o,
        "| scenario | mode | side effect applied once | no loss | progress | as expected | unique states | proof id |\n|---|---|---|---|---|---|---|---|"
    );
    for d in docs {
        let v = |name: &str| {
            d.properties
                .iter()
                .find(|p| p.name == name)
                .map_or("-", |p| p.verdict.name())
        };
        let _ = writeln!(
            o,
            "| [{}]({}.md) | {} | {} | {} | {} | {} | {} | `{}` |",
            d.scenario,
            d.scenario,
            d.mode,
            v(crate::model::properties::APPLIED_ONCE),
            v(crate::model::properties::NO_LOSS),
            v(crate::model::properties::PROGRESS),
            if d.as_expected { "yes" } else { "**no**" },
            text::thousands(d.states.unique),
            d.proof_id
        );
    }
    o
}
