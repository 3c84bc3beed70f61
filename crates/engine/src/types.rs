//! SQL data types and values: text input and output as PostgreSQL does them,
//! casts, comparison and the arithmetic that can overflow.

use std::cmp::Ordering;

use pgplay_wal::Lsn;

use crate::error::{code, DbError, Result};

pub mod array;
pub mod bytea;
pub mod date;
pub mod float;
pub mod interval;
pub mod json;
pub mod numeric;
pub mod time;
pub mod uuid;
pub mod zone;
pub use array::Array;
pub use interval::Interval;
pub use json::Jsonb;
pub use numeric::Numeric;

/// A column or expression type. Modifiers (`varchar(3)`, `numeric(5,2)`) are kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    Bool,
    Int2,
    Int4,
    Int8,
    Numeric {
        precision_scale: Option<(u32, i32)>,
    },
    Float8,
    Text,
    Varchar(Option<u32>),
    Name,
    /// PostgreSQL's one-byte `"char"`.
    Char,
    Oid,
    Timestamp,
    TimestampTz,
    Date,
    Interval,
    PgLsn,
    /// An untyped string literal, typed later by context.
    Unknown,
    /// A one-dimensional array of the element type (`integer[]`; never an array of arrays).
    Array(Box<DataType>),
    Uuid,
    Bytea,
    Float4,
    /// `time [(p)] without time zone`, with its precision.
    Time(Option<u32>),
    Json,
    Jsonb,
}

impl DataType {
    pub const NUMERIC: DataType = DataType::Numeric {
        precision_scale: None,
    };

    /// The name PostgreSQL uses in messages (`format_type`).
    pub fn name(&self) -> String {
        match self {
            DataType::Bool => "boolean".into(),
            DataType::Int2 => "smallint".into(),
            DataType::Int4 => "integer".into(),
            DataType::Int8 => "bigint".into(),
            DataType::Numeric {
                precision_scale: None,
            } => "numeric".into(),
            DataType::Numeric {
                precision_scale: Some((p, s)),
            } => format!("numeric({p},{s})"),
            DataType::Float8 => "double precision".into(),
            DataType::Text => "text".into(),
            DataType::Varchar(None) => "character varying".into(),
            DataType::Varchar(Some(n)) => format!("character varying({n})"),
            DataType::Name => "name".into(),
            DataType::Char => "\"char\"".into(),
            DataType::Oid => "oid".into(),
            DataType::Timestamp => "timestamp without time zone".into(),
            DataType::TimestampTz => "timestamp with time zone".into(),
            DataType::Interval => "interval".into(),
            DataType::Date => "date".into(),
            DataType::PgLsn => "pg_lsn".into(),
            DataType::Unknown => "unknown".into(),
            DataType::Array(element) => format!("{}[]", element.name()),
            DataType::Uuid => "uuid".into(),
            DataType::Bytea => "bytea".into(),
            DataType::Float4 => "real".into(),
            DataType::Time(None) => "time without time zone".into(),
            DataType::Time(Some(p)) => format!("time({p}) without time zone"),
            DataType::Json => "json".into(),
            DataType::Jsonb => "jsonb".into(),
        }
    }

    /// The name without modifiers, for operator and function messages.
    pub fn base_name(&self) -> String {
        match self {
            DataType::Numeric { .. } => "numeric".into(),
            DataType::Varchar(_) => "character varying".into(),
            DataType::Array(element) => format!("{}[]", element.base_name()),
            DataType::Time(_) => "time without time zone".into(),
            other => other.name(),
        }
    }

    /// The type OID clients see (pg_type.oid).
    pub fn oid(&self) -> u32 {
        match self {
            DataType::Bool => 16,
            DataType::Int2 => 21,
            DataType::Int4 => 23,
            DataType::Int8 => 20,
            DataType::Numeric { .. } => 1700,
            DataType::Float8 => 701,
            DataType::Text | DataType::Unknown => 25,
            DataType::Varchar(_) => 1043,
            DataType::Name => 19,
            DataType::Char => 18,
            DataType::Oid => 26,
            DataType::Timestamp => 1114,
            DataType::TimestampTz => 1184,
            DataType::Interval => 1186,
            DataType::Date => 1082,
            DataType::PgLsn => 3220,
            DataType::Array(element) => array_oid(element),
            DataType::Uuid => 2950,
            DataType::Bytea => 17,
            DataType::Float4 => 700,
            DataType::Time(_) => 1083,
            DataType::Json => 114,
            DataType::Jsonb => 3802,
        }
    }

    /// An array of this type (`integer` → `integer[]`; an array stays itself).
    pub fn array_of(&self) -> DataType {
        match self {
            DataType::Array(_) => self.clone(),
            DataType::Unknown => DataType::Array(Box::new(DataType::Text)),
            other => DataType::Array(Box::new(other.clone())),
        }
    }

    /// The element type of an array type.
    pub fn element(&self) -> Option<&DataType> {
        match self {
            DataType::Array(element) => Some(element),
            _ => None,
        }
    }

