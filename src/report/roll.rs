//! The short report printed after a roll: per node, how long it was out of
//! service (its stop began → its verify passed) and how long it took to sync
//! once started; the leaders seen and so the elections; the leader's own
//! `mntr` timings; the roll's time (the first stop → the last node synced:
//! the restarts and the gates between them) and the whole run's (connect,
//! preflight, backups and the final check as well) against the time a node
//! was out (the sum of the restarts when they went one at a time).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use crate::event::{Event, StepStatus};
use crate::tasks::fact::Fact;
use crate::tasks::{Effect, Kind};

#[derive(Default)]
pub struct RollReport {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    kinds: HashMap<(String, String), String>,
    stop_began: HashMap<String, Instant>,
    start_began: HashMap<String, Instant>,
    /// (host, seconds out of service, seconds from start to synced), in
    /// the order nodes came back.
    nodes: Vec<(String, f64, Option<f64>)>,
    /// Leaders in the order they were seen (consecutive repeats merged).
    leaders: Vec<String>,
    /// The last `mntr_timings` fact: `key=value` words.
    mntr: Option<String>,
    /// The leader's epoch as first and last seen (status checks, stops,
    /// verifies), and the stops that restarted the leader of the moment.
    epochs: Option<(u32, u32)>,
    leader_restarts: u32,
    /// The run's time, when it finished its work (not when it stopped
    /// early: its "whole run" would leave out what never ran).
    run_ms: Option<u64>,
    /// When each node counted in `nodes` went out and came back.
    windows: Vec<(Instant, Instant)>,
}

impl RollReport {
    pub fn event(&self, e: &Event) {
        let mut i = self.inner.lock().expect("not poisoned");
        match e {
            Event::StepStarted {
                host,
                task,
                kind,
                attempt,
                ..
            } => {
                i.kinds.insert((host.clone(), task.clone()), kind.clone());
                let began = match Kind::parse(kind).map(Kind::effect) {
                    Some(Effect::TakesOut) => &mut i.stop_began,
                    Some(Effect::BringsBack) => &mut i.start_began,
                    _ => return,
                };
                if *attempt == 1 {
                    began.entry(host.clone()).or_insert_with(Instant::now);
                }
            }
            Event::StepFinished {
                host,
                task,
                status: StepStatus::Ok,
                ..
            } => {
                let is_verify = i
                    .kinds
                    .get(&(host.clone(), task.clone()))
                    .is_some_and(|k| Kind::parse(k).map(Kind::effect) == Some(Effect::Confirms));
                if is_verify && let Some(t0) = i.stop_began.remove(host) {
                    let synced = i
                        .start_began
                        .remove(host)
                        .map(|t| t.elapsed().as_secs_f64());
                    i.nodes
                        .push((host.clone(), t0.elapsed().as_secs_f64(), synced));
                    i.windows.push((t0, Instant::now()));
                }
            }
            Event::Leader { host: Some(h), .. } => i.saw_leader(h),
            Event::Fact { name, value, .. } if Fact::parse(name) == Some(Fact::Leader) => {
                i.saw_leader(value)
            }
            Event::Fact { name, value, .. } if Fact::parse(name) == Some(Fact::MntrTimings) => {
                i.mntr = Some(value.clone());
            }
            Event::Fact { name, .. } if Fact::parse(name) == Some(Fact::LeaderRestarts) => {
                i.leader_restarts = i.leader_restarts.saturating_add(1);
            }
            Event::Fact { name, value, .. }
                if matches!(Fact::parse(name), Some(Fact::Epoch | Fact::LeaderEpoch)) =>
            {
                if let Ok(e) = value.parse() {
                    i.saw_epoch(e);
                }
            }
            Event::Fact { name, value, .. }
                if Fact::parse(name) == Some(Fact::LeaderZxidBeforeStop) =>
            {
                // `<leader> 0x<zxid>`: the epoch is the zxid's high 32 bits.
                if let Some(zxid) = value
                    .split_whitespace()
                    .nth(1)
                    .and_then(|z| u64::from_str_radix(z.trim_start_matches("0x"), 16).ok())
                {
                    i.saw_epoch((zxid >> 32) as u32);
                }
            }
            Event::RunFinished(s) if s.status == crate::event::RunStatus::Ok => {
                i.run_ms = Some(s.ms)
            }
            _ => {}
        }
    }

