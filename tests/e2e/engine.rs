//! zkrun over real SSH against the local fleet: what was touched is read
//! back from the hosts' own files, never from zkrun's word alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::{Testbed, eventually, testbed};
use serde_json::Value;

const MARKER: &str = "/var/backups/zookeeper/zkrun-e2e-marker";

struct Run {
    status: Output,
    events: Vec<Value>,
}

impl Run {
    fn finished(&self) -> &Value {
        self.events
            .iter()
            .find(|e| e["type"] == "run_finished")
            .unwrap_or_else(|| {
                panic!(
                    "no run_finished event; stderr: {}",
                    String::from_utf8_lossy(&self.status.stderr)
                )
            })
            .get("data")
            .unwrap()
    }

    fn hosts(&self, key: &str) -> Vec<String> {
        self.finished()[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    fn failure(&self) -> &Value {
        self.events
            .iter()
            .find(|e| e["type"] == "step_finished" && e["data"]["status"] == "failed")
            .map(|e| &e["data"])
            .unwrap_or_else(|| panic!("no failed step in {:?}", self.events))
    }
}

fn write_playbook(dir: &Path, tasks: &str) -> PathBuf {
    let p = dir.join("playbook.yaml");
    std::fs::write(
        &p,
        format!("name: e2e\nhosts: zookeeper\nrolling: {{order: inventory}}\ntasks:\n{tasks}"),
    )
    .unwrap();
    p
}

fn zkrun(tb: &Testbed, playbook: &Path, extra: &[&str]) -> Run {
    let (status, events) = tb.zkrun(playbook, extra);
    Run { status, events }
}

fn clear_markers(tb: &Testbed) {
    for n in 1..=tb.size {
        assert!(tb.ssh(n, &format!("rm -f {MARKER}")).status.success());
    }
}

fn marker(tb: &Testbed, n: usize) -> Option<String> {
    let out = tb.ssh(n, &format!("cat {MARKER} 2>/dev/null"));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Writes "<host> <nanoseconds>" to the marker on each host.
const MARK_TASK: &str = "  - id: mark\n    maintain: {shell: \"echo {{ inventory_hostname }} $(date +%s%N) > /var/backups/zookeeper/zkrun-e2e-marker\"}\n";

#[test]
fn maintain_runs_on_every_host_in_order_and_each_sees_its_own_files() {
    let (tb, _turn) = testbed();
    clear_markers(tb);
    let dir = tempfile::tempdir().unwrap();
    let pb = write_playbook(dir.path(), MARK_TASK);
    let run = zkrun(tb, &pb, &[]);
    assert!(
        run.status.status.success(),
        "{}",
        String::from_utf8_lossy(&run.status.stderr)
    );
    assert_eq!(run.hosts("done"), ["zk1", "zk2", "zk3"]);
    let mut stamps = Vec::new();
    for n in 1..=3 {
        let m = marker(tb, n).unwrap_or_else(|| panic!("zk{n} has no marker"));
        let (host, stamp) = m.split_once(' ').unwrap();
        assert_eq!(host, format!("zk{n}"));
        stamps.push(stamp.parse::<u128>().unwrap());
    }
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "hosts ran out of order: {stamps:?}"
    );
    clear_markers(tb);
}

#[test]
fn an_unreachable_host_stops_the_run_before_any_host_is_touched() {
    let (tb, _turn) = testbed();
    clear_markers(tb);
    tb.hook(&["ssh-stop", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let run = zkrun(tb, &write_playbook(dir.path(), MARK_TASK), &[]);
    tb.hook(&["ssh-start", "2"]);
    assert_eq!(run.status.status.code(), Some(1));
    let failed = run
        .events
        .iter()
        .find(|e| e["type"] == "connect_failed")
        .expect("a connect_failed event");
    assert_eq!(failed["data"]["host"], "zk2");
    assert!(
        failed["data"]["error"]
            .as_str()
            .unwrap()
            .contains("cannot connect")
    );
    assert_eq!(run.hosts("not_started"), ["zk1", "zk2", "zk3"]);
    for n in 1..=3 {
        assert_eq!(marker(tb, n), None, "zk{n} was touched");
    }
}

#[test]
fn a_failing_command_stops_the_roll_and_later_hosts_are_not_started() {
    let (tb, _turn) = testbed();
    clear_markers(tb);
    let dir = tempfile::tempdir().unwrap();
    let tasks = format!(
        "{MARK_TASK}  - id: fail-on-zk2\n    maintain: {{shell: \"echo about to fail >&2; [ {{{{ inventory_hostname }}}} != zk2 ] || exit 3\"}}\n"
    );
    let run = zkrun(tb, &write_playbook(dir.path(), &tasks), &[]);
    assert_eq!(run.status.status.code(), Some(1));
    let f = run.failure();
    assert_eq!(f["host"], "zk2");
    assert_eq!(f["task"], "fail-on-zk2");
    assert_eq!(f["exit_code"], 3);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("exited with status 3")
    );
    assert!(
        f["tail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "about to fail")
    );
    let log = f["log"].as_str().unwrap();
    assert!(log.ends_with("zk2/fail-on-zk2.log"), "{log}");
    assert_eq!(run.hosts("done"), ["zk1"]);
    assert_eq!(run.hosts("failed"), ["zk2"]);
    assert_eq!(run.hosts("not_started"), ["zk3"]);
    assert!(marker(tb, 1).is_some() && marker(tb, 2).is_some());
    assert_eq!(marker(tb, 3), None, "zk3 was touched after zk2 failed");
    clear_markers(tb);
}

#[test]
fn a_command_past_its_timeout_is_ended_on_the_host() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let tasks = "  - id: hang\n    timeout: 2s\n    maintain: {command: [sleep, \"301\"]}\n";
    let run = zkrun(tb, &write_playbook(dir.path(), tasks), &["--limit", "zk1"]);
    assert_eq!(run.status.status.code(), Some(1));
    let f = run.failure();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("ran past the step's timeout"),
        "{f}"
    );
    eventually(
        "the remote sleep to be gone",
        Duration::from_secs(15),
        || {
            let out = tb.ssh(1, "pgrep -x sleep -a | grep -c 301 || true");
            (String::from_utf8_lossy(&out.stdout).trim() == "0").then_some(())
        },
    );
}

/// A command that exited while a process it started still holds its
/// output is not ended at the deadline: that process lives (a daemon a
/// start script forgot to detach), and the step says what happened.
#[test]
fn a_daemon_holding_a_finished_commands_output_is_left_alone() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let tasks = "  - id: detach\n    timeout: 2s\n    maintain: {shell: \"sleep 306 & exit 0\"}\n";
    let run = zkrun(tb, &write_playbook(dir.path(), tasks), &["--limit", "zk1"]);
    assert_eq!(run.status.status.code(), Some(1));
    let f = run.failure();
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("exited, but a process it started still holds its output"),
        "{f}"
    );
    let out = tb.ssh(
        1,
        "pgrep -f '[s]leep 306' >/dev/null && echo alive; pkill -f '[s]leep 306'",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "alive");
}

