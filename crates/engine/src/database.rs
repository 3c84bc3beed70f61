//! One server's data and sessions: transactions, the WAL-first write path,
//! checkpoints, crash recovery and (for standbys) replay of received WAL.
//!
//! Every change follows one path: build a WAL record, insert it into the log,
//! then apply it with [`redo::apply`]. Commit writes a commit record and
//! flushes the log; a crash throws away what was not flushed, restores the
//! data as the last checkpoint saved it, and replays the log from the
//! checkpoint's redo pointer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc as Rc;

use pgplay_wal::time::Timestamp;
use pgplay_wal::{
    Checkpoint, Lsn, Record, RecordBody, SegmentSize, StandbyRecord, TimeLineId, TransactionRecord,
    WalLog, Xid, XlogRecord,
};

use crate::catalog::{Catalog, FIRST_NORMAL_OID};
use crate::error::{code, DbError, Result};
use crate::guc::Settings;
use crate::mvcc::{Snapshot, XactStatus, FIRST_NORMAL_XID};
use crate::recovery::ReplayFailure;
use crate::redo::{self, DataState};

pub type SessionId = u32;

/// A result column: its name and type OID (psql aligns numbers by it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    pub type_oid: u32,
}

/// What a statement returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Rows (from SELECT, SHOW, or RETURNING) and the command tag.
    Rows {
        columns: Vec<ColumnInfo>,
        rows: Vec<Vec<Option<String>>>,
        tag: String,
    },
    Command {
        tag: String,
    },
}

impl Outcome {
    pub fn tag(&self) -> &str {
        match self {
            Outcome::Rows { tag, .. } | Outcome::Command { tag } => tag,
        }
    }
}

/// One statement's result with the notices and warnings it raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementResult {
    pub outcome: Result<Outcome>,
    pub notices: Vec<DbError>,
}

pub use crate::xact::Xact;

#[derive(Clone, Debug, Default)]
pub struct Session {
    pub xact: Option<Xact>,
    /// Session-level SET values, by canonical name.
    pub settings: BTreeMap<&'static str, String>,
    /// Values returned by nextval in this session, for currval.
    pub sequence_values: BTreeMap<String, i64>,
    /// For `pg_stat_activity`: when the session connected, and its last
    /// (or current) query and when that started.
    pub backend_start: Timestamp,
    pub last_query: String,
    pub query_start: Option<Timestamp>,
    /// Temporary files the session created, PostgreSQL's `tempFileCounter` (the N of
    /// `pgsql_tmpPID.N`).
    pub temp_file_counter: u32,
    /// The lock this session's statement waits for ([`crate::lock`]), and the statements of
    /// its query string still to run, the waiting one first.
    pub lock_wait: Option<crate::lock::LockWait>,
    pub(crate) pending: Vec<crate::sql::Parsed>,
    /// Table locks held until the transaction ends ([`crate::lock::relation`]).
    pub relation_locks: Vec<crate::lock::HeldLock>,
    /// The session's place in a relation lock queue, kept while its statement waits and
    /// runs again.
    pub queue_seq: Option<u64>,
    /// The local part of the virtual transaction id (`backend/local`), counted per
    /// transaction.
    pub local_xid: u32,
}

/// `pg_cancel_backend()` / `pg_terminate_backend()` of another process, for
/// the node to carry out after the statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Cancel(i32),
    Terminate(i32),
}

/// The `pg_stat_activity` pid of a client session (also `pg_backend_pid()`).
pub fn session_pid(session: SessionId) -> i32 {
    session as i32 + 1000
}

/// The virtual transaction id of the session's transaction, `pg_locks`' `virtualxid`.
pub fn virtual_xid(session: SessionId, state: &Session) -> String {
    format!("{}/{}", session + 3, state.local_xid)
}

/// pg_control: where recovery starts and how the server last stopped.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ControlFile {
    pub system_identifier: u64,
    pub checkpoint: Lsn,
    pub redo: Lsn,
    pub timeline: TimeLineId,
    pub state: ClusterState,
    /// When `state` last changed (a checkpoint, a restartpoint, a stop).
    pub time: Timestamp,
    /// Set in a base backup's copy: replay must reach this backup's end
    /// before the copy is consistent.
    pub backup_start: Option<Lsn>,
}

