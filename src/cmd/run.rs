//! The run itself (and what every planning command shares with it): the
//! state of an earlier run decides whether this one resumes it; then the
//! plan runs over SSH with the front end that suits where output goes,
//! holding the lock and writing the checkpoint after every step.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::out::print_json;
use super::{exit, fail, ssh_for};
use crate::checkpoint;
use crate::cli::{Cli, Output};
use crate::diagnostic::Diagnostic;
use crate::event::RunStatus;
use crate::host::transport::Transport;
use crate::plan::Plan;
use crate::report::{self, Reporter};
use crate::runner;

/// What the state of an earlier run means for this one.
pub struct Prepared {
    /// The flags, with the run id of the run being resumed.
    pub cli: Cli,
    pub state_path: PathBuf,
    /// An unfinished earlier run, resumed or not.
    pub unfinished: Option<checkpoint::State>,
    /// The run this one continues.
    pub resume: Option<checkpoint::State>,
    /// A run's lock, taken before its state was read (None for previews).
    pub lock: Option<checkpoint::Lock>,
}

/// Loads the state of the last run and decides, with `--resume`/`--fresh`
/// or by asking on a terminal, whether this run continues it. The
/// checkpoint decides the run id: a resumed run renders with the id it
/// began with (backup paths hold it).
pub fn prepare(cli: Cli) -> Result<Prepared, ExitCode> {
    let state_path = super::state_path(&cli);
    // A run locks first, then reads the state.
    let lock = if cli.command() == crate::cli::Command::Run {
        Some(lock_state(&cli, &state_path)?)
    } else {
        None
    };
    let previous = super::load_state(&cli, &state_path)?;
    // A state of another playbook or inventory (a stray --state) is
    // never adopted: say whose it is.
    if let (Some(s), Some(pb)) = (&previous, &cli.playbook)
        && !cli.fresh
    {
        let same = |a: &str, b: &str| {
            let canon = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| p.into());
            canon(a) == canon(b)
        };
        let inventory = cli.inventory.join(", ");
        let pb_ok = same(&s.playbook, &pb.display().to_string());
        let inv_ok = cli.inventory.is_empty()
            || s.inventory == inventory
            || (cli.inventory.len() == 1 && same(&s.inventory, &cli.inventory[0]));
        if !(pb_ok && inv_ok) {
            return Err(fail(
                Diagnostic::new(format!(
                    "the state file {} belongs to run {} of {} on {}, not to {} on {}",
                    state_path.display(),
                    s.run_id,
                    s.playbook,
                    s.inventory,
                    pb.display(),
                    if inventory.is_empty() { "ansible.cfg's inventory" } else { &inventory }
                ))
                .help("give this run its own --state, or --fresh to archive that state and start over"),
                cli.output,
                exit::INVALID_INPUT,
            ));
        }
    }
    let unfinished = previous.filter(|s| !s.finished);
    let mut answered_fresh = false;
    let resume = match &unfinished {
        Some(s) if cli.resume => Some(s.clone()),
        Some(s) if !cli.fresh && !cli.dry_run && !cli.check => match ask_resume(s, &cli) {
            Some(true) => Some(s.clone()),
            Some(false) => {
                answered_fresh = true;
                None
            }
            None => return Err(ExitCode::from(exit::INVALID_INPUT)),
        },
        _ => None,
    };
    let mut cli = cli;
    // "f" at the prompt is --fresh: the unfinished run's state is archived
    // beside it, as the README promises, not overwritten.
    cli.fresh |= answered_fresh;
    // The fingerprint's key: the run's own when there is one to compare
    // with (resumed, or previewed against), else a new random one.
    cli.fingerprint_key = Some(match resume.as_ref().or(unfinished.as_ref()) {
        Some(s) => s.fingerprint_key.clone(),
        None => random_key(),
    })
    .filter(|k| !k.is_empty());
    if let Some(s) = &resume {
        cli.run_id = Some(s.run_id.clone());
    } else if cli.resume {
        return Err(fail(
            Diagnostic::new(format!(
                "there is no unfinished run to resume ({})",
                state_path.display()
            ))
            .help("run without --resume to start one"),
            cli.output,
            exit::INVALID_INPUT,
        ));
    }
    Ok(Prepared {
        cli,
        state_path,
        unfinished,
        resume,
        lock,
    })
}

