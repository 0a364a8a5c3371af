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
        limit: None,
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
    let summary = rt.block_on(run(plan, fake, &LeaderLast, &options, &|e| {
        if halt_after(&e) {
            halt.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        events.lock().unwrap().push(e)
    }));
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
    fake.exit("zk1", "slow", 124, "");
    let (_, events) = execute(&plan(pb, 2), &fake);
    assert!(
        failure(&events).contains("ran past the step's timeout (5s)"),
        "{}",
        failure(&events)
    );

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
            stdout: Vec::new(),
            stderr: b"sudo: a password is required\n".to_vec(),
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
    let summary = rt.block_on(run(&p, &fake, &LeaderLast, &options, &|e| {
        events.lock().unwrap().push(e)
    }));
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
