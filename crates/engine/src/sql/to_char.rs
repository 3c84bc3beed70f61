//! `to_char(timestamp, text)` and `to_char(timestamptz, text)`: PostgreSQL's template patterns
//! (`YYYY-MM-DD HH24:MI:SS.MS`, `Month`, `Dy`, `AM`, `DDth`, `FM` to drop padding, quoted
//! literals), read as `formatting.c` reads them: its keyword table matched case-sensitively in
//! its order (so `Month` and `MONTH` differ, and `Dd` is `D` then `d`), an `FM`/`TM` prefix and
//! a `TH`/`th`/`SP` suffix around a keyword. The session zone is UTC, so `TZ` is `UTC` for a
//! timestamptz (nothing for a timestamp) and `OF` is `+00`.

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
const ROMAN_MONTHS: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

/// formatting.c's `DCH_keywords`, in its order: the first that the template starts with wins.
const KEYWORDS: &[&str] = &[
    "A.D.", "A.M.", "AD", "AM", "B.C.", "BC", "CC", "DAY", "DDD", "DD", "DY", "Day", "Dy", "D",
    "FF1", "FF2", "FF3", "FF4", "FF5", "FF6", "FX", "HH24", "HH12", "HH", "IDDD", "ID", "IW",
    "IYYY", "IYY", "IY", "I", "J", "MI", "MM", "MONTH", "MON", "MS", "Month", "Mon", "OF", "P.M.",
    "PM", "Q", "RM", "SSSSS", "SSSS", "SS", "TZH", "TZM", "TZ", "US", "WW", "W", "Y,YYY", "YYYY",
    "YYY", "YY", "Y", "a.d.", "a.m.", "ad", "am", "b.c.", "bc", "cc", "day", "ddd", "dd", "dy",
    "d", "ff1", "ff2", "ff3", "ff4", "ff5", "ff6", "fx", "hh24", "hh12", "hh", "iddd", "id", "iw",
    "iyyy", "iyy", "iy", "i", "j", "mi", "mm", "month", "mon", "ms", "of", "p.m.", "pm", "q", "rm",
    "sssss", "ssss", "ss", "tzh", "tzm", "tz", "us", "ww", "w", "y,yyy", "yyyy", "yyy", "yy", "y",
];

/// How a keyword is written around: `FM` (no padding), `TM` (names unpadded), `TH`/`th`.
#[derive(Clone, Copy, Default)]
struct Modifiers {
    fill_mode: bool,
    translate: bool,
    ordinal: Option<bool>,
}

/// A timestamptz's zone at the instant formatted: offset east of UTC in seconds, abbreviation.
pub type ZoneInfo<'a> = Option<(i32, &'a str)>;

/// Formats `time` (local) with `template`; `zone` for a timestamptz (`TZ`, `TZH`, `OF`).
pub fn format(time: NaiveDateTime, template: &str, zone: ZoneInfo<'_>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while !rest.is_empty() {
        let mut modifiers = Modifiers::default();
        for (prefix, translate) in [("FM", false), ("fm", false), ("TM", true), ("tm", true)] {
            if let Some(after) = rest.strip_prefix(prefix) {
                modifiers.fill_mode |= !translate;
                modifiers.translate |= translate;
                rest = after;
                break;
            }
        }
        let Some(keyword) = KEYWORDS.iter().find(|k| rest.starts_with(**k)) else {
            rest = literal(rest, &mut out);
            continue;
        };
        rest = &rest[keyword.len()..];
        for (suffix, ordinal) in [("TH", Some(true)), ("th", Some(false)), ("SP", None)] {
            if let Some(after) = rest.strip_prefix(suffix) {
                modifiers.ordinal = ordinal;
                rest = after;
                break;
            }
        }
        let mut text = field(time, keyword, modifiers, zone);
        if let (Some(upper), true) = (modifiers.ordinal, is_number(keyword)) {
            text.push_str(&ordinal_suffix(&text, upper));
        }
        out.push_str(&text);
    }
    Ok(out)
}

