//! One SELECT planned: FROM, WHERE, GROUP BY and aggregates, HAVING, set-returning functions
//! of the select list, the select list, DISTINCT [ON], ORDER BY, LIMIT/OFFSET/FETCH. Sort keys
//! that are not output columns ride along as hidden columns of the projection and are cut
//! after the sort, as PostgreSQL's resjunk columns.

use sqlparser::ast::{self as ast, SelectItem};

use super::super::bind::{ident_name, Binder};
use super::super::expr::*;
use super::planner::{Planned, Planner};
use super::srf::TableFunction;
use super::{Plan, SortKey};
use crate::error::{code, DbError, Result};
use crate::types::DataType;

/// An ORDER BY (or DISTINCT ON) item: an output column, or an expression over the input.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum OrderKey {
    Output(usize),
    Expr(Expr),
}

pub(super) struct OrderItem {
    pub key: OrderKey,
    pub descending: bool,
    pub nulls_first: bool,
}

/// What binding the select list, WHERE, GROUP BY, HAVING and ORDER BY found.
struct Bound {
    predicate: Option<Expr>,
    keys: Vec<Expr>,
    /// GROUPING SETS/ROLLUP/CUBE: each set's positions in `keys`.
    sets: Option<Vec<Vec<usize>>>,
    outputs: Vec<(String, Expr)>,
    having: Option<Expr>,
    order: Vec<OrderItem>,
    distinct_on: Option<Vec<OrderKey>>,
    aggregates: Vec<AggCall>,
    srfs: Vec<TableFunction>,
    windows: Vec<super::window::WindowCall>,
}

impl Planner<'_, '_> {
    pub(super) fn plan_select(
        &mut self,
        select: &ast::Select,
        query: &ast::Query,
    ) -> Result<Planned> {
        refuse_select_extras(select)?;
        let from = self.plan_from(&select.from)?;
        let scope = from.scope;
        let mut plan = from.plan;
        let mut bound = self.bind_select(select, query, &scope)?;
        if let Some(predicate) = bound.predicate.take() {
            plan = match plan {
                Plan::SeqScan { table, alias } if !table.indexes.is_empty() => {
                    super::index::choose(self.ex, table, alias, predicate)
                }
                plan => Plan::Filter {
                    input: Box::new(plan),
                    predicate,
                },
            };
        }
        let grouped = !bound.keys.is_empty()
            || !bound.aggregates.is_empty()
            || bound.having.is_some()
            || bound.sets.is_some()
            || calls_grouping(&bound);
        let mut width = scope.columns.len();
        if grouped {
            self.check_window_definitions(select, &scope, &bound.keys)?;
            plan = group(plan, &mut bound, &scope)?;
            width = bound.keys.len() + bound.aggregates.len() + usize::from(bound.sets.is_some());
            if let Some(having) = bound.having.take() {
                plan = Plan::Filter {
                    input: Box::new(plan),
                    predicate: having,
                };
            }
        }
        if !bound.windows.is_empty() {
            let count = bound.windows.len();
            plan = Plan::Window {
                input: Box::new(plan),
                calls: std::mem::take(&mut bound.windows),
            };
            place_windows(&mut bound, width);
            width += count;
        }
        if !bound.srfs.is_empty() {
            let count = bound.srfs.len();
            plan = Plan::ProjectSet {
                input: Box::new(plan),
                calls: std::mem::take(&mut bound.srfs),
            };
            for (_, output) in &mut bound.outputs {
                place_srfs(output, width);
            }
            for item in &mut bound.order {
                if let OrderKey::Expr(e) = &mut item.key {
                    place_srfs(e, width);
                }
            }
            width += count;
        }
        let _ = width;
        self.finish_select(
            plan,
            bound,
            query,
            matches!(select.distinct, Some(ast::Distinct::Distinct)),
        )
    }

    /// Each WINDOW definition's PARTITION BY and ORDER BY read only GROUP BY keys and
    /// aggregates (PostgreSQL's 42803 otherwise), even when no call uses it.
    fn check_window_definitions(
        &mut self,
        select: &ast::Select,
        scope: &Scope,
        keys: &[Expr],
    ) -> Result<()> {
        for spec in super::window_spec::all_definitions(&select.named_window)? {
            let exprs = spec
                .partition_by
                .iter()
                .chain(spec.order_by.iter().map(|o| &o.expr));
            for expr in exprs {
                let mut aggregates = Vec::new();
                let mut binder = Binder::with_aggregates(scope, &mut aggregates);
                binder.planner = Some(self);
                to_grouped(binder.bind(expr)?, keys, scope)?;
            }
        }
        Ok(())
    }

