//! The local fleet for end-to-end tests: brought up by `scripts/testbed up`
//! (which reuses a healthy fleet of the same shape), shared by the tests of
//! a binary one at a time. Most tests use `testbed()`, 3 nodes; a test that
//! needs another shape asks `testbed_shaped` (more nodes, observers) or
//! `testbed_with(&Shape { .. })` (any of `scripts/testbed up`'s options:
//! names, shared PIDs, config style, dynamic reconfiguration, leaderServes),
//! and the fleet is rebuilt whenever the shape asked for changes.
//!
//! The fleet is left running when the binary ends, so the next binary reuses
//! it if it wants the same shape; `scripts/test` tears it down at the end of
//! the suite.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Testbed {
    pub inventory: PathBuf,
    /// The same fleet in Ansible's INI form, with `group_vars/` (old
    /// `ansible_ssh_*` spellings, ssh arguments) beside it.
    pub ini_inventory: PathBuf,
    pub ssh_config: PathBuf,
    /// Hosts zk1..zk{size}.
    pub size: usize,
    /// The last `observers` hosts are ZooKeeper observers (`zk_role:
    /// observer` in the inventory); the others vote.
    pub observers: usize,
    /// How the fleet is built (its `size` and `observers` are the two
    /// fields above).
    pub shape: Shape,
}

/// How hosts are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Names {
    /// The inventory has `ansible_host`/`ansible_port`; `server.N` names the
    /// address (127.0.0.1N).
    #[default]
    Address,
    /// `--names alias`: the inventory has neither, hosts are known only by
    /// the ssh_config's `Host zkN`/`HostName` (pass `--ssh-config`), and
    /// `server.N` names the FQDN `zkN.zk.test`, which every host resolves
    /// through its own /etc/hosts (as it does every `zkN`). The machine the
    /// tests run on resolves neither. `clientPortAddress` stays the address.
    Alias,
}

/// How ZooKeeper runs on each host: started over SSH with zkServer.sh, or
/// (`--systemd MODE`) as the unit zookeeper.service of a container that
/// boots systemd; the inventory then says `zk_manager: systemd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Manager {
    #[default]
    Script,
    /// Debian's zookeeperd init script through systemd's SysV generator
    /// (MainPID 0; logs to the file).
    SystemdSysv,
    /// A native `Type=simple` unit running `zkServer.sh start-foreground`;
    /// the journal is its only log.
    SystemdSimple,
    /// A native `Type=forking` unit with `PIDFile=`; logs to the file.
    SystemdForking,
}

impl Manager {
    fn value(self) -> &'static str {
        match self {
            Manager::Script => "no",
            Manager::SystemdSysv => "sysv",
            Manager::SystemdSimple => "simple",
            Manager::SystemdForking => "forking",
        }
    }
}

/// How zoo.cfg is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConfigStyle {
    /// `key=value` lines.
    #[default]
    Plain,
    /// `--config crlf`: CRLF line ends, `key = value  ` (padded), `tickTime:
    /// 2000`, `syncLimit 5`, and a separate `dataLogDir`
    /// (/var/lib/zookeeper-txlog). Server lines are padded around `=` only
    /// (the JVM does not trim their values) and dataDir keeps `=` (Debian's
    /// zkServer.sh finds its pid file by it).
    Crlf,
}

/// The fleet's shape: `scripts/testbed up`'s options. `Default` is the
/// plain 3-node fleet of `testbed()`. Build others by struct update:
/// `Shape { names: Names::Alias, ..Shape::default() }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Hosts zk1..zk{size} (1 to 9).
    pub size: usize,
    /// The last `observers` hosts observe (0 to size-1).
    pub observers: usize,
    pub names: Names,
    /// `--shared-pids`: all hosts in one PID namespace, every JVM visible to
    /// every host's `ps`.
    pub shared_pids: bool,
    pub config: ConfigStyle,
    /// `--dynamic`: `reconfigEnabled=true`, the server lines only in
    /// `dynamicConfigFile=/etc/zookeeper/conf/zoo.cfg.dynamic`, which
    /// ZooKeeper rewrites as `zoo.cfg.dynamic.<version>` (rewriting zoo.cfg
    /// too, as `key=value` lines: with `--config crlf` only the first start
    /// sees the CRLF file).
    pub dynamic: bool,
    /// false: `--leader-serves no` (`leaderServes=no` everywhere): the leader
    /// answers srvr "This ZooKeeper instance is not currently serving
    /// requests"; `leader()` and `wait_healthy()` still find it.
    pub leader_serves: bool,
    pub manager: Manager,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            size: 3,
            observers: 0,
            names: Names::Address,
            shared_pids: false,
            config: ConfigStyle::Plain,
            dynamic: false,
            leader_serves: true,
            manager: Manager::Script,
        }
    }
}

