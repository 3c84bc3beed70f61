//! Errors as PostgreSQL reports them: severity, SQLSTATE, message, and the
//! optional detail, hint and cursor position. Messages are PostgreSQL's words;
//! a test against the real server is what keeps them honest.

use std::fmt;

/// A PostgreSQL error report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbError {
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the statement text.
    pub position: Option<usize>,
    /// `CONTEXT:` line (`JSON data, line 1: ...`).
    pub context: Option<String>,
}

pub type Result<T> = std::result::Result<T, DbError>;

impl DbError {
    pub fn new(code: &'static str, message: impl Into<String>) -> DbError {
        DbError {
            severity: "ERROR",
            code,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
            context: None,
        }
    }
    pub fn fatal(code: &'static str, message: impl Into<String>) -> DbError {
        DbError {
            severity: "FATAL",
            ..DbError::new(code, message)
        }
    }
    /// `FATAL:  terminating connection due to administrator command` (57P01):
    /// a backend ended by a fast shutdown or `pg_terminate_backend()`.
    pub fn terminated_by_administrator() -> DbError {
        DbError::fatal(
            "57P01",
            "terminating connection due to administrator command",
        )
    }
    /// `ERROR:  canceling statement due to user request` (57014): psql's Ctrl+C, or
    /// `pg_cancel_backend()`.
    pub fn canceled_by_user() -> DbError {
        DbError::new(
            code::QUERY_CANCELED,
            "canceling statement due to user request",
        )
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> DbError {
        self.detail = Some(detail.into());
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> DbError {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_context(mut self, context: impl Into<String>) -> DbError {
        self.context = Some(context.into());
        self
    }
    pub fn with_position(mut self, position: Option<usize>) -> DbError {
        if self.position.is_none() {
            self.position = position;
        }
        self
    }

    pub fn syntax(message: impl Into<String>) -> DbError {
        DbError::new(code::SYNTAX_ERROR, message)
    }
    /// 42P01 `relation "name" does not exist`, or 0A000 when `name` is one of PostgreSQL's
    /// system relations that pgplay does not have ([`crate::pg_relations`]).
    pub fn undefined_table(name: &str) -> DbError {
        if crate::pg_relations::is_system_relation(None, name) {
            return crate::pg_relations::not_supported(None, name);
        }
        DbError::new(
            code::UNDEFINED_TABLE,
            format!("relation \"{name}\" does not exist"),
        )
    }
    pub fn undefined_column(name: &str) -> DbError {
        DbError::new(
            code::UNDEFINED_COLUMN,
            format!("column {name} does not exist"),
        )
    }
    pub fn feature_not_supported(what: impl Into<String>) -> DbError {
        DbError::new(code::FEATURE_NOT_SUPPORTED, what)
    }
    pub fn invalid_text(type_name: &str, text: &str) -> DbError {
        DbError::new(
            code::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {type_name}: \"{text}\""),
        )
    }
    pub fn division_by_zero() -> DbError {
        DbError::new(code::DIVISION_BY_ZERO, "division by zero")
    }
    pub fn out_of_range(type_name: &str) -> DbError {
        DbError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{type_name} out of range"),
        )
    }
    pub fn internal(message: impl Into<String>) -> DbError {
        DbError::new(code::INTERNAL_ERROR, message)
    }
}

impl fmt::Display for DbError {
    /// One line: `ERROR: 42P01: relation "t" does not exist DETAIL: ... HINT: ...`,
    /// the form the `.slt` runners compare (see `tests/README.md`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.severity, self.code, self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, " DETAIL: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " HINT: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}

/// SQLSTATE codes used by the engine, named as in PostgreSQL's errcodes.txt.
pub mod code {
    pub const SUCCESSFUL_COMPLETION: &str = "00000";
    pub const WARNING: &str = "01000";
    pub const ACTIVE_SQL_TRANSACTION: &str = "25001";
    pub const NO_ACTIVE_SQL_TRANSACTION: &str = "25P01";
    pub const IN_FAILED_SQL_TRANSACTION: &str = "25P02";
    pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";
    pub const INVALID_SAVEPOINT_SPECIFICATION: &str = "3B001";
    pub const SERIALIZATION_FAILURE: &str = "40001";
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub const CARDINALITY_VIOLATION: &str = "21000";
    pub const STRING_DATA_RIGHT_TRUNCATION: &str = "22001";
    pub const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
    pub const INVALID_DATETIME_FORMAT: &str = "22007";
    pub const DATETIME_FIELD_OVERFLOW: &str = "22008";
    pub const INTERVAL_FIELD_OVERFLOW: &str = "22015";
    pub const DIVISION_BY_ZERO: &str = "22012";
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
    pub const INVALID_TIME_ZONE_DISPLACEMENT_VALUE: &str = "22009";
    pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    pub const UNTRANSLATABLE_CHARACTER: &str = "22P05";
    pub const ARRAY_SUBSCRIPT_ERROR: &str = "2202E";
    pub const INVALID_ROW_COUNT_IN_LIMIT: &str = "2201W";
    pub const INVALID_ROW_COUNT_IN_RESULT_OFFSET: &str = "2201X";
    pub const NOT_NULL_VIOLATION: &str = "23502";
    pub const UNIQUE_VIOLATION: &str = "23505";
    pub const CHECK_VIOLATION: &str = "23514";
    pub const FOREIGN_KEY_VIOLATION: &str = "23503";
    pub const INVALID_FOREIGN_KEY: &str = "42830";
    pub const DEPENDENT_OBJECTS_STILL_EXIST: &str = "2BP01";
    pub const SYNTAX_ERROR: &str = "42601";
    pub const UNDEFINED_COLUMN: &str = "42703";
    pub const UNDEFINED_TABLE: &str = "42P01";
    pub const UNDEFINED_FUNCTION: &str = "42883";
    pub const AMBIGUOUS_FUNCTION: &str = "42725";
    pub const UNDEFINED_OBJECT: &str = "42704";
    pub const DUPLICATE_TABLE: &str = "42P07";
    pub const DUPLICATE_OBJECT: &str = "42710";
    pub const OBJECT_IN_USE: &str = "55006";
    pub const DUPLICATE_COLUMN: &str = "42701";
    pub const AMBIGUOUS_COLUMN: &str = "42702";
    pub const DATATYPE_MISMATCH: &str = "42804";
    pub const NULL_VALUE_NOT_ALLOWED: &str = "22004";
    pub const GROUPING_ERROR: &str = "42803";
    pub const INVALID_COLUMN_REFERENCE: &str = "42P10";
    pub const WRONG_OBJECT_TYPE: &str = "42809";
    pub const INVALID_TABLE_DEFINITION: &str = "42P16";
    pub const UNDEFINED_PARAMETER: &str = "42704";
    pub const CANT_CHANGE_RUNTIME_PARAM: &str = "55P02";
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: &str = "55000";
    pub const LOCK_NOT_AVAILABLE: &str = "55P03";
    pub const CANNOT_COERCE: &str = "42846";
    pub const INTERNAL_ERROR: &str = "XX000";
    pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
    pub const STATEMENT_TOO_COMPLEX: &str = "54001";
    pub const OUT_OF_MEMORY: &str = "53200";
    pub const DISK_FULL: &str = "53100";
    pub const CONFIGURATION_LIMIT_EXCEEDED: &str = "53400";
    pub const QUERY_CANCELED: &str = "57014";
    pub const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
    pub const INVALID_PARAMETER_VALUE_GUC: &str = "22023";
    pub const SEQUENCE_GENERATOR_LIMIT_EXCEEDED: &str = "2200H";
    pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
    pub const CONFIG_FILE_ERROR: &str = "F0000";
    pub const CANNOT_CONNECT_NOW: &str = "57P03";
}
