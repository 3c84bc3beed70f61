//! Server settings (GUCs): PostgreSQL's names, defaults, types, units, ranges
//! and contexts, the files they come from (`postgresql.conf`,
//! `postgresql.auto.conf`) and the errors for a bad value or a change at the
//! wrong moment. Values are parsed as PostgreSQL 15 parses them (integers in
//! any base with a unit, Booleans by prefix, enums with their hidden
//! aliases), because a value PostgreSQL refuses must not quietly become
//! pgplay's configuration: SET and ALTER SYSTEM get 22023, a configuration
//! file with a bad line stops the server from starting and is only partly
//! applied at reload, each with PostgreSQL's log lines. Names that older
//! releases used fail as PostgreSQL 15 fails them, with a hint naming today's.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{code, DbError, Result};
pub use crate::guc_file::{parse_conf, ConfFile, ConfLine};

/// When a setting may change, as `pg_settings.context` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Context {
    /// Read-only, fixed at build or initdb time.
    Internal,
    /// Only at server start.
    Postmaster,
    /// In the configuration files, applied on reload.
    Sighup,
    /// Also per session with SET.
    User,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// Integer with a base unit and `pg_settings`' `min_val` .. `max_val`.
    Integer {
        unit: Unit,
        min: i64,
        max: i64,
    },
    Enum(&'static [&'static str]),
    /// A real number (`vartype` real) within `min` .. `max`.
    Real {
        min: i64,
        max: i64,
    },
    String,
}

/// A setting's base unit (`pg_settings.unit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    None,
    Kilobytes,
    /// Pages of 8 kB (`shared_buffers`).
    Blocks,
    Megabytes,
    Milliseconds,
    Seconds,
}

pub struct Definition {
    pub name: &'static str,
    pub default: &'static str,
    pub context: Context,
    pub kind: Kind,
}

const fn def(
    name: &'static str,
    default: &'static str,
    context: Context,
    kind: Kind,
) -> Definition {
    Definition {
        name,
        default,
        context,
        kind,
    }
}

const fn int(unit: Unit, min: i64, max: i64) -> Kind {
    Kind::Integer { unit, min, max }
}

/// PostgreSQL's `INT_MAX`, the ceiling of most integer settings.
const INT_MAX: i64 = i32::MAX as i64;

/// The values of `transaction_isolation` and `default_transaction_isolation`.
const ISOLATION_LEVELS: &[&str] = &[
    "serializable",
    "repeatable read",
    "read committed",
    "read uncommitted",
];
/// PostgreSQL's `MAX_BACKENDS`, the ceiling of the connection counts.
const MAX_BACKENDS: i64 = 0x3FFFF;

use Context::*;
use Kind::{Bool, Enum};
use Unit::{Blocks, Kilobytes, Megabytes, Milliseconds, Seconds};

/// Bytes in a WAL block (XLOG_BLCKSZ), the unit of `wal_writer_flush_after`.
pub const WAL_BLOCK_BYTES: i64 = 8192;

