//! No line a learner types may panic the parser or the planner.

use pgplay_cluster::{plan, Members};
use proptest::prelude::*;

fn survives(line: &str) {
    let nodes = [("primary", 5432), ("standby1", 5433)];
    let _ = pgplay_cluster::shell::parse(line);
    let _ = plan(
        line,
        Members {
            nodes: &nodes,
            max_nodes: Some(8),
        },
    );
}

proptest! {
    #[test]
    fn the_shell_language_never_panics(line in "\\PC{0,120}") {
        survives(&line);
    }

    #[test]
    fn shell_commands_from_pieces_never_panic(
        pieces in prop::collection::vec(prop::sample::select(&[
            "pg_ctl", "-D", "primary", "standby1", "start", "stop", "-m", "immediate", "promote",
            "pg_basebackup", "-h", "127.0.0.1", "-p", "5432", "-R", "-S", "slot", "-C", "echo",
            "'x = 1'", ">>", ">", "primary/postgresql.auto.conf", "primary/pg_hba.conf", "cat",
            "ls", "touch", "printf", "'%s\\n'", "\"", "'", "\\", "pgplay-net", "partition",
            "delay", "loss", "cut", "-1", "99999999999", "&&", ";", "|", "rm", "-rf", "..", "", "a/b",
        ][..]), 0..12),
    ) {
        let line = pieces.join(" ");
        survives(&line);
    }

}
