//! Aggregates as running states: each input row updates its group's state, so grouping a
//! million rows holds one state per group, not the rows. DISTINCT aggregates keep the set of
//! values they saw and fold it at the end; FILTER decides per row whether it counts; an
//! ORDER BY inside the call keeps the values with their sort keys and folds them sorted, as do
//! the ordered-set aggregates (percentile_cont, percentile_disc, mode), which need them all.
//! Variances follow PostgreSQL's arithmetic so results match to the last digit: exact numeric
//! sums of x and x² for integer and numeric input, Youngs-Cramer updates for float8.

use std::collections::BTreeSet;

use super::super::expr::{arith, eval, truth, AggCall, AggFunc, Arith, Row};
use super::super::Executor;
use crate::error::Result;
use crate::types::interval::Interval;
use crate::types::{cast, compare, DataType, Key, Numeric, Value};
use crate::workmem::{entry_bytes, row_bytes, value_bytes};

/// One aggregate's state within one group.
#[derive(Clone, Debug)]
pub struct AggState {
    count: i64,
    /// The running sum, minimum or maximum (NULL before the first value).
    value: Value,
    float_sum: f64,
    numeric_sum: Numeric,
    /// The sum of squares (numeric variance), or Youngs-Cramer's Sxx (float8 variance).
    numeric_squares: Numeric,
    float_sxx: f64,
    distinct: Option<BTreeSet<Key>>,
    /// With ORDER BY inside the call: (sort keys, value, delimiter) of each row.
    ordered: Option<Vec<(Vec<Value>, Value, Option<Value>)>>,
    /// string_agg's last delimiter (for the DISTINCT fold).
    delimiter: Option<Value>,
}

impl AggState {
    pub fn new(call: &AggCall) -> AggState {
        AggState {
            count: 0,
            value: Value::Null,
            float_sum: 0.0,
            numeric_sum: Numeric::zero(),
            numeric_squares: Numeric::zero(),
            float_sxx: 0.0,
            distinct: call.distinct.then(BTreeSet::new),
            ordered: (!call.order.is_empty()).then(Vec::new),
            delimiter: None,
        }
    }
}

/// Feeds one input row to an aggregate; returns the bytes its state grew by (the values a
/// DISTINCT or ORDER BY aggregate keeps, the text `string_agg` builds).
pub fn update(
    call: &AggCall,
    state: &mut AggState,
    row: &[Value],
    ex: &mut Executor<'_>,
) -> Result<u64> {
    if let Some(filter) = &call.filter {
        if truth(eval(filter, &Row::plain(row), ex)?) != Some(true) {
            return Ok(0);
        }
    }
    let value = match &call.arg {
        None => Value::Bool(true),
        Some(arg) => eval(arg, &Row::plain(row), ex)?,
    };
    // array_agg keeps NULLs; every other aggregate skips them.
    if value.is_null()
        && !matches!(
            call.func,
            AggFunc::ArrayAgg | AggFunc::JsonAgg(_) | AggFunc::JsonObjectAgg(_)
        )
    {
        return Ok(0);
    }
    let delimiter = match &call.delimiter {
        Some(d) => Some(eval(d, &Row::plain(row), ex)?),
        None => None,
    };
    if let Some(ordered) = &mut state.ordered {
        let mut keys = Vec::with_capacity(call.order.len());
        for (expr, _, _) in &call.order {
            keys.push(eval(expr, &Row::plain(row), ex)?);
        }
        let bytes =
            row_bytes(&keys) + value_bytes(&value) + delimiter.as_ref().map_or(0, value_bytes);
        ordered.push((keys, value, delimiter));
        return Ok(bytes);
    }
    match &mut state.distinct {
        Some(seen) => {
            let bytes = entry_bytes(std::slice::from_ref(&value), 0);
            let new = seen.insert(Key(vec![value]));
            state.delimiter = delimiter;
            Ok(if new { bytes } else { 0 })
        }
        None => {
            let grows = call.func == AggFunc::StringAgg;
            let bytes = match (&value, &delimiter) {
                _ if call.func == AggFunc::ArrayAgg => value_bytes(&value),
                _ if matches!(call.func, AggFunc::JsonAgg(_) | AggFunc::JsonObjectAgg(_)) => {
                    value_bytes(&value) + delimiter.as_ref().map_or(0, value_bytes)
                }
                (Value::Text(text), Some(Value::Text(d))) if grows => (text.len() + d.len()) as u64,
                (Value::Text(text), _) if grows => text.len() as u64,
                _ => 0,
            };
            accumulate(call, state, value, delimiter)?;
            Ok(bytes)
        }
    }
}

