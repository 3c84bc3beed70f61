use crate::*;

#[test]
fn psql_session_prints_like_psql() {
    let mut node = Node::initdb("primary", 1, None, 0);
    let mut psql = node.connect();
    assert_eq!(
        node.psql_line(0, &mut psql, "CREATE TABLE streamtest(x int);"),
        "CREATE TABLE\n"
    );
    assert_eq!(
        node.psql_line(0, &mut psql, "INSERT INTO streamtest VALUES (1);"),
        "INSERT 0 1\n"
    );
    assert_eq!(node.psql_line(0, &mut psql, "SELECT x"), "");
    assert_eq!(node.prompt(&psql), "postgres-# ");
    assert_eq!(
        node.psql_line(0, &mut psql, "FROM streamtest;"),
        " x \n---\n 1\n(1 row)\n\n"
    );
    let listing = node.psql_line(0, &mut psql, "\\d");
    assert!(
        listing.contains(" public | streamtest | table | postgres"),
        "{listing}"
    );
}

#[test]
fn psql_keeps_the_first_error_until_taken() {
    let mut node = Node::initdb("primary", 1, None, 0);
    let mut psql = node.connect();
    assert_eq!(psql.take_error(), None);
    node.psql_line(0, &mut psql, "SELECT 1/0; SELECT * FROM nowhere;");
    let first = psql.take_error().expect("an error");
    assert_eq!(
        (
            first.severity.as_str(),
            first.sqlstate.as_str(),
            first.message.as_str()
        ),
        ("ERROR", "22012", "division by zero")
    );
    assert_eq!(psql.take_error(), None, "taken");
    node.psql_line(0, &mut psql, "SELECT 1;");
    assert_eq!(psql.take_error(), None, "a success keeps none");
    node.psql_bytes(0, &mut psql, b"SELECT '\xff';");
    assert_eq!(psql.take_error().map(|e| e.sqlstate), Some("22021".into()));
}

#[test]
fn other_sessions_see_ddl_only_once_committed() {
    let mut node = Node::initdb("primary", 1, None, 0);
    let (mut a, mut b) = (node.connect(), node.connect());
    let missing = "SELECT * FROM t;";
    assert!(node
        .psql_line(0, &mut b, missing)
        .contains("relation \"t\" does not exist"));
    node.psql_line(0, &mut a, "BEGIN;");
    node.psql_line(0, &mut a, "CREATE TABLE t(x int);");
    assert_eq!(
        node.psql_line(0, &mut a, "INSERT INTO t VALUES (1);"),
        "INSERT 0 1\n"
    );
    assert!(node
        .psql_line(0, &mut b, missing)
        .contains("relation \"t\" does not exist"));
    node.psql_line(0, &mut a, "COMMIT;");
    assert_eq!(
        node.psql_line(0, &mut b, "SELECT x FROM t;"),
        " x \n---\n 1\n(1 row)\n\n"
    );
    node.psql_line(0, &mut a, "DROP TABLE t;");
    assert!(node
        .psql_line(0, &mut b, missing)
        .contains("relation \"t\" does not exist"));
}

