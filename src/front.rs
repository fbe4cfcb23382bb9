//! The Explorer's pages in the project's words, in front of stateright's
//! own server.
//!
//! stateright 0.31 serves the Explorer from a private request loop
//! (`checker/explorer.rs`) whose answers no model hook reaches: it labels
//! each step with `Model::format_action`, which sees the action but not the
//! state (so it can only print the action's `Debug`: `Id(4) → Apply { .. }
//! → Id(2)`), titles the page "Stateright Explorer" and names the model by
//! its Rust type, and gives every state the *checker's* discoveries as its
//! "Current state" properties (see [`properties_at`]). Its UI also ignores
//! a deep link that does not decode (the `/.states` request is a 404 that
//! app.js swallows). So the Explorer is served through this front: every
//! request goes to stateright's server on a private loopback port, and
//! these answers are rewritten on the way back:
//!
//! - `/`: the page is titled and headed with the scenario's name, numbers
//!   the path's steps from 1 as the CLI does, and carries a script that asks
//!   `/.onceproof/link/<path>` whether the link decodes and says so when it
//!   does not;
//! - `/.status`: the model is named by the scenario;
//! - `/.states/<path>`: each step is labelled by the narrative
//!   (`narrative::describe`, the CLI's words), the initial state is called
//!   so, and each property is evaluated at the step's own state.
//!
//! Everything else (the UI's scripts, "Run to completion") passes through
//! unchanged, so deep links keep stateright's encoding.

use crate::explorable::Explorable;
use crate::model::{Action, Model, State};
use crate::report::narrative;
use serde_json::{Value, json};
use stateright::{Expectation, Model as _};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long the front waits for stateright's server to answer one request.
const INNER_TIMEOUT: Duration = Duration::from_secs(60);

/// The script the page carries: a link that does not decode is otherwise
/// silent (stateright's app.js throws inside its hash handler and keeps
/// whatever it showed before).
const LINK_CHECK: &str = include_str!("front.js");

/// Numbers the Path of Actions like the CLI's counterexample: its first two
/// entries are "Pre-init" and the initial state, so the first action would
/// be 3 in the list's own numbering.
const STEP_NUMBERS: &str = "<style>\
ol.path-list{list-style:none;counter-reset:step -2}\
ol.path-list>li{counter-increment:step}\
ol.path-list>li:nth-child(n+3)::before{content:counter(step) \". \"}\
.onceproof-scenario{padding:0.3em 1em}\
#onceproof-link-error{background:#8b1a1a;color:#fff;padding:0.5em 1em;font-weight:bold}\
</style>";

/// The request the front answers, and how.
pub struct Front {
    explorable: Explorable,
    scenario: String,
    inner: SocketAddr,
}

/// One answer: status, content type, body.
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, value: &Value) -> Answer {
        Answer {
            status,
            content_type: Some("application/json".into()),
            body: serde_json::to_vec(value).expect("JSON values serialize"),
        }
    }
}

impl Front {
    pub fn new(model: Model, scenario: &str, inner: SocketAddr) -> Front {
        Front {
            explorable: Explorable::new(model),
            scenario: scenario.to_string(),
            inner,
        }
    }

    fn model(&self) -> &Model {
        &self.explorable.model
    }

    /// The answer to `method url`: stateright's, in our words.
    pub fn answer(&self, method: &str, url: &str) -> Answer {
        if method == "GET"
            && let Some(path) = url.strip_prefix("/.onceproof/link")
        {
            return Answer::json(200, &self.link(path));
        }
        let inner = match fetch(self.inner, method, url) {
            Ok(inner) => inner,
            Err(e) => {
                return Answer {
                    status: 502,
                    content_type: Some("text/plain; charset=utf-8".into()),
                    body: format!("the Explorer's checker did not answer: {e}").into_bytes(),
                };
            }
        };
        if method != "GET" || inner.status != 200 {
            return inner;
        }
        let body = match url {
            "/" => Some(
                self.page(&String::from_utf8_lossy(&inner.body))
                    .into_bytes(),
            ),
            "/.status" => self.status(&inner.body),
            _ => url
                .strip_prefix("/.states")
                .and_then(|path| self.states(path, &inner.body)),
        };
        match body {
            Some(body) => Answer {
                status: 200,
                content_type: Some(if url == "/" {
                    "text/html; charset=utf-8".into()
                } else {
                    "application/json".into()
                }),
                body,
            },
            None => inner,
        }
    }

