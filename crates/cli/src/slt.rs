//! `pgplay test`: runs `.slt` files, each on a fresh simulated cluster —
//! `primary`, `standby1` and `standby2` streaming asynchronously, on the
//! ports the real-PostgreSQL harness (`tests/postgres/cluster.sh`) uses — with
//! the conventions of `tests/README.md`. `connection <node>` runs a record
//! on that node; any other connection name is another session on the
//! primary. `sleep <duration>` advances the simulated clock, which is the
//! only way time passes: WAL reaches a standby during a sleep.

use std::path::Path;
use std::sync::{Arc, Mutex};

use pgplay_conformance::conventions::{self, PgColumnType, LABEL_PGPLAY};
use pgplay_engine::{DbError, Outcome, SessionId};
use pgplay_sim::{Sim, MS};
use sqllogictest::{Connection, DBOutput, MakeConnection, Record, Runner, DB};

/// Ports of primary, standby1, standby2 (as in tests/postgres/cluster.sh).
pub const CLUSTER_BASE_PORT: u16 = 55432;

/// One session on one node of the shared cluster.
pub struct PgplayDb {
    sim: Arc<Mutex<Sim>>,
    node: String,
    session: SessionId,
}

#[derive(Debug)]
pub struct SltError(String, Option<String>);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SltError {}

fn error_text(error: &DbError) -> SltError {
    SltError(
        conventions::format_error(
            error.code,
            &error.message,
            error.detail.as_deref(),
            error.hint.as_deref(),
        ),
        Some(error.code.to_string()),
    )
}

fn column_type(oid: u32) -> PgColumnType {
    match oid {
        20 | 21 | 23 => PgColumnType::Integer,
        700 | 701 | 1700 => PgColumnType::Real,
        16 => PgColumnType::Bool,
        _ => PgColumnType::Text,
    }
}

impl DB for PgplayDb {
    type Error = SltError;
    type ColumnType = PgColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<PgColumnType>, SltError> {
        let mut sim = self.sim.lock().expect("one runner thread");
        let results = sim.execute(&self.node, self.session, sql);
        // On PostgreSQL this statement would wait for ever for its
        // synchronous standbys (the simulator cancelled it): a file that
        // does this cannot pass there, so it does not pass here.
        if results
            .iter()
            .flat_map(|r| &r.notices)
            .any(|n| n.message == pgplay_node::syncrep::CANCEL_WARNING)
        {
            return Err(SltError(
                format!(
                    "pgplay: the commit waited {} s for synchronous standbys; on PostgreSQL it would wait for ever",
                    pgplay_sim::SYNC_WAIT_LIMIT / pgplay_sim::SECOND
                ),
                None,
            ));
        }
        let Some(last) = results.last() else {
            return Ok(DBOutput::StatementComplete(0));
        };
        match &last.outcome {
            Err(error) => Err(error_text(error)),
            Ok(Outcome::Rows { columns, rows, .. }) => Ok(DBOutput::Rows {
                types: columns.iter().map(|c| column_type(c.type_oid)).collect(),
                rows: rows
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|v| conventions::format_value(v.as_deref()))
                            .collect()
                    })
                    .collect(),
            }),
            Ok(Outcome::Command { tag }) => {
                let count = tag
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                Ok(DBOutput::StatementComplete(count))
            }
        }
    }

    fn engine_name(&self) -> &str {
        LABEL_PGPLAY
    }

    fn error_sql_state(error: &SltError) -> Option<String> {
        error.1.clone()
    }
}

/// Runs one file on a fresh cluster made from `seed`; Err holds the failure report.
/// How many records of a file passed and failed (with `--keep-going`; otherwise a file stops at
/// its first failure, which is the error).
#[derive(Debug, Default, PartialEq)]
pub struct RecordCounts {
    pub passed: u64,
    pub failed: u64,
}

/// Runs one file on a fresh simulated cluster. Without `keep_going` the first failing record
/// ends the file with its report; with it, each failure is printed and counted, and the run goes
/// on with the next record.
pub fn run_file(path: &Path, seed: u64, keep_going: bool) -> Result<RecordCounts, String> {
    let sim = Arc::new(Mutex::new(Sim::standard(seed, CLUSTER_BASE_PORT)));
    // The node the next new connection opens on, set from each record.
    let target = Arc::new(Mutex::new(String::from("primary")));
    let (make_sim, make_target) = (sim.clone(), target.clone());
    let mut runner = sqllogictest::Runner::new(move || {
        let node = make_target.lock().expect("one runner thread").clone();
        let mut cluster = make_sim.lock().expect("one runner thread");
        let result = cluster
            .open_session(&node)
            .map(|session| PgplayDb {
                sim: make_sim.clone(),
                node: node.clone(),
                session,
            })
            .ok_or_else(|| SltError(format!("no node \"{node}\" in the cluster"), None));
        std::future::ready(result)
    });
    conventions::configure_runner(&mut runner, LABEL_PGPLAY);
    let records = sqllogictest::parse_file(path).map_err(|e| e.to_string())?;
    let nodes = sim.lock().expect("one runner thread").node_names();
    let mut counts = RecordCounts::default();
    for record in records {
        if let Record::Halt { .. } = record {
            break;
        }
        let counted = matches!(
            record,
            Record::Statement { .. } | Record::Query { .. } | Record::System { .. }
        );
        match run_record(&sim, &target, &nodes, &mut runner, record) {
            Ok(()) => counts.passed += u64::from(counted),
            Err(report) if keep_going => {
                counts.failed += 1;
                println!("FAIL {}\n{report}\n", path.display());
            }
            Err(report) => return Err(report),
        }
    }
    runner.shutdown();
    Ok(counts)
}

/// Runs one record: a `sleep` advances the simulated clock, a `system` command runs on the
/// cluster's shell, a statement or query runs on its record's node. Statements take a little
/// simulated time, in which WAL moves on.
fn run_record<M: MakeConnection<Conn = PgplayDb>>(
    sim: &Mutex<Sim>,
    target: &Mutex<String>,
    nodes: &[String],
    runner: &mut Runner<PgplayDb, M>,
    record: Record<PgColumnType>,
) -> Result<(), String> {
    if let Record::Sleep { duration, .. } = record {
        let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        sim.lock().expect("one runner thread").run_for(micros);
        return Ok(());
    }
    if let Record::System {
        command,
        stdout,
        loc,
        ..
    } = &record
    {
        let output = sim.lock().expect("one runner thread").run_command(command);
        sim.lock().expect("one runner thread").run_for(MS / 10);
        return match (output, stdout) {
            (Err(error), _) => Err(format!("system command failed: {command}\n{error}\nat {loc}")),
            (Ok(out), Some(expected)) if out.trim() != expected.trim() => Err(format!(
                "system command output mismatch: {command}\nexpected:\n{expected}\nactual:\n{out}\nat {loc}"
            )),
            _ => Ok(()),
        };
    }
    *target.lock().expect("one runner thread") = match record_connection(&record) {
        Some(Connection::Named(name)) if nodes.contains(name) => name.clone(),
        _ => "primary".to_string(),
    };
    let result = runner
        .run(record)
        .map(|_| ())
        .map_err(|e| e.display(false).to_string());
    sim.lock().expect("one runner thread").run_for(MS / 10);
    result
}

fn record_connection<T: sqllogictest::ColumnType>(record: &Record<T>) -> Option<&Connection> {
    match record {
        Record::Statement { connection, .. } | Record::Query { connection, .. } => Some(connection),
        _ => None,
    }
}
