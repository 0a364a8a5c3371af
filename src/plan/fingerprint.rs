//! The plan's fingerprint: "did the inputs change since the run began?"

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::FORMAT;
use super::build::Inputs;
use crate::inventory::Host;

pub(super) fn fingerprint(i: &Inputs, selected: &[&Host]) -> String {
    let hosts: Vec<serde_json::Value> = selected
        .iter()
        .map(|h| {
            let vars: IndexMap<&str, &serde_json::Value> =
                h.vars.iter().map(|(k, v)| (k.as_str(), &v.value)).collect();
            serde_json::json!({"name": h.name, "vars": vars, "connection": h.connection})
        })
        .collect();
    let mut files: Vec<(&String, &String)> = i.files.iter().collect();
    files.sort();
    let input = serde_json::json!({
        "format": FORMAT,
        "playbook": i.playbook,
        "hosts": hosts,
        "extra_vars": i.extra_vars,
        "limit": i.limit,
        "files": files,
    });
    let bytes = serde_json::to_vec(&input).expect("plain data serializes");
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
