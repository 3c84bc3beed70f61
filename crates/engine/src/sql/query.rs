//! SELECT: FROM and joins, WHERE, GROUP BY and aggregates, HAVING, the select
//! list, DISTINCT, ORDER BY, LIMIT and OFFSET, evaluated over materialised rows.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use sqlparser::ast::{self as ast, SelectItem, SetExpr, TableFactor};

use super::bind::{ident_name, object_name, Binder};
use super::expr::*;
use super::Executor;
use crate::error::{code, DbError, Result};
use crate::types::{compare, DataType, Key, Value};

/// A query's result before it is turned to text.
pub struct Rows {
    pub columns: Vec<(String, DataType)>,
    pub rows: Vec<Vec<Value>>,
}

impl Executor<'_> {
    pub fn run_query(&mut self, query: &ast::Query) -> Result<Rows> {
        if query.with.is_some() {
            return Err(DbError::feature_not_supported(
                "WITH queries are not supported by pgplay yet",
            ));
        }
        let select = match query.body.as_ref() {
            SetExpr::Select(select) => select,
            SetExpr::Values(values) => return self.run_values(values),
            SetExpr::Query(inner) => return self.run_query(inner),
            _ => {
                return Err(DbError::feature_not_supported(
                    "set operations are not supported by pgplay yet",
                ))
            }
        };
        self.run_select(select, query)
    }

    fn run_values(&mut self, values: &ast::Values) -> Result<Rows> {
        let mut rows = Vec::new();
        let mut types: Vec<DataType> = Vec::new();
        let scope = Scope::default();
        let mut bound_rows = Vec::new();
        for row in &values.rows {
            let bound = row
                .iter()
                .map(|e| Binder::new(&scope).bind(e))
                .collect::<Result<Vec<_>>>()?;
            if types.is_empty() {
                types = bound.iter().map(Expr::data_type).collect();
            }
            bound_rows.push(bound);
        }
        for bound in bound_rows {
            self.db.interrupts.check()?;
            let values = bound
                .iter()
                .map(|e| eval(e, &Row::plain(&[]), self))
                .collect::<Result<Vec<_>>>()?;
            rows.push(values);
        }
        let columns = types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    format!("column{}", i + 1),
                    if *t == DataType::Unknown {
                        DataType::Text
                    } else {
                        t.clone()
                    },
                )
            })
            .collect();
        Ok(Rows { columns, rows })
    }

    /// Scope and rows of the FROM clause (one empty row when there is none).
    fn run_from(&mut self, from: &[ast::TableWithJoins]) -> Result<(Scope, Vec<Vec<Value>>)> {
        let mut scope = Scope::default();
        let mut rows = vec![Vec::new()];
        for table in from {
            let (right_scope, right_rows) = self.scan_factor(&table.relation)?;
            let (s, r) = cross(
                scope,
                rows,
                right_scope,
                right_rows,
                &mut self.db.interrupts,
            )?;
            scope = s;
            rows = r;
            for join in &table.joins {
                let (right_scope, right_rows) = self.scan_factor(&join.relation)?;
                let (s, r) =
                    self.join(scope, rows, right_scope, right_rows, &join.join_operator)?;
                scope = s;
                rows = r;
            }
        }
        Ok((scope, rows))
    }

    fn scan_factor(&mut self, factor: &TableFactor) -> Result<(Scope, Vec<Vec<Value>>)> {
        if let TableFactor::Derived {
            subquery, alias, ..
        } = factor
        {
            let rows = self.run_query(subquery)?;
            let alias = alias
                .as_ref()
                .ok_or_else(|| DbError::syntax("subquery in FROM must have an alias"))?;
            let table = ident_name(&alias.name);
            let renamed: Vec<String> = alias.columns.iter().map(|c| ident_name(&c.name)).collect();
            let columns = rows
                .columns
                .iter()
                .enumerate()
                .map(|(i, (name, data_type))| ScopeColumn {
                    table: Some(table.clone()),
                    name: renamed.get(i).cloned().unwrap_or_else(|| name.clone()),
                    data_type: data_type.clone(),
                })
                .collect();
            return Ok((Scope { columns }, rows.rows));
        }
        let TableFactor::Table {
            name, alias, args, ..
        } = factor
        else {
            return Err(DbError::feature_not_supported(
                "only plain tables are supported in FROM by pgplay yet",
            ));
        };
        if let Some(args) = args {
            return self.scan_function(&object_name(name), &args.args, alias.as_ref());
        }
        let table_name = object_name(name);
        let alias_name = alias
            .as_ref()
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| table_name.clone());
        let (columns, rows) = self.scan_named(&table_name)?;
        let scope = Scope {
            columns: columns
                .into_iter()
                .map(|(name, data_type)| ScopeColumn {
                    table: Some(alias_name.clone()),
                    name,
                    data_type,
                })
                .collect(),
        };
        Ok((scope, rows))
    }

    /// A function in FROM: a record-returning one gives its row, a scalar
    /// one a row with one column named after the function.
    fn scan_function(
        &mut self,
        name: &str,
        args: &[ast::FunctionArg],
        alias: Option<&ast::TableAlias>,
    ) -> Result<(Scope, Vec<Vec<Value>>)> {
        let empty = Scope::default();
        let mut bound = Vec::new();
        for arg in args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(expr)) = arg else {
                return Err(DbError::feature_not_supported(
                    "only plain arguments are supported in FROM functions by pgplay yet",
                ));
            };
            bound.push(self.bind_in(&empty, expr, "FROM function arguments")?);
        }
        let call = super::functions::bind_call(name, bound)?;
        let (columns, row) = match &call {
            Expr::Call { args, .. }
                if matches!(
                    name,
                    "pg_create_physical_replication_slot" | "pg_walfile_name_offset"
                ) =>
            {
                let values = args
                    .iter()
                    .map(|a| eval(a, &Row::plain(&[]), self))
                    .collect::<Result<Vec<_>>>()?;
                crate::system::record_call(self, name, &values)?
            }
            _ => {
                let value = eval(&call, &Row::plain(&[]), self)?;
                (vec![(name.to_string(), call.data_type())], vec![value])
            }
        };
        let table = alias
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| name.to_string());
        let renamed: Vec<String> = alias
            .map(|a| a.columns.iter().map(|c| ident_name(&c.name)).collect())
            .unwrap_or_default();
        let scope = Scope {
            columns: columns
                .into_iter()
                .enumerate()
                .map(|(i, (column, data_type))| ScopeColumn {
                    table: Some(table.clone()),
                    name: renamed.get(i).cloned().unwrap_or(column),
                    data_type,
                })
                .collect(),
        };
        Ok((scope, vec![row]))
    }

    fn join(
        &mut self,
        left: Scope,
        left_rows: Vec<Vec<Value>>,
        right: Scope,
        right_rows: Vec<Vec<Value>>,
        op: &ast::JoinOperator,
    ) -> Result<(Scope, Vec<Vec<Value>>)> {
        use ast::JoinOperator as J;
        let (constraint, outer) = match op {
            J::Join(c) | J::Inner(c) => (c, None),
            J::Left(c) | J::LeftOuter(c) => (c, Some(false)),
            J::Right(c) | J::RightOuter(c) => (c, Some(true)),
            J::CrossJoin(_) => (&ast::JoinConstraint::None, None),
            _ => {
                return Err(DbError::feature_not_supported(
                    "this kind of join is not supported by pgplay yet",
                ))
            }
        };
        let right_width = right.columns.len();
        let left_width = left.columns.len();
        let mut scope = left.clone();
        scope.columns.extend(right.columns.clone());
        let condition = match constraint {
            ast::JoinConstraint::On(expr) => Some(coerce_bool(
                self.bind_in(&scope, expr, "JOIN conditions")?,
                "JOIN/ON",
            )?),
            ast::JoinConstraint::None => None,
            _ => {
                return Err(DbError::feature_not_supported(
                    "JOIN ... USING and NATURAL JOIN are not supported by pgplay yet",
                ))
            }
        };
        let mut out = Vec::new();
        let mut right_matched = vec![false; right_rows.len()];
        for l in &left_rows {
            let mut matched = false;
            for (index, r) in right_rows.iter().enumerate() {
                self.db.interrupts.check()?;
                let mut row = l.clone();
                row.extend(r.iter().cloned());
                let keep = match &condition {
                    Some(c) => truth(eval(c, &Row::plain(&row), self)?) == Some(true),
                    None => true,
                };
                if keep {
                    matched = true;
                    right_matched[index] = true;
                    out.push(row);
                    check_join_size(out.len(), scope.columns.len())?;
                }
            }
            if !matched && outer == Some(false) {
                let mut row = l.clone();
                row.extend(std::iter::repeat_n(Value::Null, right_width));
                out.push(row);
            }
        }
        if outer == Some(true) {
            for (index, r) in right_rows.iter().enumerate() {
                if !right_matched[index] {
                    let mut row: Vec<Value> =
                        std::iter::repeat_n(Value::Null, left_width).collect();
                    row.extend(r.iter().cloned());
                    out.push(row);
                }
            }
        }
        Ok((scope, out))
    }

    pub fn bind_in(
        &mut self,
        scope: &Scope,
        expr: &ast::Expr,
        context: &'static str,
    ) -> Result<Expr> {
        let mut binder = Binder::new(scope);
        binder.context = context;
        binder.bind(expr)
    }

    fn run_select(&mut self, select: &ast::Select, query: &ast::Query) -> Result<Rows> {
        let (scope, input) = self.run_from(&select.from)?;
        let filter = select
            .selection
            .as_ref()
            .map(|e| self.bind_in(&scope, e, "WHERE"))
            .transpose()?;
        let filter = filter.map(|f| coerce_bool(f, "WHERE")).transpose()?;
        let mut rows = Vec::new();
        for row in input {
            self.db.interrupts.check()?;
            let keep = match &filter {
                Some(f) => truth(eval(f, &Row::plain(&row), self)?) == Some(true),
                None => true,
            };
            if keep {
                rows.push(row);
            }
        }
        let mut aggregates = Vec::new();
        let group_exprs = match &select.group_by {
            ast::GroupByExpr::Expressions(exprs, _) => exprs
                .iter()
                .map(|e| self.bind_group_key(&scope, e, &select.projection))
                .collect::<Result<Vec<_>>>()?,
            ast::GroupByExpr::All(_) => {
                return Err(DbError::feature_not_supported(
                    "GROUP BY ALL is not supported",
                ))
            }
        };
        // Select list, bound with aggregates allowed.
        let mut outputs: Vec<(String, Expr)> = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(expr) => {
                    let bound = Binder::with_aggregates(&scope, &mut aggregates).bind(expr)?;
                    outputs.push((column_name(expr), bound));
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let bound = Binder::with_aggregates(&scope, &mut aggregates).bind(expr)?;
                    outputs.push((ident_name(alias), bound));
                }
                SelectItem::Wildcard(_) => {
                    if scope.columns.is_empty() {
                        return Err(DbError::syntax(
                            "SELECT * with no tables specified is not valid",
                        ));
                    }
                    for (i, c) in scope.columns.iter().enumerate() {
                        outputs.push((c.name.clone(), Expr::Column(i, c.data_type.clone())));
                    }
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(DbError::feature_not_supported(
                        "multiple aliases are not supported",
                    ))
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let table = kind.to_string().to_lowercase();
                    let matching: Vec<(usize, &ScopeColumn)> = scope
                        .columns
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.table.as_deref() == Some(table.as_str()))
                        .collect();
                    if matching.is_empty() {
                        return Err(DbError::new(
                            code::UNDEFINED_TABLE,
                            format!("missing FROM-clause entry for table \"{table}\""),
                        ));
                    }
                    for (i, c) in matching {
                        outputs.push((c.name.clone(), Expr::Column(i, c.data_type.clone())));
                    }
                }
            }
        }
        let having = select
            .having
            .as_ref()
            .map(|h| Binder::with_aggregates(&scope, &mut aggregates).bind(h))
            .transpose()?;
        let having = having.map(|h| coerce_bool(h, "HAVING")).transpose()?;
        let order = self.bind_order(query, &scope, &outputs, &mut aggregates)?;
        let grouped = !group_exprs.is_empty() || !aggregates.is_empty() || having.is_some();
        let distinct = matches!(select.distinct, Some(ast::Distinct::Distinct));
        if matches!(select.distinct, Some(ast::Distinct::On(_))) {
            return Err(DbError::feature_not_supported(
                "SELECT DISTINCT ON is not supported by pgplay yet",
            ));
        }
        // Each produced row: output values and sort keys.
        let mut produced: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
        if grouped {
            let outputs: Vec<(String, Expr)> = outputs
                .into_iter()
                .map(|(n, e)| Ok((n, to_grouped(e, &group_exprs, &scope)?)))
                .collect::<Result<_>>()?;
            let having = having
                .map(|h| to_grouped(h, &group_exprs, &scope))
                .transpose()?;
            let order: Vec<(OrderKey, bool, bool)> = order
                .into_iter()
                .map(|(k, d, n)| {
                    Ok((
                        match k {
                            OrderKey::Expr(e) => {
                                OrderKey::Expr(to_grouped(e, &group_exprs, &scope)?)
                            }
                            other => other,
                        },
                        d,
                        n,
                    ))
                })
                .collect::<Result<_>>()?;
            let mut groups: BTreeMap<Key, Vec<Vec<Value>>> = BTreeMap::new();
            for row in rows {
                self.db.interrupts.check()?;
                let key = group_exprs
                    .iter()
                    .map(|g| eval(g, &Row::plain(&row), self))
                    .collect::<Result<Vec<_>>>()?;
                groups.entry(Key(key)).or_default().push(row);
            }
            if groups.is_empty() && group_exprs.is_empty() {
                groups.insert(Key(Vec::new()), Vec::new());
            }
            for (key, members) in groups {
                self.db.interrupts.check()?;
                let values = aggregates
                    .iter()
                    .map(|a| self.aggregate(a, &members))
                    .collect::<Result<Vec<_>>>()?;
                let row = Row {
                    values: &[],
                    keys: &key.0,
                    aggregates: &values,
                };
                if let Some(h) = &having {
                    if truth(eval(h, &row, self)?) != Some(true) {
                        continue;
                    }
                }
                let out = outputs
                    .iter()
                    .map(|(_, e)| eval(e, &row, self))
                    .collect::<Result<Vec<_>>>()?;
                let keys = order
                    .iter()
                    .map(|(k, _, _)| match k {
                        OrderKey::Output(i) => Ok(out[*i].clone()),
                        OrderKey::Expr(e) => eval(e, &row, self),
                    })
                    .collect::<Result<Vec<_>>>()?;
                produced.push((out, keys));
            }
            return self.finish(
                produced,
                outputs
                    .iter()
                    .map(|(n, e)| (n.clone(), e.data_type()))
                    .collect(),
                &order,
                distinct,
                query,
            );
        }
        for row in &rows {
            self.db.interrupts.check()?;
            let r = Row::plain(row);
            let out = outputs
                .iter()
                .map(|(_, e)| eval(e, &r, self))
                .collect::<Result<Vec<_>>>()?;
            let keys = order
                .iter()
                .map(|(k, _, _)| match k {
                    OrderKey::Output(i) => Ok(out[*i].clone()),
                    OrderKey::Expr(e) => eval(e, &r, self),
                })
                .collect::<Result<Vec<_>>>()?;
            produced.push((out, keys));
        }
        let columns = outputs
            .iter()
            .map(|(n, e)| (n.clone(), e.data_type()))
            .collect();
        self.finish(produced, columns, &order, distinct, query)
    }

    fn bind_group_key(
        &mut self,
        scope: &Scope,
        expr: &ast::Expr,
        projection: &[SelectItem],
    ) -> Result<Expr> {
        if let ast::Expr::Value(v) = expr {
            if let ast::Value::Number(n, _) = &v.value {
                let index: usize = n.parse().unwrap_or(0);
                return match projection.get(index.wrapping_sub(1)) {
                    Some(SelectItem::UnnamedExpr(e))
                    | Some(SelectItem::ExprWithAlias { expr: e, .. }) => {
                        self.bind_in(scope, e, "GROUP BY")
                    }
                    _ => Err(DbError::new(
                        code::INVALID_COLUMN_REFERENCE,
                        format!("GROUP BY position {n} is not in select list"),
                    )),
                };
            }
        }
        if let ast::Expr::Identifier(ident) = expr {
            let name = ident_name(ident);
            if scope.resolve(None, &name).is_err() {
                for item in projection {
                    if let SelectItem::ExprWithAlias { expr: e, alias } = item {
                        if ident_name(alias) == name {
                            return self.bind_in(scope, e, "GROUP BY");
                        }
                    }
                }
            }
        }
        let mut binder = Binder::new(scope);
        binder.context = "GROUP BY";
        binder.bind(expr)
    }

    fn bind_order(
        &mut self,
        query: &ast::Query,
        scope: &Scope,
        outputs: &[(String, Expr)],
        aggregates: &mut Vec<AggCall>,
    ) -> Result<Vec<(OrderKey, bool, bool)>> {
        let Some(order_by) = &query.order_by else {
            return Ok(Vec::new());
        };
        let ast::OrderByKind::Expressions(exprs) = &order_by.kind else {
            return Err(DbError::feature_not_supported(
                "ORDER BY ALL is not supported",
            ));
        };
        let mut keys = Vec::new();
        for item in exprs {
            let descending = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
            let nulls_first = item.options.nulls_first.unwrap_or(descending);
            let key = match &item.expr {
                ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                    let ast::Value::Number(n, _) = &v.value else {
                        unreachable!()
                    };
                    let index: usize = n.parse().unwrap_or(0);
                    if index == 0 || index > outputs.len() {
                        return Err(DbError::new(
                            code::INVALID_COLUMN_REFERENCE,
                            format!("ORDER BY position {n} is not in select list"),
                        ));
                    }
                    OrderKey::Output(index - 1)
                }
                ast::Expr::Identifier(ident)
                    if outputs
                        .iter()
                        .filter(|(n, _)| *n == ident_name(ident))
                        .count()
                        == 1
                        && !matches!(
                            outputs.iter().find(|(n, _)| *n == ident_name(ident)),
                            Some((_, Expr::Column(..)))
                        )
                        || (scope.resolve(None, &ident_name(ident)).is_err()
                            && outputs.iter().any(|(n, _)| *n == ident_name(ident))) =>
                {
                    let name = ident_name(ident);
                    OrderKey::Output(
                        outputs
                            .iter()
                            .position(|(n, _)| *n == name)
                            .expect("checked"),
                    )
                }
                expr => {
                    let bound = Binder::with_aggregates(scope, aggregates).bind(expr)?;
                    match outputs.iter().position(|(_, e)| *e == bound) {
                        Some(index) => OrderKey::Output(index),
                        None => OrderKey::Expr(bound),
                    }
                }
            };
            keys.push((key, descending, nulls_first));
        }
        Ok(keys)
    }

    fn finish(
        &mut self,
        mut produced: Vec<(Vec<Value>, Vec<Value>)>,
        columns: Vec<(String, DataType)>,
        order: &[(OrderKey, bool, bool)],
        distinct: bool,
        query: &ast::Query,
    ) -> Result<Rows> {
        if distinct {
            if order.iter().any(|(k, _, _)| matches!(k, OrderKey::Expr(_))) {
                let outputs_match = order.iter().all(|(k, _, _)| match k {
                    OrderKey::Output(_) => true,
                    OrderKey::Expr(_) => false,
                });
                if !outputs_match {
                    return Err(DbError::new(
                        code::INVALID_COLUMN_REFERENCE,
                        "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                    ));
                }
            }
            let mut seen = std::collections::BTreeSet::new();
            let mut kept = Vec::with_capacity(produced.len());
            for row in produced {
                self.db.interrupts.check()?;
                if seen.insert(Key(row.0.clone())) {
                    kept.push(row);
                }
            }
            produced = kept;
        }
        if !order.is_empty() {
            // A sort cannot stop midway: its comparisons are counted as work, and once the
            // host says to stop, the sort still finishes (the rest uncounted) and the statement
            // fails. Comparing the rest as equal instead would break the total order, which
            // `sort_by` may answer with a panic.
            let mut comparisons: u64 = 0;
            let mut stopped: Option<DbError> = None;
            let interrupts = &mut self.db.interrupts;
            produced.sort_by(|(_, a), (_, b)| {
                if stopped.is_none() {
                    comparisons += 1;
                    if comparisons % u64::from(crate::interrupt::CHECK_INTERVAL) == 0 {
                        if let Err(error) =
                            interrupts.charge(u64::from(crate::interrupt::CHECK_INTERVAL))
                        {
                            stopped = Some(error);
                        }
                    }
                }
                for (index, (_, descending, nulls_first)) in order.iter().enumerate() {
                    let (x, y) = (&a[index], &b[index]);
                    let ordering = match (x.is_null(), y.is_null()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => {
                            if *nulls_first {
                                std::cmp::Ordering::Less
                            } else {
                                std::cmp::Ordering::Greater
                            }
                        }
                        (false, true) => {
                            if *nulls_first {
                                std::cmp::Ordering::Greater
                            } else {
                                std::cmp::Ordering::Less
                            }
                        }
                        _ => {
                            let o = compare(x, y);
                            if *descending {
                                o.reverse()
                            } else {
                                o
                            }
                        }
                    };
                    if ordering != std::cmp::Ordering::Equal {
                        return ordering;
                    }
                }
                std::cmp::Ordering::Equal
            });
            if let Some(error) = stopped {
                return Err(error);
            }
            interrupts.charge(comparisons % u64::from(crate::interrupt::CHECK_INTERVAL))?;
        }
        let mut rows: Vec<Vec<Value>> = produced.into_iter().map(|(out, _)| out).collect();
        if let Some(limit_clause) = &query.limit_clause {
            let (limit, offset) = match limit_clause {
                ast::LimitClause::LimitOffset { limit, offset, .. } => {
                    (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
                }
                ast::LimitClause::OffsetCommaLimit { offset, limit } => {
                    (Some(limit.clone()), Some(offset.clone()))
                }
            };
            let offset = match offset {
                Some(e) => self.count_value(&e, "OFFSET")?,
                None => None,
            };
            let limit = match limit {
                Some(e) => self.count_value(&e, "LIMIT")?,
                None => None,
            };
            let skip = offset.unwrap_or(0) as usize;
            rows = rows
                .into_iter()
                .skip(skip)
                .take(limit.map(|l| l as usize).unwrap_or(usize::MAX))
                .collect();
        }
        let columns = columns
            .into_iter()
            .map(|(n, t)| {
                (
                    n,
                    if t == DataType::Unknown {
                        DataType::Text
                    } else {
                        t
                    },
                )
            })
            .collect();
        Ok(Rows { columns, rows })
    }

    fn count_value(&mut self, expr: &ast::Expr, what: &str) -> Result<Option<i64>> {
        let bound = Binder::new(&Scope::default()).bind(expr)?;
        let bound = coerce(bound, &DataType::Int8)?;
        match eval(&bound, &Row::plain(&[]), self)? {
            Value::Null => Ok(None),
            value => {
                let n = value.as_i64().unwrap_or(0);
                if n < 0 {
                    let (code, message) = if what == "LIMIT" {
                        (
                            code::INVALID_ROW_COUNT_IN_LIMIT,
                            "LIMIT must not be negative",
                        )
                    } else {
                        (
                            code::INVALID_ROW_COUNT_IN_RESULT_OFFSET,
                            "OFFSET must not be negative",
                        )
                    };
                    return Err(DbError::new(code, message));
                }
                Ok(Some(n))
            }
        }
    }

    fn aggregate(&mut self, call: &AggCall, rows: &[Vec<Value>]) -> Result<Value> {
        let mut values = Vec::new();
        for row in rows {
            self.db.interrupts.check()?;
            match &call.arg {
                None => values.push(Value::Bool(true)),
                Some(arg) => {
                    let v = eval(arg, &Row::plain(row), self)?;
                    if !v.is_null() {
                        values.push(v);
                    }
                }
            }
        }
        if call.distinct {
            let mut seen = std::collections::BTreeSet::new();
            values.retain(|v| seen.insert(Key(vec![v.clone()])));
        }
        Ok(match call.func {
            AggFunc::CountStar | AggFunc::Count => Value::Int8(values.len() as i64),
            _ if values.is_empty() => Value::Null,
            AggFunc::Min => values.into_iter().min_by(compare).unwrap_or(Value::Null),
            AggFunc::Max => values.into_iter().max_by(compare).unwrap_or(Value::Null),
            AggFunc::Sum | AggFunc::Avg if call.data_type == DataType::Interval => {
                super::datetime::interval_sum_or_avg(call.func == AggFunc::Avg, &values)?
            }
            AggFunc::Sum => {
                let mut total = Value::Int4(0);
                let t = call.data_type.clone();
                total = crate::types::cast(total, &DataType::Int4, &t)?;
                for v in &values {
                    total = arith(Arith::Add, &total, v, &t)?;
                }
                total
            }
            AggFunc::Avg => {
                if call.data_type == DataType::Float8 {
                    let sum: f64 = values.iter().filter_map(Value::as_f64).sum();
                    Value::Float8(sum / values.len() as f64)
                } else {
                    let mut sum = Decimal::ZERO;
                    for v in &values {
                        sum = sum
                            .checked_add(v.as_decimal().unwrap_or_default())
                            .ok_or_else(|| {
                                DbError::new(
                                    code::NUMERIC_VALUE_OUT_OF_RANGE,
                                    "value overflows numeric format",
                                )
                            })?;
                    }
                    Value::Numeric(numeric_divide(sum, Decimal::from(values.len() as i64))?)
                }
            }
        })
    }
}

enum OrderKey {
    Output(usize),
    Expr(Expr),
}

/// How many values (rows × columns) a join may hold in memory. The executor materialises each
/// join's result, so without a bound one `FROM a, a b, a c` would ask for gigabytes and abort the
/// process; with it, the statement fails as PostgreSQL fails when memory runs out. About 32 bytes
/// a value: a quarter of a gigabyte.
pub const MAX_JOIN_VALUES: usize = 8_000_000;

/// PostgreSQL's `ERROR:  out of memory` (53200) for a join past [`MAX_JOIN_VALUES`].
fn join_out_of_memory(rows: usize, width: usize) -> DbError {
    let bytes = rows
        .saturating_mul(width)
        .saturating_mul(std::mem::size_of::<Value>());
    DbError::new(code::OUT_OF_MEMORY, "out of memory").with_detail(format!(
        "Failed on request of size {bytes} in memory context \"ExecutorState\"."
    ))
}

fn check_join_size(rows: usize, width: usize) -> Result<()> {
    match rows.checked_mul(width.max(1)) {
        Some(values) if values <= MAX_JOIN_VALUES => Ok(()),
        _ => Err(join_out_of_memory(rows, width)),
    }
}

fn cross(
    left: Scope,
    left_rows: Vec<Vec<Value>>,
    right: Scope,
    right_rows: Vec<Vec<Value>>,
    interrupts: &mut crate::interrupt::Interrupts,
) -> Result<(Scope, Vec<Vec<Value>>)> {
    let mut scope = left;
    scope.columns.extend(right.columns);
    let product = left_rows.len().saturating_mul(right_rows.len());
    check_join_size(product, scope.columns.len())?;
    // Grown as rows come: a statement stopped early (a timeout, a cancel) allocated little.
    let mut rows = Vec::with_capacity(product.min(1 << 16));
    for l in &left_rows {
        for r in &right_rows {
            interrupts.check()?;
            let mut row = l.clone();
            row.extend(r.iter().cloned());
            rows.push(row);
        }
    }
    Ok((scope, rows))
}

/// Rewrites an expression for evaluation after grouping: GROUP BY keys become
/// key references, and any other column reference is PostgreSQL's 42803 error.
fn to_grouped(expr: Expr, keys: &[Expr], scope: &Scope) -> Result<Expr> {
    if let Some(index) = keys.iter().position(|k| *k == expr) {
        return Ok(Expr::GroupKey(index, expr.data_type()));
    }
    let recurse =
        |e: Box<Expr>| -> Result<Box<Expr>> { Ok(Box::new(to_grouped(*e, keys, scope)?)) };
    Ok(match expr {
        Expr::Column(index, _) => return Err(grouping_error(&scope.columns[index])),
        Expr::Arith(op, a, b, t) => Expr::Arith(op, recurse(a)?, recurse(b)?, t),
        Expr::Negate(a, t) => Expr::Negate(recurse(a)?, t),
        Expr::Compare(op, a, b) => Expr::Compare(op, recurse(a)?, recurse(b)?),
        Expr::And(a, b) => Expr::And(recurse(a)?, recurse(b)?),
        Expr::Or(a, b) => Expr::Or(recurse(a)?, recurse(b)?),
        Expr::Not(a) => Expr::Not(recurse(a)?),
        Expr::IsNull(a, n) => Expr::IsNull(recurse(a)?, n),
        Expr::IsBool(a, w, n) => Expr::IsBool(recurse(a)?, w, n),
        Expr::Concat(a, b) => Expr::Concat(recurse(a)?, recurse(b)?),
        Expr::LsnDiff(a, b) => Expr::LsnDiff(recurse(a)?, recurse(b)?),
        Expr::Cast(a, t) => Expr::Cast(recurse(a)?, t),
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => Expr::Like {
            expr: recurse(expr)?,
            pattern: recurse(pattern)?,
            negated,
            case_insensitive,
        },
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: recurse(expr)?,
            list: list
                .into_iter()
                .map(|e| to_grouped(e, keys, scope))
                .collect::<Result<_>>()?,
            negated,
        },
        Expr::Case {
            operand,
            whens,
            otherwise,
            data_type,
        } => Expr::Case {
            operand: operand.map(recurse).transpose()?,
            whens: whens
                .into_iter()
                .map(|(w, t)| Ok((to_grouped(w, keys, scope)?, to_grouped(t, keys, scope)?)))
                .collect::<Result<_>>()?,
            otherwise: otherwise.map(recurse).transpose()?,
            data_type,
        },
        Expr::Coalesce(args, t) => Expr::Coalesce(
            args.into_iter()
                .map(|e| to_grouped(e, keys, scope))
                .collect::<Result<_>>()?,
            t,
        ),
        Expr::Call {
            name,
            args,
            data_type,
        } => Expr::Call {
            name,
            args: args
                .into_iter()
                .map(|e| to_grouped(e, keys, scope))
                .collect::<Result<_>>()?,
            data_type,
        },
        other => other,
    })
}

fn grouping_error(column: &ScopeColumn) -> DbError {
    let name = match &column.table {
        Some(table) => format!("{table}.{}", column.name),
        None => column.name.clone(),
    };
    DbError::new(code::GROUPING_ERROR, format!("column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"))
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
        E::TypedString(t) => type_column_name(&t.data_type),
        E::Interval(_) => "interval".into(),
        E::Extract { .. } => "extract".into(),
        E::Substring { .. } => "substring".into(),
        _ => "?column?".into(),
    }
}

fn type_column_name(data_type: &ast::DataType) -> String {
    match bind_type(data_type) {
        Ok(DataType::Int4) => "int4".into(),
        Ok(DataType::Int8) => "int8".into(),
        Ok(DataType::Int2) => "int2".into(),
        Ok(DataType::Bool) => "bool".into(),
        Ok(DataType::Numeric { .. }) => "numeric".into(),
        Ok(DataType::Float8) => "float8".into(),
        Ok(DataType::Varchar(_)) => "varchar".into(),
        Ok(DataType::Timestamp) => "timestamp".into(),
        Ok(DataType::TimestampTz) => "timestamptz".into(),
        Ok(DataType::PgLsn) => "pg_lsn".into(),
        Ok(DataType::Interval) => "interval".into(),
        Ok(other) => other.base_name(),
        Err(_) => "?column?".into(),
    }
}
