//! What the page's psql console does with the keys a psql user presses, as
//! plain functions (tested natively): whether Enter sends the input or
//! starts a new line, the prompt of each input line (`postgres=#`,
//! `postgres-#`, `postgres'#`, `postgres(#`), and Tab completion of SQL
//! keywords, functions and the node's tables and columns. psql decides the
//! first two with its lexer; this uses the same splitter the CLI uses
//! (`pgplay_psql::split_statements`), so the page and the terminal agree.

use pgplay_psql::{split_statements, statement_is_empty, PromptStatus, TxStatus};

/// The database psql is connected to, as its prompt shows it.
pub const DATABASE: &str = "postgres";

/// Whether Enter sends `input` to the server, as psql does at the end of a
/// line: a backslash command runs at once; SQL runs once a statement ends
/// with `;` and nothing unfinished follows it. Otherwise Enter starts a new
/// line and the prompt turns into a continuation prompt.
pub fn enter_runs(input: &str) -> bool {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return false;
    }
    if trimmed.starts_with('\\') {
        return true;
    }
    let split = split_statements(input);
    !split.statements.is_empty() && statement_is_empty(&split.rest)
}

/// psql's prompt for each line of `input` (at least one): `postgres=# ` for
/// the first, then what the text before each line waits for; `tx` adds psql's
/// mark of the session's transaction (`postgres=*# `, `postgres=!# `).
pub fn line_prompts(input: &str, tx: TxStatus) -> Vec<String> {
    let mut prompts = vec![pgplay_psql::prompt(DATABASE, PromptStatus::Ready, tx, true)];
    let mut end = 0;
    for line in input
        .split('\n')
        .collect::<Vec<_>>()
        .iter()
        .rev()
        .skip(1)
        .rev()
    {
        end += line.len() + 1;
        let before = &input[..end];
        let split = split_statements(before);
        let status = if split.rest.trim().is_empty() {
            PromptStatus::Ready
        } else {
            split.status
        };
        prompts.push(pgplay_psql::prompt(DATABASE, status, tx, true));
    }
    prompts
}

/// Words Tab completes besides the node's own tables and columns: SQL
/// keywords and the replication functions and views the lessons use.
pub const KEYWORDS: &[&str] = &[
    "ALTER",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASCADE",
    "CHECK",
    "CHECKPOINT",
    "COMMIT",
    "CONSTRAINT",
    "COPY",
    "CREATE",
    "DATABASE",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "EXISTS",
    "EXPLAIN",
    "FALSE",
    "FOREIGN",
    "FROM",
    "GROUP",
    "HAVING",
    "IN",
    "INDEX",
    "INSERT",
    "INTEGER",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "PRIMARY",
    "REFERENCES",
    "RESET",
    "RETURNING",
    "ROLE",
    "ROLLBACK",
    "SELECT",
    "SERIAL",
    "SET",
    "SHOW",
    "SYSTEM",
    "TABLE",
    "TEXT",
    "TRANSACTION",
    "TRUE",
    "TRUNCATE",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "WHERE",
    "WITH",
];

/// Functions and views Tab completes (lowercase, as PostgreSQL names them).
pub const FUNCTIONS: &[&str] = &[
    "count(",
    "now(",
    "pg_create_physical_replication_slot(",
    "pg_current_wal_insert_lsn()",
    "pg_current_wal_lsn()",
    "pg_drop_replication_slot(",
    "pg_is_in_recovery()",
    "pg_last_wal_receive_lsn()",
    "pg_last_wal_replay_lsn()",
    "pg_last_xact_replay_timestamp()",
    "pg_promote()",
    "pg_reload_conf()",
    "pg_replication_slots",
    "pg_settings",
    "pg_sleep(",
    "pg_stat_activity",
    "pg_stat_replication",
    "pg_stat_wal_receiver",
    "pg_switch_wal()",
    "pg_wal_lsn_diff(",
    "pg_walfile_name(",
    "synchronous_commit",
    "synchronous_standby_names",
];

