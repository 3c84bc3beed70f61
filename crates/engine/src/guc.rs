//! Server settings (GUCs): PostgreSQL's names, defaults, units and contexts,
//! the files they come from (`postgresql.conf`, `postgresql.auto.conf`) and
//! the errors for changing them at the wrong moment. Names that older
//! releases used fail as PostgreSQL 15 fails them, with a hint naming today's.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{code, DbError, Result};

/// When a setting may change, as `pg_settings.context` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Integer with a base unit.
    Integer(Unit),
    Enum(&'static [&'static str]),
    String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    None,
    Kilobytes,
    Megabytes,
    Milliseconds,
    Seconds,
    /// WAL blocks of 8 kB (`XLOG_BLCKSZ`), as `wal_writer_flush_after` counts.
    WalBlocks,
}

/// Bytes in a WAL block, the unit of [`Unit::WalBlocks`].
pub const WAL_BLOCK_BYTES: i64 = 8192;

/// The valid ranges of the integer settings pgplay checks, in their base
/// unit, as `pg_settings.min_val`/`max_val` of PostgreSQL 15 give them.
const RANGES: &[(&str, i64, i64)] = &[
    ("wal_writer_delay", 1, 10_000),
    ("wal_writer_flush_after", 0, i32::MAX as i64),
];

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

use Context::*;
use Kind::{Bool, Enum, Integer};
use Unit::{Kilobytes, Megabytes, Milliseconds, Seconds};

pub const DEFINITIONS: &[Definition] = &[
    def("application_name", "", User, Kind::String),
    def("archive_command", "", Sighup, Kind::String),
    def(
        "archive_mode",
        "off",
        Postmaster,
        Enum(&["always", "on", "off"]),
    ),
    def("block_size", "8192", Internal, Integer(Unit::None)),
    def("checkpoint_timeout", "300", Sighup, Integer(Seconds)),
    def("client_encoding", "UTF8", User, Kind::String),
    def("cluster_name", "", Postmaster, Kind::String),
    def("DateStyle", "ISO, MDY", User, Kind::String),
    def("default_transaction_read_only", "off", User, Bool),
    def("full_page_writes", "on", Sighup, Bool),
    def("hot_standby", "on", Postmaster, Bool),
    def("hot_standby_feedback", "off", Sighup, Bool),
    def("in_hot_standby", "off", Internal, Bool),
    def("is_superuser", "on", Internal, Bool),
    def("listen_addresses", "localhost", Postmaster, Kind::String),
    def("max_connections", "100", Postmaster, Integer(Unit::None)),
    def(
        "max_replication_slots",
        "10",
        Postmaster,
        Integer(Unit::None),
    ),
    def(
        "max_standby_streaming_delay",
        "30000",
        Sighup,
        Integer(Milliseconds),
    ),
    def("max_wal_senders", "10", Postmaster, Integer(Unit::None)),
    def("max_slot_wal_keep_size", "-1", Sighup, Integer(Megabytes)),
    def("max_wal_size", "1024", Sighup, Integer(Megabytes)),
    def("min_wal_size", "80", Sighup, Integer(Megabytes)),
    def("port", "5432", Postmaster, Integer(Unit::None)),
    def("primary_conninfo", "", Sighup, Kind::String),
    def("primary_slot_name", "", Sighup, Kind::String),
    def("promote_trigger_file", "", Sighup, Kind::String),
    def(
        "recovery_min_apply_delay",
        "0",
        Sighup,
        Integer(Milliseconds),
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
    def("shared_buffers", "131072", Postmaster, Integer(Kilobytes)),
    def("standard_conforming_strings", "on", User, Bool),
    def("statement_timeout", "0", User, Integer(Milliseconds)),
    def(
        "synchronous_commit",
        "on",
        User,
        Enum(&["local", "remote_write", "remote_apply", "on", "off"]),
    ),
    def("synchronous_standby_names", "", Sighup, Kind::String),
    def("TimeZone", "UTC", User, Kind::String),
    def(
        "transaction_isolation",
        "read committed",
        User,
        Enum(&[
            "serializable",
            "repeatable read",
            "read committed",
            "read uncommitted",
        ]),
    ),
    def("transaction_read_only", "off", User, Bool),
    def("wal_keep_size", "0", Sighup, Integer(Megabytes)),
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
        Integer(Seconds),
    ),
    def(
        "wal_receiver_timeout",
        "60000",
        Sighup,
        Integer(Milliseconds),
    ),
    def(
        "wal_retrieve_retry_interval",
        "5000",
        Sighup,
        Integer(Milliseconds),
    ),
    def("wal_segment_size", "16384", Internal, Integer(Kilobytes)),
    def("wal_sender_timeout", "60000", User, Integer(Milliseconds)),
    def("wal_writer_delay", "200", Sighup, Integer(Milliseconds)),
    def(
        "wal_writer_flush_after",
        "128",
        Sighup,
        Integer(Unit::WalBlocks),
    ),
    def("work_mem", "4096", User, Integer(Kilobytes)),
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
    DEFINITIONS
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
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

/// Checks and normalises a value for `definition` (units folded to the base unit).
pub fn normalize(definition: &Definition, value: &str) -> Result<String> {
    match definition.kind {
        Bool => match value.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" | "t" | "y" => Ok("on".into()),
            "off" | "false" | "no" | "0" | "f" | "n" => Ok("off".into()),
            _ => Err(DbError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("parameter \"{}\" requires a Boolean value", definition.name),
            )),
        },
        Enum(options) => {
            let lower = value.to_ascii_lowercase();
            let aliased = match (definition.name, lower.as_str()) {
                ("wal_level", "archive" | "hot_standby") => "replica".to_string(),
                ("synchronous_commit", "true" | "yes" | "1") => "on".to_string(),
                ("synchronous_commit", "false" | "no" | "0") => "off".to_string(),
                _ => lower,
            };
            if options.contains(&aliased.as_str()) {
                Ok(aliased)
            } else {
                Err(invalid_value(definition.name, value)
                    .with_hint(format!("Available values: {}.", options.join(", "))))
            }
        }
        Integer(unit) => {
            let number = parse_with_unit(value, unit)
                .ok_or_else(|| invalid_value(definition.name, value))?;
            if i32::try_from(number).is_err() {
                return Err(
                    invalid_value(definition.name, value).with_hint("Value exceeds integer range.")
                );
            }
            check_range(definition.name, unit, number)?;
            Ok(number.to_string())
        }
        Kind::String if definition.name == "synchronous_standby_names" => {
            check_sync_standby_names(value)
        }
        Kind::String => Ok(value.to_string()),
    }
}

