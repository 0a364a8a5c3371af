//! Quorum safety on the real fleet: no playbook, flag or failure makes
//! zkrun lose the quorum or leave a node down. Every case is triggered for
//! real; the evidence is the nodes' own PIDs, `srvr` answers and configs.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::{
    Testbed, eventually, four_letter_word, leaderless_windows, testbed, testbed_shaped, watched,
};
use serde_json::Value;

fn shipped() -> String {
    std::fs::read_to_string("playbooks/rolling-restart.yaml").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every node answers `srvr` with a mode, and exactly one leads.
fn all_serving(tb: &Testbed) -> bool {
    let modes: Vec<String> = (1..=tb.size)
        .filter_map(|n| four_letter_word(&tb.address(n), "srvr"))
        .filter_map(|r| {
            r.lines()
                .find_map(|l| l.strip_prefix("Mode: ").map(str::to_string))
        })
        .collect();
    modes.len() == tb.size && modes.iter().filter(|m| *m == "leader").count() == 1
}

fn refusals(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "refused")
        .map(|e| e["data"].to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn serial_beyond_the_fault_tolerance_is_refused_before_any_host_is_contacted() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let pids = tb.zk_pids();
    for serial in ["2", "\"70%\""] {
        let pb = write(
            dir.path(),
            "rr.yaml",
            &shipped().replace("serial: 1", &format!("serial: {serial}")),
        );
        let (out, events) = tb.zkrun(&pb, &[]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let errors: Vec<&Value> = events.iter().filter(|e| e["type"] == "error").collect();
        assert_eq!(errors.len(), 1, "{events:?}");
        let message = errors[0]["data"]["message"].as_str().unwrap();
        assert!(
            message.contains(
                "stops 2 nodes at once, but an ensemble of 3 keeps its quorum with at most 1 down"
            ),
            "{message}"
        );
        // The line of `serial:` in the shipped playbook, wherever it moves.
        let line = shipped()
            .lines()
            .position(|l| l.trim_start().starts_with("serial:"))
            .unwrap()
            + 1;
        assert!(
            errors[0]["data"]["location"]
                .as_str()
                .unwrap()
                .ends_with(&format!(":{line}:11")),
            "the caret is under `serial`: {}",
            errors[0]
        );
        assert!(
            events.iter().all(|e| e["type"] == "error"),
            "nothing ran, no host was contacted: {events:?}"
        );
    }
    assert_eq!(tb.zk_pids(), pids, "a node was restarted");
}

#[test]
fn a_failing_maintenance_brings_the_node_back_and_stops_the_roll() {
    let (tb, _turn) = testbed();
    let before = tb.zk_pids();
    let leader = tb.leader();
    // `false` as the maintenance: the first follower is stopped, then its
    // maintenance fails while it is down.
    let (out, events) = tb.zkrun(
        Path::new("playbooks/rolling-restart.yaml"),
        &["-e", "maintenance=false"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let failed = events
        .iter()
        .find(|e| e["type"] == "step_finished" && e["data"]["status"] == "failed")
        .expect("a failed step");
    assert_eq!(failed["data"]["task"], "maintain");
    let host = failed["data"]["host"].as_str().unwrap().to_string();
    assert_ne!(host, leader, "the leader goes last");
    let recovered = events
        .iter()
        .find(|e| e["type"] == "recovery_finished")
        .expect("a recovery");
    assert_eq!(recovered["data"]["ok"], true, "{recovered}");
    assert_eq!(recovered["data"]["host"], host.as_str());
    let summary = &events.last().unwrap()["data"];
    assert_eq!(summary["recovered"][0], host.as_str(), "{summary}");
    assert_eq!(summary["left_down"].as_array().unwrap().len(), 0);
    // The hosts it never reached are not "in progress".
    assert_eq!(
        summary["in_progress"].as_array().unwrap().len(),
        0,
        "{summary}"
    );
    assert_eq!(
        summary["not_started"].as_array().unwrap().len(),
        2,
        "{summary}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--resume"), "{err}");
    // Every node serves, and only the failed host's server is new.
    eventually("every node to serve", Duration::from_secs(30), || {
        all_serving(tb).then_some(())
    });
    let after = tb.zk_pids();
    let n: usize = host.trim_start_matches("zk").parse().unwrap();
    for i in 1..=tb.size {
        if i == n {
            assert_ne!(
                after[i - 1],
                before[i - 1],
                "{host} was brought back by a new start"
            );
        } else {
            assert_eq!(after[i - 1], before[i - 1], "zk{i} was touched");
        }
    }
    eprintln!(
        "figure: recovery of {host} took {} ms",
        recovered["data"]["ms"]
    );
}

/// Moves a host's snapshots aside (ZooKeeper only reads them at start)
/// and puts them back when dropped.
struct NoSnapshot<'a>(&'a Testbed, usize);

impl Drop for NoSnapshot<'_> {
    fn drop(&mut self) {
        self.0.ssh(
            self.1,
            "cd /var/lib/zookeeper/version-2 && mv aside/snapshot.* . 2>/dev/null; rmdir aside",
        );
    }
}

#[test]
fn a_backup_after_the_stop_on_a_node_without_a_snapshot_is_refused_before_any_stop() {
    let (tb, _turn) = testbed();
    let before = tb.zk_pids();
    let hidden = NoSnapshot(tb, 2);
    let out = tb.ssh(
        2,
        "cd /var/lib/zookeeper/version-2 && mkdir aside && mv snapshot.* aside/ && ls aside",
    );
    assert!(out.status.success(), "{}", text(&out));
    // upgrade.yaml backs up after the stop.
    let (out, events) = tb.zkrun(
        Path::new("playbooks/upgrade.yaml"),
        &["-e", "zookeeper_version=0"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let refused = refusals(&events);
    assert!(
        refused.contains("zk2: no complete snapshot") && refused.contains("\"task\":\"backup\""),
        "{refused}"
    );
    assert!(
        !events.iter().any(|e| e["type"] == "step_started"),
        "a step ran"
    );
    drop(hidden);
    assert_eq!(tb.zk_pids(), before);
}

#[test]
fn a_template_that_drops_the_nodes_server_line_is_refused_before_any_stop() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let before = tb.zk_pids();
    let cfg_before = tb.ssh(1, "cat /etc/zookeeper/conf/zoo.cfg").stdout;
    // Servers numbered by loop position × 10: ids 10, 20, 30, while the
    // nodes' myids are 1, 2, 3.
    write(
        dir.path(),
        "zoo.cfg.j2",
        "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/var/lib/zookeeper\nclientPort=2181\n\
         clientPortAddress={{ ansible_host }}\n4lw.commands.whitelist=*\n\
         {% for h in play_hosts %}server.{{ loop.index * 10 }}={{ hostvars[h].ansible_host }}:2888:3888\n{% endfor %}",
    );
    let pb = write(
        dir.path(),
        "pb.yaml",
        "name: config\nhosts: zookeeper\ntasks:\n\
         \x20 - {id: gate, status: {require: quorum-without-this-host}}\n\
         \x20 - {id: stop, stop: {}}\n\
         \x20 - id: config\n    maintain:\n      template: {src: zoo.cfg.j2, dest: /etc/zookeeper/conf/zoo.cfg}\n\
         \x20 - {id: start, start: {}}\n",
    );
    let (out, events) = tb.zkrun(&pb, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let refused = refusals(&events);
    assert!(
        refused.contains("has no server.1 line (this node's myid is 1; the template writes server.10, server.20, server.30)"),
        "{refused}"
    );
    assert!(!events.iter().any(|e| e["type"] == "step_started"));
    assert_eq!(tb.zk_pids(), before);
    assert_eq!(
        tb.ssh(1, "cat /etc/zookeeper/conf/zoo.cfg").stdout,
        cfg_before
    );
}

/// Puts a host that was (or was being) started standalone back into the
/// ensemble: zk-rejoin, or zk-start when zk-standalone failed after its
/// stop. Panics on a failure only when the test has not already failed.
struct Standalone<'a>(&'a Testbed, usize);

impl Drop for Standalone<'_> {
    fn drop(&mut self) {
        let n = self.1.to_string();
        if self.0.try_hook(&["zk-rejoin", &n]).is_err() {
            let _ = self.0.try_hook(&["zk-start", &n]);
        }
        let healthy = self.0.try_hook(&["wait-healthy", "90"]);
        if let Err(e) = healthy
            && !std::thread::panicking()
        {
            panic!("{e}");
        }
    }
}

/// Deletes a znode through host 1's zkCli when dropped.
struct Znode<'a>(&'a Testbed, String, String);

