//! The walreceiver: a standby's connection to its upstream. Its protocol
//! state machine is `pgplay_replication::WalReceiver`; this module is the
//! node's side of it: starting and stopping it from `primary_conninfo` and
//! `primary_slot_name` (again after a reload that changes them), giving it a
//! view of this standby, and carrying out what it returns (connections,
//! received WAL written and flushed, timeline history files, a switch of
//! timeline). What it writes is handed to the startup process to replay.

use pgplay_engine::setting;
use pgplay_replication::receiver::Ids;
use pgplay_replication::{ConnInfo, ReceiverOutput, StandbyView, WalReceiver};
use pgplay_wal::time::Timestamp;

use super::{micros_from_ms, NodeIds};
use crate::setting_i64;
use crate::{Node, Output, RunState};
use pgplay_engine::Database;

impl Node {
    /// Runs `f` on the walreceiver with a view of this standby, then carries
    /// out what it returns.
    pub(super) fn with_receiver(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut WalReceiver, &StandbyView<'_>, &mut dyn Ids) -> Vec<ReceiverOutput>,
    ) {
        let Some(mut receiver) = self.receiver.take() else {
            return;
        };
        let view = standby_view(&self.db, &self.history);
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
        let view = standby_view(&self.db, &self.history);
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
        // A changed hot_standby_feedback reaches the upstream at once.
        self.send_standby_feedback(now);
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
}

/// What the walreceiver sees of its standby, borrowed from the node's fields (not from the whole
/// node, so that the node's connection and pid counters stay free to lend). Every timer poll of a
/// standby builds one: it reads the settings in place, without copies.
pub(super) fn standby_view<'a>(
    db: &'a Database,
    history: &'a pgplay_replication::TimelineHistory,
) -> StandbyView<'a> {
    let setting = |name| setting_i64(db, name);
    let cluster = db.settings.value_of(setting!("cluster_name"));
    StandbyView {
        system_identifier: db.control.system_identifier,
        history,
        flush: db.wal.flush_lsn(),
        replay: db.replayed_upto,
        segment_size: db.wal.segment_size(),
        status_interval: setting(setting!("wal_receiver_status_interval")) * 1_000_000,
        receiver_timeout: micros_from_ms(setting(setting!("wal_receiver_timeout"))),
        retry_interval: micros_from_ms(setting(setting!("wal_retrieve_retry_interval"))),
        default_application_name: if cluster.is_empty() {
            "walreceiver"
        } else {
            cluster
        },
        slot_name: db.settings.value_of(setting!("primary_slot_name")),
    }
}
