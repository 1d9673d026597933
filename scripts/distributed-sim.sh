#!/usr/bin/env bash
# A distributed load run simulated on loopback (issue 14): one reference server, N shard
# processes of `sessionspec load --shard I/N` with a common --start-at, `sessionspec merge` of
# their JSON reports, and beside it, in the same run and against the same server, ONE process
# running the same total users. Prints both rows (requests, logins/s, login p50/p95/p99) and the
# ratios merged / single.
#
# On one machine the N processes share its cores with each other and with the server, so the
# merged rate is not expected to beat the single process here: what this shows is that N shards
# with a common window add up to what one process measures (counts, rates and the exact
# percentiles of the union), not that more generators make more load. On a cluster each shard has
# cores of its own (docs/distributed.md).
#
# Usage: scripts/distributed-sim.sh [N]   (N=4 by default)
#   USERS_PER_SHARD=5 RUN_TIME=5 SCENARIO=drf-login-list-logout LEAD=3 PROFILE=debug|release
# Every user logs in as its own account: `serve --accounts` creates them, `load --accounts` reads
# their CSV, shards take disjoint rows.
set -euo pipefail

cd "$(dirname "$0")/.."
N="${1:-4}"
USERS_PER_SHARD="${USERS_PER_SHARD:-5}"
RUN_TIME="${RUN_TIME:-5}"
SCENARIO="${SCENARIO:-drf-login-list-logout}"
LEAD="${LEAD:-3}"
PROFILE="${PROFILE:-debug}"
TOTAL=$((N * USERS_PER_SHARD))

case "$PROFILE" in
    release) cargo build --release --quiet --bin sessionspec; BIN=target/release/sessionspec ;;
    *) cargo build --quiet --bin sessionspec; BIN=target/debug/sessionspec ;;
esac

# shellcheck source=lib/serve.sh
. scripts/lib/serve.sh
WORK="$(mktemp -d)"
cleanup() {
    stop_serve
    rm -rf "$WORK"
}
trap cleanup EXIT
started=$(date +%s.%N)

start_serve "$BIN" "$WORK" --dialect drf-sessions --hash-cost low \
    --accounts "$TOTAL" --accounts-out "$WORK/accounts.csv"
URL="$SERVER_URL"

common=(--scenario "$SCENARIO" --target "$URL" --users "$TOTAL" --run-time "${RUN_TIME}s"
        --accounts "$WORK/accounts.csv" --quiet)

# N shards, one common window: +LEAD s after a base instant every shard is given.
BASE="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
pids=()
for i in $(seq 0 $((N - 1))); do
    "$BIN" load "${common[@]}" --shard "$i/$N" --start-at "+${LEAD}s" --start-base "$BASE" \
        --report "json:$WORK/shard$i.json" >"$WORK/shard$i.out" 2>"$WORK/shard$i.err" &
    pids+=("$!")
done
for i in "${!pids[@]}"; do
    code=0
    wait "${pids[$i]}" || code=$?
    if [ "$code" -gt 1 ]; then
        echo "distributed-sim: shard $i/$N exited $code:" >&2
        cat "$WORK/shard$i.err" >&2
        exit 2
    fi
done
merge_code=0
"$BIN" merge "$WORK"/shard*.json --report "json:$WORK/merged.json" >"$WORK/merge.out" 2>"$WORK/merge.err" || merge_code=$?
[ "$merge_code" -le 1 ] || { echo "distributed-sim: merge exited $merge_code:" >&2; cat "$WORK/merge.err" >&2; exit 2; }
grep '^merge:' "$WORK/merge.err" || true

# The same total users in one process, against the same server.
single_code=0
"$BIN" load "${common[@]}" --report "json:$WORK/single.json" >"$WORK/single.out" 2>"$WORK/single.err" || single_code=$?
[ "$single_code" -le 1 ] || { echo "distributed-sim: the single run exited $single_code:" >&2; cat "$WORK/single.err" >&2; exit 2; }

elapsed=$(echo "$(date +%s.%N) - $started" | bc)
python3 - "$WORK" "$N" "$TOTAL" "$RUN_TIME" "$elapsed" "$merge_code" "$single_code" <<'EOF'
import json, sys
work, n, total, run_time, elapsed, merge_code, single_code = sys.argv[1:]
def load(name):
    with open(f"{work}/{name}.json") as f:
        return json.load(f)
merged, single = load("merged"), load("single")
shards = [load(f"shard{i}") for i in range(int(n))]
def row(label, procs, r):
    login = next(o for o in r["operations"] if o["name"] == r["headline"]["request"])
    lat = login["latency_ms"] or {}
    return (label, procs, r["users"], r["total"]["requests"], r["headline"]["per_second"],
            lat.get("p50"), lat.get("p95"), lat.get("p99"), r["verdict"])
rows = [row(f"merged {n} shards", n, merged), row("single process", 1, single)]
print(f"distributed-sim: {n} shards x {int(total)//int(n)} users vs 1 process x {total} users, "
      f"scenario {merged['scenario']}, {run_time}s window, one reference server (drf-sessions, hash cost low)")
print(f"{'run':<18} {'procs':>5} {'users':>5} {'requests':>9} {'logins/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  verdict")
for r in rows:
    print(f"{r[0]:<18} {r[1]:>5} {r[2]:>5} {r[3]:>9} {r[4]:>9.1f} {r[5]:>8} {r[6]:>8} {r[7]:>8}  {r[8]}")
m = merged["merged"]
late = ", ".join(f"{s['index']}: {s['lateness_ms']} ms" for s in m["shards"])
print(f"shards' requests sum {sum(s['total']['requests'] for s in shards)} = merged {merged['total']['requests']}; "
      f"windows overlap {m['overlap_s']} s, headline over {m['headline_seconds']} whole s; lateness {late}")
ratio = lambda a, b: a / b if b else float("nan")
print(f"ratio merged/single: logins/s {ratio(rows[0][4], rows[1][4]):.2f}, login p95 {ratio(rows[0][6] or 0, rows[1][6] or 0):.2f}")
print(f"elapsed {float(elapsed):.1f} s (after the build); exit codes: merge {merge_code}, single {single_code}")
EOF
