//! One file per command; `app` picks one from the flags (`cli::Command`).
//! Shared here: the way every user-facing error is shown (one
//! `Diagnostic`, rendered as text on stderr or as a JSON `error` line), the
//! state file's place, and the SSH transport's options.

#[macro_use]
pub mod out;
pub mod check;
pub mod dry_run;
pub mod help;
pub mod list;
pub mod run;
pub mod show_state;
pub mod status;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::checkpoint;
use crate::cli::{Cli, Output};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::host::ssh::{Ssh, SshOptions};
use out::print_json;

/// Exit codes, as documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const RUN_FAILED: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const INTERRUPTED: u8 = 3;
    pub const LOCKED: u8 = 4;
}

/// Problems with the inputs: each as JSON (with `--output json`) and all
/// as text with a count; nothing was run.
pub fn report(diags: &Diagnostics, output: Output) {
    if output == Output::Json {
        for d in &diags.0 {
            print_json("error", &json_of(d));
        }
    }
    err!("{}", diags.render(20));
}

/// One error that ends a command, shown the one way errors are shown; the
/// exit code it ends with.
pub fn fail(d: Diagnostic, output: Output, code: u8) -> ExitCode {
    if output == Output::Json {
        print_json("error", &json_of(&d));
    }
    err!("{}", d.render());
    ExitCode::from(code)
}

pub fn json_of(d: &Diagnostic) -> serde_json::Value {
    serde_json::json!({
        "message": d.message,
        "location": d.location(),
        "label": d.snippet.as_ref().and_then(|s| s.label.clone()),
        "notes": d.notes,
        "help": d.help,
    })
}

/// Default directory for state files, relative to where zkrun runs.
const STATE_DIR: &str = ".zkrun/state";

/// Where this (playbook, inventory) keeps its state.
pub fn state_path(cli: &Cli) -> PathBuf {
    match (&cli.state, &cli.playbook) {
        (Some(p), _) => p.clone(),
        (None, Some(pb)) => checkpoint::default_path(Path::new(STATE_DIR), pb, &cli.inventory),
        (None, None) => PathBuf::from(STATE_DIR).join("status.json"),
    }
}

/// The state file of the last run, if any; a corrupt one ends the command
/// (unless `--fresh`, which archives it).
pub fn load_state(cli: &Cli, path: &Path) -> Result<Option<checkpoint::State>, ExitCode> {
    match checkpoint::load(path) {
        Ok(s) => Ok(s),
        Err(e) if cli.fresh => {
            errln!("note: {e}; --fresh archives it");
            Ok(None)
        }
        Err(e) => Err(fail(
            Diagnostic::new(e).help("look at it, or pass --fresh to archive it and start over"),
            cli.output,
            exit::INVALID_INPUT,
        )),
    }
}

pub fn ssh_for(cli: &Cli) -> Ssh {
    Ssh::new(SshOptions {
        config_file: cli.ssh_config.clone(),
        accept_new_host_keys: cli.accept_new_host_keys,
        connect_timeout: cli.connect_timeout.0,
    })
}

/// A current-thread runtime, or the error that ends the command.
pub fn runtime(output: Output) -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            fail(
                Diagnostic::new(format!("cannot start the async runtime: {e}")),
                output,
                exit::RUN_FAILED,
            )
        })
}

/// What an earlier run means for this one, and the plan: where `--check`,
/// `--dry-run` and a run begin.
pub fn prepare_and_plan(cli: Cli) -> Result<(run::Prepared, crate::plan::Plan), ExitCode> {
    let p = run::prepare(cli)?;
    let plan = plan(&p.cli)?;
    Ok((p, plan))
}

/// The plan, or the problems reported and exit 2. Warnings about the
/// inputs are shown either way.
pub fn plan(cli: &Cli) -> Result<crate::plan::Plan, ExitCode> {
    let (plan, inventory, settings) = crate::load::load_all(cli).map_err(|diags| {
        report(&diags, cli.output);
        ExitCode::from(exit::INVALID_INPUT)
    })?;
    let mut warnings: Vec<Diagnostic> = settings.warnings.iter().map(Diagnostic::new).collect();
    warnings.extend(crate::load::inventory_warnings(&inventory, &plan));
    warn(&warnings, cli);
    Ok(plan)
}

/// Warnings: `warning: …` lines on stderr (unless --quiet), or JSON
/// `warning` lines.
pub fn warn(warnings: &[Diagnostic], cli: &Cli) {
    for w in warnings {
        match cli.output {
            Output::Json => print_json("warning", &json_of(w)),
            Output::Human if !cli.quiet => err!("warning: {}", w.render()),
            Output::Human => {}
        }
    }
}
