#!/usr/bin/env bash
# The browser benchmark's yardstick: the same measurements on a real PostgreSQL 15, a primary and
# two streaming standbys on loopback, made fresh in a temp dir and removed afterwards.
#
#   scripts/bench-postgres.sh [--rows N]
#
#   - cluster start: initdb, start, two `pg_basebackup -R -X stream` copies started, until both
#     standbys stream (pg_stat_replication);
#   - async: pgbench -n, one client, N transactions of a one-statement INSERT script (the
#     browser's bench table, no index), then the time until both standbys replayed the last one;
#   - remote_apply: synchronous_standby_names = 'FIRST 1 (standby1)' and synchronous_commit =
#     remote_apply, 1,000 INSERTs through pgbench -l, per-commit latency median and p99.
#
# PostgreSQL's defaults otherwise (fsync on), with the data directories on tmpfs (/dev/shm) when
# there is one, as pgplay's WAL is in memory. Ports $PGPLAY_BENCH_PG_PORT..+2 (default 56432).
# The last line printed is the figures as one JSON object, for scripts/bench-browser.mjs.
set -euo pipefail

rows=10000
while [ $# -gt 0 ]; do
    case $1 in
        --rows)
            [[ ${2:-} =~ ^[0-9]{1,9}$ ]] || { echo "bench-postgres: --rows needs a whole number" >&2; exit 2; }
            rows=$2
            shift 2
            ;;
        *) echo "usage: scripts/bench-postgres.sh [--rows N]" >&2; exit 2 ;;
    esac
done

pg_bin="${PGPLAY_PG_BIN:-/usr/lib/postgresql/15/bin}"
base="${PGPLAY_BENCH_PG_PORT:-56432}"
probe_commits=1000
[ -x "$pg_bin/postgres" ] || { echo "bench-postgres: PostgreSQL 15 not found in $pg_bin" >&2; exit 2; }
command -v pgbench >/dev/null || [ -x "$pg_bin/pgbench" ] || { echo "bench-postgres: no pgbench" >&2; exit 2; }
pgbench="$pg_bin/pgbench"
[ -x "$pgbench" ] || pgbench="$(command -v pgbench)"

source "$(dirname "${BASH_SOURCE[0]}")/../tests/postgres/throwaway.sh"
parent="${TMPDIR:-/tmp}"
[ -d /dev/shm ] && [ -w /dev/shm ] && parent=/dev/shm
throwaway_dir bench-pg "$parent"

ms_now() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }
psql_at() { # port, sql
    as_pg "$pg_bin/psql" -X -q -t -A -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}
streaming_count() {
    psql_at "$base" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
}

started=$(ms_now)
pg_initdb "$tmp/primary"
as_pg bash -c "cat >>'$tmp/primary/postgresql.conf'" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tmp'
port = $base
EOF
pg_start "$tmp/primary" "$tmp/primary.log"
for i in 1 2; do
    data="$tmp/standby$i"
    as_pg "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$base" -U postgres -D "$data" -R -X stream \
        -c fast >/dev/null 2>&1
    as_pg sed -i '/^primary_conninfo/d;/^port = /d' "$data/postgresql.auto.conf" "$data/postgresql.conf"
    as_pg bash -c "echo \"primary_conninfo = 'host=127.0.0.1 port=$base user=postgres application_name=standby$i'\" >>'$data/postgresql.auto.conf'; echo 'port = $((base + i))' >>'$data/postgresql.conf'"
    pg_start "$data" "$data.log"
done
# wait_for_two COMMAND WHAT: polls COMMAND until it prints 2, for at most a minute.
wait_for_two() {
    local deadline=$((SECONDS + 60))
    until [ "$("$1")" = 2 ]; do
        [ $SECONDS -lt $deadline ] || { echo "bench-postgres: the standbys did not $2" >&2; exit 1; }
        sleep 0.001
    done
}
wait_for_two streaming_count stream
start_ms=$(awk -v a="$started" -v b="$(ms_now)" 'BEGIN { printf "%.0f", b - a }')
echo "postgres:    cluster start (initdb, 2 base backups, until both standbys stream): $start_ms ms"

psql_at "$base" "CREATE TABLE bench (id bigint, payload text)" >/dev/null
cat >"$tmp/insert.sql" <<'EOF'
INSERT INTO bench VALUES (:client_id, 'row');
EOF
chmod 644 "$tmp/insert.sql"
caught_up() {
    psql_at "$base" "SELECT count(*) FROM pg_stat_replication WHERE replay_lsn = pg_current_wal_lsn()"
}
started=$(ms_now)
out="$(cd "$tmp" && as_pg "$pgbench" -n -c 1 -j 1 -t "$rows" -f "$tmp/insert.sql" \
    -h 127.0.0.1 -p "$base" -U postgres postgres 2>&1)" || { echo "$out" >&2; exit 1; }
commit_ms=$(awk -v a="$started" -v b="$(ms_now)" 'BEGIN { printf "%.1f", b - a }')
wait_for_two caught_up "catch up"
replicated_ms=$(awk -v a="$started" -v b="$(ms_now)" 'BEGIN { printf "%.1f", b - a }')
tps=$(echo "$out" | awk '/^tps = / { printf "%.0f", $3 }')
for port in $((base + 1)) $((base + 2)); do
    count=$(psql_at "$port" "SELECT count(*) FROM bench")
    [ "$count" = "$rows" ] || { echo "bench-postgres: standby on $port has $count rows, not $rows" >&2; exit 1; }
done
echo "postgres:    $rows single-row INSERTs (pgbench -n, 1 client, async standbys): $tps tps; both standbys replayed all $rows rows ${replicated_ms} ms after the first (pgbench run ${commit_ms} ms)"

psql_at "$base" "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1)'" >/dev/null
psql_at "$base" "SELECT pg_reload_conf()" >/dev/null
deadline=$((SECONDS + 30))
until [ "$(psql_at "$base" "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")" = 1 ]; do
    [ $SECONDS -lt $deadline ] || { echo "bench-postgres: standby1 did not become synchronous" >&2; exit 1; }
    sleep 0.01
done
out="$(cd "$tmp" && as_pg env PGOPTIONS='-c synchronous_commit=remote_apply' "$pgbench" -n -c 1 -j 1 \
    -t "$probe_commits" -f "$tmp/insert.sql" -l --log-prefix="$tmp/sync" \
    -h 127.0.0.1 -p "$base" -U postgres postgres 2>&1)" || { echo "$out" >&2; exit 1; }
# pgbench -l: one line per transaction, its latency in microseconds in the third field.
read -r p50 p99 < <(cat "$tmp"/sync.* | awk '{ print $3 / 1000 }' | sort -n |
    awk '{ v[NR] = $1 } END { printf "%.3f %.3f\n", v[int((NR - 1) * 0.5 + 0.5) + 1], v[int((NR - 1) * 0.99 + 0.5) + 1] }')
echo "postgres:    remote_apply commit (synchronous standby1, pgbench -l, $probe_commits commits): median $p50 ms, p99 $p99 ms (client round trip included)"

version=$("$pg_bin/postgres" --version | awk '{ print $3 }')
printf '{"version":"%s","start_ms":%s,"rows":%s,"tps":%s,"replicated_ms":%s,"sync_p50_ms":%s,"sync_p99_ms":%s}\n' \
    "$version" "$start_ms" "$rows" "$tps" "$replicated_ms" "$p50" "$p99"
