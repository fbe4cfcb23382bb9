//! The terminal report `onceproof check` prints for one scenario.

use crate::check::Verdict;
use crate::report::document::Document;
use std::fmt::Write;

/// 1234567 as "1,234,567".
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// For a run that proves something with faults left out: which, at which
/// profile, so a proof is never cited as covering them.
pub fn not_covered_line(d: &Document) -> Option<String> {
    let proves = d.properties.iter().any(|p| p.verdict == Verdict::Proved);
    (proves && !d.not_covered.is_empty()).then(|| {
        format!(
            "not covered at {} bounds: {}{}",
            d.profile,
            d.not_covered.join(", "),
            match d.deep_turns_on.len() {
                0 => String::new(),
                n if n == d.not_covered.len() => " (`--profile deep` turns them on)".to_string(),
                _ => format!(
                    " (`--profile deep` turns on {})",
                    d.deep_turns_on.join(", ")
                ),
            }
        )
    })
}

/// What the guarantee statement is, given the verdicts.
pub fn statement_heading(d: &Document) -> &'static str {
    if d.properties.iter().all(|p| p.verdict == Verdict::Proved) {
        "guarantee statement, proved within the bounds and what the model assumes"
    } else {
        "what this pipeline promises, which does not suffice for every property (the missing guarantee is the line that does not hold)"
    }
}

/// The run's limits, where it had any beyond the scenario's bounds.
pub fn limits_words(l: &crate::report::document::RunLimits) -> String {
    let mut parts = Vec::new();
    if let Some(t) = l.timeout_s {
        parts.push(format!("--timeout {t}"));
    }
    if let Some(n) = l.max_states {
        parts.push(format!("--max-states {n}"));
    }
    if !l.symmetry {
        parts.push("no symmetry reduction".to_string());
    }
    if l.reduced {
        parts.push("reduced search (partial-order reduction)".to_string());
    }
    parts.iter().map(|p| format!(", {p}")).collect()
}

/// "1 fault: lease expiry", "no fault", "2 faults: lost message, consumer crash".
pub fn fault_words(faults: &[String]) -> String {
    match faults.len() {
        0 => "no fault".to_string(),
        1 => format!("1 fault: {}", faults[0]),
        n => format!("{n} faults: {}", faults.join(", ")),
    }
}

/// `explore` is the address the printed Explorer links point at.
pub fn render(d: &Document, explore: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} — {}", d.scenario, d.summary);
    for p in &d.properties {
        let mark = match (p.as_expected(), p.expected) {
            (true, Some(_)) => "ok",
            (true, None) => "explored",
            (false, Some(_)) => "UNEXPECTED",
            (false, None) => "CUT SHORT",
        };
        let anchor = p
            .anchor
            .as_ref()
            .map_or(String::new(), |a| format!("   ({a})"));
        let _ = writeln!(
            o,
            "  {:<26} {:<15} expected {:<15} {mark}{anchor}",
            p.name,
            p.verdict.name(),
            p.expected_name(),
        );
    }
    let _ = writeln!(o, "  bounds: {}", d.bounds_summary);
    let _ = writeln!(o, "  broker durability: {}", d.durability);
    if let Some(line) = not_covered_line(d) {
        let _ = writeln!(o, "  {line}");
    }
    let reached = d.witnesses.iter().filter(|w| w.reached).count();
    let _ = writeln!(
        o,
        "  states: {} unique, {} total, max depth {}, {:.2} s{}",
        thousands(d.states.unique),
        thousands(d.states.total),
        d.states.max_depth,
        d.elapsed_ms as f64 / 1000.0,
        if d.states.complete {
            ""
        } else {
            " (cut short)"
        }
    );
    let _ = writeln!(o, "  witnesses: {reached}/{} reached", d.witnesses.len());
    let _ = writeln!(
        o,
        "  proof id: {} (model code {}, stateright {}{})",
        d.proof_id,
        d.model_code,
        d.stateright_version,
        limits_words(&d.limits)
    );
    for w in d.witnesses.iter().filter(|w| !w.reached) {
        let _ = writeln!(o, "    never reached: {}", w.name);
    }
    if d.properties.iter().any(|p| p.verdict == Verdict::Proved) {
        let _ = writeln!(o, "  {}:", statement_heading(d));
        for line in d.guarantee.lines() {
            let _ = writeln!(o, "    {line}");
        }
        let _ = writeln!(o, "  the model assumes:");
        for a in &d.assumes {
            let _ = writeln!(o, "    - {a}");
        }
    }
    for p in &d.properties {
        let Some(c) = &p.counterexample else { continue };
        let _ = writeln!(
            o,
            "\n  counterexample to \"{}\" ({} steps, {}{}):",
            p.name,
            c.length,
            fault_words(&c.faults),
            if c.cycle_from.is_some() {
                "; a lasso: the path to a fair cycle, then the cycle"
            } else if c.shortest {
                ""
            } else if d.limits.reduced {
                "; the reduced search's path, not searched for one with fewer faults and steps"
            } else {
                "; the search for one with fewer faults and steps was cut by the run's limits"
            }
        );
        for (i, step) in c.steps.iter().enumerate() {
            let _ = writeln!(o, "    {:>2}. {step}", i + 1);
        }
        if !c.aftermath.is_empty() {
            let _ = writeln!(o, "    then, with no further fault:");
            for step in &c.aftermath {
                let _ = writeln!(o, "        {step}");
            }
        }
        let _ = writeln!(o, "    failed leg: {}", c.diagnosis.leg);
        let _ = writeln!(o, "    gap: {}", c.diagnosis.gap);
        let _ = writeln!(o, "    missing guarantee: {}", c.diagnosis.guarantee);
        let _ = writeln!(
            o,
            "    explore: onceproof explore {} --addr {explore}",
            d.file
        );
        let _ = writeln!(
            o,
            "             http://{explore}/#/steps/{}",
            c.explorer_path
        );
    }
    o
}
