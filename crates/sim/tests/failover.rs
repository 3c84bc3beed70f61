//! Failover on the simulated cluster, checked through what a learner sees:
//! query results and the server logs.

use pgplay_engine::Outcome;
use pgplay_sim::{check, Sim, SECOND};

fn query(sim: &mut Sim, node: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let session = sim.open_session(node).expect("node exists");
    let results = sim.execute(node, session, sql);
    match &results.last().expect("one statement").outcome {
        Ok(Outcome::Rows { rows, .. }) => rows.clone(),
        Ok(Outcome::Command { .. }) => Vec::new(),
        Err(error) => panic!("{node}: {sql}: {error}"),
    }
}

fn one(sim: &mut Sim, node: &str, sql: &str) -> String {
    query(sim, node, sql)[0][0].clone().unwrap_or_default()
}

fn log(sim: &mut Sim, node: &str) -> Vec<String> {
    sim.node_mut(node).unwrap().log().cloned().collect()
}

fn has(lines: &[String], wanted: &str) -> bool {
    lines.iter().any(|l| l.contains(wanted))
}

fn cluster_with_rows() -> Sim {
    let mut sim = Sim::standard(7, 5432);
    query(
        &mut sim,
        "primary",
        "CREATE TABLE t (id int PRIMARY KEY, v text)",
    );
    query(&mut sim, "primary", "INSERT INTO t VALUES (1, 'before')");
    sim.run_for(SECOND / 2);
    sim
}

#[test]
fn switchover_moves_every_node_to_the_new_timeline() {
    let mut sim = cluster_with_rows();
    sim.run_command("pg_ctl -D primary -m fast stop").unwrap();
    sim.run_for(SECOND / 2);
    assert_eq!(one(&mut sim, "standby1", "SELECT pg_promote()"), "t");
    let promoted = log(&mut sim, "standby1");
    for line in [
        "LOG:  received promote request",
        "LOG:  selected new timeline ID: 2",
        "LOG:  archive recovery complete",
        "LOG:  database system is ready to accept connections",
    ] {
        assert!(
            has(&promoted, line),
            "standby1 log lacks {line:?}: {promoted:#?}"
        );
    }
    let history = sim.node("standby1").unwrap().history_files[&pgplay_wal::TimeLineId(2)].clone();
    assert!(history.starts_with("1\t0/"), "{history}");
    assert!(
        history.ends_with("\tno recovery target specified\n"),
        "{history}"
    );
    query(&mut sim, "standby1", "INSERT INTO t VALUES (2, 'after')");

    query(&mut sim, "standby2", "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=5433 user=postgres application_name=standby2'");
    query(&mut sim, "standby2", "SELECT pg_reload_conf()");
    sim.run_for(2 * SECOND);
    assert_eq!(one(&mut sim, "standby2", "SELECT count(*) FROM t"), "2");
    let repointed = log(&mut sim, "standby2");
    for line in [
        "LOG:  fetching timeline history file for timeline 2 from primary server",
        "LOG:  replication terminated by primary server",
        "LOG:  new target timeline is 2",
        "LOG:  restarted WAL streaming at",
    ] {
        assert!(
            has(&repointed, line),
            "standby2 log lacks {line:?}: {repointed:#?}"
        );
    }

    sim.run_command("touch primary/standby.signal").unwrap();
    sim.run_command("echo \"primary_conninfo = 'host=127.0.0.1 port=5433 application_name=primary'\" >> primary/postgresql.auto.conf").unwrap();
    sim.run_command("pg_ctl -D primary start").unwrap();
    sim.run_for(2 * SECOND);
    assert_eq!(one(&mut sim, "primary", "SELECT count(*) FROM t"), "2");
    assert_eq!(one(&mut sim, "primary", "SELECT pg_is_in_recovery()"), "t");
    assert_eq!(check::all(&sim), Ok(()));
    assert_eq!(check::wal_prefix_full(&sim), Ok(()));
    assert_eq!(check::caught_up(&sim), Ok(()));
}

