//! The node's replication connections: accepting standbys (one walsender
//! each), its own walreceiver when it is a standby, replaying what arrives,
//! `pg_basebackup`, and the rows of `pg_stat_replication` /
//! `pg_stat_wal_receiver`.

use pgplay_engine::database::Signal;
use pgplay_engine::stats::ProcessRow;
use pgplay_engine::{BaseBackup, Database, WalReceiverRow, WalSenderRow};
use pgplay_replication::receiver::Ids;
use pgplay_replication::{
    ConnId, ConnInfo, HbaVerdict, Message, ReceiverOutput, SenderOutput, ServerError, SourceView,
    StandbyView, WalReceiver, WalSender,
};
use pgplay_wal::time::Timestamp;
use pgplay_wal::{Lsn, RecordBody, TransactionRecord};

use crate::{ConfigFiles, Node, Output, RunState};

/// One walsender's positions and replay lag (µs), for the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderInfo {
    /// The id of the node whose walreceiver opened the connection.
    pub standby_id: u32,
    pub application_name: String,
    pub state: String,
    pub sent: Lsn,
    pub write: Lsn,
    pub flush: Lsn,
    pub replay: Lsn,
    pub replay_lag: Option<Timestamp>,
    /// `pg_stat_replication.sync_state`: async, potential, sync or quorum.
    pub sync_state: &'static str,
}

/// What happens on one replication connection, as the driver tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// Our connection attempt reached the server.
    Connected,
    /// Nothing listens at that address, or the network is down.
    Refused,
    /// A client connected to us from this address and port.
    Accepted {
        client_addr: String,
        client_port: u16,
    },
    Message(Message),
    /// The other end closed the connection, or it broke.
    Closed,
}

/// Records replayed per batch while catching up (keeps each step small).
const REPLAY_BATCH: usize = 512;

struct NodeIds<'a> {
    id: u32,
    next_conn: &'a mut u32,
    next_pid: &'a mut i32,
}

impl Ids for NodeIds<'_> {
    fn conn(&mut self) -> ConnId {
        let conn = ConnId((u64::from(self.id) << 32) | u64::from(*self.next_conn));
        *self.next_conn += 1;
        conn
    }
    fn pid(&mut self) -> i32 {
        *self.next_pid += 1;
        *self.next_pid
    }
}

fn micros_from_ms(ms: i64) -> Timestamp {
    ms.saturating_mul(1000)
}

impl Node {
    fn standby_view(&self) -> StandbyViewOwned {
        StandbyViewOwned {
            system_identifier: self.db.control.system_identifier,
            flush: self.db.wal.flush_lsn(),
            replay: self.db.replayed_upto,
            segment_size: self.db.wal.segment_size(),
            status_interval: self.setting_i64("wal_receiver_status_interval") * 1_000_000,
            receiver_timeout: micros_from_ms(self.setting_i64("wal_receiver_timeout")),
            retry_interval: micros_from_ms(self.setting_i64("wal_retrieve_retry_interval")),
            default_application_name: {
                let cluster = self.db.settings.get("cluster_name");
                if cluster.is_empty() {
                    "walreceiver".to_string()
                } else {
                    cluster
                }
            },
            slot_name: self.db.settings.get("primary_slot_name"),
        }
    }

    /// Runs `f` on the walreceiver with a view of this standby, then carries
    /// out what it returns.
    fn with_receiver(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut WalReceiver, &StandbyView<'_>, &mut dyn Ids) -> Vec<ReceiverOutput>,
    ) {
        let Some(mut receiver) = self.receiver.take() else {
            return;
        };
        let owned = self.standby_view();
        let view = owned.view(&self.history);
        let mut ids = NodeIds {
            id: self.id,
            next_conn: &mut self.next_conn,
            next_pid: &mut self.next_pid,
        };
        let outputs = f(&mut receiver, &view, &mut ids);
        self.receiver = Some(receiver);
        self.apply_receiver_outputs(now, outputs);
    }

