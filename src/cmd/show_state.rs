//! `--show-state`: where the last run of this playbook and inventory stands.

use std::path::Path;
use std::process::ExitCode;

use super::exit;
use crate::checkpoint;
use crate::cli::Cli;

pub fn run(cli: Cli) -> ExitCode {
    let path = super::state_path(&cli);
    match super::load_state(&cli, &path) {
        Ok(state) => show_state(&path, state.as_ref()),
        Err(code) => code,
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
    if !s.finished && !s.order.is_empty() {
        outln!("  hosts      {}", s.progress_line());
    }
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
