//! `pgplay export SCENARIO.psql`: a bash script that builds the same cluster with real
//! PostgreSQL on the learner's machine and replays the scenario there with psql, so what was
//! learnt in the simulator can be tried on real servers.
//!
//! The script is written for a learner to read: each part says what it does. It makes the
//! preset's nodes the way pgplay does (`initdb` of `primary`; each standby by
//! `pg_basebackup -R -X stream` with `application_name=<its name>`; ports per
//! `pgplay_cluster::ports`, moved by the script's `BASE_PORT`), then feeds the scenario to psql.
//! Lines that only mean something in the simulator are translated: `\c NODE` becomes a
//! connection to that node's port, `pg_ctl start` gets a log file (else the server's log would
//! land in psql's output; psql connects again when it restarts the node psql is on, as
//! pgplay's session survives it), a `pg_basebackup -D X` gets the port pgplay would give X, and
//! pgplay's own commands (`\cluster`, `\log`, `pgplay-net`) become comments or their nearest
//! real equivalent.
//!
//! This module is pure text in, text out; `main.rs` reads the file and prints the script.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pgplay_cluster::ports::{next_server_port, FIRST_SERVER_PORT};
use pgplay_cluster::preset::{Preset, PRIMARY};

/// The nodes of the cluster as the scenario goes on: name → port (pgplay's numbering).
struct Ports(BTreeMap<String, u16>);

/// What the translation keeps track of: the nodes' ports and the node psql is connected to.
struct State {
    ports: Ports,
    current: String,
}

impl Ports {
    fn of_preset(preset: Preset) -> Ports {
        let mut ports = Ports(BTreeMap::new());
        ports.add(PRIMARY);
        for (name, _) in preset.standbys() {
            ports.add(name);
        }
        ports
    }

    /// Gives `name` the next server port (if it has none) and returns its port.
    fn add(&mut self, name: &str) -> u16 {
        if let Some(port) = self.0.get(name) {
            return *port;
        }
        let port = next_server_port(self.0.values().copied());
        self.0.insert(name.to_string(), port);
        port
    }

    fn get(&self, name: &str) -> Option<u16> {
        self.0.get(name).copied()
    }

    fn count(&self) -> u16 {
        self.0
            .values()
            .max()
            .map_or(0, |highest| highest - FIRST_SERVER_PORT + 1)
    }
}

/// The whole script for `scenario` (the text of `source_name`) on `preset`.
pub fn script(source_name: &str, scenario: &str, preset: Preset) -> String {
    let mut ports = Ports::of_preset(preset);
    let replay = translate(scenario, &mut ports);
    let mut out = String::new();
    header(&mut out, source_name, preset);
    primary(&mut out);
    standbys(&mut out, preset);
    scenario_part(&mut out, &replay, ports.count());
    out
}

fn header(out: &mut String, source_name: &str, preset: Preset) {
    let _ = write!(
        out,
        r#"#!/usr/bin/env bash
# {source_name} on real PostgreSQL 15, written by `pgplay export`.
#
# It builds the cluster pgplay's "{preset}" preset simulates, on this machine, in a new
# directory (default ./pgplay-cluster), then replays the scenario there with psql:
#   1. initdb of the primary, with the settings pgplay uses;
#   2. each standby: a copy of its upstream by pg_basebackup -R (which also writes
#      standby.signal and primary_conninfo), its own port, pg_ctl start;
#   3. the scenario, through psql, in the cluster directory (so `\! pg_ctl -D standby1 ...`
#      finds standby1).
# The servers keep running afterwards; stop them with
#   for d in DIR/*/; do "$PG_BIN/pg_ctl" -D "$d" stop; done
#
# Usage (as an ordinary user, not root):
#   PG_BIN=/usr/lib/postgresql/15/bin BASE_PORT=5432 bash THIS_SCRIPT [DIR]
#   PG_BIN     PostgreSQL's bin directory (default /usr/lib/postgresql/15/bin)
#   BASE_PORT  the primary's port; pgplay's 5432, 5433, ... become BASE_PORT, BASE_PORT+1, ...
#   ECHO=1     psql prints each scenario line before its output
# Progress goes to stderr, psql's output of the scenario to stdout; each server's log is
# DIR/NODE.log.
set -euo pipefail

PG_BIN="${{PG_BIN:-/usr/lib/postgresql/15/bin}}"
BASE_PORT="${{BASE_PORT:-5432}}"
DIR="${{1:-pgplay-cluster}}"

say() {{ echo "== $*" >&2; }}
die() {{ echo "$0: $*" >&2; exit 1; }}

# Safety first: PostgreSQL refuses to run as root, and we never touch an existing directory.
[ "$(id -u)" -ne 0 ] || die "run this as an ordinary user: PostgreSQL does not run as root"
[ -x "$PG_BIN/initdb" ] || die "no initdb in $PG_BIN: set PG_BIN to PostgreSQL 15's bin directory"
[ ! -e "$DIR" ] || die "$DIR already exists; refusing to overwrite it (remove it or name another)"

# Every command below finds PostgreSQL's tools on PATH and connects as user postgres (initdb
# -U postgres) over TCP to 127.0.0.1.
export PATH="$PG_BIN:$PATH" PGUSER=postgres PGDATABASE=postgres PGHOST=127.0.0.1
mkdir -p "$DIR"
cd "$DIR"

# port_of K: the port of pgplay's server number K (5432 + K there).
port_of() {{ echo $((BASE_PORT + $1)); }}

"#,
        preset = preset.name(),
    );
}

