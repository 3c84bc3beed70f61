//! The benchmark workload, shared by its two drivers: `pgplay bench` (native, `crates/cli`) and
//! `pgplay-bench-wasm` (wasm in Node, `web/bench`). Each phase is one call here, and the driver
//! reads its own clock around it: this crate never reads one.
//!
//! The workload: a fresh server, `CREATE TABLE bench (id int PRIMARY KEY, payload text)`, then
//! `rows` single-row autocommit INSERTs (`0..rows`), then [`SCAN_SQL`] run [`SCANS`] times; then
//! the [`QUERIES`], each after its set-up, checked against the answer PostgreSQL gives.

use pgplay_engine::{DbError, Outcome, SessionId};

use crate::Node;

/// The table the workload creates.
pub const CREATE_SQL: &str = "CREATE TABLE bench (id int PRIMARY KEY, payload text)";

/// The scan: every row read, filtered and aggregated.
pub const SCAN_SQL: &str = "SELECT count(*), sum(id) FROM bench WHERE payload LIKE 'row%'";

/// How many times a driver runs the scan; it reports the mean.
pub const SCANS: usize = 10;

/// The INSERT for row `id`.
pub fn insert_sql(id: u64) -> String {
    format!("INSERT INTO bench VALUES ({id}, 'row {id}')")
}

/// A query the planner must do well, with the statements that set it up (not timed) and the
/// first value of its answer, or its command tag, as PostgreSQL 15 gives it.
pub struct QueryBench {
    pub name: &'static str,
    pub setup: &'static [&'static str],
    pub sql: &'static str,
    pub expect: &'static str,
}

impl QueryBench {
    /// How many times a driver runs it and keeps the best: once for a write (it adds rows).
    pub fn runs(&self) -> u32 {
        if self.sql.starts_with("INSERT") {
            1
        } else {
            3
        }
    }
}

/// The planner's benchmarks: a series inserted, an equality join, a grouped window query, a
/// series inserted into a primary key, and a lookup by that key against the same by a scan.
pub const QUERIES: &[QueryBench] = &[
    QueryBench {
        name: "100,000-row generate_series INSERT",
        setup: &["CREATE TABLE series (x int)"],
        sql: "INSERT INTO series SELECT generate_series(1, 100000)",
        expect: "INSERT 0 100000",
    },
    QueryBench {
        name: "join of two 10,000-row tables on equality",
        setup: &[
            "CREATE TABLE ja (x int, y int)",
            "INSERT INTO ja SELECT g, g % 7 FROM generate_series(1, 10000) g",
            "CREATE TABLE jb (x int, z text)",
            "INSERT INTO jb SELECT g, 'z' || g FROM generate_series(1, 10000) g",
        ],
        sql: "SELECT count(*) FROM ja JOIN jb ON ja.x = jb.x",
        expect: "10000",
    },
    QueryBench {
        name: "grouped window query over 10,000 rows",
        setup: &[],
        sql: "SELECT count(*) FROM (SELECT row_number() OVER (PARTITION BY y ORDER BY x) AS r FROM ja) s WHERE r = 1",
        expect: "7",
    },
    QueryBench {
        name: "100,000-row INSERT into a table with a primary key",
        setup: &["CREATE TABLE keyed (x int PRIMARY KEY)"],
        sql: "INSERT INTO keyed SELECT generate_series(1, 100000)",
        expect: "INSERT 0 100000",
    },
    QueryBench {
        name: "lookup by primary key in 100,000 rows (Index Scan)",
        setup: &[],
        sql: "SELECT count(*) FROM keyed WHERE x = 77777",
        expect: "1",
    },
    QueryBench {
        name: "the same lookup by sequential scan",
        setup: &[],
        sql: "SELECT count(*) FROM keyed WHERE x + 0 = 77777",
        expect: "1",
    },
];

/// A server with the `bench` table and one session on it.
pub struct Bench {
    pub node: Node,
    session: SessionId,
}

/// What one scan returned: `count(*)` and `sum(id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanResult {
    pub count: u64,
    pub sum: u64,
}

impl Bench {
    /// `initdb` (time 0, system identifier 1) and `CREATE TABLE bench`.
    pub fn new() -> Result<Bench, DbError> {
        let mut node = Node::initdb("bench", 1, None, 0);
        let session = node.db.open_session();
        let mut bench = Bench { node, session };
        bench.run(CREATE_SQL)?;
        Ok(bench)
    }

