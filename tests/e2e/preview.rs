//! End-to-end: `--dry-run` looks at the live fleet read-only (leader, order,
//! checks, template diffs) and says when it cannot; `maintain: template`
//! keeps the file it replaces and leaves identical content alone.

use std::path::{Path, PathBuf};

use crate::support::{Testbed, testbed};
use serde_json::Value;

/// The `live` object of a JSON dry-run.
fn live(tb: &Testbed, playbook: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--dry-run"];
    args.extend_from_slice(extra);
    let (out, lines) = tb.zkrun(playbook, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines
        .into_iter()
        .find(|l| l["type"] == "live")
        .expect("a live object")["data"]
        .clone()
}

#[test]
fn dry_run_names_the_leader_that_goes_last_and_the_checks_that_answer() {
    let (tb, _turn) = testbed();
    let leader = tb.leader();
    let pids = tb.zk_pids();
    let l = live(tb, Path::new("playbooks/rolling-restart.yaml"), &[]);
    assert_eq!(l["leader"], leader.as_str());
    let order: Vec<&str> = l["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(order.len(), tb.size);
    assert_eq!(*order.last().unwrap(), leader, "{order:?}");
    let checks = l["checks"].to_string();
    assert!(checks.contains("mntr: answered"), "{checks}");
    assert!(checks.contains("conf: answered"), "{checks}");
    // The testbed's tickTime is 2 s: sessions from 4 s to 40 s.
    assert!(
        l["sessions"].as_str().unwrap().contains("4.0s–40.0s"),
        "{}",
        l["sessions"]
    );
    // One backup room check per host, no refusal.
    let steps = l["steps"].as_array().unwrap();
    assert_eq!(
        steps.iter().filter(|s| s["task"] == "backup").count(),
        tb.size
    );
    assert!(steps.iter().all(|s| s["problem"].is_null()), "{steps:?}");
    assert_eq!(pids, tb.zk_pids(), "a dry-run restarted a node");

    // The human form says it in words.
    let out = tb.zkrun_plain(&["playbooks/rolling-restart.yaml", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("leader now: {leader}, goes last")),
        "{text}"
    );
    assert!(
        text.lines().all(|l| l.chars().count() <= 80),
        "a line is wider than 80 columns:\n{text}"
    );
}

#[test]
fn dry_run_with_a_host_unreachable_says_the_order_is_resolved_at_run_time() {
    let (tb, _turn) = testbed();
    let before = ssh_masters();
    tb.hook(&["ssh-stop", "3"]);
    let (out, lines) = tb.zkrun(Path::new("playbooks/rolling-restart.yaml"), &["--dry-run"]);
    tb.hook(&["ssh-start", "3"]);
    // The run would be refused: the preview's exit code says so.
    assert_eq!(out.status.code(), Some(1));
    let l = &lines.iter().find(|l| l["type"] == "live").unwrap()["data"];
    assert_eq!(l["unreachable"][0][0], "zk3", "{l}");
    assert!(l["leader"].is_null());
    // The hosts it did reach keep no SSH master behind.
    crate::support::eventually(
        "the dry-run's ssh masters to exit",
        std::time::Duration::from_secs(10),
        || (ssh_masters() <= before).then_some(()),
    );
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_zkrun"))
        .args([
            "playbooks/rolling-restart.yaml",
            "--dry-run",
            "--offline",
            "-i",
        ])
        .arg(&tb.inventory)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("resolved at run time"));
}

/// A playbook that renders `e2e.properties.j2` to `dest` on the hosts.
fn template_playbook(dir: &Path, dest: &str) -> PathBuf {
    std::fs::write(
        dir.join("e2e.properties.j2"),
        "host={{ inventory_hostname }}\nvalue={{ value }}\n",
    )
    .unwrap();
    let pb = dir.join("template.yaml");
    std::fs::write(
        &pb,
        format!(
            "name: template\nhosts: zookeeper\nrolling: {{serial: 1, order: inventory}}\ntasks:\n  \
             - id: render\n    maintain:\n      template: {{src: e2e.properties.j2, dest: \"{dest}\"}}\n"
        ),
    )
    .unwrap();
    pb
}

/// Removes the test's files from host 1, whatever the outcome.
struct Cleanup<'a>(&'a Testbed, &'a str);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.ssh(1, &format!("rm -f {0} {0}.zkrun-prev", self.1));
    }
}

