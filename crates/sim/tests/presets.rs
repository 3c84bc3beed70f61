//! Every preset the page offers starts on the simulator too (the same
//! `pgplay_cluster::preset`), each standby streaming from its upstream.

use pgplay_cluster::preset::{Preset, PRIMARY};
use pgplay_engine::Outcome;
use pgplay_sim::{Sim, SECOND};

fn rows(sim: &mut Sim, node: &str, sql: &str) -> Vec<String> {
    let session = sim.open_session(node).expect("node exists");
    let results = sim.execute(node, session, sql);
    sim.close_session(node, session);
    match &results.last().expect("one statement").outcome {
        Ok(Outcome::Rows { rows, .. }) => rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect(),
        other => panic!("{node}: {sql}: {other:?}"),
    }
}

#[test]
fn each_preset_streams_as_the_page_starts_it() {
    for preset in Preset::ALL {
        let mut sim = Sim::new(9).with_preset(preset, 5432);
        sim.run_for(SECOND);
        for (name, upstream) in preset.standbys() {
            let senders = rows(
                &mut sim,
                upstream,
                "SELECT application_name, state FROM pg_stat_replication",
            );
            assert!(
                senders.contains(&format!("{name}|streaming")),
                "{preset:?}: {upstream} streams to {name}: {senders:?}"
            );
        }
        let names = rows(&mut sim, PRIMARY, "SHOW synchronous_standby_names");
        let expected = match preset {
            Preset::Synchronous => "FIRST 1 (standby1, standby2)",
            _ => "",
        };
        assert_eq!(names, [expected], "{preset:?}");
    }
}
