//! The loading stage: playbook, inventory, extra variables and template
//! files, read and checked, then planned. Every problem is collected with
//! its place, so one run of `--check` shows them all.

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;

use crate::cli::Cli;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::inventory::InventoryFile;
use crate::plan::{self, Plan};
use crate::tasks::maintain::MaintainArgs;
use crate::tasks::{Playbook, TaskKind};
use crate::yaml::{Part, Source, YamlPath};

/// Everything up to a plan, collecting as many problems as can be found
/// before one of them makes the next stage meaningless.
pub fn load_and_plan(cli: &Cli) -> Result<Plan, Diagnostics> {
    let mut errors = Diagnostics::default();
    let pb_src = match &cli.playbook {
        Some(path) => Source::read(path, "playbook")
            .map_err(|d| errors.push(d))
            .ok(),
        None => Some(status_playbook(cli)),
    };
    let inv_src = Source::read(&cli.inventory, "inventory")
        .map_err(|d| errors.push(d))
        .ok();
    let playbook: Option<Playbook> = pb_src
        .as_ref()
        .and_then(|s| s.parse("playbook").map_err(|d| errors.push(d)).ok());
    let inv_file: Option<InventoryFile> = inv_src
        .as_ref()
        .and_then(|s| s.parse("inventory").map_err(|d| errors.push(d)).ok());
    let inventory = match (&inv_file, &inv_src) {
        (Some(f), Some(s)) => crate::inventory::resolve(f, s)
            .map_err(|d| errors.extend(d))
            .ok(),
        _ => None,
    };
    let extra_vars = parse_extra_vars(&cli.extra_vars)
        .map_err(|d| errors.extend(d))
        .ok();
    let files = match (&playbook, &pb_src) {
        (Some(p), Some(s)) => {
            let path = cli.playbook.clone().unwrap_or_default();
            load_template_files(p, s, &path)
                .map_err(|d| errors.extend(d))
                .ok()
        }
        _ => None,
    };
    let (
        Some(playbook),
        Some(pb_src),
        Some(inventory),
        Some(inv_src),
        Some(extra_vars),
        Some(files),
    ) = (playbook, pb_src, inventory, inv_src, extra_vars, files)
    else {
        return Err(errors);
    };
    let run_id = cli.run_id.clone().unwrap_or_else(crate::clock::run_id);
    plan::build(&plan::Inputs {
        playbook: &playbook,
        playbook_src: &pb_src,
        inventory: &inventory,
        inventory_src: &inv_src,
        extra_vars: &extra_vars,
        limit: cli.limit.as_deref(),
        run_id: &run_id,
        files: &files,
        // `--status` restarts nothing: a playbook's restart rules do not apply.
        allow_quorum_loss: cli.allow_quorum_loss || cli.status,
    })
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

/// `-e name=value` (a string, as in Ansible) and `-e @file.yaml` (a mapping).
pub fn parse_extra_vars(
    args: &[String],
) -> Result<IndexMap<String, serde_json::Value>, Diagnostics> {
    let mut vars = IndexMap::new();
    let mut errors = Diagnostics::default();
    for arg in args {
        if let Some(path) = arg.strip_prefix('@') {
            let loaded = Source::read(Path::new(path), "extra-vars file")
                .and_then(|s| s.parse::<IndexMap<String, serde_json::Value>>("extra-vars file"));
            match loaded {
                Ok(map) => vars.extend(map),
                Err(d) => errors.push(d),
            }
            continue;
        }
        match arg.split_once('=') {
            Some((k, v)) if is_identifier(k) => {
                vars.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            }
            _ => errors.push(
                Diagnostic::new(format!("-e `{arg}`: expected `name=value` or `@file.yaml`"))
                    .help("names are letters, digits and `_`, not starting with a digit"),
            ),
        }
    }
    errors.into_result().map(|()| vars)
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
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
    fn extra_vars_take_name_value_pairs() {
        let v = parse_extra_vars(&["a=1".into(), "b=x=y".into()]).unwrap();
        assert_eq!(v["a"], "1");
        assert_eq!(v["b"], "x=y");
        assert!(parse_extra_vars(&["1a=2".into()]).is_err());
        assert!(parse_extra_vars(&["noequals".into()]).is_err());
    }
}