/// PostgreSQL's error for an integer outside the setting's range, the value
/// in the base unit: `0 ms is outside the valid range for parameter ...`.
fn check_range(name: &str, unit: Unit, number: i64) -> Result<()> {
    let Some((_, min, max)) = RANGES.iter().find(|(n, _, _)| *n == name) else {
        return Ok(());
    };
    if (*min..=*max).contains(&number) {
        return Ok(());
    }
    let unit = match unit {
        Unit::None => "",
        Kilobytes => " kB",
        Megabytes => " MB",
        Milliseconds => " ms",
        Seconds => " s",
        Unit::WalBlocks => " 8kB",
    };
    Err(DbError::new(
        code::INVALID_PARAMETER_VALUE,
        format!(
            "{number}{unit} is outside the valid range for parameter \"{name}\" ({min} .. {max})"
        ),
    ))
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

fn parse_with_unit(value: &str, unit: Unit) -> Option<i64> {
    let trimmed = value.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(split);
    let number: i64 = number.parse().ok()?;
    let suffix = suffix.trim();
    if suffix.is_empty() {
        return Some(number);
    }
    let bytes = |s: &str| -> Option<i64> {
        Some(match s {
            "B" => 1,
            "kB" => 1024,
            "MB" => 1024 * 1024,
            "GB" => 1024 * 1024 * 1024,
            "TB" => 1024_i64.pow(4),
            _ => return None,
        })
    };
    let micros = |s: &str| -> Option<i64> {
        Some(match s {
            "us" => 1,
            "ms" => 1000,
            "s" => 1_000_000,
            "min" => 60_000_000,
            "h" => 3_600_000_000,
            "d" => 86_400_000_000,
            _ => return None,
        })
    };
    // PostgreSQL rounds to the nearest base unit (rint: halves to even).
    let convert = |from: Option<i64>, base: i64| {
        from.map(|from| (number as f64 * from as f64 / base as f64).round_ties_even() as i64)
    };
    match unit {
        Kilobytes => convert(bytes(suffix), 1024),
        Megabytes => convert(bytes(suffix), 1024 * 1024),
        Unit::WalBlocks => convert(bytes(suffix), WAL_BLOCK_BYTES),
        Milliseconds => convert(micros(suffix), 1000),
        Seconds => convert(micros(suffix), 1_000_000),
        Unit::None => None,
    }
}

/// How SHOW prints a stored value: `1GB`, `5min`, `10s`, `0`.
pub fn display(definition: &Definition, stored: &str) -> String {
    let Integer(unit) = definition.kind else {
        return stored.to_string();
    };
    let Ok(number) = stored.parse::<i64>() else {
        return stored.to_string();
    };
    if number <= 0 {
        // 0 and the -1 of "no limit" show without a unit.
        return number.to_string();
    }
    let scaled = |value: i64, units: &[(&str, i64)]| -> String {
        for (name, size) in units.iter().rev() {
            if value % size == 0 {
                return format!("{}{name}", value / size);
            }
        }
        value.to_string()
    };
    match unit {
        Unit::None => number.to_string(),
        Kilobytes => scaled(
            number,
            &[
                ("kB", 1),
                ("MB", 1024),
                ("GB", 1024 * 1024),
                ("TB", 1024 * 1024 * 1024),
            ],
        ),
        Megabytes => scaled(number, &[("MB", 1), ("GB", 1024), ("TB", 1024 * 1024)]),
        Unit::WalBlocks => scaled(
            number * (WAL_BLOCK_BYTES / 1024),
            &[
                ("kB", 1),
                ("MB", 1024),
                ("GB", 1024 * 1024),
                ("TB", 1024 * 1024 * 1024),
            ],
        ),
        Milliseconds => scaled(
            number,
            &[
                ("ms", 1),
                ("s", 1000),
                ("min", 60_000),
                ("h", 3_600_000),
                ("d", 86_400_000),
            ],
        ),
        Seconds => scaled(number, &[("s", 1), ("min", 60), ("h", 3600), ("d", 86_400)]),
    }
}

/// A server's settings: defaults, the two configuration files, and what is in force.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `postgresql.conf`, as parsed.
    pub file: BTreeMap<String, String>,
    /// `postgresql.auto.conf`, written by ALTER SYSTEM.
    pub auto: BTreeMap<String, String>,
    /// Values in force for the whole server (normalised).
    active: BTreeMap<&'static str, String>,
    /// Changed in a file but waiting for a restart.
    pub pending_restart: BTreeSet<&'static str>,
}

