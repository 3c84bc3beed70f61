//! One PostgreSQL server's data: catalog, heap pages, MVCC, SQL, redo and
//! crash recovery. Sans-IO and deterministic: time comes in as
//! [`Database::now`], nothing here reads a clock, a file or a socket.
//!
//! Where to start reading: [`sql::execute`] takes a statement from text to
//! WAL records; [`database::Database::log`] is the write path; [`redo::apply`]
//! is the only code that changes pages, shared by the primary, standbys and
//! crash recovery.
//!
//! Left out (and said so in the README): indexes other than the in-memory
//! unique checks, VACUUM, subqueries, table locks and `SELECT FOR UPDATE`, Serializable
//! Snapshot Isolation's conflict checks, and more than one database.

pub mod activity;
pub mod btree;
pub mod catalog;
pub mod database;
pub mod error;
pub mod explain;
pub mod guc;
pub mod guc_docs;
pub mod guc_file;
pub mod heap;
pub mod interrupt;
pub mod lock;
pub mod mvcc;
pub mod pg_proc;
pub mod pg_relations;
pub mod recovery;
pub mod redo;
pub mod row_layout;
pub mod slots;
pub mod sql;
pub mod stack;
pub mod stats;
pub mod system;
pub mod tuple;
pub mod types;
pub mod vacuum;
pub mod workmem;
pub mod xact;

/// What the engine's unit tests share: a fresh server with one session.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::{Database, InitOptions, Outcome, SessionId};

    pub fn db() -> (Database, SessionId) {
        let mut db = Database::initdb(InitOptions {
            system_identifier: 1,
            segment_size: pgplay_wal::DEFAULT_SEGMENT_SIZE,
            now: 0,
        });
        let session = db.open_session();
        (db, session)
    }

    /// The last statement's outcome of `sql` (one or more statements).
    pub fn run(db: &mut Database, session: SessionId, sql: &str) -> crate::Result<Outcome> {
        let mut results = crate::sql::execute(db, session, sql);
        results.pop().expect("a result").outcome
    }

    /// The rows `sql` returns, as text (NULL as None); anything else fails the test.
    pub fn rows(db: &mut Database, session: SessionId, sql: &str) -> Vec<Vec<Option<String>>> {
        match run(db, session, sql) {
            Ok(Outcome::Rows { rows, .. }) => rows,
            other => panic!("{sql}: {other:?}"),
        }
    }

    /// Each row `sql` returns as one line, its values joined by spaces (NULL as empty); a
    /// statement that returns no rows gives no lines; an error fails the test.
    pub fn lines(db: &mut Database, session: SessionId, sql: &str) -> Vec<String> {
        match run(db, session, sql) {
            Ok(Outcome::Rows { rows, .. }) => rows
                .into_iter()
                .map(|row| {
                    let values: Vec<String> =
                        row.into_iter().map(Option::unwrap_or_default).collect();
                    values.join(" ")
                })
                .collect(),
            Ok(_) => Vec::new(),
            other => panic!("{sql}: {other:?}"),
        }
    }
}

pub use database::{
    ClusterState, ColumnInfo, ControlFile, Database, InitOptions, Outcome, SessionId,
    StatementResult,
};
pub use error::{DbError, Result};
pub use recovery::{BaseBackup, ReplayFailure, ReplayRun};
pub use stats::{ReplicationStats, WalReceiverRow, WalSenderRow};
