//! A session's open transaction: its xid, its savepoints, its isolation
//! level and the snapshot it keeps.
//!
//! Savepoints are subtransactions as in PostgreSQL: each level gets an xid
//! of its own at its first write (its parents first, so a child's xid is
//! always above its parent's), and the rows it writes carry that xid.
//! `RELEASE` folds a level into its parent without writing anything; its
//! xid becomes one of the parent's subtransactions. `ROLLBACK TO` aborts the
//! levels above and at the savepoint, each with an ABORT record naming its
//! xid and the subtransactions released into it, and starts the level
//! again. The top-level COMMIT or ABORT record lists every subtransaction
//! still part of the transaction, so redo sets them all at once and a
//! standby or crash recovery sees exactly what the primary saw.
//!
//! Isolation: READ COMMITTED takes a snapshot per statement; REPEATABLE
//! READ and SERIALIZABLE keep the one their first query took (the same code
//! serves standbys, whose snapshots come from replayed WAL).

use std::collections::{BTreeMap, BTreeSet};

use pgplay_wal::{RecordBody, RelFileLocator, TransactionRecord, Xid};

use crate::database::{Database, SessionId};
use crate::error::{code, DbError, Result};
use crate::mvcc::{Own, Snapshot, FIRST_NORMAL_XID};

/// PostgreSQL's `PGPROC_MAX_CACHED_SUBXIDS`: how many subtransactions a
/// transaction assigns before it reports them in an ASSIGNMENT record.
const MAX_CACHED_SUBXIDS: usize = 64;

/// PostgreSQL's four isolation levels (READ UNCOMMITTED behaves as READ
/// COMMITTED there too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Isolation {
    ReadUncommitted,
    #[default]
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    /// From a `transaction_isolation` value; anything else is READ COMMITTED.
    pub fn from_setting(value: &str) -> Isolation {
        match value {
            "read uncommitted" => Isolation::ReadUncommitted,
            "repeatable read" => Isolation::RepeatableRead,
            "serializable" => Isolation::Serializable,
            _ => Isolation::ReadCommitted,
        }
    }

    pub fn from_ast(level: &sqlparser::ast::TransactionIsolationLevel) -> Result<Isolation> {
        use sqlparser::ast::TransactionIsolationLevel as Level;
        Ok(match level {
            Level::ReadUncommitted => Isolation::ReadUncommitted,
            Level::ReadCommitted => Isolation::ReadCommitted,
            Level::RepeatableRead => Isolation::RepeatableRead,
            Level::Serializable => Isolation::Serializable,
            Level::Snapshot => return Err(DbError::syntax("syntax error at or near \"SNAPSHOT\"")),
        })
    }

    /// The setting's value, as SHOW prints it.
    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadUncommitted => "read uncommitted",
            Isolation::ReadCommitted => "read committed",
            Isolation::RepeatableRead => "repeatable read",
            Isolation::Serializable => "serializable",
        }
    }

    /// Whether the transaction keeps its first snapshot.
    pub fn keeps_snapshot(self) -> bool {
        matches!(self, Isolation::RepeatableRead | Isolation::Serializable)
    }
}

/// One savepoint: a subtransaction level.
#[derive(Clone, Debug, Default)]
pub struct Savepoint {
    pub name: String,
    /// Assigned at the level's first write (or a child's).
    pub xid: Option<Xid>,
    /// Subtransactions released into this one.
    pub subxacts: Vec<Xid>,
    pub created: Vec<RelFileLocator>,
    pub dropped: Vec<RelFileLocator>,
    /// The session's settings when the savepoint was made: ROLLBACK TO
    /// restores them, as PostgreSQL's GUC nesting does.
    pub settings: BTreeMap<&'static str, String>,
    /// How many SET LOCAL names the transaction had then.
    pub local_settings: usize,
    /// The transaction's access mode then: `SET TRANSACTION READ ONLY`
    /// inside a savepoint lasts until the savepoint ends (released or
    /// rolled back), as PostgreSQL's `prevXactReadOnly` makes it.
    pub read_only: bool,
}

