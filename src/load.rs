//! The loading stage: playbook, inventory, extra variables and template
//! files, read and checked, then planned. Every problem is collected with
//! its place, so one run of `--check` shows them all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::cli::Cli;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::inventory::{Inventory, Value, ansible_cfg, ansible_yaml, connection, kv, vault};
use crate::plan::{self, Plan};
use crate::tasks::maintain::MaintainArgs;
use crate::tasks::{Playbook, TaskKind};
use crate::yaml::{Part, Source, YamlPath};

/// What comes from outside the playbook and inventory: ansible.cfg, the
/// environment and the command line, merged with Ansible's precedence
/// (command line over environment over ansible.cfg).
pub struct Settings {
    /// The `-i` sources (or ansible.cfg's `inventory`).
    pub sources: Vec<String>,
    pub connection: connection::Defaults,
    pub vault: Vec<vault::VaultSecret>,
    pub forks: usize,
    /// The ansible.cfg read, if any.
    pub config_file: Option<PathBuf>,
    /// Worth saying, not worth stopping for (a vault password file that
    /// could not be read while another one could).
    pub warnings: Vec<String>,
}

pub fn settings(cli: &Cli) -> Result<Settings, Diagnostics> {
    let mut errors = Diagnostics::default();
    let mut notes: Vec<String> = Vec::new();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let env = |k: &str| std::env::var(k).ok();
    let ctx = ansible_cfg::Context {
        env: &env,
        cwd: &cwd,
        home: home.as_deref(),
    };
    let cfg = ansible_cfg::load(&ctx).map_err(|e| {
        let mut d = Diagnostic::new(e.message.clone());
        if let Some(f) = &e.file {
            d = d.note(match e.line {
                Some(l) => format!("in {}:{l}", f.display()),
                None => format!("in {}", f.display()),
            });
        }
        if let Some(h) = &e.help {
            d = d.help(h.clone());
        }
        Diagnostics::from(d)
    })?;
    notes.extend(cfg.warnings.iter().cloned());
    let config_file = cfg.file.clone();
    let sources = if cli.inventory.is_empty() {
        cfg.inventory
            .as_ref()
            .map(|s| s.value.iter().map(|p| p.display().to_string()).collect())
            .unwrap_or_default()
    } else {
        cli.inventory.clone()
    };
    // ansible.cfg's vault settings apply when the command line gives none.
    let mut vault_ids = cli.vault_id.clone();
    let mut vault_files = cli.vault_password_file.clone();
    if vault_ids.is_empty() && vault_files.is_empty() && !cli.ask_vault_pass {
        if let Some(list) = &cfg.vault_identity_list {
            vault_ids.extend(list.value.iter().filter(|v| !v.is_empty()).cloned());
        }
        if let Some(f) = &cfg.vault_password_file {
            vault_files.push(f.value.display().to_string());
        }
    }
    let vault = match vault::secrets_from_args(&vault_ids, &vault_files, cli.ask_vault_pass) {
        Ok((secrets, warnings)) => {
            notes.extend(warnings);
            secrets
        }
        Err(m) => {
            errors.push(Diagnostic::new(m));
            Vec::new()
        }
    };
    let ask_become = cli.ask_become_pass
        || (cli.become_password_file.is_none()
            && cfg.become_ask_pass.as_ref().is_some_and(|s| s.value));
    let become_password = if ask_become {
        match ask_secret("BECOME password: ") {
            Ok(p) => Some(connection::Secret(p)),
            Err(m) => {
                errors.push(Diagnostic::new(format!("-K: {m}")));
                None
            }
        }
    } else if let Some(f) = &cli.become_password_file {
        match Source::read(f, "become password file") {
            Ok(s) => Some(connection::Secret(
                s.text.lines().next().unwrap_or("").to_string(),
            )),
            Err(d) => {
                errors.push(d);
                None
            }
        }
    } else {
        None
    };
    errors.into_result()?;
    // The command line over ansible.cfg (and its environment variables).
    let become_password = become_password.or_else(|| {
        cfg.become_password
            .as_ref()
            .map(|s| connection::Secret(s.value.clone()))
    });
    let connection = connection::Defaults {
        port: cfg
            .remote_port
            .as_ref()
            .and_then(|s| u16::try_from(s.value).ok()),
        connection: cfg.transport.as_ref().map(|s| s.value.clone()),
        user: cli
            .remote_user
            .clone()
            .or_else(|| cfg.remote_user.as_ref().map(|s| s.value.clone())),
        // Made absolute against the current directory, as Ansible does.
        key_file: cli
            .private_key
            .as_ref()
            .map(|k| {
                let k = crate::inventory::sources::expand_user(k);
                std::path::absolute(&k)
                    .map(|p| {
                        crate::inventory::sources::normalize(&p)
                            .display()
                            .to_string()
                    })
                    .unwrap_or(k)
            })
            .or_else(|| {
                cfg.private_key_file
                    .as_ref()
                    .map(|s| s.value.display().to_string())
            }),
        r#become: cli.r#become || cfg.r#become.as_ref().is_some_and(|s| s.value),
        become_user: cli
            .become_user
            .clone()
            .or_else(|| cfg.become_user.as_ref().map(|s| s.value.clone())),
        become_method: cli
            .become_method
            .clone()
            .or_else(|| cfg.become_method.as_ref().map(|s| s.value.clone())),
        become_password,
        ssh_args: cfg.ssh_args.as_ref().map(|s| s.value.clone()),
        ssh_common_args: cli
            .ssh_common_args
            .clone()
            .or_else(|| cfg.ssh_common_args.as_ref().map(|s| s.value.clone())),
        ssh_extra_args: cli
            .ssh_extra_args
            .clone()
            .or_else(|| cfg.ssh_extra_args.as_ref().map(|s| s.value.clone())),
    };
    Ok(Settings {
        sources,
        connection,
        vault,
        forks: cli
            .forks
            .or_else(|| cfg.forks.as_ref().map(|s| s.value as usize))
            .unwrap_or(10)
            .max(1),
        config_file,
        warnings: notes,
    })
}

