//! Table-level locks: PostgreSQL's eight lock modes and their conflict table, held by a
//! session until its transaction ends.
//!
//! A statement asks for its locks as it opens each relation (`Executor::lock_table`): SELECT
//! takes `AccessShareLock`, INSERT/UPDATE/DELETE `RowExclusiveLock`, DROP, TRUNCATE, ALTER
//! TABLE and VACUUM FULL `AccessExclusiveLock`, CREATE INDEX `ShareLock`, VACUUM and ANALYZE
//! `ShareUpdateExclusiveLock`, `LOCK TABLE` the mode it names. A request that conflicts with a
//! lock another session holds, or with the request of a session already queued for the
//! relation, waits as a row lock wait does ([`super::LockWait`] with a
//! [`LockTarget::Relation`]): the statement stops before it writes and runs again once the
//! lock can be granted. As in PostgreSQL's `ProcSleep`, a session that already holds a lock on
//! the relation which conflicts with a queued request goes ahead of that request.
//!
//! Waiting sessions keep their place in a relation's queue across the re-runs of their
//! statement (`Session::queue_seq`), so a wait ends in the order the waits began.

use pgplay_wal::Xid;

use crate::database::{Database, SessionId};

/// PostgreSQL's table lock modes, weakest first (`lockdefs.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    /// The name `pg_locks.mode` shows.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// PostgreSQL's conflict table (`LockConflicts` in lock.c).
    pub fn conflicts(self, other: LockMode) -> bool {
        use LockMode::*;
        let conflicting: &[LockMode] = match self {
            AccessShare => &[AccessExclusive],
            RowShare => &[Exclusive, AccessExclusive],
            RowExclusive => &[Share, ShareRowExclusive, Exclusive, AccessExclusive],
            ShareUpdateExclusive => &[
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            Share => &[
                RowExclusive,
                ShareUpdateExclusive,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            ShareRowExclusive => &[
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            Exclusive => &[
                RowShare,
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            AccessExclusive => &[
                AccessShare,
                RowShare,
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
        };
        conflicting.contains(&other)
    }

    /// A mode PostgreSQL grants through the fast path when no strong lock is around
    /// (`EligibleForRelationFastPath`).
    fn weak(self) -> bool {
        self <= LockMode::RowExclusive
    }

    /// The mode of `LOCK TABLE ... IN mode MODE` (ACCESS EXCLUSIVE without one).
    pub fn from_ast(mode: Option<&sqlparser::ast::LockTableMode>) -> LockMode {
        use sqlparser::ast::LockTableMode as M;
        match mode {
            Some(M::AccessShare) => LockMode::AccessShare,
            Some(M::RowShare) => LockMode::RowShare,
            Some(M::RowExclusive) => LockMode::RowExclusive,
            Some(M::ShareUpdateExclusive) => LockMode::ShareUpdateExclusive,
            Some(M::Share) => LockMode::Share,
            Some(M::ShareRowExclusive) => LockMode::ShareRowExclusive,
            Some(M::Exclusive) => LockMode::Exclusive,
            Some(M::AccessExclusive) | None => LockMode::AccessExclusive,
        }
    }
}

/// A table lock a session holds until its transaction ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldLock {
    pub relation: u32,
    pub mode: LockMode,
    /// The number of savepoints open when it was taken: an aborted subtransaction releases
    /// the locks taken inside it.
    pub level: usize,
    /// Granted through PostgreSQL's fast path (`pg_locks.fastpath`): a weak lock taken while
    /// no strong lock on the relation was held or asked for; moved to the main table (false)
    /// when one is.
    pub fastpath: bool,
}

/// What a waiting session waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockTarget {
    /// The end of a transaction (a row it changed): `ShareLock` on its transaction id.
    Transaction(Xid),
    /// A table lock in this mode.
    Relation { oid: u32, mode: LockMode },
}

impl LockTarget {
    /// `pg_stat_activity.wait_event` of a session waiting for it.
    pub fn wait_event(self) -> &'static str {
        match self {
            LockTarget::Transaction(_) => "transactionid",
            LockTarget::Relation { .. } => "relation",
        }
    }

    /// How the deadlock report names the wait: `ShareLock on transaction 740`,
    /// `AccessExclusiveLock on relation 16384 of database 5`.
    pub fn describe(self) -> String {
        match self {
            LockTarget::Transaction(xid) => format!("ShareLock on transaction {xid}"),
            LockTarget::Relation { oid, mode } => format!(
                "{} on relation {oid} of database {}",
                mode.name(),
                crate::catalog::DATABASE_OID
            ),
        }
    }
}

impl Database {
    /// Does `session` already hold a table lock on `oid` at least as strong as `mode` for
    /// every conflict (the same mode, or AccessExclusive)?
    pub(crate) fn holds_relation_lock(&self, session: SessionId, oid: u32, mode: LockMode) -> bool {
        self.session(session).is_some_and(|s| {
            s.relation_locks.iter().any(|l| {
                l.relation == oid && (l.mode == mode || l.mode == LockMode::AccessExclusive)
            })
        })
    }

    /// The sessions a request of `session` for `mode` on `oid` must wait for: those holding a
    /// conflicting lock, and those queued before it (`session`'s `queue_seq`, all queued
    /// sessions when it has none) for a conflicting mode, except the queued requests that a
    /// lock `session` already holds conflicts with (it goes ahead of them).
    pub fn relation_blockers(
        &self,
        session: SessionId,
        oid: u32,
        mode: LockMode,
    ) -> Vec<SessionId> {
        let Some(me) = self.session(session) else {
            return Vec::new();
        };
        let mine: Vec<LockMode> = me
            .relation_locks
            .iter()
            .filter(|l| l.relation == oid)
            .map(|l| l.mode)
            .collect();
        let mut blockers = Vec::new();
        for (id, other) in &self.sessions {
            if *id == session {
                continue;
            }
            let holds = other
                .relation_locks
                .iter()
                .any(|l| l.relation == oid && l.mode.conflicts(mode));
            let queued = other.lock_wait.as_ref().is_some_and(|w| match w.target {
                LockTarget::Relation { oid: o, mode: m } => {
                    o == oid
                        && m.conflicts(mode)
                        && me.queue_seq.is_none_or(|mine| w.seq < mine)
                        && !mine.iter().any(|held| held.conflicts(m))
                }
                LockTarget::Transaction(_) => false,
            });
            if holds || queued {
                blockers.push(*id);
            }
        }
        blockers
    }

    /// A session queued for `oid` that `session` would both have to go ahead of (a lock it
    /// holds conflicts with the queued request) and wait for (its request conflicts with a
    /// lock the queued session holds): PostgreSQL's `ProcSleep` reports that deadlock at once.
    pub(crate) fn early_deadlock(
        &self,
        session: SessionId,
        oid: u32,
        mode: LockMode,
    ) -> Option<SessionId> {
        let me = self.session(session)?;
        let mine: Vec<LockMode> = me
            .relation_locks
            .iter()
            .filter(|l| l.relation == oid)
            .map(|l| l.mode)
            .collect();
        self.sessions.iter().find_map(|(id, other)| {
            let wait = other.lock_wait.as_ref()?;
            let LockTarget::Relation { oid: o, mode: m } = wait.target else {
                return None;
            };
            let ahead = *id != session && o == oid && mine.iter().any(|h| h.conflicts(m));
            let blocked = other
                .relation_locks
                .iter()
                .any(|l| l.relation == oid && l.mode.conflicts(mode));
            (ahead && blocked).then_some(*id)
        })
    }

    /// Grants `session` a lock on `oid`; a strong one moves the relation's fast-path locks
    /// to the main table.
    pub(crate) fn grant_relation_lock(&mut self, session: SessionId, oid: u32, mode: LockMode) {
        let strong_around = self.sessions.values().any(|s| {
            s.relation_locks
                .iter()
                .any(|l| l.relation == oid && !l.mode.weak())
                || s.lock_wait.as_ref().is_some_and(|w| {
                    matches!(w.target, LockTarget::Relation { oid: o, mode: m } if o == oid && !m.weak())
                })
        });
        if !mode.weak() {
            self.unfast(oid);
        }
        let level = self
            .session(session)
            .and_then(|s| s.xact.as_ref())
            .map_or(0, |x| x.savepoints.len());
        let current = self.session_mut(session);
        if current
            .relation_locks
            .iter()
            .any(|l| l.relation == oid && l.mode == mode)
        {
            return;
        }
        current.relation_locks.push(HeldLock {
            relation: oid,
            mode,
            level,
            fastpath: mode.weak() && !strong_around,
        });
    }

    /// A strong lock is held or asked for on `oid`: every fast-path lock on it moves to the
    /// main lock table, as `FastPathTransferRelationLocks` does.
    pub(crate) fn unfast(&mut self, oid: u32) {
        for session in self.sessions.values_mut() {
            for lock in session
                .relation_locks
                .iter_mut()
                .filter(|l| l.relation == oid)
            {
                lock.fastpath = false;
            }
        }
    }

    /// The transaction of `session` ended: its table locks go.
    pub(crate) fn release_relation_locks(&mut self, session: SessionId) {
        if let Some(current) = self.sessions.get_mut(&session) {
            current.relation_locks.clear();
        }
        self.release_row_locks(session);
    }

    /// A subtransaction aborted: the locks taken since `level` savepoints were open go.
    pub(crate) fn release_relation_locks_above(&mut self, session: SessionId, level: usize) {
        if let Some(current) = self.sessions.get_mut(&session) {
            current.relation_locks.retain(|l| l.level <= level);
        }
    }

    /// The sessions `session`'s wait is blocked by (`pg_blocking_pids()`, the deadlock check).
    pub fn blockers(&self, session: SessionId) -> Vec<SessionId> {
        let Some(wait) = self.session(session).and_then(|s| s.lock_wait.as_ref()) else {
            return Vec::new();
        };
        match wait.target {
            LockTarget::Transaction(xid) => self.xid_holder(xid).into_iter().collect(),
            LockTarget::Relation { oid, mode } => self.relation_blockers(session, oid, mode),
        }
    }

    /// The session whose open transaction (or one of its subtransactions) has `xid`.
    pub fn xid_holder(&self, xid: Xid) -> Option<SessionId> {
        self.sessions.iter().find_map(|(id, s)| {
            let x = s.xact.as_ref()?;
            let holds = x.xid == Some(xid)
                || x.subxacts.contains(&xid)
                || x.savepoints
                    .iter()
                    .any(|p| p.xid == Some(xid) || p.subxacts.contains(&xid));
            holds.then_some(*id)
        })
    }

    /// `pg_blocking_pids(pid)`: the processes the backend `pid` waits for, none when it does
    /// not wait.
    pub fn blocking_pids(&self, pid: i32) -> Vec<i32> {
        let session = self
            .sessions
            .keys()
            .find(|s| crate::database::session_pid(**s) == pid);
        session
            .map(|s| self.blockers(*s))
            .unwrap_or_default()
            .into_iter()
            .map(crate::database::session_pid)
            .collect()
    }

    /// Has what the waiting `session` waits for become free?
    pub(crate) fn wait_is_over(&self, session: SessionId) -> bool {
        let Some(wait) = self.session(session).and_then(|s| s.lock_wait.as_ref()) else {
            return true;
        };
        match wait.target {
            LockTarget::Transaction(xid) => {
                self.data.clog.status(xid) != crate::mvcc::XactStatus::InProgress
            }
            LockTarget::Relation { oid, mode } => {
                self.relation_blockers(session, oid, mode).is_empty()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LockMode::{self, *};

    const ALL: [LockMode; 8] = [
        AccessShare,
        RowShare,
        RowExclusive,
        ShareUpdateExclusive,
        Share,
        ShareRowExclusive,
        Exclusive,
        AccessExclusive,
    ];

    #[test]
    fn the_conflict_table_is_symmetric() {
        for a in ALL {
            for b in ALL {
                assert_eq!(a.conflicts(b), b.conflicts(a), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn readers_conflict_only_with_access_exclusive() {
        let with: Vec<LockMode> = ALL
            .into_iter()
            .filter(|m| m.conflicts(AccessShare))
            .collect();
        assert_eq!(with, vec![AccessExclusive]);
        assert!(!RowExclusive.conflicts(RowExclusive));
        assert!(Share.conflicts(RowExclusive));
        assert!(!Share.conflicts(Share));
    }
}
