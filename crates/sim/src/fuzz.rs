//! Seeded random runs: a write workload on the primary while the network
//! and the servers misbehave (latency, jitter, partitions, cut connections,
//! standby crashes, primary restarts and crashes), with the invariants of
//! [`crate::check`] after every step. At the end the faults stop and every
//! standby must catch up, byte for byte and page for page, and every commit
//! the primary acknowledged must be there. A failure names its seed; the
//! same seed replays the same run exactly.
//!
//! Some seeds run under synchronous replication (a `synchronous_standby_names`
//! drawn from the seed). Half of those end with a failover instead: the
//! primary crashes while faults are still in force, the most advanced
//! synchronous standby is promoted, and it must hold every commit the
//! primary acknowledged without the cancel WARNING.
//!
//! About a third of the writes commit with `synchronous_commit = off`. A
//! crash of the primary may lose those, but only the unflushed tail that the
//! WAL writer had not reached yet ([`check::durable_commits`]).
//!
//! Some writes go on in savepoints, released or rolled back to (nested ones
//! too), so every node's row count, the durability check and the page
//! comparison also cover subtransactions on the primary, the standbys and
//! after crashes.

use std::collections::VecDeque;

use pgplay_engine::Outcome;
use pgplay_node::StopMode;
use pgplay_wal::SegmentSize;

use crate::{check, Sim, MS, SECOND};

/// Trace lines kept for a failure report.
pub const TRACE_CAPACITY: usize = 300;

#[derive(Clone, Debug)]
pub struct Failure {
    pub seed: u64,
    pub steps: usize,
    pub step: usize,
    pub message: String,
    /// The last actions and node states before the failure, oldest first.
    pub trace: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {} failed at step {}: {}",
            self.seed, self.step, self.message
        )?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        write!(
            f,
            "replay: pgplay sim --seed {} --steps {}",
            self.seed, self.steps
        )
    }
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub commits: u64,
    pub rollbacks: u64,
    pub faults: u64,
    /// Commits whose wait for synchronous standbys was cancelled.
    pub cancelled_waits: u64,
    /// Asynchronous commits (`synchronous_commit = off`) a crash of the
    /// primary lost, as the WAL writer's window allows.
    pub lost_async_commits: u64,
    /// `synchronous_standby_names` of the run (empty: asynchronous).
    pub synchronous_standby_names: String,
    /// The run ended with a failover to this standby.
    pub failover_to: Option<String>,
    /// How a standby that fell behind finds its WAL again.
    pub retention: Retention,
    /// Processes lost with their memory and rebuilt from their kept data
    /// directories ([`run_losing_processes`]).
    pub lost_processes: u64,
    /// Savepoints of successful writes: released, and rolled back to.
    pub savepoints_released: u64,
    pub savepoints_rolled_back: u64,
    pub final_status: Vec<String>,
}

/// How a run keeps the WAL a standby cut off during a checkpoint still needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Retention {
    /// `wal_keep_size = 1GB` on the primary.
    #[default]
    WalKeepSize,
    /// A physical replication slot per standby (`primary_slot_name`).
    Slots,
    /// `archive_command` copies every segment to `/archive`; the standbys'
    /// `restore_command` fetches what the primary no longer has.
    Archive,
}

/// The synchronous replication settings a seed may draw.
const SYNC_SETTINGS: [&str; 4] = [
    "",
    "standby1",
    "FIRST 1 (standby1, standby2)",
    "ANY 1 (standby1, standby2)",
];

struct Run {
    sim: Sim,
    seed: u64,
    steps: usize,
    step: usize,
    trace: VecDeque<String>,
    /// Row ids the primary acknowledged as committed.
    committed: u64,
    /// Those commits, in order, for the durability check after a crash.
    acknowledged: Vec<check::Acknowledged>,
    /// Of those, rows whose commits the synchronous standbys confirmed.
    synchronously_committed: u64,
    /// The last statement's commit wait was cancelled (PostgreSQL's WARNING).
    last_cancelled: bool,
    next_id: u64,
    report: Report,
    /// Standbys stopped by a fault, with when to start them again.
    down: Vec<(String, i64)>,
    partitions: Vec<(String, String, i64)>,
    /// Print a status line per node after every step.
    verbose: bool,
}

