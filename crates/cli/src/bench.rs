//! `pgplay bench`: throughput of single-row autocommit INSERTs and the time
//! of a full scan, measured with the wall clock here in the driver (the
//! engine never reads one). The same workload runs in wasm from `web/`.

use std::process::ExitCode;
use std::time::Instant;

use pgplay_node::Node;

pub fn run(args: &[String]) -> ExitCode {
    let rows: usize = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut node = Node::initdb("bench", 1, None, 0);
    let session = node.db.open_session();
    node.execute(
        0,
        session,
        "CREATE TABLE bench (id int PRIMARY KEY, payload text)",
    );
    let started = Instant::now();
    for id in 0..rows {
        let results = node.execute(
            0,
            session,
            &format!("INSERT INTO bench VALUES ({id}, 'row {id}')"),
        );
        if let Some(Err(error)) = results.last().map(|r| &r.outcome) {
            eprintln!("pgplay bench: {error}");
            return ExitCode::FAILURE;
        }
    }
    let insert_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let scans = 10;
    for _ in 0..scans {
        node.execute(
            0,
            session,
            "SELECT count(*), sum(id) FROM bench WHERE payload LIKE 'row%'",
        );
    }
    let scan_ms = started.elapsed().as_secs_f64() * 1000.0 / scans as f64;
    let wal_bytes = node.db.wal.insert_lsn().0 - node.db.wal.segment_size().segment_start(1).0;
    println!("insert: {rows} single-row autocommit INSERTs in {insert_seconds:.3} s = {:.0} tps (native)", rows as f64 / insert_seconds);
    println!("scan:   {rows}-row scan with filter and aggregate: {scan_ms:.2} ms (native, mean of {scans})");
    println!("wal:    {wal_bytes} bytes written");
    ExitCode::SUCCESS
}
