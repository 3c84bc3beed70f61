//! Row lock waits: a statement that meets a row changed (or a key inserted) by another
//! transaction still in progress waits for that transaction to end, as PostgreSQL's
//! `XactLockTableWait` makes it wait.
//!
//! The engine runs a statement from start to end in one call, so a wait cannot suspend it in
//! the middle. Instead the statement stops where it meets the row ([`LOCK_WAIT`], before it
//! has written anything: no WAL, no xid), the session keeps it ([`LockWait`] and the pending
//! statements) and the node runs it again ([`crate::sql::resume`]) once the transaction it
//! waits for has committed or aborted. In READ COMMITTED the new run takes a new snapshot, so
//! it finds the row's newest version and re-checks its WHERE clause on it, which is what
//! PostgreSQL's EvalPlanQual does for the one row; unlike it, the new run also sees other rows
//! that transactions committed meanwhile. In REPEATABLE READ the new run keeps the
//! transaction's snapshot and fails with `could not serialize access due to concurrent
//! update`, as in PostgreSQL. A statement that must wait after it has changed rows (a second
//! row of the same UPDATE, an ON DELETE CASCADE) answers `0A000` instead.

use pgplay_wal::time::Timestamp;
use pgplay_wal::Xid;

/// The code of the internal error that stops a statement which must wait; the session's
/// driver never sees it.
pub const LOCK_WAIT: &str = "pgplay-lock-wait";

/// What a waiting session waits for (`pg_stat_activity`'s `Lock` / `transactionid`, and the
/// ungranted `ShareLock` on the transaction id in `pg_locks`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockWait {
    /// The transaction whose end the session waits for.
    pub xid: Xid,
    /// The table of the row, by OID.
    pub relation: u32,
    /// When the wait started.
    pub since: Timestamp,
    /// When `lock_timeout` ends the wait, if set.
    pub lock_deadline: Option<Timestamp>,
    /// When `statement_timeout` ends the statement, if set (from the statement's start).
    pub statement_deadline: Option<Timestamp>,
    /// When the wait-for graph is checked for a deadlock (`deadlock_timeout` after the start);
    /// `None` once checked.
    pub deadlock_check: Option<Timestamp>,
}

/// `ERROR:  canceling statement due to lock timeout` (55P03).
pub fn lock_timeout_error() -> crate::DbError {
    crate::DbError::new(
        crate::error::code::LOCK_NOT_AVAILABLE,
        "canceling statement due to lock timeout",
    )
}

/// `ERROR:  canceling statement due to statement timeout` (57014).
pub fn statement_timeout_error() -> crate::DbError {
    crate::DbError::new("57014", "canceling statement due to statement timeout")
}

/// `ERROR:  deadlock detected` (40P01), with PostgreSQL's DETAIL: one line per waiting
/// process of the cycle, `(pid, xid it waits for, pid holding it)`, the detecting one first.
pub fn deadlock_error(cycle: &[(i32, Xid, i32)]) -> crate::DbError {
    let detail: Vec<String> = cycle
        .iter()
        .map(|(pid, xid, holder)| {
            format!("Process {pid} waits for ShareLock on transaction {xid}; blocked by process {holder}.")
        })
        .collect();
    crate::DbError::new("40P01", "deadlock detected")
        .with_detail(detail.join("\n"))
        .with_hint("See server log for query details.")
}

impl crate::Database {
    /// `pg_locks` (PostgreSQL 15's 16 columns), as far as pgplay keeps locks: each open
    /// transaction's `ExclusiveLock` on its own transaction id (and its subtransactions'), and
    /// a waiting session's ungranted `ShareLock` on the transaction id it waits for. Relation,
    /// tuple and virtual transaction id locks are not kept.
    pub fn locks_view(&self) -> crate::stats::View {
        use crate::types::{DataType::*, Value};
        let columns = crate::stats::columns(&[
            ("locktype", Text),
            ("database", Oid),
            ("relation", Oid),
            ("page", Int4),
            ("tuple", Int2),
            ("virtualxid", Text),
            ("transactionid", Text),
            ("classid", Oid),
            ("objid", Oid),
            ("objsubid", Int2),
            ("virtualtransaction", Text),
            ("pid", Int4),
            ("mode", Text),
            ("granted", Bool),
            ("fastpath", Bool),
            ("waitstart", TimestampTz),
        ]);
        let row = |xid: Xid,
                   pid: i32,
                   mode: &str,
                   granted: bool,
                   since: Option<pgplay_wal::time::Timestamp>| {
            vec![
                Value::Text("transactionid".into()),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Text(xid.to_string()),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Int4(pid),
                Value::Text(mode.into()),
                Value::Bool(granted),
                Value::Bool(false),
                crate::stats::time(since),
            ]
        };
        let mut rows = Vec::new();
        for (id, session) in &self.sessions {
            let pid = crate::database::session_pid(*id);
            if let Some(x) = &session.xact {
                let own = x.xid.into_iter().chain(x.subxacts.iter().copied()).chain(
                    x.savepoints
                        .iter()
                        .flat_map(|p| p.xid.into_iter().chain(p.subxacts.iter().copied())),
                );
                for xid in own {
                    rows.push(row(xid, pid, "ExclusiveLock", true, None));
                }
            }
            if let Some(wait) = &session.lock_wait {
                rows.push(row(wait.xid, pid, "ShareLock", false, Some(wait.since)));
            }
        }
        (columns, rows)
    }
}
