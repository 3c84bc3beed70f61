//! Date/time operators and functions over `timestamp`, `timestamptz` and `interval`:
//! `timestamptz - timestamptz`, `± interval`, interval arithmetic, `extract`/`date_part`,
//! `date_trunc`, `age`, `justify_*`, `make_interval`. Binding turns them into plain
//! [`Expr::Call`]s, so the binder and evaluator only gain one hook each; the calendar work
//! (months of unequal length, leap years) is chrono's, the rounding and the errors are
//! PostgreSQL 15's `timestamp.c`. Time zones: the session zone is UTC (pgplay has no other).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

use super::expr::{coerce, operator_error, Arith, Expr};
use crate::error::{code, DbError, Result};
use crate::types::interval::{self, unit_word, Interval, Unit, UnitWord, USECS_PER_DAY};
use crate::types::zone;
use crate::types::{DataType, Numeric, Value};

/// PostgreSQL's MIN_TIMESTAMP and END_TIMESTAMP (4714-11-24 BC .. 294277-01-01).
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;

fn timestamp_out_of_range() -> DbError {
    DbError::new(code::DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

fn is_time(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp | DataType::TimestampTz)
}

fn call(name: &str, args: Vec<Expr>, data_type: DataType) -> Result<Expr> {
    Ok(Expr::Call {
        name: name.into(),
        args,
        data_type,
    })
}

/// A cast to `timestamp(p)` / `timestamptz(p)`: the value rounded to `p` digits (at most 6).
pub fn bind_precision(value: Expr, precision: u64) -> Result<Expr> {
    let data_type = value.data_type();
    let digits = Expr::Const(Value::Int4(precision.min(6) as i32), DataType::Int4);
    call("timestamp_precision", vec![value, digits], data_type)
}

/// The operands of an arithmetic operator, handed back when they are not date/time values.
pub type NotDateTime = (Expr, Expr);

/// Binds `left op right` when a date/time type is involved; otherwise hands the operands back
/// untouched (no copy: an operator chain thousands of terms long binds in linear time).
pub fn bind_arith(
    op: Arith,
    left: Expr,
    right: Expr,
) -> std::result::Result<Result<Expr>, NotDateTime> {
    let (lt, rt) = (left.data_type(), right.data_type());
    let temporal = |t: &DataType| {
        is_time(t) || matches!(t, DataType::Interval | DataType::Date | DataType::Time(_))
    };
    if !temporal(&lt) && !temporal(&rt) {
        return Err((left, right));
    }
    if matches!(lt, DataType::Time(_)) || matches!(rt, DataType::Time(_)) {
        return Ok(bind_time_of_day_arith(op, left, right));
    }
    if lt == DataType::Date || rt == DataType::Date {
        return Ok(bind_date_arith(op, left, right));
    }
    Ok(bind_time_arith(op, left, right))
}

/// Arithmetic on timestamps and intervals.
fn bind_time_arith(op: Arith, l: Expr, r: Expr) -> Result<Expr> {
    use DataType::{Interval as I, Unknown as U};
    let (lt, rt) = (l.data_type(), r.data_type());
    let numeric = |t: &DataType| t.is_numeric();
    match (op, &lt, &rt) {
        (Arith::Sub, U, b) if is_time(b) => {
            coerce(l, b).and_then(|l| call("timestamp_mi", vec![l, r], I))
        }
        (Arith::Sub, a, b) if is_time(a) && (is_time(b) || *b == U) => {
            let target = if is_time(b) && a != b {
                DataType::TimestampTz
            } else {
                a.clone()
            };
            coerce(l, &target).and_then(|l| call("timestamp_mi", vec![l, coerce(r, &target)?], I))
        }
        (Arith::Add | Arith::Sub, a, I | U) if is_time(a) => {
            let name = if op == Arith::Add {
                "timestamp_pl_interval"
            } else {
                "timestamp_mi_interval"
            };
            coerce(r, &I).and_then(|r| call(name, vec![l, r], a.clone()))
        }
        (Arith::Add, I | U, b) if is_time(b) => {
            coerce(l, &I).and_then(|l| call("timestamp_pl_interval", vec![r, l], b.clone()))
        }
        (Arith::Add | Arith::Sub, I, I | U) | (Arith::Add | Arith::Sub, U, I) => {
            let name = if op == Arith::Add {
                "interval_pl"
            } else {
                "interval_mi"
            };
            coerce(l, &I).and_then(|l| call(name, vec![l, coerce(r, &I)?], I))
        }
        (Arith::Mul | Arith::Div, I, b) if numeric(b) || *b == U => {
            let name = if op == Arith::Mul {
                "interval_mul"
            } else {
                "interval_div"
            };
            coerce(r, &DataType::Float8).and_then(|r| call(name, vec![l, r], I))
        }
        (Arith::Mul, a, I) if numeric(a) => {
            coerce(l, &DataType::Float8).and_then(|l| call("interval_mul", vec![r, l], I))
        }
        _ => Err(operator_error(&op_symbol(op), &lt, &rt)),
    }
}

/// `time ± interval`, `interval + time`, `time - time` and `date + time` (a timestamp).
fn bind_time_of_day_arith(op: Arith, l: Expr, r: Expr) -> Result<Expr> {
    use DataType::{Date, Interval as I, Time, Unknown as U};
    let (lt, rt) = (l.data_type(), r.data_type());
    let time = Time(None);
    match (op, &lt, &rt) {
        (Arith::Sub, Time(_), Time(_) | U) => {
            coerce(r, &time).and_then(|r| call("time_mi_time", vec![l, r], I))
        }
        (Arith::Add | Arith::Sub, Time(_), I | U) => {
            let name = if op == Arith::Add {
                "time_pl_interval"
            } else {
                "time_mi_interval"
            };
            coerce(r, &I).and_then(|r| call(name, vec![l, r], time))
        }
        (Arith::Add, I | U, Time(_)) => {
            coerce(l, &I).and_then(|l| call("time_pl_interval", vec![r, l], time))
        }
        (Arith::Add, Date, Time(_)) => {
            coerce(l, &Date).and_then(|l| call("date_pl_time", vec![l, r], DataType::Timestamp))
        }
        (Arith::Add, Time(_), Date) => call("date_pl_time", vec![r, l], DataType::Timestamp),
        _ => Err(operator_error(&op_symbol(op), &lt, &rt)),
    }
}

/// `date ± integer`, `date - date`, `date ± interval` (a timestamp, as in PostgreSQL).
fn bind_date_arith(op: Arith, left: Expr, right: Expr) -> Result<Expr> {
    use DataType::{Date, Int2, Int4, Interval as I, Unknown as U};
    let (lt, rt) = (left.data_type(), right.data_type());
    let midnight = |e: Expr| Expr::Cast(Box::new(e), DataType::Timestamp);
    match (op, &lt, &rt) {
        (Arith::Add, Date, Int2 | Int4) => {
            call("date_pli", vec![left, coerce(right, &Int4)?], Date)
        }
        (Arith::Add, Int2 | Int4, Date) => {
            call("date_pli", vec![right, coerce(left, &Int4)?], Date)
        }
        (Arith::Sub, Date, Int2 | Int4) => {
            call("date_mii", vec![left, coerce(right, &Int4)?], Date)
        }
        (Arith::Sub, Date, Date | U) => {
            call("date_mi", vec![left, coerce(right, &Date)?], Int4)
        }
        (Arith::Add, Date, U) => Err(DbError::new(
            code::AMBIGUOUS_FUNCTION,
            "operator is not unique: date + unknown",
        )
        .with_hint(
            "Could not choose a best candidate operator. You might need to add explicit type casts.",
        )),
        (Arith::Add | Arith::Sub, Date, I) => {
            let name = if op == Arith::Add {
                "timestamp_pl_interval"
            } else {
                "timestamp_mi_interval"
            };
            call(name, vec![midnight(left), right], DataType::Timestamp)
        }
        (Arith::Add, I, Date) => call(
            "timestamp_pl_interval",
            vec![midnight(right), left],
            DataType::Timestamp,
        ),
        _ => Err(operator_error(&op_symbol(op), &lt, &rt)),
    }
}

fn op_symbol(op: Arith) -> String {
    match op {
        Arith::Add => "+",
        Arith::Sub => "-",
        Arith::Mul => "*",
        Arith::Div => "/",
        Arith::Mod => "%",
    }
    .into()
}

/// Unary minus of an interval.
pub fn bind_negate(operand: Expr) -> std::result::Result<Result<Expr>, Expr> {
    if operand.data_type() == DataType::Interval {
        Ok(call("interval_um", vec![operand], DataType::Interval))
    } else {
        Err(operand)
    }
}

/// `EXTRACT(field FROM expr)`: numeric, as in PostgreSQL 14 and later.
pub fn bind_extract(field: &str, value: Expr) -> Result<Expr> {
    let t = value.data_type();
    let value = if t == DataType::Unknown {
        coerce(value, &DataType::TimestampTz)?
    } else {
        value
    };
    if t == DataType::Date {
        let field = Expr::Const(Value::Text(field.to_ascii_lowercase()), DataType::Text);
        return call("extract_date", vec![field, value], DataType::NUMERIC);
    }
    if matches!(t, DataType::Time(_)) {
        let field = Expr::Const(Value::Text(field.to_ascii_lowercase()), DataType::Text);
        return call("extract_time", vec![field, value], DataType::NUMERIC);
    }
    if !is_time(&value.data_type()) && value.data_type() != DataType::Interval {
        return Err(no_function(
            "pg_catalog.extract",
            &["unknown", &value.data_type().base_name()],
        ));
    }
    let field = Expr::Const(Value::Text(field.to_ascii_lowercase()), DataType::Text);
    call("extract", vec![field, value], DataType::NUMERIC)
}

/// `INTERVAL '...' [unit]` literals.
pub fn bind_interval_literal(text: &str, unit: Option<&str>) -> Result<Expr> {
    let value = match unit {
        None => interval::parse(text)?,
        Some(unit) => {
            let bare = text.trim();
            let numeric = !bare.is_empty()
                && bare
                    .trim_start_matches(['-', '+'])
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.');
            if numeric {
                interval::parse(&format!("{bare} {unit}"))?
            } else {
                return Err(DbError::feature_not_supported(format!(
                    "interval literals with a field qualifier ({unit}) are not supported by pgplay yet"
                )));
            }
        }
    };
    Ok(Expr::Const(Value::Interval(value), DataType::Interval))
}

fn no_function(name: &str, types: &[&str]) -> DbError {
    DbError::new(
        code::UNDEFINED_FUNCTION,
        format!("function {name}({}) does not exist", types.join(", ")),
    )
    .with_hint(
        "No function matches the given name and argument types. You might need to add explicit type casts.",
    )
}

/// The date/time functions this module binds.
pub fn is_function(name: &str) -> bool {
    matches!(
        name,
        "justify_hours"
            | "justify_days"
            | "justify_interval"
            | "date_part"
            | "date_trunc"
            | "age"
            | "make_interval"
            | "current_date"
            | "to_char"
            | "timezone"
            | "localtime"
            | "current_time"
            | "make_time"
    )
}

/// Binds one of [`is_function`]'s functions.
pub fn bind_call(name: &str, args: Vec<Expr>) -> Result<Expr> {
    let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
    let names: Vec<String> = types.iter().map(DataType::base_name).collect();
    let missing = || no_function(name, &names.iter().map(String::as_str).collect::<Vec<_>>());
    let interval_like = |t: &DataType| matches!(t, DataType::Interval | DataType::Unknown);
    let mut args = args;
    match (name, types.as_slice()) {
        ("justify_hours" | "justify_days" | "justify_interval", [t]) if interval_like(t) => {
            let arg = coerce(args.remove(0), &DataType::Interval)?;
            call(name, vec![arg], DataType::Interval)
        }
        ("to_char", [t, f]) if (is_time(t) || *t == DataType::Date) && f.is_string() => {
            let target = if *t == DataType::Date {
                DataType::Timestamp
            } else {
                t.clone()
            };
            let format = coerce(args.remove(1), &DataType::Text)?;
            let at = coerce(args.remove(0), &target)?;
            call(name, vec![at, format], DataType::Text)
        }
        ("to_char", [t, f]) if f.is_string() && (t.is_numeric() || *t == DataType::Interval) => {
            Err(DbError::feature_not_supported(format!(
                "to_char({}, text) is not supported by pgplay yet",
                t.base_name()
            )))
        }
        ("current_date", []) => {
            let now = call("now", vec![], DataType::TimestampTz)?;
            Ok(Expr::Cast(Box::new(now), DataType::Date))
        }
        ("date_part", [unit, DataType::Time(_)]) if unit.is_string() => {
            let unit = coerce(args.remove(0), &DataType::Text)?;
            let extract = call(
                "extract_time",
                vec![unit, args.remove(0)],
                DataType::NUMERIC,
            )?;
            Ok(Expr::Cast(Box::new(extract), DataType::Float8))
        }
        ("localtime", []) => {
            let now = call("localtimestamp", vec![], DataType::Timestamp)?;
            Ok(Expr::Cast(Box::new(now), DataType::Time(None)))
        }
        ("localtime", [DataType::Int2 | DataType::Int4]) => {
            let precision = match args.remove(0) {
                Expr::Const(value, _) => value.as_i64().unwrap_or(6).clamp(0, 6) as u32,
                _ => return Err(missing()),
            };
            let now = call("localtimestamp", vec![], DataType::Timestamp)?;
            Ok(Expr::Cast(Box::new(now), DataType::Time(Some(precision))))
        }
        ("current_time", _) => Err(super::expr::timetz_unsupported()),
        ("make_time", [DataType::Int4, DataType::Int4, DataType::Float8]) => {
            call(name, args, DataType::Time(None))
        }
        ("date_part", [unit, DataType::Date]) if unit.is_string() => {
            let unit = coerce(args.remove(0), &DataType::Text)?;
            let extract = call(
                "extract_date",
                vec![unit, args.remove(0)],
                DataType::NUMERIC,
            )?;
            Ok(Expr::Cast(Box::new(extract), DataType::Float8))
        }
        ("timezone", [z, t]) if z.is_string() || *z == DataType::Interval => {
            let (target, result) = match t {
                DataType::Timestamp => (DataType::Timestamp, DataType::TimestampTz),
                DataType::TimestampTz | DataType::Date | DataType::Unknown => {
                    (DataType::TimestampTz, DataType::Timestamp)
                }
                _ => return Err(missing()),
            };
            let at = coerce(args.remove(1), &target)?;
            let zone = if *z == DataType::Interval {
                args.remove(0)
            } else {
                coerce(args.remove(0), &DataType::Text)?
            };
            call(name, vec![zone, at], result)
        }
        ("date_trunc", [unit, t, z])
            if unit.is_string()
                && z.is_string()
                && matches!(
                    t,
                    DataType::TimestampTz | DataType::Date | DataType::Unknown
                ) =>
        {
            let zone = coerce(args.remove(2), &DataType::Text)?;
            let at = coerce(args.remove(1), &DataType::TimestampTz)?;
            let unit = coerce(args.remove(0), &DataType::Text)?;
            call(name, vec![unit, at, zone], DataType::TimestampTz)
        }
        ("date_trunc", [unit, DataType::Date]) if unit.is_string() => {
            let unit = coerce(args.remove(0), &DataType::Text)?;
            let at = coerce(args.remove(0), &DataType::TimestampTz)?;
            call(name, vec![unit, at], DataType::TimestampTz)
        }
        ("date_part" | "date_trunc", [unit, t])
            if unit.is_string() && (is_time(t) || *t == DataType::Interval) =>
        {
            let unit = coerce(args.remove(0), &DataType::Text)?;
            let result = if name == "date_part" {
                DataType::Float8
            } else {
                t.clone()
            };
            call(name, vec![unit, args.remove(0)], result)
        }
        ("age", [a, b]) if is_time(a) && (is_time(b) || *b == DataType::Unknown) => {
            let target = if is_time(b) && a != b {
                DataType::TimestampTz
            } else {
                a.clone()
            };
            let b = coerce(args.remove(1), &target)?;
            let a = coerce(args.remove(0), &target)?;
            call("age", vec![a, b], DataType::Interval)
        }
        ("age", [a]) if is_time(a) => {
            // age(x) is age(current_date, x): today's midnight in the session zone (UTC).
            let now = call("now", vec![], DataType::TimestampTz)?;
            let unit = Expr::Const(Value::Text("day".into()), DataType::Text);
            let today = call("date_trunc", vec![unit, now], DataType::TimestampTz)?;
            let today = Expr::Cast(Box::new(today), a.clone());
            call("age", vec![today, args.remove(0)], DataType::Interval)
        }
        _ => Err(missing()),
    }
}

/// `make_interval(years, months, weeks, days, hours, mins, secs)`, by position or name.
pub fn bind_make_interval(args: Vec<(Option<String>, Expr)>) -> Result<Expr> {
    const PARAMS: [&str; 7] = ["years", "months", "weeks", "days", "hours", "mins", "secs"];
    let mut bound: Vec<Expr> = PARAMS
        .iter()
        .map(|p| {
            let zero = if *p == "secs" {
                Value::Float8(0.0)
            } else {
                Value::Int4(0)
            };
            let t = if *p == "secs" {
                DataType::Float8
            } else {
                DataType::Int4
            };
            Expr::Const(zero, t)
        })
        .collect();
    let mut types = Vec::new();
    for (name, arg) in &args {
        let t = arg.data_type().base_name();
        types.push(match name {
            Some(name) => format!("{name} => {t}"),
            None => t,
        });
    }
    for (position, (name, arg)) in args.into_iter().enumerate() {
        let index = match &name {
            Some(name) => PARAMS.iter().position(|p| p == name),
            None => (position < PARAMS.len()).then_some(position),
        };
        let names: Vec<&str> = types.iter().map(String::as_str).collect();
        let Some(index) = index else {
            return Err(no_function("make_interval", &names));
        };
        let target = if index == 6 {
            DataType::Float8
        } else {
            DataType::Int4
        };
        let t = arg.data_type();
        let fits = t == DataType::Unknown
            || (index == 6 && t.is_numeric())
            || matches!(t, DataType::Int2 | DataType::Int4);
        if !fits {
            return Err(no_function("make_interval", &names));
        }
        bound[index] = coerce(arg, &target)?;
    }
    call("make_interval", bound, DataType::Interval)
}

/// `make_interval`'s arguments from the parser: positional or `name => value`.
pub fn bind_make_interval_args(
    arguments: &sqlparser::ast::FunctionArguments,
    bind: &mut dyn FnMut(&sqlparser::ast::Expr) -> Result<Expr>,
) -> Result<Expr> {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    let mut args = Vec::new();
    if let FunctionArguments::List(list) = arguments {
        for arg in &list.args {
            let (name, value) = match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => (None, e),
                FunctionArg::Named {
                    name,
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => (Some(super::bind::ident_name(name)), e),
                FunctionArg::ExprNamed {
                    name: sqlparser::ast::Expr::Identifier(name),
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => (Some(super::bind::ident_name(name)), e),
                _ => {
                    return Err(DbError::feature_not_supported(
                        "this form of function argument is not supported by pgplay",
                    ))
                }
            };
            args.push((name, bind(value)?));
        }
    }
    bind_make_interval(args)
}

/// Evaluates a call bound here; None when `name` is not one of this module's.
pub fn eval(name: &str, args: &[Value]) -> Option<Result<Value>> {
    let known = matches!(
        name,
        "timestamp_mi"
            | "timestamp_precision"
            | "timestamp_pl_interval"
            | "timestamp_mi_interval"
            | "interval_pl"
            | "interval_mi"
            | "interval_um"
            | "interval_mul"
            | "interval_div"
            | "extract"
            | "extract_date"
            | "make_interval"
            | "date_pli"
            | "date_mii"
            | "date_mi"
            | "time_mi_time"
            | "time_pl_interval"
            | "time_mi_interval"
            | "date_pl_time"
            | "extract_time"
    ) || is_function(name);
    if !known {
        return None;
    }
    if args.iter().any(Value::is_null) {
        return Some(Ok(Value::Null));
    }
    Some(eval_known(name, args))
}

fn eval_known(name: &str, args: &[Value]) -> Result<Value> {
    let interval = |i: usize| match args.get(i) {
        Some(Value::Interval(v)) => Ok(*v),
        _ => Err(DbError::internal(format!(
            "{name}: argument {i} is not an interval"
        ))),
    };
    let float = |i: usize| args.get(i).and_then(Value::as_f64).unwrap_or(0.0);
    let text = |i: usize| args.get(i).and_then(Value::to_text).unwrap_or_default();
    Ok(match name {
        "timestamp_precision" => with_micros(
            &args[0],
            crate::types::round_timestamp(micros(&args[0]), args[1].as_i64().unwrap_or(6) as u64),
        ),
        "timestamp_mi" => {
            let (a, b) = (micros(&args[0]), micros(&args[1]));
            if !crate::types::is_finite_timestamp(a) || !crate::types::is_finite_timestamp(b) {
                return Err(DbError::new(
                    code::DATETIME_FIELD_OVERFLOW,
                    "cannot subtract infinite timestamps",
                ));
            }
            let span = a.checked_sub(b).ok_or_else(interval::out_of_range)?;
            Value::Interval(Interval::from_micros(span).justify_hours()?)
        }
        "timestamp_pl_interval" => with_micros(&args[0], add_to(&args[0], &interval(1)?)?),
        "timestamp_mi_interval" => {
            let negated = interval(1)?.checked_neg()?;
            with_micros(&args[0], add_to(&args[0], &negated)?)
        }
        "interval_pl" => Value::Interval(interval(0)?.checked_add(&interval(1)?)?),
        "interval_mi" => Value::Interval(interval(0)?.checked_sub(&interval(1)?)?),
        "interval_um" => Value::Interval(interval(0)?.checked_neg()?),
        "interval_mul" => Value::Interval(interval(0)?.mul(float(1))?),
        "interval_div" => Value::Interval(interval(0)?.div(float(1))?),
        "justify_hours" => Value::Interval(interval(0)?.justify_hours()?),
        "justify_days" => Value::Interval(interval(0)?.justify_days()?),
        "justify_interval" => Value::Interval(interval(0)?.justify_interval()?),
        "make_interval" => make_interval(args)?,
        "extract" => Value::Numeric(extract(&text(0), &args[1])?),
        "extract_date" => extract_date(&text(0), &args[1])?.map_or(Value::Null, Value::Numeric),
        "date_pli" | "date_mii" | "date_mi" => date_arith(name, &args[0], &args[1])?,
        "time_mi_time" | "time_pl_interval" | "time_mi_interval" | "date_pl_time" => {
            time_of_day_arith(name, &args[0], &args[1])?
        }
        "extract_time" => Value::Numeric(extract_time(&text(0), &args[1])?),
        "make_time" => make_time(&args[0], &args[1], float(2))?,
        "date_part" => {
            let number = extract(&text(0), &args[1])?;
            Value::Float8(number.to_f64())
        }
        "date_trunc" if args.len() == 3 => {
            let zone = zone::named(&text(2))?;
            date_trunc(&text(0), &args[1], &zone)?
        }
        "date_trunc" => date_trunc(&text(0), &args[1], &zone::session_zone())?,
        "to_char" => to_char(&args[0], &text(1))?,
        "age" => Value::Interval(age(local(&args[0]), local(&args[1]))?),
        "timezone" => at_time_zone(&args[0], &args[1])?,
        _ => {
            return Err(DbError::internal(format!(
                "{name} is not a date/time function"
            )))
        }
    })
}

/// `to_char(timestamp|timestamptz, text)`: a timestamptz in the session's zone.
fn to_char(value: &Value, template: &str) -> Result<Value> {
    if !crate::types::is_finite_timestamp(micros(value)) {
        return Ok(Value::Null);
    }
    let zone_type = match value {
        Value::TimestampTz(utc) => Some(zone::session_zone().local_type(*utc)),
        _ => None,
    };
    let info = zone_type.as_ref().map(|t| (t.offset, t.abbrev.as_str()));
    let time = to_datetime(local(value))?;
    Ok(Value::Text(super::to_char::format(time, template, info)?))
}

/// `timestamp AT TIME ZONE zone` (the zone's local time taken as UTC: a timestamptz) and
/// `timestamptz AT TIME ZONE zone` (the wall-clock time there: a timestamp). The zone is a
/// name, an abbreviation, a POSIX string or an interval (hours east of UTC).
fn at_time_zone(zone_value: &Value, at: &Value) -> Result<Value> {
    let zone = match zone_value {
        Value::Interval(span) => {
            if span.months != 0 || span.days != 0 {
                return Err(DbError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!(
                        "interval time zone \"{}\" must not include months or days",
                        interval::format(span)
                    ),
                ));
            }
            let seconds = span.micros.div_euclid(1_000_000);
            zone::from_offset(seconds).ok_or_else(|| {
                DbError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("time zone \"{}\" not recognized", interval::format(span)),
                )
            })?
        }
        other => zone::named(&other.to_text().unwrap_or_default())?,
    };
    Ok(match at {
        Value::Timestamp(wall) => Value::TimestampTz(valid(zone.to_utc(*wall))?),
        _ => Value::Timestamp(valid(zone.to_local(micros(at)))?),
    })
}

