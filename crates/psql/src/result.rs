//! Query results: aligned and expanded output, command tags, timing.

use crate::table::{render_aligned, render_expanded, Table};

/// A result column: its name and the OID of its type (decides alignment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_oid: u32,
}

impl Column {
    pub fn new(name: impl Into<String>, type_oid: u32) -> Self {
        Column {
            name: name.into(),
            type_oid,
        }
    }
}

/// Rows of a query result, values in PostgreSQL text format (`None` = NULL).
///
/// A row shorter than `columns` is padded with NULLs; extra values are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultSet {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// `\x` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Expanded {
    #[default]
    Off,
    On,
    /// psql picks expanded output when a result is wider than the terminal.
    /// This crate knows no terminal width, so `Auto` prints like `Off`.
    Auto,
}

/// `\set VERBOSITY` setting, used by [`crate::format_error`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verbosity {
    #[default]
    Default,
    Verbose,
    Terse,
}

/// psql's display settings that this crate honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `\x`.
    pub expanded: Expanded,
    /// `\pset null`: text shown for NULL (psql's default is empty).
    pub null_display: String,
    /// `\pset footer`: print the `(N rows)` footer.
    pub footer: bool,
    /// `\timing`: the REPL should print [`format_timing`] after each command.
    pub timing: bool,
    /// `\set VERBOSITY`.
    pub verbosity: Verbosity,
    /// Input comes from a terminal: after a lost connection psql reconnects and goes on;
    /// reading a script it stops, with exit status 2.
    pub interactive: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            expanded: Expanded::Off,
            null_display: String::new(),
            footer: true,
            timing: false,
            verbosity: Verbosity::Default,
            interactive: true,
        }
    }
}

/// Type OIDs psql right-aligns: int2, int4, int8, float4, float8, numeric,
/// oid, xid, cid, xid8 and money.
pub fn is_numeric_type(type_oid: u32) -> bool {
    matches!(
        type_oid,
        20 | 21 | 23 | 26 | 28 | 29 | 700 | 701 | 790 | 1700 | 5069
    )
}

fn to_table(rs: &ResultSet, opts: &Options) -> Table {
    let ncols = rs.columns.len();
    let cell = |row: &Vec<Option<String>>, c: usize| match row.get(c) {
        Some(Some(v)) => v.clone(),
        _ => opts.null_display.clone(),
    };
    Table {
        title: None,
        headers: rs.columns.iter().map(|c| c.name.clone()).collect(),
        right_align: rs
            .columns
            .iter()
            .map(|c| is_numeric_type(c.type_oid))
            .collect(),
        rows: rs
            .rows
            .iter()
            .map(|r| (0..ncols).map(|c| cell(r, c)).collect())
            .collect(),
        footers: Vec::new(),
        default_footer: opts.footer,
    }
}

/// psql's default aligned table, including the `(N rows)` footer (unless
/// `opts.footer` is false) and the blank line psql prints after every table.
pub fn format_aligned(rs: &ResultSet, opts: &Options) -> String {
    render_aligned(&to_table(rs, opts))
}

/// psql's expanded (`\x`) output: one `-[ RECORD n ]` block per row; an
/// empty result (or one without columns) prints `(N rows)` like psql.
pub fn format_expanded(rs: &ResultSet, opts: &Options) -> String {
    render_expanded(&to_table(rs, opts))
}

/// Aligned or expanded output according to `opts.expanded` (`Auto` = aligned).
pub fn format_result(rs: &ResultSet, opts: &Options) -> String {
    match opts.expanded {
        Expanded::On => format_expanded(rs, opts),
        Expanded::Off | Expanded::Auto => format_aligned(rs, opts),
    }
}

/// The command status line psql prints for a command without rows, e.g.
/// `INSERT 0 1` or `CREATE TABLE` (with its newline). An empty tag prints nothing.
pub fn format_command_tag(tag: &str) -> String {
    if tag.is_empty() {
        String::new()
    } else {
        format!("{tag}\n")
    }
}

/// Whether psql prints the command tag *after* a table of rows: it does for
/// `INSERT`/`UPDATE`/`DELETE ... RETURNING`, not for `SELECT` and the like.
pub fn tag_follows_rows(tag: &str) -> bool {
    ["INSERT", "UPDATE", "DELETE"]
        .iter()
        .any(|p| tag.starts_with(p))
}

/// psql's `\timing` line, e.g. `Time: 0.285 ms` or
/// `Time: 1202.694 ms (00:01.203)` (the clock is the caller's business).
pub fn format_timing(elapsed_ms: f64) -> String {
    let ms = if elapsed_ms.is_finite() {
        elapsed_ms.max(0.0)
    } else {
        0.0
    };
    if ms < 1000.0 {
        return format!("Time: {ms:.3} ms\n");
    }
    let total_s = ms / 1000.0;
    let minutes = (total_s / 60.0).floor();
    let seconds = total_s - 60.0 * minutes;
    if minutes < 60.0 {
        return format!("Time: {ms:.3} ms ({:02}:{seconds:06.3})\n", minutes as u64);
    }
    let hours = (minutes / 60.0).floor();
    let minutes = minutes - 60.0 * hours;
    if hours < 24.0 {
        return format!(
            "Time: {ms:.3} ms ({:02}:{:02}:{seconds:06.3})\n",
            hours as u64, minutes as u64
        );
    }
    let days = (hours / 24.0).floor();
    let hours = hours - 24.0 * days;
    format!(
        "Time: {ms:.3} ms ({days:.0} d {:02}:{:02}:{seconds:06.3})\n",
        hours as u64, minutes as u64
    )
}
