//! One PostgreSQL server as the drivers see it: the engine plus a psql-like
//! session layer (statement text in, psql's printed text out), `\d`
//! descriptions, the server log, and `pg_waldump` of its WAL. Sans-IO: the
//! caller passes `now` with every input.
//!
//! Replication (walsender, walreceiver, promotion) joins this crate with the
//! cluster work; today a node is a single primary.

pub mod bench;

use std::collections::VecDeque;

use pgplay_engine::catalog::{ConstraintKind, TableDef};
use pgplay_engine::{Database, InitOptions, Outcome, SessionId, StatementResult};
use pgplay_psql as psql;
use pgplay_wal::time::Timestamp;
use pgplay_wal::{Lsn, SegmentSize, DEFAULT_SEGMENT_SIZE};

/// Most server log lines a node keeps.
pub const LOG_CAPACITY: usize = 1000;

pub struct Node {
    pub name: String,
    pub db: Database,
    log: VecDeque<String>,
}

/// A psql session on a node: its output options and the statement buffer.
pub struct Psql {
    pub session: SessionId,
    pub options: psql::Options,
    pub buffer: psql::QueryBuffer,
    pub quit: bool,
}

impl Node {
    /// `initdb` and start. The system identifier comes from the caller (a seed), never a clock.
    pub fn initdb(
        name: &str,
        system_identifier: u64,
        segment_size: Option<SegmentSize>,
        now: Timestamp,
    ) -> Node {
        let db = Database::initdb(InitOptions {
            system_identifier,
            segment_size: segment_size.unwrap_or(DEFAULT_SEGMENT_SIZE),
            now,
        });
        let mut node = Node {
            name: name.to_string(),
            db,
            log: VecDeque::new(),
        };
        node.push_log("LOG:  database system is ready to accept connections".to_string());
        node
    }