/// What Tab does to the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The new input text.
    pub text: String,
    /// Where the cursor goes (a byte offset into `text`).
    pub cursor: usize,
    /// The candidates, when more than one word fits (psql lists them on a
    /// second Tab; the page shows them at once).
    pub candidates: Vec<String>,
}

fn word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Completes the word that ends at `cursor` (a byte offset) against the
/// keywords (in the case the learner typed them), the functions and
/// `names` (the node's tables and columns). None: no word there, or
/// nothing fits.
pub fn complete(input: &str, cursor: usize, names: &[String]) -> Option<Completion> {
    let cursor = cursor.min(input.len());
    if !input.is_char_boundary(cursor) {
        return None;
    }
    let before = &input[..cursor];
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| word_char(*c))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(cursor);
    let prefix = &input[start..cursor];
    if prefix.is_empty() {
        return None;
    }
    let lower = prefix.to_lowercase();
    // Keywords follow the case of what was typed, as psql's do.
    let upper_typed = prefix.chars().any(|c| c.is_uppercase());
    let mut candidates: Vec<String> = KEYWORDS
        .iter()
        .filter(|k| k.to_lowercase().starts_with(&lower))
        .map(|k| {
            if upper_typed {
                k.to_string()
            } else {
                k.to_lowercase()
            }
        })
        .chain(
            FUNCTIONS
                .iter()
                .copied()
                .chain(names.iter().map(String::as_str))
                .filter(|n| n.to_lowercase().starts_with(&lower))
                .map(str::to_string),
        )
        .collect();
    candidates.sort();
    candidates.dedup();
    if candidates.is_empty() {
        return None;
    }
    let insert = if candidates.len() == 1 {
        let only = &candidates[0];
        // A whole word gets the space psql adds; a function call stays open.
        if only.ends_with('(') || only.ends_with(')') {
            only.clone()
        } else {
            format!("{only} ")
        }
    } else {
        common_prefix(&candidates)
    };
    // The common prefix may be shorter in characters than what was typed
    // only when cases differ; then keep what was typed.
    let insert = if insert.chars().count() < prefix.chars().count() {
        prefix.to_string()
    } else {
        insert
    };
    let text = format!("{}{}{}", &input[..start], insert, &input[cursor..]);
    Some(Completion {
        cursor: start + insert.len(),
        text,
        candidates: if candidates.len() > 1 {
            candidates
        } else {
            Vec::new()
        },
    })
}

/// The longest prefix every word shares, ignoring case (in the first word's case).
fn common_prefix(words: &[String]) -> String {
    let first = &words[0];
    let mut len = first.len();
    for word in &words[1..] {
        len = first
            .char_indices()
            .zip(word.chars())
            .take_while(|((_, a), b)| a.to_lowercase().eq(b.to_lowercase()))
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(len);
    }
    first[..len].to_string()
}

