//! Multi-version concurrency control: the commit log, snapshots, visibility.
//!
//! A tuple version carries the transaction that created it (xmin) and the one
//! that deleted or replaced it (xmax). Whether a reader sees it depends only
//! on the commit log and the reader's snapshot, which is why a hot standby,
//! which replays the same tuples and the same commit records, can answer
//! queries: its snapshot is built from what it has replayed.

use std::collections::{BTreeMap, BTreeSet};

use pgplay_wal::Xid;

use crate::heap::HeapTuple;

/// The first xid handed to a normal transaction in PostgreSQL.
pub const FIRST_NORMAL_XID: Xid = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum XactStatus {
    InProgress,
    Committed,
    Aborted,
}

impl XactStatus {
    /// pg_xact's two-bit code.
    fn bits(self) -> u8 {
        match self {
            XactStatus::InProgress => 0,
            XactStatus::Committed => 1,
            XactStatus::Aborted => 2,
        }
    }

    fn from_bits(bits: u8) -> XactStatus {
        match bits & 3 {
            0 => XactStatus::InProgress,
            1 => XactStatus::Committed,
            _ => XactStatus::Aborted,
        }
    }
}

/// Transaction statuses per byte, two bits each, as in pg_xact.
const XIDS_PER_BYTE: Xid = 4;

/// What one xid kept below the bitmap's base costs, roughly.
const KEPT_BYTES: u64 = 16;

/// The base for [`CommitLog::truncate`] that costs least: `below` (sorted)
/// are the referenced xids under `horizon`; those under the base are kept
/// one by one, everything from the base to the horizon as bits.
fn cheapest_base(horizon: Xid, below: &[Xid]) -> Xid {
    let cost = |base: Xid, kept: usize| {
        u64::from(horizon - base) / u64::from(XIDS_PER_BYTE) + kept as u64 * KEPT_BYTES
    };
    let mut best = (cost(horizon, below.len()), horizon);
    for (index, &xid) in below.iter().enumerate() {
        best = best.min((cost(xid, index), xid));
    }
    best.1
}

/// The commit log (pg_xact): what became of each transaction.
///
/// From `base` on, two bits per xid, as pg_xact stores them (a million
/// transactions cost 250 kB). Below `base` the log keeps only the xids some
/// tuple still carries ([`CommitLog::truncate`] is told which); every other
/// xid down there finished long ago, is on no page, and so is never asked
/// about: it answers "committed", as PostgreSQL answers for a frozen xid.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitLog {
    /// The first xid of `bits` (a multiple of [`XIDS_PER_BYTE`]).
    base: Xid,
    bits: Vec<u8>,
    /// Xids below `base` still carried by a tuple, with their final status.
    kept: BTreeMap<Xid, XactStatus>,
}

impl CommitLog {
    pub fn status(&self, xid: Xid) -> XactStatus {
        if xid < FIRST_NORMAL_XID {
            return XactStatus::Committed;
        }
        if xid < self.base {
            return self
                .kept
                .get(&xid)
                .copied()
                .unwrap_or(XactStatus::Committed);
        }
        let offset = xid - self.base;
        let Some(byte) = self.bits.get((offset / XIDS_PER_BYTE) as usize) else {
            return XactStatus::InProgress;
        };
        XactStatus::from_bits(byte >> (2 * (offset % XIDS_PER_BYTE)))
    }

    pub fn set(&mut self, xid: Xid, status: XactStatus) {
        if xid < FIRST_NORMAL_XID {
            return;
        }
        if xid < self.base {
            // A transaction that ended below the horizon without leaving a
            // tuple (a standby that learned of it late): kept, to be exact.
            self.kept.insert(xid, status);
            return;
        }
        let offset = xid - self.base;
        let index = (offset / XIDS_PER_BYTE) as usize;
        if index >= self.bits.len() {
            self.bits.resize(index + 1, 0);
        }
        let shift = 2 * (offset % XIDS_PER_BYTE);
        self.bits[index] = (self.bits[index] & !(3 << shift)) | (status.bits() << shift);
    }

    pub fn is_committed(&self, xid: Xid) -> bool {
        self.status(xid) == XactStatus::Committed
    }

    /// Forgets the status of every xid below `horizon` except those in
    /// `referenced` (sorted, without duplicates). Sound only when every xid
    /// below `horizon` has finished, no tuple outside `referenced` carries
    /// one, and no record still to be replayed names one: the caller passes
    /// the oldest running xid and the xids on every page.
    ///
    /// Referenced xids cost [`KEPT_BYTES`] each below `base` and a quarter
    /// byte each in the bitmap, so the new base is where the two together
    /// cost least: a table's recent rows stay in the bitmap, a few old
    /// catalog rows in `kept`.
    pub fn truncate(&mut self, horizon: Xid, referenced: &[Xid]) {
        let horizon = horizon - horizon % XIDS_PER_BYTE;
        let below: Vec<Xid> = referenced
            .iter()
            .copied()
            .filter(|x| *x >= FIRST_NORMAL_XID && *x < horizon)
            .collect();
        let base = cheapest_base(horizon, &below).max(self.base);
        let base = base - base % XIDS_PER_BYTE;
        if base < self.base {
            return;
        }
        let kept: Vec<(Xid, XactStatus)> = below
            .iter()
            .filter(|x| **x < base)
            .map(|&x| (x, self.status(x)))
            .collect();
        debug_assert!(kept.iter().all(|(_, s)| *s != XactStatus::InProgress));
        let drop = ((base - self.base) / XIDS_PER_BYTE) as usize;
        self.bits.drain(..drop.min(self.bits.len()));
        if self.bits.capacity() > 2 * self.bits.len() + 64 {
            self.bits.shrink_to_fit();
        }
        self.base = base;
        self.kept = kept.into_iter().collect();
    }

