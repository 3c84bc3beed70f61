//! The real-PostgreSQL side: a sqllogictest `DB` and a per-file runner, on one
//! server (each file in a fresh database) or on a cluster of named nodes.

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use postgres::{Client, Config, NoTls, SimpleQueryMessage};
use sqllogictest::{Condition, Connection, DBOutput, Record, TestErrorKind, DB};

use crate::cluster_commands::{self, stop_mode_name, PgCtlAction, ShellCommand};
use crate::conventions::{self, PgColumnType, LABEL_POSTGRES};

/// An error as handed to sqllogictest: its `Display` is the one-line convention
/// string (`ERROR: <SQLSTATE>: <message>[ DETAIL: ..][ HINT: ..]`), and the
/// SQLSTATE is also exposed so `statement error (42P01)` works.
#[derive(Debug, Clone)]
pub struct PgError {
    pub sqlstate: Option<String>,
    pub text: String,
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for PgError {}

impl From<postgres::Error> for PgError {
    fn from(e: postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => PgError {
                sqlstate: Some(db.code().code().to_string()),
                text: conventions::format_error(
                    db.code().code(),
                    db.message(),
                    db.detail(),
                    db.hint(),
                ),
            },
            // Not a server error (I/O, protocol, closed connection): no SQLSTATE.
            // The causes are appended: `error connecting to server: Connection
            // refused (os error 111)`.
            None => {
                let mut text = format!("client error: {e}");
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    let cause_text = cause.to_string();
                    if !text.ends_with(&cause_text) {
                        text.push_str(": ");
                        text.push_str(&cause_text);
                    }
                    source = cause.source();
                }
                PgError {
                    sqlstate: None,
                    text,
                }
            }
        }
    }
}

/// One connection to a real PostgreSQL server.
pub struct PostgresDb {
    client: Client,
}

impl PostgresDb {
    pub fn connect(config: &Config) -> Result<Self, PgError> {
        let client = config.connect(NoTls)?;
        Ok(PostgresDb { client })
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Is this the error the server gives when a string holding several statements is
/// prepared? (Then the record is run through the simple protocol only.)
fn is_multi_statement_error(e: &postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code().code() == "42601" && db.message().starts_with("cannot insert multiple commands")
    })
}

impl DB for PostgresDb {
    type Error = PgError;
    type ColumnType = PgColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<PgColumnType>, PgError> {
        // The extended protocol's Describe tells the result column types; the
        // simple protocol then runs the statement once and gives every value in
        // PostgreSQL's text output format. Preparing has no side effects, and an
        // error at prepare time is the error the statement would raise.
        let types: Option<Vec<PgColumnType>> = match self.client.prepare(sql) {
            Ok(stmt) => Some(
                stmt.columns()
                    .iter()
                    .map(|c| PgColumnType::from_pg_type_name(c.type_().name()))
                    .collect(),
            ),
            Err(e) if is_multi_statement_error(&e) => None,
            Err(e) => return Err(e.into()),
        };

        let messages = self.client.simple_query(sql)?;
        let mut has_rows = false;
        let mut ncols = 0usize;
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut count = 0u64;
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    // Several statements: the last one with a result set wins.
                    has_rows = true;
                    ncols = cols.len();
                    rows.clear();
                }
                SimpleQueryMessage::Row(r) => {
                    has_rows = true;
                    ncols = r.len();
                    rows.push(
                        (0..r.len())
                            .map(|i| conventions::format_value(r.get(i)))
                            .collect(),
                    );
                }
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        if has_rows {
            let types = types
                .filter(|t| t.len() == ncols)
                .unwrap_or_else(|| vec![PgColumnType::Text; ncols]);
            Ok(DBOutput::Rows { types, rows })
        } else {
            Ok(DBOutput::StatementComplete(count))
        }
    }

    fn engine_name(&self) -> &str {
        LABEL_POSTGRES
    }

    fn error_sql_state(err: &PgError) -> Option<String> {
        err.sqlstate.clone()
    }
}

/// A file that did not pass, with the report of its first failing record.
#[derive(Debug, Clone)]
pub struct FileFailure {
    pub file: PathBuf,
    pub report: String,
}

/// Outcome of [`run_files`]; files are the unit.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<FileFailure>,
}

impl Summary {
    /// `N passed, M failed`
    pub fn line(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }
}

