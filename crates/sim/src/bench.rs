//! The replication benchmark's workload: a primary and two streaming
//! standbys on the simulated network, single-row autocommit INSERTs at a
//! fixed simulated rate, and the commit-to-replay lag of each commit on
//! both standbys, in simulated time. The driver (`pgplay bench
//! --replication`) measures the wall-clock cost; nothing here reads a clock.

use crate::{Sim, MS};
use pgplay_wal::time::Timestamp;
use pgplay_wal::Lsn;

/// What one run measured in simulated time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationRun {
    pub commits: u64,
    /// Commit-to-replay lag on the slower standby, per commit, sorted (µs).
    pub lags: Vec<Timestamp>,
    pub wal_bytes: u64,
    pub simulated: Timestamp,
}

impl ReplicationRun {
    pub fn percentile(&self, p: f64) -> Timestamp {
        if self.lags.is_empty() {
            return 0;
        }
        let index = ((self.lags.len() - 1) as f64 * p).round() as usize;
        self.lags[index]
    }
}

/// `commits` INSERTs, one every `interval` µs of simulated time, on a cluster
/// whose links have `latency` µs of one-way delay.
pub fn run(
    commits: u64,
    interval: Timestamp,
    latency: Timestamp,
) -> Result<ReplicationRun, String> {
    let mut sim = Sim::standard(1, 5432);
    sim.net.latency = latency;
    let session = sim.open_session("primary").ok_or("no primary")?;
    let check = |results: Vec<pgplay_engine::StatementResult>| -> Result<(), String> {
        for result in results {
            result.outcome.map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    check(sim.execute(
        "primary",
        session,
        "CREATE TABLE bench (id int PRIMARY KEY, payload text)",
    ))?;
    sim.run_for(10 * MS);
    let start_lsn = sim
        .node("primary")
        .map(|n| n.db.wal.insert_lsn())
        .unwrap_or(Lsn(0));
    let started = sim.now;
    let mut pending: std::collections::VecDeque<(Lsn, Timestamp)> = Default::default();
    let mut lags = Vec::with_capacity(commits as usize);
    for id in 0..commits {
        check(sim.execute(
            "primary",
            session,
            &format!("INSERT INTO bench VALUES ({id}, 'row {id}')"),
        ))?;
        let committed = sim
            .node("primary")
            .map(|n| n.db.wal.flush_lsn())
            .unwrap_or(Lsn(0));
        pending.push_back((committed, sim.now));
        sim.run_for(interval);
        collect(&sim, &mut pending, &mut lags);
    }
    while !pending.is_empty() {
        sim.run_for(interval.max(1));
        collect(&sim, &mut pending, &mut lags);
        if sim.now - started > 3_600 * 1_000_000 {
            return Err("standbys never caught up".into());
        }
    }
    lags.sort_unstable();
    let end_lsn = sim
        .node("primary")
        .map(|n| n.db.wal.insert_lsn())
        .unwrap_or(Lsn(0));
    Ok(ReplicationRun {
        commits,
        lags,
        wal_bytes: end_lsn.0 - start_lsn.0,
        simulated: sim.now - started,
    })
}

/// Commits replayed by both standbys by now.
fn collect(
    sim: &Sim,
    pending: &mut std::collections::VecDeque<(Lsn, Timestamp)>,
    lags: &mut Vec<Timestamp>,
) {
    let replayed = ["standby1", "standby2"]
        .iter()
        .filter_map(|n| sim.node(n))
        .map(|n| n.db.replayed_upto)
        .min()
        .unwrap_or(Lsn(0));
    while pending.front().is_some_and(|(lsn, _)| *lsn <= replayed) {
        let (_, at) = pending.pop_front().expect("checked");
        lags.push(sim.now - at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_commit_is_replayed_after_about_the_link_latency() {
        let run = run(200, MS / 10, MS).unwrap();
        assert_eq!(run.lags.len(), 200);
        // One-way latency, give or take the measuring step.
        assert!(
            run.percentile(0.5) >= MS && run.percentile(0.5) <= MS + MS / 5,
            "{:?}",
            run.percentile(0.5)
        );
        assert!(run.wal_bytes > 200 * 60);
    }
}