fn primary(out: &mut String) {
    out.push_str(
        r#"# --- 1. The primary ------------------------------------------------------------------------
# initdb as pgplay's nodes are made: user postgres, no locale, UTF8, trust for local
# connections (both the Unix socket and loopback TCP: fine for a playground, never for
# production).
say "initdb primary"
initdb -D primary -U postgres --no-locale --encoding=UTF8 --auth=trust >primary.initdb.log
# Settings that differ from PostgreSQL's defaults. Appended to postgresql.conf (the last line
# wins), so a copy made by pg_basebackup starts with them too:
#   port                      pgplay's primary listens on 5432 (here BASE_PORT)
#   listen_addresses          loopback only
#   unix_socket_directories   none: every connection is TCP, as in pgplay
#   timezone                  pgplay's servers run on UTC
cat >>primary/postgresql.conf <<EOF

# Added by the pgplay export script
port = $(port_of 0)
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
timezone = 'UTC'
EOF
say "pg_ctl start primary (port $(port_of 0))"
pg_ctl -D primary -l primary.log -w start >/dev/null || { cat primary.log >&2; die "primary did not start"; }

"#,
    );
}

fn standbys(out: &mut String, preset: Preset) {
    if preset.standbys().is_empty() {
        return;
    }
    out.push_str(
        r#"# --- 2. The standbys ----------------------------------------------------------------------
# make_standby NAME K UPSTREAM UPSTREAM_K: copy UPSTREAM with pg_basebackup. -R writes
# standby.signal and primary_conninfo (from the connection it used, so application_name=NAME
# is in it: pg_stat_replication shows the standby by name); -X stream copies the WAL written
# meanwhile. Then the copy gets its own port and starts, and we wait until it streams.
make_standby() {
    local name="$1" port upstream="$3" upstream_port
    port="$(port_of "$2")"
    upstream_port="$(port_of "$4")"
    say "pg_basebackup $name from $upstream, pg_ctl start $name (port $port)"
    pg_basebackup -d "host=127.0.0.1 port=$upstream_port user=postgres application_name=$name" \
        -D "$name" -R -X stream
    echo "port = $port" >>"$name/postgresql.conf"
    pg_ctl -D "$name" -l "$name.log" -w start >/dev/null || { cat "$name.log" >&2; die "$name did not start"; }
    local i
    for i in $(seq 300); do
        [ "$(psql -X -p "$upstream_port" -Atc "SELECT count(*) FROM pg_stat_replication
               WHERE application_name = '$name' AND state = 'streaming'")" = 1 ] && return 0
        sleep 0.1
    done
    die "$name did not start streaming from $upstream within 30 s; see $DIR/$name.log"
}
"#,
    );
    let mut index: BTreeMap<&str, usize> = BTreeMap::from([(PRIMARY, 0)]);
    for (k, (name, upstream)) in preset.standbys().iter().enumerate() {
        index.insert(name, k + 1);
        let _ = writeln!(
            out,
            "make_standby {name} {} {upstream} {}",
            k + 1,
            index[upstream]
        );
    }
    if !preset.primary_setup().is_empty() {
        out.push_str("# The preset's settings on the primary, once every standby streams.\n");
        for line in preset.primary_setup() {
            let _ = writeln!(
                out,
                "psql -X -q -p \"$(port_of 0)\" -c {} >/dev/null",
                quote(line)
            );
        }
    }
    out.push('\n');
}

