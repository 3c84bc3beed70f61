//! `real` (float4) and `double precision` (float8) text output as PostgreSQL 15 writes it:
//! the shortest text that reads back to the same value while `extra_float_digits` is above
//! zero (fixed notation for decimal exponents from -4 to 5 for real, to 14 for double), else
//! C's `%.*g` with `FLT_DIG`/`DBL_DIG` plus `extra_float_digits` digits. Also float4's input
//! and the checked narrowing from double.

use std::cell::Cell;

use crate::error::{code, DbError, Result};

thread_local! {
    /// The session's `extra_float_digits`, for the statement that runs now.
    static EXTRA_DIGITS: Cell<i32> = const { Cell::new(1) };
}

/// Runs `work` with the session's `extra_float_digits` in force.
pub fn with_extra_digits<T>(setting: &str, work: impl FnOnce() -> T) -> T {
    let digits = setting.trim().parse().unwrap_or(1);
    let previous = EXTRA_DIGITS.with(|c| c.replace(digits));
    let result = work();
    EXTRA_DIGITS.with(|c| c.set(previous));
    result
}

/// Sets `extra_float_digits` for the rest of the statement (after `SET`).
pub fn set_extra_digits(setting: &str) {
    EXTRA_DIGITS.with(|c| c.set(setting.trim().parse().unwrap_or(1)));
}

const FLT_DIG: i32 = 6;
const DBL_DIG: i32 = 15;

/// `float4out`.
pub fn format_float4(value: f32) -> String {
    if let Some(special) = special(f64::from(value)) {
        return special.into();
    }
    let extra = EXTRA_DIGITS.with(Cell::get);
    if extra > 0 {
        shortest(&format!("{value:e}"), 6)
    } else {
        format_g(f64::from(value), (FLT_DIG + extra).max(1) as usize)
    }
}

/// `float8out`.
pub fn format_float8(value: f64) -> String {
    if let Some(special) = special(value) {
        return special.into();
    }
    let extra = EXTRA_DIGITS.with(Cell::get);
    if extra > 0 {
        shortest(&format!("{value:e}"), 15)
    } else {
        format_g(value, (DBL_DIG + extra).max(1) as usize)
    }
}

fn special(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value.is_infinite() {
        Some(if value > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}

/// Rust's shortest round-trip digits (`1.2345e6`) laid out as PostgreSQL's Ryu output: fixed
/// notation when -4 <= exponent < `fixed_below`, else `1.2345e+06`.
fn shortest(scientific: &str, fixed_below: i32) -> String {
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..fixed_below).contains(&exponent) {
        fixed(mantissa, exponent)
    } else {
        exponential(mantissa, exponent)
    }
}

/// `-1.2345` with decimal exponent `exponent` written without one.
fn fixed(mantissa: &str, exponent: i32) -> String {
    let (sign, unsigned) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = unsigned.chars().filter(char::is_ascii_digit).collect();
    let point = exponent + 1;
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{text}")
}

fn exponential(mantissa: &str, exponent: i32) -> String {
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// C's `%.{precision}g`.
pub fn format_g(value: f64, precision: usize) -> String {
    let scientific = format!("{value:.*e}", precision - 1);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |text: &str| {
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text.to_string()
        }
    };
    if exponent >= -4 && exponent < precision as i32 {
        let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
        trim(&format!("{value:.decimals$}"))
    } else {
        exponential(&trim(mantissa), exponent)
    }
}

/// `float4in`: the text as C's `strtof` reads it, with PostgreSQL's errors.
pub fn parse_float4(text: &str, wide: Option<f64>) -> Result<f32> {
    let wide = wide.ok_or_else(|| DbError::invalid_text("real", text))?;
    let narrow = wide as f32;
    if (narrow.is_infinite() && wide.is_finite()) || (narrow == 0.0 && wide != 0.0) {
        return Err(DbError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{text}\" is out of range for type real"),
        ));
    }
    Ok(narrow)
}

/// A double narrowed to real (`dtof`, and every real result): overflow and underflow fail.
pub fn to_float4(value: f64) -> Result<f32> {
    let narrow = value as f32;
    if narrow.is_infinite() && value.is_finite() {
        return Err(out_of_range("overflow"));
    }
    if narrow == 0.0 && value != 0.0 {
        return Err(out_of_range("underflow"));
    }
    Ok(narrow)
}

fn out_of_range(what: &str) -> DbError {
    DbError::new(
        code::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("value out of range: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_output_as_postgres() {
        assert_eq!(format_float4(1234567.0), "1.234567e+06");
        assert_eq!(format_float4(123456.0), "123456");
        assert_eq!(format_float4(0.0001), "0.0001");
        assert_eq!(format_float4(0.00001), "1e-05");
        assert_eq!(format_float4(0.1), "0.1");
        assert_eq!(format_float4(-0.0), "-0");
        assert_eq!(format_float4(3.4e38), "3.4e+38");
        assert_eq!(format_float8(0.1), "0.1");
        assert_eq!(format_float8(1e20), "1e+20");
        assert_eq!(format_float8(2.0), "2");
        assert_eq!(format_float8(1e15), "1e+15");
        assert_eq!(format_float8(123456789012345.0), "123456789012345");
    }

    #[test]
    fn fewer_digits_as_printf() {
        assert_eq!(format_g(1.0 / 3.0, 15), "0.333333333333333");
        assert_eq!(format_g(123456789.0, 6), "1.23457e+08");
        assert_eq!(format_g(0.00001, 6), "1e-05");
        assert_eq!(format_g(1e20, 15), "1e+20");
        assert_eq!(format_g(1.5, 6), "1.5");
        assert_eq!(format_g(100.0, 6), "100");
    }
}
