//! Views: CREATE [OR REPLACE] VIEW and DROP VIEW. A view is a `pg_class` row of
//! kind `v`, `pg_attribute` rows for its columns and a `pg_rewrite` row holding
//! its query as SQL text, all ordinary catalog rows, so a view reaches standbys
//! through the WAL like any DDL. Reading a view plans that text afresh
//! (`Planner::plan_view`).

use sqlparser::ast;

use super::bind::{ident_name, object_name};
use super::ddl::RelationKind;
use super::plan::planner::Planner;
use super::Executor;
use crate::catalog::*;
use crate::database::Outcome;
use crate::error::{code, DbError, Result};
use crate::types::{DataType, Value};

/// The stored query of `view`, parsed.
pub fn parse_view_query(view: &ViewDef) -> Result<ast::Query> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut parser = sqlparser::parser::Parser::new(&dialect)
        .with_recursion_limit(crate::stack::PARSER_RECURSION_LIMIT)
        .try_with_sql(&view.query)
        .map_err(|e| DbError::internal(format!("bad view query {}: {e}", view.query)))?;
    parser
        .parse_query()
        .map(|q| *q)
        .map_err(|e| DbError::internal(format!("bad view query {}: {e}", view.query)))
}

/// OR REPLACE keeps every existing column, with its name and type, in place.
fn check_replacement(old: &ViewDef, new: &[(String, DataType)]) -> Result<()> {
    let invalid = |message: String| DbError::new(code::INVALID_TABLE_DEFINITION, message);
    if new.len() < old.columns.len() {
        return Err(invalid("cannot drop columns from view".into()));
    }
    for (old, (name, data_type)) in old.columns.iter().zip(new) {
        if &old.name != name {
            return Err(invalid(format!(
                "cannot change name of view column \"{}\" to \"{name}\"",
                old.name
            )));
        }
        if &old.data_type != data_type {
            return Err(invalid(format!(
                "cannot change data type of view column \"{}\" from {} to {}",
                old.name,
                old.data_type.name(),
                data_type.name()
            )));
        }
    }
    Ok(())
}

