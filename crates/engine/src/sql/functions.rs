//! Built-in functions: their argument checks and result types at bind time,
//! their evaluation at run time. System functions that need the server
//! (WAL positions, recovery state, settings) are answered by the [`Host`].

use super::expr::{coerce, Expr, Host};
use crate::error::{code, DbError, Result};
use crate::pg_proc::{self, Resolution};
use crate::types::{DataType, Numeric, Value};

/// Functions whose 9.x names were changed in PostgreSQL 10: (old, new).
const RENAMED_IN_10: &[(&str, &str)] = &[
    ("pg_current_xlog_location", "pg_current_wal_lsn"),
    (
        "pg_current_xlog_insert_location",
        "pg_current_wal_insert_lsn",
    ),
    ("pg_current_xlog_flush_location", "pg_current_wal_flush_lsn"),
    ("pg_last_xlog_receive_location", "pg_last_wal_receive_lsn"),
    ("pg_last_xlog_replay_location", "pg_last_wal_replay_lsn"),
    ("pg_xlogfile_name", "pg_walfile_name"),
    ("pg_xlogfile_name_offset", "pg_walfile_name_offset"),
    ("pg_xlog_location_diff", "pg_wal_lsn_diff"),
    ("pg_switch_xlog", "pg_switch_wal"),
    ("pg_is_xlog_replay_paused", "pg_is_wal_replay_paused"),
    ("pg_xlog_replay_pause", "pg_wal_replay_pause"),
    ("pg_xlog_replay_resume", "pg_wal_replay_resume"),
];

/// Functions removed later, with what to use instead.
const REMOVED: &[(&str, &str)] = &[
    (
        "pg_start_backup",
        "pg_backup_start() replaced it in PostgreSQL 15; pg_basebackup does all of it for you",
    ),
    (
        "pg_stop_backup",
        "pg_backup_stop() replaced it in PostgreSQL 15; pg_basebackup does all of it for you",
    ),
];

/// Server functions the host evaluates: name, argument types, result type.
const SYSTEM: &[(&str, &[DataType], DataType)] = &[
    ("pg_current_wal_lsn", &[], DataType::PgLsn),
    ("pg_current_wal_insert_lsn", &[], DataType::PgLsn),
    ("pg_current_wal_flush_lsn", &[], DataType::PgLsn),
    ("pg_last_wal_receive_lsn", &[], DataType::PgLsn),
    ("pg_last_wal_replay_lsn", &[], DataType::PgLsn),
    ("pg_last_xact_replay_timestamp", &[], DataType::TimestampTz),
    ("pg_is_in_recovery", &[], DataType::Bool),
    ("pg_switch_wal", &[], DataType::PgLsn),
    ("pg_walfile_name", &[DataType::PgLsn], DataType::Text),
    ("pg_reload_conf", &[], DataType::Bool),
    ("pg_promote", &[], DataType::Bool),
    ("pg_wal_replay_pause", &[], DataType::Text),
    ("pg_wal_replay_resume", &[], DataType::Text),
    ("pg_is_wal_replay_paused", &[], DataType::Bool),
    ("pg_get_wal_replay_pause_state", &[], DataType::Text),
    ("pg_sleep", &[DataType::Float8], DataType::Text),
    ("pg_stat_force_next_flush", &[], DataType::Text),
    ("pg_current_xact_id", &[], DataType::Int8),
    ("now", &[], DataType::TimestampTz),
    ("current_timestamp", &[], DataType::TimestampTz),
    ("localtimestamp", &[], DataType::Timestamp),
    ("statement_timestamp", &[], DataType::TimestampTz),
    ("transaction_timestamp", &[], DataType::TimestampTz),
    ("clock_timestamp", &[], DataType::TimestampTz),
    ("version", &[], DataType::Text),
    ("current_database", &[], DataType::Name),
    ("current_user", &[], DataType::Name),
    ("session_user", &[], DataType::Name),
    ("txid_current", &[], DataType::Int8),
    ("pg_backend_pid", &[], DataType::Int4),
    // integer[]: `bind_implemented` gives the array type, which a const table cannot hold.
    ("pg_blocking_pids", &[DataType::Int4], DataType::Int4),
    ("current_setting", &[DataType::Text], DataType::Text),
    ("nextval", &[DataType::Text], DataType::Int8),
    ("currval", &[DataType::Text], DataType::Int8),
    ("setval", &[DataType::Text, DataType::Int8], DataType::Int8),
    ("pg_postmaster_start_time", &[], DataType::TimestampTz),
    // Record-returning: a composite shown as `(a,b)` in a select list, a row in FROM.
    (
        "pg_create_physical_replication_slot",
        &[DataType::Name, DataType::Bool, DataType::Bool],
        DataType::Text,
    ),
    ("pg_walfile_name_offset", &[DataType::PgLsn], DataType::Text),
    (
        "pg_drop_replication_slot",
        &[DataType::Name],
        DataType::Text,
    ),
    ("pg_cancel_backend", &[DataType::Int4], DataType::Bool),
    (
        "pg_terminate_backend",
        &[DataType::Int4, DataType::Int8],
        DataType::Bool,
    ),
    ("gen_random_uuid", &[], DataType::Uuid),
    ("random", &[], DataType::Float8),
];

