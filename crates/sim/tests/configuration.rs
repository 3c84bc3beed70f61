//! Configuration files judged as PostgreSQL 15 judges them, through what a
//! learner sees: pg_ctl's output, the server log and query results. Every
//! expected line was taken from a real PostgreSQL 15 server given the same
//! file.

use pgplay_engine::Outcome;
use pgplay_sim::{Sim, SECOND};

fn query(sim: &mut Sim, node: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let session = sim.open_session(node).expect("node exists");
    let results = sim.execute(node, session, sql);
    match &results.last().expect("one statement").outcome {
        Ok(Outcome::Rows { rows, .. }) => Ok(rows.clone()),
        Ok(Outcome::Command { .. }) => Ok(Vec::new()),
        Err(error) => Err(format!(
            "{}:  {}{}",
            error.severity,
            error.message,
            error
                .detail
                .as_ref()
                .map(|d| format!("\nDETAIL:  {d}"))
                .unwrap_or_default()
        )),
    }
}

fn one(sim: &mut Sim, node: &str, sql: &str) -> String {
    query(sim, node, sql).unwrap()[0][0]
        .clone()
        .unwrap_or_default()
}

/// The log lines written since `from` lines were there.
fn log_since(sim: &mut Sim, node: &str, from: usize) -> Vec<String> {
    sim.node_mut(node)
        .unwrap()
        .log()
        .skip(from)
        .cloned()
        .collect()
}

fn log_len(sim: &mut Sim, node: &str) -> usize {
    sim.node_mut(node).unwrap().log().count()
}

#[test]
fn a_bad_value_in_a_file_stops_the_start_as_postgres_does() {
    let mut sim = Sim::standard(3, 5432);
    sim.run_command("echo \"max_wal_senders = '-5'\" >> primary/postgresql.auto.conf")
        .unwrap();
    let before = log_len(&mut sim, "primary");
    let error = sim.run_command("pg_ctl -D primary restart").unwrap_err();
    let fatal = [
        "LOG:  -5 is outside the valid range for parameter \"max_wal_senders\" (0 .. 262143)",
        "FATAL:  configuration file \"/var/lib/postgresql/primary/postgresql.auto.conf\" contains errors",
    ];
    assert!(
        error.ends_with(&format!(
            "waiting for server to start....{}\n stopped waiting\npg_ctl: could not start server\nExamine the log output.",
            fatal.join("\n")
        )),
        "{error}"
    );
    let lines = log_since(&mut sim, "primary", before);
    assert_eq!(&lines[lines.len() - 2..], fatal);
    assert!(!sim.node("primary").unwrap().is_running());
    // Repaired with ALTER SYSTEM's own file rewrite... which needs a server:
    // the learner edits the file, as on PostgreSQL.
    sim.run_command("printf '%s\\n' 'max_wal_senders = 5' > primary/postgresql.auto.conf")
        .unwrap();
    sim.run_command("pg_ctl -D primary start").unwrap();
    assert_eq!(one(&mut sim, "primary", "SHOW max_wal_senders"), "5");
}

#[test]
fn unknown_names_and_syntax_errors_in_postgresql_conf_stop_the_start() {
    for (line, logged) in [
        (
            "bogus_setting = 1",
            "LOG:  unrecognized configuration parameter \"bogus_setting\" in file \"/var/lib/postgresql/primary/postgresql.conf\" line 3",
        ),
        (
            "archive_command = 'cp %p /x",
            "LOG:  syntax error in file \"/var/lib/postgresql/primary/postgresql.conf\" line 3, near token \"'\"",
        ),
        (
            "port = 99999",
            "LOG:  99999 is outside the valid range for parameter \"port\" (1 .. 65535)",
        ),
        (
            "max_connections = abc",
            "LOG:  invalid value for parameter \"max_connections\": \"abc\"",
        ),
        (
            "checkpoint_timeout = 0",
            "LOG:  0 s is outside the valid range for parameter \"checkpoint_timeout\" (30 .. 86400)",
        ),
    ] {
        let mut sim = Sim::standard(3, 5432);
        sim.run_command(&format!("echo \"{line}\" >> primary/postgresql.conf"))
            .unwrap();
        let before = log_len(&mut sim, "primary");
        sim.run_command("pg_ctl -D primary stop").unwrap();
        let error = sim.run_command("pg_ctl -D primary start").unwrap_err();
        assert!(error.contains(logged), "{line}: {error}");
        let lines = log_since(&mut sim, "primary", before);
        assert_eq!(
            lines[lines.len() - 2..],
            [
                logged.to_string(),
                "FATAL:  configuration file \"/var/lib/postgresql/primary/postgresql.conf\" contains errors".to_string()
            ],
            "{line}"
        );
    }
}

