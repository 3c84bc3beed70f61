//! `to_char(timestamp, text)` and `to_char(timestamptz, text)`: PostgreSQL's template patterns
//! (`YYYY-MM-DD HH24:MI:SS.MS`, `Month`, `Dy`, `AM`, `FM` to drop padding, quoted literals),
//! taken as `formatting.c` reads them: longest pattern first, case choosing the case of names.
//! The session zone is UTC, so `TZ` is `UTC` and `OF` is `+00`.

use chrono::{Datelike, NaiveDateTime, Timelike};

use crate::error::Result;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Patterns, longest first where one is a prefix of another.
const PATTERNS: &[&str] = &[
    "YYYY", "YYY", "YY", "Y", "HH24", "HH12", "HH", "MI", "SS", "MS", "US", "MONTH", "MON", "MM",
    "DDD", "DD", "DAY", "DY", "D", "A.M.", "P.M.", "AM", "PM", "Q", "WW", "IW", "J", "TZ", "OF",
];

/// Formats `time` (microseconds since 2000-01-01, already valid) with `template`.
pub fn format(time: NaiveDateTime, template: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while !rest.is_empty() {
        let fill_mode = rest.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("FM"));
        let body = if fill_mode { &rest[2..] } else { rest };
        let upper = body.to_ascii_uppercase();
        if let Some(pattern) = PATTERNS.iter().find(|p| upper.starts_with(**p)) {
            out.push_str(&field(time, pattern, &body[..pattern.len()], fill_mode));
            rest = &body[pattern.len()..];
            continue;
        }
        rest = literal(rest, &mut out);
    }
    Ok(out)
}

/// Copies one literal piece (a character, a quoted string, an escaped double quote).
fn literal<'a>(rest: &'a str, out: &mut String) -> &'a str {
    let mut chars = rest.chars();
    match chars.next() {
        Some('"') => {
            let mut escaped = false;
            for (index, c) in rest.char_indices().skip(1) {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => return &rest[index + 1..],
                    other => {
                        out.push(other);
                        escaped = false;
                    }
                }
            }
            ""
        }
        // Outside quotes a backslash is itself, except before a double quote.
        Some('\\') if chars.next() == Some('"') => {
            out.push('"');
            &rest[2..]
        }
        Some(c) => {
            out.push(c);
            &rest[c.len_utf8()..]
        }
        None => "",
    }
}

/// `Month` / `MONTH` / `month`: the case of the pattern's first letters picks the name's.
fn cased(name: &str, written: &str) -> String {
    let mut letters = written.chars();
    let first_upper = letters.next().is_some_and(|c| c.is_ascii_uppercase());
    let second_upper = letters.next().is_some_and(|c| c.is_ascii_uppercase());
    match (first_upper, second_upper) {
        (true, true) => name.to_ascii_uppercase(),
        (true, false) => name.to_string(),
        _ => name.to_ascii_lowercase(),
    }
}

fn padded(number: i64, width: usize, fill_mode: bool) -> String {
    if fill_mode {
        number.to_string()
    } else if number < 0 {
        format!("-{:0width$}", -number)
    } else {
        format!("{number:0width$}")
    }
}

fn field(time: NaiveDateTime, pattern: &str, written: &str, fill_mode: bool) -> String {
    let year = i64::from(time.year());
    let hour12 = match time.hour() % 12 {
        0 => 12,
        h => h,
    };
    let pm = time.hour() >= 12;
    let name = |name: &str| {
        let text = cased(name, written);
        if fill_mode {
            text
        } else {
            format!("{text:<9}")
        }
    };
    let micros = i64::from(time.nanosecond() / 1000);
    match pattern {
        "YYYY" => padded(year, 4, fill_mode),
        "YYY" => padded(year % 1000, 3, fill_mode),
        "YY" => padded(year % 100, 2, fill_mode),
        "Y" => padded(year % 10, 1, fill_mode),
        "HH24" => padded(i64::from(time.hour()), 2, fill_mode),
        "HH12" | "HH" => padded(i64::from(hour12), 2, fill_mode),
        "MI" => padded(i64::from(time.minute()), 2, fill_mode),
        "SS" => padded(i64::from(time.second()), 2, fill_mode),
        "MS" => padded(micros / 1000, 3, fill_mode),
        "US" => padded(micros, 6, fill_mode),
        "MONTH" => name(MONTHS[time.month0() as usize]),
        "MON" => cased(&MONTHS[time.month0() as usize][..3], written),
        "MM" => padded(i64::from(time.month()), 2, fill_mode),
        "DDD" => padded(i64::from(time.ordinal()), 3, fill_mode),
        "DD" => padded(i64::from(time.day()), 2, fill_mode),
        "DAY" => name(DAYS[time.weekday().num_days_from_sunday() as usize]),
        "DY" => cased(
            &DAYS[time.weekday().num_days_from_sunday() as usize][..3],
            written,
        ),
        "D" => (time.weekday().num_days_from_sunday() + 1).to_string(),
        "AM" | "PM" => cased(if pm { "PM" } else { "AM" }, written),
        "A.M." | "P.M." => cased(if pm { "P.M." } else { "A.M." }, written),
        "Q" => ((time.month0() / 3) + 1).to_string(),
        "WW" => padded(i64::from((time.ordinal() - 1) / 7 + 1), 2, fill_mode),
        "IW" => padded(i64::from(time.iso_week().week()), 2, fill_mode),
        "J" => (i64::from(time.date().num_days_from_ce()) + 1_721_425).to_string(),
        "TZ" => cased("UTC", written),
        _ => "+00".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_template_formats_without_panic(
            template in "[YMDHISAPQWJTZOFUdaymonthfm.\\\\\"' :-é]{0,30}",
            seconds in 0i64..8_000_000_000_000,
        ) {
            let time = chrono::DateTime::from_timestamp(seconds - 62_000_000_000, 0)
                .map(|t| t.naive_utc())
                .unwrap_or_default();
            let _ = format(time, &template);
        }
    }

    #[test]
    fn names_follow_the_case_of_the_pattern() {
        let time = chrono::NaiveDate::from_ymd_opt(2024, 1, 5)
            .and_then(|d| d.and_hms_opt(15, 4, 5))
            .unwrap_or_default();
        assert_eq!(format(time, "FMDay mon MON").unwrap(), "Friday jan JAN");
        assert_eq!(format(time, "HH12 PM").unwrap(), "03 PM");
    }
}
