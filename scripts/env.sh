# shellcheck shell=bash
# Shared environment for pgplay's scripts. Source it; do not run it.
#
# Sets PGPLAY_ROOT (the repository root), puts the project's tools first on PATH (npm's
# node_modules/.bin for wasm-opt 132, then cargo's bin directory for trunk and wasm-bindgen), and
# names the browser and PostgreSQL binaries the tests use.

PGPLAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGPLAY_ROOT

export PATH="$PGPLAY_ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Pinned tool versions: the newest that build with Rust 1.95 here. wasm-bindgen's version is read from Cargo.lock instead.
export PGPLAY_TRUNK_VERSION="0.21.14"
export PGPLAY_WASM_OPT_VERSION="132"

# The only machine paths the project relies on: Debian's Chromium and PostgreSQL 15.
export PGPLAY_CHROMIUM="${PGPLAY_CHROMIUM:-/usr/bin/chromium}"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export PGPLAY_PG_BIN="${PGPLAY_PG_BIN:-/usr/lib/postgresql/15/bin}"

# Quieter, non-interactive package tools.
export DEBIAN_FRONTEND=noninteractive
export npm_config_fund=false
export npm_config_audit=false
export npm_config_update_notifier=false

# Colours only on a terminal, so CI logs stay plain text.
if [ -t 2 ]; then
    PGPLAY_BLUE=$'\033[1;34m' PGPLAY_RED=$'\033[1;31m' PGPLAY_GREEN=$'\033[1;32m'
    PGPLAY_YELLOW=$'\033[1;33m' PGPLAY_RESET=$'\033[0m'
else
    PGPLAY_BLUE='' PGPLAY_RED='' PGPLAY_GREEN='' PGPLAY_YELLOW='' PGPLAY_RESET=''
fi

pgplay_log() {
    printf '%s==>%s %s\n' "$PGPLAY_BLUE" "$PGPLAY_RESET" "$*" >&2
}

pgplay_die() {
    printf '%serror:%s %s\n' "$PGPLAY_RED" "$PGPLAY_RESET" "$*" >&2
    exit 1
}

# The wasm-bindgen version locked in Cargo.lock (empty if none).
pgplay_locked_wasm_bindgen_version() {
    awk '
        /^\[\[package\]\]/ { name = "" }
        /^name = / { name = $3 }
        /^version = / && name == "\"wasm-bindgen\"" { gsub(/"/, "", $3); print $3; exit }
    ' "$PGPLAY_ROOT/Cargo.lock" 2>/dev/null
}

# Cargo's target directory (CARGO_TARGET_DIR, or a config's build.target-dir, or ./target).
pgplay_target_dir() {
    cargo metadata --format-version 1 --no-deps --manifest-path "$PGPLAY_ROOT/Cargo.toml" |
        node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => console.log(JSON.parse(s).target_directory))'
}