/// How many of a system function's parameters may be left out (they have defaults).
fn optional_params(name: &str) -> usize {
    match name {
        "pg_create_physical_replication_slot" => 2,
        "pg_terminate_backend" => 1,
        _ => 0,
    }
}

pub fn signature_text(name: &str, args: &[Expr]) -> String {
    let types: Vec<String> = args.iter().map(|a| a.data_type().base_name()).collect();
    format!("{name}({})", types.join(", "))
}

pub fn no_such_function(name: &str, args: &[Expr]) -> DbError {
    let error = DbError::new(
        code::UNDEFINED_FUNCTION,
        format!("function {} does not exist", signature_text(name, args)),
    );
    if let Some((_, new)) = RENAMED_IN_10.iter().find(|(old, _)| *old == name) {
        return error.with_hint(format!(
            "pgplay: {name}() is the PostgreSQL 9.x name; since PostgreSQL 10 it is called {new}() (\"xlog\" became \"wal\", \"location\" became \"lsn\")."
        ));
    }
    if let Some((_, note)) = REMOVED.iter().find(|(old, _)| *old == name) {
        return error.with_hint(format!("pgplay: {name}() no longer exists: {note}."));
    }
    error.with_hint(NO_MATCH_HINT)
}

/// Names that look like function calls but are SQL syntax in PostgreSQL (`GREATEST(...)`,
/// `CURRENT_TIMESTAMP`): they have no `pg_proc` row, and pgplay binds them itself.
pub const SQL_SYNTAX: &[&str] = &[
    "greatest",
    "least",
    "coalesce",
    "nullif",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "current_role",
    "current_catalog",
    "user",
];

/// The type an argument brings to overload resolution (an untyped literal is `unknown`).
pub fn input_oid(t: &DataType) -> u32 {
    match t {
        DataType::Unknown => pg_proc::UNKNOWN,
        other => other.oid(),
    }
}

/// Binds a scalar function call: PostgreSQL's catalog chooses the function (or says it does not
/// exist, or is not unique), the arguments take its declared types, then pgplay's
/// implementation binds it; a function pgplay does not implement answers 0A000.
pub fn bind_call(name: &str, args: Vec<Expr>) -> Result<Expr> {
    through_catalog(name, args, bind_implemented)
}

/// Looks `name(args)` up in PostgreSQL's catalog, then binds it with `bind`, which answers
/// 42883 for what pgplay does not implement.
pub fn through_catalog<T>(
    name: &str,
    args: Vec<Expr>,
    bind: impl FnOnce(&str, Vec<Expr>) -> Result<T>,
) -> Result<T> {
    if SQL_SYNTAX.contains(&name) {
        return bind(name, args);
    }
    let catalog = pg_proc::catalog();
    let inputs: Vec<u32> = args.iter().map(|a| input_oid(&a.data_type())).collect();
    let candidate = match catalog.resolve(name, &inputs) {
        Resolution::Found(candidate) => candidate,
        Resolution::NotFound => return Err(no_such_function(name, &args)),
        Resolution::Ambiguous => return Err(not_unique(name, &args)),
        Resolution::Coercion(target) => {
            return Err(DbError::feature_not_supported(format!(
                "type casts written as function calls ({name}(...)) are not supported by pgplay yet; write CAST(... AS {})",
                catalog.display(target)
            )))
        }
    };
    if candidate.proc.kind == pg_proc::Kind::Window {
        return Err(DbError::new(
            code::WRONG_OBJECT_TYPE,
            format!("window function {name} requires an OVER clause"),
        ));
    }
    let args = args
        .into_iter()
        .zip(&candidate.arg_types)
        .map(|(arg, declared)| to_declared(arg, *declared))
        .collect::<Result<Vec<_>>>()?;
    bind(name, args).map_err(|e| {
        if e.code == code::UNDEFINED_FUNCTION {
            not_implemented(&candidate)
        } else {
            e
        }
    })
}