/// Every setting pgplay knows, with `pg_settings`' type, unit and range as
/// PostgreSQL 15 has them (`min_val`, `max_val`, `enumvals`).
pub const DEFINITIONS: &[Definition] = &[
    def("application_name", "", User, Kind::String),
    def("archive_command", "", Sighup, Kind::String),
    def(
        "archive_mode",
        "off",
        Postmaster,
        Enum(&["always", "on", "off"]),
    ),
    // The autovacuum launcher (the node's timer) and the thresholds its workers judge
    // tables by (`vacuum::autovacuum`).
    def("autovacuum", "on", Sighup, Bool),
    def(
        "autovacuum_analyze_scale_factor",
        "0.1",
        Sighup,
        Kind::Real { min: 0, max: 100 },
    ),
    def(
        "autovacuum_analyze_threshold",
        "50",
        Sighup,
        int(Unit::None, 0, INT_MAX),
    ),
    def(
        "autovacuum_naptime",
        "60",
        Sighup,
        int(Seconds, 1, INT_MAX / 1000),
    ),
    def(
        "autovacuum_vacuum_insert_scale_factor",
        "0.2",
        Sighup,
        Kind::Real { min: 0, max: 100 },
    ),
    def(
        "autovacuum_vacuum_insert_threshold",
        "1000",
        Sighup,
        int(Unit::None, -1, INT_MAX),
    ),
    def(
        "autovacuum_vacuum_scale_factor",
        "0.2",
        Sighup,
        Kind::Real { min: 0, max: 100 },
    ),
    def(
        "autovacuum_vacuum_threshold",
        "50",
        Sighup,
        int(Unit::None, 0, INT_MAX),
    ),
    def("block_size", "8192", Internal, int(Unit::None, 8192, 8192)),
    def("bytea_output", "hex", User, Enum(&["escape", "hex"])),
    def("checkpoint_timeout", "300", Sighup, int(Seconds, 30, 86400)),
    def("client_encoding", "UTF8", User, Kind::String),
    def("cluster_name", "", Postmaster, Kind::String),
    def("DateStyle", "ISO, MDY", User, Kind::String),
    // PostgreSQL's context is superuser; pgplay's only role is one.
    def(
        "deadlock_timeout",
        "1000",
        User,
        int(Milliseconds, 1, INT_MAX),
    ),
    def(
        "default_transaction_isolation",
        "read committed",
        User,
        Enum(ISOLATION_LEVELS),
    ),
    def("default_transaction_read_only", "off", User, Bool),
    // The planner's choices: off, equality joins run as nested loops instead of hash joins;
    // pgplay has no merge joins, so enable_mergejoin = off changes nothing.
    def("enable_bitmapscan", "on", User, Bool),
    def("enable_hashjoin", "on", User, Bool),
    // Index scans (`plan::index`): off, a scan by index only when nothing else can run.
    // pgplay has no bitmap or index-only scans, so enable_bitmapscan changes nothing.
    def("enable_indexonlyscan", "on", User, Bool),
    def("enable_indexscan", "on", User, Bool),
    def("enable_mergejoin", "on", User, Bool),
    def("enable_seqscan", "on", User, Bool),
    def("extra_float_digits", "1", User, int(Unit::None, -15, 3)),
    def("full_page_writes", "on", Sighup, Bool),
    // Hashing nodes may hold this times work_mem (`workmem::Limits::hash_mem`).
    def(
        "hash_mem_multiplier",
        "2",
        User,
        Kind::Real { min: 1, max: 1000 },
    ),
    def("hot_standby", "on", Postmaster, Bool),
    def("hot_standby_feedback", "off", Sighup, Bool),
    // Ends a session idle inside a transaction (or idle at all) for longer (the node's timers).
    def(
        "idle_in_transaction_session_timeout",
        "0",
        User,
        int(Milliseconds, 0, INT_MAX),
    ),
    def(
        "idle_session_timeout",
        "0",
        User,
        int(Milliseconds, 0, INT_MAX),
    ),
    def("in_hot_standby", "off", Internal, Bool),
    def("is_superuser", "on", Internal, Bool),
    def("listen_addresses", "localhost", Postmaster, Kind::String),
    // A row lock wait's limit (crate::lock).
    def("lock_timeout", "0", User, int(Milliseconds, 0, INT_MAX)),
    // Superuser-only in PostgreSQL; pgplay's sessions are superusers. (`crate::workmem`)
    def("log_temp_files", "-1", User, int(Kilobytes, -1, INT_MAX)),
    def(
        "log_autovacuum_min_duration",
        "600000",
        Sighup,
        int(Milliseconds, -1, INT_MAX),
    ),
    def(
        "max_connections",
        "100",
        Postmaster,
        int(Unit::None, 1, MAX_BACKENDS),
    ),
    def(
        "max_replication_slots",
        "10",
        Postmaster,
        int(Unit::None, 0, MAX_BACKENDS),
    ),
    def(
        "max_standby_streaming_delay",
        "30000",
        Sighup,
        int(Milliseconds, -1, INT_MAX),
    ),
    def(
        "max_wal_senders",
        "10",
        Postmaster,
        int(Unit::None, 0, MAX_BACKENDS),
    ),
    def(
        "max_slot_wal_keep_size",
        "-1",
        Sighup,
        int(Megabytes, -1, INT_MAX),
    ),
    def("max_wal_size", "1024", Sighup, int(Megabytes, 2, INT_MAX)),
    def("min_wal_size", "80", Sighup, int(Megabytes, 2, INT_MAX)),
    def("port", "5432", Postmaster, int(Unit::None, 1, 65535)),
    def("primary_conninfo", "", Sighup, Kind::String),
    def("primary_slot_name", "", Sighup, Kind::String),
    def("promote_trigger_file", "", Sighup, Kind::String),
    def(
        "recovery_min_apply_delay",
        "0",
        Sighup,
        int(Milliseconds, 0, INT_MAX),
    ),
    def(
        "recovery_target_timeline",
        "latest",
        Postmaster,
        Kind::String,
    ),
    def("restore_command", "", Sighup, Kind::String),
    def("search_path", "\"$user\", public", User, Kind::String),
    def("server_encoding", "UTF8", Internal, Kind::String),
    def("server_version", "15.18", Internal, Kind::String),
    def("server_version_num", "150018", Internal, Kind::String),
    def(
        "shared_buffers",
        "16384",
        Postmaster,
        int(Blocks, 16, 1_073_741_823),
    ),
    def("standard_conforming_strings", "on", User, Bool),
    def(
        "statement_timeout",
        "0",
        User,
        int(Milliseconds, 0, INT_MAX),
    ),
    def(
        "synchronous_commit",
        "on",
        User,
        Enum(&["local", "remote_write", "remote_apply", "on", "off"]),
    ),
    def("synchronous_standby_names", "", Sighup, Kind::String),
    def("temp_file_limit", "-1", User, int(Kilobytes, -1, INT_MAX)),
    def("TimeZone", "UTC", User, Kind::String),
    def(
        "transaction_isolation",
        "read committed",
        User,
        Enum(ISOLATION_LEVELS),
    ),
    def("transaction_read_only", "off", User, Bool),
    def("wal_keep_size", "0", Sighup, int(Megabytes, 0, INT_MAX)),
    def(
        "wal_level",
        "replica",
        Postmaster,
        Enum(&["minimal", "replica", "logical"]),
    ),
    def("wal_log_hints", "off", Postmaster, Bool),
    def(
        "wal_receiver_status_interval",
        "10",
        Sighup,
        int(Seconds, 0, INT_MAX / 1000),
    ),
    def(
        "wal_receiver_timeout",
        "60000",
        Sighup,
        int(Milliseconds, 0, INT_MAX),
    ),
    def(
        "wal_retrieve_retry_interval",
        "5000",
        Sighup,
        int(Milliseconds, 1, INT_MAX),
    ),
    def(
        "wal_segment_size",
        "16384",
        Internal,
        int(Kilobytes, 1024, 1_048_576),
    ),
    def(
        "wal_sender_timeout",
        "60000",
        User,
        int(Milliseconds, 0, INT_MAX),
    ),
    def(
        "wal_writer_delay",
        "200",
        Sighup,
        int(Milliseconds, 1, 10_000),
    ),
    def(
        "wal_writer_flush_after",
        "128",
        Sighup,
        int(Blocks, 0, INT_MAX),
    ),
    def("work_mem", "4096", User, int(Kilobytes, 64, INT_MAX)),
];

/// Settings that older releases had, with what replaced them.
const RENAMED: &[(&str, &str)] = &[
    ("wal_keep_segments", "it was replaced by wal_keep_size (in megabytes) in PostgreSQL 13"),
    ("checkpoint_segments", "it was replaced by max_wal_size in PostgreSQL 9.5"),
    ("standby_mode", "since PostgreSQL 12 a standby is started by creating the file standby.signal in the data directory"),
    ("trigger_file", "it was renamed promote_trigger_file in PostgreSQL 12; today use pg_promote() or pg_ctl promote"),
    ("replication_timeout", "it was renamed wal_sender_timeout in PostgreSQL 9.3"),
];

