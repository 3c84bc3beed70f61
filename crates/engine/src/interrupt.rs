//! Bounded work per statement, the way PostgreSQL bounds it: `CHECK_FOR_INTERRUPTS()`.
//!
//! PostgreSQL's executor calls `CHECK_FOR_INTERRUPTS()` in every loop that can run long (scans,
//! joins, sorts, aggregates, inserts of many rows). It is a cheap test of a flag that signal
//! handlers set: a cancel request (psql's Ctrl+C, `pg_cancel_backend()`) or the
//! `statement_timeout` timer. Either ends the statement with `57014`.
//!
//! The engine has no clock and no signals, so the host supplies them: an [`InterruptSource`] on
//! the [`Database`](crate::Database) says how long the running statement has taken and whether
//! the user asked to cancel it. Every executor loop calls [`Interrupts::check`] once per row (one
//! *unit of work*): a counter and a branch; every [`CHECK_INTERVAL`] units it asks the source.
//!
//! Sources: [`NeverInterrupt`] (the default: statements are never stopped, except a `pg_sleep`
//! past `statement_timeout`), [`SimulatedClock`] (the simulator's: each unit of work costs
//! [`WORK_UNIT_MICROS`] of simulated time, so a timeout is reproducible and the clock moves by
//! what the statement cost) and, outside the core, the CLI's wall clock with its Ctrl+C flag and
//! the browser worker's `performance.now()`.

use crate::error::{code, DbError, Result};

/// Units of work between two questions to the host. A unit is about a microsecond of work in a
/// release build, so a timeout or a cancel is noticed within a millisecond or so.
pub const CHECK_INTERVAL: u32 = 1024;

/// What one unit of work (a row scanned, joined, sorted, aggregated or inserted) costs on the
/// simulator's clock.
pub const WORK_UNIT_MICROS: i64 = 1;

/// The host's side of `CHECK_FOR_INTERRUPTS()`: its clock and its cancel requests.
pub trait InterruptSource: Send {
    /// A statement starts; a source with a real clock notes the time.
    fn statement_started(&mut self) {}
    /// Microseconds the running statement has taken so far, after `work` units of work.
    fn elapsed_micros(&mut self, work: u64) -> i64;
    /// Microseconds of simulated time `work` units cost, which the driver lets pass after the
    /// statement (0 where time passes by itself).
    fn simulated_micros(&self, work: u64) -> i64 {
        let _ = work;
        0
    }
    /// Whether the user asked to cancel the running statement; asking consumes the request.
    fn take_cancel(&mut self) -> bool {
        false
    }
}

/// No clock and no cancel: statements run to the end.
#[derive(Clone, Copy, Debug, Default)]
pub struct NeverInterrupt;

impl InterruptSource for NeverInterrupt {
    fn elapsed_micros(&mut self, _work: u64) -> i64 {
        0
    }
}

/// The simulator's clock: work is time, [`WORK_UNIT_MICROS`] a unit.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimulatedClock;

impl InterruptSource for SimulatedClock {
    fn elapsed_micros(&mut self, work: u64) -> i64 {
        self.simulated_micros(work)
    }
    fn simulated_micros(&self, work: u64) -> i64 {
        i64::try_from(work)
            .unwrap_or(i64::MAX)
            .saturating_mul(WORK_UNIT_MICROS)
    }
}

/// `ERROR:  canceling statement due to statement timeout` (57014).
pub fn statement_timeout() -> DbError {
    DbError::new(
        code::QUERY_CANCELED,
        "canceling statement due to statement timeout",
    )
}

/// The running statement's meter: its work, its sleeps and its timeout, with the host's source.
pub struct Interrupts {
    source: Box<dyn InterruptSource>,
    /// Units of work of the running statement.
    work: u64,
    until_poll: u32,
    /// The running statement's `statement_timeout` in microseconds, 0 for none.
    timeout: i64,
    /// What `pg_sleep` asked to wait in the running statement.
    slept: i64,
    timed_out: bool,
    /// Simulated time the statements since the driver last asked have taken.
    taken: i64,
}

impl Default for Interrupts {
    fn default() -> Self {
        Interrupts::new(Box::new(NeverInterrupt))
    }
}

impl Interrupts {
    pub fn new(source: Box<dyn InterruptSource>) -> Interrupts {
        Interrupts {
            source,
            work: 0,
            until_poll: CHECK_INTERVAL,
            timeout: 0,
            slept: 0,
            timed_out: false,
            taken: 0,
        }
    }

    /// The host's source, from now on.
    pub fn set_source(&mut self, source: Box<dyn InterruptSource>) {
        self.source = source;
    }

    /// A statement starts under `statement_timeout = timeout_ms`.
    pub fn start_statement(&mut self, timeout_ms: i64) {
        self.work = 0;
        self.until_poll = CHECK_INTERVAL;
        self.timeout = timeout_ms.max(0).saturating_mul(1000);
        self.slept = 0;
        self.timed_out = false;
        self.source.statement_started();
    }