/// `pg_control`'s "Database cluster state".
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ClusterState {
    ShutDown,
    ShutDownInRecovery,
    InArchiveRecovery,
    InProduction,
}

impl ControlFile {
    pub fn clean_shutdown(&self) -> bool {
        self.state == ClusterState::ShutDown
    }
}

/// Options for `initdb`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    pub system_identifier: u64,
    pub segment_size: SegmentSize,
    pub now: Timestamp,
}

pub struct Database {
    pub settings: Settings,
    pub wal: WalLog,
    pub data: DataState,
    /// Data as the last checkpoint wrote it: what a crash falls back to.
    pub(crate) disk: DataState,
    /// Counts the times `disk` was written (checkpoints, restartpoints), so
    /// a copy of the data directory knows when to take it again.
    pub(crate) disk_generation: u64,
    pub control: ControlFile,
    pub sessions: BTreeMap<SessionId, Session>,
    next_session: SessionId,
    pub(crate) catalog_cache: Option<(u64, Rc<Catalog>)>,
    /// A standby (or a server in crash recovery) replays WAL and refuses writes.
    pub in_recovery: bool,
    /// Set by the caller before each call; the engine never reads a clock.
    pub now: Timestamp,
    /// OIDs below this are covered by a logged NEXTOID record.
    pub(crate) oid_logged_limit: u32,
    /// Server log lines not yet collected by the node.
    pub log_lines: Vec<String>,
    /// Last replayed commit's timestamp (standby).
    pub last_replayed_commit: Option<Timestamp>,
    /// Lsn of the end of the last record replayed (standby) or written.
    pub replayed_upto: Lsn,
    /// Replication statistics, filled in by the node.
    pub stats: crate::stats::ReplicationStats,
    /// `pg_promote()` was called; the node carries it out after the statement.
    pub promote_requested: bool,
    /// `pg_reload_conf()` ran: the node reads the files it keeps (pg_hba.conf).
    pub reload_requested: bool,
    /// `pg_wal_replay_pause()` on a standby: WAL keeps arriving, none is replayed until
    /// `pg_wal_replay_resume()`, a promotion or a restart ([`crate::system::replay_control`]).
    pub replay_paused: bool,
    /// `pg_wal_replay_resume()` ran: the node replays what arrived meanwhile after the statement.
    pub replay_resume_requested: bool,
    /// Set by the statement that must wait for a row lock, taken by `sql::execute`.
    pub(crate) lock_request: Option<crate::lock::LockWait>,
    /// Counts the lock waits begun, for their order ([`crate::lock::LockWait::seq`]).
    pub(crate) lock_seq: u64,
    /// Row locks of `SELECT ... FOR UPDATE/SHARE` by (table OID, tuple), held until their
    /// transactions end ([`crate::sql::row_lock`]).
    pub row_locks: BTreeMap<(u32, crate::heap::ItemPointer), Vec<crate::sql::row_lock::RowLock>>,
    /// `CHECK_FOR_INTERRUPTS()`: the running statement's work, sleeps and timeout, and the
    /// host's clock and cancel requests ([`crate::interrupt`]).
    pub interrupts: crate::interrupt::Interrupts,
    /// Commits that must wait for synchronous standbys, for the node to
    /// hold ([`Database::take_sync_waits`]).
    pub sync_waits: Vec<SyncWait>,
    /// Committed transactions whose backends still wait for a synchronous
    /// standby: like PostgreSQL's backends still in the ProcArray, they stay
    /// in progress for every other snapshot until released.
    pub sync_held: BTreeSet<Xid>,
    /// The subtransactions of the commits in `sync_held`, held with them.
    pub(crate) sync_held_subxacts: BTreeMap<Xid, Vec<Xid>>,
    /// Physical replication slots (`pg_replslot/`), by name.
    pub slots: BTreeMap<String, crate::slots::ReplicationSlot>,
    /// Signals to other processes, carried out by the node after the statement.
    pub signals: Vec<Signal>,
    /// Notices a function raised (`WARNING:  PID ... is not a PostgreSQL
    /// backend process`), added to the statement's result.
    pub pending_notices: Vec<DbError>,
    /// Commit and abort records left for the WAL writer to flush.
    pub(crate) unflushed_xacts: UnflushedXacts,
    /// VACUUM and ANALYZE by table OID, for `pg_stat_user_tables`.
    pub table_stats: BTreeMap<u32, crate::vacuum::TableStats>,
    /// When the autovacuum launcher last started a round (or the server
    /// became a primary); the next is `autovacuum_naptime` later. Set by the node.
    pub autovacuum_last: Option<pgplay_wal::time::Timestamp>,
    /// The xmins standbys report with `hot_standby_feedback` (by walsender
    /// pid), which hold back VACUUM here; set by the node.
    pub feedback_xmins: BTreeMap<i32, Xid>,
    /// Queries a standby cancelled for replay, for `pg_stat_database_conflicts`.
    pub recovery_conflicts: crate::vacuum::ConflictCounts,
    /// What the executor nodes hold in memory and in temporary files ([`crate::workmem`]).
    pub temp_space: crate::workmem::Shared,
    /// Temporary files deleted and their bytes, for `pg_stat_database`.
    pub temp_files: i64,
    pub temp_bytes: i64,
    /// The state of the generator `gen_random_uuid()` draws from ([`Database::random_bits`]).
    pub(crate) random_state: u64,
}

