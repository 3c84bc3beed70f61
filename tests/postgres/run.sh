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

source "$repo/tests/postgres/throwaway.sh"
throwaway_dir pg15
pg_initdb "$tmp/data"
pg_start "$tmp/data" "$tmp/server.log" \
    "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$tmp -c fsync=off -c TimeZone=UTC"

"$bin" --conninfo "host=127.0.0.1 port=$port user=postgres dbname=postgres" "$@"
