//! `pgplay sim`: seeded random runs of a primary and two standbys under
//! faults, with the simulator's invariants checked after every step. A
//! failure prints its trace and the command that replays it exactly.
//!
//! Each seed is independent and deterministic, so a campaign spreads seeds
//! over `--jobs` threads (one simulator each) and counts seeds per minute;
//! the results do not depend on the number of threads. The core crates stay
//! single-threaded: only this driver uses threads and the clock.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use pgplay_sim::fuzz::{self, Failure, Report};

/// Seeds between two progress lines on stderr.
const PROGRESS_EVERY: u64 = 1000;

#[derive(clap::Args)]
pub struct SimArgs {
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many seeds, from --seed on.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Steps of each run.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Threads, one simulator each (a trace runs on one).
    #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,
    /// Run every seed and count failures instead of stopping at the first.
    #[arg(long)]
    keep_going: bool,
    /// Print one status line per step of each run.
    #[arg(long = "trace", short = 'v')]
    verbose: bool,
    /// Crashes lose the process, rebuilt from its kept data directory (as in the browser).
    #[arg(long)]
    lose_processes: bool,
}

impl SimArgs {
    /// One run's trace at a time, or the lines would interleave.
    fn jobs(&self) -> usize {
        if self.verbose {
            1
        } else {
            usize::from(self.jobs)
        }
    }
}

/// What the seeds that passed add up to.
#[derive(Default)]
struct Totals {
    passed: u64,
    commits: u64,
    faults: u64,
    synchronous: u64,
    failovers: u64,
    cancelled: u64,
    lost_async: u64,
    lost_processes: u64,
    savepoints_released: u64,
    savepoints_rolled_back: u64,
    retention: BTreeMap<String, u64>,
}

impl Totals {
    fn add(&mut self, report: &Report) {
        self.passed += 1;
        self.commits += report.commits;
        self.faults += report.faults;
        self.synchronous += u64::from(!report.synchronous_standby_names.is_empty());
        self.failovers += u64::from(report.failover_to.is_some());
        self.cancelled += report.cancelled_waits;
        self.lost_async += report.lost_async_commits;
        self.lost_processes += report.lost_processes;
        self.savepoints_released += report.savepoints_released;
        self.savepoints_rolled_back += report.savepoints_rolled_back;
        *self
            .retention
            .entry(format!("{:?}", report.retention))
            .or_default() += 1;
    }
}

/// Runs the seeds on `options.jobs` threads; every result goes to `results`
/// as it comes. Without `--keep-going` the threads stop taking seeds after
/// the first failure.
fn run_seeds(options: &SimArgs, results: mpsc::Sender<(u64, Result<Report, Failure>)>) {
    let next = AtomicU64::new(options.seed);
    let end = options.seed + options.seeds;
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs() {
            let results = results.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= end {
                        break;
                    }
                    let result = if options.lose_processes {
                        fuzz::run_losing_processes(seed, options.steps, options.verbose)
                    } else {
                        fuzz::run(seed, options.steps, options.verbose)
                    };
                    if result.is_err() && !options.keep_going {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if results.send((seed, result)).is_err() {
                        break;
                    }
                }
            });
        }
    });
}

fn per_minute(count: u64, seconds: f64) -> f64 {
    count as f64 * 60.0 / seconds.max(1e-9)
}

