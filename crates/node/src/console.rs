//! The psql side of a node: a session's statement buffer and options, what
//! psql prints for results and errors, and the `\d` family of commands.

use pgplay_engine::catalog::TableDef;
use pgplay_engine::{Outcome, SessionId, StatementResult};
use pgplay_psql as psql;
use pgplay_wal::time::Timestamp;
use pgplay_wal::Lsn;
use std::collections::VecDeque;

use crate::Node;

/// A psql session on a node: its output options and the statement buffer.
pub struct Psql {
    pub session: SessionId,
    pub options: psql::Options,
    pub buffer: psql::QueryBuffer,
    pub quit: bool,
    /// The statement whose commit waits for synchronous standbys: psql
    /// prints its result when the wait ends ([`Node::psql_resume`]).
    pub waiting: Option<String>,
    /// Statements typed after it, sent once it is answered (bounded by
    /// [`MAX_QUEUED`]).
    pub queued: VecDeque<String>,
    /// A FATAL ended the backend while psql read a script (not a terminal): psql stops there,
    /// with exit status 2.
    pub connection_lost: bool,
    /// The driver's wall clock in milliseconds, for `\timing` at a terminal and in the page.
    /// None: `\timing` shows the simulator's time (the statement's work and sleeps), so a
    /// piped script's transcript stays the same from run to run.
    pub clock: Option<fn() -> f64>,
    /// When the statement in [`Psql::waiting`] started, for its `\timing` line.
    waiting_since: Option<Stopwatch>,
    /// The first ERROR (or FATAL, PANIC) a statement met since the driver last took it
    /// ([`Psql::take_error`]): what psql keeps as `LAST_ERROR_SQLSTATE` and
    /// `LAST_ERROR_MESSAGE`, but the first rather than the last, so a driver that sent several
    /// statements (the page's JavaScript API) can reject with the one that failed first.
    first_error: Option<psql::ErrorReport>,
}

impl Psql {
    /// The first error since the last call, and forgets it.
    pub fn take_error(&mut self) -> Option<psql::ErrorReport> {
        self.first_error.take()
    }

    /// Keeps `result`'s error if it is the first since the last [`Psql::take_error`].
    fn note_error(&mut self, result: &StatementResult) {
        if let (Err(error), None) = (&result.outcome, &self.first_error) {
            self.first_error = Some(report(error));
        }
    }
}

/// Where a statement's `\timing` starts: the simulated time taken so far, the simulated
/// now, and the wall clock if the driver gave one.
#[derive(Clone, Copy, Debug)]
struct Stopwatch {
    taken: i64,
    now: Timestamp,
    wall: Option<f64>,
}

impl Stopwatch {
    /// Milliseconds since the start: the wall clock's, else the simulated time (the
    /// statement's own cost plus, for a wait, the time the cluster ran meanwhile).
    fn elapsed_ms(&self, node: &Node, now: Timestamp, clock: Option<fn() -> f64>) -> f64 {
        match (clock, self.wall) {
            (Some(clock), Some(start)) => (clock() - start).max(0.0),
            _ => {
                let own = node.db.interrupts.time_taken() - self.taken;
                let waited = now.saturating_sub(self.now);
                (own.max(0) + waited.max(0)) as f64 / 1000.0
            }
        }
    }
}

/// Most statements psql keeps while its backend waits.
pub const MAX_QUEUED: usize = 100;

impl Node {
    pub fn connect(&mut self) -> Psql {
        Psql {
            session: self.db.open_session(),
            options: psql::Options::default(),
            buffer: psql::QueryBuffer::new(),
            quit: false,
            waiting: None,
            queued: VecDeque::new(),
            connection_lost: false,
            clock: None,
            waiting_since: None,
            first_error: None,
        }
    }

    /// One line of input typed at psql; returns what psql prints.
    pub fn psql_line(&mut self, now: Timestamp, psql: &mut Psql, line: &str) -> String {
        if psql.buffer.pending().trim().is_empty() && line.trim_start().starts_with('\\') {
            return self.meta_command(psql, line.trim());
        }
        let statements = psql.buffer.push_line(line);
        self.send_statements(now, psql, statements)
    }

