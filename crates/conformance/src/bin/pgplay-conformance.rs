//! ```text
//! pgplay-conformance --conninfo "host=127.0.0.1 port=54329 user=postgres" FILE...
//! pgplay-conformance --node primary=CONNINFO --node standby1=CONNINFO ... \
//!                    [--cluster-dir DIR] [--pg-bin DIR] FILE...
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
//! first node). With `--cluster-dir DIR` (the directory holding each node's data
//! directory, named after the node, and its log `<node>.log`), `system ok`
//! records run the commands of `pgplay_conformance::cluster_commands` there, with
//! `--pg-bin` (default `$PG_BIN`, else /usr/lib/postgresql/15/bin) first on PATH,
//! as user postgres when run as root.

use std::path::PathBuf;
use std::process::ExitCode;

use pgplay_conformance::{ClusterHost, ClusterNode};

const USAGE: &str = "usage: pgplay-conformance --conninfo CONNINFO FILE...\n       pgplay-conformance --node NAME=CONNINFO [--node NAME=CONNINFO]... [--cluster-dir DIR] [--pg-bin DIR] FILE...";

const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

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
    let mut cluster_dir: Option<PathBuf> = None;
    let mut pg_bin: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--cluster-dir" || a == "--pg-bin" {
            let Some(v) = args.next() else {
                return usage_error("");
            };
            if a == "--cluster-dir" {
                cluster_dir = Some(PathBuf::from(v));
            } else {
                pg_bin = Some(PathBuf::from(v));
            }
        } else if let Some(v) = a.strip_prefix("--cluster-dir=") {
            cluster_dir = Some(PathBuf::from(v));
        } else if let Some(v) = a.strip_prefix("--pg-bin=") {
            pg_bin = Some(PathBuf::from(v));
        } else if a == "--conninfo" {
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
    if nodes.is_empty() && (cluster_dir.is_some() || pg_bin.is_some()) {
        return usage_error("--cluster-dir and --pg-bin go with --node");
    }
    let host = match cluster_dir {
        Some(dir) => match std::fs::canonicalize(&dir) {
            Ok(dir) => {
                let pg_bin = pg_bin
                    .or_else(|| std::env::var_os("PG_BIN").map(PathBuf::from))
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_PG_BIN));
                Some(ClusterHost::new(dir, pg_bin))
            }
            Err(e) => return usage_error(&format!("--cluster-dir {}: {e}", dir.display())),
        },
        None => None,
    };

    let summary = match &conninfo {
        Some(conninfo) => pgplay_conformance::run_files(conninfo, &files),
        None => pgplay_conformance::run_cluster_files(&nodes, host.as_ref(), &files),
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
