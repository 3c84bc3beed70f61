//! One PostgreSQL server as a sans-IO state machine: the engine, its
//! configuration files (`postgresql.conf`, `postgresql.auto.conf`,
//! `pg_hba.conf`, `standby.signal`), its walsenders and walreceiver, and the
//! server commands (`pg_ctl start|stop|restart|promote`, `pg_basebackup`).
//!
//! Drivers (the simulator, the CLI, the browser worker) feed it inputs with
//! the current time — SQL from a session ([`Node::execute`]), events on a
//! replication connection ([`Node::handle_peer`]), commands ([`Node::pg_ctl`]),
//! timers ([`Node::handle_timeout`]) — and then drain [`Node::poll_output`]
//! for what goes out on the network, and ask [`Node::poll_timeout`] when to
//! wake it next. Nothing here reads a clock or touches a socket.

pub mod archive;
pub mod bench;
mod console;
pub mod durable;
mod idle;
pub mod image;
mod lockwait;
mod processes;
pub mod shell;
pub mod syncrep;
#[cfg(test)]
mod tests;
mod walwriter;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use pgplay_engine::guc::Id;
use pgplay_engine::{setting, Database, DbError, InitOptions, SessionId, StatementResult};
use pgplay_replication::hba::DEFAULT_HBA;
use pgplay_replication::{ConnId, HbaFile, Message, TimelineHistory, WalReceiver, WalSender};
use pgplay_wal::time::Timestamp;
use pgplay_wal::{SegmentSize, TimeLineId, DEFAULT_SEGMENT_SIZE};

pub use console::{render, report, Psql};

/// Memory a node holds, by kind (see [`Node::footprint`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeFootprint {
    pub wal: pgplay_wal::WalFootprint,
    /// The commit log's bytes, of the running data and of the last checkpoint's copy.
    pub clog_bytes: usize,
    /// Tuple versions in the heap, live or dead.
    pub tuples: usize,
    /// Lines in the server log's ring.
    pub log_lines: usize,
    /// Outputs waiting for the driver.
    pub outputs: usize,
}
pub use processes::{PeerEvent, RecoveryConf, SenderInfo};

/// Which node a `host` and `port` (from `primary_conninfo` or `pg_basebackup
/// -h -p`) reach, among `nodes` given as (name, port): a node's name, or a
/// loopback address and the node's port. All nodes share one loopback host.
pub fn resolve_host<'a>(
    host: &str,
    port: u16,
    nodes: impl IntoIterator<Item = (&'a str, u16)>,
) -> Option<&'a str> {
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "::1");
    let nodes: Vec<(&'a str, u16)> = nodes.into_iter().collect();
    nodes
        .iter()
        .find(|(name, _)| *name == host)
        .or_else(|| nodes.iter().find(|(_, p)| loopback && *p == port))
        .map(|(name, _)| *name)
}

/// Most server log lines a node keeps.
pub const LOG_CAPACITY: usize = 1000;
/// Most network outputs waiting for the driver; past this the node is being
/// driven wrong (nobody drains it), and it says so rather than grow.
pub const OUTPUT_CAPACITY: usize = 100_000;

/// What a node asks its driver to do on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Open a connection to `host:port` (a walreceiver connecting upstream).
    Connect {
        conn: ConnId,
        host: String,
        port: u16,
    },
    Send {
        conn: ConnId,
        message: Message,
    },
    Close {
        conn: ConnId,
    },
    /// `archive_command` copies segment `file` to `path` in the archive
    /// (with `unless_exists`, failing if it is there). Answer with
    /// [`Node::archive_result`].
    ArchivePut {
        file: String,
        path: String,
        bytes: Vec<u8>,
        unless_exists: bool,
    },
    /// `restore_command` copies `path` from the archive for segment `file`.
    /// Answer with [`Node::restore_result`].
    ArchiveGet {
        file: String,
        path: String,
    },
}

impl Output {
    /// The connection this output is about, if any.
    fn conn(&self) -> Option<ConnId> {
        match self {
            Output::Connect { conn, .. } | Output::Send { conn, .. } | Output::Close { conn } => {
                Some(*conn)
            }
            Output::ArchivePut { .. } | Output::ArchiveGet { .. } => None,
        }
    }
}