pub fn run(options: &SimArgs) -> ExitCode {
    let started = Instant::now();
    let (sender, receiver) = mpsc::channel();
    let mut totals = Totals::default();
    let mut failures: Vec<Failure> = Vec::new();
    let mut last_status = Vec::new();
    std::thread::scope(|scope| {
        scope.spawn(move || run_seeds(options, sender));
        let mut done = 0;
        for (_, result) in receiver {
            done += 1;
            match result {
                Ok(report) => {
                    totals.add(&report);
                    last_status = report.final_status;
                }
                Err(failure) => {
                    if options.keep_going {
                        println!("{}", failure.to_string().lines().next().unwrap_or(""));
                        println!(
                            "replay: pgplay sim --seed {} --steps {}",
                            failure.seed, failure.steps
                        );
                    }
                    failures.push(failure);
                }
            }
            if options.seeds >= PROGRESS_EVERY && done % PROGRESS_EVERY == 0 {
                let seconds = started.elapsed().as_secs_f64();
                eprintln!(
                    "pgplay sim: {done}/{} seeds, {} failed, {seconds:.0} s, {:.0} seeds/minute",
                    options.seeds,
                    failures.len(),
                    per_minute(done, seconds)
                );
            }
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    failures.sort_by_key(|f| f.seed);
    if !options.keep_going {
        if let Some(failure) = failures.first() {
            println!("{failure}");
            return ExitCode::FAILURE;
        }
    }
    if options.seeds == 1 {
        for line in &last_status {
            println!("{line}");
        }
    }
    print_summary(options, &totals, failures.len() as u64, seconds);
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_summary(options: &SimArgs, totals: &Totals, failed: u64, seconds: f64) {
    let held = if failed == 0 {
        "every invariant held".to_string()
    } else {
        format!("{failed} seed(s) FAILED")
    };
    println!(
        "{} seed(s) from {} run, {} passed, {} steps each: {} commits, {} faults, {held}",
        options.seeds, options.seed, totals.passed, options.steps, totals.commits, totals.faults
    );
    let kept: Vec<String> = totals
        .retention
        .iter()
        .map(|(how, runs)| format!("{how} {runs}"))
        .collect();
    println!("WAL kept for the standbys by (runs): {}", kept.join(", "));
    println!(
        "{} run(s) under synchronous replication ({} commit waits cancelled), {} ending in a failover to a synchronous standby that kept every confirmed commit",
        totals.synchronous, totals.cancelled, totals.failovers
    );
    println!(
        "{} asynchronous commit(s) lost in primary crashes, each within the WAL writer's window",
        totals.lost_async
    );
    println!(
        "{} savepoint(s) released and {} rolled back to in the writes (subtransactions)",
        totals.savepoints_released, totals.savepoints_rolled_back
    );
    if totals.lost_processes > 0 {
        println!(
            "{} process(es) lost with their memory and rebuilt from their kept data directories",
            totals.lost_processes
        );
    }
    println!(
        "{:.1} s on {} thread(s): {:.0} seeds/minute",
        seconds,
        options.jobs(),
        per_minute(options.seeds, seconds)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Sim {
        #[command(flatten)]
        args: SimArgs,
    }

    fn parse(args: &[&str]) -> Result<SimArgs, clap::Error> {
        Sim::try_parse_from(std::iter::once("sim").chain(args.iter().copied())).map(|s| s.args)
    }

    fn outcomes(jobs: usize) -> Vec<(u64, u64, u64)> {
        let jobs = jobs.to_string();
        let options = parse(&[
            "--seed", "11", "--seeds", "4", "--steps", "30", "--jobs", &jobs,
        ])
        .unwrap();
        let (sender, receiver) = mpsc::channel();
        run_seeds(&options, sender);
        let mut seen: Vec<(u64, u64, u64)> = receiver
            .iter()
            .map(|(seed, result)| {
                let report = result.unwrap_or_else(|failure| panic!("{failure}"));
                (seed, report.commits, report.faults)
            })
            .collect();
        seen.sort();
        seen
    }

    /// Every seed runs once, whatever the number of threads, with the
    /// same result.
    #[test]
    fn threads_share_the_seeds_without_changing_the_runs() {
        let one = outcomes(1);
        assert_eq!(
            one.iter().map(|o| o.0).collect::<Vec<_>>(),
            [11, 12, 13, 14]
        );
        assert_eq!(outcomes(3), one);
    }

    #[test]
    fn trace_runs_on_one_thread() {
        let options = parse(&["--jobs", "4", "--trace"]).unwrap();
        assert_eq!(options.jobs(), 1);
    }

    #[test]
    fn a_bad_number_is_an_error_not_a_default() {
        assert!(parse(&["--steps", "ten"]).is_err());
        assert!(parse(&["--seeds", "0"]).is_err());
        assert!(parse(&["--jobs", "999"]).is_err());
        assert!(parse(&["--frobnicate"]).is_err());
    }
}
