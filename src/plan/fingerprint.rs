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
    use hmac::{KeyInit, Mac};
    let mut hash = match i.fingerprint_key {
        Some(key) => Hash::Hmac(
            hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes())
                .expect("HMAC takes a key of any length"),
        ),
        None => Hash::Sha(Sha256::new()),
    };
    // The JSON text of {"extra_vars", "files", "format", "hosts", "limit",
    // "playbook"} (keys in serde_json's sorted order), written into the hash
    // a piece at a time: a host's JSON lives only while it is hashed, so
    // 100,000 hosts never stand in memory as one document.
    let mut files: Vec<(&String, &String)> = i.files.iter().collect();
    files.sort();
    let w = &mut hash;
    w.bytes(b"{\"extra_vars\":");
    // Maps as serde_json's own map (sorted keys), as the text always was.
    put(
        w,
        &serde_json::to_value(i.extra_vars).expect("plain data serializes"),
    );
    w.bytes(b",\"files\":");
    put(w, &files);
    w.bytes(b",\"format\":");
    put(w, &FORMAT);
    w.bytes(b",\"hosts\":[");
    for (n, (h, p)) in selected.iter().zip(planned).enumerate() {
        if n > 0 {
            w.bytes(b",");
        }
        // Where the inventory lies (`inventory_file`) is no input that
        // changes a step; a moved checkout must still resume.
        let vars: IndexMap<&str, serde_json::Value> = h
            .vars
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "inventory_file" | "inventory_dir"))
            .map(|(k, v)| (k.as_str(), v.value.to_json()))
            .collect();
        put(
            w,
            &serde_json::json!({"name": h.name, "vars": vars, "connection": p.connection}),
        );
    }
    w.bytes(b"],\"limit\":");
    put(w, &i.limit);
    w.bytes(b",\"playbook\":");
    put(
        w,
        &serde_json::to_value(i.playbook).expect("plain data serializes"),
    );
    w.bytes(b"}");
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match hash {
        Hash::Hmac(mac) => format!("hmac-sha256:{}", hex(&mac.finalize().into_bytes())),
        Hash::Sha(sha) => format!("sha256:{}", hex(&sha.finalize())),
    }
}

enum Hash {
    Hmac(hmac::Hmac<Sha256>),
    Sha(Sha256),
}

impl Hash {
    fn bytes(&mut self, b: &[u8]) {
        use hmac::Mac;
        match self {
            Hash::Hmac(m) => m.update(b),
            Hash::Sha(s) => s.update(b),
        }
    }
}

impl std::io::Write for Hash {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.bytes(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn put<T: serde::Serialize + ?Sized>(w: &mut Hash, v: &T) {
    serde_json::to_writer(w, v).expect("plain data serializes");
}
