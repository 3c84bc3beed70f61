//! The names of PostgreSQL 15's system tables and views, schemas `pg_catalog` and
//! `information_schema` (`data/pg_relations.txt`, written by `scripts/gen-pg-relations.sh` from
//! a real server). pgplay has only some of them; a statement naming one it lacks answers 0A000
//! "... is not supported by pgplay yet", because on PostgreSQL the relation exists, and only a
//! name PostgreSQL does not know either gets 42P01 "does not exist".

use crate::error::DbError;

const DATA: &str = include_str!("../data/pg_relations.txt");

/// Whether `name`, in `schema` as written (none: the search path, where `pg_catalog` always is
/// and `information_schema` is not), is one of PostgreSQL's system relations.
pub fn is_system_relation(schema: Option<&str>, name: &str) -> bool {
    let schema = schema.unwrap_or("pg_catalog");
    DATA.lines()
        .filter(|line| !line.starts_with('#'))
        .any(|line| line.split_once('.') == Some((schema, name)))
}

/// The error for a system relation pgplay does not have, named as the statement wrote it.
pub fn not_supported(schema: Option<&str>, name: &str) -> DbError {
    let written = match schema {
        Some(schema) => format!("{schema}.{name}"),
        None => name.to_string(),
    };
    DbError::feature_not_supported(format!(
        "relation \"{written}\" is not supported by pgplay yet"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_catalog_names_are_found_bare_and_information_schema_names_only_qualified() {
        assert!(is_system_relation(None, "pg_tables"));
        assert!(is_system_relation(Some("pg_catalog"), "pg_roles"));
        assert!(is_system_relation(Some("information_schema"), "tables"));
        assert!(!is_system_relation(None, "tables"));
        assert!(!is_system_relation(None, "orders"));
        assert!(!is_system_relation(Some("public"), "pg_tables"));
    }
}
