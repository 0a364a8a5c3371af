//! The state of a run on disk, so a run killed at any moment can resume
//! where it stopped: which step of which host is pending, running, done or
//! failed, and what was decided live (the rolling order).
//!
//! One state file per (playbook, inventory), written whole when a run
//! starts and ends: a temporary file in the same directory, fsync, rename,
//! fsync of the directory. A crash at any point leaves the old file or the
//! new one, never a mix. In between, every change is appended to a journal
//! beside it (`<state>.journal`, one JSON line per change) and made durable
//! with one fdatasync for all changes since the last (group commit);
//! reading the state replays the journal. Mode 0600; no secrets (only ids,
//! hosts, times and facts, scrubbed).
//!
//! A run holds an exclusive lock (flock on `<state>.lock`), so a second zkrun
//! against the same state is refused and told who holds it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::{Event, RunStatus, StepStatus};

/// Bumped on incompatible changes; a newer file is refused, not guessed at.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    pub zkrun: String,
    pub run_id: String,
    pub fingerprint: String,
    /// The key of the fingerprint's HMAC: this run's own, random. Empty in
    /// states written before it existed (their fingerprint is a sha256).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint_key: String,
    pub playbook: String,
    pub inventory: String,
    /// Unix seconds.
    pub started: u64,
    pub updated: u64,
    pub finished: bool,
    /// The rolling order as decided so far (the leader may have moved last).
    pub order: Vec<String>,
    /// `host/task` → state.
    pub steps: BTreeMap<String, StepRecord>,
    /// Decisions taken live, in order, for the record.
    pub decisions: Vec<String>,
    /// `host/task` → a digest of that step as planned (shown values only):
    /// says *what* changed when a resumed plan differs.
    #[serde(default)]
    pub planned: BTreeMap<String, String>,
    /// `host/task/name` → what a step recorded (leader zxid before a stop,
    /// backup manifests).
    #[serde(default)]
    pub facts: BTreeMap<String, String>,
    /// The sequence number of the last change applied: the journal's
    /// entries up to it are in this file already.
    #[serde(default)]
    pub seq: u64,
}

/// One change to the state, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A step's phase (`host/task`).
    Step {
        key: String,
        phase: Phase,
    },
    /// A step forgotten: a recovered host's turn starts over.
    Forget {
        key: String,
    },
    /// The rolling order, whole, as decided now.
    Order {
        order: Vec<String>,
    },
    Decision {
        text: String,
    },
    /// `host/task/name` → value.
    Fact {
        key: String,
        value: String,
    },
    Finished {
        finished: bool,
    },
}

/// A change with its place in the run: sequence number and Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub at: u64,
    #[serde(flatten)]
    pub change: Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Running,
    Done,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub phase: Phase,
    pub at: u64,
}

pub use crate::clock::now;

/// The fact (`host/recovery/left_down`) a failed recovery leaves: the node
/// is down, whatever the forgotten steps said.
const LEFT_DOWN: &str = "recovery/left_down";

pub use crate::plan::step_key as key;

mod diff;
mod journal;
mod lock;
mod store;

pub use diff::{describe_changes, step_digests};
pub use journal::Journal;
pub use lock::Lock;
pub use store::{archive, default_path, load, save};

