//! The interactive `pgplay`: psql on a simulated cluster of a primary and
//! two streaming standbys. `\c NODE` moves to another node, `\! COMMAND`
//! runs a server command (`pg_ctl`, `pg_basebackup`, ...), `\cluster`
//! shows every node's role and WAL positions, `\log` a node's server log.
//!
//! Time: at a terminal the simulated clock follows the wall clock, so WAL
//! reaches the standbys while you type. With piped input (scripts, docs)
//! time moves only by `SELECT pg_sleep(n)` and 1 ms per line, so a script's
//! output is the same on every run.
//!
//! Ctrl+C ([`crate::interrupt`]) cancels the running statement (`57014`) and the REPL goes on;
//! at the prompt it clears the line; reading a script, pgplay stops with status 3 as psql does.
//! Ctrl+D or `\q` quits.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use pgplay_node::Psql;
use pgplay_psql::PromptStatus;
use pgplay_sim::{Sim, MS};
use pgplay_wal::time::Timestamp;
use pgplay_wal::SegmentSize;

use crate::interrupt::CtrlC;

const HELP: &str = "\
You are using pgplay, a simulation of psql and PostgreSQL 15 streaming replication.
The cluster: primary (port 5432) streams to standby1 (5433) and standby2 (5434).
  \\c NODE            connect to another node (\\c standby1)
  \\! COMMAND         run a server command: pg_ctl -D NODE stop|start|restart|promote|reload,
                     pg_basebackup -h 127.0.0.1 -p 5432 -D NODE -R,
                     touch NODE/standby.signal, echo \"x = 'y'\" >> NODE/postgresql.auto.conf
  \\cluster           every node's role, timeline and WAL positions
  \\log [NODE]        the last server log lines of a node
  \\? \\x \\d \\dt \\q    as in psql
";

struct Repl {
    sim: Sim,
    node: String,
    sessions: BTreeMap<String, Psql>,
    interactive: bool,
    started_wall: Timestamp,
    started_sim: Timestamp,
}

impl Repl {
    fn psql(&mut self, node: &str) -> &mut Psql {
        if !self.sessions.contains_key(node) {
            let session = self.sim.node_mut(node).map(|n| n.connect());
            if let Some(mut psql) = session {
                psql.options.interactive = self.interactive;
                if self.interactive {
                    psql.clock = Some(wall_millis);
                }
                self.sessions.insert(node.to_string(), psql);
            }
        }
        self.sessions.get_mut(node).expect("node exists")
    }

    /// A FATAL ended the backend while reading a script: psql stops there.
    fn connection_lost(&self) -> bool {
        self.sessions.values().any(|psql| psql.connection_lost)
    }

    /// Moves the simulated clock to now (interactive) or by a tick (scripted).
    fn advance(&mut self, wall_now: Timestamp) {
        if self.interactive {
            let target = self.started_sim + (wall_now - self.started_wall);
            if target < self.sim.now {
                // A statement ran the cluster ahead (a synchronous commit's
                // wait): the clock goes on from there.
                self.started_sim += self.sim.now - target;
            }
            self.sim.run_until(target.max(self.sim.now));
        } else {
            self.sim.run_for(MS);
        }
    }

    fn prompt(&mut self) -> String {
        let node = self.node.clone();
        self.psql(&node);
        let psql = &self.sessions[&node];
        let text = self
            .sim
            .node(&node)
            .map(|n| n.prompt(psql))
            .unwrap_or_default();
        format!("[{node}] {text}")
    }

    /// Whether the current session's unfinished statement is inside a quote or a comment,
    /// where an empty line is part of the text (psql's `psql_scan_in_quote`).
    fn in_quote(&mut self) -> bool {
        let node = self.node.clone();
        matches!(
            self.psql(&node).buffer.status(),
            PromptStatus::Comment
                | PromptStatus::SingleQuote
                | PromptStatus::DoubleQuote
                | PromptStatus::DollarQuote
        )
    }

