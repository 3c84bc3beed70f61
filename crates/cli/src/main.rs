//! The `pgplay` command: a psql-like REPL on a simulated PostgreSQL server,
//! the `.slt` runner, pg_waldump of a session's work, and benchmarks.
//! This binary is where the world comes in: stdin, files, the clock.

mod bench;
mod interrupt;
mod repl;
mod sim;
mod slt;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use pgplay_node::Node;
use pgplay_wal::time::{from_unix_millis, Timestamp};
use pgplay_wal::SegmentSize;

const USAGE: &str = "\
pgplay: a PostgreSQL streaming-replication playground

Usage:
  pgplay [repl] [--wal-segsize BYTES]   psql on a fresh cluster: primary, standby1, standby2\n                                         (\\c NODE, \\! pg_ctl ..., \\cluster, \\? for help, \\q to quit)
  pgplay test [--seed N] FILE.slt...     run sqllogictest files, each on a fresh simulated cluster
                                         (primary, standby1, standby2; `connection standby1`, `sleep 1s`)
  pgplay waldump [FILE.sql]              run the SQL (stdin if no file), print its WAL as pg_waldump does
  pgplay sim [--seed N] [--seeds COUNT] [--steps N] [--jobs N] [--keep-going] [--trace]
                                         seeded runs of a primary and two standbys under faults,
                                         checking the replication invariants after every step;
                                         --jobs spreads seeds over threads, --keep-going counts
                                         failures instead of stopping; prints seeds/minute
  pgplay bench [--rows N]                single-row INSERT transactions per second and a full scan
  pgplay bench --soak [--transactions N] [--truncate-every N]
                                         memory of a primary and two standbys over N transactions
";

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    from_unix_millis(millis)
}

/// The stack every command runs on. The engine stops a statement with `stack depth limit
/// exceeded` once it used 2 MB (PostgreSQL's `max_stack_depth`), and sqlparser's recursion is
/// bounded by depth, not bytes; this leaves room for both in any build, whatever the platform's
/// main-thread stack is. Untouched stack pages cost no memory.
const STACK_BYTES: usize = 256 << 20;

fn main() -> ExitCode {
    std::thread::Builder::new()
        .name("pgplay".into())
        .stack_size(STACK_BYTES)
        .spawn(run)
        .and_then(|thread| thread.join().map_err(|_| std::io::Error::other("panicked")))
        .unwrap_or(ExitCode::FAILURE)
}

fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("repl") => repl(&args),
        Some("--wal-segsize") => repl(&args),
        Some("test") => test(&args[1..]),
        Some("waldump") => waldump(args.get(1)),
        Some("bench") => bench::run(&args[1..]),
        Some("sim") => sim::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("pgplay: unknown command \"{other}\"\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn segment_size(args: &[String]) -> Result<Option<SegmentSize>, String> {
    let Some(index) = args.iter().position(|a| a == "--wal-segsize") else {
        return Ok(None);
    };
    let value = args
        .get(index + 1)
        .ok_or("--wal-segsize needs a value in bytes")?;
    let bytes: u64 = value
        .parse()
        .map_err(|_| format!("invalid --wal-segsize \"{value}\""))?;
    SegmentSize::new(bytes).map(Some).ok_or_else(|| {
        format!("--wal-segsize must be a power of 2 between 65536 and 1073741824, not {bytes}")
    })
}

fn repl(args: &[String]) -> ExitCode {
    let size = match segment_size(args) {
        Ok(size) => size,
        Err(message) => {
            eprintln!("pgplay: {message}");
            return ExitCode::from(2);
        }
    };
    repl::run(size, now)
}

fn test(args: &[String]) -> ExitCode {
    let mut seed = 1u64;
    let mut files = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--seed" {
            match args.next().and_then(|v| v.parse().ok()) {
                Some(value) => seed = value,
                None => {
                    eprintln!("pgplay test: --seed needs a number\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            }
        } else {
            files.push(arg.clone());
        }
    }
    if files.is_empty() {
        eprintln!("pgplay test: no files given\n\n{USAGE}");
        return ExitCode::from(2);
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        match slt::run_file(&PathBuf::from(file), seed) {
            Ok(()) => passed += 1,
            Err(report) => {
                failed += 1;
                println!("FAIL {file}\n{report}\nreplay: pgplay test --seed {seed} {file}\n");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn waldump(file: Option<&String>) -> ExitCode {
    let sql = match file {
        Some(path) => std::fs::read_to_string(path),
        None => std::io::read_to_string(std::io::stdin()),
    };
    let sql = match sql {
        Ok(sql) => sql,
        Err(error) => {
            eprintln!("pgplay waldump: {error}");
            return ExitCode::from(2);
        }
    };
    let mut node = Node::initdb("primary", 7_000_001, None, now());
    let start = node.db.wal.insert_lsn();
    let mut psql = node.connect();
    for line in sql.lines() {
        eprint!("{}", node.psql_line(now(), &mut psql, line));
    }
    for line in node.waldump(start) {
        println!("{line}");
    }
    ExitCode::SUCCESS
}
