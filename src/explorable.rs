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
use crate::report::narrative;
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

    fn format_step(&self, s: &State, a: Action) -> Option<String> {
        let next = self.model.next_state(s, a.clone())?;
        let meaning = narrative::describe(&self.model, s, &a, &next);
        let detail = self.model.format_step(s, a).unwrap_or_default();
        Some(format!("{meaning}\n\n{detail}"))
    }

    fn as_svg(&self, path: Path<State, Action>) -> Option<String> {
        self.model.as_svg(path)
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
