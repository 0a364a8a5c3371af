//! One step: the halt and resume checks, its attempts with retries, its
//! events and its log file.

use std::cell::RefCell;
use std::time::Instant;

use super::{Policy, Runner};
use crate::event::{Event, StepStatus};
use crate::host::exec::{Exec, StepError};
use crate::host::transport::Transport;
use crate::plan::{Step, TaskInfo};

impl<T: Transport, P: Policy> Runner<'_, T, P> {
    /// One step with its retries; true when it succeeded or was skipped.
    /// `batch`: the hosts out of service with this one (rolling steps).
    /// `keep_going`: the node is out of service, so a halt request waits.
    pub(super) async fn step(
        &self,
        task: &TaskInfo,
        step: &Step,
        batch: &[String],
        keep_going: bool,
    ) -> Outcome {
        if !keep_going && self.o.halt.load(std::sync::atomic::Ordering::SeqCst) {
            self.interrupted.set(true);
            return Outcome::Halted;
        }
        // "In progress" means the host's own turn began: a step before the
        // roll that ran on every host (a backup) does not count.
        if !batch.is_empty() || self.plan.rolling().is_none() {
            let mut touched = self.touched.borrow_mut();
            if !touched.contains(&step.host) {
                touched.push(step.host.clone());
            }
        }
        if let Some(res) = &self.o.resume
            && res
                .finished
                .contains(&crate::plan::step_key(&step.host, task.id.as_str()))
        {
            (self.emit)(Event::StepFinished {
                host: step.host.clone(),
                task: task.id.to_string(),
                status: StepStatus::DoneBefore,
                ms: 0,
                message: None,
                help: None,
                exit_code: None,
                tail: Vec::new(),
                log: None,
            });
            return Outcome::Ok;
        }
        if step.action.is_none() {
            (self.emit)(Event::StepFinished {
                host: step.host.clone(),
                task: task.id.to_string(),
                status: StepStatus::Skipped,
                ms: 0,
                message: step.skip.clone(),
                help: None,
                exit_code: None,
                tail: Vec::new(),
                log: None,
            });
            return Outcome::Ok;
        }
        let (status, e) = match self.attempts(task, step, batch, keep_going).await {
            Ok(()) => (StepStatus::Ok, None),
            Err(e) => (StepStatus::Failed, Some(e)),
        };
        if status == StepStatus::Ok && e.is_none() {
            Outcome::Ok
        } else {
            Outcome::Failed
        }
    }

    /// Runs a step's action with its retries, emitting its start and end;
    /// no halt or resume check (recovery runs steps through here directly).
    /// `out_of_service`: the node is down and this step brings it back (or
    /// confirms it): it runs even when the checkpoint cannot be written, as
    /// a halt does not leave a node down for want of a record.
    pub(super) async fn attempts(
        &self,
        task: &TaskInfo,
        step: &Step,
        batch: &[String],
        out_of_service: bool,
    ) -> Result<(), StepError> {
        let host = self.host(&step.host);
        let Some(action) = &step.action else {
            return Ok(());
        };
        let attempts = task.retries.saturating_add(1);
        let changes = !task.kind.reads_only();
        let mut last: Option<StepError> = None;
        let t0 = Instant::now();
        let mut log = Vec::new();
        for attempt in 1..=attempts {
            (self.emit)(Event::StepStarted {
                host: step.host.clone(),
                task: task.id.to_string(),
                kind: task.kind.to_string(),
                attempt,
                attempts,
            });
            if changes
                && let Err(e) = self.durable.durable().await
                && !out_of_service
            {
                // Not on disk, it would not be resumed right: not started.
                last = Some(
                    StepError::new(format!("{e}; the step was not started"))
                        .help("free space or fix the state directory's permissions, then resume"),
                );
                break;
            }
            let x = Exec {
                transport: self.t,
                host,
                hosts: &self.plan.hosts,
                batch,
                task: task.id.as_str(),
                timeout: task.timeout.0,
                r#become: step.r#become,
                started: Instant::now(),
                verbose: self.o.verbose,
                emit: self.emit,
                log: RefCell::new(Vec::new()),
                facts: &self.facts,
            };
            let result = action.execute(&x).await;
            log.extend(x.log.into_inner());
            match result {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => {
                    last = Some(e);
                    if attempt < attempts {
                        tokio::time::sleep(task.delay.0).await;
                    }
                }
            }
        }
        let log_path = self.write_log(&step.host, task.id.as_str(), &log);
        let ms = t0.elapsed().as_millis() as u64;
        let message = last.as_ref().map(|e| {
            if attempts > 1 {
                format!("{} (after {attempts} attempts)", e.message)
            } else {
                e.message.clone()
            }
        });
        let (help, exit_code, tail) = match &last {
            Some(e) => (e.help.clone(), e.exit_code, e.tail.clone()),
            None => (None, None, Vec::new()),
        };
        (self.emit)(Event::StepFinished {
            host: step.host.clone(),
            task: task.id.to_string(),
            status: if last.is_none() {
                StepStatus::Ok
            } else {
                StepStatus::Failed
            },
            ms,
            message,
            help,
            exit_code,
            tail,
            log: log_path,
        });
        // Every step's end is on disk before the run goes on (one write for
        // all hosts waiting meanwhile), so a run killed at any moment makes
        // progress on resume. Whoever keeps the checkpoint halts the run
        // when it cannot write; the step's own outcome stands.
        let _ = self.durable.durable().await;
        match last {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    fn write_log(&self, host: &str, task: &str, bytes: &[u8]) -> Option<String> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        // Logs hold remote output: only the user running zkrun reads them.
        let dir = self.o.log_dir.join(host);
        let path = dir.join(format!("{task}.log"));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .ok()?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc_nofollow())
            .open(&path)
            .ok()?;
        f.write_all(&crate::scrub::bytes(bytes)).ok()?;
        Some(path.display().to_string())
    }
}

/// How a step ended, for the host's turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Succeeded, was skipped, or was done by an earlier run.
    Ok,
    Failed,
    /// Not started: the run was asked to stop.
    Halted,
}

/// `O_NOFOLLOW`: a log path that is a symlink is not written through.
fn libc_nofollow() -> i32 {
    0o400000
}
