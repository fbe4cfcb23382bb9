//! The model as the Stateright Explorer shows it, and as deep links count
//! its steps.
//!
//! stateright's Explorer lists every action the model enables, including a
//! fault whose budget is spent (a crash beyond `bounds.crashes`, a retry
//! beyond `bounds.retries`): it does not apply the model's boundary, so a
//! reviewer clicking through a counterexample would be offered steps the
//! checker never took. This wrapper hides them (an action whose next state
//! leaves the fault budgets is not listed), and labels each step with what
//! it meant, in the narrative's words (report/events.rs), above
//! stateright's own account of the step.
//!
//! Deep links (`#/steps/0/3/1/…`) are indices into this filtered list, so
//! traces are encoded and replayed through the same wrapper
//! ([`crate::check::Trace`], [`crate::check::replay`]).

use crate::model::{Action, Model, State};
use crate::report::{narrative, words};
use stateright::{Model as _, Path, Property};

/// The model with the Explorer's view of its steps.
#[derive(Clone)]
pub struct Explorable {
    pub model: Model,
    properties: Vec<Property<Model>>,
}

impl Explorable {
    pub fn new(model: Model) -> Explorable {
        let properties = model.properties();
        assert!(
            properties.len() <= CONDITIONS.len(),
            "more properties than the Explorer's condition table holds"
        );
        Explorable { model, properties }
    }
}

/// stateright's properties are plain `fn` pointers taking the model, so the
/// wrapper's conditions cannot close over the inner ones: each index of
/// this table forwards to the inner property at that index.
fn condition<const I: usize>(e: &Explorable, s: &State) -> bool {
    (e.properties[I].condition)(&e.model, s)
}

type Condition = fn(&Explorable, &State) -> bool;

const CONDITIONS: [Condition; 16] = [
    condition::<0>,
    condition::<1>,
    condition::<2>,
    condition::<3>,
    condition::<4>,
    condition::<5>,
    condition::<6>,
    condition::<7>,
    condition::<8>,
    condition::<9>,
    condition::<10>,
    condition::<11>,
    condition::<12>,
    condition::<13>,
    condition::<14>,
    condition::<15>,
];

impl stateright::Model for Explorable {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        self.model.init_states()
    }

    /// The enabled actions whose next state stays within the fault budgets.
    fn actions(&self, s: &State, actions: &mut Vec<Action>) {
        crate::model::faults::within_budget_actions(&self.model, s, actions);
    }

    fn next_state(&self, s: &State, a: Action) -> Option<State> {
        self.model.next_state(s, a)
    }

    fn format_action(&self, a: &Action) -> String {
        self.model.format_action(a)
    }

    /// The panel the Explorer shows for a step: what it meant, the whole
    /// state after it in domain words, then stateright's account (the one
    /// actor's `Debug` before and after), kept for whoever needs the fields.
    fn format_step(&self, s: &State, a: Action) -> Option<String> {
        let next = self.model.next_state(s, a.clone())?;
        let meaning = narrative::describe(&self.model, s, &a, &next);
        let after = narrative::state_lines(&self.model, &next).join("\n  ");
        let detail = self.model.format_step(s, a).unwrap_or_default();
        Some(format!(
            "{meaning}\n\nafter this step:\n  {after}\n\n{detail}"
        ))
    }

    fn as_svg(&self, path: Path<State, Action>) -> Option<String> {
        let steps: Vec<(State, Option<Action>)> = path.clone().into_vec();
        let labels: Vec<String> = steps
            .windows(2)
            .map(|w| match &w[0].1 {
                Some(a) => narrative::describe(&self.model, &w[0].0, a, &w[1].0),
                None => String::new(),
            })
            .collect();
        let svg = self.model.as_svg(path)?;
        Some(relabel_svg(&self.model, &svg, &labels))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties
            .iter()
            .zip(CONDITIONS)
            .map(|(p, condition)| Property {
                expectation: p.expectation.clone(),
                name: p.name,
                condition,
            })
            .collect()
    }

    fn within_boundary(&self, s: &State) -> bool {
        stateright::Model::within_boundary(&self.model, s)
    }
}

/// stateright's sequence diagram labels its actors `3 consumer` (by index,
/// from 0, every consumer alike) and each event with the Rust `Debug` of
/// its message or timer. This puts the report's names on the actors and
/// the narrative's line on each event (`labels[t - 1]` is step `t`, which
/// stateright draws at y = 30·t), and widens the drawing to fit them.
fn relabel_svg(model: &Model, svg: &str, labels: &[String]) -> String {
    const ROW: usize = 30;
    // Roughly the width of a letter of the UI's label font, in px.
    const LETTER: usize = 8;
    let mut actor = 0;
    let mut widest = 0;
    let mut out = Vec::new();
    for line in svg.split('\n') {
        let text = |class: &str| {
            let head = line.strip_prefix("<text x='")?;
            let (x, rest) = head.split_once("' y='")?;
            let (y, _) = rest.split_once(&format!("' class='{class}'>"))?;
            Some((x.parse::<usize>().ok()?, y.parse::<usize>().ok()?))
        };
        let mut relabelled = |x: usize, y: usize, class: &str, label: &str| {
            widest = widest.max(x + LETTER * label.chars().count());
            format!(
                "<text x='{x}' y='{y}' class='{class}'>{}</text>",
                escape(label)
            )
        };
        if let Some((x, y)) = text("svg-actor-label") {
            let name = match actor {
                crate::model::STORE => words::store(&model.cfg).to_string(),
                i => words::actor(stateright::actor::Id::from(i)),
            };
            actor += 1;
            out.push(relabelled(x, y, "svg-actor-label", &name));
        } else if let Some((x, y)) = text("svg-event-label")
            && let Some(label) = labels.get((y / ROW).wrapping_sub(1))
        {
            out.push(relabelled(x, y, "svg-event-label", label));
        } else {
            out.push(line.to_string());
        }
    }
    let svg = out.join("\n");
    widen(&svg, widest)
}

/// Sets the drawing's width (and its viewbox's, which stateright makes
/// 20 px wider) to at least `width`.
fn widen(svg: &str, width: usize) -> String {
    let Some(at) = svg.find(" width='") else {
        return svg.to_string();
    };
    let start = at + " width='".len();
    let Some(len) = svg[start..].find('\'') else {
        return svg.to_string();
    };
    let Ok(old) = svg[start..start + len].parse::<usize>() else {
        return svg.to_string();
    };
    if width <= old {
        return svg.to_string();
    }
    svg.replacen(&format!(" width='{old}'"), &format!(" width='{width}'"), 1)
        .replacen(
            &format!("viewbox='-20 -20 {} ", old + 20),
            &format!("viewbox='-20 -20 {} ", width + 20),
            1,
        )
}

/// Text as SVG (XML) character data.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
        .replace('"', "&quot;")
}
