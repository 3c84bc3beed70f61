//! `pgplay sim`: seeded random runs of a primary and two standbys under
//! faults, with the simulator's invariants checked after every step. A
//! failure prints its trace and the command that replays it exactly.

use std::process::ExitCode;

use pgplay_sim::fuzz;

struct Options {
    seed: u64,
    seeds: u64,
    steps: usize,
    verbose: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        seed: 1,
        seeds: 1,
        steps: 200,
        verbose: false,
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            iter.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--seed" => options.seed = number("--seed")?,
            "--seeds" => options.seeds = number("--seeds")?.max(1),
            "--steps" => options.steps = number("--steps")? as usize,
            "--trace" | "-v" => options.verbose = true,
            other => return Err(format!("unknown option \"{other}\"")),
        }
    }
    Ok(options)
}

pub fn run(args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("pgplay sim: {message}\nusage: pgplay sim [--seed N] [--seeds COUNT] [--steps N] [--trace]");
            return ExitCode::from(2);
        }
    };
    let (mut commits, mut faults) = (0, 0);
    let (mut synchronous, mut failovers, mut cancelled, mut lost) = (0, 0, 0, 0);
    let mut retention = std::collections::BTreeMap::<String, u64>::new();
    for seed in options.seed..options.seed + options.seeds {
        match fuzz::run(seed, options.steps, options.verbose) {
            Ok(report) => {
                commits += report.commits;
                faults += report.faults;
                synchronous += u64::from(!report.synchronous_standby_names.is_empty());
                failovers += u64::from(report.failover_to.is_some());
                cancelled += report.cancelled_waits;
                lost += report.lost_async_commits;
                *retention
                    .entry(format!("{:?}", report.retention))
                    .or_default() += 1;
                if options.seeds == 1 {
                    for line in &report.final_status {
                        println!("{line}");
                    }
                }
            }
            Err(failure) => {
                println!("{failure}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "{} seed(s) from {} passed, {} steps each: {commits} commits, {faults} faults, every invariant held",
        options.seeds, options.seed, options.steps
    );
    let kept: Vec<String> = retention
        .iter()
        .map(|(how, runs)| format!("{how} {runs}"))
        .collect();
    println!("WAL kept for the standbys by (runs): {}", kept.join(", "));
    println!(
        "{synchronous} run(s) under synchronous replication ({cancelled} commit waits cancelled), {failovers} ending in a failover to a synchronous standby that kept every confirmed commit"
    );
    println!(
        "{lost} asynchronous commit(s) lost in primary crashes, each within the WAL writer's window"
    );
    ExitCode::SUCCESS
}
