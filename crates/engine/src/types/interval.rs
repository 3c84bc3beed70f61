//! PostgreSQL's `interval`: months, days and microseconds kept apart (a month is not a
//! fixed number of days, nor a day of hours across a DST change), read in every input
//! style PostgreSQL accepts (`1 day 02:03:04`, `3 hours ago`, `1-2`, ISO 8601 `P1DT2H`),
//! written as `IntervalStyle = postgres`, with the arithmetic, `justify_*` and field
//! extraction of PostgreSQL 15's `timestamp.c`. Every step checks for overflow and fails
//! with PostgreSQL's 22008 / 22015 instead of wrapping.

use std::cmp::Ordering;

use crate::error::{code, DbError, Result};

pub const USECS_PER_SEC: i64 = 1_000_000;
pub const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
pub const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
const DAYS_PER_MONTH: i64 = 30;
const MONTHS_PER_YEAR: i32 = 12;

/// An interval value (PostgreSQL's `Interval` struct).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

/// 22008 `interval out of range`.
pub fn out_of_range() -> DbError {
    DbError::new(code::DATETIME_FIELD_OVERFLOW, "interval out of range")
}

fn invalid_syntax(text: &str) -> DbError {
    DbError::new(
        code::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type interval: \"{text}\""),
    )
}

fn field_overflow(text: &str) -> DbError {
    DbError::new(
        code::INTERVAL_FIELD_OVERFLOW,
        format!("interval field value out of range: \"{text}\""),
    )
}

impl Interval {
    pub const ZERO: Interval = Interval {
        months: 0,
        days: 0,
        micros: 0,
    };

    pub fn from_micros(micros: i64) -> Interval {
        Interval {
            months: 0,
            days: 0,
            micros,
        }
    }

    /// The span PostgreSQL orders and compares by: a month is 30 days, a day 24 hours.
    pub fn span(&self) -> i128 {
        (i128::from(self.months) * 30 + i128::from(self.days)) * i128::from(USECS_PER_DAY)
            + i128::from(self.micros)
    }

    pub fn cmp_span(&self, other: &Interval) -> Ordering {
        self.span().cmp(&other.span())
    }

    pub fn checked_add(&self, other: &Interval) -> Result<Interval> {
        Ok(Interval {
            months: self
                .months
                .checked_add(other.months)
                .ok_or_else(out_of_range)?,
            days: self.days.checked_add(other.days).ok_or_else(out_of_range)?,
            micros: self
                .micros
                .checked_add(other.micros)
                .ok_or_else(out_of_range)?,
        })
    }