    fn apply_receiver_outputs(&mut self, now: Timestamp, outputs: Vec<ReceiverOutput>) {
        let mut wrote = false;
        for output in outputs {
            match output {
                ReceiverOutput::Connect { conn, host, port } => {
                    self.emit(Output::Connect { conn, host, port })
                }
                ReceiverOutput::Send { conn, message } => self.emit(Output::Send { conn, message }),
                ReceiverOutput::Close { conn } => self.emit(Output::Close { conn }),
                ReceiverOutput::Log(line) => self.push_log(line),
                ReceiverOutput::Write { at, data } => {
                    let end = at.offset(data.len() as u64);
                    match self.db.wal.write_received(at, &data) {
                        Ok(()) => {
                            self.db.wal.flush(end);
                            self.db.stats.last_received = Some(end);
                            wrote = true;
                        }
                        Err(error) => {
                            self.push_log(format!("LOG:  {error}"));
                            let outputs =
                                self.receiver.as_mut().map(|r| r.stop()).unwrap_or_default();
                            self.apply_receiver_outputs(now, outputs);
                        }
                    }
                }
                ReceiverOutput::SaveHistory { history, content } => {
                    self.history_files.insert(history.timeline, content);
                }
                ReceiverOutput::NewTimeline { timeline } => {
                    if let Some(text) = self.history_files.get(&timeline) {
                        if let Ok(history) =
                            pgplay_replication::TimelineHistory::parse(timeline, text)
                        {
                            self.history = history;
                        }
                    }
                    self.db.wal.set_timeline(timeline);
                    self.db.control.timeline = timeline;
                }
            }
        }
        if wrote {
            self.replay_received(now);
        }
    }

    /// The startup process: replay every complete record received so far,
    /// then tell upstream how far we got.
    pub(crate) fn replay_received(&mut self, now: Timestamp) {
        let delay = micros_from_ms(self.setting_i64("recovery_min_apply_delay"));
        self.replay_with_delay(now, delay);
    }

