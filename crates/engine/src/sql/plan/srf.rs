//! Functions that return rows: `generate_series` over integers, bigints, numerics and
//! timestamps with an interval step (in FROM
//! and in select lists), and any scalar function in FROM (one row). Series are produced one
//! value at a time, so `generate_series(1, 1000000000) LIMIT 3` stops after three.

use super::super::expr::{coerce, eval, unify, Expr, Row};
use super::super::Executor;
use crate::error::{code, DbError, Result};
use crate::types::interval::Interval;
use crate::types::{DataType, Numeric, Value};

/// A function that yields rows of one column.
#[derive(Clone, Debug, PartialEq)]
pub enum TableFunction {
    /// `generate_series(start, stop [, step])`, its arguments coerced to `data_type`.
    Series {
        args: Vec<Expr>,
        data_type: DataType,
    },
    /// A scalar function in FROM: one row with its value.
    Scalar(Expr),
    /// `unnest(array)`: a row per element; `data_type` is the element type.
    Unnest { arg: Expr, data_type: DataType },
    /// `json(b)_each[_text]`, `json(b)_array_elements[_text]`, `json(b)_object_keys`: rows of
    /// `columns` (two for `_each`, which a select list shows as a record).
    Json {
        name: String,
        arg: Expr,
        columns: Vec<(String, DataType)>,
    },
}

impl TableFunction {
    pub fn data_type(&self) -> DataType {
        match self {
            TableFunction::Series { data_type, .. } => data_type.clone(),
            TableFunction::Scalar(expr) => expr.data_type(),
            TableFunction::Unnest { data_type, .. } => data_type.clone(),
            TableFunction::Json { columns, .. } if columns.len() == 1 => columns[0].1.clone(),
            // A record, shown as its text.
            TableFunction::Json { .. } => DataType::Text,
        }
    }

    /// The columns a function in FROM gives when it has several or names its own (`value`).
    pub fn named_columns(&self) -> Option<&[(String, DataType)]> {
        match self {
            TableFunction::Json { name, columns, .. } if !name.ends_with("object_keys") => {
                Some(columns)
            }
            _ => None,
        }
    }

    pub fn args_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            TableFunction::Series { args, .. } => args.iter_mut().collect(),
            TableFunction::Scalar(expr)
            | TableFunction::Unnest { arg: expr, .. }
            | TableFunction::Json { arg: expr, .. } => vec![expr],
        }
    }

    /// Starts the function's rows for one input row.
    pub fn start(&self, row: &[Value], ex: &mut Executor<'_>) -> Result<Series> {
        match self {
            TableFunction::Scalar(expr) => {
                Ok(Series::Once(Some(eval(expr, &Row::plain(row), ex)?)))
            }
            TableFunction::Series { args, data_type } => {
                let values = args
                    .iter()
                    .map(|a| eval(a, &Row::plain(row), ex))
                    .collect::<Result<Vec<_>>>()?;
                Series::counting(&values, data_type)
            }
            TableFunction::Unnest { arg, .. } => match eval(arg, &Row::plain(row), ex)? {
                Value::Array(array) => Ok(Series::Values(array.items.into_iter())),
                _ => Ok(Series::Empty),
            },
            TableFunction::Json { name, arg, .. } => match eval(arg, &Row::plain(row), ex)? {
                Value::Null => Ok(Series::Empty),
                value => Ok(Series::Rows(
                    crate::sql::json::set_rows(name, &value)?.into_iter(),
                )),
            },
        }
    }
}

/// The set-returning functions pgplay knows, bound to their arguments (after PostgreSQL's
/// catalog chose the function: see `functions::through_catalog`).
pub fn bind(name: &str, args: Vec<Expr>) -> Result<TableFunction> {
    super::super::functions::through_catalog(name, args, bind_known)
}

fn bind_known(name: &str, args: Vec<Expr>) -> Result<TableFunction> {
    if name == "unnest" {
        return bind_unnest(args);
    }
    if crate::sql::json::SET_RETURNING.contains(&name) {
        let Some(arg) = args.into_iter().next() else {
            return Err(DbError::new(code::UNDEFINED_FUNCTION, "json function form"));
        };
        return Ok(TableFunction::Json {
            name: name.to_string(),
            columns: crate::sql::json::set_columns(name, &arg.data_type()),
            arg,
        });
    }
    let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
    let not_found = || {
        let shown: Vec<String> = types.iter().map(DataType::base_name).collect();
        DbError::new(
            code::UNDEFINED_FUNCTION,
            format!("function {name}({}) does not exist", shown.join(", ")),
        )
        .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
    };
    if !(2..=3).contains(&args.len()) {
        return Err(not_found());
    }
    if let [start @ (DataType::Timestamp | DataType::TimestampTz), stop, DataType::Interval] =
        types.as_slice()
    {
        let data_type = unify(start, stop).ok_or_else(not_found)?;
        let mut args = args;
        let step = args.pop().ok_or_else(not_found)?;
        let mut args = args
            .into_iter()
            .map(|a| coerce(a, &data_type))
            .collect::<Result<Vec<_>>>()?;
        args.push(step);
        return Ok(TableFunction::Series { args, data_type });
    }
    let mut common = DataType::Unknown;
    for t in &types {
        common = unify(&common, t).ok_or_else(not_found)?;
    }
    let data_type = match common {
        DataType::Int2 | DataType::Int4 => DataType::Int4,
        DataType::Int8 => DataType::Int8,
        DataType::Numeric { .. } => DataType::NUMERIC,
        _ => return Err(not_found()),
    };
    let args = args
        .into_iter()
        .map(|a| coerce(a, &data_type))
        .collect::<Result<Vec<_>>>()?;
    Ok(TableFunction::Series { args, data_type })
}

