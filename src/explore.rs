//! Serves the Stateright Explorer for a model, and links into it.
//!
//! stateright's own `CheckerBuilder::serve` is a poor fit for a CLI as it
//! stands: it panics (inside tiny_http's `unwrap`) when the port is busy,
//! blocks forever, and in "dev mode" serves the UI from `./ui/*` of the
//! process's working directory whenever such files exist, re-reading them
//! on every request. This module turns the first into an [`ExploreError`],
//! keeps the second (serving is all the `explore` command does), and shuts
//! the third out: before serving, the process moves into an empty directory
//! that it then deletes, so no `./ui` can ever be found there and the
//! Explorer always serves the UI compiled into stateright.
//!
//! The Explorer is served through [`crate::front`], which puts the
//! project's words on stateright's answers (steps, initial state, scenario
//! name, each state's own property status, links that do not decode);
//! stateright's server listens on a private loopback port behind it.
//!
//! Deep links open the Explorer directly at a counterexample's last step:
//! the UI replays the path from the model alone, so the link works on a
//! fresh server whose checker has not explored anything yet.

use crate::check::Trace;
use crate::model::Model;
use stateright::Model as _;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long [`spawn`] waits for the port to answer before giving up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub enum ExploreError {
    /// The address cannot be listened on: busy, not an address of this
    /// machine, or a privileged port.
    Bind { addr: SocketAddr, source: io::Error },
    /// The guard against the Explorer's dev mode could not be set up.
    Setup(io::Error),
    /// The server started, then stopped (its request loop panicked).
    Stopped { addr: SocketAddr, reason: String },
    /// [`spawn`] started the server but its port never answered.
    NotAnswering { addr: SocketAddr, waited: Duration },
}

impl fmt::Display for ExploreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExploreError::Bind { addr, source } => {
                let reason = match source.kind() {
                    io::ErrorKind::AddrInUse => "address already in use".to_string(),
                    io::ErrorKind::AddrNotAvailable => "not an address of this machine".to_string(),
                    io::ErrorKind::PermissionDenied => {
                        "permission denied (ports below 1024 need privileges)".to_string()
                    }
                    _ => source.to_string(),
                };
                write!(f, "cannot serve the Explorer on {addr}: {reason}")
            }
            ExploreError::Setup(e) => write!(
                f,
                "cannot serve the Explorer: cannot leave the working directory \
                 (needed so that a ./ui folder cannot replace the Explorer's pages): {e}"
            ),
            ExploreError::Stopped { addr, reason } => {
                write!(f, "the Explorer on {addr} stopped: {reason}")
            }
            ExploreError::NotAnswering { addr, waited } => write!(
                f,
                "the Explorer on {addr} did not answer within {} ms",
                waited.as_millis()
            ),
        }
    }
}

impl std::error::Error for ExploreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExploreError::Bind { source, .. } | ExploreError::Setup(source) => Some(source),
            _ => None,
        }
    }
}

/// The address a browser should connect to: a server listening on every
/// interface (0.0.0.0 or ::) is reached on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// The Explorer URL that opens at the last step of `trace`.
pub fn deep_link(addr: &SocketAddr, trace: &Trace) -> String {
    format!("http://{}/#/steps/{}", reachable(*addr), trace.encoded)
}

/// Binding first turns tiny_http's panic on a busy port into an error the
/// CLI can report. The listener is dropped at once; the port is free again
/// when tiny_http binds it (a listener that accepted nothing leaves no
/// TIME_WAIT behind).
fn check_bindable(addr: SocketAddr) -> Result<SocketAddr, ExploreError> {
    TcpListener::bind(addr)
        .and_then(|l| l.local_addr())
        .map_err(|source| ExploreError::Bind { addr, source })
}

/// Dev mode reads `./ui/<file>` relative to the process's working directory
/// on every request, so the guard has to last as long as the process: the
/// process moves into a fresh directory and deletes it. Nothing can be
/// created in a deleted directory, so `./ui` can never appear. (Where the
/// OS refuses to delete the working directory, it stays behind, empty.)
///
/// This changes the working directory of the whole process: resolve
/// relative paths before serving.
fn leave_working_directory() -> Result<(), ExploreError> {
    let dir = tempfile::Builder::new()
        .prefix("onceproof-explorer-")
        .tempdir()
        .map_err(ExploreError::Setup)?;
    std::env::set_current_dir(dir.path()).map_err(ExploreError::Setup)?;
    drop(dir);
    Ok(())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".to_string())
}

/// Serves the Stateright Explorer for `model` on `addr`, forever.
///
/// Returns only on failure: the address cannot be bound (checked before
/// stateright gets it, so a busy port is an error rather than a panic), or
/// the server panicked (caught, and returned as [`ExploreError::Stopped`]).
///
/// Changes the process's working directory (see the module docs): the
/// Explorer then always serves the UI built into stateright, never a
/// `./ui` folder. Port 0 serves on a free port but tells nobody which:
/// use [`spawn`] for that.
/// `announce` runs once the address is known to be free, so a URL is never
/// printed for a server that cannot start.
pub fn serve(
    model: Model,
    scenario: &str,
    addr: SocketAddr,
    announce: impl FnOnce(&SocketAddr),
) -> Result<std::convert::Infallible, ExploreError> {
    // Checked first as well, so that a call that fails leaves the working
    // directory alone.
    let addr = check_bindable(addr)?;
    announce(&addr);
    leave_working_directory()?;
    serve_here(model, scenario, addr)
}

