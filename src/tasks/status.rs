//! `status`: check the ensemble's health with four-letter words.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::host::exec::{Exec, StepError};
use crate::host::transport::Transport;
use crate::render::Text;
use crate::tasks::context::Cx;
use crate::tasks::fact::Fact;
use crate::zk::ensemble::{self, View};
use crate::zk::probe;

/// How often checks look again.
pub const POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// How often a node going out or coming back is looked at: each wait here
/// counts in its outage (half the interval on average, three waits a
/// node), and a look is one `ps` or one four-letter word on a multiplexed
/// connection (a few milliseconds).
pub const WATCH: std::time::Duration = std::time::Duration::from_millis(50);

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
    /// The live config, where each node's server lines are read.
    pub config: Text,
    /// The host the check is about; empty for an ensemble-wide check.
    pub host: String,
    /// `--allow-quorum-loss`: the gate lets a 1- or 2-node ensemble lose
    /// its quorum (larger ones are gated as ever).
    pub allow_quorum_loss: bool,
}

pub fn plan(args: &StatusArgs, cx: &Cx) -> Option<StatusStep> {
    Some(StatusStep {
        require: args.require,
        config: cx.service.config.clone(),
        host: cx.host.name.clone(),
        allow_quorum_loss: cx.allow_quorum_loss,
    })
}

impl StatusStep {
    /// Polls the ensemble until the requirement holds or the step times out;
    /// a failure shows the last view as a table.
    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        // Who is a voter comes from the configs: an observer that is down
        // must not count as a voter owed a place in the quorum. The configs
        // (three commands in a row a host) and the first look at the nodes
        // do not depend on each other, so they are asked together: where
        // each host has its own CPUs, a check costs the longer of the two
        // round-trip chains, not their sum. A look the configs kept waiting
        // (a slow host) is too old to stop a node on: taken again.
        let asked = std::time::Instant::now();
        let (ids, first) =
            futures_util::future::join(probe::identities(x, self.config.real()), probe::view(x))
                .await;
        let mut first = (asked.elapsed() < POLL).then_some(first);
        if self.require == Require::Healthy {
            ensemble::identities(&ids).map_err(|why| {
                StepError::new(format!("node identities do not add up: {why}")).help(
                    "each host's myid must match a server.N line that names it; fix the config before rolling",
                )
            })?;
        }
        let observers = ensemble::observers(&ids);
        // The batch goes out together: the gate asks about all of it.
        let out: Vec<&str> = if x.batch.is_empty() {
            vec![self.host.as_str()]
        } else {
            x.batch.iter().map(String::as_str).collect()
        };
        let mut last = View::default();
        let result = probe::poll(x, POLL, async || {
            last = match first.take() {
                Some(v) => v,
                None => probe::view(x).await,
            };
            last.observers.clone_from(&observers);
            match self.require {
                Require::Healthy => ensemble::healthy(&last),
                Require::QuorumWithoutThisHost => match ensemble::quorum_without(&last, &out) {
                    // The flag accepts an outage, not two leaders.
                    Err(why) if self.allow_quorum_loss && last.leaders().len() <= 1 => {
                        x.note(&format!("--allow-quorum-loss: {why}; stopping anyway"));
                        Ok(())
                    }
                    r => r,
                },
                Require::Serving => match last.stats(&self.host) {
                    Some(_) => Ok(()),
                    None => Err(format!("{} does not serve", self.host)),
                },
            }
        })
        .await;
        x.note(&last.table());
        if result.is_ok() && self.require == Require::Healthy {
            // Shown by the front ends: the ensemble as the run found (or
            // left) it, which checks could not be made, and what restarting
            // the leader means for client sessions.
            let s = probe::sessions(x, &last, self.config.real()).await;
            let sessions = if s.warn {
                format!("WARNING: {}", s.line)
            } else {
                s.line
            };
            x.fact(Fact::Ensemble, format!("{}{sessions}", last.table()));
            self.record_epoch(x, &last);
        }
        result.map_err(|why| {
            let mut e = StepError::new(format!(
                "{} after {}s: {why}",
                match self.require {
                    Require::Healthy => "the ensemble is not healthy",
                    Require::QuorumWithoutThisHost => "taking this node out would risk the quorum",
                    Require::Serving => "the node is not serving",
                },
                x.timeout.as_secs()
            ))
            .help("nothing was stopped by this check; look at the nodes in the table, fix them, and run again");
            e.tail = last.table().lines().map(str::to_string).collect();
            e
        })
    }

    /// Records the leader's epoch; a later healthy check of the same run
    /// (the final check after the preflight) also counts the elections
    /// since, from the epochs, against the leader restarts the run made.
    fn record_epoch<T: Transport>(&self, x: &Exec<'_, T>, v: &View) {
        let Some(epoch) = v.leader_epoch() else {
            return;
        };
        if let Some(before) = x.recall(Fact::Epoch).and_then(|e| e.parse::<u32>().ok()) {
            let restarts = ensemble::leader_restarts(&x.facts.borrow());
            let e = ensemble::Elections::count(before, epoch, restarts);
            x.fact(Fact::Elections, e.describe());
        }
        x.fact(Fact::Epoch, epoch.to_string());
    }

    pub fn describe(&self) -> Vec<String> {
        match self.require {
            Require::Healthy => vec![
                "check the ensemble: every voter serves, exactly one leader,".into(),
                "no epoch ahead of it, leader's synced followers = voters - 1,".into(),
                "each myid matches a server.N line naming its host".into(),
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