#[test]
fn a_reload_logs_bad_lines_and_applies_the_others() {
    let mut sim = Sim::standard(3, 5432);
    for line in [
        "checkpoint_timeout = 0",
        "work_mem = '2MB'",
        "max_wal_senders = 3",
    ] {
        sim.run_command(&format!("echo \"{line}\" >> primary/postgresql.conf"))
            .unwrap();
    }
    let before = log_len(&mut sim, "primary");
    assert_eq!(
        sim.run_command("pg_ctl -D primary reload").unwrap(),
        "server signaled"
    );
    assert_eq!(
        log_since(&mut sim, "primary", before),
        [
            "LOG:  received SIGHUP, reloading configuration files",
            "LOG:  0 s is outside the valid range for parameter \"checkpoint_timeout\" (30 .. 86400)",
            "LOG:  parameter \"work_mem\" changed to \"2MB\"",
            "LOG:  parameter \"max_wal_senders\" cannot be changed without restarting the server",
            "LOG:  configuration file \"/var/lib/postgresql/primary/postgresql.conf\" contains errors; unaffected changes were applied",
        ]
    );
    assert_eq!(one(&mut sim, "primary", "SHOW work_mem"), "2MB");
    assert_eq!(one(&mut sim, "primary", "SHOW checkpoint_timeout"), "5min");
    sim.run_command("echo \"nonsense = 1\" >> primary/postgresql.conf")
        .unwrap();
    let before = log_len(&mut sim, "primary");
    assert_eq!(one(&mut sim, "primary", "SELECT pg_reload_conf()"), "t");
    assert_eq!(
        log_since(&mut sim, "primary", before),
        [
            "LOG:  received SIGHUP, reloading configuration files",
            "LOG:  unrecognized configuration parameter \"nonsense\" in file \"/var/lib/postgresql/primary/postgresql.conf\" line 6",
            "LOG:  configuration file \"/var/lib/postgresql/primary/postgresql.conf\" contains errors; no changes were applied",
        ]
    );
}

#[test]
fn an_empty_pg_hba_conf_stops_the_start_and_is_not_reloaded() {
    let mut sim = Sim::standard(3, 5432);
    sim.run_command("printf '%s\\n' '# nothing but a comment' > primary/pg_hba.conf")
        .unwrap();
    let before = log_len(&mut sim, "primary");
    sim.run_command("pg_ctl -D primary reload").unwrap();
    assert_eq!(
        log_since(&mut sim, "primary", before)[1..],
        [
            "LOG:  configuration file \"/var/lib/postgresql/primary/pg_hba.conf\" contains no entries",
            "LOG:  pg_hba.conf was not reloaded",
        ]
    );
    // The old rules stay in force: a new standby can still be made.
    sim.run_command("pg_basebackup -h 127.0.0.1 -p 5432 -D standby3 -R")
        .unwrap();
    sim.run_command("pg_ctl -D primary stop").unwrap();
    let before = log_len(&mut sim, "primary");
    let error = sim.run_command("pg_ctl -D primary start").unwrap_err();
    assert!(
        error.contains("FATAL:  could not load pg_hba.conf"),
        "{error}"
    );
    let lines = log_since(&mut sim, "primary", before);
    assert_eq!(
        lines[lines.len() - 3..],
        [
            "LOG:  configuration file \"/var/lib/postgresql/primary/pg_hba.conf\" contains no entries",
            "FATAL:  could not load pg_hba.conf",
            "LOG:  database system is shut down",
        ]
    );
    assert!(!sim.node("primary").unwrap().is_running());
}

#[test]
fn hot_standby_off_refuses_connections_during_recovery() {
    let mut sim = Sim::standard(3, 5432);
    sim.run_command("echo \"hot_standby = off\" >> standby1/postgresql.conf")
        .unwrap();
    let before = log_len(&mut sim, "standby1");
    sim.run_command("pg_ctl -D standby1 restart").unwrap();
    sim.run_for(SECOND);
    assert_eq!(
        query(&mut sim, "standby1", "SELECT 1").unwrap_err(),
        "FATAL:  the database system is not accepting connections\nDETAIL:  Hot standby mode is disabled."
    );
    let lines = log_since(&mut sim, "standby1", before);
    assert!(
        !lines.iter().any(|l| l.contains("read-only connections")),
        "{lines:#?}"
    );
    assert!(lines.ends_with(&[
        "FATAL:  the database system is not accepting connections".to_string(),
        "DETAIL:  Hot standby mode is disabled.".to_string(),
    ]));
    // It still replays, and takes connections once promoted.
    query(&mut sim, "primary", "CREATE TABLE t (x int)").unwrap();
    query(&mut sim, "primary", "INSERT INTO t VALUES (1)").unwrap();
    sim.run_for(SECOND);
    sim.run_command("pg_ctl -D standby1 promote").unwrap();
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "1");
}

#[test]
fn base_backup_directories_are_one_word() {
    let mut sim = Sim::standard(3, 5432);
    for dir in ["\"\"", "a/b", "../x", ".."] {
        let error = sim
            .run_command(&format!("pg_basebackup -h 127.0.0.1 -p 5432 -D {dir} -R"))
            .unwrap_err();
        assert!(
            error.starts_with("pg_basebackup: error: "),
            "{dir}: {error}"
        );
    }
    assert_eq!(sim.node_names().len(), 3);
}
