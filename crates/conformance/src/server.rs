//! The real-PostgreSQL side: a sqllogictest `DB` and a per-file runner.

use std::fmt;
use std::path::{Path, PathBuf};

use postgres::{Client, Config, NoTls, SimpleQueryMessage};
use sqllogictest::{DBOutput, DB};

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
            None => PgError {
                sqlstate: None,
                text: format!("client error: {e}"),
            },
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
