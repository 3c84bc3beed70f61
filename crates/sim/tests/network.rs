//! The link faults of `pgplay-net`, as `pgplay_cluster::link` models them and
//! the page's workers apply them too: what a learner sees of each (query
//! results on the standby, `pg_stat_replication`, the server logs).

use pgplay_cluster::preset::Preset;
use pgplay_engine::Outcome;
use pgplay_sim::{Sim, MS, SECOND};

fn one(sim: &mut Sim, node: &str, sql: &str) -> String {
    let session = sim.open_session(node).expect("node exists");
    let results = sim.execute(node, session, sql);
    sim.close_session(node, session);
    match &results.last().expect("one statement").outcome {
        Ok(Outcome::Rows { rows, .. }) => rows[0][0].clone().unwrap_or_default(),
        Ok(Outcome::Command { tag, .. }) => tag.clone(),
        Err(error) => panic!("{node}: {sql}: {error}"),
    }
}

fn broken_lines(sim: &mut Sim, node: &str) -> Vec<String> {
    let log = sim.node_mut(node).unwrap().log();
    log.filter(|l| l.contains("the network broke the connection"))
        .cloned()
        .collect()
}

fn cluster() -> Sim {
    let mut sim = Sim::new(3).with_preset(Preset::OneStandby, 5432);
    one(&mut sim, "primary", "CREATE TABLE t (id int)");
    sim.run_for(SECOND);
    sim
}

#[test]
fn a_cut_breaks_the_stream_both_logs_say_so_and_it_comes_back() {
    let mut sim = cluster();
    sim.run_command("pgplay-net cut primary standby1").unwrap();
    sim.run_for(10 * MS);
    for (node, peer) in [("primary", "standby1"), ("standby1", "primary")] {
        let lines = broken_lines(&mut sim, node);
        assert_eq!(lines.len(), 1, "{node}: {lines:?}");
        assert!(lines[0].contains(&format!("\"{peer}\": pgplay-net cut")));
    }
    one(&mut sim, "primary", "INSERT INTO t VALUES (1)");
    // The walreceiver retries after wal_retrieve_retry_interval (5 s).
    sim.run_for(10 * SECOND);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "1");
}

#[test]
fn a_delay_and_a_loss_slow_the_stream_without_breaking_it() {
    let mut sim = cluster();
    sim.run_command("pgplay-net delay primary standby1 300")
        .unwrap();
    one(&mut sim, "primary", "INSERT INTO t VALUES (1)");
    sim.run_for(200 * MS);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "0");
    sim.run_for(200 * MS);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "1");
    sim.run_command("pgplay-net heal primary standby1").unwrap();
    sim.run_command("pgplay-net loss primary standby1 30")
        .unwrap();
    for id in 2..=40 {
        one(&mut sim, "primary", &format!("INSERT INTO t VALUES ({id})"));
        sim.run_for(50 * MS);
    }
    sim.run_for(30 * SECOND);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "40");
    assert!(broken_lines(&mut sim, "standby1").is_empty());
}

#[test]
fn a_link_that_loses_everything_breaks_as_tcp_gives_up() {
    let mut sim = cluster();
    sim.run_command("pgplay-net loss primary standby1 100")
        .unwrap();
    one(&mut sim, "primary", "INSERT INTO t VALUES (1)");
    sim.run_for(SECOND);
    let lines = broken_lines(&mut sim, "primary");
    assert!(!lines.is_empty(), "the connection broke");
    assert!(lines[0].contains("tcp_retries2"), "{lines:?}");
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "0");
}

#[test]
fn a_partition_holds_the_stream_until_it_heals() {
    let mut sim = cluster();
    sim.run_command("pgplay-net partition primary standby1")
        .unwrap();
    one(&mut sim, "primary", "INSERT INTO t VALUES (1)");
    sim.run_for(2 * SECOND);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "0");
    sim.run_command("pgplay-net heal primary standby1").unwrap();
    sim.run_for(SECOND);
    assert_eq!(one(&mut sim, "standby1", "SELECT count(*) FROM t"), "1");
    assert!(broken_lines(&mut sim, "standby1").is_empty());
}
