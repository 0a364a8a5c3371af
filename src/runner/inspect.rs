//! The read-only look at every host before anything runs (and for the
//! dry-run): what would make a step fail part-way is found while every
//! node is still untouched.

use std::cell::RefCell;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use crate::host::exec::Exec;
use crate::host::transport::Transport;
use crate::plan::{Plan, Step, TaskInfo};

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
