//! Redo: the one place where data pages, the commit log and relation files
//! change. The primary applies each record right after inserting it into the
//! WAL; a standby and crash recovery apply the very same records. A record
//! whose page already carries its LSN (or a later one) is skipped, so replay
//! is idempotent.

use std::collections::BTreeSet;

use pgplay_wal::{
    HeapRecord, Lsn, Record, RecordBody, SequenceRecord, StandbyRecord, StorageRecord,
    TransactionRecord, TupleImage, Xid, XlogRecord,
};

use crate::error::{DbError, Result};
use crate::heap::{HeapTuple, ItemPointer, LinePointer, Page, Relation, SequenceState, Storage};

mod heap2;

pub use heap2::conflict_horizon;

/// Any change to a page clears its all-visible and all-frozen bits, as
/// PostgreSQL clears PD_ALL_VISIBLE and the visibility map's bits.
fn clear_visible(page: &mut Page) {
    page.all_visible = false;
    page.all_frozen = false;
}
use crate::mvcc::{CommitLog, XactStatus};

/// Everything redo changes: the state a checkpoint saves and a crash restores.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataState {
    pub storage: Storage,
    pub clog: CommitLog,
    /// Transactions seen in the WAL (or started here) and not yet finished.
    pub running: BTreeSet<Xid>,
    pub next_xid: Xid,
    pub next_oid: u32,
    /// Bumped whenever the committed catalog may have changed (a transaction
    /// that wrote catalog rows finished), so cached catalogs know to reload.
    pub catalog_generation: u64,
    /// Unfinished transactions that wrote catalog rows.
    pub catalog_writers: BTreeSet<Xid>,
}

impl DataState {
    /// Forgets the commit-log entries nobody can ask about any more, at a
    /// checkpoint or restartpoint, before the data is saved. Visibility
    /// asks the log only about the xmin and xmax of tuples, and redo about
    /// the xids of records still to be replayed; the records after a
    /// checkpoint come from transactions running at it or newer. So every
    /// xid below the oldest running one can go, except those on a page.
    /// `upstream_oldest` is, on a standby, the oldest xid its primary had
    /// running at the checkpoint being replayed: a transaction that took
    /// an xid there without logging anything yet is unknown here, and must
    /// not be mistaken for a finished one when its first record arrives.
    pub fn truncate_clog(&mut self, upstream_oldest: Xid) {
        let horizon = self
            .running
            .first()
            .copied()
            .unwrap_or(self.next_xid)
            .min(self.next_xid)
            .min(upstream_oldest);
        let mut referenced: Vec<Xid> = self
            .storage
            .relations
            .values()
            .flat_map(|relation| relation.pages.iter())
            .flat_map(|page| page.tuples())
            .flat_map(|(_, tuple)| [if tuple.frozen { 0 } else { tuple.xmin }, tuple.xmax])
            .filter(|xid| *xid < horizon)
            .collect();
        referenced.sort_unstable();
        referenced.dedup();
        self.clog.truncate(horizon, &referenced);
    }

    pub fn note_xid(&mut self, xid: Xid) {
        if xid == 0 {
            return;
        }
        if xid >= self.next_xid {
            self.next_xid = xid + 1;
        }
        if self.clog.status(xid) == XactStatus::InProgress {
            self.running.insert(xid);
        }
    }
}