/// Table and column names from psql's aligned output of a two-column query
/// (`relname | attname`), for completion.
pub fn names_from_table(output: &str) -> Vec<String> {
    let mut names: Vec<String> = output
        .lines()
        .skip(2)
        .take_while(|line| !line.starts_with('('))
        .flat_map(|line| line.split('|').map(|cell| cell.trim().to_string()))
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The query that lists a node's tables and their columns.
pub const NAMES_QUERY: &str = "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relkind = 'r' AND a.attnum > 0;";

/// Whether what the learner typed is a lesson step's input: the same words,
/// whatever the spacing, line breaks, letter case of keywords and final `;`.
pub fn same_input(typed: &str, step: &str) -> bool {
    fn normal(text: &str) -> String {
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .trim_end_matches(';')
            .trim_end()
            .to_lowercase()
    }
    normal(typed) == normal(step)
}

/// The line ↑ (or ↓) recalls (the page's shell walks its history so) from `history` with the cursor at `at`: the new
/// cursor and the line (past the newest: an empty line).
pub fn recall(history: &[String], at: usize, up: bool) -> (usize, String) {
    let at = if up {
        at.saturating_sub(1)
    } else {
        (at + 1).min(history.len())
    };
    (at, history.get(at).cloned().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_runs_after_a_semicolon_or_a_backslash_command() {
        assert!(!enter_runs(""));
        assert!(!enter_runs("SELECT 1"));
        assert!(enter_runs("SELECT 1;"));
        assert!(enter_runs("SELECT\n1;  "));
        assert!(!enter_runs("SELECT ';"));
        assert!(!enter_runs("SELECT 1; SELECT"));
        assert!(enter_runs("\\timing"));
        assert!(enter_runs("  \\d t"));
        assert!(!enter_runs("-- only a comment"));
    }

    #[test]
    fn prompts_follow_psql() {
        let idle = TxStatus::Idle;
        assert_eq!(line_prompts("", idle), vec!["postgres=# "]);
        assert_eq!(
            line_prompts("SELECT\n1", idle),
            vec!["postgres=# ", "postgres-# "]
        );
        assert_eq!(
            line_prompts("SELECT 'a\nb' FROM (\nx", idle),
            vec!["postgres=# ", "postgres'# ", "postgres(# "]
        );
        assert_eq!(
            line_prompts("SELECT 1;\n", idle),
            vec!["postgres=# ", "postgres=# "]
        );
        // Inside a transaction block, and in a failed one, as psql's %x shows it.
        assert_eq!(
            line_prompts("UPDATE t\n", TxStatus::InTransaction),
            vec!["postgres=*# ", "postgres-*# "]
        );
        assert_eq!(line_prompts("", TxStatus::Failed), vec!["postgres=!# "]);
    }

    #[test]
    fn tab_completes_keywords_functions_and_names() {
        let names = vec!["streamtest".to_string(), "x".to_string()];
        let done = complete("SEL", 3, &names).unwrap();
        assert_eq!((done.text.as_str(), done.cursor), ("SELECT ", 7));
        assert_eq!(complete("sel", 3, &names).unwrap().text, "select ");
        assert_eq!(
            complete("SELECT * FROM str", 17, &names).unwrap().text,
            "SELECT * FROM streamtest "
        );
        assert_eq!(
            complete("SELECT pg_is_in", 15, &names).unwrap().text,
            "SELECT pg_is_in_recovery()"
        );
        let many = complete("SELECT pg_last_wal_re", 21, &names).unwrap();
        assert_eq!(many.text, "SELECT pg_last_wal_re");
        assert_eq!(many.candidates.len(), 2);
        let grows = complete("pg_stat_w", 9, &names).unwrap();
        assert_eq!(grows.text, "pg_stat_wal_receiver ");
        assert_eq!(complete("SELECT qqq", 10, &names), None);
        assert_eq!(complete("SELECT ", 7, &names), None);
        // The cursor in the middle of the text keeps what follows.
        assert_eq!(complete("SEL 1;", 3, &names).unwrap().text, "SELECT  1;");
    }

    #[test]
    fn names_come_from_the_aligned_table() {
        let out =
            " relname | attname \n---------+---------\n t       | id\n t       | name\n(2 rows)\n";
        assert_eq!(names_from_table(out), vec!["id", "name", "t"]);
    }

    #[test]
    fn a_typed_step_matches_whatever_the_spacing() {
        assert!(same_input(
            "create table lesson (id int);",
            "CREATE TABLE lesson (id int);"
        ));
        assert!(same_input("SELECT 1", "SELECT\n  1;"));
        assert!(!same_input("SELECT 2;", "SELECT 1;"));
    }

    #[test]
    fn arrows_walk_the_history_and_past_the_newest_is_empty() {
        let history = vec!["a".to_string(), "b".to_string()];
        assert_eq!(recall(&history, 2, true), (1, "b".into()));
        assert_eq!(recall(&history, 1, true), (0, "a".into()));
        assert_eq!(recall(&history, 0, true), (0, "a".into()));
        assert_eq!(recall(&history, 0, false), (1, "b".into()));
        assert_eq!(recall(&history, 1, false), (2, String::new()));
    }
}
