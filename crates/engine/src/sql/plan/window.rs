//! Window functions: `row_number`, `rank`, `dense_rank`, `percent_rank`, `cume_dist`, `ntile`,
//! `lag`, `lead`, `first_value`, `last_value`, `nth_value`, and every aggregate used
//! `OVER (PARTITION BY ... ORDER BY ... frame)`. The frame ([`super::frame`]) defaults to
//! PostgreSQL's (the partition's rows up to the current row and its peers, or the whole
//! partition without ORDER BY). The WindowAgg node reads its input whole, sorts it by
//! partition and order, and appends each call's value to each row; its rows come out in that
//! order, as PostgreSQL's do. An aggregate over a frame that starts at the partition's first
//! row is fed each row once; count and integer sum/avg over a sliding frame add the rows
//! entering it and remove those leaving (PostgreSQL's inverse transitions); any other frame
//! is aggregated afresh for each row whose frame differs from the previous row's.

use std::cmp::Ordering;

use super::super::expr::{eval, AggCall, Expr, Row as EvalRow};
use super::super::Executor;
use super::aggregate::{self, AggState};
use super::exec::Row;
use super::frame::{self, Frame, Offsets, Units};
use crate::error::Result;
use crate::types::{compare, DataType, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    Ntile(Expr),
    /// lag (`lead` false) or lead: the value `offset` rows before (after), else `default`.
    Shift {
        lead: bool,
        value: Expr,
        offset: Expr,
        default: Option<Expr>,
    },
    FirstValue(Expr),
    LastValue(Expr),
    /// nth_value(value, n).
    NthValue(Expr, Expr),
    Aggregate(AggCall),
}

/// One window function call over the rows of its input.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowCall {
    pub func: WindowFunc,
    pub partition: Vec<Expr>,
    /// (expression, descending, nulls first).
    pub order: Vec<(Expr, bool, bool)>,
    pub frame: Frame,
    pub data_type: DataType,
}

