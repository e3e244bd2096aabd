#!/usr/bin/env bash
# The main job on a fresh machine. Until the resolver and `deputy demo` land, it walks
# `deputy explain` through every row of the RFC's decision tree on the built-in table.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --locked -p deputy-cli
deputy=target/debug/deputy
rows=(
    "github interactive write"
    "linear headless write"
    "aws-native interactive read"
    "slack interactive read"
    "jira webhook read"
    "jira webhook write"
    "aws-native webhook write"
)
for row in "${rows[@]}"; do
    read -r integration trigger op <<<"$row"
    echo "------------------------------------------------------------------------"
    "$deputy" explain --integration "$integration" --trigger "$trigger" --op "$op" | sed -n '1,/^trail/p' | sed '$d'
done
echo "------------------------------------------------------------------------"
echo "with the github-app feature:"
"$deputy" explain --integration github --trigger interactive --op write --feature github-app | sed -n '1,/^trail/p' | sed '$d'