/// The state's directory (0700) and the run's lock, taken before the state
/// is read: another run cannot change it between the read and the run.
fn lock_state(cli: &Cli, state_path: &Path) -> Result<checkpoint::Lock, ExitCode> {
    // The state names hosts, facts and failures: only its owner reads it.
    if let Some(dir) = state_path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
        }
    {
        return Err(fail(
            Diagnostic::new(format!(
                "cannot create the state directory {}: {e}; nothing was run",
                dir.display()
            ))
            .help("--state FILE puts it elsewhere"),
            cli.output,
            exit::RUN_FAILED,
        ));
    }
    let lock = checkpoint::Lock::acquire(state_path).map_err(|e| {
        fail(
            Diagnostic::new(format!("{e}; nothing was run"))
                .help("wait for that run to end, or stop it first"),
            cli.output,
            exit::LOCKED,
        )
    })?;
    if let Some(prev) = &lock.took_over {
        errln!("note: taking over the lock left by {prev}, which is no longer running");
    }
    Ok(lock)
}

/// `--report FILE`: the roll timeline as a page (`.html`) or its data
/// (`.json`), written after the run however it ended.
fn write_report(path: &Path, t: &report::timeline::Timeline, output: Output) {
    let json = path.extension().is_some_and(|e| e == "json");
    let text = if json {
        serde_json::to_string_pretty(t).expect("plain data serializes")
    } else {
        report::timeline::html(t)
    };
    let text = crate::scrub::text(&text).into_owned();
    match std::fs::write(path, text) {
        Ok(()) => errln!("roll timeline: {}", path.display()),
        Err(e) => {
            let d = Diagnostic::new(format!(
                "cannot write the roll timeline {}: {e}",
                path.display()
            ))
            .help("the run itself is unaffected; its state and logs are written");
            if output == Output::Json {
                print_json("error", &super::json_of(&d));
            }
            err!("{}", d.render());
        }
    }
}

