//! Window functions: `row_number`, `rank`, `dense_rank`, and count/sum/avg/min/max used
//! `OVER (PARTITION BY ... ORDER BY ...)` with PostgreSQL's default frame (the partition's
//! rows up to the current row and its peers, or the whole partition without ORDER BY). The
//! WindowAgg node reads its input whole, sorts it by partition and order, and appends each
//! call's value to each row; its rows come out in that order, as PostgreSQL's do.

use std::cmp::Ordering;

use super::super::expr::{eval, AggCall, Expr, Row as EvalRow};
use super::super::Executor;
use super::aggregate::{self, AggState};
use super::exec::Row;
use crate::error::Result;
use crate::types::{compare, DataType, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    Aggregate(AggCall),
}

/// One window function call over the rows of its input.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowCall {
    pub func: WindowFunc,
    pub partition: Vec<Expr>,
    /// (expression, descending, nulls first).
    pub order: Vec<(Expr, bool, bool)>,
    pub data_type: DataType,
}

impl WindowCall {
    /// Every expression it evaluates, for rewriting after grouping.
    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        let mut exprs: Vec<&mut Expr> = self.partition.iter_mut().collect();
        exprs.extend(self.order.iter_mut().map(|(e, _, _)| e));
        if let WindowFunc::Aggregate(call) = &mut self.func {
            exprs.extend(call.arg.iter_mut());
            exprs.extend(call.filter.iter_mut());
        }
        exprs
    }

    pub fn name(&self) -> String {
        match &self.func {
            WindowFunc::RowNumber => "row_number()".into(),
            WindowFunc::Rank => "rank()".into(),
            WindowFunc::DenseRank => "dense_rank()".into(),
            WindowFunc::Aggregate(_) => "aggregate".into(),
        }
    }
}

/// A row's partition and order values.
struct Keyed {
    partition: Vec<Value>,
    order: Vec<Value>,
    index: usize,
}

fn compare_order(a: &[Value], b: &[Value], order: &[(Expr, bool, bool)]) -> Ordering {
    for ((x, y), (_, descending, nulls_first)) in a.iter().zip(b).zip(order) {
        let ordering = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if *nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if *nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ if *descending => compare(x, y).reverse(),
            _ => compare(x, y),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

fn compare_partition(a: &[Value], b: &[Value]) -> Ordering {
    crate::types::Key(a.to_vec()).cmp(&crate::types::Key(b.to_vec()))
}

/// The input rows with each call's value appended, in the last call's window order.
pub fn run(rows: Vec<Row>, calls: &[WindowCall], ex: &mut Executor<'_>) -> Result<Vec<Row>> {
    let mut values: Vec<Vec<Value>> = vec![Vec::with_capacity(calls.len()); rows.len()];
    let mut order: Vec<usize> = (0..rows.len()).collect();
    for call in calls {
        let keyed = sorted(&rows, call, ex)?;
        let computed = compute(&rows, &keyed, call, ex)?;
        for (index, value) in computed {
            values[index].push(value);
        }
        order = keyed.iter().map(|k| k.index).collect();
    }
    let mut rows: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(rows.len());
    for index in order {
        ex.db.interrupts.check()?;
        let mut row = rows[index].take().unwrap_or_default();
        row.append(&mut values[index]);
        out.push(row);
    }
    Ok(out)
}

fn sorted(rows: &[Row], call: &WindowCall, ex: &mut Executor<'_>) -> Result<Vec<Keyed>> {
    let mut keyed = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        ex.db.interrupts.check()?;
        let partition = call
            .partition
            .iter()
            .map(|e| eval(e, &EvalRow::plain(row), ex))
            .collect::<Result<Vec<_>>>()?;
        let order = call
            .order
            .iter()
            .map(|(e, _, _)| eval(e, &EvalRow::plain(row), ex))
            .collect::<Result<Vec<_>>>()?;
        keyed.push(Keyed {
            partition,
            order,
            index,
        });
    }
    keyed.sort_by(|a, b| {
        compare_partition(&a.partition, &b.partition)
            .then_with(|| compare_order(&a.order, &b.order, &call.order))
    });
    Ok(keyed)
}

/// Each row's value (by input position), partition by partition, peers together.
fn compute(
    rows: &[Row],
    keyed: &[Keyed],
    call: &WindowCall,
    ex: &mut Executor<'_>,
) -> Result<Vec<(usize, Value)>> {
    let mut out = Vec::with_capacity(keyed.len());
    let mut start = 0;
    while start < keyed.len() {
        let mut end = start;
        while end < keyed.len() && keyed[end].partition == keyed[start].partition {
            end += 1;
        }
        partition(rows, &keyed[start..end], call, ex, &mut out)?;
        start = end;
    }
    Ok(out)
}

fn partition(
    rows: &[Row],
    part: &[Keyed],
    call: &WindowCall,
    ex: &mut Executor<'_>,
    out: &mut Vec<(usize, Value)>,
) -> Result<()> {
    let mut state = match &call.func {
        WindowFunc::Aggregate(agg) => Some(AggState::new(agg)),
        _ => None,
    };
    let mut dense = 0i64;
    let mut at = 0;
    while at < part.len() {
        // The peers of part[at]: equal on ORDER BY (every row, without ORDER BY).
        let mut end = at;
        while end < part.len()
            && compare_order(&part[end].order, &part[at].order, &call.order).is_eq()
        {
            end += 1;
        }
        dense += 1;
        let rank = at as i64 + 1;
        if let (WindowFunc::Aggregate(agg), Some(state)) = (&call.func, state.as_mut()) {
            for peer in &part[at..end] {
                ex.db.interrupts.check()?;
                aggregate::update(agg, state, &rows[peer.index], ex)?;
            }
        }
        let peers_value = match (&call.func, &state) {
            (WindowFunc::Aggregate(agg), Some(state)) => {
                Some(aggregate::finish(agg, state.clone())?)
            }
            _ => None,
        };
        for (offset, peer) in part[at..end].iter().enumerate() {
            let value = match &call.func {
                WindowFunc::RowNumber => Value::Int8((at + offset) as i64 + 1),
                WindowFunc::Rank => Value::Int8(rank),
                WindowFunc::DenseRank => Value::Int8(dense),
                WindowFunc::Aggregate(_) => peers_value.clone().unwrap_or(Value::Null),
            };
            out.push((peer.index, value));
        }
        at = end;
    }
    Ok(())
}
