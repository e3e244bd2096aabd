#!/usr/bin/env bash
# The Python path once, end to end (the README's "From Python"): builds the wheel with maturin,
# installs it into a fresh venv, starts `deputy vault serve` on 127.0.0.1 and runs
# crates/deputy-python/examples/quickstart.py against it. Needs scripts/peers/install.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
PORT="${DEPUTY_EXAMPLE_PORT:-8787}"

.peers/pydeputy/bin/maturin build --release --locked -m crates/deputy-python/Cargo.toml --out "$TARGET/example-wheels"
python3 -m venv --clear "$TARGET/example-venv"
"$TARGET/example-venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall "$TARGET"/example-wheels/deputy-*.whl
cargo build --locked -q -p deputy-cli --bin deputy
"$TARGET/debug/deputy" vault serve --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
VAULT=$!
trap 'kill $VAULT 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done
DEPUTY_VAULT_ENDPOINT="http://127.0.0.1:$PORT" "$TARGET/example-venv/bin/python" crates/deputy-python/examples/quickstart.py