/// The open transaction of a session.
#[derive(Clone, Debug, Default)]
pub struct Xact {
    /// Assigned at the first write, as in PostgreSQL.
    pub xid: Option<Xid>,
    /// Subtransactions released into the top level.
    pub subxacts: Vec<Xid>,
    /// Open savepoints, outermost first.
    pub savepoints: Vec<Savepoint>,
    /// Subtransaction xids assigned since the last ASSIGNMENT record.
    pub unreported_subxids: Vec<Xid>,
    pub command_id: u32,
    /// BEGIN was used (otherwise the statement commits on its own).
    pub explicit: bool,
    /// An error happened; only ROLLBACK (or COMMIT) ends it.
    pub failed: bool,
    pub catalog_changed: bool,
    pub created: Vec<RelFileLocator>,
    pub dropped: Vec<RelFileLocator>,
    pub read_only: bool,
    pub isolation: Isolation,
    /// The snapshot of the first query (PostgreSQL's `FirstSnapshotSet`);
    /// REPEATABLE READ and SERIALIZABLE read through it to the end.
    pub snapshot: Option<Snapshot>,
    /// The session's settings before its first SET in this transaction.
    pub settings_before: Option<BTreeMap<&'static str, String>>,
    /// Settings changed with SET LOCAL.
    pub local_settings: Vec<&'static str>,
}

impl Xact {
    /// The xids whose changes are this transaction's own: the top level's
    /// and every subtransaction not rolled back.
    pub fn own_xids(&self) -> BTreeSet<Xid> {
        let mut xids: BTreeSet<Xid> = self.xid.into_iter().collect();
        xids.extend(self.subxacts.iter().copied());
        for level in &self.savepoints {
            xids.extend(level.xid);
            xids.extend(level.subxacts.iter().copied());
        }
        xids
    }

    pub fn in_subtransaction(&self) -> bool {
        !self.savepoints.is_empty()
    }

    /// Relations created by the current (sub)transaction.
    pub fn created_mut(&mut self) -> &mut Vec<RelFileLocator> {
        match self.savepoints.last_mut() {
            Some(level) => &mut level.created,
            None => &mut self.created,
        }
    }

    /// Relations dropped by the current (sub)transaction.
    pub fn dropped_mut(&mut self) -> &mut Vec<RelFileLocator> {
        match self.savepoints.last_mut() {
            Some(level) => &mut level.dropped,
            None => &mut self.dropped,
        }
    }

    /// Folds the innermost savepoint into its parent (RELEASE, or COMMIT).
    fn release_innermost(&mut self) {
        let Some(level) = self.savepoints.pop() else {
            return;
        };
        self.read_only = level.read_only;
        let (subxacts, created, dropped) = match self.savepoints.last_mut() {
            Some(parent) => (
                &mut parent.subxacts,
                &mut parent.created,
                &mut parent.dropped,
            ),
            None => (&mut self.subxacts, &mut self.created, &mut self.dropped),
        };
        subxacts.extend(level.xid);
        subxacts.extend(level.subxacts);
        created.extend(level.created);
        dropped.extend(level.dropped);
    }

    /// Folds every savepoint into the top level, as COMMIT does.
    pub fn release_all(&mut self) {
        while self.in_subtransaction() {
            self.release_innermost();
        }
    }

    /// The newest savepoint of this name.
    fn find_savepoint(&self, name: &str) -> Result<usize> {
        self.savepoints
            .iter()
            .rposition(|level| level.name == name)
            .ok_or_else(|| {
                DbError::new(
                    code::INVALID_SAVEPOINT_SPECIFICATION,
                    format!("savepoint \"{name}\" does not exist"),
                )
            })
    }
}

/// The block a savepoint command needs: `SAVEPOINT can only be used in transaction blocks`.
fn require_block(xact: Option<&Xact>, command: &str) -> Result<()> {
    if xact.is_some_and(|x| x.explicit) {
        return Ok(());
    }
    Err(DbError::new(
        code::NO_ACTIVE_SQL_TRANSACTION,
        format!("{command} can only be used in transaction blocks"),
    ))
}

impl Database {
    fn open_xact(&self, session: SessionId) -> Option<&Xact> {
        self.sessions.get(&session).and_then(|s| s.xact.as_ref())
    }

    /// The session's transaction, started (with the session's defaults) if none is open.
    pub(crate) fn xact_mut(&mut self, session: SessionId) -> &mut Xact {
        if self.open_xact(session).is_none() {
            let xact = Xact {
                isolation: Isolation::from_setting(
                    &self.setting(session, "default_transaction_isolation"),
                ),
                read_only: self.setting(session, "default_transaction_read_only") == "on",
                ..Xact::default()
            };
            let current = self.session_mut(session);
            current.local_xid += 1;
            current.xact = Some(xact);
        }
        self.session_mut(session)
            .xact
            .as_mut()
            .expect("just opened")
    }

