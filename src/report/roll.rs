//! The short report printed after a roll: per node, how long it was out of
//! service (its stop began → its verify passed), and the leader changes seen.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use crate::runner::event::{Event, StepStatus};

#[derive(Default)]
pub struct RollReport {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    kinds: HashMap<(String, String), String>,
    stop_began: HashMap<String, Instant>,
    /// (host, seconds out of service), in the order nodes came back.
    downtime: Vec<(String, f64)>,
    leaders: Vec<String>,
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
                if kind == "stop" && *attempt == 1 {
                    i.stop_began
                        .entry(host.clone())
                        .or_insert_with(Instant::now);
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
                    .is_some_and(|k| k == "verify");
                if is_verify && let Some(t0) = i.stop_began.remove(host) {
                    i.downtime.push((host.clone(), t0.elapsed().as_secs_f64()));
                }
            }
            Event::Leader { host: Some(h), .. } if i.leaders.last() != Some(h) => {
                i.leaders.push(h.clone());
            }
            _ => {}
        }
    }

    /// Empty when no node was restarted.
    pub fn render(&self) -> String {
        let i = self.inner.lock().expect("not poisoned");
        if i.downtime.is_empty() {
            return String::new();
        }
        let mut out = String::from("roll report:\n");
        for (host, secs) in &i.downtime {
            let _ = writeln!(
                out,
                "  {host:<10} out of service {secs:.1}s (stop began → serving and synced)"
            );
        }
        let total: f64 = i.downtime.iter().map(|(_, s)| s).sum();
        let _ = writeln!(out, "  sum of node restarts {total:.1}s");
        if i.leaders.len() > 1 {
            let _ = writeln!(
                out,
                "  leader changes seen between batches: {}",
                i.leaders.join(" → ")
            );
        }
        out
    }
}
