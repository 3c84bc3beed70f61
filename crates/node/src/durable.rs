//! A server's data directory as it stands after a crash, kept outside the
//! server: what a driver whose server can die with its memory (a browser
//! worker) holds so that the server restarts with crash recovery instead of
//! starting over.
//!
//! A crash keeps what PostgreSQL keeps on disk: `pg_control`, the data as
//! the last checkpoint (or restartpoint) wrote it, the flushed WAL, the
//! timeline history files, the configuration files and `standby.signal`,
//! and the replication slots. [`Node::take_durable_changes`] hands the
//! driver what changed since it last asked: the WAL flushed since, the
//! small files when they changed, and the data image only after a
//! checkpoint or restartpoint wrote a new one. [`DurableCopy`] puts the
//! changes together and drops the WAL segments the server removed, so the
//! copy is as large as the server's own `pg_wal` plus one data image.
//! [`Node::from_durable`] makes a stopped server of the copy; its `start`
//! runs crash recovery, as after [`Node::crash`].

use std::collections::BTreeMap;

use pgplay_engine::guc::Settings;
use pgplay_engine::redo::DataState;
use pgplay_engine::slots::ReplicationSlot;
use pgplay_engine::{BaseBackup, ControlFile, Database};
use pgplay_wal::time::Timestamp;
use pgplay_wal::{Lsn, SegmentSize, TimeLineId, WalLog, WalPiece};
use serde::{Deserialize, Serialize};

use crate::{ConfigFiles, Node, RunState};

/// The small files of the data directory (everything but the data pages
/// and `pg_wal/` segments), sent whole when any of them changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryFiles {
    pub name: String,
    pub port: u16,
    pub files: ConfigFiles,
    /// `postgresql.auto.conf`.
    pub auto_conf: pgplay_engine::guc::AutoConf,
    /// `pg_wal/*.history`.
    pub history_files: BTreeMap<TimeLineId, String>,
    /// `global/pg_control`.
    pub control: ControlFile,
    /// `pg_replslot/`: the persistent slots.
    pub slots: Vec<SlotFile>,
    /// `postmaster.pid` is there: the server was running.
    pub postmaster_pid: bool,
    pub segment_size: SegmentSize,
    /// The timeline new WAL pages are written on.
    pub wal_timeline: TimeLineId,
}

/// One slot's file in `pg_replslot/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotFile {
    pub name: String,
    pub restart_lsn: Option<Lsn>,
    pub invalidated: bool,
}

impl SlotFile {
    fn is(&self, slot: &ReplicationSlot) -> bool {
        self.name == slot.name
            && self.restart_lsn == slot.restart_lsn
            && self.invalidated == slot.invalidated
    }

    fn of(slot: &ReplicationSlot) -> SlotFile {
        SlotFile {
            name: slot.name.clone(),
            restart_lsn: slot.restart_lsn,
            invalidated: slot.invalidated,
        }
    }
}

/// What changed in a data directory since the driver last asked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurableChanges {
    /// The small files, when one changed.
    pub files: Option<DirectoryFiles>,
    /// The data as the last checkpoint or restartpoint wrote it
    /// (postcard-encoded [`DataState`]), when a new one was written. A
    /// driver keeps the bytes as they are; only [`Node::from_durable`] reads them.
    #[serde(with = "pgplay_wal::bytes::option")]
    pub data: Option<Vec<u8>>,
    /// WAL flushed since (or rewritten since: a new timeline, a standby's overwritten tail).
    pub wal: Vec<WalPiece>,
    /// The flush position: the copy's WAL ends here.
    pub flushed: Lsn,
    /// The segments `pg_wal/` holds, when that changed: the copy drops the others.
    pub segments: Option<Vec<u64>>,
}

impl DurableChanges {
    /// Bytes this carries (WAL and data image), to measure what a driver posts.
    pub fn payload_bytes(&self) -> usize {
        self.wal.iter().map(|p| p.bytes.len()).sum::<usize>()
            + self.data.as_ref().map_or(0, Vec::len)
    }
}

/// What the driver was last given, so the next changes carry only the news.
#[derive(Clone, Debug, Default)]
pub(crate) struct DurableTracker {
    files: Option<DirectoryFiles>,
    data_generation: Option<u64>,
    /// The copy holds the flushed WAL before this.
    wal_sent: Option<Lsn>,
    segments: Vec<u64>,
}