impl Executor<'_> {
    /// The output columns of a view's query, under the names CREATE VIEW gives.
    fn view_columns(
        &mut self,
        name: &str,
        create: &ast::CreateView,
    ) -> Result<(Vec<(String, DataType)>, Vec<u32>)> {
        let mut planner = Planner::new(self);
        let planned = planner.plan_statement(&create.query)?;
        if create.or_replace && planner.views_read.contains(name) {
            return Err(DbError::feature_not_supported(
                "a view reading its own earlier definition is not supported by pgplay yet",
            ));
        }
        let read: Vec<u32> = planner.relations_read.iter().copied().collect();
        let mut columns: Vec<(String, DataType)> = planned
            .scope
            .star_columns()
            .into_iter()
            .map(|i| {
                let c = &planned.scope.columns[i];
                let t = match &c.data_type {
                    DataType::Unknown => DataType::Text,
                    other => other.clone(),
                };
                (c.name.clone(), t)
            })
            .collect();
        if create.columns.len() > columns.len() {
            return Err(DbError::syntax(
                "CREATE VIEW specifies more column names than columns",
            ));
        }
        for (column, given) in columns.iter_mut().zip(&create.columns) {
            column.0 = ident_name(&given.name);
        }
        Ok((columns, read))
    }

    pub(super) fn create_view(&mut self, create: &ast::CreateView) -> Result<Outcome> {
        if create.materialized || create.temporary || create.if_not_exists {
            return Err(DbError::feature_not_supported(
                "this form of CREATE VIEW is not supported by pgplay yet",
            ));
        }
        let name = object_name(&create.name);
        self.db.check_writable(self.session, "CREATE VIEW")?;
        let existing = self.catalog.views.get(&name).cloned();
        if create.or_replace && existing.is_none() && self.catalog.table(&name).is_some() {
            return Err(DbError::new(
                code::WRONG_OBJECT_TYPE,
                format!("\"{name}\" is not a view"),
            ));
        }
        if self.catalog.relation_exists(&name) && !(create.or_replace && existing.is_some()) {
            return Err(DbError::new(
                code::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let (columns, read) = self.view_columns(&name, create)?;
        let view_oid = match &existing {
            Some(old) => {
                check_replacement(old, &columns)?;
                self.delete_view_rows(old.oid)?;
                old.oid
            }
            None => self.db.new_oid()?,
        };
        let rule_oid =
            self.insert_view_rows(view_oid, &name, &columns, create.query.to_string())?;
        for relation in read {
            self.insert_catalog_row(
                PG_DEPEND,
                vec![
                    Value::Oid(PG_REWRITE),
                    Value::Oid(rule_oid),
                    Value::Int4(0),
                    Value::Oid(PG_CLASS),
                    Value::Oid(relation),
                    Value::Int4(0),
                    Value::Text("n".into()),
                ],
            )?;
        }
        Ok(Outcome::Command {
            tag: "CREATE VIEW".into(),
        })
    }

    fn insert_view_rows(
        &mut self,
        view_oid: u32,
        name: &str,
        columns: &[(String, DataType)],
        query: String,
    ) -> Result<u32> {
        self.insert_catalog_row(
            PG_CLASS,
            vec![
                Value::Oid(view_oid),
                Value::Text(name.to_string()),
                Value::Oid(PUBLIC_NAMESPACE_OID),
                Value::Text("v".into()),
                Value::Oid(0),
                Value::Int2(columns.len() as i16),
                super::ddl::persistence(false),
            ],
        )?;
        for (index, (column, data_type)) in columns.iter().enumerate() {
            self.insert_catalog_row(
                PG_ATTRIBUTE,
                vec![
                    Value::Oid(view_oid),
                    Value::Text(column.clone()),
                    Value::Oid(data_type.oid()),
                    Value::Int4(data_type.typmod()),
                    Value::Int2(index as i16 + 1),
                    Value::Bool(false),
                    Value::Bool(false),
                ],
            )?;
        }
        let rule_oid = self.db.new_oid()?;
        self.insert_catalog_row(
            PG_REWRITE,
            vec![
                Value::Oid(rule_oid),
                Value::Text("_RETURN".into()),
                Value::Oid(view_oid),
                Value::Text(query),
            ],
        )?;
        Ok(rule_oid)
    }

    /// Deletes the `pg_class`, `pg_attribute` and `pg_rewrite` rows of a view.
    fn delete_view_rows(&mut self, view_oid: u32) -> Result<()> {
        let mut doomed = Vec::new();
        for catalog in [PG_CLASS, PG_ATTRIBUTE] {
            for row in self.catalog.rows_of(catalog) {
                if row.values[0].as_i64() == Some(i64::from(view_oid)) {
                    doomed.push((catalog, row.at));
                }
            }
        }
        let mut rules = Vec::new();
        for row in self.catalog.rows_of(PG_REWRITE) {
            if row.values[2].as_i64() == Some(i64::from(view_oid)) {
                doomed.push((PG_REWRITE, row.at));
                rules.push(row.values[0].as_i64());
            }
        }
        for row in self.catalog.rows_of(PG_DEPEND) {
            if row.values[0].as_i64() == Some(i64::from(PG_REWRITE))
                && rules.contains(&row.values[1].as_i64())
            {
                doomed.push((PG_DEPEND, row.at));
            }
        }
        for (catalog, at) in doomed {
            self.delete_catalog_row(catalog, at)?;
        }
        Ok(())
    }

    /// 2BP01 when a view reads `relation` (described as `what`, e.g. `table t`).
    pub(super) fn refuse_if_depended_on(
        &self,
        relation: u32,
        what: &str,
        cascade: bool,
    ) -> Result<()> {
        let mut lines = Vec::new();
        for row in self.catalog.rows_of(PG_DEPEND) {
            let v = &row.values;
            let on_it = v[4].as_i64() == Some(i64::from(relation));
            if !on_it || v[0].as_i64() != Some(i64::from(PG_REWRITE)) {
                continue;
            }
            let view = self.catalog.rows_of(PG_REWRITE).iter().find_map(|rule| {
                (rule.values[0] == v[1])
                    .then(|| rule.values[2].as_i64())
                    .flatten()
            });
            if let Some(view) = self
                .catalog
                .views
                .values()
                .find(|d| Some(i64::from(d.oid)) == view)
            {
                lines.push((view.oid, format!("view {} depends on {what}", view.name)));
            }
        }
        if lines.is_empty() {
            return Ok(());
        }
        if cascade {
            return Err(DbError::feature_not_supported(
                "DROP ... CASCADE of objects views depend on is not supported by pgplay yet",
            ));
        }
        lines.sort();
        let lines: Vec<String> = lines.into_iter().map(|(_, line)| line).collect();
        Err(DbError::new(
            code::DEPENDENT_OBJECTS_STILL_EXIST,
            format!("cannot drop {what} because other objects depend on it"),
        )
        .with_detail(lines.join("\n"))
        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."))
    }

    pub(super) fn drop_views(
        &mut self,
        if_exists: bool,
        names: &[ast::ObjectName],
        cascade: bool,
    ) -> Result<Outcome> {
        self.db.check_writable(self.session, "DROP VIEW")?;
        for name in names {
            let name = object_name(name);
            let Some(view) = self.catalog.views.get(&name).cloned() else {
                self.drop_target_missing(RelationKind::View, &name, if_exists)?;
                continue;
            };
            self.refuse_if_depended_on(view.oid, &format!("view {name}"), cascade)?;
            self.delete_view_rows(view.oid)?;
        }
        Ok(Outcome::Command {
            tag: "DROP VIEW".into(),
        })
    }
}
