//! SQL: parse with sqlparser (PostgreSQL dialect), bind names and types,
//! execute on our heap. One statement's walk: [`execute`] parses, opens an
//! implicit transaction if none is open, dispatches to SELECT ([`query`]),
//! DML ([`dml`]) or DDL ([`ddl`]); every write becomes a WAL record first
//! ([`crate::database::Database::log`]); the statement commits or fails.

mod admin;
mod alter;
pub(crate) mod alter_column;
mod arrays;
pub mod bind;
mod bytea;
mod check;
mod create_as;
mod datetime;
mod ddl;
mod dml;
pub mod expr;
mod foreign_key;
pub mod functions;
mod index;
pub mod json;
mod lock_table;
pub mod plan;
pub mod query;
mod roles;
pub mod row_lock;
mod to_char;
mod transaction;
mod upsert;
pub mod view;

use std::sync::Arc as Rc;

use sqlparser::ast::{self as ast, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{TokenWithSpan, Tokenizer};

use crate::catalog::{Catalog, TableDef};
use crate::database::{ColumnInfo, Database, Outcome, SessionId, StatementResult};
use crate::error::{code, DbError, Result};
use crate::heap::ItemPointer;
use crate::mvcc::Snapshot;
use crate::types::{DataType, Value};
use expr::Host;
use pgplay_wal::RelFileLocator;

/// Runs one or more `;`-separated statements, stopping at the first error.
pub fn execute(db: &mut Database, session: SessionId, sql: &str) -> Vec<StatementResult> {
    let _stack = crate::stack::StackBase::enter();
    let now = db.now;
    let current = db.session_mut(session);
    current.last_query = sql.trim().to_string();
    current.query_start = Some(now);
    let statements = match parse(sql) {
        Ok(statements) => statements,
        Err(error) => {
            fail_transaction(db, session);
            return vec![StatementResult {
                outcome: Err(error),
                notices: Vec::new(),
            }];
        }
    };
    run_statements(db, session, statements)
}

/// Runs a query string's statements until one fails or must wait for a lock; a waiting
/// statement and those after it stay with the session ([`resume`]).
fn run_statements(
    db: &mut Database,
    session: SessionId,
    statements: Vec<Parsed>,
) -> Vec<StatementResult> {
    let mut results = Vec::new();
    let mut statements = statements.into_iter();
    while let Some(statement) = statements.next() {
        // Only a statement that can meet a locked row may have to run again.
        let again = may_wait(&statement).then(|| statement.clone());
        let result = execute_one(db, session, statement);
        if let (Some(again), true) = (again, is_lock_waiting(db, session)) {
            let current = db.session_mut(session);
            current.pending = std::iter::once(again).chain(statements).collect();
            return results;
        }
        let failed = result.outcome.is_err();
        results.push(result);
        if failed {
            break;
        }
    }
    results
}

/// Statements that take locks: all but transaction control and the few pgplay handles
/// itself without a table.
fn may_wait(parsed: &Parsed) -> bool {
    match parsed {
        Parsed::Sql(statement) => !matches!(
            statement.as_ref(),
            Statement::StartTransaction { .. }
                | Statement::Commit { .. }
                | Statement::Rollback { .. }
                | Statement::Savepoint { .. }
                | Statement::ReleaseSavepoint { .. }
                | Statement::Set(_)
                | Statement::ShowVariable { .. }
        ),
        Parsed::Vacuum(_) | Parsed::Reindex { .. } => true,
        Parsed::AlterSystem { .. } | Parsed::Checkpoint => false,
    }
}

/// Is this session's statement waiting for another transaction to end ([`crate::lock`])?
pub fn is_lock_waiting(db: &Database, session: SessionId) -> bool {
    db.session(session).is_some_and(|s| s.lock_wait.is_some())
}

/// A waiting session whose awaited transaction has ended runs its statement again, and the
/// statements after it; `None` while the transaction is still in progress (or the session
/// does not wait).
pub fn resume(db: &mut Database, session: SessionId) -> Option<Vec<StatementResult>> {
    db.session(session)?.lock_wait.as_ref()?;
    if !db.wait_is_over(session) {
        return None;
    }
    let current = db.session_mut(session);
    current.lock_wait = None;
    let pending = std::mem::take(&mut current.pending);
    Some(run_statements(db, session, pending))
}

/// Ends a session's lock wait with `error` (a cancel, a timeout): the statement fails as any
/// failing statement does, and the statements after it are dropped.
pub fn end_lock_wait(
    db: &mut Database,
    session: SessionId,
    error: DbError,
) -> Option<StatementResult> {
    let current = db.sessions.get_mut(&session)?;
    current.lock_wait.take()?;
    current.queue_seq = None;
    current.pending.clear();
    Some(reject(db, session, error))
}

/// Statements pgplay handles before sqlparser sees them.
#[derive(Clone, Debug)]
pub(crate) enum Parsed {
    Sql(Box<Statement>),
    AlterSystem {
        name: String,
        value: Option<String>,
    },
    Checkpoint,
    /// `REINDEX INDEX name` or `REINDEX TABLE name` (sqlparser has no REINDEX).
    Reindex {
        kind: String,
        name: String,
    },
    Vacuum(crate::vacuum::VacuumStmt),
}

fn parse(sql: &str) -> Result<Vec<Parsed>> {
    let trimmed = sql.trim().trim_end_matches(';').trim();
    // The checks below read at most the first three words and whether there are more.
    let words: Vec<String> = trimmed
        .split_whitespace()
        .take(4)
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.first().map(String::as_str) == Some("checkpoint") && words.len() == 1 {
        return Ok(vec![Parsed::Checkpoint]);
    }
    if words.first().map(String::as_str) == Some("reindex") {
        return match words.as_slice() {
            [_, kind, name] if kind == "index" || kind == "table" => Ok(vec![Parsed::Reindex {
                kind: kind.clone(),
                name: trimmed
                    .split_whitespace()
                    .nth(2)
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_string(),
            }]),
            _ => Err(DbError::feature_not_supported(
                "this form of REINDEX is not supported by pgplay yet",
            )),
        };
    }
    if matches!(
        words.first().map(String::as_str),
        Some("vacuum" | "analyze" | "analyse")
    ) {
        if let Some(parsed) = crate::vacuum::parse(trimmed) {
            return parsed.map(|stmt| vec![Parsed::Vacuum(stmt)]);
        }
    }
    if let Some(command) = two_phase_command(&words) {
        return Err(DbError::new(
            code::FEATURE_NOT_SUPPORTED,
            format!("{command} is not supported by pgplay yet"),
        ));
    }
    if words.len() >= 3 && words[0] == "alter" && words[1] == "system" {
        return parse_alter_system(trimmed).map(|p| vec![p]);
    }
    // sqlparser reads CREATE USER in Snowflake's syntax; PostgreSQL's is
    // CREATE ROLE with LOGIN implied.
    let create_user = words.len() >= 3 && words[0] == "create" && words[1] == "user";
    let create_role =
        create_user || (words.len() >= 3 && words[0] == "create" && words[1] == "role");
    let rewritten;
    let sql = if create_role {
        let mut text = sql.to_string();
        if create_user {
            let at = text.to_ascii_lowercase().find("user").unwrap_or(0);
            text = format!("{}ROLE{}", &text[..at], &text[at + 4..]);
        }
        // ENCRYPTED is noise in PostgreSQL (passwords are always stored hashed).
        if let Some(at) = text.to_ascii_lowercase().find("encrypted password") {
            text.replace_range(at..at + "encrypted ".len(), "");
        }
        rewritten = text;
        rewritten.as_str()
    } else {
        sql
    };
    // The text is tokenized once: the checks and the parser share the tokens. Text the
    // tokenizer refuses, and the rare statement with DEFERRABLE, take the long way.
    let tokens = match Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() {
        Ok(mut tokens) => {
            if let Some(error) = star_alias_error(sql, &tokens)
                .or_else(|| reserved_table_name_error(sql, &tokens))
                .or_else(|| key_row_lock_error(&tokens))
            {
                return Err(error);
            }
            plan::window_spec::mark_exclusions(&mut tokens);
            plan::grouping::mark_distinct(&mut tokens);
            Some(tokens).filter(|tokens| !transaction::names_deferrable(tokens))
        }
        Err(_) => {
            if let Some(error) = unterminated_string_error(sql) {
                return Err(error);
            }
            None
        }
    };
    let parsed = match tokens {
        Some(tokens) => parse_bounded(sql, Some(tokens)),
        None => {
            let stripped = transaction::without_deferrable(sql);
            parse_bounded(stripped.as_deref().unwrap_or(sql), None)
        }
    };
    let mut statements = match parsed {
        Err(error) if error.code == code::SYNTAX_ERROR => {
            vec![create_as::parse_with_column_names(sql).ok_or(error)?]
        }
        other => other?,
    };
    if create_user {
        for statement in &mut statements {
            if let Statement::CreateRole(create) = statement {
                create.login = Some(create.login.unwrap_or(true));
            }
        }
    }
    Ok(statements
        .into_iter()
        .map(|s| Parsed::Sql(Box::new(s)))
        .collect())
}

/// PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED (two-phase commit), which sqlparser
/// does not read.
fn two_phase_command(words: &[String]) -> Option<&'static str> {
    match (words.first()?.as_str(), words.get(1)?.as_str()) {
        ("prepare", "transaction") => Some("PREPARE TRANSACTION"),
        ("commit", "prepared") => Some("COMMIT PREPARED"),
        ("rollback", "prepared") => Some("ROLLBACK PREPARED"),
        _ => None,
    }
}

