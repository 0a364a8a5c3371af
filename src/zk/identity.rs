//! Which server each host is: its myid and the config's server lines,
//! and whether the config makes it an observer.

use super::config::{Role, Server};

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

#[cfg(test)]
mod tests {
    use super::*;

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