    pub fn checked_neg(&self) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_neg().ok_or_else(out_of_range)?,
            days: self.days.checked_neg().ok_or_else(out_of_range)?,
            micros: self.micros.checked_neg().ok_or_else(out_of_range)?,
        })
    }

    pub fn checked_sub(&self, other: &Interval) -> Result<Interval> {
        Ok(Interval {
            months: self
                .months
                .checked_sub(other.months)
                .ok_or_else(out_of_range)?,
            days: self.days.checked_sub(other.days).ok_or_else(out_of_range)?,
            micros: self
                .micros
                .checked_sub(other.micros)
                .ok_or_else(out_of_range)?,
        })
    }

    /// `interval * float8` (interval_mul): whole months and days stay, their fractions
    /// cascade down to days and seconds.
    pub fn mul(&self, factor: f64) -> Result<Interval> {
        let months = to_i32(f64::from(self.months) * factor)?;
        let days = to_i32(f64::from(self.days) * factor)?;
        let month_remainder_days =
            ts_round((f64::from(self.months) * factor - f64::from(months)) * 30.0);
        self.cascade(
            months,
            days,
            month_remainder_days,
            f64::from(self.days) * factor,
            self.micros as f64 * factor,
        )
    }

    /// `interval / float8` (interval_div).
    pub fn div(&self, factor: f64) -> Result<Interval> {
        if factor == 0.0 {
            return Err(DbError::division_by_zero());
        }
        let months = to_i32(f64::from(self.months) / factor)?;
        let days = to_i32(f64::from(self.days) / factor)?;
        let month_remainder_days =
            ts_round((f64::from(self.months) / factor - f64::from(months)) * 30.0);
        self.cascade(
            months,
            days,
            month_remainder_days,
            f64::from(self.days) / factor,
            self.micros as f64 / factor,
        )
    }

    fn cascade(
        &self,
        months: i32,
        days: i32,
        month_remainder_days: f64,
        exact_days: f64,
        exact_micros: f64,
    ) -> Result<Interval> {
        let mut days = days;
        let mut sec_remainder = ts_round(
            (exact_days - f64::from(days) + month_remainder_days - month_remainder_days.trunc())
                * 86_400.0,
        );
        if sec_remainder.abs() >= 86_400.0 {
            let whole = (sec_remainder / 86_400.0).trunc();
            days = days.checked_add(to_i32(whole)?).ok_or_else(out_of_range)?;
            sec_remainder -= whole * 86_400.0;
        }
        days = days
            .checked_add(to_i32(month_remainder_days.trunc())?)
            .ok_or_else(out_of_range)?;
        let micros = (exact_micros + sec_remainder * 1e6).round_ties_even();
        if !micros.is_finite()
            || !(-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&micros)
        {
            return Err(out_of_range());
        }
        Ok(Interval {
            months,
            days,
            micros: micros as i64,
        })
    }

    /// justify_hours: whole days out of the time, the signs made to agree.
    pub fn justify_hours(&self) -> Result<Interval> {
        let mut days = self
            .days
            .checked_add(to_i32_exact(self.micros / USECS_PER_DAY)?)
            .ok_or_else(out_of_range)?;
        let mut micros = self.micros % USECS_PER_DAY;
        if days > 0 && micros < 0 {
            micros += USECS_PER_DAY;
            days -= 1;
        } else if days < 0 && micros > 0 {
            micros -= USECS_PER_DAY;
            days += 1;
        }
        Ok(Interval {
            months: self.months,
            days,
            micros,
        })
    }

    /// justify_days: whole months out of the days, the signs made to agree.
    pub fn justify_days(&self) -> Result<Interval> {
        let mut months = self
            .months
            .checked_add(self.days / 30)
            .ok_or_else(out_of_range)?;
        let mut days = self.days % 30;
        if months > 0 && days < 0 {
            days += 30;
            months -= 1;
        } else if months < 0 && days > 0 {
            days -= 30;
            months += 1;
        }
        Ok(Interval {
            months,
            days,
            micros: self.micros,
        })
    }

    /// justify_interval: both, with the signs of all three fields made to agree.
    pub fn justify_interval(&self) -> Result<Interval> {
        let mut months = self
            .months
            .checked_add(self.days / 30)
            .ok_or_else(out_of_range)?;
        let mut days = self.days % 30;
        days = days
            .checked_add(to_i32_exact(self.micros / USECS_PER_DAY)?)
            .ok_or_else(out_of_range)?;
        let mut micros = self.micros % USECS_PER_DAY;
        months = months.checked_add(days / 30).ok_or_else(out_of_range)?;
        days %= 30;
        if months > 0 && (days < 0 || (days == 0 && micros < 0)) {
            days += 30;
            months -= 1;
        } else if months < 0 && (days > 0 || (days == 0 && micros > 0)) {
            days -= 30;
            months += 1;
        }
        if days > 0 && micros < 0 {
            micros += USECS_PER_DAY;
            days -= 1;
        } else if days < 0 && micros > 0 {
            micros -= USECS_PER_DAY;
            days += 1;
        }
        Ok(Interval {
            months,
            days,
            micros,
        })
    }

    /// `extract(epoch from interval)` in microseconds: a year is 365.25 days, a month 30.
    pub fn epoch_micros(&self) -> i128 {
        let years = i128::from(self.months / MONTHS_PER_YEAR);
        let months = i128::from(self.months % MONTHS_PER_YEAR);
        let quarter_days = 1461 * years + 120 * months + 4 * i128::from(self.days);
        quarter_days * i128::from(USECS_PER_DAY) / 4 + i128::from(self.micros)
    }
}