/// Transaction ends not flushed at once, PostgreSQL's `asyncXactLSN`: a
/// commit under `synchronous_commit = off`, or any abort (PostgreSQL never
/// waits for an abort record). The node's WAL writer flushes them within
/// `wal_writer_delay` of `since`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnflushedXacts {
    /// The end of the newest such record.
    pub end: Lsn,
    /// When the oldest one not flushed yet was written.
    pub since: Timestamp,
}

/// A commit whose acknowledgement waits for synchronous replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncWait {
    pub session: SessionId,
    pub xid: Xid,
    /// The end of the commit record: what the standbys must confirm.
    pub lsn: Lsn,
    pub wait_for: pgplay_replication::syncrep::WaitFor,
}

const OID_PREFETCH: u32 = 8192;

impl Database {
    /// `initdb`: an empty cluster whose log starts in segment 1 with a shutdown checkpoint.
    pub fn initdb(options: InitOptions) -> Database {
        let start = options.segment_size.segment_start(1);
        let wal = WalLog::new(
            options.segment_size,
            options.system_identifier,
            TimeLineId(1),
            start,
        );
        let data = DataState {
            next_xid: 730,
            next_oid: FIRST_NORMAL_OID,
            ..DataState::default()
        };
        let mut settings = Settings::new();
        settings.set_internal(
            "wal_segment_size",
            (options.segment_size.bytes() / 1024).to_string(),
        );
        let mut database = Database {
            settings,
            wal,
            disk: data.clone(),
            disk_generation: 0,
            data,
            control: ControlFile {
                system_identifier: options.system_identifier,
                checkpoint: Lsn::INVALID,
                redo: start,
                timeline: TimeLineId(1),
                state: ClusterState::ShutDown,
                time: options.now,
                backup_start: None,
            },
            sessions: BTreeMap::new(),
            next_session: 1,
            catalog_cache: None,
            in_recovery: false,
            now: options.now,
            oid_logged_limit: FIRST_NORMAL_OID,
            log_lines: Vec::new(),
            last_replayed_commit: None,
            replayed_upto: start,
            stats: Default::default(),
            promote_requested: false,
            reload_requested: false,
            replay_paused: false,
            replay_resume_requested: false,
            lock_request: None,
            lock_seq: 0,
            row_locks: BTreeMap::new(),
            interrupts: Default::default(),
            sync_waits: Vec::new(),
            sync_held: BTreeSet::new(),
            sync_held_subxacts: BTreeMap::new(),
            slots: BTreeMap::new(),
            signals: Vec::new(),
            pending_notices: Vec::new(),
            unflushed_xacts: UnflushedXacts::default(),
            table_stats: BTreeMap::new(),
            autovacuum_last: None,
            feedback_xmins: BTreeMap::new(),
            recovery_conflicts: Default::default(),
            temp_space: Default::default(),
            temp_files: 0,
            temp_bytes: 0,
            random_state: options.system_identifier,
        };
        for system in crate::catalog::system_tables() {
            database
                .data
                .storage
                .relations
                .entry(system.locator)
                .or_default();
        }
        database.disk = database.data.clone();
        database.checkpoint(true);
        database
    }

