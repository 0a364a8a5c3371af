//! The shipped playbook, unchanged, on fleets shaped like real ensembles
//! (`scripts/testbed up --names alias | --shared-pids | --config crlf |
//! --dynamic | --leader-serves no | --systemd sysv|simple|forking`): each roll exits 0, restarts every node
//! exactly once, holds one election and never has two voters out.

use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use crate::support::{ConfigStyle, Manager, Names, Shape, Testbed, testbed_with, watched};

/// Rolls the shipped playbook on `shape` and checks what every roll must
/// hold; prints the figures the closing note reports.
fn roll_on(shape: Shape) {
    roll_with(shape, false)
}

/// The same, with the fleet's inventory in Ansible's INI form (connection
/// settings in `group_vars/`, old `ansible_ssh_*` spellings, ssh arguments)
/// when `ini`.
fn roll_with(shape: Shape, ini: bool) {
    let (tb, _turn) = testbed_with(&shape);
    let ini_tb = Testbed {
        inventory: tb.ini_inventory.clone(),
        ..tb.clone()
    };
    let tb: &Testbed = if ini { &ini_tb } else { tb };
    let before = tb.zk_pids();
    let starts: Vec<usize> = (1..=tb.size).map(|n| tb.starts(n)).collect();
    let t0 = Instant::now();
    let ((out, events), samples) = watched(tb, || {
        tb.zkrun(Path::new("playbooks/rolling-restart.yaml"), &[])
    });
    let worst_down = samples.iter().map(|s| s.voters_down).max().unwrap_or(0);
    let wall = t0.elapsed();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{shape:?}:\n{text}");
    let after = tb.zk_pids();
    for n in 1..=tb.size {
        assert_ne!(
            before[n - 1],
            after[n - 1],
            "zk{n} was not restarted ({shape:?})"
        );
        assert_eq!(
            tb.starts(n),
            starts[n - 1] + 1,
            "zk{n} did not start exactly once ({shape:?})"
        );
    }
    assert!(
        worst_down <= 1,
        "{worst_down} voters were down at once ({shape:?})"
    );
    let fact = |name: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["type"] == "fact" && e["data"]["name"] == name)
            .filter_map(|e| e["data"]["value"].as_str().map(str::to_string))
            .collect()
    };
    let elections = fact("elections");
    assert!(
        elections
            .first()
            .is_some_and(|e| e.starts_with("1 election")),
        "{shape:?}: {elections:?}"
    );
    let summary = &events.last().unwrap()["data"];
    assert_eq!(summary["status"], "ok", "{summary}");
    let restarts: f64 = events
        .iter()
        .filter(|e| e["type"] == "step_finished" && e["data"]["task"] == "verify")
        .count() as f64;
    eprintln!(
        "figure: shipped roll on {shape:?}{}: wall {:.1} s, {restarts} nodes restarted, {}",
        if ini { " (INI inventory)" } else { "" },
        wall.as_secs_f64(),
        elections[0]
    );
    let _: &Value = summary;
}

#[test]
fn hosts_known_by_ssh_aliases_with_fqdn_server_lines_from_an_ini_inventory() {
    roll_with(
        Shape {
            names: Names::Alias,
            ..Shape::default()
        },
        true,
    );
}

#[test]
fn every_jvm_visible_to_every_host() {
    roll_on(Shape {
        shared_pids: true,
        ..Shape::default()
    });
}

#[test]
fn crlf_padded_config_with_a_separate_data_log_dir_from_an_ini_inventory() {
    roll_with(
        Shape {
            config: ConfigStyle::Crlf,
            ..Shape::default()
        },
        true,
    );
}

#[test]
fn server_lines_in_a_dynamic_config_file() {
    roll_on(Shape {
        dynamic: true,
        ..Shape::default()
    });
}

#[test]
fn a_leader_that_serves_no_clients() {
    roll_on(Shape {
        leader_serves: false,
        ..Shape::default()
    });
}

/// systemd hosts (`scripts/testbed up --systemd`): each host boots systemd
/// in a container and runs ZooKeeper as zookeeper.service; the inventory's
/// `zk_manager: systemd` is all the shipped playbook needs.
#[test]
fn debian_zookeeperd_through_the_sysv_generator() {
    roll_on(Shape {
        manager: Manager::SystemdSysv,
        ..Shape::default()
    });
}

