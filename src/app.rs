//! Glue: files → model → plan → dry-run (or, later, a run). The only place
//! that reads files, looks at the clock and decides exit codes.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use indexmap::IndexMap;

use std::io::IsTerminal;

use std::path::PathBuf;

use crate::checkpoint;
use crate::cli::{Cli, Output};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::event::RunStatus;
use crate::host::ssh::{Ssh, SshOptions};
use crate::host::transport::Transport;
use crate::model::inventory::InventoryFile;
use crate::plan::{self, Plan};
use crate::report::{self, Reporter};
use crate::runner;
use crate::tasks::Playbook;
use crate::tasks::TaskKind;
use crate::tasks::maintain::MaintainArgs;
use crate::yaml::{Part, Source, YamlPath};

/// stdout may be a pipe that closes early (`zkrun --status | head`): that
/// ends zkrun quietly, as it would any Unix tool, instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => { crate::app::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}
macro_rules! out {
    ($($arg:tt)*) => { crate::app::write_out(format_args!($($arg)*)) };
}

pub fn write_out(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        // What a shell reports for a tool ended by SIGPIPE.
        std::process::exit(141);
    }
}

/// Exit codes, as documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const RUN_FAILED: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const INTERRUPTED: u8 = 3;
    pub const LOCKED: u8 = 4;
}

pub fn main(cli: Cli) -> ExitCode {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    if cli.status {
        return status(&cli);
    }
    // The checkpoint decides the run id: a resumed run renders with the
    // id it began with (backup paths hold it).
    let state_path = state_path(&cli);
    let previous = match checkpoint::load(&state_path) {
        Ok(s) => s,
        Err(e) if cli.fresh => {
            eprintln!("note: {e}; --fresh archives it");
            None
        }
        Err(e) => {
            eprintln!(
                "error: {e}\n  = help: look at it, or pass --fresh to archive it and start over"
            );
            return ExitCode::from(exit::INVALID_INPUT);
        }
    };
    if cli.show_state {
        return show_state(&state_path, previous.as_ref());
    }
    let unfinished = previous.filter(|s| !s.finished);
    let resume = match &unfinished {
        Some(s) if cli.resume => Some(s.clone()),
        Some(s) if !cli.fresh && !cli.dry_run && !cli.check => match ask_resume(s, &cli) {
            Some(true) => Some(s.clone()),
            Some(false) => None,
            None => return ExitCode::from(exit::INVALID_INPUT),
        },
        _ => None,
    };
    let mut cli = cli;
    if let Some(s) = &resume {
        cli.run_id = Some(s.run_id.clone());
    } else if cli.resume {
        eprintln!(
            "error: there is no unfinished run to resume ({})\n  = help: run without --resume to start one",
            state_path.display()
        );
        return ExitCode::from(exit::INVALID_INPUT);
    }
    let plan = match load_and_plan(&cli) {
        Ok(plan) => plan,
        Err(diags) => {
            report(&diags, cli.output);
            return ExitCode::from(exit::INVALID_INPUT);
        }
    };
    if cli.check {
        let steps = plan.steps().len();
        match cli.output {
            Output::Human => outln!(
                "ok: {} and {} are valid: {} hosts, {steps} steps planned",
                plan.playbook,
                plan.inventory,
                plan.hosts.len()
            ),
            Output::Json => print_json(
                "check",
                &serde_json::json!({"ok": true, "hosts": plan.hosts.len(), "steps": steps}),
            ),
        }
        return ExitCode::from(exit::OK);
    }
    if cli.dry_run {
        let live = (!cli.offline).then(|| look_live(&cli, &plan)).flatten();
        match cli.output {
            Output::Human => {
                out!("{}", plan::display::render(&plan));
                match &live {
                    Some(l) => out!("{}", crate::preview::render(l)),
                    None => outln!(
                        "\n(--offline: the leader, the order and the host checks are resolved at run time)"
                    ),
                }
                if let Some(s) = &unfinished {
                    let (done, running, failed) = s.counts();
                    outln!(
                        "\ncheckpoint: run {} is unfinished: {done} steps done, {running} running, {failed} failed \
                         ({}). --resume continues it; --fresh starts over.",
                        s.run_id,
                        state_path.display()
                    );
                }
            }
            Output::Json => {
                print_json("plan", &plan);
                if let Some(l) = &live {
                    print_json("live", l);
                }
            }
        }
        return ExitCode::from(exit::OK);
    }
    if let Some(s) = &resume
        && s.fingerprint != plan.fingerprint
        && !cli.force
    {
        eprintln!(
            "error: the playbook, inventory or variables changed since run {} began: {}\n  \
             = note: resuming a different plan could restart a node twice or skip one\n  \
             = help: put the inputs back as they were, or --resume --force to accept the change, or --fresh to start over",
            s.run_id,
            checkpoint::describe_changes(&s.planned, &checkpoint::step_digests(&plan)),
        );
        return ExitCode::from(exit::INVALID_INPUT);
    }
    execute(
        &cli,
        &plan,
        &state_path,
        resume,
        unfinished.is_some() && cli.fresh,
    )
}

