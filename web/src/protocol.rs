//! What the page and the node workers say to each other, and what two
//! workers say over a replication MessageChannel. Values are Rust enums
//! encoded with postcard into the bytes of a transferred ArrayBuffer.
//!
//! Page → worker: [`ToWorker`]. Worker → page: [`FromWorker`], with
//! [`Event`]s batched so the page is not flooded when the primary writes
//! thousands of records a second. Worker ↔ worker: [`PeerFrame`], one
//! replication protocol message each.

use pgplay_replication::protocol::bytes;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a worker's node comes to life.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NodeStart {
    /// `initdb` with this system identifier (and WAL segment size), then start.
    Initdb {
        system_identifier: u64,
        segment_size: Option<u64>,
    },
    /// A base backup's bytes (`pgplay_node::Node::to_image`); with `start`,
    /// then `pg_ctl start` (a preset, a replaced worker). A learner's
    /// `pg_basebackup` leaves the copy stopped, as on a real server.
    Image {
        #[serde(with = "bytes")]
        bytes: Vec<u8>,
        start: bool,
    },
    /// The node's data directory as the page kept it
    /// (`pgplay_node::durable::DurableCopy::to_bytes`): its worker died, and
    /// the node starts again from its files, with crash recovery if it was running.
    Recover {
        #[serde(with = "bytes")]
        bytes: Vec<u8>,
    },
}

/// Which end of a replication connection a transferred port is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerRole {
    /// We asked for this connection (our walreceiver).
    Client,
    /// Someone connected to us: a walsender will answer.
    Server {
        client_addr: String,
        client_port: u16,
    },
}

/// A link's faults, applied by both workers to what they send on it
/// (`pgplay_cluster::link`, the simulator's model too).
pub use pgplay_cluster::link::{BreakReason, LinkFault};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    Init {
        name: String,
        id: u32,
        port: u16,
        start: NodeStart,
    },
    /// One line typed at psql in session `session` (a name the page picks).
    Psql {
        request: u32,
        session: String,
        line: String,
    },
    /// The first error a statement of session `session` met since the last such request:
    /// answered with [`Reply::Text`], the JSON of an [`crate::embed::SqlError`], or empty.
    TakeError {
        request: u32,
        session: String,
    },
    /// psql's Ctrl+C in session `session`: a backend waiting for
    /// synchronous standbys stops waiting (its commit stands).
    Cancel {
        session: String,
    },
    /// How the archive_command's copy went: Ok, or (exit code, stderr).
    ArchiveResult {
        result: Result<(), (i32, Option<String>)>,
    },
    /// The restore_command's copy: the file, or what `cp` printed.
    RestoreResult {
        result: Result<Vec<u8>, String>,
    },
    /// A server command about this node (`pg_ctl -D name stop`, `cat name/pg_hba.conf`, ...),
    /// as the page parsed it.
    Command {
        request: u32,
        command: pgplay_cluster::ShellCommand,
    },
    /// `pg_basebackup` from this node: answer with [`Reply::Image`].
    BaseBackup {
        request: u32,
        name: String,
        user: String,
        password: Option<String>,
        write_recovery_conf: bool,
        /// Also `application_name=<name>` in `primary_conninfo` (presets, replacements).
        name_in_conninfo: bool,
        /// `-S NAME` (and `-C`: create it): the replication slot the copy streams through.
        slot: Option<(String, bool)>,
    },
    /// The port of a replication connection comes with this message.
    PeerPort {
        conn: u64,
        role: PeerRole,
        fault: LinkFault,
        /// The node at the other end (what the server log names when the
        /// network breaks the connection).
        peer: String,
    },
    /// The network breaks connection `conn` now (`pgplay-net cut`): this
    /// worker tells the other end, and both servers' logs say so.
    Cut {
        conn: u64,
    },
    /// Nothing listens where our walreceiver wanted to connect.
    ConnectRefused {
        conn: u64,
    },
    SetFault {
        conn: u64,
        fault: LinkFault,
    },
    /// Replace a configuration file (the config editor's save).
    WriteFile {
        request: u32,
        file: String,
        text: String,
    },
    /// Benchmark load: `rows` single-row autocommit INSERTs into `bench`
    /// (created if missing), `per_second` of them (0: as fast as possible).
    /// Replies once every streaming standby replayed the last commit, with JSON
    /// `{"rows":N,"elapsed_ms":F,"replicated_ms":F,"standbys":N}`: the time until the last
    /// commit, and until the standbys replayed it.
    Load {
        request: u32,
        rows: u32,
        per_second: u32,
    },
    /// Commit-to-replay lag seen by this standby since the last reset, as
    /// JSON `{"count":N,"p50_ms":F,"p99_ms":F,"max_ms":F}`.
    LagStats {
        request: u32,
        reset: bool,
    },
    /// The worker at the other end of connection `conn` died: as the kernel resets the sockets of
    /// a process that ends, the connection is closed at once (no timeout to wait for).
    PeerGone {
        conn: u64,
    },
    /// Benchmark: `commits` INSERTs one after another in a session with `synchronous_commit =
    /// remote_apply` (`synchronous_standby_names` must name a standby), each timed in this worker
    /// from the statement until the standby's reply released it. Replies with JSON
    /// `{"commits":N,"p50_ms":F,"p99_ms":F,"max_ms":F}`.
    SyncProbe {
        request: u32,
        commits: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// What psql or the command printed.
    Text(String),
    /// The command failed; its error output.
    Failed(String),
    Image(#[serde(with = "bytes")] Vec<u8>),
}

/// A node's state for the topology view, sent with every batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's id in the cluster, the high half of the connections it opens.
    pub id: u32,
    /// The port the node listens on (how `primary_conninfo` names it).
    pub port: u16,
    pub role: String,
    pub running: bool,
    pub timeline: u32,
    pub write: String,
    pub flush: String,
    pub replay: Option<String>,
    pub receiver: Option<String>,
    pub upstream: Option<(String, u16)>,
    pub senders: Vec<SenderStatus>,
    /// The psql sessions (by the page's session name) inside a transaction
    /// block, each with whether it failed: their prompts show psql's `*` or `!`.
    pub transactions: BTreeMap<String, bool>,
    /// The worker's WebAssembly memory in bytes (it grows, never shrinks).
    pub memory_bytes: u64,
    /// What the worker holds, by kind, to tell where that memory goes.
    pub memory: MemoryDetail,
}