/// Whether a row can be taken back out of the aggregate's state exactly (PostgreSQL's
/// moving-aggregate inverse functions): count, and sum/avg of integers. A window frame that
/// slides then costs each row one update and one removal instead of a fresh aggregate.
pub fn invertible(call: &AggCall) -> bool {
    let integer = call.arg.as_ref().is_some_and(|a| {
        matches!(
            a.data_type(),
            DataType::Int2 | DataType::Int4 | DataType::Int8
        )
    });
    !call.distinct
        && call.order.is_empty()
        && match call.func {
            AggFunc::CountStar | AggFunc::Count => true,
            AggFunc::Sum | AggFunc::Avg => integer,
            _ => false,
        }
}

/// Takes one input row back out of an [`invertible`] aggregate's state.
pub fn remove(
    call: &AggCall,
    state: &mut AggState,
    row: &[Value],
    ex: &mut Executor<'_>,
) -> Result<()> {
    if let Some(filter) = &call.filter {
        if truth(eval(filter, &Row::plain(row), ex)?) != Some(true) {
            return Ok(());
        }
    }
    let value = match &call.arg {
        None => Value::Bool(true),
        Some(arg) => eval(arg, &Row::plain(row), ex)?,
    };
    if value.is_null() {
        return Ok(());
    }
    state.count -= 1;
    match call.func {
        AggFunc::Sum if state.count == 0 => state.value = Value::Null,
        AggFunc::Sum => state.value = arith(Arith::Sub, &state.value, &value, &call.data_type)?,
        AggFunc::Avg => {
            let x = value.as_numeric().unwrap_or_else(Numeric::zero);
            state.numeric_sum = state.numeric_sum.sub(&x)?;
        }
        _ => {}
    }
    Ok(())
}

fn accumulate(
    call: &AggCall,
    state: &mut AggState,
    value: Value,
    delimiter: Option<Value>,
) -> Result<()> {
    state.count += 1;
    match call.func {
        AggFunc::StringAgg => {
            let text = value.to_text().unwrap_or_default();
            state.value = match std::mem::replace(&mut state.value, Value::Null) {
                Value::Null => Value::Text(text),
                previous => {
                    let mut joined = previous.to_text().unwrap_or_default();
                    joined += &delimiter.and_then(|d| d.to_text()).unwrap_or_default();
                    joined += &text;
                    Value::Text(joined)
                }
            };
        }
        AggFunc::CountStar | AggFunc::Count => {}
        AggFunc::JsonAgg(_) | AggFunc::JsonObjectAgg(_) => {
            let arg_type = call
                .arg
                .as_ref()
                .map_or(DataType::Text, crate::sql::expr::Expr::data_type);
            let value_type = call
                .delimiter
                .as_ref()
                .map_or(DataType::Text, crate::sql::expr::Expr::data_type);
            let state_value = std::mem::replace(&mut state.value, Value::Null);
            state.value = crate::sql::json::aggregate_step(
                call.func,
                state_value,
                &value,
                &arg_type,
                delimiter.as_ref(),
                &value_type,
            )?;
        }
        AggFunc::ArrayAgg => match &mut state.value {
            Value::Array(array) => {
                crate::types::array::check_size(array.items.len() + 1)?;
                array.items.push(value);
            }
            _ => state.value = crate::types::array::value(vec![value])?,
        },
        AggFunc::Min | AggFunc::Max => {
            // On a tie the newer value wins, as in PostgreSQL's *_smaller/*_larger (it shows
            // for values equal but written apart: '30 days' and '1 mon', 1.0 and 1.00).
            let better = state.value.is_null() || {
                let ordering = compare(&value, &state.value);
                if call.func == AggFunc::Min {
                    ordering.is_le()
                } else {
                    ordering.is_ge()
                }
            };
            if better {
                state.value = value;
            }
        }
        AggFunc::Sum | AggFunc::Avg if call.data_type == DataType::Interval => {
            // interval_accum: the running sum; avg divides it at the end.
            let total = match &state.value {
                Value::Interval(total) => *total,
                _ => Interval::ZERO,
            };
            if let Value::Interval(span) = value {
                state.value = Value::Interval(total.checked_add(&span)?);
            }
        }
        AggFunc::Sum => {
            let t = &call.data_type;
            if state.value.is_null() {
                state.value = cast(Value::Int4(0), &DataType::Int4, t)?;
            }
            state.value = arith(Arith::Add, &state.value, &value, t)?;
        }
        AggFunc::Avg if call.data_type == DataType::Float8 => {
            state.float_sum += value.as_f64().unwrap_or(0.0);
        }
        AggFunc::Avg => {
            state.numeric_sum = state
                .numeric_sum
                .add(&value.as_numeric().unwrap_or_else(Numeric::zero))?;
        }
        _ => accumulate_more(call, state, value)?,
    }
    Ok(())
}