impl State {
    pub fn new(plan: &crate::plan::Plan) -> State {
        State {
            format: FORMAT,
            zkrun: env!("CARGO_PKG_VERSION").to_string(),
            run_id: plan.run_id.clone(),
            fingerprint: plan.fingerprint.clone(),
            fingerprint_key: plan.fingerprint_key.clone(),
            playbook: plan.playbook.clone(),
            inventory: plan.inventory.clone(),
            started: now(),
            updated: now(),
            finished: false,
            order: plan.rolling().map(|r| r.hosts.clone()).unwrap_or_default(),
            steps: BTreeMap::new(),
            decisions: Vec::new(),
            planned: step_digests(plan),
            facts: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Records an event: the changes it makes, applied, each with its
    /// sequence number (empty when the event changes nothing).
    pub fn record(&mut self, e: &Event) -> Vec<Entry> {
        let at = now();
        let changes = match e {
            Event::StepStarted { host, task, .. } => vec![Change::Step {
                key: key(host, task),
                phase: Phase::Running,
            }],
            Event::StepFinished {
                host, task, status, ..
            } => {
                let phase = match status {
                    StepStatus::Ok | StepStatus::DoneBefore => Phase::Done,
                    StepStatus::Skipped => Phase::Skipped,
                    StepStatus::Failed => Phase::Failed,
                };
                vec![Change::Step {
                    key: key(host, task),
                    phase,
                }]
            }
            Event::Leader {
                host: Some(h),
                deferred: true,
            } => {
                let mut order = self.order.clone();
                let before_last = order.len().saturating_sub(1);
                crate::plan::defer(&mut order, before_last, h);
                vec![
                    Change::Order { order },
                    Change::Decision {
                        text: format!("leader {h} moved last"),
                    },
                ]
            }
            Event::Fact {
                host,
                task,
                name,
                value,
            } => vec![Change::Fact {
                key: format!("{host}/{task}/{name}"),
                value: value.clone(),
            }],
            Event::RecoveryFinished {
                host,
                reset,
                ok,
                message,
                ..
            } if !reset.is_empty() => reset
                .iter()
                .map(|task| Change::Forget {
                    key: key(host, task),
                })
                .chain(if *ok {
                    vec![Change::Decision {
                        text: format!("{host} brought back after a failure: its turn starts over"),
                    }]
                } else {
                    // Kept so that whoever reads the state later (a second
                    // Ctrl-C, --show-state) still knows the node is down.
                    vec![
                        Change::Decision {
                            text: format!(
                                "{host} LEFT OUT OF SERVICE after a failure ({message}): its turn starts over"
                            ),
                        },
                        Change::Fact {
                            key: format!("{host}/{LEFT_DOWN}"),
                            value: message.clone(),
                        },
                    ]
                })
                .collect(),
            // A run that ran nothing (a host unreachable, a step refused by
            // the look before the run) leaves nothing to resume.
            Event::RunFinished(s) => vec![Change::Finished {
                finished: s.status == RunStatus::Ok || self.steps.is_empty(),
            }],
            _ => Vec::new(),
        };
        changes
            .into_iter()
            .map(|change| {
                let entry = Entry {
                    seq: self.seq + 1,
                    at,
                    change,
                };
                self.apply(&entry);
                entry
            })
            .collect()
    }

    /// Applies one change; one already applied (its sequence number is not
    /// past the state's) is left out, so a journal replays exactly once.
    pub fn apply(&mut self, e: &Entry) {
        if e.seq <= self.seq {
            return;
        }
        match &e.change {
            Change::Step { key, phase } => {
                self.steps.insert(
                    key.clone(),
                    StepRecord {
                        phase: *phase,
                        at: e.at,
                    },
                );
            }
            Change::Forget { key } => {
                self.steps.remove(key);
            }
            Change::Order { order } => self.order = order.clone(),
            Change::Decision { text } => self.decisions.push(text.clone()),
            Change::Fact { key, value } => {
                self.facts.insert(key.clone(), value.clone());
            }
            Change::Finished { finished } => self.finished = *finished,
        }
        self.seq = e.seq;
        self.updated = e.at;
    }

    /// Steps finished earlier (done or skipped): a resumed run does not repeat them.
    pub fn finished_steps(&self) -> std::collections::HashSet<String> {
        self.steps
            .iter()
            .filter(|(_, r)| matches!(r.phase, Phase::Done | Phase::Skipped))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Facts keyed `host/name`, as steps look them up.
    pub fn host_facts(&self) -> std::collections::HashMap<String, String> {
        self.facts
            .iter()
            .filter_map(|(k, v)| {
                let mut parts = k.splitn(3, '/');
                let (host, _task, name) = (parts.next()?, parts.next()?, parts.next()?);
                Some((format!("{host}/{name}"), v.clone()))
            })
            .collect()
    }

    /// Hosts whose node this run may have left out of service, by the
    /// runner's own rule: a step that takes it out began (whatever became
    /// of it), and the step that puts it back for good (its last verify,
    /// or its last start when it has none) has not passed since; or a
    /// recovery failed and its turn has not passed since. In the plan's
    /// host order.
    pub fn maybe_out_of_service(&self, plan: &crate::plan::Plan) -> Vec<String> {
        use crate::tasks::Effect;
        let Some(r) = plan.rolling() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for h in &r.hosts {
            let steps = &r.steps[h];
            let back_at = crate::plan::back_at(steps);
            let phase = |i: usize| {
                self.steps
                    .get(&key(h, r.tasks[i].id.as_str()))
                    .map(|s| s.phase)
            };
            let mut is_out = self.facts.contains_key(&format!("{h}/{LEFT_DOWN}"));
            for (i, step) in steps.iter().enumerate() {
                if step.effect() == Effect::TakesOut && phase(i).is_some() {
                    is_out = true;
                }
                if Some(i) == back_at && matches!(phase(i), Some(Phase::Done | Phase::Skipped)) {
                    is_out = false;
                }
            }
            if is_out {
                out.push(h.clone());
            }
        }
        out
    }

    /// Per host of the rolling order: its steps finished (done or skipped)
    /// and planned, from the steps the run planned (`planned`). Steps that
    /// run once for the play (a preflight, a final check) are left out: they
    /// are the play's, not the host they ran on.
    pub fn host_progress(&self) -> Vec<(String, usize, usize)> {
        let tasks_of = |h: &str| -> std::collections::BTreeSet<&str> {
            let prefix = format!("{h}/");
            self.planned
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .collect()
        };
        let mut common: Option<std::collections::BTreeSet<&str>> = None;
        for h in &self.order {
            let mine = tasks_of(h);
            common = Some(match common {
                None => mine,
                Some(c) => c.intersection(&mine).copied().collect(),
            });
        }
        let common = common.unwrap_or_default();
        self.order
            .iter()
            .map(|h| {
                let finished = common
                    .iter()
                    .filter(|t| {
                        self.steps
                            .get(&key(h, t))
                            .is_some_and(|r| matches!(r.phase, Phase::Done | Phase::Skipped))
                    })
                    .count();
                (h.clone(), finished, common.len())
            })
            .collect()
    }

    /// `zk1 done, zk3 done, zk2 2/6 steps, zk4 0/6 steps`: the hosts in the
    /// rolling order as decided so far.
    pub fn progress_line(&self) -> String {
        self.host_progress()
            .into_iter()
            .map(|(h, done, all)| {
                if done == all && all > 0 {
                    format!("{h} done")
                } else {
                    format!("{h} {done}/{all} steps")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |p: Phase| self.steps.values().filter(|r| r.phase == p).count();
        (
            count(Phase::Done) + count(Phase::Skipped),
            count(Phase::Running),
            count(Phase::Failed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn state() -> State {
        State {
            format: FORMAT,
            zkrun: "0".into(),
            run_id: "r".into(),
            fingerprint: "sha256:x".into(),
            fingerprint_key: String::new(),
            playbook: "p".into(),
            inventory: "i".into(),
            started: 1,
            updated: 1,
            finished: false,
            order: vec!["zk1".into(), "zk2".into(), "zk3".into()],
            steps: BTreeMap::new(),
            decisions: Vec::new(),
            planned: BTreeMap::new(),
            facts: BTreeMap::new(),
            seq: 0,
        }
    }

    #[test]
    fn a_failed_run_is_resumable_unless_nothing_ran() {
        let finished = |s: &mut State| {
            s.record(&Event::RunFinished(crate::event::Summary {
                status: RunStatus::Failed,
                done: vec![],
                failed: vec![],
                not_started: vec!["zk1".into()],
                in_progress: vec![],
                recovered: vec![],
                left_down: vec![],
                ms: 1,
            }));
            s.finished
        };
        // Refused before the run (no room for a backup): nothing to resume.
        assert!(finished(&mut state()));
        let mut s = state();
        s.steps.insert(
            key("zk1", "stop"),
            StepRecord {
                phase: Phase::Failed,
                at: 2,
            },
        );
        assert!(!finished(&mut s));
    }

    #[test]
    fn saves_atomically_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let mut s = state();
        s.steps.insert(
            key("zk1", "stop"),
            StepRecord {
                phase: Phase::Done,
                at: 2,
            },
        );
        save(&p, &s).unwrap();
        assert_eq!(load(&p).unwrap(), Some(s));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!dir.path().join(".s.json.tmp").exists());
    }

    #[test]
    fn a_crash_between_any_two_syscalls_leaves_a_whole_file() {
        // Simulate each crash point of save(): the temp file half-written,
        // written but not renamed. The state file is the old one throughout.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let old = state();
        save(&p, &old).unwrap();
        let tmp = dir.path().join(".s.json.tmp");
        let mut new = state();
        new.run_id = "new".into();
        let bytes = serde_json::to_vec_pretty(&new).unwrap();
        for cut in [0, 1, bytes.len() / 2, bytes.len()] {
            fs::write(&tmp, &bytes[..cut]).unwrap();
            assert_eq!(
                load(&p).unwrap(),
                Some(old.clone()),
                "crash with {cut} bytes in the temp file"
            );
        }
        // After the rename, the new state is whole.
        fs::rename(&tmp, &p).unwrap();
        assert_eq!(load(&p).unwrap(), Some(new));
    }

    #[test]
    fn corrupt_truncated_and_newer_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let bytes = serde_json::to_vec_pretty(&state()).unwrap();
        fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        assert!(load(&p).unwrap_err().contains("truncated or corrupt"));
        fs::write(&p, b"\x00\x01garbage").unwrap();
        assert!(load(&p).unwrap_err().contains("truncated or corrupt"));
        let mut newer = serde_json::to_value(state()).unwrap();
        newer["format"] = 99.into();
        fs::write(&p, newer.to_string()).unwrap();
        assert!(load(&p).unwrap_err().contains("newer zkrun"));
        assert_eq!(load(&dir.path().join("none.json")).unwrap(), None);
    }

    #[test]
    fn an_unwritable_directory_is_an_error_that_keeps_the_old_state() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("s.json");
        assert!(
            save(&p, &state())
                .unwrap_err()
                .contains("cannot write the state file")
        );
    }

    #[test]
    fn the_lock_is_exclusive_and_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let held = Lock::acquire(&p).unwrap();
        let err = Lock::acquire(&p).err().unwrap();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        let again = Lock::acquire(&p).unwrap();
        assert_eq!(again.took_over, None, "a clean release is not a takeover");
    }

    #[test]
    fn plan_changes_are_named() {
        let then: BTreeMap<String, String> =
            [("zk1/stop", "a"), ("zk2/stop", "b"), ("zk3/stop", "c")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let mut now = then.clone();
        now.insert("zk2/stop".into(), "x".into());
        now.remove("zk3/stop");
        now.insert("zk4/stop".into(), "d".into());
        assert_eq!(
            describe_changes(&then, &now),
            "changed steps: zk2/stop; new steps: zk4/stop; steps gone: zk3/stop"
        );
    }

    #[test]
    fn events_move_steps_through_their_phases_and_the_leader_last() {
        let mut s = state();
        s.record(&Event::StepStarted {
            host: "zk1".into(),
            task: "stop".into(),
            kind: "stop".into(),
            attempt: 1,
            attempts: 1,
        });
        assert_eq!(s.steps["zk1/stop"].phase, Phase::Running);
        s.record(&Event::Leader {
            host: Some("zk1".into()),
            deferred: true,
        });
        assert_eq!(s.order, ["zk2", "zk3", "zk1"]);
        assert_eq!(s.counts(), (0, 1, 0));
    }

    #[test]
    fn a_state_path_that_is_no_regular_file_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("state.json");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let e = load(&fifo).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let e = load(std::path::Path::new("/dev/zero")).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
