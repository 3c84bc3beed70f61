//! The psql side of a node: a session's statement buffer and options, what
//! psql prints for results and errors, and the `\d` family of commands.

use pgplay_engine::catalog::{ConstraintKind, TableDef};
use pgplay_engine::{Outcome, SessionId, StatementResult};
use pgplay_psql as psql;
use pgplay_wal::time::Timestamp;
use pgplay_wal::Lsn;

use crate::Node;

/// A psql session on a node: its output options and the statement buffer.
pub struct Psql {
    pub session: SessionId,
    pub options: psql::Options,
    pub buffer: psql::QueryBuffer,
    pub quit: bool,
}

impl Node {
    pub fn connect(&mut self) -> Psql {
        Psql {
            session: self.db.open_session(),
            options: psql::Options::default(),
            buffer: psql::QueryBuffer::new(),
            quit: false,
        }
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