    pub fn open_session(&mut self) -> SessionId {
        let id = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            id,
            Session {
                backend_start: self.now,
                ..Session::default()
            },
        );
        id
    }

    pub fn close_session(&mut self, session: SessionId) {
        if self
            .sessions
            .get(&session)
            .and_then(|s| s.xact.as_ref())
            .is_some()
        {
            self.abort(session);
        }
        self.sessions.remove(&session);
        self.slots
            .retain(|_, slot| slot.temporary_owner != Some(session));
    }

    pub fn session(&self, session: SessionId) -> Option<&Session> {
        self.sessions.get(&session)
    }

    pub(crate) fn session_mut(&mut self, session: SessionId) -> &mut Session {
        self.sessions.entry(session).or_default()
    }

    /// A setting as this session sees it (the transaction's own for
    /// `transaction_isolation` and `transaction_read_only`).
    pub fn setting(&self, session: SessionId, name: &str) -> String {
        let canonical = crate::guc::definition(name).map(|d| d.name).unwrap_or("");
        match canonical {
            "transaction_isolation" => return self.isolation(session).name().to_string(),
            "transaction_read_only" => {
                let read_only = self.transaction_read_only(session);
                return if read_only { "on" } else { "off" }.to_string();
            }
            _ => {}
        }
        self.sessions
            .get(&session)
            .and_then(|s| s.settings.get(canonical).cloned())
            .unwrap_or_else(|| self.settings.get(name))
    }

    // ----- the write path -------------------------------------------------

    /// Inserts a record and applies it. Returns where it starts. A change to an unlogged
    /// relation is only applied: it never reaches the WAL, so standbys and crash recovery
    /// do not see it (the returned position is where the WAL stands).
    pub(crate) fn log(&mut self, xid: Xid, body: RecordBody) -> Result<Lsn> {
        let record = Record {
            xid,
            prev: Lsn::INVALID,
            body,
        };
        let unlogged = record
            .body
            .data_relation()
            .is_some_and(|relation| self.data.storage.unlogged.contains(&relation));
        if unlogged {
            let storage = &mut self.data.storage;
            let fake = Lsn((storage.unlogged_lsn.0 + 1).max(self.wal.insert_lsn().0));
            storage.unlogged_lsn = fake;
            redo::apply(&mut self.data, fake, &record)?;
            return Ok(self.wal.insert_lsn());
        }
        let (lsn, end) = self.wal.insert(record.clone());
        redo::apply(&mut self.data, lsn, &record)?;
        self.replayed_upto = end;
        Ok(lsn)
    }

    pub(crate) fn new_oid(&mut self) -> Result<u32> {
        let oid = self.data.next_oid.max(FIRST_NORMAL_OID);
        if oid >= self.oid_logged_limit {
            self.oid_logged_limit = oid + OID_PREFETCH;
            self.log(
                0,
                RecordBody::Xlog(XlogRecord::NextOid(self.oid_logged_limit)),
            )?;
        }
        self.data.next_oid = oid + 1;
        Ok(oid)
    }

    /// A new snapshot for `session`: what is committed now (see
    /// [`Database::statement_snapshot`] for the one a statement reads through).
    pub fn snapshot(&self, session: SessionId) -> Snapshot {
        let own = self.own(session);
        let mut in_progress = self.data.running.clone();
        for xid in &self.sync_held {
            in_progress.insert(*xid);
            if let Some(subxacts) = self.sync_held_subxacts.get(xid) {
                in_progress.extend(subxacts.iter().copied());
            }
        }
        if let Some(own) = &own {
            in_progress.retain(|xid| !own.xids.contains(xid));
        }
        Snapshot {
            xmax: self.data.next_xid,
            in_progress,
            own,
        }
    }

    /// The catalog as `session` sees it now.
    pub fn catalog(&mut self, session: SessionId) -> Result<Rc<Catalog>> {
        let xact = self.sessions.get(&session).and_then(|s| s.xact.as_ref());
        if let Some(xact) = xact.filter(|x| x.catalog_changed) {
            return Ok(Rc::new(Catalog::load(
                &self.data.storage,
                &self.data.clog,
                &xact.own_xids(),
            )?));
        }
        self.committed_catalog()
    }

    /// The catalog as committed now (no session's own changes).
    pub fn committed_catalog(&mut self) -> Result<Rc<Catalog>> {
        let generation = self.data.catalog_generation;
        if let Some((cached, catalog)) = &self.catalog_cache {
            if *cached == generation {
                return Ok(catalog.clone());
            }
        }
        let catalog = Rc::new(Catalog::load(
            &self.data.storage,
            &self.data.clog,
            &BTreeSet::new(),
        )?);
        self.catalog_cache = Some((generation, catalog.clone()));
        Ok(catalog)
    }

    /// Refuses a write in a read-only transaction (on a server in recovery
    /// every transaction is), naming the command as PostgreSQL does.
    pub(crate) fn check_writable(&self, session: SessionId, command: &str) -> Result<()> {
        if self.transaction_read_only(session) {
            return Err(DbError::new(
                code::READ_ONLY_SQL_TRANSACTION,
                format!("cannot execute {command} in a read-only transaction"),
            ));
        }
        Ok(())
    }

    // ----- transaction end ------------------------------------------------

    /// Commits the session's transaction: a commit record, flushed, when it wrote anything.
    pub fn commit(&mut self, session: SessionId) -> Result<Option<Lsn>> {
        // Read before SET LOCAL is undone: `SET LOCAL synchronous_commit`
        // decides how this very commit waits.
        let synchronous_commit = self.setting(session, "synchronous_commit");
        self.release_relation_locks(session);
        let Some(mut xact) = self.session_mut(session).xact.take() else {
            return Ok(None);
        };
        xact.release_all();
        if let Some(before) = &xact.settings_before {
            let settings = &mut self.session_mut(session).settings;
            for name in &xact.local_settings {
                match before.get(name) {
                    Some(value) => settings.insert(name, value.clone()),
                    None => settings.remove(name),
                };
            }
        }
        let Some(xid) = xact.xid else { return Ok(None) };
        let body = RecordBody::Transaction(TransactionRecord::Commit {
            time: self.now,
            dropped: xact.dropped.clone(),
            subxacts: xact.subxacts.clone(),
        });
        let lsn = self.log(xid, body)?;
        let end = self.wal.insert_lsn();
        if synchronous_commit == "off" {
            self.leave_for_wal_writer(end);
        } else {
            self.wal.flush(end);
        }
        if self.request_sync_wait(session, xid, end, &synchronous_commit) {
            self.sync_held_subxacts
                .retain(|top, _| self.sync_held.contains(top));
            if !xact.subxacts.is_empty() {
                self.sync_held_subxacts.insert(xid, xact.subxacts.clone());
            }
        }
        Ok(Some(lsn))
    }

    /// Under synchronous replication, holds the commit back from other
    /// snapshots and asks the node to wait for the standbys. True when it does.
    fn request_sync_wait(&mut self, session: SessionId, xid: Xid, end: Lsn, level: &str) -> bool {
        let Some(wait_for) = pgplay_replication::syncrep::WaitFor::from_setting(level) else {
            return false;
        };
        let names = self.settings.get("synchronous_standby_names");
        if self.in_recovery || !matches!(pgplay_replication::syncrep::parse(&names), Ok(Some(_))) {
            return false;
        }
        self.sync_held.insert(xid);
        self.sync_waits.push(SyncWait {
            session,
            xid,
            lsn: end,
            wait_for,
        });
        true
    }

    /// Records a transaction end that the WAL writer, not the backend, flushes.
    pub(crate) fn leave_for_wal_writer(&mut self, end: Lsn) {
        if self.unflushed_xacts_since().is_none() {
            self.unflushed_xacts.since = self.now;
        }
        self.unflushed_xacts.end = end;
    }

    /// When the oldest commit or abort record still unflushed was written,
    /// if there is one: the WAL writer's deadline runs from there.
    pub fn unflushed_xacts_since(&self) -> Option<Timestamp> {
        let flushed = self.wal.flush_lsn();
        (self.unflushed_xacts.end > flushed && self.wal.insert_lsn() > flushed)
            .then_some(self.unflushed_xacts.since)
    }

    /// The commits that wait for synchronous standbys since the last call.
    pub fn take_sync_waits(&mut self) -> Vec<SyncWait> {
        std::mem::take(&mut self.sync_waits)
    }

    /// Rolls back: an abort record for each open savepoint with an xid
    /// (innermost first), then one for the transaction, naming the
    /// subtransactions released into it, when it had an xid.
    pub fn abort(&mut self, session: SessionId) {
        self.release_relation_locks(session);
        if self
            .session(session)
            .and_then(|s| s.xact.as_ref())
            .is_none()
        {
            return;
        }
        self.abort_savepoints(session);
        let Some(xact) = self.session_mut(session).xact.take() else {
            return;
        };
        if let Some(before) = xact.settings_before.clone() {
            self.session_mut(session).settings = before;
        }
        if let Some(xid) = xact.xid {
            self.log_abort(xid, xact.subxacts, xact.created);
        }
    }

    // ----- checkpoints, shutdown, crash -------------------------------------

    /// Writes a checkpoint: running transactions, then the checkpoint record,
    /// flushed; the data as of the redo pointer becomes what a crash restores.
    pub fn checkpoint(&mut self, shutdown: bool) -> Lsn {
        let redo = self.wal.next_record_start(self.wal.insert_lsn());
        self.wal.flush(self.wal.insert_lsn());
        self.data.truncate_clog(Xid::MAX);
        self.save_data_to_disk();
        let subxids = self.running_subxids();
        let (subxids, xids): (Vec<Xid>, Vec<Xid>) = self
            .data
            .running
            .iter()
            .partition(|xid| subxids.contains(xid));
        let oldest = xids.first().copied().unwrap_or(self.data.next_xid);
        let running = StandbyRecord::RunningXacts {
            next_xid: self.data.next_xid,
            latest_completed_xid: self.data.next_xid.saturating_sub(1),
            oldest_running_xid: oldest,
            xids,
            subxids,
        };
        if !shutdown {
            let _ = self.log(0, RecordBody::Standby(running));
        }
        let checkpoint = Checkpoint {
            redo,
            timeline: self.wal.timeline(),
            prev_timeline: self.wal.timeline(),
            full_page_writes: true,
            next_xid: self.data.next_xid,
            next_oid: self.oid_logged_limit.max(self.data.next_oid),
            oldest_xid: FIRST_NORMAL_XID + 713,
            oldest_active_xid: oldest,
            time: self.now,
        };
        let body = if shutdown {
            XlogRecord::CheckpointShutdown(checkpoint)
        } else {
            XlogRecord::CheckpointOnline(checkpoint)
        };
        let lsn = self
            .log(0, RecordBody::Xlog(body))
            .expect("checkpoint records always apply");
        self.wal.flush(self.wal.insert_lsn());
        self.control.checkpoint = lsn;
        self.control.redo = redo;
        self.control.state = if shutdown {
            ClusterState::ShutDown
        } else {
            ClusterState::InProduction
        };
        self.control.time = self.now;
        lsn
    }

    /// The xids of the open transactions' subtransactions.
    fn running_subxids(&self) -> BTreeSet<Xid> {
        let mut subxids = BTreeSet::new();
        for xact in self.sessions.values().filter_map(|s| s.xact.as_ref()) {
            let mut own = xact.own_xids();
            if let Some(top) = xact.xid {
                own.remove(&top);
            }
            subxids.append(&mut own);
        }
        subxids
    }

    /// A clean stop: sessions end, a shutdown checkpoint is written.
    pub fn shutdown(&mut self) {
        let sessions: Vec<SessionId> = self.sessions.keys().copied().collect();
        sessions.into_iter().for_each(|s| self.close_session(s));
        self.checkpoint(true);
    }

    /// Power loss: unflushed WAL and all pages since the last checkpoint are
    /// gone. Call [`Database::recover`] to start again.
    pub fn crash(&mut self) {
        self.sessions.clear();
        self.wal.lose_unflushed();
        self.unflushed_xacts = UnflushedXacts::default();
        self.data = self.disk.clone();
        self.catalog_cache = None;
    }

    /// Crash recovery: replay from the last checkpoint's redo pointer to the
    /// end of the flushed log. Returns log lines PostgreSQL would print.
    pub fn recover(&mut self) -> std::result::Result<Vec<String>, ReplayFailure> {
        let mut lines = Vec::new();
        let time = pgplay_wal::time::format_timestamp_seconds(self.control.time);
        if self.control.clean_shutdown() {
            lines.push(format!("LOG:  database system was shut down at {time} UTC"));
            self.wal.recover_end(self.control.redo);
            self.control.state = ClusterState::InProduction;
            return Ok(lines);
        }
        lines.push(match self.control.state {
            ClusterState::ShutDownInRecovery => {
                format!("LOG:  database system was shut down in recovery at {time} UTC")
            }
            ClusterState::InArchiveRecovery => format!(
                "LOG:  database system was interrupted while in recovery at log time {time} UTC"
            ),
            _ => format!("LOG:  database system was interrupted; last known up at {time} UTC"),
        });
        lines.push(
            "LOG:  database system was not properly shut down; automatic recovery in progress"
                .to_string(),
        );
        let redo = self.control.redo;
        let end = self.wal.recover_end(redo);
        lines.push(format!("LOG:  redo starts at {}", redo));
        self.replayed_upto = redo;
        let run = self.replay_wal(|_| false)?;
        lines.extend(run.stop_line());
        if let Some(last) = run.last {
            lines.push(format!(
                "LOG:  redo done at {} ({} records)",
                last, run.replayed
            ));
        }
        self.data.catalog_writers.clear();
        let unfinished: Vec<Xid> = std::mem::take(&mut self.data.running).into_iter().collect();
        for xid in unfinished {
            self.data.clog.set(xid, XactStatus::Aborted);
        }
        self.data.catalog_generation += 1;
        self.oid_logged_limit = self.data.next_oid;
        self.replayed_upto = end;
        self.reset_unlogged_relations();
        self.checkpoint(true);
        self.control.state = ClusterState::InProduction;
        lines.push("LOG:  database system is ready to accept connections".to_string());
        Ok(lines)
    }

    /// The simulated time the statements since the last call took, in microseconds: what
    /// `pg_sleep()` asked for and, under a simulated clock, their work. The driver lets it pass.
    pub fn take_time_taken(&mut self) -> i64 {
        self.interrupts.take_time_taken()
    }

    /// The data as the last checkpoint or restartpoint wrote it: what a crash falls back to.
    pub fn checkpoint_data(&self) -> &DataState {
        &self.disk
    }

    /// Changes each time [`Database::checkpoint_data`] is written again.
    pub fn checkpoint_data_generation(&self) -> u64 {
        self.disk_generation
    }

    /// A checkpoint or restartpoint writes every page: the data now is what a crash restores.
    pub(crate) fn save_data_to_disk(&mut self) {
        self.disk = self.data.clone();
        self.disk_generation += 1;
    }

    /// Bytes of the commit log as the last checkpoint saved it.
    pub fn disk_clog_footprint(&self) -> usize {
        self.disk.clog.footprint()
    }

    /// Running transactions (for views and RUNNING_XACTS).
    /// What standbys and slots ask VACUUM to keep: feedback xmins and
    /// slots' xmin.
    pub fn replication_xmins(&self) -> impl Iterator<Item = Xid> + '_ {
        self.feedback_xmins
            .values()
            .copied()
            .chain(self.slots.values().filter_map(|slot| slot.xmin))
            .filter(|xid| *xid != 0)
    }

    pub fn running_xids(&self) -> &BTreeSet<Xid> {
        &self.data.running
    }
}

impl Database {
    /// 64 pseudo-random bits for `gen_random_uuid()` and `random()`. The core draws no randomness of its own:
    /// a SplitMix64 sequence seeded by the system identifier, mixed with the WAL insert
    /// position and the time, so a restarted or promoted server does not repeat the values
    /// its upstream drew.
    pub(crate) fn random_bits(&mut self) -> u64 {
        let salt = self.wal.insert_lsn().0 ^ (self.now as u64).rotate_left(32);
        self.random_state = self
            .random_state
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(salt.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let mut z = self.random_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
