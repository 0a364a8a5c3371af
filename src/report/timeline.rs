//! The roll timeline (`--report FILE.html` or `FILE.json`): what an SRE
//! shows after a maintenance window — which node was out when, where the
//! leader moved, how long nobody led — as one self-contained HTML page
//! (inline SVG, no network), or the same data as JSON.
//!
//! Built from the run's events as they come, timed from the run's start:
//! - one lane per node; its state is `serving` until a step that takes it
//!   out starts (`stopping`), `stopped` from that step's end, `starting`
//!   during the step that brings it back, `syncing` during the step that
//!   confirms it, and `serving` again once that step passed;
//! - each step's span on its node's lane;
//! - the leader as zkrun saw it (before each node's turn, and in status
//!   checks), and the windows with no leader known: from the start of the
//!   leader's own stop until a leader is seen again.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::event::{Event, StepStatus};
use crate::tasks::fact::Fact;
use crate::tasks::{Effect, Kind};

/// One step on one node, in milliseconds from the run's start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    pub task: String,
    pub kind: String,
    pub from_ms: u64,
    pub to_ms: u64,
    /// `ok`, `failed`, `skipped`, … as the step ended.
    pub status: String,
}

/// A node's state over an interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub state: &'static str,
    pub from_ms: u64,
    pub to_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lane {
    pub host: String,
    pub phases: Vec<Phase>,
    pub steps: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaderSeen {
    pub host: String,
    pub at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub from_ms: u64,
    pub to_ms: u64,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub run_id: String,
    pub playbook: String,
    pub duration_ms: u64,
    pub lanes: Vec<Lane>,
    pub leaders: Vec<LeaderSeen>,
    pub leaderless: Vec<Window>,
    /// The text roll report, shown beside the picture.
    pub roll_report: String,
}

#[derive(Default)]
pub struct Recorder {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    t0: Option<Instant>,
    run_id: String,
    playbook: String,
    order: Vec<String>,
    lanes: HashMap<String, (Vec<Phase>, Vec<Span>)>,
    /// Steps running now: (host, task) → (kind, started at).
    open: HashMap<(String, String), (String, u64)>,
    /// A node's current state and since when.
    state: HashMap<String, (&'static str, u64)>,
    leaders: Vec<LeaderSeen>,
    leaderless: Vec<Window>,
    /// Since when no leader is known (the leader's stop began).
    leaderless_since: Option<u64>,
    end_ms: u64,
}

impl Inner {
    fn now(&mut self) -> u64 {
        let t0 = *self.t0.get_or_insert_with(Instant::now);
        t0.elapsed().as_millis() as u64
    }

    fn lane(&mut self, host: &str) -> &mut (Vec<Phase>, Vec<Span>) {
        if !self.order.iter().any(|h| h == host) {
            self.order.push(host.to_string());
        }
        self.lanes.entry(host.to_string()).or_default()
    }

    /// The node enters `state` at `at`: the previous state's phase ends.
    fn enter(&mut self, host: &str, state: &'static str, at: u64) {
        let (old, since) = self.state.get(host).copied().unwrap_or(("serving", 0));
        if old == state {
            return;
        }
        if at > since || old != "serving" {
            self.lane(host).0.push(Phase {
                state: old,
                from_ms: since,
                to_ms: at,
            });
        }
        self.state.insert(host.to_string(), (state, at));
    }

    fn current_leader(&self) -> Option<&str> {
        self.leaders.last().map(|l| l.host.as_str())
    }

    fn saw_leader(&mut self, host: &str, at: u64) {
        if let Some(since) = self.leaderless_since.take() {
            self.leaderless.push(Window {
                from_ms: since,
                to_ms: at,
            });
        }
        if self.current_leader() != Some(host) {
            self.leaders.push(LeaderSeen {
                host: host.to_string(),
                at_ms: at,
            });
        }
    }
}

impl Recorder {
    pub fn event(&self, e: &Event) {
        let mut i = self.inner.lock().expect("not poisoned");
        let at = i.now();
        i.end_ms = at;
        match e {
            Event::RunStarted {
                run_id,
                playbook,
                hosts,
                ..
            } => {
                i.run_id = run_id.clone();
                i.playbook = playbook.clone();
                for h in hosts {
                    i.lane(h);
                }
            }
            Event::StepStarted {
                host, task, kind, ..
            } => {
                i.lane(host);
                i.open
                    .insert((host.clone(), task.clone()), (kind.clone(), at));
                match Kind::parse(kind).map(Kind::effect) {
                    Some(Effect::TakesOut) => {
                        if i.current_leader() == Some(host.as_str()) && i.leaderless_since.is_none()
                        {
                            i.leaderless_since = Some(at);
                        }
                        i.enter(host, "stopping", at);
                    }
                    Some(Effect::BringsBack) => i.enter(host, "starting", at),
                    Some(Effect::Confirms) => i.enter(host, "syncing", at),
                    _ => {}
                }
            }
            Event::StepFinished {
                host, task, status, ..
            } => {
                let Some((kind, from)) = i.open.remove(&(host.clone(), task.clone())) else {
                    return;
                };
                let effect = Kind::parse(&kind).map(Kind::effect);
                let ok = *status == StepStatus::Ok;
                i.lane(host).1.push(Span {
                    task: task.clone(),
                    kind,
                    from_ms: from,
                    to_ms: at,
                    status: serde_json::to_value(status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                });
                match effect {
                    Some(Effect::TakesOut) if ok => i.enter(host, "stopped", at),
                    Some(Effect::Confirms) if ok => i.enter(host, "serving", at),
                    _ => {}
                }
            }
            Event::Leader { host: Some(h), .. } => i.saw_leader(h, at),
            Event::Fact { name, value, .. } if Fact::parse(name) == Some(Fact::Leader) => {
                i.saw_leader(value, at)
            }
            _ => {}
        }
    }

    /// The timeline so far (at the end of the run: all of it).
    pub fn timeline(&self, roll_report: &str) -> Timeline {
        let i = self.inner.lock().expect("not poisoned");
        let end = i.end_ms;
        let mut lanes = Vec::new();
        for host in &i.order {
            let (mut phases, steps) = i.lanes.get(host).cloned().unwrap_or_default();
            let (state, since) = i.state.get(host).copied().unwrap_or(("serving", 0));
            phases.push(Phase {
                state,
                from_ms: since,
                to_ms: end,
            });
            phases.retain(|p| p.to_ms > p.from_ms);
            lanes.push(Lane {
                host: host.clone(),
                phases,
                steps,
            });
        }
        let mut leaderless = i.leaderless.clone();
        if let Some(since) = i.leaderless_since {
            leaderless.push(Window {
                from_ms: since,
                to_ms: end,
            });
        }
        Timeline {
            run_id: i.run_id.clone(),
            playbook: i.playbook.clone(),
            duration_ms: end,
            lanes,
            leaders: i.leaders.clone(),
            leaderless,
            roll_report: roll_report.to_string(),
        }
    }
}

const COLORS: &[(&str, &str)] = &[
    ("serving", "#3a9d5d"),
    ("stopping", "#e0a030"),
    ("stopped", "#c0392b"),
    ("starting", "#2e86c1"),
    ("syncing", "#8e44ad"),
];

fn color(state: &str) -> &'static str {
    COLORS
        .iter()
        .find(|(s, _)| *s == state)
        .map_or("#999999", |(_, c)| c)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The picture: a time axis, one lane per node (states as bands, steps as
/// thin spans under them), the leader lane, leaderless windows shaded
/// across every lane. Deterministic for a given timeline.
pub fn svg(t: &Timeline) -> String {
    const LEFT: f64 = 90.0;
    const WIDTH: f64 = 900.0;
    const LANE: f64 = 34.0;
    let total = t.duration_ms.max(1) as f64;
    let x = |ms: u64| LEFT + WIDTH * (ms as f64) / total;
    let lanes = t.lanes.len() as f64;
    let top = 30.0;
    let leader_y = top + lanes * LANE + 8.0;
    let height = leader_y + 60.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{height:.0}" font-family="sans-serif" font-size="12">"#,
        LEFT + WIDTH + 20.0
    );
    let _ = write!(
        s,
        r#"<title>roll {} of {}</title>"#,
        esc(&t.run_id),
        esc(&t.playbook)
    );
    // Time axis: a tick every "nice" interval.
    let step = [
        1_000u64, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000,
    ]
    .into_iter()
    .find(|s| t.duration_ms / s <= 12)
    .unwrap_or(1_800_000);
    let mut tick = 0;
    while tick <= t.duration_ms {
        let _ = write!(
            s,
            r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2:.1}" stroke="#dddddd"/><text x="{0:.1}" y="{3}" text-anchor="middle" fill="#555555">{4}s</text>"##,
            x(tick),
            top - 6.0,
            leader_y + 26.0,
            top - 10.0,
            tick / 1000
        );
        tick += step;
    }
    for w in &t.leaderless {
        let _ = write!(
            s,
            r##"<rect class="leaderless" x="{:.1}" y="{top}" width="{:.1}" height="{:.1}" fill="#c0392b" fill-opacity="0.12"><title>no leader known: {:.1}s</title></rect>"##,
            x(w.from_ms),
            (x(w.to_ms) - x(w.from_ms)).max(1.0),
            leader_y + 26.0 - top,
            (w.to_ms - w.from_ms) as f64 / 1000.0
        );
    }
    for (n, lane) in t.lanes.iter().enumerate() {
        let y = top + n as f64 * LANE;
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" text-anchor="end" font-weight="bold">{}</text>"##,
            LEFT - 8.0,
            y + 15.0,
            esc(&lane.host)
        );
        for p in &lane.phases {
            let _ = write!(
                s,
                r#"<rect class="phase {}" x="{:.1}" y="{y:.1}" width="{:.1}" height="18" fill="{}"><title>{} {}: {:.1}s–{:.1}s</title></rect>"#,
                p.state,
                x(p.from_ms),
                (x(p.to_ms) - x(p.from_ms)).max(0.5),
                color(p.state),
                esc(&lane.host),
                p.state,
                p.from_ms as f64 / 1000.0,
                p.to_ms as f64 / 1000.0
            );
        }
        for st in &lane.steps {
            let fill = if st.status == "ok" {
                "#444444"
            } else {
                "#c0392b"
            };
            let _ = write!(
                s,
                r#"<rect class="step" x="{:.1}" y="{:.1}" width="{:.1}" height="6" fill="{fill}"><title>{} {} ({}): {:.1}s–{:.1}s, {}</title></rect>"#,
                x(st.from_ms),
                y + 21.0,
                (x(st.to_ms) - x(st.from_ms)).max(1.0),
                esc(&lane.host),
                esc(&st.task),
                esc(&st.kind),
                st.from_ms as f64 / 1000.0,
                st.to_ms as f64 / 1000.0,
                esc(&st.status)
            );
        }
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{:.1}" text-anchor="end" font-weight="bold">leader</text>"#,
        LEFT - 8.0,
        leader_y + 15.0
    );
    for (n, l) in t.leaders.iter().enumerate() {
        let to = t
            .leaders
            .get(n + 1)
            .map_or(t.duration_ms, |next| next.at_ms);
        let _ = write!(
            s,
            r##"<rect class="leader" x="{:.1}" y="{leader_y:.1}" width="{:.1}" height="18" fill="#f4d03f" stroke="#ffffff"><title>leader {} from {:.1}s</title></rect><text x="{:.1}" y="{:.1}" fill="#333333">{}</text>"##,
            x(l.at_ms),
            (x(to) - x(l.at_ms)).max(1.0),
            esc(&l.host),
            l.at_ms as f64 / 1000.0,
            x(l.at_ms) + 3.0,
            leader_y + 13.0,
            esc(&l.host)
        );
    }
    // Legend.
    let mut lx = LEFT;
    for (state, c) in COLORS {
        let _ = write!(
            s,
            r##"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="{c}"/><text x="{:.1}" y="{:.1}" fill="#333333">{state}</text>"##,
            height - 16.0,
            lx + 16.0,
            height - 6.0
        );
        lx += 95.0;
    }
    let _ = write!(
        s,
        r##"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="#c0392b" fill-opacity="0.2"/><text x="{:.1}" y="{:.1}" fill="#333333">no leader known</text></svg>"##,
        height - 16.0,
        lx + 16.0,
        height - 6.0
    );
    s
}

/// One self-contained page: the picture and the text report beside it.
pub fn html(t: &Timeline) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>zkrun roll {}</title>\
         <style>body{{font-family:sans-serif;margin:24px;color:#222}}main{{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}}\
         pre{{background:#f6f6f6;padding:12px;font-size:12px}}</style></head><body>\
         <h1>Roll {} · {}</h1><p>{:.1} s · {} nodes · {} leader change(s) seen · {:.1} s with no leader known</p><main><figure>",
        esc(&t.run_id),
        esc(&t.run_id),
        esc(&t.playbook),
        t.duration_ms as f64 / 1000.0,
        t.lanes.len(),
        t.leaders.len().saturating_sub(1),
        t.leaderless
            .iter()
            .map(|w| (w.to_ms - w.from_ms) as f64 / 1000.0)
            .sum::<f64>()
    );
    out.push_str(&svg(t));
    let _ = writeln!(
        out,
        "</figure><pre>{}</pre></main></body></html>",
        esc(&t.roll_report)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Timeline {
        let lane = |host: &str, out_at: u64| Lane {
            host: host.into(),
            phases: vec![
                Phase {
                    state: "serving",
                    from_ms: 0,
                    to_ms: out_at,
                },
                Phase {
                    state: "stopping",
                    from_ms: out_at,
                    to_ms: out_at + 300,
                },
                Phase {
                    state: "stopped",
                    from_ms: out_at + 300,
                    to_ms: out_at + 400,
                },
                Phase {
                    state: "starting",
                    from_ms: out_at + 400,
                    to_ms: out_at + 900,
                },
                Phase {
                    state: "syncing",
                    from_ms: out_at + 900,
                    to_ms: out_at + 2500,
                },
                Phase {
                    state: "serving",
                    from_ms: out_at + 2500,
                    to_ms: 10_000,
                },
            ],
            steps: vec![Span {
                task: "stop".into(),
                kind: "stop".into(),
                from_ms: out_at,
                to_ms: out_at + 300,
                status: "ok".into(),
            }],
        };
        Timeline {
            run_id: "20261130T000000Z-0001".into(),
            playbook: "playbooks/rolling-restart.yaml".into(),
            duration_ms: 10_000,
            lanes: vec![lane("zk1", 1_000), lane("zk2", 4_000), lane("zk3", 7_000)],
            leaders: vec![
                LeaderSeen {
                    host: "zk3".into(),
                    at_ms: 0,
                },
                LeaderSeen {
                    host: "zk2".into(),
                    at_ms: 7_600,
                },
            ],
            leaderless: vec![Window {
                from_ms: 7_000,
                to_ms: 7_600,
            }],
            roll_report: "roll report:\n  zk1 out of service 2.5s <&>".into(),
        }
    }

    #[test]
    fn the_picture_is_stable() {
        insta::assert_snapshot!(svg(&sample()));
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_text() {
        let page = html(&sample());
        assert!(page.contains("<svg") && page.contains("</html>"));
        assert!(
            !page.contains("http://") || page.matches("http://").count() == 1,
            "only the SVG namespace"
        );
        assert!(!page.contains("<script"), "no scripts");
        assert!(page.contains("&lt;&amp;&gt;"), "text is escaped");
        assert!(page.contains("0.6 s with no leader known"));
    }
}
