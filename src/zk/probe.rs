//! Asking nodes over SSH: each node is asked from its own host, at the
//! address its client port listens on, so no ZooKeeper port needs to be
//! reachable from where zkrun runs.

use std::time::Duration;

use super::config::{self, Config};
use super::ensemble::{Identity, Node, NodeState, View};
use super::fourlw::{Srvr, parse_mntr, parse_srvr};
use crate::host::PlanHost;
use crate::host::exec::Exec;
use crate::host::transport::Transport;
use crate::model::playbook::AskVia;

/// srvr answers in milliseconds; a node silent this long counts as not answering.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Exit code of the probe script when nothing answers on the port.
const NOTHING_ANSWERS: i32 = 7;

/// bash's /dev/tcp: no netcat needed on the host. The request is bash
/// printf's format (every byte octal-escaped, see `client::printf_escaped`),
/// so any bytes cross the command line; the answer comes back raw.
const EXCHANGE: &str = r#"exec 3<>"/dev/tcp/$1/$2" 2>/dev/null || exit 7
printf "$3" >&3
cat <&3"#;

/// `request` to the node on `host`'s client port and its whole answer,
/// asked from the node's own host (or, `four_letter_words: direct`, from
/// here); None when nothing answers. `what` names the request in errors.
/// `reset_ends`: a connection reset (`cat` exits 1) ends the answer instead
/// of failing it — a node refusing a session resets with the rest unread.
async fn exchange<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
    request: &[u8],
    what: &str,
    reset_ends: bool,
) -> Result<Option<Vec<u8>>, String> {
    if host.four_letter_words == AskVia::Direct {
        return exchange_direct(host, request, what).await;
    }
    let at = &host.zookeeper;
    let port = at.port.to_string();
    let escaped = super::client::printf_escaped(request);
    // `$0` names it where processes are listed (and after a second Ctrl-C).
    let argv = [
        "bash",
        "-c",
        EXCHANGE,
        "zkrun-ask",
        &at.address,
        &port,
        &escaped,
    ];
    let out = x.query(host, &argv, PROBE_TIMEOUT).await?;
    match out.code {
        Some(0) => Ok(Some(out.stdout)),
        Some(1) if reset_ends => Ok(Some(out.stdout)),
        Some(NOTHING_ANSWERS) => Ok(None),
        code => Err(format!(
            "asking `{what}` on {} failed ({}): {}",
            host.name,
            code.map_or("ended by a signal".into(), |c| format!("exit {c}")),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// A client read of `path` on the node of `host` (see `zk::client`).
pub async fn client_read<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
    path: &str,
) -> Result<super::client::Read, String> {
    let request = super::client::read_request(path);
    match exchange(x, host, &request, "a client read", true).await? {
        Some(reply) => super::client::parse_read(&reply, path),
        None => Err(format!("nothing answers at {}", host.zookeeper)),
    }
}

/// The reply to `word` from the node on `host`; None when nothing answers.
pub async fn ask<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
    word: &str,
) -> Result<Option<String>, String> {
    let reply = exchange(x, host, word.as_bytes(), word, false).await?;
    Ok(reply.map(|r| String::from_utf8_lossy(&r).to_string()))
}

/// `four_letter_words: direct`: zkrun's own TCP connection to the client
/// port, `request` written, the answer read to the end; `what` names it.
async fn exchange_direct(
    host: &PlanHost,
    request: &[u8],
    what: &str,
) -> Result<Option<Vec<u8>>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let at = &host.zookeeper;
    let exchange = async {
        let mut s = match tokio::net::TcpStream::connect((at.address.as_str(), at.port)).await {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Ok(None),
            Err(e) => return Err(format!("connecting to {at} from here: {e}")),
        };
        s.write_all(request)
            .await
            .map_err(|e| format!("asking `{what}` at {at}: {e}"))?;
        let mut reply = Vec::new();
        s.read_to_end(&mut reply)
            .await
            .map_err(|e| format!("reading `{what}` from {at}: {e}"))?;
        Ok(Some(reply))
    };
    tokio::time::timeout(PROBE_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer to `{what}` from {at} within {}s",
                PROBE_TIMEOUT.as_secs()
            ))
        })
}

pub async fn node<T: Transport>(x: &Exec<'_, T>, host: &PlanHost) -> NodeState {
    match ask(x, host, "srvr").await {
        Ok(None) => NodeState::Down,
        Ok(Some(reply)) => match parse_srvr(&reply) {
            Srvr::Serving(s) => NodeState::Serving(s),
            Srvr::NotServing => NodeState::NotServing,
            Srvr::Unexpected(t) if t.is_empty() => NodeState::Down,
            Srvr::Unexpected(t) => NodeState::Unexpected(t),
        },
        Err(e) => NodeState::Unknown(e),
    }
}