/// `unnest(anyarray)`; its other forms (several arrays, tsvector, ranges) answer 0A000.
fn bind_unnest(args: Vec<Expr>) -> Result<TableFunction> {
    match args.first().map(Expr::data_type) {
        Some(DataType::Array(element)) if args.len() == 1 => Ok(TableFunction::Unnest {
            arg: args.into_iter().next().expect("one argument"),
            data_type: *element,
        }),
        Some(DataType::Unknown) if args.len() == 1 => Err(DbError::new(
            code::DATATYPE_MISMATCH,
            "could not determine polymorphic type because input has type unknown",
        )),
        _ => Err(DbError::new(code::UNDEFINED_FUNCTION, "unnest form")),
    }
}

/// The values of one call.
pub enum Series {
    Once(Option<Value>),
    /// An array's elements (`unnest`).
    Values(std::vec::IntoIter<Value>),
    /// Rows of one or more columns (the json functions).
    Rows(std::vec::IntoIter<Vec<Value>>),
    Integers {
        next: i128,
        stop: i128,
        step: i128,
        data_type: DataType,
    },
    Numerics {
        next: Numeric,
        stop: Numeric,
        step: Numeric,
    },
    /// Timestamps (or timestamptz) from `next` on, each the last plus `step`.
    Timestamps {
        next: Option<Value>,
        stop: Value,
        step: Interval,
    },
    Empty,
}

impl Series {
    fn counting(values: &[Value], data_type: &DataType) -> Result<Series> {
        if values.iter().any(Value::is_null) {
            return Ok(Series::Empty);
        }
        let zero_step =
            || DbError::new(code::INVALID_PARAMETER_VALUE, "step size cannot equal zero");
        if let [start, stop, Value::Interval(step)] = values {
            let ordering = step.cmp_span(&Interval::ZERO);
            if ordering.is_eq() {
                return Err(zero_step());
            }
            return Ok(Series::Timestamps {
                next: Some(start.clone()),
                stop: stop.clone(),
                step: *step,
            });
        }
        if *data_type == DataType::NUMERIC {
            let number = |i: usize| values.get(i).and_then(Value::as_numeric);
            let step = number(2).unwrap_or_else(|| Numeric::from_i128(1));
            if step.is_zero() {
                return Err(zero_step());
            }
            let (next, stop) = (
                number(0).unwrap_or_else(Numeric::zero),
                number(1).unwrap_or_else(Numeric::zero),
            );
            for (value, which) in [
                (&next, "start value"),
                (&stop, "stop value"),
                (&step, "step size"),
            ] {
                if value.is_nan() {
                    return Err(DbError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!("{which} cannot be NaN"),
                    ));
                }
                if value.is_special() {
                    return Err(DbError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!("{which} cannot be infinity"),
                    ));
                }
            }
            return Ok(Series::Numerics { next, stop, step });
        }
        let integer = |i: usize| values.get(i).and_then(Value::as_i64).map(i128::from);
        let step = integer(2).unwrap_or(1);
        if step == 0 {
            return Err(zero_step());
        }
        Ok(Series::Integers {
            next: integer(0).unwrap_or(0),
            stop: integer(1).unwrap_or(0),
            step,
            data_type: data_type.clone(),
        })
    }

    /// The next row of a function in FROM.
    pub fn next_row(&mut self) -> Option<Vec<Value>> {
        match self {
            Series::Rows(rows) => rows.next(),
            other => other.next_value().map(|v| vec![v]),
        }
    }

    pub fn next_value(&mut self) -> Option<Value> {
        match self {
            Series::Once(value) => value.take(),
            Series::Values(values) => values.next(),
            Series::Rows(rows) => rows.next().map(|mut row| {
                if row.len() == 1 {
                    row.remove(0)
                } else {
                    let fields: Vec<Option<String>> = row.iter().map(Value::to_text).collect();
                    Value::Text(crate::sql::json::record_text(&fields))
                }
            }),
            Series::Empty => None,
            Series::Integers {
                next,
                stop,
                step,
                data_type,
            } => {
                let past = if *step > 0 {
                    *next > *stop
                } else {
                    *next < *stop
                };
                if past {
                    return None;
                }
                let value = *next;
                *next += *step;
                Some(match data_type {
                    DataType::Int8 => Value::Int8(value as i64),
                    _ => Value::Int4(value as i32),
                })
            }
            Series::Timestamps { next, stop, step } => {
                let value = next.take()?;
                let ordering = crate::types::compare(&value, stop);
                let past = if step.cmp_span(&Interval::ZERO).is_gt() {
                    ordering.is_gt()
                } else {
                    ordering.is_lt()
                };
                if past {
                    return None;
                }
                *next = super::super::datetime::plus_interval(&value, step).ok();
                Some(value)
            }
            Series::Numerics { next, stop, step } => {
                let ordering = next.cmp_total(stop);
                let past = if step.signum() > 0 {
                    ordering.is_gt()
                } else {
                    ordering.is_lt()
                };
                if past {
                    return None;
                }
                let value = next.clone();
                *next = next.add(step).ok()?;
                Some(Value::Numeric(value))
            }
        }
    }
}