/// A password typed on the terminal, not echoed.
fn ask_secret(prompt: &str) -> Result<String, String> {
    let term = console::Term::stderr();
    if !term.is_term() {
        return Err("no terminal to ask on; use a password file instead".into());
    }
    let _ = term.write_str(prompt);
    term.read_secure_line().map_err(|e| e.to_string())
}

/// The inventory, read and resolved with the settings' vault passwords.
pub fn inventory(cli: &Cli, settings: &Settings) -> Result<Inventory, Diagnostics> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let playbook_dir = cli
        .playbook
        .as_ref()
        .map(|p| p.parent().unwrap_or(Path::new("")).to_path_buf())
        .or_else(|| cli.playbook_dir.clone());
    crate::inventory::load(&crate::inventory::Request {
        sources: &settings.sources,
        cwd: &cwd,
        playbook_dir: playbook_dir.as_deref(),
        vault: &settings.vault,
    })
}

/// Everything up to a plan, collecting as many problems as can be found
/// before one of them makes the next stage meaningless.
pub fn load_and_plan(cli: &Cli) -> Result<Plan, Diagnostics> {
    load_all(cli).map(|(plan, _, _)| plan)
}

/// The plan, with the inventory and settings it was built from.
pub fn load_all(cli: &Cli) -> Result<(Plan, Inventory, Settings), Diagnostics> {
    let mut errors = Diagnostics::default();
    let mut settings = settings(cli)?;
    let pb_src = match &cli.playbook {
        Some(path) => Source::read(path, "playbook")
            .map_err(|d| errors.push(d))
            .ok(),
        None => Some(status_playbook(cli)),
    };
    let playbook: Option<Playbook> = pb_src
        .as_ref()
        .and_then(|s| s.parse("playbook").map_err(|d| errors.push(d)).ok());
    if let Some(p) = &settings.connection.become_password {
        crate::scrub::add(&p.0);
    }
    let inventory = inventory(cli, &settings).map_err(|d| errors.extend(d)).ok();
    // Secrets are known before anything that might quote them is printed.
    for s in inventory.iter().flat_map(|i| i.decrypted.values()) {
        crate::scrub::add(s);
    }
    let extra_vars = parse_extra_vars(&cli.extra_vars)
        .map_err(|d| errors.extend(d))
        .ok();
    let limit = match cli.limit.as_deref().map(limit_pattern).transpose() {
        Ok(l) => l,
        Err(d) => {
            errors.push(d);
            None
        }
    };
    let files = match (&playbook, &pb_src) {
        (Some(p), Some(s)) => {
            let path = cli.playbook.clone().unwrap_or_default();
            load_template_files(p, s, &path)
                .map_err(|d| errors.extend(d))
                .ok()
        }
        _ => None,
    };
    if playbook.as_ref().is_some_and(|p| p.service.cli.is_some()) {
        settings.warnings.push(
            "the playbook's `service.cli` is no longer used: verify's read speaks ZooKeeper's protocol itself; remove it"
                .into(),
        );
    }
    if let (None, Some(inv)) = (&playbook, &inventory) {
        errors.extend(plan::build::check_connections(inv, &settings.connection));
    }
    let (Some(playbook), Some(pb_src), Some(inventory), Some(extra_vars), Some(files)) =
        (playbook, pb_src, inventory, extra_vars, files)
    else {
        return Err(errors);
    };
    errors.into_result()?;
    let run_id = cli.run_id.clone().unwrap_or_else(crate::clock::run_id);
    crate::clock::check_run_id(&run_id).map_err(|m| Diagnostics::from(Diagnostic::new(m)))?;
    let plan = plan::build(&plan::Inputs {
        playbook: &playbook,
        playbook_src: &pb_src,
        inventory: &inventory,
        connection: &settings.connection,
        extra_vars: &extra_vars,
        limit: limit.as_deref(),
        run_id: &run_id,
        files: &files,
        fingerprint_key: cli.fingerprint_key.as_deref(),
        // `--status` restarts nothing: a playbook's restart rules do not apply.
        allow_quorum_loss: cli.allow_quorum_loss || cli.status,
    })?;
    // The `secrets:` values and per-host become passwords, known once the
    // plan stands (vault values and -K were registered above).
    for s in &plan.secrets {
        crate::scrub::add(s);
    }
    Ok((plan, inventory, settings))
}

