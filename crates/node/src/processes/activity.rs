//! What the server's processes look like from SQL, and how they are
//! signalled: the rows of `pg_stat_replication`, `pg_stat_wal_receiver` and
//! the non-client rows of `pg_stat_activity`, and the delivery of
//! `pg_cancel_backend()` / `pg_terminate_backend()` to a backend or a
//! walsender by its pid.

use pgplay_engine::database::Signal;
use pgplay_engine::setting;
use pgplay_engine::stats::ProcessRow;
use pgplay_engine::{WalReceiverRow, WalSenderRow};
use pgplay_replication::{Message, ServerError};
use pgplay_wal::time::Timestamp;
use pgplay_wal::Lsn;

use crate::{Node, Output};

impl Node {
    /// Fills `pg_stat_replication` and `pg_stat_wal_receiver` for the engine.
    /// With `processes`, also the process list of `pg_stat_activity`.
    pub(crate) fn refresh_stats(&mut self, _now: Timestamp, processes: bool) {
        let position = |lsn: Lsn| (lsn != Lsn::INVALID).then_some(lsn);
        let roles = self
            .db
            .committed_catalog()
            .map(|c| c.roles.clone())
            .unwrap_or_default();
        self.db.stats.archiver = self.archiver_stats();
        if processes {
            self.db.stats.processes = self.process_rows();
            self.db.stats.sync_waiting = self.waiters.keys().copied().collect();
        } else {
            self.db.stats.processes.clear();
            self.db.stats.sync_waiting.clear();
        }
        let sync_states = self.sync_states();
        self.db.stats.senders = self
            .senders
            .values()
            .zip(sync_states)
            .map(|(s, (sync_priority, sync_state))| WalSenderRow {
                pid: s.pid,
                usesysid: roles.get(&s.user).map(|r| r.oid).unwrap_or(10),
                usename: s.user.clone(),
                application_name: s.application_name.clone(),
                client_addr: s.client_addr.clone(),
                client_port: i32::from(s.client_port),
                backend_start: s.backend_start,
                state: s.state.name().to_string(),
                sent_lsn: position(s.sent),
                write_lsn: position(s.write),
                flush_lsn: position(s.flush),
                replay_lsn: position(s.apply),
                write_lag: s.lag.lags[0],
                flush_lag: s.lag.lags[1],
                replay_lag: s.lag.lags[2],
                sync_priority: sync_priority as i32,
                sync_state: sync_state.name().into(),
                reply_time: s.reply_time,
                backend_xmin: s.feedback_xmin.filter(|_| s.slot.is_none()),
            })
            .collect();
        self.db.stats.receiver =
            self.receiver
                .as_ref()
                .filter(|r| r.is_running())
                .map(|r| WalReceiverRow {
                    pid: r.pid,
                    status: r.status().name().to_string(),
                    receive_start_lsn: r.receive_start_lsn,
                    receive_start_tli: r.receive_start_tli.0 as i32,
                    written_lsn: position(r.written_lsn),
                    flushed_lsn: position(r.flushed_lsn),
                    received_tli: r.timeline.0 as i32,
                    last_msg_send_time: r.last_msg_send_time,
                    last_msg_receipt_time: r.last_msg_receipt_time,
                    latest_end_lsn: position(r.latest_end_lsn),
                    latest_end_time: r.latest_end_time,
                    slot_name: r.slot_name.clone(),
                    sender_host: r.conninfo.host.clone(),
                    sender_port: i32::from(r.conninfo.port),
                    conninfo: r.conninfo.display_masked(),
                });
    }

    /// Every server process but the client backends, for `pg_stat_activity`:
    /// the auxiliary processes PostgreSQL 15 runs in this role, then each
    /// walsender and the walreceiver.
    fn process_rows(&self) -> Vec<ProcessRow> {
        let base = 1000 + (self.id as i32 % 1000) * 1000;
        let archiving = match self.db.settings.value_of(setting!("archive_mode")) {
            "always" => true,
            "on" => !self.db.in_recovery,
            _ => false,
        };
        let auxiliary: &[(&'static str, &'static str)] = if self.db.in_recovery {
            &[
                ("checkpointer", "CheckpointerMain"),
                ("background writer", "BgWriterMain"),
                ("startup", "RecoveryWalStream"),
            ]
        } else {
            &[
                ("checkpointer", "CheckpointerMain"),
                ("background writer", "BgWriterMain"),
                ("walwriter", "WalWriterMain"),
                ("autovacuum launcher", "AutoVacuumMain"),
                ("logical replication launcher", "LogicalLauncherMain"),
            ]
        };
        let mut rows: Vec<ProcessRow> = auxiliary
            .iter()
            .chain(archiving.then_some(&("archiver", "ArchiverMain")))
            .enumerate()
            .map(|(i, (backend_type, wait_event))| ProcessRow {
                pid: base - 10 + i as i32,
                backend_type,
                usename: (*backend_type == "logical replication launcher")
                    .then(|| "postgres".to_string()),
                backend_start: self.db.control.time,
                wait_event,
                ..ProcessRow::default()
            })
            .collect();
        rows.extend(self.senders.values().map(|s| ProcessRow {
            pid: s.pid,
            backend_type: "walsender",
            usename: Some(s.user.clone()),
            application_name: s.application_name.clone(),
            client_addr: Some(s.client_addr.clone()),
            client_port: Some(i32::from(s.client_port)),
            backend_start: s.backend_start,
            state: Some("active"),
            wait_event: "WalSenderMain",
            query: s.statement().unwrap_or_default(),
        }));
        if let Some(r) = self.receiver.as_ref().filter(|r| r.is_running()) {
            rows.push(ProcessRow {
                pid: r.pid,
                backend_type: "walreceiver",
                backend_start: self.db.control.time,
                wait_event: "WalReceiverMain",
                ..ProcessRow::default()
            });
        }
        rows
    }

    /// `pg_cancel_backend()` and `pg_terminate_backend()` of the last
    /// statement: a client backend waiting for synchronous standbys stops
    /// waiting (or is terminated); a terminated walsender ends its
    /// connection, and its standby reconnects.
    pub(crate) fn deliver_signals(&mut self) {
        for signal in std::mem::take(&mut self.db.signals) {
            let (pid, terminate) = match signal {
                Signal::Cancel(pid) => (pid, false),
                Signal::Terminate(pid) => (pid, true),
            };
            let session = self
                .db
                .sessions
                .keys()
                .copied()
                .find(|s| pgplay_engine::database::session_pid(*s) == pid);
            if let Some(session) = session {
                if terminate {
                    self.terminate_session(session);
                } else {
                    self.cancel_wait(session);
                }
                continue;
            }
            let sender = self.senders.iter().find(|(_, s)| s.pid == pid);
            if let (true, Some((&conn, sender))) = (terminate, sender) {
                let fatal = "terminating connection due to administrator command";
                let statement = sender
                    .statement()
                    .map(|s| format!("\nSTATEMENT:  {s}"))
                    .unwrap_or_default();
                self.push_log(format!("FATAL:  {fatal}{statement}"));
                self.emit(Output::Send {
                    conn,
                    message: Message::Error(ServerError::fatal("57P01", fatal.to_string())),
                });
                self.emit(Output::Close { conn });
                self.senders.remove(&conn);
            }
        }
    }
}
