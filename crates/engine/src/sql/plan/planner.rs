//! From a query's syntax tree to a [`Plan`]: the FROM list (tables, functions, subqueries,
//! VALUES, CTEs, joins with ON, USING and NATURAL), then [`select`](super::select) for the
//! rest of a SELECT and [`setop`](super::setop) for set operations, VALUES and WITH. The
//! planner keeps the scopes of the queries around a subquery, so a name not found in its own
//! FROM list is looked up outwards (a correlated reference) and the levels it crosses are
//! marked correlated.

use std::collections::BTreeSet;

use sqlparser::ast::{self as ast, TableFactor};

use super::super::bind::{ident_name, object_name, Binder, PlannedSubquery, QueryContext};
use super::super::expr::*;
use super::super::Executor;
use super::srf::TableFunction;
use super::{Join, JoinKind, Plan};
use crate::error::{code, DbError, Result};
use crate::types::DataType;

/// A planned query: its plan and the columns it yields.
pub struct Planned {
    pub plan: Plan,
    pub scope: Scope,
}

/// A common table expression visible by name.
pub(super) struct CteBinding {
    pub name: String,
    pub id: usize,
    pub columns: Vec<(String, DataType)>,
    /// The CTE's plan; none for the working table of a recursive CTE while its recursive
    /// term is planned.
    pub plan: Option<std::sync::Arc<Plan>>,
    /// How many times the query names it, and what its WITH said: `MATERIALIZED` (true) or
    /// `NOT MATERIALIZED` (false).
    pub references: usize,
    pub materialized: Option<bool>,
}

pub struct Planner<'p, 'e> {
    pub ex: &'p mut Executor<'e>,
    /// The scopes of the enclosing queries, outermost first.
    outer: Vec<Scope>,
    /// For each enclosing scope: the positions the query below it reads, and whether that
    /// query (or one inside it) reads any enclosing row.
    marks: Vec<(BTreeSet<usize>, bool)>,
    pub(super) ctes: Vec<CteBinding>,
    /// The views this planner expanded, so CREATE OR REPLACE VIEW can refuse a view
    /// that reads itself.
    pub views_read: BTreeSet<String>,
    /// The OIDs of the tables and views it read, which a view depends on.
    pub relations_read: BTreeSet<u32>,
}

impl<'p, 'e> Planner<'p, 'e> {
    pub fn new(ex: &'p mut Executor<'e>) -> Planner<'p, 'e> {
        Planner {
            ex,
            outer: Vec::new(),
            marks: Vec::new(),
            ctes: Vec::new(),
            views_read: BTreeSet::new(),
            relations_read: BTreeSet::new(),
        }
    }

    /// PostgreSQL computes a CTE once when it is `MATERIALIZED` or named more than once (not
    /// `NOT MATERIALIZED`), and inlines it otherwise. pgplay does the same, except for CTEs of a
    /// subquery, which may read the enclosing row: they run at each reference.
    fn materialize_ctes(&mut self, from: usize) {
        for cte in &self.ctes[from..] {
            let once = match cte.materialized {
                Some(materialized) => materialized,
                None => cte.references > 1,
            };
            if cte.plan.is_some() && once && self.outer.is_empty() {
                self.ex.query.cte_materialized.insert(cte.id);
            }
        }
    }

    /// Whether equality joins may be hashed (`enable_hashjoin`).
    fn hash_joins(&self) -> bool {
        self.ex.db.setting(self.ex.session, "enable_hashjoin") != "off"
    }

    /// Binds an expression over `scope` with subqueries allowed (no aggregates).
    pub fn bind(&mut self, scope: &Scope, expr: &ast::Expr, context: &'static str) -> Result<Expr> {
        let mut binder = Binder::new(scope);
        binder.context = context;
        binder.planner = Some(self);
        binder.bind(expr)
    }

    /// A statement's query: planned, then refused if PostgreSQL's planner would refuse it.
    pub fn plan_statement(&mut self, query: &ast::Query) -> Result<Planned> {
        let planned = self.plan_query(query)?;
        check_full_joins(&planned.plan)?;
        Ok(planned)
    }

    pub fn plan_query(&mut self, query: &ast::Query) -> Result<Planned> {
        crate::stack::check()?;
        refuse_query_extras(query)?;
        let ctes_before = self.ctes.len();
        if let Some(with) = &query.with {
            self.plan_with(with)?;
        }
        let planned = match query.body.as_ref() {
            ast::SetExpr::Select(select) => self.plan_select(select, query),
            body => {
                let body = self.plan_body(body)?;
                self.order_and_limit(body, query)
            }
        };
        self.materialize_ctes(ctes_before);
        self.ctes.truncate(ctes_before);
        planned
    }

