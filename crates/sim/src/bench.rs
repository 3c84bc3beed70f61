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

/// The soak workload: single-row INSERT transactions on a primary with two
/// streaming standbys, the table emptied by TRUNCATE every
/// `truncate_every` of them, at 100 commits per simulated second with a
/// checkpoint every 50 s and 1 MB WAL segments: a checkpoint every 5,000
/// commits removes the WAL before it, and every batch of a multiple of
/// 5,000 ends at the same point of that cycle. What the cluster holds must
/// then stay the same however many transactions run; the driver (`pgplay
/// bench --soak`) reads the process's memory between batches.
pub struct Soak {
    sim: Sim,
    session: pgplay_engine::SessionId,
    truncate_every: u64,
    /// Transactions run so far (INSERTs; the TRUNCATEs come on top).
    pub transactions: u64,
}

/// Simulated time between two soak commits: 100 commits per second.
pub const SOAK_INTERVAL: Timestamp = 10 * MS;

/// What a soak's cluster holds, summed over its three nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoakFootprint {
    pub clog_bytes: usize,
    pub wal_segments: usize,
    /// Bytes allocated for WAL segments, with freed chunks kept for reuse.
    pub wal_allocated_bytes: usize,
    pub tuples: usize,
}

impl Soak {
    pub fn new(truncate_every: u64) -> Result<Soak, String> {
        let segment = pgplay_wal::SegmentSize::new(1 << 20).expect("1 MB is a valid segment size");
        let mut sim = Sim::new(1)
            .with_segment_size(segment)
            .with_standard_cluster(5432);
        let session = sim.open_session("primary").ok_or("no primary")?;
        let mut soak = Soak {
            sim,
            session,
            truncate_every: truncate_every.max(1),
            transactions: 0,
        };
        for sql in [
            "ALTER SYSTEM SET checkpoint_timeout = '50s'",
            "SELECT pg_reload_conf()",
            "CREATE TABLE soak (id bigint PRIMARY KEY, payload text)",
        ] {
            soak.execute(sql)?;
        }
        Ok(soak)
    }

    fn execute(&mut self, sql: &str) -> Result<(), String> {
        for result in self.sim.execute("primary", self.session, sql) {
            result.outcome.map_err(|e| format!("{sql}: {e}"))?;
        }
        Ok(())
    }

    /// Runs `count` more transactions.
    pub fn run(&mut self, count: u64) -> Result<(), String> {
        for _ in 0..count {
            let id = self.transactions;
            self.execute(&format!("INSERT INTO soak VALUES ({id}, 'row {id}')"))?;
            self.transactions += 1;
            if self.transactions.is_multiple_of(self.truncate_every) {
                self.execute("TRUNCATE soak")?;
            }
            self.sim.run_for(SOAK_INTERVAL);
        }
        Ok(())
    }

    pub fn footprint(&self) -> SoakFootprint {
        let mut total = SoakFootprint::default();
        for node in self.sim.nodes() {
            let footprint = node.footprint();
            total.clog_bytes += footprint.clog_bytes;
            total.wal_segments += footprint.wal.segments;
            total.wal_allocated_bytes += footprint.wal.allocated_bytes + footprint.wal.pooled_bytes;
            total.tuples += footprint.tuples;
        }
        total
    }

    /// Every standby replays everything and shows the primary's rows.
    pub fn check_replicated(&mut self) -> Result<(), String> {
        self.sim.run_for(10 * 1_000_000);
        crate::check::caught_up(&self.sim).map_err(|v| v.to_string())?;
        let expected = (self.transactions % self.truncate_every).to_string();
        for node in self.sim.node_names() {
            let session = self.sim.open_session(&node).ok_or("no such node")?;
            let results = self
                .sim
                .execute(&node, session, "SELECT count(*) FROM soak");
            let count = match results.first().map(|r| &r.outcome) {
                Some(Ok(pgplay_engine::Outcome::Rows { rows, .. })) => rows[0][0].clone(),
                other => return Err(format!("{node}: {other:?}")),
            };
            if count.as_deref() != Some(expected.as_str()) {
                return Err(format!("{node} has {count:?} rows, expected {expected}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soak_holds_the_same_after_more_transactions() {
        let mut soak = Soak::new(1000).unwrap();
        // Both samples at the end of a checkpoint cycle (5,000 commits).
        soak.run(5_000).unwrap();
        let early = soak.footprint();
        soak.run(10_000).unwrap();
        let late = soak.footprint();
        soak.check_replicated().unwrap();
        assert!(
            late.clog_bytes <= early.clog_bytes + 1024,
            "commit logs grew: {early:?} -> {late:?}"
        );
        // Each node keeps its last (re)startpoint's segment and the current one.
        assert!(late.wal_segments <= 3 * 2, "{early:?} -> {late:?}");
        assert!(late.tuples <= early.tuples + 100, "{early:?} -> {late:?}");
    }

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