pub fn definition(name: &str) -> Option<&'static Definition> {
    // Looked up several times per statement: an index by lower-case name, not a search of
    // every definition (the first of equal names wins, as a search would find it).
    // FNV-1a: a fixed hash (no random seed, the engine is deterministic), quick on short names.
    #[derive(Default)]
    struct Fnv(u64);
    impl std::hash::Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            let mut hash = if self.0 == 0 {
                0xcbf2_9ce4_8422_2325
            } else {
                self.0
            };
            for byte in bytes {
                hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
            }
            self.0 = hash;
        }
    }
    type ByName =
        std::collections::HashMap<String, &'static Definition, std::hash::BuildHasherDefault<Fnv>>;
    static BY_NAME: std::sync::OnceLock<ByName> = std::sync::OnceLock::new();
    let by_name = BY_NAME.get_or_init(|| {
        let mut map = ByName::default();
        for definition in DEFINITIONS {
            map.entry(definition.name.to_ascii_lowercase())
                .or_insert(definition);
        }
        map
    });
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        by_name.get(&name.to_ascii_lowercase()).copied()
    } else {
        by_name.get(name).copied()
    }
}

pub fn unrecognized(name: &str) -> DbError {
    let error = DbError::new(
        code::UNDEFINED_OBJECT,
        format!("unrecognized configuration parameter \"{name}\""),
    );
    match RENAMED
        .iter()
        .find(|(old, _)| old.eq_ignore_ascii_case(name))
    {
        Some((_, hint)) => error.with_hint(format!(
            "pgplay: \"{name}\" is a setting of older PostgreSQL releases: {hint}."
        )),
        None => error,
    }
}

fn invalid_value(name: &str, value: &str) -> DbError {
    DbError::new(
        code::INVALID_PARAMETER_VALUE,
        format!("invalid value for parameter \"{name}\": \"{value}\""),
    )
}

/// Checks and normalises a value for `definition` (units folded to the base
/// unit), with PostgreSQL's error when it refuses the value.
pub fn normalize(definition: &Definition, value: &str) -> Result<String> {
    match definition.kind {
        Bool => match parse_bool(value) {
            Some(true) => Ok("on".into()),
            Some(false) => Ok("off".into()),
            None => Err(DbError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("parameter \"{}\" requires a Boolean value", definition.name),
            )),
        },
        Enum(options) => parse_enum(definition.name, options, value).ok_or_else(|| {
            invalid_value(definition.name, value)
                .with_hint(format!("Available values: {}.", options.join(", ")))
        }),
        Kind::Integer { unit, min, max } => {
            let number = parse_integer(value, unit).map_err(|hint| {
                let error = invalid_value(definition.name, value);
                match hint {
                    Some(hint) => error.with_hint(hint),
                    None => error,
                }
            })?;
            if number < min || number > max {
                let unit = unit_name(unit).map(|u| format!(" {u}")).unwrap_or_default();
                return Err(DbError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!(
                        "{number}{unit} is outside the valid range for parameter \"{}\" ({min} .. {max})",
                        definition.name
                    ),
                ));
            }
            Ok(number.to_string())
        }
        Kind::Real { min, max } => {
            let number: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .ok_or_else(|| invalid_value(definition.name, value))?;
            if number < min as f64 || number > max as f64 {
                return Err(DbError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!(
                        "{number} is outside the valid range for parameter \"{}\" ({min} .. {max})",
                        definition.name
                    ),
                ));
            }
            Ok(number.to_string())
        }
        Kind::String if definition.name == "synchronous_standby_names" => {
            check_sync_standby_names(value)
        }
        Kind::String if definition.name == "TimeZone" => crate::types::zone::check_setting(value),
        Kind::String => Ok(value.to_string()),
    }
}

/// PostgreSQL's `parse_bool`: any prefix of `true`, `false`, `yes`, `no`,
/// `on` or `off` (at least two letters for these), `1` or `0`, in any case.
fn parse_bool(value: &str) -> Option<bool> {
    let lower = value.to_ascii_lowercase();
    let prefix_of = |word: &str| !lower.is_empty() && word.starts_with(lower.as_str());
    match lower.as_bytes().first()? {
        b't' if prefix_of("true") => Some(true),
        b'f' if prefix_of("false") => Some(false),
        b'y' if prefix_of("yes") => Some(true),
        b'n' if prefix_of("no") => Some(false),
        b'o' if lower == "on" => Some(true),
        b'o' if lower == "of" || lower == "off" => Some(false),
        b'1' if lower.len() == 1 => Some(true),
        b'0' if lower.len() == 1 => Some(false),
        _ => None,
    }
}

/// An enum value in any case, or one of the spellings PostgreSQL accepts
/// without listing them (`hot_standby` for `wal_level`, `true` for `on`).
fn parse_enum(name: &str, options: &[&str], value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let on_off = ["archive_mode", "synchronous_commit"].contains(&name);
    let aliased = match lower.as_str() {
        "archive" | "hot_standby" if name == "wal_level" => "replica",
        "true" | "yes" | "1" if on_off => "on",
        "false" | "no" | "0" if on_off => "off",
        other => other,
    };
    options
        .iter()
        .find(|o| o.eq_ignore_ascii_case(aliased))
        .map(|o| o.to_string())
}

/// PostgreSQL parses `synchronous_standby_names` when it is set, so a bad
/// value never reaches the server's configuration.
fn check_sync_standby_names(value: &str) -> Result<String> {
    use pgplay_replication::syncrep::{parse, ParseError};
    match parse(value) {
        Ok(_) => Ok(value.to_string()),
        Err(ParseError::Syntax(detail)) => Err(DbError::new(
            code::SYNTAX_ERROR,
            format!("invalid value for parameter \"synchronous_standby_names\": \"{value}\""),
        )
        .with_detail(detail)),
        Err(ParseError::ZeroCount) => Err(DbError::new(
            code::INVALID_PARAMETER_VALUE,
            "number of synchronous standbys (0) must be greater than zero",
        )),
    }
}

const MEMORY_UNITS_HINT: &str =
    "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".";
const TIME_UNITS_HINT: &str =
    "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".";