impl Settings {
    pub fn new() -> Settings {
        let mut settings = Settings::default();
        settings.start();
        settings
    }

    /// The value in force, before any session SET.
    pub fn get(&self, name: &str) -> String {
        let definition = definition(name).expect("known setting");
        self.active
            .get(definition.name)
            .cloned()
            .unwrap_or_else(|| definition.default.to_string())
    }

    pub fn set_internal(&mut self, name: &'static str, value: String) {
        self.active.insert(name, value);
    }

    fn from_files(&self, definition: &Definition) -> Option<String> {
        let find = |map: &BTreeMap<String, String>| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(definition.name))
                .map(|(_, v)| v.clone())
        };
        let raw = find(&self.auto).or_else(|| find(&self.file))?;
        normalize(definition, &raw).ok()
    }

    /// Server start: every setting from the files or its default.
    pub fn start(&mut self) {
        for definition in DEFINITIONS.iter().filter(|d| d.context != Internal) {
            let value = self
                .from_files(definition)
                .unwrap_or_else(|| definition.default.to_string());
            self.active.insert(definition.name, value);
        }
        self.pending_restart.clear();
    }

    /// `pg_reload_conf()` / SIGHUP: returns log lines PostgreSQL would write.
    pub fn reload(&mut self) -> Vec<String> {
        let mut log = Vec::new();
        for definition in DEFINITIONS.iter().filter(|d| d.context != Internal) {
            let wanted = self
                .from_files(definition)
                .unwrap_or_else(|| definition.default.to_string());
            let current = self.get(definition.name);
            if wanted == current {
                continue;
            }
            if definition.context == Postmaster {
                self.pending_restart.insert(definition.name);
                log.push(format!(
                    "LOG:  parameter \"{}\" cannot be changed without restarting the server",
                    definition.name
                ));
            } else {
                log.push(format!(
                    "LOG:  parameter \"{}\" changed to \"{}\"",
                    definition.name,
                    display(definition, &wanted)
                ));
                self.active.insert(definition.name, wanted);
            }
        }
        log
    }

    /// `ALTER SYSTEM SET name = value` (None: RESET).
    pub fn alter_system(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        let definition = definition(name).ok_or_else(|| unrecognized(name))?;
        if definition.context == Internal {
            return Err(DbError::new(
                code::CANT_CHANGE_RUNTIME_PARAM,
                format!("parameter \"{}\" cannot be changed", definition.name),
            ));
        }
        match value {
            Some(value) => {
                normalize(definition, value)?;
                self.auto
                    .insert(definition.name.to_string(), value.to_string());
            }
            None => {
                self.auto.remove(definition.name);
            }
        }
        Ok(())
    }

    /// The text of `postgresql.auto.conf`.
    pub fn auto_conf_text(&self) -> String {
        let mut text = "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n".to_string();
        for (name, value) in &self.auto {
            text.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
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

/// Parses `postgresql.conf` text: `name = value` lines, `#` comments, quoted values.
pub fn parse_conf(text: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    let mut values = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = strip_comment(line).trim().to_string();
        if line.is_empty() {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((name, value)) => (name.trim(), value.trim()),
            None => match line.split_once(char::is_whitespace) {
                Some((name, value)) => (name.trim(), value.trim()),
                None => {
                    return Err(format!(
                        "syntax error in file \"postgresql.conf\" line {}, near end of line",
                        number + 1
                    ))
                }
            },
        };
        let value = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .map(|v| v.replace("''", "'"))
            .unwrap_or_else(|| value.to_string());
        values.insert(name.to_string(), value);
    }
    Ok(values)
}

fn strip_comment(line: &str) -> &str {
    let mut in_quotes = false;
    for (index, c) in line.char_indices() {
        match c {
            '\'' => in_quotes = !in_quotes,
            '#' if !in_quotes => return &line[..index],
            _ => {}
        }
    }
    line
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
        assert_eq!(show("wal_writer_delay"), "200ms");
        assert_eq!(show("wal_writer_flush_after"), "1MB");
    }

    #[test]
    fn wal_writer_settings_take_units_and_ranges() {
        let flush_after = definition("wal_writer_flush_after").unwrap();
        let delay = definition("wal_writer_delay").unwrap();
        assert_eq!(normalize(flush_after, "2MB").unwrap(), "256");
        assert_eq!(
            normalize(flush_after, "4kB").unwrap(),
            "0",
            "rounded half to even"
        );
        assert_eq!(display(flush_after, "3"), "24kB");
        assert_eq!(display(flush_after, "10000"), "80000kB");
        assert_eq!(normalize(delay, "1s").unwrap(), "1000");
        assert_eq!(normalize(delay, "1500us").unwrap(), "2");
        let error = normalize(delay, "0").unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (
                code::INVALID_PARAMETER_VALUE,
                "0 ms is outside the valid range for parameter \"wal_writer_delay\" (1 .. 10000)"
            )
        );
        assert_eq!(
            normalize(delay, "11s").unwrap_err().message,
            "11000 ms is outside the valid range for parameter \"wal_writer_delay\" (1 .. 10000)"
        );
        assert_eq!(
            normalize(flush_after, "-1").unwrap_err().message,
            "-1 8kB is outside the valid range for parameter \"wal_writer_flush_after\" (0 .. 2147483647)"
        );
        let error = normalize(flush_after, "20TB").unwrap_err();
        assert_eq!(
            error.message,
            "invalid value for parameter \"wal_writer_flush_after\": \"20TB\""
        );
        assert_eq!(error.hint.as_deref(), Some("Value exceeds integer range."));
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
        settings.start();
        assert_eq!(settings.get("max_wal_senders"), "3");
        assert!(settings.auto_conf_text().contains("wal_keep_size = '1GB'"));
    }

    #[test]
    fn parses_conf_files() {
        let parsed = parse_conf("wal_level = hot_standby # comment\nmax_wal_senders 5\narchive_command = 'cp %p /a/%f'\n").unwrap();
        assert_eq!(parsed["wal_level"], "hot_standby");
        assert_eq!(parsed["max_wal_senders"], "5");
        assert_eq!(parsed["archive_command"], "cp %p /a/%f");
    }
}