/// Drained outputs with each connection's consecutive XLogData joined into one message of at most
/// `max_bytes` ([`Message::absorb`]): a driver that lets several statements run before it sends
/// ships everything flushed since its last send at once, as PostgreSQL's walsender does when it
/// wakes up. Each connection's messages keep their order; only XLogData that nothing else on its
/// connection separates are joined.
pub fn coalesce_sends(outputs: impl IntoIterator<Item = Output>, max_bytes: usize) -> Vec<Output> {
    let mut joined: Vec<Output> = Vec::new();
    let mut last_of: std::collections::BTreeMap<ConnId, usize> = Default::default();
    for mut output in outputs {
        if let Output::Send { conn, message } = output {
            let previous = last_of.get(&conn).and_then(|&i| match &mut joined[i] {
                Output::Send { message, .. } => Some(message),
                _ => None,
            });
            output = match previous {
                Some(previous) => match previous.absorb(message, max_bytes) {
                    Ok(()) => continue,
                    Err(message) => Output::Send { conn, message },
                },
                None => Output::Send { conn, message },
            };
        }
        if let Some(conn) = output.conn() {
            last_of.insert(conn, joined.len());
        }
        joined.push(output);
    }
    joined
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    Stopped,
}

/// How `pg_ctl stop -m` stops a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StopMode {
    Smart,
    Fast,
    /// No shutdown checkpoint: the next start runs crash recovery.
    Immediate,
}

/// The files of the data directory that a learner edits.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConfigFiles {
    pub postgresql_conf: String,
    pub pg_hba_conf: String,
    pub standby_signal: bool,
}

impl Default for ConfigFiles {
    fn default() -> Self {
        ConfigFiles {
            postgresql_conf: "# postgresql.conf written by pgplay's initdb\n".into(),
            pg_hba_conf: DEFAULT_HBA.into(),
            standby_signal: false,
        }
    }
}

/// What the node reports about itself, one line per step in the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub role: &'static str,
    pub state: RunState,
    pub timeline: TimeLineId,
    pub write: pgplay_wal::Lsn,
    pub flush: pgplay_wal::Lsn,
    pub replay: Option<pgplay_wal::Lsn>,
    pub receiver: Option<&'static str>,
}

pub struct Node {
    pub name: String,
    /// Unique in a cluster; the high half of the connection ids it opens.
    pub id: u32,
    pub address: String,
    pub port: u16,
    pub state: RunState,
    pub db: Database,
    pub files: ConfigFiles,
    /// History files in `pg_wal/`, by timeline.
    pub history_files: BTreeMap<TimeLineId, String>,
    pub history: TimelineHistory,
    pub(crate) senders: BTreeMap<ConnId, WalSender>,
    /// Accepted connections that have not sent their startup packet yet.
    pub(crate) incoming: BTreeMap<ConnId, (String, u16)>,
    pub(crate) receiver: Option<WalReceiver>,
    outputs: VecDeque<Output>,
    log: VecDeque<String>,
    next_conn: u32,
    next_pid: i32,
    /// The last "why replay stopped" line logged, so it is logged once.
    pub(crate) last_replay_error: Option<String>,
    log_total: u64,
    /// Backends waiting for synchronous standbys, by session (bounded by
    /// [`syncrep::MAX_WAITERS`]).
    pub(crate) waiters: BTreeMap<SessionId, syncrep::Waiter>,
    /// Results of backends whose wait ended, until the driver takes them.
    pub(crate) released: BTreeMap<SessionId, Vec<StatementResult>>,
    /// Backends waiting for row locks, in the order they started waiting, with the results of
    /// their query string's earlier statements ([`lockwait`]).
    pub(crate) lock_waiters: Vec<(SessionId, Vec<StatementResult>)>,
    /// Walsenders already logged as synchronous standbys.
    pub(crate) announced_sync: BTreeSet<ConnId>,
    /// The archiver (archive_command) and the standby's restore_command.
    pub(crate) archiver: archive::Archiver,
    /// recovery_min_apply_delay holds replay before a commit until then.
    pub(crate) replay_delayed_until: Option<Timestamp>,
    /// Replay waits for queries that conflict with the record at this LSN.
    pub(crate) conflict_wait: Option<processes::ConflictWait>,
    /// Promotion replays what is left without waiting for conflicting queries.
    pub(crate) cancel_conflicts_at_once: bool,
    /// Sessions ended by `pg_terminate_backend()` or an idle timeout, with the FATAL their psql
    /// gets when it next sends a statement.
    pub(crate) terminated_sessions: BTreeMap<SessionId, DbError>,
    /// Idle sessions' timers (`idle_in_transaction_session_timeout`, `idle_session_timeout`).
    pub(crate) idle_timers: BTreeMap<SessionId, idle::IdleTimer>,
    /// The pg_hba.conf rules as the server read them at its last start or
    /// reload (edits to the file wait for the next one, as in PostgreSQL).
    pub(crate) hba: HbaFile,
    /// postgresql.conf changed since the settings last read it.
    conf_changed: bool,
    /// What the driver's copy of the data directory was last given ([`Node::take_durable_changes`]).
    pub(crate) durable: durable::DurableTracker,
}