    /// End of input (a script piped into psql ends): the unfinished statement is sent as it is.
    pub fn psql_end_of_input(&mut self, now: Timestamp, psql: &mut Psql) -> String {
        let statement = psql.buffer.finish();
        self.send_statements(now, psql, statement)
    }

    /// Queues the statements psql completed and runs them, unless the backend still waits for
    /// synchronous standbys (they run when it is answered).
    fn send_statements(
        &mut self,
        now: Timestamp,
        psql: &mut Psql,
        statements: impl IntoIterator<Item = String>,
    ) -> String {
        for statement in statements {
            if psql.queued.len() < MAX_QUEUED {
                psql.queued.push_back(statement);
            }
        }
        if psql.waiting.is_some() {
            return String::new();
        }
        self.run_queued(now, psql)
    }

    /// Sends the queued statements one by one until one waits for
    /// synchronous standbys; returns what psql prints.
    fn run_queued(&mut self, now: Timestamp, psql: &mut Psql) -> String {
        let mut out = String::new();
        while let Some(statement) = psql.queued.pop_front() {
            let stopwatch = Stopwatch {
                taken: self.db.interrupts.time_taken(),
                now,
                wall: psql.clock.map(|clock| clock()),
            };
            let results = self.execute(now, psql.session, &statement);
            if self.is_waiting(psql.session) {
                psql.waiting = Some(statement);
                psql.waiting_since = Some(stopwatch);
                break;
            }
            for result in results {
                psql.note_error(&result);
                out.push_str(&render(&result, &statement, &psql.options));
                psql.connection_lost |=
                    !psql.options.interactive && ends_connection_result(&result);
            }
            if psql.options.timing {
                let elapsed = stopwatch.elapsed_ms(self, now, psql.clock);
                out.push_str(&psql::format_timing(elapsed));
            }
            if psql.connection_lost {
                psql.queued.clear();
                break;
            }
        }
        out
    }

    /// One line of input as bytes, as psql reads it. A line that is not UTF-8 is refused as
    /// the server refuses such a query, with what was pending in the buffer (pgplay checks the
    /// whole line, so statements before the bad byte on the same line are refused with it).
    pub fn psql_bytes(&mut self, now: Timestamp, psql: &mut Psql, line: &[u8]) -> String {
        let error = match pgplay_engine::sql::check_utf8(line) {
            Ok(text) => return self.psql_line(now, psql, text),
            Err(error) => error,
        };
        psql.buffer.clear();
        let result = if psql.waiting.is_some() {
            // The backend is busy with a commit's wait, which the refusal must not disturb.
            StatementResult {
                outcome: Err(error),
                notices: Vec::new(),
            }
        } else {
            pgplay_engine::sql::reject(&mut self.db, psql.session, error)
        };
        psql.note_error(&result);
        render(&result, "", &psql.options)
    }

    /// After the cluster moved on: if this session's wait for synchronous
    /// standbys has ended, what psql prints for it and for the statements
    /// typed meanwhile. `None` while it still waits (or never did).
    pub fn psql_resume(&mut self, now: Timestamp, psql: &mut Psql) -> Option<String> {
        psql.waiting.as_ref()?;
        let results = self.take_released(psql.session)?;
        let statement = psql.waiting.take().unwrap_or_default();
        let mut out = String::new();
        for result in &results {
            psql.note_error(result);
            out.push_str(&render(result, &statement, &psql.options));
            psql.connection_lost |= !psql.options.interactive && ends_connection_result(result);
        }
        if let (true, Some(stopwatch)) = (psql.options.timing, psql.waiting_since.take()) {
            out.push_str(&psql::format_timing(
                stopwatch.elapsed_ms(self, now, psql.clock),
            ));
        }
        let lost = results
            .last()
            .is_some_and(|r| matches!(&r.outcome, Err(e) if e.severity == "FATAL"));
        if lost {
            // The connection is gone: psql drops what was typed meanwhile.
            psql.queued.clear();
            psql.session = self.db.open_session();
            return Some(out);
        }
        out.push_str(&self.run_queued(now, psql));
        Some(out)
    }

