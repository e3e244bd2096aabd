//! `phase0-m2m`: see the crate README for how to run it against AWS or a local vault.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    phase0::run(phase0::SpikeFlow::M2m, phase0::args::Args::parse()).await
}
