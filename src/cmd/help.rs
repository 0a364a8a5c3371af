//! `--completions SHELL` and `--man`: generated from the flags themselves
//! (clap_complete, clap_mangen), so they never drift from `--help`.

use std::process::ExitCode;

use clap::CommandFactory;

use super::exit;
use crate::cli::Cli;

pub fn run(cli: Cli) -> ExitCode {
    let mut command = <Cli as CommandFactory>::command();
    let mut bytes: Vec<u8> = Vec::new();
    if let Some(shell) = cli.completions {
        clap_complete::generate(shell, &mut command, "zkrun", &mut bytes);
    } else if clap_mangen::Man::new(command).render(&mut bytes).is_err() {
        return ExitCode::from(exit::RUN_FAILED);
    }
    out!("{}", String::from_utf8_lossy(&bytes));
    ExitCode::from(exit::OK)
}
