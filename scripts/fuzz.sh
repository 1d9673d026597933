#!/usr/bin/env bash
# Fuzzes the spec loader (fuzz/fuzz_targets/load_spec.rs) for a bounded time.
#
#   scripts/fuzz.sh [SECONDS] [LIBFUZZER_ARGS...]     (default: 60 seconds)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Uses the nightly toolchain when installed, else the
# stable one with RUSTC_BOOTSTRAP=1 (cargo fuzz needs unstable sanitizer flags). Seeds: the
# regression corpus tests/fuzz-corpus, the broken fixtures and the shipped specs; new inputs go to
# fuzz/corpus/load_spec, crashes to fuzz/artifacts/load_spec (both git-ignored). A crash makes the
# script fail: add the input to tests/fuzz-corpus once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
seconds="${1:-60}"
shift || true

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed: run \`cargo install cargo-fuzz\`" >&2
    exit 2
fi
toolchain=()
if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi

corpus="$root/fuzz/corpus/load_spec"
mkdir -p "$corpus"
exec cargo ${toolchain[@]+"${toolchain[@]}"} fuzz run load_spec \
    "$corpus" "$root/tests/fuzz-corpus" "$root/tests/broken-specs" "$root/specs" -- \
    -max_total_time="$seconds" \
    -dict="$root/fuzz/load_spec.dict" \
    -max_len=65536 \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 \
    "$@"