fn ts_round(value: f64) -> f64 {
    (value * 1e6).round_ties_even() / 1e6
}

fn to_i32(value: f64) -> Result<i32> {
    if value.is_nan() || value > f64::from(i32::MAX) || value < f64::from(i32::MIN) {
        return Err(out_of_range());
    }
    Ok(value as i32)
}

fn to_i32_exact(value: i64) -> Result<i32> {
    i32::try_from(value).map_err(|_| out_of_range())
}

// ----- output ---------------------------------------------------------------

/// `IntervalStyle = postgres` (EncodeInterval): `1 year 2 mons -3 days +04:05:06.5`.
pub fn format(interval: &Interval) -> String {
    let years = interval.months / MONTHS_PER_YEAR;
    let months = interval.months % MONTHS_PER_YEAR;
    let mut text = String::new();
    let (mut is_zero, mut is_before) = (true, false);
    for (value, unit) in [(years, "year"), (months, "mon"), (interval.days, "day")] {
        if value == 0 {
            continue;
        }
        let plus = if is_before && value > 0 { "+" } else { "" };
        let space = if is_zero { "" } else { " " };
        let plural = if value != 1 { "s" } else { "" };
        text.push_str(&format!("{space}{plus}{value} {unit}{plural}"));
        is_before = value < 0;
        is_zero = false;
    }
    let time = interval.micros;
    if is_zero || time != 0 {
        let minus = time < 0;
        let magnitude = time.unsigned_abs();
        let hours = magnitude / USECS_PER_HOUR as u64;
        let minutes = magnitude / USECS_PER_MINUTE as u64 % 60;
        let seconds = magnitude / USECS_PER_SEC as u64 % 60;
        let fraction = magnitude % USECS_PER_SEC as u64;
        let sign = if minus {
            "-"
        } else if is_before {
            "+"
        } else {
            ""
        };
        let space = if is_zero { "" } else { " " };
        text.push_str(&format!(
            "{space}{sign}{hours:02}:{minutes:02}:{seconds:02}"
        ));
        if fraction != 0 {
            let digits = format!("{fraction:06}");
            text.push('.');
            text.push_str(digits.trim_end_matches('0'));
        }
    }
    text
}

// ----- input ----------------------------------------------------------------

/// The fields accumulated while reading (PostgreSQL's `pg_itm_in`).
#[derive(Default)]
struct Fields {
    years: i64,
    months: i32,
    days: i32,
    micros: i64,
}

/// A field's unit (what PostgreSQL's `DTK_*` type says of a number).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Unit {
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Decade,
    Century,
    Millennium,
}

impl Unit {
    fn mask(self) -> u32 {
        match self {
            Unit::Second => 1 << 2,
            other => 1 << (other as u32 + 8),
        }
    }
}

const TIME_MASK: u32 = 0b111; // hour, minute, second (a `hh:mm:ss` field)
const HOUR_MASK: u32 = 1;
const MINUTE_MASK: u32 = 2;

/// PostgreSQL's unit words (`deltatktbl`), looked up by their first 10 letters.
pub fn unit_word(word: &str) -> Option<UnitWord> {
    let key: String = word.chars().take(10).collect();
    use Unit::*;
    Some(UnitWord::Unit(match key.as_str() {
        "microsecon" | "us" | "usec" | "usecs" | "useconds" => Microsecond,
        "millisecon" | "ms" | "msec" | "msecs" | "mseconds" => Millisecond,
        "s" | "sec" | "secs" | "second" | "seconds" => Second,
        "m" | "min" | "mins" | "minute" | "minutes" => Minute,
        "h" | "hr" | "hrs" | "hour" | "hours" => Hour,
        "d" | "day" | "days" => Day,
        "w" | "week" | "weeks" => Week,
        "mon" | "mons" | "month" | "months" => Month,
        "y" | "yr" | "yrs" | "year" | "years" => Year,
        "dec" | "decs" | "decade" | "decades" => Decade,
        "c" | "cent" | "century" | "centuries" => Century,
        "mil" | "mils" | "millennium" | "millennia" => Millennium,
        "ago" => return Some(UnitWord::Ago),
        "@" => return Some(UnitWord::Ignore),
        _ => return None,
    }))
}

