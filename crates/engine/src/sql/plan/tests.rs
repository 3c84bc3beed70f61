//! The executor's bounds: how much work a LIMIT or a hash join costs, and that deep
//! subqueries end in 54001.

use crate::{Database, Outcome, SessionId};

use crate::test_support::db;

fn run(db: &mut Database, session: SessionId, sql: &str) -> crate::Result<Outcome> {
    let mut results = crate::sql::execute(db, session, sql);
    results.pop().expect("a result").outcome
}

fn rows(db: &mut Database, session: SessionId, sql: &str) -> Vec<Vec<Option<String>>> {
    match run(db, session, sql) {
        Ok(Outcome::Rows { rows, .. }) => rows,
        other => panic!("{sql}: {other:?}"),
    }
}

/// Two tables of `n` rows each.
fn two_tables(db: &mut Database, session: SessionId, n: usize) {
    run(db, session, "CREATE TABLE a (k int, v int)").unwrap();
    run(db, session, "CREATE TABLE b (k int, w int)").unwrap();
    let fill = format!("INSERT INTO a SELECT g, g FROM generate_series(1, {n}) g");
    run(db, session, &fill).unwrap();
    let fill = format!("INSERT INTO b SELECT g, g % 7 FROM generate_series(1, {n}) g");
    run(db, session, &fill).unwrap();
}

#[test]
fn a_limit_stops_a_cross_join_early() {
    let (mut db, session) = db();
    two_tables(&mut db, session, 2000);
    let result = rows(&mut db, session, "SELECT * FROM a, b LIMIT 5");
    assert_eq!(result.len(), 5);
    // The inner table is read once (2000 rows); the outer one only as far as needed.
    let work = db.interrupts.work();
    assert!(work < 3 * 2000, "{work} units for 4 million pairs");
}

#[test]
fn an_equi_join_is_hashed() {
    let (mut db, session) = db();
    two_tables(&mut db, session, 10_000);
    let result = rows(
        &mut db,
        session,
        "SELECT count(*) FROM a JOIN b ON a.k = b.k WHERE b.w = 0",
    );
    assert_eq!(result, [[Some("1428".to_string())]]);
    // Linear in the tables, not their product (10^8 pairs).
    let work = db.interrupts.work();
    assert!(work < 10 * 10_000, "{work} units");
}

#[test]
fn an_aggregate_over_a_product_holds_no_rows() {
    let (mut db, session) = db();
    two_tables(&mut db, session, 100);
    let result = rows(&mut db, session, "SELECT count(*) FROM a, b, a c");
    assert_eq!(result, [[Some("1000000".to_string())]]);
}

#[test]
fn deep_subqueries_end_in_54001_not_a_crash() {
    std::thread::Builder::new()
        .stack_size(crate::stack::MAX_STACK_DEPTH_BYTES * 4)
        .spawn(|| {
            let (mut db, session) = db();
            for depth in (1..200).step_by(7) {
                let sql = format!(
                    "SELECT {}1{}",
                    "(SELECT ".repeat(depth),
                    " FROM (VALUES (1)) v WHERE EXISTS (SELECT 1))".repeat(depth)
                );
                match run(&mut db, session, &sql) {
                    Ok(_) => {}
                    Err(error) => assert_eq!(error.code, "54001", "depth {depth}: {error:?}"),
                }
            }
            let error = run(
                &mut db,
                session,
                &format!("SELECT {}1{}", "(SELECT ".repeat(5000), ")".repeat(5000)),
            );
            assert_eq!(error.unwrap_err().code, "54001");
        })
        .unwrap()
        .join()
        .unwrap();
}
