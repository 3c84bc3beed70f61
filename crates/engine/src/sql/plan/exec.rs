//! Plans run as pull iterators: [`open`] turns each node into a [`Source`] whose `next`
//! yields one row. Nodes that must see all their input before the first row (Sort,
//! Aggregate, the build side of a join, INTERSECT/EXCEPT's right input) hold it; every other
//! node passes rows on as they come, so `LIMIT` ends a scan or a join early. Each loop over
//! rows calls `interrupts.check()`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc as Rc;

use super::super::expr::{coerce, eval, truth, Expr, Row as EvalRow};
use super::super::Executor;
use super::aggregate::{self, AggState};
use super::srf::Series;
use super::{Join, JoinKind, Plan, SetOpKind, SortKey};
use crate::catalog::TableDef;
use crate::error::{code, DbError, Result};
use crate::types::{compare, DataType, Key, Value};
use crate::workmem::{entry_bytes, row_bytes, Limits, NodeMemory};

pub type Row = Vec<Value>;

/// A running plan node.
pub trait Source {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>>;
}

/// Every row of a plan.
pub fn collect(plan: &Plan, ex: &mut Executor<'_>) -> Result<Vec<Row>> {
    let mut source = open(plan, ex)?;
    let mut rows = Vec::new();
    while let Some(row) = source.next(ex)? {
        rows.push(row);
    }
    Ok(rows)
}

/// EXPLAIN ANALYZE's name for a plan node.
pub fn plan_key(plan: &Plan) -> usize {
    plan as *const Plan as usize
}

/// EXPLAIN ANALYZE's name for the Hash or Materialize node over a join's inner side.
pub fn wrapper_key(plan: &Plan) -> usize {
    plan_key(plan) + 1
}

/// Every row of a plan, kept by a node that counts them against `work_mem`.
pub fn collect_counted(
    plan: &Plan,
    memory: &mut NodeMemory,
    ex: &mut Executor<'_>,
) -> Result<Vec<Row>> {
    let mut source = open(plan, ex)?;
    let mut rows = Vec::new();
    while let Some(row) = source.next(ex)? {
        ex.charge(memory, row_bytes(&row))?;
        rows.push(row);
    }
    Ok(rows)
}

impl Executor<'_> {
    /// The memory of a node that holds its input (`hash`: a hash table, allowed
    /// `hash_mem_multiplier` times `work_mem`), under the session's settings.
    pub fn node_memory(&self, hash: bool, key: Option<usize>) -> NodeMemory {
        let setting = |name: &str| {
            self.db
                .setting(self.session, name)
                .parse::<i64>()
                .unwrap_or(-1)
        };
        let work_mem = setting("work_mem").max(64) as u64 * 1024;
        let multiplier = self
            .db
            .setting(self.session, "hash_mem_multiplier")
            .parse::<f64>()
            .unwrap_or(2.0)
            .max(1.0);
        let limits = Limits {
            session: self.session,
            pid: crate::database::session_pid(self.session),
            work_mem,
            // PostgreSQL's get_hash_memory_limit(); `as` saturates a huge product.
            hash_mem: (work_mem as f64 * multiplier) as u64,
            temp_file_limit: u64::try_from(setting("temp_file_limit")).ok(),
        };
        NodeMemory::new(&self.db.temp_space, limits, hash, key)
    }

    /// Counts `bytes` more held by a node ([`NodeMemory::charge`]).
    pub fn charge(&mut self, memory: &mut NodeMemory, bytes: u64) -> Result<()> {
        let session = self.session;
        let db = &mut *self.db;
        memory.charge(bytes, || {
            let current = db.session_mut(session);
            let number = current.temp_file_counter;
            current.temp_file_counter = number.wrapping_add(1);
            number
        })
    }

    /// A node's temporary file now holds `size` bytes ([`NodeMemory::file_holds`]).
    pub fn charge_file(&mut self, memory: &mut NodeMemory, size: u64) -> Result<()> {
        let session = self.session;
        let db = &mut *self.db;
        memory.file_holds(size, || {
            let current = db.session_mut(session);
            let number = current.temp_file_counter;
            current.temp_file_counter = number.wrapping_add(1);
            number
        })
    }
}