    /// `atttypmod` as pg_attribute stores it.
    pub fn typmod(&self) -> i32 {
        match self {
            DataType::Array(element) => element.typmod(),
            DataType::Varchar(Some(n)) => *n as i32 + 4,
            DataType::Numeric {
                precision_scale: Some((p, s)),
            } => ((*p << 16) | (*s as u32 & 0x7FF)) as i32 + 4,
            DataType::Time(Some(p)) => *p as i32,
            _ => -1,
        }
    }

    pub fn from_oid(oid: u32, typmod: i32) -> Option<DataType> {
        Some(match oid {
            16 => DataType::Bool,
            21 => DataType::Int2,
            23 => DataType::Int4,
            20 => DataType::Int8,
            1700 if typmod >= 4 => {
                let packed = (typmod - 4) as u32;
                // The scale is 11 bits, signed (PostgreSQL 15 allows -1000 to 1000).
                let scale = ((packed & 0x7FF) as i32) << 21 >> 21;
                DataType::Numeric {
                    precision_scale: Some(((packed >> 16) & 0xFFFF, scale)),
                }
            }
            1700 => DataType::NUMERIC,
            701 => DataType::Float8,
            25 => DataType::Text,
            1043 => DataType::Varchar((typmod >= 4).then(|| (typmod - 4) as u32)),
            19 => DataType::Name,
            18 => DataType::Char,
            26 => DataType::Oid,
            1114 => DataType::Timestamp,
            1184 => DataType::TimestampTz,
            1186 => DataType::Interval,
            1082 => DataType::Date,
            3220 => DataType::PgLsn,
            2950 => DataType::Uuid,
            17 => DataType::Bytea,
            700 => DataType::Float4,
            1083 => DataType::Time((0..=6).contains(&typmod).then_some(typmod as u32)),
            114 => DataType::Json,
            3802 => DataType::Jsonb,
            array => {
                let element = ARRAY_OIDS.iter().find(|(_, a)| *a == array)?.0;
                DataType::Array(Box::new(DataType::from_oid(element, typmod)?))
            }
        })
    }

    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            DataType::Int2
                | DataType::Int4
                | DataType::Int8
                | DataType::Numeric { .. }
                | DataType::Float8
                | DataType::Oid
                | DataType::Float4
        )
    }
    pub fn is_string(&self) -> bool {
        matches!(
            self,
            DataType::Text
                | DataType::Varchar(_)
                | DataType::Name
                | DataType::Char
                | DataType::Unknown
        )
    }
    /// Rank within the numeric category, for implicit promotion.
    pub fn numeric_rank(&self) -> u8 {
        match self {
            DataType::Int2 => 1,
            DataType::Int4 | DataType::Oid => 2,
            DataType::Int8 => 3,
            DataType::Numeric { .. } => 4,
            DataType::Float8 | DataType::Float4 => 5,
            _ => 0,
        }
    }
    /// The same type without a length or precision modifier.
    pub fn without_modifier(&self) -> DataType {
        match self {
            DataType::Numeric { .. } => DataType::NUMERIC,
            DataType::Varchar(_) => DataType::Varchar(None),
            DataType::Array(element) => DataType::Array(Box::new(element.without_modifier())),
            DataType::Time(_) => DataType::Time(None),
            other => other.clone(),
        }
    }
}

/// Each element type's array type (pg_type.typarray): (element oid, array oid).
const ARRAY_OIDS: &[(u32, u32)] = &[
    (16, 1000),
    (21, 1005),
    (23, 1007),
    (20, 1016),
    (1700, 1231),
    (701, 1022),
    (25, 1009),
    (1043, 1015),
    (19, 1003),
    (18, 1002),
    (26, 1028),
    (1114, 1115),
    (1184, 1185),
    (1186, 1187),
    (1082, 1182),
    (3220, 3221),
    (2950, 2951),
    (17, 1001),
    (700, 1021),
    (1083, 1183),
    (114, 199),
    (3802, 3807),
];

fn array_oid(element: &DataType) -> u32 {
    let oid = element.oid();
    ARRAY_OIDS
        .iter()
        .find(|(e, _)| *e == oid)
        .map_or(2277, |(_, a)| *a)
}

