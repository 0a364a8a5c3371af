//! On a terminal: a header with the rolling context and one live line per
//! host (state, current step, elapsed time). Failures and the summary are
//! printed above the bars so they stay on screen.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Reporter;
use super::plain::{failure_lines, seconds, summary_lines};
use crate::event::{Event, HostStatus, StepStatus};
use crate::tasks::fact::Fact;

/// Lines longer than the terminal, cut at spaces (continuations indented
/// like their line), so a narrow terminal does not wrap them mid-word.
pub fn wrap_lines(text: &str, width: usize) -> String {
    let width = width.max(20);
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if console::measure_text_width(line) <= width {
            out.push(line.to_string());
            continue;
        }
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let cont = format!("{indent}    ");
        let mut cur = indent.clone();
        for word in line.trim_start().split(' ') {
            let fresh = cur.trim().is_empty();
            let candidate = if fresh {
                format!("{cur}{word}")
            } else {
                format!("{cur} {word}")
            };
            if !fresh && console::measure_text_width(&candidate) > width {
                out.push(std::mem::replace(&mut cur, format!("{cont}{word}")));
            } else {
                cur = candidate;
            }
        }
        out.push(cur);
    }
    out.join("\n")
}

pub struct Progress {
    multi: MultiProgress,
    header: ProgressBar,
    hosts: Mutex<HashMap<String, ProgressBar>>,
    leader_note: String,
    leader_now: Mutex<Option<String>>,
    roll: super::roll::RollReport,
}

impl Progress {
    /// `leader_note` is shown in the header, e.g. "leader last".
    pub fn new(leader_note: &str) -> Progress {
        let multi = MultiProgress::new();
        let header = multi.add(ProgressBar::new_spinner());
        header.set_style(ProgressStyle::with_template("{spinner:.cyan} {msg}").expect("template"));
        header.enable_steady_tick(Duration::from_millis(120));
        Progress {
            multi,
            header,
            hosts: Mutex::new(HashMap::new()),
            leader_note: leader_note.to_string(),
            leader_now: Mutex::new(None),
            roll: Default::default(),
        }
    }

    fn bar(&self, host: &str) -> ProgressBar {
        let mut hosts = self.hosts.lock().expect("not poisoned");
        hosts
            .entry(host.to_string())
            .or_insert_with(|| {
                let b = self.multi.add(ProgressBar::new_spinner());
                b.set_style(
                    ProgressStyle::with_template("  {prefix:<10} {msg} {elapsed:>4}")
                        .expect("template"),
                );
                b.set_prefix(host.to_string());
                b.set_message(console::style("waiting").dim().to_string());
                b
            })
            .clone()
    }

    fn above(&self, text: &str) {
        let width = console::Term::stdout().size().1 as usize;
        let _ = self.multi.println(wrap_lines(text.trim_end(), width));
    }
}