    fn bind_select(
        &mut self,
        select: &ast::Select,
        query: &ast::Query,
        scope: &Scope,
    ) -> Result<Bound> {
        let ast::GroupByExpr::Expressions(group_by, modifiers) = &select.group_by else {
            return Err(DbError::feature_not_supported(
                "GROUP BY ALL is not supported by pgplay yet",
            ));
        };
        if !modifiers.is_empty() {
            return Err(DbError::feature_not_supported(
                "GROUP BY modifiers are not supported by pgplay yet",
            ));
        }
        // PostgreSQL's order (transformSelectStmt), which decides which error comes first.
        let mut aggregates = Vec::new();
        let mut srfs = Vec::new();
        let mut windows = Vec::new();
        let outputs = self.bind_outputs(scope, select, &mut aggregates, &mut srfs, &mut windows)?;
        let predicate = match &select.selection {
            Some(selection) => Some(coerce_bool(self.bind(scope, selection, "WHERE")?, "WHERE")?),
            None => None,
        };
        let having = match &select.having {
            Some(h) => {
                let mut binder = Binder::with_aggregates(scope, &mut aggregates);
                binder.context = "HAVING";
                binder.planner = Some(self);
                Some(coerce_bool(binder.bind(h)?, "HAVING")?)
            }
            None => None,
        };
        let order = self.bind_order(
            query,
            scope,
            &outputs,
            &mut aggregates,
            (&mut windows, &select.named_window),
        )?;
        let mut keys = Vec::new();
        let mut sets = None;
        let (distinct, group_by) = super::grouping::strip_distinct(group_by);
        if super::grouping::has_sets(group_by) {
            let (all, mut expanded) = super::grouping::expand(group_by, &mut |e| {
                self.bind_group_key(scope, e, &select.projection)
            })?;
            if distinct {
                expanded = super::grouping::distinct_sets(expanded);
            }
            keys = all;
            sets = Some(expanded);
        } else {
            for expr in group_by {
                keys.push(self.bind_group_key(scope, expr, &select.projection)?);
            }
        }
        let distinct_on = match &select.distinct {
            Some(ast::Distinct::On(exprs)) => {
                let mut keys = Vec::new();
                for expr in exprs {
                    keys.push(self.bind_order_key(expr, scope, &outputs, &mut aggregates, None)?);
                }
                Some(keys)
            }
            _ => None,
        };
        Ok(Bound {
            predicate,
            keys,
            sets,
            outputs,
            having,
            order,
            distinct_on,
            aggregates,
            srfs,
            windows,
        })
    }