/// bool_and/bool_or, bit_and/bit_or and the variances.
fn accumulate_more(call: &AggCall, state: &mut AggState, value: Value) -> Result<()> {
    let previous = std::mem::replace(&mut state.value, Value::Null);
    match call.func {
        AggFunc::BoolAnd | AggFunc::BoolOr => {
            let v = matches!(value, Value::Bool(true));
            state.value = Value::Bool(match previous {
                Value::Bool(p) if call.func == AggFunc::BoolAnd => p && v,
                Value::Bool(p) => p || v,
                _ => v,
            });
        }
        AggFunc::BitAnd | AggFunc::BitOr => {
            let v = value.as_i64().unwrap_or(0);
            let bits = match previous.as_i64() {
                Some(p) if call.func == AggFunc::BitAnd => p & v,
                Some(p) => p | v,
                None => v,
            };
            state.value = match value {
                Value::Int2(_) => Value::Int2(bits as i16),
                Value::Int4(_) => Value::Int4(bits as i32),
                _ => Value::Int8(bits),
            };
        }
        AggFunc::Variance { .. } if call.data_type == DataType::Float8 => {
            // float8_accum: N counts this value already.
            let (x, n) = (value.as_f64().unwrap_or(0.0), state.count as f64);
            let previous_sum = state.float_sum;
            state.float_sum += x;
            if n > 1.0 {
                let t = x * n - state.float_sum;
                state.float_sxx += t * t / (n * (n - 1.0));
                if state.float_sum.is_infinite() || state.float_sxx.is_infinite() {
                    if !previous_sum.is_infinite() && !x.is_infinite() {
                        return Err(crate::error::DbError::new(
                            "22003",
                            "value out of range: overflow",
                        ));
                    }
                    state.float_sxx = f64::NAN;
                }
            } else if x.is_nan() || x.is_infinite() {
                state.float_sxx = f64::NAN;
            }
        }
        AggFunc::Variance { .. } => {
            let x = value.as_numeric().unwrap_or_else(Numeric::zero);
            state.numeric_squares = state.numeric_squares.add(&x.mul(&x)?)?;
            state.numeric_sum = state.numeric_sum.add(&x)?;
        }
        _ => state.value = previous,
    }
    Ok(())
}

/// The SQL name of an aggregate beyond count/sum/avg/min/max/string_agg.
pub fn name(func: AggFunc) -> &'static str {
    match func {
        AggFunc::ArrayAgg => "array_agg",
        AggFunc::BoolAnd => "bool_and",
        AggFunc::BoolOr => "bool_or",
        AggFunc::BitAnd => "bit_and",
        AggFunc::BitOr => "bit_or",
        AggFunc::Variance {
            root: true,
            sample: true,
        } => "stddev_samp",
        AggFunc::Variance {
            root: true,
            sample: false,
        } => "stddev_pop",
        AggFunc::Variance {
            root: false,
            sample: true,
        } => "var_samp",
        AggFunc::Variance {
            root: false,
            sample: false,
        } => "var_pop",
        AggFunc::PercentileCont => "percentile_cont",
        AggFunc::PercentileDisc => "percentile_disc",
        AggFunc::Mode => "mode",
        AggFunc::Hypothetical(kind) => match kind {
            crate::sql::expr::Hypothetical::Rank => "rank",
            crate::sql::expr::Hypothetical::DenseRank => "dense_rank",
            crate::sql::expr::Hypothetical::PercentRank => "percent_rank",
            crate::sql::expr::Hypothetical::CumeDist => "cume_dist",
        },
        _ => "aggregate",
    }
}