pub enum UnitWord {
    Unit(Unit),
    Ago,
    Ignore,
}

/// One lexical field of the input (PostgreSQL's ParseDateTime, for intervals).
#[derive(Debug)]
enum Token {
    /// Digits with an optional leading sign, `.`, `-` (years-months) or `:` (a time).
    Number(String),
    Word(String),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' || c == '+' || c == '-' {
            let mut token = String::new();
            if c == '+' || c == '-' {
                token.push(c);
                i += 1;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                if i >= chars.len() || !(chars[i].is_ascii_digit() || chars[i] == '.') {
                    return None;
                }
            }
            while i < chars.len()
                && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | ':' | '-'))
            {
                token.push(chars[i]);
                i += 1;
            }
            tokens.push(Token::Number(token));
        } else if c.is_alphabetic() || c == '@' {
            let mut word = String::new();
            if c == '@' {
                word.push(c);
                i += 1;
            } else {
                while i < chars.len() && chars[i].is_alphabetic() {
                    word.extend(chars[i].to_lowercase());
                    i += 1;
                }
            }
            tokens.push(Token::Word(word));
        } else {
            return None;
        }
    }
    fits_parse_buffer(&tokens).then_some(tokens)
}

/// ParseDateTime's limits, which refuse an input as a bad format: at most 25 fields (an `@` is
/// punctuation, not one), and their bytes, each with its terminator, within a 256-byte buffer.
fn fits_parse_buffer(tokens: &[Token]) -> bool {
    let fields = tokens.iter().filter_map(|token| match token {
        Token::Word(word) if word == "@" => None,
        Token::Word(text) | Token::Number(text) => Some(text.len() + 1),
    });
    let (count, bytes) = fields.fold((0, 0), |(count, bytes), len| (count + 1, bytes + len));
    count <= 25 && bytes <= 256
}

/// Why an input was refused (PostgreSQL's DTERR_* codes).
enum InputError {
    BadFormat,
    FieldOverflow,
    IntervalOverflow,
}

type Decoded<T> = std::result::Result<T, InputError>;

/// interval_in: the postgres/SQL style first, ISO 8601 when that does not parse.
pub fn parse(text: &str) -> Result<Interval> {
    let result = match decode_interval(text) {
        Err(InputError::BadFormat) => decode_iso8601(text),
        other => other,
    };
    result.map_err(|error| match error {
        InputError::BadFormat => invalid_syntax(text),
        InputError::FieldOverflow => field_overflow(text),
        InputError::IntervalOverflow => out_of_range(),
    })
}

fn finish(fields: Fields) -> Decoded<Interval> {
    let months = fields
        .years
        .checked_mul(12)
        .and_then(|m| m.checked_add(i64::from(fields.months)))
        .and_then(|m| i32::try_from(m).ok())
        .ok_or(InputError::IntervalOverflow)?;
    Ok(Interval {
        months,
        days: fields.days,
        micros: fields.micros,
    })
}

/// DecodeInterval: fields read right to left, so a unit names the number before it.
fn decode_interval(text: &str) -> Decoded<Interval> {
    let tokens = tokenize(text).ok_or(InputError::BadFormat)?;
    let mut fields = Fields::default();
    let mut mask = 0u32;
    let mut is_before = false;
    let mut pending: Option<Unit> = None;
    for token in tokens.iter().rev() {
        let field_mask = match token {
            Token::Word(word) => match unit_word(word).ok_or(InputError::BadFormat)? {
                UnitWord::Ignore => continue,
                UnitWord::Ago => {
                    is_before = true;
                    continue;
                }
                UnitWord::Unit(unit) => {
                    pending = Some(unit);
                    continue;
                }
            },
            Token::Number(number) if number.contains(':') => {
                let (negative, body) = split_sign(number);
                let mut micros = decode_time(body)?;
                if negative {
                    micros = -micros;
                }
                fields.micros = fields
                    .micros
                    .checked_add(micros)
                    .ok_or(InputError::FieldOverflow)?;
                pending = Some(Unit::Day);
                TIME_MASK
            }
            Token::Number(number) => {
                let unit = pending.take().unwrap_or(Unit::Second);
                decode_number(number, unit, &mut fields)?
            }
        };
        if mask & field_mask != 0 {
            return Err(InputError::BadFormat);
        }
        mask |= field_mask;
    }
    if mask == 0 {
        return Err(InputError::BadFormat);
    }
    if is_before {
        fields.micros = fields
            .micros
            .checked_neg()
            .ok_or(InputError::FieldOverflow)?;
        fields.days = fields.days.checked_neg().ok_or(InputError::FieldOverflow)?;
        fields.months = fields
            .months
            .checked_neg()
            .ok_or(InputError::FieldOverflow)?;
        fields.years = -fields.years;
    }
    finish(fields)
}

