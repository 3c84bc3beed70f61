//! Backends waiting for synchronous standbys.
//!
//! Under `synchronous_standby_names`, a commit is flushed locally and then
//! its backend waits: the statement's results are held here until the
//! synchronous standbys confirm the commit record as far as
//! `synchronous_commit` asks (written, flushed or replayed). Meanwhile the
//! transaction stays in progress for other snapshots, as a PostgreSQL backend
//! stays in the ProcArray. A cancel (psql's Ctrl+C) releases the backend with
//! PostgreSQL's WARNING; the commit itself is never undone.
//!
//! Drivers see [`Node::is_waiting`] after [`Node::execute`] and collect the
//! results with [`Node::take_released`] once the standbys answered.

use pgplay_engine::error::code;
use pgplay_engine::setting;
use pgplay_engine::{DbError, SessionId, StatementResult};
use pgplay_replication::syncrep::{self, Standby, SyncStandbyNames, SyncState, WaitFor};
use pgplay_replication::SenderState;
use pgplay_wal::Lsn;

use crate::Node;

/// Most backends that can wait at once; a further commit is released at
/// once with the cancel WARNING (PostgreSQL's limit is `max_connections`).
pub const MAX_WAITERS: usize = 100;

/// A backend waiting for synchronous replication.
pub(crate) struct Waiter {
    lsn: Lsn,
    wait_for: WaitFor,
    xids: Vec<u32>,
    results: Vec<StatementResult>,
}

/// The WARNING of a wait ended by a cancel (psql's Ctrl+C, `pg_cancel_backend()`),
/// which drivers look for to tell a cancelled commit from a confirmed one.
pub const CANCEL_WARNING: &str = "canceling wait for synchronous replication due to user request";

const DETAIL: &str =
    "The transaction has already committed locally, but might not have been replicated to the standby.";

impl Node {
    /// Holds `results` if the statement's commit must wait for synchronous
    /// standbys; returns them if not.
    pub(crate) fn hold_for_sync(
        &mut self,
        session: SessionId,
        results: Vec<StatementResult>,
    ) -> Vec<StatementResult> {
        let waits = self.db.take_sync_waits();
        let Some(last) = waits.last().copied() else {
            return results;
        };
        let waiter = Waiter {
            lsn: waits.iter().map(|w| w.lsn).max().unwrap_or(last.lsn),
            wait_for: last.wait_for,
            xids: waits.iter().map(|w| w.xid).collect(),
            results,
        };
        if self.waiters.len() >= MAX_WAITERS {
            let results = self.end_wait(waiter, Ending::Cancelled);
            return results;
        }
        self.waiters.insert(session, waiter);
        self.release_sync_waiters();
        if let Some(results) = self.released.remove(&session) {
            return results;
        }
        Vec::new()
    }

    /// Is this session's backend waiting for synchronous standbys?
    pub fn is_waiting(&self, session: SessionId) -> bool {
        self.waiters.contains_key(&session) || self.is_lock_waiting(session)
    }

    /// The results of a session whose wait has ended, once.
    pub fn take_released(&mut self, session: SessionId) -> Option<Vec<StatementResult>> {
        self.released.remove(&session)
    }

    /// psql's Ctrl+C on a waiting session (a cancel request): the backend
    /// stops waiting with PostgreSQL's WARNING; the commit stands.
    pub fn cancel_wait(&mut self, session: SessionId) {
        if self.end_lock_wait(session, DbError::canceled_by_user()) {
            return;
        }
        if let Some(waiter) = self.waiters.remove(&session) {
            let results = self.end_wait(waiter, Ending::Cancelled);
            self.hand_back(session, results);
        }
    }

