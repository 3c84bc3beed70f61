//! The write-ahead log: what every change is, before it is anything else.
//!
//! PostgreSQL's durability and its replication rest on one idea: a change is
//! first described by a WAL record, appended to a log addressed by byte position
//! (the LSN); data pages are changed after, and can always be rebuilt by
//! replaying records. A standby is a server that replays someone else's log.
//!
//! This crate holds the log's vocabulary and mechanics, and nothing about SQL:
//! - [`Lsn`] and [`TimeLineId`], printed as PostgreSQL prints them;
//! - [`Record`]: one record per change, by resource manager (XLOG, Transaction,
//!   Storage, Standby, Heap, Heap2, Btree ([`btree`]), Sequence), with CRC-32C, and its pg_waldump text;
//! - [`WalLog`]: the byte stream with page headers, segments and their file
//!   names, flush position, crash truncation, and byte-exact copying for standbys.
//!
//! Left out: full-page images other than an index build's, compression, and
//! on-disk files: the log lives in memory.

pub mod btree;
mod buffer;
pub mod bytes;
mod codec;
mod log;
mod lsn;
mod record;
mod segment;
pub mod time;

pub use log::{ReadRecord, RecordIter, WalFootprint, WalLog, WalPiece};
pub use lsn::{Lsn, ParseLsnError, TimeLineId};
pub use record::{
    lock_bits, Checkpoint, Heap2Record, HeapRecord, LockedRelation, Record, RecordBody,
    RelFileLocator, RmgrId, SequenceRecord, StandbyRecord, StorageRecord, TransactionRecord,
    TupleImage, Xid, XlogRecord, RECORD_HEADER_SIZE, VM_ALL_FROZEN, VM_ALL_VISIBLE,
};
pub use segment::{history_file_name, SegmentSize, DEFAULT_SEGMENT_SIZE, WAL_PAGE_SIZE};

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    #[error("record body truncated")]
    Truncated,
    #[error("invalid record at {at}: {reason}")]
    InvalidRecord { at: Lsn, reason: String },
    #[error("end of WAL at {0}")]
    EndOfLog(Lsn),
    #[error("received WAL at {got}, expected {expected}")]
    Gap { expected: Lsn, got: Lsn },
}

#[cfg(test)]
mod tests;
