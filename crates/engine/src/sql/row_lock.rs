//! `SELECT ... FOR UPDATE | FOR NO KEY UPDATE | FOR SHARE | FOR KEY SHARE [NOWAIT | SKIP
//! LOCKED]`: row locks.
//!
//! The four strengths conflict as PostgreSQL's do ([`RowLockMode::conflicts`]): an UPDATE that
//! leaves the key columns (those of a unique index) alone takes FOR NO KEY UPDATE, so it does
//! not wait for FOR KEY SHARE, which is what a foreign key check takes on the row it finds.
//! sqlparser reads only FOR UPDATE and FOR SHARE: [`mark_key_strengths`] rewrites the other
//! two into them with a mark in their OF list before parsing.
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
//! Each lock is also written as PostgreSQL writes it, when the statement ends: the tuple's xmax
//! with lock-only infomask bits, through a Heap LOCK WAL record that standbys replay and
//! pg_waldump shows ([`Executor::log_row_lock`]). Waits still go by the in-memory locks: a row
//! that several open transactions lock (PostgreSQL's MultiXact xmax) keeps only the first
//! locker in its xmax.

use sqlparser::ast;

use super::Executor;
use crate::catalog::TableDef;
use crate::database::{Database, SessionId};
use crate::error::{code, DbError, Result};
use crate::heap::ItemPointer;
use crate::mvcc::XactStatus;
use crate::sql::plan::exec::Row;
use crate::types::Value;
use pgplay_wal::{lock_bits, Xid};

/// The strength of a row lock, weakest first (PostgreSQL's `LockTupleMode`): a DELETE or an
/// UPDATE of a key column counts as `Update`, any other UPDATE as `NoKeyUpdate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowLockMode {
    KeyShare,
    Share,
    NoKeyUpdate,
    Update,
}

impl RowLockMode {
    /// PostgreSQL's conflict table: FOR KEY SHARE conflicts only with FOR UPDATE, FOR SHARE
    /// with both updates, FOR NO KEY UPDATE with all but FOR KEY SHARE, FOR UPDATE with all.
    pub fn conflicts(self, other: RowLockMode) -> bool {
        use RowLockMode::*;
        match (self.min(other), self.max(other)) {
            (_, Update) => true,
            (KeyShare, _) => false,
            (Share, Share) => false,
            _ => true,
        }
    }

    /// The infomask bits PostgreSQL sets with a lock-only xmax of this strength (as the Heap
    /// LOCK record's infobits: `LOCK_ONLY EXCL_LOCK KEYS_UPDATED` for FOR UPDATE).
    pub fn infobits(self) -> u8 {
        use lock_bits::*;
        LOCK_ONLY
            | match self {
                RowLockMode::KeyShare => KEYSHR_LOCK,
                RowLockMode::Share => EXCL_LOCK | KEYSHR_LOCK,
                RowLockMode::NoKeyUpdate => EXCL_LOCK,
                RowLockMode::Update => EXCL_LOCK | KEYS_UPDATED,
            }
    }

    /// The strength a lock-only xmax's infobits stand for.
    pub fn from_infobits(bits: u8) -> RowLockMode {
        use lock_bits::*;
        match (
            bits & EXCL_LOCK != 0,
            bits & KEYSHR_LOCK != 0,
            bits & KEYS_UPDATED != 0,
        ) {
            (true, _, true) => RowLockMode::Update,
            (true, true, false) => RowLockMode::Share,
            (true, false, false) => RowLockMode::NoKeyUpdate,
            _ => RowLockMode::KeyShare,
        }
    }

    /// The locking clause as SQL (`FOR NO KEY UPDATE`).
    pub fn clause(self) -> &'static str {
        match self {
            RowLockMode::KeyShare => "FOR KEY SHARE",
            RowLockMode::Share => "FOR SHARE",
            RowLockMode::NoKeyUpdate => "FOR NO KEY UPDATE",
            RowLockMode::Update => "FOR UPDATE",
        }
    }
}

/// The OF name [`mark_key_strengths`] puts first in a locking clause it rewrote (a quoted
/// identifier no query can write, as it holds a NUL).
const KEY_MARK: &str = "\u{0}key";

