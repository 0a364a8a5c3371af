//! Everything zkrun knows about ZooKeeper. Tasks call into this module; the
//! plan and the runner stay service-neutral.

pub mod client;
pub mod config;
pub mod elections;
pub mod ensemble;
pub mod fourlw;
pub mod identity;
pub mod log_errors;
pub mod order;
pub mod probe;
pub mod sessions;
pub mod systemd;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A server's role, as `srvr` reports it in its `Mode:` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Leader,
    Follower,
    Observer,
    Standalone,
    ReadOnly,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
            Mode::Standalone => "standalone",
            Mode::ReadOnly => "read-only",
        }
    }
}
