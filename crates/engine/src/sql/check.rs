//! CHECK constraints: naming and validating them at CREATE TABLE, and
//! evaluating them on every new row version (INSERT and UPDATE). The
//! expression is stored as SQL text in `pg_constraint.conbin`, so a standby
//! replaying the catalog rows enforces nothing but can describe the same table.

use std::collections::BTreeSet;

use sqlparser::ast;

use super::bind::{ident_name, Binder};
use super::expr::{eval, Expr, Row, Scope, ScopeColumn};
use super::Executor;
use crate::catalog::{ColumnDef, TableDef};
use crate::error::{code, DbError, Result};
use crate::types::{DataType, Value};

/// A CHECK constraint as written in CREATE TABLE, before it has its name.
pub(super) struct WrittenCheck {
    pub name: Option<String>,
    pub expr: ast::Expr,
}

impl WrittenCheck {
    pub fn from_ast(name: Option<&ast::Ident>, check: &ast::CheckConstraint) -> Result<Self> {
        if check.no_inherit || check.enforced.is_some() {
            return Err(DbError::feature_not_supported(
                "CHECK ... NO INHERIT is not supported by pgplay yet",
            ));
        }
        Ok(WrittenCheck {
            name: name.or(check.name.as_ref()).map(ident_name),
            expr: (*check.expr).clone(),
        })
    }
}

/// The scope a CHECK expression is bound in: the table's own columns.
fn table_scope(table: &str, columns: &[ColumnDef]) -> Scope {
    Scope::new(
        columns
            .iter()
            .map(|c| ScopeColumn::new(Some(table.to_string()), c.name.clone(), c.data_type.clone()))
            .collect(),
    )
}

fn bind_check(scope: &Scope, expr: &ast::Expr) -> Result<Expr> {
    let mut binder = Binder::new(scope);
    binder.context = "check constraints";
    let bound = binder.bind(expr)?;
    match bound.data_type() {
        DataType::Bool => Ok(bound),
        other => Err(DbError::new(
            code::DATATYPE_MISMATCH,
            format!(
                "argument of CHECK must be type boolean, not type {}",
                other.name()
            ),
        )),
    }
}

/// Binds each written CHECK and gives it PostgreSQL's name: the given one, or
/// `table_column_check` when it reads exactly one column, else `table_check`,
/// numbered (`t_a_check1`) past names already taken.
pub(super) fn name_checks(
    table: &str,
    columns: &[ColumnDef],
    written: &[WrittenCheck],
    taken: &BTreeSet<String>,
) -> Result<Vec<(String, String)>> {
    let scope = table_scope(table, columns);
    let mut named: Vec<(String, String)> = Vec::new();
    for check in written {
        let bound = bind_check(&scope, &check.expr)?;
        let name = match &check.name {
            Some(name) => {
                if named.iter().any(|(n, _)| n == name) {
                    return Err(DbError::new(
                        code::DUPLICATE_OBJECT,
                        format!("check constraint \"{name}\" already exists"),
                    ));
                }
                name.clone()
            }
            None => {
                let mut read = BTreeSet::new();
                bound.walk(&mut |e| {
                    if let Expr::Column(index, _) = e {
                        read.insert(*index);
                    }
                });
                let base = match (read.len(), read.first()) {
                    (1, Some(index)) => format!("{table}_{}_check", columns[*index].name),
                    _ => format!("{table}_check"),
                };
                let free = |n: &String| !taken.contains(n) && !named.iter().any(|(m, _)| m == n);
                (0..)
                    .map(|pass| {
                        if pass == 0 {
                            base.clone()
                        } else {
                            format!("{base}{pass}")
                        }
                    })
                    .find(free)
                    .unwrap_or(base)
            }
        };
        named.push((name, check.expr.to_string()));
    }
    Ok(named)
}

impl Executor<'_> {
    /// 23514 for the first CHECK (in name order) the row makes false.
    pub(super) fn check_constraints(&mut self, table: &TableDef, values: &[Value]) -> Result<()> {
        if table.checks.is_empty() {
            return Ok(());
        }
        let scope = table_scope(&table.name, &table.columns);
        for check in &table.checks {
            let parsed = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                .with_recursion_limit(crate::stack::PARSER_RECURSION_LIMIT)
                .try_with_sql(&check.expr)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| {
                    DbError::internal(format!("bad check expression {}: {e}", check.expr))
                })?;
            let bound = bind_check(&scope, &parsed)?;
            if eval(&bound, &Row::plain(values), self)? == Value::Bool(false) {
                return Err(DbError::new(
                    code::CHECK_VIOLATION,
                    format!(
                        "new row for relation \"{}\" violates check constraint \"{}\"",
                        table.name, check.name
                    ),
                )
                .with_detail(format!(
                    "Failing row contains {}.",
                    super::dml::row_text(values)
                )));
            }
        }
        Ok(())
    }
}
