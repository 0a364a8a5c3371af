//! Timestamped lines, for pipes and logs: one line per step, failures in
//! full, and a summary that never lets "not started" look like "ok".

use std::fmt::Write as _;
use std::io::Write;
use std::time::SystemTime;

use console::style;

use super::Reporter;
use crate::event::{Event, RunStatus, StepStatus, Stream, Summary};
use crate::tasks::fact::Fact;

pub struct Plain {
    pub quiet: bool,
    pub roll: super::roll::RollReport,
}

fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

pub fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// The lines every front end prints for a failed step.
pub fn failure_lines(
    host: &str,
    task: &str,
    message: &Option<String>,
    help: &Option<String>,
    tail: &[String],
    log: &Option<String>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {host} · {task}: {}",
        style("error:").red().bold(),
        super::clean(message.as_deref().unwrap_or("failed"))
    );
    if !tail.is_empty() {
        let _ = writeln!(s, "  last output:");
        for l in tail {
            let _ = writeln!(s, "  | {}", super::clean(l));
        }
    }
    if let Some(log) = log {
        let _ = writeln!(s, "  full output: {log}");
    }
    if let Some(help) = help {
        let _ = writeln!(s, "  {} {help}", style("help:").bold());
    }
    s
}

/// The lines every front end prints when a recovery starts and ends.
pub fn recovery_lines(e: &Event) -> Option<String> {
    match e {
        Event::RecoveryStarted { host, after, steps } => Some(format!(
            "{} {host}: `{after}` failed while the node was out of service; bringing it back ({})",
            style("recovering").yellow().bold(),
            steps.join(", ")
        )),
        Event::RecoveryFinished {
            host,
            ok: true,
            ms,
            message,
            ..
        } => Some(format!(
            "{} {host}: {} ({})",
            style("recovered").green().bold(),
            super::clean(message),
            seconds(*ms)
        )),
        Event::RecoveryFinished {
            host,
            ok: false,
            message,
            tail,
            ..
        } => {
            let mut s = format!(
                "{} {host} IS OUT OF SERVICE: {}",
                style("NODE LEFT DOWN:").red().bold(),
                super::clean(message)
            );
            for l in tail {
                let _ = write!(s, "\n  | {}", super::clean(l));
            }
            let _ = write!(
                s,
                "\n  {} start it by hand on {host} and check it serves (zkrun --status) before anything else",
                style("help:").bold()
            );
            Some(s)
        }
        _ => None,
    }
}

pub fn summary_lines(s: &Summary) -> String {
    let mut out = String::new();
    if !s.left_down.is_empty() {
        let _ = writeln!(
            out,
            "{} out of service: {} (see above)",
            style("NODE LEFT DOWN").red().bold(),
            list(&s.left_down)
        );
    }
    let verdict = match s.status {
        RunStatus::Ok => style("succeeded").green().bold(),
        RunStatus::Failed => style("FAILED").red().bold(),
        RunStatus::Interrupted => style("INTERRUPTED").yellow().bold(),
    };
    let _ = writeln!(out, "run {verdict} in {}", seconds(s.ms));
    let _ = writeln!(out, "  done         {}", list(&s.done));
    let _ = writeln!(out, "  failed       {}", list(&s.failed));
    if !s.recovered.is_empty() {
        let _ = writeln!(
            out,
            "  recovered    {}  (back in service; resume starts their turn over)",
            list(&s.recovered)
        );
    }
    if !s.in_progress.is_empty() {
        let _ = writeln!(
            out,
            "  in progress  {}  (resume finishes these first)",
            list(&s.in_progress)
        );
    }
    let _ = write!(out, "  not started  {}", list(&s.not_started));
    if !s.not_started.is_empty() {
        let _ = write!(out, "  (the roll did not reach these)");
    }
    out.push('\n');
    out
}

fn list(hosts: &[String]) -> String {
    if hosts.is_empty() {
        "-".into()
    } else {
        hosts.join(", ")
    }
}

impl Reporter for Plain {
    fn event(&self, e: &Event) {
        self.roll.event(e);
        let mut out = std::io::stdout().lock();
        let t = clock();
        let line = match e {
            Event::RunStarted {
                playbook,
                hosts,
                run_id,
                log_dir,
            } => Some(format!(
                "{t} run {run_id}: {playbook} on {} hosts (logs: {log_dir})",
                hosts.len()
            )),
            Event::ConnectFailed { host, error, help } => Some(format!(
                "{t} {host} {} {}\n  {} {help}",
                style("unreachable:").red().bold(),
                super::clean(error),
                style("help:").bold()
            )),
            Event::Refused {
                host,
                task,
                message,
                help,
            } => Some(format!(
                "{t} {host} {task} {} {}{}",
                style("refused:").red().bold(),
                super::clean(message),
                help.as_ref()
                    .map(|h| format!("\n  {} {h}", style("help:").bold()))
                    .unwrap_or_default()
            )),
            Event::Connected { .. } if self.quiet => None,
            Event::Connected { host, ms } => Some(format!("{t} {host} connected ({ms} ms)")),
            Event::StageStarted { name } if !self.quiet => Some(format!("{t} == {name}")),
            Event::BatchStarted {
                index,
                total,
                hosts,
            } if !self.quiet => Some(format!("{t} batch {index}/{total}: {}", hosts.join(", "))),
            Event::Leader { host, deferred } if !self.quiet => Some(match (host, deferred) {
                (Some(h), true) => format!("{t} leader is {h}: it goes last"),
                (Some(h), false) => format!("{t} leader is {h}"),
                (None, _) => format!(
                    "{t} no single leader found; keeping the planned order (each gate still checks the quorum)"
                ),
            }),
            Event::StepStarted {
                host,
                task,
                attempt,
                attempts,
                ..
            } if *attempt > 1 => Some(format!("{t} {host} {task} retry {attempt}/{attempts}")),
            Event::Output {
                host,
                task,
                stream,
                line,
            } => Some(format!(
                "{t} {host} {task} {}| {}",
                if *stream == Stream::Stderr { "!" } else { " " },
                super::clean(line)
            )),
            Event::StepFinished {
                host,
                task,
                status,
                ms,
                message,
                help,
                tail,
                log,
                ..
            } => match status {
                StepStatus::Ok if self.quiet => None,
                StepStatus::Ok => Some(format!(
                    "{t} {host} {task} {} ({})",
                    style("ok").green(),
                    seconds(*ms)
                )),
                StepStatus::Skipped | StepStatus::DoneBefore if self.quiet => None,
                StepStatus::DoneBefore => Some(format!(
                    "{t} {host} {task} {}",
                    style("done in the interrupted run").dim()
                )),
                StepStatus::Skipped => Some(format!(
                    "{t} {host} {task} {} ({})",
                    style("skipped").yellow(),
                    super::clean(message.as_deref().unwrap_or(""))
                )),
                StepStatus::Failed => Some(format!(
                    "{t} {}",
                    failure_lines(host, task, message, help, tail, log).trim_end()
                )),
            },
            Event::Fact {
                task, name, value, ..
            } if Fact::parse(name) == Some(Fact::Ensemble) => Some(format!(
                "{t} ensemble at {task}:\n{}",
                value
                    .lines()
                    .map(|l| format!("  {}", super::clean(l)))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
            Event::RecoveryStarted { .. } | Event::RecoveryFinished { .. } => {
                recovery_lines(e).map(|l| format!("{t} {l}"))
            }
            Event::RunFinished(s) => Some(format!(
                "{t} {}{}",
                self.roll.render(),
                summary_lines(s).trim_end()
            )),
            _ => None,
        };
        if let Some(line) = line {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}
