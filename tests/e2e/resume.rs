//! Interrupt and resume, for real: Ctrl-C once and twice, a second run
//! against a locked state, and zkrun killed with SIGKILL again and again
//! during a rolling restart, resumed each time until it completes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::{Testbed, eventually, four_letter_word, testbed};
use serde_json::Value;

fn zkrun(tb: &Testbed, playbook: &Path, state: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zkrun"));
    c.arg(playbook)
        .arg("-i")
        .arg(&tb.inventory)
        .arg("--ssh-config")
        .arg(&tb.ssh_config)
        .arg("--state")
        .arg(state)
        .arg("--log-dir")
        .arg(state.with_extension("logs"))
        .args(["--output", "json"])
        .args(extra);
    c
}

fn signal(child: &Child, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

fn remote_running(tb: &Testbed, n: usize, pattern: &str) -> bool {
    let out = tb.ssh(
        n,
        &format!("pgrep -f '{pattern}' >/dev/null && echo yes || echo no"),
    );
    String::from_utf8_lossy(&out.stdout).trim() == "yes"
}

#[test]
fn ctrl_c_once_finishes_the_step_then_stops_with_a_resume_command() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("pb.yaml");
    std::fs::write(
        &pb,
        "name: t\nhosts: zookeeper\nrolling: {order: inventory}\ntasks:\n  - id: nap\n    maintain: {command: [sleep, \"2.04\"]}\n",
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let child = zkrun(tb, &pb, &state, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually("the step to start on zk1", Duration::from_secs(20), || {
        remote_running(tb, 1, "[s]leep 2.04").then_some(())
    });
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("finishing the current step"), "{stderr}");
    assert!(
        stderr.contains("to resume: zkrun") && stderr.contains("--resume"),
        "{stderr}"
    );
    let s: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(
        s["steps"]["zk1/nap"]["phase"], "done",
        "the current step was not finished: {s}"
    );
    assert!(s["steps"].get("zk2/nap").is_none(), "zk2 was started: {s}");
    // Resuming runs only what is left.
    let out = zkrun(tb, &pb, &state, &["--resume"]).output().unwrap();
    assert!(out.status.success());
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ran: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "step_finished" && e["data"]["status"] == "ok")
        .map(|e| e["data"]["host"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["zk2", "zk3"]);
}

#[test]
fn ctrl_c_twice_stops_at_once() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("pb.yaml");
    std::fs::write(
        &pb,
        "name: t\nhosts: zookeeper\nrolling: {order: inventory}\ntasks:\n  - id: long\n    timeout: 8s\n    maintain: {command: [sleep, \"304\"]}\n",
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let child = zkrun(tb, &pb, &state, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually("the step to start", Duration::from_secs(20), || {
        remote_running(tb, 1, "[s]leep 304").then_some(())
    });
    signal(&child, "-INT");
    std::thread::sleep(Duration::from_millis(300)); // not synchronisation: two distinct key presses
    signal(&child, "-INT");
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the second Ctrl-C did not stop at once"
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stopped at once"), "{stderr}");
    assert!(
        stderr.contains("zk1: sleep (pid ") && stderr.contains("a watcher ends it"),
        "{stderr}"
    );
    let s: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(s["steps"]["zk1/long"]["phase"], "running");
    // The watcher zkrun left on the host ends the orphaned command.
    eventually("the command on zk1 to end", Duration::from_secs(30), || {
        (!remote_running(tb, 1, "[s]leep 304")).then_some(())
    });
}

#[test]
fn a_second_run_on_the_same_state_is_refused_and_told_who_holds_it() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("pb.yaml");
    std::fs::write(
        &pb,
        "name: t\nhosts: zk1\ntasks:\n  - id: nap\n    maintain: {command: [sleep, \"3.05\"]}\n",
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let first = zkrun(tb, &pb, &state, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first_pid = first.id();
    eventually(
        "the first run to hold the lock",
        Duration::from_secs(20),
        || remote_running(tb, 1, "[s]leep 3.05").then_some(()),
    );
    let second = zkrun(tb, &pb, &state, &["--resume"]).output().unwrap();
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        second.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another zkrun is running"), "{err}");
    assert!(
        err.contains(&format!("pid {first_pid} on ")) && err.contains("since"),
        "{err}"
    );
}

#[test]
fn killed_at_every_step_and_resumed_each_node_restarts_exactly_once() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let pb = Path::new("playbooks/rolling-restart.yaml");
    let pids_before = tb.zk_pids();
    let starts_before: Vec<usize> = (1..=tb.size).map(|n| tb.starts(n)).collect();
    let masters_before = ssh_masters();

    let stop = AtomicBool::new(false);
    let (kills, worst_down, run_id) = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut worst = 0;
            while !stop.load(Ordering::Relaxed) {
                let down = (1..=tb.size)
                    .filter(|n| four_letter_word(&tb.address(*n), "srvr").is_none())
                    .count();
                worst = worst.max(down);
                std::thread::sleep(Duration::from_millis(20));
            }
            worst
        });
        let _stop_watcher = crate::support::StopOnDrop(&stop);
        let mut kills = 0;
        let mut attempt = 0;
        let run_id = loop {
            attempt += 1;
            assert!(attempt < 80, "the run never completed");
            let extra: &[&str] = if attempt == 1 { &[] } else { &["--resume"] };
            let mut child = zkrun(tb, pb, &state, extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let lines = BufReader::new(child.stdout.take().unwrap()).lines();
            // Alternate kill points: right as a step starts (inside it) and
            // right after one finishes (at the boundary).
            let inside = attempt % 2 == 0;
            let mut killed = false;
            let mut run_id = String::new();
            let mut seen: Vec<String> = Vec::new();
            for line in lines {
                let line = line.unwrap();
                let e: Value = serde_json::from_str(&line).unwrap();
                if matches!(
                    e["type"].as_str(),
                    Some("refused" | "step_finished" | "run_finished")
                ) {
                    seen.push(line);
                }
                if e["type"] == "run_started" {
                    run_id = e["data"]["run_id"].as_str().unwrap().to_string();
                }
                let fresh_step = e["data"]["status"] != "done_before";
                let at = if inside {
                    e["type"] == "step_started"
                } else {
                    e["type"] == "step_finished" && fresh_step
                };
                if at {
                    if inside {
                        // Somewhere inside the step, not only at its start.
                        std::thread::sleep(Duration::from_millis(37 * (attempt as u64 % 7)));
                    }
                    signal(&child, "-KILL");
                    killed = true;
                    break;
                }
            }
            let status = child.wait().unwrap();
            if killed && !status.success() {
                kills += 1;
                continue;
            }
            assert!(
                status.success(),
                "attempt {attempt} failed without being killed:\n{}",
                seen[seen.len().saturating_sub(6)..].join("\n")
            );
            break run_id;
        };
        stop.store(true, Ordering::Relaxed);
        (kills, watcher.join().unwrap(), run_id)
    });
    eprintln!("kill points tried and passed: {kills}");
    // About one per step of the plan (17 on three nodes): a kill between
    // two steps no longer costs the step before it (its end is on disk
    // before it is shown), so a run needs fewer attempts than it did.
    assert!(kills >= 15, "only {kills} kill points were exercised");

    // Each node restarted exactly once, quorum never lost, one backup each.
    let pids_after = tb.zk_pids();
    for n in 0..tb.size {
        assert_ne!(
            pids_before[n],
            pids_after[n],
            "zk{} was never restarted",
            n + 1
        );
        assert_eq!(
            tb.starts(n + 1),
            starts_before[n] + 1,
            "zk{} was restarted more than once",
            n + 1
        );
    }
    assert!(worst_down <= 1, "{worst_down} nodes were down at once");
    for n in 1..=tb.size {
        let out = tb.ssh(n, &format!("ls -d /var/backups/zookeeper/{run_id}*"));
        let listing = String::from_utf8_lossy(&out.stdout);
        assert_eq!(listing.lines().count(), 1, "zk{n} backups: {listing}");
        let check = tb.ssh(
            n,
            &format!("cd /var/backups/zookeeper/{run_id} && sha256sum -c --quiet MANIFEST.sha256"),
        );
        assert!(check.status.success(), "zk{n}: the backup does not verify");
    }
    // The killed runs' SSH masters are ours to clean up.
    for pid in ssh_masters()
        .into_iter()
        .filter(|p| !masters_before.contains(p))
    {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
}

fn ssh_masters() -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-f", "ssh -E .*ssh-connection.* -M"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Off a terminal, a new run over an unfinished one is refused (nothing is
/// touched) and the refusal gives the exact command that resumes it.
#[test]
fn a_new_run_over_an_unfinished_one_is_refused_with_the_command_that_resumes_it() {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("pb.yaml");
    std::fs::write(
        &pb,
        "name: t\nhosts: zookeeper\nrolling: {order: inventory}\ntasks:\n  - id: fails\n    maintain: {command: [\"false\"]}\n",
    )
    .unwrap();
    let (out, _) = tb.zkrun_in(dir.path(), &pb, &[]);
    assert_eq!(out.status.code(), Some(1));
    let (out, events) = tb.zkrun_in(dir.path(), &pb, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!events.iter().any(|e| e["type"] == "step_started"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("zk1 0/1 steps")
            && text.contains("to continue it")
            && text.contains("--resume"),
        "{text}"
    );
}