/// 42725: more than one function fits equally well.
pub fn not_unique(name: &str, args: &[Expr]) -> DbError {
    DbError::new(
        code::AMBIGUOUS_FUNCTION,
        format!("function {} is not unique", signature_text(name, args)),
    )
    .with_hint(
        "Could not choose a best candidate function. You might need to add explicit type casts.",
    )
}

/// 0A000 for a function PostgreSQL has and pgplay does not implement.
pub fn not_implemented(candidate: &pg_proc::Candidate<'_>) -> DbError {
    DbError::feature_not_supported(format!(
        "function {} is not supported by pgplay yet",
        candidate.signature(pg_proc::catalog())
    ))
}

/// An argument given the type its function declares, when pgplay has that type and the
/// argument is an untyped literal or casts to it (polymorphic and unknown-to-pgplay types stay).
fn to_declared(arg: Expr, declared: u32) -> Result<Expr> {
    let source = arg.data_type();
    if input_oid(&source) == declared {
        return Ok(arg);
    }
    match DataType::from_oid(declared, -1) {
        Some(target) if source == DataType::Unknown || crate::types::castable(&source, &target) => {
            coerce(arg, &target)
        }
        _ => Ok(arg),
    }
}

const NO_MATCH_HINT: &str =
    "No function matches the given name and argument types. You might need to add explicit type casts.";