/// sqlparser with its recursion bounded ([`crate::stack`]): too deep a statement is PostgreSQL's
/// `stack depth limit exceeded`, never a crash.
/// `tokens`, when given, are `sql`'s own (as `Parser::try_with_sql` would make them).
fn parse_bounded(sql: &str, tokens: Option<Vec<TokenWithSpan>>) -> Result<Vec<Statement>> {
    use sqlparser::parser::ParserError;
    if crate::stack::nesting_estimate(sql) > crate::stack::MAX_NESTING {
        return Err(crate::stack::depth_exceeded());
    }
    let parser = Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(crate::stack::PARSER_RECURSION_LIMIT);
    match tokens {
        Some(tokens) => Ok(parser.with_tokens_with_locations(tokens)),
        None => parser.try_with_sql(sql),
    }
    .and_then(|mut parser| parse_statements(&mut parser))
    .map_err(|error| match error {
        ParserError::RecursionLimitExceeded => crate::stack::depth_exceeded(),
        other => parse_error(sql, &other.to_string()),
    })
}

/// sqlparser's `parse_statements`, plus PostgreSQL's `TABLE name` as a statement of its own:
/// sqlparser reads `TABLE t` only inside a query (`... UNION TABLE t`), not where a statement
/// starts, so a statement starting with TABLE is read as a query.
fn parse_statements(
    parser: &mut Parser<'_>,
) -> std::result::Result<Vec<Statement>, sqlparser::parser::ParserError> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    let mut statements = Vec::new();
    let mut expecting_delimiter = false;
    loop {
        while parser.consume_token(&Token::SemiColon) {
            expecting_delimiter = false;
        }
        match &parser.peek_token_ref().token {
            Token::EOF => return Ok(statements),
            Token::Word(word) if expecting_delimiter && word.keyword == Keyword::END => {
                return Ok(statements)
            }
            _ => {}
        }
        if expecting_delimiter {
            return parser.expected("end of statement", parser.peek_token());
        }
        let statement = if parser.peek_keyword(Keyword::TABLE) {
            Statement::Query(parser.parse_query()?)
        } else {
            parser.parse_statement()?
        };
        statements.push(statement);
        expecting_delimiter = true;
    }
}