    fn new_xid(&mut self) -> Xid {
        let xid = self.data.next_xid.max(FIRST_NORMAL_XID);
        self.data.next_xid = xid + 1;
        self.data.running.insert(xid);
        xid
    }

    /// The xid the session writes under: the innermost savepoint's, or the
    /// top level's; assigned at the first write, parents first.
    pub(crate) fn assign_xid(&mut self, session: SessionId) -> Result<Xid> {
        let mut xid = self.assign_top_xid(session);
        for depth in 0..self.xact_mut(session).savepoints.len() {
            xid = match self.xact_mut(session).savepoints[depth].xid {
                Some(xid) => xid,
                None => {
                    let xid = self.new_xid();
                    self.xact_mut(session).savepoints[depth].xid = Some(xid);
                    self.report_subxid(session, xid)?;
                    xid
                }
            };
        }
        Ok(xid)
    }

    /// Counts a new subtransaction; the 64th since the last report writes
    /// an ASSIGNMENT record naming them, as PostgreSQL's `AssignTransactionId`.
    fn report_subxid(&mut self, session: SessionId, xid: Xid) -> Result<()> {
        let xact = self.xact_mut(session);
        xact.unreported_subxids.push(xid);
        if xact.unreported_subxids.len() < MAX_CACHED_SUBXIDS {
            return Ok(());
        }
        let subxacts = std::mem::take(&mut xact.unreported_subxids);
        let top = xact.xid.unwrap_or(xid);
        self.log(
            xid,
            RecordBody::Transaction(TransactionRecord::Assignment { top, subxacts }),
        )?;
        Ok(())
    }

    /// The top-level xid, assigned if need be (`pg_current_xact_id()`
    /// answers it inside a savepoint too, as PostgreSQL's `GetTopTransactionId`).
    pub(crate) fn assign_top_xid(&mut self, session: SessionId) -> Xid {
        if let Some(xid) = self.xact_mut(session).xid {
            return xid;
        }
        let xid = self.new_xid();
        self.xact_mut(session).xid = Some(xid);
        xid
    }

    /// The session's own xids and command id, when its transaction has an xid.
    pub fn own(&self, session: SessionId) -> Option<Own> {
        let xact = self.open_xact(session)?;
        xact.xid?;
        Some(Own {
            xids: xact.own_xids(),
            command: xact.command_id,
        })
    }

    /// `SAVEPOINT name`.
    pub fn savepoint(&mut self, session: SessionId, name: &str) -> Result<()> {
        require_block(self.open_xact(session), "SAVEPOINT")?;
        let settings = self.session_mut(session).settings.clone();
        let xact = self.xact_mut(session);
        let local_settings = xact.local_settings.len();
        let read_only = xact.read_only;
        xact.savepoints.push(Savepoint {
            name: name.to_string(),
            settings,
            local_settings,
            read_only,
            ..Savepoint::default()
        });
        Ok(())
    }

    /// `RELEASE SAVEPOINT name`: the savepoint and those after it fold into its parent.
    pub fn release_savepoint(&mut self, session: SessionId, name: &str) -> Result<()> {
        require_block(self.open_xact(session), "RELEASE SAVEPOINT")?;
        let xact = self.xact_mut(session);
        let depth = xact.find_savepoint(name)?;
        while xact.savepoints.len() > depth {
            xact.release_innermost();
        }
        Ok(())
    }

    /// `ROLLBACK TO SAVEPOINT name`: the savepoints after it and its own
    /// work are aborted (an ABORT record for each with an xid), the
    /// session's settings are as they were at it, and it starts again.
    pub fn rollback_to_savepoint(&mut self, session: SessionId, name: &str) -> Result<()> {
        require_block(self.open_xact(session), "ROLLBACK TO SAVEPOINT")?;
        let depth = self.xact_mut(session).find_savepoint(name)?;
        let mut restart = None;
        while self.xact_mut(session).savepoints.len() > depth {
            restart = self.abort_innermost_savepoint(session);
        }
        let restart = restart.expect("the savepoint was found");
        self.release_relation_locks_above(session, depth);
        let xact = self.xact_mut(session);
        xact.local_settings.truncate(restart.local_settings);
        xact.failed = false;
        xact.read_only = restart.read_only;
        xact.savepoints.push(Savepoint {
            name: restart.name,
            settings: restart.settings.clone(),
            local_settings: restart.local_settings,
            read_only: restart.read_only,
            ..Savepoint::default()
        });
        self.session_mut(session).settings = restart.settings;
        Ok(())
    }

