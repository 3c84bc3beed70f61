//! Error, warning and notice reports as psql prints them.

use crate::result::Verbosity;
use crate::width::char_width;

/// An error or notice from the engine, shaped like PostgreSQL's ErrorResponse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorReport {
    /// `ERROR`, `WARNING`, `NOTICE`, `INFO`, `FATAL`...
    pub severity: String,
    /// Five-character SQLSTATE, e.g. `42P01` (shown only in verbose mode).
    pub sqlstate: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character (not byte) index into the query text.
    pub position: Option<usize>,
    /// `CONTEXT:` (where in the input it went wrong: `JSON data, line 1: ...`).
    pub context: Option<String>,
}

/// Longest query excerpt psql shows in a `LINE n:` display, in columns.
const DISPLAY_SIZE: usize = 60;
/// psql keeps at least this many columns to the right of the cursor.
const MIN_RIGHT_CUT: usize = 10;

/// Formats `report` as psql does for `query` (the statement that failed),
/// every line ending in `\n`. Verbose mode adds the SQLSTATE but no
/// `LOCATION:` line; terse mode prints `at character N` instead of `LINE`.
pub fn format_error(report: &ErrorReport, query: &str, verbosity: Verbosity) -> String {
    let mut out = format!("{}:  ", report.severity);
    if verbosity == Verbosity::Verbose && !report.sqlstate.is_empty() {
        out.push_str(&report.sqlstate);
        out.push_str(": ");
    }
    out.push_str(&report.message);
    if let (Verbosity::Terse, Some(pos)) = (verbosity, report.position) {
        out.push_str(&format!(" at character {pos}"));
    }
    out.push('\n');
    if verbosity == Verbosity::Terse {
        return out;
    }
    if let Some(pos) = report.position {
        out.push_str(&error_position(query, pos));
    }
    if let Some(detail) = &report.detail {
        out.push_str(&format!("DETAIL:  {detail}\n"));
    }
    if let Some(hint) = &report.hint {
        out.push_str(&format!("HINT:  {hint}\n"));
    }
    if let Some(context) = &report.context {
        out.push_str(&format!("CONTEXT:  {context}\n"));
    }
    out
}

/// The line of `query` holding the line break-free excerpt around the error.
struct Excerpt {
    line_no: usize,
    begin: usize,
    end: usize,
}

/// psql's `LINE n: ...` plus caret line for a 1-based character position;
/// empty when the position is outside the query.
pub fn error_position(query: &str, position: usize) -> String {
    let chars: Vec<char> = query.chars().collect();
    let Some(loc) = position.checked_sub(1) else {
        return String::new();
    };
    if loc > chars.len() {
        return String::new();
    }
    let ex = find_line(&chars, loc);
    // Screen column of each character from `begin` to `end` inclusive.
    let cols = screen_columns(&chars, ex.begin, ex.end);
    let col = |i: usize| cols[i - ex.begin];
    let (mut begin, mut end) = (ex.begin, ex.end);
    let (mut cut_left, mut cut_right) = (false, false);
    if col(end) - col(begin) > DISPLAY_SIZE {
        if col(begin) + DISPLAY_SIZE >= col(loc) + MIN_RIGHT_CUT {
            while col(end) - col(begin) > DISPLAY_SIZE {
                end -= 1;
            }
            cut_right = true;
        } else {
            while col(loc) + MIN_RIGHT_CUT < col(end) {
                end -= 1;
                cut_right = true;
            }
            while col(end) - col(begin) > DISPLAY_SIZE {
                begin += 1;
                cut_left = true;
            }
        }
    }
    let mut prefix = format!("LINE {}: ", ex.line_no);
    if cut_left {
        prefix.push_str("...");
    }
    let text: String = chars[begin..end]
        .iter()
        .map(|&c| if c == '\t' { ' ' } else { c })
        .collect();
    let caret = prefix.len() + col(loc) - col(begin);
    let dots = if cut_right { "..." } else { "" };
    format!("{prefix}{text}{dots}\n{}^\n", " ".repeat(caret))
}

/// Finds the line containing `loc`: `\r`, `\n` and `\r\n` all end a line.
fn find_line(chars: &[char], loc: usize) -> Excerpt {
    let mut ex = Excerpt {
        line_no: 1,
        begin: 0,
        end: chars.len(),
    };
    for (i, &c) in chars.iter().enumerate() {
        if c != '\r' && c != '\n' {
            continue;
        }
        if i >= loc {
            ex.end = i;
            break;
        }
        if c == '\r' || i == 0 || chars[i - 1] != '\r' {
            ex.line_no += 1;
        }
        ex.begin = i + 1;
    }
    ex
}

/// Cumulative screen columns; like psql, zero-width characters count as 1.
fn screen_columns(chars: &[char], begin: usize, end: usize) -> Vec<usize> {
    let mut cols = Vec::with_capacity(end - begin + 1);
    let mut col = 0;
    for &c in &chars[begin..end] {
        cols.push(col);
        col += char_width(c).max(1);
    }
    cols.push(col);
    cols
}