/// A value's wall-clock micros: a timestamptz in the session's zone.
fn local(value: &Value) -> i64 {
    match value {
        Value::TimestampTz(utc) => zone::session_zone().to_local(*utc),
        other => micros(other),
    }
}

/// `value + span` for a timestamp or timestamptz (`generate_series`' step).
pub fn plus_interval(value: &Value, span: &Interval) -> Result<Value> {
    Ok(with_micros(value, add_to(value, span)?))
}

/// `timestamp(tz) + interval`: a timestamptz moves its months and days on the session zone's
/// calendar (a day across a DST change is 23 or 25 hours), then its time.
fn add_to(value: &Value, span: &Interval) -> Result<i64> {
    if !crate::types::is_finite_timestamp(micros(value)) {
        return Ok(micros(value));
    }
    let Value::TimestampTz(utc) = value else {
        return add_interval(micros(value), span);
    };
    let zone = zone::session_zone();
    let mut utc = *utc;
    for part in [
        Interval {
            days: 0,
            micros: 0,
            ..*span
        },
        Interval {
            months: 0,
            micros: 0,
            ..*span
        },
    ] {
        if part.months != 0 || part.days != 0 {
            let moved = add_interval(zone.to_local(utc), &part)?;
            utc = valid(zone.to_utc(moved))?;
        }
    }
    valid(
        utc.checked_add(span.micros)
            .ok_or_else(timestamp_out_of_range)?,
    )
}

