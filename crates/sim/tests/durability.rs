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

fn log(sim: &mut Sim, node: &str) -> Vec<String> {
    sim.node_mut(node).unwrap().log().cloned().collect()
}

fn has(lines: &[String], wanted: &str) -> bool {
    lines.iter().any(|l| l.contains(wanted))
}

/// A standard cluster whose data directories are kept outside the nodes,
/// with 50 committed rows and a restartpoint on the standbys.
fn kept_cluster(seed: u64) -> Sim {
    let mut sim = Sim::standard(seed, 5432);
    sim.keep_data_directories();
    let session = sim.open_session("primary").unwrap();
    sim.execute("primary", session, "CREATE TABLE t (id int)");
    for id in 0..40 {
        sim.execute("primary", session, &format!("INSERT INTO t VALUES ({id})"));
    }
    sim.execute("primary", session, "CHECKPOINT");
    for id in 40..50 {
        sim.execute("primary", session, &format!("INSERT INTO t VALUES ({id})"));
    }
    sim.run_for(SECOND);
    sim
}

/// The primary's process dies with its memory: rebuilt from its kept files,
/// it runs crash recovery, keeps every flushed commit and its system
/// identifier, and its standbys stream from it again.
#[test]
fn a_primary_whose_process_is_lost_recovers_from_its_files_and_keeps_its_standbys() {
    let mut sim = kept_cluster(31);
    let identifier = sim.node("primary").unwrap().db.control.system_identifier;
    let session = sim.open_session("primary").unwrap();
    sim.execute("primary", session, "SET synchronous_commit = off");
    sim.execute("primary", session, "INSERT INTO t VALUES (1000)");
    sim.lose_process("primary").unwrap();
    let lines = log(&mut sim, "primary");
    for wanted in [
        "LOG:  database system was interrupted; last known up at",
        "LOG:  database system was not properly shut down; automatic recovery in progress",
        "LOG:  redo starts at",
        "LOG:  redo done at",
        "LOG:  database system is ready to accept connections",
    ] {
        assert!(has(&lines, wanted), "{wanted}: {lines:#?}");
    }
    assert_eq!(
        count(&mut sim, "primary", "t"),
        "50",
        "the unflushed commit is lost"
    );
    let primary = sim.node("primary").unwrap();
    assert_eq!(primary.db.control.system_identifier, identifier);
    let session = sim.open_session("primary").unwrap();
    sim.execute("primary", session, "INSERT INTO t VALUES (50)");
    sim.run_for(10 * SECOND);
    for standby in ["standby1", "standby2"] {
        assert_eq!(count(&mut sim, standby, "t"), "51", "{standby}");
        assert!(!has(&log(&mut sim, standby), "system identifier differs"));
        assert_eq!(
            sim.node(standby).unwrap().status().receiver,
            Some("streaming")
        );
    }
}

/// A standby's process dies: rebuilt from its files (not by a new base
/// backup) it recovers from its last restartpoint and resumes streaming,
/// the same as a crash and a restart of the same server.
#[test]
fn a_standby_whose_process_is_lost_recovers_like_a_crashed_one_and_streams_again() {
    let mut lost = kept_cluster(32);
    let mut crashed = kept_cluster(32);
    let before = log(&mut crashed, "standby1").len();
    lost.lose_process("standby1").unwrap();
    crashed.crash("standby1").unwrap();
    crashed.start("standby1").unwrap();
    let crashed_lines: Vec<String> = log(&mut crashed, "standby1").split_off(before + 1);
    let lost_lines = log(&mut lost, "standby1");
    assert_eq!(lost_lines, crashed_lines);
    assert!(
        has(&lost_lines, "LOG:  entering standby mode"),
        "{lost_lines:#?}"
    );
    assert!(
        !has(&lost_lines, "starting backup recovery"),
        "not a base backup"
    );
    let (a, b) = (
        lost.node("standby1").unwrap(),
        crashed.node("standby1").unwrap(),
    );
    assert_eq!(a.db.data, b.db.data);
    assert_eq!(a.db.control, b.db.control);
    assert_eq!(a.db.wal.flush_lsn(), b.db.wal.flush_lsn());
    assert_eq!(a.db.checkpoint_data(), b.db.checkpoint_data());
    let session = lost.open_session("primary").unwrap();
    lost.execute("primary", session, "INSERT INTO t VALUES (50)");
    lost.run_for(10 * SECOND);
    assert_eq!(count(&mut lost, "standby1", "t"), "51");
    assert_eq!(
        lost.node("standby1").unwrap().status().receiver,
        Some("streaming")
    );
}

/// A promoted standby's files carry its new timeline and history file; a
/// stopped node's copy stays stopped and starts from its clean shutdown.
#[test]
fn lost_processes_come_back_on_their_timeline_and_in_their_state() {
    let mut sim = kept_cluster(33);
    sim.promote("standby1").unwrap();
    let session = sim.open_session("standby1").unwrap();
    sim.execute("standby1", session, "INSERT INTO t VALUES (100)");
    sim.lose_process("standby1").unwrap();
    let promoted = sim.node("standby1").unwrap();
    assert!(promoted.is_running() && !promoted.is_standby());
    assert_eq!(promoted.db.wal.timeline().0, 2);
    assert!(promoted
        .pg_wal_listing()
        .contains(&"00000002.history".to_string()));
    assert_eq!(count(&mut sim, "standby1", "t"), "51");

    sim.stop("standby2", pgplay_node::StopMode::Fast).unwrap();
    sim.lose_process("standby2").unwrap();
    assert!(!sim.node("standby2").unwrap().is_running());
    sim.start("standby2").unwrap();
    let lines = log(&mut sim, "standby2");
    assert!(
        has(&lines, "LOG:  database system was shut down in recovery at"),
        "{lines:#?}"
    );
    assert!(!has(&lines, "automatic recovery in progress"));
    assert_eq!(count(&mut sim, "standby2", "t"), "50");
}
