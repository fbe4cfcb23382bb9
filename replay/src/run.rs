//! Runs a plan on a real broker and PostgreSQL, step by step, and judges
//! whether reality did what the model said.
//!
//! After the counterexample's steps the replay runs the system to rest with
//! no further fault: unpublished operations are published, every consumer
//! (a crashed one restarted) finishes what it holds and takes whatever the
//! broker still hands out. The model's epilogue does the same, so the
//! outcomes compare.

use crate::broker::{Broker, Consumer as _, Delivery, Result, fail};
use crate::plan::{Design, Handler, Planned, Real};
use crate::process::Process;
use crate::servers::{Attach, Kind, Servers};
use crate::store::Store;
use std::collections::HashMap;
use std::time::Instant;

/// One line of the replay: the model's step and what the real system did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Line {
    /// The counterexample's step number; None for the run to rest.
    pub step: Option<usize>,
    pub model: String,
    pub real: String,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum Verdict {
    /// The real outcome is the model's (the counterexample), or each
    /// operation applied exactly once (the proved design).
    Reproduced,
    /// Reality diverged from the model: at a step, or only in the outcome.
    NotReproduced { step: Option<usize>, why: String },
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Replay {
    pub scenario: String,
    pub design: String,
    pub broker: String,
    /// Where the broker is known to differ from the product it stands for.
    pub differences: Vec<String>,
    pub store: String,
    pub lines: Vec<Line>,
    /// Effects committed per operation, as PostgreSQL counted them.
    pub applied: Vec<u8>,
    /// What the model says (the counterexample's outcome), or all ones.
    pub expected: Vec<u8>,
    pub verdict: Verdict,
}

struct Consumer {
    /// Its process; None while it is down.
    process: Option<Process>,
    /// The delivery it works on and how many of its handler steps are done.
    held: Option<(Delivery, usize)>,
}

struct Runner<'a> {
    broker: &'a mut dyn Broker,
    kind: Kind,
    servers: &'a Servers,
    queue: String,
    /// Fetches per broker handle, for brokers that count no deliveries.
    fetched: HashMap<String, u8>,
    /// When the latest lease the model lets expire was taken.
    short_lease: Option<Instant>,
    how: Attach,
    /// After a rebalance, the one consumer that owns the partition: the
    /// old owner is not told and fetches nothing more.
    owner: Option<u8>,
    store: &'a mut Store,
    design: &'a Design,
    /// The refuted design itself: every step must go as the model says.
    strict: bool,
    consumers: Vec<Consumer>,
    published: Vec<bool>,
    lines: Vec<Line>,
    diverged: Option<(usize, String)>,
}

/// Where a plan runs: the broker's producer side, its kind (which the
/// consumer processes are told), the servers, and the effect store.
pub struct Setup<'a> {
    pub broker: &'a mut dyn Broker,
    pub kind: Kind,
    pub servers: &'a Servers,
    pub store: &'a mut Store,
}

/// Runs `plan` with `design`'s consumers, each in a process of its own.
/// `expected` is the outcome to compare with: the model's for its own
/// design (`strict`: every step is checked too), all ones for a proved
/// counterpart.
pub fn run(
    scenario: &str,
    plan: &[Planned],
    design: &Design,
    strict: bool,
    expected: Vec<u8>,
    setup: Setup,
) -> Result<Replay> {
    let Setup {
        broker,
        kind,
        servers,
        store,
    } = setup;
    let queue = broker.reset()?;
    let how = Attach {
        auto_ack: design.auto_ack,
        membership: plan
            .iter()
            .any(|p| matches!(p.real, Some(Real::Rebalance { .. }))),
    };
    let mut consumers = Vec::new();
    for c in 0..design.consumers {
        let (process, _) = crate::process::spawn(servers, kind, &queue, c, how)?;
        consumers.push(Consumer {
            process: Some(process),
            held: None,
        });
    }
    let mut r = Runner {
        broker,
        kind,
        servers,
        queue,
        fetched: HashMap::new(),
        short_lease: None,
        how,
        owner: None,
        store,
        design,
        strict,
        consumers,
        published: vec![false; design.operations as usize],
        lines: Vec::new(),
        diverged: None,
    };
    for p in plan {
        let real = match &p.real {
            None => "(nothing crosses a process boundary)".to_string(),
            Some(real) => r.step(p.step, real)?,
        };
        r.lines.push(Line {
            step: Some(p.step),
            model: p.line.clone(),
            real,
        });
    }
    r.run_to_rest()?;
    let applied = r.store.applied()?;
    let verdict = match r.diverged.take() {
        Some((step, why)) => Verdict::NotReproduced {
            step: Some(step),
            why,
        },
        None if applied == expected => Verdict::Reproduced,
        None => Verdict::NotReproduced {
            step: None,
            why: format!(
                "the model ends with {}, the real run with {}",
                counts(&expected),
                counts(&applied)
            ),
        },
    };
    Ok(Replay {
        scenario: scenario.to_string(),
        design: design.name.clone(),
        broker: r.broker.describe(),
        differences: r.broker.known_differences(),
        store: r.store.describe(),
        lines: r.lines,
        applied,
        expected,
        verdict,
    })
}