pub fn open<'p>(plan: &'p Plan, ex: &mut Executor<'_>) -> Result<Box<dyn Source + 'p>> {
    open_bounded(plan, None, ex)
}

/// Opens a plan whose parent wants at most `bound` rows of it (a Limit over a Sort tells it
/// LIMIT + OFFSET, as PostgreSQL's `ExecSetTupleBound` does, so it may keep only those).
fn open_bounded<'p>(
    plan: &'p Plan,
    bound: Option<u64>,
    ex: &mut Executor<'_>,
) -> Result<Box<dyn Source + 'p>> {
    crate::stack::check()?;
    let source = open_node(plan, bound, ex)?;
    let Some(stats) = ex.query.instrument.as_mut() else {
        return Ok(source);
    };
    let key = plan as *const Plan as usize;
    stats.entry(key).or_default().1 += 1;
    Ok(Box::new(Counted { source, key }))
}

/// EXPLAIN ANALYZE's count of the rows a node yields.
struct Counted<'p> {
    source: Box<dyn Source + 'p>,
    key: usize,
}

impl Source for Counted<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        let row = self.source.next(ex)?;
        if row.is_some() {
            if let Some(stats) = ex.query.instrument.as_mut() {
                stats.entry(self.key).or_default().0 += 1;
            }
        }
        Ok(row)
    }
}

/// The scan of the table `SELECT ... FOR UPDATE/SHARE` locks rows of (with its filter),
/// under the [`LockRows`](crate::sql::row_lock::LockRows) that locks what it yields.
fn open_locking<'p>(plan: &'p Plan, ex: &mut Executor<'_>) -> Option<Box<dyn Source + 'p>> {
    let request = ex.query.row_lock?;
    let scan = |plan: &'p Plan| -> Option<Box<dyn Source + 'p>> {
        match plan {
            Plan::SeqScan { table, .. } if table.oid == request.table => {
                Some(Box::new(SeqScan::new(table)))
            }
            Plan::IndexScan {
                table,
                index,
                quals,
                ..
            } if table.oid == request.table => {
                Some(Box::new(super::index::IndexScan::new(table, index, quals)))
            }
            _ => None,
        }
    };
    let input = match plan {
        Plan::Filter { input, predicate } => Box::new(Filter {
            input: scan(input)?,
            predicate,
        }),
        other => scan(other)?,
    };
    Some(Box::new(crate::sql::row_lock::LockRows { input, request }))
}