/// Run one `.slt` file through a sqllogictest runner whose connections all go to
/// the database named in `config`.
pub fn run_file_in_database(config: &Config, file: &Path) -> Result<(), String> {
    let cfg = config.clone();
    let mut runner =
        sqllogictest::Runner::new(move || std::future::ready(PostgresDb::connect(&cfg)));
    conventions::configure_runner(&mut runner, LABEL_POSTGRES);
    let result = runner
        .run_file(file)
        .map_err(|e| e.display(false).to_string());
    runner.shutdown();
    result
}

fn database_name(index: usize, file: &Path) -> String {
    let stem: String = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("slt_{}_{}_{}", std::process::id(), index, stem);
    name.truncate(63);
    name
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Run each file in a fresh database (`CREATE DATABASE` before, `DROP DATABASE`
/// after) on the server that `conninfo` (libpq key=value or URL form) points at.
/// The database named in `conninfo` (default: the user's) is only used to create
/// and drop the per-file databases.
pub fn run_files(conninfo: &str, files: &[PathBuf]) -> Result<Summary, String> {
    let admin_config: Config = conninfo
        .parse()
        .map_err(|e| format!("bad conninfo {conninfo:?}: {e}"))?;
    let mut admin = admin_config
        .connect(NoTls)
        .map_err(|e| format!("cannot connect with {conninfo:?}: {}", PgError::from(e)))?;

    let mut summary = Summary::default();
    for (i, file) in files.iter().enumerate() {
        let db = database_name(i, file);
        let outcome = (|| -> Result<(), String> {
            // Separate commands: DROP/CREATE DATABASE refuse to run in the implicit
            // transaction block of a multi-statement string.
            for sql in [
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&db)),
                format!("CREATE DATABASE {}", quote_ident(&db)),
            ] {
                admin
                    .batch_execute(&sql)
                    .map_err(|e| format!("cannot create database {db}: {}", PgError::from(e)))?;
            }
            let mut cfg = admin_config.clone();
            cfg.dbname(&db);
            let r = run_file_in_database(&cfg, file);
            if let Err(e) = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&db)
            )) {
                eprintln!("warning: cannot drop database {db}: {}", PgError::from(e));
            }
            r
        })();
        match outcome {
            Ok(()) => summary.passed += 1,
            Err(report) => {
                summary.failed += 1;
                summary.failures.push(FileFailure {
                    file: file.clone(),
                    report,
                });
            }
        }
    }
    Ok(summary)
}

/// One node of a cluster, as given by `--node NAME=CONNINFO`.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    pub name: String,
    pub config: Config,
}

impl ClusterNode {
    /// Parse `NAME=CONNINFO`. Without a `dbname` in the conninfo, the node's
    /// `postgres` database is used.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (name, conninfo) = spec
            .split_once('=')
            .filter(|(n, _)| !n.is_empty() && !n.contains(char::is_whitespace))
            .ok_or_else(|| format!("bad node {spec:?}: expected NAME=CONNINFO"))?;
        let mut config: Config = conninfo
            .parse()
            .map_err(|e| format!("bad conninfo for node {name} {conninfo:?}: {e}"))?;
        if config.get_dbname().is_none() {
            config.dbname("postgres");
        }
        Ok(ClusterNode {
            name: name.to_string(),
            config,
        })
    }
}

/// The connection of one session, shared with the file runner so that it can
/// close the sessions of a node before stopping or restarting it.
type SessionSlot = Arc<Mutex<Option<PostgresDb>>>;

/// Every session opened so far in a file, with the index of its node.
type SessionRegistry = Arc<Mutex<Vec<(usize, SessionSlot)>>>;

/// A session on one cluster node. It connects when its first record runs, and
/// connects again before a record if it has no connection: the server closed it
/// (the node was stopped or restarted), or the runner closed it before running
/// `pg_ctl stop|start|restart` on the node. A failure to connect is that
/// record's error (`client error: ...`), so a file can check that a stopped node
/// is down.
pub struct NodeSession {
    config: Config,
    slot: SessionSlot,
}

impl NodeSession {
    pub fn new(config: Config) -> Self {
        NodeSession {
            config,
            slot: Arc::default(),
        }
    }
}