    /// The statement ended: what it cost is added to the time the driver lets pass. A timed-out
    /// statement took its timeout (the check that noticed may come a little later).
    pub fn finish_statement(&mut self) {
        let cost = self
            .source
            .simulated_micros(self.work)
            .saturating_add(self.slept);
        let cost = if self.timed_out {
            cost.min(self.timeout)
        } else {
            cost
        };
        self.taken = self.taken.saturating_add(cost);
    }

    /// `CHECK_FOR_INTERRUPTS()`: one unit of work done. Fails with 57014 when the host says to
    /// stop.
    #[inline]
    pub fn check(&mut self) -> Result<()> {
        self.work += 1;
        self.until_poll -= 1;
        if self.until_poll == 0 {
            return self.poll();
        }
        Ok(())
    }

    /// `units` of work at once (a sort's comparisons, counted by the caller).
    pub fn charge(&mut self, units: u64) -> Result<()> {
        self.work = self.work.saturating_add(units);
        self.poll()
    }

    #[cold]
    fn poll(&mut self) -> Result<()> {
        self.until_poll = CHECK_INTERVAL;
        if self.source.take_cancel() {
            return Err(DbError::canceled_by_user());
        }
        let elapsed = self.source.elapsed_micros(self.work);
        self.check_timeout(elapsed)
    }

    fn check_timeout(&mut self, elapsed: i64) -> Result<()> {
        if self.timeout > 0 && elapsed.saturating_add(self.slept) >= self.timeout {
            self.timed_out = true;
            return Err(statement_timeout());
        }
        Ok(())
    }

    /// `pg_sleep`: the driver lets the time pass after the statement; a sleep that reaches the
    /// statement's timeout ends it there.
    pub fn sleep(&mut self, micros: i64) -> Result<()> {
        self.slept = self.slept.saturating_add(micros.max(0));
        let elapsed = self.source.elapsed_micros(self.work);
        self.check_timeout(elapsed)
    }

    /// Units of work of the running (or last) statement.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Simulated time taken since the driver last took it, without taking it.
    pub fn time_taken(&self) -> i64 {
        self.taken
    }