fn open_node<'p>(
    plan: &'p Plan,
    bound: Option<u64>,
    ex: &mut Executor<'_>,
) -> Result<Box<dyn Source + 'p>> {
    if let Some(source) = open_locking(plan, ex) {
        return Ok(source);
    }
    Ok(match plan {
        Plan::Sort { input, keys } => {
            let memory = ex.node_memory(false, Some(plan_key(plan)));
            let sorter = super::sort::Sorter::new(keys, bound, memory);
            Box::new(super::sort::SortNode::new(open(input, ex)?, sorter))
        }
        Plan::Result => Box::new(Materialized::new(Rc::new(vec![Vec::new()]))),
        Plan::SeqScan { table, .. } => Box::new(SeqScan::new(table)),
        Plan::IndexScan {
            table,
            index,
            quals,
            ..
        } => Box::new(super::index::IndexScan::new(table, index, quals)),
        Plan::Rows { rows, .. } => Box::new(Materialized::new(Rc::new(rows.clone()))),
        Plan::Values { rows } => Box::new(Values { rows, at: 0 }),
        Plan::Function {
            call, ordinality, ..
        } => Box::new(FunctionScan {
            series: Some(call.start(&[], ex)?),
            ordinality: *ordinality,
            count: 0,
        }),
        Plan::Filter { input, predicate } => Box::new(Filter {
            input: open(input, ex)?,
            predicate,
        }),
        Plan::Project { input, exprs } => Box::new(Project {
            input: open(input, ex)?,
            exprs,
        }),
        Plan::ProjectSet { input, calls } => Box::new(ProjectSet {
            input: open(input, ex)?,
            calls,
            current: None,
        }),
        Plan::Join(join) => JoinSource::new(join, ex)?,
        Plan::Aggregate {
            input,
            keys,
            aggregates,
            sets: None,
        } if !keys.is_empty() => {
            let memory = ex.node_memory(true, Some(plan_key(plan)));
            let input = open(input, ex)?;
            Box::new(super::hashagg::HashAggregate::new(
                input, keys, aggregates, memory,
            ))
        }
        Plan::Window { .. } | Plan::Aggregate { .. } => {
            let (rows, memory) = materialize(plan, ex)?;
            Box::new(Materialized {
                rows: Rc::new(rows),
                at: 0,
                _memory: Some(memory),
            })
        }
        Plan::Limit {
            input,
            limit,
            offset,
            ties,
        } => {
            let offset = count_value(offset.as_ref(), "OFFSET", ex)?.unwrap_or(0);
            let limit = count_value(limit.as_ref(), "LIMIT", ex)?;
            // PostgreSQL's `compute_tuples_needed`: none under WITH TIES.
            let bound = match (limit, ties) {
                (Some(limit), None) => limit.checked_add(offset),
                _ => None,
            };
            Box::new(Limit {
                offset,
                limit,
                input: open_bounded(input, bound, ex)?,
                ties: ties.as_deref(),
                last: None,
            })
        }
        Plan::Distinct { input, on } => Box::new(Distinct {
            input: open(input, ex)?,
            on: on.as_deref(),
            seen: BTreeSet::new(),
            previous: None,
            memory: ex.node_memory(true, Some(plan_key(plan))),
        }),
        Plan::SetOp {
            op,
            all,
            left,
            right,
        } => open_set_op(*op, *all, left, right, ex)?,
        Plan::SubqueryScan { input, .. } => open(input, ex)?,
        Plan::CteScan { id, plan, .. } if ex.query.cte_materialized.contains(id) => {
            let rows = match ex.query.cte_rows.get(id) {
                Some(rows) => rows.clone(),
                None => {
                    let mut memory = ex.node_memory(false, None);
                    let rows = Rc::new(collect_counted(plan, &mut memory, ex)?);
                    ex.query.held.push(memory);
                    ex.query.cte_rows.insert(*id, rows.clone());
                    rows
                }
            };
            Box::new(Materialized::new(rows))
        }
        Plan::CteScan { plan, .. } => open(plan, ex)?,
        Plan::WorkTableScan { id, .. } => {
            let rows = ex.query.work_tables.get(id).cloned().unwrap_or_default();
            Box::new(Materialized::new(rows))
        }
        Plan::RecursiveUnion {
            id,
            base,
            recursive,
            distinct,
        } => Box::new(RecursiveUnion {
            id: *id,
            recursive,
            current: open(base, ex)?,
            round: Vec::new(),
            seen: distinct.then(BTreeSet::new),
            seen_memory: ex.node_memory(true, Some(plan_key(plan))),
            round_memory: ex.node_memory(false, None),
            working_memory: ex.node_memory(false, None),
        }),
    })
}

/// The nodes that read their whole input before their first row: Window, Aggregate;
/// with the memory that counts what they hold (kept as long as the rows).
fn materialize(plan: &Plan, ex: &mut Executor<'_>) -> Result<(Vec<Row>, NodeMemory)> {
    Ok(match plan {
        Plan::Window { input, calls } => {
            let mut memory = ex.node_memory(false, Some(plan_key(plan)));
            let rows = collect_counted(input, &mut memory, ex)?;
            (super::window::run(rows, calls, ex)?, memory)
        }
        Plan::Aggregate {
            input,
            keys,
            aggregates,
            sets,
        } => {
            let mut memory = ex.node_memory(!keys.is_empty(), Some(plan_key(plan)));
            let input = open(input, ex)?;
            let rows = match sets {
                Some(sets) => super::grouping::run(input, keys, sets, aggregates, &mut memory, ex)?,
                None => run_aggregate(input, keys, aggregates, &mut memory, ex)?,
            };
            (rows, memory)
        }
        _ => {
            let mut memory = ex.node_memory(false, Some(plan_key(plan)));
            (collect_counted(plan, &mut memory, ex)?, memory)
        }
    })
}

/// Rows already computed, handed out one by one, with the memory that counts them.
struct Materialized {
    rows: Rc<Vec<Row>>,
    at: usize,
    /// Dropped with the rows (the temporary file is deleted then).
    _memory: Option<NodeMemory>,
}

