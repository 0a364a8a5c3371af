//! The runner against the scripted transport: order, batches, failure
//! budgets, retries, and the exact event sequence (durations zeroed).

use std::collections::HashMap;
use std::sync::Mutex;

use indexmap::IndexMap;
use zkrun::event::{Event, RunStatus, Summary};
use zkrun::host::fake::Fake;
use zkrun::host::transport::{Output, TransportError};
use zkrun::plan::Plan;
use zkrun::runner::{Resume, RunOptions, run};
use zkrun::tasks::Playbook;
use zkrun::yaml::Source;
use zkrun::zk::order::LeaderLast;

fn plan(playbook: &str, hosts: usize) -> Plan {
    plan_limited(playbook, hosts, None)
}

/// With `--limit`: the other hosts still count for the quorum.
fn plan_limited(playbook: &str, hosts: usize, limit: Option<&str>) -> Plan {
    let mut inv = String::from("all:\n  children:\n    zookeeper:\n      hosts:\n");
    for n in 1..=hosts {
        inv.push_str(&format!(
            "        zk{n}: {{ansible_host: 127.0.0.{}}}\n",
            10 + n
        ));
    }
    let pb_src = Source::new("p.yaml", playbook);
    let pb: Playbook = pb_src.parse("playbook").unwrap();
    let inventory = zkrun::inventory::from_yaml_text("i.yaml", &inv).unwrap();
    zkrun::plan::build(&zkrun::plan::Inputs {
        playbook: &pb,
        playbook_src: &pb_src,
        inventory: &inventory,
        connection: &Default::default(),
        extra_vars: &IndexMap::new(),
        limit,
        run_id: "test-run",
        files: &HashMap::new(),
        allow_quorum_loss: false,
        fingerprint_key: None,
    })
    .unwrap_or_else(|d| panic!("{}", d.render(10)))
}

fn execute(plan: &Plan, fake: &Fake) -> (Summary, Vec<Event>) {
    execute_with(plan, fake, None, &|_| false)
}