    /// The statement just run was cancelled while it slept (psql's Ctrl+C): what psql prints
    /// instead of its result, and its transaction block fails as after any error.
    pub fn psql_cancelled(&mut self, psql: &Psql) -> String {
        let error = pgplay_engine::DbError::canceled_by_user();
        let result = pgplay_engine::sql::reject(&mut self.db, psql.session, error);
        format!(
            "Cancel request sent\n{}",
            render(&result, "", &psql.options)
        )
    }

    /// psql's Ctrl+C while the backend waits: "Cancel request sent".
    pub fn psql_cancel(&mut self, psql: &Psql) -> String {
        if psql.waiting.is_none() {
            return String::new();
        }
        self.cancel_wait(psql.session);
        "Cancel request sent\n".into()
    }

    /// The prompt psql shows next (`postgres=#`, `postgres-#`, `postgres=*#`, ...).
    pub fn prompt(&self, psql: &Psql) -> String {
        psql::prompt(
            "postgres",
            psql.buffer.status(),
            self.transaction_status(psql),
            true,
        )
    }

    /// What psql's prompt marks of the session's transaction: none, `*` in
    /// a transaction block, `!` in a failed one.
    pub fn transaction_status(&self, psql: &Psql) -> psql::TxStatus {
        let xact = self.db.session(psql.session).and_then(|s| s.xact.as_ref());
        match xact {
            Some(x) if x.failed => psql::TxStatus::Failed,
            Some(x) if x.explicit => psql::TxStatus::InTransaction,
            _ => psql::TxStatus::Idle,
        }
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
            psql::MetaCommand::DescribeFunctions {
                pattern,
                kinds,
                system,
            } => describe_functions(pattern.as_deref(), kinds, *system, &psql.options),
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
            relations.extend(catalog.views.values().map(|v| psql::RelationSummary {
                schema: "public".into(),
                name: v.name.clone(),
                kind: psql::RelationKind::View,
                owner: "postgres".into(),
            }));
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
                    if catalog.views.keys().any(|v| matcher.matches("public", v)) {
                        return "\\d of a view is not supported by pgplay yet\n".to_string();
                    }
                    return psql::not_found(Some(pattern));
                }
                tables
                    .into_iter()
                    .map(|t| describe_table(t, &catalog))
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

fn describe_table(table: &TableDef, catalog: &pgplay_engine::catalog::Catalog) -> String {
    let keys = catalog.foreign_keys();
    let foreign_keys = keys
        .iter()
        .filter(|k| k.table == table.oid)
        .map(|k| psql::ConstraintDescription {
            name: k.name.clone(),
            definition: k.definition(catalog),
        })
        .collect();
    let referenced_by = keys
        .iter()
        .filter(|k| k.ref_table == table.oid)
        .map(|k| psql::ReferencingConstraint {
            table: catalog
                .table_by_oid(k.table)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            constraint: psql::ConstraintDescription {
                name: k.name.clone(),
                definition: k.definition(catalog),
            },
        })
        .collect::<Vec<_>>();
    let mut referenced_by = referenced_by;
    referenced_by.sort_by(|a, b| a.constraint.name.cmp(&b.constraint.name));
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
        .indexes
        .iter()
        .map(|index| psql::IndexDescription {
            name: index.name.clone(),
            kind: if index.primary {
                psql::IndexKind::PrimaryKey
            } else if table.constraints.iter().any(|c| c.name == index.name) {
                psql::IndexKind::UniqueConstraint
            } else if index.unique {
                psql::IndexKind::Unique
            } else {
                psql::IndexKind::Plain
            },
            method: "btree".into(),
            columns: index
                .columns
                .iter()
                .zip(&index.descending)
                .map(|(i, desc)| {
                    let name = table.columns[*i].name.clone();
                    if *desc {
                        format!("{name} DESC")
                    } else {
                        name
                    }
                })
                .collect(),
            predicate: None,
        })
        .collect();
    psql::format_table_description(&psql::TableDescription {
        schema: "public".into(),
        name: table.name.clone(),
        unlogged: catalog.is_unlogged(table.oid),
        columns,
        indexes,
        check_constraints: table
            .checks
            .iter()
            .map(|c| psql::ConstraintDescription {
                name: c.name.clone(),
                definition: format!(
                    "CHECK ({}){}",
                    c.expr,
                    if c.validated { "" } else { " NOT VALID" }
                ),
            })
            .collect(),
        foreign_keys,
        referenced_by,
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
        Err(error) => {
            out.push_str(&psql::format_error(
                &report(error),
                statement,
                options.verbosity,
            ));
            if ends_connection(error) && options.interactive {
                out.push_str(CONNECTION_LOST);
            } else if ends_connection(error) {
                out.push_str(CONNECTION_LOST_IN_SCRIPT);
            }
        }
    }
    out
}

/// What psql 15 prints at a terminal after a FATAL that ended its backend: libpq's words for
/// the closed socket, then psql's reconnection (the next statement runs in a new backend).
pub const CONNECTION_LOST: &str = "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\nThe connection to the server was lost. Attempting reset: Succeeded.\n";

/// What psql 15 prints reading a script after the same FATAL, before it exits with status 2.
pub const CONNECTION_LOST_IN_SCRIPT: &str = "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\nconnection to server was lost\n";

fn ends_connection_result(result: &StatementResult) -> bool {
    matches!(&result.outcome, Err(error) if ends_connection(error))
}

/// A FATAL with which the server ends a backend that is still connected: terminated
/// (`pg_terminate_backend()`, a shutdown) or idle too long.
fn ends_connection(error: &pgplay_engine::DbError) -> bool {
    error.severity == "FATAL" && matches!(error.code, "57P01" | "25P03" | "57P05")
}

pub fn report(error: &pgplay_engine::DbError) -> psql::ErrorReport {
    psql::ErrorReport {
        severity: error.severity.to_string(),
        sqlstate: error.code.to_string(),
        message: error.message.clone(),
        detail: error.detail.clone(),
        hint: error.hint.clone(),
        position: error.position,
        context: error.context.clone(),
    }
}

/// `\df`: PostgreSQL 15's built-in functions from the engine's catalog (`pg_proc`), all in
/// schema pg_catalog. Without a pattern psql lists only user functions (none: pgplay has no
/// CREATE FUNCTION) unless `S` is given.
fn describe_functions(
    pattern: Option<&str>,
    kinds: &str,
    system: bool,
    options: &psql::Options,
) -> String {
    use pgplay_engine::pg_proc::{catalog, Kind};
    let catalog = catalog();
    let matcher = pattern.map(psql::NamePattern::parse);
    let trigger = catalog.type_oid("trigger");
    let shown = |kind: Kind, result: u32| {
        let letter = match kind {
            Kind::Aggregate => 'a',
            Kind::Window => 'w',
            Kind::Procedure => 'p',
            Kind::Function if Some(result) == trigger => 't',
            Kind::Function => 'n',
        };
        kinds.is_empty() || kinds.contains(letter)
    };
    let functions: Vec<psql::FunctionSummary> = catalog
        .functions()
        .iter()
        .filter(|f| match &matcher {
            Some(m) => m.matches("pg_catalog", f.name),
            None => system,
        })
        .filter(|f| shown(f.kind, f.result))
        .map(|f| psql::FunctionSummary {
            schema: "pg_catalog".into(),
            name: f.name.to_string(),
            result: f.result_display(catalog),
            arguments: f.arguments_display(catalog),
            kind: f.kind.label().into(),
        })
        .collect();
    psql::format_function_list(&functions, options)
}
