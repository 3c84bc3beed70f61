//! Protocol tests as golden scripts: a few nodes on a lossless in-memory
//! network (quinn's `Pair`, for more than two), driven through the
//! walsender/walreceiver protocol by the commands of a script in
//! `tests/golden/*.txt`, every message printed as it is delivered.
//!
//! A script is blocks separated by blank lines: `#` comments, commands,
//! then `---` and what they printed. The runner runs the commands, prints
//! the file again with fresh outputs and compares it with the file, in the
//! spirit of toydb's goldenscript. `UPDATE_GOLDEN=1 cargo test -p
//! pgplay-node --test golden` rewrites the files instead; review the diff.
//!
//! Commands (`NODE` is a name given at `initdb` or `basebackup`):
//! - `initdb NODE SYSID` — a new running primary with that system identifier.
//! - `basebackup NODE from UPSTREAM [slot=NAME] [create-slot]` — a stopped
//!   copy, with `standby.signal` and a `primary_conninfo` to UPSTREAM.
//! - `start|stop|promote|crash NODE` — `pg_ctl`; prints what it prints.
//! - `sql NODE STATEMENT` — psql; prints its output.
//! - `conf NODE LINE` — appends LINE to postgresql.auto.conf and reloads
//!   a running node.
//! - `deliver` — delivers every message in flight (and those they cause),
//!   in order; prints `FROM -> TO: message`.
//! - `tick SECONDS` — lets time pass, firing each node's timers when due
//!   and delivering what they send; prints the time of each wake-up that
//!   sent something.
//! - `cut` / `heal` — from `cut` on, the network loses everything (no
//!   connection is closed: a pulled cable); `heal` ends it.
//! - `log NODE` — the server log lines written since the last `log NODE`.
//! - `status NODE` — the node's one-line status.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;

use pgplay_node::{resolve_host, Node, Output, PeerEvent, RecoveryConf};
use pgplay_replication::ConnId;
use pgplay_wal::time::Timestamp;

const SECOND: Timestamp = 1_000_000;

/// One connection: which node opened it and which accepted it.
struct Link {
    client: String,
    server: String,
}

/// Nodes and the network between them, as one deterministic state machine.
#[derive(Default)]
struct Cluster {
    nodes: BTreeMap<String, Node>,
    ports: BTreeMap<String, u16>,
    now: Timestamp,
    links: HashMap<ConnId, Link>,
    /// Events in flight, in the order they were sent: (from, to, conn, event).
    in_flight: VecDeque<(String, String, ConnId, PeerEvent)>,
    cut: bool,
    /// How many log lines of each node were shown.
    log_shown: HashMap<String, u64>,
}

impl Cluster {
    fn node(&mut self, name: &str) -> Result<&mut Node, String> {
        self.nodes
            .get_mut(name)
            .ok_or_else(|| format!("no node {name}"))
    }

    fn add(&mut self, name: &str, mut node: Node) {
        let id = self.nodes.len() as u32 + 1;
        let port = 5431 + id as u16;
        node.place(id, port);
        self.ports.insert(name.to_string(), port);
        self.nodes.insert(name.to_string(), node);
        self.log_shown.insert(name.to_string(), 0);
    }

    /// Takes every node's outputs onto the network.
    fn collect(&mut self) {
        let names: Vec<String> = self.nodes.keys().cloned().collect();
        for name in names {
            while let Some(output) = self.nodes.get_mut(&name).and_then(|n| n.poll_output()) {
                self.route(&name, output);
            }
        }
    }

