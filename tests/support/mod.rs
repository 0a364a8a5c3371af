//! The local fleet for end-to-end tests: brought up once per test binary by
//! `scripts/testbed up` (which reuses a healthy fleet), shared by the tests
//! of that binary one at a time.
//!
//! The fleet is left running when the binary ends, so the next binary reuses
//! it; `scripts/test` tears it down at the end of the suite.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub struct Testbed {
    pub inventory: PathBuf,
    pub ssh_config: PathBuf,
    pub size: usize,
}

static TESTBED: OnceLock<Testbed> = OnceLock::new();
static TURN: Mutex<()> = Mutex::new(());

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed")
}

/// The fleet, and exclusive use of it for the calling test.
pub fn testbed() -> (&'static Testbed, MutexGuard<'static, ()>) {
    let guard = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let tb = TESTBED.get_or_init(|| {
        assert!(
            unsafe_is_root(),
            "end-to-end tests need root: the testbed binds port 22 on 127.0.0.1x and \
             bind-mounts per-host directories. Run the suite with `sudo scripts/test`."
        );
        let out = Command::new(script())
            .args(["up", "3"])
            .output()
            .expect("run scripts/testbed");
        assert!(
            out.status.success(),
            "scripts/testbed up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8_lossy(&out.stdout).to_string();
        let get = |key: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("scripts/testbed up printed no {key}:\n{env}"))
                .to_string()
        };
        Testbed {
            inventory: get("TESTBED_INVENTORY").into(),
            ssh_config: get("TESTBED_SSH_CONFIG").into(),
            size: get("TESTBED_SIZE").parse().expect("size"),
        }
    });
    // A test before this one may have left a node restarting.
    tb.wait_healthy();
    (tb, guard)
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