/// `INSERT INTO fuzz` of one row.
fn insert_row(id: u64) -> String {
    format!("INSERT INTO fuzz VALUES ({id}, 'row {id}');")
}

/// SplitMix64 of the seed and a row id: the savepoint shape of the write
/// that starts after that row, drawn apart from the simulator's stream.
fn savepoint_plan(seed: u64, id: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(id)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Run {
    fn new(sim: Sim, seed: u64, steps: usize, verbose: bool) -> Run {
        Run {
            sim,
            seed,
            steps,
            step: 0,
            trace: VecDeque::new(),
            committed: 0,
            acknowledged: Vec::new(),
            synchronously_committed: 0,
            last_cancelled: false,
            next_id: 0,
            report: Report::default(),
            down: Vec::new(),
            partitions: Vec::new(),
            verbose,
        }
    }

    /// Whether this crash (an immediate stop) loses the process with its
    /// memory, in runs that keep the data directories outside the nodes.
    fn loses_process(&self, mode: StopMode) -> bool {
        mode == StopMode::Immediate && self.sim.kept_data_directory("primary").is_some()
    }

    fn note(&mut self, line: String) {
        if self.verbose {
            println!("{line}");
        }
        if self.trace.len() == TRACE_CAPACITY {
            self.trace.pop_front();
        }
        self.trace.push_back(line);
    }

    fn fail(&mut self, message: String) -> Failure {
        let mut trace: Vec<String> = self.trace.iter().cloned().collect();
        for name in self.sim.node_names() {
            let node = self.sim.node_mut(&name).expect("listed");
            let lines: Vec<String> = node.log().cloned().collect();
            trace.push(format!("--- last log lines of {name}"));
            trace.extend(lines.iter().rev().take(15).rev().cloned());
        }
        Failure {
            seed: self.seed,
            steps: self.steps,
            step: self.step,
            message,
            trace,
        }
    }

    fn sql(&mut self, node: &str, sql: &str) -> Result<Option<Outcome>, String> {
        let session = self.sim.open_session(node).ok_or("no such node")?;
        let results = self.sim.execute(node, session, sql);
        // One session per statement, closed after it, so a long run does
        // not pile up sessions.
        self.sim.close_session(node, session);
        self.last_cancelled = results
            .iter()
            .flat_map(|r| &r.notices)
            .any(|n| n.message == pgplay_node::syncrep::CANCEL_WARNING);
        let mut last = None;
        for result in results {
            match result.outcome {
                Ok(outcome) => last = Some(outcome),
                Err(error) => return Err(error.to_string()),
            }
        }
        Ok(last)
    }

    /// The row ids in the fuzz table.
    fn ids(&mut self, node: &str) -> Result<std::collections::BTreeSet<u64>, String> {
        match self.sql(node, "SELECT id FROM fuzz")? {
            Some(Outcome::Rows { rows, .. }) => Ok(rows
                .iter()
                .filter_map(|row| row[0].as_deref()?.parse().ok())
                .collect()),
            _ => Err("SELECT id returned no rows".into()),
        }
    }

    fn count(&mut self, node: &str) -> Result<u64, String> {
        match self.sql(node, "SELECT count(*) FROM fuzz")? {
            Some(Outcome::Rows { rows, .. }) => Ok(rows[0][0]
                .as_deref()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)),
            _ => Err("count(*) returned no rows".into()),
        }
    }

    fn standbys(&self) -> Vec<String> {
        self.sim
            .node_names()
            .into_iter()
            .filter(|n| n != "primary")
            .collect()
    }

    fn pick_standby(&mut self) -> String {
        let standbys = self.standbys();
        let index = self.sim.rng().below(standbys.len() as u64) as usize;
        standbys[index].clone()
    }

    fn write(&mut self) -> Result<(), Failure> {
        let rows = 1 + self.sim.rng().below(3);
        let rollback = self.sim.rng().chance(15);
        let asynchronous = self.sim.rng().chance(30);
        let mut sql = String::from("BEGIN;");
        if asynchronous {
            sql.push_str("SET LOCAL synchronous_commit = off;");
        }
        let mut ids = Vec::new();
        for _ in 0..rows {
            self.next_id += 1;
            ids.push(self.next_id);
            sql.push_str(&insert_row(self.next_id));
        }
        let released = self.savepoints(&mut sql, &mut ids);
        if self.sim.rng().chance(30) && self.committed > 0 {
            let id = 1 + self.sim.rng().below(self.next_id);
            // The row lock first: a Heap LOCK record the standby replays into the row's xmax.
            sql.push_str(&format!("SELECT v FROM fuzz WHERE id = {id} FOR UPDATE;"));
            sql.push_str(&format!("UPDATE fuzz SET v = v || '+' WHERE id = {id};"));
        }
        sql.push_str(if rollback { "ROLLBACK;" } else { "COMMIT;" });
        let rows = ids.len() as u64;
        let result = self.sql("primary", &sql);
        if result.is_ok() {
            match released {
                Some(true) => self.report.savepoints_released += 1,
                Some(false) => self.report.savepoints_rolled_back += 1,
                None => {}
            }
        }
        match result {
            Ok(_) if rollback => self.report.rollbacks += 1,
            Ok(_) => {
                self.committed += rows;
                self.report.commits += 1;
                let end = self.sim.node("primary").map(|p| p.db.wal.insert_lsn());
                self.acknowledged.push(check::Acknowledged {
                    ids,
                    at: self.sim.now,
                    end: end.unwrap_or_default(),
                    asynchronous,
                });
                if self.last_cancelled {
                    self.report.cancelled_waits += 1;
                } else if !asynchronous {
                    self.synchronously_committed += rows;
                }
            }
            // The primary may be down for a moment (a fault): nothing was acknowledged.
            Err(error) if error.contains("Connection refused") => {}
            Err(error) => return Err(self.fail(format!("write failed on the primary: {error}"))),
        }
        // Row ids of rolled-back transactions are never reused, so the
        // committed count is what count(*) must show.
        Ok(())
    }

    /// Some writes go on in savepoints: more rows (and sometimes the
    /// update) after `SAVEPOINT s`, sometimes a nested savepoint rolled back
    /// inside it, then `RELEASE` (the rows join `ids`, committed or rolled
    /// back with the transaction) or `ROLLBACK TO` (they never exist). So
    /// the row counts, the durability check and the page comparison cover
    /// subtransactions on the primary, the standbys and after crashes. The
    /// shape comes from [`savepoint_plan`], not the simulator's random
    /// stream, so every seed's faults and timings stay what they were.
    /// Returns whether the savepoint was released, if there was one.
    fn savepoints(&mut self, sql: &mut String, ids: &mut Vec<u64>) -> Option<bool> {
        let plan = savepoint_plan(self.seed, self.next_id);
        if plan % 100 >= 40 {
            return None;
        }
        sql.push_str("SAVEPOINT s;");
        let mut inside = Vec::new();
        for _ in 0..1 + (plan >> 8) % 2 {
            self.next_id += 1;
            inside.push(self.next_id);
            sql.push_str(&insert_row(self.next_id));
        }
        if (plan >> 16) % 100 < 30 {
            self.next_id += 1;
            sql.push_str("SAVEPOINT inner;");
            sql.push_str(&insert_row(self.next_id));
            sql.push_str("ROLLBACK TO SAVEPOINT inner; RELEASE SAVEPOINT inner;");
        }
        if (plan >> 24) % 100 < 20 && self.committed > 0 {
            let id = 1 + (plan >> 32) % self.next_id;
            sql.push_str(&format!(
                "SELECT v FROM fuzz WHERE id = {id} FOR KEY SHARE;"
            ));
            sql.push_str(&format!("UPDATE fuzz SET v = v || '~' WHERE id = {id};"));
        }
        let release = (plan >> 40).is_multiple_of(2);
        if release {
            sql.push_str("RELEASE SAVEPOINT s;");
            ids.extend(inside);
        } else {
            sql.push_str("ROLLBACK TO SAVEPOINT s;");
        }
        Some(release)
    }

    fn fault(&mut self) -> Result<(), Failure> {
        self.report.faults += 1;
        let now = self.sim.now;
        match self.sim.rng().below(8) {
            0 | 1 => {
                let standby = self.pick_standby();
                let until = now + (self.sim.rng().below(3_000) as i64) * MS;
                self.note(format!(
                    "fault: partition primary | {standby} until {until}"
                ));
                self.sim.partition("primary", &standby);
                self.partitions.push(("primary".into(), standby, until));
            }
            2 => {
                let standby = self.pick_standby();
                self.note(format!("fault: cut the connections primary - {standby}"));
                self.sim.cut("primary", &standby);
            }
            3 => {
                let standby = self.pick_standby();
                if self.sim.node(&standby).is_some_and(|n| n.is_running()) {
                    let mode = if self.sim.rng().chance(50) {
                        StopMode::Immediate
                    } else {
                        StopMode::Fast
                    };
                    let until = now + (self.sim.rng().below(5_000) as i64) * MS;
                    if self.loses_process(mode) {
                        self.note(format!(
                            "fault: {standby}'s process is lost; restarted from its files"
                        ));
                        self.report.lost_processes += 1;
                        self.sim
                            .lose_process(&standby)
                            .map_err(|e| self.fail(format!("{standby} did not restart: {e}")))?;
                        return Ok(());
                    }
                    self.note(format!("fault: stop {standby} ({mode:?}) until {until}"));
                    let _ = self.sim.stop(&standby, mode);
                    self.down.push((standby, until));
                }
            }
            4 => {
                let mode = if self.sim.rng().chance(50) {
                    StopMode::Immediate
                } else {
                    StopMode::Fast
                };
                let crash = self.sim.node("primary").map(|p| check::Crash::of(p, now));
                if self.loses_process(mode) {
                    self.note(
                        "fault: the primary's process is lost; restarted from its files".into(),
                    );
                    self.report.lost_processes += 1;
                    self.sim
                        .lose_process("primary")
                        .map_err(|e| self.fail(format!("primary did not restart: {e}")))?;
                } else {
                    self.note(format!("fault: restart the primary ({mode:?})"));
                    let _ = self.sim.stop("primary", mode);
                    self.sim.run_for(MS);
                    self.sim
                        .start("primary")
                        .map_err(|e| self.fail(format!("primary did not restart: {e}")))?;
                }
                if let Some(crash) = crash {
                    self.check_durability(&crash)?;
                }
            }
            5 => {
                let latency = (self.sim.rng().below(20) as i64) * MS;
                let jitter = (self.sim.rng().below(10) as i64) * MS;
                self.note(format!("fault: latency {latency}us jitter {jitter}us"));
                self.sim.net.latency = latency;
                self.sim.net.jitter = jitter;
            }
            6 => {
                self.note("CHECKPOINT on the primary".into());
                let _ = self.sql("primary", "CHECKPOINT");
            }
            _ => {
                self.note("pg_switch_wal() on the primary".into());
                let _ = self.sql("primary", "SELECT pg_switch_wal()");
            }
        }
        Ok(())
    }

    /// After the primary's restart: what survived is every acknowledged
    /// commit but the unflushed tail of asynchronous ones
    /// ([`check::durable_commits`]); the lost ones are forgotten.
    fn check_durability(&mut self, crash: &check::Crash) -> Result<(), Failure> {
        let surviving = self.ids("primary").map_err(|e| self.fail(e))?;
        check::durable_commits(&self.acknowledged, &surviving, crash)
            .map_err(|v| self.fail(v.to_string()))?;
        let lost = self
            .acknowledged
            .iter()
            .position(|c| c.ids.first().is_some_and(|id| !surviving.contains(id)));
        if let Some(first_lost) = lost {
            let gone = self.acknowledged.split_off(first_lost);
            let rows: u64 = gone.iter().map(|c| c.ids.len() as u64).sum();
            self.note(format!(
                "the crash lost {} asynchronous commits ({rows} rows)",
                gone.len()
            ));
            self.committed -= rows;
            self.report.lost_async_commits += gone.len() as u64;
        }
        Ok(())
    }

    fn heal_due(&mut self, all: bool) -> Result<(), Failure> {
        let now = self.sim.now;
        let due: Vec<_> = self
            .partitions
            .iter()
            .filter(|(_, _, until)| all || *until <= now)
            .cloned()
            .collect();
        self.partitions.retain(|(_, _, until)| !all && *until > now);
        for (a, b, _) in due {
            self.note(format!("heal: {a} | {b}"));
            self.sim.heal(&a, &b);
        }
        let starting: Vec<_> = self
            .down
            .iter()
            .filter(|(_, until)| all || *until <= now)
            .cloned()
            .collect();
        self.down.retain(|(_, until)| !all && *until > now);
        for (node, _) in starting {
            self.note(format!("start: {node}"));
            self.sim
                .start(&node)
                .map_err(|e| self.fail(format!("{node} did not start: {e}")))?;
        }
        Ok(())
    }

    fn step(&mut self) -> Result<(), Failure> {
        let roll = self.sim.rng().below(100);
        if roll < 60 {
            self.write()?;
        } else if roll < 68 {
            self.fault()?;
        }
        let pause = (self.sim.rng().below(50) as i64) * MS;
        self.sim.run_for(pause);
        self.heal_due(false)?;
        for line in self.sim.status_lines() {
            let line = format!("t={:>8}ms {line}", self.sim.now / MS);
            self.note(line);
        }
        check::all(&self.sim).map_err(|v| self.fail(v.to_string()))
    }

    fn finish(&mut self) -> Result<(), Failure> {
        self.note("end: heal everything and let the standbys catch up".into());
        self.sim.net.latency = MS / 2;
        self.sim.net.jitter = 0;
        self.heal_due(true)?;
        self.sim.heal_all();
        self.sim.run_for(30 * SECOND);
        for line in self.sim.status_lines() {
            let line = format!("t={:>8}ms {line}", self.sim.now / MS);
            self.note(line);
        }
        check::caught_up(&self.sim).map_err(|v| self.fail(v.to_string()))?;
        check::wal_prefix_full(&self.sim).map_err(|v| self.fail(v.to_string()))?;
        check::pages_match(&self.sim).map_err(|v| self.fail(v.to_string()))?;
        for node in self.sim.node_names() {
            let count = self.count(&node).map_err(|e| self.fail(e))?;
            if count != self.committed {
                return Err(self.fail(format!(
                    "{node} shows {count} rows, the primary acknowledged {}",
                    self.committed
                )));
            }
        }
        Ok(())
    }
}