/// `date + integer`, `date - integer`, `date - date`.
fn date_arith(name: &str, left: &Value, right: &Value) -> Result<Value> {
    use crate::types::date;
    let Value::Date(day) = left else {
        return Err(DbError::internal(format!("{name}: not a date")));
    };
    let finite = |d: i32| d != date::INFINITY && d != date::NEG_INFINITY;
    match (name, right) {
        ("date_mi", Value::Date(other)) => {
            if !finite(*day) || !finite(*other) {
                return Err(DbError::new(
                    code::DATETIME_FIELD_OVERFLOW,
                    "cannot subtract infinite dates",
                ));
            }
            Ok(Value::Int4(day - other))
        }
        _ if !finite(*day) => Ok(Value::Date(*day)),
        (_, other) => {
            let delta = other.as_i64().unwrap_or(0);
            let delta = if name == "date_mii" { -delta } else { delta };
            Ok(Value::Date(date::checked(i64::from(*day) + delta)?))
        }
    }
}

/// `date.c`'s arithmetic on `time`.
fn time_of_day_arith(name: &str, left: &Value, right: &Value) -> Result<Value> {
    use crate::types::time;
    Ok(match (name, left, right) {
        ("time_mi_time", Value::Time(a), Value::Time(b)) => {
            Value::Interval(Interval::from_micros(a - b))
        }
        ("time_pl_interval", Value::Time(t), Value::Interval(span)) => {
            Value::Time(time::plus_interval(*t, span))
        }
        ("time_mi_interval", Value::Time(t), Value::Interval(span)) => {
            Value::Time(time::plus_interval(*t, &span.checked_neg()?))
        }
        ("date_pl_time", Value::Date(day), Value::Time(t)) => {
            let midnight = crate::types::date::to_timestamp(*day)?;
            if !crate::types::is_finite_timestamp(midnight) {
                return Ok(Value::Timestamp(midnight));
            }
            Value::Timestamp(valid(midnight + t)?)
        }
        _ => return Err(DbError::internal(format!("{name}: bad arguments"))),
    })
}

