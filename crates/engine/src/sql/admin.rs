//! Administration functions a monitoring query wraps around others, kept apart from the
//! server-state functions of `system.rs` because they are pure: `pg_size_pretty(bigint)`
//! and `pg_size_pretty(numeric)` (the form `pg_wal_lsn_diff` feeds), with PostgreSQL 15's
//! units, limits and half-rounding.

use crate::types::Numeric;

use super::expr::{coerce, Expr};
use crate::error::{code, DbError, Result};
use crate::types::{DataType, Value};

/// Binds `pg_size_pretty(x)`: bigint and numeric overloads, ambiguous for smaller integers.
pub fn bind_size_pretty(args: Vec<Expr>) -> Result<Expr> {
    let types: Vec<String> = args.iter().map(|a| a.data_type().base_name()).collect();
    let signature = format!("pg_size_pretty({})", types.join(", "));
    let mut args = args;
    let target = match args.iter().map(Expr::data_type).collect::<Vec<_>>().as_slice() {
        [DataType::Int8] => DataType::Int8,
        [DataType::Numeric { .. }] => DataType::NUMERIC,
        [DataType::Int2 | DataType::Int4 | DataType::Unknown] => {
            return Err(DbError::new(
                code::AMBIGUOUS_FUNCTION,
                format!("function {signature} is not unique"),
            )
            .with_hint("Could not choose a best candidate function. You might need to add explicit type casts."))
        }
        _ => {
            return Err(DbError::new(
                code::UNDEFINED_FUNCTION,
                format!("function {signature} does not exist"),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."))
        }
    };
    let arg = coerce(args.remove(0), &target)?;
    Ok(Expr::Call {
        name: "pg_size_pretty".into(),
        args: vec![arg],
        data_type: DataType::Text,
    })
}

/// Evaluates a call bound here; None when `name` is not one of this module's.
pub fn eval(name: &str, args: &[Value]) -> Option<Result<Value>> {
    if name != "pg_size_pretty" {
        return None;
    }
    Some(Ok(match args.first() {
        Some(Value::Int8(size)) => Value::Text(size_pretty(Numeric::from_i128(i128::from(*size)))),
        Some(Value::Numeric(size)) => Value::Text(size_pretty(size.clone())),
        _ => Value::Null,
    }))
}

/// (name, limit, half-rounded, bits) as in PostgreSQL's `size_pretty_units`.
const UNITS: [(&str, i64, bool, u32); 6] = [
    ("bytes", 10 * 1024, false, 0),
    ("kB", 20 * 1024 - 1, true, 10),
    ("MB", 20 * 1024 - 1, true, 20),
    ("GB", 20 * 1024 - 1, true, 30),
    ("TB", 20 * 1024 - 1, true, 40),
    ("PB", 20 * 1024 - 1, true, 50),
];

/// pg_size_pretty: the first unit under its limit; each step divides (truncating) by a
/// power of two one bit short when the next unit half-rounds.
fn size_pretty(size: Numeric) -> String {
    let mut size = size;
    let number = |n: i64| Numeric::from_i128(i128::from(n));
    for (index, (name, limit, round, bits)) in UNITS.iter().enumerate() {
        let last = index + 1 == UNITS.len();
        if last || size.abs().cmp_total(&number(*limit)).is_lt() {
            if *round {
                let nudge = number(if size.signum() < 0 { -1 } else { 1 });
                size = size
                    .add(&nudge)
                    .and_then(|s| s.div_trunc(&number(2)))
                    .unwrap_or(size);
            }
            return format!("{size} {name}");
        }
        let (next_bits, next_round) = (UNITS[index + 1].3, UNITS[index + 1].2);
        let shift = next_bits - bits - u32::from(next_round) + u32::from(*round);
        size = size.div_trunc(&number(1i64 << shift)).unwrap_or(size);
    }
    size.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_postgres_does() {
        let pretty = |n: i64| size_pretty(Numeric::from_i128(i128::from(n)));
        assert_eq!(pretty(10239), "10239 bytes");
        assert_eq!(pretty(10240), "10 kB");
        assert_eq!(pretty(10752), "11 kB");
        assert_eq!(pretty(-12345678), "-12 MB");
        assert_eq!(pretty(i64::MAX), "8192 PB");
        assert_eq!(size_pretty(Numeric::from_scaled(15, 1)), "1.5 bytes");
    }
}