#[test]
fn a_diverged_old_primary_cannot_follow_until_rebuilt() {
    let mut sim = cluster_with_rows();
    // Split brain: standby1 is promoted while the old primary keeps writing.
    assert_eq!(one(&mut sim, "standby1", "SELECT pg_promote()"), "t");
    query(&mut sim, "primary", "INSERT INTO t VALUES (3, 'lost')");
    sim.run_for(SECOND / 2);
    sim.run_command("pg_ctl -D primary -m fast stop").unwrap();
    sim.run_command("touch primary/standby.signal").unwrap();
    sim.run_command(
        "echo \"primary_conninfo = 'host=127.0.0.1 port=5433'\" >> primary/postgresql.auto.conf",
    )
    .unwrap();
    sim.run_command("pg_ctl -D primary start").unwrap();
    sim.run_for(6 * SECOND);
    let lines = log(&mut sim, "primary");
    assert!(
        has(&lines, "LOG:  new timeline 2 forked off current database system timeline 1 before current recovery point"),
        "{lines:#?}"
    );
    // It keeps its own diverged row and never streams from standby1.
    assert_eq!(one(&mut sim, "primary", "SELECT count(*) FROM t"), "2");
    assert!(!sim.node("primary").unwrap().is_streaming());
}

#[test]
fn a_crashed_standby_recovers_and_catches_up() {
    let mut sim = cluster_with_rows();
    sim.run_command("pg_ctl -D standby1 -m immediate stop")
        .unwrap();
    for i in 10..20 {
        query(
            &mut sim,
            "primary",
            &format!("INSERT INTO t VALUES ({i}, 'while down')"),
        );
    }
    assert_eq!(one(&mut sim, "standby2", "SELECT count(*) FROM t"), "1");
    sim.run_for(SECOND);
    assert_eq!(one(&mut sim, "standby2", "SELECT count(*) FROM t"), "11");
    sim.run_command("pg_ctl -D standby1 start").unwrap();
    sim.run_for(SECOND);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "11");
    let lines = log(&mut sim, "standby1");
    assert!(
        has(&lines, "database system was interrupted while in recovery"),
        "{lines:#?}"
    );
    assert_eq!(check::caught_up(&sim), Ok(()));
    assert_eq!(check::all(&sim), Ok(()));
}

#[test]
fn a_standby_waits_for_a_stopped_primary_and_resumes() {
    let mut sim = cluster_with_rows();
    sim.run_command("pg_ctl -D primary -m fast stop").unwrap();
    sim.run_for(12 * SECOND);
    let lines = log(&mut sim, "standby1");
    assert!(has(&lines, "FATAL:  could not connect to the primary server: connection to server at \"127.0.0.1\", port 5432 failed: Connection refused"), "{lines:#?}");
    assert!(query(&mut sim, "standby1", "SELECT * FROM pg_stat_wal_receiver").is_empty());
    sim.run_command("pg_ctl -D primary start").unwrap();
    query(&mut sim, "primary", "INSERT INTO t VALUES (2, 'back')");
    sim.run_for(6 * SECOND);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "2");
    assert_eq!(
        one(
            &mut sim,
            "standby1",
            "SELECT status FROM pg_stat_wal_receiver"
        ),
        "streaming"
    );
}

#[test]
fn pg_hba_and_max_wal_senders_refuse_standbys_with_postgres_messages() {
    let mut sim = cluster_with_rows();
    let primary = sim.node_mut("primary").unwrap();
    primary.files.pg_hba_conf = "host all all 127.0.0.1/32 trust\n".into();
    primary
        .append_config("postgresql.conf", "max_wal_senders = 1")
        .unwrap();
    sim.run_command("pg_ctl -D primary restart").unwrap();
    sim.run_for(6 * SECOND);
    let lines = log(&mut sim, "standby1");
    assert!(has(&lines, "failed: FATAL:  no pg_hba.conf entry for replication connection from host \"127.0.0.1\", user \"postgres\", no encryption"), "{lines:#?}");
    let error = sim
        .run_command("pg_basebackup -h 127.0.0.1 -p 5432 -D standby3 -R")
        .unwrap_err();
    assert!(
        error.contains("no pg_hba.conf entry for replication connection"),
        "{error}"
    );
    sim.node_mut("primary").unwrap().files.pg_hba_conf =
        pgplay_replication::hba::DEFAULT_HBA.into();
    sim.run_command("pg_ctl -D primary reload").unwrap();
    sim.run_for(6 * SECOND);
    let lines = log(&mut sim, "standby2");
    let streaming = query(
        &mut sim,
        "primary",
        "SELECT count(*) FROM pg_stat_replication",
    );
    assert_eq!(streaming[0][0].as_deref(), Some("1"));
    let refused = has(
        &lines,
        "number of requested standby connections exceeds max_wal_senders (currently 1)",
    ) || has(
        &log(&mut sim, "standby1"),
        "number of requested standby connections exceeds max_wal_senders (currently 1)",
    );
    assert!(refused, "one standby must be refused");
}