impl Reporter for Progress {
    fn event(&self, e: &Event) {
        self.roll.event(e);
        match e {
            Event::RunStarted {
                playbook,
                hosts,
                run_id,
                ..
            } => {
                self.header
                    .set_message(format!("{playbook} · run {run_id} · connecting"));
                for h in hosts {
                    self.bar(h);
                }
            }
            Event::Connected { host, .. } => self.bar(host).set_message("connected".to_string()),
            Event::ConnectFailed { host, error, help } => {
                self.bar(host)
                    .set_message(console::style("unreachable").red().to_string());
                self.above(&format!(
                    "error: {host} unreachable: {}\n  help: {help}",
                    super::clean(error)
                ));
            }
            Event::Refused {
                host,
                task,
                message,
                help,
            } => {
                self.bar(host)
                    .set_message(console::style("refused").red().to_string());
                self.above(&format!(
                    "error: {host} {task}: {}{}",
                    super::clean(message),
                    help.as_ref()
                        .map(|h| format!("\n  help: {h}"))
                        .unwrap_or_default()
                ));
            }
            Event::StageStarted { name } => self.header.set_message(name.clone()),
            Event::BatchStarted {
                index,
                total,
                hosts,
            } => {
                let mut m = format!("batch {index}/{total} · {}", hosts.join(", "));
                if !self.leader_note.is_empty() {
                    match self.leader_now.lock().expect("not poisoned").as_deref() {
                        Some(l) if !hosts.iter().any(|h| h == l) => {
                            m.push_str(&format!(" · leader {l} last"))
                        }
                        _ => m.push_str(&format!(" · {}", self.leader_note)),
                    }
                }
                self.header.set_message(m);
                for h in hosts {
                    self.bar(h).reset_elapsed();
                }
            }
            Event::StepStarted {
                host,
                task,
                attempt,
                attempts,
                ..
            } => {
                let b = self.bar(host);
                b.enable_steady_tick(Duration::from_millis(120));
                let retry = if *attempt > 1 {
                    format!(" (try {attempt}/{attempts})")
                } else {
                    String::new()
                };
                b.set_message(format!(
                    "{} {task}{retry}",
                    console::style("running").cyan()
                ));
            }
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
            } => {
                let b = self.bar(host);
                match status {
                    StepStatus::Ok => b.set_message(format!(
                        "{} {task} ({})",
                        console::style("ok").green(),
                        seconds(*ms)
                    )),
                    StepStatus::Skipped => {
                        b.set_message(format!("{} {task}", console::style("skipped").yellow()))
                    }
                    StepStatus::DoneBefore => {
                        b.set_message(format!("{} {task}", console::style("done before").dim()))
                    }
                    StepStatus::Failed => {
                        b.set_message(format!("{} {task}", console::style("FAILED").red().bold()));
                        self.above(&failure_lines(host, task, message, help, tail, log));
                    }
                }
            }
            Event::HostFinished { host, status } => {
                let b = self.bar(host);
                b.disable_steady_tick();
                let word = match status {
                    HostStatus::Ok => console::style("done").green().to_string(),
                    HostStatus::Failed => console::style("failed").red().bold().to_string(),
                };
                b.finish_with_message(word);
            }
            Event::Output {
                host, task, line, ..
            } => self.above(&format!("{host} {task} | {}", super::clean(line))),
            Event::Fact {
                task, name, value, ..
            } if Fact::parse(name) == Some(Fact::Ensemble) => {
                self.above(&format!("ensemble at {task}:\n{}", super::clean(value)));
            }
            Event::Fact { .. } => {}
            Event::RecoveryStarted { host, .. } | Event::RecoveryFinished { host, .. } => {
                let (msg, ok) = match e {
                    Event::RecoveryStarted { .. } => ("recovering", true),
                    Event::RecoveryFinished { ok: true, .. } => ("recovered", true),
                    _ => ("LEFT DOWN", false),
                };
                let styled = if ok {
                    console::style(msg).yellow().to_string()
                } else {
                    console::style(msg).red().bold().to_string()
                };
                self.bar(host).set_message(styled);
                if let Some(lines) = super::plain::recovery_lines(e) {
                    self.above(&lines);
                }
            }
            Event::Leader { host, .. } => {
                self.leader_now
                    .lock()
                    .expect("not poisoned")
                    .clone_from(host);
            }
            Event::RunFinished(s) => {
                for (host, b) in self.hosts.lock().expect("not poisoned").iter() {
                    if s.not_started.contains(host) {
                        b.set_style(
                            ProgressStyle::with_template("  {prefix:<10} {msg}").expect("template"),
                        );
                        b.finish_with_message(console::style("not started").dim().to_string());
                    } else if !b.is_finished() {
                        b.finish();
                    }
                }
                self.header.finish_and_clear();
                // The bars are finished and drawn for the last time; the
                // summary goes below them, written directly: printed
                // "above" the bars, it would make them be drawn again
                // after it.
                let text = format!("{}{}", self.roll.render(), summary_lines(s));
                let width = console::Term::stdout().size().1 as usize;
                let mut out = std::io::stdout().lock();
                let _ = std::io::Write::write_all(
                    &mut out,
                    format!("{}\n", wrap_lines(text.trim_end(), width)).as_bytes(),
                );
                let _ = std::io::Write::flush(&mut out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_lines_wrap_at_spaces_within_the_width() {
        let text = "  sessions: clients may negotiate 4.0s-40.0s; restarting the leader disconnects every client for about 2s";
        let w = super::wrap_lines(text, 40);
        assert!(w.lines().all(|l| l.chars().count() <= 40), "{w}");
        assert!(w.lines().next().unwrap().starts_with("  sessions:"));
        assert!(w.lines().skip(1).all(|l| l.starts_with("      ")), "{w}");
        assert_eq!(
            w.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
    }
}