/// Every node of the play, and the leader's `mntr` when it answers.
pub async fn view<T: Transport>(x: &Exec<'_, T>) -> View {
    let states = futures_util::future::join_all(x.hosts.iter().map(|h| node(x, h))).await;
    let nodes: Vec<Node> = x
        .hosts
        .iter()
        .zip(states)
        .map(|(h, state)| Node {
            host: h.name.clone(),
            state,
        })
        .collect();
    let mut v = View {
        nodes,
        leader_mntr: Default::default(),
        observers: Vec::new(),
    };
    if v.leaders().is_empty() {
        quiet_leader(x, &mut v).await;
    }
    if let [leader] = v.leaders()[..]
        && let Some(h) = x.hosts.iter().find(|h| h.name == leader)
        && let Ok(Some(reply)) = ask(x, h, "mntr").await
    {
        v.leader_mntr = parse_mntr(&reply);
    }
    v
}

/// With `leaderServes=no` the leader answers no client: `srvr`, `mntr`
/// and `conf` say "not currently serving", exactly as a node looking for
/// a leader does. A voter that says so is taken for the leader only on its
/// own host's evidence: its config says `leaderServes=no`, `ruok` answers
/// `imok`, and something listens on its quorum port, which only a leader
/// opens (followers connect to it). Its epoch comes from `currentEpoch`.
async fn quiet_leader<T: Transport>(x: &Exec<'_, T>, v: &mut View) {
    let candidates: Vec<usize> = (0..v.nodes.len())
        .filter(|i| v.nodes[*i].state == NodeState::NotServing)
        .collect();
    let looks = futures_util::future::join_all(candidates.iter().map(|i| {
        let name = v.nodes[*i].host.clone();
        async move {
            let host = x.hosts.iter().find(|h| h.name == name)?;
            leads_without_serving(x, host).await
        }
    }))
    .await;
    for (i, found) in candidates.into_iter().zip(looks) {
        if let Some((epoch, evidence)) = found {
            v.nodes[i].state = NodeState::Leading { epoch, evidence };
        }
    }
}

/// The evidence that `host` leads without serving, or None.
async fn leads_without_serving<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
) -> Option<(Option<u32>, String)> {
    if host.config.is_empty() {
        return None;
    }
    let c = read_config(x, host, &host.config).await.ok()?;
    if c.leader_serves() {
        return None;
    }
    if ask(x, host, "ruok").await.ok()??.trim() != "imok" {
        return None;
    }
    let dir = c.data_dir.clone()?;
    let myid: u32 = read_file(x, host, &format!("{dir}/myid"))
        .await
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let server = c.servers.iter().find(|s| s.id == myid)?;
    let port = server.quorum_port?;
    // Its own quorum address: several hosts may share a network namespace
    // (containers, the testbed), so a listener on the port alone says
    // nothing about which node opened it.
    let listeners = x
        .query(
            host,
            &[
                "sh",
                "-c",
                r#"ss -Hltn "sport = :$0" | awk '{ print $4 }'"#,
                &port.to_string(),
            ],
            PROBE_TIMEOUT,
        )
        .await
        .ok()?;
    let mine = resolve(x, host, &server.host).await.server;
    let listening = String::from_utf8_lossy(&listeners.stdout).lines().any(|l| {
        let addr = l
            .rsplit_once(':')
            .map_or(l, |(a, _)| a)
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_start_matches("::ffff:");
        matches!(addr, "*" | "0.0.0.0" | "::") || mine.iter().any(|m| m == addr)
    });
    if !listening {
        return None;
    }
    let epoch = read_file(x, host, &format!("{dir}/version-2/currentEpoch"))
        .await
        .ok()
        .and_then(|t| t.trim().parse().ok());
    Some((
        epoch,
        format!("leaderServes=no; ruok imok; it listens on its quorum port {port}"),
    ))
}

/// The node's configuration as in force: `conf` when it answers (defaults
/// filled in by the server), else the config file read on the host.
pub async fn config<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
    path: &str,
) -> (Config, &'static str) {
    if let Ok(Some(reply)) = ask(x, host, "conf").await {
        let c = config::parse(&reply);
        if c.tick_time.is_some() {
            return (c, "conf");
        }
    }
    match read_config(x, host, path).await {
        Ok(c) => (c, "the config file"),
        Err(_) => (Config::default(), "ZooKeeper's defaults"),
    }
}

/// What restarting the leader means for client sessions: the bounds in the
/// leader's config against the outage its `mntr` measured.
pub struct Sessions {
    pub line: String,
    /// The outage comes near the smallest session timeout.
    pub warn: bool,
    /// Where the settings were read: `conf`, the config file, or defaults.
    pub config_from: &'static str,
}