    /// A query body without the ORDER BY and LIMIT around it.
    pub(super) fn plan_body(&mut self, body: &ast::SetExpr) -> Result<Planned> {
        crate::stack::check()?;
        match body {
            ast::SetExpr::Select(select) => self.plan_select(select, &bare_query(body)),
            ast::SetExpr::Query(query) => self.plan_query(query),
            ast::SetExpr::Values(values) => self.plan_values(values),
            ast::SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => self.plan_set_operation(left, op, set_quantifier, right),
            ast::SetExpr::Table(table) => {
                let name = table
                    .table_name
                    .as_ref()
                    .map(ident_name)
                    .unwrap_or_default();
                let schema = table.schema_name.as_ref().map(ident_name);
                let factor = self
                    .plan_named(&name, None)
                    .map_err(|e| system_relation_error(e, schema.as_deref(), &name))?;
                let exprs = (0..factor.scope.columns.len())
                    .map(|i| Expr::Column(i, factor.scope.columns[i].data_type.clone()))
                    .collect();
                Ok(Planned {
                    plan: Plan::Project {
                        input: Box::new(factor.plan),
                        exprs,
                    },
                    scope: unqualified(&factor.scope),
                })
            }
            _ => Err(DbError::feature_not_supported(
                "this kind of query is not supported by pgplay yet",
            )),
        }
    }

    /// The FROM list: its items joined left to right (one empty row when there is none).
    pub(super) fn plan_from(&mut self, from: &[ast::TableWithJoins]) -> Result<Planned> {
        let mut result: Option<Planned> = None;
        for item in from {
            let (mut planned, joins) = match result.take() {
                Some(left) => {
                    let (right, outer) = self.plan_lateral(&left.scope, &item.relation)?;
                    let joined = match outer {
                        Some(outer) => lateral_join(JoinKind::Inner, left, right, outer, None)?,
                        None => {
                            let mut right = right;
                            for join in &item.joins {
                                right = self.plan_join(right, join)?;
                            }
                            join_plans(JoinKind::Inner, left, right, None, self.hash_joins())?
                        }
                    };
                    let lateral = matches!(&joined.plan, Plan::Join(j) if j.lateral.is_some());
                    (joined, if lateral { &item.joins[..] } else { &[][..] })
                }
                None => (self.plan_factor(&item.relation)?, &item.joins[..]),
            };
            for join in joins {
                planned = self.plan_join(planned, join)?;
            }
            result = Some(planned);
        }
        Ok(result.unwrap_or(Planned {
            plan: Plan::Result,
            scope: Scope::default(),
        }))
    }