fn scenario_part(out: &mut String, replay: &str, servers: u16) {
    let _ = write!(
        out,
        r#"# --- 3. The scenario ----------------------------------------------------------------------
# The scenario as pgplay ran it, with the translations marked "pgplay export:". Its ports are
# pgplay's (5432 up); shift_ports moves them to BASE_PORT up before psql reads it.
cat >scenario.pgplay.psql <<'PGPLAY_SCENARIO'
{replay}PGPLAY_SCENARIO

shift_ports() {{
    local k expr=()
    for k in $(seq 0 {last}); do expr+=(-e "s/\b$((5432 + k))\b/@port$k@/g"); done
    for k in $(seq 0 {last}); do expr+=(-e "s/@port$k@/$(port_of "$k")/g"); done
    sed "${{expr[@]}}"
}}
shift_ports <scenario.pgplay.psql >scenario.psql

# wait-for-streaming.sh NODE PORT: after pg_ctl starts NODE, wait up to 10 s until its
# walreceiver streams, if NODE is a standby (pgplay's has connected by the next line).
cat >wait-for-streaming.sh <<'EOF'
[ -f "$1/standby.signal" ] || exit 0
for i in $(seq 100); do
    [ "$(psql -X -p "$2" -Atc "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null)" = 1 ] && exit 0
    sleep 0.1
done
EOF

# psql reads the scenario as a script: it goes on after an error, as pgplay does (its errors
# go to stdout too, in order with the rest), and its
# `\!` lines run in this directory.
say "the scenario, with psql on primary (port $(port_of 0))"
psql -X ${{ECHO:+--echo-all}} -p "$(port_of 0)" <scenario.psql 2>&1
say "done; the servers are still running (logs: $DIR/*.log)"
"#,
        last = servers.saturating_sub(1),
    );
}

/// The scenario's lines, each as psql on real servers should read it.
fn translate(scenario: &str, ports: &mut Ports) -> String {
    let mut state = State {
        ports: std::mem::replace(ports, Ports(BTreeMap::new())),
        current: PRIMARY.to_string(),
    };
    let mut out = String::new();
    for line in scenario.lines() {
        translate_line(line, &mut state, &mut out);
    }
    *ports = state.ports;
    out
}

fn translate_line(line: &str, state: &mut State, out: &mut String) {
    let trimmed = line.trim_start();
    if let Some(rest) = meta(trimmed, &["\\c", "\\connect"]) {
        connect(line, rest, state, out);
    } else if let Some(command) = meta(trimmed, &["\\!"]) {
        shell(line, command, state, out);
    } else if let Some(rest) = meta(trimmed, &["\\cluster"]) {
        let _ = rest;
        let _ = writeln!(
            out,
            "-- pgplay export: {line} (pgplay's view of every node) has no psql equivalent; \
             ask each node, e.g. SELECT * FROM pg_stat_replication on a primary."
        );
    } else if let Some(node) = meta(trimmed, &["\\log"]) {
        let node = node.trim();
        let node = if node.is_empty() { PRIMARY } else { node };
        let _ = writeln!(out, "-- pgplay export: {line} is the server log's end here");
        let _ = writeln!(out, "\\! tail -n 20 {node}.log");
    } else {
        out.push_str(line);
        out.push('\n');
    }
}

/// `rest` after one of `names` when `line` is that backslash command.
fn meta<'a>(line: &'a str, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| {
        let rest = line.strip_prefix(name)?;
        (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some(rest)
    })
}

fn connect(line: &str, rest: &str, state: &mut State, out: &mut String) {
    let node = rest.split_whitespace().next().unwrap_or("");
    match state.ports.get(node) {
        Some(port) => {
            state.current = node.to_string();
            let _ = writeln!(out, "-- pgplay export: {line}, that is to {node}'s port");
            let _ = writeln!(out, "\\c postgres postgres 127.0.0.1 {port}");
        }
        None => {
            out.push_str(line);
            out.push('\n');
        }
    }
}