    /// An error in a transaction block: the innermost savepoint's
    /// subtransaction aborts at once (the ABORT record is written now, as
    /// PostgreSQL writes it), while the level stays for ROLLBACK TO; without
    /// savepoints, the whole transaction does.
    pub(crate) fn abort_at_error(&mut self, session: SessionId) {
        let xact = self.xact_mut(session);
        let depth = xact.savepoints.len();
        let Some(level) = xact.savepoints.last_mut() else {
            // PostgreSQL's AbortTransaction releases the locks at the error.
            self.release_relation_locks(session);
            return self.abort_failed_top_level(session);
        };
        let read_only = level.read_only;
        let aborted = Savepoint {
            name: level.name.clone(),
            xid: level.xid.take(),
            subxacts: std::mem::take(&mut level.subxacts),
            created: std::mem::take(&mut level.created),
            dropped: std::mem::take(&mut level.dropped),
            ..Savepoint::default()
        };
        xact.read_only = read_only;
        self.release_relation_locks_above(session, depth - 1);
        self.log_subtransaction_abort(&aborted);
    }

    /// An error in a block without savepoints: the transaction aborts at
    /// once (its ABORT record now, as PostgreSQL writes it at the error);
    /// the block waits for ROLLBACK (or COMMIT) to end it.
    fn abort_failed_top_level(&mut self, session: SessionId) {
        let xact = self.xact_mut(session);
        let Some(xid) = xact.xid.take() else {
            return;
        };
        let subxacts = std::mem::take(&mut xact.subxacts);
        let created = std::mem::take(&mut xact.created);
        xact.dropped.clear();
        self.log_abort(xid, subxacts, created);
    }

    /// Pops the innermost savepoint, aborting its subtransaction; returns it.
    fn abort_innermost_savepoint(&mut self, session: SessionId) -> Option<Savepoint> {
        let level = self.xact_mut(session).savepoints.pop()?;
        self.log_subtransaction_abort(&level);
        Some(level)
    }

    /// The ABORT record of a subtransaction that has an xid, naming the
    /// subtransactions released into it and the relations it created.
    fn log_subtransaction_abort(&mut self, level: &Savepoint) {
        let Some(xid) = level.xid else {
            return;
        };
        self.log_abort(xid, level.subxacts.clone(), level.created.clone());
    }

    /// Writes an ABORT record (or, if the log refuses it, marks the xids
    /// aborted directly) and leaves it to the WAL writer to flush.
    pub(crate) fn log_abort(&mut self, xid: Xid, subxacts: Vec<Xid>, created: Vec<RelFileLocator>) {
        let body = RecordBody::Transaction(TransactionRecord::Abort {
            time: self.now,
            dropped: created.clone(),
            subxacts: subxacts.clone(),
        });
        if self.log(xid, body).is_err() {
            for xid in std::iter::once(xid).chain(subxacts) {
                self.data.clog.set(xid, crate::mvcc::XactStatus::Aborted);
                self.data.running.remove(&xid);
                self.data.catalog_writers.remove(&xid);
            }
        } else {
            let end = self.wal.insert_lsn();
            self.leave_for_wal_writer(end);
        }
    }

    /// Aborts every open savepoint, innermost first (before the top level's abort).
    pub(crate) fn abort_savepoints(&mut self, session: SessionId) {
        while self.abort_innermost_savepoint(session).is_some() {}
    }

