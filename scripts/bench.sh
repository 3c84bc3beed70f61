#!/usr/bin/env bash
# The benchmark, native then wasm (Node): single-row autocommit INSERT transactions per second
# and a full scan with a filter and an aggregate, then replication throughput and commit-to-replay
# lag on the simulated cluster (primary + 2 standbys). The first two drivers run the same workload
# (pgplay_node::bench) and time it themselves; the engine never reads a clock.
#
#   scripts/bench.sh              10,000 rows
#   scripts/bench.sh --rows N     N rows
#
# Native: `pgplay bench` (crates/cli), release build. Wasm: web/bench built for
# wasm32-unknown-unknown (release), `wasm-bindgen --target nodejs` into TARGET/bench-wasm, then
# scripts/bench-wasm.mjs under Node. Last the browser cluster: `trunk build --release` (the
# `web` cargo profile, fat LTO) and scripts/bench-browser.mjs, which also runs PGlite and a real
# PostgreSQL 15 cluster (scripts/bench-postgres.sh) and prints the four targets with ratios.
# Runs scripts/setup.sh first only if a tool is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PGPLAY_ROOT"

rows=10000
while [ $# -gt 0 ]; do
    case $1 in
        --rows)
            [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] && [ ${#2} -le 9 ] ||
                pgplay_die "--rows needs a whole number below 1,000,000,000"
            rows=$2
            shift 2
            ;;
        -h | --help)
            sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *) pgplay_die "unknown argument '$1' (usage: scripts/bench.sh [--rows N])" ;;
    esac
done

wbg_version="$(pgplay_locked_wasm_bindgen_version)"
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
    [ "$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }')" != "$wbg_version" ] ||
    ! command -v node >/dev/null; then
    pgplay_log "a tool is missing: running scripts/setup.sh"
    bash scripts/setup.sh
fi

target_dir="$(pgplay_target_dir)"

pgplay_log "building (release): pgplay-cli natively, pgplay-bench-wasm for wasm32"
cargo build --release --quiet -p pgplay-cli
cargo build --release --quiet --target wasm32-unknown-unknown -p pgplay-bench-wasm
wasm-bindgen --target nodejs --out-dir "$target_dir/bench-wasm" \
    "$target_dir/wasm32-unknown-unknown/release/pgplay_bench_wasm.wasm"

pgplay_log "native"
"$target_dir/release/pgplay" bench --rows "$rows"
pgplay_log "wasm (Node $(node --version))"
node scripts/bench-wasm.mjs "$target_dir/bench-wasm" --rows "$rows"
pgplay_log "replication (simulated cluster: primary + 2 standbys, native)"
"$target_dir/release/pgplay" bench --replication --rows "$rows"
pgplay_log "browser cluster (headless Chromium: primary + 2 standbys in Web Workers) and PGlite"
PATH="$PGPLAY_ROOT/node_modules/.bin:$PATH" trunk build --release
node scripts/bench-browser.mjs dist --rows "$rows"