impl Drop for Znode<'_> {
    fn drop(&mut self) {
        let _ = self.0.ssh(1, &format!("{} delete {} 2>&1", self.1, self.2));
    }
}

/// A backup restores: a ZooKeeper started alone on nothing but zk1's backup
/// serves a znode written just before it, which only the newest txn log
/// holds (that log is copied up to its last written byte, not its 64 MiB of
/// preallocated zeros).
#[test]
fn a_backup_restores_into_a_standalone_zookeeper_with_the_writes_after_its_snapshot() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let cli = format!(
        "/usr/share/zookeeper/bin/zkCli.sh -server {}:2181",
        tb.address(1)
    );
    let znode = format!("/zkrun-restore-{}", std::process::id());
    let value = format!(
        "written-before-the-backup-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    // Through zk1. A follower may answer before its own log is flushed; it
    // flushes as soon as its queue is empty, long before the backup below.
    let out = tb.ssh(1, &format!("{cli} create {znode} {value} 2>&1"));
    assert!(out.status.success(), "{}", text(&out));
    // Declared before the node's guard, so dropped after it: the ensemble
    // is whole again when the znode goes.
    let _znode = Znode(tb, cli.clone(), znode.clone());
    let out = tb.ssh(1, &format!("{cli} stat {znode} 2>/dev/null"));
    let written = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("mZxid = 0x").map(str::to_string))
        .unwrap_or_else(|| panic!("no mZxid: {}", text(&out)));
    let written = u64::from_str_radix(&written, 16).unwrap();

    // The shipped playbook's preflight and backup, nothing after.
    let shipped = shipped();
    let cut = shipped.find("  # Before each host").unwrap();
    let pb = write(dir.path(), "backup.yaml", &shipped[..cut]);
    let (out, events) = tb.zkrun(&pb, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let run_id = events[0]["data"]["run_id"].as_str().unwrap();
    let backup = format!("/var/backups/zookeeper/{run_id}");
    let out = tb.ssh(1, &format!("stat -c '%s %n' {backup}/version-2/log.*"));
    let sizes = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && !sizes.is_empty(), "{}", text(&out));
    for line in sizes.lines() {
        let size: u64 = line.split(' ').next().unwrap().parse().unwrap();
        assert!(size < 64 << 20, "a txn log copied whole: {line}");
    }
    // The write is newer than the snapshot: only a txn log holds it.
    let out = tb.ssh(1, &format!("ls {backup}/version-2"));
    let snapshot = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("snapshot.").map(str::to_string))
        .unwrap_or_else(|| panic!("no snapshot in the backup: {}", text(&out)));
    let snapshot = u64::from_str_radix(snapshot.split('.').next().unwrap(), 16).unwrap();
    assert!(
        written > snapshot,
        "{znode} (zxid {written:#x}) is in the snapshot ({snapshot:#x})"
    );

    let _rejoin = Standalone(tb, 1);
    tb.hook(&["zk-standalone", "1", &backup]);
    let out = tb.ssh(1, &format!("{cli} get {znode} 2>/dev/null"));
    // zkCli's watcher prints to stdout too, in its own thread: any line.
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == value),
        "the restored server does not have {znode}: {}",
        text(&out)
    );
}