/// `--limit @file`: the hosts listed in the file, one per line (Ansible's
/// retry-file form); otherwise the pattern itself.
fn limit_pattern(l: &str) -> Result<String, Diagnostic> {
    let Some(path) = l.strip_prefix('@') else {
        return Ok(l.to_string());
    };
    let src = Source::read(Path::new(path), "--limit file")?;
    let hosts: Vec<&str> = src
        .text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if hosts.is_empty() {
        return Err(
            Diagnostic::new(format!("--limit file `{path}` names no host"))
                .help("write one host name per line"),
        );
    }
    // Each line is one host (Ansible's retry files), never a pattern.
    if let Some(bad) = hosts
        .iter()
        .find(|h| h.contains([':', ',', '!', '&', '*', '?', '[', '~']))
    {
        return Err(Diagnostic::new(format!(
            "--limit file `{path}` has the line `{bad}`, which is a pattern, not a host name"
        ))
        .help("a --limit file lists host names, one per line; give patterns to --limit itself"));
    }
    Ok(hosts.join(","))
}

/// Warnings about the inventory, for the hosts of a plan: ansible_* variables
/// zkrun does not use (one line per variable, naming the hosts), and
/// Ansible's silent tie-breaks.
pub fn inventory_warnings(inv: &Inventory, plan: &Plan) -> Vec<Diagnostic> {
    let mut out = inv.warnings.clone();
    let mut unused: IndexMap<&str, Vec<&str>> = IndexMap::new();
    for h in &plan.hosts {
        let Some(host) = inv.host(&h.name) else {
            continue;
        };
        for k in host.vars.keys() {
            if k.starts_with("ansible_")
                && !connection::HONOURED.contains(&k.as_str())
                && !connection::REFUSED.iter().any(|(r, _)| r == k)
            {
                unused.entry(k.as_str()).or_default().push(&h.name);
            }
        }
    }
    for (k, hosts) in unused {
        let shown = if hosts.len() > 4 {
            format!("{} and {} more", hosts[..3].join(", "), hosts.len() - 3)
        } else {
            hosts.join(", ")
        };
        out.push(
            Diagnostic::new(format!(
                "`{k}` is set (for {shown}) but zkrun does not use it"
            ))
            .help("zkrun runs no Python and no Ansible modules; this setting changes nothing here"),
        );
    }
    out
}

/// The playbook behind `--status`: every host (or --limit), default service.
pub fn status_playbook(cli: &Cli) -> Source {
    let hosts = cli.limit.as_deref().unwrap_or("all");
    let q = |v: &str| serde_json::Value::String(v.to_string());
    let mut service = Vec::new();
    if let Some(port) = cli.client_port {
        service.push(format!("client_port: {port}"));
    }
    if let Some(address) = &cli.client_address {
        service.push(format!("client_address: {}", q(address)));
    }
    let service = if service.is_empty() {
        String::new()
    } else {
        format!("service: {{{}}}\n", service.join(", "))
    };
    let text = format!(
        "name: ensemble status\nhosts: {}\n{service}tasks:\n  - {{id: status, run: once, status: {{}}}}\n",
        q(hosts)
    );
    Source::new("<--status>", text)
}

