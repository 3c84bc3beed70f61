//! The `pgplay` binary fed what careless and hostile users pipe into psql: bytes that are not
//! UTF-8, a script whose last statement has no `;`, statements nested thousands deep, numbers at
//! the edge of numeric. Every expected output here was printed by psql 15 against a real
//! PostgreSQL 15 for the same input, except where a comment says why pgplay differs; the process
//! must answer every line and exit cleanly.

use std::io::Write;
use std::process::{Command, Stdio};

fn pgplay(input: &[u8]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgplay"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pgplay starts");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "pgplay died: {:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn bytes_that_are_not_utf8_are_refused_and_the_session_goes_on() {
    let out = pgplay(b"SELECT '\xff';\nSELECT 'after';\nBEGIN;\nSELECT 'x\xe2\x28\xa1y';\nSELECT 1;\nROLLBACK;\n");
    assert_eq!(
        out,
        "ERROR:  invalid byte sequence for encoding \"UTF8\": 0xff\n \
         ?column? \n----------\n after\n(1 row)\n\n\
         BEGIN\n\
         ERROR:  invalid byte sequence for encoding \"UTF8\": 0xe2 0x28 0xa1\n\
         ERROR:  current transaction is aborted, commands ignored until end of transaction block\n\
         ROLLBACK\n"
    );
}

#[test]
fn the_last_statement_runs_without_a_semicolon() {
    assert_eq!(
        pgplay(b"SELECT 'a';\nSELECT 2"),
        " ?column? \n----------\n a\n(1 row)\n\n ?column? \n----------\n        2\n(1 row)\n\n"
    );
    assert_eq!(
        pgplay(b"SELECT 'unterminated"),
        "ERROR:  unterminated quoted string at or near \"'unterminated\"\n\
         LINE 1: SELECT 'unterminated\n               ^\n"
    );
    assert_eq!(
        pgplay(b"SELECT 1;\n-- only a comment"),
        " ?column? \n----------\n        1\n(1 row)\n\n"
    );
}

const STACK_DEPTH: &str = "ERROR:  stack depth limit exceeded\nHINT:  Increase the configuration \
    parameter \"max_stack_depth\" (currently 2048kB), after ensuring the platform's stack depth \
    limit is adequate.\n";

#[test]
fn deep_statements_end_in_stack_depth_limit_exceeded() {
    let chain = |terms: usize| format!("SELECT {};\n", vec!["1"; terms].join("+"));
    // PostgreSQL 15 adds 4,000 ones and stops at 5,000; a release build of pgplay stops at a
    // few thousand too (a debug build's stack frames are ten times larger: a few hundred).
    let terms = if cfg!(debug_assertions) { 100 } else { 2_000 };
    assert_eq!(
        pgplay(chain(terms).as_bytes()),
        format!(" ?column? \n----------\n {terms:>8}\n(1 row)\n\n")
    );
    let mut input = chain(5_000) + &chain(300_000);
    input += &format!("SELECT {}1{};\n", "(".repeat(20_000), ")".repeat(20_000));
    input += "SELECT 'alive';\n";
    assert_eq!(
        pgplay(input.as_bytes()),
        format!(
            "{STACK_DEPTH}{STACK_DEPTH}{STACK_DEPTH} ?column? \n----------\n alive\n(1 row)\n\n"
        )
    );
    let parens = |levels: usize| format!("SELECT {}1{};\n", "(".repeat(levels), ")".repeat(levels));
    // sqlparser's recursion limit is smaller in a debug build (its frames are larger).
    let levels = if cfg!(debug_assertions) { 30 } else { 300 };
    assert_eq!(
        pgplay(parens(levels).as_bytes()),
        " ?column? \n----------\n        1\n(1 row)\n\n"
    );
}

#[test]
fn round_and_trunc_to_tens_and_beyond_numeric() {
    let out = pgplay(
        b"SELECT round(1.5, -100), round(5e27, -28), trunc(1.5, -30), round(-15, -1), trunc(-19, -1), round(-0.4, -1);\n\
          SELECT round(7e28, -29);\n",
    );
    assert_eq!(
        out,
        " round |             round             | trunc | round | trunc | round \n\
         -------+-------------------------------+-------+-------+-------+-------\n     \
         0 | 10000000000000000000000000000 |     0 |   -20 |   -10 |     0\n(1 row)\n\n\
         \x20            round              \n\
         --------------------------------\n \
         100000000000000000000000000000\n(1 row)\n\n"
    );
}

/// The replication-lag query every tutorial shows answers as on PostgreSQL 15: on a primary the
/// lag is NULL, and `now() - '1 hour'` reads the literal as a timestamp, as PostgreSQL does
/// (PostgreSQL also prints `LINE 1:` and a caret under the literal; pgplay does not yet).
#[test]
fn timestamp_arithmetic_answers_as_postgres() {
    let out = pgplay(
        b"SELECT now() - pg_last_xact_replay_timestamp();\nSELECT now() - '1 hour';\nSELECT now() - interval '1 hour' < now();\n",
    );
    assert_eq!(
        out,
        " ?column? \n----------\n \n(1 row)\n\n\
         ERROR:  invalid input syntax for type timestamp with time zone: \"1 hour\"\n \
         ?column? \n----------\n t\n(1 row)\n\n"
    );
}

/// psql reading a script stops when a FATAL ends its connection, with exit status 2 (at a
/// terminal it would reconnect and go on). psql 15 printed the same lines, to stderr.
#[test]
fn a_script_stops_where_its_connection_is_lost() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgplay"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pgplay starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT 1 AS before;\nSELECT pg_terminate_backend(pg_backend_pid()); SELECT 2;\nSELECT 3;\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        " before \n--------\n      1\n(1 row)\n\n\
         FATAL:  terminating connection due to administrator command\n\
         server closed the connection unexpectedly\n\
         \tThis probably means the server terminated abnormally\n\
         \tbefore or while processing the request.\n\
         connection to server was lost\n"
    );
}

/// `pgplay | head` ends quietly once `head` has read enough (SIGPIPE, as psql), never with a
/// panic about a broken pipe.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let script = format!(
        "yes 'SELECT 1;' | head -n 3000 | '{}' | head -n 2 >/dev/null",
        env!("CARGO_BIN_EXE_pgplay")
    );
    let output = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
