//! Fuzzing every text a learner can type, with proptest: SQL (through psql's splitter, the
//! parser, the binder and the executor), the shell language, configuration files, pg_hba.conf,
//! conninfo strings and `synchronous_standby_names`. Nothing may panic, and after any SQL the
//! node still answers. The test command runs a few hundred cases; a long run:
//!
//! ```sh
//! PROPTEST_CASES=300000 cargo test --release -p pgplay-node --test fuzz
//! ```
//!
//! Every crash found becomes a fixed case in `crash_corpus` below.

use pgplay_engine::interrupt::SimulatedClock;
use pgplay_node::Node;
use proptest::prelude::*;

/// Pieces of SQL a learner (or an attacker) puts together: keywords, names of the table the
/// cases share, operators, literals at the edges of their types, functions.
const TOKENS: &[&str] = &[
    "SELECT",
    "INSERT INTO t VALUES",
    "UPDATE t SET x =",
    "DELETE FROM t",
    "FROM t",
    "FROM t a, t b",
    "JOIN t u ON",
    "WHERE",
    "GROUP BY",
    "HAVING",
    "ORDER BY",
    "LIMIT",
    "OFFSET",
    "DISTINCT",
    "AS",
    "x",
    "y",
    "z",
    "t.x",
    "count(*)",
    "sum(x)",
    "avg(z)",
    "max(y)",
    "(",
    ")",
    ",",
    ";",
    "+",
    "-",
    "*",
    "/",
    "%",
    "||",
    "=",
    "<>",
    "<",
    ">=",
    "AND",
    "OR",
    "NOT",
    "IS NULL",
    "IN (1, 2)",
    "BETWEEN 1 AND 2",
    "LIKE '%a_'",
    "CASE WHEN",
    "THEN",
    "ELSE",
    "END",
    "::int",
    "::bigint",
    "::smallint",
    "::numeric",
    "::numeric(5,2)",
    "::text",
    "::float8",
    "::pg_lsn",
    "::timestamptz",
    "::int[]",
    "::text[]",
    "ARRAY[1, NULL]",
    "'{1,\"a b\",NULL}'",
    "[1]",
    "[1:2]",
    "= ANY(",
    "unnest(",
    "array_agg(",
    "@>",
    "0",
    "1",
    "-1",
    "2147483647",
    "-2147483648",
    "9223372036854775807",
    "1e28",
    "1e300",
    "0.5",
    "79228162514264337593543950335",
    "1e-28",
    "'0/3000000'",
    "'abc'",
    "''",
    "'\u{00e9}\u{1F418}'",
    "NULL",
    "true",
    "round(",
    "trunc(",
    "abs(",
    "ceil(",
    "floor(",
    "substr(",
    "coalesce(",
    "nullif(",
    "greatest(",
    "least(",
    "length(",
    "upper(",
    "pg_sleep(",
    "now()",
    "pg_current_wal_lsn()",
    "pg_wal_lsn_diff(",
    "pg_walfile_name(",
    "pg_size_pretty(",
    "generate_series(",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT s",
    "CREATE TABLE u (a int)",
    "DROP TABLE u",
    "TRUNCATE t",
    "SET statement_timeout = 100",
    "SHOW",
    "ALTER SYSTEM SET",
    "max_wal_senders",
    "RESET ALL",
    "CHECKPOINT",
    "VALUES (1)",
    "EXPLAIN",
    "WITH w AS",
    "UNION",
    "$1",
    "\\",
    "--",
    "/*",
    "*/",
    "\"",
    "$$",
];

fn sql_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 1..40).prop_map(|tokens| tokens.join(" "))
}

fn node_with_a_table() -> (Node, pgplay_node::Psql) {
    let mut node = Node::initdb("primary", 99, None, 0);
    node.place(1, 5432);
    // The simulator's clock (work is time), so `statement_timeout` ends long statements as it
    // does in the simulator and the CLI; without a clock nothing would.
    node.db.interrupts.set_source(Box::new(SimulatedClock));
    let mut psql = node.connect();
    for line in [
        "CREATE TABLE t (x int, y text, z numeric);",
        "INSERT INTO t VALUES (1, 'a', 1.5), (2, NULL, -2), (NULL, 'c', NULL);",
    ] {
        node.psql_line(1, &mut psql, line);
    }
    (node, psql)
}

