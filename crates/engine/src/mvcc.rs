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

/// The commit log (pg_xact): what became of each transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitLog {
    finished: BTreeMap<Xid, XactStatus>,
}

impl CommitLog {
    pub fn status(&self, xid: Xid) -> XactStatus {
        if xid < FIRST_NORMAL_XID {
            return XactStatus::Committed;
        }
        self.finished
            .get(&xid)
            .copied()
            .unwrap_or(XactStatus::InProgress)
    }
    pub fn set(&mut self, xid: Xid, status: XactStatus) {
        self.finished.insert(xid, status);
    }
    pub fn is_committed(&self, xid: Xid) -> bool {
        self.status(xid) == XactStatus::Committed
    }
}

/// What a statement may see: transactions finished before it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Every xid at or above this was unassigned when the snapshot was taken.
    pub xmax: Xid,
    /// Assigned but not finished when the snapshot was taken.
    pub in_progress: BTreeSet<Xid>,
    /// The reader's own transaction and its current command id.
    pub own: Option<(Xid, u32)>,
}

impl Snapshot {
    fn sees_as_finished(&self, xid: Xid) -> bool {
        xid < self.xmax && !self.in_progress.contains(&xid)
    }

    fn is_own(&self, xid: Xid) -> Option<u32> {
        self.own
            .filter(|(own, _)| *own == xid && xid != 0)
            .map(|(_, command)| command)
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
        if tuple.xmax == 0 {
            return true;
        }
        if let Some(command) = self.is_own(tuple.xmax) {
            return tuple.cmax >= command;
        }
        !(self.sees_as_finished(tuple.xmax) && clog.is_committed(tuple.xmax))
    }
}

/// Visibility for catalog reads and uniqueness checks: committed now, plus own changes.
pub fn live_now(tuple: &HeapTuple, clog: &CommitLog, own: Option<Xid>) -> bool {
    let mine = |xid: Xid| own == Some(xid) && xid != 0;
    let created = mine(tuple.xmin) || clog.is_committed(tuple.xmin);
    let deleted = tuple.xmax != 0 && (mine(tuple.xmax) || clog.is_committed(tuple.xmax));
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
    fn own_changes_follow_command_ids() {
        let clog = CommitLog::default();
        let mut inserted = tuple(740, 0);
        inserted.cmin = 2;
        let at = |command| Snapshot {
            xmax: 741,
            in_progress: [740].into(),
            own: Some((740, command)),
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
}