impl Materialized {
    fn new(rows: Rc<Vec<Row>>) -> Materialized {
        Materialized {
            rows,
            at: 0,
            _memory: None,
        }
    }
}

impl Source for Materialized {
    fn next(&mut self, _: &mut Executor<'_>) -> Result<Option<Row>> {
        let row = self.rows.get(self.at).cloned();
        self.at += 1;
        Ok(row)
    }
}

/// A table's tuples, page by page, each checked against the statement's snapshot.
struct SeqScan<'p> {
    table: &'p TableDef,
    layout: crate::row_layout::RowLayout,
    block: usize,
    item: usize,
}

impl<'p> SeqScan<'p> {
    fn new(table: &'p TableDef) -> SeqScan<'p> {
        SeqScan {
            table,
            layout: table.layout(),
            block: 0,
            item: 0,
        }
    }
}

impl Source for SeqScan<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        loop {
            ex.db.interrupts.check()?;
            let Some(relation) = ex.db.data.storage.relation(&self.table.locator) else {
                return Ok(None);
            };
            let Some(page) = relation.pages.get(self.block) else {
                return Ok(None);
            };
            let Some(item) = page.items.get(self.item) else {
                self.block += 1;
                self.item = 0;
                continue;
            };
            self.item += 1;
            let Some(tuple) = item.tuple() else {
                continue;
            };
            if ex.snapshot.sees(tuple, &ex.db.data.clog) {
                let row = self.layout.decode(tuple.natts, &tuple.data)?;
                ex.query.last_tid = Some(crate::heap::ItemPointer {
                    block: self.block as u32,
                    offset: self.item as u16,
                });
                return Ok(Some(row));
            }
        }
    }
}

struct Values<'p> {
    rows: &'p [Vec<Expr>],
    at: usize,
}

impl Source for Values<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        let Some(row) = self.rows.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        ex.db.interrupts.check()?;
        let row = row
            .iter()
            .map(|e| eval(e, &EvalRow::plain(&[]), ex))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(row))
    }
}

struct FunctionScan {
    series: Option<Series>,
    ordinality: bool,
    count: i64,
}

impl Source for FunctionScan {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        ex.db.interrupts.check()?;
        let Some(mut row) = self.series.as_mut().and_then(Series::next_row) else {
            return Ok(None);
        };
        self.count += 1;
        if self.ordinality {
            row.push(Value::Int8(self.count));
        }
        Ok(Some(row))
    }
}

struct Filter<'p> {
    input: Box<dyn Source + 'p>,
    predicate: &'p Expr,
}

impl Source for Filter<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ex)? {
            ex.db.interrupts.check()?;
            if truth(eval(self.predicate, &EvalRow::plain(&row), ex)?) == Some(true) {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

struct Project<'p> {
    input: Box<dyn Source + 'p>,
    exprs: &'p [Expr],
}

impl Source for Project<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        let Some(row) = self.input.next(ex)? else {
            return Ok(None);
        };
        ex.db.interrupts.check()?;
        let out = self
            .exprs
            .iter()
            .map(|e| eval(e, &EvalRow::plain(&row), ex))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(out))
    }
}

struct ProjectSet<'p> {
    input: Box<dyn Source + 'p>,
    calls: &'p [super::srf::TableFunction],
    current: Option<(Row, Vec<Series>)>,
}

impl Source for ProjectSet<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        loop {
            ex.db.interrupts.check()?;
            if let Some((row, series)) = &mut self.current {
                let values: Vec<Option<Value>> =
                    series.iter_mut().map(Series::next_value).collect();
                if values.iter().any(Option::is_some) {
                    let mut out = row.clone();
                    out.extend(values.into_iter().map(|v| v.unwrap_or(Value::Null)));
                    return Ok(Some(out));
                }
            }
            let Some(row) = self.input.next(ex)? else {
                return Ok(None);
            };
            let series = self
                .calls
                .iter()
                .map(|c| c.start(&row, ex))
                .collect::<Result<Vec<_>>>()?;
            self.current = Some((row, series));
        }
    }
}

