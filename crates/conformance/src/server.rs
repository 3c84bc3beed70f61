//! The real-PostgreSQL side: a sqllogictest `DB` and a per-file runner, on one
//! server (each file in a fresh database) or on a cluster of named nodes.

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use postgres::{Client, Config, NoTls, SimpleQueryMessage};
use sqllogictest::{Connection, DBOutput, Record, DB};

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

/// A session on one cluster node. It connects when its first record runs, and
/// connects again before a record if the server closed the connection (the node
/// was stopped or restarted). A failure to connect is that record's error
/// (`client error: ...`), so a file can check that a stopped node is down.
pub struct NodeSession {
    config: Config,
    db: Option<PostgresDb>,
}

impl NodeSession {
    pub fn new(config: Config) -> Self {
        NodeSession { config, db: None }
    }
}

impl DB for NodeSession {
    type Error = PgError;
    type ColumnType = PgColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<PgColumnType>, PgError> {
        if self.db.as_mut().is_none_or(|d| d.client().is_closed()) {
            self.db = None;
            self.db = Some(PostgresDb::connect(&self.config)?);
        }
        let db = self.db.as_mut().expect("connected above");
        db.run(sql)
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

/// Run one `.slt` file on a cluster. `connection NAME` before a record runs that
/// record on the node called NAME; any other name, and the default connection,
/// is a session on the first node. Every connection name keeps its own session
/// for the whole file.
pub fn run_file_on_cluster(nodes: &[ClusterNode], file: &Path) -> Result<(), String> {
    assert!(!nodes.is_empty(), "a cluster needs at least one node");
    let records = sqllogictest::parse_file::<PgColumnType>(file)
        .map_err(|e| sqllogictest::TestError::from(e).display(false).to_string())?;

    // sqllogictest opens a connection the first time a record uses its name, but
    // does not tell the maker which name that is: the loop below sets the node of
    // the record about to run, and the maker reads it.
    let target = Rc::new(Cell::new(0usize));
    let configs: Vec<Config> = nodes.iter().map(|n| n.config.clone()).collect();
    let maker_target = Rc::clone(&target);
    let mut runner = sqllogictest::Runner::new(move || {
        std::future::ready(Ok::<_, PgError>(NodeSession::new(
            configs[maker_target.get()].clone(),
        )))
    });
    conventions::configure_runner(&mut runner, LABEL_POSTGRES);

    let mut result = Ok(());
    for record in records {
        match &record {
            Record::Halt { .. } => break,
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
pub fn run_cluster_files(nodes: &[ClusterNode], files: &[PathBuf]) -> Result<Summary, String> {
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
        match run_file_on_cluster(nodes, file) {
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