/// With a checkpoint to resume from, and `halt_after` deciding after each
/// event whether to ask the runner to stop (as a first Ctrl-C does).
fn execute_with(
    plan: &Plan,
    fake: &Fake,
    resume: Option<Resume>,
    halt_after: &dyn Fn(&Event) -> bool,
) -> (Summary, Vec<Event>) {
    let events = Mutex::new(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let halt = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = RunOptions {
        forks: 4,
        log_dir: dir.path().to_path_buf(),
        verbose: false,
        halt: halt.clone(),
        resume,
        recover: true,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let summary = rt.block_on(run(
        plan,
        fake,
        &LeaderLast,
        &options,
        &|e| {
            if halt_after(&e) {
                halt.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            events.lock().unwrap().push(e)
        },
        &(),
    ));
    (summary, events.into_inner().unwrap())
}

const TWO_STEPS: &str = "name: t\nhosts: zookeeper\nrolling: {serial: 2, order: inventory}\ntasks:\n  - {id: a, maintain: {command: [step-a]}}\n  - {id: b, maintain: {command: [step-b, \"{{ inventory_hostname }}\"]}}\n";

#[test]
fn hosts_run_in_batches_and_steps_in_order() {
    let p = plan(TWO_STEPS, 5);
    assert_eq!(
        p.rolling().unwrap().batches,
        vec![vec!["zk1", "zk2"], vec!["zk3", "zk4"], vec!["zk5"]]
    );
    let fake = Fake::new();
    let (summary, _) = execute(&p, &fake);
    assert_eq!(summary.status, RunStatus::Ok);
    let log = fake.log.lock().unwrap().clone();
    // Per host, a before b; batch 2 only after batch 1 finished.
    for h in ["zk1", "zk2", "zk3", "zk4", "zk5"] {
        let steps: Vec<String> = log
            .iter()
            .filter(|(x, _)| x == h)
            .map(|(_, a)| a[0].clone())
            .collect();
        assert_eq!(steps, ["step-a", "step-b"], "{h}");
    }
    let pos = |h: &str, s: &str| log.iter().position(|(x, a)| x == h && a[0] == s).unwrap();
    assert!(pos("zk1", "step-b") < pos("zk3", "step-a"));
    assert!(pos("zk2", "step-b") < pos("zk3", "step-a"));
    assert!(pos("zk4", "step-b") < pos("zk5", "step-a"));
    assert!(*fake.closed.lock().unwrap(), "connections were not closed");
}

#[test]
fn a_failure_beyond_the_budget_stops_the_roll() {
    let pb = "name: t\nhosts: zookeeper\nrolling: {order: inventory, max_failures: 1}\ntasks:\n  - {id: a, maintain: {command: [step-a]}}\n";
    let p = plan(pb, 5);
    let fake = Fake::new();
    fake.exit("zk2", "step-a", 1, "boom")
        .exit("zk3", "step-a", 1, "boom");
    let (summary, _) = execute(&p, &fake);
    assert_eq!(summary.status, RunStatus::Failed);
    assert_eq!(summary.done, ["zk1"]);
    assert_eq!(summary.failed, ["zk2", "zk3"]);
    assert_eq!(summary.not_started, ["zk4", "zk5"]);
    assert_eq!(fake.hosts_touched(), ["zk1", "zk2", "zk3"]);
}

#[test]
fn one_tolerated_failure_still_fails_the_run_but_finishes_the_roll() {
    let pb = "name: t\nhosts: zookeeper\nrolling: {order: inventory, max_failures: 1}\ntasks:\n  - {id: a, maintain: {command: [step-a]}}\n";
    let fake = Fake::new();
    fake.exit("zk2", "step-a", 1, "boom");
    let (summary, _) = execute(&plan(pb, 3), &fake);
    assert_eq!(summary.status, RunStatus::Failed);
    assert_eq!(summary.done, ["zk1", "zk3"]);
    assert_eq!(summary.not_started, Vec::<String>::new());
}

#[test]
fn an_unreachable_host_means_nothing_runs_anywhere() {
    let fake = Fake::new();
    fake.unreachable("zk3");
    let (summary, events) = execute(&plan(TWO_STEPS, 3), &fake);
    assert!(fake.log.lock().unwrap().is_empty());
    assert_eq!(summary.not_started, ["zk1", "zk2", "zk3"]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ConnectFailed { host, .. } if host == "zk3"))
    );
}

#[test]
fn retries_are_counted_and_reported() {
    let pb = "name: t\nhosts: zk1\ntasks:\n  - {id: a, retries: 2, delay: 1ms, maintain: {command: [flaky]}}\n";
    let fake = Fake::new();
    fake.exit("zk1", "flaky", 7, "not yet");
    let (summary, events) = execute(&plan(pb, 1), &fake);
    assert_eq!(summary.status, RunStatus::Failed);
    let tries = fake
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, a)| a[0] == "flaky")
        .count();
    assert_eq!(tries, 3);
    let msg = events
        .iter()
        .find_map(|e| match e {
            Event::StepFinished {
                message: Some(m), ..
            } => Some(m.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(msg, "`flaky` exited with status 7 (after 3 attempts)");
}

#[test]
fn timeouts_and_disconnects_say_what_happened() {
    let pb = "name: t\nhosts: zookeeper\nrolling: {order: inventory}\ntasks:\n  - {id: a, timeout: 5s, maintain: {command: [slow]}}\n";
    let fake = Fake::new();
    fake.times_out("zk1", "slow");
    let (_, events) = execute(&plan(pb, 2), &fake);
    assert!(
        failure(&events).contains("ran past the step's timeout (5s)"),
        "{}",
        failure(&events)
    );
    // An exit status of 124 is the command's own (no `timeout` wrapper
    // speaks through it any more).
    let fake = Fake::new();
    fake.exit("zk1", "slow", 124, "");
    let (_, events) = execute(&plan(pb, 2), &fake);
    assert_eq!(failure(&events), "`slow` exited with status 124");

    let fake = Fake::new();
    fake.answer(
        "zk1",
        "slow",
        Err(TransportError::Disconnected("channel closed".into())),
    );
    let (summary, events) = execute(&plan(pb, 2), &fake);
    assert!(failure(&events).contains("connection lost"));
    assert_eq!(summary.not_started, ["zk2"]);
}

#[test]
fn sudo_asking_for_a_password_is_explained() {
    let pb = "name: t\nhosts: zk1\ntasks:\n  - {id: a, become: true, maintain: {command: [id]}}\n";
    let fake = Fake::new();
    fake.answer(
        "zk1",
        "id",
        Ok(Output {
            code: Some(1),
            stderr: b"sudo: a password is required\n".to_vec(),
            ..Output::default()
        }),
    );
    let (_, events) = execute(&plan(pb, 1), &fake);
    assert!(
        failure(&events).contains("sudo on zk1 wants a password"),
        "{}",
        failure(&events)
    );
}

fn failure(events: &[Event]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            Event::StepFinished {
                message: Some(m), ..
            } => Some(m.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn the_event_sequence_of_a_failed_roll() {
    let fake = Fake::new();
    fake.exit("zk2", "step-b", 2, "line one\nline two");
    let pb = TWO_STEPS.replace("serial: 2", "serial: 1");
    let (_, events) = execute(&plan(&pb, 3), &fake);
    let mut v = serde_json::to_value(&events).unwrap();
    zero_durations(&mut v);
    insta::assert_json_snapshot!(v);
}

/// Durations and paths vary from run to run; the sequence must not.
fn zero_durations(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "ms" => *x = 0.into(),
                    "log" | "log_dir" if x.is_string() => *x = "<log>".into(),
                    _ => zero_durations(x),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(zero_durations),
        _ => {}
    }
}

#[test]
fn a_halt_finishes_the_current_step_and_starts_no_other() {
    let fake = Fake::new();
    let p = plan(&TWO_STEPS.replace("serial: 2", "serial: 1"), 3);
    // Ask to stop as zk2's first step finishes.
    let (summary, _) = execute_with(
        &p,
        &fake,
        None,
        &|e| matches!(e, Event::StepFinished { host, task, .. } if host == "zk2" && task == "a"),
    );
    assert_eq!(summary.status, RunStatus::Interrupted);
    assert_eq!(summary.done, ["zk1"]);
    assert_eq!(summary.in_progress, ["zk2"]);
    assert_eq!(summary.not_started, ["zk3"]);
    assert_eq!(summary.failed, Vec::<String>::new());
    assert_eq!(fake.hosts_touched(), ["zk1", "zk2"]);
}

#[test]
fn a_resumed_run_repeats_nothing_and_keeps_the_order_decided_before() {
    let p = plan(&TWO_STEPS.replace("serial: 2", "serial: 1"), 3);
    let fake = Fake::new();
    let resume = Resume {
        finished: ["zk3/a", "zk3/b", "zk1/a"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        order: vec!["zk3".into(), "zk1".into(), "zk2".into()],
        facts: Default::default(),
    };
    let (summary, _) = execute_with(&p, &fake, Some(resume), &|_| false);
    assert_eq!(summary.status, RunStatus::Ok);
    let log: Vec<String> = fake
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, a)| a[0].starts_with("step-")) // not the resume's ensemble probe
        .map(|(h, a)| format!("{h} {}", a[0]))
        .collect();
    assert_eq!(log, ["zk1 step-b", "zk2 step-a", "zk2 step-b"]);
    assert_eq!(summary.done, ["zk1", "zk2", "zk3"]);
}

/// stop → maintain → start on three hosts, inventory order: the fake's
/// `zkServer.sh` always succeeds, and no ZooKeeper process is listed.
const OUT_AND_BACK: &str = "name: t\nhosts: zookeeper\nrolling: {order: inventory}\ntasks:\n  - {id: stop, stop: {}}\n  - {id: fix, maintain: {command: [fix-it]}}\n  - {id: start, start: {}}\n";

fn starts(fake: &Fake, host: &str) -> usize {
    fake.log
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, a)| {
            h == host
                && a.iter().any(|w| w.ends_with("zkServer.sh"))
                && a.last().is_some_and(|w| w == "start")
        })
        .count()
}

