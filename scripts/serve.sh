#!/usr/bin/env bash
# Builds the playground and serves it with Trunk, rebuilding on every change.
# Installs missing tools first (scripts/setup.sh).
#
#   scripts/serve.sh                   http://127.0.0.1:8080/
#   PORT=9000 scripts/serve.sh         another port
#   ADDRESS=0.0.0.0 scripts/serve.sh   listen on every interface (a container, a VM)
#   scripts/serve.sh --release         extra arguments go to `trunk serve`
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PGPLAY_ROOT"

port="${PGPLAY_PORT:-${PORT:-8080}}"
address="${PGPLAY_ADDRESS:-${ADDRESS:-127.0.0.1}}"

bash scripts/setup.sh
# Trunk builds offline (Trunk.toml): download the crates first.
cargo fetch --quiet

pgplay_log "pgplay: serving on http://$address:$port/ (Ctrl-C stops)"
exec trunk serve --address "$address" --port "$port" "$@"
