//! Task ids (checkpoints and logs key on them) and the shape of the task
//! list: the rolling tasks form one block.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::TaskId;
use crate::model::task::{Kinds, Run};
use crate::tasks::{Playbook, TaskKind};
use crate::yaml::{Part, Source, YamlPath};

/// Explicit ids as written; the rest are named after their type (`stop`,
/// then `stop-2`, ...). Duplicates are errors: checkpoints key on ids.
pub(super) fn task_ids(pb: &Playbook, src: &Source, errors: &mut Diagnostics) -> Vec<TaskId> {
    let tasks = YamlPath::root().key("tasks");
    let explicit: HashSet<&str> = pb
        .tasks
        .iter()
        .filter_map(|t| t.id.as_ref().map(|i| i.as_str()))
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut counts: HashMap<&str, usize> = TaskKind::NAMES.iter().map(|k| (*k, 0)).collect();
    let mut ids = Vec::with_capacity(pb.tasks.len());
    for (n, t) in pb.tasks.iter().enumerate() {
        let id = match &t.id {
            Some(id) => id.clone(),
            None => {
                let kind = t.kind.name();
                let mut candidate;
                loop {
                    let c = counts.get_mut(kind).expect("known kind");
                    *c += 1;
                    candidate = if *c == 1 {
                        kind.to_string()
                    } else {
                        format!("{kind}-{c}")
                    };
                    if !explicit.contains(candidate.as_str()) {
                        break;
                    }
                }
                TaskId(candidate)
            }
        };
        if let Some(first) = seen.get(id.as_str()) {
            let first_at = src
                .locate(&tasks.index(*first).key("id"), Part::Value)
                .or_else(|| src.locate(&tasks.index(*first), Part::Value))
                .map(|s| format!("{}:{}:{}", s.path, s.line, s.column))
                .unwrap_or_default();
            errors.push(
                Diagnostic::new(format!("duplicate task id `{id}`"))
                    .at(src.locate(&tasks.index(n).key("id"), Part::Value))
                    .label("used again here")
                    .note(format!("first used by task {} at {first_at}", first + 1))
                    .help("checkpoints and logs are keyed on task ids; give each task its own"),
            );
        } else {
            seen.insert(id.0.clone(), n);
        }
        ids.push(id);
    }
    ids
}

/// Rolling tasks form one block; `once` and `parallel` tasks go before or
/// after it, never inside, so "what runs when" reads top to bottom.
pub(super) fn check_phases(pb: &Playbook, src: &Source, errors: &mut Diagnostics) {
    let tasks = YamlPath::root().key("tasks");
    if pb.tasks.is_empty() {
        errors.push(
            Diagnostic::new("the playbook has no tasks")
                .at(src.locate(&YamlPath::root().key("tasks"), Part::Key))
                .help("add tasks such as `- {id: stop, stop: {}}`"),
        );
        return;
    }
    let first = pb.tasks.iter().position(|t| t.run == Run::Rolling);
    let last = pb.tasks.iter().rposition(|t| t.run == Run::Rolling);
    if let (Some(first), Some(last)) = (first, last) {
        for n in first..=last {
            let t = &pb.tasks[n];
            if t.run != Run::Rolling {
                errors.push(
                    Diagnostic::new(format!(
                        "task {} runs `{}` but sits inside the rolling part",
                        n + 1,
                        t.run.as_str()
                    ))
                    .at(src.locate(&tasks.index(n).key("run"), Part::Value))
                    .help("move it before the first or after the last rolling task"),
                );
            }
        }
    }
}