#[test]
fn a_step_failing_while_the_node_is_out_brings_it_back_then_stops_the_roll() {
    let p = plan(OUT_AND_BACK, 3);
    let fake = Fake::new();
    fake.exit("zk1", "fix-it", 1, "broken");
    let (summary, events) = execute(&p, &fake);
    assert_eq!(summary.status, RunStatus::Failed);
    assert_eq!(summary.failed, ["zk1"]);
    assert_eq!(summary.recovered, ["zk1"]);
    assert!(summary.left_down.is_empty());
    // The hosts it never reached are "not started", not "in progress".
    assert_eq!(summary.not_started, ["zk2", "zk3"]);
    assert!(summary.in_progress.is_empty());
    assert_eq!(starts(&fake, "zk1"), 1, "the node was started again");
    assert_eq!(changed_hosts(&fake), ["zk1"]);
    let reset = events
        .iter()
        .find_map(|e| match e {
            Event::RecoveryFinished {
                ok: true, reset, ..
            } => Some(reset.clone()),
            _ => None,
        })
        .expect("a successful recovery");
    assert_eq!(reset, ["stop", "fix", "start"]);
    // The checkpoint forgets the host's turn: a resume starts it over.
    let mut state = zkrun::checkpoint::State::new(&p);
    for e in &events {
        state.record(e);
    }
    assert!(
        !state.steps.keys().any(|k| k.starts_with("zk1/")),
        "{:?}",
        state.steps
    );
    // Nothing else ran, so nothing is left to resume: a new run starts over.
    assert!(state.finished);
}

