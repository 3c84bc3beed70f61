//! Backends waiting for row locks ([`pgplay_engine::lock`]).
//!
//! A statement that meets a row another open transaction is changing stops, and its session
//! waits here with the results of the statements before it in the same query string. Whenever
//! a transaction may have ended (after any statement, a cancel, a terminated or closed
//! session) the waiters are tried in the order they started waiting: the engine runs a waiter's
//! statement again once the transaction it waits for has ended, and the driver collects the
//! results with [`Node::take_released`], as for a synchronous-commit wait. A cancel
//! (`pg_cancel_backend()`, psql's Ctrl+C) ends the wait with PostgreSQL's
//! `canceling statement due to user request`.

use pgplay_engine::{DbError, SessionId, StatementResult};

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
