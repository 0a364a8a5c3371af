//! ZooKeeper's configuration, read the way ZooKeeper reads it: `zoo.cfg` is
//! a Java properties file (`java.util.Properties.load`), and
//! `QuorumPeerConfig.parseProperties` trims every value. So `key=value`,
//! `key: value` and `key value` are the same, CR line ends and padding do
//! not matter, `#` and `!` start comments, and a line ending in an odd
//! number of backslashes continues on the next. Server lines follow
//! `QuorumPeer.QuorumServer`: `server.N=host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]`,
//! with IPv6 hosts in brackets. The same parser reads a `conf` reply, whose
//! lines have the same shape.

/// A node's role in the ensemble, from its server line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Votes and may lead (`participant`, the default).
    Participant,
    /// Serves clients and follows the leader, but does not vote.
    Observer,
}

/// One `server.N=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub id: u32,
    /// The quorum host as written: a name, an IPv4 address, or an IPv6
    /// address without its brackets.
    pub host: String,
    pub role: Role,
    /// The port followers connect to the leader on (only the leader
    /// listens there).
    pub quorum_port: Option<u16>,
    /// The value as written, for messages.
    pub line: String,
}

/// The settings zkrun needs from a config (file text or a `conf` reply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub data_dir: Option<String>,
    pub data_log_dir: Option<String>,
    pub dynamic_config_file: Option<String>,
    pub servers: Vec<Server>,
    pub tick_time: Option<u64>,
    pub sync_limit: Option<u64>,
    pub min_session_timeout: Option<u64>,
    pub max_session_timeout: Option<u64>,
    /// `4lw.commands.whitelist`, as written (`*` for all).
    pub whitelist: Option<String>,
    /// `peerType=observer` marks this node an observer.
    pub peer_type: Option<String>,
    /// Every key and its trimmed value, later lines winning (as in Java).
    pub all: Vec<(String, String)>,
}

/// ZooKeeper's default `tickTime`, in milliseconds.
const DEFAULT_TICK_MS: u64 = 3000;

impl Config {
    /// The session timeouts clients may negotiate, in milliseconds: the
    /// configured bounds, else ZooKeeper's defaults of 2 and 20 ticks.
    pub fn session_bounds(&self) -> (u64, u64) {
        let tick = self.tick_time.filter(|t| *t > 0).unwrap_or(DEFAULT_TICK_MS);
        (
            self.min_session_timeout
                .filter(|t| *t > 0)
                .unwrap_or(tick.saturating_mul(2)),
            self.max_session_timeout
                .filter(|t| *t > 0)
                .unwrap_or(tick.saturating_mul(20)),
        )
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.all
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `leaderServes` (default yes): whether the leader answers clients.
    /// ZooKeeper reads it as `!"no".equalsIgnoreCase(value)`.
    pub fn leader_serves(&self) -> bool {
        !self
            .get("leaderServes")
            .is_some_and(|v| v.eq_ignore_ascii_case("no"))
    }

    /// The role of server `id`: its line's role; for the node reading its
    /// own config, `peerType=observer` says the same.
    pub fn role_of(&self, id: u32) -> Option<Role> {
        self.servers.iter().find(|s| s.id == id).map(|s| s.role)
    }
}

/// Parses properties text into (key, value) pairs, values trimmed.
pub fn properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut continuing = false;
    // Java ends a line at \n, \r or \r\n: one line end, not two.
    let text = text.replace("\r\n", "\n");
    for raw in text.split(['\n', '\r']) {
        let line = raw.trim_start_matches([' ', '\t', '\x0c']);
        if !continuing {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            logical.clear();
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continuing = true;
            continue;
        }
        logical.push_str(line);
        continuing = false;
        out.push(split_pair(&logical));
    }
    if continuing && !logical.is_empty() {
        out.push(split_pair(&logical));
    }
    out
}

