//! PostgreSQL's `time` (without time zone): microseconds since midnight, 00:00:00 to 24:00:00.
//! Input as `time_in` reads it (`04:05`, `04:05:06.789`, `040506`, `4:05 PM`, `allballs`,
//! `now`, a date or a zone before or after the time, both ignored), output `HH:MM:SS[.ffffff]`,
//! `time(p)` rounding, and the arithmetic of `date.c` (`time ± interval` wraps around
//! midnight, `time - time` is an interval).

use crate::error::{code, DbError, Result};
use crate::types::interval::{Interval, USECS_PER_DAY};
use crate::types::zone;

const USECS_PER_SECOND: i64 = 1_000_000;

/// `time_in`.
pub fn parse(text: &str) -> Result<i64> {
    let invalid = || {
        DbError::new(
            code::INVALID_DATETIME_FORMAT,
            format!("invalid input syntax for type time: \"{text}\""),
        )
    };
    let out_of_range = || {
        DbError::new(
            code::DATETIME_FIELD_OVERFLOW,
            format!("date/time field value out of range: \"{text}\""),
        )
    };
    let lower = text.trim().to_ascii_lowercase();
    match lower.as_str() {
        "allballs" => return Ok(0),
        "now" => {
            let now = zone::statement_now().ok_or_else(invalid)?;
            return Ok(zone::session_zone().to_local(now).rem_euclid(USECS_PER_DAY));
        }
        _ => {}
    }
    let mut clock: Option<&str> = None;
    let mut meridiem: Option<bool> = None;
    // ISO 8601's `T` between a date and its time (`2003-04-12T04:05:06`) separates words.
    let chars: Vec<char> = lower.chars().collect();
    let spaced: String = chars
        .iter()
        .enumerate()
        .map(|(at, &c)| {
            let between_digits = at > 0
                && chars[at - 1].is_ascii_digit()
                && chars.get(at + 1).is_some_and(char::is_ascii_digit);
            if c == 't' && between_digits {
                ' '
            } else {
                c
            }
        })
        .collect();
    for word in spaced.split_whitespace() {
        match word {
            "am" | "a.m." => meridiem = Some(false),
            "pm" | "p.m." => meridiem = Some(true),
            _ if is_date(word) => {}
            _ if word.starts_with(|c: char| c.is_ascii_digit()) && clock.is_none() => {
                clock = Some(word)
            }
            _ if word.starts_with(['+', '-']) || is_zone(word) => {}
            _ => return Err(invalid()),
        }
    }
    let clock = clock.ok_or_else(invalid)?;
    // A numeric zone written onto the time (`04:05:06+02`, `04:05z`) is ignored.
    let clock = clock.find(['+', '-', 'z']).map_or(clock, |at| &clock[..at]);
    let (mut hour, minute, second, micros) = fields(clock).ok_or_else(invalid)?;
    match meridiem {
        Some(_) if hour > 12 => return Err(out_of_range()),
        Some(false) if hour == 12 => hour = 0,
        Some(true) if hour != 12 => hour += 12,
        _ => {}
    }
    let overflow = hour > 24
        || minute > 59
        || second > 60
        || (hour == 24 && (minute > 0 || second > 0 || micros > 0));
    if overflow {
        return Err(out_of_range());
    }
    let total = ((hour * 60 + minute) * 60 + second) * USECS_PER_SECOND + micros;
    if total > USECS_PER_DAY {
        return Err(out_of_range());
    }
    Ok(total)
}

/// A date written with the time (`2003-04-12`, `1/8/1999`), which `time` ignores.
fn is_date(word: &str) -> bool {
    !word.contains(':')
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '/' | '.'))
        && word
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .starts_with(['-', '/'])
}

fn is_zone(word: &str) -> bool {
    zone::abbreviation(word).is_some() || zone::lookup(word).is_some()
}

/// `h:m[:s[.f]]` or `hhmm[ss[.f]]`: hours, minutes, seconds and the fraction in microseconds
/// (rounded past the sixth digit).
fn fields(clock: &str) -> Option<(i64, i64, i64, i64)> {
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let number = |part: &str| -> Option<i64> {
        (!part.is_empty() && part.len() <= 9 && part.chars().all(|c| c.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    let (hour, minute, second) = if whole.contains(':') {
        let parts: Vec<&str> = whole.split(':').collect();
        match parts.as_slice() {
            [h, m] if fraction.is_empty() => (number(h)?, number(m)?, 0),
            [h, m, s] => (number(h)?, number(m)?, number(s)?),
            _ => return None,
        }
    } else {
        match whole.len() {
            4 => (number(&whole[..2])?, number(&whole[2..])?, 0),
            6 => (
                number(&whole[..2])?,
                number(&whole[2..4])?,
                number(&whole[4..])?,
            ),
            _ => return None,
        }
    };
    let mut digits: String = fraction.chars().take(7).collect();
    while digits.len() < 7 {
        digits.push('0');
    }
    let micros = (digits.parse::<i64>().ok()? + 5) / 10;
    Some((hour, minute, second, micros))
}

/// `time_out`: `04:05:06.789`.
pub fn format(micros: i64) -> String {
    let (hour, minute) = (micros / 3_600_000_000, micros / 60_000_000 % 60);
    let (second, fraction) = (micros / USECS_PER_SECOND % 60, micros % USECS_PER_SECOND);
    let mut text = format!("{hour:02}:{minute:02}:{second:02}");
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text
}

/// `time(p)`: rounded half up to `precision` digits (`AdjustTimeForTypmod`).
pub fn round(micros: i64, precision: u32) -> i64 {
    if precision >= 6 {
        return micros;
    }
    let scale = 10i64.pow(6 - precision);
    (micros + scale / 2) / scale * scale
}

/// `time + interval`: only the interval's time part counts, wrapped into one day.
pub fn plus_interval(micros: i64, span: &Interval) -> i64 {
    (micros + span.micros % USECS_PER_DAY).rem_euclid(USECS_PER_DAY)
}

/// `interval::time`: the interval's time part modulo a day.
pub fn from_interval(span: &Interval) -> i64 {
    span.micros.rem_euclid(USECS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_postgres_reads() {
        let read = |text: &str| format(parse(text).unwrap());
        assert_eq!(read("04:05:06.789"), "04:05:06.789");
        assert_eq!(read("allballs"), "00:00:00");
        assert_eq!(read("040506"), "04:05:06");
        assert_eq!(read("4:05 PM"), "16:05:00");
        assert_eq!(read("12:00 AM"), "00:00:00");
        assert_eq!(read("04:05:06 PST"), "04:05:06");
        assert_eq!(read("04:05:06+02"), "04:05:06");
        assert_eq!(read("2003-04-12 04:05:06"), "04:05:06");
        assert_eq!(read("24:00:00"), "24:00:00");
        assert_eq!(read("23:59:59.9999999"), "24:00:00");
        assert_eq!(parse("x").unwrap_err().code, "22007");
        assert_eq!(parse("25:00").unwrap_err().code, "22008");
        assert_eq!(parse("24:00:01").unwrap_err().code, "22008");
        assert_eq!(parse("13:00 PM").unwrap_err().code, "22008");
    }
}