/// A nested loop or hash join. The right input is read whole on the first row; the left
/// one row at a time, each matched against the right rows (all of them, or its hash bucket).
pub(super) struct JoinSource<'p> {
    join: &'p Join,
    left: Box<dyn Source + 'p>,
    right_rows: Vec<Row>,
    buckets: Option<BTreeMap<Key, Vec<usize>>>,
    right_matched: Vec<bool>,
    current: Option<Probe>,
    unmatched_at: Option<usize>,
    /// The right rows and their hash table (a lateral join's: those of the current left row).
    memory: NodeMemory,
}

struct Probe {
    left: Row,
    candidates: Option<Vec<usize>>,
    at: usize,
    matched: bool,
}

impl<'p> JoinSource<'p> {
    fn new(join: &'p Join, ex: &mut Executor<'_>) -> Result<Box<dyn Source + 'p>> {
        if !join.hash_keys.is_empty() && join.lateral.is_none() {
            return super::hashjoin::open_join(join, ex);
        }
        // PostgreSQL materializes the inner side of a nested loop (work_mem).
        let mut memory = ex.node_memory(false, Some(wrapper_key(&join.right)));
        let right_rows = match join.lateral {
            Some(_) => Vec::new(),
            None => collect_counted(&join.right, &mut memory, ex)?,
        };
        let left = open(&join.left, ex)?;
        Ok(Box::new(JoinSource::build(
            join, right_rows, memory, left, ex,
        )?))
    }

    /// The join of `left` with the right rows (hashed when the join has hash keys), whose
    /// memory `memory` counts.
    pub(super) fn build(
        join: &'p Join,
        right_rows: Vec<Row>,
        mut memory: NodeMemory,
        left: Box<dyn Source + 'p>,
        ex: &mut Executor<'_>,
    ) -> Result<JoinSource<'p>> {
        let buckets = if join.hash_keys.is_empty() {
            None
        } else {
            let mut buckets: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
            let mut padded = vec![Value::Null; join.left_width];
            for (index, row) in right_rows.iter().enumerate() {
                ex.db.interrupts.check()?;
                padded.truncate(join.left_width);
                padded.extend(row.iter().cloned());
                let keys: Vec<&Expr> = join.hash_keys.iter().map(|(_, r)| r).collect();
                if let Some(key) = hash_key(&keys, &padded, ex)? {
                    let new_key = bucket_bytes(&key);
                    let bucket = buckets.entry(key).or_default();
                    let bytes = if bucket.is_empty() { new_key } else { 8 };
                    bucket.push(index);
                    memory.hold(bytes)?;
                }
            }
            Some(buckets)
        };
        Ok(JoinSource {
            join,
            left,
            right_matched: vec![false; right_rows.len()],
            right_rows,
            buckets,
            current: None,
            unmatched_at: None,
            memory,
        })
    }

    /// The right rows the join emits unmatched (RIGHT and FULL joins), after the left ran out.
    fn next_unmatched(&mut self) -> Option<Row> {
        let at = self.unmatched_at.get_or_insert(0);
        while *at < self.right_rows.len() {
            let index = *at;
            *at += 1;
            if !self.right_matched[index] {
                let mut row = vec![Value::Null; self.join.left_width];
                row.extend(self.right_rows[index].iter().cloned());
                return Some(row);
            }
        }
        None
    }

    fn start_probe(&mut self, left: Row, ex: &mut Executor<'_>) -> Result<()> {
        if let Some(outer) = &self.join.lateral {
            let values = outer
                .iter()
                .map(|e| eval(e, &EvalRow::plain(&left), ex))
                .collect::<Result<Vec<_>>>()?;
            ex.query.outer.push(values);
            self.memory = ex.node_memory(false, Some(wrapper_key(&self.join.right)));
            let rows = collect_counted(&self.join.right, &mut self.memory, ex);
            ex.query.outer.pop();
            self.right_rows = rows?;
            self.right_matched = vec![false; self.right_rows.len()];
        }
        let candidates = match &self.buckets {
            None => None,
            Some(buckets) => {
                let keys: Vec<&Expr> = self.join.hash_keys.iter().map(|(l, _)| l).collect();
                Some(match hash_key(&keys, &left, ex)? {
                    Some(key) => buckets.get(&key).cloned().unwrap_or_default(),
                    None => Vec::new(),
                })
            }
        };
        self.current = Some(Probe {
            left,
            candidates,
            at: 0,
            matched: false,
        });
        Ok(())
    }
}