    /// A FROM item after others: a function or a LATERAL subquery may read their columns.
    /// Returns the item and, when it does read them, the left row's values it reads.
    fn plan_lateral(
        &mut self,
        left: &Scope,
        factor: &TableFactor,
    ) -> Result<(Planned, Option<Vec<Expr>>)> {
        let may_read_left = matches!(
            factor,
            TableFactor::Derived { lateral: true, .. }
                | TableFactor::Table { args: Some(_), .. }
                | TableFactor::Function { .. }
                | TableFactor::UNNEST { .. }
        );
        if !may_read_left {
            return Ok((self.plan_factor(factor)?, None));
        }
        self.outer.push(left.clone());
        self.marks.push((BTreeSet::new(), false));
        let planned = self.plan_factor(factor);
        let (referenced, correlated) = self.marks.pop().unwrap_or_default();
        self.outer.pop();
        let planned = planned?;
        if !correlated {
            return Ok((planned, None));
        }
        let outer = left
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| match referenced.contains(&i) {
                true => Expr::Column(i, c.data_type.clone()),
                false => Expr::Const(crate::types::Value::Null, c.data_type.clone()),
            })
            .collect();
        Ok((planned, Some(outer)))
    }

    fn plan_factor(&mut self, factor: &TableFactor) -> Result<Planned> {
        crate::stack::check()?;
        match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                with_ordinality: false,
                ..
            } => {
                let at = name
                    .0
                    .first()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.span.start);
                let at = at.and_then(|s| self.position(s));
                self.plan_named(&object_name(name), alias.as_ref())
                    .map_err(|e| relation_error(e, schema_of(name).as_deref(), name, at))
            }
            TableFactor::Table {
                name,
                alias,
                args: Some(args),
                with_ordinality,
                ..
            } => {
                let at = name
                    .0
                    .first()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.span.start);
                let at = at.and_then(|s| self.position(s));
                self.plan_function(
                    &object_name(name),
                    &args.args,
                    *with_ordinality,
                    alias.as_ref(),
                )
                .map_err(|e| match e.code {
                    code::UNDEFINED_FUNCTION
                    | code::AMBIGUOUS_FUNCTION
                    | code::FEATURE_NOT_SUPPORTED => e.with_position(at),
                    _ => e,
                })
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset: false,
                with_ordinality,
                ..
            } => {
                let args: Vec<ast::FunctionArg> = array_exprs
                    .iter()
                    .map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e.clone())))
                    .collect();
                self.plan_function("unnest", &args, *with_ordinality, alias.as_ref())
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let alias = alias.as_ref().ok_or_else(|| {
                    DbError::syntax("subquery in FROM must have an alias")
                        .with_hint("For example, FROM (SELECT ...) [AS] foo.")
                })?;
                let planned = self.plan_query(subquery)?;
                let name = ident_name(&alias.name);
                let scope = aliased(planned.scope, &name, Some(alias))?;
                Ok(Planned {
                    plan: Plan::SubqueryScan {
                        input: Box::new(planned.plan),
                        alias: name,
                        columns: scope.columns.iter().map(|c| c.name.clone()).collect(),
                    },
                    scope,
                })
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => self.plan_from(std::slice::from_ref(table_with_joins)),
            TableFactor::Function {
                name, args, alias, ..
            } => self.plan_function(&object_name(name), args, false, alias.as_ref()),
            _ => Err(DbError::feature_not_supported(
                "this kind of FROM item is not supported by pgplay yet",
            )),
        }
    }

    /// A name in FROM: a CTE, a table, or one of pgplay's system views.
    pub(super) fn plan_named(
        &mut self,
        name: &str,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Planned> {
        let qualifier = alias
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| name.to_string());
        if let Some(cte) = self.ctes.iter_mut().rev().find(|c| c.name == name) {
            cte.references += 1;
            let scope = Scope::new(
                cte.columns
                    .iter()
                    .map(|(n, t)| ScopeColumn::new(Some(qualifier.clone()), n.clone(), t.clone()))
                    .collect(),
            );
            let plan = match &cte.plan {
                None => Plan::WorkTableScan {
                    id: cte.id,
                    name: name.to_string(),
                },
                Some(plan) => Plan::CteScan {
                    id: cte.id,
                    name: name.to_string(),
                    plan: plan.clone(),
                },
            };
            return Ok(Planned {
                plan,
                scope: aliased(scope, &qualifier, alias)?,
            });
        }
        if let Some(view) = self.ex.catalog.views.get(name).cloned() {
            return self.plan_view(&view, &qualifier, alias);
        }
        if let Some(table) = self.ex.catalog.table(name) {
            self.ex.check_readable(table)?;
            let oid = table.oid;
            self.relations_read.insert(oid);
            // The table of SELECT ... FOR UPDATE/SHARE is locked in RowShareLock.
            let mode = match self.ex.query.row_lock {
                Some(request) if request.table == oid => crate::lock::LockMode::RowShare,
                _ => crate::lock::LockMode::AccessShare,
            };
            self.ex.lock_table(oid, name, mode, false)?;
        }
        let (columns, plan) = match self.ex.catalog.table(name).cloned() {
            Some(table) => (
                table
                    .columns
                    .iter()
                    .map(|c| (c.name.clone(), c.data_type.clone()))
                    .collect::<Vec<_>>(),
                Plan::SeqScan {
                    table,
                    alias: qualifier.clone(),
                },
            ),
            None => {
                let (columns, rows) = self.ex.scan_named(name)?;
                let name = name.to_string();
                let names = columns.iter().map(|(n, _)| n.clone()).collect();
                (
                    columns,
                    Plan::Rows {
                        name,
                        columns: names,
                        rows,
                    },
                )
            }
        };
        let mut scope = Scope::new(
            columns
                .into_iter()
                .map(|(n, t)| ScopeColumn::new(Some(qualifier.clone()), n, t))
                .collect(),
        );
        if qualifier != name {
            scope.aliased.push((name.to_string(), qualifier.clone()));
        }
        Ok(Planned {
            plan,
            scope: aliased(scope, &qualifier, alias)?,
        })
    }

    /// A view in FROM: its stored query planned on its own (no CTEs or enclosing rows of
    /// the query naming it), under the view's column names, as a subquery scan.
    fn plan_view(
        &mut self,
        view: &crate::catalog::ViewDef,
        qualifier: &str,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Planned> {
        let query = super::super::view::parse_view_query(view)?;
        self.views_read.insert(view.name.clone());
        self.relations_read.insert(view.oid);
        let ctes = std::mem::take(&mut self.ctes);
        let outer = std::mem::take(&mut self.outer);
        let marks = std::mem::take(&mut self.marks);
        let read = self.relations_read.clone();
        let planned = self.plan_query(&query);
        self.relations_read = read;
        self.ctes = ctes;
        self.outer = outer;
        self.marks = marks;
        let planned = planned?;
        let mut scope = planned.scope;
        for (column, def) in scope.columns.iter_mut().zip(&view.columns) {
            column.name = def.name.clone();
        }
        let scope = aliased(scope, qualifier, alias)?;
        Ok(Planned {
            plan: Plan::SubqueryScan {
                input: Box::new(planned.plan),
                alias: qualifier.to_string(),
                columns: scope.columns.iter().map(|c| c.name.clone()).collect(),
            },
            scope,
        })
    }

    /// A function in FROM: set-returning, record-returning (one row of its columns) or scalar.
    fn plan_function(
        &mut self,
        name: &str,
        args: &[ast::FunctionArg],
        ordinality: bool,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Planned> {
        let empty = Scope::default();
        let mut bound = Vec::new();
        for arg in args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(expr)) = arg else {
                return Err(DbError::feature_not_supported(
                    "only plain arguments are supported in FROM functions by pgplay yet",
                ));
            };
            bound.push(self.bind(&empty, expr, "FROM function arguments")?);
        }
        let qualifier = alias
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| name.to_string());
        if name == "unnest" && bound.len() > 1 {
            return Err(DbError::feature_not_supported(
                "unnest of several arrays is not supported by pgplay yet",
            ));
        }
        let set_returning = matches!(name, "generate_series" | "unnest")
            || crate::sql::json::SET_RETURNING.contains(&name);
        let (call, column) = if set_returning {
            (super::srf::bind(name, bound)?, name.to_string())
        } else if matches!(
            name,
            "pg_create_physical_replication_slot" | "pg_walfile_name_offset"
        ) {
            return self.plan_record_function(name, bound, alias);
        } else {
            let call = super::super::functions::bind_call(name, bound)?;
            (TableFunction::Scalar(call), name.to_string())
        };
        // A function returning one value names its column after the alias, as PostgreSQL does.
        let column = alias.map(|a| ident_name(&a.name)).unwrap_or(column);
        let mut columns = match call.named_columns() {
            Some(named) => named
                .iter()
                .map(|(n, t)| ScopeColumn::new(Some(qualifier.clone()), n.clone(), t.clone()))
                .collect(),
            None => vec![ScopeColumn::new(
                Some(qualifier.clone()),
                column,
                call.data_type(),
            )],
        };
        if ordinality {
            columns.push(ScopeColumn::new(
                Some(qualifier.clone()),
                "ordinality".into(),
                DataType::Int8,
            ));
        }
        let scope = aliased(Scope::new(columns), &qualifier, alias)?;
        Ok(Planned {
            plan: Plan::Function {
                call,
                ordinality,
                alias: qualifier,
                columns: scope.columns.iter().map(|c| c.name.clone()).collect(),
            },
            scope,
        })
    }

    /// pgplay's record-returning functions run when planned: their columns come with the row.
    fn plan_record_function(
        &mut self,
        name: &str,
        bound: Vec<Expr>,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Planned> {
        let call = super::super::functions::bind_call(name, bound)?;
        let Expr::Call { args, .. } = &call else {
            return Err(DbError::internal("record function"));
        };
        let values = args
            .iter()
            .map(|a| eval(a, &Row::plain(&[]), self.ex))
            .collect::<Result<Vec<_>>>()?;
        let (columns, row) = crate::system::record_call(self.ex, name, &values)?;
        let qualifier = alias
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| name.to_string());
        let scope = Scope::new(
            columns
                .into_iter()
                .map(|(n, t)| ScopeColumn::new(Some(qualifier.clone()), n, t))
                .collect(),
        );
        Ok(Planned {
            plan: Plan::Rows {
                name: name.to_string(),
                columns: scope.columns.iter().map(|c| c.name.clone()).collect(),
                rows: vec![row],
            },
            scope: aliased(scope, &qualifier, alias)?,
        })
    }

    fn plan_join(&mut self, left: Planned, join: &ast::Join) -> Result<Planned> {
        use ast::JoinOperator as J;
        let (kind, constraint) = match &join.join_operator {
            J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
            J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
            J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
            J::FullOuter(c) => (JoinKind::Full, c),
            J::CrossJoin(c) => (JoinKind::Inner, c),
            _ => {
                return Err(DbError::feature_not_supported(
                    "this kind of join is not supported by pgplay yet",
                ))
            }
        };
        let (right, outer) = self.plan_lateral(&left.scope, &join.relation)?;
        if let Some(outer) = outer {
            let condition = match constraint {
                ast::JoinConstraint::On(expr) => {
                    let mut scope = left.scope.clone();
                    scope.columns.extend(right.scope.columns.clone());
                    let bound = self.bind(&scope, expr, "JOIN conditions")?;
                    Some(coerce_bool(bound, "JOIN/ON")?)
                }
                ast::JoinConstraint::None => None,
                _ => {
                    return Err(DbError::feature_not_supported(
                        "LATERAL with USING or NATURAL is not supported by pgplay yet",
                    ))
                }
            };
            return lateral_join(kind, left, right, outer, condition);
        }
        match constraint {
            ast::JoinConstraint::On(expr) => {
                let mut scope = left.scope.clone();
                scope.columns.extend(right.scope.columns.clone());
                let condition = self.bind(&scope, expr, "JOIN conditions")?;
                let condition = coerce_bool(condition, "JOIN/ON")?;
                join_plans(kind, left, right, Some(condition), self.hash_joins())
            }
            ast::JoinConstraint::None => join_plans(kind, left, right, None, self.hash_joins()),
            ast::JoinConstraint::UsingAlias(..) => Err(DbError::feature_not_supported(
                "JOIN ... USING ... AS is not supported by pgplay yet",
            )),
            ast::JoinConstraint::Using(names) => {
                let names: Vec<String> = names.iter().map(object_name).collect();
                join_using(kind, left, right, &names, self.hash_joins())
            }
            ast::JoinConstraint::Natural => {
                let names: Vec<String> = left
                    .scope
                    .columns
                    .iter()
                    .filter(|c| !c.hidden)
                    .filter(|c| {
                        right
                            .scope
                            .columns
                            .iter()
                            .any(|r| !r.hidden && r.name == c.name)
                    })
                    .map(|c| c.name.clone())
                    .collect();
                join_using(kind, left, right, &names, self.hash_joins())
            }
        }
    }
}

