//! The ensemble as seen at one moment, and the verdicts zkrun gates on.
//! Pure: the view is built by `probe`, judged here.

use std::fmt::Write as _;

use super::Mode;
pub use super::elections::{Elections, leader_restarts};
use super::fourlw::{Mntr, Stats};
pub use super::identity::{Identity, identities, observers};
pub use super::sessions::{LARGE_DATA_ZNODES, SHORT_SESSION_MS, session_check};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    Serving(Stats),
    /// Running, but looking for a leader or still syncing.
    NotServing,
    /// Nothing answers on the client port.
    Down,
    /// The host itself could not be asked (SSH failed).
    Unknown(String),
    /// Something answered that is not a serving ZooKeeper.
    Unexpected(String),
    /// The leader of an ensemble with `leaderServes=no`: it answers no
    /// client (`srvr` says "not currently serving"), yet leads. `evidence`
    /// says what showed it; `epoch` is its `currentEpoch` file.
    Leading {
        epoch: Option<u32>,
        evidence: String,
    },
}

impl NodeState {
    /// Leads the ensemble (serving clients or not).
    pub fn leads(&self) -> bool {
        match self {
            NodeState::Serving(s) => s.mode == Mode::Leader,
            NodeState::Leading { .. } => true,
            _ => false,
        }
    }