impl Shape {
    /// `size` nodes, the last `observers` observing, all else the default.
    pub fn sized(size: usize, observers: usize) -> Shape {
        Shape {
            size,
            observers,
            ..Shape::default()
        }
    }

    /// The arguments of `scripts/testbed up` that build this shape.
    pub fn up_args(&self) -> Vec<String> {
        let mut args = vec![
            self.size.to_string(),
            "--observers".into(),
            self.observers.to_string(),
        ];
        if self.names == Names::Alias {
            args.extend(["--names".into(), "alias".into()]);
        }
        if self.shared_pids {
            args.push("--shared-pids".into());
        }
        if self.config == ConfigStyle::Crlf {
            args.extend(["--config".into(), "crlf".into()]);
        }
        if self.dynamic {
            args.push("--dynamic".into());
        }
        if !self.leader_serves {
            args.extend(["--leader-serves".into(), "no".into()]);
        }
        if self.manager != Manager::Script {
            args.extend(["--systemd".into(), self.manager.value().into()]);
        }
        args
    }

    /// The shape as `scripts/testbed env` prints it in `TESTBED_SHAPE`.
    pub fn line(&self) -> String {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        format!(
            "size={},observers={},names={},pids={},config={},dynamic={},leader-serves={},systemd={}",
            self.size,
            self.observers,
            match self.names {
                Names::Address => "address",
                Names::Alias => "alias",
            },
            if self.shared_pids { "shared" } else { "own" },
            match self.config {
                ConfigStyle::Plain => "plain",
                ConfigStyle::Crlf => "crlf",
            },
            yes_no(self.dynamic),
            yes_no(self.leader_serves),
            self.manager.value(),
        )
    }

    /// Parses a `TESTBED_SHAPE` line; None when a key is missing or unknown.
    pub fn parse(line: &str) -> Option<Shape> {
        let mut shape = Shape::default();
        let mut seen = 0;
        for field in line.trim().split(',') {
            let (key, value) = field.split_once('=')?;
            match (key, value) {
                ("size", n) => shape.size = n.parse().ok()?,
                ("observers", k) => shape.observers = k.parse().ok()?,
                ("names", "address") => shape.names = Names::Address,
                ("names", "alias") => shape.names = Names::Alias,
                ("pids", "own") => shape.shared_pids = false,
                ("pids", "shared") => shape.shared_pids = true,
                ("config", "plain") => shape.config = ConfigStyle::Plain,
                ("config", "crlf") => shape.config = ConfigStyle::Crlf,
                ("dynamic", v @ ("yes" | "no")) => shape.dynamic = v == "yes",
                ("leader-serves", v @ ("yes" | "no")) => shape.leader_serves = v == "yes",
                ("systemd", v) => {
                    shape.manager = [
                        Manager::Script,
                        Manager::SystemdSysv,
                        Manager::SystemdSimple,
                        Manager::SystemdForking,
                    ]
                    .into_iter()
                    .find(|m| m.value() == v)?
                }
                _ => return None,
            }
            seen += 1;
        }
        (seen == 8).then_some(shape)
    }
}

/// Whose turn it is: one test at a time uses the fleet.
static TURN: Mutex<()> = Mutex::new(());
/// The fleet this binary brought up last. Changed only under `TURN`. A
/// `Testbed` replaced by another shape is leaked (a few paths), so a
/// reference handed out before stays valid; the fleet it describes is gone.
static CURRENT: Mutex<Option<&'static Testbed>> = Mutex::new(None);

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed")
}

/// The fleet (3 nodes, no observers), healthy, and exclusive use of it for
/// the calling test.
pub fn testbed() -> (&'static Testbed, MutexGuard<'static, ()>) {
    testbed_with(&Shape::default())
}

/// A fleet of `size` nodes whose last `observers` are observers (0 to
/// size-1), healthy, and exclusive use of it for the calling test. Rebuilt
/// when the previous test of this binary used another shape.
pub fn testbed_shaped(
    size: usize,
    observers: usize,
) -> (&'static Testbed, MutexGuard<'static, ()>) {
    testbed_with(&Shape::sized(size, observers))
}