    fn route(&mut self, from: &str, output: Output) {
        match output {
            Output::Connect { conn, host, port } => {
                let target = resolve_host(
                    &host,
                    port,
                    self.ports.iter().map(|(n, p)| (n.as_str(), *p)),
                )
                .map(str::to_string)
                .filter(|t| self.nodes[t].is_running() && !self.cut);
                match target {
                    Some(server) => {
                        self.links.insert(
                            conn,
                            Link {
                                client: from.to_string(),
                                server: server.clone(),
                            },
                        );
                        let accepted = PeerEvent::Accepted {
                            client_addr: "127.0.0.1".into(),
                            client_port: 40000 + (conn.0 & 0xffff) as u16,
                        };
                        self.in_flight
                            .push_back((from.into(), server.clone(), conn, accepted));
                        self.in_flight
                            .push_back((server, from.into(), conn, PeerEvent::Connected));
                    }
                    None => {
                        self.in_flight.push_back((
                            from.into(),
                            from.into(),
                            conn,
                            PeerEvent::Refused,
                        ));
                    }
                }
            }
            Output::Send { conn, message } => self.send(from, conn, PeerEvent::Message(message)),
            Output::Close { conn } => {
                self.send(from, conn, PeerEvent::Closed);
                self.links.remove(&conn);
            }
            Output::ArchivePut { .. } | Output::ArchiveGet { .. } => {}
        }
    }

    fn send(&mut self, from: &str, conn: ConnId, event: PeerEvent) {
        if self.cut {
            return;
        }
        let Some(link) = self.links.get(&conn) else {
            return;
        };
        let to = if link.client == from {
            link.server.clone()
        } else {
            link.client.clone()
        };
        self.in_flight.push_back((from.into(), to, conn, event));
    }

    /// Delivers everything in flight and what it causes; returns one line each.
    fn deliver(&mut self, out: &mut Vec<String>) {
        self.collect();
        let mut budget = 100_000;
        while let Some((from, to, conn, event)) = self.in_flight.pop_front() {
            budget -= 1;
            assert!(budget > 0, "the nodes never stop talking");
            if self.cut {
                continue;
            }
            out.push(match &event {
                PeerEvent::Message(message) => format!("{from} -> {to}: {}", message.describe()),
                PeerEvent::Accepted { .. } => format!("{from} -> {to}: connect"),
                PeerEvent::Connected => format!("{to}: connected to {from}"),
                PeerEvent::Refused => format!("{to}: connection refused"),
                PeerEvent::Closed => format!("{from} -> {to}: close"),
            });
            let now = self.now;
            if let Some(node) = self.nodes.get_mut(&to) {
                node.handle_peer(now, conn, event);
            }
            self.collect();
        }
    }

    /// Lets `seconds` pass, waking each node when its timer is due.
    fn tick(&mut self, seconds: f64, out: &mut Vec<String>) {
        let until = self.now + (seconds * SECOND as f64) as Timestamp;
        loop {
            let next = self
                .nodes
                .values()
                .filter_map(|n| n.poll_timeout())
                .filter(|at| *at <= until)
                .min();
            let Some(at) = next else { break };
            self.now = self.now.max(at);
            let now = self.now;
            for node in self.nodes.values_mut() {
                if node.poll_timeout().is_some_and(|t| t <= now) {
                    node.handle_timeout(now);
                }
            }
            let mut lines = Vec::new();
            self.deliver(&mut lines);
            if !lines.is_empty() {
                out.push(format!("at {:.3}s", now as f64 / SECOND as f64));
                out.extend(lines);
            }
        }
        self.now = until;
    }

    fn log(&mut self, name: &str) -> Result<Vec<String>, String> {
        let node = self.node(name)?;
        let total = node.log_total();
        let lines: Vec<String> = node.log().cloned().collect();
        let shown = self.log_shown[name];
        let new = (total - shown) as usize;
        self.log_shown.insert(name.to_string(), total);
        Ok(lines[lines.len().saturating_sub(new)..].to_vec())
    }