    /// In the quorum's service: serving clients, or leading without.
    pub fn in_service(&self) -> bool {
        matches!(self, NodeState::Serving(_) | NodeState::Leading { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub host: String,
    pub state: NodeState,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub nodes: Vec<Node>,
    /// The leader's `mntr`, when it answered (empty when not whitelisted).
    pub leader_mntr: Mntr,
    /// Hosts whose config makes them observers (`:observer` on their
    /// server line, or `peerType=observer`): they serve but do not vote,
    /// so quorum arithmetic leaves them out even while they are down.
    pub observers: Vec<String>,
}

impl View {
    pub fn stats(&self, host: &str) -> Option<&Stats> {
        self.nodes
            .iter()
            .find(|n| n.host == host)
            .and_then(|n| match &n.state {
                NodeState::Serving(s) => Some(s),
                _ => None,
            })
    }

    pub fn leaders(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| n.state.leads())
            .map(|n| n.host.as_str())
            .collect()
    }

    /// The epoch of the one leader: from its zxid, or (when it does not
    /// serve clients) its `currentEpoch`.
    pub fn leader_epoch(&self) -> Option<u32> {
        let [leader] = self.leaders()[..] else {
            return None;
        };
        self.nodes
            .iter()
            .find(|n| n.host == leader)
            .and_then(|n| match &n.state {
                NodeState::Serving(s) => Some(s.epoch()),
                NodeState::Leading { epoch, .. } => *epoch,
                _ => None,
            })
    }

    /// The one leader's zxid, or the start of its epoch when it does not
    /// serve clients (its zxid is not told then).
    pub fn leader_zxid(&self) -> Option<u64> {
        let [leader] = self.leaders()[..] else {
            return None;
        };
        match self.stats(leader) {
            Some(s) => Some(s.zxid),
            None => self.leader_epoch().map(|e| u64::from(e) << 32),
        }
    }

    /// Whether the config makes `host` an observer.
    pub fn is_observer(&self, host: &str) -> bool {
        self.observers.iter().any(|o| o == host)
    }

    /// Voters: every node that is not an observer, by its config or by
    /// what it serves as (a down voter still counts: it is owed a vote).
    pub fn voters(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| !self.is_observer(&n.host))
            .filter(|n| !matches!(&n.state, NodeState::Serving(s) if s.mode == Mode::Observer))
            .count()
    }

    /// Voters in the quorum now (leading or following), but those in `except`.
    fn serving_voters<'a>(&'a self, except: &'a [&'a str]) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes
            .iter()
            .filter(move |n| !except.contains(&n.host.as_str()))
            .filter(|n| match &n.state {
                NodeState::Serving(s) => matches!(s.mode, Mode::Leader | Mode::Follower),
                NodeState::Leading { .. } => true,
                _ => false,
            })
    }

    /// One object per node, for `--status --output json`.
    pub fn to_json(&self) -> Vec<serde_json::Value> {
        self.nodes
            .iter()
            .map(|n| match &n.state {
                NodeState::Serving(s) => serde_json::json!({
                    "host": n.host,
                    "state": "serving",
                    "mode": s.mode.as_str(),
                    "zxid": format!("0x{:x}", s.zxid),
                    "epoch": s.epoch(),
                    "clients": s.connections.map(|c| c.saturating_sub(1)),
                    "version": s.version,
                }),
                NodeState::NotServing => {
                    serde_json::json!({"host": n.host, "state": "not-serving"})
                }
                NodeState::Down => serde_json::json!({"host": n.host, "state": "down"}),
                NodeState::Unknown(e) => {
                    serde_json::json!({"host": n.host, "state": "unknown", "detail": e})
                }
                NodeState::Unexpected(t) => {
                    serde_json::json!({"host": n.host, "state": "unexpected", "detail": t})
                }
                NodeState::Leading { epoch, evidence } => serde_json::json!({
                    "host": n.host,
                    "state": "leading-not-serving",
                    "mode": "leader",
                    "epoch": epoch,
                    "detail": evidence,
                }),
            })
            .collect()
    }

    /// A table for messages: one line per node.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            let state = match &n.state {
                NodeState::Serving(s) => format!(
                    "{:<9} zxid 0x{:x} (epoch {}){}",
                    s.mode.as_str(),
                    s.zxid,
                    s.epoch(),
                    s.connections
                        // srvr counts the connection that asked it.
                        .map(|c| c.saturating_sub(1))
                        .map(|c| format!(", {c} client{}", if c == 1 { "" } else { "s" }))
                        .unwrap_or_default()
                ),
                NodeState::NotServing => "running, not serving (electing or syncing)".into(),
                NodeState::Down => "down: nothing answers on the client port".into(),
                NodeState::Unknown(e) => format!("unknown: {e}"),
                NodeState::Unexpected(t) => format!("unexpected reply: {t}"),
                NodeState::Leading { epoch, evidence } => format!(
                    "leader    (epoch {}), serves no clients: {evidence}",
                    epoch.map_or("?".to_string(), |e| e.to_string())
                ),
            };
            let _ = writeln!(out, "{:<10} {state}", n.host);
        }
        match self.leader_mntr.synced_followers() {
            Some(s) => {
                let _ = writeln!(out, "leader counts {s} synced followers");
            }
            None if self
                .nodes
                .iter()
                .any(|n| matches!(n.state, NodeState::Leading { .. })) =>
            {
                let _ = writeln!(
                    out,
                    "the leader serves no clients (leaderServes=no), so its mntr says nothing: synced \
                     followers not counted; each follower's own Mode is trusted instead"
                );
            }
            None if self.leaders().len() == 1 => {
                let _ = writeln!(
                    out,
                    "leader's mntr not answered (not in 4lw.commands.whitelist?): synced followers \
                     not counted; each follower's own Mode is trusted instead"
                );
            }
            None => {}
        }
        out
    }
}

/// Majority of `voters`.
pub fn quorum(voters: usize) -> usize {
    voters / 2 + 1
}

/// Every voter serves, exactly one leads, all share one epoch, and the
/// leader (when `mntr` answers) counts every other voter as synced.
pub fn healthy(v: &View) -> Result<(), String> {
    healthy_except(v, &[])
}

