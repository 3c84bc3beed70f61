//! `to_date(text, text)` and `to_timestamp(text, text)` for the common templates: `YYYY`,
//! `MM`, `DD`, `HH24`, `MI`, `SS` between separators, the input written with the same
//! separators. PostgreSQL's `formatting.c` also reads the other template patterns and skips
//! or matches mismatched separators in its lenient ways; pgplay answers 0A000 for any template
//! or input outside the strict subset rather than guess.

use crate::error::{code, DbError, Result};
use crate::types::{date, interval};

/// One template piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    Field(Field),
    Separator(char),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Year => "YYYY",
            Field::Month => "MM",
            Field::Day => "DD",
            Field::Hour => "HH24",
            Field::Minute => "MI",
            Field::Second => "SS",
        }
    }

    /// How many characters PostgreSQL quotes in `invalid value "..."`.
    fn width(self) -> usize {
        if self == Field::Year {
            4
        } else {
            2
        }
    }
}

fn unsupported(function: &str) -> DbError {
    DbError::feature_not_supported(format!(
        "{function} with this template or input is not supported by pgplay yet (only YYYY, MM, DD, HH24, MI and SS between matching separators)"
    ))
}

fn template(format: &str, function: &str) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        let field = [
            Field::Year,
            Field::Hour,
            Field::Month,
            Field::Day,
            Field::Minute,
            Field::Second,
        ]
        .into_iter()
        .find(|f| rest.starts_with(f.name()));
        if let Some(field) = field {
            pieces.push(Piece::Field(field));
            rest = &rest[field.name().len()..];
        } else if !c.is_alphanumeric() && c != '"' && c != '\\' {
            pieces.push(Piece::Separator(c));
            rest = &rest[c.len_utf8()..];
        } else {
            return Err(unsupported(function));
        }
    }
    Ok(pieces)
}

/// The fields read from `input` by `format`: year, month, day, hour, minute, second.
fn read(input: &str, format: &str, function: &str) -> Result<[i64; 6]> {
    let pieces = template(format, function)?;
    let mut values = [None::<i64>; 6];
    let mut rest = input;
    for (index, piece) in pieces.iter().copied().enumerate() {
        // A field followed by a separator reads every digit; otherwise its width at most.
        let before_separator = matches!(pieces.get(index + 1), Some(Piece::Separator(_)));
        match piece {
            Piece::Separator(c) => {
                rest = rest.strip_prefix(c).ok_or_else(|| unsupported(function))?;
            }
            Piece::Field(field) => {
                let limit = if before_separator {
                    usize::MAX
                } else {
                    field.width()
                };
                let digits = rest
                    .bytes()
                    .take(limit)
                    .take_while(u8::is_ascii_digit)
                    .count();
                if digits == 0 {
                    let shown: String = rest.chars().take(field.width()).collect();
                    if shown.is_empty() || shown.starts_with(|c: char| !c.is_alphanumeric()) {
                        return Err(unsupported(function));
                    }
                    return Err(DbError::new(
                        code::INVALID_DATETIME_FORMAT,
                        format!("invalid value \"{shown}\" for \"{}\"", field.name()),
                    )
                    .with_detail("Value must be an integer."));
                }
                let value: i64 = rest[..digits]
                    .parse()
                    .ok()
                    .filter(|_| digits <= 9)
                    .ok_or_else(|| unsupported(function))?;
                let slot = &mut values[field as usize];
                if slot.is_some() {
                    return Err(unsupported(function));
                }
                *slot = Some(value);
                rest = &rest[digits..];
            }
        }
    }
    if !rest.is_empty() {
        return Err(unsupported(function));
    }
    let year = values[0]
        .filter(|y| (1..=9999).contains(y))
        .ok_or_else(|| unsupported(function))?;
    Ok([
        year,
        // A zero month or day counts as not given, as in PostgreSQL's `do_to_timestamp`.
        values[1].filter(|m| *m != 0).unwrap_or(1),
        values[2].filter(|d| *d != 0).unwrap_or(1),
        values[3].unwrap_or(0),
        values[4].unwrap_or(0),
        values[5].unwrap_or(0),
    ])
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Local microseconds since 2000-01-01 of the fields `format` reads from `input`.
pub fn local_micros(input: &str, format: &str, function: &str) -> Result<i64> {
    let [year, month, day, hour, minute, second] = read(input, format, function)?;
    if hour == 24 {
        return Err(unsupported(function));
    }
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return Err(DbError::new(
            code::DATETIME_FIELD_OVERFLOW,
            format!("date/time field value out of range: \"{input}\""),
        ));
    }
    let days = date::checked(date::date2j(year, month, day) - date::EPOCH_JULIAN)?;
    let clock = ((hour * 60 + minute) * 60 + second) * interval::USECS_PER_SEC;
    Ok(i64::from(days) * interval::USECS_PER_DAY + clock)
}

/// `to_date(text, text)`: days since 2000-01-01.
pub fn to_date(input: &str, format: &str) -> Result<i32> {
    let micros = local_micros(input, format, "to_date")?;
    Ok(micros.div_euclid(interval::USECS_PER_DAY) as i32)
}