/// The read-only look at the hosts for `--dry-run`.
fn look_live(cli: &Cli, plan: &Plan) -> Option<crate::preview::Live> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let ssh = ssh_for(cli);
    Some(runtime.block_on(crate::preview::look(plan, &ssh, cli.forks)))
}

/// Where this (playbook, inventory) keeps its state.
fn state_path(cli: &Cli) -> PathBuf {
    match (&cli.state, &cli.playbook) {
        (Some(p), _) => p.clone(),
        (None, Some(pb)) => checkpoint::default_path(Path::new(STATE_DIR), pb, &cli.inventory),
        (None, None) => PathBuf::from(STATE_DIR).join("status.json"),
    }
}

/// Default directory for state files, relative to where zkrun runs.
const STATE_DIR: &str = ".zkrun/state";

/// On a terminal, asks whether to resume; off one, refuses. None = stop.
fn ask_resume(s: &checkpoint::State, cli: &Cli) -> Option<bool> {
    let (done, running, _) = s.counts();
    let what = format!(
        "run {} of this playbook on this inventory is unfinished ({done} steps done, {running} running)",
        s.run_id
    );
    if !std::io::stdin().is_terminal() || cli.output == Output::Json {
        eprintln!(
            "error: {what}\n  = help: --resume continues it (hosts already done are not touched again); \
             --fresh archives its state and starts over"
        );
        return None;
    }
    eprint!("{what}.\nResume it? [y = resume, f = start fresh, anything else = quit] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).ok()?;
    match answer.trim() {
        "y" | "Y" | "yes" => Some(true),
        "f" | "F" | "fresh" => Some(false),
        _ => None,
    }
}

fn show_state(path: &Path, state: Option<&checkpoint::State>) -> ExitCode {
    let Some(s) = state else {
        outln!("no run recorded at {}", path.display());
        return ExitCode::from(exit::OK);
    };
    let (done, running, failed) = s.counts();
    outln!(
        "run {} ({})",
        s.run_id,
        match (s.finished, s.steps.is_empty()) {
            (true, true) => "ended before any step ran",
            (true, false) => "finished",
            (false, _) => "UNFINISHED",
        }
    );
    outln!("  state      {}", path.display());
    outln!("  playbook   {}", s.playbook);
    outln!("  inventory  {}", s.inventory);
    outln!("  steps      {done} done, {running} running, {failed} failed");
    outln!("  order      {}", s.order.join(", "));
    for d in &s.decisions {
        outln!("  decided    {d}");
    }
    for (k, v) in &s.facts {
        let first = v.lines().next().unwrap_or("");
        let more = v.lines().count().saturating_sub(1);
        let more = if more > 0 {
            format!(" (+{more} lines)")
        } else {
            String::new()
        };
        outln!("  recorded   {k}: {first}{more}");
    }
    for (k, r) in &s.steps {
        if r.phase != checkpoint::Phase::Done {
            outln!("  {k:<24} {:?}", r.phase);
        }
    }
    ExitCode::from(exit::OK)
}

/// The playbook behind `--status`: every host (or --limit), default service.
fn status_playbook(cli: &Cli) -> Source {
    let hosts = cli.limit.as_deref().unwrap_or("all");
    let text = format!(
        "name: ensemble status\nhosts: {}\ntasks:\n  - {{id: status, run: once, status: {{}}}}\n",
        serde_json::Value::String(hosts.to_string())
    );
    Source::new("<--status>", text)
}

fn ssh_for(cli: &Cli) -> Ssh {
    Ssh::new(SshOptions {
        config_file: cli.ssh_config.clone(),
        accept_new_host_keys: cli.accept_new_host_keys,
        connect_timeout: cli.connect_timeout.0,
    })
}

/// `--status`: one line per node and a verdict. Exit 0 when healthy.
fn status(cli: &Cli) -> ExitCode {
    let plan = match load_and_plan(cli) {
        Ok(plan) => plan,
        Err(diags) => {
            report(&diags, cli.output);
            return ExitCode::from(exit::INVALID_INPUT);
        }
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("error: cannot start the async runtime");
        return ExitCode::from(exit::RUN_FAILED);
    };
    let ssh = ssh_for(cli);
    let json = cli.output == Output::Json;
    let healthy = runtime.block_on(async {
        let connected =
            futures_util::future::join_all(plan.hosts.iter().map(|h| ssh.connect(h))).await;
        let mut reachable = Vec::new();
        let mut unreachable = Vec::new();
        for (h, r) in plan.hosts.iter().zip(connected) {
            match r {
                Ok(()) => reachable.push(h.clone()),
                Err(e) => {
                    let why = e.explain().0;
                    if !json {
                        eprintln!("{:<10} unreachable: {why}", h.name);
                    }
                    unreachable.push(serde_json::json!({"host": h.name, "error": why}));
                }
            }
        }
        let verdict = match reachable.first() {
            None => {
                let why = "no host could be reached".to_string();
                if json {
                    print_json(
                        "status",
                        &serde_json::json!({"nodes": [], "unreachable": unreachable, "healthy": false, "why": why}),
                    );
                }
                Err(why)
            }
            Some(first) => {
                let facts = Default::default();
                let x = crate::host::exec::Exec::read_only(
                    &ssh,
                    first,
                    &reachable,
                    "status",
                    std::time::Duration::from_secs(10),
                    &facts,
                );
                let view = crate::zk::probe::view(&x).await;
                let config = crate::preview::service_config(&plan);
                let s = crate::zk::probe::sessions(&x, &view, &config).await;
                let verdict = if reachable.len() < plan.hosts.len() {
                    Err("some hosts could not be reached".to_string())
                } else {
                    crate::zk::ensemble::healthy(&view)
                };
                if json {
                    print_json(
                        "status",
                        &serde_json::json!({
                            "nodes": view.to_json(),
                            "leader": view.leaders(),
                            "synced_followers": view.leader_mntr.synced_followers(),
                            "unreachable": unreachable,
                            "sessions": s.line,
                            "sessions_warning": s.warn,
                            "healthy": verdict.is_ok(),
                            "why": verdict.as_ref().err(),
                        }),
                    );
                } else {
                    out!("{}", view.table());
                    outln!("{}{}", if s.warn { "WARNING: " } else { "" }, s.line);
                }
                verdict
            }
        };
        ssh.close().await;
        verdict
    });
    if json {
        return ExitCode::from(if healthy.is_ok() {
            exit::OK
        } else {
            exit::RUN_FAILED
        });
    }
    match healthy {
        Ok(()) => {
            outln!("healthy: every voter serves, one leader, followers synced");
            ExitCode::from(exit::OK)
        }
        Err(why) => {
            outln!("NOT healthy: {why}");
            ExitCode::from(exit::RUN_FAILED)
        }
    }
}

/// Runs the plan over SSH with the front end that suits where output goes,
/// holding the lock and writing the checkpoint after every step.
fn execute(
    cli: &Cli,
    plan: &Plan,
    state_path: &Path,
    resume: Option<checkpoint::State>,
    archive_old: bool,
) -> ExitCode {
    if let Some(dir) = state_path.parent()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!(
            "error: cannot create the state directory {}: {e}; nothing was run\n  = help: --state FILE puts it elsewhere",
            dir.display()
        );
        return ExitCode::from(exit::RUN_FAILED);
    }
    let lock = match checkpoint::Lock::acquire(state_path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: {e}; nothing was run\n  = help: wait for that run to end, or stop it first"
            );
            return ExitCode::from(exit::LOCKED);
        }
    };
    if let Some(prev) = &lock.took_over {
        eprintln!("note: taking over the lock left by {prev}, which is no longer running");
    }
    if archive_old {
        match checkpoint::archive(state_path) {
            Ok(to) => eprintln!(
                "note: the unfinished run's state was archived to {}",
                to.display()
            ),
            Err(e) => {
                eprintln!("error: {e}; nothing was run");
                return ExitCode::from(exit::RUN_FAILED);
            }
        }
    }
    let resume_input = resume.as_ref().map(|s| runner::Resume {
        finished: s.finished_steps(),
        order: s.order.clone(),
        facts: s.host_facts(),
    });
    let state = resume.unwrap_or_else(|| checkpoint::State::new(plan));
    if let Err(e) = checkpoint::save(state_path, &state) {
        eprintln!("error: {e}; nothing was run");
        return ExitCode::from(exit::RUN_FAILED);
    }
    let reporter: Box<dyn Reporter> = match cli.output {
        Output::Json => Box::new(report::json::Json),
        Output::Human if std::io::stdout().is_terminal() && !cli.quiet => {
            let note = match plan.rolling() {
                Some(r) if r.leader_last => "leader last",
                _ => "",
            };
            Box::new(report::progress::Progress::new(note))
        }
        Output::Human => Box::new(report::plain::Plain {
            quiet: cli.quiet,
            roll: Default::default(),
        }),
    };
    let ssh = ssh_for(cli);
    let halt = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = runner::RunOptions {
        forks: cli.forks,
        log_dir: cli.log_dir.join(&plan.run_id),
        verbose: cli.verbose,
        halt: halt.clone(),
        resume: resume_input,
        recover: !cli.no_recover,
    };
    let state = std::cell::RefCell::new(state);
    let save_error: std::cell::RefCell<Option<String>> = Default::default();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::RUN_FAILED);
        }
    };
    // Every event reaches the front end and the checkpoint; a checkpoint
    // that cannot be written stops the run before its next step.
    let emit = |e: crate::event::Event| {
        reporter.event(&e);
        let mut st = state.borrow_mut();
        if st.record(&e)
            && let Err(err) = checkpoint::save(state_path, &st)
        {
            halt.store(true, std::sync::atomic::Ordering::SeqCst);
            save_error.borrow_mut().get_or_insert(err);
        }
    };
    let abort = async {
        let first = interrupted().await;
        halt.store(true, std::sync::atomic::Ordering::SeqCst);
        eprintln!(
            "\nzkrun: {first}: finishing the current step, then stopping; a node that is out of service is \
             brought back first (its start and verify still run). Ctrl-C again stops at once and may leave it down"
        );
        interrupted().await
    };
    let summary = runtime.block_on(async {
        tokio::select! {
            s = runner::run(plan, &ssh, &crate::zk::order::LeaderLast, &options, &emit) => Some(s),
            signal = abort => {
                // Dropping the run closes the running command's channel;
                // the host's `timeout` wrapper bounds it in any case. The
                // checkpoint marks the step as running.
                ssh.close().await;
                eprintln!(
                    "\nzkrun: {signal}: stopped at once. The command that was running may go on on its \
                     host until its timeout. Logs: {}",
                    options.log_dir.display()
                );
                None
            }
        }
    });
    drop(lock);
    if let Some(err) = save_error.borrow().as_ref() {
        eprintln!(
            "error: {err}\n  = help: the run stopped before its next step; free space or fix permissions, then resume"
        );
    }
    let status = summary.map_or(RunStatus::Interrupted, |s| s.status);
    if status == RunStatus::Interrupted {
        eprintln!("to resume: {}", resume_command(cli));
    } else if status == RunStatus::Failed && !state.borrow().finished {
        eprintln!("to resume once the cause is fixed: {}", resume_command(cli));
    }
    match status {
        RunStatus::Ok => ExitCode::from(exit::OK),
        RunStatus::Failed => ExitCode::from(exit::RUN_FAILED),
        RunStatus::Interrupted => ExitCode::from(exit::INTERRUPTED),
    }
}