    /// Bytes this log holds (for tests and the soak benchmark).
    pub fn footprint(&self) -> usize {
        self.bits.capacity() + self.kept.len() * KEPT_BYTES as usize
    }
}

/// What a statement may see: transactions finished before it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Every xid at or above this was unassigned when the snapshot was taken.
    pub xmax: Xid,
    /// Assigned but not finished when the snapshot was taken.
    pub in_progress: BTreeSet<Xid>,
    /// The reader's own transaction, when it has an xid.
    pub own: Option<Own>,
}

/// The reader's own transaction: the xids whose changes are its own (the
/// top-level xid and those of its subtransactions not rolled back, as
/// PostgreSQL's `TransactionIdIsCurrentTransactionId` answers) and the
/// current command id, which hides the running command's own changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Own {
    pub xids: BTreeSet<Xid>,
    pub command: u32,
}

impl Own {
    /// One xid at a command id (a transaction without subtransactions).
    pub fn single(xid: Xid, command: u32) -> Own {
        Own {
            xids: [xid].into(),
            command,
        }
    }

    pub fn contains(&self, xid: Xid) -> bool {
        xid != 0 && self.xids.contains(&xid)
    }
}

impl Snapshot {
    fn sees_as_finished(&self, xid: Xid) -> bool {
        xid < self.xmax && !self.in_progress.contains(&xid)
    }

    fn is_own(&self, xid: Xid) -> Option<u32> {
        self.own
            .as_ref()
            .filter(|own| own.contains(xid))
            .map(|own| own.command)
    }

    /// Whether `xid`'s changes are the reader's own.
    pub fn is_own_xid(&self, xid: Xid) -> bool {
        self.is_own(xid).is_some()
    }

    /// PostgreSQL's HeapTupleSatisfiesMVCC, without hint bits.
    pub fn sees(&self, tuple: &HeapTuple, clog: &CommitLog) -> bool {
        if let Some(command) = self.is_own(tuple.xmin) {
            if tuple.cmin >= command {
                return false;
            }
        } else if !(self.sees_as_finished(tuple.xmin) && clog.is_committed(tuple.xmin)) {
            return false;
        }
        self.deletion_invisible(tuple, clog)
    }

    /// True when the tuple's deletion (if any) is not visible, so the tuple is.
    fn deletion_invisible(&self, tuple: &HeapTuple, clog: &CommitLog) -> bool {
        let xmax = tuple.deleter();
        if xmax == 0 {
            return true;
        }
        if let Some(command) = self.is_own(xmax) {
            return tuple.cmax >= command;
        }
        !(self.sees_as_finished(xmax) && clog.is_committed(xmax))
    }
}