/// `healthy`, with the nodes in `busy` allowed not to serve: the other hosts
/// of a batch, still in their own turn. Those that do serve count as usual.
pub fn healthy_except(v: &View, busy: &[&str]) -> Result<(), String> {
    let away = v
        .nodes
        .iter()
        .filter(|n| busy.contains(&n.host.as_str()) && !n.state.in_service())
        .filter(|n| !v.is_observer(&n.host))
        .count();
    let voters = v.voters().saturating_sub(away);
    let not_serving: Vec<&str> = v
        .nodes
        .iter()
        .filter(|n| !n.state.in_service())
        .filter(|n| !busy.contains(&n.host.as_str()))
        .map(|n| n.host.as_str())
        .collect();
    // A word left out of `4lw.commands.whitelist` is answered with one line
    // that says so: not a node that is down, a node zkrun cannot read.
    let unreadable: Vec<&str> = v
        .nodes
        .iter()
        .filter(
            |n| matches!(&n.state, NodeState::Unexpected(t) if t.contains("not in the whitelist")),
        )
        .map(|n| n.host.as_str())
        .collect();
    if !unreadable.is_empty() {
        return Err(format!(
            "{} answer{} `srvr` with \"not in the whitelist\": zkrun needs `srvr`, and uses `ruok`, \
             `mntr` and `conf` when they answer; add them to 4lw.commands.whitelist (a restart of each \
             node applies it)",
            unreadable.join(", "),
            if unreadable.len() == 1 { "s" } else { "" }
        ));
    }
    if !not_serving.is_empty() {
        return Err(format!("not serving: {}", not_serving.join(", ")));
    }
    // A one-node ensemble has no leader: it serves standalone.
    if let [only] = &v.nodes[..]
        && matches!(&only.state, NodeState::Serving(s) if s.mode == Mode::Standalone)
    {
        return Ok(());
    }
    standalone_members(v)?;
    if let Some(n) = v.nodes.iter().find(|n| {
        matches!(&n.state, NodeState::Serving(s) if s.mode == Mode::Observer)
            && !v.is_observer(&n.host)
    }) && !v.observers.is_empty()
    {
        return Err(format!(
            "{} serves as an observer, but its config makes it a voter",
            n.host
        ));
    }
    let leaders = v.leaders();
    if leaders.len() != 1 {
        return Err(format!(
            "{} leaders ({}), expected exactly one",
            leaders.len(),
            leaders.join(", ")
        ));
    }
    // A follower reports the zxid of the last transaction it applied, so on
    // an idle ensemble it lags the leader's epoch until the next write; only
    // a node *ahead* of the leader's epoch is wrong.
    if let Some(leader_epoch) = v.leader_epoch()
        && let Some(ahead) = v
            .nodes
            .iter()
            .find(|n| matches!(&n.state, NodeState::Serving(s) if s.epoch() > leader_epoch))
    {
        return Err(format!(
            "{} reports an epoch newer than the leader's ({leader_epoch})",
            ahead.host
        ));
    }
    if away > 0 && voters < quorum(v.voters()) {
        return Err(format!(
            "only {voters} of {} voters serve; a quorum needs {}",
            v.voters(),
            quorum(v.voters())
        ));
    }
    if let Some(synced) = v.leader_mntr.synced_followers()
        && synced as usize != voters.saturating_sub(1)
    {
        return Err(format!(
            "the leader counts {synced} synced followers, expected {}",
            voters.saturating_sub(1)
        ));
    }
    Ok(())
}

/// A member of a play of several hosts that serves `standalone` runs as an
/// ensemble of its own (started with a config without server lines): it
/// is never healthy, whatever the others say.
fn standalone_members(v: &View) -> Result<(), String> {
    if v.nodes.len() < 2 {
        return Ok(());
    }
    let alone: Vec<&str> = v
        .nodes
        .iter()
        .filter(|n| matches!(&n.state, NodeState::Serving(s) if s.mode == Mode::Standalone))
        .map(|n| n.host.as_str())
        .collect();
    if alone.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} serve{} standalone: not a member of this ensemble (started with a config \
         without server lines?); restart it with the ensemble's config",
        alone.join(", "),
        if alone.len() == 1 { "s" } else { "" }
    ))
}