/// `make_time(hour, min, sec)`, with `date.c`'s range check and message.
fn make_time(hour: &Value, minute: &Value, second: f64) -> Result<Value> {
    let (hour, minute) = (hour.as_i64().unwrap_or(0), minute.as_i64().unwrap_or(0));
    let out_of_range = hour < 0
        || !(0..=59).contains(&minute)
        || !(0.0..=60.0).contains(&second)
        || hour > 24
        || (hour == 24 && (minute > 0 || second > 0.0));
    if out_of_range {
        let seconds = crate::types::float::format_g(second, 6);
        let padded = if second.abs() < 10.0 && second >= 0.0 {
            format!("0{seconds}")
        } else {
            seconds
        };
        return Err(DbError::new(
            code::DATETIME_FIELD_OVERFLOW,
            format!("time field value out of range: {hour}:{minute:02}:{padded}"),
        ));
    }
    let micros = (hour * 60 + minute) * 60 * 1_000_000 + (second * 1e6).round_ties_even() as i64;
    Ok(Value::Time(micros))
}

/// `extract(field from time)`: the clock's fields and its seconds since midnight.
fn extract_time(name: &str, value: &Value) -> Result<Numeric> {
    const TYPE: &str = "time without time zone";
    let Value::Time(micros) = value else {
        return Err(DbError::internal("extract_time: not a time"));
    };
    let found = field(name).ok_or_else(|| unit_error_for(name, TYPE, false))?;
    let in_minute = i128::from(micros % interval::USECS_PER_MINUTE);
    Ok(match found {
        Field::Epoch => Numeric::from_scaled(i128::from(*micros), 6),
        Field::Unit(Unit::Microsecond) => Numeric::from_scaled(in_minute, 0),
        Field::Unit(Unit::Millisecond) => Numeric::from_scaled(in_minute, 3),
        Field::Unit(Unit::Second) => Numeric::from_scaled(in_minute, 6),
        Field::Unit(Unit::Minute) => num(micros / interval::USECS_PER_MINUTE % 60),
        Field::Unit(Unit::Hour) => num(micros / interval::USECS_PER_HOUR),
        _ => return Err(unit_error_for(name, TYPE, true)),
    })
}

