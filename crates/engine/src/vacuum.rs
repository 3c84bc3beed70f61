//! VACUUM and ANALYZE.
//!
//! A DELETE or an UPDATE leaves the old row version on its page: a snapshot
//! taken before it may still need it. VACUUM removes the versions no
//! snapshot can see any more, those whose deleting transaction committed
//! before the oldest xmin of every transaction and kept snapshot (the
//! "removable cutoff", [`oldest_xmin`]), and it says so in the WAL: a PRUNE
//! record per page (dead tuples go, HOT chains are shortened), a VACUUM
//! record freeing the dead line pointers for new rows, FREEZE_PAGE for VACUUM
//! FREEZE, and VISIBLE when every row left is visible to everyone. Redo
//! (`redo::heap2`) changes the pages, on this server as on its standbys; a
//! standby must first cancel its queries that still need the rows
//! (`redo::conflict_horizon` names the xid), or hold replay back.
//!
//! A table with indexes is vacuumed as PostgreSQL's lazy VACUUM does it:
//! prune every page, then remove the dead rows' keys from each index
//! (`btree::bulk_delete`, Btree VACUUM records), and only then free the dead
//! line pointers (a freed one could take a new row that an old key would
//! still name). Only user tables are vacuumed: the catalog keeps its old row
//! versions (the WAL explainer reads them). VACUUM FULL is the ALTER TABLE
//! rewrite into a new file; [`autovacuum`] is what the node's launcher runs.

use std::collections::BTreeSet;

use pgplay_wal::{Heap2Record, Record, RecordBody, Xid, VM_ALL_FROZEN, VM_ALL_VISIBLE};

use crate::catalog::{RelKind, TableDef};
use crate::database::{Database, Outcome, SessionId};
use crate::error::{code, DbError, Result};
use crate::heap::{HeapTuple, LinePointer, Page};
use crate::mvcc::{CommitLog, XactStatus};

/// A parsed `VACUUM` or `ANALYZE` statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VacuumStmt {
    /// False for `ANALYZE`.
    pub vacuum: bool,
    pub full: bool,
    pub freeze: bool,
    pub verbose: bool,
    pub analyze: bool,
    pub tables: Vec<TableRef>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableRef {
    pub name: String,
    pub columns: Vec<String>,
}

/// Per table, what `pg_stat_user_tables` shows of VACUUM and ANALYZE. Server
/// state outside the WAL, as PostgreSQL's statistics are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    pub last_vacuum: Option<pgplay_wal::time::Timestamp>,
    pub vacuum_count: i64,
    pub last_analyze: Option<pgplay_wal::time::Timestamp>,
    pub analyze_count: i64,
    pub last_autovacuum: Option<pgplay_wal::time::Timestamp>,
    pub autovacuum_count: i64,
    pub last_autoanalyze: Option<pgplay_wal::time::Timestamp>,
    pub autoanalyze_count: i64,
    /// The next xid when VACUUM and ANALYZE last ran: row versions written
    /// by later transactions are the changes since, which autovacuum weighs.
    pub vacuumed_at_xid: Xid,
    pub analyzed_at_xid: Xid,
    /// Live rows as the last VACUUM or ANALYZE counted them (`pg_class.reltuples`;
    /// None before either ran, PostgreSQL's -1).
    pub reltuples: Option<usize>,
}

/// Recovery conflicts a standby resolved by cancelling queries
/// (`pg_stat_database_conflicts`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConflictCounts {
    pub snapshot: i64,
    pub lock: i64,
}

/// `pg_stat_user_tables`, `pg_stat_database` and `pg_stat_database_conflicts`, or None.
pub fn view(
    db: &Database,
    catalog: &crate::catalog::Catalog,
    name: &str,
) -> Option<crate::stats::View> {
    use crate::types::{DataType::*, Value};
    let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
    match name {
        "pg_stat_user_tables" => {
            let columns = crate::stats::columns(&[
                ("relid", Oid),
                ("schemaname", Name),
                ("relname", Name),
                ("n_live_tup", Int8),
                ("n_dead_tup", Int8),
                ("last_vacuum", TimestampTz),
                ("last_autovacuum", TimestampTz),
                ("last_analyze", TimestampTz),
                ("last_autoanalyze", TimestampTz),
                ("vacuum_count", Int8),
                ("autovacuum_count", Int8),
                ("analyze_count", Int8),
                ("autoanalyze_count", Int8),
            ]);
            let mut tables: Vec<&TableDef> = catalog
                .tables
                .values()
                .filter(|t| !t.is_system() && t.kind == RelKind::Table)
                .collect();
            tables.sort_by_key(|t| t.oid);
            let rows = tables
                .into_iter()
                .map(|table| {
                    let stats = db.table_stats.get(&table.oid).cloned().unwrap_or_default();
                    // Statistics are the server's own: a standby, where no
                    // DML runs, counts nothing.
                    let (live, dead) = if db.in_recovery {
                        (0, 0)
                    } else {
                        let (_, live, dead) = count_rows(db, table);
                        (live, dead)
                    };
                    vec![
                        Value::Oid(table.oid),
                        Value::Text("public".into()),
                        Value::Text(table.name.clone()),
                        Value::Int8(live as i64),
                        Value::Int8(dead as i64),
                        crate::stats::time(stats.last_vacuum),
                        crate::stats::time(stats.last_autovacuum),
                        crate::stats::time(stats.last_analyze),
                        crate::stats::time(stats.last_autoanalyze),
                        Value::Int8(stats.vacuum_count),
                        Value::Int8(stats.autovacuum_count),
                        Value::Int8(stats.analyze_count),
                        Value::Int8(stats.autoanalyze_count),
                    ]
                })
                .collect();
            Some((columns, rows))
        }
        "pg_stat_database" => {
            // Only the columns pgplay counts; temporary files are [`crate::workmem`]'s.
            let columns = crate::stats::columns(&[
                ("datid", Oid),
                ("datname", Name),
                ("temp_files", Int8),
                ("temp_bytes", Int8),
            ]);
            let rows = vec![vec![
                Value::Oid(5),
                Value::Text("postgres".into()),
                Value::Int8(db.temp_files),
                Value::Int8(db.temp_bytes),
            ]];
            Some((columns, rows))
        }
        "pg_stat_database_conflicts" => {
            let columns = crate::stats::columns(&[
                ("datid", Oid),
                ("datname", Name),
                ("confl_tablespace", Int8),
                ("confl_lock", Int8),
                ("confl_snapshot", Int8),
                ("confl_bufferpin", Int8),
                ("confl_deadlock", Int8),
            ]);
            let counts = &db.recovery_conflicts;
            let rows = vec![vec![
                Value::Oid(5),
                Value::Text("postgres".into()),
                Value::Int8(0),
                Value::Int8(counts.lock),
                Value::Int8(counts.snapshot),
                Value::Int8(0),
                Value::Int8(0),
            ]];
            Some((columns, rows))
        }
        _ => None,
    }
}

