//! ALTER TABLE: RENAME TO, RENAME COLUMN, ALTER COLUMN SET/DROP DEFAULT and
//! SET/DROP NOT NULL, ADD/DROP CONSTRAINT. Each is a change of catalog rows (a new
//! version of the `pg_class` or `pg_attribute` row, a new or deleted `pg_attrdef`
//! row), so it is transactional and reaches standbys through the WAL like any DDL.
//! Several comma-separated actions run in order, each seeing the ones before it
//! (`alter_column` holds ADD/DROP COLUMN and ALTER COLUMN TYPE, `foreign_key` the
//! foreign keys).

use sqlparser::ast::{self, AlterColumnOperation, AlterTableOperation};

use super::bind::{ident_name, object_name};
use super::check::WrittenCheck;
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
        let renames = alter.operations.iter().any(|op| {
            matches!(
                op,
                AlterTableOperation::RenameTable { .. } | AlterTableOperation::RenameColumn { .. }
            )
        });
        if renames && alter.operations.len() > 1 {
            return Err(DbError::syntax("syntax error at or near \",\""));
        }
        self.lock_relation(table.oid)?;
        for operation in &alter.operations {
            let table = self.current_table(table.oid)?;
            self.alter_table_action(&table, operation)?;
            self.command_counter_increment()?;
        }
        Ok(done)
    }

    fn alter_table_action(
        &mut self,
        table: &TableDef,
        operation: &AlterTableOperation,
    ) -> Result<()> {
        let table = table.clone();
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
                constraint,
                not_valid,
            } => self.add_constraint(&table, constraint, *not_valid)?,
            AlterTableOperation::ValidateConstraint { name } => {
                self.validate_constraint(&table, &ident_name(name))?
            }
            AlterTableOperation::DropConstraint {
                if_exists,
                name,
                drop_behavior,
            } => self.drop_constraint(
                &table,
                &ident_name(name),
                *if_exists,
                *drop_behavior == Some(ast::DropBehavior::Cascade),
            )?,
            AlterTableOperation::AddColumn {
                if_not_exists,
                column_def,
                column_position: None,
                ..
            } => self.add_column(&table, column_def, *if_not_exists)?,
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                drop_behavior,
                ..
            } => {
                for column in column_names {
                    let table = self.current_table(table.oid)?;
                    self.drop_column(
                        &table,
                        &ident_name(column),
                        *if_exists,
                        *drop_behavior == Some(ast::DropBehavior::Cascade),
                    )?;
                }
            }
            other => return Err(not_supported(other)),
        }
        Ok(())
    }

    fn add_constraint(
        &mut self,
        table: &TableDef,
        constraint: &ast::TableConstraint,
        not_valid: bool,
    ) -> Result<()> {
        let keyword = match constraint {
            ast::TableConstraint::PrimaryKey(_) => Some("PRIMARY KEY"),
            ast::TableConstraint::Unique(_) => Some("UNIQUE"),
            _ => None,
        };
        if let (true, Some(keyword)) = (not_valid, keyword) {
            return Err(DbError::feature_not_supported(format!(
                "{keyword} constraints cannot be marked NOT VALID"
            )));
        }
        match constraint {
            ast::TableConstraint::Check(check) => {
                self.add_written_check(table, WrittenCheck::from_ast(None, check)?, not_valid)
            }
            ast::TableConstraint::PrimaryKey(pk) => {
                let columns = self.key_columns(table, pk.columns.iter().map(|c| &c.column.expr))?;
                self.add_key(
                    table,
                    ConstraintKind::PrimaryKey,
                    pk.name.as_ref().map(ident_name),
                    columns,
                )
            }
            ast::TableConstraint::Unique(unique) => {
                let columns =
                    self.key_columns(table, unique.columns.iter().map(|c| &c.column.expr))?;
                self.add_key(
                    table,
                    ConstraintKind::Unique,
                    unique.name.as_ref().map(ident_name),
                    columns,
                )
            }
            ast::TableConstraint::ForeignKey(fk) => self.add_foreign_key(table, fk, not_valid),
            other => Err(not_supported(format!("ADD {other}"))),
        }
    }

    fn key_columns<'e>(
        &self,
        table: &TableDef,
        exprs: impl Iterator<Item = &'e ast::Expr>,
    ) -> Result<Vec<usize>> {
        let mut indexes = Vec::new();
        for expr in exprs {
            let name = match expr {
                ast::Expr::Identifier(ident) => ident_name(ident),
                other => {
                    return Err(not_supported(format!("a key on the expression {other}")));
                }
            };
            let index = table.column_index(&name).ok_or_else(|| {
                DbError::new(
                    code::UNDEFINED_COLUMN,
                    format!("column \"{name}\" named in key does not exist"),
                )
            })?;
            indexes.push(index);
        }
        Ok(indexes)
    }

    /// Replaces a catalog row by a new version with `change` applied.
    pub(super) fn update_catalog_row(
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
    pub(super) fn attribute_row(
        &self,
        table: &TableDef,
        column: &str,
    ) -> Result<(ColumnDef, CatalogRow)> {
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
                self.insert_default_row(table.oid, def.attnum, value.to_string())?;
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
            AlterColumnOperation::SetDataType {
                data_type, using, ..
            } => self.alter_column_type(table, column, data_type, using.as_ref()),
            other => Err(not_supported(format!("ALTER COLUMN {other}"))),
        }
    }

    pub(super) fn drop_default(&mut self, table: &TableDef, column: &ColumnDef) -> Result<()> {
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
    pub(super) fn refuse_nulls(&mut self, table: &TableDef, column: &ColumnDef) -> Result<()> {
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

    /// DROP CONSTRAINT of any kind: its `pg_constraint` row goes.
    fn drop_constraint(
        &mut self,
        table: &TableDef,
        name: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<()> {
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
        if let Some(key) = table.constraints.iter().find(|c| c.name == name) {
            self.drop_references_to_key(table, key, cascade)?;
        }
        self.delete_catalog_row(PG_CONSTRAINT, row.at)?;
        // A primary key or unique constraint takes its index with it.
        match table.indexes.iter().find(|i| i.name == name) {
            Some(index) => self.drop_index_relation(index),
            None => Ok(()),
        }
    }
}
