//! Recovery conflicts: the startup process meets a record that removes row
//! versions (VACUUM's PRUNE, FREEZE_PAGE and VISIBLE records) while a query
//! on this hot standby may still need them.
//!
//! PostgreSQL's answer (`ResolveRecoveryConflictWithSnapshot`): replay
//! waits, up to `max_standby_streaming_delay` (`max_standby_archive_delay`
//! for WAL from the archive; -1 waits for ever), for the conflicting
//! transactions to end; then it cancels them. The standby falls behind
//! meanwhile: its replay position, and so `replay_lag` on the primary, stop.
//! A backend in a statement gets `ERROR: canceling statement due to conflict
//! with recovery`; one idle in its transaction block (pgplay's statements
//! never run while replay does, so always here) gets the FATAL and loses its
//! connection, as PostgreSQL 15 does. Both are SQLSTATE 40001 and count in
//! `pg_stat_database_conflicts.confl_snapshot`.
//!
//! A replayed Standby `LOCK` record (the AccessExclusiveLock of DROP TABLE, TRUNCATE, ALTER
//! TABLE, `LOCK TABLE`) conflicts in the same way with the standby sessions holding a lock on
//! one of its relations (a reader's AccessShareLock, held to the end of its transaction):
//! `DETAIL:  User was holding a relation lock for too long.`, counted in `confl_lock`
//! (PostgreSQL's `ResolveRecoveryConflictWithLock`). The startup process does not keep the
//! replayed lock afterwards, so later standby readers never wait for it.
//!
//! A snapshot conflicts when its xmin is at or below the record's horizon
//! (`pgplay_engine::redo::conflict_horizon`): it might still see, as running,
//! a transaction whose deletions the record makes final. `hot_standby_feedback`
//! avoids the conflict: the primary keeps what the standby's xmin needs.

use pgplay_engine::setting;
use pgplay_engine::{DbError, SessionId};
use pgplay_wal::time::Timestamp;
use pgplay_wal::{Lsn, Record, RecordBody, StandbyRecord};

use super::micros_from_ms;
use crate::Node;

/// Where replay waits for conflicting queries, and since when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConflictWait {
    pub lsn: Lsn,
    pub since: Timestamp,
}

/// `FATAL:  terminating connection due to conflict with recovery` (40001).
pub fn snapshot_conflict_fatal() -> DbError {
    conflict_fatal("User query might have needed to see row versions that must be removed.")
}

fn conflict_fatal(detail: &str) -> DbError {
    DbError::fatal(
        "40001",
        "terminating connection due to conflict with recovery",
    )
    .with_detail(detail)
    .with_hint(
        "In a moment you should be able to reconnect to the database and repeat your command.",
    )
}

/// What a replayed record conflicts with.
enum Conflict {
    /// Snapshots whose xmin is at or below this horizon.
    Snapshot(pgplay_wal::Xid),
    /// Sessions holding a lock on one of these relations.
    Lock(Vec<u32>),
}

fn conflict_of(record: &Record) -> Option<Conflict> {
    if let RecordBody::Standby(StandbyRecord::Lock(locks)) = &record.body {
        return Some(Conflict::Lock(locks.iter().map(|l| l.relation).collect()));
    }
    pgplay_engine::redo::conflict_horizon(record).map(Conflict::Snapshot)
}

impl Node {
    /// The oldest xmin of the sessions' snapshots, if any session holds one.
    pub(crate) fn oldest_snapshot_xmin(&self) -> Option<pgplay_wal::Xid> {
        self.db
            .sessions
            .values()
            .filter_map(|session| session.xact.as_ref()?.snapshot.as_ref())
            .map(pgplay_engine::vacuum::snapshot_xmin)
            .min()
    }

    /// The standby sessions whose snapshot may still see, as running, a
    /// transaction at or below `horizon`.
    fn conflicting_sessions(&self, horizon: pgplay_wal::Xid) -> Vec<SessionId> {
        self.db
            .sessions
            .iter()
            .filter(|(_, session)| {
                session
                    .xact
                    .as_ref()
                    .and_then(|xact| xact.snapshot.as_ref())
                    .is_some_and(|snapshot| {
                        pgplay_engine::vacuum::snapshot_xmin(snapshot) <= horizon
                    })
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// The standby sessions holding a table lock on one of `relations`.
    fn lock_holders(&self, relations: &[u32]) -> Vec<SessionId> {
        self.db
            .sessions
            .iter()
            .filter(|(_, session)| {
                session
                    .relation_locks
                    .iter()
                    .any(|l| relations.contains(&l.relation))
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Before replaying `record` at `lsn`: whether it may be replayed now.
    /// If queries conflict with it, replay waits until the delay is over
    /// (a timer at `replay_delayed_until`; a query that ends earlier ends
    /// the wait), then they are cancelled.
    pub(crate) fn resolve_recovery_conflict(
        &mut self,
        now: Timestamp,
        lsn: Lsn,
        record: &Record,
    ) -> bool {
        let Some(conflict) = conflict_of(record) else {
            return true;
        };
        let conflicting = match &conflict {
            Conflict::Snapshot(horizon) => self.conflicting_sessions(*horizon),
            Conflict::Lock(relations) => self.lock_holders(relations),
        };
        if conflicting.is_empty() {
            self.conflict_wait = None;
            return true;
        }
        let setting = if self.receiver.is_some() {
            setting!("max_standby_streaming_delay")
        } else {
            setting!("max_standby_archive_delay")
        };
        let delay_ms = self.setting_i64(setting);
        let since = match self.conflict_wait {
            Some(wait) if wait.lsn == lsn => wait.since,
            _ => {
                self.conflict_wait = Some(ConflictWait { lsn, since: now });
                now
            }
        };
        if !self.cancel_conflicts_at_once {
            if delay_ms < 0 {
                return false;
            }
            let deadline = since.saturating_add(micros_from_ms(delay_ms));
            if now < deadline {
                self.replay_delayed_until = Some(deadline);
                return false;
            }
        }
        for session in conflicting {
            let error = match conflict {
                Conflict::Snapshot(_) => snapshot_conflict_fatal(),
                Conflict::Lock(_) => {
                    conflict_fatal("User was holding a relation lock for too long.")
                }
            };
            self.push_log(format!("FATAL:  {}", error.message));
            if let Some(detail) = &error.detail {
                self.push_log(format!("DETAIL:  {detail}"));
            }
            self.db.close_session(session);
            self.idle_timers.remove(&session);
            self.terminated_sessions.insert(session, error);
            match conflict {
                Conflict::Snapshot(_) => self.db.recovery_conflicts.snapshot += 1,
                Conflict::Lock(_) => self.db.recovery_conflicts.lock += 1,
            }
        }
        self.conflict_wait = None;
        true
    }
}
