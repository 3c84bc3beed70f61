//! ALTER TABLE ADD COLUMN, DROP COLUMN and ALTER COLUMN TYPE, as PostgreSQL 15 does them.
//!
//! ADD COLUMN appends an attribute (`attnum = relnatts + 1`). A default that is not volatile
//! is computed once and kept as the attribute's `attmissingval`, which rows stored before
//! read (see `row_layout`): no row is rewritten. A volatile default (`nextval`, `random()`,
//! a serial column) differs per row, so the table is rewritten into a new relfilenode, as
//! ALTER COLUMN TYPE always is. DROP COLUMN only marks the attribute `attisdropped` under the
//! name `........pg.dropped.N........`; the constraints, default and serial sequence on it go
//! with it. Each change is catalog rows and heap records, so it reaches standbys in the WAL.

use sqlparser::ast::{self, ColumnOption};

use super::bind::ident_name;
use super::check::{name_checks, WrittenCheck};
use super::expr::{bind_type, is_serial};
use super::{notice, Executor};
use crate::catalog::*;
use crate::error::{code, DbError, Result};
use crate::types::{DataType, Value};

/// Functions whose result differs from call to call: a default calling one is computed
/// for each row, so ADD COLUMN rewrites the table.
const VOLATILE: &[&str] = &[
    "nextval",
    "random",
    "clock_timestamp",
    "timeofday",
    "gen_random_uuid",
    "setval",
];

fn is_volatile(default: &str) -> bool {
    let lower = default.to_ascii_lowercase();
    VOLATILE.iter().any(|f| {
        lower
            .match_indices(f)
            .any(|(at, _)| lower[at + f.len()..].trim_start().starts_with('('))
    })
}

/// Whether the SQL text `expr` names `column` (as a word or quoted identifier).
pub(super) fn mentions_column(expr: &str, column: &str) -> bool {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, expr).tokenize() else {
        return true;
    };
    tokens.iter().any(|token| match token {
        Token::Word(word) => {
            let name = if word.quote_style.is_some() {
                word.value.clone()
            } else {
                word.value.to_lowercase()
            };
            name == column
        }
        _ => false,
    })
}

fn attribute_row_values(table_oid: u32, column: &ColumnDef) -> Vec<Value> {
    let missing = column.missing.as_ref().and_then(missing_text);
    vec![
        Value::Oid(table_oid),
        Value::Text(column.name.clone()),
        Value::Oid(column.data_type.oid()),
        Value::Int4(column.data_type.typmod()),
        Value::Int2(column.attnum),
        Value::Bool(column.not_null),
        Value::Bool(column.default.is_some()),
        Value::Bool(missing.is_some()),
        Value::Bool(false),
        missing.map(Value::Text).unwrap_or(Value::Null),
    ]
}

