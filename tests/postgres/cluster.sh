#!/usr/bin/env bash
# Run pgplay's cluster sqllogictest files on a real PostgreSQL 15 cluster: a
# primary and two streaming standbys on loopback.
#
#   tests/postgres/cluster.sh [FILE...]        (default: tests/cluster/*.slt)
#
# For EACH file, a fresh throwaway cluster is made in a temp dir:
#   primary   127.0.0.1:$PGPLAY_CLUSTER_PORT      (default 55432)
#   standby1  127.0.0.1:$PGPLAY_CLUSTER_PORT+1    pg_basebackup -R -X stream,
#   standby2  127.0.0.1:$PGPLAY_CLUSTER_PORT+2    application_name = node name
# all with fsync=off, TimeZone=UTC and otherwise PostgreSQL's defaults (every
# setting, the port too, is in the data dir's postgresql.conf). Data dirs are
# $dir/<node>, server logs $dir/<node>.log. Once both standbys are streaming, the
# pgplay-conformance binary runs the file with --node primary=...
# --node standby1=... --node standby2=... --cluster-dir $dir, so
# `connection standby1` before a record runs it on standby1, and `system ok`
# records (pg_ctl -D <node> ..., see tests/README.md) run in $dir. Then every server
# is stopped (pg_ctl -m immediate) and the dir removed, also on failure or
# interrupt. Prints `N passed, M failed` over all files; exits 1 if any failed,
# 2 when the cluster could not be set up.
#
# Environment:
#   PGPLAY_CLUSTER_PORT     base port (default 55432; uses base..base+2)
#   PG_BIN                  PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#   PGPLAY_CONFORMANCE_BIN  use this binary instead of building it
#   PGPLAY_CLUSTER_LOGS=1   print the three server logs of a failing file
#   PGPLAY_CLUSTER_LOGS=all print them after every file
#   PGPLAY_CLUSTER_ATTEMPTS runs of a failing file before it counts as failed (default 3)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
base="${PGPLAY_CLUSTER_PORT:-55432}"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
nodes=(primary standby1 standby2)

if [ $# -eq 0 ]; then
    shopt -s nullglob
    set -- "$repo"/tests/cluster/*.slt
    shopt -u nullglob
    if [ $# -eq 0 ]; then
        echo "cluster.sh: no .slt files in $repo/tests/cluster, nothing to run"
        exit 0
    fi
fi
for f in "$@"; do
    [ -f "$f" ] || { echo "cluster.sh: no such file: $f" >&2; exit 2; }
done

if [ ! -x "$pg_bin/postgres" ]; then
    echo "cluster.sh: PostgreSQL 15 not found in $pg_bin (apt-get install postgresql-15)" >&2
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
throwaway_dir cluster

port_of() { # node index -> port
    echo $((base + $1))
}

# Every setting lives in the data directory's postgresql.conf (none on a
# `pg_ctl -o` command line), so a node stopped and started again by a file's
# `system ok pg_ctl ...` records comes back on its own port with its settings.
set_port() { # data dir, port
    as_pg sed -i '/^port = /d' "$1/postgresql.conf"
    as_pg bash -c "echo 'port = $2' >>'$1/postgresql.conf'"
}

# initdb once; every file's primary starts from a copy of this template.
pg_initdb "$tmp/template" --no-sync
as_pg bash -c "cat >>'$tmp/template/postgresql.conf'" <<EOF

# tests/postgres/cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tmp'
fsync = off
timezone = 'UTC'
EOF

setup_cluster() { # dir
    local dir="$1" i name data port
    as_pg mkdir "$dir"
    as_pg cp -a "$tmp/template" "$dir/primary"
    set_port "$dir/primary" "$(port_of 0)"
    pg_start "$dir/primary" "$dir/primary.log"
    for i in 1 2; do
        name="${nodes[$i]}"
        data="$dir/$name"
        port="$(port_of "$i")"
        if ! as_pg "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$(port_of 0)" -U postgres -D "$data" \
            -R -X stream -c fast >"$dir/$name.basebackup.log" 2>&1; then
            echo "cluster.sh: pg_basebackup for $name failed:" >&2
            cat "$dir/$name.basebackup.log" >&2
            exit 2
        fi
        # -R wrote a primary_conninfo; replace it so application_name is the node name.
        as_pg sed -i '/^primary_conninfo/d' "$data/postgresql.auto.conf"
        as_pg bash -c "echo \"primary_conninfo = 'host=127.0.0.1 port=$(port_of 0) user=postgres application_name=$name'\" >>'$data/postgresql.auto.conf'"
        set_port "$data" "$port"
        pg_start "$data" "$dir/$name.log"
    done
    local streaming="" deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        streaming="$("$pg_bin/psql" -h 127.0.0.1 -p "$(port_of 0)" -U postgres -d postgres -XAtq \
            -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null || true)"
        [ "$streaming" = 2 ] && return 0
        sleep 0.1
    done
    echo "cluster.sh: the standbys did not start streaming within 30 s (streaming: ${streaming:-?}); logs:" >&2
    for name in "${nodes[@]}"; do
        echo "--- $name" >&2
        cat "$dir/$name.log" >&2 || true
    done
    exit 2
}

# One run of $1 on a new cluster; prints its report, returns the binary's status.
run_file() {
    local file="$1" i rc
    n=$((n + 1))
    dir="$tmp/c$n"
    setup_cluster "$dir"
    args=()
    for i in 0 1 2; do
        args+=(--node "${nodes[$i]}=host=127.0.0.1 port=$(port_of "$i") user=postgres dbname=postgres")
    done
    set +e
    out="$("$bin" "${args[@]}" --cluster-dir "$dir" --pg-bin "$pg_bin" "$file" 2>&1)"
    rc=$?
    set -e
    if [ "$rc" -ne 0 ]; then
        # The binary's report (FAIL FILE, then the failing record), without its
        # own one-file summary line.
        printf '%s\n' "$out" | grep -v '^[0-9]* passed, [0-9]* failed$' || true
    fi
    case "${PGPLAY_CLUSTER_LOGS:-0}:$rc" in
    all:* | 1:[1-9]*)
        for name in "${nodes[@]}"; do
            echo "--- $name log"
            cat "$dir/$name.log" || true
        done
        ;;
    esac
    pg_stop_all
    rm -rf "$dir"
    return "$rc"
}

# The files wait for real standbys with short sleeps; on a loaded machine (the test command
# runs four real-server suites at once) a standby can replay later than the sleep, so a file
# that fails runs again on a new cluster, up to $attempts times; only a failure in every run
# counts (each earlier failure is printed).
attempts="${PGPLAY_CLUSTER_ATTEMPTS:-3}"
passed=0
failed=0
n=0
for file in "$@"; do
    t0=$SECONDS
    ok=0
    for attempt in $(seq 1 "$attempts"); do
        if run_file "$file"; then
            ok=1
            break
        fi
        echo "(run $attempt of at most $attempts of ${file#"$repo"/} failed)"
    done
    if [ "$ok" -eq 1 ]; then
        passed=$((passed + 1))
        echo "ok   ${file#"$repo"/} ($((SECONDS - t0)) s, run $attempt)"
    else
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
