#!/usr/bin/env bash
# Stability of the session-security checks (issue 15), on this machine as it is (run it while
# the machine is also busy, e.g. during a build, to see the worst case):
#   1. RUNS consecutive `check --strict` runs of every spec against the clean embedded servers:
#      how many exit 0, and the median wall time of a run.
#   2. The timing check (`login-timing-unknown-email`, five specs a run) against the clean
#      servers: its false-positive rate; and against `--fault timing-leak`: its detection rate.
#
# Usage: scripts/security-stability.sh [RUNS]      (default 20; builds the release binary)
# Every run is bounded: a `check --strict` ends in well under a minute against the embedded
# servers, and each is given at most 120 s.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-20}
cargo build --release
bin=target/release/sessionspec
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

timing_outcomes() { # JSON report -> one line per spec: passed/failed/skipped of the timing case
    python3 - "$1" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
for spec in report["specs"]:
    for case in spec["cases"]:
        if case["id"] == "login-timing-unknown-email":
            print(case["status"])
EOF
}

echo "--- 1. check --strict, clean embedded servers, $runs runs"
ok=0
: >"$out/times"
: >"$out/clean-timing"
for i in $(seq 1 "$runs"); do
    start=$(date +%s.%N)
    rc=0
    timeout 120 "$bin" check --strict --report "json:$out/clean.json" >/dev/null 2>&1 || rc=$?
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" "BEGIN {printf \"%.3f\\n\", b - a}" >>"$out/times"
    if [ "$rc" -eq 0 ]; then ok=$((ok + 1)); else echo "  run $i: exit $rc"; fi
    timing_outcomes "$out/clean.json" >>"$out/clean-timing"
done
echo "exit 0 in $ok of $runs runs; median wall time $(median <"$out/times") s"

echo "--- 2. the timing check"
fp=$(grep -c '^failed$' "$out/clean-timing" || true)
clean_n=$(wc -l <"$out/clean-timing")
: >"$out/leak-timing"
for i in $(seq 1 "$runs"); do
    timeout 120 "$bin" check --strict --fault timing-leak --case login-timing-unknown-email \
        --report "json:$out/leak.json" >/dev/null 2>&1 || true
    timing_outcomes "$out/leak.json" >>"$out/leak-timing"
done
caught=$(grep -c '^failed$' "$out/leak-timing" || true)
leak_n=$(wc -l <"$out/leak-timing")
echo "clean servers: $fp false positives in $clean_n timing checks"
echo "timing-leak:   $caught of $leak_n timing checks failed (detection)"
