//! What a task's `execute` gets: a way to run commands on its host, sleep
//! and read the clock, without knowing about SSH or the async runtime. The
//! task files stay free of both.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use crate::event::{Event, Stream};
use crate::host::PlanHost;
use crate::host::transport::{Output, RemoteCommand, Transport};
use crate::render::{Text, shell_quote};

/// Why a step failed, in the operator's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub message: String,
    pub help: Option<String>,
    pub exit_code: Option<i32>,
    pub tail: Vec<String>,
}

impl StepError {
    pub fn new(message: impl Into<String>) -> StepError {
        StepError {
            message: message.into(),
            help: None,
            exit_code: None,
            tail: Vec::new(),
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> StepError {
        self.help = Some(help.into());
        self
    }
}

pub struct Exec<'a, T: Transport> {
    pub transport: &'a T,
    pub host: &'a PlanHost,
    /// Every host of the play (the whole ensemble), for checks that look at all nodes.
    pub hosts: &'a [PlanHost],
    /// The hosts of the batch this step belongs to (this host among them),
    /// out of service together; empty outside the rolling part.
    pub batch: &'a [String],
    pub task: &'a str,
    pub timeout: Duration,
    pub r#become: bool,
    pub started: Instant,
    pub verbose: bool,
    pub emit: &'a dyn Fn(Event),
    /// Everything the step's commands printed, for its log file.
    pub log: RefCell<Vec<u8>>,
    /// Facts recorded by earlier steps of the run (`host/name` → value).
    pub facts: &'a RefCell<std::collections::HashMap<String, String>>,
}

/// How many output lines a failure shows.
const TAIL: usize = 10;

impl<'a, T: Transport> Exec<'a, T> {
    /// A context for read-only looks outside any step (probes, inspections,
    /// `--status`): nothing is emitted, nothing is logged to a file.
    pub fn read_only(
        transport: &'a T,
        host: &'a PlanHost,
        hosts: &'a [PlanHost],
        task: &'a str,
        timeout: Duration,
        facts: &'a RefCell<std::collections::HashMap<String, String>>,
    ) -> Exec<'a, T> {
        Exec {
            transport,
            host,
            hosts,
            batch: &[],
            task,
            timeout,
            r#become: false,
            started: Instant::now(),
            verbose: false,
            emit: &|_| {},
            log: RefCell::new(Vec::new()),
            facts,
        }
    }

    /// Time left before the step's timeout.
    pub fn remaining(&self) -> Duration {
        self.timeout.saturating_sub(self.started.elapsed())
    }

    pub async fn sleep(&self, d: Duration) {
        tokio_sleep(d).await
    }

    /// A short read-only query on any host of the play (a probe): not
    /// logged, no sudo, its own small timeout.
    pub async fn query(
        &self,
        host: &PlanHost,
        argv: &[&str],
        timeout: Duration,
    ) -> Result<Output, String> {
        let command = RemoteCommand {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            stdin: None,
            r#become: false,
            timeout,
        };
        self.transport
            .run(host, &command, None)
            .await
            .map_err(|e| e.explain().0)
    }

    /// A short read-only query on this step's host with the step's
    /// `become`, for what only root may read: the system journal, of which
    /// journalctl shows a user outside the `systemd-journal` group nothing
    /// (and with `--quiet` does not say so). Not logged; its own timeout.
    pub async fn query_as_step(&self, argv: &[&str], timeout: Duration) -> Result<Output, String> {
        let command = RemoteCommand {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            stdin: None,
            r#become: self.r#become,
            timeout,
        };
        self.transport
            .run(self.host, &command, None)
            .await
            .map_err(|e| e.explain().0)
    }

    /// Records a fact in the run's checkpoint (and the event stream).
    pub fn fact(&self, name: impl AsRef<str>, value: impl Into<String>) {
        let name = name.as_ref();
        let value = value.into();
        self.facts
            .borrow_mut()
            .insert(format!("{}/{name}", self.host.name), value.clone());
        (self.emit)(Event::Fact {
            host: self.host.name.clone(),
            task: self.task.to_string(),
            name: name.to_string(),
            value,
        });
    }

    /// A fact an earlier step recorded for this host.
    pub fn recall(&self, name: impl AsRef<str>) -> Option<String> {
        let name = name.as_ref();
        self.facts
            .borrow()
            .get(&format!("{}/{name}", self.host.name))
            .cloned()
    }