fn parse_alter_system(sql: &str) -> Result<Parsed> {
    let rest = sql[sql.to_ascii_lowercase().find("system").unwrap_or(0) + 6..].trim();
    let lower = rest.to_ascii_lowercase();
    if let Some(name) = lower.strip_prefix("reset ") {
        return Ok(Parsed::AlterSystem {
            name: name.trim().to_string(),
            value: None,
        });
    }
    let Some(assignment) = rest.get(4..).filter(|_| lower.starts_with("set ")) else {
        return Err(DbError::syntax(format!(
            "syntax error at or near \"{}\"",
            rest.split_whitespace().next().unwrap_or("")
        )));
    };
    let (name, value) = assignment
        .split_once('=')
        .or_else(|| {
            let index = assignment.to_ascii_lowercase().find(" to ")?;
            Some((&assignment[..index], &assignment[index + 4..]))
        })
        .ok_or_else(|| DbError::syntax("syntax error at end of input"))?;
    let value = value.trim();
    let value = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .map(|v| v.replace("''", "'"))
        .unwrap_or_else(|| value.to_string());
    let value = if value.eq_ignore_ascii_case("default") {
        None
    } else {
        Some(value)
    };
    Ok(Parsed::AlterSystem {
        name: name.trim().to_ascii_lowercase(),
        value,
    })
}

/// `SELECT 'abc`: PostgreSQL's lexer reports the rest of the input.
fn unterminated_string_error(sql: &str) -> Option<DbError> {
    use sqlparser::tokenizer::Tokenizer;
    let error = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .err()?;
    if !error.message.contains("Unterminated string literal") {
        return None;
    }
    let line = error.location.line as usize;
    let column = error.location.column as usize;
    let offset: usize = sql
        .lines()
        .take(line.saturating_sub(1))
        .map(|l| l.chars().count() + 1)
        .sum();
    let start = offset + column;
    let rest: String = sql.chars().skip(start.saturating_sub(1)).collect();
    Some(
        DbError::syntax(format!(
            "unterminated quoted string at or near \"{}\"",
            rest.trim_end()
        ))
        .with_position(Some(start)),
    )
}

/// PostgreSQL's fully reserved keywords, which cannot name a table unquoted
/// (sqlparser accepts some of them).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

/// `CREATE TABLE table (...)`: PostgreSQL stops at the reserved word.
/// `FOR NO KEY UPDATE` and `FOR KEY SHARE`, which sqlparser cannot read: pgplay's row
/// locks have only the FOR UPDATE and FOR SHARE strengths.
fn key_row_lock_error(tokens: &[TokenWithSpan]) -> Option<DbError> {
    use sqlparser::tokenizer::Token;
    let words: Vec<String> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .map(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_lowercase(),
            _ => String::new(),
        })
        .collect();
    let found = words.windows(4).find_map(|w| match w {
        [f, n, k, u] if f == "for" && n == "no" && k == "key" && u == "update" => {
            Some("FOR NO KEY UPDATE")
        }
        [f, k, s, _] if f == "for" && k == "key" && s == "share" => Some("FOR KEY SHARE"),
        _ => None,
    });
    let found = found.or_else(|| {
        let n = words.len();
        (n >= 3 && words[n - 3] == "for" && words[n - 2] == "key" && words[n - 1] == "share")
            .then_some("FOR KEY SHARE")
    });
    found.map(|what| {
        DbError::feature_not_supported(format!("SELECT {what} is not supported by pgplay yet"))
    })
}

fn reserved_table_name_error(sql: &str, tokens: &[TokenWithSpan]) -> Option<DbError> {
    use sqlparser::tokenizer::Token;
    let words: Vec<_> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .take(6)
        .collect();
    let word = |i: usize| match words.get(i).map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_lowercase()),
        _ => None,
    };
    if word(0).as_deref() != Some("create") || word(1).as_deref() != Some("table") {
        return None;
    }
    let mut at = 2;
    if word(2).as_deref() == Some("if") && word(3).as_deref() == Some("not") {
        at = 5;
    }
    let name = word(at)?;
    if !RESERVED.contains(&name.as_str()) {
        return None;
    }
    let token = words[at];
    let Token::Word(original) = &token.token else {
        return None;
    };
    let offset: usize = sql
        .lines()
        .take((token.span.start.line as usize).saturating_sub(1))
        .map(|l| l.chars().count() + 1)
        .sum();
    Some(
        DbError::syntax(format!("syntax error at or near \"{}\"", original.value))
            .with_position(Some(offset + token.span.start.column as usize)),
    )
}

