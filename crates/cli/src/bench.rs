//! `pgplay bench`: throughput of single-row autocommit INSERTs and the time of a full scan,
//! measured with the wall clock here in the driver (the engine never reads one). The workload
//! itself is `pgplay_node::bench`; `web/bench` runs the same one in wasm under Node, and
//! `scripts/bench.sh` runs both.

use std::process::ExitCode;
use std::time::Instant;

use pgplay_node::bench::{expected_scan, Bench, SCANS};

pub fn run(args: &[String]) -> ExitCode {
    let rows: u64 = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    match measure(rows) {
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
    Ok(())
}
