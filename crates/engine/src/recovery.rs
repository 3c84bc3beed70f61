//! A server's life beyond one primary: being copied by a base backup,
//! starting as a standby, replaying streamed WAL (with restartpoints, so a
//! standby's crash recovery starts near where it was), and promotion.

use pgplay_wal::{
    Lsn, Record, RecordBody, TimeLineId, TransactionRecord, WalError, WalLog, XlogRecord,
};

use crate::database::{ClusterState, ControlFile, Database};
use crate::error::{DbError, Result};
use crate::guc::Settings;
use crate::mvcc::XactStatus;
use crate::redo::{self, DataState};

/// What `pg_basebackup -X stream` copies: the data as of a checkpoint, the
/// WAL from that checkpoint's redo pointer on, pg_control and the
/// configuration files.
#[derive(Clone, Debug)]
pub struct BaseBackup {
    pub data: DataState,
    pub wal: WalLog,
    pub control: ControlFile,
    pub settings: Settings,
    /// Where the copied WAL ends (`pg_basebackup` waits for it).
    pub end: Lsn,
    pub checkpoint: Lsn,
}

/// Records read per batch of replay (keeps each step small).
const REPLAY_BATCH: usize = 512;

/// How far one run of [`Database::replay_wal`] got, and why it stopped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayRun {
    /// Records replayed.
    pub replayed: usize,
    /// The start of the last record replayed.
    pub last: Option<Lsn>,
    /// Replay is paused (`pg_wal_replay_pause()`).
    pub paused: bool,
    /// The caller's `hold` kept the next record back.
    pub held: bool,
    /// The next record is there but cannot be read (torn, or a bad header).
    pub invalid: Option<WalError>,
    /// A base backup's end was reached: its redo start and the end of the
    /// BACKUP_END record (the backup is consistent from there).
    pub backup_end: Option<(Lsn, Lsn)>,
}

impl ReplayRun {
    /// What PostgreSQL logs where replay stops at a record it cannot read
    /// (`LOG:  invalid record length at 0/3000110: wanted 24, got 0`).
    pub fn stop_line(&self) -> Option<String> {
        self.invalid.as_ref().map(|error| format!("LOG:  {error}"))
    }
}

/// A record whose redo failed: the startup process stops, and with it the
/// server (at start, it does not come up).
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayFailure {
    pub lsn: Lsn,
    /// What the redo said.
    pub message: String,
}

impl ReplayFailure {
    /// The startup process's last words, as PostgreSQL reports a redo
    /// failure (`PANIC:  WAL contains references to invalid pages`).
    pub fn log_line(&self) -> String {
        format!("PANIC:  {}", self.message)
    }
}

impl Database {
    /// `pg_switch_wal()`: a SWITCH record, then the next record starts a
    /// new segment. Returns the end of the SWITCH record (or the current
    /// position when the segment is still empty).
    pub fn switch_wal(&mut self) -> Result<Lsn> {
        let insert = self.wal.insert_lsn();
        if insert.0.is_multiple_of(self.wal.segment_size().bytes()) {
            return Ok(insert);
        }
        self.log(0, RecordBody::Xlog(XlogRecord::Switch))?;
        let end = self.wal.insert_lsn();
        self.wal.skip_to_next_segment();
        self.wal.flush(self.wal.insert_lsn());
        Ok(end)
    }

    /// The upstream's half of `pg_basebackup`. On a primary, as in
    /// PostgreSQL: switch to a fresh segment, checkpoint, copy, then a
    /// BACKUP_END record and another switch. On a standby: copy from its
    /// last restartpoint.
    pub fn base_backup(&mut self) -> BaseBackup {
        let mut checkpoint = self.control.checkpoint;
        let mut data = self.disk.clone();
        let mut control = self.control.clone();
        if !self.in_recovery {
            let _ = self.switch_wal();
            checkpoint = self.checkpoint(false);
            data = self.disk.clone();
            control = self.control.clone();
            let _ = self.log(0, RecordBody::Xlog(XlogRecord::BackupEnd(control.redo)));
            let _ = self.switch_wal();
        }
        let mut wal = self.wal.clone();
        let segment_size = wal.segment_size();
        wal.remove_segments_before(segment_size.segment_of(self.control.redo));
        BaseBackup {
            data: Database::without_unlogged_data(&data),
            end: wal.flush_lsn(),
            wal,
            control: ControlFile {
                state: ClusterState::InProduction,
                backup_start: Some(control.redo),
                ..control
            },
            settings: self.settings.clone(),
            checkpoint,
        }
    }

    /// A server made from a base backup; call [`Database::start_standby`]
    /// (with `standby.signal`) or [`Database::recover`] next.
    pub fn from_backup(backup: BaseBackup, now: i64) -> Database {
        let mut db = Database::initdb(crate::InitOptions {
            system_identifier: backup.control.system_identifier,
            segment_size: backup.wal.segment_size(),
            now,
        });
        db.wal = backup.wal;
        db.data = backup.data.clone();
        db.disk = backup.data;
        db.disk_generation += 1;
        db.control = backup.control;
        db.settings = backup.settings;
        db.catalog_cache = None;
        db.log_lines.clear();
        db
    }

