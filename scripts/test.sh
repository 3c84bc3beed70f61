#!/usr/bin/env bash
# Runs every pgplay test, in order, stopping at the first failure, then prints a summary with
# each step's time. Installs missing tools first (scripts/setup.sh).
#
#   scripts/test.sh              all steps
#   scripts/test.sh fmt unit     only the named steps (names as in the summary)
#   PGPLAY_SKIP_SETUP=1 ...      skip scripts/setup.sh
#
# .ci/run calls this script.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PGPLAY_ROOT"

# --- Steps ----------------------------------------------------------------------------------
# Each step is a function `step_NAME`, run with `set -e` in a subshell. A step that is not
# ready yet calls `skip REASON`.

readonly SKIPPED=77

skip() {
    printf '%sskipped:%s %s\n' "$PGPLAY_YELLOW" "$PGPLAY_RESET" "$*"
    exit "$SKIPPED"
}

step_setup() {
    bash scripts/setup.sh
}

step_fmt() {
    cargo fmt --all -- --check
}

step_fetch() {
    # Download every crate once, for every target, so the builds below (Trunk's in particular,
    # which runs offline) need no network.
    cargo fetch
}

step_unit() {
    # Unit, property and integration tests of the default members, natively. pgplay-web builds
    # as a stub on the host (its UI code is wasm32-only), so --workspace includes it harmlessly.
    cargo test --workspace
}

step_clippy() {
    # Clippy with the workspace's lints (`[workspace.lints]` in Cargo.toml), warnings denied:
    # every crate and target natively, then the page's crates for wasm32, where the UI code is
    # (natively pgplay-web is a stub). After `unit`: the proc macros and build scripts it
    # compiled serve clippy too.
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --target wasm32-unknown-unknown -p pgplay-web -p pgplay-bench-wasm \
        --all-targets -- -D warnings
}

step_wasm() {
    # The core must build for the browser, and so must the benchmark's wasm driver.
    cargo build --target wasm32-unknown-unknown \
        -p pgplay-wal -p pgplay-engine -p pgplay-psql -p pgplay-replication -p pgplay-node \
        -p pgplay-cluster -p pgplay-sim -p pgplay-bench-wasm
    # That driver runs under Node on 100 rows and checks the scan's result: a check, not a
    # measurement (scripts/bench.sh measures, with a release build).
    local target
    target="$(pgplay_target_dir)"
    wasm-bindgen --target nodejs --out-dir "$target/bench-wasm-debug" \
        "$target/wasm32-unknown-unknown/debug/pgplay_bench_wasm.wasm"
    node scripts/bench-wasm.mjs "$target/bench-wasm-debug" --rows 100
}

step_wasm_tests() {
    # wasm-bindgen-test: the core streaming over the browser wire encoding, in Node, in headless
    # Chromium, and inside a dedicated Web Worker.
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
    export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
    cargo test --target wasm32-unknown-unknown -p pgplay-web --test node --test browser --test worker
}

