//! `pg_stat_activity`, and the signals `pg_cancel_backend()` and
//! `pg_terminate_backend()` send to other processes.
//!
//! Client backends are this engine's sessions; every other process (the
//! checkpointer, walsenders, the walreceiver, ...) is reported by the node in
//! [`ReplicationStats::processes`](crate::stats::ReplicationStats). A signal
//! to a client session or a walsender is queued in [`Database::signals`] for
//! the node, which owns waits and connections.

use crate::database::{session_pid, Database, SessionId, Signal};
use crate::error::{DbError, Result};
use crate::stats::{columns, time, View};
use crate::types::{DataType, Value};

/// Whether a statement can read the process list (`pg_stat_activity`, or a
/// signal function that checks a pid). Built on every statement, that list
/// cost single-row INSERTs about 5% (`pgplay bench --rows 10000`: 99–100k
/// tps, 101–103k with this check), so the node builds it only for
/// statements that name one of these.
pub fn reads_processes(sql: &str) -> bool {
    const NAMES: [&str; 3] = [
        "pg_stat_activity",
        "pg_cancel_backend",
        "pg_terminate_backend",
    ];
    // Each name begins "pg_": only where that is do the names need comparing.
    let bytes = sql.as_bytes();
    (0..bytes.len().saturating_sub(2)).any(|at| {
        bytes[at..at + 3].eq_ignore_ascii_case(b"pg_")
            && NAMES.iter().any(|name| {
                bytes
                    .get(at..at + name.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(name.as_bytes()))
            })
    })
}

impl Database {
    /// `pg_cancel_backend(pid)` (`terminate`: `pg_terminate_backend(pid)`)
    /// from `session`: true when a backend got the signal.
    pub fn signal_backend(
        &mut self,
        session: SessionId,
        pid: i32,
        terminate: bool,
    ) -> Result<bool> {
        if pid == session_pid(session) {
            return Err(if terminate {
                DbError::terminated_by_administrator()
            } else {
                DbError::canceled_by_user()
            });
        }
        let client = self.sessions.keys().any(|s| session_pid(*s) == pid);
        let walsender = self
            .stats
            .processes
            .iter()
            .any(|p| p.pid == pid && p.backend_type == "walsender");
        if !client && !walsender {
            self.pending_notices.push(crate::sql::warning(
                crate::error::code::WARNING,
                &format!("PID {pid} is not a PostgreSQL backend process"),
            ));
            return Ok(false);
        }
        self.signals.push(if terminate {
            Signal::Terminate(pid)
        } else {
            Signal::Cancel(pid)
        });
        Ok(true)
    }

    /// The rows of `pg_stat_activity` (PostgreSQL 15's 22 columns), as
    /// `current` sees them while it runs its query.
    pub fn activity_view(&self, current: SessionId) -> View {
        use DataType::*;
        let columns = columns(&[
            ("datid", Oid),
            ("datname", Name),
            ("pid", Int4),
            ("leader_pid", Int4),
            ("usesysid", Oid),
            ("usename", Name),
            ("application_name", Text),
            ("client_addr", Text),
            ("client_hostname", Text),
            ("client_port", Int4),
            ("backend_start", TimestampTz),
            ("xact_start", TimestampTz),
            ("query_start", TimestampTz),
            ("state_change", TimestampTz),
            ("wait_event_type", Text),
            ("wait_event", Text),
            ("state", Text),
            ("backend_xid", Text),
            ("backend_xmin", Text),
            ("query_id", Int8),
            ("query", Text),
            ("backend_type", Text),
        ]);
        let text = |s: &str| Value::Text(s.to_string());
        let mut rows: Vec<Vec<Value>> = self
            .stats
            .processes
            .iter()
            .map(|p| {
                // A physical walsender is connected to no database.
                vec![
                    Value::Null,
                    Value::Null,
                    Value::Int4(p.pid),
                    Value::Null,
                    if p.usename.is_some() {
                        Value::Oid(10)
                    } else {
                        Value::Null
                    },
                    p.usename.as_deref().map(text).unwrap_or(Value::Null),
                    text(&p.application_name),
                    p.client_addr.as_deref().map(text).unwrap_or(Value::Null),
                    Value::Null,
                    p.client_port.map(Value::Int4).unwrap_or(Value::Null),
                    Value::TimestampTz(p.backend_start),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    text("Activity"),
                    text(p.wait_event),
                    p.state.map(text).unwrap_or(Value::Null),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    text(&p.query),
                    text(p.backend_type),
                ]
            })
            .collect();
        for (id, session) in &self.sessions {
            let locked = session.lock_wait.is_some();
            let waiting = self.stats.sync_waiting.contains(id) || locked;
            let xact = session.xact.as_ref();
            let state = match xact {
                _ if *id == current || waiting => "active",
                Some(x) if x.failed => "idle in transaction (aborted)",
                Some(x) if x.explicit => "idle in transaction",
                _ => "idle",
            };
            let (wait_type, wait) = if let Some(w) = &session.lock_wait {
                (text("Lock"), text(w.target.wait_event()))
            } else if waiting {
                (text("IPC"), text("SyncRep"))
            } else {
                (Value::Null, Value::Null)
            };
            rows.push(vec![
                Value::Oid(5),
                text("postgres"),
                Value::Int4(session_pid(*id)),
                Value::Null,
                Value::Oid(10),
                text("postgres"),
                text("psql"),
                text("127.0.0.1"),
                Value::Null,
                Value::Int4(50_000 + *id as i32),
                Value::TimestampTz(session.backend_start),
                time(
                    xact.filter(|x| x.explicit || *id == current)
                        .map(|_| session.query_start.unwrap_or(self.now)),
                ),
                time(session.query_start),
                time(session.query_start),
                wait_type,
                wait,
                text(state),
                xact.and_then(|x| x.xid)
                    .map(|xid| Value::Text(xid.to_string()))
                    .unwrap_or(Value::Null),
                Value::Null,
                Value::Null,
                text(&session.last_query),
                text("client backend"),
            ]);
        }
        (columns, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::reads_processes;

    #[test]
    fn statements_that_read_the_process_list_are_recognised() {
        assert!(reads_processes("SELECT * FROM PG_STAT_ACTIVITY"));
        assert!(reads_processes("select pg_cancel_backend(1234)"));
        assert!(reads_processes("SELECT pg_terminate_backend(pid) FROM x"));
        assert!(!reads_processes("INSERT INTO t VALUES (1)"));
    }
}
