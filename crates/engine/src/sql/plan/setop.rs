//! Query bodies other than a SELECT: VALUES lists, UNION/INTERSECT/EXCEPT (each column
//! resolved to a common type, as PostgreSQL's `select_common_type`), WITH and WITH
//! RECURSIVE, and the ORDER BY and LIMIT around them, which may name output columns only.

use sqlparser::ast;

use super::super::bind::ident_name;
use super::super::expr::*;
use super::planner::{unqualified, CteBinding, Planned, Planner};
use super::{Plan, SetOpKind, SortKey};
use crate::error::{code, DbError, Result};
use crate::types::DataType;

impl Planner<'_, '_> {
    pub(super) fn plan_values(&mut self, values: &ast::Values) -> Result<Planned> {
        let empty = Scope::default();
        let mut rows: Vec<Vec<Expr>> = Vec::new();
        for row in &values.rows {
            let mut bound = Vec::new();
            for expr in row.content.iter() {
                bound.push(self.bind(&empty, expr, "VALUES")?);
            }
            if let Some(first) = rows.first() {
                if first.len() != bound.len() {
                    return Err(DbError::syntax("VALUES lists must all be the same length"));
                }
            }
            rows.push(bound);
        }
        let width = rows.first().map(Vec::len).unwrap_or(0);
        let mut types = Vec::new();
        for column in 0..width {
            let column_types: Vec<DataType> = rows.iter().map(|r| r[column].data_type()).collect();
            types.push(common_type("VALUES", &column_types)?);
        }
        for row in &mut rows {
            for (expr, t) in row.iter_mut().zip(&types) {
                *expr = coerce(expr.clone(), t)?;
            }
        }
        let scope = Scope::new(
            types
                .into_iter()
                .enumerate()
                .map(|(i, t)| ScopeColumn::new(None, format!("column{}", i + 1), t))
                .collect(),
        );
        Ok(Planned {
            plan: Plan::Values { rows },
            scope,
        })
    }

    pub(super) fn plan_set_operation(
        &mut self,
        left: &ast::SetExpr,
        op: &ast::SetOperator,
        quantifier: &ast::SetQuantifier,
        right: &ast::SetExpr,
    ) -> Result<Planned> {
        let (kind, word) = match op {
            ast::SetOperator::Union => (SetOpKind::Union, "UNION"),
            ast::SetOperator::Intersect => (SetOpKind::Intersect, "INTERSECT"),
            ast::SetOperator::Except => (SetOpKind::Except, "EXCEPT"),
            ast::SetOperator::Minus => {
                return Err(DbError::feature_not_supported(
                    "MINUS is not supported by pgplay",
                ))
            }
        };
        let all = match quantifier {
            ast::SetQuantifier::All => true,
            ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
            _ => {
                return Err(DbError::feature_not_supported(format!(
                    "{word} {quantifier} is not supported by pgplay"
                )))
            }
        };
        let left = self.plan_body(left)?;
        let right = self.plan_body(right)?;
        let (lc, rc) = (&left.scope.columns, &right.scope.columns);
        if lc.len() != rc.len() {
            return Err(DbError::syntax(format!(
                "each {word} query must have the same number of columns"
            )));
        }
        let mut types = Vec::new();
        for (l, r) in lc.iter().zip(rc) {
            types.push(common_type(
                word,
                &[l.data_type.clone(), r.data_type.clone()],
            )?);
        }
        let scope = Scope::new(
            lc.iter()
                .zip(&types)
                .map(|(c, t)| ScopeColumn::new(None, c.name.clone(), t.clone()))
                .collect(),
        );
        Ok(Planned {
            plan: Plan::SetOp {
                op: kind,
                all,
                left: Box::new(cast_columns(left, &types)?),
                right: Box::new(cast_columns(right, &types)?),
            },
            scope,
        })
    }