/// Without the hosts in `out` (a batch, stopped together), the other
/// voters still form a serving quorum under one leader, and (when `mntr`
/// answers) enough of them are synced with it.
pub fn quorum_without(v: &View, out: &[&str]) -> Result<(), String> {
    let voters = v.voters();
    let need = quorum(voters);
    let others = v.serving_voters(out).count();
    let without = out.join(", ");
    if others < need {
        return Err(format!(
            "without {without}, {others} of {voters} voters would serve; a quorum needs {need}"
        ));
    }
    standalone_members(v)?;
    let leaders = v.leaders();
    if leaders.len() != 1 {
        return Err(format!("{} leaders, expected exactly one", leaders.len()));
    }
    if let Some(synced) = v.leader_mntr.synced_followers() {
        // Synced voters: the leader plus its synced followers, less those
        // of them that go out (a leader going out takes none with it: the
        // remaining voters elect a new one among themselves).
        let going: u64 = out
            .iter()
            .filter(|h| v.stats(h).is_some_and(|s| s.mode == Mode::Follower))
            .count() as u64;
        let synced_after = if out.contains(&leaders[0]) {
            synced.saturating_sub(going)
        } else {
            synced.saturating_add(1).saturating_sub(going.min(synced))
        };
        if (synced_after as usize) < need {
            return Err(format!(
                "without {without}, only {synced_after} voters would be synced with the leader; a quorum needs {need}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, mode: Option<Mode>, zxid: u64) -> Node {
        Node {
            host: host.into(),
            state: match mode {
                Some(mode) => NodeState::Serving(Stats {
                    version: "3.8.0".into(),
                    mode,
                    zxid,
                    connections: None,
                    outstanding: None,
                    node_count: None,
                    latency: None,
                }),
                None => NodeState::Down,
            },
        }
    }

    fn mntr(synced: u64) -> Mntr {
        super::super::fourlw::parse_mntr(&format!("zk_synced_followers\t{synced}\n"))
    }

    #[test]
    fn a_full_ensemble_is_healthy() {
        let v = View {
            nodes: vec![
                node("zk1", Some(Mode::Follower), 0x1_0000_0003),
                node("zk2", Some(Mode::Leader), 0x1_0000_0003),
                node("zk3", Some(Mode::Follower), 0x1_0000_0002),
            ],
            leader_mntr: mntr(2),
            observers: vec![],
        };
        assert_eq!(healthy(&v), Ok(()));
        assert_eq!(quorum_without(&v, &["zk1"]), Ok(()));
        assert_eq!(quorum_without(&v, &["zk2"]), Ok(()));
    }

    #[test]
    fn an_inventory_missing_members_and_a_standalone_node() {
        let id = |host: &str, myid: u32, servers: usize| Identity {
            host: host.into(),
            address: format!("10.0.0.{myid}"),
            myid: Some(myid),
            servers: (1..=servers as u32)
                .map(|n| crate::zk::config::parse_server(n, &format!("10.0.0.{n}:2888:3888")))
                .collect(),
            peer_observer: false,
            resolved: Default::default(),
            config_error: None,
        };
        let e = identities(&[id("zk1", 1, 5), id("zk2", 2, 5), id("zk3", 3, 5)]).unwrap_err();
        assert!(
            e.contains("lists 5 servers but the play has 3 hosts"),
            "{e}"
        );
        assert_eq!(identities(&[id("zk1", 1, 0)]), Ok(()));
        let alone = View {
            nodes: vec![node("zk1", Some(Mode::Standalone), 0x1)],
            leader_mntr: Mntr::default(),
            observers: vec![],
        };
        assert_eq!(healthy(&alone), Ok(()));
    }

    #[test]
    fn two_leaders_or_none_are_refused_by_every_check() {
        // Two leaders: an inventory spanning two ensembles, or a partition
        // healing. Neither the preflight nor a gate may pass.
        let split = View {
            nodes: vec![
                node("zk1", Some(Mode::Leader), 0x2_0000_0001),
                node("zk2", Some(Mode::Follower), 0x2_0000_0001),
                node("zk3", Some(Mode::Leader), 0x3_0000_0001),
            ],
            leader_mntr: Mntr::default(),
            observers: vec![],
        };
        assert!(
            healthy(&split)
                .unwrap_err()
                .contains("2 leaders (zk1, zk3)")
        );
        assert!(
            quorum_without(&split, &["zk2"])
                .unwrap_err()
                .contains("2 leaders")
        );
        let leaderless = View {
            nodes: vec![
                node("zk1", Some(Mode::Follower), 0x2_0000_0001),
                node("zk2", Some(Mode::Follower), 0x2_0000_0001),
                node("zk3", Some(Mode::Follower), 0x2_0000_0001),
            ],
            leader_mntr: Mntr::default(),
            observers: vec![],
        };
        assert!(healthy(&leaderless).unwrap_err().contains("0 leaders"));
        assert!(quorum_without(&leaderless, &["zk1"]).is_err());
    }

    #[test]
    fn a_down_node_leaves_no_slack_in_three() {
        let v = View {
            nodes: vec![
                node("zk1", None, 0),
                node("zk2", Some(Mode::Leader), 0x1_0000_0003),
                node("zk3", Some(Mode::Follower), 0x1_0000_0003),
            ],
            leader_mntr: mntr(1),
            observers: vec![],
        };
        assert!(healthy(&v).unwrap_err().contains("not serving: zk1"));
        // zk1 is already down: taking it out changes nothing.
        assert_eq!(quorum_without(&v, &["zk1"]), Ok(()));
        let e = quorum_without(&v, &["zk3"]).unwrap_err();
        assert!(
            e.contains("1 of 3 voters would serve; a quorum needs 2"),
            "{e}"
        );
    }

    #[test]
    fn unsynced_followers_and_split_epochs_are_unhealthy() {
        let mut v = View {
            nodes: vec![
                node("zk1", Some(Mode::Follower), 0x2_0000_0001),
                node("zk2", Some(Mode::Leader), 0x2_0000_0001),
                node("zk3", Some(Mode::Follower), 0x2_0000_0001),
            ],
            leader_mntr: mntr(1),
            observers: vec![],
        };
        assert!(
            healthy(&v)
                .unwrap_err()
                .contains("1 synced followers, expected 2")
        );
        v.leader_mntr = mntr(2);
        // Lagging behind the leader's epoch is normal on an idle ensemble...
        v.nodes[0] = node("zk1", Some(Mode::Follower), 0x1_0000_0009);
        assert_eq!(healthy(&v), Ok(()));
        // ...being ahead of it is not.
        v.nodes[0] = node("zk1", Some(Mode::Follower), 0x3_0000_0001);
        assert!(healthy(&v).unwrap_err().contains("epoch newer"));
    }

    #[test]
    fn a_batch_is_gated_as_a_whole() {
        let five = |synced| View {
            nodes: vec![
                node("zk1", Some(Mode::Follower), 0x1_0000_0001),
                node("zk2", Some(Mode::Follower), 0x1_0000_0001),
                node("zk3", Some(Mode::Follower), 0x1_0000_0001),
                node("zk4", Some(Mode::Follower), 0x1_0000_0001),
                node("zk5", Some(Mode::Leader), 0x1_0000_0001),
            ],
            leader_mntr: mntr(synced),
            observers: vec![],
        };
        // Each alone passes; two of three together do not.
        let three = View {
            nodes: five(4).nodes[2..].to_vec(),
            leader_mntr: mntr(2),
            observers: vec![],
        };
        assert_eq!(quorum_without(&three, &["zk3"]), Ok(()));
        let e = quorum_without(&three, &["zk3", "zk4"]).unwrap_err();
        assert!(
            e.contains("without zk3, zk4, 1 of 3 voters would serve"),
            "{e}"
        );
        // Five voters keep a quorum of three without any two.
        assert_eq!(quorum_without(&five(4), &["zk1", "zk2"]), Ok(()));
        assert!(quorum_without(&five(4), &["zk1", "zk2", "zk3"]).is_err());
        // Two followers unsynced: only zk5 + 2 synced remain without zk1, zk2.
        let e = quorum_without(&five(2), &["zk1", "zk2"]).unwrap_err();
        assert!(e.contains("voters would be synced"), "{e}");
    }

    #[test]
    fn a_standalone_member_is_never_healthy() {
        let v = View {
            nodes: vec![
                node("zk1", Some(Mode::Follower), 0x1_0000_0001),
                node("zk2", Some(Mode::Leader), 0x1_0000_0001),
                node("zk3", Some(Mode::Standalone), 0x1_0000_0001),
            ],
            // mntr not answered: the case that used to pass.
            leader_mntr: Mntr::default(),
            observers: vec![],
        };
        let e = healthy(&v).unwrap_err();
        assert!(e.contains("zk3 serves standalone"), "{e}");
        assert!(quorum_without(&v, &["zk1"]).is_err());
    }

    #[test]
    fn configured_observers_do_not_vote_even_when_down() {
        let v = View {
            nodes: vec![
                node("zk1", Some(Mode::Follower), 0x1_0000_0001),
                node("zk2", Some(Mode::Follower), 0x1_0000_0001),
                node("zk3", Some(Mode::Leader), 0x1_0000_0001),
                node("zk4", Some(Mode::Observer), 0x1_0000_0001),
                node("zk5", None, 0),
            ],
            leader_mntr: mntr(2),
            observers: vec!["zk4".into(), "zk5".into()],
        };
        assert_eq!(v.voters(), 3);
        // Taking an observer out costs the quorum nothing; a voter is gated
        // against the three voters, not five nodes.
        assert_eq!(quorum_without(&v, &["zk4"]), Ok(()));
        assert_eq!(quorum_without(&v, &["zk1"]), Ok(()));
        assert!(quorum_without(&v, &["zk1", "zk2"]).is_err());
        assert!(healthy(&v).unwrap_err().contains("not serving: zk5"));
        let mut up = v.clone();
        up.nodes[4] = node("zk5", Some(Mode::Observer), 0x1_0000_0001);
        assert_eq!(healthy(&up), Ok(()));
    }

    #[test]
    fn a_verify_waits_for_its_own_node_not_the_rest_of_its_batch() {
        let v = View {
            nodes: vec![
                node("zk1", Some(Mode::Follower), 0x1_0000_0001),
                node("zk2", None, 0),
                node("zk3", Some(Mode::Follower), 0x1_0000_0001),
                node("zk4", Some(Mode::Follower), 0x1_0000_0001),
                node("zk5", Some(Mode::Leader), 0x1_0000_0001),
            ],
            leader_mntr: mntr(3),
            observers: vec![],
        };
        assert!(healthy(&v).unwrap_err().contains("not serving: zk2"));
        // zk2 is zk1's batch mate, still in its maintenance.
        assert_eq!(healthy_except(&v, &["zk2"]), Ok(()));
        // Its own sync still counts: with zk1 unsynced the leader has 2.
        let mut unsynced = v.clone();
        unsynced.leader_mntr = mntr(2);
        assert!(healthy_except(&unsynced, &["zk2"]).is_err());
    }

    #[test]
    fn a_leader_that_serves_no_clients_still_leads() {
        let v = View {
            nodes: vec![
                node("zk1", Some(Mode::Follower), 0x2_0000_0004),
                node("zk2", Some(Mode::Follower), 0x2_0000_0004),
                Node {
                    host: "zk3".into(),
                    state: NodeState::Leading {
                        epoch: Some(2),
                        evidence: "leaderServes=no".into(),
                    },
                },
            ],
            leader_mntr: Mntr::default(),
            observers: vec![],
        };
        assert_eq!(v.leaders(), ["zk3"]);
        assert_eq!(v.leader_epoch(), Some(2));
        assert_eq!(v.leader_zxid(), Some(0x2_0000_0000));
        assert_eq!(healthy(&v), Ok(()));
        assert_eq!(quorum_without(&v, &["zk1"]), Ok(()));
        assert_eq!(quorum_without(&v, &["zk3"]), Ok(()));
        assert!(quorum_without(&v, &["zk1", "zk2"]).is_err());
        assert!(v.table().contains("serves no clients: leaderServes=no"));
    }

    #[test]
    fn a_whitelist_without_srvr_says_which_words_zkrun_needs() {
        let refused = |h: &str| Node {
            host: h.into(),
            state: NodeState::Unexpected(
                "srvr is not executed because it is not in the whitelist.".into(),
            ),
        };
        let v = View {
            nodes: vec![refused("zk1"), refused("zk2"), refused("zk3")],
            leader_mntr: Mntr::default(),
            observers: vec![],
        };
        let e = healthy(&v).unwrap_err();
        assert!(
            e.starts_with("zk1, zk2, zk3 answer `srvr` with \"not in the whitelist\"")
                && e.contains("4lw.commands.whitelist"),
            "{e}"
        );
    }
}
