//! Guided lessons: one for each tutorial learners bring to pgplay (the seed
//! tutorials, written for PostgreSQL 9.0–9.3), told in today's spellings.
//!
//! A lesson is data: steps of SQL or server commands, each with the text
//! PostgreSQL prints when it went right. The playground runs them in the
//! browser; `tests/lessons.rs` runs every lesson on the simulated cluster,
//! so a lesson that stops matching what pgplay does fails the build. Each
//! lesson starts on a fresh default cluster (primary, standby1, standby2).

/// What a step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// SQL (or a psql meta-command) typed into psql on the step's node.
    Sql(&'static str),
    /// A server command, as after `\!` in pgplay's psql: `pg_ctl`,
    /// `pg_basebackup`, `echo ... >> file`, `cat`, `touch`, `rm`.
    Shell(&'static str),
}

/// One step: what to do, where, and what PostgreSQL answers when it worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// What the step teaches, in a sentence or two.
    pub text: &'static str,
    /// The node whose psql runs the SQL (for a command, the node it acts on).
    pub node: &'static str,
    pub input: Input,
    /// Text the output contains when the step did what it should.
    pub expect: &'static str,
    /// How long to keep re-running the step until `expect` appears: for
    /// reads that wait on replication or a reconnecting walreceiver. Zero
    /// means run once.
    pub wait_seconds: u32,
}

/// A lesson: the tutorial it follows and its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lesson {
    /// The seed tutorial's number, also the lesson's name in URLs (`?lesson=003`).
    pub id: &'static str,
    pub title: &'static str,
    /// Which tutorial it follows and what changed since it was written.
    pub about: &'static str,
    pub steps: &'static [Step],
}

const fn sql(
    node: &'static str,
    text: &'static str,
    input: &'static str,
    expect: &'static str,
) -> Step {
    Step {
        text,
        node,
        input: Input::Sql(input),
        expect,
        wait_seconds: 0,
    }
}

const fn shell(
    node: &'static str,
    text: &'static str,
    input: &'static str,
    expect: &'static str,
) -> Step {
    Step {
        text,
        node,
        input: Input::Shell(input),
        expect,
        wait_seconds: 0,
    }
}

/// A read that may run before the WAL it needs has arrived: retried for up to `seconds`.
const fn wait(step: Step, seconds: u32) -> Step {
    Step {
        wait_seconds: seconds,
        ..step
    }
}