impl Node {
    /// `initdb` and start. The system identifier comes from the caller (a seed), never a clock.
    pub fn initdb(
        name: &str,
        system_identifier: u64,
        segment_size: Option<SegmentSize>,
        now: Timestamp,
    ) -> Node {
        let db = Database::initdb(InitOptions {
            system_identifier,
            segment_size: segment_size.unwrap_or(DEFAULT_SEGMENT_SIZE),
            now,
        });
        let mut node = Node::with_database(name, 1, 5432, db, ConfigFiles::default());
        node.history_files.clear();
        node.state = RunState::Stopped;
        node.start(now).expect("a fresh cluster starts");
        node
    }

    pub(crate) fn with_database(
        name: &str,
        id: u32,
        port: u16,
        db: Database,
        files: ConfigFiles,
    ) -> Node {
        Node {
            name: name.to_string(),
            id,
            address: "127.0.0.1".into(),
            port,
            state: RunState::Stopped,
            db,
            files,
            history_files: BTreeMap::new(),
            history: TimelineHistory::first(),
            senders: BTreeMap::new(),
            incoming: BTreeMap::new(),
            receiver: None,
            outputs: VecDeque::new(),
            log: VecDeque::new(),
            next_conn: 1,
            next_pid: 1000 + (id as i32 % 1000) * 1000,
            last_replay_error: None,
            log_total: 0,
            waiters: BTreeMap::new(),
            released: BTreeMap::new(),
            lock_waiters: Vec::new(),
            announced_sync: BTreeSet::new(),
            archiver: archive::Archiver::default(),
            replay_delayed_until: None,
            conflict_wait: None,
            cancel_conflicts_at_once: false,
            terminated_sessions: BTreeMap::new(),
            idle_timers: BTreeMap::new(),
            hba: HbaFile::default(),
            conf_changed: true,
            durable: durable::DurableTracker::default(),
        }
    }

    /// Sets the cluster identity a driver gives: id, and port to listen on.
    pub fn place(&mut self, id: u32, port: u16) {
        self.id = id;
        self.port = port;
        self.next_pid = 10_000 + (id as i32 % 1000) * 100;
        self.files
            .postgresql_conf
            .push_str(&format!("port = {port}\n"));
        self.conf_changed = true;
    }

    /// Where the data directory is: the shell runs in the postgres user's
    /// home, and each node's data directory is the subdirectory named after it.
    pub fn data_directory(&self) -> String {
        format!("/var/lib/postgresql/{}", self.name)
    }

    pub(crate) fn push_log(&mut self, line: String) {
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(line);
        self.log_total += 1;
    }

    /// A line the driver writes into the server log, in order with the
    /// server's own: what happened to the server outside it (a link's
    /// connection broken by the network, a process replaced).
    pub fn log_from_driver(&mut self, line: String) {
        self.collect_engine_log();
        self.push_log(line);
    }

    /// Log lines written since the node's start of life (some may have left the ring).
    pub fn log_total(&mut self) -> u64 {
        self.collect_engine_log();
        self.log_total
    }

    fn collect_engine_log(&mut self) {
        let lines: Vec<String> = self.db.log_lines.drain(..).collect();
        lines.into_iter().for_each(|l| self.push_log(l));
    }