    /// The snapshot a statement reads through. READ COMMITTED: a new one
    /// for each statement. REPEATABLE READ and SERIALIZABLE: the first
    /// query's, kept. Statements that take none (`takes_snapshot` false:
    /// transaction control, SET, SHOW) leave the transaction's first
    /// snapshot to come. SERIALIZABLE cannot start on a standby.
    pub fn statement_snapshot(
        &mut self,
        session: SessionId,
        takes_snapshot: bool,
    ) -> Result<Snapshot> {
        let fresh = self.snapshot(session);
        let Some(xact) = self.open_xact(session) else {
            return Ok(fresh);
        };
        match &xact.snapshot {
            Some(kept) if xact.isolation.keeps_snapshot() => Ok(Snapshot {
                own: fresh.own,
                ..kept.clone()
            }),
            Some(_) => Ok(fresh),
            None if !takes_snapshot => Ok(fresh),
            None => {
                if xact.isolation == Isolation::Serializable && self.in_recovery {
                    return Err(serializable_in_hot_standby().with_detail(
                        "\"default_transaction_isolation\" is set to \"serializable\".",
                    ).with_hint(
                        "You can use \"SET default_transaction_isolation = 'repeatable read'\" to change the default.",
                    ));
                }
                let kept = Snapshot {
                    own: None,
                    ..fresh.clone()
                };
                self.xact_mut(session).snapshot = Some(kept);
                Ok(fresh)
            }
        }
    }

    /// `SET TRANSACTION ISOLATION LEVEL` (also BEGIN's and `SET
    /// transaction_isolation`), with PostgreSQL's checks when it changes.
    pub fn set_isolation(&mut self, session: SessionId, level: Isolation) -> Result<()> {
        let in_recovery = self.in_recovery;
        let xact = self.xact_mut(session);
        if xact.isolation == level {
            return Ok(());
        }
        if xact.snapshot.is_some() {
            return Err(DbError::new(
                code::ACTIVE_SQL_TRANSACTION,
                "SET TRANSACTION ISOLATION LEVEL must be called before any query",
            ));
        }
        if xact.in_subtransaction() {
            return Err(DbError::new(
                code::ACTIVE_SQL_TRANSACTION,
                "SET TRANSACTION ISOLATION LEVEL must not be called in a subtransaction",
            ));
        }
        if level == Isolation::Serializable && in_recovery {
            return Err(
                serializable_in_hot_standby().with_hint("You can use REPEATABLE READ instead.")
            );
        }
        xact.isolation = level;
        Ok(())
    }

    /// `SET TRANSACTION READ ONLY | READ WRITE` (also BEGIN's and `SET
    /// transaction_read_only`), with PostgreSQL's checks for read-write.
    pub fn set_read_only(&mut self, session: SessionId, read_only: bool) -> Result<()> {
        let in_recovery = self.in_recovery;
        let xact = self.xact_mut(session);
        if !read_only && (xact.read_only || in_recovery) {
            if xact.in_subtransaction() {
                return Err(DbError::new(
                    code::ACTIVE_SQL_TRANSACTION,
                    "cannot set transaction read-write mode inside a read-only transaction",
                ));
            }
            if xact.snapshot.is_some() {
                return Err(DbError::new(
                    code::ACTIVE_SQL_TRANSACTION,
                    "transaction read-write mode must be set before any query",
                ));
            }
            if in_recovery {
                return Err(DbError::feature_not_supported(
                    "cannot set transaction read-write mode during recovery",
                ));
            }
        }
        xact.read_only = read_only;
        Ok(())
    }

    /// The isolation level SHOW reports: the open transaction's, else the default.
    pub fn isolation(&self, session: SessionId) -> Isolation {
        match self.open_xact(session) {
            Some(xact) => xact.isolation,
            None => {
                Isolation::from_setting(&self.setting(session, "default_transaction_isolation"))
            }
        }
    }

    /// Whether the session's transaction is read-only (always, in recovery).
    pub fn transaction_read_only(&self, session: SessionId) -> bool {
        self.in_recovery || self.open_xact(session).is_some_and(|x| x.read_only)
    }
}

fn serializable_in_hot_standby() -> DbError {
    DbError::feature_not_supported("cannot use serializable mode in a hot standby")
}

#[cfg(test)]
mod tests {
    use pgplay_wal::{Lsn, Record, RecordBody, TransactionRecord};

    use crate::test_support::db;
    use crate::{Database, Outcome, SessionId};

    fn run(db: &mut Database, session: SessionId, sql: &str) {
        for result in crate::sql::execute(db, session, sql) {
            result.outcome.expect(sql);
        }
    }

    fn ids(db: &mut Database) -> Vec<String> {
        let session = db.open_session();
        let mut results = crate::sql::execute(db, session, "SELECT x FROM t ORDER BY x");
        db.close_session(session);
        match results.pop().unwrap().outcome.unwrap() {
            Outcome::Rows { rows, .. } => rows.into_iter().map(|r| r[0].clone().unwrap()).collect(),
            other => panic!("{other:?}"),
        }
    }