impl WindowCall {
    /// Every expression it evaluates, for rewriting after grouping.
    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        let mut exprs: Vec<&mut Expr> = self.partition.iter_mut().collect();
        exprs.extend(self.order.iter_mut().map(|(e, _, _)| e));
        exprs.extend(self.frame.exprs_mut());
        match &mut self.func {
            WindowFunc::Aggregate(call) => {
                exprs.extend(call.arg.iter_mut());
                exprs.extend(call.filter.iter_mut());
                exprs.extend(call.delimiter.iter_mut());
                exprs.extend(call.order.iter_mut().map(|(e, _, _)| e));
            }
            WindowFunc::Ntile(e) | WindowFunc::FirstValue(e) | WindowFunc::LastValue(e) => {
                exprs.push(e)
            }
            WindowFunc::NthValue(value, n) => {
                exprs.push(value);
                exprs.push(n);
            }
            WindowFunc::Shift {
                value,
                offset,
                default,
                ..
            } => {
                exprs.push(value);
                exprs.push(offset);
                exprs.extend(default.iter_mut());
            }
            _ => {}
        }
        exprs
    }

    pub fn name(&self) -> String {
        match &self.func {
            WindowFunc::RowNumber => "row_number()".into(),
            WindowFunc::Rank => "rank()".into(),
            WindowFunc::DenseRank => "dense_rank()".into(),
            WindowFunc::PercentRank => "percent_rank()".into(),
            WindowFunc::CumeDist => "cume_dist()".into(),
            WindowFunc::Ntile(_) => "ntile(?)".into(),
            WindowFunc::Shift { lead: true, .. } => "lead(?)".into(),
            WindowFunc::Shift { lead: false, .. } => "lag(?)".into(),
            WindowFunc::FirstValue(_) => "first_value(?)".into(),
            WindowFunc::LastValue(_) => "last_value(?)".into(),
            WindowFunc::NthValue(..) => "nth_value(?, ?)".into(),
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
        let offsets = offsets(call, ex)?;
        let keyed = sorted(&rows, call, ex)?;
        let computed = compute(&rows, &keyed, call, &offsets, ex)?;
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

/// The frame's offsets, evaluated once (they may not read the row) and checked.
fn offsets(call: &WindowCall, ex: &mut Executor<'_>) -> Result<Offsets> {
    let mut evaluate = |bound: &frame::Bound| -> Result<Option<Value>> {
        match bound {
            frame::Bound::Preceding(e) | frame::Bound::Following(e) => {
                Ok(Some(eval(e, &EvalRow::plain(&[]), ex)?))
            }
            _ => Ok(None),
        }
    };
    let offsets = Offsets {
        start: evaluate(&call.frame.start)?,
        end: evaluate(&call.frame.end)?,
    };
    frame::check_offsets(&call.frame, &offsets)?;
    Ok(offsets)
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
    offsets: &Offsets,
    ex: &mut Executor<'_>,
) -> Result<Vec<(usize, Value)>> {
    let mut out = Vec::with_capacity(keyed.len());
    let mut start = 0;
    while start < keyed.len() {
        let mut end = start;
        while end < keyed.len() && keyed[end].partition == keyed[start].partition {
            end += 1;
        }
        partition(rows, &keyed[start..end], call, offsets, ex, &mut out)?;
        start = end;
    }
    Ok(out)
}

/// The peer groups of a sorted partition: (start, end) of each run of rows equal on ORDER BY.
fn peer_groups(part: &[Keyed], order: &[(Expr, bool, bool)]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut at = 0;
    while at < part.len() {
        let mut end = at;
        while end < part.len() && compare_order(&part[end].order, &part[at].order, order).is_eq() {
            end += 1;
        }
        groups.push((at, end));
        at = end;
    }
    groups
}

fn partition(
    rows: &[Row],
    part: &[Keyed],
    call: &WindowCall,
    offsets: &Offsets,
    ex: &mut Executor<'_>,
    out: &mut Vec<(usize, Value)>,
) -> Result<()> {
    let groups = peer_groups(part, &call.order);
    let mut group_of = Vec::with_capacity(part.len());
    for (index, (start, end)) in groups.iter().enumerate() {
        group_of.extend(std::iter::repeat_n(index, end - start));
    }
    let ranged = call.frame.units == Units::Range && !call.order.is_empty();
    let keys = if ranged {
        part.iter().map(|k| &k.order[0]).collect()
    } else {
        Vec::new()
    };
    let descending = call.order.first().is_some_and(|o| o.1);
    let framed = frame::Partition::new(&groups, &group_of, keys, descending);
    let mut framer = Framer::new(call);
    for position in 0..part.len() {
        ex.db.interrupts.check()?;
        let group = group_of[position];
        let place = Place {
            position,
            peers: groups[group],
            dense: group as i64 + 1,
        };
        let value = match &call.func {
            WindowFunc::Aggregate(_)
            | WindowFunc::FirstValue(_)
            | WindowFunc::LastValue(_)
            | WindowFunc::NthValue(..) => {
                let ranges = frame::ranges(&call.frame, offsets, &framed, position)?;
                framer.value(rows, part, &ranges, place, ex)?
            }
            _ => positional(rows, part, call, place, ex)?,
        };
        out.push((part[position].index, value));
    }
    Ok(())
}

/// A frame-reading function's value row after row: a running aggregate when the frame only
/// grows, else a fresh one whenever the frame changes.
struct Framer<'c> {
    call: &'c WindowCall,
    running: Option<AggState>,
    /// Positions fed to the running state.
    fed: usize,
    /// An invertible aggregate's state over the positions `lo..hi` of a sliding frame.
    sliding: Option<(AggState, usize, usize)>,
    last: Option<(Vec<(usize, usize)>, Value)>,
}

impl<'c> Framer<'c> {
    /// An invertible aggregate over the frame `range`: rows entering it are added, rows
    /// leaving it removed (a frame that jumps, or an empty one, starts afresh).
    fn slide(
        &mut self,
        agg: &AggCall,
        rows: &[Row],
        part: &[Keyed],
        range: Option<(usize, usize)>,
        ex: &mut Executor<'_>,
    ) -> Result<Value> {
        let row = |i: usize| &rows[part[i].index];
        let Some((start, end)) = range else {
            self.sliding = None;
            return aggregate::finish(agg, AggState::new(agg));
        };
        let continues = matches!(&self.sliding,
            Some((_, lo, hi)) if start >= *lo && end >= *hi && start <= *hi);
        if !continues {
            self.sliding = Some((AggState::new(agg), start, start));
        }
        let (state, lo, hi) = self.sliding.as_mut().expect("set above");
        while *hi < end {
            ex.db.interrupts.check()?;
            aggregate::update(agg, state, row(*hi), ex)?;
            *hi += 1;
        }
        while *lo < start {
            ex.db.interrupts.check()?;
            aggregate::remove(agg, state, row(*lo), ex)?;
            *lo += 1;
        }
        aggregate::finish(agg, state.clone())
    }

    fn new(call: &'c WindowCall) -> Framer<'c> {
        Framer {
            call,
            running: None,
            fed: 0,
            sliding: None,
            last: None,
        }
    }

    fn value(
        &mut self,
        rows: &[Row],
        part: &[Keyed],
        ranges: &[(usize, usize)],
        place: Place,
        ex: &mut Executor<'_>,
    ) -> Result<Value> {
        let row = |i: usize| &rows[part[i].index];
        let agg = match &self.call.func {
            WindowFunc::Aggregate(agg) => agg,
            WindowFunc::FirstValue(e) => {
                return match ranges.first() {
                    Some((start, _)) => eval(e, &EvalRow::plain(row(*start)), ex),
                    None => Ok(Value::Null),
                }
            }
            WindowFunc::LastValue(e) => {
                return match ranges.last() {
                    Some((_, end)) => eval(e, &EvalRow::plain(row(end - 1)), ex),
                    None => Ok(Value::Null),
                }
            }
            WindowFunc::NthValue(e, n) => {
                let current = row(place.position);
                let n = eval(n, &EvalRow::plain(current), ex)?;
                let Some(n) = n.as_i64() else {
                    return Ok(Value::Null);
                };
                if n <= 0 {
                    return Err(crate::error::DbError::new(
                        "22016",
                        "argument of nth_value must be greater than zero",
                    ));
                }
                let mut skip = (n - 1) as usize;
                for (start, end) in ranges {
                    if skip < end - start {
                        return eval(e, &EvalRow::plain(row(start + skip)), ex);
                    }
                    skip -= end - start;
                }
                return Ok(Value::Null);
            }
            _ => return Ok(Value::Null),
        };
        if let Some((previous, value)) = &self.last {
            if previous.as_slice() == ranges {
                return Ok(value.clone());
            }
        }
        let value = if self.call.frame.is_running() {
            let state = self.running.get_or_insert_with(|| AggState::new(agg));
            let end = ranges.last().map_or(0, |r| r.1);
            while self.fed < end {
                ex.db.interrupts.check()?;
                aggregate::update(agg, state, row(self.fed), ex)?;
                self.fed += 1;
            }
            aggregate::finish(agg, state.clone())?
        } else if self.call.frame.exclude == frame::Exclude::NoOthers && aggregate::invertible(agg)
        {
            self.slide(agg, rows, part, ranges.first().copied(), ex)?
        } else {
            let mut state = AggState::new(agg);
            for (start, end) in ranges {
                for position in *start..*end {
                    ex.db.interrupts.check()?;
                    aggregate::update(agg, &mut state, row(position), ex)?;
                }
            }
            aggregate::finish(agg, state)?
        };
        self.last = Some((ranges.to_vec(), value.clone()));
        Ok(value)
    }
}

/// Where a row is in its sorted partition.
#[derive(Clone, Copy)]
struct Place {
    position: usize,
    peers: (usize, usize),
    dense: i64,
}

/// The value of a ranking or positional window function for the row at `place`.
fn positional(
    rows: &[Row],
    part: &[Keyed],
    call: &WindowCall,
    place: Place,
    ex: &mut Executor<'_>,
) -> Result<Value> {
    let total = part.len();
    let row = |i: usize| &rows[part[i].index];
    let current = row(place.position).clone();
    Ok(match &call.func {
        WindowFunc::RowNumber => Value::Int8(place.position as i64 + 1),
        WindowFunc::Rank => Value::Int8(place.peers.0 as i64 + 1),
        WindowFunc::DenseRank => Value::Int8(place.dense),
        WindowFunc::PercentRank if total > 1 => {
            Value::Float8(place.peers.0 as f64 / (total - 1) as f64)
        }
        WindowFunc::PercentRank => Value::Float8(0.0),
        WindowFunc::CumeDist => Value::Float8(place.peers.1 as f64 / total as f64),
        WindowFunc::Ntile(buckets) => {
            let n = eval(buckets, &EvalRow::plain(&current), ex)?
                .as_i64()
                .unwrap_or(0);
            if n <= 0 {
                return Err(crate::error::DbError::new(
                    "22014",
                    "argument of ntile must be greater than zero",
                ));
            }
            let (n, total, p) = (n as usize, total, place.position);
            let (size, extra) = (total / n, total % n);
            let big = extra * (size + 1);
            let bucket = if p < big {
                p / (size + 1)
            } else {
                extra + (p - big) / size.max(1)
            };
            Value::Int4(bucket as i32 + 1)
        }
        WindowFunc::Shift {
            lead,
            value,
            offset,
            default,
        } => {
            let step = eval(offset, &EvalRow::plain(&current), ex)?
                .as_i64()
                .unwrap_or(1);
            let target = if *lead {
                place.position as i64 + step
            } else {
                place.position as i64 - step
            };
            if target >= 0 && (target as usize) < total {
                eval(value, &EvalRow::plain(row(target as usize)), ex)?
            } else {
                match default {
                    Some(d) => eval(d, &EvalRow::plain(&current), ex)?,
                    None => Value::Null,
                }
            }
        }
        WindowFunc::Aggregate(_)
        | WindowFunc::FirstValue(_)
        | WindowFunc::LastValue(_)
        | WindowFunc::NthValue(..) => Value::Null,
    })
}
