//! Asynchronous commits and the commit log on the simulated cluster: the
//! WAL writer streams `synchronous_commit = off` commits within
//! `wal_writer_delay`, and standbys that truncate their commit log at
//! restartpoints still answer for every tuple they hold.

use pgplay_engine::{Outcome, StatementResult};
use pgplay_sim::{Sim, MS, SECOND};

fn rows(results: &[StatementResult]) -> Vec<Vec<Option<String>>> {
    match &results.last().expect("one statement").outcome {
        Ok(Outcome::Rows { rows, .. }) => rows.clone(),
        Ok(Outcome::Command { .. }) => Vec::new(),
        Err(error) => panic!("{error}"),
    }
}

fn count(sim: &mut Sim, node: &str, table: &str) -> String {
    let session = sim.open_session(node).expect("node exists");
    let results = sim.execute(node, session, &format!("SELECT count(*) FROM {table}"));
    rows(&results)[0][0].clone().unwrap_or_default()
}

#[test]
fn an_asynchronous_commit_reaches_the_standbys_within_wal_writer_delay() {
    let mut sim = Sim::standard(21, 5432);
    let session = sim.open_session("primary").unwrap();
    for sql in ["CREATE TABLE t (id int)", "SET synchronous_commit = off"] {
        sim.execute("primary", session, sql);
    }
    sim.run_for(SECOND);
    sim.execute("primary", session, "INSERT INTO t VALUES (1)");
    sim.run_for(100 * MS);
    assert_eq!(count(&mut sim, "standby1", "t"), "0", "not flushed yet");
    sim.run_for(110 * MS);
    assert_eq!(count(&mut sim, "standby1", "t"), "1");
    assert_eq!(count(&mut sim, "standby2", "t"), "1");
}

/// A transaction that took an xid on the primary before a checkpoint but
/// logged nothing until after it stays in progress on the standby that
/// truncated its commit log at the restartpoint.
#[test]
fn a_standby_truncating_its_commit_log_keeps_open_transactions_in_progress() {
    let mut sim = Sim::standard(22, 5432);
    let (open, busy) = (
        sim.open_session("primary").unwrap(),
        sim.open_session("primary").unwrap(),
    );
    sim.execute("primary", busy, "CREATE TABLE t (id int)");
    sim.execute("primary", busy, "CREATE TABLE u (id int)");
    rows(&sim.execute("primary", open, "BEGIN; SELECT txid_current()"));
    for id in 0..50 {
        sim.execute("primary", busy, &format!("INSERT INTO t VALUES ({id})"));
    }
    sim.execute("primary", busy, "TRUNCATE t");
    sim.execute("primary", busy, "CHECKPOINT");
    sim.run_for(SECOND);
    sim.execute("primary", open, "INSERT INTO u VALUES (1)");
    sim.run_for(SECOND);
    sim.execute("primary", busy, "CHECKPOINT");
    sim.run_for(SECOND);
    assert_eq!(count(&mut sim, "standby1", "u"), "0", "still uncommitted");
    sim.execute("primary", open, "COMMIT");
    sim.run_for(SECOND);
    assert_eq!(count(&mut sim, "standby1", "u"), "1");
    sim.crash("standby1").unwrap();
    sim.start("standby1").unwrap();
    sim.run_for(SECOND);
    assert_eq!(count(&mut sim, "standby1", "u"), "1");
    assert_eq!(count(&mut sim, "standby1", "t"), "0");
}