#[test]
fn a_native_simple_unit_logging_to_the_journal() {
    roll_on(Shape {
        manager: Manager::SystemdSimple,
        ..Shape::default()
    });
}

#[test]
fn a_native_forking_unit_with_a_pid_file_from_an_ini_inventory() {
    roll_with(
        Shape {
            manager: Manager::SystemdForking,
            ..Shape::default()
        },
        true,
    );
}

/// Puts a host's zoo.cfg back when dropped (ZooKeeper reads it only at
/// start, so the running node never sees the change).
struct ConfigBack<'a>(&'a Testbed, usize, Vec<u8>);

impl Drop for ConfigBack<'_> {
    fn drop(&mut self) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), &self.2).unwrap();
        let out = std::process::Command::new("scp")
            .arg("-F")
            .arg(&self.0.ssh_config)
            .arg(tmp.path())
            .arg(format!("zk{}:/etc/zookeeper/conf/zoo.cfg", self.1))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn preflight_only(dir: &Path) -> std::path::PathBuf {
    let pb = dir.join("preflight.yaml");
    std::fs::write(
        &pb,
        "name: preflight\nhosts: zookeeper\ntasks:\n  - {id: preflight, run: once, timeout: 2s, status: {require: healthy}}\n",
    )
    .unwrap();
    pb
}

/// The preflight's failure message.
fn preflight_failure(tb: &Testbed, pb: &Path) -> String {
    let (out, events) = tb.zkrun(pb, &[]);
    assert_eq!(out.status.code(), Some(1));
    events
        .iter()
        .find(|e| e["type"] == "step_finished" && e["data"]["status"] == "failed")
        .and_then(|e| e["data"]["message"].as_str())
        .unwrap_or_else(|| panic!("no failed step: {events:?}"))
        .to_string()
}

#[test]
fn bad_identities_are_named_by_host_and_setting() {
    let (tb, _turn) = crate::support::testbed();
    let dir = tempfile::tempdir().unwrap();
    let pb = preflight_only(dir.path());
    let original = tb.ssh(1, "cat /etc/zookeeper/conf/zoo.cfg").stdout;
    let _back = ConfigBack(tb, 1, original);
    // A server line whose name resolves nowhere on the host.
    let out = tb.ssh(
        1,
        "sed -i 's/^server.1=.*/server.1=zk-nowhere.invalid:2888:3888/' /etc/zookeeper/conf/zoo.cfg",
    );
    assert!(out.status.success());
    let m = preflight_failure(tb, &pb);
    assert!(
        m.contains("zk1: server.1 names zk-nowhere.invalid, which does not resolve on zk1"),
        "{m}"
    );
    // A server line naming another host of the ensemble.
    tb.ssh(
        1,
        "sed -i 's/^server.1=.*/server.1=zk2.zk.test:2888:3888/' /etc/zookeeper/conf/zoo.cfg",
    );
    let m = preflight_failure(tb, &pb);
    assert!(
        m.contains("zk1: server.1 names zk2.zk.test, which resolves on zk1 to 127.0.0.12"),
        "{m}"
    );
    // A dynamic config file that is not there.
    tb.ssh(
        1,
        "echo dynamicConfigFile=/etc/zookeeper/conf/zoo.cfg.dynamic.gone >> /etc/zookeeper/conf/zoo.cfg",
    );
    let m = preflight_failure(tb, &pb);
    assert!(
        m.contains("dynamicConfigFile=/etc/zookeeper/conf/zoo.cfg.dynamic.gone")
            && m.contains("zk1"),
        "{m}"
    );
}

#[test]
fn status_takes_a_playbooks_service_and_tells_a_silent_port_from_a_dead_node() {
    let (tb, _turn) = crate::support::testbed();
    let status = |args: &[&str]| {
        let mut all = vec!["--status"];
        all.extend_from_slice(args);
        let out = tb.zkrun_plain(&all);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, text) = status(&["playbooks/rolling-restart.yaml"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("healthy: every voter serves"), "{text}");
    // Every JVM runs, but nothing answers on 2182: not "down".
    let (code, text) = status(&["--client-port", "2182"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("a ZooKeeper JVM runs on the host, but the client port does not answer"),
        "{text}"
    );
}