fn split_sign(number: &str) -> (bool, &str) {
    match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    }
}

/// A signed number with a unit: its integer part and its fraction, spilling down.
fn decode_number(number: &str, unit: Unit, fields: &mut Fields) -> Decoded<u32> {
    let (negative, body) = split_sign(number);
    let (whole, rest) = body.split_at(body.find(['.', '-']).unwrap_or(body.len()));
    let parse_whole = |digits: &str| -> Decoded<i64> {
        if digits.is_empty() {
            return Ok(0);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::BadFormat);
        }
        digits.parse::<i64>().map_err(|_| InputError::FieldOverflow)
    };
    // Read with its sign, so that -9223372036854775808 fits as it does in PostgreSQL.
    let mut value = match (negative, whole) {
        (true, "9223372036854775808") => i64::MIN,
        (true, _) => -parse_whole(whole)?,
        (false, _) => parse_whole(whole)?,
    };
    if whole.is_empty() && !rest.starts_with('.') {
        return Err(InputError::BadFormat);
    }
    let (mut fraction, mut unit) = (0.0, unit);
    if let Some(months) = rest.strip_prefix('-') {
        // SQL years-months: `1-2`.
        let months = parse_whole(months)?;
        if !(0..12).contains(&months) {
            return Err(InputError::FieldOverflow);
        }
        let months = if negative { -months } else { months };
        value = value
            .checked_mul(12)
            .and_then(|v| v.checked_add(months))
            .filter(|v| i32::try_from(*v).is_ok())
            .ok_or(InputError::FieldOverflow)?;
        unit = Unit::Month;
    } else if !rest.is_empty() {
        if !rest[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::BadFormat);
        }
        fraction = format!("0{rest}")
            .parse::<f64>()
            .map_err(|_| InputError::BadFormat)?;
        if negative {
            fraction = -fraction;
        }
    }
    add_unit(fields, unit, value, fraction).ok_or(InputError::FieldOverflow)?;
    Ok(match unit {
        Unit::Second if fraction != 0.0 => {
            Unit::Second.mask() | Unit::Millisecond.mask() | Unit::Microsecond.mask()
        }
        Unit::Hour => HOUR_MASK,
        Unit::Minute => MINUTE_MASK,
        other => other.mask(),
    })
}

/// Adds `value` (and its fraction) of `unit` to the fields: PostgreSQL's Adjust* functions.
fn add_unit(fields: &mut Fields, unit: Unit, value: i64, fraction: f64) -> Option<()> {
    match unit {
        Unit::Microsecond => add_micros(fields, value, fraction, 1),
        Unit::Millisecond => add_micros(fields, value, fraction, 1_000),
        Unit::Second => add_micros(fields, value, fraction, USECS_PER_SEC),
        Unit::Minute => add_micros(fields, value, fraction, USECS_PER_MINUTE),
        Unit::Hour => add_micros(fields, value, fraction, USECS_PER_HOUR),
        Unit::Day => {
            add_days(fields, value, 1)?;
            add_fraction_micros(fields, fraction, USECS_PER_DAY)
        }
        Unit::Week => {
            add_days(fields, value, 7)?;
            add_fraction_days(fields, fraction, 7)
        }
        Unit::Month => {
            let months = i32::try_from(value).ok()?;
            fields.months = fields.months.checked_add(months)?;
            add_fraction_days(fields, fraction, DAYS_PER_MONTH)
        }
        Unit::Year => add_years(fields, value, fraction, 1),
        Unit::Decade => add_years(fields, value, fraction, 10),
        Unit::Century => add_years(fields, value, fraction, 100),
        Unit::Millennium => add_years(fields, value, fraction, 1000),
    }
}

