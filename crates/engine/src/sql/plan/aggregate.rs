//! Aggregates as running states: each input row updates its group's state, so grouping a
//! million rows holds one state per group, not the rows. DISTINCT aggregates keep the set of
//! values they saw and fold it at the end; FILTER decides per row whether it counts.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::super::expr::{arith, eval, numeric_divide, truth, AggCall, AggFunc, Arith, Row};
use super::super::Executor;
use crate::error::{code, DbError, Result};
use crate::types::{cast, compare, DataType, Key, Value};

/// One aggregate's state within one group.
#[derive(Clone, Debug)]
pub struct AggState {
    count: i64,
    /// The running sum, minimum or maximum (NULL before the first value).
    value: Value,
    float_sum: f64,
    numeric_sum: Decimal,
    distinct: Option<BTreeSet<Key>>,
}

impl AggState {
    pub fn new(call: &AggCall) -> AggState {
        AggState {
            count: 0,
            value: Value::Null,
            float_sum: 0.0,
            numeric_sum: Decimal::ZERO,
            distinct: call.distinct.then(BTreeSet::new),
        }
    }
}

/// Feeds one input row to an aggregate.
pub fn update(
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
    match &mut state.distinct {
        Some(seen) => {
            seen.insert(Key(vec![value]));
            Ok(())
        }
        None => accumulate(call, state, value),
    }
}

fn overflow() -> DbError {
    DbError::new(
        code::NUMERIC_VALUE_OUT_OF_RANGE,
        "value overflows numeric format",
    )
}

fn accumulate(call: &AggCall, state: &mut AggState, value: Value) -> Result<()> {
    state.count += 1;
    match call.func {
        AggFunc::CountStar | AggFunc::Count => {}
        AggFunc::Min | AggFunc::Max => {
            let better = state.value.is_null() || {
                let ordering = compare(&value, &state.value);
                if call.func == AggFunc::Min {
                    ordering.is_lt()
                } else {
                    ordering.is_gt()
                }
            };
            if better {
                state.value = value;
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
                .checked_add(value.as_decimal().unwrap_or_default())
                .ok_or_else(overflow)?;
        }
    }
    Ok(())
}

/// The aggregate's value for its group.
pub fn finish(call: &AggCall, state: AggState) -> Result<Value> {
    let mut state = state;
    if let Some(seen) = state.distinct.take() {
        for Key(mut values) in seen {
            accumulate(call, &mut state, values.pop().unwrap_or(Value::Null))?;
        }
    }
    Ok(match call.func {
        AggFunc::CountStar | AggFunc::Count => Value::Int8(state.count),
        _ if state.count == 0 => Value::Null,
        AggFunc::Min | AggFunc::Max | AggFunc::Sum => state.value,
        AggFunc::Avg if call.data_type == DataType::Float8 => {
            Value::Float8(state.float_sum / state.count as f64)
        }
        AggFunc::Avg => Value::Numeric(numeric_divide(
            state.numeric_sum,
            Decimal::from(state.count),
        )?),
    })
}