    /// What this node holds in memory that grows with use: WAL segments, commit logs,
    /// tuples, log lines and outputs not yet taken. For soaks and the browser's status.
    pub fn footprint(&self) -> NodeFootprint {
        NodeFootprint {
            wal: self.db.wal.footprint(),
            clog_bytes: self.db.data.clog.footprint() + self.db.disk_clog_footprint(),
            tuples: self
                .db
                .data
                .storage
                .relations
                .values()
                .map(|r| r.pages.iter().map(|p| p.tuple_count()).sum::<usize>())
                .sum(),
            log_lines: self.log.len(),
            outputs: self.outputs.len(),
        }
    }

    /// Server log lines, oldest first.
    pub fn log(&mut self) -> impl Iterator<Item = &String> {
        self.collect_engine_log();
        self.log.iter()
    }

    pub(crate) fn emit(&mut self, output: Output) {
        assert!(
            self.outputs.len() < OUTPUT_CAPACITY,
            "node {}: {OUTPUT_CAPACITY} outputs not drained by the driver",
            self.name
        );
        self.outputs.push_back(output);
    }

    /// The next thing for the driver to carry out.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    pub(crate) fn new_pid(&mut self) -> i32 {
        self.next_pid += 1;
        self.next_pid
    }

    pub fn is_running(&self) -> bool {
        self.state == RunState::Running
    }

    pub fn is_standby(&self) -> bool {
        self.db.in_recovery
    }

    /// A setting as the server has it, in its base unit.
    pub(crate) fn setting_i64(&self, id: Id) -> i64 {
        setting_i64(&self.db, id)
    }

    /// Hands `postgresql.conf` to the settings when it changed (values take
    /// effect at the next start or reload, as in PostgreSQL). Reading waits
    /// until the settings need the file, so appending lines costs no parse.
    fn read_conf(&mut self) {
        self.db.settings.data_directory = self.data_directory();
        if self.conf_changed {
            self.db.settings.load_conf(&self.files.postgresql_conf);
            self.conf_changed = false;
        }
    }

    /// Appends a line to `postgresql.conf`, `postgresql.auto.conf` or
    /// `pg_hba.conf` (as `echo ... >> FILE` would): like `echo`, it never
    /// fails for what the line says; the server judges the file at its next
    /// reload or start. It costs the line, not the file.
    pub fn append_config(&mut self, file: &str, line: &str) -> Result<(), String> {
        match file {
            "postgresql.conf" => {
                self.files.postgresql_conf.push_str(line);
                self.files.postgresql_conf.push('\n');
                self.conf_changed = true;
            }
            "postgresql.auto.conf" => self.db.settings.append_auto(line),
            "pg_hba.conf" => {
                self.files.pg_hba_conf.push_str(line);
                self.files.pg_hba_conf.push('\n');
            }
            other => {
                return Err(format!(
                "{other}: pgplay edits only postgresql.conf, postgresql.auto.conf and pg_hba.conf"
            ))
            }
        }
        Ok(())
    }

    /// Replaces a configuration file with `text` (an editor's save). Like
    /// editing the real file, it takes effect at the next reload or restart.
    /// A file PostgreSQL could not parse is refused with the parser's words.
    pub fn write_file(&mut self, file: &str, text: &str) -> Result<(), String> {
        match file {
            "postgresql.conf" => {
                pgplay_engine::guc::parse_conf(text).check(file)?;
                self.files.postgresql_conf = text.to_string();
                self.conf_changed = true;
            }
            "postgresql.auto.conf" => {
                let parsed = pgplay_engine::guc::parse_conf(text);
                parsed.check(file)?;
                self.db.settings.auto = parsed
                    .lines
                    .into_iter()
                    .map(|l| (l.name, l.value))
                    .collect();
                self.db.settings.auto_unparsed.clear();
            }
            "pg_hba.conf" => {
                pgplay_replication::HbaFile::parse(text)?;
                self.files.pg_hba_conf = text.to_string();
            }
            other => {
                return Err(format!(
                "{other}: pgplay edits only postgresql.conf, postgresql.auto.conf and pg_hba.conf"
            ))
            }
        }
        Ok(())
    }

    /// The text of a file in the data directory, as `cat` shows it.
    pub fn read_file(&self, path: &str) -> Option<String> {
        match path {
            "postgresql.conf" => Some(self.files.postgresql_conf.clone()),
            "postgresql.auto.conf" => Some(self.db.settings.auto_conf_text()),
            "pg_hba.conf" => Some(self.files.pg_hba_conf.clone()),
            "standby.signal" => self.files.standby_signal.then(String::new),
            _ => {
                let name = path.strip_prefix("pg_wal/")?;
                self.history_files
                    .iter()
                    .find(|(tli, _)| pgplay_wal::history_file_name(**tli) == name)
                    .map(|(_, text)| text.clone())
            }
        }
    }

    /// What `ls pg_wal` shows: segment files and history files.
    pub fn pg_wal_listing(&self) -> Vec<String> {
        let mut names = self.db.wal.segment_files();
        names.extend(
            self.history_files
                .keys()
                .map(|t| pgplay_wal::history_file_name(*t)),
        );
        names.sort();
        names
    }

    /// What `ls` of the data directory shows, as on PostgreSQL 15: the
    /// fixed layout, plus `backup_label` until a base backup is started,
    /// `standby.signal` when present and `postmaster.pid` while running.
    pub fn data_dir_listing(&self) -> Vec<String> {
        const LAYOUT: &[&str] = &[
            "PG_VERSION",
            "base",
            "global",
            "pg_commit_ts",
            "pg_dynshmem",
            "pg_hba.conf",
            "pg_ident.conf",
            "pg_logical",
            "pg_multixact",
            "pg_notify",
            "pg_replslot",
            "pg_serial",
            "pg_snapshots",
            "pg_stat",
            "pg_stat_tmp",
            "pg_subtrans",
            "pg_tblspc",
            "pg_twophase",
            "pg_wal",
            "pg_xact",
            "postgresql.auto.conf",
            "postgresql.conf",
        ];
        let mut names: Vec<String> = LAYOUT.iter().map(|s| s.to_string()).collect();
        let running = self.state == RunState::Running;
        if self.db.control.backup_start.is_some() && !running {
            names.push("backup_label".into());
        }
        if self.files.standby_signal {
            names.push("standby.signal".into());
        }
        if running {
            names.push("postmaster.pid".into());
        }
        // `ls` sorts in the C locale's byte order, as PostgreSQL's own tests see it.
        names.sort();
        names
    }

    /// `pg_ctl reload` / `SELECT pg_reload_conf()`.
    pub fn reload(&mut self, now: Timestamp) {
        self.read_conf();
        self.push_log("LOG:  received SIGHUP, reloading configuration files".into());
        let lines = self.db.settings.reload();
        lines.into_iter().for_each(|l| self.push_log(l));
        self.reload_hba();
        self.after_reload(now);
        // Emptying synchronous_standby_names releases every waiting backend.
        self.release_sync_waiters();
        if self.replay_delayed_until.is_some() {
            self.replay_received(now);
        }
    }

    /// A reload reads pg_hba.conf again; a file the server cannot use is
    /// reported and the rules in force stay.
    fn reload_hba(&mut self) {
        let path = format!("{}/pg_hba.conf", self.data_directory());
        match HbaFile::load(&self.files.pg_hba_conf, &path) {
            Ok(hba) => self.hba = hba,
            Err(lines) => {
                lines.into_iter().for_each(|l| self.push_log(l));
                self.push_log("LOG:  pg_hba.conf was not reloaded".into());
            }
        }
    }

    // ----- SQL -------------------------------------------------------------

    /// Runs SQL text for a session and returns the engine's results.
    pub fn execute(
        &mut self,
        now: Timestamp,
        session: SessionId,
        sql: &str,
    ) -> Vec<StatementResult> {
        if self.state != RunState::Running {
            return vec![StatementResult {
                outcome: Err(self.refused()),
                notices: Vec::new(),
            }];
        }
        if let Some(refused) = self
            .busy_error(session)
            .or_else(|| self.terminated_error(session))
        {
            return vec![refused];
        }
        if let Some(refused) = self.hot_standby_disabled() {
            return vec![refused];
        }
        self.read_conf();
        self.db.now = now;
        self.refresh_stats(now, pgplay_engine::activity::reads_processes(sql));
        let upstream = |db: &Database| {
            (
                db.settings.get("primary_conninfo"),
                db.settings.get("primary_slot_name"),
            )
        };
        let before = upstream(&self.db);
        let taken_before = self.db.interrupts.time_taken();
        let mut results = pgplay_engine::sql::execute(&mut self.db, session, sql);
        self.collect_engine_log();
        self.hold_for_lock(session, &mut results);
        if self.db.reload_requested {
            self.db.reload_requested = false;
            self.reload_hba();
            // A changed hot_standby_feedback reaches the upstream at once.
            self.send_standby_feedback(now);
        }
        if self.db.promote_requested {
            self.db.promote_requested = false;
            self.promote(now);
        }
        if upstream(&self.db) != before {
            // PostgreSQL 13+: a new primary_conninfo or primary_slot_name restarts the walreceiver.
            self.after_reload(now);
        }
        let results = self.hold_for_sync(session, results);
        // The statement may have ended a transaction others wait for.
        self.release_lock_waiters();
        // This statement's own time (its sleeps and, simulated, its work), whatever earlier
        // statements took that the driver has not let pass yet.
        let took = self.db.interrupts.time_taken() - taken_before;
        let ended = now.saturating_add(took);
        self.arm_idle_timer(session, ended);
        self.deliver_signals();
        let resumed = std::mem::take(&mut self.db.replay_resume_requested);
        if self.replay_delayed_until.is_some() || resumed {
            // recovery_min_apply_delay may have changed (pg_reload_conf()), or replay resumed.
            self.replay_received(now);
        }
        self.wal_writer_after_statement();
        self.pump(now);
        self.recycle_wal();
        results
    }

    /// A standby with `hot_standby = off` accepts no connection until it is
    /// promoted; PostgreSQL refuses each one with this FATAL, and logs it.
    fn hot_standby_disabled(&mut self) -> Option<StatementResult> {
        if !self.db.in_recovery || self.db.settings.value_of(setting!("hot_standby")) != "off" {
            return None;
        }
        let error = DbError::fatal(
            pgplay_engine::error::code::CANNOT_CONNECT_NOW,
            "the database system is not accepting connections",
        )
        .with_detail("Hot standby mode is disabled.");
        self.push_log(format!("FATAL:  {}", error.message));
        self.push_log("DETAIL:  Hot standby mode is disabled.".into());
        Some(StatementResult {
            outcome: Err(error),
            notices: Vec::new(),
        })
    }

    /// The error psql shows when the server is down.
    fn refused(&self) -> DbError {
        DbError {
            severity: "FATAL",
            ..DbError::new(
                "08006",
                format!(
                    "connection to server at \"{}\", port {} failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
                    self.address, self.port
                ),
            )
        }
    }

    // ----- pg_ctl ----------------------------------------------------------

    /// `pg_ctl start`. Errors are what pg_ctl and the server log say.
    pub fn start(&mut self, now: Timestamp) -> Result<String, String> {
        if self.state == RunState::Running {
            return Err(
                "pg_ctl: another server might be running; trying to start server anyway".into(),
            );
        }
        self.db.now = now;
        // A pause of replay does not outlive the server.
        self.db.replay_paused = false;
        self.read_conf();
        if let Err(lines) = self.db.settings.start() {
            return Err(self.failed_start(lines));
        }
        if let Err(error) = self.check_startup_settings() {
            return Err(self.failed_start(vec![error]));
        }
        self.db.reset_slots_at_start();
        self.push_log(format!("LOG:  starting {}", pgplay_engine::system::VERSION));
        self.push_log(format!(
            "LOG:  listening on IPv4 address \"{}\", port {}",
            self.address, self.port
        ));
        let path = format!("{}/pg_hba.conf", self.data_directory());
        match HbaFile::load(&self.files.pg_hba_conf, &path) {
            Ok(hba) => self.hba = hba,
            Err(mut lines) => {
                lines.push("FATAL:  could not load pg_hba.conf".into());
                lines.push("LOG:  database system is shut down".into());
                return Err(self.failed_start(lines));
            }
        }
        let standby = self.files.standby_signal;
        let lines = if standby {
            self.db.start_standby()
        } else {
            let was_standby = self.db.in_recovery;
            self.db.in_recovery = false;
            if was_standby && self.db.control.clean_shutdown() {
                self.db.control.state = pgplay_engine::ClusterState::ShutDownInRecovery;
            }
            self.db.recover()
        };
        let hot_standby = self.db.settings.value_of(setting!("hot_standby")) == "on";
        match lines {
            // Without hot standby, a standby never opens for read-only connections.
            Ok(lines) => lines
                .into_iter()
                .filter(|l| hot_standby || !l.contains("ready to accept read-only connections"))
                .for_each(|l| self.push_log(l)),
            Err(failure) => {
                self.startup_failed(now, &failure);
                return Err(format!(
                    "{}\npg_ctl: could not start server",
                    failure.log_line()
                ));
            }
        }
        self.history = self.current_history();
        self.db.settings.set_internal(
            "in_hot_standby",
            if standby { "on" } else { "off" }.to_string(),
        );
        self.state = RunState::Running;
        self.db.autovacuum_last = (!standby).then_some(now);
        self.start_archiver(true);
        if standby {
            self.start_receiver(now);
        } else if !self
            .log
            .back()
            .is_some_and(|l| l.contains("ready to accept connections"))
        {
            self.push_log("LOG:  database system is ready to accept connections".into());
        }
        Ok("waiting for server to start.... done\nserver started".into())
    }

    /// What the server refuses to start with, besides bad configuration files.
    fn check_startup_settings(&self) -> Result<(), String> {
        if self.db.settings.value_of(setting!("wal_level")) == "minimal"
            && self.setting_i64(setting!("max_wal_senders")) > 0
        {
            return Err("FATAL:  WAL streaming (max_wal_senders > 0) requires wal_level \"replica\" or \"logical\"".into());
        }
        Ok(())
    }

    /// A start that failed: the server's lines go to its log, and pg_ctl
    /// (without `-l`, the log is the terminal) prints them amid its own.
    fn failed_start(&mut self, lines: Vec<String>) -> String {
        lines.iter().for_each(|l| self.push_log(l.clone()));
        format!(
            "waiting for server to start....{}\n stopped waiting\npg_ctl: could not start server\nExamine the log output.",
            lines.join("\n")
        )
    }

    /// The history of the timeline the server is on.
    pub(crate) fn current_history(&self) -> TimelineHistory {
        let timeline = self.db.wal.timeline();
        self.history_files
            .get(&timeline)
            .and_then(|text| TimelineHistory::parse(timeline, text).ok())
            .unwrap_or(TimelineHistory {
                timeline,
                ancestors: Vec::new(),
            })
    }

    /// `pg_ctl stop -m MODE`.
    pub fn stop(&mut self, now: Timestamp, mode: StopMode) -> Result<String, String> {
        if self.state != RunState::Running {
            return Err("pg_ctl: PID file does not exist\nIs server running?".into());
        }
        self.db.now = now;
        let request = match mode {
            StopMode::Smart => "smart",
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        self.push_log(format!("LOG:  received {request} shutdown request"));
        self.end_all_waits(mode == StopMode::Immediate);
        self.clear_idle_timers();
        self.stop_receiver();
        match mode {
            StopMode::Immediate => {
                self.db.crash();
            }
            _ => {
                self.push_log("LOG:  aborting any active transactions".into());
                if self.db.in_recovery {
                    self.db.shutdown_standby();
                } else {
                    self.push_log("LOG:  shutting down".into());
                    self.db.shutdown();
                    // Walsenders send the shutdown checkpoint before they exit.
                    self.pump(now);
                    self.shutdown_senders();
                }
            }
        }
        self.close_all_connections();
        self.state = RunState::Stopped;
        self.push_log("LOG:  database system is shut down".into());
        Ok("waiting for server to shut down.... done\nserver stopped".into())
    }

    /// The server process dies (kill -9, power loss): unflushed WAL and
    /// unwritten pages are lost; `start` then runs crash recovery.
    pub fn crash(&mut self, now: Timestamp) {
        if self.state != RunState::Running {
            return;
        }
        self.go_down(now);
        self.push_log("LOG:  server process was terminated by signal 9: Killed".into());
    }

    /// Every process ends at once, nothing more is written: a crash, or
    /// the postmaster's answer to a failed startup process.
    pub(crate) fn go_down(&mut self, now: Timestamp) {
        self.db.now = now;
        self.receiver = None;
        self.end_all_waits(true);
        self.clear_idle_timers();
        self.db.crash();
        self.close_all_connections();
        self.state = RunState::Stopped;
    }

    /// Crash and restart with crash recovery; returns the log lines of the restart.
    pub fn crash_and_restart(&mut self, now: Timestamp) -> Vec<String> {
        self.crash(now);
        let before = self.log.len();
        let _ = self.start(now);
        self.log
            .iter()
            .skip(before.saturating_sub(1))
            .cloned()
            .collect()
    }

    /// `pg_ctl restart -m fast`.
    pub fn restart(&mut self, now: Timestamp) -> Result<String, String> {
        let stopped = if self.state == RunState::Running {
            self.stop(now, StopMode::Fast)?
        } else {
            "pg_ctl: PID file does not exist\nIs server running?\ntrying to start server anyway"
                .into()
        };
        let started = self.start(now)?;
        Ok(format!("{stopped}\n{started}"))
    }

    /// `pg_ctl promote`.
    pub fn pg_ctl_promote(&mut self, now: Timestamp) -> Result<String, String> {
        if self.state != RunState::Running {
            return Err("pg_ctl: PID file does not exist\nIs server running?".into());
        }
        if !self.db.in_recovery {
            return Err("pg_ctl: cannot promote server; server is not in standby mode".into());
        }
        self.promote(now);
        Ok("waiting for server to promote.... done\nserver promoted".into())
    }

    /// End of recovery: stop streaming, pick the next free timeline, write
    /// its history file and start writing on it.
    pub(crate) fn promote(&mut self, now: Timestamp) {
        self.db.now = now;
        self.push_log("LOG:  received promote request".into());
        self.stop_receiver();
        // Promotion applies everything received, whatever recovery_min_apply_delay says,
        // and ends a pause of replay.
        let was_paused = std::mem::take(&mut self.db.replay_paused);
        if self.replay_delayed_until.is_some() || self.conflict_wait.is_some() || was_paused {
            self.cancel_conflicts_at_once = true;
            self.replay_with_delay(now, 0);
            self.cancel_conflicts_at_once = false;
        }
        let redo_done = self.db.wal.last_record_lsn();
        self.push_log(format!("LOG:  redo done at {redo_done}"));
        if let Some(time) = self.db.last_replayed_commit {
            self.push_log(format!(
                "LOG:  last completed transaction was at log time {}+00",
                pgplay_wal::time::format_timestamp_micros(time)
            ));
        }
        let newest = self
            .history_files
            .keys()
            .copied()
            .chain([self.db.wal.timeline()])
            .max()
            .unwrap_or(TimeLineId(1));
        let timeline = TimeLineId(newest.0 + 1);
        self.push_log(format!("LOG:  selected new timeline ID: {}", timeline.0));
        let previous = self.current_history();
        match self.db.promote(timeline) {
            Ok(switchpoint) => {
                let history = previous.branch(timeline, switchpoint);
                self.history_files.insert(timeline, history.to_text());
                self.history = history;
                self.files.standby_signal = false;
                self.db
                    .settings
                    .set_internal("in_hot_standby", "off".to_string());
                self.push_log("LOG:  archive recovery complete".into());
                self.push_log("LOG:  database system is ready to accept connections".into());
                self.db.autovacuum_last = Some(now);
                // WAL received as a standby counts as archived (`.done`); new
                // segments of the new timeline are archived from here.
                self.start_archiver(false);
            }
            Err(error) => self.push_log(format!("ERROR:  {}", error.message)),
        }
    }

    /// One line per node for the simulator's trace and the UI.
    pub fn status(&self) -> Status {
        let role = if self.state != RunState::Running {
            "stopped"
        } else if !self.db.in_recovery {
            "primary"
        } else if self.senders.values().any(|s| s.is_streaming()) {
            "cascading standby"
        } else {
            "standby"
        };
        Status {
            role,
            state: self.state,
            timeline: self.db.wal.timeline(),
            write: self.db.wal.insert_lsn(),
            flush: self.db.wal.flush_lsn(),
            replay: self.db.in_recovery.then_some(self.db.replayed_upto),
            receiver: self.receiver.as_ref().map(|r| r.status().name()),
        }
    }

    pub fn status_line(&self) -> String {
        let s = self.status();
        let replay = s
            .replay
            .map(|l| l.to_string())
            .unwrap_or_else(|| "-".into());
        let receiver = s
            .receiver
            .map(|r| format!(" receiver {r}"))
            .unwrap_or_default();
        format!(
            "{:<10} {:<17} tli {} write {} flush {} replay {}{}",
            self.name, s.role, s.timeline.0, s.write, s.flush, replay, receiver
        )
    }
}

/// A setting as the server `db` has it, in its base unit.
pub(crate) fn setting_i64(db: &Database, id: Id) -> i64 {
    db.settings.integer(id)
}