    /// Runs `input` with the current node's psql session, opening it if need be.
    fn in_session<R>(&mut self, input: impl FnOnce(&mut Sim, &str, &mut Psql) -> R) -> R {
        let node = self.node.clone();
        self.psql(&node);
        let mut psql = self.sessions.remove(&node).expect("psql() opened it");
        let out = input(&mut self.sim, &node, &mut psql);
        self.sessions.insert(node, psql);
        out
    }

    /// A line of input that is not UTF-8: refused as PostgreSQL refuses such a query.
    fn invalid_line(&mut self, bytes: &[u8]) -> String {
        self.in_session(|sim, node, psql| {
            let now = sim.now;
            sim.node_mut(node)
                .map(|target| target.psql_bytes(now, psql, bytes))
                .unwrap_or_default()
        })
    }

    /// Ctrl+C at the prompt: psql forgets the statement typed so far.
    fn clear_buffer(&mut self) {
        if let Some(psql) = self.sessions.get_mut(&self.node) {
            psql.buffer.clear();
        }
    }

    /// End of input: psql sends what is left in its buffer, `;` or not.
    fn finish(&mut self) -> String {
        self.in_session(|sim, node, psql| sim.psql_end_of_input(node, psql))
    }

    fn line(&mut self, line: &str) -> Option<String> {
        let trimmed = line.trim();
        let pending = self
            .sessions
            .get(&self.node)
            .is_some_and(|p| !p.buffer.pending().trim().is_empty());
        if !pending {
            if let Some(rest) = trimmed.strip_prefix("\\!") {
                return Some(match self.sim.run_command(rest.trim()) {
                    Ok(out) if out.is_empty() => String::new(),
                    Ok(out) => format!("{out}\n"),
                    Err(error) => format!("{error}\n"),
                });
            }
            if trimmed == "\\cluster" {
                return Some(self.sim.status_lines().join("\n") + "\n");
            }
            if trimmed == "\\log" || trimmed.starts_with("\\log ") {
                let node = trimmed[4..].trim();
                let node = if node.is_empty() {
                    self.node.clone()
                } else {
                    node.to_string()
                };
                let Some(target) = self.sim.node_mut(&node) else {
                    return Some(format!("no node \"{node}\"\n"));
                };
                let lines: Vec<String> = target.log().cloned().collect();
                let tail = lines.len().saturating_sub(20);
                return Some(lines[tail..].join("\n") + "\n");
            }
            if trimmed == "\\?" || trimmed == "help" {
                return Some(HELP.to_string());
            }
            if let Some(rest) = trimmed
                .strip_prefix("\\c ")
                .or_else(|| trimmed.strip_prefix("\\connect "))
            {
                let node = rest.split_whitespace().last().unwrap_or("").to_string();
                if self.sim.node(&node).is_none() {
                    return Some(format!(
                        "\\connect: no node \"{node}\" (nodes: {})\n",
                        self.sim.node_names().join(", ")
                    ));
                }
                self.node = node.clone();
                return Some(format!(
                    "You are now connected to database \"postgres\" as user \"postgres\" on server \"{node}\".\n"
                ));
            }
        }
        let (out, quit) = self.in_session(|sim, node, psql| {
            let out = sim.psql_line(node, psql, line);
            (out, psql.quit)
        });
        (!quit).then_some(out)
    }
}

/// What the REPL hears: a line of input, its end, or a Ctrl+C.
enum Input {
    Line(Vec<u8>),
    End,
    Failed(String),
    CtrlC,
}

/// Lines of input read ahead of the statement running (the channel is bounded).
const READ_AHEAD: usize = 64;

/// Reads stdin on a thread of its own, so that a Ctrl+C at the prompt is heard while a line is
/// being read.
fn read_lines(sender: std::sync::mpsc::SyncSender<Input>) {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    loop {
        let mut line = Vec::new();
        let message = match input.read_until(b'\n', &mut line) {
            Ok(0) => Input::End,
            Ok(_) => Input::Line(line),
            Err(error) => Input::Failed(error.to_string()),
        };
        let last = !matches!(message, Input::Line(_));
        if sender.send(message).is_err() || last {
            return;
        }
    }
}

