//! Scenarios: what a learner did, as a pgplay script that runs anywhere.
//!
//! A scenario is the text `pgplay` reads on its standard input: SQL for the
//! node psql is connected to, `\c NODE` to move to another node, `\! COMMAND`
//! for a server command. The playground records what the learner runs in
//! that form, puts it in the page's address (`#script=...`) so a link replays
//! it on a fresh cluster, and shows it for `pgplay < scenario.psql`, so the
//! same steps run in the terminal, on the simulated clock.

/// One thing a scenario does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// SQL or a psql meta-command (`\x`, `\d t`) for psql on `node`.
    Sql { node: String, text: String },
    /// A server command (`pg_ctl -D standby1 promote`).
    Shell(String),
}

/// The node psql starts on, in the CLI as in the playground.
pub const FIRST_NODE: &str = "primary";

/// Most actions a scenario holds; a longer script is cut here.
pub const MAX_ACTIONS: usize = 500;

/// Reads a script. SQL lines gather until a line ends with `;` (one psql
/// input, possibly several lines); a psql meta-command stands alone;
/// comment-only and blank lines are skipped.
pub fn parse(script: &str) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut node = FIRST_NODE.to_string();
    let mut pending = String::new();
    let flush = |pending: &mut String, node: &str, actions: &mut Vec<Action>| {
        if !pending.trim().is_empty() {
            actions.push(Action::Sql {
                node: node.to_string(),
                text: std::mem::take(pending).trim_end().to_string(),
            });
        }
        pending.clear();
    };
    for line in script.lines() {
        let trimmed = line.trim();
        if actions.len() >= MAX_ACTIONS {
            break;
        }
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with("--")) {
            continue;
        }
        if pending.is_empty() {
            if let Some(command) = trimmed.strip_prefix("\\!") {
                actions.push(Action::Shell(command.trim().to_string()));
                continue;
            }
            if let Some(rest) = trimmed
                .strip_prefix("\\c ")
                .or_else(|| trimmed.strip_prefix("\\connect "))
            {
                node = rest
                    .split_whitespace()
                    .last()
                    .unwrap_or(FIRST_NODE)
                    .to_string();
                continue;
            }
            if trimmed.starts_with('\\') {
                pending.push_str(trimmed);
                flush(&mut pending, &node, &mut actions);
                continue;
            }
        }
        pending.push_str(line);
        pending.push('\n');
        if trimmed.ends_with(';') {
            flush(&mut pending, &node, &mut actions);
        }
    }
    flush(&mut pending, &node, &mut actions);
    actions
}

/// Writes actions as a script that [`parse`] (and `pgplay`) reads back.
pub fn script(actions: &[Action]) -> String {
    let mut out = String::new();
    let mut node = FIRST_NODE;
    for action in actions {
        match action {
            Action::Sql { node: target, text } => {
                if target != node {
                    out.push_str(&format!("\\c {target}\n"));
                    node = target;
                }
                out.push_str(text.trim_end());
                out.push('\n');
            }
            Action::Shell(command) => out.push_str(&format!("\\! {command}\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(node: &str, text: &str) -> Action {
        Action::Sql {
            node: node.into(),
            text: text.into(),
        }
    }

    #[test]
    fn reads_a_psql_script_with_node_switches_and_commands() {
        let actions = parse(
            "-- a comment\nCREATE TABLE t (x int);\nINSERT INTO t\n  VALUES (1);\n\n\\! pg_ctl -D standby1 promote\n\\c standby1\n\\x\nSELECT * FROM t;\n",
        );
        assert_eq!(
            actions,
            [
                sql("primary", "CREATE TABLE t (x int);"),
                sql("primary", "INSERT INTO t\n  VALUES (1);"),
                Action::Shell("pg_ctl -D standby1 promote".into()),
                sql("standby1", "\\x"),
                sql("standby1", "SELECT * FROM t;"),
            ]
        );
    }

    #[test]
    fn an_unfinished_statement_at_the_end_is_kept() {
        assert_eq!(parse("SELECT 1"), [sql("primary", "SELECT 1")]);
    }

    #[test]
    fn a_written_script_reads_back_the_same() {
        let actions = vec![
            sql("primary", "CREATE TABLE t (x int);"),
            sql("standby2", "SELECT\n  count(*) FROM t;"),
            Action::Shell("PGPASSWORD=x pg_basebackup -h 127.0.0.1 -p 5432 -D standby3 -R".into()),
            sql("standby2", "\\d t"),
            sql("primary", "INSERT INTO t VALUES (1);"),
        ];
        let text = script(&actions);
        assert!(
            text.starts_with("CREATE TABLE t (x int);\n\\c standby2\n"),
            "{text}"
        );
        assert_eq!(parse(&text), actions);
    }

    #[test]
    fn a_long_script_is_cut_at_the_bound() {
        let text = "SELECT 1;\n".repeat(MAX_ACTIONS + 10);
        assert_eq!(parse(&text).len(), MAX_ACTIONS);
    }
}