/// PostgreSQL's grammar gives `*` in a select list no alias, so in
/// `SELECT * FROMM t` the error is at "FROMM"; sqlparser takes FROMM for an
/// alias and fails later. Catch that shape first.
fn star_alias_error(sql: &str, tokens: &[TokenWithSpan]) -> Option<DbError> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    let tokens: Vec<_> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    for window in tokens.windows(3) {
        let [before, star, after] = window else {
            continue;
        };
        let in_select_list = matches!(&before.token, Token::Comma | Token::Period)
            || matches!(&before.token, Token::Word(w) if w.keyword == Keyword::SELECT);
        if !in_select_list || star.token != Token::Mul {
            continue;
        }
        let Token::Word(word) = &after.token else {
            continue;
        };
        let follows = [
            Keyword::FROM,
            Keyword::WHERE,
            Keyword::GROUP,
            Keyword::HAVING,
            Keyword::ORDER,
            Keyword::LIMIT,
            Keyword::OFFSET,
            Keyword::UNION,
            Keyword::EXCEPT,
            Keyword::INTERSECT,
            Keyword::INTO,
            Keyword::FETCH,
            Keyword::FOR,
            Keyword::WINDOW,
            Keyword::RETURNING,
        ];
        if follows.contains(&word.keyword) {
            continue;
        }
        let line = after.span.start.line as usize;
        let column = after.span.start.column as usize;
        let offset: usize = sql
            .lines()
            .take(line.saturating_sub(1))
            .map(|l| l.chars().count() + 1)
            .sum();
        return Some(
            DbError::syntax(format!("syntax error at or near \"{}\"", word.value))
                .with_position(Some(offset + column)),
        );
    }
    None
}

/// Turns sqlparser's message into PostgreSQL's `syntax error at or near "X"`.
fn parse_error(sql: &str, message: &str) -> DbError {
    let found = message.split("found: ").nth(1).map(|rest| {
        rest.split(" at Line:")
            .next()
            .unwrap_or(rest)
            .trim()
            .to_string()
    });
    let position = message.split("Line: ").nth(1).and_then(|rest| {
        let line: usize = rest.split(',').next()?.trim().parse().ok()?;
        let column: usize = rest
            .split("Column: ")
            .nth(1)?
            .trim()
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()?;
        let offset: usize = sql
            .lines()
            .take(line - 1)
            .map(|l| l.chars().count() + 1)
            .sum();
        Some(offset + column)
    });
    match found.as_deref() {
        Some("EOF") | None => DbError::syntax("syntax error at end of input")
            .with_position(Some(sql.trim_end().chars().count() + 1)),
        Some(token) => {
            let token = original_token(sql, position, token);
            DbError::syntax(format!("syntax error at or near \"{token}\"")).with_position(position)
        }
    }
}

/// The token as the user typed it (sqlparser may have changed quoting or case).
fn original_token(sql: &str, position: Option<usize>, fallback: &str) -> String {
    let Some(position) = position else {
        return fallback.trim_matches('"').to_string();
    };
    let rest: String = sql.chars().skip(position - 1).collect();
    let token: String = if rest.starts_with('\'') {
        quoted_literal(&rest)
    } else {
        rest.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    if token.is_empty() {
        rest.chars()
            .next()
            .map(String::from)
            .unwrap_or_else(|| fallback.to_string())
    } else {
        token
    }
}

/// The string literal `rest` starts with, quotes included (`''` is a quote inside it).
fn quoted_literal(rest: &str) -> String {
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((index, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                chars.next();
                continue;
            }
            return rest[..=index].to_string();
        }
    }
    rest.to_string()
}

/// A statement the server refuses before parsing it (bytes that are not UTF-8): the error, and
/// the transaction fails as for any other error.
pub fn reject(db: &mut Database, session: SessionId, error: DbError) -> StatementResult {
    fail_transaction(db, session);
    StatementResult {
        outcome: Err(error),
        notices: Vec::new(),
    }
}

/// PostgreSQL's check of a query's bytes: `invalid byte sequence for encoding "UTF8": 0xe2 0x28`
/// (22021), naming the bytes of the first character that is not UTF-8.
pub fn check_utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|error| {
        let start = error.valid_up_to();
        let length = match bytes[start] {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        let shown: Vec<String> = bytes[start..]
            .iter()
            .take(length)
            .map(|b| format!("0x{b:02x}"))
            .collect();
        DbError::new(
            code::CHARACTER_NOT_IN_REPERTOIRE,
            format!(
                "invalid byte sequence for encoding \"UTF8\": {}",
                shown.join(" ")
            ),
        )
    })
}

fn fail_transaction(db: &mut Database, session: SessionId) {
    let explicit = db
        .session(session)
        .and_then(|s| s.xact.as_ref())
        .is_some_and(|x| x.explicit);
    if explicit {
        // The innermost (sub)transaction aborts now, as in PostgreSQL; the
        // block waits for ROLLBACK [TO SAVEPOINT].
        db.abort_at_error(session);
        db.xact_mut(session).failed = true;
    } else {
        db.abort(session);
    }
}

fn statement_kind(parsed: &Parsed) -> &'static str {
    match parsed {
        Parsed::Sql(statement) => match statement.as_ref() {
            Statement::Commit { .. } => "commit",
            Statement::Rollback { .. } => "rollback",
            Statement::StartTransaction { .. } => "begin",
            _ => "other",
        },
        _ => "other",
    }
}