/// Units a value may carry, largest first, with their size in bytes or
/// microseconds.
const MEMORY_UNITS: &[(&str, f64)] = &[
    ("TB", 1099511627776.0),
    ("GB", 1073741824.0),
    ("MB", 1048576.0),
    ("kB", 1024.0),
    ("B", 1.0),
];
const TIME_UNITS: &[(&str, f64)] = &[
    ("d", 86_400_000_000.0),
    ("h", 3_600_000_000.0),
    ("min", 60_000_000.0),
    ("s", 1_000_000.0),
    ("ms", 1000.0),
    ("us", 1.0),
];

/// The name `pg_settings.unit` gives a base unit.
fn unit_name(unit: Unit) -> Option<&'static str> {
    match unit {
        Unit::None => None,
        Kilobytes => Some("kB"),
        Blocks => Some("8kB"),
        Megabytes => Some("MB"),
        Milliseconds => Some("ms"),
        Seconds => Some("s"),
    }
}

/// The base unit's table and its size in that table's measure.
fn unit_table(unit: Unit) -> Option<(&'static [(&'static str, f64)], f64)> {
    match unit {
        Unit::None => None,
        Kilobytes => Some((MEMORY_UNITS, 1024.0)),
        Blocks => Some((MEMORY_UNITS, 8192.0)),
        Megabytes => Some((MEMORY_UNITS, 1048576.0)),
        Milliseconds => Some((TIME_UNITS, 1000.0)),
        Seconds => Some((TIME_UNITS, 1_000_000.0)),
    }
}

/// PostgreSQL's `parse_int`: a number as C's `strtol` reads it (decimal,
/// `0x` hexadecimal, `0` octal) or, with a `.` or an exponent, as `strtod`
/// does, then an optional unit, rounded to an integer in `int` range. The
/// error is the HINT PostgreSQL adds, if any.
fn parse_integer(value: &str, unit: Unit) -> std::result::Result<i64, Option<&'static str>> {
    let (mut number, rest) = c_number(value).ok_or(None)?;
    let rest = rest.trim_start_matches(is_c_space);
    if !rest.is_empty() {
        let (table, base) = unit_table(unit).ok_or(None)?;
        let hint = if table == MEMORY_UNITS {
            MEMORY_UNITS_HINT
        } else {
            TIME_UNITS_HINT
        };
        number = convert_to_base_unit(number, rest, table, base).ok_or(Some(hint))?;
    }
    let number = number.round_ties_even();
    if number > f64::from(i32::MAX) || number < f64::from(i32::MIN) {
        return Err(Some("Value exceeds integer range."));
    }
    Ok(number as i64)
}

fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// The number at the start of `text` and what follows it, as `parse_int`
/// reads it; None where C finds no number, an overflow or NaN.
fn c_number(text: &str) -> Option<(f64, &str)> {
    let (integer, rest) = c_strtol(text);
    if integer.is_none() || rest.starts_with(['.', 'e', 'E']) {
        return c_strtod(text);
    }
    if rest.len() == text.len() {
        return None;
    }
    Some((integer? as f64, rest))
}

/// `strtol(text, &end, 0)`: None for the value when it overflows (errno
/// ERANGE); the rest is `text` itself when there is no number.
fn c_strtol(text: &str) -> (Option<i64>, &str) {
    let trimmed = text.trim_start_matches(is_c_space);
    let (negative, body) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let hex = (body.starts_with("0x") || body.starts_with("0X"))
        && body[2..].starts_with(|c: char| c.is_ascii_hexdigit());
    let (radix, digits_at) = if hex {
        (16, 2)
    } else if body.starts_with('0') {
        (8, 0)
    } else {
        (10, 0)
    };
    let digits = &body[digits_at..];
    let length = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if length == 0 {
        return (Some(0), text);
    }
    let rest = &digits[length..];
    let magnitude = i128::from_str_radix(&digits[..length], radix).ok();
    let value = magnitude
        .map(|m| if negative { -m } else { m })
        .and_then(|v| i64::try_from(v).ok());
    (value, rest)
}

/// `strtod(text, &end)` for decimal numbers; None on overflow.
fn c_strtod(text: &str) -> Option<(f64, &str)> {
    let trimmed = text.trim_start_matches(is_c_space);
    let bytes = trimmed.as_bytes();
    let mut end = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let whole = digits(end);
    end += whole;
    let mut fraction = 0;
    if bytes.get(end) == Some(&b'.') {
        fraction = digits(end + 1);
        if whole + fraction > 0 {
            end += 1 + fraction;
        }
    }
    if whole + fraction == 0 {
        return None;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'-' | b'+')));
        let exponent = digits(end + 1 + sign);
        if exponent > 0 {
            end += 1 + sign + exponent;
        }
    }
    let number: f64 = trimmed[..end].parse().ok()?;
    number.is_finite().then_some((number, &trimmed[end..]))
}

/// PostgreSQL's `convert_to_base_unit`: a unit of at most three characters
/// (then only blanks), and a fractional value rounded to the next smaller unit.
fn convert_to_base_unit(value: f64, text: &str, table: &[(&str, f64)], base: f64) -> Option<f64> {
    let unit_length = text
        .char_indices()
        .take_while(|(_, c)| !is_c_space(*c))
        .take(3)
        .last()
        .map(|(i, c)| i + c.len_utf8())?;
    let (unit, after) = text.split_at(unit_length);
    if !after.trim_start_matches(is_c_space).is_empty() {
        return None;
    }
    let index = table.iter().position(|(name, _)| *name == unit)?;
    let converted = value * table[index].1 / base;
    Some(match table.get(index + 1) {
        Some((_, smaller)) => {
            let step = smaller / base;
            (converted / step).round_ties_even() * step
        }
        None => converted,
    })
}

/// How SHOW prints a stored value: `1GB`, `5min`, `10s`, `0`: the largest
/// unit that divides the value.
pub fn display(definition: &Definition, stored: &str) -> String {
    let Kind::Integer { unit, .. } = definition.kind else {
        return stored.to_string();
    };
    let (Ok(number), Some((table, base))) = (stored.parse::<i64>(), unit_table(unit)) else {
        return stored.to_string();
    };
    if number <= 0 {
        // 0 and the -1 of "no limit" show without a unit.
        return number.to_string();
    }
    // PostgreSQL's convert_int_from_base_unit: the first unit, largest
    // first, that divides the value or is not larger than the base unit.
    for (name, size) in table {
        let multiplier = size / base;
        if multiplier <= 1.0 || number as f64 % multiplier == 0.0 {
            return format!("{}{name}", (number as f64 / multiplier).round() as i64);
        }
    }
    number.to_string()
}

