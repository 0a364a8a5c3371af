//! The shipped playbook, unchanged, on fleets shaped like real ensembles
//! (`scripts/testbed up --names alias | --shared-pids | --config crlf |
//! --dynamic | --leader-serves no`): each roll exits 0, restarts every node
//! exactly once, holds one election and never has two voters out.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{ConfigStyle, Names, Shape, Testbed, four_letter_word, testbed_with};

/// Voters whose client port answers nothing, the worst seen while `run` ran.
fn watched<R: Send>(tb: &Testbed, run: impl FnOnce() -> R + Send) -> (R, usize) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let _stop = crate::support::StopOnDrop(&stop);
        let watcher = s.spawn(|| {
            let mut worst = 0;
            while !stop.load(Ordering::Relaxed) {
                let down = tb
                    .voters()
                    .filter(|n| four_letter_word(&tb.address(*n), "ruok").is_none())
                    .count();
                worst = worst.max(down);
                std::thread::sleep(Duration::from_millis(20));
            }
            worst
        });
        let r = run();
        stop.store(true, Ordering::Relaxed);
        (r, watcher.join().unwrap())
    })
}

/// Rolls the shipped playbook on `shape` and checks what every roll must
/// hold; prints the figures the closing note reports.
fn roll_on(shape: Shape) {
    let (tb, _turn) = testbed_with(&shape);
    let before = tb.zk_pids();
    let starts: Vec<usize> = (1..=tb.size).map(|n| tb.starts(n)).collect();
    let t0 = Instant::now();
    let ((out, events), worst_down) = watched(tb, || {
        tb.zkrun(Path::new("playbooks/rolling-restart.yaml"), &[])
    });
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
        "figure: shipped roll on {shape:?}: wall {:.1} s, {restarts} nodes restarted, {}",
        wall.as_secs_f64(),
        elections[0]
    );
    let _: &Value = summary;
}

#[test]
fn hosts_known_by_ssh_aliases_with_fqdn_server_lines() {
    roll_on(Shape {
        names: Names::Alias,
        ..Shape::default()
    });
}

#[test]
fn every_jvm_visible_to_every_host() {
    roll_on(Shape {
        shared_pids: true,
        ..Shape::default()
    });
}

#[test]
fn crlf_padded_config_with_a_separate_data_log_dir() {
    roll_on(Shape {
        config: ConfigStyle::Crlf,
        ..Shape::default()
    });
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