impl Run {
    /// The primary crashes with the faults still in force; the synchronous
    /// standby that received the most WAL is promoted and must show every
    /// row whose commit was confirmed synchronously, and no row that was
    /// never committed.
    fn finish_with_failover(&mut self) -> Result<(), Failure> {
        self.note("end: crash the primary, promote the most advanced synchronous standby".into());
        let _ = self.sim.stop("primary", StopMode::Immediate);
        // Stopped standbys start again and held traffic arrives: neither can
        // take away what a synchronous standby flushed.
        self.heal_due(true)?;
        self.sim.heal_all();
        self.sim.run_for(SECOND);
        let names = self.report.synchronous_standby_names.clone();
        let config = pgplay_replication::syncrep::parse(&names)
            .ok()
            .flatten()
            .ok_or_else(|| self.fail("failover without synchronous replication".into()))?;
        let target = self
            .standbys()
            .into_iter()
            .filter(|n| config.priority(n) > 0)
            .filter_map(|n| Some((self.sim.node(&n)?.db.wal.flush_lsn(), n)))
            .max()
            .map(|(_, n)| n)
            .ok_or_else(|| self.fail("no synchronous standby to promote".into()))?;
        self.note(format!("promote {target}"));
        self.report.failover_to = Some(target.clone());
        self.sim
            .promote(&target)
            .map_err(|e| self.fail(format!("{target} did not promote: {e}")))?;
        self.sim.run_for(SECOND);
        let count = self.count(&target).map_err(|e| self.fail(e))?;
        if count < self.synchronously_committed || count > self.committed {
            return Err(self.fail(format!(
                "after failover {target} shows {count} rows; {} were confirmed by synchronous standbys, {} committed in all",
                self.synchronously_committed, self.committed
            )));
        }
        Ok(())
    }
}