#[test]
fn no_recover_leaves_the_node_down_and_says_so() {
    let p = plan(OUT_AND_BACK, 3);
    let fake = Fake::new();
    fake.exit("zk1", "fix-it", 1, "broken");
    let events = Mutex::new(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        forks: 4,
        log_dir: dir.path().to_path_buf(),
        verbose: false,
        halt: Default::default(),
        resume: None,
        recover: false,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let summary = rt.block_on(run(
        &p,
        &fake,
        &LeaderLast,
        &options,
        &|e| events.lock().unwrap().push(e),
        &(),
    ));
    assert_eq!(summary.left_down, ["zk1"]);
    assert_eq!(starts(&fake, "zk1"), 0);
    let text = zkrun::report::plain::summary_lines(&summary);
    assert!(
        text.contains("NODE LEFT DOWN") && text.contains("zk1"),
        "{text}"
    );
}

#[test]
fn a_failing_recovery_is_loud_and_names_the_node() {
    let p = plan(OUT_AND_BACK, 3);
    let fake = Fake::new();
    fake.exit("zk1", "fix-it", 1, "broken");
    fake.exit(
        "zk1",
        "/usr/share/zookeeper/bin/zkServer.sh start",
        1,
        "FAILED TO START",
    );
    let (summary, events) = execute(&p, &fake);
    assert_eq!(summary.left_down, ["zk1"]);
    let line = events
        .iter()
        .find_map(|e| {
            zkrun::report::plain::recovery_lines(e)
                .filter(|_| matches!(e, Event::RecoveryFinished { .. }))
        })
        .unwrap();
    console::set_colors_enabled(false);
    assert!(line.contains("zk1 IS OUT OF SERVICE"), "{line}");
}

#[test]
fn a_halt_while_the_node_is_out_waits_until_it_is_back() {
    let p = plan(OUT_AND_BACK, 3);
    let fake = Fake::new();
    // Ctrl-C as zk1's stop finishes: its maintenance and start still run.
    let (summary, _) = execute_with(
        &p,
        &fake,
        None,
        &|e| matches!(e, Event::StepFinished { host, task, .. } if host == "zk1" && task == "stop"),
    );
    assert_eq!(summary.status, RunStatus::Interrupted);
    assert_eq!(summary.done, ["zk1"]);
    assert_eq!(starts(&fake, "zk1"), 1);
    assert_eq!(changed_hosts(&fake), ["zk1"]);
}

/// Hosts where a command other than a read-only probe ran.
fn changed_hosts(fake: &Fake) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (h, a) in fake.log.lock().unwrap().iter() {
        let changes = a[0] == "fix-it" || a[0].ends_with("zkServer.sh");
        if changes && !out.contains(h) {
            out.push(h.clone());
        }
    }
    out
}