/// What a new key of a hash join's table takes.
pub(super) fn bucket_bytes(key: &Key) -> u64 {
    entry_bytes(&key.0, 24) + 8
}

/// The values of a hash key, or None when one is NULL (NULL never joins).
pub(super) fn hash_key(
    keys: &[&Expr],
    row: &[Value],
    ex: &mut Executor<'_>,
) -> Result<Option<Key>> {
    let mut values = Vec::with_capacity(keys.len());
    for key in keys {
        let value = eval(key, &EvalRow::plain(row), ex)?;
        if value.is_null() {
            return Ok(None);
        }
        values.push(value);
    }
    Ok(Some(Key(values)))
}

impl Source for JoinSource<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        let keep_left = matches!(self.join.kind, JoinKind::Left | JoinKind::Full);
        let keep_right = matches!(self.join.kind, JoinKind::Right | JoinKind::Full);
        loop {
            ex.db.interrupts.check()?;
            let Some(probe) = &mut self.current else {
                match self.left.next(ex)? {
                    Some(left) => self.start_probe(left, ex)?,
                    None if keep_right => return Ok(self.next_unmatched()),
                    None => return Ok(None),
                }
                continue;
            };
            let index = match &probe.candidates {
                Some(list) => list.get(probe.at).copied(),
                None => (probe.at < self.right_rows.len()).then_some(probe.at),
            };
            probe.at += 1;
            let Some(index) = index else {
                let probe = self.current.take().expect("probing");
                if keep_left && !probe.matched {
                    let mut row = probe.left;
                    row.extend(std::iter::repeat_n(Value::Null, self.join.right_width));
                    return Ok(Some(row));
                }
                continue;
            };
            let mut row = probe.left.clone();
            row.extend(self.right_rows[index].iter().cloned());
            let keep = match &self.join.filter {
                Some(filter) => truth(eval(filter, &EvalRow::plain(&row), ex)?) == Some(true),
                None => true,
            };
            if keep {
                probe.matched = true;
                self.right_matched[index] = true;
                return Ok(Some(row));
            }
        }
    }
}

/// An Aggregate's rows. Grouping (keys) is opened as a [`super::hashagg::HashAggregate`],
/// which spills in batches; what comes here is a plain Aggregate (one row, no keys).
fn run_aggregate(
    mut input: Box<dyn Source + '_>,
    keys: &[Expr],
    aggregates: &[super::super::expr::AggCall],
    memory: &mut NodeMemory,
    ex: &mut Executor<'_>,
) -> Result<Vec<Row>> {
    let mut groups: BTreeMap<Key, Vec<AggState>> = BTreeMap::new();
    let states_bytes = aggregates.len() * std::mem::size_of::<AggState>() + 24;
    while let Some(row) = input.next(ex)? {
        ex.db.interrupts.check()?;
        let key = keys
            .iter()
            .map(|k| eval(k, &EvalRow::plain(&row), ex))
            .collect::<Result<Vec<_>>>()?;
        let mut bytes = 0;
        let states = match groups.entry(Key(key)) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                bytes += entry_bytes(&entry.key().0, states_bytes);
                entry.insert(aggregates.iter().map(AggState::new).collect())
            }
        };
        for (call, state) in aggregates.iter().zip(states.iter_mut()) {
            bytes += aggregate::update(call, state, &row, ex)?;
        }
        ex.charge(memory, bytes)?;
    }
    if groups.is_empty() && keys.is_empty() {
        groups.insert(
            Key(Vec::new()),
            aggregates.iter().map(AggState::new).collect(),
        );
    }
    let mut rows = Vec::with_capacity(groups.len());
    for (Key(mut key), states) in groups {
        ex.db.interrupts.check()?;
        for (call, state) in aggregates.iter().zip(states) {
            key.push(aggregate::finish(call, state)?);
        }
        rows.push(key);
    }
    Ok(rows)
}

