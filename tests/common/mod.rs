//! Helpers the integration tests share.

use onceproof::model::{Model, State};
use stateright::Model as _;
use std::collections::{HashSet, VecDeque};

/// Every reachable state within the budgets, without any reduction: the
/// ground truth small-bound tests compare the checker against.
pub fn reachable(m: &Model) -> HashSet<State> {
    reachable_from(m, m.init_states())
}

/// Every state reachable within the budgets from `inits`.
pub fn reachable_from(m: &Model, inits: Vec<State>) -> HashSet<State> {
    let mut seen: HashSet<State> = inits.into_iter().collect();
    let mut queue: VecDeque<State> = seen.iter().cloned().collect();
    while let Some(s) = queue.pop_front() {
        let mut actions = Vec::new();
        m.actions(&s, &mut actions);
        for a in actions {
            if let Some(next) = m.next_state(&s, a)
                && stateright::Model::within_boundary(m, &next)
                && !seen.contains(&next)
            {
                seen.insert(next.clone());
                queue.push_back(next);
            }
        }
    }
    seen
}
