use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(message) = zkrun::cli::ansible_only(&args) {
        eprintln!("{message}");
        return ExitCode::from(zkrun::app::exit::INVALID_INPUT);
    }
    zkrun::app::main(zkrun::cli::Cli::parse_from(args))
}