    /// stateright's page, named for the scenario.
    pub fn page(&self, page: &str) -> String {
        let name = escape_html(&self.scenario);
        page.replacen(
            "<title>Stateright Explorer</title>",
            &format!("<title>{name} · onceproof · Stateright Explorer</title>"),
            1,
        )
        .replacen(
            "</header>",
            &format!(
                "</header>\n<div class=\"onceproof-scenario color-dark\">scenario: \
                 <b id=\"onceproof-scenario\">{name}</b></div>\n\
                 <div id=\"onceproof-link-error\" hidden></div>"
            ),
            1,
        )
        .replacen(
            "<script src=\"app.js\"></script>",
            &format!(
                "{STEP_NUMBERS}\n<script>{LINK_CHECK}</script>\n<script src=\"app.js\"></script>"
            ),
            1,
        )
    }

    /// The status with the scenario for the model's Rust type name.
    fn status(&self, body: &[u8]) -> Option<Vec<u8>> {
        let mut status: Value = serde_json::from_slice(body).ok()?;
        status["model"] = Value::String(self.scenario.clone());
        serde_json::to_vec(&status).ok()
    }

    /// The steps stateright lists after `path` (`""` for the initial
    /// states, else `/0/3/1`), relabelled.
    fn states(&self, path: &str, body: &[u8]) -> Option<Vec<u8>> {
        let mut views: Vec<Value> = serde_json::from_slice(body).ok()?;
        let indices = indices(path)?;
        let model = self.model();
        let prefix: Vec<String> = indices.iter().map(usize::to_string).collect();
        let at = |i: usize| {
            let mut p = prefix.clone();
            p.push(i.to_string());
            p.join("/")
        };
        let Some((&init, steps)) = indices.split_first() else {
            let inits = model.init_states();
            for view in &mut views {
                let i = view["actionIndex"].as_u64()? as usize;
                view["action"] = Value::String(if inits.len() == 1 {
                    "initial state".to_string()
                } else {
                    format!("initial state {}", i + 1)
                });
                view["properties"] = self.properties_at(inits.get(i)?, &at(i));
            }
            return serde_json::to_vec(&views).ok();
        };
        let last = self.final_state(init, steps)?;
        let mut actions = Vec::new();
        self.explorable.actions(&last, &mut actions);
        for view in &mut views {
            let i = view["actionIndex"].as_u64()? as usize;
            let action = actions.get(i)?;
            match model.next_state(&last, action.clone()) {
                Some(next) => {
                    view["action"] =
                        Value::String(narrative::describe(model, &last, action, &next));
                    view["properties"] = self.properties_at(&next, &at(i));
                }
                None => view["action"] = Value::String(ignored(action)),
            }
        }
        serde_json::to_vec(&views).ok()
    }

    /// The state a path of indices reaches, as stateright's
    /// `Path::final_state` computes it (an action that changes nothing
    /// keeps the state).
    fn final_state(&self, init: usize, steps: &[usize]) -> Option<State> {
        let mut state = self.model().init_states().into_iter().nth(init)?;
        for &i in steps {
            let mut actions = Vec::new();
            self.explorable.actions(&state, &mut actions);
            let action = actions.into_iter().nth(i)?;
            if let Some(next) = self.model().next_state(&state, action) {
                state = next;
            }
        }
        Some(state)
    }

    /// Each property as the UI's "Current state" list and per-state icons
    /// read it, evaluated at `s` itself. stateright gives every step the
    /// checker's discoveries instead (`get_properties(checker)` in its
    /// `states()`), and app.js marks a step only when a discovery's path is
    /// this step's path: the on-demand checker behind the Explorer has
    /// explored nothing until "Run to completion", and then its discovery
    /// is its own path, not the deep link's, so the deep-linked violating
    /// state read "Safety holds". Here a step's own path stands in for the
    /// discovery exactly when the condition decides the property at `s`:
    /// an `always` property false there (a counterexample), a `sometimes`
    /// one true there (an example).
    pub fn properties_at(&self, s: &State, path: &str) -> Value {
        let found: Vec<Value> = self
            .explorable
            .properties()
            .into_iter()
            .map(|p| {
                let holds = (p.condition)(&self.explorable, s);
                let decided = match p.expectation {
                    Expectation::Always => !holds,
                    Expectation::Sometimes => holds,
                    // Decided by a path, not a state; the model has none.
                    Expectation::Eventually => false,
                };
                json!([p.expectation, p.name, decided.then_some(path)])
            })
            .collect();
        Value::Array(found)
    }