/// 32 random bytes from the kernel, as hex.
fn random_key() -> String {
    use std::io::Read;
    let mut b = [0u8; 32];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if ok.is_err() {
        // No /dev/urandom: the time and pid still make a key no printed plan reveals.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b[..16].copy_from_slice(&t.to_le_bytes());
        b[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `zkrun PLAYBOOK -i INVENTORY`: plans, then runs.
pub fn run(cli: Cli) -> ExitCode {
    let (mut p, plan) = match super::prepare_and_plan(cli) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let Some(lock) = p.lock.take() else {
        return ExitCode::from(exit::RUN_FAILED);
    };
    let cli = &p.cli;
    if let Some(s) = &p.resume
        && s.fingerprint != plan.fingerprint
        && !cli.force
    {
        return fail(
            Diagnostic::new(format!(
                "the playbook, inventory or variables changed since run {} began: {}",
                s.run_id,
                checkpoint::describe_changes(&s.planned, &checkpoint::step_digests(&plan)),
            ))
            .note("resuming a different plan could restart a node twice or skip one")
            .help("put the inputs back as they were, or --resume --force to accept the change, or --fresh to start over"),
            cli.output,
            exit::INVALID_INPUT,
        );
    }
    // A resumed order names the hosts it will restart: none may be
    // unknown to this plan.
    if let Some(s) = &p.resume
        && let Some(stranger) = s
            .order
            .iter()
            .find(|h| !plan.hosts.iter().any(|ph| &ph.name == *h))
    {
        return fail(
            Diagnostic::new(format!(
                "the state of run {} orders host `{stranger}`, which is not a host of this play",
                s.run_id
            ))
            .help("resume with the inventory and --limit the run began with, or --fresh to start over"),
            cli.output,
            exit::INVALID_INPUT,
        );
    }
    let archive_old = p.unfinished.is_some() && cli.fresh;
    execute(
        cli,
        &plan,
        &p.state_path,
        p.resume.clone(),
        archive_old,
        lock,
    )
}

/// On a terminal, asks whether to resume; off one, refuses. None = stop.
fn ask_resume(s: &checkpoint::State, cli: &Cli) -> Option<bool> {
    let (done, running, _) = s.counts();
    let what = format!(
        "run {} of this playbook on this inventory is unfinished ({done} steps done, {running} running; {})",
        s.run_id,
        s.progress_line()
    );
    if !std::io::stdin().is_terminal() || cli.output == Output::Json {
        fail(
            Diagnostic::new(what).help(format!(
                "to continue it (hosts already done are not touched again): {}; \
                 or add --fresh to archive its state and start over",
                resume_command(cli)
            )),
            cli.output,
            exit::INVALID_INPUT,
        );
        return None;
    }
    err!("{what}.\nResume it? [y = resume, f = start fresh, anything else = quit] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).ok()?;
    match answer.trim() {
        "y" | "Y" | "yes" => Some(true),
        "f" | "F" | "fresh" => Some(false),
        _ => None,
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
    lock: checkpoint::Lock,
) -> ExitCode {
    if archive_old {
        match checkpoint::archive(state_path) {
            Ok(to) => errln!(
                "note: the unfinished run's state was archived to {}",
                to.display()
            ),
            Err(e) => {
                return fail(
                    Diagnostic::new(format!("{e}; nothing was run")),
                    cli.output,
                    exit::RUN_FAILED,
                );
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
        return fail(
            Diagnostic::new(format!("{e}; nothing was run")),
            cli.output,
            exit::RUN_FAILED,
        );
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
        forks: cli.forks(),
        log_dir: cli.log_dir.join(&plan.run_id),
        verbose: cli.verbose > 0,
        halt: halt.clone(),
        resume: resume_input,
        recover: !cli.no_recover,
    };
    let state = std::cell::RefCell::new(state);
    let save_error: std::cell::RefCell<Option<String>> = Default::default();
    let runtime = match super::runtime(cli.output) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // Every event reaches the checkpoint's journal, which the runner has
    // made durable before each step that changes a host and after every
    // step (group commit: one fdatasync for every host waiting meanwhile),
    // and then the front ends; a journal that cannot be written stops the
    // run before its next step. The state is saved whole at the end.
    let journal = match checkpoint::Journal::create(state_path, &plan.run_id) {
        Ok(j) => j,
        Err(e) => {
            return fail(
                Diagnostic::new(format!("{e}; nothing was run")),
                cli.output,
                exit::RUN_FAILED,
            );
        }
    };
    let timeline = report::timeline::Recorder::default();
    let roll = report::roll::RollReport::default();
    let deliver = |e: &crate::event::Event| {
        reporter.event(e);
        // The roll report is kept in the run's log directory too: printed
        // once, it is what an operator looks for afterwards.
        roll.event(e);
        if cli.report.is_some() {
            timeline.event(e);
        }
    };
    // Acknowledged after it is on disk: an event the runner waits on the
    // journal for (a changing step's start, any step's end, a new order, a
    // turn started over) reaches the front ends once the journal holds it,
    // and the events after it wait in line. What zkrun has shown, its state has: a
    // consumer that saw `step_finished` and killed zkrun finds the step
    // done on resume.
    let held: std::cell::RefCell<std::collections::VecDeque<(u64, crate::event::Event)>> =
        Default::default();
    let flush = |all: bool| loop {
        let next = {
            let mut q = held.borrow_mut();
            match q.front() {
                Some((batch, _)) if all || *batch <= journal.durable_batches() => q.pop_front(),
                _ => None,
            }
        };
        match next {
            Some((_, e)) => deliver(&e),
            None => break,
        }
    };
    let emit = |mut e: crate::event::Event| {
        e.scrub();
        let batch = journal.queue(&state.borrow_mut().record(&e));
        let batch = if runner::waits_for_disk(&e) { batch } else { 0 };
        let mut q = held.borrow_mut();
        if q.is_empty() && batch <= journal.durable_batches() {
            drop(q);
            deliver(&e);
        } else {
            q.push_back((batch, e));
        }
    };
    let durable = Checkpoint {
        journal: &journal,
        halt: &halt,
        error: &save_error,
        written: &|| flush(false),
    };
    let abort = async {
        let first = interrupted().await;
        halt.store(true, std::sync::atomic::Ordering::SeqCst);
        errln!(
            "\nzkrun: {first}: finishing the current step, then stopping; a node that is out of service is \
             brought back first (its start and verify still run). Ctrl-C again stops at once and may leave it down"
        );
        interrupted().await
    };
    let summary = runtime.block_on(async {
        tokio::select! {
            s = runner::run(plan, &ssh, &crate::zk::order::LeaderLast, &options, &emit, &durable) => Some(s),
            signal = abort => {
                // The command that was running goes on, with a watcher on
                // its host for its deadline; the checkpoint marks the step
                // as running.
                let left = ssh.leave_deadlines(&plan.hosts).await;
                ssh.close().await;
                errln!("\nzkrun: {signal}: stopped at once.");
                if !left.is_empty() {
                    errln!(
                        "Commands that were running go on on their hosts:\n  {}",
                        left.join("\n  ")
                    );
                }
                let out = state.borrow().maybe_out_of_service(plan);
                if !out.is_empty() {
                    errln!(
                        "Possibly out of service (taken out, not yet verified back): {}. \
                         The resume below brings {} back first.",
                        out.join(", "),
                        if out.len() == 1 { "it" } else { "them" }
                    );
                }
                errln!("Logs: {}", options.log_dir.display());
                None
            }
        }
    });
    // The state whole, the journal folded in; if it cannot be written, the
    // journal stays and a resume replays it. Then what was still held is
    // shown (the end of the run among it).
    match checkpoint::save(state_path, &state.borrow()) {
        Ok(()) => journal.remove(),
        Err(err) => {
            save_error.borrow_mut().get_or_insert(err);
        }
    }
    flush(true);
    drop(lock);
    let rendered = roll.render();
    if !rendered.is_empty() {
        // Appended: a resume keeps the run's log directory, and each
        // invocation reports the nodes it restarted. Best effort: the log
        // directory exists once a step has run.
        use std::io::Write as _;
        let path = options.log_dir.join("roll-report.txt");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| {
                let resumed = if cli.resume { " (resumed)" } else { "" };
                write!(
                    f,
                    "== {}{resumed}\n{rendered}",
                    crate::clock::utc(crate::clock::now())
                )
            });
        if let Err(e) = written {
            errln!(
                "zkrun: could not keep the roll report in {}: {e}",
                path.display()
            );
        }
    }
    if let Some(path) = &cli.report {
        write_report(path, &timeline.timeline(&rendered), cli.output);
    }
    if let Some(err) = save_error.borrow().as_ref() {
        let d = Diagnostic::new(err.clone()).help(
            "the run stopped before its next step; free space or fix permissions, then resume",
        );
        if cli.output == Output::Json {
            print_json("error", &super::json_of(&d));
        }
        err!("{}", d.render());
    }
    let status = summary.map_or(RunStatus::Interrupted, |s| s.status);
    if status == RunStatus::Interrupted {
        errln!("to resume: {}", resume_command(cli));
    } else if status == RunStatus::Failed && !state.borrow().finished {
        errln!("to resume once the cause is fixed: {}", resume_command(cli));
    }
    match status {
        RunStatus::Ok => ExitCode::from(exit::OK),
        RunStatus::Failed => ExitCode::from(exit::RUN_FAILED),
        RunStatus::Interrupted => ExitCode::from(exit::INTERRUPTED),
    }
}

/// The run's checkpoint as the runner sees it: a journal that cannot be
/// written halts the run and is reported at its end.
struct Checkpoint<'a> {
    journal: &'a checkpoint::Journal,
    halt: &'a std::sync::atomic::AtomicBool,
    error: &'a std::cell::RefCell<Option<String>>,
    /// Hands the events now on disk to the front ends.
    written: &'a dyn Fn(),
}

impl runner::Durable for Checkpoint<'_> {
    fn durable(&self) -> futures_util::future::LocalBoxFuture<'_, Result<(), String>> {
        Box::pin(async {
            let r = self.journal.durable().await;
            match &r {
                Ok(()) => (self.written)(),
                Err(err) => {
                    self.halt.store(true, std::sync::atomic::Ordering::SeqCst);
                    self.error.borrow_mut().get_or_insert(err.clone());
                }
            }
            r
        })
    }
}

/// The exact command that continues this run.
fn resume_command(cli: &Cli) -> String {
    let q = |p: &Path| crate::render::shell_quote(&p.display().to_string());
    let mut words = vec!["zkrun".to_string()];
    if let Some(pb) = &cli.playbook {
        words.push(q(pb));
    }
    for i in &cli.inventory {
        words.push("-i".into());
        words.push(crate::render::shell_quote(i));
    }
    let flags: [(&str, Option<&String>); 6] = [
        ("-u", cli.remote_user.as_ref()),
        ("--private-key", cli.private_key.as_ref()),
        ("--become-user", cli.become_user.as_ref()),
        ("--become-method", cli.become_method.as_ref()),
        ("--ssh-common-args", cli.ssh_common_args.as_ref()),
        ("--ssh-extra-args", cli.ssh_extra_args.as_ref()),
    ];
    for (flag, v) in flags {
        if let Some(v) = v {
            words.push(flag.into());
            words.push(crate::render::shell_quote(v));
        }
    }
    for (flag, on) in [
        ("-b", cli.r#become),
        ("-K", cli.ask_become_pass),
        ("-J", cli.ask_vault_pass),
    ] {
        if on {
            words.push(flag.into());
        }
    }
    if let Some(f) = &cli.become_password_file {
        words.push("--become-password-file".into());
        words.push(q(f));
    }
    for f in &cli.vault_password_file {
        words.push("--vault-password-file".into());
        words.push(crate::render::shell_quote(f));
    }
    for v in &cli.vault_id {
        words.push("--vault-id".into());
        words.push(crate::render::shell_quote(v));
    }
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
    // A closed terminal or a dropped bastion session (SIGHUP) stops the
    // run as SIGTERM does, not in the middle of a step.
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted (SIGINT)",
        _ = term.recv() => "terminated (SIGTERM)",
        _ = hup.recv() => "hung up (SIGHUP)",
    }
}
