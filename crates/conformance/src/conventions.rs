//! The conventions every pgplay `.slt` file relies on, shared by the runner
//! against real PostgreSQL (this crate) and pgplay's own runner.
//!
//! See `tests/README.md` for the prose version. In short:
//!
//! * values are PostgreSQL's text output format (`t`/`f`, numerics as PG prints them);
//! * SQL NULL is written `NULL`, the empty string `(empty)`;
//! * an error is one line: `ERROR: <SQLSTATE>: <message>[ DETAIL: <detail>][ HINT: <hint>]`;
//! * the column-type letters after `query` are checked strictly: `I` integer types,
//!   `R` numeric and floating point, `B` boolean, `T` everything else.

use sqllogictest::ColumnType;

/// Label (for `onlyif` / `skipif`) of the runner against a real PostgreSQL server.
pub const LABEL_POSTGRES: &str = "postgres";
/// Label of pgplay's own runner.
pub const LABEL_PGPLAY: &str = "pgplay";

/// The column type letters of a `query` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PgColumnType {
    /// `I`: smallint, integer, bigint (int2, int4, int8).
    Integer,
    /// `R`: numeric, real, double precision (numeric, float4, float8).
    Real,
    /// `B`: boolean.
    Bool,
    /// `T`: every other type (text, varchar, char, name, timestamp, timestamptz, pg_lsn, ...).
    Text,
}

impl ColumnType for PgColumnType {
    fn from_char(value: char) -> Option<Self> {
        match value {
            'I' => Some(Self::Integer),
            'R' => Some(Self::Real),
            'B' => Some(Self::Bool),
            'T' => Some(Self::Text),
            // Any other letter is a parse error of the .slt file.
            _ => None,
        }
    }

    fn to_char(&self) -> char {
        match self {
            Self::Integer => 'I',
            Self::Real => 'R',
            Self::Bool => 'B',
            Self::Text => 'T',
        }
    }
}

impl PgColumnType {
    /// The letter for a PostgreSQL type, given by its internal name as in
    /// `pg_type.typname` (`int4`, `numeric`, `bool`, `varchar`, ...).
    pub fn from_pg_type_name(typname: &str) -> Self {
        match typname {
            "int2" | "int4" | "int8" => Self::Integer,
            "numeric" | "float4" | "float8" => Self::Real,
            "bool" => Self::Bool,
            _ => Self::Text,
        }
    }
}

/// The column validator: the number of letters must equal the number of result
/// columns, and each letter must match that column's type.
#[allow(clippy::ptr_arg, reason = "sqllogictest's validator type takes &Vec")]
pub fn column_validator(actual: &Vec<PgColumnType>, expected: &Vec<PgColumnType>) -> bool {
    sqllogictest::strict_column_validator(actual, expected)
}

/// How one result value is written in a `.slt` file, from its PostgreSQL text
/// output (`None` for SQL NULL).
pub fn format_value(text: Option<&str>) -> String {
    match text {
        None => "NULL".to_string(),
        Some("") => "(empty)".to_string(),
        Some(s) => s.to_string(),
    }
}

/// The one-line error string matched by `statement error <regex>`:
/// `ERROR: <SQLSTATE>: <message>`, then ` DETAIL: <detail>` and ` HINT: <hint>`
/// when present. Line breaks inside the parts become single spaces.
pub fn format_error(
    sqlstate: &str,
    message: &str,
    detail: Option<&str>,
    hint: Option<&str>,
) -> String {
    let mut s = format!("ERROR: {sqlstate}: {}", one_line(message));
    if let Some(d) = detail {
        s.push_str(" DETAIL: ");
        s.push_str(&one_line(d));
    }
    if let Some(h) = hint {
        s.push_str(" HINT: ");
        s.push_str(&one_line(h));
    }
    s
}

fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Apply the shared conventions to a runner: the strict column validator and the
/// runner's label (`postgres` or `pgplay`).
pub fn configure_runner<D, M>(runner: &mut sqllogictest::Runner<D, M>, label: &str)
where
    D: sqllogictest::AsyncDB<ColumnType = PgColumnType>,
    M: sqllogictest::MakeConnection<Conn = D>,
{
    runner.with_column_validator(column_validator);
    runner.add_label(label);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(format_value(None), "NULL");
        assert_eq!(format_value(Some("")), "(empty)");
        assert_eq!(format_value(Some("t")), "t");
    }

    #[test]
    fn errors() {
        assert_eq!(
            format_error("23505", "duplicate key value violates unique constraint \"t_pkey\"", Some("Key (id)=(1) already exists."), None),
            "ERROR: 23505: duplicate key value violates unique constraint \"t_pkey\" DETAIL: Key (id)=(1) already exists."
        );
        assert_eq!(
            format_error("42883", "a\nb", None, Some("h")),
            "ERROR: 42883: a b HINT: h"
        );
    }

    #[test]
    fn letters() {
        for c in ['I', 'R', 'B', 'T'] {
            assert_eq!(PgColumnType::from_char(c).unwrap().to_char(), c);
        }
        assert!(PgColumnType::from_char('?').is_none());
        assert_eq!(
            PgColumnType::from_pg_type_name("int8"),
            PgColumnType::Integer
        );
        assert_eq!(
            PgColumnType::from_pg_type_name("pg_lsn"),
            PgColumnType::Text
        );
    }
}