impl QueryContext for Planner<'_, '_> {
    fn resolve_outer(&mut self, table: Option<&str>, name: &str) -> Option<Result<Expr>> {
        let depth = self.outer.len();
        for level in (0..depth).rev() {
            match self.outer[level].resolve(table, name) {
                Ok(index) => {
                    let data_type = self.outer[level].columns[index].data_type.clone();
                    self.marks[level].0.insert(index);
                    for mark in &mut self.marks[level..] {
                        mark.1 = true;
                    }
                    return Some(Ok(Expr::Outer(depth - level, index, data_type)));
                }
                // A qualified name binds at the nearest level with that FROM item.
                Err(error)
                    if error.code == code::AMBIGUOUS_COLUMN
                        || error.message.starts_with("invalid reference")
                        || (table.is_some() && error.code == code::UNDEFINED_COLUMN) =>
                {
                    return Some(Err(error))
                }
                Err(_) => {}
            }
        }
        None
    }

    fn position(&self, location: sqlparser::tokenizer::Location) -> Option<usize> {
        let text = &self.ex.db.session(self.ex.session)?.last_query;
        let (line, column) = (location.line as usize, location.column as usize);
        if line == 0 || column == 0 {
            return None;
        }
        let before: usize = text
            .lines()
            .take(line - 1)
            .map(|l| l.chars().count() + 1)
            .sum();
        Some(before + column)
    }