#[test]
fn pg_basebackup_adds_a_standby_that_catches_up() {
    let mut sim = cluster_with_rows();
    sim.run_command("pg_basebackup -h 127.0.0.1 -p 5432 -D standby3 -R -X stream")
        .unwrap();
    sim.run_command("pg_ctl -D standby3 start").unwrap();
    query(&mut sim, "primary", "INSERT INTO t VALUES (2, 'later')");
    sim.run_for(SECOND);
    assert_eq!(one(&mut sim, "standby3", "SELECT count(*) FROM t"), "2");
    let names = query(
        &mut sim,
        "primary",
        "SELECT application_name FROM pg_stat_replication ORDER BY 1",
    );
    let names: Vec<_> = names.into_iter().map(|r| r[0].clone().unwrap()).collect();
    // As on PostgreSQL 15: -R writes no application_name, so the walreceiver
    // connects under its default name.
    assert_eq!(names, ["standby1", "standby2", "walreceiver"]);
}

#[test]
fn a_standby_cut_off_too_long_finds_its_wal_removed_unless_wal_keep_size_keeps_it() {
    for keep in [None, Some("'64MB'")] {
        let mut sim = cluster_with_rows();
        if let Some(size) = keep {
            sim.node_mut("primary")
                .unwrap()
                .append_config("postgresql.conf", &format!("wal_keep_size = {size}"))
                .unwrap();
            sim.run_command("pg_ctl -D primary reload").unwrap();
        }
        sim.partition("primary", "standby1");
        for i in 0..3 {
            query(
                &mut sim,
                "primary",
                &format!("INSERT INTO t VALUES ({}, 'x')", 100 + i),
            );
            query(&mut sim, "primary", "SELECT pg_switch_wal()");
        }
        query(&mut sim, "primary", "CHECKPOINT");
        sim.run_for(SECOND);
        sim.cut("primary", "standby1");
        sim.heal("primary", "standby1");
        sim.run_for(12 * SECOND);
        let lines = log(&mut sim, "standby1");
        let removed = has(&lines, "has already been removed");
        match keep {
            None => {
                assert!(removed, "{lines:#?}");
                assert!(check::caught_up(&sim).is_err());
            }
            Some(_) => {
                assert!(!removed, "{lines:#?}");
                assert_eq!(check::caught_up(&sim), Ok(()));
            }
        }
    }
}

#[test]
fn wal_stays_bounded_over_long_streaming() {
    let segment = pgplay_wal::SegmentSize::new(1 << 20).unwrap();
    let mut sim = Sim::new(3)
        .with_segment_size(segment)
        .with_standard_cluster(5432);
    query(
        &mut sim,
        "primary",
        "CREATE TABLE t (id int PRIMARY KEY, v text)",
    );
    let session = sim.open_session("primary").unwrap();
    // 12 simulated minutes, 20 commits a second: about 2.5 MB of WAL, two timed checkpoints.
    for i in 0..14_400 {
        sim.execute(
            "primary",
            session,
            &format!("INSERT INTO t VALUES ({i}, 'a row of some length')"),
        );
        sim.run_for(SECOND / 20);
    }
    assert!(has(
        &log(&mut sim, "primary"),
        "LOG:  checkpoint starting: time"
    ));
    for node in ["primary", "standby1", "standby2"] {
        let segments = sim.node(node).unwrap().db.wal.segment_files().len();
        assert!(segments <= 4, "{node} keeps {segments} segments");
    }
    assert_eq!(check::caught_up(&sim), Ok(()));
    assert_eq!(check::all(&sim), Ok(()));
}

/// `ls NODE` shows PostgreSQL 15's data directory layout, with the files
/// that come and go: backup_label until a copy first starts, standby.signal,
/// postmaster.pid while the server runs.
#[test]
fn ls_shows_the_data_directory_as_it_changes() {
    let mut sim = Sim::standard(8, 5432);
    let primary = sim.run_command("ls primary").unwrap();
    assert!(
        primary.starts_with("PG_VERSION\nbase\nglobal\n"),
        "{primary}"
    );
    assert!(primary.contains("\npg_wal\n") && primary.ends_with("\npostmaster.pid"));
    assert!(!primary.contains("standby.signal") && !primary.contains("backup_label"));

    sim.run_command("pg_basebackup -h 127.0.0.1 -p 5432 -D standby3 -R")
        .unwrap();
    let copy = sim.run_command("ls standby3").unwrap();
    assert!(copy.contains("PG_VERSION\nbackup_label\nbase\n"), "{copy}");
    assert!(copy.ends_with("\nstandby.signal") && !copy.contains("postmaster.pid"));

    sim.run_command("pg_ctl -D standby3 start").unwrap();
    sim.run_for(SECOND);
    let started = sim.run_command("ls standby3/").unwrap();
    assert!(!started.contains("backup_label"), "{started}");
    assert!(
        started.ends_with("postmaster.pid\nstandby.signal"),
        "{started}"
    );
    assert!(sim
        .run_command("ls standby3/base")
        .unwrap_err()
        .contains("pgplay lists only NODE and NODE/pg_wal"));
}

