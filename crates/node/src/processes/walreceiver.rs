//! The walreceiver: a standby's connection to its upstream. Its protocol
//! state machine is `pgplay_replication::WalReceiver`; this module is the
//! node's side of it: starting and stopping it from `primary_conninfo` and
//! `primary_slot_name` (again after a reload that changes them), giving it a
//! view of this standby, and carrying out what it returns (connections,
//! received WAL written and flushed, timeline history files, a switch of
//! timeline). What it writes is handed to the startup process to replay.

use pgplay_replication::receiver::Ids;
use pgplay_replication::{ConnInfo, ReceiverOutput, StandbyView, WalReceiver};
use pgplay_wal::time::Timestamp;
use pgplay_wal::Lsn;

use super::{micros_from_ms, NodeIds};
use crate::{Node, Output, RunState};

impl Node {
    pub(super) fn standby_view(&self) -> StandbyViewOwned {
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
    pub(super) fn with_receiver(
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

/// The parts of a [`StandbyView`] that are computed, not borrowed.
pub(super) struct StandbyViewOwned {
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
    pub(super) fn view<'a>(
        &'a self,
        history: &'a pgplay_replication::TimelineHistory,
    ) -> StandbyView<'a> {
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