/// A value of some [`DataType`]. `Null` belongs to every type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Numeric(Numeric),
    Float8(f64),
    Text(String),
    Oid(u32),
    /// Microseconds since 2000-01-01 00:00:00.
    Timestamp(i64),
    TimestampTz(i64),
    Interval(Interval),
    /// Days since 2000-01-01 ([`date`]).
    Date(i32),
    PgLsn(Lsn),
    Array(Box<Array>),
    Uuid([u8; 16]),
    Bytea(Vec<u8>),
    Float4(f32),
    /// Microseconds since midnight ([`time`]).
    Time(i64),
    /// `json`: the text as given (validated).
    Json(String),
    Jsonb(Box<Jsonb>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int2(v) => Some(i64::from(*v)),
            Value::Int4(v) => Some(i64::from(*v)),
            Value::Int8(v) => Some(*v),
            Value::Oid(v) => Some(i64::from(*v)),
            _ => None,
        }
    }

    /// The value as a numeric (integers exactly, float8 as PostgreSQL's cast does).
    pub fn as_numeric(&self) -> Option<Numeric> {
        match self {
            Value::Numeric(v) => Some(v.clone()),
            Value::Float8(v) => Some(Numeric::from_f64(*v)),
            // float4_numeric: the value printed with FLT_DIG digits, then read as numeric.
            Value::Float4(v) if v.is_finite() => {
                Numeric::parse(&float::format_g(f64::from(*v), 6)).ok()
            }
            Value::Float4(v) => Some(Numeric::from_f64(f64::from(*v))),
            other => other.as_i64().map(|v| Numeric::from_i128(i128::from(v))),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float8(v) => Some(*v),
            Value::Float4(v) => Some(f64::from(*v)),
            Value::Numeric(v) => Some(v.to_f64()),
            other => other.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// PostgreSQL's text output for the value (None for NULL).
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(v) => if *v { "t" } else { "f" }.to_string(),
            Value::Int2(v) => v.to_string(),
            Value::Int4(v) => v.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Oid(v) => v.to_string(),
            Value::Numeric(v) => v.to_string(),
            Value::Float8(v) => format_float8(*v),
            Value::Text(v) => v.clone(),
            Value::Timestamp(v) => format_timestamp(*v),
            Value::TimestampTz(v) => format_timestamptz(*v, &zone::session_zone()),
            Value::Interval(v) => interval::format(v),
            Value::Date(v) => date::format(*v),
            Value::PgLsn(v) => v.to_string(),
            Value::Array(v) => array::format(v),
            Value::Uuid(v) => uuid::format(v),
            Value::Bytea(v) => bytea::format(v),
            Value::Float4(v) => float::format_float4(*v),
            Value::Time(v) => time::format(*v),
            Value::Json(v) => v.clone(),
            Value::Jsonb(v) => json::format(v),
        })
    }
}

fn format_float8(value: f64) -> String {
    float::format_float8(value)
}

/// `2026-11-23 19:05:43.428659`, trailing zeros of the fraction dropped.
pub fn format_timestamp(micros: i64) -> String {
    timestamp_text(micros, "")
}

/// `infinity` and `-infinity` timestamps (PostgreSQL's DT_NOEND and DT_NOBEGIN).
pub const TIMESTAMP_INFINITY: i64 = i64::MAX;
pub const TIMESTAMP_NEG_INFINITY: i64 = i64::MIN;

pub fn is_finite_timestamp(micros: i64) -> bool {
    micros != TIMESTAMP_INFINITY && micros != TIMESTAMP_NEG_INFINITY
}

/// `timestamp(p)`: `micros` rounded to `precision` fractional digits (half away from zero), as
/// PostgreSQL's `AdjustTimestampForTypmod`.
pub fn round_timestamp(micros: i64, precision: u64) -> i64 {
    if precision >= 6 || !is_finite_timestamp(micros) {
        return micros;
    }
    let scale = 10i64.pow(6 - precision as u32);
    let offset = scale / 2;
    if micros >= 0 {
        (micros.saturating_add(offset)) / scale * scale
    } else {
        -((micros.saturating_neg().saturating_add(offset)) / scale * scale)
    }
}

/// A timestamptz in `zone`: the local time, then the offset (`+01`, `-03:30`).
pub fn format_timestamptz(micros: i64, zone: &zone::Zone) -> String {
    if !is_finite_timestamp(micros) {
        return timestamp_text(micros, "");
    }
    let offset = zone.offset_at(micros);
    let local = micros.saturating_add(i64::from(offset) * 1_000_000);
    timestamp_text(local, &zone::format_offset(offset, true))
}

/// A timestamp as PostgreSQL prints it (DateStyle ISO), `zone` after the time: the calendar is
/// PostgreSQL's own Julian-day one, so every year it can hold prints (`294276-12-31`, past
/// chrono's), and years before 1 AD print as `0044-03-15 00:00:00 BC`.
fn timestamp_text(micros: i64, zone: &str) -> String {
    match micros {
        TIMESTAMP_INFINITY => return "infinity".into(),
        TIMESTAMP_NEG_INFINITY => return "-infinity".into(),
        _ => {}
    }
    let day = micros.div_euclid(interval::USECS_PER_DAY);
    let time = micros.rem_euclid(interval::USECS_PER_DAY);
    let (year, month, day) = date::j2date(day + date::EPOCH_JULIAN);
    let (hour, minute) = (time / 3_600_000_000, time / 60_000_000 % 60);
    let (second, fraction) = (time / 1_000_000 % 60, time % 1_000_000);
    let written_year = if year > 0 { year } else { 1 - year };
    let mut text =
        format!("{written_year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}");
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text.push_str(zone);
    if year <= 0 {
        text.push_str(" BC");
    }
    text
}

