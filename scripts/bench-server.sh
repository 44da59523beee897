#!/usr/bin/env bash
# Server ingest benchmark: agents' reports (100 results each) pushed to `attest serve` by
# `attest simulate load`, on SQLite and on PostgreSQL.
#
# For each backend, on a fresh store: create an admin, start the server, register the hosts,
# let every host send its first report, then
#   (a) closed loop: every connection sends its next report as soon as the previous one is
#       answered, for DURATION;
#   (b) open loop: RATE reports/s on schedule for DURATION, latency counted from when each
#       report was due;
#   (c) kill test: open loop at RATE, the server killed with SIGKILL mid-run and restarted on
#       the same store; the generator sends unacknowledged reports again, as agents do;
# and after each, every acknowledged report is sent again and must be answered as a
# duplicate of the run it was acknowledged as, and `attest verify` checks the ledger.
# The server's peak RSS (VmHWM, reset before each phase) and CPU come from /proc.
#
# Usage: scripts/bench-server.sh [sqlite|postgres|all]
# Environment: DURATION (60s), RATE (2000), HOSTS (10000), CONNECTIONS (64, closed loop),
#   OPEN_CONNECTIONS (256, open loop: enough that reports go out when due), PORT (18080),
#   OUT (target/bench-server), PGHOST (127.0.0.1), PGUSER (postgres), PGPORT (5432),
#   ATTEST (a prebuilt binary; default: build the release one), KILL_AFTER (15 s),
#   SERVE_ARGS (more `attest serve` options, e.g. `--findings-every 0`).
# Writes OUT/results.md (the README table) and OUT/<backend>/*.json.

set -euo pipefail

backends=${1:-all}
DURATION=${DURATION:-60s}
RATE=${RATE:-2000}
HOSTS=${HOSTS:-10000}
CONNECTIONS=${CONNECTIONS:-64}
OPEN_CONNECTIONS=${OPEN_CONNECTIONS:-256}
PORT=${PORT:-18080}
KILL_AFTER=${KILL_AFTER:-15}
PGHOST=${PGHOST:-127.0.0.1}
PGUSER=${PGUSER:-postgres}
PGPORT=${PGPORT:-5432}
root=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$root/target/bench-server}
url="http://127.0.0.1:$PORT"

if [[ -z ${ATTEST:-} ]]; then
    (cd "$root" && cargo build --release --locked -p attest)
    ATTEST=$root/target/release/attest
fi
rm -rf "$OUT"
mkdir -p "$OUT"
export ATTEST_LOG=${ATTEST_LOG:-warn}

server_pid=
stop_server() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" || true
    fi
    server_pid=
}
cleanup() {
    stop_server
    if [[ -n ${pg_db:-} ]]; then
        psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -q -c "DROP DATABASE IF EXISTS $pg_db" postgres || true
    fi
}
trap cleanup EXIT

start_server() {
    local log=$1
    "$ATTEST" serve --listen "127.0.0.1:$PORT" --database "$database" --insecure-cookies ${SERVE_ARGS:-} \
        >>"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 200); do
        if curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    echo "the server did not start; see $log" >&2
    exit 2
}

# CPU seconds (user + system) of process $1.
cpu_seconds() {
    awk '{ split($0, a, ") "); split(a[2], f, " "); printf "%.2f", (f[12] + f[13]) / 100 }' "/proc/$1/stat"
}

# Peak resident set (KiB) of process $1 since the last reset.
peak_rss_kib() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

reset_peak_rss() {
    echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true
}

# Runs the generator for one phase and records the server's CPU and peak memory alongside.
phase() {
    local name=$1
    shift
    reset_peak_rss "$server_pid"
    local cpu0 t0 t1 cpu1
    cpu0=$(cpu_seconds "$server_pid")
    t0=$(date +%s.%N)
    "$ATTEST" simulate load --server "$url" --tokens "$dir/tokens" --hosts "$HOSTS" \
        --duration "$DURATION" --report "$dir/$name.json" --acks "$dir/$name.acks" "$@" \
        | tee "$dir/$name.txt"
    t1=$(date +%s.%N)
    cpu1=$(cpu_seconds "$server_pid")
    jq --argjson rss "$(peak_rss_kib "$server_pid")" \
        --argjson cpu "$(echo "$cpu1 - $cpu0" | bc)" \
        --argjson wall "$(echo "$t1 - $t0" | bc)" \
        '. + {server_peak_rss_kib: $rss, server_cpu_s: $cpu, wall_s: $wall}' \
        "$dir/$name.json" >"$dir/$name.tmp" && mv "$dir/$name.tmp" "$dir/$name.json"
}

verify_acks() {
    local name=$1
    "$ATTEST" simulate load --server "$url" --tokens "$dir/tokens" --hosts "$HOSTS" \
        --connections "$CONNECTIONS" --verify-acks "$dir/$name.acks" \
        --report "$dir/$name.verify.json" | tee "$dir/$name.verify.txt"
}

