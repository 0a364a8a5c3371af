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
    /// How the host itself sees its `server.<myid>` line: the addresses its
    /// resolver gives for the line's name, and the host's own addresses
    /// (its interfaces and the address its client port is reached at).
    /// Empty when not asked (unit tests compare names).
    pub resolved: Resolved,
    /// Why the config could not be read (a missing `dynamicConfigFile`).
    pub config_error: Option<String>,
}

/// Names as the host's resolver reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Addresses of the server line's host name, by the host's resolver.
    pub server: Vec<String>,
    /// The host's own addresses.
    pub own: Vec<String>,
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
        if let Some(e) = &id.config_error {
            problems.push(format!("{}: {e}", id.host));
            continue;
        }
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
                if let Err(why) = names_this_host(id, server) {
                    problems.push(format!("{}: server.{myid} {why}", id.host));
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

/// Whether the server line names this host, decided as the host decides:
/// the same string as zkrun's own name or address for it, a wildcard, or a
/// name the host's resolver turns into one of the host's own addresses.
/// Never two namespaces compared as strings (an ssh alias, an inventory IP
/// and a server line's FQDN are all the same host).
fn names_this_host(id: &Identity, server: &Server) -> Result<(), String> {
    let named = server.host.as_str();
    if named == id.address || named == id.host || named == "0.0.0.0" || named == "::" {
        return Ok(());
    }
    let r = &id.resolved;
    if r.server.is_empty() && r.own.is_empty() {
        return Err(format!("names {named}, not this host ({})", id.address));
    }
    if r.server.is_empty() {
        return Err(format!(
            "names {named}, which does not resolve on {} (its resolver, /etc/hosts or DNS, knows no address for it)",
            id.host
        ));
    }
    if r.server.iter().any(|a| r.own.contains(a)) {
        return Ok(());
    }
    Err(format!(
        "names {named}, which resolves on {} to {}: none is one of its own addresses ({})",
        id.host,
        r.server.join(", "),
        r.own.join(", ")
    ))
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
            resolved: Resolved::default(),
            config_error: None,
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
            resolved: Resolved::default(),
            config_error: None,
        };
        // A stale peerType=observer on a voter's line: ZooKeeper runs a voter.
        assert!(!id("10.0.0.4:2888:3888", true).is_observer());
        assert!(id("10.0.0.4:2888:3888:observer", false).is_observer());
    }

    #[test]
    fn a_server_line_is_this_host_when_the_host_resolves_it_to_itself() {
        let id = |server: &str, resolved: &[&str], own: &[&str]| Identity {
            host: "zk1".into(),
            address: "zk1".into(),
            myid: Some(1),
            servers: vec![crate::zk::config::parse_server(1, server)],
            peer_observer: false,
            resolved: Resolved {
                server: resolved.iter().map(|s| s.to_string()).collect(),
                own: own.iter().map(|s| s.to_string()).collect(),
            },
            config_error: None,
        };
        // An ssh alias in the inventory, an IP on the server line.
        assert!(
            names_this_host(
                &id("10.1.0.11:2888:3888", &["10.1.0.11"], &["10.1.0.11"]),
                &id("10.1.0.11:2888:3888", &[], &[]).servers[0]
            )
            .is_ok()
        );
        // An FQDN on the server line, an IPv6 address on the host.
        let fqdn = id(
            "zk1.prod.example:2888:3888",
            &["2001:db8::11"],
            &["10.1.0.11", "2001:db8::11"],
        );
        assert!(names_this_host(&fqdn, &fqdn.servers[0]).is_ok());
        // Another host's address.
        let other = id("zk2.prod.example:2888:3888", &["10.1.0.12"], &["10.1.0.11"]);
        let e = names_this_host(&other, &other.servers[0]).unwrap_err();
        assert!(
            e.contains("resolves on zk1 to 10.1.0.12") && e.contains("10.1.0.11"),
            "{e}"
        );
        // A name the host cannot resolve.
        let nowhere = id("zk9.nowhere:2888:3888", &[], &["10.1.0.11"]);
        assert!(
            names_this_host(&nowhere, &nowhere.servers[0])
                .unwrap_err()
                .contains("does not resolve on zk1")
        );
    }
}
