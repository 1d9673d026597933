#!/usr/bin/env bash
# Interop suite (issue #12 item 5): real third-party servers, installed by package name, started on
# 127.0.0.1 on a free port each, checked with the specs under interop/; every case's verdict is
# compared with interop/NAME.expect.json. Ends with "N passed, M failed" (one per case compared) and
# exits 1 when M > 0, 2 when a server could not be installed or started.
#
#   bash scripts/interop.sh            # all servers
#   bash scripts/interop.sh apache-dav # only these (apache-dav, python-http-server, json-server)
#
# Cases run one at a time (--concurrency 1): json-server reuses ids, and a concurrent POST would
# race a case that reads a deleted URI.
# The binary: $SESSIONSPEC, else the newer of target/release and target/debug, else a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

JSON_SERVER_VERSION=0.17.4
work=$(mktemp -d)
chmod 755 "$work" # Apache's worker user must reach its document root below it
pids=()

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        # bounded: 5 s for each server to go, then it is killed outright
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { echo "interop: $*" >&2; exit 2; }

# --- the binary --------------------------------------------------------------------------------
bin=${SESSIONSPEC:-}
if [ -z "$bin" ]; then
    if [ -x target/release/sessionspec ] && { [ ! -x target/debug/sessionspec ] || [ target/release/sessionspec -nt target/debug/sessionspec ]; }; then
        bin=target/release/sessionspec
    elif [ -x target/debug/sessionspec ]; then
        bin=target/debug/sessionspec
    else
        cargo build --release --bin sessionspec
        bin=target/release/sessionspec
    fi
fi
echo "interop: using $bin"

# --- installs: only what is missing, by package name -------------------------------------------
apt_updated=0
apt_install() { # PACKAGE...: installs the Debian packages that are not installed yet
    local missing=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages ${missing[*]} (run as root, or install them)"
    echo "interop: apt-get install ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$work/apt.log" 2>&1; then
        [ $apt_updated -eq 0 ] || { cat "$work/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
        apt-get update -q >/dev/null 2>&1 || true
        apt_updated=1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$work/apt.log" 2>&1 \
            || { cat "$work/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
    fi
}

command -v python3 >/dev/null 2>&1 || apt_install python3

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() { # NAME PORT PID LOG: bounded wait (10 s) for the server to accept connections
    local _
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
        kill -0 "$3" 2>/dev/null || { cat "$4" >&2 || true; die "$1 exited before listening on 127.0.0.1:$2"; }
        sleep 0.1
    done
    cat "$4" >&2 || true
    die "$1 did not listen on 127.0.0.1:$2 within 10 s"
}

seed() { # DIR FILE...: files with a modification time in 2020 (Apache gives them strong ETags)
    local dir=$1 f
    shift
    for f in "$@"; do
        printf 'interop seed %s\n' "$f" >"$dir/$f"
        touch -d '2020-01-01 00:00:00 UTC' "$dir/$f"
    done
}

# --- servers: each sets `url` (no subshell: `pids` must see the server) -------------------------
start_apache_dav() {
    apt_install apache2-bin media-types
    local dir="$work/apache" port user group
    mkdir -p "$dir/www" "$dir/lock"
    seed "$dir/www" seed-if-match.txt seed-weakened.txt seed-inm.txt seed-ius-im.txt seed-ims.txt
    user=$(id -un)
    group=$(id -gn)
    if [ "$(id -u)" -eq 0 ]; then
        # Apache refuses to serve as root: its workers run as www-data, which owns what DAV writes
        user=www-data
        group=www-data
        chown -R www-data:www-data "$dir/www" "$dir/lock"
    fi
    port=$(free_port)
    INTEROP_DIR="$dir" INTEROP_PORT="$port" INTEROP_USER="$user" INTEROP_GROUP="$group" \
        /usr/sbin/apache2 -f "$PWD/interop/apache-dav.conf" -DFOREGROUND >"$dir/stdout.log" 2>&1 &
    pids+=($!)
    wait_port apache2 "$port" $! "$dir/error.log"
    url="http://127.0.0.1:$port"
}

start_python_http_server() {
    local dir="$work/python" port
    mkdir -p "$dir/www"
    seed "$dir/www" seed.txt
    port=$(free_port)
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir/www" >"$dir/log" 2>&1 &
    pids+=($!)
    wait_port http.server "$port" $! "$dir/log"
    url="http://127.0.0.1:$port"
}

start_json_server() {
    if ! command -v json-server >/dev/null 2>&1 || [ "$(json-server --version 2>/dev/null)" != "$JSON_SERVER_VERSION" ]; then
        command -v npm >/dev/null 2>&1 || apt_install nodejs npm
        echo "interop: npm install -g json-server@$JSON_SERVER_VERSION"
        npm install -g --no-audit --no-fund "json-server@$JSON_SERVER_VERSION" >"$work/npm.log" 2>&1 \
            || { cat "$work/npm.log" >&2; die "npm install json-server failed"; }
    fi
    local dir="$work/json-server" port
    mkdir -p "$dir"
    cp interop/json-server.db.json "$dir/db.json"
    port=$(free_port)
    json-server --host 127.0.0.1 --port "$port" --quiet "$dir/db.json" >"$dir/log" 2>&1 &
    pids+=($!)
    wait_port json-server "$port" $! "$dir/log"
    url="http://127.0.0.1:$port"
}

# --- run and compare ---------------------------------------------------------------------------
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(apache-dav python-http-server json-server)
passed=0
failed=0
start=$(date +%s)
for name in "${servers[@]}"; do
    case "$name" in
        apache-dav) start_apache_dav ;;
        python-http-server) start_python_http_server ;;
        json-server) start_json_server ;;
        *) die "unknown server \`$name\` (apache-dav, python-http-server, json-server)" ;;
    esac
    echo "--- $name at $url"
    report="$work/$name.report.json"
    rc=0
    "$bin" check --spec "interop/$name.json" --target "$url" --strict --timeout 5s --concurrency 1 \
        --report "json:$report" >"$work/$name.out" 2>&1 || rc=$?
    if [ ! -s "$report" ]; then
        cat "$work/$name.out"
        echo "FAIL $name: no report (exit $rc)"
        failed=$((failed + 1))
        continue
    fi
    counts=$(python3 - "$report" "interop/$name.expect.json" 2>"$work/counts" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
expect = json.load(open(sys.argv[2]))
word = {"pass": "passed", "fail": "failed", "errored": "errored", "skipped": "skipped"}
cases = {c["id"]: c["status"] for c in report["specs"][0]["cases"]}
ok = bad = 0
for cid, status in cases.items():
    e = expect.get(cid)
    if e is None:
        print(f"FAIL {cid}: {status}, but the case has no expectation", flush=True)
        bad += 1
    elif word.get(e["verdict"]) != status:
        print(f"FAIL {cid}: {status}, expected {e['verdict']} ({e['reason']})", flush=True)
        bad += 1
    else:
        print(f"ok   {cid}: {status}" + ("" if status == "passed" else f" as expected: {e['reason']}"))
        ok += 1
for cid in expect:
    if cid not in cases:
        print(f"FAIL {cid}: expected {expect[cid]['verdict']}, but the spec has no such case")
        bad += 1
print(f"{ok} {bad}", file=sys.stderr)
EOF
    ) || die "comparing $name failed"
    echo "$counts"
    read -r ok bad <"$work/counts"
    if [ "$bad" -gt 0 ]; then
        echo "(sessionspec's own output for $name:)"
        sed 's/^/    /' "$work/$name.out"
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
done
echo "interop: $(( $(date +%s) - start ))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