#[test]
fn crash_recovery_keeps_committed_rows() {
    let mut node = Node::initdb("primary", 1, None, 0);
    let mut psql = node.connect();
    node.psql_line(0, &mut psql, "CREATE TABLE t(id int primary key, v text);");
    node.psql_line(0, &mut psql, "INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    node.psql_line(0, &mut psql, "BEGIN;");
    node.psql_line(0, &mut psql, "INSERT INTO t VALUES (3, 'lost');");
    let before = node.db.data.storage.clone();
    node.crash_and_restart(1);
    let mut psql = node.connect();
    let out = node.psql_line(1, &mut psql, "SELECT id, v FROM t ORDER BY id;");
    assert_eq!(out, " id | v \n----+---\n  1 | a\n  2 | b\n(2 rows)\n\n");
    assert_ne!(
        before, node.db.data.storage,
        "the uncommitted insert's page state was rebuilt by redo"
    );
    assert_eq!(
        node.psql_line(1, &mut psql, "INSERT INTO t VALUES (3, 'c');"),
        "INSERT 0 1\n"
    );
}

#[test]
fn edited_configuration_takes_effect_at_reload() {
    let mut node = Node::initdb("primary", 1, None, 0);
    let mut psql = node.connect();
    assert!(node
        .write_file("pg_hba.conf", "hots all all trust\n")
        .unwrap_err()
        .contains("invalid connection type \"hots\""));
    node.write_file("postgresql.conf", "work_mem = '8MB'\n")
        .unwrap();
    assert!(node
        .psql_line(1, &mut psql, "SHOW work_mem;")
        .contains("4MB"));
    node.reload(2);
    assert!(node
        .psql_line(3, &mut psql, "SHOW work_mem;")
        .contains("8MB"));
    assert_eq!(
        node.read_file("postgresql.conf").unwrap(),
        "work_mem = '8MB'\n"
    );
}

#[test]
fn hosts_resolve_by_name_or_loopback_port() {
    let nodes = [("primary", 5432), ("standby1", 5433)];
    assert_eq!(resolve_host("standby1", 1, nodes), Some("standby1"));
    assert_eq!(resolve_host("127.0.0.1", 5433, nodes), Some("standby1"));
    assert_eq!(resolve_host("localhost", 5432, nodes), Some("primary"));
    assert_eq!(resolve_host("10.0.0.5", 5432, nodes), None);
    assert_eq!(resolve_host("127.0.0.1", 5999, nodes), None);
}

/// The commit log's size in a data directory (pg_xact): what it would
/// take to save it.
fn clog_bytes(node: &Node) -> usize {
    postcard::to_allocvec(&node.db.data.clog).unwrap().len()
}

fn rows(node: &mut Node, now: i64, sql: &str) -> Vec<Vec<Option<String>>> {
    let session = node.db.open_session();
    let results = node.execute(now, session, sql);
    match &results[0].outcome {
        Ok(pgplay_engine::Outcome::Rows { rows, .. }) => rows.clone(),
        other => panic!("{other:?}"),
    }
}

/// Checkpoints forget the status of transactions no tuple carries any
/// more, so the commit log stays small while tables are emptied; the
/// xids still on pages (an old committed row, an aborted row) keep their
/// answers, across a crash too.
#[test]
fn checkpoints_truncate_the_commit_log_behind_the_tuples() {
    let mut node = Node::initdb("primary", 1, None, 0);
    let session = node.db.open_session();
    for sql in [
        "CREATE TABLE keep (v text)",
        "INSERT INTO keep VALUES ('committed')",
        "BEGIN; INSERT INTO keep VALUES ('aborted'); ROLLBACK",
        "CREATE TABLE t (id int)",
    ] {
        node.execute(0, session, sql);
    }
    let mut sizes = Vec::new();
    for id in 1..=8_000 {
        node.execute(0, session, &format!("INSERT INTO t VALUES ({id})"));
        if id % 1000 == 0 {
            node.execute(0, session, "TRUNCATE t");
        }
        if id % 2000 == 0 {
            node.execute(0, session, "CHECKPOINT");
            sizes.push(clog_bytes(&node));
        }
    }
    assert!(
        sizes.iter().all(|size| *size < 1000),
        "commit log bytes after each checkpoint: {sizes:?}"
    );
    let keep = |node: &mut Node| rows(node, 0, "SELECT v FROM keep");
    assert_eq!(keep(&mut node), vec![vec![Some("committed".to_string())]]);
    node.execute(0, session, "INSERT INTO t VALUES (1)");
    node.crash_and_restart(1);
    assert_eq!(keep(&mut node), vec![vec![Some("committed".to_string())]]);
    assert_eq!(
        rows(&mut node, 1, "SELECT count(*) FROM t"),
        vec![vec![Some("1".to_string())]]
    );
}

#[test]
fn coalesce_sends_joins_each_connections_contiguous_wal_and_keeps_order() {
    use pgplay_wal::Lsn;
    let xlog = |start: u64, data: &[u8]| Message::XLogData {
        start: Lsn(start),
        wal_end: Lsn(start + data.len() as u64),
        send_time: start as Timestamp,
        data: data.to_vec(),
    };
    let send = |conn: u64, message: Message| Output::Send {
        conn: ConnId(conn),
        message,
    };
    let outputs = vec![
        send(1, xlog(0x10, &[1, 2])),
        send(2, xlog(0x10, &[1, 2])),
        send(1, xlog(0x12, &[3])),
        send(2, Message::Terminate),
        send(2, xlog(0x12, &[3])),
        send(1, xlog(0x13, &[4, 5, 6])),
        Output::Close { conn: ConnId(1) },
        send(1, xlog(0x16, &[7])),
    ];
    let joined = coalesce_sends(outputs, 5);
    assert_eq!(
        joined,
        vec![
            send(
                1,
                Message::XLogData {
                    start: Lsn(0x10),
                    wal_end: Lsn(0x13),
                    send_time: 0x12,
                    data: vec![1, 2, 3],
                }
            ),
            send(2, xlog(0x10, &[1, 2])),
            send(2, Message::Terminate),
            send(2, xlog(0x12, &[3])),
            // Joining would pass the 5-byte bound.
            send(1, xlog(0x13, &[4, 5, 6])),
            Output::Close { conn: ConnId(1) },
            send(1, xlog(0x16, &[7])),
        ]
    );
}

/// `\df` lists PostgreSQL 15's functions from the engine's catalog; the expected text is real
/// psql 15's.
#[test]
fn df_lists_functions_like_psql() {
    let mut node = Node::initdb("primary", 1, None, 0);
    let mut psql = node.connect();
    let lines = |l: &[&str]| l.iter().map(|s| format!("{s}\n")).collect::<String>();
    assert_eq!(
        node.psql_line(0, &mut psql, "\\df abs"),
        lines(&[
            "                         List of functions",
            "   Schema   | Name | Result data type | Argument data types | Type ",
            "------------+------+------------------+---------------------+------",
            " pg_catalog | abs  | bigint           | bigint              | func",
            " pg_catalog | abs  | double precision | double precision    | func",
            " pg_catalog | abs  | integer          | integer             | func",
            " pg_catalog | abs  | numeric          | numeric             | func",
            " pg_catalog | abs  | real             | real                | func",
            " pg_catalog | abs  | smallint         | smallint            | func",
            "(6 rows)",
            "",
        ])
    );
    // Without a pattern (and without S) psql lists user functions only.
    assert_eq!(
        node.psql_line(0, &mut psql, "\\df"),
        lines(&[
            "                       List of functions",
            " Schema | Name | Result data type | Argument data types | Type ",
            "--------+------+------------------+---------------------+------",
            "(0 rows)",
            "",
        ])
    );
    assert_eq!(
        node.psql_line(0, &mut psql, "\\df pg_last*"),
        lines(&[
            "                                                                   List of functions",
            "   Schema   |             Name              |     Result data type     |                          Argument data types                           | Type ",
            "------------+-------------------------------+--------------------------+------------------------------------------------------------------------+------",
            " pg_catalog | pg_last_committed_xact        | record                   | OUT xid xid, OUT \"timestamp\" timestamp with time zone, OUT roident oid | func",
            " pg_catalog | pg_last_wal_receive_lsn       | pg_lsn                   |                                                                        | func",
            " pg_catalog | pg_last_wal_replay_lsn        | pg_lsn                   |                                                                        | func",
            " pg_catalog | pg_last_xact_replay_timestamp | timestamp with time zone |                                                                        | func",
            "(4 rows)",
            "",
        ])
    );
    let aggregates = node.psql_line(0, &mut psql, "\\dfa max");
    assert!(aggregates.contains(" pg_catalog | max  | pg_lsn                      | pg_lsn                      | agg\n"), "{aggregates}");
    assert!(aggregates.ends_with("(22 rows)\n\n"), "{aggregates}");
    assert_eq!(
        node.psql_line(0, &mut psql, "\\dfw max"),
        lines(&[
            "                       List of functions",
            " Schema | Name | Result data type | Argument data types | Type ",
            "--------+------+------------------+---------------------+------",
            "(0 rows)",
            "",
        ])
    );
    let series = node.psql_line(0, &mut psql, "\\df generate_series");
    assert!(series.contains("| SETOF integer "), "{series}");
}

/// A function PostgreSQL has but pgplay does not implement says so, with the caret; one that
/// exists nowhere gets PostgreSQL's error.
#[test]
fn missing_functions_are_told_apart() {
    let mut node = Node::initdb("primary", 1, None, 0);
    let mut psql = node.connect();
    assert_eq!(
        node.psql_line(0, &mut psql, "SELECT gcd(12, 18);"),
        "ERROR:  function gcd(integer, integer) is not supported by pgplay yet\nLINE 1: SELECT gcd(12, 18);\n               ^\n"
    );
    assert_eq!(
        node.psql_line(0, &mut psql, "SELECT 1 + foo(1);"),
        "ERROR:  function foo(integer) does not exist\nLINE 1: SELECT 1 + foo(1);\n                   ^\nHINT:  No function matches the given name and argument types. You might need to add explicit type casts.\n"
    );
    assert_eq!(
        node.psql_line(0, &mut psql, "SELECT corr(1.0, 2.0);"),
        "ERROR:  function corr(double precision, double precision) is not supported by pgplay yet\nLINE 1: SELECT corr(1.0, 2.0);\n               ^\n"
    );
    let lines = node.psql_line(0, &mut psql, "SELECT * FROM pg_ls_dir('.');");
    assert!(
        lines.starts_with("ERROR:  function pg_ls_dir(text) is not supported by pgplay yet\n"),
        "{lines}"
    );
    let window = node.psql_line(0, &mut psql, "SELECT corr(1.0, 2.0) OVER ();");
    assert!(
        window.starts_with("ERROR:  window function corr is not supported by pgplay yet\n"),
        "{window}"
    );
}

#[test]
fn describe_shows_foreign_keys_and_added_columns_like_psql() {
    // psql 15: the same statements, then "\d p" and "\d c".
    let mut node = Node::initdb("primary", 1, None, 0);
    let mut psql = node.connect();
    for line in [
        "CREATE TABLE p (id int PRIMARY KEY, name text);",
        "CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p ON DELETE CASCADE, q int, CONSTRAINT two FOREIGN KEY (q) REFERENCES p (id) ON UPDATE SET NULL ON DELETE RESTRICT);",
        "ALTER TABLE c ADD COLUMN extra text;",
        "ALTER TABLE c DROP COLUMN q;",
    ] {
        let out = node.psql_line(0, &mut psql, line);
        assert!(!out.contains("ERROR"), "{line}: {out}");
    }
    assert_eq!(
        node.psql_line(0, &mut psql, "\\d p"),
        [
            "                 Table \"public.p\"",
            " Column |  Type   | Collation | Nullable | Default ",
            "--------+---------+-----------+----------+---------",
            " id     | integer |           | not null | ",
            " name   | text    |           |          | ",
            "Indexes:",
            "    \"p_pkey\" PRIMARY KEY, btree (id)",
            "Referenced by:",
            "    TABLE \"c\" CONSTRAINT \"c_p_id_fkey\" FOREIGN KEY (p_id) REFERENCES p(id) ON DELETE CASCADE",
            "",
            "",
        ]
        .join("\n")
    );
    assert_eq!(
        node.psql_line(0, &mut psql, "\\d c"),
        [
            "                 Table \"public.c\"",
            " Column |  Type   | Collation | Nullable | Default ",
            "--------+---------+-----------+----------+---------",
            " id     | integer |           | not null | ",
            " p_id   | integer |           |          | ",
            " extra  | text    |           |          | ",
            "Indexes:",
            "    \"c_pkey\" PRIMARY KEY, btree (id)",
            "Foreign-key constraints:",
            "    \"c_p_id_fkey\" FOREIGN KEY (p_id) REFERENCES p(id) ON DELETE CASCADE",
            "",
            "",
        ]
        .join("\n")
    );
    let dropped = node.psql_line(0, &mut psql, "DROP TABLE p CASCADE;");
    assert_eq!(
        dropped,
        "NOTICE:  drop cascades to constraint c_p_id_fkey on table c\nDROP TABLE\n"
    );
}
