//! Aggregates as running states: each input row updates its group's state, so grouping a
//! million rows holds one state per group, not the rows. DISTINCT aggregates keep the set of
//! values they saw and fold it at the end; FILTER decides per row whether it counts; an
//! ORDER BY inside the call keeps the values with their sort keys and folds them sorted.

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
    if value.is_null() && call.func != AggFunc::ArrayAgg {
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
                (Value::Text(text), Some(Value::Text(d))) if grows => (text.len() + d.len()) as u64,
                (Value::Text(text), _) if grows => text.len() as u64,
                _ => 0,
            };
            accumulate(call, state, value, delimiter)?;
            Ok(bytes)
        }
    }
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
    }
    Ok(())
}

/// The aggregate's value for its group.
pub fn finish(call: &AggCall, state: AggState) -> Result<Value> {
    let mut state = state;
    if let Some(mut ordered) = state.ordered.take() {
        ordered.sort_by(|a, b| compare_keys(&a.0, &b.0, &call.order));
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
        AggFunc::Avg if call.data_type == DataType::Float8 => {
            Value::Float8(state.float_sum / state.count as f64)
        }
        AggFunc::Avg => Value::Numeric(
            state
                .numeric_sum
                .div(&Numeric::from_i128(i128::from(state.count)))?,
        ),
    })
}
