//! Executes a plan: connects to every host first, runs the stages in order,
//! the rolling part batch by batch, and stops touching hosts once more have
//! failed than the playbook allows. It reports through events and never
//! prints.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use crate::event::{Event, HostStatus, RunStatus, StepStatus, Summary};
use crate::host::PlanHost;
use crate::host::exec::{Exec, StepError};
pub use crate::host::policy::Policy;
use crate::host::transport::Transport;
use crate::plan::{Plan, Stage, Step, TaskInfo};
use crate::tasks::Effect;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Hosts worked on at once outside the rolling part (and connections opened at once).
    pub forks: usize,
    /// `<log_dir>/<host>/<task>.log` gets each step's full output.
    pub log_dir: PathBuf,
    /// Send remote output as events.
    pub verbose: bool,
    /// Set to stop before the next step (first Ctrl-C, or a checkpoint that
    /// could not be written): the current step finishes, no new one starts.
    pub halt: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// From the checkpoint of an interrupted run: steps (`host/task`) not to
    /// repeat, and the rolling order decided then.
    pub resume: Option<Resume>,
    /// Bring a node back into service when a step fails while it is out
    /// (on by default; `--no-recover` leaves it as it is, for debugging).
    pub recover: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Resume {
    pub finished: std::collections::HashSet<String>,
    pub order: Vec<String>,
    /// Facts recorded before (`host/name` → value), for steps that compare
    /// with them (verify with the leader's zxid before the stop).
    pub facts: std::collections::HashMap<String, String>,
}

/// Runs the plan and returns what happened to each host.
pub async fn run<T: Transport, P: Policy>(
    plan: &Plan,
    t: &T,
    policy: &P,
    o: &RunOptions,
    emit: &dyn Fn(Event),
) -> Summary {
    let started = Instant::now();
    let names: Vec<String> = plan.targets.clone();
    emit(Event::RunStarted {
        run_id: plan.run_id.clone(),
        playbook: plan.name.clone(),
        hosts: names.clone(),
        log_dir: o.log_dir.display().to_string(),
    });
    let mut r = Runner {
        plan,
        t,
        policy,
        o,
        emit,
        failed: Vec::new(),
        done: Vec::new(),
        touched: RefCell::new(Vec::new()),
        interrupted: std::cell::Cell::new(false),
        recovered: RefCell::new(Vec::new()),
        left_down: RefCell::new(Vec::new()),
        facts: RefCell::new(
            o.resume
                .as_ref()
                .map(|r| r.facts.clone())
                .unwrap_or_default(),
        ),
    };
    let ok = r.connect_all().await && {
        if o.resume.is_some() {
            // Never trust "done" alone: show what the ensemble looks like
            // now, before anything continues (the gates judge it per host).
            r.record_ensemble("resume").await;
        }
        r.inspect_all().await && r.stages().await
    };
    t.close().await;
    let failed = r.failed.clone();
    let mut done: Vec<String> = names
        .iter()
        .filter(|h| r.done.contains(h))
        .cloned()
        .collect();
    if ok && plan.rolling().is_none() {
        done = names
            .iter()
            .filter(|h| !failed.contains(h))
            .cloned()
            .collect();
    }
    let touched = r.touched.borrow().clone();
    let rest = |h: &&String| !done.contains(h) && !failed.contains(h);
    let in_progress: Vec<String> = names
        .iter()
        .filter(rest)
        .filter(|h| touched.contains(h))
        .cloned()
        .collect();
    let not_started: Vec<String> = names
        .iter()
        .filter(rest)
        .filter(|h| !touched.contains(h))
        .cloned()
        .collect();
    let status = if r.interrupted.get() {
        RunStatus::Interrupted
    } else if ok && failed.is_empty() {
        RunStatus::Ok
    } else {
        RunStatus::Failed
    };
    let summary = Summary {
        status,
        done,
        failed,
        not_started,
        in_progress,
        recovered: r.recovered.borrow().clone(),
        left_down: r.left_down.borrow().clone(),
        ms: started.elapsed().as_millis() as u64,
    };
    emit(Event::RunFinished(summary.clone()));
    summary
}

struct Runner<'a, T: Transport, P: Policy> {
    plan: &'a Plan,
    t: &'a T,
    policy: &'a P,
    o: &'a RunOptions,
    emit: &'a dyn Fn(Event),
    failed: Vec<String>,
    /// Hosts whose rolling steps all succeeded.
    done: Vec<String>,
    /// Hosts on which at least one step ran (now or in an earlier run).
    touched: RefCell<Vec<String>>,
    interrupted: std::cell::Cell<bool>,
    /// Hosts brought back into service after a failure, and hosts left out.
    recovered: RefCell<Vec<String>>,
    left_down: RefCell<Vec<String>>,
    /// `host/name` → what steps recorded, for later steps of the same host.
    facts: RefCell<std::collections::HashMap<String, String>>,
}