fn serve_here(
    model: Model,
    scenario: &str,
    addr: SocketAddr,
) -> Result<std::convert::Infallible, ExploreError> {
    let addr = check_bindable(addr)?;
    // stateright's server, on a loopback port only the front talks to.
    let inner = check_bindable((Ipv4Addr::LOCALHOST, 0).into())?;
    let explorable = crate::explorable::Explorable::new(model.clone());
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name(format!("stateright explorer {inner}"))
        .spawn(move || {
            let Err(e) = guarded(inner, move || {
                explorable.checker().serve(inner);
            });
            let _ = tx.send(e);
        })
        .map_err(ExploreError::Setup)?;
    wait_until_answering(inner, &rx)?;

    let server = tiny_http::Server::http(addr).map_err(|e| ExploreError::Bind {
        addr,
        source: match e.downcast::<io::Error>() {
            Ok(e) => *e,
            Err(e) => io::Error::other(e),
        },
    })?;
    let front = crate::front::Front::new(model, scenario, inner);
    for rq in server.incoming_requests() {
        if let Ok(e) = rx.try_recv() {
            return Err(e);
        }
        let method = rq.method().as_str().to_string();
        let answer = front.answer(&method, rq.url());
        let mut response =
            tiny_http::Response::from_data(answer.body).with_status_code(answer.status);
        if let Some(header) = answer
            .content_type
            .and_then(|t| tiny_http::Header::from_bytes("Content-Type", t).ok())
        {
            response = response.with_header(header);
        }
        // A browser that went away before its answer is not an error.
        let _ = rq.respond(response);
    }
    Err(ExploreError::Stopped {
        addr,
        reason: "its request loop ended".to_string(),
    })
}

/// Returns once `addr` accepts a connection, or with the server's error if
/// it stopped first.
fn wait_until_answering(
    addr: SocketAddr,
    stopped: &mpsc::Receiver<ExploreError>,
) -> Result<(), ExploreError> {
    let probe = reachable(addr);
    let start = Instant::now();
    loop {
        if let Ok(e) = stopped.try_recv() {
            return Err(e);
        }
        if TcpStream::connect_timeout(&probe, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if start.elapsed() > STARTUP_TIMEOUT {
            return Err(ExploreError::NotAnswering {
                addr,
                waited: start.elapsed(),
            });
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs a server that is not meant to return, turning its panic into an
/// error. tiny_http still panics if another process takes the port between
/// [`check_bindable`] and its own bind; that is reported as the busy port it
/// is. (The panic message is also printed by the panic hook: the hook is
/// process-wide, so it is left alone.)
fn guarded(
    addr: SocketAddr,
    serve: impl FnOnce(),
) -> Result<std::convert::Infallible, ExploreError> {
    let reason = match panic::catch_unwind(AssertUnwindSafe(serve)) {
        Ok(()) => "its request loop ended".to_string(),
        Err(payload) => panic_message(payload.as_ref()),
    };
    if reason.contains("AddrInUse") {
        return Err(ExploreError::Bind {
            addr,
            source: io::ErrorKind::AddrInUse.into(),
        });
    }
    Err(ExploreError::Stopped { addr, reason })
}

/// Serves the Explorer in a background thread and returns once its port
/// answers; the server lives until the process ends.
///
/// Port 0 picks a free ephemeral port first (so tests can run in
/// parallel); the returned address has the real port. Like [`serve`], this
/// changes the process's working directory.
pub fn spawn(model: Model, scenario: &str, addr: SocketAddr) -> Result<SocketAddr, ExploreError> {
    let addr = check_bindable(addr)?;
    leave_working_directory()?;
    let (tx, rx) = mpsc::channel();
    let scenario = scenario.to_string();
    thread::Builder::new()
        .name(format!("explorer {addr}"))
        .spawn(move || {
            let Err(e) = serve_here(model, &scenario, addr);
            // Once spawn has returned, nobody is listening on the channel.
            if let Err(mpsc::SendError(e)) = tx.send(e) {
                eprintln!("error: {e}");
            }
        })
        .map_err(ExploreError::Setup)?;

    wait_until_answering(addr, &rx)?;
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:3000".parse().unwrap()
    }

    /// The port is taken after the check: stateright's own bind panics.
    #[test]
    fn tiny_http_losing_the_race_for_the_port_is_a_busy_port() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let model = crate::model::build(crate::pipeline::Config::new(
            crate::pipeline::Mode::AtLeastOnce,
        ));
        let e = guarded(addr, move || {
            model.checker().serve(addr);
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("cannot serve the Explorer on {addr}: address already in use")
        );
    }

    #[test]
    fn a_server_that_panics_is_reported_as_stopped() {
        let e = guarded(addr(), || panic!("boom")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the Explorer on 127.0.0.1:3000 stopped: boom"
        );
        let e = guarded(addr(), || ()).unwrap_err();
        assert!(matches!(e, ExploreError::Stopped { .. }), "{e:?}");
    }
}