/// "op 1 applied 2×, op 2 applied 0×".
pub fn counts(applied: &[u8]) -> String {
    applied
        .iter()
        .enumerate()
        .map(|(op, n)| format!("op {} applied {n}×", op + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Runner<'_> {
    fn diverge(&mut self, step: usize, why: String) {
        if self.strict && self.diverged.is_none() {
            self.diverged = Some((step, why));
        }
    }

    fn step(&mut self, step: usize, real: &Real) -> Result<String> {
        match *real {
            Real::Publish { op, confirm_lost } => {
                self.published[op as usize] = true;
                self.broker.publish(op, confirm_lost)
            }
            Real::Receive {
                consumer,
                op,
                delivery,
                lease_expires,
            } => {
                let got = self.receive(consumer, lease_expires)?;
                if lease_expires {
                    self.short_lease = Some(Instant::now());
                }
                let Some(d) = got else {
                    self.diverge(
                        step,
                        format!(
                            "the model hands consumer {} op {}; the broker handed out nothing",
                            consumer + 1,
                            op + 1
                        ),
                    );
                    return Ok("nothing handed out".to_string());
                };
                if d.op != op {
                    self.diverge(
                        step,
                        format!(
                            "the model hands out op {}; the broker op {}",
                            op + 1,
                            d.op + 1
                        ),
                    );
                }
                if let Some(n) = d.delivery
                    && (n > 1) != (delivery > 1)
                {
                    self.diverge(
                        step,
                        format!(
                            "the model's delivery {delivery} of the message; the broker says {}",
                            d.seen
                        ),
                    );
                }
                let seen = d.seen.clone();
                self.consumers[consumer as usize].held = Some((d, 0));
                Ok(seen)
            }
            Real::Effect {
                consumer, applied, ..
            } => {
                let (seen, committed) = self.advance(consumer, Handler::Effect)?;
                if committed.is_some_and(|c| c != applied) {
                    self.diverge(
                        step,
                        format!(
                            "the model's store {} the effect; PostgreSQL {}",
                            if applied { "applies" } else { "refuses" },
                            if applied {
                                "refused it"
                            } else {
                                "committed it"
                            }
                        ),
                    );
                }
                Ok(seen)
            }
            Real::Complete {
                consumer, accepted, ..
            } => {
                let (seen, ok) = self.advance(consumer, Handler::Complete)?;
                if let (Some(model), Some(real)) = (accepted, ok)
                    && model != real
                {
                    self.diverge(
                        step,
                        format!(
                            "the model's broker {} the completion; the real one {}",
                            if model { "accepts" } else { "rejects" },
                            if real { "accepted it" } else { "rejected it" }
                        ),
                    );
                }
                Ok(seen)
            }
            Real::Crash { consumer } => {
                let c = &mut self.consumers[consumer as usize];
                c.held = None;
                Ok(match c.process.take() {
                    Some(p) => p.kill(),
                    None => "already down".to_string(),
                })
            }
            Real::Restart { consumer } => self.restart(consumer),
            Real::LeaseExpiry => {
                let taken = self.short_lease.unwrap_or_else(Instant::now);
                self.broker.expire_lease(taken)
            }
            Real::Rebalance { to } => {
                let from = self.owner.unwrap_or(0);
                self.owner = Some(to);
                let told = self.process(from)?.zombie()?;
                let took = self.process(to)?.take_over()?;
                Ok(format!("{took}; {told}"))
            }
        }
    }

    /// The consumer's next handler step. The plan names the step the
    /// counterexample's design takes; a counterpart takes its own design's
    /// step at the same point of the schedule. Returns what was seen and,
    /// for an effect, whether it committed, for a completion whether it was
    /// accepted.
    fn advance(&mut self, consumer: u8, planned: Handler) -> Result<(String, Option<bool>)> {
        let Some((d, done)) = self.consumers[consumer as usize].held.take() else {
            return Ok((
                "the consumer holds nothing (its delivery was not handed out)".into(),
                None,
            ));
        };
        let Some(&what) = self.design.handler.get(done) else {
            return Ok(("the handler is done with its delivery".into(), None));
        };
        if self.strict && what != planned {
            return fail(format!(
                "the plan's step is {planned:?}, the design's {what:?}: the plan and the design disagree"
            ));
        }
        let out = match what {
            Handler::Effect => {
                let committed = self.store.apply(d.op, &d.handle, self.design.effect)?;
                (
                    if committed {
                        format!("PostgreSQL: op {} effect committed", d.op + 1)
                    } else if self.design.effect == crate::store::Effect::Offset {
                        format!(
                            "PostgreSQL: offset {} already stored, the effect of op {} rolled back",
                            d.handle,
                            d.op + 1
                        )
                    } else {
                        format!(
                            "PostgreSQL: op {} already in the ledger, the effect rolled back",
                            d.op + 1
                        )
                    },
                    Some(committed),
                )
            }
            Handler::Complete => {
                let c = self.process(consumer)?.complete(&d)?;
                (c.seen, Some(c.accepted))
            }
        };
        if done + 1 < self.design.handler.len() {
            self.consumers[consumer as usize].held = Some((d, done + 1));
        }
        Ok(out)
    }

    /// No further fault: publish the rest, restart the crashed, finish
    /// every held delivery, and take what the broker still hands out.
    fn run_to_rest(&mut self) -> Result<()> {
        for op in 0..self.published.len() {
            if !self.published[op] {
                let seen = self.broker.publish(op as u8, false)?;
                self.rest_line(format!("producer publishes op {}", op + 1), seen);
            }
        }
        for round in 0.. {
            let mut progressed = false;
            for c in 0..self.consumers.len() as u8 {
                if self.consumers[c as usize].process.is_none() {
                    let seen = self.restart(c)?;
                    self.rest_line(format!("consumer {} restarts", c + 1), seen);
                }
                self.finish(c)?;
                if let Some(d) = self.receive(c, false)? {
                    self.rest_line(
                        format!("consumer {} receives op {}", c + 1, d.op + 1),
                        d.seen.clone(),
                    );
                    self.consumers[c as usize].held = Some((d, 0));
                    self.finish(c)?;
                    progressed = true;
                }
            }
            if !progressed || round > 64 {
                break;
            }
        }
        Ok(())
    }

    fn process(&mut self, c: u8) -> Result<&mut Process> {
        match self.consumers[c as usize].process.as_mut() {
            Some(p) => Ok(p),
            None => fail(format!("consumer {} is down", c + 1)),
        }
    }

    /// A receive by consumer `c`; a broker that counts no deliveries
    /// (Kafka) gets the fetches of the handle counted here, across
    /// processes.
    fn receive(&mut self, c: u8, lease_expires: bool) -> Result<Option<Delivery>> {
        if self.owner.is_some_and(|o| o != c) {
            return Ok(None);
        }
        let Some(mut d) = self.process(c)?.receive(lease_expires)? else {
            return Ok(None);
        };
        if d.delivery.is_none() {
            let n = self.fetched.entry(d.handle.clone()).or_insert(0);
            *n += 1;
            d.delivery = Some(*n);
            d.seen = format!("{} (fetched {n}×)", d.seen);
        }
        Ok(Some(d))
    }

    /// A new process for consumer `c` (a new connection, session or client).
    fn restart(&mut self, c: u8) -> Result<String> {
        if let Some(old) = self.consumers[c as usize].process.take() {
            old.kill();
        }
        let (p, seen) = crate::process::spawn(self.servers, self.kind, &self.queue, c, self.how)?;
        self.consumers[c as usize].process = Some(p);
        Ok(seen)
    }

    fn finish(&mut self, c: u8) -> Result<()> {
        while let Some((d, done)) = &self.consumers[c as usize].held {
            let what = self.design.handler[*done];
            let op = d.op;
            let (seen, _) = self.advance(c, what)?;
            let model = match what {
                Handler::Effect => format!("consumer {} applies op {}", c + 1, op + 1),
                Handler::Complete => format!("consumer {} completes op {}", c + 1, op + 1),
            };
            self.rest_line(model, seen);
        }
        Ok(())
    }

    fn rest_line(&mut self, model: String, real: String) {
        self.lines.push(Line {
            step: None,
            model,
            real,
        });
    }
}
