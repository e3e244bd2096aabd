//! `deputy policy …`: load, check and render decision tables.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use deputy_core::policy::{PolicyError, PolicyTable};

/// Where the decision table comes from, and which features are switched.
#[derive(Debug, Args)]
pub struct PolicySource {
    /// A policy TOML file; the built-in table when absent.
    #[arg(long, env = "DEPUTY_POLICY")]
    pub policy: Option<PathBuf>,
    /// Switch a declared feature: NAME (on) or NAME=off. Repeatable.
    #[arg(long = "feature", value_name = "NAME[=on|off]")]
    pub features: Vec<String>,
}

impl PolicySource {
    /// Loads the table and applies the feature switches.
    pub fn load(&self) -> Result<PolicyTable, String> {
        let mut table = match &self.policy {
            Some(path) => load_file(path).map_err(|e| e.to_string())?,
            None => PolicyTable::built_in().map_err(|e| e.to_string())?,
        };
        for switch in &self.features {
            let (name, on) = match switch.split_once('=') {
                None => (switch.as_str(), true),
                Some((name, "on" | "true")) => (name, true),
                Some((name, "off" | "false")) => (name, false),
                Some((_, other)) => {
                    return Err(format!(
                        "--feature {switch}: expected on or off, got {other:?}"
                    ));
                }
            };
            table = table.with_feature(name, on).map_err(|e| e.to_string())?;
        }
        Ok(table)
    }
}

/// Reads and validates a policy file; errors name the file.
pub fn load_file(path: &Path) -> Result<PolicyTable, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    PolicyTable::from_toml(&path.display().to_string(), &text).map_err(LoadError::Policy)
}

/// Why a policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is invalid.
    #[error("{0}")]
    Policy(PolicyError),
}

/// `deputy policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file: syntax, unknown keys, gaps, overlaps, rule consistency.
    Check {
        /// The policy TOML file.
        file: PathBuf,
    },
    /// Render a table as Markdown (decision matrices and rules).
    Show {
        #[command(flatten)]
        source: PolicySource,
    },
    /// Print the built-in table's TOML, to start a custom policy from.
    Default,
}

/// Runs a `deputy policy` subcommand.
pub fn run(command: &PolicyCommand) -> Result<ExitCode, String> {
    match command {
        PolicyCommand::Check { file } => match load_file(file) {
            Ok(table) => {
                let combos = 1usize << table.features().len();
                println!(
                    "{}: ok — {} rules cover {} integrations x 3 triggers x 2 operations exactly once under {} feature combination(s)",
                    file.display(),
                    table.rules().len(),
                    table.integrations().len(),
                    combos
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(e.to_string()),
        },
        PolicyCommand::Show { source } => {
            print!("{}", source.load()?.to_markdown());
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Default => {
            print!("{}", PolicyTable::built_in_source());
            Ok(ExitCode::SUCCESS)
        }
    }
}
