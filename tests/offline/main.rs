//! Tests that need no fleet: error messages and plans (insta snapshots), the
//! runner against the scripted transport, the schemas, the layering, and
//! the loader under mutated input. One test binary, so the crate is linked
//! once.

#[path = "../support/cli.rs"]
mod cli;

mod backup_script;
mod errors;
mod layering;
mod loader_never_panics;
mod plans;
mod runner;
mod schemas;