/// pgplay's own binding of the functions it implements.
fn bind_implemented(name: &str, args: Vec<Expr>) -> Result<Expr> {
    if let Some((_, params, result)) = SYSTEM.iter().find(|(n, _, _)| *n == name) {
        let result = match name {
            "pg_blocking_pids" => DataType::Int4.array_of(),
            _ => result.clone(),
        };
        return bind_fixed(name, args, params, result);
    }
    if super::datetime::is_function(name) {
        return super::datetime::bind_call(name, args);
    }
    if name == "pg_size_pretty" {
        return super::admin::bind_size_pretty(args);
    }
    if super::arrays::is_function(name) {
        return super::arrays::bind_call(name, args);
    }
    if let Some(bound) = super::bytea::bind_call(name, &args) {
        return bound;
    }
    if super::json::is_function(name) {
        return super::json::bind_call(name, args);
    }
    let first = args.first().map(Expr::data_type);
    let call = |args: Vec<Expr>, data_type: DataType| {
        Ok(Expr::Call {
            name: name.to_string(),
            args,
            data_type,
        })
    };
    match (name, args.len()) {
        ("repeat", 2) => {
            let mut args = args;
            let count = coerce(args.pop().expect("two"), &DataType::Int4)?;
            let text = coerce(args.pop().expect("two"), &DataType::Text)?;
            call(vec![text, count], DataType::Text)
        }
        ("replace", 3) => call(coerce_all(args, &DataType::Text)?, DataType::Text),
        ("lower" | "upper" | "btrim" | "ltrim" | "rtrim" | "md5", 1)
            if first.as_ref().is_some_and(DataType::is_string) =>
        {
            call(coerce_all(args, &DataType::Text)?, DataType::Text)
        }
        ("length" | "char_length" | "character_length" | "octet_length", 1)
            if first.as_ref().is_some_and(DataType::is_string) =>
        {
            call(coerce_all(args, &DataType::Text)?, DataType::Int4)
        }
        ("abs", 1) if first.as_ref().is_some_and(DataType::is_numeric) => {
            let t = first.unwrap_or(DataType::Int4).without_modifier();
            call(args, t)
        }
        ("round" | "trunc" | "ceil" | "ceiling" | "floor", 1 | 2)
            if first
                .as_ref()
                .is_some_and(|t| t.is_numeric() || *t == DataType::Unknown) =>
        {
            let result = if first == Some(DataType::Float8) && args.len() == 1 {
                DataType::Float8
            } else {
                DataType::NUMERIC
            };
            let mut args = args;
            let rest = args.split_off(1);
            let mut bound = vec![coerce(args.remove(0), &result)?];
            for extra in rest {
                bound.push(coerce(extra, &DataType::Int4)?);
            }
            call(bound, result)
        }
        ("sqrt" | "exp" | "ln" | "log" | "log10" | "sign", 1) | ("power" | "pow", 2)
            if matches!(first, Some(DataType::Float8 | DataType::Numeric { .. })) =>
        {
            let t = first.unwrap_or(DataType::Float8).without_modifier();
            call(coerce_all(args, &t)?, t)
        }
        ("log" | "div", 2) if matches!(first, Some(DataType::Numeric { .. })) => {
            call(coerce_all(args, &DataType::NUMERIC)?, DataType::NUMERIC)
        }
        ("mod", 2)
            if matches!(
                first,
                Some(DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Numeric { .. })
            ) =>
        {
            let t = args
                .iter()
                .map(Expr::data_type)
                .try_fold(DataType::Unknown, |acc, t| super::expr::unify(&acc, &t))
                .ok_or_else(|| no_such_function(name, &args))?;
            call(coerce_all(args, &t)?, t)
        }
        ("scale" | "min_scale" | "trim_scale", 1)
            if matches!(first, Some(DataType::Numeric { .. })) =>
        {
            let t = if name == "trim_scale" {
                DataType::NUMERIC
            } else {
                DataType::Int4
            };
            call(coerce_all(args, &DataType::NUMERIC)?, t)
        }
        ("concat", _) => call(args, DataType::Text),
        ("substr" | "substring", 2 | 3) if first.as_ref().is_some_and(DataType::is_string) => {
            let mut args = args;
            let rest = args.split_off(1);
            let mut bound = vec![coerce(args.remove(0), &DataType::Text)?];
            for extra in rest {
                bound.push(coerce(extra, &DataType::Int4)?);
            }
            call(bound, DataType::Text)
        }
        ("pg_wal_lsn_diff", 2) => {
            let args = coerce_all(args, &DataType::PgLsn)?;
            Ok(Expr::LsnDiff(
                Box::new(args[0].clone()),
                Box::new(args[1].clone()),
            ))
        }
        ("format_type", 2) => call(args, DataType::Text),
        ("pg_typeof", 1) => {
            let t = first.unwrap_or(DataType::Unknown);
            Ok(Expr::Const(Value::Text(t.base_name()), DataType::Text))
        }
        ("greatest" | "least", n) if n > 0 => {
            let t = args
                .iter()
                .map(Expr::data_type)
                .try_fold(DataType::Unknown, |acc, t| super::expr::unify(&acc, &t));
            let t = t.ok_or_else(|| no_such_function(name, &args))?;
            call(coerce_all(args, &t)?, t)
        }
        _ => Err(no_such_function(name, &args)),
    }
}

fn coerce_all(args: Vec<Expr>, target: &DataType) -> Result<Vec<Expr>> {
    args.into_iter().map(|a| coerce(a, target)).collect()
}

fn bind_fixed(name: &str, args: Vec<Expr>, params: &[DataType], result: DataType) -> Result<Expr> {
    let optional_bool = matches!(name, "pg_promote");
    let fewest = params.len() - optional_params(name);
    let arity_ok = (fewest..=params.len()).contains(&args.len());
    if !arity_ok && !(optional_bool && args.len() <= 2) {
        return Err(no_such_function(name, &args));
    }
    let mut bound = Vec::new();
    for (arg, param) in args.iter().zip(params) {
        let t = arg.data_type();
        let accepted = t == *param
            || t == DataType::Unknown
            || (param.is_string() && t.is_string())
            || (param.is_numeric() && t.is_numeric());
        if !accepted {
            return Err(no_such_function(name, &args));
        }
        bound.push(coerce(arg.clone(), param)?);
    }
    if optional_bool {
        bound = args;
    }
    Ok(Expr::Call {
        name: name.to_string(),
        args: bound,
        data_type: result,
    })
}