/// Splits one logical line at the first unescaped `=`, `:` or whitespace,
/// unescaping both parts.
fn split_pair(line: &str) -> (String, String) {
    let bytes: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut key_end = bytes.len();
    while i < bytes.len() {
        match bytes[i] {
            '\\' => i += 2,
            '=' | ':' | ' ' | '\t' | '\x0c' => {
                key_end = i;
                break;
            }
            _ => i += 1,
        }
    }
    let key_end = key_end.min(bytes.len());
    let mut v = key_end;
    while v < bytes.len() && matches!(bytes[v], ' ' | '\t' | '\x0c') {
        v += 1;
    }
    if v < bytes.len() && matches!(bytes[v], '=' | ':') {
        v += 1;
    }
    let key: String = bytes[..key_end].iter().collect();
    let value: String = bytes[v.min(bytes.len())..].iter().collect();
    (unescape(&key), unescape(&value).trim().to_string())
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Parses a server line's value (after `server.N=`).
pub fn parse_server(id: u32, value: &str) -> Server {
    let (quorum, _client) = value.split_once(';').unwrap_or((value, ""));
    // Several addresses (3.6+) are separated by `|`: the first names the
    // host; a role may follow any of them, and the last one given counts.
    let split = |addr: &str| -> (String, String) {
        let addr = addr.trim();
        if let Some(after) = addr.strip_prefix('[') {
            match after.split_once(']') {
                Some((h, rest)) => (h.to_string(), rest.trim_start_matches(':').to_string()),
                None => (after.to_string(), String::new()),
            }
        } else {
            match addr.split_once(':') {
                Some((h, rest)) => (h.to_string(), rest.to_string()),
                None => (addr.to_string(), String::new()),
            }
        }
    };
    let addresses: Vec<(String, String)> = quorum.split('|').map(split).collect();
    let host = addresses
        .first()
        .map(|(h, _)| h.clone())
        .unwrap_or_default();
    let role = addresses
        .iter()
        .filter_map(|(_, rest)| {
            let parts: Vec<&str> = rest.split(':').collect();
            match parts.get(2).map(|r| r.trim().to_ascii_lowercase()) {
                Some(r) if r == "observer" => Some(Role::Observer),
                Some(r) if r == "participant" => Some(Role::Participant),
                _ => None,
            }
        })
        .next_back()
        .unwrap_or(Role::Participant);
    let quorum_port = addresses
        .first()
        .and_then(|(_, rest)| rest.split(':').next())
        .and_then(|p| p.trim().parse().ok());
    Server {
        id,
        host,
        role,
        quorum_port,
        line: value.to_string(),
    }
}

pub fn parse(text: &str) -> Config {
    let mut c = Config {
        all: properties(text),
        ..Config::default()
    };
    let pairs = c.all.clone();
    for (k, v) in pairs {
        let num = || v.parse::<u64>().ok();
        match k.as_str() {
            "dataDir" => c.data_dir = Some(v.clone()),
            "dataLogDir" => c.data_log_dir = Some(v.clone()),
            "dynamicConfigFile" => c.dynamic_config_file = Some(v.clone()),
            "tickTime" => c.tick_time = num(),
            "syncLimit" => c.sync_limit = num(),
            "minSessionTimeout" => c.min_session_timeout = num(),
            "maxSessionTimeout" => c.max_session_timeout = num(),
            "4lw.commands.whitelist" => c.whitelist = Some(v.clone()),
            "peerType" => c.peer_type = Some(v.clone()),
            _ => {
                if let Some(id) = k.strip_prefix("server.").and_then(|n| n.parse().ok()) {
                    // A later line for the same id replaces the earlier one.
                    c.servers.retain(|s: &Server| s.id != id);
                    c.servers.push(parse_server(id, &v));
                }
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_forms_are_one_setting() {
        let c = parse(
            "# comment\r\n! also a comment\r\ndataDir = /var/lib/zookeeper \r\n\
             tickTime: 2000\r\n  syncLimit 5\r\nclientPort=21\\\n    81\r\n",
        );
        assert_eq!(c.data_dir.as_deref(), Some("/var/lib/zookeeper"));
        assert_eq!(c.tick_time, Some(2000));
        assert_eq!(c.sync_limit, Some(5));
        assert_eq!(c.get("clientPort"), Some("2181"));
        // A CRLF line end after a continuation is one line end.
        let c = parse("server.2=a:2888:\\\r\n   3888\r\n");
        assert_eq!(c.servers[0].line, "a:2888:3888");
    }

    #[test]
    fn server_lines_with_roles_ipv6_and_client_suffix() {
        let c = parse(
            "server.1=10.0.0.1:2888:3888\n\
             server.2=[2001:db8::2]:2888:3888:participant;0.0.0.0:2181\n\
             server.3 = zk3.example.com:2888:3888:observer\n",
        );
        assert_eq!(c.servers.len(), 3);
        assert_eq!(c.servers[0].host, "10.0.0.1");
        assert_eq!(c.servers[0].quorum_port, Some(2888));
        assert_eq!(c.servers[1].quorum_port, Some(2888));
        assert_eq!(c.servers[1].host, "2001:db8::2");
        assert_eq!(c.servers[1].role, Role::Participant);
        assert_eq!(c.servers[2].host, "zk3.example.com");
        assert_eq!(c.role_of(3), Some(Role::Observer));
        assert_eq!(c.role_of(1), Some(Role::Participant));
        let multi = parse_server(4, "10.0.0.4:2888:3888|10.1.0.4:2888:3888:observer");
        assert_eq!(
            (multi.host.as_str(), multi.role),
            ("10.0.0.4", Role::Observer)
        );
    }

    #[test]
    fn later_lines_win_and_escapes_are_read() {
        let c =
            parse("dataDir=/a\ndataDir=/b\nserver.1=h1:1:2\nserver.1=h2:1:2\nkey\\=x=v\\u0041\n");
        assert_eq!(c.data_dir.as_deref(), Some("/b"));
        assert_eq!(c.servers.len(), 1);
        assert_eq!(c.servers[0].host, "h2");
        assert_eq!(c.get("key=x"), Some("vA"));
    }

    fn captured(name: &str) -> String {
        let path = format!("{}/tests/fixtures/zk/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn captured_conf_reply_and_zoo_cfg() {
        let conf = parse(&captured("conf-follower.txt"));
        assert_eq!(conf.session_bounds(), (4000, 40000));
        assert_eq!(conf.sync_limit, Some(5));
        assert_eq!(conf.servers.len(), 3);
        assert_eq!(conf.servers[0].host, "127.0.0.11");
        assert_eq!(conf.servers[0].role, Role::Participant);
        let cfg = parse(&captured("zoo.cfg"));
        assert_eq!(cfg.data_dir.as_deref(), Some("/var/lib/zookeeper"));
        assert_eq!(cfg.tick_time, Some(2000));
        // Not in the file: the defaults of 2 and 20 ticks.
        assert_eq!(cfg.session_bounds(), (4000, 40000));
        assert!(cfg.whitelist.as_deref().is_some_and(|w| w.contains("mntr")));
        assert_eq!(parse("").session_bounds(), (6000, 60000));
    }

    /// Configs as the testbed's real ensembles wrote them: a CRLF, padded
    /// zoo.cfg with a dataLogDir (ZooKeeper 3.8 ran on it), and the files a
    /// dynamic-reconfiguration node rewrites at its first election.
    #[test]
    fn configs_as_real_ensembles_write_them() {
        let c = parse(&captured("zoo.cfg-crlf-padded"));
        assert_eq!(c.data_dir.as_deref(), Some("/var/lib/zookeeper"));
        assert_eq!(c.data_log_dir.as_deref(), Some("/var/lib/zookeeper-txlog"));
        assert_eq!(c.tick_time, Some(2000));
        assert_eq!(c.sync_limit, Some(5));
        assert_eq!(c.get("clientPortAddress"), Some("127.0.0.11"));
        assert_eq!(c.servers.len(), 3);
        assert_eq!(c.servers[2].host, "127.0.0.13");
        assert!(c.whitelist.as_deref().is_some_and(|w| w.ends_with("cons")));

        let c = parse(&captured("zoo.cfg-dynamic-rewritten"));
        assert!(c.servers.is_empty());
        assert_eq!(
            c.dynamic_config_file.as_deref(),
            Some("/etc/zookeeper/conf/zoo.cfg.dynamic.100000000")
        );
        let d = parse(&captured("zoo.cfg.dynamic.100000000"));
        assert_eq!(d.servers.len(), 3);
        assert_eq!(d.servers[0].host, "127.0.0.11");
        assert_eq!(d.servers[0].role, Role::Participant);
        assert_eq!(d.servers[0].quorum_port, Some(2888));

        // `conf` on such a node lists the membership after the settings.
        let conf = parse(&captured("conf-dynamic.txt"));
        assert_eq!(conf.servers.len(), 3);
        assert_eq!(conf.get("version"), Some("100000000"));
    }
}