/// How two rows order on sort keys (NULLs last ascending, first descending, unless told).
pub fn compare_rows(a: &[Value], b: &[Value], keys: &[SortKey]) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    for key in keys {
        let (x, y) = (&a[key.column], &b[key.column]);
        let ordering = match (x.is_null(), y.is_null()) {
            (true, true) => Equal,
            (true, false) => {
                if key.nulls_first {
                    Less
                } else {
                    Greater
                }
            }
            (false, true) => {
                if key.nulls_first {
                    Greater
                } else {
                    Less
                }
            }
            _ if key.descending => compare(x, y).reverse(),
            _ => compare(x, y),
        };
        if ordering != Equal {
            return ordering;
        }
    }
    Equal
}

/// A stable sort. It cannot stop midway: its comparisons are counted as work, and once the
/// host says to stop, the sort still finishes (the rest uncounted) and the statement fails.
/// Comparing the rest as equal instead would break the total order, which `sort_by` may
/// answer with a panic.
pub(super) fn sort_rows(rows: &mut [Row], keys: &[SortKey], ex: &mut Executor<'_>) -> Result<()> {
    let interval = u64::from(crate::interrupt::CHECK_INTERVAL);
    let mut comparisons: u64 = 0;
    let mut stopped: Option<DbError> = None;
    let interrupts = &mut ex.db.interrupts;
    rows.sort_by(|a, b| {
        if stopped.is_none() {
            comparisons += 1;
            if comparisons.is_multiple_of(interval) {
                if let Err(error) = interrupts.charge(interval) {
                    stopped = Some(error);
                }
            }
        }
        compare_rows(a, b, keys)
    });
    if let Some(error) = stopped {
        return Err(error);
    }
    interrupts.charge(comparisons % interval)
}

/// LIMIT's or OFFSET's count: NULL is none; negative is PostgreSQL's error.
fn count_value(expr: Option<&Expr>, what: &str, ex: &mut Executor<'_>) -> Result<Option<u64>> {
    let Some(expr) = expr else {
        return Ok(None);
    };
    let bound = coerce(expr.clone(), &DataType::Int8)?;
    match eval(&bound, &EvalRow::plain(&[]), ex)? {
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
            Ok(Some(n as u64))
        }
    }
}

struct Limit<'p> {
    input: Box<dyn Source + 'p>,
    offset: u64,
    limit: Option<u64>,
    ties: Option<&'p [SortKey]>,
    /// The last row within the limit, when WITH TIES may add rows equal to it.
    last: Option<Row>,
}

impl Source for Limit<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        while self.offset > 0 {
            ex.db.interrupts.check()?;
            if self.input.next(ex)?.is_none() {
                return Ok(None);
            }
            self.offset -= 1;
        }
        match self.limit {
            Some(0) => {
                let (Some(last), Some(keys)) = (&self.last, self.ties) else {
                    return Ok(None);
                };
                let row = self.input.next(ex)?;
                Ok(row.filter(|row| compare_rows(row, last, keys).is_eq()))
            }
            Some(n) => {
                let row = self.input.next(ex)?;
                self.limit = Some(n - 1);
                if n == 1 && self.ties.is_some() {
                    self.last = row.clone();
                }
                Ok(row)
            }
            None => self.input.next(ex),
        }
    }
}

struct Distinct<'p> {
    input: Box<dyn Source + 'p>,
    on: Option<&'p [usize]>,
    seen: BTreeSet<Key>,
    previous: Option<Vec<Value>>,
    memory: NodeMemory,
}

impl Source for Distinct<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ex)? {
            ex.db.interrupts.check()?;
            match self.on {
                None => {
                    if self.seen.insert(Key(row.clone())) {
                        ex.charge(&mut self.memory, entry_bytes(&row, 0))?;
                        return Ok(Some(row));
                    }
                }
                Some(on) => {
                    let key: Vec<Value> = on.iter().map(|i| row[*i].clone()).collect();
                    let same = self
                        .previous
                        .as_ref()
                        .is_some_and(|p| Key(p.clone()) == Key(key.clone()));
                    if !same {
                        self.previous = Some(key);
                        return Ok(Some(row));
                    }
                }
            }
        }
        Ok(None)
    }
}

/// UNION ALL: the left rows, then the right ones.
struct Append<'p> {
    inputs: Vec<Box<dyn Source + 'p>>,
    distinct: Option<BTreeSet<Key>>,
    /// UNION's: the rows seen.
    memory: NodeMemory,
}

