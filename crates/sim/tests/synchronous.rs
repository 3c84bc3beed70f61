//! Synchronous replication on the simulated cluster: a commit waits for its
//! synchronous standby, stays invisible to other sessions meanwhile, and is
//! released by the standby's reply, by a cancel (with PostgreSQL's WARNING)
//! or by a shutdown. Every expected line was checked on PostgreSQL 15.

use pgplay_engine::{Outcome, StatementResult};
use pgplay_sim::{Sim, SECOND, SYNC_WAIT_LIMIT};

fn rows(results: &[StatementResult]) -> Vec<Vec<Option<String>>> {
    match &results.last().expect("one statement").outcome {
        Ok(Outcome::Rows { rows, .. }) => rows.clone(),
        Ok(Outcome::Command { .. }) => Vec::new(),
        Err(error) => panic!("{error}"),
    }
}

fn count(sim: &mut Sim, node: &str) -> String {
    let session = sim.open_session(node).expect("node exists");
    let results = sim.execute(node, session, "SELECT count(*) FROM t");
    rows(&results)[0][0].clone().unwrap_or_default()
}

/// A cluster where standby1 is the only synchronous standby.
fn synchronous_cluster() -> Sim {
    let mut sim = Sim::standard(11, 5432);
    let session = sim.open_session("primary").unwrap();
    for sql in [
        "CREATE TABLE t (id int PRIMARY KEY)",
        "ALTER SYSTEM SET synchronous_standby_names = 'standby1'",
        "SELECT pg_reload_conf()",
    ] {
        rows(&sim.execute("primary", session, sql));
    }
    sim.run_for(SECOND / 2);
    sim
}

fn log(sim: &mut Sim, node: &str) -> Vec<String> {
    sim.node_mut(node).unwrap().log().cloned().collect()
}

/// An INSERT sent straight to the primary, so that nothing runs the cluster
/// meanwhile: its backend is left waiting for the synchronous standby.
fn waiting_insert(sim: &mut Sim) -> pgplay_engine::SessionId {
    let now = sim.now;
    let primary = sim.node_mut("primary").unwrap();
    let writer = primary.db.open_session();
    let held = primary.execute(now, writer, "INSERT INTO t VALUES (1)");
    assert!(held.is_empty(), "the INSERT answered at once: {held:?}");
    assert!(primary.is_waiting(writer));
    sim.drain("primary");
    writer
}

#[test]
fn a_commit_waits_unseen_until_the_synchronous_standby_flushes_it() {
    let mut sim = synchronous_cluster();
    sim.run_command("pg_ctl -D standby1 -m fast stop").unwrap();
    sim.run_for(SECOND / 2);

    let writer = waiting_insert(&mut sim);

    // Committed locally, yet no other session sees it while its backend waits.
    sim.run_for(5 * SECOND);
    assert_eq!(count(&mut sim, "primary"), "0");
    // standby2 is asynchronous: it has replayed the commit already.
    assert_eq!(count(&mut sim, "standby2"), "1");

    sim.run_command("pg_ctl -D standby1 start").unwrap();
    sim.run_for(2 * SECOND);
    let primary = sim.node_mut("primary").unwrap();
    assert!(!primary.is_waiting(writer));
    let released = primary.take_released(writer).expect("released");
    assert!(
        matches!(&released[0].outcome, Ok(Outcome::Command { tag }) if tag == "INSERT 0 1"),
        "{released:?}"
    );
    assert!(released[0].notices.is_empty());
    assert_eq!(count(&mut sim, "primary"), "1");
    assert!(
        log(&mut sim, "primary")
            .iter()
            .any(|l| l == "LOG:  standby \"standby1\" is now a synchronous standby with priority 1"),
        "{:#?}",
        log(&mut sim, "primary")
    );
}

#[test]
fn psql_cancels_a_wait_that_nothing_can_end_and_the_commit_stands() {
    let mut sim = synchronous_cluster();
    sim.run_command("pg_ctl -D standby1 -m fast stop").unwrap();
    let mut psql = sim.node_mut("primary").unwrap().connect();
    let started = sim.now;
    let out = sim.psql_line("primary", &mut psql, "INSERT INTO t VALUES (1); SELECT 42;");
    assert_eq!(
        out,
        "-- pgplay: no synchronous standby confirmed the commit in 60 s; cancelling, as Ctrl+C in psql would\n\
         Cancel request sent\n\
         WARNING:  canceling wait for synchronous replication due to user request\n\
         DETAIL:  The transaction has already committed locally, but might not have been replicated to the standby.\n\
         INSERT 0 1\n \
         ?column? \n\
         ----------\n       \
         42\n\
         (1 row)\n\n"
    );
    assert!(sim.now >= started + SYNC_WAIT_LIMIT);
    assert_eq!(count(&mut sim, "primary"), "1");
    assert!(log(&mut sim, "primary")
        .iter()
        .any(|l| l == "WARNING:  canceling wait for synchronous replication due to user request"));
}

