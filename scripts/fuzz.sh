#!/usr/bin/env bash
# Fuzzes deputy's parsers with cargo-fuzz (libFuzzer); the targets live in fuzz/.
#
#   scripts/fuzz.sh                    every target, a fixed number of runs each (what CI runs)
#   scripts/fuzz.sh TARGET SECONDS     one target for SECONDS (longer runs on demand)
#   scripts/fuzz.sh --list             the target names
#
# Toolchain: nightly with AddressSanitizer when rustup has a nightly toolchain; otherwise the
# default (stable) toolchain with RUSTC_BOOTSTRAP=1 and no sanitizer (libFuzzer's coverage
# guidance, panics, -malloc_limit_mb and -rss_limit_mb still apply).
# DEPUTY_FUZZ_TOOLCHAIN=stable or =nightly forces one. Either way the fuzzer really runs; a missing toolchain is an error.
#
# cargo-fuzz is installed (pinned) into <repo>/.peers/cargo-fuzz. New inputs the fuzzer finds
# go to fuzz/target/corpus/TARGET (not committed); the committed seeds are fuzz/corpus/TARGET.
# A crash, a failed property, a leak or an over-limit allocation fails the script and leaves
# the input in fuzz/artifacts/TARGET/ (replay it with `scripts/fuzz.sh TARGET 0 FILE`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_FUZZ_VERSION="0.13.2"
TARGETS=(act_chain policy_load vault_request otlp_json otlp_proto wat_headers gateway_event jwt_exp fallback_secret)

# CI iterations per target (about 10 s each under ASan on one core) and input size caps.
declare -A RUNS=(
    [act_chain]=200000 [policy_load]=20000 [vault_request]=100000 [otlp_json]=50000
    [otlp_proto]=100000 [wat_headers]=200000 [gateway_event]=150000 [jwt_exp]=200000
    [fallback_secret]=200000
)
# otlp_json and otlp_proto allow inputs past the audit pipeline's 16 KiB attribute limit.
declare -A MAX_LEN=(
    [act_chain]=4096 [policy_load]=16384 [vault_request]=8192 [otlp_json]=40000
    [otlp_proto]=40000 [wat_headers]=2048 [gateway_event]=8192 [jwt_exp]=4096
    [fallback_secret]=4096
)

if [ "${1:-}" = "--list" ]; then
    printf '%s\n' "${TARGETS[@]}"
    exit 0
fi

tools="$ROOT/.peers/cargo-fuzz"
mkdir -p "$ROOT/.peers"
[ -f "$ROOT/.peers/.gitignore" ] || printf '*\n' > "$ROOT/.peers/.gitignore"
if [ "$("$tools/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    echo "installing cargo-fuzz $CARGO_FUZZ_VERSION into $tools"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$tools"
fi
export PATH="$tools/bin:$PATH"

toolchain="${DEPUTY_FUZZ_TOOLCHAIN:-}"
if [ -z "$toolchain" ]; then
    if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        toolchain=nightly
    else
        toolchain=stable
    fi
fi
case "$toolchain" in
    nightly) cargo=(cargo +nightly) sanitizer=address ;;
    stable) cargo=(cargo) sanitizer=none; export RUSTC_BOOTSTRAP=1 ;;
    *) echo "DEPUTY_FUZZ_TOOLCHAIN must be nightly or stable, not $toolchain" >&2; exit 2 ;;
esac
# Separate target dirs: the two toolchains' artifacts would otherwise evict each other.
build=(-O --codegen-units 16 --sanitizer "$sanitizer" --target-dir "$ROOT/fuzz/target/$toolchain")
echo "fuzzing with the $toolchain toolchain, sanitizer: $sanitizer"

cd "$ROOT/fuzz"
"${cargo[@]}" fuzz build "${build[@]}"

run() {
    local target="$1"
    shift
    local work="$ROOT/fuzz/target/corpus/$target"
    mkdir -p "$work" "$ROOT/fuzz/artifacts/$target"
    # The ASan quarantine counts towards RSS, hence the generous -rss_limit_mb; no single
    # allocation may exceed 64 MiB, whatever the input (inputs are at most 40 kB).
    "${cargo[@]}" fuzz run "${build[@]}" "$target" "$work" "$ROOT/fuzz/corpus/$target" -- \
        -max_len="${MAX_LEN[$target]}" -rss_limit_mb=2048 -malloc_limit_mb=64 -timeout=10 \
        -print_final_stats=1 "$@"
}

if [ $# -eq 0 ]; then
    for target in "${TARGETS[@]}"; do
        printf '\n== fuzz %s (%s runs)\n' "$target" "${RUNS[$target]}"
        run "$target" -runs="${RUNS[$target]}"
    done
    printf '\nfuzz: %s targets passed\n' "${#TARGETS[@]}"
elif [ $# -ge 2 ] && [[ -n "${MAX_LEN[$1]:-}" ]]; then
    target="$1" seconds="$2"
    if [ $# -ge 3 ]; then
        # Replay one input (a crash artifact) instead of fuzzing.
        "${cargo[@]}" fuzz run "${build[@]}" "$target" "$3"
    else
        run "$target" -max_total_time="$seconds"
    fi
else
    echo "usage: scripts/fuzz.sh [TARGET SECONDS [INPUT]] | --list (targets: ${TARGETS[*]})" >&2
    exit 2
fi