    /// ORDER BY and LIMIT around a body that is not a plain SELECT: by output name or position.
    pub(super) fn order_and_limit(&mut self, body: Planned, query: &ast::Query) -> Result<Planned> {
        let mut sort = Vec::new();
        if let Some(order_by) = &query.order_by {
            let ast::OrderByKind::Expressions(items) = &order_by.kind else {
                return Err(DbError::feature_not_supported(
                    "ORDER BY ALL is not supported by pgplay",
                ));
            };
            for item in items {
                let descending = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
                sort.push(SortKey {
                    column: output_position(&item.expr, &body.scope)?,
                    descending,
                    nulls_first: item.options.nulls_first.unwrap_or(descending),
                });
            }
        }
        let mut plan = body.plan;
        if !sort.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys: sort.clone(),
            };
        }
        let plan = self.plan_limit(plan, query, &sort)?;
        Ok(Planned {
            plan,
            scope: body.scope,
        })
    }

    /// `WITH name [(columns)] AS (query), ...`: each CTE planned once and visible by name to
    /// the ones after it and to the query.
    pub(super) fn plan_with(&mut self, with: &ast::With) -> Result<()> {
        for (i, cte) in with.cte_tables.iter().enumerate() {
            let name = ident_name(&cte.alias.name);
            if with.cte_tables[..i]
                .iter()
                .any(|c| ident_name(&c.alias.name) == name)
            {
                return Err(DbError::new(
                    "42712",
                    format!("WITH query name \"{name}\" specified more than once"),
                ));
            }
            let id = self.ex.query.new_id();
            let planned = if with.recursive {
                self.plan_recursive(cte, &name, id)?
            } else {
                self.plan_query(&cte.query)?
            };
            let scope = super::planner::aliased(planned.scope, &name, Some(&cte.alias))?;
            let plan = std::sync::Arc::new(planned.plan);
            self.ex.query.ctes.insert(id, plan.clone());
            let columns = scope.columns.iter().map(|c| c.name.clone()).collect();
            self.ex.query.cte_names.insert(id, (name.clone(), columns));
            self.ctes.push(CteBinding {
                name,
                id,
                columns: scope
                    .columns
                    .iter()
                    .map(|c| (c.name.clone(), c.data_type.clone()))
                    .collect(),
                plan: Some(plan),
                references: 0,
                materialized: cte
                    .materialized
                    .as_ref()
                    .map(|m| matches!(m, ast::CteAsMaterialized::Materialized)),
            });
        }
        Ok(())
    }

    /// `name AS (base UNION [ALL] recursive)`: the recursive term reads the working table.
    fn plan_recursive(&mut self, cte: &ast::Cte, name: &str, id: usize) -> Result<Planned> {
        let ast::SetExpr::SetOperation {
            left,
            op: ast::SetOperator::Union,
            set_quantifier,
            right,
        } = cte.query.body.as_ref()
        else {
            return self.plan_query(&cte.query);
        };
        if !references(right, name) {
            return self.plan_query(&cte.query);
        }
        if cte.query.order_by.is_some() || cte.query.limit_clause.is_some() {
            return Err(DbError::feature_not_supported(
                "ORDER BY/LIMIT in a recursive query is not implemented",
            ));
        }
        let base = self.plan_body(left)?;
        let base_scope = super::planner::aliased(base.scope.clone(), name, Some(&cte.alias))?;
        self.ctes.push(CteBinding {
            name: name.to_string(),
            id,
            columns: base_scope
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.data_type.clone()))
                .collect(),
            plan: None,
            references: 0,
            materialized: None,
        });
        let recursive = self.plan_body(right);
        self.ctes.pop();
        let recursive = recursive?;
        if recursive.scope.columns.len() != base.scope.columns.len() {
            return Err(DbError::syntax(
                "each UNION query must have the same number of columns",
            ));
        }
        let types: Vec<DataType> = base
            .scope
            .columns
            .iter()
            .map(|c| c.data_type.clone())
            .collect();
        for (i, (c, t)) in recursive.scope.columns.iter().zip(&types).enumerate() {
            if c.data_type.without_modifier() != t.without_modifier()
                && c.data_type != DataType::Unknown
            {
                return Err(DbError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "recursive query \"{name}\" column {} has type {} in non-recursive term but type {} overall",
                        i + 1,
                        t.name(),
                        c.data_type.without_modifier().name()
                    ),
                )
                .with_hint("Cast the output of the non-recursive term to the correct type."));
            }
        }
        let distinct = !matches!(set_quantifier, ast::SetQuantifier::All);
        Ok(Planned {
            plan: Plan::RecursiveUnion {
                id,
                base: Box::new(base.plan),
                recursive: Box::new(cast_columns(recursive, &types)?),
                distinct,
            },
            scope: unqualified(&base.scope),
        })
    }
}

/// Whether a query body names `name` in a FROM list (its own or a nested one's).
fn references(body: &ast::SetExpr, name: &str) -> bool {
    let text = body.to_string().to_lowercase();
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == name)
}

/// The position of an ORDER BY item among a set operation's output columns.
fn output_position(expr: &ast::Expr, scope: &Scope) -> Result<usize> {
    match expr {
        ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
            let text = v.value.to_string();
            let index: usize = text.parse().unwrap_or(0);
            if index == 0 || index > scope.columns.len() {
                return Err(DbError::new(
                    code::INVALID_COLUMN_REFERENCE,
                    format!("ORDER BY position {text} is not in select list"),
                ));
            }
            Ok(index - 1)
        }
        ast::Expr::Identifier(ident) => scope.resolve(None, &ident_name(ident)),
        _ => Err(DbError::feature_not_supported(
            "ORDER BY expressions over a set operation or VALUES are not supported by pgplay yet",
        )),
    }
}

/// PostgreSQL's common type of a UNION/VALUES column, or its 42804 error.
fn common_type(word: &str, types: &[DataType]) -> Result<DataType> {
    let mut common = DataType::Unknown;
    for t in types.iter().filter(|t| **t != DataType::Unknown) {
        common = unify(&common, t).ok_or_else(|| {
            DbError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "{word} types {} and {} cannot be matched",
                    common.base_name(),
                    t.base_name()
                ),
            )
        })?;
    }
    Ok(if common == DataType::Unknown {
        DataType::Text
    } else {
        common
    })
}

/// A query's rows with each column cast to `types`.
fn cast_columns(planned: Planned, types: &[DataType]) -> Result<Plan> {
    let columns = &planned.scope.columns;
    if columns.iter().zip(types).all(|(c, t)| c.data_type == *t) {
        return Ok(planned.plan);
    }
    let exprs = columns
        .iter()
        .enumerate()
        .zip(types)
        .map(|((i, c), t)| coerce(Expr::Column(i, c.data_type.clone()), t))
        .collect::<Result<Vec<_>>>()?;
    Ok(Plan::Project {
        input: Box::new(planned.plan),
        exprs,
    })
}
