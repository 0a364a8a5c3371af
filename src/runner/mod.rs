//! Executes a plan: connects to every host first, runs the stages in order,
//! the rolling part batch by batch, and stops touching hosts once more have
//! failed than the playbook allows. It reports through events and never
//! prints.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use crate::event::{Event, RunStatus, Summary};
use crate::host::PlanHost;
use crate::host::exec::Exec;
pub use crate::host::policy::Policy;

mod inspect;
mod rolling;
mod step;

use crate::host::transport::Transport;
use crate::plan::{Plan, Stage, Step, TaskInfo};
pub use inspect::{Inspected, inspect};
use step::Outcome;

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

/// Whoever keeps the checkpoint: makes everything emitted so far durable
/// (its journal written and synced); an error says why it could not.
pub trait Durable {
    fn durable(&self) -> futures_util::future::LocalBoxFuture<'_, Result<(), String>>;
}

/// No checkpoint (tests, previews): nothing to wait for.
impl Durable for () {
    fn durable(&self) -> futures_util::future::LocalBoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Does the runner, having emitted `e`, wait for `durable` before it goes
/// on? (A changing step's start, the end of a step that ran, a leader
/// moved last, a recovered host's turn started over.) Whoever keeps the
/// checkpoint shows such an event only once it is on disk.
pub fn waits_for_disk(e: &Event) -> bool {
    match e {
        Event::StepStarted { kind, .. } => {
            !crate::tasks::Kind::parse(kind).is_some_and(crate::tasks::Kind::reads_only)
        }
        Event::StepFinished { status, .. } => {
            matches!(
                status,
                crate::event::StepStatus::Ok | crate::event::StepStatus::Failed
            )
        }
        Event::Leader { deferred: true, .. } => true,
        Event::RecoveryFinished { reset, .. } => !reset.is_empty(),
        _ => false,
    }
}

/// Runs the plan and returns what happened to each host. A step that
/// changes a host starts only once `durable` says what was emitted before
/// it is on disk; a step that only looks (status, verify) does not wait to
/// start. Every step's end is on disk before its host goes on. A SIGKILL
/// thus never loses the record of a change that began, or of any step
/// that ended; only a look that was running is run again on resume.
pub async fn run<T: Transport, P: Policy>(
    plan: &Plan,
    t: &T,
    policy: &P,
    o: &RunOptions,
    emit: &dyn Fn(Event),
    durable: &dyn Durable,
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
        durable,
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
    durable: &'a dyn Durable,
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
        let mut skip = 0;
        for (n, stage) in plan.stages.iter().enumerate() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
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
                Stage::Parallel { task, .. } => {
                    // Consecutive parallel tasks run as one block: each host
                    // goes through its own steps at its own pace, without
                    // waiting for the others after every task (no step of
                    // one host depends on another's). A host that fails
                    // stops its own steps; the others finish the block;
                    // then the run stops, as after any failed stage.
                    let block: Vec<(&TaskInfo, &Vec<Step>)> = plan.stages[n..]
                        .iter()
                        .map_while(|s| match s {
                            Stage::Parallel { task, steps } => Some((task, steps)),
                            _ => None,
                        })
                        .collect();
                    skip = block.len() - 1;
                    let name = match block.len() {
                        1 => format!("{} (parallel)", task.id),
                        k => format!(
                            "{} … {} ({k} parallel tasks, each host at its own pace)",
                            task.id,
                            block[k - 1].0.id
                        ),
                    };
                    (self.emit)(Event::StageStarted { name });
                    let mut hosts: Vec<&str> = Vec::new();
                    for (_, steps) in &block {
                        for s in steps.iter() {
                            if !hosts.contains(&s.host.as_str()) {
                                hosts.push(&s.host);
                            }
                        }
                    }
                    let this = &*self;
                    let block = &block;
                    let results: Vec<(String, bool)> = stream::iter(hosts)
                        .map(|host| async move {
                            for (task, steps) in block {
                                let Some(s) = steps.iter().find(|s| s.host == host) else {
                                    continue;
                                };
                                if this.step(task, s, &[], false).await != Outcome::Ok {
                                    return (host.to_string(), false);
                                }
                            }
                            (host.to_string(), true)
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
}

/// Default timeout for opening a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