/// `extract(field from date)`: a date's fields; its epoch and Julian day are whole numbers.
/// Of `infinity` and `-infinity` the fields that come and go (month, day, ...) are NULL, the
/// ever-growing ones (year, epoch, ...) an infinite numeric.
fn extract_date(name: &str, value: &Value) -> Result<Option<Numeric>> {
    let Value::Date(day) = value else {
        return Err(DbError::internal("extract_date: not a date"));
    };
    let found = field(name).ok_or_else(|| unit_error_for(name, "date", false))?;
    let time_of_day = matches!(
        found,
        Field::Timezone
            | Field::Unit(
                Unit::Microsecond | Unit::Millisecond | Unit::Second | Unit::Minute | Unit::Hour
            )
    );
    if time_of_day {
        return Err(unit_error_for(name, "date", true));
    }
    if *day == crate::types::date::INFINITY || *day == crate::types::date::NEG_INFINITY {
        return match found {
            Field::Unit(Unit::Day | Unit::Month | Unit::Week)
            | Field::Quarter
            | Field::Dow
            | Field::IsoDow
            | Field::Doy => Ok(None),
            _ if *day == crate::types::date::INFINITY => Ok(Some(Numeric::Infinity)),
            _ => Ok(Some(Numeric::NegInfinity)),
        };
    }
    let micros = crate::types::date::to_timestamp(*day)?;
    let number = extract_timestamp(found, micros)?.unwrap_or_else(Numeric::zero);
    Ok(Some(number.round_to(0, true)?))
}

