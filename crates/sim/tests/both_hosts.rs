//! The simulator's side of the scenario both hosts run
//! (`tests/hosts/*.txt`; the page's side is `tests/e2e/both-hosts.mjs`): the
//! simulator must print what the file says, and so must the browser cluster.
//!
//! `PGPLAY_BLESS=1 cargo test -p pgplay-sim --test both_hosts` writes what the
//! simulator prints into the files; review the diff, then run the e2e step.

use std::collections::BTreeMap;

use pgplay_cluster::transcript::{self, command_output, same_output, Expected, Step};
use pgplay_node::Psql;
use pgplay_sim::{Sim, MS};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/hosts");
/// How often a step that waits asks again, and how long it waits at most
/// (the page waits 20 s of real time).
const TRIES: usize = 100;
const BETWEEN_TRIES: i64 = 200 * MS;

struct Host {
    sim: Sim,
    sessions: BTreeMap<String, Psql>,
}

impl Host {
    fn psql(&mut self, node: &str, line: &str) -> String {
        let Some(target) = self.sim.node_mut(node) else {
            return format!("no node \"{node}\"");
        };
        let mut psql = self
            .sessions
            .remove(node)
            .unwrap_or_else(|| target.connect());
        let out = self.sim.psql_line(node, &mut psql, line);
        self.sessions.insert(node.to_string(), psql);
        out
    }

    fn logged(&mut self, node: &str, text: &str) -> bool {
        self.sim
            .node_mut(node)
            .is_some_and(|n| n.log().any(|l| l.contains(text)))
    }

    /// Runs one step; what it printed.
    fn run(&mut self, expected: &Expected) -> String {
        match &expected.step {
            Step::Run(line) => command_output(&self.sim.run_command(line)),
            Step::Psql { node, line } => self.psql(node, line),
            Step::Eventually { node, line } => {
                let mut out = String::new();
                for _ in 0..TRIES {
                    out = self.psql(node, line);
                    if same_output(&out, &expected.output) {
                        break;
                    }
                    self.sim.run_for(BETWEEN_TRIES);
                }
                out
            }
            Step::Log { node, text } => {
                for _ in 0..TRIES {
                    if self.logged(node, text) {
                        return String::new();
                    }
                    self.sim.run_for(BETWEEN_TRIES);
                }
                format!("{node}'s log never said: {text}\n")
            }
        }
    }
}

fn step_line(step: &Step) -> String {
    match step {
        Step::Run(line) => format!("> run {line}"),
        Step::Psql { node, line } => format!("> psql {node} {line}"),
        Step::Eventually { node, line } => format!("> eventually {node} {line}"),
        Step::Log { node, text } => format!("> log {node} {text}"),
    }
}

/// The file with each step's output as the simulator printed it.
fn run_file(text: &str) -> String {
    let steps = transcript::parse(text).expect("a transcript");
    let mut host = Host {
        sim: Sim::standard(1, 5432),
        sessions: BTreeMap::new(),
    };
    let mut out: String = text
        .lines()
        .take_while(|l| !l.starts_with("> "))
        .map(|l| format!("{l}\n"))
        .collect();
    for expected in &steps {
        let printed = host.run(expected);
        out.push_str(&step_line(&expected.step));
        out.push('\n');
        out.push_str(&printed);
        if !printed.is_empty() && !printed.ends_with('\n') {
            out.push('\n');
        }
        host.sim.run_for(10 * MS);
    }
    out
}

#[test]
fn the_simulator_prints_what_both_hosts_must() {
    let mut files: Vec<_> = std::fs::read_dir(DIR)
        .expect("tests/hosts")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let printed = run_file(&text);
        if std::env::var_os("PGPLAY_BLESS").is_some() {
            std::fs::write(&file, &printed).expect("writable");
            continue;
        }
        let differs = printed
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .or((printed.lines().count() != text.lines().count()).then_some(0));
        if let Some(line) = differs {
            panic!(
                "{}: the simulator prints otherwise from line {}:\n{}",
                file.display(),
                line + 1,
                printed
                    .lines()
                    .skip(line)
                    .take(8)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}
