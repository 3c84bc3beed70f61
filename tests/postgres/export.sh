#!/usr/bin/env bash
# `pgplay export` against the real thing: for each seed scenario, export the script, run it on
# PostgreSQL 15 (a new cluster from $PGPLAY_EXPORT_PORT up, default 56400), and compare psql's
# output, statement by statement (`psql --echo-all` and `pgplay -a` print each line before its
# output), with pgplay's transcript once what legitimately differs is masked or left out:
# LSNs, timestamps, `\timing`'s times, the dots pg_ctl prints while it waits, the `HINT:  pgplay:`
# lines only pgplay prints (with the real server's own HINT in their place), psql's "You are
# now connected ..." wording (pgplay names the node, psql the host and port), column padding,
# the ports (the real cluster's from $PGPLAY_EXPORT_PORT are shown as pgplay's from 5432), and
# the output of `\cluster` (no psql equivalent) and `\log NODE` (the real log's lines carry
# timestamps and pids).
# A difference fails and names the statement whose output differs.
#
#   tests/postgres/export.sh [SEED.psql...]   (default: every tests/seeds/*.psql)
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin), PGPLAY_EXPORT_PORT, PGPLAY_BIN
# (use this pgplay instead of building it), PGPLAY_EXPORT_ATTEMPTS (runs per seed before a
# difference fails, default 3), PGPLAY_EXPORT_SLEEP_SCALE (the seeds' pg_sleep times are
# multiplied by it on the real cluster, default 4).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
base="${PGPLAY_EXPORT_PORT:-56400}"

if [ $# -eq 0 ]; then
    set -- "$repo"/tests/seeds/*.psql
fi
if [ ! -x "$pg_bin/postgres" ]; then
    echo "export.sh: PostgreSQL 15 not found in $pg_bin" >&2
    exit 2
fi
if [ -n "${PGPLAY_BIN:-}" ]; then
    bin="$PGPLAY_BIN"
else
    cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p pgplay-cli
    bin="${CARGO_TARGET_DIR:-$repo/target}/release/pgplay"
    case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
fi
source "$repo/tests/postgres/throwaway.sh"
throwaway_dir export

# What differs between pgplay and a real server without being a difference in behaviour.
mask() {
    sed -E \
        -e 's/[0-9A-F]+\/[0-9A-F]+/X\/X/g' \
        -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:.]+([+-][0-9]{2}(:[0-9]{2})?)?/TIMESTAMP/g' \
        -e 's/^(waiting for server to [a-z ]+)\.+ done$/\1... done/' \
        -e 's/^(You are now connected to database "[^"]*" as user "[^"]*").*/\1./' \
        -e 's/^Time: [0-9.]+ ms.*/Time: N ms/' \
        -e 's/-{2,}/--/g' -e 's/ +/ /g' -e 's/ $//'
}

# Splits --echo-all output ($3: psql's, or pgplay's with -a) into the output lines (array $1)
# and, for each, the scenario line whose output it is (array $2), by walking the scenario ($4)
# in step.
split_echo() {
    local -n lines_out="$1" stmts_out="$2"
    local -a input
    mapfile -t input <"$4"
    local line i=0 current="(before the first statement)"
    lines_out=()
    stmts_out=()
    while IFS= read -r line; do
        if [ "$i" -lt "${#input[@]}" ] && [ "$line" = "${input[$i]}" ]; then
            case "$line" in --* | "") ;; *) current="$line" ;; esac
            i=$((i + 1))
            continue
        fi
        lines_out+=("$line")
        stmts_out+=("$current")
    done <"$3"
}

# Leaves out of arrays $1 (lines) and $2 (their statements) the output of statements matching
# the extended pattern $3: what has no counterpart on the other side. pgplay's `\cluster` table
# has none in psql (the export makes it a comment), and `\log NODE` shows pgplay's log where
# the real script shows the end of NODE.log, whose lines carry timestamps, pids and more.
drop_output_of() {
    local -n lines_in="$1" stmts_in="$2"
    local -a kept_lines=() kept_stmts=()
    local k
    for k in "${!lines_in[@]}"; do
        if [[ ! "${stmts_in[$k]}" =~ $3 ]]; then
            kept_lines+=("${lines_in[$k]}")
            kept_stmts+=("${stmts_in[$k]}")
        fi
    done
    lines_in=("${kept_lines[@]}")
    stmts_in=("${kept_stmts[@]}")
}

