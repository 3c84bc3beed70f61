//! PostgreSQL timestamps as the WAL carries them: microseconds since
//! 2000-01-01 00:00:00 UTC. The core never reads a clock; the primary stamps
//! these values from the `now` its driver passes in.

/// Microseconds since 2000-01-01 00:00:00 UTC.
pub type Timestamp = i64;

/// Seconds between the Unix epoch and PostgreSQL's epoch.
pub const POSTGRES_EPOCH_UNIX_SECONDS: i64 = 946_684_800;

/// Convert Unix milliseconds (what a browser or the OS reports) to a [`Timestamp`].
pub fn from_unix_millis(millis: i64) -> Timestamp {
    (millis - POSTGRES_EPOCH_UNIX_SECONDS * 1000) * 1000
}

/// Days since 1970-01-01 to a civil (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-23 19:05:50.127268`: the date and time of day, microseconds always shown.
pub fn format_timestamp_micros(timestamp: Timestamp) -> String {
    let unix_micros = timestamp + POSTGRES_EPOCH_UNIX_SECONDS * 1_000_000;
    let seconds = unix_micros.div_euclid(1_000_000);
    let micros = unix_micros.rem_euclid(1_000_000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{micros:06}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// `2026-11-23 21:16:44`: whole seconds, as PostgreSQL's log shows pg_control times.
pub fn format_timestamp_seconds(timestamp: Timestamp) -> String {
    let text = format_timestamp_micros(timestamp);
    text.split('.').next().unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_postgres_epoch_and_a_known_date() {
        assert_eq!(format_timestamp_micros(0), "2000-01-01 00:00:00.000000");
        // 2026-11-23 19:05:50.127268 UTC is Unix 1795460750.127268.
        let timestamp = from_unix_millis(1_795_460_750_127) + 268;
        assert_eq!(
            format_timestamp_micros(timestamp),
            "2026-11-23 19:05:50.127268"
        );
        assert_eq!(format_timestamp_micros(-1), "1999-12-31 23:59:59.999999");
    }
}