/// Evaluates a scalar function.
pub fn call(name: &str, args: &[Value], host: &mut dyn Host) -> Result<Value> {
    if SYSTEM.iter().any(|(n, _, _)| *n == name) {
        return host.call(name, args);
    }
    if let Some(value) = super::datetime::eval(name, args)
        .or_else(|| super::admin::eval(name, args))
        .or_else(|| super::arrays::eval(name, args))
        .or_else(|| super::bytea::eval(name, args))
        .or_else(|| super::json::eval(name, args))
    {
        return value;
    }
    if name == "format_type" {
        return Ok(format_type(args));
    }
    if name != "concat" && args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let text = |i: usize| args.get(i).and_then(Value::to_text).unwrap_or_default();
    Ok(match name {
        "lower" => Value::Text(text(0).to_lowercase()),
        "upper" => Value::Text(text(0).to_uppercase()),
        "btrim" => Value::Text(text(0).trim_matches(' ').to_string()),
        "ltrim" => Value::Text(text(0).trim_start_matches(' ').to_string()),
        "rtrim" => Value::Text(text(0).trim_end_matches(' ').to_string()),
        "length" | "char_length" | "character_length" => {
            Value::Int4(text(0).chars().count() as i32)
        }
        "octet_length" => Value::Int4(text(0).len() as i32),
        "md5" => Value::Text(super::bytea::md5_hex(text(0).as_bytes())),
        "concat" => Value::Text(args.iter().filter_map(Value::to_text).collect()),
        "repeat" => repeat(&text(0), args[1].as_i64().unwrap_or(0))?,
        "replace" => {
            let from = text(1);
            if from.is_empty() {
                Value::Text(text(0))
            } else {
                Value::Text(text(0).replace(&from, &text(2)))
            }
        }
        "pg_lsn_pli" | "pg_lsn_mii" => {
            let (Value::PgLsn(lsn), Some(delta)) = (&args[0], args[1].as_numeric()) else {
                return Ok(Value::Null);
            };
            if delta.is_nan() {
                return Err(DbError::new(
                    code::NUMERIC_VALUE_OUT_OF_RANGE,
                    if name == "pg_lsn_pli" {
                        "cannot add NaN to pg_lsn"
                    } else {
                        "cannot subtract NaN from pg_lsn"
                    },
                ));
            }
            let delta = delta.to_i128_rounded().unwrap_or(i128::MAX);
            let result = if name == "pg_lsn_pli" {
                lsn.0 as i128 + delta
            } else {
                lsn.0 as i128 - delta
            };
            let result = u64::try_from(result)
                .map_err(|_| DbError::new(code::INVALID_PARAMETER_VALUE, "pg_lsn out of range"))?;
            Value::PgLsn(pgplay_wal::Lsn(result))
        }
        "abs" => match &args[0] {
            Value::Int2(v) => Value::Int2(
                v.checked_abs()
                    .ok_or_else(|| DbError::out_of_range("smallint"))?,
            ),
            Value::Int4(v) => Value::Int4(
                v.checked_abs()
                    .ok_or_else(|| DbError::out_of_range("integer"))?,
            ),
            Value::Int8(v) => Value::Int8(
                v.checked_abs()
                    .ok_or_else(|| DbError::out_of_range("bigint"))?,
            ),
            Value::Float8(v) => Value::Float8(v.abs()),
            Value::Float4(v) => Value::Float4(v.abs()),
            other => Value::Numeric(other.as_numeric().unwrap_or_else(Numeric::zero).abs()),
        },
        "round" | "trunc" | "ceil" | "ceiling" | "floor" => round_like(name, args)?,
        "sqrt" | "exp" | "ln" | "log" | "log10" | "sign" | "power" | "pow" | "mod" | "div"
        | "scale" | "min_scale" | "trim_scale" => math(name, args)?,
        "substr" | "substring" => {
            let chars: Vec<char> = text(0).chars().collect();
            let start = args[1].as_i64().unwrap_or(1);
            let length = args.get(2).and_then(Value::as_i64);
            if length.is_some_and(|l| l < 0) {
                return Err(DbError::new(
                    "22011",
                    "negative substring length not allowed",
                ));
            }
            let end = length.map(|l| start + l).unwrap_or(i64::MAX);
            let (from, to) = (start.max(1) - 1, end.max(1) - 1);
            Value::Text(
                chars
                    .iter()
                    .skip(from as usize)
                    .take(to.saturating_sub(from) as usize)
                    .collect(),
            )
        }
        "greatest" => args
            .iter()
            .cloned()
            .max_by(crate::types::compare)
            .unwrap_or(Value::Null),
        "least" => args
            .iter()
            .cloned()
            .min_by(crate::types::compare)
            .unwrap_or(Value::Null),
        _ => {
            return Err(DbError::internal(format!(
                "function {name} has no implementation"
            )))
        }
    })
}