/// Seen on PostgreSQL 15: a base backup taken while the standbys are still
/// reconnecting after a primary restart checkpoints away the segment they
/// resume from. START_REPLICATION succeeds; the walsender then fails on
/// reading, and the primary logs the command it was running.
#[test]
fn a_base_backup_during_reconnection_removes_the_segment_standbys_resume_from() {
    let mut sim = cluster_with_rows();
    sim.run_command("pg_ctl -D primary restart").unwrap();
    sim.run_command("pg_basebackup -h 127.0.0.1 -p 5432 -D standby3 -R")
        .unwrap();
    sim.run_for(8 * SECOND);
    let standby = log(&mut sim, "standby1");
    let started = standby
        .iter()
        .rposition(|l| l.starts_with("LOG:  started streaming WAL from primary at"))
        .expect("START_REPLICATION succeeds");
    assert!(
        standby[started + 1].starts_with(
            "FATAL:  could not receive data from WAL stream: ERROR:  requested WAL segment"
        ) && standby[started + 1].ends_with("has already been removed"),
        "{standby:#?}"
    );
    let primary = log(&mut sim, "primary");
    assert!(
        has(&primary, "STATEMENT:  START_REPLICATION 0/"),
        "{primary:#?}"
    );
    assert!(check::caught_up(&sim).is_err());
}

/// Nothing written for five minutes: each walreceiver asks its walsender
/// for a reply at half of wal_receiver_timeout, so no link times out.
#[test]
fn an_idle_cluster_keeps_streaming() {
    let mut sim = cluster_with_rows();
    sim.run_for(300 * SECOND);
    for standby in ["standby1", "standby2"] {
        let lines = log(&mut sim, standby);
        assert!(
            !has(&lines, "terminating walreceiver due to timeout"),
            "{standby}: {lines:#?}"
        );
        assert!(sim.node(standby).unwrap().is_streaming());
    }
}

/// recovery_min_apply_delay: the commit arrives at once and is replayed when
/// it is old enough; lowering the delay with a reload applies it at once.
#[test]
fn a_delayed_standby_replays_commits_late() {
    let mut sim = cluster_with_rows();
    query(
        &mut sim,
        "standby1",
        "ALTER SYSTEM SET recovery_min_apply_delay = '1min'",
    );
    query(&mut sim, "standby1", "SELECT pg_reload_conf()");
    query(&mut sim, "primary", "INSERT INTO t VALUES (2, 'later')");
    sim.run_for(10 * SECOND);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "1");
    assert_eq!(one(&mut sim, "standby2", "SELECT count(*) FROM t"), "2");
    sim.run_for(55 * SECOND);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "2");
    query(&mut sim, "primary", "INSERT INTO t VALUES (3, 'reset')");
    sim.run_for(SECOND);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "2");
    query(
        &mut sim,
        "standby1",
        "ALTER SYSTEM RESET recovery_min_apply_delay",
    );
    query(&mut sim, "standby1", "SELECT pg_reload_conf()");
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "3");
}

/// A new cluster in the old primary's place (what the page still does when a primary's worker
/// dies before the page holds its files):
/// `initdb` draws a new system identifier, and the old standbys refuse to stream its history
/// over theirs, as PostgreSQL's walreceiver does, instead of forking silently.
#[test]
fn a_standby_refuses_a_new_cluster_in_its_primarys_place() {
    let mut sim = cluster_with_rows();
    sim.add_primary("impostor", 5440);
    sim.run_for(SECOND / 2);
    query(
        &mut sim,
        "standby1",
        "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=5440 user=postgres application_name=standby1'",
    );
    query(&mut sim, "standby1", "SELECT pg_reload_conf()");
    sim.run_for(10 * SECOND);
    let lines = log(&mut sim, "standby1");
    assert!(
        has(
            &lines,
            "FATAL:  database system identifier differs between the primary and standby"
        ),
        "{lines:#?}"
    );
    // Nothing of the new cluster's history reached it; its own rows are intact.
    assert_eq!(one(&mut sim, "standby1", "SELECT v FROM t"), "before");
    assert_ne!(
        sim.node("standby1").unwrap().db.control.system_identifier,
        sim.node("impostor").unwrap().db.control.system_identifier
    );
}