/// Applies one record that starts at `lsn`.
pub fn apply(state: &mut DataState, lsn: Lsn, record: &Record) -> Result<()> {
    state.note_xid(record.xid);
    match &record.body {
        RecordBody::Heap(heap) => apply_heap(state, lsn, record.xid, heap),
        RecordBody::Storage(StorageRecord::Create(locator)) => {
            state.storage.relations.entry(*locator).or_default();
            Ok(())
        }
        RecordBody::Storage(StorageRecord::CreateInit(locator)) => {
            state.storage.relations.entry(*locator).or_default();
            state.storage.unlogged.insert(*locator);
            Ok(())
        }
        RecordBody::Storage(StorageRecord::Truncate { relation, blocks }) => {
            if let Some(rel) = state.storage.relations.get_mut(relation) {
                rel.pages.truncate(*blocks as usize);
            }
            Ok(())
        }
        RecordBody::Transaction(TransactionRecord::Commit {
            dropped, subxacts, ..
        }) => {
            finish(state, record.xid, subxacts, XactStatus::Committed, dropped);
            Ok(())
        }
        RecordBody::Transaction(TransactionRecord::Abort {
            dropped, subxacts, ..
        }) => {
            finish(state, record.xid, subxacts, XactStatus::Aborted, dropped);
            Ok(())
        }
        RecordBody::Transaction(TransactionRecord::Assignment { top, subxacts }) => {
            // Running subtransactions of a running transaction; those
            // already aborted stay aborted.
            state.note_xid(*top);
            subxacts.iter().for_each(|xid| state.note_xid(*xid));
            Ok(())
        }
        RecordBody::Xlog(XlogRecord::NextOid(oid)) => {
            state.next_oid = state.next_oid.max(*oid);
            Ok(())
        }
        RecordBody::Xlog(
            XlogRecord::CheckpointOnline(checkpoint) | XlogRecord::CheckpointShutdown(checkpoint),
        ) => {
            state.next_xid = state.next_xid.max(checkpoint.next_xid);
            state.next_oid = state.next_oid.max(checkpoint.next_oid);
            Ok(())
        }
        RecordBody::Xlog(XlogRecord::Fpi {
            relation,
            block,
            image,
        }) => {
            crate::btree::redo_fpi(&mut state.storage.indexes, lsn, *relation, *block, image);
            Ok(())
        }
        RecordBody::Btree(record) => crate::btree::redo(&mut state.storage.indexes, lsn, record),
        RecordBody::Xlog(_) => Ok(()),
        RecordBody::Standby(StandbyRecord::RunningXacts {
            next_xid,
            oldest_running_xid,
            xids,
            subxids,
            ..
        }) => {
            state.next_xid = state.next_xid.max(*next_xid);
            let listed: BTreeSet<Xid> = xids.iter().chain(subxids).copied().collect();
            // Transactions older than the oldest running one that never logged an end died in a crash.
            let vanished: Vec<Xid> = state
                .running
                .iter()
                .copied()
                .filter(|xid| xid < oldest_running_xid && !listed.contains(xid))
                .collect();
            for xid in vanished {
                state.running.remove(&xid);
                state.catalog_writers.remove(&xid);
                state.clog.set(xid, XactStatus::Aborted);
            }
            listed.iter().for_each(|xid| state.note_xid(*xid));
            Ok(())
        }
        RecordBody::Standby(StandbyRecord::Lock(_)) => Ok(()),
        RecordBody::Heap2(record) => heap2::apply(state, lsn, record),
        RecordBody::Sequence(SequenceRecord::Log {
            relation,
            last_value,
            log_cnt,
            is_called,
        }) => {
            state.storage.sequences.insert(
                *relation,
                SequenceState {
                    last_value: *last_value,
                    log_cnt: *log_cnt,
                    is_called: *is_called,
                    lsn,
                },
            );
            Ok(())
        }
    }
}

/// A transaction (or subtransaction) ends, and with it the subtransactions
/// its record lists: all get the same status at once, as PostgreSQL's
/// `TransactionIdCommitTree` sets them, so no snapshot sees half of it.
fn finish(
    state: &mut DataState,
    xid: Xid,
    subxacts: &[Xid],
    status: XactStatus,
    dropped: &[pgplay_wal::RelFileLocator],
) {
    let mut catalog_changed = false;
    for xid in std::iter::once(xid).chain(subxacts.iter().copied()) {
        state.note_xid(xid);
        state.clog.set(xid, status);
        state.running.remove(&xid);
        catalog_changed |= state.catalog_writers.remove(&xid);
    }
    for locator in dropped {
        state.storage.relations.remove(locator);
        state.storage.sequences.remove(locator);
        state.storage.indexes.remove(locator);
        state.storage.unlogged.remove(locator);
    }
    if catalog_changed {
        state.catalog_generation += 1;
    }
}

fn new_tuple(xid: Xid, image: &TupleImage, at: ItemPointer) -> HeapTuple {
    HeapTuple {
        xmin: xid,
        xmax: 0,
        cmin: image.command_id,
        cmax: 0,
        ctid: at,
        natts: image.natts,
        data: image.data.clone(),
        hot_updated: false,
        lock_bits: 0,
        heap_only: false,
        frozen: false,
    }
}

fn missing_page(locator: &pgplay_wal::RelFileLocator, block: u32) -> DbError {
    DbError::internal(format!(
        "WAL contains references to invalid pages: rel {locator} blk {block}"
    ))
}

fn relation_mut<'a>(
    state: &'a mut DataState,
    locator: &pgplay_wal::RelFileLocator,
    block: u32,
) -> Result<&'a mut Relation> {
    state
        .storage
        .relations
        .get_mut(locator)
        .ok_or_else(|| missing_page(locator, block))
}