    fn push_log(&mut self, line: String) {
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Server log lines, oldest first.
    pub fn log(&mut self) -> impl Iterator<Item = &String> {
        let lines: Vec<String> = self.db.log_lines.drain(..).collect();
        lines.into_iter().for_each(|l| self.push_log(l));
        self.log.iter()
    }

    pub fn connect(&mut self) -> Psql {
        Psql {
            session: self.db.open_session(),
            options: psql::Options::default(),
            buffer: psql::QueryBuffer::new(),
            quit: false,
        }
    }

    /// Runs SQL text for a session and returns the engine's results.
    pub fn execute(
        &mut self,
        now: Timestamp,
        session: SessionId,
        sql: &str,
    ) -> Vec<StatementResult> {
        self.db.now = now;
        pgplay_engine::sql::execute(&mut self.db, session, sql)
    }

    /// Crash and restart with crash recovery; returns the log lines.
    pub fn crash_and_restart(&mut self, now: Timestamp) -> Vec<String> {
        self.db.now = now;
        self.db.crash();
        let lines = match self.db.recover() {
            Ok(lines) => lines,
            Err(error) => vec![format!("PANIC:  {}", error.message)],
        };
        lines.iter().for_each(|l| self.push_log(l.clone()));
        lines
    }

    /// One line of input typed at psql; returns what psql prints.
    pub fn psql_line(&mut self, now: Timestamp, psql: &mut Psql, line: &str) -> String {
        if psql.buffer.pending().trim().is_empty() && line.trim_start().starts_with('\\') {
            return self.meta_command(psql, line.trim());
        }
        let mut out = String::new();
        for statement in psql.buffer.push_line(line) {
            for result in self.execute(now, psql.session, &statement) {
                out.push_str(&render(&result, &statement, &psql.options));
            }
        }
        out
    }

    /// The prompt psql shows next (`postgres=#`, `postgres-#`, `postgres=*#`, ...).
    pub fn prompt(&self, psql: &Psql) -> String {
        let xact = self.db.session(psql.session).and_then(|s| s.xact.as_ref());
        let tx = match xact {
            Some(x) if x.failed => psql::TxStatus::Failed,
            Some(x) if x.explicit => psql::TxStatus::InTransaction,
            _ => psql::TxStatus::Idle,
        };
        psql::prompt("postgres", psql.buffer.status(), tx, true)
    }

    fn meta_command(&mut self, psql: &mut Psql, line: &str) -> String {
        let command = psql::parse_meta_command(line);
        match &command {
            psql::MetaCommand::Quit => {
                psql.quit = true;
                String::new()
            }
            psql::MetaCommand::Describe { pattern } => {
                self.describe(psql, pattern.as_deref(), false)
            }
            psql::MetaCommand::DescribeTables { pattern } => {
                self.describe(psql, pattern.as_deref(), true)
            }
            _ => command.apply(&mut psql.options),
        }
    }

    fn describe(&mut self, psql: &Psql, pattern: Option<&str>, tables_only: bool) -> String {
        let Ok(catalog) = self.db.catalog(psql.session) else {
            return String::new();
        };
        let mut relations: Vec<psql::RelationSummary> = catalog
            .tables
            .values()
            .filter(|t| !t.is_system())
            .map(|t| psql::RelationSummary {
                schema: "public".into(),
                name: t.name.clone(),
                kind: psql::RelationKind::Table,
                owner: "postgres".into(),
            })
            .collect();
        if !tables_only {
            relations.extend(catalog.sequences.values().map(|s| psql::RelationSummary {
                schema: "public".into(),
                name: s.name.clone(),
                kind: psql::RelationKind::Sequence,
                owner: "postgres".into(),
            }));
        }
        relations.sort_by(|a, b| a.name.cmp(&b.name));
        match pattern {
            Some(pattern) if !tables_only => {
                let matcher = psql::NamePattern::parse(pattern);
                let tables: Vec<&TableDef> = catalog
                    .tables
                    .values()
                    .filter(|t| !t.is_system() && matcher.matches("public", &t.name))
                    .collect();
                if tables.is_empty() {
                    return psql::not_found(Some(pattern));
                }
                tables
                    .into_iter()
                    .map(describe_table)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            _ => {
                let listing = psql::format_relation_list(&relations, pattern, &psql.options);
                if listing.is_empty() {
                    psql::not_found(pattern)
                } else {
                    listing
                }
            }
        }
    }

    /// `pg_waldump`-style lines for every record from `from` to the end of the WAL.
    pub fn waldump(&self, from: Lsn) -> Vec<String> {
        self.db
            .wal
            .records_from(from)
            .map(|read| match read {
                Ok(read) => read.record.waldump_line(read.lsn, read.length),
                Err(error) => format!("pg_waldump: error: {error}"),
            })
            .collect()
    }
}

fn describe_table(table: &TableDef) -> String {
    let columns = table
        .columns
        .iter()
        .map(|c| psql::ColumnDescription {
            name: c.name.clone(),
            type_name: c.data_type.name(),
            collation: None,
            not_null: c.not_null,
            default: c.default.clone(),
        })
        .collect();
    let indexes = table
        .constraints
        .iter()
        .map(|c| psql::IndexDescription {
            name: c.name.clone(),
            kind: if c.kind == ConstraintKind::PrimaryKey {
                psql::IndexKind::PrimaryKey
            } else {
                psql::IndexKind::UniqueConstraint
            },
            method: "btree".into(),
            columns: c
                .columns
                .iter()
                .map(|i| table.columns[*i].name.clone())
                .collect(),
            predicate: None,
        })
        .collect();
    psql::format_table_description(&psql::TableDescription {
        schema: "public".into(),
        name: table.name.clone(),
        columns,
        indexes,
        check_constraints: Vec::new(),
        foreign_keys: Vec::new(),
        referenced_by: Vec::new(),
    })
}

/// What psql prints for one statement's result.
pub fn render(result: &StatementResult, statement: &str, options: &psql::Options) -> String {
    let mut out = String::new();
    for notice in &result.notices {
        out.push_str(&psql::format_error(
            &report(notice),
            statement,
            options.verbosity,
        ));
    }
    match &result.outcome {
        Ok(Outcome::Rows { columns, rows, tag }) => {
            let set = psql::ResultSet {
                columns: columns
                    .iter()
                    .map(|c| psql::Column::new(&c.name, c.type_oid))
                    .collect(),
                rows: rows.clone(),
            };
            out.push_str(&psql::format_result(&set, options));
            if psql::tag_follows_rows(tag) {
                out.push_str(&psql::format_command_tag(tag));
            }
        }
        Ok(Outcome::Command { tag }) => out.push_str(&psql::format_command_tag(tag)),
        Err(error) => out.push_str(&psql::format_error(
            &report(error),
            statement,
            options.verbosity,
        )),
    }
    out
}

pub fn report(error: &pgplay_engine::DbError) -> psql::ErrorReport {
    psql::ErrorReport {
        severity: error.severity.to_string(),
        sqlstate: error.code.to_string(),
        message: error.message.clone(),
        detail: error.detail.clone(),
        hint: error.hint.clone(),
        position: error.position,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psql_session_prints_like_psql() {
        let mut node = Node::initdb("primary", 1, None, 0);
        let mut psql = node.connect();
        assert_eq!(
            node.psql_line(0, &mut psql, "CREATE TABLE streamtest(x int);"),
            "CREATE TABLE\n"
        );
        assert_eq!(
            node.psql_line(0, &mut psql, "INSERT INTO streamtest VALUES (1);"),
            "INSERT 0 1\n"
        );
        assert_eq!(node.psql_line(0, &mut psql, "SELECT x"), "");
        assert_eq!(node.prompt(&psql), "postgres-# ");
        assert_eq!(
            node.psql_line(0, &mut psql, "FROM streamtest;"),
            " x \n---\n 1\n(1 row)\n\n"
        );
        let listing = node.psql_line(0, &mut psql, "\\d");
        assert!(
            listing.contains(" public | streamtest | table | postgres"),
            "{listing}"
        );
    }

    #[test]
    fn other_sessions_see_ddl_only_once_committed() {
        let mut node = Node::initdb("primary", 1, None, 0);
        let (mut a, mut b) = (node.connect(), node.connect());
        let missing = "SELECT * FROM t;";
        assert!(node
            .psql_line(0, &mut b, missing)
            .contains("relation \"t\" does not exist"));
        node.psql_line(0, &mut a, "BEGIN;");
        node.psql_line(0, &mut a, "CREATE TABLE t(x int);");
        assert_eq!(
            node.psql_line(0, &mut a, "INSERT INTO t VALUES (1);"),
            "INSERT 0 1\n"
        );
        assert!(node
            .psql_line(0, &mut b, missing)
            .contains("relation \"t\" does not exist"));
        node.psql_line(0, &mut a, "COMMIT;");
        assert_eq!(
            node.psql_line(0, &mut b, "SELECT x FROM t;"),
            " x \n---\n 1\n(1 row)\n\n"
        );
        node.psql_line(0, &mut a, "DROP TABLE t;");
        assert!(node
            .psql_line(0, &mut b, missing)
            .contains("relation \"t\" does not exist"));
    }

    #[test]
    fn crash_recovery_keeps_committed_rows() {
        let mut node = Node::initdb("primary", 1, None, 0);
        let mut psql = node.connect();
        node.psql_line(0, &mut psql, "CREATE TABLE t(id int primary key, v text);");
        node.psql_line(0, &mut psql, "INSERT INTO t VALUES (1, 'a'), (2, 'b');");
        node.psql_line(0, &mut psql, "BEGIN;");
        node.psql_line(0, &mut psql, "INSERT INTO t VALUES (3, 'lost');");
        let before = node.db.data.storage.clone();
        node.crash_and_restart(1);
        let mut psql = node.connect();
        let out = node.psql_line(1, &mut psql, "SELECT id, v FROM t ORDER BY id;");
        assert_eq!(out, " id | v \n----+---\n  1 | a\n  2 | b\n(2 rows)\n\n");
        assert_ne!(
            before, node.db.data.storage,
            "the uncommitted insert's page state was rebuilt by redo"
        );
        assert_eq!(
            node.psql_line(1, &mut psql, "INSERT INTO t VALUES (3, 'c');"),
            "INSERT 0 1\n"
        );
    }
}
