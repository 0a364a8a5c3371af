//! `--list-hosts` and `--list-inventory`: what zkrun read, without touching
//! a host.

use std::process::ExitCode;

use super::exit;
use super::out::print_json;
use crate::cli::{Cli, Output};
use crate::inventory::connection::Kind;

/// The play's hosts after `--limit`, each with how it would be reached.
pub fn hosts(cli: Cli) -> ExitCode {
    let (plan, _, settings) = match crate::load::load_all(&cli) {
        Ok(r) => r,
        Err(d) => {
            super::report(&d, cli.output);
            return ExitCode::from(exit::INVALID_INPUT);
        }
    };
    let config = settings
        .config_file
        .as_ref()
        .map(|p| p.display().to_string());
    let wanted: std::collections::HashSet<&str> = plan.targets.iter().map(String::as_str).collect();
    let targets: Vec<&crate::host::PlanHost> = plan
        .hosts
        .iter()
        .filter(|h| wanted.contains(h.name.as_str()))
        .collect();
    match cli.output {
        Output::Json => {
            let hosts: Vec<serde_json::Value> = targets
                .iter()
                .map(|h| {
                    let c = &h.connection;
                    serde_json::json!({
                        "name": h.name,
                        "connection": c.kind,
                        "address": c.address,
                        "port": c.port,
                        "user": c.user,
                        "key_file": c.key_file,
                        "become": c.r#become,
                        "become_user": c.become_user.as_deref().unwrap_or("root"),
                        "become_password": c.become_password.is_some(),
                        "ssh_options": c.ssh_options,
                    })
                })
                .collect();
            print_json(
                "hosts",
                &serde_json::json!({
                    "playbook": plan.playbook,
                    "inventory": plan.inventory,
                    "config_file": config,
                    "hosts": hosts,
                }),
            );
        }
        Output::Human => {
            outln!(
                "playbook: {}\ninventory: {}\nansible.cfg: {}",
                plan.playbook,
                plan.inventory,
                config.as_deref().unwrap_or("none read")
            );
            outln!("  hosts ({}):", targets.len());
            let width = targets
                .iter()
                .map(|h| h.name.chars().count())
                .max()
                .unwrap_or(0);
            for h in targets {
                let c = &h.connection;
                let mut line = format!("    {:width$}  ", h.name);
                if c.kind == Kind::Local {
                    line.push_str("local (this machine)");
                } else {
                    if let Some(u) = &c.user {
                        line.push_str(&format!("{u}@"));
                    }
                    if c.address.contains(':') {
                        line.push_str(&format!("[{}]", c.address));
                    } else {
                        line.push_str(&c.address);
                    }
                    line.push_str(&format!(
                        ":{}",
                        c.port
                            .map_or("22 (ssh default)".to_string(), |p| p.to_string())
                    ));
                    if let Some(k) = &c.key_file {
                        line.push_str(&format!("  key {k}"));
                    }
                }
                if c.r#become {
                    line.push_str(&format!(
                        "  become {}{}",
                        c.become_user.as_deref().unwrap_or("root"),
                        if c.become_password.is_some() {
                            " (with password)"
                        } else {
                            ""
                        }
                    ));
                }
                for o in &c.ssh_options {
                    line.push_str(&format!("  -o {}", crate::render::shell_quote(o)));
                }
                outln!("{}", crate::diagnostic::printable(&line));
            }
        }
    }
    ExitCode::from(exit::OK)
}

/// The inventory in `ansible-inventory --list`'s JSON shape.
pub fn inventory(cli: Cli) -> ExitCode {
    let loaded = crate::load::settings(&cli).and_then(|s| crate::load::inventory(&cli, &s));
    match loaded {
        Ok(inv) => {
            let text =
                serde_json::to_string_pretty(&inv.ansible_list()).expect("JSON values serialize");
            outln!("{text}");
            ExitCode::from(exit::OK)
        }
        Err(d) => {
            super::report(&d, cli.output);
            ExitCode::from(exit::INVALID_INPUT)
        }
    }
}