#[test]
fn a_standalone_member_fails_the_preflight_by_name() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let _rejoin = Standalone(tb, 3);
    tb.hook(&["zk-standalone", "3"]);
    let before = tb.zk_pids();
    let preflight = write(
        dir.path(),
        "preflight.yaml",
        "name: preflight\nhosts: zookeeper\ntasks:\n  - {id: preflight, run: once, timeout: 2s, status: {require: healthy}}\n",
    );
    let (out, events) = tb.zkrun(&preflight, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let failed = events
        .iter()
        .find(|e| e["type"] == "step_finished" && e["data"]["status"] == "failed")
        .expect("the preflight fails");
    let message = failed["data"]["message"].as_str().unwrap();
    assert!(message.contains("zk3 serves standalone"), "{message}");
    // The shipped roll is refused too, and touches nothing.
    let (out, events) = tb.zkrun(Path::new("playbooks/rolling-restart.yaml"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        !events
            .iter()
            .any(|e| e["type"] == "step_started" && e["data"]["kind"] == "stop"),
        "a node was stopped"
    );
    assert_eq!(tb.zk_pids(), before);
}

#[test]
fn serial_two_on_five_voters_never_has_more_than_two_out() {
    let (tb, _turn) = testbed_shaped(5, 0);
    let dir = tempfile::tempdir().unwrap();
    let pb = write(
        dir.path(),
        "rr.yaml",
        &shipped().replace("serial: 1", "serial: 2"),
    );
    let before = tb.zk_pids();
    let ((out, events), samples) = watched(tb, || tb.zkrun(&pb, &[]));
    assert!(out.status.success(), "{}", text(&out));
    let after = tb.zk_pids();
    for i in 0..tb.size {
        assert_ne!(before[i], after[i], "zk{} was not restarted", i + 1);
    }
    let batches: Vec<usize> = events
        .iter()
        .filter(|e| e["type"] == "batch_started")
        .map(|e| e["data"]["hosts"].as_array().unwrap().len())
        .collect();
    assert_eq!(batches, [2, 2, 1]);
    assert!(
        samples.len() > 50,
        "the watcher ran: {} samples",
        samples.len()
    );
    let worst = samples.iter().map(|s| s.down).max().unwrap();
    assert!(worst <= 2, "{worst} nodes were down at once");
    // Whenever a leader leads, a majority of the five serves under it, but
    // for the moments right after the one election (the leader restarted):
    // a new leader serves once a quorum acked it, its followers a moment
    // later, when each has synced.
    let elected: Vec<Instant> = samples
        .windows(2)
        .filter(|w| w[0].leaders == 0 && w[1].leaders == 1)
        .map(|w| w[1].at)
        .collect();
    for s in &samples {
        let just_elected = elected
            .iter()
            .any(|t| s.at >= *t && s.at.duration_since(*t) < Duration::from_secs(3));
        if s.leaders == 1 && !just_elected {
            assert!(
                s.serving >= 3,
                "a leader with only {} serving, no election just before: {s:?}",
                s.serving
            );
        }
        assert!(s.leaders <= 1, "two leaders: {s:?}");
    }
    assert!(leaderless_windows(&samples) <= 1, "more than one election");
    let elections = elections_fact(&events);
    assert!(elections.starts_with("1 election"), "{elections}");
}

#[test]
fn three_voters_and_two_observers_roll_green() {
    let (tb, _turn) = testbed_shaped(5, 2);
    let before = tb.zk_pids();
    let starts: Vec<usize> = (1..=tb.size).map(|n| tb.starts(n)).collect();
    let ((out, events), samples) = watched(tb, || {
        tb.zkrun(Path::new("playbooks/rolling-restart.yaml"), &[])
    });
    assert!(out.status.success(), "{}", text(&out));
    let after = tb.zk_pids();
    for n in 1..=tb.size {
        assert_ne!(before[n - 1], after[n - 1], "zk{n} was not restarted");
        assert_eq!(
            tb.starts(n),
            starts[n - 1] + 1,
            "zk{n} started more than once"
        );
    }
    assert!(
        samples.iter().all(|s| s.down <= 1),
        "two nodes down at once"
    );
    assert!(leaderless_windows(&samples) <= 1, "more than one election");
    // Observers are back as observers.
    for n in 4..=5 {
        let srvr = four_letter_word(&tb.address(n), "srvr").unwrap_or_default();
        assert!(srvr.contains("Mode: observer"), "zk{n}: {srvr}");
    }
    let elections = elections_fact(&events);
    assert!(elections.starts_with("1 election"), "{elections}");
}

/// The final check's count of elections, from the events.
fn elections_fact(events: &[Value]) -> String {
    events
        .iter()
        .find(|e| e["type"] == "fact" && e["data"]["name"] == "elections")
        .expect("the final check counts elections")["data"]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A vault secret used in a `maintain` shell during a whole roll of the
/// shipped playbook: it runs (its output reaches the step logs, masked), and
/// not one byte zkrun writes — stdout, stderr with -v, step logs, the state
/// file — holds the secret. On the hosts it never appears on a command line.
#[test]
fn a_vault_secret_used_during_a_roll_never_reaches_anything_zkrun_writes() {
    let (tb, _turn) = crate::support::testbed();
    let dir = tempfile::tempdir().unwrap();
    let secret = "zkrun-e2e-secret-7f3a9c1d";
    let pw = dir.path().join("vault-pw");
    std::fs::write(&pw, "correct horse battery staple\n").unwrap();
    let vault = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/ansible-venv/bin/ansible-vault");
    // The secret is a vault value in group_vars; the maintenance (given
    // with -e, as the shipped playbook says) uses it through a template.
    let maintenance = r#"{"maintenance": "ps -eo args > /tmp/zkrun-secret-ps; echo token={{ zk_token }}; echo {{ zk_token }} >&2"}"#;
    let enc = std::process::Command::new(&vault)
        .args(["encrypt_string", "--vault-password-file"])
        .arg(&pw)
        .args(["--name", "zk_token", secret])
        .env("HOME", dir.path())
        .output()
        .expect("ansible-vault from scripts/ansible-oracle setup");
    assert!(
        enc.status.success(),
        "{}",
        String::from_utf8_lossy(&enc.stderr)
    );
    std::fs::create_dir(dir.path().join("group_vars")).unwrap();
    std::fs::write(dir.path().join("group_vars/zookeeper.yml"), &enc.stdout).unwrap();
    let inventory = dir.path().join("inventory.yaml");
    std::fs::copy(&tb.inventory, &inventory).unwrap();
    let logs = dir.path().join("logs");
    let state = dir.path().join("state/state.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkrun"))
        .arg("playbooks/rolling-restart.yaml")
        .arg("-i")
        .arg(&inventory)
        .arg("--ssh-config")
        .arg(&tb.ssh_config)
        .arg("--vault-password-file")
        .arg(&pw)
        .arg("--log-dir")
        .arg(&logs)
        .arg("--state")
        .arg(&state)
        .args(["-e", maintenance, "-v", "--connect-timeout", "5s"])
        .output()
        .unwrap();
    let mut written = Vec::new();
    written.extend_from_slice(&out.stdout);
    written.extend_from_slice(&out.stderr);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&written)
    );
    let mut files = vec![state.clone()];
    let mut todo = vec![logs.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let mut logged = String::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        logged.push_str(&String::from_utf8_lossy(&bytes));
        written.extend_from_slice(&bytes);
    }
    assert!(
        logged.contains("token=********"),
        "the maintenance did not run or was not logged"
    );
    let all = String::from_utf8_lossy(&written);
    assert!(
        !all.contains(secret),
        "the secret reached zkrun's output or files"
    );
    for n in 1..=tb.size {
        let ps = tb.ssh(n, "cat /tmp/zkrun-secret-ps; rm -f /tmp/zkrun-secret-ps");
        let ps = String::from_utf8_lossy(&ps.stdout);
        assert!(ps.contains("sh -s"), "zk{n}: {ps}");
        assert!(
            !ps.contains(secret),
            "zk{n}: the secret was on a command line:\n{ps}"
        );
    }
}