fn micros(value: &Value) -> i64 {
    match value {
        Value::Timestamp(v) | Value::TimestampTz(v) => *v,
        _ => 0,
    }
}

fn with_micros(like: &Value, micros: i64) -> Value {
    match like {
        Value::Timestamp(_) => Value::Timestamp(micros),
        _ => Value::TimestampTz(micros),
    }
}

fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

fn to_datetime(micros: i64) -> Result<NaiveDateTime> {
    epoch()
        .checked_add_signed(Duration::microseconds(micros))
        .ok_or_else(timestamp_out_of_range)
}

fn from_datetime(time: NaiveDateTime) -> Result<i64> {
    let micros = (time - epoch())
        .num_microseconds()
        .ok_or_else(timestamp_out_of_range)?;
    valid(micros)
}

fn valid(micros: i64) -> Result<i64> {
    if (MIN_TIMESTAMP..END_TIMESTAMP).contains(&micros) {
        Ok(micros)
    } else {
        Err(timestamp_out_of_range())
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day())
}

/// timestamp_pl_interval: months on the calendar (clamped to the month's end), then days,
/// then the time.
pub fn add_interval(micros: i64, span: &Interval) -> Result<i64> {
    let mut time = to_datetime(micros)?;
    if span.months != 0 {
        let total = i64::from(time.year()) * 12 + i64::from(time.month0()) + i64::from(span.months);
        let year = i32::try_from(total.div_euclid(12)).map_err(|_| timestamp_out_of_range())?;
        let month = total.rem_euclid(12) as u32 + 1;
        let day = time.day().min(days_in_month(year, month));
        let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(timestamp_out_of_range)?;
        time = date.and_time(time.time());
    }
    if span.days != 0 {
        time = time
            .checked_add_signed(Duration::days(i64::from(span.days)))
            .ok_or_else(timestamp_out_of_range)?;
    }
    let moved = from_datetime(time)?;
    valid(
        moved
            .checked_add(span.micros)
            .ok_or_else(timestamp_out_of_range)?,
    )
}

/// timestamp_age: the symbolic difference field by field, borrowing as a calendar does.
fn age(later: i64, earlier: i64) -> Result<Interval> {
    let (t1, t2) = (to_datetime(later)?, to_datetime(earlier)?);
    let field = |t: &NaiveDateTime| {
        [
            i64::from(t.year()),
            i64::from(t.month()),
            i64::from(t.day()),
            i64::from(t.hour()),
            i64::from(t.minute()),
            i64::from(t.second()),
            i64::from(t.nanosecond() / 1000),
        ]
    };
    let (f1, f2) = (field(&t1), field(&t2));
    let flip = later < earlier;
    let mut d: Vec<i64> = f1
        .iter()
        .zip(&f2)
        .map(|(a, b)| if flip { b - a } else { a - b })
        .collect();
    // [year, month, day, hour, minute, second, microsecond]
    let carry = [(6, 1_000_000), (5, 60), (4, 60), (3, 24)];
    for (index, base) in carry {
        while d[index] < 0 {
            d[index] += base;
            d[index - 1] -= 1;
        }
    }
    let reference = if flip { &t1 } else { &t2 };
    while d[2] < 0 {
        d[2] += i64::from(days_in_month(reference.year(), reference.month()));
        d[1] -= 1;
    }
    while d[1] < 0 {
        d[1] += 12;
        d[0] -= 1;
    }
    let sign = if flip { -1 } else { 1 };
    let months = i32::try_from(sign * (d[0] * 12 + d[1])).map_err(|_| interval::out_of_range())?;
    let days = i32::try_from(sign * d[2]).map_err(|_| interval::out_of_range())?;
    let micros = sign * (((d[3] * 60 + d[4]) * 60 + d[5]) * 1_000_000 + d[6]);
    Ok(Interval {
        months,
        days,
        micros,
    })
}

fn make_interval(args: &[Value]) -> Result<Value> {
    let int = |i: usize| args.get(i).and_then(Value::as_i64).unwrap_or(0) as i32;
    let secs = args.get(6).and_then(Value::as_f64).unwrap_or(0.0);
    if !secs.is_finite() {
        return Err(interval::out_of_range());
    }
    let secs = (secs * 1e6).round_ties_even();
    // PostgreSQL 15 wraps years * 12 + months and weeks * 7 + days without a check.
    let months = int(0).wrapping_mul(12).wrapping_add(int(1));
    let days = int(2).wrapping_mul(7).wrapping_add(int(3));
    let micros = i64::from(int(4))
        .wrapping_mul(interval::USECS_PER_HOUR)
        .wrapping_add(i64::from(int(5)).wrapping_mul(interval::USECS_PER_MINUTE))
        .wrapping_add(secs as i64);
    Ok(Value::Interval(Interval {
        months,
        days,
        micros,
    }))
}

// ----- extract / date_part / date_trunc --------------------------------------

/// A field name as `extract`, `date_part` and `date_trunc` read it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    Unit(Unit),
    Quarter,
    Epoch,
    Dow,
    IsoDow,
    Doy,
    IsoYear,
    Julian,
    Timezone,
}

fn field(name: &str) -> Option<Field> {
    let lower = name.to_ascii_lowercase();
    if let Some(UnitWord::Unit(unit)) = unit_word(&lower) {
        return Some(Field::Unit(unit));
    }
    Some(match lower.as_str() {
        "qtr" | "quarter" => Field::Quarter,
        "epoch" => Field::Epoch,
        "dow" => Field::Dow,
        "isodow" => Field::IsoDow,
        "doy" => Field::Doy,
        "isoyear" => Field::IsoYear,
        "julian" | "j" => Field::Julian,
        "timezone" | "timezone_h" | "timezone_m" | "timezone_hour" | "timezone_minute" => {
            Field::Timezone
        }
        _ => return None,
    })
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Timestamp(_) => "timestamp without time zone",
        Value::TimestampTz(_) => "timestamp with time zone",
        _ => "interval",
    }
}

fn unit_error(name: &str, value: &Value, recognized: bool) -> DbError {
    unit_error_for(name, type_name(value), recognized)
}