    /// `pg_terminate_backend()` of a client session: a wait ends as at a
    /// shutdown (WARNING, then FATAL); the session is gone either way, and
    /// its psql reconnects.
    pub(crate) fn terminate_session(&mut self, session: SessionId) {
        if let Some(waiter) = self.waiters.remove(&session) {
            let results = self.end_wait(waiter, Ending::Terminated);
            self.hand_back(session, results);
        } else if let Some(at) = self.lock_waiters.iter().position(|(s, _)| *s == session) {
            let (_, mut held) = self.lock_waiters.remove(at);
            held.push(StatementResult {
                outcome: Err(DbError::terminated_by_administrator()),
                notices: Vec::new(),
            });
            self.db.close_session(session);
            self.released.insert(session, held);
            self.release_lock_waiters();
        } else {
            self.db.close_session(session);
            self.terminated_sessions
                .insert(session, DbError::terminated_by_administrator());
            self.release_lock_waiters();
        }
    }

    /// A client disconnects (psql quits): its open transaction is rolled back, which may end
    /// other sessions' lock waits.
    pub fn close_session(&mut self, session: SessionId) {
        if let Some(at) = self.lock_waiters.iter().position(|(s, _)| *s == session) {
            self.lock_waiters.remove(at);
        }
        self.released.remove(&session);
        self.db.close_session(session);
        self.release_lock_waiters();
    }

    /// The first statement of a terminated session learns of it, as psql
    /// does when it sends one; its next statement runs in a new backend.
    pub(crate) fn terminated_error(&mut self, session: SessionId) -> Option<StatementResult> {
        self.terminated_sessions
            .remove(&session)
            .map(|error| StatementResult {
                outcome: Err(error),
                notices: Vec::new(),
            })
    }

    /// Every waiting backend ends: a shutdown terminates them, a crash
    /// loses them (the client sees the connection close).
    pub(crate) fn end_all_waits(&mut self, crashed: bool) {
        let waiters = std::mem::take(&mut self.waiters);
        for (session, waiter) in waiters {
            let ending = if crashed {
                Ending::Crashed
            } else {
                Ending::Terminated
            };
            let results = self.end_wait(waiter, ending);
            self.hand_back(session, results);
        }
        self.db.sync_held.clear();
        self.announced_sync.clear();
        self.drop_lock_waiters(if crashed {
            DbError::fatal(
                "08006",
                "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.",
            )
        } else {
            DbError::terminated_by_administrator()
        });
    }

    /// Keeps a released backend's results for its driver, unless the
    /// session is gone (nobody would take them).
    pub(crate) fn hand_back(&mut self, session: SessionId, results: Vec<StatementResult>) {
        if self.db.session(session).is_some() {
            self.released.insert(session, results);
            // The backend is idle again from now on, as after any statement.
            let now = self.db.now;
            self.arm_idle_timer(session, now);
        }
    }

    /// A statement sent while the backend still waits: refused, as libpq
    /// refuses a second query on a busy connection.
    pub(crate) fn busy_error(&self, session: SessionId) -> Option<StatementResult> {
        self.is_waiting(session).then(|| StatementResult {
            outcome: Err(DbError::new(
                "08P01",
                "another command is already in progress",
            )),
            notices: Vec::new(),
        })
    }

    fn end_wait(&mut self, mut waiter: Waiter, ending: Ending) -> Vec<StatementResult> {
        for xid in &waiter.xids {
            self.db.sync_held.remove(xid);
        }
        let warning = match ending {
            Ending::Confirmed => None,
            Ending::Cancelled => Some(CANCEL_WARNING),
            Ending::Terminated => Some("canceling the wait for synchronous replication and terminating connection due to administrator command"),
            Ending::Crashed => None,
        };
        if let Some(message) = warning {
            self.push_log(format!("WARNING:  {message}"));
            self.push_log(format!("DETAIL:  {DETAIL}"));
            if let Some(last) = waiter.results.last_mut() {
                last.notices
                    .push(pgplay_engine::sql::warning(code::WARNING, message).with_detail(DETAIL));
            }
        }
        let fatal = match ending {
            Ending::Terminated => Some(DbError::terminated_by_administrator()),
            // The backend dies with the server and says nothing; psql
            // reports the lost connection.
            Ending::Crashed => Some(DbError::fatal(
                "08006",
                "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.",
            )),
            _ => None,
        };
        if let (Some(error), Some(last)) = (fatal, waiter.results.last_mut()) {
            last.outcome = Err(error);
        }
        waiter.results
    }

