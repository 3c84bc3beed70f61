#!/usr/bin/env bash
# Run pgplay's isolation specs (tests/isolation/specs/*.spec, PostgreSQL's isolation-tester
# format) against a real PostgreSQL 15 server, with PostgreSQL 15's own isolationtester, and
# compare each output with tests/isolation/expected/NAME.out.
#
#   tests/postgres/isolation.sh [SPEC...]           (default: tests/isolation/specs/*.spec)
#   PGPLAY_ISOLATION_ACCEPT=1 tests/postgres/isolation.sh SPEC   write the expected file instead
#
# Creates a throwaway cluster (initdb --no-locale --encoding=UTF8) in a temp dir, starts it on
# 127.0.0.1:$PGPLAY_PG_PORT (default 54329), runs each spec in a fresh database, then stops the
# server and removes the cluster, also on failure or interrupt. Works as root (the server runs
# as user postgres) or as an ordinary user. pgplay's side of the same files: `pgplay isolation`.
#
# Environment:
#   PGPLAY_PG_PORT   port to listen on (default 54329)
#   PG_BIN           PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#   ISOLATIONTESTER  the isolationtester binary (default: PostgreSQL 15's, from pg_config --pkglibdir)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
port="${PGPLAY_PG_PORT:-54329}"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

if [ $# -eq 0 ]; then
    shopt -s nullglob
    set -- "$repo"/tests/isolation/specs/*.spec
    shopt -u nullglob
    [ $# -gt 0 ] || { echo "isolation.sh: no specs in $repo/tests/isolation/specs" >&2; exit 2; }
fi
for f in "$@"; do
    [ -f "$f" ] || { echo "isolation.sh: no such file: $f" >&2; exit 2; }
done
[ -x "$pg_bin/postgres" ] || { echo "isolation.sh: PostgreSQL 15 not found in $pg_bin" >&2; exit 2; }
tester="${ISOLATIONTESTER:-$("$pg_bin/pg_config" --pkglibdir)/pgxs/src/test/isolation/isolationtester}"
[ -x "$tester" ] || { echo "isolation.sh: no isolationtester at $tester (postgresql-server-dev-15)" >&2; exit 2; }

source "$repo/tests/postgres/throwaway.sh"
throwaway_dir iso15
pg_initdb "$tmp/data"
pg_start "$tmp/data" "$tmp/server.log" \
    "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$tmp -c fsync=off -c TimeZone=UTC"

passed=0
failed=0
n=0
for spec in "$@"; do
    n=$((n + 1))
    name="$(basename "$spec" .spec)"
    expected="$repo/tests/isolation/expected/$name.out"
    db="iso_$n"
    as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
    out="$tmp/$name.out"
    "$tester" "host=127.0.0.1 port=$port user=postgres dbname=$db" <"$spec" >"$out" 2>&1 || true
    if [ "${PGPLAY_ISOLATION_ACCEPT:-0}" = 1 ]; then
        cp "$out" "$expected"
        echo "wrote $expected"
        passed=$((passed + 1))
    elif [ -f "$expected" ] && diff -u "$expected" "$out"; then
        passed=$((passed + 1))
    else
        echo "FAIL $spec (PostgreSQL 15's output differs from $expected)"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
