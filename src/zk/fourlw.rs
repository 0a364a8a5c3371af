//! Four-letter words: what to send, and typed parsing of the replies.
//!
//! Only `srvr` is enabled on a stock 3.8 server; `mntr` and `conf` need
//! `4lw.commands.whitelist`. Parsers take the raw reply and never panic.

use std::collections::HashMap;

use super::Mode;

/// A node's `srvr` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Srvr {
    /// The node answers clients: it has a mode and a zxid.
    Serving(Stats),
    /// "This ZooKeeper instance is not currently serving requests": running,
    /// but looking for a leader or still syncing with it.
    NotServing,
    /// Connected, but the reply made no sense (a command outside the
    /// whitelist, or something that is not ZooKeeper).
    Unexpected(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub version: String,
    pub mode: Mode,
    pub zxid: u64,
    pub connections: Option<u64>,
    pub outstanding: Option<u64>,
    pub node_count: Option<u64>,
    /// "min/avg/max" in milliseconds, as printed.
    pub latency: Option<String>,
}

impl Stats {
    /// The high 32 bits of the zxid: the leader's epoch.
    pub fn epoch(&self) -> u32 {
        (self.zxid >> 32) as u32
    }
}

pub fn parse_srvr(reply: &str) -> Srvr {
    if reply.contains("not currently serving requests") {
        return Srvr::NotServing;
    }
    let mut fields: HashMap<&str, &str> = HashMap::new();
    for line in reply.lines() {
        if let Some((k, v)) = line.split_once(':') {
            fields.insert(k.trim(), v.trim());
        }
    }
    let mode = fields.get("Mode").and_then(|m| parse_mode(m));
    let zxid = fields
        .get("Zxid")
        .and_then(|z| u64::from_str_radix(z.trim_start_matches("0x"), 16).ok());
    match (mode, zxid) {
        (Some(mode), Some(zxid)) => Srvr::Serving(Stats {
            version: fields
                .get("Zookeeper version")
                .map(|v| v.split(',').next().unwrap_or(v).trim().to_string())
                .unwrap_or_default(),
            mode,
            zxid,
            connections: fields.get("Connections").and_then(|v| v.parse().ok()),
            outstanding: fields.get("Outstanding").and_then(|v| v.parse().ok()),
            node_count: fields.get("Node count").and_then(|v| v.parse().ok()),
            latency: fields.get("Latency min/avg/max").map(|v| v.to_string()),
        }),
        _ => Srvr::Unexpected(reply.lines().next().unwrap_or("").trim().to_string()),
    }
}

pub fn parse_mode(m: &str) -> Option<Mode> {
    Some(match m.trim() {
        "leader" => Mode::Leader,
        "follower" => Mode::Follower,
        "observer" => Mode::Observer,
        "standalone" => Mode::Standalone,
        "read-only" => Mode::ReadOnly,
        _ => return None,
    })
}

/// `mntr`: `zk_<key>\t<value>` lines. Empty when the word is not whitelisted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mntr(pub HashMap<String, String>);

pub fn parse_mntr(reply: &str) -> Mntr {
    Mntr(
        reply
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(k, _)| k.starts_with("zk_"))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect(),
    )
}

impl Mntr {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn number(&self, key: &str) -> Option<f64> {
        self.0.get(key).and_then(|v| v.parse().ok())
    }

    /// Voting followers the leader has handed to broadcast (leader only).
    pub fn synced_followers(&self) -> Option<u64> {
        self.number("zk_synced_followers").map(|n| n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOLLOWER: &str = "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-06-16 14:18 UTC\nLatency min/avg/max: 0/0.4/12\nReceived: 123\nSent: 122\nConnections: 3\nOutstanding: 0\nZxid: 0x200000007\nMode: follower\nNode count: 42\n";

    #[test]
    fn srvr_of_a_serving_follower() {
        let Srvr::Serving(s) = parse_srvr(FOLLOWER) else {
            panic!()
        };
        assert_eq!(s.mode, Mode::Follower);
        assert_eq!(s.zxid, 0x2_0000_0007);
        assert_eq!(s.epoch(), 2);
        assert_eq!(s.connections, Some(3));
        assert_eq!(s.node_count, Some(42));
        assert_eq!(s.version, "3.8.0-${mvngit.commit.id}");
    }

    #[test]
    fn srvr_of_a_node_that_is_not_serving_or_not_zookeeper() {
        assert_eq!(
            parse_srvr("This ZooKeeper instance is not currently serving requests\n"),
            Srvr::NotServing
        );
        assert!(matches!(
            parse_srvr("SSH-2.0-OpenSSH_9.2"),
            Srvr::Unexpected(_)
        ));
        assert!(matches!(parse_srvr(""), Srvr::Unexpected(_)));
    }

    #[test]
    fn mntr_keys_and_the_whitelist_refusal() {
        let m = parse_mntr("zk_version\t3.8.0\nzk_server_state\tleader\nzk_synced_followers\t2\n");
        assert_eq!(m.synced_followers(), Some(2));
        assert!(
            parse_mntr("mntr is not executed because it is not in the whitelist.\n").is_empty()
        );
    }

    /// Replies captured from the testbed's Debian 3.8.0 nodes (after a roll
    /// and a write), kept verbatim in tests/fixtures/zk.
    fn captured(name: &str) -> String {
        let path = format!("{}/tests/fixtures/zk/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn captured_srvr_replies() {
        let Srvr::Serving(l) = parse_srvr(&captured("srvr-leader.txt")) else {
            panic!("leader")
        };
        assert_eq!(
            (l.mode, l.zxid, l.epoch()),
            (Mode::Leader, 0x2_0000_0001, 2)
        );
        assert_eq!(l.node_count, Some(6));
        assert_eq!(l.latency.as_deref(), Some("0/0.0/0"));
        let Srvr::Serving(f) = parse_srvr(&captured("srvr-follower.txt")) else {
            panic!("follower")
        };
        assert_eq!((f.mode, f.connections), (Mode::Follower, Some(1)));
        assert_eq!(
            parse_srvr(&captured("srvr-not-serving.txt")),
            Srvr::NotServing
        );
        // A word outside the whitelist gets one line back, not a mode.
        assert!(matches!(
            parse_srvr(&captured("not-whitelisted.txt")),
            Srvr::Unexpected(t) if t.contains("not in the whitelist")
        ));
    }

    #[test]
    fn captured_mntr_replies() {
        let leader = parse_mntr(&captured("mntr-leader.txt"));
        assert_eq!(leader.synced_followers(), Some(2));
        assert_eq!(leader.number("zk_max_election_time"), Some(213.0));
        assert_eq!(leader.number("zk_avg_follower_sync_time"), Some(28.0));
        assert_eq!(leader.number("zk_max_leader_unavailable_time"), Some(334.0));
        // Followers have no synced-follower count; a node that does not
        // serve answers mntr with the not-serving line, which is no data.
        assert_eq!(
            parse_mntr(&captured("mntr-follower.txt")).synced_followers(),
            None
        );
        assert!(parse_mntr(&captured("not-whitelisted.txt")).is_empty());
        let looking = parse_mntr(&captured("mntr-not-serving.txt"));
        assert_eq!(looking.synced_followers(), None);
    }
}
