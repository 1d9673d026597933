#!/usr/bin/env bash
# Benchmark of the load generator itself (issue 6 item 6): how much CPU `sessionspec load` spends
# per request, against plain goose 0.19 doing the same requests and against wrk.
#
# All three hit the SAME cheap endpoint of one reference server (`sessionspec serve --dialect
# drf-sessions --hash-cost low`): GET /sessions/session-user-l/5/ with a token that is not a JWT,
# answered 401 without hashing or state (scenarios/drf-rejected-token.json), with 50 connections.
# Measured per generator process: user+system CPU seconds (GNU time), requests made, CPU seconds
# per 1,000 requests, and peak RSS; then the same at BIG_USERS simulated users (10,000 by
# default, all started at once), sessionspec and bare goose in the same run, with wall time.
# The USERS rows run REPEAT times each, interleaved (sessionspec, bare goose, wrk, again), and the
# ratios are of the medians of CPU per request. bare goose runs with goose's metrics on, as a goose
# user runs it; sessionspec records its own histograms with goose's metrics off (json report only).
# Targets checked (exit 1 when one is missed): sessionspec <= MAX_RATIO x bare goose CPU per
# request at USERS; at BIG_USERS, sessionspec under BIG_MAX_RSS_MIB, CPU per request within 2x of
# its USERS figure, and the process ending within its run time + 5 s.
#
# Usage: scripts/bench-load.sh    (DURATION=5 REPEAT=3 USERS=50 BIG_USERS=10000 BIG_DURATION=8 to change)
# Needs: cargo, GNU time (/usr/bin/time), wrk (installed with apt-get when missing and root).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION="${DURATION:-5}"
REPEAT="${REPEAT:-3}"
USERS="${USERS:-50}"
BIG_USERS="${BIG_USERS:-10000}"
BIG_DURATION="${BIG_DURATION:-8}"
BIG_MAX_RSS_MIB="${BIG_MAX_RSS_MIB:-500}"
MAX_RATIO="${MAX_RATIO:-0.6}"

need_apt() {
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null && apt-get install -y -qq "$@" >/dev/null
    else
        echo "bench-load: please install: $*" >&2
        exit 2
    fi
}
[ -x /usr/bin/time ] || need_apt time
command -v wrk >/dev/null || need_apt wrk

echo "bench-load: building release binaries (sessionspec, examples/bare_goose)…" >&2
cargo build --release --quiet --bin sessionspec --example bare_goose
BIN=target/release/sessionspec
BARE=target/release/examples/bare_goose

# shellcheck source=lib/serve.sh
. scripts/lib/serve.sh
WORK="$(mktemp -d)"
cleanup() {
    stop_serve
    rm -rf "$WORK"
}
trap cleanup EXIT

start_serve "$BIN" "$WORK" --dialect drf-sessions --hash-cost low
HOST="$SERVER_URL"
URL="$HOST/sessions/session-user-l/5/"
echo "bench-load: reference server at $HOST; ${DURATION}s per generator, $USERS connections" >&2

# measure NAME CMD... : runs CMD under GNU time; leaves NAME.out/.err/.time in $WORK.
measure() {
    local name="$1"; shift
    /usr/bin/time -f '%U %S %M %e' -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
        echo "bench-load: $name failed:" >&2; cat "$WORK/$name.err" >&2; exit 2; }
}
cpu() { awk '{ printf "%.3f", $1 + $2 }' "$WORK/$1.time"; }
rss_mib() { awk '{ printf "%.1f", $3 / 1024 }' "$WORK/$1.time"; }
wall() { awk '{ printf "%.1f", $4 }' "$WORK/$1.time"; }
ours_requests() { grep -m1 -o '"requests": [0-9]*' "$WORK/$1.json" | grep -o '[0-9]*$'; }
bare_requests() { sed -n 's/^requests \([0-9]*\).*/\1/p' "$WORK/$1.out"; }
per_k() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.4f", c * 1000 / n; else print "nan" }'; }

