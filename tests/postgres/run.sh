#!/usr/bin/env bash
# Run pgplay's sqllogictest files against a real PostgreSQL 15 server.
#
#   tests/postgres/run.sh [FILE...]        (default: tests/slt/*.slt)
#
# Creates a throwaway cluster (initdb --no-locale --encoding=UTF8) in a temp dir,
# starts it on 127.0.0.1:$PGPLAY_PG_PORT (default 54329), runs the
# pgplay-conformance binary on the files (each file in a fresh database), then
# stops the server and removes the cluster, also on failure or interrupt.
# Works as root (the server runs as user postgres) or as an ordinary user.
#
# Environment:
#   PGPLAY_PG_PORT   port to listen on (default 54329)
#   PG_BIN           PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#   PGPLAY_CONFORMANCE_BIN  use this binary instead of building it
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
port="${PGPLAY_PG_PORT:-54329}"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

if [ $# -eq 0 ]; then
    shopt -s nullglob
    set -- "$repo"/tests/slt/*.slt
    shopt -u nullglob
    if [ $# -eq 0 ]; then
        echo "run.sh: no .slt files in $repo/tests/slt" >&2
        exit 2
    fi
fi
for f in "$@"; do
    [ -f "$f" ] || { echo "run.sh: no such file: $f" >&2; exit 2; }
done

if [ ! -x "$pg_bin/postgres" ]; then
    echo "run.sh: PostgreSQL 15 not found in $pg_bin (apt-get install postgresql-15)" >&2
    exit 2
fi

# Build the harness first, so a build failure leaves no server behind.
if [ -n "${PGPLAY_CONFORMANCE_BIN:-}" ]; then
    bin="$PGPLAY_CONFORMANCE_BIN"
else
    cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p pgplay-conformance
    bin="${CARGO_TARGET_DIR:-$repo/target}/release/pgplay-conformance"
    case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
fi

# PostgreSQL refuses to run as root: run the server as user postgres then.
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "run.sh: running as root needs a 'postgres' user" >&2; exit 2; }
    as_pg() { su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; }
else
    as_pg() { "$@"; }
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pgplay-pg15.XXXXXX")"
chmod 755 "$tmp"
[ "$(id -u)" -eq 0 ] && chown postgres: "$tmp"
data="$tmp/data"
log="$tmp/server.log"
started=0

cleanup() {
    status=$?
    if [ "$started" -eq 1 ]; then
        as_pg "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_pg "$pg_bin/initdb" -D "$data" -U postgres --auth=trust --no-locale --encoding=UTF8 >"$tmp/initdb.log" 2>&1 || {
    cat "$tmp/initdb.log" >&2
    exit 2
}

started=1
if ! as_pg "$pg_bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$tmp -c fsync=off -c TimeZone=UTC" \
    start >/dev/null; then
    echo "run.sh: PostgreSQL did not start; server log:" >&2
    cat "$log" >&2 || true
    exit 2
fi

"$bin" --conninfo "host=127.0.0.1 port=$port user=postgres dbname=postgres" "$@"
