//! The `pgplay` command: a psql-like REPL on a simulated PostgreSQL server,
//! the `.slt` runner, pg_waldump of a session's work, and benchmarks.
//! This binary is where the world comes in: stdin, files, the clock.

mod bench;
mod export;
mod interrupt;
mod isolation;
mod repl;
mod sim;
mod slt;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use pgplay_cluster::preset::Preset;
use pgplay_node::Node;
use pgplay_wal::time::{from_unix_millis, Timestamp};
use pgplay_wal::SegmentSize;

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
    restore_sigpipe();
    std::thread::Builder::new()
        .name("pgplay".into())
        .stack_size(STACK_BYTES)
        .spawn(run)
        .and_then(|thread| thread.join().map_err(|_| std::io::Error::other("panicked")))
        .unwrap_or(ExitCode::FAILURE)
}

/// pgplay: a PostgreSQL streaming-replication playground.
#[derive(Parser)]
#[command(
    name = "pgplay",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    repl: ReplArgs,
}

#[derive(Subcommand)]
enum Command {
    /// psql on a fresh cluster: primary, standby1, standby2 (\c NODE, \! pg_ctl ..., \cluster,
    /// \? for help, \q to quit). The default command.
    Repl(ReplArgs),
    /// Run sqllogictest files, each on a fresh simulated cluster (primary, standby1, standby2;
    /// `connection standby1`, `sleep 1s`).
    Test(TestArgs),
    /// Run isolation specs (PostgreSQL's isolation-tester format: sessions, steps,
    /// permutations), each on a fresh simulated primary, and compare the output with the
    /// expected file PostgreSQL 15's isolationtester wrote (specs/NAME.spec → expected/NAME.out).
    Isolation(IsolationArgs),
    /// Run the SQL (stdin if no file) and print its WAL as pg_waldump does.
    Waldump {
        /// A file of SQL, one psql line at a time.
        file: Option<PathBuf>,
    },
    /// Benchmarks: single-row INSERTs per second and a full scan; replication; the memory soak.
    Bench(bench::BenchArgs),
    /// Write a bash script that builds the same cluster with real PostgreSQL and replays a
    /// scenario (a file of psql lines, as piped to `pgplay`) there with psql.
    Export(ExportArgs),
    /// Seeded runs of a primary and two standbys under faults, checking the replication
    /// invariants after every step; prints seeds/minute.
    Sim(sim::SimArgs),
}

#[derive(Args, Default)]
struct ReplArgs {
    /// The WAL segment size in bytes: a power of 2 from 65536 to 1073741824.
    #[arg(long = "wal-segsize", value_name = "BYTES", value_parser = parse_segment_size)]
    wal_segsize: Option<SegmentSize>,
    /// Print each input line before its output, as psql's -a does (not at a terminal).
    #[arg(short = 'a', long = "echo-all")]
    echo_all: bool,
}

#[derive(Args)]
struct TestArgs {
    /// The simulator's seed for the cluster.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run every record of each file and count records that pass and fail, instead of stopping
    /// a file at its first failure.
    #[arg(long)]
    keep_going: bool,
    /// The .slt files.
    #[arg(required = true, value_name = "FILE.slt")]
    files: Vec<PathBuf>,
}

#[derive(Args)]
struct ExportArgs {
    /// The preset the scenario starts from (default, one-standby, cascading, synchronous).
    #[arg(long, default_value = "default", value_parser = parse_preset)]
    preset: Preset,
    /// The scenario: psql lines, `\c NODE`, `\! pg_ctl ...`.
    #[arg(value_name = "SCENARIO.psql")]
    file: PathBuf,
}

#[derive(Args)]
struct IsolationArgs {
    /// The simulator's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print each spec's output instead of comparing it.
    #[arg(long)]
    print: bool,
    /// The .spec files.
    #[arg(required = true, value_name = "FILE.spec")]
    files: Vec<PathBuf>,
}

fn parse_preset(name: &str) -> Result<Preset, String> {
    Preset::parse(name).ok_or_else(|| {
        let names: Vec<_> = Preset::ALL.iter().map(|p| p.name()).collect();
        format!("unknown preset \"{name}\" (presets: {})", names.join(", "))
    })
}

fn parse_segment_size(value: &str) -> Result<SegmentSize, String> {
    let bytes: u64 = value
        .parse()
        .map_err(|_| format!("invalid --wal-segsize \"{value}\""))?;
    SegmentSize::new(bytes).ok_or_else(|| {
        format!("--wal-segsize must be a power of 2 between 65536 and 1073741824, not {bytes}")
    })
}

/// `pgplay ... | head` ends quietly when `head` has read enough, as psql and other Unix tools
/// do: Rust ignores SIGPIPE, so without this every later write would fail and `println!` panic.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        None => repl::run(cli.repl.wal_segsize, cli.repl.echo_all, now),
        Some(Command::Repl(args)) => repl::run(args.wal_segsize, args.echo_all, now),
        Some(Command::Test(args)) => test(&args),
        Some(Command::Isolation(args)) => isolation_specs(&args),
        Some(Command::Waldump { file }) => waldump(file.as_deref()),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Sim(args)) => sim::run(&args),
        Some(Command::Export(args)) => export(&args),
    }
}

fn test(args: &TestArgs) -> ExitCode {
    let (mut passed, mut failed) = (0, 0);
    for file in &args.files {
        let shown = file.display();
        match slt::run_file(file, args.seed, args.keep_going) {
            Ok(records) if records.failed == 0 => passed += 1,
            Ok(records) => {
                failed += 1;
                println!(
                    "FAIL {shown}: {} records passed, {} failed\n",
                    records.passed, records.failed
                );
            }
            Err(report) => {
                failed += 1;
                let seed = args.seed;
                println!("FAIL {shown}\n{report}\nreplay: pgplay test --seed {seed} {shown}\n");
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

fn isolation_specs(args: &IsolationArgs) -> ExitCode {
    let (mut passed, mut failed) = (0, 0);
    for file in &args.files {
        let shown = file.display();
        let output = isolation::run_spec(file, args.seed);
        if args.print {
            match output {
                Ok(out) => print!("{out}"),
                Err(report) => {
                    println!("{report}");
                    failed += 1;
                }
            }
            continue;
        }
        let expected_path = isolation::expected_path(file);
        let expected = match std::fs::read_to_string(&expected_path) {
            Ok(text) => text,
            Err(error) => {
                failed += 1;
                println!("FAIL {shown}: {}: {error}\n", expected_path.display());
                continue;
            }
        };
        match output {
            Ok(out) if out == expected => passed += 1,
            Ok(out) => {
                failed += 1;
                println!(
                    "FAIL {shown}\n{}",
                    isolation::first_difference(&expected, &out)
                );
            }
            Err(report) => {
                failed += 1;
                println!("FAIL {shown}\n{report}\n");
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

fn export(args: &ExportArgs) -> ExitCode {
    match std::fs::read_to_string(&args.file) {
        Ok(scenario) => {
            let name = args.file.display().to_string();
            print!("{}", export::script(&name, &scenario, args.preset));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("pgplay export: {}: {error}", args.file.display());
            ExitCode::from(2)
        }
    }
}

fn waldump(file: Option<&Path>) -> ExitCode {
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
