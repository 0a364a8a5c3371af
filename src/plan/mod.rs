//! The plan: every step zkrun will take, per host, fully rendered.
//!
//! Built by a pure function (`build`) from the playbook, the inventory and
//! the extra variables; printed by `--dry-run`; executed by the runner. What
//! only the live ensemble can decide (where the leader goes) is marked here
//! and decided, and recorded, by the runner.

pub mod build;
mod fingerprint;
mod hosts;
mod ids;

pub mod display;

use indexmap::IndexMap;
use serde::Serialize;

use crate::host::PlanHost;
use crate::model::task::Run;
use crate::model::{Duration, TaskId};
use crate::tasks::Action;

pub use build::{Inputs, build};

/// Bumped when the plan's JSON shape changes incompatibly.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub format: u32,
    pub name: String,
    pub playbook: String,
    pub inventory: String,
    pub run_id: String,
    /// sha256 over what the plan was built from (the parsed playbook, the
    /// selected hosts and their variables, extra variables, template files).
    /// Comments and formatting do not change it.
    pub fingerprint: String,
    /// Every host of the play (`hosts:`): the ensemble that checks look at
    /// and connections are opened to.
    pub hosts: Vec<PlanHost>,
    /// The hosts steps run on: all of `hosts`, or those --limit kept.
    pub targets: Vec<String>,
    pub stages: Vec<Stage>,
    /// The real values of secret variables (`secrets:`) and become
    /// passwords, for `crate::scrub`; never serialized.
    #[serde(skip)]
    pub secrets: Vec<String>,
    /// The key the fingerprint was made with (kept in the state file only).
    #[serde(skip)]
    pub fingerprint_key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskInfo {
    pub id: TaskId,
    pub kind: crate::tasks::Kind,
    pub name: String,
    pub run: Run,
    pub timeout: Duration,
    pub retries: u32,
    pub delay: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub task: TaskId,
    pub host: String,
    pub r#become: bool,
    /// Why the step will not run (its `when` is false), if so.
    pub skip: Option<String>,
    /// None when skipped.
    pub action: Option<Action>,
}

impl Step {
    /// What the step does to its node's service; a skipped step, nothing.
    pub fn effect(&self) -> crate::tasks::Effect {
        self.action
            .as_ref()
            .map_or(crate::tasks::Effect::None, |a| a.effect())
    }
}

/// Of one host's rolling steps, the one after which its node is back for
/// good: the last that confirms it (a verify) or, with none, the last that
/// starts it (a JVM that dies after its start is still out of service).
/// The runner and the checkpoint's reading of a stopped run share it.
pub fn back_at(steps: &[Step]) -> Option<usize> {
    use crate::tasks::Effect;
    steps
        .iter()
        .rposition(|s| s.effect() == Effect::Confirms)
        .or_else(|| steps.iter().rposition(|s| s.effect() == Effect::BringsBack))
}

// A plan holds a handful of stages: their sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "stage", rename_all = "kebab-case")]
pub enum Stage {
    /// One step for the whole play.
    Once {
        task: TaskInfo,
        step: Step,
    },
    /// One step per host, all at once.
    Parallel {
        task: TaskInfo,
        steps: Vec<Step>,
    },
    Rolling(Rolling),
}

#[derive(Debug, Clone, Serialize)]
pub struct Rolling {
    pub order: String,
    /// True when the runner moves the live leader to the end.
    pub leader_last: bool,
    pub serial: u32,
    pub max_failures: u32,
    /// Planned order; with `leader_last` the runner may move one host.
    pub hosts: Vec<String>,
    pub batches: Vec<Vec<String>>,
    pub tasks: Vec<TaskInfo>,
    /// Per host, in plan order: one step per task.
    pub steps: IndexMap<String, Vec<Step>>,
}

/// Moves `host` behind the others when it is among the first `take` of
/// `order` and others remain to go after it; true when it moved. The one
/// place the rolling order is changed: by the runner before a batch, the
/// dry-run's live look, and the checkpoint replaying the decision.
pub fn defer(order: &mut Vec<String>, take: usize, host: &str) -> bool {
    if order.len() <= take {
        return false;
    }
    match order[..take].iter().position(|h| h == host) {
        Some(i) => {
            let h = order.remove(i);
            order.push(h);
            true
        }
        None => false,
    }
}

/// How a step is named in the checkpoint and in resume lists: `host/task`.
pub fn step_key(host: &str, task: &str) -> String {
    format!("{host}/{task}")
}

impl Plan {
    /// Every step with its task, stage by stage (the rolling part host by
    /// host, in planned order).
    pub fn steps(&self) -> Vec<(&TaskInfo, &Step)> {
        let mut all = Vec::new();
        for stage in &self.stages {
            match stage {
                Stage::Once { task, step } => all.push((task, step)),
                Stage::Parallel { task, steps } => all.extend(steps.iter().map(|s| (task, s))),
                Stage::Rolling(r) => {
                    for host_steps in r.steps.values() {
                        all.extend(r.tasks.iter().zip(host_steps));
                    }
                }
            }
        }
        all
    }

    pub fn rolling(&self) -> Option<&Rolling> {
        self.stages.iter().find_map(|s| match s {
            Stage::Rolling(r) => Some(r),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::defer;

    #[test]
    fn defer_moves_a_host_of_the_next_batch_behind_the_rest() {
        let mut order: Vec<String> = ["zk1", "zk2", "zk3"].map(String::from).to_vec();
        assert!(defer(&mut order, 1, "zk1"));
        assert_eq!(order, ["zk2", "zk3", "zk1"]);
        // Not in the next batch, or nobody left to go after it: unchanged.
        assert!(!defer(&mut order, 1, "zk3"));
        assert!(!defer(&mut order, 3, "zk2"));
        assert_eq!(order, ["zk2", "zk3", "zk1"]);
    }
}