/// Runs hostile SQL, then checks the node still answers a plain query. On a thread with the
/// stack a driver gives statements (the CLI's 256 MB; a test thread has 2 MB, less than a debug
/// build's stack budget).
fn survives(statements: &[String]) {
    let statements = statements.to_vec();
    let outcome = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || survives_here(&statements))
        .expect("thread starts")
        .join();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn survives_here(statements: &[String]) {
    let (mut node, mut psql) = node_with_a_table();
    for (step, sql) in statements.iter().enumerate() {
        node.psql_line(2 + step as i64, &mut psql, sql);
    }
    node.psql_end_of_input(100, &mut psql);
    // Whatever state the session is in, a new one works.
    let mut fresh = node.connect();
    let out = node.psql_line(101, &mut fresh, "SELECT 40 + 2 AS answer;");
    assert!(out.contains("42"), "after {statements:?}: {out}");
}

/// `text` read by every configuration parser: postgresql.conf, pg_hba.conf, conninfo and
/// `synchronous_standby_names`. None may panic.
fn parse_as_every_configuration(text: &str) {
    let _ = pgplay_engine::guc_file::parse_conf(text);
    let _ = pgplay_replication::hba::HbaFile::parse(text);
    let _ = pgplay_replication::hba::HbaFile::load(text, "/x/pg_hba.conf");
    let _ = pgplay_replication::conninfo::ConnInfo::parse(text);
    let _ = pgplay_replication::syncrep::parse(text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn sql_never_panics_the_node(statements in prop::collection::vec(sql_soup(), 1..4)) {
        survives(&statements);
    }

    #[test]
    fn any_text_as_sql_never_panics(text in "\\PC{0,200}") {
        survives(&[text]);
    }

    #[test]
    fn any_bytes_at_psql_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let (mut node, mut psql) = node_with_a_table();
        node.psql_bytes(2, &mut psql, &bytes);
        node.psql_end_of_input(3, &mut psql);
    }

    #[test]
    fn shell_words_never_panic(line in "\\PC{0,120}") {
        let _ = pgplay_node::shell::words(&line);
    }

    #[test]
    fn configuration_files_never_panic(text in "\\PC{0,300}") {
        parse_as_every_configuration(&text);
    }

    #[test]
    fn configuration_lines_from_pieces_never_panic(
        pieces in prop::collection::vec(prop::sample::select(&[
            "max_wal_senders", "wal_level", "port", "=", "'", "-5", "0x10", "1e99", "99999999999999",
            "1.5min", "10MB", "on", "of", "replica", "#", "\n", "host", "replication", "all",
            "127.0.0.1/32", "0.0.0.0/0", "::1/128", "md5", "trust", "reject", "FIRST", "ANY", "2",
            "(", ")", ",", "*", "\"s1\"", "include", "primary_conninfo", "host=x port=99999",
        ][..]), 0..20),
    ) {
        parse_as_every_configuration(&pieces.join(" "));
    }
}

/// Inputs that once crashed a node or the process, kept as fixed cases.
#[test]
fn crash_corpus() {
    survives(&[
        "SELECT round(1.5, -100);".into(),
        "SELECT round(1.5, 2147483647), trunc(1.5, -2147483648), round(-1e28, -28);".into(),
        "SELECT round(5e27, -28), trunc(1.5, -30);".into(),
        // 3^16 = 43 million rows: once a capacity overflow (the product was materialised). The
        // timeout keeps the case quick in a debug build; it still walks the join row by row.
        "SET statement_timeout = '200ms';".into(),
        "SELECT count(*) FROM t a, t b, t c, t d, t e, t f, t g, t h, t i, t j, t k, t l, t m, t n, t o, t p;".into(),
        "RESET statement_timeout;".into(),
        format!("SELECT {};", vec!["1"; 150].join("+")),
        format!("SELECT {}1{};", "(".repeat(30), ")".repeat(30)),
        "SELECT pg_sleep(1e300);".into(),
        "SELECT 9223372036854775807::bigint + 1;".into(),
        "SELECT (-2147483648)::int / -1, (-32768)::smallint * -1;".into(),
    ]);
}