    /// Starts in standby mode: replay the local WAL from the last
    /// (re)startpoint and stay in recovery. Returns the log lines.
    pub fn start_standby(&mut self) -> std::result::Result<Vec<String>, ReplayFailure> {
        let time = pgplay_wal::time::format_timestamp_seconds(self.control.time);
        let mut lines = vec![match (self.control.backup_start, self.control.state) {
            (None, ClusterState::ShutDown) => format!("LOG:  database system was shut down at {time} UTC"),
            (None, ClusterState::ShutDownInRecovery) => {
                format!("LOG:  database system was shut down in recovery at {time} UTC")
            }
            (None, ClusterState::InArchiveRecovery) => format!(
                "LOG:  database system was interrupted while in recovery at log time {time} UTC\nHINT:  If this has occurred more than once some data might be corrupted and you might need to choose an earlier recovery target."
            ),
            _ => format!("LOG:  database system was interrupted; last known up at {time} UTC"),
        }];
        lines.push("LOG:  entering standby mode".to_string());
        self.in_recovery = true;
        self.sessions.clear();
        let redo = self.control.redo;
        if let Some(start) = self.control.backup_start {
            lines.push(format!(
                "LOG:  starting backup recovery with redo LSN {start}, checkpoint LSN {}, on timeline ID {}",
                self.control.checkpoint,
                self.control.timeline.0
            ));
        }
        let end = self.wal.recover_end(redo);
        lines.push(format!("LOG:  redo starts at {redo}"));
        self.replayed_upto = redo;
        let run = self.replay_wal(|_| false)?;
        lines.extend(run.stop_line());
        let mut consistent_at = None;
        if let Some((start, end)) = run.backup_end {
            lines.push(format!(
                "LOG:  completed backup recovery with redo LSN {start} and end LSN {end}"
            ));
            consistent_at = Some(end);
        }
        self.replayed_upto = self.replayed_upto.max(end);
        self.control.state = ClusterState::InArchiveRecovery;
        self.control.time = self.now;
        self.catalog_cache = None;
        self.data.catalog_generation += 1;
        lines.push(format!(
            "LOG:  consistent recovery state reached at {}",
            consistent_at.unwrap_or(self.replayed_upto)
        ));
        lines.push("LOG:  database system is ready to accept read-only connections".to_string());
        Ok(lines)
    }

    /// The one replay loop of the startup process, for crash recovery
    /// ([`Database::recover`]), a standby's start ([`Database::start_standby`])
    /// and streaming: replays every complete record from `replayed_upto` on,
    /// in batches (the log is read, then the records applied), until the end
    /// of the WAL, a record that cannot be read, a pause
    /// (`pg_wal_replay_pause()`), or a record `hold` keeps back
    /// (`recovery_min_apply_delay`). A record whose redo fails ends it with a
    /// [`ReplayFailure`]: the startup process cannot go on.
    pub fn replay_wal(
        &mut self,
        mut hold: impl FnMut(&Record) -> bool,
    ) -> std::result::Result<ReplayRun, ReplayFailure> {
        let mut run = ReplayRun::default();
        loop {
            if self.replay_paused {
                // The WAL is received and flushed, not applied.
                run.paused = true;
                return Ok(run);
            }
            let mut batch = Vec::new();
            for read in self.wal.records_from(self.replayed_upto).take(REPLAY_BATCH) {
                match read {
                    Ok(read) => batch.push(read),
                    Err(WalError::EndOfLog(_)) => break,
                    Err(error) => {
                        run.invalid = Some(error);
                        break;
                    }
                }
            }
            if batch.is_empty() {
                return Ok(run);
            }
            run.invalid = None;
            for read in batch {
                if hold(&read.record) {
                    run.held = true;
                    return Ok(run);
                }
                self.replay(read.lsn, &read.record, read.end)
                    .map_err(|error| ReplayFailure {
                        lsn: read.lsn,
                        message: error.message,
                    })?;
                if let RecordBody::Xlog(XlogRecord::BackupEnd(start)) = read.record.body {
                    if self.control.backup_start == Some(start) {
                        self.control.backup_start = None;
                        run.backup_end = Some((start, read.end));
                    }
                }
                run.replayed += 1;
                run.last = Some(read.lsn);
            }
        }
    }