fn execute_one(db: &mut Database, session: SessionId, parsed: Parsed) -> StatementResult {
    let kind = statement_kind(&parsed);
    let in_failed = db
        .session(session)
        .and_then(|s| s.xact.as_ref())
        .is_some_and(|x| x.failed);
    if in_failed && !matches!(kind, "commit" | "rollback") {
        return StatementResult {
            outcome: Err(DbError::new(
                code::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )),
            notices: Vec::new(),
        };
    }
    let implicit = db.session(session).and_then(|s| s.xact.as_ref()).is_none();
    if implicit && !matches!(kind, "commit" | "rollback" | "begin") {
        db.xact_mut(session);
    }
    let mut notices = Vec::new();
    let timeout_ms = db
        .setting(session, "statement_timeout")
        .parse()
        .unwrap_or(0);
    db.interrupts.start_statement(timeout_ms);
    let wal_before = db.wal.insert_lsn();
    let xid_before = db
        .session(session)
        .and_then(|s| s.xact.as_ref())
        .and_then(|x| x.xid);
    db.lock_request = None;
    let zone = db.setting(session, "TimeZone");
    let now = db.now;
    let bytea_output = db.setting(session, "bytea_output");
    let extra_float_digits = db.setting(session, "extra_float_digits");
    let mut outcome = crate::types::zone::with_session_zone(&zone, || {
        crate::types::bytea::with_output(&bytea_output, || {
            crate::types::float::with_extra_digits(&extra_float_digits, || {
                crate::types::zone::with_statement_now(now, || {
                    run(db, session, parsed, &mut notices)
                })
            })
        })
    });
    db.interrupts.finish_statement();
    report_temp_files(db);
    notices.append(&mut db.pending_notices);
    if let Err(error) = &mut outcome {
        if error.code == crate::lock::LOCK_WAIT {
            let request = db.lock_request.take();
            let xid_now = db
                .session(session)
                .and_then(|s| s.xact.as_ref())
                .and_then(|x| x.xid);
            match request {
                Some(request) if db.wal.insert_lsn() == wal_before && xid_now == xid_before => {
                    // Nothing written yet: the statement waits and runs again later.
                    let current = db.session_mut(session);
                    if implicit {
                        current.xact = None;
                    }
                    current.lock_wait = Some(request);
                    return StatementResult { outcome, notices };
                }
                _ => {
                    *error = DbError::feature_not_supported(format!(
                        "waiting for a lock after the statement changed rows is not supported by pgplay yet ({})",
                        error.message
                    ));
                }
            }
        }
    }
    // The statement no longer waits: it leaves any relation's queue.
    db.session_mut(session).queue_seq = None;
    match &outcome {
        Ok(_) if implicit && !matches!(kind, "commit" | "rollback" | "begin") => {
            if let Err(error) = db.commit(session) {
                db.abort(session);
                return StatementResult {
                    outcome: Err(error),
                    notices,
                };
            }
        }
        Ok(_) => {
            if let Some(xact) = db.session_mut(session).xact.as_mut() {
                xact.command_id += 1;
            }
        }
        Err(_) => fail_transaction(db, session),
    }
    StatementResult { outcome, notices }
}

/// The temporary files the statement's nodes deleted: counted for `pg_stat_database` and,
/// when at least `log_temp_files` kB, logged as PostgreSQL's `ReportTemporaryFileUsage` does.
fn report_temp_files(db: &mut Database) {
    for (session, path, size) in crate::workmem::take_closed(&db.temp_space) {
        db.temp_files += 1;
        db.temp_bytes = db.temp_bytes.saturating_add(size as i64);
        let threshold: i64 = db.setting(session, "log_temp_files").parse().unwrap_or(-1);
        if threshold >= 0 && (size / 1024) as i64 >= threshold {
            let statement = db
                .session(session)
                .map(|s| s.last_query.clone())
                .unwrap_or_default();
            db.log_lines.push(format!(
                "LOG:  temporary file: path \"{path}\", size {size}\nSTATEMENT:  {statement}"
            ));
        }
    }
}

fn run(
    db: &mut Database,
    session: SessionId,
    parsed: Parsed,
    notices: &mut Vec<DbError>,
) -> Result<Outcome> {
    match parsed {
        Parsed::Checkpoint => {
            // On a standby CHECKPOINT is a restartpoint; pgplay makes one at
            // every checkpoint record it replays, so there is nothing to add.
            if !db.in_recovery {
                db.checkpoint(false);
            }
            Ok(Outcome::Command {
                tag: "CHECKPOINT".into(),
            })
        }
        Parsed::Vacuum(stmt) => crate::vacuum::execute(db, session, stmt, notices),
        Parsed::AlterSystem { name, value } => {
            let in_block = db
                .session(session)
                .and_then(|s| s.xact.as_ref())
                .is_some_and(|x| x.explicit);
            if in_block {
                return Err(DbError::new(
                    code::ACTIVE_SQL_TRANSACTION,
                    "ALTER SYSTEM cannot run inside a transaction block",
                ));
            }
            db.settings.alter_system(&name, value.as_deref())?;
            Ok(Outcome::Command {
                tag: "ALTER SYSTEM".into(),
            })
        }
        Parsed::Reindex { kind, name } => {
            Executor::open(db, session, notices, true)?.reindex(&kind, &name)
        }
        Parsed::Sql(statement) => {
            let takes_snapshot = transaction::takes_snapshot(&statement);
            Executor::open(db, session, notices, takes_snapshot)?.statement(&statement)
        }
    }
}

/// Per-statement execution state.
pub struct Executor<'a> {
    pub db: &'a mut Database,
    pub session: SessionId,
    pub catalog: Rc<Catalog>,
    pub snapshot: Snapshot,
    pub notices: &'a mut Vec<DbError>,
    /// The running query's subquery, CTE and outer-row state.
    pub query: plan::State,
}

impl<'a> Executor<'a> {
    /// An executor for one statement of `session`: the catalog it sees, and the
    /// statement's snapshot (a new one unless `takes_snapshot` is false, as
    /// for transaction control).
    pub(crate) fn open(
        db: &'a mut Database,
        session: SessionId,
        notices: &'a mut Vec<DbError>,
        takes_snapshot: bool,
    ) -> Result<Executor<'a>> {
        let catalog = db.catalog(session)?;
        let snapshot = db.statement_snapshot(session, takes_snapshot)?;
        Ok(Executor {
            db,
            session,
            catalog,
            snapshot,
            notices,
            query: Default::default(),
        })
    }
}

