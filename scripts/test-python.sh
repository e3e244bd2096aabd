#!/usr/bin/env bash
# The Python package's proof: builds the `deputy` CLI (the tests start `deputy vault serve`),
# builds the abi3 wheel with maturin, installs it from the .whl file into a fresh venv (not an
# editable install) with the pinned test dependencies, and runs the pytest suite.
# Needs scripts/peers/install.sh (install_python_deputy_tools) first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
TOOLS="$ROOT/.peers/pydeputy"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WHEELS="$TARGET/deputy-wheels"
VENV="$TARGET/deputy-pytest-venv"

cargo build --locked -p deputy-cli --bin deputy
rm -rf "$WHEELS"
"$TOOLS/bin/maturin" build --locked -m crates/deputy-python/Cargo.toml --out "$WHEELS"
python3 -m venv --clear "$VENV"
PINS="$(cat "$TOOLS/.pins")"
# shellcheck disable=SC2086
PIP_CACHE_DIR="$ROOT/.peers/pip-cache" "$VENV/bin/pip" install --quiet --disable-pip-version-check \
  $(printf '%s\n' $PINS | grep -v '^maturin==') "$WHEELS"/deputy-*.whl
cd crates/deputy-python/tests
DEPUTY_BIN="$TARGET/debug/deputy" "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