fn add_micros(fields: &mut Fields, value: i64, fraction: f64, scale: i64) -> Option<()> {
    fields.micros = fields.micros.checked_add(value.checked_mul(scale)?)?;
    add_fraction_micros(fields, fraction, scale)
}

fn add_fraction_micros(fields: &mut Fields, fraction: f64, scale: i64) -> Option<()> {
    if fraction == 0.0 {
        return Some(());
    }
    let scaled = fraction * scale as f64;
    let whole = scaled.trunc();
    let micros = whole as i64 + (scaled - whole).round_ties_even() as i64;
    fields.micros = fields.micros.checked_add(micros)?;
    Some(())
}

fn add_days(fields: &mut Fields, value: i64, scale: i64) -> Option<()> {
    let days = i32::try_from(value.checked_mul(scale)?).ok()?;
    fields.days = fields.days.checked_add(days)?;
    Some(())
}

fn add_fraction_days(fields: &mut Fields, fraction: f64, scale: i64) -> Option<()> {
    if fraction == 0.0 {
        return Some(());
    }
    let scaled = fraction * scale as f64;
    let whole = scaled.trunc();
    fields.days = fields.days.checked_add(whole as i32)?;
    add_fraction_micros(fields, scaled - whole, USECS_PER_DAY)
}

fn add_years(fields: &mut Fields, value: i64, fraction: f64, scale: i64) -> Option<()> {
    let value = i32::try_from(value).ok()?;
    let years = i64::from(value.checked_mul(i32::try_from(scale).ok()?)?);
    fields.years = fields.years.checked_add(years)?;
    if years.abs() > i64::from(i32::MAX) || fields.years.abs() > i64::from(i32::MAX) {
        return None;
    }
    let extra_months = (fraction * scale as f64 * 12.0).round_ties_even() as i32;
    fields.months = fields.months.checked_add(extra_months)?;
    Some(())
}

/// `hh:mm`, `hh:mm:ss[.fff]` or `mm:ss.fff` in microseconds (DecodeTime).
fn decode_time(text: &str) -> Decoded<i64> {
    let parts: Vec<&str> = text.split(':').collect();
    let integer = |part: &str| -> Decoded<i64> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::BadFormat);
        }
        part.parse().map_err(|_| InputError::FieldOverflow)
    };
    let seconds = |part: &str| -> Decoded<(i64, i64)> {
        let (whole, fraction) = part.split_once('.').unwrap_or((part, ""));
        let whole = integer(whole)?;
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::BadFormat);
        }
        let fraction: f64 = format!("0.{fraction}0")
            .parse()
            .map_err(|_| InputError::BadFormat)?;
        Ok((whole, (fraction * 1e6).round_ties_even() as i64))
    };
    let (hours, minutes, (secs, fsec)) = match parts.as_slice() {
        [h, m] if m.contains('.') => (0, integer(h)?, seconds(m)?),
        [h, m] => (integer(h)?, integer(m)?, (0, 0)),
        [h, m, s] => (integer(h)?, integer(m)?, seconds(s)?),
        _ => return Err(InputError::BadFormat),
    };
    if !(0..60).contains(&minutes) || !(0..=60).contains(&secs) || fsec > USECS_PER_SEC {
        return Err(InputError::FieldOverflow);
    }
    hours
        .checked_mul(USECS_PER_HOUR)
        .and_then(|t| t.checked_add(minutes * USECS_PER_MINUTE + secs * USECS_PER_SEC + fsec))
        .ok_or(InputError::FieldOverflow)
}