    /// Rows `0..rows`, one autocommit INSERT each. Stops at the first error.
    pub fn insert_rows(&mut self, rows: u64) -> Result<(), DbError> {
        for id in 0..rows {
            self.run(&insert_sql(id))?;
        }
        Ok(())
    }

    /// One run of [`SCAN_SQL`].
    pub fn scan(&mut self) -> Result<ScanResult, DbError> {
        let outcome = self.run(SCAN_SQL)?;
        let row = match &outcome {
            Outcome::Rows { rows, .. } if rows.len() == 1 && rows[0].len() == 2 => &rows[0],
            _ => return Err(unexpected(&format!("{outcome:?}"))),
        };
        // sum(int) of no rows is NULL.
        let number = |cell: &Option<String>| match cell {
            None => Ok(0),
            Some(text) => text.parse::<u64>().map_err(|_| unexpected(text)),
        };
        Ok(ScanResult {
            count: number(&row[0])?,
            sum: number(&row[1])?,
        })
    }

    /// Bytes of WAL written since the first segment began.
    pub fn wal_bytes(&self) -> u64 {
        let wal = &self.node.db.wal;
        wal.insert_lsn().0 - wal.segment_size().segment_start(1).0
    }

    /// The statements [`QueryBench::setup`] lists for `QUERIES[index]`.
    pub fn prepare_query(&mut self, index: usize) -> Result<(), DbError> {
        let query = QUERIES
            .get(index)
            .ok_or_else(|| unexpected("no such query"))?;
        for sql in query.setup {
            self.run(sql)?;
        }
        Ok(())
    }

    /// Runs `QUERIES[index]` once and checks its answer.
    pub fn run_query(&mut self, index: usize) -> Result<(), DbError> {
        let query = QUERIES
            .get(index)
            .ok_or_else(|| unexpected("no such query"))?;
        let answer = match self.run(query.sql)? {
            Outcome::Rows { rows, .. } => rows
                .first()
                .and_then(|row| row.first())
                .cloned()
                .flatten()
                .unwrap_or_default(),
            Outcome::Command { tag } => tag,
        };
        if answer != query.expect {
            return Err(unexpected(&format!("{}: {answer}", query.name)));
        }
        Ok(())
    }

    /// Runs one statement; its outcome, or its error.
    fn run(&mut self, sql: &str) -> Result<Outcome, DbError> {
        let mut results = self.node.execute(0, self.session, sql);
        match results.pop() {
            Some(result) => result.outcome,
            None => Err(unexpected(sql)),
        }
    }
}

/// What [`ScanResult`] should be after `insert_rows(rows)`.
pub fn expected_scan(rows: u64) -> ScanResult {
    ScanResult {
        count: rows,
        sum: rows * rows.saturating_sub(1) / 2,
    }
}

fn unexpected(what: &str) -> DbError {
    DbError::internal(format!("unexpected benchmark result: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_inserts_every_row_and_scan_sees_them() {
        let mut bench = Bench::new().unwrap();
        assert_eq!(bench.scan().unwrap(), expected_scan(0));
        bench.insert_rows(100).unwrap();
        assert_eq!(
            bench.scan().unwrap(),
            ScanResult {
                count: 100,
                sum: 4950
            }
        );
        assert_eq!(
            expected_scan(100),
            ScanResult {
                count: 100,
                sum: 4950
            }
        );
        assert!(bench.wal_bytes() > 0);
        // Each INSERT committed on its own: a second session sees every row.
        let other = bench.node.db.open_session();
        let results = bench.node.execute(0, other, "SELECT count(*) FROM bench");
        match &results[0].outcome {
            Ok(Outcome::Rows { rows, .. }) => assert_eq!(rows[0][0].as_deref(), Some("100")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_query_gives_postgresql_answer() {
        let mut bench = Bench::new().unwrap();
        for index in 0..QUERIES.len() {
            bench.prepare_query(index).unwrap();
            bench.run_query(index).unwrap();
        }
        assert!(bench.run_query(QUERIES.len()).is_err());
    }

    #[test]
    fn insert_errors_are_reported() {
        let mut bench = Bench::new().unwrap();
        bench.insert_rows(3).unwrap();
        // Row 0 again: a primary-key violation.
        let error = bench.insert_rows(1).unwrap_err();
        assert_eq!(error.code, "23505");
    }
}
