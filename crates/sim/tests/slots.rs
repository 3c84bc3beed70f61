//! Replication slots on the simulated cluster, checked through what a
//! learner sees: the logs of both ends when a standby names a slot that is
//! missing or taken (PostgreSQL 15's lines), and a slot that follows its
//! standby.

use pgplay_engine::Outcome;
use pgplay_sim::{Sim, SECOND};

fn sql(sim: &mut Sim, node: &str, text: &str) -> Vec<Vec<Option<String>>> {
    let session = sim.open_session(node).expect("node exists");
    match &sim
        .execute(node, session, text)
        .last()
        .expect("a result")
        .outcome
    {
        Ok(Outcome::Rows { rows, .. }) => rows.clone(),
        Ok(Outcome::Command { .. }) => Vec::new(),
        Err(error) => panic!("{node}: {text}: {error}"),
    }
}

fn log(sim: &mut Sim, node: &str) -> Vec<String> {
    sim.node_mut(node).unwrap().log().cloned().collect()
}

fn use_slot(sim: &mut Sim, standby: &str, slot: &str) {
    sql(
        sim,
        standby,
        &format!("ALTER SYSTEM SET primary_slot_name = '{slot}'"),
    );
    sql(sim, standby, "SELECT pg_reload_conf()");
    sim.run_for(SECOND);
}

#[test]
fn a_missing_slot_is_refused_at_both_ends() {
    let mut sim = Sim::standard(3, 5432);
    use_slot(&mut sim, "standby1", "nope");
    let standby = log(&mut sim, "standby1");
    assert!(
        standby.iter().any(|l| l
            == "FATAL:  could not start WAL streaming: ERROR:  replication slot \"nope\" does not exist"),
        "{standby:#?}"
    );
    let primary = log(&mut sim, "primary");
    assert!(
        primary.iter().any(|l| l.starts_with(
            "ERROR:  replication slot \"nope\" does not exist\nSTATEMENT:  START_REPLICATION SLOT \"nope\" 0/"
        )),
        "{primary:#?}"
    );
    assert!(!sim.node("standby1").unwrap().is_streaming());
}

#[test]
fn a_slot_serves_one_standby_and_follows_it() {
    let mut sim = Sim::standard(3, 5432);
    sql(
        &mut sim,
        "primary",
        "SELECT pg_create_physical_replication_slot('shared')",
    );
    use_slot(&mut sim, "standby1", "shared");
    use_slot(&mut sim, "standby2", "shared");
    let standby2 = log(&mut sim, "standby2");
    assert!(
        standby2.iter().any(|l| l.starts_with(
            "FATAL:  could not start WAL streaming: ERROR:  replication slot \"shared\" is active for PID "
        )),
        "{standby2:#?}"
    );
    sql(&mut sim, "primary", "CREATE TABLE t (x int)");
    sim.run_for(SECOND);
    let rows = sql(
        &mut sim,
        "primary",
        "SELECT restart_lsn = pg_current_wal_lsn(), active FROM pg_replication_slots",
    );
    assert_eq!(rows, [[Some("t".to_string()), Some("t".to_string())]]);
    let rows = sql(
        &mut sim,
        "standby1",
        "SELECT slot_name FROM pg_stat_wal_receiver",
    );
    assert_eq!(rows, [[Some("shared".to_string())]]);
    // A slot is the server's own: not replicated, and kept across a restart.
    assert!(sql(&mut sim, "standby1", "SELECT * FROM pg_replication_slots").is_empty());
    sim.run_command("pg_ctl -D primary restart").unwrap();
    let rows = sql(
        &mut sim,
        "primary",
        "SELECT slot_name FROM pg_replication_slots",
    );
    assert_eq!(rows, [[Some("shared".to_string())]]);
}

/// max_slot_wal_keep_size: a standby that cannot confirm (partitioned)
/// while more than that is written loses its slot at the next checkpoint;
/// its walsender is terminated, as PostgreSQL 15 does.
#[test]
fn a_slot_past_max_slot_wal_keep_size_is_invalidated() {
    let mut sim = Sim::standard(3, 5432);
    for sql_text in [
        "ALTER SYSTEM SET max_slot_wal_keep_size = 0",
        "SELECT pg_reload_conf()",
        "SELECT pg_create_physical_replication_slot('standby1_slot')",
        "CREATE TABLE t (x int)",
    ] {
        sql(&mut sim, "primary", sql_text);
    }
    use_slot(&mut sim, "standby1", "standby1_slot");
    sim.partition("primary", "standby1");
    for _ in 0..2 {
        sql(&mut sim, "primary", "INSERT INTO t VALUES (1)");
        sql(&mut sim, "primary", "SELECT pg_switch_wal()");
    }
    sql(&mut sim, "primary", "CHECKPOINT");
    let lines = log(&mut sim, "primary");
    assert!(
        lines.iter().any(|l| l
            .starts_with("LOG:  invalidating slot \"standby1_slot\" because its restart_lsn 0/")
            && l.ends_with(" exceeds max_slot_wal_keep_size")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("LOG:  terminating process ")
                && l.ends_with(" to release replication slot \"standby1_slot\"")),
        "{lines:#?}"
    );
    let rows = sql(
        &mut sim,
        "primary",
        "SELECT wal_status, restart_lsn IS NULL FROM pg_replication_slots",
    );
    assert_eq!(rows, [[Some("lost".to_string()), Some("t".to_string())]]);
}
