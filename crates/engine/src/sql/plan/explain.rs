//! EXPLAIN: the plan pgplay runs, printed with PostgreSQL's node names and tree shape
//! (`Seq Scan`, `Hash Join`, `Nested Loop`, `Sort`, `HashAggregate`, `Limit`, `Append`,
//! `Subquery Scan`, `CTE Scan`, `Function Scan` ...), their `Filter:`, `Hash Cond:`,
//! `Sort Key:` and `Group Key:` lines, and costs in PostgreSQL's format from pgplay's own
//! simple estimates. EXPLAIN ANALYZE runs the query and counts each node's rows and loops;
//! pgplay reads no clock, so it prints them as PostgreSQL does with `TIMING OFF`.

use std::collections::BTreeMap;
use std::sync::Arc as Rc;

use sqlparser::ast::{self as ast, Statement};

use super::super::Executor;
use super::deparse::{Deparser, Label};
use super::planner::Planner;
use super::{JoinKind, Plan, SetOpKind};
use crate::database::{ColumnInfo, Outcome};
use crate::error::{DbError, Result};
use crate::types::DataType;

struct Options {
    analyze: bool,
    costs: bool,
}

fn options(analyze: bool, given: Option<&Vec<ast::UtilityOption>>) -> Result<Options> {
    let mut options = Options {
        analyze,
        costs: true,
    };
    for option in given.into_iter().flatten() {
        let on = match &option.arg {
            None => true,
            Some(arg) => {
                let text = arg.to_string().to_ascii_lowercase();
                !matches!(text.as_str(), "off" | "false" | "0")
            }
        };
        match option.name.value.to_ascii_lowercase().as_str() {
            "analyze" => options.analyze = on,
            "costs" => options.costs = on,
            "timing" | "summary" | "verbose" | "buffers" => {}
            "format"
                if option
                    .arg
                    .as_ref()
                    .is_some_and(|a| a.to_string().eq_ignore_ascii_case("text")) => {}
            other => {
                return Err(DbError::feature_not_supported(format!(
                    "EXPLAIN option {other} is not supported by pgplay yet"
                )))
            }
        }
    }
    Ok(options)
}

impl Executor<'_> {
    pub fn explain(
        &mut self,
        statement: &Statement,
        analyze: bool,
        given: Option<&Vec<ast::UtilityOption>>,
    ) -> Result<Outcome> {
        let options = options(analyze, given)?;
        let Statement::Query(query) = statement else {
            return Err(DbError::feature_not_supported(
                "EXPLAIN of statements other than SELECT is not supported by pgplay yet",
            ));
        };
        let planned = Planner::new(self).plan_statement(query)?;
        let mut memory = BTreeMap::new();
        let stats = if options.analyze {
            self.query.instrument = Some(BTreeMap::new());
            crate::workmem::reports(&self.db.temp_space, true);
            let result = super::exec::collect(&planned.plan, self);
            let stats = self.query.instrument.take();
            // The statement's held subquery and CTE rows report too.
            self.query.held.clear();
            memory = crate::workmem::reports(&self.db.temp_space, false);
            result?;
            stats
        } else {
            None
        };
        let mut printer = Printer {
            lines: Vec::new(),
            costs: options.costs,
            stats,
            memory,
            ctes_shown: Default::default(),
            deparser: Deparser {
                prefix: relations(&planned.plan, &self.query.ctes) > 1,
                outer: Vec::new(),
                subplans: Vec::new(),
                ctes: self.query.cte_names.clone(),
            },
        };
        // PostgreSQL shows a CTE as a CTE Scan when it computes it once (materialised, or
        // recursive); one it inlines shows as its own plan.
        let shown: std::collections::BTreeSet<usize> = self
            .query
            .ctes
            .iter()
            .filter(|(id, plan)| {
                self.query.cte_materialized.contains(id)
                    || matches!(plan.as_ref(), Plan::RecursiveUnion { .. })
            })
            .map(|(id, _)| *id)
            .collect();
        printer.ctes_shown = shown.clone();
        let ctes: Vec<(String, Rc<Plan>)> = self
            .query
            .cte_names
            .iter()
            .filter(|(id, _)| shown.contains(id))
            .filter_map(|(id, (name, _))| Some((name.clone(), self.query.ctes.get(id)?.clone())))
            .collect();
        printer.root(&planned.plan, &ctes, self);
        Ok(Outcome::Rows {
            columns: vec![ColumnInfo {
                name: "QUERY PLAN".into(),
                type_oid: DataType::Text.oid(),
            }],
            rows: printer.lines.into_iter().map(|l| vec![Some(l)]).collect(),
            tag: "EXPLAIN".into(),
        })
    }
}