// ----- parsing ------------------------------------------------------------

/// Reads `VACUUM ...` / `ANALYZE ...` (one statement, without the `;`), or
/// None when `sql` is not one.
pub fn parse(sql: &str) -> Option<Result<VacuumStmt>> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let mut words = Vec::new();
    // (token, 1-based character position)
    for token in tokens {
        if matches!(token.token, Token::Whitespace(_) | Token::SemiColon) {
            continue;
        }
        let line = token.span.start.line as usize;
        let offset: usize = sql
            .lines()
            .take(line.saturating_sub(1))
            .map(|l| l.chars().count() + 1)
            .sum();
        words.push((token.token, offset + token.span.start.column as usize));
    }
    let keyword = |token: &Token| match token {
        Token::Word(word) if word.quote_style.is_none() => Some(word.value.to_ascii_lowercase()),
        _ => None,
    };
    let first = keyword(&words.first()?.0)?;
    let vacuum = match first.as_str() {
        "vacuum" => true,
        "analyze" | "analyse" => false,
        _ => return None,
    };
    Some(
        Parser {
            words,
            at: 1,
            end: sql.chars().count(),
        }
        .statement(vacuum),
    )
}

struct Parser {
    words: Vec<(sqlparser::tokenizer::Token, usize)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&sqlparser::tokenizer::Token> {
        self.words.get(self.at).map(|(token, _)| token)
    }

    fn keyword(&self) -> Option<String> {
        match self.peek()? {
            sqlparser::tokenizer::Token::Word(word) if word.quote_style.is_none() => {
                Some(word.value.to_ascii_lowercase())
            }
            _ => None,
        }
    }

    fn error(&self) -> DbError {
        match self.words.get(self.at) {
            Some((token, position)) => {
                DbError::syntax(format!("syntax error at or near \"{token}\""))
                    .with_position(Some(*position))
            }
            None => {
                DbError::syntax("syntax error at end of input").with_position(Some(self.end + 1))
            }
        }
    }