/// Rewrites `FOR NO KEY UPDATE` and `FOR KEY SHARE`, which sqlparser does not read, into
/// `FOR UPDATE OF "<mark>"` and `FOR SHARE OF "<mark>"` (`OF "<mark>".t` when the clause has
/// `OF t`); [`clause_mode`] reads the mark back.
pub fn mark_key_strengths(tokens: &mut Vec<sqlparser::tokenizer::TokenWithSpan>) {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, TokenWithSpan, Word};
    let is = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let mut i = 0;
    while i < tokens.len() {
        if !is(&tokens[i].token, Keyword::FOR) {
            i += 1;
            continue;
        }
        let words: Vec<usize> = (i + 1..tokens.len())
            .filter(|j| !matches!(tokens[*j].token, Token::Whitespace(_)))
            .take(4)
            .collect();
        let word = |n: usize, k: Keyword| words.get(n).is_some_and(|j| is(&tokens[*j].token, k));
        // The position of UPDATE or SHARE among the words after FOR.
        let strength = if word(0, Keyword::NO) && word(1, Keyword::KEY) && word(2, Keyword::UPDATE)
        {
            2
        } else if word(0, Keyword::KEY) && word(1, Keyword::SHARE) {
            1
        } else {
            i += 1;
            continue;
        };
        let span = tokens[words[strength]].span;
        let token = |token: Token| TokenWithSpan { token, span };
        let mark = token(Token::Word(Word {
            value: KEY_MARK.into(),
            quote_style: Some('"'),
            keyword: Keyword::NoKeyword,
        }));
        let of = words
            .get(strength + 1)
            .copied()
            .filter(|j| is(&tokens[*j].token, Keyword::OF));
        let inserted = match of {
            Some(of) => {
                tokens.splice(
                    of + 1..of + 1,
                    [
                        token(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)),
                        mark,
                        token(Token::Period),
                    ],
                );
                3
            }
            None => {
                let space = || token(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space));
                let of = token(Token::make_keyword("OF"));
                tokens.splice(
                    words[strength] + 1..words[strength] + 1,
                    [space(), of, space(), mark],
                );
                4
            }
        };
        // NO KEY / KEY and the blanks after them go.
        tokens.drain(words[0]..words[strength]);
        i = words[0] + inserted;
    }
}