    /// The select list of `select`, its aggregates, set-returning functions and window calls
    /// gathered on the way.
    fn bind_outputs(
        &mut self,
        scope: &Scope,
        select: &ast::Select,
        aggregates: &mut Vec<AggCall>,
        srfs: &mut Vec<TableFunction>,
        windows: &mut Vec<super::window::WindowCall>,
    ) -> Result<Vec<(String, Expr)>> {
        let no_from = select.from.is_empty();
        let mut outputs = Vec::new();
        for item in &select.projection {
            let (expr, name) = match item {
                SelectItem::UnnamedExpr(expr) => (expr, super::super::query::column_name(expr)),
                SelectItem::ExprWithAlias { expr, alias } => (expr, ident_name(alias)),
                SelectItem::Wildcard(_) => {
                    // A table may have no columns: its * is empty, not an error.
                    if scope.columns.is_empty() && no_from {
                        return Err(DbError::syntax(
                            "SELECT * with no tables specified is not valid",
                        ));
                    }
                    for i in scope.star_columns() {
                        let c = &scope.columns[i];
                        outputs.push((c.name.clone(), Expr::Column(i, c.data_type.clone())));
                    }
                    continue;
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let ast::SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return Err(DbError::feature_not_supported(
                            "(expression).* is not supported by pgplay yet",
                        ));
                    };
                    let table = super::super::bind::object_name(name);
                    let matching: Vec<usize> = (0..scope.columns.len())
                        .filter(|i| scope.columns[*i].table.as_deref() == Some(table.as_str()))
                        .collect();
                    if matching.is_empty() {
                        return Err(DbError::new(
                            code::UNDEFINED_TABLE,
                            format!("missing FROM-clause entry for table \"{table}\""),
                        ));
                    }
                    for i in matching {
                        let c = &scope.columns[i];
                        outputs.push((c.name.clone(), Expr::Column(i, c.data_type.clone())));
                    }
                    continue;
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(DbError::feature_not_supported(
                        "multiple aliases are not supported by pgplay",
                    ))
                }
            };
            let mut binder = Binder::with_aggregates(scope, aggregates);
            binder.srfs = Some(srfs);
            binder.windows = Some(windows);
            binder.window_defs = &select.named_window;
            binder.planner = Some(self);
            let bound = binder.bind(expr)?;
            let bound = if bound.data_type() == DataType::Unknown {
                coerce(bound, &DataType::Text)?
            } else {
                bound
            };
            outputs.push((name, bound));
        }
        Ok(outputs)
    }

    /// A GROUP BY item: a select-list position, an output alias, or an expression.
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
                    Some(
                        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. },
                    ) => self.bind(scope, e, "GROUP BY"),
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
                            return self.bind(scope, e, "GROUP BY");
                        }
                    }
                }
            }
        }
        self.bind(scope, expr, "GROUP BY")
    }

    fn bind_order(
        &mut self,
        query: &ast::Query,
        scope: &Scope,
        outputs: &[(String, Expr)],
        aggregates: &mut Vec<AggCall>,
        windows: (
            &mut Vec<super::window::WindowCall>,
            &[ast::NamedWindowDefinition],
        ),
    ) -> Result<Vec<OrderItem>> {
        let Some(order_by) = &query.order_by else {
            return Ok(Vec::new());
        };
        let ast::OrderByKind::Expressions(exprs) = &order_by.kind else {
            return Err(DbError::feature_not_supported(
                "ORDER BY ALL is not supported by pgplay",
            ));
        };
        let mut items = Vec::new();
        for item in exprs {
            let descending = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
            items.push(OrderItem {
                key: self.bind_order_key(
                    &item.expr,
                    scope,
                    outputs,
                    aggregates,
                    Some((&mut *windows.0, windows.1)),
                )?,
                descending,
                nulls_first: item.options.nulls_first.unwrap_or(descending),
            });
        }
        Ok(items)
    }

    /// An ORDER BY or DISTINCT ON item: a position, an output name, or an expression.
    fn bind_order_key(
        &mut self,
        expr: &ast::Expr,
        scope: &Scope,
        outputs: &[(String, Expr)],
        aggregates: &mut Vec<AggCall>,
        windows: Option<(
            &mut Vec<super::window::WindowCall>,
            &[ast::NamedWindowDefinition],
        )>,
    ) -> Result<OrderKey> {
        if let ast::Expr::Value(v) = expr {
            if let ast::Value::Number(n, _) = &v.value {
                let index: usize = n.parse().unwrap_or(0);
                if index == 0 || index > outputs.len() {
                    return Err(DbError::new(
                        code::INVALID_COLUMN_REFERENCE,
                        format!("ORDER BY position {n} is not in select list"),
                    ));
                }
                return Ok(OrderKey::Output(index - 1));
            }
        }
        if let ast::Expr::Identifier(ident) = expr {
            let name = ident_name(ident);
            let named: Vec<usize> = (0..outputs.len())
                .filter(|i| outputs[*i].0 == name)
                .collect();
            let plain_column = named.len() == 1 && matches!(outputs[named[0]].1, Expr::Column(..));
            let unique_computed = named.len() == 1 && !plain_column;
            if unique_computed || (!named.is_empty() && scope.resolve(None, &name).is_err()) {
                return Ok(OrderKey::Output(named[0]));
            }
        }
        let mut binder = Binder::with_aggregates(scope, aggregates);
        binder.planner = Some(self);
        if let Some((windows, defs)) = windows {
            binder.windows = Some(windows);
            binder.window_defs = defs;
        }
        binder.context = "ORDER BY";
        let bound = binder.bind(expr)?;
        Ok(match outputs.iter().position(|(_, e)| *e == bound) {
            Some(index) => OrderKey::Output(index),
            None => OrderKey::Expr(bound),
        })
    }

    /// The projection, DISTINCT [ON], the sort and the limit.
    fn finish_select(
        &mut self,
        plan: Plan,
        bound: Bound,
        query: &ast::Query,
        distinct: bool,
    ) -> Result<Planned> {
        let Bound {
            outputs,
            order,
            distinct_on,
            ..
        } = bound;
        let visible = outputs.len();
        let mut exprs: Vec<Expr> = outputs.iter().map(|(_, e)| e.clone()).collect();
        let column_of = |key: &OrderKey, exprs: &mut Vec<Expr>| match key {
            OrderKey::Output(i) => *i,
            OrderKey::Expr(e) => match exprs.iter().position(|x| x == e) {
                Some(i) => i,
                None => {
                    exprs.push(e.clone());
                    exprs.len() - 1
                }
            },
        };
        if distinct && order.iter().any(|o| matches!(o.key, OrderKey::Expr(_))) {
            return Err(DbError::new(
                code::INVALID_COLUMN_REFERENCE,
                "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
            ));
        }
        let mut sort: Vec<SortKey> = order
            .iter()
            .map(|o| SortKey {
                column: column_of(&o.key, &mut exprs),
                descending: o.descending,
                nulls_first: o.nulls_first,
            })
            .collect();
        let on = match &distinct_on {
            Some(keys) => {
                let columns: Vec<usize> = keys.iter().map(|k| column_of(k, &mut exprs)).collect();
                check_distinct_on(&columns, &mut sort)?;
                Some(columns)
            }
            None => None,
        };
        let hidden = exprs.len() > visible;
        let mut plan = Plan::Project {
            input: Box::new(plan),
            exprs,
        };
        if distinct {
            plan = Plan::Distinct {
                input: Box::new(plan),
                on: None,
            };
        }
        if !sort.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys: sort.clone(),
            };
        }
        if on.is_some() {
            plan = Plan::Distinct {
                input: Box::new(plan),
                on,
            };
        }
        plan = self.plan_limit(plan, query, &sort)?;
        if hidden {
            let exprs = outputs
                .iter()
                .enumerate()
                .map(|(i, (_, e))| Expr::Column(i, e.data_type()))
                .collect();
            plan = Plan::Project {
                input: Box::new(plan),
                exprs,
            };
        }
        let scope = Scope::new(
            outputs
                .into_iter()
                .map(|(n, e)| ScopeColumn::new(None, n, e.data_type()))
                .collect(),
        );
        Ok(Planned { plan, scope })
    }

    /// LIMIT / OFFSET / FETCH FIRST n ROWS ONLY | WITH TIES around `plan`.
    pub(super) fn plan_limit(
        &mut self,
        plan: Plan,
        query: &ast::Query,
        sort: &[SortKey],
    ) -> Result<Plan> {
        let (mut limit, offset) = match &query.limit_clause {
            Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => {
                (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit.clone()), Some(offset.clone()))
            }
            None => (None, None),
        };
        let mut ties = None;
        if let Some(fetch) = &query.fetch {
            limit = Some(
                fetch
                    .quantity
                    .clone()
                    .unwrap_or_else(|| ast::Expr::value(ast::Value::Number("1".into(), false))),
            );
            if fetch.with_ties {
                if sort.is_empty() {
                    return Err(DbError::syntax(
                        "WITH TIES cannot be specified without ORDER BY clause",
                    ));
                }
                ties = Some(sort.to_vec());
            }
        }
        if limit.is_none() && offset.is_none() {
            return Ok(plan);
        }
        let empty = Scope::default();
        let limit = limit.map(|e| self.bind(&empty, &e, "LIMIT")).transpose()?;
        let offset = offset
            .map(|e| self.bind(&empty, &e, "OFFSET"))
            .transpose()?;
        Ok(Plan::Limit {
            input: Box::new(plan),
            limit,
            offset,
            ties,
        })
    }
}

