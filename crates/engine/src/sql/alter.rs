//! ALTER TABLE: RENAME TO, RENAME COLUMN, ALTER COLUMN SET/DROP DEFAULT and
//! SET/DROP NOT NULL. Each is a change of catalog rows (a new version of the
//! `pg_class` or `pg_attribute` row, a new or deleted `pg_attrdef` row), so it
//! is transactional and reaches standbys through the WAL like any DDL. Actions
//! that would rewrite the table's rows answer 0A000.

use sqlparser::ast::{self, AlterColumnOperation, AlterTableOperation};

use super::bind::{ident_name, object_name};
use super::check::{name_checks, WrittenCheck};
use super::{notice, Executor};
use crate::catalog::*;
use crate::database::Outcome;
use crate::error::{code, DbError, Result};
use crate::types::Value;

fn not_supported(what: impl std::fmt::Display) -> DbError {
    DbError::feature_not_supported(format!(
        "ALTER TABLE ... {what} is not supported by pgplay yet"
    ))
}

impl Executor<'_> {
    pub(super) fn alter_table(&mut self, alter: &ast::AlterTable) -> Result<Outcome> {
        let name = object_name(&alter.name);
        let done = Outcome::Command {
            tag: "ALTER TABLE".into(),
        };
        let Some(table) = self.catalog.table(&name).cloned() else {
            if self.catalog.views.contains_key(&name) {
                return Err(not_supported("on a view"));
            }
            if alter.if_exists {
                self.notices.push(notice(format!(
                    "relation \"{name}\" does not exist, skipping"
                )));
                return Ok(done);
            }
            return Err(DbError::undefined_table(&name));
        };
        if table.is_system() {
            return Err(DbError::new(
                code::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{name}\" is a system catalog"),
            ));
        }
        self.db.check_writable(self.session, "ALTER TABLE")?;
        let [operation] = alter.operations.as_slice() else {
            return Err(not_supported("with several actions"));
        };
        self.lock_relation(table.oid)?;
        match operation {
            AlterTableOperation::RenameTable { table_name } => {
                let (ast::RenameTableNameKind::To(new) | ast::RenameTableNameKind::As(new)) =
                    table_name;
                self.rename_table(&table, &object_name(new))?
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => self.rename_column(
                &table,
                &ident_name(old_column_name),
                &ident_name(new_column_name),
            )?,
            AlterTableOperation::AlterColumn { column_name, op } => {
                self.alter_column(&table, &ident_name(column_name), op)?
            }
            AlterTableOperation::AddConstraint {
                constraint: ast::TableConstraint::Check(check),
                not_valid: false,
            } => self.add_check(&table, check)?,
            AlterTableOperation::DropConstraint {
                if_exists,
                name,
                drop_behavior: None | Some(ast::DropBehavior::Restrict),
            } => self.drop_constraint(&table, &ident_name(name), *if_exists)?,
            other => return Err(not_supported(other)),
        }
        Ok(done)
    }

    /// Replaces a catalog row by a new version with `change` applied.
    fn update_catalog_row(
        &mut self,
        row: &CatalogRow,
        change: impl FnOnce(&mut Vec<Value>),
    ) -> Result<()> {
        let mut values = row.values.clone();
        change(&mut values);
        self.delete_catalog_row(row.catalog, row.at)?;
        self.insert_catalog_row(row.catalog, values)
    }

    /// Views and CHECK constraints keep SQL text naming the table and its columns,
    /// so renaming under them is refused rather than left to break them.
    fn refuse_rename_under_dependents(&self, table: &TableDef, what: &str) -> Result<()> {
        let has_views = self.catalog.rows_of(PG_DEPEND).iter().any(|row| {
            row.values[0].as_i64() == Some(i64::from(PG_REWRITE))
                && row.values[4].as_i64() == Some(i64::from(table.oid))
        });
        if has_views || !table.checks.is_empty() {
            return Err(not_supported(format!(
                "{what} of a table with views or CHECK constraints"
            )));
        }
        Ok(())
    }

    fn rename_table(&mut self, table: &TableDef, new: &str) -> Result<()> {
        if self.catalog.relation_exists(new) {
            return Err(DbError::new(
                code::DUPLICATE_TABLE,
                format!("relation \"{new}\" already exists"),
            ));
        }
        self.refuse_rename_under_dependents(table, "RENAME TO")?;
        let row = self
            .catalog
            .rows_of(PG_CLASS)
            .iter()
            .find(|row| row.values[0].as_i64() == Some(i64::from(table.oid)))
            .cloned()
            .ok_or_else(|| DbError::internal("table without pg_class row"))?;
        self.update_catalog_row(&row, |values| values[1] = Value::Text(new.to_string()))
    }

    /// The `pg_attribute` row of a column, or PostgreSQL's 42703.
    fn attribute_row(&self, table: &TableDef, column: &str) -> Result<(ColumnDef, CatalogRow)> {
        let missing = || {
            DbError::new(
                code::UNDEFINED_COLUMN,
                format!(
                    "column \"{column}\" of relation \"{}\" does not exist",
                    table.name
                ),
            )
        };
        let def = table
            .columns
            .iter()
            .find(|c| c.name == column)
            .cloned()
            .ok_or_else(missing)?;
        let row = self
            .catalog
            .rows_of(PG_ATTRIBUTE)
            .iter()
            .find(|row| {
                row.values[0].as_i64() == Some(i64::from(table.oid))
                    && row.values[4].as_i64() == Some(i64::from(def.attnum))
            })
            .cloned()
            .ok_or_else(missing)?;
        Ok((def, row))
    }

    fn rename_column(&mut self, table: &TableDef, old: &str, new: &str) -> Result<()> {
        if table.column_index(old).is_none() {
            return Err(DbError::new(
                code::UNDEFINED_COLUMN,
                format!("column \"{old}\" does not exist"),
            ));
        }
        if table.column_index(new).is_some() {
            return Err(DbError::new(
                code::DUPLICATE_COLUMN,
                format!(
                    "column \"{new}\" of relation \"{}\" already exists",
                    table.name
                ),
            ));
        }
        self.refuse_rename_under_dependents(table, "RENAME COLUMN")?;
        let (_, row) = self.attribute_row(table, old)?;
        self.update_catalog_row(&row, |values| values[1] = Value::Text(new.to_string()))
    }

    fn alter_column(
        &mut self,
        table: &TableDef,
        column: &str,
        op: &AlterColumnOperation,
    ) -> Result<()> {
        let (def, row) = self.attribute_row(table, column)?;
        match op {
            AlterColumnOperation::SetDefault { value } => {
                self.drop_default(table, &def)?;
                let def_oid = self.db.new_oid()?;
                self.insert_catalog_row(
                    PG_ATTRDEF,
                    vec![
                        Value::Oid(def_oid),
                        Value::Oid(table.oid),
                        Value::Int2(def.attnum),
                        Value::Text(value.to_string()),
                    ],
                )?;
                self.update_catalog_row(&row, |values| values[6] = Value::Bool(true))
            }
            AlterColumnOperation::DropDefault => {
                self.drop_default(table, &def)?;
                self.update_catalog_row(&row, |values| values[6] = Value::Bool(false))
            }
            AlterColumnOperation::SetNotNull => {
                self.refuse_nulls(table, &def)?;
                self.update_catalog_row(&row, |values| values[5] = Value::Bool(true))
            }
            AlterColumnOperation::DropNotNull => {
                let index = table.column_index(column).unwrap_or(usize::MAX);
                let in_key = table
                    .constraints
                    .iter()
                    .any(|c| c.kind == ConstraintKind::PrimaryKey && c.columns.contains(&index));
                if in_key {
                    return Err(DbError::new(
                        code::INVALID_TABLE_DEFINITION,
                        format!("column \"{column}\" is in a primary key"),
                    ));
                }
                self.update_catalog_row(&row, |values| values[5] = Value::Bool(false))
            }
            other => Err(not_supported(format!("ALTER COLUMN {other}"))),
        }
    }

    fn drop_default(&mut self, table: &TableDef, column: &ColumnDef) -> Result<()> {
        let doomed: Vec<_> = self
            .catalog
            .rows_of(PG_ATTRDEF)
            .iter()
            .filter(|row| {
                row.values[1].as_i64() == Some(i64::from(table.oid))
                    && row.values[2].as_i64() == Some(i64::from(column.attnum))
            })
            .map(|row| row.at)
            .collect();
        for at in doomed {
            self.delete_catalog_row(PG_ATTRDEF, at)?;
        }
        Ok(())
    }

    /// SET NOT NULL: 23502 when a visible row has NULL in the column.
    fn refuse_nulls(&mut self, table: &TableDef, column: &ColumnDef) -> Result<()> {
        let index = table.column_index(&column.name).unwrap_or(usize::MAX);
        for (_, values) in self.scan(table)? {
            self.db.interrupts.check()?;
            if values.get(index).is_some_and(Value::is_null) {
                return Err(DbError::new(
                    code::NOT_NULL_VIOLATION,
                    format!(
                        "column \"{}\" of relation \"{}\" contains null values",
                        column.name, table.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// ADD [CONSTRAINT name] CHECK (...): named as in CREATE TABLE, refused with 23514
    /// when a row already there makes it false.
    fn add_check(&mut self, table: &TableDef, check: &ast::CheckConstraint) -> Result<()> {
        let written = WrittenCheck::from_ast(None, check)?;
        if let Some(name) = &written.name {
            let on_table = table.constraints.iter().map(|c| &c.name);
            if on_table
                .chain(table.checks.iter().map(|c| &c.name))
                .any(|n| n == name)
            {
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
        let mut only_new = table.clone();
        only_new.checks = vec![CheckDef {
            oid: 0,
            name: name.clone(),
            expr: expr.clone(),
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
        self.insert_check_row(table.oid, name, expr)
    }

    /// DROP CONSTRAINT of any kind: its `pg_constraint` row goes.
    fn drop_constraint(&mut self, table: &TableDef, name: &str, if_exists: bool) -> Result<()> {
        let row = self
            .catalog
            .rows_of(PG_CONSTRAINT)
            .iter()
            .find(|row| {
                row.values[4].as_i64() == Some(i64::from(table.oid))
                    && row.values[1].as_str() == Some(name)
            })
            .cloned();
        let Some(row) = row else {
            let message = format!(
                "constraint \"{name}\" of relation \"{}\" does not exist",
                table.name
            );
            if if_exists {
                self.notices.push(notice(format!("{message}, skipping")));
                return Ok(());
            }
            return Err(DbError::new(code::UNDEFINED_OBJECT, message));
        };
        self.delete_catalog_row(PG_CONSTRAINT, row.at)?;
        // A primary key or unique constraint takes its index with it.
        match table.indexes.iter().find(|i| i.name == name) {
            Some(index) => self.drop_index_relation(index),
            None => Ok(()),
        }
    }
}