fn parse_timestamp(text: &str, with_zone: bool) -> Result<i64> {
    let type_name = if with_zone {
        "timestamp with time zone"
    } else {
        "timestamp"
    };
    let invalid = || {
        DbError::new(
            code::INVALID_DATETIME_FORMAT,
            format!("invalid input syntax for type {type_name}: \"{text}\""),
        )
    };
    let trimmed = text.trim();
    match trimmed.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" => return Ok(TIMESTAMP_INFINITY),
        "-infinity" => return Ok(TIMESTAMP_NEG_INFINITY),
        "epoch" => return Ok(-946_684_800_000_000),
        "now" => {
            let now = zone::statement_now().ok_or_else(invalid)?;
            return Ok(if with_zone {
                now
            } else {
                zone::session_zone().to_local(now)
            });
        }
        word @ ("today" | "tomorrow" | "yesterday") => {
            let days = match word {
                "tomorrow" => 1,
                "yesterday" => -1,
                _ => 0,
            };
            let midnight = zone::local_midnight(days).ok_or_else(invalid)?;
            return Ok(if with_zone {
                zone::session_zone().to_utc(midnight)
            } else {
                midnight
            });
        }
        _ => {}
    }
    let (trimmed, era) = match trimmed.len().checked_sub(3).map(|at| trimmed.split_at(at)) {
        Some((rest, era)) if era.eq_ignore_ascii_case(" bc") || era.eq_ignore_ascii_case(" ad") => {
            (rest.trim_end(), era)
        }
        _ => (trimmed, ""),
    };
    let (body, zone) = split_zone(trimmed).ok_or_else(invalid)?;
    let days = date::parse(&format!("{body}{era}")).map_err(|error| {
        if error.code == code::DATETIME_FIELD_OVERFLOW {
            DbError {
                message: format!("date/time field value out of range: \"{text}\""),
                ..error
            }
        } else {
            invalid()
        }
    })?;
    let time = body.split_once([' ', 'T']).map_or("", |(_, t)| t.trim());
    let micros = i64::from(days)
        .checked_mul(interval::USECS_PER_DAY)
        .and_then(|day| day.checked_add(time_micros(time)))
        .filter(|m| (-211_813_488_000_000_000..9_223_371_331_200_000_000).contains(m))
        .ok_or_else(|| {
            DbError::new(
                code::DATETIME_FIELD_OVERFLOW,
                format!("timestamp out of range: \"{text}\""),
            )
        })?;
    if matches!(zone, InputZone::OutOfRange) {
        return Err(DbError::new(
            code::INVALID_TIME_ZONE_DISPLACEMENT_VALUE,
            format!("time zone displacement out of range: \"{text}\""),
        ));
    }
    if !with_zone {
        return Ok(micros);
    }
    Ok(match zone {
        InputZone::OutOfRange => micros,
        InputZone::Offset(seconds) => micros - seconds * 1_000_000,
        InputZone::Zone(zone) => zone.to_utc(micros),
        InputZone::Session => zone::session_zone().to_utc(micros),
    })
}

/// `hh:mm[:ss[.ffffff]]` (already checked by `date::parse`) in microseconds; digits past the
/// microsecond round, as PostgreSQL's `rint` does.
fn time_micros(time: &str) -> i64 {
    let mut parts = time.split(':');
    let mut number = || {
        parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let (hours, minutes) = (number(), number());
    let seconds_text = time.split(':').nth(2).unwrap_or("0");
    let (whole, fraction) = seconds_text.split_once('.').unwrap_or((seconds_text, ""));
    let seconds: i64 = whole.parse().unwrap_or(0);
    let mut digits: String = fraction.chars().take(7).collect();
    while digits.len() < 7 {
        digits.push('0');
    }
    let tenths_of_micros: i64 = digits.parse().unwrap_or(0);
    let fraction_micros = (tenths_of_micros + 5) / 10;
    ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + fraction_micros
}

/// The zone written after a timestamp literal's time.
enum InputZone {
    Offset(i64),
    /// An offset of 16 hours or more (22009).
    OutOfRange,
    Zone(zone::Zone),
    Session,
}

/// Splits a trailing zone off a timestamp literal: `Z`, `+02`, `-05:30`, `+0530`, a zone
/// abbreviation (`PST`, `UTC`) or name (`Europe/Paris`, `UTC+3` as POSIX reads it). None for a
/// trailing word that is no zone.
fn split_zone(text: &str) -> Option<(&str, InputZone)> {
    if let Some(body) = text.strip_suffix(['Z', 'z']) {
        if body.ends_with(|c: char| c.is_ascii_digit()) {
            return Some((body, InputZone::Offset(0)));
        }
    }
    if let Some((body, word)) = text.rsplit_once(' ') {
        if word.chars().any(|c| c.is_ascii_alphabetic()) {
            let zone = match zone::abbreviation(word) {
                Some(zone::Abbreviation::Fixed(offset)) => InputZone::Offset(i64::from(offset)),
                Some(zone::Abbreviation::Dynamic(zone)) => InputZone::Zone(zone),
                None => InputZone::Zone(zone::lookup(word)?),
            };
            return Some((body.trim_end(), zone));
        }
    }
    let time_start = text.find([' ', 'T']).unwrap_or(text.len());
    if let Some(position) = text[time_start..].rfind(['+', '-']).map(|p| p + time_start) {
        let seconds = numeric_offset(&text[position + 1..])?;
        if seconds >= 16 * 3600 {
            return Some((text[..position].trim_end(), InputZone::OutOfRange));
        }
        let sign = if text.as_bytes()[position] == b'-' {
            -1
        } else {
            1
        };
        return Some((
            text[..position].trim_end(),
            InputZone::Offset(sign * seconds),
        ));
    }
    Some((text, InputZone::Session))
}

/// `05`, `5`, `0530`, `05:30`, `05:30:15` in seconds.
fn numeric_offset(zone: &str) -> Option<i64> {
    let digits_only = !zone.is_empty() && zone.chars().all(|c| c.is_ascii_digit());
    let (h, m, s) = if digits_only && zone.len() > 2 {
        let (h, m) = zone.split_at(zone.len() - 2);
        (h.parse().ok()?, m.parse().ok()?, 0)
    } else {
        let mut parts = zone.split(':');
        let mut next = || -> Option<i64> {
            parts.next().map_or(Some(0), |p| {
                (!p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit()))
                    .then(|| p.parse().ok())
                    .flatten()
            })
        };
        let (h, m, s) = (next()?, next()?, next()?);
        if parts.next().is_some() {
            return None;
        }
        (h, m, s)
    };
    if m > 59 || s > 59 {
        return None;
    }
    Some(h * 3600 + m * 60 + s)
}