/// The numeric keywords, which take a `TH` suffix.
fn is_number(keyword: &str) -> bool {
    !matches!(
        keyword.to_ascii_uppercase().as_str(),
        "A.D."
            | "A.M."
            | "AD"
            | "AM"
            | "B.C."
            | "BC"
            | "DAY"
            | "DY"
            | "FX"
            | "MONTH"
            | "MON"
            | "OF"
            | "P.M."
            | "PM"
            | "RM"
            | "TZH"
            | "TZ"
    )
}

/// formatting.c's `get_th`: `st`, `nd`, `rd` or `th` after the number's last digit (teens `th`).
fn ordinal_suffix(number: &str, upper: bool) -> String {
    let digits = number.as_bytes();
    let teen = digits.len() > 1 && digits[digits.len() - 2] == b'1';
    let suffix = match digits.last() {
        Some(b'1') if !teen => "st",
        Some(b'2') if !teen => "nd",
        Some(b'3') if !teen => "rd",
        _ => "th",
    };
    if upper {
        suffix.to_ascii_uppercase()
    } else {
        suffix.into()
    }
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

/// The case a keyword is written in picks the case of its text: `MONTH`, `Month`, `month`.
fn cased(text: &str, keyword: &str) -> String {
    let mut letters = keyword.chars().filter(char::is_ascii_alphabetic);
    let first_upper = letters.next().is_some_and(|c| c.is_ascii_uppercase());
    let second_upper = letters.next().is_none_or(|c| c.is_ascii_uppercase());
    match (first_upper, second_upper) {
        (true, true) => text.to_ascii_uppercase(),
        (true, false) => text.to_string(),
        _ => text.to_ascii_lowercase(),
    }
}

/// `%0*d`: zero-padded to `width` (one more for a minus sign), unpadded in fill mode.
fn padded(number: i64, width: usize, fill_mode: bool) -> String {
    if fill_mode {
        number.to_string()
    } else if number < 0 {
        format!("-{:0width$}", -number)
    } else {
        format!("{number:0width$}")
    }
}

/// The year as written (formatting.c's `ADJUST_YEAR`): 1 BC is 1, not 0.
fn written_year(year: i64) -> i64 {
    if year <= 0 {
        1 - year
    } else {
        year
    }
}

fn field(time: NaiveDateTime, keyword: &str, modifiers: Modifiers, zone: ZoneInfo<'_>) -> String {
    let (offset, abbrev) = zone.unwrap_or((0, ""));
    let sign = if offset < 0 { '-' } else { '+' };
    let (hours, minutes) = (
        offset.unsigned_abs() / 3600,
        offset.unsigned_abs() / 60 % 60,
    );
    let fill_mode = modifiers.fill_mode;
    let name = |text: &str| {
        let text = cased(text, keyword);
        if fill_mode || modifiers.translate {
            text
        } else {
            format!("{text:<9}")
        }
    };
    let upper = keyword.to_ascii_uppercase();
    match upper.as_str() {
        "MONTH" => name(MONTHS[time.month0() as usize]),
        "MON" => cased(&MONTHS[time.month0() as usize][..3], keyword),
        "DAY" => name(DAYS[time.weekday().num_days_from_sunday() as usize]),
        "DY" => cased(
            &DAYS[time.weekday().num_days_from_sunday() as usize][..3],
            keyword,
        ),
        "AM" | "PM" => cased(if time.hour() >= 12 { "PM" } else { "AM" }, keyword),
        "A.M." | "P.M." => cased(if time.hour() >= 12 { "P.M." } else { "A.M." }, keyword),
        "AD" | "BC" => cased(if time.year() <= 0 { "BC" } else { "AD" }, keyword),
        "A.D." | "B.C." => cased(if time.year() <= 0 { "B.C." } else { "A.D." }, keyword),
        "RM" => {
            let roman = cased(ROMAN_MONTHS[time.month0() as usize], keyword);
            if fill_mode {
                roman
            } else {
                format!("{roman:<4}")
            }
        }
        "TZ" => cased(abbrev, keyword),
        "FX" => String::new(),
        "TZH" => format!("{sign}{hours:02}"),
        "TZM" => format!("{minutes:02}"),
        "OF" if minutes != 0 => {
            format!("{sign}{}:{minutes:02}", padded(hours.into(), 2, fill_mode))
        }
        "OF" => format!("{sign}{}", padded(hours.into(), 2, fill_mode)),
        _ => number_field(time, &upper, fill_mode),
    }
}

fn number_field(time: NaiveDateTime, upper: &str, fill_mode: bool) -> String {
    let year = written_year(i64::from(time.year()));
    let iso_year = written_year(i64::from(time.iso_week().year()));
    let micros = i64::from(time.nanosecond() / 1000);
    let hour12 = match time.hour() % 12 {
        0 => 12,
        h => h,
    };
    let day_of_week = i64::from(time.weekday().num_days_from_sunday());
    let iso_week = i64::from(time.iso_week().week());
    let iso_day = i64::from(time.weekday().number_from_monday());
    match upper {
        "YYYY" => padded(year, 4, fill_mode),
        "YYY" => padded(year % 1000, 3, fill_mode),
        "YY" => padded(year % 100, 2, fill_mode),
        "Y" => padded(year % 10, 1, fill_mode),
        "Y,YYY" => format!("{},{:03}", year / 1000, year % 1000),
        "IYYY" => padded(iso_year, 4, fill_mode),
        "IYY" => padded(iso_year % 1000, 3, fill_mode),
        "IY" => padded(iso_year % 100, 2, fill_mode),
        "I" => padded(iso_year % 10, 1, fill_mode),
        "CC" => {
            let year = i64::from(time.year());
            let century = if year > 0 {
                (year + 99) / 100
            } else {
                -((99 - (year - 1)) / 100)
            };
            padded(century, 2, fill_mode)
        }
        "HH24" => padded(i64::from(time.hour()), 2, fill_mode),
        "HH12" | "HH" => padded(i64::from(hour12), 2, fill_mode),
        "MI" => padded(i64::from(time.minute()), 2, fill_mode),
        "SS" => padded(i64::from(time.second()), 2, fill_mode),
        "SSSS" | "SSSSS" => time.num_seconds_from_midnight().to_string(),
        "MS" => format!("{:03}", micros / 1000),
        "US" => format!("{micros:06}"),
        "MM" => padded(i64::from(time.month()), 2, fill_mode),
        "DDD" => padded(i64::from(time.ordinal()), 3, fill_mode),
        "DD" => padded(i64::from(time.day()), 2, fill_mode),
        "D" => (day_of_week + 1).to_string(),
        "IDDD" => padded((iso_week - 1) * 7 + iso_day, 3, fill_mode),
        "ID" => iso_day.to_string(),
        "Q" => ((time.month0() / 3) + 1).to_string(),
        "WW" => padded(i64::from((time.ordinal() - 1) / 7 + 1), 2, fill_mode),
        "W" => ((time.day() - 1) / 7 + 1).to_string(),
        "IW" => padded(iso_week, 2, fill_mode),
        "J" => (i64::from(time.date().num_days_from_ce()) + 1_721_425).to_string(),
        fraction => {
            // FF1 .. FF6: the first n digits of the microseconds.
            let digits = fraction[2..].parse::<u32>().unwrap_or(6).min(6);
            let value = micros / 10_i64.pow(6 - digits);
            format!("{value:0width$}", width = digits as usize)
        }
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
            let _ = format(time, &template, Some((0, "UTC")));
        }
    }

    #[test]
    fn names_follow_the_case_of_the_pattern() {
        let time = chrono::NaiveDate::from_ymd_opt(2024, 1, 5)
            .and_then(|d| d.and_hms_opt(15, 4, 5))
            .unwrap_or_default();
        assert_eq!(
            format(time, "FMDay mon MON", None).unwrap(),
            "Friday jan JAN"
        );
        assert_eq!(format(time, "HH12 PM", None).unwrap(), "03 PM");
    }
}
