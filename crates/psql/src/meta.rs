//! Backslash (meta) commands: parsing and the settings they change.

use crate::result::{Expanded, Options};

/// A parsed backslash command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaCommand {
    /// `\d [pattern]`: list relations, or describe those matching `pattern`.
    Describe { pattern: Option<String> },
    /// `\dt [pattern]`: list tables.
    DescribeTables { pattern: Option<String> },
    /// `\df[anptwS] [pattern]`: list functions. `kinds` holds the letters given (`a` aggregates,
    /// `n` normal, `p` procedures, `t` trigger functions, `w` window functions; none: all),
    /// `system` the `S` (without a pattern, only then are pg_catalog's functions listed).
    DescribeFunctions {
        pattern: Option<String>,
        kinds: String,
        system: bool,
    },
    /// `\x [on|off|auto]` (raw value; `None` toggles).
    Expanded(Option<String>),
    /// `\pset null [value]` (`None` shows the current value).
    PsetNull(Option<String>),
    /// `\pset footer [on|off]` (`None` toggles).
    PsetFooter(Option<String>),
    /// Any other `\pset` option (not supported here), or none at all.
    PsetOther(Option<String>),
    /// `\timing [on|off]` (`None` toggles).
    Timing(Option<String>),
    /// `\set VERBOSITY default|verbose|terse` (the one variable this playground models).
    SetVerbosity(String),
    /// `\?`.
    Help,
    /// `\q`.
    Quit,
    /// A psql command this playground does not implement, e.g. `\d+`.
    Unsupported(String),
    /// Not a psql command at all, e.g. `\foo` (the text includes the backslash).
    Unknown(String),
    /// The arguments could not be read; the message is psql's.
    Invalid(String),
}

/// psql's commands that exist but that this crate does not implement.
const UNSUPPORTED: &[&str] = &[
    "a",
    "c",
    "C",
    "connect",
    "conninfo",
    "copy",
    "copyright",
    "cd",
    "d+",
    "dS",
    "dS+",
    "dt+",
    "dtS",
    "di",
    "ds",
    "dv",
    "dm",
    "dn",
    "du",
    "dg",
    "dT",
    "dx",
    "e",
    "echo",
    "ef",
    "ev",
    "encoding",
    "errverbose",
    "f",
    "g",
    "gdesc",
    "gexec",
    "gset",
    "gx",
    "h",
    "help",
    "H",
    "i",
    "ir",
    "l",
    "l+",
    "list",
    "o",
    "out",
    "p",
    "password",
    "print",
    "prompt",
    "qecho",
    "r",
    "reset",
    "s",
    "set",
    "setenv",
    "sf",
    "sv",
    "t",
    "T",
    "unset",
    "w",
    "warn",
    "watch",
    "z",
    "!",
];

/// Parses a line starting with `\` (leading whitespace allowed).
/// Never fails: bad input becomes `Unknown` or `Invalid`. Extra arguments are
/// ignored (psql warns about them; this crate does not).
pub fn parse_meta_command(line: &str) -> MetaCommand {
    let rest = line.trim_start();
    let rest = rest.strip_prefix('\\').unwrap_or(rest);
    let name_end = rest
        .find(|c: char| c.is_whitespace() || c == '\\')
        .unwrap_or(rest.len());
    let (name, args) = rest.split_at(name_end);
    let args = match split_args(args) {
        Ok(args) => args,
        Err(msg) => return MetaCommand::Invalid(msg),
    };
    let first = args.first().cloned();
    match name {
        "d" => MetaCommand::Describe { pattern: first },
        "dt" => MetaCommand::DescribeTables { pattern: first },
        _ if is_df(name) && args.len() <= 1 => MetaCommand::DescribeFunctions {
            pattern: first,
            kinds: name[2..].chars().filter(|c| *c != 'S').collect(),
            system: name.contains('S'),
        },
        _ if is_df(name) => MetaCommand::Unsupported(format!("\\{name} with argument types")),
        "x" => MetaCommand::Expanded(first),
        "pset" => parse_pset(&args),
        "timing" => MetaCommand::Timing(first),
        "set" if first.as_deref() == Some("VERBOSITY") => {
            MetaCommand::SetVerbosity(args.get(1).cloned().unwrap_or_default())
        }
        "?" => MetaCommand::Help,
        "q" | "quit" => MetaCommand::Quit,
        _ if UNSUPPORTED.contains(&name) => MetaCommand::Unsupported(format!("\\{name}")),
        _ => MetaCommand::Unknown(format!("\\{name}")),
    }
}