row() {
    local backend=$1 name=$2 load=$3
    local f=$dir/$name.json v=$dir/$name.verify.json
    jq -r --arg backend "$backend" --arg load "$load" --slurpfile v "$v" '
        [$backend, $load,
         (.reports_per_s | floor | tostring),
         (.results_per_s | floor | tostring),
         (.latency_ms.p50 | tostring), (.latency_ms.p99 | tostring), (.latency_ms.max | tostring),
         ((.errors | to_entries | map(.value) | add // 0) + (.rejected | to_entries | map(.value) | add // 0) | tostring),
         (($v[0].lost + $v[0].pending + .pending) | tostring),
         ((.server_peak_rss_kib / 1024 | floor | tostring) + " MiB"),
         ((.server_cpu_s / .wall_s * 100 | floor | tostring) + " %"),
         (.generator_cpu_s / .wall_s * 100 | floor | tostring) + " %",
         (.hosts | tostring)]
        | "| " + join(" | ") + " |"' "$f"
}

bench() {
    local backend=$1
    dir=$OUT/$backend
    mkdir -p "$dir"
    case $backend in
        sqlite)
            database=$dir/store
            ;;
        postgres)
            pg_db=attest_bench
            psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -q -c "DROP DATABASE IF EXISTS $pg_db" postgres
            psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -q -c "CREATE DATABASE $pg_db" postgres
            database=postgres://$PGUSER@$PGHOST:$PGPORT/$pg_db
            export ATTEST_LEDGER_KEY=$dir/ledger.key
            ;;
    esac
    printf 'bench-admin-password-%s\n' "$RANDOM$RANDOM" >"$dir/password"
    "$ATTEST" users add bench --role admin --password-file "$dir/password" --database "$database"
    start_server "$dir/server.log"
    "$ATTEST" simulate load --server "$url" --admin bench --password-file "$dir/password" \
        --tokens "$dir/tokens" --hosts "$HOSTS" --duration 0s

    # Every host reports once first: a host's first report opens all its series, later ones
    # mostly extend them, as in a fleet whose agents have been reporting.
    "$ATTEST" simulate load --server "$url" --tokens "$dir/tokens" --hosts "$HOSTS" \
        --connections "$CONNECTIONS" --rounds 1 --duration 10m | tee "$dir/warmup.txt"

    echo "== $backend: closed loop, $CONNECTIONS connections, $DURATION"
    phase closed --rate 0 --connections "$CONNECTIONS"
    verify_acks closed
    echo "== $backend: open loop, $RATE reports/s, $DURATION"
    phase open --rate "$RATE" --connections "$OPEN_CONNECTIONS"
    verify_acks open

    echo "== $backend: kill test: SIGKILL after ${KILL_AFTER} s, restart, resend"
    reset_peak_rss "$server_pid"
    "$ATTEST" simulate load --server "$url" --tokens "$dir/tokens" --hosts "$HOSTS" \
        --connections "$OPEN_CONNECTIONS" --duration "$DURATION" --rate "$RATE" \
        --report "$dir/kill.json" --acks "$dir/kill.acks" >"$dir/kill.txt" &
    local generator=$!
    sleep "$KILL_AFTER"
    kill -KILL "$server_pid"
    wait "$server_pid" || true
    server_pid=
    sleep 1
    start_server "$dir/server.log"
    wait "$generator" || true
    cat "$dir/kill.txt"
    verify_acks kill
    stop_server
    case $backend in
        sqlite) "$ATTEST" verify --store "$database" | tee "$dir/verify.txt" ;;
        postgres) echo "attest verify reads SQLite stores; the acknowledged reports were checked above" ;;
    esac

    {
        row "$backend" closed "closed loop, $CONNECTIONS connections"
        row "$backend" open "open loop, $RATE reports/s, $OPEN_CONNECTIONS connections"
    } >>"$OUT/rows.md"
    jq -r --arg backend "$backend" --slurpfile v "$dir/kill.verify.json" '
        "| " + $backend + " | " + (.acknowledged + .duplicates | tostring) + " acknowledged ("
        + (.duplicates | tostring) + " on a resend after the kill), "
        + ((.errors | to_entries | map(.value) | add // 0) | tostring) + " failed tries sent again | "
        + ($v[0].present | tostring) + " found | " + ($v[0].lost | tostring) + " lost |"' \
        "$dir/kill.json" >>"$OUT/kill.md"
    if [[ $backend == postgres ]]; then
        psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -q -c "DROP DATABASE IF EXISTS $pg_db" postgres
        pg_db=
        unset ATTEST_LEDGER_KEY
    fi
}

case $backends in
    sqlite | postgres) bench "$backends" ;;
    all)
        bench sqlite
        bench postgres
        ;;
    *)
        echo "usage: $0 [sqlite|postgres|all]" >&2
        exit 2
        ;;
esac

{
    echo "| store | load | reports/s | results/s | p50 ms | p99 ms | max ms | errors | lost | server peak RSS | server CPU | generator CPU | hosts |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    cat "$OUT/rows.md"
    echo
    echo "| store | kill test | verified | lost |"
    echo "|---|---|---|---|"
    cat "$OUT/kill.md"
} >"$OUT/results.md"
echo
cat "$OUT/results.md"
