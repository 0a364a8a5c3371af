//! The plan as a person reads it before anything runs (`--dry-run`).
//! Fits 80 columns; colour only where `console` allows it.

use std::fmt::Write as _;

use console::style;

use super::{Plan, Rolling, Stage, Step, TaskInfo};

/// `resuming`: the plan is an unfinished run's, whose run id it keeps.
pub fn render(plan: &Plan, resuming: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        style("Plan").bold().cyan(),
        style(&plan.name).bold()
    );
    let names: Vec<&str> = plan.targets.iter().map(String::as_str).collect();
    let mut header = vec![
        ("playbook", plan.playbook.clone()),
        ("inventory", plan.inventory.clone()),
        ("hosts", format!("{}: {}", names.len(), list(&names, 8))),
    ];
    if plan.hosts.len() != names.len() {
        let all: Vec<&str> = plan.hosts.iter().map(|h| h.name.as_str()).collect();
        header.push((
            "ensemble",
            format!("{}: {} (checked, not changed)", all.len(), list(&all, 8)),
        ));
    }
    // Unless resuming, this preview's: the backup paths below name it, and
    // a new run makes its own, so an operator must not note them down.
    let whose = if resuming {
        "the unfinished run's, kept by --resume"
    } else {
        "each new run makes its own"
    };
    header.push(("run id", format!("{} ({whose})", plan.run_id)));
    header.push(("fingerprint", plan.fingerprint.chars().take(19).collect()));
    for (k, v) in header {
        let _ = writeln!(out, "  {:<12} {v}", style(k).dim());
    }
    let mut n = 0;
    for stage in &plan.stages {
        out.push('\n');
        match stage {
            Stage::Once { task, step } => {
                n += 1;
                let _ = writeln!(out, "{}", heading(n, task, "once"));
                step_lines(&mut out, step, "     ", false);
            }
            Stage::Parallel { task, steps } => {
                n += 1;
                let where_ = format!("parallel on {} hosts", steps.len());
                let _ = writeln!(out, "{}", heading(n, task, &where_));
                // Hosts whose steps read the same are shown once, "on zk1,
                // zk2, zk3": a 100-host backup is one block, not 100.
                let mut blocks: Vec<(Vec<&str>, String)> = Vec::new();
                for step in steps {
                    let mut lines = String::new();
                    step_lines(&mut lines, step, "       ", false);
                    match blocks.iter_mut().find(|(_, l)| *l == lines) {
                        Some((hosts, _)) => hosts.push(&step.host),
                        None => blocks.push((vec![&step.host], lines)),
                    }
                }
                for (hosts, lines) in blocks {
                    let who = if hosts.len() == 1 {
                        hosts[0].to_string()
                    } else {
                        format!("on {}", hosts_list(&hosts))
                    };
                    let _ = writeln!(out, "     {}", style(who).bold());
                    out.push_str(&lines);
                }
            }
            Stage::Rolling(r) => {
                rolling(&mut out, plan, r, &mut n);
            }
        }
    }
    out
}

/// `zk1, zk2, zk3`; past 8 hosts, `zk1, zk2, … zk100 (100 hosts)`.
fn hosts_list(hosts: &[&str]) -> String {
    if hosts.len() <= 8 {
        hosts.join(", ")
    } else {
        format!(
            "{}, … {} ({} hosts)",
            hosts[..3].join(", "),
            hosts[hosts.len() - 1],
            hosts.len()
        )
    }
}

fn heading(n: usize, task: &TaskInfo, where_: &str) -> String {
    let title = if task.name == task.kind.as_str() {
        format!("{} ({})", task.id, task.kind)
    } else {
        format!("{} ({}: {})", task.id, task.kind, task.name)
    };
    let mut extra = format!("{where_} · timeout {}", task.timeout);
    if task.retries > 0 {
        extra.push_str(&format!(
            " · {} retries, {} apart",
            task.retries, task.delay
        ));
    }
    format!("{}. {} · {}", n, style(title).bold(), style(extra).dim())
}

/// The plan is read in a terminal; lines longer than this are wrapped.
const WIDTH: usize = 80;

fn step_lines(out: &mut String, step: &Step, indent: &str, sudo_default: bool) {
    for line in describe(step, sudo_default) {
        for part in wrap(&line, WIDTH.saturating_sub(indent.len())) {
            let _ = writeln!(out, "{indent}{part}");
        }
    }
}

fn describe(step: &Step, sudo_default: bool) -> Vec<String> {
    if let Some(why) = &step.skip {
        return vec![format!("skipped: {why}")];
    }
    let mut lines = step
        .action
        .as_ref()
        .map(|a| a.describe())
        .unwrap_or_default();
    let runs_commands = !matches!(step.action, Some(crate::tasks::Action::Status(_)));
    if runs_commands
        && step.r#become != sudo_default
        && let Some(first) = lines.first_mut()
    {
        {
            first.push_str(if step.r#become {
                " [sudo]"
            } else {
                " [no sudo]"
            });
        }
    }
    lines
}

/// Greedy wrap at spaces; continuation lines are indented two more columns.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width || width < 20 {
        return vec![line.to_string()];
    }
    let lead = line.len() - line.trim_start().len();
    let cont = " ".repeat(lead + 2);
    let mut out: Vec<String> = Vec::new();
    let mut current = " ".repeat(lead);
    let mut fresh = true;
    for word in line.split_whitespace() {
        if !fresh && current.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::replace(&mut current, cont.clone()));
            fresh = true;
        }
        if !fresh {
            current.push(' ');
        }
        current.push_str(word);
        fresh = false;
    }
    out.push(current);
    out
}