    /// Replays, holding back each commit younger than `delay`.
    pub(crate) fn replay_with_delay(&mut self, now: Timestamp, delay: Timestamp) {
        self.replay_delayed_until = None;
        let restartpoint = self.db.control.redo;
        'replay: loop {
            if self.db.replay_paused {
                // pg_wal_replay_pause(): the WAL is received and flushed, not applied.
                break;
            }
            let from = self.db.replayed_upto;
            let mut batch = Vec::new();
            let mut stopped_by = None;
            for read in self.db.wal.records_from(from).take(REPLAY_BATCH) {
                match read {
                    Ok(read) => batch.push(read),
                    Err(error) => {
                        stopped_by = Some(error);
                        break;
                    }
                }
            }
            if let Some(error) =
                stopped_by.filter(|e| !matches!(e, pgplay_wal::WalError::EndOfLog(_)))
            {
                // What PostgreSQL logs when the next record is not there yet or is torn.
                let line = format!("LOG:  {error}");
                if self.last_replay_error.as_ref() != Some(&line) {
                    self.push_log(line.clone());
                    self.last_replay_error = Some(line);
                }
            }
            if batch.is_empty() {
                break;
            }
            for read in batch {
                // recovery_min_apply_delay: a commit waits until it is that old.
                if let RecordBody::Transaction(TransactionRecord::Commit { time, .. }) =
                    &read.record.body
                {
                    if delay > 0 && now < time.saturating_add(delay) {
                        self.replay_delayed_until = Some(time.saturating_add(delay));
                        break 'replay;
                    }
                }
                self.db.now = now;
                if let Err(error) = self.db.replay(read.lsn, &read.record, read.end) {
                    self.push_log(format!(
                        "FATAL:  could not replay WAL record at {}: {}",
                        read.lsn, error.message
                    ));
                    return;
                }
            }
        }
        let replayed = self.db.replayed_upto;
        self.with_receiver(now, |r, _, _| r.report(now, replayed, false));
        // Cascading: what we received may go on to our own standbys.
        self.poll_senders(now);
        if self.db.control.redo != restartpoint {
            // A restartpoint removes old WAL as a checkpoint does; timers
            // alone would not, as a busy stream keeps postponing them.
            self.recycle_wal();
        }
    }

    pub(crate) fn start_receiver(&mut self, now: Timestamp) {
        let text = self.db.settings.get("primary_conninfo");
        if text.trim().is_empty() {
            return;
        }
        let conninfo = match ConnInfo::parse(&text) {
            Ok(conninfo) => conninfo,
            Err(error) => {
                self.push_log(format!(
                    "FATAL:  could not connect to the primary server: {error}"
                ));
                return;
            }
        };
        let owned = self.standby_view();
        let view = owned.view(&self.history);
        let mut ids = NodeIds {
            id: self.id,
            next_conn: &mut self.next_conn,
            next_pid: &mut self.next_pid,
        };
        let (receiver, outputs) = WalReceiver::start(now, conninfo, &view, &mut ids);
        self.receiver = Some(receiver);
        self.apply_receiver_outputs(now, outputs);
    }

    pub(crate) fn stop_receiver(&mut self) {
        if let Some(mut receiver) = self.receiver.take() {
            let outputs = receiver.stop();
            self.apply_receiver_outputs(0, outputs);
        }
    }

    /// After a reload: a changed `primary_conninfo` restarts the walreceiver.
    pub(crate) fn after_reload(&mut self, now: Timestamp) {
        if self.state != RunState::Running || !self.db.in_recovery {
            return;
        }
        let wanted = self.db.settings.get("primary_conninfo");
        let current = self.receiver.as_ref().map(|r| r.conninfo.options.clone());
        let parsed = ConnInfo::parse(&wanted).ok().map(|c| c.options);
        let slot = self.db.settings.get("primary_slot_name");
        let slot_changed = self
            .receiver
            .as_ref()
            .is_some_and(|r| r.slot_name.as_deref().unwrap_or("") != slot);
        if current.is_some() && current == parsed && !slot_changed {
            return;
        }
        self.stop_receiver();
        self.start_receiver(now);
    }

    pub(crate) fn close_all_connections(&mut self) {
        let conns: Vec<ConnId> = self
            .senders
            .keys()
            .chain(self.incoming.keys())
            .copied()
            .collect();
        self.senders.clear();
        self.incoming.clear();
        for conn in conns {
            self.emit(Output::Close { conn });
        }
        if let Some(receiver) = self.receiver.take() {
            if let Some(conn) = receiver.conn {
                self.emit(Output::Close { conn });
            }
        }
    }

    // ----- inputs ------------------------------------------------------------

    /// Something happened on replication connection `conn`.
    pub fn handle_peer(&mut self, now: Timestamp, conn: ConnId, event: PeerEvent) {
        if self.state != RunState::Running {
            if !matches!(event, PeerEvent::Closed | PeerEvent::Refused) {
                self.emit(Output::Close { conn });
            }
            return;
        }
        self.db.now = now;
        let ours = self.receiver.as_ref().and_then(|r| r.conn) == Some(conn);
        if ours {
            match event {
                PeerEvent::Connected => {
                    self.with_receiver(now, |r, v, _| r.handle_connected(now, v))
                }
                PeerEvent::Refused => self.with_receiver(now, |r, v, _| r.handle_refused(now, v)),
                PeerEvent::Closed => self.with_receiver(now, |r, v, _| r.handle_closed(now, v)),
                PeerEvent::Message(message) => {
                    self.with_receiver(now, |r, v, _| r.handle_message(now, message, v))
                }
                PeerEvent::Accepted { .. } => {}
            }
            return;
        }
        match event {
            PeerEvent::Accepted {
                client_addr,
                client_port,
            } => {
                self.incoming.insert(conn, (client_addr, client_port));
            }
            PeerEvent::Message(Message::Startup {
                user,
                application_name,
                password,
            }) => self.accept_startup(now, conn, &user, &application_name, password.as_deref()),
            PeerEvent::Message(message) => self.sender_message(now, conn, message),
            PeerEvent::Closed => {
                self.incoming.remove(&conn);
                self.senders.remove(&conn);
            }
            PeerEvent::Connected | PeerEvent::Refused => {}
        }
    }

    /// What PostgreSQL checks before a replication connection gets a
    /// walsender: pg_hba.conf, the password, the role's LOGIN and
    /// REPLICATION attributes, its connection limit and `max_wal_senders`.
    /// Errors are what the client sees; FATAL ones are logged here too.
    pub(crate) fn authorize_replication(
        &mut self,
        client_addr: &str,
        user: &str,
        password: Option<&str>,
    ) -> Result<u32, ServerError> {
        let verdict = self.hba.check_replication(client_addr, user);
        let fatal = |code: &str, message: String| ServerError::fatal(code, message);
        match verdict {
            HbaVerdict::NoEntry => {
                return Err(fatal("28000", format!(
                    "no pg_hba.conf entry for replication connection from host \"{client_addr}\", user \"{user}\", no encryption"
                )))
            }
            HbaVerdict::Reject => {
                return Err(fatal("28000", format!(
                    "pg_hba.conf rejects replication connection for host \"{client_addr}\", user \"{user}\", no encryption"
                )))
            }
            _ => {}
        }
        let role = self
            .db
            .committed_catalog()
            .ok()
            .and_then(|c| c.roles.get(user).cloned());
        if verdict == HbaVerdict::Password {
            let Some(given) = password else {
                // libpq gives up before the server logs anything.
                return Err(ServerError {
                    severity: "fe_sendauth".into(),
                    code: "08004".into(),
                    message: "no password supplied".into(),
                    detail: None,
                });
            };
            if role.as_ref().and_then(|r| r.password.as_deref()) != Some(given) {
                return Err(fatal(
                    "28P01",
                    format!("password authentication failed for user \"{user}\""),
                ));
            }
        }
        let Some(role) = role else {
            return Err(fatal("28000", format!("role \"{user}\" does not exist")));
        };
        if !role.login {
            return Err(fatal(
                "28000",
                format!("role \"{user}\" is not permitted to log in"),
            ));
        }
        if !role.replication && !role.superuser {
            return Err(fatal(
                "42501",
                "must be superuser or replication role to start walsender".to_string(),
            ));
        }
        let same_role = self.senders.values().filter(|s| s.user == user).count();
        if role.connection_limit >= 0 && same_role >= role.connection_limit as usize {
            return Err(fatal(
                "53300",
                format!("too many connections for role \"{user}\""),
            ));
        }
        let max = usize::try_from(self.setting_i64("max_wal_senders")).unwrap_or(0);
        if self.senders.len() >= max {
            return Err(fatal(
                "53300",
                format!(
                    "number of requested standby connections exceeds max_wal_senders (currently {max})"
                ),
            ));
        }
        Ok(role.oid)
    }

    /// A replication connection's startup packet: a walsender starts if
    /// [`Node::authorize_replication`] allows it.
    fn accept_startup(
        &mut self,
        now: Timestamp,
        conn: ConnId,
        user: &str,
        application_name: &str,
        password: Option<&str>,
    ) {
        let Some((client_addr, client_port)) = self.incoming.get(&conn).cloned() else {
            return;
        };
        if let Err(error) = self.authorize_replication(&client_addr, user, password) {
            if error.severity == "FATAL" {
                self.push_log(error.text());
            }
            self.emit(Output::Send {
                conn,
                message: Message::Error(error),
            });
            self.emit(Output::Close { conn });
            self.incoming.remove(&conn);
            return;
        }
        self.incoming.remove(&conn);
        let pid = self.new_pid();
        let sender = WalSender::new(
            conn,
            pid,
            user,
            application_name,
            &client_addr,
            client_port,
            now,
        );
        self.senders.insert(conn, sender);
        self.emit(Output::Send {
            conn,
            message: Message::Ready,
        });
    }

    fn sender_message(&mut self, now: Timestamp, conn: ConnId, message: Message) {
        if let Message::StartReplication {
            start,
            timeline,
            slot: Some(slot),
        } = &message
        {
            if let Some((code, text)) = pgplay_engine::slots::acquire_error(&self.db, slot) {
                let statement = pgplay_replication::protocol::start_replication_text(
                    *start,
                    *timeline,
                    Some(slot),
                );
                self.push_log(format!("ERROR:  {text}\nSTATEMENT:  {statement}"));
                self.emit(Output::Send {
                    conn,
                    message: Message::Error(ServerError::error(code, text)),
                });
                return;
            }
        }
        let mut message = Some(message);
        let outputs = self.with_sender(conn, &mut |sender, view| match message.take() {
            Some(message) => sender.handle(now, message, view),
            None => Vec::new(),
        });
        self.apply_sender_outputs(conn, outputs);
        self.follow_slots();
        // A standby's reply may confirm commits waiting for it.
        self.release_sync_waiters();
    }

    /// Slots follow their walsenders: active while one streams through
    /// them, `restart_lsn` at what its standby flushed.
    pub(crate) fn follow_slots(&mut self) {
        let pids: Vec<i32> = self.senders.values().map(|s| s.pid).collect();
        let stale: Vec<i32> = self
            .db
            .slots
            .values()
            .filter_map(|s| s.active_pid)
            .filter(|pid| !pids.contains(pid))
            .collect();
        for pid in stale {
            self.db.slot_released(pid);
        }
        let using: Vec<(String, i32, Lsn)> = self
            .senders
            .values()
            .filter_map(|s| Some((s.slot.clone()?, s.pid, s.flush)))
            .collect();
        for (slot, pid, flush) in using {
            self.db.slot_acquired(&slot, pid);
            self.db.slot_confirmed(&slot, flush);
        }
    }

    fn apply_sender_outputs(&mut self, conn: ConnId, outputs: Vec<SenderOutput>) {
        for output in outputs {
            match output {
                SenderOutput::Send(message) => self.emit(Output::Send { conn, message }),
                SenderOutput::Close => {
                    self.senders.remove(&conn);
                    self.emit(Output::Close { conn });
                }
                SenderOutput::Log(line) => self.push_log(line),
            }
        }
    }

    /// Runs `f` on every walsender with a view of this node's WAL, then
    /// carries out what it returns.
    fn each_sender(
        &mut self,
        mut f: impl FnMut(&mut WalSender, &SourceView<'_>) -> Vec<SenderOutput>,
    ) {
        let conns: Vec<ConnId> = self.senders.keys().copied().collect();
        for conn in conns {
            let outputs = self.with_sender(conn, &mut f);
            self.apply_sender_outputs(conn, outputs);
        }
    }

    /// Runs `f` on one walsender with a view of this node's WAL.
    fn with_sender(
        &mut self,
        conn: ConnId,
        f: &mut impl FnMut(&mut WalSender, &SourceView<'_>) -> Vec<SenderOutput>,
    ) -> Vec<SenderOutput> {
        let timeout = micros_from_ms(self.setting_i64("wal_sender_timeout"));
        let Some(sender) = self.senders.get_mut(&conn) else {
            return Vec::new();
        };
        let view = SourceView {
            wal: &self.db.wal,
            send_upto: self.db.wal.flush_lsn(),
            history: &self.history,
            history_files: &self.history_files,
            system_identifier: self.db.control.system_identifier,
            timeout,
        };
        f(sender, &view)
    }

    /// Every walsender sends what it can.
    pub(crate) fn poll_senders(&mut self, now: Timestamp) {
        self.each_sender(|sender, view| sender.poll(now, view));
    }

    /// A clean stop: each walsender ends its stream with CopyDone.
    pub(crate) fn shutdown_senders(&mut self) {
        self.each_sender(|sender, view| sender.shutdown(view));
    }

    /// After any change: ship new WAL.
    pub(crate) fn pump(&mut self, now: Timestamp) {
        if self.state == RunState::Running {
            self.poll_senders(now);
            self.follow_slots();
            self.release_sync_waiters();
            self.run_archiver(now);
        }
    }

    /// Timers: the checkpointer, the WAL writer, walsender keepalives and
    /// timeouts, walreceiver retries, status updates and its timeout.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.state != RunState::Running {
            return;
        }
        self.db.now = now;
        if let Some(due) = self.next_checkpoint() {
            if now >= due {
                // The checkpointer's timed checkpoint (checkpoint_timeout).
                self.push_log("LOG:  checkpoint starting: time".into());
                self.db.checkpoint(false);
                self.push_log("LOG:  checkpoint complete".into());
            }
        }
        self.wal_writer_timeout(now);
        self.with_receiver(now, |r, v, ids| r.handle_timeout(now, v, ids));
        if self.replay_delayed_until.is_some_and(|at| now >= at) {
            self.replay_received(now);
        }
        self.poll_senders(now);
        self.run_archiver(now);
        self.recycle_wal();
        self.end_idle_sessions(now);
    }

    /// When a primary's next timed checkpoint is due.
    fn next_checkpoint(&self) -> Option<Timestamp> {
        if self.state != RunState::Running || self.db.in_recovery {
            return None;
        }
        let timeout = self.setting_i64("checkpoint_timeout").max(30) * 1_000_000;
        Some(self.db.control.time + timeout)
    }

    /// Removes WAL segments no longer needed, as the checkpointer does:
    /// everything before the last (re)startpoint's redo segment, except the
    /// `wal_keep_size` most recent megabytes. Walsenders do not hold WAL back
    /// (only replication slots would): a standby that falls further behind
    /// gets "requested WAL segment ... has already been removed".
    ///
    /// pgplay's checkpoints take no time, PostgreSQL's take long enough
    /// for a walsender to ship what was flushed before: the segment a
    /// walsender reads in stays, and so do those it has still to send of the
    /// WAL flushed before its standby last answered ([`segments_to_send`]).
    /// A standby that stopped answering (a partition) gets nothing more
    /// kept, so it loses the WAL written since, as on PostgreSQL 15.
    pub(crate) fn recycle_wal(&mut self) {
        let size = self.db.wal.segment_size();
        let redo_segment = size.segment_of(self.db.control.redo);
        let keep_bytes = (self.setting_i64("wal_keep_size").max(0) as u64) * 1024 * 1024;
        let keep_segments = keep_bytes / size.bytes();
        let current = size.segment_of(self.db.wal.insert_lsn());
        let mut reading: Vec<u64> = self
            .senders
            .values()
            .filter_map(|s| s.still_to_send())
            .flat_map(|(sent, answered)| segments_to_send(size, sent, answered))
            .collect();
        // Segments not archived yet stay (archive_status/*.ready).
        reading.extend(self.unarchived_segments());
        let mut keep_from = redo_segment.min(current.saturating_sub(keep_segments));
        // A slot keeps everything from its restart_lsn, at most
        // max_slot_wal_keep_size back from the last checkpoint (PostgreSQL's
        // KeepLogSeg, where the checkpoint's segment is the redo segment).
        let slot_cap = self.db.slot_keep_segments();
        if let Some(restart) = self.db.slots_restart_lsn() {
            let mut slot_segment = size.segment_of(restart);
            if let Some(cap) = slot_cap {
                slot_segment = slot_segment.max(redo_segment.saturating_sub(cap));
            }
            keep_from = keep_from.min(slot_segment);
        }
        if slot_cap.is_some() {
            self.invalidate_slots(size.segment_start(keep_from));
        }
        self.db
            .wal
            .remove_segments_before_except(keep_from, &reading);
    }

    /// When the node next wants [`Node::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.state != RunState::Running {
            return None;
        }
        let timeout = micros_from_ms(self.setting_i64("wal_sender_timeout"));
        let senders = self
            .senders
            .values()
            .filter_map(|s| s.next_timeout(timeout));
        let owned = self.standby_view();
        let view = owned.view(&self.history);
        let receiver = self.receiver.as_ref().and_then(|r| r.next_timeout(&view));
        senders
            .chain(receiver)
            .chain(self.next_checkpoint())
            .chain(self.wal_writer_due())
            .chain(self.archiver_timeout())
            .chain(self.replay_delayed_until)
            .chain(self.idle_timeout())
            .min()
    }

    // ----- views --------------------------------------------------------------

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
        let archiving = match self.db.settings.get("archive_mode").as_str() {
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

    /// Slots that need WAL before `keep_from` lose it: invalidated, and a
    /// walsender streaming through one is terminated, as PostgreSQL 15 does.
    fn invalidate_slots(&mut self, keep_from: Lsn) {
        let gone = self.db.invalidate_slots_before(keep_from);
        self.collect_engine_log();
        for (name, pid) in gone {
            if let Some(pid) = pid {
                self.push_log(format!(
                    "LOG:  terminating process {pid} to release replication slot \"{name}\""
                ));
                self.db.signals.push(Signal::Terminate(pid));
            }
        }
        self.deliver_signals();
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

    /// The upstream this standby streams from (host and port of its walreceiver).
    pub fn upstream(&self) -> Option<(String, u16)> {
        self.receiver
            .as_ref()
            .map(|r| (r.conninfo.host.clone(), r.conninfo.port))
    }

    /// Is the walreceiver streaming right now?
    pub fn is_streaming(&self) -> bool {
        self.receiver.as_ref().is_some_and(|r| r.is_streaming())
    }

    /// Each walsender as the UI shows it.
    pub fn sender_positions(&self) -> Vec<SenderInfo> {
        self.senders
            .values()
            .zip(self.sync_states())
            .map(|(s, (_, sync))| SenderInfo {
                standby_id: s.conn.opener(),
                application_name: s.application_name.clone(),
                state: s.state.name().to_string(),
                sent: s.sent,
                write: s.write,
                flush: s.flush,
                replay: s.apply,
                replay_lag: s.lag.lags[2],
                sync_state: sync.name(),
            })
            .collect()
    }

    // ----- pg_basebackup ---------------------------------------------------

    /// `pg_basebackup ... -S SLOT [-C]`: the slot is created (`-C`) or must
    /// exist, holds WAL from the backup on, and with `-R` the copy streams
    /// through it (`primary_slot_name`). Errors are pg_basebackup's.
    #[allow(clippy::too_many_arguments)]
    pub fn base_backup_with_slot(
        &mut self,
        now: Timestamp,
        name: &str,
        user: &str,
        password: Option<&str>,
        recovery_conf: RecoveryConf,
        slot: Option<&str>,
        create_slot: bool,
    ) -> Result<Node, String> {
        let Some(slot) = slot else {
            return self.base_backup(now, name, user, password, recovery_conf);
        };
        if self.state == RunState::Running && create_slot {
            if let Err(error) = self.db.create_slot(0, slot, true, false) {
                return Err(format!(
                    "pg_basebackup: error: could not send replication command \"CREATE_REPLICATION_SLOT \"{slot}\" PHYSICAL ( RESERVE_WAL)\": ERROR:  {}\npg_basebackup: removing data directory \"{name}\"",
                    error.message
                ));
            }
        }
        if self.state == RunState::Running && !self.db.slots.contains_key(slot) {
            return Err(format!(
                "pg_basebackup: error: could not send replication command \"START_REPLICATION\": ERROR:  replication slot \"{slot}\" does not exist\npg_basebackup: error: background process terminated unexpectedly\npg_basebackup: removing data directory \"{name}\""
            ));
        }
        let mut copy = self.base_backup(now, name, user, password, recovery_conf)?;
        // The backup's WAL streamed through the slot: it holds WAL from there.
        let redo = copy.db.control.redo;
        if self
            .db
            .slots
            .get(slot)
            .is_some_and(|s| s.restart_lsn.is_none())
        {
            self.db.slot_confirmed(slot, redo);
        }
        if recovery_conf != RecoveryConf::None {
            let _ = copy
                .db
                .settings
                .alter_system("primary_slot_name", Some(slot));
        }
        Ok(copy)
    }

    /// `pg_basebackup -h <this node> -D <name> [-R] -X stream` run from
    /// `client_addr`: checks what a walsender connection would check, takes
    /// a checkpoint and copies the data directory into a new, stopped node.
    /// With `-R` ([`RecoveryConf`]), the copy gets `standby.signal` and a
    /// `primary_conninfo` pointing here.
    pub fn base_backup(
        &mut self,
        now: Timestamp,
        name: &str,
        user: &str,
        password: Option<&str>,
        recovery_conf: RecoveryConf,
    ) -> Result<Node, String> {
        let port = self.port;
        let failed = move |message: String| {
            format!(
                "pg_basebackup: error: connection to server at \"127.0.0.1\", port {port} failed: {message}"
            )
        };
        if self.state != RunState::Running {
            return Err(failed("Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?".into()));
        }
        let address = self.address.clone();
        if let Err(error) = self.authorize_replication(&address, user, password) {
            if error.severity == "FATAL" {
                self.push_log(error.text());
            }
            return Err(failed(error.text()));
        }
        self.db.now = now;
        if !self.db.in_recovery {
            self.push_log("LOG:  checkpoint starting: force wait".into());
        }
        let backup: BaseBackup = self.db.base_backup();
        // The backup's checkpoint removes old WAL as it ends, as any checkpoint does.
        self.recycle_wal();
        self.pump(now);
        let mut db = Database::from_backup(backup, now);
        db.in_recovery = true;
        let mut files = ConfigFiles {
            postgresql_conf: self.files.postgresql_conf.clone(),
            pg_hba_conf: self.files.pg_hba_conf.clone(),
            standby_signal: false,
        };
        if recovery_conf != RecoveryConf::None {
            files.standby_signal = true;
            let password = password
                .map(|p| format!("password='{}' ", p.replace('\'', "\\'")))
                .unwrap_or_default();
            let application_name = match recovery_conf {
                RecoveryConf::WrittenNamed => format!("application_name={name} "),
                _ => String::new(),
            };
            let conninfo = format!(
                "user={user} {password}passfile='/var/lib/postgresql/.pgpass' channel_binding=prefer host={} port={} {application_name}sslmode=prefer sslcompression=0 sslsni=1 ssl_min_protocol_version=TLSv1.2 gssencmode=prefer krbsrvname=postgres target_session_attrs=any",
                self.address, self.port
            );
            let _ = db
                .settings
                .alter_system("primary_conninfo", Some(&conninfo));
        }
        let mut node = Node::with_database(name, 0, self.port, db, files);
        node.history_files = self.history_files.clone();
        node.history = self.history.clone();
        node.state = RunState::Stopped;
        Ok(node)
    }
}

/// The segments a walsender that has sent up to `sent` still has to read
/// for a standby that last answered when the WAL up to `answered` was
/// sendable: the one it is in the middle of, and each holding bytes of
/// `[sent, answered)`.
fn segments_to_send(
    size: pgplay_wal::SegmentSize,
    sent: Lsn,
    answered: Lsn,
) -> impl Iterator<Item = u64> {
    let first = size.segment_of(sent);
    let reading = !sent.0.is_multiple_of(size.bytes());
    let last = (answered > sent).then(|| size.segment_of(Lsn(answered.0 - 1)));
    let end = match (last, reading) {
        (Some(last), _) => last + 1,
        (None, true) => first + 1,
        (None, false) => first,
    };
    first..end
}

/// The parts of a [`StandbyView`] that are computed, not borrowed.
struct StandbyViewOwned {
    system_identifier: u64,
    flush: Lsn,
    replay: Lsn,
    segment_size: pgplay_wal::SegmentSize,
    status_interval: Timestamp,
    receiver_timeout: Timestamp,
    retry_interval: Timestamp,
    default_application_name: String,
    slot_name: String,
}

impl StandbyViewOwned {
    fn view<'a>(&'a self, history: &'a pgplay_replication::TimelineHistory) -> StandbyView<'a> {
        StandbyView {
            system_identifier: self.system_identifier,
            history,
            flush: self.flush,
            replay: self.replay,
            segment_size: self.segment_size,
            status_interval: self.status_interval,
            receiver_timeout: self.receiver_timeout,
            retry_interval: self.retry_interval,
            default_application_name: &self.default_application_name,
            slot_name: &self.slot_name,
        }
    }
}

/// What `pg_basebackup` writes so that the copy starts as a standby.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryConf {
    /// No `-R`: a plain copy.
    None,
    /// `-R` as PostgreSQL 15 writes it: `standby.signal` and a
    /// `primary_conninfo` without `application_name`, so the standby
    /// reports as `cluster_name`, or else `walreceiver`.
    Written,
    /// `-R` plus `application_name=<the copy's name>` in `primary_conninfo`,
    /// as pgplay's presets (and the real-server test harness) set standbys up.
    WrittenNamed,
}

impl RecoveryConf {
    /// `-R` given or not, for a learner's `pg_basebackup`.
    pub fn from_flag(write_recovery_conf: bool) -> RecoveryConf {
        if write_recovery_conf {
            RecoveryConf::Written
        } else {
            RecoveryConf::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walsender_keeps_the_segments_it_still_has_to_send() {
        let size = pgplay_wal::SegmentSize::new(1 << 20).unwrap();
        let kept = |sent: u64, answered: u64| -> Vec<u64> {
            segments_to_send(size, Lsn(sent), Lsn(answered)).collect()
        };
        // In the middle of segment 3, nothing newer answered: segment 3.
        assert_eq!(kept(0x380000, 0x380000), [3]);
        // At the start of segment 3 with nothing to send: nothing is open.
        assert_eq!(kept(0x300000, 0x300000), Vec::<u64>::new());
        // Flushed up to the end of segment 5 when the standby answered.
        assert_eq!(kept(0x380000, 0x600000), [3, 4, 5]);
        assert_eq!(kept(0x300000, 0x600010), [3, 4, 5, 6]);
    }
}