impl DB for NodeSession {
    type Error = PgError;
    type ColumnType = PgColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<PgColumnType>, PgError> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_mut().is_none_or(|d| d.client().is_closed()) {
            *slot = None;
            *slot = Some(PostgresDb::connect(&self.config)?);
        }
        slot.as_mut().expect("connected above").run(sql)
    }

    fn engine_name(&self) -> &str {
        LABEL_POSTGRES
    }

    fn error_sql_state(err: &PgError) -> Option<String> {
        err.sqlstate.clone()
    }
}

/// Which node a record's connection runs on: the node of that name, else the
/// first node (the primary).
fn node_index(nodes: &[ClusterNode], connection: &Connection) -> usize {
    match connection {
        Connection::Named(name) => nodes.iter().position(|n| &n.name == name).unwrap_or(0),
        Connection::Default => 0,
    }
}

/// Where and how `system` records run on a real cluster: in `dir`, which holds
/// each node's data directory (named after the node) and its server log
/// `<node>.log`, with `pg_bin` first on `PATH`, as `run_as` (through `su`) when
/// given.
#[derive(Debug, Clone)]
pub struct ClusterHost {
    pub dir: PathBuf,
    pub pg_bin: PathBuf,
    pub run_as: Option<String>,
}

impl ClusterHost {
    /// Commands run as user `postgres` when this process runs as root (the
    /// server refuses root), else as ourselves.
    pub fn new(dir: impl Into<PathBuf>, pg_bin: impl Into<PathBuf>) -> Self {
        ClusterHost {
            dir: dir.into(),
            pg_bin: pg_bin.into(),
            run_as: running_as_root().then(|| "postgres".to_string()),
        }
    }

    /// The shell text run for a parsed command. `pg_ctl` always gets `-w`, and
    /// `start`/`restart` also `-l <dir>/<node>.log`: without a log file the
    /// server keeps pg_ctl's stdout, so reading the command's output would never
    /// end.
    pub fn shell_text(&self, command: &ShellCommand, original: &str) -> String {
        match command {
            ShellCommand::PgCtl {
                node,
                action,
                mode,
                timeout_secs,
            } => {
                let mut s = format!("pg_ctl -D {}", shell_quote(node));
                if let Some(m) = mode {
                    s.push_str(" -m ");
                    s.push_str(stop_mode_name(*m));
                }
                if let Some(t) = timeout_secs {
                    s.push_str(&format!(" -t {t}"));
                }
                s.push_str(" -w");
                if matches!(action, PgCtlAction::Start | PgCtlAction::Restart) {
                    let log = self.dir.join(format!("{node}.log"));
                    s.push_str(" -l ");
                    s.push_str(&shell_quote(&log.to_string_lossy()));
                }
                s.push(' ');
                s.push_str(action.as_str());
                s
            }
            // Checked by the parser: no expansions, no operators but `>>`.
            _ => original.trim().to_string(),
        }
    }

    /// Run a parsed command; its exit status, stdout and stderr.
    pub fn run(&self, command: &ShellCommand, original: &str) -> std::io::Result<Output> {
        let text = self.shell_text(command, original);
        let path = match std::env::var_os("PATH") {
            Some(p) => {
                let mut dirs = vec![self.pg_bin.clone()];
                dirs.extend(std::env::split_paths(&p));
                std::env::join_paths(dirs).map_err(std::io::Error::other)?
            }
            None => self.pg_bin.clone().into_os_string(),
        };
        let mut cmd = match &self.run_as {
            Some(user) => {
                // su may reset PATH: set it inside.
                let mut cmd = Command::new("su");
                cmd.args([user.as_str(), "-s", "/bin/bash", "-c"])
                    .arg(format!(
                        "PATH={}; export PATH; {text}",
                        shell_quote(&path.to_string_lossy())
                    ));
                cmd
            }
            None => {
                let mut cmd = Command::new("bash");
                cmd.arg("-c").arg(&text).env("PATH", &path);
                cmd
            }
        };
        cmd.current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
    }
}

/// Is this process's effective user root? (Linux: /proc/self/status.)
fn running_as_root() -> bool {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            return line.split_whitespace().nth(2) == Some("0");
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=:,+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `process exited unsuccessfully: ...`, as sqllogictest reports a failed
/// command.
#[derive(Debug)]
struct SystemError {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl fmt::Display for SystemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "process exited unsuccessfully: {}\nstdout: {}\nstderr: {}",
            self.status, self.stdout, self.stderr
        )
    }
}

impl std::error::Error for SystemError {}