/// `\df` with psql's option letters (not `+`, and argument-type patterns are not supported).
fn is_df(name: &str) -> bool {
    name.strip_prefix("df")
        .is_some_and(|rest| rest.chars().all(|c| "anptwS".contains(c)))
}

fn parse_pset(args: &[String]) -> MetaCommand {
    let value = args.get(1).cloned();
    match args.first().map(String::as_str) {
        Some("null") => MetaCommand::PsetNull(value),
        Some("footer") => MetaCommand::PsetFooter(value),
        other => MetaCommand::PsetOther(other.map(str::to_string)),
    }
}

/// psql's `\pset` options (so that unknown ones get psql's message).
const PSET_OPTIONS: &[&str] = &[
    "border",
    "columns",
    "csv_fieldsep",
    "expanded",
    "fieldsep",
    "fieldsep_zero",
    "footer",
    "format",
    "linestyle",
    "null",
    "numericlocale",
    "pager",
    "pager_min_lines",
    "recordsep",
    "recordsep_zero",
    "tableattr",
    "title",
    "tuples_only",
    "unicode_border_linestyle",
    "unicode_column_linestyle",
    "unicode_header_linestyle",
];

/// Splits backslash-command arguments like psql: whitespace separates them,
/// `'...'` quotes (with `''` and backslash escapes) are removed, `"..."`
/// quotes are kept as typed (patterns need them).
fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(args);
        }
        let mut arg = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            match c {
                '\'' => read_single_quoted(&mut chars, &mut arg)?,
                '"' => read_double_quoted(&mut chars, &mut arg),
                c => arg.push(c),
            }
        }
        args.push(arg);
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn read_single_quoted(chars: &mut Chars<'_>, arg: &mut String) -> Result<(), String> {
    while let Some(c) = chars.next() {
        match c {
            '\'' if chars.next_if_eq(&'\'').is_some() => arg.push('\''),
            '\'' => return Ok(()),
            '\\' => arg.push(match chars.next() {
                Some('n') => '\n',
                Some('t') => '\t',
                Some('r') => '\r',
                Some('b') => '\u{8}',
                Some('f') => '\u{c}',
                Some(other) => other,
                None => break,
            }),
            c => arg.push(c),
        }
    }
    Err("unterminated quoted string".to_string())
}

fn read_double_quoted(chars: &mut Chars<'_>, arg: &mut String) {
    arg.push('"');
    for c in chars.by_ref() {
        arg.push(c);
        if c == '"' {
            return;
        }
    }
}