/// How many relations a statement reads, its subqueries' and CTEs' included (PostgreSQL
/// qualifies column names when more than one).
fn relations(plan: &Plan, ctes: &BTreeMap<usize, Rc<Plan>>) -> usize {
    let mut count = 0;
    let mut plans: Vec<Plan> = ctes.values().map(|p| p.as_ref().clone()).collect();
    plans.push(plan.clone());
    while let Some(plan) = plans.pop() {
        if count > 1 {
            break;
        }
        walk(&plan, &mut |p| {
            count += usize::from(matches!(
                p,
                Plan::SeqScan { .. }
                    | Plan::IndexScan { .. }
                    | Plan::Rows { .. }
                    | Plan::Values { .. }
                    | Plan::Function { .. }
                    | Plan::SubqueryScan { .. }
                    | Plan::CteScan { .. }
                    | Plan::WorkTableScan { .. }
            ));
            for expr in node_exprs(p) {
                expr.walk(&mut |e| {
                    if let super::super::expr::Expr::Subquery(sub) = e {
                        plans.push(sub.plan.clone());
                    }
                });
            }
        });
    }
    count
}

/// The expressions a node evaluates.
pub fn node_exprs(plan: &Plan) -> Vec<&super::super::expr::Expr> {
    match plan {
        Plan::Filter { predicate, .. } => vec![predicate],
        Plan::Project { exprs, .. } => exprs.iter().collect(),
        Plan::Values { rows } => rows.iter().flatten().collect(),
        Plan::Join(join) => {
            let keys = join.hash_keys.iter().flat_map(|(l, r)| [l, r]);
            keys.chain(join.filter.as_ref()).collect()
        }
        Plan::Aggregate {
            keys, aggregates, ..
        } => {
            let calls = aggregates
                .iter()
                .flat_map(|a| a.arg.iter().chain(a.filter.as_ref()));
            keys.iter().chain(calls).collect()
        }
        _ => Vec::new(),
    }
}

fn walk(plan: &Plan, visit: &mut dyn FnMut(&Plan)) {
    visit(plan);
    for child in children(plan) {
        walk(child, visit);
    }
}