/// A node's data directory put together from [`DurableChanges`], as a driver keeps it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DurableCopy {
    files: Option<DirectoryFiles>,
    #[serde(with = "pgplay_wal::bytes::option")]
    data: Option<Vec<u8>>,
    wal: Option<WalLog>,
}

impl DurableCopy {
    /// Takes in what changed.
    pub fn apply(&mut self, changes: DurableChanges) {
        if let Some(files) = changes.files {
            if self.wal.is_none() {
                self.wal = Some(WalLog::empty_copy(
                    files.segment_size,
                    files.control.system_identifier,
                    files.wal_timeline,
                ));
            }
            self.files = Some(files);
        }
        if let Some(data) = changes.data {
            self.data = Some(data);
        }
        let Some(wal) = self.wal.as_mut() else {
            return;
        };
        wal.restore_pieces(changes.wal, changes.flushed);
        if let Some(segments) = changes.segments {
            wal.keep_only_segments(&segments);
        }
    }

    /// Holds a whole data directory (the first changes of a node have come).
    pub fn is_complete(&self) -> bool {
        self.files.is_some() && self.data.is_some() && self.wal.is_some()
    }

    /// The server was running when the copy was last brought up to date.
    pub fn was_running(&self) -> bool {
        self.files.as_ref().is_some_and(|f| f.postmaster_pid)
    }

    /// The system identifier in the copy's `pg_control`.
    pub fn system_identifier(&self) -> Option<u64> {
        self.files.as_ref().map(|f| f.control.system_identifier)
    }

    /// Bytes held: the WAL segments and the data image (the small files are not counted).
    pub fn bytes_held(&self) -> usize {
        self.wal.as_ref().map_or(0, WalLog::bytes_held) + self.data.as_ref().map_or(0, Vec::len)
    }

    /// The copy as bytes (postcard), to hand to the driver that restarts the node.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("in-memory encoding cannot fail")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<DurableCopy, String> {
        postcard::from_bytes(bytes).map_err(|e| format!("could not read the data directory: {e}"))
    }
}

impl Node {
    /// What changed in this node's data directory since the last call
    /// (everything, the first time); `None` when nothing did. Call it
    /// before the node's answers and messages leave the driver, so that
    /// what a client or a standby was told is flushed is in the copy.
    pub fn take_durable_changes(&mut self) -> Option<DurableChanges> {
        let files = self.files_changed().then(|| self.directory_files());
        let generation = self.db.checkpoint_data_generation();
        let data = (self.durable.data_generation != Some(generation)).then(|| {
            postcard::to_allocvec(self.db.checkpoint_data())
                .expect("in-memory encoding cannot fail")
        });
        let (wal, flushed) = self.flushed_wal_news();
        let held = self.db.wal.segment_numbers();
        let segments = (held != self.durable.segments).then(|| held.clone());
        if files.is_none() && data.is_none() && wal.is_empty() && segments.is_none() {
            let unchanged = self.durable.wal_sent == Some(flushed);
            if unchanged {
                return None;
            }
        }
        if let Some(files) = &files {
            self.durable.files = Some(files.clone());
        }
        self.durable.data_generation = Some(generation);
        self.durable.wal_sent = Some(flushed);
        self.durable.segments = held;
        Some(DurableChanges {
            files,
            data,
            wal,
            flushed,
            segments,
        })
    }

    /// The WAL flushed since the copy last got some, from where the log was
    /// cut back to if it was; and the flush position.
    fn flushed_wal_news(&mut self) -> (Vec<WalPiece>, Lsn) {
        let wal = &mut self.db.wal;
        let flushed = wal.flush_lsn();
        let rewound = wal.take_rewind();
        let oldest = wal.oldest_segment_start().unwrap_or(flushed);
        let from = match (self.durable.wal_sent, rewound) {
            (None, _) => oldest,
            (Some(sent), rewound) => sent.min(rewound.unwrap_or(sent)).max(oldest),
        };
        if from >= flushed {
            return (Vec::new(), flushed);
        }
        (wal.flushed_pieces(from), flushed)
    }

