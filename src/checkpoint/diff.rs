//! What changed between the plan a run began with and the plan now: a
//! digest per step, and the differences named.

use std::collections::BTreeMap;

use super::key;

use sha2::{Digest, Sha256};

/// A digest per planned step, over what the plan shows of it.
pub fn step_digests(plan: &crate::plan::Plan) -> BTreeMap<String, String> {
    use crate::plan::Stage;
    let mut out = BTreeMap::new();
    let mut add = |s: &crate::plan::Step| {
        let json = serde_json::to_vec(s).expect("steps serialize");
        let d: String = Sha256::digest(&json)
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        out.insert(key(&s.host, s.task.as_str()), d);
    };
    for stage in &plan.stages {
        match stage {
            Stage::Once { step, .. } => add(step),
            Stage::Parallel { steps, .. } => steps.iter().for_each(&mut add),
            Stage::Rolling(r) => r.steps.values().flatten().for_each(&mut add),
        }
    }
    out
}

/// What differs between the steps planned then and now, in a few words.
pub fn describe_changes(then: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> String {
    let list = |v: Vec<&String>| {
        let n = v.len();
        let shown: Vec<&str> = v.into_iter().take(6).map(String::as_str).collect();
        if n > 6 {
            format!("{} and {} more", shown.join(", "), n - 6)
        } else {
            shown.join(", ")
        }
    };
    let changed: Vec<&String> = now
        .iter()
        .filter(|(k, d)| then.get(*k).is_some_and(|t| t != *d))
        .map(|(k, _)| k)
        .collect();
    let added: Vec<&String> = now.keys().filter(|k| !then.contains_key(*k)).collect();
    let removed: Vec<&String> = then.keys().filter(|k| !now.contains_key(*k)).collect();
    let mut parts = Vec::new();
    if !changed.is_empty() {
        parts.push(format!("changed steps: {}", list(changed)));
    }
    if !added.is_empty() {
        parts.push(format!("new steps: {}", list(added)));
    }
    if !removed.is_empty() {
        parts.push(format!("steps gone: {}", list(removed)));
    }
    if parts.is_empty() {
        "the steps are the same, but other inputs (variables, connection settings) differ".into()
    } else {
        parts.join("; ")
    }
}