/// The plans directly below a node.
pub fn children(plan: &Plan) -> Vec<&Plan> {
    match plan {
        Plan::Filter { input, .. }
        | Plan::Project { input, .. }
        | Plan::ProjectSet { input, .. }
        | Plan::Aggregate { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Limit { input, .. }
        | Plan::Distinct { input, .. }
        | Plan::Window { input, .. }
        | Plan::SubqueryScan { input, .. } => vec![input],
        Plan::Join(join) => vec![&join.left, &join.right],
        Plan::SetOp { left, right, .. } => vec![left, right],
        Plan::RecursiveUnion {
            base, recursive, ..
        } => vec![base, recursive],
        _ => Vec::new(),
    }
}

fn key(plan: &Plan) -> usize {
    plan as *const Plan as usize
}

/// Bytes as EXPLAIN's kB, rounded up.
fn kb(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// The batches a hashing node that went past its limit splits into: a power of two, each
/// batch within the limit.
fn batches(usage: &crate::workmem::Usage) -> u64 {
    if usage.disk == 0 || usage.limit == 0 {
        1
    } else {
        usage.disk.div_ceil(usage.limit).next_power_of_two().max(2)
    }
}

/// What one line of the tree shows: its name, detail lines, and what hangs below it.
struct View<'p> {
    name: String,
    details: Vec<String>,
    children: Vec<Child<'p>>,
    /// The node whose estimate and counts the line shows.
    shown: &'p Plan,
    /// Subplans its expressions hold (their numbers), and the labels those read.
    subplans: std::ops::Range<usize>,
    labels: Vec<Label>,
}

enum Child<'p> {
    Plan(&'p Plan),
    /// A node PostgreSQL shows that pgplay's plan folds into its parent (Hash, Materialize,
    /// Append, a set operation's Subquery Scan), standing for `shown`.
    Wrapper {
        name: String,
        shown: &'p Plan,
        children: Vec<Child<'p>>,
    },
}

struct Printer {
    lines: Vec<String>,
    costs: bool,
    stats: Option<BTreeMap<usize, (u64, u64)>>,
    /// EXPLAIN ANALYZE: what each node that holds its input used ([`crate::workmem`]).
    memory: BTreeMap<usize, crate::workmem::Usage>,
    /// The CTEs shown as CTE Scans (the others inline).
    ctes_shown: std::collections::BTreeSet<usize>,
    deparser: Deparser,
}

impl Printer {
    fn root(&mut self, plan: &Plan, ctes: &[(String, Rc<Plan>)], ex: &Executor<'_>) {
        let view = self.view(plan);
        self.header(0, false, &view.name, view.shown, ex);
        self.details(&view.details, 2);
        for (name, cte) in ctes {
            self.lines.push(format!("  CTE {name}"));
            self.print(Child::Plan(cte), 4, ex);
        }
        self.rest(view, 2, ex);
    }

    fn print(&mut self, child: Child<'_>, indent: usize, ex: &Executor<'_>) {
        if crate::stack::check().is_err() {
            return;
        }
        match child {
            Child::Plan(plan) => {
                let view = self.view(plan);
                self.header(indent, true, &view.name, view.shown, ex);
                self.details(&view.details, indent + 6);
                self.rest(view, indent + 6, ex);
            }
            Child::Wrapper {
                name,
                shown,
                children,
            } => {
                self.header(indent, true, &name, shown, ex);
                if name == "Hash" {
                    let lines = self.hash_lines(shown);
                    self.details(&lines, indent + 6);
                }
                for child in children {
                    self.print(child, indent + 6, ex);
                }
            }
        }
    }

    /// A node's children, then the subplans its expressions hold.
    fn rest(&mut self, view: View<'_>, indent: usize, ex: &Executor<'_>) {
        for child in view.children {
            self.print(child, indent, ex);
        }
        for number in view.subplans {
            let plan = self.deparser.subplans[number].clone();
            self.lines
                .push(format!("{}SubPlan {}", " ".repeat(indent), number + 1));
            self.deparser.outer.push(view.labels.clone());
            self.print(Child::Plan(&plan), indent + 2, ex);
            self.deparser.outer.pop();
        }
    }

    fn details(&mut self, details: &[String], indent: usize) {
        for detail in details {
            self.lines.push(format!("{}{detail}", " ".repeat(indent)));
        }
    }

    fn header(&mut self, indent: usize, child: bool, name: &str, shown: &Plan, ex: &Executor<'_>) {
        let arrow = if child { "->  " } else { "" };
        let mut line = format!("{}{arrow}{name}", " ".repeat(indent));
        if self.costs {
            let e = super::estimate::estimate(shown, ex);
            line += &format!(
                "  (cost={:.2}..{:.2} rows={} width={})",
                e.startup, e.total, e.rows, e.width
            );
        }
        if let Some(stats) = &self.stats {
            let (rows, loops) = stats.get(&key(shown)).copied().unwrap_or((0, 0));
            let rows = if loops == 0 { 0 } else { rows / loops };
            let actual = if loops == 0 {
                "(never executed)".to_string()
            } else {
                format!("(actual rows={rows} loops={loops})")
            };
            line += if self.costs { " " } else { "  " };
            line += &actual;
        }
        self.lines.push(line);
    }

    /// A Sort's `Sort Method:` line, as PostgreSQL's EXPLAIN ANALYZE shows it.
    fn sort_lines(&self, plan: &Plan) -> Vec<String> {
        let Some(usage) = self.memory.get(&key(plan)) else {
            return Vec::new();
        };
        vec![if usage.disk > 0 {
            format!("Sort Method: external merge  Disk: {}kB", kb(usage.disk))
        } else if usage.top_n {
            format!(
                "Sort Method: top-N heapsort  Memory: {}kB",
                kb(usage.memory)
            )
        } else {
            format!("Sort Method: quicksort  Memory: {}kB", kb(usage.memory))
        }]
    }

    /// A HashAggregate's batches and memory (past hash_mem it spills in batches).
    fn hash_aggregate_lines(&self, plan: &Plan) -> Vec<String> {
        let Some(usage) = self.memory.get(&key(plan)) else {
            return Vec::new();
        };
        let batches = match usage.batches {
            0 => batches(usage),
            counted => counted,
        };
        let mut line = format!("Batches: {batches}  Memory Usage: {}kB", kb(usage.memory));
        if usage.disk > 0 {
            line += &format!("  Disk Usage: {}kB", kb(usage.disk));
        }
        vec![line]
    }

    /// A Hash node's buckets (a power of two, at least 1024), batches and memory.
    fn hash_lines(&self, inner: &Plan) -> Vec<String> {
        let Some(usage) = self.memory.get(&super::exec::wrapper_key(inner)) else {
            return Vec::new();
        };
        let buckets = self.rows_of(inner).max(1024).next_power_of_two();
        let batches = match usage.batches {
            0 => batches(usage),
            counted => counted,
        };
        vec![format!(
            "Buckets: {buckets}  Batches: {batches}  Memory Usage: {}kB",
            kb(usage.memory.min(usage.limit))
        )]
    }

    fn rows_of(&self, plan: &Plan) -> u64 {
        self.stats
            .as_ref()
            .and_then(|s| s.get(&key(plan)))
            .map(|(rows, _)| *rows)
            .unwrap_or(0)
    }

    fn view<'p>(&mut self, plan: &'p Plan) -> View<'p> {
        let before = self.deparser.subplans.len();
        let mut view = self.describe(plan);
        view.subplans = before..self.deparser.subplans.len();
        view
    }

    fn simple<'p>(&mut self, name: String, plan: &'p Plan, children: Vec<Child<'p>>) -> View<'p> {
        View {
            name,
            details: Vec::new(),
            children,
            shown: plan,
            subplans: 0..0,
            labels: Vec::new(),
        }
    }

    fn describe<'p>(&mut self, plan: &'p Plan) -> View<'p> {
        match plan {
            Plan::CteScan {
                id, plan: inner, ..
            } if !self.ctes_shown.contains(id) => {
                let mut view = self.view(inner);
                view.shown = plan;
                view
            }
            Plan::Filter { input, predicate } => {
                let mut view = self.view(input);
                let labels = self.deparser.labels(input);
                // PostgreSQL qualifies a scan's own quals only in VERBOSE.
                let scan = matches!(
                    view.shown,
                    Plan::SeqScan { .. }
                        | Plan::IndexScan { .. }
                        | Plan::Rows { .. }
                        | Plan::Values { .. }
                        | Plan::Function { .. }
                        | Plan::CteScan { .. }
                        | Plan::WorkTableScan { .. }
                );
                let prefix = self.deparser.prefix;
                self.deparser.prefix = prefix && !scan;
                let condition = self.deparser.expr(predicate, &labels);
                self.deparser.prefix = prefix;
                view.details.push(format!("Filter: {condition}"));
                if self.stats.is_some() {
                    let removed = self.rows_of(input).saturating_sub(self.rows_of(plan));
                    view.details
                        .push(format!("Rows Removed by Filter: {removed}"));
                }
                view.shown = plan;
                view.labels = labels;
                view
            }
            Plan::Project { input, exprs } => {
                if matches!(input.as_ref(), Plan::Result) {
                    let mut view = self.simple("Result".into(), plan, Vec::new());
                    for e in exprs {
                        self.deparser.expr(e, &[]);
                    }
                    view.shown = plan;
                    return view;
                }
                let labels = self.deparser.labels(input);
                for e in exprs {
                    self.deparser.expr(e, &labels);
                }
                let mut view = self.view(input);
                view.shown = plan;
                view.labels = labels;
                view
            }
            Plan::Join(join) => self.join(plan, join),
            Plan::Aggregate { .. } | Plan::Sort { .. } | Plan::Distinct { on: None, .. } => {
                self.grouping(plan)
            }
            _ => self.leaf(plan),
        }
    }

    /// An Aggregate over grouping sets: a `Hash Key` line per set, `Group Key: ()` for the
    /// empty set (as PostgreSQL's MixedAggregate shows them).
    fn grouping_sets<'p>(
        &mut self,
        plan: &'p Plan,
        input: &'p Plan,
        keys: &[super::super::expr::Expr],
        sets: &[Vec<usize>],
    ) -> View<'p> {
        let labels = self.deparser.labels(input);
        let hashed = sets.iter().filter(|s| !s.is_empty()).count();
        let name = match (hashed, sets.len() - hashed) {
            (0, _) => "Aggregate",
            (_, 0) => "HashAggregate",
            _ => "MixedAggregate",
        };
        let mut view = self.simple(name.into(), plan, vec![Child::Plan(input)]);
        for set in sets.iter().filter(|s| !s.is_empty()) {
            let names: Vec<String> = set
                .iter()
                .map(|i| self.deparser.expr(&keys[*i], &labels))
                .collect();
            view.details.push(format!("Hash Key: {}", names.join(", ")));
        }
        for _ in sets.iter().filter(|s| s.is_empty()) {
            view.details.push("Group Key: ()".into());
        }
        if hashed > 0 {
            view.details.extend(self.hash_aggregate_lines(plan));
        }
        view
    }

    /// Aggregate, Sort and DISTINCT: their keys.
    fn grouping<'p>(&mut self, plan: &'p Plan) -> View<'p> {
        match plan {
            Plan::Aggregate {
                input,
                sets: Some(sets),
                keys,
                ..
            } => self.grouping_sets(plan, input, keys, sets),
            Plan::Aggregate { input, keys, .. } => {
                let labels = self.deparser.labels(input);
                let name = if keys.is_empty() {
                    "Aggregate"
                } else {
                    "HashAggregate"
                };
                let mut view = self.simple(name.into(), plan, vec![Child::Plan(input)]);
                if !keys.is_empty() {
                    let keys: Vec<String> = keys
                        .iter()
                        .map(|k| {
                            let text = self.deparser.expr(k, &labels);
                            match k {
                                super::super::expr::Expr::Column(..) => text,
                                _ if text.starts_with('(') => format!("({text})"),
                                _ => text,
                            }
                        })
                        .collect();
                    view.details.push(format!("Group Key: {}", keys.join(", ")));
                    view.details.extend(self.hash_aggregate_lines(plan));
                }
                view
            }
            Plan::Sort { input, keys } => {
                let labels = self.deparser.labels(input);
                let keys: Vec<String> = keys
                    .iter()
                    .map(|k| {
                        let mut text = self.deparser.key_of(k.column, &labels);
                        if k.descending {
                            text += " DESC";
                        }
                        if k.nulls_first != k.descending {
                            text += if k.nulls_first {
                                " NULLS FIRST"
                            } else {
                                " NULLS LAST"
                            };
                        }
                        text
                    })
                    .collect();
                let mut view = self.simple("Sort".into(), plan, vec![Child::Plan(input)]);
                view.details.push(format!("Sort Key: {}", keys.join(", ")));
                view.details.extend(self.sort_lines(plan));
                view
            }
            Plan::Distinct { input, on: None } => {
                let labels = self.deparser.labels(input);
                let keys: Vec<String> = (0..labels.len())
                    .map(|i| self.deparser.key_of(i, &labels))
                    .collect();
                let mut view = self.simple("HashAggregate".into(), plan, vec![Child::Plan(input)]);
                view.details.push(format!("Group Key: {}", keys.join(", ")));
                view.details.extend(self.hash_aggregate_lines(plan));
                view
            }
            _ => self.leaf(plan),
        }
    }

    fn leaf<'p>(&mut self, plan: &'p Plan) -> View<'p> {
        let name = match plan {
            Plan::Result => "Result".to_string(),
            Plan::SeqScan { table, alias } if *alias == table.name => {
                format!("Seq Scan on {alias}")
            }
            Plan::SeqScan { table, alias } => format!("Seq Scan on {} {alias}", table.name),
            Plan::IndexScan {
                table,
                alias,
                index,
                quals,
            } => {
                let on = if *alias == table.name {
                    alias.clone()
                } else {
                    format!("{} {alias}", table.name)
                };
                let labels = self.deparser.labels(plan);
                let prefix = self.deparser.prefix;
                self.deparser.prefix = false;
                let condition = super::index::and_all(quals.clone())
                    .map(|e| self.deparser.expr(&e, &labels))
                    .unwrap_or_default();
                self.deparser.prefix = prefix;
                let mut view = self.simple(
                    format!("Index Scan using {} on {on}", index.name),
                    plan,
                    Vec::new(),
                );
                view.details.push(format!("Index Cond: {condition}"));
                return view;
            }
            Plan::Rows { name, .. } => format!("Function Scan on {name}"),
            Plan::Values { .. } => "Values Scan on \"*VALUES*\"".into(),
            Plan::Function { call, alias, .. } => {
                let function = match call {
                    super::srf::TableFunction::Series { .. } => "generate_series".to_string(),
                    super::srf::TableFunction::Unnest { .. } => "unnest".to_string(),
                    super::srf::TableFunction::Json { name, .. } => name.clone(),
                    super::srf::TableFunction::Scalar(super::super::expr::Expr::Call {
                        name,
                        ..
                    }) => name.clone(),
                    super::srf::TableFunction::Scalar(_) => alias.clone(),
                };
                if *alias == function {
                    format!("Function Scan on {function}")
                } else {
                    format!("Function Scan on {function} {alias}")
                }
            }
            Plan::ProjectSet { .. } => "ProjectSet".into(),
            Plan::Window { .. } => "WindowAgg".into(),
            Plan::Limit { .. } => "Limit".into(),
            Plan::Distinct { .. } => "Unique".into(),
            Plan::SubqueryScan { alias, .. } => format!("Subquery Scan on {alias}"),
            Plan::CteScan { name, .. } => format!("CTE Scan on {name}"),
            Plan::WorkTableScan { name, .. } => format!("WorkTable Scan on {name} {name}_1"),
            Plan::RecursiveUnion { .. } => "Recursive Union".into(),
            Plan::SetOp {
                op,
                all,
                left,
                right,
            } => return self.set_op(plan, *op, *all, left, right),
            _ => "?".into(),
        };
        if let Plan::ProjectSet { input, calls } = plan {
            let labels = self.deparser.labels(input);
            for call in calls {
                for arg in call.clone().args_mut() {
                    self.deparser.expr(arg, &labels);
                }
            }
        }
        let children = children(plan).into_iter().map(Child::Plan).collect();
        self.simple(name, plan, children)
    }

    fn join<'p>(&mut self, plan: &'p Plan, join: &'p super::Join) -> View<'p> {
        let kind = match join.kind {
            JoinKind::Inner => "",
            JoinKind::Left => " Left",
            JoinKind::Right => " Right",
            JoinKind::Full => " Full",
        };
        let left = self.deparser.labels(&join.left);
        let mut both = left.clone();
        both.extend(self.deparser.labels(&join.right));
        let mut details = Vec::new();
        let hashed = !join.hash_keys.is_empty();
        if hashed {
            let conditions: Vec<String> = join
                .hash_keys
                .iter()
                .map(|(l, r)| {
                    format!(
                        "({} = {})",
                        self.deparser.expr(l, &left),
                        self.deparser.expr(r, &both)
                    )
                })
                .collect();
            let condition = match conditions.as_slice() {
                [one] => one.clone(),
                many => format!("({})", many.join(" AND ")),
            };
            details.push(format!("Hash Cond: {condition}"));
        }
        if let Some(filter) = &join.filter {
            details.push(format!(
                "Join Filter: {}",
                self.deparser.expr(filter, &both)
            ));
        }
        if join.lateral.is_some() {
            let name = format!(
                "Nested Loop{kind}{}",
                if kind.is_empty() { "" } else { " Join" }
            );
            return View {
                name,
                details,
                children: vec![Child::Plan(&join.left), Child::Plan(&join.right)],
                shown: plan,
                subplans: 0..0,
                labels: both,
            };
        }
        let (name, wrapper) = if hashed {
            (format!("Hash{kind} Join"), "Hash")
        } else if kind.is_empty() {
            ("Nested Loop".to_string(), "Materialize")
        } else {
            (format!("Nested Loop{kind} Join"), "Materialize")
        };
        let children = vec![
            Child::Plan(&join.left),
            Child::Wrapper {
                name: wrapper.into(),
                shown: &join.right,
                children: vec![Child::Plan(&join.right)],
            },
        ];
        View {
            name,
            details,
            children,
            shown: plan,
            subplans: 0..0,
            labels: both,
        }
    }

    fn set_op<'p>(
        &mut self,
        plan: &'p Plan,
        op: SetOpKind,
        all: bool,
        left: &'p Plan,
        right: &'p Plan,
    ) -> View<'p> {
        let mut branches = Vec::new();
        flatten_union(plan, op == SetOpKind::Union && all, &mut branches);
        let append = |branches: Vec<&'p Plan>, wrap: bool| -> Child<'p> {
            let children = branches
                .into_iter()
                .enumerate()
                .map(|(i, b)| match wrap {
                    true => Child::Wrapper {
                        name: format!("Subquery Scan on \"*SELECT* {}\"", i + 1),
                        shown: b,
                        children: vec![Child::Plan(b)],
                    },
                    false => Child::Plan(b),
                })
                .collect();
            Child::Wrapper {
                name: "Append".into(),
                shown: plan,
                children,
            }
        };
        match (op, all) {
            (SetOpKind::Union, true) => {
                let Child::Wrapper { children, .. } = append(branches, false) else {
                    unreachable!("append is a wrapper")
                };
                self.simple("Append".into(), plan, children)
            }
            (SetOpKind::Union, false) => {
                let labels = self.deparser.labels(left);
                let keys: Vec<String> = (0..labels.len())
                    .map(|i| self.deparser.key_of(i, &labels))
                    .collect();
                let mut view = self.simple(
                    "HashAggregate".into(),
                    plan,
                    vec![append(vec![left, right], false)],
                );
                view.details.push(format!("Group Key: {}", keys.join(", ")));
                view
            }
            (kind, all) => {
                let word = if kind == SetOpKind::Intersect {
                    "Intersect"
                } else {
                    "Except"
                };
                let name = format!("HashSetOp {word}{}", if all { " All" } else { "" });
                self.simple(name, plan, vec![append(vec![left, right], true)])
            }
        }
    }
}

/// The branches of a chain of UNION ALLs, shown as one Append.
fn flatten_union<'p>(plan: &'p Plan, union_all: bool, out: &mut Vec<&'p Plan>) {
    match plan {
        Plan::SetOp {
            op: SetOpKind::Union,
            all: true,
            left,
            right,
        } if union_all => {
            flatten_union(left, true, out);
            flatten_union(right, true, out);
        }
        other => out.push(other),
    }
}