#[test]
fn a_dropped_connection_mid_command_fails_the_step_and_stops_the_roll() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let tasks = "  - id: slow\n    timeout: 60s\n    maintain: {shell: \"[ {{ inventory_hostname }} != zk2 ] || sleep 302\"}\n";
    let pb = write_playbook(dir.path(), tasks);
    let handle = std::thread::scope(|s| {
        let run = s.spawn(|| zkrun(tb, &pb, &[]));
        eventually(
            "the slow command to start on zk2",
            Duration::from_secs(20),
            || {
                let out = tb.ssh(2, "pgrep -f '[s]leep 302' >/dev/null && echo yes");
                (String::from_utf8_lossy(&out.stdout).trim() == "yes").then_some(())
            },
        );
        tb.hook(&["ssh-cut", "2"]);
        run.join().unwrap()
    });
    let run = handle;
    assert_eq!(run.status.status.code(), Some(1));
    let f = run.failure();
    assert_eq!(f["host"], "zk2");
    assert!(
        f["message"].as_str().unwrap().contains("connection lost"),
        "{f}"
    );
    assert_eq!(run.hosts("not_started"), ["zk3"]);
}

#[test]
fn a_changed_host_key_is_refused() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    // A known_hosts that pins another key for zk1.
    let key = dir.path().join("other");
    assert!(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success()
    );
    let other = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let other = other
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let known = tb.ssh_config.parent().unwrap().join("known_hosts");
    let pinned = std::fs::read_to_string(&known).unwrap();
    let changed: String = pinned
        .lines()
        .map(|l| {
            if l.starts_with("zk1,") {
                format!("zk1,127.0.0.11 {other}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let known2 = dir.path().join("known_hosts");
    std::fs::write(&known2, changed + "\n").unwrap();
    let config = std::fs::read_to_string(&tb.ssh_config)
        .unwrap()
        .replace(known.to_str().unwrap(), known2.to_str().unwrap());
    let config2 = dir.path().join("ssh_config");
    std::fs::write(&config2, config).unwrap();
    let tb2 = Testbed {
        ssh_config: config2,
        ..tb.clone()
    };
    let run = zkrun(&tb2, &write_playbook(dir.path(), MARK_TASK), &[]);
    assert_eq!(run.status.status.code(), Some(1));
    let failed = run
        .events
        .iter()
        .find(|e| e["type"] == "connect_failed")
        .expect("connect_failed");
    assert_eq!(failed["data"]["host"], "zk1");
    assert!(
        failed["data"]["error"]
            .as_str()
            .unwrap()
            .contains("host key"),
        "{failed}"
    );
}

#[test]
fn refused_authentication_is_named() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("stranger");
    assert!(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success()
    );
    let client_key = tb.ssh_config.parent().unwrap().join("id_ed25519");
    let inventory = std::fs::read_to_string(&tb.inventory)
        .unwrap()
        .replace(client_key.to_str().unwrap(), key.to_str().unwrap());
    let config = std::fs::read_to_string(&tb.ssh_config)
        .unwrap()
        .replace(client_key.to_str().unwrap(), key.to_str().unwrap());
    let (inv2, cfg2) = (dir.path().join("inv.yaml"), dir.path().join("ssh_config"));
    std::fs::write(&inv2, inventory).unwrap();
    std::fs::write(&cfg2, config).unwrap();
    let tb2 = Testbed {
        inventory: inv2,
        ssh_config: cfg2,
        ..tb.clone()
    };
    let run = zkrun(&tb2, &write_playbook(dir.path(), MARK_TASK), &[]);
    assert_eq!(run.status.status.code(), Some(1));
    let failed = run
        .events
        .iter()
        .find(|e| e["type"] == "connect_failed")
        .expect("connect_failed");
    assert!(
        failed["data"]["error"]
            .as_str()
            .unwrap()
            .contains("authentication refused"),
        "{failed}"
    );
}

#[test]
fn no_ssh_master_outlives_the_run() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let masters = || {
        let out = Command::new("pgrep")
            .args(["-f", "ssh -E .*ssh-connection.* -M"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let before = masters();
    let run = zkrun(tb, &write_playbook(dir.path(), MARK_TASK), &[]);
    assert!(run.status.status.success());
    eventually(
        "the run's ssh masters to exit",
        Duration::from_secs(10),
        || (masters() <= before).then_some(()),
    );
    clear_markers(tb);
}

#[test]
fn verbose_streams_remote_output_as_events() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let tasks = "  - id: talk\n    maintain: {shell: \"echo out-line; echo err-line >&2\"}\n";
    let run = zkrun(
        tb,
        &write_playbook(dir.path(), tasks),
        &["-v", "--limit", "zk1"],
    );
    assert!(run.status.status.success());
    let lines: Vec<(String, String)> = run
        .events
        .iter()
        .filter(|e| e["type"] == "output")
        .map(|e| {
            (
                e["data"]["stream"].as_str().unwrap().to_string(),
                e["data"]["line"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        lines.contains(&("stdout".into(), "out-line".into())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("stderr".into(), "err-line".into())),
        "{lines:?}"
    );
}

#[test]
fn status_prints_the_ensemble_and_a_verdict() {
    let (tb, _turn) = testbed();
    let out = tb.zkrun_plain(&["--status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nodes: Vec<&str> = text.lines().filter(|l| l.starts_with("zk")).collect();
    assert_eq!(
        nodes.iter().filter(|l| l.contains(" leader ")).count(),
        1,
        "{text}"
    );
    assert_eq!(
        nodes.iter().filter(|l| l.contains(" follower ")).count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("client sessions may negotiate 4.0s–40.0s"),
        "{text}"
    );
    assert!(text.contains("healthy"), "{text}");

    // The same for machines: one JSON object.
    let out = tb.zkrun_plain(&["--status", "--output", "json"]);
    assert!(out.status.success());
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let data = &status["data"];
    assert_eq!(status["type"], "status");
    assert_eq!(data["healthy"], true);
    assert_eq!(data["leader"], serde_json::json!([tb.leader()]));
    assert_eq!(data["nodes"].as_array().unwrap().len(), tb.size);
    assert_eq!(data["synced_followers"], tb.size - 1);
}

#[test]
fn a_become_password_reaches_sudo_on_its_input_and_a_wrong_one_is_refused_before_any_step() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let tasks = "  - id: whoami\n    become: true\n    maintain: {shell: \"id -u > /tmp/zkrun-become-e2e; ps -eo args >> /tmp/zkrun-become-e2e\"}\n";
    let pb = write_playbook(dir.path(), tasks);
    let pw = as_user(tb, dir.path(), "zkop");
    let good = dir.path().join("good");
    std::fs::write(&good, "zkrun-testbed-sudo\n").unwrap();
    let run = zkrun(
        &pw,
        &pb,
        &[
            "--limit",
            "zk1",
            "--become-password-file",
            good.to_str().unwrap(),
        ],
    );
    assert!(run.status.status.success(), "{:?}", run.events);
    let out = tb.ssh(
        1,
        "cat /tmp/zkrun-become-e2e && rm -f /tmp/zkrun-become-e2e",
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(text.lines().next(), Some("0"), "{text}");
    assert!(
        !text.contains("zkrun-testbed-sudo"),
        "the password showed on a command line:\n{text}"
    );

    // A wrong password: refused when connecting, no step runs anywhere.
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "not-the-password\n").unwrap();
    let run = zkrun(&pw, &pb, &["--become-password-file", bad.to_str().unwrap()]);
    assert_ne!(run.status.status.code(), Some(0));
    let text = format!("{:?}", run.events);
    assert!(text.contains("refused the become password"), "{text}");
    assert!(
        !text.contains("not-the-password"),
        "the password was printed: {text}"
    );
    for n in 1..=3 {
        let out = tb.ssh(n, "test -e /tmp/zkrun-become-e2e && echo yes || echo no");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "no",
            "zk{n} ran the step"
        );
    }
}

/// The fleet's inventory, connecting as another user.
fn as_user(tb: &Testbed, dir: &Path, user: &str) -> Testbed {
    let inv = std::fs::read_to_string(&tb.inventory)
        .unwrap()
        .replace("ansible_user: root", &format!("ansible_user: {user}"));
    let path = dir.join("inventory.yaml");
    std::fs::write(&path, inv).unwrap();
    Testbed {
        inventory: path,
        ..tb.clone()
    }
}

#[test]
fn become_runs_through_sudo_and_says_so_when_sudo_wants_a_password() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let tasks = "  - id: whoami\n    become: true\n    maintain: {shell: \"id -u > /tmp/zkrun-become-e2e\"}\n";
    let pb = write_playbook(dir.path(), tasks);

    // sudo without a password: the command runs as root.
    let np = as_user(tb, dir.path(), "zkop-np");
    let run = zkrun(&np, &pb, &["--limit", "zk1"]);
    assert!(run.status.status.success(), "{:?}", run.events);
    let out = tb.ssh(
        1,
        "cat /tmp/zkrun-become-e2e && rm -f /tmp/zkrun-become-e2e",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");

    // sudo that wants a password: a clear failure, and no further host touched.
    let pw = as_user(tb, dir.path(), "zkop");
    let run = zkrun(&pw, &pb, &[]);
    assert_eq!(run.status.status.code(), Some(1));
    let f = run.failure();
    assert_eq!(f["host"], "zk1");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("sudo on zk1 wants a password"),
        "{f}"
    );
    assert!(f["help"].as_str().unwrap().contains("NOPASSWD"), "{f}");
    assert_eq!(run.hosts("not_started"), ["zk2", "zk3"]);
    for n in 1..=3 {
        let out = tb.ssh(n, "test -e /tmp/zkrun-become-e2e && echo yes || echo no");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "no",
            "zk{n} ran the command"
        );
    }
}