/// The command tag PostgreSQL names when it refuses `statement` in a
/// read-only transaction, and whether the refusal is "during recovery" only.
fn write_command(statement: &Statement) -> Option<(&'static str, bool)> {
    use ast::ObjectType;
    Some(match statement {
        Statement::Insert { .. } => ("INSERT", false),
        Statement::Update { .. } => ("UPDATE", false),
        Statement::Delete { .. } => ("DELETE", false),
        Statement::Merge { .. } => ("MERGE", false),
        Statement::Truncate { .. } => ("TRUNCATE TABLE", false),
        Statement::CreateTable(create) if create.query.is_some() => ("CREATE TABLE AS", false),
        Statement::CreateTable { .. } => ("CREATE TABLE", false),
        Statement::CreateIndex { .. } => ("CREATE INDEX", false),
        Statement::CreateSequence { .. } => ("CREATE SEQUENCE", false),
        Statement::CreateView { .. } => ("CREATE VIEW", false),
        Statement::CreateRole { .. } | Statement::CreateUser { .. } => ("CREATE ROLE", false),
        Statement::CreateDatabase { .. } => ("CREATE DATABASE", false),
        Statement::CreateSchema { .. } => ("CREATE SCHEMA", false),
        Statement::AlterTable { .. } => ("ALTER TABLE", false),
        Statement::Grant { .. } => ("GRANT", false),
        Statement::Comment { .. } => ("COMMENT", false),
        Statement::Copy { to: false, .. } => ("COPY FROM", false),
        Statement::Drop { object_type, .. } => (
            match object_type {
                ObjectType::Table => "DROP TABLE",
                ObjectType::Sequence => "DROP SEQUENCE",
                ObjectType::Index => "DROP INDEX",
                ObjectType::View => "DROP VIEW",
                ObjectType::Schema => "DROP SCHEMA",
                ObjectType::Role | ObjectType::User => "DROP ROLE",
                ObjectType::Database => "DROP DATABASE",
                _ => "DROP",
            },
            false,
        ),
        Statement::Query(query) => {
            let ast::SetExpr::Select(select) = query.body.as_ref() else {
                return None;
            };
            if select.into.is_some() {
                return Some(("SELECT INTO", false));
            }
            match query.locks.first()?.lock_type {
                ast::LockType::Update => ("SELECT FOR UPDATE", false),
                ast::LockType::Share => ("SELECT FOR SHARE", false),
            }
        }
        Statement::Vacuum { .. } => ("VACUUM", true),
        Statement::Analyze { .. } => ("ANALYZE", true),
        Statement::NOTIFY { .. } => ("NOTIFY", true),
        Statement::LISTEN { .. } => ("LISTEN", true),
        _ => return None,
    })
}