    /// Empty when no node was restarted.
    pub fn render(&self) -> String {
        let i = self.inner.lock().expect("not poisoned");
        if i.nodes.is_empty() {
            return String::new();
        }
        let elections = i
            .epochs
            .map(|(a, b)| crate::zk::ensemble::Elections::count(a, b, i.leader_restarts));
        let mut out = String::new();
        if let Some(e) = elections.filter(|e| e.quorum_lost()) {
            let _ = writeln!(out, "{}", e.describe());
        }
        out.push_str("roll report:\n");
        for (host, down, synced) in &i.nodes {
            let synced = synced
                .map(|s| format!(", synced {s:.1}s after its start"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {host:<10} out of service {down:.1}s (stop began → serving and synced){synced}"
            );
        }
        let total: f64 = i.nodes.iter().map(|(_, s, _)| s).sum();
        let _ = writeln!(out, "  sum of node restarts {total:.1}s");
        // Nodes of one batch are out together: measured against the time
        // any node was out, which is the sum when they go one at a time.
        let (out_time, roll) = time_out(&i.windows);
        if out_time > 0.0 {
            let what = if (out_time - total).abs() < 0.05 {
                "the restarts"
            } else {
                "the time a node was out"
            };
            let _ = writeln!(
                out,
                "  the roll {roll:.1}s, first stop → last node synced ({:.2}× {what})",
                roll / out_time
            );
            if let Some(ms) = i.run_ms {
                let run = ms as f64 / 1000.0;
                let _ = writeln!(
                    out,
                    "  whole run {run:.1}s ({:.2}×, with connect, checks, backups, final check)",
                    run / out_time
                );
            }
        }
        if !i.leaders.is_empty() {
            let _ = writeln!(out, "  leaders seen: {}", i.leaders.join(" → "));
        }
        if let Some(e) = elections {
            let _ = writeln!(out, "  elections: {}", e.describe());
        }
        if let Some(m) = &i.mntr {
            let _ = writeln!(out, "  leader's mntr: {}", mntr_line(m));
        }
        out
    }
}

impl Inner {
    fn saw_epoch(&mut self, e: u32) {
        self.epochs = Some(match self.epochs {
            None => (e, e),
            Some((first, last)) => (first, last.max(e)),
        });
    }

