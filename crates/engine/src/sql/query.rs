//! SELECT: a query is planned ([`super::plan::planner`]) and its plan run
//! ([`super::plan::exec`]); this is where the rest of the engine asks for a query's rows.

use sqlparser::ast;

use super::bind::{ident_name, object_name};
use super::expr::*;
use super::plan::exec;
use super::plan::planner::Planner;
use super::Executor;
use crate::error::Result;
use crate::types::{DataType, Value};

/// A query's result before it is turned to text.
pub struct Rows {
    pub columns: Vec<(String, DataType)>,
    pub rows: Vec<Vec<Value>>,
}

impl Executor<'_> {
    pub fn run_query(&mut self, query: &ast::Query) -> Result<Rows> {
        let planned = Planner::new(self).plan_statement(query)?;
        // The result is kept whole before it is sent: counted against the node's memory
        // (never spilled, as it is not a work_mem node), so a huge result ends in 53200.
        let mut memory = self.node_memory(false, None);
        memory.never_spill();
        let rows = exec::collect_counted(&planned.plan, &mut memory, self);
        self.query.held.push(memory);
        let rows = rows?;
        let columns = planned
            .scope
            .columns
            .into_iter()
            .map(|c| {
                let t = match c.data_type {
                    DataType::Unknown => DataType::Text,
                    other => other,
                };
                (c.name, t)
            })
            .collect();
        Ok(Rows { columns, rows })
    }

    /// Binds an expression over `scope` (UPDATE and DELETE): subqueries allowed.
    pub fn bind_in(
        &mut self,
        scope: &Scope,
        expr: &ast::Expr,
        context: &'static str,
    ) -> Result<Expr> {
        Planner::new(self).bind(scope, expr, context)
    }
}

/// The output column name PostgreSQL gives an unaliased expression.
pub fn column_name(expr: &ast::Expr) -> String {
    use ast::Expr as E;
    match expr {
        E::Identifier(ident) => ident_name(ident),
        E::CompoundIdentifier(parts) => parts.last().map(ident_name).unwrap_or_default(),
        E::Function(f) => object_name(&f.name),
        E::Cast {
            expr, data_type, ..
        } => match expr.as_ref() {
            E::Value(_) | E::Cast { .. } | E::TypedString(_) | E::Interval(_) => {
                type_column_name(data_type)
            }
            inner => {
                let name = column_name(inner);
                if name == "?column?" {
                    type_column_name(data_type)
                } else {
                    name
                }
            }
        },
        E::Nested(inner) => column_name(inner),
        E::Case { .. } => "case".into(),
        E::Exists { .. } => "exists".into(),
        E::Subquery(query) => match query.body.as_ref() {
            ast::SetExpr::Select(select) => match select.projection.first() {
                Some(ast::SelectItem::UnnamedExpr(expr)) => column_name(expr),
                Some(ast::SelectItem::ExprWithAlias { alias, .. }) => ident_name(alias),
                _ => "?column?".into(),
            },
            _ => "?column?".into(),
        },
        E::TypedString(t) => type_column_name(&t.data_type),
        E::Interval(_) => "interval".into(),
        E::Extract { .. } => "extract".into(),
        E::Substring { .. } => "substring".into(),
        E::Array(_) => "array".into(),
        E::CompoundFieldAccess { root, .. } => column_name(root),
        _ => "?column?".into(),
    }
}

fn type_column_name(data_type: &ast::DataType) -> String {
    // An array type's column is named after its element type (`'{1}'::int[]` is `int4`).
    if let ast::DataType::Array(
        ast::ArrayElemTypeDef::SquareBracket(element, _)
        | ast::ArrayElemTypeDef::Qualified(element, _),
    ) = data_type
    {
        return type_column_name(element);
    }
    match bind_type(data_type) {
        Ok(DataType::Int4) => "int4".into(),
        Ok(DataType::Int8) => "int8".into(),
        Ok(DataType::Int2) => "int2".into(),
        Ok(DataType::Bool) => "bool".into(),
        Ok(DataType::Numeric { .. }) => "numeric".into(),
        Ok(DataType::Float8) => "float8".into(),
        Ok(DataType::Float4) => "float4".into(),
        Ok(DataType::Time(_)) => "time".into(),
        Ok(DataType::Varchar(_)) => "varchar".into(),
        Ok(DataType::Timestamp) => "timestamp".into(),
        Ok(DataType::TimestampTz) => "timestamptz".into(),
        Ok(DataType::PgLsn) => "pg_lsn".into(),
        Ok(DataType::Interval) => "interval".into(),
        Ok(other) => other.base_name(),
        Err(_) => "?column?".into(),
    }
}