/// The name of the file `ALTER SYSTEM` writes, as its errors say it.
pub const AUTO_CONF: &str = "postgresql.auto.conf";

/// The settings of `postgresql.auto.conf` in the file's order. PostgreSQL's ALTER SYSTEM
/// removes a setting's lines and appends the new one at the end, and `pg_basebackup -R`
/// appends `primary_conninfo` after what the copied file held, so the order is the history of
/// the changes, which `cat` shows.
pub type AutoConf = Vec<(String, String)>;

/// Sets `name` in `auto` as ALTER SYSTEM does: any line of that name (in any case) removed,
/// then the new value appended (None: only removed).
pub fn replace_auto_value(auto: &mut AutoConf, name: &str, value: Option<String>) {
    auto.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    if let Some(value) = value {
        auto.push((name.to_string(), value));
    }
}
/// Lines before the first setting in `postgresql.auto.conf`.
const AUTO_CONF_HEADER: &str =
    "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n";

/// A server's settings: defaults, the two configuration files, and what is in force.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The data directory, for the file names in log lines.
    pub data_directory: String,
    /// `postgresql.conf`, as parsed at the last start or reload.
    file: ConfFile,
    /// `postgresql.auto.conf`, written by ALTER SYSTEM: (name, value as written), in the
    /// file's order.
    pub auto: AutoConf,
    /// Lines appended to `postgresql.auto.conf` that do not parse; they stop
    /// the server from starting, and ALTER SYSTEM refuses to rewrite the file.
    pub auto_unparsed: Vec<String>,
    /// Values in force for the whole server (normalised).
    active: BTreeMap<&'static str, String>,
    /// Settings whose value in force came from a file (a reload that no
    /// longer finds them resets them).
    from_file: BTreeSet<&'static str>,
    /// Changed in a file but waiting for a restart.
    pub pending_restart: BTreeSet<&'static str>,
}

/// What one pass over the configuration files decided.
struct Pass {
    log: Vec<String>,
    /// The file PostgreSQL names in its "contains errors" line.
    error_file: Option<String>,
    /// Whether values were applied (false: the files did not parse).
    applying: bool,
}

impl Pass {
    fn error(&mut self, file: &str, error: &DbError) {
        self.log.push(format!("LOG:  {}", error.message));
        if let Some(detail) = &error.detail {
            self.log.push(format!("DETAIL:  {detail}"));
        }
        if let Some(hint) = &error.hint {
            self.log.push(format!("HINT:  {hint}"));
        }
        self.error_file = Some(file.to_string());
    }
}

impl Settings {
    pub fn new() -> Settings {
        let mut settings = Settings::default();
        settings.start().expect("the default settings are valid");
        settings
    }

    /// The value in force, before any session SET.
    pub fn get(&self, name: &str) -> String {
        self.value(name).to_string()
    }

    /// [`Settings::get`] without the copy: each node's timer poll reads several settings, on
    /// every event, and copying them was most of a replicating cluster's work.
    pub fn value(&self, name: &str) -> &str {
        // The usual caller names the setting as it is defined: one map lookup, not a search of
        // every definition (this runs several times per statement).
        if let Some(value) = self.active.get(name) {
            return value;
        }
        let definition = definition(name).expect("known setting");
        self.active
            .get(definition.name)
            .map_or(definition.default, String::as_str)
    }

