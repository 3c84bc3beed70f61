//! Taking table locks as a statement opens its relations, and `LOCK TABLE`
//! ([`crate::lock::relation`] holds the modes, their conflicts and the queue).

use sqlparser::ast;

use super::bind::object_name;
use super::Executor;
use crate::database::{Database, Outcome, SessionId};
use crate::error::{code, DbError, Result};
use crate::lock::{LockMode, LockTarget, LockWait, LOCK_WAIT};

impl Executor<'_> {
    /// Takes a `mode` lock on the relation `oid` (named `name` in errors) for the rest of the
    /// transaction, or stops the statement to wait for it ([`LOCK_WAIT`]). `nowait`: fail
    /// with 55P03 instead of waiting.
    pub(crate) fn lock_table(
        &mut self,
        oid: u32,
        name: &str,
        mode: LockMode,
        nowait: bool,
    ) -> Result<()> {
        self.db.lock_table(self.session, oid, name, mode, nowait)
    }

    /// Asks the session to wait for `target` ([`crate::lock`]); the statement then stops with
    /// [`LOCK_WAIT`].
    pub(crate) fn request_wait(&mut self, target: LockTarget, relation: u32) {
        self.db.request_wait(self.session, target, relation);
    }

    /// `LOCK [TABLE] name [, ...] [IN mode MODE] [NOWAIT]`.
    pub(super) fn lock_statement(&mut self, lock: &ast::Lock) -> Result<Outcome> {
        let mode = LockMode::from_ast(lock.lock_mode.as_ref());
        if mode > LockMode::RowExclusive {
            if self.db.in_recovery {
                return Err(DbError::new(
                    code::READ_ONLY_SQL_TRANSACTION,
                    "cannot execute LOCK TABLE during recovery",
                ));
            }
            self.db.check_writable(self.session, "LOCK TABLE")?;
        }
        let in_block = self
            .db
            .session(self.session)
            .and_then(|s| s.xact.as_ref())
            .is_some_and(|x| x.explicit);
        if !in_block {
            return Err(DbError::new(
                code::NO_ACTIVE_SQL_TRANSACTION,
                "LOCK TABLE can only be used in transaction blocks",
            ));
        }
        let mut locked = Vec::new();
        for target in &lock.tables {
            let name = object_name(&target.name);
            let Some(table) = self.catalog.table(&name) else {
                if self.catalog.views.contains_key(&name) {
                    return Err(DbError::feature_not_supported(
                        "LOCK TABLE on a view is not supported by pgplay yet",
                    ));
                }
                return Err(DbError::undefined_table(&name));
            };
            let oid = table.oid;
            self.lock_table(oid, &name, mode, lock.nowait)?;
            locked.push(oid);
        }
        // Logged once every lock is held, so that a wait never follows a write.
        if mode == LockMode::AccessExclusive {
            for oid in locked {
                self.log_lock(oid)?;
            }
        }
        Ok(Outcome::Command {
            tag: "LOCK TABLE".into(),
        })
    }
}

impl Database {
    /// Takes a `mode` lock on the relation `oid` (named `name` in errors) for the rest of the
    /// transaction, or stops the statement to wait for it ([`LOCK_WAIT`]). `nowait`: fail
    /// with 55P03 instead of waiting.
    pub(crate) fn lock_table(
        &mut self,
        session: SessionId,
        oid: u32,
        name: &str,
        mode: LockMode,
        nowait: bool,
    ) -> Result<()> {
        if self.holds_relation_lock(session, oid, mode) {
            return Ok(());
        }
        if self.relation_blockers(session, oid, mode).is_empty() {
            self.grant_relation_lock(session, oid, mode);
            return Ok(());
        }
        if nowait {
            return Err(DbError::new(
                code::LOCK_NOT_AVAILABLE,
                format!("could not obtain lock on relation \"{name}\""),
            ));
        }
        if let Some(other) = self.early_deadlock(session, oid, mode) {
            let me = crate::database::session_pid(session);
            let them = crate::database::session_pid(other);
            let theirs = self
                .session(other)
                .and_then(|s| s.lock_wait.as_ref())
                .map(|w| w.target)
                .unwrap_or(LockTarget::Relation { oid, mode });
            let cycle = [
                (me, LockTarget::Relation { oid, mode }, them),
                (them, theirs, me),
            ];
            return Err(crate::lock::deadlock_error(&cycle));
        }
        if mode > LockMode::RowExclusive {
            self.unfast(oid);
        }
        self.request_wait(session, LockTarget::Relation { oid, mode }, oid);
        Err(DbError::new(
            LOCK_WAIT,
            format!("another open transaction holds a lock on \"{name}\""),
        ))
    }

    /// Asks the session to wait for `target` ([`crate::lock`]); the statement then stops with
    /// [`LOCK_WAIT`]. A relation wait keeps the session's place in the queue across re-runs.
    pub(crate) fn request_wait(&mut self, session: SessionId, target: LockTarget, relation: u32) {
        let now = self.now;
        let millis = |db: &Self, name: &str| {
            let ms: i64 = db.setting(session, name).parse().unwrap_or(0);
            (ms > 0).then_some(ms.saturating_mul(1000))
        };
        let started = self
            .session(session)
            .and_then(|s| s.query_start)
            .unwrap_or(now);
        let kept = self.session(session).and_then(|s| s.queue_seq);
        let seq = match (target, kept) {
            (LockTarget::Relation { .. }, Some(seq)) => seq,
            _ => {
                self.lock_seq += 1;
                self.lock_seq
            }
        };
        if matches!(target, LockTarget::Relation { .. }) {
            self.session_mut(session).queue_seq = Some(seq);
        }
        self.lock_request = Some(LockWait {
            target,
            relation,
            seq,
            since: now,
            lock_deadline: millis(self, "lock_timeout").map(|t| now.saturating_add(t)),
            statement_deadline: millis(self, "statement_timeout")
                .map(|t| started.saturating_add(t)),
            deadlock_check: Some(
                now.saturating_add(millis(self, "deadlock_timeout").unwrap_or(1_000_000)),
            ),
        });
    }
}
