//! The executor's bounds: how much work a LIMIT or a hash join costs, and that deep
//! subqueries end in 54001.

use crate::{Database, SessionId};

use crate::test_support::{db, rows, run};

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

/// With the simulated disk made 2 MB, queries whose nodes would hold far more (a sort of a
/// product, DISTINCT, a hash join's inner side, count(DISTINCT ...)) end in PostgreSQL's
/// disk-full error, holding no more than the disk and work_mem allow, and give it all back.
#[test]
fn nodes_past_the_temporary_disk_end_in_53100() {
    let (mut db, session) = db();
    two_tables(&mut db, session, 1000);
    let disk = 2 << 20;
    crate::workmem::set_capacity(&db.temp_space, 64 << 20, disk);
    run(&mut db, session, "SET work_mem = '64kB'").unwrap();
    let queries = [
        "SELECT a.k, b.k FROM a, b ORDER BY a.v, b.w",
        "SELECT DISTINCT a.k, b.k FROM a, b",
        "SELECT count(*) FROM a JOIN (SELECT 1 AS one, a.k FROM a, b) c ON a.k % 1 + 1 = c.one",
        "SELECT count(DISTINCT a.k * 10000 + b.k) FROM a, b",
        "SELECT a.k, count(*) FROM a, b GROUP BY a.k * 10000 + b.k, a.k",
    ];
    for sql in queries {
        let error = run(&mut db, session, sql).expect_err(sql);
        assert_eq!(error.code, "53100", "{sql}: {error:?}");
        assert!(
            error.message.starts_with(&format!(
                "could not write to file \"base/pgsql_tmp/pgsql_tmp{}.",
                crate::database::session_pid(session)
            )) && error.message.ends_with("\": No space left on device"),
            "{}",
            error.message
        );
        let (memory, held, peak) = crate::workmem::totals(&db.temp_space);
        assert_eq!((memory, held), (0, 0), "{sql}: all given back");
        assert!(peak <= disk, "{sql}: the disk held {peak} bytes");
    }
    // Each failed statement deleted its temporary files (the inner side of a cross join
    // spills too), which pg_stat_database counts.
    let stats = rows(
        &mut db,
        session,
        "SELECT temp_files >= 5, temp_bytes > 0 FROM pg_stat_database",
    );
    assert_eq!(stats, vec![vec![Some("t".into()), Some("t".into())]]);
    // The session goes on.
    let count = rows(&mut db, session, "SELECT count(*) FROM a, b");
    assert_eq!(count, vec![vec![Some("1000000".into())]]);
}

/// A work_mem larger than the node's memory: the node never spills, and ends in 53200.
#[test]
fn a_huge_work_mem_ends_in_out_of_memory() {
    let (mut db, session) = db();
    two_tables(&mut db, session, 1000);
    crate::workmem::set_capacity(&db.temp_space, 2 << 20, 2 << 20);
    run(&mut db, session, "SET work_mem = '1TB'").unwrap();
    let error = run(&mut db, session, "SELECT a.k FROM a, b ORDER BY 1").expect_err("sort");
    assert_eq!(error.code, "53200");
    assert_eq!(error.message, "out of memory");
    assert_eq!(crate::workmem::totals(&db.temp_space).0, 0);
}

/// log_temp_files logs each temporary file as PostgreSQL does, with the statement; EXPLAIN
/// ANALYZE shows where a sort ran.
#[test]
fn temporary_files_are_logged_and_explained() {
    let (mut db, session) = db();
    two_tables(&mut db, session, 2000);
    run(&mut db, session, "SET work_mem = '64kB'").unwrap();
    run(&mut db, session, "SET log_temp_files = 0").unwrap();
    db.log_lines.clear();
    let sql = "SELECT k FROM a ORDER BY v DESC";
    assert_eq!(rows(&mut db, session, sql).len(), 2000);
    assert_eq!(db.log_lines.len(), 1, "{:?}", db.log_lines);
    let line = &db.log_lines[0];
    let pid = crate::database::session_pid(session);
    assert!(
        line.starts_with(&format!(
            "LOG:  temporary file: path \"base/pgsql_tmp/pgsql_tmp{pid}.0\", size "
        )) && line.ends_with(&format!("\nSTATEMENT:  {sql}")),
        "{line}"
    );
    let plan = rows(
        &mut db,
        session,
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT k FROM a ORDER BY v",
    );
    let plan: Vec<String> = plan.into_iter().filter_map(|r| r[0].clone()).collect();
    assert!(
        plan.iter().any(|l| l
            .trim_start()
            .starts_with("Sort Method: external merge  Disk: ")),
        "{plan:?}"
    );
    run(&mut db, session, "RESET work_mem").unwrap();
    let plan = rows(
        &mut db,
        session,
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT k FROM a ORDER BY v",
    );
    let plan: Vec<String> = plan.into_iter().filter_map(|r| r[0].clone()).collect();
    assert!(
        plan.iter().any(|l| l
            .trim_start()
            .starts_with("Sort Method: quicksort  Memory: ")),
        "{plan:?}"
    );
}
