//! `status`: check the ensemble's health with four-letter words.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::context::Cx;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusArgs {
    #[serde(default)]
    pub require: Require,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Require {
    /// Every voter serves, exactly one leader, one epoch, and the leader
    /// counts every other voter as a synced follower.
    #[default]
    Healthy,
    /// Without this host, the other voters still form a serving, synced
    /// quorum: the gate before a stop. Waits up to the timeout.
    QuorumWithoutThisHost,
    /// This host's node serves (answers `srvr` with a `Mode:`).
    Serving,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusStep {
    pub require: Require,
    /// The host the check is about; empty for an ensemble-wide check.
    pub host: String,
}

pub fn plan(args: &StatusArgs, cx: &Cx) -> Option<StatusStep> {
    Some(StatusStep {
        require: args.require,
        host: cx.host.name.clone(),
    })
}

impl StatusStep {
    pub fn describe(&self) -> Vec<String> {
        match self.require {
            Require::Healthy => vec![
                "check the ensemble: every voter serves, exactly one leader,".into(),
                "one epoch, leader's synced followers = voters - 1".into(),
            ],
            Require::QuorumWithoutThisHost => vec![format!(
                "gate: without {}, the other voters keep a serving, synced quorum",
                self.host
            )],
            Require::Serving => vec![format!(
                "check that {} serves (srvr has a Mode line)",
                self.host
            )],
        }
    }
}
