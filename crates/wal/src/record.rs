//! WAL records, grouped by resource manager as PostgreSQL groups them.
//!
//! A record is a fixed 24-byte header (total length, xid, previous record's
//! LSN, info, resource manager id, CRC-32C) followed by a body that only its
//! resource manager understands. The bodies here carry exactly what redo needs
//! to rebuild a page; they never carry SQL. Encoding is hand-written, little
//! endian and versionless: the log is ours, and a change of layout is a change
//! of `XLOG_PAGE_MAGIC`.

use std::fmt;

use crate::btree::{BtreeRecord, PageImage};
use crate::codec::{Reader, Writer};
use crate::time::{format_timestamp_micros, Timestamp};
use crate::{Lsn, TimeLineId, WalError};

/// A transaction id. 0 is invalid; normal ids start at 3.
pub type Xid = u32;

/// Size of the record header in bytes.
pub const RECORD_HEADER_SIZE: usize = 24;

/// Where a relation's file lives: tablespace, database, relfilenode.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct RelFileLocator {
    pub tablespace: u32,
    pub database: u32,
    pub relation: u32,
}

impl RelFileLocator {
    /// `base/5/16384`, the path PostgreSQL uses for the default tablespace.
    pub fn path(&self) -> String {
        format!("base/{}/{}", self.database, self.relation)
    }
}

impl fmt::Display for RelFileLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.tablespace, self.database, self.relation)
    }
}

/// The resource managers pgplay writes, with PostgreSQL's ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RmgrId {
    Xlog = 0,
    Transaction = 1,
    Storage = 2,
    Standby = 8,
    Heap2 = 9,
    Heap = 10,
    Btree = 11,
    Sequence = 15,
}

impl RmgrId {
    pub fn name(self) -> &'static str {
        match self {
            RmgrId::Xlog => "XLOG",
            RmgrId::Transaction => "Transaction",
            RmgrId::Storage => "Storage",
            RmgrId::Standby => "Standby",
            RmgrId::Heap2 => "Heap2",
            RmgrId::Heap => "Heap",
            RmgrId::Btree => "Btree",
            RmgrId::Sequence => "Sequence",
        }
    }

    fn from_u8(value: u8) -> Option<RmgrId> {
        Some(match value {
            0 => RmgrId::Xlog,
            1 => RmgrId::Transaction,
            2 => RmgrId::Storage,
            8 => RmgrId::Standby,
            9 => RmgrId::Heap2,
            10 => RmgrId::Heap,
            11 => RmgrId::Btree,
            15 => RmgrId::Sequence,
            _ => return None,
        })
    }
}

/// What a checkpoint record says about the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Where redo starts after a crash.
    pub redo: Lsn,
    pub timeline: TimeLineId,
    pub prev_timeline: TimeLineId,
    pub full_page_writes: bool,
    pub next_xid: Xid,
    pub next_oid: u32,
    pub oldest_xid: Xid,
    pub oldest_active_xid: Xid,
    pub time: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XlogRecord {
    CheckpointShutdown(Checkpoint),
    CheckpointOnline(Checkpoint),
    /// `pg_switch_wal()`: the rest of the segment is unused.
    Switch,
    /// The end of a base backup that started at this redo pointer.
    BackupEnd(Lsn),
    NextOid(u32),
    /// Written at promotion instead of a checkpoint.
    EndOfRecovery {
        timeline: TimeLineId,
        prev_timeline: TimeLineId,
        time: Timestamp,
    },
    /// `XLOG_FPI`: a whole page, written by an index build.
    Fpi {
        relation: RelFileLocator,
        block: u32,
        image: PageImage,
    },
}

