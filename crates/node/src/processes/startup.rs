//! The startup process: replays WAL. At `pg_ctl start` it runs crash
//! recovery or a standby's start (the engine's `recover` and
//! `start_standby`); on a running standby it replays what the walreceiver
//! (or the archive) brought, holding back commits for
//! `recovery_min_apply_delay`, stopping while replay is paused and waiting
//! for (then cancelling) the queries a record conflicts with
//! (`recovery_conflict`), then reports the replay position upstream, lets cascading walsenders ship
//! what arrived, and removes old WAL after a restartpoint.
//!
//! All three run the engine's one replay loop (`Database::replay_wal`) and
//! map its ends the same way: a record that cannot be read is logged
//! (`ReplayRun::stop_line`, once) and replay waits there; a record whose
//! redo fails is the startup process's PANIC (`ReplayFailure::log_line`)
//! and the server does not start, or goes down ([`Node::startup_failed`]).

use pgplay_engine::setting;
use pgplay_engine::ReplayFailure;
use pgplay_wal::time::Timestamp;
use pgplay_wal::{Record, RecordBody, TransactionRecord};

use super::micros_from_ms;
use crate::{Node, RunState};

impl Node {
    /// The startup process: replay every complete record received so far,
    /// then tell upstream how far we got.
    pub(crate) fn replay_received(&mut self, now: Timestamp) {
        let delay = micros_from_ms(self.setting_i64(setting!("recovery_min_apply_delay")));
        self.replay_with_delay(now, delay);
    }

    /// Replays, holding back each commit younger than `delay` and each record
    /// that removes rows a standby query may still need (until the conflict
    /// is resolved: the query ends, or is cancelled after the delay).
    pub(crate) fn replay_with_delay(&mut self, now: Timestamp, delay: Timestamp) {
        self.replay_delayed_until = None;
        let restartpoint = self.db.control.redo;
        self.db.now = now;
        let run = loop {
            // No statement runs while replay does, so the oldest snapshot
            // holds for the whole call.
            let oldest_snapshot = self.oldest_snapshot_xmin();
            // ... and the relations readers hold locks on.
            let locked: Vec<u32> = self
                .db
                .sessions
                .values()
                .flat_map(|s| s.relation_locks.iter().map(|l| l.relation))
                .collect();
            let mut held_until = None;
            let mut conflict: Option<Record> = None;
            let hold = |record: &Record| match &record.body {
                // recovery_min_apply_delay: a commit waits until it is that old.
                RecordBody::Transaction(TransactionRecord::Commit { time, .. })
                    if delay > 0 && now < time.saturating_add(delay) =>
                {
                    held_until = Some(time.saturating_add(delay));
                    true
                }
                _ => {
                    let conflicts = pgplay_engine::redo::conflict_horizon(record)
                        .zip(oldest_snapshot)
                        .is_some_and(|(horizon, xmin)| xmin <= horizon)
                        || matches!(
                            &record.body,
                            RecordBody::Standby(pgplay_wal::StandbyRecord::Lock(locks))
                                if locks.iter().any(|l| locked.contains(&l.relation))
                        );
                    if conflicts {
                        conflict = Some(record.clone());
                    }
                    conflicts
                }
            };
            let run = match self.db.replay_wal(hold) {
                Ok(run) => run,
                Err(failure) => {
                    self.startup_failed(now, &failure);
                    return;
                }
            };
            self.replay_delayed_until = held_until;
            match conflict {
                // VACUUM's cleanup waits for the queries that still need the rows;
                // once they are cancelled, replay goes on.
                Some(record)
                    if self.resolve_recovery_conflict(now, self.db.replayed_upto, &record) =>
                {
                    continue
                }
                _ => break run,
            }
        };
        if let Some(line) = run.stop_line() {
            // What PostgreSQL logs when the next record is not there yet or is torn.
            if self.last_replay_error.as_ref() != Some(&line) {
                self.push_log(line.clone());
                self.last_replay_error = Some(line);
            }
        }
        let replayed = self.db.replayed_upto;
        self.with_receiver(now, |r, _, _| r.report(now, replayed, false));
        self.send_standby_feedback(now);
        // Cascading: what we received may go on to our own standbys.
        self.poll_senders(now);
        if self.db.control.redo != restartpoint {
            // A restartpoint removes old WAL as a checkpoint does; timers
            // alone would not, as a busy stream keeps postponing them.
            self.recycle_wal();
        }
    }