    /// (record xid, COMMIT or ABORT, its subxacts) of the transaction ends from `from` on.
    fn ends(db: &Database, from: Lsn) -> Vec<(u32, &'static str, Vec<u32>)> {
        db.wal
            .records_from(from)
            .filter_map(|read| {
                let read = read.unwrap();
                match read.record.body {
                    RecordBody::Transaction(TransactionRecord::Commit { subxacts, .. }) => {
                        Some((read.record.xid, "COMMIT", subxacts))
                    }
                    RecordBody::Transaction(TransactionRecord::Abort { subxacts, .. }) => {
                        Some((read.record.xid, "ABORT", subxacts))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// The records PostgreSQL 15 writes for the same statements (seen with
    /// pg_waldump): an ABORT per rolled-back subtransaction with an xid,
    /// innermost first, and a COMMIT listing the released ones.
    #[test]
    fn savepoints_write_what_postgres_writes() {
        let (mut db, session) = db();
        run(&mut db, session, "CREATE TABLE t (x int)");
        let from = db.wal.insert_lsn();
        run(
            &mut db,
            session,
            "BEGIN; INSERT INTO t VALUES (1); SAVEPOINT a; INSERT INTO t VALUES (2); \
             SAVEPOINT b; INSERT INTO t VALUES (3); ROLLBACK TO SAVEPOINT a; \
             INSERT INTO t VALUES (4); SAVEPOINT c; INSERT INTO t VALUES (5); RELEASE c; COMMIT",
        );
        run(
            &mut db,
            session,
            "BEGIN; SAVEPOINT a; INSERT INTO t VALUES (6); RELEASE a; ROLLBACK",
        );
        let top = 731;
        assert_eq!(
            ends(&db, from),
            vec![
                (top + 2, "ABORT", vec![]),
                (top + 1, "ABORT", vec![]),
                (top, "COMMIT", vec![top + 3, top + 4]),
                (top + 5, "ABORT", vec![top + 6]),
            ]
        );
        assert_eq!(ids(&mut db), ["1", "4", "5"]);
        assert!(db.running_xids().is_empty());
    }

    /// PostgreSQL writes the ABORT record of the failed (sub)transaction at
    /// the error, not at the ROLLBACK that ends the block.
    #[test]
    fn an_error_aborts_the_innermost_transaction_at_once() {
        let (mut db, session) = db();
        run(&mut db, session, "CREATE TABLE t (x int)");
        let from = db.wal.insert_lsn();
        let fail = |db: &mut Database| {
            let results = crate::sql::execute(db, session, "SELECT 1/0");
            assert!(results[0].outcome.is_err());
        };
        run(
            &mut db,
            session,
            "BEGIN; INSERT INTO t VALUES (1); SAVEPOINT a; INSERT INTO t VALUES (2)",
        );
        fail(&mut db);
        let top = 731;
        assert_eq!(ends(&db, from), vec![(top + 1, "ABORT", vec![])]);
        run(&mut db, session, "ROLLBACK TO a");
        assert_eq!(ends(&db, from).len(), 1, "aborted already");
        run(&mut db, session, "RELEASE a");
        fail(&mut db);
        assert_eq!(ends(&db, from)[1], (top, "ABORT", vec![]));
        run(&mut db, session, "ROLLBACK");
        assert_eq!(ends(&db, from).len(), 2);
        assert!(ids(&mut db).is_empty());
        assert!(db.running_xids().is_empty());
    }

    /// As on PostgreSQL 15 (`ASSIGNMENT xtop 764: subxacts: 765 ... 828`,
    /// written by the 64th subtransaction before its first row).
    #[test]
    fn every_64_subtransactions_are_reported() {
        let (mut db, session) = db();
        run(&mut db, session, "CREATE TABLE t (x int)");
        let from = db.wal.insert_lsn();
        let mut sql = String::from("BEGIN;");
        for i in 1..=66 {
            sql.push_str(&format!("SAVEPOINT s{i}; INSERT INTO t VALUES ({i});"));
        }
        sql.push_str("COMMIT;");
        run(&mut db, session, &sql);
        let top = 731;
        let assignments: Vec<Record> = db
            .wal
            .records_from(from)
            .map(|r| r.unwrap().record)
            .filter(|r| {
                matches!(
                    r.body,
                    RecordBody::Transaction(TransactionRecord::Assignment { .. })
                )
            })
            .collect();
        assert_eq!(assignments.len(), 1);
        assert_eq!(assignments[0].xid, top + 64);
        let expected: String = (top + 1..=top + 64).map(|x| format!(" {x}")).collect();
        assert_eq!(
            assignments[0].describe(),
            format!("ASSIGNMENT xtop {top}: subxacts:{expected}")
        );
        assert_eq!(ids(&mut db).len(), 66);
        let (_, _, subxacts) = ends(&db, from).pop().unwrap();
        assert_eq!(subxacts.len(), 66);
    }

    /// A standby replaying the WAL and a crashed primary recovering from it
    /// see exactly the committed subtransactions; an open transaction's
    /// released ones stay invisible, then vanish with the crash.
    #[test]
    fn standbys_and_crash_recovery_see_what_the_primary_saw() {
        let (mut primary, session) = db();
        run(&mut primary, session, "CREATE TABLE t (x int)");
        let mut standby = Database::from_backup(primary.base_backup(), 0);
        standby.start_standby().unwrap();
        let from = primary.wal.insert_lsn();
        run(
            &mut primary,
            session,
            "BEGIN; SAVEPOINT a; INSERT INTO t VALUES (1); SAVEPOINT b; INSERT INTO t VALUES (2); \
             ROLLBACK TO b; RELEASE a; SAVEPOINT c; INSERT INTO t VALUES (3); COMMIT",
        );
        let open = primary.open_session();
        run(
            &mut primary,
            open,
            "BEGIN; INSERT INTO t VALUES (10); SAVEPOINT d; INSERT INTO t VALUES (11); RELEASE d",
        );
        primary.wal.flush(primary.wal.insert_lsn());
        let records: Vec<(Lsn, Record, Lsn)> = primary
            .wal
            .records_from(from)
            .map(|r| r.map(|r| (r.lsn, r.record, r.end)).unwrap())
            .collect();
        for (lsn, record, end) in &records {
            standby.replay(*lsn, record, *end).unwrap();
        }
        assert_eq!(ids(&mut primary), ["1", "3"]);
        assert_eq!(ids(&mut standby), ["1", "3"]);
        primary.crash();
        primary.recover().unwrap();
        assert_eq!(ids(&mut primary), ["1", "3"]);
    }

    /// START TRANSACTION answers its own command tag (also with the warning inside a block).
    #[test]
    fn start_transaction_is_tagged_start_transaction() {
        let (mut db, session) = db();
        let tags: Vec<String> = crate::sql::execute(
            &mut db,
            session,
            "START TRANSACTION READ ONLY; START TRANSACTION; COMMIT; BEGIN; ROLLBACK",
        )
        .into_iter()
        .map(|result| match result.outcome.unwrap() {
            Outcome::Command { tag } | Outcome::Rows { tag, .. } => tag,
        })
        .collect();
        assert_eq!(
            tags,
            [
                "START TRANSACTION",
                "START TRANSACTION",
                "COMMIT",
                "BEGIN",
                "ROLLBACK"
            ]
        );
    }

    /// Two-phase commit is refused honestly (0A000), not as a syntax error.
    #[test]
    fn two_phase_commit_is_not_supported_yet() {
        let (mut db, session) = db();
        for (sql, command) in [
            ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION"),
            ("commit prepared 'x';", "COMMIT PREPARED"),
            ("ROLLBACK PREPARED 'x'", "ROLLBACK PREPARED"),
        ] {
            let error = crate::sql::execute(&mut db, session, sql)
                .pop()
                .unwrap()
                .outcome
                .unwrap_err();
            assert_eq!(error.code, "0A000", "{sql}");
            assert_eq!(
                error.message,
                format!("{command} is not supported by pgplay yet")
            );
        }
    }

    /// RESET transaction_isolation outside a block warns as PostgreSQL does.
    #[test]
    fn reset_transaction_isolation_outside_a_block_warns() {
        let (mut db, session) = db();
        let result = crate::sql::execute(&mut db, session, "RESET transaction_isolation")
            .pop()
            .unwrap();
        assert!(result.outcome.is_ok());
        let warning = result.notices.first().expect("a warning");
        assert_eq!(warning.code, "25P01");
        assert_eq!(
            warning.message,
            "RESET TRANSACTION can only be used in transaction blocks"
        );
    }
}