/// PostgreSQL's rule: with ORDER BY, DISTINCT ON's expressions must lead it. The sort then
/// continues with the DISTINCT ON columns it did not name, so equal ones are adjacent.
fn check_distinct_on(columns: &[usize], sort: &mut Vec<SortKey>) -> Result<()> {
    let leading = sort.len().min(columns.len());
    if sort[..leading].iter().any(|k| !columns.contains(&k.column)) {
        return Err(DbError::new(
            code::INVALID_COLUMN_REFERENCE,
            "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
        ));
    }
    for column in columns {
        if !sort[..leading].iter().any(|k| k.column == *column) && sort.len() < columns.len() {
            sort.push(SortKey {
                column: *column,
                descending: false,
                nulls_first: false,
            });
        }
    }
    Ok(())
}

/// What pgplay does not plan yet in a SELECT.
fn refuse_select_extras(select: &ast::Select) -> Result<()> {
    if select.into.is_some() {
        return Err(DbError::feature_not_supported(
            "SELECT ... INTO is not supported by pgplay yet",
        ));
    }
    super::window_spec::check_definitions(&select.named_window)
}

/// Whether the select list, HAVING or ORDER BY call `GROUPING(...)` (which makes a query
/// grouped, as an aggregate does).
fn calls_grouping(bound: &Bound) -> bool {
    let mut found = false;
    let mut visit = |e: &Expr| found |= super::grouping::is_call(e);
    for (_, output) in &bound.outputs {
        output.walk(&mut visit);
    }
    if let Some(having) = &bound.having {
        having.walk(&mut visit);
    }
    for item in &bound.order {
        if let OrderKey::Expr(e) = &item.key {
            e.walk(&mut visit);
        }
    }
    found
}

