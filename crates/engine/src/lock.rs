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
//!
//! Table locks ([`relation`]) wait the same way: a statement asks for each lock as it opens a
//! relation, before it writes, and stops when the lock cannot be granted; the node runs it
//! again once it can.

use pgplay_wal::time::Timestamp;
use pgplay_wal::Xid;

pub mod relation;
pub use relation::{HeldLock, LockMode, LockTarget};

/// The code of the internal error that stops a statement which must wait; the session's
/// driver never sees it.
pub const LOCK_WAIT: &str = "pgplay-lock-wait";

/// What a waiting session waits for (`pg_stat_activity`'s `Lock` / `transactionid` or
/// `relation`, and the ungranted `ShareLock` on the transaction id in `pg_locks`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockWait {
    /// The transaction whose end the session waits for, or the table lock it asks for.
    pub target: LockTarget,
    /// The table of the row (or the table locked), by OID.
    pub relation: u32,
    /// The wait's place in the order waits began (a relation's queue).
    pub seq: u64,
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
/// process of the cycle, `(pid, what it waits for, pid blocking it)`, the detecting one first.
pub fn deadlock_error(cycle: &[(i32, LockTarget, i32)]) -> crate::DbError {
    let detail: Vec<String> = cycle
        .iter()
        .map(|(pid, target, holder)| {
            format!(
                "Process {pid} waits for {}; blocked by process {holder}.",
                target.describe()
            )
        })
        .collect();
    crate::DbError::new("40P01", "deadlock detected")
        .with_detail(detail.join("\n"))
        .with_hint("See server log for query details.")
}

/// One `pg_locks` row: what is locked, by whom, how.
struct LockRow {
    /// `relation` (with the table's OID), `transactionid` or `virtualxid`.
    target: LockRowTarget,
    vxid: String,
    pid: i32,
    mode: &'static str,
    granted: bool,
    fastpath: bool,
    since: Option<Timestamp>,
}

enum LockRowTarget {
    Relation(u32),
    Transaction(Xid),
    Virtual(String),
}

impl LockRow {
    fn values(self) -> Vec<crate::types::Value> {
        use crate::types::Value;
        let text = |s: &str| Value::Text(s.into());
        let (locktype, database, relation, virtualxid, transactionid) = match self.target {
            LockRowTarget::Relation(oid) => (
                "relation",
                Value::Oid(crate::catalog::DATABASE_OID),
                Value::Oid(oid),
                Value::Null,
                Value::Null,
            ),
            LockRowTarget::Transaction(xid) => (
                "transactionid",
                Value::Null,
                Value::Null,
                Value::Null,
                text(&xid.to_string()),
            ),
            LockRowTarget::Virtual(vxid) => (
                "virtualxid",
                Value::Null,
                Value::Null,
                text(&vxid),
                Value::Null,
            ),
        };
        vec![
            text(locktype),
            database,
            relation,
            Value::Null,
            Value::Null,
            virtualxid,
            transactionid,
            Value::Null,
            Value::Null,
            Value::Null,
            text(&self.vxid),
            Value::Int4(self.pid),
            text(self.mode),
            Value::Bool(self.granted),
            Value::Bool(self.fastpath),
            crate::stats::time(self.since),
        ]
    }
}

impl crate::Database {
    /// `pg_locks` (PostgreSQL 15's 16 columns), as far as pgplay keeps locks: each
    /// transaction's `ExclusiveLock` on its virtual transaction id and on its own transaction
    /// id (and its subtransactions'), its table locks, and a waiting session's ungranted
    /// request (a `ShareLock` on the transaction id it waits for, or the table lock). Tuple
    /// locks are not kept.
    pub fn locks_view(&self) -> crate::stats::View {
        use crate::types::DataType::*;
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
        let mut rows = Vec::new();
        for (id, session) in &self.sessions {
            if session.xact.is_none() && session.lock_wait.is_none() {
                continue;
            }
            let pid = crate::database::session_pid(*id);
            let vxid = crate::database::virtual_xid(*id, session);
            let row = |target, mode, granted, fastpath, since| LockRow {
                target,
                vxid: vxid.clone(),
                pid,
                mode,
                granted,
                fastpath,
                since,
            };
            for lock in &session.relation_locks {
                let target = LockRowTarget::Relation(lock.relation);
                rows.push(row(target, lock.mode.name(), true, lock.fastpath, None));
            }
            let target = LockRowTarget::Virtual(vxid.clone());
            rows.push(row(target, "ExclusiveLock", true, true, None));
            if let Some(x) = &session.xact {
                let own = x.xid.into_iter().chain(x.subxacts.iter().copied()).chain(
                    x.savepoints
                        .iter()
                        .flat_map(|p| p.xid.into_iter().chain(p.subxacts.iter().copied())),
                );
                for xid in own {
                    let target = LockRowTarget::Transaction(xid);
                    rows.push(row(target, "ExclusiveLock", true, false, None));
                }
            }
            if let Some(wait) = &session.lock_wait {
                let (target, mode) = match wait.target {
                    LockTarget::Transaction(xid) => (LockRowTarget::Transaction(xid), "ShareLock"),
                    LockTarget::Relation { oid, mode } => {
                        (LockRowTarget::Relation(oid), mode.name())
                    }
                };
                rows.push(row(target, mode, false, false, Some(wait.since)));
            }
        }
        (columns, rows.into_iter().map(LockRow::values).collect())
    }
}
