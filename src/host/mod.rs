//! The host layer: how zkrun reaches a host of the play and runs commands
//! there. `transport` is the trait (with `ssh` for real runs and `fake` for
//! unit tests); `exec` is what a task's `execute` gets: commands, the clock,
//! facts and events, without knowing about SSH or the runtime.
//!
//! May import: `model`, `inventory`, `render`, `event` (below it). Never a
//! task, the plan, the runner or ZooKeeper knowledge.

pub mod exec;
pub mod fake;
pub mod local;
pub mod policy;
pub mod ssh;
pub mod transport;

use serde::Serialize;

use crate::inventory::Connection;
use crate::model::playbook::AskVia;

/// Where a service port answers (a node's client port), as seen from the
/// service's own host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub address: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.address, self.port)
    }
}

/// A host of the play: its name, how to reach it, and where its service
/// answers.
#[derive(Debug, Clone, Serialize)]
pub struct PlanHost {
    pub name: String,
    pub connection: Connection,
    /// The node's client port, as seen from the host.
    pub zookeeper: Endpoint,
    /// How four-letter words reach it.
    #[serde(skip_serializing_if = "is_ssh")]
    pub four_letter_words: AskVia,
    /// The service's config file on the host (for a look at a node that
    /// answers no client: `leaderServes=no`). The plan's steps carry it too.
    #[serde(skip)]
    pub config: String,
}

fn is_ssh(v: &AskVia) -> bool {
    *v == AskVia::Ssh
}