/// A fleet of this shape, healthy, and exclusive use of it for the calling
/// test. Rebuilt when the previous test of this binary used another shape.
pub fn testbed_with(shape: &Shape) -> (&'static Testbed, MutexGuard<'static, ()>) {
    let guard = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut current = CURRENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let tb = match *current {
        Some(tb) if tb.shape == *shape => tb,
        _ => {
            // `up` tears the old fleet down first: if it then fails, no
            // later test may take the old one for running.
            *current = None;
            let tb: &'static Testbed = Box::leak(Box::new(up(shape)));
            *current = Some(tb);
            tb
        }
    };
    drop(current);
    // A test before this one may have left a node restarting.
    tb.wait_healthy();
    (tb, guard)
}

/// `scripts/testbed up SIZE --observers K [options]`: reuses a healthy fleet
/// of exactly that shape, or builds one.
fn up(shape: &Shape) -> Testbed {
    assert!(
        unsafe_is_root(),
        "end-to-end tests need root: the testbed binds port 22 on 127.0.0.1x and \
         bind-mounts per-host directories. Run the suite with `sudo scripts/test`."
    );
    let args = shape.up_args();
    let out = Command::new(script())
        .arg("up")
        .args(&args)
        .output()
        .expect("run scripts/testbed");
    assert!(
        out.status.success(),
        "scripts/testbed up {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let env = String::from_utf8_lossy(&out.stdout).to_string();
    let get = |key: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("scripts/testbed up printed no {key}:\n{env}"))
            .to_string()
    };
    let tb = Testbed {
        inventory: get("TESTBED_INVENTORY").into(),
        ini_inventory: get("TESTBED_INI_INVENTORY").into(),
        ssh_config: get("TESTBED_SSH_CONFIG").into(),
        size: get("TESTBED_SIZE").parse().expect("size"),
        observers: get("TESTBED_OBSERVERS").parse().expect("observers"),
        shape: Shape::parse(&get("TESTBED_SHAPE")).unwrap_or_else(|| {
            panic!("scripts/testbed up printed a TESTBED_SHAPE not understood:\n{env}")
        }),
    };
    assert_eq!(
        (&tb.shape, tb.size, tb.observers),
        (shape, shape.size, shape.observers),
        "scripts/testbed up brought up another shape than asked:\n{env}"
    );
    tb
}

