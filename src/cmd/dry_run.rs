//! `--dry-run`: the plan as text (or JSON), then a read-only look at the
//! live hosts (`--offline` skips it). Changes nothing.

use std::process::ExitCode;

use super::exit;
use super::out::print_json;
use crate::cli::{Cli, Output};
use crate::plan::{self, Plan};

pub fn run(cli: Cli) -> ExitCode {
    let (p, plan) = match super::prepare_and_plan(cli) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let cli = &p.cli;
    let live = (!cli.offline).then(|| look_live(cli, &plan)).flatten();
    match cli.output {
        Output::Human => {
            let resuming = cli.resume && p.unfinished.is_some();
            out!("{}", plan::display::render(&plan, resuming));
            match &live {
                Some(l) => out!("{}", crate::preview::render(l)),
                None => outln!(
                    "\n(--offline: the leader, the order and the host checks are resolved at run time)"
                ),
            }
            if let Some(s) = &p.unfinished {
                let (done, running, failed) = s.counts();
                outln!(
                    "\ncheckpoint: run {} is unfinished: {done} steps done, {running} running, {failed} failed \
                     ({}). --resume continues it; --fresh starts over.",
                    s.run_id,
                    p.state_path.display()
                );
                // What a resume does differs from the plan above: finished
                // steps are not run again and the order decided is kept.
                if !s.order.is_empty() {
                    outln!("  hosts: {}", s.progress_line());
                    outln!(
                        "  a resume starts from the order {} (the leader is still moved last)",
                        s.order.join(", ")
                    );
                }
            }
        }
        Output::Json => {
            print_json("plan", &plan);
            if let Some(l) = &live {
                print_json("live", l);
            }
        }
    }
    // A preview that finds the run would be refused (a host unreachable, a
    // step's problem) says so in its exit code too, for scripts that gate
    // on it, as `ansible-playbook --check` does.
    // With --resume, steps the unfinished run finished are not run again:
    // their problems do not refuse it.
    let finished = match (&p.unfinished, cli.resume) {
        (Some(s), true) => s.finished_steps(),
        _ => Default::default(),
    };
    let refused = live.as_ref().is_some_and(|l| {
        !l.unreachable.is_empty()
            || l.steps.iter().any(|s| {
                s.problem.is_some() && !finished.contains(&crate::checkpoint::key(&s.host, &s.task))
            })
    });
    ExitCode::from(if refused { exit::RUN_FAILED } else { exit::OK })
}

/// The read-only look at the hosts for `--dry-run`.
fn look_live(cli: &Cli, plan: &Plan) -> Option<crate::preview::Live> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let ssh = super::ssh_for(cli);
    Some(runtime.block_on(crate::preview::look(plan, &ssh, cli.forks())))
}