/// Parses text as a value of `data_type` (the type's input function).
pub fn parse_text(text: &str, data_type: &DataType) -> Result<Value> {
    let trimmed = text.trim();
    let value = match data_type {
        DataType::Bool => {
            Value::Bool(parse_bool(trimmed).ok_or_else(|| DbError::invalid_text("boolean", text))?)
        }
        DataType::Int2 => Value::Int2(parse_integer(trimmed, "smallint", text)?),
        DataType::Int4 => Value::Int4(parse_integer(trimmed, "integer", text)?),
        DataType::Int8 => Value::Int8(parse_integer(trimmed, "bigint", text)?),
        DataType::Oid => Value::Oid(parse_integer(trimmed, "oid", text)?),
        DataType::Numeric { .. } => {
            let parsed = Numeric::parse(text)?;
            return apply_typmod(Value::Numeric(parsed), data_type);
        }
        DataType::Float8 => Value::Float8(
            parse_float(trimmed).ok_or_else(|| DbError::invalid_text("double precision", text))?,
        ),
        DataType::Text | DataType::Name | DataType::Unknown => Value::Text(text.to_string()),
        DataType::Char => Value::Text(text.chars().take(1).collect()),
        DataType::Varchar(_) => return apply_typmod(Value::Text(text.to_string()), data_type),
        DataType::Timestamp => Value::Timestamp(parse_timestamp(text, false)?),
        DataType::TimestampTz => Value::TimestampTz(parse_timestamp(text, true)?),
        DataType::Interval => Value::Interval(interval::parse(text)?),
        DataType::Date => Value::Date(date::parse(text)?),
        DataType::PgLsn => Value::PgLsn(
            text.parse::<Lsn>()
                .map_err(|_| DbError::invalid_text("pg_lsn", text))?,
        ),
        DataType::Array(element) => {
            let parsed = array::parse(text, element)?;
            return apply_typmod(parsed, data_type);
        }
        DataType::Uuid => Value::Uuid(uuid::parse(text)?),
        DataType::Bytea => Value::Bytea(bytea::parse(text)?),
        DataType::Float4 => Value::Float4(float::parse_float4(text, parse_float(trimmed))?),
        DataType::Time(precision) => {
            Value::Time(time::round(time::parse(text)?, precision.unwrap_or(6)))
        }
        DataType::Json => {
            json::validate(text)?;
            Value::Json(text.to_string())
        }
        DataType::Jsonb => Value::Jsonb(Box::new(json::parse_jsonb(text)?)),
    };
    Ok(value)
}

fn parse_bool(text: &str) -> Option<bool> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => {
            let prefix_of = |word: &str| !lower.is_empty() && word.starts_with(lower.as_str());
            if lower.len() >= 2 && (prefix_of("true") || prefix_of("yes")) {
                Some(true)
            } else if lower.len() >= 2 && (prefix_of("false") || prefix_of("no")) || lower == "of" {
                (lower != "of").then_some(false)
            } else {
                None
            }
        }
    }
}

fn parse_integer<T: TryFrom<i128>>(trimmed: &str, type_name: &str, original: &str) -> Result<T> {
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let valid = {
        let body = digits.strip_prefix('-').unwrap_or(digits);
        !body.is_empty() && body.chars().all(|c| c.is_ascii_digit() || c == '_')
    };
    if !valid {
        return Err(DbError::invalid_text(type_name, original));
    }
    let wide: i128 = digits.replace('_', "").parse().map_err(|_| {
        DbError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value \"{original}\" is out of range for type {type_name}"),
        )
    })?;
    T::try_from(wide).map_err(|_| {
        DbError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value \"{original}\" is out of range for type {type_name}"),
        )
    })
}

fn parse_float(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" | "inf" | "+infinity" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        lower
            if lower
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | '+')) =>
        {
            lower.parse().ok()
        }
        _ => None,
    }
}