/// The aggregate's value for its group.
pub fn finish(call: &AggCall, state: AggState) -> Result<Value> {
    let mut state = state;
    if let Some(mut ordered) = state.ordered.take() {
        ordered.sort_by(|a, b| compare_keys(&a.0, &b.0, &call.order));
        if let AggFunc::Hypothetical(kind) = call.func {
            return Ok(hypothetical(call, kind, &ordered));
        }
        if matches!(
            call.func,
            AggFunc::PercentileCont | AggFunc::PercentileDisc | AggFunc::Mode
        ) {
            return ordered_set(call, ordered);
        }
        let mut seen = BTreeSet::new();
        for (_, value, delimiter) in ordered {
            if !call.distinct || seen.insert(Key(vec![value.clone()])) {
                accumulate(call, &mut state, value, delimiter)?;
            }
        }
        return finish_values(call, state);
    }
    if let Some(seen) = state.distinct.take() {
        let delimiter = state.delimiter.clone();
        for Key(mut values) in seen {
            let value = values.pop().unwrap_or(Value::Null);
            accumulate(call, &mut state, value, delimiter.clone())?;
        }
    }
    finish_values(call, state)
}

/// ORDER BY inside an aggregate call: NULLs last ascending, first descending, unless told.
fn compare_keys(
    a: &[Value],
    b: &[Value],
    order: &[(super::super::expr::Expr, bool, bool)],
) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    for ((x, y), (_, descending, nulls_first)) in a.iter().zip(b).zip(order) {
        let ordering = match (x.is_null(), y.is_null()) {
            (true, true) => Equal,
            (true, false) => {
                if *nulls_first {
                    Less
                } else {
                    Greater
                }
            }
            (false, true) => {
                if *nulls_first {
                    Greater
                } else {
                    Less
                }
            }
            _ if *descending => compare(x, y).reverse(),
            _ => compare(x, y),
        };
        if ordering != Equal {
            return ordering;
        }
    }
    Equal
}

fn finish_values(call: &AggCall, state: AggState) -> Result<Value> {
    Ok(match call.func {
        AggFunc::CountStar | AggFunc::Count => Value::Int8(state.count),
        _ if state.count == 0 => Value::Null,
        AggFunc::Avg if call.data_type == DataType::Interval => match state.value {
            Value::Interval(total) => Value::Interval(total.div(state.count as f64)?),
            other => other,
        },
        AggFunc::Min | AggFunc::Max | AggFunc::Sum | AggFunc::StringAgg | AggFunc::ArrayAgg => {
            state.value
        }
        AggFunc::JsonAgg(_) | AggFunc::JsonObjectAgg(_) => {
            crate::sql::json::aggregate_finish(call.func, state.value)
        }
        AggFunc::Avg if call.data_type == DataType::Float8 => {
            Value::Float8(state.float_sum / state.count as f64)
        }
        AggFunc::Avg => Value::Numeric(
            state
                .numeric_sum
                .div(&Numeric::from_i128(i128::from(state.count)))?,
        ),
        AggFunc::Variance { root, sample } => variance(call, &state, root, sample)?,
        _ => state.value,
    })
}

/// numeric_stddev_internal and float8_var_samp/var_pop (and their square roots).
fn variance(call: &AggCall, state: &AggState, root: bool, sample: bool) -> Result<Value> {
    if sample && state.count <= 1 {
        return Ok(Value::Null);
    }
    if call.data_type == DataType::Float8 {
        let n = state.count as f64;
        let v = state.float_sxx / if sample { n - 1.0 } else { n };
        return Ok(Value::Float8(if root { v.sqrt() } else { v }));
    }
    let n = Numeric::from_i128(i128::from(state.count));
    let numerator = n
        .mul(&state.numeric_squares)?
        .sub(&state.numeric_sum.mul(&state.numeric_sum)?)?;
    if numerator.signum() <= 0 {
        return Ok(Value::Numeric(Numeric::zero()));
    }
    let denominator = if sample {
        n.mul(&n.sub(&Numeric::from_i128(1))?)?
    } else {
        n.mul(&n)?
    };
    let v = numerator.div(&denominator)?;
    if !root {
        return Ok(Value::Numeric(v));
    }
    let scale = v.scale().unwrap_or(0);
    Ok(Value::Numeric(v.sqrt_at(i64::from(scale))?))
}

