//! `idle_in_transaction_session_timeout` and `idle_session_timeout`: a backend left idle too
//! long ends its session, as PostgreSQL's timers do.
//!
//! After each statement the node arms a timer for the session, from the moment the statement
//! ended (its start plus the simulated time it took) and with the session's own setting: the
//! one for a session inside a transaction block, or the one for a session outside. When the
//! timer is due ([`Node::handle_timeout`]) the backend logs the FATAL, its transaction is rolled
//! back and the session closed; its psql learns of it when it sends the next statement, as psql
//! does, and that statement runs in a new backend after it.

use pgplay_engine::{DbError, SessionId};
use pgplay_wal::time::Timestamp;

use crate::{Node, RunState};

/// The timer of an idle session: when it is due and which setting armed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdleTimer {
    pub due: Timestamp,
    pub in_transaction: bool,
}

/// `FATAL:  terminating connection due to idle-in-transaction timeout` (25P03).
fn idle_in_transaction_timeout() -> DbError {
    DbError::fatal(
        "25P03",
        "terminating connection due to idle-in-transaction timeout",
    )
}

/// `FATAL:  terminating connection due to idle-session timeout` (57P05).
fn idle_session_timeout() -> DbError {
    DbError::fatal(
        "57P05",
        "terminating connection due to idle-session timeout",
    )
}

impl Node {
    /// A statement of `session` ended at `ended`: its idle timer starts, if its setting is on.
    pub(crate) fn arm_idle_timer(&mut self, session: SessionId, ended: Timestamp) {
        self.idle_timers.remove(&session);
        let Some(state) = self.db.session(session) else {
            return;
        };
        if self.is_waiting(session) {
            return;
        }
        let in_transaction = state.xact.as_ref().is_some_and(|x| x.explicit);
        let setting = if in_transaction {
            "idle_in_transaction_session_timeout"
        } else {
            "idle_session_timeout"
        };
        let timeout_ms: i64 = self.db.setting(session, setting).parse().unwrap_or(0);
        if timeout_ms <= 0 {
            return;
        }
        let due = ended.saturating_add(timeout_ms.saturating_mul(1000));
        self.idle_timers.insert(
            session,
            IdleTimer {
                due,
                in_transaction,
            },
        );
    }

    /// When the next idle session is due.
    pub(crate) fn idle_timeout(&self) -> Option<Timestamp> {
        self.idle_timers.values().map(|t| t.due).min()
    }

    /// Ends every session whose idle timer is due at `now`.
    pub(crate) fn end_idle_sessions(&mut self, now: Timestamp) {
        if self.state != RunState::Running {
            return;
        }
        let due: Vec<(SessionId, IdleTimer)> = self
            .idle_timers
            .iter()
            .filter(|(_, t)| t.due <= now)
            .map(|(s, t)| (*s, *t))
            .collect();
        for (session, timer) in due {
            self.idle_timers.remove(&session);
            if self.db.session(session).is_none() {
                continue;
            }
            let error = if timer.in_transaction {
                idle_in_transaction_timeout()
            } else {
                idle_session_timeout()
            };
            self.push_log(format!("FATAL:  {}", error.message));
            self.db.close_session(session);
            self.terminated_sessions.insert(session, error);
        }
        self.collect_engine_log();
        // A closed session's transaction ended: its rows are free.
        self.release_lock_waiters();
    }

    /// A stopped or crashed server has no backends left to time out.
    pub(crate) fn clear_idle_timers(&mut self) {
        self.idle_timers.clear();
    }
}