/// Enforces `varchar(n)` and `numeric(p,s)` on assignment, with PostgreSQL's errors.
pub fn apply_typmod(value: Value, data_type: &DataType) -> Result<Value> {
    match (value, data_type) {
        (Value::Text(text), DataType::Varchar(Some(limit))) => {
            let length = text.chars().count();
            if length as u32 <= *limit {
                return Ok(Value::Text(text));
            }
            let trimmed: String = text.chars().take(*limit as usize).collect();
            if text.chars().skip(*limit as usize).all(|c| c == ' ') {
                return Ok(Value::Text(trimmed));
            }
            Err(DbError::new(
                code::STRING_DATA_RIGHT_TRUNCATION,
                format!("value too long for type character varying({limit})"),
            ))
        }
        (
            Value::Numeric(number),
            DataType::Numeric {
                precision_scale: Some((precision, scale)),
            },
        ) => Ok(Value::Numeric(number.apply_typmod(*precision, *scale)?)),
        (Value::Array(mut array), DataType::Array(element)) if element.typmod() >= 0 => {
            for item in &mut array.items {
                *item = apply_typmod(std::mem::replace(item, Value::Null), element)?;
            }
            Ok(Value::Array(array))
        }
        (Value::Time(micros), DataType::Time(Some(precision))) => {
            Ok(Value::Time(time::round(micros, *precision)))
        }
        (value, _) => Ok(value),
    }
}

/// Explicit or assignment cast of `value` (of type `from`) to `to`.
pub fn cast(value: Value, from: &DataType, to: &DataType) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if from.without_modifier() == to.without_modifier()
        && !matches!(
            to,
            DataType::Numeric { .. }
                | DataType::Varchar(_)
                | DataType::Array(_)
                | DataType::Time(_)
        )
    {
        return Ok(value);
    }
    if from.is_string() && !to.is_string() {
        let text = value.to_text().unwrap_or_default();
        return parse_text(&text, to);
    }
    if let (Value::Array(array), DataType::Array(target)) = (&value, to) {
        return cast_array(array, from.element().unwrap_or(&DataType::Text), target);
    }
    if let Some(out) = cast_json(&value, from, to) {
        return out;
    }
    let out = match to {
        DataType::Text | DataType::Name | DataType::Unknown => match value {
            // boolean's cast to text spells the words out, unlike its output function.
            Value::Bool(b) => Value::Text(if b { "true" } else { "false" }.into()),
            other => Value::Text(other.to_text().unwrap_or_default()),
        },
        DataType::Varchar(_) => {
            let text = Value::Text(value.to_text().unwrap_or_default());
            // An explicit cast truncates silently; assignment is checked by the caller.
            match (text, to) {
                (Value::Text(t), DataType::Varchar(Some(limit))) if from.is_string() => {
                    Value::Text(t.chars().take(*limit as usize).collect())
                }
                (text, _) => apply_typmod(text, to)?,
            }
        }
        DataType::Char => Value::Text(
            value
                .to_text()
                .unwrap_or_default()
                .chars()
                .take(1)
                .collect(),
        ),
        DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Oid => {
            cast_to_integer(&value, from, to)?
        }
        DataType::Numeric { .. } => {
            let number = value.as_numeric();
            match number {
                Some(number) => apply_typmod(Value::Numeric(number), to)?,
                None => return Err(cannot_cast(from, to)),
            }
        }
        DataType::Float8 => Value::Float8(value.as_f64().ok_or_else(|| cannot_cast(from, to))?),
        DataType::Float4 => match value {
            Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Oid(_) => {
                Value::Float4(value.as_i64().unwrap_or(0) as f32)
            }
            other => Value::Float4(float::to_float4(
                other.as_f64().ok_or_else(|| cannot_cast(from, to))?,
            )?),
        },
        DataType::Bool => match value {
            Value::Int4(v) => Value::Bool(v != 0),
            _ => return Err(cannot_cast(from, to)),
        },
        DataType::Timestamp => match value {
            Value::TimestampTz(v) => Value::Timestamp(zone::session_zone().to_local(v)),
            Value::Date(d) => Value::Timestamp(date::to_timestamp(d)?),
            _ => return Err(cannot_cast(from, to)),
        },
        DataType::TimestampTz => match value {
            Value::Timestamp(v) => Value::TimestampTz(zone::session_zone().to_utc(v)),
            Value::Date(d) => {
                Value::TimestampTz(zone::session_zone().to_utc(date::to_timestamp(d)?))
            }
            _ => return Err(cannot_cast(from, to)),
        },
        DataType::Date => match value {
            Value::Timestamp(v) => Value::Date(date::from_timestamp(v)?),
            Value::TimestampTz(v) => {
                Value::Date(date::from_timestamp(zone::session_zone().to_local(v))?)
            }
            _ => return Err(cannot_cast(from, to)),
        },
        DataType::Interval => match value {
            Value::Time(micros) => Value::Interval(Interval::from_micros(micros)),
            _ => return Err(cannot_cast(from, to)),
        },
        DataType::Time(_) => {
            let micros = match value {
                Value::Time(micros) => micros,
                Value::Timestamp(v) if !is_finite_timestamp(v) => return Ok(Value::Null),
                Value::TimestampTz(v) if !is_finite_timestamp(v) => return Ok(Value::Null),
                Value::Timestamp(v) => v.rem_euclid(interval::USECS_PER_DAY),
                Value::TimestampTz(v) => zone::session_zone()
                    .to_local(v)
                    .rem_euclid(interval::USECS_PER_DAY),
                Value::Interval(span) => time::from_interval(&span),
                _ => return Err(cannot_cast(from, to)),
            };
            apply_typmod(Value::Time(micros), to)?
        }
        DataType::PgLsn
        | DataType::Array(_)
        | DataType::Uuid
        | DataType::Bytea
        | DataType::Json
        | DataType::Jsonb => return Err(cannot_cast(from, to)),
    };
    Ok(out)
}

