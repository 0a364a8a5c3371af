//! How commands reach a host: a small trait, with SSH for real runs and a
//! scripted fake for unit tests.
//!
//! Commands are argv vectors; the SSH transport escapes each word. A command
//! that runs past its deadline is ended by the transport, over the same
//! connection: SIGTERM to its process group, SIGKILL 5 s later (what
//! coreutils `timeout -k 5s` did, without a process of its own on every
//! command; see `ssh.rs`).

use std::time::Duration;

use crate::host::PlanHost;

/// Receives output lines as they arrive: (is stderr, line).
pub type LineSink<'a> = dyn Fn(bool, &str) + 'a;

/// One command for one host.
#[derive(Debug, Clone)]
pub struct RemoteCommand {
    pub argv: Vec<String>,
    /// Fed to the command's standard input (file contents for templates).
    pub stdin: Option<Vec<u8>>,
    /// Through `sudo -n`.
    pub r#become: bool,
    pub timeout: Duration,
}

/// How `sudo` is run on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sudo {
    /// `sudo -n`: no password is needed (or none was given).
    NoPassword,
    /// `sudo -S`: the become password goes first on standard input.
    Password,
}

/// Between SIGTERM and SIGKILL at a deadline, and how long the transport
/// then waits for the command's end before it gives the host up.
pub const KILL_AFTER: Duration = Duration::from_secs(5);

impl RemoteCommand {
    pub fn new(argv: Vec<String>, timeout: Duration) -> RemoteCommand {
        RemoteCommand {
            argv,
            stdin: None,
            r#become: false,
            timeout,
        }
    }

    /// The argv as it runs on the host: `[sudo …] argv...`.
    /// `sudo` is `sudo -n` (no password) or, when the host needs the become
    /// password, `sudo -k -S -p ''`: `-k` makes sudo read exactly one
    /// password line from standard input every time (no cached
    /// credentials), so what follows that line is the command's own input.
    pub fn wrapped(&self, become_user: Option<&str>, sudo: Sudo) -> Vec<String> {
        let mut out = Vec::with_capacity(self.argv.len() + 8);
        if self.r#become {
            match sudo {
                Sudo::NoPassword => out.extend(["sudo", "-n"].map(String::from)),
                Sudo::Password => out.extend(["sudo", "-k", "-S", "-p", ""].map(String::from)),
            }
            if let Some(u) = become_user {
                out.extend(["-u".to_string(), u.to_string()]);
            }
            out.push("--".into());
        }
        out.extend(self.argv.iter().cloned());
        out
    }
}

/// What came back from a command that ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// None when the command was ended by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// It ran past its deadline and was ended (SIGTERM, then SIGKILL).
    pub timed_out: bool,
}

impl Output {
    /// Exit status 0, before its deadline (a command that catches SIGTERM
    /// and exits 0 still ran out of time).
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }
}

/// Why a host could not be reached or a command's result is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Could not connect (refused, unreachable, timed out).
    Unreachable(String),
    /// The server refused our credentials.
    AuthRefused(String),
    /// The host key is unknown or changed.
    HostKey(String),
    /// The connection broke while a command ran: its outcome is unknown.
    Disconnected(String),
    /// A command past its deadline that zkrun could not end: it may still
    /// run on the host.
    Unended(String),
    /// Anything else the client reported.
    Other(String),
}

impl TransportError {
    /// What to tell the operator, and what they can do about it.
    pub fn explain(&self) -> (String, &'static str) {
        match self {
            TransportError::Unreachable(m) => (
                format!("cannot connect: {m}"),
                "check that the host is up and sshd listens (ssh -v to the same address)",
            ),
            TransportError::AuthRefused(m) => (
                format!("authentication refused: {m}"),
                "check ansible_user and the key (ansible_ssh_private_key_file or your agent)",
            ),
            TransportError::HostKey(m) => (
                format!("host key not trusted: {m}"),
                "if the key changed on purpose, update known_hosts; to trust new hosts once, pass --accept-new-host-keys",
            ),
            TransportError::Disconnected(m) => (
                format!("connection lost while a command ran: {m}"),
                "the command's outcome on the host is unknown: look at the host before running again",
            ),
            TransportError::Unended(m) => (
                m.clone(),
                "look at the host (ps -ef): the command may still run there; end it before running again",
            ),
            TransportError::Other(m) => (m.clone(), "run ssh -v against the host for details"),
        }
    }
}

/// Reaches hosts and runs commands on them. Implementations keep one
/// connection per host for the whole run.
#[allow(async_fn_in_trait)]
pub trait Transport {
    async fn connect(&self, host: &PlanHost) -> Result<(), TransportError>;
    /// Runs a command; with `lines`, each line of output is also handed over
    /// as it arrives (`-v`).
    async fn run(
        &self,
        host: &PlanHost,
        command: &RemoteCommand,
        lines: Option<&LineSink<'_>>,
    ) -> Result<Output, TransportError>;
    /// Closes every connection; called at the end of a run, also after errors.
    async fn close(&self);
}