/// psql's exit status when the connection to the server was lost reading a script.
const EXIT_CONNECTION_LOST: u8 = 2;

/// psql's exit status when a script was stopped with Ctrl+C.
const EXIT_USER: u8 = 3;

pub fn run(
    segment_size: Option<SegmentSize>,
    echo_all: bool,
    wall_now: impl Fn() -> Timestamp,
) -> ExitCode {
    let interactive = std::io::stdin().is_terminal();
    // psql echoes only what it reads from a script, never what is typed.
    let echo_all = echo_all && !interactive;
    let start = if interactive { wall_now() } else { 0 };
    let ctrl_c = CtrlC::default();
    let mut sim = Sim::new(7_000_001)
        .starting_at(start)
        .with_interrupts(ctrl_c.source_maker(interactive));
    if let Some(size) = segment_size {
        sim = sim.with_segment_size(size);
    }
    let sim = sim.with_standard_cluster(5432);
    let mut repl = Repl {
        started_sim: sim.now,
        sim,
        node: "primary".into(),
        sessions: BTreeMap::new(),
        interactive,
        started_wall: wall_now(),
    };
    if interactive {
        println!("psql (15.18, server 15.18 pgplay)\nType \"help\" for help: a primary and two standbys are streaming.\n");
    }
    let (sender, inputs) = std::sync::mpsc::sync_channel(READ_AHEAD);
    let on_ctrl_c = sender.clone();
    ctrl_c.install(move || {
        // Full only while lines wait to be run, where the flags say enough.
        let _ = on_ctrl_c.try_send(Input::CtrlC);
    });
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || read_lines(sender))
        .expect("a thread to read input");
    let mut prompt = true;
    loop {
        if interactive && prompt {
            print!("{}", repl.prompt());
            let _ = std::io::stdout().flush();
        }
        prompt = false;
        let input = inputs.recv().unwrap_or(Input::End);
        if !interactive && ctrl_c.pressed.load(Ordering::SeqCst) {
            // psql stops a script at a Ctrl+C, after the statement it cancelled.
            return ExitCode::from(EXIT_USER);
        }
        let line = match input {
            Input::Line(line) => line,
            Input::CtrlC => {
                if ctrl_c.take_unconsumed() {
                    // At the prompt: psql drops the query buffer and starts a new line.
                    repl.clear_buffer();
                    println!();
                    prompt = true;
                }
                continue;
            }
            Input::End => {
                ctrl_c.running.store(true, Ordering::SeqCst);
                print!("{}", repl.finish());
                break;
            }
            Input::Failed(error) => {
                eprintln!("pgplay: could not read input: {error}");
                return ExitCode::FAILURE;
            }
        };
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        // psql skips an empty line before echoing it, unless a quote or comment goes on.
        if echo_all && (!text.is_empty() || repl.in_quote()) {
            println!("{}", String::from_utf8_lossy(text));
        }
        repl.advance(wall_now());
        ctrl_c.running.store(true, Ordering::SeqCst);
        let out = match std::str::from_utf8(text) {
            Ok(text) => repl.line(text),
            Err(_) => Some(repl.invalid_line(text)),
        };
        ctrl_c.running.store(false, Ordering::SeqCst);
        prompt = true;
        match out {
            Some(out) => print!("{out}"),
            None => break,
        }
        let _ = std::io::stdout().flush();
        if repl.connection_lost() {
            return ExitCode::from(EXIT_CONNECTION_LOST);
        }
    }
    ExitCode::SUCCESS
}

/// Milliseconds on the wall clock, for psql's `\timing` at a terminal (a piped script shows
/// the simulator's time instead, so its transcript does not change from run to run).
fn wall_millis() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1000.0
}