/// Casts between json and jsonb, and from jsonb to the scalar types (`'1.5'::jsonb::numeric`);
/// None for other casts.
fn cast_json(value: &Value, from: &DataType, to: &DataType) -> Option<Result<Value>> {
    match (value, to) {
        (Value::Json(text), DataType::Jsonb) => {
            Some(json::parse_jsonb(text).map(|v| Value::Jsonb(Box::new(v))))
        }
        (Value::Jsonb(v), DataType::Json) => Some(Ok(Value::Json(json::format(v)))),
        (Value::Jsonb(v), DataType::Bool) => Some(match v.as_ref() {
            Jsonb::Bool(b) => Ok(Value::Bool(*b)),
            other => Err(json::scalar_cast_error(other, to)),
        }),
        (Value::Jsonb(v), target) if target.is_numeric() => Some(match v.as_ref() {
            Jsonb::Number(n) => cast(Value::Numeric(n.clone()), &DataType::NUMERIC, target),
            other => Err(json::scalar_cast_error(other, to)),
        }),
        (Value::Json(_) | Value::Jsonb(_), target) if !target.is_string() => {
            Some(Err(cannot_cast(from, to)))
        }
        _ => None,
    }
}

/// An array cast element by element (`array_coerce`), keeping its bounds.
fn cast_array(array: &Array, from: &DataType, to: &DataType) -> Result<Value> {
    let mut items = Vec::with_capacity(array.items.len());
    for item in &array.items {
        items.push(cast(item.clone(), from, to)?);
    }
    Ok(Value::Array(Box::new(Array {
        lower: array.lower,
        items,
    })))
}

fn cast_to_integer(value: &Value, from: &DataType, to: &DataType) -> Result<Value> {
    let out_of_range = || DbError::out_of_range(&to.name());
    let wide: i128 = match value {
        Value::Bool(b) if *to == DataType::Int4 => i128::from(*b),
        Value::Numeric(number) => {
            let special = match number {
                Numeric::NaN => Some("NaN"),
                Numeric::Infinity | Numeric::NegInfinity => Some("infinity"),
                Numeric::Finite { .. } => None,
            };
            if let Some(special) = special {
                return Err(DbError::feature_not_supported(format!(
                    "cannot convert {special} to {}",
                    to.name()
                )));
            }
            number.to_i128_rounded().ok_or_else(out_of_range)?
        }
        Value::Float8(_) | Value::Float4(_) => {
            let f = value.as_f64().unwrap_or(f64::NAN);
            if !f.is_finite() {
                return Err(out_of_range());
            }
            f.round_ties_even() as i128
        }
        other => other
            .as_i64()
            .map(i128::from)
            .ok_or_else(|| cannot_cast(from, to))?,
    };
    Ok(match to {
        DataType::Int2 => Value::Int2(i16::try_from(wide).map_err(|_| out_of_range())?),
        DataType::Int4 => Value::Int4(i32::try_from(wide).map_err(|_| out_of_range())?),
        DataType::Oid => Value::Oid(u32::try_from(wide).map_err(|_| out_of_range())?),
        _ => Value::Int8(i64::try_from(wide).map_err(|_| out_of_range())?),
    })
}

pub fn cannot_cast(from: &DataType, to: &DataType) -> DbError {
    DbError::new(
        code::CANNOT_COERCE,
        format!(
            "cannot cast type {} to {}",
            from.base_name(),
            to.base_name()
        ),
    )
}

/// Whether `from` may be cast to `to` at all (explicitly).
pub fn castable(from: &DataType, to: &DataType) -> bool {
    if from == to || from.is_string() || to.is_string() {
        return true;
    }
    if from.is_numeric() && to.is_numeric() {
        return true;
    }
    if let (DataType::Array(a), DataType::Array(b)) = (from, to) {
        return castable(a, b);
    }
    matches!(
        (from, to),
        (DataType::Int4, DataType::Bool)
            | (DataType::Bool, DataType::Int4)
            | (DataType::Timestamp, DataType::TimestampTz)
            | (DataType::TimestampTz, DataType::Timestamp)
            | (DataType::Date, DataType::Timestamp | DataType::TimestampTz)
            | (DataType::Timestamp | DataType::TimestampTz, DataType::Date)
            | (
                DataType::Timestamp
                    | DataType::TimestampTz
                    | DataType::Interval
                    | DataType::Time(_),
                DataType::Time(_)
            )
            | (DataType::Time(_), DataType::Interval)
            | (DataType::Json, DataType::Jsonb)
            | (DataType::Jsonb, DataType::Json)
            | (
                DataType::Jsonb,
                DataType::Bool
                    | DataType::Int2
                    | DataType::Int4
                    | DataType::Int8
                    | DataType::Numeric { .. }
                    | DataType::Float8
            )
    )
}

