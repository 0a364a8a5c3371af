//! What the runner tells the front ends. The JSON envelope is
//! `{"type": "<snake_case name>", "data": {...}}` (see schemas/events.schema.json).

use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run_id: String,
        playbook: String,
        hosts: Vec<String>,
        /// Where each step's full output is written.
        log_dir: String,
    },
    /// Connections are opened to every host before anything runs.
    Connected {
        host: String,
        ms: u64,
    },
    ConnectFailed {
        host: String,
        error: String,
        help: String,
    },
    /// A read-only look at a host, before anything runs, found that a step
    /// would fail part-way (no room for a backup, a missing unit). Nothing
    /// is run on any host.
    Refused {
        host: String,
        task: String,
        message: String,
        help: Option<String>,
    },
    /// A stage: `before the roll`, `rolling`, `after the roll`.
    StageStarted {
        name: String,
    },
    BatchStarted {
        index: usize,
        total: usize,
        hosts: Vec<String>,
    },
    /// With `order: leader-last`, who leads right before a batch, and
    /// whether that host was moved behind the others.
    Leader {
        host: Option<String>,
        deferred: bool,
    },
    StepStarted {
        host: String,
        task: String,
        kind: String,
        attempt: u32,
        attempts: u32,
    },
    /// A line of remote output (sent with -v).
    Output {
        host: String,
        task: String,
        stream: Stream,
        line: String,
    },
    StepFinished {
        host: String,
        task: String,
        status: StepStatus,
        ms: u64,
        /// For failures: what happened and what to do.
        message: Option<String>,
        help: Option<String>,
        exit_code: Option<i32>,
        /// The last lines of output, for failures.
        tail: Vec<String>,
        log: Option<String>,
    },
    /// A step failed while its node was out of service: zkrun runs the
    /// host's bring-back steps (`steps`) before it stops.
    RecoveryStarted {
        host: String,
        /// The task that failed.
        after: String,
        steps: Vec<String>,
    },
    /// The end of a recovery. `ok: false` means the node is still out of
    /// service: it needs a person now.
    RecoveryFinished {
        host: String,
        ok: bool,
        ms: u64,
        message: String,
        /// The last output or the server's fatal log lines, when it failed.
        tail: Vec<String>,
        /// Tasks of the host the checkpoint forgets: the node is as it was
        /// before its turn, so a resume starts the turn over.
        reset: Vec<String>,
    },
    HostFinished {
        host: String,
        status: HostStatus,
    },
    /// Something a step found that the record should keep (the leader's
    /// zxid before a stop, a backup's manifest).
    Fact {
        host: String,
        task: String,
        name: String,
        value: String,
    },
    RunFinished(Summary),
}

impl Event {
    /// Masks every secret in the free text an event carries (remote output,
    /// messages, failure tails, fact values): see `crate::scrub`.
    pub fn scrub(&mut self) {
        use crate::scrub::in_place;
        let all = |v: &mut Vec<String>| v.iter_mut().for_each(in_place);
        match self {
            Event::ConnectFailed { error, help, .. } => {
                in_place(error);
                in_place(help);
            }
            Event::Refused { message, help, .. } => {
                in_place(message);
                help.iter_mut().for_each(in_place);
            }
            Event::Output { line, .. } => in_place(line),
            Event::StepFinished {
                message,
                help,
                tail,
                ..
            } => {
                message.iter_mut().for_each(in_place);
                help.iter_mut().for_each(in_place);
                all(tail);
            }
            Event::RecoveryFinished { message, tail, .. } => {
                in_place(message);
                all(tail);
            }
            Event::Fact { value, .. } => in_place(value),
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    Failed,
    Skipped,
    /// Done by an earlier, interrupted run of the same plan: not repeated.
    DoneBefore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    Ok,
    Failed,
}

/// The end of a run: hosts done, failed, and never touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Summary {
    pub status: RunStatus,
    pub done: Vec<String>,
    pub failed: Vec<String>,
    /// Hosts the rolling part never reached: nothing was run on them.
    pub not_started: Vec<String>,
    /// Hosts left part-way by an interruption: resume finishes them first.
    pub in_progress: Vec<String>,
    /// Failed hosts that zkrun brought back into service after the failure.
    pub recovered: Vec<String>,
    /// Hosts whose node zkrun left out of service (a recovery failed or was
    /// turned off): each needs a person now.
    pub left_down: Vec<String>,
    pub ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Ok,
    Failed,
    /// Stopped on request (or because the checkpoint could not be written)
    /// between steps.
    Interrupted,
}
