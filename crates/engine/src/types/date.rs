//! PostgreSQL's `date`: days since 2000-01-01 in an `i32`, from 4713 BC to 5874897 AD, with
//! `infinity` and `-infinity` at the ends. The calendar is PostgreSQL's own `date2j`/`j2date`
//! (Julian day numbers), so every date PostgreSQL can hold prints, far past chrono's years.

use crate::error::{code, DbError, Result};

/// Julian day of 2000-01-01 (POSTGRES_EPOCH_JDATE).
pub const EPOCH_JULIAN: i64 = 2_451_545;
/// `-infinity` and `infinity` (DATEVAL_NOBEGIN, DATEVAL_NOEND).
pub const NEG_INFINITY: i32 = i32::MIN;
pub const INFINITY: i32 = i32::MAX;
/// The first valid day (4714-11-24 BC) and one past the last (5874898-01-01).
const MIN_DATE: i64 = -EPOCH_JULIAN;
const END_DATE: i64 = 2_147_483_494 - EPOCH_JULIAN;

/// 22008 `date out of range`.
pub fn out_of_range() -> DbError {
    DbError::new(code::DATETIME_FIELD_OVERFLOW, "date out of range")
}

/// PostgreSQL's date2j: the Julian day number of a (proleptic Gregorian) date.
pub fn date2j(year: i64, month: i64, day: i64) -> i64 {
    let (month, year) = if month > 2 {
        (month + 1, year + 4800)
    } else {
        (month + 13, year + 4799)
    };
    let century = year.div_euclid(100);
    let mut julian = year * 365 - 32167;
    julian += year.div_euclid(4) - century + century.div_euclid(4);
    julian + 7834 * month / 256 + day
}

/// PostgreSQL's j2date: (year, month, day) of a Julian day number.
pub fn j2date(julian_day: i64) -> (i64, i64, i64) {
    let mut julian = julian_day + 32044;
    let mut quad = julian.div_euclid(146_097);
    let extra = (julian - quad * 146_097) * 4 + 3;
    julian += 60 + quad * 3 + extra.div_euclid(146_097);
    quad = julian.div_euclid(1461);
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y != 0 {
        (julian + 305) % 365
    } else {
        (julian + 306) % 366
    } + 123;
    y += quad * 4;
    let quad = julian * 2141 / 65536;
    (y - 4800, (quad + 10) % 12 + 1, julian - 7834 * quad / 256)
}

/// Whether a day count is a date PostgreSQL can hold (or an infinity).
pub fn checked(days: i64) -> Result<i32> {
    if (MIN_DATE..END_DATE).contains(&days) {
        Ok(days as i32)
    } else {
        Err(out_of_range())
    }
}

/// ISO output (DateStyle ISO): `2024-01-15`, `0044-03-15 BC`, `infinity`.
pub fn format(days: i32) -> String {
    match days {
        NEG_INFINITY => return "-infinity".into(),
        INFINITY => return "infinity".into(),
        _ => {}
    }
    let (year, month, day) = j2date(i64::from(days) + EPOCH_JULIAN);
    if year > 0 {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{:04}-{month:02}-{day:02} BC", 1 - year)
    }
}

/// date_in for the ISO forms: `2024-01-15`, with an optional time that is checked and dropped,
/// `epoch`, `infinity`, `-infinity`.
pub fn parse(text: &str) -> Result<i32> {
    let trimmed = text.trim();
    let invalid = || {
        DbError::new(
            code::INVALID_DATETIME_FORMAT,
            format!("invalid input syntax for type date: \"{text}\""),
        )
    };
    // ParseDateTime's buffer (MAXDATELEN + 1 bytes, each field with its terminator) and its
    // 25 fields: longer input is a bad format, however valid its fields.
    let fields = trimmed.split_whitespace();
    let bytes: usize = fields.clone().map(|field| field.len() + 1).sum();
    if bytes > 129 || fields.count() > 25 {
        return Err(invalid());
    }
    match trimmed.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" => return Ok(INFINITY),
        "-infinity" => return Ok(NEG_INFINITY),
        "epoch" => return Ok(-10_957),
        word @ ("now" | "today" | "tomorrow" | "yesterday") => {
            let days = match word {
                "tomorrow" => 1,
                "yesterday" => -1,
                _ => 0,
            };
            let midnight = super::zone::local_midnight(days).ok_or_else(invalid)?;
            return checked(midnight.div_euclid(super::interval::USECS_PER_DAY));
        }
        _ => {}
    }
    let (trimmed, before_christ) = strip_era(trimmed);
    let (date, time) = trimmed
        .split_once([' ', 'T'])
        .map_or((trimmed, ""), |(d, t)| (d, t.trim()));
    let fields: Vec<&str> = date.split('-').collect();
    let [year, month, day] = fields.as_slice() else {
        return Err(invalid());
    };
    let number = |field: &str| -> Result<i64> {
        if field.is_empty() || field.len() > 9 || !field.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        field.parse().map_err(|_| invalid())
    };
    let (written_year, month, day) = (number(year)?, number(month)?, number(day)?);
    // 1 BC is the astronomical year 0 (whose leap day PostgreSQL's calendar keeps).
    let year = if before_christ && written_year > 0 {
        1 - written_year
    } else {
        written_year
    };
    let field_overflow = || {
        DbError::new(
            code::DATETIME_FIELD_OVERFLOW,
            format!("date/time field value out of range: \"{text}\""),
        )
    };
    if !time.is_empty() && !time_fits(time).ok_or_else(invalid)? {
        return Err(field_overflow());
    }
    if month > 12 {
        return Err(
            field_overflow().with_hint("Perhaps you need a different \"datestyle\" setting.")
        );
    }
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 0,
    };
    if written_year == 0 || day < 1 || day > days_in_month {
        return Err(field_overflow());
    }
    checked(date2j(year, month, day) - EPOCH_JULIAN).map_err(|_| {
        DbError::new(
            code::DATETIME_FIELD_OVERFLOW,
            format!("date out of range: \"{text}\""),
        )
    })
}