/// ISO 8601 durations: `P1Y2M3DT4H5M6S`, `P1W`, and the alternative `P0001-02-03T04:05:06`.
fn decode_iso8601(text: &str) -> Decoded<Interval> {
    let Some(body) = text.strip_prefix('P').filter(|b| !b.is_empty()) else {
        return Err(InputError::BadFormat);
    };
    let mut fields = Fields::default();
    let mut date_part = true;
    let mut have_field = false;
    let mut rest = body;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('T') {
            date_part = false;
            have_field = false;
            rest = after;
            continue;
        }
        let (value, fraction, after) = iso_number(rest)?;
        let unit = after.chars().next();
        rest = after.get(unit.map_or(0, char::len_utf8)..).unwrap_or("");
        let overflow = InputError::FieldOverflow;
        match (date_part, unit) {
            (true, Some('Y')) => {
                add_unit(&mut fields, Unit::Year, value, fraction).ok_or(overflow)?
            }
            (true, Some('M')) => {
                add_unit(&mut fields, Unit::Month, value, fraction).ok_or(overflow)?
            }
            (true, Some('W')) => {
                add_unit(&mut fields, Unit::Week, value, fraction).ok_or(overflow)?
            }
            (true, Some('D')) => {
                add_unit(&mut fields, Unit::Day, value, fraction).ok_or(overflow)?
            }
            (false, Some('H')) => {
                add_unit(&mut fields, Unit::Hour, value, fraction).ok_or(overflow)?
            }
            (false, Some('M')) => {
                add_unit(&mut fields, Unit::Minute, value, fraction).ok_or(overflow)?
            }
            (false, Some('S')) => {
                add_unit(&mut fields, Unit::Second, value, fraction).ok_or(overflow)?
            }
            (true, None | Some('-' | 'T')) if !have_field => {
                add_unit(&mut fields, Unit::Year, value, fraction).ok_or(overflow)?;
                match iso_alternative_date(&mut fields, unit, rest)? {
                    Some(after) => {
                        date_part = false;
                        have_field = false;
                        rest = after;
                        continue;
                    }
                    None => return finish(fields),
                }
            }
            (false, None | Some(':')) if !have_field => {
                add_unit(&mut fields, Unit::Hour, value, fraction).ok_or(overflow)?;
                iso_alternative_time(&mut fields, unit, rest)?;
                return finish(fields);
            }
            _ => return Err(InputError::BadFormat),
        }
        have_field = true;
    }
    finish(fields)
}

/// `YYYY-MM-DD` after its year: Some(what follows a `T`), or None at the end.
fn iso_alternative_date<'a>(
    fields: &mut Fields,
    unit: Option<char>,
    rest: &'a str,
) -> Decoded<Option<&'a str>> {
    let overflow = || InputError::FieldOverflow;
    match unit {
        None => return Ok(None),
        Some('T') => return Ok(Some(rest)),
        _ => {}
    }
    let (value, fraction, rest) = iso_number(rest)?;
    add_unit(fields, Unit::Month, value, fraction).ok_or_else(overflow)?;
    let rest = match rest.chars().next() {
        None => return Ok(None),
        Some('T') => return Ok(Some(&rest[1..])),
        Some('-') => &rest[1..],
        Some(_) => return Err(InputError::BadFormat),
    };
    let (value, fraction, rest) = iso_number(rest)?;
    add_unit(fields, Unit::Day, value, fraction).ok_or_else(overflow)?;
    match rest.chars().next() {
        None => Ok(None),
        Some('T') => Ok(Some(&rest[1..])),
        Some(_) => Err(InputError::BadFormat),
    }
}

/// `hh:mm:ss` after its hours; nothing may follow.
fn iso_alternative_time(fields: &mut Fields, unit: Option<char>, rest: &str) -> Decoded<()> {
    let overflow = || InputError::FieldOverflow;
    if unit.is_none() {
        return Ok(());
    }
    let (value, fraction, rest) = iso_number(rest)?;
    add_unit(fields, Unit::Minute, value, fraction).ok_or_else(overflow)?;
    let Some(rest) = rest.strip_prefix(':') else {
        return if rest.is_empty() {
            Ok(())
        } else {
            Err(InputError::BadFormat)
        };
    };
    let (value, fraction, rest) = iso_number(rest)?;
    add_unit(fields, Unit::Second, value, fraction).ok_or_else(overflow)?;
    if rest.is_empty() {
        Ok(())
    } else {
        Err(InputError::BadFormat)
    }
}

