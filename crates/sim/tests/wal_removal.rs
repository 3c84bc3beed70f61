//! WAL removal at checkpoints as the standbys live it. PostgreSQL 15 keeps
//! WAL for `wal_keep_size`, slots and the archiver only; a standby that is
//! answering never loses WAL in practice because a real checkpoint takes
//! longer than shipping what was flushed before it. pgplay's checkpoints take
//! no time, so the node keeps what a walsender still has to send to a standby
//! that answered since it was flushed (see `Node::recycle_wal`).

use pgplay_sim::{check, Sim, MS, SECOND};

fn log(sim: &mut Sim, node: &str) -> Vec<String> {
    sim.node_mut(node).unwrap().log().cloned().collect()
}

fn removed(lines: &[String]) -> bool {
    lines.iter().any(|l| l.contains("has already been removed"))
}

/// Seen on PostgreSQL 15: three `pg_basebackup`s started milliseconds apart
/// checkpoint three times, and the streaming standbys keep streaming. Each
/// copy forces a checkpoint whose redo point is in a new segment; before the
/// fix the third removed a segment the walsenders had not read yet, and both
/// standbys failed with "requested WAL segment ... has already been removed"
/// for good. One millisecond is the shortest gap a script gets (piped lines
/// are a millisecond apart); copies at the very same instant, which no real
/// pg_basebackup manages, still outrun the walsenders.
#[test]
fn base_backups_in_quick_succession_leave_the_standbys_streaming() {
    for gap in [MS, 3 * MS] {
        let mut sim = Sim::standard(7, 5432);
        for copy in ["standby3", "standby4", "standby5"] {
            sim.run_command(&format!("pg_basebackup -h 127.0.0.1 -p 5432 -D {copy} -R"))
                .unwrap();
            sim.run_for(gap);
        }
        sim.run_for(10 * SECOND);
        for standby in ["standby1", "standby2"] {
            let lines = log(&mut sim, standby);
            assert!(!removed(&lines), "{standby}, {gap}us apart: {lines:#?}");
            assert!(sim.node(standby).unwrap().is_streaming(), "{standby}");
        }
        for copy in ["standby3", "standby4", "standby5"] {
            sim.run_command(&format!("pg_ctl -D {copy} start")).unwrap();
        }
        sim.run_for(10 * SECOND);
        assert_eq!(check::caught_up(&sim), Ok(()));
        assert_eq!(check::all(&sim), Ok(()));
    }
}

/// Seed 118229 of `pgplay sim`: at step 250 a checkpoint removed segment 6 on
/// the primary while a walsender left behind by a cut connection still read
/// segment 5; standby1, partitioned, held 4 to 6. The prefix check read the
/// removed segment as zeros and reported a difference at 0/600000.
#[test]
fn fuzz_seed_118229_holds_every_invariant() {
    if let Err(failure) = pgplay_sim::fuzz::run(118229, 300, false) {
        panic!("{failure}");
    }
}