/// A trailing `BC` or `AD` (after a space or the last digit): the text before it, and whether
/// it was BC.
fn strip_era(text: &str) -> (&str, bool) {
    let Some(split) = text
        .len()
        .checked_sub(2)
        .filter(|&at| text.is_char_boundary(at))
    else {
        return (text, false);
    };
    let (rest, era) = text.split_at(split);
    let before_christ = era.eq_ignore_ascii_case("bc");
    let attached = rest.ends_with(|c: char| c.is_ascii_whitespace() || c.is_ascii_digit());
    if attached && (before_christ || era.eq_ignore_ascii_case("ad")) {
        (rest.trim_end(), before_christ)
    } else {
        (text, false)
    }
}

/// A time of day after a date, `hh:mm[:ss[.ffffff]]`: None when it does not parse,
/// Some(false) when a field is out of range (24:00:00 is allowed, as in PostgreSQL).
fn time_fits(time: &str) -> Option<bool> {
    let parts: Vec<&str> = time.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let whole = |part: &str| -> Option<u64> {
        (!part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    let (hour, minute) = (whole(parts[0])?, whole(parts[1])?);
    let (second, fraction) = match parts.get(2) {
        Some(seconds) => {
            let (s, f) = seconds.split_once('.').unwrap_or((seconds, ""));
            if !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (whole(s)?, f.bytes().any(|b| b != b'0'))
        }
        None => (0, false),
    };
    let past_midnight = hour == 24 && (minute > 0 || second > 0 || fraction);
    Some(hour <= 24 && minute < 60 && second < 60 && !past_midnight)
}

/// Days since 2000-01-01 of 294277-01-01, where timestamps end (TIMESTAMP_END_JULIAN).
const END_TIMESTAMP_DATE: i64 = 109_203_528 - EPOCH_JULIAN;

/// Microseconds since 2000-01-01 of the date's midnight (`date::timestamp`). A date past the
/// timestamps' end is PostgreSQL's error; an infinite one is an infinite timestamp.
pub fn to_timestamp(days: i32) -> Result<i64> {
    match days {
        INFINITY => return Ok(super::TIMESTAMP_INFINITY),
        NEG_INFINITY => return Ok(super::TIMESTAMP_NEG_INFINITY),
        _ => {}
    }
    if !(MIN_DATE..END_TIMESTAMP_DATE).contains(&i64::from(days)) {
        return Err(DbError::new(
            code::DATETIME_FIELD_OVERFLOW,
            "date out of range for timestamp",
        ));
    }
    Ok(i64::from(days) * super::interval::USECS_PER_DAY)
}

/// The date of a timestamp (`timestamp::date`).
pub fn from_timestamp(micros: i64) -> Result<i32> {
    match micros {
        super::TIMESTAMP_INFINITY => return Ok(INFINITY),
        super::TIMESTAMP_NEG_INFINITY => return Ok(NEG_INFINITY),
        _ => {}
    }
    checked(micros.div_euclid(super::interval::USECS_PER_DAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn julian_days_round_trip() {
        for days in [-2_451_545, -1, 0, 1, 8_780, 2_145_031_948] {
            let (y, m, d) = j2date(days + EPOCH_JULIAN);
            assert_eq!(date2j(y, m, d) - EPOCH_JULIAN, days);
        }
        assert_eq!(format(0), "2000-01-01");
        assert_eq!(format(parse("0044-03-15").unwrap()), "0044-03-15");
        assert_eq!(parse("2024-02-30").unwrap_err().code, "22008");
        assert_eq!(parse("x").unwrap_err().code, "22007");
    }

    #[test]
    fn timestamps_end_where_postgres_ends_them() {
        let last = parse("294276-12-31").unwrap();
        assert_eq!(
            crate::types::format_timestamp(to_timestamp(last).unwrap()),
            "294276-12-31 00:00:00"
        );
        assert_eq!(to_timestamp(last + 1).unwrap_err().code, "22008");
        // An infinite date is an infinite timestamp, and back.
        let infinite = to_timestamp(INFINITY).unwrap();
        assert_eq!(crate::types::format_timestamp(infinite), "infinity");
        assert_eq!(from_timestamp(infinite).unwrap(), INFINITY);
        let before_all = to_timestamp(NEG_INFINITY).unwrap();
        assert_eq!(from_timestamp(before_all).unwrap(), NEG_INFINITY);
    }

    proptest::proptest! {
        #[test]
        fn any_text_and_any_day_never_panic(text in "[-+ 0-9:.Tinfytpoch]{0,24}", day in proptest::prelude::any::<i32>()) {
            let _ = parse(&text);
            let _ = format(day);
            let _ = to_timestamp(day);
        }

        #[test]
        fn output_reads_back(day in MIN_DATE..END_DATE) {
            let day = day as i32;
            let text = format(day);
            proptest::prop_assert_eq!(parse(&text).ok(), Some(day), "{}", text);
        }
    }
}