/// A worker's holdings that grow with use, in bytes or items (see `memory-browser.mjs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryDetail {
    pub wal_segments: u64,
    pub wal_written_bytes: u64,
    pub wal_allocated_bytes: u64,
    /// Chunks of removed segments kept for the next ones.
    pub wal_pooled_bytes: u64,
    pub clog_bytes: u64,
    pub tuples: u64,
    pub log_lines: u64,
    /// Events waiting for the next batch to the page.
    pub events_queued: u64,
    pub lag_samples: u64,
    /// Frames held by partitioned links.
    pub held_frames: u64,
}

impl NodeStatus {
    /// This node's walsender serving `standby`, found by the connection's
    /// opener, since several standbys may share an `application_name`.
    pub fn sender_to(&self, standby: &NodeStatus) -> Option<&SenderStatus> {
        self.senders.iter().find(|s| s.standby_id == standby.id)
    }
}

/// One walsender of a node, as `pg_stat_replication` would show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SenderStatus {
    /// The [`NodeStatus::id`] of the standby this walsender serves.
    pub standby_id: u32,
    pub application_name: String,
    pub state: String,
    pub sent: String,
    pub write: String,
    pub flush: String,
    pub replay: String,
    /// WAL this node has flushed that the standby has not replayed yet.
    pub lag_bytes: u64,
    pub replay_lag_ms: Option<f64>,
    /// `pg_stat_replication.sync_state`: async, potential, sync or quorum.
    pub sync_state: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Log(String),
    /// A WAL record: start, end, its pg_waldump line and its plain-words meaning.
    Wal {
        lsn: String,
        end: String,
        waldump: String,
        explain: String,
    },
    /// Records left out of a batch so that it stays small.
    WalSkipped(u64),
    /// Boxed: the other events are a few words.
    Status(Box<NodeStatus>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker's wasm is loaded and it listens: send nothing before this.
    Ready,
    Reply {
        request: u32,
        reply: Reply,
    },
    /// Our walreceiver wants a connection to host:port.
    Connect {
        conn: u64,
        host: String,
        port: u16,
    },
    Events(Vec<Event>),
    /// The worker's code panicked; the worker is gone.
    Panicked(String),
    /// archive_command copies a segment into the archive, which the page
    /// keeps for every node: answer with [`ToWorker::ArchiveResult`].
    ArchivePut {
        path: String,
        #[serde(with = "bytes")]
        bytes: Vec<u8>,
        unless_exists: bool,
    },
    /// restore_command copies a file out of the archive: answer with
    /// [`ToWorker::RestoreResult`].
    ArchiveGet {
        path: String,
    },
    /// What changed in the node's data directory (WAL flushed since the
    /// last one, files, a new checkpoint's data image), for the page to
    /// keep: posted, when something changed, before each reply and each
    /// batch of replication messages, so what a client was told is committed
    /// and what a standby was sent is in the page. Boxed: the other messages are a few words.
    Durable(Box<pgplay_node::durable::DurableChanges>),
}

/// One frame on a replication MessageChannel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PeerFrame {
    /// A replication protocol message, postcard-encoded by the sender
    /// (`pgplay_replication::Message`).
    Message(#[serde(with = "bytes")] Vec<u8>),
    Close,
    /// The network broke the connection (`pgplay_cluster::link`): a full
    /// partition buffer, lost retransmissions, or a cut.
    Broken(BreakReason),
}