/// Does a record with these conditions run on the `postgres` side?
fn runs_here(conditions: &[Condition]) -> bool {
    conditions.iter().all(|c| match c {
        Condition::OnlyIf { label } => label == LABEL_POSTGRES,
        Condition::SkipIf { label } => label != LABEL_POSTGRES,
    })
}

/// Run one `system` record on the cluster; Err is the failure report, worded as
/// sqllogictest's own.
fn run_system_record(
    nodes: &[ClusterNode],
    host: Option<&ClusterHost>,
    sessions: &SessionRegistry,
    record: &Record<PgColumnType>,
) -> Result<(), String> {
    let Record::System {
        loc,
        conditions,
        command,
        stdout: expected_stdout,
        retry,
        ..
    } = record
    else {
        unreachable!("only system records")
    };
    let fail = |err: Arc<dyn std::error::Error + Send + Sync>| {
        let kind = TestErrorKind::SystemFail {
            command: command.clone(),
            err,
        };
        format!("{}\nat {}\n", kind.display(false), loc)
    };
    let usage = |msg: String| {
        fail(Arc::new(PgError {
            sqlstate: None,
            text: msg,
        }))
    };
    // The command is checked even where the record is skipped: the file must
    // stay runnable on pgplay.
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    let parsed = cluster_commands::parse(command, &names).map_err(|e| fail(Arc::new(e)))?;
    if retry.is_some() {
        return Err(usage(
            "`system ok retry` is not supported in cluster files".to_string(),
        ));
    }
    if !runs_here(conditions) {
        return Ok(());
    }
    let Some(host) = host else {
        return Err(usage(
            "system commands need the cluster's directory (pgplay-conformance --cluster-dir DIR)"
                .to_string(),
        ));
    };
    if let ShellCommand::PgCtl { action, .. } = &parsed {
        if action.stops_or_starts() {
            // Close this node's sessions first (`-m smart` would wait for them);
            // each connects again on its next record.
            let node = nodes
                .iter()
                .position(|n| n.name == parsed.node())
                .expect("the parser knows only these nodes");
            let sessions = sessions.lock().unwrap_or_else(|e| e.into_inner());
            for (_, slot) in sessions.iter().filter(|(i, _)| *i == node) {
                slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            }
        }
    }
    let output = host.run(&parsed, command).map_err(|e| fail(Arc::new(e)))?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        return Err(fail(Arc::new(SystemError {
            status: output.status,
            stdout,
            stderr: String::from_utf8_lossy(&output.stderr).to_string(),
        })));
    }
    if let Some(expected) = expected_stdout {
        if expected != stdout.trim() {
            let kind = TestErrorKind::SystemStdoutMismatch {
                command: command.clone(),
                expected_stdout: expected.clone(),
                actual_stdout: stdout,
            };
            return Err(format!("{}\nat {}\n", kind.display(false), loc));
        }
    }
    Ok(())
}

/// Run one `.slt` file on a cluster. `connection NAME` before a record runs that
/// record on the node called NAME; any other name, and the default connection,
/// is a session on the first node. Every connection name keeps its own session
/// for the whole file. `system ok` records run the commands of
/// [`cluster_commands`] on `host` (without a host they fail).
pub fn run_file_on_cluster(
    nodes: &[ClusterNode],
    host: Option<&ClusterHost>,
    file: &Path,
) -> Result<(), String> {
    assert!(!nodes.is_empty(), "a cluster needs at least one node");
    let records = sqllogictest::parse_file::<PgColumnType>(file)
        .map_err(|e| sqllogictest::TestError::from(e).display(false).to_string())?;

    // sqllogictest opens a connection the first time a record uses its name, but
    // does not tell the maker which name that is: the loop below sets the node of
    // the record about to run, and the maker reads it.
    let target = Rc::new(Cell::new(0usize));
    let sessions: SessionRegistry = Arc::default();
    let configs: Vec<Config> = nodes.iter().map(|n| n.config.clone()).collect();
    let maker_target = Rc::clone(&target);
    let maker_sessions = Arc::clone(&sessions);
    let mut runner = sqllogictest::Runner::new(move || {
        let node = maker_target.get();
        let session = NodeSession::new(configs[node].clone());
        maker_sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((node, Arc::clone(&session.slot)));
        std::future::ready(Ok::<_, PgError>(session))
    });
    conventions::configure_runner(&mut runner, LABEL_POSTGRES);

    let mut result = Ok(());
    for record in records {
        match &record {
            Record::Halt { .. } => break,
            Record::System { .. } => {
                if let Err(e) = run_system_record(nodes, host, &sessions, &record) {
                    result = Err(e);
                    break;
                }
                continue;
            }
            Record::Statement { connection, .. }
            | Record::Query { connection, .. }
            | Record::Let { connection, .. } => target.set(node_index(nodes, connection)),
            _ => {}
        }
        if let Err(e) = runner.run(record) {
            result = Err(e.display(false).to_string());
            break;
        }
    }
    runner.shutdown();
    result
}