/// Applies `change` to the tuple at (block, offset) and stamps its page with `lsn`, unless the
/// page already has the record's change; the changed page, or `None` when it had it.
fn change_tuple<'a>(
    state: &'a mut DataState,
    locator: &pgplay_wal::RelFileLocator,
    block: u32,
    offset: u16,
    lsn: Lsn,
    change: impl FnOnce(&mut HeapTuple),
) -> Result<Option<&'a mut Page>> {
    let page = relation_mut(state, locator, block)?
        .pages
        .get_mut(block as usize)
        .ok_or_else(|| missing_page(locator, block))?;
    if page.lsn >= lsn {
        return Ok(None);
    }
    let tuple = page
        .get_mut(offset)
        .ok_or_else(|| missing_page(locator, block))?;
    change(tuple);
    page.lsn = lsn;
    Ok(Some(page))
}

/// Puts a tuple at (block, offset), creating the page when the record says so.
fn place(
    relation: &mut Relation,
    lsn: Lsn,
    block: u32,
    offset: u16,
    init: bool,
    tuple: HeapTuple,
) -> Result<()> {
    if init && block as usize == relation.pages.len() {
        relation.pages.push(Page::default());
    }
    let page = relation
        .pages
        .get_mut(block as usize)
        .ok_or_else(|| DbError::internal("heap block out of range"))?;
    if page.lsn >= lsn {
        return Ok(());
    }
    if offset != page.next_offset() {
        return Err(DbError::internal(format!(
            "invalid heap offset {offset} on block {block}"
        )));
    }
    match page.items.get_mut(offset as usize - 1) {
        Some(unused) => *unused = LinePointer::Normal(tuple),
        None => page.items.push(LinePointer::Normal(tuple)),
    }
    page.lsn = lsn;
    clear_visible(page);
    Ok(())
}

fn apply_heap(state: &mut DataState, lsn: Lsn, xid: Xid, record: &HeapRecord) -> Result<()> {
    if is_catalog(record) {
        state.catalog_writers.insert(xid);
    }
    match record {
        HeapRecord::Insert {
            relation,
            block,
            offset,
            init_page,
            tuple,
        } => {
            let rel = relation_mut(state, relation, *block)?;
            let at = ItemPointer {
                block: *block,
                offset: *offset,
            };
            place(
                rel,
                lsn,
                *block,
                *offset,
                *init_page,
                new_tuple(xid, tuple, at),
            )
        }
        HeapRecord::Delete {
            relation,
            block,
            offset,
            command_id,
        } => {
            let deleted = change_tuple(state, relation, *block, *offset, lsn, |old| {
                old.xmax = xid;
                old.lock_bits = 0;
                old.cmax = *command_id;
            })?;
            if let Some(page) = deleted {
                clear_visible(page);
            }
            Ok(())
        }
        HeapRecord::Lock {
            relation,
            block,
            offset,
            locking_xid,
            infobits,
        } => {
            change_tuple(state, relation, *block, *offset, lsn, |locked| {
                locked.xmax = *locking_xid;
                locked.lock_bits = *infobits;
            })?;
            Ok(())
        }
        HeapRecord::Update {
            relation,
            old_block,
            old_offset,
            new_block,
            new_offset,
            init_page,
            tuple,
            hot,
        } => {
            let rel = relation_mut(state, relation, *old_block)?;
            let new_at = ItemPointer {
                block: *new_block,
                offset: *new_offset,
            };
            let page = rel
                .pages
                .get_mut(*old_block as usize)
                .ok_or_else(|| missing_page(relation, *old_block))?;
            if page.lsn < lsn {
                let old = page
                    .get_mut(*old_offset)
                    .ok_or_else(|| missing_page(relation, *old_block))?;
                old.xmax = xid;
                old.lock_bits = 0;
                old.cmax = tuple.command_id;
                old.ctid = new_at;
                old.hot_updated = *hot;
                clear_visible(page);
                if old_block != new_block {
                    page.lsn = lsn;
                }
            }
            let mut new = new_tuple(xid, tuple, new_at);
            new.heap_only = *hot;
            place(rel, lsn, *new_block, *new_offset, *init_page, new)
        }
    }
}

/// Catalog relations have relfilenodes below the first user OID.
fn is_catalog(record: &HeapRecord) -> bool {
    let relation = match record {
        HeapRecord::Insert { relation, .. }
        | HeapRecord::Delete { relation, .. }
        | HeapRecord::Lock { relation, .. }
        | HeapRecord::Update { relation, .. } => relation,
    };
    relation.relation < crate::catalog::FIRST_NORMAL_OID
}