#[test]
fn a_template_shows_its_diff_keeps_the_previous_file_and_leaves_identical_content_alone() {
    let (tb, _turn) = testbed();
    let dest = "/etc/zookeeper/conf/zkrun-e2e.properties";
    let _cleanup = Cleanup(tb, dest);
    let dir = tempfile::tempdir().unwrap();
    let pb = template_playbook(dir.path(), dest);
    let on_host = |path: &str| {
        let out = tb.ssh(1, &format!("cat {path}"));
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_string())
    };
    let notes = |l: &Value| l["steps"][0]["notes"].to_string();
    let limit = ["--limit", "zk1"];

    let l = live(tb, &pb, &[&limit[..], &["-e", "value=1"]].concat());
    assert!(notes(&l).contains("does not exist yet"), "{l}");
    let (out, _) = tb.zkrun(&pb, &[&limit[..], &["-e", "value=1"]].concat());
    assert!(out.status.success());
    assert_eq!(on_host(dest).as_deref(), Some("host=zk1\nvalue=1\n"));
    assert_eq!(on_host(&format!("{dest}.zkrun-prev")), None);

    let l = live(tb, &pb, &[&limit[..], &["-e", "value=2"]].concat());
    let n = notes(&l);
    assert!(n.contains("-value=1") && n.contains("+value=2"), "{n}");
    assert!(!n.contains("-host=zk1"), "unchanged lines are context: {n}");
    let (out, _) = tb.zkrun(&pb, &[&limit[..], &["-e", "value=2"]].concat());
    assert!(out.status.success());
    assert_eq!(on_host(dest).as_deref(), Some("host=zk1\nvalue=2\n"));
    assert_eq!(
        on_host(&format!("{dest}.zkrun-prev")).as_deref(),
        Some("host=zk1\nvalue=1\n")
    );

    // The same content again (a resumed run, a second run): nothing changes,
    // and the previous file still holds what was there before the change.
    let l = live(tb, &pb, &[&limit[..], &["-e", "value=2"]].concat());
    assert!(notes(&l).contains("unchanged"), "{l}");
    let (out, _) = tb.zkrun(&pb, &[&limit[..], &["-e", "value=2"]].concat());
    assert!(out.status.success());
    assert_eq!(
        on_host(&format!("{dest}.zkrun-prev")).as_deref(),
        Some("host=zk1\nvalue=1\n")
    );
}

#[test]
fn a_template_into_a_missing_directory_refuses_the_run() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let pb = template_playbook(dir.path(), "/etc/zookeeper/no-such-dir/x.properties");
    let (out, events) = tb.zkrun(&pb, &["-e", "value=1"]);
    assert_eq!(out.status.code(), Some(1));
    let refused: Vec<&Value> = events.iter().filter(|e| e["type"] == "refused").collect();
    assert_eq!(refused.len(), tb.size, "one per host: {refused:?}");
    assert!(
        refused[0]["data"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{refused:?}"
    );
    assert!(!events.iter().any(|e| e["type"] == "step_started"));
}

fn ssh_masters() -> usize {
    let out = std::process::Command::new("pgrep")
        .args(["-f", "ssh -E .*ssh-connection.* -M"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// The client read speaks ZooKeeper's protocol to a live node before the
/// run: a znode that is not there refuses the run, saying so, and nothing
/// is stopped.
#[test]
fn a_verify_read_of_a_missing_znode_refuses_the_run() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("pb.yaml");
    let shipped = std::fs::read_to_string("playbooks/rolling-restart.yaml").unwrap();
    assert!(shipped.contains("      read: /\n"));
    std::fs::write(
        &pb,
        shipped.replace("      read: /\n", "      read: /zkrun-no-such-znode\n"),
    )
    .unwrap();
    let pids = tb.zk_pids();
    let (out, events) = tb.zkrun(&pb, &[]);
    assert_eq!(out.status.code(), Some(1));
    let refused: Vec<&Value> = events.iter().filter(|e| e["type"] == "refused").collect();
    assert_eq!(refused.len(), 1, "one live read per run: {refused:?}");
    let message = refused[0]["data"]["message"].as_str().unwrap();
    assert!(
        message.contains("/zkrun-no-such-znode") && message.contains("NONODE"),
        "{message}"
    );
    assert!(!events.iter().any(|e| e["type"] == "step_started"));
    assert_eq!(tb.zk_pids(), pids, "a node was restarted");
}
