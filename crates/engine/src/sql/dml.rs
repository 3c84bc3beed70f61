//! INSERT, UPDATE and DELETE: each row change becomes one Heap WAL record,
//! with NOT NULL and unique checks first, and RETURNING evaluated on the result.

use pgplay_wal::{HeapRecord, RecordBody, TupleImage};
use sqlparser::ast::{self as ast, SelectItem};

use super::bind::{ident_name, object_name, Binder};
use super::expr::*;
use super::query::{column_name, Rows};
use super::upsert::Upserted;
use super::{rows_outcome, Executor};
use crate::catalog::{Catalog, TableDef};
use crate::database::Outcome;
use crate::error::{code, DbError, Result};
use crate::heap::{HeapTuple, ItemPointer};
use crate::mvcc::{live_now, XactStatus};
use crate::types::{apply_typmod, DataType, Value};

impl Executor<'_> {
    /// The table a statement writes, borrowed from `catalog` (the executor's, whose `Rc` the
    /// caller holds): no copy of its definition per statement.
    fn target_table<'c>(catalog: &'c Catalog, name: &str) -> Result<&'c TableDef> {
        let table = catalog
            .table(name)
            .ok_or_else(|| DbError::undefined_table(name))?;
        if table.is_system() {
            return Err(DbError::new(
                code::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{name}\" is a system catalog"),
            ));
        }
        Ok(table)
    }

    pub(super) fn table_scope(table: &TableDef, alias: Option<String>) -> Scope {
        let aliased = alias
            .as_ref()
            .map(|a| vec![(table.name.clone(), a.clone())])
            .unwrap_or_default();
        let qualifier = alias.unwrap_or_else(|| table.name.clone());
        let mut scope = Scope::new(
            table
                .columns
                .iter()
                .map(|c| {
                    ScopeColumn::new(Some(qualifier.clone()), c.name.clone(), c.data_type.clone())
                })
                .collect(),
        );
        scope.aliased = aliased;
        scope
    }

    /// The target table's scope followed by the FROM list's (`UPDATE ... FROM`,
    /// `DELETE ... USING`), with the FROM list's rows; no rows joined when there is no list.
    fn joined_scope(
        &mut self,
        target: Scope,
        from: Option<&[ast::TableWithJoins]>,
    ) -> Result<(Scope, Option<Vec<Vec<Value>>>)> {
        let Some(from) = from.filter(|f| !f.is_empty()) else {
            return Ok((target, None));
        };
        let (other, rows) = super::plan::planner::from_list_rows(self, from)?;
        let target_name = target.columns.first().and_then(|c| c.table.clone());
        if let Some(name) = target_name.filter(|n| {
            other
                .columns
                .iter()
                .any(|c| c.table.as_deref() == Some(n.as_str()))
        }) {
            return Err(DbError::new(
                "42712",
                format!("table name \"{name}\" specified more than once"),
            ));
        }
        let mut scope = target;
        scope.columns.extend(other.columns);
        scope.aliased.extend(other.aliased);
        Ok((scope, Some(rows)))
    }

    pub(super) fn insert(&mut self, insert: &ast::Insert) -> Result<Outcome> {
        let name = match &insert.table {
            ast::TableObject::TableName(name) => object_name(name),
            _ => {
                return Err(DbError::feature_not_supported(
                    "INSERT INTO a function is not supported",
                ))
            }
        };
        let catalog = self.catalog.clone();
        let table = Self::target_table(&catalog, &name)?;
        self.db.check_writable(self.session, "INSERT")?;
        self.lock_table(
            table.oid,
            &table.name,
            crate::lock::LockMode::RowExclusive,
            false,
        )?;
        same_length_values(insert)?;
        let targets = insert_targets(table, &insert.columns)?;
        let rows = match insert.source.as_ref() {
            Some(source) => {
                self.insert_source(source, table, &targets, !insert.columns.is_empty())?
            }
            None => vec![targets
                .iter()
                .map(|i| self.default_value(table, *i))
                .collect::<Result<Vec<_>>>()?],
        };
        let alias = insert.table_alias.as_ref().map(|a| ident_name(&a.alias));
        let scope = Self::table_scope(table, alias);
        let on_conflict = match &insert.on {
            None => None,
            Some(ast::OnInsert::OnConflict(clause)) => {
                Some(self.bind_on_conflict(clause, table, &scope)?)
            }
            Some(_) => {
                return Err(DbError::feature_not_supported(
                    "ON DUPLICATE KEY UPDATE is not supported",
                ))
            }
        };
        let returning = self.bind_returning(insert.returning.as_deref(), &scope)?;
        let mut returned = Vec::new();
        let mut count = 0;
        let mut written = std::collections::BTreeSet::new();
        for source_row in rows {
            self.db.interrupts.check()?;
            let mut values: Vec<Option<Value>> = vec![None; table.columns.len()];
            for (value, index) in source_row.into_iter().zip(&targets) {
                values[*index] = Some(value);
            }
            let mut full = Vec::with_capacity(values.len());
            for (index, value) in values.into_iter().enumerate() {
                full.push(match value {
                    Some(v) => v,
                    None => self.default_value(table, index)?,
                });
            }
            self.check_row(table, &full)?;
            let full = match &on_conflict {
                Some(clause) => match self.upsert_row(table, clause, full, &mut written)? {
                    Upserted::Written(row) => row,
                    Upserted::Skipped => continue,
                },
                None => {
                    self.check_unique(table, &full, None)?;
                    self.heap_insert(table, &full)?;
                    self.foreign_keys_after_insert(table, &full)?;
                    full
                }
            };
            count += 1;
            self.eval_returning(returning.as_deref(), &full, &mut returned)?;
        }
        let tag = format!("INSERT 0 {count}");
        Ok(returning_outcome(returning, returned, tag))
    }

    /// The rows to insert, already coerced to the target columns' types.
    fn insert_source(
        &mut self,
        source: &ast::Query,
        table: &TableDef,
        targets: &[usize],
        explicit_columns: bool,
    ) -> Result<Vec<Vec<Value>>> {
        let scope = Scope::default();
        if let ast::SetExpr::Values(values) = source.body.as_ref() {
            // Without a column list, shorter rows fill the leading columns.
            let width = values.rows.first().map_or(0, |row| row.len());
            let targets = if explicit_columns || width > targets.len() {
                targets
            } else {
                &targets[..width]
            };
            let mut rows = Vec::new();
            for row in &values.rows {
                self.db.interrupts.check()?;
                if row.len() > targets.len() {
                    return Err(DbError::syntax(
                        "INSERT has more expressions than target columns",
                    ));
                }
                if row.len() < targets.len() {
                    return Err(DbError::syntax(
                        "INSERT has more target columns than expressions",
                    ));
                }
                let mut out = Vec::new();
                for (expr, index) in row.iter().zip(targets) {
                    let column = &table.columns[*index];
                    if matches!(expr, ast::Expr::Identifier(i) if i.value.eq_ignore_ascii_case("default") && i.quote_style.is_none())
                    {
                        out.push(self.default_value(table, *index)?);
                        continue;
                    }
                    let bound = self.bind_in(&scope, expr, "VALUES")?;
                    let bound = assignment(bound, &column.name, &column.data_type)?;
                    let value = eval(&bound, &Row::plain(&[]), self)?;
                    out.push(apply_typmod(value, &column.data_type)?);
                }
                rows.push(out);
            }
            return Ok(rows);
        }
        let result = self.run_query(source)?;
        if result.columns.len() > targets.len() {
            return Err(DbError::syntax(
                "INSERT has more expressions than target columns",
            ));
        }
        let mut rows = Vec::new();
        for row in result.rows {
            self.db.interrupts.check()?;
            let mut out = Vec::new();
            for ((value, (_, source_type)), index) in
                row.into_iter().zip(&result.columns).zip(targets)
            {
                let column = &table.columns[*index];
                let bound = assignment(
                    Expr::Const(value, source_type.clone()),
                    &column.name,
                    &column.data_type,
                )?;
                let value = eval(&bound, &Row::plain(&[]), self)?;
                out.push(apply_typmod(value, &column.data_type)?);
            }
            rows.push(out);
        }
        Ok(rows)
    }

    pub(super) fn default_value(&mut self, table: &TableDef, index: usize) -> Result<Value> {
        let column = &table.columns[index];
        let Some(default) = &column.default else {
            return Ok(Value::Null);
        };
        let parsed = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
            .with_recursion_limit(crate::stack::PARSER_RECURSION_LIMIT)
            .try_with_sql(default)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| DbError::internal(format!("bad default expression {default}: {e}")))?;
        let bound = Binder::new(&Scope::default()).bind(&parsed)?;
        let bound = assignment(bound, &column.name, &column.data_type)?;
        let value = eval(&bound, &Row::plain(&[]), self)?;
        apply_typmod(value, &column.data_type)
    }

    pub(super) fn bind_returning(
        &mut self,
        returning: Option<&[SelectItem]>,
        scope: &Scope,
    ) -> Result<Option<Vec<(String, Expr)>>> {
        let Some(items) = returning else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    out.push((column_name(e), Binder::new(scope).bind(e)?))
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    out.push((ident_name(alias), Binder::new(scope).bind(expr)?))
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let qualifier = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(name) => object_name(name),
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    let before = out.len();
                    for (i, c) in scope.columns.iter().enumerate() {
                        if c.table.as_deref() == Some(qualifier.as_str()) {
                            out.push((c.name.clone(), Expr::Column(i, c.data_type.clone())));
                        }
                    }
                    if out.len() == before {
                        return Err(DbError::new(
                            code::UNDEFINED_TABLE,
                            format!("missing FROM-clause entry for table \"{qualifier}\""),
                        ));
                    }
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(DbError::feature_not_supported(
                        "this RETURNING item is not supported by pgplay yet",
                    ))
                }
                SelectItem::Wildcard(_) => {
                    for i in scope.star_columns() {
                        let c = &scope.columns[i];
                        out.push((c.name.clone(), Expr::Column(i, c.data_type.clone())));
                    }
                }
            }
        }
        Ok(Some(out))
    }

    /// Appends the RETURNING values for one changed row, if the statement has RETURNING.
    pub(super) fn eval_returning(
        &mut self,
        returning: Option<&[(String, Expr)]>,
        row: &[Value],
        out: &mut Vec<Vec<Value>>,
    ) -> Result<()> {
        if let Some(exprs) = returning {
            out.push(
                exprs
                    .iter()
                    .map(|(_, e)| eval(e, &Row::plain(row), self))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        Ok(())
    }

    /// NOT NULL, then CHECK constraints, with PostgreSQL's messages and failing-row detail.
    pub(super) fn check_row(&mut self, table: &TableDef, values: &[Value]) -> Result<()> {
        for (column, value) in table.columns.iter().zip(values) {
            if column.not_null && value.is_null() {
                return Err(DbError::new(
                    code::NOT_NULL_VIOLATION,
                    format!("null value in column \"{}\" of relation \"{}\" violates not-null constraint", column.name, table.name),
                )
                .with_detail(format!("Failing row contains {}.", row_text(values))));
            }
        }
        self.check_constraints(table, values)
    }

    /// Unique indexes (primary keys and unique constraints among them), looked up
    /// through the index; `replacing` is the version an UPDATE replaces.
    pub(super) fn check_unique(
        &mut self,
        table: &TableDef,
        values: &[Value],
        replacing: Option<ItemPointer>,
    ) -> Result<()> {
        for index in table.indexes.iter().filter(|i| i.unique) {
            let Some(at) = self.find_index_conflict(table, index, values, replacing)? else {
                continue;
            };
            self.wait_for_uncommitted(table, at)?;
            let key: Vec<Value> = index.columns.iter().map(|i| values[*i].clone()).collect();
            return Err(DbError::new(
                code::UNIQUE_VIOLATION,
                format!(
                    "duplicate key value violates unique constraint \"{}\"",
                    index.name
                ),
            )
            .with_detail(format!(
                "Key ({})=({}) already exists.",
                super::index::key_names(table, index),
                super::index::key_texts(&key)
            )));
        }
        Ok(())
    }

    /// The live (or still uncommitted) row holding `values`' key of `constraint`, other than
    /// `replacing`; a key with a NULL never conflicts.
    pub(super) fn find_conflict(
        &mut self,
        table: &TableDef,
        constraint: &crate::catalog::ConstraintDef,
        values: &[Value],
        replacing: Option<ItemPointer>,
    ) -> Result<Option<ItemPointer>> {
        match table.indexes.iter().find(|i| i.name == constraint.name) {
            Some(index) => self.find_index_conflict(table, index, values, replacing),
            None => Ok(None),
        }
    }

    fn find_index_conflict(
        &mut self,
        table: &TableDef,
        index: &crate::catalog::IndexDef,
        values: &[Value],
        replacing: Option<ItemPointer>,
    ) -> Result<Option<ItemPointer>> {
        let key: Vec<Value> = index.columns.iter().map(|i| values[*i].clone()).collect();
        if key.iter().any(Value::is_null) {
            return Ok(None);
        }
        let own = self
            .snapshot
            .own
            .as_ref()
            .map(|own| own.xids.clone())
            .unwrap_or_default();
        let layout = table.layout();
        for entry in self.index_lookup(index, &key)? {
            for at in self.hot_chain(table, entry) {
                if Some(at) == replacing {
                    continue;
                }
                let Some(tuple) = self.stored_tuple(table, at) else {
                    continue;
                };
                let conflict = live_now(tuple, &self.db.data.clog, &own)
                    || (self.db.data.clog.status(tuple.xmin) == XactStatus::InProgress
                        && !own.contains(&tuple.xmin)
                        && tuple.deleter() == 0);
                if !conflict {
                    continue;
                }
                // A version reached along the chain may carry another key.
                let row = layout.decode(tuple.natts, &tuple.data)?;
                if index
                    .columns
                    .iter()
                    .zip(&key)
                    .all(|(i, k)| crate::types::compare(&row[*i], k).is_eq())
                {
                    return Ok(Some(at));
                }
            }
        }
        Ok(None)
    }

    /// REPEATABLE READ or SERIALIZABLE: the transaction reads one snapshot.
    pub(super) fn keeps_snapshot(&self) -> bool {
        self.db
            .session(self.session)
            .and_then(|s| s.xact.as_ref())
            .is_some_and(|x| x.isolation.keeps_snapshot())
    }

    fn command_id(&self) -> u32 {
        self.db
            .session(self.session)
            .and_then(|s| s.xact.as_ref())
            .map(|x| x.command_id)
            .unwrap_or(0)
    }

    /// Writes a new tuple through the WAL.
    pub(super) fn heap_insert(
        &mut self,
        table: &TableDef,
        values: &[Value],
    ) -> Result<ItemPointer> {
        let xid = self.db.assign_xid(self.session)?;
        self.snapshot.own = self.db.own(self.session);
        debug_assert!(self.snapshot.is_own_xid(xid));
        let (natts, data) = table.encode_row(values);
        let image = TupleImage {
            command_id: self.command_id(),
            natts,
            data,
        };
        let probe = HeapTuple {
            xmin: xid,
            xmax: 0,
            cmin: 0,
            cmax: 0,
            ctid: ItemPointer {
                block: 0,
                offset: 0,
            },
            natts: image.natts,
            data: image.data.clone(),
            hot_updated: false,
            lock_bits: 0,
            heap_only: false,
            frozen: false,
        };
        let (block, offset, init_page) =
            self.db.data.storage.placement(&table.locator, &probe, None);
        let record = HeapRecord::Insert {
            relation: table.locator,
            block,
            offset,
            init_page,
            tuple: image,
        };
        self.db.log(xid, RecordBody::Heap(record))?;
        let at = ItemPointer { block, offset };
        self.index_insert(table, values, at)?;
        Ok(at)
    }

    /// The tuple version stored at `at` in `table`, whoever wrote it.
    pub(super) fn stored_tuple(&self, table: &TableDef, at: ItemPointer) -> Option<&HeapTuple> {
        self.db.data.storage.relation(&table.locator)?.tuple(at)
    }

    /// Checks that this transaction may change the tuple at `at`: `false` when READ COMMITTED
    /// skips it; a row another transaction is changing makes the statement wait
    /// ([`crate::lock`]).
    /// `mode`: the strength the change takes (FOR NO KEY UPDATE for an UPDATE that keeps the
    /// key, which does not wait for FOR KEY SHARE).
    pub(super) fn lock_row(
        &mut self,
        table: &TableDef,
        at: ItemPointer,
        mode: crate::sql::row_lock::RowLockMode,
    ) -> Result<bool> {
        let tuple = self
            .stored_tuple(table, at)
            .ok_or_else(|| DbError::internal("row vanished"))?;
        let (xmax, own) = (tuple.deleter(), self.snapshot.is_own_xid(tuple.deleter()));
        if let Some(locker) = self.db.row_lock_holder(self.session, table.oid, at, mode) {
            return Err(self.wait_for(table, locker, "locking"));
        }
        let tuple = self
            .stored_tuple(table, at)
            .ok_or_else(|| DbError::internal("row vanished"))?;
        if xmax == 0 || own {
            return Ok(true);
        }
        let (xmax, deleted) = (tuple.deleter(), tuple.ctid == at);
        match self.db.data.clog.status(xmax) {
            XactStatus::Aborted => Ok(true),
            // Changed by a transaction this snapshot does not see: READ
            // COMMITTED skips the row, REPEATABLE READ cannot go on.
            XactStatus::Committed if self.keeps_snapshot() => Err(DbError::new(
                code::SERIALIZATION_FAILURE,
                if deleted {
                    "could not serialize access due to concurrent delete"
                } else {
                    "could not serialize access due to concurrent update"
                },
            )),
            XactStatus::Committed => Ok(false),
            XactStatus::InProgress => Err(self.wait_for(table, xmax, "changing")),
        }
    }

    /// Asks to wait for transaction `xid` ([`crate::lock`]); the error is what the statement
    /// answers when it cannot wait any more (it has already changed rows).
    pub(super) fn wait_for(&mut self, table: &TableDef, xid: u32, doing: &str) -> DbError {
        self.request_wait(crate::lock::LockTarget::Transaction(xid), table.oid);
        DbError::new(
            crate::lock::LOCK_WAIT,
            format!(
                "another open transaction is {doing} a row of \"{}\"",
                table.name
            ),
        )
    }

    /// A unique key's conflicting row still being inserted or deleted by another open
    /// transaction: PostgreSQL waits for it to end, then checks again.
    pub(super) fn wait_for_uncommitted(&mut self, table: &TableDef, at: ItemPointer) -> Result<()> {
        let Some(tuple) = self.stored_tuple(table, at) else {
            return Ok(());
        };
        let (xmin, xmax) = (tuple.xmin, tuple.deleter());
        let foreign = |executor: &Self, xid: u32| {
            xid != 0
                && executor.db.data.clog.status(xid) == XactStatus::InProgress
                && !executor.snapshot.is_own_xid(xid)
        };
        if foreign(self, xmin) {
            return Err(self.wait_for(table, xmin, "inserting"));
        }
        if foreign(self, xmax) {
            return Err(self.wait_for(table, xmax, "deleting"));
        }
        Ok(())
    }

    /// The rows WHERE keeps, each as the target row followed by the first FROM row it joins
    /// with: PostgreSQL changes a target row once even when several FROM rows match.
    fn matching_rows(
        &mut self,
        table: &TableDef,
        scope: &Scope,
        from_rows: Option<&[Vec<Value>]>,
        selection: Option<&ast::Expr>,
    ) -> Result<Vec<(ItemPointer, Vec<Value>)>> {
        let filter = selection
            .map(|e| self.bind_in(scope, e, "WHERE"))
            .transpose()?;
        let filter = filter.map(|f| coerce_bool(f, "WHERE")).transpose()?;
        let empty = [Vec::new()];
        let from_rows = from_rows.unwrap_or(&empty);
        let mut out = Vec::new();
        for (at, values) in self.scan(table)? {
            for other in from_rows {
                self.db.interrupts.check()?;
                let mut joined = values.clone();
                joined.extend(other.iter().cloned());
                let keep = match &filter {
                    Some(f) => truth(eval(f, &Row::plain(&joined), self)?) == Some(true),
                    None => true,
                };
                if keep {
                    out.push((at, joined));
                    break;
                }
            }
        }
        Ok(out)
    }

    pub(super) fn update(&mut self, update: &ast::Update) -> Result<Outcome> {
        let ast::TableFactor::Table { name, alias, .. } = &update.table.relation else {
            return Err(DbError::feature_not_supported(
                "UPDATE of this target is not supported",
            ));
        };
        let catalog = self.catalog.clone();
        let table = Self::target_table(&catalog, &object_name(name))?;
        self.db.check_writable(self.session, "UPDATE")?;
        self.lock_table(
            table.oid,
            &table.name,
            crate::lock::LockMode::RowExclusive,
            false,
        )?;
        let from = match &update.from {
            None => None,
            Some(ast::UpdateTableFromKind::AfterSet(from)) => Some(&from[..]),
            Some(ast::UpdateTableFromKind::BeforeSet(_)) => {
                return Err(DbError::syntax("syntax error at or near \"FROM\""))
            }
        };
        let target = Self::table_scope(table, alias.as_ref().map(|a| ident_name(&a.name)));
        let (scope, from_rows) = self.joined_scope(target, from)?;
        let mut assignments = Vec::new();
        for assignment_ast in &update.assignments {
            let column = match &assignment_ast.target {
                ast::AssignmentTarget::ColumnName(name) => object_name(name),
                _ => {
                    return Err(DbError::feature_not_supported(
                        "tuple assignment is not supported by pgplay yet",
                    ))
                }
            };
            let index = target_column(table, &column)?;
            let def = &table.columns[index];
            let bound = if matches!(&assignment_ast.value, ast::Expr::Identifier(i) if i.value.eq_ignore_ascii_case("default") && i.quote_style.is_none())
            {
                None
            } else {
                Some(assignment(
                    self.bind_in(&scope, &assignment_ast.value, "UPDATE")?,
                    &def.name,
                    &def.data_type,
                )?)
            };
            assignments.push((index, bound));
        }
        let returning = self.bind_returning(update.returning.as_deref(), &scope)?;
        let targets = self.matching_rows(
            table,
            &scope,
            from_rows.as_deref(),
            update.selection.as_ref(),
        )?;
        let mut returned = Vec::new();
        let mut count = 0;
        for (at, old) in targets {
            self.db.interrupts.check()?;
            let width = table.columns.len();
            let mut new = old[..width].to_vec();
            for (index, expr) in &assignments {
                let value = match expr {
                    Some(e) => eval(e, &Row::plain(&old), self)?,
                    None => self.default_value(table, *index)?,
                };
                new[*index] = apply_typmod(value, &table.columns[*index].data_type)?;
            }
            let mode = crate::sql::row_lock::update_mode(table, &old[..width], &new);
            if !self.lock_row(table, at, mode)? {
                continue;
            }
            self.check_row(table, &new)?;
            self.check_unique(table, &new, Some(at))?;
            self.heap_update(table, at, &old[..width], &new)?;
            self.foreign_keys_after_update(table, &old[..width], &new)?;
            count += 1;
            let mut returned_row = new;
            returned_row.extend(old[width..].iter().cloned());
            self.eval_returning(returning.as_deref(), &returned_row, &mut returned)?;
        }
        let tag = format!("UPDATE {count}");
        Ok(returning_outcome(returning, returned, tag))
    }

    pub(super) fn heap_update(
        &mut self,
        table: &TableDef,
        at: ItemPointer,
        old: &[Value],
        new: &[Value],
    ) -> Result<ItemPointer> {
        let xid = self.db.assign_xid(self.session)?;
        self.snapshot.own = self.db.own(self.session);
        debug_assert!(self.snapshot.is_own_xid(xid));
        let (natts, data) = table.encode_row(new);
        let image = TupleImage {
            command_id: self.command_id(),
            natts,
            data,
        };
        let probe = HeapTuple {
            xmin: xid,
            xmax: 0,
            cmin: 0,
            cmax: 0,
            ctid: at,
            natts: image.natts,
            data: image.data.clone(),
            hot_updated: false,
            lock_bits: 0,
            heap_only: false,
            frozen: false,
        };
        let (new_block, new_offset, init_page) =
            self.db
                .data
                .storage
                .placement(&table.locator, &probe, Some(at.block));
        // Heap-only when no indexed column changes: the indexes keep pointing at the chain.
        let keys_unchanged = table.indexes.iter().all(|index| {
            index
                .columns
                .iter()
                .all(|i| crate::types::compare(&old[*i], &new[*i]).is_eq())
        });
        let hot = new_block == at.block && keys_unchanged;
        let record = HeapRecord::Update {
            relation: table.locator,
            old_block: at.block,
            old_offset: at.offset,
            new_block,
            new_offset,
            init_page,
            hot,
            tuple: image,
        };
        self.db.log(xid, RecordBody::Heap(record))?;
        let new_at = ItemPointer {
            block: new_block,
            offset: new_offset,
        };
        if !hot {
            self.index_insert(table, new, new_at)?;
        }
        if crate::sql::row_lock::update_mode(table, old, new)
            == crate::sql::row_lock::RowLockMode::NoKeyUpdate
        {
            self.db
                .carry_key_share_locks(self.session, table.oid, at, new_at);
        }
        Ok(new_at)
    }

    pub(super) fn delete(&mut self, delete: &ast::Delete) -> Result<Outcome> {
        let tables = match &delete.from {
            ast::FromTable::WithFromKeyword(tables) | ast::FromTable::WithoutKeyword(tables) => {
                tables
            }
        };
        let Some(ast::TableWithJoins {
            relation: ast::TableFactor::Table { name, alias, .. },
            ..
        }) = tables.first()
        else {
            return Err(DbError::feature_not_supported(
                "DELETE of this target is not supported",
            ));
        };
        let catalog = self.catalog.clone();
        let table = Self::target_table(&catalog, &object_name(name))?;
        self.db.check_writable(self.session, "DELETE")?;
        self.lock_table(
            table.oid,
            &table.name,
            crate::lock::LockMode::RowExclusive,
            false,
        )?;
        let target = Self::table_scope(table, alias.as_ref().map(|a| ident_name(&a.name)));
        let (scope, from_rows) = self.joined_scope(target, delete.using.as_deref())?;
        let returning = self.bind_returning(delete.returning.as_deref(), &scope)?;
        let targets = self.matching_rows(
            table,
            &scope,
            from_rows.as_deref(),
            delete.selection.as_ref(),
        )?;
        let mut returned = Vec::new();
        let mut count = 0;
        for (at, old) in targets {
            self.db.interrupts.check()?;
            if !self.lock_row(table, at, crate::sql::row_lock::RowLockMode::Update)? {
                continue;
            }
            self.heap_delete(table, at)?;
            self.foreign_keys_after_delete(table, &old)?;
            count += 1;
            self.eval_returning(returning.as_deref(), &old, &mut returned)?;
        }
        let tag = format!("DELETE {count}");
        Ok(returning_outcome(returning, returned, tag))
    }

    pub(super) fn heap_delete(&mut self, table: &TableDef, at: ItemPointer) -> Result<()> {
        let xid = self.db.assign_xid(self.session)?;
        self.snapshot.own = self.db.own(self.session);
        debug_assert!(self.snapshot.is_own_xid(xid));
        let record = HeapRecord::Delete {
            relation: table.locator,
            block: at.block,
            offset: at.offset,
            command_id: self.command_id(),
        };
        self.db.log(xid, RecordBody::Heap(record))?;
        Ok(())
    }
}

/// The result of a DML statement: its RETURNING rows with the tag, or just the tag.
fn returning_outcome(
    returning: Option<Vec<(String, Expr)>>,
    rows: Vec<Vec<Value>>,
    tag: String,
) -> Outcome {
    match returning {
        Some(exprs) => {
            let columns = exprs
                .iter()
                .map(|(name, e)| (name.clone(), e.data_type()))
                .collect();
            rows_outcome(Rows { columns, rows }, tag)
        }
        None => Outcome::Command { tag },
    }
}

/// Assignment coercion: what INSERT and UPDATE accept for a column.
pub fn assignment(expr: Expr, column: &str, target: &DataType) -> Result<Expr> {
    let source = expr.data_type();
    if !assignable(&source, target) {
        return Err(DbError::new(
            code::DATATYPE_MISMATCH,
            format!(
                "column \"{column}\" is of type {} but expression is of type {}",
                target.base_name(),
                source.base_name()
            ),
        )
        .with_hint("You will need to rewrite or cast the expression."));
    }
    if let Expr::Const(Value::Null, _) = expr {
        return Ok(Expr::Const(Value::Null, target.clone()));
    }
    if target.is_string() && !source.is_string() && source != DataType::Unknown {
        return Ok(Expr::Cast(Box::new(expr), DataType::Text));
    }
    coerce(expr, &target.without_modifier())
}

/// Whether a value of `source` may be stored in a column of `target` (an assignment cast);
/// an array when its elements may (`integer[]` into `text[]` or `bigint[]`).
fn assignable(source: &DataType, target: &DataType) -> bool {
    if let (DataType::Array(from), DataType::Array(to)) = (source, target) {
        return assignable(from, to);
    }
    *source == DataType::Unknown
        || source.without_modifier() == target.without_modifier()
        || (source.is_numeric() && target.is_numeric())
        || target.is_string()
        || (matches!(source, DataType::Timestamp | DataType::TimestampTz)
            && matches!(target, DataType::Timestamp | DataType::TimestampTz))
}

/// `(1, abc, null)` as in a not-null violation's detail.
pub fn row_text(values: &[Value]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|v| v.to_text().unwrap_or_else(|| "null".into()))
        .collect();
    format!("({})", parts.join(", "))
}