/// Adds the Aggregate node and rewrites what is evaluated after it over its output row
/// (the group keys, then the aggregates' values, then with grouping sets the set's number).
fn group(plan: Plan, bound: &mut Bound, scope: &Scope) -> Result<Plan> {
    let keys = bound.keys.clone();
    let sets = bound.sets.clone();
    let set_column = keys.len() + bound.aggregates.len();
    let regroup = |e: Expr| -> Result<Expr> {
        super::grouping::check(&e, &keys)?;
        let grouped = to_grouped(e, &keys, scope)?;
        map_expr(grouped, &mut |e| {
            super::grouping::resolve(e, sets.as_deref(), set_column)
        })
    };
    for (_, output) in &mut bound.outputs {
        *output = regroup(output.clone())?;
    }
    if let Some(having) = bound.having.take() {
        bound.having = Some(regroup(having)?);
    }
    for item in &mut bound.order {
        if let OrderKey::Expr(e) = &item.key {
            item.key = OrderKey::Expr(regroup(e.clone())?);
        }
    }
    if let Some(on) = &mut bound.distinct_on {
        for key in on.iter_mut() {
            if let OrderKey::Expr(e) = key {
                *key = OrderKey::Expr(regroup(e.clone())?);
            }
        }
    }
    for call in &mut bound.srfs {
        for arg in call.args_mut() {
            *arg = regroup(arg.clone())?;
        }
    }
    for call in &mut bound.windows {
        for expr in call.exprs_mut() {
            *expr = regroup(expr.clone())?;
        }
    }
    Ok(Plan::Aggregate {
        input: Box::new(plan),
        keys,
        aggregates: bound.aggregates.clone(),
        sets,
    })
}

/// Window functions' values are the columns after `width` in the WindowAgg's row.
fn place_windows(bound: &mut Bound, width: usize) {
    let place = |expr: &mut Expr| {
        *expr = map_expr(expr.clone(), &mut |e| match e {
            Expr::Window(i, t) => Ok(Expr::Column(width + i, t)),
            other => Ok(other),
        })
        .unwrap_or_else(|_| expr.clone());
    };
    for (_, output) in &mut bound.outputs {
        place(output);
    }
    for item in &mut bound.order {
        if let OrderKey::Expr(e) = &mut item.key {
            place(e);
        }
    }
    for call in &mut bound.srfs {
        for arg in call.args_mut() {
            place(arg);
        }
    }
}

/// Set-returning functions' values are the columns after `width` in the ProjectSet's row.
fn place_srfs(expr: &mut Expr, width: usize) {
    *expr = map_expr(expr.clone(), &mut |e| match e {
        Expr::Srf(i, t) => Ok(Expr::Column(width + i, t)),
        other => Ok(other),
    })
    .unwrap_or_else(|_| expr.clone());
}

/// Rewrites an expression for evaluation after grouping: GROUP BY keys become the first
/// columns, aggregates the next; any other column reference is PostgreSQL's 42803 error.
fn to_grouped(expr: Expr, keys: &[Expr], scope: &Scope) -> Result<Expr> {
    crate::stack::check()?;
    if let Some(index) = keys.iter().position(|k| *k == expr) {
        return Ok(Expr::Column(index, expr.data_type()));
    }
    if let Expr::Column(i, t) = &expr {
        let same = |j: usize| {
            scope
                .equivalent
                .iter()
                .any(|(a, b)| (*a, *b) == (*i, j) || (*a, *b) == (j, *i))
        };
        let key = keys
            .iter()
            .position(|k| matches!(k, Expr::Column(j, _) if same(*j)));
        if let Some(index) = key {
            return Ok(Expr::Column(index, t.clone()));
        }
    }
    match expr {
        Expr::Column(index, _) => Err(grouping_error(&scope.columns[index], false)),
        Expr::Aggregate(index, t) => Ok(Expr::Column(keys.len() + index, t)),
        Expr::Subquery(mut sub) => {
            if let Some(lhs) = sub.lhs.take() {
                sub.lhs = Some(to_grouped(lhs, keys, scope)?);
            }
            let mut outer = Vec::new();
            for (i, e) in sub.outer.drain(..).enumerate() {
                outer.push(match e {
                    Expr::Column(..) => to_grouped(e, keys, scope)
                        .map_err(|_| grouping_error(&scope.columns[i], true))?,
                    other => other,
                });
            }
            sub.outer = outer;
            Ok(Expr::Subquery(sub))
        }
        other => map_children(other, &mut |e| to_grouped(e, keys, scope)),
    }
}

