//! `phase0-user-federation`: see the crate README for how to run it against AWS or a local vault.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    phase0::run(
        phase0::SpikeFlow::UserFederation,
        phase0::args::Args::parse(),
    )
    .await
}
