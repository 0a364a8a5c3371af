//! `--check`: the inputs are read and planned; no host is contacted.

use std::process::ExitCode;

use super::exit;
use super::out::print_json;
use crate::cli::{Cli, Output};

pub fn run(cli: Cli) -> ExitCode {
    let (p, plan) = match super::prepare_and_plan(cli) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let cli = &p.cli;
    let steps = plan.steps().len();
    match cli.output {
        Output::Human => outln!(
            "ok: {} and {} are valid: {} of the ensemble's {} hosts targeted, {steps} steps planned",
            plan.playbook,
            plan.inventory,
            plan.targets.len(),
            plan.hosts.len()
        ),
        Output::Json => print_json(
            "check",
            &serde_json::json!({
                "ok": true,
                "hosts": plan.hosts.len(),
                "targets": plan.targets.len(),
                "steps": steps,
            }),
        ),
    }
    ExitCode::from(exit::OK)
}