    /// hot_standby_feedback: tells the upstream the oldest xid this standby
    /// still needs (nothing when the setting is off), after each replay and
    /// at once when the configuration is reloaded, as PostgreSQL's
    /// walreceiver does.
    pub(crate) fn send_standby_feedback(&mut self, now: Timestamp) {
        let xmin = (self.db.settings.value_of(setting!("hot_standby_feedback")) == "on")
            .then(|| pgplay_engine::vacuum::oldest_xmin(&self.db));
        self.with_receiver(now, |r, _, _| r.feedback(now, xmin));
    }

    /// The redo of a record failed on a running standby: the startup
    /// process dies with a PANIC, and the postmaster takes the whole server
    /// down with it (what it had not flushed is lost, as in a crash). At
    /// `pg_ctl start` the same failure keeps the server from starting.
    pub(crate) fn startup_failed(&mut self, now: Timestamp, failure: &ReplayFailure) {
        self.push_log(failure.log_line());
        if self.state != RunState::Running {
            return;
        }
        self.go_down(now);
        // Its pid as pg_stat_activity showed it (the third auxiliary process
        // of a standby, see `process_rows`).
        let pid = 1000 + (self.id as i32 % 1000) * 1000 - 8;
        self.push_log(format!(
            "LOG:  startup process (PID {pid}) was terminated by signal 6: Aborted"
        ));
        for line in [
            "LOG:  terminating any other active server processes",
            "LOG:  shutting down due to startup process failure",
            "LOG:  database system is shut down",
        ] {
            self.push_log(line.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use pgplay_wal::{HeapRecord, Lsn, Record, RecordBody, RelFileLocator};

    use crate::{Node, RecoveryConf};

    /// A record no redo can apply: it deletes from a relation that does not exist.
    fn append_broken_record(node: &mut Node) {
        node.db.wal.insert(Record {
            xid: 900,
            prev: Lsn::INVALID,
            body: RecordBody::Heap(HeapRecord::Delete {
                relation: RelFileLocator {
                    tablespace: 1663,
                    database: 5,
                    relation: 99_999,
                },
                block: 0,
                offset: 1,
                command_id: 0,
            }),
        });
        let end = node.db.wal.insert_lsn();
        node.db.wal.flush(end);
    }

    const PANIC: &str = "PANIC:  WAL contains references to invalid pages: rel 1663/5/99999 blk 0";

    #[test]
    fn a_redo_failure_at_crash_recovery_keeps_the_server_down() {
        let mut node = Node::initdb("primary", 1, None, 0);
        append_broken_record(&mut node);
        node.crash(1);
        let error = node.start(2).unwrap_err();
        assert_eq!(error, format!("{PANIC}\npg_ctl: could not start server"));
        assert!(node.log().any(|l| l == PANIC));
        assert!(!node.is_running());
    }

    #[test]
    fn a_redo_failure_while_streaming_takes_the_standby_down() {
        let mut primary = Node::initdb("primary", 1, None, 0);
        let mut standby = primary
            .base_backup(1, "standby", "postgres", None, RecoveryConf::Written)
            .unwrap();
        standby.place(2, 5433);
        standby.start(2).unwrap();
        append_broken_record(&mut standby);
        standby.replay_received(3);
        assert!(!standby.is_running());
        let log: Vec<String> = standby.log().cloned().collect();
        let from = log
            .iter()
            .position(|l| l == PANIC)
            .expect("the PANIC is logged");
        assert_eq!(
            log[from + 1..],
            [
                "LOG:  startup process (PID 2992) was terminated by signal 6: Aborted",
                "LOG:  terminating any other active server processes",
                "LOG:  shutting down due to startup process failure",
                "LOG:  database system is shut down",
            ]
        );
    }

    #[test]
    fn a_standby_start_replays_with_the_same_loop_and_reaches_consistency() {
        let mut primary = Node::initdb("primary", 1, None, 0);
        let mut standby = primary
            .base_backup(1, "standby", "postgres", None, RecoveryConf::Written)
            .unwrap();
        standby.start(2).unwrap();
        let log: Vec<String> = standby.log().cloned().collect();
        assert!(
            log.iter()
                .any(|l| l.starts_with("LOG:  completed backup recovery with redo LSN")),
            "{log:?}"
        );
        assert_eq!(standby.db.control.backup_start, None);
    }
}