fn unsafe_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Testbed {
    pub fn address(&self, host: usize) -> String {
        format!("127.0.0.{}", 10 + host)
    }

    /// Host `n`'s FQDN, `zkN.zk.test`: every host of the fleet resolves it
    /// (and `zkN`) through its own /etc/hosts, whatever the shape.
    pub fn fqdn(&self, host: usize) -> String {
        format!("zk{host}.zk.test")
    }

    /// What `server.N` names for host `n`: its FQDN with `Names::Alias`,
    /// else its address.
    pub fn server_name(&self, host: usize) -> String {
        match self.shape.names {
            Names::Alias => self.fqdn(host),
            Names::Address => self.address(host),
        }
    }

    /// Whether host `n` (1-based) is an observer: the last `observers` are.
    pub fn is_observer(&self, host: usize) -> bool {
        host > self.size - self.observers
    }

    /// The hosts that vote (elect the leader), 1-based.
    pub fn voters(&self) -> std::ops::RangeInclusive<usize> {
        1..=self.size - self.observers
    }

    /// Runs a command on host `n` with the system ssh client.
    pub fn ssh(&self, host: usize, command: &str) -> Output {
        Command::new("ssh")
            .arg("-F")
            .arg(&self.ssh_config)
            .arg(format!("zk{host}"))
            .arg(command)
            .output()
            .expect("run ssh")
    }

    /// Runs the zkrun binary against the fleet with JSON output, in a state
    /// and log directory of its own (so no test inherits another's
    /// unfinished run); returns the process output and the parsed events.
    pub fn zkrun(
        &self,
        playbook: &std::path::Path,
        extra: &[&str],
    ) -> (Output, Vec<serde_json::Value>) {
        let logs = tempfile::tempdir().expect("temp dir");
        self.zkrun_in(logs.path(), playbook, extra)
    }

    /// The same, with its state and logs in `logs`, for a test to read.
    pub fn zkrun_in(
        &self,
        logs: &std::path::Path,
        playbook: &std::path::Path,
        extra: &[&str],
    ) -> (Output, Vec<serde_json::Value>) {
        let out = Command::new(env!("CARGO_BIN_EXE_zkrun"))
            .arg(playbook)
            .arg("-i")
            .arg(&self.inventory)
            .arg("--ssh-config")
            .arg(&self.ssh_config)
            .arg("--log-dir")
            .arg(logs)
            .arg("--state")
            .arg(logs.join("state.json"))
            .args(["--output", "json", "--connect-timeout", "5s"])
            .args(extra)
            .output()
            .expect("run zkrun");
        let events = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        (out, events)
    }

    /// Runs the zkrun binary against the fleet (its inventory and ssh
    /// config) with these arguments, output as a person would see it piped.
    pub fn zkrun_plain(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_zkrun"))
            .args(args)
            .arg("-i")
            .arg(&self.inventory)
            .arg("--ssh-config")
            .arg(&self.ssh_config)
            .output()
            .expect("run zkrun")
    }

    /// Runs a testbed subcommand (a fault hook) and returns its stdout.
    pub fn hook(&self, args: &[&str]) -> String {
        self.try_hook(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The same, with its failure returned: for clean-ups, which must not
    /// panic while a failed test unwinds.
    pub fn try_hook(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(script())
            .args(args)
            .output()
            .map_err(|e| format!("run scripts/testbed: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/testbed {args:?} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }

    pub fn wait_healthy(&self) {
        self.hook(&["wait-healthy", "90"]);
    }

    /// The testbed's own answer to "who leads".
    pub fn leader(&self) -> String {
        self.hook(&["leader"]).trim().to_string()
    }

    /// How often host `n`'s server has started, from its own log.
    pub fn starts(&self, n: usize) -> usize {
        // A Type=simple unit logs to the journal only.
        let log = match self.shape.manager {
            Manager::SystemdSimple => "journalctl --unit=zookeeper --output=cat --no-pager --quiet",
            _ => "cat /var/log/zookeeper/zookeeper.log",
        };
        let out = self.ssh(
            n,
            &format!("{log} | grep -c 'Starting quorum peer' || true"),
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    }

    /// (pid, start time in ticks) of each host's ZooKeeper, or None when down.
    pub fn zk_pids(&self) -> Vec<Option<(u32, u64)>> {
        self.hook(&["pids"])
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                match (f[1].parse(), f[2].parse()) {
                    (Ok(p), Ok(t)) => Some((p, t)),
                    _ => None,
                }
            })
            .collect()
    }
}

/// Sends a four-letter word straight to a node's client port.
pub fn four_letter_word(address: &str, word: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &format!("{address}:2181").parse().ok()?,
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(word.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Polls `check` until it returns Some or the deadline passes.
pub fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sets the flag when dropped: a watcher thread in a `thread::scope` stops
/// even when the test body panics (the scope waits for its threads before
/// the panic can end the test, so without this a failed assertion hangs).
pub struct StopOnDrop<'a>(pub &'a std::sync::atomic::AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One look at every node of the fleet, by a watcher polling `srvr`.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When the look began.
    pub at: Instant,
    /// Nodes whose client port does not answer at all.
    pub down: usize,
    /// Of them, voters (observers left out).
    pub voters_down: usize,
    pub serving: usize,
    pub leaders: usize,
}

/// Polls every node's `srvr` every 20 ms while `run` runs.
pub fn watched<R: Send>(tb: &Testbed, run: impl FnOnce() -> R + Send) -> (R, Vec<Sample>) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let watcher = s.spawn(|| {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let mut sample = Sample {
                    at: Instant::now(),
                    down: 0,
                    voters_down: 0,
                    serving: 0,
                    leaders: 0,
                };
                for n in 1..=tb.size {
                    match four_letter_word(&tb.address(n), "srvr") {
                        None => {
                            sample.down += 1;
                            if !tb.is_observer(n) {
                                sample.voters_down += 1;
                            }
                        }
                        Some(r) if r.contains("Mode: leader") => {
                            sample.leaders += 1;
                            sample.serving += 1;
                        }
                        Some(r) if r.contains("Mode: ") => sample.serving += 1,
                        Some(_) => {}
                    }
                }
                samples.push(sample);
                std::thread::sleep(Duration::from_millis(20));
            }
            samples
        });
        let r = run();
        stop.store(true, Ordering::Relaxed);
        (r, watcher.join().unwrap())
    })
}

/// Leaderless stretches in the samples.
pub fn leaderless_windows(samples: &[Sample]) -> usize {
    samples
        .windows(2)
        .filter(|w| w[0].leaders == 1 && w[1].leaders == 0)
        .count()
}
