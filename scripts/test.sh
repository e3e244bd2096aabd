#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs the real third-party peers the
# tests start (scripts/peers/install.sh), then format, lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION="${AWS_REGION:-us-east-1}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

step "installing test peers (Chromium, chromedriver, Node 22, oidc-provider)"
bash scripts/peers/install.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked --no-fail-fast

step "python package (maturin wheel into a fresh venv, pytest against deputy vault serve)"
bash scripts/test-python.sh

step "fuzz (every target in fuzz/, a fixed number of runs each; see docs/security.md)"
bash scripts/fuzz.sh