/// `-e` in Ansible's forms: `a=1 b="two words"` (values are text),
/// a JSON or YAML mapping (`'{"a": 1}'`), or `@file` (YAML or JSON, read as
/// Ansible reads YAML). Later arguments win.
pub fn parse_extra_vars(
    args: &[String],
) -> Result<IndexMap<String, serde_json::Value>, Diagnostics> {
    let mut vars = IndexMap::new();
    let mut errors = Diagnostics::default();
    for (n, arg) in args.iter().enumerate() {
        let doc = match kv::classify(arg) {
            Ok(kv::ExtraVars::Pairs(pairs)) => {
                for (k, v) in pairs {
                    vars.insert(k, serde_json::Value::String(v));
                }
                continue;
            }
            Ok(kv::ExtraVars::Document(text)) => {
                let src = Source::new(format!("-e {arg}"), text);
                yaml_mapping(&src, "-e")
            }
            Ok(kv::ExtraVars::File(path)) => Source::read(&path, "extra-vars file")
                .and_then(|src| yaml_mapping(&src, "extra-vars file")),
            // The argument is not echoed whole: it may hold a password.
            Err(m) => Err(Diagnostic::new(format!(
                "-e (the {} given): {m}",
                ordinal(n + 1)
            ))),
        };
        match doc {
            Ok(map) => vars.extend(map),
            Err(d) => errors.push(d),
        }
    }
    errors.into_result().map(|()| vars)
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A YAML (1.1, as Ansible) mapping of variables.
fn yaml_mapping(
    src: &Source,
    what: &str,
) -> Result<IndexMap<String, serde_json::Value>, Diagnostic> {
    let doc =
        ansible_yaml::parse(&src.text).map_err(|e| crate::inventory::source_error(e, src, what))?;
    match doc.to_value() {
        Value::Map(m) => Ok(m.into_iter().map(|(k, v)| (k, v.to_json())).collect()),
        Value::Null => Ok(IndexMap::new()),
        other => Err(Diagnostic::new(format!(
            "{what} `{}` must be a mapping of variables, not {}",
            src.path,
            other.to_json()
        ))
        .help("write `name: value` pairs, e.g. '{\"backup_root\": \"/srv/backups\"}'")),
    }
}

/// Reads every `maintain: {template: {src}}` file, relative to the playbook.
fn load_template_files(
    pb: &Playbook,
    src: &Source,
    playbook_path: &Path,
) -> Result<HashMap<String, String>, Diagnostics> {
    let base = playbook_path.parent().unwrap_or(Path::new("."));
    let mut files = HashMap::new();
    let mut errors = Diagnostics::default();
    for (n, task) in pb.tasks.iter().enumerate() {
        let TaskKind::Maintain(MaintainArgs::Template(t)) = &task.kind else {
            continue;
        };
        if files.contains_key(&t.src) {
            continue;
        }
        let at = YamlPath::root()
            .key("tasks")
            .index(n)
            .key("maintain")
            .key("template")
            .key("src");
        match Source::read(&base.join(&t.src), "template file") {
            Ok(s) => {
                if let Err(e) = crate::model::Template::check(&s.text) {
                    errors.push(
                        Diagnostic::new(format!("{e} in template file `{}`", t.src))
                            .at(src.locate(&at, Part::Value)),
                    );
                }
                files.insert(t.src.clone(), s.text);
            }
            Err(mut d) => {
                d.snippet = src.locate(&at, Part::Value).map(Box::new);
                d = d.note(format!(
                    "template paths are relative to the playbook's directory, {}",
                    base.display()
                ));
                errors.push(d);
            }
        }
    }
    errors.into_result().map(|()| files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_vars_take_ansible_forms() {
        let v = parse_extra_vars(&["a=1 b='two words'".into(), r#"{"c": 1, "d": yes}"#.into()])
            .unwrap();
        assert_eq!(v["a"], "1");
        assert_eq!(v["b"], "two words");
        assert_eq!(v["c"], 1);
        assert_eq!(v["d"], true, "YAML 1.1, as Ansible reads -e documents");
        assert!(parse_extra_vars(&["[1, 2]".into()]).is_err());
        assert!(parse_extra_vars(&["noequals".into()]).is_err());
    }
}
