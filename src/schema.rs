//! JSON Schemas of the playbook and inventory formats, generated from the
//! Rust types. `tests/offline/schemas.rs` keeps `schemas/*.json` in sync.

use crate::model::inventory::InventoryFile;
use crate::tasks::Playbook;

pub fn playbook() -> String {
    pretty(schemars::schema_for!(Playbook))
}

/// One line of `--output json` during a run.
pub fn events() -> String {
    pretty(schemars::schema_for!(crate::event::Event))
}

/// The `live` line of `--dry-run --output json`: the read-only look at the hosts.
pub fn live() -> String {
    pretty(schemars::schema_for!(crate::preview::Live))
}

pub fn inventory() -> String {
    pretty(schemars::schema_for!(InventoryFile))
}

fn pretty(schema: schemars::Schema) -> String {
    let mut s = serde_json::to_string_pretty(&schema).expect("schemas serialize");
    s.push('\n');
    s
}