impl Executor<'_> {
    /// PostgreSQL's CommandCounterIncrement inside one statement: what it wrote so far
    /// becomes visible to what it does next (each action of an ALTER TABLE sees the
    /// ones before it).
    pub(super) fn command_counter_increment(&mut self) -> Result<()> {
        if let Some(xact) = self.db.session_mut(self.session).xact.as_mut() {
            xact.command_id += 1;
        }
        self.snapshot.own = self.db.own(self.session);
        self.catalog = self.db.catalog(self.session)?;
        Ok(())
    }

    /// The table as the catalog now has it (after earlier actions of the statement).
    pub(super) fn current_table(&self, oid: u32) -> Result<TableDef> {
        self.catalog
            .table_by_oid(oid)
            .cloned()
            .ok_or_else(|| DbError::internal("table vanished during ALTER TABLE"))
    }

    /// ADD [COLUMN] [IF NOT EXISTS] name type [options].
    pub(super) fn add_column(
        &mut self,
        table: &TableDef,
        column: &ast::ColumnDef,
        if_not_exists: bool,
    ) -> Result<()> {
        let name = ident_name(&column.name);
        if table.column_index(&name).is_some() {
            let message = format!(
                "column \"{name}\" of relation \"{}\" already exists",
                table.name
            );
            if if_not_exists {
                self.notices.push(notice(format!("{message}, skipping")));
                return Ok(());
            }
            return Err(DbError::new(code::DUPLICATE_COLUMN, message));
        }
        let data_type = bind_type(&column.data_type)?;
        let mut def = ColumnDef {
            name: name.clone(),
            data_type,
            not_null: false,
            default: None,
            attnum: table.natts() as i16 + 1,
            missing: None,
        };
        let mut checks = Vec::new();
        let mut keys = Vec::new();
        let mut references = Vec::new();
        for option in &column.options {
            match &option.option {
                ColumnOption::NotNull => def.not_null = true,
                ColumnOption::Null => {}
                ColumnOption::Default(expr) => def.default = Some(expr.to_string()),
                ColumnOption::Check(check) => {
                    checks.push(WrittenCheck::from_ast(option.name.as_ref(), check)?)
                }
                ColumnOption::PrimaryKey(_) => {
                    def.not_null = true;
                    keys.push((
                        ConstraintKind::PrimaryKey,
                        option.name.as_ref().map(ident_name),
                    ));
                }
                ColumnOption::Unique(_) => {
                    keys.push((ConstraintKind::Unique, option.name.as_ref().map(ident_name)))
                }
                ColumnOption::ForeignKey(fk) => {
                    let mut fk = fk.clone();
                    fk.name = option.name.clone().or(fk.name);
                    fk.columns = vec![column.name.clone()];
                    references.push(fk);
                }
                other => {
                    return Err(DbError::feature_not_supported(format!(
                        "column option {other} is not supported by pgplay yet"
                    )))
                }
            }
        }
        if is_serial(&column.data_type) {
            def.not_null = true;
            let sequence = format!("{}_{name}_seq", table.name);
            let bigint = def.data_type == DataType::Int8;
            let unlogged = self.is_unlogged(&table.locator);
            self.create_sequence(&sequence, Some((table.oid, def.attnum)), bigint, unlogged)?;
            def.default = Some(format!("nextval('{sequence}'::regclass)"));
        }
        let volatile = def.default.as_deref().is_some_and(is_volatile);
        if !volatile && def.default.is_some() {
            let mut with = table.clone();
            with.columns.push(def.clone());
            let value = self.default_value(&with, with.columns.len() - 1)?;
            def.missing = (!value.is_null()).then_some(value);
        }
        self.insert_catalog_row(PG_ATTRIBUTE, attribute_row_values(table.oid, &def))?;
        if let Some(default) = &def.default {
            self.insert_default_row(table.oid, def.attnum, default.clone())?;
        }
        self.set_relnatts(table.oid, def.attnum)?;
        self.command_counter_increment()?;
        let table = self.current_table(table.oid)?;
        let index = table
            .column_index(&name)
            .ok_or_else(|| DbError::internal("added column missing"))?;
        if volatile {
            let mut rows = Vec::new();
            for (_, mut values) in self.scan(&table)? {
                values[index] = self.default_value(&table, index)?;
                rows.push(values);
            }
            self.rewrite_table(&table, &table, rows)?;
        }
        let table = self.current_table(table.oid)?;
        if def.not_null {
            let column = table.columns[index].clone();
            self.refuse_nulls(&table, &column)?;
        }
        for check in checks {
            self.add_written_check(&table, check, false)?;
        }
        for (kind, constraint_name) in keys {
            let table = self.current_table(table.oid)?;
            self.add_key(&table, kind, constraint_name, vec![index])?;
        }
        for fk in references {
            let table = self.current_table(table.oid)?;
            self.add_foreign_key(&table, &fk, false)?;
        }
        Ok(())
    }

    fn set_relnatts(&mut self, table_oid: u32, natts: i16) -> Result<()> {
        let row = self.pg_class_row(table_oid)?;
        self.update_catalog_row(&row, |values| values[5] = Value::Int2(natts))
    }

    pub(super) fn pg_class_row(&self, table_oid: u32) -> Result<CatalogRow> {
        self.catalog
            .rows_of(PG_CLASS)
            .iter()
            .find(|row| row.values[0] == Value::Oid(table_oid))
            .cloned()
            .ok_or_else(|| DbError::internal("pg_class row missing"))
    }

    /// Writes `rows` (for `new`'s columns) into a new relfilenode of the table, which
    /// `pg_class` then names; the old file goes at commit, as after TRUNCATE.
    pub(super) fn rewrite_table(
        &mut self,
        old: &TableDef,
        new: &TableDef,
        rows: Vec<Vec<Value>>,
    ) -> Result<()> {
        let relfilenode = self.db.new_oid()?;
        self.create_storage(relfilenode, self.is_unlogged(&old.locator))?;
        let mut target = new.clone();
        target.locator = locator(relfilenode);
        // The indexes are built afresh from the new file below, as PostgreSQL's rewrite does.
        target.indexes.clear();
        for values in rows {
            self.db.interrupts.check()?;
            self.heap_insert(&target, &values)?;
        }
        let row = self.pg_class_row(old.oid)?;
        self.update_catalog_row(&row, |values| values[4] = Value::Oid(relfilenode))?;
        self.db
            .xact_mut(self.session)
            .dropped_mut()
            .push(old.locator);
        self.command_counter_increment()?;
        let rewritten = self.current_table(old.oid)?;
        if rewritten.indexes.is_empty() {
            return Ok(());
        }
        for index in &rewritten.indexes {
            self.rebuild_index(&rewritten, index)?;
        }
        self.command_counter_increment()
    }

    /// DROP [COLUMN] [IF EXISTS] name [CASCADE | RESTRICT].
    pub(super) fn drop_column(
        &mut self,
        table: &TableDef,
        name: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<()> {
        let Some(index) = table.column_index(name) else {
            let message = format!(
                "column \"{name}\" of relation \"{}\" does not exist",
                table.name
            );
            if if_exists {
                self.notices.push(notice(format!("{message}, skipping")));
                return Ok(());
            }
            return Err(DbError::new(code::UNDEFINED_COLUMN, message));
        };
        let has_views = self.catalog.rows_of(PG_DEPEND).iter().any(|row| {
            row.values[0].as_i64() == Some(i64::from(PG_REWRITE))
                && row.values[4].as_i64() == Some(i64::from(table.oid))
        });
        if has_views {
            return Err(DbError::feature_not_supported(
                "ALTER TABLE ... DROP COLUMN of a table a view reads is not supported by pgplay yet",
            ));
        }
        let column = table.columns[index].clone();
        self.drop_references_to_column(table, &column, cascade)?;
        // Keys and foreign keys over the column, and CHECKs that read it, go with it.
        let attnum = i64::from(column.attnum);
        let doomed: Vec<_> = self
            .catalog
            .rows_of(PG_CONSTRAINT)
            .iter()
            .filter(|row| {
                let v = &row.values;
                if v[4] != Value::Oid(table.oid) {
                    return false;
                }
                if v[3].as_str() == Some("c") {
                    return mentions_column(v[6].as_str().unwrap_or(""), name);
                }
                parse_int_array(v[5].as_str().unwrap_or("")).contains(&attnum)
            })
            .map(|row| row.at)
            .collect();
        for at in doomed {
            self.delete_catalog_row(PG_CONSTRAINT, at)?;
        }
        // Every index over the column goes too (a key's index among them).
        for over_column in table.indexes.iter().filter(|i| i.columns.contains(&index)) {
            self.drop_index_relation(over_column)?;
        }
        self.drop_default(table, &column)?;
        let owned: Vec<SequenceDef> = self
            .catalog
            .sequences
            .values()
            .filter(|s| s.owned_by == Some((table.oid, column.attnum)))
            .cloned()
            .collect();
        if !owned.is_empty() {
            let oids: Vec<u32> = owned.iter().map(|s| s.oid).collect();
            self.delete_rows_of(&oids)?;
            let dropped = self.db.xact_mut(self.session).dropped_mut();
            dropped.extend(owned.iter().map(|s| s.locator));
        }
        let (_, row) = self.attribute_row(table, name)?;
        self.update_catalog_row(&row, |values| {
            values.resize(10, Value::Null);
            values[1] = Value::Text(format!("........pg.dropped.{}........", column.attnum));
            values[5] = Value::Bool(false);
            values[6] = Value::Bool(false);
            values[7] = Value::Bool(false);
            values[8] = Value::Bool(true);
            values[9] = Value::Null;
        })?;
        self.command_counter_increment()
    }

    /// ALTER [COLUMN] name [SET DATA] TYPE type [USING expr]: every row converted and the
    /// table rewritten into a new relfilenode.
    pub(super) fn alter_column_type(
        &mut self,
        table: &TableDef,
        name: &str,
        data_type: &ast::DataType,
        using: Option<&ast::Expr>,
    ) -> Result<()> {
        let (column, row) = self.attribute_row(table, name)?;
        let index = table.column_index(name).unwrap_or(usize::MAX);
        let new_type = bind_type(data_type)?;
        let in_constraint = self.catalog.rows_of(PG_CONSTRAINT).iter().any(|row| {
            let v = &row.values;
            v[3].as_str() == Some("f")
                && (v[4] == Value::Oid(table.oid) || v[7] == Value::Oid(table.oid))
        });
        if in_constraint {
            return Err(DbError::feature_not_supported(
                "ALTER COLUMN ... TYPE of a table with foreign keys is not supported by pgplay yet",
            ));
        }
        let has_views = self.catalog.rows_of(PG_DEPEND).iter().any(|row| {
            row.values[0].as_i64() == Some(i64::from(PG_REWRITE))
                && row.values[4].as_i64() == Some(i64::from(table.oid))
        });
        if has_views {
            return Err(DbError::feature_not_supported(
                "ALTER COLUMN ... TYPE of a table a view reads is not supported by pgplay yet",
            ));
        }
        let convert = self.bind_conversion(table, &column, &new_type, using)?;
        let mut rows = Vec::new();
        for (_, mut values) in self.scan(table)? {
            self.db.interrupts.check()?;
            let value = super::expr::eval(&convert, &super::expr::Row::plain(&values), self)?;
            values[index] = crate::types::apply_typmod(value, &new_type)?;
            rows.push(values);
        }
        let mut new = table.clone();
        new.columns[index].data_type = new_type.clone();
        new.columns[index].missing = None;
        self.update_catalog_row(&row, |values| {
            values.resize(10, Value::Null);
            values[2] = Value::Oid(new_type.oid());
            values[3] = Value::Int4(new_type.typmod());
            values[7] = Value::Bool(false);
            values[9] = Value::Null;
        })?;
        self.command_counter_increment()?;
        let new = self.current_table(table.oid)?;
        for values in &rows {
            self.check_row(&new, values)?;
        }
        for key in &new.constraints {
            refuse_duplicates(&new, &key.name, &key.columns, &rows)?;
        }
        self.rewrite_table(table, &new, rows)
    }

    /// The expression giving a row's new value: USING, or the column cast by assignment.
    fn bind_conversion(
        &mut self,
        table: &TableDef,
        column: &ColumnDef,
        new_type: &DataType,
        using: Option<&ast::Expr>,
    ) -> Result<super::expr::Expr> {
        let scope = Self::table_scope(table, None);
        let expr = match using {
            Some(using) => self.bind_in(&scope, using, "USING")?,
            None => {
                let ident = ast::Expr::Identifier(ast::Ident::with_quote('"', &column.name));
                self.bind_in(&scope, &ident, "USING")?
            }
        };
        match super::dml::assignment(expr, &column.name, new_type) {
            Ok(bound) => Ok(bound),
            Err(e) if e.code == code::DATATYPE_MISMATCH && using.is_none() => Err(DbError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "column \"{}\" cannot be cast automatically to type {}",
                    column.name,
                    new_type.name()
                ),
            )
            .with_hint(format!(
                "You might need to specify \"USING {}::{}\".",
                column.name,
                new_type.name()
            ))),
            Err(e) => Err(e),
        }
    }

    /// A CHECK added to an existing table: named as in CREATE TABLE, refused with 23514
    /// when a row already there makes it false.
    pub(super) fn add_written_check(
        &mut self,
        table: &TableDef,
        written: WrittenCheck,
        not_valid: bool,
    ) -> Result<()> {
        if let Some(name) = &written.name {
            if self.constraint_on_table(table, name) {
                return Err(DbError::new(
                    code::DUPLICATE_OBJECT,
                    format!(
                        "constraint \"{name}\" for relation \"{}\" already exists",
                        table.name
                    ),
                ));
            }
        }
        let taken = self.catalog.constraint_names();
        let named = name_checks(&table.name, &table.columns, &[written], &taken)?;
        let Some((name, expr)) = named.into_iter().next() else {
            return Ok(());
        };
        if !not_valid {
            self.validate_check(table, &name, &expr)?;
        }
        self.insert_check_row(table.oid, name.clone(), expr)?;
        if not_valid {
            self.mark_validated(table, &name, false)?;
        }
        self.command_counter_increment()
    }

    /// 23514 when a row already there makes the CHECK false.
    pub(super) fn validate_check(
        &mut self,
        table: &TableDef,
        name: &str,
        expr: &str,
    ) -> Result<()> {
        let mut only_new = table.clone();
        only_new.checks = vec![CheckDef {
            oid: 0,
            name: name.to_string(),
            expr: expr.to_string(),
            validated: true,
        }];
        for (_, values) in self.scan(table)? {
            self.db.interrupts.check()?;
            match self.check_constraints(&only_new, &values) {
                Err(e) if e.code == code::CHECK_VIOLATION => {
                    return Err(DbError::new(
                        code::CHECK_VIOLATION,
                        format!(
                        "check constraint \"{name}\" of relation \"{}\" is violated by some row",
                        table.name
                    ),
                    ))
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// Sets `convalidated` of the table's constraint `name`.
    pub(super) fn mark_validated(
        &mut self,
        table: &TableDef,
        name: &str,
        validated: bool,
    ) -> Result<()> {
        self.command_counter_increment()?;
        let row = self
            .catalog
            .rows_of(PG_CONSTRAINT)
            .iter()
            .find(|row| {
                row.values[4] == Value::Oid(table.oid) && row.values[1].as_str() == Some(name)
            })
            .cloned()
            .ok_or_else(|| DbError::internal("constraint row missing"))?;
        self.update_catalog_row(&row, |values| values[12] = Value::Bool(validated))
    }

    /// VALIDATE CONSTRAINT name: a NOT VALID foreign key or CHECK is checked against every
    /// row and marked valid.
    pub(super) fn validate_constraint(&mut self, table: &TableDef, name: &str) -> Result<()> {
        let row = self
            .catalog
            .rows_of(PG_CONSTRAINT)
            .iter()
            .find(|row| {
                row.values[4] == Value::Oid(table.oid) && row.values[1].as_str() == Some(name)
            })
            .cloned()
            .ok_or_else(|| {
                DbError::new(
                    code::UNDEFINED_OBJECT,
                    format!(
                        "constraint \"{name}\" of relation \"{}\" does not exist",
                        table.name
                    ),
                )
            })?;
        if row.values[12] != Value::Bool(false) {
            return Ok(());
        }
        match row.values[3].as_str() {
            Some("c") => {
                let expr = row.values[6].as_str().unwrap_or("").to_string();
                self.validate_check(table, name, &expr)?;
            }
            Some("f") => {
                let key = self
                    .catalog
                    .foreign_keys()
                    .into_iter()
                    .find(|k| k.table == table.oid && k.name == name)
                    .ok_or_else(|| DbError::internal("foreign key row missing"))?;
                self.validate_foreign_key(table, &key)?;
            }
            _ => {
                return Err(DbError::new(
                    code::WRONG_OBJECT_TYPE,
                    format!(
                        "constraint \"{name}\" of relation \"{}\" is not a foreign key or check constraint",
                        table.name
                    ),
                ))
            }
        }
        self.update_catalog_row(&row, |values| values[12] = Value::Bool(true))
    }

    /// Whether the table has a constraint of that name (of any kind).
    pub(super) fn constraint_on_table(&self, table: &TableDef, name: &str) -> bool {
        self.catalog.rows_of(PG_CONSTRAINT).iter().any(|row| {
            row.values[4] == Value::Oid(table.oid) && row.values[1].as_str() == Some(name)
        })
    }

    /// ADD PRIMARY KEY / UNIQUE on existing rows: a primary key's columns become NOT NULL
    /// (23502 when a row has a NULL there), and a duplicate key fails as PostgreSQL's index
    /// build does (23505, `Key (...)=(...) is duplicated.`).
    pub(super) fn add_key(
        &mut self,
        table: &TableDef,
        kind: ConstraintKind,
        given: Option<String>,
        columns: Vec<usize>,
    ) -> Result<()> {
        if kind == ConstraintKind::PrimaryKey
            && table
                .constraints
                .iter()
                .any(|c| c.kind == ConstraintKind::PrimaryKey)
        {
            return Err(DbError::new(
                code::INVALID_TABLE_DEFINITION,
                format!(
                    "multiple primary keys for table \"{}\" are not allowed",
                    table.name
                ),
            ));
        }
        let name = match given {
            Some(name) => {
                if self.catalog.relation_exists(&name) {
                    return Err(DbError::new(
                        code::DUPLICATE_TABLE,
                        format!("relation \"{name}\" already exists"),
                    ));
                }
                name
            }
            None => {
                let base = match kind {
                    ConstraintKind::PrimaryKey => format!("{}_pkey", table.name),
                    ConstraintKind::Unique => {
                        let cols: Vec<&str> = columns
                            .iter()
                            .map(|i| table.columns[*i].name.as_str())
                            .collect();
                        format!("{}_{}_key", table.name, cols.join("_"))
                    }
                };
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
        let rows: Vec<Vec<Value>> = self.scan(table)?.into_iter().map(|(_, v)| v).collect();
        refuse_duplicates(table, &name, &columns, &rows)?;
        if kind == ConstraintKind::PrimaryKey {
            for index in &columns {
                let column = table.columns[*index].clone();
                if column.not_null {
                    continue;
                }
                self.refuse_nulls(table, &column)?;
                let (_, row) = self.attribute_row(table, &column.name)?;
                self.update_catalog_row(&row, |values| values[5] = Value::Bool(true))?;
            }
        }
        let attnums: Vec<i64> = columns
            .iter()
            .map(|i| i64::from(table.columns[*i].attnum))
            .collect();
        let constraint_oid = self.db.new_oid()?;
        let index_name = name.clone();
        self.insert_catalog_row(
            PG_CONSTRAINT,
            vec![
                Value::Oid(constraint_oid),
                Value::Text(name),
                Value::Oid(PUBLIC_NAMESPACE_OID),
                Value::Text(
                    if kind == ConstraintKind::PrimaryKey {
                        "p"
                    } else {
                        "u"
                    }
                    .into(),
                ),
                Value::Oid(table.oid),
                Value::Text(format_int_array(&attnums)),
                Value::Text(String::new()),
            ],
        )?;
        self.command_counter_increment()?;
        let table = self.current_table(table.oid)?;
        self.create_index_relation(
            &table,
            &index_name,
            &columns,
            &vec![false; columns.len()],
            true,
            kind == ConstraintKind::PrimaryKey,
        )?;
        self.command_counter_increment()
    }
}

/// A unique index built over `rows` fails on the first key seen twice, as PostgreSQL's
/// index build does.
fn refuse_duplicates(
    table: &TableDef,
    name: &str,
    columns: &[usize],
    rows: &[Vec<Value>],
) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for values in rows {
        let key: Vec<Value> = columns.iter().map(|i| values[*i].clone()).collect();
        if key.iter().any(Value::is_null) {
            continue;
        }
        let texts: Vec<String> = key
            .iter()
            .map(|v| v.to_text().unwrap_or_default())
            .collect();
        if !seen.insert(crate::types::Key(key)) {
            let names: Vec<&str> = columns
                .iter()
                .map(|i| table.columns[*i].name.as_str())
                .collect();
            return Err(DbError::new(
                code::UNIQUE_VIOLATION,
                format!("could not create unique index \"{name}\""),
            )
            .with_detail(format!(
                "Key ({})=({}) is duplicated.",
                names.join(", "),
                texts.join(", ")
            )));
        }
    }
    Ok(())
}

/// VACUUM FULL of one table: the rows its snapshot sees, written into a new
/// relfilenode with every index rebuilt, as ALTER TABLE's rewrite does (the
/// old file goes at commit). Unlike PostgreSQL's `cluster_rel`, the rows get
/// the VACUUM's xid rather than keeping their own, and row versions only an
/// older snapshot still sees are not copied: a REPEATABLE READ transaction
/// that began before it sees the table empty, as after TRUNCATE.
pub(crate) fn vacuum_full(
    db: &mut crate::database::Database,
    session: crate::database::SessionId,
    table: &TableDef,
    notices: &mut Vec<DbError>,
) -> Result<TableDef> {
    let mut executor = Executor::open(db, session, notices, true)?;
    executor.lock_relation(table.oid)?;
    let rows = executor
        .scan(table)?
        .into_iter()
        .map(|(_, values)| values)
        .collect();
    executor.rewrite_table(table, table, rows)?;
    executor.current_table(table.oid)
}
