//! The checkpointer: a primary's timed checkpoint (`checkpoint_timeout`)
//! and, after any checkpoint or restartpoint, the removal of WAL segments
//! no longer needed, within what `wal_keep_size`, the walsenders, the
//! archiver and the replication slots hold (and the invalidation of slots
//! beyond `max_slot_wal_keep_size`). The autovacuum launcher's timer lives
//! here too: like the checkpointer, a primary's background process on a clock.

use pgplay_engine::database::Signal;
use pgplay_engine::setting;
use pgplay_wal::time::Timestamp;
use pgplay_wal::Lsn;

use super::walsender::segments_to_send;
use crate::{Node, RunState};

impl Node {
    /// When a primary's next timed checkpoint is due.
    pub(super) fn next_checkpoint(&self) -> Option<Timestamp> {
        if self.state != RunState::Running || self.db.in_recovery {
            return None;
        }
        let timeout = self.setting_i64(setting!("checkpoint_timeout")).max(30) * 1_000_000;
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
        let keep_bytes = (self.setting_i64(setting!("wal_keep_size")).max(0) as u64) * 1024 * 1024;
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
}

impl Node {
    /// When the autovacuum launcher next starts a worker: `autovacuum_naptime`
    /// after the last round, on a running primary with `autovacuum = on`.
    pub(super) fn autovacuum_due(&self) -> Option<Timestamp> {
        if self.state != RunState::Running
            || self.db.in_recovery
            || self.db.settings.value_of(setting!("autovacuum")) != "on"
        {
            return None;
        }
        let naptime = self.setting_i64(setting!("autovacuum_naptime")).max(1) * 1_000_000;
        Some(self.db.autovacuum_last? + naptime)
    }

    /// The autovacuum launcher's timer: a worker vacuums and analyzes the
    /// tables over their thresholds (`pgplay_engine::vacuum::autovacuum`),
    /// logging each when `log_autovacuum_min_duration` asks.
    pub(super) fn autovacuum_timeout(&mut self, now: Timestamp) {
        if self.state == RunState::Running
            && !self.db.in_recovery
            && self.db.autovacuum_last.is_none()
        {
            self.db.autovacuum_last = Some(now);
        }
        if self.autovacuum_due().is_none_or(|due| now < due) {
            return;
        }
        self.db.autovacuum_last = Some(now);
        match pgplay_engine::vacuum::autovacuum(&mut self.db) {
            Ok(lines) => lines.into_iter().for_each(|l| self.push_log(l)),
            Err(error) => self.push_log(format!("ERROR:  {}", error.message)),
        }
        self.collect_engine_log();
    }
}