/// psql's boolean reading: case-insensitive prefixes of `true`, `false`,
/// `yes`, `no`, at least two letters of `on`/`off`, or `1`/`0`.
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| v.len() >= min && word.starts_with(v.as_str());
    if prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || v == "1" {
        Some(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || v == "0" {
        Some(false)
    } else {
        None
    }
}

/// The message printed for `\x`, e.g. `Expanded display is on.`
pub fn expanded_status(e: Expanded) -> String {
    match e {
        Expanded::On => "Expanded display is on.\n",
        Expanded::Off => "Expanded display is off.\n",
        Expanded::Auto => "Expanded display is used automatically.\n",
    }
    .to_string()
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn boolean_expected(value: &str, what: &str) -> String {
    format!("unrecognized value \"{value}\" for \"{what}\": Boolean expected\n")
}

impl MetaCommand {
    /// Applies a settings command to `opts` and returns what psql prints
    /// (possibly nothing). `Describe*` and `Quit` return an empty string:
    /// the REPL acts on them itself.
    pub fn apply(&self, opts: &mut Options) -> String {
        match self {
            MetaCommand::Expanded(v) => apply_expanded(v.as_deref(), opts),
            MetaCommand::PsetNull(v) => {
                if let Some(v) = v {
                    opts.null_display = v.clone();
                }
                format!("Null display is \"{}\".\n", opts.null_display)
            }
            MetaCommand::PsetFooter(v) => apply_footer(v.as_deref(), opts),
            MetaCommand::PsetOther(None) => {
                "\\pset: this playground supports only \"null\" and \"footer\".\n".to_string()
            }
            MetaCommand::PsetOther(Some(o)) if PSET_OPTIONS.contains(&o.as_str()) => {
                format!("\\pset {o} is not supported in this playground.\n")
            }
            MetaCommand::PsetOther(Some(o)) => format!("\\pset: unknown option: {o}\n"),
            MetaCommand::Timing(v) => apply_timing(v.as_deref(), opts),
            MetaCommand::SetVerbosity(value) => {
                opts.verbosity = match value.as_str() {
                    "verbose" => crate::Verbosity::Verbose,
                    "terse" => crate::Verbosity::Terse,
                    _ => crate::Verbosity::Default,
                };
                String::new()
            }
            MetaCommand::Help => HELP.to_string(),
            MetaCommand::Unsupported(c) => {
                format!("{c} is not supported in this playground.\nTry \\? for help.\n")
            }
            MetaCommand::Unknown(c) => format!("invalid command {c}\nTry \\? for help.\n"),
            MetaCommand::Invalid(msg) => format!("{msg}\n"),
            MetaCommand::Describe { .. }
            | MetaCommand::DescribeTables { .. }
            | MetaCommand::DescribeFunctions { .. }
            | MetaCommand::Quit => String::new(),
        }
    }
}

fn apply_expanded(value: Option<&str>, opts: &mut Options) -> String {
    let new = match value {
        None if opts.expanded == Expanded::Off => Expanded::On,
        None => Expanded::Off,
        Some(v) if v.eq_ignore_ascii_case("auto") => Expanded::Auto,
        Some(v) => match parse_bool(v) {
            Some(true) => Expanded::On,
            Some(false) => Expanded::Off,
            None => {
                return format!("unrecognized value \"{v}\" for \"expanded\"\nAvailable values are: on, off, auto.\n")
            }
        },
    };
    opts.expanded = new;
    expanded_status(new)
}

/// psql is silent when given a value and reports the state when toggling.
fn apply_footer(value: Option<&str>, opts: &mut Options) -> String {
    match value.map(|v| (v, parse_bool(v))) {
        None => {
            opts.footer = !opts.footer;
            format!("Default footer is {}.\n", on_off(opts.footer))
        }
        Some((_, Some(b))) => {
            opts.footer = b;
            String::new()
        }
        Some((v, None)) => boolean_expected(v, "footer"),
    }
}

/// A bad value reports the error and then the unchanged state, like psql.
fn apply_timing(value: Option<&str>, opts: &mut Options) -> String {
    let mut out = String::new();
    match value.map(|v| (v, parse_bool(v))) {
        None => opts.timing = !opts.timing,
        Some((_, Some(b))) => opts.timing = b,
        Some((v, None)) => out = boolean_expected(v, "\\timing"),
    }
    out.push_str(&format!("Timing is {}.\n", on_off(opts.timing)));
    out
}

/// `\?` text: what this playground's psql supports, in our own words.
pub const HELP: &str = "\
Backslash commands available in this playground:
  \\d [NAME]             list tables and sequences, or describe a table
  \\dt [PATTERN]         list tables
  \\df[anptwS] [PATTERN] list [only agg/normal/procedure/trigger/window] functions
  \\x [on|off|auto]      toggle or set expanded (one field per line) output
  \\pset null [TEXT]     show NULL values as TEXT
  \\pset footer [on|off] show or hide the \"(N rows)\" footer
  \\timing [on|off]      toggle or set reporting how long each command took
  \\?                    show this help
  \\q                    quit

Patterns may use * (any text) and ? (any character); \"quote\" to keep case.
SQL statements end with a semicolon and may span several lines.
";

#[cfg(test)]
mod verbosity_tests {
    use super::*;

    #[test]
    fn set_verbosity_changes_how_errors_print() {
        let mut options = Options::default();
        let command = parse_meta_command("\\set VERBOSITY verbose");
        assert_eq!(command, MetaCommand::SetVerbosity("verbose".into()));
        assert_eq!(command.apply(&mut options), "");
        assert_eq!(options.verbosity, crate::Verbosity::Verbose);
        assert!(matches!(
            parse_meta_command("\\set ON_ERROR_STOP on"),
            MetaCommand::Unsupported(_)
        ));
    }
}