step_web() {
    # The playground page exactly as it is deployed: release build, wasm-opt, offline.
    trunk build --release
    ls dist/*.wasm >/dev/null 2>&1 || { echo "trunk build produced no .wasm in dist/" >&2; exit 1; }
}

step_page() {
    # The built page boots in headless Chromium: the Yew app renders, with no page or console
    # error. Screenshot in target/artifacts/.
    node scripts/smoke-page.mjs dist target/artifacts/smoke-page.png
}

# ---- Hook: .slt conformance on pgplay's simulated cluster ----------------------------------
step_slt_pgplay() {
    # Every .slt file except the known gaps listed in tests/pgplay-pending.txt, each on a fresh
    # simulated cluster (primary, standby1, standby2).
    local files=()
    for file in tests/slt/*.slt tests/cluster/*.slt; do
        grep -q "^$file " tests/pgplay-pending.txt || files+=("$file")
    done
    cargo run --release --quiet -p pgplay-cli -- test "${files[@]}"
    # Several sessions at once (lock waits): PostgreSQL's isolation-tester specs, whose
    # expected output PostgreSQL 15's own isolationtester wrote.
    cargo run --release --quiet -p pgplay-cli -- isolation tests/isolation/specs/*.spec
}

# ---- Hook: the same .slt files on a real PostgreSQL 15 cluster on loopback ----------------
step_slt_postgres() {
    [ -f tests/postgres/run.sh ] || skip "tests/postgres/run.sh does not exist yet"
    # Three independent runs, each with its own servers and ports, at once: they spend much of
    # their time starting servers and waiting for standbys, which leaves the CPU to the others.
    #   run.sh:       one server for tests/slt (a fresh database per file);
    #   cluster.sh:   a fresh primary + two streaming standbys per tests/cluster file;
    #   isolation.sh: the isolation specs, with PostgreSQL 15's isolationtester, against their
    #                 expected output;
    #   export.sh:    `pgplay export` of the seeds: each script run on PostgreSQL 15, its psql
    #                 output against the seed's transcript (a seed that differs runs again, up
    #                 to three times: its pg_sleep waits can lose the race with a real standby's
    #                 replay on a loaded machine).
    cargo build --release --quiet -p pgplay-conformance -p pgplay-cli
    local bin target log_dir name status=0
    target="$(pgplay_target_dir)"
    bin="$target/release/pgplay-conformance"
    log_dir="$PGPLAY_ROOT/target/test-logs"
    mkdir -p "$log_dir"
    local -A pids=()
    PGPLAY_CONFORMANCE_BIN="$bin" PG_BIN="$PGPLAY_PG_BIN" PGPLAY_PG_PORT=54329 \
        bash tests/postgres/run.sh >"$log_dir/slt_postgres-run.log" 2>&1 &
    pids[run]=$!
    PGPLAY_CONFORMANCE_BIN="$bin" PG_BIN="$PGPLAY_PG_BIN" PGPLAY_CLUSTER_PORT=55432 \
        bash tests/postgres/cluster.sh >"$log_dir/slt_postgres-cluster.log" 2>&1 &
    pids[cluster]=$!
    PG_BIN="$PGPLAY_PG_BIN" PGPLAY_PG_PORT=54339 \
        bash tests/postgres/isolation.sh >"$log_dir/slt_postgres-isolation.log" 2>&1 &
    pids[isolation]=$!
    PGPLAY_BIN="$target/release/pgplay" PG_BIN="$PGPLAY_PG_BIN" PGPLAY_EXPORT_PORT=56400 \
        bash tests/postgres/export.sh >"$log_dir/slt_postgres-export.log" 2>&1 &
    pids[export]=$!
    for name in run cluster isolation export; do
        if ! wait "${pids[$name]}"; then
            status=1
        fi
        echo "--- tests/postgres/$name.sh"
        cat "$log_dir/slt_postgres-$name.log"
    done
    return "$status"
}

# ---- The seed tutorials, replayed on pgplay's REPL ---------------------------------------------
step_seeds() {
    # Each tests/seeds/*.psql must print exactly its .out (deterministic simulated time).
    cargo build --release --quiet -p pgplay-cli
    local bin status=0
    bin="$(pgplay_target_dir)/release/pgplay"
    for script in tests/seeds/*.psql; do
        if ! "$bin" < "$script" | diff -u "${script%.psql}.out" -; then
            echo "seed transcript differs: $script" >&2
            status=1
        fi
    done
    return "$status"
}

# ---- Seeded fault runs on the simulator -----------------------------------------------------
step_sim() {
    # 2,000 seeds of a primary and two standbys under faults (partitions, cut connections, crashes,
    # restarts, latency, checkpoints, WAL switches), every replication invariant checked after every
    # step, one seed per core at a time; about a minute on a 2-core machine. A failure prints its
    # trace and the `pgplay sim --seed N` command that replays it. Longer campaigns: see README.
    cargo run --release --quiet -p pgplay-cli -- sim --seeds 2000 --steps 200 --jobs "$(nproc)"
}

# ---- Hook: end-to-end tests of the built page in headless Chromium (Playwright) ------------
step_e2e() {
    # The browser cluster in headless Chromium: a primary and two standbys in Web Workers; write,
    # read on the standbys, the read-only error, a partition healed, promotion, a crashed standby
    # restarted. Screenshot in target/artifacts/.
    node tests/e2e/cluster.mjs dist target/artifacts/e2e-cluster.png
    # The playground UI, by accessible names: seed 003's flow, promotion, crash and restart, the
    # WAL stream and the logs; screenshots in light and dark schemes.
    node tests/e2e/playground.mjs dist target/artifacts
    # The psql console on a phone (Enter, continuation prompts, history, Tab, \timing, a typed
    # lesson step), and the embed mode (720×480 and 320 px, the script player, postMessage from
    # an allowed and a refused origin).
    node tests/e2e/console.mjs dist target/artifacts
    # A failover to its end: a node's shell, a link's details (cut and healed there), the
    # crashed primary's card promoting a standby, and the old primary rejoining by "Rejoin".
    node tests/e2e/failover.mjs dist target/artifacts
    node tests/e2e/embed.mjs dist target/artifacts
    # The JavaScript package (dist/package) as another project uses it: a host page on another
    # origin imports it, starts a cluster headlessly (the standby's 25006, a promotion) and
    # renders a <pgplay-console>.
    node tests/e2e/package.mjs dist target/artifacts
    # The scenarios both hosts run (tests/hosts/*.txt): the page must print what the simulator
    # prints (crates/sim/tests/both_hosts.rs checks the simulator's side).
    node tests/e2e/both-hosts.mjs dist
}

ALL_STEPS=(setup fmt fetch web unit clippy wasm wasm_tests slt_pgplay seeds sim slt_postgres page e2e)

# Steps that run in the background, beside the ones after them, when a later step is also to
# run: Trunk's release build spends minutes linking one codegen unit on one core, which leaves
# the other core to the native tests. Steps that read its output wait for it first.
BACKGROUND_STEPS=(web)
NEEDS_BACKGROUND=(page e2e)

# --- Driver ---------------------------------------------------------------------------------

steps=("$@")
if [ ${#steps[@]} -eq 0 ]; then
    steps=("${ALL_STEPS[@]}")
    [ "${PGPLAY_SKIP_SETUP:-0}" = 1 ] && steps=("${steps[@]:1}")
fi
for step in "${steps[@]}"; do
    declare -F "step_$step" >/dev/null ||
        pgplay_die "unknown step '$step' (steps: ${ALL_STEPS[*]})"
done

summary=()
failed=""
started_all=$SECONDS
log_dir="$PGPLAY_ROOT/target/test-logs"
background_pids=()
background_names=()
background_started=()

print_summary() {
    local line
    echo
    echo "================================ pgplay test summary ================================"
    for line in "${summary[@]}"; do
        echo "$line"
    done
    printf '%-14s %6ss\n' "total" "$((SECONDS - started_all))"
    if [ -n "$failed" ]; then
        printf '%sFAILED%s at step %s (steps after it did not run)\n' "$PGPLAY_RED" "$PGPLAY_RESET" "$failed"
    else
        printf '%sOK%s\n' "$PGPLAY_GREEN" "$PGPLAY_RESET"
    fi
}

contains() { # word, list...
    local word="$1" item
    shift
    for item in "$@"; do
        [ "$item" = "$word" ] && return 0
    done
    return 1
}

# Records a finished step's line in the summary; on failure prints the summary and exits.
record() { # step, status, elapsed, [note]
    local result
    case $2 in
        0) result="ok" ;;
        "$SKIPPED") result="skipped" ;;
        *) result="FAILED (exit $2)" ;;
    esac
    summary+=("$(printf '%-14s %6ss   %s%s' "$1" "$3" "$result" "${4:-}")")
    if [ "$2" -ne 0 ] && [ "$2" -ne "$SKIPPED" ]; then
        failed=$1
        print_summary
        exit 1
    fi
}

# Waits for every background step, prints its log and records it.
wait_background() {
    local i status
    for i in "${!background_pids[@]}"; do
        pgplay_log "waiting for background step: ${background_names[$i]}"
        set +e
        wait "${background_pids[$i]}"
        status=$?
        set -e
        cat "$log_dir/${background_names[$i]}.log"
        record "${background_names[$i]}" "$status" "$((SECONDS - background_started[$i]))" \
            "   (in the background)"
    done
    background_pids=()
    background_names=()
    background_started=()
}

# A background step still running when this script ends (a failure, Ctrl+C) must not outlive
# it: each runs in its own process group, stopped whole.
stop_background() {
    local pid
    for pid in "${background_pids[@]}"; do
        kill -- -"$pid" 2>/dev/null || true
    done
}
trap stop_background EXIT

last_step="${steps[${#steps[@]} - 1]}"
for step in "${steps[@]}"; do
    if contains "$step" "${NEEDS_BACKGROUND[@]}"; then
        wait_background
    fi
    if contains "$step" "${BACKGROUND_STEPS[@]}" && [ "$step" != "$last_step" ]; then
        pgplay_log "step: $step (in the background; log in target/test-logs/$step.log)"
        mkdir -p "$log_dir"
        set -m
        (set -e; "step_$step") >"$log_dir/$step.log" 2>&1 &
        set +m
        background_pids+=("$!")
        background_names+=("$step")
        background_started+=("$SECONDS")
        continue
    fi
    pgplay_log "step: $step"
    started=$SECONDS
    set +e
    (set -e; "step_$step")
    status=$?
    set -e
    record "$step" "$status" "$((SECONDS - started))"
done
wait_background
print_summary
