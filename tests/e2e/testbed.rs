//! The local fleet is real: each host answers over SSH with its own files,
//! each node serves, and the fault hooks do what later tests rely on.

use std::time::Duration;

use crate::support::{eventually, four_letter_word, testbed};

#[test]
fn every_host_answers_over_ssh_as_itself_with_its_own_files() {
    let (tb, _turn) = testbed();
    for n in 1..=tb.size {
        let out = tb.ssh(
            n,
            "hostname; cat /var/lib/zookeeper/myid; grep clientPortAddress /etc/zookeeper/conf/zoo.cfg; readlink /var/lib/zookeeper/myid",
        );
        assert!(
            out.status.success(),
            "ssh zk{n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("zk{n}"), "hostname of zk{n}");
        assert_eq!(lines[1], n.to_string(), "myid seen on zk{n}");
        assert_eq!(lines[2], format!("clientPortAddress={}", tb.address(n)));
        assert_eq!(
            lines[3], "/etc/zookeeper/conf/myid",
            "Debian's myid symlink"
        );
    }
}

#[test]
fn hosts_are_pinned_and_strict() {
    let (tb, _turn) = testbed();
    let config = std::fs::read_to_string(&tb.ssh_config).unwrap();
    assert!(config.contains("StrictHostKeyChecking yes"));
    assert!(config.contains("BatchMode yes"));
    assert!(!config.to_lowercase().contains("stricthostkeychecking no"));
    // A host key that is not the pinned one is refused.
    let out = std::process::Command::new("ssh")
        .arg("-F")
        .arg(&tb.ssh_config)
        .args(["-o", "UserKnownHostsFile=/dev/null", "zk1", "true"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "ssh accepted an unknown host key");
}

#[test]
fn leader_found_by_srvr_agrees_with_the_testbed() {
    let (tb, _turn) = testbed();
    let mut leaders = Vec::new();
    for n in 1..=tb.size {
        let reply = four_letter_word(&tb.address(n), "srvr").expect("srvr answers");
        let mode = reply
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .unwrap_or_else(|| panic!("no Mode line from zk{n}: {reply}"));
        assert!(mode == "leader" || mode == "follower", "zk{n} is {mode}");
        if mode == "leader" {
            leaders.push(format!("zk{n}"));
        }
    }
    assert_eq!(leaders, vec![tb.leader()]);
}

#[test]
fn stopping_sshd_makes_a_host_unreachable_until_restarted() {
    let (tb, _turn) = testbed();
    tb.hook(&["ssh-stop", "2"]);
    let out = tb.ssh(2, "true");
    assert!(
        !out.status.success(),
        "zk2 still answered with its sshd stopped"
    );
    // ZooKeeper itself is untouched by the sshd fault.
    assert!(four_letter_word(&tb.address(2), "srvr").is_some_and(|r| r.contains("Mode:")));
    tb.hook(&["ssh-start", "2"]);
    assert!(tb.ssh(2, "true").status.success());
}

#[test]
fn a_killed_node_is_seen_down_and_comes_back_with_a_new_pid() {
    let (tb, _turn) = testbed();
    let before = tb.zk_pids()[0].expect("zk1 runs");
    tb.hook(&["zk-kill", "1"]);
    eventually("zk1 to stop answering", Duration::from_secs(10), || {
        four_letter_word(&tb.address(1), "srvr")
            .is_none()
            .then_some(())
    });
    assert_eq!(tb.zk_pids()[0], None);
    tb.hook(&["zk-start", "1"]);
    tb.wait_healthy();
    let after = tb.zk_pids()[0].expect("zk1 runs again");
    assert_ne!(before, after, "zk1 was not restarted");
}

#[test]
fn a_paused_node_stops_serving_and_resumes() {
    let (tb, _turn) = testbed();
    tb.hook(&["zk-pause", "3"]);
    let silent = four_letter_word(&tb.address(3), "srvr");
    tb.hook(&["zk-resume", "3"]);
    assert!(silent.is_none(), "a paused node answered: {silent:?}");
    tb.wait_healthy();
}

fn run_script(envs: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/testbed");
    let out = std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn not_root_is_refused_with_what_to_do() {
    let (_tb, _turn) = testbed();
    // The checkout may sit in a directory `nobody` cannot enter: run a copy.
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.path().join("testbed");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/testbed"),
        &copy,
    )
    .unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "bash"])
        .arg(&copy)
        .arg("up")
        .output()
        .unwrap();
    let (ok, err) = (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(!ok);
    assert!(err.contains("must run as root"), "{err}");
    assert!(err.contains("sudo"), "{err}");
}

#[test]
fn no_apt_is_refused_clearly() {
    let (_tb, _turn) = testbed();
    // A PATH with the basics but no apt-get or dpkg-query.
    let dir = tempfile::tempdir().unwrap();
    for tool in ["id", "bash"] {
        std::os::unix::fs::symlink(format!("/usr/bin/{tool}"), dir.path().join(tool)).unwrap();
    }
    let path = dir.path().to_string_lossy().to_string();
    let (ok, err) = run_script(
        &[
            ("PATH", &path),
            ("ZKRUN_TESTBED", "/run/zkrun-testbed-noapt"),
        ],
        &["up"],
    );
    assert!(!ok);
    assert!(err.contains("no apt-get here"), "{err}");
}

#[test]
fn ports_taken_by_another_process_are_named() {
    let (_tb, _turn) = testbed();
    // A second testbed on the same addresses finds the first one's ports.
    let other = tempfile::tempdir().unwrap();
    let state = other.path().join("tb").to_string_lossy().to_string();
    let (ok, err) = run_script(&[("ZKRUN_TESTBED", &state)], &["up", "3"]);
    assert!(!ok, "a second testbed came up on taken ports");
    assert!(err.contains("is already taken"), "{err}");
    assert!(
        !std::path::Path::new(&state).exists(),
        "the failed up left state behind"
    );
}

#[test]
fn a_stale_testbed_from_a_killed_run_is_cleaned_and_rebuilt() {
    let (tb, _turn) = testbed();
    // Simulate a crash: host 1 vanishes without `down`.
    let pid = std::fs::read_to_string("/run/zkrun-testbed/hosts/zk1/host.pid").unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    eventually("zk1 to go away", Duration::from_secs(10), || {
        four_letter_word(&tb.address(1), "srvr")
            .is_none()
            .then_some(())
    });
    let (ok, err) = run_script(&[], &["up", "3"]);
    assert!(ok, "{err}");
    assert!(err.contains("cleaning up a stale"), "{err}");
    tb.wait_healthy();
    assert!(tb.ssh(1, "true").status.success());
}