    /// The server's `synchronous_standby_names`, parsed (`None`: asynchronous).
    fn sync_config(&self) -> Option<SyncStandbyNames> {
        if self.db.in_recovery {
            return None;
        }
        syncrep::parse(
            self.db
                .settings
                .value_of(setting!("synchronous_standby_names")),
        )
        .ok()
        .flatten()
    }

    /// Each walsender as synchronous replication counts it, in walsender order.
    fn sync_standbys(&self, config: Option<&SyncStandbyNames>) -> Vec<Standby> {
        self.senders
            .values()
            .map(|s| Standby {
                priority: config.map_or(0, |c| c.priority(&s.application_name)),
                candidate: matches!(s.state, SenderState::Streaming | SenderState::Stopping)
                    && s.flush != Lsn::INVALID,
                write: s.write,
                flush: s.flush,
                apply: s.apply,
            })
            .collect()
    }

    /// `sync_priority` and `sync_state` of each walsender, in walsender order.
    pub(crate) fn sync_states(&self) -> Vec<(u32, SyncState)> {
        let config = self.sync_config();
        let standbys = self.sync_standbys(config.as_ref());
        let states = syncrep::states(config.as_ref(), &standbys);
        standbys.iter().map(|s| s.priority).zip(states).collect()
    }

    /// Releases the backends whose commits the synchronous standbys have
    /// confirmed; all of them when synchronous replication was turned off.
    /// Logs a standby's becoming synchronous, once per takeover.
    pub(crate) fn release_sync_waiters(&mut self) {
        // Asynchronous replication (the common case): nothing to compute.
        let Some(config) = self.sync_config() else {
            self.announced_sync.clear();
            self.release_waiters_where(|_| true);
            return;
        };
        let standbys = self.sync_standbys(Some(&config));
        self.announce_sync_standbys(&config, &standbys);
        if self.waiters.is_empty() {
            return;
        }
        let confirmed = syncrep::confirmed(&config, &standbys);
        self.release_waiters_where(|w| {
            confirmed.is_some_and(|at| w.wait_for.is_confirmed(w.lsn, at))
        });
    }

    fn release_waiters_where(&mut self, released: impl Fn(&Waiter) -> bool) {
        let done: Vec<SessionId> = self
            .waiters
            .iter()
            .filter(|(_, w)| released(w))
            .map(|(session, _)| *session)
            .collect();
        for session in done {
            if let Some(waiter) = self.waiters.remove(&session) {
                let results = self.end_wait(waiter, Ending::Confirmed);
                self.hand_back(session, results);
            }
        }
    }

    fn announce_sync_standbys(&mut self, config: &SyncStandbyNames, standbys: &[Standby]) {
        let states = syncrep::states(Some(config), standbys);
        let senders: Vec<_> = self.senders.keys().copied().collect();
        let mut lines = Vec::new();
        for ((conn, standby), state) in senders.iter().zip(standbys).zip(states) {
            let synchronous = matches!(state, SyncState::Sync | SyncState::Quorum);
            if !synchronous || !standby.candidate {
                self.announced_sync.remove(conn);
                continue;
            }
            if !self.announced_sync.insert(*conn) {
                continue;
            }
            let Some(sender) = self.senders.get(conn) else {
                continue;
            };
            let name = &sender.application_name;
            lines.push(match state {
                SyncState::Quorum => {
                    format!("LOG:  standby \"{name}\" is now a candidate for quorum synchronous standby")
                }
                _ => format!(
                    "LOG:  standby \"{name}\" is now a synchronous standby with priority {}",
                    standby.priority
                ),
            });
            if let Some(statement) = sender.statement() {
                lines.push(format!("STATEMENT:  {statement}"));
            }
        }
        lines.into_iter().for_each(|l| self.push_log(l));
    }
}

enum Ending {
    Confirmed,
    Cancelled,
    Terminated,
    Crashed,
}
