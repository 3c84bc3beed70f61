//! `SELECT ... FOR UPDATE | FOR SHARE [NOWAIT | SKIP LOCKED]`: row locks.
//!
//! The query's one table is scanned as usual; each row that passes the WHERE clause goes
//! through [`LockRows`] (placed right above the scan and its filter, below any sort or
//! limit, so that a LIMIT without ORDER BY stops the locking as PostgreSQL's LockRows does).
//! A row another open transaction is changing, or has locked in a conflicting mode, makes the
//! statement wait for that transaction (the row lock wait of [`crate::lock`]), fail with
//! 55P03 under NOWAIT, or drop the row under SKIP LOCKED. The locks the statement took are
//! kept only when it ends: then the transaction gets an xid (as PostgreSQL's does, which
//! writes it into the row's xmax) and the locks go into [`crate::Database::row_locks`] until
//! the transaction ends; an UPDATE or DELETE of such a row waits for that xid.
//!
//! Unlike PostgreSQL, pgplay keeps these locks in memory, not in the tuple's xmax and a Heap
//! LOCK WAL record, so a standby never sees them.

use sqlparser::ast;

use super::Executor;
use crate::database::{Database, SessionId};
use crate::error::{code, DbError, Result};
use crate::heap::ItemPointer;
use crate::mvcc::XactStatus;
use crate::sql::plan::exec::Row;
use pgplay_wal::Xid;

/// The strength of a row lock (`FOR SHARE`, `FOR UPDATE`; an UPDATE or DELETE counts as
/// `Update`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowLockMode {
    Share,
    Update,
}

impl RowLockMode {
    fn conflicts(self, other: RowLockMode) -> bool {
        !(self == RowLockMode::Share && other == RowLockMode::Share)
    }
}

/// A row lock held until its transaction ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowLock {
    pub session: SessionId,
    pub xid: Xid,
    pub mode: RowLockMode,
}

/// The row locking a query asks for: its table, the strength and NOWAIT / SKIP LOCKED.
#[derive(Clone, Copy, Debug)]
pub struct RowLockRequest {
    pub table: u32,
    pub mode: RowLockMode,
    pub nonblock: Option<ast::NonBlock>,
}

impl Database {
    /// The transaction of another session than `session` holding a row lock on `(table, at)`
    /// that conflicts with `mode`.
    pub(crate) fn row_lock_holder(
        &self,
        session: SessionId,
        table: u32,
        at: ItemPointer,
        mode: RowLockMode,
    ) -> Option<Xid> {
        self.row_locks.get(&(table, at))?.iter().find_map(|lock| {
            (lock.session != session && lock.mode.conflicts(mode)).then_some(lock.xid)
        })
    }

    /// The transaction of `session` ended: its row locks go.
    pub(crate) fn release_row_locks(&mut self, session: SessionId) {
        self.row_locks.retain(|_, locks| {
            locks.retain(|l| l.session != session);
            !locks.is_empty()
        });
    }
}

impl Executor<'_> {
    /// The row locking `query` asks for, checked: pgplay locks the rows of a query over
    /// one table only.
    pub(crate) fn row_lock_request(&self, query: &ast::Query) -> Result<Option<RowLockRequest>> {
        let Some(clause) = query.locks.first() else {
            return Ok(None);
        };
        let not_supported = |what: &str| {
            DbError::feature_not_supported(format!(
                "SELECT FOR UPDATE/SHARE {what} is not supported by pgplay yet"
            ))
        };
        if query.locks.len() > 1 || clause.of.is_some() {
            return Err(not_supported("with several locking clauses or OF"));
        }
        let ast::SetExpr::Select(select) = query.body.as_ref() else {
            return Err(not_supported("on a set operation"));
        };
        let [from] = &select.from[..] else {
            return Err(not_supported("over other than one table"));
        };
        let ast::TableFactor::Table { name, .. } = &from.relation else {
            return Err(not_supported("over other than one table"));
        };
        if !from.joins.is_empty() || select.distinct.is_some() || select.having.is_some() {
            return Err(not_supported("with joins, DISTINCT or HAVING"));
        }
        let name = super::bind::object_name(name);
        let Some(table) = self.catalog.table(&name) else {
            return Err(not_supported("over a view or a system view"));
        };
        Ok(Some(RowLockRequest {
            table: table.oid,
            mode: match clause.lock_type {
                ast::LockType::Update => RowLockMode::Update,
                ast::LockType::Share => RowLockMode::Share,
            },
            nonblock: clause.nonblock,
        }))
    }

    /// Checks the row at `at` of the locked table: `Ok(true)` to lock and return it,
    /// `Ok(false)` to skip it (SKIP LOCKED), or the wait / NOWAIT error.
    fn check_row_lock(&mut self, request: RowLockRequest, at: ItemPointer) -> Result<bool> {
        let Some(table) = self.catalog.table_by_oid(request.table).cloned() else {
            return Ok(true);
        };
        let busy = match self.stored_tuple(&table, at) {
            Some(tuple) if tuple.xmax != 0 && !self.snapshot.is_own_xid(tuple.xmax) => {
                match self.db.data.clog.status(tuple.xmax) {
                    XactStatus::InProgress => Some(tuple.xmax),
                    XactStatus::Committed if self.keeps_snapshot() => {
                        return Err(DbError::new(
                            code::SERIALIZATION_FAILURE,
                            "could not serialize access due to concurrent update",
                        ))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let busy = busy.or_else(|| {
            self.db
                .row_lock_holder(self.session, request.table, at, request.mode)
        });
        let Some(xid) = busy else {
            return Ok(true);
        };
        match request.nonblock {
            Some(ast::NonBlock::SkipLocked) => Ok(false),
            Some(ast::NonBlock::Nowait) => Err(DbError::new(
                code::LOCK_NOT_AVAILABLE,
                format!(
                    "could not obtain lock on row in relation \"{}\"",
                    table.name
                ),
            )),
            None => Err(self.wait_for(&table, xid, "locking")),
        }
    }

    /// The statement ended: the rows it locked stay locked by its transaction, which gets
    /// an xid for them.
    pub(crate) fn keep_row_locks(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.query.pending_row_locks);
        if pending.is_empty() {
            return Ok(());
        }
        let xid = self.db.assign_xid(self.session)?;
        for (table, at, mode) in pending {
            let locks = self.db.row_locks.entry((table, at)).or_default();
            if !locks
                .iter()
                .any(|l| l.session == self.session && l.mode == mode)
            {
                locks.push(RowLock {
                    session: self.session,
                    xid,
                    mode,
                });
            }
        }
        Ok(())
    }
}

/// Locks the rows its input (the locked table's scan, and its filter) yields.
pub(crate) struct LockRows<'p> {
    pub input: Box<dyn crate::sql::plan::exec::Source + 'p>,
    pub request: RowLockRequest,
}

impl crate::sql::plan::exec::Source for LockRows<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ex)? {
            let Some(at) = ex.query.last_tid else {
                return Ok(Some(row));
            };
            if ex.check_row_lock(self.request, at)? {
                let entry = (self.request.table, at, self.request.mode);
                ex.query.pending_row_locks.push(entry);
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}