    fn plan_subquery(&mut self, query: &ast::Query, scope: &Scope) -> Result<PlannedSubquery> {
        self.outer.push(scope.clone());
        self.marks.push((BTreeSet::new(), false));
        let planned = self.plan_query(query);
        let (referenced, correlated) = self.marks.pop().unwrap_or_default();
        self.outer.pop();
        let planned = planned?;
        Ok(PlannedSubquery {
            id: self.ex.query.new_id(),
            plan: planned.plan,
            columns: planned
                .scope
                .columns
                .iter()
                .map(|c| c.data_type.clone())
                .collect(),
            correlated,
            referenced,
        })
    }
}

/// PostgreSQL runs a FULL JOIN only as a hash or merge join, so it refuses a condition without
/// an equality between the sides (after parse analysis, whose errors come first).
fn check_full_joins(plan: &Plan) -> Result<()> {
    crate::stack::check()?;
    if let Plan::Join(join) = plan {
        let mut conjuncts = Vec::new();
        if let Some(filter) = join.filter.clone() {
            split_and(filter, &mut conjuncts);
        }
        let equality = !join.hash_keys.is_empty()
            || conjuncts
                .iter()
                .any(|c| equi_key(c, join.left_width).is_some());
        if join.kind == JoinKind::Full && !conjuncts.is_empty() && !equality {
            return Err(DbError::feature_not_supported(
                "FULL JOIN is only supported with merge-joinable or hash-joinable join conditions",
            ));
        }
    }
    if let Plan::CteScan { plan, .. } = plan {
        check_full_joins(plan)?;
    }
    let mut subplans = Vec::new();
    for expr in super::explain::node_exprs(plan) {
        expr.walk(&mut |e| {
            if let Expr::Subquery(sub) = e {
                subplans.push(sub.plan.clone());
            }
        });
    }
    for subplan in &subplans {
        check_full_joins(subplan)?;
    }
    for child in super::explain::children(plan) {
        check_full_joins(child)?;
    }
    Ok(())
}

