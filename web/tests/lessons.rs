//! Every guided lesson, run step by step on the simulated cluster, the way
//! the playground runs it in the browser: a lesson whose expected answers
//! stop matching what pgplay prints fails here, before a learner meets it.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use pgplay_node::Psql;
use pgplay_sim::{Sim, MS, SECOND};
use pgplay_web::lessons::{lesson, Input, LESSONS};

/// Runs one step once: (whether it ran without a command error, what it printed).
fn run_step(
    sim: &mut Sim,
    sessions: &mut BTreeMap<String, Psql>,
    node: &str,
    input: Input,
) -> (bool, String) {
    match input {
        Input::Shell(command) => match sim.run_command(command) {
            Ok(out) => (true, out),
            Err(error) => (false, error),
        },
        Input::Sql(text) => {
            let mut psql = sessions.remove(node).unwrap_or_else(|| {
                sim.node_mut(node)
                    .expect("the step's node exists")
                    .connect()
            });
            let mut out = String::new();
            for line in text.lines() {
                out.push_str(&sim.psql_line(node, &mut psql, line));
            }
            sessions.insert(node.to_string(), psql);
            (true, out)
        }
    }
}

#[test]
fn every_lesson_runs_as_written_on_the_simulated_cluster() {
    for lesson in LESSONS {
        let mut sim = Sim::standard(11, 5432);
        let mut sessions = BTreeMap::new();
        for (index, step) in lesson.steps.iter().enumerate() {
            // A learner reads the next step before running it.
            sim.run_for(100 * MS);
            let mut tries = step.wait_seconds * 5;
            let (ran, out) = loop {
                let (ran, out) = run_step(&mut sim, &mut sessions, step.node, step.input);
                if step.succeeded(ran, &out) || tries == 0 {
                    break (ran, out);
                }
                tries -= 1;
                sim.run_for(200 * MS);
            };
            assert!(
                step.succeeded(ran, &out),
                "lesson {} step {} ({}) printed:\n{out}\nexpected: {:?}",
                lesson.id,
                index + 1,
                step.typed(),
                step.expect
            );
        }
        sim.run_for(SECOND);
    }
}

#[test]
fn lessons_are_found_by_id_and_each_has_steps() {
    assert_eq!(LESSONS.len(), 5);
    for id in ["000", "001", "002", "003", "004"] {
        let found = lesson(id).expect("a lesson per seed tutorial");
        assert!(!found.steps.is_empty() && !found.about.is_empty());
    }
    assert!(lesson("005").is_none());
}

#[test]
fn a_step_with_no_expected_text_passes_only_when_its_command_ran() {
    let step = LESSONS[0]
        .steps
        .iter()
        .find(|s| s.expect.is_empty())
        .unwrap();
    assert!(step.succeeded(true, ""));
    assert!(!step.succeeded(false, "pg_basebackup: error: connection refused"));
    let sql = &LESSONS[3].steps[0];
    assert!(!sql.succeeded(true, "ERROR:  relation \"lesson\" already exists"));
    assert_eq!(sql.typed(), "primary=# CREATE TABLE lesson (x int);");
}

/// Each seed tutorial's pgplay script reads as a scenario, and writing
/// that scenario back gives a script that reads the same.
#[test]
fn seed_scripts_read_as_scenarios_and_write_back_the_same() {
    use pgplay_web::scenario::{parse, script, Action};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/seeds");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "psql") {
            let text = std::fs::read_to_string(&path).unwrap();
            let actions = parse(&text);
            // Each `\!` line is a shell step (seed 005, monitoring queries only, has none).
            let shell_lines = text
                .lines()
                .filter(|l| l.trim_start().starts_with("\\!"))
                .count();
            let shell_steps = actions
                .iter()
                .filter(|a| matches!(a, Action::Shell(_)))
                .count();
            assert_eq!(shell_steps, shell_lines, "{path:?}");
            assert!(actions
                .iter()
                .any(|a| matches!(a, Action::Sql { node, .. } if node != "primary")));
            assert_eq!(parse(&script(&actions)), actions, "{path:?}");
            seen += 1;
        }
    }
    assert_eq!(seen, 6);
}