    /// Simulated time the statements took (their sleeps and, on a simulated clock, their work),
    /// for the driver to let pass; it starts again from zero.
    pub fn take_time_taken(&mut self) -> i64 {
        std::mem::take(&mut self.taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Database, InitOptions, Outcome, SessionId};

    /// Rows in the test table: loops over them stay below the timeouts below, loops over
    /// pairs of them (or a sort's comparisons) do not.
    const N: usize = 2000;

    fn db() -> Database {
        Database::initdb(InitOptions {
            system_identifier: 1,
            segment_size: pgplay_wal::DEFAULT_SEGMENT_SIZE,
            now: 0,
        })
    }

    fn run(db: &mut Database, session: SessionId, sql: &str) -> crate::Result<Outcome> {
        let mut results = crate::sql::execute(db, session, sql);
        results.pop().expect("a result").outcome
    }

    /// A database whose table `t` holds 0..N in a shuffled order, under the simulated clock.
    fn table() -> (Database, SessionId) {
        let mut db = db();
        let session = db.open_session();
        let values: Vec<String> = (0..N).map(|i| format!("({})", i * 7919 % N)).collect();
        run(&mut db, session, "CREATE TABLE t (x int)").unwrap();
        run(&mut db, session, "CREATE TABLE u (x int)").unwrap();
        let insert = format!("INSERT INTO t VALUES {}", values.join(","));
        run(&mut db, session, &insert).unwrap();
        db.interrupts.set_source(Box::new(SimulatedClock));
        db.take_time_taken();
        (db, session)
    }

    fn timeout_error(db: &mut Database, session: SessionId, timeout: &str, sql: &str) -> String {
        run(db, session, &format!("SET statement_timeout = '{timeout}'")).unwrap();
        let outcome = run(db, session, sql);
        run(db, session, "RESET statement_timeout").unwrap();
        match outcome {
            Ok(_) => "finished".into(),
            Err(error) => format!("{}: {}", error.code, error.message),
        }
    }

    const TIMED_OUT: &str = "57014: canceling statement due to statement timeout";

    #[test]
    fn check_asks_the_source_once_per_interval() {
        struct Counting(std::sync::Arc<std::sync::atomic::AtomicU32>);
        impl InterruptSource for Counting {
            fn elapsed_micros(&mut self, _work: u64) -> i64 {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                0
            }
        }
        let polls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let mut interrupts = Interrupts::new(Box::new(Counting(polls.clone())));
        interrupts.start_statement(0);
        for _ in 0..CHECK_INTERVAL * 3 + 5 {
            interrupts.check().unwrap();
        }
        assert_eq!(polls.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert_eq!(interrupts.work(), u64::from(CHECK_INTERVAL * 3 + 5));
    }

    #[test]
    fn a_join_loop_is_timed_out() {
        let (mut db, session) = table();
        // The join evaluates N * N pairs and keeps none: only its inner loop can be long.
        let sql = "SELECT count(*) FROM t a JOIN t b ON a.x + b.x < 0";
        assert_eq!(timeout_error(&mut db, session, "10ms", sql), TIMED_OUT);
        // A timed-out statement took its timeout on the simulated clock.
        assert_eq!(db.take_time_taken(), 10_000);
        let sql = "SELECT count(*) FROM t a, t b WHERE a.x = b.x";
        assert_eq!(timeout_error(&mut db, session, "10ms", sql), TIMED_OUT);
    }

    #[test]
    fn a_sort_is_timed_out() {
        let (mut db, session) = table();
        // Scan, filter and select list: 3 * N units; the sort's comparisons: about N log2 N.
        let sql = "SELECT x FROM t ORDER BY x";
        assert_eq!(timeout_error(&mut db, session, "100ms", sql), "finished");
        // On the simulated clock a unit is a microsecond.
        let work = db.take_time_taken() as usize;
        assert!(work > 3 * N + 5 * N, "{work} units");
        assert_eq!(timeout_error(&mut db, session, "8ms", sql), TIMED_OUT);
    }

    #[test]
    fn a_sort_stopped_at_any_point_fails_cleanly() {
        // Once stopped, the sort still compares for real: comparing the rest as equal breaks
        // the total order, which the standard library's sort may answer with a panic.
        let (mut db, session) = table();
        for sql in [
            "SELECT x FROM t ORDER BY x",
            "SELECT x FROM t ORDER BY x % 97 DESC, x",
        ] {
            for timeout_ms in 7..=30 {
                let timeout = format!("{timeout_ms}ms");
                let outcome = timeout_error(&mut db, session, &timeout, sql);
                assert!(
                    outcome == TIMED_OUT || outcome == "finished",
                    "{sql} at {timeout}: {outcome}"
                );
            }
        }
    }

    #[test]
    fn inserts_updates_and_deletes_of_many_rows_are_timed_out() {
        let (mut db, session) = table();
        // The query feeding the insert is 3 * N units; inserting its rows is more.
        let insert = "INSERT INTO u SELECT x FROM t";
        assert_eq!(timeout_error(&mut db, session, "7ms", insert), TIMED_OUT);
        assert_eq!(timeout_error(&mut db, session, "1s", insert), "finished");
        // Finding the rows is 2 * N units; changing them is more.
        let update = "UPDATE u SET x = x + 1";
        assert_eq!(timeout_error(&mut db, session, "5ms", update), TIMED_OUT);
        assert_eq!(
            timeout_error(&mut db, session, "5ms", "DELETE FROM u"),
            TIMED_OUT
        );
        let count = run(&mut db, session, "SELECT count(*) FROM u WHERE x < 0");
        assert!(
            matches!(count, Ok(Outcome::Rows { rows, .. }) if rows == [[Some("0".to_string())]])
        );
    }

    #[test]
    fn grouping_distinct_and_aggregates_are_timed_out() {
        let (mut db, session) = table();
        // The scan is N units, feeding the aggregates or grouping N more, each group one and the
        // select list one a row: each timeout lets the stages before through and stops the
        // loop named.
        for (sql, timeout) in [
            ("SELECT x, count(*) FROM t GROUP BY x", "3ms"), // grouping the rows
            ("SELECT DISTINCT x FROM t", "5ms"),             // removing duplicates
            ("SELECT sum(x), max(x), min(x), avg(x) FROM t", "3ms"), // the aggregates
        ] {
            assert_eq!(timeout_error(&mut db, session, "1s", sql), "finished");
            assert_eq!(
                timeout_error(&mut db, session, timeout, sql),
                TIMED_OUT,
                "{sql}"
            );
        }
    }

    #[test]
    fn a_cancel_request_stops_the_statement_and_fails_its_transaction() {
        struct CancelAtOnce;
        impl InterruptSource for CancelAtOnce {
            fn elapsed_micros(&mut self, _work: u64) -> i64 {
                0
            }
            fn take_cancel(&mut self) -> bool {
                true
            }
        }
        let (mut db, session) = table();
        run(&mut db, session, "BEGIN").unwrap();
        db.interrupts.set_source(Box::new(CancelAtOnce));
        let error = run(&mut db, session, "SELECT count(*) FROM t a, t b").unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            ("57014", "canceling statement due to user request")
        );
        let error = run(&mut db, session, "SELECT 1").unwrap_err();
        assert_eq!(error.code, "25P02");
    }

    #[test]
    fn the_timeout_counts_each_statement_and_its_sleeps() {
        let (mut db, session) = table();
        run(&mut db, session, "SET statement_timeout = '50ms'").unwrap();
        // Each statement gets its own 50 ms (PostgreSQL 13 and later).
        let results = crate::sql::execute(
            &mut db,
            session,
            "SELECT pg_sleep(0.03); SELECT pg_sleep(0.03)",
        );
        assert!(results.iter().all(|r| r.outcome.is_ok()));
        assert_eq!(
            db.take_time_taken(),
            60_000 + 2 * db.interrupts.work() as i64
        );
        // Work and sleep add up.
        let error = run(&mut db, session, "SELECT count(*), pg_sleep(0.047) FROM t").unwrap_err();
        assert_eq!(
            error.message,
            "canceling statement due to statement timeout"
        );
        assert_eq!(db.take_time_taken(), 50_000);
    }
}
