//! `verify`: wait until the node serves in an expected mode, is synced with
//! the leader, answers a client read, and its log holds no fatal line.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::host::Endpoint;
use crate::host::exec::{Exec, StepError};
use crate::host::transport::Transport;
use crate::model::Template;
use crate::render::Text;
use crate::tasks::context::Cx;
use crate::tasks::fact::Fact;
use crate::tasks::status::WATCH;
use crate::zk::Mode;
use crate::zk::{ensemble, log_errors, probe, systemd};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyArgs {
    /// Modes the node may report once it serves.
    #[serde(default = "follower_or_leader", deserialize_with = "some_modes")]
    #[schemars(length(min = 1))]
    pub mode: Vec<Mode>,
    /// Require the leader to count this node as a synced follower.
    #[serde(default = "yes")]
    pub synced: bool,
    /// A znode to list as a client would (a session, `getChildren`, its
    /// close, in ZooKeeper's own protocol), as a client-level check.
    #[serde(default)]
    pub read: Option<Template>,
    /// Fail on ERROR lines the server logged since its start (and show the
    /// fatal start-up lines when it does not come up).
    #[serde(default = "yes")]
    pub log_errors: bool,
}

impl Default for VerifyArgs {
    fn default() -> Self {
        VerifyArgs {
            mode: follower_or_leader(),
            synced: true,
            read: None,
            log_errors: true,
        }
    }
}

/// An empty list could never pass, after every node had been stopped.
/// Checked inside the visitor, where serde_yaml still knows the place.
fn some_modes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Mode>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<Mode>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of modes, like `[follower, leader]`")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<Mode>, A::Error> {
            let mut modes = Vec::new();
            while let Some(m) = seq.next_element()? {
                modes.push(m);
            }
            if modes.is_empty() {
                return Err(serde::de::Error::custom(
                    "`mode: []` accepts no mode, so verify could never pass; list the modes a healthy node may serve in, like `[follower, leader]`",
                ));
            }
            Ok(modes)
        }
    }
    d.deserialize_seq(V)
}