    /// A standby replays one record received from upstream. A checkpoint
    /// record becomes a restartpoint: what a crash of the standby restarts from.
    pub fn replay(&mut self, lsn: Lsn, record: &Record, end: Lsn) -> Result<()> {
        redo::apply(&mut self.data, lsn, record)?;
        match &record.body {
            RecordBody::Transaction(
                TransactionRecord::Commit { time, .. } | TransactionRecord::Abort { time, .. },
            ) => {
                self.last_replayed_commit = Some(*time);
            }
            RecordBody::Xlog(XlogRecord::CheckpointShutdown(checkpoint)) => {
                // Nothing was running when the upstream shut down.
                for xid in std::mem::take(&mut self.data.running) {
                    self.data.clog.set(xid, XactStatus::Aborted);
                }
                self.data.truncate_clog(checkpoint.oldest_active_xid);
                self.restartpoint(lsn, checkpoint.redo);
            }
            RecordBody::Xlog(XlogRecord::CheckpointOnline(checkpoint)) => {
                self.data.truncate_clog(checkpoint.oldest_active_xid);
                self.restartpoint(lsn, checkpoint.redo);
            }
            _ => {}
        }
        self.replayed_upto = self.wal.position_after(record, end);
        if self.replayed_upto != end && self.wal.insert_lsn() < self.replayed_upto {
            // A SWITCH with nothing after it yet: the log goes on in the next segment.
            self.wal.skip_to_next_segment();
            self.wal.flush(self.wal.insert_lsn());
        }
        self.wal.set_last_record(lsn);
        Ok(())
    }

    fn restartpoint(&mut self, checkpoint: Lsn, redo: Lsn) {
        self.save_data_to_disk();
        self.control.checkpoint = checkpoint;
        self.control.redo = redo;
        self.control.time = self.now;
    }

    /// A standby's clean stop: a restartpoint at the replay position, so
    /// the next start replays nothing twice.
    pub fn shutdown_standby(&mut self) {
        self.sessions.clear();
        let at = self.wal.next_record_start(self.replayed_upto);
        self.save_data_to_disk();
        self.control.redo = at.min(self.wal.insert_lsn()).max(self.replayed_upto);
        self.control.state = ClusterState::ShutDownInRecovery;
        self.control.time = self.now;
    }

    /// Ends recovery on `timeline`, branching at the end of the last record
    /// replayed: transactions left open are aborted, an END_OF_RECOVERY
    /// record starts the new timeline, and writes are allowed again.
    /// Returns the switchpoint.
    pub fn promote(&mut self, timeline: TimeLineId) -> Result<Lsn> {
        if !self.in_recovery {
            return Err(DbError::new(
                crate::error::code::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "recovery is not in progress",
            ));
        }
        let switchpoint = self.replayed_upto;
        let previous = self.wal.timeline();
        self.wal.begin_timeline(timeline, switchpoint);
        for xid in std::mem::take(&mut self.data.running) {
            self.data.clog.set(xid, XactStatus::Aborted);
        }
        self.data.catalog_writers.clear();
        self.data.catalog_generation += 1;
        self.catalog_cache = None;
        self.oid_logged_limit = self.data.next_oid;
        self.in_recovery = false;
        self.control.timeline = timeline;
        self.control.state = ClusterState::InProduction;
        self.reset_unlogged_relations();
        self.log(
            0,
            RecordBody::Xlog(XlogRecord::EndOfRecovery {
                timeline,
                prev_timeline: previous,
                time: self.now,
            }),
        )?;
        self.wal.flush(self.wal.insert_lsn());
        self.checkpoint(false);
        Ok(switchpoint)
    }
}

impl Database {
    /// PostgreSQL's `ResetUnloggedRelations`: every unlogged table, index and sequence goes
    /// back to its init fork (empty; a sequence at its start), as crash recovery and the end
    /// of archive recovery do. What the WAL never carried cannot be recovered.
    pub(crate) fn reset_unlogged_relations(&mut self) {
        if self.data.storage.unlogged.is_empty() {
            return;
        }
        self.catalog_cache = None;
        let catalog = self.committed_catalog().ok();
        let lsn = self.wal.insert_lsn();
        let unlogged: Vec<_> = self.data.storage.unlogged.iter().copied().collect();
        for locator in unlogged {
            let storage = &mut self.data.storage;
            storage
                .relations
                .insert(locator, crate::heap::Relation::default());
            let Some(catalog) = &catalog else { continue };
            if let Some(sequence) = catalog.sequences.values().find(|s| s.locator == locator) {
                let start = crate::heap::SequenceState {
                    last_value: sequence.start,
                    log_cnt: 0,
                    is_called: false,
                    lsn,
                };
                storage.sequences.insert(locator, start);
            }
            let index = catalog.tables.values().find_map(|table| {
                let index = table.indexes.iter().find(|i| i.locator == locator)?;
                Some(index.empty_meta(table))
            });
            if let Some(meta) = index {
                let empty = crate::btree::BtreeIndex {
                    meta,
                    meta_lsn: lsn,
                    pages: Vec::new(),
                };
                storage.indexes.insert(locator, empty);
            }
        }
    }

    /// A base backup's copy of the data: an unlogged relation's main fork is left out (its
    /// init fork is copied), so the copy holds it empty.
    pub(crate) fn without_unlogged_data(data: &DataState) -> DataState {
        let mut data = data.clone();
        for locator in data.storage.unlogged.clone() {
            data.storage
                .relations
                .insert(locator, crate::heap::Relation::default());
            data.storage.sequences.remove(&locator);
            if let Some(index) = data.storage.indexes.get_mut(&locator) {
                index.meta.root = pgplay_wal::btree::P_NONE;
                index.meta.level = 0;
                index.pages.clear();
            }
        }
        data
    }
}