/// Run each file on the cluster whose nodes are given (the first is the primary).
/// Every node must be reachable at the start; files share the nodes' `postgres`
/// databases (the caller gives each file a fresh cluster).
pub fn run_cluster_files(
    nodes: &[ClusterNode],
    host: Option<&ClusterHost>,
    files: &[PathBuf],
) -> Result<Summary, String> {
    if nodes.is_empty() {
        return Err("no nodes given".to_string());
    }
    for (i, n) in nodes.iter().enumerate() {
        if nodes[..i].iter().any(|m| m.name == n.name) {
            return Err(format!("node {} given twice", n.name));
        }
        n.config
            .connect(NoTls)
            .map_err(|e| format!("cannot connect to node {}: {}", n.name, PgError::from(e)))?;
    }
    let mut summary = Summary::default();
    for file in files {
        match run_file_on_cluster(nodes, host, file) {
            Ok(()) => summary.passed += 1,
            Err(report) => {
                summary.failed += 1;
                summary.failures.push(FileFailure {
                    file: file.clone(),
                    report,
                });
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_specs() {
        let n = ClusterNode::parse("standby1=host=127.0.0.1 port=55433 user=postgres").unwrap();
        assert_eq!(n.name, "standby1");
        assert_eq!(n.config.get_ports(), &[55433]);
        assert_eq!(n.config.get_dbname(), Some("postgres"));
        let n = ClusterNode::parse("p=host=h dbname=other").unwrap();
        assert_eq!(n.config.get_dbname(), Some("other"));
        assert!(ClusterNode::parse("host=h").is_err());
        assert!(ClusterNode::parse("=host=h").is_err());
        assert!(ClusterNode::parse("noequals").is_err());
    }

    #[test]
    fn pg_ctl_gets_wait_and_a_log_file() {
        let host = ClusterHost {
            dir: PathBuf::from("/tmp/c 1"),
            pg_bin: PathBuf::from("/pg/bin"),
            run_as: None,
        };
        let nodes = ["primary", "standby1"];
        let text = |cmd: &str| host.shell_text(&cluster_commands::parse(cmd, &nodes).unwrap(), cmd);
        assert_eq!(
            text("pg_ctl -D primary start"),
            "pg_ctl -D primary -w -l '/tmp/c 1/primary.log' start"
        );
        assert_eq!(
            text("pg_ctl -D standby1 -m immediate -t 30 restart"),
            "pg_ctl -D standby1 -m immediate -t 30 -w -l '/tmp/c 1/standby1.log' restart"
        );
        assert_eq!(
            text("pg_ctl -w -D primary -m fast stop"),
            "pg_ctl -D primary -m fast -w stop"
        );
        assert_eq!(
            text(" touch primary/standby.signal "),
            "touch primary/standby.signal"
        );
    }

    #[test]
    fn conditions() {
        let only = |l: &str| Condition::OnlyIf { label: l.into() };
        let skip = |l: &str| Condition::SkipIf { label: l.into() };
        assert!(runs_here(&[]));
        assert!(runs_here(&[only("postgres")]));
        assert!(runs_here(&[skip("pgplay")]));
        assert!(!runs_here(&[only("pgplay")]));
        assert!(!runs_here(&[skip("postgres")]));
    }

    #[test]
    fn connection_names_pick_nodes() {
        let nodes: Vec<ClusterNode> = ["primary", "standby1", "standby2"]
            .iter()
            .map(|n| ClusterNode::parse(&format!("{n}=host=h")).unwrap())
            .collect();
        let named = |s: &str| Connection::Named(s.to_string());
        assert_eq!(node_index(&nodes, &Connection::Default), 0);
        assert_eq!(node_index(&nodes, &named("standby2")), 2);
        assert_eq!(node_index(&nodes, &named("standby1")), 1);
        assert_eq!(node_index(&nodes, &named("other")), 0);
    }
}