fn unit_error_for(name: &str, type_name: &str, recognized: bool) -> DbError {
    let lower = name.to_ascii_lowercase();
    if recognized {
        DbError::new(
            code::FEATURE_NOT_SUPPORTED,
            format!("unit \"{lower}\" not supported for type {type_name}"),
        )
    } else {
        DbError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("unit \"{lower}\" not recognized for type {type_name}"),
        )
    }
}

/// An integer field as numeric.
fn num(value: impl Into<i64>) -> Numeric {
    Numeric::from_i128(i128::from(value.into()))
}

/// `extract(field from value)` as numeric with PostgreSQL's scales.
fn extract(name: &str, value: &Value) -> Result<Numeric> {
    let found = field(name).ok_or_else(|| unit_error(name, value, false))?;
    match value {
        Value::Interval(span) => {
            extract_interval(found, span).ok_or_else(|| unit_error(name, value, true))
        }
        Value::TimestampTz(utc) => {
            let offset = zone::session_zone().offset_at(*utc);
            match name.to_ascii_lowercase().as_str() {
                "timezone" => return Ok(num(offset)),
                "timezone_h" | "timezone_hour" => return Ok(num(offset / 3600)),
                "timezone_m" | "timezone_minute" => return Ok(num(offset / 60 % 60)),
                _ => {}
            }
            let local = utc.saturating_add(i64::from(offset) * 1_000_000);
            let number = match found {
                Field::Epoch => extract_timestamp(found, *utc)?,
                _ => extract_timestamp(found, local)?,
            };
            number.ok_or_else(|| unit_error(name, value, true))
        }
        _ => extract_timestamp(found, micros(value))?.ok_or_else(|| unit_error(name, value, true)),
    }
}

fn extract_interval(found: Field, span: &Interval) -> Option<Numeric> {
    let years = span.months / 12;
    let seconds_part = i128::from(span.micros % interval::USECS_PER_MINUTE);
    Some(match found {
        Field::Epoch => Numeric::from_scaled(span.epoch_micros(), 6),
        Field::Unit(unit) => match unit {
            Unit::Microsecond => Numeric::from_scaled(seconds_part, 0),
            Unit::Millisecond => Numeric::from_scaled(seconds_part, 3),
            Unit::Second => Numeric::from_scaled(seconds_part, 6),
            Unit::Minute => num(span.micros / interval::USECS_PER_MINUTE % 60),
            Unit::Hour => num(span.micros / interval::USECS_PER_HOUR),
            Unit::Day => num(span.days),
            Unit::Month => num(span.months % 12),
            Unit::Year => num(years),
            Unit::Decade => num(years / 10),
            Unit::Century => num(years / 100),
            Unit::Millennium => num(years / 1000),
            Unit::Week => return None,
        },
        Field::Quarter => num((span.months % 12) / 3 + 1),
        _ => return None,
    })
}

fn extract_timestamp(found: Field, micros: i64) -> Result<Option<Numeric>> {
    let t = to_datetime(micros)?;
    let in_minute = i128::from(t.second()) * 1_000_000 + i128::from(t.nanosecond() / 1000);
    let year = i64::from(t.year());
    let positive_year = if year > 0 { year } else { year - 1 };
    Ok(Some(match found {
        Field::Epoch => Numeric::from_scaled(i128::from(micros) + 946_684_800_000_000, 6),
        Field::Unit(unit) => match unit {
            Unit::Microsecond => Numeric::from_scaled(in_minute, 0),
            Unit::Millisecond => Numeric::from_scaled(in_minute, 3),
            Unit::Second => Numeric::from_scaled(in_minute, 6),
            Unit::Minute => num(t.minute()),
            Unit::Hour => num(t.hour()),
            Unit::Day => num(t.day()),
            Unit::Week => num(t.iso_week().week()),
            Unit::Month => num(t.month()),
            Unit::Year => num(positive_year),
            Unit::Decade => num(year.div_euclid(10)),
            Unit::Century => num(if year > 0 {
                (year + 99) / 100
            } else {
                -((99 - (year - 1)) / 100)
            }),
            Unit::Millennium => num(if year > 0 {
                (year + 999) / 1000
            } else {
                -((999 - (year - 1)) / 1000)
            }),
        },
        Field::Quarter => num((t.month() - 1) / 3 + 1),
        Field::Dow => num(t.weekday().num_days_from_sunday()),
        Field::IsoDow => num(t.weekday().number_from_monday()),
        Field::Doy => num(t.ordinal()),
        Field::IsoYear => num(t.iso_week().year()),
        Field::Julian => {
            let day_micros = i128::from(micros.rem_euclid(USECS_PER_DAY));
            let days = i128::from(micros.div_euclid(USECS_PER_DAY)) + 2_451_545;
            let fraction = Numeric::from_i128(day_micros)
                .div(&Numeric::from_i128(i128::from(USECS_PER_DAY)))?;
            Numeric::from_i128(days).add(&fraction)?
        }
        Field::Timezone => return Ok(None),
    }))
}

/// `date_trunc(field, value [, zone])`: a timestamptz is truncated on `zone`'s wall clock;
/// from a day up the result is that zone's midnight, below it keeps the value's offset.
fn date_trunc(name: &str, value: &Value, zone: &zone::Zone) -> Result<Value> {
    let found = field(name).ok_or_else(|| unit_error(name, value, false))?;
    let infinite = matches!(value, Value::Timestamp(_) | Value::TimestampTz(_))
        && !crate::types::is_finite_timestamp(micros(value));
    if infinite {
        return Ok(value.clone());
    }
    match value {
        Value::Interval(span) => {
            trunc_interval(found, span)
                .map(Value::Interval)
                .ok_or_else(|| {
                    let error = unit_error(name, value, true);
                    if found == Field::Unit(Unit::Week) {
                        error.with_detail("Months usually have fractional weeks.")
                    } else {
                        error
                    }
                })
        }
        Value::TimestampTz(utc) => {
            let offset = i64::from(zone.offset_at(*utc)) * 1_000_000;
            let truncated = trunc_timestamp(found, utc.saturating_add(offset))?
                .ok_or_else(|| unit_error(name, value, true))?;
            let small = matches!(
                found,
                Field::Unit(
                    Unit::Hour
                        | Unit::Minute
                        | Unit::Second
                        | Unit::Millisecond
                        | Unit::Microsecond
                )
            );
            let back = if small {
                truncated - offset
            } else {
                zone.to_utc(truncated)
            };
            Ok(Value::TimestampTz(valid(back)?))
        }
        _ => {
            let truncated = trunc_timestamp(found, micros(value))?
                .ok_or_else(|| unit_error(name, value, true))?;
            Ok(with_micros(value, truncated))
        }
    }
}

