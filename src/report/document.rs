//! The machine-readable result of checking one scenario: what `--json`
//! prints and what results/<name>.json holds (without `elapsed_ms`, the one
//! field that is not reproducible), so results/ can be compared against a
//! fresh run and changes only when a result does.

use crate::check::{Outcome, Trace, Verdict};
use crate::model::{self, Model};
use crate::report::diagnosis::Diagnosis;
use crate::report::narrative;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ONCEPROOF_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const STATERIGHT_VERSION: &str = env!("STATERIGHT_VERSION");
/// A fingerprint of the sources that decide states and verdicts (build.rs).
pub const MODEL_CODE: &str = env!("MODEL_FINGERPRINT");

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Document {
    pub scenario: String,
    pub summary: String,
    pub file: String,
    pub mode: String,
    /// The broker's vocabulary (`[broker] kind`).
    pub broker_kind: String,
    /// Names this proof: see [`proof_id`].
    pub proof_id: String,
    pub onceproof_version: String,
    pub stateright_version: String,
    /// The model code's fingerprint ([`MODEL_CODE`]).
    #[serde(default)]
    pub model_code: String,
    /// The run's limits beyond the model's bounds.
    #[serde(default)]
    pub limits: RunLimits,
    pub assumptions: Vec<String>,
    pub pipeline: serde_json::Value,
    pub bounds: serde_json::Value,
    /// The bounds in words: every verdict holds under these only.
    pub bounds_summary: String,
    /// Leg 2 in words: the broker's durability this verdict assumes.
    pub durability: String,
    /// `quick` (`[bounds]`, what results/ holds) or `deep` (`[bounds.deep]`).
    pub profile: String,
    /// Faults the pipeline allows that this run leaves out (budget 0): a
    /// proof here does not cover them.
    pub not_covered: Vec<String>,
    /// The file has `[bounds.deep]`.
    pub has_deep_profile: bool,
    /// Of `not_covered`, what `--profile deep` turns on.
    pub deep_turns_on: Vec<String>,
    /// The three-line guarantee statement the pipeline makes: proved
    /// together where every property is, else the diagnoses name the line
    /// that does not hold.
    #[serde(default)]
    pub guarantee: crate::report::statement::Statement,
    /// The model's assumptions that bound every verdict, in plain words.
    #[serde(default)]
    pub assumes: Vec<String>,
    pub properties: Vec<PropertyResult>,
    pub witnesses: Vec<Witness>,
    pub states: States,
    /// Wall time, in `--json` output. results/ leaves it out (0 is not
    /// written), so a committed page changes only when what was proved does.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub elapsed_ms: u64,
    /// Every verdict is the one the scenario expects.
    pub as_expected: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PropertyResult {
    pub name: String,
    pub verdict: Verdict,
    /// None in an exploratory scenario (no `[expect]` for it).
    pub expected: Option<Verdict>,
    /// For *no loss*: which operations it covers.
    pub anchor: Option<String>,
    pub counterexample: Option<Counterexample>,
}

impl PropertyResult {
    /// The verdict is the expected one; with none expected, any verdict of
    /// a complete run is.
    pub fn as_expected(&self) -> bool {
        match self.expected {
            Some(e) => self.verdict == e,
            None => self.verdict != Verdict::Incomplete,
        }
    }

    /// The expected verdict's name, or "none" (exploratory).
    pub fn expected_name(&self) -> &'static str {
        self.expected.map_or("none", |v| v.name())
    }

    /// The property's name with its anchor, as every report prints it.
    pub fn label(&self) -> String {
        match &self.anchor {
            Some(a) => format!("{} ({a})", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Counterexample {
    /// Number of actions.
    pub length: usize,
    /// No counterexample with fewer faults, or as few faults and fewer
    /// steps, exists (false only when the search for one was cut by
    /// `--timeout` or `--max-states`).
    pub shortest: bool,
    /// The faults the trace needs, in order (fewest possible first).
    pub faults: Vec<String>,
    /// One line per step, in domain words.
    pub steps: Vec<String>,
    /// What happens next if no further fault strikes.
    pub aftermath: Vec<String>,
    pub diagnosis: Diagnosis,
    /// The raw stateright actions, for tools.
    pub actions: Vec<String>,
    /// The Explorer's path to the violating state (`#/steps/<path>`).
    pub explorer_path: String,
    /// A lasso (*progress*): the steps from this index (0-based) on repeat
    /// forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_from: Option<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Witness {
    pub name: String,
    pub reached: bool,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct States {
    pub unique: usize,
    pub total: usize,
    /// Left out of results/ (0 is not written): a two-thread search reports
    /// a depth that varies with the threads' timing.
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub max_depth: usize,
    pub complete: bool,
}

/// What bounded a run beyond the scenario's own bounds.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunLimits {
    /// `--timeout`, in seconds.
    pub timeout_s: Option<f64>,
    /// `--max-states`.
    pub max_states: Option<usize>,
    /// The symmetry reduction over consumers was on (it changes the counts,
    /// never a verdict).
    pub symmetry: bool,
    /// The reduced search ran (`--search reduced` on a pipeline its
    /// argument covers): fewer states, the same verdicts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reduced: bool,
}

/// A document without limits was written by a plain `check`.
impl Default for RunLimits {
    fn default() -> Self {
        crate::check::Limits::default().into()
    }
}

impl From<crate::check::Limits> for RunLimits {
    fn from(l: crate::check::Limits) -> Self {
        RunLimits {
            timeout_s: l.timeout.map(|t| t.as_secs_f64()),
            max_states: l.max_states,
            symmetry: l.symmetry,
            reduced: l.reduced,
        }
    }
}

/// Names a proof: the resolved configuration (pipeline and bounds, not the
/// file's wording), the model code, the checker versions, the run's limits,
/// and what came out (each verdict, each witness, the state counts and
/// whether the exploration was complete). A change to any of them is a
/// different proof; a run cut short never shares the complete run's id.
pub fn proof_id(d: &Document) -> String {
    let named = serde_json::json!({
        "pipeline": d.pipeline,
        "bounds": d.bounds,
        "model_code": d.model_code,
        "onceproof": d.onceproof_version,
        "stateright": d.stateright_version,
        "limits": d.limits,
        "verdicts": d.properties.iter().map(|p| (&p.name, p.verdict)).collect::<Vec<_>>(),
        "witnesses": d.witnesses.iter().map(|w| (&w.name, w.reached)).collect::<Vec<_>>(),
        "states": [d.states.unique, d.states.total],
        "complete": d.states.complete,
    });
    let digest = Sha256::digest(named.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub fn counterexample(model: &Model, trace: &Trace, property: &str) -> Counterexample {
    let n = narrative::narrative(model, trace, property);
    Counterexample {
        length: trace.len(),
        shortest: trace.minimal,
        faults: trace.faults.iter().map(|f| f.name().to_string()).collect(),
        steps: n.steps,
        aftermath: n.aftermath,
        diagnosis: n.diagnosis,
        actions: trace
            .steps
            .iter()
            .filter_map(|(_, a)| a.as_ref().map(|a| format!("{a:?}")))
            .collect(),
        explorer_path: trace.encoded.clone(),
        cycle_from: trace.cycle_from,
    }
}

pub fn document(scenario: &Scenario, outcome: &Outcome) -> Document {
    let model = model::build(scenario.config);
    let properties: Vec<PropertyResult> = outcome
        .properties
        .iter()
        .map(|p| PropertyResult {
            name: p.name.to_string(),
            verdict: p.verdict,
            expected: scenario.expected(p.name),
            anchor: (p.name == crate::model::properties::NO_LOSS)
                .then(|| crate::model::properties::anchor(&scenario.config).to_string()),
            counterexample: p.trace.as_ref().map(|t| counterexample(&model, t, p.name)),
        })
        .collect();
    let as_expected = properties.iter().all(PropertyResult::as_expected);
    let mut doc = Document {
        scenario: scenario.name.clone(),
        summary: scenario.summary.clone(),
        file: scenario.path.display().to_string(),
        mode: scenario.mode.name().to_string(),
        broker_kind: scenario.broker_kind.name().to_string(),
        proof_id: String::new(),
        onceproof_version: ONCEPROOF_VERSION.to_string(),
        stateright_version: STATERIGHT_VERSION.to_string(),
        model_code: MODEL_CODE.to_string(),
        limits: outcome.limits.into(),
        assumptions: scenario.assumptions.clone(),
        pipeline: serde_json::to_value(scenario.config.pipeline).expect("plain data"),
        bounds: serde_json::to_value(scenario.config.bounds).expect("plain data"),
        bounds_summary: scenario.config.describe_bounds(),
        durability: scenario.config.describe_durability(scenario.broker_kind),
        profile: scenario.profile.name().to_string(),
        not_covered: scenario
            .not_covered()
            .into_iter()
            .map(String::from)
            .collect(),
        has_deep_profile: scenario.deep.is_some(),
        deep_turns_on: if scenario.profile == crate::scenario::Profile::Quick {
            scenario
                .deep_turns_on()
                .into_iter()
                .map(String::from)
                .collect()
        } else {
            Vec::new()
        },
        guarantee: crate::report::statement::statement(&scenario.config, scenario.broker_kind),
        assumes: crate::report::scope::assumptions(&scenario.config),
        properties,
        witnesses: outcome
            .witnesses
            .iter()
            .map(|(name, reached)| Witness {
                name: name.to_string(),
                reached: *reached,
            })
            .collect(),
        states: States {
            unique: outcome.unique_states,
            total: outcome.total_states,
            max_depth: outcome.max_depth,
            complete: outcome.complete,
        },
        elapsed_ms: outcome.elapsed.as_millis() as u64,
        as_expected,
    };
    doc.proof_id = proof_id(&doc);
    doc
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

impl Document {
    /// What results/ keeps: everything that two runs agree on
    /// ([`Document::reproducible`]).
    pub fn committed(&self) -> Document {
        self.reproducible()
    }

    /// The same document with wall time zeroed, for comparisons.
    /// What two runs of the same scenario must agree on: not the time, and
    /// not the maximum depth, which a two-thread depth-first search reports
    /// as the depth at which it first met each state (it varies with the
    /// threads' timing; the states and their counts do not).
    pub fn reproducible(&self) -> Document {
        let mut d = Document {
            elapsed_ms: 0,
            ..self.clone()
        };
        d.states.max_depth = 0;
        d
    }
}