// `manager: systemd` against the scripted transport. The commands are
// known by their first words.
const PIDS: &str = "sh -c for p in $(pgrep";
const UNITS: &str = "sh -c for p; do u=$(ps -o unit=";
const MAIN_PID: &str = "systemctl show --property=MainPID";
const SRVR: &str = "bash -c exec 3<>";
const FOLLOWER: &str = "Zookeeper version: 3.8.0-1, built on 2024-06-16 14:18 UTC\nLatency min/avg/max: 0/0.4/12\nReceived: 123\nSent: 122\nConnections: 3\nOutstanding: 0\nZxid: 0x200000007\nMode: follower\nNode count: 42\n";

/// Succeeds and prints nothing.
fn silent() -> Result<Output, TransportError> {
    Ok(Output {
        code: Some(0),
        ..Output::default()
    })
}

fn ran(fake: &Fake, host: &str, prefix: &str) -> Vec<Vec<String>> {
    fake.log
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, a)| h == host && a.join(" ").starts_with(prefix))
        .map(|(_, a)| a.clone())
        .collect()
}

/// A forced stop under systemd: a unit with no main PID (a SysV unit) is
/// killed through its cgroup; a MainPID that is the server gets the
/// SIGTERM-then-SIGKILL of a pid.
#[test]
fn a_forced_systemd_stop_kills_the_unit_when_it_has_no_main_pid() {
    let pb = "name: t\nhosts: zookeeper\nservice: {manager: systemd}\nrolling: {order: inventory}\ntasks:\n  - {id: stop, timeout: 500ms, stop: {force: true}}\n";
    for (main_pid, kills_unit) in [("0", true), ("4242", false), ("777", true)] {
        let fake = Fake::new();
        fake.prints("*", PIDS, "4242\n")
            .prints("*", UNITS, "4242 zookeeper.service\n")
            .prints("*", MAIN_PID, &format!("{main_pid}\n"))
            // The JVM is gone once it was killed.
            .after("*", "systemctl kill", PIDS, silent());
        let (summary, events) = execute(&plan_limited(pb, 3, Some("zk1")), &fake);
        assert_eq!(
            summary.status,
            RunStatus::Ok,
            "MainPID {main_pid}: {}",
            failure(&events)
        );
        assert_eq!(summary.done, ["zk1"]);
        let h = "zk1";
        assert_eq!(ran(&fake, h, "systemctl stop zookeeper").len(), 1, "{h}");
        let kill = ran(&fake, h, "systemctl kill --signal=SIGKILL zookeeper");
        let escalate: Vec<_> = fake
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|(x, a)| x == h && a.iter().any(|w| w == "zkrun-escalate"))
            .map(|(_, a)| a.last().cloned().unwrap_or_default())
            .collect();
        if kills_unit {
            assert_eq!(kill.len(), 1, "MainPID {main_pid} on {h}");
            assert!(escalate.is_empty(), "MainPID {main_pid} on {h}");
        } else {
            assert!(kill.is_empty(), "MainPID {main_pid} on {h}");
            assert_eq!(escalate, ["4242"], "MainPID {main_pid} on {h}");
        }
    }
}

