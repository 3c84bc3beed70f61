//! FOREIGN KEY constraints: creating them (a `pg_constraint` row with `contype = 'f'`,
//! checked against the rows already there) and enforcing them as PostgreSQL's RI
//! triggers do. A new or changed referencing row must find its key in the referenced
//! table; a deleted or re-keyed referenced row runs the constraint's action (NO ACTION,
//! RESTRICT, CASCADE, SET NULL, SET DEFAULT) on the rows that reference it.
//!
//! The checks read the tables with a scan, seeing committed rows and the transaction's
//! own (as the triggers' fresh snapshot does); a row another open transaction is writing
//! is not waited for. The cascaded changes are ordinary heap changes, so standbys replay
//! them from the WAL.

use sqlparser::ast;

use super::bind::{ident_name, object_name};
use super::{notice, Executor};
use crate::catalog::*;
use crate::error::{code, DbError, Result};
use crate::heap::ItemPointer;
use crate::mvcc::live_now;
use crate::types::{compare, DataType, Value};

/// A row change whose foreign keys are still to be checked or acted on: the table, the
/// old row, and the new one (None for a delete). Cascades queue them, as PostgreSQL queues
/// its RI trigger events, so a long chain needs no deeper stack.
type PendingChange = (TableDef, Vec<Value>, Option<Vec<Value>>);

fn action_code(action: Option<&ast::ReferentialAction>) -> char {
    match action {
        None | Some(ast::ReferentialAction::NoAction) => 'a',
        Some(ast::ReferentialAction::Restrict) => 'r',
        Some(ast::ReferentialAction::Cascade) => 'c',
        Some(ast::ReferentialAction::SetNull) => 'n',
        Some(ast::ReferentialAction::SetDefault) => 'd',
    }
}

/// Whether PostgreSQL has an equality operator between the two types (the
/// numeric types among themselves, the string types among themselves).
fn comparable(a: &DataType, b: &DataType) -> bool {
    let numeric = |t: &DataType| {
        matches!(
            t,
            DataType::Int2
                | DataType::Int4
                | DataType::Int8
                | DataType::Float8
                | DataType::Numeric { .. }
                | DataType::Float4
        )
    };
    let string = |t: &DataType| {
        matches!(
            t,
            DataType::Text | DataType::Varchar(_) | DataType::Name | DataType::Unknown
        )
    };
    let time = |t: &DataType| {
        matches!(
            t,
            DataType::Date | DataType::Timestamp | DataType::TimestampTz
        )
    };
    (numeric(a) && numeric(b))
        || (string(a) && string(b))
        || (time(a) && time(b))
        || a.oid() == b.oid()
}

fn key_of(values: &[Value], columns: &[usize]) -> Vec<Value> {
    columns
        .iter()
        .map(|i| values.get(*i).cloned().unwrap_or(Value::Null))
        .collect()
}

fn same_key(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| !x.is_null() && !y.is_null() && compare(x, y).is_eq())
}

fn key_text(table: &TableDef, columns: &[usize], key: &[Value]) -> String {
    let names: Vec<&str> = columns
        .iter()
        .map(|i| table.columns[*i].name.as_str())
        .collect();
    let values: Vec<String> = key
        .iter()
        .map(|v| v.to_text().unwrap_or_else(|| "null".into()))
        .collect();
    format!("({})=({})", names.join(", "), values.join(", "))
}