/// The end of a transaction or of a subtransaction, with the xids of the
/// subtransactions that end with it: on commit every subtransaction released
/// into it; on abort those released into the one aborted (a subtransaction's
/// abort carries its own xid in the record header, as in PostgreSQL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionRecord {
    /// Relations listed are dropped when the commit is replayed.
    Commit {
        time: Timestamp,
        dropped: Vec<RelFileLocator>,
        subxacts: Vec<Xid>,
    },
    Abort {
        time: Timestamp,
        dropped: Vec<RelFileLocator>,
        subxacts: Vec<Xid>,
    },
    /// `XLOG_XACT_ASSIGNMENT`: every 64 subtransactions a transaction
    /// assigns, their xids and their top-level xid, so a standby need not
    /// track them one by one (PostgreSQL's `PGPROC_MAX_CACHED_SUBXIDS`).
    Assignment { top: Xid, subxacts: Vec<Xid> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageRecord {
    Create(RelFileLocator),
    /// The init fork of an unlogged table or index (`base/5/16384_init`): the only thing
    /// about an unlogged relation's storage the WAL carries. Its main fork is created
    /// without a record, and the rows written to it never reach the WAL.
    CreateInit(RelFileLocator),
    Truncate {
        relation: RelFileLocator,
        blocks: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedRelation {
    pub xid: Xid,
    pub database: u32,
    pub relation: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StandbyRecord {
    /// A snapshot of running transactions, so a standby can build its own:
    /// top-level xids, then the subtransactions' (which PostgreSQL 15's
    /// pg_waldump does not print).
    RunningXacts {
        next_xid: Xid,
        latest_completed_xid: Xid,
        oldest_running_xid: Xid,
        xids: Vec<Xid>,
        subxids: Vec<Xid>,
    },
    /// AccessExclusiveLocks taken (by DDL), which a standby must also hold.
    Lock(Vec<LockedRelation>),
}

/// A new tuple as redo needs it: the command id and the encoded user data
/// (null bitmap and attributes; only the engine reads it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TupleImage {
    pub command_id: u32,
    pub natts: u16,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeapRecord {
    Insert {
        relation: RelFileLocator,
        block: u32,
        offset: u16,
        init_page: bool,
        tuple: TupleImage,
    },
    /// `hot` is a heap-only update (same page, no indexed column changed).
    Update {
        relation: RelFileLocator,
        old_block: u32,
        old_offset: u16,
        new_block: u32,
        new_offset: u16,
        init_page: bool,
        hot: bool,
        tuple: TupleImage,
    },
    Delete {
        relation: RelFileLocator,
        block: u32,
        offset: u16,
        command_id: u32,
    },
}

/// What VACUUM (and pruning) writes: PostgreSQL's Heap2 resource manager.
/// Each names one heap page. `snapshot_conflict_horizon` is what PostgreSQL 15
/// calls `latestRemovedXid` (PRUNE) or `cutoff_xid` (FREEZE_PAGE, VISIBLE): a
/// standby must cancel the queries whose snapshot might still see a row
/// version older than it before replaying the record. 0 means no conflict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heap2Record {
    /// `XLOG_HEAP2_PRUNE`: dead tuples go; a HOT chain's root is redirected
    /// to its first surviving member (`(from, to)`), dead roots become dead
    /// line pointers, dead heap-only members unused ones.
    Prune {
        relation: RelFileLocator,
        block: u32,
        latest_removed_xid: Xid,
        redirected: Vec<(u16, u16)>,
        dead: Vec<u16>,
        unused: Vec<u16>,
    },
    /// `XLOG_HEAP2_VACUUM`: dead line pointers become unused (VACUUM's second
    /// pass over the page); trailing unused ones are cut off.
    Vacuum {
        relation: RelFileLocator,
        block: u32,
        unused: Vec<u16>,
    },
    /// `XLOG_HEAP2_FREEZE_PAGE`: these tuples' xmin is frozen (older than
    /// every snapshot, for ever).
    FreezePage {
        relation: RelFileLocator,
        block: u32,
        cutoff_xid: Xid,
        offsets: Vec<u16>,
    },
    /// `XLOG_HEAP2_VISIBLE`: every tuple on the page is visible to every
    /// snapshot (flags 0x01), and frozen (0x02).
    Visible {
        relation: RelFileLocator,
        block: u32,
        cutoff_xid: Xid,
        flags: u8,
    },
}

/// `INIT_FORKNUM`: the fork an unlogged relation is reset from.
const INIT_FORKNUM: u32 = 3;

/// `VISIBILITYMAP_ALL_VISIBLE` and `VISIBILITYMAP_ALL_FROZEN`.
pub const VM_ALL_VISIBLE: u8 = 0x01;
pub const VM_ALL_FROZEN: u8 = 0x02;

impl Heap2Record {
    pub fn relation(&self) -> RelFileLocator {
        match self {
            Heap2Record::Prune { relation, .. }
            | Heap2Record::Vacuum { relation, .. }
            | Heap2Record::FreezePage { relation, .. }
            | Heap2Record::Visible { relation, .. } => *relation,
        }
    }

    pub fn block(&self) -> u32 {
        match self {
            Heap2Record::Prune { block, .. }
            | Heap2Record::Vacuum { block, .. }
            | Heap2Record::FreezePage { block, .. }
            | Heap2Record::Visible { block, .. } => *block,
        }
    }

    /// The xid a standby's snapshots must be newer than (0: none).
    pub fn snapshot_conflict_horizon(&self) -> Xid {
        match self {
            Heap2Record::Prune {
                latest_removed_xid, ..
            } => *latest_removed_xid,
            Heap2Record::Vacuum { .. } => 0,
            // Tuples older than the cutoff were frozen: a snapshot that
            // still sees the xid before it as running conflicts (PostgreSQL
            // 15 retreats the cutoff by one in heap_xlog_freeze_page).
            Heap2Record::FreezePage { cutoff_xid, .. } => match cutoff_xid.saturating_sub(1) {
                xid if xid < 3 => 0,
                xid => xid,
            },
            Heap2Record::Visible { cutoff_xid, .. } => *cutoff_xid,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SequenceRecord {
    /// The sequence's new state; `last_value` is logged ahead, as PostgreSQL does.
    Log {
        relation: RelFileLocator,
        last_value: i64,
        log_cnt: i64,
        is_called: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordBody {
    Xlog(XlogRecord),
    Transaction(TransactionRecord),
    Storage(StorageRecord),
    Standby(StandbyRecord),
    Heap(HeapRecord),
    Btree(BtreeRecord),
    Heap2(Heap2Record),
    Sequence(SequenceRecord),
}

/// One decoded WAL record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub xid: Xid,
    /// Start of the previous record.
    pub prev: Lsn,
    pub body: RecordBody,
}

impl RecordBody {
    /// The relation whose data (pages, a sequence's value) this record changes, if any:
    /// a record for an unlogged relation is applied but not written to the WAL.
    pub fn data_relation(&self) -> Option<RelFileLocator> {
        match self {
            RecordBody::Heap(
                HeapRecord::Insert { relation, .. }
                | HeapRecord::Update { relation, .. }
                | HeapRecord::Delete { relation, .. },
            ) => Some(*relation),
            RecordBody::Heap2(record) => Some(record.relation()),
            RecordBody::Btree(record) => Some(*record.relation()),
            RecordBody::Sequence(SequenceRecord::Log { relation, .. }) => Some(*relation),
            RecordBody::Xlog(XlogRecord::Fpi { relation, .. }) => Some(*relation),
            RecordBody::Storage(StorageRecord::Truncate { relation, .. }) => Some(*relation),
            _ => None,
        }
    }

    pub fn rmgr(&self) -> RmgrId {
        match self {
            RecordBody::Xlog(_) => RmgrId::Xlog,
            RecordBody::Transaction(_) => RmgrId::Transaction,
            RecordBody::Storage(_) => RmgrId::Storage,
            RecordBody::Standby(_) => RmgrId::Standby,
            RecordBody::Heap(_) => RmgrId::Heap,
            RecordBody::Btree(_) => RmgrId::Btree,
            RecordBody::Heap2(_) => RmgrId::Heap2,
            RecordBody::Sequence(_) => RmgrId::Sequence,
        }
    }

    /// The info byte: PostgreSQL's record type codes, within a resource manager.
    fn info(&self) -> u8 {
        match self {
            RecordBody::Xlog(XlogRecord::CheckpointShutdown(_)) => 0x00,
            RecordBody::Xlog(XlogRecord::CheckpointOnline(_)) => 0x10,
            RecordBody::Xlog(XlogRecord::NextOid(_)) => 0x30,
            RecordBody::Xlog(XlogRecord::Switch) => 0x40,
            RecordBody::Xlog(XlogRecord::BackupEnd(_)) => 0x50,
            RecordBody::Xlog(XlogRecord::EndOfRecovery { .. }) => 0x90,
            RecordBody::Xlog(XlogRecord::Fpi { .. }) => 0xB0,
            RecordBody::Btree(record) => record.info(),
            RecordBody::Transaction(TransactionRecord::Commit { subxacts, .. }) => {
                has_info(subxacts)
            }
            RecordBody::Transaction(TransactionRecord::Abort { subxacts, .. }) => {
                0x20 | has_info(subxacts)
            }
            RecordBody::Transaction(TransactionRecord::Assignment { .. }) => 0x50,
            RecordBody::Storage(StorageRecord::Create(_) | StorageRecord::CreateInit(_)) => 0x10,
            RecordBody::Storage(StorageRecord::Truncate { .. }) => 0x20,
            RecordBody::Standby(StandbyRecord::Lock(_)) => 0x00,
            RecordBody::Standby(StandbyRecord::RunningXacts { .. }) => 0x10,
            RecordBody::Heap(HeapRecord::Insert { init_page, .. }) => init_flag(*init_page),
            RecordBody::Heap(HeapRecord::Delete { .. }) => 0x10,
            RecordBody::Heap(HeapRecord::Update {
                hot: false,
                init_page,
                ..
            }) => 0x20 | init_flag(*init_page),
            RecordBody::Heap(HeapRecord::Update {
                hot: true,
                init_page,
                ..
            }) => 0x40 | init_flag(*init_page),
            RecordBody::Heap2(Heap2Record::Prune { .. }) => 0x10,
            RecordBody::Heap2(Heap2Record::Vacuum { .. }) => 0x20,
            RecordBody::Heap2(Heap2Record::FreezePage { .. }) => 0x30,
            RecordBody::Heap2(Heap2Record::Visible { .. }) => 0x40,
            RecordBody::Sequence(SequenceRecord::Log { .. }) => 0x00,
        }
    }
}

/// PostgreSQL's `XLOG_XACT_HAS_INFO`: the transaction end carries more
/// (here, its subtransactions), so a record without any keeps its old bytes.
const XACT_HAS_INFO: u8 = 0x80;

fn has_info(subxacts: &[Xid]) -> u8 {
    if subxacts.is_empty() {
        0
    } else {
        XACT_HAS_INFO
    }
}

fn init_flag(init_page: bool) -> u8 {
    if init_page {
        0x80
    } else {
        0
    }
}

/// CRC-32C computed 16 bytes a step (a 16 KB table): every record is summed once when written
/// and once more by each reader, which a byte-at-a-time table made a visible share of a commit.
const CRC32C: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

impl Record {
    /// Header and body, with the CRC filled in.
    pub fn encode(&self) -> Vec<u8> {
        // One buffer: the header with its length and CRC left zero, then the body, then both
        // filled in (most records fit the first allocation).
        let mut out = Writer::with_capacity(RECORD_HEADER_SIZE + 128);
        out.u32(0);
        out.u32(self.xid);
        out.u64(self.prev.0);
        out.u8(self.body.info());
        out.u8(self.body.rmgr() as u8);
        out.u16(0);
        out.u32(0);
        encode_body(&self.body, &mut out);
        let mut bytes = out.into_bytes();
        let total_length = bytes.len() as u32;
        bytes[0..4].copy_from_slice(&total_length.to_le_bytes());
        let crc = record_crc(&bytes);
        bytes[20..24].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Reads the total length from a header, before the whole record is at hand.
    pub fn total_length(header: &[u8]) -> u32 {
        u32::from_le_bytes(header[0..4].try_into().expect("four bytes"))
    }

    /// Decodes and checks one whole record (header and body).
    pub fn decode(bytes: &[u8], at: Lsn) -> Result<Record, WalError> {
        let invalid = |reason: &str| WalError::InvalidRecord {
            at,
            reason: reason.to_string(),
        };
        if bytes.len() < RECORD_HEADER_SIZE {
            return Err(invalid("record too short"));
        }
        if Record::total_length(bytes) as usize != bytes.len() {
            return Err(invalid("invalid record length"));
        }
        let stored_crc = u32::from_le_bytes(bytes[20..24].try_into().expect("four bytes"));
        if stored_crc != record_crc(bytes) {
            return Err(invalid("incorrect resource manager data checksum"));
        }
        let mut header = Reader::new(&bytes[4..20]);
        let xid = header.u32()?;
        let prev = Lsn(header.u64()?);
        let info = header.u8()?;
        let rmgr =
            RmgrId::from_u8(header.u8()?).ok_or_else(|| invalid("invalid resource manager ID"))?;
        let mut reader = Reader::new(&bytes[RECORD_HEADER_SIZE..]);
        let body =
            decode_body(rmgr, info, &mut reader).map_err(|_| invalid("invalid record body"))?;
        if !reader.is_empty() {
            return Err(invalid("trailing bytes in record"));
        }
        Ok(Record { xid, prev, body })
    }
}

fn record_crc(bytes: &[u8]) -> u32 {
    let mut digest = CRC32C.digest();
    digest.update(&bytes[RECORD_HEADER_SIZE..]);
    digest.update(&bytes[..20]);
    digest.finalize()
}

fn encode_body(body: &RecordBody, out: &mut Writer) {
    match body {
        RecordBody::Xlog(record) => encode_xlog(record, out),
        RecordBody::Transaction(TransactionRecord::Commit {
            time,
            dropped,
            subxacts,
        })
        | RecordBody::Transaction(TransactionRecord::Abort {
            time,
            dropped,
            subxacts,
        }) => {
            out.i64(*time);
            out.u32(dropped.len() as u32);
            dropped.iter().for_each(|rel| out.relation(rel));
            if !subxacts.is_empty() {
                out.u32(subxacts.len() as u32);
                subxacts.iter().for_each(|xid| out.u32(*xid));
            }
        }
        RecordBody::Transaction(TransactionRecord::Assignment { top, subxacts }) => {
            out.u32(*top);
            out.u32(subxacts.len() as u32);
            subxacts.iter().for_each(|xid| out.u32(*xid));
        }
        RecordBody::Storage(StorageRecord::Create(rel)) => out.relation(rel),
        RecordBody::Storage(StorageRecord::CreateInit(rel)) => {
            out.relation(rel);
            out.u32(INIT_FORKNUM);
        }
        RecordBody::Storage(StorageRecord::Truncate { relation, blocks }) => {
            out.relation(relation);
            out.u32(*blocks);
        }
        RecordBody::Standby(record) => encode_standby(record, out),
        RecordBody::Heap(record) => encode_heap(record, out),
        RecordBody::Btree(record) => crate::btree::encode_btree(record, out),
        RecordBody::Heap2(record) => encode_heap2(record, out),
        RecordBody::Sequence(SequenceRecord::Log {
            relation,
            last_value,
            log_cnt,
            is_called,
        }) => {
            out.relation(relation);
            out.i64(*last_value);
            out.i64(*log_cnt);
            out.bool(*is_called);
        }
    }
}

fn encode_xlog(record: &XlogRecord, out: &mut Writer) {
    match record {
        XlogRecord::CheckpointShutdown(checkpoint) | XlogRecord::CheckpointOnline(checkpoint) => {
            out.u64(checkpoint.redo.0);
            out.u32(checkpoint.timeline.0);
            out.u32(checkpoint.prev_timeline.0);
            out.bool(checkpoint.full_page_writes);
            out.u32(checkpoint.next_xid);
            out.u32(checkpoint.next_oid);
            out.u32(checkpoint.oldest_xid);
            out.u32(checkpoint.oldest_active_xid);
            out.i64(checkpoint.time);
        }
        XlogRecord::Switch => {}
        XlogRecord::BackupEnd(start) => out.u64(start.0),
        XlogRecord::NextOid(oid) => out.u32(*oid),
        XlogRecord::EndOfRecovery {
            timeline,
            prev_timeline,
            time,
        } => {
            out.u32(timeline.0);
            out.u32(prev_timeline.0);
            out.i64(*time);
        }
        XlogRecord::Fpi {
            relation,
            block,
            image,
        } => {
            out.relation(relation);
            out.u32(*block);
            crate::btree::encode_page_image(image, out);
        }
    }
}

fn encode_standby(record: &StandbyRecord, out: &mut Writer) {
    match record {
        StandbyRecord::RunningXacts {
            next_xid,
            latest_completed_xid,
            oldest_running_xid,
            xids,
            subxids,
        } => {
            out.u32(*next_xid);
            out.u32(*latest_completed_xid);
            out.u32(*oldest_running_xid);
            out.u32(xids.len() as u32);
            xids.iter().for_each(|xid| out.u32(*xid));
            // Only when there are any: a record without keeps its old bytes.
            if !subxids.is_empty() {
                out.u32(subxids.len() as u32);
                subxids.iter().for_each(|xid| out.u32(*xid));
            }
        }
        StandbyRecord::Lock(locks) => {
            out.u32(locks.len() as u32);
            for lock in locks {
                out.u32(lock.xid);
                out.u32(lock.database);
                out.u32(lock.relation);
            }
        }
    }
}

fn encode_heap(record: &HeapRecord, out: &mut Writer) {
    match record {
        HeapRecord::Insert {
            relation,
            block,
            offset,
            init_page: _,
            tuple,
        } => {
            out.relation(relation);
            out.u32(*block);
            out.u16(*offset);
            out.tuple(tuple);
        }
        HeapRecord::Update {
            relation,
            old_block,
            old_offset,
            new_block,
            new_offset,
            init_page: _,
            hot: _,
            tuple,
        } => {
            out.relation(relation);
            out.u32(*old_block);
            out.u16(*old_offset);
            out.u32(*new_block);
            out.u16(*new_offset);
            out.tuple(tuple);
        }
        HeapRecord::Delete {
            relation,
            block,
            offset,
            command_id,
        } => {
            out.relation(relation);
            out.u32(*block);
            out.u16(*offset);
            out.u32(*command_id);
        }
    }
}

fn offsets(out: &mut Writer, offsets: &[u16]) {
    out.u32(offsets.len() as u32);
    offsets.iter().for_each(|offset| out.u16(*offset));
}

fn read_offsets(input: &mut Reader) -> Result<Vec<u16>, WalError> {
    let count = input.u32()? as usize;
    (0..count).map(|_| input.u16()).collect()
}

fn encode_heap2(record: &Heap2Record, out: &mut Writer) {
    out.relation(&record.relation());
    out.u32(record.block());
    match record {
        Heap2Record::Prune {
            latest_removed_xid,
            redirected,
            dead,
            unused,
            ..
        } => {
            out.u32(*latest_removed_xid);
            out.u32(redirected.len() as u32);
            for (from, to) in redirected {
                out.u16(*from);
                out.u16(*to);
            }
            offsets(out, dead);
            offsets(out, unused);
        }
        Heap2Record::Vacuum { unused, .. } => offsets(out, unused),
        Heap2Record::FreezePage {
            cutoff_xid,
            offsets: frozen,
            ..
        } => {
            out.u32(*cutoff_xid);
            offsets(out, frozen);
        }
        Heap2Record::Visible {
            cutoff_xid, flags, ..
        } => {
            out.u32(*cutoff_xid);
            out.u8(*flags);
        }
    }
}

fn decode_heap2(info: u8, input: &mut Reader) -> Result<Heap2Record, WalError> {
    let relation = input.relation()?;
    let block = input.u32()?;
    Ok(match info {
        0x10 => {
            let latest_removed_xid = input.u32()?;
            let count = input.u32()? as usize;
            let redirected = (0..count)
                .map(|_| Ok((input.u16()?, input.u16()?)))
                .collect::<Result<Vec<_>, WalError>>()?;
            Heap2Record::Prune {
                relation,
                block,
                latest_removed_xid,
                redirected,
                dead: read_offsets(input)?,
                unused: read_offsets(input)?,
            }
        }
        0x20 => Heap2Record::Vacuum {
            relation,
            block,
            unused: read_offsets(input)?,
        },
        0x30 => Heap2Record::FreezePage {
            relation,
            block,
            cutoff_xid: input.u32()?,
            offsets: read_offsets(input)?,
        },
        0x40 => Heap2Record::Visible {
            relation,
            block,
            cutoff_xid: input.u32()?,
            flags: input.u8()?,
        },
        _ => return Err(WalError::Truncated),
    })
}

fn decode_body(rmgr: RmgrId, info: u8, input: &mut Reader) -> Result<RecordBody, WalError> {
    Ok(match rmgr {
        RmgrId::Xlog => RecordBody::Xlog(decode_xlog(info, input)?),
        RmgrId::Transaction if info == 0x50 => {
            let top = input.u32()?;
            let count = input.u32()? as usize;
            let subxacts = (0..count)
                .map(|_| input.u32())
                .collect::<Result<Vec<_>, _>>()?;
            RecordBody::Transaction(TransactionRecord::Assignment { top, subxacts })
        }
        RmgrId::Transaction => {
            let time = input.i64()?;
            let count = input.u32()? as usize;
            let dropped = (0..count)
                .map(|_| input.relation())
                .collect::<Result<Vec<_>, _>>()?;
            let mut subxacts = Vec::new();
            if info & XACT_HAS_INFO != 0 {
                let count = input.u32()? as usize;
                subxacts = (0..count)
                    .map(|_| input.u32())
                    .collect::<Result<Vec<_>, _>>()?;
            }
            match info & !XACT_HAS_INFO {
                0x00 => RecordBody::Transaction(TransactionRecord::Commit {
                    time,
                    dropped,
                    subxacts,
                }),
                0x20 => RecordBody::Transaction(TransactionRecord::Abort {
                    time,
                    dropped,
                    subxacts,
                }),
                _ => return Err(WalError::Truncated),
            }
        }
        RmgrId::Storage => match info {
            0x10 => {
                let relation = input.relation()?;
                match input.is_empty() {
                    true => RecordBody::Storage(StorageRecord::Create(relation)),
                    false if input.u32()? == INIT_FORKNUM => {
                        RecordBody::Storage(StorageRecord::CreateInit(relation))
                    }
                    false => return Err(WalError::Truncated),
                }
            }
            0x20 => RecordBody::Storage(StorageRecord::Truncate {
                relation: input.relation()?,
                blocks: input.u32()?,
            }),
            _ => return Err(WalError::Truncated),
        },
        RmgrId::Standby => RecordBody::Standby(decode_standby(info, input)?),
        RmgrId::Heap => RecordBody::Heap(decode_heap(info, input)?),
        RmgrId::Btree => RecordBody::Btree(crate::btree::decode_btree(info, input)?),
        RmgrId::Heap2 => RecordBody::Heap2(decode_heap2(info, input)?),
        RmgrId::Sequence => RecordBody::Sequence(SequenceRecord::Log {
            relation: input.relation()?,
            last_value: input.i64()?,
            log_cnt: input.i64()?,
            is_called: input.bool()?,
        }),
    })
}

fn decode_xlog(info: u8, input: &mut Reader) -> Result<XlogRecord, WalError> {
    let checkpoint = |input: &mut Reader| -> Result<Checkpoint, WalError> {
        Ok(Checkpoint {
            redo: Lsn(input.u64()?),
            timeline: TimeLineId(input.u32()?),
            prev_timeline: TimeLineId(input.u32()?),
            full_page_writes: input.bool()?,
            next_xid: input.u32()?,
            next_oid: input.u32()?,
            oldest_xid: input.u32()?,
            oldest_active_xid: input.u32()?,
            time: input.i64()?,
        })
    };
    Ok(match info {
        0x00 => XlogRecord::CheckpointShutdown(checkpoint(input)?),
        0x10 => XlogRecord::CheckpointOnline(checkpoint(input)?),
        0x30 => XlogRecord::NextOid(input.u32()?),
        0x40 => XlogRecord::Switch,
        0x50 => XlogRecord::BackupEnd(Lsn(input.u64()?)),
        0x90 => XlogRecord::EndOfRecovery {
            timeline: TimeLineId(input.u32()?),
            prev_timeline: TimeLineId(input.u32()?),
            time: input.i64()?,
        },
        0xB0 => XlogRecord::Fpi {
            relation: input.relation()?,
            block: input.u32()?,
            image: crate::btree::decode_page_image(input)?,
        },
        _ => return Err(WalError::Truncated),
    })
}

fn decode_standby(info: u8, input: &mut Reader) -> Result<StandbyRecord, WalError> {
    Ok(match info {
        0x10 => {
            let next_xid = input.u32()?;
            let latest_completed_xid = input.u32()?;
            let oldest_running_xid = input.u32()?;
            let count = input.u32()? as usize;
            let xids = (0..count)
                .map(|_| input.u32())
                .collect::<Result<Vec<_>, _>>()?;
            let mut subxids = Vec::new();
            if !input.is_empty() {
                let count = input.u32()? as usize;
                subxids = (0..count)
                    .map(|_| input.u32())
                    .collect::<Result<Vec<_>, _>>()?;
            }
            StandbyRecord::RunningXacts {
                next_xid,
                latest_completed_xid,
                oldest_running_xid,
                xids,
                subxids,
            }
        }
        0x00 => {
            let count = input.u32()? as usize;
            let locks = (0..count)
                .map(|_| {
                    Ok(LockedRelation {
                        xid: input.u32()?,
                        database: input.u32()?,
                        relation: input.u32()?,
                    })
                })
                .collect::<Result<Vec<_>, WalError>>()?;
            StandbyRecord::Lock(locks)
        }
        _ => return Err(WalError::Truncated),
    })
}

fn decode_heap(info: u8, input: &mut Reader) -> Result<HeapRecord, WalError> {
    let init_page = info & 0x80 != 0;
    Ok(match info & 0x70 {
        0x00 => HeapRecord::Insert {
            relation: input.relation()?,
            block: input.u32()?,
            offset: input.u16()?,
            init_page,
            tuple: input.tuple()?,
        },
        0x10 => HeapRecord::Delete {
            relation: input.relation()?,
            block: input.u32()?,
            offset: input.u16()?,
            command_id: input.u32()?,
        },
        kind @ (0x20 | 0x40) => HeapRecord::Update {
            relation: input.relation()?,
            old_block: input.u32()?,
            old_offset: input.u16()?,
            new_block: input.u32()?,
            new_offset: input.u16()?,
            init_page,
            hot: kind == 0x40,
            tuple: input.tuple()?,
        },
        _ => return Err(WalError::Truncated),
    })
}

impl Record {
    /// The `desc:` part of a pg_waldump line, in PostgreSQL 15's format.
    pub fn describe(&self) -> String {
        match &self.body {
            RecordBody::Xlog(record) => describe_xlog(record),
            RecordBody::Transaction(TransactionRecord::Commit {
                time,
                dropped,
                subxacts,
            }) => {
                format!(
                    "COMMIT {} UTC{}{}",
                    format_timestamp_micros(*time),
                    describe_dropped(dropped),
                    describe_subxacts(subxacts)
                )
            }
            RecordBody::Transaction(TransactionRecord::Abort {
                time,
                dropped,
                subxacts,
            }) => {
                format!(
                    "ABORT {} UTC{}{}",
                    format_timestamp_micros(*time),
                    describe_dropped(dropped),
                    describe_subxacts(subxacts)
                )
            }
            RecordBody::Transaction(TransactionRecord::Assignment { top, subxacts }) => {
                format!(
                    "ASSIGNMENT xtop {top}: {}",
                    describe_subxacts(subxacts).trim_start_matches("; ")
                )
            }
            RecordBody::Storage(StorageRecord::Create(rel)) => format!("CREATE {}", rel.path()),
            RecordBody::Storage(StorageRecord::CreateInit(rel)) => {
                format!("CREATE {}_init", rel.path())
            }
            RecordBody::Storage(StorageRecord::Truncate { relation, blocks }) => {
                format!("TRUNCATE {} to {} blocks flags 7", relation.path(), blocks)
            }
            RecordBody::Standby(StandbyRecord::RunningXacts {
                next_xid,
                latest_completed_xid,
                oldest_running_xid,
                xids,
                ..
            }) => {
                let mut text = format!(
                    "RUNNING_XACTS nextXid {next_xid} latestCompletedXid {latest_completed_xid} oldestRunningXid {oldest_running_xid}"
                );
                if !xids.is_empty() {
                    text.push_str(&format!("; {} xacts:", xids.len()));
                    xids.iter()
                        .for_each(|xid| text.push_str(&format!(" {xid}")));
                }
                text
            }
            RecordBody::Standby(StandbyRecord::Lock(locks)) => {
                let mut text = "LOCK".to_string();
                for lock in locks {
                    text.push_str(&format!(
                        " xid {} db {} rel {} ",
                        lock.xid, lock.database, lock.relation
                    ));
                }
                text
            }
            RecordBody::Heap(record) => describe_heap(self.xid, record),
            RecordBody::Btree(record) => record.describe(),
            RecordBody::Heap2(record) => describe_heap2(record),
            RecordBody::Sequence(SequenceRecord::Log { relation, .. }) => {
                format!("LOG rel {relation}")
            }
        }
    }

    /// The ` blkref #0: ...` suffix for records that touch data pages.
    pub fn block_references(&self) -> Vec<(RelFileLocator, u32)> {
        match &self.body {
            RecordBody::Heap(HeapRecord::Insert {
                relation, block, ..
            })
            | RecordBody::Heap(HeapRecord::Delete {
                relation, block, ..
            }) => vec![(*relation, *block)],
            RecordBody::Heap(HeapRecord::Update {
                relation,
                old_block,
                new_block,
                ..
            }) => {
                if old_block == new_block {
                    vec![(*relation, *new_block)]
                } else {
                    vec![(*relation, *new_block), (*relation, *old_block)]
                }
            }
            RecordBody::Sequence(SequenceRecord::Log { relation, .. }) => vec![(*relation, 0)],
            RecordBody::Btree(record) => record
                .block_references()
                .into_iter()
                .map(|(_, block)| (*record.relation(), block))
                .collect(),
            RecordBody::Xlog(XlogRecord::Fpi {
                relation, block, ..
            }) => vec![(*relation, *block)],
            RecordBody::Heap2(record) => vec![(record.relation(), record.block())],
            _ => Vec::new(),
        }
    }

    /// A whole pg_waldump line for the record at `lsn`, `length` bytes long.
    pub fn waldump_line(&self, lsn: Lsn, length: usize) -> String {
        let mut line = format!(
            "rmgr: {:<11} len (rec/tot): {:>6}/{:>6}, tx: {:>10}, lsn: {}, prev {}, desc: {}",
            self.body.rmgr().name(),
            length,
            length,
            self.xid,
            lsn.waldump(),
            self.prev.waldump(),
            self.describe()
        );
        match &self.body {
            // Block ids are fixed by record type, so a Btree record may skip some.
            RecordBody::Btree(record) => {
                for (id, block) in record.block_references() {
                    let relation = record.relation();
                    line.push_str(&format!(", blkref #{id}: rel {relation} blk {block}"));
                }
            }
            _ => {
                let mut references = self.block_references();
                if let RecordBody::Heap2(record @ Heap2Record::Visible { .. }) = &self.body {
                    // The visibility map's page first, as PostgreSQL registers it.
                    line.push_str(&format!(
                        ", blkref #0: rel {} fork vm blk {}",
                        record.relation(),
                        record.block() / VM_HEAP_BLOCKS_PER_PAGE
                    ));
                    references.insert(0, (record.relation(), u32::MAX));
                }
                for (index, (relation, block)) in references.iter().enumerate() {
                    if *block != u32::MAX {
                        line.push_str(&format!(", blkref #{index}: rel {relation} blk {block}"));
                    }
                }
            }
        }
        if matches!(self.body, RecordBody::Xlog(XlogRecord::Fpi { .. })) {
            line.push_str(" FPW");
        }
        line
    }
}

fn describe_dropped(dropped: &[RelFileLocator]) -> String {
    if dropped.is_empty() {
        return String::new();
    }
    let paths: Vec<String> = dropped.iter().map(RelFileLocator::path).collect();
    format!("; rels: {}", paths.join(" "))
}

/// PostgreSQL's `; subxacts: 736 737` after a transaction end's relations.
fn describe_subxacts(subxacts: &[Xid]) -> String {
    if subxacts.is_empty() {
        return String::new();
    }
    let xids: Vec<String> = subxacts.iter().map(Xid::to_string).collect();
    format!("; subxacts: {}", xids.join(" "))
}

fn describe_xlog(record: &XlogRecord) -> String {
    match record {
        XlogRecord::CheckpointShutdown(checkpoint) => {
            describe_checkpoint("CHECKPOINT_SHUTDOWN", checkpoint, "shutdown")
        }
        XlogRecord::CheckpointOnline(checkpoint) => {
            describe_checkpoint("CHECKPOINT_ONLINE", checkpoint, "online")
        }
        XlogRecord::Switch => "SWITCH ".to_string(),
        XlogRecord::BackupEnd(start) => format!("BACKUP_END {start}"),
        XlogRecord::NextOid(oid) => format!("NEXTOID {oid}"),
        XlogRecord::EndOfRecovery {
            timeline,
            prev_timeline,
            time,
        } => format!(
            "END_OF_RECOVERY tli {timeline}; prev tli {prev_timeline}; time {} UTC",
            format_timestamp_micros(*time)
        ),
        XlogRecord::Fpi { .. } => "FPI ".to_string(),
    }
}

fn describe_checkpoint(name: &str, checkpoint: &Checkpoint, kind: &str) -> String {
    format!(
        "{name} redo {}; tli {}; prev tli {}; fpw {}; xid 0:{}; oid {}; multi 1; offset 0; oldest xid {} in DB 1; \
         oldest multi 1 in DB 1; oldest/newest commit timestamp xid: 0/0; oldest running xid {}; {kind}",
        checkpoint.redo,
        checkpoint.timeline,
        checkpoint.prev_timeline,
        checkpoint.full_page_writes,
        checkpoint.next_xid,
        checkpoint.next_oid,
        checkpoint.oldest_xid,
        checkpoint.oldest_active_xid,
    )
}

fn describe_heap(xid: Xid, record: &HeapRecord) -> String {
    match record {
        HeapRecord::Insert {
            offset, init_page, ..
        } => {
            let name = if *init_page { "INSERT+INIT" } else { "INSERT" };
            format!("{name} off {offset} flags 0x00")
        }
        HeapRecord::Update {
            old_offset,
            new_offset,
            init_page,
            hot,
            ..
        } => {
            let name = match (hot, init_page) {
                (true, false) => "HOT_UPDATE",
                (true, true) => "HOT_UPDATE+INIT",
                (false, false) => "UPDATE",
                (false, true) => "UPDATE+INIT",
            };
            format!("{name} off {old_offset} xmax {xid} flags 0x00 ; new off {new_offset} xmax 0")
        }
        HeapRecord::Delete { offset, .. } => {
            format!("DELETE off {offset} flags 0x00 KEYS_UPDATED ")
        }
    }
}

/// Heap blocks one visibility-map page covers (two bits each in 8 kB less
/// the page header).
const VM_HEAP_BLOCKS_PER_PAGE: u32 = (8192 - 24) * 4;

fn describe_heap2(record: &Heap2Record) -> String {
    match record {
        Heap2Record::Prune {
            latest_removed_xid,
            redirected,
            dead,
            ..
        } => format!(
            "PRUNE latestRemovedXid {latest_removed_xid} nredirected {} ndead {}",
            redirected.len(),
            dead.len()
        ),
        Heap2Record::Vacuum { unused, .. } => format!("VACUUM nunused {}", unused.len()),
        Heap2Record::FreezePage {
            cutoff_xid,
            offsets,
            ..
        } => format!(
            "FREEZE_PAGE cutoff xid {cutoff_xid} ntuples {}",
            offsets.len()
        ),
        Heap2Record::Visible {
            cutoff_xid, flags, ..
        } => format!("VISIBLE cutoff xid {cutoff_xid} flags 0x{flags:02X}"),
    }
}