/// `format_type(oid, typmod)`: the type's SQL name (`integer[]`, `numeric(5,2)`), from
/// PostgreSQL's catalog for the types pgplay lacks; `???` for an unknown oid, as PostgreSQL.
fn format_type(args: &[Value]) -> Value {
    let Some(oid) = args.first().and_then(Value::as_i64) else {
        return Value::Null;
    };
    let typmod = args.get(1).and_then(Value::as_i64).unwrap_or(-1) as i32;
    let oid = oid as u32;
    let name = match DataType::from_oid(oid, typmod) {
        Some(t) => t.name(),
        None => pg_proc::catalog().display(oid).to_string(),
    };
    Value::Text(name)
}

fn round_like(name: &str, args: &[Value]) -> Result<Value> {
    if let Value::Float8(v) = args[0] {
        return Ok(Value::Float8(match name {
            // rint(): halves go to the even neighbour, as PostgreSQL's float8 round does.
            "round" => v.round_ties_even(),
            "trunc" => v.trunc(),
            "ceil" | "ceiling" => v.ceil(),
            _ => v.floor(),
        }));
    }
    let number = args[0].as_numeric().unwrap_or_else(Numeric::zero);
    let places = args.get(1).and_then(Value::as_i64).unwrap_or(0);
    Ok(Value::Numeric(match name {
        "round" => number.round_to(places, false)?,
        "trunc" => number.round_to(places, true)?,
        "ceil" | "ceiling" => number.ceil()?,
        _ => number.floor()?,
    }))
}

/// The mathematical functions of numeric and double precision (and mod of the integers).
fn math(name: &str, args: &[Value]) -> Result<Value> {
    if let Value::Float8(x) = args[0] {
        return float_math(name, x, args.get(1).and_then(Value::as_f64));
    }
    if name == "mod" && !matches!(args[0], Value::Numeric(_)) {
        let t = match &args[0] {
            Value::Int2(_) => DataType::Int2,
            Value::Int4(_) => DataType::Int4,
            _ => DataType::Int8,
        };
        return super::expr::arith(super::expr::Arith::Mod, &args[0], &args[1], &t);
    }
    let x = args[0].as_numeric().unwrap_or_else(Numeric::zero);
    let y = || {
        args.get(1)
            .and_then(Value::as_numeric)
            .unwrap_or_else(Numeric::zero)
    };
    let ten = || Numeric::from_i128(10);
    Ok(match name {
        "scale" => return Ok(x.scale().map_or(Value::Null, |s| Value::Int4(s as i32))),
        "min_scale" => return Ok(x.min_scale().map_or(Value::Null, |s| Value::Int4(s as i32))),
        "trim_scale" => Value::Numeric(x.trim_scale()),
        "sqrt" => Value::Numeric(x.sqrt()?),
        "exp" => Value::Numeric(x.exp()?),
        "ln" => Value::Numeric(x.ln()?),
        "log" if args.len() == 2 => Value::Numeric(Numeric::log(&x, &y())?),
        "log" | "log10" => Value::Numeric(Numeric::log(&ten(), &x)?),
        "sign" => Value::Numeric(x.sign()),
        "power" | "pow" => Value::Numeric(x.power(&y())?),
        "mod" => Value::Numeric(x.rem(&y())?),
        _ => Value::Numeric(x.div_trunc(&y())?),
    })
}