    fn run(&mut self, line: &str) -> Result<Vec<String>, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut out = Vec::new();
        let now = self.now;
        let text = |r: Result<String, String>| match r {
            Ok(text) => text,
            Err(text) => format!("error: {text}"),
        };
        match words.as_slice() {
            ["initdb", name, sysid] => {
                let sysid = sysid.parse().map_err(|_| "bad system identifier")?;
                self.add(name, Node::initdb(name, sysid, None, now));
            }
            ["basebackup", name, "from", upstream, options @ ..] => {
                let create = options.contains(&"create-slot");
                let slot = options.iter().find_map(|o| o.strip_prefix("slot="));
                let copy = self.node(upstream)?.base_backup_with_slot(
                    now,
                    name,
                    "postgres",
                    None,
                    RecoveryConf::WrittenNamed,
                    slot.map(|slot| (slot, create)),
                );
                match copy {
                    Ok(copy) => self.add(name, copy),
                    Err(error) => out.push(error),
                }
            }
            ["start", name] => out.push(text(self.node(name)?.start(now))),
            ["stop", name] => out.push(text(
                self.node(name)?.stop(now, pgplay_node::StopMode::Fast),
            )),
            ["promote", name] => out.push(text(self.node(name)?.pg_ctl_promote(now))),
            ["crash", name] => self.node(name)?.crash(now),
            ["sql", name, ..] => {
                let statement = line.splitn(3, ' ').nth(2).unwrap_or_default();
                let node = self.node(name)?;
                let mut psql = node.connect();
                let printed = node.psql_line(now, &mut psql, statement);
                out.extend(printed.trim_end().lines().map(str::to_string));
            }
            ["conf", name, ..] => {
                let setting = line.splitn(3, ' ').nth(2).unwrap_or_default();
                let node = self.node(name)?;
                node.append_config("postgresql.auto.conf", setting)?;
                if node.is_running() {
                    node.reload(now);
                }
            }
            ["deliver"] => self.deliver(&mut out),
            ["tick", seconds] => {
                let seconds = seconds.parse().map_err(|_| "bad seconds")?;
                self.tick(seconds, &mut out);
            }
            ["cut"] => {
                self.collect();
                self.cut = true;
            }
            ["heal"] => self.cut = false,
            ["log", name] => out.extend(self.log(name)?),
            ["status", name] => out.push(self.node(name)?.status_line()),
            _ => return Err(format!("unknown command: {line}")),
        }
        Ok(out)
    }
}

/// Runs one script and returns it printed again with fresh outputs.
fn run_script(input: &str) -> String {
    let mut cluster = Cluster::default();
    let mut printed = String::new();
    for block in input.split("\n\n") {
        let commands = block.split("\n---").next().unwrap_or_default();
        if commands.trim().is_empty() {
            continue;
        }
        let mut outputs = Vec::new();
        let mut only_comments = true;
        for line in commands.lines() {
            printed.push_str(line);
            printed.push('\n');
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            only_comments = false;
            match cluster.run(line.trim()) {
                Ok(lines) => outputs.extend(lines),
                Err(error) => outputs.push(format!("harness error: {error}")),
            }
        }
        if !only_comments {
            printed.push_str("---\n");
            // One line each, none blank (a blank line ends the block).
            let mut outputs: Vec<&str> = outputs
                .iter()
                .flat_map(|o| o.lines())
                .filter(|l| !l.trim().is_empty())
                .collect();
            if outputs.is_empty() {
                outputs.push("ok");
            }
            for line in outputs {
                printed.push_str(line);
                printed.push('\n');
            }
        }
        printed.push('\n');
    }
    printed.trim_end().to_string() + "\n"
}

#[test]
fn golden_scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failed = Vec::new();
    for path in files {
        let expected = std::fs::read_to_string(&path).unwrap();
        let actual = run_script(&expected);
        if actual == expected {
            continue;
        }
        if update {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        failed.push(format!(
            "{}: differs from line {}:\n  expected: {:?}\n  actual:   {:?}",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        ));
    }
    assert!(
        failed.is_empty(),
        "{}\n(UPDATE_GOLDEN=1 rewrites the files)",
        failed.join("\n")
    );
}
