//! The plan's fingerprint: "did the inputs change since the run began?"
//!
//! The inputs hold secrets (a `secrets:` variable's value, a vault value's
//! envelope), so a plain hash of them would be a guessing oracle for anyone
//! holding a printed plan. With a key (each run's own random key, kept in
//! its 0600 state file) the fingerprint is an HMAC-SHA256: still "did the
//! inputs change?" for that run, and nothing to test guesses against
//! without the state file. Without one (tests, benches) it is a sha256.

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::build::Inputs;
use super::{FORMAT, PlanHost};
use crate::inventory::Host;

pub(super) fn fingerprint(i: &Inputs, selected: &[&Host], planned: &[PlanHost]) -> String {
    let hosts: Vec<serde_json::Value> = selected
        .iter()
        .zip(planned)
        .map(|(h, p)| {
            // Where the inventory lies (`inventory_file`) is no input that
            // changes a step; a moved checkout must still resume.
            let vars: IndexMap<&str, serde_json::Value> = h
                .vars
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "inventory_file" | "inventory_dir"))
                .map(|(k, v)| (k.as_str(), v.value.to_json()))
                .collect();
            serde_json::json!({"name": h.name, "vars": vars, "connection": p.connection})
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
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match i.fingerprint_key {
        Some(key) => {
            use hmac::{KeyInit, Mac};
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes())
                .expect("HMAC takes a key of any length");
            mac.update(&bytes);
            format!("hmac-sha256:{}", hex(&mac.finalize().into_bytes()))
        }
        None => format!("sha256:{}", hex(&Sha256::digest(&bytes))),
    }
}