impl Executor<'_> {
    /// `FOREIGN KEY (cols) REFERENCES table [(cols)] [MATCH ...] [ON DELETE ...] [ON UPDATE ...]`
    /// on `table`, which exists already (CREATE TABLE adds its foreign keys last).
    pub(super) fn add_foreign_key(
        &mut self,
        table: &TableDef,
        fk: &ast::ForeignKeyConstraint,
        not_valid: bool,
    ) -> Result<()> {
        if let Some(characteristics) = &fk.characteristics {
            // NOT DEFERRABLE [INITIALLY IMMEDIATE] is what every constraint here is.
            if characteristics.deferrable == Some(true)
                || characteristics.initially == Some(ast::DeferrableInitial::Deferred)
                || characteristics.enforced == Some(false)
            {
                return Err(DbError::feature_not_supported(
                    "DEFERRABLE foreign keys are not supported by pgplay yet",
                ));
            }
        }
        let match_type = match &fk.match_kind {
            None | Some(ast::ConstraintReferenceMatchKind::Simple) => 's',
            Some(ast::ConstraintReferenceMatchKind::Full) => 'f',
            Some(ast::ConstraintReferenceMatchKind::Partial) => {
                return Err(DbError::feature_not_supported(
                    "MATCH PARTIAL not yet implemented",
                ))
            }
        };
        let mut columns = Vec::new();
        for ident in &fk.columns {
            let name = ident_name(ident);
            let index = table.column_index(&name).ok_or_else(|| {
                DbError::new(
                    code::UNDEFINED_COLUMN,
                    format!(
                        "column \"{name}\" referenced in foreign key constraint does not exist"
                    ),
                )
            })?;
            columns.push(index);
        }
        let ref_name = object_name(&fk.foreign_table);
        let Some(referenced) = self.catalog.table(&ref_name).cloned() else {
            if self.catalog.views.contains_key(&ref_name) {
                return Err(DbError::new(
                    code::WRONG_OBJECT_TYPE,
                    format!("referenced relation \"{ref_name}\" is not a table"),
                ));
            }
            return Err(DbError::undefined_table(&ref_name));
        };
        if referenced.is_system() {
            return Err(DbError::new(
                code::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{ref_name}\" is a system catalog"),
            ));
        }
        let ref_columns: Vec<usize> = if fk.referred_columns.is_empty() {
            let pk = referenced
                .constraints
                .iter()
                .find(|c| c.kind == ConstraintKind::PrimaryKey)
                .ok_or_else(|| {
                    DbError::new(
                        code::UNDEFINED_OBJECT,
                        format!("there is no primary key for referenced table \"{ref_name}\""),
                    )
                })?;
            pk.columns.clone()
        } else {
            let mut out = Vec::new();
            for ident in &fk.referred_columns {
                let name = ident_name(ident);
                let index = referenced.column_index(&name).ok_or_else(|| {
                    DbError::new(
                        code::UNDEFINED_COLUMN,
                        format!(
                            "column \"{name}\" referenced in foreign key constraint does not exist"
                        ),
                    )
                })?;
                out.push(index);
            }
            out
        };
        if ref_columns.len() != columns.len() {
            return Err(DbError::new(
                code::INVALID_FOREIGN_KEY,
                "number of referencing and referenced columns for foreign key disagree",
            ));
        }
        let mut wanted = ref_columns.clone();
        wanted.sort_unstable();
        let unique = referenced.constraints.iter().any(|c| {
            let mut have = c.columns.clone();
            have.sort_unstable();
            have == wanted
        });
        if !unique {
            return Err(DbError::new(
                code::INVALID_FOREIGN_KEY,
                format!(
                    "there is no unique constraint matching given keys for referenced table \"{ref_name}\""
                ),
            ));
        }
        let name = match &fk.name {
            Some(given) => {
                let given = ident_name(given);
                if self.constraint_on_table(table, &given) {
                    return Err(DbError::new(
                        code::DUPLICATE_OBJECT,
                        format!(
                            "constraint \"{given}\" for relation \"{}\" already exists",
                            table.name
                        ),
                    ));
                }
                given
            }
            None => {
                let cols: Vec<&str> = columns
                    .iter()
                    .map(|i| table.columns[*i].name.as_str())
                    .collect();
                let base = format!("{}_{}_fkey", table.name, cols.join("_"));
                let taken = self.catalog.constraint_names();
                let mut name = base.clone();
                let mut n = 0;
                while taken.contains(&name) || self.catalog.relation_exists(&name) {
                    n += 1;
                    name = format!("{base}{n}");
                }
                name
            }
        };
        for (own, other) in columns.iter().zip(&ref_columns) {
            let (a, b) = (&table.columns[*own], &referenced.columns[*other]);
            if !comparable(&a.data_type, &b.data_type) {
                return Err(DbError::new(
                    code::DATATYPE_MISMATCH,
                    format!("foreign key constraint \"{name}\" cannot be implemented"),
                )
                .with_detail(format!(
                    "Key columns \"{}\" and \"{}\" are of incompatible types: {} and {}.",
                    a.name,
                    b.name,
                    a.data_type.name(),
                    b.data_type.name()
                )));
            }
        }
        let attnums = |t: &TableDef, cols: &[usize]| {
            let nums: Vec<i64> = cols
                .iter()
                .map(|i| i64::from(t.columns[*i].attnum))
                .collect();
            format_int_array(&nums)
        };
        let def = ForeignKeyDef {
            oid: self.db.new_oid()?,
            name: name.clone(),
            table: table.oid,
            columns: columns.clone(),
            ref_table: referenced.oid,
            ref_columns: ref_columns.clone(),
            on_update: action_code(fk.on_update.as_ref()),
            on_delete: action_code(fk.on_delete.as_ref()),
            match_type,
            validated: !not_valid,
        };
        if !not_valid {
            self.validate_foreign_key(table, &def)?;
        }
        self.insert_catalog_row(
            PG_CONSTRAINT,
            vec![
                Value::Oid(def.oid),
                Value::Text(name),
                Value::Oid(PUBLIC_NAMESPACE_OID),
                Value::Text("f".into()),
                Value::Oid(table.oid),
                Value::Text(attnums(table, &columns)),
                Value::Text(String::new()),
                Value::Oid(referenced.oid),
                Value::Text(attnums(&referenced, &ref_columns)),
                Value::Text(def.on_update.to_string()),
                Value::Text(def.on_delete.to_string()),
                Value::Text(match_type.to_string()),
                Value::Bool(!not_valid),
            ],
        )?;
        self.command_counter_increment()
    }

    /// The rows already in `table` must satisfy the foreign key.
    pub(super) fn validate_foreign_key(
        &mut self,
        table: &TableDef,
        def: &ForeignKeyDef,
    ) -> Result<()> {
        let referenced = self.referenced_table(def.ref_table)?;
        for (_, values) in self.scan(table)? {
            self.db.interrupts.check()?;
            self.check_reference(def, table, &referenced, &values)?;
        }
        Ok(())
    }

    /// A referencing row of `def` must find its key in the referenced table.
    fn check_reference(
        &mut self,
        def: &ForeignKeyDef,
        table: &TableDef,
        referenced: &TableDef,
        values: &[Value],
    ) -> Result<()> {
        let key = key_of(values, &def.columns);
        let nulls = key.iter().filter(|v| v.is_null()).count();
        if nulls == key.len() {
            return Ok(());
        }
        let violation = || {
            DbError::new(
                code::FOREIGN_KEY_VIOLATION,
                format!(
                    "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                    table.name, def.name
                ),
            )
        };
        if nulls > 0 {
            if def.match_type == 'f' {
                return Err(violation().with_detail(
                    "MATCH FULL does not allow mixing of null and nonnull key values.",
                ));
            }
            return Ok(());
        }
        if self
            .live_rows_with_key(referenced, &def.ref_columns, &key)?
            .is_empty()
        {
            return Err(violation().with_detail(format!(
                "Key {} is not present in table \"{}\".",
                key_text(table, &def.columns, &key),
                referenced.name
            )));
        }
        Ok(())
    }

    /// The rows of `table` (committed, or the transaction's own) whose `columns` hold `key`.
    fn live_rows_with_key(
        &mut self,
        table: &TableDef,
        columns: &[usize],
        key: &[Value],
    ) -> Result<Vec<(ItemPointer, Vec<Value>)>> {
        let own = self
            .snapshot
            .own
            .as_ref()
            .map(|own| own.xids.clone())
            .unwrap_or_default();
        let layout = table.layout();
        let Some(relation) = self.db.data.storage.relation(&table.locator) else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for (at, tuple) in relation.tuples() {
            self.db.interrupts.check()?;
            if !live_now(tuple, &self.db.data.clog, &own) {
                continue;
            }
            let values = layout.decode(tuple.natts, &tuple.data)?;
            if same_key(&key_of(&values, columns), key) {
                found.push((at, values));
            }
        }
        Ok(found)
    }

    /// After a row of `table` was inserted.
    pub(super) fn foreign_keys_after_insert(
        &mut self,
        table: &TableDef,
        values: &[Value],
    ) -> Result<()> {
        if !self.catalog.has_foreign_keys() {
            return Ok(());
        }
        for def in self.catalog.foreign_keys() {
            if def.table == table.oid {
                let referenced = self.referenced_table(def.ref_table)?;
                self.check_reference(&def, table, &referenced, values)?;
            }
        }
        Ok(())
    }

    /// After a row of `table` was updated from `old` to `new`.
    pub(super) fn foreign_keys_after_update(
        &mut self,
        table: &TableDef,
        old: &[Value],
        new: &[Value],
    ) -> Result<()> {
        self.foreign_keys_after_change(table, old, Some(new))
    }

    /// After a row of `table` holding `old` was deleted.
    pub(super) fn foreign_keys_after_delete(
        &mut self,
        table: &TableDef,
        old: &[Value],
    ) -> Result<()> {
        self.foreign_keys_after_change(table, old, None)
    }

    fn referenced_table(&self, oid: u32) -> Result<TableDef> {
        self.catalog
            .table_by_oid(oid)
            .cloned()
            .ok_or_else(|| DbError::internal("foreign key to a missing table"))
    }

    fn foreign_keys_after_change(
        &mut self,
        table: &TableDef,
        old: &[Value],
        new: Option<&[Value]>,
    ) -> Result<()> {
        if !self.catalog.has_foreign_keys() {
            return Ok(());
        }
        let width = table.columns.len();
        let mut queue = std::collections::VecDeque::new();
        queue.push_back((
            table.clone(),
            old[..width.min(old.len())].to_vec(),
            new.map(<[Value]>::to_vec),
        ));
        let keys = self.catalog.foreign_keys();
        while let Some((table, old, new)) = queue.pop_front() {
            self.db.interrupts.check()?;
            self.row_change_foreign_keys(&keys, &table, &old, new.as_deref(), &mut queue)?;
        }
        Ok(())
    }

    fn row_change_foreign_keys(
        &mut self,
        keys: &[ForeignKeyDef],
        table: &TableDef,
        old: &[Value],
        new: Option<&[Value]>,
        queue: &mut std::collections::VecDeque<PendingChange>,
    ) -> Result<()> {
        for def in keys {
            // As the referencing side: a changed key must still find its row.
            if def.table == table.oid {
                if let Some(new) = new {
                    let changed = !key_of(old, &def.columns)
                        .iter()
                        .zip(key_of(new, &def.columns))
                        .all(|(a, b)| a.is_null() == b.is_null() && compare(a, &b).is_eq());
                    if changed {
                        let referenced = self.referenced_table(def.ref_table)?;
                        self.check_reference(def, table, &referenced, new)?;
                    }
                }
            }
            // As the referenced side: the rows that referenced the old key.
            if def.ref_table == table.oid {
                self.referenced_row_changed(def, table, old, new, queue)?;
            }
        }
        Ok(())
    }

    fn referenced_row_changed(
        &mut self,
        def: &ForeignKeyDef,
        referenced: &TableDef,
        old: &[Value],
        new: Option<&[Value]>,
        queue: &mut std::collections::VecDeque<PendingChange>,
    ) -> Result<()> {
        let old_key = key_of(old, &def.ref_columns);
        if old_key.iter().any(Value::is_null) {
            return Ok(());
        }
        if let Some(new) = new {
            if same_key(&old_key, &key_of(new, &def.ref_columns)) {
                return Ok(());
            }
        }
        let child = self.referenced_table(def.table)?;
        let referencing = self.live_rows_with_key(&child, &def.columns, &old_key)?;
        if referencing.is_empty() {
            return Ok(());
        }
        let action = if new.is_some() {
            def.on_update
        } else {
            def.on_delete
        };
        let still_referenced = || {
            DbError::new(
                code::FOREIGN_KEY_VIOLATION,
                format!(
                    "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
                    referenced.name, def.name, child.name
                ),
            )
            .with_detail(format!(
                "Key {} is still referenced from table \"{}\".",
                key_text(referenced, &def.ref_columns, &old_key),
                child.name
            ))
        };
        match action {
            'r' => return Err(still_referenced()),
            'a' => {
                // NO ACTION: another row holding the same key satisfies the references.
                let others = self.live_rows_with_key(referenced, &def.ref_columns, &old_key)?;
                if others.is_empty() {
                    return Err(still_referenced());
                }
                return Ok(());
            }
            _ => {}
        }
        for (at, values) in referencing {
            self.db.interrupts.check()?;
            if !self.lock_row(&child, at)? {
                continue;
            }
            match (action, new) {
                ('c', None) => {
                    self.heap_delete(&child, at)?;
                    queue.push_back((child.clone(), values, None));
                }
                _ => {
                    let mut changed = values.clone();
                    for (own, other) in def.columns.iter().zip(&def.ref_columns) {
                        changed[*own] = match (action, new) {
                            ('c', Some(new)) => new[*other].clone(),
                            ('n', _) => Value::Null,
                            _ => self.default_value(&child, *own)?,
                        };
                    }
                    self.check_row(&child, &changed)?;
                    self.check_unique(&child, &changed, Some(at))?;
                    self.heap_update(&child, at, &values, &changed)?;
                    queue.push_back((child.clone(), values, Some(changed)));
                }
            }
        }
        if action == 'd' {
            // A default equal to the old key left the rows referencing it: PostgreSQL then
            // checks as NO ACTION would.
            let child = self.referenced_table(def.table)?;
            if !self
                .live_rows_with_key(&child, &def.columns, &old_key)?
                .is_empty()
                && self
                    .live_rows_with_key(referenced, &def.ref_columns, &old_key)?
                    .is_empty()
            {
                return Err(still_referenced());
            }
        }
        Ok(())
    }

    /// The foreign keys of other tables that reference `table` (DROP TABLE refuses, or with
    /// CASCADE drops them, with PostgreSQL's notice).
    pub(super) fn drop_foreign_keys_referencing(
        &mut self,
        table: &TableDef,
        cascade: bool,
        dropping: &[u32],
    ) -> Result<()> {
        let keys: Vec<ForeignKeyDef> = self
            .catalog
            .foreign_keys()
            .into_iter()
            .filter(|k| k.ref_table == table.oid && !dropping.contains(&k.table))
            .collect();
        self.drop_dependent_keys(&keys, &format!("table {}", table.name), cascade)
    }

    /// Refuses (2BP01) or, with CASCADE, drops foreign keys that depend on `what`.
    pub(super) fn drop_dependent_keys(
        &mut self,
        keys: &[ForeignKeyDef],
        what: &str,
        cascade: bool,
    ) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let describe = |k: &ForeignKeyDef| {
            let on = self
                .catalog
                .table_by_oid(k.table)
                .map(|t| t.name.clone())
                .unwrap_or_default();
            format!("constraint {} on table {on}", k.name)
        };
        let lines: Vec<String> = keys.iter().map(describe).collect();
        if !cascade {
            let detail: Vec<String> = lines
                .iter()
                .map(|l| format!("{l} depends on {what}"))
                .collect();
            return Err(DbError::new(
                code::DEPENDENT_OBJECTS_STILL_EXIST,
                format!("cannot drop {what} because other objects depend on it"),
            )
            .with_detail(detail.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        if lines.len() == 1 {
            self.notices
                .push(notice(format!("drop cascades to {}", lines[0])));
        } else {
            let detail: Vec<String> = lines
                .iter()
                .map(|l| format!("drop cascades to {l}"))
                .collect();
            self.notices.push(
                notice(format!("drop cascades to {} other objects", lines.len()))
                    .with_detail(detail.join("\n")),
            );
        }
        let doomed: Vec<ItemPointer> = self
            .catalog
            .rows_of(PG_CONSTRAINT)
            .iter()
            .filter(|row| keys.iter().any(|k| row.values[0] == Value::Oid(k.oid)))
            .map(|row| row.at)
            .collect();
        for at in doomed {
            self.delete_catalog_row(PG_CONSTRAINT, at)?;
        }
        Ok(())
    }

    /// DROP COLUMN of a column other tables' foreign keys reference.
    pub(super) fn drop_references_to_column(
        &mut self,
        table: &TableDef,
        column: &ColumnDef,
        cascade: bool,
    ) -> Result<()> {
        let Some(index) = table.column_index(&column.name) else {
            return Ok(());
        };
        let keys: Vec<ForeignKeyDef> = self
            .catalog
            .foreign_keys()
            .into_iter()
            .filter(|k| {
                k.ref_table == table.oid && k.table != table.oid && k.ref_columns.contains(&index)
            })
            .collect();
        let what = format!("column {} of table {}", column.name, table.name);
        self.drop_dependent_keys(&keys, &what, cascade)
    }

    /// DROP CONSTRAINT of a key that foreign keys reference.
    pub(super) fn drop_references_to_key(
        &mut self,
        table: &TableDef,
        key: &ConstraintDef,
        cascade: bool,
    ) -> Result<()> {
        let mut wanted = key.columns.clone();
        wanted.sort_unstable();
        let keys: Vec<ForeignKeyDef> = self
            .catalog
            .foreign_keys()
            .into_iter()
            .filter(|k| {
                let mut have = k.ref_columns.clone();
                have.sort_unstable();
                k.ref_table == table.oid && have == wanted
            })
            .collect();
        let what = format!("constraint {} on table {}", key.name, table.name);
        // PostgreSQL names the index the foreign keys depend on in the DETAIL.
        if !cascade && !keys.is_empty() {
            let lines: Vec<String> = keys
                .iter()
                .map(|k| {
                    let on = self
                        .catalog
                        .table_by_oid(k.table)
                        .map(|t| t.name.clone())
                        .unwrap_or_default();
                    format!(
                        "constraint {} on table {on} depends on index {}",
                        k.name, key.name
                    )
                })
                .collect();
            return Err(DbError::new(
                code::DEPENDENT_OBJECTS_STILL_EXIST,
                format!("cannot drop {what} because other objects depend on it"),
            )
            .with_detail(lines.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        self.drop_dependent_keys(&keys, &what, cascade)
    }

    /// TRUNCATE of a table other tables reference: refused as PostgreSQL does unless those
    /// tables are truncated in the same statement.
    pub(super) fn refuse_truncate_referenced(
        &self,
        table: &TableDef,
        truncating: &[String],
    ) -> Result<()> {
        for key in self.catalog.foreign_keys() {
            if key.ref_table != table.oid || key.table == table.oid {
                continue;
            }
            let Some(child) = self.catalog.table_by_oid(key.table) else {
                continue;
            };
            if truncating.contains(&child.name) {
                continue;
            }
            return Err(DbError::new(
                code::FEATURE_NOT_SUPPORTED,
                "cannot truncate a table referenced in a foreign key constraint",
            )
            .with_detail(format!(
                "Table \"{}\" references \"{}\".",
                child.name, table.name
            ))
            .with_hint(format!(
                "Truncate table \"{}\" at the same time, or use TRUNCATE ... CASCADE.",
                child.name
            )));
        }
        Ok(())
    }

    /// TRUNCATE ... CASCADE: the tables that reference those named, transitively, are
    /// truncated too, each with PostgreSQL's notice.
    pub(super) fn truncate_cascade(&mut self, mut names: Vec<String>) -> Vec<String> {
        let keys = self.catalog.foreign_keys();
        let mut at = 0;
        while at < names.len() {
            let Some(table) = self.catalog.table(&names[at]).cloned() else {
                at += 1;
                continue;
            };
            for key in keys.iter().filter(|k| k.ref_table == table.oid) {
                if let Some(child) = self.catalog.table_by_oid(key.table) {
                    if !names.contains(&child.name) {
                        self.notices.push(notice(format!(
                            "truncate cascades to table \"{}\"",
                            child.name
                        )));
                        names.push(child.name.clone());
                    }
                }
            }
            at += 1;
        }
        names
    }
}