pub const LESSONS: &[Lesson] = &[
    Lesson {
        id: "000",
        title: "A hot standby of your own",
        about: "Follows a PostgreSQL 9.1 tutorial on streaming replication with a hot standby. \
                Its wal_keep_segments became wal_keep_size in 13, and its recovery.conf became \
                standby.signal plus ordinary settings in 12; pg_basebackup -R writes both.",
        steps: &[
            sql(
                "primary",
                "The tutorial keeps WAL for slow standbys with wal_keep_segments. PostgreSQL 15 no longer knows that name.",
                "ALTER SYSTEM SET wal_keep_segments = 10;",
                "unrecognized configuration parameter \"wal_keep_segments\"",
            ),
            sql(
                "primary",
                "Its replacement counts megabytes instead of 16 MB segments: 10 segments are 160MB.",
                "ALTER SYSTEM SET wal_keep_size = '160MB';",
                "ALTER SYSTEM",
            ),
            sql(
                "primary",
                "A role for the standby to connect as: it needs the REPLICATION attribute.",
                "CREATE USER repl REPLICATION LOGIN PASSWORD 'CHANGE_ME';",
                "CREATE ROLE",
            ),
            shell(
                "primary",
                "Let repl open replication connections from 127.0.0.1 with a password.",
                "echo \"host replication repl 127.0.0.1/32 md5\" >> primary/pg_hba.conf",
                "",
            ),
            shell(
                "primary",
                "pg_hba.conf is read again on reload, wal_keep_size too: no restart needed.",
                "pg_ctl -D primary reload",
                "server signaled",
            ),
            shell(
                "standby3",
                "Copy the primary as repl. -R writes standby.signal and primary_conninfo, what recovery.conf held in 9.1.",
                "PGPASSWORD=CHANGE_ME pg_basebackup -h 127.0.0.1 -p 5432 -U repl -D standby3 -R",
                "",
            ),
            shell(
                "standby3",
                "See where the standby will connect.",
                "cat standby3/postgresql.auto.conf",
                "primary_conninfo = 'user=repl password=CHANGE_ME",
            ),
            shell(
                "standby3",
                "Start the copy: standby.signal makes it a standby, and it starts streaming from the primary.",
                "pg_ctl -D standby3 start",
                "server started",
            ),
            sql(
                "primary",
                "Write on the primary, which reads and writes.",
                "CREATE TABLE streamtest (x int);",
                "CREATE TABLE",
            ),
            sql("primary", "Add a row.", "INSERT INTO streamtest VALUES (1);", "INSERT 0 1"),
            wait(
                sql(
                    "standby3",
                    "The new standby has the table and the row.",
                    "SELECT * FROM streamtest;",
                    "(1 row)",
                ),
                5,
            ),
            sql(
                "standby3",
                "A hot standby answers reads, and refuses writes.",
                "INSERT INTO streamtest VALUES (2);",
                "cannot execute INSERT in a read-only transaction",
            ),
            sql(
                "primary",
                "The primary reports each standby in pg_stat_replication (procpid and sent_location in 9.1, pid and sent_lsn today). standby3 shows as walreceiver: -R wrote no application_name into its primary_conninfo (standby1 and standby2 were given theirs).",
                "SELECT application_name, usename, state, sent_lsn, replay_lsn FROM pg_stat_replication WHERE usename = 'repl';",
                "walreceiver      | repl",
            ),
        ],
    },
    Lesson {
        id: "001",
        title: "Five steps to streaming replication",
        about: "Follows a tutorial written for the PostgreSQL 9.0 beta. It copied the data \
                directory between pg_start_backup() and pg_stop_backup(), archived WAL with \
                archive_command and restore_command, and promoted with a trigger file; today \
                pg_basebackup makes the copy, recovery.conf's settings live in postgresql.conf, \
                and pg_ctl promote or pg_promote() promotes.",
        steps: &[
            sql(
                "primary",
                "The tutorial starts a backup by hand. PostgreSQL 15 renamed the function (pg_backup_start) and pg_basebackup does the whole copy.",
                "SELECT pg_start_backup('initial backup for SR');",
                "function pg_start_backup(unknown) does not exist",
            ),
            sql(
                "primary",
                "Step 3 turns on WAL archiving: archive_mode takes a restart.",
                "ALTER SYSTEM SET archive_mode = on;",
                "ALTER SYSTEM",
            ),
            sql(
                "primary",
                "Each finished WAL segment is copied into pg_xlogarch.",
                "ALTER SYSTEM SET archive_command = 'cp %p /home/postgres/pg_xlogarch/%f';",
                "ALTER SYSTEM",
            ),
            shell(
                "primary",
                "Restart the primary; its standbys reconnect.",
                "pg_ctl -D primary restart",
                "server started",
            ),
            wait(
                sql(
                    "primary",
                    "Wait until standby1 and standby2 stream again (they retry every 5 s).",
                    "SELECT application_name, state FROM pg_stat_replication;",
                    "(2 rows)",
                ),
                10,
            ),
            shell(
                "standby3",
                "Copy the primary into standby3, writing the standby settings (-R).",
                "pg_basebackup -h 127.0.0.1 -p 5432 -D standby3 -R",
                "",
            ),
            shell(
                "standby3",
                "Step 4's recovery.conf is gone since PostgreSQL 12: its restore_command goes into postgresql.auto.conf (or postgresql.conf). When streaming cannot serve a segment, the standby copies it from the archive.",
                "echo \"restore_command = 'cp /home/postgres/pg_xlogarch/%f \\\"%p\\\"'\" >> standby3/postgresql.auto.conf",
                "",
            ),
            shell(
                "standby3",
                "standby_mode = 'on' of recovery.conf is now this empty file.",
                "ls standby3",
                "standby.signal",
            ),
            shell(
                "standby3",
                "Start the standby.",
                "pg_ctl -D standby3 start",
                "server started",
            ),
            sql(
                "primary",
                "Write on the primary.",
                "CREATE TABLE sr_test (id int PRIMARY KEY, note text);",
                "CREATE TABLE",
            ),
            sql(
                "primary",
                "Add a row.",
                "INSERT INTO sr_test VALUES (1, 'written on the primary');",
                "INSERT 0 1",
            ),
            sql(
                "primary",
                "Where the primary's WAL ends: pg_current_xlog_location() in 9.x, renamed in 10 when xlog became wal.",
                "SELECT pg_current_wal_lsn();",
                "pg_current_wal_lsn",
            ),
            sql(
                "primary",
                "Finish the segment (pg_switch_xlog() in 9.x): the archiver copies it.",
                "SELECT pg_switch_wal();",
                "pg_switch_wal",
            ),
            wait(
                shell(
                    "primary",
                    "It is in the archive.",
                    "ls /home/postgres/pg_xlogarch",
                    "00000001",
                ),
                5,
            ),
            wait(
                sql(
                    "standby3",
                    "The standby has the row.",
                    "SELECT * FROM sr_test;",
                    "written on the primary",
                ),
                5,
            ),
            wait(
                sql(
                    "standby3",
                    "Everything it received is replayed.",
                    "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS caught_up;",
                    " t\n",
                ),
                5,
            ),
            shell(
                "standby3",
                "Fail over. The tutorial touched a trigger_file; today promote the standby directly.",
                "pg_ctl -D standby3 promote",
                "server promoted",
            ),
            sql(
                "standby3",
                "It left recovery: it is a primary now.",
                "SELECT pg_is_in_recovery();",
                " f\n",
            ),
            shell(
                "standby3",
                "It chose timeline 2, and wrote down where timeline 1 ended.",
                "cat standby3/pg_wal/00000002.history",
                "no recovery target specified",
            ),
            sql(
                "standby3",
                "And it takes writes.",
                "INSERT INTO sr_test VALUES (2, 'written on the promoted standby');",
                "INSERT 0 1",
            ),
        ],
    },
    Lesson {
        id: "002",
        title: "Replication with archiving settings",
        about: "Follows a PostgreSQL 9.3 tutorial that turns on archive_mode with the \
                archive_command 'cd .', which archives nothing: its standby, too, learns every \
                change by streaming. Then a real archive_command copies each finished segment \
                to /archive, where pg_stat_archiver counts it.",
        steps: &[
            sql(
                "primary",
                "A replication role that may hold one connection at a time.",
                "CREATE USER rep REPLICATION LOGIN CONNECTION LIMIT 1 ENCRYPTED PASSWORD 'password';",
                "CREATE ROLE",
            ),
            shell(
                "primary",
                "Let rep replicate from 127.0.0.1 with a password.",
                "echo \"host replication rep 127.0.0.1/32 md5\" >> primary/pg_hba.conf",
                "",
            ),
            sql(
                "primary",
                "archive_mode can only change at server start.",
                "ALTER SYSTEM SET archive_mode = on;",
                "ALTER SYSTEM",
            ),
            sql(
                "primary",
                "'cd .' succeeds and copies nothing: a placeholder archive.",
                "ALTER SYSTEM SET archive_command = 'cd .';",
                "ALTER SYSTEM",
            ),
            shell(
                "primary",
                "Restart the primary. Its standbys lose the connection and reconnect.",
                "pg_ctl -D primary restart",
                "server started",
            ),
            sql("primary", "The setting is live.", "SHOW archive_mode;", " on\n"),
            wait(
                sql(
                    "primary",
                    "Wait until standby1 and standby2 stream again (they retry every 5 s, wal_retrieve_retry_interval). A copy made before would checkpoint away the WAL segment they resume from, and they would fail with \"requested WAL segment ... has already been removed\".",
                    "SELECT application_name, state FROM pg_stat_replication;",
                    "(2 rows)",
                ),
                10,
            ),
            shell(
                "standby3",
                "Copy the primary as rep (the tutorial used pg_start_backup() and rsync).",
                "PGPASSWORD=password pg_basebackup -h 127.0.0.1 -p 5432 -U rep -D standby3 -R",
                "",
            ),
            shell(
                "standby3",
                "Start it: it streams as rep.",
                "pg_ctl -D standby3 start",
                "server started",
            ),
            wait(
                sql(
                    "primary",
                    "standby3 streams as rep (and is called walreceiver, as -R names no application_name); standby1 and standby2 as postgres.",
                    "SELECT usename, application_name, state FROM pg_stat_replication ORDER BY application_name;",
                    "(3 rows)",
                ),
                10,
            ),
            shell(
                "standby4",
                "A second copy as rep works too: CONNECTION LIMIT 1 bounds rep's ordinary sessions, not its replication connections (max_wal_senders bounds those).",
                "PGPASSWORD=password pg_basebackup -h 127.0.0.1 -p 5432 -U rep -D standby4 -R",
                "",
            ),
            sql(
                "primary",
                "Write on the primary.",
                "CREATE TABLE orders (id int PRIMARY KEY, item text);",
                "CREATE TABLE",
            ),
            sql("primary", "Add an order.", "INSERT INTO orders VALUES (1, 'book');", "INSERT 0 1"),
            wait(
                sql("standby3", "The standby has it.", "SELECT * FROM orders;", "book"),
                5,
            ),
            sql(
                "primary",
                "Finish the current WAL segment: the archiver runs archive_command on it.",
                "SELECT pg_switch_wal();",
                "pg_switch_wal",
            ),
            wait(
                sql(
                    "primary",
                    "'cd .' exited 0, so PostgreSQL counts the segment as archived, though nothing was copied anywhere.",
                    "SELECT archived_count > 0 AS archived, failed_count FROM pg_stat_archiver;",
                    " t        |            0",
                ),
                5,
            ),
            sql(
                "primary",
                "A real archive: copy each finished segment to /archive, never over a file already there. archive_command takes a reload.",
                "ALTER SYSTEM SET archive_command = 'test ! -f /archive/%f && cp %p /archive/%f';",
                "ALTER SYSTEM",
            ),
            sql("primary", "Reload.", "SELECT pg_reload_conf();", " t\n"),
            sql(
                "primary",
                "Another order: a switch with nothing written since the last one would not start a new segment.",
                "INSERT INTO orders VALUES (3, 'lamp');",
                "INSERT 0 1",
            ),
            sql(
                "primary",
                "Finish that segment.",
                "SELECT pg_switch_wal();",
                "pg_switch_wal",
            ),
            wait(
                shell(
                    "primary",
                    "It is in the archive, named as in pg_wal. A standby with restore_command = 'cp /archive/%f %p' can replay from here when the primary no longer has a segment.",
                    "ls /archive",
                    "00000001",
                ),
                5,
            ),
            sql(
                "standby3",
                "The tutorial's trigger_file was renamed in 12 and removed in 16: PostgreSQL 15 refuses it in ALTER SYSTEM.",
                "ALTER SYSTEM SET trigger_file = '/tmp/postgresql.trigger.5432';",
                "unrecognized configuration parameter \"trigger_file\"",
            ),
            sql(
                "standby3",
                "Promote from SQL instead: pg_promote() waits until the standby is a primary.",
                "SELECT pg_promote();",
                " t\n",
            ),
            sql(
                "standby3",
                "The promoted standby takes writes.",
                "INSERT INTO orders VALUES (2, 'pen');",
                "INSERT 0 1",
            ),
        ],
    },
    Lesson {
        id: "003",
        title: "Streaming replication and failover",
        about: "Follows a high-availability tutorial: write on the primary, read on a hot \
                standby, meet its read-only error, then promote the standby and write on it.",
        steps: &[
            sql(
                "primary",
                "Create a table on the primary.",
                "CREATE TABLE lesson (x int);",
                "CREATE TABLE",
            ),
            sql(
                "primary",
                "Insert a row on the primary: it is written to the WAL and streamed.",
                "INSERT INTO lesson VALUES (1);",
                "INSERT 0 1",
            ),
            wait(
                sql(
                    "standby1",
                    "Read it on standby1, a hot standby.",
                    "SELECT * FROM lesson;",
                    "(1 row)",
                ),
                5,
            ),
            sql(
                "standby1",
                "Try to write on standby1: standbys are read-only.",
                "INSERT INTO lesson VALUES (2);",
                "cannot execute INSERT in a read-only transaction",
            ),
            shell(
                "standby1",
                "Fail over: promote standby1. It picks timeline 2.",
                "pg_ctl -D standby1 promote",
                "server promoted",
            ),
            sql(
                "standby1",
                "Write on the new primary.",
                "INSERT INTO lesson VALUES (2);",
                "INSERT 0 1",
            ),
        ],
    },
    Lesson {
        id: "004",
        title: "The wiki's streaming replication, point by point",
        about: "Checks the claims of the PostgreSQL wiki's Streaming Replication page: \
                record-based shipping, several standbys, a dead standby that does not harm the \
                others and catches up, the synchronization modes it planned (today's synchronous \
                replication), and max_wal_senders.",
        steps: &[
            sql(
                "primary",
                "Write on the primary.",
                "CREATE TABLE shipping (id int PRIMARY KEY);",
                "CREATE TABLE",
            ),
            sql("primary", "Add a row.", "INSERT INTO shipping VALUES (1);", "INSERT 0 1"),
            sql(
                "primary",
                "The row sits in a WAL segment that is far from full.",
                "SELECT pg_walfile_name(pg_current_wal_lsn());",
                "pg_walfile_name",
            ),
            wait(
                sql(
                    "standby1",
                    "Still, standby1 has it: streaming ships records, not whole segment files.",
                    "SELECT * FROM shipping;",
                    "(1 row)",
                ),
                5,
            ),
            shell(
                "standby1",
                "Kill standby1 (an immediate stop is a crash).",
                "pg_ctl -D standby1 -m immediate stop",
                "server stopped",
            ),
            sql("primary", "Write again.", "INSERT INTO shipping VALUES (2);", "INSERT 0 1"),
            sql(
                "primary",
                "Only standby2 is connected now.",
                "SELECT application_name, state FROM pg_stat_replication;",
                "standby2         | streaming",
            ),
            wait(
                sql(
                    "standby2",
                    "standby2 did not notice: it has both rows.",
                    "SELECT count(*) FROM shipping;",
                    "     2\n",
                ),
                5,
            ),
            shell(
                "standby1",
                "Start standby1 again: it replays from its last restartpoint and reconnects.",
                "pg_ctl -D standby1 start",
                "server started",
            ),
            wait(
                sql(
                    "standby1",
                    "It caught up.",
                    "SELECT count(*) FROM shipping;",
                    "     2\n",
                ),
                10,
            ),
            wait(
                sql(
                    "standby1",
                    "Its walreceiver streams again.",
                    "SELECT status, sender_port FROM pg_stat_wal_receiver;",
                    "streaming |        5432",
                ),
                10,
            ),
            sql(
                "primary",
                "The wiki's planned modes async, recv, fsync and apply became synchronous_commit = local, remote_write, on and remote_apply (9.1, apply in 9.6). synchronous_standby_names says which standbys a commit waits for.",
                "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1, standby2)';",
                "ALTER SYSTEM",
            ),
            sql("primary", "Reload the configuration.", "SELECT pg_reload_conf();", " t\n"),
            wait(
                sql(
                    "primary",
                    "standby1, first in the list, is the synchronous standby; standby2 is a potential one.",
                    "SELECT application_name, sync_priority, sync_state FROM pg_stat_replication ORDER BY application_name;",
                    "standby1         |             1 | sync",
                ),
                10,
            ),
            sql(
                "primary",
                "The apply mode: a commit returns only once the synchronous standby has replayed it.",
                "SET synchronous_commit = remote_apply;",
                "SET",
            ),
            sql("primary", "Write.", "INSERT INTO shipping VALUES (3);", "INSERT 0 1"),
            sql(
                "standby1",
                "No waiting this time: standby1 shows the row the moment the INSERT returned.",
                "SELECT count(*) FROM shipping;",
                "     3\n",
            ),
            shell(
                "standby1",
                "Stop the synchronous standby.",
                "pg_ctl -D standby1 -m fast stop",
                "server stopped",
            ),
            wait(
                sql(
                    "primary",
                    "standby2, next in the list, takes over: commits keep working, now confirmed by standby2. (With no synchronous standby left, a commit would wait until one returns or you cancel it.)",
                    "SELECT application_name, sync_priority, sync_state FROM pg_stat_replication;",
                    "standby2         |             2 | sync",
                ),
                10,
            ),
            shell(
                "standby1",
                "Start standby1 again.",
                "pg_ctl -D standby1 start",
                "server started",
            ),
            sql(
                "primary",
                "Back to asynchronous replication.",
                "ALTER SYSTEM RESET synchronous_standby_names;",
                "ALTER SYSTEM",
            ),
            sql("primary", "Reload.", "SELECT pg_reload_conf();", " t\n"),
            sql(
                "primary",
                "max_wal_senders caps the walsenders, so the standbys. It needs a restart.",
                "ALTER SYSTEM SET max_wal_senders = 1;",
                "ALTER SYSTEM",
            ),
            shell(
                "primary",
                "Restart the primary: both standbys try to reconnect.",
                "pg_ctl -D primary restart",
                "server started",
            ),
            wait(
                sql(
                    "primary",
                    "Only one gets in; the other's log says \"number of requested standby connections exceeds max_wal_senders\".",
                    "SELECT count(*) FROM pg_stat_replication;",
                    "     1\n",
                ),
                15,
            ),
        ],
    },
];

/// The lesson with this id (`"003"`), if any.
pub fn lesson(id: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|lesson| lesson.id == id)
}

impl Step {
    /// The step as a learner would type it: `standby1=# SELECT ...` or `$ pg_ctl ...`.
    pub fn typed(&self) -> String {
        match self.input {
            Input::Sql(sql) => format!("{}=# {sql}", self.node),
            Input::Shell(command) => format!("$ {command}"),
        }
    }

    /// Whether the step worked: `ran` is false when a command failed
    /// (psql prints SQL errors, so for SQL it is always true).
    pub fn succeeded(&self, ran: bool, output: &str) -> bool {
        if self.expect.is_empty() {
            ran
        } else {
            output.contains(self.expect)
        }
    }
}