/// What pgplay does not plan yet in a query, refused before anything runs.
fn refuse_query_extras(query: &ast::Query) -> Result<()> {
    if query.fetch.as_ref().is_some_and(|f| f.percent) {
        return Err(DbError::feature_not_supported(
            "FETCH ... PERCENT is not supported by pgplay yet",
        ));
    }
    Ok(())
}

/// A query with only this body (no ORDER BY or LIMIT), for a select inside a set operation.
fn bare_query(body: &ast::SetExpr) -> ast::Query {
    ast::Query {
        with: None,
        body: Box::new(body.clone()),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    }
}

/// The scope of a query's result: its output names, not qualified by any table.
pub(super) fn unqualified(scope: &Scope) -> Scope {
    Scope::new(
        scope
            .star_columns()
            .into_iter()
            .map(|i| {
                let c = &scope.columns[i];
                ScopeColumn::new(None, c.name.clone(), c.data_type.clone())
            })
            .collect(),
    )
}

/// A FROM item under its alias: every column qualified by it, the first ones renamed by
/// the alias's column list.
pub(super) fn aliased(scope: Scope, name: &str, alias: Option<&ast::TableAlias>) -> Result<Scope> {
    let renamed: Vec<String> = alias
        .map(|a| a.columns.iter().map(|c| ident_name(&c.name)).collect())
        .unwrap_or_default();
    if renamed.len() > scope.columns.len() {
        return Err(DbError::new(
            code::INVALID_COLUMN_REFERENCE,
            format!(
                "table \"{name}\" has {} columns available but {} columns specified",
                scope.columns.len(),
                renamed.len()
            ),
        ));
    }
    let columns = scope
        .columns
        .into_iter()
        .enumerate()
        .map(|(i, c)| ScopeColumn {
            table: Some(name.to_string()),
            name: renamed.get(i).cloned().unwrap_or(c.name),
            ..c
        })
        .collect();
    Ok(Scope {
        columns,
        star: scope.star,
        aliased: scope.aliased,
        equivalent: scope.equivalent,
    })
}

/// Two FROM items joined: equality conjuncts between the sides become hash keys.
fn join_plans(
    kind: JoinKind,
    left: Planned,
    right: Planned,
    condition: Option<Expr>,
    hash: bool,
) -> Result<Planned> {
    let names = |scope: &Scope| -> BTreeSet<String> {
        scope
            .columns
            .iter()
            .filter_map(|c| c.table.clone())
            .collect()
    };
    if let Some(name) = names(&left.scope).intersection(&names(&right.scope)).next() {
        return Err(DbError::new(
            "42712",
            format!("table name \"{name}\" specified more than once"),
        ));
    }
    let left_width = left.scope.columns.len();
    let right_width = right.scope.columns.len();
    let mut conjuncts = Vec::new();
    if let Some(condition) = condition {
        split_and(condition, &mut conjuncts);
    }
    let mut hash_keys = Vec::new();
    let mut rest = Vec::new();
    for conjunct in conjuncts {
        match equi_key(&conjunct, left_width).filter(|_| hash) {
            Some(key) => hash_keys.push(key),
            None => rest.push(conjunct),
        }
    }
    let filter = rest
        .into_iter()
        .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
    let mut scope = left.scope;
    let star = join_star(&scope, &right.scope);
    scope.columns.extend(right.scope.columns);
    scope.star = star;
    scope.aliased.extend(right.scope.aliased);
    let equivalent = right.scope.equivalent.iter();
    let shifted: Vec<(usize, usize)> = equivalent
        .map(|(a, b)| (a + left_width, b + left_width))
        .collect();
    scope.equivalent.extend(shifted);
    Ok(Planned {
        plan: Plan::Join(Box::new(Join {
            kind,
            left: left.plan,
            right: right.plan,
            left_width,
            right_width,
            hash_keys,
            filter,
            lateral: None,
        })),
        scope,
    })
}