fn rolling(out: &mut String, plan: &Plan, r: &Rolling, n: &mut usize) {
    let failures = match r.max_failures {
        0 => "stop at the first failure".to_string(),
        k => format!("stop after {k} failed hosts"),
    };
    let order = if r.leader_last {
        "leader last"
    } else if r.order == "explicit" {
        "explicit order"
    } else {
        "inventory order"
    };
    let _ = writeln!(
        out,
        "{} {} hosts, {} at a time, {order} · {failures}",
        style("Rolling:").bold().cyan(),
        r.hosts.len(),
        r.serial
    );
    let batches: Vec<String> = r
        .batches
        .iter()
        .enumerate()
        .map(|(i, b)| format!("{}: {}", i + 1, b.join(", ")))
        .collect();
    let _ = writeln!(
        out,
        "  {:<9}{}",
        style("batches").dim(),
        batches.join("   ")
    );
    if r.serial > 1 {
        let _ = writeln!(
            out,
            "  {:<9}each gate checks the quorum without its whole batch",
            ""
        );
    }
    if r.leader_last {
        let _ = writeln!(
            out,
            "  {:<9}found live before each host's turn; whoever leads then goes last",
            style("leader").dim(),
        );
    }
    let tasks: Vec<String> = r
        .tasks
        .iter()
        .map(|t| {
            *n += 1;
            format!("{}. {}", n, t.id)
        })
        .collect();
    for (i, line) in wrap(&tasks.join(" → "), WIDTH - 11).iter().enumerate() {
        let label = if i == 0 { "each" } else { "" };
        let _ = writeln!(out, "  {:<9}{}", style(label).dim(), line.trim_start());
    }
    let width = r
        .tasks
        .iter()
        .map(|t| t.id.as_str().len())
        .max()
        .unwrap_or(4);
    // Each host's block, with its own name and address as placeholders;
    // past 3 hosts, hosts whose blocks then read the same are shown once.
    type Body = Vec<(String, Vec<String>)>;
    /// Hosts, the generic reach and body, the first host's own.
    type Block<'a> = (Vec<&'a str>, String, Body, (String, Body));
    let mut blocks: Vec<Block> = Vec::new();
    for (host, steps) in &r.steps {
        let conn = plan
            .hosts
            .iter()
            .find(|h| &h.name == host)
            .map(|h| &h.connection);
        let sudo = conn.is_some_and(|c| c.r#become);
        let address = conn.map(|c| c.address.as_str()).unwrap_or_default();
        let mut reach = conn
            .map(|c| match &c.user {
                Some(u) => format!("{u}@{}", c.address),
                None => c.address.clone(),
            })
            .unwrap_or_default();
        if let Some(port) = conn.and_then(|c| c.port) {
            reach.push_str(&format!(" port {port}"));
        }
        if let Some(c) = conn.filter(|_| sudo) {
            reach.push_str(&match (&c.become_user, c.become_password.is_some()) {
                (None, false) => " · commands through sudo -n".to_string(),
                (Some(u), false) => format!(" · commands through sudo -n as {u}"),
                (u, true) => format!(
                    " · commands through sudo as {} (password on its input)",
                    u.as_deref().unwrap_or("root")
                ),
            });
        }
        let collapse = r.steps.len() > 3;
        let generic = |s: &str| {
            let s = if address.is_empty() {
                s.to_string()
            } else {
                s.replace(address, "<address>")
            };
            s.replace(host.as_str(), "<host>")
        };
        let own: Body = r
            .tasks
            .iter()
            .zip(steps)
            .map(|(t, step)| (t.id.as_str().to_string(), describe(step, sudo)))
            .collect();
        let body: Body = own
            .iter()
            .map(|(id, lines)| (id.clone(), lines.iter().map(|l| generic(l)).collect()))
            .collect();
        let general = generic(&reach);
        match blocks
            .iter_mut()
            .find(|(_, r2, b, _)| collapse && *r2 == general && *b == body)
        {
            Some((hosts, _, _, _)) => hosts.push(host),
            None => blocks.push((vec![host], general, body, (reach, own))),
        }
    }
    let indent = 4 + width + 2;
    for (hosts, general, generic_body, (reach, own)) in blocks {
        let (who, reach, body) = if hosts.len() == 1 {
            (hosts[0].to_string(), reach, own)
        } else {
            (format!("on {}", hosts_list(&hosts)), general, generic_body)
        };
        let _ = writeln!(out, "\n  {}  {}", style(who).bold(), style(reach).dim());
        if hosts.len() > 1 {
            let _ = writeln!(
                out,
                "    {}",
                style("<host> and <address> stand for each host's own").dim()
            );
        }
        for (id, lines) in body {
            let lines: Vec<String> = lines.iter().flat_map(|l| wrap(l, WIDTH - indent)).collect();
            for (i, line) in lines.iter().enumerate() {
                let label = if i == 0 { id.as_str() } else { "" };
                let _ = writeln!(out, "    {:<width$}  {line}", style(label).green());
            }
        }
    }
}

fn list(names: &[&str], max: usize) -> String {
    if names.len() <= max {
        names.join(", ")
    } else {
        format!(
            "{}, … ({} more)",
            names[..max].join(", "),
            names.len() - max
        )
    }
}