fn follower_or_leader() -> Vec<Mode> {
    vec![Mode::Follower, Mode::Leader]
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyStep {
    pub modes: Vec<Mode>,
    pub synced: bool,
    pub client: Endpoint,
    /// The znode the client read lists.
    pub read: Option<Text>,
    pub log: Option<Text>,
    /// The unit whose journal is read with the log (`manager: systemd`):
    /// a unit running the server in the foreground logs there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<Text>,
    /// The live config: tells whether this node is an observer.
    pub config: Text,
}

pub fn plan(args: &VerifyArgs, cx: &Cx) -> Option<VerifyStep> {
    let client = cx.service.client.clone();
    let read = match &args.read {
        Some(path) => Some(cx.text(path, &["verify", "read"])?),
        None => None,
    };
    Some(VerifyStep {
        modes: args.mode.clone(),
        synced: args.synced,
        client,
        read,
        log: args.log_errors.then(|| cx.service.log.clone()),
        journal: cx.service.systemd_unit().filter(|_| args.log_errors),
        config: cx.service.config.clone(),
    })
}

impl VerifyStep {
    /// The leader's zxid before this node's stop, as the stop recorded it.
    fn recalled_zxid<T: Transport>(&self, x: &Exec<'_, T>) -> Option<u64> {
        let fact = x.recall(Fact::LeaderZxidBeforeStop)?;
        let hex = fact.split_whitespace().last()?.trim_start_matches("0x");
        u64::from_str_radix(hex, 16).ok()
    }

    /// Waits until the node serves in an allowed mode and, when asked, the
    /// leader counts every follower as synced; then the client read. Fails
    /// fast when the JVM is gone, with the log's fatal lines.
    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        let mut gone = 0;
        // A configured observer serves as an observer, whatever `mode`
        // lists; voters are counted from the configs.
        let ids = probe::identities(x, self.config.real()).await;
        let observers = ensemble::observers(&ids);
        let observer = observers.contains(&x.host.name);
        // The rest of the batch may still be in its own turn: the ensemble
        // is judged healthy without them.
        let batch_mates: Vec<&str> = x
            .batch
            .iter()
            .map(String::as_str)
            .filter(|h| *h != x.host.name)
            .collect();
        // Watched closely: this wait is the tail of the node's outage.
        let waited = probe::poll(x, WATCH, async || {
            let mut v = probe::view(x).await;
            v.observers.clone_from(&observers);
            // With `leaderServes=no` the node may now lead without serving.
            let leads_quietly = v.nodes.iter().any(|n| {
                n.host == x.host.name && matches!(n.state, ensemble::NodeState::Leading { .. })
            });
            if leads_quietly && self.modes.contains(&Mode::Leader) {
                if self.synced {
                    ensemble::healthy_except(&v, &batch_mates)?;
                }
                return Ok(Ok(()));
            }
            let Some(s) = v.stats(&x.host.name) else {
                if probe::server_pids(x, x.host).await?.is_empty() {
                    gone += 1;
                    if gone >= 3 {
                        return Ok(Err("the ZooKeeper process is not running".to_string()));
                    }
                }
                return Err(format!("{} does not serve yet", self.client));
            };
            // A one-node ensemble serves standalone, whatever the playbook expects.
            let alone = s.mode == Mode::Standalone && x.hosts.len() == 1;
            let expected = if observer {
                s.mode == Mode::Observer
            } else {
                self.modes.contains(&s.mode) || alone
            };
            if !expected {
                return Err(format!("{} serves as {}", self.client, s.mode.as_str()));
            }
            // Caught up: at or past where the leader was before this node
            // stopped. Only meaningful once transactions were written (an
            // idle follower reports the zxid of its last applied write).
            if let Some(before) = self.recalled_zxid(x)
                && before & 0xffff_ffff > 0
                && s.zxid < before
            {
                return Err(format!(
                    "{} is at zxid 0x{:x}, behind the leader's 0x{before:x} before it stopped",
                    self.client, s.zxid
                ));
            }
            if self.synced {
                ensemble::healthy_except(&v, &batch_mates)?;
            }
            Ok(Ok(()))
        })
        .await;
        let failure = match waited {
            Ok(Ok(())) => None,
            Ok(Err(why)) => Some(why),
            Err(why) => Some(format!("not ready after {}s: {why}", x.timeout.as_secs())),
        };
        if let Some(why) = failure {
            let mut e = StepError::new(why).help(
                "the node is left as it is; look at its log, fix it, and run again: zkrun checks the ensemble before it touches another node",
            );
            if let Some(log) = &self.log {
                let unit = self.journal.as_ref().map(Text::real);
                e.tail = probe::fatal_log_lines(x, x.host, log.real(), unit).await;
            }
            return Err(e);
        }
        if let Some(log) = &self.log {
            // Peers of the same batch restart with this node: its
            // connections to them close, and ZooKeeper says so at ERROR.
            let mates: Vec<u32> = ids
                .iter()
                .filter(|i| batch_mates.contains(&i.host.as_str()))
                .filter_map(|i| i.myid)
                .collect();
            self.log_errors(x, log, &mates).await?;
        }
        // Who leads now, and the leader's own timings when `mntr` answers,
        // for the record and the roll report.
        let v = probe::view(x).await;
        if let [leader] = v.leaders()[..] {
            x.fact(Fact::Leader, leader);
            if let Some(epoch) = v.leader_epoch() {
                x.fact(Fact::LeaderEpoch, epoch.to_string());
            }
        }
        let timings: Vec<String> = [
            "zk_avg_election_time",
            "zk_max_election_time",
            "zk_avg_follower_sync_time",
            "zk_avg_leader_unavailable_time",
            "zk_avg_unavailable_time",
        ]
        .iter()
        .filter_map(|k| v.leader_mntr.0.get(*k).map(|val| format!("{k}={val}")))
        .collect();
        if !timings.is_empty() {
            x.fact(Fact::MntrTimings, timings.join(" "));
        }
        if let Some(path) = &self.read {
            let read = probe::client_read(x, x.host, path.real())
                .await
                .map_err(|why| {
                    StepError::new(format!(
                        "{} serves but does not answer a client read of {path}: {why}",
                        x.host.name
                    ))
                    .help("look at the node's log; a path that does not exist fails the read too (`verify: read:`)")
                })?;
            x.note(&format!(
                "client read of {path}: {} children at zxid 0x{:x} (session 0x{:x}, closed)",
                read.children, read.zxid, read.session
            ));
        }
        Ok(())
    }

    /// No ERROR line since the start: in the log file after the offset the
    /// start recorded, and in the unit's journal after its cursor. Either
    /// is read only when the start recorded where it ended. A closed
    /// connection to a peer in `mates` (server ids restarting in this
    /// batch) is a note; to any other peer, an error.
    async fn log_errors<T: Transport>(
        &self,
        x: &Exec<'_, T>,
        log: &Text,
        mates: &[u32],
    ) -> Result<(), StepError> {
        let mut file = log_errors::Judged::default();
        if let Some(offset) = x.recall(Fact::LogOffset).and_then(|o| o.parse().ok()) {
            let out = probe::error_lines_since(x, x.host, log.real(), offset)
                .await
                .map_err(StepError::new)?;
            file = log_errors::judge(&out, log.real());
        }
        let mut errors = std::mem::take(&mut file.errors);
        let mut replays = vec![file];
        if let Some(unit) = &self.journal
            && let Some(cursor) = x.recall(Fact::LogCursor)
            && cursor != super::start::UNREADABLE
        {
            let out = systemd::error_lines_since(x, unit.real(), &cursor)
                .await
                .map_err(StepError::new)?;
            let mut journal = log_errors::judge(&out, &format!("the journal of {unit}"));
            errors = probe::merged(errors, std::mem::take(&mut journal.errors));
            replays.push(journal);
        }
        for (sid, line) in replays
            .iter_mut()
            .flat_map(|j| std::mem::take(&mut j.peers_gone))
        {
            if mates.contains(&sid) {
                x.note(&format!(
                    "server {sid} restarts in this batch; its connection closing is logged at ERROR: {line}"
                ));
            } else {
                errors = probe::merged(errors, vec![line]);
            }
        }
        // The same start seen in the file and the journal is told once.
        if let Some((r, digest)) = replays
            .iter()
            .find_map(|j| Some((j.replayed.as_ref()?, j.digest_on_replay)))
        {
            x.note(&replay_note(r, digest));
        }
        if errors.is_empty() {
            return Ok(());
        }
        let read = match &self.journal {
            Some(unit) => format!("read {log} and `journalctl -u {unit}`"),
            None => format!("read {log}"),
        };
        let mut e = StepError::new(format!(
            "{} serves, but its log has ERROR lines since it started",
            self.client
        ))
        .help(format!(
            "{read} on {} from its last start; when the errors are understood, \
             run again (or set `log_errors: false` on this verify)",
            x.host.name
        ));
        e.tail = errors;
        Err(e)
    }

    /// The client read, tried once per run against a live node before
    /// anything is stopped: a path that does not exist, or a client port
    /// zkrun cannot reach from the host, fails here, not after a restart.
    pub async fn inspect<T: Transport>(&self, x: &Exec<'_, T>) -> super::Inspection {
        let Some(read) = &self.read else {
            return super::Inspection::default();
        };
        // Against a node that serves now (a down node says nothing about
        // the client), once per run: the first such verify claims it.
        if !matches!(
            probe::node(x, x.host).await,
            crate::zk::ensemble::NodeState::Serving(_)
        ) {
            return super::Inspection::default();
        }
        let memo = "*/verify_read".to_string();
        if x.facts
            .borrow_mut()
            .insert(memo, x.host.name.clone())
            .is_some()
        {
            return super::Inspection::default();
        }
        match probe::client_read(x, x.host, read.real()).await {
            Ok(_) => super::Inspection::note(format!(
                "client read of {read} works against the live node on {}",
                x.host.name
            )),
            // A node that stopped serving meanwhile (an ensemble losing its
            // quorum) says nothing about the read: the checks that look at
            // the ensemble report that.
            Err(_)
                if !matches!(
                    probe::node(x, x.host).await,
                    crate::zk::ensemble::NodeState::Serving(_)
                ) =>
            {
                super::Inspection::default()
            }
            Err(why) => super::Inspection::problem(
                StepError::new(format!(
                    "the verify read of {read} fails against the live node on {} before anything is stopped: {why}",
                    x.host.name
                ))
                .help("fix `verify: read:` (a znode that exists), or drop it; no node was stopped"),
            ),
        }
    }

    pub fn describe(&self) -> Vec<String> {
        let modes: Vec<&str> = self.modes.iter().map(|m| m.as_str()).collect();
        let mut lines = vec![format!(
            "wait until {} serves as {}",
            self.client,
            modes.join(" or ")
        )];
        if self.synced {
            lines.push("and the leader counts it as a synced follower".into());
        }
        if let Some(read) = &self.read {
            lines.push(format!("and answers a client read of {read} (getChildren)"));
        }
        match (&self.log, &self.journal) {
            (Some(log), Some(unit)) => lines.push(format!(
                "no ERROR lines in {log} or the journal of {} since the start",
                systemd::unit_name(&unit.shown)
            )),
            (Some(log), None) => lines.push(format!("no ERROR lines in {log} since the start")),
            (None, _) => {}
        }
        lines
    }
}

/// What a start's replay of transactions held twice means, for the step's
/// notes (see `log_errors::judge`).
fn replay_note(r: &log_errors::Replayed, digest_on_replay: Option<u64>) -> String {
    let mut note = format!(
        "at start ZooKeeper replayed {} logged transaction(s) it already held (zxid 0x{:x}..0x{:x}, after reaching 0x{:x}), logging each at ERROR: a fuzzy snapshot or a log written twice, applied again without change",
        r.count, r.first, r.last, r.highest
    );
    if let Some(z) = digest_on_replay {
        note.push_str(&format!(
            "; its digest check flagged the replayed zxid 0x{z:x}, which is the replay, not a divergence"
        ));
    }
    note
}