/// float8's versions, with PostgreSQL's errors for what has no real answer.
fn float_math(name: &str, x: f64, y: Option<f64>) -> Result<Value> {
    let y = y.unwrap_or(0.0);
    let out_of_range = |what: &str| {
        DbError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value out of range: {what}"),
        )
    };
    let log_of = |x: f64| {
        if x == 0.0 {
            Err(DbError::new("2201E", "cannot take logarithm of zero"))
        } else if x < 0.0 {
            Err(DbError::new(
                "2201E",
                "cannot take logarithm of a negative number",
            ))
        } else {
            Ok(x)
        }
    };
    let value = match name {
        "sqrt" if x < 0.0 => {
            return Err(DbError::new(
                "2201F",
                "cannot take square root of a negative number",
            ))
        }
        "sqrt" => x.sqrt(),
        "exp" => {
            let result = x.exp();
            if result.is_infinite() && x.is_finite() {
                return Err(out_of_range("overflow"));
            }
            if result == 0.0 && x.is_finite() {
                return Err(out_of_range("underflow"));
            }
            result
        }
        "ln" => log_of(x)?.ln(),
        "log" | "log10" => log_of(x)?.log10(),
        "sign" if x.is_nan() => x,
        "sign" => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        _ => {
            if x == 0.0 && y < 0.0 {
                return Err(DbError::new(
                    "2201F",
                    "zero raised to a negative power is undefined",
                ));
            }
            if x < 0.0 && y.is_finite() && y.floor() != y {
                return Err(DbError::new(
                    "2201F",
                    "a negative number raised to a non-integer power yields a complex result",
                ));
            }
            let result = x.powf(y);
            if result.is_infinite() && x.is_finite() && y.is_finite() {
                return Err(out_of_range("overflow"));
            }
            if result == 0.0 && x != 0.0 && x.is_finite() && y.is_finite() {
                return Err(out_of_range("underflow"));
            }
            result
        }
    };
    Ok(Value::Float8(value))
}

/// Columns of the replication views that older releases named differently,
/// with a hint naming today's column (PostgreSQL itself gives no hint).
pub fn renamed_column(name: &str) -> Option<String> {
    let (new, release) = match name {
        "procpid" => ("pid", "9.2"),
        "sent_location" => ("sent_lsn", "10"),
        "write_location" => ("write_lsn", "10"),
        "flush_location" => ("flush_lsn", "10"),
        "replay_location" => ("replay_lsn", "10"),
        "received_lsn" => ("flushed_lsn", "13"),
        _ => return None,
    };
    Some(format!(
        "pgplay: \"{name}\" is the name older PostgreSQL releases used; since PostgreSQL {release} the column is \"{new}\"."
    ))
}

/// The built-in functions of PostgreSQL 15 (by signature, plain functions only) that pgplay's
/// binder accepts with their declared argument types.
pub fn implemented() -> Vec<&'static pg_proc::Proc> {
    let catalog = pg_proc::catalog();
    catalog
        .functions()
        .iter()
        .filter(|p| p.kind == pg_proc::Kind::Function)
        .filter(|p| {
            let args: Option<Vec<Expr>> = p
                .args
                .iter()
                .map(|t| sample_type(*t).map(|t| Expr::Const(Value::Null, t)))
                .collect();
            args.is_some_and(|args| bind_call(p.name, args).is_ok())
        })
        .collect()
}

/// A type standing for a declared argument type: the type itself, or for a polymorphic one
/// an integer (array), so that `array_length(anyarray, integer)` is counted.
fn sample_type(oid: u32) -> Option<DataType> {
    match oid {
        2277 | 5078 => Some(DataType::Int4.array_of()),
        2283 | 2776 | 5077 | 5079 => Some(DataType::Int4),
        other => DataType::from_oid(other, -1),
    }
}

#[cfg(test)]
mod catalog_tests {
    use super::*;

    /// Every function pgplay binds by name is one of PostgreSQL's (or SQL syntax), so that the
    /// catalog lookup in front of pgplay's binder never hides one.
    #[test]
    fn pgplay_functions_are_postgres_functions() {
        let catalog = pg_proc::catalog();
        let mut names: Vec<&str> = SYSTEM.iter().map(|(n, _, _)| *n).collect();
        names.extend([
            "lower",
            "upper",
            "btrim",
            "ltrim",
            "rtrim",
            "md5",
            "length",
            "char_length",
            "character_length",
            "octet_length",
            "abs",
            "round",
            "trunc",
            "ceil",
            "ceiling",
            "floor",
            "sqrt",
            "exp",
            "ln",
            "log",
            "log10",
            "sign",
            "power",
            "pow",
            "mod",
            "div",
            "scale",
            "min_scale",
            "trim_scale",
            "concat",
            "substr",
            "substring",
            "pg_wal_lsn_diff",
            "pg_typeof",
            "format_type",
            "pg_size_pretty",
            "justify_hours",
            "justify_days",
            "justify_interval",
            "date_part",
            "date_trunc",
            "age",
            "make_interval",
            "to_char",
            "timezone",
            "generate_series",
            "unnest",
            "array_agg",
        ]);
        names.extend(super::super::arrays::FUNCTIONS.iter().copied());
        names.extend([
            "repeat",
            "replace",
            "row_to_json",
            "json_agg",
            "jsonb_object_agg",
        ]);
        names.extend(super::super::json::FUNCTIONS.iter().copied());
        names.extend(super::super::json::SET_RETURNING.iter().copied());
        for name in names {
            assert!(
                SQL_SYNTAX.contains(&name) || !catalog.named(name).is_empty(),
                "{name} is not in PostgreSQL's catalog"
            );
        }
    }

