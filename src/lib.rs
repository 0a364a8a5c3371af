//! zkrun: a declarative runbook engine for graceful ZooKeeper operations.
//!
//! The data flows one way:
//! files → [`yaml`] → [`model`] → [`inventory`] → [`plan`] → (runner) → reporters.
//! Everything up to the plan is pure and unit-tested; [`app`] is the glue.

pub mod app;
pub mod checkpoint;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod diagnostic;
pub mod event;
pub mod host;
pub mod inventory;
pub mod load;
pub mod model;
pub mod plan;
pub mod preview;
pub mod render;
pub mod report;
pub mod runner;
pub mod schema;
pub mod scrub;
pub mod tasks;
pub mod yaml;
pub mod zk;
