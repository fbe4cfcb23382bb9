//! Each consumer of a replay runs in a process of its own, so that its
//! crash is what the model means by one: the process killed (SIGKILL) with
//! no ack, delete or commit sent, its connection dying with it. The parent
//! drives it over stdin and stdout, one JSON line per request and reply.

use crate::broker::{Completion, Consumer, Delivery, Result, fail};
use crate::servers::{Attach, ENV, Kind, Servers};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The argument that makes `onceproof-replay` a consumer process.
pub const ARG: &str = "consumer-process";

/// How often an idle consumer process does its idle work.
const IDLE: std::time::Duration = std::time::Duration::from_millis(100);

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Request {
    Receive { lease_expires: bool },
    Complete { delivery: Delivery },
    TakeOver,
    Zombie,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Reply<T> {
    Ok(T),
    Error(String),
}

/// A consumer process, as its parent holds it.
pub struct Process {
    c: u8,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// Starts consumer `c` of `queue`; returns it and what attaching was seen
/// to do.
pub fn spawn(
    s: &Servers,
    kind: Kind,
    queue: &str,
    c: u8,
    how: Attach,
) -> Result<(Process, String)> {
    let mut cmd = Command::new(&s.program);
    cmd.args([
        ARG,
        kind.name(),
        queue,
        &c.to_string(),
        &how.auto_ack.to_string(),
        &how.membership.to_string(),
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    for (name, value) in ENV.iter().zip(s.values()) {
        cmd.env(name, value);
    }
    let mut child = cmd.spawn().or_else(|e| {
        fail(format!(
            "cannot start consumer {}'s process {} ({e})",
            c + 1,
            s.program.display()
        ))
    })?;
    let stdin = child.stdin.take().expect("piped");
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut p = Process {
        c,
        child,
        stdin,
        stdout,
    };
    let seen: String = p.read()?;
    let pid = p.child.id();
    Ok((p, format!("process {pid}: {seen}")))
}

impl Process {
    fn read<T: serde::de::DeserializeOwned>(&mut self) -> Result<T> {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).unwrap_or(0);
        if n == 0 {
            return fail(format!("consumer {}'s process ended", self.c + 1));
        }
        match serde_json::from_str::<Reply<T>>(&line) {
            Ok(Reply::Ok(v)) => Ok(v),
            Ok(Reply::Error(e)) => fail(e),
            Err(e) => fail(format!(
                "consumer {}'s process said {line:?} ({e})",
                self.c + 1
            )),
        }
    }

    fn ask<T: serde::de::DeserializeOwned>(&mut self, r: &Request) -> Result<T> {
        let line = serde_json::to_string(r).expect("plain data") + "\n";
        if let Err(e) = self.stdin.write_all(line.as_bytes()) {
            return fail(format!("consumer {}'s process: {e}", self.c + 1));
        }
        self.read()
    }

    /// The crash: SIGKILL, nothing sent first.
    pub fn kill(mut self) -> String {
        let pid = self.child.id();
        let _ = self.child.kill();
        let _ = self.child.wait();
        format!("process {pid} killed (SIGKILL): no ack, delete or commit sent")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A replay that ends leaves no consumer running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Consumer for Process {
    fn receive(&mut self, lease_expires: bool) -> Result<Option<Delivery>> {
        self.ask(&Request::Receive { lease_expires })
    }

    fn complete(&mut self, d: &Delivery) -> Result<Completion> {
        self.ask(&Request::Complete {
            delivery: d.clone(),
        })
    }

    fn take_over(&mut self) -> Result<String> {
        self.ask(&Request::TakeOver)
    }

    fn zombie(&mut self) -> Result<String> {
        self.ask(&Request::Zombie)
    }
}

/// The consumer process's side: `onceproof-replay consumer-process KIND
/// QUEUE INDEX AUTO_ACK MEMBERSHIP`, serving its parent until stdin closes.
pub fn serve(args: &[String]) -> std::process::ExitCode {
    let (Some(kind), Some(queue), Some(c), Some(auto_ack), Some(membership)) = (
        args.first().and_then(|k| Kind::parse(k)),
        args.get(1),
        args.get(2).and_then(|c| c.parse::<u8>().ok()),
        args.get(3).and_then(|a| a.parse::<bool>().ok()),
        args.get(4).and_then(|a| a.parse::<bool>().ok()),
    ) else {
        eprintln!("onceproof-replay {ARG}: expected KIND QUEUE INDEX AUTO_ACK MEMBERSHIP");
        return std::process::ExitCode::from(2);
    };
    let out = std::io::stdout();
    let say = |line: String| {
        let mut out = out.lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    fn reply<T: Serialize>(r: Result<T>) -> String {
        serde_json::to_string(&match r {
            Ok(v) => Reply::Ok(v),
            Err(e) => Reply::Error(e.0),
        })
        .expect("plain data")
    }
    let (mut consumer, seen) = match crate::servers::attach(
        kind,
        &Servers::from_env(),
        queue,
        c,
        Attach {
            auto_ack,
            membership,
        },
    ) {
        Ok(attached) => attached,
        Err(e) => {
            say(reply::<String>(Err(e)));
            return std::process::ExitCode::from(2);
        }
    };
    say(reply(Ok(seen)));
    // Between requests the consumer does what a consumer loop does while
    // it holds nothing (a Kafka member keeps polling, so it stays in the
    // group and takes part in rebalances).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = match rx.recv_timeout(IDLE) {
            Ok(line) => line,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = consumer.idle() {
                    eprintln!("onceproof-replay consumer {}: {e}", c + 1);
                }
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(Request::Receive { lease_expires }) => reply(consumer.receive(lease_expires)),
            Ok(Request::Complete { delivery }) => reply(consumer.complete(&delivery)),
            Ok(Request::TakeOver) => reply(consumer.take_over()),
            Ok(Request::Zombie) => reply(consumer.zombie()),
            Err(e) => reply::<()>(fail(format!("not a request: {line:?} ({e})"))),
        };
        say(answer);
    }
    std::process::ExitCode::SUCCESS
}