/// One seeded run of `steps` steps on a primary and two standbys.
pub fn run(seed: u64, steps: usize, verbose: bool) -> Result<Report, Failure> {
    run_on(Sim::new(seed), seed, steps, verbose)
}

/// The same run, with each node's data directory kept outside it as the
/// browser page keeps them: every crash (an immediate stop of the primary
/// or a standby) loses the process with its memory, and the node is
/// rebuilt from its files ([`Sim::lose_process`]). Same faults as [`run`].
pub fn run_losing_processes(seed: u64, steps: usize, verbose: bool) -> Result<Report, Failure> {
    let mut sim = Sim::new(seed);
    sim.keep_data_directories();
    run_on(sim, seed, steps, verbose)
}

fn run_on(sim: Sim, seed: u64, steps: usize, verbose: bool) -> Result<Report, Failure> {
    let segment = SegmentSize::new(1 << 20).expect("1 MB is a valid segment size");
    let mut sim = sim.with_segment_size(segment);
    sim.add_primary("primary", 5432);
    // The runs check that every standby catches up, so a standby cut off while the primary
    // checkpoints must find its WAL again: half the seeds keep it with a replication slot per
    // standby, the others with a large wal_keep_size.
    let retention = match sim.rng().below(3) {
        0 => Retention::WalKeepSize,
        1 => Retention::Slots,
        _ => Retention::Archive,
    };
    let now = sim.now;
    if let Some(primary) = sim.node_mut("primary") {
        let settings: &[&str] = match retention {
            Retention::WalKeepSize => &["wal_keep_size = '1GB'"],
            Retention::Slots => &[],
            Retention::Archive => &[
                "archive_mode = on",
                "archive_command = 'test ! -f /archive/%f && cp %p /archive/%f'",
            ],
        };
        for line in settings {
            primary
                .append_config("postgresql.conf", line)
                .expect("a valid setting");
        }
        if retention == Retention::Archive {
            primary.restart(now).expect("the primary restarts");
        } else {
            primary.reload(now);
        }
    }
    let mut run = Run::new(sim, seed, steps, verbose);
    run.report.retention = retention;
    let slots = retention == Retention::Slots;
    run.sql("primary", "CREATE TABLE fuzz (id int PRIMARY KEY, v text)")
        .map_err(|e| run.fail(e))?;
    for (name, port) in [("standby1", 5433), ("standby2", 5434)] {
        run.sim
            .add_standby(name, port, "primary")
            .map_err(|e| run.fail(e))?;
        if slots {
            let slot = format!("{name}_slot");
            run.sql(
                "primary",
                &format!("SELECT pg_create_physical_replication_slot('{slot}', true)"),
            )
            .and_then(|_| {
                run.sql(
                    name,
                    &format!("ALTER SYSTEM SET primary_slot_name = '{slot}'"),
                )
            })
            .and_then(|_| run.sql(name, "SELECT pg_reload_conf()"))
            .map_err(|e| run.fail(e))?;
        }
        if retention == Retention::Archive {
            run.sql(
                name,
                "ALTER SYSTEM SET restore_command = 'cp /archive/%f %p'",
            )
            .and_then(|_| run.sql(name, "SELECT pg_reload_conf()"))
            .map_err(|e| run.fail(e))?;
        }
    }
    let sync = SYNC_SETTINGS[run.sim.rng().below(SYNC_SETTINGS.len() as u64) as usize];
    let failover = !sync.is_empty() && run.sim.rng().chance(50);
    if !sync.is_empty() {
        run.report.synchronous_standby_names = sync.to_string();
        run.note(format!("synchronous_standby_names = '{sync}'"));
        run.sql(
            "primary",
            &format!("ALTER SYSTEM SET synchronous_standby_names = '{sync}'"),
        )
        .and_then(|_| run.sql("primary", "SELECT pg_reload_conf()"))
        .map_err(|e| run.fail(e))?;
    }
    for step in 0..steps {
        run.step = step;
        run.step()?;
    }
    run.step = steps;
    if failover {
        run.finish_with_failover()?;
    } else {
        run.finish()?;
    }
    run.report.final_status = run.sim.status_lines();
    Ok(run.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_seeds_hold_every_invariant() {
        for seed in 1..=4 {
            if let Err(failure) = run(seed, 150, false) {
                panic!("{failure}");
            }
        }
    }

    /// Crashes that lose the process (the browser's failed workers) keep every invariant,
    /// the durability check after a primary's among them.
    #[test]
    fn seeds_whose_crashes_lose_the_process_hold_every_invariant() {
        let mut lost = 0;
        for seed in 1..=6 {
            match run_losing_processes(seed, 150, false) {
                Ok(report) => lost += report.lost_processes,
                Err(failure) => panic!("{failure}"),
            }
        }
        assert!(lost > 0, "no process was lost");
    }

    /// The failover check is not vacuous: a commit that no synchronous
    /// standby confirmed (`synchronous_commit = local`, standbys cut off),
    /// counted as confirmed, is reported missing after the failover.
    #[test]
    fn the_failover_check_catches_an_unconfirmed_commit() {
        let mut run = Run::new(Sim::standard(5, 5432), 5, 0, false);
        for sql in [
            "CREATE TABLE fuzz (id int PRIMARY KEY, v text)",
            "ALTER SYSTEM SET synchronous_standby_names = 'standby1'",
            "SELECT pg_reload_conf()",
        ] {
            run.sql("primary", sql).unwrap();
        }
        run.sim.run_for(SECOND);
        run.report.synchronous_standby_names = "standby1".into();
        for standby in ["standby1", "standby2"] {
            run.sim.partition("primary", standby);
            run.sim.cut("primary", standby);
        }
        run.sql(
            "primary",
            "BEGIN; SET LOCAL synchronous_commit = local; INSERT INTO fuzz VALUES (1, 'x'); COMMIT;",
        )
        .unwrap();
        assert!(!run.last_cancelled);
        run.committed = 1;
        run.synchronously_committed = 1;
        let failure = run.finish_with_failover().unwrap_err();
        assert!(
            failure
                .message
                .contains("standby1 shows 0 rows; 1 were confirmed by synchronous standbys"),
            "{failure}"
        );
    }

    /// A crash of the primary right after asynchronous commits loses them,
    /// and the durability check accepts exactly that: the same loss of a
    /// commit counted as synchronous is a violation.
    #[test]
    fn a_crash_loses_only_the_asynchronous_tail() {
        let mut run = Run::new(Sim::standard(6, 5432), 6, 0, false);
        run.sql("primary", "CREATE TABLE fuzz (id int PRIMARY KEY, v text)")
            .unwrap();
        for id in 1..=40u64 {
            run.sql(
                "primary",
                &format!("BEGIN; SET LOCAL synchronous_commit = off; INSERT INTO fuzz VALUES ({id}, 'x'); COMMIT;"),
            )
            .unwrap();
            let end = run.sim.node("primary").unwrap().db.wal.insert_lsn();
            run.acknowledged.push(check::Acknowledged {
                ids: vec![id],
                at: run.sim.now,
                end,
                asynchronous: true,
            });
            run.committed += 1;
            run.sim.run_for(7 * MS);
        }
        let crash = check::Crash::of(run.sim.node("primary").unwrap(), run.sim.now);
        run.sim.stop("primary", StopMode::Immediate).unwrap();
        run.sim.start("primary").unwrap();
        let before = run.acknowledged.clone();
        run.check_durability(&crash).unwrap();
        let lost = before.len() - run.acknowledged.len();
        assert!(
            (1..=20).contains(&lost),
            "lost {lost} commits made 7 ms apart, wal_writer_delay 200ms"
        );
        assert_eq!(run.count("primary").unwrap(), run.committed);
        let mut synchronous = before;
        synchronous.last_mut().unwrap().asynchronous = false;
        let surviving = run.ids("primary").unwrap();
        let violation = check::durable_commits(&synchronous, &surviving, &crash).unwrap_err();
        assert!(
            violation.detail.contains("synchronous commit"),
            "{violation}"
        );
    }

    /// The workload's savepoints happen both ways; the invariants that
    /// cover them (row counts on every node, durability across crashes,
    /// equal pages) are checked by every run.
    #[test]
    fn writes_release_and_roll_back_savepoints() {
        let report = run(3, 150, false).unwrap();
        assert!(
            report.savepoints_released > 0 && report.savepoints_rolled_back > 0,
            "{report:?}"
        );
    }

    #[test]
    fn a_seed_replays_exactly() {
        let a = run(99, 100, false).unwrap();
        let b = run(99, 100, false).unwrap();
        assert_eq!(a.final_status, b.final_status);
        assert_eq!((a.commits, a.faults), (b.commits, b.faults));
    }
}
