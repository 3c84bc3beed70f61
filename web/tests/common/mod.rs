//! A primary and a standby wired the way two browser workers are: every
//! replication message goes through the wire encoding (`PeerFrame`,
//! postcard) before the other node sees it. Shared by the Node, browser and
//! dedicated-worker suites, so the core is proven in each wasm runtime.

use pgplay_node::{Node, Output, PeerEvent};
use pgplay_web::protocol::{decode, encode, PeerFrame};

fn deliver(from: &mut Node, to: &mut Node, now: i64) -> usize {
    let mut moved = 0;
    while let Some(output) = from.poll_output() {
        moved += 1;
        match output {
            Output::Connect { conn, .. } => {
                to.handle_peer(
                    now,
                    conn,
                    PeerEvent::Accepted {
                        client_addr: "127.0.0.1".into(),
                        client_port: 40001,
                    },
                );
                from.handle_peer(now, conn, PeerEvent::Connected);
            }
            Output::Send { conn, message } => {
                let wire = encode(&PeerFrame::Message(encode(&message)));
                let PeerFrame::Message(inner) = decode::<PeerFrame>(&wire).unwrap() else {
                    panic!("frame")
                };
                to.handle_peer(now, conn, PeerEvent::Message(decode(&inner).unwrap()));
            }
            Output::Close { conn } => to.handle_peer(now, conn, PeerEvent::Closed),
            // This pair runs without archive_mode or restore_command.
            Output::ArchivePut { .. } | Output::ArchiveGet { .. } => {
                panic!("no archiving in this test")
            }
        }
    }
    moved
}

/// Streams a table from a primary to a standby made from a base-backup image.
pub fn stream_through_the_wire() {
    let mut primary = Node::initdb("primary", 99, None, 0);
    primary.place(1, 5432);
    let image = primary
        .base_backup(
            1,
            "standby1",
            "postgres",
            None,
            pgplay_node::RecoveryConf::WrittenNamed,
        )
        .unwrap()
        .to_image();
    let mut standby = Node::from_image(&image, 2).unwrap();
    standby.place(2, 5433);
    standby.start(3).unwrap();
    let mut psql = primary.connect();
    primary.psql_line(4, &mut psql, "CREATE TABLE t (x int);");
    primary.psql_line(4, &mut psql, "INSERT INTO t VALUES (1), (2), (3);");
    for step in 0..20 {
        let now = 5 + step;
        let a = deliver(&mut standby, &mut primary, now);
        let b = deliver(&mut primary, &mut standby, now);
        if a + b == 0 {
            break;
        }
    }
    let mut reader = standby.connect();
    assert_eq!(
        standby.psql_line(30, &mut reader, "SELECT count(*) FROM t;"),
        " count \n-------\n     3\n(1 row)\n\n"
    );
    assert!(standby
        .psql_line(30, &mut reader, "INSERT INTO t VALUES (4);")
        .contains("cannot execute INSERT in a read-only transaction"));
}

/// Statements nested as deep as a hostile or careless user types them end in PostgreSQL's
/// `stack depth limit exceeded` or run; none may trap the wasm instance (which would take the
/// whole node with it). Returns what psql printed for each, for the caller's report.
#[allow(
    dead_code,
    reason = "the Node and worker suites run it; the browser suite, which includes this module too, does not"
)]
pub fn deep_statements_fail_politely() {
    let mut primary = Node::initdb("primary", 99, None, 0);
    primary.place(1, 5432);
    let mut psql = primary.connect();
    let chain = |terms: usize| format!("SELECT {};", vec!["1"; terms].join("+"));
    let parens = |levels: usize| format!("SELECT {}1{};", "(".repeat(levels), ")".repeat(levels));
    let deep_error = "ERROR:  stack depth limit exceeded";
    // (statement, must it run?): how deep a statement may go depends on the build (a debug
    // build's frames are larger), but the small ones always run, the huge ones never do, and
    // nothing in between may trap.
    for (sql, must_run) in [
        (chain(10), Some(true)),
        (parens(10), Some(true)),
        (chain(1_000), None),
        (chain(5_000), Some(false)),
        (chain(100_000), Some(false)),
        (parens(200), None),
        (parens(20_000), Some(false)),
    ] {
        // Shown only if the test fails: the statement that trapped is the last one logged.
        wasm_bindgen_test::console_log!("{} bytes: {}", sql.len(), &sql[..40.min(sql.len())]);
        let out = primary.psql_line(2, &mut psql, &sql);
        let ran = !out.contains("ERROR");
        assert!(
            if ran {
                must_run != Some(false)
            } else {
                must_run != Some(true) && out.contains(deep_error)
            },
            "{} bytes of nesting gave: {}",
            sql.len(),
            out.chars().take(200).collect::<String>()
        );
    }
    // The node is alive and its session usable.
    assert!(primary
        .psql_line(3, &mut psql, "SELECT 40 + 2;")
        .contains("42"));
}