/// ParseISO8601Number: a signed decimal, split into its integer part and fraction.
fn iso_number(text: &str) -> Decoded<(i64, f64, &str)> {
    let end = text
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '-' || *c == '+'))))
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let number = &text[..end];
    if !number.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') {
        return Err(InputError::BadFormat);
    }
    let value: f64 = number.parse().map_err(|_| InputError::BadFormat)?;
    if !(-9.2e18..9.2e18).contains(&value) {
        return Err(InputError::FieldOverflow);
    }
    let whole = value.trunc();
    Ok((whole as i64, value - whole, &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> String {
        match parse(text) {
            Ok(interval) => format(&interval),
            Err(error) => format!("{}: {}", error.code, error.message),
        }
    }

    #[test]
    fn reads_every_style_and_writes_postgres_style() {
        assert_eq!(show("1 day 02:03:04"), "1 day 02:03:04");
        assert_eq!(show("@ 1 hour ago"), "-01:00:00");
        assert_eq!(show("-1 2:03:04"), "-1 days +02:03:04");
        assert_eq!(show("1.5 weeks"), "10 days 12:00:00");
        assert_eq!(show("1-2 3 4:05:06"), "1 year 2 mons 3 days 04:05:06");
        assert_eq!(show("P1Y2M3DT4H5M6.5S"), "1 year 2 mons 3 days 04:05:06.5");
        assert_eq!(
            show("P0001-02-03T04:05:06"),
            "1 year 2 mons 3 days 04:05:06"
        );
        assert_eq!(
            show("1 2"),
            "22007: invalid input syntax for type interval: \"1 2\""
        );
        assert_eq!(show("178956971 years"), "22008: interval out of range");
        assert_eq!(
            show("2147483648 days"),
            "22015: interval field value out of range: \"2147483648 days\""
        );
    }

    #[test]
    fn arithmetic_cascades_fractions_and_checks_overflow() {
        let day = parse("1 day").unwrap();
        assert_eq!(format(&day.mul(1.5).unwrap()), "1 day 12:00:00");
        assert_eq!(
            format(&parse("1 mon").unwrap().div(3.0).unwrap()),
            "10 days"
        );
        assert!(day.div(0.0).is_err());
        let max = parse("2147483647 days").unwrap();
        assert_eq!(max.checked_add(&day).unwrap_err().code, "22008");
        assert_eq!(
            format(
                &parse("-1 mon 40 days 25 hours")
                    .unwrap()
                    .justify_interval()
                    .unwrap()
            ),
            "11 days 01:00:00"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_read_or_refused_without_panic(text in "\\PC{0,40}") {
            let _ = parse(&text);
        }

        #[test]
        fn interval_like_text_is_read_or_refused_without_panic(
            text in "[-+@ 0-9.:PTYMWDHSyearmonthdaysecminagoul]{0,30}"
        ) {
            let _ = parse(&text);
        }

        #[test]
        fn output_reads_back_as_the_same_interval(
            months in proptest::prelude::any::<i32>(),
            days in proptest::prelude::any::<i32>(),
            micros in (i64::MIN + 1)..=i64::MAX,
        ) {
            let interval = Interval { months, days, micros };
            let text = format(&interval);
            proptest::prop_assert_eq!(parse(&text).ok(), Some(interval), "{}", text);
        }

        #[test]
        fn arithmetic_never_panics(
            months in proptest::prelude::any::<i32>(),
            days in proptest::prelude::any::<i32>(),
            micros in proptest::prelude::any::<i64>(),
            factor in proptest::prelude::any::<f64>(),
        ) {
            let interval = Interval { months, days, micros };
            let _ = interval.mul(factor);
            let _ = interval.div(factor);
            let _ = interval.checked_add(&interval);
            let _ = interval.checked_sub(&interval.checked_neg().unwrap_or_default());
            let _ = interval.justify_hours();
            let _ = interval.justify_days();
            let _ = interval.justify_interval();
            let _ = interval.epoch_micros();
        }
    }
}
