//! `pgplay test` as a user runs it: a file stops at its first failing record, or with
//! `--keep-going` runs every record and says how many passed and failed.

use std::process::Command;

const FILE: &str = "\
statement ok
CREATE TABLE t (x int)

statement ok
INSERT INTO t VALUES (1), (2)

query I
SELECT count(*) FROM t
----
3

query I
SELECT sum(x) FROM t
----
3

statement error relation \"missing\" does not exist
SELECT * FROM missing
";

fn run(args: &[&str]) -> (Option<i32>, String) {
    // One directory per call: the tests run in parallel.
    let name = format!(
        "pgplay-slt-runner-{}-{}",
        std::process::id(),
        args.join("-")
    );
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("one_wrong.slt");
    std::fs::write(&file, FILE).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pgplay"))
        .arg("test")
        .args(args)
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code(), text)
}

#[test]
fn a_file_stops_at_its_first_failing_record() {
    let (code, out) = run(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("replay: pgplay test --seed 1 "), "{out}");
    assert!(!out.contains("records passed"), "{out}");
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");
}

#[test]
fn keep_going_counts_every_record() {
    let (code, out) = run(&["--keep-going"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("one_wrong.slt: 4 records passed, 1 failed"),
        "{out}"
    );
}

#[test]
fn a_bad_option_value_is_an_error() {
    let (code, _) = run(&["--seed", "many"]);
    assert_eq!(code, Some(2));
}