fn grouping_error(column: &ScopeColumn, subquery: bool) -> DbError {
    let name = match (&column.origin, &column.table) {
        (Some(origin), _) => origin.clone(),
        (None, Some(table)) => format!("{table}.{}", column.name),
        (None, None) => column.name.clone(),
    };
    let message = if subquery {
        format!("subquery uses ungrouped column \"{name}\" from outer query")
    } else {
        format!("column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function")
    };
    DbError::new(code::GROUPING_ERROR, message)
}

/// Applies `f` bottom-up to every node of an expression (not into subquery plans).
fn map_expr(expr: Expr, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<Expr> {
    crate::stack::check()?;
    let mapped = map_children(expr, &mut |e| map_expr(e, f))?;
    f(mapped)
}

/// Rebuilds an expression with `f` applied to each direct child.
fn map_children(expr: Expr, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<Expr> {
    let boxed = |e: Box<Expr>, f: &mut dyn FnMut(Expr) -> Result<Expr>| -> Result<Box<Expr>> {
        Ok(Box::new(f(*e)?))
    };
    Ok(match expr {
        Expr::Arith(op, a, b, t) => Expr::Arith(op, boxed(a, f)?, boxed(b, f)?, t),
        Expr::Negate(a, t) => Expr::Negate(boxed(a, f)?, t),
        Expr::Compare(op, a, b) => Expr::Compare(op, boxed(a, f)?, boxed(b, f)?),
        Expr::And(a, b) => Expr::And(boxed(a, f)?, boxed(b, f)?),
        Expr::Or(a, b) => Expr::Or(boxed(a, f)?, boxed(b, f)?),
        Expr::Not(a) => Expr::Not(boxed(a, f)?),
        Expr::IsNull(a, n) => Expr::IsNull(boxed(a, f)?, n),
        Expr::IsBool(a, w, n) => Expr::IsBool(boxed(a, f)?, w, n),
        Expr::Concat(a, b) => Expr::Concat(boxed(a, f)?, boxed(b, f)?),
        Expr::LsnDiff(a, b) => Expr::LsnDiff(boxed(a, f)?, boxed(b, f)?),
        Expr::Cast(a, t) => Expr::Cast(boxed(a, f)?, t),
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => Expr::Like {
            expr: boxed(expr, f)?,
            pattern: boxed(pattern, f)?,
            negated,
            case_insensitive,
        },
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: boxed(expr, f)?,
            list: list.into_iter().map(&mut *f).collect::<Result<_>>()?,
            negated,
        },
        Expr::Case {
            operand,
            whens,
            otherwise,
            data_type,
        } => Expr::Case {
            operand: operand.map(|o| boxed(o, f)).transpose()?,
            whens: whens
                .into_iter()
                .map(|(w, t)| Ok((f(w)?, f(t)?)))
                .collect::<Result<_>>()?,
            otherwise: otherwise.map(|o| boxed(o, f)).transpose()?,
            data_type,
        },
        Expr::Coalesce(args, t) => {
            Expr::Coalesce(args.into_iter().map(&mut *f).collect::<Result<_>>()?, t)
        }
        Expr::ArrayCompare {
            cmp,
            all,
            lhs,
            array,
        } => Expr::ArrayCompare {
            cmp,
            all,
            lhs: boxed(lhs, f)?,
            array: boxed(array, f)?,
        },
        Expr::Call {
            name,
            args,
            data_type,
        } => Expr::Call {
            name,
            args: args.into_iter().map(&mut *f).collect::<Result<_>>()?,
            data_type,
        },
        Expr::Subquery(mut sub) => {
            sub.lhs = sub.lhs.take().map(&mut *f).transpose()?;
            sub.outer = sub.outer.drain(..).map(&mut *f).collect::<Result<_>>()?;
            Expr::Subquery(sub)
        }
        other => other,
    })
}