impl<T: Transport, P: Policy> Runner<'_, T, P> {
    fn host(&self, name: &str) -> &PlanHost {
        self.plan
            .hosts
            .iter()
            .find(|h| h.name == name)
            .expect("steps name plan hosts")
    }

    /// Every host is reached before anything runs: a roll that cannot reach
    /// its last host should not start on its first.
    async fn connect_all(&mut self) -> bool {
        let this = &*self;
        let results: Vec<(String, Result<u64, crate::host::transport::TransportError>)> =
            stream::iter(self.plan.hosts.iter())
                .map(|h| async move {
                    let t0 = Instant::now();
                    let r = this.t.connect(h).await;
                    (h.name.clone(), r.map(|()| t0.elapsed().as_millis() as u64))
                })
                .buffer_unordered(self.o.forks.max(1))
                .collect()
                .await;
        let mut ok = true;
        for (host, r) in results {
            match r {
                Ok(ms) => (self.emit)(Event::Connected { host, ms }),
                Err(e) => {
                    ok = false;
                    let (error, help) = e.explain();
                    (self.emit)(Event::ConnectFailed {
                        host,
                        error,
                        help: format!("{help}; nothing was run on any host"),
                    });
                }
            }
        }
        ok
    }

    /// Every step still to run gets a read-only look at its host first;
    /// one that would fail part-way stops the run before anything runs.
    async fn inspect_all(&self) -> bool {
        let finished = |task: &TaskInfo, step: &Step| {
            self.o.resume.as_ref().is_some_and(|res| {
                res.finished
                    .contains(&crate::plan::step_key(&step.host, task.id.as_str()))
            })
        };
        let mut ok = true;
        for i in inspect(self.plan, self.t, self.o.forks, finished).await {
            if let Some(e) = i.found.problem {
                ok = false;
                (self.emit)(Event::Refused {
                    host: i.host,
                    task: i.task,
                    message: e.message,
                    help: e.help,
                });
            }
        }
        ok
    }

    async fn stages(&mut self) -> bool {
        let plan = self.plan;
        for stage in &plan.stages {
            let ok = match stage {
                Stage::Once { task, step } => {
                    (self.emit)(Event::StageStarted {
                        name: format!("{} (once)", task.id),
                    });
                    let ok = self.step(task, step, &[], false).await == Outcome::Ok;
                    if !ok && !self.interrupted.get() {
                        self.failed.push(step.host.clone());
                    }
                    ok
                }
                Stage::Parallel { task, steps } => {
                    (self.emit)(Event::StageStarted {
                        name: format!("{} (parallel)", task.id),
                    });
                    let this = &*self;
                    let results: Vec<(String, bool)> = stream::iter(steps.iter())
                        .map(|s| async move {
                            (
                                s.host.clone(),
                                this.step(task, s, &[], false).await == Outcome::Ok,
                            )
                        })
                        .buffer_unordered(self.o.forks.max(1))
                        .collect()
                        .await;
                    let failed: Vec<String> = results
                        .into_iter()
                        .filter(|(_, ok)| !ok)
                        .map(|(h, _)| h)
                        .collect();
                    let ok = failed.is_empty();
                    if !self.interrupted.get() {
                        self.failed.extend(failed);
                    }
                    ok
                }
                Stage::Rolling(r) => self.rolling(r).await,
            };
            if !ok {
                return false;
            }
        }
        true
    }

    async fn rolling(&mut self, r: &crate::plan::Rolling) -> bool {
        (self.emit)(Event::StageStarted {
            name: "rolling".into(),
        });
        let mut failures = 0u32;
        let total = r.batches.len();
        let serial = r.serial.max(1) as usize;
        // A resumed run keeps the order decided before: the host left
        // part-way comes first, hosts already done are passed over.
        let mut pending: Vec<String> = match &self.o.resume {
            Some(res) if !res.order.is_empty() => res
                .order
                .iter()
                .filter(|h| r.hosts.contains(h))
                .cloned()
                .collect(),
            _ => r.hosts.clone(),
        };
        if let Some(res) = &self.o.resume {
            let all_done = |h: &String| {
                r.tasks.iter().all(|t| {
                    res.finished
                        .contains(&crate::plan::step_key(h, t.id.as_str()))
                })
            };
            let (finished, left): (Vec<String>, Vec<String>) =
                pending.into_iter().partition(|h| all_done(h));
            self.done.extend(finished);
            pending = left;
        }
        // Batches keep their numbers across a resume.
        let mut index = (r.hosts.len() - pending.len()).div_ceil(serial);
        while !pending.is_empty() {
            index += 1;
            let take = serial.min(pending.len());
            if r.leader_last {
                // Re-decided before every batch: leadership moves when
                // nodes restart, and whoever leads now goes last.
                let last = self.policy.goes_last(&self.probe_exec()).await;
                let deferred = last
                    .as_deref()
                    .is_some_and(|h| crate::plan::defer(&mut pending, take, h));
                (self.emit)(Event::Leader {
                    host: last,
                    deferred,
                });
            }
            let batch: Vec<String> = pending.drain(..take).collect();
            (self.emit)(Event::BatchStarted {
                index,
                total: total.max(index),
                hosts: batch.clone(),
            });
            let this = &*self;
            let batch_ref = &batch;
            let results: Vec<(String, bool)> =
                futures_util::future::join_all(batch.iter().map(|h| async move {
                    let ok = this.host_turn(r, h, batch_ref).await;
                    (this.emit)(Event::HostFinished {
                        host: h.clone(),
                        status: if ok {
                            HostStatus::Ok
                        } else {
                            HostStatus::Failed
                        },
                    });
                    (h.clone(), ok)
                }))
                .await;
            if self.interrupted.get() {
                // Stopped between steps: hosts part-way are neither done nor failed.
                self.done
                    .extend(results.into_iter().filter(|(_, ok)| *ok).map(|(h, _)| h));
                return false;
            }
            for (h, ok) in results {
                if ok {
                    self.done.push(h);
                } else {
                    failures += 1;
                    self.failed.push(h);
                }
            }
            if failures > r.max_failures {
                return false;
            }
        }
        failures == 0
    }

    /// One host's rolling steps, in order. From the moment a step takes
    /// the node out of service until a step puts it back, a failure does
    /// not leave it down: the host's own bring-back steps run (unless
    /// `--no-recover`), and a halt request waits until the node is back.
    async fn host_turn(&self, r: &crate::plan::Rolling, h: &str, batch: &[String]) -> bool {
        let steps = &r.steps[h];
        let effect = |s: &Step| s.action.as_ref().map_or(Effect::None, |a| a.effect());
        // The node is back once the last step confirming it is (or, with
        // none, once it was started): a JVM that dies after its start is
        // still out of service.
        let back_at = steps
            .iter()
            .rposition(|s| effect(s) == Effect::Confirms)
            .or_else(|| steps.iter().rposition(|s| effect(s) == Effect::BringsBack));
        let mut out = false;
        for (i, (task, step)) in r.tasks.iter().zip(steps).enumerate() {
            // A halt between steps must not strand a stopped node: while it
            // is out, the turn goes on until the node is back.
            let was_out = out;
            if effect(step) == Effect::TakesOut {
                out = true;
            }
            match self.step(task, step, batch, was_out).await {
                Outcome::Ok => {
                    if Some(i) == back_at {
                        out = false;
                    }
                }
                Outcome::Halted => return false,
                Outcome::Failed => {
                    if out {
                        self.recover(r, h, task, batch).await;
                    }
                    return false;
                }
            }
        }
        true
    }

    /// Brings a node back after a failure left it out of service: its
    /// planned bring-back and confirming steps, run again regardless of a
    /// halt or an earlier run. On success the checkpoint forgets the
    /// host's turn (a resume starts it over from its gate); on failure the
    /// node is named as down, loudly.
    async fn recover(
        &self,
        r: &crate::plan::Rolling,
        h: &str,
        failed: &TaskInfo,
        batch: &[String],
    ) {
        let back: Vec<(&TaskInfo, &Step)> = r
            .tasks
            .iter()
            .zip(&r.steps[h])
            .filter(|(_, s)| {
                s.action
                    .as_ref()
                    .is_some_and(|a| matches!(a.effect(), Effect::BringsBack | Effect::Confirms))
            })
            .collect();
        // Whatever happens next, the host's turn starts over on a resume:
        // its stop is no longer "done" once the node may have been started
        // (here or by hand), so no step of the turn runs on a node in an
        // unknown state. Every step of a turn checks before it acts.
        let reset: Vec<String> = r.tasks.iter().map(|t| t.id.to_string()).collect();
        if !self.o.recover || back.is_empty() {
            self.left_down.borrow_mut().push(h.to_string());
            (self.emit)(Event::RecoveryFinished {
                host: h.to_string(),
                ok: false,
                ms: 0,
                message: if self.o.recover {
                    "the playbook has no step that brings this node back".into()
                } else {
                    "--no-recover: left as it is".into()
                },
                tail: Vec::new(),
                reset,
            });
            return;
        }
        (self.emit)(Event::RecoveryStarted {
            host: h.to_string(),
            after: failed.id.to_string(),
            steps: back.iter().map(|(t, _)| t.id.to_string()).collect(),
        });
        let t0 = Instant::now();
        let mut result = Ok(());
        for (task, step) in &back {
            if let Err(e) = self.attempts(task, step, batch).await {
                result = Err(e);
                break;
            }
        }
        let ms = t0.elapsed().as_millis() as u64;
        match &result {
            Ok(()) => self.recovered.borrow_mut().push(h.to_string()),
            Err(_) => self.left_down.borrow_mut().push(h.to_string()),
        }
        let event = match result {
            Ok(()) => Event::RecoveryFinished {
                host: h.to_string(),
                ok: true,
                ms,
                message: format!("back in service after `{}` failed", failed.id),
                tail: Vec::new(),
                reset,
            },
            Err(e) => Event::RecoveryFinished {
                host: h.to_string(),
                ok: false,
                ms,
                message: e.message,
                tail: e.tail,
                reset,
            },
        };
        (self.emit)(event);
    }

    async fn record_ensemble(&self, when: &str) {
        let value = self.policy.look(&self.probe_exec()).await;
        (self.emit)(Event::Fact {
            host: "*".into(),
            task: when.into(),
            name: crate::tasks::fact::Fact::Ensemble.as_str().into(),
            value,
        });
    }

    /// An execution context for read-only probes outside any step.
    fn probe_exec(&self) -> Exec<'_, T> {
        Exec::read_only(
            self.t,
            &self.plan.hosts[0],
            &self.plan.hosts,
            "live look",
            Duration::from_secs(10),
            &self.facts,
        )
    }

    /// One step with its retries; true when it succeeded or was skipped.
    /// `batch`: the hosts out of service with this one (rolling steps).
    /// `keep_going`: the node is out of service, so a halt request waits.
    async fn step(
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
        let (status, e) = match self.attempts(task, step, batch).await {
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
    async fn attempts(
        &self,
        task: &TaskInfo,
        step: &Step,
        batch: &[String],
    ) -> Result<(), StepError> {
        let host = self.host(&step.host);
        let Some(action) = &step.action else {
            return Ok(());
        };
        let attempts = task.retries.saturating_add(1);
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
        match last {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    fn write_log(&self, host: &str, task: &str, bytes: &[u8]) -> Option<String> {
        let dir = self.o.log_dir.join(host);
        let path = dir.join(format!("{task}.log"));
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::write(&path, bytes).ok()?;
        Some(path.display().to_string())
    }
}

/// How a step ended, for the host's turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Succeeded, was skipped, or was done by an earlier run.
    Ok,
    Failed,
    /// Not started: the run was asked to stop.
    Halted,
}

/// What the read-only look before a run found for one step.
pub struct Inspected {
    pub host: String,
    pub task: String,
    pub found: crate::tasks::Inspection,
}

/// Looks at the host of every planned step that has an action and that
/// `skip` does not name, `forks` at a time; results in plan order. Used
/// before a run (to refuse it) and by the dry-run (to show what it found).
pub async fn inspect<T: Transport>(
    plan: &Plan,
    t: &T,
    forks: usize,
    skip: impl Fn(&TaskInfo, &Step) -> bool,
) -> Vec<Inspected> {
    let facts = RefCell::new(Default::default());
    let facts = &facts;
    let steps = plan
        .steps()
        .into_iter()
        .filter(|(task, step)| step.action.is_some() && !skip(task, step))
        .enumerate();
    let mut found: Vec<(usize, Inspected)> = stream::iter(steps)
        .map(|(i, (task, step))| async move {
            let host = plan
                .hosts
                .iter()
                .find(|h| h.name == step.host)
                .expect("steps name plan hosts");
            let x = Exec {
                r#become: step.r#become,
                ..Exec::read_only(
                    t,
                    host,
                    &plan.hosts,
                    task.id.as_str(),
                    Duration::from_secs(30),
                    facts,
                )
            };
            let action = step.action.as_ref().expect("filtered");
            let found = action.inspect(&x).await;
            (
                i,
                Inspected {
                    host: step.host.clone(),
                    task: task.id.to_string(),
                    found,
                },
            )
        })
        .buffer_unordered(forks.max(1))
        .collect()
        .await;
    found.sort_by_key(|(i, _)| *i);
    found.into_iter().map(|(_, i)| i).collect()
}

/// Default timeout for opening a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