    /// Whether a small file differs from the copy's, compared in place (no clone on the way).
    fn files_changed(&self) -> bool {
        let Some(sent) = &self.durable.files else {
            return true;
        };
        // Every field is named, so a new one cannot be forgotten here: the pattern would not
        // compile. Compared in place, without building the files again.
        let DirectoryFiles {
            name,
            port,
            files,
            auto_conf,
            history_files,
            control,
            slots,
            postmaster_pid,
            segment_size,
            wal_timeline,
        } = sent;
        let live_slots = self.persistent_slots();
        *control != self.db.control
            || *files != self.files
            || *auto_conf != self.db.settings.auto
            || *history_files != self.history_files
            || *postmaster_pid != self.is_running()
            || *port != self.port
            || *wal_timeline != self.db.wal.timeline()
            || *name != self.name
            || *segment_size != self.db.wal.segment_size()
            || slots.len() != live_slots.clone().count()
            || !slots.iter().zip(live_slots).all(|(a, b)| a.is(b))
    }

    /// The slots with a file in `pg_replslot/` (temporary slots have none).
    fn persistent_slots(&self) -> impl Iterator<Item = &ReplicationSlot> + Clone {
        self.db
            .slots
            .values()
            .filter(|s| s.temporary_owner.is_none())
    }

    fn directory_files(&self) -> DirectoryFiles {
        DirectoryFiles {
            name: self.name.clone(),
            port: self.port,
            files: self.files.clone(),
            auto_conf: self.db.settings.auto.clone(),
            history_files: self.history_files.clone(),
            control: self.db.control.clone(),
            slots: self.persistent_slots().map(SlotFile::of).collect(),
            postmaster_pid: self.is_running(),
            segment_size: self.db.wal.segment_size(),
            wal_timeline: self.db.wal.timeline(),
        }
    }

    /// A stopped node whose data directory is `copy`: `start` runs crash
    /// recovery from the last checkpoint, as after [`Node::crash`] (or, for
    /// a server that was stopped cleanly, starts as from that stop).
    pub fn from_durable(copy: &DurableCopy, now: Timestamp) -> Result<Node, String> {
        let (Some(files), Some(data), Some(wal)) = (&copy.files, &copy.data, &copy.wal) else {
            return Err("the copy of the data directory is incomplete".into());
        };
        let data: DataState = postcard::from_bytes(data)
            .map_err(|e| format!("could not read the data directory: {e}"))?;
        let mut settings = Settings::new();
        settings.auto = files.auto_conf.clone();
        settings.set_internal(
            "wal_segment_size",
            (files.segment_size.bytes() / 1024).to_string(),
        );
        let mut wal = wal.clone();
        wal.set_timeline(files.wal_timeline);
        let mut db = Database::from_backup(
            BaseBackup {
                data,
                end: wal.flush_lsn(),
                wal,
                control: files.control.clone(),
                settings,
                checkpoint: files.control.checkpoint,
            },
            now,
        );
        db.in_recovery = files.files.standby_signal;
        db.slots = files
            .slots
            .iter()
            .map(|slot| {
                let slot = ReplicationSlot {
                    name: slot.name.clone(),
                    restart_lsn: slot.restart_lsn,
                    active_pid: None,
                    temporary_owner: None,
                    invalidated: slot.invalidated,
                    xmin: None,
                };
                (slot.name.clone(), slot)
            })
            .collect();
        let mut node = Node::with_database(&files.name, 0, files.port, db, files.files.clone());
        node.history_files = files.history_files.clone();
        node.history = node.current_history();
        node.state = RunState::Stopped;
        Ok(node)
    }