pub async fn sessions<T: Transport>(x: &Exec<'_, T>, view: &View, config_path: &str) -> Sessions {
    let on = view
        .leaders()
        .first()
        .and_then(|l| x.hosts.iter().find(|h| h.name == *l))
        .unwrap_or(x.host);
    let (config, config_from) = config(x, on, config_path).await;
    let measured = view
        .leader_mntr
        .number("zk_max_leader_unavailable_time")
        .filter(|ms| ms.is_finite() && *ms > 0.0)
        // `as` saturates: 1e300 becomes u64::MAX, which warns.
        .map(|ms| ms as u64);
    let znodes = view
        .leaders()
        .first()
        .and_then(|l| view.stats(l))
        .and_then(|s| s.node_count);
    let (line, warn) = super::ensemble::session_check(config.session_bounds(), measured, znodes);
    Sessions {
        line,
        warn,
        config_from,
    }
}

/// The config file at `path` on `host`, read as ZooKeeper reads it, with
/// the server lines of its `dynamicConfigFile` (3.5+ reconfiguration) added.
pub async fn read_config<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
    path: &str,
) -> Result<Config, String> {
    let text = read_file(x, host, path).await?;
    let mut c = config::parse(&text);
    if let Some(dynamic) = c.dynamic_config_file.clone() {
        let more = read_file(x, host, &dynamic)
            .await
            .map_err(|e| format!("{path} names dynamicConfigFile={dynamic}: {e}"))?;
        let d = config::parse(&more);
        for s in d.servers {
            c.servers.retain(|o| o.id != s.id);
            c.servers.push(s);
        }
    }
    Ok(c)
}