fn shell(line: &str, command: &str, state: &mut State, out: &mut String) {
    let words: Vec<&str> = command.split_whitespace().collect();
    let tool = words
        .iter()
        .find(|w| !w.contains('='))
        .copied()
        .unwrap_or("");
    match tool {
        "pgplay-net" => {
            let _ = writeln!(
                out,
                "-- pgplay export: {line}\n-- is a fault of pgplay's simulated network; real \
                 servers on one machine have no such link, so it is left out here."
            );
        }
        "pg_ctl" if has_any(&words, &["start", "restart"]) && !words.contains(&"-l") => {
            let node = option_value(&words, "-D").unwrap_or(PRIMARY);
            let _ = writeln!(
                out,
                "-- pgplay export: {line}, with -l so the server's log goes to {node}.log"
            );
            let with_log = line.replacen("pg_ctl", &format!("pg_ctl -l {node}.log"), 1);
            let _ = writeln!(out, "{with_log}");
            wait_for_streaming(node, state, out);
            if node == state.current {
                reconnect(node, state, out);
            }
        }
        "pg_basebackup" => {
            out.push_str(line);
            out.push('\n');
            if let Some(target) = option_value(&words, "-D") {
                let port = state.ports.add(target);
                let _ = writeln!(
                    out,
                    "-- pgplay export: pgplay gives {target} the next port, {port}; here it is \
                     written into its configuration\n\\! echo \"port = {port}\" >> \
                     {target}/postgresql.conf"
                );
            }
        }
        _ => {
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// pgplay's standby has connected to its upstream by the time the next line runs; a real
/// `pg_ctl start` returns before the walreceiver connects, so the next line could meet a
/// standby that does not stream yet (and, say, a second connection of a role with CONNECTION
/// LIMIT 1 would succeed where pgplay's fails). The script waits, quietly, until it streams.
fn wait_for_streaming(node: &str, state: &State, out: &mut String) {
    if let Some(port) = state.ports.get(node) {
        let _ = writeln!(
            out,
            "-- pgplay export: wait until {node} streams, if it is a standby\n\\! sh wait-for-streaming.sh {node} {port}"
        );
    }
}

/// psql's connection to `node` died with its server: pgplay's session goes on, psql reading
/// a script would stop at the next statement, so it connects again (quietly, as pgplay says
/// nothing).
fn reconnect(node: &str, state: &State, out: &mut String) {
    if let Some(port) = state.ports.get(node) {
        let _ = writeln!(
            out,
            "-- pgplay export: {node} restarted under psql's connection; pgplay's session goes \
             on, psql connects again\n\\set QUIET on\n\\c postgres postgres 127.0.0.1 {port}\n\\set QUIET off"
        );
    }
}

fn has_any(words: &[&str], wanted: &[&str]) -> bool {
    words.iter().any(|w| wanted.contains(w))
}

/// The value of `-D X`, `-DX` or `--pgdata=X`.
fn option_value<'a>(words: &[&'a str], flag: &str) -> Option<&'a str> {
    for (i, word) in words.iter().enumerate() {
        if *word == flag {
            return words.get(i + 1).copied();
        }
        if let Some(value) = word.strip_prefix(flag).filter(|v| !v.is_empty()) {
            return Some(value);
        }
        if flag == "-D" {
            if let Some(value) = word.strip_prefix("--pgdata=") {
                return Some(value);
            }
        }
    }
    None
}

/// `text` as one single-quoted shell word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_go_to_the_nodes_port() {
        let mut ports = Ports::of_preset(Preset::Default);
        let out = translate("\\c standby2\nSELECT 1;\n", &mut ports);
        assert!(out.contains("\\c postgres postgres 127.0.0.1 5434\nSELECT 1;\n"));
    }

    #[test]
    fn a_base_backup_gets_the_next_port_written_in() {
        let mut ports = Ports::of_preset(Preset::Default);
        let out = translate(
            "\\! pg_basebackup -h 127.0.0.1 -p 5432 -D standby3 -R\n\\c standby3\n",
            &mut ports,
        );
        assert!(out.contains("\\! echo \"port = 5435\" >> standby3/postgresql.conf"));
        assert!(out.contains("\\c postgres postgres 127.0.0.1 5435"));
        assert_eq!(ports.count(), 4);
    }

    #[test]
    fn pg_ctl_start_logs_to_a_file_and_net_faults_are_comments() {
        let mut ports = Ports::of_preset(Preset::OneStandby);
        let out = translate(
            "\\! pg_ctl -D standby1 start\n\\! pgplay-net cut primary standby1\n",
            &mut ports,
        );
        assert!(out.contains("\\! pg_ctl -l standby1.log -D standby1 start\n"));
        assert!(!out.lines().any(|l| l.starts_with("\\! pgplay-net")));
    }

    #[test]
    fn a_restart_under_psql_reconnects_quietly() {
        let mut ports = Ports::of_preset(Preset::Default);
        let out = translate(
            "\\! pg_ctl -D primary restart\n\\c standby1\n\\! pg_ctl -D primary start\n",
            &mut ports,
        );
        assert_eq!(
            out.matches("\\c postgres postgres 127.0.0.1 5432").count(),
            1
        );
        assert!(
            out.contains("\\set QUIET on\n\\c postgres postgres 127.0.0.1 5432\n\\set QUIET off")
        );
    }

    #[test]
    fn the_script_makes_each_standby_from_its_upstream() {
        let text = script("x.psql", "SELECT 1;\n", Preset::Cascading);
        assert!(text.contains("make_standby standby1 1 primary 0\n"));
        assert!(text.contains("make_standby standby2 2 standby1 1\n"));
        assert!(text.starts_with("#!/usr/bin/env bash\n"));
        assert!(text.contains("set -euo pipefail"));
    }
}