# Compares expected[] (pgplay's output) with real[] (psql's), both masked, and prints the first
# difference with the statement whose output it is (real_stmt[]).
compare() {
    local e=0 r=0
    while [ "$e" -lt "${#expected[@]}" ] || [ "$r" -lt "${#real[@]}" ]; do
        local want="${expected[$e]-<end of output>}" got="${real[$r]-<end of output>}"
        if [[ "$want" == "HINT: pgplay:"* ]]; then
            e=$((e + 1))
            [[ "$got" == HINT:* ]] && r=$((r + 1))
            continue
        fi
        if [ "$want" != "$got" ]; then
            echo "  the output of: ${real_stmt[$r]-${expected_stmt[$e]-?}}"
            echo "  pgplay:     $want"
            echo "  PostgreSQL: $got"
            return 1
        fi
        e=$((e + 1))
        r=$((r + 1))
    done
}

# The real cluster's ports ($base up) as pgplay numbers them (5432 up), in the real output.
unshift_ports() {
    local k expr=()
    for k in $(seq 0 9); do expr+=(-e "s/\\b$((base + k))\\b/$((5432 + k))/g"); done
    sed -E "${expr[@]}"
}

# One run of seed $1's exported script on a new real cluster ($2, a fresh directory): 0 when
# psql's output matches pgplay's transcript; the difference is in $tmp/$name.diff.
run_once() {
    local seed="$1" cluster="$2" name script status=0
    name="$(basename "$seed" .psql)"
    script="$tmp/$name.sh"
    # The seeds' pg_sleep waits are sized for pgplay's simulated time; a real standby on a
    # loaded machine needs longer, so they are stretched (only psql's output is compared, and a
    # sleep prints the same whatever its length).
    "$bin" export "$seed" |
        perl -pe 's/pg_sleep\(([0-9.]+)\)/"pg_sleep(" . ($1 * '"$sleep_scale"') . ")"/ge' >"$script"
    # Every data directory the run may make, so an interrupted run stops them too.
    for node in primary standby1 standby2 $(grep -o -- '-D [A-Za-z0-9_]*' "$seed" | cut -c4-); do
        throwaway_running+=("$cluster/$node")
    done
    as_pg env PG_BIN="$pg_bin" BASE_PORT="$base" ECHO=1 bash "$script" "$cluster" \
        >"$tmp/$name.real" 2>"$tmp/$name.err" || status=$?
    pg_stop_all
    if [ "$status" -ne 0 ]; then
        { echo "  the exported script exited with $status:"; cat "$tmp/$name.err"; } >"$tmp/$name.diff"
        return 1
    fi
    unshift_ports <"$tmp/$name.real" | mask >"$tmp/$name.real.masked"
    # The scenario lines as psql echoed them, masked alike.
    unshift_ports <"$cluster/scenario.psql" | mask >"$tmp/$name.input.masked"
    split_echo real real_stmt "$tmp/$name.real.masked" "$tmp/$name.input.masked"
    drop_output_of real real_stmt '^\\! tail -n 20 [A-Za-z0-9_]+\.log$'
    # pgplay's side: its transcript of the scenario, echoed as psql's is (`pgplay -a`).
    "$bin" -a <"$seed" | mask >"$tmp/$name.pgplay.masked"
    mask <"$seed" >"$tmp/$name.seed.masked"
    split_echo expected expected_stmt "$tmp/$name.pgplay.masked" "$tmp/$name.seed.masked"
    drop_output_of expected expected_stmt '^\\(cluster|log)( |$)'
    compare >"$tmp/$name.diff"
}

# The seeds wait for real standbys with pg_sleep, as their tutorials do, and a loaded machine
# can make a real standby replay later than the sleep: a seed runs up to $attempts times, and
# only a difference in every run is a failure (each earlier difference is printed).
attempts="${PGPLAY_EXPORT_ATTEMPTS:-3}"
sleep_scale="${PGPLAY_EXPORT_SLEEP_SCALE:-4}"
passed=0
failed=0
for seed in "$@"; do
    name="$(basename "$seed" .psql)"
    ok=0
    for attempt in $(seq 1 "$attempts"); do
        if run_once "$seed" "$tmp/$name.run$attempt"; then
            ok=1
            break
        fi
        echo "run $attempt of $name differed:"
        cat "$tmp/$name.diff"
    done
    if [ "$ok" -eq 1 ]; then
        passed=$((passed + 1))
        echo "ok   $name (run $attempt of at most $attempts)"
    else
        failed=$((failed + 1))
        echo "FAIL $name: psql's output on PostgreSQL 15 differed from pgplay's transcript in each of $attempts runs"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