ours() { # ours NAME USERS SECONDS
    measure "$1" "$BIN" load --scenario drf-rejected-token --target "$HOST" --users "$2" \
        --hatch-rate "$2" --run-time "${3}s" --quiet --report "json:$WORK/$1.json"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$WORK/ours.k"; : >"$WORK/bare.k"; : >"$WORK/wrk.k"
for i in $(seq "$REPEAT"); do
    ours "main$i" "$USERS" "$DURATION"
    measure "bare$i" "$BARE" "$HOST" "$USERS" "$DURATION"
    measure "wrk$i" wrk -t2 -c"$USERS" -d"${DURATION}s" \
        -H 'Content-Type: application/json' -H 'Authorization: Bearer not-a-jwt' "$URL"
    n="$(ours_requests "main$i")"; per_k "$(cpu "main$i")" "$n" >>"$WORK/ours.k"; echo >>"$WORK/ours.k"
    n="$(bare_requests "bare$i")"; per_k "$(cpu "bare$i")" "$n" >>"$WORK/bare.k"; echo >>"$WORK/bare.k"
    n="$(awk '/requests in/ { print $1 }' "$WORK/wrk$i.out")"; per_k "$(cpu "wrk$i")" "$n" >>"$WORK/wrk.k"; echo >>"$WORK/wrk.k"
    printf 'run %s: %s users %ss: CPU s per 1k requests: sessionspec %s (%s requests), bare goose %s (%s), wrk %s (%s)\n' \
        "$i" "$USERS" "$DURATION" "$(sed -n "${i}p" "$WORK/ours.k")" "$(ours_requests "main$i")" \
        "$(sed -n "${i}p" "$WORK/bare.k")" "$(bare_requests "bare$i")" "$(sed -n "${i}p" "$WORK/wrk.k")" \
        "$(awk '/requests in/ { print $1 }' "$WORK/wrk$i.out")"
done
cp "$WORK/main1.json" "$WORK/main.json"; cp "$WORK/main1.time" "$WORK/main.time"
cp "$WORK/bare1.out" "$WORK/bare.out"; cp "$WORK/bare1.time" "$WORK/bare.time"
cp "$WORK/wrk1.out" "$WORK/wrk.out"; cp "$WORK/wrk1.time" "$WORK/wrk.time"
WRK_REQUESTS="$(awk '/requests in/ { print $1 }' "$WORK/wrk.out")"

ours big "$BIG_USERS" "$BIG_DURATION"
measure bigbare "$BARE" "$HOST" "$BIG_USERS" "$BIG_DURATION"

OURS_N="$(ours_requests main)"; BARE_N="$(bare_requests bare)"
OURS_K="$(median <"$WORK/ours.k")"
BARE_K="$(median <"$WORK/bare.k")"
WRK_K="$(median <"$WORK/wrk.k")"
RATIO_BARE="$(awk -v a="$OURS_K" -v b="$BARE_K" 'BEGIN { printf "%.2f", a / b }')"
RATIO_WRK="$(awk -v a="$OURS_K" -v b="$WRK_K" 'BEGIN { printf "%.2f", a / b }')"

echo "(first run's rows; CPU s/1k req: the median of $REPEAT runs)"
printf '\n%-26s %10s %10s %14s %10s\n' generator requests "cpu s" "cpu s/1k req" "rss MiB"
printf '%-26s %10s %10s %14s %10s\n' "sessionspec load" "$OURS_N" "$(cpu main)" "$OURS_K" "$(rss_mib main)"
printf '%-26s %10s %10s %14s %10s\n' "bare goose 0.19" "$BARE_N" "$(cpu bare)" "$BARE_K" "$(rss_mib bare)"
printf '%-26s %10s %10s %14s %10s\n' "wrk -t2" "$WRK_REQUESTS" "$(cpu wrk)" "$WRK_K" "$(rss_mib wrk)"
BIG_N="$(ours_requests big)"; BIGBARE_N="$(bare_requests bigbare)"
BIG_K="$(per_k "$(cpu big)" "$BIG_N")"
BIGBARE_K="$(per_k "$(cpu bigbare)" "$BIGBARE_N")"
printf '%-26s %10s %10s %14s %10s %8s\n' "sessionspec, $BIG_USERS users" "$BIG_N" "$(cpu big)" "$BIG_K" "$(rss_mib big)" "$(wall big)s"
printf '%-26s %10s %10s %14s %10s %8s\n' "bare goose, $BIG_USERS users" "$BIGBARE_N" "$(cpu bigbare)" "$BIGBARE_K" "$(rss_mib bigbare)" "$(wall bigbare)s"
BIG_SCALE="$(awk -v a="$BIG_K" -v b="$OURS_K" 'BEGIN { printf "%.2f", a / b }')"
printf '\nat %s users: CPU per request %sx the %s-user figure (must be <= 2), peak RSS %s MiB (must be < %s), wall %ss for a %ss run (must be <= %s)\n' \
    "$BIG_USERS" "$BIG_SCALE" "$USERS" "$(rss_mib big)" "$BIG_MAX_RSS_MIB" "$(wall big)" "$BIG_DURATION" "$((BIG_DURATION + 5))"
printf 'ratio sessionspec/bare goose (medians of %s runs): %s (must be <= %s)\n' "$REPEAT" "$RATIO_BARE" "$MAX_RATIO"
printf 'ratio sessionspec/wrk (medians of %s runs):        %s\n' "$REPEAT" "$RATIO_WRK"
fail=0
awk -v r="$RATIO_BARE" -v m="$MAX_RATIO" 'BEGIN { exit !(r <= m) }' || {
    echo "bench-load: sessionspec costs more than ${MAX_RATIO}x bare goose per request" >&2; fail=1; }
awk -v r="$BIG_SCALE" 'BEGIN { exit !(r <= 2) }' || {
    echo "bench-load: at $BIG_USERS users a request costs more than 2x the CPU it costs at $USERS" >&2; fail=1; }
awk -v r="$(rss_mib big)" -v m="$BIG_MAX_RSS_MIB" 'BEGIN { exit !(r < m) }' || {
    echo "bench-load: $BIG_USERS users took $(rss_mib big) MiB (limit $BIG_MAX_RSS_MIB)" >&2; fail=1; }
awk -v w="$(wall big)" -v m="$((BIG_DURATION + 5))" 'BEGIN { exit !(w <= m) }' || {
    echo "bench-load: $BIG_USERS users ran $(wall big)s for a ${BIG_DURATION}s run" >&2; fail=1; }
exit "$fail"
