#!/usr/bin/env bash
# The main job on a fresh machine: builds deputy and runs `deputy demo` on the local Token Vault
# (3LO with consent, cache hit, webhook M2M read, webhook write consent gate, on-behalf-of with an
# `act` chain, a policy denial, and the spans it exported). Extra arguments go to `deputy demo`
# (e.g. --interactive to do the consent yourself in a browser).
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true
cargo build -q --locked -p deputy-cli
exec target/debug/deputy demo "$@"
