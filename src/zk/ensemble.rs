//! The ensemble as seen at one moment, and the verdicts zkrun gates on.
//! Pure: the view is built by `probe`, judged here.

use std::fmt::Write as _;

use super::Mode;
use super::config::{Role, Server};
use super::fourlw::{Mntr, Stats};

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
            .filter(|n| matches!(&n.state, NodeState::Serving(s) if s.mode == Mode::Leader))
            .map(|n| n.host.as_str())
            .collect()
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

    fn serving_voters<'a>(&'a self, except: &'a [&'a str]) -> impl Iterator<Item = &'a Stats> + 'a {
        self.nodes
            .iter()
            .filter(move |n| !except.contains(&n.host.as_str()))
            .filter_map(|n| match &n.state {
                NodeState::Serving(s) if matches!(s.mode, Mode::Leader | Mode::Follower) => Some(s),
                _ => None,
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
            };
            let _ = writeln!(out, "{:<10} {state}", n.host);
        }
        match self.leader_mntr.synced_followers() {
            Some(s) => {
                let _ = writeln!(out, "leader counts {s} synced followers");
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

/// What a host says about itself: its myid and its config's server lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub host: String,
    /// The address the node's client port listens on (and usually its quorum address).
    pub address: String,
    pub myid: Option<u32>,
    pub servers: Vec<Server>,
    /// `peerType=observer` in its own config.
    pub peer_observer: bool,
}

impl Identity {
    /// Whether this node is configured as an observer. Its server line
    /// decides, as in ZooKeeper 3.5+ (`QuorumPeerConfig.setupPeerType`: a
    /// `peerType` that disagrees is overridden, "Defaulting to servers
    /// list"); `peerType` alone counts only without server lines.
    pub fn is_observer(&self) -> bool {
        match self
            .myid
            .and_then(|id| self.servers.iter().find(|s| s.id == id))
        {
            Some(s) => s.role == Role::Observer,
            None => self.peer_observer,
        }
    }
}

/// The hosts configured as observers.
pub fn observers(ids: &[Identity]) -> Vec<String> {
    ids.iter()
        .filter(|i| i.is_observer())
        .map(|i| i.host.clone())
        .collect()
}

/// Each host's `myid` is a number with a `server.<myid>=` line that names
/// this host: a wrong or missing myid keeps a node out of the quorum after a
/// restart (`myid file is missing`, `not in the peer list`).
pub fn identities(ids: &[Identity]) -> Result<(), String> {
    // A single standalone server has no server lines, and needs none.
    if let [only] = ids
        && only.servers.is_empty()
    {
        return Ok(());
    }
    let mut problems = Vec::new();
    // Quorum arithmetic needs every member: a node the play does not know
    // could be the one already down.
    for id in ids {
        if !id.servers.is_empty() && id.servers.len() != ids.len() {
            problems.push(format!(
                "{}: its config lists {} servers but the play has {} hosts; list every member of the ensemble in the inventory",
                id.host,
                id.servers.len(),
                ids.len()
            ));
            break;
        }
    }
    for id in ids {
        let Some(myid) = id.myid else {
            problems.push(format!("{}: myid is missing or not a number", id.host));
            continue;
        };
        match id.servers.iter().find(|s| s.id == myid) {
            None => problems.push(format!(
                "{}: myid {myid} has no server.{myid} line in its config",
                id.host
            )),
            Some(server) => {
                let named = server.host.as_str();
                if named != id.address && named != id.host && named != "0.0.0.0" {
                    problems.push(format!(
                        "{}: server.{myid} names {named}, not this host ({})",
                        id.host, id.address
                    ));
                }
            }
        }
    }
    let mut seen = std::collections::HashMap::new();
    for id in ids {
        if let Some(m) = id.myid
            && let Some(other) = seen.insert(m, &id.host)
        {
            problems.push(format!("{} and {} both have myid {m}", other, id.host));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Elections counted from the leader's epoch (the high 32 bits of its
/// zxid), which every successful election raises: unlike leader names, a
/// leader re-elected after losing its quorum still shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elections {
    pub before: u32,
    pub after: u32,
    pub count: u32,
    /// One per restart of the node that led at the time.
    pub expected: u32,
}

impl Elections {
    pub fn count(before: u32, after: u32, leader_restarts: u32) -> Elections {
        Elections {
            before,
            after,
            count: after.saturating_sub(before),
            expected: leader_restarts,
        }
    }

    /// More elections than leader restarts: the ensemble lost its quorum
    /// (or its leader) during the run.
    pub fn quorum_lost(&self) -> bool {
        self.count > self.expected
    }

    pub fn describe(&self) -> String {
        let s = |n: u32| if n == 1 { "" } else { "s" };
        let base = format!(
            "{} election{} (epoch {} → {}), {} expected for {} leader restart{}",
            self.count,
            s(self.count),
            self.before,
            self.after,
            self.expected,
            self.expected,
            s(self.expected)
        );
        if self.quorum_lost() {
            format!(
                "QUORUM LOST: {base}: the ensemble lost its quorum or its leader during the run"
            )
        } else {
            base
        }
    }
}

/// Leader restarts recorded by stops (`host/leader_restarts`: how often the
/// host was stopped while it led).
pub fn leader_restarts(facts: &std::collections::HashMap<String, String>) -> u32 {
    facts
        .iter()
        .filter(|(k, _)| k.ends_with("/leader_restarts"))
        .filter_map(|(_, v)| v.parse::<u32>().ok())
        .fold(0u32, u32::saturating_add)
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
        .filter(|n| busy.contains(&n.host.as_str()) && !matches!(n.state, NodeState::Serving(_)))
        .filter(|n| !v.is_observer(&n.host))
        .count();
    let voters = v.voters().saturating_sub(away);
    let not_serving: Vec<&str> = v
        .nodes
        .iter()
        .filter(|n| !matches!(n.state, NodeState::Serving(_)))
        .filter(|n| !busy.contains(&n.host.as_str()))
        .map(|n| n.host.as_str())
        .collect();
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
    let leader_epoch = v.stats(leaders[0]).map_or(0, Stats::epoch);
    if let Some(ahead) = v
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

/// Unmeasured, an outage is not assumed small: data this large (znodes,
/// from `srvr`) makes a new leader's sync take seconds.
pub const LARGE_DATA_ZNODES: u64 = 100_000;

/// Unmeasured, sessions this short or shorter are at risk: a busy
/// ensemble's election and sync can take several seconds.
pub const SHORT_SESSION_MS: u64 = 10_000;

/// Restarting the leader leaves every client of the ensemble without a
/// server for an election. A session whose timeout is not well above that
/// may expire, and its ephemeral nodes (locks, registrations) vanish.
/// `measured_outage_ms`: the leader's worst leader-unavailable time from
/// `mntr`, None when `mntr` is not answered; `znodes`: the leader's `srvr`
/// node count. Returns the line to show and whether it is a warning.
pub fn session_check(
    bounds: (u64, u64),
    measured_outage_ms: Option<u64>,
    znodes: Option<u64>,
) -> (String, bool) {
    let (min, max) = bounds;
    let secs = |ms: u64| format!("{:.1}s", ms as f64 / 1000.0);
    let range = format!("client sessions may negotiate {}–{}", secs(min), secs(max));
    let Some(outage) = measured_outage_ms else {
        let data = znodes.map(|n| format!(", {n} znodes")).unwrap_or_default();
        let line = format!(
            "{range}; expected leader outage unknown (not measured by the leader's mntr{data})"
        );
        let large = znodes.is_some_and(|n| n >= LARGE_DATA_ZNODES);
        if large || min <= SHORT_SESSION_MS {
            let why = if large {
                "with this much data a new leader's sync can take seconds"
            } else {
                "a busy ensemble's election can take seconds"
            };
            return (
                format!(
                    "{line}: {why}, and sessions near {} may expire when the leader restarts; \
                     measure it: whitelist mntr (4lw.commands.whitelist) on a ZooKeeper that reports \
                     zk_max_leader_unavailable_time (3.6+), or time a leader restart in staging",
                    secs(min)
                ),
                true,
            );
        }
        return (line, false);
    };
    let line = format!(
        "{range}; expected leader outage {} (the leader's mntr, worst so far)",
        secs(outage)
    );
    if outage.saturating_mul(2) >= min {
        (
            format!(
                "{line}: clients with sessions near {} may expire when the leader restarts \
                 (their ephemeral nodes vanish); raise minSessionTimeout or the clients' timeouts",
                secs(min)
            ),
            true,
        )
    } else {
        (line, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_outage_near_the_smallest_session_is_a_warning() {
        let (line, warn) = session_check((4000, 40000), Some(334), None);
        assert!(!warn, "{line}");
        assert!(
            line.contains("4.0s–40.0s") && line.contains("0.3s"),
            "{line}"
        );
        let (line, warn) = session_check((4000, 40000), Some(2500), None);
        assert!(warn && line.contains("may expire"), "{line}");
        // Unmeasured is unknown, not small: short sessions or much data warn,
        // and the warning says how to measure.
        let (line, warn) = session_check((4000, 40000), None, Some(10));
        assert!(
            warn && line.contains("unknown") && line.contains("whitelist"),
            "{line}"
        );
        let (line, warn) = session_check((30000, 60000), None, Some(2_000_000));
        assert!(warn && line.contains("2000000 znodes"), "{line}");
        let (line, warn) = session_check((30000, 60000), None, Some(50));
        assert!(!warn && line.contains("unknown"), "{line}");
        // Hostile mntr values do not overflow.
        assert!(session_check((4000, 40000), Some(u64::MAX), None).1);
    }

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
    fn myid_must_match_a_server_line_naming_the_host() {
        let id = |host: &str, address: &str, myid: Option<u32>| Identity {
            host: host.into(),
            address: address.into(),
            myid,
            servers: vec![
                crate::zk::config::parse_server(1, "10.0.0.1:2888:3888"),
                crate::zk::config::parse_server(2, "10.0.0.2:2888:3888"),
            ],
            peer_observer: false,
        };
        assert_eq!(
            identities(&[
                id("zk1", "10.0.0.1", Some(1)),
                id("zk2", "10.0.0.2", Some(2))
            ]),
            Ok(())
        );
        let e = identities(&[
            id("zk1", "10.0.0.1", Some(2)),
            id("zk2", "10.0.0.2", Some(2)),
        ])
        .unwrap_err();
        assert!(e.contains("zk1: server.2 names 10.0.0.2"), "{e}");
        assert!(e.contains("both have myid 2"), "{e}");
        assert!(
            identities(&[id("zk1", "10.0.0.1", Some(7))])
                .unwrap_err()
                .contains("no server.7 line")
        );
        assert!(
            identities(&[id("zk1", "10.0.0.1", None)])
                .unwrap_err()
                .contains("missing")
        );
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
    fn elections_come_from_epochs() {
        let e = Elections::count(1, 2, 1);
        assert!(!e.quorum_lost());
        let e = Elections::count(1, 3, 1);
        assert!(e.quorum_lost() && e.describe().starts_with("QUORUM LOST"));
        let mut facts = std::collections::HashMap::new();
        // Counted per stop of the leader of the moment: zk3 twice (a
        // recovery, then its turn again), not overwritten.
        facts.insert("zk3/leader_restarts".to_string(), "2".to_string());
        facts.insert(
            "zk1/leader_zxid_before_stop".to_string(),
            "zk3 0x100000001".to_string(),
        );
        assert_eq!(leader_restarts(&facts), 2);
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
    fn the_server_line_decides_the_role_over_peer_type() {
        let id = |line: &str, peer_observer| Identity {
            host: "zk4".into(),
            address: "10.0.0.4".into(),
            myid: Some(4),
            servers: vec![crate::zk::config::parse_server(4, line)],
            peer_observer,
        };
        // A stale peerType=observer on a voter's line: ZooKeeper runs a voter.
        assert!(!id("10.0.0.4:2888:3888", true).is_observer());
        assert!(id("10.0.0.4:2888:3888:observer", false).is_observer());
    }
}