impl Source for Append<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        while let Some(input) = self.inputs.first_mut() {
            ex.db.interrupts.check()?;
            let Some(row) = input.next(ex)? else {
                self.inputs.remove(0);
                continue;
            };
            if let Some(seen) = &mut self.distinct {
                if !seen.insert(Key(row.clone())) {
                    continue;
                }
                ex.charge(&mut self.memory, entry_bytes(&row, 0))?;
            }
            return Ok(Some(row));
        }
        Ok(None)
    }
}

/// INTERSECT and EXCEPT: the right rows counted, the left ones streamed against the counts.
struct CountedSetOp<'p> {
    left: Box<dyn Source + 'p>,
    counts: BTreeMap<Key, usize>,
    intersect: bool,
    all: bool,
    emitted: BTreeSet<Key>,
    /// The right rows' counts and the left rows emitted.
    memory: NodeMemory,
}

impl Source for CountedSetOp<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.left.next(ex)? {
            ex.db.interrupts.check()?;
            let key = Key(row.clone());
            let count = self.counts.get(&key).copied().unwrap_or(0);
            let keep = if self.all {
                if count > 0 {
                    self.counts.insert(key, count - 1);
                }
                (count > 0) == self.intersect
            } else if (count > 0) == self.intersect && self.emitted.insert(key) {
                ex.charge(&mut self.memory, entry_bytes(&row, 0))?;
                true
            } else {
                false
            };
            if keep {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

fn open_set_op<'p>(
    op: SetOpKind,
    all: bool,
    left: &'p Plan,
    right: &'p Plan,
    ex: &mut Executor<'_>,
) -> Result<Box<dyn Source + 'p>> {
    let mut memory = ex.node_memory(true, None);
    if op == SetOpKind::Union {
        return Ok(Box::new(Append {
            inputs: vec![open(left, ex)?, open(right, ex)?],
            distinct: (!all).then(BTreeSet::new),
            memory,
        }));
    }
    let mut counts: BTreeMap<Key, usize> = BTreeMap::new();
    let mut source = open(right, ex)?;
    while let Some(row) = source.next(ex)? {
        ex.db.interrupts.check()?;
        let bytes = entry_bytes(&row, 8);
        let count = counts.entry(Key(row)).or_default();
        if *count == 0 {
            ex.charge(&mut memory, bytes)?;
        }
        *count += 1;
    }
    Ok(Box::new(CountedSetOp {
        left: open(left, ex)?,
        counts,
        intersect: op == SetOpKind::Intersect,
        all,
        emitted: BTreeSet::new(),
        memory,
    }))
}

/// WITH RECURSIVE's rows as they come: the base term's, then each round of the recursive
/// term over the rows of the round before (the working table), until a round adds none.
struct RecursiveUnion<'p> {
    id: usize,
    recursive: &'p Plan,
    current: Box<dyn Source + 'p>,
    /// The rows of this round, the working table of the next.
    round: Vec<Row>,
    seen: Option<BTreeSet<Key>>,
    /// UNION's rows seen, this round's rows, and the working table's.
    seen_memory: NodeMemory,
    round_memory: NodeMemory,
    working_memory: NodeMemory,
}

impl Source for RecursiveUnion<'_> {
    fn next(&mut self, ex: &mut Executor<'_>) -> Result<Option<Row>> {
        loop {
            ex.db.interrupts.check()?;
            match self.current.next(ex)? {
                Some(row) => {
                    if let Some(seen) = &mut self.seen {
                        if !seen.insert(Key(row.clone())) {
                            continue;
                        }
                        ex.charge(&mut self.seen_memory, entry_bytes(&row, 0))?;
                    }
                    ex.charge(&mut self.round_memory, row_bytes(&row))?;
                    self.round.push(row.clone());
                    return Ok(Some(row));
                }
                None if self.round.is_empty() => {
                    ex.query.work_tables.remove(&self.id);
                    return Ok(None);
                }
                None => {
                    let working = std::mem::take(&mut self.round);
                    ex.query.work_tables.insert(self.id, Rc::new(working));
                    let fresh = ex.node_memory(false, None);
                    self.working_memory = std::mem::replace(&mut self.round_memory, fresh);
                    self.current = open(self.recursive, ex)?;
                }
            }
        }
    }
}