/// The index of `column` in the target `table`, or PostgreSQL's 42703 for a column it lacks.
pub(super) fn target_column(table: &TableDef, column: &str) -> Result<usize> {
    table.column_index(column).ok_or_else(|| {
        DbError::new(
            code::UNDEFINED_COLUMN,
            format!(
                "column \"{column}\" of relation \"{}\" does not exist",
                table.name
            ),
        )
    })
}

/// A VALUES source's rows must all be as long as its first (42601), before its columns count.
fn same_length_values(insert: &ast::Insert) -> Result<()> {
    let Some(ast::SetExpr::Values(values)) = insert.source.as_deref().map(|s| s.body.as_ref())
    else {
        return Ok(());
    };
    let width = values.rows.first().map_or(0, |row| row.len());
    if values.rows.iter().any(|row| row.len() != width) {
        return Err(DbError::syntax("VALUES lists must all be the same length"));
    }
    Ok(())
}

/// The target columns of an INSERT, in the order its values come (every column without a list).
fn insert_targets(table: &TableDef, columns: &[ast::ObjectName]) -> Result<Vec<usize>> {
    if columns.is_empty() {
        Ok((0..table.columns.len()).collect())
    } else {
        let mut targets = Vec::new();
        for column in columns {
            let column = column
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(ident_name)
                .unwrap_or_default();
            let index = target_column(table, &column)?;
            if targets.contains(&index) {
                return Err(DbError::new(
                    code::DUPLICATE_COLUMN,
                    format!("column \"{column}\" specified more than once"),
                ));
            }
            targets.push(index);
        }
        Ok(targets)
    }
}