impl Executor<'_> {
    /// Whether `file` belongs to an unlogged relation (it has an init fork).
    pub(crate) fn is_unlogged(&self, file: &RelFileLocator) -> bool {
        self.db.data.storage.unlogged.contains(file)
    }

    /// `SELECT * FROM a_sequence`: its one row, as its file holds it (a standby sees the
    /// value logged ahead, as PostgreSQL's does).
    fn sequence_row(
        &self,
        file: RelFileLocator,
    ) -> Result<(Vec<(String, DataType)>, Vec<Vec<Value>>)> {
        if self.db.in_recovery && self.is_unlogged(&file) {
            return Err(DbError::feature_not_supported(
                "cannot access temporary or unlogged relations during recovery",
            ));
        }
        let state = self
            .db
            .data
            .storage
            .sequences
            .get(&file)
            .cloned()
            .unwrap_or_default();
        let columns = vec![
            ("last_value".to_string(), DataType::Int8),
            ("log_cnt".to_string(), DataType::Int8),
            ("is_called".to_string(), DataType::Bool),
        ];
        let row = vec![
            Value::Int8(state.last_value),
            Value::Int8(state.log_cnt),
            Value::Bool(state.is_called),
        ];
        Ok((columns, vec![row]))
    }

    /// An unlogged table has no rows on a server in recovery (they never reached its WAL),
    /// so PostgreSQL's planner refuses to read it there.
    pub(crate) fn check_readable(&self, table: &TableDef) -> Result<()> {
        if self.db.in_recovery && self.is_unlogged(&table.locator) {
            return Err(DbError::feature_not_supported(
                "cannot access temporary or unlogged relations during recovery",
            ));
        }
        Ok(())
    }

    /// PostgreSQL refuses writes before it looks at their objects: a
    /// standby names the command even for statements pgplay cannot run.
    fn refuse_if_read_only(&self, statement: &Statement) -> Result<()> {
        let Some((command, recovery_only)) = write_command(statement) else {
            return Ok(());
        };
        if recovery_only {
            if self.db.in_recovery {
                return Err(DbError::new(
                    code::READ_ONLY_SQL_TRANSACTION,
                    format!("cannot execute {command} during recovery"),
                ));
            }
            return Ok(());
        }
        self.db.check_writable(self.session, command)
    }

    fn statement(&mut self, statement: &Statement) -> Result<Outcome> {
        self.refuse_if_read_only(statement)?;
        match statement {
            Statement::CreateRole(create) => self.create_role(create),
            Statement::Drop {
                object_type: ast::ObjectType::Role | ast::ObjectType::User,
                if_exists,
                names,
                ..
            } => self.drop_role(names, *if_exists),
            Statement::CreateSequence {
                name,
                if_not_exists,
                sequence_options,
                ..
            } => self.create_standalone_sequence(name, *if_not_exists, sequence_options),
            Statement::Query(query) if matches!(query.body.as_ref(), ast::SetExpr::Select(s) if s.into.is_some()) => {
                self.select_into(query)
            }
            Statement::Query(query) => {
                self.query.row_lock = self.row_lock_request(query)?;
                let rows = self.run_query(query)?;
                self.keep_row_locks()?;
                let count = rows.rows.len();
                Ok(rows_outcome(rows, format!("SELECT {count}")))
            }
            Statement::Insert(insert) => self.insert(insert),
            Statement::Update(update) => self.update(update),
            Statement::Delete(delete) => self.delete(delete),
            Statement::CreateTable(create) => self.create_table(create),
            Statement::CreateView(create) => self.create_view(create),
            Statement::CreateIndex(create) => self.create_index(create),
            Statement::Drop {
                object_type: ast::ObjectType::Index,
                if_exists,
                names,
                ..
            } => self.drop_indexes(names, *if_exists),
            Statement::AlterTable(alter) => self.alter_table(alter),
            Statement::Drop {
                object_type: ast::ObjectType::View,
                if_exists,
                names,
                cascade,
                ..
            } => self.drop_views(*if_exists, names, *cascade),
            Statement::Drop {
                object_type,
                if_exists,
                names,
                cascade,
                ..
            } => self.drop(object_type, *if_exists, names, *cascade),
            Statement::Truncate(truncate) => self.truncate(truncate),
            Statement::Lock(lock) => self.lock_statement(lock),
            Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. } => self.transaction_statement(statement),
            Statement::ShowVariable { variable } => self.show(variable),
            Statement::Reset(reset) => self.reset(&reset.reset),
            Statement::Set(set) => self.set(set),
            Statement::Explain {
                statement,
                analyze,
                options,
                ..
            } => self.explain(statement, *analyze, options.as_ref()),
            other => {
                let text = other.to_string();
                let words: Vec<&str> = text.split_whitespace().take(2).collect();
                Err(DbError::feature_not_supported(format!(
                    "{} is not supported by pgplay yet",
                    words.join(" ")
                )))
            }
        }
    }

    fn show(&mut self, variable: &[ast::Ident]) -> Result<Outcome> {
        let name = variable
            .iter()
            .map(|i| i.value.clone())
            .collect::<Vec<_>>()
            .join(" ");
        let lower = name.to_ascii_lowercase();
        if lower == "all" {
            let rows = crate::guc::DEFINITIONS
                .iter()
                .map(|d| {
                    vec![
                        Some(d.name.to_string()),
                        Some(self.show_value(d.name)),
                        Some(String::new()),
                    ]
                })
                .collect();
            let columns = ["name", "setting", "description"]
                .iter()
                .map(|n| ColumnInfo {
                    name: n.to_string(),
                    type_oid: 25,
                })
                .collect();
            return Ok(Outcome::Rows {
                columns,
                rows,
                tag: "SHOW".into(),
            });
        }
        let lower = if lower == "transaction isolation level" {
            "transaction_isolation".to_string()
        } else {
            lower
        };
        let definition =
            crate::guc::definition(&lower).ok_or_else(|| crate::guc::unrecognized(&lower))?;
        let value = self.show_value(definition.name);
        Ok(Outcome::Rows {
            columns: vec![ColumnInfo {
                name: definition.name.to_string(),
                type_oid: 25,
            }],
            rows: vec![vec![Some(value)]],
            tag: "SHOW".into(),
        })
    }

    fn show_value(&self, name: &str) -> String {
        let definition = crate::guc::definition(name).expect("known setting");
        let raw = match name {
            "in_hot_standby" => if self.db.in_recovery { "on" } else { "off" }.to_string(),
            _ => self.db.setting(self.session, name),
        };
        crate::guc::display(definition, &raw)
    }

    /// `RESET name` / `RESET ALL`: back to the server's value.
    fn reset(&mut self, reset: &ast::Reset) -> Result<Outcome> {
        match reset {
            ast::Reset::ALL => self.db.session_mut(self.session).settings.clear(),
            ast::Reset::ConfigurationParameter(name) => {
                let name = name.to_string().to_ascii_lowercase();
                let definition =
                    crate::guc::definition(&name).ok_or_else(|| crate::guc::unrecognized(&name))?;
                if definition.name == "transaction_isolation" {
                    self.reset_transaction_isolation();
                    return Ok(Outcome::Command {
                        tag: "RESET".into(),
                    });
                }
                // The same context rules as SET.
                crate::guc::check_session_set(definition.name, definition.default)?;
                self.db
                    .session_mut(self.session)
                    .settings
                    .remove(definition.name);
            }
            ast::Reset::SessionAuthorization => {}
        }
        Ok(Outcome::Command {
            tag: "RESET".into(),
        })
    }

    fn set(&mut self, set: &ast::Set) -> Result<Outcome> {
        let local;
        let (name, values) = match set {
            ast::Set::SingleAssignment {
                variable,
                values,
                scope,
                ..
            } => {
                local = matches!(scope, Some(ast::ContextModifier::Local));
                (variable.to_string(), values.clone())
            }
            ast::Set::SetTimeZone { value, local: l } => {
                local = *l;
                ("TimeZone".to_string(), vec![value.clone()])
            }
            ast::Set::SetTransaction {
                snapshot: Some(_), ..
            } => {
                return Err(DbError::feature_not_supported(
                    "SET TRANSACTION SNAPSHOT is not supported by pgplay yet",
                ))
            }
            ast::Set::SetTransaction {
                modes,
                session: false,
                ..
            } => return self.set_transaction(modes),
            ast::Set::SetTransaction {
                modes,
                session: true,
                ..
            } => return self.set_session_characteristics(modes),
            _ => {
                return Err(DbError::feature_not_supported(
                    "this form of SET is not supported by pgplay",
                ))
            }
        };
        let value = values
            .iter()
            .map(|v| match v {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                },
                ast::Expr::Identifier(ident) => ident.value.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let name = name.to_ascii_lowercase();
        // SET TIME ZONE LOCAL is SET TIME ZONE DEFAULT.
        let local_zone = matches!(set, ast::Set::SetTimeZone { value: ast::Expr::Identifier(i), .. }
            if i.value.eq_ignore_ascii_case("local"));
        let value = if local_zone {
            "default".to_string()
        } else {
            value
        };
        if let Some(result) = self.set_transaction_setting(&name, &value) {
            return result;
        }
        let (canonical, value) = if value.eq_ignore_ascii_case("default") {
            let definition =
                crate::guc::definition(&name).ok_or_else(|| crate::guc::unrecognized(&name))?;
            crate::guc::check_session_set(&name, definition.default)?;
            (definition.name, self.db.settings.get(definition.name))
        } else {
            crate::guc::check_session_set(&name, &value)?
        };
        self.remember_settings(canonical, local);
        self.db
            .session_mut(self.session)
            .settings
            .insert(canonical, value);
        Ok(Outcome::Command { tag: "SET".into() })
    }

    /// SET is transactional: inside a transaction block, keep the session's
    /// settings as they were, so ROLLBACK (or COMMIT, for SET LOCAL) restores them.
    fn remember_settings(&mut self, name: &'static str, local: bool) {
        let session = self.db.session_mut(self.session);
        let before = session.settings.clone();
        let Some(xact) = session.xact.as_mut().filter(|x| x.explicit) else {
            return;
        };
        xact.settings_before.get_or_insert(before);
        if local {
            xact.local_settings.push(name);
        }
    }

    /// Visible rows of a table (or a catalog relation) by name.
    pub fn scan_named(&mut self, name: &str) -> Result<(Vec<(String, DataType)>, Vec<Vec<Value>>)> {
        if self.catalog.table(name).is_none() {
            if let Some(view) = crate::stats::view(&self.db.stats, name) {
                return Ok(view);
            }
            if name == "pg_replication_slots" {
                return Ok(self.db.slots_view());
            }
            if name == "pg_settings" {
                return Ok(crate::guc_docs::pg_settings(self.db, self.session));
            }
            if name == "pg_proc" {
                return Ok(crate::pg_proc::view());
            }
            if name == "pg_timezone_names" {
                return Ok(crate::types::zone::names_view(self.db.now));
            }
            if name == "pg_timezone_abbrevs" {
                return Ok(crate::types::zone::abbrevs_view(self.db.now));
            }
            if name == "pg_stat_activity" {
                return Ok(self.db.activity_view(self.session));
            }
            if name == "pg_locks" {
                return Ok(self.db.locks_view());
            }
            if let Some(view) = crate::vacuum::view(self.db, &self.catalog, name) {
                return Ok(view);
            }
            if let Some(sequence) = self.catalog.sequences.get(name) {
                return self.sequence_row(sequence.locator);
            }
        }
        let table = self
            .catalog
            .table(name)
            .cloned()
            .ok_or_else(|| DbError::undefined_table(name))?;
        let rows = self.scan(&table)?.into_iter().map(|(_, v)| v).collect();
        Ok((
            table
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.data_type.clone()))
                .collect(),
            rows,
        ))
    }

    pub fn scan(
        &mut self,
        table: &crate::catalog::TableDef,
    ) -> Result<Vec<(ItemPointer, Vec<Value>)>> {
        let layout = table.layout();
        let Some(relation) = self.db.data.storage.relation(&table.locator) else {
            return Ok(Vec::new());
        };
        let mut rows = Vec::new();
        for (at, tuple) in relation.tuples() {
            self.db.interrupts.check()?;
            if self.snapshot.sees(tuple, &self.db.data.clog) {
                rows.push((at, layout.decode(tuple.natts, &tuple.data)?));
            }
        }
        Ok(rows)
    }
}

pub fn warning(code: &'static str, message: &str) -> DbError {
    DbError {
        severity: "WARNING",
        ..DbError::new(code, message)
    }
}

pub fn notice(message: String) -> DbError {
    DbError {
        severity: "NOTICE",
        ..DbError::new(code::SUCCESSFUL_COMPLETION, message)
    }
}

pub fn rows_outcome(rows: query::Rows, tag: String) -> Outcome {
    let columns = rows
        .columns
        .iter()
        .map(|(name, t)| ColumnInfo {
            name: name.clone(),
            type_oid: t.oid(),
        })
        .collect();
    let rows = rows
        .rows
        .iter()
        .map(|row| row.iter().map(Value::to_text).collect())
        .collect();
    Outcome::Rows { columns, rows, tag }
}

impl Host for Executor<'_> {
    fn call(&mut self, name: &str, args: &[Value]) -> Result<Value> {
        crate::system::call(self, name, args)
    }

    fn subquery(&mut self, sub: &plan::SubqueryExpr, row: &expr::Row<'_>) -> Result<Value> {
        self.eval_subquery(sub, row)
    }

    fn outer(&mut self, levels: usize, index: usize) -> Result<Value> {
        Ok(self.outer_value(levels, index))
    }
}
