//! `pgplay isolation`: runs isolation specs (PostgreSQL's isolation-tester format, see
//! `pgplay_conformance::isolation`) on a fresh simulated primary each, and compares the output
//! with the expected file PostgreSQL 15's own isolationtester wrote
//! (`tests/isolation/expected/NAME.out` beside `tests/isolation/specs/NAME.spec`).

use std::path::{Path, PathBuf};

use pgplay_conformance::isolation::{self, Backend, Item};
use pgplay_engine::{Outcome, SessionId, StatementResult};
use pgplay_sim::{Sim, MS, SECOND};

const NODE: &str = "primary";

/// How long a patient poll lets simulated time pass for a waiting step (timeouts).
const PATIENCE: i64 = 60 * SECOND;

struct SimBackend {
    sim: Sim,
    sessions: Vec<Option<SessionId>>,
}

fn items(results: Vec<StatementResult>) -> Vec<Item> {
    let mut out = Vec::new();
    for result in results {
        for notice in result.notices {
            out.push(Item::Notice {
                severity: notice.severity.to_string(),
                message: notice.message,
            });
        }
        out.push(match result.outcome {
            Ok(Outcome::Rows { columns, rows, .. }) => Item::Rows {
                columns: columns.into_iter().map(|c| c.name).collect(),
                rows,
            },
            Ok(Outcome::Command { .. }) => Item::Command,
            Err(error) => Item::Error {
                severity: error.severity.to_string(),
                message: error.message,
            },
        });
    }
    out
}

impl SimBackend {
    fn session(&self, connection: usize) -> SessionId {
        self.sessions[connection].expect("a connection is used only while open")
    }
}

impl Backend for SimBackend {
    fn connect(&mut self, _session: Option<&str>) -> Result<usize, String> {
        let session = self
            .sim
            .open_session(NODE)
            .ok_or("the primary does not exist")?;
        self.sessions.push(Some(session));
        Ok(self.sessions.len() - 1)
    }

    fn send(&mut self, connection: usize, sql: &str) -> Option<Vec<Item>> {
        let session = self.session(connection);
        let results = self.sim.send(NODE, session, sql);
        self.sim.run_for(MS / 10);
        results.map(items)
    }

    fn poll(&mut self, connection: usize, patient: bool) -> Option<Vec<Item>> {
        let session = self.session(connection);
        if patient {
            let deadline = self.sim.now + PATIENCE;
            self.sim.run_until_or(deadline, &|sim| {
                sim.node(NODE).is_none_or(|n| !n.is_waiting(session))
            });
        }
        self.sim.poll(NODE, session).map(items)
    }

    fn disconnect(&mut self, connection: usize) {
        if let Some(session) = self.sessions[connection].take() {
            self.sim.close_session(NODE, session);
        }
    }
}

/// Runs one spec on a fresh primary and returns isolationtester's output for it.
pub fn run_spec(path: &Path, seed: u64) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = isolation::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut sim = Sim::new(seed);
    sim.add_primary(NODE, 5432);
    sim.run_for(100 * MS);
    let mut backend = SimBackend {
        sim,
        sessions: Vec::new(),
    };
    isolation::run(&spec, &mut backend)
}

/// `specs/NAME.spec` → `expected/NAME.out`, as PostgreSQL's isolation suite lays them out.
pub fn expected_path(spec: &Path) -> PathBuf {
    let name = spec.file_stem().unwrap_or_default();
    let dir = spec.parent().unwrap_or(Path::new("."));
    let base = if dir.file_name().is_some_and(|d| d == "specs") {
        dir.parent().unwrap_or(Path::new(".")).join("expected")
    } else {
        dir.to_path_buf()
    };
    base.join(name).with_extension("out")
}

/// The first line where two outputs differ, with a few lines of each around it.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let at = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let from = at.saturating_sub(3);
    let show = |lines: &[&str]| {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take(at - from + 4)
            .map(|(i, l)| format!("{:>5}{} {l}\n", i + 1, if i == at { ">" } else { " " }))
            .collect::<String>()
    };
    format!(
        "first difference at line {}\n--- expected (PostgreSQL 15)\n{}--- pgplay\n{}",
        at + 1,
        show(&e),
        show(&a)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spec prints exactly what PostgreSQL 15's isolationtester printed for it.
    #[test]
    fn specs_match_postgresql_output() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/isolation/specs");
        let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("tests/isolation/specs")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "spec"))
            .collect();
        specs.sort();
        assert!(!specs.is_empty());
        for spec in specs {
            let expected = std::fs::read_to_string(expected_path(&spec)).expect("expected output");
            let actual = run_spec(&spec, 1).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
            assert!(
                actual == expected,
                "{}\n{}",
                spec.display(),
                first_difference(&expected, &actual)
            );
        }
    }
}