/// Visibility for catalog reads and uniqueness checks: committed now, plus
/// own changes (`own`: the xids of the reader's transaction and its live
/// subtransactions).
pub fn live_now(tuple: &HeapTuple, clog: &CommitLog, own: &BTreeSet<Xid>) -> bool {
    let mine = |xid: Xid| xid != 0 && own.contains(&xid);
    let created = mine(tuple.xmin) || clog.is_committed(tuple.xmin);
    let xmax = tuple.deleter();
    let deleted = xmax != 0 && (mine(xmax) || clog.is_committed(xmax));
    created && !deleted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::ItemPointer;

    fn tuple(xmin: Xid, xmax: Xid) -> HeapTuple {
        HeapTuple {
            xmin,
            xmax,
            cmin: 0,
            cmax: 0,
            ctid: ItemPointer {
                block: 0,
                offset: 1,
            },
            natts: 0,
            data: vec![0],
            hot_updated: false,
            lock_bits: 0,
            heap_only: false,
            frozen: false,
        }
    }

    #[test]
    fn uncommitted_and_later_transactions_are_invisible() {
        let mut clog = CommitLog::default();
        clog.set(730, XactStatus::Committed);
        let snapshot = Snapshot {
            xmax: 732,
            in_progress: [731].into(),
            own: None,
        };
        assert!(snapshot.sees(&tuple(730, 0), &clog));
        assert!(
            !snapshot.sees(&tuple(731, 0), &clog),
            "in progress at snapshot time"
        );
        clog.set(731, XactStatus::Committed);
        assert!(
            !snapshot.sees(&tuple(731, 0), &clog),
            "committed after the snapshot"
        );
        assert!(
            snapshot.sees(&tuple(730, 731), &clog),
            "deleted after the snapshot"
        );
        let later = Snapshot {
            xmax: 733,
            in_progress: BTreeSet::new(),
            own: None,
        };
        assert!(!later.sees(&tuple(730, 731), &clog));
        clog.set(732, XactStatus::Aborted);
        assert!(
            later.sees(&tuple(730, 732), &clog),
            "a deletion by an aborted transaction hides nothing"
        );
        assert!(
            !later.sees(&tuple(732, 0), &clog),
            "aborted inserts never show"
        );
    }

    #[test]
    fn the_log_stores_two_bits_per_transaction() {
        let mut clog = CommitLog::default();
        for xid in FIRST_NORMAL_XID..100_003 {
            let status = if xid % 3 == 0 {
                XactStatus::Aborted
            } else {
                XactStatus::Committed
            };
            clog.set(xid, status);
        }
        assert_eq!(clog.status(99), XactStatus::Aborted);
        assert_eq!(clog.status(100), XactStatus::Committed);
        assert_eq!(clog.status(100_003), XactStatus::InProgress);
        // A quarter byte per xid, at most twice that while the vector grows.
        assert!(clog.footprint() <= 2 * 100_003 / 4, "{}", clog.footprint());
    }

    #[test]
    fn truncation_keeps_the_xids_tuples_still_carry() {
        let mut clog = CommitLog::default();
        for xid in FIRST_NORMAL_XID..10_000 {
            clog.set(xid, XactStatus::Committed);
        }
        clog.set(731, XactStatus::Aborted);
        clog.set(9_000, XactStatus::Aborted);
        clog.truncate(9_998, &[731, 733, 9_000, 9_999]);
        assert_eq!(clog.status(731), XactStatus::Aborted, "kept, still aborted");
        assert_eq!(clog.status(733), XactStatus::Committed);
        assert_eq!(clog.status(9_000), XactStatus::Aborted);
        assert_eq!(
            clog.status(9_999),
            XactStatus::Committed,
            "above the horizon"
        );
        assert_eq!(clog.status(10_000), XactStatus::InProgress);
        assert!(clog.footprint() < 100, "{}", clog.footprint());
        let mut rows: Vec<Xid> = (20_000..30_000).collect();
        for xid in 10_000..40_000 {
            clog.set(xid, XactStatus::Committed);
        }
        rows.insert(0, 731);
        clog.truncate(40_000, &rows);
        assert_eq!(clog.status(731), XactStatus::Aborted);
        assert_eq!(clog.status(25_000), XactStatus::Committed);
        assert!(
            clog.footprint() < 10_000,
            "a table's recent rows stay as bits, not one by one: {}",
            clog.footprint()
        );
        clog.set(10_000, XactStatus::Aborted);
        assert_eq!(clog.status(10_000), XactStatus::Aborted);
    }

    #[test]
    fn own_changes_follow_command_ids() {
        let clog = CommitLog::default();
        let mut inserted = tuple(740, 0);
        inserted.cmin = 2;
        let at = |command| Snapshot {
            xmax: 741,
            in_progress: [740].into(),
            own: Some(Own::single(740, command)),
        };
        assert!(
            !at(2).sees(&inserted, &clog),
            "a command does not see its own inserts"
        );
        assert!(at(3).sees(&inserted, &clog));
        inserted.xmax = 740;
        inserted.cmax = 3;
        assert!(at(3).sees(&inserted, &clog));
        assert!(!at(4).sees(&inserted, &clog));
    }

    #[test]
    fn subtransactions_are_own_until_rolled_back() {
        let mut clog = CommitLog::default();
        let with_own = |xids: &[Xid]| Snapshot {
            xmax: 744,
            in_progress: [740, 741, 742, 743].into(),
            own: Some(Own {
                xids: xids.iter().copied().collect(),
                command: 5,
            }),
        };
        let mut written = tuple(741, 0);
        written.cmin = 1;
        assert!(with_own(&[740, 741]).sees(&written, &clog));
        // Rolled back to the savepoint: no longer its own, and aborted.
        clog.set(741, XactStatus::Aborted);
        assert!(!with_own(&[740]).sees(&written, &clog));
        // Deleted in a rolled-back subtransaction: the row stays.
        clog.set(700, XactStatus::Committed);
        let mut deleted = tuple(700, 742);
        deleted.cmax = 2;
        assert!(!with_own(&[740, 742]).sees(&deleted, &clog));
        clog.set(742, XactStatus::Aborted);
        assert!(with_own(&[740]).sees(&deleted, &clog));
        // Another transaction's subtransaction is in progress until its top commits.
        let other = tuple(743, 0);
        assert!(!with_own(&[740]).sees(&other, &clog));
        let own = BTreeSet::from([740]);
        assert!(!live_now(&other, &clog, &own));
        clog.set(743, XactStatus::Committed);
        assert!(live_now(&other, &clog, &own));
        assert!(!live_now(&written, &clog, &own));
    }
}
