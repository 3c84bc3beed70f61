//! The command language as golden cases: `tests/golden/shell.txt` holds
//! command lines (`> line`) each followed by what [`plan`] makes of it on a
//! three-node cluster (an action, or `error:` and the learner's error text).
//! Both drivers and the conformance harness read lines with this parser, so
//! this file is what each of them answers.
//!
//! `PGPLAY_BLESS=1 cargo test -p pgplay-cluster --test golden` rewrites the
//! file from what the parser answers now; review the diff.

use pgplay_cluster::{plan, Members};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/shell.txt");

fn answer(line: &str) -> String {
    let nodes = [("primary", 5432), ("standby1", 5433), ("standby2", 5434)];
    let members = Members {
        nodes: &nodes,
        max_nodes: Some(4),
    };
    match plan(line, members) {
        Ok(action) => format!("{action:?}"),
        Err(error) => format!("error: {}", error.replace('\n', "\n  ")),
    }
}

/// The file with every answer written afresh after its `> ` line; comments
/// (`#`) and blank lines are kept.
fn answered(golden: &str) -> String {
    let mut out = String::new();
    for line in golden.lines() {
        if let Some(command) = line.strip_prefix("> ") {
            out.push_str(line);
            out.push('\n');
            out.push_str(&answer(command));
            out.push('\n');
        } else if line.starts_with('#') || line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_command_language_answers_as_the_golden_file_says() {
    let golden = std::fs::read_to_string(FILE).expect("the golden file");
    let now = answered(&golden);
    if std::env::var_os("PGPLAY_BLESS").is_some() {
        std::fs::write(FILE, &now).expect("write the golden file");
        return;
    }
    if now != golden {
        let first = now
            .lines()
            .zip(golden.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "the parser's answers differ from {FILE} from line {}:\n{}\n(PGPLAY_BLESS=1 rewrites it)",
            first + 1,
            now.lines().skip(first).take(6).collect::<Vec<_>>().join("\n")
        );
    }
}

#[test]
fn an_answer_that_changes_is_caught() {
    let golden = "> pg_ctl -D primary stop\nsomething else\n";
    assert_ne!(answered(golden), golden);
}
