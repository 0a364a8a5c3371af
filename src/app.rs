//! The entry: picks the command the flags ask for and runs it. Each command
//! lives in `cmd/`; the loading stage in `load`. Exit codes are in
//! `cmd::exit`, errors are shown by `cmd::fail` and `cmd::report`.

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::cmd;

pub use crate::cmd::exit;
pub use crate::load::load_and_plan;

pub fn main(cli: Cli) -> ExitCode {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    match cli.command() {
        Command::Help => cmd::help::run(cli),
        Command::ListHosts => cmd::list::hosts(cli),
        Command::ListInventory => cmd::list::inventory(cli),
        Command::Status => cmd::status::run(cli),
        Command::ShowState => cmd::show_state::run(cli),
        Command::Check => cmd::check::run(cli),
        Command::DryRun => cmd::dry_run::run(cli),
        Command::Run => cmd::run::run(cli),
    }
}