/// The strength of a parsed locking clause, and its OF table without the mark.
pub fn clause_mode(clause: &ast::LockClause) -> (RowLockMode, Option<ast::ObjectName>) {
    let marked = |name: &ast::ObjectName| matches!(name.0.first(), Some(ast::ObjectNamePart::Identifier(ident)) if ident.value == KEY_MARK);
    let (keyed, of) = match &clause.of {
        Some(name) if marked(name) => {
            let rest: Vec<_> = name.0[1..].to_vec();
            (true, (!rest.is_empty()).then_some(ast::ObjectName(rest)))
        }
        other => (false, other.clone()),
    };
    let mode = match (clause.lock_type, keyed) {
        (ast::LockType::Update, false) => RowLockMode::Update,
        (ast::LockType::Update, true) => RowLockMode::NoKeyUpdate,
        (ast::LockType::Share, false) => RowLockMode::Share,
        (ast::LockType::Share, true) => RowLockMode::KeyShare,
    };
    (mode, of)
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

    /// An UPDATE of another session moved the row at `from` to `to` without changing its key:
    /// the FOR KEY SHARE locks on it hold the new version too (PostgreSQL keeps them in the
    /// new version's MultiXact xmax).
    pub(crate) fn carry_key_share_locks(
        &mut self,
        session: SessionId,
        table: u32,
        from: ItemPointer,
        to: ItemPointer,
    ) {
        let Some(locks) = self.row_locks.get(&(table, from)) else {
            return;
        };
        let carried: Vec<RowLock> = locks
            .iter()
            .filter(|l| l.session != session && l.mode == RowLockMode::KeyShare)
            .copied()
            .collect();
        if !carried.is_empty() {
            self.row_locks
                .entry((table, to))
                .or_default()
                .extend(carried);
        }
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
        let (mode, of) = clause_mode(clause);
        if query.locks.len() > 1 || of.is_some() {
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
            mode,
            nonblock: clause.nonblock,
        }))
    }

    /// Checks the row at `at` of the locked table: `Ok(true)` to lock and return it,
    /// `Ok(false)` to skip it (SKIP LOCKED), or the wait / NOWAIT error.
    fn check_row_lock(&mut self, request: RowLockRequest, at: ItemPointer) -> Result<bool> {
        let Some(table) = self.catalog.table_by_oid(request.table).cloned() else {
            return Ok(true);
        };
        // A lock-only xmax is no change: the lockers are in `row_locks`, checked below.
        let busy = match self.stored_tuple(&table, at).map(|t| t.deleter()) {
            Some(xmax) if xmax != 0 && !self.snapshot.is_own_xid(xmax) => {
                match self.db.data.clog.status(xmax) {
                    XactStatus::InProgress
                        if self.change_mode(&table, at)?.conflicts(request.mode) =>
                    {
                        Some(xmax)
                    }
                    XactStatus::InProgress => None,
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

    /// A foreign key check found the referenced row at `at` of `table`: it locks it FOR KEY
    /// SHARE until the transaction ends (as PostgreSQL's `RI_FKey_check` does), so the row's
    /// key cannot change or go while the referencing row is not committed.
    pub(crate) fn lock_referenced_row(&mut self, table: &TableDef, at: ItemPointer) -> Result<()> {
        let request = RowLockRequest {
            table: table.oid,
            mode: RowLockMode::KeyShare,
            nonblock: None,
        };
        if self.check_row_lock(request, at)? {
            self.query
                .pending_row_locks
                .push((table.oid, at, RowLockMode::KeyShare));
        }
        Ok(())
    }

    /// Writes the lock into the tuple's xmax through a Heap LOCK record, as PostgreSQL's
    /// `heap_lock_tuple` does, when the xmax is free: no xmax, or one whose transaction
    /// ended, or this transaction's own weaker lock. A row another open transaction also
    /// locks or changes would need a MultiXact, which pgplay does not have: that lock stays
    /// in memory only.
    fn log_row_lock(
        &mut self,
        table: u32,
        at: ItemPointer,
        mode: RowLockMode,
        xid: Xid,
    ) -> Result<()> {
        let Some(def) = self.catalog.table_by_oid(table).cloned() else {
            return Ok(());
        };
        let Some(tuple) = self.stored_tuple(&def, at) else {
            return Ok(());
        };
        let lock_only = tuple.lock_bits & lock_bits::LOCK_ONLY != 0;
        let free = tuple.xmax == 0
            || match self.db.data.clog.status(tuple.xmax) {
                _ if self.snapshot.is_own_xid(tuple.xmax) => {
                    lock_only && RowLockMode::from_infobits(tuple.lock_bits) < mode
                }
                XactStatus::InProgress => false,
                XactStatus::Aborted => true,
                XactStatus::Committed => lock_only,
            };
        if !free {
            return Ok(());
        }
        let record = pgplay_wal::HeapRecord::Lock {
            relation: def.locator,
            block: at.block,
            offset: at.offset,
            locking_xid: xid,
            infobits: mode.infobits(),
        };
        self.db.log(xid, pgplay_wal::RecordBody::Heap(record))?;
        Ok(())
    }

    /// The lock strength the change of the row version at `at` took: FOR UPDATE for a
    /// DELETE or an UPDATE of a key column, FOR NO KEY UPDATE for another UPDATE.
    fn change_mode(&self, table: &TableDef, at: ItemPointer) -> Result<RowLockMode> {
        let Some(old) = self.stored_tuple(table, at) else {
            return Ok(RowLockMode::Update);
        };
        if old.ctid == at {
            return Ok(RowLockMode::Update);
        }
        let Some(new) = self.stored_tuple(table, old.ctid) else {
            return Ok(RowLockMode::Update);
        };
        let layout = table.layout();
        let old_values = layout.decode(old.natts, &old.data)?;
        let new_values = layout.decode(new.natts, &new.data)?;
        Ok(update_mode(table, &old_values, &new_values))
    }

    /// The statement ended: the rows it locked stay locked by its transaction, which gets
    /// an xid for them.
    pub(crate) fn keep_row_locks(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.query.pending_row_locks);
        if pending.is_empty() {
            return Ok(());
        }
        let xid = self.db.assign_xid(self.session)?;
        self.snapshot.own = self.db.own(self.session);
        for (table, at, mode) in pending {
            self.log_row_lock(table, at, mode, xid)?;
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

/// The columns of `table` a foreign key may reference (PostgreSQL's key attributes: those
/// of its unique indexes).
pub fn key_columns(table: &TableDef) -> Vec<usize> {
    let mut columns: Vec<usize> = table
        .indexes
        .iter()
        .filter(|index| index.unique)
        .flat_map(|index| index.columns.iter().copied())
        .collect();
    columns.sort_unstable();
    columns.dedup();
    columns
}

/// The row lock an UPDATE from `old` to `new` takes (PostgreSQL's `heap_update`): FOR NO KEY
/// UPDATE while every key column keeps its value, else FOR UPDATE.
pub fn update_mode(table: &TableDef, old: &[Value], new: &[Value]) -> RowLockMode {
    let same = |i: usize| match (old.get(i), new.get(i)) {
        (Some(a), Some(b)) => a.is_null() == b.is_null() && crate::types::compare(a, b).is_eq(),
        _ => false,
    };
    if key_columns(table).into_iter().all(same) {
        RowLockMode::NoKeyUpdate
    } else {
        RowLockMode::Update
    }
}

/// The row lock an UPDATE assigning `columns` takes when its new values are not known yet
/// (PostgreSQL's `ExecUpdateLockMode`, as ON CONFLICT DO UPDATE uses it).
pub fn assigned_mode(table: &TableDef, columns: impl IntoIterator<Item = usize>) -> RowLockMode {
    let keys = key_columns(table);
    if columns.into_iter().any(|c| keys.contains(&c)) {
        RowLockMode::Update
    } else {
        RowLockMode::NoKeyUpdate
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
