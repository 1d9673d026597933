#!/usr/bin/env bash
# Stability of `sessionspec load --find-max` (issue 13 item 3): two capacity searches against the
# embedded reference server, one right after the other, must answer within 15 % of each other.
#
# Runs PAIRS pairs of searches with the default search flags (start 10/s, x2 per step, 10 s
# measured after 3 s of warm-up, 3 bisection rounds) of SCENARIO against the built-in server at
# the OWASP hash cost, objective OBJECTIVE, and prints for each search the highest offered rate
# that held, the logins/s measured at it and the rates it tried; for each pair the ratio of the
# higher answer to the lower. Exit 1 when a pair differs by more than MAX_RATIO (1.15).
#
# Usage: scripts/find-max-stability.sh   (PAIRS=3 SCENARIO=drf-login-list-logout
#        OBJECTIVE='login:p95<250ms' MAX_RATIO=1.15 EXTRA='--step-time 5s' to change)
# Needs: cargo, python3. Run it on an otherwise idle machine: the server and the generator share
# its cores, so other work moves the answer.
set -euo pipefail

cd "$(dirname "$0")/.."
PAIRS="${PAIRS:-3}"
SCENARIO="${SCENARIO:-drf-login-list-logout}"
OBJECTIVE="${OBJECTIVE:-login:p95<250ms}"
MAX_RATIO="${MAX_RATIO:-1.15}"
EXTRA="${EXTRA:-}"

cargo build --release --quiet --bin sessionspec
BIN=target/release/sessionspec
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# One search; prints `RATE LOGINS STEPS` (RATE `none` when no step held).
search() {
    local out="$WORK/$1.json"
    # shellcheck disable=SC2086
    "$BIN" load --scenario "$SCENARIO" --find-max "$OBJECTIVE" $EXTRA \
        --report "json:$out" --quiet >/dev/null 2>"$WORK/$1.err" || true
    python3 - "$out" <<'EOF'
import json, sys
try:
    c = json.load(open(sys.argv[1]))["capacity"]
except Exception as e:  # the search did not write its report
    print("none - error:%s" % type(e).__name__)
    sys.exit(0)
steps = ",".join(
    "%g%s" % (s["rate_per_s"], "+" if s["passed"] else "x") for s in c["steps"]
)
rate = c["max_rate_per_s"]
logins = c["max_headline_per_s"]
print("%s %s %s" % ("none" if rate is None else "%g" % rate,
                    "-" if logins is None else "%.1f" % logins, steps))
EOF
}

echo "find-max stability: $SCENARIO, objective $OBJECTIVE, $PAIRS pairs ${EXTRA:+(flags: $EXTRA)}"
printf '%-5s %-8s %-9s %-8s %-9s %-7s %s\n' pair rate_a logins_a rate_b logins_b ratio steps
failed=0
for p in $(seq 1 "$PAIRS"); do
    read -r ra la sa <<<"$(search "p$p-a")"
    read -r rb lb sb <<<"$(search "p$p-b")"
    ratio="$(python3 -c "
a, b = '$ra', '$rb'
if 'none' in (a, b):
    print('n/a')
else:
    a, b = float(a), float(b)
    print('%.3f' % (max(a, b) / min(a, b)))")"
    printf '%-5s %-8s %-9s %-8s %-9s %-7s %s | %s\n' "$p" "$ra" "$la" "$rb" "$lb" "$ratio" "$sa" "$sb"
    if [ "$ratio" = "n/a" ] || python3 -c "import sys; sys.exit(0 if $ratio > $MAX_RATIO else 1)"; then
        failed=1
    fi
done
if [ "$failed" = 1 ]; then
    echo "find-max stability: a pair differs by more than ${MAX_RATIO}x (or found no rate)"
    exit 1
fi
echo "find-max stability: every pair within ${MAX_RATIO}x"
