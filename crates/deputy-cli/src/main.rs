//! The `deputy` command.

mod explain;
mod policy;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// deputy: per-task, per-user delegated credentials for agent code.
#[derive(Debug, Parser)]
#[command(name = "deputy", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show which flow the decision table picks for a request, and why.
    Explain(explain::ExplainArgs),
    /// Check, show or print decision tables.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain(args) => explain::run(&args),
        Command::Policy(command) => policy::run(&command),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("deputy: {message}");
            ExitCode::FAILURE
        }
    }
}
