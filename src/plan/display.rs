//! The plan as a person reads it before anything runs (`--dry-run`).
//! Fits 80 columns; colour only where `console` allows it.

use std::fmt::Write as _;

use console::style;

use super::{Plan, Rolling, Stage, Step, TaskInfo};

pub fn render(plan: &Plan) -> String {
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
    header.push(("run id", plan.run_id.clone()));
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
                for step in steps {
                    let _ = writeln!(out, "     {}", style(&step.host).bold());
                    step_lines(&mut out, step, "       ", false);
                }
            }
            Stage::Rolling(r) => {
                rolling(&mut out, plan, r, &mut n);
            }
        }
    }
    out
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
    for (host, steps) in &r.steps {
        let conn = plan
            .hosts
            .iter()
            .find(|h| &h.name == host)
            .map(|h| &h.connection);
        let sudo = conn.is_some_and(|c| c.r#become);
        let mut reach = conn
            .map(|c| match &c.user {
                Some(u) => format!("{u}@{}", c.address),
                None => c.address.clone(),
            })
            .unwrap_or_default();
        if let Some(port) = conn.and_then(|c| c.port) {
            reach.push_str(&format!(" port {port}"));
        }
        if sudo {
            reach.push_str(" · commands through sudo -n");
        }
        let _ = writeln!(out, "\n  {}  {}", style(host).bold(), style(reach).dim());
        let indent = 4 + width + 2;
        for (t, step) in r.tasks.iter().zip(steps) {
            let lines: Vec<String> = describe(step, sudo)
                .iter()
                .flat_map(|l| wrap(l, WIDTH - indent))
                .collect();
            for (i, line) in lines.iter().enumerate() {
                let label = if i == 0 { t.id.as_str() } else { "" };
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
