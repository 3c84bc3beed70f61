//! `pgplay -a` (`--echo-all`) prints each line of a piped script before its output, as psql's
//! `-a` does, so a transcript shows what produced each result. The expected text is what psql
//! 15 printed for the same script against a real PostgreSQL 15: an empty line is not echoed
//! (psql skips it before echoing), one inside a quoted string is.

use std::io::Write;
use std::process::{Command, Stdio};

fn pgplay(args: &[&str], input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgplay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pgplay starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "pgplay failed: {:?}",
        output.status
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn each_line_comes_before_its_output_and_empty_lines_are_skipped() {
    let script = "SELECT 1;\n\n-- a comment\nSELECT\n  2 AS two;\nSELECT x;\n";
    assert_eq!(
        pgplay(&["-a"], script),
        "SELECT 1;\n ?column? \n----------\n        1\n(1 row)\n\n\
         -- a comment\nSELECT\n  2 AS two;\n two \n-----\n   2\n(1 row)\n\n\
         SELECT x;\nERROR:  column \"x\" does not exist\nLINE 1: SELECT x;\n               ^\n"
    );
}

#[test]
fn an_empty_line_inside_a_quote_is_echoed() {
    assert_eq!(
        pgplay(&["--echo-all"], "SELECT 'a\n\nb' AS t;\n"),
        "SELECT 'a\n\nb' AS t;\n t \n---\n a+\n  +\n b\n(1 row)\n\n"
    );
}

#[test]
fn without_the_flag_nothing_is_echoed() {
    assert_eq!(
        pgplay(&[], "SELECT 1;\n"),
        " ?column? \n----------\n        1\n(1 row)\n\n"
    );
}
