# Sourced by the benchmark and simulation scripts: one reference server on a free loopback port.
#   start_serve BIN WORKDIR [serve arguments...]
# starts `BIN serve --addr 127.0.0.1:0 ...` in the background, waits (at most 10 s) for its
# `listening on URL` line, and sets SERVER_PID and SERVER_URL; exits 2 with the server's stderr
# when it does not start. stop_serve ends it (by its PID) and is safe to call twice.
SERVER_PID=""
SERVER_URL=""

start_serve() {
    local bin=$1 work=$2
    shift 2
    "$bin" serve --addr 127.0.0.1:0 "$@" >"$work/serve.out" 2>"$work/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 200); do
        grep -q '^listening on ' "$work/serve.out" 2>/dev/null && break
        sleep 0.05
    done
    SERVER_URL="$(sed -n 's/^listening on //p' "$work/serve.out")"
    if [ -z "$SERVER_URL" ]; then
        echo "$(basename "$0"): the reference server did not start" >&2
        cat "$work/serve.err" >&2
        exit 2
    fi
}

stop_serve() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