/// Total order used by ORDER BY, GROUP BY, DISTINCT and unique keys: NULL sorts last.
pub fn compare(left: &Value, right: &Value) -> Ordering {
    match (left, right) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Text(a), Value::Text(b)) => a.cmp(b),
        (Value::Timestamp(a), Value::Timestamp(b))
        | (Value::TimestampTz(a), Value::TimestampTz(b)) => a.cmp(b),
        (Value::Timestamp(a), Value::TimestampTz(b)) => zone::session_zone().to_utc(*a).cmp(b),
        (Value::TimestampTz(a), Value::Timestamp(b)) => a.cmp(&zone::session_zone().to_utc(*b)),
        (Value::Interval(a), Value::Interval(b)) => a.cmp_span(b),
        (Value::Date(a), Value::Date(b)) => a.cmp(b),
        (Value::Date(d), Value::Timestamp(t)) => date_micros(*d).cmp(&i128::from(*t)),
        (Value::Timestamp(t), Value::Date(d)) => i128::from(*t).cmp(&date_micros(*d)),
        (Value::Date(d), Value::TimestampTz(t)) => {
            date_micros(*d).cmp(&i128::from(zone::session_zone().to_local(*t)))
        }
        (Value::TimestampTz(t), Value::Date(d)) => {
            i128::from(zone::session_zone().to_local(*t)).cmp(&date_micros(*d))
        }
        (Value::PgLsn(a), Value::PgLsn(b)) => a.cmp(b),
        (Value::Array(a), Value::Array(b)) => array::cmp(a, b),
        (Value::Uuid(a), Value::Uuid(b)) => a.cmp(b),
        (Value::Bytea(a), Value::Bytea(b)) => a.cmp(b),
        (Value::Time(a), Value::Time(b)) => a.cmp(b),
        (Value::Jsonb(a), Value::Jsonb(b)) => json::cmp(a, b),
        (Value::Json(a), Value::Json(b)) => a.cmp(b),
        (Value::Float8(_) | Value::Float4(_), _) | (_, Value::Float8(_) | Value::Float4(_)) => {
            let (a, b) = (
                left.as_f64().unwrap_or(f64::NAN),
                right.as_f64().unwrap_or(f64::NAN),
            );
            float_cmp(a, b)
        }
        (Value::Numeric(_), _) | (_, Value::Numeric(_)) => {
            match (left.as_numeric(), right.as_numeric()) {
                (Some(a), Some(b)) => a.cmp_total(&b),
                _ => format!("{left:?}").cmp(&format!("{right:?}")),
            }
        }
        _ => match (left.as_i64(), right.as_i64()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => format!("{left:?}").cmp(&format!("{right:?}")),
        },
    }
}

/// `float8_cmp_internal`: NaN equals NaN and sorts above every number; -0 equals 0.
fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// A date's midnight in microseconds, wide enough for the infinities and every date.
fn date_micros(days: i32) -> i128 {
    i128::from(days) * i128::from(interval::USECS_PER_DAY)
}

/// A value wrapped for use as an ordered key.
#[derive(Clone, Debug)]
pub struct Key(pub Vec<Value>);

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        for (a, b) in self.0.iter().zip(&other.0) {
            let ordering = compare(a, b);
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_input_and_output() {
        assert_eq!(
            parse_text(" 42 ", &DataType::Int4).unwrap(),
            Value::Int4(42)
        );
        assert_eq!(
            parse_text("abc", &DataType::Int4).unwrap_err().message,
            "invalid input syntax for type integer: \"abc\""
        );
        assert_eq!(
            parse_text("3000000000", &DataType::Int4)
                .unwrap_err()
                .message,
            "value \"3000000000\" is out of range for type integer"
        );
        assert_eq!(
            parse_text("yes", &DataType::Bool).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            parse_text("0/3001324", &DataType::PgLsn)
                .unwrap()
                .to_text()
                .unwrap(),
            "0/3001324"
        );
        let ts = parse_text("2026-11-23 19:05:43.4286", &DataType::Timestamp).unwrap();
        assert_eq!(ts.to_text().unwrap(), "2026-11-23 19:05:43.4286");
        let tz = parse_text("2026-11-23 21:05:43+02", &DataType::TimestampTz).unwrap();
        assert_eq!(tz.to_text().unwrap(), "2026-11-23 19:05:43+00");
    }

    #[test]
    fn typmods_are_enforced() {
        let varchar3 = DataType::Varchar(Some(3));
        assert_eq!(
            apply_typmod(Value::Text("abcd".into()), &varchar3)
                .unwrap_err()
                .code,
            "22001"
        );
        assert_eq!(
            apply_typmod(Value::Text("ab ".into()), &varchar3).unwrap(),
            Value::Text("ab ".into())
        );
        let money = DataType::Numeric {
            precision_scale: Some((5, 2)),
        };
        let rounded =
            apply_typmod(Value::Numeric(Numeric::parse("1.005").unwrap()), &money).unwrap();
        assert_eq!(rounded.to_text().unwrap(), "1.01");
        let error = apply_typmod(Value::Numeric(Numeric::from_i128(1000)), &money).unwrap_err();
        assert_eq!(
            error.detail.unwrap(),
            "A field with precision 5, scale 2 must round to an absolute value less than 10^3."
        );
    }

    #[test]
    fn floats_print_like_postgres() {
        assert_eq!(format_float8(0.1), "0.1");
        assert_eq!(format_float8(1e20), "1e+20");
        assert_eq!(format_float8(2.0), "2");
    }
}