fn trunc_interval(found: Field, span: &Interval) -> Option<Interval> {
    let Field::Unit(unit) = found else {
        return (found == Field::Quarter).then(|| Interval {
            months: span.months / 12 * 12 + (span.months % 12) / 3 * 3,
            days: 0,
            micros: 0,
        });
    };
    let keep = |modulus: i64| span.micros - span.micros % modulus;
    let years = span.months / 12 * 12;
    Some(match unit {
        Unit::Millennium => Interval {
            months: span.months / 12000 * 12000,
            ..Interval::ZERO
        },
        Unit::Century => Interval {
            months: span.months / 1200 * 1200,
            ..Interval::ZERO
        },
        Unit::Decade => Interval {
            months: span.months / 120 * 120,
            ..Interval::ZERO
        },
        Unit::Year => Interval {
            months: years,
            ..Interval::ZERO
        },
        Unit::Month => Interval {
            months: span.months,
            ..Interval::ZERO
        },
        Unit::Day => Interval { micros: 0, ..*span },
        Unit::Hour => Interval {
            micros: keep(interval::USECS_PER_HOUR),
            ..*span
        },
        Unit::Minute => Interval {
            micros: keep(interval::USECS_PER_MINUTE),
            ..*span
        },
        Unit::Second => Interval {
            micros: keep(interval::USECS_PER_SEC),
            ..*span
        },
        Unit::Millisecond => Interval {
            micros: keep(1000),
            ..*span
        },
        Unit::Microsecond => *span,
        Unit::Week => return None,
    })
}

fn trunc_timestamp(found: Field, micros: i64) -> Result<Option<i64>> {
    let t = to_datetime(micros)?;
    let date = t.date();
    let first_of = |year: i32, month: u32| NaiveDate::from_ymd_opt(year, month, 1);
    let floor_year = |step: i32, offset: i32| {
        let year = t.year();
        let start = (year - offset).div_euclid(step) * step + offset;
        first_of(start, 1)
    };
    let keep = |modulus: i64| Some(micros - micros.rem_euclid(modulus));
    let start_of_day = |d: Option<NaiveDate>| -> Result<Option<i64>> {
        match d.and_then(|d| d.and_hms_opt(0, 0, 0)) {
            Some(time) => from_datetime(time).map(Some),
            None => Err(timestamp_out_of_range()),
        }
    };
    let unit = match found {
        Field::Unit(unit) => unit,
        Field::Quarter => return start_of_day(first_of(t.year(), (t.month() - 1) / 3 * 3 + 1)),
        _ => return Ok(None),
    };
    match unit {
        Unit::Millennium => start_of_day(floor_year(1000, 1)),
        Unit::Century => start_of_day(floor_year(100, 1)),
        Unit::Decade => start_of_day(floor_year(10, 0)),
        Unit::Year => start_of_day(first_of(t.year(), 1)),
        Unit::Month => start_of_day(first_of(t.year(), t.month())),
        Unit::Week => start_of_day(date.checked_sub_signed(Duration::days(i64::from(
            t.weekday().num_days_from_monday(),
        )))),
        Unit::Day => start_of_day(Some(date)),
        Unit::Hour => Ok(keep(interval::USECS_PER_HOUR)),
        Unit::Minute => Ok(keep(interval::USECS_PER_MINUTE)),
        Unit::Second => Ok(keep(interval::USECS_PER_SEC)),
        Unit::Millisecond => Ok(keep(1000)),
        Unit::Microsecond => Ok(Some(micros)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_clamp_to_the_end_of_the_month() {
        let jan31 = crate::types::parse_text("2024-01-31 10:00", &DataType::Timestamp).unwrap();
        let month = interval::parse("1 mon").unwrap();
        let moved = add_interval(micros(&jan31), &month).unwrap();
        assert_eq!(crate::types::format_timestamp(moved), "2024-02-29 10:00:00");
        assert_eq!(
            add_interval(0, &interval::parse("300000 years").unwrap())
                .unwrap_err()
                .code,
            "22008"
        );
    }

    #[test]
    fn age_borrows_days_from_the_month() {
        let at =
            |text: &str| micros(&crate::types::parse_text(text, &DataType::Timestamp).unwrap());
        let span = age(at("2024-03-15 12:00"), at("2023-01-20 08:30")).unwrap();
        assert_eq!(interval::format(&span), "1 year 1 mon 26 days 03:30:00");
    }

    proptest::proptest! {
        #[test]
        fn calendar_functions_never_panic(
            at in MIN_TIMESTAMP..END_TIMESTAMP,
            other in proptest::prelude::any::<i64>(),
            months in proptest::prelude::any::<i32>(),
            days in proptest::prelude::any::<i32>(),
            micros in proptest::prelude::any::<i64>(),
            unit in proptest::sample::select(vec![
                "microseconds", "ms", "second", "minute", "hour", "day", "week", "month",
                "quarter", "year", "decade", "century", "millennium", "epoch", "dow", "isodow",
                "doy", "isoyear", "julian", "timezone", "fortnight",
            ]),
        ) {
            let span = Interval { months, days, micros };
            let _ = add_interval(at, &span);
            let _ = age(at, other);
            for value in [Value::Timestamp(at), Value::TimestampTz(at), Value::Interval(span)] {
                let _ = extract(unit, &value);
                let _ = date_trunc(unit, &value, &zone::Zone::utc());
            }
            // The same in a zone with DST, and the infinities.
            zone::with_session_zone("America/New_York", || {
                for value in [
                    Value::Timestamp(at),
                    Value::TimestampTz(at),
                    Value::TimestampTz(other),
                    Value::TimestampTz(i64::MAX),
                    Value::Timestamp(i64::MIN),
                ] {
                    let _ = extract(unit, &value);
                    let _ = date_trunc(unit, &value, &zone::session_zone());
                    let _ = add_to(&value, &span);
                    let _ = to_char(&value, "YYYY-MM-DD HH24:MI:SS TZ OF");
                    let _ = at_time_zone(&Value::Text("Asia/Kolkata".into()), &value);
                    let _ = at_time_zone(&Value::Interval(span), &value);
                    let _ = value.to_text();
                }
            });
            let _ = make_interval(&[
                Value::Int4(months), Value::Int4(days), Value::Int4(months), Value::Int4(days),
                Value::Int4(months), Value::Int4(days), Value::Float8(micros as f64),
            ]);
        }
    }
}