    fn eat(&mut self, token: sqlparser::tokenizer::Token) -> bool {
        if self.peek() == Some(&token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        if self.keyword().as_deref() == Some(word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn statement(mut self, vacuum: bool) -> Result<VacuumStmt> {
        use sqlparser::tokenizer::Token;
        let mut stmt = VacuumStmt {
            vacuum,
            ..VacuumStmt::default()
        };
        if self.eat(Token::LParen) {
            self.options(&mut stmt)?;
        } else if vacuum {
            stmt.full = self.eat_keyword("full");
            stmt.freeze = self.eat_keyword("freeze");
            stmt.verbose = self.eat_keyword("verbose");
            stmt.analyze = self.eat_keyword("analyze") || self.eat_keyword("analyse");
        } else {
            stmt.verbose = self.eat_keyword("verbose");
        }
        if self.at < self.words.len() {
            loop {
                stmt.tables.push(self.table()?);
                if !self.eat(Token::Comma) {
                    break;
                }
            }
        }
        if self.at < self.words.len() {
            return Err(self.error());
        }
        Ok(stmt)
    }

    /// `( option [ value ] [, ...] )`, the opening parenthesis read.
    fn options(&mut self, stmt: &mut VacuumStmt) -> Result<()> {
        use sqlparser::tokenizer::Token;
        loop {
            let position = self.words.get(self.at).map(|(_, p)| *p);
            let Some(name) = self.keyword() else {
                return Err(self.error());
            };
            self.at += 1;
            let value = match self.peek() {
                Some(Token::Comma | Token::RParen) => true,
                Some(Token::Word(_)) => {
                    let word = self.keyword().unwrap_or_default();
                    self.at += 1;
                    match word.as_str() {
                        "true" | "on" | "1" => true,
                        "false" | "off" | "0" => false,
                        _ => true,
                    }
                }
                Some(Token::Number(number, _)) => {
                    let value = number != "0";
                    self.at += 1;
                    value
                }
                _ => return Err(self.error()),
            };
            let command = if stmt.vacuum { "VACUUM" } else { "ANALYZE" };
            match name.as_str() {
                "verbose" => stmt.verbose = value,
                "analyze" | "analyse" if stmt.vacuum => stmt.analyze = value,
                "full" if stmt.vacuum => stmt.full = value,
                "freeze" if stmt.vacuum => stmt.freeze = value,
                "skip_locked" => {}
                "disable_page_skipping"
                | "index_cleanup"
                | "process_toast"
                | "truncate"
                | "parallel"
                    if stmt.vacuum => {}
                _ => {
                    return Err(DbError::syntax(format!(
                        "unrecognized {command} option \"{name}\""
                    ))
                    .with_position(position))
                }
            }
            if self.eat(Token::RParen) {
                return Ok(());
            }
            if !self.eat(Token::Comma) {
                return Err(self.error());
            }
        }
    }

    fn identifier(&mut self) -> Result<String> {
        // Keywords PostgreSQL's grammar does not take as a table name here.
        const RESERVED: [&str; 5] = ["analyze", "analyse", "freeze", "full", "verbose"];
        match self.peek() {
            Some(sqlparser::tokenizer::Token::Word(word))
                if word.quote_style.is_none()
                    && RESERVED.contains(&word.value.to_ascii_lowercase().as_str()) =>
            {
                Err(self.error())
            }
            Some(sqlparser::tokenizer::Token::Word(word)) => {
                let name = if word.quote_style.is_some() {
                    word.value.clone()
                } else {
                    word.value.to_ascii_lowercase()
                };
                self.at += 1;
                Ok(name)
            }
            _ => Err(self.error()),
        }
    }

    fn table(&mut self) -> Result<TableRef> {
        use sqlparser::tokenizer::Token;
        let mut name = self.identifier()?;
        if self.eat(Token::Period) {
            let schema = name;
            name = self.identifier()?;
            if schema != "public" && schema != "pg_catalog" {
                return Err(DbError::new(
                    code::UNDEFINED_TABLE,
                    format!("relation \"{schema}.{name}\" does not exist"),
                ));
            }
        }
        let mut columns = Vec::new();
        if self.eat(Token::LParen) {
            loop {
                columns.push(self.identifier()?);
                if self.eat(Token::RParen) {
                    break;
                }
                if !self.eat(Token::Comma) {
                    return Err(self.error());
                }
            }
        }
        Ok(TableRef { name, columns })
    }
}

// ----- the horizon --------------------------------------------------------

/// The oldest xid a snapshot on this server (or a standby that sends
/// feedback, or a slot) may still treat as running: row versions deleted by
/// transactions that committed before it are dead to everyone. PostgreSQL's
/// `GetOldestNonRemovableTransactionId`.
pub fn oldest_xmin(db: &Database) -> Xid {
    let mut horizon = db.data.next_xid;
    if let Some(oldest) = db.data.running.first() {
        horizon = horizon.min(*oldest);
    }
    if let Some(oldest) = db.sync_held.first() {
        horizon = horizon.min(*oldest);
    }
    for session in db.sessions.values() {
        if let Some(snapshot) = session.xact.as_ref().and_then(|x| x.snapshot.as_ref()) {
            horizon = horizon.min(snapshot_xmin(snapshot));
        }
    }
    for xmin in db.replication_xmins() {
        horizon = horizon.min(xmin);
    }
    horizon
}

/// The oldest xid a snapshot still treats as running (PostgreSQL's
/// `snapshot->xmin`).
pub fn snapshot_xmin(snapshot: &crate::mvcc::Snapshot) -> Xid {
    snapshot
        .in_progress
        .first()
        .copied()
        .unwrap_or(snapshot.xmax)
        .min(snapshot.xmax)
}

/// PostgreSQL's `HTSV_Result`: what a tuple is to VACUUM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TupleState {
    /// No snapshot can see it.
    Dead,
    /// Deleted, but a snapshot may still see it.
    RecentlyDead,
    Live,
    InsertInProgress,
    DeleteInProgress,
}

/// PostgreSQL's `HeapTupleSatisfiesVacuum`.
fn tuple_state(tuple: &HeapTuple, clog: &CommitLog, horizon: Xid) -> TupleState {
    if !tuple.frozen {
        match clog.status(tuple.xmin) {
            XactStatus::Aborted => return TupleState::Dead,
            XactStatus::InProgress => return TupleState::InsertInProgress,
            XactStatus::Committed => {}
        }
    }
    let xmax = tuple.deleter();
    if xmax == 0 {
        return TupleState::Live;
    }
    match clog.status(xmax) {
        XactStatus::Aborted => TupleState::Live,
        XactStatus::InProgress => TupleState::DeleteInProgress,
        XactStatus::Committed if xmax < horizon => TupleState::Dead,
        XactStatus::Committed => TupleState::RecentlyDead,
    }
}

// ----- one page -----------------------------------------------------------

/// What VACUUM does to one page, as the records it writes.
#[derive(Debug, Default)]
struct PagePlan {
    records: Vec<Heap2Record>,
    /// Tuples pruned away.
    removed: usize,
    live: usize,
    recently_dead: usize,
    /// Dead line pointers freed.
    freed: usize,
}

/// PostgreSQL's `heap_page_prune` and `lazy_scan_prune` for one page: the
/// HOT chains from each root, each shortened past its last dead member.
fn plan_page(
    page: &Page,
    relation: pgplay_wal::RelFileLocator,
    block: u32,
    clog: &CommitLog,
    horizon: Xid,
    freeze: bool,
) -> PagePlan {
    let state = |offset: u16| page.get(offset).map(|t| tuple_state(t, clog, horizon));
    let mut plan = PagePlan::default();
    let mut latest_removed_xid: Xid = 0;
    let mut redirected = Vec::new();
    let mut dead = Vec::new();
    let mut unused = Vec::new();
    let mut reached = BTreeSet::new();
    let count = page.items.len() as u16;
    for root in 1..=count {
        let item = &page.items[root as usize - 1];
        // The chain from this root: a normal tuple that is not heap-only, or a redirect.
        let mut chain = Vec::new();
        let mut next = match item {
            LinePointer::Normal(tuple) if !tuple.heap_only => Some(root),
            LinePointer::Redirect(to) => Some(*to),
            _ => None,
        };
        let mut prior_xmax: Option<Xid> = None;
        while let Some(offset) = next.take() {
            let Some(tuple) = page.get(offset) else { break };
            if prior_xmax.is_some_and(|xmax| xmax != tuple.xmin) || chain.contains(&offset) {
                break;
            }
            chain.push(offset);
            reached.insert(offset);
            if tuple.hot_updated && tuple.ctid.block == block && tuple.ctid.offset != offset {
                prior_xmax = Some(tuple.xmax);
                next = Some(tuple.ctid.offset);
            }
        }
        // The last dead member: it and every member before it can go.
        let mut latest_dead = None;
        for (index, offset) in chain.iter().enumerate() {
            match state(*offset) {
                Some(TupleState::Dead) => {
                    latest_dead = Some(index);
                    let tuple = page.get(*offset).expect("a chain member");
                    if clog.status(tuple.xmin) != XactStatus::Aborted && tuple.xmax != 0 {
                        latest_removed_xid = latest_removed_xid.max(tuple.xmax);
                    }
                }
                Some(TupleState::RecentlyDead) => {}
                _ => break,
            }
        }
        let Some(last) = latest_dead else { continue };
        let is_redirect = matches!(item, LinePointer::Redirect(_));
        // A redirect's chain starts after the root; a normal root is chain[0].
        let members = if is_redirect { &chain[..] } else { &chain[1..] };
        let through = if is_redirect { last + 1 } else { last };
        unused.extend(members.iter().take(through).copied());
        plan.removed += through + usize::from(!is_redirect);
        match chain.get(last + 1) {
            Some(survivor) => redirected.push((root, *survivor)),
            None if is_redirect => dead.push(root),
            None => dead.push(root),
        }
    }
    // Heap-only tuples no chain reaches (an aborted HOT update's new version).
    for (offset, tuple) in page.tuples() {
        if tuple.heap_only && !reached.contains(&offset) && state(offset) == Some(TupleState::Dead)
        {
            unused.push(offset);
            plan.removed += 1;
        }
    }
    let pruned = !redirected.is_empty() || !dead.is_empty() || !unused.is_empty();
    // Counting after pruning: what remains, and the dead line pointers.
    let gone: BTreeSet<u16> = dead.iter().chain(&unused).copied().collect();
    let mut dead_items: Vec<u16> = (1..=count)
        .filter(|o| page.items[*o as usize - 1] == LinePointer::Dead || dead.contains(o))
        .collect();
    dead_items.sort_unstable();
    let mut all_visible = true;
    let mut all_frozen = true;
    let mut visibility_cutoff: Xid = 0;
    let mut to_freeze = Vec::new();
    for (offset, tuple) in page.tuples() {
        if gone.contains(&offset) || redirected.iter().any(|(from, _)| *from == offset) {
            continue;
        }
        let state = tuple_state(tuple, clog, horizon);
        match state {
            TupleState::Live => {
                plan.live += 1;
                if !tuple.frozen {
                    if tuple.xmin >= horizon {
                        all_visible = false;
                    } else {
                        visibility_cutoff = visibility_cutoff.max(tuple.xmin);
                    }
                }
            }
            TupleState::RecentlyDead => {
                plan.recently_dead += 1;
                all_visible = false;
            }
            TupleState::DeleteInProgress => {
                plan.live += 1;
                all_visible = false;
            }
            TupleState::InsertInProgress | TupleState::Dead => all_visible = false,
        }
        let freezable = freeze
            && !tuple.frozen
            && state != TupleState::InsertInProgress
            && state != TupleState::Dead
            && tuple.xmin < horizon;
        if freezable {
            to_freeze.push(offset);
        } else if !tuple.frozen {
            all_frozen = false;
        }
        if state != TupleState::Live {
            all_frozen = false;
        }
    }
    if pruned {
        plan.records.push(Heap2Record::Prune {
            relation,
            block,
            latest_removed_xid,
            redirected,
            dead,
            unused,
        });
    }
    if !to_freeze.is_empty() {
        plan.records.push(Heap2Record::FreezePage {
            relation,
            block,
            cutoff_xid: horizon,
            offsets: to_freeze,
        });
    }
    if !dead_items.is_empty() {
        plan.freed = dead_items.len();
        plan.records.push(Heap2Record::Vacuum {
            relation,
            block,
            unused: dead_items,
        });
    }
    if all_visible && (!page.all_visible || (all_frozen && !page.all_frozen)) {
        let mut flags = VM_ALL_VISIBLE;
        if all_frozen {
            flags |= VM_ALL_FROZEN;
        }
        let cutoff_xid = if page.all_visible {
            0
        } else {
            visibility_cutoff
        };
        plan.records.push(Heap2Record::Visible {
            relation,
            block,
            cutoff_xid,
            flags,
        });
    }
    plan
}

// ----- the statement ------------------------------------------------------

/// What VACUUM VERBOSE reports of one table.
#[derive(Debug, Default)]
struct Report {
    pages: usize,
    removed: usize,
    remain: usize,
    recently_dead: usize,
    pages_with_dead_items: usize,
    dead_items: usize,
    dirtied: usize,
    records: usize,
    bytes: usize,
}

pub(crate) fn execute(
    db: &mut Database,
    session: SessionId,
    stmt: VacuumStmt,
    notices: &mut Vec<DbError>,
) -> Result<Outcome> {
    let command = if stmt.vacuum { "VACUUM" } else { "ANALYZE" };
    if db.in_recovery {
        return Err(DbError::new(
            code::READ_ONLY_SQL_TRANSACTION,
            format!("cannot execute {command} during recovery"),
        ));
    }
    if stmt.tables.iter().any(|t| !t.columns.is_empty()) && stmt.vacuum && !stmt.analyze {
        return Err(DbError::feature_not_supported(
            "ANALYZE option must be specified when a column list is provided",
        ));
    }
    let in_block = db
        .session(session)
        .and_then(|s| s.xact.as_ref())
        .is_some_and(|x| x.explicit);
    if stmt.vacuum && in_block {
        return Err(DbError::new(
            code::ACTIVE_SQL_TRANSACTION,
            "VACUUM cannot run inside a transaction block",
        ));
    }
    let catalog = db.catalog(session)?;
    let mut targets: Vec<TableDef> = Vec::new();
    if stmt.tables.is_empty() {
        let mut tables: Vec<&TableDef> = catalog
            .tables
            .values()
            .filter(|t| !t.is_system() && t.kind == RelKind::Table)
            .collect();
        tables.sort_by_key(|t| t.oid);
        targets.extend(tables.into_iter().cloned());
    } else {
        for table in &stmt.tables {
            match catalog.table(&table.name) {
                Some(def) => {
                    for column in &table.columns {
                        if def.column_index(column).is_none() {
                            return Err(DbError::new(
                                code::UNDEFINED_COLUMN,
                                format!(
                                    "column \"{column}\" of relation \"{}\" does not exist",
                                    table.name
                                ),
                            ));
                        }
                    }
                    targets.push(def.clone());
                }
                None if catalog.views.contains_key(&table.name)
                    || catalog.sequences.contains_key(&table.name) =>
                {
                    let verb = if stmt.vacuum { "vacuum" } else { "analyze" };
                    notices.push(crate::sql::warning(
                        code::WARNING,
                        &format!(
                            "skipping \"{}\" --- cannot {verb} non-tables or special system tables",
                            table.name
                        ),
                    ));
                }
                None => return Err(DbError::undefined_table(&table.name)),
            }
        }
    }
    // Every table's lock before the first is processed, so that a wait comes before any
    // write: ShareUpdateExclusiveLock (VACUUM FULL: AccessExclusiveLock).
    let mode = if stmt.vacuum && stmt.full {
        crate::lock::LockMode::AccessExclusive
    } else {
        crate::lock::LockMode::ShareUpdateExclusive
    };
    for table in targets.iter().filter(|t| !t.is_system()) {
        db.lock_table(session, table.oid, &table.name, mode, false)?;
    }
    for table in &targets {
        let mut table = table.clone();
        if stmt.vacuum && stmt.full {
            table = vacuum_full(db, session, &table, stmt.verbose, notices)?;
        } else if stmt.vacuum {
            let qualified = format!("postgres.public.{}", table.name);
            if stmt.verbose {
                let how = if stmt.freeze {
                    "aggressively vacuuming"
                } else {
                    "vacuuming"
                };
                notices.push(info(format!("{how} \"{qualified}\"")));
            }
            let (index_scans, lines) = vacuum_table(db, &table, stmt.freeze, false)?;
            if stmt.verbose && !table.is_system() {
                let mut report =
                    format!("finished vacuuming \"{qualified}\": index scans: {index_scans}");
                for line in lines {
                    report.push('\n');
                    report.push_str(&line);
                }
                notices.push(info(report));
            }
        }
        let table = &table;
        if stmt.analyze || !stmt.vacuum {
            analyze_table(db, table, stmt.verbose, false, notices);
        }
    }
    // VACUUM's transaction has no xid, so its end writes no commit record and
    // flushes nothing; as in PostgreSQL (`XLogSetAsyncXactLSN` for a
    // transaction that wrote WAL without an xid), the WAL writer flushes its
    // records within `wal_writer_delay`, and only then do standbys get them.
    let end = db.wal.insert_lsn();
    if end > db.wal.flush_lsn() {
        db.leave_for_wal_writer(end);
    }
    Ok(Outcome::Command {
        tag: command.into(),
    })
}

fn info(message: String) -> DbError {
    DbError {
        severity: "INFO",
        ..DbError::new(code::SUCCESSFUL_COMPLETION, message)
    }
}

/// PostgreSQL's `BYPASS_THRESHOLD_PAGES`: when fewer than 2% of the table's
/// pages (rounded down) have dead line pointers, VACUUM leaves them and
/// skips the index scans, which would cost more than they free.
const BYPASS_THRESHOLD_PAGES: f64 = 0.02;

/// Writes one record and counts it in the report.
fn log_counted(db: &mut Database, report: &mut Report, body: RecordBody) -> Result<()> {
    report.records += 1;
    report.bytes += Record {
        xid: 0,
        prev: pgplay_wal::Lsn::INVALID,
        body: body.clone(),
    }
    .encode()
    .len();
    db.log(0, body)?;
    Ok(())
}

/// PostgreSQL's lazy VACUUM of one table (`heap_vacuum_rel`): the first
/// pass prunes each page (PRUNE, FREEZE_PAGE) and collects the dead line
/// pointers left; then each index drops its entries for them (Btree VACUUM
/// records, `btbulkdelete`); then the second heap pass frees them (Heap2
/// VACUUM) and marks the page all-visible (VISIBLE). A table without
/// indexes frees them in the first pass, as PostgreSQL does.
///
/// Returns the number of index scans and the report's lines after its first
/// (VACUUM VERBOSE's INFO, autovacuum's LOG).
fn vacuum_table(
    db: &mut Database,
    table: &TableDef,
    freeze: bool,
    auto: bool,
) -> Result<(usize, Vec<String>)> {
    let horizon = oldest_xmin(db);
    let mut report = Report::default();
    if table.is_system() {
        // The catalog keeps its old versions; see the module's doc.
        return Ok((0, Vec::new()));
    }
    let pages = db
        .data
        .storage
        .relation(&table.locator)
        .map_or(0, |r| r.pages.len());
    report.pages = pages;
    let has_indexes = !table.indexes.is_empty();
    // The second heap pass's records, per page with dead line pointers.
    let mut second_pass: Vec<Vec<Heap2Record>> = Vec::new();
    let mut dead_tids: BTreeSet<(u32, u16)> = BTreeSet::new();
    for block in 0..pages {
        db.interrupts.check()?;
        let plan = {
            let Some(page) = db
                .data
                .storage
                .relation(&table.locator)
                .and_then(|r| r.pages.get(block))
            else {
                break;
            };
            plan_page(
                page,
                table.locator,
                block as u32,
                &db.data.clog,
                horizon,
                freeze,
            )
        };
        report.removed += plan.removed;
        report.remain += plan.live + plan.recently_dead;
        report.recently_dead += plan.recently_dead;
        if plan.freed > 0 {
            report.pages_with_dead_items += 1;
            report.dead_items += plan.freed;
        }
        if !plan.records.is_empty() {
            report.dirtied += 1;
        }
        let mut first_pass = plan.records;
        if has_indexes && plan.freed > 0 {
            // Index entries still name the dead line pointers: they are
            // freed, and the page marked all-visible, after the index scans.
            let later: Vec<Heap2Record> = first_pass
                .iter()
                .filter(|r| matches!(r, Heap2Record::Vacuum { .. } | Heap2Record::Visible { .. }))
                .cloned()
                .collect();
            first_pass
                .retain(|r| !matches!(r, Heap2Record::Vacuum { .. } | Heap2Record::Visible { .. }));
            for record in &later {
                if let Heap2Record::Vacuum { unused, .. } = record {
                    dead_tids.extend(unused.iter().map(|offset| (block as u32, *offset)));
                }
            }
            second_pass.push(later);
        }
        for record in first_pass {
            log_counted(db, &mut report, RecordBody::Heap2(record))?;
        }
    }
    // The index scans, unless there are too few dead items to be worth them.
    let mut index_scans = 0;
    let mut index_lines = Vec::new();
    let threshold = (pages as f64 * BYPASS_THRESHOLD_PAGES) as usize;
    let bypass = has_indexes && report.pages_with_dead_items < threshold;
    if has_indexes && !dead_tids.is_empty() && !bypass {
        index_scans = 1;
        for index in &table.indexes {
            db.interrupts.check()?;
            let (records, blocks) = match db.data.storage.indexes.get(&index.locator) {
                Some(btree) => (
                    crate::btree::bulk_delete(btree, index.locator, &dead_tids),
                    btree.blocks(),
                ),
                None => (Vec::new(), 1),
            };
            for record in records {
                log_counted(db, &mut report, RecordBody::Btree(record))?;
            }
            index_lines.push(format!(
                "index \"{}\": pages: {blocks} in total, 0 newly deleted, 0 currently deleted, 0 reusable",
                index.name
            ));
        }
        for records in second_pass {
            for record in records {
                log_counted(db, &mut report, RecordBody::Heap2(record))?;
            }
        }
    }
    let (now, next_xid) = (db.now, db.data.next_xid);
    let stats = db.table_stats.entry(table.oid).or_default();
    if auto {
        stats.last_autovacuum = Some(now);
        stats.autovacuum_count += 1;
    } else {
        stats.last_vacuum = Some(now);
        stats.vacuum_count += 1;
    }
    stats.vacuumed_at_xid = next_xid;
    stats.reltuples = Some(report.remain - report.recently_dead);
    {
        let percent = |part: usize, whole: usize| {
            if whole == 0 {
                100.0
            } else {
                100.0 * part as f64 / whole as f64
            }
        };
        let next_xid = db.data.next_xid;
        let dead_items = if bypass {
            format!(
                "index scan bypassed: {} pages from table ({:.2}% of total) have {} dead item identifiers",
                report.pages_with_dead_items,
                percent(report.pages_with_dead_items, report.pages),
                report.dead_items
            )
        } else {
            format!(
                "index scan {}: {} pages from table ({:.2}% of total) had {} dead item identifiers removed",
                if index_scans == 0 { "not needed" } else { "needed" },
                report.pages_with_dead_items,
                percent(report.pages_with_dead_items, report.pages),
                report.dead_items
            )
        };
        let mut lines = vec![
            format!(
                "pages: 0 removed, {} remain, {} scanned ({:.2}% of total)",
                report.pages,
                report.pages,
                percent(report.pages, report.pages)
            ),
            format!(
                "tuples: {} removed, {} remain, {} are dead but not yet removable",
                report.removed, report.remain, report.recently_dead
            ),
            format!(
                "removable cutoff: {horizon}, which was {} XIDs old when operation ended",
                next_xid.saturating_sub(horizon)
            ),
            dead_items,
        ];
        lines.extend(index_lines);
        lines.extend([
            "avg read rate: 0.000 MB/s, avg write rate: 0.000 MB/s".to_string(),
            format!(
                "buffer usage: {} hits, 0 misses, {} dirtied",
                report.pages, report.dirtied
            ),
            format!(
                "WAL usage: {} records, 0 full page images, {} bytes",
                report.records, report.bytes
            ),
            "system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.00 s".to_string(),
        ]);
        Ok((index_scans, lines))
    }
}

/// VACUUM FULL: the table rewritten into a new file (see
/// `sql::alter_column::vacuum_full`); VERBOSE counts what it left behind as
/// PostgreSQL's `copy_table_data` does.
fn vacuum_full(
    db: &mut Database,
    session: SessionId,
    table: &TableDef,
    verbose: bool,
    notices: &mut Vec<DbError>,
) -> Result<TableDef> {
    if table.is_system() {
        return Ok(table.clone());
    }
    if verbose {
        notices.push(info(format!("vacuuming \"public.{}\"", table.name)));
        let horizon = oldest_xmin(db);
        let (mut removable, mut kept, mut recently_dead, mut pages) = (0, 0, 0, 0);
        if let Some(relation) = db.data.storage.relation(&table.locator) {
            pages = relation.pages.len();
            for (_, tuple) in relation.tuples() {
                match tuple_state(tuple, &db.data.clog, horizon) {
                    TupleState::Dead => removable += 1,
                    TupleState::RecentlyDead => {
                        recently_dead += 1;
                        kept += 1;
                    }
                    _ => kept += 1,
                }
            }
        }
        let line = info(format!(
            "\"public.{}\": found {removable} removable, {kept} nonremovable row versions in {pages} pages",
            table.name
        ));
        let line = line.with_detail(format!(
            "{recently_dead} dead row versions cannot be removed yet.\nCPU: user: 0.00 s, system: 0.00 s, elapsed: 0.00 s."
        ));
        notices.push(line);
    }
    crate::sql::alter_column::vacuum_full(db, session, table, notices)
}

/// ANALYZE: pgplay keeps no column statistics (its planner estimates from
/// the table itself); it counts the rows as PostgreSQL's sampling does when
/// it reads every page, and records that it ran.
fn analyze_table(
    db: &mut Database,
    table: &TableDef,
    verbose: bool,
    auto: bool,
    notices: &mut Vec<DbError>,
) {
    if verbose {
        notices.push(info(format!("analyzing \"public.{}\"", table.name)));
        let (pages, live, dead) = count_rows(db, table);
        notices.push(info(format!(
            "\"{}\": scanned {pages} of {pages} pages, containing {live} live rows and {dead} dead rows; {} rows in sample, {live} estimated total rows",
            table.name,
            live.min(30_000)
        )));
    }
    let (_, live, _) = count_rows(db, table);
    let (now, next_xid) = (db.now, db.data.next_xid);
    let stats = db.table_stats.entry(table.oid).or_default();
    if auto {
        stats.last_autoanalyze = Some(now);
        stats.autoanalyze_count += 1;
    } else {
        stats.last_analyze = Some(now);
        stats.analyze_count += 1;
    }
    stats.analyzed_at_xid = next_xid;
    stats.reltuples = Some(live);
}

// ----- autovacuum ---------------------------------------------------------

/// Row versions written since `mark` (an xid), by committed transactions:
/// (inserted, updated, deleted), as PostgreSQL's `n_tup_ins`, `n_tup_upd`
/// and `n_tup_del` count them since then. An update's new version is told
/// from an insert by the old version pointing at it.
fn changes_since(db: &Database, table: &TableDef, mark: Xid) -> (usize, usize, usize) {
    let Some(relation) = db.data.storage.relation(&table.locator) else {
        return (0, 0, 0);
    };
    let clog = &db.data.clog;
    let committed = |xid: Xid| xid >= mark && clog.status(xid) == XactStatus::Committed;
    let mut update_targets = BTreeSet::new();
    let mut deleted = 0;
    for (at, tuple) in relation.tuples() {
        if tuple.deleter() != 0 && committed(tuple.deleter()) {
            if tuple.ctid == at {
                deleted += 1;
            } else {
                update_targets.insert(tuple.ctid);
            }
        }
    }
    let (mut inserted, mut updated) = (0, 0);
    for (at, tuple) in relation.tuples() {
        if committed(tuple.xmin) {
            if update_targets.contains(&at) {
                updated += 1;
            } else {
                inserted += 1;
            }
        }
    }
    (inserted, updated, deleted)
}

/// What autovacuum would do to a table now: (vacuum, analyze), by
/// PostgreSQL's `relation_needs_vacanalyze`: dead rows over
/// `autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor * reltuples`,
/// rows inserted since the last VACUUM over the insert threshold, rows
/// changed since the last ANALYZE over the analyze threshold.
pub fn needs_vacuum_analyze(db: &Database, table: &TableDef) -> (bool, bool) {
    let setting = |name: &str| db.settings.get(name).parse::<f64>().unwrap_or(0.0);
    let stats = db.table_stats.get(&table.oid).cloned().unwrap_or_default();
    let reltuples = stats.reltuples.unwrap_or(0) as f64;
    let (_, _, dead) = count_rows(db, table);
    let vacuum_threshold = setting("autovacuum_vacuum_threshold")
        + setting("autovacuum_vacuum_scale_factor") * reltuples;
    let insert_base = setting("autovacuum_vacuum_insert_threshold");
    let insert_threshold =
        insert_base + setting("autovacuum_vacuum_insert_scale_factor") * reltuples;
    let (inserted_since_vacuum, _, _) = changes_since(db, table, stats.vacuumed_at_xid);
    let (inserted, updated, deleted) = changes_since(db, table, stats.analyzed_at_xid);
    let analyze_threshold = setting("autovacuum_analyze_threshold")
        + setting("autovacuum_analyze_scale_factor") * reltuples;
    let vacuum = dead as f64 > vacuum_threshold
        || (insert_base >= 0.0 && inserted_since_vacuum as f64 > insert_threshold);
    let analyze = (inserted + updated + deleted) as f64 > analyze_threshold;
    (vacuum, analyze)
}

/// One round of the autovacuum launcher's worker over the database: each
/// user table over its thresholds is vacuumed and/or analyzed, counted in
/// `pg_stat_user_tables`' `autovacuum_count`/`autoanalyze_count`, and logged
/// when `log_autovacuum_min_duration` is 0 or more (pgplay's VACUUM takes no
/// time, so any such value logs every run). Returns the log lines.
pub fn autovacuum(db: &mut Database) -> Result<Vec<String>> {
    if db.in_recovery || db.settings.get("autovacuum") != "on" {
        return Ok(Vec::new());
    }
    let catalog = db.committed_catalog()?;
    let mut tables: Vec<&TableDef> = catalog
        .tables
        .values()
        .filter(|t| !t.is_system() && t.kind == RelKind::Table)
        .collect();
    tables.sort_by_key(|t| t.oid);
    let log = db
        .settings
        .get("log_autovacuum_min_duration")
        .parse::<i64>()
        .unwrap_or(-1)
        >= 0;
    let mut lines = Vec::new();
    for table in tables {
        let (vacuum, analyze) = needs_vacuum_analyze(db, table);
        let qualified = format!("postgres.public.{}", table.name);
        if vacuum {
            let (index_scans, report) = vacuum_table(db, table, false, true)?;
            if log {
                let mut line = format!(
                    "LOG:  automatic vacuum of table \"{qualified}\": index scans: {index_scans}"
                );
                for part in report {
                    line.push_str("\n\t");
                    line.push_str(&part);
                }
                lines.push(line);
            }
        }
        if analyze {
            analyze_table(db, table, false, true, &mut Vec::new());
            if log {
                lines.push(format!(
                    "LOG:  automatic analyze of table \"{qualified}\"\n\tavg read rate: 0.000 MB/s, avg write rate: 0.000 MB/s\n\tbuffer usage: 0 hits, 0 misses, 0 dirtied\n\tsystem usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.00 s"
                ));
            }
        }
    }
    let end = db.wal.insert_lsn();
    if end > db.wal.flush_lsn() {
        db.leave_for_wal_writer(end);
    }
    Ok(lines)
}

/// (pages, live rows, dead rows) of a table now, as ANALYZE counts them
/// (a row another transaction is still inserting is neither).
pub fn count_rows(db: &Database, table: &TableDef) -> (usize, usize, usize) {
    let Some(relation) = db.data.storage.relation(&table.locator) else {
        return (0, 0, 0);
    };
    let horizon = db.data.next_xid;
    let (mut live, mut dead) = (0, 0);
    for (_, tuple) in relation.tuples() {
        match tuple_state(tuple, &db.data.clog, horizon) {
            TupleState::Live | TupleState::DeleteInProgress => live += 1,
            TupleState::Dead | TupleState::RecentlyDead => dead += 1,
            TupleState::InsertInProgress => {}
        }
    }
    (relation.pages.len(), live, dead)
}

#[cfg(test)]
mod tests {
    use crate::test_support::db;
    use crate::{Database, SessionId, StatementResult};

    fn run(db: &mut Database, session: SessionId, sql: &str) -> StatementResult {
        let mut results = crate::sql::execute(db, session, sql);
        let result = results.pop().expect("one result");
        assert!(result.outcome.is_ok(), "{sql}: {:?}", result.outcome);
        result
    }

    /// The pg_waldump descriptions of the records written since `from`.
    fn described(db: &Database, from: pgplay_wal::Lsn) -> Vec<String> {
        db.wal
            .records_from(from)
            .filter_map(|read| read.ok())
            .map(|read| read.record.describe())
            .collect()
    }

    #[test]
    fn vacuum_prunes_a_hot_chain_and_frees_dead_line_pointers_as_postgres_15() {
        let (mut db, s) = db();
        run(&mut db, s, "CREATE TABLE t (id int, v text)");
        run(
            &mut db,
            s,
            "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 10) g",
        );
        run(&mut db, s, "DELETE FROM t WHERE id <= 3");
        run(&mut db, s, "UPDATE t SET v = 'y' WHERE id = 5");
        let update_xid = db.data.next_xid - 1;
        let from = db.wal.insert_lsn();
        let result = run(&mut db, s, "VACUUM VERBOSE t");
        assert_eq!(
            described(&db, from),
            [
                format!("PRUNE latestRemovedXid {update_xid} nredirected 1 ndead 3"),
                "VACUUM nunused 3".to_string(),
                format!("VISIBLE cutoff xid {update_xid} flags 0x01"),
            ]
        );
        let report = &result.notices[1].message;
        assert_eq!(result.notices[0].message, "vacuuming \"postgres.public.t\"");
        assert!(report.starts_with("finished vacuuming \"postgres.public.t\": index scans: 0\npages: 0 removed, 1 remain, 1 scanned (100.00% of total)\ntuples: 4 removed, 7 remain, 0 are dead but not yet removable\n"), "{report}");
        assert!(report.contains("\nindex scan not needed: 1 pages from table (100.00% of total) had 3 dead item identifiers removed\n"), "{report}");
        assert!(
            report.contains("\nWAL usage: 3 records, 0 full page images, "),
            "{report}"
        );
        // The freed line pointer 1 takes the next row; VACUUM FREEZE freezes all eight.
        let from = db.wal.insert_lsn();
        run(&mut db, s, "INSERT INTO t VALUES (11, 'z')");
        let insert = described(&db, from);
        assert_eq!(insert[0], "INSERT off 1 flags 0x00");
        let from = db.wal.insert_lsn();
        run(&mut db, s, "VACUUM FREEZE t");
        let next = db.data.next_xid;
        assert_eq!(
            described(&db, from),
            [
                format!("FREEZE_PAGE cutoff xid {next} ntuples 8"),
                format!("VISIBLE cutoff xid {} flags 0x03", next - 1),
            ]
        );
        // Nothing left to do: no records.
        let from = db.wal.insert_lsn();
        run(&mut db, s, "VACUUM t");
        assert!(described(&db, from).is_empty());
    }

    #[test]
    fn vacuum_of_an_indexed_table_deletes_index_entries_then_frees_line_pointers() {
        let (mut db, s) = db();
        run(&mut db, s, "CREATE TABLE t (id int PRIMARY KEY, v text)");
        run(&mut db, s, "CREATE INDEX t_v_idx ON t (v)");
        run(
            &mut db,
            s,
            "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 10) g",
        );
        run(&mut db, s, "DELETE FROM t WHERE id <= 3");
        // v is indexed: not HOT, the old version's root dies.
        run(&mut db, s, "UPDATE t SET v = 'y' WHERE id = 5");
        let update_xid = db.data.next_xid - 1;
        let from = db.wal.insert_lsn();
        let result = run(&mut db, s, "VACUUM VERBOSE t");
        assert_eq!(
            described(&db, from),
            [
                format!("PRUNE latestRemovedXid {update_xid} nredirected 0 ndead 4"),
                "VACUUM ndeleted 4; nupdated 0".to_string(),
                "VACUUM ndeleted 4; nupdated 0".to_string(),
                "VACUUM nunused 4".to_string(),
                format!("VISIBLE cutoff xid {update_xid} flags 0x01"),
            ]
        );
        let report = &result.notices[1].message;
        assert!(
            report.starts_with("finished vacuuming \"postgres.public.t\": index scans: 1\n"),
            "{report}"
        );
        assert!(report.contains("\nindex scan needed: 1 pages from table (100.00% of total) had 4 dead item identifiers removed\nindex \"t_pkey\": pages: 2 in total, 0 newly deleted, 0 currently deleted, 0 reusable\nindex \"t_v_idx\": pages: 2 in total, 0 newly deleted, 0 currently deleted, 0 reusable\n"), "{report}");
        // The indexes hold only the live rows' keys; freed slots take new rows
        // that the indexes find.
        let table = db.catalog(s).unwrap().table("t").unwrap().clone();
        for index in &table.indexes {
            let btree = &db.data.storage.indexes[&index.locator];
            let leaf = &btree.pages[btree.meta.root as usize].page;
            assert_eq!(leaf.items.len(), 7, "{}", index.name);
        }
        run(&mut db, s, "INSERT INTO t VALUES (3, 'z')");
        run(&mut db, s, "SET enable_seqscan = off");
        let found = run(&mut db, s, "SELECT v FROM t WHERE id = 3");
        assert_eq!(
            format!("{:?}", found.outcome).matches("\"z\"").count(),
            1,
            "{:?}",
            found.outcome
        );
        // Nothing left to do: no records, no index scan.
        run(&mut db, s, "VACUUM t");
        let from = db.wal.insert_lsn();
        let result = run(&mut db, s, "VACUUM VERBOSE t");
        assert!(described(&db, from).is_empty());
        assert!(result.notices[1].message.contains("index scans: 0\n"));
        assert!(!result.notices[1].message.contains("index \"t_pkey\""));
    }

    #[test]
    fn a_few_dead_items_in_a_big_table_bypass_the_index_scan() {
        let (mut db, s) = db();
        run(&mut db, s, "CREATE TABLE t (id int PRIMARY KEY, v text)");
        run(
            &mut db,
            s,
            "INSERT INTO t SELECT g, 'some text to fill the pages with more quickly, some text to fill the pages with more quickly, some text to fill the pages with more quickly, row ' || g FROM generate_series(1, 6000) g",
        );
        run(&mut db, s, "DELETE FROM t WHERE id = 5");
        let from = db.wal.insert_lsn();
        let result = run(&mut db, s, "VACUUM VERBOSE t");
        let records = described(&db, from);
        assert_eq!(records.iter().filter(|r| r.starts_with("PRUNE")).count(), 1);
        assert!(
            !records.iter().any(|r| r.starts_with("VACUUM")),
            "{records:?}"
        );
        assert!(result.notices[1].message.contains("index scans: 0\n"));
        assert!(
            result.notices[1]
                .message
                .contains("\nindex scan bypassed: 1 pages from table ("),
            "{}",
            result.notices[1].message
        );
    }

    #[test]
    fn a_repeatable_read_snapshot_holds_vacuum_back() {
        let (mut db, s) = db();
        let reader = db.open_session();
        run(&mut db, s, "CREATE TABLE t (id int)");
        run(&mut db, s, "INSERT INTO t VALUES (1), (2)");
        run(&mut db, reader, "BEGIN ISOLATION LEVEL REPEATABLE READ");
        run(&mut db, reader, "SELECT * FROM t");
        run(&mut db, s, "DELETE FROM t");
        let from = db.wal.insert_lsn();
        let result = run(&mut db, s, "VACUUM VERBOSE t");
        assert!(described(&db, from).is_empty());
        assert!(result.notices[1]
            .message
            .contains("tuples: 0 removed, 2 remain, 2 are dead but not yet removable"));
        run(&mut db, reader, "COMMIT");
        let from = db.wal.insert_lsn();
        run(&mut db, s, "VACUUM t");
        assert_eq!(described(&db, from).len(), 3, "PRUNE, VACUUM and VISIBLE");
    }

    #[test]
    fn vacuum_refuses_what_postgres_refuses() {
        let (mut db, s) = db();
        run(&mut db, s, "CREATE TABLE t (id int)");
        let error = |db: &mut Database, sql: &str| {
            crate::sql::execute(db, s, sql)
                .pop()
                .unwrap()
                .outcome
                .unwrap_err()
        };
        let bad = error(&mut db, "VACUUM (bogus) t");
        assert_eq!(
            (bad.code, bad.message.as_str(), bad.position),
            ("42601", "unrecognized VACUUM option \"bogus\"", Some(9))
        );
        assert_eq!(
            error(&mut db, "VACUUM VERBOSE FREEZE t").message,
            "syntax error at or near \"FREEZE\""
        );
        run(&mut db, s, "BEGIN");
        assert_eq!(error(&mut db, "VACUUM t").code, "25001");
    }
}
