//! The plan as a person reads it before anything runs (`--dry-run`).
//! Fits 80 columns; colour only where `console` allows it.

use std::fmt::Write as _;

use console::style;

use super::{Plan, Rolling, Stage, Step, TaskInfo};

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", style("Plan").bold().cyan(), style(&plan.name).bold());
    let names: Vec<&str> = plan.hosts.iter().map(|h| h.name.as_str()).collect();
    for (k, v) in [
        ("playbook", plan.playbook.clone()),
        ("inventory", plan.inventory.clone()),
        ("hosts", format!("{}: {}", names.len(), list(&names, 8))),
        ("run id", plan.run_id.clone()),
        ("fingerprint", plan.fingerprint.chars().take(19).collect()),
    ] {
        let _ = writeln!(out, "  {:<12} {v}", style(k).dim());
    }
    let mut n = 0;
    for stage in &plan.stages {
        out.push('\n');
        match stage {
            Stage::Once { task, step } => {
                n += 1;
                let _ = writeln!(out, "{}", heading(n, task, "once"));
                step_lines(&mut out, step, "     ");
            }
            Stage::Parallel { task, steps } => {
                n += 1;
                let where_ = format!("parallel on {} hosts", steps.len());
                let _ = writeln!(out, "{}", heading(n, task, &where_));
                for step in steps {
                    let _ = writeln!(out, "     {}", style(&step.host).bold());
                    step_lines(&mut out, step, "       ");
                }
            }
            Stage::Rolling(r) => {
                rolling(&mut out, r, &mut n);
            }
        }
    }
    out
}

fn heading(n: usize, task: &TaskInfo, where_: &str) -> String {
    let title = if task.name == task.kind {
        format!("{} ({})", task.id, task.kind)
    } else {
        format!("{} ({}: {})", task.id, task.kind, task.name)
    };
    let mut extra = format!("{where_} · timeout {}", task.timeout);
    if task.retries > 0 {
        extra.push_str(&format!(" · {} retries, {} apart", task.retries, task.delay));
    }
    format!("{}. {} · {}", n, style(title).bold(), style(extra).dim())
}

fn step_lines(out: &mut String, step: &Step, indent: &str) {
    if let Some(why) = &step.skip {
        let _ = writeln!(out, "{indent}{}", style(format!("skipped: {why}")).yellow());
        return;
    }
    let Some(action) = &step.action else { return };
    for line in action.describe() {
        let _ = writeln!(out, "{indent}{line}");
    }
    if step.r#become {
        let _ = writeln!(out, "{indent}{}", style("(as root, through sudo -n)").dim());
    }
}

fn rolling(out: &mut String, r: &Rolling, n: &mut usize) {
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
    let _ = writeln!(out, "  {:<9}{}", style("batches").dim(), batches.join("   "));
    if r.leader_last {
        let _ = writeln!(
            out,
            "  {:<9}{}",
            style("leader").dim(),
            "found live before each host's turn; whoever leads then goes last"
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
    let _ = writeln!(out, "  {:<9}{}", style("each").dim(), tasks.join(" → "));
    let width = r.tasks.iter().map(|t| t.id.as_str().len()).max().unwrap_or(4);
    for (host, steps) in &r.steps {
        let _ = writeln!(out, "\n  {}", style(host).bold());
        for (t, step) in r.tasks.iter().zip(steps) {
            let mut lines = Vec::new();
            let mut tmp = String::new();
            step_lines(&mut tmp, step, "");
            lines.extend(tmp.lines().map(str::to_string));
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
        format!("{}, … ({} more)", names[..max].join(", "), names.len() - max)
    }
}
