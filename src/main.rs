use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    zkrun::app::main(zkrun::cli::Cli::parse())
}