    /// Appends a line to the step's log.
    pub fn note(&self, line: &str) {
        let mut log = self.log.borrow_mut();
        log.extend_from_slice(line.as_bytes());
        log.push(b'\n');
    }

    /// Runs a command; a transport failure becomes a step error.
    /// Runs a command. Messages and the log show each word's shown form,
    /// so secrets stay out of them; the host gets the real values.
    pub async fn run(&self, argv: &[Text], stdin: Option<Vec<u8>>) -> Result<Output, StepError> {
        self.run_for(argv, stdin, self.remaining().max(Duration::from_secs(1)))
            .await
    }

    /// Like `run`, with its own time limit (for work that happens after the
    /// step's own time is up, such as forcing a stop).
    pub async fn run_for(
        &self,
        argv: &[Text],
        stdin: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Output, StepError> {
        let command = RemoteCommand {
            argv: argv.iter().map(|t| t.real().to_string()).collect(),
            stdin,
            r#become: self.r#become,
            timeout,
        };
        // A secret never goes on a command line, where `ps` and sudo's log
        // would show it: such a command is a one-line script on `sh`'s
        // standard input instead (sh reads its script a line at a time, so
        // the command still gets the input that follows).
        let command = if argv.iter().any(Text::has_secret) {
            // A `shell:` line is the script itself (when no input follows
            // it: sh would read that input as more script); other commands
            // are exec'd from it (the program then holds its own arguments).
            let script = match command.argv.as_slice() {
                [sh, c, line] if sh == "sh" && c == "-c" && command.stdin.is_none() => line.clone(),
                words => format!(
                    "exec {}",
                    words
                        .iter()
                        .map(|w| shell_quote(w))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            };
            let mut input = format!("{script}\n").into_bytes();
            input.extend(command.stdin.iter().flatten());
            RemoteCommand {
                argv: vec!["sh".into(), "-s".into()],
                stdin: Some(input),
                ..command
            }
        } else {
            command
        };
        {
            let mut log = self.log.borrow_mut();
            log.extend_from_slice(format!("$ {}\n", crate::render::shell_line(argv)).as_bytes());
        }
        let sink = |is_stderr: bool, line: &str| {
            (self.emit)(Event::Output {
                host: self.host.name.clone(),
                task: self.task.to_string(),
                stream: if is_stderr {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                },
                line: line.to_string(),
            })
        };
        let lines: Option<&crate::host::transport::LineSink<'_>> =
            if self.verbose { Some(&sink) } else { None };
        let out = self
            .transport
            .run(self.host, &command, lines)
            .await
            .map_err(|e| {
                let (message, help) = e.explain();
                StepError::new(message).help(help)
            })?;
        {
            let mut log = self.log.borrow_mut();
            log.extend_from_slice(&out.stdout);
            log.extend_from_slice(&out.stderr);
            log.extend_from_slice(
                format!(
                    "[exit {}]\n",
                    out.code.map_or("signal".into(), |c| c.to_string())
                )
                .as_bytes(),
            );
        }
        Ok(out)
    }

    /// Runs a command that must succeed; says why when it does not.
    pub async fn check(&self, argv: &[Text], stdin: Option<Vec<u8>>) -> Result<Output, StepError> {
        let shown = crate::render::shell_line(argv);
        let out = self.run(argv, stdin).await?;
        if out.success() {
            return Ok(out);
        }
        Err(self.failure(&shown, &out))
    }

    pub fn failure(&self, shown: &str, out: &Output) -> StepError {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut text = String::from_utf8_lossy(&out.stdout).to_string();
        text.push_str(&stderr);
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let tail = lines[lines.len().saturating_sub(TAIL)..].to_vec();
        let mut e = match out.code {
            _ if out.timed_out => StepError::new(format!(
                "`{shown}` ran past the step's timeout ({}s) and was ended on the host",
                self.timeout.as_secs()
            ))
            .help("raise the task's `timeout` if the host is just slow, or look at what it was waiting for"),
            _ if self.r#become && stderr.contains("a password is required") => StepError::new(format!(
                "sudo on {} wants a password for `{shown}`",
                self.host.name
            ))
            .help("zkrun never types passwords: allow these commands with NOPASSWD in sudoers, or connect as a user that needs no sudo"),
            Some(code) => StepError::new(format!("`{shown}` exited with status {code}")),
            None => StepError::new(format!("`{shown}` was ended by a signal")),
        };
        e.exit_code = out.code;
        e.tail = tail;
        e
    }
}

async fn tokio_sleep(d: Duration) {
    tokio::time::sleep(d).await
}