    /// `pg_settings.source` of the server's value: from a file, or the built-in default.
    pub fn source(&self, name: &str) -> &'static str {
        let Some(definition) = definition(name) else {
            return "default";
        };
        if self.from_file.contains(definition.name) {
            "configuration file"
        } else if definition.context == Internal && self.active.contains_key(definition.name) {
            "override"
        } else {
            "default"
        }
    }

    pub fn set_internal(&mut self, name: &'static str, value: String) {
        self.active.insert(name, value);
    }

    /// Reads `postgresql.conf`'s text; it takes effect at the next start or reload.
    pub fn load_conf(&mut self, text: &str) {
        self.file = parse_conf(text);
    }

    fn path(&self, file: &str) -> String {
        format!("{}/{file}", self.data_directory)
    }

    /// Server start: every setting from the files or its default. Err is the
    /// server log of a start that fails: each bad line, then the FATAL.
    pub fn start(&mut self) -> std::result::Result<(), Vec<String>> {
        self.active
            .retain(|name, _| definition(name).is_some_and(|d| d.context == Internal));
        self.from_file.clear();
        self.pending_restart.clear();
        let mut pass = self.process_files(true);
        self.fill_defaults();
        match pass.error_file.take() {
            None => Ok(()),
            Some(file) => {
                pass.log.push(format!(
                    "FATAL:  configuration file \"{file}\" contains errors"
                ));
                Err(pass.log)
            }
        }
    }

    /// Puts every setting the files did not set in force at its default, so that reading any
    /// setting by its name is one map lookup (a missing one cost a search of the definitions,
    /// on every timer poll of every node). Internal settings stay out: one that is in force
    /// was set by the server ([`Settings::source`] says "override").
    fn fill_defaults(&mut self) {
        for definition in DEFINITIONS {
            if definition.context != Internal {
                self.active
                    .entry(definition.name)
                    .or_insert_with(|| definition.default.to_string());
            }
        }
    }

    /// `pg_reload_conf()` / SIGHUP: returns the log lines PostgreSQL would
    /// write. Bad lines are reported and skipped; the rest is applied.
    pub fn reload(&mut self) -> Vec<String> {
        let mut pass = self.process_files(false);
        if let Some(file) = pass.error_file.take() {
            let outcome = if pass.applying {
                "unaffected changes were applied"
            } else {
                "no changes were applied"
            };
            pass.log.push(format!(
                "LOG:  configuration file \"{file}\" contains errors; {outcome}"
            ));
        }
        pass.log
    }

    /// `postgresql.auto.conf` as lines of a parsed file.
    fn auto_file(&self) -> ConfFile {
        let first = AUTO_CONF_HEADER.lines().count() + 1;
        let mut file = ConfFile::default();
        for (index, (name, value)) in self.auto.iter().enumerate() {
            file.lines.push(ConfLine {
                name: name.clone(),
                value: value.clone(),
                line: first + index,
            });
        }
        let after = first + self.auto.len();
        for (index, raw) in self.auto_unparsed.iter().enumerate() {
            for (_, token) in parse_conf(raw).errors {
                file.errors.push((after + index, token));
            }
        }
        file
    }

    /// PostgreSQL's `ProcessConfigFile`: syntax errors and unknown names stop
    /// everything; otherwise each value is checked and applied (at a reload,
    /// a server-start setting that changed only waits for the restart).
    fn process_files(&mut self, starting: bool) -> Pass {
        let mut pass = Pass {
            log: Vec::new(),
            error_file: None,
            applying: false,
        };
        let conf_path = self.path("postgresql.conf");
        let auto_path = self.path(AUTO_CONF);
        let auto = self.auto_file();
        let conf = self.file.clone();
        for (file, path, name) in [
            (&conf, &conf_path, conf_path.as_str()),
            (&auto, &auto_path, AUTO_CONF),
        ] {
            for index in 0..file.errors.len().min(100) {
                pass.log
                    .push(format!("LOG:  {}", file.error_message(index, path)));
                pass.error_file = Some(name.to_string());
            }
            if pass.error_file.is_some() {
                return pass;
            }
        }
        let lines: Vec<(&ConfLine, &str)> = conf
            .lines
            .iter()
            .map(|l| (l, conf_path.as_str()))
            .chain(auto.lines.iter().map(|l| (l, auto_path.as_str())))
            .collect();
        let mut last: BTreeMap<&'static str, usize> = BTreeMap::new();
        for (index, (line, path)) in lines.iter().enumerate() {
            match definition(&line.name) {
                Some(definition) => {
                    last.insert(definition.name, index);
                }
                // A name with a dot is an extension's placeholder: accepted.
                None if line.name.contains('.') => {}
                None => {
                    pass.log.push(format!(
                        "LOG:  unrecognized configuration parameter \"{}\" in file \"{path}\" line {}",
                        line.name, line.line
                    ));
                    pass.error_file = Some(path.to_string());
                }
            }
        }
        if pass.error_file.is_some() {
            return pass;
        }
        pass.applying = true;
        if !starting {
            self.reset_removed(&last, &mut pass, &conf_path);
        }
        for (index, (line, path)) in lines.iter().enumerate() {
            let Some(definition) = definition(&line.name) else {
                continue;
            };
            if last.get(definition.name) == Some(&index) {
                self.apply_from_file(definition, line, path, starting, &mut pass);
            }
        }
        pass
    }

    /// At a reload, settings no longer in any file go back to their defaults.
    fn reset_removed(
        &mut self,
        present: &BTreeMap<&'static str, usize>,
        pass: &mut Pass,
        conf_path: &str,
    ) {
        let removed: Vec<&'static str> = self
            .from_file
            .iter()
            .filter(|name| !present.contains_key(*name))
            .copied()
            .collect();
        for name in removed {
            let definition = definition(name).expect("known setting");
            if definition.context == Postmaster {
                self.pending_restart.insert(name);
                pass.log.push(format!(
                    "LOG:  parameter \"{name}\" cannot be changed without restarting the server"
                ));
                pass.error_file.get_or_insert_with(|| conf_path.to_string());
                continue;
            }
            self.from_file.remove(name);
            self.active.insert(name, definition.default.to_string());
            pass.log.push(format!(
                "LOG:  parameter \"{name}\" removed from configuration file, reset to default"
            ));
        }
    }

    /// One setting's last line in the files: checked, then in force (at a
    /// start, or a reload for settings that may change without a restart).
    fn apply_from_file(
        &mut self,
        definition: &'static Definition,
        line: &ConfLine,
        path: &str,
        starting: bool,
        pass: &mut Pass,
    ) {
        let name = definition.name;
        if definition.context == Internal {
            let error = DbError::new(
                code::CANT_CHANGE_RUNTIME_PARAM,
                format!("parameter \"{name}\" cannot be changed"),
            );
            return pass.error(path, &error);
        }
        let value = match normalize(definition, &line.value) {
            Ok(value) => value,
            Err(error) => return pass.error(path, &error),
        };
        let changed = value != self.get(name);
        if starting || !changed {
            self.active.insert(name, value);
            self.from_file.insert(name);
        } else if definition.context == Postmaster {
            self.pending_restart.insert(name);
            let error = DbError::new(
                code::CANT_CHANGE_RUNTIME_PARAM,
                format!("parameter \"{name}\" cannot be changed without restarting the server"),
            );
            pass.error(path, &error);
        } else {
            pass.log.push(format!(
                "LOG:  parameter \"{name}\" changed to \"{}\"",
                line.value
            ));
            self.active.insert(name, value);
            self.from_file.insert(name);
        }
    }

    /// `ALTER SYSTEM SET name = value` (None: RESET; `RESET ALL` empties the file).
    pub fn alter_system(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        if name.eq_ignore_ascii_case("all") && value.is_none() {
            self.auto.clear();
            self.auto_unparsed.clear();
            return Ok(());
        }
        let definition = definition(name).ok_or_else(|| unrecognized(name))?;
        if definition.context == Internal {
            return Err(DbError::new(
                code::CANT_CHANGE_RUNTIME_PARAM,
                format!("parameter \"{}\" cannot be changed", definition.name),
            ));
        }
        if let Some(value) = value {
            normalize(definition, value)?;
        }
        if !self.auto_unparsed.is_empty() {
            return Err(DbError::new(
                code::CONFIG_FILE_ERROR,
                format!("could not parse contents of file \"{AUTO_CONF}\""),
            ));
        }
        replace_auto_value(&mut self.auto, definition.name, value.map(str::to_string));
        Ok(())
    }

    /// A line appended to `postgresql.auto.conf` (`echo ... >>`): its
    /// settings join the file; a line that does not parse stays as written.
    pub fn append_auto(&mut self, line: &str) {
        let parsed = parse_conf(line);
        if parsed.errors.is_empty() {
            for setting in parsed.lines {
                replace_auto_value(&mut self.auto, &setting.name, Some(setting.value));
            }
        } else {
            self.auto_unparsed.push(line.to_string());
        }
    }

    /// The text of `postgresql.auto.conf`.
    pub fn auto_conf_text(&self) -> String {
        let mut text = AUTO_CONF_HEADER.to_string();
        for (name, value) in &self.auto {
            text.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
        }
        for line in &self.auto_unparsed {
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

/// Checks a session-level `SET name = value`; returns the canonical name and value.
pub fn check_session_set(name: &str, value: &str) -> Result<(&'static str, String)> {
    let definition = definition(name).ok_or_else(|| unrecognized(name))?;
    let message = match definition.context {
        Internal => Some(format!(
            "parameter \"{}\" cannot be changed",
            definition.name
        )),
        Postmaster => Some(format!(
            "parameter \"{}\" cannot be changed without restarting the server",
            definition.name
        )),
        Sighup => Some(format!(
            "parameter \"{}\" cannot be changed now",
            definition.name
        )),
        User => None,
    };
    if let Some(message) = message {
        return Err(DbError::new(code::CANT_CHANGE_RUNTIME_PARAM, message));
    }
    Ok((definition.name, normalize(definition, value)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_values_with_units() {
        let settings = Settings::new();
        let show = |name: &str| display(definition(name).unwrap(), &settings.get(name));
        assert_eq!(show("max_wal_size"), "1GB");
        assert_eq!(show("checkpoint_timeout"), "5min");
        assert_eq!(show("wal_sender_timeout"), "1min");
        assert_eq!(show("shared_buffers"), "128MB");
        assert_eq!(show("wal_keep_size"), "0");
    }

    #[test]
    fn old_names_get_a_hint() {
        let error = check_session_set("wal_keep_segments", "32").unwrap_err();
        assert_eq!(
            error.message,
            "unrecognized configuration parameter \"wal_keep_segments\""
        );
        assert!(error.hint.unwrap().contains("wal_keep_size"));
    }

    #[test]
    fn reload_applies_sighup_and_defers_postmaster() {
        let mut settings = Settings::new();
        settings.alter_system("wal_keep_size", Some("1GB")).unwrap();
        settings.alter_system("max_wal_senders", Some("3")).unwrap();
        let log = settings.reload();
        assert_eq!(settings.get("wal_keep_size"), "1024");
        assert_eq!(settings.get("max_wal_senders"), "10");
        assert!(log
            .iter()
            .any(|l| l.contains("\"max_wal_senders\" cannot be changed without restarting")));
        settings.start().unwrap();
        assert_eq!(settings.get("max_wal_senders"), "3");
        assert!(settings.auto_conf_text().contains("wal_keep_size = '1GB'"));
    }

    fn check(name: &str, value: &str) -> std::result::Result<String, String> {
        normalize(definition(name).unwrap(), value).map_err(|e| match e.hint {
            Some(hint) => format!("{} HINT: {hint}", e.message),
            None => e.message,
        })
    }

    /// Values and errors as PostgreSQL 15 gives them for SET / ALTER SYSTEM.
    #[test]
    fn integers_are_parsed_and_checked_as_postgres_does() {
        assert_eq!(
            check("max_wal_senders", "-5").unwrap_err(),
            "-5 is outside the valid range for parameter \"max_wal_senders\" (0 .. 262143)"
        );
        assert_eq!(
            check("max_connections", "abc").unwrap_err(),
            "invalid value for parameter \"max_connections\": \"abc\""
        );
        assert_eq!(
            check("port", "99999").unwrap_err(),
            "99999 is outside the valid range for parameter \"port\" (1 .. 65535)"
        );
        assert_eq!(
            check("checkpoint_timeout", "0").unwrap_err(),
            "0 s is outside the valid range for parameter \"checkpoint_timeout\" (30 .. 86400)"
        );
        assert_eq!(
            check("checkpoint_timeout", "10ms").unwrap_err(),
            "0 s is outside the valid range for parameter \"checkpoint_timeout\" (30 .. 86400)"
        );
        assert_eq!(
            check("checkpoint_timeout", "10 parsecs").unwrap_err(),
            "invalid value for parameter \"checkpoint_timeout\": \"10 parsecs\" HINT: Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\"."
        );
        assert_eq!(check("checkpoint_timeout", "1.5min").unwrap(), "90");
        assert_eq!(
            check("work_mem", "1.5").unwrap_err(),
            "2 kB is outside the valid range for parameter \"work_mem\" (64 .. 2147483647)"
        );
        assert_eq!(check("work_mem", "1.5MB").unwrap(), "1536");
        assert_eq!(check("work_mem", " 100 kB ").unwrap(), "100");
        assert_eq!(check("work_mem", "0x100").unwrap(), "256");
        assert_eq!(check("work_mem", "0100").unwrap(), "64");
        assert_eq!(check("work_mem", "100.5").unwrap(), "100");
        assert_eq!(check("statement_timeout", "1e3").unwrap(), "1000");
        assert_eq!(
            check("work_mem", "1mb").unwrap_err(),
            "invalid value for parameter \"work_mem\": \"1mb\" HINT: Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\"."
        );
        assert_eq!(
            check("work_mem", "99999999999").unwrap_err(),
            "invalid value for parameter \"work_mem\": \"99999999999\" HINT: Value exceeds integer range."
        );
        for silent in ["inf", "nan", "", "1e400"] {
            assert_eq!(
                check("work_mem", silent).unwrap_err(),
                format!("invalid value for parameter \"work_mem\": \"{silent}\"")
            );
        }
        assert_eq!(
            check("wal_sender_timeout", "-1").unwrap_err(),
            "-1 ms is outside the valid range for parameter \"wal_sender_timeout\" (0 .. 2147483647)"
        );
        let shared = definition("shared_buffers").unwrap();
        assert_eq!(
            display(shared, &check("shared_buffers", "1MB").unwrap()),
            "1MB"
        );
        assert_eq!(display(shared, "1"), "8kB");
        assert_eq!(
            check("shared_buffers", "8").unwrap_err(),
            "8 8kB is outside the valid range for parameter \"shared_buffers\" (16 .. 1073741823)"
        );
    }

    #[test]
    fn booleans_and_enums_are_parsed_as_postgres_does() {
        for yes in ["on", "TRUE", "tr", "y", "yes", "1", "t"] {
            assert_eq!(check("hot_standby", yes).unwrap(), "on", "{yes}");
        }
        for no in ["off", "of", "F", "n", "no", "0", "fals"] {
            assert_eq!(check("hot_standby", no).unwrap(), "off", "{no}");
        }
        for bad in ["o", "maybe", "", "10", "onn"] {
            assert_eq!(
                check("hot_standby", bad).unwrap_err(),
                "parameter \"hot_standby\" requires a Boolean value"
            );
        }
        assert_eq!(check("wal_level", "HOT_STANDBY").unwrap(), "replica");
        assert_eq!(check("synchronous_commit", "yes").unwrap(), "on");
        assert_eq!(
            check("wal_level", "bogus").unwrap_err(),
            "invalid value for parameter \"wal_level\": \"bogus\" HINT: Available values: minimal, replica, logical."
        );
    }

    fn settings_with(conf: &str, auto: &[(&str, &str)]) -> Settings {
        let mut settings = Settings::new();
        settings.data_directory = "/d".into();
        settings.load_conf(conf);
        for (name, value) in auto {
            settings.auto.push((name.to_string(), value.to_string()));
        }
        settings
    }

    /// The lines PostgreSQL 15 logged for the same files.
    #[test]
    fn a_bad_file_stops_the_start_with_postgres_lines() {
        let mut settings = settings_with("", &[("max_wal_senders", "-5")]);
        assert_eq!(
            settings.start().unwrap_err(),
            vec![
                "LOG:  -5 is outside the valid range for parameter \"max_wal_senders\" (0 .. 262143)",
                "FATAL:  configuration file \"/d/postgresql.auto.conf\" contains errors",
            ]
        );
        let mut settings = settings_with("checkpoint_timeout = 0\nport = 99999\n", &[]);
        assert_eq!(
            settings.start().unwrap_err(),
            vec![
                "LOG:  0 s is outside the valid range for parameter \"checkpoint_timeout\" (30 .. 86400)",
                "LOG:  99999 is outside the valid range for parameter \"port\" (1 .. 65535)",
                "FATAL:  configuration file \"/d/postgresql.conf\" contains errors",
            ]
        );
        let mut settings = settings_with("\nbogus_setting = 1\n", &[]);
        assert_eq!(
            settings.start().unwrap_err(),
            vec![
                "LOG:  unrecognized configuration parameter \"bogus_setting\" in file \"/d/postgresql.conf\" line 2",
                "FATAL:  configuration file \"/d/postgresql.conf\" contains errors",
            ]
        );
        let mut settings = settings_with("archive_command = 'cp %p /x\n", &[]);
        assert_eq!(
            settings.start().unwrap_err(),
            vec![
                "LOG:  syntax error in file \"/d/postgresql.conf\" line 1, near token \"'\"",
                "FATAL:  configuration file \"/d/postgresql.conf\" contains errors",
            ]
        );
        let mut settings = settings_with("", &[]);
        settings.append_auto("archive_command = 'cp %p /x");
        assert_eq!(
            settings.start().unwrap_err(),
            vec![
                "LOG:  syntax error in file \"/d/postgresql.auto.conf\" line 3, near token \"'\"",
                "FATAL:  configuration file \"postgresql.auto.conf\" contains errors",
            ]
        );
        assert_eq!(
            settings
                .alter_system("work_mem", Some("1MB"))
                .unwrap_err()
                .message,
            "could not parse contents of file \"postgresql.auto.conf\""
        );
        settings.alter_system("all", None).unwrap();
        assert!(settings.start().is_ok());
    }

    #[test]
    fn a_reload_skips_bad_lines_and_applies_the_rest() {
        let mut settings = settings_with("", &[]);
        settings.start().unwrap();
        settings.load_conf(
            "checkpoint_timeout = 0\nport = 99999\nwork_mem = '2MB'\nshared_buffers = '1MB'\n",
        );
        assert_eq!(
            settings.reload(),
            vec![
                "LOG:  0 s is outside the valid range for parameter \"checkpoint_timeout\" (30 .. 86400)",
                "LOG:  99999 is outside the valid range for parameter \"port\" (1 .. 65535)",
                "LOG:  parameter \"work_mem\" changed to \"2MB\"",
                "LOG:  parameter \"shared_buffers\" cannot be changed without restarting the server",
                "LOG:  configuration file \"/d/postgresql.conf\" contains errors; unaffected changes were applied",
            ]
        );
        assert_eq!(settings.get("work_mem"), "2048");
        assert_eq!(settings.get("checkpoint_timeout"), "300");
        settings.load_conf("work_mem = '2MB'\nbogus = 1\ncheckpoint_timeout = 60\n");
        assert_eq!(
            settings.reload(),
            vec![
                "LOG:  unrecognized configuration parameter \"bogus\" in file \"/d/postgresql.conf\" line 2",
                "LOG:  configuration file \"/d/postgresql.conf\" contains errors; no changes were applied",
            ]
        );
        assert_eq!(settings.get("checkpoint_timeout"), "300");
        settings.load_conf("");
        assert_eq!(
            settings.reload(),
            vec!["LOG:  parameter \"work_mem\" removed from configuration file, reset to default"]
        );
    }

    #[test]
    fn alter_system_reset_all_empties_the_file() {
        let mut settings = Settings::new();
        settings.alter_system("work_mem", Some("1.5MB")).unwrap();
        settings
            .alter_system("wal_level", Some("hot_standby"))
            .unwrap();
        assert!(settings.auto_conf_text().contains("work_mem = '1.5MB'"));
        settings.alter_system("ALL", None).unwrap();
        assert!(settings.auto.is_empty());
        assert_eq!(
            settings
                .alter_system("max_wal_senders", Some("-5"))
                .unwrap_err()
                .code,
            "22023"
        );
    }
}
