//! The local fleet for end-to-end tests: brought up by `scripts/testbed up`
//! (which reuses a healthy fleet of the same shape), shared by the tests of
//! a binary one at a time. Most tests use `testbed()`, 3 nodes; a test that
//! needs another shape (more nodes, observers) asks `testbed_shaped`, and the
//! fleet is rebuilt whenever the shape asked for changes.
//!
//! The fleet is left running when the binary ends, so the next binary reuses
//! it if it wants the same shape; `scripts/test` tears it down at the end of
//! the suite.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub struct Testbed {
    pub inventory: PathBuf,
    pub ssh_config: PathBuf,
    /// Hosts zk1..zk{size}.
    pub size: usize,
    /// The last `observers` hosts are ZooKeeper observers (`zk_role:
    /// observer` in the inventory); the others vote.
    pub observers: usize,
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
    testbed_shaped(3, 0)
}

/// A fleet of `size` nodes whose last `observers` are observers (0 to
/// size-1), healthy, and exclusive use of it for the calling test. Rebuilt
/// when the previous test of this binary used another shape.
pub fn testbed_shaped(
    size: usize,
    observers: usize,
) -> (&'static Testbed, MutexGuard<'static, ()>) {
    let guard = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut current = CURRENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let tb = match *current {
        Some(tb) if tb.size == size && tb.observers == observers => tb,
        _ => {
            // `up` tears the old fleet down first: if it then fails, no
            // later test may take the old one for running.
            *current = None;
            let tb: &'static Testbed = Box::leak(Box::new(up(size, observers)));
            *current = Some(tb);
            tb
        }
    };
    drop(current);
    // A test before this one may have left a node restarting.
    tb.wait_healthy();
    (tb, guard)
}

/// `scripts/testbed up SIZE --observers K`: reuses a healthy fleet of that
/// shape, or builds one.
fn up(size: usize, observers: usize) -> Testbed {
    assert!(
        unsafe_is_root(),
        "end-to-end tests need root: the testbed binds port 22 on 127.0.0.1x and \
         bind-mounts per-host directories. Run the suite with `sudo scripts/test`."
    );
    let (n, k) = (size.to_string(), observers.to_string());
    let out = Command::new(script())
        .args(["up", n.as_str(), "--observers", k.as_str()])
        .output()
        .expect("run scripts/testbed");
    assert!(
        out.status.success(),
        "scripts/testbed up {size} --observers {observers} failed:\n{}",
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
        ssh_config: get("TESTBED_SSH_CONFIG").into(),
        size: get("TESTBED_SIZE").parse().expect("size"),
        observers: get("TESTBED_OBSERVERS").parse().expect("observers"),
    };
    assert_eq!(
        (tb.size, tb.observers),
        (size, observers),
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
        let out = Command::new(env!("CARGO_BIN_EXE_zkrun"))
            .arg(playbook)
            .arg("-i")
            .arg(&self.inventory)
            .arg("--ssh-config")
            .arg(&self.ssh_config)
            .arg("--log-dir")
            .arg(logs.path())
            .arg("--state")
            .arg(logs.path().join("state.json"))
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
        let out = Command::new(script())
            .args(args)
            .output()
            .expect("run scripts/testbed");
        assert!(
            out.status.success(),
            "scripts/testbed {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
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
        let out = self.ssh(
            n,
            "grep -c 'Starting quorum peer' /var/log/zookeeper/zookeeper.log || true",
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
