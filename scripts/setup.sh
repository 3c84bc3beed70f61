#!/usr/bin/env bash
# Installs whatever pgplay needs and is missing; does nothing else. Safe to run again and again:
# when everything is present it takes a few seconds.
#
# Everything comes from package registries: rustup (the wasm32 target), Debian apt (Chromium,
# chromedriver, PostgreSQL 15), crates.io (trunk, wasm-bindgen-cli) and npm (binaryen's
# wasm-opt 132, playwright-core). Versions are pinned in scripts/env.sh, Cargo.lock and
# package-lock.json. apt needs root (or sudo).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PGPLAY_ROOT"

# --- Rust -----------------------------------------------------------------------------------

setup_rust() {
    command -v cargo >/dev/null && command -v rustup >/dev/null ||
        pgplay_die "cargo and rustup are required (https://rustup.rs); install them first."
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        pgplay_log "rustup: adding target wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    fi
    local component
    for component in rustfmt clippy; do
        if ! rustup component list --installed | grep -q "^$component"; then
            pgplay_log "rustup: adding component $component"
            rustup component add "$component"
        fi
    done
}

# --- Debian packages ------------------------------------------------------------------------

setup_apt() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
    [ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    command -v cc >/dev/null || missing+=(build-essential)
    [ ${#missing[@]} -eq 0 ] && return 0

    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null ||
            pgplay_die "need root to install: ${missing[*]} (run: apt-get install -y ${missing[*]})"
        sudo=(sudo)
    fi
    pgplay_log "apt: installing ${missing[*]}"
    # Wait for another apt or dpkg run rather than failing on its lock.
    local lock=(-o DPkg::Lock::Timeout=1200)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y "${missing[@]}"
}

# --- Cargo-installed tools ------------------------------------------------------------------

# If a `cargo install CRATE` is already running (another script, another terminal), wait for it
# instead of building the same thing twice.
wait_for_cargo_install() {
    local crate="$1" waited=0
    while pgrep -f "cargo install (.* )?$crate( |\$)" >/dev/null 2>&1; do
        if [ "$waited" -eq 0 ]; then
            pgplay_log "waiting for a running 'cargo install $crate' to finish"
        fi
        waited=1
        sleep 5
    done
}

# The version BIN reports ("trunk 0.21.14" gives 0.21.14), empty if BIN is missing.
tool_version() {
    "$1" --version 2>/dev/null | awk '{ print $2; exit }'
}

# Installs CRATE at VERSION unless `BIN --version` already reports it.
# Extra arguments go to cargo install.
cargo_install_pinned() {
    local crate="$1" bin="$2" version="$3"
    shift 3
    [ "$(tool_version "$bin")" = "$version" ] && return 0
    wait_for_cargo_install "$crate"
    [ "$(tool_version "$bin")" = "$version" ] && return 0
    pgplay_log "cargo: installing $crate $version (takes minutes, once)"
    cargo install "$crate" --version "$version" "$@"
    [ "$(tool_version "$bin")" = "$version" ] ||
        pgplay_die "$bin on PATH is not $version after installing it: check PATH ($(command -v "$bin"))"
}

setup_cargo_tools() {
    cargo_install_pinned trunk trunk "$PGPLAY_TRUNK_VERSION" --locked

    local wbg_version
    wbg_version="$(pgplay_locked_wasm_bindgen_version)"
    if [ -z "$wbg_version" ]; then
        pgplay_log "cargo: resolving Cargo.lock to find the wasm-bindgen version"
        cargo fetch --quiet
        wbg_version="$(pgplay_locked_wasm_bindgen_version)"
    fi
    [ -n "$wbg_version" ] || pgplay_die "no wasm-bindgen in Cargo.lock"
    # Without --locked: with it, a dependency pinned in wasm-bindgen-cli's lock file is missing
    # from crates.io.
    cargo_install_pinned wasm-bindgen-cli wasm-bindgen "$wbg_version"
}

# --- npm tools ------------------------------------------------------------------------------

setup_npm() {
    local stamp=node_modules/.package-lock.json
    if [ -f "$stamp" ] && ! [ package-lock.json -nt "$stamp" ] &&
        [ -d node_modules/playwright-core ] &&
        wasm-opt --version 2>/dev/null | grep -q "(version_$PGPLAY_WASM_OPT_VERSION)"; then
        return 0
    fi
    pgplay_log "npm: installing binaryen (wasm-opt $PGPLAY_WASM_OPT_VERSION) and playwright-core"
    npm ci --no-audit --no-fund --loglevel=error
    wasm-opt --version | grep -q "(version_$PGPLAY_WASM_OPT_VERSION)" ||
        pgplay_die "wasm-opt on PATH is not version $PGPLAY_WASM_OPT_VERSION: $(command -v wasm-opt)"
}

setup_rust
setup_apt
setup_cargo_tools
setup_npm
pgplay_log "setup: all tools present"