async fn read_file<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
    path: &str,
) -> Result<String, String> {
    let out = x.query(host, &["cat", "--", path], PROBE_TIMEOUT).await?;
    if !out.success() {
        return Err(format!(
            "cannot read {path} on {}: {}",
            host.name,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// The host's myid (from `dataDir/myid`) and its config's server lines
/// (config path as rendered for the host running the check; zkrun assumes
/// one layout per ensemble).
pub async fn identity<T: Transport>(x: &Exec<'_, T>, host: &PlanHost, path: &str) -> Identity {
    let (c, config_error) = match read_config(x, host, path).await {
        Ok(c) => (c, None),
        Err(e) => (Config::default(), Some(e)),
    };
    let myid: Option<u32> = match &c.data_dir {
        Some(dir) => read_file(x, host, &format!("{dir}/myid"))
            .await
            .ok()
            .and_then(|t| t.trim().parse().ok()),
        None => None,
    };
    let server = myid.and_then(|id| c.servers.iter().find(|s| s.id == id));
    let resolved = match server {
        Some(s) => resolve(x, host, &s.host).await,
        None => Default::default(),
    };
    Identity {
        host: host.name.clone(),
        address: host.zookeeper.address.clone(),
        myid,
        peer_observer: c
            .peer_type
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("observer")),
        servers: c.servers,
        resolved,
        config_error,
    }
}

/// Resolves `name` with the host's own resolver (`getent ahosts`: files,
/// then DNS, as the host's nsswitch says) and lists the host's own
/// addresses: its interfaces (`hostname -I`) and the address its client
/// port is reached at, resolved the same way.
async fn resolve<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
    name: &str,
) -> super::identity::Resolved {
    const SCRIPT: &str = r#"getent ahosts "$1" 2>/dev/null | awk '{ print $1 }' | sort -u
echo --
hostname -I 2>/dev/null | tr ' ' '\n'
getent ahosts "$2" 2>/dev/null | awk '{ print $1 }' | sort -u"#;
    let out = x
        .query(
            host,
            &[
                "sh",
                "-c",
                SCRIPT,
                "zkrun-resolve",
                name,
                &host.zookeeper.address,
            ],
            PROBE_TIMEOUT,
        )
        .await;
    let Ok(out) = out else {
        return Default::default();
    };
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (server, own) = text.split_once("--\n").unwrap_or((&text, ""));
    let words = |t: &str| -> Vec<String> {
        let mut v: Vec<String> = t
            .split_whitespace()
            .map(|a| a.trim_start_matches("::ffff:").to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    super::identity::Resolved {
        server: words(server),
        own: words(own),
    }
}

/// Every host's identity, asked in parallel.
pub async fn identities<T: Transport>(x: &Exec<'_, T>, path: &str) -> Vec<Identity> {
    futures_util::future::join_all(x.hosts.iter().map(|h| identity(x, h, path))).await
}

/// The server's PID as its manager records it (`pid_of` prints it: the pid
/// file, or systemd's MainPID); None when there is no record.
pub async fn recorded_pid<T: Transport>(
    x: &Exec<'_, T>,
    pid_of: &[crate::render::Text],
) -> Option<u32> {
    let argv: Vec<&str> = pid_of.iter().map(|t| t.real()).collect();
    x.query(x.host, &argv, PROBE_TIMEOUT)
        .await
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u32>()
                .ok()
        })
        .filter(|p| *p > 0)
}

/// PIDs of ZooKeeper server JVMs on the host (zombies excluded: they hold
/// no port and no file).
pub async fn server_pids<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
) -> Result<Vec<u32>, String> {
    let script = r#"for p in $(pgrep -f "org[.]apache[.]zookeeper[.]server[.]quorum[.]QuorumPeerMain"); do
  s=$(awk '{print $3}' /proc/$p/stat 2>/dev/null) || continue
  [ "$s" = Z ] || echo "$p"
done"#;
    let out = x.query(host, &["sh", "-c", script], PROBE_TIMEOUT).await?;
    if !out.success() {
        return Err(format!(
            "listing ZooKeeper processes on {} failed: {}",
            host.name,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect())
}

/// Lines of the server log that mean a node will not come up.
pub const FATAL: [&str; 5] = [
    "Unable to load database on disk",
    "myid file is missing",
    "not in the peer list",
    "Address already in use",
    "Unable to run quorum server",
];

/// Exit code of the fatal-lines script when there is no log file.
const NO_LOG: i32 = 3;

/// Fatal lines among the last lines of the log, or a note that there is no
/// log. With `unit` (`manager: systemd`), the unit's journal is read too:
/// a unit that runs the server in the foreground logs there, and a server
/// whose journal has lines has a log even without the file.
pub async fn fatal_log_lines<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
    log: &str,
    unit: Option<&str>,
) -> Vec<String> {
    let pattern = FATAL.join("|");
    let script = r#"[ -f "$0" ] || exit 3
tail -n 400 "$0" | grep -E "$1" | tail -n 5"#;
    let file = match x
        .query(host, &["sh", "-c", script, log, &pattern], PROBE_TIMEOUT)
        .await
    {
        Ok(out) if out.code == Some(NO_LOG) => None,
        Ok(out) => Some(lines(&out.stdout)),
        Err(e) => Some(vec![format!("(could not read {log}: {e})")]),
    };
    let journal = match unit {
        Some(unit) => super::systemd::fatal_lines(x, unit).await,
        None => None,
    };
    match (file, journal) {
        (Some(f), Some(j)) => merged(f, j),
        (Some(f), None) => f,
        (None, Some(j)) => j,
        (None, None) => vec![match unit {
            Some(unit) => format!(
                "(no log at {log} and nothing in the journal of {}: the server writes none, so it cannot be checked)",
                super::systemd::unit_name(unit)
            ),
            None => format!("(no log at {log}: the server writes none, so it cannot be checked)"),
        }],
    }
}

/// A command's output as lines of text.
pub fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Lines from the log file, then the journal's that are not among them (a
/// server logging to both writes each line twice).
pub fn merged(mut file: Vec<String>, journal: Vec<String>) -> Vec<String> {
    for line in journal {
        if !file.contains(&line) {
            file.push(line);
        }
    }
    file
}

/// What the server logged since byte `offset` of its log (from the start
/// when the log was rotated since), as `log_errors::FILTER` sums it up for
/// `log_errors::judge` (with no log file: nothing to judge, only its end mark).
pub async fn error_lines_since<T: Transport>(
    x: &Exec<'_, T>,
    host: &PlanHost,
    log: &str,
    offset: u64,
) -> Result<String, String> {
    // No file: the server writes none here (a unit logging to the journal
    // only), so there is nothing to judge in it.
    let script = r#"[ -f "$0" ] || { echo zkrun-end; exit 0; }
size=$(stat -c %s "$0")
from=$1; [ "$size" -ge "$from" ] || from=0
{ tail -c +$((from + 1)) "$0"; echo "zkrun-rc $?"; } | awk "$2""#;
    let out = x
        .query(
            host,
            &[
                "sh",
                "-c",
                script,
                log,
                &offset.to_string(),
                super::log_errors::FILTER,
            ],
            PROBE_TIMEOUT,
        )
        .await?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls every `interval` until `check` passes or the step's time runs out.
pub async fn poll<T, R>(
    x: &Exec<'_, T>,
    interval: Duration,
    mut check: impl AsyncFnMut() -> Result<R, String>,
) -> Result<R, String>
where
    T: Transport,
{
    loop {
        match check().await {
            Ok(r) => return Ok(r),
            Err(why) => {
                if x.remaining() <= interval {
                    return Err(why);
                }
                x.sleep(interval).await;
            }
        }
    }
}
