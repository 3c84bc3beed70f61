//! `pgplay test`: runs `.slt` files on a fresh pgplay server each, with the
//! conventions of `tests/README.md` (shared with the real-PostgreSQL runner).
//! `connection NAME` opens another session on the same server.

use std::path::Path;
use std::sync::{Arc, Mutex};

use pgplay_conformance::conventions::{self, PgColumnType, LABEL_PGPLAY};
use pgplay_engine::{DbError, Outcome, SessionId};
use pgplay_node::Node;
use sqllogictest::{DBOutput, DB};

/// One session of the shared server.
pub struct PgplayDb {
    node: Arc<Mutex<Node>>,
    session: SessionId,
}

#[derive(Debug)]
pub struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SltError {}

fn error_text(error: &DbError) -> SltError {
    SltError(conventions::format_error(
        error.code,
        &error.message,
        error.detail.as_deref(),
        error.hint.as_deref(),
    ))
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
        let mut node = self.node.lock().expect("one runner thread");
        let results = node.execute(0, self.session, sql);
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
}

/// Runs one file on a fresh server; Err holds the failure report.
pub fn run_file(path: &Path) -> Result<(), String> {
    let node = Arc::new(Mutex::new(Node::initdb("primary", 7_000_001, None, 0)));
    let mut runner = sqllogictest::Runner::new(move || {
        let session = node.lock().expect("one runner thread").db.open_session();
        std::future::ready(Ok::<_, SltError>(PgplayDb {
            node: node.clone(),
            session,
        }))
    });
    conventions::configure_runner(&mut runner, LABEL_PGPLAY);
    let result = runner
        .run_file(path)
        .map_err(|e| e.display(false).to_string());
    runner.shutdown();
    result
}
