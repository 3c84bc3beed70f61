//! The WAL writer: flushes what backends did not flush themselves.
//!
//! A commit under `synchronous_commit = off` (and every abort) returns
//! without flushing its record. Without a WAL writer that record would stay
//! unflushed until some later flush (a synchronous commit, a checkpoint),
//! so a crash could lose minutes of acknowledged commits, and standbys,
//! which are sent only flushed WAL, would not see them meanwhile.
//!
//! PostgreSQL's WAL writer bounds that window, and so does this one:
//! - `wal_writer_delay`: an unflushed commit or abort record is flushed at
//!   most this long after it was written (the deadline runs from the oldest
//!   one still unflushed, so under a steady load it flushes once per delay);
//! - `wal_writer_flush_after`: once that much WAL (in 8 kB blocks) is
//!   unflushed, it is flushed at once, after the statement that wrote it;
//!   `0` flushes after every statement.
//!
//! So a crash loses only asynchronous commits made within `wal_writer_delay`
//! before it, and less than `wal_writer_flush_after` of WAL. The node is
//! sans-IO: the deadline is a timer ([`Node::poll_timeout`]), carried out
//! by [`Node::handle_timeout`] like the checkpointer's.

use pgplay_engine::guc::WAL_BLOCK_BYTES;
use pgplay_engine::setting;
use pgplay_wal::time::Timestamp;

use crate::Node;

impl Node {
    /// When the WAL writer must next flush: `wal_writer_delay` after the
    /// oldest unflushed commit or abort record. None on a standby (its
    /// walreceiver flushes what it receives) or with nothing to flush.
    pub(crate) fn wal_writer_due(&self) -> Option<Timestamp> {
        if !self.is_running() || self.db.in_recovery {
            return None;
        }
        let since = self.db.unflushed_xacts_since()?;
        Some(since + self.setting_i64(setting!("wal_writer_delay")).max(1) * 1000)
    }

    /// The WAL writer's timer: flushes everything written once the oldest
    /// unflushed transaction end is `wal_writer_delay` old.
    pub(crate) fn wal_writer_timeout(&mut self, now: Timestamp) {
        if self.wal_writer_due().is_some_and(|due| now >= due) {
            self.wal_writer_flush();
        }
    }

    /// After a statement: flushes at once when `wal_writer_flush_after` of
    /// WAL is unflushed (always when it is 0).
    pub(crate) fn wal_writer_after_statement(&mut self) {
        if !self.is_running() || self.db.in_recovery {
            return;
        }
        let unflushed = self.db.wal.insert_lsn().0 - self.db.wal.flush_lsn().0;
        let limit = self.setting_i64(setting!("wal_writer_flush_after")).max(0) as u64
            * WAL_BLOCK_BYTES as u64;
        if unflushed > 0 && unflushed >= limit {
            self.wal_writer_flush();
        }
    }

    fn wal_writer_flush(&mut self) {
        let end = self.db.wal.insert_lsn();
        self.db.wal.flush(end);
    }
}

#[cfg(test)]
mod tests {
    use pgplay_engine::Outcome;

    use super::*;

    const MS: Timestamp = 1000;

    /// Fires the node's timers due up to `until`, as a driver would.
    fn run_timers(node: &mut Node, from: Timestamp, until: Timestamp) {
        let mut now = from;
        while let Some(due) = node.poll_timeout().filter(|due| *due <= until) {
            now = now.max(due);
            node.handle_timeout(now);
            while node.poll_output().is_some() {}
        }
    }

    fn ids(node: &mut Node, now: Timestamp) -> Vec<i64> {
        let session = node.db.open_session();
        let results = node.execute(now, session, "SELECT id FROM t ORDER BY id");
        let Ok(Outcome::Rows { rows, .. }) = &results[0].outcome else {
            panic!("{results:?}");
        };
        rows.iter()
            .map(|r| r[0].as_deref().unwrap().parse().unwrap())
            .collect()
    }

    /// `count` asynchronous single-row commits, one every `every`
    /// microseconds from t=0, timers run between them. Returns each
    /// commit's time.
    fn async_commits(node: &mut Node, count: i64, every: Timestamp) -> Vec<Timestamp> {
        let session = node.db.open_session();
        node.execute(0, session, "CREATE TABLE t (id int)");
        node.execute(0, session, "SET synchronous_commit = off");
        let mut times = Vec::new();
        for id in 0..count {
            let now = id * every;
            run_timers(node, times.last().copied().unwrap_or(0), now);
            let results = node.execute(now, session, &format!("INSERT INTO t VALUES ({id})"));
            assert!(results[0].outcome.is_ok(), "{results:?}");
            times.push(now);
        }
        times
    }

    #[test]
    fn asynchronous_commits_survive_a_crash_a_second_later() {
        let mut node = Node::initdb("primary", 1, None, 0);
        async_commits(&mut node, 2000, 0);
        assert!(
            node.db.wal.flush_lsn() < node.db.wal.insert_lsn(),
            "synchronous_commit = off left the commits unflushed"
        );
        run_timers(&mut node, 0, 1000 * MS);
        node.crash_and_restart(1000 * MS);
        let survived = ids(&mut node, 1000 * MS);
        assert!(
            survived == (0..2000).collect::<Vec<_>>(),
            "{} of 2000 commits survived",
            survived.len()
        );
    }

    #[test]
    fn a_crash_loses_only_commits_younger_than_wal_writer_delay() {
        let mut node = Node::initdb("primary", 1, None, 0);
        let delay = node.setting_i64(setting!("wal_writer_delay")) * MS;
        assert_eq!(delay, 200 * MS, "PostgreSQL's default");
        // 2,000 commits over one second, then a crash right after the last.
        let times = async_commits(&mut node, 2000, 500);
        let crash = *times.last().unwrap();
        node.crash_and_restart(crash);
        let survived = ids(&mut node, crash);
        let lost = times.len() - survived.len();
        assert_eq!(
            survived,
            (0..survived.len() as i64).collect::<Vec<_>>(),
            "the survivors are a prefix"
        );
        assert!(lost > 0, "the newest commits were not flushed yet");
        assert!(
            times[survived.len()..].iter().all(|t| crash - t <= delay),
            "lost {lost} commits, the oldest made {} ms before the crash",
            (crash - times[survived.len()]) / MS
        );
    }

    #[test]
    fn wal_writer_flush_after_bounds_the_unflushed_wal() {
        let mut node = Node::initdb("primary", 1, None, 0);
        node.append_config("postgresql.conf", "wal_writer_flush_after = 2")
            .unwrap();
        node.reload(0);
        async_commits(&mut node, 2000, 0);
        let unflushed = node.db.wal.insert_lsn().0 - node.db.wal.flush_lsn().0;
        assert!(
            unflushed < 2 * WAL_BLOCK_BYTES as u64,
            "{unflushed} bytes unflushed"
        );
    }
}