/// A server that runs outside the unit would survive `systemctl stop`:
/// the run is refused before anything stops, saying whose the JVM is.
#[test]
fn a_server_outside_its_unit_is_refused_before_anything_stops() {
    let pb = "name: t\nhosts: zookeeper\nservice: {manager: systemd}\nrolling: {order: inventory}\ntasks:\n  - {id: stop, timeout: 5s, stop: {}}\n";
    for (ps, says) in [
        (
            "4242 session-3.scope\n",
            "ZooKeeper runs on zk1 (pid 4242) outside unit zookeeper.service (its unit: session-3.scope), so `systemctl stop zookeeper` would not stop it",
        ),
        (
            "4242 -\n",
            "ZooKeeper runs on zk1 (pid 4242) but systemd does not manage it",
        ),
    ] {
        let fake = Fake::new();
        fake.prints("*", PIDS, "4242\n")
            .prints("*", UNITS, ps)
            .prints(
                "*",
                "systemctl show --property=Names",
                "zookeeper.service\n",
            )
            .prints("*", SRVR, FOLLOWER);
        let (summary, events) = execute(&plan(pb, 3), &fake);
        assert_eq!(summary.status, RunStatus::Failed);
        let refused: Vec<(String, String)> = events
            .iter()
            .filter_map(|e| match e {
                Event::Refused {
                    host,
                    message,
                    help,
                    ..
                } => Some((
                    host.clone(),
                    format!("{message} / {}", help.clone().unwrap_or_default()),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(refused[0].1.contains(says), "{}", refused[0].1);
        assert!(
            refused[0].1.contains("no node was stopped"),
            "{}",
            refused[0].1
        );
        assert!(
            fake.log
                .lock()
                .unwrap()
                .iter()
                .all(|(_, a)| a[..2] != ["systemctl", "stop"]),
            "something was stopped"
        );
    }
    // Under an alias of the unit, it is the unit's own.
    let fake = Fake::new();
    fake.prints("*", PIDS, "4242\n")
        .prints("*", UNITS, "4242 zookeeper-server.service\n")
        .prints(
            "*",
            "systemctl show --property=Names",
            "zookeeper-server.service zookeeper.service\n",
        )
        .prints("*", SRVR, FOLLOWER)
        .after("*", "systemctl stop", PIDS, silent())
        .after("*", "systemctl stop", SRVR, silent());
    let (summary, events) = execute(&plan(pb, 3), &fake);
    assert_eq!(summary.status, RunStatus::Ok, "{}", failure(&events));
}

/// A unit that logs to the journal: the start records where the journal
/// ends, and verify reads the unit's journal after that cursor, which
/// reaches the host as an argument of its own.
#[test]
fn verify_reads_the_units_journal_after_the_cursor_its_start_recorded() {
    let pb = "name: t\nhosts: zookeeper\nservice: {manager: systemd}\nrolling: {order: inventory}\ntasks:\n  - {id: start, start: {}}\n  - {id: verify, timeout: 5s, verify: {synced: false}}\n";
    let fake = Fake::new();
    fake.prints(
        "*",
        "journalctl --unit=zookeeper --lines=1 --show-cursor",
        "2026-11-30 12:00:00,000 [myid:1] - INFO  [main:o.a.z.ZooKeeperServer@123] - bye\n-- cursor: s=0b3c;i=4d2;x=2f78\n",
    )
    .after("*", "systemctl start", SRVR, Ok(Output {
        code: Some(0),
        stdout: FOLLOWER.as_bytes().to_vec(),
        ..Output::default()
    }))
    .prints(
        "*",
        "sh -c { journalctl \"--unit=$0\"",
        // As the host's awk filter (zk/log_errors.rs) prints it.
        "2026-11-30 12:00:01,000 [myid:1] - ERROR [main:o.a.z.s.q.QuorumPeer@99] - boom\nzkrun-rc 0\nzkrun-end\n",
    );
    let (summary, events) = execute(&plan(pb, 3), &fake);
    assert_eq!(summary.failed, ["zk1"]);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Fact { host, name, value, .. }
            if host == "zk1" && name == "log_cursor" && value == "s=0b3c;i=4d2;x=2f78"
    )));
    let read = ran(&fake, "zk1", "sh -c { journalctl \"--unit=$0\"");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0][3..5], ["zookeeper", "s=0b3c;i=4d2;x=2f78"]);
    let (message, help, tail) = events
        .iter()
        .find_map(|e| match e {
            Event::StepFinished {
                message: Some(m),
                help,
                tail,
                ..
            } => Some((m.clone(), help.clone().unwrap_or_default(), tail.clone())),
            _ => None,
        })
        .unwrap();
    assert!(
        message.contains("its log has ERROR lines since it started"),
        "{message}"
    );
    assert!(help.contains("journalctl -u zookeeper"), "{help}");
    assert!(tail.iter().any(|l| l.ends_with("- boom")), "{tail:?}");
}

