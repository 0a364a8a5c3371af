//! The live half of `--dry-run`: with the hosts reachable, look at them
//! read-only and say what the plan alone cannot: who leads now and so goes
//! last, which four-letter words answer, the client-session risk of the
//! leader's restart, each template's diff and whatever would refuse the run.
//! Nothing here changes a host: probes and `inspect` only.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::Serialize;

use crate::host::exec::Exec;
use crate::host::transport::Transport;
use crate::plan::Plan;
use crate::zk::{ensemble, probe};

/// The `live` line of `--dry-run --output json` (schemas/live.schema.json).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Live {
    /// Hosts that could not be reached, and why. When any is listed,
    /// nothing else was looked at.
    pub unreachable: Vec<(String, String)>,
    /// The ensemble table, as `--status` prints it.
    pub ensemble: String,
    pub leader: Option<String>,
    /// The rolling order as it would be decided now.
    pub order: Vec<String>,
    /// Which checks the ensemble allows (srvr, mntr, conf).
    pub checks: Vec<String>,
    pub sessions: Option<String>,
    /// What would make the run fail early, or deserves a look first.
    pub warnings: Vec<String>,
    pub steps: Vec<LiveStep>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LiveStep {
    pub host: String,
    pub task: String,
    pub notes: Vec<String>,
    /// Set when the run would be refused because of this step.
    pub problem: Option<String>,
}

/// Looks at every host of the plan; `connect_timeout` bounds the wait for
/// each unreachable one.
pub async fn look<T: Transport>(plan: &Plan, t: &T, forks: usize) -> Live {
    let mut live = Live::default();
    let results: Vec<(String, Result<(), String>)> = stream::iter(plan.hosts.iter())
        .map(|h| async move {
            (
                h.name.clone(),
                t.connect(h).await.map_err(|e| {
                    let (what, help) = e.explain();
                    format!("{what}; {help}")
                }),
            )
        })
        .buffer_unordered(forks.max(1))
        .collect()
        .await;
    for (host, r) in results {
        if let Err(e) = r {
            live.unreachable.push((host, e));
        }
    }
    if !live.unreachable.is_empty() {
        live.unreachable.sort();
        // The hosts that were reached keep no master behind.
        t.close().await;
        return live;
    }
    let facts = RefCell::new(Default::default());
    let x = Exec::read_only(
        t,
        &plan.hosts[0],
        &plan.hosts,
        "dry-run",
        Duration::from_secs(30),
        &facts,
    );
    let view = probe::view(&x).await;
    live.ensemble = view.table();
    if let Err(why) = ensemble::healthy(&view) {
        live.warnings.push(format!(
            "the ensemble is not healthy now ({why}): the run would stop at its first check"
        ));
    }
    let leaders = view.leaders();
    live.leader = match leaders[..] {
        [one] => Some(one.to_string()),
        _ => None,
    };
    if let Some(r) = plan.rolling() {
        live.order = r.hosts.clone();
        if r.leader_last
            && let Some(l) = &live.leader
        {
            let before_last = live.order.len().saturating_sub(1);
            crate::plan::defer(&mut live.order, before_last, l);
        }
    }
    let mntr = !view.leader_mntr.is_empty();
    live.checks
        .push("srvr: answered (mode, zxid, serving or not)".into());
    live.checks.push(if mntr {
        "mntr: answered by the leader (synced followers counted, election timings recorded)".into()
    } else {
        "mntr: not answered (not in 4lw.commands.whitelist): each node's own srvr Mode is trusted, \
         synced followers are not counted, no election timings"
            .into()
    });
    let sessions = probe::sessions(&x, &view, &service_config(plan)).await;
    live.checks.push(format!(
        "conf: {}",
        match sessions.config_from {
            "conf" => "answered (settings in force)".to_string(),
            from => format!("not answered: settings read from {from}"),
        }
    ));
    if sessions.warn {
        live.warnings.push(sessions.line.clone());
    }
    live.sessions = Some(sessions.line);
    live.steps = inspect_steps(plan, t, forks).await;
    for s in &live.steps {
        if let Some(p) = &s.problem {
            live.warnings.push(format!(
                "{} {}: {p}: the run would be refused",
                s.host, s.task
            ));
        }
    }
    t.close().await;
    live
}

/// The config path as rendered for the first planned step that names one.
pub fn service_config(plan: &Plan) -> String {
    for (_, step) in plan.steps() {
        if let Some(crate::tasks::Action::Status(s)) = &step.action {
            return s.config.real().to_string();
        }
        if let Some(crate::tasks::Action::Backup(s)) = &step.action {
            return s.config.real().to_string();
        }
    }
    // No step reads the config: Debian's place (`service.config`'s default).
    "/etc/zookeeper/conf/zoo.cfg".to_string()
}

async fn inspect_steps<T: Transport>(plan: &Plan, t: &T, forks: usize) -> Vec<LiveStep> {
    crate::runner::inspect(plan, t, forks, |_, _| false)
        .await
        .into_iter()
        .filter(|i| !i.found.notes.is_empty() || i.found.problem.is_some())
        .map(|i| LiveStep {
            host: i.host,
            task: i.task,
            notes: i.found.notes,
            problem: i.found.problem.map(|e| match e.help {
                Some(h) => format!("{} ({h})", e.message),
                None => e.message,
            }),
        })
        .collect()
}

/// The live section printed under the plan, at most 80 columns wide
/// except for diff lines, which are shown as they are.
pub fn render(live: &Live) -> String {
    let mut out = String::from("\nLive (read-only look at the hosts now)\n");
    let say = |out: &mut String, line: &str| {
        for l in crate::plan::display::wrap(line, 80) {
            out.push_str(&l);
            out.push('\n');
        }
    };
    if !live.unreachable.is_empty() {
        for (host, why) in &live.unreachable {
            say(&mut out, &format!("  {host:<10} unreachable: {why}"));
        }
        say(
            &mut out,
            "  the leader, the order and the host checks are resolved at run time \
             (the run itself refuses to start until every host is reachable)",
        );
        return out;
    }
    for line in live.ensemble.lines() {
        say(&mut out, &format!("  {line}"));
    }
    let leader = match (&live.leader, live.order.last()) {
        (Some(l), Some(last)) if l == last => format!("  leader now: {l}, goes last"),
        (Some(l), _) if !live.order.is_empty() => {
            format!("  leader now: {l} (not restarted by this run)")
        }
        (Some(l), _) => format!("  leader now: {l}"),
        (None, _) => "  no single leader now".into(),
    };
    say(&mut out, &leader);
    if !live.order.is_empty() {
        let order = format!(
            "  order now: {} (re-checked before every host)",
            live.order.join(", ")
        );
        say(&mut out, &order);
    }
    for c in live.checks.iter().chain(&live.sessions) {
        say(&mut out, &format!("  {c}"));
    }
    for s in &live.steps {
        say(&mut out, &format!("  {} {}:", s.host, s.task));
        for n in &s.notes {
            if n.starts_with(['+', '-', ' ', '@']) {
                // Diff lines keep their exact text.
                let _ = writeln!(out, "    {n}");
            } else {
                say(&mut out, &format!("    {n}"));
            }
        }
        if let Some(p) = &s.problem {
            say(&mut out, &format!("    REFUSED: {p}"));
        }
    }
    for w in &live.warnings {
        say(&mut out, &format!("  warning: {w}"));
    }
    out
}