/// A join whose right side reads the left row: a nested loop that runs the right side again
/// for each left row (INNER or LEFT only, as in PostgreSQL).
fn lateral_join(
    kind: JoinKind,
    left: Planned,
    right: Planned,
    outer: Vec<Expr>,
    condition: Option<Expr>,
) -> Result<Planned> {
    if !matches!(kind, JoinKind::Inner | JoinKind::Left) {
        let read = outer.iter().position(|e| matches!(e, Expr::Column(..)));
        let table = read.and_then(|i| left.scope.columns[i].table.clone());
        return Err(DbError::new(
            code::INVALID_COLUMN_REFERENCE,
            format!(
                "invalid reference to FROM-clause entry for table \"{}\"",
                table.unwrap_or_default()
            ),
        )
        .with_detail("The combining JOIN type must be INNER or LEFT for a LATERAL reference."));
    }
    let mut joined = join_plans(kind, left, right, condition, false)?;
    if let Plan::Join(join) = &mut joined.plan {
        join.lateral = Some(outer);
    }
    Ok(joined)
}

/// `*` of two joined items, when either has its own.
fn join_star(left: &Scope, right: &Scope) -> Option<Vec<usize>> {
    if left.star.is_none() && right.star.is_none() {
        return None;
    }
    let width = left.columns.len();
    let mut star = left.star_columns();
    star.extend(right.star_columns().into_iter().map(|i| i + width));
    Some(star)
}

fn split_and(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::And(a, b) => {
            split_and(*a, out);
            split_and(*b, out);
        }
        other => out.push(other),
    }
}

/// `l = r` with l over the left columns only and r over the right ones only (or swapped).
fn equi_key(conjunct: &Expr, left_width: usize) -> Option<(Expr, Expr)> {
    let Expr::Compare(Cmp::Eq, a, b) = conjunct else {
        return None;
    };
    let side = |e: &Expr| -> Option<bool> {
        let mut columns = Vec::new();
        let mut other = false;
        e.walk(&mut |x| match x {
            Expr::Column(i, _) => columns.push(*i),
            Expr::Outer(..) | Expr::Subquery(_) | Expr::Call { .. } => other = true,
            _ => {}
        });
        if other || columns.is_empty() {
            return None;
        }
        let left = columns.iter().all(|i| *i < left_width);
        let right = columns.iter().all(|i| *i >= left_width);
        match (left, right) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    };
    match (side(a)?, side(b)?) {
        (true, false) => Some((a.as_ref().clone(), b.as_ref().clone())),
        (false, true) => Some((b.as_ref().clone(), a.as_ref().clone())),
        _ => None,
    }
}

/// The positions of each USING column on the left and on the right.
fn using_pairs(left: &Scope, right: &Scope, names: &[String]) -> Result<Vec<(usize, usize)>> {
    let mut pairs = Vec::new();
    for name in names {
        let find = |scope: &Scope, side: &str| -> Result<usize> {
            scope.resolve(None, name).map_err(|error| match error.code {
                code::AMBIGUOUS_COLUMN => DbError::new(
                    code::AMBIGUOUS_COLUMN,
                    format!("common column name \"{name}\" appears more than once in {side} table"),
                ),
                _ => DbError::new(
                    code::UNDEFINED_COLUMN,
                    format!("column \"{name}\" specified in USING clause does not exist in {side} table"),
                ),
            })
        };
        let l = find(left, "left")?;
        let r = find(right, "right")?;
        pairs.push((l, r));
    }
    Ok(pairs)
}