/// A unit that fails to start: systemd's status and the journal's fatal
/// lines say why, and a missing log file is not reported when the
/// journal has lines.
#[test]
fn a_failed_systemd_start_shows_the_units_status_and_journal() {
    let pb = "name: t\nhosts: zookeeper\nservice: {manager: systemd}\nrolling: {order: inventory}\ntasks:\n  - {id: start, start: {}}\n";
    let fake = Fake::new();
    fake.exit(
        "*",
        "systemctl start",
        1,
        "Job for zookeeper.service failed because the control process exited with error code.",
    )
    .answer(
        "*",
        "sh -c [ -f \"$0\" ] || exit 3",
        Ok(Output {
            code: Some(3),
            ..Output::default()
        }),
    )
    .prints(
        "*",
        "sh -c out=$(journalctl",
        "2026-11-30 12:00:01,000 [myid:1] - ERROR [main:o.a.z.s.q.QuorumPeer@99] - Address already in use\n",
    )
    .prints(
        "*",
        "systemctl status",
        "x zookeeper.service - Apache ZooKeeper\n     Loaded: loaded (/etc/systemd/system/zookeeper.service; enabled)\n     Active: failed (Result: exit-code) since Mon 2026-11-30 12:00:02 UTC\n",
    );
    let (_, events) = execute(&plan(pb, 3), &fake);
    let tail = events
        .iter()
        .find_map(|e| match e {
            Event::StepFinished {
                host,
                message: Some(_),
                tail,
                ..
            } if host == "zk1" => Some(tail.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        tail.iter()
            .any(|l| l.contains("Active: failed (Result: exit-code)")),
        "{tail:?}"
    );
    assert!(
        tail.iter().any(|l| l.ends_with("Address already in use")),
        "{tail:?}"
    );
    assert!(!tail.iter().any(|l| l.contains("no log at")), "{tail:?}");
}

#[test]
fn a_stopped_runs_state_names_the_nodes_it_may_have_left_out_and_where_each_host_stands() {
    use zkrun::checkpoint::{Phase, State, StepRecord, key};
    let shipped = std::fs::read_to_string("playbooks/rolling-restart.yaml").unwrap();
    let p = plan(&shipped, 4);
    let mut s = State::new(&p);
    let mut set = |host: &str, task: &str, phase: Phase| {
        s.steps.insert(key(host, task), StepRecord { phase, at: 1 });
    };
    // zk1 rolled through; zk2 started, its verify running; zk3's stop
    // running; zk4 only gated.
    for t in ["gate", "stop", "start", "verify"] {
        set("zk1", t, Phase::Done);
    }
    set("zk2", "stop", Phase::Done);
    set("zk2", "start", Phase::Done);
    set("zk2", "verify", Phase::Running);
    set("zk3", "stop", Phase::Running);
    set("zk4", "gate", Phase::Done);
    assert_eq!(s.maybe_out_of_service(&p), ["zk2", "zk3"]);
    // A failed stop still took the node out.
    let mut failed = s.clone();
    failed.steps.insert(
        key("zk4", "stop"),
        StepRecord {
            phase: Phase::Failed,
            at: 1,
        },
    );
    assert_eq!(failed.maybe_out_of_service(&p), ["zk2", "zk3", "zk4"]);
    // A failed recovery forgets the turn's steps but not that the node is down.
    let mut down = s.clone();
    down.record(&zkrun::event::Event::RecoveryFinished {
        host: "zk4".into(),
        ok: false,
        ms: 1,
        message: "it did not start".into(),
        tail: vec![],
        reset: vec!["gate".into(), "stop".into()],
    });
    assert_eq!(down.maybe_out_of_service(&p), ["zk2", "zk3", "zk4"]);
    // Without a verify, the node is back once started (the runner's rule).
    let a = shipped.find("  - id: verify").unwrap();
    let b = shipped.find("  # After the last host").unwrap();
    let no_verify = plan(&format!("{}{}", &shipped[..a], &shipped[b..]), 4);
    let mut started = State::new(&no_verify);
    for t in ["gate", "stop", "start"] {
        started.steps.insert(
            key("zk1", t),
            StepRecord {
                phase: Phase::Done,
                at: 1,
            },
        );
    }
    started.steps.insert(
        key("zk2", "stop"),
        StepRecord {
            phase: Phase::Done,
            at: 1,
        },
    );
    assert_eq!(started.maybe_out_of_service(&no_verify), ["zk2"]);
    // Where each host stands, in the rolling order: its own steps count
    // (its backup too), not the play's once-steps that ran on zk1.
    for t in ["backup", "maintain"] {
        s.steps.insert(
            key("zk1", t),
            StepRecord {
                phase: Phase::Done,
                at: 1,
            },
        );
    }
    let line = s.progress_line();
    assert_eq!(
        line,
        "zk1 done, zk2 2/6 steps, zk3 0/6 steps, zk4 1/6 steps"
    );
}
