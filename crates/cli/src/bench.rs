//! `pgplay bench`: throughput of single-row autocommit INSERTs and the time of a full scan,
//! measured with the wall clock here in the driver (the engine never reads one). The workload
//! itself is `pgplay_node::bench`; `web/bench` runs the same one in wasm under Node, and
//! `scripts/bench.sh` runs both.

use std::process::ExitCode;
use std::time::Instant;

use pgplay_node::bench::{expected_scan, Bench, QUERIES, SCANS};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Rows to insert (commits, with --replication).
    #[arg(long, default_value = "10000", value_parser = count)]
    rows: u64,
    /// A primary and two standbys on the simulator: commits/s, WAL throughput, lag.
    #[arg(long, conflicts_with = "soak")]
    replication: bool,
    /// Memory of a primary and two standbys over many transactions.
    #[arg(long)]
    soak: bool,
    /// Transactions of the soak.
    #[arg(long, default_value = "1000000", value_parser = count, requires = "soak")]
    transactions: u64,
    /// TRUNCATE the soak's table every N transactions.
    #[arg(long, default_value = "10000", value_parser = count, requires = "soak")]
    truncate_every: u64,
}

/// A count, with `_` allowed between digits (`1_000_000`).
fn count(value: &str) -> Result<u64, String> {
    value
        .replace('_', "")
        .parse()
        .map_err(|_| format!("\"{value}\" is not a count"))
}

pub fn run(args: &BenchArgs) -> ExitCode {
    if args.replication {
        return replication(args.rows);
    }
    if args.soak {
        return soak(args.transactions, args.truncate_every);
    }
    match measure(args.rows) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pgplay bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn measure(rows: u64) -> Result<(), String> {
    let mut bench = Bench::new().map_err(|e| e.to_string())?;

    let started = Instant::now();
    bench.insert_rows(rows).map_err(|e| e.to_string())?;
    let insert_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut last = None;
    for _ in 0..SCANS {
        last = Some(bench.scan().map_err(|e| e.to_string())?);
    }
    let scan_ms = started.elapsed().as_secs_f64() * 1000.0 / SCANS as f64;
    if last != Some(expected_scan(rows)) {
        return Err(format!(
            "the scan returned {last:?}, expected {:?}",
            expected_scan(rows)
        ));
    }

    println!("insert: {rows} single-row autocommit INSERTs in {insert_seconds:.3} s = {:.0} tps (native)", rows as f64 / insert_seconds);
    println!("scan:   {rows}-row scan with filter and aggregate: {scan_ms:.2} ms (native, mean of {SCANS})");
    println!("wal:    {} bytes written", bench.wal_bytes());
    measure_queries(&mut bench)
}

/// The planner's benchmarks, each after its set-up: the best of [`pgplay_node::bench::QueryBench::runs`].
fn measure_queries(bench: &mut Bench) -> Result<(), String> {
    for (index, query) in QUERIES.iter().enumerate() {
        bench.prepare_query(index).map_err(|e| e.to_string())?;
        let runs = query.runs();
        let mut best = f64::INFINITY;
        for _ in 0..runs {
            let started = Instant::now();
            bench.run_query(index).map_err(|e| e.to_string())?;
            best = best.min(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "query:  {}: {best:.1} ms (native, best of {runs})",
            query.name
        );
    }
    Ok(())
}

/// `pgplay bench --replication [--rows N]`: a primary and two standbys on
/// the simulator, 10,000 commits per simulated second over 0.5 ms links.
fn replication(commits: u64) -> ExitCode {
    let (interval, latency) = (100, 500);
    let started = Instant::now();
    let run = match pgplay_sim::bench::run(commits, interval, latency) {
        Ok(run) => run,
        Err(error) => {
            eprintln!("pgplay bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let ms = |micros: i64| micros as f64 / 1000.0;
    println!(
        "replication: {commits} single-row commits on a primary, replayed by 2 standbys, in {seconds:.3} s = {:.0} commits/s (native, wall clock)",
        commits as f64 / seconds
    );
    println!(
        "throughput:  {:.1} MB of WAL shipped to each standby = {:.1} MB/s (native, wall clock)",
        run.wal_bytes as f64 / 1e6,
        run.wal_bytes as f64 / 1e6 / seconds
    );
    println!(
        "lag:         commit-to-replay on the slower standby, simulated time at {} commits/s over {} ms links: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        1_000_000 / interval,
        ms(latency),
        ms(run.percentile(0.5)),
        ms(run.percentile(0.99)),
        ms(run.percentile(1.0))
    );
    ExitCode::SUCCESS
}

/// This process's resident memory in bytes, from `/proc/self/statm`
/// (Linux; None elsewhere).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Samples of the soak taken before this many transactions are ignored
/// for flatness: allocators and the first checkpoints settle there.
const SOAK_WARM_UP: u64 = 200_000;

/// `pgplay bench --soak [--transactions N] [--truncate-every N]`: a primary
/// and two standbys in the simulator run N single-row INSERT transactions
/// (1,000,000 by default), the table truncated every 10,000; the process's
/// resident memory is printed every 100,000 and must stay within ±10% of
/// its mean once warmed up.
fn soak(transactions: u64, truncate_every: u64) -> ExitCode {
    let batch = 100_000.min(transactions.max(1));
    let mut soak = match pgplay_sim::bench::Soak::new(truncate_every) {
        Ok(soak) => soak,
        Err(error) => {
            eprintln!("pgplay bench --soak: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("soak: {transactions} single-row INSERT transactions, TRUNCATE every {truncate_every}, primary + 2 standbys (simulated)");
    let started = Instant::now();
    let mut settled = Vec::new();
    while soak.transactions < transactions {
        let count = batch.min(transactions - soak.transactions);
        if let Err(error) = soak.run(count) {
            eprintln!("pgplay bench --soak: {error}");
            return ExitCode::FAILURE;
        }
        let rss = resident_bytes().unwrap_or(0);
        let held = soak.footprint();
        println!(
            "{:>9} transactions  {:>6.1} s  RSS {:>6.1} MB  clog {:>6} B  WAL segments {:>2} ({:>5.1} MB)  tuples {:>6}",
            soak.transactions,
            started.elapsed().as_secs_f64(),
            rss as f64 / 1e6,
            held.clog_bytes,
            held.wal_segments,
            held.wal_allocated_bytes as f64 / 1e6,
            held.tuples
        );
        if soak.transactions > SOAK_WARM_UP {
            settled.push(rss as f64);
        }
    }
    if let Err(error) = soak.check_replicated() {
        eprintln!("pgplay bench --soak: the standbys do not match: {error}");
        return ExitCode::FAILURE;
    }
    if settled.is_empty() {
        return ExitCode::SUCCESS;
    }
    let mean = settled.iter().sum::<f64>() / settled.len() as f64;
    let deviation = |rss: f64| (rss - mean) / mean * 100.0;
    let highest = settled.iter().copied().fold(f64::MIN, f64::max);
    let lowest = settled.iter().copied().fold(f64::MAX, f64::min);
    println!(
        "memory after {SOAK_WARM_UP} transactions: mean {:.1} MB, from {:+.1}% to {:+.1}%",
        mean / 1e6,
        deviation(lowest),
        deviation(highest)
    );
    // Growth is what a leak looks like; the allocator handing memory back
    // to the system (a sample below the mean) is not.
    if deviation(highest) > 10.0 {
        eprintln!("pgplay bench --soak: memory grows (a sample more than 10% above the mean)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