/// `JOIN ... USING (names)` and NATURAL JOIN: equality on the named columns, each merged
/// into one column (the left's, the right's for RIGHT JOIN, their COALESCE for FULL JOIN)
/// that comes first in `*`; the sides' own columns stay reachable qualified.
fn join_using(
    kind: JoinKind,
    left: Planned,
    right: Planned,
    names: &[String],
    hash: bool,
) -> Result<Planned> {
    let width = left.scope.columns.len();
    let pairs = using_pairs(&left.scope, &right.scope, names)?;
    let mut condition = None;
    let mut merged = Vec::new();
    for (name, (l, r)) in names.iter().zip(&pairs) {
        let lt = left.scope.columns[*l].data_type.clone();
        let rt = right.scope.columns[*r].data_type.clone();
        let common = unify(&lt, &rt).ok_or_else(|| {
            DbError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "JOIN/USING types {} and {} cannot be matched",
                    lt.base_name(),
                    rt.base_name()
                ),
            )
        })?;
        let lc = coerce(Expr::Column(*l, lt), &common)?;
        let rc = coerce(Expr::Column(width + r, rt), &common)?;
        let equal = Expr::Compare(Cmp::Eq, Box::new(lc.clone()), Box::new(rc.clone()));
        condition = Some(match condition {
            None => equal,
            Some(c) => Expr::And(Box::new(c), Box::new(equal)),
        });
        let value = match kind {
            JoinKind::Inner | JoinKind::Left => lc,
            JoinKind::Right => rc,
            JoinKind::Full => Expr::Coalesce(vec![lc, rc], common.clone()),
        };
        merged.push((name.clone(), value, common));
    }
    let left_star = left.scope.star_columns();
    let right_star = right.scope.star_columns();
    let joined = join_plans(kind, left, right, condition, hash)?;
    let mut scope = joined.scope;
    let mut exprs: Vec<Expr> = (0..scope.columns.len())
        .map(|i| Expr::Column(i, scope.columns[i].data_type.clone()))
        .collect();
    let mut star: Vec<usize> = Vec::new();
    for ((name, value, data_type), (l, r)) in merged.into_iter().zip(&pairs) {
        star.push(exprs.len());
        exprs.push(value);
        let position = match kind {
            JoinKind::Right => width + r,
            _ => *l,
        };
        if kind != JoinKind::Full {
            scope.equivalent.push((scope.columns.len(), position));
        }
        let side = &scope.columns[position];
        let origin = side.table.as_ref().map(|t| format!("{t}.{name}"));
        let mut column = ScopeColumn::new(None, name, data_type);
        column.origin = origin.filter(|_| kind != JoinKind::Full);
        scope.columns.push(column);
    }
    for (l, r) in &pairs {
        scope.columns[*l].hidden = true;
        scope.columns[width + r].hidden = true;
    }
    let used_left: Vec<usize> = pairs.iter().map(|(l, _)| *l).collect();
    let used_right: Vec<usize> = pairs.iter().map(|(_, r)| width + r).collect();
    star.extend(left_star.into_iter().filter(|i| !used_left.contains(i)));
    star.extend(
        right_star
            .into_iter()
            .map(|i| i + width)
            .filter(|i| !used_right.contains(i)),
    );
    scope.star = Some(star);
    Ok(Planned {
        plan: Plan::Project {
            input: Box::new(joined.plan),
            exprs,
        },
        scope,
    })
}

/// The scope and rows of a FROM list on its own, for `UPDATE ... FROM` and `DELETE ... USING`,
/// which join these rows with the table they change.
pub fn from_list_rows(
    ex: &mut Executor<'_>,
    from: &[ast::TableWithJoins],
) -> Result<(Scope, Vec<super::exec::Row>)> {
    let planned = Planner::new(ex).plan_statement_from(from)?;
    let rows = super::exec::collect(&planned.plan, ex)?;
    Ok((planned.scope, rows))
}

impl Planner<'_, '_> {
    fn plan_statement_from(&mut self, from: &[ast::TableWithJoins]) -> Result<Planned> {
        let planned = self.plan_from(from)?;
        check_full_joins(&planned.plan)?;
        Ok(planned)
    }
}

/// The schema a relation's name was written with (`information_schema.tables`), if any.
fn schema_of(name: &ast::ObjectName) -> Option<String> {
    let parts = &name.0;
    let schema = parts.len().checked_sub(2).and_then(|i| parts.get(i))?;
    schema.as_ident().map(ident_name)
}

/// A FROM item's error, at the item's position: one of PostgreSQL's system relations that
/// pgplay lacks is 0A000 rather than "does not exist".
fn relation_error(
    error: DbError,
    schema: Option<&str>,
    name: &ast::ObjectName,
    at: Option<usize>,
) -> DbError {
    let error = system_relation_error(error, schema, &object_name(name));
    match error.code {
        code::UNDEFINED_TABLE | code::FEATURE_NOT_SUPPORTED => error.with_position(at),
        _ => error,
    }
}

/// `relation "information_schema.tables" is not supported by pgplay yet` where pgplay found no
/// such relation but PostgreSQL has it (unqualified pg_catalog names are already answered so
/// by [`DbError::undefined_table`]).
fn system_relation_error(error: DbError, schema: Option<&str>, name: &str) -> DbError {
    let Some(schema) = schema else {
        return error;
    };
    let missing = error.code == code::UNDEFINED_TABLE
        || error.message == crate::pg_relations::not_supported(None, name).message;
    match missing {
        true if crate::pg_relations::is_system_relation(Some(schema), name) => {
            crate::pg_relations::not_supported(Some(schema), name)
        }
        // `public.pg_tables`: not where PostgreSQL keeps it.
        true => DbError::new(
            code::UNDEFINED_TABLE,
            format!("relation \"{schema}.{name}\" does not exist"),
        ),
        false => error,
    }
}