#[test]
fn a_shutdown_terminates_waiting_backends() {
    let mut sim = synchronous_cluster();
    sim.run_command("pg_ctl -D standby1 -m fast stop").unwrap();
    let writer = waiting_insert(&mut sim);
    sim.run_command("pg_ctl -D primary -m fast stop").unwrap();
    let released = sim
        .node_mut("primary")
        .unwrap()
        .take_released(writer)
        .expect("terminated");
    let result = &released[0];
    assert_eq!(
        result.notices[0].message,
        "canceling the wait for synchronous replication and terminating connection due to administrator command"
    );
    let error = result.outcome.as_ref().expect_err("terminated");
    assert_eq!(
        (error.severity, error.code, error.message.as_str()),
        (
            "FATAL",
            "57P01",
            "terminating connection due to administrator command"
        )
    );
    // The commit was flushed before the wait: it survives the restart.
    sim.run_command("pg_ctl -D primary start").unwrap();
    assert_eq!(count(&mut sim, "primary"), "1");
}

#[test]
fn emptying_the_setting_releases_every_waiter() {
    let mut sim = synchronous_cluster();
    sim.run_command("pg_ctl -D standby1 -m fast stop").unwrap();
    let writer = waiting_insert(&mut sim);
    let now = sim.now;
    let primary = sim.node_mut("primary").unwrap();
    let admin = primary.db.open_session();
    primary.execute(now, admin, "ALTER SYSTEM RESET synchronous_standby_names");
    primary.execute(now, admin, "SELECT pg_reload_conf()");
    let released = primary.take_released(writer).expect("released");
    assert!(released[0].notices.is_empty(), "{released:?}");
    assert_eq!(count(&mut sim, "primary"), "1");
}

#[test]
fn a_waiting_backend_takes_no_second_statement() {
    let mut sim = synchronous_cluster();
    sim.run_command("pg_ctl -D standby1 -m fast stop").unwrap();
    let writer = waiting_insert(&mut sim);
    let now = sim.now;
    let primary = sim.node_mut("primary").unwrap();
    let refused = primary.execute(now, writer, "INSERT INTO t VALUES (2)");
    let error = refused[0].outcome.as_ref().expect_err("busy");
    assert_eq!(error.message, "another command is already in progress");
    // The first INSERT still waits, and stays the only one.
    assert!(primary.is_waiting(writer));
    primary.cancel_wait(writer);
    assert_eq!(count(&mut sim, "primary"), "1");
}

/// From another session: pg_stat_activity shows the wait (IPC, SyncRep), and
/// pg_cancel_backend() ends it with the same WARNING as psql's Ctrl+C.
#[test]
fn another_session_sees_the_wait_and_cancels_it() {
    let mut sim = synchronous_cluster();
    sim.run_command("pg_ctl -D standby1 -m fast stop").unwrap();
    let writer = waiting_insert(&mut sim);
    let admin = sim.open_session("primary").unwrap();
    let seen = rows(&sim.execute(
        "primary",
        admin,
        "SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity WHERE wait_event = 'SyncRep'",
    ));
    let pid = seen[0][0].clone().unwrap();
    assert_eq!(
        seen[0][1..].to_vec(),
        ["active", "IPC", "SyncRep", "INSERT INTO t VALUES (1)"].map(|s| Some(s.to_string()))
    );
    let cancelled = rows(&sim.execute(
        "primary",
        admin,
        &format!("SELECT pg_cancel_backend({pid})"),
    ));
    assert_eq!(cancelled[0][0].as_deref(), Some("t"));
    let released = sim
        .node_mut("primary")
        .unwrap()
        .take_released(writer)
        .expect("released");
    assert_eq!(
        released[0].notices[0].message,
        "canceling wait for synchronous replication due to user request"
    );
    assert_eq!(count(&mut sim, "primary"), "1");
}

#[test]
fn a_backend_released_from_its_wait_is_idle_and_its_idle_timeout_runs() {
    let mut sim = synchronous_cluster();
    sim.run_command("pg_ctl -D standby1 -m fast stop").unwrap();
    sim.run_for(SECOND / 2);
    let now = sim.now;
    let primary = sim.node_mut("primary").unwrap();
    let writer = primary.db.open_session();
    rows(&primary.execute(now, writer, "SET idle_session_timeout = '100ms'"));
    assert!(primary
        .execute(now, writer, "INSERT INTO t VALUES (1)")
        .is_empty());
    primary.cancel_wait(writer);
    let released = primary.take_released(writer).expect("the wait ended");
    assert!(released.iter().all(|r| r.outcome.is_ok()), "{released:?}");
    sim.run_for(SECOND / 2);
    assert!(
        log(&mut sim, "primary")
            .contains(&"FATAL:  terminating connection due to idle-session timeout".into()),
        "{:?}",
        log(&mut sim, "primary")
    );
}
