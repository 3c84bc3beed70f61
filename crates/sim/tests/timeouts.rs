//! Bounded statements and sessions on the simulated cluster: a statement's work costs simulated
//! time, so `statement_timeout` ends a long one at the same point on every run and the cluster
//! lives through what it cost; `idle_in_transaction_session_timeout` and `idle_session_timeout`
//! end idle sessions on the node's timers. The messages are PostgreSQL 15's (checked with psql).

use pgplay_engine::interrupt::WORK_UNIT_MICROS;
use pgplay_engine::{Outcome, SessionId, StatementResult};
use pgplay_sim::{Sim, MS};

fn outcome(results: &[StatementResult]) -> Result<String, String> {
    match &results.last().expect("one statement").outcome {
        Ok(Outcome::Rows { rows, .. }) => Ok(rows[0][0].clone().unwrap_or_default()),
        Ok(Outcome::Command { tag }) => Ok(tag.clone()),
        Err(error) => Err(format!(
            "{}:  {} ({})",
            error.severity, error.message, error.code
        )),
    }
}

fn run(sim: &mut Sim, session: SessionId, sql: &str) -> Result<String, String> {
    outcome(&sim.execute("primary", session, sql))
}

/// A primary with a table of 2,000 rows.
fn cluster() -> (Sim, SessionId) {
    let mut sim = Sim::standard(5, 5432);
    let session = sim.open_session("primary").unwrap();
    let values: Vec<String> = (0..50).map(|i| format!("({i})")).collect();
    run(&mut sim, session, "CREATE TABLE s (x int)").unwrap();
    run(
        &mut sim,
        session,
        &format!("INSERT INTO s VALUES {}", values.join(",")),
    )
    .unwrap();
    run(&mut sim, session, "CREATE TABLE big (x int)").unwrap();
    let fill = "INSERT INTO big SELECT a.x * 100 + b.x FROM s a, s b WHERE a.x < 40";
    assert_eq!(run(&mut sim, session, fill).unwrap(), "INSERT 0 2000");
    (sim, session)
}

fn log(sim: &mut Sim) -> Vec<String> {
    sim.node_mut("primary").unwrap().log().cloned().collect()
}

/// The session's next statement learns that the server ended it for `why`, which the server logged.
fn assert_ended_by(sim: &mut Sim, session: SessionId, why: &str, code: &str) {
    let fatal = format!("FATAL:  terminating connection due to {why}");
    assert_eq!(
        run(sim, session, "SELECT 1"),
        Err(format!("{fatal} ({code})"))
    );
    assert!(log(sim).contains(&fatal), "{:?}", log(sim));
}

const LONG: &str = "SELECT count(*) FROM big a, big b";

#[test]
fn statement_timeout_stops_a_long_statement_at_the_same_simulated_time_on_every_run() {
    let mut ends = Vec::new();
    for _ in 0..2 {
        let (mut sim, session) = cluster();
        run(&mut sim, session, "SET statement_timeout = '10ms'").unwrap();
        let before = sim.now;
        assert_eq!(
            run(&mut sim, session, LONG),
            Err("ERROR:  canceling statement due to statement timeout (57014)".into())
        );
        // The statement took its timeout; the cluster went on meanwhile.
        assert_eq!(sim.now - before, 10 * MS);
        ends.push(sim.now);
    }
    assert_eq!(ends[0], ends[1]);
}

#[test]
fn a_statement_that_finishes_costs_its_work_in_simulated_time() {
    let (mut sim, session) = cluster();
    let before = sim.now;
    assert_eq!(
        run(&mut sim, session, "SELECT count(*) FROM big").unwrap(),
        "2000"
    );
    // At least the scan: a unit of work for each row.
    assert!(
        sim.now - before >= 2000 * WORK_UNIT_MICROS,
        "{}",
        sim.now - before
    );
    assert!(sim.now - before < 20 * MS, "{}", sim.now - before);
}

#[test]
fn idle_in_transaction_session_timeout_ends_the_session_and_rolls_back() {
    let (mut sim, session) = cluster();
    run(
        &mut sim,
        session,
        "SET idle_in_transaction_session_timeout = '100ms'",
    )
    .unwrap();
    run(&mut sim, session, "BEGIN").unwrap();
    // Statements closer together than the timeout, and a sleep longer than it, are not idle.
    for _ in 0..5 {
        sim.run_for(60 * MS);
        run(&mut sim, session, "INSERT INTO s VALUES (-1)").unwrap();
    }
    run(&mut sim, session, "SELECT pg_sleep(0.5)").unwrap();
    sim.run_for(150 * MS);
    assert_ended_by(&mut sim, session, "idle-in-transaction timeout", "25P03");
    // The next statement runs in a new backend: the transaction was rolled back, the settings
    // are the defaults again.
    assert_eq!(
        run(&mut sim, session, "SELECT count(*) FROM s WHERE x < 0"),
        Ok("0".into())
    );
    assert_eq!(
        run(
            &mut sim,
            session,
            "SHOW idle_in_transaction_session_timeout"
        ),
        Ok("0".into())
    );
}

#[test]
fn idle_session_timeout_ends_a_session_idle_outside_a_transaction() {
    let (mut sim, session) = cluster();
    run(&mut sim, session, "SET idle_session_timeout = '100ms'").unwrap();
    sim.run_for(90 * MS);
    assert_eq!(run(&mut sim, session, "SELECT 1"), Ok("1".into()));
    // Inside a transaction block, only idle_in_transaction_session_timeout counts.
    run(&mut sim, session, "BEGIN").unwrap();
    sim.run_for(500 * MS);
    run(&mut sim, session, "COMMIT").unwrap();
    sim.run_for(101 * MS);
    assert_ended_by(&mut sim, session, "idle-session timeout", "57P05");
    assert_eq!(run(&mut sim, session, "SELECT 2"), Ok("2".into()));
}

#[test]
fn psql_reports_the_lost_connection_and_reconnects_as_at_a_terminal() {
    let (mut sim, _) = cluster();
    let mut psql = sim.node_mut("primary").unwrap().connect();
    for line in ["SET idle_in_transaction_session_timeout = 200;", "BEGIN;"] {
        sim.psql_line("primary", &mut psql, line);
    }
    sim.run_for(500 * MS);
    // What psql 15 printed at a terminal for the same input.
    assert_eq!(
        sim.psql_line("primary", &mut psql, "SELECT 7;"),
        "FATAL:  terminating connection due to idle-in-transaction timeout\n\
         server closed the connection unexpectedly\n\
         \tThis probably means the server terminated abnormally\n\
         \tbefore or while processing the request.\n\
         The connection to the server was lost. Attempting reset: Succeeded.\n"
    );
    assert_eq!(
        sim.psql_line("primary", &mut psql, "SELECT 8;"),
        " ?column? \n----------\n        8\n(1 row)\n\n"
    );
}
