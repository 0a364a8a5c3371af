//! A scripted transport for unit tests: answers are looked up by host and
//! the command's first words; every command is recorded.

use std::collections::HashMap;
use std::sync::Mutex;

use super::PlanHost;
use super::transport::{LineSink, Output, RemoteCommand, Transport, TransportError};

/// (host or `*`, argv prefix, what to return, and the prefix of a command
/// that must have run on the host first, if any)
type Answer = (
    String,
    String,
    Result<Output, TransportError>,
    Option<String>,
);

#[derive(Default)]
pub struct Fake {
    /// (host, argv prefix joined by spaces) → answer. The longest prefix wins.
    answers: Mutex<Vec<Answer>>,
    unreachable: Mutex<HashMap<String, TransportError>>,
    /// Every command run, as (host, argv without sudo).
    pub log: Mutex<Vec<(String, Vec<String>)>>,
    pub closed: Mutex<bool>,
}

impl Fake {
    pub fn new() -> Fake {
        Fake::default()
    }

    /// Commands on `host` starting with `prefix` get this answer. `*` matches any host.
    pub fn answer(
        &self,
        host: &str,
        prefix: &str,
        answer: Result<Output, TransportError>,
    ) -> &Self {
        self.answers
            .lock()
            .unwrap()
            .push((host.into(), prefix.into(), answer, None));
        self
    }

    /// Like `answer`, but only once a command starting with `trigger` has
    /// run on the same host (a JVM gone after a kill, a node serving after
    /// its start); until then the other answers apply. Among answers with
    /// the same prefix, the one added last wins.
    pub fn after(
        &self,
        host: &str,
        trigger: &str,
        prefix: &str,
        answer: Result<Output, TransportError>,
    ) -> &Self {
        self.answers.lock().unwrap().push((
            host.into(),
            prefix.into(),
            answer,
            Some(trigger.into()),
        ));
        self
    }

    /// Commands on `host` starting with `prefix` succeed and print `stdout`.
    pub fn prints(&self, host: &str, prefix: &str, stdout: &str) -> &Self {
        self.answer(
            host,
            prefix,
            Ok(Output {
                code: Some(0),
                stdout: stdout.as_bytes().to_vec(),
                ..Output::default()
            }),
        )
    }

    pub fn exit(&self, host: &str, prefix: &str, code: i32, stderr: &str) -> &Self {
        self.answer(
            host,
            prefix,
            Ok(Output {
                code: Some(code),
                stderr: stderr.as_bytes().to_vec(),
                ..Output::default()
            }),
        )
    }

    /// Commands on `host` starting with `prefix` run past their deadline
    /// and are ended (as the SSH transport ends them).
    pub fn times_out(&self, host: &str, prefix: &str) -> &Self {
        self.answer(
            host,
            prefix,
            Ok(Output {
                timed_out: true,
                ..Output::default()
            }),
        )
    }

    pub fn unreachable(&self, host: &str) -> &Self {
        self.unreachable.lock().unwrap().insert(
            host.into(),
            TransportError::Unreachable("connect to host port 22: Connection refused".into()),
        );
        self
    }

    /// Hosts in the order their first command ran.
    pub fn hosts_touched(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (h, _) in self.log.lock().unwrap().iter() {
            if !out.contains(h) {
                out.push(h.clone());
            }
        }
        out
    }
}

impl Transport for Fake {
    async fn connect(&self, host: &PlanHost) -> Result<(), TransportError> {
        match self.unreachable.lock().unwrap().get(&host.name) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    async fn run(
        &self,
        host: &PlanHost,
        command: &RemoteCommand,
        lines: Option<&LineSink<'_>>,
    ) -> Result<Output, TransportError> {
        let ran: Vec<String> = {
            let mut log = self.log.lock().unwrap();
            log.push((host.name.clone(), command.argv.clone()));
            log.iter()
                .filter(|(h, _)| h == &host.name)
                .map(|(_, a)| a.join(" "))
                .collect()
        };
        let line = command.argv.join(" ");
        let answers = self.answers.lock().unwrap();
        let best = answers
            .iter()
            .filter(|(h, p, _, after)| {
                (h == &host.name || h == "*")
                    && line.starts_with(p.as_str())
                    && after
                        .as_ref()
                        .is_none_or(|t| ran.iter().any(|r| r.starts_with(t.as_str())))
            })
            .max_by_key(|(_, p, _, _)| p.len());
        if let (Some(sink), Some((_, _, Ok(out), _))) = (lines, best) {
            for l in String::from_utf8_lossy(&out.stdout).lines() {
                sink(false, l);
            }
            for l in String::from_utf8_lossy(&out.stderr).lines() {
                sink(true, l);
            }
        }
        match best {
            Some((_, _, answer, _)) => answer.clone(),
            None => Ok(Output {
                code: Some(0),
                ..Output::default()
            }),
        }
    }

    async fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }
}
