//! Backends waiting for locks ([`pgplay_engine::lock`]): row locks and table locks.
//!
//! A statement that meets a row another open transaction is changing (or locked), or asks for
//! a table lock that conflicts with another session's, stops, and its session
//! waits here with the results of the statements before it in the same query string. Whenever
//! a transaction may have ended (after any statement, a cancel, a terminated or closed
//! session) the waiters are tried in the order they started waiting: the engine runs a waiter's
//! statement again once the transaction it waits for has ended (or its table lock can be
//! granted), and the driver collects the
//! results with [`Node::take_released`], as for a synchronous-commit wait. A cancel
//! (`pg_cancel_backend()`, psql's Ctrl+C) ends the wait with PostgreSQL's
//! `canceling statement due to user request`; `lock_timeout` and `statement_timeout` end it
//! on the simulated clock ([`Node::handle_timeout`]), and after `deadlock_timeout` the waiter
//! checks the wait-for graph (a waiter may be blocked by several processes: the holders of
//! conflicting table locks and the requests queued before it) and fails with `deadlock
//! detected` if it closes a cycle.

use pgplay_engine::database::session_pid;
use pgplay_engine::lock;
use pgplay_engine::{DbError, SessionId, StatementResult};
use pgplay_wal::time::Timestamp;

use crate::Node;

impl Node {
    /// Keeps the session's results if its statement waits for a lock; `true` if it does.
    pub(crate) fn hold_for_lock(
        &mut self,
        session: SessionId,
        results: &mut Vec<StatementResult>,
    ) -> bool {
        if !pgplay_engine::sql::is_lock_waiting(&self.db, session) {
            return false;
        }
        self.lock_waiters.push((session, std::mem::take(results)));
        true
    }

    /// Is this session's statement waiting for a row lock?
    pub fn is_lock_waiting(&self, session: SessionId) -> bool {
        self.lock_waiters.iter().any(|(s, _)| *s == session)
    }

    /// Runs again each waiting statement whose awaited transaction has ended, until none
    /// moves (one that ends, by an implicit commit, may release the next).
    pub(crate) fn release_lock_waiters(&mut self) {
        loop {
            let mut finished = false;
            let mut at = 0;
            while at < self.lock_waiters.len() {
                let session = self.lock_waiters[at].0;
                let Some(more) = pgplay_engine::sql::resume(&mut self.db, session) else {
                    at += 1;
                    continue;
                };
                self.collect_engine_log();
                self.lock_waiters[at].1.extend(more);
                if pgplay_engine::sql::is_lock_waiting(&self.db, session) {
                    // It met another open transaction: it waits again, in its place.
                    at += 1;
                    continue;
                }
                finished = true;
                let (session, held) = self.lock_waiters.remove(at);
                let held = self.hold_for_sync(session, held);
                if !self.waiters.contains_key(&session) {
                    self.hand_back(session, held);
                }
            }
            if !finished {
                break;
            }
        }
    }

    /// Ends a session's lock wait with `error`; its driver gets the results.
    pub(crate) fn end_lock_wait(&mut self, session: SessionId, error: DbError) -> bool {
        let Some(at) = self.lock_waiters.iter().position(|(s, _)| *s == session) else {
            return false;
        };
        let (_, mut held) = self.lock_waiters.remove(at);
        if let Some(result) = pgplay_engine::sql::end_lock_wait(&mut self.db, session, error) {
            held.push(result);
        }
        self.hand_back(session, held);
        // Its failed transaction may have held rows others wait for.
        self.release_lock_waiters();
        true
    }

    /// A terminated, crashed or stopped server's waiting backends: their sessions are gone.
    pub(crate) fn drop_lock_waiters(&mut self, error: DbError) {
        for (session, mut held) in std::mem::take(&mut self.lock_waiters) {
            held.push(StatementResult {
                outcome: Err(error.clone()),
                notices: Vec::new(),
            });
            self.db.close_session(session);
            self.released.insert(session, held);
        }
    }
}

impl Node {
    /// When the next waiter's `lock_timeout`, `statement_timeout` or deadlock check is due.
    pub(crate) fn lock_wait_timeout(&self) -> Option<Timestamp> {
        self.lock_waiters
            .iter()
            .filter_map(|(session, _)| self.db.session(*session)?.lock_wait.as_ref())
            .flat_map(|w| [w.lock_deadline, w.statement_deadline, w.deadlock_check])
            .flatten()
            .min()
    }

    /// Ends the waits whose timeout is due at `now`, and checks for deadlocks the waits whose
    /// `deadlock_timeout` has passed, in the order they started waiting: the process that
    /// checks first and finds a cycle is the one that fails, as in PostgreSQL.
    pub(crate) fn end_lock_waits_due(&mut self, now: Timestamp) {
        let sessions: Vec<SessionId> = self.lock_waiters.iter().map(|(s, _)| *s).collect();
        for session in sessions {
            let Some(wait) = self.db.session(session).and_then(|s| s.lock_wait.clone()) else {
                continue;
            };
            let due = |at: Option<Timestamp>| at.is_some_and(|at| at <= now);
            let error = if due(wait.statement_deadline)
                && wait.statement_deadline <= wait.lock_deadline.or(wait.statement_deadline)
            {
                Some(lock::statement_timeout_error())
            } else if due(wait.lock_deadline) {
                Some(lock::lock_timeout_error())
            } else if due(wait.deadlock_check) {
                if let Some(w) = self
                    .db
                    .sessions
                    .get_mut(&session)
                    .and_then(|s| s.lock_wait.as_mut())
                {
                    w.deadlock_check = None;
                }
                self.deadlock_cycle(session)
                    .map(|cycle| lock::deadlock_error(&cycle))
            } else {
                None
            };
            if let Some(error) = error {
                let mut line = format!("ERROR:  {}", error.message);
                if let Some(detail) = &error.detail {
                    line.push_str(&format!("\nDETAIL:  {detail}"));
                }
                self.push_log(line);
                self.end_lock_wait(session, error);
            }
        }
    }

    /// A wait-for cycle through `start`, if any: each waiting process, what it waits for
    /// and the process blocking it, `start` first. Each waiter may be blocked by several
    /// processes (the holders of conflicting table locks and the requests queued before it);
    /// the search follows them depth first.
    fn deadlock_cycle(&self, start: SessionId) -> Option<Vec<(i32, lock::LockTarget, i32)>> {
        let mut path = Vec::new();
        let mut seen = Vec::new();
        self.cycle_from(start, start, &mut path, &mut seen)
            .then_some(path)
    }

    fn cycle_from(
        &self,
        start: SessionId,
        at: SessionId,
        path: &mut Vec<(i32, lock::LockTarget, i32)>,
        seen: &mut Vec<SessionId>,
    ) -> bool {
        let Some(target) = self
            .db
            .session(at)
            .and_then(|s| s.lock_wait.as_ref())
            .map(|w| w.target)
        else {
            return false;
        };
        if seen.contains(&at) || seen.len() > self.lock_waiters.len() {
            return false;
        }
        seen.push(at);
        for blocker in self.db.blockers(at) {
            path.push((session_pid(at), target, session_pid(blocker)));
            if blocker == start || self.cycle_from(start, blocker, path, seen) {
                return true;
            }
            path.pop();
        }
        false
    }
}