    fn saw_leader(&mut self, h: &str) {
        if self.leaders.last().map(String::as_str) != Some(h) {
            self.leaders.push(h.to_string());
        }
    }
}

/// Seconds during which at least one of `windows` was open, and from the
/// first opening to the last closing.
fn time_out(windows: &[(Instant, Instant)]) -> (f64, f64) {
    let mut w = windows.to_vec();
    w.sort();
    let (Some(first), Some(last)) = (w.first(), w.iter().map(|x| x.1).max()) else {
        return (0.0, 0.0);
    };
    let span = last.duration_since(first.0).as_secs_f64();
    let mut out = 0.0;
    let mut open: Option<(Instant, Instant)> = None;
    for (a, b) in w {
        open = match open {
            Some((oa, ob)) if a <= ob => Some((oa, ob.max(b))),
            Some((oa, ob)) => {
                out += ob.duration_since(oa).as_secs_f64();
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((oa, ob)) = open {
        out += ob.duration_since(oa).as_secs_f64();
    }
    (out, span)
}

/// `zk_avg_election_time=119.0 zk_max_election_time=213 ...` → a short line.
fn mntr_line(fact: &str) -> String {
    let values: HashMap<&str, &str> = fact
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
        .collect();
    let ms = |k: &str| {
        values
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| format!("{v:.0} ms"))
    };
    let mut parts = Vec::new();
    if let Some(avg) = ms("zk_avg_election_time") {
        let max = ms("zk_max_election_time")
            .map(|m| format!(" (max {m})"))
            .unwrap_or_default();
        parts.push(format!("election avg {avg}{max}"));
    }
    if let Some(v) = ms("zk_avg_follower_sync_time") {
        parts.push(format!("follower sync avg {v}"));
    }
    if let Some(v) = ms("zk_avg_leader_unavailable_time") {
        parts.push(format!("leader unavailable avg {v}"));
    }
    if parts.is_empty() {
        fact.to_string()
    } else {
        format!("{} (since the leader started)", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_out_merges_nodes_out_together() {
        let t = Instant::now();
        let at = |ms: u64| t + std::time::Duration::from_millis(ms);
        // One at a time, a gate between: the sum.
        let (out, span) = time_out(&[(at(0), at(1000)), (at(1100), at(2000))]);
        assert!((out - 1.9).abs() < 1e-9 && (span - 2.0).abs() < 1e-9);
        // A batch of two out together, then one more.
        let (out, span) = time_out(&[(at(0), at(1000)), (at(200), at(1200)), (at(1300), at(1500))]);
        assert!((out - 1.4).abs() < 1e-9 && (span - 1.5).abs() < 1e-9);
        assert_eq!(time_out(&[]), (0.0, 0.0));
    }

    #[test]
    fn mntr_timings_read_as_one_line() {
        assert_eq!(
            mntr_line(
                "zk_avg_election_time=119.0 zk_max_election_time=213 zk_avg_follower_sync_time=28.0"
            ),
            "election avg 119 ms (max 213 ms), follower sync avg 28 ms (since the leader started)"
        );
    }

    #[test]
    fn leaders_seen_count_elections() {
        let r = RollReport::default();
        let started = |host: &str, task: &str| Event::StepStarted {
            host: host.into(),
            task: task.into(),
            kind: task.into(),
            attempt: 1,
            attempts: 1,
        };
        let ok = |host: &str, task: &str| Event::StepFinished {
            host: host.into(),
            task: task.into(),
            status: StepStatus::Ok,
            ms: 1,
            message: None,
            help: None,
            exit_code: None,
            tail: vec![],
            log: None,
        };
        let leader = |h: &str| Event::Fact {
            host: h.into(),
            task: "verify".into(),
            name: "leader".into(),
            value: h.into(),
        };
        r.event(&Event::Leader {
            host: Some("zk2".into()),
            deferred: true,
        });
        for h in ["zk1", "zk2"] {
            r.event(&started(h, "stop"));
            r.event(&started(h, "start"));
            r.event(&started(h, "verify"));
            r.event(&ok(h, "verify"));
        }
        r.event(&leader("zk2"));
        r.event(&leader("zk1"));
        let out = r.render();
        assert!(out.contains("leaders seen: zk2 → zk1"), "{out}");
        assert!(out.contains("synced 0.0s after its start"), "{out}");
        assert!(
            out.contains("\n  the roll 0.0s, first stop → last node synced ("),
            "{out}"
        );
        r.event(&Event::RunFinished(crate::event::Summary {
            status: crate::event::RunStatus::Ok,
            done: vec![],
            failed: vec![],
            not_started: vec![],
            in_progress: vec![],
            recovered: vec![],
            left_down: vec![],
            ms: 4000,
        }));
        assert!(r.render().contains("\n  whole run 4.0s ("), "{out}");
    }

    #[test]
    fn elections_are_counted_from_epochs_and_a_lost_quorum_heads_the_report() {
        let fact = |host: &str, name: &str, value: &str| Event::Fact {
            host: host.into(),
            task: "t".into(),
            name: name.into(),
            value: value.into(),
        };
        let node_done = |r: &RollReport, h: &str| {
            for (task, status) in [("stop", None), ("verify", Some(StepStatus::Ok))] {
                r.event(&Event::StepStarted {
                    host: h.into(),
                    task: task.into(),
                    kind: task.into(),
                    attempt: 1,
                    attempts: 1,
                });
                if let Some(status) = status {
                    r.event(&Event::StepFinished {
                        host: h.into(),
                        task: task.into(),
                        status,
                        ms: 1,
                        message: None,
                        help: None,
                        exit_code: None,
                        tail: vec![],
                        log: None,
                    });
                }
            }
        };
        // One leader restart, one election: as it should be.
        let r = RollReport::default();
        r.event(&fact("zk1", "epoch", "1"));
        r.event(&fact("zk1", "leader_zxid_before_stop", "zk3 0x100000004"));
        node_done(&r, "zk1");
        r.event(&fact("zk3", "leader_zxid_before_stop", "zk3 0x100000005"));
        r.event(&fact("zk3", "leader_restarts", "1"));
        node_done(&r, "zk3");
        r.event(&fact("zk1", "epoch", "2"));
        let out = r.render();
        assert!(
            out.contains("elections: 1 election (epoch 1 → 2), 1 expected"),
            "{out}"
        );
        assert!(!out.contains("QUORUM LOST"), "{out}");
        // The same leader re-elected after the quorum was lost: the name
        // never changes, the epoch does.
        let r = RollReport::default();
        r.event(&fact("zk1", "epoch", "1"));
        r.event(&fact("zk1", "leader_zxid_before_stop", "zk3 0x100000004"));
        node_done(&r, "zk1");
        r.event(&fact("zk1", "epoch", "3"));
        let out = r.render();
        assert!(
            out.starts_with("QUORUM LOST: 2 elections (epoch 1 → 3), 0 expected"),
            "{out}"
        );
    }
}