/// Encodes any protocol value.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("in-memory encoding cannot fail")
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("bad message: {e}"))
}

/// Most events a worker buffers between two batches; beyond it WAL events
/// are counted, not kept.
pub const EVENT_BUFFER: usize = 2_000;
/// Most WAL records one batch describes: the newest, the rest counted. Only these are put into
/// words (pg_waldump's line, the plain-words meaning), so at most 20,000 records a second are,
/// however fast the node writes; a burst still leaves over a thousand in the page's list.
pub const WAL_EVENTS_PER_BATCH: usize = 1_000;
/// Milliseconds between two batches.
pub const BATCH_INTERVAL_MS: i32 = 50;
/// Lag samples a standby keeps (a ring).
pub const LAG_SAMPLES: usize = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let values = vec![
            ToWorker::Init {
                name: "standby1".into(),
                id: 2,
                port: 5433,
                start: NodeStart::Image {
                    bytes: vec![1, 2, 3],
                    start: true,
                },
            },
            ToWorker::PeerPort {
                conn: 1 << 33,
                role: PeerRole::Server {
                    client_addr: "127.0.0.1".into(),
                    client_port: 40001,
                },
                fault: LinkFault {
                    delay_ms: 20,
                    partitioned: true,
                    loss_percent: 5,
                },
                peer: "standby1".into(),
            },
            ToWorker::Cut { conn: 7 },
            ToWorker::TakeError {
                request: 4,
                session: "default".into(),
            },
            ToWorker::Command {
                request: 3,
                command: pgplay_cluster::shell::parse("pg_ctl -D standby1 -m immediate stop")
                    .unwrap(),
            },
        ];
        for value in values {
            assert_eq!(decode::<ToWorker>(&encode(&value)).unwrap(), value);
        }
        let events = FromWorker::Events(vec![Event::Log("LOG:  x".into()), Event::WalSkipped(3)]);
        assert_eq!(decode::<FromWorker>(&encode(&events)).unwrap(), events);
        let mut node = pgplay_node::Node::initdb("primary", 9, None, 0);
        let durable = FromWorker::Durable(Box::new(node.take_durable_changes().unwrap()));
        assert_eq!(decode::<FromWorker>(&encode(&durable)).unwrap(), durable);
        assert!(decode::<FromWorker>(&[0xFF, 0xFF]).is_err());
        let frame = PeerFrame::Message((0..=255).collect());
        assert_eq!(decode::<PeerFrame>(&encode(&frame)).unwrap(), frame);
        let broken = PeerFrame::Broken(BreakReason::HeldFull);
        assert_eq!(decode::<PeerFrame>(&encode(&broken)).unwrap(), broken);
        let image = FromWorker::Reply {
            request: 7,
            reply: Reply::Image(vec![0, 1, 2, 255]),
        };
        assert_eq!(decode::<FromWorker>(&encode(&image)).unwrap(), image);
    }

    #[test]
    fn a_standby_finds_its_walsender_by_connection_not_by_name() {
        let sender = |standby_id| SenderStatus {
            standby_id,
            application_name: "walreceiver".into(),
            state: "streaming".into(),
            sent: "0/3000000".into(),
            write: "0/3000000".into(),
            flush: "0/3000000".into(),
            replay: "0/3000000".into(),
            lag_bytes: 0,
            replay_lag_ms: None,
            sync_state: "async".into(),
        };
        let node = |id, senders| NodeStatus {
            id,
            port: 5432,
            role: "primary".into(),
            running: true,
            timeline: 1,
            write: "0/3000000".into(),
            flush: "0/3000000".into(),
            replay: None,
            receiver: None,
            upstream: None,
            senders,
            transactions: BTreeMap::new(),
            memory_bytes: 0,
            memory: MemoryDetail::default(),
        };
        let primary = node(1, vec![sender(2), sender(3)]);
        let (standby3, standby4) = (node(3, vec![]), node(4, vec![]));
        assert_eq!(primary.sender_to(&standby3).unwrap().standby_id, 3);
        assert!(primary.sender_to(&standby4).is_none());
    }
}

/// What the page writes into a worker's shared cancel flag to cancel the statement running for
/// `session`: a hash of the session's name that is never 0 (0 means no cancel).
pub fn cancel_tag(session: &str) -> i32 {
    // FNV-1a, 32 bits.
    let hash = session.bytes().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    (hash | 1) as i32
}

#[cfg(test)]
mod cancel_tag_tests {
    use super::cancel_tag;

    #[test]
    fn sessions_get_distinct_nonzero_tags() {
        let tags: Vec<i32> = ["default", "s1", "s2", ""]
            .iter()
            .map(|s| cancel_tag(s))
            .collect();
        assert!(tags.iter().all(|t| *t != 0));
        assert_eq!(cancel_tag("default"), tags[0]);
        let mut unique = tags.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), tags.len());
    }
}