    /// Gives a node rebuilt from its files the id its driver assigns
    /// (connection ids and pids follow it); its files stay as they are.
    pub fn set_id(&mut self, id: u32) {
        self.id = id;
        self.next_pid = 10_000 + (id as i32 % 1000) * 100;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Psql;

    const MS: Timestamp = 1000;

    fn sql(node: &mut Node, psql: &mut Psql, now: Timestamp, line: &str) -> String {
        node.psql_line(now, psql, line)
    }

    /// What the driver does: take the changes (through their bytes) and keep them.
    fn keep(node: &mut Node, copy: &mut DurableCopy) -> Option<usize> {
        let changes = node.take_durable_changes()?;
        let bytes = postcard::to_allocvec(&changes).unwrap();
        copy.apply(postcard::from_bytes(&bytes).unwrap());
        Some(bytes.len())
    }

    fn wal_bytes(node: &Node) -> Vec<u8> {
        let wal = &node.db.wal;
        wal.read_raw(wal.oldest_segment_start().unwrap(), wal.insert_lsn())
    }

    /// A primary with committed rows, a checkpoint among them, and
    /// asynchronous commits the WAL writer has not flushed yet; its copy
    /// kept change by change.
    fn primary_and_copy() -> (Node, DurableCopy, Timestamp) {
        let mut node = Node::initdb("primary", 4242, None, 0);
        let mut copy = DurableCopy::default();
        keep(&mut node, &mut copy).expect("the first changes are everything");
        let mut psql = node.connect();
        sql(&mut node, &mut psql, 0, "CREATE TABLE t (id int, v text);");
        for batch in 0..5 {
            let now = batch * MS;
            let values: Vec<String> = (0..20)
                .map(|i| format!("({}, 'x')", batch * 20 + i))
                .collect();
            sql(
                &mut node,
                &mut psql,
                now,
                &format!("INSERT INTO t VALUES {};", values.join(", ")),
            );
            if batch == 2 {
                sql(&mut node, &mut psql, now, "CHECKPOINT;");
            }
            keep(&mut node, &mut copy);
        }
        sql(
            &mut node,
            &mut psql,
            5 * MS,
            "SET synchronous_commit = off;",
        );
        sql(
            &mut node,
            &mut psql,
            5 * MS,
            "INSERT INTO t VALUES (1000, 'async');",
        );
        keep(&mut node, &mut copy);
        (node, copy, 5 * MS)
    }

    fn count(node: &mut Node, now: Timestamp) -> String {
        let mut psql = node.connect();
        sql(node, &mut psql, now, "SELECT count(*) FROM t;")
    }

    #[test]
    fn a_node_rebuilt_from_its_durable_changes_recovers_as_after_a_crash() {
        let (mut original, copy, now) = primary_and_copy();
        let mut rebuilt = Node::from_durable(&copy, now).unwrap();
        assert!(copy.was_running());
        let before = original.log().count();
        original.crash(now);
        original.start(now).unwrap();
        let crash_lines: Vec<String> = original.log().skip(before + 1).cloned().collect();
        rebuilt.start(now).unwrap();
        let rebuilt_lines: Vec<String> = rebuilt.log().cloned().collect();
        assert_eq!(rebuilt_lines, crash_lines);
        for expected in [
            "LOG:  database system was not properly shut down; automatic recovery in progress",
            "LOG:  redo starts at ",
            "LOG:  redo done at ",
        ] {
            assert!(
                rebuilt_lines.iter().any(|l| l.starts_with(expected)),
                "{rebuilt_lines:#?}"
            );
        }
        // The 100 committed rows are back; the unflushed asynchronous one is not.
        assert_eq!(
            count(&mut rebuilt, now),
            " count \n-------\n   100\n(1 row)\n\n"
        );
        assert_eq!(count(&mut rebuilt, now), count(&mut original, now));
        assert_eq!(rebuilt.db.control, original.db.control);
        assert_eq!(rebuilt.db.control.system_identifier, 4242);
        assert_eq!(rebuilt.db.data, original.db.data);
        assert_eq!(rebuilt.db.checkpoint_data(), original.db.checkpoint_data());
        assert_eq!(wal_bytes(&rebuilt), wal_bytes(&original));
        assert_eq!(
            rebuilt.db.wal.segment_files(),
            original.db.wal.segment_files()
        );
        assert_eq!(rebuilt.files, original.files);
        assert_eq!(rebuilt.db.settings.auto, original.db.settings.auto);
        assert_eq!(rebuilt.port, original.port);
    }

    #[test]
    fn changes_carry_only_the_news() {
        let mut node = Node::initdb("primary", 1, None, 0);
        let first = node.take_durable_changes().unwrap();
        assert!(first.files.is_some() && first.data.is_some() && !first.wal.is_empty());
        assert_eq!(node.take_durable_changes(), None, "nothing happened");
        let mut psql = node.connect();
        sql(&mut node, &mut psql, 0, "CREATE TABLE t (id int);");
        sql(&mut node, &mut psql, 0, "INSERT INTO t VALUES (1);");
        let commit = node.take_durable_changes().unwrap();
        assert!(commit.files.is_none() && commit.data.is_none() && commit.segments.is_none());
        assert_eq!(commit.flushed, node.db.wal.flush_lsn());
        assert!(
            commit.payload_bytes() < 2000,
            "{} bytes",
            commit.payload_bytes()
        );
        // An unflushed commit is not news; the WAL writer's flush is.
        sql(&mut node, &mut psql, 0, "SET synchronous_commit = off;");
        sql(&mut node, &mut psql, 0, "INSERT INTO t VALUES (2);");
        assert_eq!(node.take_durable_changes(), None);
        node.handle_timeout(500 * MS);
        assert!(!node.take_durable_changes().unwrap().wal.is_empty());
        // A checkpoint brings the data image and pg_control; ALTER SYSTEM its file.
        sql(&mut node, &mut psql, MS, "CHECKPOINT;");
        let checkpoint = node.take_durable_changes().unwrap();
        assert!(checkpoint.data.is_some() && checkpoint.files.is_some());
        sql(
            &mut node,
            &mut psql,
            MS,
            "ALTER SYSTEM SET work_mem = '8MB';",
        );
        let files = node.take_durable_changes().unwrap();
        assert!(files.data.is_none());
        assert_eq!(
            files
                .files
                .unwrap()
                .auto_conf
                .iter()
                .find(|(name, _)| name == "work_mem")
                .map(|(_, value)| value.as_str()),
            Some("8MB")
        );
    }

    #[test]
    fn the_copy_drops_the_wal_its_server_removed() {
        let size = SegmentSize::new(1024 * 1024).unwrap();
        let mut node = Node::initdb("primary", 1, Some(size), 0);
        let mut copy = DurableCopy::default();
        let mut psql = node.connect();
        sql(&mut node, &mut psql, 0, "CREATE TABLE t (id int, v text);");
        let mut posted = 0;
        for round in 0..40 {
            let values: Vec<String> = (0..200)
                .map(|i| format!("({i}, '{}')", "x".repeat(200)))
                .collect();
            let insert = format!("INSERT INTO t VALUES {};", values.join(", "));
            assert_eq!(
                sql(&mut node, &mut psql, round * MS, &insert),
                "INSERT 0 200\n"
            );
            if round % 10 == 9 {
                sql(&mut node, &mut psql, round * MS, "CHECKPOINT;");
            }
            posted += keep(&mut node, &mut copy).unwrap_or(0);
        }
        assert!(
            node.db.wal.segment_numbers().len() < 8,
            "the checkpoints removed segments"
        );
        let wal_held = node.db.wal.bytes_held();
        let data = postcard::to_allocvec(node.db.checkpoint_data())
            .unwrap()
            .len();
        assert_eq!(copy.bytes_held(), wal_held + data);
        assert!(
            copy.bytes_held() < posted,
            "{} held of {posted} posted",
            copy.bytes_held()
        );
        let bytes = copy.to_bytes();
        let mut rebuilt =
            Node::from_durable(&DurableCopy::from_bytes(&bytes).unwrap(), 40 * MS).unwrap();
        rebuilt.start(40 * MS).unwrap();
        assert_eq!(
            count(&mut rebuilt, 40 * MS),
            " count \n-------\n  8000\n(1 row)\n\n"
        );
        assert!(DurableCopy::from_bytes(&bytes[..bytes.len() / 2]).is_err());
        assert!(Node::from_durable(&DurableCopy::default(), 0).is_err());
    }

    #[test]
    fn a_cleanly_stopped_node_stays_stopped_and_starts_without_recovery() {
        let mut node = Node::initdb("primary", 1, None, 0);
        let mut copy = DurableCopy::default();
        node.stop(MS, crate::StopMode::Fast).unwrap();
        keep(&mut node, &mut copy);
        assert!(!copy.was_running());
        let mut rebuilt = Node::from_durable(&copy, 2 * MS).unwrap();
        rebuilt.start(2 * MS).unwrap();
        let lines: Vec<String> = rebuilt.log().cloned().collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("LOG:  database system was shut down at")),
            "{lines:#?}"
        );
        assert!(!lines.iter().any(|l| l.contains("automatic recovery")));
    }
}