/// rank, dense_rank, percent_rank and cume_dist of the hypothetical value (each row's
/// `delimiter`) among the group's sorted values: it sorts before its peers for the ranks,
/// after them for cume_dist.
fn hypothetical(
    call: &AggCall,
    kind: crate::sql::expr::Hypothetical,
    sorted: &[(Vec<Value>, Value, Option<Value>)],
) -> Value {
    use crate::sql::expr::Hypothetical;
    let total = sorted.len();
    let value = sorted
        .first()
        .and_then(|s| s.2.clone())
        .unwrap_or(Value::Null);
    let probe = [value];
    let position = |row: &Vec<Value>| compare_keys(row, &probe, &call.order);
    let before = sorted.iter().filter(|s| position(&s.0).is_lt()).count();
    match kind {
        Hypothetical::Rank => Value::Int8(before as i64 + 1),
        Hypothetical::DenseRank => {
            let mut distinct = 0;
            for (i, s) in sorted[..before].iter().enumerate() {
                if i == 0 || !compare_keys(&sorted[i - 1].0, &s.0, &call.order).is_eq() {
                    distinct += 1;
                }
            }
            Value::Int8(distinct + 1)
        }
        Hypothetical::PercentRank if total == 0 => Value::Float8(0.0),
        Hypothetical::PercentRank => Value::Float8(before as f64 / total as f64),
        Hypothetical::CumeDist => {
            let through = sorted.iter().filter(|s| position(&s.0).is_le()).count();
            Value::Float8((through + 1) as f64 / (total + 1) as f64)
        }
    }
}

/// percentile_cont, percentile_disc and mode over the group's sorted non-NULL values; the
/// fraction is the direct argument (read from the first row).
fn ordered_set(call: &AggCall, sorted: Vec<(Vec<Value>, Value, Option<Value>)>) -> Result<Value> {
    let Some(first) = sorted.first() else {
        return Ok(Value::Null);
    };
    if call.func == AggFunc::Mode {
        let mut best: Option<(&Value, usize)> = None;
        let mut at = 0;
        while at < sorted.len() {
            let run = sorted[at..]
                .iter()
                .take_while(|s| compare(&s.1, &sorted[at].1).is_eq())
                .count();
            if best.is_none_or(|(_, count)| run > count) {
                best = Some((&sorted[at].1, run));
            }
            at += run;
        }
        return Ok(best.map(|(v, _)| v.clone()).unwrap_or(Value::Null));
    }
    let fraction = match &first.2 {
        Some(Value::Null) | None => return Ok(Value::Null),
        Some(f) => f.as_f64().unwrap_or(0.0),
    };
    if !(0.0..=1.0).contains(&fraction) {
        return Err(crate::error::DbError::new(
            "22003",
            format!("percentile value {fraction} is not between 0 and 1"),
        ));
    }
    let count = sorted.len();
    if call.func == AggFunc::PercentileDisc {
        let row = (fraction * count as f64).ceil() as usize;
        return Ok(sorted[row.clamp(1, count) - 1].1.clone());
    }
    let position = fraction * (count - 1) as f64;
    let (low, high) = (position.floor(), position.ceil());
    if call.data_type == DataType::Interval {
        // interval_lerp: lo + (hi - lo) * fraction.
        let span = |i: f64| match &sorted[i as usize].1 {
            Value::Interval(v) => *v,
            _ => Interval::ZERO,
        };
        let (lo, hi) = (span(low), span(high));
        if low == high {
            return Ok(Value::Interval(lo));
        }
        let step = hi.checked_sub(&lo)?.mul(position - low)?;
        return Ok(Value::Interval(lo.checked_add(&step)?));
    }
    let value = |i: f64| sorted[i as usize].1.as_f64().unwrap_or(0.0);
    let (lo, hi) = (value(low), value(high));
    Ok(Value::Float8(if low == high {
        lo
    } else {
        lo + (hi - lo) * (position - low)
    }))
}