    /// Whether an Explorer path (`/0/3/1`, as the link's hash has it after
    /// `#/steps`) leads to a state of this scenario; why not, if not.
    pub fn link(&self, path: &str) -> Value {
        match self.check_link(path) {
            Ok(steps) => json!({"ok": true, "steps": steps}),
            Err(message) => json!({"ok": false, "message": message}),
        }
    }

    fn check_link(&self, path: &str) -> Result<usize, String> {
        let trimmed = path.trim_matches('/');
        if trimmed.is_empty() {
            return Ok(0);
        }
        let parts: Vec<&str> = trimmed.split('/').collect();
        let number = |k: usize, part: &str| {
            part.parse::<usize>()
                .map_err(|_| format!("its part {} (\"{part}\") is not a step index", k + 1))
        };
        let init = number(0, parts[0])?;
        let model = self.model();
        let inits = model.init_states();
        let count = inits.len();
        let mut state = inits.into_iter().nth(init).ok_or_else(|| {
            format!(
                "it starts from initial state {} (index {init}), but {} has {count} initial state{}",
                init + 1,
                self.scenario,
                if count == 1 { "" } else { "s" }
            )
        })?;
        for (k, part) in parts.iter().enumerate().skip(1) {
            let i = number(k, part)?;
            let mut actions = Vec::new();
            self.explorable.actions(&state, &mut actions);
            let enabled = actions.len();
            let action = actions.into_iter().nth(i).ok_or_else(|| {
                format!(
                    "its step {k} picks choice index {i} (links count from 0), but after {} \
                     only {enabled} choice{} {} enabled",
                    if k == 1 {
                        "the initial state".to_string()
                    } else {
                        format!("step {}", k - 1)
                    },
                    if enabled == 1 { "" } else { "s" },
                    if enabled == 1 { "is" } else { "are" },
                )
            })?;
            if let Some(next) = model.next_state(&state, action) {
                state = next;
            }
        }
        Ok(parts.len() - 1)
    }
}

/// An action whose actor ignores it (stateright lists it, greyed out).
fn ignored(action: &Action) -> String {
    use stateright::actor::ActorModelAction as A;
    let actor = match action {
        A::Deliver { dst, .. } => *dst,
        A::Timeout(id, _) | A::Crash(id) | A::Recover(id) => *id,
        A::SelectRandom { actor, .. } => *actor,
        A::Drop(env) => env.dst,
    };
    format!(
        "{} ignores this step: nothing changes",
        crate::report::words::actor(actor)
    )
}

/// stateright's path (`""`, `/0/3/1`, `/0/3/1/`) as indices; `None` for
/// what stateright itself rejects.
fn indices(path: &str) -> Option<Vec<usize>> {
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty() {
        return Some(Vec::new());
    }
    path.strip_prefix('/')?
        .split('/')
        .map(|p| p.parse().ok())
        .collect()
}

fn escape_html(text: &str) -> String {
    crate::explorable::escape(text)
}

/// One request to stateright's server. HTTP/1.0, so it closes the
/// connection after the body and no client library is needed.
fn fetch(inner: SocketAddr, method: &str, url: &str) -> io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&inner, INNER_TIMEOUT)?;
    stream.set_read_timeout(Some(INNER_TIMEOUT))?;
    write!(
        stream,
        "{method} {url} HTTP/1.0\r\nHost: {inner}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("a response without a header block"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("a response without a status"))?;
    let content_type = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-type")
            .then(|| value.trim().to_string())
    });
    Ok(Answer {
        status,
        content_type,
        body: raw[split + 4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_as_stateright_reads_them() {
        assert_eq!(indices(""), Some(vec![]));
        assert_eq!(indices("/"), Some(vec![]));
        assert_eq!(indices("/0/3/1"), Some(vec![0, 3, 1]));
        assert_eq!(indices("/0/3/1/"), Some(vec![0, 3, 1]));
        assert_eq!(indices("/0/x"), None);
    }
}
