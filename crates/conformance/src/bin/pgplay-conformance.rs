//! ```text
//! pgplay-conformance --conninfo "host=127.0.0.1 port=54329 user=postgres" FILE...
//! pgplay-conformance --node primary=CONNINFO --node standby1=CONNINFO ... FILE...
//! ```
//!
//! Runs each sqllogictest file against real PostgreSQL, prints every failure and
//! finally `N passed, M failed`. Exits 1 when any file failed, 2 on bad usage or
//! when a server cannot be reached.
//!
//! With `--conninfo`, each file runs in a fresh database on that server. With
//! `--node NAME=CONNINFO` (repeated; the first node is the primary), the files run
//! on that cluster in its `postgres` databases, and `connection NAME` before a
//! record runs it on the node of that name (any other name: a session on the
//! first node).

use std::path::PathBuf;
use std::process::ExitCode;

use pgplay_conformance::ClusterNode;

const USAGE: &str = "usage: pgplay-conformance --conninfo CONNINFO FILE...\n       pgplay-conformance --node NAME=CONNINFO [--node NAME=CONNINFO]... FILE...";

fn usage_error(msg: &str) -> ExitCode {
    if msg.is_empty() {
        eprintln!("{USAGE}");
    } else {
        eprintln!("{msg}\n{USAGE}");
    }
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut conninfo: Option<String> = None;
    let mut nodes: Vec<ClusterNode> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--conninfo" {
            match args.next() {
                Some(v) => conninfo = Some(v),
                None => return usage_error(""),
            }
        } else if let Some(v) = a.strip_prefix("--conninfo=") {
            conninfo = Some(v.to_string());
        } else if a == "--node" || a.starts_with("--node=") {
            let spec = match a.strip_prefix("--node=") {
                Some(v) => v.to_string(),
                None => match args.next() {
                    Some(v) => v,
                    None => return usage_error(""),
                },
            };
            match ClusterNode::parse(&spec) {
                Ok(n) => nodes.push(n),
                Err(e) => return usage_error(&e),
            }
        } else if a == "-h" || a == "--help" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        } else if a.starts_with("--") {
            return usage_error(&format!("unknown option {a}"));
        } else {
            files.push(PathBuf::from(a));
        }
    }
    if conninfo.is_some() && !nodes.is_empty() {
        return usage_error("give either --conninfo or --node, not both");
    }
    if conninfo.is_none() && nodes.is_empty() {
        return usage_error("");
    }
    if files.is_empty() {
        return usage_error("no files given");
    }

    let summary = match &conninfo {
        Some(conninfo) => pgplay_conformance::run_files(conninfo, &files),
        None => pgplay_conformance::run_cluster_files(&nodes, &files),
    };
    let summary = match summary {
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
