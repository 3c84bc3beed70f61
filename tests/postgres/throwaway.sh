# shellcheck shell=bash
# Throwaway PostgreSQL 15 servers, for the scripts that hold pgplay against the real thing
# (tests/postgres/run.sh and cluster.sh, scripts/bench-postgres.sh, scripts/gen-pg-proc.sh).
# Source it with `pg_bin` set to PostgreSQL's binaries. PostgreSQL refuses to run as root, so when
# we are root every server command runs as user `postgres`.
#
#   throwaway_dir NAME [PARENT]   $tmp = a new PARENT/pgplay-NAME.XXXXXX (default parent $TMPDIR or
#                                 /tmp) that user postgres can write; on exit, Ctrl+C or TERM every
#                                 server pg_start started is stopped and $tmp removed
#   as_pg CMD...                  CMD as user postgres when we are root, else as ourselves
#   pg_initdb DATA [ARGS...]      initdb (trust, no locale, UTF8); on failure its log, exit 2
#   pg_start DATA LOG [OPTIONS]   pg_ctl start, OPTIONS passed with -o; on failure LOG, exit 2
#   pg_stop_all                   stops (immediate) every server pg_start started

throwaway_me="${0##*/}"

if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 ||
        { echo "$throwaway_me: running as root needs a 'postgres' user" >&2; exit 2; }
    as_pg() { su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; }
else
    as_pg() { "$@"; }
fi

throwaway_running=()

pg_stop_all() {
    local data
    for data in "${throwaway_running[@]}"; do
        as_pg "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    done
    throwaway_running=()
}

throwaway_cleanup() {
    local status=$?
    pg_stop_all
    [ -n "${tmp:-}" ] && rm -rf "$tmp"
    exit "$status"
}

throwaway_dir() { # NAME [PARENT]
    tmp="$(mktemp -d "${2:-${TMPDIR:-/tmp}}/pgplay-$1.XXXXXX")"
    chmod 755 "$tmp"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp"; fi
    trap throwaway_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

pg_initdb() { # DATA [ARGS...]
    local data="$1"
    shift
    as_pg "$pg_bin/initdb" -D "$data" -U postgres --auth=trust --no-locale --encoding=UTF8 "$@" \
        >"$tmp/initdb.log" 2>&1 || {
        cat "$tmp/initdb.log" >&2
        exit 2
    }
}

pg_start() { # DATA LOG [OPTIONS]
    throwaway_running+=("$1")
    local options=()
    [ -n "${3:-}" ] && options=(-o "$3")
    as_pg "$pg_bin/pg_ctl" -D "$1" -l "$2" -w -t 60 "${options[@]}" start >/dev/null || {
        echo "$throwaway_me: the server in $1 did not start; its log:" >&2
        cat "$2" >&2 || true
        exit 2
    }
}