/// The exact command that continues this run.
fn resume_command(cli: &Cli) -> String {
    let q = |p: &Path| crate::render::shell_quote(&p.display().to_string());
    let mut words = vec!["zkrun".to_string()];
    if let Some(pb) = &cli.playbook {
        words.push(q(pb));
    }
    words.push("-i".into());
    words.push(q(&cli.inventory));
    for e in &cli.extra_vars {
        words.push("-e".into());
        words.push(crate::render::shell_quote(e));
    }
    if let Some(l) = &cli.limit {
        words.push("--limit".into());
        words.push(crate::render::shell_quote(l));
    }
    if let Some(c) = &cli.ssh_config {
        words.push("--ssh-config".into());
        words.push(q(c));
    }
    if let Some(s) = &cli.state {
        words.push("--state".into());
        words.push(q(s));
    }
    words.push("--resume".into());
    words.join(" ")
}

/// Resolves on the first SIGINT or SIGTERM, naming it.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted (SIGINT)",
        _ = term.recv() => "terminated (SIGTERM)",
    }
}

fn print_json<T: serde::Serialize>(kind: &str, data: &T) {
    let line = serde_json::json!({"type": kind, "data": data});
    outln!("{line}");
}

fn report(diags: &Diagnostics, output: Output) {
    if output == Output::Json {
        for d in &diags.0 {
            print_json(
                "error",
                &serde_json::json!({
                    "message": d.message,
                    "location": d.location(),
                    "label": d.snippet.as_ref().and_then(|s| s.label.clone()),
                    "notes": d.notes,
                    "help": d.help,
                }),
            );
        }
    }
    eprint!("{}", diags.render(20));
}

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
        allow_quorum_loss: cli.allow_quorum_loss,
    })
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