    #[test]
    fn implemented_functions_are_counted() {
        let implemented = implemented();
        let names: Vec<&str> = implemented.iter().map(|p| p.name).collect();
        for name in [
            "abs",
            "lower",
            "pg_current_wal_lsn",
            "pg_size_pretty",
            "date_trunc",
            "array_length",
            "array_append",
            "to_jsonb",
            "jsonb_set",
            "repeat",
        ] {
            assert!(names.contains(&name), "{name} not counted: {names:?}");
        }
        assert!(!names.contains(&"gcd"));
        assert!(implemented.len() > 50, "{}", implemented.len());
    }

    fn bound(name: &str, args: Vec<Expr>) -> Result<Expr> {
        bind_call(name, args)
    }

    fn literal(text: &str) -> Expr {
        Expr::Const(Value::Text(text.into()), DataType::Unknown)
    }

    #[test]
    fn arguments_take_the_chosen_functions_types() {
        // round(integer): the float8 function, its argument cast.
        let call = bound("round", vec![Expr::Const(Value::Int4(2), DataType::Int4)]).unwrap();
        assert_eq!(call.data_type(), DataType::Float8);
        // abs('-1'): the literal becomes double precision.
        let call = bound("abs", vec![literal("-1")]).unwrap();
        assert_eq!(call.data_type(), DataType::Float8);
        // round(numeric, integer) keeps numeric.
        let call = bound(
            "round",
            vec![
                Expr::Const(Value::Int4(2), DataType::Int4),
                Expr::Const(Value::Int4(1), DataType::Int4),
            ],
        )
        .unwrap();
        assert_eq!(call.data_type(), DataType::NUMERIC);
    }

    #[test]
    fn errors_say_which_kind_of_missing() {
        let code_of = |name: &str, args: Vec<Expr>| bound(name, args).unwrap_err().code;
        let int = || Expr::Const(Value::Int4(1), DataType::Int4);
        assert_eq!(
            code_of("gcd", vec![int(), int()]),
            code::FEATURE_NOT_SUPPORTED
        );
        assert_eq!(code_of("foo", vec![int()]), code::UNDEFINED_FUNCTION);
        assert_eq!(
            code_of(
                "abs",
                vec![Expr::Const(Value::Text("a".into()), DataType::Text)]
            ),
            code::UNDEFINED_FUNCTION
        );
        assert_eq!(
            code_of("trunc", vec![Expr::Const(Value::Null, DataType::Unknown)]),
            code::AMBIGUOUS_FUNCTION
        );
        assert_eq!(code_of("ntile", vec![int()]), code::WRONG_OBJECT_TYPE);
        assert_eq!(
            code_of("int4", vec![literal("5")]),
            code::FEATURE_NOT_SUPPORTED
        );
        let message = bound("gcd", vec![int(), int()]).unwrap_err().message;
        assert_eq!(
            message,
            "function gcd(integer, integer) is not supported by pgplay yet"
        );
        let message = bound(
            "bool_and",
            vec![Expr::Const(Value::Bool(true), DataType::Bool)],
        )
        .unwrap_err()
        .message;
        assert_eq!(
            message,
            "function bool_and(boolean) is not supported by pgplay yet"
        );
    }
}

/// `repeat(text, n)`: PostgreSQL refuses a result past its 1 GB allocation limit (54000);
/// pgplay also refuses one past what a node may hold in memory (53200).
fn repeat(text: &str, count: i64) -> Result<Value> {
    let count = count.max(0) as u64;
    let bytes = (text.len() as u64).saturating_mul(count);
    if bytes >= 0x3FFF_FFFF {
        return Err(DbError::new(
            code::PROGRAM_LIMIT_EXCEEDED,
            "requested length too large",
        ));
    }
    if bytes > crate::workmem::MEMORY_CAPACITY {
        return Err(DbError::new(code::OUT_OF_MEMORY, "out of memory"));
    }
    Ok(Value::Text(text.repeat(count as usize)))
}
