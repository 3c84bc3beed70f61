//! The startup process of a standby: replays the WAL the walreceiver (or
//! the archive) brought, in small batches, holding back commits for
//! `recovery_min_apply_delay` and stopping while replay is paused; then
//! waits for (then cancels) the queries that conflict with a record
//! (`recovery_conflict`); then reports the replay position upstream, lets cascading walsenders ship
//! what arrived, and removes old WAL after a restartpoint.

use pgplay_wal::time::Timestamp;
use pgplay_wal::{RecordBody, TransactionRecord};

use super::micros_from_ms;
use crate::Node;

/// Records replayed per batch while catching up (keeps each step small).
const REPLAY_BATCH: usize = 512;

impl Node {
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
                // VACUUM's cleanup waits for the queries that still need the rows.
                if !self.resolve_recovery_conflict(now, read.lsn, &read.record) {
                    break 'replay;
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
        // hot_standby_feedback: the oldest xid this standby still needs.
        let xmin = (self.db.settings.get("hot_standby_feedback") == "on")
            .then(|| pgplay_engine::vacuum::oldest_xmin(&self.db));
        self.with_receiver(now, |r, _, _| r.feedback(now, xmin));
        // Cascading: what we received may go on to our own standbys.
        self.poll_senders(now);
        if self.db.control.redo != restartpoint {
            // A restartpoint removes old WAL as a checkpoint does; timers
            // alone would not, as a busy stream keeps postponing them.
            self.recycle_wal();
        }
    }
}
