//! `pgplay-conformance --conninfo "host=127.0.0.1 port=54329 user=postgres" FILE...`
//!
//! Runs each sqllogictest file against a real PostgreSQL server, each in a fresh
//! database, prints every failure and finally `N passed, M failed`. Exits 1 when
//! any file failed, 2 on bad usage or when the server cannot be reached.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: pgplay-conformance --conninfo CONNINFO FILE...";

fn main() -> ExitCode {
    let mut conninfo: Option<String> = None;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--conninfo" {
            match args.next() {
                Some(v) => conninfo = Some(v),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            }
        } else if let Some(v) = a.strip_prefix("--conninfo=") {
            conninfo = Some(v.to_string());
        } else if a == "-h" || a == "--help" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        } else if a.starts_with("--") {
            eprintln!("unknown option {a}\n{USAGE}");
            return ExitCode::from(2);
        } else {
            files.push(PathBuf::from(a));
        }
    }
    let Some(conninfo) = conninfo else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if files.is_empty() {
        eprintln!("no files given\n{USAGE}");
        return ExitCode::from(2);
    }

    let summary = match pgplay_conformance::run_files(&conninfo, &files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for f in &summary.failures {
        println!("FAIL {}\n{}\n", f.file.display(), f.report);
    }
    println!("{}", summary.line());
    if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
